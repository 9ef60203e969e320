"""QS8 GEMM and indirect-GEMM conv drivers on the AVX512-VNNI microkernels of
_ukernels_qs8_vnni.py (int32 tiles with the requantization fused into the
tile epilogue: int8 out, no int32 block in memory).

AVX512-VNNI ONLY: call these only when numba_infer.isa.VNNI is true.
Activations are uint8 bytes (x ^ 0x80 for int8), read straight from the row
(GEMM, ``istr == 0``: row r at ao + r*lda) or through an indirection buffer
(conv, ``ind[t*istr + r]``: the byte offset of the input pixel that tap t of
output pixel r reads, kernels/qgemm.py conv_indirection; padding taps point
at a pixel of zero-point bytes) -- no im2col.  Weights come from
kernels/qgemm.py pack_qc8w_vnni with the tile's NR, K ordered (tap, channel)
with each tap's channels padded to kc4*4 (zero weights; the activation bytes
read there are multiplied by 0).  init, mult, lsh, rsh, fscale: per output
channel, padded per group to a multiple of NR (npad).  Bit-identical to the
generic path (kernels/qs8.py).  Reference: kernels/reference/qs8.py
"""

from ._jit import kernel
from ._ukernels_qs8_vnni import _ukr_qs8_1x64, _ukr_qs8_6x64, _ukr_qs8_8x16, _ukr_qs8_8x32, _ukr_qs8_8x48
from .qgemm import tile_shape
from .qs8 import flip_i8_u8, pack_rows_u8


@kernel
def _ukr_qs8(tile, r0, r1, nv, ntap, kc4, a, ind, istr, ao, lda, w, wo, init, mult, lsh, rsh, fscale, jo, nup, fp32,
             zp, lo, hi, c, cb, ldc):
    if tile == 0:
        _ukr_qs8_1x64(r0, r1, nv, ntap, kc4, a, ind, istr, ao, lda, w, wo, init, mult, lsh, rsh, fscale, jo, nup,
                      fp32, zp, lo, hi, c, cb, ldc)
    elif tile == 1:
        _ukr_qs8_6x64(r0, r1, nv, ntap, kc4, a, ind, istr, ao, lda, w, wo, init, mult, lsh, rsh, fscale, jo, nup,
                      fp32, zp, lo, hi, c, cb, ldc)
    elif tile == 2:
        _ukr_qs8_8x32(r0, r1, nv, ntap, kc4, a, ind, istr, ao, lda, w, wo, init, mult, lsh, rsh, fscale, jo, nup,
                      fp32, zp, lo, hi, c, cb, ldc)
    elif tile == 3:
        _ukr_qs8_8x48(r0, r1, nv, ntap, kc4, a, ind, istr, ao, lda, w, wo, init, mult, lsh, rsh, fscale, jo, nup,
                      fp32, zp, lo, hi, c, cb, ldc)
    else:
        _ukr_qs8_8x16(r0, r1, nv, ntap, kc4, a, ind, istr, ao, lda, w, wo, init, mult, lsh, rsh, fscale, jo, nup,
                      fp32, zp, lo, hi, c, cb, ldc)


@kernel
def igemm_u8_i8_q8_vnni(tile, r0, r1, n, ntap, kc4, a, ind, istr, ao, lda, wq, init, mult, lsh, rsh, fscale, nup,
                        fp32, zp, lo, hi, c, ldc, mc):
    """Output rows r0..r1, channels 0..n of one group: c[r*ldc + j] =
    requant(init[j] + sum over taps t, words k of the A row bytes x W), the
    requantization of kernels/qs8.py requant_i32_q8_rows (fp32, or TFLite's
    fixed point with channels j < nup rounded half up).  a: the uint8
    activations (int8 x ^ 0x80).  Row blocks of mc rows, every NR panel of W over each block."""
    mr, nr = tile_shape(tile)
    k4 = ntap * kc4
    npan = (n + nr - 1) // nr
    for i0 in range(r0, r1, mc):
        i1 = min(r1, i0 + mc)
        for jp in range(npan):
            jo = jp * nr
            _ukr_qs8(tile, i0, i1, min(nr, n - jo), ntap, kc4, a, ind, istr, ao, lda, wq, jp * k4 * nr, init, mult, lsh,
                     rsh, fscale, jo, nup - jo, fp32, zp, lo, hi, c, jo, ldc)


