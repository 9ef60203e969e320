"""NumPy twins of kernels/transform.py."""
import numpy as np


def gather_axes_x(x, tab, starts, dims, pad, contig, out):
    off = np.zeros([int(d) for d in dims], np.int64)
    for d in range(8):
        t = tab[starts[d]:starts[d] + dims[d]]
        shape = [1] * 8
        shape[d] = int(dims[d])
        off = off + t.reshape(shape)
    off = off.reshape(-1)
    valid = off >= 0
    res = np.full(off.shape, pad, dtype=out.dtype)
    res[valid] = x[off[valid]]
    out[...] = res


def pad_x(x, dims, lo, odims, value, out):
    o = np.full([int(d) for d in odims], value, dtype=out.dtype)
    inner = tuple(slice(int(lo[a]), int(lo[a] + dims[a])) for a in range(4))
    o[inner] = x.reshape([int(d) for d in dims])
    out[...] = o.reshape(-1)


def transpose_tiled_x(x, ibase, obase, nk, nl, isl, osk, out):
    k = np.arange(nk)[:, None]
    l = np.arange(nl)[None, :]
    for ib, ob in zip(ibase, obase):
        out[ob + k * osk + l] = x[ib + k + l * isl]


def transpose_tiled_32(x, ibase, obase, nk, nl, isl, osk, out):
    transpose_tiled_x(x, ibase, obase, nk, nl, isl, osk, out)


def copy_rows_x(src, src_off, src_stride, dst, dst_off, dst_stride, rows, n):
    for r in range(rows):
        a, b = src_off + r * src_stride, dst_off + r * dst_stride
        dst[b:b + n] = src[a:a + n]


def gather_rows_x(x, idx, out):
    n = x.shape[2]
    if np.any((idx < 0) | (idx >= n)):
        return True
    for b in range(idx.shape[0]):
        out[b] = x[b][:, idx[b], :]
    return False


def gather_nd_x(x, idx, dims, cnt, slice_size, out):
    if np.any((idx < 0) | (idx >= dims[None, :])):
        return True
    base = (idx.astype(np.int64) * cnt[None, :]).sum(axis=1)
    out[...] = x[base[:, None] + np.arange(slice_size)[None, :]].reshape(-1)
    return False


def arg_minmax_x(x, is_min, out):
    # extreme over the non-NaN values (fmin/fmax skip NaN), then its first position;
    # an all-NaN run matches nowhere and argmax of all-False is 0.
    m = (np.fmin if is_min else np.fmax).reduce(x, axis=1, keepdims=True)
    hit = (x == m) & ~np.isnan(x) if x.dtype.kind == "f" else x == m
    out[...] = np.argmax(hit, axis=1)


def clamp_f32(x, lo, hi):
    np.clip(x, lo, hi, out=x)


def tile_repeat_x(x, outer, r, inner, out):
    out[:outer * r * inner] = np.repeat(x[:outer * inner].reshape(outer, 1, inner), r, axis=1).reshape(-1)


def space_to_batch_x(x, n, h, w, c, bh, bw, pt, pl, oh, ow, value, out):
    hp, wp = oh * bh, ow * bw
    padded = np.full((n, hp, wp, c), value, x.dtype)
    padded[:, pt:pt + h, pl:pl + w] = x.reshape(n, h, w, c)
    blocks = padded.reshape(n, oh, bh, ow, bw, c).transpose(2, 4, 0, 1, 3, 5)
    out[:] = blocks.reshape(-1)
