"""Threaded drivers (kernels/parallel.py, kernels/parallel_vnni.py).

Each threaded kernel must equal its serial driver bit for bit
(assert_array_equal) whatever the chunk count nt, with Numba running 1 or 2
threads: chunks are whole output rows / tiles / channel groups and K is never
split.  Against the NumPy twins (kernels/reference/parallel.py) the fp32
kernels get the serial kernels' tolerance: rtol 1e-5 relative to the largest
output (fp32 sums of K <= 600 terms, reassociated in the twin's float64).
"""
import itertools

import numba
import numpy as np
import pytest
from numpy.testing import assert_array_equal

from numba_infer import isa
from numba_infer.kernels import dwconv as D, gemm as G, parallel as P, qgemm as Q
from numba_infer.kernels.reference import parallel as R

THREADS = sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)})
I = np.int64


@pytest.fixture(params=THREADS, ids=lambda t: f"{t}thr")
def threads(request):
    old = numba.get_num_threads()
    numba.set_num_threads(request.param)
    yield request.param
    numba.set_num_threads(old)


@pytest.mark.parametrize("m,mr,nt", [(1, 6, 2), (5, 6, 2), (6, 6, 2), (7, 6, 2), (49, 6, 2), (97, 14, 3), (12, 1, 5)])
def test_split_rows(m, mr, nt):
    bounds = [P.split_rows(t, nt, m, mr) for t in range(nt)]
    assert bounds == [R.split_rows(t, nt, m, mr) for t in range(nt)]
    assert bounds[0][0] == 0 and bounds[-1][1] == m
    for (a0, a1), (b0, b1) in zip(bounds, bounds[1:]):
        assert a1 == b0 and a0 % mr == 0 and a0 <= a1
    sizes = [-(-(hi - lo) // mr) for lo, hi in bounds]
    assert max(sizes) - min(sizes) <= 1


def test_dw_channel_split():
    assert not P.dw_channel_split(2, 56, 144)        # even rows: rows
    assert P.dw_channel_split(2, 7, 960)             # 7 rows, 60 channel groups: channels
    assert not P.dw_channel_split(2, 7, 16)          # one channel group: rows


def packed(rng, n, k, tile):
    nr = G.TILES[tile][1]
    w = rng.standard_normal((n, k)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    out = np.zeros(G.packed_size(n, k, nr), np.float32)
    G.pack_gemm_f32(w.reshape(-1), 0, k, 1, n, k, b, nr, out)
    return out


@pytest.mark.parametrize("tile", [0, 1, 3])
@pytest.mark.parametrize("m,n,k", [(13, 7, 5), (50, 70, 600), (97, 33, 40)])
@pytest.mark.parametrize("nt", [2, 3])
def test_gemm_f32_mt(threads, tile, m, n, k, nt):
    rng = np.random.default_rng(m + n + k)
    w = packed(rng, n, k, tile)
    a = rng.standard_normal(m * k).astype(np.float32)
    lo, hi = np.float32(-2), np.float32(3)
    exp = np.full(m * n, 7, np.float32)
    got = exp.copy()
    G.gemm_f32_f32_f32_rows_minmax(tile, m, n, k, a, k, w, lo, hi, exp, n)
    P.gemm_f32_f32_f32_minmax_mt(tile, m, n, k, a, k, w, lo, hi, got, n, nt)
    assert_array_equal(got, exp)
    ref = np.zeros_like(exp)
    R.gemm_f32_f32_f32_minmax_mt(tile, m, n, k, a, k, w, lo, hi, ref, n, nt)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5 * np.abs(ref).max())
    # fp16 emulation: the threaded driver rounds in the epilogue, exactly numpy's fp16 cast
    P.gemm_f32_f32_f32_minmax_mt(tile, m, n, k, a, k, w, lo, hi, got, n, nt, True)
    assert_array_equal(got, exp.astype(np.float16).astype(np.float32))


# (batch, h, w, cin, cout, kh, kw, stride, dilation, pad, groups, tile, mb)
CONV = [(1, 9, 8, 3, 20, 3, 3, 2, 1, 1, 1, 0, 6), (2, 7, 7, 8, 40, 3, 3, 1, 2, 2, 1, 1, 14),
        (1, 10, 6, 12, 18, 3, 3, 1, 1, 1, 3, 0, 12), (1, 11, 9, 5, 40, 3, 3, 1, 1, 1, 1, 3, 14)]


@pytest.mark.parametrize("case", range(len(CONV)))
@pytest.mark.parametrize("nt", [2, 3])
def test_conv2d_f32_mt(threads, case, nt):
    batch, h, w, cin, cout, kh, kw, s, d, p, groups, tile, mb = CONV[case]
    rng = np.random.default_rng(case)
    cg, ng = cin // groups, cout // groups
    kdim = kh * kw * cg
    wp = np.concatenate([packed(rng, ng, kdim, tile) for _ in range(groups)])
    x = rng.standard_normal(batch * h * w * cin).astype(np.float32)
    oh, ow = (h + 2 * p - (kh - 1) * d - 1) // s + 1, (w + 2 * p - (kw - 1) * d - 1) // s + 1
    lo, hi = np.float32(-np.inf), np.float32(np.inf)
    args = (x, batch, h, w, cin, kh, kw, s, s, d, d, p, p, oh, ow, groups, cout, tile, wp, mb, lo, hi)
    exp = np.zeros(batch * oh * ow * cout, np.float32)
    got = np.zeros_like(exp)
    G.conv2d_f32_f32_f32_minmax(*args, np.zeros(mb * kdim, np.float32), exp)
    P.conv2d_f32_f32_f32_minmax_mt(*args, np.zeros(nt * mb * kdim, np.float32), nt, got)
    assert_array_equal(got, exp)
    ref = np.zeros_like(exp)
    R.conv2d_f32_f32_f32_minmax_mt(*args, np.zeros(nt * mb * kdim, np.float32), nt, ref)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5 * np.abs(ref).max())
    P.conv2d_f32_f32_f32_minmax_mt(*args, np.zeros(nt * mb * kdim, np.float32), nt, got, True)
    assert_array_equal(got, exp.astype(np.float16).astype(np.float32))


@pytest.mark.parametrize("tile,m,n,k", [(0, 1, 1, 7), (0, 1, 64, 33), (0, 1, 100, 5), (0, 1, 200, 64),
                                         (0, 1, 1000, 130), (0, 9, 300, 20), (1, 49, 200, 24), (2, 5, 33, 7),
                                         (3, 49, 70, 19)])
@pytest.mark.parametrize("nt", [2, 3])
def test_gemm_f32_cols_mt(threads, tile, m, n, k, nt):
    """The column split (chunks of whole weight panels) equals the serial GEMM, the
    one-row GEMV of the 6x64 packing included; columns and rows past n x m untouched."""
    rng = np.random.default_rng(m + n + k)
    w = packed(rng, n, k, tile)
    a = rng.standard_normal(m * k).astype(np.float32)
    lo, hi = np.float32(-2), np.float32(3)
    ldc = n + 3
    exp = np.full(m * ldc + 3, 7, np.float32)
    got = exp.copy()
    G.gemm_f32_f32_f32_minmax(tile, m, n, k, a, k, w, lo, hi, exp, ldc)
    P.gemm_f32_f32_f32_minmax_cols_mt(tile, m, n, k, a, k, w, lo, hi, got, ldc, nt)
    assert_array_equal(got, exp)
    ref = np.full_like(exp, 7)
    R.gemm_f32_f32_f32_minmax_cols_mt(tile, m, n, k, a, k, w, lo, hi, ref, ldc, nt)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5 * np.abs(ref).max())
    # fp16 emulation: the chunks round in the epilogue, exactly numpy's fp16 cast
    P.gemm_f32_f32_f32_minmax_cols_mt(tile, m, n, k, a, k, w, lo, hi, got, ldc, nt, True)
    valid = np.zeros_like(exp, bool)
    valid[:m * ldc].reshape(m, ldc)[:, :n] = True
    assert_array_equal(got[valid], exp[valid].astype(np.float16).astype(np.float32))
    assert (got[~valid] == 7).all()


