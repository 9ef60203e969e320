"""Resource variables and CALL_ONCE: VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE.

Streaming models (e.g. TFLM's wake-word models) keep state in resource
variables: a VAR_HANDLE names a variable, CALL_ONCE runs an init subgraph that
assigns the initial values, and every invoke reads and reassigns the state.
Variables live in the model's :class:`~numba_infer.ops.registry.Resources`,
outside the arena, so their values persist across invokes.  Handles are folded
to constant ids at prepare time; READ/ASSIGN are copies.
"""
from __future__ import annotations

import functools

import numpy as np

from ..errors import ModelValidationError
from .registry import Lowered, lowering


def _copy(src, dst):
    return functools.partial(np.copyto, dst, src)


@lowering("VAR_HANDLE")
def var_handle(ctx):
    name = f"{ctx.opt('container') or ''}/{ctx.opt('shared_name') or ''}"
    if name == "/":
        name = f"anonymous/{ctx.graph.subgraph_index}/{ctx.node.outputs[0]}"
    return Lowered(outputs=[((), np.int32)], values=[np.array(ctx.resources.handle(name), np.int32)])


def _variable(ctx, shape=None, dtype=None):
    handle = ctx.input(0)
    if handle.value is None or handle.value.size != 1:
        ctx.fail("the resource handle must come from a VAR_HANDLE", ModelValidationError)
    h = int(handle.value.reshape(-1)[0])
    if not 0 <= h < len(ctx.resources.names):
        ctx.fail(f"unknown resource handle {h}", ModelValidationError)
    name = ctx.resources.names[h]
    var = ctx.resources.variables.get(name)
    if var is None:
        if shape is None or dtype is None:
            ctx.fail(f"variable {name!r} has no shape: it is read before any assignment", ModelValidationError)
        var = ctx.resources.variables[name] = np.zeros(shape, dtype)
    elif shape is not None and (tuple(var.shape) != tuple(shape) or var.dtype != dtype):
        ctx.fail(f"variable {name!r} is {var.dtype.name}{list(var.shape)}, assigned "
                 f"{np.dtype(dtype).name}{list(shape)}", ModelValidationError)
    return var


@lowering("ASSIGN_VARIABLE")
def assign_variable(ctx):
    ctx.expect_inputs(2, 2)
    value = ctx.input(1)
    if value.dtype is None:
        ctx.fail(f"cannot assign a value of type {value.type_name}")
    var = _variable(ctx, value.shape, value.dtype)
    return Lowered(outputs=[], bind=lambda ins, outs, ws: _copy(ins[1], var), foldable=False)


@lowering("READ_VARIABLE")
def read_variable(ctx):
    ctx.expect_inputs(1, 1)
    out = ctx.outputs[0]
    var = _variable(ctx, out.shape if out.dtype is not None else None, out.dtype)
    return Lowered(outputs=[(var.shape, var.dtype)], bind=lambda ins, outs, ws: _copy(var, outs[0]),
                   foldable=False)


@lowering("CALL_ONCE")
def call_once(ctx):
    from ..graph import Graph
    from ..plan import prepare
    idx = int(ctx.opt("init_subgraph_index", -1))
    n = len(ctx.graph.model.subgraphs)
    if not 0 <= idx < n or idx == ctx.graph.subgraph_index:
        ctx.fail(f"init subgraph {idx} out of range (model has {n}) or the calling subgraph", ModelValidationError)
    res = ctx.resources
    if idx not in res.done_inits:
        res.done_inits.add(idx)             # before preparing: a CALL_ONCE cycle cannot recurse
        init = prepare(Graph(ctx.graph.model, idx), settings=ctx.settings, resources=res, warmup=False)
        init.run()
        res.inits.append(init.run)
    return Lowered(outputs=[], values=[])
