"""FULLY_CONNECTED and BATCH_MATMUL (float32) on the packed-weight GEMM.

Constant weights are packed once here, at prepare time, into the panel layout
of kernels/gemm.py (bias folded into each panel).  Runtime weights (and
runtime BATCH_MATMUL operands) are packed into a workspace by the step,
except a runtime BATCH_MATMUL rhs [*, k, n] (no adj_y) with n a multiple of
16, which the GEMM reads in place (batch_matmul_f32_f32_f32_nat).  Steps that
are one kernel call are bound to the compiled entry point (common.bound_kernel).

Dtype dispatch: float32 x float32, and float32 input x constant int8 weights
(dynamic-range "hybrid", QD8-F32 x QC8W): the input rows are quantized per row
at run time and go through the int8 GEMM of kernels/qgemm.py (AVX512-VNNI
or generic, chosen by numba_infer.isa).  ``ctx.settings.numerics``:
"xnnpack" (default) matches LiteRT's default XNNPack delegate (asymmetric
per-row quantization, float math, RNE); "tflite" matches TFLite's builtin
hybrid kernels (asymmetric_quantize_inputs honoured, else symmetric; round
half away from zero).  Int8 input (full-int8): ops/qs8.py.

Threads: a float32 FULLY_CONNECTED with constant weights runs its GEMM's row
tiles in chunks (kernels/parallel.py gemm_f32_f32_f32_minmax_mt), or its
weight panels (gemm_f32_f32_f32_minmax_cols_mt) when that balances better or
for one row (the GEMV), when f32_gemm_threads finds it large enough; the same
bits as one thread.
"""
from __future__ import annotations

import numpy as np

from ..errors import ModelValidationError
from ..kernels.gemm import (batch_matmul_f32_f32_f32, batch_matmul_f32_f32_f32_nat, choose_tile, choose_tile_nat,
                            gemm_f32_f32_f32_minmax, pack_gemm_f32, pack_gemm_f32_batched, packed_size,
                            transpose_f32_batched, TILE_6x64, TILES)
from .. import isa
from ..kernels import dynquant, parallel as par, qgemm
from .common import act_range_f32, bound_kernel, broadcast_shape, chain
from .registry import Lowered, lowering
from . import qs8, tflite_float
from .qs8 import Q8_GEMM_OP_PER_US, QDTYPES

F32 = np.dtype(np.float32)
# single-thread rates used to guess an op's run time (plan_threads): the packed fp32
# GEMM (convs of mobilenet_v2: 40-110 GFLOP/s), and the one-row GEMV's weight
# stream (efficientnet_v2_b0: the 1280 x 1000 classifier's 5 MB ~29 GB/s, its
# squeeze-excite 1x1 convs' 221 KB ~17 GB/s: weights that come from memory)
F32_GEMM_FLOP_PER_US = 1.0e5
F32_GEMV_BYTES_PER_US = 2.0e4


def f32c(v):
    """A writable C-contiguous float32 copy/view of a constant (one Numba specialization)."""
    v = np.asarray(v)
    if v.dtype == F32 and v.flags.c_contiguous and v.flags.writeable:
        return v
    return np.array(v, F32, order="C")


def pack_weights(w_nk, bias, tile):
    """Pack a constant [n, k] weight matrix (+ bias or None) for the given tile."""
    n, k = w_nk.shape
    nr = TILES[tile][1]
    out = np.zeros(packed_size(n, k, nr), F32)
    b = f32c(bias).reshape(-1) if bias is not None else np.zeros(n, F32)
    pack_gemm_f32(f32c(w_nk).reshape(-1), 0, k, 1, n, k, b, nr, out)
    return out


def _float_only(ctx, what, *tensors):
    for t in tensors:
        if t is not None and t.dtype != F32:
            ctx.fail(f"{what}: tensor {t.name!r} has dtype {t.type_name}; only float32 is supported "
                     f"(int8/hybrid paths are not implemented yet)")


I8 = np.dtype(np.int8)


def is_hybrid(x, w):
    return x.dtype == F32 and w is not None and w.dtype == I8


