"""The no-im2col float32 conv (kernels/conv_igemm.py).

Each output gets the im2col GEMM's operations (bias, then one FMA per k in
(ky, kx, c) order), so the kernel must equal conv2d_f32_f32_f32_minmax bit for
bit, on every tile, with fp16 rounding too; the threaded driver must equal the
serial one.  Against the NumPy twin (float64 sums): the GEMM tests' tolerance.
"""
import numba
import numpy as np
import pytest

from numba_infer.kernels import conv_igemm as CI, gemm as G, parallel as P
from numba_infer.kernels.reference import conv_igemm as RC

I = np.int64
F32 = np.float32
# (batch, h, w, cin, cout, k, stride, dilation, pad)
GEOMS = [(1, 9, 11, 5, 20, 3, 1, 1, 1), (2, 12, 10, 16, 70, 3, 2, 1, 1), (1, 13, 13, 8, 33, 5, 1, 2, 4),
         (1, 10, 9, 3, 17, 3, 1, 1, 0), (1, 6, 30, 17, 16, 1, 2, 1, 0), (1, 8, 8, 4, 9, 3, 1, 1, 3)]


def setup(geo, tile, seed=0):
    batch, h, w, cin, cout, k, s, d, p = geo
    rng = np.random.default_rng(seed)
    oh, ow = (h + 2 * p - (k - 1) * d - 1) // s + 1, (w + 2 * p - (k - 1) * d - 1) // s + 1
    kd = k * k * cin
    x = rng.standard_normal(batch * h * w * cin).astype(F32)
    W = rng.standard_normal((cout, kd)).astype(F32)
    b = rng.standard_normal(cout).astype(F32)
    nr = G.TILES[tile][1]
    wpk = np.zeros(G.packed_size(cout, kd, nr), F32)
    G.pack_gemm_f32(W.reshape(-1), 0, kd, 1, cout, kd, b, nr, wpk)
    geo_i = tuple(I(v) for v in (batch, h, w, cin, k, k, s, s, d, d, p, p, oh, ow, cout))
    hp, wp = CI.padded_extent(I(oh), I(ow), I(k), I(k), I(s), I(s), I(d), I(d))
    toff = CI.tap_offsets(k, k, d, d, int(wp), cin)
    return x, wpk, geo_i, int(hp), int(wp), toff, batch * oh * ow * cout


@pytest.mark.parametrize("tile", sorted(G.TILES))
@pytest.mark.parametrize("geo", GEOMS)
@pytest.mark.parametrize("rnd", [False, True])
def test_conv_igemm_is_the_im2col_gemm(tile, geo, rnd):
    x, wpk, g, hp, wp, toff, size = setup(geo, tile)
    cin, kdim = geo[3], geo[5] * geo[5] * geo[3]
    lo, hi = (F32(-2), F32(3)) if not rnd else (F32(-np.inf), F32(np.inf))
    xs = x * (300 if rnd else 1)
    xp = np.full(hp * wp * cin + 5, np.nan, F32)                     # stale scratch must not matter
    got = np.full(size + 4, 7, F32)
    CI.conv2d_igemm_f32_minmax(xs, *g, I(tile), wpk, toff, lo, hi, xp, got[:size], rnd)
    mr = G.TILES[tile][0]
    want = np.zeros(size, F32)
    G.conv2d_f32_f32_f32_minmax(xs, *g[:14], I(1), g[14], I(tile), wpk, I(mr), lo, hi, np.zeros(mr * kdim, F32),
                                want, rnd)
    np.testing.assert_array_equal(got[:size], want)
    assert (got[size:] == 7).all()
    if not rnd:
        ref = np.zeros(size, F32)
        RC.conv2d_igemm_f32_minmax(xs, *(int(v) for v in g), tile, wpk, toff, lo, hi, None, ref)
        np.testing.assert_allclose(got[:size], ref, rtol=1e-5, atol=1e-5 * np.sqrt(kdim) * np.abs(ref).max())


@pytest.mark.parametrize("geo", GEOMS[:4])
def test_pad_image(geo):
    x, _, g, hp, wp, _, _ = setup(geo, 0)
    batch, h, w, cin, p = geo[0], geo[1], geo[2], geo[3], geo[8]
    for b in range(batch):
        got = np.full(hp * wp * cin, np.nan, F32)
        CI.pad_image_f32(x, I(b), I(h), I(w), I(cin), I(p), I(p), I(hp), I(wp), got)
        want = np.zeros(hp * wp * cin, F32)
        RC.pad_image_f32(x, b, h, w, cin, p, p, hp, wp, want)
        np.testing.assert_array_equal(got, want)


THREADS = sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)})


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("nt", [2, 3])
@pytest.mark.parametrize("geo", GEOMS[:3])
def test_conv_igemm_mt(threads, nt, geo):
    old = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        for tile in (1, 2):
            x, wpk, g, hp, wp, toff, size = setup(geo, tile, seed=nt)
            lo, hi = F32(-2), F32(3)
            want = np.zeros(size, F32)
            CI.conv2d_igemm_f32_minmax(x, *g, I(tile), wpk, toff, lo, hi, np.zeros(hp * wp * geo[3], F32), want)
            got = np.zeros(size, F32)
            P.conv2d_igemm_f32_minmax_mt(x, *g, I(tile), wpk, toff, lo, hi, np.full(hp * wp * geo[3], np.nan, F32),
                                         nt, got)
            np.testing.assert_array_equal(got, want)
    finally:
        numba.set_num_threads(old)
