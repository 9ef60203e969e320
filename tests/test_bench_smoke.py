"""Smoke test of `python -m bench` on a tiny fixture: it must run end to end and
produce a well-formed JSON document, RESULTS-style markdown table and PNG chart.
Timings are not asserted (they are machine noise at this size)."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "tests" / "fixtures" / "hello_world_float.tflite"

pytest.importorskip("ai_edge_litert")


def test_bench_entry_point(tmp_path):
    md, png = tmp_path / "RESULTS.md", tmp_path / "results.png"
    cmd = [sys.executable, "-m", "bench", str(MODEL), "--runs", "2", "--warmup", "1", "--threads", "1",
           "--precision", "auto,fp16", "--profile", "--markdown", str(md), "--chart", str(png), "--json", "-"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    doc = json.loads(out.stdout)

    recs = doc["records"]
    configs = [(r["runtime"], r["config"]) for r in recs]
    assert configs == [("LiteRT", "xnnpack"), ("LiteRT", "builtin"),
                       ("numba_infer", "auto/xnnpack"), ("numba_infer", "fp16/xnnpack")]
    for r in recs:
        assert r["model"] == "hello_world_float" and r["threads"] == 1
        assert r["error"] is None, r["error"]
        assert r["runs"] == 2
        assert r["min_ms"] > 0 and r["median_ms"] >= r["min_ms"]
    ours = [r for r in recs if r["runtime"] == "numba_infer"]
    for r in ours:
        assert r["ratio_xnnpack"] > 0 and r["ratio_builtin"] > 0
        assert r["diff"]["kind"] == "rel" and r["diff"]["against"] == "xnnpack"
    assert ours[0]["diff"]["value"] < 1e-4            # fp32 vs XNNPack on a 3-layer MLP
    assert ours[1]["vs_auto"] > 0                     # fp16 cost against our fp32 run
    meta = doc["meta"]
    assert len(meta["loadavg_start"]) == 3 and len(meta["loadavg_end"]) == 3

    # per-op profile of both of our configurations
    assert [p["config"] for p in doc["profiles"]] == ["auto/xnnpack", "fp16/xnnpack"]
    prof = doc["profiles"][0]["profile"]
    assert {o["op"] for o in prof["ops"]} == {"FULLY_CONNECTED"}
    assert prof["by_type"][0]["op"] == "FULLY_CONNECTED"
    assert "Summary by node type" in out.stderr      # the benchmark_model-style report was printed

    # markdown: header, separator, one row per record, same column count everywhere
    text = md.read_text()
    assert "Load average" in text
    full = text.split("## All configurations", 1)[1]          # (the summary table comes first)
    rows = [ln for ln in full.splitlines() if ln.startswith("| hello_world_float | 1 | ")]
    header = next(ln for ln in full.splitlines() if ln.startswith("| model | thr | runtime |"))
    assert len(rows) == len(recs)
    assert {ln.count("|") for ln in rows} == {header.count("|")}
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_committed_bench_models_are_what_the_generator_writes():
    sys.path.insert(0, str(ROOT / "bench" / "models"))
    try:
        import make_models
    finally:
        sys.path.pop(0)
    assert make_models.inception_stem() == (ROOT / "bench" / "models" / "inception_stem_fp32.tflite").read_bytes()


def test_bench_gemm_reports_the_measured_peak(tmp_path):
    # tiny shape, one short repeat: the command runs, checks its results against numpy
    # (exit code 0 only when both kernels are right), and reports the in-register peak
    # measured in the same run next to PERF_NOTES' figure.
    js = tmp_path / "gemm.json"
    cmd = [sys.executable, "-m", "bench", "gemm", "--shapes", "7x33x20", "--repeats", "1", "--min-time", "0.01",
           "--numpy-threads", "1", "--json", str(js)]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    doc = json.loads(js.read_text())
    assert doc["peak_now"]["f32"] > 1 and doc["rows"][0]["ours_f32_ok"] and doc["rows"][0]["ours_i8_ok"]
    assert "# CPU: " in out.stdout and "in-register peak measured now" in out.stdout
    assert "% now" in out.stdout


@pytest.mark.parametrize("name", ["convnet_int8", "attention_fp32"])
def test_bench_ops_cuts_each_op_faithfully(name):
    """bench ops (bench/ops.py) cuts every op into a one-op model.  Each cut
    model, fed the op's inputs as the whole model computed them (LiteRT with
    every tensor preserved), must give that op's outputs exactly: LiteRT's
    builtin kernels on both sides, so the only thing that could differ is the
    cutting (tensors, constant buffers, options, quantization)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from bench.ops import split_ops
    path = ROOT / "tests" / "fixtures" / f"{name}.tflite"
    builtin = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    full = Interpreter(model_path=str(path), experimental_op_resolver_type=builtin,
                       experimental_preserve_all_tensors=True)
    full.allocate_tensors()
    rng = np.random.default_rng(0)
    for d in full.get_input_details():
        info = np.iinfo(d["dtype"]) if d["dtype"] != np.float32 else None
        x = (rng.standard_normal(d["shape"]).astype(np.float32) if info is None
             else rng.integers(info.min, info.max + 1, d["shape"]).astype(d["dtype"]))
        full.set_tensor(d["index"], x)
    full.invoke()
    value = {d["name"]: full.get_tensor(d["index"]) for d in full.get_tensor_details() if d["name"]}
    cut = list(split_ops(path.read_bytes()))
    assert cut and all(isinstance(c[3], bytes) for c in cut)
    for i, kind, shape, content in cut:
        one = Interpreter(model_content=content, experimental_op_resolver_type=builtin)
        one.allocate_tensors()
        for d in one.get_input_details():
            one.set_tensor(d["index"], value[d["name"]])
        one.invoke()
        outs = one.get_output_details()
        assert tuple(outs[0]["shape"]) == shape, (i, kind)
        for d in outs:
            np.testing.assert_array_equal(one.get_tensor(d["index"]), value[d["name"]], err_msg=f"op {i} {kind}")


