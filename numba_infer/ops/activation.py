"""Activations: LOGISTIC, TANH, RELU, RELU6, RELU_N1_TO_1, LEAKY_RELU, ELU,
HARD_SWISH, GELU (float32) and PRELU (alpha tensor broadcast against the input)."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from .. import isa
from ..errors import ModelValidationError
from ..kernels import activation as A
from ..kernels import parallel as par
from ..kernels import elementwise as K
from ..kernels.activation import (EXP2_K_OVER_32, GELU_ERF_XNN, GELU_TANH_XNN, activation_f32, gelu_f32_eigen,
                                  gelu_f32_xnn, hard_swish_f32_tflite, hard_swish_f32_xnn, sigmoid_f32_eigen,
                                  sigmoid_f32_xnn, swish_f32_xnn, tanh_f32_eigen, tanh_f32_xnn)
from ..kernels.elu import elu_f32_xnn
from ..kernels.qelementwise import lut_u8
from ..kernels.reference.requant import multiply_by_quantized_multiplier as _mbqm
from ..kernels.reference.requant import rounding_divide_by_pot as _rdbpot
from ..quant import QRANGE, quantize_multiplier, round_half_away, tensor_qparams
from .common import bound_kernel, broadcast_shape
from .elementwise import Q8, binary_lowered, is_quantized, same_dtype, unary_lowered
from .registry import Lowered, lowering

_ACT = {"LOGISTIC": A.LOGISTIC, "TANH": A.TANH, "RELU": A.RELU, "RELU6": A.RELU6,
        "RELU_N1_TO_1": A.RELU_N1_TO_1, "LEAKY_RELU": A.LEAKY_RELU, "ELU": A.ELU, "HARD_SWISH": A.HARD_SWISH}


_BUILTIN = {"LOGISTIC": sigmoid_f32_eigen, "TANH": tanh_f32_eigen, "HARD_SWISH": hard_swish_f32_tflite}


def sigmoid_xnn_kernel():
    """XNNPack's vsigmoid: with its own vpermt2ps / vscalefps on an AVX-512F host
    (kernels/activation_avx512.py, imported only there), else the portable scalar
    kernel; both give the same bits."""
    if isa.AVX512F:
        from ..kernels.activation_avx512 import sigmoid_f32_xnn_avx512
        return sigmoid_f32_xnn_avx512
    return sigmoid_f32_xnn


def lut_u8_kernel():
    """The 8-bit table lookup (``kernel(x_u8, table, out)``): 64 bytes per step with
    vpermi2b on an AVX512-VBMI host (kernels/qelementwise_vbmi.py, imported only
    there), else the portable scalar kernel; same bytes."""
    if isa.VBMI:
        from ..kernels.qelementwise_vbmi import lut_u8_vbmi
        return lut_u8_vbmi
    return lut_u8


@lowering(*_ACT)
def activation(ctx):
    if is_quantized(ctx.input(0)):
        return quantized_unary(ctx)
    if ctx.node.op == "LOGISTIC" and ctx.settings.numerics == "xnnpack":
        # LiteRT's default delegate runs every float32 LOGISTIC through XNNPack's vsigmoid
        return unary_lowered(ctx, sigmoid_xnn_kernel(), EXP2_K_OVER_32)
    if ctx.node.op == "TANH" and ctx.settings.numerics == "xnnpack":
        # XNNPack's vtanh (rational 9/8 interpolant); pure FMA/div, so exact on any host
        return unary_lowered(ctx, tanh_f32_xnn)
    if ctx.node.op == "HARD_SWISH" and ctx.settings.numerics == "xnnpack":
        return unary_lowered(ctx, hard_swish_f32_xnn)
    if ctx.node.op == "ELU" and ctx.settings.numerics == "xnnpack":
        # XNNPack's velu (avx512f_rr1_p6); pure FMA / shift IR, so exact on any host
        return unary_lowered(ctx, elu_f32_xnn)
    if ctx.settings.numerics == "tflite" and ctx.node.op in _BUILTIN:
        # LiteRT's builtin kernels: Eigen packet math (SSE, no FMA) / NEON_2_SSE HardSwish
        return unary_lowered(ctx, _BUILTIN[ctx.node.op])
    alpha = np.float32(ctx.opt("alpha", 0.0) if ctx.node.op == "LEAKY_RELU" else 0.0)
    return unary_lowered(ctx, activation_f32, _ACT[ctx.node.op], alpha)


def swish_xnn_kernel():
    """x * XNNPack's vsigmoid(x) (kernels/activation*.py), as sigmoid_xnn_kernel."""
    if isa.AVX512F:
        from ..kernels.activation_avx512 import swish_f32_xnn_avx512
        return swish_f32_xnn_avx512
    return swish_f32_xnn


