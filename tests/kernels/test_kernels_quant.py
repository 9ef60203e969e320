"""fp16 bit kernels and dequantize kernels vs their NumPy twins."""
import numpy as np
import pytest

from numba_infer.kernels import fp16, quant
from numba_infer.kernels.reference import fp16 as fp16_ref
from numba_infer.kernels.reference import quant as quant_ref


def test_f16_to_f32_all_codes_exact():
    src = np.arange(65536, dtype=np.uint32).astype(np.uint16)
    out, ref = np.empty(65536, np.float32), np.empty(65536, np.float32)
    fp16.f16_bits_to_f32(src, out)
    fp16_ref.f16_bits_to_f32(src, ref)
    nan = np.isnan(ref)
    np.testing.assert_array_equal(np.isnan(out), nan)
    np.testing.assert_array_equal(out[~nan].view(np.uint32), ref[~nan].view(np.uint32))   # signed zeros too


def _edge_f32():
    f16 = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.float16).astype(np.float32)
    f16 = f16[np.isfinite(f16)]
    bits = f16.view(np.uint32)
    # every fp16 value, its fp32 neighbours, and the exact ties between fp16 neighbours
    mids = ((np.sort(f16).astype(np.float64)[1:] + np.sort(f16).astype(np.float64)[:-1]) / 2).astype(np.float32)
    specials = np.array([0.0, -0.0, np.inf, -np.inf, 65504, 65519.996, 65520, 65536, 1e30, -1e30, 2.0**-24, 2.0**-25,
                         2.0**-25 * 1.0000001, 2.0**-26, 1e-45, -1e-45, 6.1035156e-05, 6.1e-05], np.float32)
    return np.concatenate([f16, (bits + 1).view(np.float32), (bits - 1).view(np.float32), mids, specials])


def _random_bits(n):
    return np.random.default_rng(0).integers(0, 2**32, size=n, dtype=np.uint64).astype(np.uint32).view(np.float32)


@pytest.mark.parametrize("kind", ["edges", "random"])
def test_f32_to_f16_matches_numpy(kind):
    x = _edge_f32() if kind == "edges" else _random_bits(10_000_000)
    out, ref = np.empty(x.size, np.uint16), np.empty(x.size, np.uint16)
    fp16.f32_to_f16_bits(x, out)
    fp16_ref.f32_to_f16_bits(x, ref)
    nan = np.isnan(x)
    np.testing.assert_array_equal(out[~nan], ref[~nan])
    assert np.all(np.isnan(out[nan].view(np.float16)))          # NaN stays NaN (payload not specified)
    r, rr = np.empty(x.size, np.float32), np.empty(x.size, np.float32)
    fp16.round_f32_f16(x, r)
    fp16_ref.round_f32_f16(x, rr)
    np.testing.assert_array_equal(r[~nan].view(np.uint32), rr[~nan].view(np.uint32))


@pytest.mark.parametrize("kind", ["edges", "random"])
def test_vector_f16_round_matches_numpy(kind):
    # vround_f16 (the 16-lane rounding used in GEMM epilogues), portable IR: bit-exact with
    # numpy's float16 cast, NaNs quieted exactly like the scalar kernel (vcvtps2ph's rule)
    x = _edge_f32() if kind == "edges" else _random_bits(10_000_000)
    x = np.concatenate([x, x[:17]])                 # a masked 1..15-lane tail too
    out, ref, scalar = (np.empty(x.size, np.float32) for _ in range(3))
    fp16.round_f32_f16(x, scalar)
    nan = np.isnan(x)
    # round_f32_f16_vec: vcvtps2ph when the target has F16C; _bits: the portable sequence
    for kern in (fp16.round_f32_f16_vec, fp16.round_f32_f16_vec_bits):
        kern(x, out)
        getattr(fp16_ref, kern.__name__)(x, ref)
        np.testing.assert_array_equal(out[~nan].view(np.uint32), ref[~nan].view(np.uint32))
        np.testing.assert_array_equal(out.view(np.uint32), scalar.view(np.uint32))


@pytest.mark.parametrize("dtype,zp", [(np.int8, 0), (np.int8, -7), (np.uint8, 128), (np.int16, 3)])
def test_dequantize_per_tensor(dtype, zp, rng):
    info = np.iinfo(dtype)
    src = rng.integers(info.min, info.max + 1, size=1000).astype(dtype)
    out, ref = np.empty(1000, np.float32), np.empty(1000, np.float32)
    quant.dequantize_q_f32(src, 0.0123, zp, out)
    quant_ref.dequantize_q_f32(src, 0.0123, zp, ref)
    np.testing.assert_array_equal(out, ref)          # both: one double product, one rounding to float32


def test_dequantize_per_channel(rng):
    src = rng.integers(-127, 128, size=(3, 5, 7)).astype(np.int8)
    scales = rng.uniform(1e-3, 1e-1, 5).astype(np.float32)
    zps = rng.integers(-3, 3, 5).astype(np.int32)
    out, ref = np.empty(src.shape, np.float32), np.empty(src.shape, np.float32)
    quant.dequantize_q_f32_pc(src, scales, zps, out)
    quant_ref.dequantize_q_f32_pc(src, scales, zps, ref)
    np.testing.assert_array_equal(out, ref)          # both float32 products of exact float32 operands
