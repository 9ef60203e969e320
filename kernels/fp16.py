"""IEEE binary16 emulation on uint16 bit patterns.

Numba's CPU target has no half type, so fp16 values travel as ``uint16``
bits.  These are portable bit-manipulation kernels (no F16C needed): exact
round-to-nearest-even, overflow to +-inf, subnormals, NaN kept NaN.
Reference: kernels/reference/fp16.py (NumPy's own float16 casts).
"""
import numpy as np
from llvmlite import ir
from numba.extending import intrinsic

from ._jit import kernel
from .simd import LANES, f32x16, vload_n, vstore_n


@kernel
def f16_bits_to_f32_scalar(h):
    """One binary16 bit pattern (uint16) -> float32, exactly."""
    h = np.uint32(h)
    sign = (h >> np.uint32(15)) << np.uint32(31)
    exp = (h >> np.uint32(10)) & np.uint32(0x1F)
    mant = h & np.uint32(0x3FF)
    if exp == 0:
        # zero or subnormal: mant * 2^-24, exact in float32
        v = np.float32(mant) * np.float32(5.9604644775390625e-08)
        return -v if sign else v
    if exp == 31:
        bits = sign | np.uint32(0x7F800000) | (mant << np.uint32(13))
    else:
        bits = sign | ((exp + np.uint32(112)) << np.uint32(23)) | (mant << np.uint32(13))
    return np.uint32(bits).view(np.float32)


@kernel
def f32_to_f16_bits_scalar(x):
    """float32 -> binary16 bits (uint16), round to nearest even (as vcvtps2ph)."""
    u = np.float32(x).view(np.uint32)
    sign = (u >> np.uint32(16)) & np.uint32(0x8000)
    a = u & np.uint32(0x7FFFFFFF)
    if a >= np.uint32(0x7F800000):                       # inf or NaN (NaN stays a quiet NaN)
        if a == np.uint32(0x7F800000):
            return np.uint16(sign | np.uint32(0x7C00))
        return np.uint16(sign | np.uint32(0x7E00) | ((a & np.uint32(0x7FFFFF)) >> np.uint32(13)))
    if a >= np.uint32(0x477FF000):                       # >= 65520 rounds to inf
        return np.uint16(sign | np.uint32(0x7C00))
    if a < np.uint32(0x38800000):                        # below 2^-14: fp16 subnormal or zero
        f = np.uint32(a).view(np.float32) * np.float32(16777216.0)   # exact scaling by 2^24
        return np.uint16(sign | np.uint32(np.rint(f)))
    h = ((a >> np.uint32(23)) - np.uint32(112)) << np.uint32(10) | ((a >> np.uint32(13)) & np.uint32(0x3FF))
    rem = a & np.uint32(0x1FFF)
    if rem > np.uint32(0x1000) or (rem == np.uint32(0x1000) and (h & np.uint32(1))):
        h += np.uint32(1)
    return np.uint16(sign | h)


@kernel
def f16_bits_to_f32(src, out):
    """src: (n,) uint16 binary16 bits; out: (n,) float32."""
    for i in range(src.shape[0]):
        out[i] = f16_bits_to_f32_scalar(src[i])


@kernel
def f32_to_f16_bits(src, out):
    """src: (n,) float32; out: (n,) uint16 binary16 bits, round to nearest even."""
    for i in range(src.shape[0]):
        out[i] = f32_to_f16_bits_scalar(src[i])


@kernel
def round_f32_f16(src, out):
    """out = float32(float16(src)) elementwise (RNE); out may alias src."""
    for i in range(src.shape[0]):
        out[i] = f16_bits_to_f32_scalar(f32_to_f16_bits_scalar(src[i]))


# ---------------------------------------------------------------- 16 lanes, in GEMM epilogues
def _target_has_f16c(context):
    """Whether the machine code Numba is generating may use F16C (the features it
    compiles for; Numba keys its on-disk cache on them too)."""
    feats = getattr(context.codegen(), "_tm_features", "") or ""
    return "+f16c" in feats.split(",")


def _round_f16_bits_ir(context, builder, x):
    """The portable sequence of vround_f16 on an LLVM <16 x float> value."""
    vf = context.get_value_type(f32x16)
    vi = ir.VectorType(ir.IntType(32), LANES)

    def c(x):
        return ir.Constant(vi, [x] * LANES)
    b = builder.bitcast(x, vi)
    sign = builder.and_(b, c(-0x80000000))
    a = builder.and_(b, c(0x7FFFFFFF))
    lsb = builder.and_(builder.lshr(a, c(13)), c(1))
    rn = builder.and_(builder.add(builder.add(a, c(0xFFF)), lsb), c(-0x2000))
    rn = builder.select(builder.icmp_signed(">", rn, c(0x477FE000)), c(0x7F800000), rn)
    half = ir.Constant(vf, [0.5] * LANES)
    sub = builder.fsub(builder.fadd(builder.bitcast(a, vf), half), half)
    rs = builder.bitcast(sub, vi)
    qnan = builder.and_(builder.or_(a, c(0x400000)), c(-0x2000))
    r = builder.select(builder.icmp_signed("<", a, c(0x38800000)), rs, rn)
    r = builder.select(builder.icmp_signed(">", a, c(0x7F800000)), qnan, r)
    return builder.bitcast(builder.or_(r, sign), vf)


@intrinsic
def vround_f16_bits(typingctx, v):
    """vround_f16 always through the portable integer/float sequence (tests use it
    to check that sequence on a host that has F16C)."""
    if v != f32x16:
        return None

    def codegen(context, builder, sig, args):
        return _round_f16_bits_ir(context, builder, args[0])
    return f32x16(f32x16), codegen


@intrinsic
def vround_f16(typingctx, v):
    """f32x16 -> every lane rounded to the nearest fp16 value, as float32 (RNE,
    overflow to +-inf, fp16 subnormals, NaN quieted as vcvtps2ph does).

    When the compile target has F16C: fptrunc to <16 x half> and back (LLVM
    emits vcvtps2ph + vcvtph2ps).  Otherwise a portable integer/float sequence
    (no half type, so no compiler-rt call that Numba's JIT could not link),
    bit-identical: normal range: add half an fp16 ulp minus one plus the kept
    lsb, clear the 13 dropped bits; below 2^-14: (|x| + 0.5) - 0.5, whose sum
    rounds |x| to a multiple of 2^-24 (the fp16 subnormal quantum) with RNE."""
    if v != f32x16:
        return None

    def codegen(context, builder, sig, args):
        if _target_has_f16c(context):
            h = builder.fptrunc(args[0], ir.VectorType(ir.HalfType(), LANES))
            return builder.fpext(h, context.get_value_type(f32x16))
        return _round_f16_bits_ir(context, builder, args[0])
    return f32x16(f32x16), codegen


@kernel
def round_f32_f16_vec_bits(src, out):
    """round_f32_f16_vec through vround_f16_bits (the portable sequence)."""
    n = src.shape[0]
    for i in range(0, n, LANES):
        vstore_n(out, i, vround_f16_bits(vload_n(src, i, n - i)), n - i)


@kernel
def round_f32_f16_vec(src, out):
    """round_f32_f16 16 lanes at a time with vround_f16 (masked tail); out may alias src."""
    n = src.shape[0]
    for i in range(0, n, LANES):
        vstore_n(out, i, vround_f16(vload_n(src, i, n - i)), n - i)
