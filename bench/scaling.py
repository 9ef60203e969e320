"""Thread scaling: 1 thread against N threads, both runtimes, interleaved in one phase.

    python -m bench scaling [MODEL ...] [--threads 2] [--rounds 10] [--block 6]
    python bench/scaling.py ...        (the same)

The main bench (python -m bench --threads 1,2) times the 1-thread and the
2-thread configurations in two phases a minute apart, so a slow phase of the
host (this VM's speed drifts by 20-40% for seconds at a time) lands on one
side of the speedup only.  Here the four configurations -- numba_infer and
LiteRT XNNPack, at 1 and at N threads -- take turns in blocks: each round
visits every configuration once, in an order rotated by one per round; a
block is a 50 ms pause (the previous thread pool goes idle), one untimed call,
then ``--block`` timed calls.  So a slow phase hits both sides of a speedup
alike, and LiteRT's own speedup, measured the same way, shows what the
machine allowed.

Reported per model and runtime: the median latency at 1 and N threads over
all rounds, their ratio (the speedup), and the spread of the per-round
speedups (block median at 1 thread over block median at N, min / median /
max over the rounds).  Default models: the acceptance set of issue 6 --
mobilenet_v2_fp32, efficientnet_v2_b0_fp32 (../shared/models/generated) and
bench/models/inception_stem_fp32 -- when present, else the bundled fixtures.

Writes a section of bench/RESULTS.md (between ``<!-- scaling -->`` markers in
the part that the main bench keeps across runs) unless --no-save.
"""
from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):                # python bench/scaling.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench import run
else:
    from . import run

DEFAULT = ("mobilenet_v2_fp32", "efficientnet_v2_b0_fp32", "inception_stem_fp32")
START, END = "<!-- scaling -->", "<!-- /scaling -->"


def default_models():
    found = []
    for name in DEFAULT:
        try:
            found.append(run.resolve_model(name))
        except SystemExit:
            pass
    return found or run.default_models()


def runners_for(path, threads):
    """[(runtime, threads, Runner)] for LiteRT XNNPack and numba_infer (auto/xnnpack) at 1 and N threads."""
    out = []
    for t in (1, threads):
        for r in run.build_runners(path, t, ["auto"], ["xnnpack"], ["xnnpack"]):
            out.append((r.runtime, t, r))
    return out


def measure(path, threads, rounds, block, warmup):
    """{runtime: {"t1": [...], "tn": [...], "rounds": [speedup per round]}} (seconds), or errors."""
    cfgs = runners_for(path, threads)
    errors = {f"{rt} {t}t": r.error for rt, t, r in cfgs if r.error is not None}
    live = [c for c in cfgs if c[2].error is None]
    if not live:
        return {}, errors
    details = live[0][2].it.get_input_details()
    for _, _, r in live:
        by_name = {d["name"]: d for d in r.it.get_input_details()}
        r.inputs = [by_name.get(d["name"], d) for d in details]
    xs = run.make_inputs(details, np.random.default_rng(0))
    for _, _, r in live:
        for _ in range(warmup):
            r.call(xs, timed=False)
    per_round = {id(r): [] for _, _, r in live}
    for i in range(rounds):
        k = i % len(live)
        for _, _, r in live[k:] + live[:k]:
            run.settle(r)
            r.call(xs, timed=False)
            start = len(r.times)
            for _ in range(block):
                r.call(xs)
            per_round[id(r)].append(float(np.median(r.times[start:])))
    res = {}
    for rt in ("numba_infer", "LiteRT"):
        one = [r for name, t, r in live if name == rt and t == 1]
        many = [r for name, t, r in live if name == rt and t == threads]
        if one and many:
            a, b = one[0], many[0]
            res[rt] = {"t1": a.times, "tn": b.times,
                       "rounds": [x / y for x, y in zip(per_round[id(a)], per_round[id(b)])]}
    return res, errors


