"""Toeplitz products for single-kernel problems: a 1-D correlation as a banded matrix product (BLAS).

8 output rows are ``T (8, P + 7) @ rows (P + 7, Wp)``: ``P + 7`` multiply-adds per pixel at BLAS
speed, about the same time for 3 taps as for 31. Products are cut below ``_planes_tuning.BLAS_SMALL``
multiply-adds so that BLAS computes each on the calling thread, and
:func:`convscope.backend.parallel_for` runs them on its threads. A product multiplies the band's
zeros too, so a NaN or inf spreads over its block: these run on finite data only.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ... import backend
from . import _planes_tuning as T

def _toeplitz(weights: np.ndarray, block: int, dtype: np.dtype) -> np.ndarray:
    """``T (block, block + n - 1)`` with ``T[i, i:i + n] = weights``: ``T @ x`` correlates the
    ``block + n - 1`` rows of ``x`` with ``weights`` into ``block`` rows."""
    n = len(weights)
    t = np.zeros((block, block + n - 1), dtype=dtype)
    i = np.arange(block)[:, None]
    t[i, i + np.arange(n)] = weights
    return t



def _small_products(jobs: list[tuple[np.ndarray, np.ndarray, np.ndarray]], pixels: int) -> None:
    """``np.matmul(a, b, out=c)`` for batched jobs, each split along its longest batch axis
    into one share per thread. Every product in a batch is below ``T.BLAS_SMALL`` multiply-adds,
    so BLAS computes it on the calling thread and the threads are ours (see ``T.BLAS_SMALL``)."""
    n = backend.parallel_workers(pixels)
    shares = [[] for _ in range(n)]                  # thread t takes share t of every job
    for a, b, c in jobs:
        axis = int(np.argmax(c.shape[:-2]))
        for t, part in enumerate(backend.split(c.shape[axis], n)):
            index = (slice(None),) * axis + (part,)
            shares[t].append((a if a.ndim == 2 else a[index], b if b.ndim == 2 else b[index], c[index]))

    def run(share):
        for a, b, c in share:
            np.matmul(a, b, out=c)

    backend.parallel_for(run, [share for share in shares if share], pixels)


def _chunk(budget_per_unit: int, total: int) -> int:
    """Largest chunk (a multiple of 8 where possible) with ``chunk * budget_per_unit`` within
    ``T.BLAS_SMALL``."""
    size = max(1, T.BLAS_SMALL // max(budget_per_unit, 1))
    return min(total, size if size < 8 else size // 8 * 8)


def _vertical_gemm(xp: np.ndarray, col: np.ndarray, out: np.ndarray) -> None:
    """``out (M, Hp - P + 1, W)`` = vertical valid correlation of ``xp (M, Hp, W)`` (any strides
    with contiguous rows) with ``col``: each block of ``S`` output rows and ``wc`` columns is
    ``T (S, S + P - 1) @ xp[rows, columns]``, batched matmuls over strided views of overlapping
    windows (no copy)."""
    m, hp, w = xp.shape
    p = len(col)
    ho = hp - p + 1
    s = min(T.VGEMM_BLOCK, ho)
    t = _toeplitz(col, s, xp.dtype)
    nb, rem = divmod(ho, s)
    sm, sr, sc = xp.strides
    om, orow, oc = out.strides
    jobs = []
    for r0, blocks, tb in ((0, nb, t), (nb * s, 1 if rem else 0, t[:rem, :rem + p - 1])):
        rows, k = tb.shape
        wc = _chunk(rows * k, w)
        nc = w // wc
        for c0, width, count in ((0, wc, nc), (nc * wc, w - nc * wc, 1)):
            if blocks and count and width:
                src = as_strided(xp[:, r0:, c0:], (m, blocks, count, k, width),
                                 (sm, rows * sr, width * sc, sr, sc), writeable=False)
                dst = as_strided(out[:, r0:, c0:], (m, blocks, count, rows, width),
                                 (om, rows * orow, width * oc, orow, oc))
                jobs.append((tb, src, dst))
    _small_products(jobs, out.size)


def _horizontal_gemm(mid: np.ndarray, row: np.ndarray, out: np.ndarray) -> None:
    """``out (R, Wp - Q + 1)`` = horizontal valid correlation of ``mid (R, Wp)`` with ``row``:
    each block of ``rc`` rows and ``B`` output columns is ``mid[rows, B + Q - 1 columns] @ T.T``,
    batched matmuls over strided views."""
    r, wp = mid.shape
    q = len(row)
    wo = wp - q + 1
    b = min(T.HGEMM_BLOCK, wo)
    tt = _toeplitz(row, b, mid.dtype).T                # (b + q - 1, b), F-ordered: BLAS takes it
    nb, rem = divmod(wo, b)
    mr, mc = mid.strides
    orr, oc = out.strides
    jobs = []
    for c0, blocks, tb in ((0, nb, tt), (nb * b, 1 if rem else 0, tt[:rem + q - 1, :rem])):
        k, cols = tb.shape
        rc = _chunk(cols * k, r)
        nr = r // rc
        for r0, height, count in ((0, rc, nr), (nr * rc, r - nr * rc, 1)):
            if blocks and count and height:
                src = as_strided(mid[r0:, c0:], (count, blocks, height, k),
                                 (height * mr, cols * mc, mr, mc), writeable=False)
                dst = as_strided(out[r0:, c0:], (count, blocks, height, cols),
                                 (height * orr, cols * oc, orr, oc))
                jobs.append((src, tb, dst))
    _small_products(jobs, out.size)


def _gemm_ok(dtype: np.dtype, finite: bool) -> bool:
    """Toeplitz products need BLAS types and finite data (the band's zeros times NaN or inf
    would spread them over a whole block)."""
    return finite and dtype in (np.float32, np.float64)


def _vgemm_cost(m: int, ho: int, w: int, p: int) -> float:
    a, b = T.NS_VGEMM
    s = min(T.VGEMM_BLOCK, ho)
    calls = m * -(-ho // s) * -(-w // _chunk(s * (s + p - 1), w))
    return (m * ho * w * (a + b * p) + calls * T.NS_BLAS_CALL) / T.speedup(m * ho * w)


def _hgemm_cost(rows: int, wo: int, q: int) -> float:
    a, b = T.NS_HGEMM
    bw = min(T.HGEMM_BLOCK, wo)
    calls = -(-wo // bw) * -(-rows // _chunk(bw * (bw + q - 1), rows))
    return (rows * wo * (a + b * q) + calls * T.NS_BLAS_CALL) / T.speedup(rows * wo)


def _direct_gemm(xp: np.ndarray, k: np.ndarray, columns: list[int]) -> np.ndarray:
    """The 2-D kernel column by column: each kernel column is a vertical Toeplitz product over
    the planes shifted by its offset (a strided view), summed into the output."""
    m, hp, wp = xp.shape
    p, q = k.shape
    ho, wo = hp - p + 1, wp - q + 1
    out = np.empty((m, ho, wo), dtype=xp.dtype)
    if not columns:
        out.fill(0)
        return out
    tmp = backend.scratch("planes.mid", out.shape, xp.dtype) if len(columns) > 1 else None
    for i, v in enumerate(columns):
        _vertical_gemm(xp[:, :, v:v + wo], k[:, v], out if i == 0 else tmp)
        if i:
            flat_out, flat_tmp = out.reshape(-1), tmp.reshape(-1)
            backend.parallel_for(lambda r: np.add(flat_out[r], flat_tmp[r], out=flat_out[r]),
                                 backend.split(out.size, 4 * backend.get_num_threads()), out.size)
    return out

