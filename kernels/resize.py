"""RESIZE_BILINEAR (float32).  RESIZE_NEAREST_NEIGHBOR is a table gather
(kernels/transform.py gather_axes_x).  Reference: kernels/reference/resize.py
"""
import numpy as np

from ._jit import FAST_F32, kernel
from .simd import vadd, vadd_i32, vload_n, vmul, vmul_i32, vshl_i32, vsplat, vsplat_i32, vsra_i32, vstore_n, vsub, vsub_i32
from .simd_int import vload_ext_n, vstore_narrow_n


@kernel(fastmath=FAST_F32)
def resize_bilinear_f32(x, y0, y1, wy, x0, x1, wx, out):
    """out[b, y, x, :] from the 4 neighbours, with TFLite reference_ops::ResizeBilinear's formula

        v00*(1-wy)*(1-wx) + v10*wy*(1-wx) + v01*(1-wy)*wx + v11*wy*wx

    x: (N, H, W, C); out: (N, OH, OW, C).  y0, y1, wy (len OH) and x0, x1, wx (len OW)
    are the clamped lower/upper source indices and the weights input_y - y0 computed at
    prepare time (ComputeInterpolationValues, in float32).
    """
    for b in range(out.shape[0]):
        for oy in range(out.shape[1]):
            ya = y0[oy]
            yb = y1[oy]
            fy = wy[oy]
            gy = np.float32(1.0) - fy
            for ox in range(out.shape[2]):
                xa = x0[ox]
                xb = x1[ox]
                fx = wx[ox]
                gx = np.float32(1.0) - fx
                w00 = gy * gx
                w10 = fy * gx
                w01 = gy * fx
                w11 = fy * fx
                p00 = x[b, ya, xa]
                p10 = x[b, yb, xa]
                p01 = x[b, ya, xb]
                p11 = x[b, yb, xb]
                dst = out[b, oy, ox]
                for c in range(out.shape[3]):
                    dst[c] = p00[c] * w00 + p10[c] * w10 + p01[c] * w01 + p11[c] * w11


@kernel
def _lerp_rows(r0, r1, ya, yb, l):
    """Where the horizontal passes of source rows ya (top) and yb (bottom) are, in a
    scratch of two slots of l values (offsets 0 and l) holding rows r0 and r1 (-1:
    none), reusing a slot that already holds the row: (top offset, bottom offset,
    new r0, new r1, offset to compute the top row into, offset for the bottom
    row), -1 where nothing needs computing."""
    ct = -1
    cb = -1
    if r0 == ya:
        to = 0
    elif r1 == ya:
        to = l
    elif r0 != yb:
        to = 0
        r0 = ya
        ct = 0
    else:
        to = l
        r1 = ya
        ct = l
    if r0 == yb:
        bo = 0
    elif r1 == yb:
        bo = l
    elif to != 0:
        bo = 0
        r0 = yb
        cb = 0
    else:
        bo = l
        r1 = yb
        cb = l
    return to, bo, r0, r1, ct, cb


@kernel
def _hlerp_f32(xf, r, x0, x1, ax, c, ow, tb, d):
    """tb[d + ox*c + ch] = tl + (tr - tl) * ax[ox] for source row offset r (pixels):
    XNNPack's horizontal step (no FMA)."""
    for ox in range(ow):
        vh = vsplat(ax[ox])
        il = (r + x0[ox]) * c
        ir = (r + x1[ox]) * c
        o = d + ox * c
        for k in range(0, c, 16):
            n = min(16, c - k)
            lft = vload_n(xf, il + k, n)
            vstore_n(tb, o + k, vadd(lft, vmul(vsub(vload_n(xf, ir + k, n), lft), vh)), n)


