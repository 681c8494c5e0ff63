"""numba-compiled 2-D max pooling, forward (with PyTorch's indices) and backward (imported only
when numba is installed; :mod:`convscope.ops.pool` keeps the NumPy scan for every rank).

The same rules as :func:`convscope.ops.pool.max_pool_forward`, one window at a time in
row-major tap order: a window's first real element starts it (so a window whose elements all
equal the lowest value points at its first one), a strictly greater value replaces the maximum
(ties keep the first), and a NaN always replaces it (the last NaN wins); padding is never read,
and a window with no real element gives the lowest value and index -1. Parallel over the
``(sample, channel)`` planes, which also makes the backward's scatter race-free.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

_OPTS = dict(parallel=True, cache=True, nogil=True, boundscheck=False)


@numba.njit(**_OPTS)
def max_pool2d(x, y, indices, kh, kw, sh, sw, ph, pw, dh, dw, lowest):   # pragma: no cover - compiled
    N, C, H, W = x.shape
    Ho, Wo = y.shape[2], y.shape[3]
    for t in prange(N * C):
        n = t // C
        c = t - n * C
        plane = x[n, c]
        for i in range(Ho):
            r0 = i * sh - ph
            for j in range(Wo):
                c0 = j * sw - pw
                best = lowest
                at = -1
                for u in range(kh):
                    r = r0 + u * dh
                    if r < 0 or r >= H:
                        continue
                    row = plane[r]
                    for v in range(kw):
                        q = c0 + v * dw
                        if q < 0 or q >= W:
                            continue
                        value = row[q]
                        if at < 0 or value > best or value != value:
                            best = value
                            at = r * W + q
                y[n, c, i, j] = best
                indices[n, c, i, j] = at


@numba.njit(**_OPTS)
def max_pool2d_backward(gy, indices, gx):                 # pragma: no cover - compiled
    """``gx (N, C, H * W)`` (zeroed) += each output's gradient at its index (-1: nowhere)."""
    N, C, Ho, Wo = gy.shape
    for t in prange(N * C):
        n = t // C
        c = t - n * C
        g = gx[n, c]
        for i in range(Ho):
            for j in range(Wo):
                at = indices[n, c, i, j]
                if at >= 0:
                    g[at] += gy[n, c, i, j]


def set_threads(n: int) -> None:
    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
