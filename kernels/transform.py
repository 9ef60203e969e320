"""Data-movement kernels, dtype-generic (float32, int8, uint8, int16, int32, int64, bool,
float16 viewed as uint16).

Most TFLite data-movement ops (TRANSPOSE, SLICE, STRIDED_SLICE, TILE, PAD, MIRROR_PAD,
DEPTH_TO_SPACE, SPACE_TO_DEPTH, BATCH_TO_SPACE_ND, RESIZE_NEAREST_NEIGHBOR) are one
"separable gather": the source offset of output element (i0, ..., i7) is a sum of
per-axis terms tab[starts[d] + i_d].  The lowering builds those tables once at prepare
time; :func:`gather_axes_x` walks them.  A negative sum marks a padded element.
Hot shapes get dedicated kernels: :func:`pad_x` (fill + contiguous row copies),
:func:`space_to_batch_x` (SPACE_TO_BATCH_ND with its padding in one pass),
:func:`transpose_tiled_x` (cache-tiled 2-D transposes; :func:`transpose_tiled_32` for
4-byte elements, 16x16 register-shuffle blocks) and :func:`copy_rows_x`
(CONCATENATION / SPLIT blocks).

Offsets that are known to be >= 0 are cast to uint64 before indexing: with a signed
index Numba emits a negative-index wraparound test per element, which stops LLVM from
vectorizing the copy loops (measured 5-10x slower on contiguous runs).
Reference: kernels/reference/transform.py
"""
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from ._jit import FAST_F32, kernel

U = np.uint64


@kernel
def gather_axes_x(x, tab, starts, dims, pad, contig, out):
    """out.flat[i0..i7] = x[sum_d tab[starts[d] + i_d]], or pad where that sum is < 0.

    x: 1-D source; tab: int64 offset tables of the 8 output axes, concatenated;
    starts, dims: int64[8]; out: 1-D, prod(dims) elements, C order over the 8 axes.
    contig: the last axis' table is tab[s7] + arange(dims[7]) with no pad entries,
    so each innermost run is a plain copy (or all pad, if its base is negative).
    Pad entries are large negative numbers (-2**50); the sum of at most 8 table
    entries stays negative whenever one of them is a pad entry.
    """
    s0, s1, s2, s3 = starts[0], starts[1], starts[2], starts[3]
    s4, s5, s6, s7 = starts[4], starts[5], starts[6], starts[7]
    n7 = U(dims[7])
    o = U(0)
    for i0 in range(dims[0]):
        b0 = tab[s0 + i0]
        for i1 in range(dims[1]):
            b1 = b0 + tab[s1 + i1]
            for i2 in range(dims[2]):
                b2 = b1 + tab[s2 + i2]
                for i3 in range(dims[3]):
                    b3 = b2 + tab[s3 + i3]
                    for i4 in range(dims[4]):
                        b4 = b3 + tab[s4 + i4]
                        for i5 in range(dims[5]):
                            b5 = b4 + tab[s5 + i5]
                            for i6 in range(dims[6]):
                                b6 = b5 + tab[s6 + i6]
                                if contig:
                                    b = b6 + tab[s7]
                                    if b < 0:
                                        for i7 in range(n7):
                                            out[o + i7] = pad
                                    else:
                                        ub = U(b)
                                        for i7 in range(n7):
                                            out[o + i7] = x[ub + i7]
                                else:
                                    for i7 in range(n7):
                                        b = b6 + tab[s7 + i7]
                                        out[o + i7] = x[U(b)] if b >= 0 else pad
                                o += n7


