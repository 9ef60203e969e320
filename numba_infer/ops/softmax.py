"""SOFTMAX (beta option) and LOG_SOFTMAX over the last axis, float32.

Threads: with num_threads > 1 and enough rows of work (plan_threads) the rows
are cut into one chunk per thread (kernels/parallel.py rows_mt_kernel), each
the serial kernel: the same bits."""
from __future__ import annotations

import math

import numpy as np

from ..errors import ModelValidationError
from ..kernels import parallel as par
from ..kernels.qelementwise import softmax_q8_lut_rows
from ..kernels.softmax import log_softmax_f32_rows_eigen, softmax_f32_rows_eigen, softmax_f32_rows_xnn
from ..quant import tensor_qparams
from .elementwise import Q8, is_quantized, refuse_quantized
from .common import bound_kernel
from .registry import Lowered, lowering


# single-thread rate used to guess the op's run time (plan_threads): XNNPack's
# softmax on transformer_fp32's 4 x 128 x 128 scores, ~2.4 G elements/s
F32_SOFTMAX_ELEMS_PER_US = 2500.0


def _rows_lowered(ctx, fn, *args):
    ctx.expect_inputs(1, 1)
    x = ctx.input(0)
    refuse_quantized(ctx, x)
    ctx.expect_dtype(x, np.float32)
    shape = tuple(x.shape)
    if len(shape) == 0:
        ctx.fail("softmax of a scalar (rank 0) tensor")
    depth = shape[-1]
    rows = x.size // depth if depth else 0
    # threads: whole rows per chunk, each the serial kernel (the same bits); Eigen's
    # softmax works in packets of 4 from the tensor's start: chunks start on one
    mr = 4 // math.gcd(depth, 4) if fn is softmax_f32_rows_eigen else 1
    nt = par.plan_threads(ctx.settings.num_threads, x.size / F32_SOFTMAX_ELEMS_PER_US, -(-rows // mr))

    def bind(ins, outs, ws):
        if rows == 0 or depth == 0:
            return lambda: None
        x2, o2 = ins[0].reshape(rows, depth), outs[0].reshape(rows, depth)
        if not x2.flags.writeable:
            x2 = x2.copy()
        if not (x2.flags.c_contiguous and o2.flags.c_contiguous):
            raise ValueError("softmax kernels index rows by flat offsets: C-contiguous buffers needed")
        if nt > 1:
            drv = par.rows_mt_kernel(fn, f"softmax_{fn.py_func.__name__}")
            return par.guarded(bound_kernel(drv, args, x2, o2, nt, mr))
        return bound_kernel(fn, x2, *args, o2)
    return Lowered(outputs=[(shape, np.float32)], bind=bind, flops=5 * x.size)


def softmax_table(in_scale, beta):
    """TFLite PopulateSoftmaxLookupTable: table[255 - k] = expf(-in_scale * beta * k), float32."""
    sc = np.float32(-np.float32(in_scale) * np.float32(beta))
    k = np.arange(256, dtype=np.float32)
    return np.ascontiguousarray(np.exp((sc * k).astype(np.float32)).astype(np.float32)[::-1])


def quantized_softmax(ctx):
    """int8 -> int8 (scale 1/256, zp -128) and uint8 -> uint8 (scale 1/256, zp 0) SOFTMAX,
    as TFLite's SoftmaxInt8LUT (LiteRT runs it for 8-bit softmax under every resolver)."""
    ctx.expect_inputs(1, 1)
    x, out = ctx.input(0), ctx.outputs[0]
    if x.dtype not in Q8 or out.dtype != x.dtype:
        ctx.fail(f"quantized SOFTMAX {x.dtype.name} -> {out.dtype} is not supported "
                 f"(int8 -> int8 and uint8 -> uint8 are)")
    qi, qo = tensor_qparams(ctx, x), tensor_qparams(ctx, out)
    want_zp = -128 if x.dtype == np.int8 else 0
    if qo[1] != want_zp or qo[0] != float(np.float32(1.0 / 256)):
        ctx.fail(f"quantized SOFTMAX output must have scale 1/256 and zero point {want_zp}, got {qo}",
                 ModelValidationError)
    shape = tuple(x.shape)
    if len(shape) == 0:
        ctx.fail("softmax of a scalar (rank 0) tensor")
    table = softmax_table(qi[0], ctx.opt("beta", 1.0))
    flip = 0x80 if x.dtype == np.int8 else 0
    lo, hi = (-128, 127) if x.dtype == np.int8 else (0, 255)
    depth = shape[-1]
    rows = x.size // depth if depth else 0
    out_scale = np.float32(qo[0])

    def bind(ins, outs, ws):
        if rows == 0 or depth == 0:
            return lambda: None
        x2, o2 = ins[0].reshape(rows, depth).view(np.uint8), outs[0].reshape(rows, depth)
        if not x2.flags.writeable:
            x2 = x2.copy()
        return bound_kernel(softmax_q8_lut_rows, x2, flip, table, out_scale, qo[1], lo, hi, o2)
    return Lowered(outputs=[(shape, x.dtype)], bind=bind, flops=5 * x.size)


@lowering("SOFTMAX")
def softmax(ctx):
    if ctx.inputs and ctx.inputs[0] is not None and is_quantized(ctx.inputs[0]):
        return quantized_softmax(ctx)
    beta = np.float32(ctx.opt("beta", 1.0))
    if beta == 1.0 and ctx.settings.numerics == "xnnpack":
        # LiteRT's XNNPack delegate takes float32 SOFTMAX with beta = 1 (kernels/softmax.py)
        return _rows_lowered(ctx, softmax_f32_rows_xnn)
    # LiteRT's builtin optimized_ops::Softmax (Eigen), which the default resolver also runs
    # when XNNPack refuses the node (beta != 1)
    return _rows_lowered(ctx, softmax_f32_rows_eigen, beta)


@lowering("LOG_SOFTMAX")
def log_softmax(ctx):
    # XNNPack does not take LOG_SOFTMAX: both resolvers run the builtin (Eigen) kernel
    return _rows_lowered(ctx, log_softmax_f32_rows_eigen)
