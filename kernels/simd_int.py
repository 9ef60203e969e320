"""Integer helpers for the explicit-SIMD kernels (kernels/simd.py's 16-lane
vector types): loads that widen 8/16-bit lanes to int32, narrowing stores,
int32 lane arithmetic and float32 -> int32 rounding.

Only target-independent IR (sext/zext/trunc, ``llvm.masked.*``,
``llvm.rint``), so kernels using these compile on any host: AVX-512 gives
vpmovsxbd / vpmovzxbd / vpmulld / vpmovdb on zmm, other targets split the
vectors.  Same indexing contract as kernels/simd.py: a C-contiguous array
and a flat element index, no bounds check; the ``_n`` variants touch only
the first n lanes (n <= 0: none).
"""
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from .simd import LANES, _call, _lane_mask, _ptr, _splat, f32x16, i32x16

_I32 = ir.IntType(32)
_WIDEN = {types.int8: True, types.int16: True, types.int32: True,
          types.uint8: False, types.uint16: False}


def _int_array(a):
    return isinstance(a, types.Array) and a.dtype in _WIDEN


def _elem_ir(dtype):
    return ir.IntType(dtype.bitwidth)


def _widen(builder, v, dtype):
    if dtype.bitwidth == 32:
        return v
    vty = ir.VectorType(_I32, LANES)
    return builder.sext(v, vty) if _WIDEN[dtype] else builder.zext(v, vty)