@kernel
def pad_x(x, dims, lo, odims, value, out):
    """Constant padding of a 4-D C-order array, as fills and contiguous row copies.

    x: 1-D, prod(dims) elements (the (d0, d1, d2, d3) input); out: 1-D, prod(odims)
    elements; lo: int64[4] leading pad per axis, odims[a] >= lo[a] + dims[a].
    out[a, b, c, lo3 + j] = x[a - lo0, b - lo1, c - lo2, j] inside, value elsewhere.
    Input rows are visited in order, so the input offset simply advances.
    """
    o1, o2, o3 = U(odims[1]), U(odims[2]), U(odims[3])
    n3, l3 = U(dims[3]), U(lo[3])
    h3 = o3 - l3 - n3
    slab2 = o3
    slab1 = o2 * slab2
    slab0 = o1 * slab1
    o = U(0)
    i = U(0)
    for a in range(odims[0]):
        if a < lo[0] or a >= lo[0] + dims[0]:
            for j in range(slab0):
                out[o + j] = value
            o += slab0
            continue
        for b in range(odims[1]):
            if b < lo[1] or b >= lo[1] + dims[1]:
                for j in range(slab1):
                    out[o + j] = value
                o += slab1
                continue
            for c in range(odims[2]):
                if c < lo[2] or c >= lo[2] + dims[2]:
                    for j in range(slab2):
                        out[o + j] = value
                    o += slab2
                    continue
                for j in range(l3):
                    out[o + j] = value
                o += l3
                for j in range(n3):
                    out[o + j] = x[i + j]
                o += n3
                i += n3
                for j in range(h3):
                    out[o + j] = value
                o += h3


