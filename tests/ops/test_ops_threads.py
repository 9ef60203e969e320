"""num_threads: 1-thread and multi-thread runs give identical outputs.

The threaded kernels (kernels/parallel.py, kernels/parallel_vnni.py) split
the output into row / channel chunks and run the serial code on each chunk,
never splitting K, so every output must be bit-identical to the serial path
(assert_array_equal).  The serial paths are checked against LiteRT in
test_ops_conv / test_ops_depthwise / test_ops_qd8 / test_ops_qs8_gemm.

The models are small (fast tests), so MIN_PARALLEL_US is patched to 0 to make
the lowerings choose the threaded kernels, and every threaded kernel is
wrapped in a counter to check that it really ran.  Both runs happen in this
process: apply_threads sets Numba's thread count before each run.
"""
import numba
import numpy as np
import pytest
from numpy.testing import assert_array_equal

from tflite_build import ModelBuilder

import numba_infer
from numba_infer import isa
from numba_infer.kernels import dwconv_mt
from numba_infer.kernels import parallel as par
from numba_infer.model import apply_threads

NT = min(2, numba.config.NUMBA_NUM_THREADS)
pytestmark = pytest.mark.skipif(NT < 2, reason="Numba runs with one thread only")

MT_KERNELS = ["gemm_f32_f32_f32_minmax_mt", "conv2d_f32_f32_f32_minmax_mt", "dwconv_f32_f32_f32_minmax_mt",
              "gemm_f32_f32_f32_minmax_cols_mt", "conv2d_direct_pad_f32_minmax_mt", "conv2d_f32_n8_rows2_minmax_mt",
              "conv2d_igemm_f32_minmax_mt",
              "batch_matmul_f32_strided_nat_mt", "batch_matmul_f32_strided_packed_mt", "resize_bilinear_f32_xnn_mt",
              "resize_bilinear_q11_mt", "space_to_batch_x_mt"]
MT_DW = ["dwconv_f32_f32_f32_rowmajor_minmax_mt", "dwconv_qdu8_qc8w_f32_minmax_mt", "dwconv_q8_q8_q8_mt"]
MT_VNNI = ["gemm_qd8_rows_f32_vnni_mt", "fc_qd8_gemv_vnni_mt", "conv2d_qdu8_qc8w_f32_vnni_mt", "conv2d_u8_i8_q8_vnni_mt"]


@pytest.fixture
def calls(monkeypatch):
    """Force threaded kernels on small ops; count calls of each threaded kernel."""
    monkeypatch.setattr(par, "MIN_PARALLEL_US", 0.0)
    counts = {}
    mods = [(par, MT_KERNELS), (dwconv_mt, MT_DW)]
    if isa.VNNI:
        from numba_infer.kernels import parallel_vnni
        mods.append((parallel_vnni, MT_VNNI))
    for mod, names in mods:
        for name in names:
            fn = getattr(mod, name)

            def wrapped(*a, _fn=fn, _name=name):
                counts[_name] = counts.get(_name, 0) + 1
                return _fn(*a)
            monkeypatch.setattr(mod, name, wrapped)
    yield counts
    apply_threads(None)


def run(model, feeds, threads, **kw):
    m = numba_infer.load(model, num_threads=threads, progress=False, **kw)
    return m(*feeds)


def check_same(model, feeds, calls, kernel, **kw):
    one = run(model, feeds, 1, **kw)
    assert not calls, f"1 thread must bind serial kernels, ran {calls}"
    many = run(model, feeds, NT, **kw)
    if kernel is not None:
        assert calls.get(kernel, 0) > 0, f"{kernel} did not run ({calls})"
    for k in one:
        assert_array_equal(one[k], many[k])
    # and again in the other order, same process
    assert_array_equal(run(model, feeds, 1, **kw)[k], many[k])


def conv_opts(stride=1, dil=1, pad=0, act=0, dm=None):
    o = {"padding": pad, "stride_h": stride, "stride_w": stride, "dilation_h_factor": dil, "dilation_w_factor": dil,
         "fused_activation_function": act}
    if dm is not None:
        o["depth_multiplier"] = dm
    return o


