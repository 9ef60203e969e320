"""fp32 GEMM with explicit SIMD: weight packing, register-tiled microkernels,
a blocked driver, a GEMV for one row, batched matmul, and conv2d (im2col).

    C[m, n] = clamp(sum_k A[m, k] * W[n, k] + bias[n], lo, hi)

Packed weights (``pack_gemm_f32``), XNNPACK's ``pack_gemm_goi_w`` idea: the N
output channels are cut into NR-wide panels; panel p occupies
``(K + 1) * NR`` floats: first the NR biases, then K rows of NR weights
(``W[p*NR + j, k]`` at ``p*(K+1)*NR + NR + k*NR + j``).  Columns past N are
zero, so microkernels always load full vectors of weights.

Microkernels (``_ukr_MRxNR``, generated into ``_ukernels_f32.py`` by
``_gen_ukernels.py``) hold an MR x NR accumulator tile in
``MR * NR/16`` vector registers (6x64, 14x32 and 28x16 use 24/28/28 of AVX-512's
32 zmm and do not spill: checked with ``inspect_asm``, hot loop = pure
``vbroadcastss`` + ``vfmadd231ps``; PERF_NOTES.md §2 measured 12x32 spilling).
A is read in place: row i of the tile is ``a[ao + i*lda + k]``.  Edges:

- M: rows past ``mr`` are clamped to row ``mr - 1`` (they recompute and
  re-store that row's identical values), so one kernel serves every mr.
- N: the last panel stores ``nv < NR`` columns with masked stores.
- K: the driver cuts K into KC blocks; the first block starts from the bias
  (``first``), later ones from the partial sums in C, and only the last block
  (``last``) applies the clamp.

Driver loop order (BLIS-like, without packing A): M blocks of MC rows (A
block stays in L2), K blocks of KC (a KC x NR weight slice stays in L1/L2
while all MR-row tiles of the block stream over it), panels, tiles.

``batch_matmul_f32_f32_f32_nat`` skips the packing for a runtime rhs: the
microkernels take the weight row stride (``ldw``: NR for panels, N for a
plain row-major [K, N] matrix whose N is a multiple of NR) and start from
+0.0 instead of a bias (``wb = -1``); same FMA order, same bits.

All arrays passed to the kernels are 1-D C-contiguous float32 (flat views),
so each kernel compiles once.  Numerics: fp32 FMA accumulation in k order,
bias first (reference: kernels/reference/gemm.py).
"""
import numpy as np

from ._jit import FAST_F32, kernel
from ._ukernels_f32 import _ukr_6x64, _ukr_7x32, _ukr_14x32, _ukr_28x16
from .fp16 import vround_f16
from .simd import vbroadcast, vfma, vload, vload_n, vmax, vmin, vmul, vsplat, vstore_n, vzero

# tile ids used by the drivers below: (MR, NR); MC = rows per M block (A block in L2)
TILE_6x64 = 0
TILE_14x32 = 1
TILE_28x16 = 2
TILE_7x32 = 3
TILES = {TILE_6x64: (6, 64), TILE_14x32: (14, 32), TILE_28x16: (28, 16), TILE_7x32: (7, 32)}
MC = {TILE_6x64: 192, TILE_14x32: 196, TILE_28x16: 196, TILE_7x32: 196}
KC = 512
# relative time per computed (padded) element, measured (bench gemm shapes):
# the narrower tiles issue more broadcasts per FMA.  7x32 (14 accumulators) is
# there for the row counts the others pad: a 7x7 map is 49 rows = 7 tiles of 7,
# against 54 (6x64) or 56 (14x32) computed rows.  Alone, warm, it is faster than
# that on most shapes (49x160x960: 100 -> 116 GFLOP/s), but inside a model it
# loses on large maps (56x56x144, K = 24: 274 -> 303 us), hence the weight
# 1.08: it wins only where the padding it saves is larger (7x7 maps of
# mobilenet_v2: -0.06 to -0.09 ms a run, every 7x7 1x1 conv faster).
TILE_COST = {TILE_6x64: 1.0, TILE_14x32: 1.05, TILE_28x16: 1.15, TILE_7x32: 1.08}


