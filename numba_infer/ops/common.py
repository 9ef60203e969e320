"""TFLite semantics shared by several op families (padding, fused activations, axes)."""
from __future__ import annotations

import functools
import inspect

import numpy as np

F32_MAX = float(np.finfo(np.float32).max)


def act_range_f32(ctx, code=None):
    """Float clamp bounds of a fused activation, as TFLite's CalculateActivationRange.

    TANH and SIGN_BIT are not clamps; TFLite's float conv/FC kernels ignore
    them (no-op), but we refuse them rather than silently doing nothing.
    """
    if code is None:
        code = ctx.opt("fused_activation_function", 0)
    if code == 0:
        return -F32_MAX, F32_MAX
    if code == 1:
        return 0.0, F32_MAX
    if code == 2:
        return -1.0, 1.0
    if code == 3:
        return 0.0, 6.0
    ctx.fail(f"fused activation code {code} (TANH/SIGN_BIT) is not supported on this op")


def padding(ctx, in_size, k, stride, dilation, pad_code=None):
    """(out_size, pad_before) for one spatial dim, as tflite/kernels/padding.h.

    SAME: out = ceil(in/stride), total = max(0, (out-1)*stride + eff - in),
    before = total // 2 (the odd pixel goes after).  VALID: out = (in - eff)//stride + 1.
    """
    if pad_code is None:
        pad_code = ctx.opt("padding", 0)
    if stride < 1 or dilation < 1 or k < 1:
        ctx.fail(f"invalid stride {stride} / dilation {dilation} / kernel {k}")
    eff = (k - 1) * dilation + 1
    if pad_code == 0:                       # SAME
        out = (in_size + stride - 1) // stride
        total = max(0, (out - 1) * stride + eff - in_size)
        return out, total // 2
    if pad_code == 1:                       # VALID
        out = (in_size + stride - eff) // stride
        return max(out, 0), 0
    ctx.fail(f"unknown padding code {pad_code}")


def norm_axis(ctx, axis, rank):
    axis = int(axis)
    if not -rank <= axis < max(rank, 1):
        ctx.fail(f"axis {axis} out of range for rank {rank}", _validation())
    return axis % max(rank, 1)


def _validation():
    from ..errors import ModelValidationError
    return ModelValidationError


def broadcast_shape(ctx, a, b):
    try:
        return tuple(int(d) for d in np.broadcast_shapes(tuple(a), tuple(b)))
    except ValueError:
        ctx.fail(f"shapes {list(a)} and {list(b)} do not broadcast", _validation())


_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def bound_kernel(disp, *args, **kwargs):
    """``lambda: disp(*args, **kwargs)`` without Numba's per-call dispatch.

    The compiled overload for these exact argument types is looked up once
    (types as the dispatcher computes them, ``typeof_pyval``; compiled or
    loaded from the on-disk cache here if needed) and its entry point is bound
    to the arguments with ``functools.partial``.  The step then pays only the
    argument unboxing: ~250 -> ~90 ns for a 1-array kernel, ~1.1 -> ~0.6 us for
    the 17-argument QD8 FC kernel.  Parameters left to their defaults get the
    same ``Omitted(default)`` type the dispatcher gives them (same
    specialization, no extra compile); the entry point takes a placeholder
    there and uses the default.  The arguments are bound once and for all
    (bind fixes every buffer).  Anything that is not a Numba dispatcher
    (NUMBA_DISABLE_JIT, a NumPy twin, a plain function) is simply bound.
    """
    py = getattr(disp, "py_func", None)
    if py is None or not hasattr(disp, "overloads") or not hasattr(disp, "typeof_pyval"):
        return functools.partial(disp, *args, **kwargs)
    params = inspect.signature(py).parameters.values()
    if any(p.kind in _VARIADIC for p in params):
        return functools.partial(disp, *args, **kwargs)
    given = inspect.signature(py).bind(*args, **kwargs).arguments   # TypeError as the call would
    from numba.core import types
    vals, sig = [], []
    for p in params:
        if p.name in given:
            v = given[p.name]
            vals.append(v)
            sig.append(disp.typeof_pyval(v))
        else:
            vals.append(p.default)
            sig.append(types.Omitted(p.default))
    sig = tuple(sig)
    cres = disp.overloads.get(sig)
    if cres is None:
        disp.compile(sig)
        cres = disp.overloads[sig]
    return functools.partial(cres.entry_point, *vals)


def chain(*steps):
    """One zero-argument step that calls ``steps`` (zero-argument callables,
    typically bound_kernel partials; None entries are skipped) in order."""
    steps = tuple(s for s in steps if s is not None)
    if len(steps) == 1:
        return steps[0]
    if len(steps) == 2:
        a, b = steps

        def step2():
            a()
            b()
        return step2
    if len(steps) == 3:
        a, b, c = steps

        def step3():
            a()
            b()
            c()
        return step3

    def step():
        for s in steps:
            s()
    return step
