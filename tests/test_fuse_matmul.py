"""Fusions around matrix products (numba_infer/fuse.py, ops/fused_matmul.py):
BATCH_MATMUL reading/writing through attention's head TRANSPOSEs, and the
dynamic-range FULLY_CONNECTEDs that share one input quantization.

Each fusion claims the unfused bits exactly (same FMA chains, same per-row
quantization), so fused runs are compared with NUMBA_INFER_FUSE=0 runs bit
for bit, and both with LiteRT.  The attention block is built here, so the
suite carries its own model; the shared suite's transformers are checked too
when present.
"""
import numpy as np
import pytest

import numba_infer
from tests.conftest import SHARED_MODELS
from tests.tflite_build import ModelBuilder, run_litert

S, H, D = 12, 2, 16
E = H * D


def attention_model(expose_q=False, v_perm=(0, 2, 1, 3)):
    """x [1, S, E] -> Q, K, V dynamic-range FCs -> heads -> softmax(Q K^T) V -> merged heads."""
    rng = np.random.default_rng(7)
    b = ModelBuilder()
    x = b.input((1, S, E), name="x")

    def fc(name):
        w = rng.integers(-127, 128, (E, E)).astype(np.int8)
        wt = b.const(w, name=f"w{name}", scale=rng.uniform(0.002, 0.01, E).astype(np.float32),
                     zero_point=np.zeros(E, np.int64), quantized_dimension=0)
        bias = b.const(rng.standard_normal(E).astype(np.float32) * 0.1, name=f"b{name}")
        y = b.tensor((1, S, E), name=name)
        b.op("FULLY_CONNECTED", [x, wt, bias], [y], {"keep_num_dims": True})
        r = b.tensor((1, S, H, D), name=f"{name}r")
        b.op("RESHAPE", [y, b.const(np.array([1, S, H, D], np.int32))], [r])
        return r

    def transpose(t, perm, shape, name):
        y = b.tensor(shape, name=name)
        b.op("TRANSPOSE", [t, b.const(np.array(perm, np.int32))], [y])
        return y

    qt = transpose(fc("q"), (0, 2, 1, 3), (1, H, S, D), "qt")
    kt = transpose(fc("k"), (0, 2, 3, 1), (1, H, D, S), "kt")
    sc = b.tensor((1, H, S, S), name="scores")
    b.op("BATCH_MATMUL", [qt, kt], [sc])
    scs = b.tensor((1, H, S, S), name="scaled")
    b.op("MUL", [sc, b.const(np.array([1 / np.sqrt(D)], np.float32))], [scs])
    p = b.tensor((1, H, S, S), name="p")
    b.op("SOFTMAX", [scs], [p], {"beta": 1.0})
    vshape = tuple((1, S, H, D)[i] for i in v_perm)
    vt = transpose(fc("v"), v_perm, vshape, "vt")
    o = b.tensor((1, H, S, D), name="o")
    b.op("BATCH_MATMUL", [p, vt], [o], {"adj_y": v_perm != (0, 2, 1, 3)})
    ot = transpose(o, (0, 2, 1, 3), (1, S, H, D), "ot")
    out = b.tensor((1, S, E), name="out")
    b.op("RESHAPE", [ot, b.const(np.array([1, S, E], np.int32))], [out])
    return b.build(outputs=[out] + ([qt] if expose_q else []))


def _run(model, monkeypatch, fuse, **kw):
    monkeypatch.setenv("NUMBA_INFER_FUSE", "1" if fuse else "0")
    it = numba_infer.Interpreter(model_content=model, **kw)
    it.allocate_tensors()
    x = np.random.default_rng(0).standard_normal((1, S, E)).astype(np.float32)
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    ops = [s.node.op for s in it._require_plan().steps]
    return [it.get_tensor(d["index"]) for d in it.get_output_details()], ops, x


def _same_bits(a, b):
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u.view(np.int32), v.view(np.int32))


def test_attention_block_fuses_bit_identically_and_matches_litert(monkeypatch):
    model = attention_model()
    fused, ops, x = _run(model, monkeypatch, True)
    plain, ops0, _ = _run(model, monkeypatch, False)
    assert ops.count("NI_BATCH_MATMUL") == 2 and ops.count("NI_FULLY_CONNECTED_SHARED") == 1
    assert "TRANSPOSE" in ops                        # K^T: packing it each run would cost the transpose
    assert ops.count("TRANSPOSE") == 1 and ops0.count("TRANSPOSE") == 4 and "NI_BATCH_MATMUL" not in ops0
    assert "MUL" not in ops and "MUL" in ops0         # the 1/sqrt(d) scale, applied in the fused matmul
    _same_bits(fused, plain)
    # LiteRT (XNNPack): the same per-row quantization and FMA order, softmax within its last bits
    ref = run_litert(model, [x])[0]
    np.testing.assert_allclose(fused[0], ref, rtol=0, atol=2e-6 * np.abs(ref).max())


