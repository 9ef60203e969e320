"""Dynamic-range (hybrid) ops vs LiteRT: float32 input, constant int8
per-channel symmetric weights, float32 output.

numerics="xnnpack" (default) vs LiteRT's default resolver (XNNPack qd8);
numerics="tflite" vs the builtin resolver (TFLite's hybrid kernels).

Tolerance: the int32 accumulators are exact on both sides once the
activations quantize identically; the float epilogue (a few float32 ops) can
differ by an ulp or two (fma vs separate mul/add), and a different rounding
of a quantized activation right at a .5 tie moves one term by |w|*s.  So FC
and BMM must agree to 1e-4 * max|ref| (the brief's target); conv within
1e-4 * max|ref| as well (measured max rel diff is reported by the asserts).
Each test runs with both ISA paths (tests/kernels/test_kernels_qgemm.py runs
the generic path in a subprocess; here the host path is used).
"""
import numpy as np
import pytest
from tflite_build import ModelBuilder, run_litert, run_ours

from numba_infer.errors import ModelValidationError, UnsupportedError


def qweights(rng, shape, axis=0, per_channel=True):
    """Random float weights -> symmetric int8 in [-127, 127] + scales (as the converter)."""
    wf = rng.standard_normal(shape).astype(np.float32)
    red = tuple(i for i in range(len(shape)) if i != axis)
    amax = np.abs(wf).max(axis=red) if per_channel else np.abs(wf).max(keepdims=True).reshape(1)
    scale = (amax / 127).astype(np.float32)
    bshape = [1] * len(shape)
    bshape[axis] = -1
    q = np.clip(np.round(wf / scale.reshape(bshape if per_channel else [1] * len(shape))), -127, 127).astype(np.int8)
    return q, scale


def hybrid_model(op, x_shape, w, scale, axis, out_shape, bias=None, options=None, extra_first=None):
    b = ModelBuilder()
    ins = []
    xi = b.input(x_shape, np.float32, name="x")
    wi = b.const(w, name="w", scale=scale, zero_point=np.zeros(scale.size, np.int64), quantized_dimension=axis)
    ins = [xi, wi]
    if bias is not None:
        ins.append(b.const(bias, name="b"))
    out = b.tensor(out_shape, np.float32, name="y")
    b.op(op, ins, [out], options)
    return b.build(outputs=[out])


def compare(model, feeds, numerics, tol=1e-4):
    ref = run_litert(model, feeds, "default" if numerics == "xnnpack" else "builtin")[0]
    got = run_ours(model, feeds, numerics=numerics)[0]
    assert got.shape == ref.shape
    err = np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-30)
    assert err <= tol, f"max|diff|/max|ref| = {err:.3g}"
    return err


NUMERICS = ["xnnpack", "tflite"]


@pytest.mark.parametrize("numerics", NUMERICS)
@pytest.mark.parametrize("m,k,n", [(1, 784, 100), (1, 3, 1), (1, 1024, 10), (1, 37, 32), (7, 33, 65), (20, 64, 32),
                                   (3, 1, 130), (13, 300, 200)])
@pytest.mark.parametrize("act", [0, 1, 3])
def test_fc_hybrid(rng, numerics, m, k, n, act):
    w, s = qweights(rng, (n, k))
    bias = rng.standard_normal(n).astype(np.float32)
    model = hybrid_model("FULLY_CONNECTED", (m, k), w, s, 0, (m, n), bias, {"fused_activation_function": act})
    compare(model, [rng.standard_normal((m, k)).astype(np.float32)], numerics)


@pytest.mark.parametrize("numerics", NUMERICS)
@pytest.mark.parametrize("asym", [False, True])
@pytest.mark.parametrize("per_channel", [False, True])
def test_fc_hybrid_options(rng, numerics, asym, per_channel):
    m, k, n = 5, 40, 24
    w, s = qweights(rng, (n, k), per_channel=per_channel)
    x = rng.standard_normal((m, k)).astype(np.float32)
    x[1] = 0                                    # an all-zero row
    x[2] = np.abs(x[2])                         # only positive
    x[3] = -np.abs(x[3])                        # only negative
    model = hybrid_model("FULLY_CONNECTED", (m, k), w, s, 0, (m, n), None,
                         {"asymmetric_quantize_inputs": asym, "keep_num_dims": False})
    compare(model, [x], numerics)


