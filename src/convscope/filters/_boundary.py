"""Boundary handling of the filter adapters: padding images into planes with a boundary mode, once.

The image is padded straight into a contiguous stack of planes ``(M, Hp, Wp)`` in the compute
dtype (:func:`_pad_planes`), which the engine (:mod:`convscope.ops.algorithms`) then correlates
'valid' with zero padding. The boundary modes are those of :func:`convscope.ops.pad.source_index`
under the filters' names.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..ops.pad import source_index

#: The filters' boundary names -> :func:`convscope.ops.pad.source_index`'s modes ('fill' is the
#: constant fill value).
_PAD_MODES = {"reflect": "reflect", "symm": "symmetric", "replicate": "replicate", "wrap": "circular"}


def _source_index(boundary: str, n: int, before: int, after: int) -> np.ndarray:
    """For each position of an axis padded by ``(before, after)``, the index it copies.

    ``reflect`` mirrors without repeating the edge (``d c b | a b c d | c b a``), ``symm``
    mirrors with it (``b a | a b c d | d c``), ``replicate`` repeats the edge and ``wrap`` is
    periodic; all of them for pads of any length (the pattern repeats).
    """
    return source_index(_PAD_MODES[boundary], n, before, after)


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

    backend.parallel_for(band, backend.split(h, 4 * backend.get_num_threads()), out.size)
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