def out_size(n, k, s, d, pad):
    return (n + s - 1) // s if pad == 0 else (n - (k - 1) * d - 1) // s + 1


# (batch, h, w, cin, cout, kh, kw, stride, dilation, padding SAME=0/VALID=1, activation)
CONV_CASES = [
    (1, 13, 11, 16, 40, 1, 1, 1, 1, 0, 0),     # 1x1: direct GEMM over 143 rows
    (2, 9, 10, 5, 21, 3, 3, 2, 1, 0, 3),       # im2col, stride 2, batch 2, relu6
    (1, 17, 15, 8, 70, 3, 3, 1, 2, 1, 1),      # dilation, VALID, 2 panels
    (1, 12, 12, 16, 24, 3, 3, 1, 1, 0, 0),     # grouped: 4 groups (filter depth 4)
]


def f32_conv_model(rng, case):
    batch, h, w, cin, cout, kh, kw, s, d, pad, act = case
    cg = 4 if case is CONV_CASES[3] else cin
    b = ModelBuilder()
    x = b.input((batch, h, w, cin), np.float32)
    f = b.const(rng.standard_normal((cout, kh, kw, cg)).astype(np.float32))
    bb = b.const(rng.standard_normal(cout).astype(np.float32))
    o = b.tensor((batch, out_size(h, kh, s, d, pad), out_size(w, kw, s, d, pad), cout), np.float32)
    b.op("CONV_2D", [x, f, bb], [o], conv_opts(s, d, pad, act))
    return b.build(outputs=[o]), [rng.standard_normal((batch, h, w, cin)).astype(np.float32)]


@pytest.mark.parametrize("case", range(len(CONV_CASES)))
def test_conv_f32_threads(calls, case):
    rng = np.random.default_rng(case)
    model, feeds = f32_conv_model(rng, CONV_CASES[case])
    kernel = "gemm_f32_f32_f32_minmax_mt" if case == 0 else "conv2d_f32_f32_f32_minmax_mt"
    check_same(model, feeds, calls, kernel)


# (batch, h, w, cin, cout, kh, kw, stride, dilation, padding, activation, threaded kernel)
F32_MORE = [
    (1, 7, 7, 24, 256, 1, 1, 1, 1, 0, 0, "gemm_f32_f32_f32_minmax_cols_mt"),   # 49 rows: output channels split
    (1, 3, 3, 8, 128, 1, 1, 1, 1, 0, 1, "gemm_f32_f32_f32_minmax_cols_mt"),    # 9 rows (6 + 3): channels
    (1, 23, 21, 3, 32, 3, 3, 2, 1, 0, 3, "conv2d_direct_pad_f32_minmax_mt"),   # RGB stem: rows of the direct conv
    (2, 9, 10, 2, 40, 5, 5, 1, 1, 0, 0, "conv2d_direct_pad_f32_minmax_mt"),    # batch 2, 5x5
    (1, 1, 1, 48, 200, 1, 1, 1, 1, 0, 0, "gemm_f32_f32_f32_minmax_cols_mt"),   # squeeze-excite: one pixel, GEMV
    (1, 15, 14, 8, 8, 3, 3, 1, 1, 1, 1, "conv2d_f32_n8_rows2_minmax_mt"),      # cout <= 8: row pairs of the n8 conv
    (2, 9, 12, 5, 3, 3, 3, 2, 1, 0, 0, "conv2d_f32_n8_rows2_minmax_mt"),       # batch 2, odd oh, stride 2
    (2, 14, 28, 6, 16, 3, 3, 1, 1, 1, 1, "conv2d_igemm_f32_minmax_mt"),        # no im2col: padded image, rows
    (1, 29, 56, 5, 32, 3, 3, 2, 2, 0, 0, "conv2d_igemm_f32_minmax_mt"),        # stride 2, dilation 2
]


