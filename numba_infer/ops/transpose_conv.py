"""TRANSPOSE_CONV and MediaPipe's custom Convolution2DTransposeBias (float32).

Both scatter input * weights (OHWI) into the output and crop by pad_before,
computed from the *output* size as tflite/kernels/transpose_conv.cc does
(padding.h ComputePaddingHeightWidth with the output as the conv "input").
Weights are repacked at prepare to [KH, KW, Cin, Cout].

float32 runs in XNNPack's order (kernels/deconv.py: bias, then the taps in
(ky, kx) order, input channels in order, one FMA each), bit-identical to
LiteRT's XNNPack deconvolution.  A filter no larger than the stride with few
output channels (e.g. the 2x2 / stride 2 single-channel head of
selfie_segmentation) runs on the pixel-vectorized kernel
(deconv_f32_f32_f32_pixel_minmax), everything else on the channel-vectorized one.

Hybrid TRANSPOSE_CONV (float32 input, constant int8 per-channel weights):
the input is quantized once per image; numerics "xnnpack" = XNNPack's qd8
deconvolution (XNNPack parameters, exact int32 accumulation, fma epilogue),
"tflite" = transpose_conv.cc EvalHybrid (AsymmetricQuantizeFloats per image,
reference HybridTransposeConv: float32 accumulation of every contribution).
See kernels/deconv.py deconv_qdu8_qc8w_f32_minmax.
"""
from __future__ import annotations

import struct

import numpy as np

from ..errors import ModelValidationError
from ..kernels.deconv import (deconv_f32_f32_f32_minmax, deconv_f32_f32_f32_pixel_minmax,
                              deconv_f32_f32_f32_rows_minmax, deconv_q8_q8_q8_exact,
                              deconv_qdu8_qc8w_f32_exact_minmax, deconv_qdu8_qc8w_f32_minmax, pixel_scratch_size,
                              rows_pack_w, rows_scratch_size)
from ..kernels.dynquant import dynquant_f32_qd8_tflite, dynquant_f32_qd8_xnn
from .common import act_range_f32, bound_kernel, chain
from .registry import Lowered, lowering
from . import qs8
from .qs8 import QDTYPES

F32_MAX = float(np.finfo(np.float32).max)
# output channels up to which a filter no larger than the stride runs pixel-vectorized
# (16 pixels per vector); above, the 16-channel vectors of the general kernel fill up
PIXEL_MAX_COUT = 8


