"""Float32 CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED / BATCH_MATMUL in LiteRT's builtin order.

Plain functions, not registered: the op lowerings call them when
``ctx.settings.numerics == "tflite"`` and the op is float32 (float input and
float weights; hybrid int8-weight ops stay with their own lowerings).  The
kernels (kernels/tflite_float.py) reproduce the builtin kernels' float
summation order bit for bit: Eigen's SSE GEMM (im2col for CONV_2D), the
optimized depthwise row accumulation, and the plain sequential BATCH_MATMUL.
"""
from __future__ import annotations

import numpy as np

from ..errors import ModelValidationError
from ..kernels.tflite_float import (bmm_f32_tflite, dwconv_f32_tflite, gemm_f32_tflite, im2col_f32_tflite,
                                    transpose_last2_tflite)
from .common import act_range_f32, bound_kernel, broadcast_shape, chain, padding
from .registry import Lowered

F32 = np.dtype(np.float32)


def _f32(ctx, *tensors):
    for t in tensors:
        if t is not None and t.dtype != F32:
            ctx.fail(f"tensor {t.name!r} has dtype {t.type_name}; numerics='tflite' float path needs float32")


def _clamp(ctx):
    lo, hi = act_range_f32(ctx)
    return np.float32(lo), np.float32(hi)


def _bias(ctx, i, n):
    b = ctx.optional(i)
    if b is None:
        return np.zeros(n, np.float32)
    if b.size != n:
        ctx.fail(f"bias has {b.size} elements, expected {n}", ModelValidationError)
    return np.ascontiguousarray(ctx.const(i, "the bias"), np.float32).reshape(n).copy()


def _strides(ctx):
    sh, sw = int(ctx.opt("stride_h", 1)), int(ctx.opt("stride_w", 1))
    dh, dw = int(ctx.opt("dilation_hfactor", 1)), int(ctx.opt("dilation_wfactor", 1))
    if min(sh, sw, dh, dw) < 1:
        ctx.fail(f"strides ({sh}, {sw}) and dilations ({dh}, {dw}) must be >= 1", ModelValidationError)
    return sh, sw, dh, dw


def conv_2d_f32_tflite(ctx):
    """CONV_2D float32: im2col (rows b,oy,ox; columns ky,kx,cin), Eigen-order GEMM, bias, clamp."""
    ctx.expect_inputs(2, 3)
    x, f = ctx.input(0), ctx.input(1)
    _f32(ctx, x, f, ctx.optional(2))
    if len(x.shape) != 4 or len(f.shape) != 4:
        ctx.fail(f"input and filter must be 4-D, got {list(x.shape)} and {list(f.shape)}", ModelValidationError)
    batch, h, w, cin = (int(d) for d in x.shape)
    cout, kh, kw, cg = (int(d) for d in f.shape)
    if min(cout, kh, kw, cg) < 1:
        ctx.fail(f"empty filter {list(f.shape)}", ModelValidationError)
    if cg != cin:
        ctx.fail(f"filter depth {cg} != input depth {cin} (grouped convolution is not supported here)")
    fv = ctx.const(1, "the filter")
    bias = _bias(ctx, 2, cout)
    sh, sw, dh, dw = _strides(ctx)
    oh, pt = padding(ctx, h, kh, sh, dh)
    ow, pl = padding(ctx, w, kw, sw, dw)
    if oh < 1 or ow < 1:
        ctx.fail(f"filter {kh}x{kw} (dilation {dh}x{dw}) does not fit the {h}x{w} input", ModelValidationError)
    lo, hi = _clamp(ctx)
    m, kdim = batch * oh * ow, kh * kw * cin
    wt = np.ascontiguousarray(np.asarray(fv, np.float32).reshape(cout, kdim).T)       # [K, N]
    direct = kh == kw == 1 and sh == sw == 1 and pt == pl == 0
    workspace = [((cout,), F32)] + ([] if direct else [((m, kdim), F32)])

    def bind(ins, outs, ws):
        o2, acc = outs[0].reshape(m, cout), ws[0]
        if direct:
            a = ins[0].reshape(m, kdim)
            return bound_kernel(gemm_f32_tflite, a, wt, bias, lo, hi, acc, o2)
        xa, cols = ins[0], ws[1]
        return chain(bound_kernel(im2col_f32_tflite, xa, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cols),
                     bound_kernel(gemm_f32_tflite, cols, wt, bias, lo, hi, acc, o2))

    return Lowered(outputs=[((batch, oh, ow, cout), F32)], bind=bind, workspace=workspace,
                   flops=2 * m * cout * kdim)


