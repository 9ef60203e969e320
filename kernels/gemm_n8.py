"""float32 GEMM / conv for narrow outputs (N <= 8 columns): two rows per vector.

The 16-lane micro-kernels of kernels/gemm.py waste half of every vector (and
of every FMA) when N <= 8, e.g. a conv with 8 output channels.  Here one
16-lane accumulator holds two output rows interleaved: lane 2j is row i,
column j; lane 2j + 1 is row i + 1, column j.  A is first rewritten with its
rows paired and interleaved (``interleave_rows2``: pair p holds
a[2p, k], a[2p+1, k] at 2k, 2k + 1), so per k the A operand is one 8-byte
broadcast [a[i, k], a[i+1, k]] x 8 (a load-port broadcast, no shuffle), the
weight vector holds W[j, k] in lanes 2j and 2j + 1, and one FMA does 16
useful multiply-adds.  The tile is de-interleaved once at the store.

Accumulation order per output element: bias, then one FMA per k in k order --
what gemm_f32_f32_f32_minmax and XNNPack do, so the results are the same bits.

Weights: ``pack_n8(w, bias, out)`` at prepare: (k + 1) rows of 16 floats,
row 0 the bias, row 1 + k the k-th column of W (N x K), each value in two
adjacent lanes (lanes 2n.. zero).
Reference: kernels/reference/gemm_n8.py
"""
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from ._jit import FAST_F32, kernel
from .gemm import next_pixel, out_minmax, out_pixel
from .simd import _I32, _ptr, f32x16, vfma, vload, vload_n, vsplat, vstore, vstore_n
from .simd_int import vload_n_if

NR2 = 16        # floats per packed weight row
MP = 8          # row pairs per register tile (16 output rows, 8 accumulators)


