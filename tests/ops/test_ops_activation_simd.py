"""The SIMD float32 LOGISTIC / TANH / HARD_SWISH / GELU / SOFTMAX / MEAN kernels against
LiteRT's default interpreter (XNNPack delegate), bit for bit, on both kernel paths; and
the SIMD Eigen kernels (numerics="tflite", softmax fallbacks) against its builtin kernels.

Natively (AVX-512F host) LOGISTIC runs kernels/activation_avx512.py with XNNPack's own
vpermt2ps / vscalefps; under NUMBA_INFER_ISA=generic (re-run below in a subprocess) the
lowering picks the portable kernel.  Both must give LiteRT's bits (NaN == NaN) on odd
sizes (masked vector tails) with +-0, +-inf, NaN, denormals and values around the
sigmoid / exp cutoffs.  (The large-input LiteRT checks are tests/ops/test_ops_xnn_exact.py.)
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tflite_build import run_litert, run_ours, single_op

from numba_infer import isa
from numba_infer.kernels import activation as KA
from numba_infer.ops.activation import sigmoid_xnn_kernel

F32 = np.float32


def _inputs(rng, n=4099):
    edges = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1e-40, -1e-38, 1.2e-38, -87.3, -87.33,
                      -87.336, -87.34, -88.0, -104.0, 87.34, 89.0, 5.1638, -5.1639, 7.9807, -7.9808, -3.0, 3.0,
                      1e30, -1e30, 3e38, -3e38], F32)
    bits = rng.integers(0, 2**32, n // 4, dtype=np.uint64).astype(np.uint32).view(F32)
    x = np.concatenate([edges, bits, (rng.standard_normal(n) * 12).astype(F32)])
    return x[:n]


def _assert_same_bits(got, want):
    assert got.shape == want.shape and got.dtype == want.dtype
    same = (got.view(np.uint32) == want.view(np.uint32)) | (np.isnan(got) & np.isnan(want))
    assert same.all(), (np.argwhere(~same)[:5], got[~same][:5], want[~same][:5])


def test_lowering_picks_kernel_for_isa():
    if isa.AVX512F:
        from numba_infer.kernels.activation_avx512 import sigmoid_f32_xnn_avx512
        assert sigmoid_xnn_kernel() is sigmoid_f32_xnn_avx512
    else:
        assert sigmoid_xnn_kernel() is KA.sigmoid_f32_xnn


@pytest.mark.parametrize("op,opts", [("LOGISTIC", None), ("TANH", None), ("HARD_SWISH", None),
                                     ("GELU", {"approximate": False}), ("GELU", {"approximate": True})])
@pytest.mark.parametrize("n", [1, 17, 4099])
def test_unary_bit_exact(op, opts, n, rng):
    x = _inputs(rng)[:n].reshape(1, n)
    m = single_op(op, [(x.shape, F32)], [x.shape], options=opts)
    _assert_same_bits(run_ours(m, [x])[0], run_litert(m, [x])[0])


@pytest.mark.parametrize("shape", [(3, 1), (2, 5, 37), (1, 4, 9, 128), (2, 1000)])
def test_softmax_bit_exact(shape, rng):
    x = (rng.standard_normal(shape) * 8).astype(F32)
    x.reshape(-1)[::13] = -90.0                     # below the exp cutoff after the max shift
    m = single_op("SOFTMAX", [(shape, F32)], [shape], options={"beta": 1.0})
    _assert_same_bits(run_ours(m, [x])[0], run_litert(m, [x])[0])


@pytest.mark.parametrize("shape,axes", [((1, 128, 37), [2]), ((2, 3, 50), [2]), ((1, 7, 7, 40), [1, 2]),
                                        ((1, 5, 5, 130), [1, 2])])
def test_mean_bit_exact(shape, axes, rng):
    x = (rng.standard_normal(shape) * 3).astype(F32)
    out = [1 if d in axes else n for d, n in enumerate(shape)]
    m = single_op("MEAN", [(shape, F32), np.array(axes, np.int32)], [out], options={"keep_dims": True})
    _assert_same_bits(run_ours(m, [x])[0], run_litert(m, [x])[0])


@pytest.mark.parametrize("op,opts", [("LOGISTIC", None), ("GELU", {"approximate": False}), ("TANH", None)])
@pytest.mark.parametrize("n", [3, 17, 4099])
def test_unary_tflite_numerics_bit_exact(op, opts, n, rng):
    """numerics="tflite": LiteRT's builtin (Eigen) kernels, 16-lane packets + expf tail."""
    x = _inputs(rng)[:n].reshape(1, n)
    m = single_op(op, [(x.shape, F32)], [x.shape], options=opts)
    _assert_same_bits(run_ours(m, [x], numerics="tflite")[0], run_litert(m, [x], resolver="builtin")[0])


@pytest.mark.parametrize("op,opts", [("SOFTMAX", {"beta": 0.7}), ("LOG_SOFTMAX", None)])
@pytest.mark.parametrize("shape", [(3, 1), (3, 7), (2, 5, 37), (4, 128), (3, 1001)])
def test_eigen_softmax_bit_exact(op, opts, shape, rng):
    """SOFTMAX with beta != 1 and LOG_SOFTMAX: LiteRT's default resolver runs the builtin
    (Eigen) kernel, and so do we."""
    x = (rng.standard_normal(shape) * 8).astype(F32)
    m = single_op(op, [(shape, F32)], [shape], options=opts)
    _assert_same_bits(run_ours(m, [x])[0], run_litert(m, [x])[0])


@pytest.mark.skipif(not isa.AVX512F, reason="the generic path is already the host path")
def test_generic_isa_subprocess():
    """The LOGISTIC tests again with NUMBA_INFER_ISA=generic (the portable kernel; the other
    kernels here are portable vector IR, the same code on both paths)."""
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, NUMBA_INFER_ISA="generic")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", __file__,
                        "-k", "lowering or (unary_bit_exact and LOGISTIC and not tflite)"], cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
