"""QS8/QU8 kernels (kernels/qs8.py, kernels/qs8_vnni.py) vs their NumPy twins
(kernels/reference/qs8.py).  All integer (the fp32 epilogue is the same
float32 multiply + clamp + rint on both sides): assert_array_equal."""
import numpy as np
import pytest

from numba_infer import isa
from numba_infer.kernels import _gen_ukernels, qgemm, qs8 as K
from numba_infer.kernels.reference import qs8 as R
from numba_infer.quant import quantize_multipliers
from test_kernels_qgemm import IGEMM_CONV, igemm_setup


def qparams(rng, n, fp32, nup, tie=False):
    if tie:
        eff = 2.0 ** -rng.integers(-2, 12, n)
    else:
        eff = rng.uniform(1e-5, 3.0, n)
    m, s = quantize_multipliers(eff)
    return (m, np.maximum(s, 0).astype(np.int32), np.maximum(-s, 0).astype(np.int32), nup,
            eff.astype(np.float32), fp32, -3, -128, 127)


@pytest.mark.parametrize("fp32", [False, True])
@pytest.mark.parametrize("tie", [False, True])
@pytest.mark.parametrize("n,nup", [(1, 0), (17, 8), (40, 40), (33, 0)])
def test_requant_rows(fp32, tie, n, nup):
    rng = np.random.default_rng(n)
    m = 7
    acc = rng.integers(-(1 << 31), 1 << 31, m * (n + 3), dtype=np.int64).astype(np.int32)
    acc[:m * n // 2] = rng.integers(-3000, 3000, m * n // 2)               # small values, many ties
    acc[:4] = [-(1 << 31), (1 << 31) - 1, 0, -1]
    args = qparams(rng, n, fp32, nup, tie)
    got = np.zeros(m * n, np.int8)
    exp = np.zeros(m * n, np.int8)
    K.requant_i32_q8_rows(acc, n + 3, m, n, *args, got, n)
    R.requant_i32_q8_rows(acc, n + 3, m, n, *args, exp, n)
    np.testing.assert_array_equal(got, exp)


def test_requant_matches_tflite_mbqm():
    """The away-from-zero channels are exactly requant.multiply_by_quantized_multiplier."""
    from numba_infer.kernels.reference.requant import multiply_by_quantized_multiplier as mbqm
    rng = np.random.default_rng(3)
    n = 64
    args = list(qparams(rng, n, False, 0, tie=True))
    args[6:] = [0, -(1 << 20), 1 << 20]
    acc = rng.integers(-100000, 100000, n).astype(np.int32)
    got = np.zeros(n, np.int32)
    K.requant_i32_q8_rows(acc, n, 1, n, *args, got, n)
    exp = [int(mbqm(int(a), int(mm), int(l) - int(r))) for a, mm, l, r in zip(acc, args[0], args[1], args[2])]
    np.testing.assert_array_equal(got, np.clip(exp, -(1 << 20), 1 << 20))


@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (3, 17, 5), (6, 64, 40), (15, 33, 260)])
@pytest.mark.parametrize("wdt", [np.int8, np.int16])
def test_gemm_generic(m, n, k, wdt):
    rng = np.random.default_rng(m * n + k)
    kp = (k + 3) // 4 * 4
    a = rng.integers(0, 256, m * kp + 5).astype(np.uint8)
    lim = 127 if wdt == np.int8 else 255
    wt = rng.integers(-lim, lim + 1, n * kp).astype(wdt)
    init = rng.integers(-10000, 10000, n).astype(np.int32)
    got = np.zeros(m * (n + 2), np.int32)
    exp = got.copy()
    K.gemm_u8_q8_i32_generic(m, n, kp, a, kp, wt, init, got, n + 2)
    R.gemm_u8_q8_i32_generic(m, n, kp, a, kp, wt, init, exp, n + 2)
    np.testing.assert_array_equal(got, exp)


