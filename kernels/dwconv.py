"""Depthwise 2-D convolution, NHWC, float32.

Weights are [KH, KW, C_out] with channels innermost (TFLite's [1, KH, KW, C_out]
minus the leading 1).  Output channel oc reads input channel oc // dm.

Accumulation order (every path): each output element starts from the bias,
then each in-bounds tap (ky, kx) adds x * w with one FMA, taps visited
column-major (kx outer, ky inner): the order of XNNPACK's dwconv indirection
buffer and packed weights, so results are bit-identical to XNNPACK's f32
dwconv.  Out-of-bounds taps contribute nothing (XNNPACK reads a zero row
there: fma(0, w, acc) == acc).

Explicit SIMD over 16 channels (masked loads/stores for the channel tail).
Loop order: bands of output rows whose input rows stay in L2, then 16-channel
blocks, rows, pixels; a block's 3x3 / 5x5 weights stay in registers over the
band with the taps unrolled.  Padding costs no per-element check: a row's
valid taps are found once per row, and a tap outside the image is a masked
load with no lanes (a zero vector, memory untouched; fma(0, w, acc) == acc
as XNNPack's zero row), per-column checks only for the few border pixels.
Other filter sizes loop over the taps.

Depth multiplier > 1: the lowering expands the input channels
(``dw_expand_channels``) and runs the dm == 1 kernels.  XNNPack runs such
convs (and filters of more than 25 taps) as grouped convolutions whose taps
are row-major: ``dwconv_f32_f32_f32_rowmajor_minmax`` reproduces that order.
"""
from ._jit import FAST_F32, kernel
from .fp16 import vround_f16
from .simd import vfma, vload, vload_n, vmax, vmin, vsplat, vstore, vstore_n
from .simd_int import vload_n_if

# bytes of input rows a band of output rows may span (L2 is 1 MiB per core)
DW_BAND_BYTES = 262144


@kernel(fastmath=FAST_F32)
def dwconv_f32_f32_f32_minmax(x, w, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, out, rnd=False):
    """Depthwise conv with depth multiplier 1.

    x: (N, H, W, C) float32; w: (KH, KW, C); b: (C,); out: (N, OH, OW, C).
    sh, sw strides, dh, dw dilations, pad_t, pad_l padding before (may exceed
    the kernel extent: those taps are simply absent).  lo, hi: fused clamp.
    rnd: round the outputs to fp16 values after the clamp (fp16 emulation).
    Reference: kernels/reference/dwconv.py
    """
    dwconv_f32_f32_f32_rows_minmax(x, w, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, 0, out.shape[0] * out.shape[1],
                                   0, out.shape[3], out, rnd)


