"""kernels/gemm.py vs its NumPy twin (kernels/reference/gemm.py).

Tolerance: the kernels accumulate K fp32 products with FMAs in k order (the
GEMV in two interleaved halves); the twin sums in float64.  The fp32 rounding
error of such a sum is bounded by ~K*eps*sum|a*w| and is typically
sqrt(K)*eps*|...|, so we allow 4*eps*sqrt(K+1) * (|A| @ |W|^T + |bias|)
elementwise (plus a denormal floor).  Packing and im2col move data: exact.
"""
import numpy as np
import pytest

from numba_infer.kernels import gemm as G
from numba_infer.kernels.reference import gemm as R

EPS = np.finfo(np.float32).eps


def check_close(got, ref, scale, k):
    tol = 4 * EPS * np.sqrt(k + 1) * scale + 1e-30
    err = np.abs(got.astype(np.float64) - ref.astype(np.float64))
    assert np.all(err <= tol), f"max err {err.max()} (tol at worst {tol.reshape(-1)[np.argmax(err)]})"


def packed(W, bias, nr):
    n, k = W.shape
    wp = np.zeros(G.packed_size(n, k, nr), np.float32)
    G.pack_gemm_f32(np.ascontiguousarray(W).reshape(-1), 0, k, 1, n, k, bias, nr, wp)
    return wp


