"""Graph fusion on the shared transformer models: every Keras LayerNormalization (and its
residual ADD) becomes one NI_LAYER_NORM node, and the outputs keep their bits exactly
(fused vs NUMBA_INFER_FUSE=0, both numerics).  Skipped when ../shared/models is absent."""
import numpy as np
import pytest

import numba_infer
from conftest import SHARED_MODELS

# model -> number of LayerNormalization chains in it
MODELS = {"tiny_bert_dr": 4, "tiny_bert_fp32": 4, "tiny_bert_fp16": 4, "transformer_dr": 2, "transformer_fp32": 2}
PATHS = {k: SHARED_MODELS / "generated" / f"{k}.tflite" for k in MODELS}


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("numerics", ["xnnpack", "tflite"])
def test_layer_norm_fusion_keeps_bits(name, numerics, monkeypatch):
    path = PATHS[name]
    if not path.exists():
        pytest.skip("../shared/models not present")
    outs, ops, nodes = {}, {}, {}
    for fuse in ("1", "0"):
        monkeypatch.setenv("NUMBA_INFER_FUSE", fuse)
        m = numba_infer.load(path, numerics=numerics)
        rng = np.random.default_rng(3)
        x = {s.name: rng.standard_normal(s.shape).astype(s.dtype) if s.dtype == np.float32
             else rng.integers(0, 50, s.shape).astype(s.dtype) for s in m.inputs}
        outs[fuse] = m(x)
        ops[fuse] = [s.node.op for s in m.plan.steps]
        nodes[fuse] = [s.node for s in m.plan.steps]
    assert ops["1"].count("NI_LAYER_NORM") == MODELS[name]
    assert "NI_LAYER_NORM" not in ops["0"]
    assert all(len(n.options["fused"]) == 11 for n in nodes["1"] if n.op == "NI_LAYER_NORM")   # 11 ops -> 1
    # every op of the unfused run is in exactly one step of the fused run (other fusions included)
    covered = [i for n in nodes["1"] for i in (n.options["fused"] if n.op.startswith("NI_") else (n.index,))]
    assert sorted(covered) == sorted(n.index for n in nodes["0"])
    for k, a in outs["1"].items():
        b = outs["0"][k]
        assert ((a.view(np.uint32) == b.view(np.uint32)) | (np.isnan(a) & np.isnan(b))).all(), k
