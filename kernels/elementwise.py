"""Elementwise kernels: broadcast binary ops, comparisons, SELECT, unary math, CAST.

Broadcasting layout (computed once by the caller, see
``numba_infer/ops/elementwise.py``): the output is a flat C-contiguous array
viewed as a rank-6 ``shape`` (int64[6]); each input is a flat array with
per-dimension element strides (int64[6], 0 where the input is broadcast).
Adjacent dimensions that broadcast the same way are collapsed beforehand, so
the innermost dimension is as long as possible and each input's inner stride
is 1 or 0.  The kernels walk the five outer dimensions and run one contiguous
row loop per position.  Same-shape operands become one row of ``size``
elements; a scalar operand has stride 0 everywhere.

Float32 binary arithmetic (every op but POW) runs in ``binary_f32``: explicit
16-lane vectors (kernels/simd.py), one kernel per op with the op compiled in
(``binary_f32_kernel(op)``, bound by the lowering at prepare), each output row
one vector loop plus one masked tail, the nest written out in the kernel (a
row helper taking arrays would pay NRT reference counting per row).  Short
rows thus run at full width: [rows, 16] x [16] (PRELU alpha, squeeze-excite
scales) went from 0.5 to ~7 G elem/s.

``binary_minmax`` (int32 / int64, POW, and the reference for binary_f32) and
the comparisons: op codes (module constants) select the operation; the switch
is taken once per row, outside the element loop, so every row loop is a plain
loop that LLVM vectorizes (a per-element switch measured 5-40x slower: LLVM
does not unswitch it).  One Numba specialization per dtype combination serves
all ops.  Rows are taken as slices (``a[ia:ia + n]``) rather than indexed with
an offset: offset indexing kept Numba's negative-index wraparound in the loop
and stopped vectorization (6 GB/s vs 73 GB/s measured).

Numerics: float32 throughout (math functions on float32 arguments call the
float32 libm routines: expf, tanhf, erfcf, ...; all within ~1 ulp).
"""
import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from ._jit import FAST_F32, kernel
from .simd import LANES, _call, f32x16, vadd, vbroadcast, vload, vload_n, vmax, vmin, vmul, vsplat, vstore, vstore_n

# Without 'arcp': x / y and sqrt must stay IEEE operations (TFLite and XNNPack
# are exact there; arcp turned x / scalar into x * (1/scalar) and sqrt into an
# rsqrt estimate, 1 ulp off).
FAST_F32_DIV = FAST_F32 - {"arcp"}

# binary arithmetic (binary_minmax)
ADD, SUB, MUL, DIV, SQUARED_DIFFERENCE, MAXIMUM, MINIMUM, POW, PRELU = range(9)
# comparisons and logical ops (compare_bool)
LESS, LESS_EQUAL, GREATER, GREATER_EQUAL, EQUAL, NOT_EQUAL, LOGICAL_AND, LOGICAL_OR = range(8)
# unary float32 math (unary_f32)
ABS, NEG, EXP, LOG, SQRT, RSQRT, SQUARE, SIN, COS, FLOOR, CEIL, ROUND = range(12)


@kernel(fastmath=FAST_F32)
def _clamp_row(o, lo, hi):
    for i in range(o.shape[0]):
        v = o[i]
        v = lo if v < lo else v
        o[i] = hi if v > hi else v


