"""SiLU / swish fusion (numba_infer/fuse.py fuse_swish, ops/activation.py NI_SWISH).

y = MUL(x, LOGISTIC(x)) runs as one step whose kernel rounds XNNPack's sigmoid
to float32 and multiplies once, as the two ops do: fused runs must equal
NUMBA_INFER_FUSE=0 runs bit for bit, at 1 and 2 threads, and LiteRT's XNNPack
bit for bit too (both run XNNPack's vsigmoid and one float32 product).  The
models are built here; the cases the pattern must leave alone are checked by
the steps the plan runs.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import numba_infer
from numba_infer import isa
from tests.tflite_build import ModelBuilder, run_litert

SHAPE = (1, 20, 20, 48)          # 19200 elements: threaded at 2 threads (ops/elementwise.py)


def swish_model(order="xs", act=0, expose_sigmoid=False, second_user=False):
    """x -> s = LOGISTIC(x) -> y = MUL(x, s) (order "xs") or MUL(s, x) ("sx"), fused activation act;
    optionally s is also a model output or also read by an ADD."""
    b = ModelBuilder()
    x = b.input(SHAPE, name="x")
    s = b.tensor(SHAPE, name="s")
    b.op("LOGISTIC", [x], [s])
    y = b.tensor(SHAPE, name="y")
    b.op("MUL", [x, s] if order == "xs" else [s, x], [y], {"fused_activation_function": act})
    outs = [y]
    if second_user:
        z = b.tensor(SHAPE, name="z")
        b.op("ADD", [s, y], [z])
        outs = [z]
    return b.build(outputs=outs + ([s] if expose_sigmoid else []))


def _run(monkeypatch, model, x, fuse, threads=None):
    monkeypatch.setenv("NUMBA_INFER_FUSE", "1" if fuse else "0")
    it = numba_infer.Interpreter(model_content=model, num_threads=threads)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()], [s.node.op for s in it._plan.steps]


def _inputs():
    x = (np.random.default_rng(3).standard_normal(SHAPE) * 6).astype(np.float32)
    x.reshape(-1)[:6] = [0.0, -0.0, 90.0, -90.0, -104.0, 1e-30]      # saturation, zero signs, denormal range
    return x


@pytest.mark.parametrize("order", ["xs", "sx"])
@pytest.mark.parametrize("threads", [None, 2])
def test_swish_fuses_bit_identically_and_matches_litert(monkeypatch, order, threads):
    """Natively the AVX-512 kernel; under NUMBA_INFER_ISA=generic (test_generic_isa_subprocess)
    the portable one: LiteRT's bits on both."""
    model = swish_model(order)
    x = _inputs()
    (fused, ops), (plain, ops0) = _run(monkeypatch, model, x, True, threads), _run(monkeypatch, model, x, False)
    assert ops == ["NI_SWISH"] and ops0 == ["LOGISTIC", "MUL"]
    np.testing.assert_array_equal(fused[0].view(np.int32), plain[0].view(np.int32))
    ref = run_litert(model, [x])
    np.testing.assert_array_equal(fused[0], ref[0])


@pytest.mark.parametrize("kw", [{"act": 1}, {"expose_sigmoid": True}, {"second_user": True}])
def test_swish_left_alone(monkeypatch, kw):
    """A MUL with a fused activation, a sigmoid that is a model output or read by
    another op: nothing is fused, and the results are LiteRT's."""
    model = swish_model(**kw)
    x = _inputs()
    outs, ops = _run(monkeypatch, model, x, True)
    assert "NI_SWISH" not in ops and ops[:2] == ["LOGISTIC", "MUL"]
    for a, r in zip(outs, run_litert(model, [x])):
        np.testing.assert_array_equal(a, r)


