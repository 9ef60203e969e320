"""DEQUANTIZE and DENSIFY.

Both usually run once, at prepare time: their input is a constant (fp16 or
int8 weights, a sparse weight tensor), so the planner folds them, as TFLite's
dequantize.cc / densify.cc mark their outputs persistent and compute them once.
"""
from __future__ import annotations

import numpy as np

from ..errors import ModelValidationError
from ..kernels.fp16 import f16_bits_to_f32
from ..kernels.quant import dequantize_q_f32, dequantize_q_f32_pc
from ..sparsity import densify
from .common import bound_kernel
from .registry import Lowered, lowering


@lowering("DEQUANTIZE", versions=(1, 6))
def dequantize(ctx):
    x = ctx.input(0)
    out = (x.shape, np.float32)
    if x.sparsity is not None:
        ctx.fail("input is a sparse tensor; it must go through DENSIFY first")
    if x.dtype == np.float16:
        def bind(ins, outs, ws):
            src, dst = ins[0].reshape(-1).view(np.uint16), outs[0].reshape(-1)
            return bound_kernel(f16_bits_to_f32, src, dst)
        return Lowered(outputs=[out], bind=bind)
    ctx.expect_dtype(x, np.int8, np.uint8, np.int16)
    q = x.quant
    if q is None or q.scale.size == 0:
        ctx.fail(f"integer input {x.name!r} has no quantization parameters", ModelValidationError)
    zps = q.zero_point if q.zero_point.size else np.zeros(1, np.int64)
    if q.scale.size == 1:
        scale, zp = float(q.scale[0]), int(zps[0])

        def bind(ins, outs, ws):
            src, dst = ins[0].reshape(-1), outs[0].reshape(-1)
            return bound_kernel(dequantize_q_f32, src, scale, zp, dst)
        return Lowered(outputs=[out], bind=bind)
    qd = q.quantized_dimension
    shape = x.shape
    outer = int(np.prod(shape[:qd], dtype=np.int64))
    inner = int(np.prod(shape[qd + 1:], dtype=np.int64))
    scales = np.ascontiguousarray(q.scale, np.float32)
    zp_arr = np.ascontiguousarray(np.broadcast_to(zps, scales.shape), np.int32)

    def bind(ins, outs, ws):
        src = ins[0].reshape(outer, shape[qd], inner)
        dst = outs[0].reshape(outer, shape[qd], inner)
        return bound_kernel(dequantize_q_f32_pc, src, scales, zp_arr, dst)
    return Lowered(outputs=[out], bind=bind)


@lowering("DENSIFY")
def densify_op(ctx):
    x = ctx.input(0)
    if x.sparsity is None or x.value is None:
        ctx.fail(f"input {x.name!r} must be a constant sparse tensor", ModelValidationError)
    dense = densify(x.value, tuple(x.shape), x.sparsity, f"op {ctx.node.index} (DENSIFY) input {x.name!r}")
    return Lowered(outputs=[(x.shape, x.dtype)], values=[dense])
