"""NumPy twins of kernels/pool.py: one window at a time, clipped to the input."""
import numpy as np


def _windows(x, kh, kw, sh, sw, pad_t, pad_l, out):
    h, wd = x.shape[1], x.shape[2]
    for oy in range(out.shape[1]):
        for ox in range(out.shape[2]):
            y0, x0 = oy * sh - pad_t, ox * sw - pad_l
            yield oy, ox, x[:, max(y0, 0):min(y0 + kh, h), max(x0, 0):min(x0 + kw, wd), :]


def maxpool_nhwc_minmax(x, kh, kw, sh, sw, pad_t, pad_l, lo, hi, out):
    for oy, ox, win in _windows(x, kh, kw, sh, sw, pad_t, pad_l, out):
        out[:, oy, ox, :] = np.clip(win.max(axis=(1, 2)), lo, hi)


def avgpool_f32_minmax(x, kh, kw, sh, sw, pad_t, pad_l, lo, hi, out):
    for oy, ox, win in _windows(x, kh, kw, sh, sw, pad_t, pad_l, out):
        out[:, oy, ox, :] = np.clip(win.astype(np.float64).mean(axis=(1, 2)), lo, hi)


def avgpool_q_minmax(x, kh, kw, sh, sw, pad_t, pad_l, lo, hi, acc, out):
    for oy, ox, win in _windows(x, kh, kw, sh, sw, pad_t, pad_l, out):
        acc = win.astype(np.int64).sum(axis=(1, 2))
        cnt = win.shape[1] * win.shape[2]
        # mean rounded half away from zero, exactly: sign * floor((2|acc| + cnt) / (2 cnt))
        v = np.sign(acc) * ((2 * np.abs(acc) + cnt) // (2 * cnt))
        out[:, oy, ox, :] = np.clip(v, lo, hi)


def maxpool_f32_minmax(x, kh, kw, sh, sw, pad_t, pad_l, lo, hi, out):
    maxpool_nhwc_minmax(x, kh, kw, sh, sw, pad_t, pad_l, lo, hi, out)
