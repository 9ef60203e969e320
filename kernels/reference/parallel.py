"""NumPy twins of kernels/parallel.py and kernels/parallel_vnni.py: the
threaded drivers compute exactly what their serial drivers compute, so each
twin is the serial driver's twin with the chunk count ignored."""

import numpy as np

from . import conv_direct as C, conv_igemm as CI, dwconv as D, gemm as G, gemm_n8 as N8, qgemm as Q, qs8 as S, resize as RS
from . import transform as T
from .dynquant import dynquant_f32_qd8_tflite, dynquant_f32_qd8_xnn, dynquant_f32_qs8_tflite_sym


def split_rows(t, nt, m, mr):
    tiles = -(-m // mr)
    return tiles * t // nt * mr, min(m, tiles * (t + 1) // nt * mr)


def gemm_f32_f32_f32_minmax_mt(tile, m, n, k, a, lda, w, lo, hi, c, ldc, nt):
    G.gemm_f32_f32_f32_rows_minmax(tile, m, n, k, a, lda, w, lo, hi, c, ldc)


def conv2d_f32_f32_f32_minmax_mt(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, groups, cout,
                                 tile, wp, mb, lo, hi, ws, nt, out):
    G.conv2d_f32_f32_f32_minmax(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, groups, cout,
                                tile, wp, mb, lo, hi, ws, out)


def gemm_f32_f32_f32_minmax_cols_mt(tile, m, n, k, a, lda, w, lo, hi, c, ldc, nt):
    G.gemm_f32_f32_f32_minmax(tile, m, n, k, a, lda, w, lo, hi, c, ldc)


def conv2d_direct_pad_f32_minmax_mt(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cout, wp, np_,
                                    offs, band, lo, hi, xp, nt, out):
    C.conv2d_direct_pad_f32_minmax(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cout, wp, np_, offs,
                                   band, lo, hi, xp, out)


def conv2d_igemm_f32_minmax_mt(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cout, tile, wpk, toff,
                               lo, hi, xp, nt, out):
    CI.conv2d_igemm_f32_minmax(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cout, tile, wpk, toff,
                               lo, hi, xp, out)


def conv2d_f32_n8_rows2_minmax_mt(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cout, wp, offs,
                                  band, lo, hi, xp, nt, out):
    N8.conv2d_f32_n8_rows2_minmax(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cout, wp, offs, band,
                                  lo, hi, xp, out)


def dwconv_f32_f32_f32_minmax_mt(x, w, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, nt, csplit, out):
    D.dwconv_f32_f32_f32_minmax(x, w, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, out)


def gemm_qd8_rows_f32_vnni_mt(qmode, x, q, sa, za, tile, n, kp, wq, nks, ws, bs, tfl, lo, hi, c, ldc, nt):
    quant = (dynquant_f32_qd8_xnn, dynquant_f32_qd8_tflite, dynquant_f32_qs8_tflite_sym)[qmode]
    quant(x, 128, q, sa, za)
    Q.gemm_qdu8_qc8w_f32_rows_vnni(tile, x.shape[0], n, kp, q.reshape(-1), kp, sa, za, wq, nks, ws, bs, tfl, lo, hi, c,
                                   ldc)


def conv2d_u8_i8_q8_vnni_mt(tile, m, groups, cg, ng, ntap, kc4, a, ind, istr, lda, wq, init, mult, lsh, rsh, fscale,
                            nup, fp32, zp, lo, hi, out, ldo, mc, nt):
    S.conv2d_u8_i8_q8_vnni(tile, 0, m, groups, cg, ng, ntap, kc4, a, ind, istr, lda, wq, init, mult, lsh, rsh, fscale,
                           nup, fp32, zp, lo, hi, out, ldo, mc)


def conv2d_qdu8_qc8w_f32_vnni_mt(tile, m, groups, cg, ng, ntap, kc4, a, ind, istr, lda, scale, zpu, rpi, wq, nks, ws,
                                 bs, tfl, lo, hi, out, ldo, mc, sa, za, nt):
    Q.conv2d_qdu8_qc8w_f32_vnni(tile, 0, m, groups, cg, ng, ntap, kc4, a, ind, istr, lda, scale, zpu, rpi, wq, nks, ws,
                                bs, tfl, lo, hi, out, ldo, mc, sa, za)


def unary_mt_kernel(fn, name):
    """The threaded driver computes what the serial kernel does (chunks are independent)."""
    return lambda args, x, out, nt: fn(*args, x, out)


def resize_bilinear_q11_mt(x, y0, y1, wy, x0, x1, wx, out, nt, tb):
    RS.resize_bilinear_q11(x, y0, y1, wy, x0, x1, wx, out)


def resize_bilinear_f32_xnn_mt(x, y0, y1, ay, x0, x1, ax, out, nt, tb):
    RS.resize_bilinear_f32_xnn(x, y0, y1, ay, x0, x1, ax, out, 0, out.shape[1])


def lut_mt_kernel(fn, name):
    return lambda x, table, out, nt: fn(x, table, out)


def rows_mt_kernel(fn, name):
    return lambda args, x, out, nt, mr: fn(x, *args, out)


def batch_matmul_f32_strided_nat_mt(tile, m, n, k, a, a_off, lda, b, b_off, ldb, c, c_off, ldc, nt, rnd=False,
                                    scaled=False, scale=np.float32(1.0)):
    G.batch_matmul_f32_strided_nat(tile, m, n, k, a, a_off, lda, b, b_off, ldb, c, c_off, ldc, rnd, scaled, scale)


def binary_mt_kernel(fn, name):
    def run(a, b, shapes, offs, sa, sb, lo, hi, out):
        for s, o in zip(shapes, offs):
            if o[3] > 0:
                fn(a[o[0]:], b[o[1]:], s, sa, sb, lo, hi, out[o[2]:])
    return run


def fc_qd8_gemv_vnni_mt(x, work, wall, c, nt):
    from .qgemm import fc_qd8_vnni
    fc_qd8_vnni(x, work, wall, c)


def space_to_batch_x_mt(x, n, h, w, c, bh, bw, pt, pl, oh, ow, value, out, nt):
    T.space_to_batch_x(x, n, h, w, c, bh, bw, pt, pl, oh, ow, value, out)
