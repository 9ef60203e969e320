"""A drop-in for ``ai_edge_litert.interpreter.Interpreter``.

Same constructor keywords, methods and detail dicts (keys and value types),
so an existing LiteRT script runs after changing its import line.  Extra
keywords: ``precision`` and ``numerics`` (see :func:`numba_infer.load`).
"""
from __future__ import annotations

import numpy as np

from .errors import InputError, StateError, TensorIndexError
from .graph import Graph
from .model import _read, make_settings
from .ops.registry import Resources
from .plan import prepare


def _quant_details(q):
    if q is None:
        return (0.0, 0), {"scales": np.zeros(0, np.float32), "zero_points": np.zeros(0, np.int32),
                          "quantized_dimension": 0, "block_size": 0}
    zps = q.zero_point.astype(np.int32)
    legacy = (float(q.scale[0]), int(zps[0]) if zps.size else 0) if q.scale.size == 1 else (0.0, 0)
    return legacy, {"scales": q.scale.astype(np.float32), "zero_points": zps,
                    "quantized_dimension": int(q.quantized_dimension), "block_size": 0}


def _sparsity_details(s):
    if s is None:
        return {}
    dims = []
    for d in s.dim_metadata:
        if d["format"] == "DENSE":
            dims.append({"format": 0, "dense_size": int(d["dense_size"])})
        else:
            dims.append({"format": 1, "array_segments": np.asarray(d["array_segments"], np.int32),
                         "array_indices": np.asarray(d["array_indices"], np.int32)})
    out = {"traversal_order": np.asarray(s.traversal_order, np.int32), "dim_metadata": dims}
    if s.block_map:
        out["block_map"] = np.asarray(s.block_map, np.int32)
    return out


def tensor_details(tensor, shape):
    """LiteRT-format detail dict for a reader Tensor with its current shape."""
    legacy, params = _quant_details(tensor.quantization)
    dtype = tensor.dtype.type if tensor.dtype is not None else None
    return {"name": tensor.name, "index": tensor.index,
            "shape": np.array(shape, np.int32), "shape_signature": np.array(tensor.shape_signature, np.int32),
            "dtype": dtype, "quantization": legacy, "quantization_parameters": params,
            "sparsity_parameters": _sparsity_details(tensor.sparsity)}


