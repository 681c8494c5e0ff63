"""Line detectors (horizontal, vertical, the two diagonals; sum 0) and the Gabor texture filter.

Conventions and bounds are those of :mod:`convscope.filters.kernels`.
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import check_positive, check_real
from ._kernel_args import DEGREES, MAX_ELEMENTS, _check_taps, _cos_sin, _fixed, _odd_size, _offsets, _scale

__all__ = [
    "horizontal_line", "vertical_line", "diagonal_line_45", "diagonal_line_135", "gabor",
]


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
    theta = check_real(theta, "theta", fn, what=DEGREES)
    wavelength = _scale(wavelength, "wavelength", fn)
    gamma = check_positive(gamma, "gamma", fn)
    psi = check_real(psi, "psi", fn, what="a finite number of radians")
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
