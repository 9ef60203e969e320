"""QD8-F32 x QC8W drivers on the AVX512-VNNI microkernels of
_ukernels_qd8_vnni.py: GEMM (rows of per-row quantized activations) and
indirect-GEMM conv (per-image quantized NHWC activations read through an
indirection buffer, no im2col; see kernels/qs8_vnni.py for the layouts).

AVX512-VNNI ONLY: call these only when numba_infer.isa.VNNI is true (the
lowerings choose at prepare time).  Semantics as in kernels/qgemm.py;
activations are uint8 (q + 128) bytes, weights come from ``pack_qc8w_vnni``
with the tile's NR, per-channel params padded to a multiple of NR.
Reference: kernels/reference/qgemm.py
"""
import numpy as np

from ._jit import kernel
from ._ukernels_qd8_vnni import _ukr_qd8_1x64, _ukr_qd8_6x64, _ukr_qd8_8x16, _ukr_qd8_8x32, _ukr_qd8_8x48
from .dynquant import dynquant_f32_qd8_tflite, dynquant_f32_qd8_xnn, dynquant_f32_qs8_tflite_sym
from .qgemm import FC_HEAD, TILE_1x64, TILE_8x16, expand_image_params, fill_rows_u8, tile_shape
from .simd import (vadd, vadd_i32, vcvt_f32, vdpbusd, vfma, vload, vload_i32, vmax, vmin, vmul, vmul_i32, vsplat,
                   vsplat_i32, vstore_n, vzero_i32)
from .simd_q8 import vbroadcast_u32
from .softmax import softmax_f32_rows_xnn


@kernel
def quantize_rows(qmode, x, q, sa, za):
    """The per-row quantizer of qmode (0 XNNPack asymmetric, 1 TFLite asymmetric,
    2 TFLite symmetric; kernels/dynquant.py), uint8 codes with offset 128."""
    if qmode == 0:
        dynquant_f32_qd8_xnn(x, 128, q, sa, za)
    elif qmode == 1:
        dynquant_f32_qd8_tflite(x, 128, q, sa, za)
    else:
        dynquant_f32_qs8_tflite_sym(x, 128, q, sa, za)


@kernel
def fc_header(wall):
    """(qmode, tile, n, kp, tfl, ldc, lo, hi) of a qgemm.pack_fc_qd8 block."""
    hdr = wall[:FC_HEAD].view(np.float32)
    return wall[0], wall[1], wall[2], wall[3], wall[4] != 0, wall[5], hdr[8], hdr[9]


@kernel
def fc_weights(wall):
    """(wq, nks, ws, bs) of a qgemm.pack_fc_qd8 block (views)."""
    npad = wall[6]
    nw = wall[7]
    o = FC_HEAD
    return (wall[o:o + nw], wall[o + nw:o + nw + npad], wall[o + nw + npad:o + nw + 2 * npad].view(np.float32),
            wall[o + nw + 2 * npad:o + nw + 3 * npad].view(np.float32))


@kernel
def _ukr_qd8(tile, r0, r1, nv, ntap, kc4, a, ind, istr, ao, lda, w, wo, sa, zpa, so, nks, ws, bs, jo, tfl, lo, hi, c,
             cb, ldc):
    if tile == 0:
        _ukr_qd8_1x64(r0, r1, nv, ntap, kc4, a, ind, istr, ao, lda, w, wo, sa, zpa, so, nks, ws, bs, jo, tfl, lo, hi,
                      c, cb, ldc)
    elif tile == 1:
        _ukr_qd8_6x64(r0, r1, nv, ntap, kc4, a, ind, istr, ao, lda, w, wo, sa, zpa, so, nks, ws, bs, jo, tfl, lo, hi,
                      c, cb, ldc)
    elif tile == 2:
        _ukr_qd8_8x32(r0, r1, nv, ntap, kc4, a, ind, istr, ao, lda, w, wo, sa, zpa, so, nks, ws, bs, jo, tfl, lo, hi,
                      c, cb, ldc)
    elif tile == 3:
        _ukr_qd8_8x48(r0, r1, nv, ntap, kc4, a, ind, istr, ao, lda, w, wo, sa, zpa, so, nks, ws, bs, jo, tfl, lo, hi,
                      c, cb, ldc)
    else:
        _ukr_qd8_8x16(r0, r1, nv, ntap, kc4, a, ind, istr, ao, lda, w, wo, sa, zpa, so, nks, ws, bs, jo, tfl, lo, hi,
                      c, cb, ldc)


