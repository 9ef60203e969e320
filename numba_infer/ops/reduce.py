"""Reductions: MEAN, SUM, REDUCE_MAX, REDUCE_MIN, REDUCE_PROD, REDUCE_ANY.

The reduced axes are brought into one middle axis of an (outer, r, inner) view:
directly when they are adjacent once size-1 axes are ignored (MEAN over H,W of NHWC is
(N, H*W, C)), else after a transpose into a workspace that puts them last.  Each
output element then accumulates its r terms in TFLite's (row-major) order, in float32
for float tensors as TFLite's reference kernels; float32 MEAN under numerics="xnnpack"
(one run of reduced axes) instead follows XNNPack's rsum / rdsum order and multiplies by
float32(1 / r), bit-exact with LiteRT's default delegate (kernels/reduce.py mean_f32_xnn).

Quantized MEAN and SUM (int8, uint8, int16; input and output may have different
scales) sum exactly in integers and then rescale once per output element, with the
numerics of the LiteRT resolver selected by ``ctx.settings.numerics``:

- MEAN, "xnnpack" (int8/uint8: LiteRT's default resolver hands every such MEAN to
  XNNPack): float32 rescale, kernels/reduce.py mean_q_xnn.
- MEAN, "tflite" (and int16 always): 4-D input, axes {1, 2}, keep_dims ->
  optimized_integer_ops::Mean (float-derived multiplier and bias; its 16-channel NEON
  blocks round ties half up); otherwise
  reference_ops::QuantizedMeanOrSum (1/r folded into the integer multiplier).
  Both via mean_q_mbqm.
- SUM, "xnnpack" (int8/uint8): XNNPack's reduce again, without the 1/r (mean_q_xnn).
- SUM, "tflite" (and int16 always): optimized_ops::QuantizedMeanOrSum's float32
  rescale, sum_q_f32.
REDUCE_MAX / REDUCE_MIN on quantized tensors need equal input/output parameters and
reduce the integers directly (exact), like TFLite.
"""
from __future__ import annotations

import numpy as np

from ..errors import ModelValidationError
from ..kernels.reduce import (MAX, MIN, PROD, SUM, mean_f32_general, mean_f32_rows_eigen, mean_f32_xnn, mean_q_mbqm,
                              mean_q_xnn, reduce_any_b, reduce_f32, reduce_mean_f32, reduce_x, sum_q_f32)
from ..quant import QRANGE, quantize_multiplier, tensor_qparams
from ..kernels.transform import gather_axes_x
from .common import bound_kernel, chain, norm_axis
from .registry import Lowered, lowering
from .transform import _strides, axis_table, gather_args

OPS = {"SUM": SUM, "REDUCE_MAX": MAX, "REDUCE_MIN": MIN, "REDUCE_PROD": PROD}
NUMERIC = (np.float32, np.int32, np.int64)
QDTYPES = (np.dtype(np.int8), np.dtype(np.uint8), np.dtype(np.int16))


def _init(op, dtype):
    if op == SUM:
        return 0
    if op == PROD:
        return 1
    info = np.finfo(dtype) if dtype.kind == "f" else np.iinfo(dtype)
    return info.min if op == MAX else info.max        # numeric_limits lowest()/max(), as TFLite


def _axes(ctx, rank):
    t = ctx.input(1)
    v = np.asarray(ctx.const(1, "axes"))
    if v.dtype not in (np.dtype(np.int32), np.dtype(np.int64)):
        ctx.fail(f"axes must be int32 or int64, got {t.type_name}", ModelValidationError)
    return sorted({norm_axis(ctx, a, rank) for a in v.reshape(-1).tolist()})