# (batch, h, w, cin, cout, k, stride, pad, band budget in floats)
DIRECT = [(1, 37, 41, 3, 32, 3, 2, 0, 16384), (2, 9, 11, 2, 40, 3, 1, 1, 300), (1, 20, 20, 3, 16, 5, 2, 2, 1000)]


@pytest.mark.parametrize("case", range(len(DIRECT)))
@pytest.mark.parametrize("nt", [2, 3])
def test_conv2d_direct_mt(threads, case, nt):
    """The first-layer conv with its output rows in nt chunks (each with its own band
    scratch, several bands per chunk with the small budgets) equals the serial kernel."""
    from numba_infer.kernels import conv_direct as CD
    batch, h, w, cin, cout, k, s, p, floats = DIRECT[case]
    rng = np.random.default_rng(case)
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    kd = k * k * cin
    np_ = -(-cout // 32) * 32
    wp = np.zeros((kd + 1) * np_, np.float32)
    CD.pack_direct(rng.standard_normal((cout, kd)).astype(np.float32), rng.standard_normal(cout).astype(np.float32),
                   I(np_), wp)
    wq, band, nr = CD.pad_band(I(oh), I(ow), I(cin), I(k), I(k), I(s), I(s), I(1), I(1), I(floats))
    offs = np.zeros(kd, np.int64)
    CD.direct_offsets(wq, I(cin), I(k), I(k), I(1), I(1), offs)
    x = rng.standard_normal(batch * h * w * cin).astype(np.float32)
    geo = tuple(I(v) for v in (batch, h, w, cin, k, k, s, s, 1, 1, p, p, oh, ow, cout))
    lo, hi = np.float32(-1), np.float32(2)
    exp = np.zeros(batch * oh * ow * cout, np.float32)
    got = np.zeros_like(exp)
    CD.conv2d_direct_pad_f32_minmax(x, *geo, wp, I(np_), offs, band, lo, hi, np.zeros(nr * wq * cin, np.float32), exp)
    P.conv2d_direct_pad_f32_minmax_mt(x, *geo, wp, I(np_), offs, band, lo, hi,
                                      np.zeros(nt * nr * wq * cin, np.float32), nt, got)
    assert_array_equal(got, exp)
    ref = np.zeros_like(exp)
    R.conv2d_direct_pad_f32_minmax_mt(x, *geo, wp, np_, offs, band, lo, hi, np.zeros(nr * wq * cin, np.float32), nt,
                                      ref)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5 * np.abs(ref).max())
    P.conv2d_direct_pad_f32_minmax_mt(x, *geo, wp, I(np_), offs, band, lo, hi,
                                      np.zeros(nt * nr * wq * cin, np.float32), nt, got, True)
    assert_array_equal(got, exp.astype(np.float16).astype(np.float32))


