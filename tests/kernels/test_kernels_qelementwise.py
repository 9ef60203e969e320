"""kernels/qelementwise.py vs its NumPy twin (integer: exact)."""
import numpy as np
import pytest

from numba_infer import isa
from numba_infer.kernels import qelementwise as K
from numba_infer.kernels.reference import qelementwise as R
from numba_infer.ops.elementwise import bcast_layout


class _Ctx:
    def fail(self, msg, cls=Exception):
        raise cls(msg)


PARAMS = {   # a_zp, b_zp, out_zp, qmin, qmax, op-specific (valid TFLite / XNNPack constants)
    K.Q_ADD_TFL: [3, -7, 1, -128, 127, 20, 1073741824, 0, 1518500250, -1, 1431655765, -18, 1],
    K.Q_SQDIFF_TFL: [3, -7, 1, -128, 127, 7, 1073741824, 0, 1518500250, -1, 1431655765, -10, 1],
    K.Q_ADD_XNN: [3, -7, 1, -100, 120, 1048576, -1398101, 20],
    K.Q_MUL_TFL: [3, -7, 1, -128, 127, 1518500250, -7],
    K.Q_MUL_XNN: [3, -7, 1, -128, 127],
    K.Q_MAX: [0, 0, 0, -128, 127],
    K.Q_MIN: [0, 0, 0, -128, 127],
}
SHAPES = [((17,), (17,)), ((3, 1, 5), (1, 4, 1)), ((2, 33), (33,)), ((1,), (6, 7))]


@pytest.mark.parametrize("op", sorted(PARAMS))
@pytest.mark.parametrize("shapes", SHAPES)
def test_qbinary(op, shapes):
    rng = np.random.default_rng(op)
    a = rng.integers(-128, 128, shapes[0]).astype(np.int8)
    b = rng.integers(-128, 128, shapes[1]).astype(np.int8)
    out_shape = np.broadcast_shapes(*shapes)
    shape, (sa, sb) = bcast_layout(_Ctx(), out_shape, shapes)
    p = np.array(PARAMS[op] + [0] * (16 - len(PARAMS[op])), np.int64)
    got = np.empty(int(np.prod(out_shape)), np.int8)
    want = np.empty_like(got)
    K.qbinary(op, a.reshape(-1), b.reshape(-1), shape, sa, sb, p, np.float32(0.0123), got)
    R.qbinary(op, a.reshape(-1), b.reshape(-1), shape, sa, sb, p, np.float32(0.0123), want)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("op", range(6))
def test_qcompare(op):
    rng = np.random.default_rng(op)
    shapes = ((3, 1, 5), (1, 4, 5))
    a = rng.integers(0, 256, shapes[0]).astype(np.uint8)
    b = rng.integers(0, 256, shapes[1]).astype(np.uint8)
    shape, (sa, sb) = bcast_layout(_Ctx(), (3, 4, 5), shapes)
    p = np.array([128, 120, 8, 1717986918, -3, 1288490189, -4], np.int64)
    got = np.empty(60, np.bool_)
    want = np.empty_like(got)
    K.qcompare_bool(op, a.reshape(-1), b.reshape(-1), shape, sa, sb, p, got)
    R.qcompare_bool(op, a.reshape(-1), b.reshape(-1), shape, sa, sb, p, want)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 300])
def test_lut_u8(n):
    rng = np.random.default_rng(n)
    x = rng.integers(0, 256, n).astype(np.uint8)
    table = rng.integers(-128, 128, 256).astype(np.int8)
    got, want = np.empty(n, np.int8), np.empty(n, np.int8)
    K.lut_u8(x, table, got)
    R.lut_u8(x, table, want)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("depth", [1, 15, 16, 17, 100])
