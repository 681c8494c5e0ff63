"""Classic convolution kernels as named builders, and a registry to find them by name.

Every builder returns a new 2-D float64 array indexed ``[row, col]``: rows run down the image
(``y``), columns run right (``x``), and the centre tap is ``[h // 2, w // 2]``. Kernels are
applied by cross-correlation, as CNN layers and ``cv2.filter2D`` do (no flip)::

    out[i, j] = sum_{u, v} image[i + u - h // 2, j + v - w // 2] * kernel[u, v]

so :func:`sobel_x` responds positively where intensity increases to the right and
:func:`sobel_y` where it increases downwards. Angles are in degrees, measured from the ``+x``
axis (right) towards ``+y`` (down), i.e. clockwise on screen; :func:`emboss` is the one
exception, see there.

Three families, told apart by what they do to a flat image (the kernel's sum):

- blur: :func:`box`, :func:`gaussian`, :func:`motion_blur` sum to 1;
- derivative: :func:`sobel_x`, :func:`sobel_y`, :func:`prewitt_x`, :func:`prewitt_y`,
  :func:`scharr_x`, :func:`scharr_y`, :func:`laplacian`, :func:`laplacian_of_gaussian`,
  :func:`difference_of_gaussians` and the edge and line detectors sum to 0;
- enhancement: :func:`identity`, :func:`sharpen`, :func:`unsharp_mask`, :func:`emboss` sum to 1.

:func:`gabor` is a band-pass whose sum is small but not zero.

:func:`available` lists the registry and :func:`get` builds a kernel by name.

Bounds: every builder checks its arguments before it allocates anything and raises a
``ValueError`` (or a ``TypeError`` for a wrong type: a string, None, a bool) that names the
argument, never a bare ``OverflowError`` or ``MemoryError``:

- a kernel has at most :data:`MAX_ELEMENTS` ``= 2**22`` taps (``h * w``: 2048 x 2048, 32 MiB of
  float64), whether its size is given (``size``) or follows from another argument (the
  ``2 * ceil(3 * sigma) + 1`` of the Gaussians, a Gabor's envelope, a motion blur's length);
- a length in pixels (``sigma``, ``sigma_low``, ``sigma_high``, ``wavelength``) lies in
  ``[MIN_SCALE, MAX_SCALE] = [1e-3, 1e6]``: below a thousandth of a pixel every sampled Gaussian
  here is already the discrete delta (its first neighbour ``exp(-0.5 / sigma**2)`` underflows to
  0 from ``sigma < 0.026``) while the Laplacian of Gaussian's ``1 / sigma**4`` and a Gabor's
  ``1 / wavelength`` head for overflow; above a million pixels every kernel within the size bound
  is flat;
- every other number is finite (``gamma`` positive, ``amount`` non-negative).

References
----------
.. [1] R. C. Gonzalez and R. E. Woods, *Digital Image Processing*, 4th ed., Pearson, 2018
   (spatial filtering: smoothing, sharpening, unsharp masking, Laplacian, line and edge masks).
"""

from __future__ import annotations

import inspect
import math
import numbers
from typing import Any, Callable

import numpy as np

from .._validation import check_int, to_tuple

__all__ = [
    "identity", "box", "gaussian", "sobel_x", "sobel_y", "prewitt_x", "prewitt_y", "scharr_x",
    "scharr_y", "laplacian", "laplacian_of_gaussian", "difference_of_gaussians", "sharpen",
    "unsharp_mask", "emboss", "motion_blur", "gabor", "horizontal_edge", "vertical_edge",
    "horizontal_line", "vertical_line", "diagonal_line_45", "diagonal_line_135",
    "available", "get", "MAX_ELEMENTS", "MIN_SCALE", "MAX_SCALE",
]

#: The most taps (``h * w``) a builder makes: 2048 x 2048, 32 MiB of float64.
MAX_ELEMENTS = 2**22
#: The range of a length in pixels (sigma, wavelength); see the module docstring.
MIN_SCALE, MAX_SCALE = 1e-3, 1e6


# --------------------------------------------------------------------------- argument checks

