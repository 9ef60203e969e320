"""Int8 GEMM for dynamic-range ("QD8-F32 x QC8W") layers: float activations
quantized per row (or per image) at run time, int8 per-channel symmetric
weights, float32 output.

    acc[m, n] = sum_k (q[m, k] - zp[m]) * w[n, k]                  (exact int32)
    out[m, n] = clamp(fma(float(acc) * s[m], ws[n], b[n]), lo, hi)      XNNPack order
              = clamp(float(acc) * (ws[n] * s[m]) + b[n], lo, hi)      TFLite order (tfl), unfused

Activations are stored as uint8 ``q + 128`` with zero point ``zpu = zp + 128``
(XNNPack's "qdu8"), the form vpdpbusd (u8 x s8) takes; the int32 result is
the same.  The correction ``zpu[m] * nksum[n]`` (nksum = -sum_k w) is where
each accumulator starts, as in XNNPack.  K is padded to a multiple of 4 with
zero weights (the padded activation bytes are never initialised: they are
multiplied by 0).

Two implementations, chosen at prepare time by numba_infer.isa:

- AVX512-VNNI (``qgemm_vnni.py`` + generated ``_ukernels_qd8_vnni.py``):
  weights packed as [N/NR][K/4][NR][4] int8 (``pack_qc8w_vnni``).
- generic (this module): plain Numba in the k-inner "dot" form, which LLVM
  turns into vpmaddwd/vpdpwssd where available (PERF_NOTES.md §3); weights
  as [N, Kp] int8 rows (``pack_qc8w_rows``).  Bit-identical int32 results.

The activations come from the per-row quantizers of kernels/dynquant.py
(offset 128).  Also here: the uint8 im2col with per-image padding value, the
generic drivers, TFLite's hybrid depthwise conv.
Reference: kernels/reference/qgemm.py
"""
import numpy as np

from ._jit import kernel
from .simd import fma_f32

TILE_1x64 = 0
TILE_6x64 = 1
TILE_8x32 = 2
TILE_8x48 = 3
TILE_8x16 = 4
QTILES = {TILE_1x64: (1, 64), TILE_6x64: (6, 64), TILE_8x32: (8, 32), TILE_8x48: (8, 48), TILE_8x16: (8, 16)}
# relative cost of one padded output element per tile (measured: the 16-wide
# tile does one activation broadcast per vpdpbusd and is load bound)
_QTILE_COST = {TILE_6x64: 1.0, TILE_8x48: 1.0, TILE_8x32: 1.02, TILE_8x16: 1.12}
MC = 192


