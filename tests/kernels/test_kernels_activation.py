"""SIMD activation kernels vs their NumPy twins, bit for bit.

The XNNPack-exact kernels (kernels/activation.py ``*_xnn``, kernels/activation_avx512.py)
must give the very bits of XNNPack under LiteRT's flush-to-zero (LiteRT agreement:
tests/ops/test_ops_xnn_exact.py).  Their twins (kernels/reference/activation.py) model
the XNNPack microkernels operation by operation in NumPy float32 arithmetic with an exact
FMA emulation, so kernel and twin are compared with equal bits (NaN == NaN: NumPy does
not promise NaN payloads).  The portable and the AVX-512 LOGISTIC kernels are compared
with each other including NaN bits.  The twins themselves are bounded against exact
float64 math (XNNPack documents these approximations within a few float32 ulp).

Inputs: every length around the 16-lane vector (masked tails), +-0, +-inf, NaN,
denormals, the sigmoid / softmax exp cutoffs near -87.34, the rational clamps, huge
values and random bit patterns.
"""
import numpy as np
import pytest

from numba_infer import isa
from numba_infer.kernels import activation as KA
from numba_infer.kernels.reference import activation as RA
from numba_infer.kernels.simd import fma_f32

F32 = np.float32
LENGTHS = [0, 1, 15, 16, 17, 31, 33, 1000]


def special_inputs(rng, n_random=20000):
    edges = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1e-45, -1e-45, 1e-40, -1e-40, 1.1754942e-38,
                      1.1754944e-38, -1.1754944e-38, -87.3, -87.33, -87.336, -87.3365, -87.34, 87.34, -88.0, -103.9,
                      -104.0, 16.6355, 16.64, 88.72, 88.73, 5.1638, -5.1639, 4.8497, -4.8498, 7.9807, -7.9808, -3.0,
                      3.0, -2.9999998, 1e30, -1e30, 3e26, -3e26, -2.3e38, 3.4028235e38, -3.4028235e38, 1.0, -1.0,
                      0.5], F32)
    nans = np.array([0x7F800001, 0xFF800001, 0x7FC12345, 0xFFFFFFFF, 0x7FBFFFFF], np.uint32).view(F32)
    near = (F32(-87.3365) + np.arange(-300, 300, dtype=F32) * F32(2e-5)).astype(F32)
    x = (rng.standard_normal(n_random) * 12).astype(F32)
    bits = rng.integers(0, 2**32, n_random, dtype=np.uint64).astype(np.uint32).view(F32)
    den = rng.integers(1, 2**23, 500, dtype=np.uint32) | (rng.integers(0, 2, 500, dtype=np.uint32) << 31)
    sweep = np.arange(-110, 110, 0.0371, dtype=F32)
    return np.concatenate([edges, nans, near, -near, x, bits, den.view(F32), sweep])


def assert_same_bits(got, want, nan_bits=False):
    assert got.shape == want.shape and got.dtype == want.dtype
    same = got.view(np.uint32) == want.view(np.uint32)
    if not nan_bits:
        same |= np.isnan(got) & np.isnan(want)
    bad = np.flatnonzero(~same)
    assert bad.size == 0, (bad[:5], got[bad[:5]], want[bad[:5]])


def _sigmoid_avx512():
    from numba_infer.kernels.activation_avx512 import sigmoid_f32_xnn_avx512
    return sigmoid_f32_xnn_avx512


def _swish_avx512():
    from numba_infer.kernels.activation_avx512 import swish_f32_xnn_avx512
    return swish_f32_xnn_avx512


# name -> (kernel(x, out), twin(x, out), exact(x, out), (rtol, atol) of the twin vs exact math)
KERNELS = {
    "sigmoid": (lambda x, o: KA.sigmoid_f32_xnn(KA.EXP2_K_OVER_32, x, o),
                lambda x, o: RA.sigmoid_f32_xnn(KA.EXP2_K_OVER_32, x, o), RA.exact_sigmoid, (1e-6, 1e-37)),
    "gelu_erf": (lambda x, o: KA.gelu_f32_xnn(KA.GELU_ERF_XNN, x, o),
                 lambda x, o: RA.gelu_f32_xnn(KA.GELU_ERF_XNN, x, o),
                 lambda x, o: RA.exact_gelu(False, x, o), (2e-6, 2e-6)),
    "gelu_tanh": (lambda x, o: KA.gelu_f32_xnn(KA.GELU_TANH_XNN, x, o),
                  lambda x, o: RA.gelu_f32_xnn(KA.GELU_TANH_XNN, x, o),
                  lambda x, o: RA.exact_gelu(True, x, o), (2e-6, 2e-6)),
    "tanh": (KA.tanh_f32_xnn, RA.tanh_f32_xnn, RA.exact_tanh, (5e-7, 1e-30)),
    "hard_swish": (KA.hard_swish_f32_xnn, RA.hard_swish_f32_xnn, RA.exact_hard_swish, (1e-6, 1e-6)),
}
def _exact_swish(x, o):
    d = np.asarray(x).astype(np.float64)
    with np.errstate(all="ignore"):
        o[...] = (d / (1.0 + np.exp(-d))).astype(np.float32)


