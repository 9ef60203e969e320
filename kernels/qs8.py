"""Full-integer 8-bit kernels: QS8 (int8 activations, per-channel int8
weights, int32 bias) and QU8 (uint8 activations, uint8 weights with a zero
point) CONV_2D / DEPTHWISE / FULLY_CONNECTED / BATCH_MATMUL / TRANSPOSE_CONV.

Accumulation (exact int32, same on every path):

    acc[m, n] = init[n] + sum_k a[m, k] * w[n, k]

with a = uint8 activations and w = int8 (QS8) or int16 (QU8) weights:
- QS8: a = x ^ 0x80 (= x + 128), w = int8 filter, and the prepare-time
  ``init[n] = bias[n] - (zp_x + 128) * sum_k w[n, k]``; so acc = bias +
  sum_k w * (x - zp_x).  Taps outside the image are filled with the byte
  ``zp_x + 128``: they contribute exactly 0 (TFLite sums in-bounds taps only).
- QU8: a = x, w = filter - zp_w (int16), init[n] = bias[n] - zp_x * sum_k w[n, k].

Requantization epilogue (``requant_i32_q8_rows``), one of
- fp32 (XNNPack ``qs8_qc8w ... fp32`` microkernels):
  out = rne(clamp(float32(acc) * scale[n], lo - zp, hi - zp)) + zp
  with scale[n] = float32(float32(s_x * s_w[n]) / s_out);
- TFLite fixed point, MultiplyByQuantizedMultiplier(acc, M[n], shift[n]):
  x = int32(acc << max(shift, 0)); h = SRDHM(x, M) = (x*M + 2^30) >> 31
  (== gemmlowp's, M > 0); then a rounding right shift by max(-shift, 0) that is
  **half up** ((h + 2^(e-1)) >> e) for channels n < nup and gemmlowp's
  RoundingDivideByPOT (half away from zero) for n >= nup.  LiteRT 2.3.0's x86
  builtin kernels use the half-up shift (NEON vrshl, emulated on SSE) in
  CONV_2D / DEPTHWISE / FULLY_CONNECTED (nup = N), the scalar gemmlowp shift in
  BATCH_MATMUL (nup = 0), and both in TRANSPOSE_CONV (nup = 8 * (N // 8)):
  measured, see tests/ops/test_ops_qs8_gemm.py.
  Then + zp, clamp to [lo, hi].

Also the generic (plain Numba, k-inner dot form) GEMM and conv drivers, the
direct depthwise and transpose-conv kernels.
Reference: kernels/reference/qs8.py
"""
import numpy as np

from ._jit import kernel
from .qgemm import im2col_u8


# ---------------------------------------------------------------- activations
@kernel
def flip_i8_u8(x, out):
    """out[i] = uint8(x[i] + 128) (x ^ 0x80): int8 activations -> the uint8 form."""
    for i in range(x.shape[0]):
        out[i] = np.uint8(np.int32(x[i]) + 128)


# ---------------------------------------------------------------- epilogue
@kernel
def requant_i32_q8_rows(acc, lda, m, n, mult, lsh, rsh, nup, fscale, fp32, zp, lo, hi, out, ldo):
    """out[i*ldo + j] = requant(acc[i*lda + j]) for i < m, j < n (module docstring).

    acc: int32 flat; mult, lsh, rsh: int32 [n] (M, max(shift, 0), max(-shift, 0));
    nup: channels j < nup round the final shift half up, the others half away
    from zero; fscale: float32 [n] (fp32 mode); fp32: use the XNNPack formula;
    zp, lo, hi: output zero point and clamp bounds; out: int8/uint8 flat."""
    flo = np.float32(lo - zp)
    fhi = np.float32(hi - zp)
    for i in range(m):
        a = acc[i * lda:i * lda + n]
        o = out[i * ldo:i * ldo + n]
        if fp32:
            for j in range(n):
                f = np.float32(a[j]) * fscale[j]
                f = min(max(f, flo), fhi)
                o[j] = np.int32(np.rint(f)) + zp
            continue
        for j in range(min(nup, n)):
            x = np.int64(np.int32(np.int64(a[j]) << lsh[j]))
            h = (x * np.int64(mult[j]) + np.int64(1 << 30)) >> np.int64(31)
            e = np.int64(rsh[j])
            v = (h + ((np.int64(1) << e) >> np.int64(1))) >> e
            v += zp
            o[j] = min(max(v, lo), hi)
        for j in range(nup, n):
            x = np.int64(np.int32(np.int64(a[j]) << lsh[j]))
            h = (x * np.int64(mult[j]) + np.int64(1 << 30)) >> np.int64(31)
            e = np.int64(rsh[j])
            mask = (np.int64(1) << e) - np.int64(1)
            th = (mask >> np.int64(1)) + (h >> np.int64(63)) * np.int64(-1)
            v = (h >> e) + ((h & mask) > th)
            v += zp
            o[j] = min(max(v, lo), hi)