@kernel
def igemm_qdu8_qc8w_f32_vnni(tile, r0, r1, n, ntap, kc4, a, ind, istr, ao, lda, sa, zpa, so, wq, nks, ws, bs, tfl, lo,
                             hi, c, ldc, mc):
    """Output rows r0..r1, channels 0..n of one group (module docstring of
    kernels/qs8_vnni.py for a / ind / istr / ao / lda); row r's scale and
    uint8 zero point are sa[r - so], zpa[r - so].  Row blocks of mc rows."""
    mr, nr = tile_shape(tile)
    k4 = ntap * kc4
    npan = (n + nr - 1) // nr
    for i0 in range(r0, r1, mc):
        i1 = min(r1, i0 + mc)
        for jp in range(npan):
            jo = jp * nr
            _ukr_qd8(tile, i0, i1, min(nr, n - jo), ntap, kc4, a, ind, istr, ao, lda, wq, jp * k4 * nr, sa, zpa, so,
                     nks, ws, bs, jo, tfl, lo, hi, c, jo, ldc)


@kernel
def _gemv_qd8_store(x, jo, z, sc, nks, ws, bs, tfl, vlo, vhi, c, co, nv):
    """Epilogue of 16 GEMV outputs (columns jo..jo+16, stored at c[co:] up
    to nv lanes): the 1x64 microkernel's formulas."""
    x = vadd_i32(x, vmul_i32(vload_i32(nks, jo), z))
    g = vload(ws, jo)
    h = vload(bs, jo)
    if tfl:
        y = vadd(vmul(vcvt_f32(x), vmul(g, sc)), h)
    else:
        y = vfma(vmul(vcvt_f32(x), sc), g, h)
    vstore_n(c, co, vmin(vhi, vmax(vlo, y)), nv)


@kernel
def gemv_qdu8_qc8w_f32_vnni(n, kp, a, ao, sa, zpa, r, wq, nks, ws, bs, tfl, lo, hi, c, co):
    """One output row (row r of the per-row parameters sa / zpa; uint8
    activations at byte a[ao:], kp bytes) x weights packed for the 1x64 tile:
    c[co + j] for j < n, the same bits as the 1x64 microkernel (exact int32
    sums; the same float epilogue).  Memory-bound on the weights: two
    adjacent 64-wide panels are streamed together (8 independent vpdpbusd
    chains, one activation broadcast per 8); an odd last panel goes to the
    1x64 microkernel.  (Tried, not faster on the L3-bound mlp_dr layers:
    software prefetch of every line at 1-16 KB ahead, t0 or nta; one
    interleaved stream of the two panels; unrolling k.  64-byte aligned
    weights (qgemm.zeros_aligned) gain ~4%.)"""
    kc4 = kp // 4
    ps = kc4 * 64
    npan = (n + 63) // 64
    vlo = vsplat(lo)
    vhi = vsplat(hi)
    z = vsplat_i32(zpa[r])
    sc = vsplat(sa[r])
    p = 0
    while p + 1 < npan:
        wa = p * ps
        wb = wa + ps
        x0 = vzero_i32()
        x1 = x0
        x2 = x0
        x3 = x0
        y0 = x0
        y1 = x0
        y2 = x0
        y3 = x0
        for k in range(kc4):
            s = vbroadcast_u32(a, ao + 4 * k)
            o = wa + k * 64
            q = wb + k * 64
            x0 = vdpbusd(x0, s, vload_i32(wq, o))
            x1 = vdpbusd(x1, s, vload_i32(wq, o + 16))
            x2 = vdpbusd(x2, s, vload_i32(wq, o + 32))
            x3 = vdpbusd(x3, s, vload_i32(wq, o + 48))
            y0 = vdpbusd(y0, s, vload_i32(wq, q))
            y1 = vdpbusd(y1, s, vload_i32(wq, q + 16))
            y2 = vdpbusd(y2, s, vload_i32(wq, q + 32))
            y3 = vdpbusd(y3, s, vload_i32(wq, q + 48))
        jo = p * 64
        _gemv_qd8_store(x0, jo, z, sc, nks, ws, bs, tfl, vlo, vhi, c, co + jo, n - jo)
        _gemv_qd8_store(x1, jo + 16, z, sc, nks, ws, bs, tfl, vlo, vhi, c, co + jo + 16, n - jo - 16)
        _gemv_qd8_store(x2, jo + 32, z, sc, nks, ws, bs, tfl, vlo, vhi, c, co + jo + 32, n - jo - 32)
        _gemv_qd8_store(x3, jo + 48, z, sc, nks, ws, bs, tfl, vlo, vhi, c, co + jo + 48, n - jo - 48)
        jo += 64
        _gemv_qd8_store(y0, jo, z, sc, nks, ws, bs, tfl, vlo, vhi, c, co + jo, n - jo)
        _gemv_qd8_store(y1, jo + 16, z, sc, nks, ws, bs, tfl, vlo, vhi, c, co + jo + 16, n - jo - 16)
        _gemv_qd8_store(y2, jo + 32, z, sc, nks, ws, bs, tfl, vlo, vhi, c, co + jo + 32, n - jo - 32)
        _gemv_qd8_store(y3, jo + 48, z, sc, nks, ws, bs, tfl, vlo, vhi, c, co + jo + 48, n - jo - 48)
        p += 2
    if p < npan:
        jo = p * 64
        _ukr_qd8_1x64(r, r + 1, n - jo, 1, kc4, a, nks, 0, ao - r * kp, kp, wq, p * ps, sa, zpa, 0, nks, ws, bs, jo,
                      tfl, lo, hi, c, co + jo - r * n, n)