@pytest.mark.parametrize("threads", [None, 2])
def test_swish_under_fp16_is_the_two_ops(monkeypatch, threads):
    """fp16 emulation rounds the LOGISTIC's output to fp16 before the product, and the
    MUL's: the fused step does both roundings, bit-identical to the unfused ops."""
    x = _inputs().astype(np.float16).astype(np.float32)
    x.reshape(-1)[6:9] = [65504.0, -65504.0, 6e-8]              # fp16 max, an fp16 denormal
    outs = {}
    for fuse in (True, False):
        monkeypatch.setenv("NUMBA_INFER_FUSE", "1" if fuse else "0")
        m = numba_infer.load(swish_model(), precision="fp16", num_threads=threads)
        outs[fuse] = m(x)
        ops = [s.node.op for s in m.plan.steps]
        assert ops == (["NI_SWISH"] if fuse else ["LOGISTIC", "MUL"])
    (k, fused), = outs[True].items()
    np.testing.assert_array_equal(fused.view(np.int32), outs[False][k].view(np.int32))
    assert np.array_equal(fused, fused.astype(np.float16).astype(np.float32))


def q8_swish_model(dtype, shape, act=0, order="xs"):
    """The quantized swish: x -> LOGISTIC (TFLite's fixed output scale 1/256) -> MUL(x, s)."""
    zp_out = -128 if dtype == np.int8 else 0
    zx = 5 if dtype == np.int8 else 133
    b = ModelBuilder()
    x = b.input(shape, dtype, name="x", scale=np.float32(0.047), zero_point=zx)
    s = b.tensor(shape, dtype, name="s", scale=np.float32(1 / 256), zero_point=zp_out)
    b.op("LOGISTIC", [x], [s])
    y = b.tensor(shape, dtype, name="y", scale=np.float32(0.031), zero_point=-37 if dtype == np.int8 else 90)
    b.op("MUL", [x, s] if order == "xs" else [s, x], [y], {"fused_activation_function": act})
    return b.build(outputs=[y])


@pytest.mark.parametrize("dtype,shape,act,order,numerics", [
    (np.int8, (1, 9, 9, 40), 0, "xs", "xnnpack"),
    (np.int8, (1, 9, 9, 40), 1, "sx", "xnnpack"),      # the MUL's RELU is in the table
    (np.int8, (2, 7, 5), 0, "xs", "tflite"),           # 70 elements: the table in 4 passes
    (np.uint8, (1, 6, 6, 24), 0, "xs", "xnnpack"),
])
def test_q8_swish_is_one_table(monkeypatch, dtype, shape, act, order, numerics):
    """Quantized LOGISTIC + MUL become one table lookup with the unfused ops' bytes,
    and LiteRT's; every one of the 256 input values is checked."""
    model = q8_swish_model(dtype, shape, act, order)
    info = np.iinfo(dtype)
    x = np.resize(np.arange(info.min, info.max + 1), int(np.prod(shape)))
    x = np.random.default_rng(5).permutation(x).astype(dtype).reshape(shape)
    outs = {}
    for fuse in (True, False):
        monkeypatch.setenv("NUMBA_INFER_FUSE", "1" if fuse else "0")
        m = numba_infer.load(model, numerics=numerics)
        outs[fuse] = m(x)["y"]
        ops = [s.node.op for s in m.plan.steps]
        assert ops == (["NI_SWISH"] if fuse else ["LOGISTIC", "MUL"])
    np.testing.assert_array_equal(outs[True], outs[False])
    ref = run_litert(model, [x], "default" if numerics == "xnnpack" else "builtin")
    np.testing.assert_array_equal(outs[True], ref[0])


@pytest.mark.skipif(not isa.AVX512F, reason="the generic path is already the host path")
def test_generic_isa_subprocess():
    """The float swish tests again with NUMBA_INFER_ISA=generic (kernels/activation.py swish_f32_xnn)."""
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, NUMBA_INFER_ISA="generic")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", __file__,
                        "-k", "fuses_bit_identically"], cwd=root, env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