def choose_qtile(m, n):
    """VNNI tile for an m x n output: 1x64 for one row, else the tile that
    computes the fewest padded elements, weighted by _QTILE_COST."""
    if m == 1:
        return TILE_1x64
    cost = {t: -(-m // mr) * mr * -(-n // nr) * nr * _QTILE_COST[t]
            for t, (mr, nr) in QTILES.items() if t != TILE_1x64}
    return min(cost, key=cost.get)


def choose_qtile_fc(m, n):
    """Tile of a FULLY_CONNECTED: choose_qtile, except that one row of a
    narrow output (n <= GEMV16_MAX_N) takes the 16-wide packing, which the
    VNNI driver runs through its 16-wide GEMV (1x64 panels would stream up
    to 4x the weight bytes: 64 KB instead of 16 KB for 1024 -> 10)."""
    if m == 1 and n <= GEMV16_MAX_N:
        return TILE_8x16
    return choose_qtile(m, n)


GEMV16_MAX_N = 32


def zeros_aligned(size, dtype, align=64):
    """np.zeros(size, dtype) whose data starts on an align-byte boundary
    (numpy's allocator gives 16): the packed weights' 64-byte vector loads
    then never straddle two cache lines (measured ~4% on an L3-bound GEMV)."""
    dtype = np.dtype(dtype)
    buf = np.zeros(size * dtype.itemsize + align, np.uint8)
    off = -buf.ctypes.data % align
    return buf[off:off + size * dtype.itemsize].view(dtype)


FC_HEAD = 16            # int32 words of pack_fc_qd8's header (64 bytes: the weights after it stay aligned)


def pack_fc_qd8(qmode, tile, n, kp, tfl, lo, hi, ldc, wq, nks, ws, bs):
    """The parameter block of the VNNI FULLY_CONNECTED step (qgemm_vnni.fc_qd8_vnni)
    as one 64-byte aligned int32 array: header [qmode, tile, n, kp, tfl, ldc, npad,
    nwords, lo bits, hi bits, 0 ...] (FC_HEAD words), then the packed weights wq
    (nwords int32), nks, ws bits, bs bits (npad each)."""
    npad, nw = nks.shape[0], wq.shape[0]
    out = zeros_aligned(FC_HEAD + nw + 3 * npad, np.int32)
    out[:8] = [qmode, tile, n, kp, int(bool(tfl)), ldc, npad, nw]
    out[8:10] = np.array([lo, hi], np.float32).view(np.int32)
    o = FC_HEAD
    out[o:o + nw] = wq
    out[o + nw:o + nw + npad] = nks
    out[o + nw + npad:o + nw + 2 * npad] = np.asarray(ws, np.float32).view(np.int32)
    out[o + nw + 2 * npad:o + nw + 3 * npad] = np.asarray(bs, np.float32).view(np.int32)
    return out


def tile_mc(tile, kbytes):
    """Rows per cache block (a multiple of the tile's MR): about 96 KB of A
    rows of kbytes each, at least one tile."""
    mr = QTILES[tile][0]
    return max(mr, min(MC * 2, 98304 // max(kbytes, 1)) // mr * mr)


@kernel
def tile_shape(tile):
    """(MR, NR) of a QTILES tile id, inside kernels."""
    if tile == TILE_1x64:
        return 1, 64
    if tile == TILE_6x64:
        return 6, 64
    if tile == TILE_8x32:
        return 8, 32
    if tile == TILE_8x48:
        return 8, 48
    return 8, 16


def kpad(k):
    return (k + 3) // 4 * 4


def vnni_packed_words(n, k, nr):
    """int32 words of pack_qc8w_vnni's output for an [n, k] matrix."""
    return -(-n // nr) * nr * kpad(k) // 4


def igemm_kc4(cg):
    """Words (4 channels) per tap of the indirect GEMM: cg channels rounded up to 4."""
    return (cg + 3) // 4


def pack_igemm_weights(w, tile):
    """Prepare-time packing of conv weights w [groups, ng, taps, cg] (int8) for
    the VNNI (indirect) GEMM: K ordered (tap, channel) with each tap's channels
    zero padded to kc4*4, packed per group with pack_qc8w_vnni (the tile's NR),
    groups back to back.  Returns (int32 words, kc4, npad)."""
    groups, ng, taps, cg = w.shape
    kc4 = igemm_kc4(cg)
    nr = QTILES[tile][1]
    npad = -(-ng // nr) * nr
    wp = np.zeros((groups, ng, taps, kc4 * 4), np.int8)
    wp[..., :cg] = w
    k = taps * kc4 * 4
    out = zeros_aligned(groups * npad * k, np.int8)
    for g in range(groups):
        pack_qc8w_vnni(np.ascontiguousarray(wp[g]).reshape(-1), 0, k, 1, ng, k, nr, out[g * npad * k:(g + 1) * npad * k])
    return out.view(np.int32), kc4, npad


def pad_groups(v, groups, npad, dtype):
    """Per-channel values v [groups * ng] -> [groups * npad] (zero padded per group)."""
    v = np.asarray(v).reshape(groups, -1)
    out = np.zeros((groups, npad), dtype)
    out[:, :v.shape[1]] = v
    return out.reshape(-1)


# ---------------------------------------------------------------- packing
@kernel
def pack_qc8w_vnni(w, w_off, sn, sk, n, k, nr, out):
    """int8 W (element (j, kk) at w[w_off + j*sn + kk*sk]) -> out int8 flat
    [ceil(n/nr)][kp/4][nr][4] (zero padded in n and k)."""
    k4 = (k + 3) // 4
    npan = (n + nr - 1) // nr
    for i in range(npan * k4 * nr * 4):
        out[i] = 0
    for p in range(npan):
        for j in range(min(nr, n - p * nr)):
            src = w_off + (p * nr + j) * sn
            for kk in range(k):
                out[((p * k4 + kk // 4) * nr + j) * 4 + (kk & 3)] = w[src + kk * sk]


@kernel
def pack_qc8w_rows(w, w_off, sn, sk, n, k, kp, out):
    """int8 W -> out int8 flat [n][kp], rows zero padded from k to kp."""
    for j in range(n):
        for kk in range(k):
            out[j * kp + kk] = w[w_off + j * sn + kk * sk]
        for kk in range(k, kp):
            out[j * kp + kk] = 0


@kernel
def qc8w_channel_params(w, w_off, sn, sk, n, k, wscale, bias, nks, ws, bs):
    """Per output channel j < n: nks[j] = -sum_k W[j, k], ws[j] = wscale[j],
    bs[j] = bias[j]; entries n.. of the (padded) outputs are 0."""
    for j in range(nks.shape[0]):
        nks[j] = 0
        ws[j] = np.float32(0.0)
        bs[j] = np.float32(0.0)
    for j in range(n):
        s = np.int32(0)
        for kk in range(k):
            s += np.int32(w[w_off + j * sn + kk * sk])
        nks[j] = -s
        ws[j] = wscale[j]
        bs[j] = bias[j]


# ---------------------------------------------------------------- im2col (uint8)
@kernel
def im2col_u8(x, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, c0, cg, r0, nrows, padv, kp, out):
    """Rows r0..r0+nrows of the im2col matrix of NHWC uint8 x (flat), row r
    at out[r*kp:], columns (ky, kx, c) for channels c0..c0+cg.  Taps outside
    the image take the value padv[b] of their image b (the zero point: a real
    0 after dequantization, like XNNPack's IGEMM zero buffer)."""
    for r in range(nrows):
        rr = r0 + r
        b = rr // (oh * ow)
        t = rr - b * (oh * ow)
        oy = t // ow
        ox = t - oy * ow
        pv = padv[b]
        dst = r * kp
        for ky in range(kh):
            iy = oy * sh - pt + ky * dh
            for kx in range(kw):
                ix = ox * sw - pl + kx * dw
                o = dst + (ky * kw + kx) * cg
                if 0 <= iy < h and 0 <= ix < w:
                    src = ((b * h + iy) * w + ix) * cin + c0
                    for ci in range(cg):
                        out[o + ci] = x[src + ci]
                else:
                    for ci in range(cg):
                        out[o + ci] = pv


@kernel
def expand_image_params(scale, zpu, rows_per_image, r0, nrows, sa, za):
    """sa[r], za[r] = scale, zpu of the image that row r0 + r belongs to."""
    for r in range(nrows):
        b = (r0 + r) // rows_per_image
        sa[r] = scale[b]
        za[r] = zpu[b]


@kernel
def conv_indirection(batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, zoff, zstride, ind):
    """Indirection buffer of an NHWC conv for the indirect GEMM (no im2col):
    ind[t*M + r] (M = batch*oh*ow, tap t = ky*kw + kx, output pixel r) = byte
    offset of the input pixel (b, iy, ix) that tap reads, ((b*h + iy)*w + ix)*cin,
    or zoff + b*zstride (image b's zero-point pixel) for taps in the padding."""
    m = batch * oh * ow
    for b in range(batch):
        for oy in range(oh):
            for ox in range(ow):
                r = (b * oh + oy) * ow + ox
                for ky in range(kh):
                    iy = oy * sh - pt + ky * dh
                    for kx in range(kw):
                        ix = ox * sw - pl + kx * dw
                        if 0 <= iy < h and 0 <= ix < w:
                            v = ((b * h + iy) * w + ix) * cin
                        else:
                            v = zoff + b * zstride
                        ind[(ky * kw + kx) * m + r] = v


@kernel
def fill_rows_u8(a, off, stride, nrows, length, vals):
    """a[off + b*stride + j] = vals[b] for b < nrows, j < length (the zero-point
    pixels of the indirect GEMM).  vals: integers (uint8 codes)."""
    for b in range(nrows):
        v = np.uint8(vals[b])
        o = off + b * stride
        for j in range(length):
            a[o + j] = v


# ---------------------------------------------------------------- generic GEMM
@kernel
def gemm_qdu8_qc8w_f32_generic(m, n, kp, a, lda, sa, zpa, wt, nks, ws, bs, tfl, lo, hi, c, ldc):
    """Portable QD8-F32 GEMM (see module docstring).  a: uint8 flat, row i at
    a[i*lda:] (kp bytes used); sa, zpa: per-row scale / uint8 zero point;
    wt: int8 [n][kp] (pack_qc8w_rows); nks, ws, bs: per-channel params;
    c: float32 flat, row i at c[i*ldc:]."""
    for i in range(m):
        z = np.int32(zpa[i])
        s = sa[i]
        ar = a[i * lda:i * lda + kp]
        for j in range(n):
            wr = wt[j * kp:(j + 1) * kp]
            acc = np.int32(0)
            for kk in range(kp):        # k-inner dot form: vectorizes to vpmaddwd / vpdpwssd
                acc += np.int32(ar[kk]) * np.int32(wr[kk])
            acc += nks[j] * z
            f = np.float32(acc)
            if tfl:
                y = f * (ws[j] * s) + bs[j]       # unfused (no fastmath here: no contraction)
            else:
                y = fma_f32(f * s, ws[j], bs[j])
            c[i * ldc + j] = min(max(y, lo), hi)


@kernel
def batch_matmul_qdu8_qc8w_f32_generic(m, n, kp, a, sa, zpa, a_idx, wt, w_idx, nks, ws, bs, tfl, c):
    """c[b] = gemm(a rows of batch a_idx[b], weights/params of matrix w_idx[b]);
    a: uint8 [*, m, kp]; wt: [*, n, kp]; nks/ws/bs: [*, n]; c: [batches, m, n]."""
    lo = np.float32(-np.inf)
    hi = np.float32(np.inf)
    for b in range(a_idx.shape[0]):
        ai = a_idx[b]
        wi = w_idx[b]
        gemm_qdu8_qc8w_f32_generic(m, n, kp, a[ai * m * kp:], kp, sa[ai * m:], zpa[ai * m:], wt[wi * n * kp:],
                                   nks[wi * n:], ws[wi * n:], bs[wi * n:], tfl, lo, hi, c[b * m * n:], n)


@kernel
def conv2d_qdu8_qc8w_f32_generic(xq, scale, zpu, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow,
                                 groups, cout, wt, nks, ws, bs, tfl, mb, lo, hi, col, sa, za, out):
    """NHWC conv2d on per-image quantized uint8 input xq (scale, zpu per image)
    through blocked uint8 im2col (padding = zero point) + the generic GEMM.
    wt: per-group [cout/groups][kp] rows back to back; nks/ws/bs: [cout]
    (group-major, as the output channels); col: mb*kp bytes; sa, za: mb."""
    cg = cin // groups
    ng = cout // groups
    kp = (kh * kw * cg + 3) // 4 * 4
    mtot = batch * oh * ow
    for r0 in range(0, mtot, mb):
        nrows = min(mb, mtot - r0)
        expand_image_params(scale, zpu, oh * ow, r0, nrows, sa, za)
        for g in range(groups):
            im2col_u8(xq, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, g * cg, cg, r0, nrows, zpu, kp, col)
            gemm_qdu8_qc8w_f32_generic(nrows, ng, kp, col, kp, sa, za, wt[g * ng * kp:], nks[g * ng:],
                                       ws[g * ng:], bs[g * ng:], tfl, lo, hi, out[r0 * cout + g * ng:], cout)
