"""AVX512-VBMI 8-bit table lookup: 64 bytes per step with two ``vpermi2b``.

AVX512-VBMI ONLY: import this module only when ``numba_infer.isa.VBMI`` is true.
Compiling ``llvm.x86.avx512.vpermi2var.qi.512`` for a host without VBMI aborts
the process inside LLVM (PERF_NOTES.md section 3); the portable twin is
kernels/qelementwise.py ``lut_u8`` (scalar, same bytes).

The 256-entry table is held in four zmm registers; each 64-byte block of codes
is looked up in the low half (entries 0..127, ``vpermi2b`` on bits 0..6) and
the high half (128..255), and the code's top bit picks one (``vpmovb2m`` +
``vpblendmb``) -- XNNPack's x8-lut avx512vbmi-vpermx2b scheme.
Reference: kernels/reference/qelementwise.py (lut_u8).
"""
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from ._jit import kernel
from .simd import VecType, _call, _lane_mask, _ptr

BLANES = 64
u8x64 = VecType(types.uint8, BLANES)
_I8 = ir.IntType(8)
_V64 = ir.VectorType(_I8, BLANES)


def _is_byte_array(a):
    return isinstance(a, types.Array) and a.dtype in (types.int8, types.uint8)


@intrinsic
def vload_b64(typingctx, arr, idx):
    """The 64 bytes arr.flat[idx:idx+64] of an int8 / uint8 array (unaligned)."""
    if not (_is_byte_array(arr) and isinstance(idx, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        return builder.load(_ptr(context, builder, sig.args[0], args[0], args[1], _V64), align=1)
    return u8x64(arr, idx), codegen


@intrinsic
def vload_b64_n(typingctx, arr, idx, n):
    """vload_b64 of the first n bytes only (the others read as 0, never touched)."""
    if not (_is_byte_array(arr) and isinstance(idx, types.Integer) and isinstance(n, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        p = _ptr(context, builder, sig.args[0], args[0], args[1], _V64)
        mask = _lane_mask(builder, args[2], BLANES)
        return _call(builder, "llvm.masked.load.v64i8.p0", _V64,
                     [p, ir.Constant(ir.IntType(32), 1), mask, ir.Constant(_V64, None)])
    return u8x64(arr, idx, n), codegen


@intrinsic
def vstore_b64(typingctx, arr, idx, v):
    """Store the 64 bytes of v to arr.flat[idx:idx+64] (int8 / uint8 array)."""
    if not (_is_byte_array(arr) and isinstance(idx, types.Integer) and v == u8x64):
        return None

    def codegen(context, builder, sig, args):
        builder.store(args[2], _ptr(context, builder, sig.args[0], args[0], args[1], _V64), align=1)
        return context.get_dummy_value()
    return types.void(arr, idx, v), codegen


@intrinsic
def vstore_b64_n(typingctx, arr, idx, v, n):
    """vstore_b64 of the first n bytes only (n <= 0: nothing)."""
    if not (_is_byte_array(arr) and isinstance(idx, types.Integer) and v == u8x64 and isinstance(n, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        p = _ptr(context, builder, sig.args[0], args[0], args[1], _V64)
        mask = _lane_mask(builder, args[3], BLANES)
        _call(builder, "llvm.masked.store.v64i8.p0", ir.VoidType(), [args[2], p, ir.Constant(ir.IntType(32), 1), mask])
        return context.get_dummy_value()
    return types.void(arr, idx, v, n), codegen


@intrinsic
def vlut256(typingctx, t0, t1, t2, t3, x):
    """Byte j = (t0 ++ t1 ++ t2 ++ t3)[x[j]]: two vpermi2b (128 entries each, index
    bits 0..6) and a blend on each code's top bit."""
    if not (t0 == t1 == t2 == t3 == x == u8x64):
        return None

    def codegen(context, builder, sig, args):
        t0, t1, t2, t3, x = args
        name = "llvm.x86.avx512.vpermi2var.qi.512"
        lo = _call(builder, name, _V64, [t0, x, t1])
        hi = _call(builder, name, _V64, [t2, x, t3])
        top = builder.icmp_signed("<", x, ir.Constant(_V64, None))
        return builder.select(top, hi, lo)
    return u8x64(t0, t1, t2, t3, x), codegen


@kernel
def _lut_range(x, t0, t1, t2, t3, i0, i1, out):
    """out[i] = table[x[i]] for i0 <= i < i1 (table in t0..t3)."""
    n = i1 - i0
    nv = i0 + (n - n % (2 * BLANES))
    for i in range(i0, nv, 2 * BLANES):            # two independent blocks per step
        a = vload_b64(x, i)
        b = vload_b64(x, i + BLANES)
        vstore_b64(out, i, vlut256(t0, t1, t2, t3, a))
        vstore_b64(out, i + BLANES, vlut256(t0, t1, t2, t3, b))
    i = nv
    while i < i1:
        r = i1 - i
        vstore_b64_n(out, i, vlut256(t0, t1, t2, t3, vload_b64_n(x, i, r)), r)
        i += BLANES


@kernel
def lut_u8_vbmi(x, table, out):
    """out[i] = table[x[i]] for 8-bit codes (as kernels/qelementwise.py lut_u8): x is
    the uint8 view of the input, table 256 entries of out's dtype (int8 / uint8)."""
    _lut_range(x, vload_b64(table, 0), vload_b64(table, 64), vload_b64(table, 128), vload_b64(table, 192), 0,
               out.shape[0], out)
