"""NI_BATCH_MATMUL: float BATCH_MATMUL reading and writing through TRANSPOSEs.

numba_infer/fuse.py (fuse_transposed_matmul) folds the TRANSPOSEs that feed a
float BATCH_MATMUL, and the one that consumes it, into the matmul: attention's
head split ([B, S, H, D] -> [B, H, S, D], K also -> [B, H, D, S]) and head
merge.  This lowering turns each operand's permutation into element strides:
A rows (k contiguous), B either read in place as [k, n] rows (n contiguous;
kernels/gemm.py batch_matmul_f32_strided_nat) or packed one matrix at a time
from any strides (batch_matmul_f32_strided_packed), and C written straight into
the transposed output.  Every output is the same chain of FMAs in k order as
the unfused TRANSPOSE + BATCH_MATMUL (ops/fully_connected.py), so the bits are
identical (tests/kernels/test_kernels_gemm.py, tests/test_fuse.py).

Node options: perm_a, perm_b, perm_out (None: not transposed), adj_y; an
optional third input is a one-element constant the output is multiplied by
(a MUL that followed the matmul: the same IEEE products).

Threads: with num_threads > 1 and enough work (plan_threads) the batches
(attention's heads) are cut into one chunk per thread (kernels/parallel.py),
each the serial kernel: the same bits.
"""
from __future__ import annotations

import numpy as np

from ..errors import ModelValidationError
from ..kernels.gemm import (TILES, batch_matmul_f32_strided_nat, batch_matmul_f32_strided_packed, choose_tile,
                            choose_tile_nat, packed_size)
from ..kernels import parallel as par
from .common import bound_kernel, broadcast_shape
from .fully_connected import F32_GEMM_FLOP_PER_US
from .registry import Lowered, lowering

F32 = np.dtype(np.float32)


def _strides(shape):
    st, acc = [], 1
    for d in reversed(shape):
        st.append(acc)
        acc *= int(d)
    return tuple(reversed(st))


def _permuted(ctx, shape, perm, what):
    shape = tuple(int(d) for d in shape)
    st = _strides(shape)
    if perm is None:
        return shape, st
    if sorted(perm) != list(range(len(shape))):
        ctx.fail(f"{what} permutation {list(perm)} does not match rank {len(shape)}", ModelValidationError)
    return tuple(shape[p] for p in perm), tuple(st[p] for p in perm)


def batch_offsets(bshape, bstrides, ob):
    """Element offset of each matrix of a [*bshape] batch (strides bstrides)
    broadcast to the batch shape ob, flattened in C order (int64)."""
    nd, pad = len(ob), len(ob) - len(bshape)
    off = np.zeros((1,) * nd, np.int64)
    for d, (size, stride) in enumerate(zip(bshape, bstrides)):
        if size != 1:
            axis = [1] * nd
            axis[pad + d] = size
            off = off + (np.arange(size, dtype=np.int64) * stride).reshape(axis)
    return np.ascontiguousarray(np.broadcast_to(off, ob).reshape(-1))