@pytest.mark.parametrize("case", range(len(F32_MORE)))
def test_conv_f32_threads_more(calls, case):
    rng = np.random.default_rng(10 + case)
    model, feeds = f32_conv_model(rng, F32_MORE[case][:-1])
    check_same(model, feeds, calls, F32_MORE[case][-1])


@pytest.mark.parametrize("m,k,n,kernel", [(1, 70, 300, "gemm_f32_f32_f32_minmax_cols_mt"),
                                          (40, 33, 50, "gemm_f32_f32_f32_minmax_mt"),
                                          (5, 64, 320, "gemm_f32_f32_f32_minmax_cols_mt")])
def test_fc_f32_threads(calls, m, k, n, kernel):
    """Float32 FULLY_CONNECTED: the one-row GEMV by weight panels, the GEMM by row
    tiles or (few rows) by weight panels."""
    rng = np.random.default_rng(m + k + n)
    b = ModelBuilder()
    x = b.input((m, k), np.float32)
    w = b.const(rng.standard_normal((n, k)).astype(np.float32))
    bb = b.const(rng.standard_normal(n).astype(np.float32))
    o = b.tensor((m, n), np.float32)
    b.op("FULLY_CONNECTED", [x, w, bb], [o], {"fused_activation_function": 1})
    check_same(b.build(outputs=[o]), [rng.standard_normal((m, k)).astype(np.float32)], calls, kernel)


def test_gemm_col_split():
    assert par.gemm_col_split(2, 49, 14, 1152, 32)          # 28 + 21 rows vs 576 + 576 columns
    assert not par.gemm_col_split(2, 196, 14, 192, 32)      # 14 tiles: 7 + 7
    assert par.gemm_col_split(2, 9, 14, 128, 32)            # one row tile
    assert not par.gemm_col_split(2, 3136, 28, 24, 16)      # a 56x56 map: rows


def hybrid_conv_model(rng, case, per_channel=True):
    batch, h, w, cin, cout, kh, kw, s, d, pad, act = case
    b = ModelBuilder()
    x = b.input((batch, h, w, cin), np.float32)
    sc = rng.uniform(0.005, 0.02, cout if per_channel else 1).astype(np.float32)
    f = b.const(rng.integers(-127, 128, (cout, kh, kw, cin)).astype(np.int8), scale=sc,
                zero_point=np.zeros(sc.size, np.int64), quantized_dimension=0)
    bb = b.const(rng.standard_normal(cout).astype(np.float32))
    o = b.tensor((batch, out_size(h, kh, s, d, pad), out_size(w, kw, s, d, pad), cout), np.float32)
    b.op("CONV_2D", [x, f, bb], [o], conv_opts(s, d, pad, act))
    return b.build(outputs=[o]), [rng.standard_normal((batch, h, w, cin)).astype(np.float32)]


@pytest.mark.skipif(not isa.VNNI, reason="threaded QD8 convs need AVX512-VNNI")
@pytest.mark.parametrize("numerics", ["xnnpack", "tflite"])
@pytest.mark.parametrize("case", range(3))
def test_conv_qd8_threads(calls, case, numerics):
    rng = np.random.default_rng(10 + case)
    model, feeds = hybrid_conv_model(rng, CONV_CASES[case], per_channel=case != 1)
    if case == 0 and numerics == "xnnpack":
        kernel = "gemm_qd8_rows_f32_vnni_mt"       # XNNPack: 1x1 conv = FC, one quantization per pixel
    else:
        kernel = "conv2d_qdu8_qc8w_f32_vnni_mt"
    check_same(model, feeds, calls, kernel, numerics=numerics)


