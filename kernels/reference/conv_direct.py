"""NumPy twins of kernels/conv_direct.py (float64 products)."""
import numpy as np

from .gemm import im2col_f32


def pack_direct(w, bias, np_, out):
    cout, k = w.shape
    rows = np.zeros((k + 1, np_), np.float32)
    rows[0, :cout] = bias
    rows[1:, :cout] = np.asarray(w, np.float32).T
    out[:] = rows.reshape(-1)


def direct_offsets(w, cin, kh, kw, dh, dw, offs, tky, tkx, tc):
    ky, kx, c = np.meshgrid(np.arange(kh), np.arange(kw), np.arange(cin), indexing="ij")
    tky[:], tkx[:], tc[:] = ky.reshape(-1), kx.reshape(-1), c.reshape(-1)
    offs[:] = (tky * dh * w + tkx * dw) * cin + tc


def conv2d_direct_f32_minmax(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cout, wp, np_, offs,
                             tky, tkx, tc, lo, hi, out, rnd=False):
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
