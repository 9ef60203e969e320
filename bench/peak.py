"""In-register peak of this core, measured now: the roofline the GEMM rows are read against.

    python -m bench peak

16 independent 16-lane accumulator chains, no memory traffic, through the same
explicit-SIMD intrinsics the kernels use (kernels/simd.py): ``vfma`` ->
``vfmadd231ps zmm`` (2 x 16 FLOP per instruction) and, with AVX512-VNNI,
``vdpbusd`` -> ``vpdpbusd zmm`` (2 x 64 OP per instruction).  16 chains
cover the FMA latency x the number of FMA pipes on the x86 cores we know.

PERF_NOTES.md §0 quotes 236-241 GFLOP/s and 948-959 GOP/s for one core of
this machine type; a shared or throttled host reaches less, so bench/gemm.py
reports each rate against both that figure and this run's measurement.
"""
from __future__ import annotations

import sys
import time

import numba
import numpy as np

from numba_infer import isa
from numba_infer.kernels.simd import vadd, vadd_i32, vcvt_f32, vdpbusd, vfma, vreduce_add, vsplat, vsplat_i32

ITERS = 1 << 16
CHAINS = 16


@numba.njit(nogil=True, fastmath=False)
def _fma_chains(n, x):
    a = vsplat(np.float32(1.0000001))
    b = vsplat(x)
    c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = vsplat(np.float32(0))
    c8 = c9 = c10 = c11 = c12 = c13 = c14 = c15 = vsplat(np.float32(0))
    for _ in range(n):
        c0 = vfma(a, c0, b)
        c1 = vfma(a, c1, b)
        c2 = vfma(a, c2, b)
        c3 = vfma(a, c3, b)
        c4 = vfma(a, c4, b)
        c5 = vfma(a, c5, b)
        c6 = vfma(a, c6, b)
        c7 = vfma(a, c7, b)
        c8 = vfma(a, c8, b)
        c9 = vfma(a, c9, b)
        c10 = vfma(a, c10, b)
        c11 = vfma(a, c11, b)
        c12 = vfma(a, c12, b)
        c13 = vfma(a, c13, b)
        c14 = vfma(a, c14, b)
        c15 = vfma(a, c15, b)
    s = vadd(vadd(vadd(c0, c1), vadd(c2, c3)), vadd(vadd(c4, c5), vadd(c6, c7)))
    s = vadd(s, vadd(vadd(vadd(c8, c9), vadd(c10, c11)), vadd(vadd(c12, c13), vadd(c14, c15))))
    return vreduce_add(s)


def _dpbusd_chains_py(n, x):
    a = vsplat_i32(np.int32(0x01010101))
    b = vsplat_i32(x)
    c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = vsplat_i32(np.int32(0))
    c8 = c9 = c10 = c11 = c12 = c13 = c14 = c15 = vsplat_i32(np.int32(0))
    for _ in range(n):
        c0 = vdpbusd(c0, a, b)
        c1 = vdpbusd(c1, a, b)
        c2 = vdpbusd(c2, a, b)
        c3 = vdpbusd(c3, a, b)
        c4 = vdpbusd(c4, a, b)
        c5 = vdpbusd(c5, a, b)
        c6 = vdpbusd(c6, a, b)
        c7 = vdpbusd(c7, a, b)
        c8 = vdpbusd(c8, a, b)
        c9 = vdpbusd(c9, a, b)
        c10 = vdpbusd(c10, a, b)
        c11 = vdpbusd(c11, a, b)
        c12 = vdpbusd(c12, a, b)
        c13 = vdpbusd(c13, a, b)
        c14 = vdpbusd(c14, a, b)
        c15 = vdpbusd(c15, a, b)
    s = vadd_i32(vadd_i32(vadd_i32(c0, c1), vadd_i32(c2, c3)), vadd_i32(vadd_i32(c4, c5), vadd_i32(c6, c7)))
    s = vadd_i32(s, vadd_i32(vadd_i32(vadd_i32(c8, c9), vadd_i32(c10, c11)),
                             vadd_i32(vadd_i32(c12, c13), vadd_i32(c14, c15))))
    return vreduce_add(vcvt_f32(s))


# compiled only on hosts with AVX512-VNNI (compiling vpdpbusd elsewhere aborts the process)
_dpbusd_chains = numba.njit(nogil=True)(_dpbusd_chains_py) if isa.VNNI else None


def _best_rate(fn, arg, ops_per_iter, min_time, repeats):
    fn(8, arg)
    best = 0.0
    for _ in range(repeats):
        n, t0 = 0, time.perf_counter()
        while True:
            fn(ITERS, arg)
            n += 1
            t = time.perf_counter() - t0
            if t >= min_time:
                break
        best = max(best, n * ITERS * ops_per_iter / t / 1e9)
    return best


def measure(min_time=0.1, repeats=5):
    """{'f32': GFLOP/s, 'i8': GOP/s or None without VNNI}, one thread, best of repeats."""
    f32 = _best_rate(_fma_chains, np.float32(1e-7), CHAINS * 32, min_time, repeats)
    i8 = _best_rate(_dpbusd_chains, np.int32(0x01020304), CHAINS * 128, min_time, repeats) if _dpbusd_chains else None
    return {"f32": f32, "i8": i8}


def cpu_desc():
    """'znver4, AMD EPYC family 25 model 17' (LLVM's host CPU name; /proc/cpuinfo where present)."""
    import llvmlite.binding as llvm
    desc = llvm.get_host_cpu_name()
    try:
        info = dict(line.split(":", 1) for line in open("/proc/cpuinfo").read().split("\n\n")[0].splitlines()
                    if ":" in line)
        info = {k.strip(): v.strip() for k, v in info.items()}
        desc += f", {info.get('model name', '?')} family {info.get('cpu family', '?')} model {info.get('model', '?')}"
    except OSError:
        pass
    return desc


def main(argv=None, prog=None):
    print(f"CPU: {cpu_desc()}")
    p = measure()
    i8 = f"{p['i8']:.0f} GOP/s" if p["i8"] else "n/a (no AVX512-VNNI)"
    print(f"in-register peak, one core, now: fp32 FMA {p['f32']:.0f} GFLOP/s; vpdpbusd {i8}")
    return 0


if __name__ == "__main__":
    sys.exit(main(prog="python -m bench peak"))
