"""Fast paths of data movement (pad_x, tiled transpose, row copies), ARG_MAX/ARG_MIN and
GATHER_ND vs LiteRT (exact: indices and moved values, no arithmetic)."""
import numpy as np
import pytest
from tflite_build import run_litert, run_ours, single_op

from numba_infer.errors import InputError, ModelValidationError, NumbaInferError

RNG = np.random.default_rng(17)
I32 = np.int32


def data(shape, dtype=np.float32):
    if np.dtype(dtype).kind == "f":
        return RNG.standard_normal(shape).astype(dtype)
    if np.dtype(dtype).kind == "u":
        return RNG.integers(0, 255, shape).astype(dtype)
    return RNG.integers(-100, 100, shape).astype(dtype)


def check(op, inputs, out_shapes, feeds, options=None, out_dtypes=None, resolver="default"):
    dt = out_dtypes or [feeds[0].dtype] * len(out_shapes)
    m = single_op(op, inputs, out_shapes, options, out_dtypes=dt)
    want = run_litert(m, feeds, resolver=resolver)
    got = run_ours(m, feeds)
    for w, g in zip(want, got):
        assert w.shape == g.shape and w.dtype == g.dtype
        np.testing.assert_array_equal(g, w)


# pad_x: NHWC spatial pads (W*C folds into one row), pads on N/C, 1-D..5-D, and a 5-D
# problem that needs more than 4 pad axes (gather fallback).
PADS = [((1, 33, 33, 5), [[0, 0], [1, 1], [1, 1], [0, 0]]),
        ((1, 7, 9, 3), [[0, 0], [0, 1], [0, 1], [0, 0]]),
        ((2, 5, 6, 3), [[1, 0], [2, 3], [0, 0], [1, 2]]),
        ((7,), [[2, 3]]),
        ((3, 1, 4, 1, 2), [[0, 0], [1, 1], [0, 0], [2, 0], [0, 0]]),
        ((2, 3, 2, 3, 2), [[1, 0], [0, 1], [1, 0], [0, 1], [1, 1]])]


@pytest.mark.parametrize("shape,pads", PADS)
@pytest.mark.parametrize("dtype", [np.float32, np.int8])
def test_pad_fast_path(shape, pads, dtype):
    x = data(shape, dtype)
    out = tuple(s + a + b for s, (a, b) in zip(shape, pads))
    check("PAD", [(shape, dtype), np.array(pads, I32)], [out], [x])


def test_padv2_fast_path_value():
    x = data((1, 5, 4, 3))
    pads = [[0, 0], [3, 3], [3, 3], [0, 0]]
    check("PADV2", [(x.shape, np.float32), np.array(pads, I32), np.array([-1.5], np.float32)],
          [(1, 11, 10, 3)], [x])


# Tiled transposes (both moved extents >= 8) on odd sizes, batched by other axes.
TRANSPOSES = [((1, 9, 13, 17), [0, 3, 1, 2]), ((1, 17, 9, 13), [0, 2, 3, 1]), ((33, 40), [1, 0]),
              ((3, 10, 4, 9), [1, 3, 0, 2]), ((2, 11, 3, 12), [0, 3, 2, 1]), ((2, 8, 8), [0, 2, 1]),
              ((1, 4, 3, 20), [0, 3, 1, 2]),
              # both extents >= 16: 4-byte elements take the 16x16 register-shuffle blocks
              ((1, 4, 128, 64), [0, 1, 3, 2]), ((2, 33, 20), [0, 2, 1]), ((17, 48), [1, 0]),
              ((1, 20, 3, 35), [0, 3, 2, 1])]


@pytest.mark.parametrize("shape,perm", TRANSPOSES)
@pytest.mark.parametrize("dtype", [np.float32, np.uint8, np.int32])
def test_transpose_tiled(shape, perm, dtype):
    x = data(shape, dtype)
    check("TRANSPOSE", [(shape, dtype), np.array(perm, I32)], [tuple(shape[p] for p in perm)], [x])


def test_concat_split_channels():
    xs = [data((1, 5, 7, 3 + k)) for k in range(4)]
    check("CONCATENATION", [(x.shape, np.float32) for x in xs], [(1, 5, 7, 18)], xs, {"axis": 3})
    y = data((1, 5, 7, 12))
    check("SPLIT", [np.array(3, I32), (y.shape, np.float32)], [(1, 5, 7, 3)] * 4, [y], {"num_splits": 4})


# ----- ARG_MAX / ARG_MIN ----------------------------------------------------------------

@pytest.mark.parametrize("op", ["ARG_MAX", "ARG_MIN"])
@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.uint8, np.int32])
@pytest.mark.parametrize("shape,axis", [((2, 5, 7), -1), ((2, 5, 7), 1), ((3, 4), 0), ((9,), 0), ((1, 3, 3, 11), 3)])
def test_arg_min_max(op, dtype, shape, axis):
    x = RNG.integers(0, 5, shape).astype(dtype)     # few distinct values: ties decide the index
    out = tuple(s for d, s in enumerate(shape) if d != axis % len(shape))
    check(op, [(shape, dtype), np.array([axis], I32)], [out], [x], {"output_type": 2}, out_dtypes=[np.int32])


