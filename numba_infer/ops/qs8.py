"""Full-integer QS8 / QU8 lowerings of CONV_2D, DEPTHWISE_CONV_2D,
FULLY_CONNECTED, BATCH_MATMUL and TRANSPOSE_CONV (plain functions; the op
families in conv.py / depthwise.py / fully_connected.py / transpose_conv.py
dispatch int8/uint8 inputs here).

- QS8: int8 activations, int8 weights (symmetric, per channel or per tensor),
  int32 bias with scale s_x * s_w.  QU8: uint8 activations, uint8 weights with
  one zero point (per tensor), int32 bias.
- numerics "tflite" = LiteRT 2.3.0's x86 builtin kernels: TFLite's
  MultiplyByQuantizedMultiplier with the final shift rounded half up
  (CONV_2D, DEPTHWISE, FULLY_CONNECTED), gemmlowp's half-away shift
  (BATCH_MATMUL), or both by channel block (TRANSPOSE_CONV); see kernels/qs8.py.
- numerics "xnnpack" = XNNPack's fp32 requantization
  (out = rne(clamp(float(acc) * scale[c])) + zp, scale = float32(s_x * s_w[c]) / s_out)
  (QU8 too, except DEPTHWISE: the default interpreter runs uint8 depthwise on
  the builtin kernel, which rounds half away from zero, unlike int8).  uint8
  BATCH_MATMUL does not exist in LiteRT.

Kernels: kernels/qs8.py (generic) and kernels/qs8_vnni.py (AVX512-VNNI, int8
weights only).  Multipliers follow TFLite's Prepare: per-channel effective
scales in double for int8 conv / depthwise / transpose conv / per-channel FC;
float32 product (GetQuantizedConvolutionMultipler) for per-tensor FC,
BATCH_MATMUL and everything uint8.

Threads (as in conv.py): int8 CONV_2D and FULLY_CONNECTED on the VNNI path
(kernels/parallel_vnni.py; FC runs as a 1x1 conv over its rows) and every
DEPTHWISE_CONV_2D (kernels/parallel.py) go threaded for large enough ops;
bit-identical to one thread.  BATCH_MATMUL / TRANSPOSE_CONV and the generic
int8 paths stay single-threaded.
"""
from __future__ import annotations

import numpy as np

from .. import isa
from ..errors import ModelValidationError
from ..kernels import qgemm, qs8 as K
from ..quant import (act_range_q, check_bias_scale, conv_multiplier_per_tensor, conv_multipliers_per_channel,
                     tensor_qparams, tensor_qparams_pc)
from ..kernels import parallel as par
from ..kernels.parallel import plan_threads
from .common import bound_kernel, broadcast_shape, chain, padding
from .registry import Lowered

I8, U8, I32 = np.dtype(np.int8), np.dtype(np.uint8), np.dtype(np.int32)
QDTYPES = (np.dtype(np.int8), np.dtype(np.uint8))   # full-integer activations: these lowerings

BLOCK_BYTES = 262144         # im2col / int32 row block size (L2 is 1 MB)
# single-thread rates used to guess an op's run time (plan_threads)
Q8_GEMM_OP_PER_US = 3.0e5


