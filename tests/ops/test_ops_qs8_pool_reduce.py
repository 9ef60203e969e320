"""Quantized (int8 / uint8 / int16) pooling, MEAN, SUM, REDUCE_MAX/MIN and resizes vs LiteRT.

Everything here is integer-exact or a fixed float32 formula, so every comparison is
bit-exact (assert_array_equal), against both LiteRT resolvers:
("default", numerics="xnnpack") and ("builtin", numerics="tflite").  Also the new
kernels against their NumPy twins, and the quantization parameters of the real int8
models in /work/shared/models/generated.
"""
import numpy as np
import pytest
from tflite_build import ModelBuilder, run_litert, run_ours

from numba_infer.errors import ModelValidationError, NumbaInferError, UnsupportedError
from numba_infer.kernels import pool, reduce, resize
from numba_infer.kernels.reference import pool as rpool
from numba_infer.kernels.reference import reduce as rreduce
from numba_infer.kernels.reference import resize as rresize

MODES = [("default", "xnnpack"), ("builtin", "tflite")]
ZP = {np.int8: -5, np.uint8: 120, np.int16: 0}


def qmodel(op, xshape, dt, inq, outshape, outq, opts, consts=()):
    b = ModelBuilder()
    i = b.input(list(xshape), dt, name="x", scale=inq[0], zero_point=inq[1])
    ins = [i] + [b.const(c) for c in consts]
    o = b.tensor(list(outshape), dt, name="y", scale=outq[0], zero_point=outq[1])
    b.op(op, ins, [o], opts)
    return b.build(outputs=[o])


def rnd(shape, dt, seed=0):
    ii = np.iinfo(dt)
    return np.random.default_rng(seed).integers(ii.min, ii.max + 1, shape).astype(dt)


def check(m, x, modes=MODES):
    for resolver, numerics in modes:
        want = run_litert(m, [x], resolver)[0]
        got = run_ours(m, [x], numerics=numerics)[0]
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want, err_msg=f"{resolver}/{numerics}")


def reduced(shape, axes, keep):
    ax = {a % len(shape) for a in axes}
    return tuple(1 if d in ax else n for d, n in enumerate(shape)) if keep else \
        tuple(n for d, n in enumerate(shape) if d not in ax)


# ---------------------------------------------------------------- pooling
POOLS = [((1, 11, 13, 7), 3, 3, 2, 2, 0), ((2, 9, 9, 4), 2, 2, 3, 3, 0), ((1, 8, 8, 5), 5, 5, 1, 1, 1),
         ((1, 20, 20, 3), 20, 20, 1, 1, 1), ((1, 31, 29, 16), 2, 2, 2, 2, 1), ((1, 7, 8, 3), 3, 2, 1, 3, 0)]


