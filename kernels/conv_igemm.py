"""float32 conv without im2col: the GEMM's A rows read straight from a padded image.

A KxK conv's im2col matrix repeats every input pixel up to K*K times; building
it (kernels/gemm.py im2col_f32) cost a 3x3 conv on a 112x112x32 map 340 of its
1420 us.  Here the microkernel (kernels/_gen_ukernels.py f32_iukernel) takes
one tile of MR output pixels of one output row and runs K as kh*kw taps of cin
channels: tap t of the tile's pixel i is read at
``xp[ao + toff[t] + i * lda + c]`` in a zero-padded copy of the image
(``pad_image_f32``; lda = stride * cin, toff[t] = the tap's offset from the
window corner), its accumulators staying in registers across the taps.  The
weights are the im2col GEMM's packed panels (k = (ky, kx, c)), and each output
gets bias + one FMA per k in k order: the im2col GEMM's bits.

A tile never spans two output rows, so an output row of ow pixels takes
ceil(ow / MR) tiles; the lowering (ops/conv.py) uses this path only where that
padding costs little.  Reference: kernels/reference/conv_igemm.py
"""
import numpy as np

from ._jit import FAST_F32, kernel
from ._ukernels_f32 import _iukr_6x64, _iukr_7x32, _iukr_14x32, _iukr_28x16
from .gemm import TILE_6x64, TILE_7x32, TILE_14x32, tile_mr, tile_nr
from .simd import vload_n, vstore_n, vzero


@kernel(fastmath=FAST_F32)
def _iukr(tile, mr, nv, ntap, toff, cin, a, ao, lda, w, wb, wo, ldw, lo, hi, rnd, c, co, ldc):
    if tile == TILE_6x64:
        _iukr_6x64(mr, nv, ntap, toff, cin, a, ao, lda, w, wb, wo, ldw, lo, hi, rnd, c, co, ldc)
    elif tile == TILE_14x32:
        _iukr_14x32(mr, nv, ntap, toff, cin, a, ao, lda, w, wb, wo, ldw, lo, hi, rnd, c, co, ldc)
    elif tile == TILE_7x32:
        _iukr_7x32(mr, nv, ntap, toff, cin, a, ao, lda, w, wb, wo, ldw, lo, hi, rnd, c, co, ldc)
    else:
        _iukr_28x16(mr, nv, ntap, toff, cin, a, ao, lda, w, wb, wo, ldw, lo, hi, rnd, c, co, ldc)


@kernel
def padded_extent(oh, ow, kh, kw, sh, sw, dh, dw):
    """(hp, wp): the rows and columns of the padded image the conv reads."""
    return (oh - 1) * sh + (kh - 1) * dh + 1, (ow - 1) * sw + (kw - 1) * dw + 1


def tap_offsets(kh, kw, dh, dw, wp, cin):
    """toff[ky * kw + kx] = (ky * dh * wp + kx * dw) * cin: each tap's offset (floats)
    from the window's corner in a padded image of row width wp."""
    ky, kx = np.divmod(np.arange(kh * kw, dtype=np.int64), kw)
    return (ky * dh * wp + kx * dw) * cin


@kernel(fastmath=FAST_F32)
def pad_image_f32(x, b, h, w, cin, pt, pl, hp, wp, out):
    """out[(i * wp + j) * cin + c] = x[b, i - pt, j - pl, c], 0 outside the image,
    for i < hp, j < wp (rows and columns past the image are zeros too)."""
    pad_rows_f32(x, b, h, w, cin, pt, pl, wp, out, 0, hp)


@kernel(fastmath=FAST_F32)
def pad_rows_f32(x, b, h, w, cin, pt, pl, wp, out, r0, r1):
    """pad_image_f32's rows r0 <= i < r1 (a thread's share)."""
    for i in range(r0, r1):
        iy = i - pt
        o = i * wp * cin
        if iy < 0 or iy >= h:
            for k in range(0, wp * cin, 16):
                vstore_n(out, o + k, vzero(), wp * cin - k)
            continue
        j0 = min(max(pl, 0), wp)                     # left padding columns
        j1 = min(max(pl + w, 0), wp)                 # end of the image's columns
        for k in range(0, j0 * cin, 16):
            vstore_n(out, o + k, vzero(), j0 * cin - k)
        if j1 > j0:
            src = ((b * h + iy) * w + (j0 - pl)) * cin
            n = (j1 - j0) * cin
            d = o + j0 * cin
            for k in range(0, n, 16):
                vstore_n(out, d + k, vload_n(x, src + k, n - k), n - k)
        for k in range(j1 * cin, wp * cin, 16):
            vstore_n(out, o + k, vzero(), wp * cin - k)


@kernel(fastmath=FAST_F32)
def conv2d_igemm_f32_rows(xp, wp, cin, kh, kw, sh, sw, oh, ow, cout, tile, wpk, toff, lo, hi, out, ob, y0, y1, rnd):
    """Output rows y0 <= oy < y1 of one image from its padded copy xp (row width wp):
    out[ob + (oy * ow + ox) * cout + j]; wpk: pack_gemm_f32 panels of the [cout,
    kh*kw*cin] filter with the tile's nr; toff: tap_offsets."""
    mrt = tile_mr(tile)
    nr = tile_nr(tile)
    npan = (cout + nr - 1) // nr
    pstride = (kh * kw * cin + 1) * nr
    lda = sw * cin
    for oy in range(y0, y1):
        rb = oy * sh * wp * cin
        for jp in range(npan):
            wb = jp * pstride
            nv = min(nr, cout - jp * nr)
            for ox in range(0, ow, mrt):
                _iukr(tile, min(mrt, ow - ox), nv, kh * kw, toff, cin, xp, rb + ox * lda, lda, wpk, wb, wb + nr, nr,
                      lo, hi, rnd, out, ob + (oy * ow + ox) * cout + jp * nr, cout)


@kernel(fastmath=FAST_F32)
def conv2d_igemm_f32_minmax(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cout, tile, wpk, toff,
                            lo, hi, xp, out, rnd=False):
    """NHWC conv2d (one group) without im2col: per image, the zero-padded copy
    (pad_image_f32 into xp, hp * wp * cin floats: padded_extent) then every output
    row (conv2d_igemm_f32_rows).  x, out flat; rnd: outputs rounded to fp16 values."""
    hp, wp = padded_extent(oh, ow, kh, kw, sh, sw, dh, dw)
    for b in range(batch):
        pad_image_f32(x, b, h, w, cin, pt, pl, hp, wp, xp)
        conv2d_igemm_f32_rows(xp, wp, cin, kh, kw, sh, sw, oh, ow, cout, tile, wpk, toff, lo, hi, out,
                              b * oh * ow * cout, 0, oh, rnd)
