"""Separable kernels: :func:`separable_factors`, the rank-1 test and split of a 2-D kernel.

The test and the algorithm that filters with the factors live in the convolution engine,
:mod:`convscope.ops.algorithms.separable`; this module keeps the public import path
(``convscope.filters.separable.separable_factors``, also ``convscope.filters.convolve``'s).
"""

from __future__ import annotations

from ..ops.algorithms.separable import separable_factors

__all__ = ["separable_factors"]
