"""2-D max and average pooling, NHWC.

Windows are clipped to the input (TFLite): padded taps are absent, so max
pooling ignores them and average pooling divides by the number of in-bounds
taps.  Channels are the innermost, contiguous loop.
"""
import numpy as np

from ._jit import FAST_F32, kernel
from .simd import vload_n, vmax, vmin, vsplat, vstore_n


@kernel
def maxpool_nhwc_minmax(x, kh, kw, sh, sw, pad_t, pad_l, lo, hi, out):
    """Max pooling, any ordered dtype (float32 now, int8/uint8 later).

    x: (N, H, W, C); out: (N, OH, OW, C) of x's dtype; lo, hi: clamp bounds of
    x's dtype.  Starting the running max at lo and finishing with min(., hi)
    equals clamp(max(window), lo, hi).  Windows must be non-empty (SAME/VALID
    padding guarantee it).  Reference: kernels/reference/pool.py
    """
    n_b, h, wd, c = x.shape
    oh, ow = out.shape[1], out.shape[2]
    for n in range(n_b):
        for oy in range(oh):
            y0 = oy * sh - pad_t
            ky0 = max(0, -y0)
            ky1 = min(kh, h - y0)
            for ox in range(ow):
                x0 = ox * sw - pad_l
                kx0 = max(0, -x0)
                kx1 = min(kw, wd - x0)
                op = out[n, oy, ox]
                for ch in range(c):
                    op[ch] = lo
                for ky in range(ky0, ky1):
                    for kx in range(kx0, kx1):
                        xp = x[n, y0 + ky, x0 + kx]
                        for ch in range(c):
                            op[ch] = max(op[ch], xp[ch])
                for ch in range(c):
                    op[ch] = min(op[ch], hi)


@kernel
def maxpool_f32_minmax(x, kh, kw, sh, sw, pad_t, pad_l, lo, hi, out):
    """maxpool_nhwc_minmax for float32, 16 channels per vector: every output element
    gets the same comparisons in the same order (running max from lo, the window's
    in-bounds taps row by row, v > acc ? v : acc, then hi < acc ? hi : acc), so the
    results are the scalar kernel's bits (NaN and -0 included).
    Reference: kernels/reference/pool.py"""
    n_b, h, wd, c = x.shape
    oh, ow = out.shape[1], out.shape[2]
    vlo = vsplat(lo)
    vhi = vsplat(hi)
    for n in range(n_b):
        for oy in range(oh):
            y0 = oy * sh - pad_t
            ky0 = max(0, -y0)
            ky1 = min(kh, h - y0)
            for ox in range(ow):
                x0 = ox * sw - pad_l
                kx0 = max(0, -x0)
                kx1 = min(kw, wd - x0)
                ob = ((n * oh + oy) * ow + ox) * c
                for cc in range(0, c, 16):
                    nv = min(16, c - cc)
                    acc = vlo
                    for ky in range(ky0, ky1):
                        p = ((n * h + y0 + ky) * wd + x0 + kx0) * c + cc
                        for _ in range(kx0, kx1):
                            acc = vmax(vload_n(x, p, nv), acc)      # Numba's max(acc, v): v if v > acc
                            p += c
                    vstore_n(out, ob + cc, vmin(vhi, acc), nv)          # min(acc, hi): hi if hi < acc


@kernel(fastmath=FAST_F32)
def avgpool_f32_minmax(x, kh, kw, sh, sw, pad_t, pad_l, lo, hi, out):
    """Average pooling, float32: sum of the in-bounds taps / their count, clamped.

    Same arguments as maxpool_nhwc_minmax.  Reference: kernels/reference/pool.py
    """
    n_b, h, wd, c = x.shape
    oh, ow = out.shape[1], out.shape[2]
    for n in range(n_b):
        for oy in range(oh):
            y0 = oy * sh - pad_t
            ky0 = max(0, -y0)
            ky1 = min(kh, h - y0)
            for ox in range(ow):
                x0 = ox * sw - pad_l
                kx0 = max(0, -x0)
                kx1 = min(kw, wd - x0)
                op = out[n, oy, ox]
                for ch in range(c):
                    op[ch] = np.float32(0.0)
                for ky in range(ky0, ky1):
                    for kx in range(kx0, kx1):
                        xp = x[n, y0 + ky, x0 + kx]
                        for ch in range(c):
                            op[ch] += xp[ch]
                cnt = np.float32(max(ky1 - ky0, 0) * max(kx1 - kx0, 0))
                for ch in range(c):
                    op[ch] = min(max(op[ch] / cnt, lo), hi)


@kernel
def avgpool_q_minmax(x, kh, kw, sh, sw, pad_t, pad_l, lo, hi, acc, out):
    """Average pooling on quantized integers (int8, uint8, int16), input and output
    sharing one (scale, zero point), as TFLite reference_integer_ops::AveragePool:

        acc = sum of the in-bounds taps (exact integer), cnt = their number
        avg = (acc + cnt/2) / cnt  if acc > 0  else  (acc - cnt/2) / cnt   (C division)
        out = clamp(avg, lo, hi)

    i.e. the mean rounded half away from zero.  Same arguments as maxpool_nhwc_minmax;
    lo, hi: the fused-activation range in the output dtype; acc: (C,) int32 scratch
    for one output pixel's channel sums.  Sums are int32 (KH*KW*32768
    must fit: the lowering checks).  The C division runs in float64: both operands are
    integers below 2**53 and a correctly rounded quotient truncates to the integer
    quotient (it is at least 1/cnt away from the next integer), so the channel loop
    vectorizes.  Reference: kernels/reference/pool.py
    """
    n_b, h, wd, c = x.shape
    oh, ow = out.shape[1], out.shape[2]
    for n in range(n_b):
        for oy in range(oh):
            y0 = oy * sh - pad_t
            ky0 = max(0, -y0)
            ky1 = min(kh, h - y0)
            for ox in range(ow):
                x0 = ox * sw - pad_l
                kx0 = max(0, -x0)
                kx1 = min(kw, wd - x0)
                for ch in range(c):
                    acc[ch] = 0
                for ky in range(ky0, ky1):
                    for kx in range(kx0, kx1):
                        xp = x[n, y0 + ky, x0 + kx]
                        for ch in range(c):
                            acc[ch] += np.int32(xp[ch])
                cnt = np.int32(max(ky1 - ky0, 0) * max(kx1 - kx0, 0))
                half = cnt // 2
                fcnt = np.float64(cnt)
                op = out[n, oy, ox]
                for ch in range(c):
                    a = acc[ch]
                    num = np.float64(a + half) if a > 0 else np.float64(a - half)
                    v = np.int32(num / fcnt)                # truncation, as C
                    op[ch] = min(max(v, lo), hi)
