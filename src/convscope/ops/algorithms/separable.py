"""Separable kernels: the rank-1 test and split of a 2-D kernel, and the ``separable`` algorithm.

A kernel of numerical rank 1 (``kernel = outer(column, row)``: Sobel, Gaussian, box; decided by
:func:`separable_factors`, for the engine, :func:`convscope.filters.apply` and
:func:`convscope.filters.describe` alike) filters as a vertical pass with ``column`` and a
horizontal pass with ``row``: ``P + Q`` instead of ``P * Q`` multiply-adds per pixel.

The algorithm applies to single-kernel problems (one 2-D kernel over one-channel planes, see
:class:`._common.Problem`) whose kernel the dispatcher found of rank 1 (``Problem.rank1``):

- with numba (:func:`convscope.backend.compiled_available`), both passes fused per output row
  (:func:`._numba_planes.separable2d`), on every thread;
- otherwise each pass goes tap by tap (:mod:`._taps`; both passes per cache-sized block) or as
  Toeplitz products (:mod:`._toeplitz`, finite float data only), whichever the cost model
  (:mod:`._planes_tuning`) finds cheaper; a length-1 factor is folded into the other pass.

Its gradients are never asked for (:func:`supports` takes forward passes only); the contract's
``input_grad`` and ``weight_grad`` are the direct algorithm's.
"""

from __future__ import annotations


import numpy as np

from ... import backend
from ..._validation import as_real_array
from . import _planes_tuning as T
from . import direct
from ._common import Problem, alloc, pad_input
from ._taps import (_finish, _schedule, _schedule_passes, _separable_compute, _strided_empty,
                    _taps_compute, _taps_cost, _taps_rows)
from ._toeplitz import _gemm_ok, _hgemm_cost, _horizontal_gemm, _vertical_gemm, _vgemm_cost

__all__ = ["separable_factors"]

NAME = "separable"


def _rank_rtol(dtype: np.dtype) -> float:
    """Relative singular-value tolerance below which a kernel counts as rank 1: 1e-7 for
    float64 (and integer) kernels, 100 eps for lower precisions (1.2e-5 for float32)."""
    if dtype.kind in "fc":
        return max(1e-7, 100 * float(np.finfo(dtype).eps))
    return 1e-7


