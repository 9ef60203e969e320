"""NumPy twins of kernels/gemm_n8.py (float64 products; the layouts spelled out)."""
import numpy as np

from .gemm import im2col_f32


def pack_n8(w, bias, out):
    n, k = w.shape
    rows = np.zeros((k + 1, 8, 2), np.float32)
    rows[0, :n, :] = np.asarray(bias, np.float32)[:, None]
    rows[1:, :n, :] = np.asarray(w, np.float32).T[:, :, None]
    out[:] = rows.reshape(-1)


def _unpack(wp, n, k):
    rows = wp.reshape(k + 1, 8, 2)[:, :n, 0]
    return rows[1:].T, rows[0]              # W (n, k), bias (n,)


def rows2_band(oh, ow, cin, kh, kw, sh, sw, dh, dw, floats):
    hs = (oh + 1) // 2
    wq = (ow - 1) * sw + (kw - 1) * dw + 1
    band = max(1, min(hs, (floats // (wq * 2 * cin) - (kh - 1) * dh - 1) // sh + 1))
    return hs, wq, band, (band - 1) * sh + (kh - 1) * dh + 1


def rows2_offsets(cin, kw, dh, dw, wq, offs):
    ky, kx, c = np.unravel_index(np.arange(offs.size), (offs.size // (kw * cin), kw, cin))
    offs[:] = ((ky * dh * wq + kx * dw) * cin + c) * 2


def pad_rows2_f32(x, b, h, w, cin, pt, pl, i0, nr, hs, wq, out):
    img = np.asarray(x, np.float32).reshape(-1, h, w, cin)[b]
    band = np.zeros((nr, wq, cin, 2), np.float32)
    for t in range(2):
        for i in range(nr):
            iy = i0 + i + t * hs - pt
            if 0 <= iy < h:
                for j in range(wq):
                    if 0 <= j - pl < w:
                        band[i, j, :, t] = img[iy, j - pl]
    out[:band.size] = band.reshape(-1)


def conv2d_f32_n8_rows2_minmax(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cout, wp, offs, band,
                               lo, hi, xp, out, rnd=False):
    kdim = kh * kw * cin
    m = batch * oh * ow
    col = np.zeros(m * kdim, np.float32)
    im2col_f32(x, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, 0, cin, 0, m, col)
    W, bias = _unpack(wp, cout, kdim)
    r = np.clip(col.reshape(m, kdim).astype(np.float64) @ W.T.astype(np.float64) + bias, lo, hi).astype(np.float32)
    if rnd:
        with np.errstate(over="ignore"):           # beyond 65504: inf, as fp16 emulation
            r = r.astype(np.float16).astype(np.float32)
    out[:m * cout] = r.reshape(-1)
