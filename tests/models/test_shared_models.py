"""Whole real models against LiteRT (skipped when ../shared/models is absent)."""
import pytest

from conftest import SHARED_MODELS
from model_check import compare_float_model

FLOAT_MODELS = sorted(
    [p for p in (SHARED_MODELS / "generated").glob("*.tflite") if p.stem.endswith(("_fp32", "_fp16"))]
    + [p for p in (SHARED_MODELS / "mediapipe").glob("*.tflite") if "with_attention" not in p.stem]
) if SHARED_MODELS.exists() else []


@pytest.mark.slow
@pytest.mark.skipif(not FLOAT_MODELS, reason="../shared/models not present")
@pytest.mark.parametrize("path", FLOAT_MODELS, ids=lambda p: p.stem)
def test_float_model_matches_litert(path):
    compare_float_model(path, n_inputs=3)


@pytest.mark.slow
@pytest.mark.skipif(not FLOAT_MODELS, reason="../shared/models not present")
@pytest.mark.parametrize("path", FLOAT_MODELS, ids=lambda p: p.stem)
def test_fp16_emulation_error_is_fp16_sized(path):
    # precision="fp16" against our own fp32 run of the same model and input (itself checked
    # against LiteRT above): every output must differ (fp16 emulation really rounds), by an
    # amount of the order fp16 predicts: one rounding is 2^-11 relative; a few tens of layers
    # compound a few of them, so the error stays well under 5% of the output's range and the
    # outputs keep a cosine similarity > 0.99 (measured: rel 1e-3..2e-2, cos > 0.9998).
    import numpy as np

    import numba_infer
    m32, m16 = numba_infer.load(path), numba_infer.load(path, precision="fp16")
    rng = np.random.default_rng(5)
    x = {s.name: rng.uniform(-1, 1, s.shape).astype(s.dtype) if s.dtype == np.float32
         else rng.integers(0, 8, s.shape).astype(s.dtype) for s in m32.inputs}
    a, b = m32(x), m16(x)
    for k in a:
        if a[k].dtype != np.float32 or not np.all(np.isfinite(a[k])):
            continue
        ref, got = a[k].astype(np.float64).ravel(), b[k].astype(np.float64).ravel()
        rel = np.max(np.abs(ref - got)) / max(np.max(np.abs(ref)), 1e-30)
        cos = ref @ got / max(np.linalg.norm(ref) * np.linalg.norm(got), 1e-300)
        assert 0 < rel < 0.05 and cos > 0.99, (k, rel, cos)