# (batch, h, w, cin, cout, k, stride, pad, band budget in floats)
NARROW = [(1, 30, 28, 8, 8, 3, 1, 1, 100000), (2, 13, 11, 5, 3, 3, 2, 1, 300), (1, 9, 20, 16, 8, 5, 1, 2, 900)]


@pytest.mark.parametrize("case", range(len(NARROW)))
@pytest.mark.parametrize("nt", [2, 3])
def test_conv2d_n8_rows2_mt(threads, case, nt):
    """The cout <= 8 conv (two output rows per vector) with its row pairs in nt chunks,
    each with its own band scratch (several bands per chunk with the small budgets; odd
    oh: the last pair has no bottom row), equals the serial kernel; fp16 rounding too."""
    from numba_infer.kernels import gemm_n8 as N8
    from numba_infer.kernels.reference import gemm_n8 as RN8
    batch, h, w, cin, cout, k, s, p, floats = NARROW[case]
    rng = np.random.default_rng(case)
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    kd = k * k * cin
    wp = np.zeros((kd + 1) * 16, np.float32)
    N8.pack_n8(rng.standard_normal((cout, kd)).astype(np.float32), rng.standard_normal(cout).astype(np.float32), wp)
    hs, wq, band, nr = N8.rows2_band(I(oh), I(ow), I(cin), I(k), I(k), I(s), I(s), I(1), I(1), I(floats))
    offs = np.zeros(kd, np.int64)
    N8.rows2_offsets(I(cin), I(k), I(1), I(1), wq, offs)
    x = rng.standard_normal(batch * h * w * cin).astype(np.float32)
    geo = tuple(I(v) for v in (batch, h, w, cin, k, k, s, s, 1, 1, p, p, oh, ow, cout))
    lo, hi = np.float32(-1), np.float32(2)
    size = nr * wq * 2 * cin
    exp = np.zeros(batch * oh * ow * cout, np.float32)
    got = np.full(exp.size + 5, np.nan, np.float32)
    N8.conv2d_f32_n8_rows2_minmax(x, *geo, wp, offs, band, lo, hi, np.zeros(size, np.float32), exp)
    P.conv2d_f32_n8_rows2_minmax_mt(x, *geo, wp, offs, band, lo, hi, np.zeros(nt * size, np.float32), nt, got)
    assert_array_equal(got[:exp.size], exp)
    assert np.isnan(got[exp.size:]).all()
    ref = np.zeros_like(exp)
    roffs = np.zeros(kd, np.int64)
    RN8.rows2_offsets(cin, k, 1, 1, int(wq), roffs)
    R.conv2d_f32_n8_rows2_minmax_mt(x, *(int(v) for v in geo), wp, roffs, int(band), lo, hi, None, nt, ref)
    np.testing.assert_allclose(got[:exp.size], ref, rtol=0, atol=1e-5 * np.abs(ref).max())
    P.conv2d_f32_n8_rows2_minmax_mt(x, *geo, wp, offs, band, lo, hi, np.zeros(nt * size, np.float32), nt, got, True)
    assert_array_equal(got[:exp.size], exp.astype(np.float16).astype(np.float32))


