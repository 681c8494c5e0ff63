"""Classic filters and image filtering, on the same conventions as the CNN layers.

- Kernels: named builders with references (``sobel_x()``, ``gaussian(sigma)``, ``gabor(...)``...),
  a registry (``available()``: name -> one-line description; ``get(name, **kwargs)``).
- ``convolve2d`` / ``correlate2d``: SciPy's exact semantics (modes full/same/valid, boundaries
  fill/wrap/symm). ``apply(image, kernel, ...)``: cross-correlation of grayscale, colour or batched
  images, per channel or with a full C-channel kernel; the engine picks separable passes, FFT or
  direct work, and the result does not depend on the choice beyond float rounding.
- ``describe(kernel)``: what a kernel does (gain, separability, symmetry, pass band, orientation,
  nearest named kernel), for a designed or a learned filter.
- ``to_display`` and ``gradient``: display scaling and edge magnitude/orientation.

>>> from convscope import filters
>>> print(filters.describe(filters.sobel_x()))   # doctest: +ELLIPSIS
3x3 kernel...
"""

from .convolve import apply, convolve2d, correlate2d
from .describe import KernelDescription, describe
from .display import gradient, luminance, to_display
from .kernels import (available, box, diagonal_line_45, diagonal_line_135, difference_of_gaussians, emboss, gabor,
                      gaussian, get, horizontal_edge, horizontal_line, identity, laplacian, laplacian_of_gaussian,
                      motion_blur, prewitt_x, prewitt_y, scharr_x, scharr_y, sharpen, sobel_x, sobel_y, unsharp_mask,
                      vertical_edge, vertical_line)

__all__ = [
    "apply", "convolve2d", "correlate2d", "describe", "KernelDescription", "to_display", "gradient", "luminance",
    "available", "get", "identity", "box", "gaussian", "sobel_x", "sobel_y", "prewitt_x", "prewitt_y", "scharr_x",
    "scharr_y", "laplacian", "laplacian_of_gaussian", "difference_of_gaussians", "sharpen", "unsharp_mask", "emboss",
    "motion_blur", "gabor", "horizontal_edge", "vertical_edge", "horizontal_line", "vertical_line",
    "diagonal_line_45", "diagonal_line_135",
]
