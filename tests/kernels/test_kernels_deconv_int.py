"""The 8-bit transposed-conv kernels that take their integer sums in float32
(kernels/deconv.py deconv_qdu8_qc8w_f32_exact_minmax, deconv_q8_q8_q8_exact) against
their NumPy twins (int64 sums), bit for bit, through both float32 kernels (rows and
channel-vectorized), including operands at the 2**24 bound the lowering checks
(255 * sum |w| = 2**24 - 1 per channel: still exact)."""
import numpy as np
import pytest

from numba_infer.kernels import deconv as D
from numba_infer.kernels.reference import deconv as R

I = np.int64
CASES = [
    # (N, H, W, Cin, Cout, KH, KW, sh, sw, OH, OW, pad_t, pad_l)
    (1, 15, 14, 32, 8, 3, 3, 2, 2, 30, 28, 0, 0),
    (2, 4, 19, 5, 9, 3, 4, 1, 2, 6, 39, 1, 1),
    (1, 5, 6, 17, 3, 4, 4, 2, 2, 10, 12, 1, 1),
]


def _weights(rng, kh, kw, cin, cout, big):
    w = rng.integers(-127, 128, (kh, kw, cin, cout)).astype(np.int64)
    if big:       # one channel's sum of |w| as large as the shape allows up to the exact limit
        lim = ((1 << 24) - 1) // 255
        flat = np.zeros(kh * kw * cin, np.int64)
        for k in range(flat.size):
            flat[k] = -min(127, lim) if k % 2 else min(127, lim)
            lim -= abs(flat[k])
        w[..., 0] = flat.reshape(kh, kw, cin)
    return w


def _layouts(w, rows):
    wf = w.astype(np.float32)
    if rows:
        wf = D.rows_pack_w(wf)
    return wf, np.zeros(wf.shape[3], np.float32)


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("rows", [False, True])
@pytest.mark.parametrize("big", [False, True])
def test_hybrid_exact(case, rows, big):
    n, h, wd, cin, cout, kh, kw, sh, sw, oh, ow, pt, pl = case
    rng = np.random.default_rng(sum(case) + rows)
    w = _weights(rng, kh, kw, cin, cout, big)
    wf, zb = _layouts(w, rows)
    xq = rng.integers(0, 256, (n, h, wd, cin)).astype(np.uint8)
    xq[..., 0] = 0 if big else xq[..., 0]
    scale = rng.uniform(0.01, 0.1, n).astype(np.float32)
    zpu = rng.integers(0, 256, n).astype(np.int32)
    zpu[0] = 255 if big else zpu[0]
    ws = rng.uniform(0.001, 0.01, cout).astype(np.float32)
    b = rng.standard_normal(cout).astype(np.float32)
    lo, hi = np.float32(-3), np.float32(3)
    common = (xq, scale, zpu, wf, ws, b, zb, I(sh), I(sw), I(pt), I(pl), rows, lo, hi)
    got = np.full((n, oh, ow, cout), np.nan, np.float32)
    D.deconv_qdu8_qc8w_f32_exact_minmax(*common, np.zeros((1, h, wd, cin), np.float32),
                                        np.zeros(D.rows_scratch_size(h, wd, cin, kw), np.float32),
                                        np.zeros((1, oh, ow, cout), np.float32), got)
    want = np.zeros_like(got)
    R.deconv_qdu8_qc8w_f32_exact_minmax(*common, None, None, None, want)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("rows", [False, True])
@pytest.mark.parametrize("fp32", [False, True])
def test_q8_exact(case, rows, fp32):
    n, h, wd, cin, cout, kh, kw, sh, sw, oh, ow, pt, pl = case
    rng = np.random.default_rng(sum(case) + 7 * rows + fp32)
    w = _weights(rng, kh, kw, cin, cout, False)
    wf, zb = _layouts(w, rows)
    x = rng.integers(-128, 128, (n, h, wd, cin)).astype(np.int8)
    bias = rng.integers(-5000, 5000, cout).astype(np.int32)
    mult = rng.integers(1 << 30, (1 << 31) - 1, cout).astype(np.int32)
    lsh = np.zeros(cout, np.int32)
    rsh = rng.integers(8, 14, cout).astype(np.int32)
    fscale = rng.uniform(1e-4, 1e-3, cout).astype(np.float32)
    q = (mult, lsh, rsh, I(8 * (cout // 8)), fscale, fp32, I(-3), I(-128), I(127))
    common = (x, I(-7), wf, zb, bias, I(sh), I(sw), I(pt), I(pl), rows, *q)
    got = np.zeros((n, oh, ow, cout), np.int8)
    D.deconv_q8_q8_q8_exact(*common, np.zeros((1, h, wd, cin), np.float32),
                            np.zeros(D.rows_scratch_size(h, wd, cin, kw), np.float32),
                            np.zeros((1, oh, ow, cout), np.float32), np.zeros(oh * ow * cout, np.int32), got)
    want = np.zeros_like(got)
    R.deconv_q8_q8_q8_exact(*common, None, None, None, None, want)
    np.testing.assert_array_equal(got, want)
