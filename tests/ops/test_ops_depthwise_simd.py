"""DEPTHWISE_CONV_2D on the explicit-SIMD kernels, odd shapes, vs LiteRT.

- float32 vs XNNPack: bit-identical (same accumulation order: bias, then one
  FMA per tap, column-major), channel counts around the 16-lane vector,
  3x3 / 5x5 / other filters, strides, dilation, depth multiplier > 1, batch 2.
- QS8 / QU8 vs LiteRT (default resolver for numerics "xnnpack", builtin for
  "tflite"): bit-exact (integer accumulation, the requantization of
  tests/ops/test_ops_qs8_gemm.py).
"""
import numpy as np
import pytest
from numpy.testing import assert_array_equal
from tflite_build import run_litert, run_ours, single_op
from test_ops_qs8_gemm import check, conv_model

F32_CASES = [
    # (N, H, W, C_in, dm, K, stride, dilation, padding 0 SAME / 1 VALID, activation)
    (1, 13, 11, 15, 1, 3, 1, 1, 0, 0),
    (2, 9, 10, 17, 1, 3, 2, 1, 0, 3),
    (1, 12, 12, 33, 1, 5, 1, 1, 0, 1),
    (1, 11, 13, 16, 1, 5, 2, 1, 1, 0),
    (1, 14, 14, 1, 1, 3, 1, 2, 0, 0),
    (1, 9, 9, 5, 3, 3, 1, 1, 0, 0),        # depth multiplier 3
    (1, 8, 8, 8, 2, 5, 2, 1, 0, 3),
    (1, 10, 10, 24, 1, 7, 1, 1, 0, 0),     # any-size path
]


@pytest.mark.parametrize("case", F32_CASES, ids=str)
def test_depthwise_f32_bit_identical_to_xnnpack(case):
    n, h, w, cin, dm, k, s, d, pad, act = case
    c = cin * dm
    rng = np.random.default_rng(hash(case) % 2 ** 32)
    wt = (rng.standard_normal((1, k, k, c)) * 0.3).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32)
    eff = (k - 1) * d + 1
    oh, ow = ((-(-h // s), -(-w // s)) if pad == 0 else ((h - eff) // s + 1, (w - eff) // s + 1))
    model = single_op("DEPTHWISE_CONV_2D", [((n, h, w, cin), np.float32), wt, b], [(n, oh, ow, c)],
                      {"padding": pad, "stride_w": s, "stride_h": s, "depth_multiplier": dm,
                       "dilation_w_factor": d, "dilation_h_factor": d, "fused_activation_function": act},
                      version=2)
    x = rng.standard_normal((n, h, w, cin)).astype(np.float32)
    assert_array_equal(run_ours(model, [x])[0], run_litert(model, [x])[0])


Q8_CASES = [
    # batch, h, w, cin, k, stride, dilation, pad, act, dm
    (1, 11, 9, 17, 3, 1, 1, 0, 0, 1),
    (2, 9, 10, 33, 3, 2, 1, 0, 3, 1),
    (1, 12, 11, 15, 5, 1, 1, 0, 1, 1),
    (1, 13, 13, 1, 5, 2, 1, 1, 0, 1),
    (1, 12, 12, 16, 3, 1, 2, 0, 0, 1),
    (1, 8, 9, 5, 3, 1, 1, 0, 0, 3),
]


@pytest.mark.parametrize("numerics", ["tflite", "xnnpack"])
@pytest.mark.parametrize("qu8", [False, True], ids=["qs8", "qu8"])
@pytest.mark.parametrize("case", Q8_CASES, ids=str)
def test_depthwise_q8_odd_shapes(numerics, qu8, case):
    batch, h, w, cin, k, s, d, pad, act, dm = case
    rng = np.random.default_rng(hash(case) % 2 ** 32 + qu8)
    m, feeds = conv_model(rng, "DEPTHWISE_CONV_2D", batch, h, w, cin, cin * dm, k, k, s, d, pad, act, qu8=qu8, dm=dm)
    check(m, feeds, numerics, f"dw {case}")
