"""DEPTHWISE_CONV_2D: float32, hybrid (float32 input, int8 filter) and
full-integer QS8 / QU8.

Weights [1, KH, KW, C_in*dm] and bias must be constants; they are copied at
prepare into a contiguous [KH, KW, C_out] array (+ bias, zeros when omitted)
so that the kernels run over contiguous channels, 16 at a time (explicit
SIMD, kernels/dwconv.py and kernels/dwconv_q8.py).  A depth multiplier dm > 1
is handled by expanding the input's channels first (dw_expand_channels: input
channel ic becomes channels ic*dm .. ic*dm + dm - 1), so every path runs the
dm == 1 kernels; the per-element arithmetic is unchanged.

float32: bit-identical to XNNPack (bias first, one FMA per tap).  XNNPack's
depthwise kernels visit the taps column-major; a depthwise conv with a depth
multiplier > 1 or more than 25 taps it runs as a grouped convolution (IGEMM),
whose taps are row-major (measured: tests/ops/test_ops_depthwise_simd.py).

Hybrid (float32 input, constant int8 filter): LiteRT's default interpreter
does not give these to XNNPack; TFLite's builtin hybrid kernel runs them
(depthwise_conv.cc EvalHybridPerChannel): the input is quantized per image
with AsymmetricQuantizeFloats, the int32 accumulation covers in-bounds taps
only, then out = acc * (w_scale[oc] * input_scale) + bias, clamped.  We do
the same for both numerics settings.

QS8 / QU8 (int8 / uint8 input): requantization parameters as the other
full-integer ops (ops/qs8.py QParams); numerics "xnnpack" = XNNPack's fp32
requantization for int8, TFLite's fixed point for uint8 (LiteRT runs uint8
depthwise on its builtin kernel) and for numerics "tflite".

Threads: each thread gets a range of output rows, or of 16-channel groups
when that balances better (7x7 maps): kernels/parallel.py (float32) and
kernels/dwconv_mt.py (8-bit), bit-identical to one thread.
"""
from __future__ import annotations

import numpy as np

from ..errors import ModelValidationError
from ..kernels import parallel as par
from ..kernels import dwconv_mt
from ..kernels.dwconv import dw_expand_channels, dwconv_f32_f32_f32_minmax, dwconv_f32_f32_f32_rowmajor_minmax
from ..kernels.dwconv_q8 import dwconv_q8_q8_q8_minmax, dwconv_qdu8_qc8w_f32_minmax
from ..kernels.dynquant import dynquant_f32_qd8_tflite
from ..kernels.parallel import dw_plan
from .common import act_range_f32, bound_kernel, chain, padding
from .registry import Lowered, lowering
from . import tflite_float
from .qs8 import QDTYPES, QParams, _check_acc_range


# single-thread rates used to guess an op's run time (plan_threads), measured on
# mobilenet_v2 / efficientnet shapes: fp32 30-60 GFLOP/s, 8-bit 25-40 GOP/s
F32_DW_FLOP_PER_US = 4.0e4
Q8_DW_OP_PER_US = 3.0e4
QD8_DW_OP_PER_US = 3.0e4
# XNNPack's largest depthwise kernel (taps); larger filters run as a grouped convolution
XNN_DW_MAX_TAPS = 25
# int32 scratch of the 8-bit kernels per thread: a band of output rows' accumulators
ACC_WORDS = 8192


def _geometry(ctx):
    """Validated (n, h, wd, cin, kh, kw, cout, dm, sh, sw, dh, dw, oh, ow, pt, pl)."""
    x, w = ctx.input(0), ctx.input(1)
    if len(x.shape) != 4:
        ctx.fail(f"input must be 4-D NHWC, got shape {list(x.shape)}", ModelValidationError)
    if len(w.shape) != 4 or w.shape[0] != 1:
        ctx.fail(f"filter must have shape [1, KH, KW, C_out], got {list(w.shape)}", ModelValidationError)
    n, h, wd, cin = (int(d) for d in x.shape)
    _, kh, kw, cout = (int(d) for d in w.shape)
    if cin < 1 or kh < 1 or kw < 1 or cout < 1 or cout % cin:
        ctx.fail(f"filter shape {list(w.shape)} does not fit input channels {cin}", ModelValidationError)
    dm = cout // cin
    opt_dm = ctx.opt("depth_multiplier", 0)
    if opt_dm not in (0, dm):
        ctx.fail(f"depth_multiplier {opt_dm} disagrees with filter channels {cout} / input channels {cin}",
                 ModelValidationError)
    sh, sw = int(ctx.opt("stride_h", 1)), int(ctx.opt("stride_w", 1))
    dh, dw = int(ctx.opt("dilation_hfactor", 1)), int(ctx.opt("dilation_wfactor", 1))
    if sh < 1 or sw < 1 or dh < 1 or dw < 1:
        ctx.fail(f"invalid strides ({sh}, {sw}) or dilations ({dh}, {dw})", ModelValidationError)
    oh, pt = padding(ctx, h, kh, sh, dh)
    ow, pl = padding(ctx, wd, kw, sw, dw)
    return n, h, wd, cin, kh, kw, cout, dm, sh, sw, dh, dw, oh, ow, pt, pl


