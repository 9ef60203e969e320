"""XNNPack-exact float32 kernels vs their plain float64 NumPy twins.

The kernels are approximations that reproduce XNNPack bit for bit (tests/ops/test_ops_xnn_exact.py
checks that against LiteRT); here they are checked against exact math: XNNPack documents its
sigmoid and softmax exp within a few float32 ulp, rsqrt14 + one Newton step within ~2 ulp,
and the float32 sums of MEAN / softmax within a relative rounding error of about
n * 2**-24 (rtol 1e-5 for the sizes here)."""
import numpy as np
import pytest

from numba_infer.isa import AVX512F
from numba_infer.kernels import activation as KA
from numba_infer.kernels import elementwise as KE
from numba_infer.kernels import reduce as KR
from numba_infer.kernels import softmax as KS
from numba_infer.kernels.reference import activation as RA
from numba_infer.kernels.reference import elementwise as RE
from numba_infer.kernels.reference import reduce as RR
from numba_infer.kernels.reference import softmax as RS

F32 = np.float32


@pytest.mark.parametrize("n", [1, 15, 16, 17, 1000])
def test_sigmoid_xnn(n, rng):
    x = (rng.standard_normal(n) * 10).astype(F32)
    got, want = np.empty_like(x), np.empty_like(x)
    KA.sigmoid_f32_xnn(KA.EXP2_K_OVER_32, x, got)
    RA.sigmoid_f32_xnn(KA.EXP2_K_OVER_32, x, want)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-37)


@pytest.mark.skipif(not AVX512F, reason="needs AVX-512F (vrsqrt14)")
@pytest.mark.parametrize("n", [1, 17, 1000])
def test_rsqrt_xnn(n, rng):
    x = np.abs(rng.standard_normal(n) * 100).astype(F32) + F32(1e-3)
    got, want = np.empty_like(x), np.empty_like(x)
    KE.rsqrt_f32_xnn(x, got)
    RE.rsqrt_f32_xnn(x, want)
    np.testing.assert_allclose(got, want, rtol=3e-7)


@pytest.mark.parametrize("depth", [1, 16, 17, 64, 129, 1000])
def test_softmax_xnn(depth, rng):
    x = (rng.standard_normal((3, depth)) * 5).astype(F32)
    got, want = np.empty_like(x), np.empty_like(x)
    KS.softmax_f32_rows_xnn(x, got)
    RS.softmax_f32_rows_xnn(x, want)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-30)


@pytest.mark.parametrize("shape", [(1, 49, 1280), (2, 9, 33), (3, 1000, 1), (2, 48, 1), (1, 15, 1), (4, 1, 5)])
def test_mean_xnn(shape, rng):
    x = (rng.standard_normal(shape) + 2).astype(F32)
    got = np.empty((shape[0], shape[2]), F32)
    want = np.empty_like(got)
    KR.mean_f32_xnn(x, F32(1) / F32(shape[1]), got)
    RR.mean_f32_xnn(x, None, want)
    np.testing.assert_allclose(got, want, rtol=1e-5)


# Tolerances of the rational / Newton-Raphson kernels below vs exact float64 math (measured on
# 1e5 normal * 4 inputs): GELU's 12/10 interpolants are within ~1e-6 absolute (erf is clamped to
# +-1 past |x| ~ 5, where the true tail 0.5x erfc(|x|/sqrt2) is below 1e-6); tanh's 9/8
# interpolant within 4 ulp; hard-swish's fma(x, fl(1/6), 0.5) within 2.4e-7 absolute; sqrt via
# rsqrt14 + one Newton step within 2 ulp.
@pytest.mark.parametrize("approx", [False, True])
@pytest.mark.parametrize("n", [1, 17, 1000])
def test_gelu_xnn(approx, n, rng):
    x = (rng.standard_normal(n) * 4).astype(F32)
    coef = KA.GELU_TANH_XNN if approx else KA.GELU_ERF_XNN
    got, want = np.empty_like(x), np.empty_like(x)
    KA.gelu_f32_xnn(coef, x, got)
    RA.gelu_f32_xnn(coef, x, want)
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("n", [1, 17, 1000])
def test_tanh_hard_swish_xnn(n, rng):
    x = (rng.standard_normal(n) * 4).astype(F32)
    got, want = np.empty_like(x), np.empty_like(x)
    KA.tanh_f32_xnn(x, got)
    RA.tanh_f32_xnn(x, want)
    np.testing.assert_allclose(got, want, rtol=5e-7, atol=1e-30)
    KA.hard_swish_f32_xnn(x, got)
    RA.hard_swish_f32_xnn(x, want)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


@pytest.mark.skipif(not AVX512F, reason="needs AVX-512F (vrsqrt14)")
@pytest.mark.parametrize("n", [1, 17, 1000])
def test_sqrt_xnn(n, rng):
    x = np.abs(rng.standard_normal(n) * 100).astype(F32) + F32(1e-3)
    got, want = np.empty_like(x), np.empty_like(x)
    KE.sqrt_f32_xnn(x, got)
    RE.sqrt_f32_xnn(x, want)
    np.testing.assert_allclose(got, want, rtol=3e-7)


# LiteRT-builtin (Eigen, numerics="tflite") kernels vs exact math; bit-exactness against LiteRT
# is tests/ops/test_ops_tflite_exact.py.  Eigen documents scalar_logistic_op<float> within 4.5
# ulp, ptanh_float within a few ulp, generic_fast_erfc<float> within ~5 ulp and pexp within
# ~1 ulp; the float32 sums (redux order) are within ~n * 2**-24 relative.
@pytest.mark.parametrize("n", [1, 3, 4, 17, 1000])
def test_eigen_activations(n, rng):
    x = (rng.standard_normal(n) * 4).astype(F32)
    for fn, args, tol in [("sigmoid_f32_eigen", (), 1e-6), ("tanh_f32_eigen", (), 1e-6),
                          ("gelu_f32_eigen", (True,), 2e-6), ("gelu_f32_eigen", (False,), 2e-6),
                          ("hard_swish_f32_tflite", (), 1e-6)]:
        got, want = np.empty_like(x), np.empty_like(x)
        getattr(KA, fn)(*args, x, got)
        getattr(RA, fn)(*args, x, want)
        np.testing.assert_allclose(got, want, rtol=tol, atol=1e-6, err_msg=fn)


@pytest.mark.parametrize("rows,depth", [(1, 1), (3, 5), (7, 17), (2, 1000)])
def test_eigen_softmax_mean(rows, depth, rng):
    x = (rng.standard_normal((rows, depth)) * 3).astype(F32)
    for fn in ("softmax_f32_rows_eigen", "log_softmax_f32_rows_eigen"):
        got, want = np.empty_like(x), np.empty_like(x)
        args = (F32(0.7),) if fn.startswith("softmax") else ()
        getattr(KS, fn)(x, *args, got)
        getattr(RS, fn)(x, *args, want)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=fn)
    got, want = np.empty(rows, F32), np.empty(rows, F32)
    KR.mean_f32_rows_eigen(x, got)
    RR.mean_f32_rows_eigen(x, want)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    x3 = x.reshape(rows, depth, 1)
    got, want = np.empty((rows, 1), F32), np.empty((rows, 1), F32)
    KR.mean_f32_general(x3, got)
    RR.mean_f32_general(x3, want)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
