"""Image convolution: SciPy-compatible ``convolve2d``/``correlate2d``, and :func:`apply` for images.

Two front ends share one engine:

- :func:`convolve2d` and :func:`correlate2d` follow ``scipy.signal.convolve2d`` and
  ``scipy.signal.correlate2d`` (modes, boundaries and their aliases, ``fillvalue``, which input
  may be the larger one in ``'valid'`` mode, the centring of ``'same'``), so code written for
  SciPy gives the same numbers; the differences (float64 results for integer inputs, errors for
  empty inputs) are listed at :func:`convolve2d`;
- :func:`apply` is the image filter: a cross-correlation (no kernel flip, like ``cv2.filter2D``
  and CNN layers) of grayscale ``(H, W)``, colour ``(H, W, C)`` or batched ``(N, H, W, C)``
  images of any real dtype, with five boundary modes, per-channel or summed channels, a stride.

How the engine works. The image is padded once with the boundary mode, straight into a
contiguous stack of planes ``(M, Hp, Wp)`` in the compute dtype (one plane per image and
channel; a vertical Toeplitz product instead reads a float image in place and pads only the
border rows it needs), and every algorithm computes the 'valid' cross-correlation of each
plane::

    out[m, i, j] = sum_{u, v} planes[m, i + u, j + v] * kernel[u, v]

keeping every s-th row and column for a stride. Three algorithms; ``method='auto'`` estimates
the time of each with a cost model measured on this engine and runs the cheapest
(:func:`choose_method` tells which):

``'separable'``
    For a kernel of numerical rank 1 (``kernel = outer(column, row)``, see
    :func:`separable_factors`; Sobel, Gaussian, box): a vertical pass with ``column`` and a
    horizontal pass with ``row``, ``P + Q`` instead of ``P * Q`` multiply-adds per pixel. Each
    pass goes either tap by tap (below) or as a matrix product with a banded Toeplitz matrix,
    which hands the arithmetic to BLAS: 8 output rows are ``T (8, P + 7) @ rows (P + 7, Wp)``,
    ``P + 7`` multiply-adds per pixel at BLAS speed, about the same time for 3 taps as for 31.
    (So a box gets no running sums: they would save little at these sizes, and cumulative sums
    in float32 lose accuracy along a long row.)
``'direct'``
    The 2-D kernel, either tap by tap or column by column, each kernel column one vertical
    Toeplitz product over the planes shifted by its offset.
``'fft'``
    ``numpy.fft`` transforms (real-input for real data) of each plane and of the flipped
    kernel, zero-padded to a fast length ``2^a 3^b 5^c`` no shorter than the padded plane, so
    that the circular product is exact on the 'valid' region. Float32 planes are transformed in
    float32; the rounding error is about ``1e-7 * log2(size)`` of ``max|x| * sum|kernel|``.

Tap by tap means one NumPy pass per tap over the planes seen as one flat array (a shift by
``(u, v)`` is a shift by ``u * Wp + v`` of the flat index), in cache-sized blocks; symmetric
and antisymmetric pairs of taps share a multiplication, taps of weight +-1 need none, and a box
is additions only. The blocks, the Toeplitz products and the FFT's rows and columns run on a
pool of threads (``$CONVSCOPE_NUM_THREADS``, else ``$OMP_NUM_THREADS``, else the CPUs): NumPy
and BLAS release the GIL, and each product is cut small enough for BLAS to compute on the
calling thread, since OpenBLAS's own threads stall on a busy machine (see ``_BLAS_SMALL``).

The methods agree to float rounding (tested: 1e-10 in float64, 1e-4 in float32, relative to the
largest output), with one difference in kind: an image holding NaN or inf. Tap by tap, a
non-finite pixel spoils exactly the outputs whose window covers it (zero taps included, as
``0 * NaN`` is NaN); a Toeplitz product multiplies it by the band's zeros and a Fourier
transform mixes it into every output, spreading it further. So the engine checks the data and
keeps non-finite images to the tap-by-tap passes; forcing ``method='fft'`` on such an image
gives NaN over the whole plane.

References
----------
.. [1] R. C. Gonzalez and R. E. Woods, *Digital Image Processing*, 4th ed., Pearson, 2018
   (spatial correlation and convolution, separable kernels).
.. [2] SciPy, ``scipy.signal.convolve2d`` and ``scipy.signal.correlate2d``, the reference for
   :func:`convolve2d` / :func:`correlate2d`; OpenCV, ``cv2.filter2D`` and its border types,
   the reference for :func:`apply`.
"""

from __future__ import annotations

import concurrent.futures
import math
import numbers
import os
import threading
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import backend
from .._validation import to_tuple
from ..ops.pad import source_index as _pad_source_index

__all__ = [
    "convolve2d",
    "correlate2d",
    "apply",
    "separable_factors",
    "choose_method",
    "MODES",
    "BOUNDARIES",
    "METHODS",
    "CHANNELS",
]

MODES = ("full", "same", "valid")
#: Boundary modes of :func:`apply` (the names of :func:`convolve2d` are SciPy's, see there).
BOUNDARIES = ("fill", "reflect", "symm", "replicate", "wrap")
METHODS = ("auto", "direct", "separable", "fft")
CHANNELS = ("each", "all")

# SciPy's boundary names and aliases -> the engine's.
_SCIPY_BOUNDARIES = {"fill": "fill", "pad": "fill", "wrap": "wrap", "circular": "wrap",
                     "symm": "symm", "symmetric": "symm"}

# ---------------------------------------------------------------------------------- tuning
# Measured on the 2-core AMD EPYC this was written on (1 MiB L2 per core, 32 MiB L3, OpenBLAS),
# 2048 x 2048 float32, one thread unless said otherwise; benchmarks/filters.py has the totals.

#: Output bytes per block of the tap-by-tap loops. Blocks that fit a core's L2 sounded right,
#: but the Python overhead per block and pass outweighed it: a 3x3 Sobel took 8.1 / 5.0 / 4.2 /
#: 4.2 ms with 64 KiB / 256 KiB / 1 MiB / 2 MiB blocks.
_BLOCK_BYTES = 2**20
#: The loops go on the thread pool from this many output pixels on.
_PARALLEL_MIN_PIXELS = 256 * 256
#: Rows per block of the vertical Toeplitz product and columns per block of the horizontal one:
#: each output costs ``block + taps - 1`` multiply-adds. Swept 4..64 for 3..31 taps: the
#: vertical product was fastest with 4-8 rows (2-5 ms per pass), the horizontal one with 16
#: columns (7-9 ms; 11 ms with 32, 12-20 ms with 8).
_VGEMM_BLOCK = 8
_HGEMM_BLOCK = 16
#: OpenBLAS computes a product of at most 4 * 65536 multiply-adds (m * n * k) on the calling
#: thread (its GEMM_MULTITHREAD_THRESHOLD). The Toeplitz products are cut into pieces below that
#: and threaded by the pool here: OpenBLAS's own workers spin between calls and, when other
#: processes hold the cores, wait a scheduler slice per call (measured with 2 BLAS threads on
#: the busy 2-core machine: the 31 x 31 box took 1.5 s instead of 30 ms).
_BLAS_SMALL = 4 * 65536
#: Longest 1-D factor the Toeplitz products take (the cost model decides below it).
_GEMM_MAX_TAPS = 1024

