"""Multi-threaded AVX512-VNNI drivers (QD8-F32 x QC8W and QS8 GEMM / conv):
the VNNI half of kernels/parallel.py (same chunking rules: whole MR-row tiles
per chunk, K never split, so bit-identical to the serial drivers of
kernels/qgemm_vnni.py and kernels/qs8_vnni.py).

AVX512-VNNI ONLY: import this module only when numba_infer.isa.VNNI is true.
Reference: kernels/reference/parallel.py
"""
from numba import prange

from ._jit import kernel
from .parallel import split_rows
from .qgemm import TILE_1x64, tile_shape
from .qgemm_vnni import (conv2d_qdu8_qc8w_f32_vnni, fc_header, fc_weights, gemm_qdu8_qc8w_f32_rows_vnni,
                         gemv_cols_vnni, quantize_gemv_row, quantize_rows)
from .qs8_vnni import conv2d_u8_i8_q8_vnni


@kernel(parallel=True)
def gemm_qd8_rows_f32_vnni_mt(qmode, x, q, sa, za, tile, n, kp, wq, nks, ws, bs, tfl, lo, hi, c, ldc, nt):
    """Per-row quantization + QD8 GEMM, fused per chunk of rows: rows of x
    (M, K) float32 are quantized into q (M, kp) uint8 with per-row sa / za,
    then multiplied (gemm_qdu8_qc8w_f32_rows_vnni).  qmode: 0 XNNPack
    asymmetric, 1 TFLite asymmetric, 2 TFLite symmetric (kernels/dynquant.py,
    offset 128)."""
    m = x.shape[0]
    mr, nr = tile_shape(tile)
    for t in prange(nt):
        r0, r1 = split_rows(t, nt, m, mr)
        if r1 > r0:
            quantize_rows(qmode, x[r0:r1], q[r0:r1], sa[r0:r1], za[r0:r1])
            gemm_qdu8_qc8w_f32_rows_vnni(tile, r1 - r0, n, kp, q[r0:r1].reshape(-1), kp, sa[r0:], za[r0:], wq, nks, ws,
                                         bs, tfl, lo, hi, c[r0 * ldc:], ldc)


@kernel(parallel=True)
def conv2d_qdu8_qc8w_f32_vnni_mt(tile, m, groups, cg, ng, ntap, kc4, a, ind, istr, lda, scale, zpu, rpi, wq, nks, ws,
                                 bs, tfl, lo, hi, out, ldo, mc, sa, za, nt):
    """conv2d_qdu8_qc8w_f32_vnni (kernels/qgemm_vnni.py) over the m output
    rows in nt chunks; sa, za: nt * mc scratch."""
    mr, nr = tile_shape(tile)
    for t in prange(nt):
        r0, r1 = split_rows(t, nt, m, mr)
        if r1 > r0:
            conv2d_qdu8_qc8w_f32_vnni(tile, r0, r1, groups, cg, ng, ntap, kc4, a, ind, istr, lda, scale, zpu, rpi, wq,
                                      nks, ws, bs, tfl, lo, hi, out, ldo, mc, sa[t * mc:(t + 1) * mc],
                                      za[t * mc:(t + 1) * mc])


@kernel(parallel=True)
def conv2d_u8_i8_q8_vnni_mt(tile, m, groups, cg, ng, ntap, kc4, a, ind, istr, lda, wq, init, mult, lsh, rsh, fscale,
                            nup, fp32, zp, lo, hi, out, ldo, mc, nt):
    """conv2d_u8_i8_q8_vnni (kernels/qs8_vnni.py) over the m output rows in
    nt chunks.  Also serves FULLY_CONNECTED (istr == 0, one tap, one group)."""
    mr, nr = tile_shape(tile)
    for t in prange(nt):
        r0, r1 = split_rows(t, nt, m, mr)
        if r1 > r0:
            conv2d_u8_i8_q8_vnni(tile, r0, r1, groups, cg, ng, ntap, kc4, a, ind, istr, lda, wq, init, mult, lsh, rsh,
                                 fscale, nup, fp32, zp, lo, hi, out, ldo, mc)


@kernel(parallel=True)
def fc_qd8_gemv_vnni_mt(x, work, wall, c, nt):
    """qgemm_vnni.fc_qd8_gemv_vnni (one row, GEMV packing) with the output
    columns split into nt chunks of whole panels: the row is quantized once,
    then each thread streams its own share of the weights (a one-row FC is
    bound by the weight stream; two cores read from L3 in parallel).  Each
    column is the same exact int32 sum and epilogue: the serial bits."""
    qmode, tile, n, kp, tfl, _, lo, hi = fc_header(wall)
    wq, nks, wsc, bs = fc_weights(wall)
    q, sa, za = quantize_gemv_row(x, work, qmode, kp)
    nr = 64 if tile == TILE_1x64 else 16
    npan = (n + nr - 1) // nr
    for t in prange(nt):
        p0, p1 = split_rows(t, nt, npan, 1)
        if p1 > p0:
            j0 = p0 * nr
            gemv_cols_vnni(tile, j0, min(n, p1 * nr) - j0, kp, q, sa, za, wq, nks, wsc, bs, tfl, lo, hi, c)
