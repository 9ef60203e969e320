"""NumPy twins of kernels/activation.py (float64 math, rounded to float32 once)."""
import math

import numpy as np

from ..activation import (ELU, GELU_ERF, GELU_TANH, HARD_SWISH, LEAKY_RELU, LOGISTIC, RELU, RELU6,  # noqa: F401
                          RELU_N1_TO_1, TANH)


def _erfc(x):
    return np.vectorize(math.erfc, otypes=[np.float64])(x)


def activation_f32(op, alpha, x, out):
    d = x.astype(np.float64)
    with np.errstate(all="ignore"):
        if op == LOGISTIC:
            r = 1.0 / (1.0 + np.exp(-d))
        elif op == TANH:
            r = np.tanh(d)
        elif op == RELU:
            r = np.maximum(d, 0.0)
        elif op == RELU6:
            r = np.clip(d, 0.0, 6.0)
        elif op == RELU_N1_TO_1:
            r = np.clip(d, -1.0, 1.0)
        elif op == LEAKY_RELU:
            r = np.where(d > 0, d, d * np.float64(alpha))
        elif op == ELU:
            r = np.where(d >= 0, d, np.expm1(d))
        elif op == HARD_SWISH:
            r = d * np.clip(d + 3.0, 0.0, 6.0) / 6.0
        elif op == GELU_TANH:
            r = 0.5 * d * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (d + 0.044715 * d ** 3)))
        elif op == GELU_ERF:
            r = 0.5 * d * _erfc(-d / math.sqrt(2.0))
        else:
            raise ValueError(op)
    out[...] = r.astype(np.float32)


# ---------------------------------------------------------------- bit-exact float32 building blocks
#
# The XNNPack-exact kernels (``*_xnn``) are modelled here operation by operation in NumPy
# float32 arithmetic (IEEE single, one rounding per operation), so the twins below give the
# very bits the kernels must give.  Their agreement with exact math is checked separately
# (tests/kernels/test_kernels_activation.py, against the ``exact_*`` functions).

F32 = np.float32
_MIN_NORMAL = F32(1.1754943508222875e-38)


def ftz32(v):
    """Denormal lanes -> a zero of their sign (LiteRT runs XNNPack with FTZ/DAZ)."""
    v = np.asarray(v, F32)
    with np.errstate(all="ignore"):
        return np.where(np.abs(v) < _MIN_NORMAL, v * F32(0.0), v).astype(F32)


def fma32(a, b, c):
    """float32 a*b + c with one rounding: the product is exact in float64, the float64 sum is
    made round-to-odd (TwoSum error term), and rounding that to float32 is then correct
    (53 >= 24 + 2 bits).  inf / NaN follow float64 arithmetic."""
    a, b, c = (np.asarray(v, F32) for v in (a, b, c))
    with np.errstate(all="ignore"):
        p = a.astype(np.float64) * b.astype(np.float64)
        c64 = c.astype(np.float64)
        s = p + c64
        bb = s - p
        err = (p - (s - bb)) + (c64 - bb)
        even = (s.view(np.int64) & 1) == 0
        fix = np.isfinite(s) & (err != 0) & even
        s = np.where(fix, np.nextafter(s, np.where(err > 0, np.inf, -np.inf)), s)
        return s.astype(F32)


def bits32(v):
    return np.asarray(v, F32).view(np.int32)


def from_bits32(i):
    return np.asarray(i, np.int32).view(F32)