@kernel(fastmath=FAST_F32_DIV)
def _binary_row(op, av, bv, o):
    """o = op(av, bv) over one row; av / bv have len(o) or 1 element (broadcast)."""
    n = o.shape[0]
    if av.shape[0] == n and bv.shape[0] == n:
        if op == ADD:
            for i in range(n):
                o[i] = av[i] + bv[i]
        elif op == SUB:
            for i in range(n):
                o[i] = av[i] - bv[i]
        elif op == MUL:
            for i in range(n):
                o[i] = av[i] * bv[i]
        elif op == DIV:
            for i in range(n):
                o[i] = av[i] / bv[i]
        elif op == SQUARED_DIFFERENCE:
            for i in range(n):
                d = av[i] - bv[i]
                o[i] = d * d
        elif op == MAXIMUM:
            for i in range(n):
                o[i] = av[i] if av[i] > bv[i] else bv[i]
        elif op == MINIMUM:
            for i in range(n):
                o[i] = av[i] if av[i] < bv[i] else bv[i]
        elif op == POW:
            for i in range(n):
                o[i] = av[i] ** bv[i]
        elif op == PRELU:
            for i in range(n):
                o[i] = av[i] if av[i] >= 0 else av[i] * bv[i]
    elif bv.shape[0] == n:          # a broadcast along the row
        x = av[0]
        if op == ADD:
            for i in range(n):
                o[i] = x + bv[i]
        elif op == SUB:
            for i in range(n):
                o[i] = x - bv[i]
        elif op == MUL:
            for i in range(n):
                o[i] = x * bv[i]
        elif op == DIV:
            for i in range(n):
                o[i] = x / bv[i]
        elif op == SQUARED_DIFFERENCE:
            for i in range(n):
                d = x - bv[i]
                o[i] = d * d
        elif op == MAXIMUM:
            for i in range(n):
                o[i] = x if x > bv[i] else bv[i]
        elif op == MINIMUM:
            for i in range(n):
                o[i] = x if x < bv[i] else bv[i]
        elif op == POW:
            for i in range(n):
                o[i] = x ** bv[i]
        elif op == PRELU:
            for i in range(n):
                o[i] = x if x >= 0 else x * bv[i]
    else:                           # b broadcast along the row
        y = bv[0]
        if op == ADD:
            for i in range(n):
                o[i] = av[i] + y
        elif op == SUB:
            for i in range(n):
                o[i] = av[i] - y
        elif op == MUL:
            for i in range(n):
                o[i] = av[i] * y
        elif op == DIV:
            for i in range(n):
                o[i] = av[i] / y
        elif op == SQUARED_DIFFERENCE:
            for i in range(n):
                d = av[i] - y
                o[i] = d * d
        elif op == MAXIMUM:
            for i in range(n):
                o[i] = av[i] if av[i] > y else y
        elif op == MINIMUM:
            for i in range(n):
                o[i] = av[i] if av[i] < y else y
        elif op == POW:
            for i in range(n):
                o[i] = av[i] ** y
        elif op == PRELU:
            for i in range(n):
                o[i] = av[i] if av[i] >= 0 else av[i] * y


@kernel(fastmath=FAST_F32_DIV)
def binary_minmax(op, a, b, shape, sa, sb, clamp, lo, hi, out):
    """out = clamp(op(a, b), lo, hi) with broadcasting (see module docstring).

    op: ADD..PRELU; a, b, out: flat C-contiguous arrays of one dtype (float32,
    or int32/int64 for ADD/SUB/MUL/MAXIMUM/MINIMUM); shape, sa, sb: int64[6];
    clamp: apply [lo, hi] (fused activation) when nonzero.
    Integer results wrap around like TFLite's C++ int arithmetic.
    Reference: kernels/reference/elementwise.py
    """
    n = shape[5]
    na = n if sa[5] != 0 else 1
    nb = n if sb[5] != 0 else 1
    io = 0
    for i0 in range(shape[0]):
        for i1 in range(shape[1]):
            for i2 in range(shape[2]):
                for i3 in range(shape[3]):
                    for i4 in range(shape[4]):
                        ia = i0 * sa[0] + i1 * sa[1] + i2 * sa[2] + i3 * sa[3] + i4 * sa[4]
                        ib = i0 * sb[0] + i1 * sb[1] + i2 * sb[2] + i3 * sb[3] + i4 * sb[4]
                        o = out[io:io + n]
                        _binary_row(op, a[ia:ia + na], b[ib:ib + nb], o)
                        if clamp:
                            _clamp_row(o, lo, hi)
                        io += n


# ---------------------------------------------------------------- float32 binary ops on 16-lane vectors

def _f32_binop(name, emit, doc):
    def impl(typingctx, a, b):
        if not (a == b == f32x16):
            return None

        def codegen(context, builder, sig, args):
            return emit(builder, args[0], args[1])
        return f32x16(a, b), codegen
    impl.__name__ = name
    fn = intrinsic(impl)
    fn.__doc__ = doc
    return fn


def _prelu(bd, x, alpha):
    return bd.select(bd.fcmp_ordered(">=", x, ir.Constant(x.type, None)), x, bd.fmul(x, alpha))


vsub = _f32_binop("vsub", lambda bd, a, b: bd.fsub(a, b), "a - b (IEEE).")
vdiv = _f32_binop("vdiv", lambda bd, a, b: bd.fdiv(a, b), "a / b (IEEE, no reciprocal).")
vprelu = _f32_binop("vprelu", _prelu, "x >= 0 ? x : x * alpha (NaN: x * alpha).")


@kernel(fastmath=FAST_F32_DIV)
def _vbinary(op, x, y):
    """op on 16 float32 lanes, the same IEEE operations (and NaN choices) as _binary_row."""
    if op == ADD:
        return vadd(x, y)
    if op == SUB:
        return vsub(x, y)
    if op == MUL:
        return vmul(x, y)
    if op == DIV:
        return vdiv(x, y)
    if op == SQUARED_DIFFERENCE:
        d = vsub(x, y)
        return vmul(d, d)
    if op == MAXIMUM:
        return vmax(x, y)                  # x > y ? x : y
    if op == MINIMUM:
        return vmin(x, y)                  # x < y ? x : y
    return vprelu(x, y)


