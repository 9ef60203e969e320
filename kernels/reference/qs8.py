"""Plain-NumPy twins of kernels/qs8.py and kernels/qs8_vnni.py (same names, same
arguments, written the obvious way, exact integer arithmetic in int64 /
Python ints)."""
import numpy as np


def _srdhm(x, m):
    """gemmlowp SaturatingRoundingDoublingHighMul, literal form (C truncating division)."""
    ab = x * m
    n = ab + np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    return np.sign(n) * (np.abs(n) >> 31)


def _rdbpot_away(x, e):
    mask = (np.int64(1) << e) - 1
    return (x >> e) + ((x & mask) > (mask >> 1) + (x < 0))


def _requant(acc, mult, lsh, rsh, nup, fscale, fp32, zp, lo, hi):
    """acc: int64 [..., n] -> int64 [..., n]."""
    acc = np.asarray(acc, np.int64)
    n = acc.shape[-1]
    if fp32:
        f = acc.astype(np.float32) * np.asarray(fscale[:n], np.float32)
        f = np.clip(f, np.float32(lo - zp), np.float32(hi - zp))
        return np.rint(f).astype(np.int64) + zp
    x = acc << lsh[:n].astype(np.int64)
    x = ((x + 2 ** 31) % 2 ** 32) - 2 ** 31                          # int32 wrap of the left shift
    h = _srdhm(x, mult[:n].astype(np.int64))
    e = rsh[:n].astype(np.int64)
    up = (h + ((np.int64(1) << e) >> 1)) >> e
    away = _rdbpot_away(h, e)
    v = np.where(np.arange(n) < nup, up, away)
    return np.clip(v + zp, lo, hi)


def flip_i8_u8(x, out):
    out[:] = (x.astype(np.int64) + 128).astype(np.uint8)


def requant_i32_q8_rows(acc, lda, m, n, mult, lsh, rsh, nup, fscale, fp32, zp, lo, hi, out, ldo):
    for i in range(m):
        out[i * ldo:i * ldo + n] = _requant(acc[i * lda:i * lda + n], mult, lsh, rsh, nup, fscale, fp32, zp, lo, hi)


def gemm_u8_q8_i32_generic(m, n, kp, a, lda, wt, init, c, ldc):
    A = np.stack([a[i * lda:i * lda + kp] for i in range(m)]).astype(np.int64)
    W = wt[:n * kp].reshape(n, kp).astype(np.int64)
    C = A @ W.T + init[:n].astype(np.int64)
    for i in range(m):
        c[i * ldc:i * ldc + n] = C[i]


def fill_pad(padv, batch, val):
    padv[:batch] = val


def _conv_acc(xu, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, groups, cout, wmat, init, padval):
    """int64 [batch*oh*ow, cout]; wmat: [cout, kh*kw*cg] (ky, kx, c order)."""
    cg, ng = cin // groups, cout // groups
    x = xu[:batch * h * w * cin].reshape(batch, h, w, cin).astype(np.int64)
    xp = np.full((batch, h + 2 * (kh * dh + oh * sh), w + 2 * (kw * dw + ow * sw), cin), padval, np.int64)
    py, px = kh * dh + oh * sh, kw * dw + ow * sw
    xp[:, py:py + h, px:px + w] = x
    acc = np.zeros((batch, oh, ow, cout), np.int64) + init[:cout].astype(np.int64)
    wm = wmat.reshape(cout, kh, kw, cg).astype(np.int64)
    for ky in range(kh):
        for kx in range(kw):
            y0, x0 = py - pt + ky * dh, px - pl + kx * dw
            patch = xp[:, y0:y0 + (oh - 1) * sh + 1:sh, x0:x0 + (ow - 1) * sw + 1:sw]
            for g in range(groups):
                acc[..., g * ng:(g + 1) * ng] += patch[..., g * cg:(g + 1) * cg] @ wm[g * ng:(g + 1) * ng, ky, kx].T
    return acc.reshape(-1, cout)