def table(rows, threads):
    lines = [f"| model | runtime | 1 thread ms | {threads} threads ms | speedup (medians) | "
             "per-round speedup min / median / max |", "|---|---|---|---|---|---|"]
    for model, res, errors in rows:
        for rt in ("numba_infer", "LiteRT"):
            if rt not in res:
                continue
            d = res[rt]
            m1, mn = 1e3 * np.median(d["t1"]), 1e3 * np.median(d["tn"])
            s = np.array(d["rounds"])
            lines.append(f"| {model} | {rt} | {m1:.3f} | {mn:.3f} | **{m1 / mn:.2f}** | "
                         f"{s.min():.2f} / {np.median(s):.2f} / {s.max():.2f} |")
        for cfg, err in errors.items():
            lines.append(f"| {model} | {cfg} | — | — | — | {err.replace('|', '/')} |")
    return "\n".join(lines)


def section(text, meta):
    return "\n".join([
        START, f"## Thread scaling (`{meta['command']}`, {meta['date']})", "",
        f"Both runtimes at 1 and {meta['threads']} threads, interleaved by blocks in one phase ({meta['rounds']} "
        f"rounds; a block = 50 ms pause, one untimed call, {meta['block']} timed calls; order rotated each round), "
        "so a slow phase of the host hits both sides of a speedup alike. Speedup = median at 1 thread ÷ median at "
        f"{meta['threads']}. Load average at start {meta['load0']:.2f}, at end {meta['load1']:.2f}.", "",
        text, END])


def save(path, sec):
    """Replace (or append) the scaling section inside the kept part of RESULTS.md."""
    old = path.read_text() if path.exists() else ""
    if START in old and END in old:
        new = old[:old.index(START)] + sec + old[old.index(END) + len(END):]
    else:
        if run.KEEP not in old:
            old = old.rstrip("\n") + "\n\n" + run.KEEP + "\n"
        new = old.rstrip("\n") + "\n\n" + sec + "\n"
    path.write_text(new)


def build_parser(prog=None):
    ap = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", help="model paths or names (default: " + ", ".join(DEFAULT) + ")")
    ap.add_argument("--threads", type=int, default=2, help="the N compared with 1 thread (default 2)")
    ap.add_argument("--rounds", type=int, default=10, help="rounds of blocks (default 10)")
    ap.add_argument("--block", type=int, default=6, help="timed calls per block (default 6)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed calls per configuration first (default 2)")
    ap.add_argument("--markdown", type=Path, default=run.HERE / "RESULTS.md",
                    help="file whose scaling section is rewritten (default bench/RESULTS.md)")
    ap.add_argument("--no-save", action="store_true", help="print only")
    return ap


def main(argv=None, prog=None):
    args = build_parser(prog).parse_args(argv)
    if args.threads < 2 or args.rounds < 1 or args.block < 1:
        raise SystemExit("--threads must be >= 2, --rounds and --block >= 1")
    models = [run.resolve_model(m) for m in args.models] if args.models else default_models()
    os.environ.setdefault("NUMBA_INFER_PROGRESS", "0")
    shown = sys.argv[1:] if argv is None else list(argv)
    meta = {"command": " ".join([prog or "python -m bench scaling"] + shown), "threads": args.threads,
            "rounds": args.rounds, "block": args.block, "load0": os.getloadavg()[0],
            "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")}
    rows = []
    for path in models:
        t = time.perf_counter()
        res, errors = measure(path, args.threads, args.rounds, args.block, args.warmup)
        rows.append((path.stem, res, errors))
        print(table([rows[-1]], args.threads).split("\n", 2)[-1], f"({time.perf_counter() - t:.0f} s)", flush=True)
    meta["load1"] = os.getloadavg()[0]
    text = table(rows, args.threads)
    print(text)
    if not args.no_save:
        save(args.markdown, section(text, meta))
        print(f"# wrote the scaling section of {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main(prog="python bench/scaling.py"))