# ---------------------------------------------------------------- generic GEMM
@kernel
def gemm_u8_q8_i32_generic(m, n, kp, a, lda, wt, init, c, ldc):
    """c[i*ldc + j] = init[j] + sum_{k < kp} a[i*lda + k] * wt[j*kp + k] (int32).
    a: uint8 flat; wt: int8 or int16 flat [n][kp]; init: int32 [n]."""
    for i in range(m):
        ar = a[i * lda:i * lda + kp]
        for j in range(n):
            wr = wt[j * kp:(j + 1) * kp]
            s = np.int32(0)
            for k in range(kp):         # k-inner dot form: vpmaddwd / vpdpwssd
                s += np.int32(ar[k]) * np.int32(wr[k])
            c[i * ldc + j] = s + init[j]


@kernel
def fill_pad(padv, batch, val):
    for b in range(batch):
        padv[b] = val


@kernel
def conv2d_u8_q8_q8_generic(xu, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, groups, cout,
                            wt, init, padval, mb, mult, lsh, rsh, nup, fscale, fp32, zp, lo, hi,
                            col, acc, padv, out):
    """NHWC conv on uint8 activations xu (flat; QS8: x ^ 0x80) through blocked
    im2col (taps outside the image = padval) + the generic GEMM + requant.
    wt: per group [cout/groups][kp] rows back to back; init: [cout];
    col: mb*kp bytes; acc: mb*cout int32; padv: [batch] uint8 scratch; out flat."""
    cg = cin // groups
    ng = cout // groups
    kp = (kh * kw * cg + 3) // 4 * 4
    mtot = batch * oh * ow
    fill_pad(padv, batch, padval)
    for r0 in range(0, mtot, mb):
        nrows = min(mb, mtot - r0)
        for g in range(groups):
            im2col_u8(xu, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, g * cg, cg, r0, nrows, padv, kp, col)
            gemm_u8_q8_i32_generic(nrows, ng, kp, col, kp, wt[g * ng * kp:], init[g * ng:], acc[g * ng:], cout)
        requant_i32_q8_rows(acc, cout, nrows, cout, mult, lsh, rsh, nup, fscale, fp32, zp, lo, hi,
                            out[r0 * cout:], cout)


@kernel
def gemm_u8_q8_q8_generic(m, n, kp, a, wt, init, mb, mult, lsh, rsh, nup, fscale, fp32, zp, lo, hi, acc, out):
    """FULLY_CONNECTED: rows of a (uint8 [m][kp]) x wt -> requantized out [m][n],
    mb rows at a time through the int32 block acc (mb*n)."""
    for r0 in range(0, m, mb):
        nrows = min(mb, m - r0)
        gemm_u8_q8_i32_generic(nrows, n, kp, a[r0 * kp:], kp, wt, init, acc, n)
        requant_i32_q8_rows(acc, n, nrows, n, mult, lsh, rsh, nup, fscale, fp32, zp, lo, hi, out[r0 * n:], n)


