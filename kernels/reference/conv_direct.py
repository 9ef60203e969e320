"""NumPy twins of kernels/conv_direct.py (float64 products)."""
import numpy as np

from .gemm import im2col_f32


def pack_direct(w, bias, np_, out):
    cout, k = w.shape
    rows = np.zeros((k + 1, np_), np.float32)
    rows[0, :cout] = bias
    rows[1:, :cout] = np.asarray(w, np.float32).T
    out[:] = rows.reshape(-1)


def direct_offsets(w, cin, kh, kw, dh, dw, offs):
    ky, kx, c = np.meshgrid(np.arange(kh), np.arange(kw), np.arange(cin), indexing="ij")
    offs[:] = ((ky * dh * w + kx * dw) * cin + c).reshape(-1)


def pad_band(oh, ow, cin, kh, kw, sh, sw, dh, dw, floats):
    wq = (ow - 1) * sw + (kw - 1) * dw + 1
    band = max(1, min(oh, (floats // (wq * cin) - (kh - 1) * dh - 1) // sh + 1))
    return wq, band, (band - 1) * sh + (kh - 1) * dh + 1


def pad_rows_f32(x, b, h, w, cin, pt, pl, i0, nr, wq, out):
    img = np.asarray(x, np.float32).reshape(-1, h, w, cin)[b]
    rows = np.zeros((nr, wq, cin), np.float32)
    for i in range(nr):
        iy = i0 + i - pt
        if 0 <= iy < h:
            for j in range(wq):
                if 0 <= j - pl < w:
                    rows[i, j] = img[iy, j - pl]
    out[:rows.size] = rows.reshape(-1)


def conv2d_direct_pad_f32_minmax(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cout, wp, np_, offs,
                                 band, lo, hi, xp, out, rnd=False):
    k = kh * kw * cin
    m = batch * oh * ow
    col = np.zeros(m * k, np.float32)
    im2col_f32(x, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, 0, cin, 0, m, col)
    rows = wp.reshape(k + 1, np_)
    r = col.reshape(m, k).astype(np.float64) @ rows[1:, :cout].astype(np.float64) + rows[0, :cout]
    r = np.clip(r, lo, hi).astype(np.float32)
    if rnd:
        with np.errstate(over="ignore"):
            r = r.astype(np.float16).astype(np.float32)
    out[:m * cout] = r.reshape(-1)