@kernel
def resize_bilinear_f32_xnn(x, y0, y1, ay, x0, x1, ax, out, r0, r1, tb):
    """Output rows r0 <= oy < r1 (of every image) as XNNPack's f32-ibilinear (sse_c8,
    LiteRT's default delegate on x86), operation for operation, no FMA:

        t = tl + (tr - tl) * ax;  b = bl + (br - bl) * ax;  out = t + (b - t) * ay

    tl / tr / bl / br: input pixels (y0, x0) / (y0, x1) / (y1, x0) / (y1, x1);
    ax, ay: XNNPack's float32 fractions (ops/resize.py bilinear_coords_xnn).  t and b
    depend only on the source row and the output column, so each source row's
    horizontal pass (ow * c values) is computed once into tb (2 * ow * c float32
    scratch, two slots) and reused by every output row reading it (an upsampling
    reads each ~oh/h times); the vertical step then runs over whole rows, 16 lanes
    at a time.  The same operations per element, hence the same bits.
    x: (N, H, W, C); out: (N, OH, OW, C).  No fastmath: each product and sum
    rounds as XNNPack's does."""
    c = out.shape[3]
    xf = x.reshape(-1)
    of = out.reshape(-1)
    h, w = x.shape[1], x.shape[2]
    oh, ow = out.shape[1], out.shape[2]
    ln = ow * c
    for b in range(out.shape[0]):
        s0 = -1
        s1 = -1
        for oy in range(r0, r1):
            to, bo, s0, s1, ct, cb = _lerp_rows(s0, s1, y0[oy], y1[oy], ln)
            if ct >= 0:
                _hlerp_f32(xf, (b * h + y0[oy]) * w, x0, x1, ax, c, ow, tb, ct)
            if cb >= 0:
                _hlerp_f32(xf, (b * h + y1[oy]) * w, x0, x1, ax, c, ow, tb, cb)
            va = vsplat(ay[oy])
            o = (b * oh + oy) * ln
            for k in range(0, ln, 16):
                n = min(16, ln - k)
                t = vload_n(tb, to + k, n)
                vstore_n(of, o + k, vadd(t, vmul(vsub(vload_n(tb, bo + k, n), t), va)), n)


@kernel
def resize_bilinear_q10(x, y0, y1, fy, x0, x1, fx, out):
    """Integer RESIZE_BILINEAR, TFLite reference_ops::ResizeBilinearInteger (int8, uint8, int16):

        v = x[y0,x0]*(1024-fy)*(1024-fx) + x[y1,x0]*fy*(1024-fx)
          + x[y0,x1]*(1024-fy)*fx + x[y1,x1]*fy*fx                  (int64, 2**20 fixed point)
        out = (v + (v > 0 ? 2**19 : -2**19)) / 2**20                 (C division: round half away)

    y0, y1, fy (len OH) and x0, x1, fx (len OW): source rows/columns and the 10-bit
    fractions input_y - 1024*y0, computed at prepare time (ComputeInterpolationValuesInteger).
    x: (N, H, W, C); out: (N, OH, OW, C), same dtype.  Reference: kernels/reference/resize.py
    """
    one = np.int64(1024)
    for b in range(out.shape[0]):
        for oy in range(out.shape[1]):
            ya = y0[oy]
            yb = y1[oy]
            wy1 = np.int64(fy[oy])
            wy0 = one - wy1
            for ox in range(out.shape[2]):
                xa = x0[ox]
                xb = x1[ox]
                wx1 = np.int64(fx[ox])
                wx0 = one - wx1
                p00 = x[b, ya, xa]
                p10 = x[b, yb, xa]
                p01 = x[b, ya, xb]
                p11 = x[b, yb, xb]
                dst = out[b, oy, ox]
                for c in range(out.shape[3]):
                    v = (np.int64(p00[c]) * wy0 * wx0 + np.int64(p10[c]) * wy1 * wx0
                         + np.int64(p01[c]) * wy0 * wx1 + np.int64(p11[c]) * wy1 * wx1)
                    if v > 0:
                        v = (v + np.int64(1 << 19)) >> np.int64(20)
                    else:
                        v = -((np.int64(1 << 19) - v) >> np.int64(20))
                    dst[c] = v


@kernel
def _hlerp_q11(xf, r, x0, x1, wx, c, ow, tb, d):
    """tb[d + ox*c + ch] = (tl << 11) + (tr - tl) * wx[ox] (int32) for source row offset r."""
    for ox in range(ow):
        ah = vsplat_i32(wx[ox])
        il = (r + x0[ox]) * c
        ir = (r + x1[ox]) * c
        o = d + ox * c
        for k in range(0, c, 16):
            n = min(16, c - k)
            lft = vload_ext_n(xf, il + k, n)
            vstore_n(tb, o + k, vadd_i32(vshl_i32(lft, 11), vmul_i32(vsub_i32(vload_ext_n(xf, ir + k, n), lft), ah)), n)


