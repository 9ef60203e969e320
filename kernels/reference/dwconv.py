"""NumPy twins of kernels/dwconv.py: zero-pad the input, sum shifted slices."""
import numpy as np


def _dwconv(x, w, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, out):
    n, h, wd, cin = x.shape
    kh, kw, cout = w.shape
    dm = cout // cin
    oh, ow = out.shape[1], out.shape[2]
    # pad generously on every side so every tap reads zeros when out of bounds
    pt = max(pad_t, 0)
    pb = max(0, (oh - 1) * sh + (kh - 1) * dh - pad_t - h + 1)
    pl = max(pad_l, 0)
    pr = max(0, (ow - 1) * sw + (kw - 1) * dw - pad_l - wd + 1)
    xp = np.pad(x.astype(np.float64), ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    xr = np.repeat(xp, dm, axis=3)               # channel oc reads input oc // dm
    acc = np.zeros((n, oh, ow, cout))
    for ky in range(kh):
        for kx in range(kw):
            y0 = pt - pad_t + ky * dh
            x0 = pl - pad_l + kx * dw
            acc += xr[:, y0:y0 + (oh - 1) * sh + 1:sh, x0:x0 + (ow - 1) * sw + 1:sw, :] * w[ky, kx].astype(np.float64)
    out[...] = np.clip(acc + b, lo, hi).astype(np.float32)


def dwconv_f32_f32_f32_minmax(x, w, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, out):
    _dwconv(x, w, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, out)


def dwconv_f32_f32_f32_dm_minmax(x, w, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, out):
    _dwconv(x, w, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, out)


def dwconv_f32_f32_f32_rows_minmax(x, w, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, r0, r1, c0, c1, out):
    full = np.zeros_like(out)
    _dwconv(x, w, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, full)
    o2, f2 = out.reshape(-1, out.shape[2], out.shape[3]), full.reshape(-1, out.shape[2], out.shape[3])
    o2[r0:r1, :, c0:c1] = f2[r0:r1, :, c0:c1]


def dw_expand_channels(x, dm, out):
    out[...] = np.repeat(x, dm, axis=-1)


def dwconv_f32_f32_f32_rowmajor_minmax(x, w, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, out):
    _dwconv(x, w, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, out)


def dwconv_f32_f32_f32_rowmajor_rows_minmax(x, w, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, r0, r1, c0, c1, out):
    dwconv_f32_f32_f32_rows_minmax(x, w, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, r0, r1, c0, c1, out)
