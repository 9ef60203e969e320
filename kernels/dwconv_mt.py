"""Multi-threaded drivers of the 8-bit depthwise convs (kernels/dwconv_q8.py) and of
the row-major float32 one (kernels/dwconv.py):
``prange`` over nt chunks of output rows or 16-channel groups (split_dw of
kernels/parallel.py, which also has the float32 driver).  Chunk t runs the
serial rows kernel on its range with slice t of the int32 scratch, so every
output element is bit-identical to the 1-thread path.
Reference: kernels/reference/dwconv_mt.py
"""
from numba import prange

from ._jit import FAST_F32, kernel
from .dwconv import dwconv_f32_f32_f32_rowmajor_rows_minmax
from .dwconv_q8 import dwconv_q8_q8_q8_rows_minmax, dwconv_qdu8_qc8w_f32_rows_minmax
from .parallel import split_dw


@kernel(fastmath=FAST_F32, parallel=True)
def dwconv_f32_f32_f32_rowmajor_minmax_mt(x, w, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, nt, csplit, out,
                                          rnd=False):
    """dwconv_f32_f32_f32_rowmajor_minmax (kernels/dwconv.py) in nt chunks."""
    rows = out.shape[0] * out.shape[1]
    c = out.shape[3]
    for t in prange(nt):
        r0, r1, c0, c1 = split_dw(t, nt, rows, c, csplit)
        if r1 > r0 and c1 > c0:
            dwconv_f32_f32_f32_rowmajor_rows_minmax(x, w, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, r0, r1, c0, c1,
                                                    out, rnd)


@kernel(parallel=True)
def dwconv_q8_q8_q8_mt(x, zx, w, init, sh, sw, dh, dw, pad_t, pad_l, mult, lsh, rsh, nup, fscale, fp32, zp, lo, hi,
                       nt, csplit, acc, out):
    """dwconv_q8_q8_q8_minmax in nt chunks; acc: nt equal int32 scratch slices."""
    rows = out.shape[0] * out.shape[1]
    c = out.shape[3]
    sz = acc.shape[0] // nt
    for t in prange(nt):
        r0, r1, c0, c1 = split_dw(t, nt, rows, c, csplit)
        if r1 > r0 and c1 > c0:
            dwconv_q8_q8_q8_rows_minmax(x, zx, w, init, sh, sw, dh, dw, pad_t, pad_l, mult, lsh, rsh, nup, fscale,
                                        fp32, zp, lo, hi, r0, r1, c0, c1, acc[t * sz:(t + 1) * sz], out)


@kernel(parallel=True)
def dwconv_qdu8_qc8w_f32_minmax_mt(xq, scale, zpu, w, wsum, ws, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, nt, csplit,
                                   acc, out):
    """dwconv_qdu8_qc8w_f32_minmax in nt chunks; acc: nt equal int32 scratch slices."""
    rows = out.shape[0] * out.shape[1]
    c = out.shape[3]
    sz = acc.shape[0] // nt
    for t in prange(nt):
        r0, r1, c0, c1 = split_dw(t, nt, rows, c, csplit)
        if r1 > r0 and c1 > c0:
            dwconv_qdu8_qc8w_f32_rows_minmax(xq, scale, zpu, w, wsum, ws, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi,
                                             r0, r1, c0, c1, acc[t * sz:(t + 1) * sz], out)
