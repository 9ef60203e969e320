"""NumPy twins of kernels/dwconv_mt.py: the serial result (threads change nothing)."""
from . import dwconv as F, dwconv_q8 as D


def dwconv_q8_q8_q8_mt(x, zx, w, init, sh, sw, dh, dw, pad_t, pad_l, mult, lsh, rsh, nup, fscale, fp32, zp, lo, hi,
                       nt, csplit, acc, out):
    D.dwconv_q8_q8_q8_minmax(x, zx, w, init, sh, sw, dh, dw, pad_t, pad_l, mult, lsh, rsh, nup, fscale, fp32, zp,
                             lo, hi, acc, out)


def dwconv_qdu8_qc8w_f32_minmax_mt(xq, scale, zpu, w, wsum, ws, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, nt, csplit,
                                   acc, out):
    D.dwconv_qdu8_qc8w_f32_minmax(xq, scale, zpu, w, wsum, ws, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, acc, out)


def dwconv_f32_f32_f32_rowmajor_minmax_mt(x, w, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, nt, csplit, out):
    F.dwconv_f32_f32_f32_rowmajor_minmax(x, w, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, out)
