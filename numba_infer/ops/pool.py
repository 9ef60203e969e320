"""AVERAGE_POOL_2D and MAX_POOL_2D: float32 and quantized int8 / uint8 / int16.

Quantized pooling does not requantize: TFLite's kernels (and XNNPack's, which LiteRT's
default resolver uses for max pooling) read the input's integers as the output's, so
the input and output must share one (scale, zero point).  TFLite silently ignores a
mismatch; we refuse it.  Average: the integer mean of the in-bounds taps rounded half
away from zero (reference_integer_ops::AveragePool); every LiteRT resolver agrees, so
there is one path for both numerics settings.  The fused activation clamps to
CalculateActivationRangeQuantized of the output.
"""
from __future__ import annotations

import numpy as np

from ..errors import ModelValidationError
from ..kernels.pool import avgpool_f32_minmax, avgpool_q_minmax, maxpool_f32_minmax, maxpool_nhwc_minmax
from ..quant import act_range_q, tensor_qparams
from .common import act_range_f32, bound_kernel, padding
from .registry import Lowered, lowering

QDTYPES = (np.dtype(np.int8), np.dtype(np.uint8), np.dtype(np.int16))


def same_qparams(ctx, x, y):
    """Validate that quantized x and y share (scale, zero point); returns (scale, zp)."""
    if y.dtype != x.dtype:
        ctx.fail(f"output dtype {y.type_name} differs from input dtype {x.type_name}", ModelValidationError)
    qx, qy = tensor_qparams(ctx, x), tensor_qparams(ctx, y)
    if np.float32(qx[0]) != np.float32(qy[0]) or qx[1] != qy[1]:
        ctx.fail(f"input quantization (scale {qx[0]}, zero point {qx[1]}) differs from the output's "
                 f"(scale {qy[0]}, zero point {qy[1]}); this op does not requantize")
    if x.dtype == np.int16 and qx[1] != 0:
        ctx.fail(f"int16 tensors must have zero point 0, got {qx[1]}", ModelValidationError)
    return qx


def _pool(ctx, avg):
    ctx.expect_inputs(1, 1)
    x = ctx.input(0)
    quantized = x.dtype in QDTYPES
    if x.dtype != np.float32 and not quantized:
        ctx.fail(f"input dtype {x.type_name} is not supported (float32, int8, uint8, int16)")
    if len(x.shape) != 4:
        ctx.fail(f"input must be 4-D NHWC, got shape {list(x.shape)}", ModelValidationError)
    kh, kw = int(ctx.opt("filter_height", 0)), int(ctx.opt("filter_width", 0))
    sh, sw = int(ctx.opt("stride_h", 0)), int(ctx.opt("stride_w", 0))
    if kh < 1 or kw < 1 or sh < 1 or sw < 1:
        ctx.fail(f"invalid filter {kh}x{kw} or stride {sh}x{sw}", ModelValidationError)
    n, h, w, c = x.shape
    oh, pt = padding(ctx, h, kh, sh, 1)
    ow, pl = padding(ctx, w, kw, sw, 1)
    if quantized:
        same_qparams(ctx, x, ctx.outputs[0])
        lo, hi = act_range_q(ctx, ctx.outputs[0])
        if lo > hi:
            ctx.fail(f"empty fused-activation range [{lo}, {hi}]", ModelValidationError)
        lo, hi = np.int64(lo), np.int64(hi)
        if avg and kh * kw * 32768 >= 2 ** 31:
            ctx.fail(f"a {kh}x{kw} window can overflow the int32 sum of avgpool_q_minmax", ModelValidationError)
        kernel_fn = avgpool_q_minmax if avg else maxpool_nhwc_minmax
    else:
        lo, hi = act_range_f32(ctx)
        lo, hi = np.float32(lo), np.float32(hi)
        kernel_fn = avgpool_f32_minmax if avg else maxpool_f32_minmax       # 16 lanes, the scalar kernel's bits
    if quantized and not avg:
        lo, hi = x.dtype.type(lo), x.dtype.type(hi)      # the running max starts at lo, in x's dtype
    args = tuple(np.int64(v) for v in (kh, kw, sh, sw, pt, pl))

    scratch = quantized and avg                          # avgpool_q_minmax's per-pixel channel sums

    def bind(ins, outs, ws):
        xa, o = ins[0], outs[0]
        if scratch:
            return bound_kernel(kernel_fn, xa, *args, lo, hi, ws[0], o)
        return bound_kernel(kernel_fn, xa, *args, lo, hi, o)

    return Lowered(outputs=[((n, oh, ow, c), x.dtype)], bind=bind, flops=n * oh * ow * c * kh * kw,
                   workspace=[((c,), np.int32)] if scratch else [])


@lowering("AVERAGE_POOL_2D", versions=(1, 3))
def average_pool_2d(ctx):
    return _pool(ctx, True)


@lowering("MAX_POOL_2D", versions=(1, 3))
def max_pool_2d(ctx):
    return _pool(ctx, False)
