"""Data-movement, reduction and resize kernels vs their NumPy twins."""
import numpy as np
import pytest

from numba_infer.kernels import reduce as K_red
from numba_infer.kernels import resize as K_res
from numba_infer.kernels import transform as K
from numba_infer.kernels.reference import reduce as R_red
from numba_infer.kernels.reference import resize as R_res
from numba_infer.kernels.reference import transform as R
from numba_infer.ops.transform import PAD, gather_args

RNG = np.random.default_rng(11)


def tables(shape, with_pad):
    tabs, st = [], 1
    for n in reversed(shape):
        t = RNG.permutation(n).astype(np.int64) * st
        if with_pad and n > 1:
            t[RNG.integers(0, n)] = PAD
        tabs.insert(0, t)
        st *= n
    return tabs


@pytest.mark.parametrize("shape", [(1,), (7,), (3, 1, 5), (2, 3, 4, 5), (2, 1, 2, 1, 2, 1, 2, 3), (0, 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.int64, np.bool_])
@pytest.mark.parametrize("with_pad", [False, True])
def test_gather_axes(shape, dtype, with_pad):
    x = RNG.integers(-100, 100, int(np.prod(shape))).astype(dtype)
    tabs = tables(shape, with_pad)
    tab, starts, dims, contig = gather_args(tabs)
    pad = np.array(5, dtype)[()]
    a, b = (np.zeros(int(np.prod(shape)), dtype) for _ in range(2))
    K.gather_axes_x(x, tab, starts, dims, pad, contig, a)
    R.gather_axes_x(x, tab, starts, dims, pad, contig, b)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("n", [1, 15, 16, 17])
def test_gather_axes_contiguous_runs(n):
    x = RNG.standard_normal(3 * n).astype(np.float32)
    tabs = [np.array([n, PAD, 0, 2 * n]), np.arange(n)]
    tab, starts, dims, contig = gather_args(tabs)
    assert contig or n == 1
    a, b = np.zeros(4 * n, np.float32), np.zeros(4 * n, np.float32)
    K.gather_axes_x(x, tab, starts, dims, np.float32(-1), contig, a)
    R.gather_axes_x(x, tab, starts, dims, np.float32(-1), contig, b)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("rows,n", [(1, 1), (3, 7), (4, 16), (5, 33)])
@pytest.mark.parametrize("dtype", [np.int32, np.int8, np.float32])
def test_copy_rows(rows, n, dtype):
    src = RNG.integers(0, 9, rows * (n + 2)).astype(dtype)
    a, b = np.zeros(rows * (n + 5) + 3, dtype), np.zeros(rows * (n + 5) + 3, dtype)
    K.copy_rows_x(src, 1, n + 2, a, 3, n + 5, rows, n)
    R.copy_rows_x(src, 1, n + 2, b, 3, n + 5, rows, n)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dims,lo,hi", [((1, 1, 1, 1), (0, 0, 0, 0), (0, 0, 0, 0)),
                                        ((1, 5, 7, 3), (0, 1, 2, 0), (0, 2, 1, 1)),
                                        ((2, 3, 4, 5), (1, 0, 3, 2), (2, 1, 0, 3)),
                                        ((1, 1, 17, 31), (0, 0, 0, 1), (0, 0, 0, 0)),
                                        ((1, 0, 3, 2), (0, 1, 1, 1), (0, 1, 0, 0))])
@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.bool_])
def test_pad_x(dims, lo, hi, dtype):
    x = RNG.integers(1, 100, int(np.prod(dims))).astype(dtype)
    d, l = np.array(dims, np.int64), np.array(lo, np.int64)
    od = d + l + np.array(hi, np.int64)
    a, b = np.zeros(int(np.prod(od)), dtype), np.zeros(int(np.prod(od)), dtype)
    v = np.array(0 if dtype == np.bool_ else 7, dtype)[()]
    K.pad_x(x, d, l, od, v, a)
    R.pad_x(x, d, l, od, v, b)
    np.testing.assert_array_equal(a, b)


