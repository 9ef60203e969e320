"""Transposed 2-D convolution (deconvolution), NHWC.

Every input pixel x[n, iy, ix, :] (outer) w[ky, kx, :, :] lands on output pixel
(iy*sh - pad_t + ky, ix*sw - pad_l + kx) when that pixel is inside the output;
the output is cropped, never grown.  Weights are packed [KH, KW, C_in, C_out].

float32 (``deconv_f32_f32_f32_minmax``) is computed output-centric, in
XNNPack's deconvolution order: each output element starts from the bias, then
its contributing taps in (ky, kx) ascending order (XNNPack's subconvolution /
IGEMM packing), each tap's input channels in order, one FMA per product.
Hence results bit-identical to LiteRT's XNNPack deconvolution (a tap whose
input pixel is outside the image adds nothing; XNNPack reads zeros there).
Explicit SIMD over 16 output channels; 4 output pixels of the same stride
phase (same taps) share each weight vector.
"""
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from ._jit import FAST_F32, kernel
from .qs8 import requant_i32_q8_rows
from .simd import LANES, _splat, f32x16, fma_f32, vbroadcast, vfma, vload, vload_n, vmax, vmin, vsplat, vstore, vstore_n
from .simd_int import (vload_n_if, vshuf_even128, vshuf_odd128, vstore_range, vunpackhi_pd, vunpackhi_ps, vunpacklo_pd,
                       vunpacklo_ps, vzip_hi, vzip_lo)


@kernel(fastmath=FAST_F32)
def _taps_from(o, pad, s, k, n_in):
    """First filter tap k0 (then every s-th below k) feeding output coordinate o, and the
    input coordinate i0 = (o + pad - k0) // s of tap k0 (tap k0 + t*s reads i0 - t)."""
    k0 = (o + pad) % s
    return k0, (o + pad - k0) // s


@kernel(fastmath=FAST_F32)
def deconv_f32_f32_f32_minmax(x, w, b, sh, sw, pad_t, pad_l, lo, hi, out):
    """x: (N, H, W, Cin); w: (KH, KW, Cin, Cout); b: (Cout,); out: (N, OH, OW, Cout).

    out = clamp(b + scatter(x, w), lo, hi).  Reference: kernels/reference/deconv.py
    """
    n_b, h, wd, cin = x.shape
    kh, kw, _, cout = w.shape
    oh, ow = out.shape[1], out.shape[2]
    vlo = vsplat(lo)
    vhi = vsplat(hi)
    wt = kw * cin * cout                 # flat distance between filter rows ky, ky + 1
    for n in range(n_b):
        for oy in range(oh):
            ky0, iy0 = _taps_from(oy, pad_t, sh, kh, h)
            ob = (n * oh + oy) * ow * cout
            for px in range(min(sw, ow)):            # output columns px, px + sw, ...: the same taps
                kx0, ix0 = _taps_from(px, pad_l, sw, kw, wd)
                npx = (ow - px + sw - 1) // sw         # pixels of this phase; pixel j reads ix0 + j - t (tap kx0 + t*sw)
                # pixels j whose every tap column is inside the image: ix0 + j - t in [0, wd) for all t
                ntx = (kw - 1 - kx0) // sw + 1 if kx0 < kw else 0
                ja = min(npx, max(0, ntx - 1 - ix0))
                jb = max(ja, min(npx, wd - ix0))
                for cc in range(0, cout, 16):
                    nv = min(16, cout - cc)
                    bv = vload_n(b, cc, nv)
                    j = 0
                    while j < npx:
                        if j >= ja and j + 4 <= jb:
                            a0 = bv
                            a1 = bv
                            a2 = bv
                            a3 = bv
                            for ky in range(ky0, kh, sh):
                                iy = iy0 - (ky - ky0) // sh
                                if iy < 0 or iy >= h:
                                    continue
                                for kx in range(kx0, kw, sw):
                                    ix = ix0 + j - (kx - kx0) // sw
                                    xp = ((n * h + iy) * wd + ix) * cin
                                    wo = ky * wt + kx * cin * cout + cc
                                    for ic in range(cin):
                                        wv = vload_n(w, wo, nv)
                                        a0 = vfma(vbroadcast(x, xp), wv, a0)
                                        a1 = vfma(vbroadcast(x, xp + cin), wv, a1)
                                        a2 = vfma(vbroadcast(x, xp + 2 * cin), wv, a2)
                                        a3 = vfma(vbroadcast(x, xp + 3 * cin), wv, a3)
                                        xp += 1
                                        wo += cout
                            o = ob + (px + j * sw) * cout + cc
                            vstore_n(out, o, vmin(vmax(a0, vlo), vhi), nv)
                            vstore_n(out, o + sw * cout, vmin(vmax(a1, vlo), vhi), nv)
                            vstore_n(out, o + 2 * sw * cout, vmin(vmax(a2, vlo), vhi), nv)
                            vstore_n(out, o + 3 * sw * cout, vmin(vmax(a3, vlo), vhi), nv)
                            j += 4
                        else:
                            a0 = bv
                            for ky in range(ky0, kh, sh):
                                iy = iy0 - (ky - ky0) // sh
                                if iy < 0 or iy >= h:
                                    continue
                                for kx in range(kx0, kw, sw):
                                    ix = ix0 + j - (kx - kx0) // sw
                                    if ix < 0 or ix >= wd:
                                        continue
                                    xp = ((n * h + iy) * wd + ix) * cin
                                    wo = ky * wt + kx * cin * cout + cc
                                    for ic in range(cin):
                                        a0 = vfma(vbroadcast(x, xp), vload_n(w, wo, nv), a0)
                                        xp += 1
                                        wo += cout
                            vstore_n(out, ob + (px + j * sw) * cout + cc, vmin(vmax(a0, vlo), vhi), nv)
                            j += 1


