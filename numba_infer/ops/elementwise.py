"""Elementwise ops: broadcast arithmetic (ADD, SUB, MUL, DIV, SQUARED_DIFFERENCE,
MAXIMUM, MINIMUM, POW), comparisons, logical ops, SELECT/SELECT_V2, unary float
math (ABS ... ROUND) and CAST.

Broadcasting is planned here, once: :func:`bcast_layout` turns the output shape
and each input's shape into a rank-6 loop shape plus per-input element strides
(0 on broadcast dims), after dropping size-1 dims and merging adjacent dims
that every input walks contiguously (or broadcasts) the same way.  Same-shape
operands collapse to one contiguous row, a scalar operand to stride 0, a
per-channel operand ([..., C] against [C]) to rows of C with its row stride 0.
The kernels then run one generic strided loop whose rows are plain vectorized
loops.  Float32 and 8-bit binary arithmetic bind a kernel specialized for the
op at prepare (kernels.elementwise.binary_f32_kernel, kernels.qelementwise.
qbinary_kernel): explicit 16-lane vector rows with a masked tail, so short
rows (C = 16, 24, ...) run at full vector width too.

Threads: with num_threads > 1, large float32 unary ops (unary_lowered: every
float activation / math kernel) and float32 and 8-bit binary arithmetic run in nt
contiguous output chunks (kernels/parallel.py unary_mt_kernel /
binary_mt_kernel, split_bcast: the outermost loop dimension, or 64-element
blocks of a single row), each chunk the serial kernel on slices, so outputs are
bit-identical to one thread; one thread (or a small op, plan_threads) binds the
serial kernel.
"""
from __future__ import annotations

import numpy as np

from .. import isa
from ..errors import ModelValidationError
from ..kernels import elementwise as K
from ..kernels import parallel as par
from ..kernels import qelementwise as Q
from ..kernels.elementwise import binary_minmax, cast, compare_bool, logical_not_bool, select_bcast, unary_f32
from ..kernels.qelementwise import qcompare_bool
from ..quant import act_range_q, quantize_multiplier, tensor_qparams
from .common import act_range_f32, bound_kernel, broadcast_shape
from .registry import Lowered, lowering

RANK = 6
QUANTIZED = (np.dtype(np.int8), np.dtype(np.uint8), np.dtype(np.int16))


def bcast_layout(ctx, out_shape, in_shapes):
    """(shape int64[6], [strides int64[6] per input]) for the kernels' loop nest.

    Strides are in elements of each input's flat C-contiguous array, 0 where
    the input is broadcast.  Fails (UnsupportedError) if more than 6 dims remain
    after merging, which needs inputs of rank > 6 (TFLite's own limit is 6).
    """
    r = len(out_shape)
    strides = []
    for s in in_shapes:
        s = (1,) * (r - len(s)) + tuple(s)
        st, acc = [0] * r, 1
        for k in range(r - 1, -1, -1):
            st[k] = acc if s[k] != 1 else 0
            acc *= s[k]
        strides.append(st)
    dims, cols = [], []                      # merged dims and per-dim stride tuples
    for k in range(r):
        d = int(out_shape[k])
        if d == 1:
            continue
        col = tuple(st[k] for st in strides)
        if dims and all(p == c * d for p, c in zip(cols[-1], col)):
            dims[-1] *= d
            cols[-1] = col
        else:
            dims.append(d)
            cols.append(col)
    if len(dims) > RANK:
        ctx.fail(f"broadcast of shapes {[list(s) for s in in_shapes]} needs more than {RANK} dims")
    pad = RANK - len(dims)
    shape = np.array([1] * pad + dims, np.int64)
    out = [np.array([0] * pad + [c[i] for c in cols], np.int64) for i in range(len(in_shapes))]
    return shape, out


def flat(a):
    """A writable flat view (constants that are read-only are copied once, so
    Numba does not compile a separate read-only specialization)."""
    a = a.reshape(-1)
    return a if a.flags.writeable else a.copy()


def refuse_quantized(ctx, *ts):
    for t in ts:
        if t.dtype in QUANTIZED and t.quant is not None:
            ctx.fail(f"quantized {t.dtype.name} inputs are not supported yet (tensor {t.name!r})")


