"""Quantized (int8 / uint8) elementwise kernels: broadcast binary arithmetic,
comparisons, 8-bit lookup tables and the int8/uint8 softmax.

Broadcast layout: as kernels/elementwise.py (rank-6 ``shape``, per-input element
strides, 0 where broadcast; the innermost stride is 1 or 0).

Binary ops (``qbinary``) take their integer constants in one int64 array ``p``
(layout below, filled by numba_infer/ops/elementwise.py at prepare time):

    p[0] a_zp   p[1] b_zp   p[2] out_zp   p[3] qmin   p[4] qmax   p[5:] op-specific

- ``Q_ADD_TFL`` (ADD / SUB, TFLite add.cc / sub.cc, 20-bit left shift):
  p[5] left_shift, p[6] m1, p[7] s1, p[8] m2, p[9] s2, p[10] mo, p[11] so, p[12] sign (+1 ADD, -1 SUB)
      a' = MBQM((a - a_zp) << left_shift, m1, s1)      (s1, s2, so <= 0)
      b' = MBQM((b - b_zp) << left_shift, m2, s2)
      out = clamp(MBQM(a' + sign * b', mo, so) + out_zp, qmin, qmax)
- ``Q_SQDIFF_TFL`` (squared_difference.cc int8): same layout, left_shift 7,
      out = clamp(MBQM((a' - b')**2, mo, so) + out_zp, qmin, qmax)
- ``Q_ADD_XNN`` (XNNPack qs8/qu8 vadd, also SUB with a negative b multiplier):
  p[5] am, p[6] bm, p[7] shift
      out = clamp(((2**(shift-1) - am*a_zp - bm*b_zp + a*am + b*bm) >> shift) + out_zp, qmin, qmax)
- ``Q_MUL_TFL`` (mul.cc): p[5] M, p[6] s
      out = clamp(MBQM((a - a_zp) * (b - b_zp), M, s) + out_zp, qmin, qmax)
- ``Q_MUL_XNN`` (XNNPack qs8/qu8 vmul fp32 requantization): fscale (float32)
      out = clamp(rne(float32((a - a_zp) * (b - b_zp)) * fscale) + out_zp, qmin, qmax)
- ``Q_MAX`` / ``Q_MIN``: raw integer max / min (TFLite compares the stored values).

Numerics: integer arithmetic, no fastmath (MBQM is TFLite's double-rounding
MultiplyByQuantizedMultiplier from kernels/requant.py).

Speed: ``qbinary`` runs on 16-lane vectors (explicit SIMD, target-independent
LLVM IR: zmm on AVX-512, split on narrower targets).  Every formula above is
computed in int32 lanes, bit-exact with the int64 scalar definitions: wrapping
int32 sums and products are congruent mod 2**32 with the int64 ones that TFLite
truncates to int32; SRDHM widens to int64 lanes; the results are clamped to
[qmin - out_zp, qmax - out_zp] *before* adding out_zp, so no lane can overflow.
The op switch is taken per 16-lane vector (a perfectly predicted branch), each
output row is a vector loop with one masked tail, so any broadcast layout runs
at full width: same shape (one long row), [rows, C] x [C], [rows, C] x [rows, 1].
Reference: kernels/reference/qelementwise.py
"""
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from ._jit import kernel
from .requant import multiply_by_quantized_multiplier as _mbqm
from .simd import (LANES, _call, _lane_mask, _ptr, _splat, f32x16, i32x16, vadd_i32, vcvt_f32, vmax, vmin, vmul,
                   vmul_i32, vsplat, vsplat_i32)

Q_ADD_TFL, Q_SQDIFF_TFL, Q_ADD_XNN, Q_MUL_TFL, Q_MUL_XNN, Q_MAX, Q_MIN = range(7)


# ---------------------------------------------------------------- int8 / int32 lane intrinsics
_I8 = ir.IntType(8)
_I32 = ir.IntType(32)
_I64 = ir.IntType(64)
_V8 = ir.VectorType(_I8, LANES)


def _is_q8_array(a):
    return isinstance(a, types.Array) and a.dtype in (types.int8, types.uint8)


def _widen8(context, builder, aryty, v):
    vty = context.get_value_type(i32x16)
    return builder.sext(v, vty) if aryty.dtype == types.int8 else builder.zext(v, vty)


