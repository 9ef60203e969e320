"""SIMD SOFTMAX kernel (XNNPack-exact) vs its bit-exact NumPy twin.

kernels/softmax.py softmax_f32_rows_xnn reproduces LiteRT's XNNPack softmax (max, the
avx512f_rr2_p5 exp, the u64_acc2 lane sums and fold, 1 / sum) with flush-to-zero; the
twin (kernels/reference/softmax.py) models those float32 operations one by one, so
outputs are compared with equal bits (NaN == NaN).  Depths cover every remainder of the
16-lane vectors and of the 64-element accumulation blocks; rows hold NaN (first and
later), +-inf, denormals and values far below the exp cutoff.  The twin is bounded
against float64 softmax (the sum's rounding error is about depth * 2**-24 relative).
"""
import numpy as np
import pytest

from numba_infer.kernels import softmax as KS
from numba_infer.kernels.reference import softmax as RS

F32 = np.float32
DEPTHS = [1, 2, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 128, 129, 1000]


def rows_with_specials(rng, rows, depth, scale):
    x = (rng.standard_normal((rows, depth)) * scale).astype(F32)
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -1e-40, 1e-38, 3e38, -3e38, 88.0, -88.0], F32)
    for r in range(2, rows):
        k = max(1, depth // 10)
        x[r, rng.integers(0, depth, k)] = rng.choice(specials, k)
    x[0, 0] = np.nan if rows > 3 else x[0, 0]                # NaN first: the whole row is NaN
    if rows > 4:
        x[4] = -np.inf                                       # -inf - -inf: NaN
    if rows > 5:
        x[5] = rng.integers(1, 2**23, depth).astype(np.uint32).view(F32)   # denormals only
    return x


def assert_same_bits(got, want):
    same = (got.view(np.uint32) == want.view(np.uint32)) | (np.isnan(got) & np.isnan(want))
    bad = np.argwhere(~same)
    assert bad.size == 0, (bad[:5], got[~same][:5], want[~same][:5])


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_softmax_xnn_bits(depth, scale, rng):
    x = rows_with_specials(rng, 7, depth, scale)
    x0 = x.copy()
    out = np.empty((7, depth), F32)
    KS.softmax_f32_rows_xnn(x, out)
    want = np.empty_like(x)
    RS.softmax_f32_rows_xnn(x, want)
    assert_same_bits(out, want)
    assert_same_bits(x, x0)


@pytest.mark.parametrize("depth", [1, 17, 1000])
def test_softmax_xnn_no_write_past_end(depth, rng):
    x = (rng.standard_normal((3, depth)) * 4).astype(F32)
    buf = np.full(3 * depth + 21, 7.0, F32)
    KS.softmax_f32_rows_xnn(x, buf[:3 * depth].reshape(3, depth))
    assert (buf[3 * depth:] == 7.0).all()


@pytest.mark.parametrize("depth", [1, 16, 17, 129, 1000])
def test_softmax_twin_vs_float64(depth, rng):
    x = (rng.standard_normal((5, depth)) * 5).astype(F32)
    got, want = np.empty_like(x), np.empty_like(x)
    RS.softmax_f32_rows_xnn(x, got)
    RS.exact_softmax(x, want)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-30)


def test_softmax_xnn_inplace(rng):
    """out may alias x (the kernel reads each row fully before writing it)."""
    x = (rng.standard_normal((4, 77)) * 3).astype(F32)
    want = np.empty_like(x)
    RS.softmax_f32_rows_xnn(x, want)
    KS.softmax_f32_rows_xnn(x, x)
    assert_same_bits(x, want)
