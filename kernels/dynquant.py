"""Per-row dynamic quantization of float32 activations to 8-bit (QD8 / hybrid ops).

Two parameter flavours, each bit-exact with its source:

- ``dynquant_f32_qd8_xnn``: XNNPack ``xnn_f32_qd8_asymmetric_quantization_params``
  + ``f32-qs8-vcvt`` (what LiteRT's default XNNPack delegate does for dynamic-range
  FC/Conv/BMM).  float32 math, RNE.  With offset=128 it produces the ``qdu8``
  variant (uint8 codes, zero point + 128) for VNNI ``vpdpbusd`` kernels.
- ``dynquant_f32_qd8_tflite`` / ``dynquant_f32_qs8_tflite_sym``: TFLite's
  ``AsymmetricQuantizeFloats`` / ``SymmetricQuantizeFloats`` as LiteRT's x86
  build runs them (the builtin hybrid kernels).  Round half away from zero.

All three take (x, offset, q, scales, zps): offset 128 writes uint8 codes
q + 128 with zps = zp + 128 (the form the int8 GEMMs of qgemm.py take).

Per-row min/max: llvm.minnum/maxnum in the scalar loops (LLVM vectorizes
them; plain min() stays scalar, PERF_NOTES section 6), explicit 16-lane
vectors with a shuffle-tree reduction in the XNNPack row kernel.  Rows
containing NaN: unspecified (the sources differ among themselves).

Reference (NumPy twins): kernels/reference/dynquant.py.
"""
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from ._jit import kernel
from .simd import (f32x16, i32x16, vadd, vadd_i32, vcvtt_i32, vdiv, vload, vload_n, vmax, vmin, vmul, vsel_eq,
                   vsel_gt, vsel_lt, vsel_signbit, vsplat, vsplat_i32, vsub, vzero)
from .simd_q8 import vquant_xnn, vstore_q8, vstore_q8_n


def _f32_binary_intrinsic(llvm_name):
    @intrinsic
    def fn(typingctx, a, b):
        if a != types.float32 or b != types.float32:
            return None

        def codegen(context, builder, sig, args):
            f = ir.FloatType()
            fnty = ir.FunctionType(f, [f, f])
            callee = cgutils.get_or_insert_function(builder.module, fnty, llvm_name)
            return builder.call(callee, args)
        return types.float32(types.float32, types.float32), codegen
    return fn


fminnum = _f32_binary_intrinsic("llvm.minnum.f32")
fmaxnum = _f32_binary_intrinsic("llvm.maxnum.f32")


def _hreduce(pred):
    def impl(typingctx, a):
        if a != f32x16:
            return None

        def codegen(context, builder, sig, args):
            v = args[0]
            undef = ir.Constant(v.type, ir.Undefined)
            for h in (8, 4, 2, 1):
                idx = [i + h if i < h else i for i in range(16)]
                s = builder.shuffle_vector(v, undef, ir.Constant(ir.VectorType(ir.IntType(32), 16), idx))
                v = builder.select(builder.fcmp_ordered(pred, v, s), v, s)
            return builder.extract_element(v, ir.Constant(ir.IntType(32), 0))
        return types.float32(a), codegen
    return impl


vhmin = intrinsic(_hreduce("<"))
vhmin.__doc__ = """Smallest of the 16 lanes by a shuffle tree of a < b ? a : b (NaN: unspecified)."""
vhmax = intrinsic(_hreduce(">"))
vhmax.__doc__ = """Largest of the 16 lanes by a shuffle tree of a > b ? a : b (NaN: unspecified)."""


