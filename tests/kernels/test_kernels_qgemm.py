"""Int8 (QD8-F32 x QC8W) kernels vs their NumPy twins (kernels/reference/qgemm.py).

Everything here is exact: quantizers (integer outputs, float32 scale bits),
packing, and the GEMMs -- the int32 accumulator is exact and the float
epilogue is the same sequence of float32 operations on both sides (the twin
emulates the fma in float64: exact product, one add, one rounding; this can
differ from a true fma in ~2^-29 of cases, never observed here), so outputs
are compared with assert_array_equal.  The generic path is tested in-process;
the VNNI path only when the host has AVX512-VNNI (numba_infer.isa.VNNI), and
the op tests are re-run under NUMBA_INFER_ISA=generic in a subprocess.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from numba_infer import isa
from numba_infer.kernels import _gen_ukernels, dynquant, qgemm
from numba_infer.kernels.reference import qgemm as R

if isa.VNNI:
    from numba_infer.kernels import qgemm_vnni as QV

INF = np.float32(np.inf)


def quantized_rows(rng, m, k, kp):
    x = rng.standard_normal((m, k)).astype(np.float32) * 3
    if m > 1:
        x[0] = 0                        # all-zero row
    if m > 2:
        x[1] = np.abs(x[1])             # only positive
    if m > 3:
        x[2] = -np.abs(x[2])            # only negative
    q = np.zeros(m * kp, np.uint8)
    s = np.zeros(m, np.float32)
    z = np.zeros(m, np.int32)
    dynquant.dynquant_f32_qd8_xnn(x, 128, q.reshape(m, kp), s, z)     # tested in test_kernels_dynquant.py
    return x, q, s, z


def weights(rng, n, k):
    w = rng.integers(-127, 128, (n, k)).astype(np.int8)
    w[0, :] = 127                       # extremes
    if n > 1:
        w[1, :] = -127
    return w, rng.uniform(1e-3, 1e-2, n).astype(np.float32), rng.standard_normal(n).astype(np.float32)


SHAPES = [(1, 1, 1), (1, 37, 70), (5, 64, 63), (6, 64, 64), (7, 65, 65), (13, 33, 129), (15, 100, 31),
          (29, 8, 32), (3, 4100, 17)]


@pytest.mark.parametrize("m,k,n", SHAPES)
@pytest.mark.parametrize("tfl", [False, True])
def test_gemm_generic(rng, m, k, n, tfl):
    kp = qgemm.kpad(k)
    _, q, s, z = quantized_rows(rng, m, k, kp)
    w, ws, b = weights(rng, n, k)
    wt = np.zeros(n * kp, np.int8)
    qgemm.pack_qc8w_rows(w.reshape(-1), 0, k, 1, n, k, kp, wt)
    nks, wsp, bsp = np.zeros(n, np.int32), np.zeros(n, np.float32), np.zeros(n, np.float32)
    qgemm.qc8w_channel_params(w.reshape(-1), 0, k, 1, n, k, ws, b, nks, wsp, bsp)
    # exact int32 against an independent int64 product
    acc = R.qd8_acc(q.reshape(m, kp)[:, :k], z, w)
    ref = R.qd8_epilogue(acc, s, ws, b, tfl, -INF, INF)
    got = np.zeros(m * n, np.float32)
    qgemm.gemm_qdu8_qc8w_f32_generic(m, n, kp, q, kp, s, z, wt, nks, wsp, bsp, tfl, -INF, INF, got, n)
    np.testing.assert_array_equal(got.reshape(m, n), ref)


@pytest.mark.skipif(not isa.VNNI, reason="host has no AVX512-VNNI")
@pytest.mark.parametrize("m,k,n", SHAPES)
@pytest.mark.parametrize("tile", sorted(qgemm.QTILES))
@pytest.mark.parametrize("tfl", [False, True])
def test_gemm_vnni(rng, m, k, n, tile, tfl):
    from numba_infer.kernels.qgemm_vnni import gemm_qdu8_qc8w_f32_rows_vnni, gemm_qdu8_qc8w_f32_vnni
    kp = qgemm.kpad(k)
    _, q, s, z = quantized_rows(rng, m, k, kp)
    w, ws, b = weights(rng, n, k)
    nr = qgemm.QTILES[tile][1]
    npad = -(-n // nr) * nr
    wq = np.zeros(qgemm.vnni_packed_words(n, k, nr), np.int32)
    qgemm.pack_qc8w_vnni(w.reshape(-1), 0, k, 1, n, k, nr, wq.view(np.int8))
    wq2 = np.zeros_like(wq)
    R.pack_qc8w_vnni(w.reshape(-1), 0, k, 1, n, k, nr, wq2.view(np.int8))
    np.testing.assert_array_equal(wq, wq2)
    nks, wsp, bsp = np.zeros(npad, np.int32), np.zeros(npad, np.float32), np.zeros(npad, np.float32)
    qgemm.qc8w_channel_params(w.reshape(-1), 0, k, 1, n, k, ws, b, nks, wsp, bsp)
    lo, hi = np.float32(-0.5), np.float32(0.7)
    acc = R.qd8_acc(q.reshape(m, kp)[:, :k], z, w)
    ref = R.qd8_epilogue(acc, s, ws, b, tfl, lo, hi)
    got = np.full(m * n, np.nan, np.float32)
    gemm_qdu8_qc8w_f32_vnni(tile, m, n, kp, q.view(np.int32), kp // 4, s, z, wq, nks, wsp, bsp, tfl, lo, hi, got, n)
    np.testing.assert_array_equal(got.reshape(m, n), ref)
    # the same on the uint8 rows with a row stride wider than kp
    a2 = np.zeros((m, kp + 8), np.uint8)
    a2[:, :kp] = q.reshape(m, kp)
    got2 = np.full(m * (n + 3), np.nan, np.float32)
    gemm_qdu8_qc8w_f32_rows_vnni(tile, m, n, kp, a2.reshape(-1), kp + 8, s, z, wq, nks, wsp, bsp, tfl, lo, hi, got2,
                                 n + 3)
    np.testing.assert_array_equal(got2.reshape(m, n + 3)[:, :n], ref)
    assert np.isnan(got2.reshape(m, n + 3)[:, n:]).all()


@pytest.mark.skipif(not isa.VNNI, reason="host has no AVX512-VNNI")
@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (1, 37, 64), (2, 64, 70), (1, 100, 128), (3, 8, 129), (1, 1027, 256)])
@pytest.mark.parametrize("tfl", [False, True])
def test_gemv_vnni(rng, m, k, n, tfl):
    """The two-panel GEMV (1x64 packing; odd last panel through the 1x64
    microkernel) and the fused quantize + GEMV step: exact vs the int64
    product, the twin, and the 1x64 tile's GEMM."""
    from numba_infer.kernels.qgemm_vnni import (gemm_qd8_rows_vnni, gemm_qdu8_qc8w_f32_rows_vnni,
                                                gemv_qdu8_qc8w_f32_vnni)
    kp = qgemm.kpad(k)
    x, q, s, z = quantized_rows(rng, m, k, kp)
    w, ws, b = weights(rng, n, k)
    npad = -(-n // 64) * 64
    wq = np.zeros(qgemm.vnni_packed_words(n, k, 64), np.int32)
    qgemm.pack_qc8w_vnni(w.reshape(-1), 0, k, 1, n, k, 64, wq.view(np.int8))
    nks, wsp, bsp = np.zeros(npad, np.int32), np.zeros(npad, np.float32), np.zeros(npad, np.float32)
    qgemm.qc8w_channel_params(w.reshape(-1), 0, k, 1, n, k, ws, b, nks, wsp, bsp)
    lo, hi = np.float32(-0.5), np.float32(0.7)
    ref = R.qd8_epilogue(R.qd8_acc(q.reshape(m, kp)[:, :k], z, w), s, ws, b, tfl, lo, hi)
    for r in range(m):
        got = np.full(n + 5, np.nan, np.float32)
        gemv_qdu8_qc8w_f32_vnni(n, kp, q, r * kp, s, z, r, wq, nks, wsp, bsp, tfl, lo, hi, got, 2)
        np.testing.assert_array_equal(got[2:2 + n], ref[r])
        assert np.isnan(got[:2]).all() and np.isnan(got[2 + n:]).all()
        twin = np.full(n + 5, np.nan, np.float32)
        R.gemv_qdu8_qc8w_f32_vnni(n, kp, q, r * kp, s, z, r, wq, nks, wsp, bsp, tfl, lo, hi, twin, 2)
        np.testing.assert_array_equal(twin, got)
    exp = np.zeros(m * n, np.float32)
    gemm_qdu8_qc8w_f32_rows_vnni(0, m, n, kp, q, kp, s, z, wq, nks, wsp, bsp, tfl, lo, hi, exp, n)
    q2, s2, z2 = np.zeros((m, kp), np.uint8), np.zeros(m, np.float32), np.zeros(m, np.int32)
    got = np.zeros(m * n, np.float32)
    gemm_qd8_rows_vnni(0, x, q2, s2, z2, 0, n, kp, wq, nks, wsp, bsp, tfl, lo, hi, got, n)
    np.testing.assert_array_equal(got, exp)
    np.testing.assert_array_equal(got.reshape(m, n), ref)


@pytest.mark.skipif(not isa.VNNI, reason="host has no AVX512-VNNI")
@pytest.mark.parametrize("k,n", [(1, 1), (4, 10), (29, 16), (32, 17), (33, 31), (100, 32), (1027, 10), (260, 48)])
@pytest.mark.parametrize("tfl", [False, True])
def test_gemv16_vnni(rng, k, n, tfl):
    """The 16-wide-panel GEMV (k remainders of its 8 chains, n remainders of
    16) and the fused one-row step on the FC tile choose_qtile_fc picks:
    exact vs the int64 product, the twin and the 8x16 tile's GEMM."""
    from numba_infer.kernels.qgemm_vnni import (gemm_qd8_rows_vnni, gemm_qdu8_qc8w_f32_rows_vnni,
                                                gemv16_qdu8_qc8w_f32_vnni)
    kp = qgemm.kpad(k)
    x, q, s, z = quantized_rows(rng, 1, k, kp)
    w, ws, b = weights(rng, n, k)
    npad = -(-n // 16) * 16
    wq = qgemm.zeros_aligned(qgemm.vnni_packed_words(n, k, 16), np.int32)
    assert wq.ctypes.data % 64 == 0
    qgemm.pack_qc8w_vnni(w.reshape(-1), 0, k, 1, n, k, 16, wq.view(np.int8))
    nks, wsp, bsp = np.zeros(npad, np.int32), np.zeros(npad, np.float32), np.zeros(npad, np.float32)
    qgemm.qc8w_channel_params(w.reshape(-1), 0, k, 1, n, k, ws, b, nks, wsp, bsp)
    lo, hi = np.float32(-0.5), np.float32(0.7)
    ref = R.qd8_epilogue(R.qd8_acc(q.reshape(1, kp)[:, :k], z, w), s, ws, b, tfl, lo, hi)
    got = np.full(n + 5, np.nan, np.float32)
    gemv16_qdu8_qc8w_f32_vnni(n, kp, q, 0, s, z, 0, wq, nks, wsp, bsp, tfl, lo, hi, got, 2)
    np.testing.assert_array_equal(got[2:2 + n], ref[0])
    assert np.isnan(got[:2]).all() and np.isnan(got[2 + n:]).all()
    twin = np.full(n + 5, np.nan, np.float32)
    R.gemv16_qdu8_qc8w_f32_vnni(n, kp, q, 0, s, z, 0, wq, nks, wsp, bsp, tfl, lo, hi, twin, 2)
    np.testing.assert_array_equal(twin, got)
    exp = np.zeros(n, np.float32)
    gemm_qdu8_qc8w_f32_rows_vnni(qgemm.TILE_8x16, 1, n, kp, q, kp, s, z, wq, nks, wsp, bsp, tfl, lo, hi, exp, n)
    np.testing.assert_array_equal(exp, ref[0])
    tile = qgemm.choose_qtile_fc(1, n)
    assert tile == (qgemm.TILE_8x16 if n <= qgemm.GEMV16_MAX_N else qgemm.TILE_1x64)
    if tile == qgemm.TILE_8x16:
        q2, s2, z2 = np.zeros((1, kp), np.uint8), np.zeros(1, np.float32), np.zeros(1, np.int32)
        got = np.zeros(n, np.float32)
        gemm_qd8_rows_vnni(0, x, q2, s2, z2, tile, n, kp, wq, nks, wsp, bsp, tfl, lo, hi, got, n)
        np.testing.assert_array_equal(got, ref[0])


@pytest.mark.skipif(not isa.VNNI, reason="host has no AVX512-VNNI")
@pytest.mark.parametrize("m,k,n", [(1, 1024, 10), (1, 37, 100), (3, 8, 129), (7, 33, 65)])
@pytest.mark.parametrize("qmode,tfl", [(0, False), (1, True), (2, True)])
def test_fc_qd8_vnni_packed(rng, m, k, n, qmode, tfl):
    """The 4-array FULLY_CONNECTED steps (pack_fc_qd8 + fc_qd8_vnni, and
    fc_qd8_gemv_vnni for one row) give the bits of gemm_qd8_rows_vnni with the same
    parameters, and of the twin."""
    from numba_infer.kernels.qgemm_vnni import fc_qd8_vnni, gemm_qd8_rows_vnni
    kp = qgemm.kpad(k)
    tile = qgemm.choose_qtile_fc(m, n)
    nr = qgemm.QTILES[tile][1]
    x = (rng.standard_normal((m, k)) * 3).astype(np.float32)
    w, ws, b = weights(rng, n, k)
    npad = -(-n // nr) * nr
    wq = qgemm.zeros_aligned(qgemm.vnni_packed_words(n, k, nr), np.int32)
    qgemm.pack_qc8w_vnni(w.reshape(-1), 0, k, 1, n, k, nr, wq.view(np.int8))
    nks, wsp, bsp = np.zeros(npad, np.int32), np.zeros(npad, np.float32), np.zeros(npad, np.float32)
    qgemm.qc8w_channel_params(w.reshape(-1), 0, k, 1, n, k, ws, b, nks, wsp, bsp)
    lo, hi = np.float32(-0.5), np.float32(0.7)
    wall = qgemm.pack_fc_qd8(qmode, tile, n, kp, tfl, lo, hi, n, wq, nks, wsp, bsp)
    assert wall.ctypes.data % 64 == 0 and wall[qgemm.FC_HEAD:].ctypes.data % 64 == 0
    want = np.zeros(m * n, np.float32)
    gemm_qd8_rows_vnni(qmode, x, np.zeros((m, kp), np.uint8), np.zeros(m, np.float32), np.zeros(m, np.int32), tile,
                       n, kp, wq, nks, wsp, bsp, tfl, lo, hi, want, n)
    got = np.full(m * n, np.nan, np.float32)
    fc_qd8_vnni(x, np.zeros(m * kp // 4 + 2 * m, np.int32), wall, got)
    np.testing.assert_array_equal(got, want)
    twin = np.full(m * n, np.nan, np.float32)
    R.fc_qd8_vnni(x, np.zeros(m * kp // 4 + 2 * m, np.int32), wall, twin)
    np.testing.assert_array_equal(twin, want)
    if m == 1:                          # the one-row step (GEMV tiles only)
        from numba_infer.kernels.qgemm_vnni import fc_qd8_gemv_vnni
        got = np.full(n, np.nan, np.float32)
        fc_qd8_gemv_vnni(x, np.zeros(kp // 4 + 2, np.int32), wall, got)
        np.testing.assert_array_equal(got, want)



@pytest.mark.skipif(not isa.VNNI, reason="host has no AVX512-VNNI")
@pytest.mark.parametrize("m", [1, 5])
def test_fc_chain_qd8_vnni(rng, m):
    """Three packed FC layers run by fc_chain_qd8_vnni: the bits of the three
    fc_qd8 steps run one after the other, and of the twin."""
    from numba_infer.kernels.qgemm_vnni import fc_chain_qd8_vnni, fc_qd8_gemv_vnni, fc_qd8_vnni
    dims = [37, 100, 20, 65]
    walls, work = [], 0
    for k, n in zip(dims, dims[1:]):
        kp = qgemm.kpad(k)
        tile = qgemm.choose_qtile_fc(m, n)
        nr = qgemm.QTILES[tile][1]
        npad = -(-n // nr) * nr
        w, ws, b = weights(rng, n, k)
        wq = qgemm.zeros_aligned(qgemm.vnni_packed_words(n, k, nr), np.int32)
        qgemm.pack_qc8w_vnni(w.reshape(-1), 0, k, 1, n, k, nr, wq.view(np.int8))
        nks, wsp, bsp = np.zeros(npad, np.int32), np.zeros(npad, np.float32), np.zeros(npad, np.float32)
        qgemm.qc8w_channel_params(w.reshape(-1), 0, k, 1, n, k, ws, b, nks, wsp, bsp)
        walls.append(qgemm.pack_fc_qd8(0, tile, n, kp, False, np.float32(-2), np.float32(3), n, wq, nks, wsp, bsp))
        work = max(work, m * kp // 4 + 2 * m)
    x = (rng.standard_normal((m, dims[0])) * 3).astype(np.float32)
    want, h = None, x
    for wall in walls:                                    # the unfused steps
        n = int(wall[2])
        want = np.zeros(m * n, np.float32)
        one = m == 1 and int(wall[1]) in (qgemm.TILE_1x64, qgemm.TILE_8x16)
        (fc_qd8_gemv_vnni if one else fc_qd8_vnni)(h, np.zeros(work, np.int32), wall, want)
        h = want.reshape(m, n)
    offs = np.cumsum([0] + [len(w) for w in walls]).astype(np.int64)
    allw = np.concatenate(walls)
    got = np.full(m * dims[-1], np.nan, np.float32)
    fc_chain_qd8_vnni(x, np.zeros(work, np.int32), allw, offs, np.zeros(2 * m * max(dims[1:-1]), np.float32), got)
    np.testing.assert_array_equal(got.view(np.int32), want.view(np.int32))
    twin = np.full_like(got, np.nan)
    R.fc_chain_qd8_vnni(x, np.zeros(work, np.int32), allw, offs, None, twin)
    np.testing.assert_array_equal(twin.view(np.int32), want.view(np.int32))

# (batch, h, w, cin, cout, kh, kw, sh, sw, dh, dw, pt, pl, groups): odd channel counts (cin % 4 != 0:
# padded tap words), strides, dilations, asymmetric padding, groups, 1x1 direct, 5x5
IGEMM_CONV = [
    (1, 5, 5, 4, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1),
    (2, 7, 6, 6, 65, 3, 2, 2, 1, 1, 2, 1, 0, 1),
    (1, 6, 6, 8, 12, 3, 3, 1, 1, 1, 1, 0, 0, 2),
    (1, 4, 4, 16, 33, 1, 1, 1, 1, 1, 1, 0, 0, 1),
    (1, 9, 11, 3, 17, 5, 5, 2, 2, 1, 1, 2, 2, 1),
    (1, 8, 8, 5, 50, 3, 3, 1, 1, 2, 2, 2, 2, 1),
    (3, 5, 7, 9, 6, 1, 1, 2, 2, 1, 1, 0, 0, 3),
    (1, 3, 13, 7, 100, 1, 1, 1, 1, 1, 1, 0, 0, 1),
]


def igemm_setup(rng, c, tile, per_image_zp):
    """Inputs of the VNNI indirect-GEMM conv drivers: the uint8 image buffer with
    its zero-point pixels, the indirection buffer, packed weights."""
    batch, h, w, cin, cout, kh, kw, sh, sw, dh, dw, pt, pl, groups = c
    oh = (h + 2 * pt - ((kh - 1) * dh + 1)) // sh + 1
    ow = (w + 2 * pl - ((kw - 1) * dw + 1)) // sw + 1
    cg, ng, taps = cin // groups, cout // groups, kh * kw
    m, nimg = batch * oh * ow, batch * h * w * cin
    wm = rng.integers(-127, 128, (cout, taps * cg)).astype(np.int8)
    wq, kc4, npad = qgemm.pack_igemm_weights(wm.reshape(groups, ng, taps, cg), tile)
    zoff, zlen = nimg + 4, cin + 4
    zpv = rng.integers(0, 256, batch) if per_image_zp else np.full(batch, 77)
    buf = np.zeros(zoff + batch * zlen, np.uint8)
    buf[:nimg] = rng.integers(0, 256, nimg)
    direct = kh == kw == 1 and sh == sw == 1 and pt == pl == 0
    ind = np.zeros(max(taps * m, 1), np.int32)
    for mod in (qgemm, R):
        ind2 = np.zeros_like(ind)
        mod.conv_indirection(batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, zoff, zlen, ind2)
        buf2 = buf.copy()
        mod.fill_rows_u8(buf2, zoff, zlen, batch, zlen, zpv)
        if mod is qgemm:
            ind, bufk = ind2, buf2
        else:
            np.testing.assert_array_equal(ind2, ind)
            np.testing.assert_array_equal(buf2, bufk)
    geo = dict(m=m, oh=oh, ow=ow, cg=cg, ng=ng, taps=taps, kc4=kc4, npad=npad, istr=0 if direct else m, zpv=zpv,
               nimg=nimg)
    return bufk, ind, wm, wq, geo


@pytest.mark.skipif(not isa.VNNI, reason="host has no AVX512-VNNI")
@pytest.mark.parametrize("c", IGEMM_CONV)
@pytest.mark.parametrize("tile", sorted(qgemm.QTILES))
def test_conv_igemm_vnni(rng, c, tile):
    """The QD8 indirect-GEMM conv against the twin, and against the
    im2col + GEMM formulation of the same conv (independent of the
    indirection buffer)."""
    batch, h, w, cin, cout, kh, kw, sh, sw, dh, dw, pt, pl, groups = c
    buf, ind, wm, wq, g = igemm_setup(rng, c, tile, True)
    scale = rng.uniform(0.01, 0.1, batch).astype(np.float32)
    zpu = g["zpv"].astype(np.int32)
    nks, ws, bs = (rng.integers(-3000, 3000, groups * g["npad"]).astype(np.int32),
                   rng.uniform(1e-3, 1e-2, groups * g["npad"]).astype(np.float32),
                   rng.standard_normal(groups * g["npad"]).astype(np.float32))
    lo, hi = np.float32(-3), np.float32(3)
    m = g["m"]
    for tfl in (False, True):
        mc = qgemm.QTILES[tile][0] * 2
        outs = []
        for mod in (QV, R):
            out = np.full(m * cout + 5, np.nan, np.float32)
            mod.conv2d_qdu8_qc8w_f32_vnni(tile, 0, m, groups, g["cg"], g["ng"], g["taps"], g["kc4"], buf, ind,
                                          g["istr"], cin, scale, zpu, g["oh"] * g["ow"], wq, nks, ws, bs, tfl, lo, hi,
                                          out, cout, mc, np.zeros(mc, np.float32), np.zeros(mc, np.int32))
            outs.append(out)
        # the twin emulates XNNPack's fma with a double rounding (reference/qgemm.py qd8_epilogue)
        np.testing.assert_allclose(outs[0], outs[1], rtol=0, atol=1e-6 * np.nanmax(np.abs(outs[1])))
        assert np.isnan(outs[0][m * cout:]).all()
        if tfl:                                   # TFLite order: no fma, bit-exact
            np.testing.assert_array_equal(outs[0], outs[1])
        # independent check: im2col of the image (padding = the image's zero point) x W
        col = np.zeros(m * qgemm.kpad(kh * kw * g["cg"]), np.uint8)
        k = kh * kw * g["cg"]
        kp = qgemm.kpad(k)
        xq = buf[:g["nimg"]]
        y = np.zeros((m, cout), np.float32)
        for gi in range(groups):
            R.im2col_u8(xq, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, g["oh"], g["ow"], gi * g["cg"], g["cg"], 0, m,
                        zpu.astype(np.uint8), kp, col)
            rows = np.arange(m) // (g["oh"] * g["ow"])
            acc = R.qd8_acc(col.reshape(m, kp)[:, :k], zpu[rows], wm[gi * g["ng"]:(gi + 1) * g["ng"]])
            sl = slice(gi * g["npad"], gi * g["npad"] + g["ng"])
            nk = -wm[gi * g["ng"]:(gi + 1) * g["ng"]].astype(np.int64).sum(1)
            acc2 = acc - nk[None, :] * zpu[rows][:, None] + nks[sl].astype(np.int64)[None, :] * zpu[rows][:, None]
            y[:, gi * g["ng"]:(gi + 1) * g["ng"]] = R.qd8_epilogue(acc2, scale[rows], ws[sl], bs[sl], tfl, lo, hi)
        np.testing.assert_allclose(outs[0][:m * cout].reshape(m, cout), y, rtol=0, atol=1e-6 * np.abs(y).max())


def test_int32_stress(rng):
    """K = 16384 with |q - zp| = 255 and |w| = 127: |acc| ~ 5.3e8 < 2^31."""
    m, k, n = 2, 16384, 3
    q = np.zeros(m * k, np.uint8)
    q[:k] = 255
    s, z = np.ones(m, np.float32), np.array([0, 255], np.int32)
    w = np.full((n, k), 127, np.int8)
    w[1] = -127
    ws, b = np.ones(n, np.float32), np.zeros(n, np.float32)
    wt = np.zeros(n * k, np.int8)
    qgemm.pack_qc8w_rows(w.reshape(-1), 0, k, 1, n, k, k, wt)
    nks, wsp, bsp = np.zeros(n, np.int32), np.zeros(n, np.float32), np.zeros(n, np.float32)
    qgemm.qc8w_channel_params(w.reshape(-1), 0, k, 1, n, k, ws, b, nks, wsp, bsp)
    got = np.zeros(m * n, np.float32)
    qgemm.gemm_qdu8_qc8w_f32_generic(m, n, k, q, k, s, z, wt, nks, wsp, bsp, False, -INF, INF, got, n)
    ref = R.qd8_epilogue(R.qd8_acc(q.reshape(m, k), z, w), s, ws, b, False, -INF, INF)
    np.testing.assert_array_equal(got.reshape(m, n), ref)


@pytest.mark.parametrize("xs,kh,kw,s,d,p", [((2, 7, 6, 5), 3, 3, 1, 1, 1), ((1, 9, 9, 4), 3, 2, 2, 2, 0)])
def test_im2col_u8(rng, xs, kh, kw, s, d, p):
    b, h, w, c = xs
    x = rng.integers(0, 256, b * h * w * c).astype(np.uint8)
    padv = np.array([7, 200][:b], np.uint8)
    oh, ow = (h + 2 * p - (kh - 1) * d - 1) // s + 1, (w + 2 * p - (kw - 1) * d - 1) // s + 1
    kp = qgemm.kpad(kh * kw * c)
    rows = b * oh * ow
    o1, o2 = np.zeros(rows * kp, np.uint8), np.zeros(rows * kp, np.uint8)
    qgemm.im2col_u8(x, h, w, c, kh, kw, s, s, d, d, p, p, oh, ow, 0, c, 0, rows, padv, kp, o1)
    R.im2col_u8(x, h, w, c, kh, kw, s, s, d, d, p, p, oh, ow, 0, c, 0, rows, padv, kp, o2)
    np.testing.assert_array_equal(o1, o2)


def test_generated_ukernels_up_to_date():
    """Re-running kernels/_gen_ukernels.py must reproduce the committed files."""
    here = Path(_gen_ukernels.__file__).parent
    for name, text in _gen_ukernels.generate().items():
        assert (here / name).read_text() == text, f"{name} is stale: run python kernels/_gen_ukernels.py"


@pytest.mark.skipif(not isa.VNNI, reason="the generic path is already the host path")
def test_ops_generic_isa_subprocess():
    """The hybrid op tests again with NUMBA_INFER_ISA=generic (the plain-Numba path)."""
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, NUMBA_INFER_ISA="generic")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                        str(root / "tests/ops/test_ops_qd8.py"), "-k", "fc_hybrid or conv_hybrid or bmm"],
                       cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
