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

How it works: these functions are adapters over the convolution engine,
:mod:`convscope.ops.algorithms`, which also runs the CNN layers. The adapter does what is
particular to images and to SciPy: it checks the arguments, picks the compute dtype, turns a
convolution into a cross-correlation (the kernel flipped, or conjugated for ``correlate2d``),
maps the mode and boundary onto padding and pads the image once with the boundary mode
(:mod:`._boundary`, by :func:`convscope.ops.pad.source_index`), straight into a contiguous
stack of planes ``(M, Hp, Wp)`` in the compute dtype (one plane per image and channel), and
hands the engine one single-kernel problem, planes ``(M, 1, Hp, Wp)`` and kernel
``(1, 1, P, Q)`` with no further padding::

    out[m, i, j] = sum_{u, v} planes[m, i * sh + u, j * sw + v] * kernel[u, v]

then restores the layout. ``method='auto'`` lets the engine's cost model choose the algorithm
(:func:`choose_method` tells which); ``'direct'``, ``'separable'`` and ``'fft'`` force one
(:func:`convscope.backend.algorithm`), as does a forced backend setting under ``'auto'``. For
images the engine's algorithms are (see each module):

``'separable'`` (:mod:`convscope.ops.algorithms.separable`)
    For a kernel of numerical rank 1 (``kernel = outer(column, row)``, see
    :func:`separable_factors`; Sobel, Gaussian, box): a vertical pass with ``column`` and a
    horizontal pass with ``row``, ``P + Q`` instead of ``P * Q`` multiply-adds per pixel; with
    numba both passes fused per row, else NumPy passes tap by tap or banded Toeplitz products
    (BLAS).
``'direct'`` (:mod:`convscope.ops.algorithms.direct`)
    The 2-D kernel tap by tap: numba loops over blocks of output rows, else NumPy passes over
    the flat planes (:mod:`convscope.ops.algorithms._taps`) or one vertical Toeplitz product
    per kernel column (:mod:`convscope.ops.algorithms._toeplitz`).
``'fft'`` (:mod:`convscope.ops.algorithms._planes_fft`)
    ``numpy.fft`` transforms of each plane and of the flipped kernel at a fast length
    ``2^a 3^b 5^c``; float32 planes in float32, the rounding error about
    ``1e-7 * log2(size)`` of ``max|x| * sum|kernel|``.