@kernel
def gemv16_qdu8_qc8w_f32_vnni(n, kp, a, ao, sa, zpa, r, wq, nks, ws, bs, tfl, lo, hi, c, co):
    """gemv_qdu8_qc8w_f32_vnni on weights packed for 16-wide panels (the
    8x16 tile's layout, pack_qc8w_vnni nr=16): for a narrow output
    (qgemm.choose_qtile_fc) the 1x64 panel would stream up to 4x the weight
    bytes.  Each panel sums
    8 independent vpdpbusd chains over k (groups of 4 k taken round robin),
    added at the end: the same exact int32 sum, the same epilogue."""
    kc4 = kp // 4
    ps = kc4 * 16
    npan = (n + 15) // 16
    vlo = vsplat(lo)
    vhi = vsplat(hi)
    z = vsplat_i32(zpa[r])
    sc = vsplat(sa[r])
    for p in range(npan):
        wa = p * ps
        x0 = vzero_i32()
        x1 = x0
        x2 = x0
        x3 = x0
        x4 = x0
        x5 = x0
        x6 = x0
        x7 = x0
        k = 0
        while k + 8 <= kc4:
            o = wa + k * 16
            b = ao + 4 * k
            x0 = vdpbusd(x0, vbroadcast_u32(a, b), vload_i32(wq, o))
            x1 = vdpbusd(x1, vbroadcast_u32(a, b + 4), vload_i32(wq, o + 16))
            x2 = vdpbusd(x2, vbroadcast_u32(a, b + 8), vload_i32(wq, o + 32))
            x3 = vdpbusd(x3, vbroadcast_u32(a, b + 12), vload_i32(wq, o + 48))
            x4 = vdpbusd(x4, vbroadcast_u32(a, b + 16), vload_i32(wq, o + 64))
            x5 = vdpbusd(x5, vbroadcast_u32(a, b + 20), vload_i32(wq, o + 80))
            x6 = vdpbusd(x6, vbroadcast_u32(a, b + 24), vload_i32(wq, o + 96))
            x7 = vdpbusd(x7, vbroadcast_u32(a, b + 28), vload_i32(wq, o + 112))
            k += 8
        while k < kc4:
            x0 = vdpbusd(x0, vbroadcast_u32(a, ao + 4 * k), vload_i32(wq, wa + k * 16))
            k += 1
        x0 = vadd_i32(vadd_i32(vadd_i32(x0, x1), vadd_i32(x2, x3)), vadd_i32(vadd_i32(x4, x5), vadd_i32(x6, x7)))
        jo = p * 16
        _gemv_qd8_store(x0, jo, z, sc, nks, ws, bs, tfl, vlo, vhi, c, co + jo, n - jo)


