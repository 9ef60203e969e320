"""Float32 ELU: numba_infer (kernels/elu.py elu_f32_xnn) vs LiteRT's default interpreter
(XNNPack's f32-velu avx512f_rr1_p6), bit for bit including NaN payloads.

Why exact equality is expected: the kernel performs XNNPack's float32 operations in its order
(same constants, FMA where XNNPack uses FMA, the 2**k exponent shift, the x >= 0 select) with
the denormals-are-zero / flush-to-zero mode LiteRT runs with.  Checked once when written on
all 2**32 float32 inputs; here on random values, random bit patterns (NaN incl. signalling,
inf, denormals), the -17.33 saturation cutoff, -0 and tiny negatives, in odd shapes.
"""
import numpy as np
import pytest
from tflite_build import run_litert, run_ours, single_op

F32 = np.float32


def elu_inputs(rng, n):
    cut = np.float32(-float.fromhex("0x1.154246p+4"))
    edges = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, -1e-40, -1.1754942e-38, -1.1754944e-38,
                      -2.4e-38, -1e-37, cut, np.nextafter(cut, F32(0)), np.nextafter(cut, F32(-1)), -17.0, -18.0,
                      -104.0, -1e30, -3.4028235e38, 3.4028235e38, 1.0, -1.0, -0.34657359, -0.6931472], F32)
    nans = np.array([0x7F800001, 0xFF800001, 0x7FC12345, 0xFFFFFFFF, 0x7FBFFFFF], np.uint32).view(F32)
    x = (rng.standard_normal(n) * 6).astype(F32)
    bits = rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32).view(F32)
    tiny = -np.logspace(-38, -30, 3000).astype(F32)
    return np.concatenate([edges, nans, x, bits, tiny, np.arange(-20, 1, 0.00731, dtype=F32)])


def _same_bits(got, want):
    assert got.shape == want.shape and got.dtype == want.dtype
    bad = np.flatnonzero(got.view(np.uint32) != want.view(np.uint32))
    assert bad.size == 0, (bad[:5], got.ravel()[bad[:5]], want.ravel()[bad[:5]])


def test_elu_bit_exact_vs_litert(rng):
    x = elu_inputs(rng, 1 << 18)
    m = single_op("ELU", [(x.shape, F32)], [x.shape])
    _same_bits(run_ours(m, [x])[0], run_litert(m, [x])[0])


@pytest.mark.parametrize("shape", [(1, 60, 56, 8), (3, 5, 7), (17,), (1,), (2, 33)])
def test_elu_shapes(shape, rng):
    x = (rng.standard_normal(shape) * 6).astype(F32)
    m = single_op("ELU", [(shape, F32)], [shape])
    _same_bits(run_ours(m, [x])[0], run_litert(m, [x])[0])
