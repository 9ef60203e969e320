"""Per-op latency against LiteRT: every op of a model cut out into a one-op model.

    python -m bench ops MODEL [--threads 1] [--runs 200] [--top 20]

Each operator of subgraph 0 becomes a model of its own (the op, its tensors,
its constant buffers; its non-constant inputs become the model's inputs),
and numba_infer and LiteRT's default interpreter (XNNPack) time it side by
side, interleaved, on the same random inputs.  This answers which ops lose
to XNNPack, which whole-model timings cannot: LiteRT has no per-op profile
in its Python API.  Both sides pay one invoke() per op here, so ops of a
microsecond or two mostly measure call overhead; `invoke overhead` at the
end gives each side's cost for a trivial one-op model (a 1-element ADD).

Needs LiteRT (its generated schema objects cut the model).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from .run import _short, make_inputs, resolve_model


def _schema():
    import ai_edge_litert.schema_py_generated as S
    return S


def _op_names(S):
    return {v: k for k, v in vars(S.BuiltinOperator).items() if not k.startswith("_")}


def split_ops(buf):
    """Yield (index, op type name, output shape, one-op model bytes) for the
    ops of subgraph 0; an op that cannot stand alone (control flow, custom
    ops) yields its error message in place of the bytes."""
    import flatbuffers
    S = _schema()
    names = _op_names(S)
    model = S.ModelT.InitFromPackedBuf(buf, 0)
    sg = model.subgraphs[0]
    for i, op in enumerate(sg.operators):
        code = model.operatorCodes[op.opcodeIndex]
        kind = names.get(max(code.builtinCode, code.deprecatedBuiltinCode), "CUSTOM")
        out = sg.tensors[op.outputs[0]] if op.outputs is not None and len(op.outputs) else None
        shape = tuple(int(s) for s in out.shape) if out is not None and out.shape is not None else ()
        if kind in ("WHILE", "IF", "CALL_ONCE", "CALL", "CUSTOM", "STABLEHLO_COMPOSITE"):
            yield i, kind, shape, f"{kind} cannot run alone"
            continue
        used = [int(t) for t in list(op.inputs) + list(op.outputs) + list(op.intermediates or []) if t >= 0]
        remap = {t: j for j, t in enumerate(dict.fromkeys(used))}
        buffers = [S.BufferT()]
        tensors, inputs = [], []
        for t in remap:
            src = sg.tensors[t]
            b = model.buffers[src.buffer] if src.buffer else None
            const = b is not None and (b.data is not None and len(b.data) > 0 or (b.offset or 0) > 1)
            tt = _copy_tensor(S, src)
            if const:
                tt.buffer = len(buffers)
                buffers.append(b)
            else:
                tt.buffer = 0
                if t in op.inputs and not src.isVariable:
                    inputs.append(remap[t])
            tensors.append(tt)
        one = S.OperatorT()
        for k, v in vars(op).items():
            setattr(one, k, v)
        one.inputs = [remap[int(t)] if t >= 0 else -1 for t in op.inputs]
        one.outputs = [remap[int(t)] for t in op.outputs]
        one.intermediates = [remap[int(t)] for t in op.intermediates] if op.intermediates is not None else None
        g = S.SubGraphT()
        g.tensors, g.operators, g.name = tensors, [one], b"op"
        g.inputs, g.outputs = inputs, list(one.outputs)
        m = S.ModelT()
        m.version, m.operatorCodes, m.subgraphs, m.buffers = model.version, model.operatorCodes, [g], buffers
        m.description = b"one op"
        b = flatbuffers.Builder(1 << 16)
        b.Finish(m.Pack(b), file_identifier=b"TFL3")
        yield i, kind, shape, bytes(b.Output())


def _copy_tensor(S, src):
    t = S.TensorT()
    for k, v in vars(src).items():
        setattr(t, k, v)
    return t


def _trivial_model():
    """A one-element float ADD (x + x): the per-invoke cost of each runtime."""
    import flatbuffers
    S = _schema()
    t = S.TensorT()
    t.shape, t.type, t.buffer, t.name = [1], S.TensorType.FLOAT32, 0, b"x"
    o = S.TensorT()
    o.shape, o.type, o.buffer, o.name = [1], S.TensorType.FLOAT32, 0, b"y"
    code = S.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = S.BuiltinOperator.ADD
    code.version = 1
    op = S.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0, 0], [1]
    op.builtinOptionsType, op.builtinOptions = S.BuiltinOptions.AddOptions, S.AddOptionsT()
    g = S.SubGraphT()
    g.tensors, g.operators, g.inputs, g.outputs = [t, o], [op], [0], [1]
    m = S.ModelT()
    m.version, m.operatorCodes, m.subgraphs, m.buffers = 3, [code], [g], [S.BufferT()]
    b = flatbuffers.Builder(256)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def time_pair(content, threads, runs, warmup, precision, rng):
    """Median microseconds (ours, LiteRT) of one model given as bytes; raises on failure."""
    import numba_infer
    from ai_edge_litert.interpreter import Interpreter as LiteRT
    lite = LiteRT(model_content=content, num_threads=threads)
    lite.allocate_tensors()
    ours = numba_infer.Interpreter(model_content=content, num_threads=threads, precision=precision)
    ours.allocate_tensors()
    details = lite.get_input_details()
    xs = make_inputs(details, rng)
    pairs = []
    for it in (ours, lite):
        by_name = {d["name"]: d for d in it.get_input_details()}
        dd = [by_name.get(d["name"], d) for d in details]
        for d, x in zip(dd, xs):
            it.set_tensor(d["index"], x)
        pairs.append(it)
    times = ([], [])
    for i in range(warmup + runs):
        order = (0, 1) if i % 2 == 0 else (1, 0)
        for k in order:
            it = pairs[k]
            t = time.perf_counter()
            it.invoke()
            dt = time.perf_counter() - t
            if i >= warmup:
                times[k].append(dt)
    return 1e6 * float(np.median(times[0])), 1e6 * float(np.median(times[1]))


def main(argv=None, prog=None):
    ap = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="model path or name (as for python -m bench)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=200, help="timed invokes per op and runtime (default 200)")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--precision", default="auto", help="numba_infer precision (default auto)")
    ap.add_argument("--top", type=int, default=20, help="rows of the 'largest losses' table (default 20)")
    a = ap.parse_args(argv)
    path = resolve_model(a.model)
    rng = np.random.default_rng(0)
    rows = []
    print(f"# {path.stem}: each op alone, {a.threads} thread(s), median of {a.runs} invokes (us)\n")
    print("| # | op | output | ours | LiteRT | ours - LiteRT | ours / LiteRT |")
    print("|---|---|---|---|---|---|---|")
    for i, kind, shape, content in split_ops(path.read_bytes()):
        if isinstance(content, str):
            print(f"| {i} | {kind} | {shape} | | | | {content} |")
            continue
        try:
            us, lt = time_pair(content, a.threads, a.runs, a.warmup, a.precision, rng)
        except Exception as e:  # noqa: BLE001 - reported, the run goes on
            print(f"| {i} | {kind} | {shape} | | | | {_short(e)} |")
            continue
        rows.append((i, kind, shape, us, lt))
        print(f"| {i} | {kind} | {list(shape)} | {us:.1f} | {lt:.1f} | {us - lt:+.1f} | {us / lt:.2f} |", flush=True)
    if not rows:
        return 1
    base = time_pair(_trivial_model(), a.threads, a.runs, a.warmup, "auto", rng)
    tot_us, tot_lt = sum(r[3] for r in rows), sum(r[4] for r in rows)
    print(f"\nSum over ops: ours {tot_us:.1f} us, LiteRT {tot_lt:.1f} us ({tot_us / tot_lt:.2f}x); "
          f"invoke overhead (1-element ADD): ours {base[0]:.1f} us, LiteRT {base[1]:.1f} us")
    by = {}
    for _, kind, _, us, lt in rows:
        s = by.setdefault(kind, [0, 0.0, 0.0])
        s[0] += 1
        s[1] += us - base[0]
        s[2] += lt - base[1]
    print("\n## By op type (each op's time less its runtime's invoke overhead)\n")
    print("| op | count | ours us | LiteRT us | ours - LiteRT |")
    print("|---|---|---|---|---|")
    for kind, (n, us, lt) in sorted(by.items(), key=lambda kv: kv[1][2] - kv[1][1]):
        print(f"| {kind} | {n} | {us:.1f} | {lt:.1f} | {us - lt:+.1f} |")
    print(f"\n## Largest losses (top {a.top})\n")
    print("| # | op | output | ours - LiteRT us |")
    print("|---|---|---|---|")
    worst = sorted(rows, key=lambda r: (r[4] - base[1]) - (r[3] - base[0]))[:a.top]
    for i, kind, shape, us, lt in worst:
        print(f"| {i} | {kind} | {list(shape)} | {(us - base[0]) - (lt - base[1]):+.1f} |")
    return 0
