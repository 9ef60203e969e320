"""Multi-threaded drivers: ``prange`` over output tiles.

Each kernel here is the parallel twin of a serial driver and takes ``nt``,
the number of work chunks (= threads, chosen at prepare time).  Chunk t gets
a contiguous range of output rows (whole MR-row tiles, ``split_rows``) or,
for depthwise convs with few output rows, a range of channels
(``split_dw``), and uses slice t of every scratch array: the lowering
allocates the scratch as nt copies.  Inside a chunk the serial code runs
unchanged (same microkernels, same k order, same epilogue, K is never split),
so every output element is bit-identical to the 1-thread path; only which
thread computes it changes.  With fewer Numba threads than nt, threads just
run several chunks (still correct).

The lowerings call these only when num_threads > 1 and the op is large
enough to pay for the fork/join (~2 us, PERF_NOTES.md section 0); with one
thread they bind the serial kernels, so single-thread runs pay nothing.

The AVX512-VNNI drivers are in kernels/parallel_vnni.py (import it only
when numba_infer.isa.VNNI).  Reference: kernels/reference/parallel.py.
"""
import time
import types

import numba
import numpy as np
from numba import prange

from ._jit import FAST_F32, kernel
from .conv_direct import conv2d_direct_pad_f32_rows
from .conv_igemm import conv2d_igemm_f32_rows, pad_rows_f32, padded_extent
from .dwconv import dwconv_f32_f32_f32_rows_minmax
from .gemm_n8 import conv2d_f32_n8_rows2_range
from .resize import resize_bilinear_f32_xnn, resize_bilinear_q11
from .transform import space_to_batch_x
from .dynquant import (_codes_neon_simd, _round_neon_f32, _row_codes_simd, dynquant_f32_qd8_tflite,
                       dynquant_f32_qd8_xnn, fmaxnum, fminnum, qd8_params_xnn)
from .gemm import (batch_matmul_f32_strided_nat, batch_matmul_f32_strided_packed, gemm_f32_f32_f32_minmax,
                   gemm_f32_f32_f32_rows_minmax, im2col_f32, tile_mr, tile_nr)


# Below this much estimated single-thread work an op stays serial: the fork/join
# costs ~1.5-2 us on a quiet machine and much more when a sibling process is
# busy (PERF_NOTES.md section 0 and Recommendation 7).  10 rather than 25: an op
# left serial between threaded ones also reads the half of its input the other
# core wrote; measured 2-thread speedups with 25 -> 10 (numba_infer alone):
# mobilenet_v2_fp32 1.57 -> 1.66, deeplab_mini_fp32 1.51 -> 1.61,
# efficientnet_v2_b0_fp32 1.63 -> 1.68, inception_stem 1.91 -> 1.93, small
# models unchanged (transformer_fp32 1.00, opzoo_fp32 0.83 -> 0.85).
MIN_PARALLEL_US = 10.0


def resolve_threads(num_threads):
    """Threads a run uses for a ``num_threads`` setting: None -> 1 (LiteRT's
    default interpreter is single-threaded too), -1 -> every thread Numba
    started with (NUMBA_NUM_THREADS, by default the core count), n >= 1 ->
    min(n, NUMBA_NUM_THREADS)."""
    top = numba.config.NUMBA_NUM_THREADS
    if num_threads is None:
        return 1
    if num_threads == -1:
        return top
    return max(1, min(int(num_threads), top))


def plan_threads(num_threads, work_us, units):
    """Chunks (1 = bind the serial kernel) for an op of about work_us
    microseconds of single-thread work that splits into ``units`` equal
    pieces (tiles, rows): serial when one thread is asked for, the op is
    small, or there are fewer pieces than threads."""
    nt = resolve_threads(num_threads)
    if nt <= 1 or work_us < MIN_PARALLEL_US or units < nt:
        return 1
    return nt