@pytest.mark.skipif(not isa.VNNI, reason="threaded QD8 FCs need AVX512-VNNI")
@pytest.mark.parametrize("m,k,n", [(37, 40, 33), (128, 64, 70)])
def test_fc_qd8_threads(calls, m, k, n):
    """A dynamic-range FULLY_CONNECTED large enough splits its rows over the
    threads (quantization fused per chunk), with the one-thread bits."""
    rng = np.random.default_rng(m)
    b = ModelBuilder()
    x = b.input((m, k))
    sc = rng.uniform(0.005, 0.02, n).astype(np.float32)
    w = b.const(rng.integers(-127, 128, (n, k)).astype(np.int8), scale=sc, zero_point=np.zeros(n, np.int64))
    o = b.tensor((m, n))
    b.op("FULLY_CONNECTED", [x, w, b.const(rng.standard_normal(n).astype(np.float32))], [o],
         {"fused_activation_function": 1})
    check_same(b.build(outputs=[o]), [rng.standard_normal((m, k)).astype(np.float32)], calls,
               "gemm_qd8_rows_f32_vnni_mt")


@pytest.mark.skipif(not isa.VNNI, reason="threaded QD8 FCs need AVX512-VNNI")
@pytest.mark.parametrize("k,n", [(600, 1000), (2100, 130)])
def test_fc_qd8_gemv_threads(calls, k, n):
    """A one-row dynamic-range FC with >= 256 KB of weights splits its output
    columns over the threads (row quantized once), with the one-thread bits;
    1000 and 130 columns: odd numbers of 64-wide panels, a partial last one."""
    rng = np.random.default_rng(k)
    b = ModelBuilder()
    x = b.input((1, k))
    sc = rng.uniform(0.005, 0.02, n).astype(np.float32)
    w = b.const(rng.integers(-127, 128, (n, k)).astype(np.int8), scale=sc, zero_point=np.zeros(n, np.int64))
    o = b.tensor((1, n))
    b.op("FULLY_CONNECTED", [x, w, b.const(rng.standard_normal(n).astype(np.float32))], [o],
         {"fused_activation_function": 3})
    check_same(b.build(outputs=[o]), [rng.standard_normal((1, k)).astype(np.float32)], calls, "fc_qd8_gemv_vnni_mt")


def qs8_conv_model(rng, case, op="CONV_2D", dm=1):
    batch, h, w, cin, cout, kh, kw, s, d, pad, act = case
    if op == "DEPTHWISE_CONV_2D":
        cout = cin * dm
    si, so = np.float32(rng.uniform(0.005, 0.05)), np.float32(rng.uniform(0.05, 0.5))
    sw = rng.uniform(0.001, 0.02, cout).astype(np.float32)
    zi, zo = int(rng.integers(-20, 20)), int(rng.integers(-20, 20))
    b = ModelBuilder()
    x = b.input((batch, h, w, cin), np.int8, scale=si, zero_point=zi)
    wshape = (1, kh, kw, cout) if op == "DEPTHWISE_CONV_2D" else (cout, kh, kw, cin)
    f = b.const(rng.integers(-127, 128, wshape).astype(np.int8), scale=sw, zero_point=np.zeros(cout, np.int64),
                quantized_dimension=3 if op == "DEPTHWISE_CONV_2D" else 0)
    bb = b.const(rng.integers(-2000, 2000, cout).astype(np.int32), scale=(si * sw).astype(np.float32),
                 zero_point=np.zeros(cout, np.int64))
    o = b.tensor((batch, out_size(h, kh, s, d, pad), out_size(w, kw, s, d, pad), cout), np.int8, scale=so,
                 zero_point=zo)
    b.op(op, [x, f, bb], [o], conv_opts(s, d, pad, act, dm if op == "DEPTHWISE_CONV_2D" else None), version=3)
    return b.build(outputs=[o]), [rng.integers(-128, 128, (batch, h, w, cin)).astype(np.int8)]


@pytest.mark.skipif(not isa.VNNI, reason="threaded QS8 convs need AVX512-VNNI")
@pytest.mark.parametrize("numerics", ["xnnpack", "tflite"])
@pytest.mark.parametrize("case", range(3))
def test_conv_qs8_threads(calls, case, numerics):
    rng = np.random.default_rng(20 + case)
    model, feeds = qs8_conv_model(rng, CONV_CASES[case])
    check_same(model, feeds, calls, "conv2d_u8_i8_q8_vnni_mt", numerics=numerics)


