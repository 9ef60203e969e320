"""TRANSPOSE_CONV on the pixel-row kernel (kernels/deconv.py deconv_f32_f32_f32_rows_minmax:
few output channels, long rows) and with 8-bit integer sums taken in float32
(deconv_qdu8_qc8w_f32_exact_minmax, deconv_q8_q8_q8_exact), vs LiteRT, bit for bit.

float32: the rows kernel runs XNNPack's accumulation order (as test_ops_transpose_conv_exact.py).
Hybrid (numerics "xnnpack") and int8: the integer sums are exact (the lowering checks the
2**24 bound), so outputs equal XNNPack's qd8 / qs8 deconvolution and, for int8 with
numerics "tflite", TFLite's builtin kernel.  Shapes: opzoo's 1x15x14x32 -> 1x30x28x8 and
odd ones that select the rows kernel (ops/transpose_conv.py _use_rows)."""
import numpy as np
import pytest
from numpy.testing import assert_array_equal
from test_ops_qs8_gemm import check, tconv_model
from test_ops_transpose_conv import _tconv, _tconv_hybrid
from tflite_build import run_litert, run_ours

from numba_infer.ops.transpose_conv import _use_rows

CASES = [
    # xs, cout, k, s, pad, out_hw
    ((1, 15, 14, 32), 8, (3, 3), (2, 2), 0, (30, 28)),
    ((1, 15, 14, 32), 8, (3, 3), (2, 2), 1, (31, 29)),
    ((2, 4, 19, 5), 5, (3, 4), (2, 2), 0, (8, 38)),
    ((1, 3, 21, 7), 4, (2, 3), (1, 1), 1, (4, 23)),
]


def test_cases_take_the_rows_kernel():
    assert all(_use_rows(c[5][1], c[3][1], c[1]) for c in CASES)


@pytest.mark.parametrize("xs,cout,k,s,pad,out_hw", CASES, ids=str)
@pytest.mark.parametrize("act", [None, 3])
def test_f32_rows_bit_identical(xs, cout, k, s, pad, out_hw, act):
    m = _tconv(xs, cout, k, s, pad, out_hw, act=act, version=4 if act else 3)
    x = np.random.default_rng(5).standard_normal(xs).astype(np.float32)
    assert_array_equal(run_ours(m, [x])[0], run_litert(m, [x])[0])


@pytest.mark.parametrize("xs,cout,k,s,pad,out_hw", CASES, ids=str)
def test_hybrid_exact_sums(xs, cout, k, s, pad, out_hw):
    model, rng = _tconv_hybrid(xs, cout, k, s, pad, out_hw, 0, True, seed=xs[3])
    x = rng.standard_normal(xs).astype(np.float32)
    x[0, 0, 0, 0] = 4.0
    assert_array_equal(run_ours(model, [x], numerics="xnnpack")[0], run_litert(model, [x], "default")[0])


@pytest.mark.parametrize("numerics", ["tflite", "xnnpack"])
@pytest.mark.parametrize("case", [(15, 14, 32, 8, 3, 3, 2, 0), (4, 19, 5, 5, 3, 3, 2, 1), (3, 21, 7, 4, 2, 2, 1, 0)])
@pytest.mark.parametrize("qu8", [False, True])
def test_q8_exact_sums(numerics, case, qu8):
    rng = np.random.default_rng(sum(case) + qu8)
    m, feeds = tconv_model(rng, *case, qu8=qu8)
    check(m, feeds, numerics, f"tconv {case}")
