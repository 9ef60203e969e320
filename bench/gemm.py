"""GEMM microbenchmark: numba_infer's fp32 and int8 GEMM kernels next to numpy's matmul.

    python -m bench gemm [--shapes 1024x1024x1024,...] [--min-time 0.2] [--repeats 5] [--json PATH]

Shapes are M x K x N (C[M, N] = A[M, K] . W[N, K]^T), default the PERF_NOTES set:
1024^3, 512^3, 128x256x1024 (FC batch), 12544x288x32 (a conv as im2col GEMM),
1x1280x1000 (FC, one row: GEMV).

- ours fp32: ``numba_infer.kernels.gemm`` -- weights (and bias) packed once by
  ``pack_gemm_f32`` for the tile ``choose_tile`` picks, then
  ``gemm_f32_f32_f32_minmax`` (M == 1 goes to the GEMV).  Single-threaded.
- ours int8: the QD8 GEMM of ``numba_infer.kernels.qgemm`` (uint8 activations
  with per-row zero point x int8 weights, exact int32 accumulation, fp32
  epilogue): ``pack_qc8w_vnni`` + ``gemm_qdu8_qc8w_f32_vnni`` on AVX512-VNNI,
  else ``pack_qc8w_rows`` + ``gemm_qdu8_qc8w_f32_generic``.  Single-threaded.
  The activation quantizer is not included (it is a separate op step).
- numpy fp32 ``A @ W.T`` (OpenBLAS), at 1 thread and, with threadpoolctl, also
  at 2; the BLAS kernel in use is reported (threadpoolctl, else
  numpy.show_config).

Rate = 2*M*N*K / time (GFLOP/s for fp32, GOP/s for int8), the best of
``--repeats`` repeats, each timing enough calls to last ``--min-time``
seconds; implementations are interleaved within each repeat.  "% peak" is
against this machine type's single-core peak (PERF_NOTES.md §0: 236-241
GFLOP/s fp32 FMA, 948-959 GOP/s vpdpbusd; we use 240 and 955; x2 for the
2-thread numpy column); "% now" against the in-register peak measured at the
start of this run (bench/peak.py), which is what a shared or throttled host
can actually deliver.  Every result is checked against numpy first.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import io
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

PEAK_F32 = 240.0      # GFLOP/s, one core (PERF_NOTES §0: 236-241)
PEAK_I8 = 955.0       # GOP/s, one core (PERF_NOTES §0: 948-959)
DEFAULT_SHAPES = "1024x1024x1024,512x512x512,128x256x1024,12544x288x32,1x1280x1000"
F32 = np.float32


def parse_shapes(s):
    out = []
    for part in s.split(","):
        dims = part.lower().strip().split("x")
        if len(dims) != 3:
            raise SystemExit(f"--shapes: expected MxKxN, got {part!r}")
        out.append(tuple(int(d) for d in dims))
    return out


# ------------------------------------------------------------------------------ BLAS info
def blas_info():
    """(description string, threadpool_limits-or-None) of numpy's BLAS."""
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        threadpool_limits = None
        info = None
    else:
        info = [d for d in threadpool_info() if d.get("user_api") == "blas"]
    if info:
        d = info[0]
        desc = (f"{d.get('internal_api')} {d.get('version')}, kernel '{d.get('architecture')}', "
                f"{d.get('num_threads')} threads (threadpoolctl)")
    else:
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            try:
                np.show_config()
            except Exception:  # noqa: BLE001
                pass
        lines = [ln.strip() for ln in buf.getvalue().splitlines()
                 if any(w in ln.lower() for w in ("openblas", "mkl", "blas", "name:", "version:"))]
        desc = "numpy.show_config: " + "; ".join(lines[:6]) + " (install threadpoolctl for the kernel name)"
    env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                                      "OMP_NUM_THREADS") if k in os.environ}
    if env:
        desc += f"; environment {env}"
    return desc, threadpool_limits


# ------------------------------------------------------------------------------ timing
def rate_loop(fn, min_time):
    """Seconds per call: calls fn until min_time has passed (at least twice)."""
    fn()
    n, t = 0, 0.0
    t0 = time.perf_counter()
    while n < 2 or t < min_time:
        fn()
        n += 1
        t = time.perf_counter() - t0
    return t / n


# ------------------------------------------------------------------------------ implementations
def setup_f32(m, k, n, rng):
    from numba_infer.kernels import gemm as g
    a = rng.standard_normal((m, k)).astype(F32)
    w = rng.standard_normal((n, k)).astype(F32)
    bias = np.zeros(n, F32)
    tile = g.choose_tile(m, n)
    mr, nr = g.TILES[tile]
    wp = np.zeros(g.packed_size(n, k, nr), F32)
    g.pack_gemm_f32(w.reshape(-1), 0, k, 1, n, k, bias, nr, wp)
    c = np.zeros(m * n, F32)
    af = a.reshape(-1)
    lo, hi = F32(-np.inf), F32(np.inf)

    def run():
        g.gemm_f32_f32_f32_minmax(tile, m, n, k, af, k, wp, lo, hi, c, n)
    run()
    ref = a.astype(np.float64) @ w.T.astype(np.float64)
    # fp32 FMA sums of k terms vs a float64 reference: relative to the sum of |terms|
    bound = 1e-5 * np.sqrt(k) * (np.abs(a) @ np.abs(w).T)
    ok = bool(np.all(np.abs(c.reshape(m, n) - ref) <= bound + 1e-6))
    kind = "GEMV" if m == 1 and tile == g.TILE_6x64 else f"{mr}x{nr}"
    return run, ok, kind, (a, w)


