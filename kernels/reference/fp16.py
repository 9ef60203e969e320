"""NumPy twins of kernels/fp16.py (NumPy's own float16 casts)."""
import numpy as np


def f16_bits_to_f32(src, out):
    out[...] = src.view(np.float16).astype(np.float32)


def f32_to_f16_bits(src, out):
    out[...] = src.astype(np.float16).view(np.uint16)


def round_f32_f16(src, out):
    out[...] = src.astype(np.float16).astype(np.float32)


def round_f32_f16_vec(src, out):
    round_f32_f16(src, out)


def round_f32_f16_vec_bits(src, out):
    round_f32_f16(src, out)
