"""Row-wise SOFTMAX / LOG_SOFTMAX over the last axis, float32."""
import math

import numpy as np

from ._jit import FAST_F32, kernel
from .activation import bits_f32, eigen_pexp16, eigen_pexp_f32, f32_bits, ftz
from .reduce import eigen_sum_f32
from .simd import (fma_f32, vadd, vdiv, vbits, vfma, vfrombits, vftz, vkeep_n, vload, vload_n, vmul, vsel_gt, vsel_lt,
                   vmax_lanes, vreduce_add_halving, vshl_i32, vsplat, vstore, vstore_n, vsub, vzero)


@kernel(fastmath=FAST_F32)
def softmax_f32_rows(x, beta, out):
    """out[r] = exp(beta*(x[r] - max x[r])) / sum(...), row by row.

    x, out: (rows, depth) float32, C-contiguous.  Numerics: max-subtracted,
    float32 exp and float32 sequential sum, as tflite reference_ops::Softmax;
    the normalisation multiplies by 1/sum.  Reference: kernels/reference/softmax.py
    """
    rows, depth = x.shape
    one = np.float32(1.0)
    for r in range(rows):
        xr = x[r]
        o = out[r]
        m = xr[0]
        for i in range(1, depth):
            m = xr[i] if xr[i] > m else m
        s = np.float32(0.0)
        for i in range(depth):
            e = math.exp((xr[i] - m) * beta)
            o[i] = e
            s += e
        inv = one / s
        for i in range(depth):
            o[i] = o[i] * inv


@kernel(fastmath=FAST_F32)
def log_softmax_f32_rows(x, out):
    """out[r] = x[r] - max x[r] - log(sum exp(x[r] - max x[r])), row by row.

    x, out: (rows, depth) float32, C-contiguous; float32 sum, as tflite
    reference_ops::LogSoftmax.  Reference: kernels/reference/softmax.py
    """
    rows, depth = x.shape
    for r in range(rows):
        xr = x[r]
        o = out[r]
        m = xr[0]
        for i in range(1, depth):
            m = xr[i] if xr[i] > m else m
        s = np.float32(0.0)
        for i in range(depth):
            s += math.exp(xr[i] - m)
        ls = math.log(s)
        for i in range(depth):
            o[i] = (xr[i] - m) - ls


# ---------------------------------------------------------------- XNNPack-exact SOFTMAX

_E_LOG2E = np.float32(float.fromhex("0x1.715476p+0"))
_E_MAGIC = np.float32(float.fromhex("0x1.8000FEp23"))          # 1.5 * 2**23 + 127
_E_MINUS_LN2_HI = np.float32(-float.fromhex("0x1.62E400p-1"))
_E_MINUS_LN2_LO = np.float32(-float.fromhex("0x1.7F7D1Cp-20"))
_E_C5 = np.float32(float.fromhex("0x1.0F9F9Cp-7"))
_E_C4 = np.float32(float.fromhex("0x1.573A1Ap-5"))
_E_C3 = np.float32(float.fromhex("0x1.555A80p-3"))
_E_C2 = np.float32(float.fromhex("0x1.FFFDC6p-2"))
_E_C1 = np.float32(float.fromhex("0x1.FFFFF6p-1"))
_E_CUTOFF = np.float32(-float.fromhex("0x1.5D589Ep6"))


@kernel
def exp_minus_xnn(x):
    """exp(x) for x <= 0 as XNNPack's f32-raddstoreexpminusmax avx512f_rr2_p5 (one lane):
    n = round(x * log2e) via a magic bias that also holds the exponent bias, s = 2**n built
    from its bits, two-step Cody-Waite reduction, degree-5 polynomial, f = fma(t*s, p, s),
    0 below the denormal cutoff; flush-to-zero as LiteRT runs."""
    nb = fma_f32(x, _E_LOG2E, _E_MAGIC)
    s = bits_f32(f32_bits(nb) << 23)
    n = nb - _E_MAGIC
    t = fma_f32(n, _E_MINUS_LN2_HI, x)
    t = fma_f32(n, _E_MINUS_LN2_LO, t)
    p = fma_f32(_E_C5, t, _E_C4)
    p = fma_f32(p, t, _E_C3)
    p = fma_f32(p, t, _E_C2)
    p = fma_f32(p, t, _E_C1)
    t = ftz(t * s)
    f = ftz(fma_f32(t, p, s))
    return np.float32(0.0) if x < _E_CUTOFF else f