# The cost model behind method='auto' and, inside 'separable' and 'direct', the choice between
# tap-by-tap passes and Toeplitz products; nanoseconds per output pixel unless said otherwise.
#: One elementwise NumPy pass (a multiply or an add over a flat block): 0.09-0.2 measured.
_NS_PASS = 0.12
#: Copying a block of tap-by-tap results to the output.
_NS_COPY = 0.15
#: Padding the image into the planes (1.2-1.5 ms for 2048^2), which the vertical Toeplitz
#: product can skip by reading the image in place.
_NS_PAD = 0.3
#: Vertical / horizontal Toeplitz product: ``a + b * taps`` (measured 0.53..2.1 and 1.8..3.1
#: for 3..63 taps).
_NS_VGEMM = (0.45, 0.025)
_NS_HGEMM = (1.8, 0.01)
#: FFT (forward and inverse), per transform point and log2 of the point count.
_NS_FFT = 1.5
#: Overhead of one NumPy call from Python, and of one BLAS call inside a batched matmul (ns).
_NS_CALL = 1500.0
_NS_BLAS_CALL = 500.0
#: Speed-up per added thread, for the model (every algorithm runs on the pool, so it mostly
#: matters against work too small to share): 2 threads measured 1.3-1.7x on the idle machine.
_THREAD_GAIN = 0.5


# =========================================================================== validation

def _real_array(value: Any, name: str, fn: str, *, allow_complex: bool = False) -> np.ndarray:
    """``value`` as an ndarray of real (or complex, when allowed) numbers, else a TypeError."""
    arr = np.asarray(value)
    kinds = "biufc" if allow_complex else "biuf"
    if arr.dtype.kind not in kinds:
        what = "a real or complex numeric array" if allow_complex else \
            "a real numeric array (bool, integer or float)"
        raise TypeError(f"{fn}: {name} expects {what}, but got dtype {arr.dtype}")
    return arr


def _check_choice(value: Any, name: str, fn: str, allowed) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{fn}: {name} expects one of {', '.join(map(repr, allowed))}, but got {value!r}")
    return value


def _check_fillvalue(fillvalue: Any, fn: str, allow_complex: bool) -> complex | float:
    """A scalar or a one-element array, as SciPy accepts, returned as a Python number."""
    arr = np.asarray(fillvalue)
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"{fn}: fillvalue expects a number, but got {fillvalue!r} "
                        f"({type(fillvalue).__name__})")
    if arr.size != 1:
        raise ValueError(f"{fn}: fillvalue expects a scalar or an array with one element, "
                         f"but got an array of shape {arr.shape}")
    value = arr.reshape(()).item()
    if isinstance(value, complex):
        if not allow_complex:
            raise ValueError(f"{fn}: fillvalue expects a real number for real inputs, but got {value!r}")
        return value
    return float(value)


# =========================================================================== dtypes

def _compute_dtype_scipy(a: np.ndarray, b: np.ndarray) -> np.dtype:
    """Float or complex operands promote as NumPy promotes them; integer and bool operands alone
    compute in float64 (SciPy keeps the integer type, and wraps around on overflow); float16
    computes in float32."""
    if a.dtype.kind in "fc" or b.dtype.kind in "fc":
        dtype = np.result_type(a.dtype, b.dtype)
        if dtype == np.float16:
            return np.dtype(np.float32)
        if dtype.kind == "f" and dtype.itemsize < 4:
            return np.dtype(np.float32)
        return dtype
    return np.dtype(np.float64)


def _apply_dtype(image: np.ndarray, dtype: Any, fn: str) -> tuple[np.dtype, np.dtype]:
    """(compute dtype, output dtype) for :func:`apply`: the image decides, not the kernel."""
    if dtype is not None:
        try:
            out = np.dtype(dtype)
        except TypeError as err:
            raise TypeError(f"{fn}: dtype expects a floating dtype such as float32 or float64, "
                            f"but got {dtype!r}") from err
        if out.kind != "f":
            raise TypeError(f"{fn}: dtype expects a floating dtype such as float32 or float64 "
                            f"(results are never clipped or rounded), but got {out}")
        return (np.dtype(np.float32) if out.itemsize < 4 else out), out
    if image.dtype.kind == "f":
        out = np.dtype(np.float32) if image.dtype.itemsize < 4 else image.dtype
    else:
        out = backend.get_default_dtype()
    return out, out


# =========================================================================== padding

def _source_index(boundary: str, n: int, before: int, after: int) -> np.ndarray:
    """For each position of an axis padded by ``(before, after)``, the index it copies.

    ``reflect`` mirrors without repeating the edge (``d c b | a b c d | c b a``), ``symm``
    mirrors with it (``b a | a b c d | d c``), ``replicate`` repeats the edge and ``wrap`` is
    periodic; all of them for pads of any length (the pattern repeats).
    """
    if boundary == "symm":
        i = np.mod(np.arange(-before, n + after), 2 * n)
        return np.where(i < n, i, 2 * n - 1 - i)
    return _pad_source_index({"wrap": "circular"}.get(boundary, boundary), n, before, after)


def _pad_planes(src: np.ndarray, pads: tuple[tuple[int, int], tuple[int, int]], boundary: str,
                fillvalue, dtype: np.dtype) -> np.ndarray:
    """Pad the last two axes of ``src`` into a C-contiguous array of ``dtype``.

    The interior is a strided copy (which also converts the dtype and, for channels-last input
    passed as a transposed view, the layout), in row bands over the threads; the borders are
    then filled from it. The result is a :func:`convscope.backend.scratch` buffer (fresh pages
    cost more than the copy on large images): the caller must not let it escape.
    """
    (top, bottom), (left, right) = pads
    *lead, h, w = src.shape
    out = backend.scratch("filters.pad", (*lead, h + top + bottom, w + left + right), dtype)
    rows, cols = slice(top, top + h), slice(left, left + w)

    def band(r):
        out[..., top + r.start:top + r.stop, cols] = src[..., r, :]

    _for_each(_split(h, 4 * backend.get_num_threads()), band, out.size)
    if boundary == "fill":
        value = dtype.type(fillvalue)
        out[..., :top, :] = value
        out[..., top + h:, :] = value
        out[..., rows, :left] = value
        out[..., rows, left + w:] = value
        return out
    if top or bottom:
        index = _source_index(boundary, h, top, bottom) + top
        out[..., :top, cols] = out[..., index[:top], cols]
        out[..., top + h:, cols] = out[..., index[top + h:], cols]
    if left or right:
        index = _source_index(boundary, w, left, right) + left
        out[..., :left] = out[..., index[:left]]
        out[..., left + w:] = out[..., index[left + w:]]
    return out