@kernel
def resize_bilinear_q11(x, y0, y1, wy, x0, x1, wx, out, r0, r1, tb):
    """Output rows r0 <= oy < r1 (of every image) of integer RESIZE_BILINEAR as
    XNNPack's s8/u8-ibilinear (11-bit weights), in int32 lanes as XNNPack computes:

        t = (tl << 11) + (tr - tl) * wx ;  b = (bl << 11) + (br - bl) * wx
        out = ((t << 11) + (b - t) * wy + 2**21) >> 22              (arithmetic shift)

    (|b - t| * wy < 2**31 for 8-bit inputs, so no lane overflows).  wy, wx =
    lrintf(alpha * 2048) of XNNPack's float32 source coordinates
    (xnn_indirection_init_resize_bilinear2d_hwc_q11, computed at prepare time).
    t and b (exact integers) are computed once per source row into tb (2 * ow * c
    int32 scratch, as resize_bilinear_f32_xnn does), the last step over whole rows.
    x: (N, H, W, C) int8/uint8; out: (N, OH, OW, C) same dtype.
    Reference: kernels/reference/resize.py
    """
    c = out.shape[3]
    xf = x.reshape(-1)
    of = out.reshape(-1)
    h, w = x.shape[1], x.shape[2]
    oh, ow = out.shape[1], out.shape[2]
    ln = ow * c
    half = vsplat_i32(1 << 21)
    for b in range(out.shape[0]):
        s0 = -1
        s1 = -1
        for oy in range(r0, r1):
            to, bo, s0, s1, ct, cb = _lerp_rows(s0, s1, y0[oy], y1[oy], ln)
            if ct >= 0:
                _hlerp_q11(xf, (b * h + y0[oy]) * w, x0, x1, wx, c, ow, tb, ct)
            if cb >= 0:
                _hlerp_q11(xf, (b * h + y1[oy]) * w, x0, x1, wx, c, ow, tb, cb)
            av = vsplat_i32(wy[oy])
            o = (b * oh + oy) * ln
            for k in range(0, ln, 16):
                n = min(16, ln - k)
                t = vload_ext_n(tb, to + k, n)
                acc = vadd_i32(vadd_i32(vshl_i32(t, 11), vmul_i32(vsub_i32(vload_ext_n(tb, bo + k, n), t), av)), half)
                vstore_narrow_n(of, o + k, vsra_i32(acc, 22), n)


@kernel
def resize_bilinear_u8_f32(x, y0, y1, wy, x0, x1, wx, out):
    """uint8 RESIZE_BILINEAR as TFLite's optimized (builtin) kernel,
    ResizeBilinearGenericSmallChannel: float32, no fastmath (order matters):

        out = int(((p00*(gy*gx) + p01*(gy*fx)) + p10*(fy*gx)) + p11*(fy*fx) + 0.5)

    with fy = wy, gy = 1 - fy (and x alike) from the float32 coordinates of the float
    lowering (ComputeInterpolationValues).  x, out: (N, H, W, C) / (N, OH, OW, C) uint8.
    """
    for b in range(out.shape[0]):
        for oy in range(out.shape[1]):
            ya = y0[oy]
            yb = y1[oy]
            fy = wy[oy]
            gy = np.float32(1.0) - fy
            for ox in range(out.shape[2]):
                xa = x0[ox]
                xb = x1[ox]
                fx = wx[ox]
                gx = np.float32(1.0) - fx
                s0 = gy * gx
                s1 = gy * fx
                s2 = fy * gx
                s3 = fy * fx
                p00 = x[b, ya, xa]
                p01 = x[b, ya, xb]
                p10 = x[b, yb, xa]
                p11 = x[b, yb, xb]
                dst = out[b, oy, ox]
                for c in range(out.shape[3]):
                    v = (np.float32(p00[c]) * s0 + np.float32(p01[c]) * s1 + np.float32(p10[c]) * s2
                         + np.float32(p11[c]) * s3 + np.float32(0.5))
                    dst[c] = np.int64(v)
