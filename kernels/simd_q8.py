"""Explicit-SIMD helpers of the 8-bit kernels (companion of kernels/simd.py):
byte-addressed broadcasts, 8-bit stores and the vector requantization /
quantization steps, all emitted as target-independent LLVM IR (they compile
on any host; only ``vdpbusd`` in simd.py is VNNI-only).

- ``vbroadcast_u32(arr, boff)``: the 4 bytes at *byte* offset boff of any
  1-D C-contiguous array, as one int32 splat over 16 lanes (vpbroadcastd from
  an unaligned address): the activation operand of vdpbusd read straight from
  an NHWC image at any channel offset (indirect GEMM, no im2col).
- ``vstore_q8(arr, idx, v)`` / ``vstore_q8_n(arr, idx, v, n)``: int32 lanes
  truncated to 8 bits, stored to an int8/uint8 array (all 16 / the first n).
- ``vrequant_fp32(acc, scale, flo, fhi, zp)``: XNNPack's fp32 requantization
  of 16 int32 accumulators: rne(clamp(float32(acc) * scale, flo, fhi)) + zp.
- ``vrequant_tfl(acc, mult, lsh, rsh, nup, zp, lo, hi)``: TFLite's
  MultiplyByQuantizedMultiplier, the final shift half up in lanes < nup and
  half away from zero in the others, + zp, clamp (the formulas of
  kernels/qs8.py requant_i32_q8_rows, in int64 lanes).
- ``vquant_xnn(x, mult, lo, hi, base)``: XNNPack's f32 -> qd8 step on 16
  floats: rne(min(max(x * mult, lo), hi)) + base (int32 lanes).
- ``vminnum`` / ``vmaxnum``: lane-wise llvm.minnum / maxnum (NaN-ignoring,
  the per-row range of the dynamic quantizers).

Indexing as in simd.py: no bounds checks, callers guarantee the bytes exist.
"""
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .simd import LANES, f32x16, i32x16

_I8 = ir.IntType(8)
_I32 = ir.IntType(32)
_I64 = ir.IntType(64)


def _data(context, builder, aryty, ary):
    return context.make_array(aryty)(context, builder, ary).data


def _splat(builder, x, vty):
    undef = ir.Constant(vty, ir.Undefined)
    v = builder.insert_element(undef, x, ir.Constant(_I32, 0))
    return builder.shuffle_vector(v, undef, ir.Constant(ir.VectorType(_I32, vty.count), [0] * vty.count))


def _call(builder, name, retty, args):
    fnty = ir.FunctionType(retty, [a.type for a in args])
    return builder.call(cgutils.get_or_insert_function(builder.module, fnty, name), args)


def _lane_mask(builder, n, count):
    n64 = builder.sext(n, _I64) if n.type.width < 64 else n
    iota = ir.Constant(ir.VectorType(_I64, count), list(range(count)))
    return builder.icmp_signed("<", iota, _splat(builder, n64, ir.VectorType(_I64, count)))


def _is_1d(a):
    return isinstance(a, types.Array) and a.ndim == 1


def _is_q8_array(a):
    return isinstance(a, types.Array) and a.dtype in (types.int8, types.uint8)