@lowering("NI_SWISH")
def swish(ctx):
    """MUL(x, LOGISTIC(x)) fused by numba_infer/fuse.py fuse_swish: float32 with
    XNNPack's sigmoid (rounded to fp16 before the product under fp16 emulation,
    as the LOGISTIC's output is; the plan rounds the product, as the MUL's), or
    an int8 / uint8 table of the two ops (_swish_q8)."""
    if is_quantized(ctx.input(0)):
        return _swish_q8(ctx)
    return unary_lowered(ctx, swish_xnn_kernel(), EXP2_K_OVER_32, bool(ctx.settings.fp16))


def _swish_q8(ctx):
    """The 256-entry table of MUL(x, LOGISTIC(x)) for a quantized x: the two
    file ops are lowered as they would be unfused (their own lowerings, the
    same settings) and run at prepare on every possible value of x, laid out
    in x's shape (several passes when it has fewer than 256 elements); entry
    u of the table is y for the x whose bits are u.  Elementwise ops give
    each element a result that depends on its x only, so the table is the
    unfused ops' results exactly."""
    from .registry import OpContext, find
    x, out = ctx.input(0), ctx.outputs[0]
    dt = x.dtype
    nodes = {n.index: n for n in ctx.graph.nodes}
    lg, mul = (nodes[i] for i in ctx.opt("fused"))
    s_info = replace(ctx.graph.tensors[lg.outputs[0]], shape=tuple(x.shape), value=None)
    lo1 = find(lg).fn(OpContext(lg, [x], [s_info], ctx.settings, ctx.graph, ctx.resources))
    lo2 = find(mul).fn(OpContext(mul, [x if i == lg.inputs[0] else s_info for i in mul.inputs], [out],
                                 ctx.settings, ctx.graph, ctx.resources))
    shape = tuple(x.shape)
    n = max(1, x.size)
    codes = np.arange(256, dtype=np.uint8).view(dt)
    table = np.empty(256, dt)
    for start in range(0, 256, n):
        xs = np.resize(np.roll(codes, -start), n).reshape(shape)
        sv = np.empty(lo1.outputs[0][0], lo1.outputs[0][1])
        lo1.bind([xs], [sv], [np.empty(s, d) for s, d in lo1.workspace])()
        yv = np.empty(lo2.outputs[0][0], lo2.outputs[0][1])
        lo2.bind([xs if i == lg.inputs[0] else sv for i in mul.inputs], [yv],
                 [np.empty(s, d) for s, d in lo2.workspace])()
        m = min(n, 256 - start)
        table[start:start + m] = yv.reshape(-1)[:m]
    return lut_lowered(ctx, x, table)


@lowering("GELU")
def gelu(ctx):
    """approximate=True: the tanh form; False (default): the exact erf form (TFLite gelu.cc)."""
    if is_quantized(ctx.input(0)):
        return quantized_unary(ctx)
    approximate = bool(ctx.opt("approximate", False))
    if ctx.settings.numerics == "xnnpack":
        # LiteRT's default delegate: XNNPack vapproxgelu / vgelu (rational 12/10 interpolants)
        return unary_lowered(ctx, gelu_f32_xnn, GELU_TANH_XNN if approximate else GELU_ERF_XNN)
    # LiteRT's builtin reference_ops::Gelu: an Eigen expression (ptanh_float / generic_fast_erfc)
    return unary_lowered(ctx, gelu_f32_eigen, approximate)


@lowering("PRELU")
def prelu(ctx):
    """out = x >= 0 ? x : x * alpha, alpha broadcast against x (NumPy rules, as
    TFLite's BroadcastPrelu4DSlow); the output has the broadcast shape.  A per-channel
    alpha ([C] / [1, 1, C]) makes rows of C: binary_lowered binds the 16-lane vector
    kernel kernels.elementwise.binary_f32_kernel(PRELU)."""
    ctx.expect_inputs(2, 2)
    x, alpha = ctx.input(0), ctx.input(1)
    same_dtype(ctx, [x, alpha], (np.float32,))
    out_shape = broadcast_shape(ctx, x.shape, alpha.shape)
    return binary_lowered(ctx, K.PRELU, x, alpha, out_shape, np.dtype(np.float32))


