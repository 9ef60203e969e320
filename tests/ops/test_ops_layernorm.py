"""Graph fusion of Keras LayerNormalization (numba_infer/fuse.py -> NI_LAYER_NORM).

Small models built here carry the op chain the TFLite converter emits (with and without
the residual ADD in front, with a NEG or a beta SUB); fused and unfused runs
(NUMBA_INFER_FUSE=0) must give equal bits under both numerics, and both must match
LiteRT.  Chains that must not fuse: an intermediate used twice or exported as an output,
a MEAN over another axis, a gamma that is not constant, kept (captured) tensors, fp16
emulation.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tflite_build import ModelBuilder, run_litert

import numba_infer
from numba_infer import isa

F32 = np.float32


def ln_model(rows=7, c=33, residual=True, beta=False, axis=-1, gamma_input=False, export=(), reuse_mean=False,
             gamma_shape=None, swap=False):
    """[1, rows, c] inputs a (, b) -> [x = a + b] -> Keras LayerNormalization chain -> y."""
    rng = np.random.default_rng(7)
    b = ModelBuilder()
    shape = [1, rows, c]
    a_in = b.input(shape, name="a")
    inputs = [a_in]
    if residual:
        b_in = b.input(shape, name="b")
        inputs.append(b_in)
        x = b.tensor(shape, name="x")
        b.op("ADD", [a_in, b_in], [x], {"fused_activation_function": 0})
    else:
        x = a_in
    red = [1, rows, 1] if axis in (-1, 2) else [1, 1, c]
    axes = b.const(np.array([axis], np.int32), name="axes")
    m = b.tensor(red, name="mean")
    b.op("MEAN", [x, axes], [m], {"keep_dims": True})
    v = b.tensor(shape, name="sqdiff")
    b.op("SQUARED_DIFFERENCE", [m, x] if swap else [x, m], [v])
    s = b.tensor(red, name="var")
    b.op("MEAN", [v, axes], [s], {"keep_dims": True})
    eps = b.const(np.array(1e-3, F32), name="eps")
    e = b.tensor(red, name="var_eps")
    b.op("ADD", [eps, s] if swap else [s, eps], [e], {"fused_activation_function": 0})
    r = b.tensor(red, name="rsqrt")
    b.op("RSQRT", [e], [r])
    gshape = gamma_shape or [c]
    if gamma_input:
        gamma = b.input(gshape, name="gamma")
        inputs.append(gamma)
    else:
        gamma = b.const(rng.standard_normal(gshape).astype(F32), name="gamma")
    g = b.tensor(shape, name="g")
    b.op("MUL", [gamma, r] if swap else [r, gamma], [g], {"fused_activation_function": 0})
    p = b.tensor(shape, name="p")
    b.op("MUL", [g, x] if swap else [x, g], [p], {"fused_activation_function": 0})
    q = b.tensor(shape, name="q")
    if beta:
        mg = b.tensor(shape, name="mg")
        b.op("MUL", [m, g], [mg], {"fused_activation_function": 0})
        bt = b.const(rng.standard_normal([c]).astype(F32), name="beta")
        b.op("SUB", [bt, mg], [q], {"fused_activation_function": 0})
    else:
        n = b.tensor(red, name="neg")
        b.op("NEG", [m], [n])
        b.op("MUL", [n, g], [q], {"fused_activation_function": 0})
    y = b.tensor(shape, name="y")
    b.op("ADD", [q, p] if swap else [p, q], [y], {"fused_activation_function": 0})
    outs = [y]
    if reuse_mean:
        m2 = b.tensor(red, name="mean2")
        b.op("ADD", [m, m], [m2], {"fused_activation_function": 0})
        outs.append(m2)
    names = {t.name.decode() if isinstance(t.name, bytes) else t.name: i for i, t in enumerate(b.tensors)}
    outs += [names[e] for e in export]
    b.inputs = inputs
    return b.build(outputs=outs), [tuple(b.tensors[i].shape) for i in inputs]


def _feeds(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(s) * 3 + 1).astype(F32) for s in shapes]


def _run(model, feeds, fuse, monkeypatch, **kw):
    monkeypatch.setenv("NUMBA_INFER_FUSE", "1" if fuse else "0")
    m = numba_infer.load(model, **kw)
    out = m(*feeds)
    return [out[k] for k in out], [s.node.op for s in m.plan.steps]


def _bits_equal(got, want):
    same = (got.view(np.uint32) == want.view(np.uint32)) | (np.isnan(got) & np.isnan(want))
    assert same.all(), (np.argwhere(~same)[:5], got[~same][:5], want[~same][:5])


@pytest.mark.parametrize("numerics", ["xnnpack", "tflite"])
@pytest.mark.parametrize("rows,c,residual,beta,swap", [
    (7, 33, True, False, False), (1, 128, True, False, True), (5, 16, False, False, False),
    (3, 1, True, False, False), (9, 300, False, True, False), (4, 17, True, True, True), (64, 128, True, False, False)])
def test_fused_bits_equal_unfused(numerics, rows, c, residual, beta, swap, monkeypatch):
    model, shapes = ln_model(rows, c, residual, beta, swap=swap)
    feeds = _feeds(shapes)
    fused, ops_f = _run(model, feeds, True, monkeypatch, numerics=numerics)
    plain, ops_u = _run(model, feeds, False, monkeypatch, numerics=numerics)
    assert ops_f == ["NI_LAYER_NORM"]                       # the residual ADD too
    assert "NI_LAYER_NORM" not in ops_u
    _bits_equal(fused[0], plain[0])
    ref = run_litert(model, feeds)[0]
    # LiteRT's XNNPack runs the same float32 operations in the same order as numerics="xnnpack"
    # (MEAN, RSQRT measured bit-exact op by op): allow 2 ulp of slack for the RSQRT estimate
    # on other hosts; numerics="tflite" (Eigen / sequential MEANs) differs by a few ulp
    np.testing.assert_allclose(fused[0], ref, rtol=2e-6 if numerics == "xnnpack" else 1e-4, atol=1e-5)


def test_gamma_broadcast_shapes(monkeypatch):
    for gshape in ([1, 1, 24], [1, 24], [1]):
        model, shapes = ln_model(5, 24, True, gamma_shape=gshape)
        feeds = _feeds(shapes)
        fused, ops = _run(model, feeds, True, monkeypatch)
        plain, _ = _run(model, feeds, False, monkeypatch)
        assert ops == ["NI_LAYER_NORM"]
        _bits_equal(fused[0], plain[0])


@pytest.mark.parametrize("kind", ["reuse_mean", "export_var", "export_y_and_g", "axis1", "gamma_input"])
def test_no_fusion(kind, monkeypatch):
    kw = {"reuse_mean": dict(reuse_mean=True), "export_var": dict(export=("var",)),
          "export_y_and_g": dict(export=("g",)), "axis1": dict(axis=1),
          "gamma_input": dict(gamma_input=True)}[kind]
    model, shapes = ln_model(6, 20, True, **kw)
    feeds = _feeds(shapes)
    got, ops = _run(model, feeds, True, monkeypatch)
    assert "NI_LAYER_NORM" not in ops
    want, _ = _run(model, feeds, False, monkeypatch)
    for a, b in zip(got, want):
        _bits_equal(a, b)


def test_residual_output_kept_unfused(monkeypatch):
    # x = a + b is also a model output: the LN fuses, the ADD stays
    model, shapes = ln_model(6, 20, True, export=("x",))
    feeds = _feeds(shapes)
    got, ops = _run(model, feeds, True, monkeypatch)
    assert ops == ["ADD", "NI_LAYER_NORM"]
    want, _ = _run(model, feeds, False, monkeypatch)
    for a, b in zip(got, want):
        _bits_equal(a, b)


def test_kept_tensors_not_fused(monkeypatch):
    monkeypatch.setenv("NUMBA_INFER_FUSE", "1")
    model, shapes = ln_model(6, 20, True)
    feeds = _feeds(shapes)
    m = numba_infer.load(model)
    y = m(*feeds)["y"]
    out, tensors = m.run(*feeds, capture=["rsqrt"])
    _bits_equal(out["y"], y)
    assert "rsqrt" in tensors
    plans = [p for p in m._plans.values() if p.keep]
    assert plans and all("NI_LAYER_NORM" not in [s.node.op for s in p.steps] for p in plans)
    it = numba_infer.Interpreter(model_content=model, experimental_preserve_all_tensors=True)
    it.allocate_tensors()
    assert "NI_LAYER_NORM" not in [s.node.op for s in it._plan.steps]
    for d, f in zip(it.get_input_details(), feeds):
        it.set_tensor(d["index"], f)
    it.invoke()
    _bits_equal(it.get_tensor(it.get_output_details()[0]["index"]), y)


def test_fp16_emulation_not_fused(monkeypatch):
    model, shapes = ln_model(6, 20, True)
    _, ops = _run(model, _feeds(shapes), True, monkeypatch, precision="fp16")
    assert "NI_LAYER_NORM" not in ops


@pytest.mark.skipif(not isa.AVX512F, reason="the generic path is already the host path")
def test_generic_isa_subprocess():
    """Fused == unfused again with NUMBA_INFER_ISA=generic (RSQRT as 1 / sqrt in both)."""
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, NUMBA_INFER_ISA="generic")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", __file__,
                        "-k", "fused_bits_equal_unfused and xnnpack"], cwd=root, env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
