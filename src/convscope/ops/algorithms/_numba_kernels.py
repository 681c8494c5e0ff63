"""numba-compiled loops for 2-D direct convolution (imported only when numba is installed).

Each kernel works on a zero-padded input (or a padded gradient buffer) so the loops need no
bounds checks, and parallelises over outputs that no two threads share: ``(sample, output
channel)`` planes for the forward, ``(sample, input channel)`` planes for the input gradient and
``(output channel, input channel)`` kernels for the weight gradient. The innermost loop runs
along a row, contiguous for stride 1, which LLVM vectorises. Compiled on first use and cached on
disk (``cache=True``).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from ._numba_planes import _sweep1d

_OPTS = dict(parallel=True, cache=True, nogil=True, boundscheck=False, fastmath={"contract"})
_REDUCE = dict(_OPTS, fastmath={"contract", "reassoc"})

# Measured on depthwise 3x3 (32, 128, 56, 56), one thread: the accumulators are arrays allocated
# inside each task, so LLVM sees that they alias nothing and vectorises the row loops (writing
# into views of the output: 4x slower); a stride read as a run-time variable in the row loop
# keeps it scalar (5x slower), and so does an offset added to the row index (a slice of the
# row is read instead), hence one kernel for unit column stride and one for any stride;
# fused multiply-adds (``contract``) are allowed, and reassociation only where a loop is a sum.


@numba.njit(**_OPTS)
def forward2d(xp, w, y, sh, sw, dh, dw, groups):          # pragma: no cover - compiled
    N, O, Ho, Wo = y.shape
    Cg, KH, KW = w.shape[1], w.shape[2], w.shape[3]
    Og = O // groups
    for t in prange(N * O):
        n = t // O
        o = t - n * O
        c0 = (o // Og) * Cg
        acc = np.empty(Wo, dtype=y.dtype)
        for i in range(Ho):
            acc[:] = 0
            for c in range(Cg):
                for u in range(KH):
                    for v in range(KW):
                        wt = w[o, c, u, v]
                        xrow = xp[n, c0 + c, i * sh + u * dh, v * dw:v * dw + Wo]
                        for j in range(Wo):
                            acc[j] += wt * xrow[j]
            y[n, o, i, :] = acc


@numba.njit(**_OPTS)
def forward2d_flat(xp, w2, offsets, y, groups, block):   # pragma: no cover - compiled
    """The stride-1 forward over flat planes: output row ``i`` is computed at the padded input's
    width ``Wp`` (``acc[i * Wp + j]``, the columns ``j >= Wo`` wasted), so every tap is one
    contiguous sweep ``acc += w * x_flat[offset:]`` over a block of the flat plane instead of
    ``Ho`` short row loops; ``offsets[t] = c * Hp * Wp + u * dh * Wp + v * dw`` for tap ``t`` of
    ``w2 (O, Cg * KH * KW)``. Tasks: (sample, output channel, block of ``block`` flat outputs)."""
    N, O, Ho, Wo = y.shape
    C, Hp, Wp = xp.shape[1], xp.shape[2], xp.shape[3]
    Cg = C // groups
    Og = O // groups
    L = (Ho - 1) * Wp + Wo                     # the last row stops at Wo: reads stay in the plane
    nb = (L + block - 1) // block
    plane = Hp * Wp
    for task in prange(N * O * nb):
        b = task % nb
        t = task // nb
        n = t // O
        o = t - n * O
        start = b * block
        stop = min(L, start + block)
        acc = np.zeros(stop - start, dtype=y.dtype)
        c0 = (o // Og) * Cg
        line = xp[n].reshape(C * plane)[c0 * plane + start:]
        _sweep1d(acc, line, offsets, w2[o], stop - start)
        # scatter the block's valid columns into the output rows
        i0 = start // Wp
        i1 = (stop - 1) // Wp
        for i in range(i0, i1 + 1):
            lo = max(start, i * Wp)
            hi = min(stop, i * Wp + Wo)
            if hi > lo:
                y[n, o, i, lo - i * Wp:hi - i * Wp] = acc[lo - start:hi - start]


@numba.njit(**_REDUCE)
def weight_grad2d_flat(xp, gyw, L_out, offsets, gw2, groups):    # pragma: no cover - compiled
    """The stride-1 weight gradient over flat planes, the adjoint of :func:`forward2d_flat`:
    ``gw2[o, t] = sum_n dot(gyw[n, o, :L_out], x_flat[n, c0 + offsets[t]:])``, with ``gyw (N, O,
    Ho * Wp)`` the output gradient laid out at the padded width (zeros in the wasted columns; C-
    contiguous, so that its rows are known to be contiguous and the dot products vectorise). Tasks: output
    channels (each owns its row of ``gw2``)."""
    N, O = gyw.shape[:2]
    C, Hp, Wp = xp.shape[1], xp.shape[2], xp.shape[3]
    L = L_out
    Cg = C // groups
    Og = O // groups
    plane = Hp * Wp
    T = len(offsets)
    for o in prange(O):
        c0 = (o // Og) * Cg
        zero = np.zeros(1, dtype=gw2.dtype)[0]
        t = 0
        while t < T:                           # four taps a pass: one load of gy per 4 products
            k = min(4, T - t)
            s0 = zero
            s1 = zero
            s2 = zero
            s3 = zero
            for n in range(N):
                flat = xp[n].reshape(C * plane)
                g = gyw[n, o, :L]
                b0 = c0 * plane + offsets[t]
                b1 = c0 * plane + offsets[t + 1] if k > 1 else b0
                b2 = c0 * plane + offsets[t + 2] if k > 2 else b0
                b3 = c0 * plane + offsets[t + 3] if k > 3 else b0
                l0 = flat[b0:b0 + L]
                l1 = flat[b1:b1 + L]
                l2 = flat[b2:b2 + L]
                l3 = flat[b3:b3 + L]
                for j in range(L):
                    gj = g[j]
                    s0 += gj * l0[j]
                    s1 += gj * l1[j]
                    s2 += gj * l2[j]
                    s3 += gj * l3[j]
            gw2[o, t] = s0
            if k > 1:
                gw2[o, t + 1] = s1
            if k > 2:
                gw2[o, t + 2] = s2
            if k > 3:
                gw2[o, t + 3] = s3
            t += k


@numba.njit(**_OPTS)
def forward2d_strided(xp, w, y, sh, sw, dh, dw, groups):  # pragma: no cover - compiled
    N, O, Ho, Wo = y.shape
    Cg, KH, KW = w.shape[1], w.shape[2], w.shape[3]
    Og = O // groups
    for t in prange(N * O):
        n = t // O
        o = t - n * O
        c0 = (o // Og) * Cg
        acc = np.empty(Wo, dtype=y.dtype)
        for i in range(Ho):
            acc[:] = 0
            for c in range(Cg):
                for u in range(KH):
                    for v in range(KW):
                        wt = w[o, c, u, v]
                        xrow = xp[n, c0 + c, i * sh + u * dh, v * dw:v * dw + (Wo - 1) * sw + 1:sw]
                        for j in range(Wo):
                            acc[j] += wt * xrow[j]
            y[n, o, i, :] = acc


@numba.njit(**_OPTS)
def input_grad2d(gy, w, gxp, sh, sw, dh, dw, groups):    # pragma: no cover - compiled
    """``gxp (N, C, Hc, Wc)`` = the windows of ``w^T gy`` placed back (overwritten)."""
    N, O, Ho, Wo = gy.shape
    C, Hc, Wc = gxp.shape[1], gxp.shape[2], gxp.shape[3]
    Cg, KH, KW = w.shape[1], w.shape[2], w.shape[3]
    Og = O // groups
    for t in prange(N * C):
        n = t // C
        c = t - n * C
        g = c // Cg
        cl = c - g * Cg
        acc = np.zeros((Hc, Wc), dtype=gxp.dtype)
        for o in range(g * Og, (g + 1) * Og):
            for i in range(Ho):
                grow = gy[n, o, i]
                for u in range(KH):
                    for v in range(KW):
                        wt = w[o, cl, u, v]
                        arow = acc[i * sh + u * dh, v * dw:v * dw + Wo]
                        for j in range(Wo):
                            arow[j] += wt * grow[j]
        gxp[n, c] = acc


@numba.njit(**_OPTS)
def input_grad2d_strided(gy, w, gxp, sh, sw, dh, dw, groups):   # pragma: no cover - compiled
    N, O, Ho, Wo = gy.shape
    C, Hc, Wc = gxp.shape[1], gxp.shape[2], gxp.shape[3]
    Cg, KH, KW = w.shape[1], w.shape[2], w.shape[3]
    Og = O // groups
    for t in prange(N * C):
        n = t // C
        c = t - n * C
        g = c // Cg
        cl = c - g * Cg
        acc = np.zeros((Hc, Wc), dtype=gxp.dtype)
        for o in range(g * Og, (g + 1) * Og):
            for i in range(Ho):
                grow = gy[n, o, i]
                for u in range(KH):
                    for v in range(KW):
                        wt = w[o, cl, u, v]
                        arow = acc[i * sh + u * dh, v * dw:v * dw + (Wo - 1) * sw + 1:sw]
                        for j in range(Wo):
                            arow[j] += wt * grow[j]
        gxp[n, c] = acc


@numba.njit(**_REDUCE)
def weight_grad2d(xp, gy, gw, sh, sw, dh, dw, groups):   # pragma: no cover - compiled
    """``gw (O, Cg, KH, KW)`` = sum over samples and positions of window * gy (overwritten);
    each row's sum in the data's precision, the rows' sums in float64."""
    N, O, Ho, Wo = gy.shape
    Cg, KH, KW = gw.shape[1], gw.shape[2], gw.shape[3]
    Og = O // groups
    for t in prange(O * Cg):
        o = t // Cg
        cl = t - o * Cg
        c = (o // Og) * Cg + cl
        acc = np.zeros((KH, KW), dtype=np.float64)
        for n in range(N):
            for i in range(Ho):
                grow = gy[n, o, i]
                for u in range(KH):
                    for v in range(KW):
                        xrow = xp[n, c, i * sh + u * dh, v * dw:v * dw + Wo]
                        s = grow[0] * 0
                        for j in range(Wo):
                            s += xrow[j] * grow[j]
                        acc[u, v] += s
        for u in range(KH):
            for v in range(KW):
                gw[o, cl, u, v] = acc[u, v]


@numba.njit(**_REDUCE)
def weight_grad2d_strided(xp, gy, gw, sh, sw, dh, dw, groups):   # pragma: no cover - compiled
    N, O, Ho, Wo = gy.shape
    Cg, KH, KW = gw.shape[1], gw.shape[2], gw.shape[3]
    Og = O // groups
    for t in prange(O * Cg):
        o = t // Cg
        cl = t - o * Cg
        c = (o // Og) * Cg + cl
        acc = np.zeros((KH, KW), dtype=np.float64)
        for n in range(N):
            for i in range(Ho):
                grow = gy[n, o, i]
                for u in range(KH):
                    for v in range(KW):
                        xrow = xp[n, c, i * sh + u * dh, v * dw:v * dw + (Wo - 1) * sw + 1:sw]
                        s = grow[0] * 0
                        for j in range(Wo):
                            s += xrow[j] * grow[j]
                        acc[u, v] += s
        for u in range(KH):
            for v in range(KW):
                gw[o, cl, u, v] = acc[u, v]


def run(name: str, sw: int, *args) -> None:
    """Call kernel ``name`` (``forward2d``, ``input_grad2d``, ``weight_grad2d``), its strided
    variant when the column stride ``sw`` is not 1."""
    globals()[name if sw == 1 else name + "_strided"](*args)


def set_threads(n: int) -> None:
    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
