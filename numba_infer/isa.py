"""Host instruction-set detection, done once at import, before any kernel that
uses a target-specific intrinsic is compiled.

Compiling ``llvm.x86.avx512.vpdpbusd.512`` for a CPU without AVX512-VNNI
aborts the whole process inside LLVM (PERF_NOTES.md §3), so the VNNI kernels
live in their own module (``kernels/_ukernels_qd8_vnni.py``) that is imported
only when :data:`VNNI` is true.

``NUMBA_INFER_ISA=generic`` forces the portable plain-Numba paths (tests use
it to cover both paths on a VNNI machine).  Numba compiles for
``NUMBA_CPU_NAME`` / ``NUMBA_CPU_FEATURES`` when they are set, so those win
over the host's own feature list.
"""
from __future__ import annotations

import os

import numba


def _features() -> set[str]:
    feats = numba.config.CPU_FEATURES
    if feats is None:
        if numba.config.CPU_NAME not in (None, "host"):
            return set()          # a named CPU without a feature list: assume nothing
        import llvmlite.binding as llvm
        feats = llvm.get_host_cpu_features().flatten()
    return {f[1:] for f in str(feats).split(",") if f.startswith("+")}


FEATURES = frozenset(_features())
FORCED = os.environ.get("NUMBA_INFER_ISA", "").strip().lower()
if FORCED not in ("", "generic", "native"):
    raise ValueError(f"NUMBA_INFER_ISA={FORCED!r}: expected 'generic' or 'native'")
# int8 dot products: AVX512-VNNI (vpdpbusd on zmm)
VNNI = FORCED != "generic" and {"avx512f", "avx512bw", "avx512vnni"} <= FEATURES
NAME = "avx512vnni" if VNNI else "generic"
# AVX-512F: LiteRT's XNNPack computes RSQRT with vrsqrt14 here (numerics="xnnpack" matches it)
AVX512F = FORCED != "generic" and "avx512f" in FEATURES

# byte permutes: AVX512-VBMI (vpermi2b / vpermt2b on zmm) -- 8-bit table lookups (kernels/qelementwise_vbmi.py)
VBMI = FORCED != "generic" and {"avx512f", "avx512bw", "avx512vbmi"} <= FEATURES