def _make_binary_f32(OP):
    """binary_f32 specialized for one op (a compile-time constant)."""
    @kernel(fastmath=FAST_F32_DIV)
    def binary_f32_op(a, b, shape, sa, sb, lo, hi, out):
        vlo = vsplat(lo)
        vhi = vsplat(hi)
        n = shape[5]
        if n == 0:                  # empty output (the row loads below read element 0)
            return
        ka = sa[5] != 0
        kb = sb[5] != 0
        nv = n - n % LANES
        io = 0
        for i0 in range(shape[0]):
            for i1 in range(shape[1]):
                for i2 in range(shape[2]):
                    for i3 in range(shape[3]):
                        ia = i0 * sa[0] + i1 * sa[1] + i2 * sa[2] + i3 * sa[3]
                        ib = i0 * sb[0] + i1 * sb[1] + i2 * sb[2] + i3 * sb[3]
                        for i4 in range(shape[4]):
                            xs = vbroadcast(a, ia)
                            ys = vbroadcast(b, ib)
                            for i in range(0, nv, LANES):
                                x = vload(a, ia + i) if ka else xs
                                y = vload(b, ib + i) if kb else ys
                                # lo if v < lo; hi if v > hi (NaN passes), as _clamp_row
                                vstore(out, io + i, vmin(vhi, vmax(vlo, _vbinary(OP, x, y))))
                            if nv < n:
                                r = n - nv
                                x = vload_n(a, ia + nv, r) if ka else xs
                                y = vload_n(b, ib + nv, r) if kb else ys
                                vstore_n(out, io + nv, vmin(vhi, vmax(vlo, _vbinary(OP, x, y))), r)
                            ia += sa[4]
                            ib += sb[4]
                            io += n
    return binary_f32_op


_BINARY_F32 = {op: _make_binary_f32(op)
               for op in (ADD, SUB, MUL, DIV, SQUARED_DIFFERENCE, MAXIMUM, MINIMUM, PRELU)}
BINARY_F32_OPS = frozenset(_BINARY_F32)


def binary_f32_kernel(op):
    """The kernel binary_f32 runs for op (op in BINARY_F32_OPS), called as
    k(a, b, shape, sa, sb, lo, hi, out) with lo, hi = -inf, inf when there is no
    fused activation (the clamp is then the identity, NaN included)."""
    return _BINARY_F32[op]


def binary_f32(op, a, b, shape, sa, sb, clamp, lo, hi, out):
    """binary_minmax for float32 and op in BINARY_F32_OPS (every op but POW), on
    16-lane vectors: each output row is one vector loop with a masked tail, the op
    a compile-time constant of the per-op kernel.  Same results bit for bit (the
    same single IEEE operation per element, the same select for MAXIMUM / MINIMUM /
    PRELU / the clamp).  A plain-Python dispatch to binary_f32_kernel(op) (which
    lowerings bind at prepare): a jitted dispatcher would compile all eight.
    Reference: kernels/reference/elementwise.py
    """
    if not clamp:
        lo, hi = np.float32(-np.inf), np.float32(np.inf)
    _BINARY_F32[op](a, b, shape, sa, sb, np.float32(lo), np.float32(hi), out)


