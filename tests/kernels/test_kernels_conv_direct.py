"""kernels/conv_direct.py: the first-layer conv (few input channels) reading a zero-padded
band of input rows directly.  Same accumulation as im2col + the packed GEMM (bias, then
one FMA per im2col column in (ky, kx, c) order, zero taps included), so the results must
equal conv2d_f32_f32_f32_minmax's bit for bit; against the float64 NumPy twin within
float32 rounding of K products; the layout helpers (pack_direct, direct_offsets, pad_band,
the pad_rows_f32 band) equal their twins exactly.  Cases: the RGB stems of mobilenet /
face models (3x3 and 5x5, stride 2, 16 / 24 / 32 channels: every register tile), odd
sizes where every pixel is a border pixel, dilation, batch 2, more than 32 output
channels, several bands, fp16 rounding."""
import numpy as np
import pytest

from numba_infer.kernels import conv_direct as CD, gemm as G
from numba_infer.kernels.reference import conv_direct as RCD

I = np.int64
F32 = np.float32
# (batch, h, w, cin, cout, kh, kw, sh, sw, dh, dw, pt, pl)
CASES = [(1, 37, 41, 3, 32, 3, 3, 2, 2, 1, 1, 0, 0), (1, 30, 30, 3, 24, 5, 5, 2, 2, 1, 1, 1, 1),
         (1, 40, 36, 3, 16, 3, 3, 2, 2, 1, 1, 0, 1), (2, 9, 11, 2, 40, 3, 3, 1, 2, 2, 1, 2, 1),
         (1, 13, 13, 1, 7, 5, 3, 1, 1, 1, 2, 2, 2), (1, 6, 6, 4, 33, 7, 7, 1, 1, 1, 1, 3, 3),
         (1, 3, 50, 3, 20, 3, 3, 1, 1, 1, 1, 1, 1)]


def packed_gemm(W, b, tile):
    n, k = W.shape
    nr = G.TILES[tile][1]
    wp = np.zeros(G.packed_size(n, k, nr), F32)
    G.pack_gemm_f32(W.reshape(-1), 0, k, 1, n, k, b, nr, wp)
    return wp


PAD_CASES = CASES + [(1, 64, 64, 3, 16, 3, 3, 2, 2, 1, 1, 0, 0), (1, 9, 40, 3, 16, 3, 3, 1, 1, 1, 1, 1, 1),
                     (1, 5, 12, 3, 8, 3, 3, 1, 1, 1, 1, 1, 1), (2, 4, 5, 4, 24, 3, 3, 1, 1, 1, 1, 1, 1)]


@pytest.mark.parametrize("case", PAD_CASES, ids=str)
@pytest.mark.parametrize("rnd", [False, True])
def test_conv_direct_pad(case, rnd):
    """The padded-band conv: the GEMM's bits on every tile path (16-pixel tiles with
    an overlapping 16- or 8-pixel last tile, 8x32 tiles, single pixels when ow < 8),
    several bands (a small band budget), batch 2, fp16 rounding."""
    batch, h, w, cin, cout, kh, kw, sh, sw, dh, dw, pt, pl = case
    oh = (h + 2 * pt - (kh - 1) * dh - 1) // sh + 1
    ow = (w + 2 * pl - (kw - 1) * dw - 1) // sw + 1
    rng = np.random.default_rng(sum(case) + rnd)
    scale = 300 if rnd else 1
    x = (rng.standard_normal(batch * h * w * cin) * scale).astype(F32)
    if not rnd:
        x[len(x) // 3] = np.nan
    k = kh * kw * cin
    W = (rng.standard_normal((cout, k)) * scale).astype(F32)
    b = rng.standard_normal(cout).astype(F32)
    lo, hi = (F32(-1e5), F32(np.inf)) if rnd else (F32(-2), F32(3))
    geo = (I(batch), I(h), I(w), I(cin), I(kh), I(kw), I(sh), I(sw), I(dh), I(dw), I(pt), I(pl), I(oh), I(ow))
    m = batch * oh * ow
    tile = G.choose_tile(m, cout)
    want = np.zeros(m * cout, F32)
    G.conv2d_f32_f32_f32_minmax(x, *geo, I(1), I(cout), I(tile), packed_gemm(W, b, tile), I(G.TILES[tile][0]), lo, hi,
                                np.zeros(G.TILES[tile][0] * k, F32), want, rnd)
    np_ = -(-cout // 32) * 32
    wp, wr = np.zeros((k + 1) * np_, F32), np.zeros((k + 1) * np_, F32)
    CD.pack_direct(W, b, I(np_), wp)
    RCD.pack_direct(W, b, np_, wr)
    np.testing.assert_array_equal(wp, wr)
    floats = 2000 if sum(case) % 2 else 16384
    bargs = (oh, ow, cin, kh, kw, sh, sw, dh, dw, floats)
    wq, band, nr = CD.pad_band(*(I(v) for v in bargs))
    assert (wq, band, nr) == RCD.pad_band(*bargs)
    offs, roffs = np.zeros(k, np.int64), np.zeros(k, np.int64)
    CD.direct_offsets(wq, I(cin), I(kh), I(kw), I(dh), I(dw), offs)
    RCD.direct_offsets(wq, cin, kh, kw, dh, dw, roffs)
    np.testing.assert_array_equal(offs, roffs)
    xp = np.full(nr * wq * cin + 3, np.nan, F32)
    got = np.full(m * cout + 5, np.nan, F32)
    CD.conv2d_direct_pad_f32_minmax(x, *geo, I(cout), wp, I(np_), offs, band, lo, hi, xp, got, rnd)
    np.testing.assert_array_equal(got[:m * cout], want)
    assert np.isnan(got[m * cout:]).all() and np.isnan(xp[nr * wq * cin:]).all()
    r0 = (oh - 1) // band * band                      # the last band written, against its twin
    nlast = (oh - 1 - r0) * sh + (kh - 1) * dh + 1
    rb = np.zeros(nlast * wq * cin, F32)
    RCD.pad_rows_f32(x, batch - 1, h, w, cin, pt, pl, r0 * sh, nlast, wq, rb)
    np.testing.assert_array_equal(xp[:rb.size], rb)
    if rnd:
        assert np.isinf(got[:m * cout]).any()
        return
    ref = np.zeros(m * cout, F32)
    RCD.conv2d_direct_pad_f32_minmax(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cout, wr, np_,
                                     roffs, band, lo, hi, None, ref)
    np.testing.assert_allclose(got[:m * cout], ref, rtol=1e-5, atol=1e-5 * np.sqrt(k))
