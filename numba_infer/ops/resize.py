"""RESIZE_BILINEAR (float32) and RESIZE_NEAREST_NEIGHBOR (any dtype, a table gather).

Source coordinates are computed once at prepare time in float32; only a constant `size`
input is supported.  Float32 RESIZE_BILINEAR: numerics "xnnpack" (LiteRT's default
delegate) takes XNNPack's coordinates and its f32-ibilinear lerps, bit for bit
(kernels/resize.py resize_bilinear_f32_xnn; threaded by output rows); numerics "tflite"
TFLite's reference formula (ComputeInterpolationValues, four weighted products).
RESIZE_NEAREST_NEIGHBOR follows resize_nearest_neighbor.h GetNearestNeighbor.

Quantized RESIZE_BILINEAR (int8, uint8, int16; input and output share one scale and
zero point, no requantization) interpolates the integers:
- numerics "xnnpack", int8/uint8 (LiteRT's default resolver delegates these to XNNPack):
  11-bit weights from XNNPack's float32 coordinates, resize_bilinear_q11;
- numerics "tflite", uint8: TFLite's optimized float32 kernel (ResizeBilinearGenericSmallChannel,
  + 0.5 then truncation), resize_bilinear_u8_f32;
- numerics "tflite" int8, and int16 always: reference_ops::ResizeBilinearInteger's 10-bit
  fixed point, resize_bilinear_q10.  TFLite does not clamp the lower source index there;
  for extreme upsampling (out*(out-1) >= 2048*in without half-pixel centers) it reads
  past the row end.  We clamp it to the last row/column instead (no out-of-bounds read;
  the result then differs from TFLite's undefined one).
RESIZE_NEAREST_NEIGHBOR is a gather, exact for every dtype; quantized tensors must share
the output's parameters.
"""
from __future__ import annotations

import numpy as np

from ..errors import ModelValidationError
from ..kernels import parallel as par
from ..kernels.resize import (resize_bilinear_f32, resize_bilinear_f32_xnn, resize_bilinear_q10, resize_bilinear_q11,
                              resize_bilinear_u8_f32)
from .common import bound_kernel
from .pool import QDTYPES, same_qparams
from .registry import Lowered, lowering
from .transform import _movable, _strides, axis_table, gather_lowered

F = np.float32
# single-thread rate used to guess the op's run time (plan_threads); deeplab's 257 x 257 x 21
# upsampling, measured
F32_RESIZE_ELEMS_PER_US = 4000.0
Q8_RESIZE_ELEMS_PER_US = 3000.0


def _operands(ctx):
    x = ctx.input(0)
    if len(x.shape) != 4:
        ctx.fail(f"expects a 4-D NHWC input, got shape {list(x.shape)}", ModelValidationError)
    size = np.asarray(ctx.const(1, "size"))
    if size.dtype != np.int32 or size.shape != (2,):
        ctx.fail("size must be an int32 tensor of shape [2]", ModelValidationError)
    oh, ow = (int(v) for v in size)
    if oh < 1 or ow < 1 or x.shape[1] < 1 or x.shape[2] < 1:
        ctx.fail(f"cannot resize {list(x.shape)} to {oh}x{ow}", ModelValidationError)
    align = bool(ctx.opt("align_corners", False))
    half = bool(ctx.opt("half_pixel_centers", False))
    return x, oh, ow, align, half


def _scale(n_in, n_out, align):
    if align and n_out > 1:
        return F(n_in - 1) / F(n_out - 1)
    return F(n_in) / F(n_out)


def bilinear_coords(n_in, n_out, align, half):
    """(lower, upper, input - lower) per output index, ComputeInterpolationValues in float32."""
    scale = _scale(n_in, n_out, align)
    v = np.arange(n_out).astype(F)
    src = (v + F(0.5)) * scale - F(0.5) if half else v * scale
    lo = np.maximum(np.floor(src).astype(np.int64), 0)
    hi = np.minimum(np.ceil(src).astype(np.int64), n_in - 1)
    return lo, hi, (src - lo.astype(F)).astype(F)


def nearest_coords(n_in, n_out, align, half):
    """GetNearestNeighbor: round-half-away (align_corners) or floor of (i + offset) * scale."""
    scale = _scale(n_in, n_out, align)
    v = ((np.arange(n_out).astype(F) + F(0.5 if half else 0.0)) * scale).astype(np.float64)
    idx = np.floor(v + 0.5) if align else np.floor(v)      # v >= 0: floor(v+0.5) == round half away
    idx = np.minimum(idx.astype(np.int64), n_in - 1)
    return np.maximum(idx, 0) if half else idx


