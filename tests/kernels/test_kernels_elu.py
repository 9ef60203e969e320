"""kernels/elu.py elu_f32_xnn (XNNPack's f32-velu avx512f_rr1_p6 under LiteRT's FTZ/DAZ) vs its
NumPy twin kernels/reference/elu.py, bit for bit, including NaN payloads (the kernel quiets a
signalling NaN as XNNPack's x * beta does; the twin is compared with NaN == NaN because NumPy
does not promise payloads).  The twin is bounded against float64 expm1: within 1 float32 ulp
(measured on 2M inputs: at most 1 ulp), so rtol 2.4e-7 (2 ulp) is the test's bound.
LiteRT agreement: tests/ops/test_ops_elu_xnn.py.  The kernel is generic vector IR: the same
code on the native and the NUMBA_INFER_ISA=generic path.
"""
import numpy as np
import pytest

from numba_infer.kernels.elu import ELU_SAT_CUTOFF, elu_f32_xnn
from numba_infer.kernels.reference import elu as R

F32 = np.float32


def elu_inputs(rng, n_random=20000):
    cut = ELU_SAT_CUTOFF
    edges = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1e-45, -1e-45, 1e-40, -1e-40, -1.1754942e-38,
                      -1.1754944e-38, 1.1754944e-38, -2.4e-38, -3e-38, -1e-37, cut, np.nextafter(cut, F32(0)),
                      np.nextafter(cut, F32(-1)), -17.0, -18.0, -87.5, -104.0, -1e30, -3.4028235e38, 3.4028235e38,
                      1.0, -1.0, 0.5, -0.5, -0.34657359, -0.6931472, 88.7], F32)
    nans = np.array([0x7F800001, 0xFF800001, 0x7FC12345, 0xFFFFFFFF, 0x7FBFFFFF, 0xFFA00000], np.uint32).view(F32)
    den = rng.integers(1, 2**23, 500, dtype=np.uint32) | (rng.integers(0, 2, 500, dtype=np.uint32) << 31)
    x = (rng.standard_normal(n_random) * 6).astype(F32)
    bits = rng.integers(0, 2**32, n_random, dtype=np.uint64).astype(np.uint32).view(F32)
    tiny = -np.logspace(-38, -30, 3000).astype(F32)
    sweep = np.arange(-20, 1, 0.00731, dtype=F32)
    return np.concatenate([edges, nans, den.view(F32), x, bits, tiny, sweep])


@pytest.fixture(scope="module")
def inputs():
    return elu_inputs(np.random.default_rng(77))


def _same_bits(got, want, nan_bits):
    same = got.view(np.uint32) == want.view(np.uint32)
    if not nan_bits:
        same |= np.isnan(got) & np.isnan(want)
    bad = np.flatnonzero(~same)
    assert bad.size == 0, (bad[:5], got[bad[:5]], want[bad[:5]])


def test_elu_vs_twin_bits(inputs):
    got, want = np.empty_like(inputs), np.empty_like(inputs)
    elu_f32_xnn(inputs, got)
    R.elu_f32_xnn(inputs, want)
    _same_bits(got, want, nan_bits=False)
    nan = np.isnan(inputs)
    quiet = (inputs[nan].view(np.uint32) | np.uint32(0x400000)).view(F32)
    _same_bits(got[nan], quiet, nan_bits=True)         # x * beta: the NaN, made quiet


@pytest.mark.parametrize("n", [0, 1, 7, 15, 16, 17, 31, 32, 33, 1000])
def test_elu_lengths(n, inputs):
    """Every length around the vector width (masked tail); nothing written past n; the input is
    not modified; in place (out aliasing x) gives the same bits."""
    x = inputs[-n - 5:][:n].copy() if n else inputs[:0].copy()
    x0 = x.copy()
    buf = np.full(n + 19, 7.0, F32)
    elu_f32_xnn(x, buf[:n])
    want = np.empty_like(x)
    R.elu_f32_xnn(x, want)
    _same_bits(buf[:n], want, nan_bits=False)
    assert (buf[n:] == 7.0).all()
    _same_bits(x, x0, nan_bits=True)
    elu_f32_xnn(x, x)
    _same_bits(x, buf[:n], nan_bits=True)


def test_twin_vs_expm1(rng):
    x = np.concatenate([(rng.standard_normal(20000) * 5).astype(F32), -np.logspace(-37, 1.3, 5000).astype(F32)])
    got, want = np.empty_like(x), np.empty_like(x)
    R.elu_f32_xnn(x, got)
    R.exact_elu(x, want)
    np.testing.assert_allclose(got, want, rtol=2.4e-7, atol=0)