def test_bench_ops_entry_point():
    cmd = [sys.executable, "-m", "bench", "ops", str(ROOT / "tests" / "fixtures" / "convnet_dr.tflite"),
           "--runs", "3", "--warmup", "1"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "## By op type" in out.stdout and "invoke overhead" in out.stdout
    assert "CONV_2D" in out.stdout


def test_results_keep_the_part_below_the_marker(tmp_path):
    """python -m bench rewrites RESULTS.md above the KEEP marker only; bench scaling
    replaces its own section there (and adds the marker if the file has none)."""
    from bench import run, scaling
    md = tmp_path / "RESULTS.md"
    md.write_text("old tables\n" + run.KEEP + "\n## GEMM\nhand-written\n")
    meta = {"loadavg_start": (0.1, 0.1, 0.1), "loadavg_end": (0.2, 0.2, 0.2), "command": "x", "date": "d",
            "machine": {"cpu": "c", "cores": 2, "python": "3", "numpy": "n", "numba": "n", "ai_edge_litert": "a",
                        "numba_infer": "v"}, "warmup": 1, "runs": 2, "probe_start": 1.0, "probe_end": 1.0,
            "wall_s": 1.0}
    rec = {"model": "m_fp32", "threads": 1, "runtime": "numba_infer", "config": "auto/xnnpack", "precision": "auto",
           "numerics": "xnnpack", "effective_precision": "fp32", "median_ms": 2.0, "min_ms": 1.0, "runs": 2,
           "prepare_s": 0.1, "error": None, "ratio_xnnpack": 0.5, "ratio_builtin": None, "vs_auto": None,
           "diff": None}
    run.write_markdown(md, [rec], [], meta)
    text = md.read_text()
    assert "old tables" not in text and text.endswith(run.KEEP + "\n## GEMM\nhand-written\n")
    assert "| m | 0.50 | — | — | — | — |" in text                 # the derived one-thread table
    for body in ("first", "second"):
        scaling.save(md, scaling.section(body, {"command": "c", "date": "d", "threads": 2, "rounds": 1, "block": 1,
                                                "load0": 0.0, "load1": 0.0}))
    text = md.read_text()
    assert text.count(scaling.START) == 1 and "second" in text and "first" not in text
    assert text.index(run.KEEP) < text.index(scaling.START) and "hand-written" in text
    bare = tmp_path / "bare.md"
    scaling.save(bare, scaling.section("x", {"command": "c", "date": "d", "threads": 2, "rounds": 1, "block": 1,
                                             "load0": 0.0, "load1": 0.0}))
    assert bare.read_text().index(run.KEEP) < bare.read_text().index(scaling.START)


def test_bench_scaling_entry_point():
    cmd = [sys.executable, "-m", "bench", "scaling", str(MODEL), "--rounds", "2", "--block", "2", "--no-save"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [ln for ln in out.stdout.splitlines() if ln.startswith("| hello_world_float | ")]
    assert {ln.split("|")[2].strip() for ln in rows} == {"numba_infer", "LiteRT"}
    for ln in rows:
        t1, tn, speedup = (float(c.strip().strip("*")) for c in ln.split("|")[3:6])
        assert t1 > 0 and tn > 0 and speedup > 0          # (ms rounded to 3 decimals: no ratio check here)
