"""FULLY_CONNECTED and BATCH_MATMUL (float32) vs LiteRT.

Tolerance: both sides sum K fp32 products in different orders (XNNPack's
kernels vs our FMA chains), so the error is ~sqrt(K)*eps relative to the
magnitude of the terms; with N(0,1) data the outputs have that magnitude
(~sqrt(K)), hence atol = 8*eps*sqrt(K)*max|ref| and rtol = 1e-5.
"""
import numpy as np
import pytest
from tflite_build import run_litert, run_ours, single_op

from numba_infer.errors import ModelValidationError

EPS = np.finfo(np.float32).eps


def close(got, ref, k):
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=8 * EPS * np.sqrt(k) * max(np.abs(ref).max(), 1e-3))


def compare(model, feeds, k, resolver="default"):
    ref = run_litert(model, feeds, resolver)
    got = run_ours(model, feeds)
    for g, r in zip(got, ref):
        close(g, r, k)


@pytest.mark.parametrize("m,k,n", [(1, 784, 100), (1, 3, 1), (7, 33, 65), (20, 64, 32), (3, 1, 130)])
@pytest.mark.parametrize("act", [0, 1, 2, 3])
def test_fc(rng, m, k, n, act):
    w = rng.standard_normal((n, k)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    model = single_op("FULLY_CONNECTED", [((m, k), np.float32), w, b], [(m, n)],
                      {"fused_activation_function": act})
    compare(model, [rng.standard_normal((m, k)).astype(np.float32)], k)


def test_fc_no_bias_reshaped_input(rng):
    # input [2, 3, 4, 5] flattened to [-1, 20]: [6, 20]
    w = rng.standard_normal((9, 20)).astype(np.float32)
    model = single_op("FULLY_CONNECTED", [((2, 3, 4, 5), np.float32), w, None], [(6, 9)])
    compare(model, [rng.standard_normal((2, 3, 4, 5)).astype(np.float32)], 20)


def test_fc_keep_num_dims(rng):
    w = rng.standard_normal((7, 5)).astype(np.float32)
    b = rng.standard_normal(7).astype(np.float32)
    model = single_op("FULLY_CONNECTED", [((2, 3, 5), np.float32), w, b], [(2, 3, 7)], {"keep_num_dims": True})
    compare(model, [rng.standard_normal((2, 3, 5)).astype(np.float32)], 5)


@pytest.mark.parametrize("with_bias", [False, True])
def test_fc_runtime_weights(rng, with_bias):
    m, k, n = 4, 10, 70
    ins = [((m, k), np.float32), ((n, k), np.float32)] + ([((n,), np.float32)] if with_bias else [])
    model = single_op("FULLY_CONNECTED", ins, [(m, n)], {"fused_activation_function": 1})
    feeds = [rng.standard_normal(s).astype(np.float32) for s in [(m, k), (n, k), (n,)][:len(ins)]]
    compare(model, feeds, k, resolver="builtin")


def test_fc_k_mismatch():
    w = np.zeros((4, 6), np.float32)
    model = single_op("FULLY_CONNECTED", [((3, 5), np.float32), w], [(3, 4)])
    with pytest.raises(ModelValidationError):
        run_ours(model, [np.zeros((3, 5), np.float32)])


BMM = [  # x shape, y shape, adj_x, adj_y
    ((3, 4), (4, 5), False, False),
    ((2, 6, 8), (2, 8, 70), False, False),
    ((2, 8, 6), (2, 8, 5), True, False),
    ((2, 6, 8), (2, 5, 8), False, True),
    ((1, 8, 6), (3, 5, 8), True, True),
    ((2, 1, 1, 7), (3, 7, 33), False, False),      # broadcast batch [2,1] x [3] -> [2,3]
    ((4, 20, 16), (16, 40), False, False),          # rank-2 rhs broadcast
    # n a multiple of 16: runtime rhs read in place (batch_matmul_f32_f32_f32_nat)
    ((2, 6, 8), (2, 8, 32), False, False),
    ((2, 8, 7), (2, 8, 48), True, False),
    ((2, 1, 5, 9), (3, 9, 64), False, False),
    ((1, 3, 520), (1, 520, 16), False, False),     # K > KC (two K blocks)
]


@pytest.mark.parametrize("xs,ys,adj_x,adj_y", BMM)
@pytest.mark.parametrize("const_rhs", [False, True])
def test_batch_matmul(rng, xs, ys, adj_x, adj_y, const_rhs):
    x = rng.standard_normal(xs).astype(np.float32)
    y = rng.standard_normal(ys).astype(np.float32)
    m = xs[-1] if adj_x else xs[-2]
    n = ys[-2] if adj_y else ys[-1]
    k = xs[-2] if adj_x else xs[-1]
    out = np.broadcast_shapes(xs[:-2], ys[:-2]) + (m, n)
    ins = [(xs, np.float32), y if const_rhs else (ys, np.float32)]
    model = single_op("BATCH_MATMUL", ins, [out], {"adj_x": adj_x, "adj_y": adj_y})
    compare(model, [x] if const_rhs else [x, y], k)


def test_batch_matmul_k_mismatch():
    model = single_op("BATCH_MATMUL", [((2, 3, 4), np.float32), ((2, 5, 6), np.float32)], [(2, 3, 6)])
    with pytest.raises(ModelValidationError):
        run_ours(model, [np.zeros((2, 3, 4), np.float32), np.zeros((2, 5, 6), np.float32)])


def test_batch_matmul_bad_broadcast():
    model = single_op("BATCH_MATMUL", [((2, 3, 4), np.float32), ((3, 4, 6), np.float32)], [(2, 3, 6)])
    with pytest.raises(ModelValidationError):
        run_ours(model, [np.zeros((2, 3, 4), np.float32), np.zeros((3, 4, 6), np.float32)])