@lowering("MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD", "REDUCE_ANY")
def reduce(ctx):
    x = ctx.input(0)
    op = ctx.node.op
    dt = x.dtype
    quant = op in ("MEAN", "SUM") and dt in QDTYPES
    if op == "REDUCE_ANY":
        ctx.expect_dtype(x, np.bool_)
    elif quant:
        pass                                             # validated in _quantized below
    elif op == "MEAN":
        ctx.expect_dtype(x, np.float32)
    elif op in ("REDUCE_MAX", "REDUCE_MIN") and dt in QDTYPES:
        qi, qo = x.quant, ctx.outputs[0].quant
        if (qi is None) != (qo is None) or (qi is not None and (
                not np.array_equal(qi.scale, qo.scale) or not np.array_equal(qi.zero_point, qo.zero_point))):
            ctx.fail("quantized max/min with different input and output scales is not supported")
    else:
        ctx.expect_dtype(x, *NUMERIC)
    shape = tuple(x.shape)
    rank = len(shape)
    axes = _axes(ctx, rank) if rank else []
    keep = bool(ctx.opt("keep_dims", False))
    out_shape = tuple(1 if d in axes else n for d, n in enumerate(shape)) if keep else \
        tuple(n for d, n in enumerate(shape) if d not in axes)
    r = int(np.prod([shape[a] for a in axes], dtype=np.int64))
    kept_size = int(np.prod(out_shape, dtype=np.int64))
    # runs of reduced / kept axes, ignoring size-1 axes
    kinds = [d in axes for d in range(rank) if shape[d] != 1]
    runs = [k for i, k in enumerate(kinds) if i == 0 or kinds[i - 1] != k]
    direct = runs.count(True) <= 1
    if direct:
        first = next((d for d in range(rank) if d in axes and shape[d] != 1), rank)
        outer = int(np.prod([shape[d] for d in range(first) if d not in axes], dtype=np.int64))
        inner = kept_size // outer if outer else 0
        perm_args = None
    else:
        outer, inner = kept_size, 1
        st = _strides(shape)
        order = [d for d in range(rank) if d not in axes] + axes
        perm_args = gather_args([axis_table(shape[d], st[d]) for d in order])
    code = OPS.get(op)
    init = np.array(_init(code, dt), dt)[()] if code is not None else None
    qmain = _quantized(ctx, x, axes, r, keep) if quant else None
    # float32 MEAN under numerics="xnnpack": XNNPack's reduce order (kernels/reduce.py
    # mean_f32_xnn), measured bit-exact on LiteRT 2.3.0 for one run of reduced axes.
    xnn_mean = op == "MEAN" and not quant and direct and r > 0 and ctx.settings.numerics == "xnnpack"
    xscale = np.float32(1.0) / np.float32(max(r, 1))
    # float32 MEAN otherwise (numerics="tflite", or a MEAN XNNPack refuses): LiteRT's builtin
    # optimized_ops::Mean.  After dropping size-1 axes and merging runs, one reduced run
    # that is last behind a kept run goes through Eigen (colwise sum, kernels/reduce.py
    # mean_f32_rows_eigen); everything else through MeanGeneral (index order, first term
    # first, then / r).  Measured bit-exact on LiteRT 2.3.0.
    eigen_mean = op == "MEAN" and not quant and runs == [False, True] and r > 0

    def bind(ins, outs, ws):
        src = ins[0]
        pre = None
        if perm_args is not None:
            xf, wf = ins[0].reshape(-1), ws[0].reshape(-1)
            tab, starts, dims, contig = perm_args
            zero = np.zeros((), dt)[()]
            src = ws[0]
            pre = bound_kernel(gather_axes_x, xf, tab, starts, dims, zero, contig, wf)
        x3 = src.reshape(outer, r, inner)
        o2 = outs[0].reshape(outer, inner)
        if qmain is not None:
            fn, qargs = qmain
            if fn is mean_q_xnn and not (x3.flags.c_contiguous and o2.flags.c_contiguous):
                raise ValueError("mean_q_xnn indexes by flat offsets: C-contiguous arrays are needed")
            main = bound_kernel(fn, x3, *qargs, o2)
        elif xnn_mean:
            if not x3.flags.c_contiguous:
                raise ValueError("mean_f32_xnn indexes by flat offsets: a C-contiguous input is needed")
            main = bound_kernel(mean_f32_xnn, x3, xscale, o2)
        elif eigen_mean:
            x2, o1 = src.reshape(kept_size, r), outs[0].reshape(-1)
            main = bound_kernel(mean_f32_rows_eigen, x2, o1)
        elif op == "MEAN" and r > 0 and outer * inner > 0:
            main = bound_kernel(mean_f32_general, x3, o2)
        elif op == "MEAN":
            main = bound_kernel(reduce_mean_f32, x3, o2)
        elif op == "REDUCE_ANY":
            main = bound_kernel(reduce_any_b, x3, o2)
        elif dt == np.float32 and inner > 1 and x3.flags.c_contiguous:
            # 16 lanes over the kept axis, same per-element operations as reduce_x
            xf, of = x3.reshape(-1), o2.reshape(-1)
            dims = (np.int64(outer), np.int64(r), np.int64(inner))
            main = bound_kernel(reduce_f32, xf, *dims, code, init, of)
        else:
            main = bound_kernel(reduce_x, x3, code, init, o2)
        return chain(pre, main)
    ws = [(shape, dt)] if perm_args is not None else []
    return Lowered(outputs=[(out_shape, dt)], bind=bind, workspace=ws, flops=int(np.prod(shape, dtype=np.int64)))