def _expanded(n, h, wd, cout, dtype, dm):
    """Workspace for the dm-expanded input (none when dm == 1)."""
    return [((n, h, wd, cout), dtype)] if dm > 1 else []


@lowering("DEPTHWISE_CONV_2D", versions=(1, 7))
def depthwise_conv_2d(ctx):
    ctx.expect_inputs(2, 3)
    x, w = ctx.input(0), ctx.input(1)
    if x.dtype in QDTYPES:
        return _dw_q8(ctx)
    if ctx.settings.numerics == "tflite" and x.dtype == np.float32 and w.dtype == np.float32:
        return tflite_float.depthwise_conv_2d_f32_tflite(ctx)
    bt = ctx.optional(2)
    if x.dtype != np.float32:
        ctx.fail(f"input dtype {x.type_name} is not supported yet (float32 only)")
    hybrid = x.dtype == np.float32 and w.dtype == np.int8
    if not hybrid:
        ctx.expect_dtype(w, np.float32)
    n, h, wd, cin, kh, kw, cout, dm, sh, sw, dh, dw, oh, ow, pt, pl = _geometry(ctx)
    wv = ctx.const(1, "the filter")
    if bt is not None:
        ctx.expect_dtype(bt, np.float32)
        if bt.size != cout:
            ctx.fail(f"bias has {bt.size} elements, expected {cout}", ModelValidationError)
        bv = np.ascontiguousarray(ctx.const(2, "the bias"), np.float32).reshape(cout).copy()
    else:
        bv = np.zeros(cout, np.float32)
    lo, hi = act_range_f32(ctx)
    lo, hi = np.float32(lo), np.float32(hi)
    if hybrid:
        return _dw_hybrid(ctx, w, wv, bv, n, h, wd, cin, kh, kw, cout, dm, oh, ow, sh, sw, dh, dw, pt, pl, lo, hi)
    wp = np.ascontiguousarray(np.asarray(wv, np.float32).reshape(kh, kw, cout)).copy()
    sh, sw, dh, dw, pt, pl = (np.int64(v) for v in (sh, sw, dh, dw, pt, pl))
    work_us = 2 * n * oh * ow * cout * kh * kw / F32_DW_FLOP_PER_US
    nt, csplit = dw_plan(ctx.settings.num_threads, work_us, n * oh, cout)
    dmi = np.int64(dm)
    rowmajor = dm > 1 or kh * kw > XNN_DW_MAX_TAPS
    rnd = ctx.settings.fp16                   # fp16 emulation: the kernels' epilogue rounds
    if rowmajor:
        serial, threaded = dwconv_f32_f32_f32_rowmajor_minmax, dwconv_mt.dwconv_f32_f32_f32_rowmajor_minmax_mt
    else:
        serial, threaded = dwconv_f32_f32_f32_minmax, par.dwconv_f32_f32_f32_minmax_mt

    def bind(ins, outs, ws):
        xa, o = ins[0], outs[0]
        xe = ws[0] if dm > 1 else xa
        if nt > 1:
            conv = bound_kernel(threaded, xe, wp, bv, sh, sw, dh, dw, pt, pl, lo, hi, nt, csplit, o, rnd)
        else:
            conv = bound_kernel(serial, xe, wp, bv, sh, sw, dh, dw, pt, pl, lo, hi, o, rnd)
        step = chain(bound_kernel(dw_expand_channels, xa, dmi, xe) if dm > 1 else None, conv)
        return par.guarded(step) if nt > 1 else step

    return Lowered(outputs=[((n, oh, ow, cout), np.float32)], bind=bind, rounds_fp16=rnd,
                   workspace=_expanded(n, h, wd, cout, np.float32, dm), flops=2 * n * oh * ow * cout * kh * kw)


