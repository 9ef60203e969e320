"""NumPy twins of kernels/conv_igemm.py: the same conv as the im2col GEMM (float64 sums)."""
import numpy as np

from .gemm import NR_OF_TILE, conv2d_f32_f32_f32_minmax


def padded_extent(oh, ow, kh, kw, sh, sw, dh, dw):
    return (oh - 1) * sh + (kh - 1) * dh + 1, (ow - 1) * sw + (kw - 1) * dw + 1


def pad_image_f32(x, b, h, w, cin, pt, pl, hp, wp, out):
    img = np.zeros((hp + max(pt, 0) + h, wp + max(pl, 0) + w, cin), np.float32)
    img[pt:pt + h, pl:pl + w] = x.reshape(-1, h, w, cin)[b]
    out[:hp * wp * cin] = img[:hp, :wp].reshape(-1)


def conv2d_igemm_f32_minmax(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cout, tile, wpk, toff,
                            lo, hi, xp, out, rnd=False):
    mr = {0: 6, 1: 14, 2: 28, 3: 7}[tile]
    assert NR_OF_TILE[tile]
    conv2d_f32_f32_f32_minmax(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, 1, cout, tile, wpk, mr,
                              lo, hi, None, out, rnd)
