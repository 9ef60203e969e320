"""Layer normalization over the last axis, as the float32 op chain TFLite converters
emit for Keras LayerNormalization, computed row by row in one kernel.

The chain (numba_infer/fuse.py finds it), per row of c elements, where x is the
input or, with a residual, x = a + b:

    mean = MEAN(x)              v_i = (x_i - mean) * (x_i - mean)     var = MEAN(v)
    r    = RSQRT(var + eps)     g_i = r * gamma_i                      p_i = x_i * g_i
    o_i  = (-mean) * g_i        (or, with beta: beta_i - mean * g_i)   y_i = p_i + o_i

Every value is the float32 result of the same single IEEE operation, in the same
order, as the separate kernels compute it (no FMA contraction: no fastmath here),
so the fused result is bit-identical to the unfused ops:

- MEAN (mode): MEAN_XNN = kernels/reduce.py mean_f32_xnn with inner == 1 (XNNPack's
  rsum: two 16-lane accumulators, its lane fold, times float32(1 / c));
  MEAN_EIGEN = mean_f32_rows_eigen (Eigen's redux of row j, whose first (-j*c) % 4
  elements are its unaligned head, then / c); MEAN_SEQ = mean_f32_general
  (left to right from the first term, then / c).
- RSQRT: layer_norm_f32 uses 1 / sqrt(x) (kernels/elementwise.py unary_f32);
  layer_norm_f32_xnn the AVX-512 rsqrt14 + Newton-Raphson step of rsqrt_f32_xnn.
  Call layer_norm_f32_xnn only on AVX-512F hosts (numba_infer.isa.AVX512F).
- the binary ops: 16-lane vectors of plain fadd / fsub / fmul (kernels/simd.py).

Reference: kernels/reference/layernorm.py
"""
import math

import numpy as np

from ._jit import kernel
from .elementwise import _ftz, rsqrt14_f32
from .reduce import eigen_sum_f32
from .simd import LANES, vadd, vkeep_n, vload, vload_n, vmul, vreduce_add_halving, vsplat, vstore, vstore_n, vsub, vzero

MEAN_XNN, MEAN_EIGEN, MEAN_SEQ = 0, 1, 2


@kernel
def _rsqrt_xnn(x):
    """One element of kernels/elementwise.py rsqrt_f32_xnn (AVX-512F only)."""
    one = np.float32(1.0)
    half = np.float32(0.5)
    v = _ftz(x)
    t = rsqrt14_f32(v)
    t5 = _ftz(_ftz(_ftz(v * _ftz(t * t)) - one) * _ftz(half * t))
    y = _ftz(t - t5)
    return np.float32(0.0) if v == np.inf else y


