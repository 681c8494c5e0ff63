"""Enhancement kernels, which sum to 1: sharpen, unsharp mask and emboss.

Conventions and bounds are those of :mod:`convscope.filters.kernels`.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_non_negative, check_real
from ._kernel_args import DEGREES, _cos_sin, _sigma_pair, _size_for
from .kernels_blur import box, gaussian, identity
from .kernels_edges import prewitt_x, prewitt_y

__all__ = [
    "sharpen", "unsharp_mask", "emboss",
]


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
    amount = check_non_negative(amount, "amount", "sharpen")
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
    amount = check_non_negative(amount, "amount", fn)
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
    angle = check_real(angle, "angle", "emboss", what=DEGREES)
    cos, sin = _cos_sin(angle)
    towards_light = np.array([cos, -sin])            # (x, y) with y down
    cx, cy = np.round(towards_light / np.abs(towards_light).max(), 12) + 0.0
    return identity() - (cx * prewitt_x() + cy * prewitt_y())
