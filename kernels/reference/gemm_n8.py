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


def interleave_rows2(a, lda, m, k, out):
    rows = np.stack([a[i * lda:i * lda + k] for i in range(m)] or [np.zeros(k, np.float32)])
    if m % 2:
        rows = np.concatenate([rows, rows[-1:]])
    out[:rows.size] = rows.reshape(len(rows) // 2, 2, k).transpose(0, 2, 1).reshape(-1)


def _deinterleave(a2, m, k):
    if k == 0:
        return np.zeros((m, 0), np.float32)
    pairs = a2[:(m + 1) // 2 * 2 * k].reshape((m + 1) // 2, k, 2).transpose(0, 2, 1).reshape(-1, k)
    return pairs[:m]


def gemm_f32_n8_minmax(m, n, k, a2, w, lo, hi, c, ldc, rnd=False):
    W, bias = _unpack(w, n, k)
    A = _deinterleave(a2, m, k).astype(np.float64)
    r = np.clip(A @ W.T.astype(np.float64) + bias, lo, hi).astype(np.float32)
    if rnd:
        with np.errstate(over="ignore"):           # beyond 65504: inf, as fp16 emulation
            r = r.astype(np.float16).astype(np.float32)
    for i in range(m):
        c[i * ldc:i * ldc + n] = r[i]


def im2col_pairs_f32(x, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, r0, nrows, out):
    kdim = kh * kw * cin
    col = np.zeros(nrows * kdim, np.float32)
    im2col_f32(x, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, 0, cin, r0, nrows, col)
    interleave_rows2(col, kdim, nrows, kdim, out)


def conv2d_f32_n8_minmax(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cout, wp, mb, lo, hi, ws,
                         out, rnd=False):
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