def _real(value: Any, name: str, fn: str, what: str) -> float:
    """``value`` as a finite float, or a TypeError/ValueError saying ``fn: name expects what``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{fn}: {name} expects {what}, but got {value!r} ({type(value).__name__})")
    try:
        number = float(value)
    except OverflowError:                  # an int beyond float64, e.g. 10**400
        number = math.inf
    if not math.isfinite(number):
        raise ValueError(f"{fn}: {name} expects {what}, but got {value!r}")
    return number


def _scale(value: Any, name: str, fn: str) -> float:
    """A positive length in pixels within ``[MIN_SCALE, MAX_SCALE]``."""
    number = _positive(value, name, fn)
    if not MIN_SCALE <= number <= MAX_SCALE:
        raise ValueError(f"{fn}: {name} expects a length in [{MIN_SCALE:g}, {MAX_SCALE:g}] pixels (MIN_SCALE, "
                         f"MAX_SCALE), but got {value!r}")
    return number


def _check_taps(h: float, w: float, fn: str, because: str) -> None:
    """Refuse an ``h x w`` kernel above :data:`MAX_ELEMENTS` taps; ``because`` names the argument.
    ``h`` and ``w`` may be floats (a size estimated before rounding, possibly huge)."""
    if h * w > MAX_ELEMENTS:
        shown = "x".join(str(int(v)) if v < 1e15 else
                         (f"{v:.3g}" if isinstance(v, float) else f"~10**{len(str(v)) - 1}") for v in (h, w))
        raise ValueError(f"{fn}: {because} expects a kernel of at most {MAX_ELEMENTS} taps (MAX_ELEMENTS, e.g. "
                         f"2048x2048), but it gives {shown}")


def _positive(value: Any, name: str, fn: str) -> float:
    number = _real(value, name, fn, "a positive number")
    if number <= 0:
        raise ValueError(f"{fn}: {name} expects a positive number, but got {value!r}")
    return number


def _non_negative(value: Any, name: str, fn: str) -> float:
    number = _real(value, name, fn, "a non-negative number")
    if number < 0:
        raise ValueError(f"{fn}: {name} expects a non-negative number, but got {value!r}")
    return number


def _sigma_pair(sigma: Any, fn: str, name: str = "sigma") -> tuple[float, float]:
    """A positive scalar or a ``(sigma_y, sigma_x)`` pair, as a pair of floats."""
    if isinstance(sigma, (tuple, list)) or (isinstance(sigma, np.ndarray) and sigma.ndim == 1):
        if len(sigma) != 2:
            raise ValueError(f"{fn}: {name} expects a positive number or a pair (sigma_y, sigma_x), "
                             f"but got {len(sigma)} values {tuple(sigma)!r}")
        return _scale(sigma[0], name, fn), _scale(sigma[1], name, fn)
    value = _scale(sigma, name, fn)
    return value, value


def _size(size: Any, fn: str) -> tuple[int, int]:
    """A positive int or ``(h, w)`` pair of them, within :data:`MAX_ELEMENTS` taps."""
    h, w = to_tuple(size, 2, "size", fn, minimum=1)
    _check_taps(h, w, fn, f"size={size!r}")
    return h, w


def _odd_size(size: Any, fn: str) -> tuple[int, int]:
    """An odd positive int or ``(h, w)`` pair of them: odd so the kernel has a centre tap."""
    h, w = to_tuple(size, 2, "size", fn, minimum=1)
    if h % 2 == 0 or w % 2 == 0:
        raise ValueError(f"{fn}: size expects odd positive integers (the kernel needs a centre), "
                         f"but got {size!r}")
    _check_taps(h, w, fn, f"size={size!r}")
    return h, w


def _line_radius(extent: float) -> int:
    """``ceil(extent)``, forgiving the last-bit error of ``cos`` (``cos(60) = 0.5000000000000001``)."""
    return max(0, math.ceil(extent - 1e-9))


def _size_for(sigma: tuple[float, float], size: Any, fn: str, name: str = "sigma") -> tuple[int, int]:
    """``size`` checked, or the default ``2 * ceil(3 * sigma) + 1`` per axis (within bounds)."""
    if size is None:
        h, w = (2 * math.ceil(3 * s) + 1 for s in sigma)
        _check_taps(h, w, fn, f"{name}={sigma[0] if sigma[0] == sigma[1] else sigma!r} (no size given)")
        return h, w
    return _odd_size(size, fn)


def _offsets(n: int) -> np.ndarray:
    """Offsets of the taps from the centre of an odd length ``n``: ``-(n // 2) ... n // 2``."""
    return np.arange(n, dtype=np.float64) - n // 2


def _cos_sin(degrees: float) -> tuple[float, float]:
    """cos and sin of an angle in degrees, exact at multiples of 90 (no 6e-17 residues)."""
    quarter, rest = divmod(degrees % 360.0, 90.0)
    if rest == 0.0 and quarter < 4:        # (-1e-300) % 360 rounds to 360.0: quarter 4, not exact
        return [(1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0)][int(quarter)]
    radians = math.radians(degrees)
    return math.cos(radians), math.sin(radians)


def _gaussian_1d(sigma: float, n: int) -> np.ndarray:
    x = _offsets(n)
    g = np.exp(-0.5 * (x / sigma) ** 2)
    return g / g.sum()


def _fixed(rows: list[list[float]]) -> np.ndarray:
    return np.array(rows, dtype=np.float64)


# --------------------------------------------------------------------------- blur

def identity(size: int | tuple[int, int] = 3) -> np.ndarray:
    """The kernel that leaves an image unchanged: 1 at the centre, 0 elsewhere.

    Parameters
    ----------
    size : int or (int, int), optional
        Odd kernel size ``(h, w)``; an int means a square. Default 3.

    Returns
    -------
    ndarray, shape (h, w), float64
        The discrete delta (Kronecker impulse); sums to 1.

    Raises
    ------
    TypeError, ValueError
        If ``size`` is not an odd positive integer or a pair of them.

    References
    ----------
    .. [1] R. C. Gonzalez and R. E. Woods, *Digital Image Processing*, 4th ed., 2018 (spatial
       correlation with an impulse reproduces the kernel; with the kernel, the image).

    Examples
    --------
    >>> print(identity())
    [[0. 0. 0.]
     [0. 1. 0.]
     [0. 0. 0.]]
    """
    h, w = _odd_size(size, "identity")
    kernel = np.zeros((h, w))
    kernel[h // 2, w // 2] = 1.0
    return kernel


def box(size: int | tuple[int, int] = 3) -> np.ndarray:
    """Box (mean) filter: every tap equal, summing to 1.

    Parameters
    ----------
    size : int or (int, int), optional
        Kernel size ``(h, w)``, any positive integers (an even size has no centre tap and
        shifts the output by half a pixel). Default 3.

    Returns
    -------
    ndarray, shape (h, w), float64
        ``1 / (h * w)`` everywhere.

    Raises
    ------
    TypeError, ValueError
        If ``size`` is not a positive integer or a pair of them.

    References
    ----------
    .. [1] R. C. Gonzalez and R. E. Woods, *Digital Image Processing*, 4th ed., 2018 (box filter
       kernels, smoothing spatial filters).

    Examples
    --------
    >>> k = box((1, 4))
    >>> print(k)
    [[0.25 0.25 0.25 0.25]]
    >>> float(box(5).sum())
    1.0
    """
    h, w = _size(size, "box")
    return np.full((h, w), 1.0 / (h * w))


def gaussian(sigma: float | tuple[float, float], size: int | tuple[int, int] | None = None) -> np.ndarray:
    """Sampled Gaussian, normalised to sum 1.

    ``kernel[y, x] = g_y(y) * g_x(x)`` with ``g(t) = exp(-t**2 / (2 * sigma**2))`` sampled at the
    integer offsets from the centre and each profile scaled to sum 1 (the weights of
    ``scipy.ndimage.gaussian_filter``).

    Parameters
    ----------
    sigma : float or (float, float)
        Standard deviation in pixels, positive; a pair means ``(sigma_y, sigma_x)``.
    size : int or (int, int), optional
        Odd kernel size. Default ``2 * ceil(3 * sigma) + 1`` per axis: the smallest odd size
        covering 3 sigma each side (the "6 sigma + 1" rule).

    Returns
    -------
    ndarray, shape (h, w), float64
        Separable, symmetric, sums to 1.

    Raises
    ------
    TypeError, ValueError
        If ``sigma`` is not positive or ``size`` not odd and positive.

    References
    ----------
    .. [1] T. Lindeberg, *Scale-Space Theory in Computer Vision*, Kluwer, 1994.

    Examples
    --------
    >>> k = gaussian(1.0)
    >>> k.shape
    (7, 7)
    >>> print(gaussian(0.5, size=3).round(3))
    [[0.011 0.084 0.011]
     [0.084 0.619 0.084]
     [0.011 0.084 0.011]]
    """
    sy, sx = _sigma_pair(sigma, "gaussian")
    h, w = _size_for((sy, sx), size, "gaussian")
    kernel = np.outer(_gaussian_1d(sy, h), _gaussian_1d(sx, w))
    return kernel / kernel.sum()


def motion_blur(length: int, angle: float = 0.0) -> np.ndarray:
    """Linear motion blur: an anti-aliased line of ``length`` pixels through the centre.

    The line is the segment of length ``length`` centred on the centre tap along
    ``(cos(angle), sin(angle))`` in ``(x, y)`` coordinates (``y`` down). Each tap gets the length
    of the segment inside its unit pixel square (exact area sampling, so a horizontal or
    vertical line of odd length is a plain row or column of equal weights), then the kernel is
    scaled to sum 1.

    Parameters
    ----------
    length : int
        Length of the motion in pixels, positive.
    angle : float, optional
        Direction of the motion in degrees from ``+x`` towards ``+y`` (down): 0 is horizontal,
        90 vertical, 45 the diagonal from top-left to bottom-right. Default 0.

    Returns
    -------
    ndarray, shape (n, n), float64
        Square, ``n`` the smallest odd size holding the whole segment; sums to 1.

    Raises
    ------
    TypeError, ValueError
        If ``length`` is not a positive integer or ``angle`` not a finite number.

    References
    ----------
    .. [1] R. C. Gonzalez and R. E. Woods, *Digital Image Processing*, 4th ed., 2018 (image
       degradation by uniform linear motion).

    Examples
    --------
    >>> print(motion_blur(3) * 3)
    [[0. 0. 0.]
     [1. 1. 1.]
     [0. 0. 0.]]
    >>> print(motion_blur(3, angle=90) * 3)
    [[0. 1. 0.]
     [0. 1. 0.]
     [0. 1. 0.]]
    """
    length = check_int(length, "length", "motion_blur", minimum=1)
    if length > MAX_ELEMENTS:              # before length / 2.0, which overflows past 1e308
        _check_taps(length, 1, "motion_blur", f"length={length}")
    angle = _real(angle, "angle", "motion_blur", "a finite number of degrees")
    dx, dy = _cos_sin(angle)
    half = length / 2.0
    radius = max(_line_radius(half * abs(dx) - 0.5), _line_radius(half * abs(dy) - 0.5))
    _check_taps(2 * radius + 1, 2 * radius + 1, "motion_blur", f"length={length}")
    centres = _offsets(2 * radius + 1)
    # Arclength interval [lo, hi] of the segment t * (dx, dy), |t| <= half, inside each pixel square.
    lo = np.full((centres.size, centres.size), -half)
    hi = np.full((centres.size, centres.size), half)
    for direction, coord in ((dy, centres[:, None]), (dx, centres[None, :])):
        if abs(direction) < 1e-12:      # the segment stays on the line coord == 0 (to 1e-12 * length)
            inside = np.abs(coord) < 0.5
            lo, hi = np.where(inside, lo, 0.0), np.where(inside, hi, 0.0)
        else:
            a, b = (coord - 0.5) / direction, (coord + 0.5) / direction
            lo, hi = np.maximum(lo, np.minimum(a, b)), np.minimum(hi, np.maximum(a, b))
    kernel = np.clip(hi - lo, 0.0, None)
    return kernel / kernel.sum()


# --------------------------------------------------------------------------- first derivatives

def sobel_x() -> np.ndarray:
    """Sobel derivative along ``x``: positive where intensity increases to the right.

    ``[1, 2, 1]^T (smoothing down the rows) x [-1, 0, 1] (central difference along x)``.

    Returns
    -------
    ndarray, shape (3, 3), float64
        ``[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]``; sums to 0. Dividing by 8 gives the gradient in
        intensity per pixel.

    References
    ----------
    .. [1] I. Sobel and G. Feldman, "A 3x3 isotropic gradient operator for image processing",
       talk at the Stanford Artificial Intelligence Project, 1968.

    Examples
    --------
    >>> print(sobel_x())
    [[-1.  0.  1.]
     [-2.  0.  2.]
     [-1.  0.  1.]]
    """
    return _fixed([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])


def sobel_y() -> np.ndarray:
    """Sobel derivative along ``y``: positive where intensity increases downwards.

    The transpose of :func:`sobel_x`.

    Returns
    -------
    ndarray, shape (3, 3), float64
        ``[[-1, -2, -1], [0, 0, 0], [1, 2, 1]]``; sums to 0.

    References
    ----------
    .. [1] I. Sobel and G. Feldman, "A 3x3 isotropic gradient operator for image processing",
       talk at the Stanford Artificial Intelligence Project, 1968.

    Examples
    --------
    >>> print(sobel_y())
    [[-1. -2. -1.]
     [ 0.  0.  0.]
     [ 1.  2.  1.]]
    """
    return sobel_x().T.copy()


def prewitt_x() -> np.ndarray:
    """Prewitt derivative along ``x``: positive where intensity increases to the right.

    ``[1, 1, 1]^T (mean down the rows) x [-1, 0, 1] (central difference along x)``.

    Returns
    -------
    ndarray, shape (3, 3), float64
        ``[[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]``; sums to 0.

    References
    ----------
    .. [1] J. M. S. Prewitt, "Object enhancement and extraction", in *Picture Processing and
       Psychopictorics*, B. S. Lipkin and A. Rosenfeld (eds.), Academic Press, 1970, pp. 75-149.

    Examples
    --------
    >>> print(prewitt_x())
    [[-1.  0.  1.]
     [-1.  0.  1.]
     [-1.  0.  1.]]
    """
    return _fixed([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]])


def prewitt_y() -> np.ndarray:
    """Prewitt derivative along ``y``: positive where intensity increases downwards.

    The transpose of :func:`prewitt_x`.

    Returns
    -------
    ndarray, shape (3, 3), float64
        ``[[-1, -1, -1], [0, 0, 0], [1, 1, 1]]``; sums to 0.

    References
    ----------
    .. [1] J. M. S. Prewitt, "Object enhancement and extraction", in *Picture Processing and
       Psychopictorics*, Academic Press, 1970, pp. 75-149.

    Examples
    --------
    >>> print(prewitt_y())
    [[-1. -1. -1.]
     [ 0.  0.  0.]
     [ 1.  1.  1.]]
    """
    return prewitt_x().T.copy()


def scharr_x() -> np.ndarray:
    """Scharr derivative along ``x``: Sobel's layout with weights 3, 10, 3.

    ``[3, 10, 3]^T x [-1, 0, 1]``; the smoothing weights are chosen so that the gradient
    direction is more nearly rotation-invariant than Sobel's (the version OpenCV uses).

    Returns
    -------
    ndarray, shape (3, 3), float64
        ``[[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]]``; sums to 0.

    References
    ----------
    .. [1] H. Scharr, "Optimale Operatoren in der digitalen Bildverarbeitung", PhD thesis,
       Heidelberg University, 2000.

    Examples
    --------
    >>> print(scharr_x())
    [[ -3.   0.   3.]
     [-10.   0.  10.]
     [ -3.   0.   3.]]
    """
    return _fixed([[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]])


def scharr_y() -> np.ndarray:
    """Scharr derivative along ``y``: positive where intensity increases downwards.

    The transpose of :func:`scharr_x`.

    Returns
    -------
    ndarray, shape (3, 3), float64
        ``[[-3, -10, -3], [0, 0, 0], [3, 10, 3]]``; sums to 0.

    References
    ----------
    .. [1] H. Scharr, "Optimale Operatoren in der digitalen Bildverarbeitung", PhD thesis,
       Heidelberg University, 2000.

    Examples
    --------
    >>> print(scharr_y())
    [[ -3. -10.  -3.]
     [  0.   0.   0.]
     [  3.  10.   3.]]
    """
    return scharr_x().T.copy()


def horizontal_edge() -> np.ndarray:
    """Horizontal edge detector: positive where the image is brighter above than below.

    A Prewitt mask with the opposite sign to :func:`prewitt_y`: it responds positively to a
    horizontal edge whose upper side is brighter (intensity decreasing downwards) and
    negatively to one whose lower side is brighter.

    Returns
    -------
    ndarray, shape (3, 3), float64
        ``[[1, 1, 1], [0, 0, 0], [-1, -1, -1]]``; sums to 0. Equal to ``-prewitt_y()``.

    References
    ----------
    .. [1] J. M. S. Prewitt, "Object enhancement and extraction", in *Picture Processing and
       Psychopictorics*, Academic Press, 1970, pp. 75-149.

    Examples
    --------
    >>> print(horizontal_edge())
    [[ 1.  1.  1.]
     [ 0.  0.  0.]
     [-1. -1. -1.]]
    """
    return _fixed([[1, 1, 1], [0, 0, 0], [-1, -1, -1]])


def vertical_edge() -> np.ndarray:
    """Vertical edge detector: positive where the image is brighter on the left than the right.

    The transpose of :func:`horizontal_edge`, and ``-prewitt_x()``: it responds positively to a
    vertical edge whose left side is brighter (intensity decreasing to the right).

    Returns
    -------
    ndarray, shape (3, 3), float64
        ``[[1, 0, -1], [1, 0, -1], [1, 0, -1]]``; sums to 0.

    References
    ----------
    .. [1] J. M. S. Prewitt, "Object enhancement and extraction", in *Picture Processing and
       Psychopictorics*, Academic Press, 1970, pp. 75-149.

    Examples
    --------
    >>> print(vertical_edge())
    [[ 1.  0. -1.]
     [ 1.  0. -1.]
     [ 1.  0. -1.]]
    """
    return horizontal_edge().T.copy()


# --------------------------------------------------------------------------- second derivatives

def laplacian(neighbours: int = 4) -> np.ndarray:
    """Discrete Laplacian ``d2/dx2 + d2/dy2`` (centre negative).

    Parameters
    ----------
    neighbours : {4, 8}, optional
        4: the sum of the two axis second differences, ``[[0, 1, 0], [1, -4, 1], [0, 1, 0]]``;
        8: the diagonals too, ``[[1, 1, 1], [1, -8, 1], [1, 1, 1]]``. Default 4.

    Returns
    -------
    ndarray, shape (3, 3), float64
        Sums to 0; negative on a bright spot, positive on a dark one.

    Raises
    ------
    TypeError, ValueError
        If ``neighbours`` is not 4 or 8.

    References
    ----------
    .. [1] R. C. Gonzalez and R. E. Woods, *Digital Image Processing*, 4th ed., 2018 (the
       Laplacian for image sharpening).

    Examples
    --------
    >>> print(laplacian())
    [[ 0.  1.  0.]
     [ 1. -4.  1.]
     [ 0.  1.  0.]]
    >>> print(laplacian(8))
    [[ 1.  1.  1.]
     [ 1. -8.  1.]
     [ 1.  1.  1.]]
    """
    neighbours = check_int(neighbours, "neighbours", "laplacian")
    if neighbours == 4:
        return _fixed([[0, 1, 0], [1, -4, 1], [0, 1, 0]])
    if neighbours == 8:
        return _fixed([[1, 1, 1], [1, -8, 1], [1, 1, 1]])
    raise ValueError(f"laplacian: neighbours expects 4 or 8, but got {neighbours}")


def laplacian_of_gaussian(sigma: float | tuple[float, float], size: int | tuple[int, int] | None = None) -> np.ndarray:
    """Laplacian of Gaussian (Marr-Hildreth), corrected to sum exactly 0.

    ``LoG(x, y) = G(x, y) * ((x**2 / sigma_x**4 - 1 / sigma_x**2) + (y**2 / sigma_y**4 - 1 / sigma_y**2))``
    with ``G`` the sampled Gaussian of :func:`gaussian` (normalised to sum 1), which is what
    ``scipy.ndimage.gaussian_laplace`` applies. Truncation leaves a small non-zero sum, so the
    mean is then subtracted from every tap: the kernel ignores flat regions exactly.

    Parameters
    ----------
    sigma : float or (float, float)
        Standard deviation in pixels, positive; a pair means ``(sigma_y, sigma_x)``.
    size : int or (int, int), optional
        Odd kernel size. Default ``2 * ceil(3 * sigma) + 1`` per axis, as :func:`gaussian`.

    Returns
    -------
    ndarray, shape (h, w), float64
        Negative centre and positive surround (the sign of :func:`laplacian`); sums to 0.

    Raises
    ------
    TypeError, ValueError
        If ``sigma`` is not positive or ``size`` not odd and positive.

    References
    ----------
    .. [1] D. Marr and E. Hildreth, "Theory of edge detection", *Proc. R. Soc. Lond. B* 207,
       187-217, 1980.

    Examples
    --------
    >>> k = laplacian_of_gaussian(1.0)
    >>> k.shape, abs(float(k.sum())) < 1e-15, bool(k[3, 3] < 0)
    ((7, 7), True, True)
    """
    sy, sx = _sigma_pair(sigma, "laplacian_of_gaussian")
    h, w = _size_for((sy, sx), size, "laplacian_of_gaussian")
    y, x = _offsets(h)[:, None], _offsets(w)[None, :]
    curvature = (x**2 / sx**4 - 1 / sx**2) + (y**2 / sy**4 - 1 / sy**2)
    kernel = np.outer(_gaussian_1d(sy, h), _gaussian_1d(sx, w)) * curvature
    return kernel - kernel.mean()


def difference_of_gaussians(sigma_low: float | tuple[float, float], sigma_high: float | tuple[float, float],
                            size: int | tuple[int, int] | None = None) -> np.ndarray:
    """Difference of Gaussians: ``gaussian(sigma_low) - gaussian(sigma_high)``, a band-pass.

    The narrow Gaussian minus the wide one keeps the frequencies that the wide one removes and
    the narrow one passes. With ``sigma_high / sigma_low`` about 1.6 it approximates
    ``-laplacian_of_gaussian`` (positive centre, negative surround) [1]_; SIFT builds its scale
    space from such differences [2]_.

    Parameters
    ----------
    sigma_low, sigma_high : float or (float, float)
        Standard deviations in pixels, ``0 < sigma_low < sigma_high`` (per axis for pairs).
    size : int or (int, int), optional
        Odd kernel size for both Gaussians. Default that of ``gaussian(sigma_high)``,
        ``2 * ceil(3 * sigma_high) + 1``.

    Returns
    -------
    ndarray, shape (h, w), float64
        Sums to 0 (up to rounding, each Gaussian summing to 1).

    Raises
    ------
    TypeError, ValueError
        If a sigma is not positive, ``sigma_low >= sigma_high``, or ``size`` not odd and positive.

    References
    ----------
    .. [1] D. Marr and E. Hildreth, "Theory of edge detection", *Proc. R. Soc. Lond. B* 207,
       187-217, 1980.
    .. [2] D. G. Lowe, "Distinctive image features from scale-invariant keypoints",
       *International Journal of Computer Vision* 60(2), 91-110, 2004.

    Examples
    --------
    >>> k = difference_of_gaussians(1.0, 1.6)
    >>> k.shape, abs(float(k.sum())) < 1e-15, bool(k[5, 5] > 0)
    ((11, 11), True, True)
    """
    fn = "difference_of_gaussians"
    low, high = _sigma_pair(sigma_low, fn, "sigma_low"), _sigma_pair(sigma_high, fn, "sigma_high")
    if not all(a < b for a, b in zip(low, high)):
        raise ValueError(f"{fn}: sigma_low expects a value below sigma_high={sigma_high!r}, but got {sigma_low!r}")
    shape = _size_for(high, size, fn, "sigma_high")
    return gaussian(low, shape) - gaussian(high, shape)


# --------------------------------------------------------------------------- enhancement

def sharpen(amount: float = 1.0) -> np.ndarray:
    """3x3 sharpening: the image plus ``amount`` times its difference from a 3x3 mean.

    ``sharpen(a) = identity() + a * (identity() - box(3)) = (1 + a) * identity() - a * box(3)``,
    i.e. unsharp masking with a box blur. ``sharpen(1)`` has ``17/9`` at the centre and ``-1/9``
    around it. (The other common "sharpen" mask, ``[[0, -1, 0], [-1, 5, -1], [0, -1, 0]]``, is
    ``identity() - laplacian()``.)

    Parameters
    ----------
    amount : float, optional
        Strength, non-negative; 0 gives the identity. Default 1.

    Returns
    -------
    ndarray, shape (3, 3), float64
        Sums to 1: flat regions keep their brightness.

    Raises
    ------
    TypeError, ValueError
        If ``amount`` is not a non-negative number.

    References
    ----------
    .. [1] R. C. Gonzalez and R. E. Woods, *Digital Image Processing*, 4th ed., 2018 (unsharp
       masking and highboost filtering).

    Examples
    --------
    >>> print(sharpen(1.0) * 9)
    [[-1. -1. -1.]
     [-1. 17. -1.]
     [-1. -1. -1.]]
    """
    amount = _non_negative(amount, "amount", "sharpen")
    return (1.0 + amount) * identity() - amount * box(3)


def unsharp_mask(sigma: float | tuple[float, float] = 1.0, amount: float = 1.0,
                 size: int | tuple[int, int] | None = None) -> np.ndarray:
    """Unsharp masking as one kernel: ``(1 + amount) * identity - amount * gaussian(sigma)``.

    The image plus ``amount`` times the detail that a Gaussian blur removes
    (``image - blurred``).

    Parameters
    ----------
    sigma : float or (float, float), optional
        Standard deviation of the blur in pixels, positive. Default 1.
    amount : float, optional
        Strength, non-negative; 0 gives the identity. Default 1.
    size : int or (int, int), optional
        Odd kernel size. Default that of ``gaussian(sigma)``, ``2 * ceil(3 * sigma) + 1``.

    Returns
    -------
    ndarray, shape (h, w), float64
        Sums to 1.

    Raises
    ------
    TypeError, ValueError
        If ``sigma`` is not positive, ``amount`` negative or ``size`` not odd and positive.

    References
    ----------
    .. [1] R. C. Gonzalez and R. E. Woods, *Digital Image Processing*, 4th ed., 2018 (unsharp
       masking and highboost filtering).

    Examples
    --------
    >>> k = unsharp_mask(sigma=1.0, amount=0.5)
    >>> k.shape, round(float(k.sum()), 12)
    ((7, 7), 1.0)
    """
    fn = "unsharp_mask"
    pair = _sigma_pair(sigma, fn)
    blur = gaussian(pair, _size_for(pair, size, fn))
    amount = _non_negative(amount, "amount", fn)
    centre = np.zeros_like(blur)
    centre[blur.shape[0] // 2, blur.shape[1] // 2] = 1.0
    return (1.0 + amount) * centre - amount * blur


def emboss(angle: float = 135.0) -> np.ndarray:
    """Emboss (relief): the identity plus a directional derivative towards a light source.

    ``emboss(a) = identity() - (c_x * prewitt_x() + c_y * prewitt_y())`` where ``(c_x, c_y)``
    points towards the light, in ``(x, y)`` with ``y`` down, scaled so that
    ``max(|c_x|, |c_y|) = 1``. Slopes facing the light come out brighter, slopes facing away
    darker, flat regions unchanged; the default is the classic
    ``[[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]`` (light from the upper left).

    Parameters
    ----------
    angle : float, optional
        Direction the light comes from, in degrees **counter-clockwise** from ``+x`` as seen on
        screen, the convention of image editors: 0 right, 90 top, 135 upper left, 180 left.
        This is the one place in convscope that turns counter-clockwise: the derivative part of
        ``emboss(a)`` points along ``(-a) mod 360`` in the library's clockwise convention, so
        :func:`convscope.filters.describe.describe` reports it near orientation
        ``(-a) mod 180`` (exactly at multiples of 45 degrees; 45 for the default). Default 135.

    Returns
    -------
    ndarray, shape (3, 3), float64
        Sums to 1.

    Raises
    ------
    TypeError, ValueError
        If ``angle`` is not a finite number.

    References
    ----------
    .. [1] J. C. Russ, *The Image Processing Handbook*, 6th ed., CRC Press, 2011 (directional
       derivatives added to the image for an embossed look).

    Examples
    --------
    >>> print(emboss())
    [[-2. -1.  0.]
     [-1.  1.  1.]
     [ 0.  1.  2.]]
    >>> print(emboss(0))
    [[ 1.  0. -1.]
     [ 1.  1. -1.]
     [ 1.  0. -1.]]
    """
    angle = _real(angle, "angle", "emboss", "a finite number of degrees")
    cos, sin = _cos_sin(angle)
    towards_light = np.array([cos, -sin])            # (x, y) with y down
    cx, cy = np.round(towards_light / np.abs(towards_light).max(), 12) + 0.0
    return identity() - (cx * prewitt_x() + cy * prewitt_y())


# --------------------------------------------------------------------------- lines and texture

def horizontal_line() -> np.ndarray:
    """Horizontal line detector: positive on a bright horizontal line one pixel thick.

    Three rows of second differences across the line: the middle row weighs 2, the rows above
    and below -1.

    Returns
    -------
    ndarray, shape (3, 3), float64
        ``[[-1, -1, -1], [2, 2, 2], [-1, -1, -1]]``; sums to 0. Negative on a dark line.

    References
    ----------
    .. [1] R. C. Gonzalez and R. E. Woods, *Digital Image Processing*, 4th ed., 2018 (line
       detection masks).

    Examples
    --------
    >>> print(horizontal_line())
    [[-1. -1. -1.]
     [ 2.  2.  2.]
     [-1. -1. -1.]]
    """
    return _fixed([[-1, -1, -1], [2, 2, 2], [-1, -1, -1]])


def vertical_line() -> np.ndarray:
    """Vertical line detector: positive on a bright vertical line one pixel thick.

    The transpose of :func:`horizontal_line`.

    Returns
    -------
    ndarray, shape (3, 3), float64
        ``[[-1, 2, -1], [-1, 2, -1], [-1, 2, -1]]``; sums to 0.

    References
    ----------
    .. [1] R. C. Gonzalez and R. E. Woods, *Digital Image Processing*, 4th ed., 2018 (line
       detection masks).

    Examples
    --------
    >>> print(vertical_line())
    [[-1.  2. -1.]
     [-1.  2. -1.]
     [-1.  2. -1.]]
    """
    return horizontal_line().T.copy()


def diagonal_line_45() -> np.ndarray:
    """Diagonal line detector for lines running at 45 degrees: top-left to bottom-right.

    45 degrees in convscope's convention (from ``+x`` towards ``+y``, down), i.e. a ``\\``
    line on screen, the direction of ``motion_blur(n, angle=45)``. Textbooks that measure
    angles with ``y`` up call this the -45 degree mask.

    Returns
    -------
    ndarray, shape (3, 3), float64
        ``[[2, -1, -1], [-1, 2, -1], [-1, -1, 2]]``; sums to 0.

    References
    ----------
    .. [1] R. C. Gonzalez and R. E. Woods, *Digital Image Processing*, 4th ed., 2018 (line
       detection masks).

    Examples
    --------
    >>> print(diagonal_line_45())
    [[ 2. -1. -1.]
     [-1.  2. -1.]
     [-1. -1.  2.]]
    """
    return 3.0 * np.eye(3) - 1.0


def diagonal_line_135() -> np.ndarray:
    """Diagonal line detector for lines running at 135 degrees: top-right to bottom-left.

    135 degrees in convscope's convention (from ``+x`` towards ``+y``, down), i.e. a ``/``
    line on screen. Textbooks that measure angles with ``y`` up call this the +45 degree mask.

    Returns
    -------
    ndarray, shape (3, 3), float64
        ``[[-1, -1, 2], [-1, 2, -1], [2, -1, -1]]``; sums to 0.

    References
    ----------
    .. [1] R. C. Gonzalez and R. E. Woods, *Digital Image Processing*, 4th ed., 2018 (line
       detection masks).

    Examples
    --------
    >>> print(diagonal_line_135())
    [[-1. -1.  2.]
     [-1.  2. -1.]
     [ 2. -1. -1.]]
    """
    return diagonal_line_45()[:, ::-1].copy()


def gabor(sigma: float, theta: float, wavelength: float, gamma: float = 0.5, psi: float = 0.0,
          size: int | tuple[int, int] | None = None) -> np.ndarray:
    """Real part of a Gabor filter: a cosine wave under a Gaussian envelope.

    ``g(x, y) = exp(-(x'**2 + gamma**2 * y'**2) / (2 * sigma**2)) * cos(2 * pi * x' / wavelength + psi)``

    with ``x' = x cos(theta) + y sin(theta)`` (along the wave vector) and
    ``y' = -x sin(theta) + y cos(theta)`` (along the stripes), ``x`` right and ``y`` down from the
    centre tap. The envelope peaks at 1 (no normalisation, as ``cv2.getGaborKernel``); for
    ``psi = 0`` the result equals OpenCV's with ``theta`` in radians.

    Parameters
    ----------
    sigma : float
        Standard deviation of the envelope along the wave vector, in pixels, positive.
    theta : float
        Direction of the wave vector in degrees from ``+x`` towards ``+y`` (down): 0 gives
        vertical stripes (responds to changes along ``x``), 90 horizontal stripes.
    wavelength : float
        Period of the cosine in pixels, positive (2 is the Nyquist limit).
    gamma : float, optional
        Spatial aspect ratio, positive: the envelope's standard deviation along the stripes is
        ``sigma / gamma``. Default 0.5 (elongated along the stripes).
    psi : float, optional
        Phase offset in radians: 0 is even (a bright centre line), ``pi / 2`` odd (an edge).
        Default 0.
    size : int or (int, int), optional
        Odd kernel size. Default square, ``2 * ceil(3 * max(sigma, sigma / gamma)) + 1``: 3
        standard deviations of the envelope's longer axis, whatever ``theta``.

    Returns
    -------
    ndarray, shape (h, w), float64
        Sums to a small number (the envelope's response at frequency 0), not exactly 0.

    Raises
    ------
    TypeError, ValueError
        If ``sigma``, ``wavelength`` or ``gamma`` is not positive, ``theta`` or ``psi`` not finite,
        or ``size`` not odd and positive.

    References
    ----------
    .. [1] D. Gabor, "Theory of communication", *J. IEE* 93(26), 429-457, 1946.
    .. [2] J. G. Daugman, "Uncertainty relation for resolution in space, spatial frequency, and
       orientation optimized by two-dimensional visual cortical filters", *J. Opt. Soc. Am. A*
       2(7), 1160-1169, 1985.

    Examples
    --------
    >>> k = gabor(sigma=2.0, theta=0.0, wavelength=4.0)
    >>> k.shape
    (25, 25)
    >>> print(k[12, 10:15].round(3))
    [-0.607  0.     1.     0.    -0.607]
    """
    fn = "gabor"
    sigma = _scale(sigma, "sigma", fn)
    theta = _real(theta, "theta", fn, "a finite number of degrees")
    wavelength = _scale(wavelength, "wavelength", fn)
    gamma = _positive(gamma, "gamma", fn)
    psi = _real(psi, "psi", fn, "a finite number of radians")
    if size is None:
        extent = 3.0 * max(sigma, sigma / gamma)           # may be inf for a tiny gamma
        if 2 * extent + 1 > math.sqrt(MAX_ELEMENTS):
            _check_taps(2 * extent + 1, 2 * extent + 1, fn, f"sigma={sigma!r} with gamma={gamma!r} (no size given)")
        n = 2 * math.ceil(extent) + 1
        h, w = n, n
    else:
        h, w = _odd_size(size, fn)
    cos, sin = _cos_sin(theta)
    y, x = _offsets(h)[:, None], _offsets(w)[None, :]
    along, across = x * cos + y * sin, -x * sin + y * cos
    with np.errstate(over="ignore", under="ignore"):       # a huge gamma: exp(-inf) = 0 is right
        envelope = np.exp(-(along**2 + (gamma * across) ** 2) / (2.0 * sigma**2))
    return envelope * np.cos(2.0 * np.pi * along / wavelength + psi)


# --------------------------------------------------------------------------- registry

# name -> (builder, one-line description, defaults get() supplies for required arguments)
_REGISTRY: dict[str, tuple[Callable[..., np.ndarray], str, dict[str, Any]]] = {
    "box": (box, "mean of a size x size window (blur, sums to 1)", {}),
    "diagonal_line_135": (diagonal_line_135, "bright lines running top-right to bottom-left (sums to 0)", {}),
    "diagonal_line_45": (diagonal_line_45, "bright lines running top-left to bottom-right (sums to 0)", {}),
    "difference_of_gaussians": (difference_of_gaussians, "narrow minus wide Gaussian, a band-pass (sums to 0)",
                                {"sigma_low": 1.0, "sigma_high": 1.6}),
    "emboss": (emboss, "relief lit from an angle: identity plus a directional derivative (sums to 1)", {}),
    "gabor": (gabor, "cosine wave under a Gaussian envelope, tuned to one orientation and frequency",
              {"sigma": 2.0, "theta": 0.0, "wavelength": 4.0}),
    "gaussian": (gaussian, "Gaussian blur, size 2 * ceil(3 sigma) + 1 (sums to 1)", {"sigma": 1.0}),
    "horizontal_edge": (horizontal_edge, "horizontal edges, positive when brighter above (sums to 0)", {}),
    "horizontal_line": (horizontal_line, "bright horizontal lines one pixel thick (sums to 0)", {}),
    "identity": (identity, "leaves the image unchanged (sums to 1)", {}),
    "laplacian": (laplacian, "second derivative d2/dx2 + d2/dy2, 4 or 8 neighbours (sums to 0)", {}),
    "laplacian_of_gaussian": (laplacian_of_gaussian, "Laplacian of a Gaussian, blobs and edges (sums to 0)",
                              {"sigma": 1.0}),
    "motion_blur": (motion_blur, "blur along a line of given length and angle (sums to 1)", {"length": 5}),
    "prewitt_x": (prewitt_x, "derivative along x, positive where brightness grows rightwards (sums to 0)", {}),
    "prewitt_y": (prewitt_y, "derivative along y, positive where brightness grows downwards (sums to 0)", {}),
    "scharr_x": (scharr_x, "rotation-accurate derivative along x, weights 3-10-3 (sums to 0)", {}),
    "scharr_y": (scharr_y, "rotation-accurate derivative along y, weights 3-10-3 (sums to 0)", {}),
    "sharpen": (sharpen, "image plus amount x (image - 3x3 mean) (sums to 1)", {}),
    "sobel_x": (sobel_x, "smoothed derivative along x, weights 1-2-1 (sums to 0)", {}),
    "sobel_y": (sobel_y, "smoothed derivative along y, weights 1-2-1 (sums to 0)", {}),
    "unsharp_mask": (unsharp_mask, "image plus amount x (image - Gaussian blur) (sums to 1)", {}),
    "vertical_edge": (vertical_edge, "vertical edges, positive when brighter on the left (sums to 0)", {}),
    "vertical_line": (vertical_line, "bright vertical lines one pixel thick (sums to 0)", {}),
}


def available() -> dict[str, str]:
    """The registry: every kernel name :func:`get` accepts, with a one-line description.

    Returns
    -------
    dict of str to str
        Name -> description, sorted by name.

    Examples
    --------
    >>> names = available()
    >>> "sobel_x" in names, list(names) == sorted(names)
    (True, True)
    """
    return {name: _REGISTRY[name][1] for name in sorted(_REGISTRY)}


def get(name: str, **kwargs: Any) -> np.ndarray:
    """Build a kernel by its registry name, passing ``kwargs`` to its builder.

    Builders with required arguments get these defaults here (and only here), so that every
    name works alone: ``gaussian`` and ``laplacian_of_gaussian`` ``sigma=1``;
    ``difference_of_gaussians`` ``sigma_low=1, sigma_high=1.6`` (Marr and Hildreth's ratio);
    ``motion_blur`` ``length=5``; ``gabor`` ``sigma=2, theta=0, wavelength=4``. Keyword arguments
    override them.

    Parameters
    ----------
    name : str
        One of the names of :func:`available`.
    **kwargs
        Keyword arguments of that builder.

    Returns
    -------
    ndarray, float64
        A new kernel.

    Raises
    ------
    ValueError
        If ``name`` is unknown (the message lists the names).
    TypeError
        If ``name`` is not a string or ``kwargs`` holds an argument the builder does not take;
        the builder's own errors for bad values.

    Examples
    --------
    >>> print(get("laplacian", neighbours=8))
    [[ 1.  1.  1.]
     [ 1. -8.  1.]
     [ 1.  1.  1.]]
    >>> get("gaussian").shape, get("gaussian", sigma=2).shape
    ((7, 7), (13, 13))
    """
    if not isinstance(name, str):
        raise TypeError(f"filters.get: name expects a string, but got {name!r} ({type(name).__name__})")
    if name not in _REGISTRY:
        raise ValueError(f"filters.get: name expects one of {', '.join(sorted(_REGISTRY))}, but got {name!r}")
    builder, _, defaults = _REGISTRY[name]
    arguments = {**defaults, **kwargs}
    parameters = inspect.signature(builder).parameters
    unknown = sorted(set(arguments) - set(parameters))
    if unknown:
        accepted = ", ".join(parameters) or "no arguments"
        raise TypeError(f"filters.get: {name} accepts {accepted}, but got unexpected keyword argument(s) "
                        f"{', '.join(unknown)}")
    return builder(**arguments)