class _Padded:
    """Planes to filter and how they extend: ``src (..., H, W)`` (any dtype and strides) padded
    by ``pads`` with ``boundary``, as ``M = prod(...)`` planes ``(M, Hp, Wp)`` of ``dtype``.

    :meth:`planes` pads them all once (a copy of the image); the vertical Toeplitz product can
    instead read the image in place (:meth:`rows`) and pad only the few rows and columns it
    needs (:func:`_vertical_gemm_padded`).
    """

    def __init__(self, src: np.ndarray, pads, boundary: str, fillvalue, dtype: np.dtype):
        self.src, self.pads, self.boundary, self.fillvalue, self.dtype = src, pads, boundary, fillvalue, dtype
        (top, bottom), (left, right) = pads
        *lead, h, w = src.shape
        self.shape = (math.prod(lead), h + top + bottom, w + left + right)
        self._planes = None

    @classmethod
    def of(cls, planes: np.ndarray) -> "_Padded":
        """Planes that are already padded."""
        padded = cls(planes, ((0, 0), (0, 0)), "fill", 0.0, planes.dtype)
        padded._planes = np.ascontiguousarray(planes).reshape(padded.shape)
        return padded

    def planes(self) -> np.ndarray:
        """The padded planes, C-contiguous (scratch memory: never returned to a caller)."""
        if self._planes is None:
            self._planes = _pad_planes(self.src, self.pads, self.boundary, self.fillvalue,
                                       self.dtype).reshape(self.shape)
        return self._planes

    def rows(self) -> np.ndarray | None:
        """The unpadded planes ``(M, H, W)`` read in place, or None when they would need a copy
        (another dtype, strided rows, or batch axes that do not merge)."""
        src = self.src
        if (self._planes is not None or src.dtype != self.dtype or src.strides[-1] != src.itemsize
                or sum(n > 1 for n in src.shape[:-2]) > 1):
            return None
        return src.reshape(-1, *src.shape[-2:])


def _is_finite(x: np.ndarray) -> bool:
    """Whether every value of ``x`` is finite: its largest and smallest values are (two fast
    reductions over the caller's array, cheaper than a sum or over a padded view)."""
    if x.dtype.kind in "biu":
        return True
    if x.dtype.kind == "c":
        return _is_finite(x.real) and _is_finite(x.imag)
    return math.isfinite(float(x.max())) and math.isfinite(float(x.min()))


# =========================================================================== kernels

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
    k = _real_array(kernel, "kernel", fn, allow_complex=True)
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


def choose_method(kernel, image_shape: tuple[int, int] = (1024, 1024)) -> str:
    """The algorithm ``method='auto'`` picks for a 2-D kernel: 'separable', 'direct' or 'fft'.

    'auto' estimates the time of each algorithm that applies with a cost model measured on
    this engine (NumPy passes per pixel, BLAS products, FFT points) and takes the cheapest.
    In practice: rank-1 kernels (see :func:`separable_factors`) are split into two 1-D passes
    at any size; other kernels go tap by tap or column by column ('direct') up to about
    25 x 25 on 1024 x 1024 and 2048 x 2048 images and through the FFT beyond (sooner on small
    images: from about 15 x 15 on 256 x 256).
    A kernel or image holding NaN or inf is never transformed (:func:`apply` checks the image).

    Parameters
    ----------
    kernel : array_like, shape (P, Q)
    image_shape : (int, int)
        ``(H, W)`` of the padded image (float32, stride 1 assumed); default 1024 x 1024.

    Returns
    -------
    str

    Examples
    --------
    >>> choose_method(np.ones((31, 31)))
    'separable'
    >>> choose_method([[0, 1, 0], [1, -4, 1], [0, 1, 0]])
    'direct'
    >>> choose_method(np.random.default_rng(0).random((9, 9)))
    'direct'
    >>> choose_method(np.random.default_rng(0).random((31, 31)))
    'fft'
    """
    fn = "choose_method"
    k = _real_array(kernel, "kernel", fn, allow_complex=True)
    if k.ndim != 2 or k.size == 0:
        raise ValueError(f"{fn}: kernel expects a non-empty 2-D array, but got shape {k.shape}")
    h, w = to_tuple(image_shape, 2, "image_shape", fn, minimum=1)
    dtype = np.dtype(np.complex64 if k.dtype.kind == "c" else np.float32)
    plans = _plans((1, max(h, k.shape[0]), max(w, k.shape[1])), k.astype(dtype), k, "auto", True,
                   dtype, _rank_rtol(k.dtype), fn)
    return min(plans, key=lambda plan: plan[0])[1]


# =========================================================================== engine
#
# Every algorithm computes the stride-1 'valid' cross-correlation of C-contiguous planes
# ``xp (M, Hp, Wp)`` with a kernel ``(P, Q)``; :func:`_finish` then keeps every s-th row and
# column. Each algorithm comes as a plan: (estimated nanoseconds, name, runner(xp, stride)).
#
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


# --------------------------------------------------------------------------- threads

_pool: concurrent.futures.ThreadPoolExecutor | None = None
_pool_pid = 0                                        # a forked child needs a pool of its own
_pool_lock = threading.Lock()


def _run_blocks(fn, blocks) -> None:
    for b in blocks:
        fn(b)