@kernel
def _exp_minus16_xnn(x):
    """exp_minus_xnn(ftz(x)) on 16 lanes, x = x_i - max <= 0.  The input flush is not
    needed: a denormal x gives t = x, whose product t * s = x is flushed, so f = s = 1
    either way."""
    magic = vsplat(_E_MAGIC)
    nb = vfma(x, vsplat(_E_LOG2E), magic)
    s = vfrombits(vshl_i32(vbits(nb), 23))
    n = vsub(nb, magic)
    t = vfma(n, vsplat(_E_MINUS_LN2_HI), x)
    t = vfma(n, vsplat(_E_MINUS_LN2_LO), t)
    p = vfma(vsplat(_E_C5), t, vsplat(_E_C4))
    p = vfma(p, t, vsplat(_E_C3))
    p = vfma(p, t, vsplat(_E_C2))
    p = vfma(p, t, vsplat(_E_C1))
    t = vftz(vmul(t, s))
    f = vftz(vfma(t, p, s))
    return vsel_lt(x, vsplat(_E_CUTOFF), vzero(), f)


@kernel
def _exp_minus16_fast(x):
    """_exp_minus16_xnn without its flushes and cutoff select, for lanes x >= _FAST_T
    (or NaN): there s >= 2**-93 and neither t * s nor the result is ever denormal, so
    the removed operations are identities (checked on every float32 in [_FAST_T, 0]
    and NaN: tests/kernels/test_kernels_softmax.py)."""
    magic = vsplat(_E_MAGIC)
    nb = vfma(x, vsplat(_E_LOG2E), magic)
    s = vfrombits(vshl_i32(vbits(nb), 23))
    n = vsub(nb, magic)
    t = vfma(n, vsplat(_E_MINUS_LN2_HI), x)
    t = vfma(n, vsplat(_E_MINUS_LN2_LO), t)
    p = vfma(vsplat(_E_C5), t, vsplat(_E_C4))
    p = vfma(p, t, vsplat(_E_C3))
    p = vfma(p, t, vsplat(_E_C2))
    p = vfma(p, t, vsplat(_E_C1))
    return vfma(vmul(t, s), p, s)


# rows whose x - max all stay >= this take the flush-free exp (_exp_minus16_fast); their
# outputs e * (1/sum) >= exp(-64) / depth are normal too (depth < 2**30)
_FAST_T = np.float32(-64.0)


@kernel
def _row_range(x, r, depth):
    """(max, min) of row r of the C-contiguous (rows, depth) x.  The max as the scan
    m = x[r, 0]; m = x_i if x_i > m else m (NaN after x[r, 0] ignored; x[r, 0] NaN gives
    NaN; which zero a max of +-0 is doesn't matter to any caller), the min likewise with
    <; four independent accumulator pairs per 64 elements (vmaxps / vminps chains),
    then across the lanes.  The min only decides the fast path: any NaN it returns
    sends the row to the exact path."""
    base = r * depth
    m = x[r, 0]
    whole = depth - depth % 16
    if whole == 0:
        mn = m
        for i in range(1, depth):
            v = x[r, i]
            m = v if v > m else m
            mn = v if v < mn else mn
        return m, mn
    a0 = vsplat(m)
    a1 = a0
    a2 = a0
    a3 = a0
    b0 = a0
    b1 = a0
    b2 = a0
    b3 = a0
    main = depth - depth % 64
    for i in range(0, main, 64):
        v0 = vload(x, base + i)
        v1 = vload(x, base + i + 16)
        v2 = vload(x, base + i + 32)
        v3 = vload(x, base + i + 48)
        a0 = vsel_gt(v0, a0, v0, a0)
        a1 = vsel_gt(v1, a1, v1, a1)
        a2 = vsel_gt(v2, a2, v2, a2)
        a3 = vsel_gt(v3, a3, v3, a3)
        b0 = vsel_lt(v0, b0, v0, b0)
        b1 = vsel_lt(v1, b1, v1, b1)
        b2 = vsel_lt(v2, b2, v2, b2)
        b3 = vsel_lt(v3, b3, v3, b3)
    for i in range(main, whole, 16):
        v = vload(x, base + i)
        a0 = vsel_gt(v, a0, v, a0)
        b0 = vsel_lt(v, b0, v, b0)
    if whole < depth:
        v = vload(x, base + depth - 16)      # overlaps the last block: harmless for max / min
        a0 = vsel_gt(v, a0, v, a0)
        b0 = vsel_lt(v, b0, v, b0)
    a0 = vsel_gt(a1, a0, a1, a0)
    a2 = vsel_gt(a3, a2, a3, a2)
    a0 = vsel_gt(a2, a0, a2, a0)
    b0 = vsel_lt(b1, b0, b1, b0)
    b2 = vsel_lt(b3, b2, b3, b2)
    b0 = vsel_lt(b2, b0, b2, b0)
    # every lane NaN iff x[r, 0] is NaN; the min as -max(-b0) (any NaN lane only sends
    # the row to the exact path)
    return vmax_lanes(a0), -vmax_lanes(vsub(vzero(), b0))


