"""Boundary handling of the image-filter engine: padding planes with a boundary mode, once.

The image is padded straight into a contiguous stack of planes ``(M, Hp, Wp)`` in the compute
dtype (:func:`_pad_planes`); :class:`_Padded` describes such planes lazily, so that a vertical
Toeplitz product can read the unpadded image in place and pad only the rows it needs.
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..ops.pad import source_index as _pad_source_index
from ._threads import _for_each, _split

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

