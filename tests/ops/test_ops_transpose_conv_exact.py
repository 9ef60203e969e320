"""Float TRANSPOSE_CONV / Convolution2DTransposeBias bit-identical to LiteRT's
XNNPack deconvolution: kernels/deconv.py accumulates in XNNPack's order (bias,
taps in (ky, kx) order, input channels in order, one FMA each).  The shapes of
tests/ops/test_ops_transpose_conv.py plus odd channel counts and both kernels
(filter <= stride with few output channels: the pixel-vectorized kernel).
LiteRT's delegate leaves a few configurations to TFLite's builtin kernel
(stride 1x3 with a 3x2 filter): those stay in test_ops_transpose_conv.py with
a tolerance.
"""
import numpy as np
import pytest
from numpy.testing import assert_array_equal
from tflite_build import run_litert, run_ours
from test_ops_transpose_conv import MPCASES, TCASES, _mp, _tconv

EXTRA_T = [
    ((1, 5, 6, 17), 33, (3, 3), (2, 2), 0, (10, 12)),
    ((2, 4, 5, 15), 16, (4, 4), (2, 2), 1, (10, 12)),
    ((1, 9, 8, 16), 1, (2, 2), (2, 2), 0, (18, 16)),
    ((1, 6, 7, 33), 3, (2, 2), (2, 2), 1, (12, 14)),
    ((1, 5, 5, 1), 2, (1, 1), (2, 2), 1, (9, 9)),
]
EXTRA_MP = [
    ((1, 16, 16, 16), 1, (2, 2), (2, 2), 1, (32, 32)),     # selfie_segmentation's head, smaller
    ((1, 7, 9, 17), 2, (2, 2), (2, 2), 2, (14, 18)),
    ((1, 5, 6, 24), 17, (3, 3), (2, 2), 1, (10, 12)),
]


@pytest.mark.parametrize("xs,cout,k,s,pad,out_hw", [c for c in TCASES if c[3] != (1, 3)] + EXTRA_T, ids=str)
@pytest.mark.parametrize("act", [None, 3])
def test_transpose_conv_bit_identical(xs, cout, k, s, pad, out_hw, act):
    m = _tconv(xs, cout, k, s, pad, out_hw, act=act, version=4 if act else 3)
    x = np.random.default_rng(3).standard_normal(xs).astype(np.float32)
    assert_array_equal(run_ours(m, [x])[0], run_litert(m, [x])[0])


@pytest.mark.parametrize("xs,cout,k,s,pad,out_hw", MPCASES + EXTRA_MP, ids=str)
def test_mediapipe_deconv_bit_identical(xs, cout, k, s, pad, out_hw):
    m = _mp(xs, cout, k, s, pad, out_hw)
    x = np.random.default_rng(4).standard_normal(xs).astype(np.float32)
    assert_array_equal(run_ours(m, [x])[0], run_litert(m, [x])[0])
