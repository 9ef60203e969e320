"""Float32 ELU as LiteRT's default delegate computes it: XNNPack's f32-velu.

LiteRT 2.3.0's XNNPack picks ``xnn_f32_velu_ukernel__avx512f_rr1_p6`` on an AVX-512F host
(unary-elementwise-config.c), with prescale = alpha = beta = 1 (TFLite's ELU has no
parameters), and runs it with flush-to-zero and denormals-are-zero (pthreadpool's
disable-denormals).  ``elu_f32_xnn`` performs the same float32 operations in the same order
(same constants, FMA where XNNPack uses FMA) on 16 lanes of generic vector IR, so it gives
the same bits on any host; compiled without fastmath so LLVM keeps every rounding.
Measured bit-exact against LiteRT (tests/ops/test_ops_elu_xnn.py).
"""
import numpy as np

from ._jit import kernel
from .simd import (vbits, vfma, vfrombits, vftz, vload, vload_n, vmax, vmul, vor_i32, vsel_eq, vsel_lt, vshl_i32,
                   vsplat, vsplat_i32, vstore, vstore_n, vsub)

_H = float.fromhex
ELU_SAT_CUTOFF = np.float32(-_H("0x1.154246p+4"))     # below it expm1(x) rounds to -1
_MAGIC = np.float32(_H("0x1.8000FEp23"))              # 1.5 * 2**23 + 127: low bits of n hold k + 127
_LOG2E = np.float32(_H("0x1.715476p+0"))
_MINUS_LN2 = np.float32(-_H("0x1.62E430p-1"))
_C6 = np.float32(_H("0x1.6B7338p-10"))
_C5 = np.float32(_H("0x1.12278Ep-7"))
_C4 = np.float32(_H("0x1.555716p-5"))
_C3 = np.float32(_H("0x1.5554B0p-3"))
_C2 = np.float32(_H("0x1.FFFFFEp-2"))


@kernel
def _elu16_xnn(x):
    """One vector of avx512f_rr1_p6 (alpha = prescale = beta = 1).  DAZ is applied to the
    input (a denormal x is a signed zero to every instruction, so it takes the x >= 0 lane
    and comes out as that zero); no other flush can change a result: the only intermediate
    that can be denormal is p * t for |x| < 2**-125, and it is then added to t, which is
    normal and ~2**100 times larger, so it vanishes in the rounding either way."""
    one = vsplat(np.float32(1.0))
    v = vftz(x)
    z = vmax(vsplat(ELU_SAT_CUTOFF), v)                  # vmaxps(cutoff, x): a NaN x passes
    n = vfma(z, vsplat(_LOG2E), vsplat(_MAGIC))
    s = vfrombits(vshl_i32(vbits(n), 23))                # 2**k
    n = vsub(n, vsplat(_MAGIC))
    t = vfma(n, vsplat(_MINUS_LN2), z)
    p = vfma(vsplat(_C6), t, vsplat(_C5))
    p = vfma(p, t, vsplat(_C4))
    p = vfma(p, t, vsplat(_C3))
    p = vfma(p, t, vsplat(_C2))
    p = vmul(p, t)
    t = vmul(t, s)
    s = vfma(s, one, vsub(vsplat(np.float32(0.0)), one))   # s * alpha - alpha
    p = vfma(p, t, t)
    y = vfma(p, one, s)
    quiet = vfrombits(vor_i32(vbits(v), vsplat_i32(np.int32(0x400000))))
    pos = vsel_eq(v, v, v, quiet)                         # x * beta: x, a signalling NaN made quiet
    return vsel_lt(v, vsplat(np.float32(0.0)), y, pos)


@kernel
def elu_f32_xnn(x, out):
    """out = x if x >= 0 else expm1(x), as XNNPack's f32-velu avx512f_rr1_p6 under LiteRT's
    FTZ/DAZ:  z = max(x, -17.33); n = fma(z, log2e, magic); s = 2**k from n's low bits;
    t = fma(n - magic, -ln2, z); p = t * (c2 + t(c3 + t(c4 + t(c5 + t c6)))) by FMA Horner;
    out = fma(fma(p, t s, t s), 1, s - 1).  16 lanes at a time, masked tail.
    x, out: flat float32 (may alias).  Reference: kernels/reference/elu.py
    """
    n = out.shape[0]
    main = n - n % 16
    for i in range(0, main, 16):
        vstore(out, i, _elu16_xnn(vload(x, i)))
    if main < n:
        vstore_n(out, main, _elu16_xnn(vload_n(x, main, n - main)), n - main)