# (n, h, w, c, bh, bw, pt, pb, pl, pr): no padding, padding on every side, padding wider
# than a block (whole all-pad rows), a 1-wide W (the 3-D op's view), a 1x1 block
@pytest.mark.parametrize("geo", [(1, 4, 6, 3, 2, 2, 0, 0, 0, 0), (2, 5, 4, 2, 3, 2, 2, 2, 1, 1),
                                 (1, 3, 3, 5, 2, 4, 5, 0, 4, 1), (2, 6, 1, 3, 2, 1, 1, 1, 0, 0),
                                 (1, 2, 2, 1, 1, 1, 1, 0, 0, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.uint16])
def test_space_to_batch_x(geo, dtype):
    n, h, w, c, bh, bw, pt, pb, pl, pr = geo
    oh, ow = (h + pt + pb) // bh, (w + pl + pr) // bw
    x = RNG.integers(1, 100, n * h * w * c).astype(dtype)
    v = np.array(7, dtype)[()]
    a = np.zeros(n * bh * bw * oh * ow * c + 3, dtype)
    b = np.zeros(a.size - 3, dtype)
    args = tuple(np.int64(t) for t in (n, h, w, c, bh, bw, pt, pl, oh, ow))
    K.space_to_batch_x(x, *args, v, a[:-3])
    R.space_to_batch_x(x, n, h, w, c, bh, bw, pt, pl, oh, ow, v, b)
    np.testing.assert_array_equal(a[:-3], b)
    assert (a[-3:] == 0).all()
    from numba_infer.kernels import parallel as P          # output batches in chunks (threads)
    for nt in (2, 3):
        got = np.zeros_like(a)
        P.space_to_batch_x_mt(x, *args, v, got[:-3], np.int64(nt))
        np.testing.assert_array_equal(got, a)


@pytest.mark.parametrize("nk,nl", [(1, 1), (3, 5), (4, 4), (31, 33), (32, 32), (33, 70), (64, 9)])
@pytest.mark.parametrize("dtype", [np.float32, np.uint8, np.int64])
def test_transpose_tiled(nk, nl, dtype):
    # two batches, placed at odd offsets of a larger buffer, input rows padded (isl > nk)
    isl, batch_in, osk = nk + 3, (nk + 3) * nl + 2, nl + 1
    x = RNG.integers(0, 100, 2 * batch_in + 1).astype(dtype)
    ib = np.array([1, batch_in + 1], np.int64)
    ob = np.array([nk * osk, 0], np.int64)
    a, b = np.zeros(2 * nk * osk, dtype), np.zeros(2 * nk * osk, dtype)
    K.transpose_tiled_x(x, ib, ob, nk, nl, isl, osk, a)
    R.transpose_tiled_x(x, ib, ob, nk, nl, isl, osk, b)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("nk,nl", [(1, 1), (15, 17), (16, 16), (17, 15), (33, 70), (64, 128), (48, 5)])
@pytest.mark.parametrize("dtype", [np.float32, np.int32])
def test_transpose_tiled_32(nk, nl, dtype):
    """The 16x16 shuffle blocks + edges: bit-exact (NaN payloads too) vs the twin."""
    isl, batch_in, osk = nk + 3, (nk + 3) * nl + 2, nl + 1
    x = RNG.integers(0, 1 << 31, 2 * batch_in + 1).astype(np.uint32).view(dtype)
    ib = np.array([1, batch_in + 1], np.int64)
    ob = np.array([nk * osk, 0], np.int64)
    a, b = np.zeros(2 * nk * osk, dtype), np.zeros(2 * nk * osk, dtype)
    K.transpose_tiled_32(x, ib, ob, nk, nl, isl, osk, a)
    R.transpose_tiled_32(x, ib, ob, nk, nl, isl, osk, b)
    np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32))