@pytest.mark.skipif(not isa.VNNI, reason="threaded QS8 FC needs AVX512-VNNI")
@pytest.mark.parametrize("numerics", ["xnnpack", "tflite"])
def test_fc_qs8_threads(calls, numerics):
    rng = np.random.default_rng(5)
    m, k, n = 37, 50, 70
    si, so = np.float32(0.02), np.float32(0.3)
    sw = rng.uniform(0.001, 0.02, n).astype(np.float32)
    b = ModelBuilder()
    x = b.input((m, k), np.int8, scale=si, zero_point=3)
    f = b.const(rng.integers(-127, 128, (n, k)).astype(np.int8), scale=sw, zero_point=np.zeros(n, np.int64))
    bb = b.const(rng.integers(-2000, 2000, n).astype(np.int32), scale=(si * sw).astype(np.float32),
                 zero_point=np.zeros(n, np.int64))
    o = b.tensor((m, n), np.int8, scale=so, zero_point=-5)
    b.op("FULLY_CONNECTED", [x, f, bb], [o], {"fused_activation_function": 0}, version=5)
    check_same(b.build(outputs=[o]), [rng.integers(-128, 128, (m, k)).astype(np.int8)], calls,
               "conv2d_u8_i8_q8_vnni_mt", numerics=numerics)


# (batch, h, w, c, kh, stride, dilation, padding): many rows (row chunks) and
# few rows / many channels (channel chunks)
DW_CASES = [(2, 10, 9, 24, 3, 1, 1, 0), (1, 14, 15, 40, 5, 2, 1, 1), (1, 3, 3, 96, 3, 1, 1, 0),
            (1, 9, 9, 70, 3, 2, 2, 0)]


def f32_dw_model(rng, case, hybrid=False):
    batch, h, w, c, k, s, d, pad = case
    b = ModelBuilder()
    x = b.input((batch, h, w, c), np.float32)
    if hybrid:
        sc = rng.uniform(0.005, 0.02, c).astype(np.float32)
        f = b.const(rng.integers(-127, 128, (1, k, k, c)).astype(np.int8), scale=sc,
                    zero_point=np.zeros(c, np.int64), quantized_dimension=3)
    else:
        f = b.const(rng.standard_normal((1, k, k, c)).astype(np.float32))
    bb = b.const(rng.standard_normal(c).astype(np.float32))
    o = b.tensor((batch, out_size(h, k, s, d, pad), out_size(w, k, s, d, pad), c), np.float32)
    b.op("DEPTHWISE_CONV_2D", [x, f, bb], [o], conv_opts(s, d, pad, 3, 1), version=2)
    return b.build(outputs=[o]), [rng.standard_normal((batch, h, w, c)).astype(np.float32)]


@pytest.mark.parametrize("case", range(len(DW_CASES)))
def test_dw_f32_threads(calls, case):
    rng = np.random.default_rng(30 + case)
    model, feeds = f32_dw_model(rng, DW_CASES[case])
    check_same(model, feeds, calls, "dwconv_f32_f32_f32_minmax_mt")


@pytest.mark.parametrize("case", range(len(DW_CASES)))
def test_dw_qd8_threads(calls, case):
    rng = np.random.default_rng(40 + case)
    model, feeds = f32_dw_model(rng, DW_CASES[case], hybrid=True)
    check_same(model, feeds, calls, "dwconv_qdu8_qc8w_f32_minmax_mt")


@pytest.mark.parametrize("numerics", ["xnnpack", "tflite"])
@pytest.mark.parametrize("case,dm", [(0, 1), (1, 1), (2, 1), (3, 1), (0, 2), (2, 3)])
def test_dw_qs8_threads(calls, case, dm, numerics):
    batch, h, w, c, k, s, d, pad = DW_CASES[case]
    rng = np.random.default_rng(50 + case)
    model, feeds = qs8_conv_model(rng, (batch, h, w, c, c, k, k, s, d, pad, 0), "DEPTHWISE_CONV_2D", dm)
    check_same(model, feeds, calls, "dwconv_q8_q8_q8_mt", numerics=numerics)