def bilinear_coords_q10(n_in, n_out, align, half):
    """(lower, upper, 10-bit fraction) per output index: ComputeInterpolationValuesInteger."""
    if align and n_out > 1:
        sc = ((1 << 10) * (n_in - 1) + (n_out - 1) // 2) // (n_out - 1)
    else:
        sc = ((1 << 10) * n_in + n_out // 2) // n_out
    v = np.arange(n_out, dtype=np.int64) * sc
    if half:
        v = v + sc // 2 - (1 << 9)
    q = np.where(v >= 0, v >> 10, 0)                        # C division, then max(., 0)
    up = np.minimum(np.where(v + 1023 >= 0, (v + 1023) >> 10, 0), n_in - 1)
    lo = np.minimum(q, n_in - 1)                            # TFLite leaves this unclamped (see above)
    return lo, up, v - (q << 10)


def bilinear_coords_xnn(n_in, n_out, align, half):
    """(top, bottom, alpha) per output index: XNNPack's
    xnn_indirection_init_resize_bilinear2d_hwc_f32 (float32 arithmetic; the
    delegate's legacy mode when half_pixel_centers is off)."""
    adj = 1 if (align and n_out != 1) else 0
    scale = F(n_in - adj) / F(n_out - adj)
    v = np.arange(n_out).astype(F)
    if half and not align:
        src = v * scale + (F(0.5) * scale - F(0.5))
        src = np.minimum(np.maximum(src, F(0.0)), F(n_in - 1))
    else:
        src = v * scale
    top = np.minimum(src.astype(np.int64), n_in - 1)
    bot = np.minimum(top + 1, n_in - 1)
    return top, bot, (src - top.astype(F)).astype(F)


def bilinear_coords_q11(n_in, n_out, align, half):
    """(top, bottom, lrintf(alpha * 2048)) per output index: XNNPack's
    xnn_indirection_init_resize_bilinear2d_hwc_q11 (bilinear_coords_xnn's alpha)."""
    top, bot, alpha = bilinear_coords_xnn(n_in, n_out, align, half)
    return top, bot, np.rint(alpha * F(2048.0)).astype(np.int64)


@lowering("RESIZE_BILINEAR")
def resize_bilinear(ctx):
    x, oh, ow, align, half = _operands(ctx)
    if align and half:
        ctx.fail("align_corners and half_pixel_centers are both set", ModelValidationError)
    n, h, w, c = x.shape
    if x.dtype in QDTYPES:
        same_qparams(ctx, x, ctx.outputs[0])
        if ctx.settings.numerics == "xnnpack" and x.dtype != np.int16:
            # XNNPack's s8/u8-ibilinear (11-bit weights, int32 lanes)
            return _bilinear_xnn(ctx, x, oh, ow, align, half, bilinear_coords_q11, resize_bilinear_q11,
                                 par.resize_bilinear_q11_mt, Q8_RESIZE_ELEMS_PER_US, np.int32)
        if x.dtype == np.uint8:
            fn, coords = resize_bilinear_u8_f32, bilinear_coords
        else:
            fn, coords = resize_bilinear_q10, bilinear_coords_q10
        ys, xs = coords(h, oh, align, half), coords(w, ow, align, half)

        def qbind(ins, outs, ws):
            xi, o = ins[0], outs[0]
            return bound_kernel(fn, xi, *ys, *xs, o)
        return Lowered(outputs=[((n, oh, ow, c), x.dtype)], bind=qbind, flops=7 * n * oh * ow * c)
    ctx.expect_dtype(x, np.float32)
    if ctx.settings.numerics == "xnnpack":
        # LiteRT's default delegate: XNNPack's coordinates and f32-ibilinear
        return _bilinear_xnn(ctx, x, oh, ow, align, half, bilinear_coords_xnn, resize_bilinear_f32_xnn,
                             par.resize_bilinear_f32_xnn_mt, F32_RESIZE_ELEMS_PER_US, F)
    y0, y1, wy = bilinear_coords(h, oh, align, half)
    x0, x1, wx = bilinear_coords(w, ow, align, half)

    def bind(ins, outs, ws):
        xi, o = ins[0], outs[0]
        return bound_kernel(resize_bilinear_f32, xi, y0, y1, wy, x0, x1, wx, o)
    return Lowered(outputs=[((n, oh, ow, c), x.dtype)], bind=bind, flops=7 * n * oh * ow * c)


def _bilinear_xnn(ctx, x, oh, ow, align, half, coords, serial, threaded, elems_per_us, tdtype):
    """Lowered of XNNPack's bilinear resize (kernels/resize.py: float32 or the 8-bit
    q11 kernel, with its coords): each chunk of output rows (one, or nt when
    plan_threads finds the op large enough, at elems_per_us on one thread) gets a
    scratch of two horizontal rows (ow * c values of tdtype)."""
    n, h, w, c = x.shape
    ys, xs = coords(h, oh, align, half), coords(w, ow, align, half)
    nt = par.plan_threads(ctx.settings.num_threads, n * oh * ow * c / elems_per_us, oh)

    def bind(ins, outs, ws):
        xi, o = ins[0], outs[0]
        if nt > 1:
            return par.guarded(bound_kernel(threaded, xi, *ys, *xs, o, nt, ws[0]))
        return bound_kernel(serial, xi, *ys, *xs, o, 0, oh, ws[0])
    return Lowered(outputs=[((n, oh, ow, c), x.dtype)], bind=bind, flops=7 * n * oh * ow * c,
                   workspace=[((nt * 2 * ow * c,), tdtype)])


@lowering("RESIZE_NEAREST_NEIGHBOR")
def resize_nearest(ctx):
    x, oh, ow, align, half = _operands(ctx)
    _movable(ctx, x)
    if x.dtype in QDTYPES and (x.quant is not None or ctx.outputs[0].quant is not None):
        same_qparams(ctx, x, ctx.outputs[0])
    n, h, w, c = x.shape
    sn, sh, sw, _ = _strides(x.shape)
    tabs = [axis_table(n, sn), axis_table(0, sh, nearest_coords(h, oh, align, half)),
            axis_table(0, sw, nearest_coords(w, ow, align, half)), np.arange(c)]
    return gather_lowered(ctx, x, [n, oh, ow, c], tabs)