def split_balance(nt, total, unit):
    """Share of nt chunks' time spent working when total rows (or columns) are
    dealt out in whole units by split_rows: 1.0 when every chunk gets as many."""
    per = min(total, -(-(-(-total // unit)) // nt) * unit)
    return total / (nt * per)


def gemm_col_split(nt, m, mr, n, nr):
    """Whether a threaded GEMM should cut its n columns (whole nr-wide weight
    panels) rather than its m rows (whole mr-row tiles): when that balances
    the chunks clearly better, e.g. the 49 rows of a 7x7 map in 14-row tiles
    (28 + 21 rows) against 1152 columns in 32-wide panels (576 + 576).  Each
    chunk then reads all of A, which is small when m is."""
    return split_balance(nt, n, nr) > split_balance(nt, m, mr) + 0.05


def dw_channel_split(nt, rows, c):
    """Whether split_dw should deal out 16-channel groups instead of output
    rows: when that balances the nt chunks better (few rows, e.g. 7x7 maps)."""
    rt = -(-rows // nt)
    g = -(-c // 16)
    ct = -(-g // nt)
    return g * nt * rt > rows * nt * ct          # g/(nt*ct) > rows/(nt*rt)


# Contention guard.  A prange region ends with a barrier: when another process
# keeps a core busy, a descheduled worker makes every region wait for a
# scheduler time slice (measured: each threaded op of mobilenet_v2 took ~7 ms,
# the whole run 30x slower than one thread).  Steps of threaded ops are
# wrapped by ``guarded``, which compares each call with the fastest call of the
# same step; a run whose threaded ops lose more than STALL_S in total (calls
# slower than twice their best by more than CALL_STALL_S) has stalled.  A single stalled run is let
# through: a brief burst of contention -- another thread pool spinning down
# after its own work, e.g. LiteRT's right before our run -- costs about a
# millisecond once, while one thread costs far more.  When the run after a
# stalled run stalls too, the contention is lasting: Numba switches to one
# thread for the rest of that run and for a back-off time after it
# (``threads_for_run``, called before every run): BACKOFF_S, doubled each time
# the contention is still there when threads are tried again (up to
# BACKOFF_MAX_S), reset by a clean threaded run.
STALL_S = 0.001
# a call counts as stalled only when it lost more than this: a descheduled worker costs a
# scheduler time slice (milliseconds), while a short threaded op's run-to-run jitter (tens of
# microseconds, summed over a hundred small ops) must not read as contention
CALL_STALL_S = 0.0002
BACKOFF_S = 0.5
BACKOFF_MAX_S = 8.0
_guard = {"until": 0.0, "backoff": BACKOFF_S, "lost": 0.0, "threaded": False, "suspect": False}


def threads_for_run(num_threads):
    """Numba threads for the next run: resolve_threads, or 1 while backing off."""
    n = resolve_threads(num_threads)
    g = _guard
    if g["threaded"]:
        clean = g["lost"] <= STALL_S
        if clean:
            g["backoff"] = BACKOFF_S          # the last threaded run was clean
        g["suspect"] = not clean              # it stalled: the next stall backs off
    g["lost"] = 0.0
    g["threaded"] = n > 1 and time.perf_counter() >= g["until"]
    return n if g["threaded"] else 1


def _stalled(now):
    g = _guard
    if not g.get("suspect"):
        return                                # the first stalled run in a row: let it through
    g["until"] = now + g["backoff"]
    g["backoff"] = min(2.0 * g["backoff"], BACKOFF_MAX_S)
    g["threaded"] = False
    g["suspect"] = False
    numba.set_num_threads(1)


# how many threaded steps guarded() has wrapped so far: prepare compares it before and
# after binding each op, so a plan knows whether any of its steps uses threads
GUARDED = [0]


def guarded(step):
    """Wrap the zero-argument step of a threaded op with the contention guard
    (two clock reads per call, ~0.2 us).  Every threaded step is bound through
    here (GUARDED counts them)."""
    GUARDED[0] += 1
    best = [float("inf")]
    clock = time.perf_counter

    def run():
        t = clock()
        step()
        dt = clock() - t
        if dt < best[0]:
            best[0] = dt
        elif dt > 2.0 * best[0] and dt - best[0] > CALL_STALL_S and numba.get_num_threads() > 1:
            _guard["lost"] += dt - best[0]
            if _guard["lost"] > STALL_S:
                _stalled(t + dt)
    return run


def dw_plan(num_threads, work_us, rows, c):
    """(chunks, csplit) for a depthwise conv with rows output rows (N*OH) and
    c channels: plan_threads, then split_dw's choice of rows or channel groups."""
    nt = plan_threads(num_threads, work_us, max(rows, -(-c // 16)))
    if nt == 1:
        return 1, False
    csplit = dw_channel_split(nt, rows, c)
    if (rows if not csplit else -(-c // 16)) < nt:
        return 1, False
    return nt, csplit


@kernel
def split_rows(t, nt, m, mr):
    """Rows [lo, hi) of chunk t of nt: the ceil(m/mr) tiles of mr rows dealt
    out as evenly as possible (chunks differ by at most one tile)."""
    tiles = (m + mr - 1) // mr
    lo = tiles * t // nt * mr
    hi = min(m, tiles * (t + 1) // nt * mr)
    return lo, hi


@kernel
def split_dw(t, nt, rows, c, csplit):
    """(r0, r1, c0, c1) of chunk t: all channels of a row range, or (csplit)
    all rows of a range of channels in 16-channel groups."""
    if csplit:
        c0, c1 = split_rows(t, nt, c, 16)
        return 0, rows, c0, c1
    r0, r1 = split_rows(t, nt, rows, 1)
    return r0, r1, 0, c


# ---------------------------------------------------------------- fp32
@kernel(fastmath=FAST_F32, parallel=True)
def gemm_f32_f32_f32_minmax_mt(tile, m, n, k, a, lda, w, lo, hi, c, ldc, nt, rnd=False):
    """gemm_f32_f32_f32_rows_minmax (kernels/gemm.py) with the m rows cut into nt chunks
    (rnd: outputs rounded to fp16 values in the epilogue)."""
    mr = tile_mr(tile)
    for t in prange(nt):
        r0, r1 = split_rows(t, nt, m, mr)
        if r1 > r0:
            gemm_f32_f32_f32_rows_minmax(tile, r1 - r0, n, k, a[r0 * lda:], lda, w, lo, hi, c[r0 * ldc:], ldc, rnd)


@kernel(fastmath=FAST_F32, parallel=True)
def conv2d_f32_f32_f32_minmax_mt(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, groups, cout,
                                 tile, wp, mb, lo, hi, ws, nt, out, rnd=False):
    """conv2d_f32_f32_f32_minmax (kernels/gemm.py) with the output pixels cut
    into nt chunks; ws: nt * mb * kh*kw*cin/groups floats (one im2col block per chunk)."""
    nr = tile_nr(tile)
    mr = tile_mr(tile)
    cg = cin // groups
    ng = cout // groups
    kdim = kh * kw * cg
    gs = (ng + nr - 1) // nr * (kdim + 1) * nr
    mtot = batch * oh * ow
    for t in prange(nt):
        lo_r, hi_r = split_rows(t, nt, mtot, mr)
        wst = ws[t * mb * kdim:(t + 1) * mb * kdim]
        for r0 in range(lo_r, hi_r, mb):
            nrows = min(mb, hi_r - r0)
            for g in range(groups):
                im2col_f32(x, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, g * cg, cg, r0, nrows, wst)
                gemm_f32_f32_f32_rows_minmax(tile, nrows, ng, kdim, wst, kdim, wp[g * gs:(g + 1) * gs], lo, hi,
                                             out[r0 * cout + g * ng:], cout, rnd)


@kernel(fastmath=FAST_F32, parallel=True)
def batch_matmul_f32_strided_nat_mt(tile, m, n, k, a, a_off, lda, b, b_off, ldb, c, c_off, ldc, nt, rnd=False,
                                    scaled=False, scale=np.float32(1.0)):
    """batch_matmul_f32_strided_nat (kernels/gemm.py) with the batches (attention's
    heads) cut into nt chunks."""
    for t in prange(nt):
        b0, b1 = split_rows(t, nt, a_off.shape[0], 1)
        if b1 > b0:
            batch_matmul_f32_strided_nat(tile, m, n, k, a, a_off[b0:b1], lda, b, b_off[b0:b1], ldb, c, c_off[b0:b1],
                                         ldc, rnd, scaled, scale)


@kernel(fastmath=FAST_F32, parallel=True)
def batch_matmul_f32_strided_packed_mt(tile, m, n, k, a, a_off, lda, w, w_off, sn, sk, bias, wp, c, c_off, ldc, nt,
                                       rnd=False, scaled=False, scale=np.float32(1.0)):
    """batch_matmul_f32_strided_packed (kernels/gemm.py) with the batches cut into nt
    chunks; wp: nt equal packing scratches, one per chunk."""
    sz = wp.shape[0] // nt
    for t in prange(nt):
        b0, b1 = split_rows(t, nt, a_off.shape[0], 1)
        if b1 > b0:
            batch_matmul_f32_strided_packed(tile, m, n, k, a, a_off[b0:b1], lda, w, w_off[b0:b1], sn, sk, bias,
                                            wp[t * sz:(t + 1) * sz], c, c_off[b0:b1], ldc, rnd, scaled, scale)


@kernel(parallel=True)
def resize_bilinear_f32_xnn_mt(x, y0, y1, ay, x0, x1, ax, out, nt, tb):
    """resize_bilinear_f32_xnn (kernels/resize.py) with the output rows cut into nt
    chunks; tb: nt equal row scratches, one per chunk."""
    oh = out.shape[1]
    sz = tb.shape[0] // nt
    for t in prange(nt):
        r0, r1 = split_rows(t, nt, oh, 1)
        if r1 > r0:
            resize_bilinear_f32_xnn(x, y0, y1, ay, x0, x1, ax, out, r0, r1, tb[t * sz:(t + 1) * sz])


@kernel(parallel=True)
def resize_bilinear_q11_mt(x, y0, y1, wy, x0, x1, wx, out, nt, tb):
    """resize_bilinear_q11 (kernels/resize.py) with the output rows cut into nt chunks;
    tb: nt equal row scratches, one per chunk."""
    oh = out.shape[1]
    sz = tb.shape[0] // nt
    for t in prange(nt):
        r0, r1 = split_rows(t, nt, oh, 1)
        if r1 > r0:
            resize_bilinear_q11(x, y0, y1, wy, x0, x1, wx, out, r0, r1, tb[t * sz:(t + 1) * sz])


@kernel(parallel=True)
def space_to_batch_x_mt(x, n, h, w, c, bh, bw, pt, pl, oh, ow, value, out, nt):
    """space_to_batch_x (kernels/transform.py) with the output batches cut into nt chunks."""
    nb = n * bh * bw
    for t in prange(nt):
        b0, b1 = split_rows(t, nt, nb, 1)
        if b1 > b0:
            space_to_batch_x(x, n, h, w, c, bh, bw, pt, pl, oh, ow, value, out, b0, b1)


@kernel(fastmath=FAST_F32, parallel=True)
def gemm_f32_f32_f32_minmax_cols_mt(tile, m, n, k, a, lda, w, lo, hi, c, ldc, nt, rnd=False):
    """gemm_f32_f32_f32_minmax (kernels/gemm.py: one row on the 6x64 packing is
    its GEMV) with the n columns cut into nt chunks of whole weight panels: few
    rows (gemm_col_split), or one row, whose GEMV is bound by the weight stream
    and so gets each core streaming its own part of the weights."""
    nr = tile_nr(tile)
    ps = (k + 1) * nr
    npan = (n + nr - 1) // nr
    for t in prange(nt):
        p0, p1 = split_rows(t, nt, npan, 1)
        if p1 > p0:
            n0 = p0 * nr
            gemm_f32_f32_f32_minmax(tile, m, min(n, p1 * nr) - n0, k, a, lda, w[p0 * ps:p1 * ps], lo, hi, c[n0:],
                                    ldc, rnd)


@kernel(fastmath=FAST_F32, parallel=True)
def conv2d_f32_n8_rows2_minmax_mt(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cout, wp, offs,
                                  band, lo, hi, xp, nt, out, rnd=False):
    """conv2d_f32_n8_rows2_minmax (kernels/gemm_n8.py, cout <= 8) with its row pairs
    cut into nt chunks; xp: nt equal band scratches, one per chunk."""
    sz = xp.shape[0] // nt
    for t in prange(nt):
        y0, y1 = split_rows(t, nt, (oh + 1) // 2, 1)
        if y1 > y0:
            conv2d_f32_n8_rows2_range(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cout, wp, offs,
                                      band, lo, hi, xp[t * sz:(t + 1) * sz], out, y0, y1, rnd)


@kernel(fastmath=FAST_F32, parallel=True)
def conv2d_igemm_f32_minmax_mt(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cout, tile, wpk, toff,
                               lo, hi, xp, nt, out, rnd=False):
    """conv2d_igemm_f32_minmax (kernels/conv_igemm.py) with the padded copy's rows and
    then the output rows cut into nt chunks (one shared padded image)."""
    hp, wp = padded_extent(oh, ow, kh, kw, sh, sw, dh, dw)
    for b in range(batch):
        for t in prange(nt):
            r0, r1 = split_rows(t, nt, hp, 1)
            if r1 > r0:
                pad_rows_f32(x, b, h, w, cin, pt, pl, wp, xp, r0, r1)
        for t in prange(nt):
            y0, y1 = split_rows(t, nt, oh, 1)
            if y1 > y0:
                conv2d_igemm_f32_rows(xp, wp, cin, kh, kw, sh, sw, oh, ow, cout, tile, wpk, toff, lo, hi, out,
                                      b * oh * ow * cout, y0, y1, rnd)


@kernel(fastmath=FAST_F32, parallel=True)
def conv2d_direct_pad_f32_minmax_mt(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cout, wp, np_,
                                    offs, band, lo, hi, xp, nt, out, rnd=False):
    """conv2d_direct_pad_f32_minmax (kernels/conv_direct.py) with the output rows cut
    into nt chunks; xp: nt equal band scratches, one per chunk."""
    sz = xp.shape[0] // nt
    for t in prange(nt):
        y0, y1 = split_rows(t, nt, oh, 1)
        if y1 > y0:
            conv2d_direct_pad_f32_rows(x, batch, h, w, cin, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, cout, wp, np_,
                                       offs, band, lo, hi, xp[t * sz:(t + 1) * sz], out, y0, y1, rnd)


@kernel(fastmath=FAST_F32, parallel=True)
def dwconv_f32_f32_f32_minmax_mt(x, w, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, nt, csplit, out, rnd=False):
    """dwconv_f32_f32_f32_minmax (kernels/dwconv.py, depth multiplier 1) in nt chunks (split_dw)."""
    rows = out.shape[0] * out.shape[1]
    c = out.shape[3]
    for t in prange(nt):
        r0, r1, c0, c1 = split_dw(t, nt, rows, c, csplit)
        if r1 > r0 and c1 > c0:
            dwconv_f32_f32_f32_rows_minmax(x, w, b, sh, sw, dh, dw, pad_t, pad_l, lo, hi, r0, r1, c0, c1, out, rnd)


# ---------------------------------------------------------------- QD8-F32 x QC8W: TFLite hybrid depthwise
@kernel(parallel=True)
def dynquant_f32_qd8_mt(tflite, x, q, scales, zps, nt, mm, mq):
    """Per-row dynamic quantization (offset 128) of long rows (a row = an
    image), each row cut into nt chunks; bit-identical to dynquant_f32_qd8_xnn
    (tflite False) / dynquant_f32_qd8_tflite (True) of kernels/dynquant.py:

    - the row's min / max combine the chunks' (minnum / maxnum: order-free
      up to the sign of a zero, which the parameters do not see);
    - the parameters: XNNPack's qd8_params_xnn, or the TFLite quantizer
      itself run on the 2-element row [min, max] (its parameters depend on
      min and max only);
    - each chunk quantizes its elements with the serial formula (TFLite's
      rounding depends on the position k < K & ~7, kept).

    x: (M, K) float32; q: (M, >=K) uint8; scales, zps: (M,);
    mm: (nt + 1, 2) float32 and mq: (1, 2) uint8 scratch.

    With at least nt rows (a batch of images, e.g. the 144 sub-images of
    deeplab's atrous convs after SPACE_TO_BATCH_ND) the chunks are whole rows,
    each quantized by the serial kernel: one fork / join instead of two per row
    (that conv took 0.53 ms at one thread and 0.72 ms at two)."""
    k = x.shape[1]
    kv = k & ~7
    if x.shape[0] >= nt:
        for t in prange(nt):
            m0, m1 = split_rows(t, nt, x.shape[0], 1)
            if m1 > m0:
                if tflite:
                    dynquant_f32_qd8_tflite(x[m0:m1], 128, q[m0:m1, :k], scales[m0:m1], zps[m0:m1])
                else:
                    dynquant_f32_qd8_xnn(x[m0:m1], 128, q[m0:m1, :k], scales[m0:m1], zps[m0:m1])
        return
    # loops index 1-D chunk views from 0 (a start that is not provably >= 0
    # keeps Numba's negative-index wraparound: no vectorization, measured 5x slower)
    for m in range(x.shape[0]):
        for t in prange(nt):
            k0, k1 = split_rows(t, nt, k, 16)
            xr = x[m, k0:k1]
            a = x[m, 0]
            b = x[m, 0]
            for j in range(k1 - k0):
                a = fminnum(a, xr[j])
                b = fmaxnum(b, xr[j])
            mm[t, 0] = a
            mm[t, 1] = b
        mn = mm[0, 0]
        mx = mm[0, 1]
        for t in range(1, nt):
            mn = fminnum(mn, mm[t, 0])
            mx = fmaxnum(mx, mm[t, 1])
        flat = False
        if tflite:
            mm[nt, 0] = mn
            mm[nt, 1] = mx
            dynquant_f32_qd8_tflite(mm[nt:nt + 1], 128, mq, scales[m:m + 1], zps[m:m + 1])
            zp = np.int64(zps[m]) - 128
            zero = np.float32(0.0)
            fmin = mn if mn < zero else zero
            fmax = mx if mx > zero else zero
            flat = fmin == fmax
            mult = np.float32(1.0) / scales[m]
        else:
            mult, zp32, scale = qd8_params_xnn(mn, mx)
            zp = np.int64(zp32)
            scales[m] = scale
            zps[m] = zp + 128
        lo = np.float32(-128 - zp)
        hi = np.float32(127 - zp)
        base = zp + 128
        for t in prange(nt):
            k0, k1 = split_rows(t, nt, k, 16)
            xr = x[m, k0:k1]
            qr = q[m, k0:k1]
            nv = min(max(kv - k0, 0), k1 - k0)      # elements of this chunk below K & ~7
            if flat:
                for j in range(k1 - k0):
                    qr[j] = 128
            elif tflite:
                _codes_neon_simd(xr, qr, nv, mult, lo, hi, base)    # the serial quantizers' code loops
                for j in range(nv, k1 - k0):
                    v = _round_neon_f32(xr[j] * mult, False)
                    v = fmaxnum(v, lo)
                    v = fminnum(v, hi)
                    qr[j] = np.int32(v) + base
            else:
                _row_codes_simd(xr, qr, mult, zp, 128)


# ---------------------------------------------------------------- elementwise
# Flat elementwise kernels split into nt contiguous chunks of the output; each
# chunk calls the serial kernel on 1-D slices, so every output element is
# computed by the same code as with one thread.  One driver per serial kernel:
# the template below is re-bound with the kernel as the global ``_fn`` under a
# name of its own (a closure over a dispatcher would defeat Numba's on-disk
# cache, whose index key pickles closure cells; the cache index is per
# qualname, and the name identifies the kernel, so entries cannot mix).
ELEM_CHUNK = 64            # chunk boundaries at multiples of this many elements
_ELEM_MT = {}


def _unary_mt_template(args, x, out, nt):
    for t in prange(nt):
        i0, i1 = split_rows(t, nt, out.shape[0], ELEM_CHUNK)
        if i1 > i0:
            _fn(*args, x[i0:i1], out[i0:i1])  # noqa: F821  (bound per kernel by _driver)


def _binary_mt_template(a, b, shapes, offs, sa, sb, lo, hi, out):
    for t in prange(shapes.shape[0]):
        if offs[t, 3] > 0:
            _fn(a[offs[t, 0]:], b[offs[t, 1]:], shapes[t], sa, sb, lo, hi, out[offs[t, 2]:])  # noqa: F821


def _lut_mt_template(x, table, out, nt):
    for t in prange(nt):
        i0, i1 = split_rows(t, nt, out.shape[0], ELEM_CHUNK)
        if i1 > i0:
            _fn(x[i0:i1], table, out[i0:i1])  # noqa: F821  (bound per kernel by _driver)


def _rows_mt_template(args, x, out, nt, mr):
    for t in prange(nt):
        r0, r1 = split_rows(t, nt, x.shape[0], mr)
        if r1 > r0:
            _fn(x[r0:r1], *args, out[r0:r1])  # noqa: F821  (bound per kernel by _driver)


def _driver(template, fn, name):
    key = (template.__name__, name)
    drv = _ELEM_MT.get(key)
    if drv is None:
        g = dict(template.__globals__)
        g["_fn"] = fn
        f = types.FunctionType(template.__code__, g, template.__name__)
        f.__qualname__ = f"{template.__name__}__{name}"
        f.__module__ = template.__module__
        _ELEM_MT[key] = drv = kernel(parallel=True)(f)
    return drv


def unary_mt_kernel(fn, name):
    """The prange driver of a flat unary kernel ``fn(*args, x, out)``, called as
    ``driver(args, x, out, nt)`` (args: a tuple, possibly empty).  name: a
    stable identifier unique to fn (the cache entry's name)."""
    return _driver(_unary_mt_template, fn, name)


def lut_mt_kernel(fn, name):
    """The prange driver of an 8-bit table lookup ``fn(x_u8, table, out)``, called as
    ``driver(x, table, out, nt)``: contiguous chunks; name as unary_mt_kernel."""
    return _driver(_lut_mt_template, fn, name)


def rows_mt_kernel(fn, name):
    """The prange driver of a row-wise kernel ``fn(x, *args, out)`` on (rows, depth)
    arrays (softmax), called as ``driver(args, x, out, nt, mr)``: chunks of whole
    rows, starting at multiples of mr rows (a kernel whose results depend on the
    flat position, as Eigen's packets of 4 do, needs mr * depth % 4 == 0); name as
    unary_mt_kernel."""
    return _driver(_rows_mt_template, fn, name)


def binary_mt_kernel(fn, name):
    """The prange driver of a rank-6 broadcast binary kernel
    ``fn(a, b, shape, sa, sb, lo, hi, out)`` (kernels/elementwise.py layout),
    called as ``driver(a, b, shapes, offs, sa, sb, lo, hi, out)`` with the
    per-chunk shapes / offsets of :func:`split_bcast`; name as unary_mt_kernel."""
    return _driver(_binary_mt_template, fn, name)


def split_bcast(shape, sa, sb, nt):
    """Cut a rank-6 broadcast loop nest (shape, element strides sa / sb) into nt
    chunks along its outermost dimension > 1 (whole 64-element blocks when that
    is the innermost row).  Returns (shapes int64[nt, 6], offs int64[nt, 4]):
    chunk t runs shape shapes[t] on a[offs[t, 0]:], b[offs[t, 1]:],
    out[offs[t, 2]:]; offs[t, 3] = its element count (0: nothing to do)."""
    shape = [int(v) for v in shape]
    d = next((i for i in range(6) if shape[i] > 1), 5)
    inner = int(np.prod(shape[d + 1:], dtype=np.int64))
    n = shape[d]
    step = ELEM_CHUNK if d == 5 else 1
    chunk = -(-(-(-n // nt)) // step) * step
    shapes = np.zeros((nt, 6), np.int64)
    offs = np.zeros((nt, 4), np.int64)
    for t in range(nt):
        i0 = min(n, t * chunk)
        i1 = min(n, i0 + chunk)
        s = list(shape)
        s[d] = i1 - i0
        shapes[t] = s
        offs[t] = (i0 * int(sa[d]), i0 * int(sb[d]), i0 * inner, (i1 - i0) * inner)
    return shapes, offs