@intrinsic
def vinsert(typingctx, v, x, i):
    """v with lane i (0..15, a runtime integer) replaced by the float32 x."""
    if not (v == f32x16 and x == types.float32 and isinstance(i, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        return builder.insert_element(args[0], args[1], args[2])
    return f32x16(v, x, i), codegen


@intrinsic
def vlane(typingctx, v, i):
    """Lane i (0..15, a runtime integer) of a f32x16 / i32x16 as a scalar."""
    if not (v in (f32x16, i32x16) and isinstance(i, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        return builder.extract_element(args[0], args[1])
    return v.dtype(v, i), codegen


@intrinsic
def vrint_i32(typingctx, v):
    """int32 lanes of rint(v) (llvm.rint: round to nearest even; lanes must fit int32)."""
    if v != f32x16:
        return None

    def codegen(context, builder, sig, args):
        fv = args[0].type
        fnty = ir.FunctionType(fv, [fv])
        f = builder.call(cgutils.get_or_insert_function(builder.module, fnty, "llvm.rint.v16f32"), [args[0]])
        return builder.fptosi(f, ir.VectorType(ir.IntType(32), 16))
    return i32x16(v), codegen


@intrinsic
def vstore_q8x4(typingctx, arr, idx, v0, v1, v2, v3):
    """arr[idx:idx+64] = the low 8 bits of the 64 int32 lanes of v0..v3 (int8 /
    uint8 arr), one 64-byte store (4 x vpmovdb + inserts; no masked stores)."""
    if not (isinstance(arr, types.Array) and arr.dtype in (types.int8, types.uint8) and isinstance(idx, types.Integer)
            and v0 == v1 == v2 == v3 == i32x16):
        return None

    def codegen(context, builder, sig, args):
        a, i, w0, w1, w2, w3 = args
        i32 = ir.IntType(32)
        p = builder.gep(context.make_array(sig.args[0])(context, builder, a).data, [i])
        c01 = builder.shuffle_vector(w0, w1, ir.Constant(ir.VectorType(i32, 32), list(range(32))))
        c23 = builder.shuffle_vector(w2, w3, ir.Constant(ir.VectorType(i32, 32), list(range(32))))
        c = builder.shuffle_vector(c01, c23, ir.Constant(ir.VectorType(i32, 64), list(range(64))))
        vb = ir.VectorType(ir.IntType(8), 64)
        builder.store(builder.trunc(c, vb), builder.bitcast(p, vb.as_pointer()), align=1)
        return context.get_dummy_value()
    return types.void(arr, idx, v0, v1, v2, v3), codegen


@kernel
def row_minmax_f32(x, i):
    """(min, max) of row i of a (M, K>=1) float32 array, via llvm.minnum/maxnum."""
    mn = x[i, 0]
    mx = x[i, 0]
    for k in range(x.shape[1]):
        v = x[i, k]
        mn = fminnum(mn, v)
        mx = fmaxnum(mx, v)
    return mn, mx


@kernel
def qd8_params_xnn(mn, mx):
    """XNNPack qd8 parameters from a row's float32 (min, max).

    Returns (q_mult, zp, scale): q_mult = 255/(rmax - rmin) (1 if rmin == rmax),
    rmin = min(0, mn), rmax = max(0, mx); zp = lrintf(clamp(zp_f, -128, 127)) with
    zp_f = (-128 - rmin*q_mult) if (-128 + rmin*q_mult) + (127 + rmax*q_mult) > 0
    else (127 - rmax*q_mult); scale = 1/q_mult (the dequantization scale).
    All float32; zp is an int (all-zero row -> q_mult 1, zp 127, scale 1).
    """
    zero = np.float32(0.0)
    rmin = mn if mn < zero else zero
    rmax = mx if mx > zero else zero
    if rmin == rmax:
        q_mult = np.float32(1.0)
    else:
        q_mult = np.float32(255.0) / (rmax - rmin)
    dmin = rmin * q_mult
    dmax = rmax * q_mult
    if (np.float32(-128.0) + dmin) + (np.float32(127.0) + dmax) > zero:
        zpf = np.float32(-128.0) - dmin
    else:
        zpf = np.float32(127.0) - dmax
    if zpf < np.float32(-128.0):
        zpf = np.float32(-128.0)
    if zpf > np.float32(127.0):
        zpf = np.float32(127.0)
    return q_mult, np.int32(np.rint(zpf)), np.float32(1.0) / q_mult


@kernel
def dynquant_f32_qd8_xnn(x, offset, q, scales, zps):
    """Per-row asymmetric quantization, XNNPack qd8 (offset=0) / qdu8 (offset=128).

    x: (M, K) float32, K >= 1.  For each row m, (q_mult, zp, scale) = qd8_params_xnn(min, max)
    and q[m, k] = rne(clamp(x[m, k]*q_mult, -128 - zp, 127 - zp)) + zp + offset
    (float32 multiply and clamp, round-to-nearest-even).
    q: (M, K) int8 when offset=0, uint8 when offset=128.
    scales[m] = scale (float32 dequantization scale, 1/q_mult);
    zps[m] = zp + offset (int32).  Dequantize: scales[m] * (q - zps[m]).
    Rows with unit inner strides (the usual case) run 16 lanes at a time,
    16 rows' parameters at a time (_rows_qd8_xnn_simd); others the scalar
    loop (same results).
    """
    if x.strides[1] == 4 and q.strides[1] == 1:
        _rows_qd8_xnn_simd(x, offset, q, scales, zps)
        return
    for m in range(x.shape[0]):
        mn, mx = row_minmax_f32(x, m)
        q_mult, zp, scale = qd8_params_xnn(mn, mx)
        scales[m] = scale
        zps[m] = zp + offset
        lo = np.float32(-128 - zp)
        hi = np.float32(127 - zp)
        base = zp + offset
        for k in range(x.shape[1]):
            v = x[m, k] * q_mult
            v = fmaxnum(v, lo)
            v = fminnum(v, hi)
            q[m, k] = np.int32(np.rint(v)) + base


@kernel
def _range_flat(x, o, k):
    """(min, max) of the k >= 1 unit-stride floats x.flat[o:o+k] (x: any float32
    array, o a flat element offset: no row views) for the XNNPack parameters:
    lane-wise a < b ? a : b / a > b ? a : b over 4 independent accumulator pairs
    started at 0.0, then a shuffle-tree reduction.  The parameters use
    min(0, min x) and max(0, max x), so the 0.0 start and the masked tail's 0.0
    lanes change nothing (nor does the sign of a zero)."""
    a0 = vzero()
    a1 = a0
    a2 = a0
    a3 = a0
    b0 = a0
    b1 = a0
    b2 = a0
    b3 = a0
    j = 0
    while j + 64 <= k:
        v0 = vload(x, o + j)
        v1 = vload(x, o + j + 16)
        v2 = vload(x, o + j + 32)
        v3 = vload(x, o + j + 48)
        a0 = vmin(a0, v0)
        b0 = vmax(b0, v0)
        a1 = vmin(a1, v1)
        b1 = vmax(b1, v1)
        a2 = vmin(a2, v2)
        b2 = vmax(b2, v2)
        a3 = vmin(a3, v3)
        b3 = vmax(b3, v3)
        j += 64
    while j + 16 <= k:
        v0 = vload(x, o + j)
        a0 = vmin(a0, v0)
        b0 = vmax(b0, v0)
        j += 16
    if j < k:
        v0 = vload_n(x, o + j, k - j)
        a1 = vmin(a1, v0)
        b1 = vmax(b1, v0)
    return vhmin(vmin(vmin(a0, a1), vmin(a2, a3))), vhmax(vmax(vmax(b0, b1), vmax(b2, b3)))


@kernel
def _codes_flat(x, o, q, p, k, q_mult, zp, offset):
    """q.flat[p:p+k] = rne(min(max(x.flat[o:o+k] * q_mult, lo), hi)) + zp + offset
    (kernels/simd_q8.py vquant_xnn: the float32 operations of the scalar loop in
    the same order), 64 codes per 64-byte store, then 16, then a masked tail."""
    lo = np.float32(-128 - zp)
    hi = np.float32(127 - zp)
    base = zp + offset
    j = 0
    while j + 64 <= k:
        vstore_q8x4(q, p + j, vquant_xnn(vload(x, o + j), q_mult, lo, hi, base),
                    vquant_xnn(vload(x, o + j + 16), q_mult, lo, hi, base),
                    vquant_xnn(vload(x, o + j + 32), q_mult, lo, hi, base),
                    vquant_xnn(vload(x, o + j + 48), q_mult, lo, hi, base))
        j += 64
    while j + 16 <= k:
        vstore_q8(q, p + j, vquant_xnn(vload(x, o + j), q_mult, lo, hi, base))
        j += 16
    if j < k:
        vstore_q8_n(q, p + j, vquant_xnn(vload_n(x, o + j, k - j), q_mult, lo, hi, base), k - j)


@kernel
def _row_range_simd(xr):
    """(min, max) of a unit-stride float32 row (K >= 1): _range_flat."""
    return _range_flat(xr, 0, xr.shape[0])


@kernel
def _row_codes_simd(xr, qr, q_mult, zp, offset):
    """qr[:K] = the codes of the unit-stride row xr (K = xr.shape[0]): _codes_flat."""
    _codes_flat(xr, 0, qr, 0, xr.shape[0], q_mult, zp, offset)


@kernel
def row_qd8_xnn_simd(xr, offset, qr, scales, zps, m):
    """One row of dynquant_f32_qd8_xnn with explicit 16-lane vectors: xr, qr
    1-D rows with unit stride (K = xr.shape[0] >= 1); _row_range_simd, the
    parameters, _row_codes_simd."""
    mn, mx = _row_range_simd(xr)
    q_mult, zp, scale = qd8_params_xnn(mn, mx)
    scales[m] = scale
    zps[m] = zp + offset
    _row_codes_simd(xr, qr, q_mult, zp, offset)


@kernel
def _vparams_qd8_xnn(mn, mx):
    """qd8_params_xnn on 16 rows at once (lane r: row r's (min, max)): the same
    IEEE float32 operations in the same order (selects for the branches; the
    division of the rmin == rmax lanes is computed and discarded), zp =
    int32(rint(clamped zpf)).  Returns (q_mult, zp, scale) vectors."""
    zero = vzero()
    one = vsplat(np.float32(1.0))
    lo = vsplat(np.float32(-128.0))
    hi = vsplat(np.float32(127.0))
    rmin = vsel_lt(mn, zero, mn, zero)
    rmax = vsel_gt(mx, zero, mx, zero)
    q_mult = vsel_eq(rmin, rmax, one, vdiv(vsplat(np.float32(255.0)), vsub(rmax, rmin)))
    dmin = vmul(rmin, q_mult)
    dmax = vmul(rmax, q_mult)
    zpf = vsel_gt(vadd(vadd(lo, dmin), vadd(hi, dmax)), zero, vsub(lo, dmin), vsub(hi, dmax))
    zpf = vsel_lt(zpf, lo, lo, zpf)
    zpf = vsel_gt(zpf, hi, hi, zpf)
    return q_mult, vrint_i32(zpf), vdiv(one, q_mult)


@kernel
def _rows_qd8_xnn_simd(x, offset, q, scales, zps):
    """dynquant_f32_qd8_xnn on unit-stride rows, 16 rows per block with flat
    offsets (no row views): the 16 rows' (min, max) into two vectors, their
    parameters in 16-lane vector math (_vparams_qd8_xnn), then each row's
    codes; the same results as row_qd8_xnn_simd row by row.  One row (a
    GEMV's input, every layer of a one-row MLP) takes the scalar parameters
    instead: the same operations, without the 16-lane setup (~50 ns)."""
    rows = x.shape[0]
    k = x.shape[1]
    xs = x.strides[0] // 4
    qs = q.strides[0]
    if rows == 1:
        a, b = _range_flat(x, 0, k)
        q_mult, zp, scale = qd8_params_xnn(a, b)
        scales[0] = scale
        zps[0] = zp + offset
        _codes_flat(x, 0, q, 0, k, q_mult, zp, offset)
        return
    m0 = 0
    while m0 < rows:
        nb = min(16, rows - m0)
        mnv = vzero()
        mxv = mnv
        for r in range(nb):
            a, b = _range_flat(x, (m0 + r) * xs, k)
            mnv = vinsert(mnv, a, r)
            mxv = vinsert(mxv, b, r)
        qm, zp, sc = _vparams_qd8_xnn(mnv, mxv)
        for r in range(nb):
            m = m0 + r
            z = vlane(zp, r)
            scales[m] = vlane(sc, r)
            zps[m] = z + offset
            _codes_flat(x, m * xs, q, m * qs, k, vlane(qm, r), z, offset)
        m0 += 16


@kernel
def _round_half_away_f32(v):
    r = np.trunc(v)
    d = v - r
    if d >= np.float32(0.5):
        r += np.float32(1.0)
    elif d <= np.float32(-0.5):
        r -= np.float32(1.0)
    return r


@kernel
def _round_neon_f32(v, vector_part):
    """TFLite's rounding of x*inv in its NEON-path quantizers: the vectorized
    part (elements below size & ~7) uses RoundToNearest for non-arm64,
    trunc(float32(v + copysign(0.5, v))) (the float add can round up: 0.49999997
    -> 1); the scalar postamble uses std::round (half away from zero)."""
    if vector_part:
        h = np.float32(-0.5) if v < np.float32(0.0) else np.float32(0.5)
        return np.trunc(v + h)
    return _round_half_away_f32(v)


@kernel
def _codes_neon_simd(xr, qr, kv, inv, lo, hi, base):
    """The vector part (k < kv) of the TFLite quantizers' code loop, 16 lanes at a
    time: qr[k] = int(clamp(x*inv + copysign(0.5, x*inv), lo, hi)) + base, which is
    trunc-then-clamp of the scalar loop (lo, hi are integers, so clamping before the
    truncating conversion gives the same integer; NaN -> lo as fmaxnum; a -0 product
    takes -0.5 here and +0.5 there, both truncate to 0).  Returns kv."""
    vinv = vsplat(inv)
    vlo = vsplat(lo)
    vhi = vsplat(hi)
    ph = vsplat(np.float32(0.5))
    nh = vsplat(np.float32(-0.5))
    vb = vsplat_i32(base)
    j = 0
    while j + 16 <= kv:
        v = vmul(vload(xr, j), vinv)
        y = vmin(vmax(vadd(v, vsel_signbit(v, nh, ph)), vlo), vhi)
        vstore_q8(qr, j, vadd_i32(vcvtt_i32(y), vb))
        j += 16
    if j < kv:
        v = vmul(vload_n(xr, j, kv - j), vinv)
        y = vmin(vmax(vadd(v, vsel_signbit(v, nh, ph)), vlo), vhi)
        vstore_q8_n(qr, j, vadd_i32(vcvtt_i32(y), vb), kv - j)
    return kv


@kernel
def dynquant_f32_qd8_tflite(x, offset, q, scales, zps):
    """Per-row TFLite AsymmetricQuantizeFloats, as LiteRT's x86 build runs it:
    the NEON-path quantizer (neon_tensor_utils.cc NeonAsymmetricQuantizeFloats,
    built through NEON_2_SSE), which differs from the portable one in three
    places (all three measured against LiteRT):

    Per row: rmin = min(0, min x), rmax = max(0, max x) (float32).
    rmin == rmax -> q = 0, scale = 1, zp = 0.  Else
      s = double(float32(rmax - rmin)) / 255      (range subtracted in float32)
      zmin = -128 - rmin/s; zmax = 127 - rmax/s   (double)
      zp_d = zmin if 128 + |rmin/s| < 127 + |rmax/s| else zmax;
      zp = -128 if zp_d <= -128, 127 if zp_d >= 127, else round_half_away(zp_d);
      scale = float32(s); inv = float32(1 / scale);
      q = clamp(zp + round(x*inv), -128, 127)     (zero point added after rounding;
    round is _round_neon_f32: trunc(x*inv +- 0.5f) on the first K & ~7 elements).
    x: (M, K) float32; q: (M, >=K) int8 (offset 0) or uint8 (offset 128) gets
    q + offset; scales: (M,) float32; zps: (M,) int32 = zp + offset.
    """
    kv = x.shape[1] & ~7
    for m in range(x.shape[0]):
        mn, mx = row_minmax_f32(x, m)
        fmin = mn if mn < np.float32(0.0) else np.float32(0.0)
        fmax = mx if mx > np.float32(0.0) else np.float32(0.0)
        if fmin == fmax:
            scales[m] = np.float32(1.0)
            zps[m] = offset
            for k in range(x.shape[1]):
                q[m, k] = offset
            continue
        rmin = np.float64(fmin)
        rmax = np.float64(fmax)
        s = np.float64(fmax - fmin) / 255.0
        zmin = -128.0 - rmin / s
        zmax = 127.0 - rmax / s
        if 128.0 + np.abs(rmin / s) < 127.0 + np.abs(rmax / s):
            zpd = zmin
        else:
            zpd = zmax
        if zpd <= -128.0:
            zp = -128
        elif zpd >= 127.0:
            zp = 127
        else:
            r = np.trunc(zpd)
            if np.abs(zpd - r) >= 0.5:
                r += 1.0 if zpd > 0 else -1.0
            zp = int(r)
        sf = np.float32(s)
        scales[m] = sf
        zps[m] = zp + offset
        inv = np.float32(1.0) / sf
        lo = np.float32(-128 - zp)
        hi = np.float32(127 - zp)
        base = zp + offset
        k0 = 0
        if x.strides[1] == 4 and q.strides[1] == 1:
            k0 = _codes_neon_simd(x[m], q[m], kv, inv, lo, hi, base)
        for k in range(k0, x.shape[1]):
            v = _round_neon_f32(x[m, k] * inv, k < kv)
            v = fmaxnum(v, lo)
            v = fminnum(v, hi)
            q[m, k] = np.int32(v) + base


@kernel
def dynquant_f32_qs8_tflite_sym(x, offset, q, scales, zps):
    """Per-row TFLite SymmetricQuantizeFloats (zero point 0).

    Per row, float32: range = max(|min x|, |max x|); range == 0 -> q = 0, scale = 1.
    Else scale = range / 127, inv = 127 / range, q = clamp(round(x*inv), -127, 127)
    with round = _round_neon_f32 (NeonSymmetricQuantizeFloats, as LiteRT's x86 build).
    x: (M, K) float32; q: (M, >=K) int8 / uint8 gets q + offset; scales: (M,) float32;
    zps: (M,) int32 = offset (same signature as the asymmetric quantizers).
    """
    kv = x.shape[1] & ~7
    for m in range(x.shape[0]):
        mn, mx = row_minmax_f32(x, m)
        zps[m] = offset
        rng = np.abs(mn)
        if np.abs(mx) > rng:
            rng = np.abs(mx)
        if rng == np.float32(0.0):
            scales[m] = np.float32(1.0)
            for k in range(x.shape[1]):
                q[m, k] = offset
            continue
        scales[m] = rng / np.float32(127.0)
        inv = np.float32(127.0) / rng
        k0 = 0
        if x.strides[1] == 4 and q.strides[1] == 1:
            k0 = _codes_neon_simd(x[m], q[m], kv, inv, np.float32(-127.0), np.float32(127.0), offset)
        for k in range(k0, x.shape[1]):
            v = _round_neon_f32(x[m, k] * inv, k < kv)
            v = fmaxnum(v, np.float32(-127.0))
            v = fminnum(v, np.float32(127.0))
            q[m, k] = np.int32(v) + offset
