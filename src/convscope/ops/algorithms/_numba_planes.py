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
    while t + 8 <= T:
        w0, w1, w2, w3 = tw[t], tw[t + 1], tw[t + 2], tw[t + 3]
        w4, w5, w6, w7 = tw[t + 4], tw[t + 5], tw[t + 6], tw[t + 7]
        a = plane[r0 + tu[t], c0 + tv[t]:c0 + tv[t] + n]
        b = plane[r0 + tu[t + 1], c0 + tv[t + 1]:c0 + tv[t + 1] + n]
        c = plane[r0 + tu[t + 2], c0 + tv[t + 2]:c0 + tv[t + 2] + n]
        d = plane[r0 + tu[t + 3], c0 + tv[t + 3]:c0 + tv[t + 3] + n]
        e = plane[r0 + tu[t + 4], c0 + tv[t + 4]:c0 + tv[t + 4] + n]
        f = plane[r0 + tu[t + 5], c0 + tv[t + 5]:c0 + tv[t + 5] + n]
        g = plane[r0 + tu[t + 6], c0 + tv[t + 6]:c0 + tv[t + 6] + n]
        h = plane[r0 + tu[t + 7], c0 + tv[t + 7]:c0 + tv[t + 7] + n]
        for j in range(n):
            acc[j] += (w0 * a[j] + w1 * b[j] + w2 * c[j] + w3 * d[j]
                       + w4 * e[j] + w5 * f[j] + w6 * g[j] + w7 * h[j])
        t += 8
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
    while t + 8 <= T:
        w0, w1, w2, w3 = tw[t], tw[t + 1], tw[t + 2], tw[t + 3]
        w4, w5, w6, w7 = tw[t + 4], tw[t + 5], tw[t + 6], tw[t + 7]
        a = line[tv[t]:tv[t] + n]
        b = line[tv[t + 1]:tv[t + 1] + n]
        c = line[tv[t + 2]:tv[t + 2] + n]
        d = line[tv[t + 3]:tv[t + 3] + n]
        e = line[tv[t + 4]:tv[t + 4] + n]
        f = line[tv[t + 5]:tv[t + 5] + n]
        g = line[tv[t + 6]:tv[t + 6] + n]
        h = line[tv[t + 7]:tv[t + 7] + n]
        for j in range(n):
            acc[j] += (w0 * a[j] + w1 * b[j] + w2 * c[j] + w3 * d[j]
                       + w4 * e[j] + w5 * f[j] + w6 * g[j] + w7 * h[j])
        t += 8
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


@numba.njit(**_INLINE)
def _fill_line(line, plane, src, cols, fill, left, n):     # pragma: no cover - compiled
    """``line[c] = plane[src, cols[c]]`` for ``c < n`` (the constant ``fill`` where ``src`` or
    ``cols[c]`` is -1): one padded row, its interior ``[left, left + W)`` as one copy."""
    if src < 0:
        line[:n] = fill
        return
    _lay_out(line, plane[src], cols, fill, left, n)


@numba.njit(**_INLINE)
def _lay_out(line, row, cols, fill, left, n):            # pragma: no cover - compiled
    """``line[c] = row[cols[c]]`` (``fill`` where -1) for ``c < n``, the interior as one copy."""
    W = row.shape[0]
    lo = min(left, n)
    hi = min(left + W, n)
    if hi > lo:
        line[lo:hi] = row[lo - left:hi - left]
    for c in range(lo):
        s = cols[c]
        line[c] = fill if s < 0 else row[s]
    for c in range(max(hi, lo), n):
        s = cols[c]
        line[c] = fill if s < 0 else row[s]