@kernel(fastmath=FAST_F32)
def _compare_row(op, av, bv, o):
    n = o.shape[0]
    if av.shape[0] == n and bv.shape[0] == n:
        if op == LESS:
            for i in range(n):
                o[i] = av[i] < bv[i]
        elif op == LESS_EQUAL:
            for i in range(n):
                o[i] = av[i] <= bv[i]
        elif op == GREATER:
            for i in range(n):
                o[i] = av[i] > bv[i]
        elif op == GREATER_EQUAL:
            for i in range(n):
                o[i] = av[i] >= bv[i]
        elif op == EQUAL:
            for i in range(n):
                o[i] = av[i] == bv[i]
        elif op == NOT_EQUAL:
            for i in range(n):
                o[i] = av[i] != bv[i]
        elif op == LOGICAL_AND:
            for i in range(n):
                o[i] = av[i] and bv[i]
        elif op == LOGICAL_OR:
            for i in range(n):
                o[i] = av[i] or bv[i]
    elif bv.shape[0] == n:
        x = av[0]
        if op == LESS:
            for i in range(n):
                o[i] = x < bv[i]
        elif op == LESS_EQUAL:
            for i in range(n):
                o[i] = x <= bv[i]
        elif op == GREATER:
            for i in range(n):
                o[i] = x > bv[i]
        elif op == GREATER_EQUAL:
            for i in range(n):
                o[i] = x >= bv[i]
        elif op == EQUAL:
            for i in range(n):
                o[i] = x == bv[i]
        elif op == NOT_EQUAL:
            for i in range(n):
                o[i] = x != bv[i]
        elif op == LOGICAL_AND:
            for i in range(n):
                o[i] = x and bv[i]
        elif op == LOGICAL_OR:
            for i in range(n):
                o[i] = x or bv[i]
    else:
        y = bv[0]
        if op == LESS:
            for i in range(n):
                o[i] = av[i] < y
        elif op == LESS_EQUAL:
            for i in range(n):
                o[i] = av[i] <= y
        elif op == GREATER:
            for i in range(n):
                o[i] = av[i] > y
        elif op == GREATER_EQUAL:
            for i in range(n):
                o[i] = av[i] >= y
        elif op == EQUAL:
            for i in range(n):
                o[i] = av[i] == y
        elif op == NOT_EQUAL:
            for i in range(n):
                o[i] = av[i] != y
        elif op == LOGICAL_AND:
            for i in range(n):
                o[i] = av[i] and y
        elif op == LOGICAL_OR:
            for i in range(n):
                o[i] = av[i] or y


@kernel
def compare_bool(op, a, b, shape, sa, sb, out):
    """out (bool) = op(a, b) with broadcasting; op: LESS..LOGICAL_OR.

    a, b: flat arrays of one dtype (float32/int32/int64/bool...); exact.
    Reference: kernels/reference/elementwise.py
    """
    n = shape[5]
    na = n if sa[5] != 0 else 1
    nb = n if sb[5] != 0 else 1
    io = 0
    for i0 in range(shape[0]):
        for i1 in range(shape[1]):
            for i2 in range(shape[2]):
                for i3 in range(shape[3]):
                    for i4 in range(shape[4]):
                        ia = i0 * sa[0] + i1 * sa[1] + i2 * sa[2] + i3 * sa[3] + i4 * sa[4]
                        ib = i0 * sb[0] + i1 * sb[1] + i2 * sb[2] + i3 * sb[3] + i4 * sb[4]
                        _compare_row(op, a[ia:ia + na], b[ib:ib + nb], out[io:io + n])
                        io += n


@kernel
def select_bcast(c, x, y, shape, sc, sx, sy, out):
    """out = c ? x : y with broadcasting (SELECT / SELECT_V2); dtype-generic, exact.

    c: flat bool; x, y, out: flat arrays of one dtype; shape, sc, sx, sy: int64[6].
    Reference: kernels/reference/elementwise.py
    """
    n = shape[5]
    nc = n if sc[5] != 0 else 1
    nx = n if sx[5] != 0 else 1
    ny = n if sy[5] != 0 else 1
    io = 0
    for i0 in range(shape[0]):
        for i1 in range(shape[1]):
            for i2 in range(shape[2]):
                for i3 in range(shape[3]):
                    for i4 in range(shape[4]):
                        ic = i0 * sc[0] + i1 * sc[1] + i2 * sc[2] + i3 * sc[3] + i4 * sc[4]
                        ix = i0 * sx[0] + i1 * sx[1] + i2 * sx[2] + i3 * sx[3] + i4 * sx[4]
                        iy = i0 * sy[0] + i1 * sy[1] + i2 * sy[2] + i3 * sy[3] + i4 * sy[4]
                        cv = c[ic:ic + nc]
                        xv = x[ix:ix + nx]
                        yv = y[iy:iy + ny]
                        o = out[io:io + n]
                        if nc == n and nx == n and ny == n:
                            for i in range(n):
                                o[i] = xv[i] if cv[i] else yv[i]
                        else:
                            # strides are 0 or 1 here: index i * (len > 1)
                            kc = 1 if nc == n else 0
                            kx = 1 if nx == n else 0
                            ky = 1 if ny == n else 0
                            for i in range(n):
                                o[i] = xv[i * kx] if cv[i * kc] else yv[i * ky]
                        io += n


