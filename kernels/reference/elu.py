"""NumPy twin of kernels/elu.py: XNNPack's f32-velu avx512f_rr1_p6 operation by operation in
float32 arithmetic (one rounding per operation, exact FMA emulation), with LiteRT's FTZ/DAZ."""
import numpy as np

from ..elu import _C2, _C3, _C4, _C5, _C6, _LOG2E, _MAGIC, _MINUS_LN2, ELU_SAT_CUTOFF
from .activation import bits32, fma32, from_bits32, ftz32

F32 = np.float32


def elu_f32_xnn(x, out):
    """out = x if x >= 0 else expm1(x), bit for bit as XNNPack (every intermediate flushed)."""
    one = F32(1.0)
    with np.errstate(all="ignore"):
        v = ftz32(x)
        z = np.where(ELU_SAT_CUTOFF > v, ELU_SAT_CUTOFF, v)
        n = fma32(z, _LOG2E, _MAGIC)
        s = from_bits32(bits32(n) << 23)
        n = ftz32(n - _MAGIC)
        t = ftz32(fma32(n, _MINUS_LN2, z))
        p = ftz32(fma32(_C6, t, _C5))
        for c in (_C4, _C3, _C2):
            p = ftz32(fma32(p, t, c))
        p = ftz32(p * t)
        t = ftz32(t * s)
        s = ftz32(fma32(s, one, -one))
        p = ftz32(fma32(p, t, t))
        y = ftz32(fma32(p, one, s))
        out[...] = np.where(v < 0, y, v)


def exact_elu(x, out):
    """expm1 in float64, rounded once (what the approximation approximates)."""
    d = np.asarray(x, np.float64)
    with np.errstate(all="ignore"):
        out[...] = np.where(d >= 0, d, np.expm1(d)).astype(F32)
