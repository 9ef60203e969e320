"""Per-op timing of a prepared plan: ``Model.profile``, ``numba-infer bench --profile``.

Every profiled run reads the clock once before the first op and once after
each op, so an op's time is the interval between two consecutive reads and
the per-op times of one run add up exactly to that run's wall time.  Runs
slower than 1.1x the median run (a preemption, a page fault, a cold cache) are
dropped and the op times are averaged over the rest, so ``sum(time_ms) ==
total_ms`` and total_ms stays close to the median latency.
"""
from __future__ import annotations

import time

import numpy as np

from .progress import bar


class Profile(list):
    """A list of per-op records (dicts) in run order; prints as benchmark_model's tables.

    Each record: index (op index in the graph), op, name (its first output
    tensor), time_ms (mean over the kept runs), first_ms (first profiled run),
    share (of total_ms), gflops (None where the op declares no FLOPs),
    shape/dtype (first output), inputs/outputs (shapes of all operands).
    Attributes: total_ms (sum of time_ms), measured_ms (median of plain,
    unprofiled runs), runs, kept_runs, folded (op indices constant-folded at
    prepare, which never run), fused ({first op index: op indices} of the
    fused ops of numba_infer/fuse.py, each profiled as one record).
    """

    total_ms: float = 0.0
    measured_ms: float = 0.0
    runs: int = 0
    kept_runs: int = 0
    folded: tuple = ()
    fused: dict | None = None
    title: str = ""

    # -- aggregates -------------------------------------------------------------------
    def by_type(self):
        """Records summed per op type, largest first: op, count, time_ms, share, gflops."""
        agg = {}
        for r in self:
            a = agg.setdefault(r["op"], {"op": r["op"], "count": 0, "time_ms": 0.0, "flops": 0})
            a["count"] += 1
            a["time_ms"] += r["time_ms"]
            a["flops"] += r.get("flops") or 0
        out = sorted(agg.values(), key=lambda a: -a["time_ms"])
        for a in out:
            a["share"] = a["time_ms"] / self.total_ms if self.total_ms else 0.0
            a["gflops"] = a["flops"] / (a["time_ms"] * 1e6) if a["flops"] and a["time_ms"] > 0 else None
        return out

    def top(self, n=10):
        return sorted(self, key=lambda r: -r["time_ms"])[:n]

    def as_dict(self):
        """A JSON-able summary (the ``--json`` document of ``numba-infer bench --profile``)."""
        return {"title": self.title, "runs": self.runs, "kept_runs": self.kept_runs, "total_ms": self.total_ms,
                "measured_ms": self.measured_ms, "folded_ops": list(self.folded),
                "fused_ops": {str(k): list(v) for k, v in (self.fused or {}).items()},
                "ops": [{k: (list(v) if isinstance(v, tuple) else v) for k, v in r.items()} for r in self],
                "by_type": self.by_type()}

    # -- text ---------------------------------------------------------------------------
    def table(self, top=None):
        """One table in run order (or the ``top`` slowest ops)."""
        rows = self.top(top) if top else list(self)
        lines = [f"{'#':>4}  {'op':<24} {'ms':>9} {'share':>6} {'GFLOP/s':>8}  output"]
        for r in rows:
            gf = f"{r['gflops']:8.1f}" if r["gflops"] else " " * 8
            lines.append(f"{r['index']:>4}  {r['op']:<24} {r['time_ms']:9.4f} {100 * r['share']:5.1f}% {gf}  "
                         f"{r['dtype']}{list(r['shape'])}")
        lines.append(f"total {self.total_ms:.3f} ms over {len(self)} ops (unprofiled run: {self.measured_ms:.3f} ms)")
        return "\n".join(lines)

    def report(self, top=10):
        """benchmark_model's op-profiling output: run order, top by time, summary by node type."""
        head = (f"\t{'[node type]':>24}\t{'[#]':>5}\t{'[first]':>9}\t{'[avg ms]':>9}\t{'[%]':>8}\t{'[cdf%]':>8}"
                f"\t{'[GFLOP/s]':>9}\t{'[output]':<22}\t[Name]")

        def section(title, rows):
            out = [f"{'=' * 30} {title} {'=' * 30}", head]
            cdf = 0.0
            for r in rows:
                cdf += r["share"]
                gf = f"{r['gflops']:9.2f}" if r["gflops"] else f"{'':>9}"
                shape = f"{r['dtype']}{list(r['shape'])}"
                out.append(f"\t{r['op']:>24}\t{r['index']:>5}\t{r['first_ms']:9.3f}\t{r['time_ms']:9.3f}"
                           f"\t{100 * r['share']:7.3f}%\t{100 * cdf:7.3f}%\t{gf}\t{shape:<22}\t[{r['name']}]")
            return out

        lines = [f"Operator-wise profiling ({self.runs} runs, {self.kept_runs} kept){': ' + self.title if self.title else ''}"]
        lines += section("Run Order", self)
        lines += [""] + section("Top by Computation Time", self.top(top))
        lines += ["", f"Number of nodes executed: {len(self)}"
                  + (f" ({len(self.folded)} more constant-folded at prepare)" if self.folded else "")
                  + (f"; {len(self.fused)} of them fused ops standing for "
                     f"{sum(len(v) for v in self.fused.values())} of the model's" if self.fused else "")]
        lines.append(f"{'=' * 30} Summary by node type {'=' * 30}")
        lines.append(f"\t{'[Node type]':>24}\t{'[count]':>7}\t{'[avg ms]':>9}\t{'[avg %]':>8}\t{'[cdf %]':>8}\t{'[GFLOP/s]':>9}")
        cdf = 0.0
        for a in self.by_type():
            cdf += a["share"]
            gf = f"{a['gflops']:9.2f}" if a["gflops"] else f"{'':>9}"
            lines.append(f"\t{a['op']:>24}\t{a['count']:>7}\t{a['time_ms']:9.3f}\t{100 * a['share']:7.3f}%"
                         f"\t{100 * cdf:7.3f}%\t{gf}")
        lines += ["", f"Timings (ms): sum of ops {self.total_ms:.3f}, unprofiled run (median) {self.measured_ms:.3f}"]
        return "\n".join(lines)

    def __str__(self):
        return self.table()

    __repr__ = __str__

    # -- notebook ---------------------------------------------------------------------------
    def _repr_html_(self):
        from .views import profile_html
        return profile_html(self)

    def plot(self, top=20, ax=None):
        """Horizontal bars of the ``top`` slowest ops and the per-type summary (needs matplotlib)."""
        from .views import profile_figure
        return profile_figure(self, top=top, ax=ax)