def _for_each(blocks: list, fn, pixels: int) -> None:
    """``fn(block)`` for every block, in contiguous shares over the threads when the work is
    large enough (NumPy releases the GIL inside each pass and each BLAS call; every thread has
    its own scratch buffers)."""
    n = min(backend.get_num_threads(), len(blocks)) if pixels >= _PARALLEL_MIN_PIXELS else 1
    if n <= 1 or threading.current_thread().name.startswith("convscope-filters"):
        _run_blocks(fn, blocks)                      # (a worker never waits on its own pool)
        return
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool._max_workers < n - 1 or _pool_pid != os.getpid():
            if _pool is not None and _pool_pid == os.getpid():
                _pool.shutdown(wait=False)
            _pool = concurrent.futures.ThreadPoolExecutor(max_workers=n - 1,
                                                          thread_name_prefix="convscope-filters")
            _pool_pid = os.getpid()
        pool = _pool
    size = -(-len(blocks) // n)
    shares = [blocks[i:i + size] for i in range(0, len(blocks), size)]
    futures = [pool.submit(_run_blocks, fn, share) for share in shares[1:]]
    _run_blocks(fn, shares[0])                       # the calling thread takes the first share
    for future in futures:
        future.result()


def _speedup(pixels: int) -> float:
    threads = backend.get_num_threads() if pixels >= _PARALLEL_MIN_PIXELS else 1
    return 1 + _THREAD_GAIN * (threads - 1)


# --------------------------------------------------------------------------- tap by tap

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
    return max(1024, _BLOCK_BYTES // itemsize)


def _taps_cost(passes: int, pixels: int) -> float:
    calls = passes * -(-pixels // _chunk_len(4))
    return (passes * pixels * _NS_PASS + calls * _NS_CALL) / _speedup(pixels)


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
        buf = backend.scratch("filters.res", (n,), dtype)
        compute(m0 * hs * ws + r0 * ws, n, buf)
        view = as_strided(buf, (m1 - m0, r1 - r0, wo), (hs * ws * size, ws * size, size), writeable=False)
        out[m0:m1, r0 // sh:-(-r1 // sh)] = view[:, ::sh, ::sw]

    _for_each(blocks, block, m * ho * wo)


def _taps_compute(src: np.ndarray, offsets, schedule):
    """``compute`` for :func:`_taps_rows`: ``buf[i - i0] = sum_t w[t] * src[i + offsets[t]]``."""
    steps, scale = schedule

    def compute(i0, n, buf):
        _run(buf, lambda t: src[i0 + offsets[t]:i0 + offsets[t] + n], steps, scale,
             backend.scratch("filters.tmp", (n,), src.dtype))

    return compute


def _separable_compute(src: np.ndarray, ws: int, vschedule, hschedule, q: int):
    """``compute`` for :func:`_taps_rows` doing both 1-D passes per block: the vertical pass
    over the block and ``q - 1`` more (``mid[j] = sum_u col[u] * src[i0 + j + u * ws]``), then
    the horizontal pass (``buf[j] = sum_v row[v] * mid[j + v]``) while ``mid`` is in cache."""
    def compute(i0, n, buf):
        mid = backend.scratch("filters.mid", (n + q - 1,), src.dtype)
        tmp = backend.scratch("filters.tmp", (n + q - 1,), src.dtype)
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


# --------------------------------------------------------------------------- Toeplitz products

def _toeplitz(weights: np.ndarray, block: int, dtype: np.dtype) -> np.ndarray:
    """``T (block, block + n - 1)`` with ``T[i, i:i + n] = weights``: ``T @ x`` correlates the
    ``block + n - 1`` rows of ``x`` with ``weights`` into ``block`` rows."""
    n = len(weights)
    t = np.zeros((block, block + n - 1), dtype=dtype)
    i = np.arange(block)[:, None]
    t[i, i + np.arange(n)] = weights
    return t


def _split(n: int, parts: int) -> list[slice]:
    step = -(-n // max(1, min(parts, n)))
    return [slice(i, min(n, i + step)) for i in range(0, n, step)]


def _small_products(jobs: list[tuple[np.ndarray, np.ndarray, np.ndarray]], pixels: int) -> None:
    """``np.matmul(a, b, out=c)`` for batched jobs, each split along its longest batch axis
    into one share per thread. Every product in a batch is below ``_BLAS_SMALL`` multiply-adds,
    so BLAS computes it on the calling thread and the threads are ours (see ``_BLAS_SMALL``)."""
    n = backend.get_num_threads() if pixels >= _PARALLEL_MIN_PIXELS else 1
    shares = [[] for _ in range(n)]                  # thread t takes share t of every job
    for a, b, c in jobs:
        axis = int(np.argmax(c.shape[:-2]))
        for t, part in enumerate(_split(c.shape[axis], n)):
            index = (slice(None),) * axis + (part,)
            shares[t].append((a if a.ndim == 2 else a[index], b if b.ndim == 2 else b[index], c[index]))

    def run(share):
        for a, b, c in share:
            np.matmul(a, b, out=c)

    _for_each([share for share in shares if share], run, pixels)


def _chunk(budget_per_unit: int, total: int) -> int:
    """Largest chunk (a multiple of 8 where possible) with ``chunk * budget_per_unit`` within
    ``_BLAS_SMALL``."""
    size = max(1, _BLAS_SMALL // max(budget_per_unit, 1))
    return min(total, size if size < 8 else size // 8 * 8)


def _vertical_gemm(xp: np.ndarray, col: np.ndarray, out: np.ndarray) -> None:
    """``out (M, Hp - P + 1, W)`` = vertical valid correlation of ``xp (M, Hp, W)`` (any strides
    with contiguous rows) with ``col``: each block of ``S`` output rows and ``wc`` columns is
    ``T (S, S + P - 1) @ xp[rows, columns]``, batched matmuls over strided views of overlapping
    windows (no copy)."""
    m, hp, w = xp.shape
    p = len(col)
    ho = hp - p + 1
    s = min(_VGEMM_BLOCK, ho)
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


def _vertical_gemm_padded(rows: np.ndarray, col: np.ndarray, padded: _Padded, out: np.ndarray) -> None:
    """:func:`_vertical_gemm` of ``padded``'s planes, reading the unpadded ``rows (M, H, W)``
    in place: the interior output rows straight from them, the first and last few from small
    strips of padded rows, and the border columns copied (or, for 'fill', set to
    ``fillvalue * sum(col)``), as the vertical pass commutes with extending columns.
    Needs ``H >= P``."""
    (top, bottom), (left, right) = padded.pads
    m, h, w = rows.shape
    p = len(col)
    ho = h + top + bottom - p + 1
    cols = slice(left, left + w)
    _vertical_gemm(rows, col, out[:, top:top + h - p + 1, cols])
    for start, count in ((0, top), (ho - bottom, bottom)):
        if count:
            source = np.arange(start, start + count + p - 1) - top        # padded rows -> rows
            if padded.boundary == "fill":
                inside = (source >= 0) & (source < h)
                strip = np.full((m, len(source), w), padded.fillvalue, dtype=rows.dtype)
                strip[:, inside] = rows[:, source[inside]]
            else:
                strip = rows[:, _source_index(padded.boundary, h, top, bottom)[source + top]]
            _vertical_gemm(strip, col, out[:, start:start + count, cols])
    if padded.boundary == "fill":
        value = rows.dtype.type(padded.fillvalue) * col.sum()
        out[..., :left] = value
        out[..., left + w:] = value
    elif left or right:
        index = _source_index(padded.boundary, w, left, right) + left
        out[..., :left] = out[..., index[:left]]
        out[..., left + w:] = out[..., index[left + w:]]


def _horizontal_gemm(mid: np.ndarray, row: np.ndarray, out: np.ndarray) -> None:
    """``out (R, Wp - Q + 1)`` = horizontal valid correlation of ``mid (R, Wp)`` with ``row``:
    each block of ``rc`` rows and ``B`` output columns is ``mid[rows, B + Q - 1 columns] @ T.T``,
    batched matmuls over strided views."""
    r, wp = mid.shape
    q = len(row)
    wo = wp - q + 1
    b = min(_HGEMM_BLOCK, wo)
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
    a, b = _NS_VGEMM
    s = min(_VGEMM_BLOCK, ho)
    calls = m * -(-ho // s) * -(-w // _chunk(s * (s + p - 1), w))
    return (m * ho * w * (a + b * p) + calls * _NS_BLAS_CALL) / _speedup(m * ho * w)


def _hgemm_cost(rows: int, wo: int, q: int) -> float:
    a, b = _NS_HGEMM
    bw = min(_HGEMM_BLOCK, wo)
    calls = -(-wo // bw) * -(-rows // _chunk(bw * (bw + q - 1), rows))
    return (rows * wo * (a + b * q) + calls * _NS_BLAS_CALL) / _speedup(rows * wo)


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
    tmp = backend.scratch("filters.mid", out.shape, xp.dtype) if len(columns) > 1 else None
    for i, v in enumerate(columns):
        _vertical_gemm(xp[:, :, v:v + wo], k[:, v], out if i == 0 else tmp)
        if i:
            flat_out, flat_tmp = out.reshape(-1), tmp.reshape(-1)
            _for_each(_split(out.size, 4 * backend.get_num_threads()),
                      lambda r: np.add(flat_out[r], flat_tmp[r], out=flat_out[r]), out.size)
    return out


# --------------------------------------------------------------------------- separable

def _separable(padded: _Padded, col: np.ndarray, row: np.ndarray, finite: bool,
               plan: tuple[str, str], stride: tuple[int, int]) -> np.ndarray:
    """Vertical pass with ``col``, then horizontal pass with ``row``; ``plan`` says for each
    whether it goes tap by tap ('taps'), as Toeplitz products ('gemm') or is skipped ('skip',
    for a length-1 factor, folded into the other)."""
    m, hp, wp = padded.shape
    p, q = len(col), len(row)
    ho, wo = hp - p + 1, wp - q + 1
    vplan, hplan = plan
    rows = padded.rows() if vplan == "gemm" else None
    if rows is not None and rows.shape[1] >= p:      # no padded copy of the image
        if hplan == "skip":
            out = np.empty((m, ho, wo), dtype=padded.dtype)
            _vertical_gemm_padded(rows, col * row[0], padded, out)
            return _finish(out, stride)
        mid = backend.scratch("filters.mid", (m, ho, wp), padded.dtype)
        _vertical_gemm_padded(rows, col, padded, mid)
        return _horizontal(mid, row, finite, hplan, stride)
    xp = padded.planes()
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
        mid = backend.scratch("filters.mid", (m, ho, wp), xp.dtype)
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


def _separable_plan(shape, col, row, finite, dtype, in_place: bool = False):
    """(cost, (vertical plan, horizontal plan)) of the cheapest way to run the two passes;
    ``in_place``: a vertical Toeplitz product would not need the padded copy."""
    m, hp, wp = shape
    p, q = len(col), len(row)
    ho, wo = hp - p + 1, wp - q + 1
    size = m * hp * wp
    if p == 1 and q == 1:
        return size * _NS_PASS, ("skip", "skip")
    gemm = _gemm_ok(dtype, finite)
    vtaps = _schedule_passes(*_schedule(col, finite)) if p > 1 else 0
    htaps = _schedule_passes(*_schedule(row, finite)) if q > 1 else 0
    vopts = [(0.0, "skip")] if p == 1 else [(_taps_cost(vtaps, size), "taps")] + (
        [(_vgemm_cost(m, ho, wp, p), "gemm")] if gemm and p <= _GEMM_MAX_TAPS else [])
    hopts = [(0.0, "skip")] if q == 1 else [(_taps_cost(htaps, size), "taps")] + (
        [(_hgemm_cost(m * ho, wo, q), "gemm")] if gemm and q <= _GEMM_MAX_TAPS else [])

    def copies(vn, hn):                              # padding in, tap-by-tap blocks out
        pad = 0.0 if in_place and vn == "gemm" else size * _NS_PAD
        return pad + (m * ho * wo * _NS_COPY if "taps" in (vn, hn) else 0.0)

    return min((vc + hc + copies(vn, hn), (vn, hn)) for vc, vn in vopts for hc, hn in hopts)


# --------------------------------------------------------------------------- FFT

def _fast_len(n: int) -> int:
    """The smallest ``2^a 3^b 5^c >= n``: a length pocketfft transforms quickly."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            length = p35
            while length < n:
                length *= 2
            best = min(best, length)
            p35 *= 3
        p5 *= 5
    return best


def _fft_cost(shape) -> float:
    m, hp, wp = shape
    points = _fast_len(hp) * _fast_len(wp)
    return m * (points * math.log2(max(points, 2)) * _NS_FFT / _speedup(points) + 4 * _NS_CALL)


def _fft(xp: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Valid cross-correlation through the FFT: correlating with ``k`` is convolving with
    ``k`` flipped, and a circular convolution of length ``L >= Hp`` equals the linear one on the
    valid rows ``P - 1 .. Hp - 1``, so no padding beyond a fast length is needed.

    Batches of planes are transformed a chunk of planes per thread. A single large plane is
    transformed in steps that each run on the threads: the rows (only the ``Hp`` data rows),
    then the columns with the product and the inverse, then the inverse of the rows the output
    keeps."""
    m, hp, wp = xp.shape
    p, q = k.shape
    lh, lw = _fast_len(hp), _fast_len(wp)
    dtype = np.result_type(xp.dtype, k.dtype)
    real = dtype.kind != "c"
    row_fwd = np.fft.rfft if real else np.fft.fft
    row_inv = np.fft.irfft if real else np.fft.ifft
    kf = np.fft.fft(row_fwd(k[::-1, ::-1].astype(dtype, copy=False), n=lw, axis=1), n=lh, axis=0)
    ho, wo = hp - p + 1, wp - q + 1
    out = np.empty((m, ho, wo), dtype=dtype)
    threads = backend.get_num_threads() if lh * lw >= _PARALLEL_MIN_PIXELS else 1
    if m >= 2 * threads or threads == 1:
        per = max(1, (16 * 2**20) // (lh * lw * 2 * dtype.itemsize))

        def planes(c):
            z = (np.fft.rfft2 if real else np.fft.fft2)(xp[c], s=(lh, lw))
            z *= kf
            y = (np.fft.irfft2 if real else np.fft.ifft2)(z, s=(lh, lw))
            out[c] = y[:, p - 1:hp, q - 1:wp]

        _for_each(_split(m, -(-m // per)), planes, out.size)
        return out
    parts = 4 * threads
    for i in range(m):
        z = backend.scratch("filters.fft", (hp, kf.shape[1]), kf.dtype)

        def rows(r, x=xp[i]):
            z[r] = row_fwd(x[r], n=lw, axis=1)

        def columns(c):
            spectrum = np.fft.fft(z[:, c], n=lh, axis=0)
            spectrum *= kf[:, c]
            z[:ho, c] = np.fft.ifft(spectrum, axis=0)[p - 1:hp]   # the rows the output keeps

        def inverse(r, o=out[i]):
            o[r] = row_inv(z[r], n=lw, axis=1)[:, q - 1:wp]

        _for_each(_split(hp, parts), rows, hp * lw)
        _for_each(_split(kf.shape[1], parts), columns, hp * lw)
        _for_each(_split(ho, parts), inverse, hp * lw)
    return out


# --------------------------------------------------------------------------- planning

def _plans(shape, k: np.ndarray, original: np.ndarray, method: str, finite: bool,
           dtype: np.dtype, rtol: float, fn: str, in_place: bool = False) -> list[tuple[float, str, Any]]:
    """The candidate algorithms for ``method`` as ``(estimated ns, name, runner(padded, stride))``;
    a runner returns a new array."""
    m, hp, wp = shape
    p, q = k.shape
    ho, wo = hp - p + 1, wp - q + 1
    size = m * hp * wp
    plans = []
    if method in ("auto", "separable"):
        factors = _factors(original, rtol)
        if factors is None and method == "separable":
            raise ValueError(f"{fn}: method='separable' expects a kernel of rank 1 (an outer product "
                             f"of a column and a row), but the kernel of shape {k.shape} has a higher rank "
                             "or holds NaN or inf")
        if factors is not None:
            col, row = (f.astype(dtype) if dtype.kind == "c" else f.real.astype(dtype) for f in factors)
            cost, plan = _separable_plan(shape, col, row, finite, dtype, in_place)
            plans.append((cost, "separable",
                          lambda padded, stride: _separable(padded, col, row, finite, plan, stride)))
    if method in ("auto", "direct"):
        # Scheduling is a Python loop over the taps: for large kernels, estimate its passes.
        passes = _schedule_passes(*_schedule(k.ravel(), finite)) if k.size <= 400 else \
            2 * (k.size if not finite else np.count_nonzero(k))
        plans.append((_taps_cost(passes, size) + size * (_NS_COPY + _NS_PAD), "direct",
                      lambda padded, stride: _direct_taps(padded.planes(), k, finite, stride)))
        if _gemm_ok(dtype, finite) and 1 < p <= _GEMM_MAX_TAPS:
            columns = [v for v in range(q) if np.any(k[:, v] != 0)]
            cost = len(columns) * _vgemm_cost(m, ho, wo, p) + size * _NS_PAD + \
                max(len(columns) - 1, 0) * m * ho * wo * _NS_PASS / _speedup(m * ho * wo)
            plans.append((cost, "direct",
                          lambda padded, stride: _finish(_direct_gemm(padded.planes(), k, columns), stride)))
    if method == "fft" or (method == "auto" and finite and np.isfinite(k).all()):
        plans.append((_fft_cost(shape) + size * _NS_PAD, "fft",
                      lambda padded, stride: _finish(_fft(padded.planes(), k), stride)))
    return plans


def _correlate_planes(padded: _Padded, k: np.ndarray, method: str, stride: tuple[int, int],
                      finite: bool, fn: str, rtol: float, original: np.ndarray | None = None) -> np.ndarray:
    """Valid cross-correlation of every padded plane ``(M, Hp, Wp)`` with ``k (P, Q)`` (already
    in the compute dtype) by the cheapest plan of ``method``, at the stride; ``original`` is the
    kernel before the cast, for the rank test. Returns a new array."""
    rows = padded.rows()
    plans = _plans(padded.shape, k, k if original is None else original, method, finite,
                   padded.dtype, rtol, fn, in_place=rows is not None and rows.shape[1] >= k.shape[0])
    return min(plans, key=lambda plan: plan[0])[2](padded, stride)


# =========================================================================== SciPy front end

def _check_2d(arr: np.ndarray, name: str, fn: str) -> None:
    if arr.ndim != 2:
        raise ValueError(f"{fn}: {name} expects a 2-D array (inputs must both be 2-D), "
                         f"but got {arr.ndim}-D shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{fn}: {name} expects a non-empty 2-D array, but got shape {arr.shape}")


def _scipy_2d(in1, in2, mode, boundary, fillvalue, method, fn: str, flip: bool) -> np.ndarray:
    a = _real_array(in1, "in1", fn, allow_complex=True)
    b = _real_array(in2, "in2", fn, allow_complex=True)
    _check_2d(a, "in1", fn)
    _check_2d(b, "in2", fn)
    _check_choice(mode, "mode", fn, MODES)
    if not isinstance(boundary, str) or boundary not in _SCIPY_BOUNDARIES:
        raise ValueError(f"{fn}: boundary expects one of 'fill' (or 'pad'), 'wrap' (or 'circular'), "
                         f"'symm' (or 'symmetric'), but got {boundary!r}")
    _check_choice(method, "method", fn, METHODS)
    dtype = _compute_dtype_scipy(a, b)
    value = _check_fillvalue(fillvalue, fn, allow_complex=dtype.kind == "c")
    swapped = False
    if mode == "valid":
        fits1 = all(n >= k for n, k in zip(a.shape, b.shape))
        fits2 = all(k >= n for n, k in zip(a.shape, b.shape))
        if not (fits1 or fits2):
            raise ValueError(f"{fn}: mode 'valid' expects one input at least as large as the other "
                             f"in every dimension, but got in1 {a.shape} and in2 {b.shape}")
        if not fits1:
            a, b, swapped = b, a, True
    p, q = b.shape
    # Everything becomes a cross-correlation with kernel k and pads (before, after) per axis.
    if flip:
        k = b[::-1, ::-1]
        same = ((p // 2, (p - 1) // 2), (q // 2, (q - 1) // 2))
    else:
        k = np.conj(b) if b.dtype.kind == "c" else b
        same = (((p - 1) // 2, p // 2), ((q - 1) // 2, q // 2))
    pads = {"full": ((p - 1, p - 1), (q - 1, q - 1)), "same": same, "valid": ((0, 0), (0, 0))}[mode]
    padded = _Padded(a[None], pads, _SCIPY_BOUNDARIES[boundary], value, dtype)
    finite = _is_finite(a) and (boundary not in ("fill", "pad") or np.isfinite(value))
    out = _correlate_planes(padded, k.astype(dtype, copy=False), method, (1, 1), finite, fn,
                            _rank_rtol(b.dtype), original=k)[0]
    if swapped and not flip:
        out = out[::-1, ::-1].copy()
    return out


def convolve2d(in1, in2, mode: str = "full", boundary: str = "fill", fillvalue=0, *,
               method: str = "auto") -> np.ndarray:
    """Convolve two 2-D arrays, as ``scipy.signal.convolve2d`` does.

    ``out[i, j] = sum_{k, l} in1[i - k, j - l] * in2[k, l]`` over the extended ``in1``: true
    convolution, the kernel flipped. For image filtering with a kernel read as written, use
    :func:`apply` (cross-correlation); the two agree for symmetric kernels.

    Parameters
    ----------
    in1 : array_like, shape (M, N)
        First input (the image), real or complex.
    in2 : array_like, shape (P, Q)
        Second input (the kernel). In ``'valid'`` mode either input may be the larger one, as
        long as it is at least as large as the other in both dimensions; the two are swapped
        (convolution is commutative).
    mode : {'full', 'same', 'valid'}
        ``'full'``: shape ``(M + P - 1, N + Q - 1)``, every overlap. ``'same'``: shape
        ``(M, N)``, the centre of 'full', starting at index ``(P - 1) // 2`` (for an even kernel
        the extra row/column of 'full' is dropped at the end). ``'valid'``: shape
        ``(M - P + 1, N - Q + 1)``, only full overlaps.
    boundary : {'fill', 'wrap', 'symm'}
        How ``in1`` extends past its edges: ``'fill'`` (alias ``'pad'``) with ``fillvalue``,
        ``'wrap'`` (alias ``'circular'``) periodically, ``'symm'`` (alias ``'symmetric'``)
        mirrored with the edge repeated (``b a | a b c | c b``, NumPy's ``'symmetric'``). Pads
        longer than the array repeat the pattern.
    fillvalue : scalar or one-element array, optional
        Value outside ``in1`` for ``boundary='fill'``; default 0.
    method : {'auto', 'direct', 'separable', 'fft'}, optional
        Algorithm (see the module documentation); the results agree to rounding.
        'separable' requires a rank-1 ``in2``.

    Returns
    -------
    ndarray
        Float or complex operands promote as NumPy promotes them (float32 with float32 stays
        float32). Differences from SciPy: integer and bool inputs give float64 (SciPy returns the
        integer type, wraps around on overflow, e.g. for uint8, and truncates a fractional
        ``fillvalue`` to it) and float16 gives float32 (SciPy refuses both bool and float16).

    Raises
    ------
    ValueError
        If an input is not 2-D or is empty (SciPy returns empty or zero arrays for empty inputs),
        if in 'valid' mode neither input is at least as large as the other, or for an unknown
        mode, boundary or method, or a fillvalue with more than one element.
    TypeError
        If an input is not numeric.

    Examples
    --------
    >>> image = np.arange(16.0).reshape(4, 4)
    >>> convolve2d(image, [[1, 0], [0, -1]], mode="valid")      # image[i, j] - image[i - 1, j - 1]
    array([[5., 5., 5.],
           [5., 5., 5.],
           [5., 5., 5.]])
    >>> convolve2d([[1, 2], [3, 4]], [[1, 1]], boundary="symm", mode="same")
    array([[2., 3.],
           [6., 7.]])
    """
    return _scipy_2d(in1, in2, mode, boundary, fillvalue, method, "convolve2d", flip=True)


def correlate2d(in1, in2, mode: str = "full", boundary: str = "fill", fillvalue=0, *,
                method: str = "auto") -> np.ndarray:
    """Cross-correlate two 2-D arrays, as ``scipy.signal.correlate2d`` does.

    ``out[i, j] = sum_{k, l} in1[i + k - P + 1, j + l - Q + 1] * conj(in2[k, l])`` in 'full'
    mode: :func:`convolve2d` with ``in2`` rotated by 180 degrees and conjugated, except for two
    of SciPy's conventions that this keeps:

    - ``'same'`` starts at index ``P // 2`` of 'full' (convolution starts at ``(P - 1) // 2``),
      so for an even kernel the extra row/column is dropped at the start;
    - in ``'valid'`` mode with ``in2`` the larger input, the inputs are swapped and the result
      reversed in both axes: ``correlate2d(a, b) == correlate2d(b, a)[::-1, ::-1]`` (for real
      inputs), the lags then run from the other end.

    Parameters
    ----------
    in1, in2, mode, boundary, fillvalue, method
        As for :func:`convolve2d`.

    Returns
    -------
    ndarray
        Dtype as for :func:`convolve2d`.

    Raises
    ------
    ValueError, TypeError
        As for :func:`convolve2d`.

    Examples
    --------
    >>> image = np.zeros((5, 5)); image[1, 3] = 1.0
    >>> template = np.ones((2, 2))
    >>> out = correlate2d(image, template, mode="same")
    >>> np.argwhere(out == 1).tolist()
    [[0, 2], [0, 3], [1, 2], [1, 3]]
    """
    return _scipy_2d(in1, in2, mode, boundary, fillvalue, method, "correlate2d", flip=False)


# =========================================================================== apply

def apply(image, kernel, *, mode: str = "same", boundary: str = "reflect", fillvalue: float = 0.0,
          channels: str = "each", stride=1, method: str = "auto", dtype=None) -> np.ndarray:
    """Filter an image with a kernel: cross-correlation, as ``cv2.filter2D`` and CNN layers do.

    ``out[i, j] = sum_{u, v} image[i * sh + u - a, j * sw + v - b] * kernel[u, v]``, with the
    image extended past its border by ``boundary`` and the anchor ``(a, b) = (P // 2, Q // 2)``
    in 'same' mode (OpenCV's default anchor, also ``scipy.ndimage.correlate``'s; for an even
    size the kernel's centre is the lower of the two middle taps), ``(0, 0)`` in 'valid' and
    ``(P - 1, Q - 1)`` in 'full' mode. The kernel is not flipped: true convolution is this with
    ``kernel[::-1, ::-1]``, and for symmetric kernels (box, Gaussian) the two are the same.

    Parameters
    ----------
    image : array_like
        ``(H, W)`` grayscale, ``(H, W, C)`` colour or ``(N, H, W, C)`` batch, any real dtype
        (bool, integer or float). Not modified.
    kernel : array_like
        ``(P, Q)``, or ``(P, Q, C)``: one kernel per channel (with ``channels='each'``, a
        depthwise filter) or one 3-D filter (with ``channels='all'``). Real; NaN and inf are
        allowed and propagate (they make every output NaN or inf, and keep 'auto' on the
        tap-by-tap algorithm).
    mode : {'same', 'valid', 'full'}
        Output size: 'same' ``(H, W)``; 'valid' ``(H - P + 1, W - Q + 1)``, windows inside the
        image only (the boundary is not used); 'full' ``(H + P - 1, W + Q - 1)``; each then
        divided by the stride: ``ceil(size / s)``.
    boundary : {'reflect', 'symm', 'replicate', 'wrap', 'fill'}
        Values past the border: ``'reflect'`` mirrors without repeating the edge pixel
        (``c b | a b c d | c b``; ``cv2.BORDER_REFLECT_101``, ``scipy.ndimage`` 'mirror', NumPy
        'reflect'), ``'symm'`` mirrors with it (``b a | a b c d | d c``; ``cv2.BORDER_REFLECT``,
        ``scipy.ndimage`` 'reflect', NumPy 'symmetric'), ``'replicate'`` repeats it
        (``cv2.BORDER_REPLICATE``, 'nearest'), ``'wrap'`` is periodic, ``'fill'`` is
        ``fillvalue`` (``cv2.BORDER_CONSTANT``). Patterns repeat for kernels larger than the image.
    fillvalue : float
        The constant for ``boundary='fill'``; default 0.
    channels : {'each', 'all'}
        ``'each'``: filter every channel on its own; the output has the input's channels. With a
        ``(P, Q, C)`` kernel, channel ``c`` uses ``kernel[..., c]``. ``'all'``: sum the filtered
        channels into one map, like one filter of a conv layer; a 2-D kernel is used for every
        channel. The output of a colour image is then ``(H', W')``, of a batch ``(N, H', W', 1)``.
    stride : int or (int, int)
        Keep every ``s``-th output row and column, starting at 0: ``out = full_res[::sh, ::sw]``.
        (The full-resolution result is computed; a stride saves memory, not time.)
    method : {'auto', 'separable', 'direct', 'fft'}
        The algorithm (see the module documentation and :func:`choose_method`). 'auto' splits
        rank-1 kernels into two 1-D passes and takes the direct algorithm or the FFT (for large
        kernels) otherwise; results agree to rounding. 'separable' requires a rank-1 kernel.
    dtype : floating dtype, optional
        Output dtype. Default: the image's float dtype (float16 gives float32), and float32 (the
        default dtype, :func:`convscope.backend.get_default_dtype`) for bool and integer images,
        e.g. uint8. The kernel never changes it. Values are not clipped or rounded; see
        :func:`convscope.filters.display.to_display` for viewing.

    Returns
    -------
    ndarray
        ``(H', W')``, ``(H', W', C)`` or ``(N, H', W', C)`` as the input (see ``channels``).

    Raises
    ------
    ValueError
        For an empty image, an image that is not 2-, 3- or 4-D, a kernel that is not 2-D or
        3-D or is empty, a kernel larger than the image in 'valid' mode, a 3-D kernel whose
        channels do not match the image's, a non-separable kernel with method='separable',
        or an unknown mode, boundary, channels or method, or a stride below 1.
    TypeError
        For non-numeric or complex image or kernel, a non-integer stride or a non-float dtype.

    Examples
    --------
    >>> image = np.zeros((5, 5), dtype=np.uint8); image[2, 2] = 10
    >>> apply(image, [[0, 0, 0], [0, 0, 1], [0, 0, 0]])[2]      # correlation: no flip
    array([ 0., 10.,  0.,  0.,  0.], dtype=float32)
    >>> rgb = np.ones((4, 6, 3))
    >>> apply(rgb, np.ones((3, 3)) / 9).shape
    (4, 6, 3)
    >>> apply(rgb, np.ones((3, 3, 3)), channels="all", mode="valid")
    array([[27., 27., 27., 27.],
           [27., 27., 27., 27.]])
    >>> apply(np.arange(36.0).reshape(6, 6), [[1.0]], stride=2)
    array([[ 0.,  2.,  4.],
           [12., 14., 16.],
           [24., 26., 28.]])
    """
    fn = "apply"
    x = _real_array(image, "image", fn)
    k = _real_array(kernel, "kernel", fn)
    if x.ndim not in (2, 3, 4):
        raise ValueError(f"{fn}: image expects shape (H, W), (H, W, C) or (N, H, W, C), "
                         f"but got a {x.ndim}-D array of shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"{fn}: image expects a non-empty image, but got shape {x.shape}")
    if k.ndim not in (2, 3) or k.size == 0:
        raise ValueError(f"{fn}: kernel expects a non-empty 2-D (P, Q) or 3-D (P, Q, C) array, "
                         f"but got shape {k.shape}")
    _check_choice(mode, "mode", fn, MODES)
    _check_choice(boundary, "boundary", fn, BOUNDARIES)
    _check_choice(channels, "channels", fn, CHANNELS)
    _check_choice(method, "method", fn, METHODS)
    stride = to_tuple(stride, 2, "stride", fn, minimum=1)
    if boundary == "fill":
        if isinstance(fillvalue, (bool, np.bool_)) or not isinstance(fillvalue, (numbers.Real, np.ndarray)):
            raise TypeError(f"{fn}: fillvalue expects a real number, but got {fillvalue!r}")
        fillvalue = float(_check_fillvalue(fillvalue, fn, allow_complex=False))
    compute, out_dtype = _apply_dtype(x, dtype, fn)

    # A (C, N, H, W) view of the image: channel-major, so each channel's planes are contiguous
    # once padded (the flat passes need that) and the channels of channels='all' are one sum.
    planes = x[None, None] if x.ndim == 2 else (
        np.moveaxis(x, -1, 0)[:, None] if x.ndim == 3 else np.moveaxis(x, -1, 0))
    c, n, h, w = planes.shape
    p, q = k.shape[:2]
    if k.ndim == 3 and k.shape[2] != c:
        raise ValueError(f"{fn}: kernel of shape {k.shape} expects {k.shape[2]} image channels, "
                         f"but image of shape {x.shape} has {c}")
    if mode == "valid" and (p > h or q > w):
        raise ValueError(f"{fn}: mode 'valid' expects a kernel no larger than the image, but got "
                         f"kernel {k.shape} for image {x.shape} (H, W = {h}, {w})")
    pads = {"same": ((p // 2, (p - 1) // 2), (q // 2, (q - 1) // 2)),
            "full": ((p - 1, p - 1), (q - 1, q - 1)),
            "valid": ((0, 0), (0, 0))}[mode]
    finite = _is_finite(x) and (boundary != "fill" or math.isfinite(fillvalue))
    rtol = _rank_rtol(k.dtype)
    kc = k.astype(compute)

    def run(src: np.ndarray | _Padded, kernel2d: np.ndarray, original: np.ndarray) -> np.ndarray:
        padded = src if isinstance(src, _Padded) else _Padded(src, pads, boundary, fillvalue, compute)
        return _correlate_planes(padded, kernel2d, method, stride, finite, fn, rtol, original)

    if channels == "all":
        if k.ndim == 2 and c > 1:                    # linear: sum the channels, filter once
            y = run(_Padded.of(_pad_planes(planes, pads, boundary, fillvalue, compute).sum(axis=0)), kc, k)
        elif k.ndim == 2:
            y = run(planes[0], kc, k)
        else:
            y = run(planes[0], kc[..., 0], k[..., 0])
            for ch in range(1, c):
                y += run(planes[ch], kc[..., ch], k[..., ch])
        result = y[0] if x.ndim in (2, 3) else y[..., None]           # y: (N, H', W')
    else:
        if k.ndim == 2:
            y = run(planes, kc, k)
            y = y.reshape(c, n, *y.shape[1:])
        else:
            y = np.stack([run(planes[ch], kc[..., ch], k[..., ch]) for ch in range(c)])
        if x.ndim == 2:
            result = y[0, 0]
        elif x.ndim == 3:
            result = np.ascontiguousarray(np.moveaxis(y[:, 0], 0, -1))
        else:
            result = np.ascontiguousarray(np.moveaxis(y, 0, -1))
    return result if result.dtype == out_dtype else result.astype(out_dtype)
