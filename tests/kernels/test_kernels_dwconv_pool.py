"""Depthwise conv, pooling and deconvolution kernels vs their NumPy twins.

Tolerance: the kernels accumulate in float32 (bias first, taps in ky,kx order);
the twins accumulate in float64.  With K <= 25 products of O(1) values the
float32 rounding error is below ~K * 2^-24 * sum|terms|; rtol=1e-5 with
atol=1e-5 covers it.  Max pooling is exact (assert_array_equal).
"""
import numpy as np
import pytest

from numba_infer.kernels import deconv, dwconv, pool
from numba_infer.kernels.reference import deconv as rdeconv
from numba_infer.kernels.reference import dwconv as rdwconv
from numba_infer.kernels.reference import pool as rpool

BIG = np.float32(np.finfo(np.float32).max)
TOL = dict(rtol=1e-5, atol=1e-5)


def _out_size(n, k, s, d, same):
    eff = (k - 1) * d + 1
    if same:
        o = -(-n // s)
        return o, max(0, (o - 1) * s + eff - n) // 2
    return (n - eff) // s + 1, 0


DW_CASES = [
    # (N, H, W, C, dm, KH, KW, sh, sw, dh, dw, same)
    (1, 7, 9, 1, 1, 3, 3, 1, 1, 1, 1, True),
    (1, 8, 8, 3, 1, 3, 3, 2, 2, 1, 1, True),
    (2, 9, 7, 16, 1, 3, 3, 2, 1, 1, 1, False),
    (1, 11, 10, 17, 1, 5, 5, 1, 2, 1, 1, True),
    (1, 10, 10, 16, 1, 3, 3, 1, 1, 2, 3, True),
    (1, 6, 5, 3, 2, 3, 2, 1, 1, 1, 1, True),
    (1, 9, 9, 1, 4, 3, 3, 2, 2, 1, 1, False),
    (1, 12, 12, 8, 1, 3, 3, 1, 1, 4, 4, True),     # dilation: some taps always out of bounds
    (1, 4, 4, 5, 1, 7, 7, 1, 1, 1, 1, True),       # kernel larger than the image
    (1, 1, 1, 17, 1, 3, 3, 1, 1, 1, 1, True),
]


@pytest.mark.parametrize("case", DW_CASES)
@pytest.mark.parametrize("act", [(-BIG, BIG), (np.float32(0), np.float32(6))])
def test_dwconv(case, act):
    n, h, w, c, dm, kh, kw, sh, sw, dh, dw, same = case
    rng = np.random.default_rng(hash(case) % 2**32)
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    wt = rng.standard_normal((kh, kw, c * dm)).astype(np.float32)
    b = rng.standard_normal(c * dm).astype(np.float32)
    oh, pt = _out_size(h, kh, sh, dh, same)
    ow, pl = _out_size(w, kw, sw, dw, same)
    name = "dwconv_f32_f32_f32_minmax" if dm == 1 else "dwconv_f32_f32_f32_dm_minmax"
    got = np.full((n, oh, ow, c * dm), np.nan, np.float32)
    ref = np.zeros_like(got)
    args = (x, wt, b, sh, sw, dh, dw, pt, pl, act[0], act[1])
    getattr(dwconv, name)(*args, got)
    getattr(rdwconv, name)(*args, ref)
    np.testing.assert_allclose(got, ref, **TOL)


def test_dwconv_large_padding():
    # pad_before beyond the kernel extent: rows/columns with no tap get only the bias
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 5, 6, 4)).astype(np.float32)
    wt = rng.standard_normal((3, 3, 4)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    got = np.zeros((1, 9, 10, 4), np.float32)
    ref = np.zeros_like(got)
    for f, o in ((dwconv.dwconv_f32_f32_f32_minmax, got), (rdwconv.dwconv_f32_f32_f32_minmax, ref)):
        f(x, wt, b, 1, 1, 1, 1, 4, 5, -BIG, BIG, o)
    np.testing.assert_allclose(got, ref, **TOL)
    np.testing.assert_array_equal(got[0, 0, 0], b)


POOL_CASES = [
    # (N, H, W, C, KH, KW, sh, sw, same)
    (1, 8, 8, 1, 2, 2, 2, 2, False),
    (1, 7, 9, 3, 3, 3, 2, 2, True),
    (2, 10, 11, 16, 3, 2, 1, 2, True),
    (1, 5, 5, 17, 5, 5, 1, 1, True),
    (1, 6, 7, 4, 1, 1, 1, 1, False),
    (1, 9, 9, 8, 3, 3, 3, 1, False),
    (1, 4, 3, 2, 7, 6, 2, 2, True),     # filter larger than the image
]


@pytest.mark.parametrize("case", POOL_CASES)
@pytest.mark.parametrize("act", [(-BIG, BIG), (np.float32(-1), np.float32(1))])
def test_pool(case, act):
    n, h, w, c, kh, kw, sh, sw, same = case
    rng = np.random.default_rng(hash(case) % 2**32)
    x = (2 * rng.standard_normal((n, h, w, c))).astype(np.float32)
    oh, pt = _out_size(h, kh, sh, 1, same)
    ow, pl = _out_size(w, kw, sw, 1, same)
    args = (x, kh, kw, sh, sw, pt, pl, act[0], act[1])
    got = np.full((n, oh, ow, c), np.nan, np.float32)
    ref = np.zeros_like(got)
    pool.maxpool_nhwc_minmax(*args, got)
    rpool.maxpool_nhwc_minmax(*args, ref)
    np.testing.assert_array_equal(got, ref)
    pool.avgpool_f32_minmax(*args, got)
    rpool.avgpool_f32_minmax(*args, ref)
    np.testing.assert_allclose(got, ref, **TOL)


def test_maxpool_int8_generic():
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 128, (1, 7, 7, 5), dtype=np.int8)
    got = np.zeros((1, 4, 4, 5), np.int8)
    ref = np.zeros_like(got)
    args = (x, 3, 3, 2, 2, 1, 1, np.int8(-10), np.int8(100))
    pool.maxpool_nhwc_minmax(*args, got)
    rpool.maxpool_nhwc_minmax(*args, ref)
    np.testing.assert_array_equal(got, ref)


