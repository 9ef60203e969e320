"""Graph-level fusion: read -> graph -> **fuse** -> prepare/lower -> run.

prepare (plan.py) lowers the node list :func:`fuse` returns instead of the graph's
own nodes.  Each pattern is one function ``(graph, nodes, settings, protected) ->
nodes`` that replaces an exact chain of TFLite ops by one internal node (op name
``NI_<NAME>``, lowered in numba_infer/ops/) whose kernel computes bit-identical
results.  A pattern fuses only when every intermediate tensor it removes has no
consumer outside the chain, is not a subgraph output and is not in ``keep``
(capture, experimental_preserve_all_tensors, compare per layer see every tensor
unfused).  The Graph itself is never changed (the API, draw, capture by op index
and profiles' op indices still refer to the file's ops).

NUMBA_INFER_FUSE=0 in the environment disables all fusion (tests compare both).

Patterns:

- LayerNormalization (Keras, as the TFLite converter emits it), optionally with
  the residual ADD that feeds it -> ``NI_LAYER_NORM`` (ops/layernorm.py)::

      [x = ADD(a, b)]                   residual, absorbed when x is used only below
      m  = MEAN(x, [-1], keep_dims)     n  = NEG(m)
      v  = SQUARED_DIFFERENCE(x, m)     s  = MEAN(v, [-1], keep_dims)
      e  = ADD(s, eps)                  r  = RSQRT(e)
      g  = MUL(r, gamma)                q  = MUL(n, g)       p = MUL(x, g)
      y  = ADD(p, q)
  or with a beta: ``q = MUL(m, g); t = SUB(beta, q); y = ADD(p, t)`` (no NEG).
  Commutative ADD / MUL / SQUARED_DIFFERENCE operands may come in either order;
  eps and gamma (beta) are constants (or DEQUANTIZE outputs of constants, folded
  at prepare), eps one element, gamma / beta of shape [..1, C] or [..1, 1].
  Not under fp16 emulation (each op's output is rounded to fp16 there).

- BATCH_MATMUL through TRANSPOSEs (attention's head split and merge) ->
  ``NI_BATCH_MATMUL`` (ops/fused_matmul.py): a TRANSPOSE that only feeds the
  lhs and keeps its last axis last, one that only feeds the rhs when B stays
  readable in place ([k, n] rows, n % 16 == 0), and the output's only
  consumer when it keeps the last axis last become strides of the matmul;
  else a MUL of the output by a one-element constant (attention's 1/sqrt(d))
  is applied to each block while it is in cache (not under fp16 emulation,
  which rounds between the two).  The same FMA chains and products, so the
  same bits, fp16 emulation included.
- FULLY_CONNECTEDs reading one float tensor with constant int8 weights
  (dynamic range: attention's Q, K, V) -> ``NI_FULLY_CONNECTED_SHARED``: the
  rows are quantized once.  Model's own precision, XNNPack numerics.
- dynamic-range FULLY_CONNECTEDs each feeding only the next (an MLP) ->
  ``NI_FULLY_CONNECTED_CHAIN``: every layer's own kernel, in one compiled step.
- ``MUL(x, LOGISTIC(x))`` (SiLU / swish) -> ``NI_SWISH`` (ops/activation.py):
  float32: XNNPack's sigmoid and the product in one pass (XNNPack numerics;
  under fp16 emulation the sigmoid is rounded to fp16 first, as the LOGISTIC's
  output is); int8 / uint8: one 256-entry table of the two ops.
"""
from __future__ import annotations

import os

import numpy as np

from .graph import Node

F32 = np.dtype(np.float32)


def enabled():
    return os.environ.get("NUMBA_INFER_FUSE", "1").strip() != "0"


def fuse(graph, settings, keep=()) -> list:
    """The nodes prepare lowers: graph.nodes with every matched pattern replaced."""
    nodes = list(graph.nodes)
    if not enabled():
        return nodes
    protected = set(graph.outputs) | set(keep)
    for pattern in PATTERNS:
        nodes = pattern(graph, nodes, settings, protected)
    return nodes