def depthwise_conv_2d_f32_tflite(ctx):
    """DEPTHWISE_CONV_2D float32: bias first, then one multiply and one add per valid tap (ky, kx)."""
    ctx.expect_inputs(2, 3)
    x, f = ctx.input(0), ctx.input(1)
    _f32(ctx, x, f, ctx.optional(2))
    if len(x.shape) != 4:
        ctx.fail(f"input must be 4-D NHWC, got shape {list(x.shape)}", ModelValidationError)
    if len(f.shape) != 4 or f.shape[0] != 1:
        ctx.fail(f"filter must have shape [1, KH, KW, C_out], got {list(f.shape)}", ModelValidationError)
    n, h, wd, cin = (int(d) for d in x.shape)
    _, kh, kw, cout = (int(d) for d in f.shape)
    if min(cin, kh, kw, cout) < 1 or cout % cin:
        ctx.fail(f"filter shape {list(f.shape)} does not fit input channels {cin}", ModelValidationError)
    mult = cout // cin
    if ctx.opt("depth_multiplier", 0) not in (0, mult):
        ctx.fail(f"depth_multiplier {ctx.opt('depth_multiplier')} disagrees with filter channels {cout} / "
                 f"input channels {cin}", ModelValidationError)
    wv = np.ascontiguousarray(ctx.const(1, "the filter"), np.float32).reshape(kh, kw, cout).copy()
    bias = _bias(ctx, 2, cout)
    sh, sw, dh, dw = _strides(ctx)
    oh, pt = padding(ctx, h, kh, sh, dh)
    ow, pl = padding(ctx, wd, kw, sw, dw)
    if oh < 1 or ow < 1:
        ctx.fail(f"filter {kh}x{kw} (dilation {dh}x{dw}) does not fit the {h}x{wd} input", ModelValidationError)
    lo, hi = _clamp(ctx)

    def bind(ins, outs, ws):
        xa, o, acc = ins[0], outs[0], ws[0]
        return bound_kernel(dwconv_f32_tflite, xa, wv, bias, sh, sw, dh, dw, pt, pl, mult, lo, hi, acc, o)

    return Lowered(outputs=[((n, oh, ow, cout), F32)], bind=bind, workspace=[((cout,), F32)],
                   flops=2 * n * oh * ow * cout * kh * kw)


