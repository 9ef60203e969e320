"""The lowering registry: TFLite op name -> function that prepares it.

A lowering runs once, at prepare time.  It receives an :class:`OpContext`
(the node, the current shapes/dtypes/constants of its inputs, the settings)
and returns a :class:`Lowered`: the output specs and a ``bind`` function that,
given the planned arrays, returns the zero-argument step run by ``Plan.run``.
All dispatch on dtype, variant and options happens in the lowering; the step
it returns does no Python work beyond calling kernels.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..errors import ModelValidationError, UnsupportedError
from ..graph import Node, TensorInfo


@dataclass
class Lowered:
    """What a lowering hands to the planner.

    outputs:   one (shape, dtype) per node output.
    bind:      (ins, outs, ws) -> step, where ins/outs/ws are lists of arrays
               (None for omitted optional inputs).  Pack weights *before*
               returning, in the lowering; bind only captures arrays.
    values:    output values known at prepare time (SHAPE, DENSIFY...); no step runs.
    alias:     index of an input whose memory output 0 shares (reshape-like ops,
               bind is then None): the output is a view, zero copies at run time.
    workspace: (shape, dtype) scratch arrays the step needs; they live only during the op.
    foldable:  when every input is constant, the planner runs the step once at
               prepare time and turns the outputs into constants.
    flops:     multiply-adds x2 of one run (for profiles); 0 if not meaningful.
    rounds_fp16: under fp16 emulation the step itself rounds its float32 outputs to
               fp16 (in its epilogue); otherwise the planner appends a rounding pass.
    """
    outputs: list
    bind: Callable | None = None
    values: list | None = None
    alias: int | None = None
    workspace: list = field(default_factory=list)
    foldable: bool = True
    flops: int = 0
    rounds_fp16: bool = False


@dataclass
class Settings:
    precision: str = "auto"      # auto | fp32 | fp16 | qd8-f32 | qd8-f16
    numerics: str = "xnnpack"    # xnnpack | tflite
    num_threads: int | None = None

    @property
    def fp16(self):
        """fp16 emulation: float tensors hold fp16 values (rounded after each op)."""
        return self.precision in ("fp16", "qd8-f16")


class OpContext:
    """A node plus what prepare knows about its tensors at this point."""

    def __init__(self, node: Node, inputs: list, outputs: list, settings: Settings, graph=None, resources=None):
        self.node = node
        self.inputs = inputs          # TensorInfo or None (omitted optional input)
        self.outputs = outputs        # TensorInfo as stored in the file
        self.settings = settings
        self.options = node.options
        self.graph = graph            # the Graph being prepared (control-flow ops reach other subgraphs)
        self.resources = resources    # Resources of the model: resource variables, shared across subgraphs

    # -- helpers used by lowerings ------------------------------------------------
    def fail(self, msg, cls=UnsupportedError):
        raise cls(f"op {self.node.index} ({self.node.op} v{self.node.version}): {msg}")

    def input(self, i) -> TensorInfo:
        if i >= len(self.inputs) or self.inputs[i] is None:
            self.fail(f"needs input {i}", ModelValidationError)
        return self.inputs[i]

    def optional(self, i) -> TensorInfo | None:
        return self.inputs[i] if i < len(self.inputs) else None

    def const(self, i, what="this input"):
        t = self.input(i)
        if t.value is None:
            self.fail(f"{what} (input {i}, {t.name!r}) must be a constant; dynamic values are not supported")
        return t.value

    def opt(self, name, default=None):
        return self.options.get(name, default) if self.options else default

    def expect_inputs(self, lo, hi=None):
        n = len(self.inputs)
        if n < lo or (hi is not None and n > hi):
            self.fail(f"expects {lo}..{hi if hi is not None else 'n'} inputs, got {n}", ModelValidationError)

    def expect_dtype(self, t: TensorInfo, *dtypes):
        if t.dtype not in [np.dtype(d) for d in dtypes]:
            names = ", ".join(np.dtype(d).name for d in dtypes)
            self.fail(f"tensor {t.name!r} has dtype {t.type_name}; this op supports {names}")


class Resources:
    """State that outlives one run: TFLite resource variables (VAR_HANDLE ...).

    variables: shared_name -> persistent array (not in the arena), so streaming
    models keep their state from one invoke to the next.  inits: callables that
    re-run each CALL_ONCE init subgraph (reset_all_variables).
    """

    def __init__(self):
        self.names = []               # handle id -> shared name
        self.variables = {}
        self.inits = []
        self.done_inits = set()

    def handle(self, name):
        if name not in self.names:
            self.names.append(name)
        return self.names.index(name)

    def reset(self):
        for init in self.inits:
            init()


@dataclass
class Registration:
    op: str
    fn: Callable
    versions: tuple


LOWERINGS: dict[str, Registration] = {}


def lowering(*ops, versions=(1, 1000)):
    """Register fn as the lowering of the given TFLite op names (builtin or custom)."""
    def deco(fn):
        for op in ops:
            if op in LOWERINGS:
                raise RuntimeError(f"duplicate lowering for {op}")
            LOWERINGS[op] = Registration(op, fn, tuple(versions))
        return fn
    return deco


INTERNAL = "NI_"          # ops that only numba_infer/fuse.py creates (builtin_code -1), never a file


def find(node: Node) -> Registration:
    internal = node.op.startswith(INTERNAL) and node.builtin_code == -1
    reg = LOWERINGS.get(node.op) if internal or not node.op.startswith(INTERNAL) else None
    if reg is None:
        raise UnsupportedError(f"op {node.index}: {node.op} is not supported by numba_infer. "
                               f"Supported ops: {', '.join(supported_ops())}")
    lo, hi = reg.versions
    if not lo <= node.version <= hi:
        raise UnsupportedError(f"op {node.index}: {node.op} version {node.version} is not supported "
                               f"(numba_infer supports versions {lo}..{hi})")
    return reg


def supported_ops():
    """The TFLite ops (builtin and custom names) numba_infer runs."""
    return sorted(op for op in LOWERINGS if not op.startswith(INTERNAL))
