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
