"""Float32 activation kernels (LOGISTIC, TANH, RELU family, ELU, HARD_SWISH, GELU).

One op-coded kernel; the switch is outside the element loop so each loop is
a plain loop (see kernels/elementwise.py).  PRELU, which broadcasts an alpha
tensor, is ``binary_minmax(PRELU, ...)`` in kernels/elementwise.py.

Numerics: activation_f32 uses float32 libm (expf, expm1f, tanhf, erfcf), within
~1 ulp, as TFLite's builtin kernels.  The ``*_xnn`` kernels reproduce the XNNPack
microkernels LiteRT's default delegate runs on x86 AVX-512 bit for bit (same
constants, same operation order, FMA where XNNPack uses FMA, and the flush of
denormal results to zero that LiteRT runs with).  They are compiled without
fastmath so LLVM cannot contract or reassociate anything.

The float kernels run 16 lanes at a time through kernels/simd.py (target-independent
vector IR: any host), with masked loads/stores for the tail; flush-to-zero is explicit
(simd.vftz) and applied only where a flush can change a result (each kernel says why; the
vector kernels were checked against the former scalar ones on all 2**32 inputs).
LOGISTIC's XNNPack kernel needs vpermt2ps / vscalefps: kernels/activation_avx512.py on
AVX-512F hosts, the scalar sigmoid_f32_xnn (same bits) elsewhere.
"""
import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from ._jit import FAST_F32, kernel
from .fp16 import round_f32_f16
from .simd import (fma_f32, vadd, vadd_i32, vcvtt_i32, vdiv, vfloor, vfma, vfrombits, vftz, vload, vload_n, vmul,
                   vsel_eq, vsel_gt, vsel_lt, vshl_i32, vsplat, vsplat_i32, vstore, vstore_n, vsub)

LOGISTIC, TANH, RELU, RELU6, RELU_N1_TO_1, LEAKY_RELU, ELU, HARD_SWISH, GELU_TANH, GELU_ERF = range(10)


@kernel(fastmath=FAST_F32)
def activation_f32(op, alpha, x, out):
    """out = act(x) elementwise; op: LOGISTIC..GELU_ERF; alpha: LEAKY_RELU slope.

    LOGISTIC: e = exp(-|x|), 1/(1+e) for x >= 0 else e/(1+e) (no overflow).
    ELU: expm1(x) for x < 0.  HARD_SWISH: x * min(max(x+3, 0), 6) / 6.
    GELU_TANH: 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3))); GELU_ERF: 0.5x erfc(-x/sqrt 2)
    (the erfc form has no cancellation for large negative x).
    x, out: flat float32.  Reference: kernels/reference/activation.py
    """
    n = out.shape[0]
    zero = np.float32(0.0)
    one = np.float32(1.0)
    half = np.float32(0.5)
    if op == LOGISTIC:
        for i in range(n):
            v = x[i]
            e = math.exp(-abs(v))
            r = one / (one + e)
            out[i] = r if v >= zero else e * r
    elif op == TANH:
        for i in range(n):
            out[i] = math.tanh(x[i])
    elif op == RELU:
        for i in range(n):
            v = x[i]
            out[i] = v if v > zero else zero
    elif op == RELU6:
        six = np.float32(6.0)
        for i in range(n):
            v = x[i]
            v = v if v > zero else zero
            out[i] = v if v < six else six
    elif op == RELU_N1_TO_1:
        for i in range(n):
            v = x[i]
            v = v if v > -one else -one
            out[i] = v if v < one else one
    elif op == LEAKY_RELU:
        for i in range(n):
            v = x[i]
            out[i] = v if v > zero else v * alpha
    elif op == ELU:
        for i in range(n):
            v = x[i]
            out[i] = v if v >= zero else math.expm1(v)
    elif op == HARD_SWISH:
        three = np.float32(3.0)
        six = np.float32(6.0)
        for i in range(n):
            v = x[i]
            r = v + three
            r = r if r > zero else zero
            r = r if r < six else six
            out[i] = v * r / six
    elif op == GELU_TANH:
        k = np.float32(math.sqrt(2.0 / math.pi))
        c = np.float32(0.044715)
        for i in range(n):
            v = x[i]
            out[i] = half * v * (one + math.tanh(k * (v + c * v * v * v)))
    elif op == GELU_ERF:
        k = np.float32(-1.0 / math.sqrt(2.0))
        for i in range(n):
            v = x[i]
            out[i] = half * v * math.erfc(v * k)


