"""Reductions over the middle axis of an (outer, r, inner) view.

The lowering collapses the reduced axes into one middle axis (transposing first when
they are not adjacent), so every kernel accumulates whole rows of `inner` contiguous
elements: MEAN over H,W of NHWC is (N, H*W, C), one row of C channels at a time.
Each output element sums its r terms in index order, as TFLite's reference Reduce,
with an accumulator of the output dtype (float32 for float, as TFLite).
Reference: kernels/reference/reduce.py
"""
import numpy as np

from ._jit import FAST_F32, kernel
from .requant import multiply_by_quantized_multiplier
from .qelementwise import vload_q8, vload_q8_n, vrint_i32, vstore_q8, vstore_q8_n
from .simd import (vadd, vadd_i32, vcvt_f32, vload, vload_n, vmax, vmin, vmul, vreduce_add_halving, vsplat, vstore,
                   vstore_n, vzero, vzero_i32)

SUM, MAX, MIN, PROD = 0, 1, 2, 3


@kernel(fastmath=FAST_F32)
def reduce_x(x, op, init, out):
    """out[o, j] = init (op) x[o, 0, j] (op) ... (op) x[o, r-1, j].

    x: (outer, r, inner); out: (outer, inner), same dtype; op: SUM, MAX, MIN or PROD.
    init: 0 for SUM, 1 for PROD, the dtype's lowest/highest for MAX/MIN (as TFLite).
    """
    for o in range(x.shape[0]):
        row = out[o]
        for j in range(x.shape[2]):
            row[j] = init
        for k in range(x.shape[1]):
            src = x[o, k]
            if op == 0:
                for j in range(x.shape[2]):
                    row[j] = row[j] + src[j]
            elif op == 1:
                for j in range(x.shape[2]):
                    row[j] = src[j] if src[j] > row[j] else row[j]
            elif op == 2:
                for j in range(x.shape[2]):
                    row[j] = src[j] if src[j] < row[j] else row[j]
            else:
                for j in range(x.shape[2]):
                    row[j] = row[j] * src[j]


@kernel(fastmath=FAST_F32)
def reduce_f32(x, outer, r, inner, op, init, out):
    """reduce_x for float32 on flat C-contiguous x (outer*r*inner) and out (outer*inner),
    16 lanes over the kept inner axis: every output element gets the same operations
    in the same order as reduce_x (init, then its r terms in index order; MAX keeps
    the accumulator unless a term is greater, so NaN terms are skipped as there).
    One pass over each 16-wide column block holds its accumulator in a register.
    Reference: kernels/reference/reduce.py"""
    vinit = vsplat(init)
    for o in range(outer):
        xb = o * r * inner
        for jb in range(0, inner, 16):
            nv = min(16, inner - jb)
            acc = vinit
            p = xb + jb
            if op == MAX:
                for _ in range(r):
                    acc = vmax(vload_n(x, p, nv), acc)
                    p += inner
            elif op == MIN:
                for _ in range(r):
                    acc = vmin(vload_n(x, p, nv), acc)
                    p += inner
            elif op == SUM:
                for _ in range(r):
                    acc = vadd(acc, vload_n(x, p, nv))
                    p += inner
            else:
                for _ in range(r):
                    acc = vmul(acc, vload_n(x, p, nv))
                    p += inner
            vstore_n(out, o * inner + jb, acc, nv)


@kernel(fastmath=FAST_F32)
def reduce_mean_f32(x, out):
    """MEAN: float32 sum over the middle axis (index order), then / r, as TFLite's reference Mean."""
    r = np.float32(x.shape[1])
    for o in range(x.shape[0]):
        row = out[o]
        for j in range(x.shape[2]):
            row[j] = np.float32(0.0)
        for k in range(x.shape[1]):
            src = x[o, k]
            for j in range(x.shape[2]):
                row[j] = row[j] + src[j]
        for j in range(x.shape[2]):
            row[j] = row[j] / r


@kernel
def reduce_any_b(x, out):
    """ANY on bool: out[o, j] = any(x[o, :, j])."""
    for o in range(x.shape[0]):
        for j in range(x.shape[2]):
            out[o, j] = False
        for k in range(x.shape[1]):
            for j in range(x.shape[2]):
                if x[o, k, j]:
                    out[o, j] = True


