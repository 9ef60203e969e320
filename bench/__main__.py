"""python -m bench [MODEL ...] [options]   side-by-side latency vs LiteRT (bench/run.py)
python -m bench gemm [options]          GEMM microbenchmark (bench/gemm.py)
python -m bench startup [MODEL]         cold / warm fresh-process start (bench/startup.py)
python -m bench peak                    this core's in-register fp32 / int8 peak, measured now (bench/peak.py)
python -m bench ops MODEL               every op alone, ours vs LiteRT (bench/ops.py)
python -m bench scaling [MODEL ...]     1 vs 2 threads, both runtimes interleaved in one phase (bench/scaling.py)
"""
import sys


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "gemm":
        from . import gemm
        return gemm.main(argv[1:], prog="python -m bench gemm")
    if argv and argv[0] == "startup":
        from . import startup
        return startup.main(argv[1:], prog="python -m bench startup")
    if argv and argv[0] == "peak":
        from . import peak
        return peak.main(argv[1:], prog="python -m bench peak")
    if argv and argv[0] == "ops":
        from . import ops
        return ops.main(argv[1:], prog="python -m bench ops")
    if argv and argv[0] == "scaling":
        from . import scaling
        return scaling.main(argv[1:], prog="python -m bench scaling")
    if argv and argv[0] in ("run", "models"):
        argv = argv[1:]
    from . import run
    return run.main(argv, prog="python -m bench")


if __name__ == "__main__":
    sys.exit(main())