@pytest.mark.parametrize("nr", [32, 64])
@pytest.mark.parametrize("n,k", [(1, 1), (5, 3), (64, 7), (65, 2), (100, 0)])
@pytest.mark.parametrize("transposed", [False, True])
def test_pack_gemm_f32(rng, nr, n, k, transposed):
    W = rng.standard_normal((n, k)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    src = np.ascontiguousarray(W.T if transposed else W).reshape(-1)
    src = np.concatenate([np.zeros(3, np.float32), src])        # w_off = 3
    sn, sk = (1, n) if transposed else (k, 1)
    got = np.full(G.packed_size(n, k, nr), 9, np.float32)
    ref = np.full_like(got, 9)
    G.pack_gemm_f32(src, 3, sn, sk, n, k, bias, nr, got)
    R.pack_gemm_f32(src, 3, sn, sk, n, k, bias, nr, ref)
    np.testing.assert_array_equal(got, ref)
    # the layout contract itself: bias first, then k rows of nr
    assert got[0] == bias[0] and (k == 0 or got[nr] == W[0, 0])


def _gemm_case(rng, tile, m, n, k, lda_pad=0, ldc_pad=0):
    nr = G.TILES[tile][1]
    lda, ldc = k + lda_pad, n + ldc_pad
    A = rng.standard_normal((m, lda)).astype(np.float32)
    W = rng.standard_normal((n, k)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    wp = packed(W, bias, nr)
    lo, hi = np.float32(-2.5), np.float32(3.0)
    got = np.full(m * ldc, 7, np.float32)
    ref = got.copy()
    G.gemm_f32_f32_f32_minmax(tile, m, n, k, A.reshape(-1), lda, wp, lo, hi, got, ldc)
    R.gemm_f32_f32_f32_minmax(tile, m, n, k, A.reshape(-1), lda, wp, lo, hi, ref, ldc)
    scale = np.abs(A[:, :k]).astype(np.float64) @ np.abs(W.T) + np.abs(bias)
    g, r = got.reshape(m, ldc), ref.reshape(m, ldc)
    check_close(g[:, :n], r[:, :n], scale, k)
    assert np.all(g[:, n:] == 7), "wrote outside the m x n block"


EDGE = {G.TILE_6x64: ([1, 5, 6, 7, 19], [1, 15, 17, 63, 64, 65, 131]),
        G.TILE_14x32: ([1, 13, 14, 15, 43], [1, 16, 31, 32, 33, 67]),
        G.TILE_28x16: ([1, 27, 28, 29, 85], [1, 15, 16, 17, 33]),
        G.TILE_7x32: ([1, 6, 7, 8, 49, 50], [1, 16, 31, 32, 33, 67])}
ALL_TILES = sorted(G.TILES)


@pytest.mark.parametrize("tile", ALL_TILES)
@pytest.mark.parametrize("k", [1, 8, 37])
def test_gemm_edges(rng, tile, k):
    ms, ns = EDGE[tile]
    for m in ms:
        for n in ns:
            _gemm_case(rng, tile, m, n, k)


@pytest.mark.parametrize("tile", ALL_TILES)
@pytest.mark.parametrize("m,n,k", [(7, 70, 513), (200, 33, 1030), (2, 3, 0)])
def test_gemm_k_blocks_and_m_blocks(rng, tile, m, n, k):
    # k > KC (several K blocks: partial sums through C), m > MC, k == 0 (bias only)
    _gemm_case(rng, tile, m, n, k)


@pytest.mark.parametrize("tile", ALL_TILES)
def test_gemm_strided_views(rng, tile):
    _gemm_case(rng, tile, 9, 40, 21, lda_pad=5, ldc_pad=3)


@pytest.mark.parametrize("n,k", [(1, 1), (64, 2), (100, 37), (1000, 1280), (65, 1)])
def test_gemv(rng, n, k):
    a = rng.standard_normal(k).astype(np.float32)
    W = rng.standard_normal((n, k)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    wp = packed(W, bias, 64)
    got, ref = np.full(n + 5, 7, np.float32), np.full(n + 5, 7, np.float32)
    lo, hi = np.float32(-np.inf), np.float32(1.0)
    G.gemv_f32_f32_f32_minmax(n, k, a, wp, lo, hi, got)
    R.gemv_f32_f32_f32_minmax(n, k, a, wp, lo, hi, ref)
    check_close(got[:n], ref[:n], np.abs(W) @ np.abs(a).astype(np.float64) + np.abs(bias), k)
    assert np.all(got[n:] == 7)


def test_transpose_batched(rng):
    x = rng.standard_normal(2 * 3 * 5).astype(np.float32)
    got, ref = np.empty_like(x), np.empty_like(x)
    G.transpose_f32_batched(x, 2, 3, 5, got)
    R.transpose_f32_batched(x, 2, 3, 5, ref)
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("tile", ALL_TILES)
def test_batch_matmul(rng, tile):
    m, n, k, na, nw = 3, 20, 9, 2, 3
    nr = G.TILES[tile][1]
    a = rng.standard_normal(na * m * k).astype(np.float32)
    y = rng.standard_normal(nw * k * n).astype(np.float32)       # [nw, k, n]
    wp = np.zeros(nw * G.packed_size(n, k, nr), np.float32)
    wr = wp.copy()
    zero = np.zeros(n, np.float32)
    G.pack_gemm_f32_batched(y, nw, 1, n, n, k, zero, nr, wp)
    R.pack_gemm_f32_batched(y, nw, 1, n, n, k, zero, nr, wr)
    np.testing.assert_array_equal(wp, wr)
    a_idx, w_idx = np.array([0, 1, 0, 1, 0, 1]), np.array([0, 0, 1, 1, 2, 2])
    got, ref = np.empty(6 * m * n, np.float32), np.empty(6 * m * n, np.float32)
    G.batch_matmul_f32_f32_f32(tile, m, n, k, a, a_idx, wp, w_idx, got)
    R.batch_matmul_f32_f32_f32(tile, m, n, k, a, a_idx, wp, w_idx, ref)
    A, Y = a.reshape(na, m, k), y.reshape(nw, k, n)
    scale = np.stack([np.abs(A[i]).astype(np.float64) @ np.abs(Y[j]) for i, j in zip(a_idx, w_idx)])
    check_close(got, ref, scale.reshape(-1), k)


GEOMS = [  # h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, groups, cout
    (5, 7, 3, 3, 3, 1, 1, 1, 1, 1, 1, 5, 7, 1, 4),
    (9, 8, 4, 3, 3, 2, 2, 1, 1, 0, 0, 4, 3, 1, 33),
    (7, 7, 2, 5, 5, 1, 2, 2, 1, 4, 2, 7, 4, 1, 8),
    (6, 6, 6, 1, 1, 2, 2, 1, 1, 0, 0, 3, 3, 2, 70),
]


@pytest.mark.parametrize("tile", ALL_TILES)
@pytest.mark.parametrize("m,n,k", [(1, 64, 1), (7, 64, 33), (14, 128, 0), (29, 64, 520), (6, 192, 16)])
def test_batch_matmul_nat(rng, tile, m, n, k):
    """B read in place ([*, k, n], no packing): bit-identical to the packed
    path with zero bias (the XNNPack order), and close to the twin."""
    nr = G.TILES[tile][1]
    na, nw = 2, 3
    a = rng.standard_normal(na * m * k).astype(np.float32)
    y = rng.standard_normal(nw * k * n).astype(np.float32)
    wp = np.zeros(nw * G.packed_size(n, k, nr), np.float32)
    G.pack_gemm_f32_batched(y, nw, 1, n, n, k, np.zeros(n, np.float32), nr, wp)
    a_idx, w_idx = np.array([0, 1, 0, 1, 0, 1]), np.array([0, 0, 1, 1, 2, 2])
    got, exp, ref = (np.full(6 * m * n, 7, np.float32) for _ in range(3))
    G.batch_matmul_f32_f32_f32_nat(tile, m, n, k, a, a_idx, y, w_idx, got)
    G.batch_matmul_f32_f32_f32(tile, m, n, k, a, a_idx, wp, w_idx, exp)
    R.batch_matmul_f32_f32_f32_nat(tile, m, n, k, a, a_idx, y, w_idx, ref)
    np.testing.assert_array_equal(got.view(np.int32), exp.view(np.int32))
    A, Y = a.reshape(na, m, k), y.reshape(nw, k, n)
    scale = np.stack([np.abs(A[i]).astype(np.float64) @ np.abs(Y[j]) for i, j in zip(a_idx, w_idx)])
    check_close(got, ref, scale.reshape(-1), k)
    got2 = np.empty_like(got)
    G.batch_matmul_f32_f32_f32_nat(tile, m, n, k, a, a_idx, y, w_idx, got2, True)     # fp16 rounding
    ref2 = np.empty_like(got)
    G.batch_matmul_f32_f32_f32(tile, m, n, k, a, a_idx, wp, w_idx, ref2, True)
    np.testing.assert_array_equal(got2.view(np.int32), ref2.view(np.int32))


def test_choose_tile_nat():
    assert G.choose_tile_nat(64, 40) is None
    assert G.TILES[G.choose_tile_nat(64, 64)] == (6, 64)
    assert G.TILES[G.choose_tile_nat(64, 32)][1] in (16, 32)
    assert G.TILES[G.choose_tile_nat(5, 48)] == (28, 16)


def test_choose_tile():
    assert G.TILES[G.choose_tile(49, 1280)] == (7, 32)       # a 7x7 map: 7 tiles of 7 rows, no padding
    assert G.TILES[G.choose_tile(196, 160)] == (14, 32)      # 14 tiles of 14 rows
    assert G.TILES[G.choose_tile(3136, 144)] == (28, 16)
    assert G.TILES[G.choose_tile(1024, 1024)] == (6, 64)



@pytest.mark.parametrize("geom", GEOMS)
def test_im2col_and_conv(rng, geom):
    h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, groups, cout = geom
    batch = 2
    x = rng.standard_normal(batch * h * w * cin).astype(np.float32)
    cg, ng = cin // groups, cout // groups
    kdim = kh * kw * cg
    M = batch * oh * ow
    got, ref = np.full(5 * kdim, 7, np.float32), np.full(5 * kdim, 7, np.float32)
    G.im2col_f32(x, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cin - cg, cg, M - 5, 5, got)   # last rows, last group
    R.im2col_f32(x, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cin - cg, cg, M - 5, 5, ref)
    np.testing.assert_array_equal(got, ref)
    for tile in ALL_TILES:
        mr, nr = G.TILES[tile]
        Wf = rng.standard_normal((groups, ng, kdim)).astype(np.float32)
        bias = rng.standard_normal(cout).astype(np.float32)
        wp = np.concatenate([packed(Wf[g], bias[g * ng:(g + 1) * ng], nr) for g in range(groups)])
        mb = 2 * mr                      # several im2col blocks, the last one partial
        ws = np.empty(mb * kdim, np.float32)
        lo, hi = np.float32(-1.0), np.float32(np.inf)
        got, ref = np.empty(M * cout, np.float32), np.empty(M * cout, np.float32)
        args = (batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, groups, cout, tile, wp, mb, lo, hi, ws)
        G.conv2d_f32_f32_f32_minmax(x, *args, got)
        R.conv2d_f32_f32_f32_minmax(x, *args, ref)
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=4 * EPS * np.sqrt(kdim) * np.abs(ref).max() * 4)


def _as_fp16(v):
    return v.astype(np.float16).astype(np.float32)


@pytest.mark.parametrize("tile", ALL_TILES)
@pytest.mark.parametrize("m,n,k", [(1, 37, 19), (31, 70, 530)])
def test_gemm_rounds_fp16_in_epilogue(rng, tile, m, n, k):
    # rnd=True must give exactly the fp16 rounding (numpy's float16 cast: RNE, overflow to
    # inf) of the rnd=False result: same accumulation, one rounding after the clamp.  Large
    # weights make some outputs overflow fp16 (|x| > 65504 -> inf); m == 1 takes the GEMV.
    nr = G.TILES[tile][1]
    A = rng.standard_normal((m, k)).astype(np.float32) * 40
    W = rng.standard_normal((n, k)).astype(np.float32) * 40
    wp = packed(W, rng.standard_normal(n).astype(np.float32), nr)
    lo, hi = np.float32(-1e5), np.float32(np.inf)
    plain, rounded = np.empty(m * n, np.float32), np.empty(m * n, np.float32)
    G.gemm_f32_f32_f32_minmax(tile, m, n, k, A.reshape(-1), k, wp, lo, hi, plain, n, False)
    G.gemm_f32_f32_f32_minmax(tile, m, n, k, A.reshape(-1), k, wp, lo, hi, rounded, n, True)
    np.testing.assert_array_equal(rounded, _as_fp16(plain))
    assert k < 100 or np.isinf(rounded).any() and np.isfinite(plain).all()


def test_conv_and_bmm_round_fp16(rng):
    h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, groups, cout = GEOMS[1]
    x = rng.standard_normal(h * w * cin).astype(np.float32)
    kdim = kh * kw * cin
    for tile in ALL_TILES:
        mr, nr = G.TILES[tile]
        wp = packed(rng.standard_normal((cout, kdim)).astype(np.float32), np.zeros(cout, np.float32), nr)
        ws = np.empty(2 * mr * kdim, np.float32)
        outs = []
        for rnd in (False, True):
            out = np.empty(oh * ow * cout, np.float32)
            G.conv2d_f32_f32_f32_minmax(x, 1, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, groups, cout, tile,
                                        wp, 2 * mr, np.float32(-np.inf), np.float32(np.inf), ws, out, rnd)
            outs.append(out)
        np.testing.assert_array_equal(outs[1], _as_fp16(outs[0]))
        a_idx = np.zeros(2, np.int64)
        outs = []
        for rnd in (False, True):
            out = np.empty(2 * 5 * cout, np.float32)
            G.batch_matmul_f32_f32_f32(tile, 5, cout, kdim, x[:5 * kdim], a_idx, wp, a_idx, out, rnd)
            outs.append(out)
        np.testing.assert_array_equal(outs[1], _as_fp16(outs[0]))


def test_simd_primitives():
    # the intrinsics under the kernels: masked partial load/store, fma, clamp, reduction
    import numba

    from numba_infer.kernels.simd import vbroadcast, vfma, vload, vload_n, vmax, vmin, vreduce_add, vsplat, vstore_n

    @numba.njit
    def f(a, n, out):
        v = vfma(vload(a, 0), vsplat(2.0), vbroadcast(a, 1))
        vstore_n(out, 0, vmin(vsplat(4.0), vmax(vsplat(-4.0), v)), n)
        return vreduce_add(vload_n(a, 16, n))

    a = np.arange(32, dtype=np.float32) - 8
    for n in (0, 3, 16, 40):
        out = np.full(20, 99, np.float32)
        s = f(a, n, out)
        k = min(max(n, 0), 16)
        assert s == a[16:16 + k].sum()
        np.testing.assert_array_equal(out[:k], np.clip(a[:k] * 2 + a[1], -4, 4))
        assert np.all(out[k:] == 99)


@pytest.mark.parametrize("tile", ALL_TILES)
@pytest.mark.parametrize("s,h,d,t", [(64, 4, 32, 64), (7, 3, 16, 5), (1, 2, 32, 1), (13, 2, 64, 17)])
def test_batch_matmul_strided_attention(rng, tile, s, h, d, t):
    """Attention through its head transposes, read and written in place:
    scores_h = Q[:, h, :] @ K[:, h, :]^T (packed W rows straight from K) and
    out[:, h, :] = P_h @ V[:, h, :] (B read in place, rows H*D apart), both
    bit-identical to the unstrided kernels on transposed copies (what the
    unfused TRANSPOSE + BATCH_MATMUL ops compute), and close to the twins."""
    nr = G.TILES[tile][1]
    q = rng.standard_normal(s * h * d).astype(np.float32)        # [s, h, d]
    kx = rng.standard_normal(t * h * d).astype(np.float32)       # [t, h, d]
    off = np.arange(h, dtype=np.int64) * d
    # scores [h, s, t] (contiguous) from strided Q and K
    got = np.full(h * s * t + 3, 7, np.float32)
    ref = got.copy()
    wp = np.zeros(G.packed_size(t, d, nr), np.float32)
    zero = np.zeros(t, np.float32)
    c_off = np.arange(h, dtype=np.int64) * s * t
    G.batch_matmul_f32_strided_packed(tile, s, t, d, q, off, h * d, kx, off, h * d, 1, zero, wp, got, c_off, t)
    R.batch_matmul_f32_strided_packed(tile, s, t, d, q, off, h * d, kx, off, h * d, 1, zero, wp, ref, c_off, t)
    Q = q.reshape(s, h, d).transpose(1, 0, 2).copy().reshape(-1)
    K = kx.reshape(t, h, d).transpose(1, 2, 0).copy().reshape(-1)  # [h, d, t]
    exp = np.full_like(got, 7)
    wpk = np.zeros(h * G.packed_size(t, d, nr), np.float32)
    G.pack_gemm_f32_batched(K, h, 1, t, t, d, zero, nr, wpk)
    idx = np.arange(h)
    G.batch_matmul_f32_f32_f32(tile, s, t, d, Q, idx, wpk, idx, exp)
    np.testing.assert_array_equal(got.view(np.int32), exp.view(np.int32))
    scale = np.abs(Q.reshape(h, s, d)).astype(np.float64) @ np.abs(K.reshape(h, d, t))
    check_close(got[:-3], ref[:-3], scale.reshape(-1), d)
    assert np.all(got[-3:] == 7)
    # a following MUL by a constant folded in: the same IEEE products as the MUL op
    c = np.float32(0.17677669)
    sc_got = np.full_like(got, 7)
    G.batch_matmul_f32_strided_packed(tile, s, t, d, q, off, h * d, kx, off, h * d, 1, zero, wp, sc_got, c_off, t,
                                      False, True, c)
    np.testing.assert_array_equal(sc_got[:-3].view(np.int32), (got[:-3] * c).view(np.int32))
    assert np.all(sc_got[-3:] == 7)
    # out[s, h, d] (head merge) = P_h [s, t] @ V[:, h, :] ([t, d] rows h*d apart), when d fits the tile
    if d % nr:
        return
    p = rng.standard_normal(h * s * t).astype(np.float32)
    v = rng.standard_normal(t * h * d).astype(np.float32)
    o = np.full(s * h * d + 3, 7, np.float32)
    o_ref = o.copy()
    p_off = np.arange(h, dtype=np.int64) * s * t
    G.batch_matmul_f32_strided_nat(tile, s, d, t, p, p_off, t, v, off, h * d, o, off, h * d)
    R.batch_matmul_f32_strided_nat(tile, s, d, t, p, p_off, t, v, off, h * d, o_ref, off, h * d)
    V = v.reshape(t, h, d).transpose(1, 0, 2).copy().reshape(-1)
    o2 = np.empty(h * s * d, np.float32)
    G.batch_matmul_f32_f32_f32_nat(tile, s, d, t, p, idx, V, idx, o2)
    exp2 = o2.reshape(h, s, d).transpose(1, 0, 2).reshape(-1)
    np.testing.assert_array_equal(o[:-3].view(np.int32), exp2.view(np.int32))
    scale = np.abs(p.reshape(h, s, t)).astype(np.float64) @ np.abs(V.reshape(h, t, d))
    check_close(o[:-3], o_ref[:-3], scale.transpose(1, 0, 2).reshape(-1), t)
    assert np.all(o[-3:] == 7)
    o5 = np.full_like(o, 7)
    G.batch_matmul_f32_strided_nat(tile, s, d, t, p, p_off, t, v, off, h * d, o5, off, h * d, False, True, c)
    np.testing.assert_array_equal(o5[:-3].view(np.int32), (o[:-3] * c).view(np.int32))
    assert np.all(o5[-3:] == 7)
    o3, o4 = np.empty_like(o), np.empty(h * s * d, np.float32)           # fp16 rounding in the epilogue
    G.batch_matmul_f32_strided_nat(tile, s, d, t, p, p_off, t, v, off, h * d, o3, off, h * d, True)
    G.batch_matmul_f32_f32_f32_nat(tile, s, d, t, p, idx, V, idx, o4, True)
    np.testing.assert_array_equal(o3[:-3].view(np.int32), o4.reshape(h, s, d).transpose(1, 0, 2).reshape(-1).view(np.int32))