@kernel(fastmath=FAST_F32_DIV)
def unary_f32(op, x, out):
    """out = op(x) elementwise, float32; op: ABS..ROUND (ROUND: half to even).

    x, out: flat float32. Reference: kernels/reference/elementwise.py
    """
    n = out.shape[0]
    one = np.float32(1.0)
    if op == ABS:
        for i in range(n):
            out[i] = abs(x[i])
    elif op == NEG:
        for i in range(n):
            out[i] = -x[i]
    elif op == EXP:
        for i in range(n):
            out[i] = math.exp(x[i])
    elif op == LOG:
        for i in range(n):
            out[i] = math.log(x[i])
    elif op == SQRT:
        for i in range(n):
            out[i] = math.sqrt(x[i])
    elif op == RSQRT:
        for i in range(n):
            out[i] = one / math.sqrt(x[i])
    elif op == SQUARE:
        for i in range(n):
            out[i] = x[i] * x[i]
    elif op == SIN:
        for i in range(n):
            out[i] = math.sin(x[i])
    elif op == COS:
        for i in range(n):
            out[i] = math.cos(x[i])
    elif op == FLOOR:
        for i in range(n):
            out[i] = np.floor(x[i])
    elif op == CEIL:
        for i in range(n):
            out[i] = np.ceil(x[i])
    elif op == ROUND:
        for i in range(n):
            out[i] = np.rint(x[i])


@kernel
def cast(x, out):
    """out = x converted to out's dtype (C static_cast: float->int truncates,
    int->narrower int wraps, nonzero->True).  Flat arrays, exact.
    Reference: kernels/reference/elementwise.py
    """
    for i in range(out.shape[0]):
        out[i] = x[i]


@kernel
def logical_not_bool(x, out):
    """out = not x, flat bool arrays. Reference: kernels/reference/elementwise.py"""
    for i in range(out.shape[0]):
        out[i] = not x[i]


# ---------------------------------------------------------------- XNNPack-exact RSQRT (AVX-512 hosts)

@intrinsic
def rsqrt14_f32(typingctx, a):
    """vrsqrt14ss on one float32: the AVX-512 14-bit reciprocal square root estimate.
    Only valid on a host with AVX-512F (the lowering checks numba_infer.isa.AVX512F)."""
    if a != types.float32:
        return None

    def codegen(context, builder, sig, args):
        v4 = ir.VectorType(ir.FloatType(), 4)
        zero = ir.Constant(v4, None)
        v = builder.insert_element(zero, args[0], ir.Constant(ir.IntType(32), 0))
        r = _call(builder, "llvm.x86.avx512.rsqrt14.ss", v4, [v, v, zero, ir.Constant(ir.IntType(8), -1)])
        return builder.extract_element(r, ir.Constant(ir.IntType(32), 0))
    return types.float32(a), codegen


_MIN_NORMAL = np.float32(1.1754943508222875e-38)


@kernel
def _ftz(v):
    return v * np.float32(0.0) if abs(v) < _MIN_NORMAL else v


@kernel
def rsqrt_f32_xnn(x, out):
    """out = 1/sqrt(x) as XNNPack's f32-vrsqrt avx512f rsqrt kernel under LiteRT (which
    runs with denormals-are-zero and flush-to-zero): t = rsqrt14(x), one Newton-Raphson
    step without FMA, y = t - ((x * (t * t) - 1) * (0.5 * t)); x = +inf gives 0.
    AVX-512F hosts only.  x, out: flat float32.  Reference: kernels/reference/elementwise.py
    """
    one = np.float32(1.0)
    half = np.float32(0.5)
    for i in range(out.shape[0]):
        v = _ftz(x[i])
        t = rsqrt14_f32(v)
        t5 = _ftz(_ftz(_ftz(v * _ftz(t * t)) - one) * _ftz(half * t))
        y = _ftz(t - t5)
        out[i] = np.float32(0.0) if v == np.inf else y


# ---------------------------------------------------------------- XNNPack-exact SQRT

from .activation import ftz   # noqa: E402


@kernel
def sqrt_f32_xnn(x, out):
    """sqrt as XNNPack's f32-vsqrt avx512f rsqrt kernel under LiteRT (FTZ/DAZ): t = rsqrt14(x),
    one Newton-Raphson step without FMA, t = t - ((x * (t * t) - 1) * (0.5 * t)), t = 0 where
    x == 0, out = x * t, +inf for x = +inf.  AVX-512F hosts only.  x, out: flat float32.
    Reference: kernels/reference/elementwise.py
    """
    one = np.float32(1.0)
    half = np.float32(0.5)
    for i in range(out.shape[0]):
        v = ftz(x[i])
        t = rsqrt14_f32(v)
        t = ftz(t - ftz(ftz(ftz(v * ftz(t * t)) - one) * ftz(half * t)))
        if v == np.float32(0.0):
            t = np.float32(0.0)
        y = ftz(v * t)
        out[i] = np.float32(np.inf) if v == np.inf else y
