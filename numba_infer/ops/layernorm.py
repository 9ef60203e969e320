"""NI_LAYER_NORM: the Keras LayerNormalization op chain (plus its residual ADD) that
numba_infer/fuse.py replaces by one node; kernels/layernorm.py computes it row by row.

Inputs: (a, b or -1, gamma, eps, beta or -1); x = a, or a + b.  The kernel repeats the
unfused ops' float32 operations in their order, so the numerics follow what the
separate lowerings bind under the same settings: the MEANs as ops/reduce.py binds a
last-axis float32 MEAN (numerics="xnnpack": XNNPack's rsum order; "tflite": Eigen's
redux when a kept axis of size > 1 precedes the reduced one, else left-to-right), the
RSQRT as ops/elementwise.py (rsqrt14 + Newton-Raphson on AVX-512F hosts under
numerics="xnnpack", else 1 / sqrt).  fuse.py does not fuse under fp16 emulation.
"""
from __future__ import annotations

import numpy as np

from .. import isa
from ..errors import ModelValidationError
from ..kernels import layernorm as K
from .common import bound_kernel
from .elementwise import flat
from .registry import Lowered, lowering


def _channels(ctx, i, c, what):
    """Constant input i ([..1, C] or [..1, 1]) as a float32 (c,) array."""
    v = np.asarray(ctx.const(i, what), np.float32)
    if v.ndim and (any(d != 1 for d in v.shape[:-1]) or v.shape[-1] not in (1, c)):
        ctx.fail(f"{what} of shape {list(v.shape)} does not broadcast over the last axis ({c})",
                 ModelValidationError)
    return np.ascontiguousarray(np.broadcast_to(v.reshape(-1), (c,)), np.float32)


@lowering("NI_LAYER_NORM")
def layer_norm(ctx):
    ctx.expect_inputs(5, 5)
    a = ctx.input(0)
    b = ctx.optional(1)
    for t in (a, b):
        if t is not None:
            ctx.expect_dtype(t, np.float32)
    shape = tuple(a.shape)
    if b is not None and tuple(b.shape) != shape:
        ctx.fail(f"residual operands of shapes {list(shape)} and {list(b.shape)}", ModelValidationError)
    if not shape or shape[-1] == 0:
        ctx.fail(f"layer normalization over an empty last axis (shape {list(shape)})")
    c = shape[-1]
    rows = int(np.prod(shape[:-1], dtype=np.int64))
    gamma = _channels(ctx, 2, c, "gamma")
    eps = np.asarray(ctx.const(3, "epsilon"), np.float32)
    if eps.size != 1:
        ctx.fail(f"epsilon has {eps.size} elements, expected 1", ModelValidationError)
    eps = np.float32(eps.reshape(-1)[0])
    has_beta = ctx.optional(4) is not None
    beta = _channels(ctx, 4, c, "beta") if has_beta else gamma
    numerics = ctx.settings.numerics
    if numerics == "xnnpack":
        mode = K.MEAN_XNN
    else:                       # ops/reduce.py: Eigen when the non-1 dims are (kept..., reduced)
        mode = K.MEAN_EIGEN if rows > 1 and c > 1 else K.MEAN_SEQ
    fn = K.layer_norm_f32_xnn if numerics == "xnnpack" and isa.AVX512F else K.layer_norm_f32
    res = b is not None

    def bind(ins, outs, ws):
        x, o = flat(ins[0]), outs[0].reshape(-1)
        if rows == 0:
            return lambda: None
        y = flat(ins[1]) if res else x
        return bound_kernel(fn, x, y, gamma, beta, eps, np.int64(mode), res, has_beta, ws[0], o)
    return Lowered(outputs=[(shape, np.float32)], bind=bind, workspace=[((c + 2 * rows,), np.float32)],
                   flops=10 * rows * c)
