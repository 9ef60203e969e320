"""Reductions and resizes vs LiteRT; invalid operands -> our errors."""
import numpy as np
import pytest
from tflite_build import run_litert, run_ours, single_op

from numba_infer.errors import ModelValidationError, NumbaInferError

RNG = np.random.default_rng(3)
I32 = np.int32


def reduced_shape(shape, axes, keep):
    ax = {a % len(shape) for a in axes}
    return tuple(1 if d in ax else n for d, n in enumerate(shape)) if keep else \
        tuple(n for d, n in enumerate(shape) if d not in ax)


# Float tolerance: each output sums at most 60 float32 terms of N(0,1) data in the same
# order as TFLite's reference; XNNPack (default resolver) may reassociate (pairwise / SIMD
# lanes), which changes the result by a few ulp of the running sum: rtol 1e-5, atol 1e-6.
@pytest.mark.parametrize("op", ["MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD"])
@pytest.mark.parametrize("axes", [[1, 2], [3], [0], [-1, 1], [0, 2], [1, 1, -3], [0, 1, 2, 3]])
@pytest.mark.parametrize("keep", [False, True])
def test_reduce_f32(op, axes, keep):
    shape = (2, 3, 4, 5)
    x = RNG.standard_normal(shape).astype(np.float32)
    if op == "REDUCE_PROD":
        x = (1 + 0.1 * x).astype(np.float32)
    out = reduced_shape(shape, axes, keep)
    m = single_op(op, [(shape, np.float32), np.array(axes, I32)], [out], {"keep_dims": keep})
    want = run_litert(m, [x])[0]
    got = run_ours(m, [x])[0]
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("op", ["SUM", "REDUCE_MAX", "REDUCE_MIN"])
def test_reduce_int32_exact(op):
    x = RNG.integers(-1000, 1000, (3, 4, 5)).astype(I32)
    m = single_op(op, [(x.shape, I32), np.array([0, 2], I32)], [(4,)], {"keep_dims": False}, out_dtypes=[I32])
    np.testing.assert_array_equal(run_ours(m, [x])[0], run_litert(m, [x])[0])


def test_reduce_any():
    x = RNG.random((3, 4, 5)) > 0.9
    m = single_op("REDUCE_ANY", [(x.shape, np.bool_), np.array([1], I32)], [(3, 5)], {"keep_dims": False},
                  out_dtypes=[np.bool_], options_name="ReducerOptions")
    np.testing.assert_array_equal(run_ours(m, [x])[0], run_litert(m, [x])[0])


def test_mean_global_pool_large():
    x = RNG.standard_normal((1, 14, 14, 96)).astype(np.float32)
    m = single_op("MEAN", [(x.shape, np.float32), np.array([1, 2], I32)], [(1, 96)], {"keep_dims": False})
    np.testing.assert_allclose(run_ours(m, [x])[0], run_litert(m, [x])[0], rtol=1e-5, atol=1e-6)
    ref = run_litert(m, [x], resolver="builtin")[0]
    np.testing.assert_allclose(run_ours(m, [x])[0], ref, rtol=1e-5, atol=1e-6)


def test_reduce_bad_axis():
    m = single_op("SUM", [((2, 3), np.float32), np.array([2], I32)], [(2,)], {"keep_dims": False})
    with pytest.raises(ModelValidationError):
        run_ours(m, [np.zeros((2, 3), np.float32)])


def test_mean_int8_unsupported():
    m = single_op("MEAN", [((2, 3), np.int8), np.array([1], I32)], [(2,)], {"keep_dims": False},
                  out_dtypes=[np.int8])
    with pytest.raises(NumbaInferError):
        run_ours(m, [np.zeros((2, 3), np.int8)])


RESIZES = [((5, 7), (9, 13)), ((8, 8), (4, 3)), ((4, 6), (4, 6)), ((3, 3), (1, 7)), ((1, 5), (3, 2))]
FLAGS = [(False, False), (True, False), (False, True)]


# Bilinear, numerics "xnnpack" against LiteRT's default delegate: XNNPack's coordinates and
# lerps, operation for operation: bit-exact (17 channels: a full vector and a masked tail).
# numerics "tflite" against the reference kernel: each output is a 4-term weighted sum of
# N(0,1) inputs with weights in [0, 1], our products of precomputed weights against its
# own grouping, so results differ by a few float32 ulp: atol 1e-5.
@pytest.mark.parametrize("sizes", RESIZES)
@pytest.mark.parametrize("align,half", FLAGS)
@pytest.mark.parametrize("resolver", ["default", "reference"])
def test_resize_bilinear(sizes, align, half, resolver):
    (h, w), (oh, ow) = sizes
    c = 17 if resolver == "default" else 3
    x = RNG.standard_normal((2, h, w, c)).astype(np.float32)
    m = single_op("RESIZE_BILINEAR", [(x.shape, np.float32), np.array([oh, ow], I32)], [(2, oh, ow, c)],
                  {"align_corners": align, "half_pixel_centers": half})
    if resolver == "default":
        np.testing.assert_array_equal(run_ours(m, [x])[0], run_litert(m, [x])[0])
    else:
        ours = run_ours(m, [x], numerics="tflite")[0]
        np.testing.assert_allclose(ours, run_litert(m, [x], resolver=resolver)[0], rtol=0, atol=1e-5)


@pytest.mark.parametrize("sizes", RESIZES + [((3, 5), (7, 11)), ((6, 10), (4, 4))])
@pytest.mark.parametrize("align,half", FLAGS + [(True, True)])
@pytest.mark.parametrize("dtype", [np.float32, np.int32])
def test_resize_nearest(sizes, align, half, dtype):
    (h, w), (oh, ow) = sizes
    x = RNG.integers(-50, 50, (2, h, w, 3)).astype(dtype)
    m = single_op("RESIZE_NEAREST_NEIGHBOR", [(x.shape, dtype), np.array([oh, ow], I32)], [(2, oh, ow, 3)],
                  {"align_corners": align, "half_pixel_centers": half}, out_dtypes=[dtype])
    np.testing.assert_array_equal(run_ours(m, [x])[0], run_litert(m, [x], resolver="builtin")[0])


@pytest.mark.parametrize("size", [np.array([0, 3], I32), np.array([3], I32), np.array([2, 2], np.float32)])
def test_resize_bad_size(size):
    m = single_op("RESIZE_BILINEAR", [((1, 2, 2, 1), np.float32), size], [(1, 2, 2, 1)])
    with pytest.raises(NumbaInferError):
        run_ours(m, [np.zeros((1, 2, 2, 1), np.float32)])


def test_resize_dynamic_size_unsupported():
    m = single_op("RESIZE_BILINEAR", [((1, 2, 2, 1), np.float32), ((2,), I32)], [(1, 4, 4, 1)])
    with pytest.raises(NumbaInferError):
        run_ours(m, [np.zeros((1, 2, 2, 1), np.float32), np.array([4, 4], I32)])