def separable_factors(kernel, *, rtol: float | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """Split a 2-D kernel into ``column`` and ``row`` with ``kernel = outer(column, row)``.

    The factors are a column and a row of the kernel itself, through its largest entry
    ``kernel[i, j]``: ``column = kernel[:, j]``, ``row = kernel[i, :] / kernel[i, j]``, so kernels
    with exactly representable entries (Sobel ``[1, 2, 1]`` x ``[-1, 0, 1]``, a box) split
    exactly. The kernel counts as separable (numerical rank 1) when these factors reproduce it
    to ``rtol``: ``||kernel - outer(column, row)||_F <= rtol * ||kernel||_F``. The residual is
    at least the second singular value, so this implies ``s[1] <= rtol * ||kernel||_F``; for
    kernels of rank 1 up to rounding (outer products, binomial and Gaussian kernels) and for
    clearly rank-2 ones it decides as the singular values would, and it bounds the error the
    factors themselves make, which is what the filter inherits (relative to the output scale
    ``||kernel||_F * max|image|``).

    Parameters
    ----------
    kernel : array_like, shape (P, Q)
        Real or complex kernel.
    rtol : float, optional
        Rank tolerance. Default: 1e-7 for float64 and integer kernels, ``100 * eps`` of the dtype
        otherwise (1.2e-5 for float32).

    Returns
    -------
    (column, row) : tuple of ndarray, shapes (P,) and (Q,), or None
        float64 (complex128 for a complex kernel); None when the kernel has rank 2 or more, or
        holds NaN or inf.

    Raises
    ------
    ValueError
        If ``kernel`` is not a non-empty 2-D array.
    TypeError
        If ``kernel`` is not numeric.

    Examples
    --------
    >>> col, row = separable_factors([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    >>> col, row
    (array([-1., -2., -1.]), array([ 1., -0., -1.]))
    >>> separable_factors([[0, 1, 0], [1, -4, 1], [0, 1, 0]]) is None
    True
    """
    fn = "separable_factors"
    k = as_real_array(kernel, "kernel", fn, allow_complex=True)
    if k.ndim != 2 or k.size == 0:
        raise ValueError(f"{fn}: kernel expects a non-empty 2-D array, but got shape {k.shape}")
    tol = _rank_rtol(k.dtype) if rtol is None else float(rtol)
    return _factors(k, tol)


def _factors(k: np.ndarray, rtol: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Cross factorization through the largest entry, kept if its residual is within rtol.

    (An SVD would do, but LAPACK runs on BLAS's threads, and on a busy machine they made the
    singular values of a 101 x 101 kernel take 155 ms instead of 0.5 ms.)
    """
    work = k.astype(np.complex128 if k.dtype.kind == "c" else np.float64)
    if not np.isfinite(work).all():
        return None
    i, j = np.unravel_index(np.argmax(np.abs(work)), work.shape)
    pivot = work[i, j]
    if pivot == 0:                                   # the zero kernel
        return np.zeros(k.shape[0], work.dtype), np.zeros(k.shape[1], work.dtype)
    col, row = work[:, j].copy(), work[i, :] / pivot
    residual = work - col[:, None] * row[None, :]
    if np.sqrt(np.sum(np.abs(residual) ** 2)) > rtol * np.sqrt(np.sum(np.abs(work) ** 2)):
        return None
    return col, row


# --------------------------------------------------------------------------- the algorithm

def supports(p: Problem) -> str | None:
    if not p.single:
        return "one 2-D kernel over one-channel planes (a forward pass)"
    if not p.rank1:
        return "a kernel of rank 1"
    return None


def _full(p: Problem) -> tuple[int, int, int, int]:
    """``(planes, rows, full-resolution columns, padded columns)`` a single-kernel pass computes."""
    (oh, ow), (sh, sw), (_, q) = p.out, p.stride, p.kernel
    wf = (ow - 1) * sw + 1
    return p.n, oh, wf, wf + q - 1


def cost(p: Problem) -> float:
    pn, q = p.kernel
    m, oh, wf, wm = _full(p)
    if backend.compiled_available():
        if pn == 1 or q == 1:                        # one pass: direct's loop (see forward_planes)
            return T.compiled_cost(m * oh * wf * pn * q, m * oh * wf, T.COMPILED_DIRECT)
        return T.compiled_cost(m * oh * (pn * wm + q * wf), m * oh * wf, T.COMPILED_SEPARABLE)
    # NumPy: the cheapest plan for dense factors of a float kernel (forward_planes re-plans
    # with the kernel's values: zero, symmetric and +-1 taps cost less).
    sh = p.stride[0]
    shape = (m, (oh - 1) * sh + pn, wm)
    return _plan_cost(shape, pn, q, 2 * pn - 1, 2 * q - 1, _gemm_ok(np.dtype(p.dtype), bool(p.finite)))[0]


def _taps(weights: np.ndarray, finite: bool) -> tuple[np.ndarray, np.ndarray]:
    """Offsets and weights of the taps the compiled loops run: all of them for non-finite data,
    else the non-zero ones."""
    keep = np.arange(len(weights)) if not finite else np.flatnonzero(weights)
    return keep.astype(np.int64), np.ascontiguousarray(weights[keep])


def fuses_border() -> bool:
    """Whether :func:`forward_planes` reads a padding mode through index maps (compiled only)."""
    return backend.compiled_available()


def forward_planes(xp: np.ndarray, k: np.ndarray, out, stride, op: str, *, finite: bool | None = True,
                   factors=None, border=None) -> np.ndarray:
    """The single-kernel pass: ``(M, *out)``, the valid correlation of the padded planes
    ``xp (M, Hp, Wp)`` (C-contiguous) with ``k = outer(column, row)`` at ``stride``; ``factors``
    is the split the dispatcher found (from the kernel before its cast to the data's dtype),
    else it is computed here. ``border``: as :func:`.direct.forward_planes`'."""
    if factors is None:
        factors = _factors(k, _rank_rtol(k.dtype))
    dtype = xp.dtype
    col, row = (f.astype(dtype) if dtype.kind == "c" else f.real.astype(dtype) for f in factors)
    m = xp.shape[0]
    oh, ow = out
    if backend.compiled_available():
        if len(col) == 1 or len(row) == 1:           # one pass: the kernel itself, tap by tap
            return direct.forward_planes(xp, np.outer(col, row), out, stride, op, finite=finite, border=border)
        from . import _numba_planes as K
        K.set_threads(backend.get_num_threads())
        y = alloc(op, "output", (m, oh, ow), dtype)
        cu, cw = _taps(col, finite)
        rv, rw = _taps(row, finite)
        blocks = max(1, min(m * oh, 8 * backend.get_num_threads()))
        if border is not None:
            rows, cols, fill, left = border
            K.separable2d_border(xp, rows, cols, fill, left, cu, cw, rv, rw, y, stride[0], stride[1], blocks)
        else:
            K.separable2d(xp, cu, cw, rv, rw, y, stride[0], stride[1], blocks)
        return y
    if border is not None:
        raise ValueError("separable: a fused border needs the compiled kernels")
    y = _separable(xp, col, row, finite, _separable_plan(xp.shape, col, row, finite, dtype)[1], tuple(stride))
    return y if y.shape[1:] == tuple(out) else np.ascontiguousarray(y[:, :oh, :ow])


def forward(x, w, padding, stride, dilation, groups, out, op, what="output"):
    """The contract's forward for a single-kernel problem ``x (M, 1, H, W)``, ``w (1, 1, P, Q)``
    of rank 1 (see :func:`supports`)."""
    xp = pad_input(x, padding, op, slot="separable.padded")
    planes = np.ascontiguousarray(xp[:, 0])
    return forward_planes(planes, w[0, 0], out, stride, op)[:, None]


input_grad = direct.input_grad
weight_grad = direct.weight_grad


# --------------------------------------------------------------------------- NumPy passes

def _separable(xp: np.ndarray, col: np.ndarray, row: np.ndarray, finite: bool,
               plan: tuple[str, str], stride: tuple[int, int]) -> np.ndarray:
    """Vertical pass with ``col``, then horizontal pass with ``row``, over the padded planes
    ``xp (M, Hp, Wp)`` (C-contiguous); ``plan`` says for each whether it goes tap by tap
    ('taps'), as Toeplitz products ('gemm') or is skipped ('skip', for a length-1 factor, folded
    into the other). Returns a new array."""
    m, hp, wp = xp.shape
    p, q = len(col), len(row)
    ho, wo = hp - p + 1, wp - q + 1
    vplan, hplan = plan
    flat = xp.reshape(-1)
    if vplan == "skip" and hplan == "skip":
        return _finish(np.multiply(xp, col[0] * row[0]), stride)
    if vplan == "skip":
        row = row * col[0]
    elif hplan == "skip":
        col = col * row[0]
    vsched, hsched = _schedule(col, finite), _schedule(row, finite)
    down = [u * wp for u in range(p)]
    if "gemm" not in plan:
        out = _strided_empty(m, ho, wo, stride, xp.dtype)
        compute = (_taps_compute(flat, range(q), hsched) if vplan == "skip" else
                   _taps_compute(flat, down, vsched) if hplan == "skip" else
                   _separable_compute(flat, wp, vsched, hsched, q))
        _taps_rows(m, hp, wp, ho, wo, stride, xp.dtype, out, compute)
        return out
    if vplan == "gemm" and hplan == "skip":
        out = np.empty((m, ho, wo), dtype=xp.dtype)
        _vertical_gemm(xp, col, out)
        return _finish(out, stride)
    if vplan == "skip":
        mid = xp
    else:
        mid = backend.scratch("planes.mid", (m, ho, wp), xp.dtype)
        if vplan == "gemm":
            _vertical_gemm(xp, col, mid)
        else:
            _taps_rows(m, hp, wp, ho, wp, (1, 1), xp.dtype, mid, _taps_compute(flat, down, vsched))
    return _horizontal(mid, row, finite, hplan, stride)


def _horizontal(mid: np.ndarray, row: np.ndarray, finite: bool, plan: str, stride) -> np.ndarray:
    """The horizontal pass of :func:`_separable` over ``mid (M, Ho, Wp)`` (C-contiguous)."""
    m, ho, wp = mid.shape
    wo = wp - len(row) + 1
    if plan == "gemm":
        out = np.empty((m, ho, wo), dtype=mid.dtype)
        _horizontal_gemm(mid.reshape(m * ho, wp), row, out.reshape(m * ho, wo))
        return _finish(out, stride)
    out = _strided_empty(m, ho, wo, stride, mid.dtype)
    _taps_rows(m, ho, wp, ho, wo, stride, mid.dtype, out,
               _taps_compute(mid.reshape(-1), range(len(row)), _schedule(row, finite)))
    return out


def _plan_cost(shape, p: int, q: int, vtaps: int, htaps: int, gemm: bool) -> tuple[float, tuple[str, str]]:
    """(cost, (vertical plan, horizontal plan)) of the cheapest way to run the two passes over
    planes of ``shape`` with factors of lengths ``p`` and ``q`` whose tap-by-tap schedules take
    ``vtaps`` and ``htaps`` passes; ``gemm``: Toeplitz products may run."""
    m, hp, wp = shape
    ho, wo = hp - p + 1, wp - q + 1
    size = m * hp * wp
    if p == 1 and q == 1:
        return size * T.NS_PASS, ("skip", "skip")
    vopts = [(0.0, "skip")] if p == 1 else [(_taps_cost(vtaps, size), "taps")] + (
        [(_vgemm_cost(m, ho, wp, p), "gemm")] if gemm and p <= T.GEMM_MAX_TAPS else [])
    hopts = [(0.0, "skip")] if q == 1 else [(_taps_cost(htaps, size), "taps")] + (
        [(_hgemm_cost(m * ho, wo, q), "gemm")] if gemm and q <= T.GEMM_MAX_TAPS else [])

    def copies(vn, hn):                              # tap-by-tap blocks are copied out
        return m * ho * wo * T.NS_COPY if "taps" in (vn, hn) else 0.0

    return min((vc + hc + copies(vn, hn), (vn, hn)) for vc, vn in vopts for hc, hn in hopts)


def _separable_plan(shape, col, row, finite, dtype):
    """:func:`_plan_cost` for the factors ``col`` and ``row`` themselves."""
    vtaps = _schedule_passes(*_schedule(col, finite)) if len(col) > 1 else 0
    htaps = _schedule_passes(*_schedule(row, finite)) if len(row) > 1 else 0
    return _plan_cost(shape, len(col), len(row), vtaps, htaps, _gemm_ok(np.dtype(dtype), finite))
