"""prepare (once) -> Plan; Plan.run (many).

prepare first replaces op chains that have a fused kernel by one node (fuse.py),
then walks the nodes in order and, for every node:
shape inference and kernel choice (the op's lowering), constant folding
(a node whose inputs are all constant runs once, here), then plans memory
(tensors whose lifetimes do not overlap share one arena; reshape-like ops
alias their input) and binds one step per remaining node.  ``run`` is a loop
over those bound steps.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numba
import numpy as np

from . import ops  # noqa: F401  (registers every lowering)
from .fuse import fuse
from .errors import InputError, ModelValidationError, NumbaInferError, UnsupportedError
from .graph import Graph
# 16 lanes at a time: vcvtps2ph/vcvtph2ps where the target has F16C, else a portable sequence
from .kernels.fp16 import round_f32_f16_vec as _round_f16
from .kernels import parallel as par
from .kernels.parallel import resolve_threads, threads_for_run
from .ops.common import chain
from .ops.registry import Lowered, OpContext, Resources, Settings, find
from .quant import dequantize_weights_at_load, quantize_weights_at_load

ALIGN = 64
# bytes of slack before and after the arena: the kernels' masked tail loads may
# address (without reading) up to a vector past a tensor's ends, and a masked load
# whose disabled lanes fall into an unmapped page is very slow on x86 (assist)
GUARD = 4096

# Ops whose float outputs are values of their inputs (moved, selected, clamped to
# fp16-representable bounds): under fp16 emulation they need no rounding pass.
VALUE_PRESERVING = frozenset({
    "RESHAPE", "SQUEEZE", "EXPAND_DIMS", "PAD", "PADV2", "MIRROR_PAD", "CONCATENATION", "PACK", "UNPACK", "SPLIT",
    "SPLIT_V", "TRANSPOSE", "STRIDED_SLICE", "SLICE", "TILE", "GATHER", "GATHER_ND", "SPACE_TO_BATCH_ND",
    "BATCH_TO_SPACE_ND", "DEPTH_TO_SPACE", "SPACE_TO_DEPTH", "MAX_POOL_2D", "REDUCE_MAX", "REDUCE_MIN", "RELU",
    "RELU6", "RELU_N1_TO_1", "ABS", "NEG", "MAXIMUM", "MINIMUM", "SELECT", "SELECT_V2", "RESIZE_NEAREST_NEIGHBOR",
    "DENSIFY", "DEQUANTIZE", "FLOOR", "CEIL", "ROUND"})


def round_fp16(a):
    """Round a float32 array to fp16 values in place (RNE, as vcvtps2ph)."""
    flat = a.reshape(-1)
    _round_f16(flat, flat)
    return a


def _fp16_rounding(node, outs):
    """The float32 outputs of node that fp16 emulation must round after it runs."""
    if node.op in VALUE_PRESERVING:
        return []
    return [o.reshape(-1) for o in outs if o.dtype == np.float32 and o.size]


@dataclass
class Step:
    """One prepared op: ``fn()`` runs it on its bound arrays."""
    node: object
    fn: object
    inputs: tuple
    outputs: tuple
    flops: int = 0
    threaded: bool = False        # binds a threaded kernel (kernels/parallel.py guarded)

    def __call__(self):
        self.fn()


def _check_shape(shape, what):
    shape = tuple(int(d) for d in shape)
    if any(d < 0 for d in shape):
        raise ModelValidationError(f"{what}: negative dimension in shape {list(shape)}")
    return shape


class Plan:
    """A graph prepared for fixed input shapes.  Build with :func:`prepare`."""

    def __init__(self, graph: Graph, infos: list, steps: list, arrays: dict, settings: Settings, keep,
                 resources=None):
        self.graph = graph
        self.infos = infos            # TensorInfo per tensor, with inferred shapes and folded values
        self.steps = steps
        # run() calls this prebuilt tuple; alias steps (reshape-likes sharing their input's memory) do nothing
        self._fns = tuple(st.fn for st in steps if st.fn is not _noop)
        # a plan whose ops all stayed serial (small ops, plan_threads) runs like a one-thread plan
        self.run = _runner(self._fns, settings.num_threads if any(st.threaded for st in steps) else 1)
        self.arrays = arrays          # tensor index -> array (runtime tensors and constants)
        self.settings = settings
        self.keep = keep
        self.inputs = graph.inputs
        self.outputs = graph.outputs
        self.resources = resources

    def set_input(self, tensor_index, value):
        dst = self.arrays[tensor_index]
        info = self.infos[tensor_index]
        value = np.asarray(value)
        if value.dtype != dst.dtype:
            raise InputError(f"input {info.name!r} expects dtype {dst.dtype.name}, got {value.dtype.name}")
        if value.shape != dst.shape:
            raise InputError(f"input {info.name!r} expects shape {list(dst.shape)}, got {list(value.shape)}")
        np.copyto(dst, value)
        if self.settings.fp16 and dst.dtype == np.float32:
            round_fp16(dst)                   # inputs enter fp16 emulation as fp16 values

    def output(self, tensor_index):
        return self.arrays[tensor_index].copy()


def _runner(fns, num_threads):
    """``Plan.run``: call every bound step in order.  The thread decision is made
    here, once: a multi-thread plan sets Numba's thread count before each run
    (kernels/parallel.py threads_for_run: the contention guard may ask for one);
    a one-thread plan, or one whose ops all stayed serial (Step.threaded), binds no
    threaded kernel and leaves it alone.  One run is
    then one Python call into a prebuilt closure (1 to 3 steps unrolled): after a
    weight stream has flushed the caches, every Python lookup on the way costs
    (measured on mlp_dr, interleaved with LiteRT: resolving the thread setting
    per run took 0.8 us of a 24 us run)."""
    if not fns:
        return _noop
    body = chain(*fns)
    if resolve_threads(num_threads) <= 1:
        return body

    def run_threaded():
        numba.set_num_threads(threads_for_run(num_threads))
        body()
    return run_threaded


def _unpack_lowered(ctx, lowered):
    if not isinstance(lowered, Lowered):
        raise TypeError(f"lowering of {ctx.node.op} returned {type(lowered).__name__}")
    if len(lowered.outputs) != len(ctx.node.outputs):
        ctx.fail(f"produces {len(lowered.outputs)} outputs but the model lists {len(ctx.node.outputs)}",
                 ModelValidationError)
    return [(_check_shape(s, f"op {ctx.node.index} ({ctx.node.op}) output"), np.dtype(d))
            for s, d in lowered.outputs]


def _alloc(shape, dtype):
    return np.zeros(shape, dtype)


def prepare(graph: Graph, input_shapes: dict | None = None, settings: Settings | None = None,
            keep=(), warmup=True, progress=False, label="", resources: Resources | None = None) -> Plan:
    """Infer shapes, fold constants, plan memory and bind one step per op.

    input_shapes: {tensor index: shape} overriding the file's input shapes.
    keep: tensor indices whose values must survive the whole run (capture,
    get_tensor on intermediates); they get memory no other tensor reuses.
    warmup: run every step once so that all JIT compilation happens here;
    progress/label: show that as a progress bar (see numba_infer/progress.py).
    resources: the model's resource variables, shared by all its subgraphs and plans.
    """
    settings = settings or Settings()
    resources = resources if resources is not None else Resources()
    infos = [replace(t) for t in graph.tensors]
    if settings.fp16:                         # weights and other float constants become fp16 values
        for t in infos:
            if t.value is not None and t.dtype == np.float32 and t.sparsity is None:
                t.value = round_fp16(t.value.copy())
    for ti, shape in (input_shapes or {}).items():
        infos[ti] = replace(infos[ti], shape=_check_shape(shape, f"input {infos[ti].name!r}"))

    runtime = []              # (node, lowered, out specs)
    # graph -> fuse -> lower: op chains with a fused kernel become one node (fuse.py)
    for node in fuse(graph, settings, keep):
        ins = [None if i == -1 else infos[i] for i in node.inputs]
        if settings.precision in ("qd8-f32", "qd8-f16"):
            ins = quantize_weights_at_load(node, ins)
        elif settings.precision in ("fp32", "fp16"):
            ins = dequantize_weights_at_load(node, ins)
        ctx = OpContext(node, ins, [graph.tensors[o] for o in node.outputs], settings, graph, resources)
        reg = find(node)
        if node.op != "DENSIFY" and any(t is not None and t.sparsity is not None for t in ins):
            raise UnsupportedError(f"op {node.index} ({node.op}) reads a sparse tensor directly; "
                                   "numba_infer supports sparse tensors only through DENSIFY")
        try:
            lowered = reg.fn(ctx)
        except NumbaInferError:
            raise
        except (ValueError, IndexError, KeyError, TypeError, ZeroDivisionError, OverflowError) as e:
            raise ModelValidationError(f"op {node.index} ({node.op}): invalid operands: {e}") from e
        specs = _unpack_lowered(ctx, lowered)
        for o, (shape, dtype) in zip(node.outputs, specs):
            infos[o] = replace(infos[o], shape=shape, dtype=dtype, value=None)
        if lowered.values is not None:
            for o, v, (shape, dtype) in zip(node.outputs, lowered.values, specs):
                infos[o].value = np.ascontiguousarray(np.asarray(v, dtype).reshape(shape))
            continue
        live_ins = [t for t in ins if t is not None]
        if lowered.foldable and all(t.is_const and not t.is_variable for t in live_ins) and live_ins:
            outs = [_alloc(s, d) for s, d in specs]
            if lowered.alias is not None:
                outs[0][...] = ins[lowered.alias].value.reshape(specs[0][0])
            else:
                ws = [_alloc(s, d) for s, d in lowered.workspace]
                lowered.bind([None if t is None else t.value for t in ins], outs, ws)()
                if settings.fp16 and not lowered.rounds_fp16:
                    for flat in _fp16_rounding(node, outs):
                        _round_f16(flat, flat)
            for o, v in zip(node.outputs, outs):
                infos[o].value = v
            continue
        runtime.append((node, lowered, specs))

    arrays, steps = _plan_memory(graph, infos, runtime, set(keep), settings.fp16)
    plan = Plan(graph, infos, steps, arrays, settings, keep, resources)
    if warmup:
        plan.warmup_seconds = _warmup(plan, progress, label)
    return plan


def _warmup(plan, progress=False, label=""):
    """Run every step once on zeros so that all JIT compilation happens in prepare."""
    from .progress import bar
    t0 = time.perf_counter()
    for step in bar(plan.steps, desc=f"compiling {label}".strip(), progress=progress, unit="op", delay=1.0):
        step.fn()
    for i in plan.inputs:
        plan.arrays[i][...] = 0
    return time.perf_counter() - t0


def _plan_memory(graph, infos, runtime, keep, fp16=False):
    """Greedy-by-size arena planning over tensor lifetimes (as TFLite's arena planner)."""
    n_steps = len(runtime)
    end = n_steps + 1
    # Storage groups: aliasing ops put their output in their input's group.
    group = {}
    first, last, nbytes = {}, {}, {}

    def touch(gid, t):
        first[gid] = min(first.get(gid, t), t)
        last[gid] = max(last.get(gid, t), t)

    for i in graph.inputs:
        group[i] = i
        touch(i, 0)
        last[i] = end                       # inputs stay readable after invoke, as in TFLite
    workspaces = []
    for s, (node, lowered, specs) in enumerate(runtime, start=1):
        for i in node.inputs:
            if i != -1 and infos[i].value is None:
                if i not in group:
                    raise ModelValidationError(f"op {node.index} ({node.op}) reads tensor {i} which has no value")
                touch(group[i], s)
        for k, o in enumerate(node.outputs):
            if k == 0 and lowered.alias is not None and infos[node.inputs[lowered.alias]].value is None:
                group[o] = group[node.inputs[lowered.alias]]
            else:
                group[o] = o
            touch(group[o], s)
        for w, (shape, dtype) in enumerate(lowered.workspace):
            gid = ("ws", s, w)
            touch(gid, s)
            nbytes[gid] = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
            workspaces.append(gid)
    for o in graph.outputs:
        if o in group:
            last[group[o]] = end
    for k in keep:
        if k in group:
            first[group[k]] = 0
            last[group[k]] = end
    for t, gid in group.items():
        sz = infos[t].size * infos[t].dtype.itemsize
        nbytes[gid] = max(nbytes.get(gid, 0), sz)

    # First-fit by decreasing size among groups whose lifetimes overlap.
    placed = []                              # (offset, size, first, last)
    offsets = {}
    for gid in sorted(nbytes, key=lambda g: (-nbytes[g], first[g])):
        size = (nbytes[gid] + ALIGN - 1) // ALIGN * ALIGN
        off = 0
        for o2, s2, f2, l2 in sorted(p for p in placed if not (p[3] < first[gid] or p[2] > last[gid])):
            if off + size <= o2:
                break
            off = max(off, o2 + s2)
        offsets[gid] = off
        placed.append((off, size, first[gid], last[gid]))
    total = max([o + s for o, s, _, _ in placed], default=0)
    arena = np.zeros(total + ALIGN + 2 * GUARD, np.uint8)
    base = GUARD + (-(arena.ctypes.data + GUARD)) % ALIGN

    def view(gid, shape, dtype):
        dtype = np.dtype(dtype)
        n = int(np.prod(shape, dtype=np.int64))
        off = base + offsets[gid]
        return arena[off:off + n * dtype.itemsize].view(dtype).reshape(shape)

    arrays = {}
    for t, gid in group.items():
        arrays[t] = view(gid, infos[t].shape, infos[t].dtype)
    for t in infos:
        if t.value is not None:
            arrays[t.index] = t.value
    steps = []
    for s, (node, lowered, specs) in enumerate(runtime, start=1):
        if lowered.alias is not None and infos[node.inputs[lowered.alias]].value is None:
            fn, threaded = _noop, False
        else:
            ins = [None if i == -1 else arrays[i] for i in node.inputs]
            outs = [arrays[o] for o in node.outputs]
            ws = [view(("ws", s, w), shape, dtype) for w, (shape, dtype) in enumerate(lowered.workspace)]
            bound = par.GUARDED[0]
            fn = lowered.bind(ins, outs, ws)
            threaded = par.GUARDED[0] > bound
            if fp16 and not lowered.rounds_fp16:
                fn = _with_rounding(fn, _fp16_rounding(node, outs))
        steps.append(Step(node, fn, tuple(node.inputs), tuple(node.outputs), lowered.flops, threaded))
    plan_bytes = total
    for st in steps:
        st.arena_bytes = plan_bytes
    return arrays, steps


def _noop():
    pass


def _with_rounding(fn, flats):
    """fp16 emulation for an op whose kernel does not round: run it, then round its outputs."""
    if not flats:
        return fn
    if len(flats) == 1:
        (flat,) = flats

        def step():
            fn()
            _round_f16(flat, flat)
        return step

    def step_n():
        fn()
        for f in flats:
            _round_f16(f, f)
    return step_n