def test_single_thread_default_binds_serial(calls):
    """num_threads=None means one thread: serial kernels, even for large ops,
    whatever Numba's thread count was left at (one-thread runs do not pay
    numba.set_num_threads: no kernel they call reads it)."""
    rng = np.random.default_rng(0)
    model, feeds = f32_conv_model(rng, CONV_CASES[1])
    top = numba.config.NUMBA_NUM_THREADS
    numba.set_num_threads(top)
    try:
        numba_infer.load(model, progress=False)(*feeds)
        it = numba_infer.Interpreter(model_content=model)
        it.allocate_tensors()
        it.set_tensor(it.get_input_details()[0]["index"], feeds[0])
        it.invoke()
        assert not calls
        assert numba.get_num_threads() == top
    finally:
        numba.set_num_threads(1)


def test_resolve_threads():
    top = numba.config.NUMBA_NUM_THREADS
    assert par.resolve_threads(None) == 1
    assert par.resolve_threads(-1) == top
    assert par.resolve_threads(1) == 1
    assert par.resolve_threads(10 ** 6) == top
    assert par.plan_threads(1, 1e9, 100) == 1
    assert par.plan_threads(-1, 1e9, 100) == top
    assert par.plan_threads(-1, 1.0, 100) == 1 or top == 1          # tiny op: serial
    assert par.plan_threads(-1, 1e9, 1) == 1                         # one tile: serial


def test_contention_guard(monkeypatch):
    """A threaded step that suddenly takes much longer than its best (a worker
    thread descheduled by a busy sibling process) in two runs in a row drops
    the second run to one thread and keeps later runs single-threaded for a
    back-off time; one stalled run alone (a brief burst) changes nothing."""
    import time
    monkeypatch.setattr(par, "_guard", {"until": 0.0, "backoff": par.BACKOFF_S, "lost": 0.0, "threaded": False,
                                        "suspect": False})
    delay = [0.0]
    step = par.guarded(lambda: time.sleep(delay[0]))
    apply_threads(NT)
    step()                                   # best ~ 0
    step()
    assert numba.get_num_threads() == NT
    delay[0] = 3 * par.STALL_S
    step()                                   # a stall in one run: let through
    assert numba.get_num_threads() == NT
    apply_threads(NT)                        # the next run...
    assert numba.get_num_threads() == NT and par._guard["suspect"]
    step()                                   # ...stalls too: one thread from here
    assert numba.get_num_threads() == 1
    assert par.threads_for_run(NT) == 1
    apply_threads(NT)
    assert numba.get_num_threads() == 1
    assert par._guard["backoff"] == 2 * par.BACKOFF_S
    par._guard["until"] = 0.0                # back-off over: threads again
    apply_threads(NT)
    assert numba.get_num_threads() == NT
    delay[0] = 0.0
    step()                                   # a clean threaded run resets the back-off
    apply_threads(NT)
    assert par._guard["backoff"] == par.BACKOFF_S and not par._guard["suspect"]
    delay[0] = 3 * par.STALL_S
    step()                                   # an isolated stall, then a clean run: no back-off
    apply_threads(NT)
    delay[0] = 0.0
    step()
    apply_threads(NT)
    assert numba.get_num_threads() == NT and not par._guard["suspect"]
    apply_threads(None)


# ---------------------------------------------------------------- elementwise (kernels/parallel.py drivers)
def _count(monkeypatch, calls, *names):
    """Wrap par's driver factories so every call of a driver they make is counted."""
    for name in names:
        make = getattr(par, name)

        def counted(fn, key, _make=make, _name=name):
            drv = _make(fn, key)

            def run_counted(*a):
                calls[_name] = calls.get(_name, 0) + 1
                return drv(*a)
            return run_counted
        monkeypatch.setattr(par, name, counted)