def scalef32(p, n):
    """AVX-512 vscalefps: p * 2**floor(n) rounded once, with Intel's special cases (NaN p and
    n = -inf give +0, n = +inf give +inf; inf * 2**-inf and 0 * 2**inf are NaN), then FTZ."""
    p, n = np.broadcast_arrays(np.asarray(p, F32), np.asarray(n, F32))
    with np.errstate(all="ignore"):
        k = np.clip(np.nan_to_num(np.floor(n.astype(np.float64)), nan=0.0, posinf=600, neginf=-600), -600, 600)
        r = np.ldexp(p.astype(np.float64), k.astype(np.int64)).astype(F32)   # exact, then one rounding
        pnan, nnan = np.isnan(p), np.isnan(n)
        pinf, ninf = np.isinf(p), np.isinf(n)
        r = np.where(ninf & ~pinf & ~pnan & (p != 0), np.where(n > 0, p * F32(np.inf), p * F32(0.0)), r)
        r = np.where((p == 0) & ninf & (n > 0), F32(np.nan), r)
        r = np.where(pinf & ninf & (n < 0), F32(np.nan), r)
        r = np.where(nnan & ~pnan, n + n, r)
        r = np.where(pnan, np.where(ninf, np.where(n < 0, F32(0.0), F32(np.inf)), p + p), r)
        return ftz32(r)


_S_MAGIC = F32(float.fromhex("0x1.8p18"))
_S_LOG2E = F32(float.fromhex("0x1.715476p0"))
_S_MINUS_LN2_HI = F32(-float.fromhex("0x1.62E430p-1"))
_S_MINUS_LN2_LO = F32(float.fromhex("0x1.05C61p-29"))
_S_C2 = F32(0.5)
_S_C1 = F32(float.fromhex("0x1.0000F6p0"))


def sigmoid_f32_xnn(table, x, out):
    """XNNPack f32-vsigmoid avx512f_rr2_lut32_p2_perm2_scalef_div, operation by operation
    (bit-exact): z = -|x|, 32-entry table, two-step reduction, degree-2 polynomial,
    e = scalef(p, n) (flushed), f = e / (e + 1), 1 - f for x without its sign bit."""
    x = np.asarray(x, F32)
    one = F32(1.0)
    with np.errstate(all="ignore"):
        z = from_bits32(bits32(x) | np.int32(-2147483648))
        nb = fma32(z, _S_LOG2E, _S_MAGIC)
        l = np.asarray(table, F32)[bits32(nb) & 31]
        n = nb - _S_MAGIC
        t = fma32(n, _S_MINUS_LN2_HI, z)
        t = fma32(n, _S_MINUS_LN2_LO, t)
        p = fma32(t, _S_C2, _S_C1)
        t = t * l
        p = fma32(t, p, l)
        e = scalef32(p, n)
        f = e / (e + one)
        out[...] = np.where(bits32(x) < 0, f, one - f)


def swish_f32_xnn(table, rnd, x, out):
    """x * sigmoid_f32_xnn(x), the sigmoid rounded to float32 first (LOGISTIC then MUL),
    and to fp16 when rnd (fp16 emulation)."""
    x = np.array(x, F32)
    s = np.empty_like(x)
    sigmoid_f32_xnn(table, x, s)
    if rnd:
        s = s.astype(np.float16).astype(F32)
    with np.errstate(all="ignore"):
        out[...] = x * s


def gelu_f32_xnn(coef, x, out):
    """XNNPack f32-vgelu / f32-vapproxgelu avx512f_rational_12_10_div with FTZ/DAZ, operation by
    operation (bit-exact): clamp, c*P(c^2) / Q(c^2) by FMA Horner steps, (0.5x) * (e + 1)."""
    coef = np.asarray(coef, F32)
    one, half = F32(1.0), F32(0.5)
    with np.errstate(all="ignore"):
        v = ftz32(x)
        c = np.where(v > coef[1], coef[1], v)
        c = np.where(c < coef[0], coef[0], c)
        c2 = ftz32(c * c)
        p = ftz32(fma32(c2, coef[2], coef[3]))
        for k in range(4, 8):
            p = ftz32(fma32(c2, p, coef[k]))
        p = ftz32(c * p)
        q = ftz32(fma32(c2, coef[8], coef[9]))
        for k in range(10, 13):
            q = ftz32(fma32(c2, q, coef[k]))
        q = ftz32(fma32(c2, q, one))
        e = ftz32(p / q)
        out[...] = ftz32(ftz32(v * half) * (e + one))


