"""CONV_2D (float32, NHWC input, OHWI constant weights) on the packed GEMM.

- 1x1, stride 1, one group: a direct GEMM on the input viewed as
  [N*H*W, Cin] (zero copies).
- one group, where a narrow tile (14x32, 28x16, 7x32) fits the output rows with
  little padding (igemm_tile): no im2col -- the microkernel reads its A rows
  straight from a zero-padded copy of the image, kh*kw taps of cin channels
  (kernels/conv_igemm.py; the im2col GEMM's weights and bits).
- otherwise: blocked im2col into a small workspace (mb rows at a time, ~256 KB,
  so the block stays in L2) followed by the GEMM, per group.
- at most 8 output channels, one group: two output pixels per
  16-lane vector (kernels/gemm_n8.py: rows r and r + oh/2 read from a padded,
  row-interleaved band of the input, no im2col; same bits), where the
  16-wide tiles would waste half of every FMA.
- at most 4 input channels (an RGB first layer), one group: the GEMM reads
  its A operand straight from a zero-padded band of input rows
  (kernels/conv_direct.py; same bits), since building im2col rows of
  3-channel runs costs as much as the GEMM; threaded by output rows.
Weights (+ bias) are packed per group at prepare time.  Padding and output
sizes follow tflite/kernels/padding.h (``common.padding``).

Hybrid (float32 input, constant int8 filter, "dynamic range"): the input is
quantized once per image (all H*W*C values of a batch entry, XNNPack's
num_nonbatch_dims=3 / TFLite's per-batch quantization), padding taps read the
image's zero point (a real 0), and the int8 GEMM runs with a float epilogue:
on AVX512-VNNI an indirect GEMM straight from the quantized image (an
indirection buffer of input-pixel offsets per tap, built at prepare; no
im2col, kernels/qgemm_vnni.py), else uint8 im2col + the generic GEMM.  numerics "xnnpack": asymmetric XNNPack parameters;
"tflite": per-channel filters -> asymmetric (EvalHybridPerChannel),
per-tensor -> symmetric (EvalHybrid).  Exception: XNNPack runs 1x1 stride-1
convs as fully connected layers, quantized per pixel.

Threads (``ctx.settings.num_threads``, resolved by kernels/parallel.py
resolve_threads: None = 1): with more than one thread and enough work
(plan_threads: >= MIN_PARALLEL_US estimated at the rates below, at least one
tile per thread) the step calls the threaded drivers of kernels/parallel.py /
parallel_vnni.py, which cut the output rows into one chunk per thread (per-chunk
im2col scratch, allocated nt times in the workspace) -- or, for a 1x1 conv on
few rows (7x7 maps), its output channels (par.gemm_col_split); outputs are
bit-identical to the serial drivers.  One thread binds the serial drivers.
The portable (non-VNNI) int8 path stays single-threaded.
"""
from __future__ import annotations

import numpy as np

from ..errors import ModelValidationError
from ..kernels.gemm import TILE_6x64, TILE_COST, TILES, choose_tile, conv2d_f32_f32_f32_minmax, gemm_f32_f32_f32_minmax
from ..kernels.conv_igemm import conv2d_igemm_f32_minmax, padded_extent, tap_offsets
from ..kernels.gemm_n8 import conv2d_f32_n8_rows2_minmax, pack_n8, rows2_band, rows2_offsets
from ..kernels.conv_direct import conv2d_direct_pad_f32_minmax, direct_offsets, pack_direct, pad_band
from .common import act_range_f32, bound_kernel, chain, padding
from .. import isa
from ..kernels import parallel as par, qgemm
from ..kernels.parallel import plan_threads
from .fully_connected import (F32, F32_GEMM_FLOP_PER_US, QD8Weights, f32_gemm_threads, _hybrid_bias,
                              hybrid_weight_scales, is_hybrid, pack_weights, row_quantizer, rows_hybrid,
                              rows_hybrid_mt)
