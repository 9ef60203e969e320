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

Per-row min/max uses llvm.minnum/maxnum, which LLVM vectorizes (plain min()
stays scalar, PERF_NOTES section 6).  Rows containing NaN: unspecified (minnum
skips NaN, the sources differ among themselves).

Reference (NumPy twins): kernels/reference/dynquant.py.
"""
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from ._jit import kernel
from .simd import vload_n, vreduce_max, vreduce_min
from .simd_q8 import vmaxnum, vminnum, vquant_xnn, vstore_q8_n


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
    Rows with unit inner strides (the usual case) run 16 lanes at a time
    (row_qd8_xnn_simd); others the scalar loop (same results).
    """
    simd = x.strides[1] == 4 and q.strides[1] == 1
    for m in range(x.shape[0]):
        if simd:
            row_qd8_xnn_simd(x[m], offset, q[m], scales, zps, m)
            continue
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
def row_qd8_xnn_simd(xr, offset, qr, scales, zps, m):
    """One row of dynquant_f32_qd8_xnn with explicit 16-lane vectors: xr, qr
    1-D rows with unit stride (K = xr.shape[0] >= 1).  The range: lane-wise
    minnum / maxnum (the masked tail reads 0.0, which the parameters ignore:
    they use min(0, min x) and max(0, max x)); the codes:
    rne(min(max(x * q_mult, lo), hi)) + zp + offset (kernels/simd_q8.py vquant_xnn),
    the float32 operations of the scalar loop in the same order."""
    k = xr.shape[0]
    vmn = vload_n(xr, 0, k)
    vmx = vmn
    for j in range(16, k, 16):
        v = vload_n(xr, j, k - j)
        vmn = vminnum(vmn, v)
        vmx = vmaxnum(vmx, v)
    q_mult, zp, scale = qd8_params_xnn(vreduce_min(vmn), vreduce_max(vmx))
    scales[m] = scale
    zps[m] = zp + offset
    lo = np.float32(-128 - zp)
    hi = np.float32(127 - zp)
    base = zp + offset
    for j in range(0, k, 16):
        vstore_q8_n(qr, j, vquant_xnn(vload_n(xr, j, k - j), q_mult, lo, hi, base), k - j)


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
        for k in range(x.shape[1]):
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
        for k in range(x.shape[1]):
            v = _round_neon_f32(x[m, k] * inv, k < kv)
            v = fmaxnum(v, np.float32(-127.0))
            v = fminnum(v, np.float32(127.0))
            q[m, k] = np.int32(v) + offset
