"""Side-by-side latency of numba_infer and LiteRT on the same models, in one process run.

    python -m bench [MODEL ...] [--runs 30] [--threads 1,2] [--precision auto,fp16]
                    [--numerics xnnpack,tflite] [--litert xnnpack,builtin] [--profile]
    python bench/run.py ...            (the same)

Without MODEL: every model of ../shared/models (generated/ in its four variants
and mediapipe/) plus bench/models/ (inception_stem_fp32: an InceptionV3 stem on
its 299x299 input) when ../shared exists, else the bundled fixtures.

For each model and thread count, every configuration is built once:
LiteRT's default interpreter (XNNPack) and BUILTIN_WITHOUT_DEFAULT_DELEGATES
(TFLite's own kernels), and numba_infer for every precision x numerics pair.
After `--warmup` untimed calls each, the timed calls are interleaved: each
iteration calls every configuration once, in an order rotated by one each
iteration, so machine noise hits all of them alike.  With more than one
thread the interleaving is by blocks (``BLOCKS`` rounds; each configuration
makes one untimed call, then runs/BLOCKS timed calls, in a rotated order):
two thread pools in one process disturb each other -- LiteRT's workers and
Numba's keep spinning for a while after their run and take the core the next
run's threads need -- which no user running one runtime sees.  LiteRT's
builtin interpreter (BUILTIN_WITHOUT_DEFAULT_DELEGATES) is not interleaved: its
timed calls run in a block of their own after the others, because between two
invokes of another runtime its long runs leave a cache state no user of that
runtime sees (and it costs the runtimes unequally).  Only ``invoke()`` is timed
(inputs are set before the clock starts, on both sides).

Reported per configuration: median and min latency (ms), ours/LiteRT ratios of
the medians (against XNNPack and against builtin, same thread count), the cost
of a reduced precision against our fp32/"auto" run with the same numerics
(``fp16`` is emulated: every float tensor is rounded to fp16), the output
difference against LiteRT (relative for floats, in quanta for integers), and
our prepare time.  A configuration that cannot be built (UnsupportedError,
LiteRT refusing an op) is listed with the reason and the run goes on.

Writes bench/RESULTS.md (the tables, date, machine, load average at start and
end) and bench/results.png (a chart) unless --no-save; --json PATH ('-' for
stdout) writes every record.  --profile also times every op of our runs
(Model.profile) and prints benchmark_model-style tables (per op and per op
type); LiteRT's Python API exposes no op profiler, so only ours is profiled.

Precision labels: "auto" runs the model as stored, which is fp32 compute for
fp32 and fp16-weight models, QD8-F32 (dynamically quantized activations, int8
weights) for *_dr models and full-integer for *_int8 models.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHARED = ROOT.parent / "shared" / "models"
LITERT_CONFIGS = ("xnnpack", "builtin")
LITERT_LABEL = {"xnnpack": "LiteRT XNNPack", "builtin": "LiteRT builtin"}
# numba_infer numerics -> the LiteRT configuration it mirrors (for the diff column)
MIRROR = {"xnnpack": "xnnpack", "tflite": "builtin"}


# ------------------------------------------------------------------------------ models
BENCH_MODELS = HERE / "models"          # synthetic models (bench/models/make_models.py)


def default_models():
    """The ../shared suite when present, else the bundled fixtures."""
    if SHARED.exists():
        gen = sorted((SHARED / "generated").glob("*.tflite"))
        # face_landmark_with_attention: LiteRT's Python API cannot run its custom ops
        mp = sorted(p for p in (SHARED / "mediapipe").glob("*.tflite") if "with_attention" not in p.stem)
        return gen + mp + sorted(BENCH_MODELS.glob("*.tflite"))
    fx = ROOT / "tests" / "fixtures"
    return sorted(fx.glob("*.tflite")) + [ROOT / "numba_infer" / "data" / "face_detection_short_range.tflite"]


def resolve_model(name):
    """A path, or a bare model name looked up in ../shared/models and the fixtures."""
    p = Path(name)
    if p.exists():
        return p
    stem = p.stem if p.suffix == ".tflite" else p.name
    for d in (SHARED / "generated", SHARED / "mediapipe", SHARED / "micro", ROOT / "tests" / "fixtures",
              ROOT / "numba_infer" / "data", BENCH_MODELS):
        q = d / f"{stem}.tflite"
        if q.exists():
            return q
    raise SystemExit(f"model not found: {name}")


def auto_precision(stem):
    if stem.endswith("_dr"):
        return "qd8-f32"
    if stem.endswith("_int8") or "quantized" in stem or "8bit" in stem:
        return "int8"
    return "fp32"


def make_inputs(details, rng):
    out = []
    for d in details:
        shape, dtype = tuple(int(s) for s in d["shape"]), np.dtype(d["dtype"])
        if dtype.kind == "f":
            out.append(rng.standard_normal(shape).astype(dtype))
        elif dtype in (np.int8, np.uint8):
            info = np.iinfo(dtype)
            out.append(rng.integers(info.min, info.max + 1, size=shape).astype(dtype))
        elif dtype == np.bool_:
            out.append(rng.integers(0, 2, size=shape).astype(bool))
        else:                       # int32/int64 inputs are typically token ids: keep them small
            out.append(rng.integers(0, 16, size=shape).astype(dtype))
    return out


# ------------------------------------------------------------------------------ runners
def _short(e):
    msg = " ".join(str(e).split())
    return f"{type(e).__name__}: {msg[:160]}"


class Runner:
    """One configuration of one runtime on one model: builds its interpreter, times invoke()."""

    def __init__(self, runtime, config, make, precision=None, numerics=None):
        self.runtime, self.config = runtime, config
        self.precision, self.numerics = precision, numerics
        self.times, self.error, self.it, self.prepare_s = [], None, None, None
        t = time.perf_counter()
        try:
            self.it = make()
            self.it.allocate_tensors()
        except Exception as e:  # noqa: BLE001 - reported in the table, the run goes on
            self.error, self.it = _short(e), None
        self.prepare_s = time.perf_counter() - t

    def call(self, xs, timed=True):
        it = self.it
        for d, x in zip(self.inputs, xs):
            it.set_tensor(d["index"], x)
        t = time.perf_counter()
        it.invoke()
        dt = time.perf_counter() - t
        if timed:
            self.times.append(dt)

    def outputs(self):
        return [self.it.get_tensor(d["index"]) for d in self.it.get_output_details()]


def settle(r):
    """Between two blocks of 2+ thread runs: let the previous configuration's
    thread pool go idle (XNNPack's workers spin a while after a run) and forget
    the stalls it caused our contention guard (kernels/parallel.py), which
    would otherwise keep our next block on one thread: in a process that runs
    only numba_infer neither pool competes."""
    time.sleep(0.05)
    if r.runtime == "numba_infer":
        from numba_infer.kernels import parallel as par
        par._guard.update(until=0.0, lost=0.0, suspect=False, threaded=False, backoff=par.BACKOFF_S)


def build_runners(path, threads, precisions, numerics, litert_configs):
    import numba_infer
    runners = []
    try:
        from ai_edge_litert.interpreter import Interpreter as LiteRT, OpResolverType
        resolvers = {"xnnpack": OpResolverType.AUTO, "builtin": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES}
    except ImportError as e:
        LiteRT, resolvers, missing = None, {}, e
    for cfg in litert_configs:
        if LiteRT is None:
            def fail():
                raise missing
            r = Runner("LiteRT", cfg, fail)
        else:
            r = Runner("LiteRT", cfg, lambda cfg=cfg: LiteRT(model_path=str(path), num_threads=threads,
                                                             experimental_op_resolver_type=resolvers[cfg]))
        runners.append(r)
    for p in precisions:
        for nm in numerics:
            runners.append(Runner("numba_infer", f"{p}/{nm}", lambda p=p, nm=nm: numba_infer.Interpreter(
                model_path=str(path), num_threads=threads, precision=p, numerics=nm), precision=p, numerics=nm))
    return runners


def _diff(a, b):
    """Max output difference: relative (floats) or in quanta (integers); None if shapes differ."""
    worst, quanta = 0.0, False
    for x, y in zip(a, b):
        if x.shape != y.shape:
            return None
        if x.dtype.kind in "iub" and y.dtype.kind in "iub":
            quanta = True
            worst = max(worst, float(np.max(np.abs(x.astype(np.int64) - y.astype(np.int64)), initial=0)))
        else:
            x, y = x.astype(np.float64), y.astype(np.float64)
            scale = max(float(np.max(np.abs(y), initial=0.0)), 1e-30)
            worst = max(worst, float(np.max(np.abs(x - y), initial=0.0)) / scale)
    return ("q", worst) if quanta else ("rel", worst)


BLOCKS = 5                      # rounds of per-configuration blocks when threads > 1
# RESULTS.md from this line on is kept when the tables above it are rewritten: derived
# tables, the GEMM / start-up / scaling sections (bench/scaling.py rewrites its own part)
KEEP = "<!-- kept across runs: everything below is not rewritten by python -m bench -->"


def bench_model(path, threads, runs, warmup, precisions, numerics, litert_configs, profile=False, top=10):
    """Time every configuration of one model at one thread count (interleaved); records + profiles."""
    runners = build_runners(path, threads, precisions, numerics, litert_configs)
    live = [r for r in runners if r.error is None]
    records, profiles = [], []
    if live:
        details = live[0].it.get_input_details()
        for r in live:
            by_name = {d["name"]: d for d in r.it.get_input_details()}
            r.inputs = [by_name.get(d["name"], d) for d in details]
        xs = make_inputs(details, np.random.default_rng(0))
        for _ in range(max(0, warmup)):
            for r in list(live):
                try:
                    r.call(xs, timed=False)
                except Exception as e:  # noqa: BLE001
                    r.error = _short(e)
                    live.remove(r)
        # LiteRT's builtin interpreter is timed in its own block after the others: run
        # between two invokes of another runtime (its runs are 3-10x longer and stream
        # its own float copies of the weights) it leaves the caches and the core in a
        # state no user of that runtime sees, and it costs the two runtimes unequally
        # (tiny_bert_dr: ours 0.97-0.98 of XNNPack without it, 0.99-1.03 with it)
        solo = [r for r in live if r.runtime == "LiteRT" and r.config == "builtin"]
        mixed = [r for r in live if r not in solo]
        if threads == 1:
            for i in range(runs):
                k = i % len(mixed) if mixed else 0
                for r in mixed[k:] + mixed[:k]:
                    r.call(xs)
        else:
            for i in range(BLOCKS):
                k = i % len(mixed) if mixed else 0
                n = runs // BLOCKS + (1 if i < runs % BLOCKS else 0)
                for r in mixed[k:] + mixed[:k]:
                    settle(r)
                    r.call(xs, timed=False)        # absorbs the previous configuration's spinning threads
                    for _ in range(n):
                        r.call(xs)
        for r in solo:
            settle(r)
            r.call(xs, timed=False)
            for _ in range(runs):
                r.call(xs)
        outs = {id(r): r.outputs() for r in live}
    lite = {r.config: r for r in runners if r.runtime == "LiteRT" and r.error is None and r.times}
    med = {id(r): 1e3 * float(np.median(r.times)) for r in runners if r.times}
    base = {r.numerics: r for r in runners if r.runtime == "numba_infer" and r.precision == "auto" and r.times}
    stem = path.stem
    for r in runners:
        rec = {"model": stem, "threads": threads, "runtime": r.runtime, "config": r.config,
               "precision": r.precision, "numerics": r.numerics,
               "effective_precision": (auto_precision(stem) if r.precision == "auto" else r.precision)
               if r.runtime == "numba_infer" else None,
               "median_ms": med.get(id(r)), "min_ms": 1e3 * min(r.times) if r.times else None,
               "runs": len(r.times), "prepare_s": r.prepare_s, "error": r.error,
               "ratio_xnnpack": None, "ratio_builtin": None, "vs_auto": None, "diff": None}
        if r.times and r.runtime == "numba_infer":
            for cfg, key in (("xnnpack", "ratio_xnnpack"), ("builtin", "ratio_builtin")):
                if cfg in lite:
                    rec[key] = med[id(r)] / med[id(lite[cfg])]
            b = base.get(r.numerics)
            if b is not None and b is not r:
                rec["vs_auto"] = med[id(r)] / med[id(b)]
            ref = lite.get(MIRROR.get(r.numerics)) or next(iter(lite.values()), None)
            if ref is not None:
                d = _diff(outs[id(r)], outs[id(ref)])
                rec["diff"] = None if d is None else {"kind": d[0], "value": d[1], "against": ref.config}
        elif r.times and r.config == "builtin" and "xnnpack" in lite:
            d = _diff(outs[id(r)], outs[id(lite["xnnpack"])])
            rec["diff"] = None if d is None else {"kind": d[0], "value": d[1], "against": "xnnpack"}
        records.append(rec)
    if profile:
        import numba_infer
        for r in runners:
            if r.runtime != "numba_infer" or r.error is not None:
                continue
            m = numba_infer.load(str(path), precision=r.precision, numerics=r.numerics, num_threads=threads,
                                 progress=False)
            feeds = {d["name"]: x for d, x in zip(details, xs)}
            prof = m.profile(feeds, runs=max(runs, 10), progress=False)
            prof.title = f"{stem} {r.config} {threads}t"
            profiles.append({"model": stem, "threads": threads, "config": r.config, "report": prof.report(top),
                             "profile": prof.as_dict()})
    return records, profiles


# ------------------------------------------------------------------------------ machine / load
def cpu_busy():
    """(total busy jiffies of all CPUs, this process's CPU seconds, wall) or None off Linux."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return None
    busy = sum(v) - v[3] - (v[4] if len(v) > 4 else 0)      # minus idle and iowait
    t = os.times()
    return busy / os.sysconf("SC_CLK_TCK"), t.user + t.system, time.time()


def others_load(start, end):
    """Average number of cores used by *other* processes between two cpu_busy() samples."""
    if start is None or end is None or end[2] <= start[2]:
        return None
    return max(0.0, ((end[0] - start[0]) - (end[1] - start[1])) / (end[2] - start[2]))


# numpy 512^3 fp32 matmul, 1 thread, on a quiet machine, by LLVM's name for the host CPU:
# znver5 from PERF_NOTES §1 (SkylakeX OpenBLAS kernel), znver4 measured on the Zen 4 host
# of 2026-11-25 (load 0.36).  Other CPUs: no reference, no "slow" verdict.
QUIET_PROBE = {"znver5": 220.0, "znver4": 104.0}


def quiet_probe_gflops():
    import llvmlite.binding as llvm
    return QUIET_PROBE.get(llvm.get_host_cpu_name())


def speed_probe(seconds=0.3):
    """GFLOP/s of a 512^3 fp32 numpy matmul on one BLAS thread (best of a few), a
    machine-speed check that also sees contention the load average cannot (e.g. a
    busy host under a VM)."""
    a = np.random.default_rng(1).standard_normal((512, 512)).astype(np.float32)
    out = np.empty_like(a)
    try:
        from threadpoolctl import threadpool_limits
        ctx = threadpool_limits(limits=1, user_api="blas")
    except ImportError:
        import contextlib
        ctx = contextlib.nullcontext()
    best = np.inf
    with ctx:
        np.matmul(a, a, out=out)
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            t = time.perf_counter()
            np.matmul(a, a, out=out)
            best = min(best, time.perf_counter() - t)
    return 2 * 512 ** 3 / best / 1e9


def machine():
    name = platform.processor() or platform.machine()
    try:
        import llvmlite.binding as llvm
        llvm_cpu = llvm.get_host_cpu_name()
    except Exception:  # noqa: BLE001
        llvm_cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    vers = {}
    for mod in ("numpy", "numba", "llvmlite", "ai_edge_litert", "numba_infer"):
        try:
            vers[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001
            try:
                from importlib.metadata import version
                vers[mod] = version(mod.replace("_", "-"))
            except Exception:  # noqa: BLE001
                vers[mod] = "?"
    try:
        from numba_infer import isa
        vers["isa"] = isa.NAME
    except Exception:  # noqa: BLE001
        pass
    return {"cpu": name, "llvm_cpu": llvm_cpu, "cores": os.cpu_count(), "python": platform.python_version(), **vers}


# ------------------------------------------------------------------------------ output
COLUMNS = ["model", "thr", "runtime", "config", "median ms", "min ms", "÷XNNPack", "÷builtin", "÷auto", "diff",
           "prepare s", "note"]


def _f(v, fmt):
    return "" if v is None else format(v, fmt)


def row_cells(rec):
    d = rec["diff"]
    diff = "" if d is None else (f"{d['value']:.0f} q" if d["kind"] == "q" else f"{d['value']:.1e}")
    cfg = rec["config"]
    if rec["runtime"] == "numba_infer" and rec["precision"] == "auto":
        cfg = f"auto ({rec['effective_precision']})/{rec['numerics']}"
    note = "" if rec["error"] is None else rec["error"].replace("|", "/")
    return [rec["model"], str(rec["threads"]), rec["runtime"], cfg, _f(rec["median_ms"], ".3f"),
            _f(rec["min_ms"], ".3f"), _f(rec["ratio_xnnpack"], ".2f"), _f(rec["ratio_builtin"], ".2f"),
            _f(rec["vs_auto"], ".2f"), diff, _f(rec["prepare_s"], ".2f"), note]


def table(records):
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row_cells(r)) + " |" for r in records]
    return "\n".join(lines)


def summary_table(records):
    """One line per model x threads: LiteRT XNNPack vs our default configuration."""
    by = {}
    for r in records:
        by.setdefault((r["model"], r["threads"]), []).append(r)
    lines = ["| model | thr | LiteRT XNNPack ms | LiteRT builtin ms | ours (auto/xnnpack) ms | ours ÷ XNNPack |",
             "|---|---|---|---|---|---|"]
    for (model, thr), rs in by.items():
        get = {(r["runtime"], r["config"]): r for r in rs}
        x, b = get.get(("LiteRT", "xnnpack")), get.get(("LiteRT", "builtin"))
        o = get.get(("numba_infer", "auto/xnnpack"))

        def cell(r):
            if r is None:
                return "—"
            return f"{r['median_ms']:.3f}" if r["median_ms"] is not None else "error"
        ratio = _f(o["ratio_xnnpack"], ".2f") if o is not None else ""
        lines.append(f"| {model} | {thr} | {cell(x)} | {cell(b)} | {cell(o)} | {ratio} |")
    return "\n".join(lines)


VARIANTS = ("fp32", "fp16", "dr", "int8")     # the generated suite's file suffixes


def derived_tables(records):
    """The acceptance view of one run: ours ÷ XNNPack at 1 thread by model and variant, the cost of
    dynamic range against fp32 in our own runtime, and each runtime's speedup from 1 to N threads."""
    ours = {(r["model"], r["threads"]): r for r in records if r["runtime"] == "numba_infer"
            and r["config"] == "auto/xnnpack" and r["median_ms"] is not None}
    lite = {(r["model"], r["threads"]): r for r in records if r["runtime"] == "LiteRT"
            and r["config"] == "xnnpack" and r["median_ms"] is not None}
    suite, other = {}, []
    for (model, thr), r in ours.items():
        if thr != 1 or r["ratio_xnnpack"] is None:
            continue
        base, _, var = model.rpartition("_")
        if base and var in VARIANTS:
            suite.setdefault(base, {})[var] = r
        else:
            other.append(r)
    lines = []
    if suite:
        lines += ["**One thread, ours ÷ LiteRT XNNPack** (medians; `fp16` = the fp16-weight file, run in fp32; "
                  "QD8 ÷ FP32 = our dynamic-range median over our fp32 median):", "",
                  "| model | fp32 | fp16 | dr (QD8-F32) | int8 (QS8) | ours QD8 ÷ ours FP32 |", "|---|---|---|---|---|---|"]
        for base, v in suite.items():
            cells = [_f(v[k]["ratio_xnnpack"], ".2f") if k in v else "—" for k in VARIANTS]
            q = (f"{v['dr']['median_ms'] / v['fp32']['median_ms']:.2f}" if "dr" in v and "fp32" in v else "—")
            lines.append(f"| {base} | " + " | ".join(cells) + f" | {q} |")
        lines.append("")
    if other:
        lines += ["Other models, one thread, ours ÷ XNNPack: "
                  + ", ".join(f"{r['model']} {r['ratio_xnnpack']:.2f}" for r in other) + ".", ""]
    rows = []
    for (model, thr), r in ours.items():
        if thr == 1:
            continue
        a, la, lb = ours.get((model, 1)), lite.get((model, 1)), lite.get((model, thr))
        if a is None:
            continue
        ls = f"{la['median_ms'] / lb['median_ms']:.2f}" if la is not None and lb is not None else "—"
        rows.append(f"| {model} | {thr} | {a['median_ms']:.3f} | {r['median_ms']:.3f} | "
                    f"{a['median_ms'] / r['median_ms']:.2f} | {ls} |")
    if rows:
        lines += ["**Thread speedup in this run** (median at 1 thread ÷ median at N; the two thread counts are timed in "
                  "separate phases of the run, so a slow phase of the host shows here: `python -m bench scaling` "
                  "interleaves them):", "",
                  "| model | N | ours 1 thread ms | ours N threads ms | ours speedup | LiteRT XNNPack speedup |",
                  "|---|---|---|---|---|---|"] + rows + [""]
    return "\n".join(lines)


def write_markdown(path, records, profiles, meta):
    la0, la1 = meta["loadavg_start"], meta["loadavg_end"]
    oth = meta.get("others_cores")
    lines = ["# numba_infer vs LiteRT: latency", "",
             f"Generated by `{meta['command']}` on {meta['date']}.", "",
             f"- Machine: {meta['machine']['cpu']} ({meta['machine'].get('llvm_cpu', '?')}), "
             f"{meta['machine']['cores']} cores; Python "
             f"{meta['machine']['python']}, numpy {meta['machine']['numpy']}, numba {meta['machine']['numba']}, "
             f"LiteRT (ai-edge-litert) {meta['machine']['ai_edge_litert']}, numba_infer "
             f"{meta['machine']['numba_infer']} (int8 kernels: {meta['machine'].get('isa', '?')}).",
             f"- Method: {meta['warmup']} untimed warm-up call(s) per configuration, then {meta['runs']} timed "
             "`invoke()` calls each, interleaved (every iteration calls each configuration once, in an order "
             f"rotated by one per iteration); with 2+ threads by blocks ({BLOCKS} rounds, each configuration one "
             "untimed call then its share of the timed calls, rotated), since two thread pools in one process "
             "disturb each other (each keeps spinning a while after its run); before each block a 50 ms pause, "
             "and our contention guard forgets the stalls the other pool caused. LiteRT builtin is timed in a "
             "block of its own after the others (interleaved, its long runs leave the caches in a state that "
             "costs the other runtimes unequally). Median and min in ms.",
             f"- Load average (1/5/15 min): at start {la0[0]:.2f} / {la0[1]:.2f} / {la0[2]:.2f}, at end "
             f"{la1[0]:.2f} / {la1[1]:.2f} / {la1[2]:.2f}"
             + (f"; other processes used {oth:.2f} cores on average while this ran." if oth is not None else "."),
             f"- Speed probe (numpy 512³ fp32 matmul, 1 BLAS thread, best of 0.3 s): {meta['probe_start']:.0f} "
             f"GFLOP/s at start, {meta['probe_end']:.0f} at end"
             + (f"; about {meta['probe_quiet']:.0f} on a quiet machine of this kind ({meta['machine'].get('llvm_cpu')})"
                if meta.get("probe_quiet") else "")
             + ". It also shows contention the load average cannot see, such as a busy host under this VM.",
             f"- Wall time of the run: {meta['wall_s']:.0f} s."]
    if meta.get("caveat"):
        lines += ["", f"> **Caveat:** {meta['caveat']}"]
    lines += ["", "Columns: ÷XNNPack / ÷builtin = our median over LiteRT's (same model, same thread count), "
              "below 1 means we are faster; ÷auto = this precision's median over our `auto` run with the same "
              "numerics (the cost of fp16 emulation); diff = max |ours − LiteRT| over max |LiteRT| on the outputs "
              "(against the LiteRT configuration with matching numerics: xnnpack↔XNNPack, tflite↔builtin), "
              "or in quanta for integer outputs; for LiteRT builtin, against LiteRT XNNPack. "
              "`auto` runs the model as stored (fp32 for fp32/fp16-weight models, QD8-F32 for `_dr`, "
              "full integer for `_int8`).", "",
              "## Summary", "", summary_table(records), ""]
    derived = derived_tables(records)
    if derived:
        lines += ["## Derived from this run", "", derived]
    lines += ["## All configurations", "", table(records), ""]
    if meta.get("chart"):
        lines += [f"![median latency]({Path(meta['chart']).name})", ""]
    if profiles:
        lines += ["## Per-op profiles (numba_infer)", ""]
        for p in profiles:
            lines += [f"<details><summary>{p['model']} {p['config']} {p['threads']} thread(s): "
                      f"{p['profile']['total_ms']:.3f} ms</summary>", "", "```", p["report"], "```", "", "</details>", ""]
    path = Path(path)
    old = path.read_text() if path.exists() else ""
    kept = old[old.index(KEEP):] if KEEP in old else ""
    path.write_text("\n".join(lines) + ("\n" + kept if kept else ""))


def write_chart(path, records):
    """Horizontal bars of median latency (log scale), one panel per thread count."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    threads = sorted({r["threads"] for r in records})
    models = list(dict.fromkeys(r["model"] for r in records))
    configs = list(dict.fromkeys((r["runtime"], r["config"]) for r in records))
    fig, axes = plt.subplots(1, len(threads), figsize=(6.5 * len(threads), 1.0 + 0.22 * len(models) * len(configs)),
                             squeeze=False, sharey=True)
    h = 0.8 / max(1, len(configs))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, t in zip(axes[0], threads):
        get = {(r["model"], r["runtime"], r["config"]): r["median_ms"] for r in records if r["threads"] == t}
        for ci, (rt, cfg) in enumerate(configs):
            ys = [mi + ci * h for mi in range(len(models))]
            vals = [get.get((m, rt, cfg)) or 0 for m in models]
            for y, m, v in zip(ys, models, vals):
                if not v and (m, rt, cfg) in get:          # built but failed: say so where the bar would be
                    ax.text(0.01, y, "error / unsupported", transform=ax.get_yaxis_transform(), va="center",
                            fontsize="x-small", color=colors[ci % len(colors)])
            ax.barh(ys, vals, height=h, color=colors[ci % len(colors)],
                    label=LITERT_LABEL.get(cfg, cfg) if rt == "LiteRT" else f"numba_infer {cfg}",
                    hatch="//" if rt == "LiteRT" else None, edgecolor="white" if rt == "LiteRT" else None)
        ax.set_xscale("log")
        ax.set_xlabel("median latency, ms (log scale; missing bar = error / unsupported)")
        ax.set_title(f"{t} thread{'s' if t > 1 else ''}")
        ax.grid(axis="x", which="both", alpha=0.3)
    axes[0][0].set_yticks([mi + 0.4 - h / 2 for mi in range(len(models))])
    axes[0][0].set_yticklabels(models)
    axes[0][0].invert_yaxis()
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(3, len(labels)), fontsize="small", frameon=False)
    fig.tight_layout(rect=(0, 0.04 + 0.012 * (len(labels) // 3), 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ------------------------------------------------------------------------------ main
def _csv(s):
    return [x.strip() for x in s.split(",") if x.strip()]


def build_parser(prog=None):
    ap = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Other commands: python -m bench gemm | python -m bench startup (see --help).")
    ap.add_argument("models", nargs="*", help="model paths or names (default: the ../shared suite or the fixtures)")
    ap.add_argument("--runs", type=int, default=30, help="timed calls per configuration (default 30)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed calls per configuration first (default 2)")
    ap.add_argument("--threads", type=_csv, default=["1", "2"], help="thread counts, comma separated (default 1,2)")
    ap.add_argument("--precision", type=_csv, default=["auto"],
                    help="numba_infer precisions, comma separated: auto, fp32, fp16 (default auto)")
    ap.add_argument("--numerics", type=_csv, default=["xnnpack"],
                    help="numba_infer numerics, comma separated: xnnpack, tflite (default xnnpack)")
    ap.add_argument("--litert", type=_csv, default=list(LITERT_CONFIGS),
                    help="LiteRT configurations: xnnpack (default interpreter), builtin "
                         "(BUILTIN_WITHOUT_DEFAULT_DELEGATES) (default both)")
    ap.add_argument("--profile", action="store_true", help="also time every op of our runs and print "
                    "benchmark_model-style per-op and per-op-type tables")
    ap.add_argument("--top", type=int, default=10, help="rows of the 'top by computation time' profile table")
    ap.add_argument("--markdown", type=Path, default=HERE / "RESULTS.md", help="results table (default bench/RESULTS.md)")
    ap.add_argument("--chart", type=Path, default=HERE / "results.png", help="chart PNG (default bench/results.png)")
    ap.add_argument("--json", help="also write every record as JSON to this path ('-' for stdout)")
    ap.add_argument("--no-save", action="store_true", help="print only; write neither RESULTS.md nor the chart")
    return ap


def main(argv=None, prog=None):
    args = build_parser(prog).parse_args(argv)
    try:
        threads = [int(t) for t in args.threads]
    except ValueError:
        raise SystemExit(f"--threads: expected integers, got {args.threads}")
    bad = [c for c in args.litert if c not in LITERT_CONFIGS]
    if bad:
        raise SystemExit(f"--litert: unknown configuration(s) {bad}; choose from {LITERT_CONFIGS}")
    models = [resolve_model(m) for m in args.models] if args.models else default_models()
    os.environ.setdefault("NUMBA_INFER_PROGRESS", "0")
    argv_shown = sys.argv[1:] if argv is None else list(argv)
    meta = {"command": " ".join([prog or "python -m bench"] + argv_shown), "runs": args.runs, "warmup": args.warmup,
            "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "loadavg_start": os.getloadavg(), "machine": machine(), "probe_start": speed_probe()}
    busy0, t0 = cpu_busy(), time.perf_counter()
    quiet = args.json == "-"
    say = (lambda *a, **k: print(*a, file=sys.stderr, **k)) if quiet else print
    say(f"# {len(models)} model(s), threads {threads}, {args.runs} runs; load average at start "
        f"{meta['loadavg_start'][0]:.2f}")
    say("| " + " | ".join(COLUMNS) + " |")
    say("|" + "---|" * len(COLUMNS))
    records, profiles = [], []
    for path in models:
        for t in threads:
            try:
                recs, profs = bench_model(path, t, args.runs, args.warmup, args.precision, args.numerics,
                                          args.litert, profile=args.profile, top=args.top)
            except Exception as e:  # noqa: BLE001 - one broken model must not stop the run
                recs, profs = [{"model": path.stem, "threads": t, "runtime": "—", "config": "—", "precision": None,
                                "numerics": None, "effective_precision": None, "median_ms": None, "min_ms": None,
                                "runs": 0, "prepare_s": None, "error": _short(e), "ratio_xnnpack": None,
                                "ratio_builtin": None, "vs_auto": None, "diff": None}], []
            for r in recs:
                say("| " + " | ".join(row_cells(r)) + " |", flush=True)
            for p in profs:
                say(p["report"], flush=True)
            records += recs
            profiles += profs
    meta["loadavg_end"] = os.getloadavg()
    meta["others_cores"] = others_load(busy0, cpu_busy())
    meta["wall_s"] = time.perf_counter() - t0
    meta["probe_end"] = speed_probe()
    ncores = os.cpu_count() or 1
    hi = max(meta["loadavg_start"][0], meta["loadavg_end"][0])
    quiet = meta["probe_quiet"] = quiet_probe_gflops()
    slow = quiet is not None and min(meta["probe_start"], meta["probe_end"]) < 0.8 * quiet
    if (meta["others_cores"] or 0) > 0.2 or hi > 0.5 + (1.0 if ncores <= 2 else 0.0) or slow:
        meta["caveat"] = (f"the machine was busy (1-min load up to {hi:.2f} on {ncores} cores"
                          + (f", other processes used {meta['others_cores']:.2f} cores on average"
                             if meta["others_cores"] is not None else "")
                          + (f", speed probe {min(meta['probe_start'], meta['probe_end']):.0f} GFLOP/s against "
                             f"~{quiet:.0f} when quiet" if slow else "")
                          + "); timings are noisy, the 2-thread ones most. Re-run on a quiet machine before quoting.")
    say(f"# load average at end {meta['loadavg_end'][0]:.2f}; other processes used "
        f"{_f(meta['others_cores'], '.2f') or '?'} cores on average; {meta['wall_s']:.0f} s")
    if not args.no_save:
        try:
            write_chart(args.chart, records)
            meta["chart"] = str(args.chart)
        except Exception as e:  # noqa: BLE001 - e.g. matplotlib missing: the table is still written
            say(f"# chart not written: {_short(e)}")
        write_markdown(args.markdown, records, profiles, meta)
        say(f"# wrote {args.markdown}" + (f" and {args.chart}" if meta.get("chart") else ""))
    if args.json:
        doc = json.dumps({"meta": meta, "records": records,
                          "profiles": [{k: v for k, v in p.items() if k != "report"} for p in profiles]},
                         indent=1, default=str)
        if args.json == "-":
            print(doc)
        else:
            Path(args.json).write_text(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main(prog="python bench/run.py"))