class QParams:
    """Prepare-time requantization parameters of one op (TFLite's OpData)."""

    def __init__(self, ctx, x, w, b, out, n, qdim, per_channel_double, nup=None, symmetric=None):
        if x.dtype not in (I8, U8):
            ctx.fail(f"input dtype {x.type_name} is not a quantized 8-bit type")
        self.qu8 = x.dtype == U8
        if w is not None and w.dtype != x.dtype:
            ctx.fail(f"filter dtype {w.type_name} with input dtype {x.type_name} is not supported")
        if out.dtype != x.dtype:
            ctx.fail(f"output dtype {out.type_name} with input dtype {x.type_name} is not supported")
        self.sx, self.zx = tensor_qparams(ctx, x)
        self.so, self.zo = tensor_qparams(ctx, out)
        if w is not None:
            sym = (not self.qu8) if symmetric is None else symmetric
            ws, wz, qd = tensor_qparams_pc(ctx, w, n, symmetric=sym)
            nscale = np.asarray(w.quant.scale).size
            if nscale > 1 and qd != qdim:
                ctx.fail(f"filter {w.name!r}: per-channel quantization on dimension {qd}, expected {qdim}",
                         ModelValidationError)
            if self.qu8 and (nscale > 1 or np.any(wz != wz[0])):
                ctx.fail("uint8 filters must be quantized per tensor", ModelValidationError)
            self.zw = int(wz[0])
        else:
            raise AssertionError("QParams needs the weights tensor")
        self.ws = ws
        self.per_channel = ws is not None and np.asarray(w.quant.scale).size > 1
        self.n = n
        if b is not None:
            if b.dtype != I32:
                ctx.fail(f"bias dtype {b.type_name} is not supported (int32 expected)")
            if b.size != n:
                ctx.fail(f"bias has {b.size} elements, expected {n}", ModelValidationError)
            if b.value is None:
                ctx.fail("non-constant bias is not supported")
            bscale, _, _ = tensor_qparams_pc(ctx, b, n, dtype=np.int32)
            for c in range(n):
                if not check_bias_scale(self.sx, ws[c], bscale[c], self.so):
                    ctx.fail(f"bias scale {float(bscale[c])} of channel {c} is not input_scale * filter_scale "
                             f"({self.sx} * {float(ws[c])})", ModelValidationError)
            self.bias = np.ascontiguousarray(b.value, np.int64).reshape(n)
        else:
            self.bias = np.zeros(n, np.int64)
        # TFLite fixed-point multipliers
        if per_channel_double and not self.qu8:
            m, s = conv_multipliers_per_channel(self.sx, ws, self.so, n)
        else:
            m1, s1 = conv_multiplier_per_tensor(self.sx, ws[0], self.so)
            m, s = np.full(n, m1, np.int32), np.full(n, s1, np.int32)
        if np.any(s > 30) or np.any(s < -31):
            ctx.fail(f"requantization scale out of range (shift {int(s.max())}/{int(s.min())})", ModelValidationError)
        self.mult = np.ascontiguousarray(m, np.int32)
        self.lsh = np.ascontiguousarray(np.maximum(s, 0), np.int32)
        self.rsh = np.ascontiguousarray(np.maximum(-s, 0), np.int32)
        self.fscale = ((np.float32(self.sx) * ws.astype(np.float32)) / np.float32(self.so)).astype(np.float32)
        self.fp32 = ctx.settings.numerics != "tflite"
        self.nup = n if nup is None else nup
        self.lo, self.hi = act_range_q(ctx, out)
        self.xor = 0 if self.qu8 else 128          # activations -> uint8
        self.padval = self.zx + self.xor            # the uint8 byte of an input equal to its zero point

    def args(self):
        """(mult, lsh, rsh, nup, fscale, fp32, zp, lo, hi) as the kernels take them."""
        return (self.mult, self.lsh, self.rsh, np.int64(self.nup), self.fscale, self.fp32, np.int64(self.zo),
                np.int64(self.lo), np.int64(self.hi))

    def weights_rows(self, wmat):
        """[n, k] filter -> (wt int8/int16 flat [n][kp], init int32 [n], kp)."""
        n, k = wmat.shape
        kp = (k + 3) // 4 * 4
        wd = wmat.astype(np.int64) - self.zw
        init = self.bias - (self.zx + self.xor) * wd.sum(1)
        if np.any(np.abs(init) >= 2 ** 31):
            raise ValueError("int32 overflow")
        wt = np.zeros((n, kp), np.int16 if self.qu8 else np.int8)
        wt[:, :k] = wd
        return wt.reshape(-1), init.astype(np.int32), kp