@pytest.mark.parametrize("heads,nt", [(4, 2), (3, 2), (5, 3), (1, 2)])
def test_batch_matmul_strided_mt(threads, heads, nt):
    """Attention's strided batched matmuls with the heads in nt chunks: B read in place
    (nat) and B packed per chunk (its own scratch), optionally scaled; the serial bits."""
    rng = np.random.default_rng(heads * 10 + nt)
    m, n, k = 13, 32, 20
    a = rng.standard_normal(heads * m * k).astype(np.float32)
    b = rng.standard_normal(heads * k * n).astype(np.float32)
    a_off = np.arange(heads, dtype=np.int64) * m * k
    b_off = np.arange(heads, dtype=np.int64) * k * n
    c_off = np.arange(heads, dtype=np.int64) * n             # heads interleaved in each output row
    ldc = heads * n
    tile = G.choose_tile_nat(m, n)
    scale = np.float32(0.125)
    exp = np.zeros(heads * m * n, np.float32)
    got = np.zeros_like(exp)
    G.batch_matmul_f32_strided_nat(tile, m, n, k, a, a_off, k, b, b_off, n, exp, c_off, ldc, False, True, scale)
    P.batch_matmul_f32_strided_nat_mt(tile, m, n, k, a, a_off, k, b, b_off, n, got, c_off, ldc, nt, False, True,
                                      scale)
    assert_array_equal(got, exp)
    ref = np.zeros_like(exp)
    R.batch_matmul_f32_strided_nat_mt(tile, m, n, k, a, a_off, k, b, b_off, n, ref, c_off, ldc, nt, False, True,
                                      scale)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5 * np.abs(ref).max())
    # B as W (j, kk) at b[b_off + j * 1 + kk * n]: packed per batch into each chunk's scratch
    tile = G.choose_tile(m, n)
    psz = G.packed_size(n, k, G.TILES[tile][1])
    zero = np.zeros(n, np.float32)
    exp[:] = 0
    got[:] = 0
    G.batch_matmul_f32_strided_packed(tile, m, n, k, a, a_off, k, b, b_off, 1, n, zero, np.zeros(psz, np.float32),
                                      exp, c_off, ldc)
    P.batch_matmul_f32_strided_packed_mt(tile, m, n, k, a, a_off, k, b, b_off, 1, n, zero,
                                         np.zeros(nt * psz, np.float32), got, c_off, ldc, nt)
    assert_array_equal(got, exp)
    np.testing.assert_allclose(got, ref / scale, rtol=0, atol=1e-5 * np.abs(ref / scale).max())


