"""Elementwise, activation and softmax kernels vs their NumPy twins."""
import numpy as np
import pytest

from numba_infer.errors import UnsupportedError
from numba_infer.kernels import activation as KA
from numba_infer.kernels import elementwise as KE
from numba_infer.kernels import softmax as KS
from numba_infer.kernels.reference import activation as RA
from numba_infer.kernels.reference import elementwise as RE
from numba_infer.kernels.reference import softmax as RS
from numba_infer.ops.elementwise import bcast_layout

F32 = np.float32


class _Ctx:
    def fail(self, msg, cls=UnsupportedError):
        raise cls(msg)


def _layout(*shapes):
    out = np.broadcast_shapes(*shapes)
    shape, strides = bcast_layout(_Ctx(), out, shapes)
    return out, shape, strides


# row lengths around the vector widths (16 f32 lanes, x4 unroll) and odd sizes
SHAPES = [((1,), (1,)), ((15,), (15,)), ((16,), ()), ((17,), (1,)), ((65,), (65,)), ((3, 1, 7), (1, 5, 1)),
          ((2, 8, 8, 3), (3,)), ((), (33,)), ((2, 1, 3, 1, 2, 3), (1, 2, 1, 4, 1, 3)), ((4, 1), (1, 129))]


def test_layout_collapses():
    out, shape, (sa, sb) = _layout((1, 8, 8, 3), (1, 8, 8, 3))
    assert shape.tolist() == [1, 1, 1, 1, 1, 192] and sa.tolist()[-1] == 1 and sb.tolist()[-1] == 1
    out, shape, (sa, sb) = _layout((1, 8, 8, 3), ())
    assert shape.tolist()[-1] == 192 and sb.tolist() == [0] * 6
    out, shape, (sa, sb) = _layout((2, 1, 5), (1, 4, 1))
    assert shape.tolist() == [1, 1, 1, 2, 4, 5]
    with pytest.raises(UnsupportedError):
        bcast_layout(_Ctx(), (2,) * 7, [(2, 1, 2, 1, 2, 1, 2), (1, 2, 1, 2, 1, 2, 1)])


# Exact ops (+, -, *, /, max, min, squared difference, prelu: one rounding of
# exact operands) must match bit for bit; POW: powf vs NumPy's float32 power
# (both libm, <1 ulp each): rtol 2.5e-7.
@pytest.mark.parametrize("sa_,sb_", SHAPES)
@pytest.mark.parametrize("op", [KE.ADD, KE.SUB, KE.MUL, KE.DIV, KE.SQUARED_DIFFERENCE, KE.MAXIMUM, KE.MINIMUM,
                                KE.POW, KE.PRELU])
def test_binary_f32(op, sa_, sb_, rng):
    out, shape, (sa, sb) = _layout(sa_, sb_)
    lo = 0.2 if op == KE.POW else -3
    a = rng.uniform(lo, 3, sa_).astype(F32).reshape(-1)
    b = rng.uniform(lo, 3, sb_).astype(F32).reshape(-1)
    got, want = np.empty(out, F32).reshape(-1), np.empty(out, F32).reshape(-1)
    for clamp in (False, True):
        KE.binary_minmax(op, a, b, shape, sa, sb, clamp, F32(-1), F32(2), got)
        RE.binary_minmax(op, a, b, shape, sa, sb, clamp, F32(-1), F32(2), want)
        if op == KE.POW:
            np.testing.assert_allclose(got, want, rtol=2.5e-7)
        else:
            np.testing.assert_array_equal(got, want)


# binary_f32 (16-lane vector rows, op compiled in): row lengths around the vector
# width (masked tails), every broadcast layout (same shape, [rows, C] x [C],
# [rows, C] x [rows, 1], scalar either side, 6-D), special values (NaN, +-inf,
# +-0, subnormals, FLT_MAX) with and without the clamp.  Bit for bit against the
# scalar kernel binary_minmax (same IEEE operations and selects), and against the
# NumPy twin (assert_array_equal: NaN where NaN).
F32_EDGE_SHAPES = [((0,), (0,)), ((1,), (1,)), ((15,), (15,)), ((16,), (16,)), ((17,), (17,)), ((47,), (47,)),
                   ((5, 16), (16,)), ((7, 17), (17,)), ((4, 15), (1, 15)), ((3, 24), (3, 1)), ((9, 1), (9, 33)),
                   ((16,), ()), ((), (31,)), ((), ()), ((2, 1, 3, 1, 2, 3), (1, 2, 1, 4, 1, 3)), ((96, 16), (1, 16))]
SPECIALS = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, -1e-40, 3.4028235e38, -3.4028235e38, 1.0, -1.0,
                     2.0, -2.0, 0.5], F32)