def _cdiv(a, b):
    """C integer division (truncates toward zero), as TFLite's padding.h."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _tconv_pad(out_size, k, stride, same):
    """pad_before of a transpose conv of output size out_size (padding.h, dilation 1)."""
    if same:
        conv_out = _cdiv(out_size + stride - 1, stride)
    else:
        conv_out = _cdiv(out_size + stride - k, stride)
    total = max(0, (conv_out - 1) * stride + k - out_size)
    return total // 2, conv_out


def _weights(ctx, wi, x, allow_int8=False):
    w = ctx.input(wi)
    if not (allow_int8 and w.dtype == np.int8):
        ctx.expect_dtype(w, np.float32)
    if len(w.shape) != 4:
        ctx.fail(f"weights must be 4-D OHWI, got shape {list(w.shape)}", ModelValidationError)
    cout, kh, kw, cin = w.shape
    if min(cout, kh, kw, cin) < 1 or cin != x.shape[3]:
        ctx.fail(f"weights {list(w.shape)} do not match input channels {x.shape[3]}", ModelValidationError)
    wv = np.asarray(ctx.const(wi, "the weights"), w.dtype)
    return np.ascontiguousarray(wv.transpose(1, 2, 3, 0)).copy(), cout, kh, kw


def _bias(ctx, bi, cout):
    bt = ctx.optional(bi)
    if bt is None:
        return np.zeros(cout, np.float32)
    ctx.expect_dtype(bt, np.float32)
    if bt.size != cout:
        ctx.fail(f"bias has {bt.size} elements, expected {cout}", ModelValidationError)
    return np.asarray(ctx.const(bi, "the bias"), np.float32).reshape(cout).copy()


def _check_input(ctx, x):
    if x.dtype != np.float32:
        ctx.fail(f"input dtype {x.type_name} is not supported yet (float32 only)")
    if len(x.shape) != 4:
        ctx.fail(f"input must be 4-D NHWC, got shape {list(x.shape)}", ModelValidationError)


def _use_rows(ow, sw, cout):
    """Whether deconv_f32_f32_f32_rows_minmax (16 pixels of a row phase x 8 channels per
    step) fills its vector lanes better than deconv_f32_f32_f32_minmax (16 channels per
    vector), by the fraction of useful lanes of each (measured: 1.5-2x faster on the
    1x30x28x8 output of opzoo, slower on 16 channels or short rows)."""
    npx = -(-ow // sw)
    rows_fill = npx / (16 * -(-npx // 16)) * cout / (8 * -(-cout // 8))
    chan_fill = cout / (16 * -(-cout // 16))
    return rows_fill > 1.1 * chan_fill


def _lowered(x, xi, wp, bv, out_shape, sh, sw, pt, pl, lo, hi):
    n, oh, ow, cout = out_shape
    kh, kw, cin, _ = wp.shape
    args = tuple(np.int64(v) for v in (sh, sw, pt, pl))
    lo, hi = np.float32(lo), np.float32(hi)

    flops = 2 * x.shape[0] * x.shape[1] * x.shape[2] * cin * cout * kh * kw
    if kh <= sh and kw <= sw and cout <= PIXEL_MAX_COUT:
        def bind(ins, outs, ws):
            xa, o, scratch = ins[xi], outs[0], ws[0]
            return bound_kernel(deconv_f32_f32_f32_pixel_minmax, xa, wp, bv, *args, lo, hi, scratch, o)
        return Lowered(outputs=[(tuple(out_shape), np.float32)], bind=bind, flops=flops,
                       workspace=[((pixel_scratch_size(kh, kw, cout),), np.float32)])

    if _use_rows(ow, sw, cout):
        w8 = rows_pack_w(wp)
        b8 = np.zeros(w8.shape[3], np.float32)
        b8[:cout] = bv

        def bind(ins, outs, ws):
            xa, o, scratch = ins[xi], outs[0], ws[0]
            return bound_kernel(deconv_f32_f32_f32_rows_minmax, xa, w8, b8, *args, lo, hi, scratch, o)
        return Lowered(outputs=[(tuple(out_shape), np.float32)], bind=bind, flops=flops,
                       workspace=[((rows_scratch_size(x.shape[1], x.shape[2], cin, kw),), np.float32)])

    def bind(ins, outs, ws):
        xa, o = ins[xi], outs[0]
        return bound_kernel(deconv_f32_f32_f32_minmax, xa, wp, bv, *args, lo, hi, o)

    return Lowered(outputs=[(tuple(out_shape), np.float32)], bind=bind, flops=flops)


@lowering("TRANSPOSE_CONV", versions=(1, 5))
def transpose_conv(ctx):
    ctx.expect_inputs(3, 4)
    x = ctx.input(2)
    if x.dtype in QDTYPES:
        return _transpose_conv_q8(ctx) or qs8.transpose_conv_qs8(ctx)
    _check_input(ctx, x)
    shp_t = ctx.input(0)
    if shp_t.dtype != np.int32 or len(shp_t.shape) != 1 or shp_t.size != 4:
        ctx.fail(f"output_shape must be an int32 vector of 4 elements, got {shp_t.type_name} "
                 f"{list(shp_t.shape)}", ModelValidationError)
    out_shape = tuple(int(v) for v in np.asarray(ctx.const(0, "output_shape")).reshape(4))
    model_out = tuple(ctx.outputs[0].shape)
    if model_out and model_out != out_shape:
        ctx.fail(f"output_shape {list(out_shape)} disagrees with the output tensor's shape {list(model_out)}",
                 ModelValidationError)
    wp, cout, kh, kw = _weights(ctx, 1, x, allow_int8=True)
    bv = _bias(ctx, 3, cout)
    n, oh, ow, oc = out_shape
    if n != x.shape[0] or oc != cout or oh < 0 or ow < 0:
        ctx.fail(f"output_shape {list(out_shape)} does not match batch {x.shape[0]} / output channels {cout}",
                 ModelValidationError)
    sh, sw = int(ctx.opt("stride_h", 0)), int(ctx.opt("stride_w", 0))
    if sh < 1 or sw < 1:
        ctx.fail(f"invalid stride {sh}x{sw}", ModelValidationError)
    pad = ctx.opt("padding", 0)
    if pad not in (0, 1):
        ctx.fail(f"unknown padding code {pad}", ModelValidationError)
    pt, _ = _tconv_pad(oh, kh, sh, pad == 0)
    pl, _ = _tconv_pad(ow, kw, sw, pad == 0)
    lo, hi = act_range_f32(ctx)
    if wp.dtype == np.int8:
        return _lowered_hybrid(ctx, x, wp, bv, out_shape, sh, sw, pt, pl, lo, hi)
    return _lowered(x, 2, wp, bv, out_shape, sh, sw, pt, pl, lo, hi)


def _lowered_hybrid(ctx, x, wp, bv, out_shape, sh, sw, pt, pl, lo, hi):
    from .fully_connected import hybrid_weight_scales
    n, oh, ow, cout = out_shape
    kh, kw, cin, _ = wp.shape
    wscale, _ = hybrid_weight_scales(ctx, ctx.input(1), cout, 0)
    wscale = np.ascontiguousarray(wscale, np.float32)
    numerics = ctx.settings.numerics
    if numerics not in ("xnnpack", "tflite"):
        ctx.fail(f"unknown numerics setting {numerics!r}")
    tfl = numerics == "tflite"
    quant = dynquant_f32_qd8_tflite if tfl else dynquant_f32_qd8_xnn
    img = x.shape[1] * x.shape[2] * cin
    args = tuple(np.int64(v) for v in (sh, sw, pt, pl))
    lo, hi = np.float32(lo), np.float32(hi)

    if not tfl and _int_sums_exact(wp, 255):
        return _lowered_hybrid_f32(x, wp, wscale, bv, out_shape, args, quant, lo, hi)

    def bind(ins, outs, ws):
        x2, o = ins[2].reshape(n, img), outs[0]
        xq32, sc, zp, acc = ws
        xq = xq32.view(np.uint8)[:n * img]
        xq2, xq4 = xq.reshape(n, img), xq.reshape(x.shape)

        return chain(bound_kernel(quant, x2, 128, xq2, sc, zp),
                     bound_kernel(deconv_qdu8_qc8w_f32_minmax, xq4, sc, zp, wp, wscale, bv, *args, tfl, lo, hi, acc, o))

    flops = 2 * x.shape[0] * x.shape[1] * x.shape[2] * cin * cout * kh * kw
    return Lowered(outputs=[(tuple(out_shape), np.float32)], bind=bind, flops=flops,
                   workspace=[((-(-n * img // 4),), np.int32), ((n,), np.float32), ((n,), np.int32),
                              ((oh, ow, cout), np.int32)])


def _int_sums_exact(w, xmax):
    """Whether every partial sum of products x * w (|x| <= xmax) over one output channel's
    taps and input channels is an integer float32 holds exactly (|sum| <= 2**24)."""
    colsum = np.abs(np.asarray(w, np.int64)).reshape(-1, w.shape[-1]).sum(axis=0)
    return int(xmax) * int(colsum.max(initial=0)) <= 1 << 24


def _f32_sum_weights(w, out_w, sw):
    """(rows?, float32 weights in that kernel's layout, zero bias of their last dimension)."""
    rows = _use_rows(out_w, sw, w.shape[3])
    wf = np.ascontiguousarray(w, np.float32)
    if rows:
        wf = rows_pack_w(wf)
    return rows, wf, np.zeros(wf.shape[3], np.float32)


def _sum_workspace(x, out_shape, kw, rows):
    n, oh, ow, cout = out_shape
    h, wd, cin = x.shape[1:]
    return [((1, h, wd, cin), np.float32), ((rows_scratch_size(h, wd, cin, kw) if rows else 1,), np.float32),
            ((1, oh, ow, cout), np.float32)]


def _lowered_hybrid_f32(x, wp, wscale, bv, out_shape, args, quant, lo, hi):
    """numerics "xnnpack" hybrid TRANSPOSE_CONV with the exact integer sums taken in float32
    (kernels/deconv.py deconv_qdu8_qc8w_f32_exact_minmax)."""
    n, oh, ow, cout = out_shape
    kh, kw, cin, _ = wp.shape
    img = x.shape[1] * x.shape[2] * cin
    rows, wf, zb = _f32_sum_weights(wp, ow, int(args[1]))

    def bind(ins, outs, ws):
        x2, o = ins[2].reshape(n, img), outs[0]
        xq32, sc, zp, xf, scr, accf = ws
        xq = xq32.view(np.uint8)[:n * img]
        xq2, xq4 = xq.reshape(n, img), xq.reshape(x.shape)

        return chain(bound_kernel(quant, x2, 128, xq2, sc, zp),
                     bound_kernel(deconv_qdu8_qc8w_f32_exact_minmax, xq4, sc, zp, wf, wscale, bv, zb, *args, rows, lo,
                                  hi, xf, scr, accf, o))

    flops = 2 * x.shape[0] * x.shape[1] * x.shape[2] * cin * cout * kh * kw
    return Lowered(outputs=[(tuple(out_shape), np.float32)], bind=bind, flops=flops,
                   workspace=[((-(-n * img // 4),), np.int32), ((n,), np.float32), ((n,), np.int32)]
                   + _sum_workspace(x, out_shape, kw, rows))


def _transpose_conv_q8(ctx):
    """int8 / uint8 TRANSPOSE_CONV with the integer sums taken in float32
    (kernels/deconv.py deconv_q8_q8_q8_exact: the same sums, requantization and bits as
    ops/qs8.py transpose_conv_qs8), or None when a sum could exceed 2**24 (then
    qs8.transpose_conv_qs8 runs; it also reports every validation error)."""
    x, f, out = ctx.input(2), ctx.input(1), ctx.outputs[0]
    shp_t = ctx.input(0)
    if (len(x.shape) != 4 or len(f.shape) != 4 or shp_t.dtype != np.int32 or len(shp_t.shape) != 1
            or shp_t.size != 4 or f.value is None):
        return None
    out_shape = tuple(int(v) for v in np.asarray(ctx.const(0, "output_shape")).reshape(4))
    cout, kh, kw, cin = (int(d) for d in f.shape)
    nb, oh, ow, oc = out_shape
    sh, sw = int(ctx.opt("stride_h", 0)), int(ctx.opt("stride_w", 0))
    pad = ctx.opt("padding", 0)
    if ((tuple(out.shape) and tuple(out.shape) != out_shape) or min(cout, kh, kw, cin) < 1 or cin != x.shape[3]
            or nb != x.shape[0] or oc != cout or oh < 1 or ow < 1 or sh < 1 or sw < 1 or pad not in (0, 1)):
        return None
    pt, _ = _tconv_pad(oh, kh, sh, pad == 0)
    pl, _ = _tconv_pad(ow, kw, sw, pad == 0)
    q = qs8.QParams(ctx, x, f, ctx.optional(3), out, cout, 0, True, nup=8 * (cout // 8))
    qs8._check_acc_range(ctx, kh * kw * cin, q.qu8)
    w = np.asarray(ctx.const(1, "the weights"), np.int64).transpose(1, 2, 3, 0) - q.zw   # (KH, KW, Cin, Cout)
    lo_x, hi_x = (0, 255) if q.qu8 else (-128, 127)
    if not _int_sums_exact(w, max(abs(lo_x - q.zx), abs(hi_x - q.zx))):
        return None
    rows, wf, zb = _f32_sum_weights(w, ow, sw)
    bias = np.ascontiguousarray(q.bias, np.int32)
    qargs = q.args()
    zx = np.int64(q.zx)
    args = tuple(np.int64(v) for v in (sh, sw, pt, pl))

    def bind(ins, outs, ws):
        x4, o4 = ins[2], outs[0]
        xf, scr, accf, acc = ws
        return bound_kernel(deconv_q8_q8_q8_exact, x4, zx, wf, zb, bias, *args, rows, *qargs, xf, scr, accf, acc, o4)
    return Lowered(outputs=[(out_shape, x.dtype)], bind=bind,
                   workspace=_sum_workspace(x, out_shape, kw, rows) + [((oh * ow * cout,), np.int32)],
                   flops=2 * int(np.prod(x.shape)) * cout * kh * kw)


@lowering("Convolution2DTransposeBias")
def convolution_2d_transpose_bias(ctx):
    """MediaPipe's deconvolution with bias.  custom_options: three little-endian int32
    (padding, stride_w, stride_h), padding as TfLitePadding: 1 = SAME, 2 = VALID.

    LiteRT runs it only through XNNPack, so the output size rule is XNNPack's
    (xnnpack_delegate.cc CalculateTransposeConvPaddings): SAME needs
    ceil(out/stride) == in, VALID needs (out - k) // stride == in - 1 (the rest
    is an "adjustment" of extra output rows/columns that receive only bias).
    """
    ctx.expect_inputs(3, 3)
    raw = ctx.node.custom_options
    if raw is None or len(raw) < 12:
        ctx.fail(f"custom options must be 12 bytes (padding, stride_w, stride_h), got "
                 f"{0 if raw is None else len(raw)}", ModelValidationError)
    pad, sw, sh = struct.unpack_from("<3i", bytes(raw), 0)
    if pad not in (1, 2):
        ctx.fail(f"padding {pad} is not SAME (1) or VALID (2)", ModelValidationError)
    if sh < 1 or sw < 1:
        ctx.fail(f"invalid stride {sh}x{sw}", ModelValidationError)
    x = ctx.input(0)
    _check_input(ctx, x)
    wp, cout, kh, kw = _weights(ctx, 1, x)
    bv = _bias(ctx, 2, cout)
    model_out = tuple(ctx.outputs[0].shape)
    if len(model_out) != 4 or model_out[0] != x.shape[0] or model_out[3] != cout:
        ctx.fail(f"output tensor shape {list(model_out)} does not fit input {list(x.shape)} "
                 f"and {cout} output channels", ModelValidationError)
    oh, ow = model_out[1], model_out[2]
    pads = []
    for o, i, k, s in ((oh, x.shape[1], kh, sh), (ow, x.shape[2], kw, sw)):
        if pad == 1:
            p, conv_in = _tconv_pad(o, k, s, True)
            ok = conv_in == i
        else:
            p, ok = 0, o >= k and (o - k) // s == i - 1
        if not ok:
            ctx.fail(f"output size {o} is inconsistent with input size {i}, kernel {k}, stride {s} "
                     f"and {'SAME' if pad == 1 else 'VALID'} padding", ModelValidationError)
        pads.append(p)
    return _lowered(x, 0, wp, bv, model_out, sh, sw, pads[0], pads[1], -F32_MAX, F32_MAX)
