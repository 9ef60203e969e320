"""NumPy twin of kernels/deconv.py: full (uncropped) scatter with einsum, then crop."""
import numpy as np


def deconv_f32_f32_f32_minmax(x, w, b, sh, sw, pad_t, pad_l, lo, hi, out):
    n, h, wd, cin = x.shape
    kh, kw, _, cout = w.shape
    oh, ow = out.shape[1], out.shape[2]
    # full output covers every scattered position; shift by the padding, then crop
    fh = max((h - 1) * sh + kh, pad_t + oh)
    fw = max((wd - 1) * sw + kw, pad_l + ow)
    full = np.zeros((n, fh + max(0, -pad_t), fw + max(0, -pad_l), cout))
    sy, sx = max(0, -pad_t), max(0, -pad_l)
    contrib = np.einsum("nhwi,yxio->nhwyxo", x.astype(np.float64), w.astype(np.float64))
    for ky in range(kh):
        for kx in range(kw):
            full[:, sy + ky:sy + ky + (h - 1) * sh + 1:sh, sx + kx:sx + kx + (wd - 1) * sw + 1:sw, :] += contrib[:, :, :, ky, kx, :]
    y0, x0 = sy + pad_t, sx + pad_l
    out[...] = np.clip(full[:, y0:y0 + oh, x0:x0 + ow, :] + b, lo, hi).astype(np.float32)


def deconv_qdu8_qc8w_f32_minmax(xq, scale, zpu, w, ws, b, sh, sw, pad_t, pad_l, tfl, lo, hi, acc, out):
    """int64 scatter of (q - zp) * w; tfl: float32 accumulation of each
    contribution * ws * s in scatter order (input row, column, channel)."""
    f = np.float32
    n_b, h, wd, cin = xq.shape
    kh, kw, _, cout = w.shape
    oh, ow = out.shape[1:3]
    for n in range(n_b):
        xs = xq[n].astype(np.int64) - int(zpu[n])
        a = np.zeros((oh, ow, cout), np.int64)
        o = np.zeros((oh, ow, cout), f)
        for iy in range(h):
            for ix in range(wd):
                for ic in range(cin):
                    for ky in range(kh):
                        for kx in range(kw):
                            oy, ox = iy * sh - pad_t + ky, ix * sw - pad_l + kx
                            if 0 <= oy < oh and 0 <= ox < ow:
                                p = xs[iy, ix, ic] * w[ky, kx, ic].astype(np.int64)
                                if tfl:
                                    o[oy, ox] = (o[oy, ox] + ((p.astype(f) * ws).astype(f) * scale[n]).astype(f)).astype(f)
                                else:
                                    a[oy, ox] += p
        if tfl:
            y = (o + b).astype(f)
        else:   # fma emulated in float64 (exact product, one rounding; see reference/qgemm.py)
            y = ((a.astype(f) * scale[n]).astype(f).astype(np.float64) * ws + b.astype(np.float64)).astype(f)
        out[n] = np.minimum(np.maximum(y, lo), hi).astype(f)


def deconv_f32_f32_f32_pixel_minmax(x, w, b, sh, sw, pad_t, pad_l, lo, hi, ws, out):
    assert w.shape[0] <= sh and w.shape[1] <= sw
    deconv_f32_f32_f32_minmax(x, w, b, sh, sw, pad_t, pad_l, lo, hi, out)


def deconv_f32_f32_f32_rows_minmax(x, w, b, sh, sw, pad_t, pad_l, lo, hi, ws, out):
    """w, b padded to a multiple of 8 output channels (rows_pack_w); ws unused."""
    cout = out.shape[3]
    deconv_f32_f32_f32_minmax(x, w[..., :cout], b[:cout], sh, sw, pad_t, pad_l, lo, hi, out)


def deconv_qdu8_qc8w_f32_exact_minmax(xq, scale, zpu, wf, ws, b, zb, sh, sw, pad_t, pad_l, rows, lo, hi,
                                      xf, scr, accf, out):
    """deconv_qdu8_qc8w_f32_minmax (tfl false) on the float32-held integer weights."""
    cout = out.shape[3]
    w = np.asarray(wf[..., :cout]).astype(np.int64)
    deconv_qdu8_qc8w_f32_minmax(xq, scale, zpu, w, ws, b, sh, sw, pad_t, pad_l, False, lo, hi, None, out)


def deconv_q8_q8_q8_exact(x, zx, wf, zb, bias, sh, sw, pad_t, pad_l, rows, mult, lsh, rsh, nup, fscale, fp32, zp,
                          lo, hi, xf, scr, accf, acc, out):
    """int64 scatter of (x - zx) * (w - zw), + bias, then reference/qs8.py's requantization."""
    from .qs8 import requant_i32_q8_rows
    n_b, h, wd, cin = x.shape
    oh, ow, cout = out.shape[1:]
    w = np.asarray(wf[..., :cout]).astype(np.int64)
    kh, kw = w.shape[:2]
    for n in range(n_b):
        xs = x[n].astype(np.int64) - int(zx)
        a = np.zeros((oh, ow, cout), np.int64) + np.asarray(bias, np.int64)
        for iy in range(h):
            for ix in range(wd):
                for ky in range(kh):
                    for kx in range(kw):
                        oy, ox = iy * sh - pad_t + ky, ix * sw - pad_l + kx
                        if 0 <= oy < oh and 0 <= ox < ow:
                            a[oy, ox] += xs[iy, ix] @ w[ky, kx]
        o = np.zeros(oh * ow * cout, out.dtype)
        requant_i32_q8_rows(a.reshape(-1).astype(np.int32), cout, oh * ow, cout, mult, lsh, rsh, nup, fscale, fp32,
                            zp, lo, hi, o, cout)
        out[n] = o.reshape(oh, ow, cout)
