"""Direct float32 conv for few input channels (a network's first layer: RGB in).

With cin = 1..4 the im2col rows are short runs (kw*cin floats per filter row)
and building them costs as much as the GEMM that follows.  Here the GEMM's A
operand is read straight from the input, with no border paths: per band of
output rows, the input rows the band needs are copied once, zero-padded, into
a small buffer wq = (ow - 1)*sw + (kw - 1)*dw + 1 columns wide (``pad_rows_f32``,
``pad_band``).  The value of output pixel i (of a tile of consecutive pixels
of one output row) at im2col column k = (ky, kx, c) is then
xp[xb + i*sw*cin + offs[k]] with offs[k] = (ky*dh*wq + kx*dw)*cin + c, fixed at
prepare (``direct_offsets``).  Register tiles: 2*MR pixels x 16 channels
(``_tile16``), MR pixels x 32 channels (``_tile8``), one pixel (``_tile1``, ow < MR);
the last tile of a row overlaps the one before.

Accumulation per output element: the bias, then one FMA per column k in k order
(ky, kx, c) -- the im2col + GEMM order (and XNNPack's), zero taps included, so
the results are the same bits as conv2d_f32_f32_f32_minmax.
Weights: ``pack_direct(w, bias, np_, out)``: (K + 1) rows of np_ floats (np_ the
output channels rounded up to 32), row 0 the bias, row 1 + k column k of the
[cout, K] filter; lanes past cout are 0.
Reference: kernels/reference/conv_direct.py
"""
import numpy as np

from ._jit import FAST_F32, kernel
from .gemm import out_minmax
from .simd import vbroadcast, vfma, vload, vload_n, vsplat, vstore, vstore_n, vzero

MR = 8          # output pixels per register tile x 2 vectors of 16 channels (16 accumulators);
                # 2*MR pixels x 1 vector when at most 16 channels remain


@kernel
def pack_direct(w, bias, np_, out):
    """w: (cout, K) float32, bias: (cout,); out: ((K + 1) * np_,) (module docstring)."""
    cout, k = w.shape
    out[:] = np.float32(0.0)
    for j in range(cout):
        out[j] = bias[j]
        for kk in range(k):
            out[(kk + 1) * np_ + j] = w[j, kk]


@kernel
def direct_offsets(w, cin, kh, kw, dh, dw, offs):
    """offs[k] = (ky*dh*w + kx*dw)*cin + c for each im2col column k = (ky, kx, c) (w: the row width)."""
    k = 0
    for ky in range(kh):
        for kx in range(kw):
            for c in range(cin):
                offs[k] = (ky * dh * w + kx * dw) * cin + c
                k += 1


@kernel(fastmath=FAST_F32)
def _store2(out, o, n, a0, a1, vlo, vhi, rnd):
    vstore_n(out, o, out_minmax(a0, vlo, vhi, rnd), n)
    vstore_n(out, o + 16, out_minmax(a1, vlo, vhi, rnd), n - 16)


@kernel(fastmath=FAST_F32)
def _tile8(x, xb, ps, offs, k, wp, np_, jb, vlo, vhi, rnd, out, ob, cout, n):
    """MR pixels (x at xb + i*ps + offs[k]), channels jb..jb+32 (n of them valid)."""
    a0 = vload(wp, jb)
    a1 = vload(wp, jb + 16)
    b0 = a0
    b1 = a1
    c0 = a0
    c1 = a1
    d0 = a0
    d1 = a1
    e0 = a0
    e1 = a1
    f0 = a0
    f1 = a1
    g0 = a0
    g1 = a1
    h0 = a0
    h1 = a1
    for kk in range(k):
        w0 = vload(wp, (kk + 1) * np_ + jb)
        w1 = vload(wp, (kk + 1) * np_ + jb + 16)
        p = xb + offs[kk]
        v = vbroadcast(x, p)
        a0 = vfma(v, w0, a0)
        a1 = vfma(v, w1, a1)
        v = vbroadcast(x, p + ps)
        b0 = vfma(v, w0, b0)
        b1 = vfma(v, w1, b1)
        v = vbroadcast(x, p + 2 * ps)
        c0 = vfma(v, w0, c0)
        c1 = vfma(v, w1, c1)
        v = vbroadcast(x, p + 3 * ps)
        d0 = vfma(v, w0, d0)
        d1 = vfma(v, w1, d1)
        v = vbroadcast(x, p + 4 * ps)
        e0 = vfma(v, w0, e0)
        e1 = vfma(v, w1, e1)
        v = vbroadcast(x, p + 5 * ps)
        f0 = vfma(v, w0, f0)
        f1 = vfma(v, w1, f1)
        v = vbroadcast(x, p + 6 * ps)
        g0 = vfma(v, w0, g0)
        g1 = vfma(v, w1, g1)
        v = vbroadcast(x, p + 7 * ps)
        h0 = vfma(v, w0, h0)
        h1 = vfma(v, w1, h1)
    _store2(out, ob, n, a0, a1, vlo, vhi, rnd)
    _store2(out, ob + cout, n, b0, b1, vlo, vhi, rnd)
    _store2(out, ob + 2 * cout, n, c0, c1, vlo, vhi, rnd)
    _store2(out, ob + 3 * cout, n, d0, d1, vlo, vhi, rnd)
    _store2(out, ob + 4 * cout, n, e0, e1, vlo, vhi, rnd)
    _store2(out, ob + 5 * cout, n, f0, f1, vlo, vhi, rnd)
    _store2(out, ob + 6 * cout, n, g0, g1, vlo, vhi, rnd)
    _store2(out, ob + 7 * cout, n, h0, h1, vlo, vhi, rnd)