@pytest.mark.parametrize("op", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
@pytest.mark.parametrize("dt", [np.int8, np.uint8, np.int16])
@pytest.mark.parametrize("case", POOLS)
@pytest.mark.parametrize("act", [0, 1, 3])
def test_pool_q(op, dt, case, act):
    xs, kh, kw, sh, sw, pad = case
    h, w = xs[1], xs[2]
    oh, ow = (-(-h // sh), -(-w // sw)) if pad == 0 else ((h - kh) // sh + 1, (w - kw) // sw + 1)
    q = (0.05 if dt != np.int16 else 0.0005, ZP[dt])
    o = dict(padding=pad, stride_h=sh, stride_w=sw, filter_height=kh, filter_width=kw, fused_activation_function=act)
    m = qmodel(op, xs, dt, q, (xs[0], oh, ow, xs[3]), q, o)
    check(m, rnd(xs, dt, kh))


def test_pool_opzoo_params():
    q = (0.002857242478057742, -128)          # opzoo_int8 AVERAGE/MAX_POOL_2D
    for op in ["AVERAGE_POOL_2D", "MAX_POOL_2D"]:
        m = qmodel(op, (1, 31, 29, 16), np.int8, q, (1, 15, 14, 16), q,
                   dict(padding=1, stride_h=2, stride_w=2, filter_height=2, filter_width=2))
        check(m, rnd((1, 31, 29, 16), np.int8, 1))


@pytest.mark.parametrize("op", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
def test_pool_q_mismatched_params_refused(op):
    # TFLite ignores the output parameters here (no requantization); we refuse instead.
    m = qmodel(op, (1, 4, 4, 2), np.int8, (0.1, 0), (1, 2, 2, 2), (0.2, 0),
               dict(padding=1, stride_h=2, stride_w=2, filter_height=2, filter_width=2))
    with pytest.raises(UnsupportedError):
        run_ours(m, [np.zeros((1, 4, 4, 2), np.int8)])


# ---------------------------------------------------------------- MEAN / SUM
def _mean_cases():
    rng = np.random.default_rng(21)
    cases = []
    for trial in range(60):
        dt = [np.int8, np.uint8, np.int16][trial % 3]
        op = ["MEAN", "SUM"][(trial // 3) % 2]
        rank = int(rng.integers(1, 5))
        xs = tuple(int(v) for v in rng.integers(1, 10, rank))
        if trial % 7 == 0:
            rank, xs = 4, (int(rng.integers(1, 3)),) + tuple(int(v) for v in rng.integers(1, 12, 3))
        ax = sorted(rng.choice(rank, rng.integers(1, rank + 1), replace=False).tolist()) if trial % 7 else [1, 2]
        ii = np.iinfo(dt)
        inq = (float(rng.uniform(1e-4, 1e-3)), 0) if dt == np.int16 else \
            (float(rng.uniform(0.01, 0.2)), int(rng.integers(ii.min, ii.max + 1)))
        ratio = float(rng.choice([1.0, 0.5, 2.0, float(rng.uniform(0.3, 3))]))
        if op == "SUM":
            ratio /= np.prod([xs[a] for a in ax])
        outq = (inq[0] / ratio, 0 if dt == np.int16 else int(rng.integers(ii.min, ii.max + 1)))
        keep = bool(rng.integers(0, 2)) or trial % 7 == 0
        cases.append((op, dt, xs, ax, keep, inq, outq, trial))
    return cases


@pytest.mark.parametrize("case", _mean_cases(), ids=lambda c: f"{c[0]}-{c[1].__name__}-{c[7]}")
def test_mean_sum_q(case):
    op, dt, xs, ax, keep, inq, outq, seed = case
    m = qmodel(op, xs, dt, inq, reduced(xs, ax, keep), outq, dict(keep_dims=keep), consts=[np.array(ax, np.int32)])
    check(m, rnd(xs, dt, seed))


def test_mean_ties_xnnpack_adds_zero_point_before_rounding():
    # in_scale == out_scale, r = 14: the mean hits exact .5 ties, where XNNPack's float32
    # order (acc*scale, then + bias holding both zero points, then half-to-even) decides.
    m = qmodel("MEAN", (1, 14, 14, 33), np.int8, (0.1, 3), (1, 14, 1, 33), (0.1, 3), dict(keep_dims=True),
               consts=[np.array([2], np.int32)])
    check(m, rnd((1, 14, 14, 33), np.int8, 1))


# (input shape, axes, keep, in (scale, zp), out (scale, zp)) read from the real int8 models
REAL_MEANS = [
    ((1, 7, 7, 1280), [1, 2], False, (0.0235294122248888, -128), (0.006672592833638191, -128)),   # mobilenet_v2
    ((1, 17, 17, 288), [1, 2], True, (0.0235294122248888, -128), (0.004508604295551777, -128)),   # deeplab_mini
    ((2, 5, 9, 37), [1, 2], True, (0.05, -3), (0.05, 3)),         # 4-D path: NEON blocks + scalar tail, ties
    ((1, 14, 14, 192), [1, 2], False, (0.03391514718532562, -120), (0.004036166705191135, -80)),  # efficientnet
    ((1, 7, 7, 1280), [1, 2], False, (0.022546330466866493, -116), (0.008202051743865013, -95)),
    ((1, 64, 128), [-1], True, (0.0005126054165884852, 7), (6.71463567414321e-05, 12)),          # tiny_bert
    ((1, 64, 128), [-1], True, (1.8654582163435407e-05, -128), (8.136014002957381e-06, -128)),
    ((1, 64, 128), [1], False, (0.028853271156549454, -4), (0.008526195771992207, 7)),
    ((1, 128, 256), [-1], True, (0.04154292866587639, 0), (0.0007185403374023736, -50)),         # transformer
]


@pytest.mark.parametrize("case", REAL_MEANS)
def test_mean_real_model_params(case):
    xs, ax, keep, inq, outq = case
    m = qmodel("MEAN", xs, np.int8, inq, reduced(xs, ax, keep), outq, dict(keep_dims=keep),
               consts=[np.array(ax, np.int32)])
    rng = np.random.default_rng(5)
    check(m, rng.integers(-128, 128, xs).astype(np.int8))
    # realistic post-ReLU6 activations: most values near the zero point
    check(m, np.clip(inq[1] + rng.exponential(20, xs), -128, 127).astype(np.int8))


@pytest.mark.parametrize("op", ["REDUCE_MAX", "REDUCE_MIN"])
@pytest.mark.parametrize("dt", [np.int8, np.uint8, np.int16])
def test_reduce_max_min_q(op, dt):
    q = (0.05, ZP[dt])
    for xs, ax in [((1, 60, 56, 8), [1, 2]), ((2, 3, 4, 5), [0, 2]), ((3, 7), [1])]:
        m = qmodel(op, xs, dt, q, reduced(xs, ax, False), q, dict(keep_dims=False), consts=[np.array(ax, np.int32)])
        check(m, rnd(xs, dt, 2))


def test_mean_q_invalid():
    x = np.zeros((2, 3), np.int8)
    m = qmodel("MEAN", (2, 3), np.int16, (0.1, 3), (2,), (0.1, 0), dict(keep_dims=False),
               consts=[np.array([1], np.int32)])
    with pytest.raises(ModelValidationError):                 # int16 needs zero point 0
        run_ours(m, [x.astype(np.int16)])
    for outq in [(0.0, 0), (0.1, 300)]:
        m = qmodel("SUM", (2, 3), np.int8, (0.1, 3), (2,), outq, dict(keep_dims=False),
                   consts=[np.array([1], np.int32)])
        with pytest.raises(ModelValidationError):
            run_ours(m, [x])
    m = qmodel("MEAN", (2, 3), np.int8, (0.1, 3), (2, 3), (0.1, 3), dict(keep_dims=False),
               consts=[np.zeros(0, np.int32)])
    with pytest.raises(NumbaInferError):
        run_ours(m, [x])


# ---------------------------------------------------------------- resizes
RESIZES = [((5, 7), (9, 13)), ((8, 8), (4, 3)), ((4, 6), (4, 6)), ((3, 3), (1, 7)), ((1, 5), (3, 2)),
           ((1, 1), (17, 17)), ((6, 10), (13, 21)), ((2, 3), (40, 50)), ((4, 4), (8, 8))]


@pytest.mark.parametrize("op", ["RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR"])
@pytest.mark.parametrize("dt", [np.int8, np.uint8, np.int16])
@pytest.mark.parametrize("align,half", [(False, False), (True, False), (False, True)])
def test_resize_q(op, dt, align, half):
    q = (0.05, ZP[dt])
    for (h, w), (oh, ow) in RESIZES:
        xs = (2, h, w, 3)
        m = qmodel(op, xs, dt, q, (2, oh, ow, 3), q, dict(align_corners=align, half_pixel_centers=half),
                   consts=[np.array([oh, ow], np.int32)])
        check(m, rnd(xs, dt, h * w))


def test_resize_deeplab_params():
    for xs, size, q in [((1, 1, 1, 64), (17, 17), (0.021870918571949005, -128)),
                        ((1, 17, 17, 21), (257, 257), (0.022005099803209305, -2))]:
        m = qmodel("RESIZE_BILINEAR", xs, np.int8, q, (1,) + size + (xs[3],), q,
                   dict(align_corners=False, half_pixel_centers=True), consts=[np.array(size, np.int32)])
        check(m, rnd(xs, np.int8, 9))


def test_resize_q_huge_upsample_no_out_of_bounds():
    # TFLite's integer kernel reads past the last row here (lower index unclamped); we
    # clamp, so only check that it runs and stays within the input's range.
    m = qmodel("RESIZE_BILINEAR", (1, 2, 2, 1), np.int8, (0.1, 0), (1, 90, 90, 1), (0.1, 0), {},
               consts=[np.array([90, 90], np.int32)])
    x = np.array([[[[10], [20]], [[30], [40]]]], np.int8)
    got = run_ours(m, [x], numerics="tflite")[0]
    assert got.min() >= 10 and got.max() <= 40


def test_resize_q_mismatched_params_refused():
    m = qmodel("RESIZE_BILINEAR", (1, 2, 2, 1), np.int8, (0.1, 0), (1, 4, 4, 1), (0.2, 0), {},
               consts=[np.array([4, 4], np.int32)])
    with pytest.raises(UnsupportedError):
        run_ours(m, [np.zeros((1, 2, 2, 1), np.int8)])


# ---------------------------------------------------------------- kernels vs NumPy twins
@pytest.mark.parametrize("dt", [np.int8, np.uint8, np.int16])
def test_kernel_twins(dt):
    rng = np.random.default_rng(3)
    ii = np.iinfo(dt)
    x = rnd((2, 9, 7, 5), dt, 1)
    for args in [(3, 3, 2, 2, 1, 1), (2, 4, 1, 3, 0, 2), (9, 7, 1, 1, 4, 3)]:
        oh, ow = (9 + 2 * args[4] - args[0]) // args[2] + 1, (7 + 2 * args[5] - args[1]) // args[3] + 1
        got, ref = np.zeros((2, oh, ow, 5), dt), np.zeros((2, oh, ow, 5), dt)
        a = tuple(np.int64(v) for v in args) + (np.int64(ii.min + 3), np.int64(ii.max - 2))
        pool.avgpool_q_minmax(x, *a, np.full(5, 12345, np.int32), got)      # scratch: any contents
        rpool.avgpool_q_minmax(x, *a, None, ref)
        np.testing.assert_array_equal(got, ref)
    x3 = rnd((3, 50, 7), dt, 2)
    qlo, qhi = np.int64(ii.min), np.int64(ii.max)
    for fn, args in [("mean_q_mbqm", (np.int64(-250), np.int64(1518500250), np.int64(-6), np.int64(4), np.int64(4), qlo, qhi)),
                     ("mean_q_xnn", (np.float32(0.0173), np.float32(-2.53), qlo, qhi)),
                     ("sum_q_f32", (np.float32(0.0173), np.float32(2.5), np.int64(7), qlo, qhi))]:
        if fn == "mean_q_xnn" and dt == np.int16:
            continue                       # 8-bit only (XNNPack's qs8/qu8 reduce; int16 never reaches it)
        got, ref = np.zeros((3, 7), dt), np.zeros((3, 7), dt)
        getattr(reduce, fn)(x3, *args, got)
        getattr(rreduce, fn)(x3, *args, ref)
        np.testing.assert_array_equal(got, ref, err_msg=fn)
    from numba_infer.ops.resize import bilinear_coords, bilinear_coords_q10, bilinear_coords_q11
    xi = rnd((2, 5, 6, 3), dt, 4)
    for coords, fn in [(bilinear_coords_q10, "resize_bilinear_q10"), (bilinear_coords_q11, "resize_bilinear_q11"),
                       (bilinear_coords, "resize_bilinear_u8_f32")]:
        if fn == "resize_bilinear_u8_f32" and dt != np.uint8:
            continue
        if fn == "resize_bilinear_q11" and dt == np.int16:
            continue                       # 8-bit only (XNNPack's s8/u8-ibilinear, int32 lanes)
        for half in (False, True):
            ys, xs = coords(5, 11, False, half), coords(6, 4, False, half)
            got, ref = np.zeros((2, 11, 4, 3), dt), np.zeros((2, 11, 4, 3), dt)
            getattr(resize, fn)(xi, *ys, *xs, got, *((0, 11, np.zeros(2 * 4 * 3, np.int32))
                                                     if fn == "resize_bilinear_q11" else ()))
            getattr(rresize, fn)(xi, *ys, *xs, ref)
            np.testing.assert_array_equal(got, ref, err_msg=fn)
    del rng