@kernel
def pack_rows_u8(x, m, k, kp, xor, out):
    """out[i*kp + kk] = x[i*k + kk] ^ xor (kk < k), 0 for k <= kk < kp.  x: int8/uint8 flat."""
    for i in range(m):
        for kk in range(k):
            out[i * kp + kk] = np.uint8((np.int32(x[i * k + kk]) & 255) ^ xor)
        for kk in range(k, kp):
            out[i * kp + kk] = 0


# ---------------------------------------------------------------- transpose conv
@kernel
def tconv_q8_q8_q8(x, zx, w, bias, sh, sw, pad_t, pad_l, mult, lsh, rsh, nup, fscale, fp32, zp, lo, hi,
                   xs, acc, out):
    """TRANSPOSE_CONV: acc[n, oy, ox, co] = bias[co] + sum over (iy, ky) with
    oy = iy*sh - pad_t + ky (same for x) of sum_ci w[co, ky, kx, ci] * (x - zx),
    then the requant epilogue.  x: (N, H, W, C_in) int8/uint8; w: (C_out, KH, KW,
    C_in) int16 (filter - zp_w); xs: (C_in,) int32 scratch; acc: (OH*OW*C_out,)
    int32 workspace (one image); out: (N, OH, OW, C_out)."""
    n_b, h, wd, cin = x.shape
    cout, kh, kw, _ = w.shape
    oh, ow = out.shape[1], out.shape[2]
    for n in range(n_b):
        for p in range(oh * ow):
            for co in range(cout):
                acc[p * cout + co] = bias[co]
        for iy in range(h):
            for ix in range(wd):
                for ci in range(cin):
                    xs[ci] = np.int32(x[n, iy, ix, ci]) - zx
                for ky in range(kh):
                    oy = iy * sh - pad_t + ky
                    if oy < 0 or oy >= oh:
                        continue
                    for kx in range(kw):
                        ox = ix * sw - pad_l + kx
                        if ox < 0 or ox >= ow:
                            continue
                        base = (oy * ow + ox) * cout
                        for co in range(cout):
                            wr = w[co, ky, kx]
                            s = np.int32(0)
                            for ci in range(cin):
                                s += np.int32(wr[ci]) * xs[ci]
                            acc[base + co] += s
        requant_i32_q8_rows(acc, cout, oh * ow, cout, mult, lsh, rsh, nup, fscale, fp32, zp, lo, hi,
                            out[n].reshape(-1), cout)


# ---------------------------------------------------------------- batch matmul
@kernel
def rows_sub_zp_i16(src, b, r, c, zp, transpose, out):
    """out[bi, j, i] (transpose) or out[bi, i, j] = int16(src[bi, i, j] - zp);
    src: flat [b][r][c] int8/uint8; out: flat int16."""
    for bi in range(b):
        s0 = bi * r * c
        for i in range(r):
            for j in range(c):
                v = np.int16(np.int32(src[s0 + i * c + j]) - zp)
                if transpose:
                    out[s0 + j * r + i] = v
                else:
                    out[s0 + i * c + j] = v


@kernel
def batch_matmul_q8_q8_q8(m, n, k, a, a_idx, bt, b_idx, mult, lsh, rsh, nup, fscale, fp32, zp, lo, hi, acc, out):
    """out[bi] = requant(sum_k a[a_idx[bi], i, k] * bt[b_idx[bi], j, k]) with
    a: int16 flat [*][m][k] (lhs - zp_lhs), bt: int16 flat [*][n][k] (rhs^T - zp_rhs);
    acc: m*n int32 scratch; out: flat [batches][m][n]."""
    for bi in range(a_idx.shape[0]):
        ao = a_idx[bi] * m * k
        bo = b_idx[bi] * n * k
        for i in range(m):
            ar = a[ao + i * k:ao + (i + 1) * k]
            for j in range(n):
                br = bt[bo + j * k:bo + (j + 1) * k]
                s = np.int32(0)
                for kk in range(k):
                    s += np.int32(ar[kk]) * np.int32(br[kk])
                acc[i * n + j] = s
        requant_i32_q8_rows(acc, n, m, n, mult, lsh, rsh, nup, fscale, fp32, zp, lo, hi, out[bi * m * n:], n)