@pytest.mark.parametrize("rows,nt", [(24, 2), (7, 3), (1, 2)])
def test_rows_mt_softmax(threads, rows, nt):
    """The row-chunk driver on the XNNPack and Eigen softmax kernels (extra argument beta)
    and Eigen's log-softmax: whole rows per chunk, the serial bits; XNNPack's in place too."""
    from numba_infer.kernels import softmax as SM
    rng = np.random.default_rng(rows)
    x = (rng.standard_normal((rows, 37)) * 5).astype(np.float32)
    # Eigen's packets of 4 run from the tensor's start: its chunks start at multiples of 4 / gcd(37, 4) = 4 rows
    for fn, args, mr in ((SM.softmax_f32_rows_xnn, (), 1), (SM.softmax_f32_rows_eigen, (np.float32(0.7),), 4),
                         (SM.log_softmax_f32_rows_eigen, (), 1)):
        exp = np.empty_like(x)
        fn(x, *args, exp)
        got = np.empty_like(x)
        drv = P.rows_mt_kernel(fn, f"test_{fn.py_func.__name__}")
        drv(args, x, got, nt, mr)
        assert_array_equal(got, exp)
        if fn is SM.softmax_f32_rows_xnn:                 # documented: out may alias x
            y = x.copy()
            drv(args, y, y, nt, mr)
            assert_array_equal(y, exp)
        total = np.exp(got).sum(axis=1) if fn is SM.log_softmax_f32_rows_eigen else got.sum(axis=1)
        np.testing.assert_allclose(total, 1.0, rtol=1e-5)


@pytest.mark.parametrize("nt", [2, 3])
def test_resize_bilinear_xnn_mt(threads, nt):
    from numba_infer.kernels import resize as RS
    from numba_infer.ops.resize import bilinear_coords_xnn
    x = np.random.default_rng(nt).standard_normal((2, 5, 6, 21)).astype(np.float32)
    ys, xs = bilinear_coords_xnn(5, 11, False, True), bilinear_coords_xnn(6, 9, False, True)
    exp = np.zeros((2, 11, 9, 21), np.float32)
    got = np.zeros_like(exp)
    RS.resize_bilinear_f32_xnn(x, *ys, *xs, exp, 0, 11, np.zeros(2 * 9 * 21, np.float32))
    P.resize_bilinear_f32_xnn_mt(x, *ys, *xs, got, nt, np.full(nt * 2 * 9 * 21, np.nan, np.float32))
    assert_array_equal(got, exp)
    ref = np.zeros_like(exp)
    R.resize_bilinear_f32_xnn_mt(x, *ys, *xs, ref, nt, None)
    assert_array_equal(got, ref)


@pytest.mark.parametrize("nt", [2, 3])
@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("c", [21, 16, 3, 40])
def test_resize_bilinear_q11_mt(threads, nt, dtype, c):
    """XNNPack's 8-bit bilinear resize, vectorized (masked tails: c = 21, 3, 40) and
    by row chunks: equal to the int64 NumPy twin, extreme codes included."""
    from numba_infer.kernels import resize as RS
    from numba_infer.kernels.reference import resize as RR
    from numba_infer.ops.resize import bilinear_coords_q11
    ii = np.iinfo(dtype)
    x = np.random.default_rng(nt + c).integers(ii.min, ii.max + 1, (2, 5, 6, c)).astype(dtype)
    x[0, 0, :3] = ii.min
    x[0, 1, :3] = ii.max
    for (oh, ow), (align, half) in itertools.product([(11, 9), (3, 4)], [(False, True), (True, False), (False, False)]):
        ys, xs = bilinear_coords_q11(5, oh, align, half), bilinear_coords_q11(6, ow, align, half)
        tb = np.full(3 * 2 * ow * c, -12345, np.int32)           # stale scratch must not matter
        ref = np.zeros((2, oh, ow, c), dtype)
        RR.resize_bilinear_q11(x, *ys, *xs, ref)
        exp = np.zeros((2, oh, ow, c), dtype)
        RS.resize_bilinear_q11(x, *ys, *xs, exp, 0, oh, tb[:2 * ow * c])
        assert_array_equal(exp, ref)
        got = np.zeros_like(exp)
        P.resize_bilinear_q11_mt(x, *ys, *xs, got, nt, tb[:nt * 2 * ow * c])
        assert_array_equal(got, exp)
        part = np.full_like(exp, 7)
        RS.resize_bilinear_q11(x, *ys, *xs, part, 1, 3, tb[:2 * ow * c])          # rows 1, 2 only
        assert_array_equal(part[:, 1:3], exp[:, 1:3])
        assert (part[:, :1] == 7).all() and (part[:, 3:] == 7).all()


