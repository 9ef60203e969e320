"""CONV_2D (float32) vs LiteRT.

Tolerance: fp32 sums of K = kh*kw*cin/groups products in different orders;
error ~sqrt(K)*eps relative to the term magnitudes, which with N(0,1) data
is the output magnitude: atol = 8*eps*sqrt(K)*max|ref|, rtol = 1e-5.
"""
import numpy as np
import pytest
from tflite_build import run_litert, run_ours, single_op

from numba_infer.errors import ModelValidationError, UnsupportedError

EPS = np.finfo(np.float32).eps


def out_size(n, k, s, d, same):
    eff = (k - 1) * d + 1
    return -(-n // s) if same else (n - eff) // s + 1


CASES = [  # (b, h, w, cin), (cout, kh, kw), stride, dilation, same
    ((1, 8, 8, 16), (24, 1, 1), 1, 1, True),       # 1x1 direct GEMM
    ((2, 7, 5, 3), (8, 1, 1), 2, 1, False),        # 1x1 stride 2 (im2col)
    ((1, 9, 11, 3), (16, 3, 3), 2, 1, True),       # mobilenet stem-like, odd sizes
    ((1, 10, 9, 8), (33, 3, 3), 1, 1, True),
    ((2, 9, 9, 5), (7, 3, 3), 1, 1, False),
    ((1, 13, 12, 4), (10, 5, 5), 2, 1, True),
    ((1, 12, 12, 6), (70, 3, 3), 1, 2, True),      # dilation 2
    ((1, 11, 12, 6), (12, 3, 2), (2, 1), (1, 2), False),
]


@pytest.mark.parametrize("xs,fs,stride,dil,same", CASES)
def test_conv2d(rng, xs, fs, stride, dil, same):
    sh, sw = stride if isinstance(stride, tuple) else (stride, stride)
    dh, dw = dil if isinstance(dil, tuple) else (dil, dil)
    cout, kh, kw = fs
    f = rng.standard_normal((cout, kh, kw, xs[3])).astype(np.float32)
    b = rng.standard_normal(cout).astype(np.float32)
    oh, ow = out_size(xs[1], kh, sh, dh, same), out_size(xs[2], kw, sw, dw, same)
    for act in (0, 1, 3):
        model = single_op("CONV_2D", [(xs, np.float32), f, b], [(xs[0], oh, ow, cout)],
                          {"padding": 0 if same else 1, "stride_h": sh, "stride_w": sw, "dilation_h_factor": dh,
                           "dilation_w_factor": dw, "fused_activation_function": act})
        x = rng.standard_normal(xs).astype(np.float32)
        ref, = run_litert(model, [x])
        got, = run_ours(model, [x])
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=8 * EPS * np.sqrt(kh * kw * xs[3]) * np.abs(ref).max())


@pytest.mark.parametrize("groups,bias", [(2, True), (1, False)])
def test_conv2d_groups_and_no_bias(rng, groups, bias):
    # grouped: filter depth 4 on an 8-channel input; no bias: 2-input op
    f = rng.standard_normal((6, 3, 3, 8 // groups)).astype(np.float32)
    ins = [((1, 7, 7, 8), np.float32), f] + ([rng.standard_normal(6).astype(np.float32)] if bias else [])
    model = single_op("CONV_2D", ins, [(1, 7, 7, 6)], {"padding": 0, "stride_h": 1, "stride_w": 1})
    x = rng.standard_normal((1, 7, 7, 8)).astype(np.float32)
    if not bias:   # LiteRT's CONV_2D requires a bias (conv.cc has_bias): reference with zeros
        ins.append(np.zeros(6, np.float32))
    ref, = run_litert(single_op("CONV_2D", ins, [(1, 7, 7, 6)], {"padding": 0, "stride_h": 1, "stride_w": 1}), [x])
    got, = run_ours(model, [x])
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=8 * EPS * np.sqrt(72) * np.abs(ref).max())


def _bad(rng, opts, f=None, runtime_filter=False):
    f = np.zeros((4, 3, 3, 2), np.float32) if f is None else f
    ins = [((1, 5, 5, 2), np.float32), (f.shape, np.float32) if runtime_filter else f]
    return single_op("CONV_2D", ins, [(1, 5, 5, 4)], opts)


def test_conv2d_stride0_rejected(rng):
    with pytest.raises(ModelValidationError):
        run_ours(_bad(rng, {"padding": 0, "stride_h": 0, "stride_w": 1}), [np.zeros((1, 5, 5, 2), np.float32)])


def test_conv2d_runtime_filter_unsupported(rng):
    model = _bad(rng, {"padding": 0, "stride_h": 1, "stride_w": 1}, runtime_filter=True)
    with pytest.raises(UnsupportedError):
        run_ours(model, [np.zeros((1, 5, 5, 2), np.float32), np.zeros((4, 3, 3, 2), np.float32)])


def test_conv2d_bad_depth(rng):
    model = _bad(rng, {"padding": 0, "stride_h": 1, "stride_w": 1}, f=np.zeros((4, 3, 3, 3), np.float32))
    with pytest.raises(ModelValidationError):
        run_ours(model, [np.zeros((1, 5, 5, 2), np.float32)])


@pytest.mark.parametrize("h,cin,cout,k,s", [(224, 3, 32, 3, 2), (28, 24, 144, 1, 1), (14, 64, 64, 3, 1), (9, 5, 7, 5, 2),
                                             (60, 8, 8, 3, 1), (17, 3, 4, 3, 2), (7, 9, 1, 1, 1), (65, 3, 24, 5, 2),
                                             (33, 1, 16, 3, 1), (20, 4, 40, 3, 1),
                                             # no im2col (kernels/conv_igemm.py): 28x16, 14x32, 7x32 tiles
                                             (28, 16, 16, 3, 1), (56, 12, 32, 3, 1), (42, 8, 33, 3, 2)])
def test_conv_bit_identical_to_xnnpack(h, cin, cout, k, s):
    from numba_infer.ops.conv import igemm_tile
    if (h, cin, cout) in ((28, 16, 16), (56, 12, 32), (42, 8, 33)):
        assert igemm_tile(-(-h // s), -(-h // s), cout) is not None        # the path under test
    # Our GEMM starts each accumulator at the bias and does one FMA per k in (ky, kx, cin)
    # order, as XNNPACK's f32 GEMM/IGEMM does: exact equality, not a tolerance.
    rng = np.random.default_rng(h + cin + cout + k + s)
    w = (rng.standard_normal((cout, k, k, cin)) * 0.2).astype(np.float32)
    b = rng.standard_normal(cout).astype(np.float32)
    out = (h + s - 1) // s
    model = single_op("CONV_2D", [((1, h, h, cin), np.float32), w, b], [(1, out, out, cout)],
                      {"padding": 0, "stride_w": s, "stride_h": s, "fused_activation_function": 3})
    x = rng.standard_normal((1, h, h, cin)).astype(np.float32)
    np.testing.assert_array_equal(run_ours(model, [x])[0], run_litert(model, [x])[0])