# ---------------------------------------------------------------- helpers

class _Index:
    """Producers and consumers of every tensor in a node list."""

    def __init__(self, graph, nodes):
        self.graph = graph
        self.producer = {}
        self.consumers = {}
        for n in nodes:
            for o in n.outputs:
                self.producer[o] = n
            for i in n.inputs:
                if i != -1:
                    self.consumers.setdefault(i, []).append(n)

    def users(self, t):
        return self.consumers.get(t, [])

    def only_user(self, t, op):
        """The single consumer of t if it is an `op` node, else None."""
        us = self.users(t)
        return us[0] if len(us) == 1 and us[0].op == op and us[0].outputs else None

    def tensor(self, t):
        return self.graph.tensors[t]

    def is_f32(self, t):
        ti = self.tensor(t)
        return ti.dtype == F32 and (ti.quant is None or ti.quant.scale is None or ti.quant.scale.size == 0)

    def const_shape(self, t):
        """Shape of a float32 constant (or of DEQUANTIZE(constant), folded at prepare), else None."""
        ti = self.tensor(t)
        if ti.is_variable:
            return None
        if ti.value is not None:
            return tuple(ti.shape) if self.is_f32(t) else None
        p = self.producer.get(t)
        if p is not None and p.op == "DEQUANTIZE" and len(p.inputs) == 1 and p.inputs[0] != -1 \
                and self.tensor(p.inputs[0]).value is not None and self.is_f32(t):
            return tuple(ti.shape)
        return None


def _rewritten(nodes, replace, drop):
    """nodes without the dropped ones (ids in drop), each node whose id is a key
    of replace swapped for its fused node."""
    return [replace.get(id(n), n) for n in nodes if id(n) not in drop or id(n) in replace]


def _fc_node(op, x, fcs, outputs, tail=None):
    """The fused node of FULLY_CONNECTEDs fcs: inputs x, w1, b1, w2, b2, ... (-1: no
    bias), their options under "fcs"; tail: a SOFTMAX run on the last output
    ("softmax" option)."""
    ins = [x]
    for u in fcs:
        ins += [u.inputs[1], u.inputs[2] if len(u.inputs) == 3 else -1]
    ops = list(fcs) + ([tail] if tail is not None else [])
    name = "+".join(f"{u.op}#{u.index}" for u in ops)
    return Node(index=fcs[0].index, op=op, version=1, inputs=tuple(ins), outputs=tuple(outputs),
                options={"fcs": tuple(dict(u.options or {}) for u in fcs), "fused": tuple(u.index for u in ops),
                         "softmax": tail is not None, "name": f"FULLY_CONNECTED({name})"},
                custom_options=None, builtin_code=-1)


def _no_act(n):
    return not n.options or int(n.options.get("fused_activation_function", 0) or 0) == 0


def _other(n, t):
    """The input of the two-input node n that is not t (None if n does not read t once)."""
    if len(n.inputs) != 2 or list(n.inputs).count(t) != 1:
        return None
    return n.inputs[1] if n.inputs[0] == t else n.inputs[0]


def _last_axis_mean(ix, n, x):
    """n is MEAN(x, axes = last axis only, keep_dims)."""
    if n.op != "MEAN" or len(n.inputs) != 2 or n.inputs[0] != x or not (n.options or {}).get("keep_dims"):
        return False
    axes = ix.tensor(n.inputs[1]).value
    rank = len(ix.tensor(x).shape)
    if axes is None or rank == 0 or axes.dtype.kind != "i" or axes.size != 1:
        return False
    return int(axes.reshape(-1)[0]) in (-1, rank - 1)


