"""Binary elementwise ops on the layouts the vector kernels specialize (same shape,
per-channel [.., C] x [C] with C around the 16-lane width, [rows, C] x [rows, 1],
scalar), float32, PRELU and int8 / uint8: numba_infer vs LiteRT, bit-exact.

Float: one IEEE rounding of exact operands (XNNPack and TFLite builtin agree).
8-bit: both resolvers, ("default", numerics="xnnpack") and ("builtin", "tflite"),
with zero points at the ends of the range and operands covering the whole range."""
import numpy as np
import pytest
from tflite_build import ModelBuilder, run_litert, run_ours, single_op

F32 = np.float32

# rows of 16 / 24 / 17 / 15 lanes against a per-channel operand, a per-row
# operand, long same-shape rows with a tail, scalars
LAYOUTS = [
    ((1, 6, 6, 16), (1, 1, 1, 16)),
    ((1, 5, 5, 24), (24,)),
    ((2, 3, 17), (17,)),
    ((3, 4, 15), (1, 1, 15)),
    ((2, 7, 17), (2, 7, 1)),
    ((1, 9, 9, 33), (1, 9, 9, 33)),
    ((4, 16), ()),
    ((), (1, 3, 31)),
]


def _exact(model, feeds, resolver="default", **kw):
    want = run_litert(model, feeds, resolver=resolver)[0]
    got = run_ours(model, feeds, **kw)[0]
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got, want, err_msg=resolver)


FLOAT_OPS = [("ADD", 0), ("MUL", 1), ("SUB", 3), ("DIV", 2), ("MAXIMUM", 0), ("MINIMUM", 0),
             ("SQUARED_DIFFERENCE", 0), ("MUL", 0)]


# every layout with two ops, every op on two layouts (rotating)
@pytest.mark.parametrize("k,j", [(k, j) for k in range(len(LAYOUTS)) for j in (0, 3)])
def test_float_layouts(k, j, rng):
    sa, sb = LAYOUTS[k]
    op, act = FLOAT_OPS[(k + j) % len(FLOAT_OPS)]
    a = rng.uniform(-4, 4, sa).astype(F32)
    b = rng.uniform(0.5, 3, sb).astype(F32) * rng.choice([-1, 1], sb).astype(F32)
    opts = {"fused_activation_function": act} if op in ("ADD", "SUB", "MUL", "DIV") else None
    m = single_op(op, [(sa, F32), (sb, F32)], [np.broadcast_shapes(sa, sb)], opts)
    _exact(m, [a, b])
    _exact(m, [a, b], resolver="builtin")


@pytest.mark.parametrize("xshape,ashape", [((1, 12, 12, 16), (1, 1, 16)), ((1, 5, 5, 24), (1, 1, 24)),
                                           ((1, 3, 3, 17), (17,)), ((2, 4, 15), (2, 4, 15)), ((3, 32), ())])
def test_prelu_layouts(xshape, ashape, rng):
    x = rng.standard_normal(xshape).astype(F32) * 3
    x.reshape(-1)[:2] = [0.0, -0.0]
    alpha = rng.uniform(-0.5, 1.0, ashape).astype(F32)
    out = np.broadcast_shapes(xshape, ashape)
    _exact(single_op("PRELU", [(xshape, F32), alpha], [out]), [x])          # constant alpha, as in real models
    # subnormals only against TFLite's builtin kernel: LiteRT runs XNNPack with
    # denormals-are-zero (a negative subnormal x passes through unscaled there)
    x.reshape(-1)[2:4] = [-1e-40, 1e-40]
    _exact(single_op("PRELU", [(xshape, F32), (ashape, F32)], [out]), [x, alpha], resolver="builtin")


def _qmodel(op, s1, s2, dt, q1, q2, qo, act):
    b = ModelBuilder()
    i1 = b.input(list(s1), dt, scale=q1[0], zero_point=q1[1])
    i2 = b.input(list(s2), dt, scale=q2[0], zero_point=q2[1])
    o = b.tensor(list(np.broadcast_shapes(s1, s2)), dt, scale=qo[0], zero_point=qo[1])
    b.op(op, [i1, i2], [o], {"fused_activation_function": act})
    return b.build(outputs=[o])


@pytest.mark.parametrize("k", range(len(LAYOUTS)))
@pytest.mark.parametrize("dt", [np.int8, np.uint8])
def test_quantized_layouts(dt, k, rng):
    op = ["ADD", "MUL", "SUB"][k % 3]
    info = np.iinfo(dt)
    ends = [info.min, info.max, (info.min + info.max + 1) // 2]
    s1, s2 = LAYOUTS[k]
    q1 = (float(rng.uniform(0.01, 0.2)), ends[k % 3])
    q2 = (float(rng.uniform(0.01, 0.2)), ends[(k + 1) % 3])
    qo = (float(rng.uniform(0.02, 0.3)), ends[(k + 2) % 3])
    m = _qmodel(op, s1, s2, dt, q1, q2, qo, k % 4)
    a = rng.integers(info.min, info.max + 1, s1).astype(dt)
    b = rng.integers(info.min, info.max + 1, s2).astype(dt)
    b.reshape(-1)[:1] = info.max
    a.reshape(-1)[:1] = info.min
    _exact(m, [a, b], numerics="xnnpack")
    _exact(m, [a, b], resolver="builtin", numerics="tflite")