@kernel(fastmath=FAST_F32)
def _transpose16(x, p, stride, npix, nc, xts):
    """xts[i*16 + j] = x.flat[p + j*stride + i] for pixels j < npix and channels i < nc
    (0 elsewhere): 16 pixels x 16 channels to channel-major, in registers."""
    r0 = vload_n_if(x, p, nc, 0 < npix)
    r1 = vload_n_if(x, p + stride, nc, 1 < npix)
    r2 = vload_n_if(x, p + 2 * stride, nc, 2 < npix)
    r3 = vload_n_if(x, p + 3 * stride, nc, 3 < npix)
    r4 = vload_n_if(x, p + 4 * stride, nc, 4 < npix)
    r5 = vload_n_if(x, p + 5 * stride, nc, 5 < npix)
    r6 = vload_n_if(x, p + 6 * stride, nc, 6 < npix)
    r7 = vload_n_if(x, p + 7 * stride, nc, 7 < npix)
    r8 = vload_n_if(x, p + 8 * stride, nc, 8 < npix)
    r9 = vload_n_if(x, p + 9 * stride, nc, 9 < npix)
    r10 = vload_n_if(x, p + 10 * stride, nc, 10 < npix)
    r11 = vload_n_if(x, p + 11 * stride, nc, 11 < npix)
    r12 = vload_n_if(x, p + 12 * stride, nc, 12 < npix)
    r13 = vload_n_if(x, p + 13 * stride, nc, 13 < npix)
    r14 = vload_n_if(x, p + 14 * stride, nc, 14 < npix)
    r15 = vload_n_if(x, p + 15 * stride, nc, 15 < npix)
    # 4x4 blocks of floats, then of pairs, then of 128-bit lanes (twice)
    t0, t1 = vunpacklo_ps(r0, r1), vunpackhi_ps(r0, r1)
    t2, t3 = vunpacklo_ps(r2, r3), vunpackhi_ps(r2, r3)
    t4, t5 = vunpacklo_ps(r4, r5), vunpackhi_ps(r4, r5)
    t6, t7 = vunpacklo_ps(r6, r7), vunpackhi_ps(r6, r7)
    t8, t9 = vunpacklo_ps(r8, r9), vunpackhi_ps(r8, r9)
    t10, t11 = vunpacklo_ps(r10, r11), vunpackhi_ps(r10, r11)
    t12, t13 = vunpacklo_ps(r12, r13), vunpackhi_ps(r12, r13)
    t14, t15 = vunpacklo_ps(r14, r15), vunpackhi_ps(r14, r15)
    r0, r1 = vunpacklo_pd(t0, t2), vunpackhi_pd(t0, t2)
    r2, r3 = vunpacklo_pd(t1, t3), vunpackhi_pd(t1, t3)
    r4, r5 = vunpacklo_pd(t4, t6), vunpackhi_pd(t4, t6)
    r6, r7 = vunpacklo_pd(t5, t7), vunpackhi_pd(t5, t7)
    r8, r9 = vunpacklo_pd(t8, t10), vunpackhi_pd(t8, t10)
    r10, r11 = vunpacklo_pd(t9, t11), vunpackhi_pd(t9, t11)
    r12, r13 = vunpacklo_pd(t12, t14), vunpackhi_pd(t12, t14)
    r14, r15 = vunpacklo_pd(t13, t15), vunpackhi_pd(t13, t15)
    t0, t4 = vshuf_even128(r0, r4), vshuf_odd128(r0, r4)
    t1, t5 = vshuf_even128(r1, r5), vshuf_odd128(r1, r5)
    t2, t6 = vshuf_even128(r2, r6), vshuf_odd128(r2, r6)
    t3, t7 = vshuf_even128(r3, r7), vshuf_odd128(r3, r7)
    t8, t12 = vshuf_even128(r8, r12), vshuf_odd128(r8, r12)
    t9, t13 = vshuf_even128(r9, r13), vshuf_odd128(r9, r13)
    t10, t14 = vshuf_even128(r10, r14), vshuf_odd128(r10, r14)
    t11, t15 = vshuf_even128(r11, r15), vshuf_odd128(r11, r15)
    vstore(xts, 0, vshuf_even128(t0, t8))
    vstore(xts, 16, vshuf_even128(t1, t9))
    vstore(xts, 32, vshuf_even128(t2, t10))
    vstore(xts, 48, vshuf_even128(t3, t11))
    vstore(xts, 64, vshuf_even128(t4, t12))
    vstore(xts, 80, vshuf_even128(t5, t13))
    vstore(xts, 96, vshuf_even128(t6, t14))
    vstore(xts, 112, vshuf_even128(t7, t15))
    vstore(xts, 128, vshuf_odd128(t0, t8))
    vstore(xts, 144, vshuf_odd128(t1, t9))
    vstore(xts, 160, vshuf_odd128(t2, t10))
    vstore(xts, 176, vshuf_odd128(t3, t11))
    vstore(xts, 192, vshuf_odd128(t4, t12))
    vstore(xts, 208, vshuf_odd128(t5, t13))
    vstore(xts, 224, vshuf_odd128(t6, t14))
    vstore(xts, 240, vshuf_odd128(t7, t15))


