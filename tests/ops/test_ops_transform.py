"""Data-movement ops vs LiteRT (exact: no arithmetic), and invalid models -> our errors."""
import numpy as np
import pytest
from tflite_build import ModelBuilder, run_litert, run_ours, single_op

from numba_infer.errors import InputError, ModelValidationError, NumbaInferError

RNG = np.random.default_rng(7)
I32 = np.int32


def data(shape, dtype=np.float32):
    if np.dtype(dtype).kind == "f":
        return RNG.standard_normal(shape).astype(dtype)
    if dtype == np.bool_:
        return RNG.random(shape) > 0.5
    return RNG.integers(-100, 100, shape).astype(dtype)


def check(op, inputs, out_shapes, feeds, options=None, resolver="default", out_dtypes=None):
    dt = out_dtypes or [feeds[0].dtype] * len(out_shapes)
    m = single_op(op, inputs, out_shapes, options, out_dtypes=dt)
    want = run_litert(m, feeds, resolver=resolver)
    got = run_ours(m, feeds)
    assert len(want) == len(got)
    for w, g in zip(want, got):
        assert w.shape == g.shape and w.dtype == g.dtype
        np.testing.assert_array_equal(g, w)


def expect_error(op, inputs, out_shapes, options=None, cls=ModelValidationError, feeds=None):
    m = single_op(op, inputs, out_shapes, options)
    with pytest.raises(cls):
        run_ours(m, feeds or [])


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int8])
@pytest.mark.parametrize("pads", [[[0, 1], [2, 0], [1, 1], [0, 0]], [[1, 1], [0, 0], [0, 0], [2, 3]]])
def test_pad(dtype, pads):
    x = data((2, 3, 4, 5), dtype)
    out = tuple(s + a + b for s, (a, b) in zip(x.shape, pads))
    check("PAD", [(x.shape, dtype), np.array(pads, I32)], [out], [x])


def test_padv2_value_and_int64_paddings():
    x = data((3, 4))
    check("PADV2", [(x.shape, np.float32), np.array([[1, 2], [0, 3]], np.int64), np.array([2.5], np.float32)],
          [(6, 7)], [x])


def test_pad_quantized_uses_zero_point():
    b = ModelBuilder()
    i = b.input((1, 2, 2, 1), np.int8, scale=0.1, zero_point=-5)
    p = b.const(np.array([[0, 0], [1, 1], [1, 1], [0, 0]], I32))
    o = b.tensor((1, 4, 4, 1), np.int8, scale=0.1, zero_point=-5)
    b.op("PAD", [i, p], [o])
    m = b.build(outputs=[o])
    x = data((1, 2, 2, 1), np.int8)
    np.testing.assert_array_equal(run_ours(m, [x])[0], run_litert(m, [x])[0])
    assert run_ours(m, [x])[0][0, 0, 0, 0] == -5


@pytest.mark.parametrize("mode", [0, 1])
def test_mirror_pad(mode):
    x = data((2, 4, 5))
    pads = [[0, 1], [3 - mode, 2], [1, 4 - mode]]
    out = tuple(s + a + b for s, (a, b) in zip(x.shape, pads))
    check("MIRROR_PAD", [(x.shape, np.float32), np.array(pads, I32)], [out], [x], {"mode": mode})


@pytest.mark.parametrize("shape,perm", [((2, 3, 4, 5), [0, 3, 1, 2]), ((2, 3, 4, 5), [0, 2, 3, 1]),
                                        ((2, 3, 4, 5), [0, 2, 1, 3]), ((3, 4), [1, 0]), ((2, 3, 1, 4, 2), [4, 2, 0, 3, 1]),
                                        ((5,), [0])])
@pytest.mark.parametrize("dtype", [np.float32, np.int32])
def test_transpose(shape, perm, dtype):
    x = data(shape, dtype)
    check("TRANSPOSE", [(shape, dtype), np.array(perm, I32)], [tuple(shape[p] for p in perm)], [x])


@pytest.mark.parametrize("begin,size", [([0, 1, 0], [2, -1, 3]), ([1, 0, 2], [1, 2, 1])])
def test_slice(begin, size):
    x = data((2, 3, 4), np.int32)
    out = tuple(x.shape[d] - begin[d] if size[d] == -1 else size[d] for d in range(3))
    check("SLICE", [(x.shape, np.int32), np.array(begin, I32), np.array(size, I32)], [out], [x])