@pytest.mark.parametrize("numerics", NUMERICS)
def test_fc_hybrid_all_zero_input(rng, numerics):
    w, s = qweights(rng, (9, 16))
    bias = rng.standard_normal(9).astype(np.float32)
    model = hybrid_model("FULLY_CONNECTED", (2, 16), w, s, 0, (2, 9), bias)
    compare(model, [np.zeros((2, 16), np.float32)], numerics)


@pytest.mark.parametrize("numerics", NUMERICS)
@pytest.mark.parametrize("xs,ws,adj_y", [((3, 4), (4, 5), False), ((2, 6, 8), (8, 70), False),
                                         ((2, 6, 8), (2, 8, 33), False), ((1, 7, 20), (5, 20), True)])
def test_bmm_hybrid(rng, numerics, xs, ws, adj_y):
    axis = len(ws) - 2 if adj_y else len(ws) - 1
    w, s = qweights(rng, ws, axis=axis)
    n = ws[-2] if adj_y else ws[-1]
    out = tuple(np.broadcast_shapes(xs[:-2], ws[:-2])) + (xs[-2], n)
    model = hybrid_model("BATCH_MATMUL", xs, w, s, axis, out, None, {"adj_y": adj_y})
    try:
        ref = run_litert(model, [rng.standard_normal(xs).astype(np.float32)],
                         "default" if numerics == "xnnpack" else "builtin")
    except Exception as e:          # noqa: BLE001 - LiteRT may refuse a variant
        pytest.skip(f"LiteRT refuses this variant: {e}")
    del ref
    compare(model, [rng.standard_normal(xs).astype(np.float32)], numerics)


CONV = [  # x shape, (cout, kh, kw), stride, dilation, padding
    ((1, 8, 8, 3), (16, 3, 3), 1, 1, "SAME"),
    ((2, 9, 7, 5), (7, 3, 3), 2, 1, "SAME"),
    ((1, 10, 10, 8), (70, 1, 1), 1, 1, "VALID"),
    ((1, 11, 9, 4), (33, 3, 2), 1, 2, "VALID"),
    ((1, 12, 12, 16), (24, 5, 5), 2, 1, "SAME"),
]