def _make_layer_norm(XNN):
    """The kernel, RSQRT compiled in: XNN = rsqrt14 + Newton-Raphson, else 1 / sqrt.

    Three passes over the rows (each row's chain of dependent additions, lane folds and
    the rsqrt is long; rows of one pass are independent, so the CPU overlaps them):
    x and mean, then var and r, then the output.  (Blocks of rows kept in L1 across
    the passes measured no faster at 128 x 256.)  One flat loop nest: a helper taking
    arrays would pay NRT reference counting per row."""
    @kernel
    def layer_norm(a, b, gamma, beta, eps, mode, res, has_beta, ws, out):
        c = gamma.shape[0]
        rows = out.shape[0] // c
        nv = c - c % LANES                  # whole 16-lane vectors of a row
        tail = c - nv
        main = (c // 32) * 32               # rsum: pairs of vectors
        scale = np.float32(1.0) / np.float32(c)
        fc = np.float32(c)
        one = np.float32(1.0)
        x = out if res else a
        # ws: [0, c) squared terms (MEAN_EIGEN / MEAN_SEQ), then rows means, then rows r
        pm = c
        pr = c + rows
        for row in range(rows):
            base = row * c
            if mode == MEAN_XNN:             # mean_f32_xnn, inner == 1; x = a + b summed from registers
                a0 = vzero()
                a1 = vzero()
                for k in range(0, main, 32):
                    x0 = vload(a, base + k)
                    x1 = vload(a, base + k + 16)
                    if res:
                        x0 = vadd(x0, vload(b, base + k))
                        x1 = vadd(x1, vload(b, base + k + 16))
                        vstore(out, base + k, x0)
                        vstore(out, base + k + 16, x1)
                    a0 = vadd(a0, x0)
                    a1 = vadd(a1, x1)
                if nv > main:
                    x0 = vload(a, base + main)
                    if res:
                        x0 = vadd(x0, vload(b, base + main))
                        vstore(out, base + main, x0)
                    a0 = vadd(a0, x0)
                a0 = vadd(a0, a1)
                if tail:                     # absent lanes +0 (+0 + +0 with res)
                    x0 = vload_n(a, base + nv, tail)
                    if res:
                        x0 = vadd(x0, vload_n(b, base + nv, tail))
                        vstore_n(out, base + nv, x0, tail)
                    a0 = vadd(a0, x0)
                ws[pm + row] = vreduce_add_halving(a0) * scale
                continue
            if res:                          # x = a + b, kept in the output row
                for i in range(0, nv, LANES):
                    vstore(out, base + i, vadd(vload(a, base + i), vload(b, base + i)))
                if tail:
                    vstore_n(out, base + nv, vadd(vload_n(a, base + nv, tail), vload_n(b, base + nv, tail)), tail)
            if mode == MEAN_EIGEN:           # mean_f32_rows_eigen
                ws[pm + row] = eigen_sum_f32(x[base:base + c], (-row * c) % 4) / fc
            else:                            # mean_f32_general
                s = x[base]
                for i in range(1, c):
                    s = s + x[base + i]
                ws[pm + row] = s / fc
        for row in range(rows):
            base = row * c
            vm = vsplat(ws[pm + row])
            if mode == MEAN_XNN:             # the same MEAN of (x - mean)^2, terms computed on the fly
                a0 = vzero()
                a1 = vzero()
                for k in range(0, main, 32):
                    d0 = vsub(vload(x, base + k), vm)
                    d1 = vsub(vload(x, base + k + 16), vm)
                    a0 = vadd(a0, vmul(d0, d0))
                    a1 = vadd(a1, vmul(d1, d1))
                if nv > main:
                    d0 = vsub(vload(x, base + main), vm)
                    a0 = vadd(a0, vmul(d0, d0))
                a0 = vadd(a0, a1)
                if tail:                     # absent lanes +0, as a masked load of the stored terms
                    d0 = vsub(vload_n(x, base + nv, tail), vm)
                    a0 = vadd(a0, vkeep_n(vmul(d0, d0), tail))
                var = vreduce_add_halving(a0) * scale
            else:                            # the terms stored in ws[0:c], then the same MEAN
                for i in range(0, nv, LANES):
                    d0 = vsub(vload(x, base + i), vm)
                    vstore(ws, i, vmul(d0, d0))
                if tail:
                    d0 = vsub(vload_n(x, base + nv, tail), vm)
                    vstore_n(ws, nv, vmul(d0, d0), tail)
                if mode == MEAN_EIGEN:
                    var = eigen_sum_f32(ws[:c], (-row * c) % 4) / fc
                else:
                    var = ws[0]
                    for i in range(1, c):
                        var = var + ws[i]
                    var = var / fc
            if XNN:
                ws[pr + row] = _rsqrt_xnn(var + eps)
            else:
                ws[pr + row] = one / math.sqrt(var + eps)
        for row in range(rows):             # y = x * g + o, g = r * gamma, o = (-mean) * g or beta - mean * g
            base = row * c
            mean = ws[pm + row]
            vr = vsplat(ws[pr + row])
            vm = vsplat(mean)
            vn = vsplat(-mean)
            for i in range(0, nv, LANES):
                g = vmul(vr, vload(gamma, i))
                t = vmul(vload(x, base + i), g)
                if has_beta:
                    o = vsub(vload(beta, i), vmul(vm, g))
                else:
                    o = vmul(vn, g)
                vstore(out, base + i, vadd(t, o))
            if tail:
                g = vmul(vr, vload_n(gamma, nv, tail))
                t = vmul(vload_n(x, base + nv, tail), g)
                if has_beta:
                    o = vsub(vload_n(beta, nv, tail), vmul(vm, g))
                else:
                    o = vmul(vn, g)
                vstore_n(out, base + nv, vadd(t, o), tail)
    return layer_norm


layer_norm_f32 = _make_layer_norm(False)
layer_norm_f32.__doc__ = """out = layer norm of the rows of x (x = a, or a + b when res), RSQRT as 1 / sqrt.

a, b, out: flat float32, rows * c elements (b unused without res: pass a); gamma, beta:
float32 (c,) (beta unused without has_beta: pass gamma); eps: float32; mode: MEAN_XNN /
MEAN_EIGEN / MEAN_SEQ (int64); res, has_beta: bool; ws: float32 scratch of c + 2 * rows
elements; c >= 1.
"""
layer_norm_f32_xnn = _make_layer_norm(True)
layer_norm_f32_xnn.__doc__ = """layer_norm_f32 with RSQRT as XNNPack's rsqrt14 + one Newton-Raphson step
(kernels/elementwise.py rsqrt_f32_xnn).  AVX-512F hosts only."""