SS_CASES = [  # begin, end, strides, options
    ([0, 1, 0, 0], [1, 3, 4, 5], [1, 1, 1, 1], {}),
    ([0, -1, 0, 0], [1, 0, 4, 5], [1, -1, 2, 1], {}),
    ([0, 0, 0, 0], [0, 0, 0, 0], [1, 1, 1, -1], {"begin_mask": 15, "end_mask": 15}),
    ([1, 2, 0, 1], [2, 3, 4, 5], [1, 1, 1, 2], {"shrink_axis_mask": 3}),
    ([0, 1], [0, 3], [1, 1], {"ellipsis_mask": 1}),
    ([0, 0, 1], [0, 0, 3], [1, 1, 1], {"new_axis_mask": 2, "begin_mask": 1, "end_mask": 1}),
    ([0, 1, -3, 0], [0, 2, -1, 0], [1, 1, 1, 1], {"begin_mask": 9, "end_mask": 9, "shrink_axis_mask": 2}),
    ([0, 10, -100, 0], [2, -10, 100, 5], [1, -2, 3, 1], {}),
    ([0, 1, 0, 2], [1, 1, 3, 2], [1, 1, 1, 1], {"offset": True}),
    ([1, 0], [0, 2], [1, 1], {"ellipsis_mask": 2, "shrink_axis_mask": 1}),
]


@pytest.mark.parametrize("begin,end,strides,opts", SS_CASES)
def test_strided_slice(begin, end, strides, opts):
    x = data((2, 3, 4, 5))
    xp = x[...]  # output shape from LiteRT itself: build once with a placeholder, read its output shape
    m = single_op("STRIDED_SLICE", [(x.shape, np.float32), np.array(begin, I32), np.array(end, I32),
                                    np.array(strides, I32)], [(1,)], opts)
    want = run_litert(m, [xp], resolver="builtin")[0]
    m = single_op("STRIDED_SLICE", [(x.shape, np.float32), np.array(begin, I32), np.array(end, I32),
                                    np.array(strides, I32)], [want.shape], opts)
    check("STRIDED_SLICE", [(x.shape, np.float32), np.array(begin, I32), np.array(end, I32),
                            np.array(strides, I32)], [want.shape], [x], opts, resolver="builtin")


@pytest.mark.parametrize("mult", [[1, 2, 3], [2, 1, 1], [3, 1, 2]])
def test_tile(mult):
    x = data((2, 3, 2), np.int32)
    check("TILE", [(x.shape, np.int32), np.array(mult, I32)], [tuple(s * m for s, m in zip(x.shape, mult))], [x])


@pytest.mark.parametrize("bs", [2, 3])
def test_depth_space(bs):
    x = data((2, 3, 4, 2 * bs * bs))
    check("DEPTH_TO_SPACE", [(x.shape, np.float32)], [(2, 3 * bs, 4 * bs, 2)], [x], {"block_size": bs})
    y = data((2, 2 * bs, 3 * bs, 3))
    check("SPACE_TO_DEPTH", [(y.shape, np.float32)], [(2, 2, 3, 3 * bs * bs)], [y], {"block_size": bs})


