"""kernels/_jit.py: every numba_infer function realigns its stack to 64 bytes.

Why it matters (measured, see align_stack's docstring): a kernel that spills
zmm registers ran up to 2x slower in 3 of 4 stack alignments, and which one a
call got depended on the caller's stack depth.  These tests check the
mechanism, not the speed: the attribute is set on our functions only, LLVM
turns it into a realigning prologue, and real kernels compiled through Numba
get it.
"""
import numpy as np
import numba
import pytest
from llvmlite import binding as llvm
from llvmlite import ir
from numba.core import codegen

from numba_infer.kernels import _jit
from numba_infer.kernels import softmax


def _module_with_spill(name):
    """A function that keeps a <16 x float> live across a call: it must spill it."""
    mod = ir.Module(name="t")
    vec = ir.VectorType(ir.FloatType(), 16)
    ptr = ir.PointerType(vec)
    callee = ir.Function(mod, ir.FunctionType(ir.VoidType(), []), name="opaque")
    fn = ir.Function(mod, ir.FunctionType(ir.VoidType(), [ptr]), name=name)
    b = ir.IRBuilder(fn.append_basic_block())
    v = b.load(fn.args[0], align=64)
    b.call(callee, [])
    b.store(v, fn.args[0], align=64)
    b.ret_void()
    return mod


def _host_asm(mod):
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    m = llvm.parse_assembly(str(mod))
    tm = llvm.Target.from_default_triple().create_target_machine(
        cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten())
    return tm.emit_assembly(m)


def test_align_stack_marks_only_numba_infer_functions():
    ours = _jit.align_stack(_module_with_spill("_ZN11numba_infer7kernels1fE"))
    theirs = _jit.align_stack(_module_with_spill("_ZN4user1fE"))
    assert ours.get_global("_ZN11numba_infer7kernels1fE").attributes.alignstack == 64
    assert ours.get_global("opaque").attributes.alignstack == 0          # a declaration
    assert theirs.get_global("_ZN4user1fE").attributes.alignstack == 0
    # llvmlite prints the attribute only when the set is not empty otherwise
    assert "alignstack(64)" in str(ours)
    assert "alignstack" not in str(theirs)


@pytest.mark.skipif(llvm.get_process_triple().split("-")[0] != "x86_64", reason="x86-64 prologue")
def test_llvm_realigns_the_marked_function():
    ours = _host_asm(_jit.align_stack(_module_with_spill("_ZN11numba_infer7kernels1fE")))
    theirs = _host_asm(_module_with_spill("_ZN11numba_infer7kernels1fE"))
    assert "andq\t$-64, %rsp" in ours
    assert "andq\t$-64, %rsp" not in theirs


def test_hook_installed_once():
    assert getattr(codegen.CPUCodeLibrary.add_ir_module, "_numba_infer_align_stack", False)
    before = codegen.CPUCodeLibrary.add_ir_module
    _jit._install_align_stack()
    assert codegen.CPUCodeLibrary.add_ir_module is before


@pytest.mark.skipif(llvm.get_process_triple().split("-")[0] != "x86_64", reason="x86-64 prologue")
def test_compiled_kernel_realigns_its_stack():
    # a fresh, uncached dispatcher on a real kernel (its mangled name is ours):
    # the softmax keeps vectors live across its per-row helper call
    fn = numba.njit(softmax.softmax_f32_rows_xnn.py_func)
    x = np.random.default_rng(0).standard_normal((3, 64)).astype(np.float32)
    out = np.empty_like(x)
    fn(x, out)
    asm = fn.inspect_asm(fn.signatures[0])
    assert "andq\t$-64, %rsp" in asm
    e = np.exp(x - x.max(axis=1, keepdims=True))
    np.testing.assert_allclose(out, e / e.sum(axis=1, keepdims=True), rtol=1e-6)


def test_prune_caches_keeps_current_and_recent(tmp_path):
    """Old kernel-source versions' cache directories are removed, the current one
    and the KEEP most recently used others stay, unrelated entries are untouched."""
    import os
    names = [f"0.68.1-{i:016x}" for i in range(6)]
    for age, n in enumerate(names):                   # names[0] most recent
        d = tmp_path / n
        (d / "sub").mkdir(parents=True)
        (d / "sub" / "k.nbc").write_bytes(b"x" * 10)
        t = 1_000_000 - 1000 * age
        os.utime(d, (t, t))
    (tmp_path / "notes").mkdir()
    (tmp_path / "README").write_text("mine")
    current = str(tmp_path / "0.68.1-ffffffffffffffff")   # new: created and touched
    removed = _jit.prune_caches(current, keep=2)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert sorted(os.path.basename(p) for p in removed) == sorted(names[2:])
    assert left == sorted(names[:2] + ["0.68.1-ffffffffffffffff", "notes", "README"])
    # the current directory was the oldest: it is touched, so it is never pruned
    os.utime(current, (1, 1))
    assert _jit.prune_caches(current, keep=0) == [str(tmp_path / n) for n in names[:2]]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0.68.1-ffffffffffffffff", "README", "notes"]
