"""kernels/dynquant.py vs the NumPy twins: q, scale and zero point bit-exact."""
import numpy as np
import pytest

from numba_infer.kernels import dynquant as K
from numba_infer.kernels.reference import dynquant as R


def _rows(K_, seed):
    rng = np.random.default_rng(seed)
    rows = [np.zeros(K_), np.full(K_, 3.5), np.full(K_, -0.25), rng.uniform(0, 4, K_), -rng.uniform(0, 4, K_),
            rng.normal(0, 1, K_), rng.normal(2, 1, K_) * 1e-20, rng.normal(0, 1, K_) * 1e20]
    r = np.zeros(K_)
    r[K_ // 2] = 1.7                                   # single value
    rows.append(r)
    # exact tie points for the XNNPack multiplier 255/(max-min) with max-min = 255/2: x*mult = k + 0.5
    t = (np.arange(K_) % 40 - 20 + 0.5) / 2.0
    t[0], t[-1] = -63.75, 63.75
    rows.append(t)
    rows.append(np.linspace(-1, 3, K_))
    return np.ascontiguousarray(np.array(rows, np.float32))


@pytest.mark.parametrize("k", [1, 2, 15, 16, 17, 64, 100, 288, 5000])
def test_dynquant_variants(k):
    x = _rows(k, k)
    M = x.shape[0]
    for offset, dt in [(0, np.int8), (128, np.uint8)]:
        outs = [(np.zeros((M, k), dt), np.zeros(M, np.float32), np.zeros(M, np.int32)) for _ in range(2)]
        K.dynquant_f32_qd8_xnn(x, offset, *outs[0])
        R.dynquant_f32_qd8_xnn(x, offset, *outs[1])
        for a, b in zip(*outs):
            np.testing.assert_array_equal(a, b)
    for fn in ("dynquant_f32_qd8_tflite", "dynquant_f32_qs8_tflite_sym"):
        for offset, dt in [(0, np.int8), (128, np.uint8)]:
            outs = [(np.zeros((M, k + 3), dt), np.zeros(M, np.float32), np.zeros(M, np.int32)) for _ in range(2)]
            getattr(K, fn)(x, offset, *outs[0])          # q wider than x (row stride > K, as the GEMMs use)
            getattr(R, fn)(x, offset, *outs[1])
            for a, b in zip(*outs):
                np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("k", [1, 16, 33, 100])
def test_dynquant_xnn_strides(k):
    """Rows wider than K (the GEMMs' row stride) and non-unit strides (the
    scalar fallback) give the same codes; bytes past K are left alone."""
    x = _rows(k, k + 1)
    M = x.shape[0]
    exp = (np.zeros((M, k), np.uint8), np.zeros(M, np.float32), np.zeros(M, np.int32))
    R.dynquant_f32_qd8_xnn(x, 128, *exp)
    for q in (np.full((M, k + 5), 7, np.uint8), np.full((M, 2 * k), 7, np.uint8)[:, ::2]):
        s, z = np.zeros(M, np.float32), np.zeros(M, np.int32)
        K.dynquant_f32_qd8_xnn(x, 128, q, s, z)
        np.testing.assert_array_equal(q[:, :k], exp[0])
        np.testing.assert_array_equal(s, exp[1])
        np.testing.assert_array_equal(z, exp[2])
        if q.shape[1] > k:
            assert (q[:, k:] == 7).all()
    xs = np.repeat(x, 2, axis=1)[:, ::2]                  # strided x
    q, s, z = np.zeros((M, k), np.uint8), np.zeros(M, np.float32), np.zeros(M, np.int32)
    K.dynquant_f32_qd8_xnn(xs, 128, q, s, z)
    np.testing.assert_array_equal(q, exp[0])
    q1, s1, z1 = np.zeros(k, np.uint8), np.zeros(M, np.float32), np.zeros(M, np.int32)
    for fn in (K.row_qd8_xnn_simd, R.row_qd8_xnn_simd):
        fn(x[3], 128, q1, s1, z1, 3)
        np.testing.assert_array_equal(q1, exp[0][3])
        assert s1[3] == exp[1][3] and z1[3] == exp[2][3]


def test_known_values():
    x = np.zeros((1, 4), np.float32)
    q, s, z = np.zeros((1, 4), np.int8), np.zeros(1, np.float32), np.zeros(1, np.int32)
    K.dynquant_f32_qd8_xnn(x, 0, q, s, z)               # XNNPack: all-zero row -> zp 127, q 127, scale 1
    assert z[0] == 127 and s[0] == 1 and (q == 127).all()
    K.dynquant_f32_qd8_tflite(x, 0, q, s, z)            # TFLite: zp 0, q 0, scale 1
    assert z[0] == 0 and s[0] == 1 and (q == 0).all()
    x = np.float32([[0.0, 1.0, 2.55]])                   # positive only: rmin = 0 -> zp -128
    K.dynquant_f32_qd8_xnn(x, 0, q[:, :3], s, z)
    assert z[0] == -128 and q[0, 0] == -128 and q[0, 2] == 127
    # dequantized values are within half a step of the input
    rng = np.random.default_rng(3)
    x = rng.normal(0, 1, (5, 300)).astype(np.float32)
    q, s, z = np.zeros((5, 300), np.int8), np.zeros(5, np.float32), np.zeros(5, np.int32)
    K.dynquant_f32_qd8_xnn(x, 0, q, s, z)
    deq = s[:, None] * (q.astype(np.float32) - z[:, None])
    assert np.all(np.abs(deq - x) <= s[:, None] * 0.5001 + np.abs(z[:, None]) * s[:, None] * 1e-6)


def test_tflite_zero_point_added_after_rounding():
    """LiteRT's x86 AsymmetricQuantizeFloats computes zp + round(x*inv); the
    portable round(zp + x*inv) differs when the float add lands on a .5 tie.
    Row [0, 6, v] (a relu6 output): scale = float32(6/255), zp = -128; v is
    chosen so that float32(v*inv) is the float just above 0.5: round -> 1,
    q = -127 (float32(-128 + 0.50000006) = -127.5 would round to -128)."""
    sf = np.float32(6.0 / 255.0)
    inv = np.float32(1.0) / sf
    v = np.float32(0.5) / inv
    while np.float32(v * inv) <= np.float32(0.5):
        v = np.nextafter(v, np.float32(1))
    assert np.float32(np.float32(-128) + np.float32(v * inv)) == np.float32(-127.5)
    x = np.float32([[0.0, 6.0, v]])
    q, s, z = np.zeros((1, 3), np.int8), np.zeros(1, np.float32), np.zeros(1, np.int32)
    K.dynquant_f32_qd8_tflite(x, 0, q, s, z)
    assert z[0] == -128 and s[0] == sf
    assert q.tolist() == [[-128, 127, -127]]


@pytest.mark.parametrize("k", [7, 8, 9, 23, 24, 100, 1003])
def test_tflite_quantizers_simd_equal_scalar(k):
    """The TFLite quantizers' 16-lane code loop (unit strides) against their scalar loop
    (a strided view of the same rows takes it): same codes, scales and zero points,
    incl. NaN (-> the lowest code), +-0 products, x*inv = 0.49999997 (the vector part's
    float add rounds up to 1) and the scalar tail past K & ~7."""
    x = _rows(k, 3 * k)
    x[5, 0] = np.nan
    x[6, 1] = -0.0
    x[3, k // 2] = np.float32(0.49999997) * (x[3].max() - min(0, x[3].min())) / 255
    M = x.shape[0]
    xs = np.repeat(x, 2, axis=1)[:, ::2]
    for fn in (K.dynquant_f32_qd8_tflite, K.dynquant_f32_qs8_tflite_sym):
        for offset, dt in [(0, np.int8), (128, np.uint8)]:
            a = (np.zeros((M, k), dt), np.zeros(M, np.float32), np.zeros(M, np.int32))
            b = (np.zeros((M, k), dt), np.zeros(M, np.float32), np.zeros(M, np.int32))
            fn(x, offset, *a)
            fn(xs, offset, *b)
            for u, v in zip(a, b):
                np.testing.assert_array_equal(u, v)


def _scalar_xnn(x, offset, dt):
    """dynquant_f32_qd8_xnn through its scalar per-row fallback (a strided view of x)."""
    M, k = x.shape
    xs = np.repeat(x, 2, axis=1)[:, ::2]
    out = (np.zeros((M, k), dt), np.zeros(M, np.float32), np.zeros(M, np.int32))
    K.dynquant_f32_qd8_xnn(xs, offset, *out)
    return out


def test_dynquant_xnn_blocked_random_shapes():
    """The 16-row-block SIMD path (flat offsets, vector parameters) against the
    scalar per-row fallback and the NumPy twin: bit-exact codes, scales, zero
    points over M in 1..40 (block remainders), K in 1..300 (vector remainders),
    row strides wider than K, varied ranges (zero points over -128..127)."""
    rng = np.random.default_rng(11)
    ks = [1, 2, 15, 16, 17, 31, 63, 64, 65, 100, 127, 128, 129, 191, 255, 300]
    for t in range(60):
        M = int(rng.integers(1, 41)) if t > 3 else (1, 15, 16, 17)[t]
        k = int(ks[t % len(ks)]) if t < 32 else int(rng.integers(1, 301))
        shift = rng.uniform(-3, 3, (M, 1))
        x = (rng.normal(0, 1, (M, k)) * 10.0 ** rng.uniform(-6, 6, (M, 1)) + shift).astype(np.float32)
        x[rng.random(M) < 0.1] = 0.0                       # all-zero rows
        neg = rng.random(M) < 0.15
        x[neg] = -np.abs(x[neg])                            # only-negative rows
        pos = rng.random(M) < 0.15
        x[pos] = np.abs(x[pos])                             # only-positive rows
        const = rng.random(M) < 0.1
        x[const] = np.float32(rng.normal())                 # constant rows
        offset, dt = ((0, np.int8), (128, np.uint8))[t % 2]
        pad = int(rng.integers(0, 3))
        xw = np.zeros((M, k + pad), np.float32)
        xw[:, :k] = x
        xv = xw[:, :k]                                      # row stride > K when pad > 0
        q = np.full((M, k + 2), 7, dt)
        s, z = np.zeros(M, np.float32), np.zeros(M, np.int32)
        K.dynquant_f32_qd8_xnn(xv, offset, q[:, :k], s, z)
        exp = _scalar_xnn(x, offset, dt)
        twin = (np.zeros((M, k), dt), np.zeros(M, np.float32), np.zeros(M, np.int32))
        R.dynquant_f32_qd8_xnn(x, offset, *twin)
        for a, b, c in zip((q[:, :k], s, z), exp, twin):
            np.testing.assert_array_equal(a, b)
            np.testing.assert_array_equal(a, c)
        assert (q[:, k:] == 7).all()


@pytest.mark.parametrize("M", [1, 5, 16, 19])
def test_dynquant_xnn_blocked_special_values(M):
    """Denormals, huge ranges, +-inf and signed zeros: the blocked SIMD path
    equals the scalar fallback bit for bit (the twin too where the parameters
    are finite)."""
    rng = np.random.default_rng(M)
    k = 37
    x = rng.normal(0, 1, (M, k)).astype(np.float32)
    special = [np.float32(1e-40) * rng.normal(0, 1, k), np.full(k, 1e-45), -np.full(k, 1e-45),
               rng.normal(0, 1, k) * 3e38, np.full(k, -0.0), np.r_[[3.0e38, -3.0e38], np.zeros(k - 2)],
               np.r_[[np.inf], rng.normal(0, 1, k - 1)], np.r_[[-np.inf], rng.normal(0, 1, k - 1)]]
    for i in range(M):
        x[i] = special[i % len(special)] if i % 2 == 0 or M == 1 else x[i]
    x = x.astype(np.float32)
    for offset, dt in ((0, np.int8), (128, np.uint8)):
        out = (np.zeros((M, k), dt), np.zeros(M, np.float32), np.zeros(M, np.int32))
        K.dynquant_f32_qd8_xnn(x, offset, *out)
        exp = _scalar_xnn(x, offset, dt)
        for a, b in zip(out, exp):
            np.testing.assert_array_equal(a, b)
        fin = np.isfinite(x).all(axis=1) & np.isfinite(out[1]) & (out[1] > 0)
        twin = (np.zeros((M, k), dt), np.zeros(M, np.float32), np.zeros(M, np.int32))
        with np.errstate(all="ignore"):
            R.dynquant_f32_qd8_xnn(x, offset, *twin)
        for a, b in zip(out, twin):
            np.testing.assert_array_equal(a[fin], b[fin])


def test_dynquant_xnn_one_row_specials():
    """One row takes the scalar parameters (no 16-lane block): every special row of the
    test above, alone, equals the scalar fallback bit for bit."""
    rng = np.random.default_rng(3)
    k = 37
    rows = [np.float32(1e-40) * rng.normal(0, 1, k), np.full(k, 1e-45), -np.full(k, 1e-45),
            rng.normal(0, 1, k) * 3e38, np.full(k, -0.0), np.r_[[3.0e38, -3.0e38], np.zeros(k - 2)],
            np.r_[[np.inf], rng.normal(0, 1, k - 1)], np.r_[[-np.inf], rng.normal(0, 1, k - 1)],
            np.zeros(k), np.full(k, 2.5), -np.abs(rng.normal(0, 1, k)), np.abs(rng.normal(0, 1, k)) + 1]
    for r in rows:
        x = np.asarray(r, np.float32).reshape(1, k)
        for offset, dt in ((0, np.int8), (128, np.uint8)):
            out = (np.zeros((1, k), dt), np.zeros(1, np.float32), np.zeros(1, np.int32))
            K.dynquant_f32_qd8_xnn(x, offset, *out)
            for a, b in zip(out, _scalar_xnn(x, offset, dt)):
                np.testing.assert_array_equal(a, b)