@pytest.mark.parametrize("block,pads", [([2, 2], [[0, 0], [0, 0]]), ([2, 3], [[1, 1], [2, 1]]), ([3, 1], [[2, 0], [0, 3]])])
def test_space_batch(block, pads):
    x = data((2, 4, 6, 3))
    hp, wp = 4 + sum(pads[0]), 6 + sum(pads[1])
    out = (2 * block[0] * block[1], hp // block[0], wp // block[1], 3)
    check("SPACE_TO_BATCH_ND", [(x.shape, np.float32), np.array(block, I32), np.array(pads, I32)], [out], [x])
    y = data(out)
    back = (2, out[1] * block[0] - sum(pads[0]), out[2] * block[1] - sum(pads[1]), 3)
    check("BATCH_TO_SPACE_ND", [(out, np.float32), np.array(block, I32), np.array(pads, I32)], [back], [y])


def test_space_batch_quantized_pads_with_zero_point():
    """int8 SPACE_TO_BATCH_ND (deeplab's atrous convs): the padding is the zero point."""
    b = ModelBuilder()
    i = b.input((1, 5, 5, 4), np.int8, scale=0.1, zero_point=-5)
    o = b.tensor((4, 4, 4, 4), np.int8, scale=0.1, zero_point=-5)
    b.op("SPACE_TO_BATCH_ND", [i, b.const(np.array([2, 2], I32)), b.const(np.array([[1, 2], [2, 1]], I32))], [o])
    m = b.build(outputs=[o])
    x = data((1, 5, 5, 4), np.int8)
    got = run_ours(m, [x])[0]
    np.testing.assert_array_equal(got, run_litert(m, [x])[0])
    assert got[0, 0, 0, 0] == -5


def test_space_batch_3d():
    x = data((2, 6, 3))
    check("SPACE_TO_BATCH_ND", [(x.shape, np.float32), np.array([2], I32), np.array([[1, 1]], I32)], [(4, 4, 3)], [x])
    y = data((4, 3, 3))
    check("BATCH_TO_SPACE_ND", [(y.shape, np.float32), np.array([2], I32), np.array([[1, 0]], I32)], [(2, 5, 3)], [y])


@pytest.mark.parametrize("axis", [0, 1, -1, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_])
def test_concatenation(axis, dtype):
    shapes = []
    for k in (1, 2, 3):
        s = [2, 3, 4, 2]
        s[axis] = k
        shapes.append(tuple(s))
    xs = [data(s, dtype) for s in shapes]
    out = list(shapes[0])
    out[axis] = 6
    check("CONCATENATION", [(s, dtype) for s in shapes], [tuple(out)], xs, {"axis": axis})


def test_concatenation_fused_relu():
    # TFLite refuses fused activations on CONCATENATION; ours clamps (float only).
    xs = [data((2, 3)), data((2, 2))]
    m = single_op("CONCATENATION", [((2, 3), np.float32), ((2, 2), np.float32)], [(2, 5)],
                  {"axis": 1, "fused_activation_function": 3})
    got = run_ours(m, xs)[0]
    np.testing.assert_array_equal(got, np.clip(np.concatenate(xs, 1), 0, 6))


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_pack_unpack(axis):
    xs = [data((3, 4), np.int32) for _ in range(3)]
    out = list(xs[0].shape)
    out.insert(axis % 3, 3)
    check("PACK", [(x.shape, np.int32) for x in xs], [tuple(out)], xs, {"values_count": 3, "axis": axis})
    y = data(tuple(out), np.int32)
    check("UNPACK", [(y.shape, np.int32)], [(3, 4)] * 3, [y], {"num": 3, "axis": axis})


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_split(axis):
    x = data((4, 6, 2 * 3))
    shape = list(x.shape)
    shape[axis] //= 2
    check("SPLIT", [np.array(axis, I32), (x.shape, np.float32)], [tuple(shape)] * 2, [x], {"num_splits": 2})


def test_split_v():
    x = data((3, 7))
    m = single_op("SPLIT_V", [((3, 7), np.float32), np.array([2, -1, 1], I32), np.array([-1], I32)],
                  [(3, 2), (3, 4), (3, 1)], {"num_splits": 3})
    for w, g in zip(run_litert(m, [x]), run_ours(m, [x])):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("axis,bd,ishape", [(0, 0, (5,)), (1, 0, (2, 3)), (2, 1, (2, 4)), (-1, 0, (3,))])
@pytest.mark.parametrize("idt", [np.int32, np.int64])
def test_gather(axis, bd, ishape, idt):
    x = data((2, 4, 5, 3))
    a = axis % 4
    idx = RNG.integers(0, x.shape[a], ishape).astype(idt)
    out = x.shape[:a] + ishape[bd:] + x.shape[a + 1:]
    check("GATHER", [(x.shape, np.float32), (ishape, idt)], [out], [x, idx], {"axis": axis, "batch_dims": bd},
          out_dtypes=[np.float32])


def test_gather_runtime_index_out_of_range():
    m = single_op("GATHER", [((4, 3), np.float32), ((2,), I32)], [(2, 3)], {"axis": 0})
    x = data((4, 3))
    with pytest.raises(InputError):
        run_ours(m, [x, np.array([1, 4], I32)])
    with pytest.raises(InputError):
        run_ours(m, [x, np.array([-1, 0], I32)])


BAD = [
    ("TRANSPOSE", [((2, 3, 4), np.float32), np.array([0, 0, 1], I32)], [(2, 2, 3)], None),
    ("TRANSPOSE", [((2, 3, 4), np.float32), np.array([0, 1, 3], I32)], [(2, 3, 4)], None),
    ("TRANSPOSE", [((2, 3, 4), np.float32), np.array([0, 1], I32)], [(2, 3)], None),
    ("PAD", [((2, 3), np.float32), np.array([[0, -1], [0, 0]], I32)], [(2, 3)], None),
    ("PAD", [((2, 3), np.float32), np.array([[0, 1]], I32)], [(2, 3)], None),
    ("MIRROR_PAD", [((2, 3), np.float32), np.array([[0, 0], [3, 0]], I32)], [(2, 6)], {"mode": 0}),
    ("SLICE", [((2, 3), np.float32), np.array([1, 2], I32), np.array([2, 1], I32)], [(2, 1)], None),
    ("SLICE", [((2, 3), np.float32), np.array([-1, 0], I32), np.array([1, 1], I32)], [(1, 1)], None),
    ("STRIDED_SLICE", [((2, 3), np.float32), np.array([0, 0], I32), np.array([2, 3], I32), np.array([1, 0], I32)],
     [(2, 3)], None),
    ("STRIDED_SLICE", [((2, 3), np.float32), np.array([0, 5], I32), np.array([2, 6], I32), np.array([1, 1], I32)],
     [(2,)], {"shrink_axis_mask": 2}),
    ("TILE", [((2, 3), np.float32), np.array([1, -1], I32)], [(2, 3)], None),
    ("CONCATENATION", [((2, 3), np.float32), ((3, 3), np.float32)], [(5, 3)], {"axis": 1}),
    ("CONCATENATION", [((2, 3), np.float32), ((2, 3), np.float32)], [(4, 3)], {"axis": 2}),
    ("GATHER", [((4, 3), np.float32), np.array([0, 4], I32)], [(2, 3)], {"axis": 0}),
    ("GATHER", [((4, 3), np.float32), ((2,), I32)], [(2, 3)], {"axis": 2}),
    ("SPLIT", [np.array(0, I32), ((3, 2), np.float32)], [(1, 2), (1, 2)], {"num_splits": 2}),
    ("SPLIT_V", [((3, 2), np.float32), np.array([1, 1], I32), np.array(0, I32)], [(1, 2), (1, 2)], {"num_splits": 2}),
    ("DEPTH_TO_SPACE", [((1, 2, 2, 3), np.float32)], [(1, 4, 4, 1)], {"block_size": 2}),
    ("DEPTH_TO_SPACE", [((1, 2, 2, 4), np.float32)], [(1, 4, 4, 1)], {"block_size": 0}),
    ("SPACE_TO_DEPTH", [((1, 3, 2, 1), np.float32)], [(1, 1, 1, 4)], {"block_size": 2}),
    ("SPACE_TO_BATCH_ND", [((1, 3, 4, 1), np.float32), np.array([2, 2], I32), np.array([[0, 0], [0, 0]], I32)],
     [(4, 1, 2, 1)], None),
    ("SPACE_TO_BATCH_ND", [((1, 4, 4, 1), np.float32), np.array([2, 2], I32), np.array([[-2, 0], [0, 0]], I32)],
     [(4, 1, 2, 1)], None),
    ("BATCH_TO_SPACE_ND", [((3, 2, 2, 1), np.float32), np.array([2, 1], I32), np.array([[0, 0], [0, 0]], I32)],
     [(1, 4, 2, 1)], None),
    ("BATCH_TO_SPACE_ND", [((4, 2, 2, 1), np.float32), np.array([2, 2], I32), np.array([[3, 2], [0, 0]], I32)],
     [(1, 4, 2, 1)], None),
    ("UNPACK", [((2, 3), np.float32)], [(3,)] * 3, {"num": 3, "axis": 0}),
    ("PACK", [((2, 3), np.float32), ((2, 4), np.float32)], [(2, 2, 3)], {"values_count": 2, "axis": 0}),
]


@pytest.mark.parametrize("op,inputs,outs,opts", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_invalid_models_raise_our_errors(op, inputs, outs, opts):
    feeds = [np.zeros(s[0], s[1]) for s in inputs if isinstance(s, tuple)]
    m = single_op(op, inputs, outs, opts)
    with pytest.raises(ModelValidationError):
        run_ours(m, feeds)


def test_unsupported_dtype_is_our_error():
    m = single_op("TRANSPOSE", [((2, 3), np.float32), np.array([1, 0], np.float32)], [(3, 2)])
    with pytest.raises(NumbaInferError):
        run_ours(m, [np.zeros((2, 3), np.float32)])