@kernel
def space_to_batch_x(x, n, h, w, c, bh, bw, pt, pl, oh, ow, value, out, ob0=0, ob1=-1):
    """SPACE_TO_BATCH_ND of an (n, h, w, c) C-order array in one pass, padding included:
    out[(i*bw + j)*n + b, y, z, :] = x[b, y*bh + i - pt, z*bw + j - pl, :], value where
    that pixel is in the padding.  x: 1-D, n*h*w*c elements; out: 1-D,
    n*bh*bw*oh*ow*c (the lowering checks the shapes); each pixel is a run of c.
    Output batches ob0 <= (i*bw + j)*n + b < ob1 only (ob1 = -1: all; a thread's share)."""
    cc = U(c)
    nb = n * bh * bw
    e1 = nb if ob1 < 0 else ob1
    for ob in range(ob0, e1):
        i = ob // (bw * n)
        j = (ob // n) % bw
        b = ob % n
        o = U(ob * oh * ow * c)
        for y in range(oh):
            iy = y * bh + i - pt
            rowok = 0 <= iy < h
            for z in range(ow):
                ix = z * bw + j - pl
                if rowok and 0 <= ix < w:
                    src = U(((b * h + iy) * w + ix) * c)
                    for k in range(cc):
                        out[o + k] = x[src + k]
                else:
                    for k in range(cc):
                        out[o + k] = value
                o += cc


@kernel
def transpose_tiled_x(x, ibase, obase, nk, nl, isl, osk, out):
    """Batched 2-D transpose, tiled so a tile's reads and writes both stay in L1.

    For every p: out[obase[p] + k*osk + l] = x[ibase[p] + k + l*isl], k < nk, l < nl
    (x is contiguous along k, out along l).  x, out: 1-D; ibase, obase: int64, >= 0.
    32x32 tiles made of fixed 4x4 blocks (constant trip counts LLVM fully unrolls);
    the nk % 4 and nl % 4 edges run a plain loop.  Measured on 3136x64 float32:
    4x4 blocks 61 us, 16x16 tiles with scalar rows 122 us.
    """
    t, bsz = 32, 4
    uisl, uosk = U(isl), U(osk)
    kb, lb = nk - nk % bsz, nl - nl % bsz
    for p in range(ibase.shape[0]):
        ib, ob = U(ibase[p]), U(obase[p])
        for k0 in range(0, kb, t):
            for l0 in range(0, lb, t):
                for k1 in range(k0, min(k0 + t, kb), bsz):
                    for l1 in range(l0, min(l0 + t, lb), bsz):
                        for kk in range(bsz):
                            d = ob + U(k1 + kk) * uosk + U(l1)
                            s = ib + U(k1 + kk) + U(l1) * uisl
                            for ll in range(bsz):
                                out[d + U(ll)] = x[s + U(ll) * uisl]
        for k in range(U(kb), U(nk)):
            for l in range(U(nl)):
                out[ob + k * uosk + l] = x[ib + k + l * uisl]
        for k in range(U(kb)):
            for l in range(U(lb), U(nl)):
                out[ob + k * uosk + l] = x[ib + k + l * uisl]


def _block_swap_masks(n):
    """Shuffle masks of the n x n transpose by block swaps: for b = n/2 .. 1,
    rows i and i + b (i & b == 0) exchange their off-diagonal b x b blocks:
    new[i] = (r[i][j] if j & b == 0 else r[i+b][j-b]),
    new[i+b] = (r[i][j+b] if j & b == 0 else r[i+b][j])."""
    out, b = [], n // 2
    while b:
        lo = [j if not j & b else n + j - b for j in range(n)]
        hi = [j + b if not j & b else n + j for j in range(n)]
        out.append((b, lo, hi))
        b //= 2
    return out


_SWAPS16 = _block_swap_masks(16)


@intrinsic
def _transpose16x16_32(typingctx, x, s, isl, out, d, osk):
    """out[d + k*osk + l] = x[s + k + l*isl] for k, l < 16, 4-byte elements
    (bits moved as i32: 16 vector loads, 4 x 16 two-source shuffles --
    vpermt2ps / vunpck* on AVX-512 -- and 16 vector stores; on other
    targets LLVM legalizes the shuffles for narrower vectors)."""
    if not (isinstance(x, types.Array) and isinstance(out, types.Array) and x.dtype == out.dtype
            and x.dtype.bitwidth == 32):
        return None

    def codegen(context, builder, sig, args):
        xa = context.make_array(sig.args[0])(context, builder, args[0])
        oa = context.make_array(sig.args[3])(context, builder, args[3])
        i32 = ir.IntType(32)
        vty = ir.VectorType(i32, 16)
        xp = builder.bitcast(xa.data, i32.as_pointer())
        op = builder.bitcast(oa.data, i32.as_pointer())
        s_, isl_, d_, osk_ = args[1], args[2], args[4], args[5]
        rows = []
        for l in range(16):
            off = builder.add(s_, builder.mul(isl_, ir.Constant(isl_.type, l)))
            rows.append(builder.load(builder.bitcast(builder.gep(xp, [off]), vty.as_pointer()), align=4))
        for b, lo, hi in _SWAPS16:
            new = list(rows)
            for i in range(16):
                if i & b:
                    continue
                new[i] = builder.shuffle_vector(rows[i], rows[i + b], ir.Constant(ir.VectorType(i32, 16), lo))
                new[i + b] = builder.shuffle_vector(rows[i], rows[i + b], ir.Constant(ir.VectorType(i32, 16), hi))
            rows = new
        for k in range(16):
            off = builder.add(d_, builder.mul(osk_, ir.Constant(osk_.type, k)))
            builder.store(rows[k], builder.bitcast(builder.gep(op, [off]), vty.as_pointer()), align=4)
        return context.get_dummy_value()
    return types.void(x, s, isl, out, d, osk), codegen


@kernel
def transpose_tiled_32(x, ibase, obase, nk, nl, isl, osk, out):
    """transpose_tiled_x for 4-byte elements (float32, int32, uint32 -- any
    bits): the 16 x 16 blocks of every 2-D slice by register shuffles
    (_transpose16x16_32), the nk % 16 / nl % 16 edges by plain loops (nk or
    nl < 16: transpose_tiled_x).  Measured
    on 4 x (128 x 64) float32: 9.2 -> 2.8 us against transpose_tiled_x."""
    if nk < 16 or nl < 16:
        transpose_tiled_x(x, ibase, obase, nk, nl, isl, osk, out)
        return
    kb, lb = nk - nk % 16, nl - nl % 16
    uisl, uosk = U(isl), U(osk)
    for p in range(ibase.shape[0]):
        ib, ob = U(ibase[p]), U(obase[p])
        for k0 in range(0, kb, 16):
            for l0 in range(0, lb, 16):
                _transpose16x16_32(x, ib + U(k0) + U(l0) * uisl, uisl, out, ob + U(k0) * uosk + U(l0), uosk)
        for k in range(U(kb), U(nk)):
            for l in range(U(nl)):
                out[ob + k * uosk + l] = x[ib + k + l * uisl]
        for k in range(U(kb)):
            for l in range(U(lb), U(nl)):
                out[ob + k * uosk + l] = x[ib + k + l * uisl]


@kernel
def tile_repeat_x(x, outer, r, inner, out):
    """out[(i*r + j)*inner + k] = x[i*inner + k] for i < outer, j < r, k < inner.

    x, out: 1-D, one dtype (the lowering views 8-bit to 64-bit words when the block
    allows).  TILE with a single repeated axis: every block of `inner` elements is
    written `r` times in a row, one tight copy loop per block.
    """
    ui = U(inner)
    ur = U(r)
    if ui == 1:
        for i in range(U(outer)):
            v = x[i]
            b = i * ur
            for j in range(ur):
                out[b + j] = v
        return
    for i in range(U(outer)):
        a = i * ui
        for j in range(ur):
            b = (i * ur + j) * ui
            for k in range(ui):
                out[b + k] = x[a + k]


@kernel
def copy_rows_x(src, src_off, src_stride, dst, dst_off, dst_stride, rows, n):
    """dst[dst_off + r*dst_stride + j] = src[src_off + r*src_stride + j], r < rows, j < n.

    src, dst: 1-D.  CONCATENATION / PACK (one call per input) and SPLIT / SPLIT_V /
    UNPACK (one per output): a block of `rows` equal-length contiguous runs.
    """
    un = U(n)
    for r in range(rows):
        a = U(src_off + r * src_stride)
        b = U(dst_off + r * dst_stride)
        for j in range(un):
            dst[b + j] = src[a + j]


@kernel
def gather_rows_x(x, idx, out):
    """GATHER: out[b, o, k, :] = x[b, o, idx[b, k], :].

    x: (batch, outer, n, inner); idx: (batch, nidx) int32/int64; out: (batch, outer, nidx, inner).
    Checks every index first: returns True (and writes nothing) if one is outside [0, n).
    """
    n = x.shape[2]
    for b in range(idx.shape[0]):
        for k in range(idx.shape[1]):
            i = idx[b, k]
            if i < 0 or i >= n:
                return True
    for b in range(out.shape[0]):
        for o in range(out.shape[1]):
            for k in range(out.shape[2]):
                i = idx[b, k]
                for j in range(out.shape[3]):
                    out[b, o, k, j] = x[b, o, i, j]
    return False


@kernel
def gather_nd_x(x, idx, dims, cnt, slice_size, out):
    """GATHER_ND: slice s of out = x[sum_j idx[s, j]*cnt[j] : ... + slice_size].

    x, out: 1-D; idx: (nslices, K) int32/int64; dims, cnt: int64[K] (the first K params
    dims and their element strides).  Checks every index first: returns True (and
    writes nothing) if idx[s, j] is outside [0, dims[j]) for some s, j.
    """
    ns, nd = idx.shape[0], idx.shape[1]
    for s in range(ns):
        for j in range(nd):
            v = idx[s, j]
            if v < 0 or v >= dims[j]:
                return True
    us = U(slice_size)
    o = U(0)
    for s in range(ns):
        f = 0
        for j in range(nd):
            f += idx[s, j] * cnt[j]
        uf = U(f)
        for k in range(us):
            out[o + k] = x[uf + k]
        o += us
    return False


@kernel
def arg_minmax_x(x, is_min, out):
    """ARG_MAX / ARG_MIN over axis 1 of x: (outer, n, inner), n >= 1; out: (outer, inner).

    LiteRT's observed rule: the first index of the largest (smallest) non-NaN value;
    NaNs never win, and an all-NaN run gives 0.  Ties keep the first index.
    The running best moves on a strictly better value, or away from a NaN.
    """
    n = x.shape[1]
    for a in range(x.shape[0]):
        for c in range(x.shape[2]):
            best = x[a, 0, c]
            bi = 0
            for i in range(1, n):
                v = x[a, i, c]
                better = v < best if is_min else v > best
                if better or (best != best and v == v):
                    best = v
                    bi = i
            out[a, c] = bi


@kernel(fastmath=FAST_F32)
def clamp_f32(x, lo, hi):
    """In place: x = min(max(x, lo), hi) on a 1-D float32 array (fused activation)."""
    for i in range(x.shape[0]):
        v = x[i]
        v = lo if v < lo else v
        x[i] = hi if v > hi else v
