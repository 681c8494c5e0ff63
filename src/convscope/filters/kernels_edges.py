"""Derivative kernels, which sum to 0: Sobel, Prewitt and Scharr first derivatives, edge masks,
the Laplacian, the Laplacian of Gaussian and the difference of Gaussians.

Conventions and bounds are those of :mod:`convscope.filters.kernels`.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_choice, check_int
from ._kernel_args import _fixed, _gaussian_1d, _offsets, _sigma_pair, _size_for
from .kernels_blur import gaussian

__all__ = [
    "sobel_x", "sobel_y", "prewitt_x", "prewitt_y", "scharr_x", "scharr_y", "horizontal_edge",
    "vertical_edge", "laplacian", "laplacian_of_gaussian", "difference_of_gaussians",
]


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
    neighbours = check_choice(check_int(neighbours, "neighbours", "laplacian"), "neighbours", "laplacian", (4, 8),
                              expected="4 or 8")
    if neighbours == 4:
        return _fixed([[0, 1, 0], [1, -4, 1], [0, 1, 0]])
    return _fixed([[1, 1, 1], [1, -8, 1], [1, 1, 1]])


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