def _quantized(ctx, x, axes, r, keep):
    """(kernel, scalar args) of a quantized MEAN / SUM; see the module docstring."""
    y = ctx.outputs[0]
    op = ctx.node.op
    if y.dtype != x.dtype:
        ctx.fail(f"output dtype {y.type_name} differs from input dtype {x.type_name}", ModelValidationError)
    s_in, zp_in = tensor_qparams(ctx, x)
    s_out, zp_out = tensor_qparams(ctx, y)
    if x.dtype == np.int16 and (zp_in != 0 or zp_out != 0):
        ctx.fail("int16 MEAN/SUM need zero points 0", ModelValidationError)
    if not axes or r == 0:
        ctx.fail(f"quantized {op} with no reduction axes or an empty input is not supported")
    if r >= 1 << 23:
        ctx.fail(f"quantized {op} over {r} elements is not supported (int32 sums may overflow)")
    qmin, qmax = (np.int64(v) for v in QRANGE[x.dtype])
    f32 = np.float32
    if ctx.settings.numerics not in ("xnnpack", "tflite"):
        ctx.fail(f"unknown numerics setting {ctx.settings.numerics!r}")
    if ctx.settings.numerics == "xnnpack" and x.dtype != np.int16:
        scale = f32(s_in) / f32(s_out)
        if op == "MEAN":
            scale = scale * (f32(1.0) / f32(r))
        bias = f32(-(zp_in * r)) * scale + f32(zp_out)
        return mean_q_xnn, (scale, bias, qmin, qmax)
    if op == "SUM":
        scale = f32(s_in) / f32(s_out)
        bias = (f32(-zp_in) * scale) * f32(r)
        return sum_q_f32, (scale, bias, np.int64(zp_out), qmin, qmax)
    if x.dtype != np.int16 and keep and len(x.shape) == 4 and axes == [1, 2]:
        # optimized_integer_ops::Mean / optimized_ops::Mean (uint8): float32 derived constants
        temp = f32(zp_in) * f32(s_in) / f32(s_out)
        temp = temp + f32(0.5) if temp > 0 else temp - f32(0.5)
        add = zp_out - int(np.trunc(temp))
        mult, shift = quantize_multiplier(float(f32(s_in) / (f32(x.shape[1] * x.shape[2]) * f32(s_out))))
        sub = 0
        nvec = 16 * (x.shape[3] // 16)           # its NEON loop (NEON_2_SSE on x86), single-threaded
    else:
        # reference_ops::QuantizedMeanOrSum: 1/r folded into the integer multiplier
        mult, shift = quantize_multiplier(float(np.float64(f32(s_in)) / np.float64(f32(s_out))))
        k = min(r.bit_length() - 1, 32, 31 + shift)
        mult = (mult << k) // r                          # k >= 0: quantize_multiplier keeps shift >= -31
        shift -= k
        sub, add, nvec = zp_in * r, zp_out, 0
    if not -31 <= shift <= 30:
        ctx.fail(f"input/output scale ratio {s_in / s_out:g} is out of the supported range")
    return mean_q_mbqm, (np.int64(sub), np.int64(mult), np.int64(shift), np.int64(add), np.int64(nvec), qmin, qmax)
