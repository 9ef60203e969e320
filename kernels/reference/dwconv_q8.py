"""NumPy twins of kernels/dwconv_q8.py: int64 sums over in-bounds taps, then
the requantization (QS8 / QU8) or TFLite's hybrid float epilogue (QD8)."""
import numpy as np

from .qs8 import _requant


def _taps_i64(x, zero, w, sh, sw, dh, dw, pad_t, pad_l, oh, ow):
    """sum over in-bounds taps of w * (x - zero), int64 (N, OH, OW, C); zero: per image (N,)."""
    nb, h, wd, c = x.shape
    kh, kw = w.shape[:2]
    xs = x.astype(np.int64) - np.asarray(zero, np.int64).reshape(-1, 1, 1, 1)
    a = np.zeros((nb, oh, ow, c), np.int64)
    for ky in range(kh):
        for kx in range(kw):
            for oy in range(oh):
                iy = oy * sh - pad_t + ky * dh
                if not 0 <= iy < h:
                    continue
                for ox in range(ow):
                    ix = ox * sw - pad_l + kx * dw
                    if 0 <= ix < wd:
                        a[:, oy, ox] += xs[:, iy, ix] * w[ky, kx].astype(np.int64)
    return a


def _rows(full, r0, r1, c0, c1, out):
    o2, f2 = out.reshape(-1, out.shape[2], out.shape[3]), full.reshape(-1, out.shape[2], out.shape[3])
    o2[r0:r1, :, c0:c1] = f2[r0:r1, :, c0:c1]


def dwconv_q8_q8_q8_minmax(x, zx, w, init, sh, sw, dh, dw, pad_t, pad_l, mult, lsh, rsh, nup, fscale, fp32, zp,
                           lo, hi, acc, out):
    # init = bias - zx * sum_taps w  ->  bias = init + zx * sum_taps w (mod 2^32)
    bias = init.astype(np.int64) + int(zx) * w.astype(np.int64).sum(axis=(0, 1))
    a = _taps_i64(x, np.full(x.shape[0], int(zx)), w, sh, sw, dh, dw, pad_t, pad_l, out.shape[1], out.shape[2]) + bias
    a = (a + 2 ** 31) % 2 ** 32 - 2 ** 31
    out[...] = _requant(a, mult, lsh, rsh, nup, fscale, fp32, zp, lo, hi)


def dwconv_q8_q8_q8_rows_minmax(x, zx, w, init, sh, sw, dh, dw, pad_t, pad_l, mult, lsh, rsh, nup, fscale, fp32, zp,
                                lo, hi, r0, r1, c0, c1, acc, out):
    full = np.zeros_like(out)
    dwconv_q8_q8_q8_minmax(x, zx, w, init, sh, sw, dh, dw, pad_t, pad_l, mult, lsh, rsh, nup, fscale, fp32, zp,
                           lo, hi, acc, full)
    _rows(full, r0, r1, c0, c1, out)


def dwconv_qdu8_qc8w_f32_minmax(xq, scale, zpu, w, wsum, ws, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, acc, out):
    a = _taps_i64(xq, zpu, w, sh, sw, dh, dw, pad_t, pad_l, out.shape[1], out.shape[2])
    f = np.float32
    y = ((a.astype(f) * ws).astype(f) * scale.reshape(-1, 1, 1, 1)).astype(f) + b
    out[...] = np.minimum(np.maximum(y, lo), hi).astype(f)


def dwconv_qdu8_qc8w_f32_rows_minmax(xq, scale, zpu, w, wsum, ws, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi,
                                     r0, r1, c0, c1, acc, out):
    full = np.zeros_like(out)
    dwconv_qdu8_qc8w_f32_minmax(xq, scale, zpu, w, wsum, ws, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, acc, full)
    _rows(full, r0, r1, c0, c1, out)