@pytest.mark.parametrize("signed", [True, False])
def test_softmax_q8_lut_rows(depth, signed):
    rng = np.random.default_rng(depth)
    x = rng.integers(0, 256, (3, depth)).astype(np.uint8)
    table = np.exp(np.float32(-0.07) * np.arange(256, dtype=np.float32)).astype(np.float32)[::-1].copy()
    dt, zp, lo, hi = (np.int8, -128, -128, 127) if signed else (np.uint8, 0, 0, 255)
    got, want = np.empty((3, depth), dt), np.empty((3, depth), dt)
    flip = 0x80 if signed else 0
    K.softmax_q8_lut_rows(x, flip, table, np.float32(1 / 256), zp, lo, hi, got)
    R.softmax_q8_lut_rows(x, flip, table, np.float32(1 / 256), zp, lo, hi, want)
    np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------- qbinary fast paths (16-lane vector rows)
# Row lengths around the vector width (masked tails), every broadcast layout the
# rank-6 nest produces (same shape = one row, [rows, C] x [C], [rows, C] x [rows, 1],
# scalar either side, 6-D), both 8-bit types, zero points at the range ends,
# operands at the range ends, multipliers and shifts at the ends of what the
# lowerings produce (and beyond: int32 wrap-around of the intermediate values).
EDGE_SHAPES = [((0,), (0,)), ((1,), (1,)), ((15,), (15,)), ((16,), (16,)), ((17,), (17,)), ((47,), (47,)),
               ((5, 16), (16,)), ((7, 17), (17,)), ((4, 15), (15,)), ((3, 24), (3, 1)), ((9, 1), (9, 33)),
               ((16,), ()), ((), (31,)), ((), ()), ((2, 1, 3, 1, 2, 3), (1, 2, 1, 4, 1, 3)), ((2, 3, 5, 1), (3, 1, 17))]
ZPS = {np.int8: (-128, 127, 0), np.uint8: (0, 255, 128)}


def _edge_params(op, dt, rng, k):
    """A valid-range constant set for op; k selects the zero points / extremes."""
    info = np.iinfo(dt)
    zps = ZPS[dt]
    azp, bzp, ozp = zps[k % 3], zps[(k + 1) % 3], zps[(k + 2) % 3]
    qmin, qmax = (info.min, info.max) if k % 2 == 0 else (max(ozp, info.min + 5), info.max - 3)
    mult = [1 << 30, (1 << 31) - 1, int(rng.integers(1 << 30, 1 << 31))]
    if op == K.Q_MAX or op == K.Q_MIN:
        return [0, 0, 0, qmin, qmax]
    if op in (K.Q_ADD_TFL, K.Q_SQDIFF_TFL):
        ls = 20 if op == K.Q_ADD_TFL else 7
        sh = [0, -1, -31, int(rng.integers(-20, 0))]
        so = [-18, -31, -1, int(rng.integers(-25, 0))][k % 4]
        return [azp, bzp, ozp, qmin, qmax, ls, mult[k % 3], sh[k % 4], mult[(k + 1) % 3], sh[(k + 1) % 4],
                mult[(k + 2) % 3], so, 1 if k % 2 == 0 else -1]
    if op == K.Q_ADD_XNN:
        shift = [13, 20, 30, 24][k % 4]
        big = 1 << 23                                        # |am * 255| beyond 2**31: int32 wrap
        am = [1 << 20, big, int(rng.integers(1 << 10, 1 << 21))][k % 3]
        bm = [-(1 << 21) + 1, int(rng.integers(1 << 10, 1 << 21)), -big][k % 3]
        return [azp, bzp, ozp, qmin, qmax, am, bm, shift]
    if op == K.Q_MUL_TFL:
        sh = [-31, 30, 0, int(rng.integers(-31, 31))][k % 4]
        return [azp, bzp, ozp, qmin, qmax, mult[k % 3], sh]
    return [azp, bzp, ozp, qmin, qmax]                       # Q_MUL_XNN (fscale separate)


def _edge_data(shape, dt, rng):
    info = np.iinfo(dt)
    x = rng.integers(info.min, info.max + 1, shape).astype(dt).reshape(-1)
    x[: min(x.size, 4)] = [info.min, info.max, info.min, info.max][: min(x.size, 4)]
    return x