_T = [F32(v) for v in (7.9807181358e+00, 1.3412411511e-01, 3.5330520477e-03, 2.1235626264e-05,
                       1.4248920266e-08, 4.6745735407e-01, 2.6018999517e-02, 3.3472978976e-04,
                       8.1365948290e-07)]


def tanh_f32_xnn(x, out):
    """XNNPack f32-vtanh avx512f_rational_9_8_div with FTZ/DAZ, operation by operation (bit-exact)."""
    tmax, a3, a5, a7, a9, b2, b4, b6, b8 = _T
    one = F32(1.0)
    with np.errstate(all="ignore"):
        v = ftz32(x)
        c = np.where(v > tmax, tmax, v)
        c = np.where(c < -tmax, -tmax, c)
        c2 = ftz32(c * c)
        p = ftz32(fma32(c2, a9, a7))
        p = ftz32(fma32(c2, p, a5))
        p = ftz32(fma32(c2, p, a3))
        p = ftz32(fma32(c2, p, one))
        p = ftz32(c * p)
        q = ftz32(fma32(c2, b8, b6))
        q = ftz32(fma32(c2, q, b4))
        q = ftz32(fma32(c2, q, b2))
        q = ftz32(fma32(c2, q, one))
        out[...] = ftz32(p / q)


def hard_swish_f32_xnn(x, out):
    """XNNPack f32-vhswish (AVX-512) with FTZ/DAZ (bit-exact): x * min(max(fma(x, 1/6, 0.5), 0), 1)."""
    with np.errstate(all="ignore"):
        v = ftz32(x)
        a = ftz32(fma32(v, F32(1.0 / 6.0), F32(0.5)))
        a = np.where(a > 0, a, F32(0.0))
        a = np.where(a < 1, a, F32(1.0))
        out[...] = ftz32(v * a)


# ---------------------------------------------------------------- exact math (float64, rounded once)
# What the XNNPack / Eigen approximations approximate; tests bound the twins against these.

def exact_sigmoid(x, out):
    d = np.asarray(x).astype(np.float64)
    with np.errstate(all="ignore"):
        out[...] = (1.0 / (1.0 + np.exp(-d))).astype(np.float32)


def exact_gelu(approximate, x, out):
    d = np.asarray(x).astype(np.float64)
    if approximate:
        r = 0.5 * d * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (d + 0.044715 * d ** 3)))
    else:
        r = 0.5 * d * _erfc(-d / math.sqrt(2.0))
    out[...] = r.astype(np.float32)


def exact_tanh(x, out):
    out[...] = np.tanh(np.asarray(x).astype(np.float64)).astype(np.float32)


def exact_hard_swish(x, out):
    d = np.asarray(x).astype(np.float64)
    out[...] = (d * np.clip(d + 3.0, 0.0, 6.0) / 6.0).astype(np.float32)


# Twins of the LiteRT-builtin (Eigen) kernels: bit-exact models of Eigen's packet math
# (SSE, no FMA: one float32 rounding per multiply and add) on the whole packets of 4, and
# libm expf (float64 exp rounded once here) on the last size % 4 elements.

_EG_LOG2E = F32(1.44269504088896341)
_EG_C1 = F32(-0.693359375)
_EG_C2 = F32(2.12194440e-4)