# ---------------------------------------------------------------- quantized (int8 / uint8): lookup tables
#
# Every 8-bit -> 8-bit elementwise op is a function of 256 input codes, so it runs as one
# table lookup (kernels/qelementwise.lut_u8).  The table is computed here, at prepare time,
# with the exact formula of the LiteRT kernel being matched: TFLite's LUTPopulate (float32
# math per entry) for LOGISTIC/TANH/ELU/GELU/EXP/LOG/RSQRT, TFLite's integer formulas for
# RELU*/LEAKY_RELU/HARD_SWISH/ABS/NEG, XNNPack's for LEAKY_RELU under numerics="xnnpack".
# Each builder was checked against LiteRT on all 256 codes (tests/ops/test_ops_qactivation.py).

F32 = np.float32


def _codes(dtype):
    """The 256 stored values, in code order (table index = value & 0xFF)."""
    return np.arange(256, dtype=np.uint8).view(np.dtype(dtype)).astype(np.int64)


def lut_float(fn, dtype, out_dtype, qi, qo):
    """TFLite LUTPopulate: q = clamp(round_half_away(f(s_in * (v - zp_in)) * (1 / s_out)) + zp_out),
    all in float32; NaN becomes the minimum, +-inf / huge values clamp (as measured on LiteRT 2.3.0)."""
    lo, hi = QRANGE[np.dtype(out_dtype)]
    inv = F32(1.0) / F32(qo[0])
    table = np.empty(256, np.int64)
    for k, v in enumerate(_codes(dtype)):
        x = F32(F32(qi[0]) * F32(v - qi[1]))
        with np.errstate(all="ignore"):
            y = F32(fn(x))
            r = F32(y * inv)
        if np.isnan(r):
            table[k] = lo
            continue
        q = float(r) if np.isinf(r) else float(F32(F32(round_half_away(float(r))) + F32(qo[1])))
        table[k] = int(min(max(q, lo), hi))
    return table


def _sigmoid(x):
    return F32(1.0) / (F32(1.0) + np.exp(-x))


def _elu(x):
    return F32(np.expm1(x)) if x < 0 else x


def _gelu(x):
    return F32(F32(0.5) * x) * F32(math.erfc(float(F32(x * F32(-math.sqrt(0.5))))))


_SQRT_2_PI = F32((2.0 / math.sqrt(math.pi)) * math.sqrt(0.5))


def _gelu_tanh(x):
    inner = F32(x + F32(F32(F32(F32(0.044715) * x) * x) * x))
    return F32(F32(0.5) * x) * F32(F32(1.0) + np.tanh(F32(_SQRT_2_PI * inner)))


def _rsqrt(x):
    return F32(1.0) / np.sqrt(x)


def lut_relu(dtype, qi, qo, act_lo, act_hi):
    """TFLite QuantizedReluX: MBQM(v - zp_in, in/out) + zp_out clamped to
    [max(qmin, zp_out + roundf(act_lo / s_out)), min(qmax, zp_out + roundf(act_hi / s_out))]."""
    qmin, qmax = QRANGE[np.dtype(dtype)]
    m, s = quantize_multiplier(qi[0] / qo[0])
    lo = max(qmin, qo[1] + int(round_half_away(float(F32(act_lo) / F32(qo[0])))))
    hi = qmax if act_hi is None else min(qmax, qo[1] + int(round_half_away(float(F32(act_hi) / F32(qo[0])))))
    return np.array([min(max(qo[1] + _mbqm(v - qi[1], m, s), lo), hi) for v in _codes(dtype)], np.int64)


def lut_leaky_tflite(dtype, qi, qo, alpha):
    """TFLite QuantizeLeakyRelu: identity / alpha multipliers (in*alpha in float32, then double)."""
    qmin, qmax = QRANGE[np.dtype(dtype)]
    mi, si = quantize_multiplier(qi[0] / qo[0])
    ma, sa = quantize_multiplier(float(F32(F32(qi[0]) * F32(alpha))) / qo[0])
    out = []
    for v in _codes(dtype):
        d = int(v) - qi[1]
        r = qo[1] + (_mbqm(d, mi, si) if d >= 0 else _mbqm(d, ma, sa))
        out.append(min(max(r, qmin), qmax))
    return np.array(out, np.int64)


