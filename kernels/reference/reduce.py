"""NumPy twins of kernels/reduce.py."""
import numpy as np


def reduce_x(x, op, init, out):
    init = np.asarray(init, out.dtype)
    if op == 0:
        out[...] = init + x.sum(axis=1, dtype=out.dtype)
    elif op == 1:
        out[...] = np.maximum(init, x.max(axis=1, initial=init))
    elif op == 2:
        out[...] = np.minimum(init, x.min(axis=1, initial=init))
    else:
        out[...] = init * x.prod(axis=1, dtype=out.dtype)


def reduce_f32(x, outer, r, inner, op, init, out):
    o = np.zeros((outer, inner), np.float32)
    reduce_x(x.reshape(outer, r, inner), op, init, o)
    out[...] = o.reshape(-1)


def reduce_mean_f32(x, out):
    out[...] = (x.astype(np.float64).sum(axis=1) / x.shape[1]).astype(np.float32)


def reduce_any_b(x, out):
    out[...] = x.any(axis=1)


def _mbqm(x, m, shift):
    """TFLite MultiplyByQuantizedMultiplier (double rounding) on int64 arrays holding int32 values."""
    x = np.asarray(x, np.int64)
    xs = ((x << max(shift, 0)) + 2**31) % 2**32 - 2**31
    ab = xs * int(m)
    t = ab + np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    q = np.sign(t) * (np.abs(t) >> 31)
    q = np.where((xs == -2**31) & (m == -2**31), 2**31 - 1, q)
    e = max(-shift, 0)
    mask = (1 << e) - 1
    return (q >> e) + ((q & mask) > (mask >> 1) + (q < 0))


def _mbqm_neon(x, m, shift):
    r = min(-1, shift)
    xs = ((np.asarray(x, np.int64) << (shift - r)) + 2**31) % 2**32 - 2**31
    h = np.clip((2 * xs * int(m) + 2**31) >> 32, -2**31, 2**31 - 1)
    return (h + (1 << (-r - 1))) >> -r


def mean_q_mbqm(x, sub, multiplier, shift, add, nvec, qmin, qmax, out):
    d = x.astype(np.int64).sum(axis=1) - sub
    d = (d + 2**31) % 2**32 - 2**31
    v = _mbqm(d, multiplier, int(shift))
    v[:, :nvec] = _mbqm_neon(d[:, :nvec], multiplier, int(shift))
    out[...] = np.clip(v + add, qmin, qmax)


def mean_q_xnn(x, scale, bias, qmin, qmax, out):
    y = x.astype(np.int64).sum(axis=1).astype(np.float32) * np.float32(scale)
    out[...] = np.clip(np.rint(y + np.float32(bias)), qmin, qmax)


def sum_q_f32(x, scale, bias, out_zp, qmin, qmax, out):
    acc = x.astype(np.int64).sum(axis=1).astype(np.int32)
    y = acc.astype(np.float32) * np.float32(scale) + np.float32(bias)
    r = np.sign(y) * np.floor(np.abs(y.astype(np.float64)) + 0.5)   # roundf; exact in float64
    out[...] = np.clip(r.astype(np.int64) + out_zp, qmin, qmax)


def mean_f32_xnn(x, scale, out):
    """XNNPack's float32 MEAN on AVX-512, bit-exact (float32 arithmetic in its order):
    inner > 1: per element, from +0, add the r terms in index order, times scale;
    inner == 1: the r terms of a row in the lanes of two 16-lane accumulators (u32_acc2),
    XNNPack's lane fold, times scale.  (scale None: float32(1) / float32(r).)"""
    x = np.asarray(x, np.float32)
    outer, r, inner = x.shape
    f32 = np.float32
    scale = f32(1.0) / f32(r) if scale is None else f32(scale)
    with np.errstate(all="ignore"):
        _mean_f32_xnn(x, scale, out)


def _mean_f32_xnn(x, scale, out):
    outer, r, inner = x.shape
    f32 = np.float32
    if inner > 1:
        acc = np.zeros((outer, inner), f32)
        for k in range(r):
            acc = x[:, k, :] + acc
        out[...] = acc * scale
        return
    from .softmax import fold16_xnn
    v = x[:, :, 0]
    main, whole = r // 32 * 32, r // 16 * 16
    a0 = np.zeros((outer, 16), f32)
    a1 = np.zeros((outer, 16), f32)
    for b in range(0, main, 32):
        a0 = a0 + v[:, b:b + 16]
        a1 = a1 + v[:, b + 16:b + 32]
    if whole > main:
        a0 = a0 + v[:, main:main + 16]
    a0 = a0 + a1
    if whole < r:
        tail = np.zeros((outer, 16), f32)
        tail[:, :r - whole] = v[:, whole:]
        a0 = a0 + tail
    out[:, 0] = fold16_xnn(a0) * scale


def exact_mean(x, out):
    """Plain float64 mean over the middle axis, rounded once."""
    out[...] = x.astype(np.float64).mean(axis=1).astype(np.float32)


def mean_f32_rows_eigen(x, out):
    """Plain float64 mean of each row of (rows, d)."""
    out[...] = x.astype(np.float64).mean(axis=1).astype(np.float32)


def mean_f32_general(x, out):
    """Plain float64 mean over the middle axis of (outer, r, inner)."""
    out[...] = x.astype(np.float64).mean(axis=1).astype(np.float32)