def eigen_pexp(v):
    """Eigen pexp_float (non-FMA), bit-exact: y * 2**m rounded once, max(., v), 0 below -104."""
    v = np.asarray(v, F32)
    with np.errstate(all="ignore"):
        x = np.where(v < F32(88.723), v, F32(88.723))
        m = np.floor(x * _EG_LOG2E + F32(0.5))
        r = m * _EG_C1 + x
        r = m * _EG_C2 + r
        r2 = r * r
        p_even = r2 * F32(1.37449637986719608306884765625e-3) + F32(4.166965186595916748046875e-2)
        p_odd = r2 * F32(8.36894474923610687255859375e-3) + F32(0.16666518151760101318359375)
        p_even = r2 * p_even + F32(0.49999988079071044921875)
        y = r * p_odd + p_even
        y = r2 * y + (r + F32(1.0))
        k = np.nan_to_num(m, nan=0.0, posinf=0.0, neginf=0.0).astype(np.int64)
        e = np.ldexp(y.astype(np.float64), k).astype(F32)
        e = np.where(e > v, e, v)
        e = np.where(v < F32(-104.0), F32(0.0), e)
        return np.where(np.isnan(v), v, e)


def _load_expf():
    import ctypes
    import ctypes.util
    try:
        f = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6").expf
    except (OSError, AttributeError):
        return None
    f.restype, f.argtypes = ctypes.c_float, [ctypes.c_float]
    return f


_EXPF = _load_expf()


def _libm_exp(v):
    """The C library's expf, as the kernels' scalar tails (and LiteRT's scalar functor) call
    it (glibc's is not always correctly rounded); float64 exp rounded once without one."""
    v = np.asarray(v, F32)
    if _EXPF is None:
        with np.errstate(all="ignore"):
            return np.exp(v.astype(np.float64)).astype(F32)
    return np.array([_EXPF(float(t)) for t in v.reshape(-1)], F32).reshape(v.shape)


_LG_HI = F32(16.6355324)


def sigmoid_f32_eigen(x, out):
    """Eigen scalar_logistic_op<float> packets (degree-5 exp of min(x, 16.64)/2, squared),
    expf on the last size % 4 elements; bit-exact."""
    x = np.asarray(x, F32)
    n = x.shape[0]
    nv = n - n % 4
    one, half = F32(1.0), F32(0.5)
    with np.errstate(all="ignore"):
        v = x[:nv]
        z = np.where(v < _LG_HI, v, _LG_HI) * half
        m = np.floor(z * _EG_LOG2E + half)
        r = m * _EG_C1 + z
        r = m * _EG_C2 + r
        r2 = r * r
        p_even = r2 * F32(4.1898667812347412109375e-2) + F32(0.49999141693115234375)
        p_odd = r2 * F32(8.33471305668354034423828125e-3) + F32(0.16666877269744873046875)
        p = r * p_odd + p_even
        p = r2 * p + (r + one)
        k = np.clip(np.nan_to_num(m, nan=0.0), -126, 127).astype(np.int64)
        e = p * np.ldexp(F32(1.0), k).astype(F32)
        e = e * e
        f = e / (one + e)
        f = np.where(v < F32(-104.0), F32(0.0), f)
        out[:nv] = np.where(np.isnan(v), v, f)
        t = x[nv:]
        e = _libm_exp(np.where(t > _LG_HI, _LG_HI, t))
        out[nv:] = e / (one + e)


_TH_CLAMP = F32(7.90738964080810547)


def eigen_tanh(v):
    """Eigen ptanh_float (non-FMA), bit-exact."""
    c = np.asarray(v, F32)
    with np.errstate(all="ignore"):
        c = np.where(c > _TH_CLAMP, _TH_CLAMP, c)
        c = np.where(c < -_TH_CLAMP, -_TH_CLAMP, c)
        x2 = c * c
        x3 = x2 * c
        p = x2 * F32(1.394553628e-8) + F32(2.102733560e-5)
        p = x2 * p + F32(3.520756727e-3)
        p = x2 * p + F32(1.340216100e-1)
        q = x2 * F32(8.015776984e-7) + F32(3.326951409e-4)
        q = x2 * q + F32(2.597254514e-2)
        q = x2 * q + F32(4.673548340e-1)
        q = x2 * q + F32(1.0)
        return (x3 * p + c) / q


