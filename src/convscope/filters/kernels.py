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
from typing import Any, Callable

import numpy as np

from .._validation import check_choice
from ._kernel_args import MAX_ELEMENTS, MAX_SCALE, MIN_SCALE
from .kernels_blur import box, gaussian, identity, motion_blur
from .kernels_edges import (difference_of_gaussians, horizontal_edge, laplacian, laplacian_of_gaussian, prewitt_x,
                            prewitt_y, scharr_x, scharr_y, sobel_x, sobel_y, vertical_edge)
from .kernels_enhance import emboss, sharpen, unsharp_mask
from .kernels_lines import diagonal_line_45, diagonal_line_135, gabor, horizontal_line, vertical_line

__all__ = [
    "identity", "box", "gaussian", "sobel_x", "sobel_y", "prewitt_x", "prewitt_y", "scharr_x",
    "scharr_y", "laplacian", "laplacian_of_gaussian", "difference_of_gaussians", "sharpen",
    "unsharp_mask", "emboss", "motion_blur", "gabor", "horizontal_edge", "vertical_edge",
    "horizontal_line", "vertical_line", "diagonal_line_45", "diagonal_line_135",
    "available", "get", "MAX_ELEMENTS", "MIN_SCALE", "MAX_SCALE",
]


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
    check_choice(name, "name", "filters.get", sorted(_REGISTRY), quote=False)
    builder, _, defaults = _REGISTRY[name]
    arguments = {**defaults, **kwargs}
    parameters = inspect.signature(builder).parameters
    unknown = sorted(set(arguments) - set(parameters))
    if unknown:
        accepted = ", ".join(parameters) or "no arguments"
        raise TypeError(f"filters.get: {name} accepts {accepted}, but got unexpected keyword argument(s) "
                        f"{', '.join(unknown)}")
    return builder(**arguments)