@pytest.mark.parametrize("op", ["ARG_MAX", "ARG_MIN"])
def test_arg_min_max_int64_output_and_axis(op):
    x = data((4, 6))
    check(op, [(x.shape, np.float32), np.array([1], np.int64)], [(4,)], [x], {"output_type": 4},
          out_dtypes=[np.int64])


@pytest.mark.parametrize("op", ["ARG_MAX", "ARG_MIN"])
@pytest.mark.parametrize("axis", [0, 1])
def test_arg_min_max_nan_inf(op, axis):
    n, i = np.nan, np.inf
    x = np.array([[n, 1, 2], [1, n, 3], [3, 3, n], [2, i, -i], [-i, -i, n], [n, -i, -i], [n, n, n], [n, -3e38, 1]],
                 np.float32)
    for xx in (x, -x):
        xx = np.ascontiguousarray(xx if axis == 1 else xx.T)
        out = (xx.shape[1 - axis],)
        check(op, [(xx.shape, np.float32), np.array([axis], I32)], [out], [xx], {"output_type": 2},
              out_dtypes=[np.int32])


# ----- GATHER_ND -------------------------------------------------------------------------

@pytest.mark.parametrize("pshape,ishape", [((4, 3, 5), (6, 1)), ((4, 3, 5), (2, 3, 2)), ((4, 3, 5), (7, 3)),
                                           ((5,), (4, 1)), ((3, 4), (2,))])
@pytest.mark.parametrize("idt", [np.int32, np.int64])
@pytest.mark.parametrize("dtype", [np.float32, np.int8])
def test_gather_nd(pshape, ishape, idt, dtype):
    x = data(pshape, dtype)
    k = ishape[-1]
    idx = np.stack([RNG.integers(0, pshape[d], ishape[:-1]) for d in range(k)], axis=-1).astype(idt)
    out = ishape[:-1] + pshape[k:]
    check("GATHER_ND", [(pshape, dtype), (ishape, idt)], [out], [x, idx], out_dtypes=[dtype])
    check("GATHER_ND", [(pshape, dtype), idx], [out], [x], out_dtypes=[dtype])   # constant indices


def test_gather_nd_runtime_index_out_of_range():
    m = single_op("GATHER_ND", [((4, 3), np.float32), ((2, 2), I32)], [(2,)])
    x = data((4, 3))
    np.testing.assert_array_equal(run_ours(m, [x, np.array([[1, 2], [3, 0]], I32)])[0], x[[1, 3], [2, 0]])
    for bad in ([[1, 3], [0, 0]], [[0, 0], [-1, 0]], [[4, 0], [0, 0]]):
        with pytest.raises(InputError):
            run_ours(m, [x, np.array(bad, I32)])


BAD = [
    ("GATHER_ND", [((4, 3), np.float32), np.array([[0, 3]], I32)], [(1,)], None),
    ("GATHER_ND", [((4, 3), np.float32), np.array([[0, 1, 0]], I32)], [(1,)], None),
    ("ARG_MAX", [((4, 3), np.float32), np.array([2], I32)], [(4,)], {"output_type": 2}),
    ("ARG_MAX", [((4, 3), np.float32), np.array([0, 1], I32)], [(4,)], {"output_type": 2}),
    ("ARG_MIN", [((4, 3), np.float32), np.array([1], I32)], [(4,)], {"output_type": 0}),
]


@pytest.mark.parametrize("op,inputs,outs,opts", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_invalid_models_raise_our_errors(op, inputs, outs, opts):
    feeds = [np.zeros(s[0], s[1]) for s in inputs if isinstance(s, tuple)]
    m = single_op(op, inputs, outs, opts, out_dtypes=[np.int32] if op.startswith("ARG") else None)
    with pytest.raises(ModelValidationError):
        run_ours(m, feeds)


def test_arg_max_unsupported_dtype():
    m = single_op("ARG_MAX", [((4, 3), np.int16), np.array([1], I32)], [(4,)], {"output_type": 2},
                  out_dtypes=[np.int32])
    with pytest.raises(NumbaInferError):
        run_ours(m, [np.zeros((4, 3), np.int16)])


# TILE with one repeated axis (tile_repeat_x, moved as 8/4/2/1-byte words): UpSampling2D's
# pair of TILEs in opzoo, a leading / trailing / size-1 repeated axis, odd byte counts.
TILES = [((1, 60, 28, 1, 8), [1, 1, 1, 2, 1], np.int8), ((1, 60, 28, 1, 8), [1, 1, 1, 2, 1], np.float32),
         ((1, 30, 1, 28, 8), [1, 1, 2, 1, 1], np.int8), ((2, 3, 5), [3, 1, 1], np.uint8),
         ((2, 3, 5), [1, 1, 4], np.int16), ((7,), [3], np.int32), ((2, 3, 3), [1, 2, 1], np.int8),
         ((4, 1, 6), [1, 5, 1], np.float16), ((2, 3), [1, 0], np.float32)]


@pytest.mark.parametrize("shape,mult,dtype", TILES, ids=str)
def test_tile_one_axis(shape, mult, dtype):
    x = data(shape, dtype)
    out = tuple(s * m for s, m in zip(shape, mult))
    if 0 in out:
        got = run_ours(single_op("TILE", [(shape, dtype), np.array(mult, I32)], [out], out_dtypes=[dtype]), [x])[0]
        assert got.shape == out
        return
    check("TILE", [(shape, dtype), np.array(mult, I32)], [out], [x], resolver="builtin")