def _check_acc_range(ctx, k, qu8):
    """|acc| <= k * 255 * 255 (QU8) or k * 256 * 127 + |bias| must stay in int32."""
    if k * (255 * 255 if qu8 else 256 * 128) >= 2 ** 31:
        ctx.fail(f"reduction length {k} can overflow the int32 accumulator", ModelValidationError)


# ---------------------------------------------------------------- CONV_2D
def conv_2d_qs8(ctx):
    ctx.expect_inputs(2, 3)
    x, f = ctx.input(0), ctx.input(1)
    b = ctx.optional(2)
    out = ctx.outputs[0]
    if len(x.shape) != 4 or len(f.shape) != 4:
        ctx.fail(f"input and filter must be 4-D, got {list(x.shape)} and {list(f.shape)}", ModelValidationError)
    if f.value is None:
        ctx.fail("non-constant filter is not supported")
    batch, h, w, cin = (int(d) for d in x.shape)
    cout, kh, kw, cg = (int(d) for d in f.shape)
    if min(cout, kh, kw, cg, cin) < 1 or cin % cg or cout % (cin // cg):
        ctx.fail(f"filter {list(f.shape)} does not fit input depth {cin}", ModelValidationError)
    groups = cin // cg
    q = QParams(ctx, x, f, b, out, cout, 0, True)
    sh, sw = int(ctx.opt("stride_h", 0)), int(ctx.opt("stride_w", 0))
    dh, dw = int(ctx.opt("dilation_hfactor", 1)), int(ctx.opt("dilation_wfactor", 1))
    if min(sh, sw, dh, dw) < 1:
        ctx.fail(f"strides ({sh}, {sw}) and dilations ({dh}, {dw}) must be >= 1", ModelValidationError)
    oh, pt = padding(ctx, h, kh, sh, dh)
    ow, pl = padding(ctx, w, kw, sw, dw)
    if oh < 1 or ow < 1:
        ctx.fail(f"filter {kh}x{kw} (dilation {dh}x{dw}) does not fit the {h}x{w} input", ModelValidationError)
    k = kh * kw * cg
    _check_acc_range(ctx, k, q.qu8)
    ng = cout // groups
    m = batch * oh * ow
    fm = np.asarray(f.value).reshape(groups, ng, k)
    try:
        rows = [q.weights_rows(fm[g]) for g in range(groups)]
    except ValueError:
        ctx.fail("bias and zero-point correction overflow int32", ModelValidationError)
    kp = rows[0][2]
    qargs = q.args()
    vnni = isa.VNNI and not q.qu8
    nimg = batch * h * w * cin
    lowered = Lowered(outputs=[((batch, oh, ow, cout), x.dtype)], flops=2 * m * cout * k)
    if vnni:
        lowered.bind = _conv_vnni(ctx, q, fm, [r[1] for r in rows], batch, h, w, cin, cout, kh, kw, sh, sw, dh, dw,
                                  pt, pl, oh, ow, groups, lowered)
        return lowered
    mr = 4
    wt = np.concatenate([r[0] for r in rows])
    init = np.concatenate([r[1] for r in rows])
    mb = max(mr, BLOCK_BYTES // max(kp, 4 * cout) // mr * mr)
    mb = min(mb, -(-m // mr) * mr)
    flip = not q.qu8
    lowered.workspace = [((-(-nimg // 4) if flip else 1,), np.int32), ((mb * kp // 4,), np.int32),
                         ((mb * cout,), np.int32), ((batch,), np.uint8)]
    padval = np.int64(q.padval)

    def bind(ins, outs, ws):
        xf, of = ins[0].reshape(-1), outs[0].reshape(-1)
        xu32, col32, acc, padv = ws
        col = col32.view(np.uint8)
        xu = xu32.view(np.uint8)[:nimg] if flip else xf

        return chain(bound_kernel(K.flip_i8_u8, xf, xu) if flip else None,
                     bound_kernel(K.conv2d_u8_q8_q8_generic, xu, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh,
                                  ow, groups, cout, wt, init, padval, mb, *qargs, col, acc, padv, of))
    lowered.bind = bind
    return lowered


class _VnniRequant:
    """The per-channel requantization arrays of a VNNI op, padded per group to
    the tile's NR (the layout of the packed weights)."""

    def __init__(self, q, init, groups, npad):
        def pad(v, dt):
            return qgemm.pad_groups(v, groups, npad, dt)
        self.init = pad(init, np.int32)
        self.mult, self.lsh, self.rsh = pad(q.mult, np.int32), pad(q.lsh, np.int32), pad(q.rsh, np.int32)
        self.fscale = pad(q.fscale, np.float32)
        self.nup, self.fp32 = int(q.nup), bool(q.fp32)
        self.zp, self.lo, self.hi = int(q.zo), int(q.lo), int(q.hi)

    def args(self):
        return (self.init, self.mult, self.lsh, self.rsh, self.fscale, self.nup, self.fp32, self.zp, self.lo, self.hi)


def _conv_vnni(ctx, q, fm, inits, batch, h, w, cin, cout, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, groups, lowered):
    """int8 CONV_2D on AVX512-VNNI: the input flipped to uint8 next to its
    zero-point pixel, indirect GEMM over it (no im2col; 1x1 stride-1 convs read
    the rows directly), requantization fused into the tile epilogue
    (kernels/qs8_vnni.py).  Returns the bind function."""
    ng, cg, taps = cout // groups, cin // groups, kh * kw
    m = batch * oh * ow
    nimg = batch * h * w * cin
    tile = qgemm.choose_qtile(m, ng)
    mr = qgemm.QTILES[tile][0]
    wq, kc4, npad = qgemm.pack_igemm_weights(np.asarray(fm, np.int8).reshape(groups, ng, taps, cg), tile)
    rq = _VnniRequant(q, np.concatenate(inits), groups, npad)
    direct = kh == kw == 1 and sh == sw == 1 and pt == pl == 0
    zoff, zlen = nimg + 4, cin + 4          # zero-point pixel (+ the over-read of the last pixel's word)
    if direct:
        ind, istr = rq.init, 0              # unused (same type as a real indirection buffer)
    else:
        ind, istr = np.zeros(taps * m, np.int32), m
        qgemm.conv_indirection(batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, zoff, 0, ind)
    mc = qgemm.tile_mc(tile, taps * kc4 * 4)
    nt = plan_threads(ctx.settings.num_threads, 2 * m * cout * taps * cg / Q8_GEMM_OP_PER_US, -(-m // mr))
    lowered.workspace = [((-(-(zoff + zlen) // 4),), np.int32)]
    padval = int(q.padval)
    rargs = rq.args()

    def bind(ins, outs, ws):
        xf, of = ins[0].reshape(-1), outs[0].reshape(-1)
        xu = ws[0].view(np.uint8)
        if nt > 1:
            from ..kernels import parallel_vnni as PV
            conv_mt = PV.conv2d_u8_i8_q8_vnni_mt
            zl = np.full(1, padval, np.int64)

            return par.guarded(chain(
                bound_kernel(K.flip_i8_u8, xf, xu[:nimg]), bound_kernel(qgemm.fill_rows_u8, xu, zoff, 0, 1, zlen, zl),
                bound_kernel(conv_mt, tile, m, groups, cg, ng, taps, kc4, xu, ind, istr, cin, wq, *rargs, of, cout, mc,
                             nt)))
        from ..kernels.qs8_vnni import conv2d_qs8_vnni
        return bound_kernel(conv2d_qs8_vnni, xf, xu, zoff, zlen, padval, tile, m, groups, cg, ng, taps, kc4, ind, istr,
                            cin, wq, *rargs, of, mc)
    return bind


# ---------------------------------------------------------------- FULLY_CONNECTED
def fully_connected_qs8(ctx):
    ctx.expect_inputs(2, 4)
    x, f = ctx.input(0), ctx.input(1)
    b = ctx.optional(2)
    out = ctx.outputs[0]
    if ctx.opt("weights_format", 0) != 0:
        ctx.fail("shuffled weights format is not supported")
    if len(f.shape) != 2:
        ctx.fail(f"weights must be 2-D, got {list(f.shape)}", ModelValidationError)
    if f.value is None:
        ctx.fail("non-constant weights are not supported")
    n, k = (int(d) for d in f.shape)
    size = int(np.prod(x.shape, dtype=np.int64))
    if n < 1 or k < 1 or size % k:
        ctx.fail(f"input {list(x.shape)} is not a multiple of the weights' depth {k}", ModelValidationError)
    m = size // k
    if ctx.opt("keep_num_dims", False):
        if x.shape[-1] != k:
            ctx.fail(f"keep_num_dims: input's last dim {x.shape[-1]} != {k}", ModelValidationError)
        out_shape = tuple(x.shape[:-1]) + (n,)
    else:
        out_shape = (m, n)
    q = QParams(ctx, x, f, b, out, n, 0, True)
    if not q.per_channel:          # per-tensor FC: GetQuantizedConvolutionMultipler (float32 product)
        m1, s1 = conv_multiplier_per_tensor(q.sx, q.ws[0], q.so)
        q.mult[:] = m1
        q.lsh[:] = max(s1, 0)
        q.rsh[:] = max(-s1, 0)
    _check_acc_range(ctx, k, q.qu8)
    try:
        wt, init, kp = q.weights_rows(np.asarray(f.value).reshape(n, k))
    except ValueError:
        ctx.fail("bias and zero-point correction overflow int32", ModelValidationError)
    qargs = q.args()
    vnni = isa.VNNI and not q.qu8
    xor = np.int64(q.xor)
    if vnni:
        return _fc_vnni(ctx, q, np.asarray(f.value).reshape(n, k), init, m, n, k, kp, xor, out_shape, x.dtype)
    mr = 4
    mb = max(mr, BLOCK_BYTES // (4 * n) // mr * mr)
    mb = min(mb, -(-m // mr) * mr)
    workspace = [((m * kp // 4,), np.int32), ((mb * n,), np.int32)]

    def bind(ins, outs, ws):
        xf, of = ins[0].reshape(-1), outs[0].reshape(-1)
        a32, acc = ws[:2]
        a = a32.view(np.uint8)

        return chain(bound_kernel(K.pack_rows_u8, xf, m, k, kp, xor, a),
                     bound_kernel(K.gemm_u8_q8_q8_generic, m, n, kp, a, wt, init, mb, *qargs, acc, of))
    return Lowered(outputs=[(out_shape, x.dtype)], bind=bind, workspace=workspace, flops=2 * m * n * k)


def _fc_vnni(ctx, q, wmat, init, m, n, k, kp, xor, out_shape, dtype):
    """int8 FULLY_CONNECTED on AVX512-VNNI: the rows packed to uint8 (x ^ 0x80,
    zero padded to kp), GEMM with the requantization fused into the tile epilogue; threaded as a
    1x1 conv over the rows when large (kernels/parallel_vnni.py)."""
    tile = qgemm.choose_qtile(m, n)
    mr = qgemm.QTILES[tile][0]
    wq, _, npad = qgemm.pack_igemm_weights(np.asarray(wmat, np.int8).reshape(1, n, 1, k), tile)
    rq = _VnniRequant(q, init, 1, npad)
    rargs = rq.args()
    nt = plan_threads(ctx.settings.num_threads, 2 * m * n * k / Q8_GEMM_OP_PER_US, -(-m // mr))
    mc = qgemm.tile_mc(tile, kp)

    def bind(ins, outs, ws):
        xf, of = ins[0].reshape(-1), outs[0].reshape(-1)
        a = ws[0].view(np.uint8)
        if nt > 1:
            from ..kernels import parallel_vnni as PV
            conv_mt = PV.conv2d_u8_i8_q8_vnni_mt

            return par.guarded(chain(
                bound_kernel(K.pack_rows_u8, xf, m, k, kp, 128, a),
                bound_kernel(conv_mt, tile, m, 1, kp, n, 1, kp // 4, a, rq.init, 0, kp, wq, *rargs, of, n, mc, nt)))
        from ..kernels.qs8_vnni import fc_qs8_vnni
        return bound_kernel(fc_qs8_vnni, xf, k, kp, a, tile, m, n, wq, *rargs, of)
    return Lowered(outputs=[(out_shape, dtype)], bind=bind, workspace=[((m * kp // 4 + 1,), np.int32)],
                   flops=2 * m * n * k)


# ---------------------------------------------------------------- BATCH_MATMUL
def batch_matmul_qs8(ctx):
    ctx.expect_inputs(2, 2)
    x, y = ctx.input(0), ctx.input(1)
    out = ctx.outputs[0]
    if len(x.shape) < 2 or len(y.shape) < 2:
        ctx.fail(f"operands must have rank >= 2, got {list(x.shape)} and {list(y.shape)}", ModelValidationError)
    if x.dtype != I8 or y.dtype != I8:
        ctx.fail(f"quantized BATCH_MATMUL supports int8 x int8 only, got {x.type_name} x {y.type_name}")
    adj_x, adj_y = bool(ctx.opt("adj_x", False)), bool(ctx.opt("adj_y", False))
    m, k = (x.shape[-1], x.shape[-2]) if adj_x else (x.shape[-2], x.shape[-1])
    k2, n = (y.shape[-1], y.shape[-2]) if adj_y else (y.shape[-2], y.shape[-1])
    m, k, n = int(m), int(k), int(n)
    if k != k2:
        ctx.fail(f"contraction dims differ: {list(x.shape)} x {list(y.shape)}", ModelValidationError)
    xb, yb = tuple(x.shape[:-2]), tuple(y.shape[:-2])
    ob = broadcast_shape(ctx, xb, yb)
    nx, ny = int(np.prod(xb, dtype=np.int64)), int(np.prod(yb, dtype=np.int64))
    a_idx = np.ascontiguousarray(np.broadcast_to(np.arange(nx, dtype=np.int64).reshape(xb), ob).reshape(-1))
    b_idx = np.ascontiguousarray(np.broadcast_to(np.arange(ny, dtype=np.int64).reshape(yb), ob).reshape(-1))
    sy, zy = tensor_qparams(ctx, y)
    q = QParams(ctx, x, y, None, out, 1, 0, False, nup=0, symmetric=False)
    if zy != 0:
        # LiteRT's XNNPack delegate takes int8 BATCH_MATMUL only when the right-hand side has
        # zero point 0 (measured: transformer_int8's attention BMMs have 8 and 2); otherwise
        # its default interpreter runs the builtin kernel, with TFLite's rounding.
        q.fp32 = False
    _check_acc_range(ctx, k, q.qu8)
    qargs = q.args()
    qargs = (np.repeat(q.mult, n), np.repeat(q.lsh, n), np.repeat(q.rsh, n), np.int64(0),
             np.repeat(q.fscale, n)) + qargs[5:]
    zx = np.int64(q.zx)
    zy = np.int64(zy)
    # a: [nx][m][k] (lhs - zp), bt: [ny][n][k] (rhs^T - zp)
    xr, xc = (k, m) if adj_x else (m, k)
    yr, yc = (n, k) if adj_y else (k, n)
    if y.value is not None:
        bt_const = np.zeros(ny * n * k, np.int16)
        K.rows_sub_zp_i16(np.ascontiguousarray(y.value).reshape(-1), ny, yr, yc, zy, not adj_y, bt_const)
    workspace = [((nx * m * k,), np.int16), ((ny * n * k,), np.int16), ((m * n,), np.int32)]

    def bind(ins, outs, ws):
        xf, yf, of = ins[0].reshape(-1), ins[1].reshape(-1), outs[0].reshape(-1)
        a, bt, acc = ws
        rhs = None
        if y.value is not None:                 # constant rhs: prepared once, above
            bt = bt_const
        else:
            rhs = bound_kernel(K.rows_sub_zp_i16, yf, ny, yr, yc, zy, not adj_y, bt)
        return chain(bound_kernel(K.rows_sub_zp_i16, xf, nx, xr, xc, zx, adj_x, a), rhs,
                     bound_kernel(K.batch_matmul_q8_q8_q8, m, n, k, a, a_idx, bt, b_idx, *qargs, acc, of))
    return Lowered(outputs=[(ob + (m, n), x.dtype)], bind=bind, workspace=workspace,
                   flops=2 * len(a_idx) * m * n * k)


# ---------------------------------------------------------------- TRANSPOSE_CONV
def _cdiv(a, b):
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _tconv_pad(out_size, k, stride, same):
    conv_out = _cdiv(out_size + stride - 1, stride) if same else _cdiv(out_size + stride - k, stride)
    total = max(0, (conv_out - 1) * stride + k - out_size)
    return total // 2


def transpose_conv_qs8(ctx):
    ctx.expect_inputs(3, 4)
    x, f = ctx.input(2), ctx.input(1)
    b = ctx.optional(3)
    out = ctx.outputs[0]
    if len(x.shape) != 4:
        ctx.fail(f"input must be 4-D NHWC, got shape {list(x.shape)}", ModelValidationError)
    shp_t = ctx.input(0)
    if shp_t.dtype != I32 or len(shp_t.shape) != 1 or shp_t.size != 4:
        ctx.fail("output_shape must be an int32 vector of 4 elements", ModelValidationError)
    out_shape = tuple(int(v) for v in np.asarray(ctx.const(0, "output_shape")).reshape(4))
    if tuple(out.shape) and tuple(out.shape) != out_shape:
        ctx.fail(f"output_shape {list(out_shape)} disagrees with the output tensor", ModelValidationError)
    if len(f.shape) != 4:
        ctx.fail(f"weights must be 4-D OHWI, got {list(f.shape)}", ModelValidationError)
    cout, kh, kw, cin = (int(d) for d in f.shape)
    if min(cout, kh, kw, cin) < 1 or cin != x.shape[3]:
        ctx.fail(f"weights {list(f.shape)} do not match input channels {x.shape[3]}", ModelValidationError)
    fv = ctx.const(1, "the weights")
    nb, oh, ow, oc = out_shape
    if nb != x.shape[0] or oc != cout or oh < 1 or ow < 1:
        ctx.fail(f"output_shape {list(out_shape)} does not match the input / weights", ModelValidationError)
    sh, sw = int(ctx.opt("stride_h", 0)), int(ctx.opt("stride_w", 0))
    if sh < 1 or sw < 1:
        ctx.fail(f"invalid stride {sh}x{sw}", ModelValidationError)
    pad = ctx.opt("padding", 0)
    if pad not in (0, 1):
        ctx.fail(f"unknown padding code {pad}", ModelValidationError)
    pt = _tconv_pad(oh, kh, sh, pad == 0)
    pl = _tconv_pad(ow, kw, sw, pad == 0)
    q = QParams(ctx, x, f, b, out, cout, 0, True, nup=8 * (cout // 8))
    _check_acc_range(ctx, kh * kw * cin, q.qu8)
    wv = np.ascontiguousarray(np.asarray(fv, np.int64) - q.zw, np.int16)
    bias = np.ascontiguousarray(q.bias, np.int32)
    qargs = q.args()
    zx = np.int64(q.zx)

    def bind(ins, outs, ws):
        x4, o4 = ins[2], outs[0]
        xs, acc = ws
        return bound_kernel(K.tconv_q8_q8_q8, x4, zx, wv, bias, sh, sw, pt, pl, *qargs, xs, acc, o4)
    return Lowered(outputs=[(out_shape, x.dtype)], bind=bind,
                   workspace=[((cin,), np.int32), ((oh * ow * cout,), np.int32)],
                   flops=2 * int(np.prod(x.shape)) * cout * kh * kw)