def _channel_const(ix, t, rank):
    """t is a float32 constant of shape [..1, C] or [..1, 1] of rank <= rank."""
    s = ix.const_shape(t)
    return s is not None and len(s) <= rank and all(d == 1 for d in s[:-1])


# ---------------------------------------------------------------- LayerNormalization

def _match_layer_norm(ix, m1, protected):
    """(removed nodes, fused Node) for the chain that starts at MEAN node m1, or None."""
    x = m1.inputs[0]
    if not ix.is_f32(x) or not _last_axis_mean(ix, m1, x):
        return None
    rank = len(ix.tensor(x).shape)
    shape = tuple(ix.tensor(x).shape)
    if 0 in shape:
        return None
    m = m1.outputs[0]
    users = ix.users(m)
    neg = [u for u in users if u.op == "NEG"]
    sqd = [u for u in users if u.op == "SQUARED_DIFFERENCE"]
    mulm = [u for u in users if u.op == "MUL"]
    if len(users) != 2 or len(sqd) != 1 or len(neg) + len(mulm) != 1:
        return None
    sd = sqd[0]
    if _other(sd, m) != x:
        return None
    m2 = ix.only_user(sd.outputs[0], "MEAN")
    if m2 is None or not _last_axis_mean(ix, m2, sd.outputs[0]):
        return None
    ad = ix.only_user(m2.outputs[0], "ADD")
    if ad is None or not _no_act(ad):
        return None
    eps = _other(ad, m2.outputs[0])
    es = None if eps is None else ix.const_shape(eps)
    if es is None or int(np.prod(es, dtype=np.int64)) != 1 or len(es) > rank:
        return None
    rs = ix.only_user(ad.outputs[0], "RSQRT")
    if rs is None:
        return None
    mg = ix.only_user(rs.outputs[0], "MUL")
    if mg is None or not _no_act(mg):
        return None
    gamma = _other(mg, rs.outputs[0])
    if gamma is None or not _channel_const(ix, gamma, rank) or ix.tensor(gamma).shape[-1] not in (1, shape[-1]):
        return None
    g = mg.outputs[0]
    gu = ix.users(g)
    if len(gu) != 2 or any(u.op != "MUL" or not _no_act(u) for u in gu):
        return None
    if neg:                                              # q = (-m) * g
        n = neg[0]
        mq = ix.only_user(n.outputs[0], "MUL")
        if mq is None or mq not in gu or _other(mq, g) != n.outputs[0]:
            return None
        chain_extra, beta = [n, mq], -1
        q = mq.outputs[0]
    else:                                                # q = m * g; t = beta - q
        mq = mulm[0]
        if mq not in gu or _other(mq, g) != m:
            return None
        sub = ix.only_user(mq.outputs[0], "SUB")
        if sub is None or not _no_act(sub) or len(sub.inputs) != 2 or sub.inputs[1] != mq.outputs[0]:
            return None
        beta = sub.inputs[0]
        if not _channel_const(ix, beta, rank) or ix.tensor(beta).shape[-1] not in (1, shape[-1]):
            return None
        chain_extra = [mq, sub]
        q = sub.outputs[0]
    mp = next(u for u in gu if u is not mq)
    if _other(mp, g) != x:
        return None
    fin = ix.only_user(mp.outputs[0], "ADD")
    if fin is None or not _no_act(fin) or _other(fin, mp.outputs[0]) != q or ix.users(q) != [fin]:
        return None
    y = fin.outputs[0]
    if tuple(ix.tensor(y).shape) != shape or not ix.is_f32(y):
        return None
    chain = [m1, sd, m2, ad, rs, mg, mp, fin] + chain_extra
    inner = [t for nd in chain if nd is not fin for t in nd.outputs]
    if any(t in protected for t in inner):
        return None
    # x is read by m1, sd and mp only: absorb the residual ADD that produces it
    a, b = x, -1
    res = ix.producer.get(x)
    if (res is not None and res.op == "ADD" and _no_act(res) and len(res.inputs) == 2 and x not in protected
            and len(ix.users(x)) == 3 and -1 not in res.inputs
            and all(ix.is_f32(i) and tuple(ix.tensor(i).shape) == shape for i in res.inputs)):
        a, b = res.inputs
        chain = [res] + chain
    chain.sort(key=lambda nd: nd.index)
    name = "+".join(f"{nd.op}#{nd.index}" for nd in chain)
    node = Node(index=chain[0].index, op="NI_LAYER_NORM", version=1, inputs=(a, b, gamma, eps, beta),
                outputs=(y,), options={"fused": tuple(nd.index for nd in chain), "name": f"LAYER_NORM({name})"},
                custom_options=None, builtin_code=-1)
    return chain, node