def test_kept_and_unreadable_transposes_are_not_absorbed(monkeypatch):
    """qt is a model output (protected): its TRANSPOSE stays, and with K^T not
    absorbable either, Q K^T fuses only the scale MUL that follows it.  V transposed so that
    P V needs adj_y: B would have to be packed, so only the output TRANSPOSE
    is absorbed there."""
    model = attention_model(expose_q=True, v_perm=(0, 2, 3, 1))
    fused, ops, x = _run(model, monkeypatch, True)
    plain, _, _ = _run(model, monkeypatch, False)
    assert ops.count("TRANSPOSE") == 3 and ops.count("NI_BATCH_MATMUL") == 2 and "BATCH_MATMUL" not in ops
    assert "MUL" not in ops
    _same_bits(fused, plain)
    ref = run_litert(model, [x])
    for a, r in zip(fused, ref):
        np.testing.assert_allclose(a, r, rtol=0, atol=2e-6 * np.abs(r).max())


@pytest.mark.parametrize("kw", [dict(precision="fp16"), dict(num_threads=2), dict(numerics="tflite")])
def test_attention_block_other_settings(monkeypatch, kw):
    """fp16 emulation fuses the transposes (the matmul rounds in its epilogue,
    transposes do not round) but not the FCs (fp16 runs them in float); 2
    threads fuse as one (these FCs are too small to be threaded); TFLite
    numerics fuse nothing here."""
    model = attention_model()
    fused, ops, _ = _run(model, monkeypatch, True, **kw)
    plain, _, _ = _run(model, monkeypatch, False, **kw)
    _same_bits(fused, plain)
    assert ("NI_FULLY_CONNECTED_SHARED" in ops) == ("num_threads" in kw)
    assert ("NI_BATCH_MATMUL" in ops) == (kw.get("numerics") != "tflite")
    assert ("MUL" in ops) == (kw.get("precision") == "fp16" or kw.get("numerics") == "tflite")


@pytest.mark.parametrize("name", ["tiny_bert_dr", "transformer_dr", "tiny_bert_fp32", "transformer_fp16"])
def test_shared_transformers_fused_bit_identical(monkeypatch, name):
    path = SHARED_MODELS / "generated" / f"{name}.tflite"
    if not path.exists():
        pytest.skip(f"{path} not present")
    outs = {}
    for fuse in (True, False):
        monkeypatch.setenv("NUMBA_INFER_FUSE", "1" if fuse else "0")
        it = numba_infer.Interpreter(model_path=str(path))
        it.allocate_tensors()
        rng = np.random.default_rng(0)
        for d in it.get_input_details():
            x = (rng.standard_normal(d["shape"]).astype(np.float32) if d["dtype"] == np.float32
                 else rng.integers(0, 16, d["shape"]).astype(d["dtype"]))
            it.set_tensor(d["index"], x)
        it.invoke()
        outs[fuse] = [it.get_tensor(d["index"]) for d in it.get_output_details()]
        if fuse:
            assert any(s.node.op == "NI_BATCH_MATMUL" for s in it._require_plan().steps)
    _same_bits(outs[True], outs[False])


@pytest.mark.parametrize("op", ["NI_BATCH_MATMUL", "NI_LAYER_NORM", "NI_FULLY_CONNECTED_SHARED", "NI_SWISH"])
def test_internal_ops_cannot_come_from_a_file(op):
    """The fused ops exist only inside prepare: a model naming one as a custom op is refused."""
    from numba_infer.errors import UnsupportedError
    b = ModelBuilder()
    x = b.input((2, 16))
    y = b.tensor((2, 16))
    b.op(op, [x, x], [y], custom_options=b"")
    with pytest.raises(UnsupportedError, match="not supported"):
        numba_infer.Interpreter(model_content=b.build(outputs=[y])).allocate_tensors()
    assert op not in numba_infer.supported_ops() and "BATCH_MATMUL" in numba_infer.supported_ops()