def profile_plan(plan, runs=10, progress=None, title=""):
    """Time every step of ``plan`` over ``runs`` runs (see the module docstring)."""
    steps = plan.steps
    runs = max(1, int(runs))
    plan.run()                                    # warm (compiled at prepare; this warms caches)
    clock = time.perf_counter
    stamps = np.zeros((runs, len(steps) + 1))
    whole = np.zeros(runs)
    for r in bar(range(runs), desc="profiling", progress=progress, unit="run"):
        ts = [clock()]
        for step in steps:
            step.fn()
            ts.append(clock())
        stamps[r] = ts
        t = clock()                               # an unprofiled run right after, same conditions
        plan.run()
        whole[r] = clock() - t
    times = np.diff(stamps, axis=1) * 1e3         # (runs, ops) in ms
    totals = times.sum(axis=1)
    kept = totals <= 1.1 * np.median(totals) if runs > 2 else np.ones(runs, bool)
    mean = times[kept].mean(axis=0) if len(steps) else np.zeros(0)
    prof = Profile()
    prof.total_ms = float(mean.sum())
    prof.measured_ms = float(np.median(whole) * 1e3)
    prof.runs, prof.kept_runs = runs, int(kept.sum())
    prof.title = title
    stepped, prof.fused = set(), {}
    for s in steps:
        fused = (s.node.options or {}).get("fused") if s.node.op.startswith("NI_") else None
        stepped.update(fused or (s.node.index,))
        if fused:
            prof.fused[s.node.index] = tuple(fused)
    prof.folded = tuple(n.index for n in plan.graph.nodes if n.index not in stepped)
    infos = plan.infos
    for k, (step, ms) in enumerate(zip(steps, mean)):
        o = step.outputs[0] if step.outputs else None
        info = infos[o] if o is not None else None
        prof.append({"index": step.node.index, "op": step.node.op, "name": info.name if info else "",
                     "time_ms": float(ms), "first_ms": float(times[0, k]),
                     "share": float(ms / prof.total_ms) if prof.total_ms else 0.0,
                     "flops": int(step.flops or 0),
                     "gflops": float(step.flops / (ms * 1e6)) if step.flops and ms > 0 else None,
                     "shape": tuple(info.shape) if info else (), "dtype": info.dtype.name if info else "",
                     "inputs": [tuple(infos[i].shape) if i >= 0 else None for i in step.inputs],
                     "outputs": [tuple(infos[i].shape) for i in step.outputs]})
    return prof