def fuse_layer_norm(graph, nodes, settings, protected):
    """Replace every LayerNormalization chain (module docstring) by one NI_LAYER_NORM node,
    placed where the chain's last op was."""
    if settings.fp16 or settings.numerics not in ("xnnpack", "tflite"):
        return nodes
    ix = _Index(graph, nodes)
    replace, drop = {}, set()
    for n in nodes:
        if n.op != "MEAN" or id(n) in drop:
            continue
        got = _match_layer_norm(ix, n, protected)
        if got is None or any(id(nd) in drop for nd in got[0]):
            continue
        chain, fused = got
        drop.update(id(nd) for nd in chain)
        replace[id(max(chain, key=nodes.index))] = fused
    return _rewritten(nodes, replace, drop)


# ---------------------------------------------------------------- BATCH_MATMUL through TRANSPOSEs

def _perm(ix, n):
    """The constant permutation of TRANSPOSE node n (a tuple), else None."""
    if n is None or n.op != "TRANSPOSE" or len(n.inputs) != 2 or -1 in n.inputs or len(n.outputs) != 1:
        return None
    p = ix.tensor(n.inputs[1]).value
    rank = len(ix.tensor(n.inputs[0]).shape)
    if p is None or p.dtype.kind not in "iu" or p.size != rank:
        return None
    p = tuple(int(v) for v in p.reshape(-1))
    return p if sorted(p) == list(range(rank)) else None


def _absorbable(ix, t, protected, consumer):
    """(TRANSPOSE node producing t, its perm) when t exists only to feed consumer, else (None, None)."""
    p = ix.producer.get(t)
    perm = _perm(ix, p)
    if perm is None or t in protected or ix.users(t) != [consumer] or not ix.is_f32(p.inputs[0]):
        return None, None
    return p, perm


