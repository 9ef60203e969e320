"""The explicit-SIMD depthwise kernels (kernels/dwconv.py float32, kernels/dwconv_q8.py
QS8 / QU8 / QD8, kernels/dwconv_mt.py) on odd shapes: channel counts around the
16-lane vector (1, 15, 16, 17, 33), 3x3 / 5x5 (the unrolled paths) and other
filter sizes, strides 1 / 2, dilation, SAME / VALID and over-sized padding,
batch 2, depth multiplier > 1 (dw_expand_channels + the dm == 1 kernels).

- float32: bit-identical to the scalar kernel dwconv_f32_f32_f32_dm_minmax
  (same accumulation: bias, then one FMA per tap, taps column-major; that
  order is what makes it equal to XNNPack, tests/ops/test_ops_depthwise.py),
  and within float32 rounding (rtol/atol 1e-5, <= 25 O(1) products) of the
  float64 NumPy twin.
- 8-bit: integer sums, so bit-exact against the int64 NumPy twins (the QD8
  twin repeats the float32 epilogue operations in the same order).
- row / channel sub-ranges and the threaded drivers give the same bits.
The whole file runs again under NUMBA_INFER_ISA=generic in a subprocess.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from numba_infer.kernels import dwconv as D, dwconv_mt as MT, dwconv_q8 as Q, parallel as PAR
from numba_infer.kernels.reference import dwconv as RD, dwconv_mt as RMT, dwconv_q8 as RQ

BIG = np.float32(np.finfo(np.float32).max)
I = np.int64

# (N, H, W, C_in, dm, KH, KW, sh, sw, dh, dw, pad)   pad: "same", "valid" or (pad_t, pad_l, extra OH, extra OW)
CASES = [
    (1, 9, 11, 1, 1, 3, 3, 1, 1, 1, 1, "same"),
    (2, 8, 7, 15, 1, 3, 3, 2, 2, 1, 1, "same"),
    (1, 10, 9, 16, 1, 3, 3, 1, 1, 1, 1, "valid"),
    (1, 12, 13, 17, 1, 3, 3, 2, 1, 1, 1, "valid"),
    (1, 9, 10, 33, 1, 5, 5, 1, 1, 1, 1, "same"),
    (2, 11, 12, 17, 1, 5, 5, 2, 2, 1, 1, "same"),
    (1, 12, 12, 16, 1, 3, 3, 1, 1, 2, 3, "same"),
    (1, 13, 13, 15, 1, 5, 5, 1, 1, 2, 2, "valid"),
    (1, 7, 8, 3, 2, 3, 3, 1, 1, 1, 1, "same"),
    (1, 9, 9, 5, 3, 5, 5, 2, 2, 1, 1, "same"),
    (1, 8, 9, 17, 1, 3, 2, 1, 2, 1, 2, "same"),
    (1, 6, 6, 16, 1, 7, 7, 1, 1, 1, 1, "same"),
    (1, 4, 4, 33, 1, 1, 1, 1, 1, 1, 1, "valid"),
    (1, 3, 3, 16, 1, 5, 5, 1, 1, 1, 1, "same"),     # every pixel is a border pixel
    (1, 1, 1, 17, 1, 3, 3, 1, 1, 1, 1, "same"),
    (1, 5, 6, 20, 1, 3, 3, 1, 1, 1, 1, (4, 5, 4, 4)),   # padding beyond the filter: bias-only pixels
    (1, 12, 12, 8, 1, 3, 3, 1, 1, 4, 4, "same"),     # dilation: some taps always outside
]
if os.environ.get("NUMBA_INFER_ISA") == "generic":      # the subprocess run below: a subset
    CASES = CASES[::4]


def geometry(case):
    n, h, w, cin, dm, kh, kw, sh, sw, dh, dw, pad = case
    dims = []
    for size, k, s, d, i in ((h, kh, sh, dh, 0), (w, kw, sw, dw, 1)):
        eff = (k - 1) * d + 1
        if pad == "same":
            o = -(-size // s)
            dims.append((o, max(0, (o - 1) * s + eff - size) // 2))
        elif pad == "valid":
            dims.append(((size - eff) // s + 1, 0))
        else:
            p = pad[i]
            dims.append(((size + 2 * p - eff) // s + 1 + pad[2 + i], p))
    (oh, pt), (ow, pl) = dims
    return oh, ow, pt, pl


def expanded(x, dm):
    if dm == 1:
        return x
    xe = np.zeros(x.shape[:3] + (x.shape[3] * dm,), x.dtype)
    D.dw_expand_channels(x, I(dm), xe)
    ref = np.zeros_like(xe)
    RD.dw_expand_channels(x, dm, ref)
    np.testing.assert_array_equal(xe, ref)
    return xe


def splits(rows, c):
    """(r0, r1, c0, c1) pieces covering rows x channels: 2 row ranges, then 16-channel groups."""
    yield [(0, rows // 2, 0, c), (rows // 2, rows, 0, c)]
    cut = [0] + list(range(16, c, 16)) + [c]
    yield [(0, rows, a, b) for a, b in zip(cut[:-1], cut[1:])]


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("act", [(-BIG, BIG), (np.float32(-0.5), np.float32(0.5))], ids=["none", "clamp"])
def test_dwconv_f32(case, act):
    n, h, w, cin, dm, kh, kw, sh, sw, dh, dw, _ = case
    oh, ow, pt, pl = geometry(case)
    c = cin * dm
    rng = np.random.default_rng(hash(case) % 2 ** 32)
    x = rng.standard_normal((n, h, w, cin)).astype(np.float32)
    wt = rng.standard_normal((kh, kw, c)).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32)
    geo = (I(sh), I(sw), I(dh), I(dw), I(pt), I(pl))
    got = np.full((n, oh, ow, c), np.nan, np.float32)
    D.dwconv_f32_f32_f32_minmax(expanded(x, dm), wt, b, *geo, *act, got)
    exact = np.full_like(got, np.nan)
    D.dwconv_f32_f32_f32_dm_minmax(x, wt, b, *geo, *act, exact)       # the scalar kernel, same order
    np.testing.assert_array_equal(got, exact)
    ref = np.zeros_like(got)
    RD.dwconv_f32_f32_f32_minmax(x, wt, b, sh, sw, dh, dw, pt, pl, *act, ref)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
    for pieces in splits(n * oh, c):
        part = np.full_like(got, np.nan)
        for r0, r1, c0, c1 in pieces:
            D.dwconv_f32_f32_f32_rows_minmax(expanded(x, dm), wt, b, *geo, *act, I(r0), I(r1), I(c0), I(c1), part)
        np.testing.assert_array_equal(part, got)


def q8_params(rng, c, xdt):
    mult = rng.integers(1 << 30, (1 << 31) - 1, c).astype(np.int32)
    shift = rng.integers(-9, 2, c)
    lsh = np.maximum(shift, 0).astype(np.int32)
    rsh = np.maximum(-shift, 0).astype(np.int32)
    fscale = rng.uniform(2e-4, 2e-3, c).astype(np.float32)
    lo, hi = (-120, 125) if xdt == np.int8 else (3, 250)
    zp = 5 if xdt == np.int8 else 130
    return mult, lsh, rsh, fscale, I(zp), I(lo), I(hi)


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("xdt", [np.int8, np.uint8], ids=["qs8", "qu8"])
def test_dwconv_q8(case, xdt):
    n, h, w, cin, dm, kh, kw, sh, sw, dh, dw, _ = case
    oh, ow, pt, pl = geometry(case)
    c = cin * dm
    rng = np.random.default_rng(hash(case) % 2 ** 32 + 1)
    info = np.iinfo(xdt)
    x = rng.integers(info.min, info.max + 1, (n, h, w, cin)).astype(xdt)
    zx = int(rng.integers(info.min, info.max + 1))
    if xdt == np.int8:
        w16 = rng.integers(-127, 128, (kh, kw, c)).astype(np.int16)
    else:
        w16 = (rng.integers(0, 256, (kh, kw, c)) - int(rng.integers(0, 256))).astype(np.int16)
    bias = rng.integers(-20000, 20000, c)
    init = (bias - zx * w16.astype(np.int64).sum(axis=(0, 1))).astype(np.int32)
    mult, lsh, rsh, fscale, zp, lo, hi = q8_params(rng, c, xdt)
    geo = (I(sh), I(sw), I(dh), I(dw), I(pt), I(pl))
    xe = expanded(x, dm)
    for fp32, nup in ((True, c), (False, c), (False, 0), (False, c // 2)):
        q = (mult, lsh, rsh, I(nup), fscale, fp32, zp, lo, hi)
        ref = np.zeros((n, oh, ow, c), xdt)
        RQ.dwconv_q8_q8_q8_minmax(xe, I(zx), w16, init, *geo, *q, None, ref)
        for accw in (ow * 16, 4096):        # one row / several rows of accumulators per band
            got = np.zeros_like(ref)
            Q.dwconv_q8_q8_q8_minmax(xe, I(zx), w16, init, *geo, *q, np.zeros(accw, np.int32), got)
            np.testing.assert_array_equal(got, ref, err_msg=f"fp32={fp32} nup={nup} acc={accw}")
        for pieces in splits(n * oh, c):
            part = np.zeros_like(ref)
            for r0, r1, c0, c1 in pieces:
                Q.dwconv_q8_q8_q8_rows_minmax(xe, I(zx), w16, init, *geo, *q, I(r0), I(r1), I(c0), I(c1),
                                              np.zeros(ow * 16, np.int32), part)
            np.testing.assert_array_equal(part, ref)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_dwconv_qd8(case):
    n, h, w, cin, dm, kh, kw, sh, sw, dh, dw, _ = case
    oh, ow, pt, pl = geometry(case)
    c = cin * dm
    rng = np.random.default_rng(hash(case) % 2 ** 32 + 2)
    xq = rng.integers(0, 256, (n, h, w, cin)).astype(np.uint8)
    scale = rng.uniform(0.01, 0.1, n).astype(np.float32)
    zpu = rng.integers(0, 256, n).astype(np.int32)
    w8 = rng.integers(-127, 128, (kh, kw, c)).astype(np.int8)
    wsum = w8.astype(np.int32).sum(axis=(0, 1)).astype(np.int32)
    ws = rng.uniform(1e-3, 1e-2, c).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32)
    geo = (I(sh), I(sw), I(dh), I(dw), I(pt), I(pl))
    xe = expanded(xq, dm)
    for lo, hi in ((-BIG, BIG), (np.float32(0), np.float32(6))):
        ref = np.zeros((n, oh, ow, c), np.float32)
        RQ.dwconv_qdu8_qc8w_f32_minmax(xe, scale, zpu, w8, wsum, ws, b, *geo, lo, hi, None, ref)
        got = np.full_like(ref, np.nan)
        Q.dwconv_qdu8_qc8w_f32_minmax(xe, scale, zpu, w8, wsum, ws, b, *geo, lo, hi, np.zeros(4096, np.int32), got)
        np.testing.assert_array_equal(got, ref)
        for pieces in splits(n * oh, c):
            part = np.full_like(ref, np.nan)
            for r0, r1, c0, c1 in pieces:
                Q.dwconv_qdu8_qc8w_f32_rows_minmax(xe, scale, zpu, w8, wsum, ws, b, *geo, lo, hi, I(r0), I(r1),
                                                   I(c0), I(c1), np.zeros(ow * 16, np.int32), part)
            np.testing.assert_array_equal(part, ref)


@pytest.mark.parametrize("nt,csplit", [(2, False), (2, True), (3, False)])
def test_dwconv_mt(nt, csplit):
    """The threaded drivers: same bits as one thread, whatever the chunking."""
    rng = np.random.default_rng(nt * 2 + csplit)
    n, h, w, c, k = 2, 9, 8, 37, 3
    geo = (I(1), I(1), I(1), I(1), I(1), I(1))
    x = rng.integers(-128, 128, (n, h, w, c)).astype(np.int8)
    w16 = rng.integers(-127, 128, (k, k, c)).astype(np.int16)
    init = rng.integers(-5000, 5000, c).astype(np.int32)
    mult, lsh, rsh, fscale, zp, lo, hi = q8_params(rng, c, np.int8)
    for fp32 in (True, False):
        q = (mult, lsh, rsh, I(c), fscale, fp32, zp, lo, hi)
        exp, got, ref = (np.zeros((n, h, w, c), np.int8) for _ in range(3))
        Q.dwconv_q8_q8_q8_minmax(x, I(3), w16, init, *geo, *q, np.zeros(w * 16, np.int32), exp)
        MT.dwconv_q8_q8_q8_mt(x, I(3), w16, init, *geo, *q, I(nt), csplit, np.zeros(nt * 1024, np.int32), got)
        RMT.dwconv_q8_q8_q8_mt(x, I(3), w16, init, *geo, *q, nt, csplit, None, ref)
        np.testing.assert_array_equal(got, exp)
        np.testing.assert_array_equal(got, ref)
    xq = x.view(np.uint8)
    scale = np.array([0.02, 0.05], np.float32)
    zpu = np.array([100, 140], np.int32)
    w8 = w16.astype(np.int8)
    wsum = w8.astype(np.int32).sum(axis=(0, 1)).astype(np.int32)
    ws = rng.uniform(1e-3, 1e-2, c).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32)
    exp, got, ref = (np.zeros((n, h, w, c), np.float32) for _ in range(3))
    args = (xq, scale, zpu, w8, wsum, ws, b, *geo, np.float32(-1), np.float32(1))
    Q.dwconv_qdu8_qc8w_f32_minmax(*args, np.zeros(w * 16, np.int32), exp)
    MT.dwconv_qdu8_qc8w_f32_minmax_mt(*args, I(nt), csplit, np.zeros(nt * 1024, np.int32), got)
    RMT.dwconv_qdu8_qc8w_f32_minmax_mt(*args, nt, csplit, None, ref)
    np.testing.assert_array_equal(got, exp)
    np.testing.assert_array_equal(got, ref)


@pytest.mark.skipif(os.environ.get("NUMBA_INFER_ISA") == "generic", reason="already the generic run")
def test_generic_isa_subprocess():
    """This file again with NUMBA_INFER_ISA=generic (the portable path of every kernel)."""
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, NUMBA_INFER_ISA="generic")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", __file__,
                        "-k", "not subprocess and (f32 or q8 or mt)"],
                       cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]


@pytest.mark.parametrize("case", CASES[::2], ids=str)
def test_dwconv_f32_rowmajor(case):
    """The row-major tap order (XNNPack's grouped-conv order for dm > 1 / > 25 taps):
    within float32 rounding of the twin; equal to the column-major kernel for
    one-row / one-column filters (the same order there); row / channel pieces and
    the threaded driver give the same bits."""
    n, h, w, cin, dm, kh, kw, sh, sw, dh, dw, _ = case
    oh, ow, pt, pl = geometry(case)
    c = cin * dm
    rng = np.random.default_rng(hash(case) % 2 ** 32 + 3)
    x = expanded(rng.standard_normal((n, h, w, cin)).astype(np.float32), dm)
    geo = (I(sh), I(sw), I(dh), I(dw), I(pt), I(pl))
    for wshape in ((kh, kw, c), (1, kw, c), (kh, 1, c)):
        wt = rng.standard_normal(wshape).astype(np.float32)
        b = rng.standard_normal(c).astype(np.float32)
        ohw = (oh if wshape[0] == kh else (h + 2 * pt - 1) // sh + 1,
               ow if wshape[1] == kw else (w + 2 * pl - 1) // sw + 1)
        if min(ohw) < 1:
            continue
        got = np.full((n,) + ohw + (c,), np.nan, np.float32)
        D.dwconv_f32_f32_f32_rowmajor_minmax(x, wt, b, *geo, -BIG, BIG, got)
        ref = np.zeros_like(got)
        RD.dwconv_f32_f32_f32_rowmajor_minmax(x, wt, b, sh, sw, dh, dw, pt, pl, -BIG, BIG, ref)
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
        if 1 in wshape[:2]:
            col = np.full_like(got, np.nan)
            D.dwconv_f32_f32_f32_minmax(x, wt, b, *geo, -BIG, BIG, col)
            np.testing.assert_array_equal(got, col)
        for pieces in splits(n * ohw[0], c):
            part = np.full_like(got, np.nan)
            for r0, r1, c0, c1 in pieces:
                D.dwconv_f32_f32_f32_rowmajor_rows_minmax(x, wt, b, *geo, -BIG, BIG, I(r0), I(r1), I(c0), I(c1),
                                                          part)
            np.testing.assert_array_equal(part, got)
        mt = np.full_like(got, np.nan)
        MT.dwconv_f32_f32_f32_rowmajor_minmax_mt(x, wt, b, *geo, -BIG, BIG, I(2), False, mt)
        np.testing.assert_array_equal(mt, got)
        RMT.dwconv_f32_f32_f32_rowmajor_minmax_mt(x, wt, b, *geo, -BIG, BIG, 2, False, ref)


def as_fp16(a):
    with np.errstate(over="ignore"):          # values beyond 65504 become inf: what we check
        return a.astype(np.float16).astype(np.float32)


@pytest.mark.parametrize("case", CASES[::3], ids=str)
def test_dwconv_f32_rounds_fp16_in_epilogue(case):
    """rnd=True (fp16 emulation) gives exactly numpy's float16 cast (RNE, overflow to inf)
    of the rnd=False result, for the column- and row-major kernels, a row / channel piece
    and both threaded drivers: one rounding after bias, taps and clamp.  Inputs scaled so
    that some outputs exceed fp16's 65504."""
    n, h, w, cin, dm, kh, kw, sh, sw, dh, dw, _ = case
    oh, ow, pt, pl = geometry(case)
    c = cin * dm
    rng = np.random.default_rng(hash(case) % 2 ** 32 + 7)
    x = expanded((rng.standard_normal((n, h, w, cin)) * 300).astype(np.float32), dm)
    wt = (rng.standard_normal((kh, kw, c)) * 300).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32)
    geo = (I(sh), I(sw), I(dh), I(dw), I(pt), I(pl))
    act = (np.float32(-1e5), BIG)
    rows = n * oh
    for serial, threaded in ((D.dwconv_f32_f32_f32_minmax, PAR.dwconv_f32_f32_f32_minmax_mt),
                             (D.dwconv_f32_f32_f32_rowmajor_minmax, MT.dwconv_f32_f32_f32_rowmajor_minmax_mt)):
        plain = np.full((n, oh, ow, c), np.nan, np.float32)
        serial(x, wt, b, *geo, *act, plain, False)
        want = as_fp16(plain)
        got = np.full_like(plain, np.nan)
        serial(x, wt, b, *geo, *act, got, True)
        np.testing.assert_array_equal(got, want)
        got = np.full_like(plain, np.nan)
        threaded(x, wt, b, *geo, *act, I(2), False, got, True)
        np.testing.assert_array_equal(got, want)
    part = np.full_like(plain, np.nan)
    for r0, r1, c0, c1 in next(splits(rows, c)):
        D.dwconv_f32_f32_f32_rows_minmax(x, wt, b, *geo, *act, I(r0), I(r1), I(c0), I(c1), part, True)
    plain = np.full_like(plain, np.nan)
    D.dwconv_f32_f32_f32_minmax(x, wt, b, *geo, *act, plain)
    np.testing.assert_array_equal(part, as_fp16(plain))
    if kh == 3 and n == 1:
        assert np.isinf(part).any() and np.isfinite(plain).all()