def same_dtype(ctx, ts, allowed):
    refuse_quantized(ctx, *ts)
    d = ts[0].dtype
    for t in ts:
        ctx.expect_dtype(t, *allowed)
        if t.dtype != d:
            ctx.fail(f"operand dtypes differ: {d.name} vs {t.dtype.name}", ModelValidationError)
    return d


def _int_range(code, dtype):
    info = np.iinfo(dtype)
    table = {0: (info.min, info.max), 1: (0, info.max), 2: (-1, 1), 3: (0, 6)}
    return table.get(code)


# single-thread rates used to guess an op's run time (plan_threads; measured, 1 thread:
# XNNPack LOGISTIC ~4 G elem/s, the 16-lane MUL ~7.5 G elem/s on 400K-element maps)
F32_UNARY_ELEMS_PER_US = 4000.0
F32_BINARY_ELEMS_PER_US = 8000.0
# int8 MUL of efficientnet_v2_b0_int8 (14 x 14 x 672): ~6.7 G elem/s
Q8_BINARY_ELEMS_PER_US = 6500.0


def binary_lowered(ctx, op, a, b, out_shape, dtype, act=0):
    """Lowered for binary_minmax(op) of inputs 0/1 with fused activation code act."""
    shape, (sa, sb) = bcast_layout(ctx, out_shape, [a.shape, b.shape])
    if dtype == np.float32:
        lo, hi = act_range_f32(ctx, act)
        lo, hi = np.float32(lo), np.float32(hi)
    else:
        rng = _int_range(act, dtype)
        if rng is None:
            ctx.fail(f"fused activation code {act} is not supported on {dtype.name}")
        lo, hi = dtype.type(rng[0]), dtype.type(rng[1])
    clamp = bool(act != 0)
    size = int(np.prod(out_shape, dtype=np.int64))
    if dtype == np.float32 and op in K.BINARY_F32_OPS:
        # 16-lane vector rows, the op compiled in; no fused activation = the identity clamp
        fn = K.binary_f32_kernel(op)
        if not clamp:
            lo, hi = np.float32(-np.inf), np.float32(np.inf)

        nt = par.plan_threads(ctx.settings.num_threads, size / F32_BINARY_ELEMS_PER_US, size // par.ELEM_CHUNK)

        def bind(ins, outs, ws):
            x, y, o = flat(ins[0]), flat(ins[1]), outs[0].reshape(-1)
            if size == 0:
                return lambda: None
            if nt > 1:
                drv = par.binary_mt_kernel(fn, f"binary_f32_{op}")
                shapes, offs = par.split_bcast(shape, sa, sb, nt)
                return par.guarded(bound_kernel(drv, x, y, shapes, offs, sa, sb, lo, hi, o))
            return bound_kernel(fn, x, y, shape, sa, sb, lo, hi, o)
        return Lowered(outputs=[(out_shape, dtype)], bind=bind, flops=size)

    def bind(ins, outs, ws):
        x, y, o = flat(ins[0]), flat(ins[1]), outs[0].reshape(-1)
        if size == 0:
            return lambda: None
        return bound_kernel(binary_minmax, op, x, y, shape, sa, sb, clamp, lo, hi, o)
    return Lowered(outputs=[(out_shape, dtype)], bind=bind, flops=size)


_ARITH = {"ADD": K.ADD, "SUB": K.SUB, "MUL": K.MUL, "DIV": K.DIV, "SQUARED_DIFFERENCE": K.SQUARED_DIFFERENCE,
          "MAXIMUM": K.MAXIMUM, "MINIMUM": K.MINIMUM, "POW": K.POW}
_INT_OK = ("ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM")
_FUSED = ("ADD", "SUB", "MUL", "DIV")


@lowering(*_ARITH)
def arithmetic(ctx):
    ctx.expect_inputs(2, 2)
    a, b = ctx.input(0), ctx.input(1)
    name = ctx.node.op
    if is_quantized(a) or is_quantized(b):
        return quantized_arithmetic(ctx, name, a, b)
    allowed = (np.float32, np.int32, np.int64) if name in _INT_OK else (np.float32,)
    dtype = same_dtype(ctx, [a, b], allowed)
    out_shape = broadcast_shape(ctx, a.shape, b.shape)
    act = int(ctx.opt("fused_activation_function", 0)) if name in _FUSED else 0
    return binary_lowered(ctx, _ARITH[name], a, b, out_shape, dtype, act)


_COMPARE = {"LESS": K.LESS, "LESS_EQUAL": K.LESS_EQUAL, "GREATER": K.GREATER, "GREATER_EQUAL": K.GREATER_EQUAL,
            "EQUAL": K.EQUAL, "NOT_EQUAL": K.NOT_EQUAL, "LOGICAL_AND": K.LOGICAL_AND, "LOGICAL_OR": K.LOGICAL_OR}


@lowering(*_COMPARE)
def comparison(ctx):
    ctx.expect_inputs(2, 2)
    a, b = ctx.input(0), ctx.input(1)
    name = ctx.node.op
    if name.startswith("LOGICAL"):
        allowed = (np.bool_,)
    elif name in ("EQUAL", "NOT_EQUAL"):
        allowed = (np.float32, np.int32, np.int64, np.bool_)
    else:
        allowed = (np.float32, np.int32, np.int64)
    if not name.startswith("LOGICAL") and (is_quantized(a) or is_quantized(b)):
        return quantized_comparison(ctx, name, a, b)
    same_dtype(ctx, [a, b], allowed)
    out_shape = broadcast_shape(ctx, a.shape, b.shape)
    shape, (sa, sb) = bcast_layout(ctx, out_shape, [a.shape, b.shape])
    op = _COMPARE[name]
    size = int(np.prod(out_shape, dtype=np.int64))

    def bind(ins, outs, ws):
        x, y, o = flat(ins[0]), flat(ins[1]), outs[0].reshape(-1)
        if size == 0:
            return lambda: None
        return bound_kernel(compare_bool, op, x, y, shape, sa, sb, o)
    return Lowered(outputs=[(out_shape, np.bool_)], bind=bind)


@lowering("LOGICAL_NOT")
def logical_not(ctx):
    ctx.expect_inputs(1, 1)
    x = ctx.input(0)
    ctx.expect_dtype(x, np.bool_)

    def bind(ins, outs, ws):
        a, o = flat(ins[0]), outs[0].reshape(-1)
        return bound_kernel(logical_not_bool, a, o)
    return Lowered(outputs=[(x.shape, np.bool_)], bind=bind)


SELECT_DTYPES = (np.float32, np.int32, np.int64, np.bool_, np.int8, np.uint8, np.int16)


@lowering("SELECT", "SELECT_V2")
def select(ctx):
    """SELECT (v1): x and y have the same shape; the condition has that shape, is a
    scalar, or is rank 1 of length x.shape[0] selecting whole rows (TFLite
    select.cc RankOneSelect).  SELECT_V2: all three broadcast (NumPy rules)."""
    ctx.expect_inputs(3, 3)
    c, x, y = ctx.input(0), ctx.input(1), ctx.input(2)
    ctx.expect_dtype(c, np.bool_)
    dtype = same_dtype(ctx, [x, y], SELECT_DTYPES)
    cshape = tuple(c.shape)
    if ctx.node.op == "SELECT":
        if tuple(x.shape) != tuple(y.shape):
            ctx.fail(f"SELECT needs x and y of the same shape, got {list(x.shape)} and {list(y.shape)}",
                     ModelValidationError)
        out_shape = tuple(x.shape)
        if len(cshape) == 1 and len(out_shape) > 1 and cshape[0] == out_shape[0]:
            cshape = cshape + (1,) * (len(out_shape) - 1)        # one condition per row
        elif len(cshape) != 0 and cshape != out_shape:
            ctx.fail(f"SELECT condition shape {list(c.shape)} does not match {list(out_shape)}",
                     ModelValidationError)
    else:
        out_shape = broadcast_shape(ctx, broadcast_shape(ctx, cshape, x.shape), y.shape)
    shape, (sc, sx, sy) = bcast_layout(ctx, out_shape, [cshape, x.shape, y.shape])
    size = int(np.prod(out_shape, dtype=np.int64))

    def bind(ins, outs, ws):
        cc, xx, yy, o = flat(ins[0]), flat(ins[1]), flat(ins[2]), outs[0].reshape(-1)
        if size == 0:
            return lambda: None
        return bound_kernel(select_bcast, cc, xx, yy, shape, sc, sx, sy, o)
    return Lowered(outputs=[(out_shape, dtype)], bind=bind)


_Q_UNARY = ("ABS", "NEG", "EXP", "LOG", "RSQRT", "SQRT")
_UNARY = {"ABS": K.ABS, "NEG": K.NEG, "EXP": K.EXP, "LOG": K.LOG, "SQRT": K.SQRT, "RSQRT": K.RSQRT,
          "SQUARE": K.SQUARE, "SIN": K.SIN, "COS": K.COS, "FLOOR": K.FLOOR, "CEIL": K.CEIL, "ROUND": K.ROUND}


def unary_lowered(ctx, kernel_fn, *args):
    """Lowered for a flat float32 unary kernel kernel_fn(*args, x, out) on input 0."""
    ctx.expect_inputs(1, 1)
    x = ctx.input(0)
    refuse_quantized(ctx, x)
    ctx.expect_dtype(x, np.float32)

    size = int(x.size)
    nt = par.plan_threads(ctx.settings.num_threads, size / F32_UNARY_ELEMS_PER_US, size // par.ELEM_CHUNK)

    def bind(ins, outs, ws):
        a, o = flat(ins[0]), outs[0].reshape(-1)
        if nt > 1:
            pf = kernel_fn.py_func
            drv = par.unary_mt_kernel(kernel_fn, f"{pf.__module__.rsplit('.', 1)[-1]}_{pf.__name__}")
            return par.guarded(bound_kernel(drv, args, a, o, nt))
        return bound_kernel(kernel_fn, *args, a, o)
    return Lowered(outputs=[(tuple(x.shape), np.float32)], bind=bind, flops=x.size)


@lowering(*_UNARY)
def unary(ctx):
    if ctx.inputs and ctx.inputs[0] is not None and is_quantized(ctx.inputs[0]) and ctx.node.op in _Q_UNARY:
        from .activation import quantized_unary
        return quantized_unary(ctx)
    if ctx.node.op == "RSQRT" and ctx.settings.numerics == "xnnpack" and isa.AVX512F:
        # LiteRT's XNNPack on an AVX-512 host: rsqrt14 + one Newton-Raphson step
        return unary_lowered(ctx, K.rsqrt_f32_xnn)
    if ctx.node.op == "SQRT" and ctx.settings.numerics == "xnnpack" and isa.AVX512F:
        # XNNPack's vsqrt on an AVX-512 host: x * (rsqrt14 + one Newton-Raphson step)
        return unary_lowered(ctx, K.sqrt_f32_xnn)
    return unary_lowered(ctx, unary_f32, _UNARY[ctx.node.op])


# TensorType codes (schema.fbs) of the dtypes CAST converts between.
CAST_TYPES = {0: np.float32, 2: np.int32, 3: np.uint8, 4: np.int64, 6: np.bool_, 9: np.int8}


@lowering("CAST")
def cast_op(ctx):
    """CAST between float32/int32/int64/bool/uint8/int8, C static_cast semantics
    (float->int truncates toward zero; out-of-range values are undefined in TFLite too)."""
    ctx.expect_inputs(1, 1)
    x = ctx.input(0)
    ctx.expect_dtype(x, *CAST_TYPES.values())
    out_dt = ctx.outputs[0].dtype
    code = ctx.opt("out_data_type")
    if code and code in CAST_TYPES:              # options, when present, must agree with the tensor
        if out_dt is not None and np.dtype(CAST_TYPES[code]) != out_dt:
            ctx.fail(f"CAST out_data_type {np.dtype(CAST_TYPES[code]).name} disagrees with output "
                     f"tensor dtype {out_dt.name}", ModelValidationError)
    if out_dt is None or out_dt not in [np.dtype(d) for d in CAST_TYPES.values()]:
        ctx.fail(f"CAST to {ctx.outputs[0].type_name} is not supported")

    def bind(ins, outs, ws):
        a, o = flat(ins[0]), outs[0].reshape(-1)
        return bound_kernel(cast, a, o)
    return Lowered(outputs=[(tuple(x.shape), out_dt)], bind=bind)


# ---------------------------------------------------------------- quantized (int8 / uint8)
Q8 = (np.dtype(np.int8), np.dtype(np.uint8))


def is_quantized(t):
    return t.dtype in QUANTIZED and t.quant is not None and t.quant.scale is not None and t.quant.scale.size > 0


def quantize_multiplier_lt1(ctx, m, what):
    """TFLite QuantizeMultiplierSmallerThanOneExp: (M, shift <= 0) for 0 < m < 1
    (TFLite CHECK-fails outside that range; we refuse the model instead)."""
    if not 0.0 < m < 1.0:
        ctx.fail(f"{what} multiplier {m!r} is outside (0, 1), which TFLite cannot quantize "
                 f"(unusual quantization scales)", ModelValidationError)
    return quantize_multiplier(m)


def q8_operands(ctx, ts, out):
    """Validate int8/uint8 operands that share out's dtype; returns [(scale, zp)] of ts + [out]."""
    d = out.dtype
    for t in list(ts) + [out]:
        if t.dtype not in Q8:
            ctx.fail(f"quantized {t.dtype.name} tensors are not supported by this op (tensor {t.name!r}); "
                     f"int8 and uint8 are")
        if t.dtype != d:
            ctx.fail(f"operand dtypes differ: {t.dtype.name} vs {d.name}", ModelValidationError)
    return [tensor_qparams(ctx, t) for t in list(ts) + [out]]


def add_params_tflite(ctx, q1, q2, qo, left_shift, squared=False):
    """TFLite add.cc / sub.cc / squared_difference.cc Prepare: the input rescale
    multipliers (relative to twice the larger input scale) and the output multiplier."""
    tm = 2.0 * max(q1[0], q2[0])                       # scales are float32 values; x2 exact
    m1 = quantize_multiplier_lt1(ctx, q1[0] / tm, "input 1")
    m2 = quantize_multiplier_lt1(ctx, q2[0] / tm, "input 2")
    real_out = tm * tm / (float(1 << (2 * left_shift)) * qo[0]) if squared else tm / (float(1 << left_shift) * qo[0])
    mo = quantize_multiplier_lt1(ctx, real_out, "output")
    return [left_shift, m1[0], m1[1], m2[0], m2[1], mo[0], mo[1]]


def _xnn_add_params(q1, q2, qo, sign):
    """XNNPack qs8/qu8 add: (am, bm, shift) from float32 scale ratios, or None when
    the XNNPack delegate would refuse the node (ratio outside [2**-10, 2**8))."""
    r1 = float(np.float32(q1[0]) / np.float32(qo[0]))
    r2 = float(np.float32(q2[0]) / np.float32(qo[0]))
    if not all(2.0 ** -10 <= r < 2.0 ** 8 for r in (r1, r2)):
        return None
    exp = int(np.float32(max(r1, r2)).view(np.uint32) >> 23) - 127
    shift = 20 - exp
    am = int(np.rint(np.float32(r1) * np.float32(2.0 ** shift)))       # lrintf of an exact power-of-2 scaling
    bm = int(np.rint(np.float32(r2) * np.float32(2.0 ** shift)))
    return [am, sign * bm, shift]


def _xnn_mul_scale(q1, q2, qo):
    s = np.float32(np.float32(q1[0]) * np.float32(q2[0])) / np.float32(qo[0])
    return s if 2.0 ** -16 <= float(s) < 2.0 ** 8 else None


def quantized_arithmetic(ctx, name, a, b):
    """ADD, SUB, MUL, SQUARED_DIFFERENCE, MAXIMUM, MINIMUM on int8 / uint8.

    numerics="xnnpack" (LiteRT's default resolver): ADD/SUB/MUL as XNNPack's qs8/qu8
    kernels when the delegate takes the node (scale ratios in its range), else TFLite's.
    numerics="tflite": TFLite's builtin kernels (reference formulas; LiteRT's optimized
    NEON-emulated loops give the same numbers here, checked exhaustively over all
    256 x 256 input pairs).  SQUARED_DIFFERENCE is int8-only in TFLite and never
    delegated; MAXIMUM/MINIMUM compare stored values, so we require equal parameters.
    """
    out = ctx.outputs[0]
    if out.dtype is None or not is_quantized(out):
        ctx.fail(f"quantized {name} needs a quantized output tensor", ModelValidationError)
    (q1, q2, qo) = q8_operands(ctx, [a, b], out)
    dtype = out.dtype
    out_shape = broadcast_shape(ctx, a.shape, b.shape)
    fused = name in _FUSED
    if name == "DIV" or name == "POW":
        ctx.fail(f"quantized {name} is not supported (TFLite has no int8 {name} either)")
    lo, hi = act_range_q(ctx, out, ctx.opt("fused_activation_function", 0) if fused else 0)
    p = [q1[1], q2[1], qo[1], lo, hi]
    fscale = np.float32(0.0)
    xnn = ctx.settings.numerics == "xnnpack"
    if name in ("ADD", "SUB"):
        sign = 1 if name == "ADD" else -1
        xp = _xnn_add_params(q1, q2, qo, sign) if xnn else None
        if xp is not None:
            op, p = Q.Q_ADD_XNN, p + xp
        else:
            op, p = Q.Q_ADD_TFL, p + add_params_tflite(ctx, q1, q2, qo, 20) + [sign]
    elif name == "MUL":
        xs = _xnn_mul_scale(q1, q2, qo) if xnn else None
        if xs is not None:
            op, fscale = Q.Q_MUL_XNN, np.float32(xs)
        else:
            m, sh = quantize_multiplier(q1[0] * q2[0] / qo[0])
            if not -31 <= sh <= 30:
                ctx.fail(f"MUL output multiplier out of range (shift {sh})", ModelValidationError)
            op, p = Q.Q_MUL_TFL, p + [m, sh]
    elif name == "SQUARED_DIFFERENCE":
        if dtype != np.int8:
            ctx.fail("quantized SQUARED_DIFFERENCE supports int8 only (as TFLite)")
        op, p = Q.Q_SQDIFF_TFL, p + add_params_tflite(ctx, q1, q2, qo, 7, squared=True) + [1]
    else:                                                   # MAXIMUM / MINIMUM
        if not (q1 == q2 == qo):
            ctx.fail(f"quantized {name} with different input/output quantization parameters "
                     f"(TFLite compares stored values without rescaling)")
        op = Q.Q_MAX if name == "MAXIMUM" else Q.Q_MIN
    params = np.array(p + [0] * (16 - len(p)), np.int64)
    shape, (sa, sb) = bcast_layout(ctx, out_shape, [a.shape, b.shape])
    size = int(np.prod(out_shape, dtype=np.int64))

    fn = Q.qbinary_kernel(op)             # the op compiled in (qbinary dispatches to the same kernels)
    # threads: the float driver's chunks (its lo / hi slots carry params / fscale); elements are independent
    nt = par.plan_threads(ctx.settings.num_threads, size / Q8_BINARY_ELEMS_PER_US, size // par.ELEM_CHUNK)

    def bind(ins, outs, ws):
        x, y, o = flat(ins[0]), flat(ins[1]), outs[0].reshape(-1)
        if size == 0:
            return lambda: None
        if nt > 1:
            drv = par.binary_mt_kernel(fn, f"qbinary_{op}")
            shapes, offs = par.split_bcast(shape, sa, sb, nt)
            return par.guarded(bound_kernel(drv, x, y, shapes, offs, sa, sb, params, fscale, o))
        return bound_kernel(fn, x, y, shape, sa, sb, params, fscale, o)
    return Lowered(outputs=[(out_shape, dtype)], bind=bind, flops=size)


def quantized_comparison(ctx, name, a, b):
    """LESS ... NOT_EQUAL on int8 / uint8 (TFLite comparisons.cc): both inputs are
    rescaled with left_shift 8 and QuantizeMultiplierSmallerThanOneExp(scale), then
    compared (never delegated to XNNPack)."""
    if a.dtype not in Q8 or b.dtype != a.dtype:
        ctx.fail(f"quantized comparison of {a.dtype.name} and {b.dtype.name} is not supported")
    q1, q2 = tensor_qparams(ctx, a), tensor_qparams(ctx, b)
    m1 = quantize_multiplier_lt1(ctx, q1[0], "input 1 scale")
    m2 = quantize_multiplier_lt1(ctx, q2[0], "input 2 scale")
    params = np.array([q1[1], q2[1], 8, m1[0], m1[1], m2[0], m2[1]], np.int64)
    out_shape = broadcast_shape(ctx, a.shape, b.shape)
    shape, (sa, sb) = bcast_layout(ctx, out_shape, [a.shape, b.shape])
    op = _COMPARE[name]
    size = int(np.prod(out_shape, dtype=np.int64))

    def bind(ins, outs, ws):
        x, y, o = flat(ins[0]), flat(ins[1]), outs[0].reshape(-1)
        if size == 0:
            return lambda: None
        return bound_kernel(qcompare_bool, op, x, y, shape, sa, sb, params, o)
    return Lowered(outputs=[(out_shape, np.bool_)], bind=bind)
