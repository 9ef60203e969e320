"""The single place for kernel decorator policy.

Every kernel in this package is decorated with :func:`kernel`, which is
``numba.njit(cache=True, nogil=True)`` plus an explicit fastmath flag set.

Numba's on-disk cache does not notice when a helper defined in *another*
module changes, so a cached caller could silently keep stale code.  We
therefore key the cache directory on a hash of every kernel source file:
any edit anywhere in ``kernels/`` moves the cache to a fresh directory.
``NUMBA_CACHE_DIR`` set by the user wins.  Directories of old versions are
pruned (prune_caches), keeping the few most recently used.
"""
import hashlib
import os
import re
import shutil
from pathlib import Path

import numba

# Float kernels may reassociate signed zeros, use reciprocals and contract
# a*b+c into FMAs.  No 'reassoc' by default: reductions keep TFLite's order.
FAST_F32 = frozenset({"nsz", "arcp", "contract"})
# Integer / requantization kernels: no fastmath at all (bit-exact with TFLite).
EXACT = False


def _source_hash():
    h = hashlib.sha256()
    root = Path(__file__).parent
    for p in sorted(root.rglob("*.py")):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


KEEP_CACHES = 3          # older kernel-source versions whose compiled kernels stay on disk


def _cache_dir():
    base = os.environ.get("NUMBA_INFER_CACHE_DIR")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(xdg, "numba_infer")
    return os.path.join(base, f"{numba.__version__}-{_source_hash()}")


_VERSION_DIR = re.compile(r"^\d+\.\d+[^-/]*-[0-9a-f]{16}$")


def prune_caches(current, keep=KEEP_CACHES):
    """Delete the compiled kernels of old kernel-source versions next to ``current``.

    Every edit of kernels/ (and every upgrade) starts a fresh cache directory
    of ~50 MB, and nothing else ever removes the old ones.  ``current`` is
    touched (it is the one in use) and the ``keep`` most recently used other
    version directories stay, so a second installed version running now keeps
    its cache; only directories named like ours (numba version-hash) are
    considered.  Returns the removed paths."""
    parent = os.path.dirname(current)
    try:
        os.makedirs(current, exist_ok=True)
        os.utime(current)
        names = [n for n in os.listdir(parent) if _VERSION_DIR.match(n)]
    except OSError:
        return []
    paths = [os.path.join(parent, n) for n in names if os.path.join(parent, n) != current]

    def used(p):
        try:
            return os.stat(p).st_mtime
        except OSError:
            return 0.0
    stale = sorted(paths, key=used, reverse=True)[keep:]
    for p in stale:
        shutil.rmtree(p, ignore_errors=True)
    return stale


def align_stack(ir_module, align=64):
    """Give every numba_infer function defined in ir_module LLVM's
    ``alignstack(align)``: its prologue realigns the stack pointer, so the
    64-byte vector spill slots are 64-byte aligned.  Without it a kernel that
    spills zmm registers (around a helper call, or under register pressure)
    sees only the ABI's 16 bytes: in 3 of 4 stack alignments the 64-byte
    spills straddle two cache lines and their reloads cannot be forwarded from
    the pending stores, and which alignment a call gets depends on the caller's
    stack depth (ASLR, Python's C frames).  Measured on this Zen 4: the XNNPack
    SOFTMAX kernel on 256 rows of 64 took 8.5 or 15.4 us depending only on the
    depth it was called from; realigned, 8.5 at every depth.  (``nounwind`` is
    added as well: llvmlite prints no attributes for a function whose attribute
    set is otherwise empty, alignstack included; nopython functions return
    their errors and never unwind.)  Numba's parfor gufuncs (the bodies of
    prange loops) get it too: their names do not carry the module's."""
    for fn in ir_module.functions:
        if not fn.is_declaration and ("numba_infer" in fn.name or "parfor_gufunc" in fn.name):
            fn.attributes.alignstack = align
            fn.attributes.add("nounwind")
    return ir_module


def _install_align_stack():
    """Apply align_stack to every module Numba compiles in this process
    (CPUCodeLibrary.add_ir_module is where lowered IR enters LLVM), once."""
    from numba.core import codegen
    orig = codegen.CPUCodeLibrary.add_ir_module
    if getattr(orig, "_numba_infer_align_stack", False):
        return

    def add_ir_module(self, ir_module):
        return orig(self, align_stack(ir_module))
    add_ir_module._numba_infer_align_stack = True
    codegen.CPUCodeLibrary.add_ir_module = add_ir_module


_install_align_stack()

if not os.environ.get("NUMBA_CACHE_DIR"):
    numba.config.CACHE_DIR = _cache_dir()
    prune_caches(numba.config.CACHE_DIR)


def kernel(fn=None, *, fastmath=EXACT, parallel=False):
    """Decorate a kernel: njit(cache=True, nogil=True, fastmath=..., parallel=...).

    error_model="numpy": float division by zero gives inf/nan as in TFLite
    instead of raising ZeroDivisionError (and keeps the division loops
    vectorizable).  Integer kernels must guard their own divisions.
    """
    def wrap(f):
        flags = set(fastmath) if isinstance(fastmath, (set, frozenset)) else fastmath
        return numba.njit(cache=True, nogil=True, fastmath=flags, parallel=parallel,
                          error_model="numpy")(f)
    return wrap(fn) if fn is not None else wrap
