"""Depthwise 2-D convolution on 8-bit activations, NHWC: full-integer QS8 / QU8
(int8 / uint8 output) and TFLite's hybrid QD8 (uint8 ``q + 128`` input, float32
output).  Explicit SIMD over 16 channels with int32 accumulators (int8 / uint8
lanes widened to int32, products with vpmulld on AVX-512; any host compiles it).

Depth multiplier: x has the output's channels (a depth multiplier dm > 1 is
expanded beforehand with kernels/dwconv.py ``dw_expand_channels``).

Accumulation (exact int32, so any order gives the same result):

    acc[oc] = init[oc] + sum over ALL KH*KW taps of w[ky, kx, oc] * xt

where xt is the input when the tap is inside the image and ``fill`` (the input
zero point) when it is not; ``init = bias - fill * sum_taps w`` makes the
outside taps contribute exactly 0, as TFLite's "in-bounds taps only".  Outside
taps are masked loads with the zero point as pass-through value, so there is
no per-element bounds check: the row's valid taps are found once per output
row and the columns split into left border / interior / right border, as in
kernels/dwconv.py.  Each output row is accumulated 16 channels at a time into
an int32 scratch row, then requantized:

- QS8 / QU8 (``dwconv_q8_q8_q8_rows_minmax``): the requantization of
  kernels/qs8.py requant_i32_q8_rows; the fp32 (XNNPack) formula runs in
  SIMD here, the TFLite fixed-point one calls requant_i32_q8_rows.
- QD8 (``dwconv_qdu8_qc8w_f32_rows_minmax``): TFLite's hybrid per-channel
  depthwise epilogue, out = clamp((float(acc) * ws[oc]) * scale[image] + b[oc]),
  separate float32 ops in that order.

Reference: kernels/reference/dwconv_q8.py
"""
import numpy as np

from ._jit import kernel
from .dwconv import _dw_interior_cols, _dw_row_setup, _dw_band_rows
from .qs8 import requant_i32_q8_rows
from .simd import (vadd, vadd_i32, vcvt_f32, vload_i32, vload_n, vmax, vmin, vmul, vmul_i32, vsplat,
                   vsplat_i32, vstore, vstore_n)
from .simd_int import vload_ext_fill_if, vload_ext_n, vrint_i32, vstore_narrow_n


# ---------------------------------------------------------------- int32 accumulation
@kernel
def _tap(x, p, nv, ok, fill, wv, acc):
    """acc + w * (nv lanes of x.flat[p:] if ok, else fill)."""
    return vadd_i32(acc, vmul_i32(vload_ext_fill_if(x, p, nv, ok, fill), wv))


@kernel
def _col3_i32(x, p, rs, nv, k0, k1, k2, fill, wa, wb, wc, acc):
    """acc + the 3 taps (ky = 0, 1, 2) of one filter column."""
    acc = _tap(x, p, nv, k0, fill, wa, acc)
    acc = _tap(x, p + rs, nv, k1, fill, wb, acc)
    return _tap(x, p + 2 * rs, nv, k2, fill, wc, acc)


@kernel
def _col5_i32(x, p, rs, nv, k0, k1, k2, k3, k4, fill, wa, wb, wc, wd_, we, acc):
    acc = _tap(x, p, nv, k0, fill, wa, acc)
    acc = _tap(x, p + rs, nv, k1, fill, wb, acc)
    acc = _tap(x, p + 2 * rs, nv, k2, fill, wc, acc)
    acc = _tap(x, p + 3 * rs, nv, k3, fill, wd_, acc)
    return _tap(x, p + 4 * rs, nv, k4, fill, we, acc)


