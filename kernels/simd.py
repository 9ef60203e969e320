"""Explicit SIMD for Numba kernels: a 16-lane float32 vector type and a few
``@intrinsic`` operations on it that emit LLVM IR directly.

Why: plain Numba loops reach ~20% of this CPU's FMA peak on GEMM, and
register tiling written as scalar loops gets *worse* (LLVM turns it into
gathers or scalar FMAs).  A value whose LLVM type is a first-class vector
``<16 x float>`` lives in one register after mem2reg, so an MRxNR tile of
such values is a register-resident accumulator tile (PERF_NOTES.md §2, §4).

Only target-independent IR is used (generic vector instructions and
``llvm.fma`` / ``llvm.masked.*`` intrinsics): LLVM legalizes a 16-lane vector
to one zmm on AVX-512, two ymm on AVX2, four xmm on SSE, so these kernels
compile on any x86-64 (or other) host.  Nothing here is cached state; the
kernels that use these intrinsics are ordinary ``@kernel(cache=True)``
functions.

Indexing: every load/store takes a 1-D C-contiguous array and a *flat element
index*; there is no bounds check (callers guarantee ``idx + 16 <= size``, or
use the ``_n`` masked variants for partial vectors).
"""
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

LANES = 16


class VecType(types.Type):
    """A first-class LLVM vector of ``n`` elements of a Numba scalar type."""

    def __init__(self, dtype, n):
        self.dtype = dtype
        self.n = n
        super().__init__(name=f"Vec({dtype}x{n})")

    @property
    def key(self):
        return (self.dtype, self.n)


@register_model(VecType)
class _VecModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        elt = dmm.lookup(fe_type.dtype).get_value_type()
        super().__init__(dmm, fe_type, ir.VectorType(elt, fe_type.n))


f32x16 = VecType(types.float32, LANES)

_I32 = ir.IntType(32)


def _ptr(context, builder, aryty, ary, idx, vty=None):
    """Pointer to ary.flat[idx] (as a pointer to vty if given)."""
    data = context.make_array(aryty)(context, builder, ary).data
    p = builder.gep(data, [idx])
    return builder.bitcast(p, vty.as_pointer()) if vty is not None else p


def _splat(builder, x, vty):
    undef = ir.Constant(vty, ir.Undefined)
    v = builder.insert_element(undef, x, ir.Constant(_I32, 0))
    return builder.shuffle_vector(v, undef, ir.Constant(ir.VectorType(_I32, vty.count), [0] * vty.count))


def _lane_mask(builder, n, count):
    """<count x i1>: lane j active iff j < n (n is any integer; <=0 -> none, >=count -> all)."""
    n64 = builder.sext(n, ir.IntType(64)) if n.type.width < 64 else n
    iota = ir.Constant(ir.VectorType(ir.IntType(64), count), list(range(count)))
    return builder.icmp_signed("<", iota, _splat(builder, n64, ir.VectorType(ir.IntType(64), count)))


def _call(builder, name, retty, args):
    fnty = ir.FunctionType(retty, [a.type for a in args])
    return builder.call(cgutils.get_or_insert_function(builder.module, fnty, name), args)


def _is_f32_array(a):
    return isinstance(a, types.Array) and a.dtype == types.float32


# ---------------------------------------------------------------- construct
@intrinsic
def vzero(typingctx):
    """f32x16 of zeros."""
    def codegen(context, builder, sig, args):
        return ir.Constant(context.get_value_type(f32x16), None)
    return f32x16(), codegen