def _elementwise_model(rng, op, s1, s2=None, act=0):
    b = ModelBuilder()
    x = b.input(s1, np.float32)
    ins, feeds = [x], [rng.standard_normal(s1).astype(np.float32) * 4]
    if s2 is not None:
        ins.append(b.input(s2, np.float32))
        feeds.append(rng.standard_normal(s2).astype(np.float32))
    o = b.tensor(tuple(np.broadcast_shapes(s1, s2 or s1)), np.float32)
    b.op(op, ins, [o], {"fused_activation_function": act} if op in ("ADD", "MUL") else None)
    return b.build(outputs=[o]), feeds


@pytest.mark.parametrize("op,s1,s2,act", [("LOGISTIC", (1, 9, 7, 33), None, 0), ("TANH", (1000,), None, 0),
                                          ("MUL", (1, 9, 7, 33), (1, 9, 7, 33), 0),
                                          ("MUL", (1, 9, 7, 33), (1, 1, 1, 33), 0),
                                          ("ADD", (2, 5, 1, 70), (1, 1, 3, 70), 1), ("MUL", (300,), (1,), 0)])
def test_elementwise_f32_threads(calls, monkeypatch, op, s1, s2, act):
    """Large float32 unary / binary ops run in nt chunks (kernels/parallel.py unary_mt_kernel /
    binary_mt_kernel over split_bcast), bit-identical to one thread."""
    _count(monkeypatch, calls, "unary_mt_kernel", "binary_mt_kernel")
    model, feeds = _elementwise_model(np.random.default_rng(len(s1)), op, s1, s2, act)
    check_same(model, feeds, calls, "binary_mt_kernel" if s2 is not None else "unary_mt_kernel")


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("numerics", ["xnnpack", "tflite"])
def test_q8_elementwise_threads(calls, monkeypatch, dtype, numerics):
    """8-bit MUL (same shape and a per-channel broadcast) and LOGISTIC's table: contiguous
    chunks, bit-identical to one thread."""
    _count(monkeypatch, calls, "binary_mt_kernel", "lut_mt_kernel")
    rng = np.random.default_rng(1)
    info = np.iinfo(dtype)
    zp = 3 if dtype == np.int8 else 131
    shape = (1, 9, 7, 33)
    b = ModelBuilder()
    x = b.input(shape, dtype, scale=np.float32(0.05), zero_point=zp)
    y = b.input(shape, dtype, scale=np.float32(0.04), zero_point=zp - 2)
    s = b.input((1, 1, 1, 33), dtype, scale=np.float32(0.02), zero_point=zp)
    m1 = b.tensor(shape, dtype, scale=np.float32(0.1), zero_point=zp + 1)
    b.op("MUL", [x, y], [m1])
    m2 = b.tensor(shape, dtype, scale=np.float32(0.07), zero_point=zp)
    b.op("MUL", [m1, s], [m2], {"fused_activation_function": 1})
    out = b.tensor(shape, dtype, scale=np.float32(1 / 256), zero_point=info.min)
    b.op("LOGISTIC", [m2], [out])
    feeds = [rng.integers(info.min, info.max + 1, sh).astype(dtype) for sh in (shape, shape, (1, 1, 1, 33))]
    check_same(b.build(outputs=[out, m2]), feeds, calls, "binary_mt_kernel", numerics=numerics)
    assert calls.get("lut_mt_kernel", 0) > 0


@pytest.mark.parametrize("numerics", ["xnnpack", "tflite"])
def test_attention_threads(calls, monkeypatch, numerics):
    """Attention (tests/test_fuse_matmul.py's block): the fused BATCH_MATMULs by heads
    (B packed per chunk for Q K^T, read in place for P V; XNNPack numerics) and the
    SOFTMAX by rows (XNNPack's kernel, or Eigen's with tflite numerics: chunks on its
    packets of 4), bit-identical to one thread."""
    from tests.test_fuse_matmul import S, E, attention_model
    _count(monkeypatch, calls, "rows_mt_kernel")
    x = np.random.default_rng(0).standard_normal((1, S, E)).astype(np.float32)
    xnn = numerics == "xnnpack"          # with tflite numerics nothing is fused: LiteRT's builtin matmul, serial
    check_same(attention_model(), [x], calls, "batch_matmul_f32_strided_packed_mt" if xnn else "rows_mt_kernel",
               numerics=numerics)
    assert calls.get("rows_mt_kernel", 0) > 0
    assert (calls.get("batch_matmul_f32_strided_nat_mt", 0) > 0) == xnn