def fuse_transposed_matmul(graph, nodes, settings, protected):
    """Fold the TRANSPOSEs around a float BATCH_MATMUL (attention's head split
    and merge) into one NI_BATCH_MATMUL (ops/fused_matmul.py) that reads and
    writes through them with strides: a TRANSPOSE feeding the lhs when it
    keeps the last axis last (rows stay contiguous), one feeding the rhs
    when B stays readable in place (n contiguous, a multiple of 16: packing
    a transposed B each run would cost what the TRANSPOSE does), and the output's only
    consumer when it keeps the last axis last.  Not for constant operands
    (packed once at prepare anyway) or adj_x."""
    if settings.numerics != "xnnpack":
        return nodes
    ix = _Index(graph, nodes)
    replace, drop = {}, set()
    for n in nodes:
        if n.op != "BATCH_MATMUL" or len(n.inputs) != 2 or len(n.outputs) != 1 or -1 in n.inputs:
            continue
        opts = n.options or {}
        if opts.get("adj_x") or not all(ix.is_f32(t) and ix.tensor(t).value is None and ix.const_shape(t) is None
                                        for t in n.inputs):
            continue
        pa_node, pa = _absorbable(ix, n.inputs[0], protected, n)
        if pa is not None and pa[-1] != len(pa) - 1:
            pa_node, pa = None, None
        pb_node, pb = _absorbable(ix, n.inputs[1], protected, n)
        if pb is not None and (opts.get("adj_y") or pb[-1] != len(pb) - 1
                               or int(ix.tensor(n.inputs[1]).shape[-1]) % 16):
            pb_node, pb = None, None        # only when B stays readable in place ([k, n] rows, n % 16 == 0)
        y = n.outputs[0]
        out = ix.users(y)
        po_node = out[0] if len(out) == 1 and y not in protected else None
        po = _perm(ix, po_node)
        if po is None or po[-1] != len(po) - 1 or po_node.inputs[0] != y or not ix.is_f32(po_node.outputs[0]):
            po_node, po = None, None
        mul = out[0] if po is None and len(out) == 1 and y not in protected and not settings.fp16 else None
        c = _other(mul, y) if mul is not None and mul.op == "MUL" and _no_act(mul) else None
        cs = None if c is None else ix.const_shape(c)
        if cs is None or int(np.prod(cs, dtype=np.int64)) != 1 or len(cs) > len(ix.tensor(y).shape) \
                or tuple(ix.tensor(mul.outputs[0]).shape) != tuple(ix.tensor(y).shape):
            mul, c = None, None
        chain = [nd for nd in (pa_node, pb_node, n, po_node, mul) if nd is not None]
        if len(chain) == 1 or any(id(nd) in drop for nd in chain):
            continue
        ins = (n.inputs[0] if pa is None else pa_node.inputs[0], n.inputs[1] if pb is None else pb_node.inputs[0])
        if c is not None:
            ins += (c,)
        final = mul.outputs[0] if mul is not None else y if po is None else po_node.outputs[0]
        name = "+".join(f"{nd.op}#{nd.index}" for nd in sorted(chain, key=lambda nd: nd.index))
        fused = Node(index=n.index, op="NI_BATCH_MATMUL", version=1, inputs=ins, outputs=(final,),
                     options={"perm_a": pa, "perm_b": pb, "perm_out": po, "adj_y": bool(opts.get("adj_y")),
                              "fused": tuple(nd.index for nd in chain), "name": f"BATCH_MATMUL({name})"},
                     custom_options=None, builtin_code=-1)
        drop.update(id(nd) for nd in chain)
        replace[id(max(chain, key=nodes.index))] = fused
    return _rewritten(nodes, replace, drop)


# ---------------------------------------------------------------- FULLY_CONNECTEDs sharing their input