@kernel
def mbqm_neon(x, multiplier, shift):
    """TFLite's MultiplyByQuantizedMultiplier4Rows (NEON, emulated on x86 by NEON_2_SSE):

        r = min(-1, shift); l = shift - r
        h = (2 * int32(x << l) * M + 2**31) >> 32       vqrdmulh: round half UP, saturating
        out = (h + 2**(-r-1)) >> -r                      vrshl: round half UP

    It differs from the scalar double-rounding MBQM only at exact ties of negative values.
    Returns an int32 value typed int64.
    """
    r = min(np.int64(-1), np.int64(shift))
    left = np.int64(shift) - r
    xs = np.int64(np.int32(np.int64(x) << left))
    m = np.int64(multiplier)
    if xs == -2147483648 and m == -2147483648:
        h = np.int64(2147483647)
    else:
        h = (np.int64(2) * xs * m + np.int64(1 << 31)) >> np.int64(32)
    n = -r
    return (h + (np.int64(1) << (n - np.int64(1)))) >> n


@kernel
def mean_q_mbqm(x, sub, multiplier, shift, add, nvec, qmin, qmax, out):
    """Quantized MEAN with TFLite's integer rescale (int8, uint8, int16 in and out):

        out[o, j] = clamp(MBQM(int32(sum_k x[o, k, j] - sub), multiplier, shift) + add, qmin, qmax)

    The lowering chooses the constants: reference_ops::QuantizedMeanOrSum folds 1/r into
    (multiplier, shift) and passes sub = in_zp * r, add = out_zp, nvec = 0;
    optimized_integer_ops::Mean (4-D, axes {1, 2}, keep_dims) passes sub = 0, add = its
    float-rounded bias and nvec = 16 * (C // 16): those leading channels go through its
    16-lane NEON loop, whose MBQM rounds ties half up (mbqm_neon); the rest through
    TFLite's scalar double-rounding MBQM (kernels/requant.py).
    x: (outer, r, inner); out: (outer, inner).
    """
    for o in range(x.shape[0]):
        for j in range(x.shape[2]):
            acc = np.int64(0)
            for k in range(x.shape[1]):
                acc += x[o, k, j]
            d = np.int32(acc - sub)
            if j < nvec:
                v = mbqm_neon(d, multiplier, shift) + add
            else:
                v = multiply_by_quantized_multiplier(d, multiplier, shift) + add
            out[o, j] = min(max(v, qmin), qmax)


@kernel
def _mean_q_xnn_out(acc, vs, vb, vlo, vhi, out, p, w):
    """Store clamp(rne(float32(acc) * scale + bias)) to out.flat[p:p+w] (w < 16: masked).
    Clamping in float first is the same: the bounds are integers."""
    y = vmin(vmax(vadd(vmul(vcvt_f32(acc), vs), vb), vlo), vhi)
    if w >= 16:
        vstore_q8(out, p, vrint_i32(y))
    else:
        vstore_q8_n(out, p, vrint_i32(y), w)


@kernel
def mean_q_xnn(x, scale, bias, qmin, qmax, out):
    """Quantized MEAN / SUM as XNNPack's qs8/qu8 reduce (LiteRT's default delegate):

        out[o, j] = clamp(rne(float32(float32(acc) * scale) + bias), qmin, qmax)

    acc = the exact integer sum of x[o, :, j]; all float32, no FMA: scale =
    float32(in_scale / out_scale) (* float32(1 / r) for MEAN), bias =
    float32(-(r * in_zp)) * scale + float32(out_zp).  (Adding the zero points in float
    before the half-to-even rounding matters at exact ties; measured on LiteRT 2.3.0.)
    x: (outer, r, inner) int8 / uint8, C-contiguous (flat offsets); out: (outer, inner)
    of x's dtype, C-contiguous.  16-lane int32 accumulators (exact: the lowering keeps
    r < 2**23), 64 channels per pass over the r rows, then 16 at a time (masked tail).
    """
    outer, r, inner = x.shape
    vs = vsplat(scale)
    vb = vsplat(bias)
    vlo = vsplat(np.float32(qmin))
    vhi = vsplat(np.float32(qmax))
    for o in range(outer):
        xb = o * r * inner
        ob = o * inner
        j = 0
        while j + 64 <= inner:
            a0 = vzero_i32()
            a1 = vzero_i32()
            a2 = vzero_i32()
            a3 = vzero_i32()
            p = xb + j
            for k in range(r):
                a0 = vadd_i32(a0, vload_q8(x, p))
                a1 = vadd_i32(a1, vload_q8(x, p + 16))
                a2 = vadd_i32(a2, vload_q8(x, p + 32))
                a3 = vadd_i32(a3, vload_q8(x, p + 48))
                p += inner
            _mean_q_xnn_out(a0, vs, vb, vlo, vhi, out, ob + j, 16)
            _mean_q_xnn_out(a1, vs, vb, vlo, vhi, out, ob + j + 16, 16)
            _mean_q_xnn_out(a2, vs, vb, vlo, vhi, out, ob + j + 32, 16)
            _mean_q_xnn_out(a3, vs, vb, vlo, vhi, out, ob + j + 48, 16)
            j += 64
        while j < inner:
            w = min(16, inner - j)
            a0 = vzero_i32()
            p = xb + j
            if w == 16:
                for k in range(r):
                    a0 = vadd_i32(a0, vload_q8(x, p))
                    p += inner
            else:
                for k in range(r):
                    a0 = vadd_i32(a0, vload_q8_n(x, p, w))
                    p += inner
            _mean_q_xnn_out(a0, vs, vb, vlo, vhi, out, ob + j, w)
            j += 16