@intrinsic
def vload_q8(typingctx, arr, idx):
    """int32 lanes of int8 (sign-extended) / uint8 (zero-extended) arr.flat[idx:idx+16]."""
    if not (_is_q8_array(arr) and isinstance(idx, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        v = builder.load(_ptr(context, builder, sig.args[0], args[0], args[1], _V8), align=1)
        return _widen8(context, builder, sig.args[0], v)
    return i32x16(arr, idx), codegen


@intrinsic
def vload_q8_n(typingctx, arr, idx, n):
    """vload_q8 of the first n lanes only (others 0, never touched)."""
    if not (_is_q8_array(arr) and isinstance(idx, types.Integer) and isinstance(n, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        p = _ptr(context, builder, sig.args[0], args[0], args[1], _V8)
        mask = _lane_mask(builder, args[2], LANES)
        v = _call(builder, "llvm.masked.load.v16i8.p0", _V8, [p, ir.Constant(_I32, 1), mask, ir.Constant(_V8, None)])
        return _widen8(context, builder, sig.args[0], v)
    return i32x16(arr, idx, n), codegen


@intrinsic
def vbroadcast_q8(typingctx, arr, idx):
    """i32x16 with every lane = the widened arr.flat[idx]."""
    if not (_is_q8_array(arr) and isinstance(idx, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        x = builder.load(_ptr(context, builder, sig.args[0], args[0], args[1]))
        x = builder.sext(x, _I32) if sig.args[0].dtype == types.int8 else builder.zext(x, _I32)
        return _splat(builder, x, context.get_value_type(i32x16))
    return i32x16(arr, idx), codegen


@intrinsic
def vstore_q8(typingctx, arr, idx, v):
    """Store the low 8 bits of each int32 lane to arr.flat[idx:idx+16] (int8 / uint8)."""
    if not (_is_q8_array(arr) and isinstance(idx, types.Integer) and v == i32x16):
        return None

    def codegen(context, builder, sig, args):
        p = _ptr(context, builder, sig.args[0], args[0], args[1], _V8)
        builder.store(builder.trunc(args[2], _V8), p, align=1)
        return context.get_dummy_value()
    return types.void(arr, idx, v), codegen


@intrinsic
def vstore_q8_n(typingctx, arr, idx, v, n):
    """vstore_q8 of the first n lanes only (n <= 0: nothing)."""
    if not (_is_q8_array(arr) and isinstance(idx, types.Integer) and v == i32x16 and isinstance(n, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        p = _ptr(context, builder, sig.args[0], args[0], args[1], _V8)
        mask = _lane_mask(builder, args[3], LANES)
        _call(builder, "llvm.masked.store.v16i8.p0", ir.VoidType(),
              [builder.trunc(args[2], _V8), p, ir.Constant(_I32, 1), mask])
        return context.get_dummy_value()
    return types.void(arr, idx, v, n), codegen


def _i32_binop(name, emit, doc):
    def impl(typingctx, a, b):
        if not (a == b == i32x16):
            return None

        def codegen(context, builder, sig, args):
            return emit(builder, args[0], args[1])
        return i32x16(a, b), codegen
    impl.__name__ = name
    fn = intrinsic(impl)
    fn.__doc__ = doc
    return fn


vsub_i32 = _i32_binop("vsub_i32", lambda bd, a, b: bd.sub(a, b), "a - b, wrapping int32 lanes.")
vshl_i32 = _i32_binop("vshl_i32", lambda bd, a, b: bd.shl(a, b), "a << b (b in [0, 31]), wrapping int32 lanes.")
vsra_i32 = _i32_binop("vsra_i32", lambda bd, a, b: bd.ashr(a, b), "a >> b arithmetic (b in [0, 31]).")
vmin_i32 = _i32_binop("vmin_i32", lambda bd, a, b: bd.select(bd.icmp_signed("<", a, b), a, b), "signed min.")
vmax_i32 = _i32_binop("vmax_i32", lambda bd, a, b: bd.select(bd.icmp_signed(">", a, b), a, b), "signed max.")


def _srdhm(bd, a, b):
    """gemmlowp SaturatingRoundingDoublingHighMul on int32 lanes.

    gemmlowp adds 2**30 (ab >= 0) or 1 - 2**30 (ab < 0) to the int64 product and
    divides by 2**31 truncating; for ab < 0 that is -floor((-ab + 2**30 - 1) / 2**31),
    which equals floor((ab + 2**30) / 2**31): one add and one shift for both signs.
    The products are formed in place on the even and the odd int32 lanes (each
    as int64 lanes: vpmuldq), with no cross-lane shuffles.
    """
    v64 = ir.VectorType(_I64, LANES // 2)

    def c64(x):
        return ir.Constant(v64, [x] * (LANES // 2))
    a64 = bd.bitcast(a, v64)
    b64 = bd.bitcast(b, v64)
    even = bd.mul(bd.ashr(bd.shl(a64, c64(32)), c64(32)), bd.ashr(bd.shl(b64, c64(32)), c64(32)))
    odd = bd.mul(bd.ashr(a64, c64(32)), bd.ashr(b64, c64(32)))
    even = bd.lshr(bd.add(even, c64(1 << 30)), c64(31))            # result in the low half
    odd = bd.shl(bd.add(odd, c64(1 << 30)), c64(1))                 # result in the high half
    q = bd.or_(bd.and_(even, c64(0xFFFFFFFF)), bd.and_(odd, c64(-(1 << 32))))
    q = bd.bitcast(q, a.type)
    imin = ir.Constant(a.type, [-(1 << 31)] * LANES)
    sat = bd.and_(bd.icmp_signed("==", a, imin), bd.icmp_signed("==", b, imin))
    return bd.select(sat, ir.Constant(a.type, [(1 << 31) - 1] * LANES), q)


def _rdbpot(bd, x, e):
    """gemmlowp RoundingDivideByPOT on int32 lanes, exponent lanes in [0, 31]."""
    one = ir.Constant(x.type, [1] * LANES)
    mask = bd.sub(bd.shl(one, e), one)
    rem = bd.and_(x, mask)
    thr = bd.add(bd.lshr(mask, one), bd.lshr(x, ir.Constant(x.type, [31] * LANES)))     # + 1 if x < 0
    return bd.add(bd.ashr(x, e), bd.zext(bd.icmp_signed(">", rem, thr), x.type))


vsrdhm_i32 = _i32_binop("vsrdhm_i32", _srdhm, "gemmlowp SaturatingRoundingDoublingHighMul(a, b) per lane.")
vrdbpot_i32 = _i32_binop("vrdbpot_i32", _rdbpot, "gemmlowp RoundingDivideByPOT(x, e) per lane, e in [0, 31].")


@intrinsic
def vrint_i32(typingctx, a):
    """float32 lanes -> int32, rounded half to even (values must fit in int32)."""
    if a != f32x16:
        return None

    def codegen(context, builder, sig, args):
        r = _call(builder, "llvm.rint.v16f32", args[0].type, [args[0]])
        return builder.fptosi(r, context.get_value_type(i32x16))
    return i32x16(a), codegen


# ---------------------------------------------------------------- vector kernel
@kernel
def _qconsts(op, p, fscale):
    """The per-call constants of op as int32 / float32 splats (see _qop for the slots)."""
    s5 = s6 = s7 = s8 = s9 = s10 = s11 = s12 = s13 = s14 = s15 = np.int64(0)
    if op == Q_ADD_TFL or op == Q_SQDIFF_TFL:
        s5 = p[5]
        s6 = p[6]
        s7 = max(p[7], 0)
        s8 = max(-p[7], 0)
        s9 = p[8]
        s10 = max(p[9], 0)
        s11 = max(-p[9], 0)
        s12 = p[10]
        s13 = max(p[11], 0)
        s14 = max(-p[11], 0)
        s15 = p[12]
    elif op == Q_ADD_XNN:
        s5 = np.int64(np.int32((np.int64(1) << (p[7] - 1)) - p[5] * p[0] - p[6] * p[1]))
        s6 = p[5]
        s7 = p[6]
        s8 = p[7]
    elif op == Q_MUL_TFL:
        s5 = p[5]
        s6 = max(p[6], 0)
        s7 = max(-p[6], 0)
    cv = (vsplat_i32(p[0]), vsplat_i32(p[1]), vsplat_i32(p[2]), vsplat_i32(p[3]), vsplat_i32(p[4]),
          vsplat_i32(s5), vsplat_i32(s6), vsplat_i32(s7), vsplat_i32(s8), vsplat_i32(s9), vsplat_i32(s10),
          vsplat_i32(s11), vsplat_i32(s12), vsplat_i32(s13), vsplat_i32(s14), vsplat_i32(s15),
          vsplat_i32(p[3] - p[2]), vsplat_i32(p[4] - p[2]))
    cf = (vsplat(fscale), vsplat(np.float32(p[3] - p[2])), vsplat(np.float32(p[4] - p[2])))
    return cv, cf


@kernel
def _vmbqm(x, m, left, right):
    """MultiplyByQuantizedMultiplier on int32 lanes (left = max(shift, 0), right = max(-shift, 0))."""
    return vrdbpot_i32(vsrdhm_i32(vshl_i32(x, left), m), right)


@kernel
def _qop(op, x, y, cv, cf):
    """op on 16 lanes of widened stored values, clamped to [qmin, qmax].

    cv slots: 0 a_zp, 1 b_zp, 2 out_zp, 3 qmin, 4 qmax, 16 qmin - out_zp, 17 qmax - out_zp;
      ADD/SQDIFF (TFL): 5 left_shift, 6 m1, 7/8 m1's left/right shift, 9 m2, 10/11, 12 mo, 13/14, 15 sign
      ADD (XNN): 5 rounding bias - am*a_zp - bm*b_zp (int32-wrapped), 6 am, 7 bm, 8 shift
      MUL (TFL): 5 M, 6/7 left/right shift
    cf: fscale, qmin - out_zp, qmax - out_zp (float32).
    """
    if op == Q_MUL_XNN:
        prod = vmul_i32(vsub_i32(x, cv[0]), vsub_i32(y, cv[1]))
        v = vmul(vcvt_f32(prod), cf[0])
        v = vmin(cf[2], vmax(cf[1], v))            # lo if v < lo; hi if v > hi
        return vadd_i32(vrint_i32(v), cv[2])
    if op == Q_MAX:
        return vmin_i32(vmax_i32(vmax_i32(x, y), cv[3]), cv[4])
    if op == Q_MIN:
        return vmin_i32(vmax_i32(vmin_i32(x, y), cv[3]), cv[4])
    if op == Q_ADD_XNN:
        acc = vadd_i32(vadd_i32(cv[5], vmul_i32(x, cv[6])), vmul_i32(y, cv[7]))
        r = vsra_i32(acc, cv[8])
    elif op == Q_MUL_TFL:
        prod = vmul_i32(vsub_i32(x, cv[0]), vsub_i32(y, cv[1]))
        r = _vmbqm(prod, cv[5], cv[6], cv[7])
    else:                                           # Q_ADD_TFL, Q_SQDIFF_TFL
        xa = _vmbqm(vshl_i32(vsub_i32(x, cv[0]), cv[5]), cv[6], cv[7], cv[8])
        yb = _vmbqm(vshl_i32(vsub_i32(y, cv[1]), cv[5]), cv[9], cv[10], cv[11])
        if op == Q_ADD_TFL:
            s = vadd_i32(xa, vmul_i32(yb, cv[15]))
        else:
            d = vsub_i32(xa, yb)
            s = vmul_i32(d, d)
        r = _vmbqm(s, cv[12], cv[13], cv[14])
    return vadd_i32(vmin_i32(vmax_i32(r, cv[16]), cv[17]), cv[2])


def _make_qbinary(OP):
    """qbinary specialized for one op: OP is a compile-time constant, so after inlining
    _qconsts / _qop only that op's lane arithmetic is left in the row loop."""
    @kernel
    def qbinary_op(a, b, shape, sa, sb, p, fscale, out):
        cv, cf = _qconsts(OP, p, fscale)
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
                            xs = vbroadcast_q8(a, ia)
                            ys = vbroadcast_q8(b, ib)
                            for i in range(0, nv, LANES):
                                x = vload_q8(a, ia + i) if ka else xs
                                y = vload_q8(b, ib + i) if kb else ys
                                vstore_q8(out, io + i, _qop(OP, x, y, cv, cf))
                            if nv < n:
                                r = n - nv
                                x = vload_q8_n(a, ia + nv, r) if ka else xs
                                y = vload_q8_n(b, ib + nv, r) if kb else ys
                                vstore_q8_n(out, io + nv, _qop(OP, x, y, cv, cf), r)
                            ia += sa[4]
                            ib += sb[4]
                            io += n
    return qbinary_op


_QBINARY = tuple(_make_qbinary(op) for op in range(7))          # indexed by op code


def qbinary_kernel(op):
    """The kernel for op: called with qbinary's arguments minus op."""
    return _QBINARY[op]


def qbinary(op, a, b, shape, sa, sb, p, fscale, out):
    """out = clamp(op(a, b)) for int8 / uint8 a, b, out with broadcasting (see module docstring).

    a, b, out: flat arrays; shape, sa, sb: int64[6]; p: int64 params; fscale: float32.
    Each output row (shape[5] elements) is one vector loop with a masked tail: a
    same-shape op is a single row, [rows, C] x [C] is rows rows of C with b's
    offset fixed.  A plain-Python dispatch to the @kernel of op (qbinary_kernel(op),
    which lowerings bind at prepare): a jitted dispatcher would compile all seven.
    """
    _QBINARY[op](a, b, shape, sa, sb, p, fscale, out)


@kernel
def qcompare_bool(op, a, b, shape, sa, sb, p, out):
    """Comparison of quantized a, b (TFLite comparisons.cc): both sides are rescaled
    to a common fixed-point scale, then compared.

    p: int64 [a_zp, b_zp, left_shift, m1, s1, m2, s2]:
        a' = MBQM((a - a_zp) << left_shift, m1, s1);  b' likewise;  out = op(a', b')
    op: kernels.elementwise LESS..NOT_EQUAL (0..5).  out: flat bool.
    """
    n = shape[5]
    ka = 1 if sa[5] != 0 else 0
    kb = 1 if sb[5] != 0 else 0
    ls = p[2]
    io = 0
    for i0 in range(shape[0]):
        for i1 in range(shape[1]):
            for i2 in range(shape[2]):
                for i3 in range(shape[3]):
                    for i4 in range(shape[4]):
                        ia = i0 * sa[0] + i1 * sa[1] + i2 * sa[2] + i3 * sa[3] + i4 * sa[4]
                        ib = i0 * sb[0] + i1 * sb[1] + i2 * sb[2] + i3 * sb[3] + i4 * sb[4]
                        for i in range(n):
                            x = _mbqm(np.int32((np.int64(a[ia + i * ka]) - p[0]) << ls), p[3], p[4])
                            y = _mbqm(np.int32((np.int64(b[ib + i * kb]) - p[1]) << ls), p[5], p[6])
                            if op == 0:
                                r = x < y
                            elif op == 1:
                                r = x <= y
                            elif op == 2:
                                r = x > y
                            elif op == 3:
                                r = x >= y
                            elif op == 4:
                                r = x == y
                            else:
                                r = x != y
                            out[io + i] = r
                        io += n


@kernel
def lut_u8(x, table, out):
    """out[i] = table[x[i]] for 8-bit codes: x is the uint8 view of the int8 / uint8 input
    (int8 value v is code v & 0xFF), table has 256 entries of out's dtype.
    Reference: kernels/reference/qelementwise.py
    """
    for i in range(out.shape[0]):
        out[i] = table[x[i]]


@kernel
def softmax_q8_lut_rows(x, flip, table, out_scale, out_zp, qmin, qmax, out):
    """int8 / uint8 softmax over rows, as TFLite's optimized SoftmaxInt8LUT (the builtin
    kernel LiteRT runs for 8-bit softmax under every resolver):

        u = x ^ flip                         (uint8 codes; flip = 0x80 for int8 input, 0 for uint8)
        m = max_j u[j]
        e[j] = table[255 - m + u[j]]        table[255 - k] = expf(-in_scale * beta * k) (float32)
        s = sum_j e[j]                       float32, in order
        inv = 1 / (s * out_scale)            float32
        out[j] = clamp(round_half_away(e[j] * inv) + out_zp, qmin, qmax)

    x: (rows, depth) uint8 (a uint8 view of the input); out: (rows, depth) int8 / uint8.
    """
    rows = x.shape[0]
    depth = x.shape[1]
    for r in range(rows):
        m = np.int64(0)
        for j in range(depth):
            u = np.int64(x[r, j] ^ flip)
            if u > m:
                m = u
        off = np.int64(255) - m
        s = np.float32(0.0)
        for j in range(depth):
            s = np.float32(s + table[off + np.int64(x[r, j] ^ flip)])
        inv = np.float32(np.float32(1.0) / np.float32(s * out_scale))
        for j in range(depth):
            v = np.float32(table[off + np.int64(x[r, j] ^ flip)] * inv)
            t = np.trunc(v)
            if np.abs(v - t) >= np.float32(0.5):
                t += np.float32(1.0) if v > 0 else np.float32(-1.0)
            q = np.int64(t) + out_zp
            q = qmin if q < qmin else q
            q = qmax if q > qmax else q
            out[r, j] = q
