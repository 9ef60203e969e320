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


def test_softmax_xnn_fast_exp_exhaustive():
    """_exp_minus16_fast (no flush emulation, no cutoff select) equals _exp_minus16_xnn on
    every float32 in [_FAST_T, 0] (both zeros, ~1.1e9 values, ~2 s) and on NaNs: the proof
    that the fast rows of softmax_f32_rows_xnn keep the bits (the products e * (1/sum)
    there are >= exp(-64) / depth, normal for any depth < 2**30, so their flush is an
    identity too)."""
    from numba import njit
    from numba_infer.kernels.simd import vload, vstore

    @njit
    def mismatches(bits, lo, hi):
        """lanes x (int32 bit patterns lo..hi, or bits when lo > hi) where the two differ."""
        iota = np.arange(16).astype(np.int32)
        buf = np.empty(16, np.int32)
        fa = np.empty(16, np.float32)
        fb = np.empty(16, np.float32)
        bad = 0
        n = (hi - lo + 16) // 16 if lo <= hi else bits.size // 16
        for i in range(n):
            if lo <= hi:
                buf[:] = iota + (lo + 16 * i)
            else:
                buf[:] = bits[16 * i:16 * i + 16]
            x = vload(buf.view(np.float32), 0)
            vstore(fa, 0, KS._exp_minus16_fast(x))
            vstore(fb, 0, KS._exp_minus16_xnn(x))
            for j in range(16):
                if (lo > hi or buf[j] <= hi) and fa.view(np.int32)[j] != fb.view(np.int32)[j]:
                    bad += 1
        return bad
    t_bits = int(np.array(KS._FAST_T, F32).view(np.int32))          # -64.0: 0xC2800000
    none = np.zeros(16, np.int32)
    assert mismatches(none, np.int32(-2**31), np.int32(t_bits)) == 0            # -0 down to _FAST_T
    assert mismatches(none, np.int32(0), np.int32(15)) == 0                     # +0 and 15 denormals
    nans = np.array([0x7FC00000, 0xFFC00000, 0x7F800001, 0xFFFFFFFF, 0x7FC12345, 0xFF800001] * 16,
                    np.uint32).view(np.int32)[:96]
    assert mismatches(nans, np.int32(1), np.int32(0)) == 0


@pytest.mark.parametrize("depth", [16, 64, 100, 128])
def test_softmax_xnn_fast_path_boundary(depth, rng):
    """Rows with min - max just above, at and just below _FAST_T (fast / exact paths)."""
    t = float(KS._FAST_T)
    x = (rng.standard_normal((6, depth)) * 2).astype(F32)
    for r, d in enumerate([t + 1e-5, t, np.nextafter(F32(t), F32(-100)), t - 0.5, -87.0, -86.7]):
        x[r, rng.integers(0, depth)] = x[r].max() + F32(d)
    out, want = np.empty_like(x), np.empty_like(x)
    KS.softmax_f32_rows_xnn(x, out)
    RS.softmax_f32_rows_xnn(x, want)
    assert_same_bits(out, want)
