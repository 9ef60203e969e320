"""Plain-NumPy twins of kernels/gemm.py (same names, same arguments).

Written the obvious way (np.matmul on unpacked weights, float64 accumulation
where it is free), independent of the packed-panel index arithmetic except
where the packed layout itself is the contract (pack_gemm_f32).
"""
import numpy as np

NR_OF_TILE = {0: 64, 1: 32, 2: 16, 3: 32}


def _unpack(w, n, k, nr):
    """Packed panels -> (W[n, k], bias[n])."""
    npan = -(-n // nr)
    p = w[:npan * (k + 1) * nr].reshape(npan, k + 1, nr)
    bias = p[:, 0, :].reshape(-1)[:n]
    wt = p[:, 1:, :].transpose(0, 2, 1).reshape(npan * nr, k)[:n]
    return wt, bias


def _round(r, rnd):
    return r.astype(np.float16).astype(np.float32) if rnd else r


def _gemm(m, n, k, a, lda, w, lo, hi, c, ldc, nr, rnd=False):
    A = np.lib.stride_tricks.as_strided(a, (m, k), (lda * 4, 4)) if m else np.zeros((0, k), np.float32)
    W, bias = _unpack(w, n, k, nr)
    r = A.astype(np.float64) @ W.T.astype(np.float64) + bias
    C = np.lib.stride_tricks.as_strided(c, (m, n), (ldc * 4, 4), writeable=True)
    C[...] = _round(np.clip(r, lo, hi).astype(np.float32), rnd)


def pack_gemm_f32(w, w_off, sn, sk, n, k, bias, nr, out):
    npan = -(-n // nr)
    W = np.zeros((npan * nr, k), np.float32)
    jj, kk = np.meshgrid(np.arange(n), np.arange(k), indexing="ij")
    W[:n] = w[w_off + jj * sn + kk * sk]
    B = np.zeros(npan * nr, np.float32)
    B[:n] = bias[:n]
    panels = np.concatenate([B.reshape(npan, 1, nr), W.reshape(npan, nr, k).transpose(0, 2, 1)], axis=1)
    out[:panels.size] = panels.reshape(-1)


def gemm_f32_f32_f32_tiled_minmax(tile, m, n, k, a, lda, w, lo, hi, c, ldc, rnd):
    _gemm(m, n, k, a, lda, w, lo, hi, c, ldc, NR_OF_TILE[tile], rnd)


def gemm_f32_f32_f32_rows_minmax(tile, m, n, k, a, lda, w, lo, hi, c, ldc, rnd=False):
    _gemm(m, n, k, a, lda, w, lo, hi, c, ldc, NR_OF_TILE[tile], rnd)


def gemv_f32_f32_f32_minmax(n, k, a, w, lo, hi, c, rnd=False):
    _gemm(1, n, k, a, k, w, lo, hi, c, n, 64, rnd)


def gemm_f32_f32_f32_minmax(tile, m, n, k, a, lda, w, lo, hi, c, ldc, rnd=False):
    _gemm(m, n, k, a, lda, w, lo, hi, c, ldc, NR_OF_TILE[tile], rnd)


def transpose_f32_batched(x, batches, rows, cols, out):
    out[:batches * rows * cols] = x[:batches * rows * cols].reshape(batches, rows, cols).transpose(0, 2, 1).reshape(-1)


def pack_gemm_f32_batched(w, nb, sn, sk, n, k, bias, nr, out):
    ps = -(-n // nr) * (k + 1) * nr
    for b in range(nb):
        pack_gemm_f32(w, b * n * k, sn, sk, n, k, bias, nr, out[b * ps:(b + 1) * ps])


def batch_matmul_f32_f32_f32(tile, m, n, k, a, a_idx, w, w_idx, c, rnd=False):
    nr = NR_OF_TILE[tile]
    ps = -(-n // nr) * (k + 1) * nr
    A = a.reshape(-1, m, k) if m * k else np.zeros((max(a_idx, default=-1) + 1, m, k), np.float32)
    for b, (ia, iw) in enumerate(zip(a_idx, w_idx)):
        W, bias = _unpack(w[iw * ps:(iw + 1) * ps], n, k, nr)
        c[b * m * n:(b + 1) * m * n] = _round((A[ia].astype(np.float64) @ W.T + bias).astype(np.float32),
                                              rnd).reshape(-1)


def batch_matmul_f32_f32_f32_nat(tile, m, n, k, a, a_idx, b, b_idx, c, rnd=False):
    A = a.reshape(-1, m, k) if m * k else np.zeros((max(a_idx, default=-1) + 1, m, k), np.float32)
    B = b.reshape(-1, k, n) if k * n else np.zeros((max(b_idx, default=-1) + 1, k, n), np.float32)
    for i, (ia, ib) in enumerate(zip(a_idx, b_idx)):
        c[i * m * n:(i + 1) * m * n] = _round((A[ia].astype(np.float64) @ B[ib]).astype(np.float32), rnd).reshape(-1)


def _view(x, off, rows, cols, ld):
    return np.lib.stride_tricks.as_strided(x[off:], (rows, cols), (ld * x.itemsize, x.itemsize))


def batch_matmul_f32_strided_nat(tile, m, n, k, a, a_off, lda, b, b_off, ldb, c, c_off, ldc, rnd=False, scaled=False,
                                 scale=np.float32(1.0)):
    for ao, bo, co in zip(a_off, b_off, c_off):
        r = _view(a, ao, m, k, lda).astype(np.float64) @ _view(b, bo, k, n, ldb)
        C = np.lib.stride_tricks.as_strided(c[co:], (m, n), (ldc * 4, 4), writeable=True)
        C[...] = _round(r.astype(np.float32), rnd)
        if scaled:
            C *= np.float32(scale)


def batch_matmul_f32_strided_packed(tile, m, n, k, a, a_off, lda, w, w_off, sn, sk, bias, wp, c, c_off, ldc,
                                    rnd=False, scaled=False, scale=np.float32(1.0)):
    for ao, wo, co in zip(a_off, w_off, c_off):
        W = np.lib.stride_tricks.as_strided(w[wo:], (n, k), (sn * 4, sk * 4))
        r = _view(a, ao, m, k, lda).astype(np.float64) @ W.T.astype(np.float64) + bias[:n]
        C = np.lib.stride_tricks.as_strided(c[co:], (m, n), (ldc * 4, 4), writeable=True)
        C[...] = _round(r.astype(np.float32), rnd)
        if scaled:
            C *= np.float32(scale)


def im2col_f32(x, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, c0, cg, r0, nrows, out):
    X = x.reshape(-1, h, w, cin)[..., c0:c0 + cg]
    B = X.shape[0]
    ph, pw = (oh - 1) * sh + (kh - 1) * dh + 1, (ow - 1) * sw + (kw - 1) * dw + 1
    P = np.zeros((B, max(ph, pt + h), max(pw, pl + w), cg), np.float32)
    P[:, pt:pt + h, pl:pl + w] = X
    cols = np.empty((B, oh, ow, kh, kw, cg), np.float32)
    for ky in range(kh):
        for kx in range(kw):
            y0, x0 = ky * dh, kx * dw
            cols[:, :, :, ky, kx] = P[:, y0:y0 + (oh - 1) * sh + 1:sh, x0:x0 + (ow - 1) * sw + 1:sw]
    rows = cols.reshape(B * oh * ow, kh * kw * cg)[r0:r0 + nrows]
    out[:rows.size] = rows.reshape(-1)


def conv2d_f32_f32_f32_minmax(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, groups, cout,
                              tile, wp, mb, lo, hi, ws, out, rnd=False):
    nr = NR_OF_TILE[tile]
    cg, ng = cin // groups, cout // groups
    kdim = kh * kw * cg
    gs = -(-ng // nr) * (kdim + 1) * nr
    M = batch * oh * ow
    O = out.reshape(M, cout)
    for g in range(groups):
        cols = np.empty(M * kdim, np.float32)
        im2col_f32(x, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, g * cg, cg, 0, M, cols)
        W, bias = _unpack(wp[g * gs:(g + 1) * gs], ng, kdim, nr)
        r = cols.reshape(M, kdim).astype(np.float64) @ W.T.astype(np.float64) + bias
        O[:, g * ng:(g + 1) * ng] = _round(np.clip(r, lo, hi).astype(np.float32), rnd)