def test_flip_and_pack_rows():
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, 3 * 7).astype(np.int8)
    for f in (K, R):
        pass
    g1, e1 = np.zeros(21, np.uint8), np.zeros(21, np.uint8)
    K.flip_i8_u8(x, g1)
    R.flip_i8_u8(x, e1)
    np.testing.assert_array_equal(g1, e1)
    g2, e2 = np.full(24, 9, np.uint8), np.full(24, 9, np.uint8)
    K.pack_rows_u8(x, 3, 7, 8, 128, g2)
    R.pack_rows_u8(x, 3, 7, 8, 128, e2)
    np.testing.assert_array_equal(g2, e2)


CONV = [  # batch, h, w, cin, cout, kh, kw, sh, sw, dh, dw, pt, pl, groups
    (1, 5, 5, 4, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1),
    (2, 7, 6, 6, 65, 3, 2, 2, 1, 1, 2, 1, 0, 1),
    (1, 6, 6, 8, 12, 3, 3, 1, 1, 1, 1, 0, 0, 2),
    (1, 4, 4, 16, 33, 1, 1, 1, 1, 1, 1, 0, 0, 1),
]


def _conv_setup(rng, c, wdt=np.int8):
    batch, h, w, cin, cout, kh, kw, sh, sw, dh, dw, pt, pl, groups = c
    oh = (h + 2 * pt - ((kh - 1) * dh + 1)) // sh + 1
    ow = (w + 2 * pl - ((kw - 1) * dw + 1)) // sw + 1
    cg = cin // groups
    k = kh * kw * cg
    kp = (k + 3) // 4 * 4
    nimg = batch * h * w * cin
    xu32 = rng.integers(0, 1 << 32, -(-nimg // 4), dtype=np.uint64).astype(np.uint32).view(np.int32)
    wm = rng.integers(-127, 128, (cout, k)).astype(np.int8)
    init = rng.integers(-5000, 5000, cout).astype(np.int32)
    return oh, ow, k, kp, nimg, xu32, wm, init


@pytest.mark.parametrize("c", CONV)
@pytest.mark.parametrize("fp32", [False, True])
def test_conv_generic(c, fp32):
    rng = np.random.default_rng(1)
    batch, h, w, cin, cout, kh, kw, sh, sw, dh, dw, pt, pl, groups = c
    oh, ow, k, kp, nimg, xu32, wm, init = _conv_setup(rng, c)
    wt = np.zeros((cout, kp), np.int8)
    wt[:, :k] = wm
    args = qparams(rng, cout, fp32, cout // 2)
    mb = 8
    outs = []
    for mod in (K, R):
        out = np.zeros(batch * oh * ow * cout, np.int8)
        mod.conv2d_u8_q8_q8_generic(xu32.view(np.uint8)[:nimg], batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh,
                                    ow, groups, cout, wt.reshape(-1), init, 131, mb, *args, np.zeros(mb * kp, np.uint8),
                                    np.zeros(mb * cout, np.int32), np.zeros(batch, np.uint8), out)
        outs.append(out)
    np.testing.assert_array_equal(*outs)


@pytest.mark.skipif(not isa.VNNI, reason="host has no AVX512-VNNI")
@pytest.mark.parametrize("c", range(len(IGEMM_CONV)))
@pytest.mark.parametrize("tile", sorted(qgemm.QTILES))
def test_conv_vnni(c, tile):
    """Indirect-GEMM int8 conv (uint8 activations) with the fused requantization (fp32 and TFLite fixed point with
    a half-up / half-away channel split) vs the twin and vs the generic im2col
    conv twin (_conv_acc), which shares no code with it."""
    from numba_infer.kernels import qs8_vnni as KV
    rng = np.random.default_rng(c * 7 + tile)
    case = IGEMM_CONV[c]
    batch, h, w, cin, cout, kh, kw, sh, sw, dh, dw, pt, pl, groups = case
    buf, ind, wm, wq, g = igemm_setup(rng, case, tile, False)         # zero-point pixel: byte 77
    init = rng.integers(-5000, 5000, cout).astype(np.int32)
    m = g["m"]
    acc = R._conv_acc(buf, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, g["oh"], g["ow"], groups, cout, wm, init,
                      77)
    a = buf
    for fp32 in (True, False):
        args = qparams(rng, cout, fp32, cout // 3, tie=not fp32)
        mult, lsh, rsh, nup, fscale = args[:5]
        pad = [qgemm.pad_groups(v, groups, g["npad"], v.dtype) for v in (init, mult, lsh, rsh, fscale)]
        exp = R._requant(acc, mult, lsh, rsh, nup, fscale, fp32, -3, -128, 127)
        mc = qgemm.QTILES[tile][0] * 3
        for mod in (KV, R):
            out = np.full(m * cout + 7, 99, np.int8)
            mod.conv2d_u8_i8_q8_vnni(tile, 0, m, groups, g["cg"], g["ng"], g["taps"], g["kc4"], a, ind, g["istr"],
                                     cin, wq, *pad, nup, fp32, -3, -128, 127, out, cout, mc)
            np.testing.assert_array_equal(out[:m * cout].reshape(m, cout), exp)
            assert (out[m * cout:] == 99).all()
        # a row range only (the threaded drivers' chunks)
        r0, r1 = m // 3, m - 1
        out = np.full(m * cout, 99, np.int8)
        KV.conv2d_u8_i8_q8_vnni(tile, r0, r1, groups, g["cg"], g["ng"], g["taps"], g["kc4"], a, ind, g["istr"], cin,
                                wq, *pad, nup, fp32, -3, -128, 127, out, cout, mc)
        o2 = out.reshape(m, cout)
        np.testing.assert_array_equal(o2[r0:r1], exp[r0:r1])
        assert (o2[:r0] == 99).all() and (o2[r1:] == 99).all()


@pytest.mark.skipif(not isa.VNNI, reason="host has no AVX512-VNNI")
@pytest.mark.parametrize("case", [1, 3, 7])
def test_conv_qs8_vnni_step(case):
    """The whole-op entry kernel: flip + zero-point pixel + conv."""
    from numba_infer.kernels import qs8_vnni as KV
    rng = np.random.default_rng(5 + case)
    batch, h, w, cin, cout, kh, kw, sh, sw, dh, dw, pt, pl, groups = IGEMM_CONV[case]
    tile = 2
    buf, ind, wm, wq, g = igemm_setup(rng, IGEMM_CONV[case], tile, False)
    x8 = (buf[:g["nimg"]] ^ 128).view(np.int8)
    if g["istr"]:                           # one zero-point pixel for every image (stride 0)
        qgemm.conv_indirection(batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, g["oh"], g["ow"], g["nimg"] + 4, 0, ind)
    init = rng.integers(-5000, 5000, cout).astype(np.int32)
    args = qparams(rng, cout, True, cout)
    pad = [qgemm.pad_groups(v, groups, g["npad"], v.dtype) for v in (init,) + args[:3]] + \
        [qgemm.pad_groups(args[4], groups, g["npad"], np.float32)]
    outs = []
    for mod in (KV, R):
        xu = np.zeros(buf.size + 8, np.uint8)
        out = np.zeros(g["m"] * cout, np.int8)
        mod.conv2d_qs8_vnni(x8, xu, g["nimg"] + 4, cin + 4, 77, tile, g["m"], groups, g["cg"], g["ng"], g["taps"],
                            g["kc4"], ind, g["istr"], cin, wq, *pad, args[3], True, -3, -128, 127, out, 16)
        outs.append(out)
        np.testing.assert_array_equal(xu[:g["nimg"]], buf[:g["nimg"]])
    np.testing.assert_array_equal(*outs)
    acc = R._conv_acc(buf, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, g["oh"], g["ow"], groups, cout, wm, init,
                      77)
    np.testing.assert_array_equal(outs[0].reshape(g["m"], cout), R._requant(acc, *args[:5], True, -3, -128, 127))


@pytest.mark.skipif(not isa.VNNI, reason="host has no AVX512-VNNI")
@pytest.mark.parametrize("m,n,k", [(1, 10, 7), (7, 64, 64), (13, 65, 300), (29, 31, 12), (9, 100, 33)])
@pytest.mark.parametrize("tile", sorted(qgemm.QTILES))
def test_gemm_vnni(m, n, k, tile):
    from numba_infer.kernels import qs8_vnni as KV
    rng = np.random.default_rng(m + n + k)
    kp = (k + 3) // 4 * 4
    wm = rng.integers(-127, 128, (n, k)).astype(np.int8)
    wq, _, npad = qgemm.pack_igemm_weights(wm.reshape(1, n, 1, k), tile)
    init = rng.integers(-5000, 5000, n).astype(np.int32)
    x = rng.integers(-128, 128, m * k).astype(np.int8)
    a = np.zeros(m * kp, np.uint8)
    K.pack_rows_u8(x, m, k, kp, 128, a)
    A = x.reshape(m, k).astype(np.int64) + 128
    for fp32 in (False, True):
        args = qparams(rng, n, fp32, n // 3)
        pad = [qgemm.pad_groups(v, 1, npad, v.dtype) for v in (init,) + args[:3]] + \
            [qgemm.pad_groups(args[4], 1, npad, np.float32)]
        exp = R._requant(A @ wm.astype(np.int64).T + init, *args[:5], fp32, *args[6:])
        for mod in (KV, R):
            out = np.zeros(m * n, np.int8)
            mod.gemm_u8_i8_q8_vnni(tile, m, n, kp, a, kp, wq, *pad, args[3], fp32, *args[6:], out, n)
            np.testing.assert_array_equal(out.reshape(m, n), exp)
            out = np.zeros(m * n, np.int8)
            mod.fc_qs8_vnni(x, k, kp, np.zeros(m * kp + 4, np.uint8), tile, m, n, wq, *pad, args[3], fp32, *args[6:],
                            out)
            np.testing.assert_array_equal(out.reshape(m, n), exp)


@pytest.mark.parametrize("s,pad,cout", [(2, 0, 10), (1, 1, 17), (3, 1, 8)])
def test_tconv(s, pad, cout):
    rng = np.random.default_rng(s + cout)
    x = rng.integers(-128, 128, (2, 4, 3, 6)).astype(np.int8)
    w = rng.integers(-127, 128, (cout, 3, 3, 6)).astype(np.int16)
    bias = rng.integers(-5000, 5000, cout).astype(np.int32)
    oh, ow = 4 * s + 1, 3 * s
    args = qparams(rng, cout, False, 8 * (cout // 8))
    outs = []
    for mod in (K, R):
        out = np.zeros((2, oh, ow, cout), np.int8)
        mod.tconv_q8_q8_q8(x, -5, w, bias, s, s, pad, pad, *args, np.zeros(6, np.int32),
                           np.zeros(oh * ow * cout, np.int32), out)
        outs.append(out)
    np.testing.assert_array_equal(*outs)


@pytest.mark.parametrize("transpose", [False, True])
def test_batch_matmul(transpose):
    rng = np.random.default_rng(5)
    b, m, n, k = 3, 4, 6, 9
    src = rng.integers(-128, 128, b * k * n).astype(np.int8)
    bt_k, bt_r = np.zeros(b * n * k, np.int16), np.zeros(b * n * k, np.int16)
    K.rows_sub_zp_i16(src, b, k, n, 3, transpose, bt_k)
    R.rows_sub_zp_i16(src, b, k, n, 3, transpose, bt_r)
    np.testing.assert_array_equal(bt_k, bt_r)
    a = rng.integers(-255, 256, 2 * m * k).astype(np.int16)
    a_idx = np.array([0, 1, 1, 0], np.int64)
    b_idx = np.array([2, 0, 1, 2], np.int64)
    args = qparams(rng, n, transpose, 0)
    outs = []
    for mod in (K, R):
        out = np.zeros(4 * m * n, np.int8)
        mod.batch_matmul_q8_q8_q8(m, n, k, a, a_idx, bt_k, b_idx, *args, np.zeros(m * n, np.int32), out)
        outs.append(out)
    np.testing.assert_array_equal(*outs)


def test_generated_qs8_ukernels_up_to_date():
    text = _gen_ukernels.generate()["_ukernels_qs8_vnni.py"]
    assert (_gen_ukernels.HERE / "_ukernels_qs8_vnni.py").read_text() == text