@kernel
def _row_init(r, oh, qd8, zx, zpu, initv):
    """(init vector, fill) of flattened output row r: QS8 initv and zx; QD8 (initv =
    sum_taps w) -zpu[n] * initv and zpu[n] of the row's image n."""
    if qd8:
        z = zpu[r // oh]
        return vmul_i32(vsplat_i32(-z), initv), np.int64(z)
    return initv, zx


@kernel
def _i32_rows3(x, w, sh, sw, dh, dw, pad_t, pad_l, oxa, oxb, r0, r1, cc, nv, qd8, zx, zpu, initv, oh, ow, acc):
    """acc[(r - r0)*OW*16 + ox*16 + j] for output rows r0..r1, pixels ox < OW and
    channels cc + j (j < nv): init + the 9 taps of a 3x3 filter (weights in registers).
    Taps are visited column-major; outside taps read the fill value."""
    h, wd, c = x.shape[1], x.shape[2], x.shape[3]
    w0 = vload_ext_n(w, cc, nv)
    w1 = vload_ext_n(w, 3 * c + cc, nv)
    w2 = vload_ext_n(w, 6 * c + cc, nv)
    w3 = vload_ext_n(w, c + cc, nv)
    w4 = vload_ext_n(w, 4 * c + cc, nv)
    w5 = vload_ext_n(w, 7 * c + cc, nv)
    w6 = vload_ext_n(w, 2 * c + cc, nv)
    w7 = vload_ext_n(w, 5 * c + cc, nv)
    w8 = vload_ext_n(w, 8 * c + cc, nv)
    rs = dh * wd * c
    ps = sw * c
    kxs = dw * c
    for r in range(r0, r1):
        iv, fill = _row_init(r, oh, qd8, zx, zpu, initv)
        ky0, ky1, xb = _dw_row_setup(r, oh, sh, pad_t, h, wd, c, 3, dh)
        y0 = ky0 <= 0 and 0 < ky1
        y1 = ky0 <= 1 and 1 < ky1
        y2 = ky0 <= 2 and 2 < ky1
        ab = (r - r0) * ow * 16
        for ox in range(ow):
            if ox == oxa:                          # the interior: every column in bounds
                p = xb + (oxa * sw - pad_l) * c + cc
                for o in range(ab + oxa * 16, ab + oxb * 16, 16):
                    a = _col3_i32(x, p, rs, nv, y0, y1, y2, fill, w0, w1, w2, iv)
                    a = _col3_i32(x, p + kxs, rs, nv, y0, y1, y2, fill, w3, w4, w5, a)
                    a = _col3_i32(x, p + 2 * kxs, rs, nv, y0, y1, y2, fill, w6, w7, w8, a)
                    vstore(acc, o, a)
                    p += ps
            if ox >= oxa and ox < oxb:
                continue
            ix = ox * sw - pad_l
            p = xb + ix * c + cc
            x0 = ix >= 0 and ix < wd
            x1 = ix + dw >= 0 and ix + dw < wd
            x2 = ix + 2 * dw >= 0 and ix + 2 * dw < wd
            a = _col3_i32(x, p, rs, nv, y0 and x0, y1 and x0, y2 and x0, fill, w0, w1, w2, iv)
            a = _col3_i32(x, p + kxs, rs, nv, y0 and x1, y1 and x1, y2 and x1, fill, w3, w4, w5, a)
            a = _col3_i32(x, p + 2 * kxs, rs, nv, y0 and x2, y1 and x2, y2 and x2, fill, w6, w7, w8, a)
            vstore(acc, ab + ox * 16, a)


@kernel
def _i32_rows5(x, w, sh, sw, dh, dw, pad_t, pad_l, oxa, oxb, r0, r1, cc, nv, qd8, zx, zpu, initv, oh, ow, acc):
    """_i32_rows3 for a 5x5 filter."""
    h, wd, c = x.shape[1], x.shape[2], x.shape[3]
    ws = 5 * c
    w00 = vload_ext_n(w, cc, nv)
    w10 = vload_ext_n(w, ws + cc, nv)
    w20 = vload_ext_n(w, 2 * ws + cc, nv)
    w30 = vload_ext_n(w, 3 * ws + cc, nv)
    w40 = vload_ext_n(w, 4 * ws + cc, nv)
    w01 = vload_ext_n(w, c + cc, nv)
    w11 = vload_ext_n(w, ws + c + cc, nv)
    w21 = vload_ext_n(w, 2 * ws + c + cc, nv)
    w31 = vload_ext_n(w, 3 * ws + c + cc, nv)
    w41 = vload_ext_n(w, 4 * ws + c + cc, nv)
    w02 = vload_ext_n(w, 2 * c + cc, nv)
    w12 = vload_ext_n(w, ws + 2 * c + cc, nv)
    w22 = vload_ext_n(w, 2 * ws + 2 * c + cc, nv)
    w32 = vload_ext_n(w, 3 * ws + 2 * c + cc, nv)
    w42 = vload_ext_n(w, 4 * ws + 2 * c + cc, nv)
    w03 = vload_ext_n(w, 3 * c + cc, nv)
    w13 = vload_ext_n(w, ws + 3 * c + cc, nv)
    w23 = vload_ext_n(w, 2 * ws + 3 * c + cc, nv)
    w33 = vload_ext_n(w, 3 * ws + 3 * c + cc, nv)
    w43 = vload_ext_n(w, 4 * ws + 3 * c + cc, nv)
    w04 = vload_ext_n(w, 4 * c + cc, nv)
    w14 = vload_ext_n(w, ws + 4 * c + cc, nv)
    w24 = vload_ext_n(w, 2 * ws + 4 * c + cc, nv)
    w34 = vload_ext_n(w, 3 * ws + 4 * c + cc, nv)
    w44 = vload_ext_n(w, 4 * ws + 4 * c + cc, nv)
    rs = dh * wd * c
    kxs = dw * c
    for r in range(r0, r1):
        iv, fill = _row_init(r, oh, qd8, zx, zpu, initv)
        ky0, ky1, xb = _dw_row_setup(r, oh, sh, pad_t, h, wd, c, 5, dh)
        y0 = ky0 <= 0 and 0 < ky1
        y1 = ky0 <= 1 and 1 < ky1
        y2 = ky0 <= 2 and 2 < ky1
        y3 = ky0 <= 3 and 3 < ky1
        y4 = ky0 <= 4 and 4 < ky1
        ab = (r - r0) * ow * 16
        for ox in range(ow):
            ix = ox * sw - pad_l
            inner = ox >= oxa and ox < oxb
            x0 = inner or (ix >= 0 and ix < wd)
            x1 = inner or (ix + dw >= 0 and ix + dw < wd)
            x2 = inner or (ix + 2 * dw >= 0 and ix + 2 * dw < wd)
            x3 = inner or (ix + 3 * dw >= 0 and ix + 3 * dw < wd)
            x4 = inner or (ix + 4 * dw >= 0 and ix + 4 * dw < wd)
            p = xb + ix * c + cc
            a = _col5_i32(x, p, rs, nv, y0 and x0, y1 and x0, y2 and x0, y3 and x0, y4 and x0, fill,
                          w00, w10, w20, w30, w40, iv)
            a = _col5_i32(x, p + kxs, rs, nv, y0 and x1, y1 and x1, y2 and x1, y3 and x1, y4 and x1, fill,
                          w01, w11, w21, w31, w41, a)
            a = _col5_i32(x, p + 2 * kxs, rs, nv, y0 and x2, y1 and x2, y2 and x2, y3 and x2, y4 and x2, fill,
                          w02, w12, w22, w32, w42, a)
            a = _col5_i32(x, p + 3 * kxs, rs, nv, y0 and x3, y1 and x3, y2 and x3, y3 and x3, y4 and x3, fill,
                          w03, w13, w23, w33, w43, a)
            a = _col5_i32(x, p + 4 * kxs, rs, nv, y0 and x4, y1 and x4, y2 and x4, y3 and x4, y4 and x4, fill,
                          w04, w14, w24, w34, w44, a)
            vstore(acc, ab + ox * 16, a)


@kernel
def _i32_rowsk(x, w, sh, sw, dh, dw, pad_t, pad_l, r0, r1, cc, nv, qd8, zx, zpu, initv, oh, ow, acc):
    """_i32_rows3 for any filter size (weights loaded per tap)."""
    h, wd, c = x.shape[1], x.shape[2], x.shape[3]
    kh, kw = w.shape[0], w.shape[1]
    rs = dh * wd * c
    for r in range(r0, r1):
        iv, fill = _row_init(r, oh, qd8, zx, zpu, initv)
        ky0, ky1, xb = _dw_row_setup(r, oh, sh, pad_t, h, wd, c, kh, dh)
        ab = (r - r0) * ow * 16
        for ox in range(ow):
            a = iv
            for kx in range(kw):
                ix = ox * sw + kx * dw - pad_l
                xok = ix >= 0 and ix < wd
                p = xb + ix * c + cc
                for ky in range(kh):
                    a = _tap(x, p, nv, xok and ky >= ky0 and ky < ky1, fill,
                             vload_ext_n(w, (ky * kw + kx) * c + cc, nv), a)
                    p += rs
            vstore(acc, ab + ox * 16, a)


@kernel
def _i32_rows(x, w, sh, sw, dh, dw, pad_t, pad_l, oxa, oxb, r0, r1, cc, nv, qd8, zx, zpu, initv, oh, ow, acc):
    """The int32 accumulators of output rows r0..r1 (16 channels from cc) into acc (see _i32_rows3)."""
    kh, kw = w.shape[0], w.shape[1]
    if kh == 3 and kw == 3:
        _i32_rows3(x, w, sh, sw, dh, dw, pad_t, pad_l, oxa, oxb, r0, r1, cc, nv, qd8, zx, zpu, initv, oh, ow, acc)
    elif kh == 5 and kw == 5:
        _i32_rows5(x, w, sh, sw, dh, dw, pad_t, pad_l, oxa, oxb, r0, r1, cc, nv, qd8, zx, zpu, initv, oh, ow, acc)
    else:
        _i32_rowsk(x, w, sh, sw, dh, dw, pad_t, pad_l, r0, r1, cc, nv, qd8, zx, zpu, initv, oh, ow, acc)


@kernel
def _dw_acc_rows(ow, acc_size):
    """Output rows whose int32 accumulators (OW x 16 each) fit the scratch."""
    return max(1, acc_size // (ow * 16))


# ---------------------------------------------------------------- QS8 / QU8
@kernel
def _q8_epilogue(row, ow, cc, nv, fp32, mult, lsh, rsh, nup, fscale, zp, lo, hi, of, ob, c):
    """Requantize acc row (ow pixels x 16 lanes, nv used) into of.flat[ob + ox*c:] (requant_i32_q8_rows)."""
    if fp32:
        fs = vload_n(fscale, cc, nv)
        vflo = vsplat(np.float32(lo - zp))
        vfhi = vsplat(np.float32(hi - zp))
        vzp = vsplat_i32(zp)
        for ox in range(ow):
            f = vmul(vcvt_f32(vload_i32(row, ox * 16)), fs)
            q = vadd_i32(vrint_i32(vmin(vmax(f, vflo), vfhi)), vzp)
            vstore_narrow_n(of, ob + ox * c, q, nv)
    else:
        requant_i32_q8_rows(row, 16, ow, nv, mult[cc:], lsh[cc:], rsh[cc:], max(nup - cc, 0), fscale[cc:],
                            fp32, zp, lo, hi, of[ob:], c)


@kernel
def dwconv_q8_q8_q8_minmax(x, zx, w, init, sh, sw, dh, dw, pad_t, pad_l, mult, lsh, rsh, nup, fscale, fp32, zp,
                           lo, hi, acc, out):
    """Full-integer depthwise conv, TFLite semantics (kernels/qs8.py):
    acc = bias + sum over in-bounds taps of w * (x - zx), then the requantization.

    x: (N, H, W, C) int8 / uint8 (C = output channels); zx: input zero point;
    w: (KH, KW, C) int16 (filter - zp_w); init: (C,) int32 = bias - zx * sum_taps w;
    mult, lsh, rsh, nup, fscale, fp32, zp, lo, hi: as requant_i32_q8_rows;
    acc: (>= OW * 16,) int32 scratch (more: several rows per band); out: (N, OH, OW, C) as x.
    """
    dwconv_q8_q8_q8_rows_minmax(x, zx, w, init, sh, sw, dh, dw, pad_t, pad_l, mult, lsh, rsh, nup, fscale, fp32, zp,
                                lo, hi, 0, out.shape[0] * out.shape[1], 0, out.shape[3], acc, out)


@kernel
def dwconv_q8_q8_q8_rows_minmax(x, zx, w, init, sh, sw, dh, dw, pad_t, pad_l, mult, lsh, rsh, nup, fscale, fp32, zp,
                                lo, hi, r0, r1, c0, c1, acc, out):
    """dwconv_q8_q8_q8_minmax on output rows r0..r1 of the flattened (N*OH)
    axis and channels c0..c1 only (used by the multi-threaded driver, one acc each).
    Loop order: bands of rows (kernels/dwconv.py _dw_band_rows), 16-channel blocks, rows."""
    wd, c = x.shape[2], x.shape[3]
    kw = w.shape[1]
    oh, ow = out.shape[1], out.shape[2]
    oxa, oxb = _dw_interior_cols(wd, kw, sw, dw, pad_l, ow)
    of = out.reshape(-1)
    band = min(_dw_band_rows(sh, wd, c, 1), _dw_acc_rows(ow, acc.shape[0]))
    for rb in range(r0, r1, band):
        re = min(r1, rb + band)
        a = acc[:(re - rb) * ow * 16]
        for cc in range(c0, c1, 16):
            nv = min(16, c1 - cc)
            _i32_rows(x, w, sh, sw, dh, dw, pad_t, pad_l, oxa, oxb, rb, re, cc, nv, False, zx, mult,
                      vload_ext_n(init, cc, nv), oh, ow, a)
            _q8_epilogue(a, (re - rb) * ow, cc, nv, fp32, mult, lsh, rsh, nup, fscale, zp, lo, hi, of,
                         rb * ow * c + cc, c)


# ---------------------------------------------------------------- QD8 (TFLite hybrid)
@kernel
def dwconv_qdu8_qc8w_f32_minmax(xq, scale, zpu, w, wsum, ws, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, acc, out):
    """TFLite's hybrid per-channel depthwise conv (DepthwiseConvHybridPerChannel):
    acc = sum over in-bounds taps of w * (q - zp) (int32), then
    out = clamp((float(acc) * ws[oc]) * scale[image] + b[oc], lo, hi), separate
    float32 ops in that order.

    xq: (N, H, W, C) uint8 = q + 128 (per image: scale[n], zpu[n] = zp + 128;
    C = output channels); w: (KH, KW, C) int8; wsum: (C,) int32 = sum_taps w;
    ws, b: (C,) float32; acc: (>= OW * 16,) int32 scratch (more: several rows per band); out: (N, OH, OW, C) float32.
    """
    dwconv_qdu8_qc8w_f32_rows_minmax(xq, scale, zpu, w, wsum, ws, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi,
                                     0, out.shape[0] * out.shape[1], 0, out.shape[3], acc, out)


@kernel
def dwconv_qdu8_qc8w_f32_rows_minmax(xq, scale, zpu, w, wsum, ws, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi,
                                     r0, r1, c0, c1, acc, out):
    """dwconv_qdu8_qc8w_f32_minmax on output rows r0..r1 of the flattened
    (N*OH) axis and channels c0..c1 only (used by the multi-threaded driver).
    Loop order as dwconv_q8_q8_q8_rows_minmax."""
    wd, c = xq.shape[2], xq.shape[3]
    kw = w.shape[1]
    oh, ow = out.shape[1], out.shape[2]
    oxa, oxb = _dw_interior_cols(wd, kw, sw, dw, pad_l, ow)
    vlo = vsplat(lo)
    vhi = vsplat(hi)
    band = min(_dw_band_rows(sh, wd, c, 1), _dw_acc_rows(ow, acc.shape[0]))
    for rb in range(r0, r1, band):
        re = min(r1, rb + band)
        a = acc[:(re - rb) * ow * 16]
        for cc in range(c0, c1, 16):
            nv = min(16, c1 - cc)
            _i32_rows(xq, w, sh, sw, dh, dw, pad_t, pad_l, oxa, oxb, rb, re, cc, nv, True, np.int64(0), zpu,
                      vload_ext_n(wsum, cc, nv), oh, ow, a)
            wsv = vload_n(ws, cc, nv)
            bv = vload_n(b, cc, nv)
            for r in range(rb, re):
                sv = vsplat(scale[r // oh])
                ob = r * ow * c + cc
                ab = (r - rb) * ow * 16
                for ox in range(ow):
                    y = vadd(vmul(vmul(vcvt_f32(vload_i32(a, ab + ox * 16)), wsv), sv), bv)
                    vstore_n(out, ob + ox * c, vmin(vmax(y, vlo), vhi), nv)