@intrinsic
def vbroadcast_u32(typingctx, arr, boff):
    """i32x16 splat of the 4 bytes at byte offset boff of arr (any 1-D array)."""
    if not (_is_1d(arr) and isinstance(boff, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        p = builder.bitcast(_data(context, builder, sig.args[0], args[0]), _I8.as_pointer())
        p = builder.gep(p, [args[1]])
        x = builder.load(builder.bitcast(p, _I32.as_pointer()), align=1)
        return _splat(builder, x, context.get_value_type(i32x16))
    return i32x16(arr, boff), codegen


@intrinsic
def vstore_q8(typingctx, arr, idx, v):
    """arr[idx:idx+16] = the low 8 bits of the 16 int32 lanes of v (int8/uint8 arr)."""
    if not (_is_q8_array(arr) and isinstance(idx, types.Integer) and v == i32x16):
        return None

    def codegen(context, builder, sig, args):
        vb = ir.VectorType(_I8, LANES)
        p = builder.gep(_data(context, builder, sig.args[0], args[0]), [args[1]])
        builder.store(builder.trunc(args[2], vb), builder.bitcast(p, vb.as_pointer()), align=1)
        return context.get_dummy_value()
    return types.void(arr, idx, v), codegen


@intrinsic
def vstore_q8_n(typingctx, arr, idx, v, n):
    """vstore_q8 of the first n lanes only (n <= 0: nothing, n >= 16: all)."""
    if not (_is_q8_array(arr) and isinstance(idx, types.Integer) and v == i32x16 and isinstance(n, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        vb = ir.VectorType(_I8, LANES)
        p = builder.gep(_data(context, builder, sig.args[0], args[0]), [args[1]])
        _call(builder, "llvm.masked.store.v16i8.p0", ir.VoidType(),
              [builder.trunc(args[2], vb), builder.bitcast(p, vb.as_pointer()), ir.Constant(_I32, 1),
               _lane_mask(builder, args[3], LANES)])
        return context.get_dummy_value()
    return types.void(arr, idx, v, n), codegen


def _fclamp(builder, f, lo, hi):
    """min(max(f, lo), hi) as Python's max/min on non-NaN floats."""
    f = builder.select(builder.fcmp_ordered(">", f, lo), f, lo)      # max(f, lo): f if f > lo else lo
    return builder.select(builder.fcmp_ordered("<", f, hi), f, hi)   # min(., hi)


@intrinsic
def vrequant_fp32(typingctx, acc, scale, flo, fhi, zp):
    """int32 lanes rne(min(max(float32(acc) * scale, flo), fhi)) + zp
    (flo, fhi: float32 scalars; zp: integer scalar)."""
    if not (acc == i32x16 and scale == f32x16 and isinstance(flo, types.Float) and isinstance(fhi, types.Float)
            and isinstance(zp, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        fv = context.get_value_type(f32x16)
        iv = context.get_value_type(i32x16)
        lo = _splat(builder, context.cast(builder, args[2], sig.args[2], types.float32), fv)
        hi = _splat(builder, context.cast(builder, args[3], sig.args[3], types.float32), fv)
        z = _splat(builder, context.cast(builder, args[4], sig.args[4], types.int32), iv)
        f = builder.fmul(builder.sitofp(args[0], fv), args[1])
        f = _call(builder, "llvm.rint.v16f32", fv, [_fclamp(builder, f, lo, hi)])
        return builder.add(builder.fptosi(f, iv), z)
    return i32x16(acc, scale, flo, fhi, zp), codegen


@intrinsic
def vrequant_tfl(typingctx, acc, mult, lsh, rsh, nup, zp, lo, hi):
    """TFLite fixed-point requantization of 16 int32 lanes (per-lane int32
    mult / lsh / rsh vectors): x = int32(acc << lsh); h = (x*mult + 2^30) >> 31
    (64-bit product; mult > 0 so h fits int32); lanes j < nup:
    (h + ((1 << rsh) >> 1)) >> rsh (half up, computed without overflow as
    (h >> rsh) + bit rsh-1 of h), the others gemmlowp's RoundingDivideByPOT
    (half away from zero); then min(max(v + zp, lo), hi), computed as
    min(max(v, lo - zp), hi - zp) + zp (no int32 overflow)."""
    if not (acc == mult == lsh == rsh == i32x16 and all(isinstance(t, types.Integer) for t in (nup, zp, lo, hi))):
        return None

    def codegen(context, builder, sig, args):
        v64 = ir.VectorType(_I64, LANES)
        v32 = context.get_value_type(i32x16)
        a, m, ls, e = args[:4]
        nup_ = context.cast(builder, args[4], sig.args[4], types.int64)
        zp_, lo_, hi_ = (context.cast(builder, v, t, types.int32) for v, t in zip(args[5:], sig.args[5:]))

        def c32(x):
            return ir.Constant(v32, [x] * LANES)
        x = builder.sext(builder.shl(a, ls), v64)
        h = builder.mul(x, builder.sext(m, v64))
        h = builder.ashr(builder.add(h, ir.Constant(v64, [1 << 30] * LANES)), ir.Constant(v64, [31] * LANES))
        h = builder.trunc(h, v32)
        q = builder.ashr(h, e)
        up = builder.add(q, builder.and_(builder.ashr(builder.shl(h, c32(1)), e), c32(1)))
        mask = builder.sub(builder.shl(c32(1), e), c32(1))
        th = builder.add(builder.ashr(mask, c32(1)), builder.lshr(h, c32(31)))
        away = builder.add(q, builder.zext(builder.icmp_signed(">", builder.and_(h, mask), th), v32))
        v = builder.select(_lane_mask(builder, nup_, LANES), up, away)
        zv = _splat(builder, zp_, v32)
        vlo = builder.sub(_splat(builder, lo_, v32), zv)
        vhi = builder.sub(_splat(builder, hi_, v32), zv)
        v = builder.select(builder.icmp_signed("<", v, vlo), vlo, v)
        v = builder.select(builder.icmp_signed(">", v, vhi), vhi, v)
        return builder.add(v, zv)
    return i32x16(acc, mult, lsh, rsh, nup, zp, lo, hi), codegen


@intrinsic
def vquant_xnn(typingctx, x, mult, lo, hi, base):
    """int32 lanes rne(min(max(x * mult, lo), hi)) + base (float32 scalars
    mult, lo, hi; integer base): XNNPack's f32 -> qd8 conversion."""
    if not (x == f32x16 and all(isinstance(t, types.Float) for t in (mult, lo, hi)) and isinstance(base, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        fv = context.get_value_type(f32x16)
        iv = context.get_value_type(i32x16)
        mu, lo_, hi_ = (_splat(builder, context.cast(builder, v, t, types.float32), fv)
                        for v, t in zip(args[1:4], sig.args[1:4]))
        b = _splat(builder, context.cast(builder, args[4], sig.args[4], types.int32), iv)
        f = builder.fmul(args[0], mu)
        f = builder.select(builder.fcmp_ordered(">", f, lo_), f, lo_)
        f = builder.select(builder.fcmp_ordered("<", f, hi_), f, hi_)
        f = _call(builder, "llvm.rint.v16f32", fv, [f])
        return builder.add(builder.fptosi(f, iv), b)
    return i32x16(x, mult, lo, hi, base), codegen


def _vminmax(name):
    def impl(typingctx, a, b):
        if not (a == b == f32x16):
            return None

        def codegen(context, builder, sig, args):
            return _call(builder, name, args[0].type, list(args))
        return f32x16(a, b), codegen
    return impl


vminnum = intrinsic(_vminmax("llvm.minnum.v16f32"))
vminnum.__doc__ = "Lane-wise llvm.minnum (a NaN lane takes the other operand)."
vmaxnum = intrinsic(_vminmax("llvm.maxnum.v16f32"))
vmaxnum.__doc__ = "Lane-wise llvm.maxnum (a NaN lane takes the other operand)."