@pytest.mark.parametrize("shape,k", [((4, 3, 5), 2), ((4, 3, 5), 3), ((6,), 1), ((3, 4), 0)])
@pytest.mark.parametrize("idt", [np.int32, np.int64])
def test_gather_nd(shape, k, idt):
    x = RNG.standard_normal(shape).astype(np.float32).reshape(-1)
    dims = np.array(shape[:k], np.int64)
    cnt = np.array([int(np.prod(shape[d + 1:])) for d in range(k)], np.int64)
    sl = int(np.prod(shape[k:]))
    idx = np.stack([RNG.integers(0, n, 7) for n in shape[:k]] or [np.zeros(7)], axis=1)[:, :k].astype(idt)
    idx = np.ascontiguousarray(idx)
    a, b = np.zeros(7 * sl, np.float32), np.zeros(7 * sl, np.float32)
    assert not K.gather_nd_x(x, idx, dims, cnt, sl, a)
    assert not R.gather_nd_x(x, idx, dims, cnt, sl, b)
    np.testing.assert_array_equal(a, b)
    if k:
        idx[3, k - 1] = shape[k - 1]
        assert K.gather_nd_x(x, idx, dims, cnt, sl, a) and R.gather_nd_x(x, idx, dims, cnt, sl, b)
        idx[3, k - 1] = -1
        assert K.gather_nd_x(x, idx, dims, cnt, sl, a) and R.gather_nd_x(x, idx, dims, cnt, sl, b)


@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 17, 1), (2, 5, 4), (1, 33, 7)])
@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.uint8, np.int32])
@pytest.mark.parametrize("is_min", [False, True])
def test_arg_minmax(shape, dtype, is_min):
    x = RNG.integers(0, 4, shape).astype(dtype)       # small range: many ties
    if dtype == np.float32:
        x[RNG.random(shape) < 0.3] = np.nan
        x[0, 0, 0] = np.nan                            # a leading NaN
        x[-1, :, -1] = np.nan                          # an all-NaN run
    a, b = np.zeros((shape[0], shape[2]), np.int32), np.zeros((shape[0], shape[2]), np.int32)
    K.arg_minmax_x(x, is_min, a)
    R.arg_minmax_x(x, is_min, b)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("idt", [np.int32, np.int64])
def test_gather_rows(idt):
    x = RNG.standard_normal((2, 3, 5, 4)).astype(np.float32)
    idx = RNG.integers(0, 5, (2, 6)).astype(idt)
    a, b = np.zeros((2, 3, 6, 4), np.float32), np.zeros((2, 3, 6, 4), np.float32)
    assert not K.gather_rows_x(x, idx, a)
    assert not R.gather_rows_x(x, idx, b)
    np.testing.assert_array_equal(a, b)
    idx[1, 2] = 5
    assert K.gather_rows_x(x, idx, a) and R.gather_rows_x(x, idx, b)


def test_clamp():
    x = RNG.standard_normal(33).astype(np.float32) * 10
    y = x.copy()
    K.clamp_f32(x, np.float32(0), np.float32(6))
    R.clamp_f32(y, np.float32(0), np.float32(6))
    np.testing.assert_array_equal(x, y)


# Reductions: same summation order as the twin for integers (exact); float32 sums of
# r <= 200 N(0,1) terms vs the float64 twin: error <= r * eps32 * sum|x| ~ 200*6e-8*~11*sqrt..
# -> rtol 1e-5 with atol 1e-5 covers it.
@pytest.mark.parametrize("shape", [(1, 1, 1), (2, 7, 16), (3, 200, 1), (1, 5, 17), (2, 0, 3)])
@pytest.mark.parametrize("op", [K_red.SUM, K_red.MAX, K_red.MIN, K_red.PROD])
@pytest.mark.parametrize("dtype", [np.float32, np.int32])
def test_reduce(shape, op, dtype):
    x = (RNG.integers(-3, 4, shape) if dtype == np.int32 else 1 + 0.01 * RNG.standard_normal(shape)).astype(dtype)
    init = np.array({0: 0, 3: 1, 1: -1000, 2: 1000}[op], dtype)[()]
    a, b = np.zeros((shape[0], shape[2]), dtype), np.zeros((shape[0], shape[2]), dtype)
    K_red.reduce_x(x, op, init, a)
    R_red.reduce_x(x, op, init, b)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", [(1, 1, 1), (2, 49, 16), (1, 200, 3)])