def _serial_fc(ix, n, settings):
    """The FULLY_CONNECTED n runs on one thread (ops/fully_connected.py hybrid_fc_threads)."""
    from .ops.fully_connected import gemv_threads, hybrid_fc_threads
    from .kernels import qgemm
    x, w = ix.tensor(n.inputs[0]), ix.tensor(n.inputs[1])
    nn, k = (int(d) for d in w.shape)
    size = int(np.prod(x.shape, dtype=np.int64))
    if k <= 0 or size % k:
        return False
    if size // k == 1:                       # the one-row FC splits by columns (gemv_threads)
        nr = qgemm.QTILES[qgemm.choose_qtile_fc(1, nn)][1]
        return gemv_threads(settings, 4 * qgemm.vnni_packed_words(nn, k, nr), -(-nn // nr)) == 1
    return hybrid_fc_threads(settings, size // k, nn, k) == 1


def _hybrid_fc(ix, n, x):
    """n is a dynamic-range FULLY_CONNECTED of x: float32 x, constant int8 [n, k]
    weights, constant float32 bias or none, plain weights format."""
    if n.op != "FULLY_CONNECTED" or len(n.inputs) not in (2, 3) or n.inputs[0] != x or len(n.outputs) != 1:
        return False
    w = ix.tensor(n.inputs[1])
    b = n.inputs[2] if len(n.inputs) == 3 else -1
    opts = n.options or {}
    return (w.value is not None and w.dtype == np.dtype(np.int8) and len(w.shape) == 2
            and int(opts.get("weights_format", 0) or 0) == 0
            and (b == -1 or (ix.tensor(b).value is not None and ix.is_f32(b))))


def fuse_shared_input_fc(graph, nodes, settings, protected):
    """Dynamic-range FULLY_CONNECTEDs that read the same float tensor
    (attention's Q, K and V projections) -> one NI_FULLY_CONNECTED_SHARED
    (ops/fused_matmul.py): the rows are quantized once, then one QD8 GEMM per
    layer.  Per-row quantization does not depend on the consumer, so the
    results are the unfused ones bit for bit.  Only where the FCs run that
    path: the model's own precision (auto), XNNPack numerics, FCs small
    enough to run on one thread (hybrid_fc_threads; a threaded FC quantizes
    its rows inside each chunk)."""
    if settings.precision != "auto" or settings.numerics != "xnnpack":
        return nodes
    ix = _Index(graph, nodes)
    replace, drop = {}, set()
    for x, users in ix.consumers.items():
        if not ix.is_f32(x) or ix.tensor(x).value is not None:
            continue
        fcs = [u for u in users if id(u) not in drop and _hybrid_fc(ix, u, x) and _serial_fc(ix, u, settings)]
        ks = {int(ix.tensor(u.inputs[1]).shape[1]) for u in fcs}
        if len(fcs) < 2 or len(ks) != 1 or len({bool((u.options or {}).get("asymmetric_quantize_inputs"))
                                                 for u in fcs}) != 1:
            continue
        fcs.sort(key=nodes.index)
        fused = _fc_node("NI_FULLY_CONNECTED_SHARED", x, fcs, [u.outputs[0] for u in fcs])
        drop.update(id(u) for u in fcs)
        replace[id(fcs[0])] = fused                 # every output exists from the first FC's place on
    return _rewritten(nodes, replace, drop)



# ---------------------------------------------------------------- chains of FULLY_CONNECTEDs (MLPs)

def fuse_fc_chain(graph, nodes, settings, protected):
    """Dynamic-range FULLY_CONNECTEDs where each one's output is read only by
    the next (an MLP) -> one NI_FULLY_CONNECTED_CHAIN (ops/fused_matmul.py):
    one compiled step runs every layer's own kernel in turn, so the bits are
    the unfused ones.  VNNI hosts (the packed FC kernels), the model's own
    precision, XNNPack numerics, one-thread FCs (as fuse_shared_input_fc)."""
    from . import isa
    if not isa.VNNI or settings.precision != "auto" or settings.numerics != "xnnpack":
        return nodes
    ix = _Index(graph, nodes)
    replace, drop = {}, set()
    for n in nodes:
        if id(n) in drop or not _hybrid_fc(ix, n, n.inputs[0] if n.inputs else -1) or not ix.is_f32(n.inputs[0]) \
                or ix.tensor(n.inputs[0]).value is not None or not _serial_fc(ix, n, settings):
            continue
        p = ix.producer.get(n.inputs[0])
        if p is not None and p.op == "FULLY_CONNECTED" and _hybrid_fc(ix, p, p.inputs[0]) \
                and _serial_fc(ix, p, settings) and ix.users(n.inputs[0]) == [n] and n.inputs[0] not in protected:
            continue                                   # not the head of its chain
        chain = [n]
        while True:
            y = chain[-1].outputs[0]
            us = ix.users(y)
            nxt = us[0] if len(us) == 1 else None
            k_next = None if nxt is None or len(nxt.inputs) < 2 else ix.tensor(nxt.inputs[1]).shape
            if (nxt is None or y in protected or not ix.is_f32(y) or not _hybrid_fc(ix, nxt, y)
                    or int(k_next[1]) != int(ix.tensor(chain[-1].inputs[1]).shape[0]) or id(nxt) in drop
                    or not _serial_fc(ix, nxt, settings)):
                break
            chain.append(nxt)
        tail = _softmax_tail(ix, chain[-1].outputs[0], protected)
        if len(chain) < 2 and tail is None:
            continue
        fused = _fc_node("NI_FULLY_CONNECTED_CHAIN", n.inputs[0], chain,
                         [(tail or chain[-1]).outputs[0]], tail=tail)
        drop.update(id(u) for u in chain)
        replace[id(tail or chain[-1])] = fused         # where the fused step runs
    return _rewritten(nodes, replace, drop)


def _softmax_tail(ix, y, protected):
    """The SOFTMAX (beta 1, XNNPack's kernel) that alone reads the chain's output
    y, which it may then absorb (a classifier head), or None."""
    us = ix.users(y)
    if len(us) != 1 or y in protected or us[0].op != "SOFTMAX" or len(us[0].inputs) != 1:
        return None
    s = us[0]
    beta = (s.options or {}).get("beta", 1.0)
    if np.float32(beta) != np.float32(1.0) or not ix.is_f32(s.outputs[0]):
        return None
    return s


# ---------------------------------------------------------------- SiLU / swish

def fuse_swish(graph, nodes, settings, protected):
    """y = MUL(x, LOGISTIC(x)) (SiLU / swish as the TFLite converter emits it,
    EfficientNet's activation) -> one NI_SWISH node (ops/activation.py):

    - float32: the sigmoid and the product per vector while it is in
      registers, so the sigmoid is never written out and read back.
      XNNPack's sigmoid rounded to float32 (and to fp16 under fp16
      emulation, as the LOGISTIC's output is), then one product: the two ops'
      bits.  Only where LOGISTIC runs XNNPack's kernel (XNNPack numerics).
    - int8 / uint8: y depends on the 256 possible values of x only, so the
      two ops become one 256-entry table, made at prepare by running the two
      ops' own steps on every value (any numerics; the MUL's fused activation
      is in the table too).

    The sigmoid must be read by nothing else (nor be an output or kept)."""
    ix = _Index(graph, nodes)
    replace, drop = {}, set()
    for n in nodes:
        if n.op != "LOGISTIC" or len(n.inputs) != 1 or len(n.outputs) != 1:
            continue
        x, s = n.inputs[0], n.outputs[0]
        mul = ix.only_user(s, "MUL")
        if mul is None or s in protected or x == -1 or _other(mul, s) != x:
            continue
        tx, ty = ix.tensor(x), ix.tensor(mul.outputs[0])
        if tuple(ty.shape) != tuple(tx.shape):
            continue
        if ix.is_f32(x):
            if settings.numerics != "xnnpack" or not _no_act(mul) or not ix.is_f32(s) \
                    or not ix.is_f32(mul.outputs[0]):
                continue
        elif not (_q8(ix, x) and _q8(ix, s) and _q8(ix, mul.outputs[0])
                  and tx.dtype == ix.tensor(s).dtype == ty.dtype):
            continue
        name = f"LOGISTIC#{n.index}+MUL#{mul.index}"
        replace[id(mul)] = Node(index=n.index, op="NI_SWISH", version=1, inputs=(x,), outputs=tuple(mul.outputs),
                                options={"fused": (n.index, mul.index), "name": f"SWISH({name})"},
                                custom_options=None, builtin_code=-1)
        drop.update((id(n), id(mul)))
    return _rewritten(nodes, replace, drop)


def _q8(ix, t):
    """t is a per-tensor quantized int8 / uint8 tensor."""
    ti = ix.tensor(t)
    q = ti.quant
    return (ti.dtype in (np.dtype(np.int8), np.dtype(np.uint8)) and q is not None and q.scale is not None
            and q.scale.size == 1)


PATTERNS = [fuse_layer_norm, fuse_transposed_matmul, fuse_shared_input_fc, fuse_fc_chain, fuse_swish]