@pytest.mark.parametrize("numerics", NUMERICS)
@pytest.mark.parametrize("xs,wsh,stride,dil,pad", CONV)
@pytest.mark.parametrize("per_channel", [True, False])
def test_conv_hybrid(rng, numerics, xs, wsh, stride, dil, pad, per_channel):
    cout, kh, kw = wsh
    w, s = qweights(rng, (cout, kh, kw, xs[3]), per_channel=per_channel)
    bias = rng.standard_normal(cout).astype(np.float32)
    eh, ew = (kh - 1) * dil + 1, (kw - 1) * dil + 1
    if pad == "SAME":
        oh, ow = -(-xs[1] // stride), -(-xs[2] // stride)
    else:
        oh, ow = (xs[1] - eh) // stride + 1, (xs[2] - ew) // stride + 1
    model = hybrid_model("CONV_2D", xs, w, s, 0, (xs[0], oh, ow, cout), bias,
                         {"padding": 0 if pad == "SAME" else 1, "stride_h": stride, "stride_w": stride,
                          "dilation_h_factor": dil, "dilation_w_factor": dil, "fused_activation_function": 1})
    compare(model, [rng.standard_normal(xs).astype(np.float32)], numerics)


def test_fc_int8_weights_without_scale():
    b = ModelBuilder()
    xi = b.input((3, 5), np.float32)
    wi = b.const(np.zeros((4, 5), np.int8))
    out = b.tensor((3, 4), np.float32)
    b.op("FULLY_CONNECTED", [xi, wi], [out])
    with pytest.raises(ModelValidationError):
        run_ours(b.build(outputs=[out]), [np.zeros((3, 5), np.float32)])


def test_fc_int8_weights_nonzero_zero_point(rng):
    w = np.ones((4, 5), np.int8)
    b = ModelBuilder()
    xi = b.input((3, 5), np.float32)
    wi = b.const(w, scale=np.float32(0.1), zero_point=np.int64(3))
    out = b.tensor((3, 4), np.float32)
    b.op("FULLY_CONNECTED", [xi, wi], [out])
    with pytest.raises(UnsupportedError):
        run_ours(b.build(outputs=[out]), [np.zeros((3, 5), np.float32)])


DW = [  # x shape, kh, kw, dm, stride, dilation, padding
    ((1, 8, 8, 16), 3, 3, 1, 1, 1, "SAME"),
    ((2, 9, 7, 5), 3, 3, 1, 2, 1, "SAME"),
    ((1, 10, 10, 4), 3, 3, 2, 1, 2, "VALID"),
    ((1, 7, 7, 32), 5, 5, 1, 2, 1, "SAME"),
]


@pytest.mark.parametrize("numerics", NUMERICS)
@pytest.mark.parametrize("xs,kh,kw,dm,stride,dil,pad", DW)
def test_depthwise_hybrid(rng, numerics, xs, kh, kw, dm, stride, dil, pad):
    # LiteRT's default resolver does not delegate hybrid depthwise to XNNPack:
    # both numerics settings match TFLite's builtin hybrid kernel.
    cout = xs[3] * dm
    w, s = qweights(rng, (1, kh, kw, cout), axis=3)
    bias = rng.standard_normal(cout).astype(np.float32)
    eh, ew = (kh - 1) * dil + 1, (kw - 1) * dil + 1
    if pad == "SAME":
        oh, ow = -(-xs[1] // stride), -(-xs[2] // stride)
    else:
        oh, ow = (xs[1] - eh) // stride + 1, (xs[2] - ew) // stride + 1
    model = hybrid_model("DEPTHWISE_CONV_2D", xs, w, s, 3, (xs[0], oh, ow, cout), bias,
                         {"padding": 0 if pad == "SAME" else 1, "stride_h": stride, "stride_w": stride,
                          "depth_multiplier": dm, "dilation_h_factor": dil, "dilation_w_factor": dil,
                          "fused_activation_function": 3})
    x = rng.standard_normal(xs).astype(np.float32)
    ref = run_litert(model, [x], "default")[0]
    got = run_ours(model, [x], numerics=numerics)[0]
    err = np.abs(got - ref).max() / np.abs(ref).max()
    assert err <= 1e-4, f"max|diff|/max|ref| = {err:.3g}"


@pytest.mark.parametrize("numerics", NUMERICS)
@pytest.mark.parametrize("op,xs,stride", [
    ("DEPTHWISE_CONV_2D", (1, 28, 28, 144), 2),     # mobilenet_v2_dr block_3 depthwise
    ("DEPTHWISE_CONV_2D", (1, 28, 28, 144), 1),
    ("CONV_2D", (1, 56, 56, 24), 1),                 # 1x1 expand conv (K = 24)
    ("CONV_2D", (1, 28, 28, 16), 2),                 # 3x3 stride 2
])
def test_hybrid_relu6_inputs_bit_exact(rng, numerics, op, xs, stride):
    """Regression (mobilenet_v2_dr): relu6 outputs in [0, 6] feed hybrid convs.
    TFLite's x86 quantizer (NeonAsymmetricQuantizeFloats through NEON_2_SSE)
    subtracts the range in float32, adds the zero point after rounding and
    rounds with trunc(v +- 0.5f); its epilogues are unfused ((acc*ws)*s + b for
    depthwise, acc*(ws*s) + b for conv).  Any of these wrong moved single
    quantized values and gave 1e-3..1e-2 relative errors; with all of them
    right the int32 accumulators are exact and the float epilogue is the same
    sequence of float32 operations, so the outputs must be bit-identical
    (depthwise: both numerics run TFLite's kernel; conv under "xnnpack" vs
    XNNPack's qd8 path, also bit-exact)."""
    cin = xs[3]
    if op == "DEPTHWISE_CONV_2D":
        k, cout = 3, cin
        w, s = qweights(rng, (1, k, k, cout), axis=3)
        opts = {"padding": 0, "stride_h": stride, "stride_w": stride, "depth_multiplier": 1,
                "fused_activation_function": 3}
        axis = 3
    else:
        k = 1 if stride == 1 else 3
        cout = 96
        w, s = qweights(rng, (cout, k, k, cin), axis=0)
        opts = {"padding": 0, "stride_h": stride, "stride_w": stride, "fused_activation_function": 3}
        axis = 0
    oh, ow = -(-xs[1] // stride), -(-xs[2] // stride)
    bias = rng.standard_normal(cout).astype(np.float32)
    model = hybrid_model(op, xs, w, s, axis, (1, oh, ow, cout), bias, opts)
    x = np.clip(rng.standard_normal(xs).astype(np.float32) * 3, 0, 6)
    ref = run_litert(model, [x], "default" if numerics == "xnnpack" else "builtin")[0]
    got = run_ours(model, [x], numerics=numerics)[0]
    np.testing.assert_array_equal(got, ref)
