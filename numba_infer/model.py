"""The callable-model face of the API: ``numba_infer.load(path)``."""
from __future__ import annotations

import os
from dataclasses import dataclass

import numba
import numpy as np

from .errors import InputError, TensorIndexError
from .graph import Graph
from .kernels.parallel import resolve_threads, threads_for_run
from .ops.registry import Resources, Settings
from .plan import prepare
from .reader import read_file, read_model

PRECISIONS = ("auto", "fp32", "fp16", "qd8-f32", "qd8-f16")
NUMERICS = ("xnnpack", "tflite")


def make_settings(precision="auto", numerics="xnnpack", num_threads=None):
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if numerics not in NUMERICS:
        raise ValueError(f"numerics must be one of {NUMERICS}, got {numerics!r}")
    if num_threads is not None and (not isinstance(num_threads, int) or num_threads < -1 or num_threads == 0):
        raise ValueError(f"num_threads must be a positive int, -1 or None, got {num_threads!r}")
    return Settings(precision=precision, numerics=numerics, num_threads=num_threads)


def apply_threads(num_threads):
    """Set Numba's thread count for this run (what a multi-thread plan's run does
    first, plan._runner; also for code that calls kernels or steps directly).

    num_threads=None: 1 thread, like LiteRT's default interpreter; -1: every
    thread Numba started with (NUMBA_NUM_THREADS, the core count by default);
    n: min(n, NUMBA_NUM_THREADS).  Prepare resolves the setting the same way
    (kernels/parallel.py resolve_threads): with one thread the lowerings bind
    serial kernels, with more they bind prange kernels for large enough ops.
    While another process keeps a core busy, runs fall back to one thread for
    a while (the contention guard of kernels/parallel.py).  A one-thread
    plan binds no threaded kernel, so its runs leave Numba's setting alone
    (setting it costs about 1 us per run).
    """
    if resolve_threads(num_threads) > 1:
        numba.set_num_threads(threads_for_run(num_threads))


@dataclass(frozen=True)
class TensorSpec:
    name: str
    index: int
    shape: tuple
    dtype: np.dtype
    quantization: tuple          # (scale, zero_point) of per-tensor quantization, (0.0, 0) if none

    def __repr__(self):
        q = f", quantization={self.quantization}" if self.quantization != (0.0, 0) else ""
        return f"TensorSpec({self.name!r}, shape={list(self.shape)}, dtype={self.dtype.name}{q})"


def _spec(info):
    q = info.quant
    qt = (float(q.scale[0]), int(q.zero_point[0]) if q.zero_point.size else 0) if q is not None and q.scale.size == 1 \
        else (0.0, 0)
    return TensorSpec(info.name, info.index, tuple(info.shape), np.dtype(info.dtype), qt)


def _read(source):
    if isinstance(source, (bytes, bytearray, memoryview)):
        return read_model(bytes(source)), "<bytes>"
    path = os.fspath(source)
    return read_file(path), path