@numba.njit(**_OPTS)
def taps2d_border(x, rows, cols, fill, left, P, tu, tv, tw, out, sh, sw, blocks):   # pragma: no cover
    """:func:`taps2d` of the planes ``x (M, H, W)`` padded through index maps instead of a copy:
    padded row ``r`` is source row ``rows[r]``, padded column ``c`` source column ``cols[c]``
    (-1: ``fill``), the interior starting at column ``left``. Each task keeps the ``P`` padded
    rows of the current window in a ring (a row is padded once per task, not once per window)."""
    M, Ho, Wo = out.shape
    wf = (Wo - 1) * sw + 1
    wl = wf + (np.max(tv) if len(tv) else 0)
    rows_total = M * Ho
    per = (rows_total + blocks - 1) // blocks
    T = len(tw)
    for b in prange(blocks):
        lines = np.empty((P, wl), dtype=out.dtype)
        held = np.full(P, -1, dtype=np.int64)
        trow = np.empty(T, dtype=np.int64)
        zero = np.zeros(T, dtype=np.int64)
        acc = np.empty(wf, dtype=out.dtype)
        current = -1
        for r in range(b * per, min(rows_total, (b + 1) * per)):
            m = r // Ho
            i = r - m * Ho
            if m != current:
                held[:] = -1
                current = m
            for t in range(T):
                pr = i * sh + tu[t]
                s = pr % P
                if held[s] != pr:
                    _fill_line(lines[s], x[m], rows[pr], cols, fill, left, wl)
                    held[s] = pr
                trow[t] = s
            acc[:] = 0
            _sweep(acc, lines, 0, 0, trow, tv, tw, wf)
            if sw == 1:
                out[m, i, :] = acc
            else:
                out[m, i, :] = acc[::sw]


@numba.njit(**_OPTS)
def separable2d_border(x, rows, cols, fill, left, cu, cw, rv, rw, out, sh, sw, blocks):   # pragma: no cover
    """:func:`separable2d` of the planes ``x (M, H, W)`` padded through index maps (as
    :func:`taps2d_border`). The vertical pass runs over the source columns only, straight from
    the source rows (a padded column is a source column, so its vertical sum is that column's;
    a constant column's is the sum of ``cw[u] * fill``), and is then laid out along the padded row."""
    M, Ho, Wo = out.shape
    W = x.shape[2]
    wf = (Wo - 1) * sw + 1
    wm = wf + (rv[len(rv) - 1] if len(rv) else 0)
    rows_total = M * Ho
    per = (rows_total + blocks - 1) // blocks
    U = len(cw)
    zero_u = np.zeros(U, dtype=np.int64)
    column_fill = out.dtype.type(0)        # a constant column's vertical sum, tap by tap (as
    for u in range(U):                     # a padded copy's: inf * (a - b) is not inf * a - inf * b)
        column_fill += cw[u] * fill
    whole = left + W <= wm                 # the whole interior lies in the computed row
    for b in prange(blocks):
        vs = np.empty(W, dtype=out.dtype)
        mid = np.empty(wm, dtype=out.dtype)
        acc = np.empty(wf, dtype=out.dtype)
        src = np.empty(U, dtype=np.int64)
        ws = np.empty(U, dtype=out.dtype)
        for r in range(b * per, min(rows_total, (b + 1) * per)):
            m = r // Ho
            i = r - m * Ho
            n = 0
            constant = out.dtype.type(0)
            for u in range(U):
                s = rows[i * sh + cu[u]]
                if s < 0:
                    constant += cw[u] * fill
                else:
                    src[n] = s
                    ws[n] = cw[u]
                    n += 1
            if whole:                    # the vertical sums straight into the padded row
                inner = mid[left:left + W]
                inner[:] = constant
                _sweep(inner, x[m], 0, 0, src[:n], zero_u[:n], ws[:n], W)
                for c in range(left):
                    s = cols[c]
                    mid[c] = column_fill if s < 0 else mid[left + s]
                for c in range(left + W, wm):
                    s = cols[c]
                    mid[c] = column_fill if s < 0 else mid[left + s]
            else:
                vs[:] = constant
                _sweep(vs, x[m], 0, 0, src[:n], zero_u[:n], ws[:n], W)
                _lay_out(mid, vs, cols, column_fill, left, wm)
            acc[:] = 0
            _sweep1d(acc, mid, rv, rw, wf)
            if sw == 1:
                out[m, i, :] = acc
            else:
                out[m, i, :] = acc[::sw]


def set_threads(n: int) -> None:
    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