def lut_leaky_xnn(dtype, qi, qo, alpha):
    """XNNPack qs8/qu8 vlrelu: multipliers lrintf(256 * ratio), (bias + d * mult) >> 8, or None
    when the delegate refuses (ratios outside its range)."""
    qmin, qmax = QRANGE[np.dtype(dtype)]
    pos = F32(F32(qi[0]) / F32(qo[0]))
    neg = F32(pos * F32(alpha))
    if not (2.0 ** -8 <= float(pos) <= 2.0 ** 7 and -2.0 ** 7 <= float(neg) <= 2.0 ** 7 and abs(float(neg)) >= 2.0 ** -8):
        return None
    pm = -int(np.rint(F32(-256.0) * pos))
    nm = -int(np.rint(F32(-256.0) * neg))
    bias = (qo[1] << 8) + 0x80
    out = []
    for v in _codes(dtype):
        d = int(v) - qi[1]
        r = (bias + d * (pm if d >= 0 else nm)) >> 8
        out.append(min(max(r, qmin), qmax))
    return np.array(out, np.int64)


def _sat16(v):
    return min(max(v, -32768), 32767)


def _srdhm16(a, b):
    if a == b == -32768:
        return 32767
    ab = a * b
    n = ab + ((1 << 14) if ab >= 0 else 1 - (1 << 14))
    return int(n / (1 << 15)) if n >= 0 else -((-n) // (1 << 15))


def _sdhm16(a, b):          # SaturatingDoublingHighMul (truncating)
    if a == b == -32768:
        return 32767
    ab = a * b
    return ab // (1 << 15) if ab >= 0 else -((-ab) // (1 << 15))


def _down16(m32):
    return 32767 if m32 >= 2147483647 - (1 << 15) else (m32 + (1 << 15)) >> 16


def lut_hard_swish(ctx, dtype, qi, qo):
    """TFLite reference_ops::HardSwish (int16 fixed point, hard_swish.cc params)."""
    qmin, qmax = QRANGE[np.dtype(dtype)]
    hires = F32(F32(1.0 / 128.0) * F32(qi[0]))
    om, oe = quantize_multiplier(float(F32(hires / F32(qo[0]))))
    rm, re_ = quantize_multiplier(float(F32(hires / F32(3.0 / 32768.0))))
    if oe > 0:
        ctx.fail("HARD_SWISH output multiplier exponent > 0 (TFLite rejects these scales)", ModelValidationError)
    om16, rm16 = _down16(om), _down16(rm)
    out = []
    for v in _codes(dtype):
        x = _sat16(int(v) - qi[1])                  # int16 arithmetic as TFLite (|x| <= 255)
        xh = _sat16(x * 128)
        pre = _srdhm16(xh, om16)
        rel = xh
        if re_ > 0:
            rel = _sat16(rel << (re_ - 1))
        rel = _srdhm16(rel, rm16)
        if re_ > 0:
            rel = _sat16(rel << 1)
        if re_ < 0:
            rel = _rdbpot(rel, -re_)
        rel = (rel + (1 << 15)) >> 1
        o = _rdbpot(_sdhm16(rel, pre), -oe) + qo[1]
        out.append(min(max(o, qmin), qmax))
    return np.array(out, np.int64)


def lut_abs(dtype, qi, qo):
    """TFLite elementwise.cc AbsEvalQuantized: |v - zp_in|, rescaled by MBQM when scales differ."""
    qmin, qmax = QRANGE[np.dtype(dtype)]
    m, s = quantize_multiplier(qi[0] / qo[0])
    same = qi[0] == qo[0]
    return np.array([min(max((abs(int(v) - qi[1]) if same else _mbqm(abs(int(v) - qi[1]), m, s)) + qo[1],
                             qmin), qmax) for v in _codes(dtype)], np.int64)


def lut_neg(dtype):
    """TFLite neg.cc on int8: the stored value negated (int8 wraparound), parameters ignored."""
    return np.array([((-int(v) + 128) % 256) - 128 for v in _codes(dtype)], np.int64)


def lut_sqrt(dtype, qi, qo):
    """LiteRT elementwise.cc int8 SQRT: floor(sqrt(s_in * (v - zp_in)) / s_out) + zp_out in float32,
    clamped (truncating, unlike LUTPopulate; matched on all 256 codes for 40 random parameter
    sets).  Inputs below the zero point (LiteRT fails at run time) give the minimum."""
    qmin, qmax = QRANGE[np.dtype(dtype)]
    out = []
    for v in _codes(dtype):
        d = int(v) - qi[1]
        if d < 0:
            out.append(qmin)
            continue
        r = F32(np.sqrt(F32(F32(qi[0]) * F32(d))) / F32(qo[0]))
        out.append(int(min(max(math.floor(float(r)) + qo[1], qmin), qmax)))
    return np.array(out, np.int64)


_LUT_FLOAT = {"LOGISTIC": _sigmoid, "TANH": np.tanh, "ELU": _elu, "EXP": np.exp, "LOG": np.log,
              "RSQRT": _rsqrt}
_INT8_ONLY = ("ELU", "EXP", "LOG", "RSQRT", "SQRT", "ABS", "NEG")


def quantized_unary(ctx):
    """int8 / uint8 unary op as a 256-entry table (see the comment above)."""
    name = ctx.node.op
    ctx.expect_inputs(1, 2 if name == "PRELU" else 1)
    x, out = ctx.input(0), ctx.outputs[0]
    if x.dtype not in Q8:
        ctx.fail(f"quantized {x.dtype.name} {name} is not supported (int8 and uint8 are)")
    if out.dtype != x.dtype or not is_quantized(out):
        ctx.fail(f"quantized {name}: output must be quantized {x.dtype.name}", ModelValidationError)
    if name in _INT8_ONLY and x.dtype != np.int8:
        ctx.fail(f"quantized {name} supports int8 only (as TFLite)")
    qi, qo = tensor_qparams(ctx, x), tensor_qparams(ctx, out)
    dt = x.dtype
    if name in _LUT_FLOAT:
        table = lut_float(_LUT_FLOAT[name], dt, dt, qi, qo)
    elif name == "GELU":
        table = lut_float(_gelu_tanh if ctx.opt("approximate", False) else _gelu, dt, dt, qi, qo)
    elif name in ("RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1"):
        lo, hi = {"RELU": (0.0, None), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0),
                  "RELU_0_TO_1": (0.0, 1.0)}[name]
        table = lut_relu(dt, qi, qo, lo, hi)
    elif name == "LEAKY_RELU":
        alpha = float(ctx.opt("alpha", 0.0))
        if alpha < 0 and ctx.settings.numerics != "xnnpack":
            # LiteRT's builtin kernel is 1 LSB off TFLite's reference formula here; not matched yet.
            ctx.fail("quantized LEAKY_RELU with a negative alpha is not supported with numerics='tflite'")
        table = lut_leaky_xnn(dt, qi, qo, alpha) if ctx.settings.numerics == "xnnpack" else None
        if table is None:
            table = lut_leaky_tflite(dt, qi, qo, alpha)
    elif name == "SQRT":
        table = lut_sqrt(dt, qi, qo)
    elif name == "HARD_SWISH":
        table = lut_hard_swish(ctx, dt, qi, qo)
    elif name == "ABS":
        table = lut_abs(dt, qi, qo)
    elif name == "NEG":
        table = lut_neg(dt)
    else:
        ctx.fail(f"quantized {name} is not supported")
    return lut_lowered(ctx, x, np.ascontiguousarray(table.astype(dt)))