def fully_connected_f32_tflite(ctx):
    """FULLY_CONNECTED float32: Eigen-order GEMM (GEMV for one row or one output), bias, clamp."""
    ctx.expect_inputs(2, 4)
    x, w, b = ctx.input(0), ctx.input(1), ctx.optional(2)
    _f32(ctx, x, w, b)
    if ctx.opt("weights_format", 0) != 0:
        ctx.fail("shuffled (SHUFFLED4x16INT8) weights_format is not supported")
    if len(w.shape) != 2:
        ctx.fail(f"weights must be 2-D [out, in], got {list(w.shape)}", ModelValidationError)
    n, k = (int(d) for d in w.shape)
    if n < 1 or k < 1 or len(x.shape) == 0 or x.size % k:
        ctx.fail(f"input {list(x.shape)} cannot be reshaped to [-1, {k}]", ModelValidationError)
    if b is not None and b.size != n:
        ctx.fail(f"bias has {b.size} elements, expected {n}", ModelValidationError)
    if b is not None and b.value is None:
        ctx.fail("non-constant bias is not supported with numerics='tflite'")
    bias = _bias(ctx, 2, n)
    m = x.size // k
    if ctx.opt("keep_num_dims", False):
        if x.shape[-1] != k:
            ctx.fail(f"keep_num_dims needs the last input dim ({x.shape[-1]}) to equal {k}", ModelValidationError)
        out_shape = tuple(x.shape[:-1]) + (n,)
    else:
        out_shape = (m, n)
    lo, hi = _clamp(ctx)
    workspace = [((n,), F32)]
    wt = None
    if w.value is not None:
        wt = np.ascontiguousarray(np.asarray(w.value, np.float32).reshape(n, k).T)
    else:
        workspace.append(((1, k, n), F32))

    def bind(ins, outs, ws):
        a, o2, acc = ins[0].reshape(m, k), outs[0].reshape(m, n), ws[0]
        if wt is not None:
            return bound_kernel(gemm_f32_tflite, a, wt, bias, lo, hi, acc, o2)
        w3, wt3 = ins[1].reshape(1, n, k), ws[1]
        wt2 = wt3.reshape(k, n)
        return chain(bound_kernel(transpose_last2_tflite, w3, wt3),
                     bound_kernel(gemm_f32_tflite, a, wt2, bias, lo, hi, acc, o2))

    return Lowered(outputs=[(out_shape, F32)], bind=bind, workspace=workspace, flops=2 * m * n * k)


def batch_matmul_f32_tflite(ctx):
    """BATCH_MATMUL float32: each output summed k = 0..K-1 from 0 (multiply, then add); batch broadcast."""
    ctx.expect_inputs(2, 2)
    x, y = ctx.input(0), ctx.input(1)
    _f32(ctx, x, y)
    if len(x.shape) < 2 or len(y.shape) < 2:
        ctx.fail(f"operands must have rank >= 2, got {list(x.shape)} and {list(y.shape)}", ModelValidationError)
    adj_x, adj_y = bool(ctx.opt("adj_x", False)), bool(ctx.opt("adj_y", False))
    r0, c0 = int(x.shape[-2]), int(x.shape[-1])
    r1, c1 = int(y.shape[-2]), int(y.shape[-1])
    m, k = (c0, r0) if adj_x else (r0, c0)
    k2, n = (c1, r1) if adj_y else (r1, c1)
    if k != k2:
        ctx.fail(f"contraction dims differ: {list(x.shape)} (adj_x={adj_x}) x {list(y.shape)} (adj_y={adj_y})",
                 ModelValidationError)
    xb, yb = tuple(int(d) for d in x.shape[:-2]), tuple(int(d) for d in y.shape[:-2])
    ob = broadcast_shape(ctx, xb, yb)
    nx, ny = int(np.prod(xb, dtype=np.int64)), int(np.prod(yb, dtype=np.int64))
    a_idx = np.ascontiguousarray(np.broadcast_to(np.arange(nx, dtype=np.int64).reshape(xb), ob).reshape(-1))
    w_idx = np.ascontiguousarray(np.broadcast_to(np.arange(ny, dtype=np.int64).reshape(yb), ob).reshape(-1))
    nb = len(a_idx)
    workspace = []
    if adj_x:
        workspace.append(((nx, m, k), F32))
    if adj_y:                                   # y is [.., n, k]: its transpose is the [k, n] operand
        workspace.append(((ny, k, n), F32))

    def bind(ins, outs, ws):
        xs, ys, o3 = ins[0].reshape(nx, r0, c0), ins[1].reshape(ny, r1, c1), outs[0].reshape(nb, m, n)
        ws = list(ws)
        xt = ws.pop(0) if adj_x else xs
        yt = ws.pop(0) if adj_y else ys
        return chain(bound_kernel(transpose_last2_tflite, xs, xt) if adj_x else None,
                     bound_kernel(transpose_last2_tflite, ys, yt) if adj_y else None,
                     bound_kernel(bmm_f32_tflite, xt, yt, a_idx, w_idx, o3))

    return Lowered(outputs=[(ob + (m, n), F32)], bind=bind, workspace=workspace, flops=2 * nb * m * n * k)