def pixel_scratch_size(kh, kw, cout):
    """float32 words of deconv_f32_f32_f32_pixel_minmax's scratch."""
    return 256 + 16 + 16 * kh * kw * cout


@kernel(fastmath=FAST_F32)
def deconv_f32_f32_f32_pixel_minmax(x, w, b, sh, sw, pad_t, pad_l, lo, hi, ws, out):
    """deconv_f32_f32_f32_minmax for a filter no larger than the stride (KH <= sh,
    KW <= sw): output pixel (iy*sh - pad_t + ky, ix*sw - pad_l + kx) receives the
    one tap (ky, kx) of input pixel (iy, ix) and nothing else, so

        out = clamp(b + sum_ic x[iy, ix, ic] * w[ky, kx, ic, :])

    bias first, input channels in order, one FMA each (XNNPack's order); output
    pixels no tap reaches get clamp(b).  Explicit SIMD over 16 input pixels of a
    row (a 16x16 in-register transpose makes them channel-major), for few output
    channels (the channel-vectorized kernel wastes lanes there).
    ws: float32 scratch of pixel_scratch_size(KH, KW, Cout) words.
    Reference: kernels/reference/deconv.py
    """
    n_b, h, wd, cin = x.shape
    kh, kw, _, cout = w.shape
    oh, ow = out.shape[1], out.shape[2]
    vlo = vsplat(lo)
    vhi = vsplat(hi)
    of = out.reshape(-1)
    xts = ws[:256]
    tmp = ws[256:272]
    accs = ws[272:]
    zip2 = cout == 1 and kw == 2 and sw == 2
    if not (kh == sh and kw == sw and oh + pad_t <= h * sh and ow + pad_l <= wd * sw):
        for p in range(n_b * oh * ow):                 # pixels without a tap: the bias
            for cc in range(0, cout, 16):
                nv = min(16, cout - cc)
                vstore_n(of, p * cout + cc, vmin(vmax(vload_n(b, cc, nv), vlo), vhi), nv)
    for n in range(n_b):
        for iy in range(h):
            for ix0 in range(0, wd, 16):
                npix = min(16, wd - ix0)
                for cc in range(0, cin, 16):
                    nc = min(16, cin - cc)
                    last = cc + 16 >= cin
                    _transpose16(x, ((n * h + iy) * wd + ix0) * cin + cc, cin, npix, nc, xts)
                    if zip2:
                        # 1 output channel, kernel 2 = stride 2 wide: the two column taps' pixels
                        # interleave into 32 consecutive outputs
                        for ky in range(kh):
                            oy = iy * sh - pad_t + ky
                            if oy < 0 or oy >= oh:
                                continue
                            a0 = vsplat(b[0]) if cc == 0 else vload(accs, ky * 32)
                            a1 = vsplat(b[0]) if cc == 0 else vload(accs, ky * 32 + 16)
                            wo = ky * 2 * cin + cc
                            for i in range(nc):
                                xv = vload(xts, i * 16)
                                a0 = vfma(xv, vbroadcast(w, wo), a0)
                                a1 = vfma(xv, vbroadcast(w, wo + cin), a1)
                                wo += 1
                            if not last:
                                vstore(accs, ky * 32, a0)
                                vstore(accs, ky * 32 + 16, a1)
                                continue
                            a0 = vmin(vmax(a0, vlo), vhi)
                            a1 = vmin(vmax(a1, vlo), vhi)
                            ox0 = ix0 * 2 - pad_l
                            ob = (n * oh + oy) * ow + ox0
                            top = min(2 * npix, ow - ox0)
                            vstore_range(of, ob, vzip_lo(a0, a1), max(0, -ox0), min(16, top))
                            vstore_range(of, ob + 16, vzip_hi(a0, a1), max(0, -ox0 - 16), min(16, top - 16))
                        continue
                    for ky in range(kh):
                        oy = iy * sh - pad_t + ky
                        if oy < 0 or oy >= oh:
                            continue
                        for kx in range(kw):
                            for oc in range(cout):
                                a = (ky * kw + kx) * cout + oc
                                acc = vsplat(b[oc]) if cc == 0 else vload(accs, a * 16)
                                wo = ((ky * kw + kx) * cin + cc) * cout + oc
                                for i in range(nc):
                                    acc = vfma(vload(xts, i * 16), vbroadcast(w, wo), acc)
                                    wo += cout
                                if not last:
                                    vstore(accs, a * 16, acc)
                                    continue
                                vstore(tmp, 0, vmin(vmax(acc, vlo), vhi))
                                ob = (n * oh + oy) * ow
                                for j in range(npix):
                                    ox = (ix0 + j) * sw - pad_l + kx
                                    if ox >= 0 and ox < ow:
                                        of[(ob + ox) * cout + oc] = tmp[j]


