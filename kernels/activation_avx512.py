"""AVX-512F activation kernels: XNNPack's own instructions for LOGISTIC.

AVX-512F ONLY: import this module only when ``numba_infer.isa.AVX512F`` is true.
Compiling ``llvm.x86.avx512.*`` for a host without AVX-512 aborts the process
inside LLVM (PERF_NOTES.md section 3); the portable twin is
kernels/activation.py ``sigmoid_f32_xnn`` (scalar, same bits).
"""
import numpy as np
from llvmlite import ir
from numba.extending import intrinsic

from ._jit import kernel
from .fp16 import vround_f16
from .activation import _S_C1, _S_C2, _S_LOG2E, _S_MAGIC, _S_MINUS_LN2_HI, _S_MINUS_LN2_LO
from .simd import (_call, f32x16, i32x16, vadd, vbits, vdiv, vfma, vfrombits, vftz, vload, vload_n, vmul, vor_i32,
                   vsel_signbit, vsplat, vsplat_i32, vstore, vstore_n, vsub)


@intrinsic
def vperm2(typingctx, lo, idx, hi):
    """32-entry table lookup: lane j = (lo ++ hi)[idx[j] & 31] (vpermt2ps)."""
    if not (lo == hi == f32x16 and idx == i32x16):
        return None

    def codegen(context, builder, sig, args):
        return _call(builder, "llvm.x86.avx512.vpermi2var.ps.512", args[0].type, list(args))
    return f32x16(lo, idx, hi), codegen


@intrinsic
def vscalef(typingctx, p, n):
    """Lane-wise p * 2**floor(n), one rounding, Intel's special cases (vscalefps)."""
    if not (p == n == f32x16):
        return None

    def codegen(context, builder, sig, args):
        vty = args[0].type
        return _call(builder, "llvm.x86.avx512.mask.scalef.ps.512", vty,
                     [args[0], args[1], ir.Constant(vty, None), ir.Constant(ir.IntType(16), -1),
                      ir.Constant(ir.IntType(32), 4)])
    return f32x16(p, n), codegen


@intrinsic
def vopaque(typingctx, v):
    """v, hidden from LLVM's optimizer (an empty inline-asm register constraint, no
    instruction): stops it from rewriting -|x| into negated FMAs, which would lose the
    sign of a NaN that XNNPack (and LiteRT) keep."""
    if v != f32x16:
        return None

    def codegen(context, builder, sig, args):
        fty = ir.FunctionType(args[0].type, [args[0].type])
        return builder.asm(fty, "", "=v,0", [args[0]], False)
    return f32x16(v), codegen


@kernel
def _sigmoid16_xnn(tlo, thi, x):
    """One vector of XNNPack's avx512f_rr2_lut32_p2_perm2_scalef_div, instruction for
    instruction, plus the flush of the scalef result (LiteRT's FTZ; nothing else in this
    kernel can produce or meet a denormal that matters: see sigmoid_f32_xnn)."""
    one = vsplat(np.float32(1.0))
    magic = vsplat(_S_MAGIC)
    z = vopaque(vfrombits(vor_i32(vbits(x), vsplat_i32(np.int32(-2147483648)))))
    nb = vfma(z, vsplat(_S_LOG2E), magic)
    l = vperm2(tlo, vbits(nb), thi)
    n = vsub(nb, magic)
    t = vfma(n, vsplat(_S_MINUS_LN2_HI), z)
    t = vfma(n, vsplat(_S_MINUS_LN2_LO), t)
    p = vfma(t, vsplat(_S_C2), vsplat(_S_C1))
    t = vmul(t, l)
    p = vfma(t, p, l)
    e = vftz(vscalef(p, n))
    f = vdiv(e, vadd(e, one))
    return vsel_signbit(x, f, vsub(one, f))


@kernel
def sigmoid_f32_xnn_avx512(table, x, out):
    """out = 1 / (1 + exp(-x)) as XNNPack's f32-vsigmoid avx512f_rr2_lut32_p2_perm2_scalef_div
    with LiteRT's flush-to-zero, 16 lanes at a time with its vpermt2ps table lookup and
    vscalefps, masked tail.  Same bits as kernels/activation.py sigmoid_f32_xnn.
    x, out: flat float32; table: EXP2_K_OVER_32.  Reference: kernels/reference/activation_avx512.py
    """
    n = out.shape[0]
    tlo = vload(table, 0)
    thi = vload(table, 16)
    main = n - n % 16
    for i in range(0, main, 16):
        vstore(out, i, _sigmoid16_xnn(tlo, thi, vload(x, i)))
    if main < n:
        vstore_n(out, main, _sigmoid16_xnn(tlo, thi, vload_n(x, main, n - main)), n - main)


@kernel
def swish_f32_xnn_avx512(table, rnd, x, out):
    """out = x * sigmoid(x) (kernels/activation.py swish_f32_xnn, same bits): the
    vsigmoid above, rounded to fp16 when rnd, and the product on each vector
    while it is in registers.  Reference: kernels/reference/activation_avx512.py"""
    n = out.shape[0]
    tlo = vload(table, 0)
    thi = vload(table, 16)
    main = n - n % 16
    for i in range(0, main, 16):
        v = vload(x, i)
        vstore(out, i, vmul(v, _sig16(tlo, thi, v, rnd)))
    if main < n:
        v = vload_n(x, main, n - main)
        vstore_n(out, main, vmul(v, _sig16(tlo, thi, v, rnd)), n - main)


@kernel
def _sig16(tlo, thi, v, rnd):
    s = _sigmoid16_xnn(tlo, thi, v)
    return vround_f16(s) if rnd else s