# ---------------------------------------------------------------- XNNPack-exact float32 helpers

@intrinsic
def f32_bits(typingctx, x):
    """The IEEE bit pattern of float32 x as an int32 (a bitcast)."""
    if x != types.float32:
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(32))
    return types.int32(x), codegen


@intrinsic
def bits_f32(typingctx, i):
    """The float32 whose bit pattern is int32(i) (a bitcast)."""
    if not isinstance(i, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        v = context.cast(builder, args[0], sig.args[0], types.int32)
        return builder.bitcast(v, ir.FloatType())
    return types.float32(i), codegen


_MIN_NORMAL = np.float32(1.1754943508222875e-38)


@kernel
def ftz(v):
    """v, or a zero of v's sign when v is denormal: LiteRT runs XNNPack with MXCSR
    flush-to-zero on (measured: sigmoid(-87.34) is 0, not 1.17e-38)."""
    return v * np.float32(0.0) if abs(v) < _MIN_NORMAL else v


@kernel
def scalef(p, n):
    """AVX-512 vscalefps on one lane: p * 2**floor(n), one rounding, with Intel's
    special cases (NaN p with n = -inf gives +0, with n = +inf gives +inf; inf * 2**-inf
    and 0 * 2**inf are NaN), then flush-to-zero."""
    if -125.0 <= n < 128.0 and abs(p) < np.float32(np.inf):
        # common case: multiplying by an exact power of two is exact when the result is normal
        r = p * bits_f32((np.int32(math.floor(n)) + np.int32(127)) << np.int32(23))
        if abs(r) >= _MIN_NORMAL or r == 0:
            return r
    if p != p:
        if n != n or not math.isinf(n):
            return p + p
        return np.float32(0.0) if n < 0 else np.float32(np.inf)
    if n != n:
        return n + n
    if math.isinf(p):
        return p - p if (math.isinf(n) and n < 0) else p
    if p == 0:
        return p * n if (math.isinf(n) and n > 0) else p
    if math.isinf(n):
        return p * n if n > 0 else p * np.float32(0.0)
    k = max(min(math.floor(n), 600), -600)
    # p * 2**k is exact in float64 for |k| <= 600; the cast rounds once
    return ftz(np.float32(np.float64(p) * math.ldexp(1.0, k)))


# exp2 of k/32, k = 0..31 (XNNPack's 32-entry table, float32 hex constants)
EXP2_K_OVER_32 = np.array([float.fromhex(h) for h in (
    "0x1.000000p+0 0x1.059B0Ep+0 0x1.0B5586p+0 0x1.11301Ep+0 0x1.172B84p+0 0x1.1D4874p+0 0x1.2387A6p+0 "
    "0x1.29E9E0p+0 0x1.306FE0p+0 0x1.371A74p+0 0x1.3DEA64p+0 0x1.44E086p+0 0x1.4BFDAEp+0 0x1.5342B6p+0 "
    "0x1.5AB07Ep+0 0x1.6247ECp+0 0x1.6A09E6p+0 0x1.71F75Ep+0 0x1.7A1148p+0 0x1.82589Ap+0 0x1.8ACE54p+0 "
    "0x1.93737Cp+0 0x1.9C4918p+0 0x1.A5503Cp+0 0x1.AE89FAp+0 0x1.B7F770p+0 0x1.C199BEp+0 0x1.CB720Ep+0 "
    "0x1.D5818Ep+0 0x1.DFC974p+0 0x1.EA4AFAp+0 0x1.F50766p+0").split()], np.float32)

_S_MAGIC = np.float32(float.fromhex("0x1.8p18"))
_S_LOG2E = np.float32(float.fromhex("0x1.715476p0"))
_S_MINUS_LN2_HI = np.float32(-float.fromhex("0x1.62E430p-1"))
_S_MINUS_LN2_LO = np.float32(float.fromhex("0x1.05C61p-29"))
_S_C2 = np.float32(0.5)
_S_C1 = np.float32(float.fromhex("0x1.0000F6p0"))


@kernel
def sigmoid_f32_xnn(table, x, out):
    """out = 1 / (1 + exp(-x)) as XNNPack's f32-vsigmoid avx512f_rr2_lut32_p2_perm2_scalef_div:

        z = -|x|; n = fma(z, log2e, 1.5*2**18)       (rounds z*log2e to a multiple of 1/32)
        l = table[bits(n) & 31]; n -= 1.5*2**18
        t = fma(n, -ln2_hi, z); t = fma(n, -ln2_lo, t)
        p = fma(t, c2, c1); t = t * l; p = fma(t, p, l)
        e = scalef(p, n); f = e / (e + 1); out = f if x has its sign bit set else 1 - f

    x, out: flat float32; table: EXP2_K_OVER_32.  Reference: kernels/reference/activation.py
    """
    one = np.float32(1.0)
    for i in range(out.shape[0]):
        v = x[i]
        z = bits_f32(f32_bits(v) | np.int32(-2147483648))
        nb = fma_f32(z, _S_LOG2E, _S_MAGIC)
        l = table[f32_bits(nb) & 31]
        n = nb - _S_MAGIC
        t = fma_f32(n, _S_MINUS_LN2_HI, z)
        t = fma_f32(n, _S_MINUS_LN2_LO, t)
        p = fma_f32(t, _S_C2, _S_C1)
        t = t * l
        p = fma_f32(t, p, l)
        e = scalef(p, n)
        f = e / (e + one)
        out[i] = one - f if f32_bits(v) >= 0 else f


@kernel
def swish_f32_xnn(table, rnd, x, out):
    """out = x * sigmoid_f32_xnn(x): a LOGISTIC whose output only feeds MUL(x, it)
    (SiLU / swish as the TFLite converter emits it), fused by numba_infer/fuse.py.
    The sigmoid is rounded to float32 -- and to fp16 when rnd (fp16 emulation
    rounds the LOGISTIC's output) -- and then multiplied once, as the two ops
    do, so the bits are theirs (the product's own fp16 rounding is the plan's,
    as for the MUL).  x, out: flat float32 (may be the same array); table:
    EXP2_K_OVER_32.  Reference: kernels/reference/activation.py"""
    n = out.shape[0]
    s = np.empty(256, np.float32)
    for i0 in range(0, n, 256):
        m = min(256, n - i0)
        sigmoid_f32_xnn(table, x[i0:i0 + m], s[:m])
        if rnd:
            round_f32_f16(s[:m], s[:m])
        for i in range(m):
            out[i0 + i] = x[i0 + i] * s[i]


# ---------------------------------------------------------------- XNNPack-exact GELU

def _f32s(*v):
    return np.array(v, np.float32)


# [clamp lo, clamp hi, alpha_11, alpha_9 .. alpha_1, beta_10, beta_8 .. beta_2] of XNNPack's
# rational 12/10 interpolants (FMA build): f32-vgelu (erf form) and f32-vapproxgelu (tanh form)
GELU_ERF_XNN = _f32s(-5.1638283730e+00, 5.1638283730e+00,
                     4.5835321316e-08, 1.2609783880e-05, 3.2973114867e-04, 9.3065137044e-03,
                     6.6972173750e-02, 7.9788452387e-01,
                     1.1988805682e-06, 7.2267655923e-05, 1.8622842617e-03, 2.8431978077e-02,
                     2.5060352683e-01)
GELU_TANH_XNN = _f32s(-4.84974098e+00, 4.84974098e+00,
                      4.9544411240e-08, 1.4302649106e-05, 2.6887017884e-04, 7.2898347862e-03,
                      6.0803253204e-02, 7.9788458347e-01,
                      1.3433452750e-06, 7.6477612311e-05, 1.3060354395e-03, 2.4381054565e-02,
                      2.4369759858e-01)


@kernel
def _gelu16_xnn(coef, x):
    """gelu_f32_xnn on 16 lanes.  Of the scalar kernel's flushes only 0.5 * x (x tiny)
    can change a result.  The others act on values that cannot be denormal (Horner sums
    of positive coefficients with c^2 >= 0, the quotient of a normal numerator by a
    denominator >= 1 that is 1 whenever the numerator is tiny) or are absorbed (a
    denormal c^2 vanishes against every coefficient; a denormal input reaches the result
    only through the products c * P and 0.5 * x).  The flush of c * P is absorbed too:
    when c * P is denormal, Q = 1 and e = c * P / Q is below 2**-126, so e + 1 rounds to
    1 whether e was flushed or not (sampled over |x| < 2**-123 in
    tests/kernels/test_kernels_activation.py test_gelu_xnn_tiny_inputs).  The full
    kernel with that flush was checked on all 2**32 inputs."""
    one = vsplat(np.float32(1.0))
    hi = vsplat(coef[1])
    lo = vsplat(coef[0])
    c = vsel_gt(x, hi, hi, x)
    c = vsel_lt(c, lo, lo, c)
    c2 = vmul(c, c)
    p = vfma(c2, vsplat(coef[2]), vsplat(coef[3]))
    p = vfma(c2, p, vsplat(coef[4]))
    p = vfma(c2, p, vsplat(coef[5]))
    p = vfma(c2, p, vsplat(coef[6]))
    p = vfma(c2, p, vsplat(coef[7]))
    p = vmul(c, p)
    q = vfma(c2, vsplat(coef[8]), vsplat(coef[9]))
    q = vfma(c2, q, vsplat(coef[10]))
    q = vfma(c2, q, vsplat(coef[11]))
    q = vfma(c2, q, vsplat(coef[12]))
    q = vfma(c2, q, one)
    e = vdiv(p, q)
    return vmul(vftz(vmul(x, vsplat(np.float32(0.5)))), vadd(e, one))


@kernel
def gelu_f32_xnn(coef, x, out):
    """GELU as XNNPack's f32-vgelu / f32-vapproxgelu avx512f_rational_12_10_div (coef:
    GELU_ERF_XNN or GELU_TANH_XNN): c = min(max(x, lo), hi) (NaN passes through),
    e = c*P(c^2) / Q(c^2), P and Q by Horner FMAs from the highest coefficient, Q's constant
    term 1; out = (0.5x) * (e + 1).  Every result is flushed to zero (LiteRT's FTZ/DAZ).
    64 lanes per iteration (4 independent vectors: ~5% faster than 16 on Zen 4), then
    16, then a masked tail (generic vector IR, any host).
    x, out: flat float32.  Reference: kernels/reference/activation.py
    """
    n = out.shape[0]
    main = n - n % 16
    m4 = n - n % 64
    for i in range(0, m4, 64):
        y0 = _gelu16_xnn(coef, vload(x, i))
        y1 = _gelu16_xnn(coef, vload(x, i + 16))
        y2 = _gelu16_xnn(coef, vload(x, i + 32))
        y3 = _gelu16_xnn(coef, vload(x, i + 48))
        vstore(out, i, y0)
        vstore(out, i + 16, y1)
        vstore(out, i + 32, y2)
        vstore(out, i + 48, y3)
    for i in range(m4, main, 16):
        vstore(out, i, _gelu16_xnn(coef, vload(x, i)))
    if main < n:
        vstore_n(out, main, _gelu16_xnn(coef, vload_n(x, main, n - main)), n - main)


# ---------------------------------------------------------------- XNNPack-exact TANH

_T_MAX = np.float32(7.9807181358e+00)
_T_A3 = np.float32(1.3412411511e-01)
_T_A5 = np.float32(3.5330520477e-03)
_T_A7 = np.float32(2.1235626264e-05)
_T_A9 = np.float32(1.4248920266e-08)
_T_B2 = np.float32(4.6745735407e-01)
_T_B4 = np.float32(2.6018999517e-02)
_T_B6 = np.float32(3.3472978976e-04)
_T_B8 = np.float32(8.1365948290e-07)


@kernel
def _tanh16_xnn(x):
    """tanh_f32_xnn on 16 lanes.  Of the scalar kernel's flushes only the one of c * P
    can change a result (c tiny); see _gelu16_xnn for why the others cannot.  Checked on
    all 2**32 inputs."""
    one = vsplat(np.float32(1.0))
    hi = vsplat(_T_MAX)
    lo = vsplat(-_T_MAX)
    c = vsel_gt(x, hi, hi, x)
    c = vsel_lt(c, lo, lo, c)
    c2 = vmul(c, c)
    p = vfma(c2, vsplat(_T_A9), vsplat(_T_A7))
    p = vfma(c2, p, vsplat(_T_A5))
    p = vfma(c2, p, vsplat(_T_A3))
    p = vfma(c2, p, one)
    p = vftz(vmul(c, p))
    q = vfma(c2, vsplat(_T_B8), vsplat(_T_B6))
    q = vfma(c2, q, vsplat(_T_B4))
    q = vfma(c2, q, vsplat(_T_B2))
    q = vfma(c2, q, one)
    return vdiv(p, q)


@kernel
def tanh_f32_xnn(x, out):
    """tanh as XNNPack's f32-vtanh avx512f_rational_9_8_div (FMA build): c = min(max(x,
    -7.98), 7.98) (NaN passes), out = c*P(c^2) / Q(c^2) with Horner FMAs, P and Q with
    constant term 1; every result flushed to zero (LiteRT's FTZ/DAZ).  16 lanes at a time
    (generic vector IR, any host), masked tail.
    x, out: flat float32.  Reference: kernels/reference/activation.py
    """
    n = out.shape[0]
    main = n - n % 16
    for i in range(0, main, 16):
        vstore(out, i, _tanh16_xnn(vload(x, i)))
    if main < n:
        vstore_n(out, main, _tanh16_xnn(vload_n(x, main, n - main)), n - main)


@kernel
def _hard_swish16_xnn(x):
    """hard_swish_f32_xnn on 16 lanes.  Only the final flush can change a result: the
    exact fma(x, 1/6, 0.5) is 0 or at least 2**-48, and a denormal x reaches the result
    only as x * 0.5, which the final flush zeroes as DAZ would.  Checked on all 2**32 inputs."""
    zero = vsplat(np.float32(0.0))
    one = vsplat(np.float32(1.0))
    a = vfma(x, vsplat(np.float32(1.0 / 6.0)), vsplat(np.float32(0.5)))
    a = vsel_gt(a, zero, a, zero)
    a = vsel_lt(a, one, a, one)
    return vftz(vmul(x, a))


@kernel
def hard_swish_f32_xnn(x, out):
    """HARD_SWISH as XNNPack's f32-vhswish on AVX-512: out = x * min(max(fma(x, 1/6, 0.5), 0), 1),
    flushed to zero.  16 lanes at a time, masked tail.  x, out: flat float32.
    Reference: kernels/reference/activation.py"""
    n = out.shape[0]
    main = n - n % 16
    for i in range(0, main, 16):
        vstore(out, i, _hard_swish16_xnn(vload(x, i)))
    if main < n:
        vstore_n(out, main, _hard_swish16_xnn(vload_n(x, main, n - main)), n - main)


# ---------------------------------------------------------------- LiteRT builtin (Eigen) float32
#
# numerics="tflite": LiteRT's builtin float kernels evaluate LOGISTIC, TANH, GELU (and the
# exps of SOFTMAX / LOG_SOFTMAX, kernels/softmax.py) as Eigen array expressions, compiled for
# SSE without FMA: whole 4-float packets run Eigen's packet math (pexp_float, ptanh_float,
# generic_fast_erfc<float>, scalar_logistic_op<float>::packetOp) with a separate rounding
# for every multiply and add; the last (size % 4) elements of the tensor run the scalar
# functor, which calls glibc expf where the packet code calls pexp.  LiteRT's arena aligns
# every tensor, so the packets start at element 0.  Measured bit-exact against LiteRT 2.3.0's
# BUILTIN_WITHOUT_DEFAULT_DELEGATES on 2.1M inputs per op (all float32 classes, incl.
# NaN, +-inf, denormals: the builtin kernels run without flush-to-zero).
# The kernels below take no fastmath flags: every a*b+c stays two roundings.

_EG_LOG2E = np.float32(1.44269504088896341)
_EG_C1 = np.float32(-0.693359375)
_EG_C2 = np.float32(2.12194440e-4)


@kernel
def eigen_pexp_f32(v):
    """One lane of Eigen's pexp_float (non-FMA build): x = min(v, 88.723);
    m = floor(x*log2e + 0.5); r = (m*C1 + x) + m*C2 (as two mul-adds);
    y = r2*((r*(r2*p5 + p3)) + ((r2*p6 + p4)*r2 + p2)) + (r + 1), r2 = r*r;
    out = max(y * 2**m, v) (single rounding), 0 below -104, NaN passes."""
    if v != v:
        return v
    if v < np.float32(-104.0):
        return np.float32(0.0)
    x = v if v < np.float32(88.723) else np.float32(88.723)
    m = np.float32(math.floor(x * _EG_LOG2E + np.float32(0.5)))
    r = m * _EG_C1 + x
    r = m * _EG_C2 + r
    r2 = r * r
    p_even = r2 * np.float32(1.37449637986719608306884765625e-3) + np.float32(4.166965186595916748046875e-2)
    p_odd = r2 * np.float32(8.36894474923610687255859375e-3) + np.float32(0.16666518151760101318359375)
    p_even = r2 * p_even + np.float32(0.49999988079071044921875)
    p_low = r + np.float32(1.0)
    y = r * p_odd + p_even
    y = r2 * y + p_low
    # y * 2**m is exact in float64 (|m| <= 151); the cast rounds once, like pldexp
    e = np.float32(np.float64(y) * math.ldexp(1.0, int(m)))
    return e if e > v else v


@kernel
def _pow2_16(m):
    """2**m for integral float lanes m in [-126, 127] (an exact normal float32)."""
    return vfrombits(vshl_i32(vadd_i32(vcvtt_i32(m), vsplat_i32(np.int32(127))), 23))


@kernel
def eigen_pexp16(v):
    """eigen_pexp_f32 on 16 lanes.  y * 2**m (m in [-150, 128]) is rounded once as
    (y * 2**a) * 2**b with b = -126 for m < -126 (the first product is then an exact
    normal), b = 1 for m = 128 (overflow either way), else b = 0."""
    one = vsplat(np.float32(1.0))
    x = vsel_lt(v, vsplat(np.float32(88.723)), v, vsplat(np.float32(88.723)))
    m = vfloor(vadd(vmul(x, vsplat(_EG_LOG2E)), vsplat(np.float32(0.5))))
    r = vadd(vmul(m, vsplat(_EG_C1)), x)
    r = vadd(vmul(m, vsplat(_EG_C2)), r)
    r2 = vmul(r, r)
    p_even = vadd(vmul(r2, vsplat(np.float32(1.37449637986719608306884765625e-3))),
                  vsplat(np.float32(4.166965186595916748046875e-2)))
    p_odd = vadd(vmul(r2, vsplat(np.float32(8.36894474923610687255859375e-3))),
                 vsplat(np.float32(0.16666518151760101318359375)))
    p_even = vadd(vmul(r2, p_even), vsplat(np.float32(0.49999988079071044921875)))
    p_low = vadd(r, one)
    y = vadd(vmul(r, p_odd), p_even)
    y = vadd(vmul(r2, y), p_low)
    zero = vsplat(np.float32(0.0))
    b = vsel_lt(m, vsplat(np.float32(-126.0)), vsplat(np.float32(-126.0)),
                vsel_gt(m, vsplat(np.float32(127.0)), one, zero))
    lo = vsplat(np.float32(-104.0))
    a = vsel_lt(v, lo, zero, vsub(m, b))                 # lanes below -104 (m may be huge): any in-range a
    e = vmul(vmul(y, _pow2_16(a)), _pow2_16(b))
    e = vsel_gt(e, v, e, v)
    e = vsel_lt(v, lo, zero, e)
    return vsel_eq(v, v, e, v)                           # NaN passes


_LG_HI = np.float32(16.6355324)


@kernel
def _sigmoid16_eigen(v):
    """The packet path of sigmoid_f32_eigen on 16 lanes."""
    one = vsplat(np.float32(1.0))
    half = vsplat(np.float32(0.5))
    hi = vsplat(_LG_HI)
    z = vmul(vsel_lt(v, hi, v, hi), half)
    m = vfloor(vadd(vmul(z, vsplat(_EG_LOG2E)), half))
    lo = vsplat(np.float32(-104.0))
    m = vsel_lt(v, lo, vsplat(np.float32(0.0)), m)        # lanes below -104 are 0 anyway; keep 2**m in range
    r = vadd(vmul(m, vsplat(_EG_C1)), z)
    r = vadd(vmul(m, vsplat(_EG_C2)), r)
    r2 = vmul(r, r)
    p_even = vadd(vmul(r2, vsplat(np.float32(4.1898667812347412109375e-2))), vsplat(np.float32(0.49999141693115234375)))
    p_odd = vadd(vmul(r2, vsplat(np.float32(8.33471305668354034423828125e-3))),
                 vsplat(np.float32(0.16666877269744873046875)))
    p = vadd(vmul(r, p_odd), p_even)
    p = vadd(vmul(r2, p), vadd(r, one))
    e = vmul(p, _pow2_16(m))
    e = vmul(e, e)
    f = vdiv(e, vadd(one, e))
    f = vsel_lt(v, lo, vsplat(np.float32(0.0)), f)
    return vsel_eq(v, v, f, v)


@kernel
def sigmoid_f32_eigen(x, out):
    """LOGISTIC as LiteRT's builtin kernel (Eigen scalar_logistic_op<float>, SSE, no FMA).

    Packets: x' = min(x, 16.6355324) / 2; e = 2**m * P5(r) (Cephes-style reduction, as
    pexp but with a degree-5 polynomial and an exact power of two), e = e*e; out = e/(1+e),
    0 below -104, NaN passes.  The last size % 4 elements: e = expf(min(x, 16.6355324)),
    e/(1+e).  The packets run 16 lanes at a time (separate multiplies and adds, as SSE).
    x, out: flat float32.  Reference: kernels/reference/activation.py
    """
    n = out.shape[0]
    nv = n - n % 4
    one = np.float32(1.0)
    for i in range(0, nv, 16):
        w = min(16, nv - i)
        if w == 16:
            vstore(out, i, _sigmoid16_eigen(vload(x, i)))
        else:
            vstore_n(out, i, _sigmoid16_eigen(vload_n(x, i, w)), w)
    for i in range(nv, n):
        v = x[i]
        e = math.exp(v if not (v > _LG_HI) else _LG_HI)
        out[i] = e / (one + e)


_TH_CLAMP = np.float32(7.90738964080810547)


@kernel
def eigen_tanh_f32(v):
    """Eigen ptanh_float (EIGEN_FAST_MATH, non-FMA build): c = clamp(v, +-7.90739) (NaN
    passes); out = (c^3 * P(c^2) + c) / Q(c^2), Horner with separate mul and add."""
    c = v
    if c > _TH_CLAMP:
        c = _TH_CLAMP
    if c < -_TH_CLAMP:
        c = -_TH_CLAMP
    x2 = c * c
    x3 = x2 * c
    p = x2 * np.float32(1.394553628e-8) + np.float32(2.102733560e-5)
    p = x2 * p + np.float32(3.520756727e-3)
    p = x2 * p + np.float32(1.340216100e-1)
    q = x2 * np.float32(8.015776984e-7) + np.float32(3.326951409e-4)
    q = x2 * q + np.float32(2.597254514e-2)
    q = x2 * q + np.float32(4.673548340e-1)
    q = x2 * q + np.float32(1.0)
    p = x3 * p + c
    return p / q


@kernel
def tanh_f32_eigen(x, out):
    """TANH as LiteRT's builtin kernel (Eigen ptanh_float; packet and scalar paths agree).
    x, out: flat float32.  Reference: kernels/reference/activation.py"""
    for i in range(out.shape[0]):
        out[i] = eigen_tanh_f32(x[i])


_ERFC_A = np.array([5.61802298761904239654541015625e-04, -4.91381669417023658752441406250e-03,
                    2.67075151205062866210937500000e-02, -1.12800106406211853027343750000e-01,
                    3.76122951507568359375000000000e-01, -1.12837910652160644531250000000e+00], np.float32)
_ERFC_G = np.array([1.0208116471767425537109375e-01, 4.2920666933059692382812500e-01,
                    3.2379078865051269531250000e-01, 5.3971976041793823242187500e-02], np.float32)
_ERFC_D = np.array([1.7251677811145782470703125e-02, 3.9137163758277893066406250e-01, 1.0,
                    6.2173241376876831054687500e-01, 9.5662862062454223632812500e-02], np.float32)


@kernel
def eigen_erfc_f32(xin, packet):
    """Eigen generic_fast_erfc<float> (non-FMA build), one lane.  |x| <= 1: 1 + x*S(x^2);
    else exp(-x^2) * (1 - x2_lo) * P(1/x^2) / (x Q(1/x^2)) (+2 for x < 0), x2_lo the exact
    low part of x*x; exp is pexp_float in a packet, expf in the scalar tail (packet=False)."""
    x = xin
    if x < np.float32(-11.0):
        x = np.float32(-11.0)
    if x > np.float32(11.0):
        x = np.float32(11.0)
    x2 = x * x
    if not (np.float32(1.0) < x2):
        p = _ERFC_A[0]
        for k in range(1, 6):
            p = x2 * p + _ERFC_A[k]
        return x * p + np.float32(1.0)
    x2_lo = np.float32(np.float64(x) * np.float64(x) - np.float64(x2))    # exact (twoprod_low)
    e = eigen_pexp_f32(-x2) if packet else np.float32(math.exp(-x2))
    z = e - e * x2_lo
    q2 = np.float32(1.0) / x2
    num = _ERFC_G[0]
    for k in range(1, 4):
        num = q2 * num + _ERFC_G[k]
    den = _ERFC_D[0]
    for k in range(1, 5):
        den = q2 * den + _ERFC_D[k]
    r = num / (x * den)
    two = np.float32(2.0) if x < np.float32(0.0) else np.float32(0.0)
    return z * r + two


@kernel
def eigen_erfc16(xin):
    """eigen_erfc_f32(x, packet=True) on 16 lanes: both branches, then a select (NaN takes
    the |x| <= 1 branch, as the scalar test); x2_lo = fma(x, x, -x2) is the exact low part."""
    one = vsplat(np.float32(1.0))
    lim = vsplat(np.float32(11.0))
    x = vsel_lt(xin, vsub(vsplat(np.float32(0.0)), lim), vsub(vsplat(np.float32(0.0)), lim), xin)
    x = vsel_gt(x, lim, lim, x)
    x2 = vmul(x, x)
    p = vsplat(_ERFC_A[0])
    for k in range(1, 6):
        p = vadd(vmul(x2, p), vsplat(_ERFC_A[k]))
    small = vadd(vmul(x, p), one)
    x2_lo = vfma(x, x, vsub(vsplat(np.float32(0.0)), x2))
    e = eigen_pexp16(vsub(vsplat(np.float32(0.0)), x2))
    z = vsub(e, vmul(e, x2_lo))
    q2 = vdiv(one, x2)
    num = vsplat(_ERFC_G[0])
    for k in range(1, 4):
        num = vadd(vmul(q2, num), vsplat(_ERFC_G[k]))
    den = vsplat(_ERFC_D[0])
    for k in range(1, 5):
        den = vadd(vmul(q2, den), vsplat(_ERFC_D[k]))
    r = vdiv(num, vmul(x, den))
    two = vsel_lt(x, vsplat(np.float32(0.0)), vsplat(np.float32(2.0)), vsplat(np.float32(0.0)))
    big = vadd(vmul(z, r), two)
    return vsel_lt(one, x2, big, small)


_GELU_K = np.float32(2.0 / math.sqrt(math.pi) * math.sqrt(0.5))
_M_SQRT1_2_NEG = np.float32(-math.sqrt(0.5))


@kernel
def gelu_f32_eigen(approximate, x, out):
    """GELU as LiteRT's builtin kernel (reference_ops::Gelu, an Eigen expression):
    approximate: (0.5x) * (1 + tanh(k * (x + 0.044715 * ((x*x)*x)))), k = sqrt(2/pi),
    tanh = Eigen ptanh_float; else (0.5x) * erfc(x * -sqrt(1/2)), erfc = Eigen
    generic_fast_erfc<float> (16 lanes at a time over the whole packets; expf in the
    last size % 4 elements).
    x, out: flat float32.  Reference: kernels/reference/activation.py
    """
    n = out.shape[0]
    nv = n - n % 4
    half = np.float32(0.5)
    one = np.float32(1.0)
    if approximate:
        for i in range(n):
            v = x[i]
            inner = v + np.float32(0.044715) * ((v * v) * v)
            out[i] = (half * v) * (one + eigen_tanh_f32(_GELU_K * inner))
    else:
        vh = vsplat(half)
        vk = vsplat(_M_SQRT1_2_NEG)
        for i in range(0, nv, 16):
            w = min(16, nv - i)
            v = vload(x, i) if w == 16 else vload_n(x, i, w)
            r = vmul(vmul(vh, v), eigen_erfc16(vmul(v, vk)))
            if w == 16:
                vstore(out, i, r)
            else:
                vstore_n(out, i, r, w)
        for i in range(nv, n):
            v = x[i]
            out[i] = (half * v) * eigen_erfc_f32(v * _M_SQRT1_2_NEG, False)


@kernel
def hard_swish_f32_tflite(x, out):
    """HARD_SWISH as LiteRT's builtin optimized_ops::HardSwish on x86 (its NEON loop via
    NEON_2_SSE): (x * (1/6)) * min(max(x + 3, 0), 6) for whole groups of 4, and
    (x * min(max(x + 3, 0), 6)) * (1/6) for the last size % 4 elements (measured).
    x, out: flat float32.  Reference: kernels/reference/activation.py"""
    n = out.shape[0]
    nv = n - n % 4
    sixth = np.float32(1.0 / 6.0)
    zero = np.float32(0.0)
    three = np.float32(3.0)
    six = np.float32(6.0)
    for i in range(n):
        v = x[i]
        r = v + three
        r = r if r > zero else zero
        r = r if r < six else six
        out[i] = (sixth * v) * r if i < nv else (v * r) * sixth