def test_resize_bilinear_threads(calls):
    """Float RESIZE_BILINEAR (XNNPack's lerps) by output rows."""
    rng = np.random.default_rng(3)
    b = ModelBuilder()
    x = b.input((1, 9, 9, 21), np.float32)
    o = b.tensor((1, 33, 33, 21), np.float32)
    b.op("RESIZE_BILINEAR", [x, b.const(np.array([33, 33], np.int32))], [o], {"half_pixel_centers": True})
    check_same(b.build(outputs=[o]), [rng.standard_normal((1, 9, 9, 21)).astype(np.float32)], calls,
               "resize_bilinear_f32_xnn_mt")


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
def test_resize_bilinear_q8_threads(calls, dtype):
    """8-bit RESIZE_BILINEAR (XNNPack's s8/u8-ibilinear) by output rows."""
    rng = np.random.default_rng(4)
    ii = np.iinfo(dtype)
    b = ModelBuilder()
    x = b.input((1, 9, 9, 21), dtype, scale=np.array([0.05]), zero_point=np.array([3]))
    o = b.tensor((1, 33, 33, 21), dtype, scale=np.array([0.05]), zero_point=np.array([3]))
    b.op("RESIZE_BILINEAR", [x, b.const(np.array([33, 33], np.int32))], [o], {"half_pixel_centers": True})
    check_same(b.build(outputs=[o]), [rng.integers(ii.min, ii.max + 1, (1, 9, 9, 21)).astype(dtype)], calls,
               "resize_bilinear_q11_mt")


def test_space_to_batch_threads(calls):
    """SPACE_TO_BATCH_ND (with padding) by output batches."""
    rng = np.random.default_rng(8)
    b = ModelBuilder()
    x = b.input((1, 21, 21, 40), np.float32)
    o = b.tensor((16, 6, 6, 40), np.float32)
    b.op("SPACE_TO_BATCH_ND", [x, b.const(np.array([4, 4], np.int32)), b.const(np.array([[1, 2], [2, 1]], np.int32))],
         [o])
    check_same(b.build(outputs=[o]), [rng.standard_normal((1, 21, 21, 40)).astype(np.float32)], calls,
               "space_to_batch_x_mt")


def test_serial_plan_leaves_threads_alone():
    """A multi-thread plan whose ops all stayed serial (too small for plan_threads) runs
    like a one-thread plan: it does not set Numba's thread count before each run (which
    cost mlp_int8 ~3 us per run at 2 threads), and it gives the same outputs."""
    rng = np.random.default_rng(5)
    model, feeds = f32_conv_model(rng, (1, 6, 6, 8, 16, 1, 1, 1, 1, 0, 0))
    m = numba_infer.load(model, num_threads=NT, progress=False)
    assert not any(st.threaded for st in m.plan.steps)
    numba.set_num_threads(1)
    try:
        got = m(*feeds)
        assert numba.get_num_threads() == 1
    finally:
        apply_threads(None)
    one = numba_infer.load(model, num_threads=1, progress=False)(*feeds)
    for k in one:
        assert_array_equal(got[k], one[k])


def test_threaded_plan_sets_threads(calls):
    rng = np.random.default_rng(6)
    model, feeds = f32_conv_model(rng, (1, 6, 6, 8, 16, 1, 1, 1, 1, 0, 0))
    m = numba_infer.load(model, num_threads=NT, progress=False)
    assert any(st.threaded for st in m.plan.steps)
    numba.set_num_threads(1)
    m(*feeds)
    assert numba.get_num_threads() == NT