@lowering("NI_BATCH_MATMUL")
def batch_matmul_strided(ctx):
    ctx.expect_inputs(2, 3)
    x, y = ctx.input(0), ctx.input(1)
    scaled = len(ctx.inputs) == 3
    scale = np.float32(0.0)
    if scaled:
        s = np.asarray(ctx.const(2, "the output scale"))
        if s.dtype != F32 or s.size != 1:
            ctx.fail("the output scale must be one float32 value", ModelValidationError)
        scale = np.float32(s.reshape(-1)[0])
    if x.dtype != F32 or y.dtype != F32:
        ctx.fail("NI_BATCH_MATMUL takes float32 operands", ModelValidationError)
    ashape, sa = _permuted(ctx, x.shape, ctx.opt("perm_a"), "lhs")
    bshape, sb = _permuted(ctx, y.shape, ctx.opt("perm_b"), "rhs")
    if len(ashape) < 2 or len(bshape) < 2:
        ctx.fail(f"operands must have rank >= 2, got {list(ashape)} and {list(bshape)}", ModelValidationError)
    if ctx.opt("adj_y", False):
        bshape = bshape[:-2] + (bshape[-1], bshape[-2])
        sb = sb[:-2] + (sb[-1], sb[-2])
    (m, k), (k2, n) = ashape[-2:], bshape[-2:]
    if k != k2:
        ctx.fail(f"contraction dims differ: {list(ashape)} x {list(bshape)}", ModelValidationError)
    if sa[-1] != 1 and k > 1:
        ctx.fail("lhs rows are not contiguous", ModelValidationError)
    ob = broadcast_shape(ctx, ashape[:-2], bshape[:-2])
    logical = ob + (m, n)
    po = ctx.opt("perm_out")
    if po is None:
        oshape, sc = logical, _strides(logical)
    else:
        oshape, _ = _permuted(ctx, logical, po, "output")
        so = _strides(oshape)
        sc = tuple(so[list(po).index(a)] for a in range(len(logical)))
    if sc[-1] != 1 and n > 1:
        ctx.fail("output rows are not contiguous", ModelValidationError)
    a_off = batch_offsets(ashape[:-2], sa[:-2], ob)
    b_off = batch_offsets(bshape[:-2], sb[:-2], ob)
    c_off = batch_offsets(ob, sc[:-2], ob)
    lda, ldc = sa[-2], sc[-2]
    rnd = ctx.settings.fp16
    lowered = Lowered(outputs=[(oshape, F32)], flops=2 * len(a_off) * m * n * k, rounds_fp16=rnd)
    # threads: whole batches (heads) per chunk, each the serial kernel (the same bits)
    nt = par.plan_threads(ctx.settings.num_threads, 2 * len(a_off) * m * n * k / F32_GEMM_FLOP_PER_US, len(a_off))
    tile = choose_tile_nat(m, n) if sb[-1] == 1 or n == 1 else None
    if tile is not None:
        ldb = sb[-2]

        def bind(ins, outs, ws):
            xf, yf, of = ins[0].reshape(-1), ins[1].reshape(-1), outs[0].reshape(-1)
            if nt > 1:
                return par.guarded(bound_kernel(par.batch_matmul_f32_strided_nat_mt, tile, m, n, k, xf, a_off, lda,
                                                yf, b_off, ldb, of, c_off, ldc, nt, rnd, scaled, scale))
            return bound_kernel(batch_matmul_f32_strided_nat, tile, m, n, k, xf, a_off, lda, yf, b_off, ldb, of,
                                c_off, ldc, rnd, scaled, scale)
    else:
        tile = choose_tile(m, n)
        nr = TILES[tile][1]
        sn, sk = sb[-1], sb[-2]            # W element (j, kk) = B[kk, j]
        zero_bias = np.zeros(n, F32)
        lowered.workspace = [((nt * packed_size(n, k, nr),), F32)]     # one packing per chunk

        def bind(ins, outs, ws):
            xf, yf, of = ins[0].reshape(-1), ins[1].reshape(-1), outs[0].reshape(-1)
            if nt > 1:
                return par.guarded(bound_kernel(par.batch_matmul_f32_strided_packed_mt, tile, m, n, k, xf, a_off, lda,
                                                yf, b_off, sn, sk, zero_bias, ws[0], of, c_off, ldc, nt, rnd, scaled,
                                                scale))
            return bound_kernel(batch_matmul_f32_strided_packed, tile, m, n, k, xf, a_off, lda, yf, b_off, sn, sk,
                                zero_bias, ws[0], of, c_off, ldc, rnd, scaled, scale)
    lowered.bind = bind
    return lowered


def _hybrid_layers(ctx, x_shape, chained):
    """(m, k, [(n, out shape, QD8Weights, lo, hi)]) of the FULLY_CONNECTED layers of a
    fused node (inputs x, w1, b1, w2, b2, ...; options fcs), validated as the FC
    lowering does; chained: layer i + 1 reads layer i's output, else all read x."""
    from .fully_connected import QD8Weights, _hybrid_bias, hybrid_weight_scales, is_hybrid
    from ..kernels import qgemm
    from .common import act_range_f32
    fcs = ctx.opt("fcs")
    if not fcs or len(ctx.inputs) != 1 + 2 * len(fcs):
        ctx.fail("malformed fused node", ModelValidationError)
    x = ctx.input(0)
    size = int(np.prod(x_shape, dtype=np.int64))
    layers, m, k0 = [], None, None
    for i, opts in enumerate(fcs):
        w, b = ctx.input(1 + 2 * i), ctx.optional(2 + 2 * i)
        if not is_hybrid(x, w) or len(w.shape) != 2:
            ctx.fail("expects float input and constant int8 [n, k] weights", ModelValidationError)
        n, k = (int(d) for d in w.shape)
        if m is None:
            if k == 0 or len(x_shape) == 0 or size % k:
                ctx.fail(f"input {list(x_shape)} cannot be reshaped to [-1, {k}]", ModelValidationError)
            m, k0 = size // k, k
        elif k != (layers[-1][0] if chained else k0):
            ctx.fail("the fused layers' sizes do not match", ModelValidationError)
        if b is not None and b.size != n:
            ctx.fail(f"bias has {b.size} elements, expected {n}", ModelValidationError)
        in_shape = x_shape if i == 0 or not chained else layers[-1][1]
        if opts.get("keep_num_dims", False):
            if in_shape[-1] != k:
                ctx.fail(f"keep_num_dims needs the last input dim ({in_shape[-1]}) to equal {k}", ModelValidationError)
            shape = tuple(in_shape[:-1]) + (n,)
        else:
            shape = (m, n)
        wscale, _ = hybrid_weight_scales(ctx, w, n, 0)
        wts = QD8Weights(w.value, 1, n, k, k, 1, 0, wscale, _hybrid_bias(ctx, b, n), qgemm.choose_qtile_fc(m, n))
        lo, hi = (np.float32(v) for v in act_range_f32(ctx, int(opts.get("fused_activation_function", 0) or 0)))
        layers.append((n, shape, wts, lo, hi))
    return m, k0, layers