@kernel
def gemm_qdu8_qc8w_f32_vnni(tile, m, n, kp, a32, lda4, sa, zpa, wq, nks, ws, bs, tfl, lo, hi, c, ldc):
    """C[i, j] for i < m, j < n (see kernels/qgemm.py); a32: the uint8 rows
    viewed as int32 words, row i at word i*lda4 (kp bytes used)."""
    mr, nr = tile_shape(tile)
    a = a32.view(np.uint8)
    igemm_qdu8_qc8w_f32_vnni(tile, 0, m, n, 1, kp // 4, a, nks, 0, 0, lda4 * 4, sa, zpa, 0, wq, nks, ws, bs, tfl, lo,
                             hi, c, ldc, max(mr, 192 // mr * mr))


@kernel
def gemm_qdu8_qc8w_f32_rows_vnni(tile, m, n, kp, a, lda, sa, zpa, wq, nks, ws, bs, tfl, lo, hi, c, ldc):
    """gemm_qdu8_qc8w_f32_vnni on uint8 rows a (row i at byte i*lda)."""
    mr, nr = tile_shape(tile)
    igemm_qdu8_qc8w_f32_vnni(tile, 0, m, n, 1, kp // 4, a, nks, 0, 0, lda, sa, zpa, 0, wq, nks, ws, bs, tfl, lo, hi,
                             c, ldc, max(mr, 192 // mr * mr))


@kernel
def batch_matmul_qdu8_qc8w_f32_vnni(tile, m, n, kp, a, sa, zpa, a_idx, wq, w_idx, nks, ws, bs, tfl, c):
    """Batched: a uint8 [*, m, kp]; wq: packed matrices back to back;
    params [*, npad] with npad = n rounded up to the tile's NR."""
    mr, nr = tile_shape(tile)
    npad = (n + nr - 1) // nr * nr
    wsz = npad * kp // 4
    lo = np.float32(-np.inf)
    hi = np.float32(np.inf)
    mc = max(mr, 192 // mr * mr)
    for b in range(a_idx.shape[0]):
        ai = a_idx[b]
        wi = w_idx[b]
        igemm_qdu8_qc8w_f32_vnni(tile, 0, m, n, 1, kp // 4, a[ai * m * kp:], nks, 0, 0, kp, sa[ai * m:], zpa[ai * m:],
                                 0, wq[wi * wsz:], nks[wi * npad:], ws[wi * npad:], bs[wi * npad:], tfl, lo, hi,
                                 c[b * m * n:], n, mc)


@kernel
def conv2d_qdu8_qc8w_f32_vnni(tile, r0, r1, groups, cg, ng, ntap, kc4, a, ind, istr, lda, scale, zpu, rpi, wq, nks,
                              ws, bs, tfl, lo, hi, out, ldo, mc, sa, za):
    """NHWC conv on per-image quantized uint8 activations a (image b: scale[b],
    zpu[b]; rpi output rows per image), output rows r0..r1, all groups
    (layouts as kernels/qs8_vnni.py conv2d_u8_i8_q8_vnni); sa, za: mc scratch
    for the per-row parameters of a row block."""
    mr, nr = tile_shape(tile)
    npad = (ng + nr - 1) // nr * nr
    gsz = npad * ntap * kc4
    for i0 in range(r0, r1, mc):
        i1 = min(r1, i0 + mc)
        expand_image_params(scale, zpu, rpi, i0, i1 - i0, sa, za)
        for g in range(groups):
            igemm_qdu8_qc8w_f32_vnni(tile, i0, i1, ng, ntap, kc4, a, ind, istr, g * cg, lda, sa, za, i0, wq[g * gsz:],
                                     nks[g * npad:], ws[g * npad:], bs[g * npad:], tfl, lo, hi, out[g * ng:], ldo, mc)


@kernel
def conv2d_qd8_vnni(qmode, x2, q2, xq, scale, zpu, zoff, zlen, tile, m, groups, cg, ng, ntap, kc4, ind, istr, lda, rpi,
                    wq, nks, ws, bs, tfl, lo, hi, out, mc, sa, za):
    """The whole dynamic-range CONV_2D step: quantize each image (row of x2,
    (batch, H*W*C) float32) into q2 (the same-shaped uint8 prefix of xq) with
    the quantizer of qmode (0 XNNPack asymmetric, 1 TFLite asymmetric, 2
    TFLite symmetric; kernels/dynquant.py, offset 128), write image b's
    zero-point pixel at xq[zoff + b*zlen :][:zlen], then
    conv2d_qdu8_qc8w_f32_vnni over all m output rows (rpi per image)."""
    quantize_rows(qmode, x2, q2, scale, zpu)
    fill_rows_u8(xq, zoff, zlen, x2.shape[0], zlen, zpu)
    conv2d_qdu8_qc8w_f32_vnni(tile, 0, m, groups, cg, ng, ntap, kc4, xq, ind, istr, lda, scale, zpu, rpi, wq, nks, ws,
                              bs, tfl, lo, hi, out, groups * ng, mc, sa, za)


@kernel
def gemm_qd8_rows_vnni(qmode, x, q, sa, za, tile, n, kp, wq, nks, ws, bs, tfl, lo, hi, c, ldc):
    """The whole dynamic-range FULLY_CONNECTED / BATCH_MATMUL-rows step: for
    each block of rows, quantize the rows of x (M, K) float32 into q (M, kp)
    uint8 with per-row sa / za (qmode as conv2d_qd8_vnni), then the GEMM on
    the block while its quantized rows are in cache.  One row: the GEMV
    (tile 0, or a 16-wide packing, see choose_qtile_fc)."""
    m = x.shape[0]
    mr, nr = tile_shape(tile)
    mc = max(mr, min(384, 98304 // kp) // mr * mr)
    qf = q.reshape(-1)
    for r0 in range(0, m, mc):
        r1 = min(m, r0 + mc)
        quantize_rows(qmode, x[r0:r1], q[r0:r1], sa[r0:r1], za[r0:r1])
        if tile == 0:
            for r in range(r0, r1):
                gemv_qdu8_qc8w_f32_vnni(n, kp, qf, r * kp, sa, za, r, wq, nks, ws, bs, tfl, lo, hi, c, r * ldc)
        elif nr == 16 and m == 1:
            gemv16_qdu8_qc8w_f32_vnni(n, kp, qf, 0, sa, za, 0, wq, nks, ws, bs, tfl, lo, hi, c, 0)
        else:
            igemm_qdu8_qc8w_f32_vnni(tile, r0, r1, n, 1, kp // 4, qf, nks, 0, 0, kp, sa, za, 0, wq, nks, ws, bs, tfl,
                                     lo, hi, c, ldc, mc)


@kernel
def fc_qd8_vnni(x, work, wall, c):
    """gemm_qd8_rows_vnni with its parameters packed in two int32 arrays: the
    FULLY_CONNECTED step then unboxes 4 arrays instead of 17 arguments (measured
    ~0.45 us less per call on mlp_dr, where the weight stream has evicted the
    interpreter's state from L2 before each step).  wall: qgemm.pack_fc_qd8's
    block (header, weights, per-channel params); work: m*kp/4 + 2m words, the
    uint8 rows q (kp bytes each), then sa (float32 bits), then za.  x: (m, k)
    float32; row r of the output at c[r*ldc:]."""
    qmode, tile, n, kp, tfl, ldc, lo, hi = fc_header(wall)
    wq, nks, wsc, bs = fc_weights(wall)
    m = x.shape[0]
    qw = m * kp // 4
    gemm_qd8_rows_vnni(qmode, x, work[:qw].view(np.uint8).reshape(m, kp), work[qw:qw + m].view(np.float32),
                       work[qw + m:qw + 2 * m], tile, n, kp, wq, nks, wsc, bs, tfl, lo, hi, c, ldc)


@kernel
def quantize_gemv_row(x, work, qmode, kp):
    """Quantize the one row x (1, k) into work as the GEMVs read it: kp uint8
    codes (kp / 4 words), then its scale (float32 bits), then its zero point.
    Returns (codes, scale[1], zero point[1])."""
    qw = kp // 4
    q = work[:qw].view(np.uint8)
    sa = work[qw:qw + 1].view(np.float32)
    za = work[qw + 1:qw + 2]
    quantize_rows(qmode, x, q.reshape(1, kp), sa, za)
    return q, sa, za


@kernel
def gemv_cols_vnni(tile, j0, nc, kp, q, sa, za, wq, nks, ws, bs, tfl, lo, hi, c):
    """Output columns j0 .. j0 + nc of the one-row GEMV (j0 on a panel boundary
    of the GEMV packing: 1x64 panels, or the 16-wide packing of choose_qtile_fc),
    written at c[j0:]."""
    nr = 64 if tile == TILE_1x64 else 16
    w0 = j0 // nr * (kp // 4) * nr
    if tile == TILE_1x64:
        gemv_qdu8_qc8w_f32_vnni(nc, kp, q, 0, sa, za, 0, wq[w0:], nks[j0:], ws[j0:], bs[j0:], tfl, lo, hi, c, j0)
    else:
        gemv16_qdu8_qc8w_f32_vnni(nc, kp, q, 0, sa, za, 0, wq[w0:], nks[j0:], ws[j0:], bs[j0:], tfl, lo, hi, c, j0)


@kernel
def fc_qd8_gemv_vnni(x, work, wall, c):
    """fc_qd8_vnni for one row (x: (1, k)) packed for the GEMVs (tile 0, or the
    16-wide packing of choose_qtile_fc): only the row's quantizer and the GEMV,
    a small compiled body (measured ~0.1 us less per step than fc_qd8_vnni on
    mlp_dr, whose steps start with cold caches)."""
    qmode, tile, n, kp, tfl, _, lo, hi = fc_header(wall)
    wq, nks, wsc, bs = fc_weights(wall)
    q, sa, za = quantize_gemv_row(x, work, qmode, kp)
    gemv_cols_vnni(tile, 0, n, kp, q, sa, za, wq, nks, wsc, bs, tfl, lo, hi, c)


@kernel
def fc_chain_qd8_vnni(x, work, walls, offs, tmp, c):
    """Consecutive dynamic-range FULLY_CONNECTED layers, each one's output read
    only by the next (an MLP), in one step: layer i runs exactly what its own
    step would (fc_qd8_gemv_vnni for one row on GEMV packing, else
    fc_qd8_vnni) on its block walls[offs[i]:offs[i + 1]] (qgemm.pack_fc_qd8);
    intermediate activations alternate between the two halves of tmp, the
    last layer writes c.  x: (m, k) float32; work: the largest layer's
    workspace.  Saves a Python step per layer (after a weight stream has
    flushed the caches, ~0.5 us each)."""
    m = x.shape[0]
    nl = offs.shape[0] - 1
    half = tmp.shape[0] // 2
    src = x
    for i in range(nl):
        wall = walls[offs[i]:offs[i + 1]]
        n = wall[2]
        tile = wall[1]
        dst = c if i == nl - 1 else tmp[(i % 2) * half:(i % 2) * half + m * n]
        if m == 1 and (tile == TILE_1x64 or tile == TILE_8x16):
            fc_qd8_gemv_vnni(src, work, wall, dst)
        else:
            fc_qd8_vnni(src, work, wall, dst)
        src = dst[:m * n].reshape(m, n)


@kernel
def fc_chain_softmax_qd8_vnni(x, work, walls, offs, tmp, c):
    """fc_chain_qd8_vnni, then SOFTMAX (beta 1, as XNNPack: softmax_f32_rows_xnn)
    over each row of its output c in place: an MLP classifier head in one step
    (the SOFTMAX's own step costs ~0.5 us once the weight stream has flushed the
    caches; the bits are the unfused ones)."""
    fc_chain_qd8_vnni(x, work, walls, offs, tmp, c)
    m = x.shape[0]
    if m > 0 and c.shape[0] > 0:
        c2 = c.reshape(m, c.shape[0] // m)
        softmax_f32_rows_xnn(c2, c2)