# (batch, h, w, c, k, stride, dilation, pad)
DW = [(2, 9, 10, 24, 3, 1, 1, 1), (1, 5, 5, 70, 5, 2, 1, 2), (1, 3, 4, 40, 3, 1, 2, 2)]


@pytest.mark.parametrize("case", range(len(DW)))
@pytest.mark.parametrize("nt,csplit", [(2, False), (2, True), (3, True)])
def test_dwconv_mt(threads, case, nt, csplit):
    batch, h, w, c, k, s, d, p = DW[case]
    rng = np.random.default_rng(case)
    oh, ow = (h + 2 * p - (k - 1) * d - 1) // s + 1, (w + 2 * p - (k - 1) * d - 1) // s + 1
    geo = (I(s), I(s), I(d), I(d), I(p), I(p))
    # fp32
    x = rng.standard_normal((batch, h, w, c)).astype(np.float32)
    wf = rng.standard_normal((k, k, c)).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32)
    lo, hi = np.float32(-1), np.float32(2)
    exp = np.zeros((batch, oh, ow, c), np.float32)
    got = np.zeros_like(exp)
    D.dwconv_f32_f32_f32_minmax(x, wf, b, *geo, lo, hi, exp)
    P.dwconv_f32_f32_f32_minmax_mt(x, wf, b, *geo, lo, hi, nt, csplit, got)
    assert_array_equal(got, exp)
    ref = np.zeros_like(exp)
    R.dwconv_f32_f32_f32_minmax_mt(x, wf, b, *geo, lo, hi, nt, csplit, ref)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5 * np.abs(ref).max())


