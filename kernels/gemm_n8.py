"""float32 conv for narrow outputs (cout <= 8): two output rows per vector, no im2col.

The 16-lane micro-kernels of kernels/gemm.py waste half of every vector (and
of every FMA) when N <= 8, e.g. a conv with 8 output channels.  Here one
16-lane accumulator holds two output pixels interleaved: output row r of the
top half (r < hs = ceil(oh / 2)) shares its vectors with row r + hs of the
bottom half, at the same column -- lane 2j is the top pixel's channel j, lane
2j + 1 the bottom pixel's.  Per band of row pairs, the zero-padded input rows
both halves need (hs * sh apart) are interleaved value by value into a small
band (``pad_rows2_f32``; the image's own size, vs kh*kw times it for im2col),
so the A operand of every im2col column (ky, kx, c) is one 8-byte broadcast
[top, bottom] x 8 at a fixed offset (``rows2_offsets``) from the window's
corner: no border paths, no shuffles in the inner loop.  The weight vector
holds W[j, k] in lanes 2j and 2j + 1, so one FMA does 16 useful
multiply-adds; tiles of MP = 8 column pairs (8 accumulators) run straight
from the band (the last tile of a row overlaps the one before) and are
de-interleaved once at the store.

Accumulation order per output element: bias, then one FMA per k in k order
(ky, kx, c), zero taps included -- what gemm_f32_f32_f32_minmax (im2col +
the packed GEMM) and XNNPack do, so the results are the same bits.

Weights: ``pack_n8(w, bias, out)`` at prepare: (k + 1) rows of 16 floats,
row 0 the bias, row 1 + k the k-th column of W (N x K), each value in two
adjacent lanes (lanes 2n.. zero).  Band geometry: ``rows2_band``.
Reference: kernels/reference/gemm_n8.py
"""
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from ._jit import FAST_F32, kernel
from .gemm import out_minmax
from .simd import _I32, _ptr, f32x16, vfma, vload, vsplat, vstore, vstore_n
from .simd_int import vload_n_if

NR2 = 16        # floats per packed weight row
MP = 8          # column pairs per register tile (16 output pixels, 8 accumulators)


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
vupper = _shuffle2("vupper", list(range(8, 16)) * 2)                               # lanes 8..15 -> 0..7


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
    conv2d_f32_n8_rows2_range(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cout, wp, offs, band,
                              lo, hi, xp, out, 0, (oh + 1) // 2, rnd)


@kernel(fastmath=FAST_F32)
def conv2d_f32_n8_rows2_range(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cout, wp, offs, band,
                              lo, hi, xp, out, y0, y1, rnd):
    """conv2d_f32_n8_rows2_minmax's row pairs y0 <= r < y1 (output rows r and
    r + ceil(oh / 2)) of every image: a thread's chunk (kernels/parallel.py);
    xp: this call's own band scratch."""
    k = kh * kw * cin
    vlo = vsplat(lo)
    vhi = vsplat(hi)
    hs, wq, _, _ = rows2_band(oh, ow, cin, kh, kw, sh, sw, dh, dw, 0)
    c2 = 2 * cin
    ps = sw * c2
    for b in range(batch):
        for r0 in range(y0, y1, band):
            r1 = min(y1, r0 + band)
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
