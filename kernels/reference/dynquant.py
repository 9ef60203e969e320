"""NumPy twins of kernels/dynquant.py, vectorised over rows, from the formulas."""
import numpy as np

f32 = np.float32


def _rha(v):
    """round half away from zero, any float dtype (exact: v - trunc(v) is exact)."""
    r = np.trunc(v)
    d = v - r
    return r + (d >= 0.5).astype(v.dtype) - (d <= -0.5).astype(v.dtype)


def dynquant_f32_qd8_xnn(x, offset, q, scales, zps):
    rmin = np.minimum(f32(0), x.min(axis=1))
    rmax = np.maximum(f32(0), x.max(axis=1))
    with np.errstate(divide="ignore"):
        mult = np.where(rmin == rmax, f32(1), f32(255) / (rmax - rmin)).astype(f32)
    dmin, dmax = rmin * mult, rmax * mult
    zpf = np.where((f32(-128) + dmin) + (f32(127) + dmax) > 0, f32(-128) - dmin, f32(127) - dmax)
    zp = np.rint(np.clip(zpf, f32(-128), f32(127))).astype(np.int64)
    v = np.clip(x * mult[:, None], (-128 - zp).astype(f32)[:, None], (127 - zp).astype(f32)[:, None])
    q[:, :x.shape[1]] = np.rint(v).astype(np.int64) + zp[:, None] + offset
    scales[...] = (f32(1) / mult).astype(f32)
    zps[...] = zp + offset


def row_qd8_xnn_simd(xr, offset, qr, scales, zps, m):
    s, z = np.zeros(1, f32), np.zeros(1, np.int64)
    q = np.zeros((1, xr.shape[0]), np.int64)
    dynquant_f32_qd8_xnn(xr.reshape(1, -1), offset, q, s, z)
    qr[:xr.shape[0]] = q[0]
    scales[m], zps[m] = s[0], z[0]


def _round_neon(v):
    """float32 v: trunc(v +- 0.5f) (float32 add) on columns < K & ~7, half away after."""
    kv = v.shape[1] & ~7
    out = _rha(v)
    h = np.where(v[:, :kv] < 0, f32(-0.5), f32(0.5)).astype(f32)
    out[:, :kv] = np.trunc((v[:, :kv] + h).astype(f32))
    return out


def dynquant_f32_qd8_tflite(x, offset, q, scales, zps):
    fmin = np.minimum(f32(0), x.min(axis=1))
    fmax = np.maximum(f32(0), x.max(axis=1))
    rmin, rmax = fmin.astype(np.float64), fmax.astype(np.float64)
    zero = rmin == rmax
    s = np.where(zero, 1.0, (fmax - fmin).astype(f32).astype(np.float64) / 255.0)
    zd = np.where(128.0 + np.abs(rmin / s) < 127.0 + np.abs(rmax / s), -128.0 - rmin / s, 127.0 - rmax / s)
    zp = np.where(zd <= -128, -128.0, np.where(zd >= 127, 127.0, _rha(zd)))
    zp = np.where(zero, 0.0, zp).astype(np.int64)
    sf = np.where(zero, 1.0, s).astype(f32)
    inv = (f32(1) / sf).astype(f32)
    v = _round_neon((x * inv[:, None]).astype(f32)).astype(np.int64)     # zero point added after rounding
    qq = np.clip(v + zp[:, None], -128, 127)
    qq[zero] = 0
    q[:, :x.shape[1]] = qq + offset
    scales[...] = sf
    zps[...] = zp + offset


def dynquant_f32_qs8_tflite_sym(x, offset, q, scales, zps):
    rng = np.maximum(np.abs(x.min(axis=1)), np.abs(x.max(axis=1))).astype(f32)
    zero = rng == 0
    safe = np.where(zero, f32(1), rng)
    inv = (f32(127) / safe).astype(f32)
    qq = np.clip(_round_neon((x * inv[:, None]).astype(f32)), -127, 127).astype(np.int64)
    qq[zero] = 0
    q[:, :x.shape[1]] = qq + offset
    scales[...] = np.where(zero, f32(1), (safe / f32(127)).astype(f32))
    zps[...] = offset