@kernel(fastmath=FAST_F32)
def _tile16(x, xb, ps, offs, k, wp, np_, jb, vlo, vhi, rnd, out, ob, cout, n):
    """2*MR pixels, channels jb..jb+16 (n <= 16 valid): one vector per pixel."""
    a0 = vload(wp, jb)
    a1 = a0
    a2 = a0
    a3 = a0
    a4 = a0
    a5 = a0
    a6 = a0
    a7 = a0
    a8 = a0
    a9 = a0
    a10 = a0
    a11 = a0
    a12 = a0
    a13 = a0
    a14 = a0
    a15 = a0
    for kk in range(k):
        w0 = vload(wp, (kk + 1) * np_ + jb)
        p = xb + offs[kk]
        a0 = vfma(vbroadcast(x, p + 0 * ps), w0, a0)
        a1 = vfma(vbroadcast(x, p + 1 * ps), w0, a1)
        a2 = vfma(vbroadcast(x, p + 2 * ps), w0, a2)
        a3 = vfma(vbroadcast(x, p + 3 * ps), w0, a3)
        a4 = vfma(vbroadcast(x, p + 4 * ps), w0, a4)
        a5 = vfma(vbroadcast(x, p + 5 * ps), w0, a5)
        a6 = vfma(vbroadcast(x, p + 6 * ps), w0, a6)
        a7 = vfma(vbroadcast(x, p + 7 * ps), w0, a7)
        a8 = vfma(vbroadcast(x, p + 8 * ps), w0, a8)
        a9 = vfma(vbroadcast(x, p + 9 * ps), w0, a9)
        a10 = vfma(vbroadcast(x, p + 10 * ps), w0, a10)
        a11 = vfma(vbroadcast(x, p + 11 * ps), w0, a11)
        a12 = vfma(vbroadcast(x, p + 12 * ps), w0, a12)
        a13 = vfma(vbroadcast(x, p + 13 * ps), w0, a13)
        a14 = vfma(vbroadcast(x, p + 14 * ps), w0, a14)
        a15 = vfma(vbroadcast(x, p + 15 * ps), w0, a15)
    vstore_n(out, ob + 0 * cout, out_minmax(a0, vlo, vhi, rnd), n)
    vstore_n(out, ob + 1 * cout, out_minmax(a1, vlo, vhi, rnd), n)
    vstore_n(out, ob + 2 * cout, out_minmax(a2, vlo, vhi, rnd), n)
    vstore_n(out, ob + 3 * cout, out_minmax(a3, vlo, vhi, rnd), n)
    vstore_n(out, ob + 4 * cout, out_minmax(a4, vlo, vhi, rnd), n)
    vstore_n(out, ob + 5 * cout, out_minmax(a5, vlo, vhi, rnd), n)
    vstore_n(out, ob + 6 * cout, out_minmax(a6, vlo, vhi, rnd), n)
    vstore_n(out, ob + 7 * cout, out_minmax(a7, vlo, vhi, rnd), n)
    vstore_n(out, ob + 8 * cout, out_minmax(a8, vlo, vhi, rnd), n)
    vstore_n(out, ob + 9 * cout, out_minmax(a9, vlo, vhi, rnd), n)
    vstore_n(out, ob + 10 * cout, out_minmax(a10, vlo, vhi, rnd), n)
    vstore_n(out, ob + 11 * cout, out_minmax(a11, vlo, vhi, rnd), n)
    vstore_n(out, ob + 12 * cout, out_minmax(a12, vlo, vhi, rnd), n)
    vstore_n(out, ob + 13 * cout, out_minmax(a13, vlo, vhi, rnd), n)
    vstore_n(out, ob + 14 * cout, out_minmax(a14, vlo, vhi, rnd), n)
    vstore_n(out, ob + 15 * cout, out_minmax(a15, vlo, vhi, rnd), n)


@kernel(fastmath=FAST_F32)
def pad_rows_f32(x, b, h, w, cin, pt, pl, i0, nr, wq, out):
    """out[(i * wq + j) * cin + c] = x[b, i0 + i - pt, j - pl, c] (0 where that is outside
    the image) for i < nr, j < wq: a zero-padded band of input rows.  x flat NHWC."""
    nl = max(0, min(pl, wq))                       # left padding columns
    j0 = max(-pl, 0)                               # first image column read
    nm = max(0, min(wq - nl, w - j0))              # image columns
    L = nm * cin
    z = vzero()
    for i in range(nr):
        iy = i0 + i - pt
        d = i * wq * cin
        if 0 <= iy < h:
            for q in range(0, nl * cin, 16):
                vstore_n(out, d + q, z, nl * cin - q)
            s = ((b * h + iy) * w + j0) * cin
            dm = d + nl * cin
            q = 0
            while q + 16 <= L:
                vstore(out, dm + q, vload(x, s + q))
                q += 16
            if q < L:
                vstore_n(out, dm + q, vload_n(x, s + q, L - q), L - q)
            for q in range(dm + L, d + wq * cin, 16):
                vstore_n(out, q, z, d + wq * cin - q)
        else:
            for q in range(d, d + wq * cin, 16):
                vstore_n(out, q, z, d + wq * cin - q)