def tanh_f32_eigen(x, out):
    """Eigen ptanh_float on every element (packet and scalar paths agree); bit-exact."""
    out[...] = eigen_tanh(x)


_ERFC_A = [F32(v) for v in (5.61802298761904239654541015625e-04, -4.91381669417023658752441406250e-03,
                            2.67075151205062866210937500000e-02, -1.12800106406211853027343750000e-01,
                            3.76122951507568359375000000000e-01, -1.12837910652160644531250000000e+00)]
_ERFC_G = [F32(v) for v in (1.0208116471767425537109375e-01, 4.2920666933059692382812500e-01,
                            3.2379078865051269531250000e-01, 5.3971976041793823242187500e-02)]
_ERFC_D = [F32(v) for v in (1.7251677811145782470703125e-02, 3.9137163758277893066406250e-01, 1.0,
                            6.2173241376876831054687500e-01, 9.5662862062454223632812500e-02)]


def eigen_erfc(xin, packet):
    """Eigen generic_fast_erfc<float> (non-FMA), bit-exact; exp = eigen_pexp in a packet,
    libm expf otherwise."""
    x = np.asarray(xin, F32)
    one = F32(1.0)
    with np.errstate(all="ignore"):
        x = np.where(x < F32(-11.0), F32(-11.0), x)
        x = np.where(x > F32(11.0), F32(11.0), x)
        x2 = x * x
        p = _ERFC_A[0]
        for c in _ERFC_A[1:]:
            p = x2 * p + c
        small = x * p + one
        x2_lo = (x.astype(np.float64) * x.astype(np.float64) - x2.astype(np.float64)).astype(F32)   # exact
        e = eigen_pexp(-x2) if packet else _libm_exp(-x2)
        z = e - e * x2_lo
        q2 = one / x2
        num = _ERFC_G[0]
        for c in _ERFC_G[1:]:
            num = q2 * num + c
        den = _ERFC_D[0]
        for c in _ERFC_D[1:]:
            den = q2 * den + c
        r = num / (x * den)
        big = z * r + np.where(x < F32(0.0), F32(2.0), F32(0.0))
        return np.where(one < x2, big, small)


_GELU_K = F32(2.0 / math.sqrt(math.pi) * math.sqrt(0.5))
_M_SQRT1_2_NEG = F32(-math.sqrt(0.5))


def gelu_f32_eigen(approximate, x, out):
    """reference_ops::Gelu as LiteRT's builtin kernel evaluates it (Eigen), bit-exact."""
    x = np.asarray(x, F32)
    half, one = F32(0.5), F32(1.0)
    with np.errstate(all="ignore"):
        if approximate:
            inner = x + F32(0.044715) * ((x * x) * x)
            out[...] = (half * x) * (one + eigen_tanh(_GELU_K * inner))
            return
        nv = x.shape[0] - x.shape[0] % 4
        out[:nv] = (half * x[:nv]) * eigen_erfc(x[:nv] * _M_SQRT1_2_NEG, True)
        out[nv:] = (half * x[nv:]) * eigen_erfc(x[nv:] * _M_SQRT1_2_NEG, False)


def hard_swish_f32_tflite(x, out):
    """optimized_ops::HardSwish (NEON_2_SSE) on x86, bit-exact: (x/6) * relu6(x + 3) on whole
    groups of 4, (x * relu6(x + 3)) / 6 on the last size % 4 elements."""
    x = np.asarray(x, F32)
    nv = x.shape[0] - x.shape[0] % 4
    sixth = F32(1.0 / 6.0)
    with np.errstate(all="ignore"):
        r = x + F32(3.0)
        r = np.where(r > 0, r, F32(0.0))
        r = np.where(r < 6, r, F32(6.0))
        out[:nv] = (sixth * x[:nv]) * r[:nv]
        out[nv:] = (x[nv:] * r[nv:]) * sixth