@kernel
def deconv_qdu8_qc8w_f32_minmax(xq, scale, zpu, w, ws, b, sh, sw, pad_t, pad_l, tfl, lo, hi, acc, out):
    """Hybrid (dynamic-range) transposed conv: per-image quantized input, int8
    per-output-channel weights, float32 output.  Same scatter as above.

    xq: (N, H, W, Cin) uint8 = q + 128, per image scale[n] and zpu[n] = zp + 128;
    w: (KH, KW, Cin, Cout) int8; ws, b: (Cout,) float32; acc: (OH, OW, Cout)
    int32 workspace; out: (N, OH, OW, Cout) float32.

    tfl false (XNNPack qd8 deconvolution): acc = sum of (q - zp) * w over the
    contributions (exact int32), out = clamp(fma(float(acc) * s, ws, b)).
    tfl true (TFLite reference_ops::HybridTransposeConv): out starts at 0 and
    every contribution adds float((q - zp) * w) * ws * s in float32 (separate
    ops, in scatter order: input row, input column, input channel), then
    out = clamp(out + b).  No fastmath: the order is part of the result.
    """
    n_b, h, wd, cin = xq.shape
    kh, kw, _, cout = w.shape
    oh, ow = out.shape[1], out.shape[2]
    for n in range(n_b):
        z = np.int32(zpu[n])
        s = scale[n]
        if tfl:
            for oy in range(oh):
                for ox in range(ow):
                    for oc in range(cout):
                        out[n, oy, ox, oc] = np.float32(0.0)
        else:
            for oy in range(oh):
                for ox in range(ow):
                    for oc in range(cout):
                        acc[oy, ox, oc] = 0
        for iy in range(h):
            for ky in range(kh):
                oy = iy * sh - pad_t + ky
                if oy < 0 or oy >= oh:
                    continue
                for ix in range(wd):
                    xp = xq[n, iy, ix]
                    for kx in range(kw):
                        ox = ix * sw - pad_l + kx
                        if ox < 0 or ox >= ow:
                            continue
                        wk = w[ky, kx]
                        if tfl:
                            op = out[n, oy, ox]
                            for ic in range(cin):
                                xv = np.int32(xp[ic]) - z
                                wr = wk[ic]
                                for oc in range(cout):
                                    op[oc] += np.float32(xv * np.int32(wr[oc])) * ws[oc] * s
                        else:
                            ap = acc[oy, ox]
                            for ic in range(cin):
                                xv = np.int32(xp[ic]) - z
                                wr = wk[ic]
                                for oc in range(cout):
                                    ap[oc] += xv * np.int32(wr[oc])
        for oy in range(oh):
            for ox in range(ow):
                op = out[n, oy, ox]
                for oc in range(cout):
                    if tfl:
                        y = op[oc] + b[oc]
                    else:
                        y = fma_f32(np.float32(acc[oy, ox, oc]) * s, ws[oc], b[oc])
                    op[oc] = min(max(y, lo), hi)


