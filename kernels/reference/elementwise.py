"""NumPy twins of kernels/elementwise.py (same names, arguments and op codes)."""
import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..elementwise import (ABS, ADD, CEIL, COS, DIV, EQUAL, EXP, FLOOR, GREATER, GREATER_EQUAL, LESS,  # noqa: F401
                           LESS_EQUAL, LOG, LOGICAL_AND, LOGICAL_OR, MAXIMUM, MINIMUM, MUL, NEG, NOT_EQUAL,
                           POW, PRELU, ROUND, RSQRT, SIN, SQRT, SQUARE, SQUARED_DIFFERENCE, SUB)


def _view(flat, shape, strides):
    """The broadcast rank-6 view of a flat array given element strides."""
    return as_strided(flat, shape=tuple(int(d) for d in shape),
                      strides=tuple(int(s) * flat.itemsize for s in strides), writeable=False)


_BINARY = {
    ADD: np.add, SUB: np.subtract, MUL: np.multiply, DIV: np.divide,
    SQUARED_DIFFERENCE: lambda a, b: np.square(a - b), MAXIMUM: lambda a, b: np.where(a > b, a, b),
    MINIMUM: lambda a, b: np.where(a < b, a, b), POW: np.power,
    PRELU: lambda a, b: np.where(a >= 0, a, a * b),
}


def binary_minmax(op, a, b, shape, sa, sb, clamp, lo, hi, out):
    with np.errstate(all="ignore"):
        r = _BINARY[op](_view(a, shape, sa), _view(b, shape, sb))
    if clamp:
        r = np.minimum(np.maximum(r, lo), hi)
    out[...] = r.astype(out.dtype, casting="unsafe").reshape(-1)


def binary_f32(op, a, b, shape, sa, sb, clamp, lo, hi, out):
    """The float32 vector kernel computes the same per-element operations as binary_minmax."""
    binary_minmax(op, a, b, shape, sa, sb, clamp, lo, hi, out)


_COMPARE = {
    LESS: np.less, LESS_EQUAL: np.less_equal, GREATER: np.greater, GREATER_EQUAL: np.greater_equal,
    EQUAL: np.equal, NOT_EQUAL: np.not_equal, LOGICAL_AND: np.logical_and, LOGICAL_OR: np.logical_or,
}


def compare_bool(op, a, b, shape, sa, sb, out):
    out[...] = _COMPARE[op](_view(a, shape, sa), _view(b, shape, sb)).reshape(-1)


def select_bcast(c, x, y, shape, sc, sx, sy, out):
    out[...] = np.where(_view(c, shape, sc), _view(x, shape, sx), _view(y, shape, sy)).reshape(-1)


_UNARY = {
    ABS: np.abs, NEG: np.negative, EXP: np.exp, LOG: np.log, SQRT: np.sqrt,
    RSQRT: lambda x: np.float32(1) / np.sqrt(x), SQUARE: np.square, SIN: np.sin, COS: np.cos,
    FLOOR: np.floor, CEIL: np.ceil, ROUND: np.rint,
}


def unary_f32(op, x, out):
    with np.errstate(all="ignore"):
        out[...] = _UNARY[op](x)


def cast(x, out):
    with np.errstate(all="ignore"):
        out[...] = x.astype(out.dtype)


def logical_not_bool(x, out):
    out[...] = np.logical_not(x)


def rsqrt_f32_xnn(x, out):
    """Plain float64 1/sqrt(x); rsqrt14 + one Newton-Raphson step is within ~2 ulp of it."""
    with np.errstate(all="ignore"):
        out[...] = (1.0 / np.sqrt(x.astype(np.float64))).astype(np.float32)


def sqrt_f32_xnn(x, out):
    """Plain float64 sqrt; x * (rsqrt14 + one Newton-Raphson step) is within ~2 ulp of it."""
    with np.errstate(all="ignore"):
        out[...] = np.sqrt(x.astype(np.float64)).astype(np.float32)