# rate used to guess a table lookup's run time (plan_threads).  vpermi2b runs at ~25000
# elements/us, so by its own work a lookup would rarely be split; but a serial lookup after a
# threaded op reads the half of its input the other core wrote, which costs more than the
# lookup (efficientnet_v2_b0_int8's swish tables: 3-6 us at one thread, 15-23 us serial at two).
# Split from 20 K elements, each core reads its own half: efficientnet_v2_b0_int8 at 2 threads
# 3.86 -> 3.71, 3.79 -> 3.74, 3.84 -> 3.73, 5.95 -> 5.68 ms (A/B in one process, 4 runs)
LUT_ELEMS_PER_US = 2000.0


def lut_lowered(ctx, x, table):
    """Lowered for out = table[x as uint8] (x int8 / uint8, a 256-entry table of x's
    dtype), threaded in contiguous chunks when large enough."""
    shape, dt = tuple(x.shape), x.dtype
    lut = lut_u8_kernel()
    nt = par.plan_threads(ctx.settings.num_threads, x.size / LUT_ELEMS_PER_US, x.size // par.ELEM_CHUNK)

    def bind(ins, outs, ws):
        a, o = ins[0].reshape(-1).view(np.uint8), outs[0].reshape(-1)
        if not a.flags.writeable:
            a = a.copy()
        if nt > 1:
            return par.guarded(bound_kernel(par.lut_mt_kernel(lut, f"lut_{lut.py_func.__name__}"), a, table, o, nt))
        return bound_kernel(lut, a, table, o)
    return Lowered(outputs=[(shape, dt)], bind=bind, flops=x.size)