def _dw_hybrid(ctx, w, wv, bv, n, h, wd, cin, kh, kw, cout, dm, oh, ow, sh, sw, dh, dw, pt, pl, lo, hi):
    from .fully_connected import hybrid_weight_scales
    wscale, _ = hybrid_weight_scales(ctx, w, cout, 3)
    wscale = np.ascontiguousarray(wscale, np.float32)
    wq = np.ascontiguousarray(np.asarray(wv, np.int8).reshape(kh, kw, cout)).copy()
    wsum = np.ascontiguousarray(wq.astype(np.int32).sum(axis=(0, 1)), np.int32)
    sh, sw, dh, dw, pt, pl = (np.int64(v) for v in (sh, sw, dh, dw, pt, pl))
    img = h * wd * cin
    nt, csplit = dw_plan(ctx.settings.num_threads, 2 * n * oh * ow * cout * kh * kw / QD8_DW_OP_PER_US, n * oh, cout)
    accw = max(ow * 16, ACC_WORDS)
    dmi = np.int64(dm)

    def bind(ins, outs, ws):
        xf, o = ins[0].reshape(-1), outs[0]
        xq32, sc, zp, acc, mm, mq = ws[:6]
        xq = xq32.view(np.uint8)[:n * img]
        xq4, xq2, x2 = xq.reshape(n, h, wd, cin), xq.reshape(n, img), xf.reshape(n, img)
        xe = ws[6] if dm > 1 else xq4
        expand = bound_kernel(dw_expand_channels, xq4, dmi, xe) if dm > 1 else None
        if nt > 1:
            return par.guarded(chain(
                bound_kernel(par.dynquant_f32_qd8_mt, True, x2, xq2, sc, zp, nt, mm, mq), expand,
                bound_kernel(dwconv_mt.dwconv_qdu8_qc8w_f32_minmax_mt, xe, sc, zp, wq, wsum, wscale, bv, sh, sw, dh,
                             dw, pt, pl, lo, hi, nt, csplit, acc, o)))
        return chain(bound_kernel(dynquant_f32_qd8_tflite, x2, 128, xq2, sc, zp), expand,
                     bound_kernel(dwconv_qdu8_qc8w_f32_minmax, xe, sc, zp, wq, wsum, wscale, bv, sh, sw, dh, dw, pt, pl,
                                  lo, hi, acc, o))

    return Lowered(outputs=[((n, oh, ow, cout), np.float32)], bind=bind,
                   workspace=[((-(-n * img // 4),), np.int32), ((n,), np.float32), ((n,), np.int32),
                              ((nt * accw,), np.int32), ((nt + 1, 2), np.float32), ((1, 2), np.uint8)]
                   + _expanded(n, h, wd, cout, np.uint8, dm),
                   flops=2 * n * oh * ow * cout * kh * kw)


def _wrap_i32(v):
    """int64 values modulo 2^32 as int32 (the kernels' int32 sums wrap the same way)."""
    return ((np.asarray(v, np.int64) + 2 ** 31) % 2 ** 32 - 2 ** 31).astype(np.int32)


def _dw_q8(ctx):
    """QS8 / QU8 (int8 / uint8 input, filter and output)."""
    x, f = ctx.input(0), ctx.input(1)
    b = ctx.optional(2)
    out = ctx.outputs[0]
    n, h, wd, cin, kh, kw, cout, dm, sh, sw, dh, dw, oh, ow, pt, pl = _geometry(ctx)
    fv = ctx.const(1, "the filter")
    q = QParams(ctx, x, f, b, out, cout, 3, True)
    if q.qu8:                      # measured: XNNPack does not take uint8 depthwise; the builtin
        q.nup = 0                  # kernel rounds half away from zero (gemmlowp)
        q.fp32 = False
    if oh < 1 or ow < 1:
        ctx.fail(f"filter {kh}x{kw} does not fit the {h}x{wd} input", ModelValidationError)
    _check_acc_range(ctx, kh * kw, q.qu8)
    wv = np.ascontiguousarray(np.asarray(fv, np.int64).reshape(kh, kw, cout) - q.zw, np.int16)
    # acc = bias + sum over in-bounds taps of w * (x - zx) = init + sum over all taps of w * xt,
    # xt = the input byte, or zx outside the image (the kernels' fill value)
    init = _wrap_i32(np.asarray(q.bias, np.int64) - q.zx * wv.astype(np.int64).sum(axis=(0, 1)))
    qargs = q.args()
    zx = np.int64(q.zx)
    sh, sw, dh, dw, pt, pl = (np.int64(v) for v in (sh, sw, dh, dw, pt, pl))
    nt, csplit = dw_plan(ctx.settings.num_threads, 2 * n * oh * ow * cout * kh * kw / Q8_DW_OP_PER_US, n * oh, cout)
    accw = max(ow * 16, ACC_WORDS)
    dmi = np.int64(dm)

    def bind(ins, outs, ws):
        x4, o4, acc = ins[0], outs[0], ws[0]
        xe = ws[1] if dm > 1 else x4
        if nt > 1:
            conv = bound_kernel(dwconv_mt.dwconv_q8_q8_q8_mt, xe, zx, wv, init, sh, sw, dh, dw, pt, pl, *qargs, nt,
                                csplit, acc, o4)
        else:
            conv = bound_kernel(dwconv_q8_q8_q8_minmax, xe, zx, wv, init, sh, sw, dh, dw, pt, pl, *qargs, acc, o4)
        step = chain(bound_kernel(dw_expand_channels, x4, dmi, xe) if dm > 1 else None, conv)
        return par.guarded(step) if nt > 1 else step
    return Lowered(outputs=[((n, oh, ow, cout), x.dtype)], bind=bind,
                   workspace=[((nt * accw,), np.int32)] + _expanded(n, h, wd, cout, x.dtype, dm),
                   flops=2 * n * oh * ow * cout * kh * kw)
