"""QUANTIZE: float32 -> int8/uint8/int16, and requantization between integer types.

Numerics follow settings.numerics:
- "xnnpack" (default, = LiteRT's default resolver): float32 -> int8/uint8 and
  same-type int8->int8 / uint8->uint8 (scale ratio in [2**-8, 2**7]) use XNNPack's
  convert formulas, which the delegate takes; everything else as the builtin kernel.
- "tflite" (= BUILTIN_WITHOUT_DEFAULT_DELEGATES): tflite/kernels/quantize.cc.
Per-channel output quantization (converter-only) is refused.
"""
from __future__ import annotations

import numpy as np

from ..errors import ModelValidationError
from ..kernels.requant import (quantize_f32_q_tflite, quantize_f32_q_xnn, requantize_q_q,
                               requantize_q_q_xnn)
from ..quant import QRANGE, quantize_multiplier, tensor_qparams
from .common import bound_kernel
from .registry import Lowered, lowering

_INT_IN = (np.int8, np.uint8, np.int16, np.int32)
_REQUANT_OUT = {np.dtype(np.int8): (np.int8, np.uint8), np.dtype(np.uint8): (np.int8, np.uint8),
                np.dtype(np.int16): (np.int8, np.int16, np.int32), np.dtype(np.int32): (np.int8, np.int16)}


@lowering("QUANTIZE", versions=(1, 3))
def quantize(ctx):
    ctx.expect_inputs(1, 1)
    x = ctx.input(0)
    o = ctx.outputs[0]
    out_dt = np.dtype(o.dtype)
    xnn = ctx.settings.numerics == "xnnpack"
    if o.quant is not None and o.quant.scale.size > 1:
        ctx.fail("per-channel QUANTIZE output is not supported")
    out_scale, out_zp = tensor_qparams(ctx, o)
    qmin, qmax = QRANGE[out_dt] if out_dt in QRANGE else (0, 0)
    n = int(np.prod(x.shape, dtype=np.int64))

    if x.dtype == np.float32:
        ctx.expect_dtype(o, np.int8, np.uint8, np.int16)
        if xnn and out_dt != np.int16:
            inv = np.float32(np.float32(1.0) / np.float32(out_scale))

            def bind(ins, outs, ws):
                src, dst = ins[0].reshape(-1), outs[0].reshape(-1)
                return bound_kernel(quantize_f32_q_xnn, src, inv, out_zp, qmin, qmax, dst)
        else:
            inv = np.float32(1.0 / out_scale)          # 1.0f / double(scale), rounded to float
            scale = float(out_scale)

            def bind(ins, outs, ws):
                src, dst = ins[0].reshape(-1), outs[0].reshape(-1)
                return bound_kernel(quantize_f32_q_tflite, src, inv, scale, out_zp, qmin, qmax, dst)
        return Lowered(outputs=[(x.shape, out_dt)], bind=bind, flops=n)

    ctx.expect_dtype(x, *_INT_IN)
    allowed = _REQUANT_OUT[np.dtype(x.dtype)]
    ctx.expect_dtype(o, *allowed)
    in_scale, in_zp = tensor_qparams(ctx, x)
    if x.dtype == np.int16 and out_dt == np.int16 and (in_zp != 0 or out_zp != 0):
        ctx.fail("int16 -> int16 QUANTIZE needs zero points 0", ModelValidationError)
    ratio = float(np.float32(in_scale)) / float(np.float32(out_scale))
    ratio_f = np.float32(in_scale) / np.float32(out_scale)
    if xnn and x.dtype == out_dt and out_dt in (np.int8, np.uint8) and 2.0 ** -8 <= ratio_f <= 2.0 ** 7:
        mult = int(np.rint(np.float32(256.0) * ratio_f))

        def bind(ins, outs, ws):
            src, dst = ins[0].reshape(-1), outs[0].reshape(-1)
            return bound_kernel(requantize_q_q_xnn, src, in_zp, mult, out_zp, qmin, qmax, dst)
        return Lowered(outputs=[(x.shape, out_dt)], bind=bind, flops=n)
    m, shift = quantize_multiplier(ratio)
    if not -31 <= shift <= 30:
        ctx.fail(f"requantization scale ratio {ratio:g} is out of the supported range", ModelValidationError)

    def bind(ins, outs, ws):
        src, dst = ins[0].reshape(-1), outs[0].reshape(-1)
        return bound_kernel(requantize_q_q, src, in_zp, m, shift, out_zp, qmin, qmax, dst)
    return Lowered(outputs=[(x.shape, out_dt)], bind=bind, flops=n)
