"""Data movement: PAD, PADV2, MIRROR_PAD, TRANSPOSE, SLICE, STRIDED_SLICE, TILE,
DEPTH_TO_SPACE, SPACE_TO_DEPTH, SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND (one table gather
each), CONCATENATION, PACK, UNPACK, SPLIT, SPLIT_V (column copies) and GATHER.

Every kernel is dtype-generic; float16 tensors move as their uint16 bits.  All index
arithmetic happens here, at prepare time, on validated constants, so the kernels
never see an out-of-range offset.  The one run-time check is GATHER's indices.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError, ModelValidationError, UnsupportedError
from ..kernels.transform import (arg_minmax_x, clamp_f32, copy_rows_x, gather_axes_x, gather_nd_x,
                                  gather_rows_x, pad_x, space_to_batch_x, tile_repeat_x, transpose_tiled_32,
                                  transpose_tiled_x)
from ..kernels import parallel as par
from .common import act_range_f32, bound_kernel, chain, norm_axis
from .registry import Lowered, lowering

PAD = -(1 << 50)        # table entry of a padded position; any sum containing one stays < 0
MERGE_MAX = 1 << 16     # largest table made by merging two affine axes

MOVABLE = [np.float32, np.float16, np.int8, np.uint8, np.int16, np.int32, np.int64, np.uint32, np.bool_]


# ----- shared helpers -------------------------------------------------------------------

def _strides(shape):
    s, acc = [], 1
    for d in reversed(shape):
        s.append(acc)
        acc *= int(d)
    return s[::-1]


def _raw(a):
    """Kernel view of a tensor: float16 moves as uint16 bits (Numba has no half type)."""
    return a.view(np.uint16) if a.dtype == np.float16 else a


def _movable(ctx, t):
    if t.dtype is None or t.dtype not in [np.dtype(d) for d in MOVABLE]:
        ctx.fail(f"tensor {t.name!r} has dtype {t.type_name}, not supported by {ctx.node.op}")
    return t


def _ints(ctx, i, what, shape=None):
    """A constant integer operand as a Python int list (validated dtype and shape)."""
    t = ctx.input(i)
    v = np.asarray(ctx.const(i, what))
    if v.dtype not in (np.dtype(np.int32), np.dtype(np.int64)):
        ctx.fail(f"{what} must be int32 or int64, got {t.type_name}", ModelValidationError)
    if shape is not None and v.shape != tuple(shape):
        ctx.fail(f"{what} has shape {list(v.shape)}, expected {list(shape)}", ModelValidationError)
    return v.astype(np.int64)


def _pad_value(ctx, dtype):
    """Zero, or the output zero point of a quantized integer tensor."""
    q = ctx.outputs[0].quant
    if q is not None and np.dtype(dtype).kind in "iu" and q.zero_point.size:
        return int(q.zero_point.reshape(-1)[0])
    return 0


def _affine_step(t):
    if t.size < 2 or t.min() < 0:
        return None
    d = np.diff(t)
    return int(d[0]) if np.all(d == d[0]) else None


def _compact(tabs):
    """At most 8 axis tables giving the same offsets in the same order: drop size-1
    axes, merge neighbours that stay contiguous (the TRANSPOSE "collapse dims that
    move together"), then merge the smallest neighbours until 8 are left."""
    tabs = [np.asarray(t, np.int64).reshape(-1) for t in tabs]
    if any(t.size == 0 for t in tabs):
        return [np.zeros(0, np.int64)]
    kept, carry = [], 0
    for t in tabs:
        if t.size == 1:
            carry += int(t[0])
        else:
            kept.append(t)
    if not kept:
        return [np.array([carry], np.int64)]
    kept[0] = kept[0] + carry
    merged = [kept[0]]
    for t in kept[1:]:
        a = merged[-1]
        sa, sb = _affine_step(a), _affine_step(t)
        if sa is not None and sb is not None and sa == sb * t.size and a.size * t.size <= MERGE_MAX:
            merged[-1] = (a[:, None] + t[None, :]).reshape(-1)
        else:
            merged.append(t)
    while len(merged) > 8:
        k = min(range(len(merged) - 1), key=lambda i: merged[i].size * merged[i + 1].size)
        merged[k:k + 2] = [(merged[k][:, None] + merged[k + 1][None, :]).reshape(-1)]
    return merged


def gather_args(tabs):
    """(tab, starts, dims, contig) for gather_axes_x from per-output-axis offset tables."""
    tabs = _compact(tabs)
    tabs = [np.zeros(1, np.int64)] * (8 - len(tabs)) + tabs
    dims = np.array([t.size for t in tabs], np.int64)
    starts = np.concatenate([[0], np.cumsum(dims)[:-1]]).astype(np.int64)
    tab = np.ascontiguousarray(np.concatenate(tabs).astype(np.int64))
    contig = _affine_step(tabs[-1]) == 1 or (tabs[-1].size == 1 and tabs[-1][0] >= 0)
    return tab, starts, dims, bool(contig)


def axis_table(n, stride, index=None):
    """Offsets of an output axis that reads input positions `index` (default arange(n))."""
    idx = np.arange(n, dtype=np.int64) if index is None else np.asarray(index, np.int64)
    return idx * int(stride)


TILE_MIN = 8            # tiled transpose when both transposed extents are at least this


def tiled_args(tabs):
    """(ibase, obase, nk, nl, isl, osk) for transpose_tiled_x, or None.

    Applies when no table has pad entries, the innermost output axis l reads the input
    with a constant stride isl != 1 and another output axis k reads it with stride 1
    (a 2-D transpose of k and l for every combination of the remaining axes)."""
    tabs = _compact(tabs)
    if any(t.size and t.min() < 0 for t in tabs) or len(tabs) < 2:
        return None
    isl = _affine_step(tabs[-1])
    ks = [i for i, t in enumerate(tabs[:-1]) if _affine_step(t) == 1]
    if isl is None or isl == 1 or not ks:
        return None
    k = ks[-1]
    nk, nl = tabs[k].size, tabs[-1].size
    if nk < TILE_MIN or nl < TILE_MIN:
        return None
    dims = [t.size for t in tabs]
    ost = _strides(dims)
    ib = np.zeros(1, np.int64) + int(tabs[k][0]) + int(tabs[-1][0])
    ob = np.zeros(1, np.int64)
    for i, t in enumerate(tabs[:-1]):
        if i != k:
            ib = (ib[:, None] + t[None, :]).reshape(-1)
            ob = (ob[:, None] + np.arange(t.size, dtype=np.int64)[None, :] * ost[i]).reshape(-1)
    return np.ascontiguousarray(ib), np.ascontiguousarray(ob), nk, nl, isl, ost[k]


def gather_lowered(ctx, x, out_shape, tabs, pad=0):
    """Lowered of an op whose output is the table gather of input 0 (tiled when it is a
    transpose of the two innermost-moving axes)."""
    dtype = x.dtype
    tab, starts, dims, contig = gather_args(tabs)
    if int(np.prod(dims)) != int(np.prod(out_shape, dtype=np.int64)):
        raise AssertionError("gather tables do not match the output shape")
    padv = np.array(pad).astype(dtype).view(np.uint16)[()] if dtype == np.float16 else np.array(pad, dtype)[()]
    tiled = None if contig else tiled_args(tabs)

    def bind(ins, outs, ws):
        xf, of = _raw(ins[0]).reshape(-1), _raw(outs[0]).reshape(-1)
        if tiled is not None:
            ib, ob, nk, nl, isl, osk = tiled
            kern = transpose_tiled_32 if xf.dtype.itemsize == 4 else transpose_tiled_x
            return bound_kernel(kern, xf, ib, ob, nk, nl, isl, osk, of)
        return bound_kernel(gather_axes_x, xf, tab, starts, dims, padv, contig, of)
    return Lowered(outputs=[(tuple(int(d) for d in out_shape), dtype)], bind=bind)


def pad_plan(shape, pads):
    """(dims, lo, odims) of the 4-D pad_x problem equal to padding `shape` by `pads`,
    or None if it needs more than 4 axes.  Trailing unpadded axes fold into the axis
    before them (a padded W with unpadded C pads W*C by lo*C, hi*C)."""
    axes = []                                   # (n, lo, hi), innermost first
    for n, (lo, hi) in zip(reversed(shape), reversed(pads)):
        n, lo, hi = int(n), int(lo), int(hi)
        if axes and axes[-1][1] == axes[-1][2] == 0:
            m = axes.pop()[0]
            n, lo, hi = n * m, lo * m, hi * m
        axes.append((n, lo, hi))
    if len(axes) > 4:
        return None
    axes += [(1, 0, 0)] * (4 - len(axes))
    axes = axes[::-1]
    dims = np.array([a[0] for a in axes], np.int64)
    lo = np.array([a[1] for a in axes], np.int64)
    odims = np.array([a[0] + a[1] + a[2] for a in axes], np.int64)
    return dims, lo, odims


# ----- PAD family -------------------------------------------------------------------------

def _paddings(ctx, i, rank):
    p = _ints(ctx, i, "paddings", (rank, 2))
    if np.any(p < 0):
        ctx.fail(f"negative paddings {p.tolist()}", ModelValidationError)
    return p


@lowering("PAD", "PADV2")
def pad(ctx):
    x = _movable(ctx, ctx.input(0))
    rank = len(x.shape)
    p = _paddings(ctx, 1, rank)
    value = _pad_value(ctx, x.dtype)
    if ctx.node.op == "PADV2" and ctx.optional(2) is not None:
        v = np.asarray(ctx.const(2, "the pad value"))
        if v.size != 1 or v.dtype != x.dtype:
            ctx.fail(f"pad value must be one {x.type_name} element", ModelValidationError)
        value = v.reshape(-1)[0]
    out = [int(n + a + b) for n, (a, b) in zip(x.shape, p.tolist())]
    plan = pad_plan(x.shape, p.tolist())
    if plan is None:
        st = _strides(x.shape)
        tabs = [np.concatenate([np.full(int(p[d, 0]), PAD), axis_table(x.shape[d], st[d]), np.full(int(p[d, 1]), PAD)])
                for d in range(rank)]
        return gather_lowered(ctx, x, out, tabs, value)
    dims, lo, odims = plan
    dtype = x.dtype
    padv = np.array(value).astype(dtype).view(np.uint16)[()] if dtype == np.float16 else np.array(value, dtype)[()]

    def bind(ins, outs, ws):
        xf, of = _raw(ins[0]).reshape(-1), _raw(outs[0]).reshape(-1)
        return bound_kernel(pad_x, xf, dims, lo, odims, padv, of)
    return Lowered(outputs=[(tuple(out), dtype)], bind=bind)


@lowering("MIRROR_PAD")
def mirror_pad(ctx):
    x = _movable(ctx, ctx.input(0))
    rank = len(x.shape)
    p = _paddings(ctx, 1, rank)
    mode = ctx.opt("mode", 0)
    if mode not in (0, 1):
        ctx.fail(f"unknown mirror pad mode {mode}", ModelValidationError)
    reflect = mode == 0                      # REFLECT excludes the edge, SYMMETRIC repeats it
    st = _strides(x.shape)
    tabs, out = [], []
    for d in range(rank):
        lo, hi, n = int(p[d, 0]), int(p[d, 1]), x.shape[d]
        limit = n - 1 if reflect else n
        if lo > limit or hi > limit:
            ctx.fail(f"mirror paddings {p[d].tolist()} too large for dimension {d} of size {n}",
                     ModelValidationError)
        e = 1 if reflect else 0
        left = [lo - 1 - k + e for k in range(lo)]               # output k < lo reads input lo-1-k (+1 REFLECT)
        right = [n - 1 - k - e for k in range(hi)]
        tabs.append(axis_table(0, st[d], left + list(range(n)) + right))
        out.append(lo + n + hi)
    return gather_lowered(ctx, x, out, tabs)


# ----- TRANSPOSE, SLICE, STRIDED_SLICE, TILE ----------------------------------------------

@lowering("TRANSPOSE")
def transpose(ctx):
    x = _movable(ctx, ctx.input(0))
    rank = len(x.shape)
    perm = _ints(ctx, 1, "perm", (rank,)).tolist()
    if sorted(perm) != list(range(rank)):
        ctx.fail(f"perm {perm} is not a permutation of 0..{rank - 1}", ModelValidationError)
    st = _strides(x.shape)
    return gather_lowered(ctx, x, [x.shape[a] for a in perm], [axis_table(x.shape[a], st[a]) for a in perm])


@lowering("SLICE")
def slice_(ctx):
    x = _movable(ctx, ctx.input(0))
    rank = len(x.shape)
    begin = _ints(ctx, 1, "begin", (rank,)).tolist()
    size = _ints(ctx, 2, "size", (rank,)).tolist()
    st = _strides(x.shape)
    tabs, out = [], []
    for d in range(rank):
        n, b, s = x.shape[d], begin[d], size[d]
        if s == -1:
            s = n - b
        if not (0 <= b <= n and 0 <= s <= n - b):
            ctx.fail(f"slice begin {begin} size {size} out of range for shape {list(x.shape)}",
                     ModelValidationError)
        tabs.append(axis_table(s, st[d], np.arange(b, b + s)))
        out.append(s)
    return gather_lowered(ctx, x, out, tabs)


def _clamp(v, lo, hi):
    return hi if v > hi else lo if v < lo else v


def strided_slice_plan(ctx, in_shape, begin, end, strides, begin_mask, end_mask, ellipsis_mask,
                       new_axis_mask, shrink_mask, offset):
    """(per-effective-axis input index lists or None for new axes, output shape), following
    TFLite's strided_slice.cc BuildStridedSliceParams + StartForAxis/EndForAxis."""
    in_dims, count = len(in_shape), len(begin)
    num_add = sum(1 for i in range(count) if not (ellipsis_mask >> i) & 1 and (new_axis_mask >> i) & 1)
    eff = in_dims + num_add
    eff_ellipsis = eff_new = 0
    ell_start, expanded = eff, 0
    i = 0
    while i < eff:
        if (ellipsis_mask >> i) & 1:
            ell_start = i
            ell_end = max(i + 1, min(i + 1 + num_add + in_dims - count, eff))
            expanded = ell_end - ell_start - 1
            while i < ell_end:
                eff_ellipsis |= 1 << i
                i += 1
            continue
        if i - expanded >= 0 and (new_axis_mask >> (i - expanded)) & 1:
            eff_new |= 1 << i
        i += 1
    axes, out_shape = [], []
    added_ell = added_axes = 0
    for i in range(eff):
        bm = em = sh = False
        if (eff_ellipsis >> i) & 1:
            added_ell = max(0, i - ell_start)
            src, b, e, s, bm, em = i - added_axes, 0, 0, 1, True, True
        elif (eff_new >> i) & 1:
            axes.append(None)
            out_shape.append(1)
            added_axes += 1
            continue
        elif i >= count + expanded:
            src, b, e, s, bm, em = i - added_axes, 0, 0, 1, True, True
        else:
            o = i - added_ell
            src, b, e, s = i - added_axes, int(begin[o]), int(end[o]), int(strides[o])
            bm, em, sh = bool((begin_mask >> o) & 1), bool((end_mask >> o) & 1), bool((shrink_mask >> o) & 1)
        if not 0 <= src < in_dims:
            ctx.fail("strided slice masks do not match the input rank", ModelValidationError)
        n = in_shape[src]
        if s == 0:
            ctx.fail("strided slice stride 0", ModelValidationError)
        start = b + n if b < 0 else b
        start = _clamp(start, 0, n) if s > 0 else _clamp(start, -1, n - 1)
        if bm:
            start = 0 if s > 0 else n - 1
        if sh:
            if not 0 <= start < n:
                ctx.fail(f"strided slice shrinks axis {src} at index {b}, outside its size {n}",
                         ModelValidationError)
            axes.append((src, [start]))
            continue
        stop = e + start if offset else e
        stop = stop + n if stop < 0 else stop
        stop = _clamp(stop, 0, n) if s > 0 else _clamp(stop, -1, n - 1)
        if em:
            stop = n if s > 0 else -1
        idx = list(range(start, stop, s))
        axes.append((src, idx))
        out_shape.append(len(idx))
    return axes, out_shape


@lowering("STRIDED_SLICE")
def strided_slice(ctx):
    x = _movable(ctx, ctx.input(0))
    begin = _ints(ctx, 1, "begin")
    end = _ints(ctx, 2, "end")
    strides = _ints(ctx, 3, "strides")
    if not (begin.ndim == end.ndim == strides.ndim == 1 and begin.size == end.size == strides.size <= 31):
        ctx.fail("begin, end and strides must be 1-D of the same length (at most 31)", ModelValidationError)
    axes, out = strided_slice_plan(
        ctx, x.shape, begin.tolist(), end.tolist(), strides.tolist(), ctx.opt("begin_mask", 0),
        ctx.opt("end_mask", 0), ctx.opt("ellipsis_mask", 0), ctx.opt("new_axis_mask", 0),
        ctx.opt("shrink_axis_mask", 0), bool(ctx.opt("offset", False)))
    st = _strides(x.shape)
    tabs = [np.zeros(1, np.int64) if a is None else axis_table(0, st[a[0]], a[1]) for a in axes]
    return gather_lowered(ctx, x, out, tabs)


@lowering("TILE")
def tile(ctx):
    x = _movable(ctx, ctx.input(0))
    rank = len(x.shape)
    m = _ints(ctx, 1, "multiples", (rank,)).tolist()
    if any(k < 0 for k in m):
        ctx.fail(f"negative multiples {m}", ModelValidationError)
    st = _strides(x.shape)
    out = [x.shape[d] * m[d] for d in range(rank)]
    rep = [d for d in range(rank) if m[d] != 1]
    if len(rep) == 1 and int(np.prod(out, dtype=np.int64)) > 0:
        return _tile_repeat(x, out, rep[0], m[rep[0]])
    tabs = [axis_table(0, st[d], np.arange(out[d]) % max(x.shape[d], 1)) for d in range(rank)]
    return gather_lowered(ctx, x, out, tabs)


def _tile_repeat(x, out, d, r):
    """TILE with one repeated axis d: each block x[i, d:...] (i over the axes before d)
    is written r times in a row (kernels/transform.py tile_repeat_x), moved as the widest
    unsigned words that divide the block."""
    outer = int(np.prod(x.shape[:d], dtype=np.int64))
    nbytes = int(np.prod(x.shape[d:], dtype=np.int64)) * x.dtype.itemsize
    word = next(k for k in (8, 4, 2, 1) if nbytes % k == 0)
    wt = np.dtype(f"u{word}")
    args = (np.int64(outer), np.int64(r), np.int64(nbytes // word))

    def bind(ins, outs, ws):
        xf = ins[0].reshape(-1).view(np.uint8).view(wt)
        of = outs[0].reshape(-1).view(np.uint8).view(wt)
        return bound_kernel(tile_repeat_x, xf, *args, of)
    return Lowered(outputs=[(tuple(int(v) for v in out), x.dtype)], bind=bind)


# ----- DEPTH_TO_SPACE, SPACE_TO_DEPTH, SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND ----------------

def _block_size(ctx):
    bs = ctx.opt("block_size", 0)
    if bs < 1:
        ctx.fail(f"block size {bs} must be >= 1", ModelValidationError)
    return bs


def _nhwc(ctx, x):
    if len(x.shape) != 4:
        ctx.fail(f"expects a 4-D NHWC input, got shape {list(x.shape)}", ModelValidationError)
    return x.shape


@lowering("DEPTH_TO_SPACE")
def depth_to_space(ctx):
    """out[b, h*bs+i, w*bs+j, c] = x[b, h, w, (i*bs+j)*C' + c] (DCR order)."""
    x = _movable(ctx, ctx.input(0))
    n, h, w, c = _nhwc(ctx, x)
    bs = _block_size(ctx)
    if c % (bs * bs):
        ctx.fail(f"depth {c} not divisible by block_size^2 = {bs * bs}", ModelValidationError)
    co = c // (bs * bs)
    sn, sh, sw, _ = _strides(x.shape)
    oh, ow = np.arange(h * bs), np.arange(w * bs)
    tabs = [axis_table(n, sn), (oh // bs) * sh + (oh % bs) * bs * co, (ow // bs) * sw + (ow % bs) * co,
            np.arange(co)]
    return gather_lowered(ctx, x, [n, h * bs, w * bs, co], tabs)


@lowering("SPACE_TO_DEPTH")
def space_to_depth(ctx):
    """out[b, h, w, (i*bs+j)*C + c] = x[b, h*bs+i, w*bs+j, c]."""
    x = _movable(ctx, ctx.input(0))
    n, h, w, c = _nhwc(ctx, x)
    bs = _block_size(ctx)
    if h % bs or w % bs:
        ctx.fail(f"spatial dims {h}x{w} not divisible by block_size {bs}", ModelValidationError)
    sn, sh, sw, _ = _strides(x.shape)
    oc = np.arange(bs * bs * c)
    ij, cc = oc // c, oc % c
    tabs = [axis_table(n, sn), axis_table(h // bs, bs * sh), axis_table(w // bs, bs * sw),
            (ij // bs) * sh + (ij % bs) * sw + cc]
    return gather_lowered(ctx, x, [n, h // bs, w // bs, bs * bs * c], tabs)


def _batch_space_operands(ctx, what):
    """4-D view (N, H, W, C) of a 3-D/4-D input, block (bh, bw), [[t, b], [l, r]]."""
    x = _movable(ctx, ctx.input(0))
    if len(x.shape) not in (3, 4):
        ctx.fail(f"expects a 3-D or 4-D input, got shape {list(x.shape)}", UnsupportedError)
    m = len(x.shape) - 2
    block = _ints(ctx, 1, "block_shape", (m,)).tolist()
    p = _ints(ctx, 2, what, (m, 2))
    if any(b < 1 for b in block):
        ctx.fail(f"block_shape {block} must be >= 1", ModelValidationError)
    if np.any(p < 0):
        ctx.fail(f"negative {what} {p.tolist()}", ModelValidationError)
    shape4 = tuple(x.shape) if m == 2 else (x.shape[0], x.shape[1], 1, x.shape[2])
    if m == 1:
        block, p = block + [1], np.concatenate([p, np.zeros((1, 2), np.int64)])
    return x, shape4, block, p.tolist()


# bytes a data-movement kernel copies per microsecond on one thread (plan_threads' estimate):
# SPACE_TO_BATCH_ND measured at 60-75 GB/s on deeplab's blocks, taken lower
COPY_BYTES_PER_US = 30000.0


@lowering("SPACE_TO_BATCH_ND")
def space_to_batch_nd(ctx):
    """out[(i*bw + j)*N + b, oh, ow, c] = padded[b, oh*bh + i, ow*bw + j, c], in one pass
    (kernels/transform.py space_to_batch_x: the padding is written, not gathered)."""
    x, (n, h, w, c), (bh, bw), ((pt, pb), (pl, pr)) = _batch_space_operands(ctx, "paddings")
    hp, wp = h + pt + pb, w + pl + pr
    if hp % bh or wp % bw:
        ctx.fail(f"padded spatial dims {hp}x{wp} not divisible by block {bh}x{bw}", ModelValidationError)
    oh, ow = hp // bh, wp // bw
    out_shape = [n * bh * bw, oh, ow, c] if len(x.shape) == 4 else [n * bh * bw, oh, c]
    dtype = x.dtype
    value = _pad_value(ctx, dtype)
    padv = np.array(value).astype(dtype).view(np.uint16)[()] if dtype == np.float16 else np.array(value, dtype)[()]
    geo = tuple(np.int64(v) for v in (n, h, w, c, bh, bw, pt, pl, oh, ow))
    nb = n * bh * bw
    nt = par.plan_threads(ctx.settings.num_threads, nb * oh * ow * c * dtype.itemsize / COPY_BYTES_PER_US, nb)

    def bind(ins, outs, ws):
        xf, of = _raw(ins[0]).reshape(-1), _raw(outs[0]).reshape(-1)
        if nt > 1:
            return par.guarded(bound_kernel(par.space_to_batch_x_mt, xf, *geo, padv, of, np.int64(nt)))
        return bound_kernel(space_to_batch_x, xf, *geo, padv, of)
    return Lowered(outputs=[(tuple(out_shape), dtype)], bind=bind)


@lowering("BATCH_TO_SPACE_ND")
def batch_to_space_nd(ctx):
    """out[b, h, w, c] = x[(i*bw + j)*B + b, hh // bh, ww // bw, c], hh = h + crop_top = .. *bh + i."""
    x, (nb, h, w, c), (bh, bw), ((ct, cb), (cl, cr)) = _batch_space_operands(ctx, "crops")
    if nb % (bh * bw):
        ctx.fail(f"batch {nb} not divisible by block {bh}x{bw}", ModelValidationError)
    bo = nb // (bh * bw)
    if ct + cb > h * bh or cl + cr > w * bw:
        ctx.fail(f"crops {[[ct, cb], [cl, cr]]} larger than the block-expanded size", ModelValidationError)
    oh, ow = h * bh - ct - cb, w * bw - cl - cr
    sn, sh, sw, _ = _strides((nb, h, w, c))
    hh, ww = np.arange(oh) + ct, np.arange(ow) + cl
    tabs = [axis_table(bo, sn), (hh // bh) * sh + (hh % bh) * bw * bo * sn, (ww // bw) * sw + (ww % bw) * bo * sn,
            np.arange(c)]
    out = [bo, oh, ow, c] if len(x.shape) == 4 else [bo, oh, c]
    return gather_lowered(ctx, x, out, tabs)


# ----- CONCATENATION, PACK, UNPACK, SPLIT, SPLIT_V ---------------------------------------

def _same_quant(ctx, tensors):
    """Integer (quantized) tensors move unchanged only when every scale/zero point matches."""
    qs = [t.quant for t in tensors]
    if tensors[0].dtype.kind in "iu" and any(q is not None for q in qs):
        ref = qs[0]
        for q in qs[1:]:
            if (q is None) != (ref is None) or (q is not None and (
                    not np.array_equal(q.scale, ref.scale) or not np.array_equal(q.zero_point, ref.zero_point))):
                ctx.fail("quantized inputs/outputs with different scales or zero points need requantization, "
                         "which is not supported here")


def _columns_lowered(ctx, outputs, copies, rows, act=None):
    """Block copies between (rows, cols) tensors: copies[k] = (in_index, in_cols, src_col,
    out_index, out_cols, dst_col, ncols), i.e. out[:, dst_col:+ncols] = in[:, src_col:+ncols]."""
    def bind(ins, outs, ws):
        calls = []
        for ii, icols, sc, oi, ocols, dc, nc in copies:
            calls.append(bound_kernel(copy_rows_x, _raw(ins[ii]).reshape(-1), sc, icols, _raw(outs[oi]).reshape(-1),
                                      dc, ocols, rows, nc))
        if act is not None:
            of = outs[0].reshape(-1)
            lo, hi = np.float32(act[0]), np.float32(act[1])
            calls.append(bound_kernel(clamp_f32, of, lo, hi))
        return chain(*calls)
    return Lowered(outputs=outputs, bind=bind)


@lowering("CONCATENATION")
def concatenation(ctx):
    ins = [_movable(ctx, ctx.input(i)) for i in range(len(ctx.inputs))]
    if not ins:
        ctx.fail("needs at least one input", ModelValidationError)
    x0 = ins[0]
    rank = len(x0.shape)
    shapes = [tuple(t.shape) if rank else (1,) for t in ins]
    axis = norm_axis(ctx, ctx.opt("axis", 0), max(rank, 1))
    for t, s in zip(ins, shapes):
        if t.dtype != x0.dtype or len(t.shape) != rank or \
                any(s[d] != shapes[0][d] for d in range(len(s)) if d != axis):
            ctx.fail(f"inputs {[list(t.shape) for t in ins]} ({x0.type_name}) cannot be concatenated "
                     f"on axis {axis}", ModelValidationError)
    tables = _concat_requant_tables(ctx, ins) if x0.dtype == np.uint8 else None
    if tables is None:
        _same_quant(ctx, ins + list(ctx.outputs))
    act = None
    if ctx.opt("fused_activation_function", 0):
        if x0.dtype != np.float32:
            ctx.fail(f"fused activation on {x0.type_name} concatenation")
        act = act_range_f32(ctx)
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)
    rows = int(np.prod(out[:axis], dtype=np.int64))
    inner = int(np.prod(out[axis + 1:], dtype=np.int64))
    total = out[axis] * inner
    copies, col = [], 0
    for k, s in enumerate(shapes):
        n = s[axis] * inner
        copies.append((k, n, 0, 0, total, col, n))
        col += n
    low = _columns_lowered(ctx, [(tuple(out), x0.dtype)], copies, rows, act)
    if tables is None:
        return low
    return _requantized_inputs(low, ins, tables)


def _concat_requant_tables(ctx, ins):
    """uint8 CONCATENATION with differing parameters: TFLite's ConcatenationWithScaling
    (the only 8-bit case TFLite accepts; int8 must have equal parameters), as one
    256-entry table per input that needs it (None = no input needs rescaling):
        sc = s_in * (1 / s_out), bias = -zp_in * sc      (float32)
        q  = clamp(int(round_half_away(x * sc + bias)) + zp_out, 0, 255)
    Checked exactly against LiteRT (both resolvers) on all 256 codes."""
    from ..quant import round_half_away, tensor_qparams
    out = ctx.outputs[0]
    if out.quant is None or all(t.quant is None for t in ins):
        return None
    qo = tensor_qparams(ctx, out)
    tables, need = [], False
    for t in ins:
        qi = tensor_qparams(ctx, t)
        if qi == qo:
            tables.append(None)
            continue
        need = True
        sc = np.float32(np.float32(qi[0]) * (np.float32(1.0) / np.float32(qo[0])))
        bias = np.float32(np.float32(-qi[1]) * sc)
        v = (np.arange(256, dtype=np.float32) * sc + bias).astype(np.float32)
        tab = [min(max(int(round_half_away(float(f))) + qo[1], 0), 255) for f in v]
        tables.append(np.array(tab, np.uint8))
    return tables if need else None


def _requantized_inputs(low, ins, tables):
    """Wrap a copy lowering: inputs with a table are first mapped into a workspace."""
    from ..kernels.qelementwise import lut_u8
    idx = [k for k, t in enumerate(tables) if t is not None]
    inner_bind = low.bind

    def bind(ins_a, outs, ws):
        staged = list(ins_a)
        calls = []
        for w, k in zip(ws, idx):
            src = ins_a[k].reshape(-1)
            if not src.flags.writeable:
                src = src.copy()
            calls.append(bound_kernel(lut_u8, src, tables[k], w.reshape(-1)))
            staged[k] = w
        return chain(*calls, inner_bind(staged, outs, []))
    low.bind = bind
    low.workspace = [(tuple(ins[k].shape), np.uint8) for k in idx]
    return low


@lowering("PACK")
def pack(ctx):
    ins = [_movable(ctx, ctx.input(i)) for i in range(len(ctx.inputs))]
    count = ctx.opt("values_count", len(ins))
    if not ins or count != len(ins):
        ctx.fail(f"values_count {count} but {len(ins)} inputs", ModelValidationError)
    shape = tuple(ins[0].shape)
    for t in ins:
        if tuple(t.shape) != shape or t.dtype != ins[0].dtype:
            ctx.fail(f"PACK inputs differ: {[list(t.shape) for t in ins]}", ModelValidationError)
    _same_quant(ctx, ins + list(ctx.outputs))
    axis = norm_axis(ctx, ctx.opt("axis", 0), len(shape) + 1)
    rows = int(np.prod(shape[:axis], dtype=np.int64))
    inner = int(np.prod(shape[axis:], dtype=np.int64))
    out = shape[:axis] + (len(ins),) + shape[axis:]
    copies = [(k, inner, 0, 0, inner * len(ins), k * inner, inner) for k in range(len(ins))]
    return _columns_lowered(ctx, [(out, ins[0].dtype)], copies, rows)


def _split_lowered(ctx, x, axis, sizes, src=0):
    shape = tuple(x.shape)
    rows = int(np.prod(shape[:axis], dtype=np.int64))
    inner = int(np.prod(shape[axis + 1:], dtype=np.int64))
    total = shape[axis] * inner
    copies, outs, col = [], [], 0
    for k, s in enumerate(sizes):
        o = list(shape)
        o[axis] = s
        outs.append((tuple(o), x.dtype))
        copies.append((src, total, col, k, s * inner, 0, s * inner))
        col += s * inner
    return _columns_lowered(ctx, outs, copies, rows)


@lowering("UNPACK")
def unpack(ctx):
    x = _movable(ctx, ctx.input(0))
    rank = len(x.shape)
    if rank == 0:
        ctx.fail("cannot unpack a scalar", ModelValidationError)
    axis = norm_axis(ctx, ctx.opt("axis", 0), rank)
    num = ctx.opt("num", 0)
    if num != x.shape[axis] or num != len(ctx.outputs):
        ctx.fail(f"num {num} must equal dimension {axis} ({x.shape[axis]}) and the number of outputs "
                 f"({len(ctx.outputs)})", ModelValidationError)
    low = _split_lowered(ctx, x, axis, [1] * num)
    low.outputs = [(s[:axis] + s[axis + 1:], d) for s, d in low.outputs]
    return low


@lowering("SPLIT")
def split(ctx):
    x = _movable(ctx, ctx.input(1))
    a = _ints(ctx, 0, "axis").reshape(-1)
    if a.size != 1:
        ctx.fail("axis must have one element", ModelValidationError)
    axis = norm_axis(ctx, a[0], len(x.shape))
    num = ctx.opt("num_splits", 0)
    if num < 1 or num != len(ctx.outputs) or x.shape[axis] % num:
        ctx.fail(f"cannot split dimension {x.shape[axis]} into {num} ({len(ctx.outputs)} outputs)",
                 ModelValidationError)
    return _split_lowered(ctx, x, axis, [x.shape[axis] // num] * num, src=1)


@lowering("SPLIT_V")
def split_v(ctx):
    x = _movable(ctx, ctx.input(0))
    sizes = _ints(ctx, 1, "size_splits").reshape(-1).tolist()
    a = _ints(ctx, 2, "axis").reshape(-1)
    if a.size != 1:
        ctx.fail("axis must have one element", ModelValidationError)
    axis = norm_axis(ctx, a[0], len(x.shape))
    n = x.shape[axis]
    if len(sizes) != len(ctx.outputs) or sizes.count(-1) > 1 or any(s < -1 for s in sizes):
        ctx.fail(f"invalid size_splits {sizes} for {len(ctx.outputs)} outputs", ModelValidationError)
    if -1 in sizes:
        sizes[sizes.index(-1)] = n - (sum(sizes) + 1)
    if sum(sizes) != n or any(s < 0 for s in sizes):
        ctx.fail(f"size_splits {sizes} do not add up to dimension {axis} of size {n}", ModelValidationError)
    return _split_lowered(ctx, x, axis, sizes)


# ----- GATHER -----------------------------------------------------------------------------

@lowering("GATHER")
def gather(ctx):
    x = _movable(ctx, ctx.input(0))
    ind = ctx.input(1)
    if ind.dtype not in (np.dtype(np.int32), np.dtype(np.int64)):
        ctx.fail(f"indices of dtype {ind.type_name} are not supported")
    rank, irank = len(x.shape), len(ind.shape)
    axis = norm_axis(ctx, ctx.opt("axis", 0), rank)
    bd = ctx.opt("batch_dims", 0)
    if bd < 0:
        bd += irank
    if not 0 <= bd <= min(axis, irank) or tuple(x.shape[:bd]) != tuple(ind.shape[:bd]):
        ctx.fail(f"batch_dims {ctx.opt('batch_dims', 0)} invalid for params {list(x.shape)}, "
                 f"indices {list(ind.shape)}, axis {axis}", ModelValidationError)
    n = x.shape[axis]
    if ind.value is not None and ind.size and (ind.value.min() < 0 or ind.value.max() >= n):
        ctx.fail(f"gather indices out of range [0, {n})", ModelValidationError)
    _same_quant(ctx, [x] + list(ctx.outputs))
    batch = int(np.prod(x.shape[:bd], dtype=np.int64))
    outer = int(np.prod(x.shape[bd:axis], dtype=np.int64))
    inner = int(np.prod(x.shape[axis + 1:], dtype=np.int64))
    nidx = int(np.prod(ind.shape[bd:], dtype=np.int64))
    out = tuple(x.shape[:axis]) + tuple(ind.shape[bd:]) + tuple(x.shape[axis + 1:])
    name, op_index = ind.name, ctx.node.index

    def bind(ins, outs, ws):
        x4 = _raw(ins[0]).reshape(batch, outer, n, inner)
        i2 = ins[1].reshape(batch, nidx)
        o4 = _raw(outs[0]).reshape(batch, outer, nidx, inner)
        gather = bound_kernel(gather_rows_x, x4, i2, o4)

        def step():
            if gather():
                raise InputError(f"GATHER (op {op_index}): an index in {name!r} is outside [0, {n})")
        return step
    return Lowered(outputs=[(out, x.dtype)], bind=bind)


# ----- GATHER_ND --------------------------------------------------------------------------

@lowering("GATHER_ND")
def gather_nd(ctx):
    """out[i..., :] = params[indices[i..., 0], ..., indices[i..., K-1], :].  Every index is
    checked against its own dimension (TF's rule; TFLite only checks the flat range)."""
    x = _movable(ctx, ctx.input(0))
    ind = ctx.input(1)
    if ind.dtype not in (np.dtype(np.int32), np.dtype(np.int64)):
        ctx.fail(f"indices of dtype {ind.type_name} are not supported")
    if len(ind.shape) < 1:
        ctx.fail("indices must have at least one dimension", ModelValidationError)
    k = int(ind.shape[-1])
    if k > len(x.shape):
        ctx.fail(f"indices depth {k} exceeds params rank {len(x.shape)}", ModelValidationError)
    dims = np.array(x.shape[:k], np.int64)
    if ind.value is not None and ind.size and np.any((ind.value < 0) | (ind.value >= dims)):
        ctx.fail(f"gather_nd indices out of range for params {list(x.shape)}", ModelValidationError)
    _same_quant(ctx, [x] + list(ctx.outputs))
    cnt = np.array(_strides(x.shape)[:k], np.int64)
    slice_size = int(np.prod(x.shape[k:], dtype=np.int64))
    nslices = int(np.prod(ind.shape[:-1], dtype=np.int64))
    out = tuple(ind.shape[:-1]) + tuple(x.shape[k:])
    if int(np.prod(x.shape, dtype=np.int64)) == 0 and nslices * slice_size:
        ctx.fail(f"gather_nd from empty params {list(x.shape)}", ModelValidationError)
    name, op_index = ind.name, ctx.node.index

    def bind(ins, outs, ws):
        xf, of = _raw(ins[0]).reshape(-1), _raw(outs[0]).reshape(-1)
        i2 = ins[1].reshape(nslices, k)
        gather = bound_kernel(gather_nd_x, xf, i2, dims, cnt, slice_size, of)

        def step():
            if gather():
                raise InputError(f"GATHER_ND (op {op_index}): an index in {name!r} is outside params "
                                 f"dims {dims.tolist()}")
        return step
    return Lowered(outputs=[(out, x.dtype)], bind=bind)


# ----- ARG_MAX, ARG_MIN -------------------------------------------------------------------

ARG_INPUTS = [np.dtype(d) for d in (np.float32, np.int8, np.uint8, np.int32)]
OUTPUT_TYPES = {2: np.dtype(np.int32), 4: np.dtype(np.int64)}     # TensorType INT32, INT64


@lowering("ARG_MAX", "ARG_MIN")
def arg_min_max(ctx):
    """Index of the first maximum (minimum) along a constant axis; NaN never wins."""
    x = ctx.input(0)
    if x.dtype not in ARG_INPUTS:
        ctx.fail(f"input dtype {x.type_name} is not supported (float32, int8, uint8, int32)")
    rank = len(x.shape)
    if rank < 1:
        ctx.fail("input must have at least one dimension", ModelValidationError)
    a = _ints(ctx, 1, "axis").reshape(-1)
    if a.size != 1:
        ctx.fail("axis must have one element", ModelValidationError)
    axis = norm_axis(ctx, a[0], rank)
    ot = ctx.opt("output_type", None)
    out_dt = ctx.outputs[0].dtype
    if ot is not None and OUTPUT_TYPES.get(ot) != out_dt or out_dt not in OUTPUT_TYPES.values():
        ctx.fail(f"output_type {ot} / output dtype {ctx.outputs[0].type_name} must be int32 or int64 and agree",
                 ModelValidationError)
    n = int(x.shape[axis])
    outer = int(np.prod(x.shape[:axis], dtype=np.int64))
    inner = int(np.prod(x.shape[axis + 1:], dtype=np.int64))
    out = tuple(x.shape[:axis]) + tuple(x.shape[axis + 1:])
    if n == 0 and outer * inner:
        ctx.fail(f"cannot take arg min/max over an empty axis of shape {list(x.shape)}", ModelValidationError)
    is_min = ctx.node.op == "ARG_MIN"

    def bind(ins, outs, ws):
        x3 = ins[0].reshape(outer, n, inner)
        o2 = outs[0].reshape(outer, inner)
        return bound_kernel(arg_minmax_x, x3, is_min, o2)
    return Lowered(outputs=[(out, out_dt)], bind=bind)