# swish = x * sigmoid(x) with the sigmoid rounded to float32 first: within the sigmoid's
# 1e-6 plus one more rounding of the product (6e-8)
KERNELS["swish"] = (lambda x, o: KA.swish_f32_xnn(KA.EXP2_K_OVER_32, False, x, o),
                    lambda x, o: RA.swish_f32_xnn(KA.EXP2_K_OVER_32, False, x, o), _exact_swish, (1.1e-6, 1e-37))
if isa.AVX512F:
    KERNELS["sigmoid_avx512"] = (lambda x, o: _sigmoid_avx512()(KA.EXP2_K_OVER_32, x, o),
                                 KERNELS["sigmoid"][1], RA.exact_sigmoid, (1e-6, 1e-37))
    KERNELS["swish_avx512"] = (lambda x, o: _swish_avx512()(KA.EXP2_K_OVER_32, False, x, o),
                               KERNELS["swish"][1], _exact_swish, (1.1e-6, 1e-37))


@pytest.fixture(scope="module")
def inputs():
    return special_inputs(np.random.default_rng(2024))


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_xnn_kernel_vs_twin_bits(name, inputs):
    kern, twin, _, _ = KERNELS[name]
    got, want = np.empty_like(inputs), np.empty_like(inputs)
    kern(inputs, got)
    twin(inputs, want)
    assert_same_bits(got, want)


@pytest.mark.parametrize("name", sorted(KERNELS))
@pytest.mark.parametrize("n", LENGTHS)
def test_xnn_kernel_lengths(name, n, inputs):
    """Every length (masked tails); nothing written past n; the input is not modified."""
    kern, twin, _, _ = KERNELS[name]
    x = inputs[-n - 7:][:n].copy() if n else inputs[:0].copy()
    x0 = x.copy()
    buf = np.full(n + 19, 7.0, F32)
    kern(x, buf[:n])
    want = np.empty_like(x)
    twin(x, want)
    assert_same_bits(buf[:n], want)
    assert (buf[n:] == 7.0).all()
    assert_same_bits(x, x0, nan_bits=True)


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_twin_vs_exact_math(name, rng):
    kern, twin, exact, (rtol, atol) = KERNELS[name]
    x = (rng.standard_normal(20000) * 4).astype(F32)
    got, want = np.empty_like(x), np.empty_like(x)
    twin(x, got)
    exact(x, want)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


@pytest.mark.skipif(not isa.AVX512F, reason="needs AVX-512F (vpermt2ps, vscalefps)")
def test_sigmoid_avx512_same_bits_as_portable(inputs):
    """The AVX-512 kernel and the portable scalar one agree including NaN payloads
    (checked once on all 2**32 inputs when written; here on the special set)."""
    a, b = np.empty_like(inputs), np.empty_like(inputs)
    KA.sigmoid_f32_xnn(KA.EXP2_K_OVER_32, inputs, a)
    _sigmoid_avx512()(KA.EXP2_K_OVER_32, inputs, b)
    assert_same_bits(b, a, nan_bits=True)


def test_swish_is_sigmoid_then_product(inputs):
    """The fused swish kernels give what LOGISTIC then MUL(x, sigmoid) give (the
    unfused ops' kernels), NaN payloads aside; in place (out is x) too."""
    s = np.empty_like(inputs)
    KA.sigmoid_f32_xnn(KA.EXP2_K_OVER_32, inputs, s)
    with np.errstate(all="ignore"):
        want = inputs * s
    with np.errstate(all="ignore"):
        want16 = inputs * s.astype(np.float16).astype(F32)   # fp16 emulation: the LOGISTIC's output rounded
    kernels = [KA.swish_f32_xnn] + ([_swish_avx512()] if isa.AVX512F else [])
    for kern in kernels:
        for rnd, w in ((False, want), (True, want16)):
            got = np.empty_like(inputs)
            kern(KA.EXP2_K_OVER_32, rnd, inputs, got)
            assert_same_bits(got, w)
            inplace = inputs.copy()
            kern(KA.EXP2_K_OVER_32, rnd, inplace, inplace)
            assert_same_bits(inplace, w)