def test_reduce_mean_any(shape):
    x = RNG.standard_normal(shape).astype(np.float32)
    a, b = np.zeros((shape[0], shape[2]), np.float32), np.zeros((shape[0], shape[2]), np.float32)
    K_red.reduce_mean_f32(x, a)
    R_red.reduce_mean_f32(x, b)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    xb = x > 1.5
    a, b = np.zeros(a.shape, np.bool_), np.zeros(a.shape, np.bool_)
    K_red.reduce_any_b(xb, a)
    R_red.reduce_any_b(xb, b)
    np.testing.assert_array_equal(a, b)


# Bilinear: 4 products summed in float32 vs the float64 twin, weights in [-0.5, 1.5]
# (half-pixel extrapolation at the border): abs error < 8 ulp of |x| <= 5 -> atol 1e-5.
@pytest.mark.parametrize("c", [1, 3, 16, 17])
def test_resize_bilinear(c):
    from numba_infer.ops.resize import bilinear_coords
    x = RNG.standard_normal((2, 5, 6, c)).astype(np.float32)
    y0, y1, wy = bilinear_coords(5, 9, False, True)
    x0, x1, wx = bilinear_coords(6, 4, True, False)
    a, b = np.zeros((2, 9, 4, c), np.float32), np.zeros((2, 9, 4, c), np.float32)
    K_res.resize_bilinear_f32(x, y0, y1, wy, x0, x1, wx, a)
    R_res.resize_bilinear_f32(x, y0, y1, wy, x0, x1, wx, b)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)


# XNNPack's lerps: each float32 operation rounds once in both (no FMA): bit-exact.
@pytest.mark.parametrize("c", [1, 3, 16, 17, 21, 40])
@pytest.mark.parametrize("flags", [(False, True), (True, False), (False, False)])
@pytest.mark.parametrize("oh,ow", [(9, 4), (3, 11), (5, 6)])
def test_resize_bilinear_xnn(c, flags, oh, ow):
    """XNNPack's f32-ibilinear with its coordinates: every channel count (masked tails),
    up- and downsampling (rows whose horizontal pass is reused or not; two images, the
    row cache restarts per image), whatever the row scratch held before; a row range
    (the threaded chunks) leaves the other rows alone."""
    from numba_infer.ops.resize import bilinear_coords_xnn
    x = RNG.standard_normal((2, 5, 6, c)).astype(np.float32)
    ys, xs = bilinear_coords_xnn(5, oh, *flags), bilinear_coords_xnn(6, ow, *flags)
    a, b = np.full((2, oh, ow, c), 7, np.float32), np.full((2, oh, ow, c), 7, np.float32)
    tb = np.full(2 * ow * c, np.nan, np.float32)
    K_res.resize_bilinear_f32_xnn(x, *ys, *xs, a, 0, oh, tb)
    R_res.resize_bilinear_f32_xnn(x, *ys, *xs, b, 0, oh)
    np.testing.assert_array_equal(a, b)
    part = np.full_like(a, 7)
    K_res.resize_bilinear_f32_xnn(x, *ys, *xs, part, 1, 3, np.full_like(tb, np.inf))
    np.testing.assert_array_equal(part[:, 1:3], a[:, 1:3])
    assert (part[:, :1] == 7).all() and (part[:, 3:] == 7).all()


@pytest.mark.parametrize("outer,r,inner", [(1, 1, 1), (5, 2, 1), (3, 3, 7), (1680, 2, 1), (30, 2, 224), (4, 1, 5)])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint64, np.float32])
def test_tile_repeat(outer, r, inner, dtype):
    x = RNG.integers(0, 100, outer * inner).astype(dtype)
    a, b = np.zeros(outer * r * inner, dtype), np.ones(outer * r * inner, dtype)
    K.tile_repeat_x(x, outer, r, inner, a)
    R.tile_repeat_x(x, outer, r, inner, b)
    np.testing.assert_array_equal(a, b)
