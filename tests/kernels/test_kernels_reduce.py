"""SIMD float32 MEAN kernel (XNNPack-exact) vs its bit-exact NumPy twin.

kernels/reduce.py mean_f32_xnn reproduces XNNPack's reduce order (rdsum: each output
element sums its terms in index order; rsum: two 16-lane accumulators and XNNPack's lane
fold); the twin (kernels/reference/reduce.py) performs the same float32 additions, so
results are compared with equal bits (NaN == NaN).  Shapes cover every remainder of the
16-lane vectors, the 32-term rsum blocks and the 128-wide rdsum blocks; inputs include
+-0, +-inf, NaN, denormals and overflowing sums.  The twin is bounded against float64
(relative error about r * 2**-24).
"""
import numpy as np
import pytest

from numba_infer.kernels import reduce as KR
from numba_infer.kernels.reference import reduce as RR

F32 = np.float32
SHAPES = [(1, 49, 1280), (2, 9, 33), (3, 1000, 1), (2, 48, 1), (1, 15, 1), (4, 1, 5), (128, 256, 1), (3, 16, 1),
          (3, 17, 1), (3, 31, 1), (3, 32, 1), (3, 33, 1), (2, 7, 16), (2, 7, 64), (2, 7, 127), (2, 7, 128),
          (2, 7, 129), (2, 3, 300), (1, 1, 1), (5, 3, 2), (2, 0, 1), (2, 0, 20)]


def with_specials(rng, shape):
    x = (rng.standard_normal(shape) * 3 + 1).astype(F32)
    flat = x.reshape(-1)
    if flat.size:
        k = max(1, flat.size // 40)
        specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -1e-40, 3e38, -3e38], F32)
        flat[rng.integers(0, flat.size, k)] = rng.choice(specials, k)
    return x


def assert_same_bits(got, want):
    same = (got.view(np.uint32) == want.view(np.uint32)) | (np.isnan(got) & np.isnan(want))
    assert same.all(), (np.argwhere(~same)[:5], got[~same][:5], want[~same][:5])


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("special", [False, True])
def test_mean_xnn_bits(shape, special, rng):
    x = with_specials(rng, shape) if special else (rng.standard_normal(shape) + 2).astype(F32)
    outer, r, inner = shape
    scale = F32(1.0) / F32(max(r, 1))
    buf = np.full(outer * inner + 19, 7.0, F32)
    got = buf[:outer * inner].reshape(outer, inner)
    want = np.empty((outer, inner), F32)
    KR.mean_f32_xnn(x, scale, got)
    RR.mean_f32_xnn(x, scale, want)
    assert_same_bits(got, want)
    assert (buf[outer * inner:] == 7.0).all()


@pytest.mark.parametrize("shape", [(1, 49, 1280), (3, 1000, 1), (2, 33, 1), (2, 9, 33)])
def test_mean_twin_vs_float64(shape, rng):
    x = (rng.standard_normal(shape) + 2).astype(F32)
    got = np.empty((shape[0], shape[2]), F32)
    want = np.empty_like(got)
    RR.mean_f32_xnn(x, None, got)
    RR.exact_mean(x, want)
    np.testing.assert_allclose(got, want, rtol=1e-5)


@pytest.mark.parametrize("dt", [np.int8, np.uint8])
@pytest.mark.parametrize("shape", [(1, 196, 192), (2, 49, 1152), (3, 5, 1), (1, 1, 17), (2, 7, 63), (1, 3, 64),
                                   (1, 9, 65), (2, 4, 129), (1, 2, 16), (2, 3, 0)])
def test_mean_q_xnn_simd(dt, shape):
    """The 16-lane int8/uint8 MEAN (64-channel passes, masked tails) vs the NumPy twin: exact
    integer sums, the same float32 mul / add / round-half-even, clamps at both bounds."""
    rng = np.random.default_rng(sum(shape))
    ii = np.iinfo(dt)
    x = rng.integers(ii.min, int(ii.max) + 1, shape).astype(dt)
    for scale, bias in [(F32(0.0173), F32(-2.53)), (F32(1.0 / max(shape[1], 1)), F32(0.5)), (F32(3.0), F32(-100.5))]:
        buf = np.full(shape[0] * shape[2] + 1, 9, dt)     # a guard byte after the output
        got = buf[:-1].reshape(shape[0], shape[2])
        want = np.zeros((shape[0], shape[2]), dt)
        lo, hi = np.int64(ii.min + 1), np.int64(ii.max - 1)
        KR.mean_q_xnn(x, scale, bias, lo, hi, got)
        RR.mean_q_xnn(x, scale, bias, lo, hi, want)
        np.testing.assert_array_equal(got, want)
        assert buf[-1] == 9


@pytest.mark.parametrize("outer,r,inner", [(1, 3360, 8), (3, 7, 17), (2, 1, 16), (1, 200, 40), (2, 5, 2), (1, 0, 33)])
@pytest.mark.parametrize("op", ["SUM", "MAX", "MIN", "PROD"])
def test_reduce_f32_simd(outer, r, inner, op):
    """The 16-lane float32 reduce: the same bits as the scalar reduce_x (same operations per
    element in the same order), NaN terms skipped by MAX / MIN as there; against the NumPy
    twin exact for MAX / MIN, within float32 rounding of r terms for SUM / PROD."""
    from numba_infer.kernels import reduce as KR
    from numba_infer.kernels.reference import reduce as RR
    code = getattr(KR, op)
    rng = np.random.default_rng(r * 31 + inner)
    x = (1 + 0.01 * rng.standard_normal((outer, r, inner)) if op == "PROD"
         else rng.standard_normal((outer, r, inner))).astype(np.float32)
    init = np.float32({"SUM": 0, "PROD": 1, "MAX": -np.inf, "MIN": np.inf}[op])
    want = np.full((outer, inner), np.nan, np.float32)
    KR.reduce_x(x, code, init, want)
    got = np.full(outer * inner + 5, 7, np.float32)            # guard: nothing written past the end
    KR.reduce_f32(x.reshape(-1), np.int64(outer), np.int64(r), np.int64(inner), code, init, got)
    np.testing.assert_array_equal(got[:outer * inner].reshape(outer, inner), want)
    assert (got[outer * inner:] == 7).all()
    ref = np.zeros(outer * inner, np.float32)
    RR.reduce_f32(x, outer, r, inner, code, init, ref)
    if op in ("MAX", "MIN"):
        np.testing.assert_array_equal(got[:outer * inner], ref)
        if r > 1:                                               # NaN terms are skipped, as reduce_x does
            x[:, 0, :] = np.nan
            KR.reduce_x(x, code, init, want)
            KR.reduce_f32(x.reshape(-1), np.int64(outer), np.int64(r), np.int64(inner), code, init, got)
            np.testing.assert_array_equal(got[:outer * inner].reshape(outer, inner), want)
            assert not np.isnan(want).any()
    else:
        np.testing.assert_allclose(got[:outer * inner], ref, rtol=1e-5 * max(1, r) ** 0.5, atol=1e-5 * max(1, r))
