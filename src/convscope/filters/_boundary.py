"""Boundary handling of the filter adapters: the filters' boundary names for the engine's padding modes.

The image is either padded once into a contiguous stack of planes ``(M, Hp, Wp)`` in the
compute dtype (:func:`_pad_planes`, the engine's :func:`~convscope.ops.algorithms._common.pad_planes`),
or handed to the engine unpadded with the mode (:data:`_PAD_MODES`), which an algorithm may read
through index maps instead of a copy. The modes are those of :func:`convscope.ops.pad.source_index`.
"""

from __future__ import annotations

import numpy as np

from ..ops.algorithms._common import pad_planes

#: The filters' boundary names -> the engine's padding modes ('fill' is the constant fill value).
_PAD_MODES = {"reflect": "reflect", "symm": "symmetric", "replicate": "replicate", "wrap": "circular",
              "fill": "constant"}


def _pad_planes(src: np.ndarray, pads: tuple[tuple[int, int], tuple[int, int]], boundary: str,
                fillvalue, dtype: np.dtype) -> np.ndarray:
    """Pad the last two axes of ``src`` with ``boundary`` into a C-contiguous scratch array of
    ``dtype`` (see :func:`~convscope.ops.algorithms._common.pad_planes`): the caller must not
    let it escape."""
    return pad_planes(src, pads, _PAD_MODES[boundary], fillvalue, dtype, slot="filters.pad")
