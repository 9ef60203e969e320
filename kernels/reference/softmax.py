"""NumPy twins of kernels/softmax.py: float64 math rounded to float32 once, except the
XNNPack-exact kernel, whose twin is a bit-exact model (see reference/activation.py)."""
import numpy as np

from .activation import bits32, fma32, from_bits32, ftz32


def softmax_f32_rows(x, beta, out):
    d = x.astype(np.float64)
    e = np.exp((d - d.max(axis=-1, keepdims=True)) * np.float64(beta))
    out[...] = (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def log_softmax_f32_rows(x, out):
    d = x.astype(np.float64)
    z = d - d.max(axis=-1, keepdims=True)
    out[...] = (z - np.log(np.exp(z).sum(axis=-1, keepdims=True))).astype(np.float32)


_E_LOG2E = np.float32(float.fromhex("0x1.715476p+0"))
_E_MAGIC = np.float32(float.fromhex("0x1.8000FEp23"))
_E_MINUS_LN2_HI = np.float32(-float.fromhex("0x1.62E400p-1"))
_E_MINUS_LN2_LO = np.float32(-float.fromhex("0x1.7F7D1Cp-20"))
_E_C = [np.float32(float.fromhex(h)) for h in ("0x1.0F9F9Cp-7", "0x1.573A1Ap-5", "0x1.555A80p-3", "0x1.FFFDC6p-2",
                                               "0x1.FFFFF6p-1")]
_E_CUTOFF = np.float32(-float.fromhex("0x1.5D589Ep6"))


def exp_minus_xnn(x):
    """XNNPack's avx512f_rr2_p5 exp of x <= 0 with FTZ, operation by operation (bit-exact)."""
    x = np.asarray(x, np.float32)
    with np.errstate(all="ignore"):
        nb = fma32(x, _E_LOG2E, _E_MAGIC)
        s = from_bits32(bits32(nb) << 23)
        n = nb - _E_MAGIC
        t = fma32(n, _E_MINUS_LN2_HI, x)
        t = fma32(n, _E_MINUS_LN2_LO, t)
        p = fma32(_E_C[0], t, _E_C[1])
        for c in _E_C[2:]:
            p = fma32(p, t, c)
        t = ftz32(t * s)
        f = ftz32(fma32(t, p, s))
        return np.where(x < _E_CUTOFF, np.float32(0.0), f)


def fold16_xnn(acc):
    """XNNPack's horizontal sum of 16-lane accumulators (..., 16): (j, j+8), (j, j+4),
    (0, 2) (1, 3), then the halves, in float32."""
    a = acc[..., :8] + acc[..., 8:]
    a = a[..., :4] + a[..., 4:]
    return (a[..., 0] + a[..., 2]) + (a[..., 1] + a[..., 3])


def softmax_f32_rows_xnn(x, out):
    """XNNPack's SOFTMAX on AVX-512 with FTZ, bit-exact: max, exp_minus_xnn(x - max), the sum
    in the lanes of two 16-lane accumulators (u64_acc2), fold16_xnn, then e * (1 / sum)."""
    x = np.asarray(x, np.float32)
    rows, depth = x.shape
    f32 = np.float32
    with np.errstate(all="ignore"):
        m = np.where(np.isnan(x[:, 0]), x[:, 0], np.fmax.reduce(x, axis=1))
        e = exp_minus_xnn(ftz32(x - m[:, None]))
        main, whole = depth // 64 * 64, depth // 16 * 16
        a0 = np.zeros((rows, 16), f32)
        a1 = np.zeros((rows, 16), f32)
        for b in range(0, main, 64):
            a0 = a0 + e[:, b:b + 16]
            a1 = a1 + e[:, b + 16:b + 32]
            a0 = a0 + e[:, b + 32:b + 48]
            a1 = a1 + e[:, b + 48:b + 64]
        a0 = a0 + a1
        for b in range(main, whole, 16):
            a0 = a0 + e[:, b:b + 16]
        tail = np.zeros((rows, 16), f32)
        tail[:, :depth - whole] = e[:, whole:]
        a0 = a0 + tail
        inv = f32(1.0) / fold16_xnn(a0)
        out[...] = ftz32(e * inv[:, None])


def exact_softmax(x, out):
    """Plain float64 softmax of each row (beta = 1), rounded once."""
    softmax_f32_rows(x, 1.0, out)


def softmax_f32_rows_eigen(x, beta, out):
    """Plain float64 softmax with beta."""
    softmax_f32_rows(x, beta, out)


def log_softmax_f32_rows_eigen(x, out):
    """Plain float64 log-softmax."""
    log_softmax_f32_rows(x, out)