@kernel(fastmath=FAST_F32)
def _dw_interior_cols(wd, kw, sw, dw, pad_l, ow):
    """Output columns [oxa, oxb) whose kw taps all lie in [0, wd); oxa <= oxb <= ow."""
    oxa = min(ow, (pad_l + sw - 1) // sw) if pad_l > 0 else 0
    last = (kw - 1) * dw - pad_l                   # ix of the last tap = ox * sw + last
    oxb = min(ow, (wd - 1 - last) // sw + 1) if wd - 1 - last >= 0 else 0
    return oxa, max(oxa, oxb)


@kernel(fastmath=FAST_F32)
def _dw_ky_range(iy0, h, kh, dh):
    """Taps ky in [ky0, ky1) whose row iy0 + ky * dh lies in [0, h)."""
    ky0 = 0 if iy0 >= 0 else min(kh, (-iy0 + dh - 1) // dh)
    ky1 = min(kh, (h - 1 - iy0) // dh + 1) if h - 1 - iy0 >= 0 else 0
    return ky0, max(ky0, ky1)


@kernel(fastmath=FAST_F32)
def _lanes_if(ok, nv):
    """nv if ok else 0: the lane count of a tap's load (0 = a zero vector, memory untouched)."""
    return nv if ok else 0


@kernel(fastmath=FAST_F32)
def _dw_band_rows(sh, wd, c, itemsize):
    """Output rows per band: the band's input rows (about sh per output row)
    should stay in L2 while each 16-channel block sweeps over them."""
    return max(1, DW_BAND_BYTES // max(1, sh * wd * c * itemsize))


@kernel(fastmath=FAST_F32)
def _dw_row_setup(r, oh, sh, pad_t, h, wd, c, kh, dh):
    """(ky0, ky1, xb) of flattened output row r: its valid taps [ky0, ky1) and the
    flat index of x[n, iy0, 0, 0], iy0 its first tap's input row (may be < 0:
    that row is never read then)."""
    n = r // oh
    iy0 = (r - n * oh) * sh - pad_t
    ky0, ky1 = _dw_ky_range(iy0, h, kh, dh)
    return ky0, ky1, ((n * h + iy0) * wd) * c


@kernel(fastmath=FAST_F32)
def _col3_f32(x, p, rs, nv, k0, k1, k2, wa, wb, wc, acc):
    """acc + the 3 taps (ky = 0, 1, 2) of one filter column: x.flat[p + ky*rs:] (nv lanes) * w_ky,
    a tap whose k_ky is false reads zeros (memory untouched)."""
    acc = vfma(vload_n_if(x, p, nv, k0), wa, acc)
    acc = vfma(vload_n_if(x, p + rs, nv, k1), wb, acc)
    return vfma(vload_n_if(x, p + 2 * rs, nv, k2), wc, acc)


@kernel(fastmath=FAST_F32)
def _col5_f32(x, p, rs, nv, k0, k1, k2, k3, k4, wa, wb, wc, wd_, we, acc):
    """_col3_f32 for 5 taps."""
    acc = vfma(vload_n_if(x, p, nv, k0), wa, acc)
    acc = vfma(vload_n_if(x, p + rs, nv, k1), wb, acc)
    acc = vfma(vload_n_if(x, p + 2 * rs, nv, k2), wc, acc)
    acc = vfma(vload_n_if(x, p + 3 * rs, nv, k3), wd_, acc)
    return vfma(vload_n_if(x, p + 4 * rs, nv, k4), we, acc)


@kernel(fastmath=FAST_F32)
def _col3_full(x, p, rs, wa, wb, wc, acc):
    """_col3_f32 with all 3 taps inside and 16 lanes (plain loads)."""
    acc = vfma(vload(x, p), wa, acc)
    acc = vfma(vload(x, p + rs), wb, acc)
    return vfma(vload(x, p + 2 * rs), wc, acc)


@kernel(fastmath=FAST_F32)
def _col5_full(x, p, rs, wa, wb, wc, wd_, we, acc):
    """_col5_f32 with all 5 taps inside and 16 lanes (plain loads)."""
    acc = vfma(vload(x, p), wa, acc)
    acc = vfma(vload(x, p + rs), wb, acc)
    acc = vfma(vload(x, p + 2 * rs), wc, acc)
    acc = vfma(vload(x, p + 3 * rs), wd_, acc)
    return vfma(vload(x, p + 4 * rs), we, acc)


@kernel(fastmath=FAST_F32)
def _dw_out(a, vlo, vhi, rnd):
    """Epilogue: the fused clamp, then (rnd, fp16 emulation) rounding to fp16 values."""
    y = vmin(vmax(a, vlo), vhi)
    return vround_f16(y) if rnd else y


@kernel(fastmath=FAST_F32)
def _dw_f32_rows3(x, w, b, vlo, vhi, sh, sw, dh, dw, pad_t, pad_l, oxa, oxb, r0, r1, cc, nv, rnd, out):
    """Output rows r0..r1, 16 channels from cc, 3x3 filter (weights in registers).
    Taps are visited column-major; outside taps read zeros (fma(0, w, acc) == acc)."""
    h, wd, c = x.shape[1], x.shape[2], x.shape[3]
    oh, ow = out.shape[1], out.shape[2]
    bv = vload_n(b, cc, nv)
    w0 = vload_n(w, cc, nv)
    w1 = vload_n(w, 3 * c + cc, nv)
    w2 = vload_n(w, 6 * c + cc, nv)
    w3 = vload_n(w, c + cc, nv)
    w4 = vload_n(w, 4 * c + cc, nv)
    w5 = vload_n(w, 7 * c + cc, nv)
    w6 = vload_n(w, 2 * c + cc, nv)
    w7 = vload_n(w, 5 * c + cc, nv)
    w8 = vload_n(w, 8 * c + cc, nv)
    rs = dh * wd * c
    ps = sw * c
    kxs = dw * c
    full = nv == 16
    for r in range(r0, r1):
        ky0, ky1, xb = _dw_row_setup(r, oh, sh, pad_t, h, wd, c, 3, dh)
        y0 = ky0 <= 0 and 0 < ky1
        y1 = ky0 <= 1 and 1 < ky1
        y2 = ky0 <= 2 and 2 < ky1
        ob = r * ow * c + cc
        for ox in range(ow):
            if ox == oxa:                          # the interior: every column in bounds
                p = xb + (oxa * sw - pad_l) * c + cc
                o = ob + oxa * c
                nx = oxb - oxa
                if full and y0 and y1 and y2:      # 16 channels, 3 rows: plain loads, 4 pixels at a time
                    while nx >= 4:
                        a = _col3_full(x, p, rs, w0, w1, w2, bv)
                        b1 = _col3_full(x, p + ps, rs, w0, w1, w2, bv)
                        b2 = _col3_full(x, p + 2 * ps, rs, w0, w1, w2, bv)
                        b3 = _col3_full(x, p + 3 * ps, rs, w0, w1, w2, bv)
                        a = _col3_full(x, p + kxs, rs, w3, w4, w5, a)
                        b1 = _col3_full(x, p + ps + kxs, rs, w3, w4, w5, b1)
                        b2 = _col3_full(x, p + 2 * ps + kxs, rs, w3, w4, w5, b2)
                        b3 = _col3_full(x, p + 3 * ps + kxs, rs, w3, w4, w5, b3)
                        a = _col3_full(x, p + 2 * kxs, rs, w6, w7, w8, a)
                        b1 = _col3_full(x, p + ps + 2 * kxs, rs, w6, w7, w8, b1)
                        b2 = _col3_full(x, p + 2 * ps + 2 * kxs, rs, w6, w7, w8, b2)
                        b3 = _col3_full(x, p + 3 * ps + 2 * kxs, rs, w6, w7, w8, b3)
                        vstore(out, o, _dw_out(a, vlo, vhi, rnd))
                        vstore(out, o + c, _dw_out(b1, vlo, vhi, rnd))
                        vstore(out, o + 2 * c, _dw_out(b2, vlo, vhi, rnd))
                        vstore(out, o + 3 * c, _dw_out(b3, vlo, vhi, rnd))
                        p += 4 * ps
                        o += 4 * c
                        nx -= 4
                for _ in range(nx):
                    a = _col3_f32(x, p, rs, nv, y0, y1, y2, w0, w1, w2, bv)
                    a = _col3_f32(x, p + kxs, rs, nv, y0, y1, y2, w3, w4, w5, a)
                    a = _col3_f32(x, p + 2 * kxs, rs, nv, y0, y1, y2, w6, w7, w8, a)
                    vstore_n(out, o, _dw_out(a, vlo, vhi, rnd), nv)
                    p += ps
                    o += c
            if ox >= oxa and ox < oxb:
                continue
            ix = ox * sw - pad_l
            p = xb + ix * c + cc
            x0 = ix >= 0 and ix < wd
            x1 = ix + dw >= 0 and ix + dw < wd
            x2 = ix + 2 * dw >= 0 and ix + 2 * dw < wd
            a = _col3_f32(x, p, rs, nv, y0 and x0, y1 and x0, y2 and x0, w0, w1, w2, bv)
            a = _col3_f32(x, p + kxs, rs, nv, y0 and x1, y1 and x1, y2 and x1, w3, w4, w5, a)
            a = _col3_f32(x, p + 2 * kxs, rs, nv, y0 and x2, y1 and x2, y2 and x2, w6, w7, w8, a)
            vstore_n(out, ob + ox * c, _dw_out(a, vlo, vhi, rnd), nv)


@kernel(fastmath=FAST_F32)
def _dw_f32_rows5(x, w, b, vlo, vhi, sh, sw, dh, dw, pad_t, pad_l, oxa, oxb, r0, r1, cc, nv, rnd, out):
    """Output rows r0..r1, 16 channels from cc, 5x5 filter (as _dw_f32_rows3)."""
    h, wd, c = x.shape[1], x.shape[2], x.shape[3]
    oh, ow = out.shape[1], out.shape[2]
    bv = vload_n(b, cc, nv)
    ws = 5 * c
    w00 = vload_n(w, cc, nv)
    w10 = vload_n(w, ws + cc, nv)
    w20 = vload_n(w, 2 * ws + cc, nv)
    w30 = vload_n(w, 3 * ws + cc, nv)
    w40 = vload_n(w, 4 * ws + cc, nv)
    w01 = vload_n(w, c + cc, nv)
    w11 = vload_n(w, ws + c + cc, nv)
    w21 = vload_n(w, 2 * ws + c + cc, nv)
    w31 = vload_n(w, 3 * ws + c + cc, nv)
    w41 = vload_n(w, 4 * ws + c + cc, nv)
    w02 = vload_n(w, 2 * c + cc, nv)
    w12 = vload_n(w, ws + 2 * c + cc, nv)
    w22 = vload_n(w, 2 * ws + 2 * c + cc, nv)
    w32 = vload_n(w, 3 * ws + 2 * c + cc, nv)
    w42 = vload_n(w, 4 * ws + 2 * c + cc, nv)
    w03 = vload_n(w, 3 * c + cc, nv)
    w13 = vload_n(w, ws + 3 * c + cc, nv)
    w23 = vload_n(w, 2 * ws + 3 * c + cc, nv)
    w33 = vload_n(w, 3 * ws + 3 * c + cc, nv)
    w43 = vload_n(w, 4 * ws + 3 * c + cc, nv)
    w04 = vload_n(w, 4 * c + cc, nv)
    w14 = vload_n(w, ws + 4 * c + cc, nv)
    w24 = vload_n(w, 2 * ws + 4 * c + cc, nv)
    w34 = vload_n(w, 3 * ws + 4 * c + cc, nv)
    w44 = vload_n(w, 4 * ws + 4 * c + cc, nv)
    rs = dh * wd * c
    ps = sw * c
    kxs = dw * c
    full = nv == 16
    for r in range(r0, r1):
        ky0, ky1, xb = _dw_row_setup(r, oh, sh, pad_t, h, wd, c, 5, dh)
        y0 = ky0 <= 0 and 0 < ky1
        y1 = ky0 <= 1 and 1 < ky1
        y2 = ky0 <= 2 and 2 < ky1
        y3 = ky0 <= 3 and 3 < ky1
        y4 = ky0 <= 4 and 4 < ky1
        ob = r * ow * c + cc
        p = xb + (oxa * sw - pad_l) * c + cc
        o = ob + oxa * c
        nx = oxb - oxa
        while full and y0 and y1 and y2 and y3 and y4 and nx >= 4:   # 16 channels, 5 rows, 4 pixels at a time
            a = _col5_full(x, p, rs, w00, w10, w20, w30, w40, bv)
            b1 = _col5_full(x, p + ps, rs, w00, w10, w20, w30, w40, bv)
            b2 = _col5_full(x, p + 2 * ps, rs, w00, w10, w20, w30, w40, bv)
            b3 = _col5_full(x, p + 3 * ps, rs, w00, w10, w20, w30, w40, bv)
            q = p + kxs
            a = _col5_full(x, q, rs, w01, w11, w21, w31, w41, a)
            b1 = _col5_full(x, q + ps, rs, w01, w11, w21, w31, w41, b1)
            b2 = _col5_full(x, q + 2 * ps, rs, w01, w11, w21, w31, w41, b2)
            b3 = _col5_full(x, q + 3 * ps, rs, w01, w11, w21, w31, w41, b3)
            q += kxs
            a = _col5_full(x, q, rs, w02, w12, w22, w32, w42, a)
            b1 = _col5_full(x, q + ps, rs, w02, w12, w22, w32, w42, b1)
            b2 = _col5_full(x, q + 2 * ps, rs, w02, w12, w22, w32, w42, b2)
            b3 = _col5_full(x, q + 3 * ps, rs, w02, w12, w22, w32, w42, b3)
            q += kxs
            a = _col5_full(x, q, rs, w03, w13, w23, w33, w43, a)
            b1 = _col5_full(x, q + ps, rs, w03, w13, w23, w33, w43, b1)
            b2 = _col5_full(x, q + 2 * ps, rs, w03, w13, w23, w33, w43, b2)
            b3 = _col5_full(x, q + 3 * ps, rs, w03, w13, w23, w33, w43, b3)
            q += kxs
            a = _col5_full(x, q, rs, w04, w14, w24, w34, w44, a)
            b1 = _col5_full(x, q + ps, rs, w04, w14, w24, w34, w44, b1)
            b2 = _col5_full(x, q + 2 * ps, rs, w04, w14, w24, w34, w44, b2)
            b3 = _col5_full(x, q + 3 * ps, rs, w04, w14, w24, w34, w44, b3)
            vstore(out, o, _dw_out(a, vlo, vhi, rnd))
            vstore(out, o + c, _dw_out(b1, vlo, vhi, rnd))
            vstore(out, o + 2 * c, _dw_out(b2, vlo, vhi, rnd))
            vstore(out, o + 3 * c, _dw_out(b3, vlo, vhi, rnd))
            p += 4 * ps
            o += 4 * c
            nx -= 4
        for ox in range(ow):
            if ox >= oxb - nx and ox < oxb:
                inner = True
            elif ox >= oxa and ox < oxb:
                continue                           # done above
            else:
                inner = False
            ix = ox * sw - pad_l
            x0 = inner or (ix >= 0 and ix < wd)
            x1 = inner or (ix + dw >= 0 and ix + dw < wd)
            x2 = inner or (ix + 2 * dw >= 0 and ix + 2 * dw < wd)
            x3 = inner or (ix + 3 * dw >= 0 and ix + 3 * dw < wd)
            x4 = inner or (ix + 4 * dw >= 0 and ix + 4 * dw < wd)
            p = xb + ix * c + cc
            a = _col5_f32(x, p, rs, nv, y0 and x0, y1 and x0, y2 and x0, y3 and x0, y4 and x0,
                          w00, w10, w20, w30, w40, bv)
            a = _col5_f32(x, p + kxs, rs, nv, y0 and x1, y1 and x1, y2 and x1, y3 and x1, y4 and x1,
                          w01, w11, w21, w31, w41, a)
            a = _col5_f32(x, p + 2 * kxs, rs, nv, y0 and x2, y1 and x2, y2 and x2, y3 and x2, y4 and x2,
                          w02, w12, w22, w32, w42, a)
            a = _col5_f32(x, p + 3 * kxs, rs, nv, y0 and x3, y1 and x3, y2 and x3, y3 and x3, y4 and x3,
                          w03, w13, w23, w33, w43, a)
            a = _col5_f32(x, p + 4 * kxs, rs, nv, y0 and x4, y1 and x4, y2 and x4, y3 and x4, y4 and x4,
                          w04, w14, w24, w34, w44, a)
            vstore_n(out, ob + ox * c, _dw_out(a, vlo, vhi, rnd), nv)


@kernel(fastmath=FAST_F32)
def _dw_f32_rowsk(x, w, b, vlo, vhi, sh, sw, dh, dw, pad_t, pad_l, oxa, oxb, r0, r1, cc, nv, rowmajor, rnd, out):
    """Output rows r0..r1, 16 channels from cc, any filter size: the in-bounds taps,
    column-major (kx outer) or, rowmajor, row-major (ky outer)."""
    h, wd, c = x.shape[1], x.shape[2], x.shape[3]
    kh, kw = w.shape[0], w.shape[1]
    oh, ow = out.shape[1], out.shape[2]
    bv = vload_n(b, cc, nv)
    rs = dh * wd * c
    for r in range(r0, r1):
        ky0, ky1, xb = _dw_row_setup(r, oh, sh, pad_t, h, wd, c, kh, dh)
        ob = r * ow * c + cc
        for ox in range(ow):
            acc = bv
            border = ox < oxa or ox >= oxb
            if rowmajor:
                for ky in range(ky0, ky1):
                    for kx in range(kw):
                        ix = ox * sw + kx * dw - pad_l
                        if border and (ix < 0 or ix >= wd):
                            continue
                        acc = vfma(vload_n(x, xb + ky * rs + ix * c + cc, nv),
                                   vload_n(w, (ky * kw + kx) * c + cc, nv), acc)
            else:
                for kx in range(kw):
                    ix = ox * sw + kx * dw - pad_l
                    if border and (ix < 0 or ix >= wd):
                        continue
                    p = xb + ky0 * rs + ix * c + cc
                    for ky in range(ky0, ky1):
                        acc = vfma(vload_n(x, p, nv), vload_n(w, (ky * kw + kx) * c + cc, nv), acc)
                        p += rs
            vstore_n(out, ob + ox * c, _dw_out(acc, vlo, vhi, rnd), nv)


@kernel(fastmath=FAST_F32)
def _dw_f32_rows(x, w, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, r0, r1, c0, c1, rowmajor, rnd, out):
    """Loop order: bands of output rows (_dw_band_rows), 16-channel blocks, rows,
    pixels: a block's weights stay in registers over the band (3x3, 5x5)."""
    wd, c = x.shape[2], x.shape[3]
    kh, kw = w.shape[0], w.shape[1]
    ow = out.shape[2]
    oxa, oxb = _dw_interior_cols(wd, kw, sw, dw, pad_l, ow)
    vlo = vsplat(lo)
    vhi = vsplat(hi)
    band = _dw_band_rows(sh, wd, c, 4)
    for rb in range(r0, r1, band):
        re = min(r1, rb + band)
        for cc in range(c0, c1, 16):
            nv = min(16, c1 - cc)
            if kh == 3 and kw == 3 and not rowmajor:
                _dw_f32_rows3(x, w, b, vlo, vhi, sh, sw, dh, dw, pad_t, pad_l, oxa, oxb, rb, re, cc, nv, rnd, out)
            elif kh == 5 and kw == 5 and not rowmajor:
                _dw_f32_rows5(x, w, b, vlo, vhi, sh, sw, dh, dw, pad_t, pad_l, oxa, oxb, rb, re, cc, nv, rnd, out)
            else:
                _dw_f32_rowsk(x, w, b, vlo, vhi, sh, sw, dh, dw, pad_t, pad_l, oxa, oxb, rb, re, cc, nv, rowmajor,
                              rnd, out)


@kernel(fastmath=FAST_F32)
def dwconv_f32_f32_f32_rows_minmax(x, w, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, r0, r1, c0, c1, out, rnd=False):
    """dwconv_f32_f32_f32_minmax restricted to output rows r0..r1 (rows of
    the (N*OH) flattened batch x height axis) and channels c0..c1; the rest of
    out is not touched.  Every output element gets the same operations in the
    same order as in the full kernel (used by the multi-threaded driver)."""
    _dw_f32_rows(x, w, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, r0, r1, c0, c1, False, rnd, out)


@kernel(fastmath=FAST_F32)
def dwconv_f32_f32_f32_rowmajor_minmax(x, w, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, out, rnd=False):
    """dwconv_f32_f32_f32_minmax with the taps in row-major order (ky outer, kx
    inner): XNNPack's order when it runs a depthwise conv as a grouped
    convolution (depth multiplier > 1, more than 25 taps).  Reference:
    kernels/reference/dwconv.py"""
    dwconv_f32_f32_f32_rowmajor_rows_minmax(x, w, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi,
                                            0, out.shape[0] * out.shape[1], 0, out.shape[3], out, rnd)


@kernel(fastmath=FAST_F32)
def dwconv_f32_f32_f32_rowmajor_rows_minmax(x, w, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, r0, r1, c0, c1, out,
                                            rnd=False):
    """dwconv_f32_f32_f32_rowmajor_minmax on rows r0..r1 and channels c0..c1."""
    _dw_f32_rows(x, w, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, r0, r1, c0, c1, True, rnd, out)


@kernel(fastmath=FAST_F32)
def dwconv_f32_f32_f32_dm_minmax(x, w, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, out):
    """Depthwise conv with depth multiplier dm = C_out // C_in > 1.

    Same arguments as dwconv_f32_f32_f32_minmax, w: (KH, KW, C_in*dm),
    out channel oc = ic*dm + m reads input channel ic.
    Reference: kernels/reference/dwconv.py
    """
    n_b, h, wd, cin = x.shape
    kh, kw, cout = w.shape
    dm = cout // cin
    oh, ow = out.shape[1], out.shape[2]
    for n in range(n_b):
        for oy in range(oh):
            orow = out[n, oy]
            for ox in range(ow):
                for ch in range(cout):
                    orow[ox, ch] = b[ch]
            for kx in range(kw):
                off = kx * dw - pad_l
                for ky in range(kh):
                    iy = oy * sh - pad_t + ky * dh
                    if iy < 0 or iy >= h:
                        continue
                    xrow = x[n, iy]
                    ox0 = 0 if off >= 0 else (-off + sw - 1) // sw
                    ox1 = min(ow, (wd - 1 - off) // sw + 1) if wd - 1 - off >= 0 else 0
                    wk = w[ky, kx]
                    for ox in range(ox0, ox1):
                        xp = xrow[ox * sw + off]
                        op = orow[ox]
                        for ic in range(cin):
                            xv = xp[ic]
                            for m in range(dm):
                                op[ic * dm + m] += xv * wk[ic * dm + m]
            for ox in range(ow):
                op = orow[ox]
                for ch in range(cout):
                    op[ch] = min(max(op[ch], lo), hi)


@kernel
def dw_expand_channels(x, dm, out):
    """out[..., ic*dm + m] = x[..., ic] (m < dm): a depthwise conv's input with its
    depth multiplier expanded, so the dm == 1 kernels serve any dm.
    x: (..., C) any dtype; out: (..., C*dm) same dtype, both C-contiguous."""
    c = x.shape[-1]
    xf = x.reshape(-1)
    of = out.reshape(-1)
    for p in range(xf.size // c):
        xr = xf[p * c:(p + 1) * c]
        orow = of[p * c * dm:(p + 1) * c * dm]
        for ic in range(c):
            v = xr[ic]
            for m in range(dm):
                orow[ic * dm + m] = v