@lowering("NI_FULLY_CONNECTED_SHARED")
def fully_connected_shared(ctx):
    """Dynamic-range FULLY_CONNECTEDs on one float input (fuse.py
    fuse_shared_input_fc): inputs x, w1, b1, w2, b2, ...; the rows of x are
    quantized once (the FC's own quantizer), then each layer's QD8 GEMM runs
    on them with its packed weights, bias and clamp."""
    from .fully_connected import _gemm_step, row_quantizer
    from .common import chain
    fcs = ctx.opt("fcs")
    m, k, layers = _hybrid_layers(ctx, tuple(ctx.input(0).shape), chained=False)
    kp = layers[0][2].kp
    quant = row_quantizer(ctx, bool(fcs[0].get("asymmetric_quantize_inputs", False)))
    tfl = ctx.settings.numerics == "tflite"

    def bind(ins, outs, ws):
        xf = ins[0].reshape(-1)
        q32, sa, za = ws
        q8 = q32.view(np.uint8)
        steps = [quant(xf, m, k, kp, q8, sa, za)]
        for (n, _, wts, lo, hi), o in zip(layers, outs):
            steps.append(_gemm_step(wts, m, n, kp, q8, sa, za, tfl, lo, hi, o.reshape(-1), n))
        return chain(*steps)
    return Lowered(outputs=[(shape, F32) for _, shape, _, _, _ in layers], bind=bind,
                   flops=sum(2 * m * n * k for n, _, _, _, _ in layers),
                   workspace=[((m * kp // 4,), np.int32), ((m,), F32), ((m,), np.int32)])


@lowering("NI_FULLY_CONNECTED_CHAIN")
def fully_connected_chain(ctx):
    """Dynamic-range FULLY_CONNECTEDs each reading the previous one's output
    (fuse.py fuse_fc_chain; VNNI hosts): every layer's parameter block as its
    own step would pack it (kernels/qgemm.py pack_fc_qd8), concatenated
    64-byte aligned, run by one kernel (qgemm_vnni.fc_chain_qd8_vnni)."""
    from .. import isa
    from ..kernels import qgemm
    from .fully_connected import row_quantizer
    if not isa.VNNI:
        ctx.fail("NI_FULLY_CONNECTED_CHAIN needs the VNNI kernels")
    fcs = ctx.opt("fcs")
    m, k, layers = _hybrid_layers(ctx, tuple(ctx.input(0).shape), chained=True)
    qmode = row_quantizer(ctx, False).qmode
    blocks = []
    for (n, _, wts, lo, hi), opts in zip(layers, fcs):
        if bool(opts.get("asymmetric_quantize_inputs", False)) != bool(fcs[0].get("asymmetric_quantize_inputs", False)):
            ctx.fail("the fused layers quantize differently", ModelValidationError)
        wall = qgemm.pack_fc_qd8(qmode, wts.tile, n, wts.kp, False, lo, hi, n, wts.wq, wts.nks, wts.ws, wts.bs)
        blocks.append(np.concatenate([wall, np.zeros(-len(wall) % 16, np.int32)]))   # keep each block 64-byte aligned
    offs = np.cumsum([0] + [len(b) for b in blocks]).astype(np.int64)
    walls = qgemm.zeros_aligned(int(offs[-1]), np.int32)
    for b, o in zip(blocks, offs):
        walls[o:o + len(b)] = b
    work = max(m * wts.kp // 4 + 2 * m for _, _, wts, _, _ in layers)
    mid = max([n for n, _, _, _, _ in layers[:-1]], default=0)
    shape = layers[-1][1]

    softmax = bool(ctx.opt("softmax", False))        # a SOFTMAX (beta 1) on the output, in place

    def bind(ins, outs, ws):
        from ..kernels.qgemm_vnni import fc_chain_qd8_vnni, fc_chain_softmax_qd8_vnni
        x2 = ins[0].reshape(-1)[:m * k].reshape(m, k)
        kern = fc_chain_softmax_qd8_vnni if softmax else fc_chain_qd8_vnni
        return bound_kernel(kern, x2, ws[0], walls, offs, ws[1], outs[0].reshape(-1))
    flops = sum(2 * m * n * w.kp for n, _, w, _, _ in layers) + (5 * m * layers[-1][0] if softmax else 0)
    return Lowered(outputs=[(shape, F32)], bind=bind, flops=flops,
                   workspace=[((work,), np.int32), ((2 * m * max(mid, 1),), F32)])