@kernel
def sum_q_f32(x, scale, bias, out_zp, qmin, qmax, out):
    """Quantized SUM as TFLite's optimized_ops::QuantizedMeanOrSum(compute_sum=true):

        out[o, j] = clamp(roundf(float32(acc) * scale + bias) + out_zp, qmin, qmax)

    acc = the exact integer sum; scale = float32(in_scale / out_scale);
    bias = float32(-in_zp) * scale * float32(r) (float32, that order); roundf rounds
    half away from zero.  x: (outer, r, inner); out: (outer, inner).
    """
    for o in range(x.shape[0]):
        for j in range(x.shape[2]):
            acc = np.int64(0)
            for k in range(x.shape[1]):
                acc += x[o, k, j]
            y = np.float32(np.int32(acc)) * scale + bias
            t = np.trunc(y)
            if np.abs(y - t) >= np.float32(0.5):
                t += np.float32(1.0) if y > 0 else np.float32(-1.0)
            v = np.int64(t) + out_zp
            out[o, j] = min(max(v, qmin), qmax)


@kernel
def mean_f32_xnn(x, scale, out):
    """float32 MEAN as LiteRT's default delegate (XNNPack reduce) computes it on AVX-512.

    x: (outer, r, inner) C-contiguous; out: (outer, inner); scale = float32(1) / float32(r).
    No fastmath: the order below
    is the result.

    inner > 1 (f32-rdsum): each output element sums its r terms in index order from
    +0, then is multiplied by scale (16 output elements per vector, up to 8 vectors
    at once; each element's additions stay in index order).
    inner == 1 (f32-rsum avx512f u32_acc2, one row of r contiguous terms): lane j
    (0..15) of two 16-lane accumulators takes the terms 32b + j and 32b + 16 + j in
    order; a remaining whole 16-block goes into the first, the two are added, then
    the zero-padded tail is added lane-wise; the 16 lanes fold as (j, j+8), (j, j+4),
    (0, 2) (1, 3), then the two halves; the sum is multiplied by scale.
    Reference: kernels/reference/reduce.py
    """
    outer, r, inner = x.shape
    vs = vsplat(scale)
    if inner > 1:
        for o in range(outer):
            xb = o * r * inner
            ob = o * inner
            j = 0
            while j + 128 <= inner:
                a0 = vzero()
                a1 = vzero()
                a2 = vzero()
                a3 = vzero()
                a4 = vzero()
                a5 = vzero()
                a6 = vzero()
                a7 = vzero()
                p = xb + j
                for k in range(r):
                    a0 = vadd(vload(x, p), a0)
                    a1 = vadd(vload(x, p + 16), a1)
                    a2 = vadd(vload(x, p + 32), a2)
                    a3 = vadd(vload(x, p + 48), a3)
                    a4 = vadd(vload(x, p + 64), a4)
                    a5 = vadd(vload(x, p + 80), a5)
                    a6 = vadd(vload(x, p + 96), a6)
                    a7 = vadd(vload(x, p + 112), a7)
                    p += inner
                vstore(out, ob + j, vmul(a0, vs))
                vstore(out, ob + j + 16, vmul(a1, vs))
                vstore(out, ob + j + 32, vmul(a2, vs))
                vstore(out, ob + j + 48, vmul(a3, vs))
                vstore(out, ob + j + 64, vmul(a4, vs))
                vstore(out, ob + j + 80, vmul(a5, vs))
                vstore(out, ob + j + 96, vmul(a6, vs))
                vstore(out, ob + j + 112, vmul(a7, vs))
                j += 128
            while j < inner:
                w = min(16, inner - j)
                a0 = vzero()
                p = xb + j
                for k in range(r):
                    a0 = vadd(vload_n(x, p, w), a0)
                    p += inner
                vstore_n(out, ob + j, vmul(a0, vs), w)
                j += 16
        return
    main = (r // 32) * 32
    whole = (r // 16) * 16                       # main or main + 16
    for o in range(outer):
        base = o * r
        a0 = vzero()
        a1 = vzero()
        for b in range(0, main, 32):
            a0 = vadd(a0, vload(x, base + b))
            a1 = vadd(a1, vload(x, base + b + 16))
        if whole > main:
            a0 = vadd(a0, vload(x, base + main))
        a0 = vadd(a0, a1)
        if whole < r:
            a0 = vadd(a0, vload_n(x, base + whole, r - whole))
        out[o, 0] = vreduce_add_halving(a0) * scale


@kernel
def eigen_sum_f32(v, head):
    """Sum of the float32 row v in the order of Eigen's vectorized redux (SSE, 4 lanes):
    the first `head` elements (those before the first 16-byte-aligned one) are skipped,
    then whole packets of 4 go alternately into two accumulators (a0 takes packets 0, 2,
    4, ..., a1 packets 1, 3, ...; a final odd packet goes into a0 after a0 += a1), the 4
    lanes fold as (l0 + l2) + (l1 + l3), then the head and the tail elements are added in
    order.  Fewer than 4 elements after the head: a plain left-to-right sum.  No fastmath."""
    n = v.shape[0]
    h = min(head, n)
    body = (n - h) // 4 * 4
    if body == 0:
        s = v[0]
        for i in range(1, n):
            s = s + v[i]
        return s
    a00 = v[h]
    a01 = v[h + 1]
    a02 = v[h + 2]
    a03 = v[h + 3]
    npk = body // 4
    if npk > 1:
        a10 = v[h + 4]
        a11 = v[h + 5]
        a12 = v[h + 6]
        a13 = v[h + 7]
        k = 2
        while k + 1 < npk:
            b = h + 4 * k
            a00 = a00 + v[b]
            a01 = a01 + v[b + 1]
            a02 = a02 + v[b + 2]
            a03 = a03 + v[b + 3]
            a10 = a10 + v[b + 4]
            a11 = a11 + v[b + 5]
            a12 = a12 + v[b + 6]
            a13 = a13 + v[b + 7]
            k += 2
        a00 = a00 + a10
        a01 = a01 + a11
        a02 = a02 + a12
        a03 = a03 + a13
        if k < npk:
            b = h + 4 * k
            a00 = a00 + v[b]
            a01 = a01 + v[b + 1]
            a02 = a02 + v[b + 2]
            a03 = a03 + v[b + 3]
    s = (a00 + a02) + (a01 + a03)
    for i in range(h):
        s = s + v[i]
    for i in range(h + body, n):
        s = s + v[i]
    return s


@kernel
def mean_f32_rows_eigen(x, out):
    """float32 MEAN over the last axis as LiteRT's builtin kernel (optimized_ops::Mean
    'MeanLastDim/Float': an Eigen colwise sum of the (d, rows) column-major map, then / d).
    Row j starts at element j*d of a 16-byte-aligned tensor, so Eigen's redux skips
    (-j*d) % 4 head elements (eigen_sum_f32).  x: (rows, d); out: (rows,).
    Reference: kernels/reference/reduce.py"""
    rows, d = x.shape
    fd = np.float32(d)
    for j in range(rows):
        out[j] = eigen_sum_f32(x[j], (-j * d) % 4) / fd


@kernel
def mean_f32_general(x, out):
    """float32 MEAN as LiteRT's builtin MeanGeneral (and reference Mean): each output
    element starts from its first term and adds the others in index order, then / r.
    x: (outer, r, inner); out: (outer, inner).  Reference: kernels/reference/reduce.py"""
    outer, r, inner = x.shape
    fr = np.float32(r)
    for o in range(outer):
        row = out[o]
        src = x[o, 0]
        for j in range(inner):
            row[j] = src[j]
        for k in range(1, r):
            src = x[o, k]
            for j in range(inner):
                row[j] = row[j] + src[j]
        for j in range(inner):
            row[j] = row[j] / fr