def test_fma32_emulation_matches_hardware_fma(rng):
    """The twins' exact FMA (round-to-odd in float64) against llvm.fma.f32."""
    import numba

    @numba.njit
    def fma_all(a, b, c, out):
        for i in range(a.shape[0]):
            out[i] = fma_f32(a[i], b[i], c[i])
    n = 100000
    a = (rng.standard_normal(n) * rng.choice([1e-20, 1.0, 1e20], n)).astype(F32)
    b = (rng.standard_normal(n) * rng.choice([1e-20, 1.0, 1e20], n)).astype(F32)
    with np.errstate(over="ignore"):
        c = -(a.astype(np.float64) * b).astype(F32)    # near-cancellation: the hard cases
    c[::3] = rng.standard_normal(len(c[::3])).astype(F32)
    c[1::7] = rng.integers(0, 2**32, len(c[1::7]), dtype=np.uint64).astype(np.uint32).view(F32)
    a[::11] = rng.integers(0, 2**32, len(a[::11]), dtype=np.uint64).astype(np.uint32).view(F32)
    got = np.empty(n, F32)
    fma_all(a, b, c, got)
    assert_same_bits(RA.fma32(a, b, c), got)


def test_scalef_twin_special_cases():
    """scalef32 follows Intel's vscalefps table, then flushes denormals (LiteRT's FTZ)."""
    inf, nan = F32(np.inf), F32(np.nan)
    p = np.array([nan, nan, nan, inf, inf, 0.0, 0.0, 1.5, 1.5, 1.5, 1.5, -1.5, 1.0, 3.0], F32)
    n = np.array([-inf, inf, 2.0, -inf, -3.0, inf, -inf, inf, -inf, -126.5, -127.0, 2.7, -126.0, 127.0], F32)
    want = np.array([0.0, inf, nan, nan, inf, nan, 0.0, inf, 0.0, 0.0, 0.0, -6.0, 2.0**-126, inf], F32)
    assert_same_bits(RA.scalef32(p, n), want)


# LiteRT-builtin (numerics="tflite") kernels: Eigen packet math on whole packets of 4 (16
# lanes at a time), the C library's expf on the last size % 4 elements.  The twins model
# both bit for bit (expf through ctypes); LiteRT agreement: tests/ops/test_ops_tflite_exact.py.
EIGEN = {
    "sigmoid_eigen": (KA.sigmoid_f32_eigen, RA.sigmoid_f32_eigen),
    "tanh_eigen": (KA.tanh_f32_eigen, RA.tanh_f32_eigen),
    "gelu_eigen_tanh": (lambda x, o: KA.gelu_f32_eigen(True, x, o), lambda x, o: RA.gelu_f32_eigen(True, x, o)),
    "gelu_eigen_erf": (lambda x, o: KA.gelu_f32_eigen(False, x, o), lambda x, o: RA.gelu_f32_eigen(False, x, o)),
    "hard_swish_tflite": (KA.hard_swish_f32_tflite, RA.hard_swish_f32_tflite),
}


@pytest.mark.parametrize("name", sorted(EIGEN))
@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 15, 16, 17, 19, 1003, None])
def test_eigen_kernel_vs_twin_bits(name, n, inputs):
    kern, twin = EIGEN[name]
    x = inputs if n is None else inputs[-n - 5:][:n].copy()
    buf = np.full(x.shape[0] + 9, 7.0, F32)
    kern(x, buf[:x.shape[0]])
    want = np.empty_like(x)
    twin(x, want)
    assert_same_bits(buf[:x.shape[0]], want)
    assert (buf[x.shape[0]:] == 7.0).all()


@pytest.mark.parametrize("name", ["sigmoid_eigen", "gelu_eigen_erf"])
def test_eigen_scalar_tail_bits(name, inputs):
    """The expf tail (size % 4 elements) over many values, three at a time."""
    kern, twin = EIGEN[name]
    x = inputs[::37][:600].copy()
    got, want = np.empty(3, F32), np.empty(3, F32)
    for i in range(0, len(x) - 2, 3):
        kern(x[i:i + 3], got)
        twin(x[i:i + 3], want)
        assert_same_bits(got, want)


@pytest.mark.parametrize("coef", ["GELU_ERF_XNN", "GELU_TANH_XNN"])
def test_gelu_xnn_tiny_inputs(coef):
    """_gelu16_xnn does not flush c * P (absorbed: e + 1 == 1 whenever it is denormal):
    float32 inputs with |x| < 2**-123 (exponent field < 4, where c * P can be denormal;
    every 61st bit pattern, both signs) give the twin's bits (which flushes as LiteRT
    runs)."""
    c = getattr(KA, coef)
    for sign in (0, 0x80000000):
        bits = (np.arange(0, 4 << 23, 61, dtype=np.uint32) | np.uint32(sign))
        x = bits.view(F32)
        got, want = np.empty_like(x), np.empty_like(x)
        KA.gelu_f32_xnn(c, x, got)
        RA.gelu_f32_xnn(c, x, want)
        assert_same_bits(got, want)