@pytest.mark.skipif(not isa.VNNI, reason="needs AVX512-VNNI")
@pytest.mark.parametrize("direct", [False, True])
@pytest.mark.parametrize("nt", [2, 3])
def test_conv2d_int8_vnni_mt(threads, direct, nt):
    from numba_infer.kernels import parallel_vnni as PV, qgemm_vnni as QV, qs8_vnni as SV
    rng = np.random.default_rng(nt + direct)
    batch, h, w, cin, cout = 2, 7, 6, 8, 70
    kh = kw = 1 if direct else 3
    p = 0 if direct else 1
    oh, ow, taps = h, w, kh * kw
    tile = 1
    m = batch * oh * ow
    nimg = batch * h * w * cin
    wq, kc4, npad = Q.pack_igemm_weights(rng.integers(-127, 128, (1, cout, taps, cin)).astype(np.int8), tile)
    zoff, zlen = nimg + 4, cin + 4
    xq = np.zeros(zoff + batch * zlen, np.uint8)
    xq[:nimg] = rng.integers(0, 256, nimg)
    ind = np.zeros(taps * m, np.int32)
    Q.conv_indirection(batch, h, w, cin, kh, kw, 1, 1, 1, 1, p, p, oh, ow, zoff, zlen, ind)
    istr = 0 if direct else m
    mc = 12
    geo = (tile, m, 1, cin, cout, taps, kc4, xq, ind, istr, cin)
    # QD8-F32: per-image uint8 activations
    sc = rng.uniform(0.01, 0.1, batch).astype(np.float32)
    zpu = rng.integers(100, 156, batch).astype(np.int32)
    Q.fill_rows_u8(xq, zoff, zlen, batch, zlen, zpu)
    nks = rng.integers(-3000, 3000, npad).astype(np.int32)
    wsc = rng.uniform(1e-3, 1e-2, npad).astype(np.float32)
    bs = rng.standard_normal(npad).astype(np.float32)
    lo, hi = np.float32(-5), np.float32(5)
    for tfl in (False, True):
        exp = np.zeros(m * cout, np.float32)
        got = np.zeros_like(exp)
        QV.conv2d_qdu8_qc8w_f32_vnni(tile, 0, m, 1, cin, cout, taps, kc4, xq, ind, istr, cin, sc, zpu, oh * ow, wq, nks,
                                     wsc, bs, tfl, lo, hi, exp, cout, mc, np.zeros(mc, np.float32),
                                     np.zeros(mc, np.int32))
        PV.conv2d_qdu8_qc8w_f32_vnni_mt(*geo, sc, zpu, oh * ow, wq, nks, wsc, bs, tfl, lo, hi, got, cout, mc,
                                        np.zeros(nt * mc, np.float32), np.zeros(nt * mc, np.int32), nt)
        assert_array_equal(got, exp)
        ref = np.zeros_like(exp)
        R.conv2d_qdu8_qc8w_f32_vnni_mt(*geo, sc, zpu, oh * ow, wq, nks, wsc, bs, tfl, lo, hi, ref, cout, mc, None,
                                       None, nt)
        # the twin emulates XNNPack's fma with a double rounding (kernels/reference/qgemm.py)
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-6 * np.abs(ref).max())
    # QS8: requantization fused into the tiles
    Q.fill_rows_u8(xq, zoff, zlen, batch, zlen, np.full(batch, 130))
    init = rng.integers(-5000, 5000, npad).astype(np.int32)
    mult = rng.integers(1 << 30, (1 << 31) - 1, npad).astype(np.int32)
    q = (init, mult, np.zeros(npad, np.int32), rng.integers(8, 14, npad).astype(np.int32),
         rng.uniform(1e-4, 1e-3, npad).astype(np.float32), cout // 2, False, 4, -128, 127)
    exp8 = np.zeros(m * cout, np.int8)
    got8 = np.zeros_like(exp8)
    SV.conv2d_u8_i8_q8_vnni(tile, 0, m, 1, cin, cout, taps, kc4, xq, ind, istr, cin, wq, *q, exp8, cout, mc)
    PV.conv2d_u8_i8_q8_vnni_mt(*geo, wq, *q, got8, cout, mc, nt)
    assert_array_equal(got8, exp8)
    ref8 = np.zeros_like(exp8)
    R.conv2d_u8_i8_q8_vnni_mt(*geo, wq, *q, ref8, cout, mc, nt)
    assert_array_equal(got8, ref8)


@pytest.mark.skipif(not isa.VNNI, reason="needs AVX512-VNNI")
@pytest.mark.parametrize("qmode", [0, 1, 2])
def test_gemm_qd8_rows_vnni_mt(threads, qmode):
    from numba_infer.kernels import dynquant, parallel_vnni as PV, qgemm_vnni as QV
    rng = np.random.default_rng(qmode)
    m, k, n, tile, nr = 45, 37, 70, 1, 64
    kp = (k + 3) // 4 * 4
    npad = -(-n // nr) * nr
    wq8 = np.zeros(npad * kp, np.int8)
    Q.pack_qc8w_vnni(rng.integers(-127, 128, n * k).astype(np.int8), 0, k, 1, n, k, nr, wq8)
    wq = wq8.view(np.int32)
    nks = rng.integers(-3000, 3000, npad).astype(np.int32)
    wsc = rng.uniform(1e-3, 1e-2, npad).astype(np.float32)
    bs = rng.standard_normal(npad).astype(np.float32)
    x = (rng.standard_normal((m, k)) * rng.uniform(0.1, 10, (m, 1))).astype(np.float32)
    lo, hi = np.float32(-np.inf), np.float32(np.inf)
    quant = (dynquant.dynquant_f32_qd8_xnn, dynquant.dynquant_f32_qd8_tflite, dynquant.dynquant_f32_qs8_tflite_sym)
    tfl = qmode > 0
    q1 = np.zeros(m * kp // 4, np.int32)
    sa1, za1 = np.zeros(m, np.float32), np.zeros(m, np.int32)
    quant[qmode](x, 128, q1.view(np.uint8).reshape(m, kp), sa1, za1)
    exp = np.zeros(m * n, np.float32)
    QV.gemm_qdu8_qc8w_f32_vnni(tile, m, n, kp, q1, kp // 4, sa1, za1, wq, nks, wsc, bs, tfl, lo, hi, exp, n)
    for nt in (2, 3):
        q2 = np.zeros(m * kp, np.uint8)
        sa2, za2 = np.zeros(m, np.float32), np.zeros(m, np.int32)
        got = np.zeros(m * n, np.float32)
        PV.gemm_qd8_rows_f32_vnni_mt(qmode, x, q2.reshape(m, kp), sa2, za2, tile, n, kp, wq, nks, wsc, bs, tfl, lo, hi,
                                     got, n, nt)
        assert_array_equal(got, exp)
        assert_array_equal(sa2, sa1)
        assert_array_equal(za2, za1)


@pytest.mark.parametrize("tflite", [False, True])
@pytest.mark.parametrize("k", [1, 7, 45, 1000])
@pytest.mark.parametrize("nt", [2, 3])
@pytest.mark.parametrize("rows", [5, 1, 2])
def test_dynquant_mt(threads, tflite, k, nt, rows):
    """Whole rows per chunk (rows >= nt: a batch of images) or each row cut into nt
    chunks (fewer rows): the serial quantizer's bits either way."""
    from numba_infer.kernels import dynquant
    rng = np.random.default_rng(k + nt)
    x = (rng.standard_normal((5, k)) * rng.uniform(0.01, 100, (5, 1)) + rng.uniform(-1, 1, (5, 1))).astype(np.float32)
    x[1] = 0                                    # flat row
    x[2] = np.abs(x[2])                         # min 0
    x[3, :k // 2] = 0.5 * np.float32(1e-20)     # tiny values: rounding ties of x * inv
    x = np.ascontiguousarray(x[[3, 1, 0, 2, 4][:rows]])
    serial = dynquant.dynquant_f32_qd8_tflite if tflite else dynquant.dynquant_f32_qd8_xnn
    qe, se, ze = np.zeros((rows, k + 3), np.uint8), np.zeros(rows, np.float32), np.zeros(rows, np.int32)
    serial(x, 128, qe, se, ze)
    qg, sg, zg = np.zeros_like(qe), np.zeros_like(se), np.zeros_like(ze)
    P.dynquant_f32_qd8_mt(tflite, x, qg, sg, zg, nt, np.zeros((nt + 1, 2), np.float32), np.zeros((1, 2), np.uint8))
    assert_array_equal(qg, qe)
    assert_array_equal(sg, se)
    assert_array_equal(zg, ze)


@pytest.mark.parametrize("s1,s2", [((1, 112, 35), (1, 112, 35)), ((3, 5), (5,)), ((1,), (7,)), ((2, 3, 4), (2, 1, 4)),
                                   ((4, 1, 6), (1, 5, 1)), ((200,), (200,)), ((1,), (1,))])
@pytest.mark.parametrize("nt", [2, 3, 5])
def test_binary_mt_split_bcast(s1, s2, nt):
    """split_bcast + the binary driver: every chunk layout (outer dim, single long row in
    64-element blocks, more chunks than rows) gives the serial kernel's bits."""
    from numba_infer.kernels import elementwise as KE
    from numba_infer.ops.elementwise import bcast_layout

    class _Fail:
        def fail(self, msg, cls=Exception):
            raise cls(msg)
    rng = np.random.default_rng(nt)
    osh = np.broadcast_shapes(s1, s2)
    shape, (sa, sb) = bcast_layout(_Fail(), osh, [s1, s2])
    a = rng.standard_normal(int(np.prod(s1))).astype(np.float32)
    b = rng.standard_normal(int(np.prod(s2))).astype(np.float32)
    fn = KE.binary_f32_kernel(KE.SUB)
    want, got = np.empty(int(np.prod(osh)), np.float32), np.full(int(np.prod(osh)), np.nan, np.float32)
    lo, hi = np.float32(-1.5), np.float32(np.inf)
    fn(a, b, shape, sa, sb, lo, hi, want)
    shapes, offs = P.split_bcast(shape, sa, sb, nt)
    assert offs[:, 3].sum() == want.size
    P.binary_mt_kernel(fn, "binary_f32_test_sub")(a, b, shapes, offs, sa, sb, lo, hi, got)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("n", [0, 1, 63, 64, 129, 1000])
@pytest.mark.parametrize("nt", [2, 3])
def test_unary_mt(n, nt):
    from numba_infer.kernels import elementwise as KE
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    want, got = np.empty(n, np.float32), np.full(n, np.nan, np.float32)
    KE.unary_f32(KE.ABS, x, want)
    P.unary_mt_kernel(KE.unary_f32, "elementwise_unary_f32")((KE.ABS,), x, got, nt)
    np.testing.assert_array_equal(got, want)