@intrinsic
def vbcast2(typingctx, arr, idx):
    """[arr.flat[idx], arr.flat[idx + 1]] repeated 8 times (float32; vbroadcastsd)."""
    if not (isinstance(arr, types.Array) and arr.dtype == types.float32 and isinstance(idx, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        v2 = ir.VectorType(ir.FloatType(), 2)
        v = builder.load(_ptr(context, builder, sig.args[0], args[0], args[1], v2), align=4)
        return builder.shuffle_vector(v, ir.Constant(v2, ir.Undefined),
                                      ir.Constant(ir.VectorType(_I32, 16), [0, 1] * 8))
    return f32x16(arr, idx), codegen


def _shuffle2(name, order):
    @intrinsic
    def shuf(typingctx, a, b):
        if not (a == b == f32x16):
            return None

        def codegen(context, builder, sig, args):
            return builder.shuffle_vector(args[0], args[1], ir.Constant(ir.VectorType(_I32, 16), order))
        return f32x16(a, b), codegen
    shuf.__name__ = shuf.__qualname__ = name
    return shuf


# zip / unzip of 16-lane vectors: lanes 0..15 of a are 0..15, of b 16..31
vzip_lo = _shuffle2("vzip_lo", [j // 2 + 16 * (j % 2) for j in range(16)])        # a0 b0 a1 b1 .. a7 b7
vzip_hi = _shuffle2("vzip_hi", [8 + j // 2 + 16 * (j % 2) for j in range(16)])    # a8 b8 .. a15 b15
vunzip = _shuffle2("vunzip", list(range(0, 16, 2)) + list(range(1, 16, 2)))       # even lanes, then odd


@kernel
def pack_n8(w, bias, out):
    """w: (n, k) float32 with n <= 8, bias: (n,); out: ((k + 1) * 16,) float32 (see the module docstring)."""
    n, k = w.shape
    out[:] = np.float32(0.0)
    for j in range(n):
        out[2 * j] = bias[j]
        out[2 * j + 1] = bias[j]
        for kk in range(k):
            out[(kk + 1) * NR2 + 2 * j] = w[j, kk]
            out[(kk + 1) * NR2 + 2 * j + 1] = w[j, kk]


@kernel(fastmath=FAST_F32)
def interleave_rows2(a, lda, m, k, out):
    """Pair the rows of A (m x k at a[i * lda:]): out[(p * k + kk) * 2 + t] = a[2p + t, kk]
    for p < ceil(m / 2) (an odd last row is paired with itself)."""
    for p in range((m + 1) // 2):
        r0 = 2 * p * lda
        r1 = r0 + lda if 2 * p + 1 < m else r0
        o = 2 * p * k
        for kk in range(0, k, 16):
            nv = min(16, k - kk)
            x0 = vload_n(a, r0 + kk, nv)
            x1 = vload_n(a, r1 + kk, nv)
            vstore_n(out, o + 2 * kk, vzip_lo(x0, x1), 2 * nv)
            vstore_n(out, o + 2 * kk + 16, vzip_hi(x0, x1), 2 * nv - 16)


@kernel(fastmath=FAST_F32)
def _store_pair(c, co, ldc, n, full, acc, vlo, vhi, rnd, two):
    """Clamp (and round) an interleaved accumulator and store its rows: row i at
    c[co:], row i + 1 at c[co + ldc:] (only when two)."""
    y = out_minmax(acc, vlo, vhi, rnd)
    y = vunzip(y, y)                           # row i in lanes 0..7, row i + 1 in lanes 8..15
    if full and two:
        vstore(c, co, y)                       # n == ldc == 8: the two rows are adjacent
    else:
        vstore_n(c, co, y, n)
        if two:
            vstore_n(c, co + ldc, vunzip(vzip_hi(y, y), y), n)


@kernel(fastmath=FAST_F32)
def gemm_f32_n8_minmax(m, n, k, a2, w, lo, hi, c, ldc, rnd=False):
    """C[i, :n] = clamp(bias + sum_k A[i, k] W[:, k], lo, hi) for i < m, n <= 8;
    a2: A's rows paired by interleave_rows2, w: pack_n8 output, c: rows at
    c[i * ldc:]; rnd: round the outputs to fp16 values (fp16 emulation)."""
    vlo = vsplat(lo)
    vhi = vsplat(hi)
    full = n == 8 and ldc == 8
    bv = vload(w, 0)
    k2 = 2 * k
    i = 0
    while i + 2 * MP <= m:
        q = i * k
        x0 = bv
        x1 = bv
        x2 = bv
        x3 = bv
        x4 = bv
        x5 = bv
        x6 = bv
        x7 = bv
        for kk in range(k):
            wv = vload(w, (kk + 1) * NR2)
            x0 = vfma(vbcast2(a2, q), wv, x0)
            x1 = vfma(vbcast2(a2, q + k2), wv, x1)
            x2 = vfma(vbcast2(a2, q + 2 * k2), wv, x2)
            x3 = vfma(vbcast2(a2, q + 3 * k2), wv, x3)
            x4 = vfma(vbcast2(a2, q + 4 * k2), wv, x4)
            x5 = vfma(vbcast2(a2, q + 5 * k2), wv, x5)
            x6 = vfma(vbcast2(a2, q + 6 * k2), wv, x6)
            x7 = vfma(vbcast2(a2, q + 7 * k2), wv, x7)
            q += 2
        co = i * ldc
        _store_pair(c, co, ldc, n, full, x0, vlo, vhi, rnd, True)
        _store_pair(c, co + 2 * ldc, ldc, n, full, x1, vlo, vhi, rnd, True)
        _store_pair(c, co + 4 * ldc, ldc, n, full, x2, vlo, vhi, rnd, True)
        _store_pair(c, co + 6 * ldc, ldc, n, full, x3, vlo, vhi, rnd, True)
        _store_pair(c, co + 8 * ldc, ldc, n, full, x4, vlo, vhi, rnd, True)
        _store_pair(c, co + 10 * ldc, ldc, n, full, x5, vlo, vhi, rnd, True)
        _store_pair(c, co + 12 * ldc, ldc, n, full, x6, vlo, vhi, rnd, True)
        _store_pair(c, co + 14 * ldc, ldc, n, full, x7, vlo, vhi, rnd, True)
        i += 2 * MP
    while i < m:                               # the last < 16 rows, a pair (or one row) at a time
        q = i * k
        x0 = bv
        for kk in range(k):
            x0 = vfma(vbcast2(a2, q), vload(w, (kk + 1) * NR2), x0)
            q += 2
        _store_pair(c, i * ldc, ldc, n, full, x0, vlo, vhi, rnd, i + 1 < m)
        i += 2


@kernel(fastmath=FAST_F32)
def im2col_pairs_f32(x, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, r0, nrows, out):
    """The im2col rows r0..r0+nrows of NHWC x (flat; columns (ky, kx, c), zero
    padding) written directly in interleave_rows2's paired layout: pair p holds
    row r0+2p's column j at out[2p*K + 2j] and row r0+2p+1's at 2j + 1 (an odd
    last row is paired with itself).  Where both pixels' kw taps of a filter row
    are inside the image (dilation 1) the kw*cin floats are contiguous and move
    16 at a time; border taps go element by element."""
    seg = kw * cin
    kdim = kh * seg
    b1, oy1, ox1 = out_pixel(r0, oh, ow)      # stepped pixel by pixel below (no divisions per row)
    ox1 -= 1
    for p in range((nrows + 1) // 2):
        b0, oy0, ox0 = next_pixel(b1, oy1, ox1, oh, ow)
        if 2 * p + 1 < nrows:
            b1, oy1, ox1 = next_pixel(b0, oy0, ox0, oh, ow)
        else:
            b1, oy1, ox1 = b0, oy0, ox0
        o = 2 * p * kdim
        ix0 = ox0 * sw - pl
        ix1 = ox1 * sw - pl
        for ky in range(kh):
            iy0 = oy0 * sh - pt + ky * dh
            iy1 = oy1 * sh - pt + ky * dh
            oo = o + 2 * ky * seg
            if (dw == 1 and 0 <= iy0 < h and 0 <= iy1 < h and ix0 >= 0 and ix0 + kw <= w and ix1 >= 0
                    and ix1 + kw <= w):
                s0 = ((b0 * h + iy0) * w + ix0) * cin
                s1 = ((b1 * h + iy1) * w + ix1) * cin
                j = 0
                while j + 16 <= seg:
                    v0 = vload(x, s0 + j)
                    v1 = vload(x, s1 + j)
                    vstore(out, oo + 2 * j, vzip_lo(v0, v1))
                    vstore(out, oo + 2 * j + 16, vzip_hi(v0, v1))
                    j += 16
                if j < seg:
                    nv = seg - j
                    v0 = vload_n(x, s0 + j, nv)
                    v1 = vload_n(x, s1 + j, nv)
                    vstore_n(out, oo + 2 * j, vzip_lo(v0, v1), 2 * nv)
                    vstore_n(out, oo + 2 * j + 16, vzip_hi(v0, v1), 2 * nv - 16)
            else:
                for kx in range(kw):
                    ixa = ix0 + kx * dw
                    ixb = ix1 + kx * dw
                    ina = 0 <= iy0 < h and 0 <= ixa < w
                    inb = 0 <= iy1 < h and 0 <= ixb < w
                    sa = ((b0 * h + iy0) * w + ixa) * cin
                    sb = ((b1 * h + iy1) * w + ixb) * cin
                    d = oo + 2 * kx * cin
                    for c in range(cin):
                        out[d + 2 * c] = x[sa + c] if ina else np.float32(0.0)
                        out[d + 2 * c + 1] = x[sb + c] if inb else np.float32(0.0)


@kernel(fastmath=FAST_F32)
def conv2d_f32_n8_minmax(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cout, wp, mb, lo, hi, ws,
                         out, rnd=False):
    """NHWC conv2d (groups 1) with cout <= 8 output channels: blocks of mb
    (even) output pixels written as paired im2col rows (im2col_pairs_f32) into
    ws, then gemm_f32_n8_minmax; x flat, wp: pack_n8 of the [cout, kh*kw*cin]
    filter, out flat (b, oy, ox, cout); ws: mb * kh*kw*cin floats (mb even)."""
    kdim = kh * kw * cin
    mtot = batch * oh * ow
    for r0 in range(0, mtot, mb):
        nrows = min(mb, mtot - r0)
        im2col_pairs_f32(x, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, r0, nrows, ws)
        gemm_f32_n8_minmax(nrows, cout, kdim, ws, wp, lo, hi, out[r0 * cout:], cout, rnd)


# ---------------------------------------------------------------- direct (no im2col) conv, cout <= 8
# Two output rows per vector: output row r of the top half (r < hs = ceil(oh / 2)) shares
# its vectors with row r + hs of the bottom half, at the same column.  The zero-padded
# input rows both need are interleaved once into a small band (pad_rows2_f32: the image's
# own size, vs kh*kw times it for im2col), where the operand of every (tap, channel) is
# one 8-byte broadcast: no border paths, no im2col.
vupper = _shuffle2("vupper", list(range(8, 16)) * 2)                            # lanes 8..15 -> 0..7


@kernel(fastmath=FAST_F32)
def _zero_f32(out, d, n):
    """out[d:d + n] = 0 (n <= 0: nothing)."""
    z = vsplat(0.0)
    for i in range(0, n, 16):
        vstore_n(out, d + i, z, n - i)


@kernel(fastmath=FAST_F32)
def pad_rows2_f32(x, b, h, w, cin, pt, pl, i0, nr, hs, wq, out):
    """out[((i * wq + j) * cin + c) * 2 + t] = x[b, i0 + i + t * hs - pt, j - pl, c]
    (0 where that is outside the image) for i < nr, j < wq: two zero-padded input rows
    hs apart, interleaved channel by channel.  x flat NHWC (batch index b)."""
    c2 = 2 * cin
    nl = min(pl, wq)                               # left padding columns
    nm = max(0, min(wq, pl + w) - max(pl, 0))      # image columns
    j0 = max(-pl, 0)                               # first image column read (pl < 0: cropped)
    L = nm * cin
    for i in range(nr):
        iy0 = i0 + i - pt
        iy1 = iy0 + hs
        r0ok = 0 <= iy0 < h
        r1ok = 0 <= iy1 < h
        d = i * wq * c2
        _zero_f32(out, d, max(nl, 0) * c2)
        s0 = ((b * h + iy0) * w + j0) * cin
        s1 = ((b * h + iy1) * w + j0) * cin
        dm = d + max(nl, 0) * c2
        kk = 0
        while kk + 16 <= L:
            v0 = vload_n_if(x, s0 + kk, 16, r0ok)
            v1 = vload_n_if(x, s1 + kk, 16, r1ok)
            vstore(out, dm + 2 * kk, vzip_lo(v0, v1))
            vstore(out, dm + 2 * kk + 16, vzip_hi(v0, v1))
            kk += 16
        if kk < L:
            nv = L - kk
            v0 = vload_n_if(x, s0 + kk, nv, r0ok)
            v1 = vload_n_if(x, s1 + kk, nv, r1ok)
            vstore_n(out, dm + 2 * kk, vzip_lo(v0, v1), 2 * nv)
            vstore_n(out, dm + 2 * kk + 16, vzip_hi(v0, v1), 2 * nv - 16)
        _zero_f32(out, dm + 2 * L, (wq - max(nl, 0) - nm) * c2)


@kernel(fastmath=FAST_F32)
def _store_rows2(out, o0, o1, n, two, acc, vlo, vhi, rnd):
    """An interleaved accumulator (lane 2j: top row, 2j + 1: bottom row, channel j):
    clamp (and round), store the top pixel at out[o0:o0 + n], the bottom at o1 (if two)."""
    y = vunzip(out_minmax(acc, vlo, vhi, rnd), acc)
    vstore_n(out, o0, y, n)
    if two:
        vstore_n(out, o1, vupper(y, y), n)


@kernel(fastmath=FAST_F32)
def _tile_rows2(xp, p0, ps, offs, k, wp, vlo, vhi, rnd, out, o0, o1, cout, n, two):
    """MP column pairs from xp[p0 + i * ps + offs[kk]] (i < MP), stored at o0 / o1 + i * cout."""
    bv = vload(wp, 0)
    x0 = bv
    x1 = bv
    x2 = bv
    x3 = bv
    x4 = bv
    x5 = bv
    x6 = bv
    x7 = bv
    for kk in range(k):
        wv = vload(wp, (kk + 1) * NR2)
        q = p0 + offs[kk]
        x0 = vfma(vbcast2(xp, q), wv, x0)
        x1 = vfma(vbcast2(xp, q + ps), wv, x1)
        x2 = vfma(vbcast2(xp, q + 2 * ps), wv, x2)
        x3 = vfma(vbcast2(xp, q + 3 * ps), wv, x3)
        x4 = vfma(vbcast2(xp, q + 4 * ps), wv, x4)
        x5 = vfma(vbcast2(xp, q + 5 * ps), wv, x5)
        x6 = vfma(vbcast2(xp, q + 6 * ps), wv, x6)
        x7 = vfma(vbcast2(xp, q + 7 * ps), wv, x7)
    _store_rows2(out, o0, o1, n, two, x0, vlo, vhi, rnd)
    _store_rows2(out, o0 + cout, o1 + cout, n, two, x1, vlo, vhi, rnd)
    _store_rows2(out, o0 + 2 * cout, o1 + 2 * cout, n, two, x2, vlo, vhi, rnd)
    _store_rows2(out, o0 + 3 * cout, o1 + 3 * cout, n, two, x3, vlo, vhi, rnd)
    _store_rows2(out, o0 + 4 * cout, o1 + 4 * cout, n, two, x4, vlo, vhi, rnd)
    _store_rows2(out, o0 + 5 * cout, o1 + 5 * cout, n, two, x5, vlo, vhi, rnd)
    _store_rows2(out, o0 + 6 * cout, o1 + 6 * cout, n, two, x6, vlo, vhi, rnd)
    _store_rows2(out, o0 + 7 * cout, o1 + 7 * cout, n, two, x7, vlo, vhi, rnd)


@kernel
def rows2_offsets(cin, kw, dh, dw, wq, offs):
    """offs[(ky * kw + kx) * cin + c] = ((ky * dh * wq + kx * dw) * cin + c) * 2: the
    pad_rows2_f32 offset of im2col column (ky, kx, c) from a window's corner."""
    for kk in range(offs.size):
        ky = kk // (kw * cin)
        kx = (kk // cin) % kw
        offs[kk] = ((ky * dh * wq + kx * dw) * cin + kk % cin) * 2


@kernel
def rows2_band(oh, ow, cin, kh, kw, sh, sw, dh, dw, floats):
    """(hs, wq, band, nr): rows per half, padded band width, output row pairs per band so
    that a band (nr input rows) holds at most ~floats floats (at least one row pair)."""
    hs = (oh + 1) // 2
    wq = (ow - 1) * sw + (kw - 1) * dw + 1
    row = wq * 2 * cin
    band = max(1, min(hs, (floats // row - (kh - 1) * dh - 1) // sh + 1))
    return hs, wq, band, (band - 1) * sh + (kh - 1) * dh + 1


@kernel(fastmath=FAST_F32)
def conv2d_f32_n8_rows2_minmax(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cout, wp, offs, band,
                               lo, hi, xp, out, rnd=False):
    """NHWC conv2d (groups 1), cout <= 8, without im2col: output rows r and r + hs
    (hs = ceil(oh / 2)) share each vector; per band of row pairs the padded input
    rows are interleaved into xp (pad_rows2_f32), then tiles of MP columns run the
    paired GEMM straight from xp.  Same accumulation as conv2d_f32_f32_f32_minmax
    (bias, then one FMA per im2col column (ky, kx, c), zero taps included), hence
    the same bits.  wp: pack_n8; offs: rows2_offsets; band: rows2_band's;
    xp: rows2_band's nr * wq * 2 * cin floats; x, out flat."""
    k = kh * kw * cin
    vlo = vsplat(lo)
    vhi = vsplat(hi)
    hs, wq, _, _ = rows2_band(oh, ow, cin, kh, kw, sh, sw, dh, dw, 0)
    c2 = 2 * cin
    ps = sw * c2
    for b in range(batch):
        for r0 in range(0, hs, band):
            r1 = min(hs, r0 + band)
            nr = (r1 - 1 - r0) * sh + (kh - 1) * dh + 1
            pad_rows2_f32(x, b, h, w, cin, pt, pl, r0 * sh, nr, hs * sh, wq, xp)
            for r in range(r0, r1):
                base = (r - r0) * sh * wq * c2
                o0 = (b * oh + r) * ow * cout
                o1 = o0 + hs * ow * cout
                two = r + hs < oh
                if ow >= MP:
                    ox = 0
                    while ox < ow:
                        s = min(ox, ow - MP)          # the last tile overlaps the one before
                        _tile_rows2(xp, base + s * ps, ps, offs, k, wp, vlo, vhi, rnd, out, o0 + s * cout,
                                    o1 + s * cout, cout, cout, two)
                        ox += MP
                else:
                    for ox in range(ow):
                        q = base + ox * ps
                        acc = vload(wp, 0)
                        for kk in range(k):
                            acc = vfma(vbcast2(xp, q + offs[kk]), vload(wp, (kk + 1) * NR2), acc)
                        _store_rows2(out, o0 + ox * cout, o1 + ox * cout, cout, two, acc, vlo, vhi, rnd)
