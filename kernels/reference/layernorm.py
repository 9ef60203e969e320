"""NumPy twins of kernels/layernorm.py: the same float32 operations in the same order,
one row at a time (bit-exact with layer_norm_f32; layer_norm_f32_xnn's rsqrt14 +
Newton-Raphson step is taken as float64 1 / sqrt, within ~2 ulp of it)."""
import numpy as np

from ..layernorm import MEAN_EIGEN, MEAN_SEQ, MEAN_XNN  # noqa: F401

F32 = np.float32


def _rsum(v):
    """XNNPack's rsum order (mean_f32_xnn, inner == 1) of the float32 row v."""
    from .softmax import fold16_xnn
    r = v.shape[0]
    main, whole = r // 32 * 32, r // 16 * 16
    a0 = np.zeros(16, F32)
    a1 = np.zeros(16, F32)
    for b in range(0, main, 32):
        a0 = a0 + v[b:b + 16]
        a1 = a1 + v[b + 16:b + 32]
    if whole > main:
        a0 = a0 + v[main:main + 16]
    a0 = a0 + a1
    if whole < r:
        tail = np.zeros(16, F32)
        tail[:r - whole] = v[whole:]
        a0 = a0 + tail
    return F32(fold16_xnn(a0))


def _eigen_sum(v, head):
    """Eigen's SSE redux order (kernels/reduce.py eigen_sum_f32) of the float32 row v."""
    n = v.shape[0]
    h = min(head, n)
    body = (n - h) // 4 * 4
    if body == 0:
        s = v[0]
        for i in range(1, n):
            s = F32(s + v[i])
        return s
    pk = v[h:h + body].reshape(-1, 4)
    a0 = pk[0].copy()
    if len(pk) > 1:
        a1 = pk[1].copy()
        k = 2
        while k + 1 < len(pk):
            a0 = a0 + pk[k]
            a1 = a1 + pk[k + 1]
            k += 2
        a0 = a0 + a1
        if k < len(pk):
            a0 = a0 + pk[k]
    s = F32((a0[0] + a0[2]) + (a0[1] + a0[3]))
    for i in list(range(h)) + list(range(h + body, n)):
        s = F32(s + v[i])
    return s


def _mean(v, mode, row):
    c = v.shape[0]
    if mode == MEAN_XNN:
        return F32(_rsum(v) * (F32(1.0) / F32(c)))
    if mode == MEAN_EIGEN:
        return F32(_eigen_sum(v, (-row * c) % 4) / F32(c))
    s = v[0]
    for i in range(1, c):
        s = F32(s + v[i])
    return F32(s / F32(c))


def _layer_norm(a, b, gamma, beta, eps, mode, res, has_beta, out, rsqrt):
    c = gamma.shape[0]
    a2 = a.reshape(-1, c)
    x2 = (a2 + b.reshape(-1, c)) if res else a2
    o2 = out.reshape(-1, c)
    for row in range(x2.shape[0]):
        x = x2[row]
        mean = _mean(x, mode, row)
        d = x - mean
        var = _mean(d * d, mode, row)
        r = rsqrt(F32(var + F32(eps)))
        g = r * gamma
        o = (beta - mean * g) if has_beta else (-mean) * g
        o2[row] = x * g + o


def layer_norm_f32(a, b, gamma, beta, eps, mode, res, has_beta, ws, out):
    with np.errstate(all="ignore"):
        _layer_norm(a, b, gamma, beta, eps, mode, res, has_beta, out, lambda v: F32(F32(1.0) / np.sqrt(v)))


def layer_norm_f32_xnn(a, b, gamma, beta, eps, mode, res, has_beta, ws, out):
    with np.errstate(all="ignore"):
        _layer_norm(a, b, gamma, beta, eps, mode, res, has_beta, out,
                    lambda v: F32(1.0 / np.sqrt(np.float64(v))) if v != np.inf else F32(0.0))
