"""bound_kernel / chain (numba_infer/ops/common.py): a step bound to the compiled
overload's entry point gives the same results as the plain dispatcher call,
without calling the dispatcher; defaults, read-only arrays, scalars and 0-d
arrays get the types the dispatcher would give them; anything that is not a
Numba dispatcher (NUMBA_DISABLE_JIT, a plain function) is bound as it is."""
import functools
import os
import subprocess
import sys
import textwrap

import numba
import numpy as np
import pytest
from numba.core import types

import numba_infer
from numba_infer.ops.common import bound_kernel, chain
from tflite_build import ModelBuilder, run_litert


@numba.njit(nogil=True)
def _axpy(x, s, out, add=np.float32(0.0), neg=False):
    for i in range(x.size):
        v = x[i] * s + add
        out[i] = -v if neg else v


@numba.njit(nogil=True)
def _mixed(x, s32, i64, flag, n, f, z, out):
    # read-only x, np.float32 / np.int64 / bool / Python int / Python float scalars, a 0-d array
    for i in range(out.size):
        v = x[i] * s32 + np.float32(i64 + n) + np.float32(f) + z[()]
        out[i] = v if flag else -v
    return out.size


def _entry_point(disp, sig):
    return disp.overloads[tuple(sig)].entry_point


def test_binds_the_entry_point_not_the_dispatcher():
    x = np.arange(7, dtype=np.float32)
    got, want = np.zeros(7, np.float32), np.zeros(7, np.float32)
    step = bound_kernel(_axpy, x, np.float32(3), got, np.float32(1), True)
    assert isinstance(step, functools.partial)
    assert step.func is not _axpy and not isinstance(step.func, numba.core.dispatcher.Dispatcher)
    sig = [_axpy.typeof_pyval(v) for v in (x, np.float32(3), got, np.float32(1), True)]
    assert step.func is _entry_point(_axpy, sig)
    step()
    _axpy(x, np.float32(3), want, np.float32(1), True)
    np.testing.assert_array_equal(got, want)
    x[:] = 2                       # the step reads the bound buffers at call time
    step()
    np.testing.assert_array_equal(got, np.full(7, -7, np.float32))


def test_defaults_use_the_dispatchers_omitted_specialization():
    x = np.linspace(-2, 2, 9, dtype=np.float32)
    want = np.zeros(9, np.float32)
    _axpy(x, np.float32(0.5), want)                   # the dispatcher folds add, neg -> Omitted(default)
    n_before = len(_axpy.overloads)
    got = np.zeros(9, np.float32)
    step = bound_kernel(_axpy, x, np.float32(0.5), got)
    assert len(_axpy.overloads) == n_before           # same specialization, nothing compiled
    omitted = [_axpy.typeof_pyval(x), types.float32, _axpy.typeof_pyval(got), types.Omitted(np.float32(0.0)),
               types.Omitted(False)]
    assert step.func is _entry_point(_axpy, omitted)
    step()
    np.testing.assert_array_equal(got, want)
    # keywords, some defaults given and some left out
    got[:] = 0
    bound_kernel(_axpy, x, np.float32(0.5), got, neg=True)()
    _axpy(x, np.float32(0.5), want, neg=True)
    np.testing.assert_array_equal(got, want)


def test_read_only_arrays_scalars_and_0d_arrays():
    x = np.arange(5, dtype=np.float32) - 2
    x.flags.writeable = False
    z = np.array(0.25, np.float32)
    args = (x, np.float32(1.5), np.int64(3), True, 4, 0.5, z)
    want = np.zeros(5, np.float32)
    assert _mixed(*args, want) == 5
    got = np.zeros(5, np.float32)
    step = bound_kernel(_mixed, *args, got)
    assert step() == 5                                # return values come back too
    np.testing.assert_array_equal(got, want)
    sig = [_mixed.typeof_pyval(v) for v in args + (got,)]
    assert sig[0].mutable is False and sig[6].ndim == 0
    assert step.func is _entry_point(_mixed, sig)


def test_wrong_arguments_fail_at_bind():
    with pytest.raises(TypeError):
        bound_kernel(_axpy, np.zeros(3, np.float32))
    with pytest.raises(TypeError):
        bound_kernel(_axpy, np.zeros(3, np.float32), np.float32(1), np.zeros(3, np.float32), bogus=1)


def test_a_library_kernel_same_bits():
    from numba_infer.kernels.elementwise import cast
    x = np.array([-2.7, -0.5, 0.0, 0.5, 2.7, 1e9, -1e9], np.float32)
    got, want = np.zeros(7, np.int32), np.zeros(7, np.int32)
    step = bound_kernel(cast, x, got)
    assert step.func is not cast
    step()
    cast(x, want)
    np.testing.assert_array_equal(got, want)


def test_plain_functions_are_bound_as_they_are():
    calls = []

    def plain(a, b=2):
        calls.append((a, b))
    step = bound_kernel(plain, 1, b=3)
    assert isinstance(step, functools.partial) and step.func is plain
    step()
    assert calls == [(1, 3)]
    out = np.zeros(3)
    bound_kernel(np.copyto, out, np.ones(3))()
    np.testing.assert_array_equal(out, np.ones(3))


def test_disable_jit_falls_back_to_a_plain_partial():
    code = textwrap.dedent("""
        import functools
        import numpy as np
        from numba_infer.kernels.elementwise import cast
        from numba_infer.ops.common import bound_kernel
        x, o = np.array([1.5, -2.5], np.float32), np.zeros(2, np.int32)
        step = bound_kernel(cast, x, o)
        assert isinstance(step, functools.partial) and step.func is cast, step
        step()
        assert o.tolist() == [1, -2], o
        print("ok")
    """)
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_chain_calls_in_order_and_skips_none():
    seen = []
    steps = [functools.partial(seen.append, k) for k in range(5)]
    assert chain(steps[0]) is steps[0]
    assert chain(None, steps[1], None) is steps[1]
    for n in (2, 3, 5):
        seen.clear()
        chain(*steps[:n])()
        assert seen == list(range(n))
    seen.clear()
    chain()()
    assert seen == []


def test_model_steps_are_bound_entry_points(rng):
    """A small float model: every single-kernel step is a partial over a compiled entry
    point (no dispatcher in the run loop), and the outputs still match LiteRT."""
    b = ModelBuilder()
    x = b.input((2, 8, 16))
    y = b.tensor((2, 8, 16))
    z = b.tensor((2, 8, 16))
    b.op("ADD", [x, b.const(rng.standard_normal(16).astype(np.float32))], [y],
         options={"fused_activation_function": 0})
    b.op("LOGISTIC", [y], [z])
    model = b.build(outputs=[z])
    feed = rng.standard_normal((2, 8, 16)).astype(np.float32)
    m = numba_infer.load(model, num_threads=1)
    fns = [s.fn for s in m.plan.steps]
    assert len(fns) == 2
    for fn in fns:
        assert isinstance(fn, functools.partial)
        assert not isinstance(fn.func, numba.core.dispatcher.Dispatcher)
        assert type(fn.func).__name__ == "builtin_function_or_method"      # the compiled wrapper
    got = m(feed)
    want = run_litert(model, [feed])[0]
    np.testing.assert_array_equal(next(iter(got.values())), want)
