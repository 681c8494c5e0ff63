"""Blur kernels: identity, box (mean), Gaussian and linear motion blur; each sums to 1.

Conventions (rows down, columns right, angles clockwise from ``+x``) and bounds are those of
:mod:`convscope.filters.kernels`, which lists every kernel and finds them by name.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_int, check_real
from ._kernel_args import DEGREES, MAX_ELEMENTS, _check_taps, _cos_sin, _gaussian_1d, _line_radius, _odd_size, _offsets, _sigma_pair, _size, _size_for

__all__ = [
    "identity", "box", "gaussian", "motion_blur",
]


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
    angle = check_real(angle, "angle", "motion_blur", what=DEGREES)
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