@intrinsic
def vload_ext(typingctx, arr, idx):
    """int32 lanes of arr.flat[idx:idx+16] (int8/int16/int32 sign-, uint8/uint16 zero-extended)."""
    if not (_int_array(arr) and isinstance(idx, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        dt = sig.args[0].dtype
        vty = ir.VectorType(_elem_ir(dt), LANES)
        v = builder.load(_ptr(context, builder, sig.args[0], args[0], args[1], vty), align=1)
        return _widen(builder, v, dt)
    return i32x16(arr, idx), codegen


@intrinsic
def vload_ext_n(typingctx, arr, idx, n):
    """vload_ext of the first n lanes (the others read as 0, never touched)."""
    if not (_int_array(arr) and isinstance(idx, types.Integer) and isinstance(n, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        dt = sig.args[0].dtype
        ety = _elem_ir(dt)
        vty = ir.VectorType(ety, LANES)
        p = _ptr(context, builder, sig.args[0], args[0], args[1], vty)
        mask = _lane_mask(builder, args[2], LANES)
        v = _call(builder, f"llvm.masked.load.v16i{ety.width}.p0", vty,
                  [p, ir.Constant(_I32, 1), mask, ir.Constant(vty, None)])
        return _widen(builder, v, dt)
    return i32x16(arr, idx, n), codegen


@intrinsic
def vload_ext_fill(typingctx, arr, idx, n, fill):
    """vload_ext of the first n lanes; the other lanes read as ``fill`` (its low
    8/16 bits, extended as the array's elements), memory not touched."""
    if not (_int_array(arr) and isinstance(idx, types.Integer) and isinstance(n, types.Integer)
            and isinstance(fill, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        dt = sig.args[0].dtype
        ety = _elem_ir(dt)
        vty = ir.VectorType(ety, LANES)
        p = _ptr(context, builder, sig.args[0], args[0], args[1], vty)
        mask = _lane_mask(builder, args[2], LANES)
        f = args[3]
        f = builder.trunc(f, ety) if f.type.width > ety.width else (builder.sext(f, ety) if f.type.width < ety.width
                                                                      else f)
        v = _call(builder, f"llvm.masked.load.v16i{ety.width}.p0", vty,
                  [p, ir.Constant(_I32, 1), mask, _splat(builder, f, vty)])
        return _widen(builder, v, dt)
    return i32x16(arr, idx, n, fill), codegen


def _idx_if(builder, idx, ok):
    """idx if ok else 0.  A load whose lanes are all masked off still gets the
    address: when ok is false idx may point outside the array (a padding tap
    rows before the image), possibly into an unmapped page, and a masked load
    there takes a fault-suppression microcode assist (measured: depthwise 3-7x
    slower when the tensor sits at the start of its allocation).  Element 0 is
    always mapped."""
    okb = builder.icmp_unsigned("!=", ok, ir.Constant(ok.type, 0))
    return builder.select(okb, idx, ir.Constant(idx.type, 0))


def _mask_if(builder, n, ok):
    """_lane_mask(n) with every lane cleared when ok is false (the n-lane mask is
    loop-invariant in the callers' inner loops and gets hoisted; only the and stays)."""
    m = _lane_mask(builder, n, LANES)
    okb = builder.icmp_unsigned("!=", ok, ir.Constant(ok.type, 0))
    return builder.and_(m, _splat(builder, okb, ir.VectorType(ir.IntType(1), LANES)))


@intrinsic
def vload_n_if(typingctx, arr, idx, n, ok):
    """float32: vload_n(arr, idx, n) if ok else a zero vector (memory not touched)."""
    if not (isinstance(arr, types.Array) and arr.dtype == types.float32 and isinstance(idx, types.Integer)
            and isinstance(n, types.Integer) and isinstance(ok, (types.Boolean, types.Integer))):
        return None

    def codegen(context, builder, sig, args):
        vty = context.get_value_type(f32x16)
        p = _ptr(context, builder, sig.args[0], args[0], _idx_if(builder, args[1], args[3]), vty)
        return _call(builder, "llvm.masked.load.v16f32.p0", vty,
                     [p, ir.Constant(_I32, 1), _mask_if(builder, args[2], args[3]), ir.Constant(vty, None)])
    return f32x16(arr, idx, n, ok), codegen


@intrinsic
def vload_ext_fill_if(typingctx, arr, idx, n, ok, fill):
    """vload_ext_fill(arr, idx, n, fill) if ok, else every lane = fill (memory not touched)."""
    if not (_int_array(arr) and isinstance(idx, types.Integer) and isinstance(n, types.Integer)
            and isinstance(ok, (types.Boolean, types.Integer)) and isinstance(fill, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        dt = sig.args[0].dtype
        ety = _elem_ir(dt)
        vty = ir.VectorType(ety, LANES)
        p = _ptr(context, builder, sig.args[0], args[0], _idx_if(builder, args[1], args[3]), vty)
        f = args[4]
        f = builder.trunc(f, ety) if f.type.width > ety.width else (builder.sext(f, ety) if f.type.width < ety.width
                                                                      else f)
        v = _call(builder, f"llvm.masked.load.v16i{ety.width}.p0", vty,
                  [p, ir.Constant(_I32, 1), _mask_if(builder, args[2], args[3]), _splat(builder, f, vty)])
        return _widen(builder, v, dt)
    return i32x16(arr, idx, n, ok, fill), codegen


@intrinsic
def vstore_narrow_n(typingctx, arr, idx, v, n):
    """Store the low 8 (int8/uint8 arr) or 16 bits of the first n int32 lanes of v."""
    if not (isinstance(arr, types.Array) and arr.dtype in (types.int8, types.uint8, types.int16, types.uint16)
            and isinstance(idx, types.Integer) and v == i32x16 and isinstance(n, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        ety = _elem_ir(sig.args[0].dtype)
        vty = ir.VectorType(ety, LANES)
        p = _ptr(context, builder, sig.args[0], args[0], args[1], vty)
        mask = _lane_mask(builder, args[3], LANES)
        _call(builder, f"llvm.masked.store.v16i{ety.width}.p0", ir.VoidType(),
              [builder.trunc(args[2], vty), p, ir.Constant(_I32, 1), mask])
        return context.get_dummy_value()
    return types.void(arr, idx, v, n), codegen


@intrinsic
def vsub_i32(typingctx, a, b):
    if not (a == b == i32x16):
        return None

    def codegen(context, builder, sig, args):
        return builder.sub(args[0], args[1])
    return i32x16(a, b), codegen


@intrinsic
def vrint_i32(typingctx, a):
    """float32 lanes rounded to nearest, ties to even (np.rint), as int32 (lanes must fit)."""
    if a != f32x16:
        return None

    def codegen(context, builder, sig, args):
        r = _call(builder, "llvm.rint.v16f32", args[0].type, [args[0]])
        return builder.fptosi(r, ir.VectorType(_I32, LANES))
    return i32x16(a), codegen


# ---------------------------------------------------------------- float32 shuffles (16x16 transpose)
def _shuffle2(mask, doc):
    """An intrinsic (a, b) -> f32x16 picking lanes of a ++ b by the constant mask
    (llvm shufflevector: unpck*/vshuff32x4 on AVX-512)."""
    def impl(typingctx, a, b):
        if not (a == b == f32x16):
            return None

        def codegen(context, builder, sig, args):
            return builder.shuffle_vector(args[0], args[1], ir.Constant(ir.VectorType(_I32, LANES), mask))
        return f32x16(a, b), codegen
    impl.__doc__ = doc
    return intrinsic(impl)


_LANE4 = range(0, 16, 4)
vunpacklo_ps = _shuffle2([i for b in _LANE4 for i in (b, 16 + b, b + 1, 17 + b)], "unpcklps: a0 b0 a1 b1 per 128-bit lane")
vunpackhi_ps = _shuffle2([i for b in _LANE4 for i in (b + 2, 18 + b, b + 3, 19 + b)], "unpckhps")
vunpacklo_pd = _shuffle2([i for b in _LANE4 for i in (b, b + 1, 16 + b, 17 + b)], "unpcklpd on float pairs")
vunpackhi_pd = _shuffle2([i for b in _LANE4 for i in (b + 2, b + 3, 18 + b, 19 + b)], "unpckhpd on float pairs")
vshuf_even128 = _shuffle2([*range(0, 4), *range(8, 12), *range(16, 20), *range(24, 28)],
                          "128-bit lanes a0 a2 b0 b2 (vshuff32x4 0x88)")
vshuf_odd128 = _shuffle2([*range(4, 8), *range(12, 16), *range(20, 24), *range(28, 32)],
                         "128-bit lanes a1 a3 b1 b3 (vshuff32x4 0xdd)")
vzip_lo = _shuffle2([i for j in range(8) for i in (j, 16 + j)], "a0 b0 a1 b1 ... a7 b7 (vpermt2ps)")
vzip_hi = _shuffle2([i for j in range(8, 16) for i in (j, 16 + j)], "a8 b8 ... a15 b15 (vpermt2ps)")


@intrinsic
def vstore_range(typingctx, arr, idx, v, lo, hi):
    """float32: store lanes l with lo <= l < hi of v to arr.flat[idx + l] (the others untouched)."""
    if not (isinstance(arr, types.Array) and arr.dtype == types.float32 and isinstance(idx, types.Integer)
            and v == f32x16 and isinstance(lo, types.Integer) and isinstance(hi, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        p = _ptr(context, builder, sig.args[0], args[0], args[1], args[2].type)
        mask = builder.and_(_lane_mask(builder, args[4], LANES),
                            builder.not_(_lane_mask(builder, args[3], LANES)))
        _call(builder, "llvm.masked.store.v16f32.p0", ir.VoidType(), [args[2], p, ir.Constant(_I32, 1), mask])
        return context.get_dummy_value()
    return types.void(arr, idx, v, lo, hi), codegen