DECONV_CASES = [
    # (N, H, W, Cin, Cout, KH, KW, sh, sw, OH, OW, pad_t, pad_l)
    (1, 4, 4, 3, 2, 3, 3, 2, 2, 8, 8, 0, 0),
    (1, 4, 5, 1, 16, 4, 4, 2, 2, 8, 10, 1, 1),
    (2, 3, 3, 17, 3, 2, 2, 2, 2, 6, 6, 0, 0),
    (1, 5, 4, 4, 5, 3, 2, 1, 3, 7, 12, 1, 0),
    (1, 3, 3, 2, 2, 1, 1, 3, 3, 9, 9, 0, 0),      # stride > kernel: gaps get only bias
    (1, 4, 4, 2, 3, 3, 3, 2, 2, 11, 11, 0, 0),    # output larger than the scatter
    (1, 6, 6, 2, 3, 5, 5, 1, 1, 4, 4, 3, 3),      # heavy crop
]


@pytest.mark.parametrize("case", DECONV_CASES)
@pytest.mark.parametrize("act", [(-BIG, BIG), (np.float32(0), np.float32(6))])
def test_deconv(case, act):
    n, h, w, cin, cout, kh, kw, sh, sw, oh, ow, pt, pl = case
    rng = np.random.default_rng(hash(case) % 2**32)
    x = rng.standard_normal((n, h, w, cin)).astype(np.float32)
    wt = rng.standard_normal((kh, kw, cin, cout)).astype(np.float32)
    b = rng.standard_normal(cout).astype(np.float32)
    got = np.full((n, oh, ow, cout), np.nan, np.float32)
    ref = np.zeros_like(got)
    args = (x, wt, b, sh, sw, pt, pl, act[0], act[1])
    deconv.deconv_f32_f32_f32_minmax(*args, got)
    rdeconv.deconv_f32_f32_f32_minmax(*args, ref)
    np.testing.assert_allclose(got, ref, **TOL)


@pytest.mark.parametrize("case", [(1, 96, 96, 16, 2, 2, 0), (2, 9, 7, 17, 3, 2, 1), (1, 5, 5, 33, 3, 1, 1),
                                  (1, 4, 6, 1, 2, 1, 0), (1, 8, 8, 40, 3, 3, 2)], ids=str)
def test_maxpool_f32_simd(case):
    """The 16-lane float32 max pool: the scalar kernel's bits (the same comparisons per
    element in the same order, NaN and +-0 inputs included), and the NumPy twin's
    values on NaN-free inputs, for three clamp ranges."""
    from numba_infer.kernels import pool as KP
    from numba_infer.kernels.reference import pool as RP
    n, h, w, c, k, s, pad = case
    rng = np.random.default_rng(sum(case))
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    clean = x.copy()
    flat = x.reshape(-1)
    for v in (np.nan, -0.0, 0.0):
        flat[rng.integers(0, flat.size, max(1, flat.size // 50))] = v
    oh, ow = (h + 2 * pad - k) // s + 1, (w + 2 * pad - k) // s + 1
    geo = tuple(np.int64(v) for v in (k, k, s, s, pad, pad))
    for lo, hi in ((-np.inf, np.inf), (0.0, 6.0), (-0.0, 1.0)):
        lo, hi = np.float32(lo), np.float32(hi)
        a, b = np.full((n, oh, ow, c), 7, np.float32), np.full((n, oh, ow, c), 9, np.float32)
        KP.maxpool_nhwc_minmax(x, *geo, lo, hi, a)
        KP.maxpool_f32_minmax(x, *geo, lo, hi, b)
        np.testing.assert_array_equal(a.view(np.int32), b.view(np.int32))
        r = np.zeros_like(b)
        KP.maxpool_f32_minmax(clean, *geo, lo, hi, b)
        RP.maxpool_f32_minmax(clean, k, k, s, s, pad, pad, lo, hi, r)
        np.testing.assert_array_equal(b, r)