def _f32_data(shape, rng):
    x = rng.uniform(-3, 3, shape).astype(F32).reshape(-1)
    k = min(x.size, len(SPECIALS))
    x[:k] = rng.permutation(SPECIALS)[:k]
    return x


@pytest.mark.parametrize("op", sorted(KE.BINARY_F32_OPS))
def test_binary_f32_vector(op, rng):
    for sa_, sb_ in F32_EDGE_SHAPES:
        out, shape, (sa, sb) = _layout(sa_, sb_)
        a, b = _f32_data(sa_, rng), _f32_data(sb_, rng)
        n = int(np.prod(out))
        got, spec, ref, want = (np.empty(n, F32) for _ in range(4))
        for clamp, lo, hi in ((False, F32(-1), F32(2)), (True, F32(-1), F32(2)), (True, F32(0), F32(3.4028235e38))):
            KE.binary_f32(op, a, b, shape, sa, sb, clamp, lo, hi, got)
            lo_, hi_ = (lo, hi) if clamp else (F32(-np.inf), F32(np.inf))
            KE.binary_f32_kernel(op)(a, b, shape, sa, sb, lo_, hi_, spec)
            KE.binary_minmax(op, a, b, shape, sa, sb, clamp, lo, hi, ref)
            RE.binary_f32(op, a, b, shape, sa, sb, clamp, lo, hi, want)
            np.testing.assert_array_equal(got.view(np.int32), ref.view(np.int32), err_msg=f"{sa_} {sb_} {clamp}")
            np.testing.assert_array_equal(spec.view(np.int32), ref.view(np.int32))
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@pytest.mark.parametrize("op", [KE.ADD, KE.SUB, KE.MUL, KE.MAXIMUM, KE.MINIMUM])
def test_binary_int(op, dtype, rng):
    for sa_, sb_ in SHAPES:
        out, shape, (sa, sb) = _layout(sa_, sb_)
        info = np.iinfo(dtype)
        a = rng.integers(info.min, info.max, sa_, dtype=dtype).reshape(-1)     # wraps like C++
        b = rng.integers(-1000, 1000, sb_, dtype=dtype).reshape(-1)
        got, want = np.empty(out, dtype).reshape(-1), np.empty(out, dtype).reshape(-1)
        KE.binary_minmax(op, a, b, shape, sa, sb, True, dtype(-5), dtype(info.max), got)
        RE.binary_minmax(op, a, b, shape, sa, sb, True, dtype(-5), dtype(info.max), want)
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64, np.bool_])
def test_compare(dtype, rng):
    ops = [KE.EQUAL, KE.NOT_EQUAL] if dtype == np.bool_ else \
        [KE.LESS, KE.LESS_EQUAL, KE.GREATER, KE.GREATER_EQUAL, KE.EQUAL, KE.NOT_EQUAL]
    if dtype == np.bool_:
        ops += [KE.LOGICAL_AND, KE.LOGICAL_OR]
    for sa_, sb_ in SHAPES:
        out, shape, (sa, sb) = _layout(sa_, sb_)
        a = rng.integers(-2, 3, sa_).astype(dtype).reshape(-1)
        b = rng.integers(-2, 3, sb_).astype(dtype).reshape(-1)
        for op in ops:
            got, want = np.empty(out, bool).reshape(-1), np.empty(out, bool).reshape(-1)
            KE.compare_bool(op, a, b, shape, sa, sb, got)
            RE.compare_bool(op, a, b, shape, sa, sb, want)
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", [np.float32, np.int8])
def test_select(dtype, rng):
    cases = [((5,), (5,), (5,)), ((3, 1), (1, 17), ()), ((), (4, 4), (4, 1)), ((2, 1, 3), (1, 5, 1), (2, 5, 3))]
    for cs, xs, ys in cases:
        out, shape, (sc, sx, sy) = _layout(cs, xs, ys)
        c = (rng.random(cs) < 0.5).reshape(-1)
        x = rng.integers(-50, 50, xs).astype(dtype).reshape(-1)
        y = rng.integers(-50, 50, ys).astype(dtype).reshape(-1)
        got, want = np.empty(out, dtype).reshape(-1), np.empty(out, dtype).reshape(-1)
        KE.select_bcast(c, x, y, shape, sc, sx, sy, got)
        RE.select_bcast(c, x, y, shape, sc, sx, sy, want)
        np.testing.assert_array_equal(got, want)