class Interpreter:
    """numba_infer's LiteRT-compatible interpreter.

    Not thread-safe per instance (as LiteRT's): use one instance per thread.
    """

    def __init__(self, model_path=None, model_content=None, experimental_delegates=None, num_threads=None,
                 experimental_op_resolver_type=None, experimental_preserve_all_tensors=False,
                 precision="auto", numerics="xnnpack", _subgraph_index=0, **_ignored_litert_options):
        if (model_path is None) == (model_content is None):
            raise ValueError("pass exactly one of model_path or model_content")
        if experimental_delegates:
            raise ValueError("numba_infer does not use delegates")
        self._model, self._path = _read(model_path if model_path is not None else model_content)
        self._settings = make_settings(precision, numerics, num_threads)
        self._preserve = bool(experimental_preserve_all_tensors)
        self._sg = _subgraph_index
        self._graph = Graph(self._model, _subgraph_index)
        self._shapes = {i: tuple(self._graph.tensors[i].shape) for i in self._graph.inputs}
        self._plan = None
        self._invoked = False
        self._resources = Resources()

    # -- details ---------------------------------------------------------------------
    def _tensor(self, index, subgraph_index=0):
        if not isinstance(index, (int, np.integer)):
            raise TensorIndexError(f"tensor index must be an int, got {index!r}")
        if not 0 <= subgraph_index < len(self._model.subgraphs):
            raise TensorIndexError(f"subgraph {subgraph_index} out of range")
        tensors = self._model.subgraphs[subgraph_index].tensors
        if not 0 <= index < len(tensors):
            raise TensorIndexError(f"tensor index {index} out of range (subgraph has {len(tensors)} tensors)")
        return tensors[int(index)]

    def _shape(self, index):
        if self._plan is not None:
            return self._plan.infos[index].shape
        if index in self._shapes:
            return self._shapes[index]
        return self._graph.tensors[index].shape

    def get_input_details(self):
        return [tensor_details(self._tensor(i), self._shape(i)) for i in self._graph.inputs]

    def get_output_details(self):
        return [tensor_details(self._tensor(i), self._shape(i)) for i in self._graph.outputs]

    def get_tensor_details(self, subgraph_index=0):
        sg = self._model.subgraphs[subgraph_index] if 0 <= subgraph_index < len(self._model.subgraphs) else None
        if sg is None:
            raise TensorIndexError(f"subgraph {subgraph_index} out of range")
        shape = self._shape if subgraph_index == self._sg else (lambda i: sg.tensors[i].shape)
        return [tensor_details(t, shape(t.index)) for t in sg.tensors]

    def _get_ops_details(self):
        out = []
        for n in self._graph.nodes:
            def types(ids):
                return [self._graph.tensors[i].dtype.type if i != -1 and self._graph.tensors[i].dtype is not None
                        else None for i in ids]
            out.append({"index": n.index, "op_name": n.op, "inputs": np.array(n.inputs, np.int32),
                        "outputs": np.array(n.outputs, np.int32), "operand_types": types(n.inputs),
                        "result_types": types(n.outputs)})
        return out

    def num_subgraphs(self):
        return len(self._model.subgraphs)

    # -- lifecycle -------------------------------------------------------------------
    def resize_tensor_input(self, input_index, tensor_size, strict=False):
        if input_index not in self._graph.inputs:
            raise TensorIndexError(f"tensor {input_index} is not an input of the model")
        new = tuple(int(d) for d in np.asarray(tensor_size).reshape(-1))
        t = self._graph.tensors[input_index]
        if any(d < 0 for d in new):
            raise InputError(f"invalid shape {list(new)} for input {t.name!r}")
        if strict:
            sig = self._tensor(input_index).shape_signature
            if len(sig) != len(new) or any(s != -1 and s != d for s, d in zip(sig, new)):
                raise InputError(f"strict resize of {t.name!r}: only dimensions that are -1 in the signature "
                                 f"{list(sig)} may change (asked for {list(new)})")
        self._shapes[input_index] = new
        self._plan = None

    def allocate_tensors(self):
        keep = range(len(self._graph.tensors)) if self._preserve else ()
        changed = {i: s for i, s in self._shapes.items() if s != tuple(self._graph.tensors[i].shape)}
        self._plan = prepare(self._graph, changed or None, self._settings, keep=keep, resources=self._resources)
        self._invoked = False

    def _require_plan(self):
        if self._plan is None:
            raise StateError("call allocate_tensors() first")
        return self._plan

    def set_tensor(self, tensor_index, value):
        plan = self._require_plan()
        if tensor_index not in self._graph.inputs:
            self._tensor(tensor_index)
            raise TensorIndexError(f"tensor {tensor_index} is not an input; only inputs can be set")
        value = np.asarray(value)
        plan.set_input(tensor_index, value)

    def invoke(self):
        self._require_plan().run()      # sets the thread count itself (plan._runner)
        self._invoked = True

    def get_tensor(self, tensor_index, subgraph_index=0):
        plan = self._require_plan()
        self._tensor(tensor_index, subgraph_index)
        if subgraph_index != self._sg:
            raise TensorIndexError(f"subgraph {subgraph_index} is not the one this interpreter runs")
        arr = plan.arrays.get(int(tensor_index))
        if arr is None:
            raise TensorIndexError(f"tensor {tensor_index} has no value (not used by any op)")
        return arr.copy()

    def tensor(self, tensor_index):
        plan = self._require_plan()
        self._tensor(tensor_index)
        return lambda: plan.arrays[int(tensor_index)]

    def reset_all_variables(self):
        """Reset resource variables to the values their CALL_ONCE init subgraphs assign."""
        self._resources.reset()

    # -- signatures ------------------------------------------------------------------
    def get_signature_list(self):
        return {s.key: {"inputs": list(s.inputs), "outputs": list(s.outputs)} for s in self._model.signature_defs}

    def get_signature_runner(self, signature_key=None):
        sigs = self._model.signature_defs
        if signature_key is None:
            if not sigs:
                raise ValueError("the model has no signatures")
            if len(sigs) > 1:
                raise ValueError("the model has several signatures; pass signature_key")
            sig = sigs[0]
        else:
            matches = [s for s in sigs if s.key == signature_key]
            if not matches:
                raise ValueError(f"no signature {signature_key!r}; available: {[s.key for s in sigs]}")
            sig = matches[0]
        return SignatureRunner(self, sig)


class SignatureRunner:
    """``interpreter.get_signature_runner(key)``: call with keyword inputs."""

    def __init__(self, interpreter, sig):
        if sig.subgraph_index == interpreter._sg:
            self._it = interpreter
        else:
            self._it = _sub_interpreter(interpreter, sig.subgraph_index)
        self._sig = sig

    def get_input_details(self):
        return {n: tensor_details(self._it._tensor(i, self._it._sg), self._it._shape(i))
                for n, i in self._sig.inputs.items()}

    def get_output_details(self):
        return {n: tensor_details(self._it._tensor(i, self._it._sg), self._it._shape(i))
                for n, i in self._sig.outputs.items()}

    def __call__(self, **inputs):
        it = self._it
        unknown = set(inputs) - set(self._sig.inputs)
        if unknown:
            raise InputError(f"unknown signature inputs {sorted(unknown)}; expected {list(self._sig.inputs)}")
        missing = set(self._sig.inputs) - set(inputs)
        if missing:
            raise InputError(f"missing signature inputs {sorted(missing)}")
        for name, value in inputs.items():
            idx = self._sig.inputs[name]
            shape = tuple(np.shape(value))
            if shape != it._shape(idx):
                it.resize_tensor_input(idx, shape)
        if it._plan is None:
            it.allocate_tensors()
        for name, value in inputs.items():
            it.set_tensor(self._sig.inputs[name], value)
        it.invoke()
        return {n: it.get_tensor(i, it._sg) for n, i in self._sig.outputs.items()}


def _sub_interpreter(parent, subgraph_index):
    it = object.__new__(Interpreter)
    it.__dict__.update(parent.__dict__)
    it._sg = subgraph_index
    it._graph = Graph(parent._model, subgraph_index)
    it._shapes = {i: tuple(it._graph.tensors[i].shape) for i in it._graph.inputs}
    it._plan = None
    it._resources = parent._resources
    return it
