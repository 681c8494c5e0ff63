"""Resizing by interpolation, forward and backward, as pure array functions with PyTorch's exact
semantics (``torch.nn.functional.interpolate`` in modes nearest, linear, bilinear, trilinear).

Every op is N-d over the trailing spatial dims of ``x`` with shape ``(N, C, *spatial)``; the
callers in :mod:`convscope.nn.functional` validate, once, and nothing here checks its arguments.

Both modes are separable: output position ``o`` of a dim reads one input position (nearest) or a
weighted pair of neighbours (linear), and an N-d resize is the 1-D resize applied to one dim
after another. A dim's plan is a list of *taps* ``(index, weight)``, each an array over the
output positions:

- **nearest** (one tap, weight 1): ``index = min(floor(o * scale), size - 1)``, computed in
  float32 as PyTorch does (so ``scale = 1 / 3`` picks what PyTorch picks). For 2-D inputs
  PyTorch's kernel shortcuts ``out == size`` (a copy) and ``out == 2 * size`` (``o >> 1``) even
  when a scale factor would map differently; ``shortcuts=True`` reproduces that.
- **linear** (two taps): the source coordinate is ``scale * o`` with ``align_corners``, else
  ``max(scale * (o + 0.5) - 0.5, 0)`` (pixel centres aligned); ``i0 = min(floor(src), size - 1)``,
  ``i1 = i0 + 1`` except at the last position, ``lambda = clip(src - i0, 0, 1)``, and the taps
  are ``(i0, 1 - lambda)``, ``(i1, lambda)``. A dim whose size does not change is copied.
  Coordinates are computed in the input's precision (float32 or float64), as PyTorch's
  ``opmath`` type.

``scale`` is the source step per output step (PyTorch's ``area_pixel_compute_scale``):
``(size - 1) / (out - 1)`` with ``align_corners`` (0 when ``out == 1``), else ``1 / scale_factor``
when the caller gave a scale factor, else ``size / out``.

The backward is the adjoint of the same taps: each output gradient, times its tap's weight, is
added back to the input position the tap read. Because every index sequence is non-decreasing
(floor and float rounding are monotone), the additions are a segment sum
(:func:`numpy.add.reduceat`) over runs of equal indices, with no scatter loop.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

Ints = Sequence[int]
Scales = Sequence["float | None"]

__all__ = [
    "MODES",
    "output_size",
    "source_scale",
    "nearest_index",
    "linear_taps",
    "interpolate_forward",
    "interpolate_backward",
]

MODES = ("nearest", "linear")


def output_size(spatial: Ints, scale_factor: Sequence[float]) -> tuple[int, ...]:
    """Output sizes for scale factors: ``floor(size * scale)`` per dim, in double precision as
    PyTorch (``upsample::compute_output_size``); may be zero or negative (the caller rejects it).

    Examples
    --------
    >>> output_size((5, 7), (2.0, 0.5))
    (10, 3)
    >>> output_size((10,), (0.29,))                # floor(2.9000000000000004)
    (2,)
    """
    return tuple(math.floor(float(n) * float(s)) for n, s in zip(spatial, scale_factor))


def source_scale(size: int, out: int, align_corners: bool, scale_factor: float | None, dtype) -> np.floating:
    """Source step per output step, in ``dtype``, as PyTorch's ``area_pixel_compute_scale``.

    Parameters
    ----------
    size, out : input and output sizes of the dim
    align_corners : bool
        Corner pixels' centres map onto each other: ``(size - 1) / (out - 1)`` (0 if ``out == 1``).
    scale_factor : float or None
        The caller's scale factor; without ``align_corners`` the step is ``1 / scale_factor``
        (computed in double, then rounded to ``dtype``) and otherwise ``size / out``.
    dtype : the precision of the coordinate arithmetic (float32 or float64)

    Examples
    --------
    >>> float(source_scale(2, 4, False, None, np.float64))
    0.5
    >>> round(float(source_scale(2, 4, True, None, np.float64)), 4)       # (2 - 1) / (4 - 1)
    0.3333
    >>> s = source_scale(3, 7, False, 2.5, np.float32)                    # 1 / 2.5 in float32
    >>> s.dtype, float(s)
    (dtype('float32'), 0.4000000059604645)
    """
    t = np.dtype(dtype).type
    if align_corners:
        return t(size - 1) / t(out - 1) if out > 1 else t(0)
    if scale_factor is not None and scale_factor > 0:
        return t(1.0 / scale_factor)
    return t(size) / t(out)


def nearest_index(size: int, out: int, scale_factor: float | None, shortcuts: bool = False) -> np.ndarray:
    """Input position read by each output position in mode ``'nearest'`` (PyTorch's legacy
    nearest: ``min(floor(o * scale), size - 1)`` in float32).

    Parameters
    ----------
    size, out : input and output sizes of the dim
    scale_factor : float or None
        As in :func:`source_scale` (nearest never aligns corners).
    shortcuts : bool
        Copy when ``out == size`` and use ``o // 2`` when ``out == 2 * size``, as PyTorch's 2-D
        kernel does whatever the scale factor (its 1-D and 3-D kernels do not).

    Returns
    -------
    (out,) int64 array, non-decreasing, with values in ``[0, size)``.

    Examples
    --------
    >>> nearest_index(3, 7, None)
    array([0, 0, 0, 1, 1, 2, 2])
    """
    o = np.arange(out, dtype=np.int64)
    if shortcuts and out == size:
        return o
    if shortcuts and out == 2 * size:
        return o >> 1
    scale = source_scale(size, out, False, scale_factor, np.float32)
    src = np.floor(o.astype(np.float32) * scale).astype(np.int64)
    return np.minimum(src, size - 1)


def linear_taps(size: int, out: int, align_corners: bool, scale_factor: float | None,
                dtype) -> list[tuple[np.ndarray, np.ndarray]]:
    """The two taps ``[(i0, 1 - lambda), (i1, lambda)]`` of linear interpolation along one dim.

    Parameters
    ----------
    size, out : input and output sizes of the dim
    align_corners : bool
    scale_factor : float or None
    dtype : float32 or float64, the coordinate precision and the weights' dtype

    Returns
    -------
    list of two ``(index, weight)`` pairs of (out,) arrays; indices are non-decreasing.

    Examples
    --------
    >>> [(i.tolist(), w.tolist()) for i, w in linear_taps(2, 4, False, None, np.float64)]
    [([0, 0, 0, 1], [1.0, 0.75, 0.25, 0.75]), ([1, 1, 1, 1], [0.0, 0.25, 0.75, 0.25])]
    """
    t = np.dtype(dtype).type
    o = np.arange(out, dtype=np.int64)
    scale = source_scale(size, out, align_corners, scale_factor, dtype)
    if align_corners:
        src = scale * o.astype(dtype)
    else:
        src = np.maximum(scale * (o.astype(dtype) + t(0.5)) - t(0.5), t(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), size - 1)
    lam = np.clip(src - i0.astype(dtype), t(0), t(1)).astype(dtype, copy=False)
    i1 = i0 + (i0 < size - 1)
    return [(i0, t(1) - lam), (i1, lam)]


def _plan(mode: str, size: int, out: int, align_corners: bool, scale_factor, dtype, shortcuts: bool):
    """Taps of one dim, or None when the dim is copied unchanged."""
    if mode == "nearest":
        index = nearest_index(size, out, scale_factor, shortcuts)
        if out == size and np.array_equal(index, np.arange(size)):
            return None
        return [(index, None)]
    if out == size:        # PyTorch copies such a dim whatever the scale factor says
        return None
    return linear_taps(size, out, align_corners, scale_factor, dtype)


def _along(weight: np.ndarray, ndim: int, axis: int) -> np.ndarray:
    """A (out,) weight shaped to broadcast along ``axis`` of an ``ndim``-D array."""
    return weight.reshape((-1,) + (1,) * (ndim - axis - 1))


def _plans(mode, spatial, out, align_corners, scales, dtype, shortcuts):
    return [_plan(mode, n, o, align_corners, s, dtype, shortcuts)
            for n, o, s in zip(spatial, out, scales)]


def interpolate_forward(x: np.ndarray, out: Ints, mode: str, align_corners: bool = False,
                        scales: Scales | None = None, shortcuts: bool = False) -> np.ndarray:
    """Resize the spatial dims of ``x`` to ``out`` by nearest or (multi)linear interpolation.

    Parameters
    ----------
    x : (N, C, *spatial) float array
    out : one positive int per spatial dim
    mode : {'nearest', 'linear'}
        ``'linear'`` is linear, bilinear or trilinear by the number of spatial dims.
    align_corners : bool
        Linear mode only (see the module notes).
    scales : one float or None per spatial dim
        The caller's scale factors, which set the source step when given (PyTorch's ``scales_*``).
    shortcuts : bool
        PyTorch's 2-D nearest kernel's copies for ``out == size`` and ``out == 2 * size``.

    Returns
    -------
    y : (N, C, *out) array of ``x``'s dtype

    Examples
    --------
    >>> interpolate_forward(np.array([[[0., 1.]]]), (4,), "linear")
    array([[[0.  , 0.25, 0.75, 1.  ]]])
    """
    scales = (None,) * len(out) if scales is None else tuple(scales)
    plans = _plans(mode, x.shape[2:], tuple(out), align_corners, scales, x.dtype, shortcuts)
    y = x
    for axis in reversed(range(2, x.ndim)):       # the last dim first, as PyTorch's kernel nests
        taps = plans[axis - 2]
        if taps is None:
            continue
        total = None
        for index, weight in taps:
            term = np.take(y, index, axis=axis)
            if weight is not None:
                term *= _along(weight, x.ndim, axis)
            total = term if total is None else total + term
        y = total
    return np.array(y, copy=True) if y is x else y


def _adjoint(g: np.ndarray, taps, size: int, axis: int) -> np.ndarray:
    """Add each output gradient (times its tap's weight) into the input position it read."""
    shape = list(g.shape)
    shape[axis] = size
    gx = np.zeros(shape, dtype=g.dtype)
    lead = (slice(None),) * axis
    for index, weight in taps:
        values = g if weight is None else g * _along(weight.astype(g.dtype, copy=False), g.ndim, axis)
        starts = np.flatnonzero(np.r_[True, index[1:] != index[:-1]])   # runs of one index
        gx[lead + (index[starts],)] += np.add.reduceat(values, starts, axis=axis)
    return gx


def interpolate_backward(gy: np.ndarray, input_shape: Ints, mode: str, align_corners: bool = False,
                         scales: Scales | None = None, shortcuts: bool = False) -> np.ndarray:
    """Gradient of :func:`interpolate_forward` with respect to ``x``.

    Parameters
    ----------
    gy : (N, C, *out) float array
    input_shape : the full input shape ``(N, C, *spatial)``
    mode, align_corners, scales, shortcuts : as given to the forward

    Returns
    -------
    gx : ``input_shape`` array of ``gy``'s dtype

    Examples
    --------
    Each input position gets the summed weights of the outputs that read it (see
    :func:`linear_taps` and :func:`nearest_index`):

    >>> interpolate_backward(np.ones((1, 1, 4)), (1, 1, 2), "linear").tolist()
    [[[2.0, 2.0]]]
    >>> interpolate_backward(np.ones((1, 1, 7)), (1, 1, 3), "nearest").tolist()
    [[[3.0, 2.0, 2.0]]]
    """
    input_shape = tuple(input_shape)
    out = gy.shape[2:]
    scales = (None,) * len(out) if scales is None else tuple(scales)
    plans = _plans(mode, input_shape[2:], out, align_corners, scales, gy.dtype, shortcuts)
    g = gy
    for axis in range(2, gy.ndim):                 # the forward's dims in reverse order
        taps = plans[axis - 2]
        if taps is not None:
            g = _adjoint(g, taps, input_shape[axis], axis)
    return np.array(g, copy=True) if g is gy else g
