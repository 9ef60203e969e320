"""Plain-NumPy twins of kernels/qgemm.py and kernels/qgemm_vnni.py (same names,
same arguments, written the obvious way)."""
import numpy as np


def _w(w, w_off, sn, sk, n, k):
    j = np.arange(n)[:, None]
    kk = np.arange(k)[None, :]
    return w[w_off + j * sn + kk * sk]


def pack_qc8w_vnni(w, w_off, sn, sk, n, k, nr, out):
    wm = _w(w, w_off, sn, sk, n, k)
    npan, kp = -(-n // nr), (k + 3) // 4 * 4
    full = np.zeros((npan * nr, kp), np.int8)
    full[:n, :k] = wm
    out[:npan * nr * kp] = full.reshape(npan, nr, kp // 4, 4).transpose(0, 2, 1, 3).reshape(-1)


def pack_qc8w_rows(w, w_off, sn, sk, n, k, kp, out):
    full = np.zeros((n, kp), np.int8)
    full[:, :k] = _w(w, w_off, sn, sk, n, k)
    out[:n * kp] = full.reshape(-1)


def qc8w_channel_params(w, w_off, sn, sk, n, k, wscale, bias, nks, ws, bs):
    nks[:], ws[:], bs[:] = 0, 0, 0
    nks[:n] = -_w(w, w_off, sn, sk, n, k).astype(np.int64).sum(1)
    ws[:n] = wscale[:n]
    bs[:n] = bias[:n]


def im2col_u8(x, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, c0, cg, r0, nrows, padv, kp, out):
    for r in range(nrows):
        b, t = divmod(r0 + r, oh * ow)
        oy, ox = divmod(t, ow)
        for ky in range(kh):
            for kx in range(kw):
                iy, ix = oy * sh - pt + ky * dh, ox * sw - pl + kx * dw
                o = r * kp + (ky * kw + kx) * cg
                if 0 <= iy < h and 0 <= ix < w:
                    s = ((b * h + iy) * w + ix) * cin + c0
                    out[o:o + cg] = x[s:s + cg]
                else:
                    out[o:o + cg] = padv[b]


def expand_image_params(scale, zpu, rows_per_image, r0, nrows, sa, za):
    b = (r0 + np.arange(nrows)) // rows_per_image
    sa[:nrows] = scale[b]
    za[:nrows] = zpu[b]


def tile_shape(tile):
    return {0: (1, 64), 1: (6, 64), 2: (8, 32), 3: (8, 48), 4: (8, 16)}[tile]


def conv_indirection(batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, zoff, zstride, ind):
    m = batch * oh * ow
    b, oy, ox = np.unravel_index(np.arange(m), (batch, oh, ow))
    for ky in range(kh):
        for kx in range(kw):
            iy, ix = oy * sh - pt + ky * dh, ox * sw - pl + kx * dw
            inside = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
            t = ky * kw + kx
            ind[t * m:(t + 1) * m] = np.where(inside, ((b * h + iy) * w + ix) * cin, zoff + b * zstride)


def fill_rows_u8(a, off, stride, nrows, length, vals):
    for b in range(nrows):
        a[off + b * stride:off + b * stride + length] = np.uint8(vals[b])


def qd8_epilogue(acc, sa, ws, bs, tfl, lo, hi):
    """Float epilogue on an exact int32 [m, n] accumulator.  XNNPack order:
    fma(float(acc)*s, ws, b); TFLite order (tfl): float(acc)*(ws*s) + b, all
    float32 ops rounded separately.  The fma is emulated: the float64 product
    of two float32 is exact, then one float64 add, then one rounding to
    float32 (a double rounding that can differ from a true fma in ~2^-29 of
    cases)."""
    f = np.float32
    fa = acc.astype(f)
    if tfl:
        y = (fa * (ws[None, :] * sa[:, None]).astype(f)).astype(f) + bs[None, :]
        return np.minimum(np.maximum(y, f(lo)), f(hi)).astype(f)
    p, q = (fa * sa[:, None]).astype(f), ws[None, :]
    y = (p.astype(np.float64) * q.astype(np.float64) + bs[None, :].astype(np.float64)).astype(f)
    return np.minimum(np.maximum(y, f(lo)), f(hi)).astype(f)


def qd8_acc(au8, zpu, w_nk):
    """int32 sum_k (qu - zpu) * w, computed in int64 (exact)."""
    return ((au8.astype(np.int64) - zpu.astype(np.int64)[:, None]) @ w_nk.astype(np.int64).T)


def gemm_qdu8_qc8w_f32_generic(m, n, kp, a, lda, sa, zpa, wt, nks, ws, bs, tfl, lo, hi, c, ldc):
    am = np.stack([a[i * lda:i * lda + kp] for i in range(m)])
    wm = wt[:n * kp].reshape(n, kp)
    acc = am.astype(np.int64) @ wm.astype(np.int64).T + nks[:n].astype(np.int64)[None, :] * zpa[:m, None]
    y = qd8_epilogue(acc, sa[:m], ws[:n], bs[:n], tfl, lo, hi)
    for i in range(m):
        c[i * ldc:i * ldc + n] = y[i]


def _unpack(wq, n, kp, nr):
    npan = -(-n // nr)
    return wq.view(np.int8)[:npan * nr * kp].reshape(npan, kp // 4, nr, 4).transpose(0, 2, 1, 3).reshape(npan * nr,
                                                                                                        kp)[:n]


def igemm_qdu8_qc8w_f32_vnni(tile, r0, r1, n, ntap, kc4, a, ind, istr, ao, lda, sa, zpa, so, wq, nks, ws, bs, tfl, lo,
                             hi, c, ldc, mc):
    from .qs8 import _TILES, igemm_a_rows
    if r1 <= r0:
        return
    A = igemm_a_rows(r0, r1, ntap, kc4, a, ind, istr, ao, lda)
    W = _unpack(wq, n, ntap * kc4 * 4, _TILES[tile][1]).astype(np.int64)
    z = zpa[r0 - so:r1 - so].astype(np.int64)
    acc = A @ W.T + nks[:n].astype(np.int64)[None, :] * z[:, None]
    y = qd8_epilogue(acc, sa[r0 - so:r1 - so], ws[:n], bs[:n], tfl, lo, hi)
    for i, r in enumerate(range(r0, r1)):
        c[r * ldc:r * ldc + n] = y[i]


def gemm_qdu8_qc8w_f32_vnni(tile, m, n, kp, a32, lda4, sa, zpa, wq, nks, ws, bs, tfl, lo, hi, c, ldc):
    igemm_qdu8_qc8w_f32_vnni(tile, 0, m, n, 1, kp // 4, a32, None, 0, 0, lda4 * 4, sa, zpa, 0, wq, nks, ws, bs, tfl,
                             lo, hi, c, ldc, 0)


def gemm_qdu8_qc8w_f32_rows_vnni(tile, m, n, kp, a, lda, sa, zpa, wq, nks, ws, bs, tfl, lo, hi, c, ldc):
    igemm_qdu8_qc8w_f32_vnni(tile, 0, m, n, 1, kp // 4, a, None, 0, 0, lda, sa, zpa, 0, wq, nks, ws, bs, tfl, lo, hi,
                             c, ldc, 0)


def gemv_qdu8_qc8w_f32_vnni(n, kp, a, ao, sa, zpa, r, wq, nks, ws, bs, tfl, lo, hi, c, co):
    au8 = a.view(np.uint8)[ao:ao + kp].astype(np.int64)
    W = _unpack(wq, n, kp, 64).astype(np.int64)
    acc = (W @ au8 + nks[:n].astype(np.int64) * int(zpa[r]))[None, :]
    c[co:co + n] = qd8_epilogue(acc, sa[r:r + 1], ws[:n], bs[:n], tfl, lo, hi)[0]


def gemv16_qdu8_qc8w_f32_vnni(n, kp, a, ao, sa, zpa, r, wq, nks, ws, bs, tfl, lo, hi, c, co):
    au8 = a.view(np.uint8)[ao:ao + kp].astype(np.int64)
    W = _unpack(wq, n, kp, 16).astype(np.int64)
    acc = (W @ au8 + nks[:n].astype(np.int64) * int(zpa[r]))[None, :]
    c[co:co + n] = qd8_epilogue(acc, sa[r:r + 1], ws[:n], bs[:n], tfl, lo, hi)[0]


def batch_matmul_qdu8_qc8w_f32_vnni(tile, m, n, kp, a, sa, zpa, a_idx, wq, w_idx, nks, ws, bs, tfl, c):
    from .qs8 import _TILES
    nr = _TILES[tile][1]
    npad = -(-n // nr) * nr
    wsz = npad * kp // 4
    inf = np.float32(np.inf)
    for b in range(a_idx.shape[0]):
        ai, wi = a_idx[b], w_idx[b]
        gemm_qdu8_qc8w_f32_rows_vnni(tile, m, n, kp, a[ai * m * kp:], kp, sa[ai * m:], zpa[ai * m:], wq[wi * wsz:],
                                     nks[wi * npad:], ws[wi * npad:], bs[wi * npad:], tfl, -inf, inf, c[b * m * n:], n)


def conv2d_qdu8_qc8w_f32_vnni(tile, r0, r1, groups, cg, ng, ntap, kc4, a, ind, istr, lda, scale, zpu, rpi, wq, nks,
                              ws, bs, tfl, lo, hi, out, ldo, mc, sa, za):
    from .qs8 import _TILES
    nr = _TILES[tile][1]
    npad = -(-ng // nr) * nr
    gsz = npad * ntap * kc4
    rows = np.arange(r0, r1) // rpi
    sa_, za_ = scale[rows], zpu[rows]
    for g in range(groups):
        sl = slice(g * npad, None)
        igemm_qdu8_qc8w_f32_vnni(tile, r0, r1, ng, ntap, kc4, a, ind, istr, g * cg, lda, sa_, za_, r0, wq[g * gsz:],
                                 nks[sl], ws[sl], bs[sl], tfl, lo, hi, out[g * ng:], ldo, mc)


def conv2d_qd8_vnni(qmode, x2, q2, xq, scale, zpu, zoff, zlen, tile, m, groups, cg, ng, ntap, kc4, ind, istr, lda, rpi,
                    wq, nks, ws, bs, tfl, lo, hi, out, mc, sa, za):
    from .dynquant import dynquant_f32_qd8_tflite, dynquant_f32_qd8_xnn, dynquant_f32_qs8_tflite_sym
    (dynquant_f32_qd8_xnn, dynquant_f32_qd8_tflite, dynquant_f32_qs8_tflite_sym)[qmode](x2, 128, q2, scale, zpu)
    fill_rows_u8(xq, zoff, zlen, x2.shape[0], zlen, zpu)
    conv2d_qdu8_qc8w_f32_vnni(tile, 0, m, groups, cg, ng, ntap, kc4, xq, ind, istr, lda, scale, zpu, rpi, wq, nks, ws,
                              bs, tfl, lo, hi, out, groups * ng, mc, sa, za)


def gemm_qd8_rows_vnni(qmode, x, q, sa, za, tile, n, kp, wq, nks, ws, bs, tfl, lo, hi, c, ldc):
    from .dynquant import dynquant_f32_qd8_tflite, dynquant_f32_qd8_xnn, dynquant_f32_qs8_tflite_sym
    (dynquant_f32_qd8_xnn, dynquant_f32_qd8_tflite, dynquant_f32_qs8_tflite_sym)[qmode](x, 128, q, sa, za)
    gemm_qdu8_qc8w_f32_rows_vnni(tile, x.shape[0], n, kp, q.reshape(-1), kp, sa, za, wq, nks, ws, bs, tfl, lo, hi, c,
                                 ldc)


def fc_qd8_vnni(x, work, wall, c):
    qmode, tile, n, kp, tfl, ldc, npad, nw = (int(v) for v in wall[:8])
    lo, hi = wall[8:10].view(np.float32)
    o, m = 16, x.shape[0]
    qw = m * kp // 4
    gemm_qd8_rows_vnni(qmode, x, work[:qw].view(np.uint8).reshape(m, kp), work[qw:qw + m].view(np.float32),
                       work[qw + m:qw + 2 * m], tile, n, kp, wall[o:o + nw], wall[o + nw:o + nw + npad],
                       wall[o + nw + npad:o + nw + 2 * npad].view(np.float32),
                       wall[o + nw + 2 * npad:o + nw + 3 * npad].view(np.float32), bool(tfl), lo, hi, c, ldc)


def fc_qd8_gemv_vnni(x, work, wall, c):
    fc_qd8_vnni(x, work, wall, c)


def fc_chain_qd8_vnni(x, work, walls, offs, tmp, c):
    src = x
    for i in range(len(offs) - 1):
        wall = walls[offs[i]:offs[i + 1]]
        n = int(wall[2])
        out = c if i == len(offs) - 2 else np.empty(src.shape[0] * n, np.float32)
        fc_qd8_vnni(src, work, wall, out)
        src = out[:src.shape[0] * n].reshape(-1, n)