# Unary: exact ops bit-exact; libm float32 functions vs NumPy's float32 ufuncs
# (each <1 ulp, SIMD-vs-scalar implementations differ): rtol 2 ulp = 2.4e-7,
# plus 1e-7 absolute for sin/cos near their zeros.
@pytest.mark.parametrize("n", [1, 15, 16, 17, 100])
@pytest.mark.parametrize("op", [KE.ABS, KE.NEG, KE.EXP, KE.LOG, KE.SQRT, KE.RSQRT, KE.SQUARE, KE.SIN, KE.COS,
                                KE.FLOOR, KE.CEIL, KE.ROUND])
def test_unary(op, n, rng):
    x = rng.uniform(-20, 20, n).astype(F32)
    if op in (KE.LOG, KE.SQRT, KE.RSQRT):
        x = np.abs(x) + F32(1e-3)
    if op == KE.ROUND and n >= 6:
        x[:6] = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5]
    got, want = np.empty_like(x), np.empty_like(x)
    KE.unary_f32(op, x, got)
    RE.unary_f32(op, x, want)
    if op in (KE.EXP, KE.LOG, KE.RSQRT, KE.SIN, KE.COS):
        np.testing.assert_allclose(got, want, rtol=2.4e-7, atol=1e-7)
    else:
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("src,dst", [(np.float32, np.int32), (np.float32, np.bool_), (np.int32, np.float32),
                                     (np.int32, np.int8), (np.bool_, np.int64), (np.int64, np.uint8)])
def test_cast(src, dst, rng):
    x = rng.uniform(-200, 200, 37).astype(src)
    got, want = np.empty(37, dst), np.empty(37, dst)
    KE.cast(x, got)
    RE.cast(x, want)
    np.testing.assert_array_equal(got, want)
    b = rng.random(19) < 0.5
    got, want = np.empty(19, bool), np.empty(19, bool)
    KE.logical_not_bool(b, got)
    RE.logical_not_bool(b, want)
    np.testing.assert_array_equal(got, want)


# Activations vs float64 twins rounded once: ours are float32 libm chains of
# 2-4 operations (e.g. 0.5*x*erfc(..)), each <1 ulp: rtol 4 ulp = 5e-7, plus
# 1e-7 absolute near zero crossings (tanh/gelu at x ~ 0, sigmoid tails).
@pytest.mark.parametrize("n", [1, 16, 17, 200])
@pytest.mark.parametrize("op", [KA.LOGISTIC, KA.TANH, KA.RELU, KA.RELU6, KA.RELU_N1_TO_1, KA.LEAKY_RELU, KA.ELU,
                                KA.HARD_SWISH, KA.GELU_TANH, KA.GELU_ERF])
def test_activation(op, n, rng):
    x = (rng.standard_normal(n) * 6).astype(F32)
    x[: min(n, 5)] = [0.0, -100.0, 100.0, -3.0, 6.0][: min(n, 5)]
    got, want = np.empty_like(x), np.empty_like(x)
    KA.activation_f32(op, F32(0.3), x, got)
    RA.activation_f32(op, F32(0.3), x, want)
    np.testing.assert_allclose(got, want, rtol=5e-7, atol=1e-7)


# Softmax vs float64 twin: float32 exp (<1 ulp) and a sequential float32 sum of
# `depth` terms (relative error <= depth*eps in the worst case, ~sqrt(depth)*eps
# typically): rtol 2e-6 covers depth 1000.  Log-softmax: the sum's relative
# error becomes an absolute error of log(sum): ~sqrt(1000)*6e-8 = 2e-6
# typical (1.4e-6 observed), atol 5e-6.
@pytest.mark.parametrize("rows,depth", [(1, 1), (3, 16), (2, 17), (5, 1000)])
def test_softmax(rows, depth, rng):
    x = (rng.standard_normal((rows, depth)) * 5).astype(F32)
    for beta in (1.0, 0.3):
        got, want = np.empty_like(x), np.empty_like(x)
        KS.softmax_f32_rows(x, F32(beta), got)
        RS.softmax_f32_rows(x, F32(beta), want)
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-9)
    got, want = np.empty_like(x), np.empty_like(x)
    KS.log_softmax_f32_rows(x, got)
    RS.log_softmax_f32_rows(x, want)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=5e-6)


def test_no_recompilation(rng):
    """New data of the same types must not add Numba specializations."""
    out, shape, (sa, sb) = _layout((4, 5), (5,))
    a, b, o = rng.random(20).astype(F32), rng.random(5).astype(F32), np.empty(20, F32)
    KE.binary_minmax(KE.ADD, a, b, shape, sa, sb, False, F32(0), F32(1), o)
    n = len(KE.binary_minmax.signatures)
    KE.binary_minmax(KE.MUL, a * 2, b + 1, shape, sa, sb, True, F32(0), F32(1), o)
    assert len(KE.binary_minmax.signatures) == n