from .registry import Lowered, lowering
from . import qs8, tflite_float
from .qs8 import QDTYPES

IM2COL_BLOCK_FLOATS = 65536          # 256 KB of im2col rows per block (L2 is 1 MB)
N8_BAND_FLOATS = 16384               # padded input rows per band of the cout <= 8 conv (64 KB)
DIRECT_BAND_FLOATS = 16384           # padded input rows per band of the first-layer conv (64 KB)
DIRECT_MAX_CIN = 4                   # first layers (RGB in): kernels/conv_direct.py
# single-thread rates used to guess an op's run time (plan_threads): measured
# on mobilenet_v2 (fp32 convs 40-110 GFLOP/s, QD8 / QS8 VNNI convs several x that)
Q8_GEMM_OP_PER_US = 3.0e5


@lowering("CONV_2D", versions=(1, 8))
def conv_2d(ctx):
    ctx.expect_inputs(2, 3)
    x, f = ctx.input(0), ctx.input(1)
    if x.dtype in QDTYPES:
        return qs8.conv_2d_qs8(ctx)
    if ctx.settings.numerics == "tflite" and x.dtype == F32 and f.dtype == F32:
        return tflite_float.conv_2d_f32_tflite(ctx)
    b = ctx.optional(2)
    hybrid = is_hybrid(x, f)
    for t in ((x, b) if hybrid else (x, f, b)):
        if t is not None and t.dtype != F32:
            ctx.fail(f"CONV_2D: tensor {t.name!r} has dtype {t.type_name}; only float32 is supported "
                     f"(int8/hybrid paths are not implemented yet)")
    if len(x.shape) != 4 or len(f.shape) != 4:
        ctx.fail(f"input and filter must be 4-D, got {list(x.shape)} and {list(f.shape)}", ModelValidationError)
    if f.value is None:
        ctx.fail("non-constant filter is not supported")
    if b is not None and b.value is None:
        ctx.fail("non-constant bias is not supported")
    batch, h, w, cin = (int(d) for d in x.shape)
    cout, kh, kw, cg = (int(d) for d in f.shape)
    if min(cout, kh, kw, cg) < 1:
        ctx.fail(f"empty filter {list(f.shape)}", ModelValidationError)
    if cin % cg or cout % (cin // cg):
        ctx.fail(f"input depth {cin} / filter depth {cg} / output depth {cout} do not form groups",
                 ModelValidationError)
    groups = cin // cg
    if b is not None and b.size != cout:
        ctx.fail(f"bias has {b.size} elements, expected {cout}", ModelValidationError)
    sh, sw = int(ctx.opt("stride_h", 0)), int(ctx.opt("stride_w", 0))
    dh, dw = int(ctx.opt("dilation_hfactor", 1)), int(ctx.opt("dilation_wfactor", 1))
    if min(sh, sw, dh, dw) < 1:
        ctx.fail(f"strides ({sh}, {sw}) and dilations ({dh}, {dw}) must be >= 1", ModelValidationError)
    oh, pt = padding(ctx, h, kh, sh, dh)
    ow, pl = padding(ctx, w, kw, sw, dw)
    if oh < 1 or ow < 1:
        ctx.fail(f"filter {kh}x{kw} (dilation {dh}x{dw}) does not fit the {h}x{w} input", ModelValidationError)
    lo, hi = (np.float32(v) for v in act_range_f32(ctx))
    ng, kdim = cout // groups, kh * kw * cg
    m = batch * oh * ow
    if hybrid:
        return _conv_hybrid(ctx, f, b, batch, h, w, cin, cout, kh, kw, cg, groups, sh, sw, dh, dw, pt, pl, oh, ow,
                            lo, hi)
    if groups == 1 and m > 1 and (cout <= 8 or cin <= DIRECT_MAX_CIN):
        nt = plan_threads(ctx.settings.num_threads, 2 * m * cout * kdim / F32_GEMM_FLOP_PER_US, min(oh, -(-m // 16)))
        if cout > 8:
            return _conv_direct(ctx, _filter_and_bias(f, b, cout, kdim), batch, h, w, cin, cout, kh, kw, sh, sw, dh,
                                dw, pt, pl, oh, ow, lo, hi, nt)
        return _conv_narrow(ctx, _filter_and_bias(f, b, cout, kdim), batch, h, w, cin, cout, kh, kw, sh, sw, dh,
                            dw, pt, pl, oh, ow, lo, hi, min(nt, -(-oh // 2)))
    one_by_one = kh == kw == 1 and sh == sw == 1 and groups == 1 and pt == pl == 0
    itile = igemm_tile(oh, ow, cout) if groups == 1 and not one_by_one else None
    if itile is not None:
        return _conv_igemm(ctx, f, b, batch, h, w, cin, cout, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, lo, hi, itile)
    tile = choose_tile(m, ng)
    mr = TILES[tile][0]
    fw = f.value.reshape(groups, ng, kdim)
    bias = b.value.reshape(groups, ng) if b is not None else [None] * groups
    wp = np.concatenate([pack_weights(fw[g], bias[g], tile) for g in range(groups)])
    rnd = ctx.settings.fp16                   # fp16 emulation: the GEMM epilogue rounds
    lowered = Lowered(outputs=[((batch, oh, ow, cout), F32)], flops=2 * m * cout * kdim, rounds_fp16=rnd)

    if one_by_one:
        nt, drv = f32_gemm_threads(ctx.settings, m, cout, kdim, tile)

        def bind(ins, outs, ws):
            xf, of = ins[0].reshape(-1), outs[0].reshape(-1)
            if nt > 1:
                return par.guarded(bound_kernel(drv, tile, m, cout, cin, xf, cin, wp, lo, hi, of, cout, nt, rnd))
            return bound_kernel(gemm_f32_f32_f32_minmax, tile, m, cout, cin, xf, cin, wp, lo, hi, of, cout, rnd)
    else:
        nt = plan_threads(ctx.settings.num_threads, 2 * m * cout * kdim / F32_GEMM_FLOP_PER_US, -(-m // mr))
        mb = max(mr, IM2COL_BLOCK_FLOATS // kdim // mr * mr)
        tiles = -(-m // mr)
        mb = min(mb, -(-tiles // nt) * mr)               # at most one chunk's rows
        lowered.workspace = [((nt * mb * kdim,), F32)]   # one im2col block per chunk

        def bind(ins, outs, ws):
            xf, of, wsf = ins[0].reshape(-1), outs[0].reshape(-1), ws[0]
            if nt > 1:
                return par.guarded(bound_kernel(
                    par.conv2d_f32_f32_f32_minmax_mt, xf, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow,
                    groups, cout, tile, wp, mb, lo, hi, wsf, nt, of, rnd))
            return bound_kernel(conv2d_f32_f32_f32_minmax, xf, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow,
                                groups, cout, tile, wp, mb, lo, hi, wsf, of, rnd)
    lowered.bind = bind
    return lowered


def igemm_tile(oh, ow, cout):
    """The tile for the no-im2col conv (kernels/conv_igemm.py), or None to keep im2col +
    GEMM.  Its tiles cannot span output rows, so the choice weighs each row's padding
    (ceil(ow / MR) * MR computed pixels); the path is taken only with the narrow
    tiles and little row padding.  Measured against im2col (same bits): 112x112x32 ->
    16 (3x3) 1423 -> 1139 us (28x16), 149x149x32 -> 32 4538 -> 4190 (14x32),
    56x56x32 -> 32 603 -> 536 (28x16); with 6x64 tiles it is no faster (147x147x32
    -> 64: 7988 vs 8086), on 14x14 maps slower (1277 vs 1526, 29% row padding)."""
    cost = {t: oh * -(-ow // mr) * mr * -(-cout // nr) * nr * TILE_COST[t] for t, (mr, nr) in TILES.items()}
    tile = min(cost, key=cost.get)
    mr = TILES[tile][0]
    if tile == TILE_6x64 or -(-ow // mr) * mr > 1.1 * ow:
        return None
    return tile


def _conv_igemm(ctx, f, b, batch, h, w, cin, cout, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, lo, hi, tile):
    """One group, not 1x1: the GEMM reads its A rows straight from a zero-padded copy
    of the image, K as kh*kw taps of cin channels (kernels/conv_igemm.py; the im2col
    GEMM's packed weights and bits).  nt > 1: the padded rows, then the output rows, in
    nt chunks (kernels/parallel.py)."""
    kdim = kh * kw * cin
    wpk = pack_weights(f.value.reshape(cout, kdim), b.value if b is not None else None, tile)
    geo = tuple(np.int64(v) for v in (batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cout))
    hp, wp = padded_extent(*geo[12:14], *geo[4:10])
    toff = tap_offsets(kh, kw, dh, dw, int(wp), cin)
    nt = plan_threads(ctx.settings.num_threads, 2 * batch * oh * ow * cout * kdim / F32_GEMM_FLOP_PER_US, oh)
    rnd = ctx.settings.fp16

    def bind(ins, outs, ws):
        xf, of = ins[0].reshape(-1), outs[0].reshape(-1)
        if nt > 1:
            return par.guarded(bound_kernel(par.conv2d_igemm_f32_minmax_mt, xf, *geo, np.int64(tile), wpk, toff, lo,
                                            hi, ws[0], nt, of, rnd))
        return bound_kernel(conv2d_igemm_f32_minmax, xf, *geo, np.int64(tile), wpk, toff, lo, hi, ws[0], of, rnd)
    return Lowered(outputs=[((batch, oh, ow, cout), F32)], bind=bind, flops=2 * batch * oh * ow * cout * kdim,
                   rounds_fp16=rnd, workspace=[((int(hp * wp * cin),), F32)])


def _filter_and_bias(f, b, cout, kdim):
    """The constant filter as a contiguous [cout, kh*kw*cin] float32 matrix and the bias (zeros if omitted)."""
    bias = np.asarray(b.value, F32).reshape(cout) if b is not None else np.zeros(cout, F32)
    return np.ascontiguousarray(f.value, F32).reshape(cout, kdim), np.ascontiguousarray(bias)


def _conv_narrow(ctx, wb, batch, h, w, cin, cout, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, lo, hi, nt):
    """cout <= 8, one group: output rows r and r + ceil(oh / 2) share each
    16-lane vector, read from a zero-padded, row-interleaved band of the input
    (kernels/gemm_n8.py conv2d_f32_n8_rows2_minmax; no im2col, same bits as the
    packed GEMM).  nt > 1: the row pairs in nt chunks, each with its own band
    (kernels/parallel.py).  wb: _filter_and_bias."""
    kdim = kh * kw * cin
    m = batch * oh * ow
    wp = np.zeros((kdim + 1) * 16, F32)
    pack_n8(*wb, wp)
    geo = tuple(np.int64(v) for v in (batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cout))
    _, wq, band, nr = rows2_band(*geo[12:14], *geo[3:10], np.int64(N8_BAND_FLOATS))
    offs = np.zeros(kdim, np.int64)
    rows2_offsets(geo[3], geo[5], geo[8], geo[9], wq, offs)
    rnd = ctx.settings.fp16

    def bind(ins, outs, ws):
        xf, of, wsf = ins[0].reshape(-1), outs[0].reshape(-1), ws[0]
        if nt > 1:
            return par.guarded(bound_kernel(par.conv2d_f32_n8_rows2_minmax_mt, xf, *geo, wp, offs, band, lo, hi,
                                            wsf, nt, of, rnd))
        return bound_kernel(conv2d_f32_n8_rows2_minmax, xf, *geo, wp, offs, band, lo, hi, wsf, of, rnd)
    return Lowered(outputs=[((batch, oh, ow, cout), F32)], bind=bind, flops=2 * m * cout * kdim, rounds_fp16=rnd,
                   workspace=[((int(nt * nr * wq * 2 * cin),), F32)])


def _conv_direct(ctx, wb, batch, h, w, cin, cout, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, lo, hi, nt):
    """Few input channels (an RGB first layer), one group: the GEMM's A operand read
    straight from a zero-padded band of input rows, no border paths
    (kernels/conv_direct.py conv2d_direct_pad_f32_minmax; same bits).  nt > 1: the
    output rows in nt chunks, each with its own band (kernels/parallel.py).
    wb: _filter_and_bias."""
    kdim = kh * kw * cin
    np_ = np.int64(-(-cout // 32) * 32)
    wp = np.zeros((kdim + 1) * np_, F32)
    pack_direct(*wb, np_, wp)
    geo = tuple(np.int64(v) for v in (batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cout))
    wq, band, nr = pad_band(*geo[12:14], *geo[3:10], np.int64(DIRECT_BAND_FLOATS))
    offs = np.zeros(kdim, np.int64)
    direct_offsets(wq, geo[3], geo[4], geo[5], geo[8], geo[9], offs)
    rnd = ctx.settings.fp16

    def bind(ins, outs, ws):
        xf, of = ins[0].reshape(-1), outs[0].reshape(-1)
        if nt > 1:
            return par.guarded(bound_kernel(par.conv2d_direct_pad_f32_minmax_mt, xf, *geo, wp, np_, offs, band, lo,
                                            hi, ws[0], nt, of, rnd))
        return bound_kernel(conv2d_direct_pad_f32_minmax, xf, *geo, wp, np_, offs, band, lo, hi, ws[0], of, rnd)
    return Lowered(outputs=[((batch, oh, ow, cout), F32)], bind=bind, flops=2 * batch * oh * ow * cout * kdim,
                   rounds_fp16=rnd, workspace=[((int(nt * nr * wq * cin),), F32)])


QD8_IM2COL_BLOCK_BYTES = 262144      # uint8 im2col rows per block (L2 is 1 MB)


def _conv_hybrid(ctx, f, b, batch, h, w, cin, cout, kh, kw, cg, groups, sh, sw, dh, dw, pt, pl, oh, ow, lo, hi):
    wscale, per_channel = hybrid_weight_scales(ctx, f, cout, 0)
    bias = _hybrid_bias(ctx, b, cout)
    ng, kdim = cout // groups, kh * kw * cg
    m = batch * oh * ow
    tile = qgemm.choose_qtile(m, ng)
    mr = qgemm.QTILES[tile][0]
    taps = kh * kw
    wts = QD8Weights(f.value, groups, ng, kdim, kdim, 1, ng * kdim, wscale, bias, tile, taps=taps)
    kp = wts.kp
    # TFLite: per-channel filters -> asymmetric per image, per-tensor -> symmetric
    quant = row_quantizer(ctx, per_channel)
    tfl = ctx.settings.numerics == "tflite"
    nt = plan_threads(ctx.settings.num_threads, 2 * m * cout * kdim / Q8_GEMM_OP_PER_US, -(-m // mr))
    if not isa.VNNI:
        nt = 1                       # the portable int8 path stays single-threaded
    direct = kh == kw == 1 and sh == sw == 1 and pt == pl == 0
    if not tfl and direct and groups == 1:
        # XNNPack runs a 1x1/stride-1 conv as a fully connected layer: one
        # quantization per pixel (row of cin), not per image (measured vs LiteRT)
        if nt > 1:
            return rows_hybrid_mt(ctx, wts, m, cout, cin, nt, (batch, oh, ow, cout), lo, hi)
        return rows_hybrid(ctx, wts, m, cout, cin, quant, (batch, oh, ow, cout))
    img = h * w * cin
    # per-image quantization in nt chunks too (asymmetric quantizers; TFLite's symmetric one stays serial)
    quant_mt = nt > 1 and (not tfl or per_channel)
    wq, nks, ws_, bs = wts.wq, wts.nks, wts.ws, wts.bs
    lowered = Lowered(outputs=[((batch, oh, ow, cout), F32)], flops=2 * m * cout * kdim)
    if not isa.VNNI:
        mb = max(mr, QD8_IM2COL_BLOCK_BYTES // kp // mr * mr)
        mb = min(mb, -(-m // mr) * mr)
        lowered.workspace = [((-(-batch * img // 4),), np.int32), ((batch,), F32), ((batch,), np.int32),
                             ((mb * kp // 4,), np.int32), ((mb,), F32), ((mb,), np.int32)]

        def bind(ins, outs, ws):
            xf, of = ins[0].reshape(-1), outs[0].reshape(-1)
            xq32, sc, zp, col32, sa, za = ws
            xq, col = xq32.view(np.uint8), col32.view(np.uint8)
            return chain(quant(xf, batch, img, img, xq, sc, zp),
                         bound_kernel(qgemm.conv2d_qdu8_qc8w_f32_generic, xq, sc, zp, batch, h, w, cin, kh, kw, sh, sw,
                                      dh, dw, pt, pl, oh, ow, groups, cout, wq, nks, ws_, bs, tfl, mb, lo, hi, col, sa,
                                      za, of))
        lowered.bind = bind
        return lowered
    # AVX512-VNNI: indirect GEMM straight from the quantized image (no im2col)
    kc4 = wts.kc4
    zoff, zlen = batch * img + 4, cin + 4          # per-image zero-point pixels (+ the last word's over-read)
    if direct:
        ind, istr = wts.nks, 0                     # unused (same type as an indirection buffer)
    else:
        ind, istr = np.zeros(taps * m, np.int32), m
        qgemm.conv_indirection(batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, zoff, zlen, ind)
    mc = qgemm.tile_mc(tile, kp)
    lowered.workspace = [((-(-(zoff + batch * zlen) // 4),), np.int32), ((batch,), F32), ((batch,), np.int32),
                         ((nt * mc,), F32), ((nt * mc,), np.int32), ((nt + 1, 2), F32), ((1, 2), np.uint8)]
    qmode = 0 if not tfl else (1 if per_channel else 2)

    def bind(ins, outs, ws):
        xf, of = ins[0].reshape(-1), outs[0].reshape(-1)
        xq32, sc, zp, sa, za, mm, mq = ws
        xq = xq32.view(np.uint8)
        x2, q2 = xf[:batch * img].reshape(batch, img), xq[:batch * img].reshape(batch, img)
        if nt > 1:
            from ..kernels import parallel_vnni as PV
            conv_mt = PV.conv2d_qdu8_qc8w_f32_vnni_mt
            qstep = (bound_kernel(par.dynquant_f32_qd8_mt, tfl, x2, q2, sc, zp, nt, mm, mq) if quant_mt
                     else quant(xf, batch, img, img, xq, sc, zp))
            return par.guarded(chain(
                qstep, bound_kernel(qgemm.fill_rows_u8, xq, zoff, zlen, batch, zlen, zp),
                bound_kernel(conv_mt, tile, m, groups, cg, ng, taps, kc4, xq, ind, istr, cin, sc, zp, oh * ow, wq, nks,
                             ws_, bs, tfl, lo, hi, of, cout, mc, sa, za, nt)))
        from ..kernels.qgemm_vnni import conv2d_qd8_vnni
        return bound_kernel(conv2d_qd8_vnni, qmode, x2, q2, xq, sc, zp, zoff, zlen, tile, m, groups, cg, ng, taps, kc4,
                            ind, istr, cin, oh * ow, wq, nks, ws_, bs, tfl, lo, hi, of, mc, sa, za)
    lowered.bind = bind
    return lowered
