"""The float32 transposed-conv kernels of kernels/deconv.py on odd shapes.

deconv_f32_f32_f32_minmax (16 output channels per vector),
deconv_f32_f32_f32_pixel_minmax (16 input pixels per vector, filter <= stride) and
deconv_f32_f32_f32_rows_minmax (16 output pixels of a row phase x 8 channels) accumulate in the same order (bias, taps in (ky, kx) order, input channels in
order, one FMA each), so they must agree bit for bit; both are within float32
rounding of the float64 NumPy twin (<= KH*KW*Cin = 9*33 products of O(1)
values: rtol/atol 3e-5).  Also run under NUMBA_INFER_ISA=generic (subprocess).
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from numba_infer.kernels import deconv as D
from numba_infer.kernels.reference import deconv as R

BIG = np.float32(np.finfo(np.float32).max)
I = np.int64
TOL = dict(rtol=3e-5, atol=3e-5)

CASES = [
    # (N, H, W, Cin, Cout, KH, KW, sh, sw, OH, OW, pad_t, pad_l)
    (1, 5, 6, 15, 17, 3, 3, 2, 2, 10, 12, 1, 1),
    (2, 4, 5, 16, 33, 4, 4, 2, 2, 8, 10, 1, 1),
    (1, 3, 7, 33, 16, 3, 2, 1, 3, 5, 21, 1, 0),
    (1, 6, 5, 1, 3, 5, 5, 1, 1, 4, 4, 3, 3),          # heavy crop
    (1, 4, 4, 2, 3, 3, 3, 2, 2, 11, 11, 0, 0),        # output larger than the scatter
    # filter <= stride: the pixel kernel too
    (1, 9, 21, 40, 1, 2, 2, 2, 2, 17, 41, 1, 1),      # 2x2 / 2, one channel: the interleaved store
    (2, 3, 17, 3, 1, 2, 2, 2, 2, 8, 37, 0, 0),        # ... plus bias-only columns
    (1, 20, 19, 16, 1, 2, 2, 2, 2, 40, 38, 0, 0),     # selfie_segmentation's head, smaller
    (1, 5, 19, 17, 3, 2, 2, 2, 2, 10, 38, 0, 0),
    (1, 7, 9, 33, 2, 1, 2, 3, 2, 21, 18, 0, 0),       # kernel < stride: gaps get the bias
    (1, 6, 20, 5, 8, 2, 3, 2, 3, 13, 61, 1, 1),
    (1, 17, 3, 1, 2, 3, 3, 3, 3, 50, 9, 0, 0),
    (2, 3, 3, 15, 16, 2, 2, 2, 2, 6, 6, 0, 0),
    # rows kernel: phases wider than 16 pixels, channel counts around 8, edge taps on both sides
    (1, 15, 14, 32, 8, 3, 3, 2, 2, 30, 28, 0, 0),      # opzoo's deconvolution
    (1, 15, 14, 32, 8, 3, 3, 2, 2, 29, 27, 1, 1),
    (2, 4, 37, 5, 9, 3, 4, 1, 2, 6, 75, 1, 1),
    (1, 3, 40, 3, 7, 5, 5, 3, 3, 10, 118, 2, 2),
    (1, 5, 18, 6, 1, 3, 3, 1, 1, 7, 20, 0, 0),
]
if os.environ.get("NUMBA_INFER_ISA") == "generic":      # the subprocess run below: a subset
    CASES = CASES[::3]


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("act", [(-BIG, BIG), (np.float32(0), np.float32(1))], ids=["none", "relu1"])
def test_deconv_f32(case, act):
    n, h, w, cin, cout, kh, kw, sh, sw, oh, ow, pt, pl = case
    rng = np.random.default_rng(hash(case) % 2 ** 32)
    x = rng.standard_normal((n, h, w, cin)).astype(np.float32)
    wt = rng.standard_normal((kh, kw, cin, cout)).astype(np.float32)
    b = rng.standard_normal(cout).astype(np.float32)
    args = (x, wt, b, I(sh), I(sw), I(pt), I(pl), *act)
    got = np.full((n, oh, ow, cout), np.nan, np.float32)
    D.deconv_f32_f32_f32_minmax(*args, got)
    ref = np.zeros_like(got)
    R.deconv_f32_f32_f32_minmax(*args, ref)
    np.testing.assert_allclose(got, ref, **TOL)
    rows = np.full_like(got, np.nan)
    w8 = D.rows_pack_w(wt)
    b8 = np.zeros(w8.shape[3], np.float32)
    b8[:cout] = b
    scratch = np.full(D.rows_scratch_size(h, w, cin, kw), np.nan, np.float32)     # NaN margins must not leak
    D.deconv_f32_f32_f32_rows_minmax(x, w8, b8, *args[3:], scratch, rows)
    np.testing.assert_array_equal(rows, got)
    if kh <= sh and kw <= sw:
        pix = np.full_like(got, np.nan)
        D.deconv_f32_f32_f32_pixel_minmax(*args, np.zeros(D.pixel_scratch_size(kh, kw, cout), np.float32), pix)
        np.testing.assert_array_equal(pix, got)
        R.deconv_f32_f32_f32_pixel_minmax(*args, None, ref)


@pytest.mark.skipif(os.environ.get("NUMBA_INFER_ISA") == "generic", reason="already the generic run")
def test_generic_isa_subprocess():
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, NUMBA_INFER_ISA="generic")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", __file__,
                        "-k", "not subprocess"], cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