def hybrid_weight_scales(ctx, w, n, axis):
    """Per-output-channel float32 scales of a constant int8 weight tensor
    (per-tensor scales broadcast); zero points must be 0 (symmetric)."""
    q = w.quant
    if w.value is None:
        ctx.fail(f"int8 weights {w.name!r} must be constant for the hybrid (dynamic-range) path")
    if q is None or q.scale.size == 0:
        ctx.fail(f"int8 weights {w.name!r} have no quantization scale", ModelValidationError)
    if np.any(q.zero_point != 0):
        ctx.fail(f"int8 weights {w.name!r} with nonzero zero points are not supported (hybrid needs symmetric)")
    sc = np.asarray(q.scale, F32).reshape(-1)
    if sc.size == 1:
        return np.full(n, sc[0], F32), False
    if sc.size != n or q.quantized_dimension != axis:
        ctx.fail(f"int8 weights {w.name!r}: {sc.size} scales on dimension {q.quantized_dimension}, expected "
                 f"1 or {n} on dimension {axis}", ModelValidationError)
    if not np.all(np.isfinite(sc)):
        ctx.fail(f"int8 weights {w.name!r} have non-finite scales", ModelValidationError)
    return sc.copy(), True


class QD8Weights:
    """Constant int8 weights of G groups of [n, k] packed for the chosen ISA.

    VNNI: wq int32 words (pack_qc8w_vnni, per group back to back), params
    [G][npad] with npad = n rounded up to the tile's NR; with taps > 1 (a conv,
    contiguous [G, n, taps, k / taps] weights) each tap's channels are padded
    to kc4*4 for the indirect GEMM (kernels/qgemm.py pack_igemm_weights), and
    kp = taps * kc4 * 4.  Generic: wq int8 rows [G][n][kp], params [G][n].
    """

    def __init__(self, wv, g, n, k, sn, sk, gstride, wscale, bias, tile, taps=1):
        self.kp = kp = qgemm.kpad(k)
        self.kc4 = kp // 4
        self.tile = tile
        wf = np.ascontiguousarray(wv, I8).reshape(-1)
        if isa.VNNI and taps > 1:
            self.wq, self.kc4, npad = qgemm.pack_igemm_weights(wf.reshape(g, n, taps, k // taps), tile)
            self.kp = taps * self.kc4 * 4
        elif isa.VNNI:
            nr = qgemm.QTILES[tile][1]
            npad = -(-n // nr) * nr
            words = qgemm.vnni_packed_words(n, k, nr)
            self.wq = qgemm.zeros_aligned(g * words, np.int32)
            for gi in range(g):
                qgemm.pack_qc8w_vnni(wf, gi * gstride, sn, sk, n, k, nr, self.wq[gi * words:(gi + 1) * words].view(I8))
        else:
            npad = n
            self.wq = qgemm.zeros_aligned(g * n * kp, I8)
            for gi in range(g):
                qgemm.pack_qc8w_rows(wf, gi * gstride, sn, sk, n, k, kp, self.wq[gi * n * kp:(gi + 1) * n * kp])
        self.npad = npad
        self.nks = np.zeros(g * npad, np.int32)
        self.ws = np.zeros(g * npad, F32)
        self.bs = np.zeros(g * npad, F32)
        for gi in range(g):
            sl = slice(gi * npad, (gi + 1) * npad)
            qgemm.qc8w_channel_params(wf, gi * gstride, sn, sk, n, k, wscale[gi * n:(gi + 1) * n],
                                      bias[gi * n:(gi + 1) * n], self.nks[sl], self.ws[sl], self.bs[sl])


def row_quantizer(ctx, asym):
    """The per-row quantizer of the numerics setting, as a bind-time helper:
    ``quant(xf, m, k, ldq, q8, scale, zpu)`` returns a zero-argument step that
    quantizes the m rows of k floats in xf into q8 (uint8 codes q + 128, row
    stride ldq) with per-row scale and zpu = zero point + 128.  Its ``qmode``
    attribute is the quantizer's number in the fused kernels (0 XNNPack,
    1 TFLite asymmetric, 2 TFLite symmetric)."""
    numerics = ctx.settings.numerics
    if numerics == "xnnpack":
        kern, qmode = dynquant.dynquant_f32_qd8_xnn, 0
    elif numerics == "tflite":
        kern, qmode = ((dynquant.dynquant_f32_qd8_tflite, 1) if asym else (dynquant.dynquant_f32_qs8_tflite_sym, 2))
    else:
        ctx.fail(f"unknown numerics setting {numerics!r}")

    def quant(xf, m, k, ldq, q8, scale, zpu):
        x2 = xf[:m * k].reshape(m, k)
        q2 = q8[:m * ldq].reshape(m, ldq)
        return bound_kernel(kern, x2, U8_OFFSET, q2, scale, zpu)
    quant.qmode = qmode
    return quant


U8_OFFSET = 128          # activations are stored as uint8 q + 128 (XNNPack's qdu8)


def _hybrid_bias(ctx, b, n):
    if b is None:
        return np.zeros(n, F32)
    if b.dtype != F32:
        ctx.fail(f"hybrid op: bias {b.name!r} has dtype {b.type_name}, expected float32")
    if b.value is None:
        ctx.fail("hybrid op: non-constant bias is not supported")
    return np.array(b.value, F32).reshape(-1)


def _gemm_step(wts, m, n, kp, q8, sa, za, tfl, lo, hi, of, ldc):
    """Zero-argument closure running the QD8 GEMM on uint8 rows q8 (row
    stride kp; ISA chosen at prepare)."""
    wq, nks, ws, bs = wts.wq, wts.nks, wts.ws, wts.bs
    if isa.VNNI:
        from ..kernels.qgemm_vnni import gemm_qdu8_qc8w_f32_rows_vnni
        tile = wts.tile
        return bound_kernel(gemm_qdu8_qc8w_f32_rows_vnni, tile, m, n, kp, q8, kp, sa, za, wq, nks, ws, bs, tfl, lo, hi,
                            of, ldc)
    g = qgemm.gemm_qdu8_qc8w_f32_generic
    return bound_kernel(g, m, n, kp, q8, kp, sa, za, wq, nks, ws, bs, tfl, lo, hi, of, ldc)


def _fc_hybrid(ctx, x, w, b, m, n, k, out_shape):
    wscale, _ = hybrid_weight_scales(ctx, w, n, 0)
    bias = _hybrid_bias(ctx, b, n)
    wts = QD8Weights(w.value, 1, n, k, k, 1, 0, wscale, bias, qgemm.choose_qtile_fc(m, n))
    nt = hybrid_fc_threads(ctx.settings, m, n, k)
    if nt > 1:
        lo, hi = (np.float32(v) for v in act_range_f32(ctx))
        return rows_hybrid_mt(ctx, wts, m, n, k, nt, out_shape, lo, hi)
    quant = row_quantizer(ctx, ctx.opt("asymmetric_quantize_inputs", False))
    return rows_hybrid(ctx, wts, m, n, k, quant, out_shape)


def rows_hybrid(ctx, wts, m, n, k, quant, out_shape):
    """Lowered of out[m, n] = QD8 GEMM of the m float rows of input 0 (each
    quantized on its own) with the packed weights wts."""
    lo, hi = (np.float32(v) for v in act_range_f32(ctx))
    kp = wts.kp
    tfl = ctx.settings.numerics == "tflite"
    if isa.VNNI:
        # one step of 4 arrays (kernels/qgemm_vnni.py fc_qd8_vnni): the weights and every
        # parameter in one int32 block, the quantized rows and their scales / zero points
        # in one workspace
        wall = qgemm.pack_fc_qd8(quant.qmode, wts.tile, n, kp, tfl, lo, hi, n, wts.wq, wts.nks, wts.ws, wts.bs)

        gemv = m == 1 and wts.tile in (qgemm.TILE_1x64, qgemm.TILE_8x16)
        nt = gemv_threads(ctx.settings, wts.wq.nbytes, -(-n // qgemm.QTILES[wts.tile][1])) if gemv else 1

        def bind_vnni(ins, outs, ws):
            from ..kernels.qgemm_vnni import fc_qd8_gemv_vnni, fc_qd8_vnni
            x2 = ins[0].reshape(-1)[:m * k].reshape(m, k)
            if nt > 1:
                from ..kernels.parallel_vnni import fc_qd8_gemv_vnni_mt
                return par.guarded(bound_kernel(fc_qd8_gemv_vnni_mt, x2, ws[0], wall, outs[0].reshape(-1), nt))
            return bound_kernel(fc_qd8_gemv_vnni if gemv else fc_qd8_vnni, x2, ws[0], wall, outs[0].reshape(-1))
        return Lowered(outputs=[(out_shape, F32)], bind=bind_vnni, flops=2 * m * n * k,
                       workspace=[((m * kp // 4 + 2 * m,), np.int32)])

    def bind(ins, outs, ws):
        xf, of = ins[0].reshape(-1), outs[0].reshape(-1)
        q32, sa, za = ws
        q8 = q32.view(np.uint8)
        gemm = _gemm_step(wts, m, n, kp, q8, sa, za, tfl, lo, hi, of, n)
        return chain(quant(xf, m, k, kp, q8, sa, za), gemm)
    return Lowered(outputs=[(out_shape, F32)], bind=bind, flops=2 * m * n * k,
                   workspace=[((m * kp // 4,), np.int32), ((m,), F32), ((m,), np.int32)])


def rows_hybrid_mt(ctx, wts, m, n, k, nt, out_shape, lo, hi):
    """rows_hybrid (XNNPack numerics: per-row quantization) with quantization
    and GEMM fused per chunk of rows, nt chunks (VNNI only); bit-identical to
    one thread (every row is quantized and multiplied on its own)."""
    from ..kernels.parallel_vnni import gemm_qd8_rows_f32_vnni_mt
    kp, tile = wts.kp, wts.tile
    wq, nks, ws_, bs = wts.wq, wts.nks, wts.ws, wts.bs

    def bind(ins, outs, ws):
        x2, of = ins[0].reshape(-1)[:m * k].reshape(m, k), outs[0].reshape(-1)
        q32, sa, za = ws
        q2 = q32.view(np.uint8).reshape(m, kp)
        return par.guarded(bound_kernel(gemm_qd8_rows_f32_vnni_mt, 0, x2, q2, sa, za, tile, n, kp, wq, nks, ws_, bs,
                                        False, lo, hi, of, n, nt))
    return Lowered(outputs=[(out_shape, F32)], bind=bind, flops=2 * m * n * k,
                   workspace=[((m * kp // 4,), np.int32), ((m,), F32), ((m,), np.int32)])


GEMV_MT_MIN_BYTES = 256 * 1024     # one-row FCs with at least this much weight split their columns


def gemv_threads(settings, weight_bytes, panels):
    """Chunks of output columns for a one-row dynamic-range FC (a GEMV): its time
    is the weight stream (~90 GB/s from L3 on one core), so it is split when the
    weights are large enough to pay for the threads' start (~3 us), not by the
    compute estimate of plan_threads."""
    nt = par.resolve_threads(settings.num_threads)
    if nt <= 1 or not isa.VNNI or weight_bytes < GEMV_MT_MIN_BYTES or panels < nt:
        return 1
    return nt


def hybrid_fc_threads(settings, m, n, k):
    """Chunks of rows for a dynamic-range FULLY_CONNECTED of m x k rows and n
    outputs (1: the serial step): threaded only on VNNI hosts with XNNPack
    numerics (rows_hybrid_mt), when plan_threads finds the op large enough."""
    if not isa.VNNI or settings.numerics != "xnnpack":
        return 1
    mr = qgemm.QTILES[qgemm.choose_qtile_fc(m, n)][0]
    return par.plan_threads(settings.num_threads, 2 * m * n * k / Q8_GEMM_OP_PER_US, -(-m // mr))


def f32_gemm_threads(settings, m, n, k, tile):
    """(chunks, threaded driver) for the packed float32 GEMM of m x k by k x n
    (an FC, a 1x1 conv); both drivers take gemm_f32_f32_f32_minmax's arguments
    plus the chunk count.  By plan_threads' compute estimate: row tiles, or
    weight panels when that balances the chunks better (par.gemm_col_split).
    One row on the 6x64 packing runs the GEMV, bound by the weight stream:
    estimated at F32_GEMV_BYTES_PER_US and cut into weight panels."""
    mr, nr = TILES[tile]
    if m == 1 and tile == TILE_6x64:
        nt = par.plan_threads(settings.num_threads, (k + 1) * -(-n // nr) * nr * 4 / F32_GEMV_BYTES_PER_US,
                              -(-n // nr))
        return nt, par.gemm_f32_f32_f32_minmax_cols_mt
    nt = par.plan_threads(settings.num_threads, 2 * m * n * k / F32_GEMM_FLOP_PER_US, max(-(-m // mr), -(-n // nr)))
    if nt > 1 and par.gemm_col_split(nt, m, mr, n, nr):
        return nt, par.gemm_f32_f32_f32_minmax_cols_mt
    return nt, par.gemm_f32_f32_f32_minmax_mt


@lowering("FULLY_CONNECTED", versions=(1, 13))
def fully_connected(ctx):
    ctx.expect_inputs(2, 4)
    x, w = ctx.input(0), ctx.input(1)
    if x.dtype in QDTYPES:
        return qs8.fully_connected_qs8(ctx)
    if ctx.settings.numerics == "tflite" and x.dtype == F32 and w.dtype == F32:
        return tflite_float.fully_connected_f32_tflite(ctx)
    b = ctx.optional(2)
    hybrid = is_hybrid(x, w)
    if not hybrid:
        _float_only(ctx, "FULLY_CONNECTED", x, w, b)
    if ctx.opt("weights_format", 0) != 0:
        ctx.fail("shuffled (SHUFFLED4x16INT8) weights_format is not supported")
    if len(w.shape) != 2:
        ctx.fail(f"weights must be 2-D [out, in], got {list(w.shape)}", ModelValidationError)
    n, k = (int(d) for d in w.shape)
    if k == 0 or len(x.shape) == 0 or x.size % k:
        ctx.fail(f"input {list(x.shape)} cannot be reshaped to [-1, {k}]", ModelValidationError)
    if b is not None and b.size != n:
        ctx.fail(f"bias has {b.size} elements, expected {n}", ModelValidationError)
    m = x.size // k
    if ctx.opt("keep_num_dims", False):
        if x.shape[-1] != k:
            ctx.fail(f"keep_num_dims needs the last input dim ({x.shape[-1]}) to equal {k}",
                     ModelValidationError)
        out_shape = tuple(x.shape[:-1]) + (n,)
    else:
        out_shape = (m, n)
    if hybrid:
        return _fc_hybrid(ctx, x, w, b, m, n, k, out_shape)
    lo, hi = (np.float32(v) for v in act_range_f32(ctx))
    tile = choose_tile(m, n)
    rnd = ctx.settings.fp16               # fp16 emulation: the GEMM epilogue rounds
    lowered = Lowered(outputs=[(out_shape, F32)], flops=2 * m * n * k, rounds_fp16=rnd)

    if w.value is not None and (b is None or b.value is not None):
        wp = pack_weights(w.value.reshape(n, k), None if b is None else b.value, tile)
        nt, drv = f32_gemm_threads(ctx.settings, m, n, k, tile)

        def bind(ins, outs, ws):
            xf, of = ins[0].reshape(-1), outs[0].reshape(-1)
            if nt > 1:
                return par.guarded(bound_kernel(drv, tile, m, n, k, xf, k, wp, lo, hi, of, n, nt, rnd))
            return bound_kernel(gemm_f32_f32_f32_minmax, tile, m, n, k, xf, k, wp, lo, hi, of, n, rnd)
    else:
        # runtime weights and/or bias: pack every run into a workspace
        nr = TILES[tile][1]
        lowered.workspace = [((packed_size(n, k, nr),), F32)]
        zero_bias = np.zeros(n, F32)

        def bind(ins, outs, ws):
            xf, wf, of, wp = ins[0].reshape(-1), ins[1].reshape(-1), outs[0].reshape(-1), ws[0]
            bf = ins[2].reshape(-1) if len(ins) > 2 and ins[2] is not None else zero_bias
            return chain(bound_kernel(pack_gemm_f32, wf, 0, k, 1, n, k, bf, nr, wp),
                         bound_kernel(gemm_f32_f32_f32_minmax, tile, m, n, k, xf, k, wp, lo, hi, of, n, rnd))
    lowered.bind = bind
    return lowered


@lowering("BATCH_MATMUL", versions=(1, 4))
def batch_matmul(ctx):
    ctx.expect_inputs(2, 2)
    x, y = ctx.input(0), ctx.input(1)
    if x.dtype in QDTYPES:
        return qs8.batch_matmul_qs8(ctx)
    if ctx.settings.numerics == "tflite" and x.dtype == F32 and y.dtype == F32:
        return tflite_float.batch_matmul_f32_tflite(ctx)
    hybrid = is_hybrid(x, y)
    if not hybrid:
        _float_only(ctx, "BATCH_MATMUL", x, y)
    if len(x.shape) < 2 or len(y.shape) < 2:
        ctx.fail(f"operands must have rank >= 2, got {list(x.shape)} and {list(y.shape)}", ModelValidationError)
    adj_x, adj_y = bool(ctx.opt("adj_x", False)), bool(ctx.opt("adj_y", False))
    m, k = (x.shape[-1], x.shape[-2]) if adj_x else (x.shape[-2], x.shape[-1])
    k2, n = (y.shape[-1], y.shape[-2]) if adj_y else (y.shape[-2], y.shape[-1])
    m, k, n = int(m), int(k), int(n)
    if k != k2:
        ctx.fail(f"contraction dims differ: {list(x.shape)} (adj_x={adj_x}) x {list(y.shape)} (adj_y={adj_y})",
                 ModelValidationError)
    xb, yb = tuple(x.shape[:-2]), tuple(y.shape[:-2])
    ob = broadcast_shape(ctx, xb, yb)
    nx, ny = int(np.prod(xb, dtype=np.int64)), int(np.prod(yb, dtype=np.int64))
    a_idx = np.ascontiguousarray(np.broadcast_to(np.arange(nx, dtype=np.int64).reshape(xb), ob).reshape(-1))
    w_idx = np.ascontiguousarray(np.broadcast_to(np.arange(ny, dtype=np.int64).reshape(yb), ob).reshape(-1))
    if hybrid:
        return _bmm_hybrid(ctx, x, y, m, n, k, nx, ny, ob, a_idx, w_idx, adj_x, adj_y)
    rnd = ctx.settings.fp16
    if y.value is None and not adj_y and choose_tile_nat(m, n) is not None:
        return _bmm_f32_nat(x, m, n, k, nx, ob, a_idx, w_idx, adj_x, rnd)
    tile = choose_tile(m, n)
    nr = TILES[tile][1]
    ps = packed_size(n, k, nr)
    # W element (j, kk) of one rhs matrix: adj_y -> y[j, kk] ([n, k]); else y[kk, j] ([k, n])
    sn, sk = (k, 1) if adj_y else (1, n)
    zero_bias = np.zeros(n, F32)
    lowered = Lowered(outputs=[(ob + (m, n), F32)], flops=2 * len(a_idx) * m * n * k, rounds_fp16=rnd)
    workspace = []
    if y.value is not None:
        wp = np.zeros(ny * ps, F32)
        pack_gemm_f32_batched(f32c(y.value).reshape(-1), ny, sn, sk, n, k, zero_bias, nr, wp)
    else:
        workspace.append(((ny * ps,), F32))
    if adj_x:
        workspace.append(((nx * m * k,), F32))
    lowered.workspace = workspace

    def bind(ins, outs, ws):
        xf, yf, of = ins[0].reshape(-1), ins[1].reshape(-1), outs[0].reshape(-1)
        ws = list(ws)
        wpk = wp if y.value is not None else ws.pop(0)
        xt = ws.pop(0) if adj_x else xf
        return chain(
            None if y.value is not None else bound_kernel(pack_gemm_f32_batched, yf, ny, sn, sk, n, k, zero_bias, nr,
                                                          wpk),
            bound_kernel(transpose_f32_batched, xf, nx, k, m, xt) if adj_x else None,
            bound_kernel(batch_matmul_f32_f32_f32, tile, m, n, k, xt, a_idx, wpk, w_idx, of, rnd))
    lowered.bind = bind
    return lowered


def _bmm_f32_nat(x, m, n, k, nx, ob, a_idx, w_idx, adj_x, rnd):
    """Runtime float RHS [*, k, n] (no adj_y) with n a multiple of 16: the
    GEMM reads it in place (kernels/gemm.py batch_matmul_f32_f32_f32_nat), no
    per-run packing; same bits as the packed path."""
    tile = choose_tile_nat(m, n)
    lowered = Lowered(outputs=[(ob + (m, n), F32)], flops=2 * len(a_idx) * m * n * k, rounds_fp16=rnd)
    if adj_x:
        lowered.workspace = [((nx * m * k,), F32)]

    def bind(ins, outs, ws):
        xf, yf, of = ins[0].reshape(-1), ins[1].reshape(-1), outs[0].reshape(-1)
        if not adj_x:
            return bound_kernel(batch_matmul_f32_f32_f32_nat, tile, m, n, k, xf, a_idx, yf, w_idx, of, rnd)
        xt = ws[0]
        return chain(bound_kernel(transpose_f32_batched, xf, nx, k, m, xt),
                     bound_kernel(batch_matmul_f32_f32_f32_nat, tile, m, n, k, xt, a_idx, yf, w_idx, of, rnd))
    lowered.bind = bind
    return lowered


def _bmm_hybrid(ctx, x, y, m, n, k, nx, ny, ob, a_idx, w_idx, adj_x, adj_y):
    """float LHS x constant int8 RHS: LHS rows quantized per row, as FC."""
    rank = len(y.shape)
    wscale, _ = hybrid_weight_scales(ctx, y, n, rank - 2 if adj_y else rank - 1)
    sn, sk = (k, 1) if adj_y else (1, n)
    tile = qgemm.choose_qtile(m, n)
    wts = QD8Weights(y.value, ny, n, k, sn, sk, n * k, np.tile(wscale, ny), np.zeros(ny * n, F32), tile)
    kp = wts.kp
    quant = row_quantizer(ctx, ctx.opt("asymmetric_quantize_inputs", False))
    tfl = ctx.settings.numerics == "tflite"
    rows = nx * m
    workspace = [((rows * kp // 4,), np.int32), ((rows,), F32), ((rows,), np.int32)]
    if adj_x:
        workspace.append(((nx * m * k,), F32))

    def bind(ins, outs, ws):
        xf, of = ins[0].reshape(-1), outs[0].reshape(-1)
        q32, sa, za = ws[:3]
        q8 = q32.view(np.uint8)
        xt = ws[3] if adj_x else xf
        wq, nks, wsc, bs = wts.wq, wts.nks, wts.ws, wts.bs
        if isa.VNNI:
            from ..kernels.qgemm_vnni import batch_matmul_qdu8_qc8w_f32_vnni as bmm
            mm = bound_kernel(bmm, tile, m, n, kp, q8, sa, za, a_idx, wq, w_idx, nks, wsc, bs, tfl, of)
        else:
            mm = bound_kernel(qgemm.batch_matmul_qdu8_qc8w_f32_generic, m, n, kp, q8, sa, za, a_idx, wq, w_idx, nks,
                              wsc, bs, tfl, of)
        return chain(bound_kernel(transpose_f32_batched, xf, nx, k, m, xt) if adj_x else None,
                     quant(xt, rows, k, kp, q8, sa, za), mm)
    return Lowered(outputs=[(ob + (m, n), F32)], bind=bind, workspace=workspace,
                   flops=2 * len(a_idx) * m * n * k)