def conv2d_u8_q8_q8_generic(xu, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, groups, cout,
                            wt, init, padval, mb, mult, lsh, rsh, nup, fscale, fp32, zp, lo, hi,
                            col, acc, padv, out):
    cg, ng = cin // groups, cout // groups
    k = kh * kw * cg
    kp = (k + 3) // 4 * 4
    wmat = wt[:cout * kp].reshape(cout, kp)[:, :k]
    a = _conv_acc(xu, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, groups, cout, wmat, init, padval)
    out[:a.size] = _requant(a, mult, lsh, rsh, nup, fscale, fp32, zp, lo, hi).reshape(-1)


def gemm_u8_q8_q8_generic(m, n, kp, a, wt, init, mb, mult, lsh, rsh, nup, fscale, fp32, zp, lo, hi, acc, out):
    A = a[:m * kp].reshape(m, kp).astype(np.int64)
    C = A @ wt[:n * kp].reshape(n, kp).astype(np.int64).T + init[:n].astype(np.int64)
    out[:m * n] = _requant(C, mult, lsh, rsh, nup, fscale, fp32, zp, lo, hi).reshape(-1)


def pack_rows_u8(x, m, k, kp, xor, out):
    full = np.zeros((m, kp), np.uint8)
    full[:, :k] = (x[:m * k].reshape(m, k).astype(np.int64) & 255) ^ xor
    out[:m * kp] = full.reshape(-1)


def tconv_q8_q8_q8(x, zx, w, bias, sh, sw, pad_t, pad_l, mult, lsh, rsh, nup, fscale, fp32, zp, lo, hi,
                   xs, acc, out):
    nb, h, wd, cin = x.shape
    cout, kh, kw, _ = w.shape
    oh, ow = out.shape[1], out.shape[2]
    a = np.zeros((nb, oh, ow, cout), np.int64) + bias.astype(np.int64)
    xx = x.astype(np.int64) - zx
    w64 = w.astype(np.int64)
    for iy in range(h):
        for ix in range(wd):
            for ky in range(kh):
                for kx in range(kw):
                    oy, ox = iy * sh - pad_t + ky, ix * sw - pad_l + kx
                    if 0 <= oy < oh and 0 <= ox < ow:
                        a[:, oy, ox] += xx[:, iy, ix] @ w64[:, ky, kx].T
    out[...] = _requant(a, mult, lsh, rsh, nup, fscale, fp32, zp, lo, hi)


def rows_sub_zp_i16(src, b, r, c, zp, transpose, out):
    v = src[:b * r * c].reshape(b, r, c).astype(np.int64) - zp
    if transpose:
        v = v.transpose(0, 2, 1)
    out[:b * r * c] = v.reshape(-1).astype(np.int16)


def batch_matmul_q8_q8_q8(m, n, k, a, a_idx, bt, b_idx, mult, lsh, rsh, nup, fscale, fp32, zp, lo, hi, acc, out):
    for bi in range(a_idx.shape[0]):
        A = a.reshape(-1, m, k)[a_idx[bi]].astype(np.int64)
        B = bt.reshape(-1, n, k)[b_idx[bi]].astype(np.int64)
        out[bi * m * n:(bi + 1) * m * n] = _requant(A @ B.T, mult, lsh, rsh, nup, fscale, fp32, zp, lo,
                                                      hi).reshape(-1)


# ---------------------------------------------------------------- VNNI drivers
_TILES = {0: (1, 64), 1: (6, 64), 2: (8, 32), 3: (8, 48), 4: (8, 16)}


