"""numba-compiled loops for single-kernel problems: one 2-D kernel over planes (imported only when numba is installed).

The general kernels (:mod:`._numba_kernels`) parallelise over ``(sample, channel)`` planes, which
leaves one image on one thread; these parallelise over blocks of output rows of all planes, so
a single large image uses every thread. Both work on padded planes ``xp (M, Hp, Wp)`` (valid
correlation, no bounds checks) and take the kernel as a list of taps: row offsets, column
offsets and weights (the caller drops zero taps of finite data; for non-finite data every tap
stays, so a NaN or inf spoils exactly the outputs whose window holds it).

- :func:`taps2d`: the 2-D kernel, four taps per sweep along the row (``acc[j] += w0 * r0[j] +
  ... + w3 * r3[j]``: one load and store of the accumulator per four multiply-adds);
- :func:`separable2d`: a rank-1 kernel ``outer(column, row)``, fused per output row: the
  vertical pass into a row buffer, then the horizontal pass over it while it is in L1.

A stride skips output rows (only the kept rows are computed); along the row the full-resolution
result is computed and every ``sw``-th value kept. The accumulators are arrays allocated inside
each task and the row loops read slices taken before the loop (a run-time offset or stride in the
loop's index keeps LLVM from vectorising it); only fused multiply-adds are allowed
(``fastmath={"contract"}``), so NaN and inf behave as in NumPy. Compiled on first use per dtype
and cached on disk (``cache=True``).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

_OPTS = dict(parallel=True, cache=True, nogil=True, boundscheck=False, fastmath={"contract"})
_INLINE = dict(cache=True, nogil=True, boundscheck=False, fastmath={"contract"}, inline="always")


@numba.njit(**_INLINE)
def _sweep(acc, plane, r0, c0, tu, tv, tw, n):           # pragma: no cover - compiled
    """``acc[j] += sum_t tw[t] * plane[r0 + tu[t], c0 + tv[t] + j]`` for ``j < n``."""
    T = len(tw)
    t = 0
    while t + 4 <= T:
        w0, w1, w2, w3 = tw[t], tw[t + 1], tw[t + 2], tw[t + 3]
        a = plane[r0 + tu[t], c0 + tv[t]:c0 + tv[t] + n]
        b = plane[r0 + tu[t + 1], c0 + tv[t + 1]:c0 + tv[t + 1] + n]
        c = plane[r0 + tu[t + 2], c0 + tv[t + 2]:c0 + tv[t + 2] + n]
        d = plane[r0 + tu[t + 3], c0 + tv[t + 3]:c0 + tv[t + 3] + n]
        for j in range(n):
            acc[j] += w0 * a[j] + w1 * b[j] + w2 * c[j] + w3 * d[j]
        t += 4
    while t < T:
        w0 = tw[t]
        a = plane[r0 + tu[t], c0 + tv[t]:c0 + tv[t] + n]
        for j in range(n):
            acc[j] += w0 * a[j]
        t += 1


@numba.njit(**_INLINE)
def _sweep1d(acc, line, tv, tw, n):                       # pragma: no cover - compiled
    """``acc[j] += sum_t tw[t] * line[tv[t] + j]`` for ``j < n``."""
    T = len(tw)
    t = 0
    while t + 4 <= T:
        w0, w1, w2, w3 = tw[t], tw[t + 1], tw[t + 2], tw[t + 3]
        a = line[tv[t]:tv[t] + n]
        b = line[tv[t + 1]:tv[t + 1] + n]
        c = line[tv[t + 2]:tv[t + 2] + n]
        d = line[tv[t + 3]:tv[t + 3] + n]
        for j in range(n):
            acc[j] += w0 * a[j] + w1 * b[j] + w2 * c[j] + w3 * d[j]
        t += 4
    while t < T:
        w0 = tw[t]
        a = line[tv[t]:tv[t] + n]
        for j in range(n):
            acc[j] += w0 * a[j]
        t += 1


@numba.njit(**_OPTS)
def taps2d(xp, tu, tv, tw, out, sh, sw, blocks):         # pragma: no cover - compiled
    """``out (M, Ho, Wo)[m, i, j] = sum_t tw[t] * xp[m, i * sh + tu[t], j * sw + tv[t]]``;
    ``blocks`` tasks, each a contiguous run of the ``M * Ho`` output rows."""
    M, Ho, Wo = out.shape
    wf = (Wo - 1) * sw + 1
    rows = M * Ho
    per = (rows + blocks - 1) // blocks
    for b in prange(blocks):
        acc = np.empty(wf, dtype=out.dtype)
        for r in range(b * per, min(rows, (b + 1) * per)):
            m = r // Ho
            i = r - m * Ho
            acc[:] = 0
            _sweep(acc, xp[m], i * sh, 0, tu, tv, tw, wf)
            if sw == 1:
                out[m, i, :] = acc
            else:
                out[m, i, :] = acc[::sw]


@numba.njit(**_OPTS)
def separable2d(xp, cu, cw, rv, rw, out, sh, sw, blocks):   # pragma: no cover - compiled
    """``out[m, i, j] = sum_v rw[v] * sum_u cw[u] * xp[m, i * sh + cu[u], j * sw + rv[v]]``,
    fused per output row (``rv`` ascending, so ``rv[-1]`` is the widest offset)."""
    M, Ho, Wo = out.shape
    wf = (Wo - 1) * sw + 1
    wm = wf + (rv[len(rv) - 1] if len(rv) else 0)
    rows = M * Ho
    per = (rows + blocks - 1) // blocks
    zero_u = np.zeros(len(cw), dtype=np.int64)
    for b in prange(blocks):
        mid = np.empty(wm, dtype=out.dtype)
        acc = np.empty(wf, dtype=out.dtype)
        for r in range(b * per, min(rows, (b + 1) * per)):
            m = r // Ho
            i = r - m * Ho
            mid[:] = 0
            acc[:] = 0
            plane = xp[m]
            _sweep(mid, plane, i * sh, 0, cu, zero_u, cw, wm)
            _sweep1d(acc, mid, rv, rw, wf)
            if sw == 1:
                out[m, i, :] = acc
            else:
                out[m, i, :] = acc[::sw]


def set_threads(n: int) -> None:
    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
