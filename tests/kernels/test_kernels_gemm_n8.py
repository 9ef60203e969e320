"""kernels/gemm_n8.py: two output rows per 16-lane vector for cout <= 8, no im2col.

The accumulation per output element is the packed GEMM's (bias, then one FMA per
im2col column in (ky, kx, c) order, zero taps included), so the results must equal
conv2d_f32_f32_f32_minmax's bit for bit; against the float64 NumPy twin within float32
rounding of K products (rtol 1e-5, atol 1e-5 * sqrt(K) on N(0,1) data).  Layout helpers
(pack_n8, rows2_band, rows2_offsets, the pad_rows2_f32 band) are moves: equal to their
twins exactly.  Shapes: odd oh (a top row without a partner), ow < 8, cout in 1..8,
several bands, cin > 16; padding, stride, dilation, batch 2, fp16 rounding.
"""
import numpy as np
import pytest

from numba_infer.kernels import gemm as G, gemm_n8 as N8
from numba_infer.kernels.reference import gemm_n8 as RN8

I = np.int64
F32 = np.float32
BIG = F32(np.finfo(np.float32).max)


def packed_gemm(W, b, tile=2):
    n, k = W.shape
    nr = G.TILES[tile][1]
    wp = np.zeros(G.packed_size(n, k, nr), F32)
    G.pack_gemm_f32(W.reshape(-1), 0, k, 1, n, k, b, nr, wp)
    return wp


# (batch, h, w, cin, cout, kh, kw, sh, sw, dh, dw, pt, pl, band floats)
ROWS2 = [(1, 60, 56, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 16384), (1, 61, 13, 8, 5, 3, 3, 1, 1, 1, 1, 1, 1, 700),
         (2, 9, 8, 3, 5, 3, 3, 2, 2, 1, 1, 1, 1, 16384), (1, 12, 11, 4, 1, 5, 5, 1, 2, 2, 1, 4, 2, 300),
         (1, 5, 6, 2, 7, 3, 2, 1, 1, 1, 3, 3, 3, 16384), (1, 7, 7, 17, 8, 1, 1, 1, 1, 1, 1, 0, 0, 16384),
         (1, 1, 9, 20, 8, 1, 3, 1, 1, 1, 1, 0, 1, 16384), (1, 4, 19, 33, 3, 2, 2, 1, 1, 1, 1, 0, 0, 1)]


@pytest.mark.parametrize("case", ROWS2, ids=str)
@pytest.mark.parametrize("rnd", [False, True])
def test_conv2d_n8_rows2(case, rnd):
    """The no-im2col cout <= 8 conv: the GEMM's bits (odd oh: a top row without a
    partner; ow < 8: single column pairs; ow not a multiple of 8: the overlapping last
    tile; several bands, a band of one row pair; cin > 16), fp16 rounding."""
    batch, h, w, cin, cout, kh, kw, sh, sw, dh, dw, pt, pl, floats = case
    oh = (h + 2 * pt - (kh - 1) * dh - 1) // sh + 1
    ow = (w + 2 * pl - (kw - 1) * dw - 1) // sw + 1
    rng = np.random.default_rng(sum(case) + rnd)
    scale = 300 if rnd else 1
    x = (rng.standard_normal(batch * h * w * cin) * scale).astype(F32)
    if not rnd:
        x[len(x) // 3] = np.nan
    kdim = kh * kw * cin
    W = (rng.standard_normal((cout, kdim)) * scale).astype(F32)
    b = rng.standard_normal(cout).astype(F32)
    lo, hi = (F32(-1e5), BIG) if rnd else (F32(-2), F32(2))
    geo = (I(batch), I(h), I(w), I(cin), I(kh), I(kw), I(sh), I(sw), I(dh), I(dw), I(pt), I(pl), I(oh), I(ow))
    m = batch * oh * ow
    want = np.zeros(m * cout, F32)
    G.conv2d_f32_f32_f32_minmax(x, *geo, I(1), I(cout), I(2), packed_gemm(W, b), I(28), lo, hi,
                                np.zeros(28 * kdim, F32), want, rnd)
    wp = np.zeros((kdim + 1) * 16, F32)
    N8.pack_n8(W, b, wp)
    bargs = (oh, ow, cin, kh, kw, sh, sw, dh, dw, floats)
    hs, wq, band, nr = N8.rows2_band(*(I(v) for v in bargs))
    assert (hs, wq, band, nr) == RN8.rows2_band(*bargs)
    offs, roffs = np.zeros(kdim, np.int64), np.zeros(kdim, np.int64)
    N8.rows2_offsets(I(cin), I(kw), I(dh), I(dw), wq, offs)
    RN8.rows2_offsets(cin, kw, dh, dw, wq, roffs)
    np.testing.assert_array_equal(offs, roffs)
    xp = np.full(nr * wq * 2 * cin + 3, np.nan, F32)
    got = np.full(m * cout + 3, np.nan, F32)
    N8.conv2d_f32_n8_rows2_minmax(x, *geo, I(cout), wp, offs, band, lo, hi, xp, got, rnd)
    np.testing.assert_array_equal(got[:m * cout], want)
    assert np.isnan(got[m * cout:]).all() and np.isnan(xp[nr * wq * 2 * cin:]).all()
    # the band layout of the last band written (a band starting mid-image) equals its twin's
    r0 = (hs - 1) // band * band
    nlast = (min(hs, r0 + band) - 1 - r0) * sh + (kh - 1) * dh + 1
    rb = np.zeros(nlast * wq * 2 * cin, F32)
    RN8.pad_rows2_f32(x, batch - 1, h, w, cin, pt, pl, r0 * sh, nlast, hs * sh, wq, rb)
    np.testing.assert_array_equal(xp[:rb.size], rb)
    if rnd:
        assert np.isinf(got[:m * cout]).any() or kdim < 8
        return
    ref = np.zeros(m * cout, F32)
    RN8.conv2d_f32_n8_rows2_minmax(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cout, wp, roffs, band,
                                   lo, hi, None, ref)
    np.testing.assert_allclose(got[:m * cout], ref, rtol=1e-5, atol=1e-5 * np.sqrt(kdim))


def test_rows2_and_direct_pad_generic_isa_subprocess():
    """The no-im2col convs of gemm_n8.py and conv_direct.py under NUMBA_INFER_ISA=generic
    (a few cases: the kernels use target-independent IR only)."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, NUMBA_INFER_ISA="generic")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", __file__,
                        str(Path(__file__).with_name("test_kernels_conv_direct.py")),
                        "-k", "(rows2 and False and 16384) or (direct_pad and False and 64)"],
                       cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "passed" in r.stdout