@kernel
def gemm_u8_i8_q8_vnni(tile, m, n, kp, a, lda, wq, init, mult, lsh, rsh, fscale, nup, fp32, zp, lo, hi, out, ldo):
    """FULLY_CONNECTED: out[i*ldo + j] = requant(init[j] + sum_k a[i*lda + k] * w[j, k])
    for i < m, j < n; a: uint8 rows (kp bytes read, kp % 4 == 0; bytes past
    the row's K meet zero weights)."""
    mr, nr = tile_shape(tile)
    igemm_u8_i8_q8_vnni(tile, 0, m, n, 1, kp // 4, a, init, 0, 0, lda, wq, init, mult, lsh, rsh, fscale, nup, fp32,
                        zp, lo, hi, out, ldo, max(mr, 192 // mr * mr))


@kernel
def conv2d_u8_i8_q8_vnni(tile, r0, r1, groups, cg, ng, ntap, kc4, a, ind, istr, lda, wq, init, mult, lsh, rsh,
                         fscale, nup, fp32, zp, lo, hi, out, ldo, mc):
    """NHWC conv (or 1x1 stride-1 conv, istr == 0: row r of the input at
    r*lda), output rows r0..r1, all groups: group g reads channels
    g*cg.. (byte offset g*cg), writes channels g*ng..; W and the per-channel
    arrays hold the groups back to back (npad channels each)."""
    mr, nr = tile_shape(tile)
    npad = (ng + nr - 1) // nr * nr
    gsz = npad * ntap * kc4
    for g in range(groups):
        igemm_u8_i8_q8_vnni(tile, r0, r1, ng, ntap, kc4, a, ind, istr, g * cg, lda, wq[g * gsz:], init[g * npad:],
                            mult[g * npad:], lsh[g * npad:], rsh[g * npad:], fscale[g * npad:], nup - g * ng, fp32,
                            zp, lo, hi, out[g * ng:], ldo, mc)


@kernel
def conv2d_qs8_vnni(x, xu, zoff, zlen, padval, tile, m, groups, cg, ng, ntap, kc4, ind, istr, lda, wq, init, mult, lsh,
                    rsh, fscale, nup, fp32, zp, lo, hi, out, mc):
    """The whole int8 CONV_2D step: xu[:x.size] = x ^ 0x80 (int8 -> the uint8
    form), the zero-point pixel xu[zoff:zoff + zlen] = padval (zp_x + 128; it
    also covers the last pixel's over-read), then conv2d_u8_i8_q8_vnni over
    all m output rows (out: flat int8, groups*ng channels per row)."""
    flip_i8_u8(x, xu[:x.shape[0]])
    for j in range(zlen):
        xu[zoff + j] = padval
    conv2d_u8_i8_q8_vnni(tile, 0, m, groups, cg, ng, ntap, kc4, xu, ind, istr, lda, wq, init, mult, lsh, rsh, fscale,
                         nup, fp32, zp, lo, hi, out, groups * ng, mc)


@kernel
def fc_qs8_vnni(x, k, kp, a, tile, m, n, wq, init, mult, lsh, rsh, fscale, nup, fp32, zp, lo, hi, out):
    """The whole int8 FULLY_CONNECTED step: the rows of x (m x k int8) packed
    into a (uint8 m x kp, x ^ 0x80, zero padded), then gemm_u8_i8_q8_vnni."""
    pack_rows_u8(x, m, k, kp, 128, a)
    gemm_u8_i8_q8_vnni(tile, m, n, kp, a, kp, wq, init, mult, lsh, rsh, fscale, nup, fp32, zp, lo, hi, out, n)