class Model:
    """A loaded TFLite model, prepared for its stored input shapes.

    ``model(x)`` / ``model(name=x)`` / ``model({name: x})`` return
    ``{output name: array}``.  A new input shape re-prepares the model
    (shape inference, memory plan) once per distinct shape set; outputs are
    fresh arrays owned by the caller.
    """

    def __init__(self, source, precision="auto", numerics="xnnpack", num_threads=None, subgraph=0, progress=None):
        self.progress = progress          # None: auto (tty / notebook, $NUMBA_INFER_PROGRESS); True / False
        self.model, self.path = _read(source)
        self.content = bytes(source) if isinstance(source, (bytes, bytearray, memoryview)) else None  # for LiteRT
        self.settings = make_settings(precision, numerics, num_threads)
        self.graph = Graph(self.model, subgraph)
        self.resources = Resources()      # resource variables, shared by every plan of this model
        self._plans = {}
        self.plan = self._plan_for(None)

    # -- introspection ---------------------------------------------------------------
    @property
    def inputs(self):
        return [_spec(self.plan.infos[i]) for i in self.graph.inputs]

    @property
    def outputs(self):
        return [_spec(self.plan.infos[i]) for i in self.graph.outputs]

    @property
    def metadata(self):
        return dict(self.model.metadata)

    @property
    def reduced_precision_support(self):
        return self.model.reduced_precision_support

    @property
    def ops(self):
        return [n.op for n in self.graph.nodes]

    def __repr__(self):
        ins = ", ".join(repr(s) for s in self.inputs)
        outs = ", ".join(repr(s) for s in self.outputs)
        return (f"<numba_infer.Model {os.path.basename(self.path)!r}: {len(self.graph.nodes)} ops, "
                f"inputs [{ins}], outputs [{outs}]>")

    # -- running -----------------------------------------------------------------------
    def _plan_for(self, shapes, keep=frozenset()):
        key = (None if shapes is None else tuple(sorted(shapes.items())), keep)
        plan = self._plans.get(key)
        if plan is None:
            plan = prepare(self.graph, shapes, self.settings, keep=keep, progress=self.progress,
                           label=os.path.basename(self.path), resources=self.resources)
            self._plans[key] = plan
        return plan

    def _capture_set(self, capture):
        """Tensor indices to keep alive for capture="all" | [tensor names or op indices]."""
        produced = [o for n in self.graph.nodes for o in n.outputs]
        if capture == "all":
            return frozenset(produced)
        if isinstance(capture, (str, int)):
            capture = [capture]
        by_name = {self.graph.tensors[i].name: i for i in produced + list(self.graph.inputs)}
        keep = set()
        for c in capture:
            if isinstance(c, (int, np.integer)) and not isinstance(c, bool):
                if not 0 <= c < len(self.graph.nodes):
                    raise TensorIndexError(f"op index {c} out of range ({len(self.graph.nodes)} ops)")
                keep.update(self.graph.nodes[c].outputs)
            elif isinstance(c, str) and c in by_name:
                keep.add(by_name[c])
            else:
                raise TensorIndexError(f"capture: {c!r} is neither an op index nor the name of a tensor ops produce")
        return frozenset(keep)

    def _feeds(self, args, kwargs):
        names = [self.graph.tensors[i].name for i in self.graph.inputs]
        if len(args) == 1 and isinstance(args[0], dict) and not kwargs:
            kwargs, args = args[0], ()
        if args and kwargs:
            raise InputError("pass inputs either positionally or by name, not both")
        if args:
            if len(args) != len(names):
                raise InputError(f"model has {len(names)} inputs ({names}), got {len(args)} positional arrays")
            return dict(zip(self.graph.inputs, args))
        feeds = {}
        for k, v in kwargs.items():
            idx = self._input_index(k, names)
            feeds[idx] = v
        missing = [n for i, n in zip(self.graph.inputs, names) if i not in feeds]
        if missing:
            raise InputError(f"missing inputs: {missing}")
        return feeds

    def _input_index(self, key, names):
        if key in names:
            return self.graph.inputs[names.index(key)]
        # signature-style short names: 'input_1' for 'serving_default_input_1:0'
        for sig in self.model.signature_defs:
            if sig.subgraph_index == self.graph.subgraph_index and key in sig.inputs:
                return sig.inputs[key]
        raise InputError(f"no input named {key!r}; inputs are {names}")

    def run(self, *args, capture=None, **kwargs):
        """Run the model: ``run(x)``, ``run(name=x)`` or ``run({name: x})`` -> {output name: array}.

        capture: "all", or a list of tensor names and/or op indices.  Then returns
        ``(outputs, tensors)`` where ``tensors`` maps each captured tensor's name to
        a copy of its value.  Captured tensors get memory no other tensor reuses,
        so capture never changes what the model computes.
        """
        plan = self._prepared(args, kwargs, capture)
        plan.run()
        outputs = {self.graph.tensors[o].name: plan.output(o) for o in self.graph.outputs}
        if capture is None:
            return outputs
        return outputs, {self.graph.tensors[t].name: plan.output(t) for t in sorted(plan.keep)}

    __call__ = run

    def profile(self, *args, runs=10, progress=None, **kwargs):
        """Time every op over ``runs`` invocations; returns a :class:`~numba_infer.profile.Profile`
        (a list of per-op records: index, op, name, time_ms, share, gflops, shape, inputs, outputs)
        that prints like benchmark_model's op profile (``.report()``) and renders as HTML in notebooks."""
        from .profile import profile_plan
        plan = self._prepared(args, kwargs, None)
        return profile_plan(plan, runs, progress=self.progress if progress is None else progress,
                            title=os.path.basename(self.path))

    # -- pictures ----------------------------------------------------------------------
    def _repr_html_(self):
        from .views import model_html
        return model_html(self)

    def draw(self, path=None, format=None, engine="auto"):
        """Write a picture of the op graph (SVG, or PNG...) to ``path``; without a path, return SVG text.
        Uses Graphviz's ``dot`` when installed, else a built-in layered layout (see numba_infer/draw.py)."""
        from .draw import draw
        return draw(self, path, format=format, engine=engine)

    def _prepared(self, args, kwargs, capture):
        """The plan for these inputs, with the inputs copied in."""
        keep = frozenset() if capture is None else self._capture_set(capture)
        feeds = self._feeds(args, kwargs)
        arrays = {}
        shapes = {}
        for idx, v in feeds.items():
            info = self.graph.tensors[idx]
            a = np.asarray(v)
            if a.dtype != info.dtype:
                raise InputError(f"input {info.name!r} expects dtype {info.dtype.name}, got {a.dtype.name}")
            arrays[idx] = a
            if a.shape != self.plan.infos[idx].shape:
                shapes[idx] = a.shape
        full = None
        if shapes:
            full = {i: arrays[i].shape for i in self.graph.inputs}
            _check_rank(self.graph, full)
        plan = self.plan if full is None and not keep else self._plan_for(full, keep)
        for idx, a in arrays.items():
            plan.set_input(idx, a)
        return plan


def _check_rank(graph, shapes):
    for i, s in shapes.items():
        t = graph.tensors[i]
        if len(s) != len(t.shape):
            raise InputError(f"input {t.name!r} has rank {len(t.shape)}, got an array of shape {list(s)}")


def load(source, *, precision="auto", numerics="xnnpack", num_threads=None, subgraph=0, progress=None) -> Model:
    """Load a .tflite file (path or bytes) and prepare it to run.

    precision: "auto" runs the model as stored (fp16-weight models compute in fp32).
    numerics:  "xnnpack" (LiteRT's default path) or "tflite" (its builtin kernels).
    progress:  show a progress bar while compiling (None: on a terminal or in a notebook, unless
               $NUMBA_INFER_PROGRESS=0; True/False force it on/off).  Also used by ``profile``.
    """
    if not isinstance(subgraph, int):
        raise TensorIndexError(f"subgraph must be an int, got {subgraph!r}")
    return Model(source, precision=precision, numerics=numerics, num_threads=num_threads, subgraph=subgraph,
                 progress=progress)
