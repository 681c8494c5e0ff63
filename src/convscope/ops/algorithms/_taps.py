"""Tap-by-tap NumPy passes for single-kernel problems: one NumPy pass per kernel tap over flat planes.

The single-kernel paths (see :mod:`._planes_tuning`) compute the stride-1 'valid'
cross-correlation of C-contiguous planes ``xp (M, Hp, Wp)`` with a kernel ``(P, Q)``;
:func:`_finish` then keeps every s-th row and column. These passes are the NumPy-only path of
the ``direct`` and ``separable`` algorithms for such problems (numba's loops are
:mod:`._numba_planes`). A NaN or inf spoils exactly the outputs whose window holds it: zero
taps are skipped only for finite data (``0 * NaN`` is NaN).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ... import backend
from . import _planes_tuning as T

# The tap-by-tap passes treat the planes as one flat 1-D array: shifting a window by ``(u, v)``
# adds ``u * Wp + v`` to a flat index, so every pass is a 1-D contiguous NumPy operation, 3.5x
# faster than the same pass over a 2-D view with row strides (0.75 ms against 2.7 ms for one
# add over 2048^2 float32: NumPy's iterator pays about a microsecond per row). A block of flat
# outputs is computed into a cache-sized buffer with the planes' layout, whose last ``Q - 1``
# columns of each row (and ``P - 1`` rows of each plane) are windows that wrap around; the rest
# is copied to the output while still in cache.

def _finish(y: np.ndarray, stride: tuple[int, int]) -> np.ndarray:
    """Keep every s-th row and column of a new array ``y`` (a copy only for a stride)."""
    return y if stride == (1, 1) else np.ascontiguousarray(y[:, ::stride[0], ::stride[1]])



def _schedule(weights: np.ndarray, finite: bool) -> tuple[list[tuple[Any, int, int | None, bool]], Any]:
    """Plan ``sum_t weights[t] * x[t]`` as NumPy passes: ``(steps, scale)``.

    A step ``(w, t, None, _)`` adds ``w * x[t]``; ``(w, t, u, plus)`` adds ``w * (x[t] + x[u])``
    (or ``-``) for the mirrored tap ``u = n - 1 - t`` of a symmetric (antisymmetric) pair, which
    saves a multiplication. When every non-zero weight is ``+-s`` (a box, Prewitt) the sum is
    taken with weights ``+-1`` (additions only) and multiplied by ``scale = s`` at the end. Zero
    weights are skipped only for finite data, as ``0 * NaN`` must stay NaN.
    """
    w = np.asarray(weights)
    scale = w.dtype.type(1)
    nonzero = w[w != 0]
    if len(nonzero) > 2:
        s = np.abs(nonzero[0])
        if np.all((nonzero == s) | (nonzero == -s)):
            scale = w.dtype.type(s)
            w = w / scale
    n = len(w)
    steps, paired = [], set()
    for t in range(n):
        if t in paired or (finite and w[t] == 0):
            continue
        u = n - 1 - t
        if u > t and w[t] != 0 and (w[u] == w[t] or w[u] == -w[t]):
            plus = bool(w[u] == w[t])
            paired.add(u)
            if not plus and not steps and w[t] == -1:
                steps.append((w[u], u, t, False))    # -(x[t] - x[u]) as x[u] - x[t]: one pass
            else:
                steps.append((w[t], t, u, plus))
        else:
            steps.append((w[t], t, None, True))
    return steps, scale


def _schedule_passes(steps, scale) -> int:
    """Elementwise passes :func:`_run` makes for a schedule (its cost)."""
    n = int(scale != 1)
    for i, (w, _, u, _) in enumerate(steps):
        unit = w == 1 or w == -1
        if u is None:
            n += 1 if i == 0 or unit else 2
        elif i == 0:
            n += 1 if w == 1 else 2
        else:
            n += 2 if unit else 3
    return max(n, 1)


def _accumulate(acc: np.ndarray, src: np.ndarray, weight, tmp: np.ndarray, first: bool) -> None:
    """``acc = weight * src`` (first step) or ``acc += weight * src``, in place; weights 1 and
    -1 need no multiplication. ``tmp`` may be ``src``."""
    if first:
        if weight == 1:
            np.copyto(acc, src)
        elif weight == -1:
            np.negative(src, out=acc)
        else:
            np.multiply(src, weight, out=acc)
    elif weight == 1:
        np.add(acc, src, out=acc)
    elif weight == -1:
        np.subtract(acc, src, out=acc)
    else:
        np.multiply(src, weight, out=tmp)
        np.add(acc, tmp, out=acc)


def _run(acc: np.ndarray, src, steps, scale, tmp: np.ndarray) -> None:
    """Evaluate a :func:`_schedule` into ``acc``; ``src(t)`` is the shifted input of tap ``t``."""
    if not steps:
        acc.fill(0)
        return
    for i, (w, t, u, plus) in enumerate(steps):
        if u is None:
            _accumulate(acc, src(t), w, tmp, i == 0)
            continue
        combine = np.add if plus else np.subtract
        if i == 0:
            combine(src(t), src(u), out=acc)
            if w == -1:
                np.negative(acc, out=acc)
            elif w != 1:
                np.multiply(acc, w, out=acc)
        else:
            combine(src(t), src(u), out=tmp)
            _accumulate(acc, tmp, w, tmp, False)
    if scale != 1:
        np.multiply(acc, scale, out=acc)


def _chunk_len(itemsize: int) -> int:
    return max(1024, T.BLOCK_BYTES // itemsize)


def _taps_cost(passes: int, pixels: int) -> float:
    calls = passes * -(-pixels // _chunk_len(4))
    return (passes * pixels * T.NS_PASS + calls * T.NS_CALL) / T.speedup(pixels)


def _taps_rows(m: int, hs: int, ws: int, ho: int, wo: int, stride: tuple[int, int], dtype: np.dtype,
               out: np.ndarray, compute) -> None:
    """Run a flat tap-by-tap computation block by block and store the outputs.

    The source is ``M`` planes of ``Hs x Ws`` seen flat; the outputs of interest are the first
    ``Ho`` rows and ``Wo`` columns of each plane. A block is a run of flat indices covering
    whole planes (small planes) or rows of one plane: ``compute(i0, n, buf)`` fills ``buf[:n]``
    with the outputs at flat indices ``i0 .. i0 + n``, and the block's wanted outputs (every
    ``sh``-th row and ``sw``-th column) are copied to ``out (M, ceil(Ho / sh), ceil(Wo / sw))``
    while ``buf`` is still in cache. Blocks are spread over the threads.
    """
    sh, sw = stride
    size = dtype.itemsize
    rows = max(1, _chunk_len(size) // ws)
    if rows >= ho:
        planes = max(1, rows // hs)
        blocks = [(m0, min(m, m0 + planes), 0, ho) for m0 in range(0, m, planes)]
    else:
        step = max(sh, rows // sh * sh)
        blocks = [(i, i + 1, r0, min(ho, r0 + step)) for i in range(m) for r0 in range(0, ho, step)]

    def block(b):
        m0, m1, r0, r1 = b
        n = (m1 - m0 - 1) * hs * ws + (r1 - r0 - 1) * ws + wo
        buf = backend.scratch("planes.res", (n,), dtype)
        compute(m0 * hs * ws + r0 * ws, n, buf)
        view = as_strided(buf, (m1 - m0, r1 - r0, wo), (hs * ws * size, ws * size, size), writeable=False)
        out[m0:m1, r0 // sh:-(-r1 // sh)] = view[:, ::sh, ::sw]

    backend.parallel_for(block, blocks, m * ho * wo)


def _taps_compute(src: np.ndarray, offsets, schedule):
    """``compute`` for :func:`_taps_rows`: ``buf[i - i0] = sum_t w[t] * src[i + offsets[t]]``."""
    steps, scale = schedule

    def compute(i0, n, buf):
        _run(buf, lambda t: src[i0 + offsets[t]:i0 + offsets[t] + n], steps, scale,
             backend.scratch("planes.tmp", (n,), src.dtype))

    return compute


def _separable_compute(src: np.ndarray, ws: int, vschedule, hschedule, q: int):
    """``compute`` for :func:`_taps_rows` doing both 1-D passes per block: the vertical pass
    over the block and ``q - 1`` more (``mid[j] = sum_u col[u] * src[i0 + j + u * ws]``), then
    the horizontal pass (``buf[j] = sum_v row[v] * mid[j + v]``) while ``mid`` is in cache."""
    def compute(i0, n, buf):
        mid = backend.scratch("planes.mid", (n + q - 1,), src.dtype)
        tmp = backend.scratch("planes.tmp", (n + q - 1,), src.dtype)
        _run(mid, lambda u: src[i0 + u * ws:i0 + u * ws + n + q - 1], *vschedule, tmp)
        _run(buf, lambda v: mid[v:v + n], *hschedule, tmp[:n])

    return compute


def _strided_empty(m: int, ho: int, wo: int, stride: tuple[int, int], dtype: np.dtype) -> np.ndarray:
    return np.empty((m, -(-ho // stride[0]), -(-wo // stride[1])), dtype=dtype)


def _direct_taps(xp: np.ndarray, k: np.ndarray, finite: bool, stride: tuple[int, int]) -> np.ndarray:
    """The 2-D kernel tap by tap (taps numbered row-major, so the mirror of tap ``(u, v)`` is
    ``(P-1-u, Q-1-v)``)."""
    m, hp, wp = xp.shape
    p, q = k.shape
    ho, wo = hp - p + 1, wp - q + 1
    out = _strided_empty(m, ho, wo, stride, xp.dtype)
    offsets = [u * wp + v for u in range(p) for v in range(q)]
    _taps_rows(m, hp, wp, ho, wo, stride, xp.dtype, out,
               _taps_compute(xp.reshape(-1), offsets, _schedule(k.ravel(), finite)))
    return out