# ---------------------------------------------------------------- pixel-row kernel (few output channels)
def rows_scratch_size(h, wd, cin, kw):
    """float32 words of deconv_f32_f32_f32_rows_minmax's scratch: the channel-major image
    (H, Cin, W + 2 KW + 16: KW columns of margin left, KW + 16 right), a 16x16 transpose
    block and a 16-pixel x 8-channel output tile."""
    return h * cin * (wd + 2 * kw + 16) + 256 + 128


def rows_pack_w(w):
    """(KH, KW, Cin, Cout) -> (KH, KW, Cin, Cout rounded up to 8), zero-filled."""
    kh, kw, cin, cout = w.shape
    cop = -(-cout // 8) * 8
    wp = np.zeros((kh, kw, cin, cop), w.dtype)
    wp[..., :cout] = w
    return wp


@intrinsic
def _vsel_lanes(typingctx, a, b, lo, hi):
    """Lane-wise a for lanes lo <= j < hi, else b."""
    if not (a == b == f32x16 and isinstance(lo, types.Integer) and isinstance(hi, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        i64 = ir.IntType(64)
        vty = ir.VectorType(i64, LANES)
        lo64 = context.cast(builder, args[2], sig.args[2], types.int64)
        hi64 = context.cast(builder, args[3], sig.args[3], types.int64)
        iota = ir.Constant(vty, list(range(LANES)))
        m = builder.and_(builder.icmp_signed(">=", iota, _splat(builder, lo64, vty)),
                         builder.icmp_signed("<", iota, _splat(builder, hi64, vty)))
        return builder.select(m, args[0], args[1])
    return f32x16(a, b, lo, hi), codegen


@kernel(fastmath=FAST_F32)
def deconv_f32_f32_f32_rows_minmax(x, w, b, sh, sw, pad_t, pad_l, lo, hi, ws, out):
    """deconv_f32_f32_f32_minmax (same operations per output element, so the same bits:
    bias, then the taps in (ky, kx) order, input channels in order, one FMA each; a tap
    whose input pixel is outside the image is skipped) for few output channels: 16 output
    pixels of one row and stride phase per vector (they share their taps), 8 output
    channels at a time in 8 accumulators, the image transposed channel-major first.
    A tap column that leaves the image for some of the 16 pixels keeps the old
    accumulator in those lanes (a select after each FMA).

    w: (KH, KW, Cin, COP) from rows_pack_w (COP = Cout rounded up to 8, zero-filled);
    b: (COP,) zero-filled; ws: float32 scratch of rows_scratch_size(H, W, Cin, KW) words.
    Reference: kernels/reference/deconv.py
    """
    n_b, h, wd, cin = x.shape
    kh, kw, _, cop = w.shape
    oh, ow, cout = out.shape[1], out.shape[2], out.shape[3]
    wdp = wd + 2 * kw + 16
    nxt = h * cin * wdp
    xt = ws[:nxt]
    blk = ws[nxt:nxt + 256]
    tile = ws[nxt + 256:nxt + 384]
    xf = x.reshape(-1)
    wf = w.reshape(-1)
    of = out.reshape(-1)
    vlo = vsplat(lo)
    vhi = vsplat(hi)
    wt = kw * cin * cop
    for n in range(n_b):
        # channel-major image: xt[(iy * cin + ic) * wdp + kw + ix] = x[n, iy, ix, ic]
        for iy in range(h):
            for ix0 in range(0, wd, 16):
                npix = min(16, wd - ix0)
                for cc in range(0, cin, 16):
                    nc = min(16, cin - cc)
                    _transpose16(xf, ((n * h + iy) * wd + ix0) * cin + cc, cin, npix, nc, blk)
                    for i in range(nc):
                        vstore_n(xt, (iy * cin + cc + i) * wdp + kw + ix0, vload(blk, i * 16), npix)
        for oy in range(oh):
            ky0, iy0 = _taps_from(oy, pad_t, sh, kh, h)
            for px in range(min(sw, ow)):
                kx0, ix0 = _taps_from(px, pad_l, sw, kw, wd)
                npx = (ow - px + sw - 1) // sw          # pixels of this phase; pixel j reads ix0 + j - t
                for j0 in range(0, npx, 16):
                    cnt = min(16, npx - j0)
                    for cb in range(0, cout, 8):
                        a0 = vsplat(b[cb])
                        a1 = vsplat(b[cb + 1])
                        a2 = vsplat(b[cb + 2])
                        a3 = vsplat(b[cb + 3])
                        a4 = vsplat(b[cb + 4])
                        a5 = vsplat(b[cb + 5])
                        a6 = vsplat(b[cb + 6])
                        a7 = vsplat(b[cb + 7])
                        for ky in range(ky0, kh, sh):
                            iy = iy0 - (ky - ky0) // sh
                            if iy < 0 or iy >= h:
                                continue
                            for kx in range(kx0, kw, sw):
                                t = (kx - kx0) // sw
                                # lanes j whose input column ix0 + j0 + j - t is inside the image
                                jl = max(0, t - ix0 - j0)
                                jh = min(cnt, wd + t - ix0 - j0)
                                if jl >= jh:
                                    continue
                                xp = iy * cin * wdp + kw + ix0 + j0 - t
                                wo = ky * wt + kx * cin * cop + cb
                                if jl == 0 and jh == cnt:
                                    for ic in range(cin):
                                        xv = vload(xt, xp)
                                        a0 = vfma(xv, vbroadcast(wf, wo), a0)
                                        a1 = vfma(xv, vbroadcast(wf, wo + 1), a1)
                                        a2 = vfma(xv, vbroadcast(wf, wo + 2), a2)
                                        a3 = vfma(xv, vbroadcast(wf, wo + 3), a3)
                                        a4 = vfma(xv, vbroadcast(wf, wo + 4), a4)
                                        a5 = vfma(xv, vbroadcast(wf, wo + 5), a5)
                                        a6 = vfma(xv, vbroadcast(wf, wo + 6), a6)
                                        a7 = vfma(xv, vbroadcast(wf, wo + 7), a7)
                                        xp += wdp
                                        wo += cop
                                else:
                                    for ic in range(cin):
                                        xv = vload(xt, xp)
                                        a0 = _vsel_lanes(vfma(xv, vbroadcast(wf, wo), a0), a0, jl, jh)
                                        a1 = _vsel_lanes(vfma(xv, vbroadcast(wf, wo + 1), a1), a1, jl, jh)
                                        a2 = _vsel_lanes(vfma(xv, vbroadcast(wf, wo + 2), a2), a2, jl, jh)
                                        a3 = _vsel_lanes(vfma(xv, vbroadcast(wf, wo + 3), a3), a3, jl, jh)
                                        a4 = _vsel_lanes(vfma(xv, vbroadcast(wf, wo + 4), a4), a4, jl, jh)
                                        a5 = _vsel_lanes(vfma(xv, vbroadcast(wf, wo + 5), a5), a5, jl, jh)
                                        a6 = _vsel_lanes(vfma(xv, vbroadcast(wf, wo + 6), a6), a6, jl, jh)
                                        a7 = _vsel_lanes(vfma(xv, vbroadcast(wf, wo + 7), a7), a7, jl, jh)
                                        xp += wdp
                                        wo += cop
                        vstore(tile, 0, vmin(vmax(a0, vlo), vhi))
                        vstore(tile, 16, vmin(vmax(a1, vlo), vhi))
                        vstore(tile, 32, vmin(vmax(a2, vlo), vhi))
                        vstore(tile, 48, vmin(vmax(a3, vlo), vhi))
                        vstore(tile, 64, vmin(vmax(a4, vlo), vhi))
                        vstore(tile, 80, vmin(vmax(a5, vlo), vhi))
                        vstore(tile, 96, vmin(vmax(a6, vlo), vhi))
                        vstore(tile, 112, vmin(vmax(a7, vlo), vhi))
                        _transpose16(tile, 0, 16, 8, 16, blk)         # blk[j*16 + k] = channel cb + k of pixel j
                        nk = min(8, cout - cb)
                        ob = ((n * oh + oy) * ow + px + j0 * sw) * cout + cb
                        for j in range(cnt):
                            vstore_n(of, ob + j * sw * cout, vload(blk, j * 16), nk)


# ---------------------------------------------------------------- integer sums in float32
# An 8-bit transposed conv sums products (x - zx) * w of integers below 2**8 and 2**8 in
# magnitude.  When the largest possible |sum| (max |x - zx| times an output channel's
# sum of |w|, checked at prepare) is at most 2**24, every partial sum is an integer that
# float32 holds exactly, so the float32 kernels above compute the exact int32 sums in any
# order: the two kernels below run them on float32 copies of the operands.

@kernel(fastmath=FAST_F32)
def _deconv_int_sums_f32(xf, wf, zb, sh, sw, pad_t, pad_l, rows, scr, accf):
    inf = np.float32(np.inf)
    if rows:
        deconv_f32_f32_f32_rows_minmax(xf, wf, zb, sh, sw, pad_t, pad_l, -inf, inf, scr, accf)
    else:
        deconv_f32_f32_f32_minmax(xf, wf, zb, sh, sw, pad_t, pad_l, -inf, inf, accf)


@kernel
def deconv_qdu8_qc8w_f32_exact_minmax(xq, scale, zpu, wf, ws, b, zb, sh, sw, pad_t, pad_l, rows, lo, hi,
                                      xf, scr, accf, out):
    """deconv_qdu8_qc8w_f32_minmax with tfl false (XNNPack's qd8 deconvolution), its int32
    sums taken in float32 (exact: the caller checked 255 * max_oc sum |w| <= 2**24).

    wf: float32 weights (rows: rows_pack_w layout, else (KH, KW, Cin, Cout)); zb: zeros of
    wf's last dimension; rows: use deconv_f32_f32_f32_rows_minmax (scr its scratch);
    xf: (1, H, W, Cin) float32 workspace; accf: (1, OH, OW, Cout) float32 workspace.
    out = clamp(fma(sum * scale[n], ws, b)).  Reference: kernels/reference/deconv.py
    """
    n_b = xq.shape[0]
    cout = out.shape[3]
    npix = out.shape[1] * out.shape[2]
    xv = xf.reshape(-1)
    av = accf.reshape(-1)
    m = xv.shape[0]
    for n in range(n_b):
        z = np.float32(zpu[n])
        s = scale[n]
        xs = xq[n].reshape(-1)
        for i in range(m):
            xv[i] = np.float32(xs[i]) - z
        _deconv_int_sums_f32(xf, wf, zb, sh, sw, pad_t, pad_l, rows, scr, accf)
        o = out[n].reshape(-1)
        for p in range(npix):
            for oc in range(cout):
                y = fma_f32(av[p * cout + oc] * s, ws[oc], b[oc])
                o[p * cout + oc] = min(max(y, lo), hi)


@kernel
def deconv_q8_q8_q8_exact(x, zx, wf, zb, bias, sh, sw, pad_t, pad_l, rows, mult, lsh, rsh, nup, fscale, fp32, zp,
                          lo, hi, xf, scr, accf, acc, out):
    """kernels/qs8.py tconv_q8_q8_q8 (TRANSPOSE_CONV int8/uint8: bias + sum of (x - zx) * (w - zw),
    then the requant epilogue) with the sums taken in float32 (exact: the caller checked
    max |x - zx| * max_oc sum |w - zw| <= 2**24).

    wf: float32 (w - zw) (rows: rows_pack_w layout, else (KH, KW, Cin, Cout)); zb: zeros of
    wf's last dimension; xf: (1, H, W, Cin), accf: (1, OH, OW, Cout) float32 and acc
    (OH*OW*Cout,) int32 workspaces; requant arguments as requant_i32_q8_rows.
    Reference: kernels/reference/deconv.py
    """
    n_b = x.shape[0]
    cout = out.shape[3]
    npix = out.shape[1] * out.shape[2]
    xv = xf.reshape(-1)
    av = accf.reshape(-1)
    m = xv.shape[0]
    fz = np.float32(zx)
    for n in range(n_b):
        xs = x[n].reshape(-1)
        for i in range(m):
            xv[i] = np.float32(xs[i]) - fz
        _deconv_int_sums_f32(xf, wf, zb, sh, sw, pad_t, pad_l, rows, scr, accf)
        for p in range(npix):
            for oc in range(cout):
                acc[p * cout + oc] = np.int32(av[p * cout + oc]) + bias[oc]
        requant_i32_q8_rows(acc, cout, npix, cout, mult, lsh, rsh, nup, fscale, fp32, zp, lo, hi,
                            out[n].reshape(-1), cout)
