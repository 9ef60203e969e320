"""NumPy twins of kernels/resize.py."""
import numpy as np


def resize_bilinear_f32(x, y0, y1, wy, x0, x1, wx, out):
    x = x.astype(np.float64)
    fy = wy.astype(np.float64)[None, :, None, None]
    fx = wx.astype(np.float64)[None, None, :, None]
    top = x[:, y0][:, :, x0] * (1 - fy) * (1 - fx) + x[:, y0][:, :, x1] * (1 - fy) * fx
    bot = x[:, y1][:, :, x0] * fy * (1 - fx) + x[:, y1][:, :, x1] * fy * fx
    out[...] = (top + bot).astype(np.float32)


def resize_bilinear_f32_xnn(x, y0, y1, ay, x0, x1, ax, out, r0, r1, tb=None):
    """XNNPack's f32-ibilinear formula, each operation rounded to float32 (NumPy float32)."""
    f = np.float32
    ah = ax.astype(f)[None, None, :, None]
    av = ay.astype(f)[r0:r1][None, :, None, None]
    ys0, ys1 = y0[r0:r1], y1[r0:r1]
    tl, tr = x[:, ys0][:, :, x0], x[:, ys0][:, :, x1]
    bl, br = x[:, ys1][:, :, x0], x[:, ys1][:, :, x1]
    with np.errstate(all="ignore"):
        t = tl + (tr - tl) * ah
        b = bl + (br - bl) * ah
        out[:, r0:r1] = t + (b - t) * av


def resize_bilinear_q10(x, y0, y1, fy, x0, x1, fx, out):
    x = x.astype(np.int64)
    fy = fy.astype(np.int64)[None, :, None, None]
    fx = fx.astype(np.int64)[None, None, :, None]
    v = (x[:, y0][:, :, x0] * (1024 - fy) * (1024 - fx) + x[:, y1][:, :, x0] * fy * (1024 - fx)
         + x[:, y0][:, :, x1] * (1024 - fy) * fx + x[:, y1][:, :, x1] * fy * fx)
    out[...] = np.sign(v) * ((np.abs(v) + (1 << 19)) >> 20)


def resize_bilinear_q11(x, y0, y1, wy, x0, x1, wx, out):
    x = x.astype(np.int64)
    ah = wx.astype(np.int64)[None, None, :, None]
    av = wy.astype(np.int64)[None, :, None, None]
    tl, tr = x[:, y0][:, :, x0], x[:, y0][:, :, x1]
    bl, br = x[:, y1][:, :, x0], x[:, y1][:, :, x1]
    t = tl * 2048 + (tr - tl) * ah
    b = bl * 2048 + (br - bl) * ah
    out[...] = (t * 2048 + (b - t) * av + (1 << 21)) >> 22


def resize_bilinear_u8_f32(x, y0, y1, wy, x0, x1, wx, out):
    f = np.float32
    xf = x.astype(f)
    fy, fx = wy[None, :, None, None], wx[None, None, :, None]
    gy, gx = f(1) - fy, f(1) - fx
    v = (xf[:, y0][:, :, x0] * (gy * gx) + xf[:, y0][:, :, x1] * (gy * fx) + xf[:, y1][:, :, x0] * (fy * gx)
         + xf[:, y1][:, :, x1] * (fy * fx) + f(0.5))
    out[...] = np.trunc(v).astype(np.int64)