def _unpack_vnni(wq, n, kp, nr):
    """pack_qc8w_vnni layout [npan][kp/4][nr][4] (int8 bytes of wq) -> [n, kp]."""
    npan = -(-n // nr)
    b = wq.view(np.int8)[:npan * nr * kp].reshape(npan, kp // 4, nr, 4)
    return b.transpose(0, 2, 1, 3).reshape(npan * nr, kp)[:n]


def igemm_a_rows(r0, r1, ntap, kc4, a, ind, istr, ao, lda):
    """The A rows r0..r1 (ntap*kc4*4 bytes each, int64) that the (indirect)
    GEMM reads: tap t of row r at ao + r*lda (istr == 0) or ind[t*istr + r] + ao."""
    ab = a.view(np.uint8)
    rows = []
    for r in range(r0, r1):
        offs = [ao + r * lda] if istr == 0 else [int(ind[t * istr + r]) + ao for t in range(ntap)]
        rows.append(np.concatenate([ab[o:o + 4 * kc4] for o in offs]))
    return np.array(rows, np.int64).reshape(r1 - r0, ntap * kc4 * 4)


def igemm_u8_i8_q8_vnni(tile, r0, r1, n, ntap, kc4, a, ind, istr, ao, lda, wq, init, mult, lsh, rsh, fscale, nup,
                        fp32, zp, lo, hi, c, ldc, mc):
    if r1 <= r0:
        return
    A = igemm_a_rows(r0, r1, ntap, kc4, a, ind, istr, ao, lda)
    W = _unpack_vnni(wq, n, ntap * kc4 * 4, _TILES[tile][1]).astype(np.int64)
    C = _requant(A @ W.T + init[:n].astype(np.int64), mult, lsh, rsh, nup, fscale, fp32, zp, lo, hi)
    for i, r in enumerate(range(r0, r1)):
        c[r * ldc:r * ldc + n] = C[i]


def gemm_u8_i8_q8_vnni(tile, m, n, kp, a, lda, wq, init, mult, lsh, rsh, fscale, nup, fp32, zp, lo, hi, out, ldo):
    igemm_u8_i8_q8_vnni(tile, 0, m, n, 1, kp // 4, a, None, 0, 0, lda, wq, init, mult, lsh, rsh, fscale, nup, fp32,
                        zp, lo, hi, out, ldo, 0)


def conv2d_u8_i8_q8_vnni(tile, r0, r1, groups, cg, ng, ntap, kc4, a, ind, istr, lda, wq, init, mult, lsh, rsh,
                         fscale, nup, fp32, zp, lo, hi, out, ldo, mc):
    nr = _TILES[tile][1]
    npad = -(-ng // nr) * nr
    gsz = npad * ntap * kc4
    for g in range(groups):
        sl = slice(g * npad, None)
        igemm_u8_i8_q8_vnni(tile, r0, r1, ng, ntap, kc4, a, ind, istr, g * cg, lda, wq[g * gsz:], init[sl], mult[sl],
                            lsh[sl], rsh[sl], fscale[sl], nup - g * ng, fp32, zp, lo, hi, out[g * ng:], ldo, mc)


def conv2d_qs8_vnni(x, xu, zoff, zlen, padval, tile, m, groups, cg, ng, ntap, kc4, ind, istr, lda, wq, init, mult, lsh,
                    rsh, fscale, nup, fp32, zp, lo, hi, out, mc):
    flip_i8_u8(x, xu[:x.shape[0]])
    xu[zoff:zoff + zlen] = padval
    conv2d_u8_i8_q8_vnni(tile, 0, m, groups, cg, ng, ntap, kc4, xu, ind, istr, lda, wq, init, mult, lsh, rsh, fscale,
                         nup, fp32, zp, lo, hi, out, groups * ng, mc)


def fc_qs8_vnni(x, k, kp, a, tile, m, n, wq, init, mult, lsh, rsh, fscale, nup, fp32, zp, lo, hi, out):
    pack_rows_u8(x, m, k, kp, 128, a)
    gemm_u8_i8_q8_vnni(tile, m, n, kp, a, kp, wq, init, mult, lsh, rsh, fscale, nup, fp32, zp, lo, hi, out, n)