def mlp_model(rows, expose_mid=False, layers=((48, 1), (33, 0), (10, 0)), beta=1.0, expose_last=False):
    """x [rows, 40] -> FC 48 (relu) -> FC 33 -> FC 10 (dynamic range) -> SOFTMAX(beta)."""
    rng = np.random.default_rng(11)
    b = ModelBuilder()
    t = b.input((rows, 40), name="x")
    mids = []
    for i, (n, act) in enumerate(layers):
        k = b.tensors[t].shape[-1]
        w = b.const(rng.integers(-127, 128, (n, k)).astype(np.int8), name=f"w{i}",
                    scale=rng.uniform(0.002, 0.02, n).astype(np.float32), zero_point=np.zeros(n, np.int64))
        bias = b.const(rng.standard_normal(n).astype(np.float32) * 0.1, name=f"b{i}")
        y = b.tensor((rows, n), name=f"h{i}")
        b.op("FULLY_CONNECTED", [t, w, bias], [y], {"fused_activation_function": act})
        mids.append(y)
        t = y
    p = b.tensor((rows, layers[-1][0]), name="p")
    b.op("SOFTMAX", [t], [p], {"beta": beta})
    return b.build(outputs=[p] + ([mids[0]] if expose_mid else []) + ([mids[-1]] if expose_last else []))


def _run_mlp(monkeypatch, model, x, fuse):
    """(outputs, op of every step) of one run with fusion on or off."""
    monkeypatch.setenv("NUMBA_INFER_FUSE", "1" if fuse else "0")
    it = numba_infer.Interpreter(model_content=model)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()], [s.node.op for s in it._plan.steps]


@pytest.mark.parametrize("rows,expose_mid", [(1, False), (3, False), (1, True)])
def test_mlp_chain_fuses_bit_identically(monkeypatch, rows, expose_mid):
    """Consecutive dynamic-range FCs run as one NI_FULLY_CONNECTED_CHAIN step on
    VNNI hosts (each layer's own kernel), with the unfused bits; a layer whose
    output is a model output ends the chain.  The SOFTMAX (beta 1) that alone
    reads the last layer runs in the same step, on its output in place."""
    from numba_infer import isa
    model = mlp_model(rows, expose_mid)
    x = np.random.default_rng(0).standard_normal((rows, 40)).astype(np.float32)

    (fused, ops), (plain, ops0) = _run_mlp(monkeypatch, model, x, True), _run_mlp(monkeypatch, model, x, False)
    _same_bits(fused, plain)
    assert ops0.count("FULLY_CONNECTED") == 3
    if isa.VNNI:
        assert ops.count("NI_FULLY_CONNECTED_CHAIN") == 1
        assert ops.count("FULLY_CONNECTED") == (1 if expose_mid else 0)
        assert ops.count("SOFTMAX") == 0
    ref = run_litert(model, [x])
    for a, r in zip(fused, ref):
        np.testing.assert_allclose(a, r, rtol=0, atol=2e-6 * np.abs(r).max())


@pytest.mark.parametrize("layers,beta,expose_last,absorbed", [
    (((10, 0),), 1.0, False, True),                 # one FC + its SOFTMAX: one step
    (((48, 1), (10, 0)), 0.5, False, False),        # beta != 1: XNNPack refuses it, the Eigen kernel runs apart
    (((48, 1), (10, 0)), 1.0, True, False),         # the logits are a model output: the SOFTMAX stays apart
])
def test_mlp_softmax_tail(monkeypatch, layers, beta, expose_last, absorbed):
    """Which SOFTMAX the FC chain absorbs; every variant keeps the unfused bits."""
    from numba_infer import isa
    model = mlp_model(2, layers=layers, beta=beta, expose_last=expose_last)
    x = np.random.default_rng(1).standard_normal((2, 40)).astype(np.float32)

    (fused, ops), (plain, _) = _run_mlp(monkeypatch, model, x, True), _run_mlp(monkeypatch, model, x, False)
    _same_bits(fused, plain)
    if isa.VNNI:
        assert ops.count("SOFTMAX") == (0 if absorbed else 1)
        assert ops.count("NI_FULLY_CONNECTED_CHAIN") == (1 if absorbed or len(layers) > 1 else 0)
    ref = run_litert(model, [x])
    for a, r in zip(fused, ref):
        np.testing.assert_allclose(a, r, rtol=0, atol=2e-6 * np.abs(r).max())