def choose_tile(m, n):
    """Tile id for an m x n output: the one with the least padded work (weighted by TILE_COST)."""
    cost = {t: -(-m // mr) * mr * -(-n // nr) * nr * TILE_COST[t] for t, (mr, nr) in TILES.items()}
    return min(cost, key=cost.get)


@kernel
def tile_nr(tile):
    """NR (panel width of the packed weights) of a tile id."""
    return 64 if tile == TILE_6x64 else (32 if tile == TILE_14x32 or tile == TILE_7x32 else 16)


@kernel
def tile_mr(tile):
    return 6 if tile == TILE_6x64 else (14 if tile == TILE_14x32 else (28 if tile == TILE_28x16 else 7))


@kernel(fastmath=FAST_F32)
def _ukr(tile, mr, nv, kc, a, ao, lda, w, wb, wo, ldw, first, last, lo, hi, rnd, c, co, ldc):
    if tile == TILE_6x64:
        _ukr_6x64(mr, nv, kc, a, ao, lda, w, wb, wo, ldw, first, last, lo, hi, rnd, c, co, ldc)
    elif tile == TILE_14x32:
        _ukr_14x32(mr, nv, kc, a, ao, lda, w, wb, wo, ldw, first, last, lo, hi, rnd, c, co, ldc)
    elif tile == TILE_28x16:
        _ukr_28x16(mr, nv, kc, a, ao, lda, w, wb, wo, ldw, first, last, lo, hi, rnd, c, co, ldc)
    else:
        _ukr_7x32(mr, nv, kc, a, ao, lda, w, wb, wo, ldw, first, last, lo, hi, rnd, c, co, ldc)


def packed_size(n, k, nr):
    """Floats needed by pack_gemm_f32 for an [n, k] weight matrix."""
    return -(-n // nr) * (k + 1) * nr


@kernel(fastmath=FAST_F32)
def pack_gemm_f32(w, w_off, sn, sk, n, k, bias, nr, out):
    """Pack W (element (j, kk) at w[w_off + j*sn + kk*sk]) and bias[n] into
    NR-wide panels [ceil(n/nr)][bias nr | k x nr] in out (zero padded).

    sn, sk strides let one kernel pack [N, K] (FC, OHWI conv: sn=K, sk=1)
    and [K, N] (BATCH_MATMUL rhs: sn=1, sk=N) layouts.
    """
    npan = (n + nr - 1) // nr
    for p in range(npan):
        base = p * (k + 1) * nr
        j0 = p * nr
        nv = min(nr, n - j0)
        for j in range(nr):
            out[base + j] = bias[j0 + j] if j < nv else np.float32(0.0)
        for kk in range(k):
            row = base + nr + kk * nr
            src = w_off + kk * sk + j0 * sn
            for j in range(nv):
                out[row + j] = w[src + j * sn]
            for j in range(nv, nr):
                out[row + j] = np.float32(0.0)


# ---------------------------------------------------------------- drivers
@kernel(fastmath=FAST_F32)
def gemm_f32_f32_f32_tiled_minmax(tile, m, n, k, a, lda, w, lo, hi, c, ldc, rnd):
    """C[i, j] = clamp(A[i, :k] . W[j, :] + bias[j], lo, hi) for i < m, j < n,
    with the tile's microkernel; rnd: round the outputs to fp16 values.

    a: flat A, row i at a[i*lda:]; w: packed with the tile's nr; c: flat C,
    row i at c[i*ldc:].  Rows and columns of C outside m x n are not touched.
    """
    mrt = tile_mr(tile)
    nr = tile_nr(tile)
    mcb = 192 if tile == TILE_6x64 else 196
    npan = (n + nr - 1) // nr
    pstride = (k + 1) * nr
    for i0 in range(0, m, mcb):
        mc = min(mcb, m - i0)
        p0 = 0
        while True:                 # K blocks; runs once when k == 0 (bias only)
            kc = min(KC, k - p0)
            first = p0 == 0
            last = p0 + kc >= k
            for jp in range(npan):
                wb = jp * pstride
                nv = min(nr, n - jp * nr)
                for ir in range(0, mc, mrt):
                    _ukr(tile, min(mrt, mc - ir), nv, kc, a, (i0 + ir) * lda + p0, lda, w, wb, wb + nr + p0 * nr, nr,
                         first, last, lo, hi, rnd, c, (i0 + ir) * ldc + jp * nr, ldc)
            p0 += kc
            if p0 >= k:
                break


@kernel(fastmath=FAST_F32)
def out_minmax(x, vlo, vhi, rnd):
    """The GEMM epilogue on one vector: clamp as the micro-kernels do (vmax(lo, x),
    then vmin(hi, .): a NaN stays NaN), then (rnd) round to fp16 values."""
    y = vmin(vhi, vmax(vlo, x))
    return vround_f16(y) if rnd else y


@kernel(fastmath=FAST_F32)
def _gemv_store(c, co, nv, x0, x1, x2, x3, lo, hi, rnd):
    vlo = vsplat(lo)
    vhi = vsplat(hi)
    vstore_n(c, co, out_minmax(x0, vlo, vhi, rnd), nv)
    vstore_n(c, co + 16, out_minmax(x1, vlo, vhi, rnd), nv - 16)
    vstore_n(c, co + 32, out_minmax(x2, vlo, vhi, rnd), nv - 32)
    vstore_n(c, co + 48, out_minmax(x3, vlo, vhi, rnd), nv - 48)


@kernel(fastmath=FAST_F32)
def gemv_f32_f32_f32_minmax(n, k, a, w, lo, hi, c, rnd=False):
    """c[j] = clamp(a[:k] . W[j, :] + bias[j], lo, hi), w packed with nr=64.

    Each output starts from its bias and takes one FMA per k in k order, the
    order of the GEMM microkernels and of XNNPack's 1xN f32 GEMM (so M = 1 and
    M > 1 give the same bits).  Memory-bound on the weights: two 64-wide panels
    are walked together, 8 independent accumulator vectors hide the FMA latency.
    """
    NR = 64
    npan = (n + NR - 1) // NR
    pstride = (k + 1) * NR
    p = 0
    while p + 1 < npan:
        wb = p * pstride
        wc = wb + pstride
        x0 = vload(w, wb)
        x1 = vload(w, wb + 16)
        x2 = vload(w, wb + 32)
        x3 = vload(w, wb + 48)
        y0 = vload(w, wc)
        y1 = vload(w, wc + 16)
        y2 = vload(w, wc + 32)
        y3 = vload(w, wc + 48)
        for kk in range(k):
            o = wb + NR + kk * NR
            q = wc + NR + kk * NR
            s = vbroadcast(a, kk)
            x0 = vfma(s, vload(w, o), x0)
            x1 = vfma(s, vload(w, o + 16), x1)
            x2 = vfma(s, vload(w, o + 32), x2)
            x3 = vfma(s, vload(w, o + 48), x3)
            y0 = vfma(s, vload(w, q), y0)
            y1 = vfma(s, vload(w, q + 16), y1)
            y2 = vfma(s, vload(w, q + 32), y2)
            y3 = vfma(s, vload(w, q + 48), y3)
        _gemv_store(c, p * NR, NR, x0, x1, x2, x3, lo, hi, rnd)
        _gemv_store(c, (p + 1) * NR, n - (p + 1) * NR, y0, y1, y2, y3, lo, hi, rnd)
        p += 2
    if p < npan:
        wb = p * pstride
        x0 = vload(w, wb)
        x1 = vload(w, wb + 16)
        x2 = vload(w, wb + 32)
        x3 = vload(w, wb + 48)
        for kk in range(k):
            o = wb + NR + kk * NR
            s = vbroadcast(a, kk)
            x0 = vfma(s, vload(w, o), x0)
            x1 = vfma(s, vload(w, o + 16), x1)
            x2 = vfma(s, vload(w, o + 32), x2)
            x3 = vfma(s, vload(w, o + 48), x3)
        _gemv_store(c, p * NR, n - p * NR, x0, x1, x2, x3, lo, hi, rnd)


@kernel(fastmath=FAST_F32)
def gemm_f32_f32_f32_minmax(tile, m, n, k, a, lda, w, lo, hi, c, ldc, rnd=False):
    """Dispatch: m == 1 with 6x64 packing -> GEMV, else the tile's driver.
    rnd: round the outputs to fp16 values (fp16 emulation), in the epilogue."""
    if tile == TILE_6x64 and m == 1:
        gemv_f32_f32_f32_minmax(n, k, a[:k], w, lo, hi, c[:n], rnd)
    else:
        gemm_f32_f32_f32_tiled_minmax(tile, m, n, k, a, lda, w, lo, hi, c, ldc, rnd)


@kernel(fastmath=FAST_F32)
def gemm_f32_f32_f32_rows_minmax(tile, m, n, k, a, lda, w, lo, hi, c, ldc, rnd=False):
    """The tile's M>1 driver for any m >= 1 (never the GEMV): every row is
    computed by the same microkernel code whatever m is, so a GEMM cut into
    row chunks (conv blocks, threads) gives bit-identical rows, each in
    XNNPack's order (bias, then one FMA per k)."""
    gemm_f32_f32_f32_tiled_minmax(tile, m, n, k, a, lda, w, lo, hi, c, ldc, rnd)


# ---------------------------------------------------------------- batched
@kernel(fastmath=FAST_F32)
def transpose_f32_batched(x, batches, rows, cols, out):
    """out[b, j, i] = x[b, i, j] for [batches, rows, cols] flat arrays."""
    for b in range(batches):
        base = b * rows * cols
        for i in range(rows):
            for j in range(cols):
                out[base + j * rows + i] = x[base + i * cols + j]


@kernel(fastmath=FAST_F32)
def pack_gemm_f32_batched(w, nb, sn, sk, n, k, bias, nr, out):
    """pack_gemm_f32 on nb matrices stored back to back (n*k floats each)."""
    ps = (n + nr - 1) // nr * (k + 1) * nr
    for b in range(nb):
        pack_gemm_f32(w, b * n * k, sn, sk, n, k, bias, nr, out[b * ps:(b + 1) * ps])


@kernel(fastmath=FAST_F32)
def batch_matmul_f32_f32_f32(tile, m, n, k, a, a_idx, w, w_idx, c, rnd=False):
    """c[b] = a[a_idx[b]] @ W[w_idx[b]]^T for b < len(a_idx); a: [*, m, k] flat,
    w: packed [*, n, k] matrices back to back (nr of tile), c: [batches, m, n];
    rnd: round to fp16 values."""
    nr = tile_nr(tile)
    ps = (n + nr - 1) // nr * (k + 1) * nr
    lo = np.float32(-np.inf)
    hi = np.float32(np.inf)
    for b in range(a_idx.shape[0]):
        ao = a_idx[b] * m * k
        wo = w_idx[b] * ps
        gemm_f32_f32_f32_minmax(tile, m, n, k, a[ao:ao + m * k], k, w[wo:wo + ps], lo, hi,
                                c[b * m * n:(b + 1) * m * n], n, rnd)


def choose_tile_nat(m, n):
    """Tile id for batch_matmul_f32_f32_f32_nat on an m x n output (the least
    padded work, weighted by TILE_COST, among the tiles whose NR divides n),
    or None when n is not a multiple of 16 (then B must be packed)."""
    cost = {t: -(-m // mr) * mr * n * TILE_COST[t] for t, (mr, nr) in TILES.items() if n % nr == 0}
    return min(cost, key=cost.get) if cost else None


@kernel(fastmath=FAST_F32)
def batch_matmul_f32_f32_f32_nat(tile, m, n, k, a, a_idx, b, b_idx, c, rnd=False):
    """c[i] = a[a_idx[i]] @ b[b_idx[i]] for i < len(a_idx), B read in place:
    a: [*, m, k] flat, b: [*, k, n] flat (row-major, n a multiple of the
    tile's NR: choose_tile_nat), c: [batches, m, n] flat; rnd: round to fp16
    values.  No packing: the microkernels read B's rows with stride n and
    start from +0.0 (bias-free), one FMA per k in k order, the same bits as
    batch_matmul_f32_f32_f32 on packed B with zero bias (XNNPack's order)."""
    for bi in range(a_idx.shape[0]):
        _matmul_nat(tile, m, n, k, a, a_idx[bi] * m * k, k, b, b_idx[bi] * k * n, n, c, bi * m * n, n, rnd)


@kernel(fastmath=FAST_F32)
def _matmul_nat(tile, m, n, k, a, ab, lda, b, bb, ldb, c, cb, ldc, rnd):
    """One matrix of batch_matmul_f32_f32_f32_nat: A at a[ab:] (rows lda
    apart), B at b[bb:] ([k, n], rows ldb apart), C at c[cb:] (rows ldc apart)."""
    mrt = tile_mr(tile)
    nr = tile_nr(tile)
    mcb = 192 if tile == TILE_6x64 else 196
    npan = n // nr
    lo = np.float32(-np.inf)
    hi = np.float32(np.inf)
    for i0 in range(0, m, mcb):
        mc = min(mcb, m - i0)
        p0 = 0
        while True:             # K blocks; runs once when k == 0
            kc = min(KC, k - p0)
            first = p0 == 0
            last = p0 + kc >= k
            for jp in range(npan):
                for ir in range(0, mc, mrt):
                    _ukr(tile, min(mrt, mc - ir), nr, kc, a, ab + (i0 + ir) * lda + p0, lda, b, -1,
                         bb + p0 * ldb + jp * nr, ldb, first, last, lo, hi, rnd, c, cb + (i0 + ir) * ldc + jp * nr, ldc)
            p0 += kc
            if p0 >= k:
                break


@kernel(fastmath=FAST_F32)
def _scale_block(c, co, ldc, m, n, s):
    """c[co + i*ldc + j] *= s for i < m, j < n (one IEEE multiply each)."""
    vs = vsplat(s)
    for i in range(m):
        o = co + i * ldc
        j = 0
        while j + 16 <= n:
            vstore_n(c, o + j, vmul(vload(c, o + j), vs), 16)
            j += 16
        if j < n:
            vstore_n(c, o + j, vmul(vload_n(c, o + j, n - j), vs), n - j)


@kernel(fastmath=FAST_F32)
def batch_matmul_f32_strided_nat(tile, m, n, k, a, a_off, lda, b, b_off, ldb, c, c_off, ldc, rnd=False, scaled=False,
                                 scale=np.float32(1.0)):
    """c = a @ b per batch i < len(a_off) on strided views, B read in place:
    A_i at a[a_off[i]:] ([m, k], rows lda apart), B_i at b[b_off[i]:] ([k, n],
    rows ldb apart, n a multiple of the tile's NR), C_i at c[c_off[i]:] ([m,
    n], rows ldc apart).  Lets BATCH_MATMUL read and write through the
    TRANSPOSEs around it (the head split/merge of attention) without copies;
    the same bits as batch_matmul_f32_f32_f32_nat on transposed copies.
    scaled: then multiply each C_i by scale (a following MUL by a constant,
    the same IEEE product), while the block is in cache."""
    for i in range(a_off.shape[0]):
        _matmul_nat(tile, m, n, k, a, a_off[i], lda, b, b_off[i], ldb, c, c_off[i], ldc, rnd)
        if scaled:
            _scale_block(c, c_off[i], ldc, m, n, scale)


@kernel(fastmath=FAST_F32)
def batch_matmul_f32_strided_packed(tile, m, n, k, a, a_off, lda, w, w_off, sn, sk, bias, wp, c, c_off, ldc,
                                    rnd=False, scaled=False, scale=np.float32(1.0)):
    """c = a @ W^T per batch i < len(a_off): A_i as batch_matmul_f32_strided_nat;
    W_i element (j, kk) at w[w_off[i] + j*sn + kk*sk] is packed into wp (one
    matrix, packed_size(n, k, NR)) with bias (zeros for BATCH_MATMUL), unless
    it is the previous batch's matrix; C_i at c[c_off[i]:] rows ldc apart.
    The same bits as batch_matmul_f32_f32_f32 on packed transposed copies;
    scaled / scale as batch_matmul_f32_strided_nat."""
    nr = tile_nr(tile)
    lo = np.float32(-np.inf)
    hi = np.float32(np.inf)
    for i in range(a_off.shape[0]):
        if i == 0 or w_off[i] != w_off[i - 1]:
            pack_gemm_f32(w, w_off[i], sn, sk, n, k, bias, nr, wp)
        gemm_f32_f32_f32_minmax(tile, m, n, k, a[a_off[i]:], lda, wp, lo, hi, c[c_off[i]:], ldc, rnd)
        if scaled:
            _scale_block(c, c_off[i], ldc, m, n, scale)


# ---------------------------------------------------------------- conv2d
@kernel
def out_pixel(r, oh, ow):
    """(batch, oy, ox) of row r of an im2col matrix (output pixels in NHWC order)."""
    b = r // (oh * ow)
    q = r - b * (oh * ow)
    oy = q // ow
    return b, oy, q - oy * ow


@kernel
def next_pixel(b, oy, ox, oh, ow):
    """The output pixel after (b, oy, ox), without a division."""
    ox += 1
    if ox == ow:
        ox = 0
        oy += 1
        if oy == oh:
            oy = 0
            b += 1
    return b, oy, ox


@kernel(fastmath=FAST_F32)
def im2col_f32(x, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, c0, cg, r0, nrows, out):
    """Rows r0..r0+nrows of the im2col matrix of NHWC x (flat): row r is output
    pixel (b, oy, ox) = divmod(r, oh*ow)..., columns (ky, kx, c) for channels
    c0..c0+cg; taps outside the image are 0 (zero padding)."""
    kdim = kh * kw * cg
    b, oy, ox = out_pixel(r0, oh, ow)      # the pixel of row r0; later rows step it (no divisions
    ox -= 1                                # per row: two 64-bit divides cost more than the copies)
    for r in range(nrows):
        b, oy, ox = next_pixel(b, oy, ox, oh, ow)
        dst = r * kdim
        for ky in range(kh):
            iy = oy * sh - pt + ky * dh
            ix0 = ox * sw - pl
            if dw == 1 and cg == cin and 0 <= iy < h and ix0 >= 0 and ix0 + kw <= w:
                # the kw taps are kw*cin contiguous input floats: one copy
                src = ((b * h + iy) * w + ix0) * cin
                o = dst + ky * kw * cg
                for ci in range(0, kw * cg, 16):
                    vstore_n(out, o + ci, vload_n(x, src + ci, kw * cg - ci), kw * cg - ci)
                continue
            for kx in range(kw):
                ix = ox * sw - pl + kx * dw
                o = dst + (ky * kw + kx) * cg
                # 16-lane copies (masked tail): a scalar loop here ran at ~1 Gelem/s
                if 0 <= iy < h and 0 <= ix < w:
                    src = ((b * h + iy) * w + ix) * cin + c0
                    for ci in range(0, cg, 16):
                        vstore_n(out, o + ci, vload_n(x, src + ci, cg - ci), cg - ci)
                else:
                    for ci in range(0, cg, 16):
                        vstore_n(out, o + ci, vzero(), cg - ci)


@kernel(fastmath=FAST_F32)
def conv2d_f32_f32_f32_minmax(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, groups, cout,
                              tile, wp, mb, lo, hi, ws, out, rnd=False):
    """NHWC conv2d through blocked im2col + GEMM (rnd: outputs rounded to fp16 values).

    x: [batch, h, w, cin] flat; wp: per-group packed OHWI weights (+bias),
    group g's [cout/groups, kh*kw*cin/groups] matrix packed with the tile's nr,
    back to back; mb: im2col rows per block (a multiple of the tile's MR);
    ws: workspace of mb * kh*kw*cin/groups floats; out: [batch, oh, ow, cout] flat.
    """
    nr = tile_nr(tile)
    cg = cin // groups
    ng = cout // groups
    kdim = kh * kw * cg
    gs = (ng + nr - 1) // nr * (kdim + 1) * nr
    mtot = batch * oh * ow
    for r0 in range(0, mtot, mb):
        nrows = min(mb, mtot - r0)
        for g in range(groups):
            im2col_f32(x, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, g * cg, cg, r0, nrows, ws)
            gemm_f32_f32_f32_rows_minmax(tile, nrows, ng, kdim, ws, kdim, wp[g * gs:(g + 1) * gs], lo, hi,
                                         out[r0 * cout + g * ng:], cout, rnd)