@intrinsic
def vsplat(typingctx, x):
    """f32x16 with every lane = float32(x)."""
    if not isinstance(x, (types.Float, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        v = context.cast(builder, args[0], sig.args[0], types.float32)
        return _splat(builder, v, context.get_value_type(f32x16))
    return f32x16(x), codegen


@intrinsic
def vbroadcast(typingctx, arr, idx):
    """f32x16 with every lane = arr.flat[idx] (one scalar load + splat -> vbroadcastss)."""
    if not (_is_f32_array(arr) and isinstance(idx, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        x = builder.load(_ptr(context, builder, sig.args[0], args[0], args[1]))
        return _splat(builder, x, context.get_value_type(f32x16))
    return f32x16(arr, idx), codegen


# ---------------------------------------------------------------- memory
@intrinsic
def vload(typingctx, arr, idx):
    """Unaligned load of arr.flat[idx:idx+16]."""
    if not (_is_f32_array(arr) and isinstance(idx, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        vty = context.get_value_type(f32x16)
        return builder.load(_ptr(context, builder, sig.args[0], args[0], args[1], vty), align=1)
    return f32x16(arr, idx), codegen


@intrinsic
def vload_n(typingctx, arr, idx, n):
    """Load the first n lanes of arr.flat[idx:idx+16] (others read as 0, never touched)."""
    if not (_is_f32_array(arr) and isinstance(idx, types.Integer) and isinstance(n, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        vty = context.get_value_type(f32x16)
        p = _ptr(context, builder, sig.args[0], args[0], args[1], vty)
        mask = _lane_mask(builder, args[2], LANES)
        return _call(builder, "llvm.masked.load.v16f32.p0", vty,
                     [p, ir.Constant(_I32, 1), mask, ir.Constant(vty, None)])
    return f32x16(arr, idx, n), codegen


def _store_vec(arr):
    """The vector type stored into a float32 or int32 array (None for other arrays)."""
    if _is_f32_array(arr):
        return f32x16
    if isinstance(arr, types.Array) and arr.dtype == types.int32:
        return i32x16
    return None


@intrinsic
def vstore(typingctx, arr, idx, v):
    """Unaligned store of v to arr.flat[idx:idx+16] (float32 or int32 lanes)."""
    if not (isinstance(idx, types.Integer) and v == _store_vec(arr)):
        return None

    def codegen(context, builder, sig, args):
        p = _ptr(context, builder, sig.args[0], args[0], args[1], args[2].type)
        builder.store(args[2], p, align=1)
        return context.get_dummy_value()
    return types.void(arr, idx, v), codegen


@intrinsic
def vstore_n(typingctx, arr, idx, v, n):
    """Store the first n lanes of v to arr.flat[idx:idx+n] (n <= 0: nothing); float32 or int32."""
    vt = _store_vec(arr)
    if not (isinstance(idx, types.Integer) and v == vt and isinstance(n, types.Integer)):
        return None
    name = "llvm.masked.store.v16f32.p0" if vt == f32x16 else "llvm.masked.store.v16i32.p0"

    def codegen(context, builder, sig, args):
        p = _ptr(context, builder, sig.args[0], args[0], args[1], args[2].type)
        mask = _lane_mask(builder, args[3], LANES)
        _call(builder, name, ir.VoidType(),
              [args[2], p, ir.Constant(_I32, 1), mask])
        return context.get_dummy_value()
    return types.void(arr, idx, v, n), codegen


# ---------------------------------------------------------------- arithmetic
@intrinsic
def vfma(typingctx, a, b, c):
    """a*b + c, fused (llvm.fma.v16f32 -> vfmadd231ps)."""
    if not (a == b == c == f32x16):
        return None

    def codegen(context, builder, sig, args):
        return _call(builder, "llvm.fma.v16f32", args[0].type, list(args))
    return f32x16(a, b, c), codegen


@intrinsic
def vadd(typingctx, a, b):
    if not (a == b == f32x16):
        return None

    def codegen(context, builder, sig, args):
        return builder.fadd(args[0], args[1])
    return f32x16(a, b), codegen


@intrinsic
def vmin(typingctx, a, b):
    """Lane-wise a < b ? a : b (vminps semantics: b if either is NaN)."""
    if not (a == b == f32x16):
        return None

    def codegen(context, builder, sig, args):
        return builder.select(builder.fcmp_ordered("<", args[0], args[1]), args[0], args[1])
    return f32x16(a, b), codegen


@intrinsic
def vmax(typingctx, a, b):
    """Lane-wise a > b ? a : b (vmaxps semantics: b if either is NaN)."""
    if not (a == b == f32x16):
        return None

    def codegen(context, builder, sig, args):
        return builder.select(builder.fcmp_ordered(">", args[0], args[1]), args[0], args[1])
    return f32x16(a, b), codegen


@intrinsic
def vreduce_add(typingctx, a):
    """Sum of the 16 lanes (tree order, 'reassoc')."""
    if a != f32x16:
        return None

    def codegen(context, builder, sig, args):
        vty = args[0].type
        fnty = ir.FunctionType(vty.element, [vty.element, vty])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.vector.reduce.fadd.v16f32")
        return builder.call(fn, [ir.Constant(vty.element, 0.0), args[0]], fastmath=("reassoc",))
    return types.float32(a), codegen


# ---------------------------------------------------------------- more float ops
@intrinsic
def vmul(typingctx, a, b):
    if not (a == b == f32x16):
        return None

    def codegen(context, builder, sig, args):
        return builder.fmul(args[0], args[1])
    return f32x16(a, b), codegen


def _reduce_minmax(name):
    def impl(typingctx, a):
        if a != f32x16:
            return None

        def codegen(context, builder, sig, args):
            vty = args[0].type
            return _call(builder, f"llvm.vector.reduce.{name}.v16f32", vty.element, [args[0]])
        return types.float32(a), codegen
    return impl


vreduce_min = intrinsic(_reduce_minmax("fmin"))
vreduce_min.__doc__ = "Smallest of the 16 lanes (NaN lanes ignored, as minnum)."
vreduce_max = intrinsic(_reduce_minmax("fmax"))
vreduce_max.__doc__ = "Largest of the 16 lanes (NaN lanes ignored, as maxnum)."


@intrinsic
def fma_f32(typingctx, a, b, c):
    """Scalar float32 a*b + c with one rounding (llvm.fma.f32; exact on any host)."""
    if not all(isinstance(t, types.Float) for t in (a, b, c)):
        return None

    def codegen(context, builder, sig, args):
        f = ir.FloatType()
        xs = [context.cast(builder, v, t, types.float32) for v, t in zip(args, sig.args)]
        return _call(builder, "llvm.fma.f32", f, xs)
    return types.float32(a, b, c), codegen


# ---------------------------------------------------------------- int32 vectors
# i32x16 values hold 16 int32 lanes, or 64 packed int8/uint8 for vdpbusd.
i32x16 = VecType(types.int32, LANES)


def _is_i32_array(a):
    return isinstance(a, types.Array) and a.dtype == types.int32


@intrinsic
def vzero_i32(typingctx):
    def codegen(context, builder, sig, args):
        return ir.Constant(context.get_value_type(i32x16), None)
    return i32x16(), codegen


@intrinsic
def vsplat_i32(typingctx, x):
    """i32x16 with every lane = int32(x)."""
    if not isinstance(x, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        v = context.cast(builder, args[0], sig.args[0], types.int32)
        return _splat(builder, v, context.get_value_type(i32x16))
    return i32x16(x), codegen


@intrinsic
def vload_i32(typingctx, arr, idx):
    """Unaligned load of int32 arr.flat[idx:idx+16]."""
    if not (_is_i32_array(arr) and isinstance(idx, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        vty = context.get_value_type(i32x16)
        return builder.load(_ptr(context, builder, sig.args[0], args[0], args[1], vty), align=1)
    return i32x16(arr, idx), codegen


@intrinsic
def vbroadcast_i32(typingctx, arr, idx):
    """i32x16 with every lane = int32 arr.flat[idx] (vpbroadcastd; 4 packed bytes for vdpbusd)."""
    if not (_is_i32_array(arr) and isinstance(idx, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        x = builder.load(_ptr(context, builder, sig.args[0], args[0], args[1]))
        return _splat(builder, x, context.get_value_type(i32x16))
    return i32x16(arr, idx), codegen


@intrinsic
def vadd_i32(typingctx, a, b):
    if not (a == b == i32x16):
        return None

    def codegen(context, builder, sig, args):
        return builder.add(args[0], args[1])
    return i32x16(a, b), codegen


@intrinsic
def vmul_i32(typingctx, a, b):
    """Lane-wise int32 product, low 32 bits (vpmulld)."""
    if not (a == b == i32x16):
        return None

    def codegen(context, builder, sig, args):
        return builder.mul(args[0], args[1])
    return i32x16(a, b), codegen


@intrinsic
def vcvt_f32(typingctx, a):
    """int32 lanes -> float32 lanes, round to nearest even (vcvtdq2ps)."""
    if a != i32x16:
        return None

    def codegen(context, builder, sig, args):
        return builder.sitofp(args[0], context.get_value_type(f32x16))
    return f32x16(a), codegen


@intrinsic
def vdpbusd(typingctx, acc, a, b):
    """acc + per-lane sum of 4 products uint8(a bytes) * int8(b bytes), no
    saturation (llvm.x86.avx512.vpdpbusd.512).

    AVX512-VNNI ONLY: compiling a kernel that uses this on a CPU without it
    aborts the process; gate every caller on numba_infer.isa.VNNI.
    """
    if not (acc == a == b == i32x16):
        return None

    def codegen(context, builder, sig, args):
        return _call(builder, "llvm.x86.avx512.vpdpbusd.512", args[0].type, list(args))
    return i32x16(acc, a, b), codegen


# ---------------------------------------------------------------- lane-wise float ops, selects, bit views
# (generic IR only: they compile on any host.)  Comparisons are ordered, so a NaN
# lane compares false, as Python's `a > b` on scalars does.
@intrinsic
def vsub(typingctx, a, b):
    """Lane-wise a - b."""
    if not (a == b == f32x16):
        return None

    def codegen(context, builder, sig, args):
        return builder.fsub(args[0], args[1])
    return f32x16(a, b), codegen


@intrinsic
def vdiv(typingctx, a, b):
    """Lane-wise a / b (IEEE division, vdivps)."""
    if not (a == b == f32x16):
        return None

    def codegen(context, builder, sig, args):
        return builder.fdiv(args[0], args[1])
    return f32x16(a, b), codegen


@intrinsic
def vabs(typingctx, a):
    """Lane-wise |a| (clears the sign bit, NaN too)."""
    if a != f32x16:
        return None

    def codegen(context, builder, sig, args):
        return _call(builder, "llvm.fabs.v16f32", args[0].type, [args[0]])
    return f32x16(a), codegen


@intrinsic
def vfloor(typingctx, a):
    """Lane-wise floor (llvm.floor.v16f32)."""
    if a != f32x16:
        return None

    def codegen(context, builder, sig, args):
        return _call(builder, "llvm.floor.v16f32", args[0].type, [args[0]])
    return f32x16(a), codegen


def _select_cmp(op):
    def impl(typingctx, a, b, x, y):
        if not (a == b == x == y == f32x16):
            return None

        def codegen(context, builder, sig, args):
            return builder.select(builder.fcmp_ordered(op, args[0], args[1]), args[2], args[3])
        return f32x16(a, b, x, y), codegen
    return impl


vsel_gt = intrinsic(_select_cmp(">"))
vsel_gt.__doc__ = "Lane-wise x if a > b else y (ordered: a NaN lane gives y)."
vsel_lt = intrinsic(_select_cmp("<"))
vsel_lt.__doc__ = "Lane-wise x if a < b else y (ordered: a NaN lane gives y)."
vsel_eq = intrinsic(_select_cmp("=="))
vsel_eq.__doc__ = "Lane-wise x if a == b else y (ordered: a NaN lane gives y; +0 == -0)."


@intrinsic
def vsel_signbit(typingctx, v, x, y):
    """Lane-wise x where v's sign bit is set (-0, -NaN included) else y."""
    if not (v == x == y == f32x16):
        return None

    def codegen(context, builder, sig, args):
        ity = ir.VectorType(_I32, LANES)
        neg = builder.icmp_signed("<", builder.bitcast(args[0], ity), ir.Constant(ity, None))
        return builder.select(neg, args[1], args[2])
    return f32x16(v, x, y), codegen


@intrinsic
def vftz(typingctx, v):
    """Flush denormal lanes to a zero of their sign (what MXCSR flush-to-zero does to
    a result, and denormals-are-zero to an operand); other lanes, NaN included, pass.
    (exponent field 0 -> keep only the sign bit: vptestnmd + a masked vpandd.)"""
    if v != f32x16:
        return None

    def codegen(context, builder, sig, args):
        vty = args[0].type
        ity = ir.VectorType(_I32, LANES)
        bits = builder.bitcast(args[0], ity)
        expo = builder.and_(bits, ir.Constant(ity, [0x7F800000] * LANES))
        tiny = builder.icmp_signed("==", expo, ir.Constant(ity, None))
        signed_zero = builder.and_(bits, ir.Constant(ity, [-2147483648] * LANES))
        return builder.bitcast(builder.select(tiny, signed_zero, bits), vty)
    return f32x16(v), codegen


@intrinsic
def vkeep_n(typingctx, v, n):
    """v with lanes n..15 set to +0 (n <= 0: all zero, n >= 16: v)."""
    if not (v == f32x16 and isinstance(n, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        mask = _lane_mask(builder, args[1], LANES)
        return builder.select(mask, args[0], ir.Constant(args[0].type, None))
    return f32x16(v, n), codegen


@intrinsic
def vbits(typingctx, v):
    """The bit patterns of the float32 lanes as int32 lanes (a bitcast)."""
    if v != f32x16:
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.VectorType(_I32, LANES))
    return i32x16(v), codegen


@intrinsic
def vfrombits(typingctx, v):
    """The float32 lanes whose bit patterns are the int32 lanes of v (a bitcast)."""
    if v != i32x16:
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.VectorType(ir.FloatType(), LANES))
    return f32x16(v), codegen


@intrinsic
def vcvtt_i32(typingctx, a):
    """float32 lanes -> int32 lanes, truncating (vcvttps2dq); lanes must be in int32 range."""
    if a != f32x16:
        return None

    def codegen(context, builder, sig, args):
        return builder.fptosi(args[0], ir.VectorType(_I32, LANES))
    return i32x16(a), codegen


def _int_binop(name):
    def impl(typingctx, a, b):
        if not (a == b == i32x16):
            return None

        def codegen(context, builder, sig, args):
            return getattr(builder, name)(args[0], args[1])
        return i32x16(a, b), codegen
    return impl


vand_i32 = intrinsic(_int_binop("and_"))
vand_i32.__doc__ = "Lane-wise bitwise and of int32 lanes."
vor_i32 = intrinsic(_int_binop("or_"))
vor_i32.__doc__ = "Lane-wise bitwise or of int32 lanes."
vsub_i32 = intrinsic(_int_binop("sub"))
vsub_i32.__doc__ = "Lane-wise int32 difference (wraps)."


def _int_shift(name):
    def impl(typingctx, a, k):
        if not (a == i32x16 and isinstance(k, types.Integer)):
            return None

        def codegen(context, builder, sig, args):
            kk = context.cast(builder, args[1], sig.args[1], types.int32)
            return getattr(builder, name)(args[0], _splat(builder, kk, ir.VectorType(_I32, LANES)))
        return i32x16(a, k), codegen
    return impl


vshl_i32 = intrinsic(_int_shift("shl"))
vshl_i32.__doc__ = "Lane-wise a << k (int32, bits shifted out are lost); k: an integer, 0 <= k < 32."
vsra_i32 = intrinsic(_int_shift("ashr"))
vsra_i32.__doc__ = "Lane-wise a >> k, arithmetic (int32, rounds toward -inf); k: an integer, 0 <= k < 32."


@intrinsic
def vreduce_add_halving(typingctx, a):
    """Sum of the 16 lanes in XNNPack's AVX-512 order, each step one float32 add per lane:
    (j, j+8) for j < 8, then (j, j+4) for j < 4, (j, j+2) for j < 2, then (0, 1)."""
    if a != f32x16:
        return None

    def codegen(context, builder, sig, args):
        v = args[0]
        width = LANES
        while width > 1:
            h = width // 2
            lo = builder.shuffle_vector(v, v, ir.Constant(ir.VectorType(_I32, h), list(range(h))))
            hi = builder.shuffle_vector(v, v, ir.Constant(ir.VectorType(_I32, h), list(range(h, width))))
            v = builder.fadd(lo, hi)
            width = h
        return builder.extract_element(v, ir.Constant(_I32, 0))
    return types.float32(a), codegen


@intrinsic
def vmax_lanes(typingctx, a):
    """Largest of the 16 lanes by a halving tree of (p > q ? p : q) steps (vmaxps, no
    scalar chain): the maximum when no lane is NaN (which of +0 / -0 is unspecified);
    NaN when every lane is NaN."""
    if a != f32x16:
        return None

    def codegen(context, builder, sig, args):
        v = args[0]
        width = LANES
        while width > 1:
            h = width // 2
            lo = builder.shuffle_vector(v, v, ir.Constant(ir.VectorType(_I32, h), list(range(h))))
            hi = builder.shuffle_vector(v, v, ir.Constant(ir.VectorType(_I32, h), list(range(h, width))))
            v = builder.select(builder.fcmp_ordered(">", lo, hi), lo, hi)
            width = h
        return builder.extract_element(v, ir.Constant(_I32, 0))
    return types.float32(a), codegen
