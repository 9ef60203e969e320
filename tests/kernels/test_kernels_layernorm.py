"""Fused layer-norm kernels (kernels/layernorm.py) vs their NumPy twin and vs the unfused kernels.

layer_norm_f32 (RSQRT as 1 / sqrt) and its twin do the same float32 operations in the
same order: equal bits (NaN == NaN) for every MEAN order, with and without the residual
and beta, on row lengths around the 16-lane vectors and the 32-term rsum blocks.
layer_norm_f32_xnn takes RSQRT from the AVX-512 rsqrt14 estimate, which NumPy cannot
reproduce: against the twin (float64 1 / sqrt) it is within a few ulp; its bits are
checked against the chain of the unfused kernels themselves (mean_f32_xnn,
rsqrt_f32_xnn, the 16-lane binary kernels), which is what fusion must reproduce.
"""
import numpy as np
import pytest

from numba_infer import isa
from numba_infer.kernels import elementwise as KE
from numba_infer.kernels import layernorm as K
from numba_infer.kernels import reduce as KR
from numba_infer.kernels.reference import layernorm as R

F32 = np.float32
CS = [1, 15, 16, 17, 31, 32, 33, 48, 128, 300]
MODES = [K.MEAN_XNN, K.MEAN_EIGEN, K.MEAN_SEQ]


def _bits_equal(got, want):
    same = (got.view(np.uint32) == want.view(np.uint32)) | (np.isnan(got) & np.isnan(want))
    assert same.all(), (np.argwhere(~same)[:5], got[~same][:5], want[~same][:5])


def _case(rng, rows, c, special=False):
    a = (rng.standard_normal(rows * c) * 3 + 1).astype(F32)
    b = rng.standard_normal(rows * c).astype(F32)
    if special:
        k = max(1, a.size // 50)
        sp = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, 3e38, -3e38], F32)
        a[rng.integers(0, a.size, k)] = rng.choice(sp, k)
    gamma = rng.standard_normal(c).astype(F32)
    beta = rng.standard_normal(c).astype(F32)
    return a, b, gamma, beta


def _run(fn, a, b, gamma, beta, eps, mode, res, has_beta, rows, c):
    out = np.full(rows * c, np.nan, F32)
    ws = np.zeros(c + 2 * rows, F32)
    fn(a, b if res else a, gamma, beta if has_beta else gamma, F32(eps), np.int64(mode), res, has_beta, ws, out)
    return out


@pytest.mark.parametrize("c", CS)
@pytest.mark.parametrize("mode", MODES)
def test_layer_norm_f32_bits(c, mode, rng):
    for rows, res, has_beta, special in [(1, False, False, False), (5, True, False, False), (3, True, True, True),
                                         (4, False, True, False)]:
        args = _case(rng, rows, c, special)
        got = _run(K.layer_norm_f32, *args, 1e-3, mode, res, has_beta, rows, c)
        want = _run(R.layer_norm_f32, *args, 1e-3, mode, res, has_beta, rows, c)
        _bits_equal(got, want)


def test_layer_norm_tiny_variance(rng):
    # constant rows: var = 0, r = 1 / sqrt(eps); eps = 0 gives inf * 0 = NaN on both sides
    for eps in (1e-6, 0.0):
        a = np.repeat(rng.standard_normal(3).astype(F32), 20)
        g = rng.standard_normal(20).astype(F32)
        for mode in MODES:
            got = _run(K.layer_norm_f32, a, a, g, g, eps, mode, False, False, 3, 20)
            _bits_equal(got, _run(R.layer_norm_f32, a, a, g, g, eps, mode, False, False, 3, 20))


def _unfused_xnn(a, b, gamma, beta, eps, res, has_beta, rows, c):
    """The op chain as the unfused lowerings run it (numerics="xnnpack", AVX-512F)."""
    inf = F32(np.inf)
    x = np.empty(rows * c, F32)
    one = np.ones(6, np.int64)
    shape = one.copy()
    shape[5] = rows * c
    if res:
        KE.binary_f32_kernel(KE.ADD)(a, b, shape, one, one, -inf, inf, x)
    else:
        x[:] = a
    mean = np.empty((rows, 1), F32)
    KR.mean_f32_xnn(x.reshape(rows, c, 1), F32(1) / F32(c), mean)
    bshape = np.array([1, 1, 1, 1, rows, c], np.int64)
    row_st = np.array([0, 0, 0, 0, c, 1], np.int64)
    col_st = np.array([0, 0, 0, 0, 1, 0], np.int64)
    chan_st = np.array([0, 0, 0, 0, 0, 1], np.int64)
    sq = np.empty(rows * c, F32)
    KE.binary_f32_kernel(KE.SQUARED_DIFFERENCE)(x, mean.reshape(-1), bshape, row_st, col_st, -inf, inf, sq)
    var = np.empty((rows, 1), F32)
    KR.mean_f32_xnn(sq.reshape(rows, c, 1), F32(1) / F32(c), var)
    r = np.empty(rows, F32)
    KE.rsqrt_f32_xnn((var.reshape(-1) + F32(eps)).astype(F32), r)
    g = np.empty(rows * c, F32)
    KE.binary_f32_kernel(KE.MUL)(r, gamma, bshape, col_st, chan_st, -inf, inf, g)
    p = np.empty(rows * c, F32)
    KE.binary_f32_kernel(KE.MUL)(x, g, shape, one, one, -inf, inf, p)
    q = np.empty(rows * c, F32)
    if has_beta:
        mg = np.empty(rows * c, F32)
        KE.binary_f32_kernel(KE.MUL)(mean.reshape(-1), g, bshape, col_st, row_st, -inf, inf, mg)
        KE.binary_f32_kernel(KE.SUB)(beta, mg, bshape, chan_st, row_st, -inf, inf, q)
    else:
        KE.binary_f32_kernel(KE.MUL)(-mean.reshape(-1), g, bshape, col_st, row_st, -inf, inf, q)
    y = np.empty(rows * c, F32)
    KE.binary_f32_kernel(KE.ADD)(p, q, shape, one, one, -inf, inf, y)
    return y


@pytest.mark.skipif(not isa.AVX512F, reason="rsqrt14 needs AVX-512F")
@pytest.mark.parametrize("c", CS)
def test_layer_norm_f32_xnn(c, rng):
    for rows, res, has_beta, special in [(1, False, False, False), (6, True, False, False), (3, True, True, True)]:
        args = _case(rng, rows, c, special)
        got = _run(K.layer_norm_f32_xnn, *args, 1e-3, K.MEAN_XNN, res, has_beta, rows, c)
        _bits_equal(got, _unfused_xnn(*args, 1e-3, res, has_beta, rows, c))
        if not special:
            # r within ~2 ulp of 1 / sqrt: |x * g| and |o| are below ~10 here, so y within ~1e-5
            want = _run(R.layer_norm_f32_xnn, *args, 1e-3, K.MEAN_XNN, res, has_beta, rows, c)
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