@kernel
def softmax_f32_rows_xnn(x, out):
    """SOFTMAX (beta = 1) over rows as LiteRT's XNNPack delegate on AVX-512: m = max,
    e_i = exp_minus_xnn(x_i - m) summed as avx512f_rr2_p5_u64_acc2 does (lane j of two
    16-lane accumulators takes e[64b + j] and e[64b + 32 + j] into the first, e[64b + 16 + j]
    and e[64b + 48 + j] into the second; they are added, then whole 16-blocks and the masked
    tail are added lane-wise; the lanes fold as (j, j+8), (j, j+4), (0, 2) (1, 3), halves),
    then out_i = e_i * (1 / sum).  16 lanes at a time (generic vector IR, any host); the max
    is taken per lane from x[0] on (NaN after x[0] ignored, as the scalar scan), which gives
    the row maximum up to the sign of a zero, which no result depends on.  A row whose
    x_i - m all stay >= _FAST_T (the row min tells, from the same pass as the max) runs
    without the flush-to-zero emulation (_exp_minus16_fast, no flush of the products):
    the same bits, ~25% fewer vector operations.
    x, out: (rows, depth) float32, C-contiguous; out may alias x; the lane sums stay in
    registers.  No fastmath.  Reference: kernels/reference/softmax.py
    """
    rows, depth = x.shape
    one = np.float32(1.0)
    main = (depth // 64) * 64
    whole = (depth // 16) * 16
    tail = depth - whole
    small = depth < (1 << 30)
    for r in range(rows):
        base = r * depth
        m, mn = _row_range(x, r, depth)
        vmx = vsplat(m)
        a0 = vzero()
        a1 = vzero()
        if small and mn - m >= _FAST_T:
            for b in range(0, main, 64):
                e0 = _exp_minus16_fast(vsub(vload(x, base + b), vmx))
                e1 = _exp_minus16_fast(vsub(vload(x, base + b + 16), vmx))
                e2 = _exp_minus16_fast(vsub(vload(x, base + b + 32), vmx))
                e3 = _exp_minus16_fast(vsub(vload(x, base + b + 48), vmx))
                vstore(out, base + b, e0)
                vstore(out, base + b + 16, e1)
                vstore(out, base + b + 32, e2)
                vstore(out, base + b + 48, e3)
                a0 = vadd(vadd(a0, e0), e2)
                a1 = vadd(vadd(a1, e1), e3)
            a0 = vadd(a0, a1)
            for b in range(main, whole, 16):
                e = _exp_minus16_fast(vsub(vload(x, base + b), vmx))
                vstore(out, base + b, e)
                a0 = vadd(a0, e)
            if tail > 0:
                e = _exp_minus16_fast(vsub(vload_n(x, base + whole, tail), vmx))
                vstore_n(out, base + whole, e, tail)
                a0 = vadd(a0, vkeep_n(e, tail))
            vinv = vdiv(vsplat(one), vsplat(vreduce_add_halving(a0)))    # = float32 1 / sum
            for i in range(0, whole, 16):
                vstore(out, base + i, vmul(vload(out, base + i), vinv))
            if tail > 0:
                vstore_n(out, base + whole, vmul(vload_n(out, base + whole, tail), vinv), tail)
            continue
        for b in range(0, main, 64):
            e = _exp_minus16_xnn(vsub(vload(x, base + b), vmx))
            vstore(out, base + b, e)
            a0 = vadd(a0, e)
            e = _exp_minus16_xnn(vsub(vload(x, base + b + 16), vmx))
            vstore(out, base + b + 16, e)
            a1 = vadd(a1, e)
            e = _exp_minus16_xnn(vsub(vload(x, base + b + 32), vmx))
            vstore(out, base + b + 32, e)
            a0 = vadd(a0, e)
            e = _exp_minus16_xnn(vsub(vload(x, base + b + 48), vmx))
            vstore(out, base + b + 48, e)
            a1 = vadd(a1, e)
        a0 = vadd(a0, a1)
        for b in range(main, whole, 16):
            e = _exp_minus16_xnn(vsub(vload(x, base + b), vmx))
            vstore(out, base + b, e)
            a0 = vadd(a0, e)
        if tail > 0:
            e = _exp_minus16_xnn(vsub(vload_n(x, base + whole, tail), vmx))
            vstore_n(out, base + whole, e, tail)
            a0 = vadd(a0, vkeep_n(e, tail))          # e >= 0: the +0 lanes change nothing
        vinv = vdiv(vsplat(one), vsplat(vreduce_add_halving(a0)))
        for i in range(0, whole, 16):
            vstore(out, base + i, vftz(vmul(vload(out, base + i), vinv)))
        if tail > 0:
            vstore_n(out, base + whole, vftz(vmul(vload_n(out, base + whole, tail), vinv)), tail)


# ---------------------------------------------------------------- LiteRT builtin (Eigen) SOFTMAX

@kernel
def softmax_f32_rows_eigen(x, beta, out):
    """SOFTMAX as LiteRT's builtin kernel (optimized_ops::SoftmaxImpl, Eigen, SSE, no FMA):
    out = (x - rowmax) * beta; out = exp(out) over the whole tensor (eigen_pexp_f32 for
    whole packets of 4, 16 lanes at a time; expf for the last size % 4 elements); each row
    is multiplied by 1 / (its sum in Eigen's redux order, eigen_sum_f32, head (-r*depth) % 4).
    x, out: (rows, depth) float32, C-contiguous.  Reference: kernels/reference/softmax.py
    """
    rows, depth = x.shape
    n = rows * depth
    nv = n - n % 4
    one = np.float32(1.0)
    vb = vsplat(beta)
    for r in range(rows):
        o = out[r]
        m = _row_range(x, r, depth)[0]
        vmx = vsplat(m)
        base = r * depth
        nvec = min(depth, max(nv - base, 0))      # this row's elements inside whole packets
        for i in range(0, nvec, 16):
            w = min(16, nvec - i)
            if w == 16:
                vstore(out, base + i, eigen_pexp16(vmul(vsub(vload(x, base + i), vmx), vb)))
            else:
                vstore_n(out, base + i, eigen_pexp16(vmul(vsub(vload_n(x, base + i, w), vmx), vb)), w)
        for i in range(nvec, depth):
            o[i] = np.float32(math.exp((x[r, i] - m) * beta))
        vinv = vsplat(one / eigen_sum_f32(o, (-base) % 4))
        for i in range(0, depth, 16):
            w = min(16, depth - i)
            if w == 16:
                vstore(out, base + i, vmul(vload(out, base + i), vinv))
            else:
                vstore_n(out, base + i, vmul(vload_n(out, base + i, w), vinv), w)


@kernel
def log_softmax_f32_rows_eigen(x, out):
    """LOG_SOFTMAX as LiteRT's builtin kernel (optimized_ops::LogSoftmax, Eigen): per row,
    z = x - max; s = sum of exp(z) (eigen_pexp_f32 for whole packets of 4 from the row
    start, 16 lanes at a time; expf for the last depth % 4; summed in Eigen's redux order
    from the row start); out = z - logf(s).  x, out: (rows, depth) float32, C-contiguous.
    Reference: kernels/reference/softmax.py
    """
    rows, depth = x.shape
    nv = depth - depth % 4
    for r in range(rows):
        o = out[r]
        base = r * depth
        m = _row_range(x, r, depth)[0]
        vmx = vsplat(m)
        for i in range(0, nv, 16):
            w = min(16, nv - i)
            if w == 16:
                vstore(out, base + i, eigen_pexp16(vsub(vload(x, base + i), vmx)))
            else:
                vstore_n(out, base + i, eigen_pexp16(vsub(vload_n(x, base + i, w), vmx)), w)
        for i in range(nv, depth):
            o[i] = np.float32(math.exp(x[r, i] - m))
        vls = vsplat(np.float32(math.log(eigen_sum_f32(o, 0))))
        for i in range(0, depth, 16):
            w = min(16, depth - i)
            if w == 16:
                vstore(out, base + i, vsub(vsub(vload(x, base + i), vmx), vls))
            else:
                vstore_n(out, base + i, vsub(vsub(vload_n(x, base + i, w), vmx), vls), w)