@kernel
def pad_band(oh, ow, cin, kh, kw, sh, sw, dh, dw, floats):
    """(wq, band, nr): padded band width, output rows per band so that the band's nr
    input rows hold at most ~floats floats (at least one output row)."""
    wq = (ow - 1) * sw + (kw - 1) * dw + 1
    band = max(1, min(oh, (floats // (wq * cin) - (kh - 1) * dh - 1) // sh + 1))
    return wq, band, (band - 1) * sh + (kh - 1) * dh + 1


@kernel(fastmath=FAST_F32)
def _tile1(x, p, offs, k, wp, np_, jb, vlo, vhi, rnd, out, ob, n):
    """One pixel (x at p + offs[k]), channels jb..jb+32 (n valid)."""
    a0 = vload(wp, jb)
    a1 = vload(wp, jb + 16)
    for kk in range(k):
        v = vbroadcast(x, p + offs[kk])
        a0 = vfma(v, vload(wp, (kk + 1) * np_ + jb), a0)
        a1 = vfma(v, vload(wp, (kk + 1) * np_ + jb + 16), a1)
    _store2(out, ob, n, a0, a1, vlo, vhi, rnd)


@kernel(fastmath=FAST_F32)
def conv2d_direct_pad_f32_minmax(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cout, wp, np_, offs,
                                 band, lo, hi, xp, out, rnd=False):
    """NHWC conv2d, one group, A read from a zero-padded band (module docstring): per
    band of output rows the padded input rows are copied into xp (pad_rows_f32), and
    every pixel runs a register tile straight from xp (the last tile of a row overlaps
    the one before).  x, out flat; wp: pack_direct; offs: direct_offsets with the
    padded width wq = pad_band(...)[0]; band: pad_band's; xp: pad_band's nr * wq * cin
    floats."""
    conv2d_direct_pad_f32_rows(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cout, wp, np_, offs,
                               band, lo, hi, xp, out, 0, oh, rnd)


@kernel(fastmath=FAST_F32)
def conv2d_direct_pad_f32_rows(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cout, wp, np_, offs,
                               band, lo, hi, xp, out, y0, y1, rnd):
    """conv2d_direct_pad_f32_minmax's output rows y0 <= oy < y1 of every image
    (a thread's chunk: kernels/parallel.py); xp: this call's own band scratch."""
    k = kh * kw * cin
    vlo = vsplat(lo)
    vhi = vsplat(hi)
    wq, _, _ = pad_band(oh, ow, cin, kh, kw, sh, sw, dh, dw, 0)
    ps = sw * cin
    for b in range(batch):
        for r0 in range(y0, y1, band):
            r1 = min(y1, r0 + band)
            pad_rows_f32(x, b, h, w, cin, pt, pl, r0 * sh, (r1 - 1 - r0) * sh + (kh - 1) * dh + 1, wq, xp)
            for oy in range(r0, r1):
                xb = (oy - r0) * sh * wq * cin
                ob = (b * oh + oy) * ow * cout
                for jb in range(0, cout, 32):
                    n = min(32, cout - jb)
                    if n <= 16 and ow >= 2 * MR:
                        ox = 0
                        while ox + 2 * MR <= ow:
                            _tile16(xp, xb + ox * ps, ps, offs, k, wp, np_, jb, vlo, vhi, rnd, out,
                                    ob + ox * cout + jb, cout, n)
                            ox += 2 * MR
                        if ox < ow:                   # the rest: an overlapping tile of 16 or 8 pixels
                            if ow - ox > MR:
                                s = ow - 2 * MR
                                _tile16(xp, xb + s * ps, ps, offs, k, wp, np_, jb, vlo, vhi, rnd, out,
                                        ob + s * cout + jb, cout, n)
                            else:
                                s = ow - MR
                                _tile8(xp, xb + s * ps, ps, offs, k, wp, np_, jb, vlo, vhi, rnd, out,
                                       ob + s * cout + jb, cout, n)
                    elif ow >= MR:
                        ox = 0
                        while ox < ow:
                            s = min(ox, ow - MR)
                            _tile8(xp, xb + s * ps, ps, offs, k, wp, np_, jb, vlo, vhi, rnd, out,
                                   ob + s * cout + jb, cout, n)
                            ox += MR
                    else:
                        for ox in range(ow):
                            _tile1(xp, xb + ox * ps, offs, k, wp, np_, jb, vlo, vhi, rnd, out, ob + ox * cout + jb,
                                   n)