def _run_qbinary(op, a, b, shapes, p, fscale, dt):
    out_shape = np.broadcast_shapes(*shapes)
    shape, (sa, sb) = bcast_layout(_Ctx(), out_shape, shapes)
    p = np.array(p + [0] * (16 - len(p)), np.int64)
    n = int(np.prod(out_shape))
    got, want, spec = np.empty(n, dt), np.empty(n, dt), np.empty(n, dt)
    K.qbinary(op, a, b, shape, sa, sb, p, fscale, got)
    K.qbinary_kernel(op)(a, b, shape, sa, sb, p, fscale, spec)
    R.qbinary(op, a, b, shape, sa, sb, p, fscale, want)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(spec, want)


FSCALES = [np.float32(2.0 ** -16), np.float32(0.5), np.float32(255.9), np.float32(0.0123)]


# uint8: every op the lowerings emit for uint8 (SQUARED_DIFFERENCE is int8-only, as in TFLite)
Q8_CASES = [(op, np.int8) for op in sorted(PARAMS)] + [(op, np.uint8) for op in sorted(PARAMS) if op != K.Q_SQDIFF_TFL]


@pytest.mark.parametrize("op,dt", Q8_CASES)
def test_qbinary_edges(op, dt):
    rng = np.random.default_rng(100 + op)
    for k, shapes in enumerate(EDGE_SHAPES):
        a, b = _edge_data(shapes[0], dt, rng), _edge_data(shapes[1], dt, rng)
        _run_qbinary(op, a, b, shapes, _edge_params(op, dt, rng, k), FSCALES[k % 4], dt)


@pytest.mark.parametrize("op,dt", Q8_CASES)
def test_qbinary_all_pairs(op, dt):
    """Every (a, b) pair of stored values in one same-shape row (65536 lanes)."""
    codes = np.arange(256, dtype=np.uint8).view(dt)
    g1, g2 = np.meshgrid(codes, codes)
    a, b = g1.reshape(-1).copy(), g2.reshape(-1).copy()
    rng = np.random.default_rng(200 + op)
    # the TFLite ADD twin is slow (three Python-int MBQMs per lane): one constant set there
    for k in ((0,) if op in (K.Q_ADD_TFL, K.Q_SQDIFF_TFL) else (0, 1, 2)):
        _run_qbinary(op, a, b, ((65536,), (65536,)), _edge_params(op, dt, rng, k), FSCALES[k], dt)


@pytest.mark.skipif(not isa.VBMI, reason="host without AVX512-VBMI")
@pytest.mark.parametrize("n", [0, 1, 63, 64, 65, 127, 128, 129, 191, 1000])
@pytest.mark.parametrize("dt", [np.int8, np.uint8])
def test_lut_u8_vbmi(n, dt):
    """The vpermi2b lookup vs the NumPy twin: every code, tails of the 64- and 128-byte steps."""
    from numba_infer.kernels.qelementwise_vbmi import lut_u8_vbmi
    rng = np.random.default_rng(n)
    x = np.concatenate([np.arange(256, dtype=np.uint8), rng.integers(0, 256, n).astype(np.uint8)])[-n:] if n else \
        np.zeros(0, np.uint8)
    table = rng.integers(0, 256, 256).astype(np.uint8).view(dt)
    got, want = np.full(n + 1, 7, dt), np.empty(n, dt)
    lut_u8_vbmi(x, table, got[:n])
    R.lut_u8(x, table, want)
    np.testing.assert_array_equal(got[:n], want)
    assert got[n] == 7                                   # nothing written past the end


def test_lut_kernel_for_isa():
    from numba_infer.ops.activation import lut_u8_kernel
    if isa.VBMI:
        from numba_infer.kernels.qelementwise_vbmi import lut_u8_vbmi
        assert lut_u8_kernel() is lut_u8_vbmi
    else:
        assert lut_u8_kernel() is K.lut_u8