and under a forced backend setting also ``gemm``, ``winograd`` or ``pointwise``. Their measured
constants are in :mod:`convscope.ops.algorithms._planes_tuning`; the threads are
:func:`convscope.backend.get_num_threads` (numba's, and :func:`convscope.backend.parallel_for`).

The algorithms agree to float rounding (tested: 1e-10 in float64, 1e-4 in float32, relative to
the largest output; the parity tests run with each one forced), with one difference in kind:
an image or kernel holding NaN or inf. Tap by tap, a non-finite pixel spoils exactly the outputs
whose window covers it (zero taps included, as ``0 * NaN`` is NaN); a Toeplitz product
multiplies it by the band's zeros and a Fourier or Winograd transform mixes it into outputs
further away. So the adapter checks the image and the engine keeps non-finite data to the
algorithms that multiply tap by tap (direct, separable, gemm); forcing ``method='fft'`` on such
an image runs one of those instead.

References
----------
.. [1] R. C. Gonzalez and R. E. Woods, *Digital Image Processing*, 4th ed., Pearson, 2018
   (spatial correlation and convolution, separable kernels).
.. [2] SciPy, ``scipy.signal.convolve2d`` and ``scipy.signal.correlate2d``, the reference for
   :func:`convolve2d` / :func:`correlate2d`; OpenCV, ``cv2.filter2D`` and its border types,
   the reference for :func:`apply`.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

import contextlib

from .. import backend
from .._validation import as_real_array, check_choice, check_float_dtype, to_tuple
from ..ops import algorithms
from ..ops.algorithms._common import all_finite
from ..ops.algorithms.separable import _factors, _rank_rtol, separable_factors
from ._boundary import _PAD_MODES, _pad_planes

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


# =========================================================================== validation

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
        out = check_float_dtype(dtype, "dtype", fn, what="a floating dtype such as float32 or float64 (results "
                                "are never clipped or rounded)")
        return (np.dtype(np.float32) if out.itemsize < 4 else out), out
    if image.dtype.kind == "f":
        out = np.dtype(np.float32) if image.dtype.itemsize < 4 else image.dtype
    else:
        out = backend.get_default_dtype()
    return out, out



# =========================================================================== planning

def choose_method(kernel, image_shape: tuple[int, int] = (1024, 1024)) -> str:
    """The algorithm ``method='auto'`` picks for a 2-D kernel: usually 'separable', 'direct' or 'fft'.

    The engine's answer (:func:`convscope.ops.algorithms.choose`) for a single-kernel problem of
    this kernel on a finite float32 image (complex64 for a complex kernel), stride 1: its cost
    model estimates the time of each algorithm that applies (measured constants) and takes the
    cheapest, under the current backend settings (a forced :func:`convscope.backend.algorithm`,
    numba or not). In practice: rank-1 kernels (see :func:`separable_factors`) are split into
    two 1-D passes at any size; other kernels go tap by tap ('direct') up to about 15 x 15 to
    25 x 25 and through the FFT beyond (sooner on small images). A kernel or image holding
    NaN or inf is never transformed (:func:`apply` checks the image).

    Parameters
    ----------
    kernel : array_like, shape (P, Q)
    image_shape : (int, int)
        ``(H, W)`` of the padded image; default 1024 x 1024.

    Returns
    -------
    str
        A name of :data:`convscope.ops.algorithms.ALGORITHMS`.

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
    k = as_real_array(kernel, "kernel", fn, allow_complex=True)
    if k.ndim != 2 or k.size == 0:
        raise ValueError(f"{fn}: kernel expects a non-empty 2-D array, but got shape {k.shape}")
    h, w = to_tuple(image_shape, 2, "image_shape", fn, minimum=1)
    dtype = np.dtype(np.complex64 if k.dtype.kind == "c" else np.float32)
    hp, wp = max(h, k.shape[0]), max(w, k.shape[1])
    p = algorithms.problem("forward", (1, 1, hp, wp), 1, k.shape, (hp - k.shape[0] + 1, wp - k.shape[1] + 1),
                           (1, 1), ((0, 0), (0, 0)), (1, 1), 1, dtype,
                           rank1=_factors(k, _rank_rtol(k.dtype)) is not None, finite=all_finite(k))
    return algorithms.choose(p).NAME


def mode_pads(mode: str, p: int, q: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """The ``((top, bottom), (left, right))`` border :func:`apply` adds around the image for a
    ``(p, q)`` kernel in ``mode``: the anchor at ``(p // 2, q // 2)`` in 'same' mode.

    Examples
    --------
    >>> mode_pads("same", 4, 3), mode_pads("full", 2, 2), mode_pads("valid", 5, 5)
    (((2, 1), (1, 1)), ((1, 1), (1, 1)), ((0, 0), (0, 0)))
    """
    return {"same": ((p // 2, (p - 1) // 2), (q // 2, (q - 1) // 2)),
            "full": ((p - 1, p - 1), (q - 1, q - 1)),
            "valid": ((0, 0), (0, 0))}[mode]


def _correlate_planes(planes: np.ndarray, k: np.ndarray, method: str, stride: tuple[int, int],
                      finite: bool | None, fn: str, original: np.ndarray,
                      pads=((0, 0), (0, 0)), border=None) -> np.ndarray:
    """Cross-correlation of every plane ``planes (M, H, W)`` (in the compute dtype) padded by
    ``pads`` with ``k (P, Q)`` (in the same dtype) at the stride, by the engine: ``method`` 'auto'
    lets it choose, another name forces that algorithm. ``border``: the engine's padding mode
    and fill (None: ``planes`` are padded already, and ``pads`` zero). ``finite``: whether the
    image holds no NaN or inf (None: not known; the engine checks where it matters);
    ``original`` is the kernel before the cast, for the rank test. Returns a new array
    ``(M, Ho, Wo)``."""
    if method == "separable" and _factors(original, _rank_rtol(original.dtype)) is None:
        raise ValueError(f"{fn}: method='separable' expects a kernel of rank 1 (an outer product "
                         f"of a column and a row), but the kernel of shape {k.shape} has a higher rank "
                         "or holds NaN or inf")
    _, h, w = planes.shape
    (top, bottom), (left, right) = pads
    hp, wp = h + top + bottom, w + left + right
    p, q = k.shape
    out = (-(-(hp - p + 1) // stride[0]), -(-(wp - q + 1) // stride[1]))
    with contextlib.nullcontext() if method == "auto" else backend.algorithm(method):
        y = algorithms.forward(planes[:, None], k[None, None], pads, stride, (1, 1), 1, out, fn,
                               finite=finite, kernel=original, border=border)
    return y[:, 0]


def _flat_view(src: np.ndarray) -> np.ndarray | None:
    """``src (..., H, W)`` as ``(M, H, W)`` without a copy, or None where that needs one."""
    flat = src.view()
    try:
        flat.shape = (-1, *src.shape[-2:])
    except AttributeError:
        return None
    return flat


# =========================================================================== SciPy front end

def _check_2d(arr: np.ndarray, name: str, fn: str) -> None:
    if arr.ndim != 2:
        raise ValueError(f"{fn}: {name} expects a 2-D array (inputs must both be 2-D), "
                         f"but got {arr.ndim}-D shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{fn}: {name} expects a non-empty 2-D array, but got shape {arr.shape}")


def _scipy_2d(in1, in2, mode, boundary, fillvalue, method, fn: str, flip: bool) -> np.ndarray:
    a = as_real_array(in1, "in1", fn, allow_complex=True)
    b = as_real_array(in2, "in2", fn, allow_complex=True)
    _check_2d(a, "in1", fn)
    _check_2d(b, "in2", fn)
    check_choice(mode, "mode", fn, MODES)
    check_choice(boundary, "boundary", fn, tuple(_SCIPY_BOUNDARIES),
                 expected="one of 'fill' (or 'pad'), 'wrap' (or 'circular'), 'symm' (or 'symmetric')")
    check_choice(method, "method", fn, METHODS)
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
    planes = _pad_planes(a[None], pads, _SCIPY_BOUNDARIES[boundary], value, dtype)
    finite = all_finite(a) and (boundary not in ("fill", "pad") or bool(np.isfinite(value)))
    out = _correlate_planes(planes, k.astype(dtype, copy=False), method, (1, 1), finite, fn, k)[0]
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
    x = as_real_array(image, "image", fn)
    k = as_real_array(kernel, "kernel", fn)
    if x.ndim not in (2, 3, 4):
        raise ValueError(f"{fn}: image expects shape (H, W), (H, W, C) or (N, H, W, C), "
                         f"but got a {x.ndim}-D array of shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"{fn}: image expects a non-empty image, but got shape {x.shape}")
    if k.ndim not in (2, 3) or k.size == 0:
        raise ValueError(f"{fn}: kernel expects a non-empty 2-D (P, Q) or 3-D (P, Q, C) array, "
                         f"but got shape {k.shape}")
    check_choice(mode, "mode", fn, MODES)
    check_choice(boundary, "boundary", fn, BOUNDARIES)
    check_choice(channels, "channels", fn, CHANNELS)
    check_choice(method, "method", fn, METHODS)
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
    pads = mode_pads(mode, p, q)
    # NaN and inf: known for a non-finite fill, else left to the engine, which checks the
    # image where its choice depends on it.
    finite = None if boundary != "fill" or math.isfinite(fillvalue) else False
    kc = k.astype(compute)

    def run(src: np.ndarray, kernel2d: np.ndarray, original: np.ndarray, padded: bool = False) -> np.ndarray:
        flat = None if padded or src.dtype != compute or src.strides[-1] != src.itemsize else _flat_view(src)
        if flat is not None:                         # the engine pads (or reads the border in place)
            return _correlate_planes(flat, kernel2d, method, stride, finite, fn, original, pads,
                                     (_PAD_MODES[boundary], fillvalue if boundary == "fill" else 0.0))
        xp = src if padded else _pad_planes(src, pads, boundary, fillvalue, compute)
        return _correlate_planes(xp.reshape(-1, *xp.shape[-2:]), kernel2d, method, stride, finite, fn, original)

    if channels == "all":
        if k.ndim == 2 and c > 1:                    # linear: sum the channels, filter once
            y = run(_pad_planes(planes, pads, boundary, fillvalue, compute).sum(axis=0), kc, k, padded=True)
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