def setup_i8(m, k, n, rng):
    from numba_infer import isa
    from numba_infer.kernels import qgemm as q
    au8 = rng.integers(0, 256, size=(m, k)).astype(np.uint8)
    w8 = rng.integers(-127, 128, size=(n, k)).astype(np.int8)
    zpa = rng.integers(100, 156, size=m).astype(np.int32)
    sa = (rng.random(m) * 0.1 + 0.01).astype(F32)
    wscale = (rng.random(n) * 0.1 + 0.01).astype(F32)
    bias = rng.standard_normal(n).astype(F32)
    kp = q.kpad(k)
    a = np.zeros((m, kp), np.uint8)
    a[:, :k] = au8
    wf = w8.reshape(-1)
    lo, hi = F32(-np.inf), F32(np.inf)
    c = np.zeros(m * n, F32)
    if isa.VNNI:
        from numba_infer.kernels.qgemm_vnni import gemm_qdu8_qc8w_f32_vnni
        tile = q.choose_qtile(m, n)
        mr, nr = q.QTILES[tile]
        npad = -(-n // nr) * nr
        wq = np.zeros(q.vnni_packed_words(n, k, nr), np.int32)
        q.pack_qc8w_vnni(wf, 0, k, 1, n, k, nr, wq.view(np.int8))
        a32 = a.reshape(-1).view(np.int32)
        kind = f"VNNI {mr}x{nr}"

        def run():
            gemm_qdu8_qc8w_f32_vnni(tile, m, n, kp, a32, kp // 4, sa, zpa, wq, nks, ws, bs, False, lo, hi, c, n)
    else:
        npad = n
        wq = np.zeros(n * kp, np.int8)
        q.pack_qc8w_rows(wf, 0, k, 1, n, k, kp, wq)
        a8 = a.reshape(-1)
        kind = "generic (no VNNI)"

        def run():
            q.gemm_qdu8_qc8w_f32_generic(m, n, kp, a8, kp, sa, zpa, wq, nks, ws, bs, False, lo, hi, c, n)
    nks, ws, bs = np.zeros(npad, np.int32), np.zeros(npad, F32), np.zeros(npad, F32)
    q.qc8w_channel_params(wf, 0, k, 1, n, k, wscale, bias, nks, ws, bs)
    run()
    acc = (au8.astype(np.int64) - zpa[:, None]) @ w8.T.astype(np.int64)          # exact
    ref = acc * (sa[:, None].astype(np.float64) * wscale[None, :]) + bias[None, :]
    # epilogue: two fp32 roundings of float(acc) * s * ws (+ fma with bias) -> a few ulp of |acc * s * ws|
    bound = 4 * np.finfo(F32).eps * (np.abs(acc) * sa[:, None] * wscale[None, :] + np.abs(bias)) + 1e-6
    ok = bool(np.all(np.abs(c.reshape(m, n) - ref) <= bound))
    return run, ok, kind


def bench(shapes, min_time, repeats, threads):
    desc, limits = blas_info()
    rng = np.random.default_rng(0)
    rows = []
    for (m, k, n) in shapes:
        t0 = time.perf_counter()
        f32_run, f32_ok, f32_kind, (a, w) = setup_f32(m, k, n, rng)
        i8_run, i8_ok, i8_kind = setup_i8(m, k, n, rng)
        wt = np.ascontiguousarray(w.T)
        out = np.empty((m, n), F32)

        def np_run():
            np.matmul(a, wt, out=out)
        impls = {"ours_f32": f32_run, "ours_i8": i8_run}
        np_threads = threads if limits is not None else [None]
        best = {key: np.inf for key in list(impls) + [f"numpy_{t}" for t in np_threads]}
        for _ in range(repeats):
            for key, fn in impls.items():
                best[key] = min(best[key], rate_loop(fn, min_time))
            for t in np_threads:
                ctx = limits(limits=t, user_api="blas") if t is not None else contextlib.nullcontext()
                with ctx:
                    best[f"numpy_{t}"] = min(best[f"numpy_{t}"], rate_loop(np_run, min_time))
        ops = 2.0 * m * n * k
        row = {"shape": f"{m}x{k}x{n}", "m": m, "k": k, "n": n,
               "ours_f32_gflops": ops / best["ours_f32"] / 1e9, "ours_f32_kernel": f32_kind, "ours_f32_ok": f32_ok,
               "ours_i8_gops": ops / best["ours_i8"] / 1e9, "ours_i8_kernel": i8_kind, "ours_i8_ok": i8_ok,
               "numpy": {str(t): ops / best[f"numpy_{t}"] / 1e9 for t in np_threads},
               "seconds": time.perf_counter() - t0}
        rows.append(row)
        yield row, desc


def format_table(rows, threads_cols, now=None):
    now = now or {}
    head = ["shape M×K×N", "ours fp32 GFLOP/s", "% peak", "% now", "kernel"]
    for t in threads_cols:
        head += [f"numpy fp32 {t}t GFLOP/s" if t != "None" else "numpy fp32 GFLOP/s", "% peak"]
    head += ["ours / numpy 1t", "ours int8 GOP/s", "% peak", "% now", "kernel", "int8 / fp32"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        f = r["ours_f32_gflops"]
        cells = [r["shape"], f"{f:.1f}" + ("" if r["ours_f32_ok"] else " (WRONG)"), f"{100 * f / PEAK_F32:.0f}%",
                 f"{100 * f / now['f32']:.0f}%" if now.get("f32") else "", r["ours_f32_kernel"]]
        for t in threads_cols:
            v = r["numpy"].get(t)
            nt = int(t) if t != "None" else 1
            cells += [f"{v:.1f}" if v else "", f"{100 * v / (PEAK_F32 * nt):.0f}%" if v else ""]
        np1 = r["numpy"].get("1") or r["numpy"].get("None")
        i = r["ours_i8_gops"]
        cells += [f"{f / np1:.2f}" if np1 else "", f"{i:.1f}" + ("" if r["ours_i8_ok"] else " (WRONG)"),
                  f"{100 * i / PEAK_I8:.0f}%", f"{100 * i / now['i8']:.0f}%" if now.get("i8") else "",
                  r["ours_i8_kernel"], f"{i / f:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None, prog=None):
    ap = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 2)[2])
    ap.add_argument("--shapes", default=DEFAULT_SHAPES, help=f"comma-separated MxKxN (default {DEFAULT_SHAPES})")
    ap.add_argument("--min-time", type=float, default=0.2, help="seconds per timed batch of calls (default 0.2)")
    ap.add_argument("--repeats", type=int, default=5, help="repeats, best kept (default 5)")
    ap.add_argument("--numpy-threads", default="1,2", help="numpy BLAS thread counts (needs threadpoolctl; default 1,2)")
    ap.add_argument("--json", help="write the rows as JSON to this path ('-' for stdout)")
    args = ap.parse_args(argv)
    shapes = parse_shapes(args.shapes)
    threads = [int(t) for t in args.numpy_threads.split(",") if t.strip()]
    os.environ.setdefault("NUMBA_INFER_PROGRESS", "0")
    out = sys.stderr if args.json == "-" else sys.stdout
    la0 = os.getloadavg()
    print(f"# GEMM microbenchmark, {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; load average at start "
          f"{la0[0]:.2f} / {la0[1]:.2f} / {la0[2]:.2f}", file=out)
    print(f"# peaks (PERF_NOTES §0, one core): fp32 FMA {PEAK_F32:.0f} GFLOP/s, vpdpbusd {PEAK_I8:.0f} GOP/s; "
          f"ours single-threaded; best of {args.repeats} x >= {args.min_time} s", file=out)
    try:
        from .peak import cpu_desc, measure
    except ImportError:                       # run as a script: python bench/gemm.py
        from peak import cpu_desc, measure
    print(f"# CPU: {cpu_desc()}", file=out)
    now = measure()
    print(f"# in-register peak measured now (bench/peak.py): fp32 FMA {now['f32']:.0f} GFLOP/s, vpdpbusd "
          + (f"{now['i8']:.0f} GOP/s" if now["i8"] else "n/a"), file=out, flush=True)
    rows, desc = [], ""
    for row, desc in bench(shapes, args.min_time, args.repeats, threads):
        rows.append(row)
        print(f"# {row['shape']}: fp32 {row['ours_f32_gflops']:.1f} GFLOP/s, int8 {row['ours_i8_gops']:.1f} GOP/s, "
              f"numpy {', '.join(f'{t}t {v:.1f}' for t, v in row['numpy'].items())} ({row['seconds']:.1f} s)",
              file=out, flush=True)
    cols = list(rows[0]["numpy"]) if rows else []
    la1 = os.getloadavg()
    print(f"# numpy BLAS: {desc}", file=out)
    print(format_table(rows, cols, now), file=out)
    print(f"# load average at end {la1[0]:.2f} / {la1[1]:.2f} / {la1[2]:.2f}", file=out)
    if args.json:
        doc = json.dumps({"blas": desc, "loadavg_start": la0, "loadavg_end": la1, "peak_f32": PEAK_F32,
                          "peak_i8": PEAK_I8, "peak_now": now, "rows": rows}, indent=1)
        if args.json == "-":
            print(doc)
        else:
            Path(args.json).write_text(doc)
    return 0 if all(r["ours_f32_ok"] and r["ours_i8_ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(prog="python bench/gemm.py"))
