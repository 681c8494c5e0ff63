"""Pooling, forward and backward, as pure array functions with PyTorch's exact semantics.

Every op is N-d over the trailing spatial dims of ``x`` with shape ``(N, C, *spatial)`` and takes
its geometry already normalised to one int per spatial dim (the callers in
:mod:`convscope.nn.functional` validate, once; nothing here checks its arguments).

Window geometry is the conv's (see :mod:`convscope.ops.conv`): output position ``o`` of a dim
reads input positions ``o * s - p + t * d`` for the taps ``t = 0 .. k - 1``, and each dim has

    out = floor_or_ceil((size + 2p - d * (k - 1) - 1) / s) + 1

where ``ceil_mode`` rounds up but drops a last window that would start past the input and its
left padding, i.e. ``if (out - 1) * s >= size + p: out -= 1`` (PyTorch's rule). A window may thus
run past the right padding; those positions count for nothing, not even in average pooling's
``count_include_pad`` divisor.

Forward and backward share one walk over the kernel taps (:func:`_taps`): the forward reads a
strided slice of the (padded) input per tap, over the whole batch and all channels at once; the
average pool's backward adds into the same slices. The loops are over taps only (4 for a 2x2
kernel), never over samples or pixels, and only over the taps that read an input element in
at least one window: a tap that reads padding in every window adds nothing (zeros to a sum,
-inf to a max), so a 1001-tap window over 5 inputs costs 5 taps, and the input is padded only
as far as those taps reach. The max pool's backward needs no geometry: it scatters each
gradient to the input element named by its index (PyTorch's contract).

Max pooling works in the input's dtype, integers included (padding is then the dtype's
minimum instead of -inf), so int64 values above 2**53 come out exact.

Adaptive pooling splits each dim of size ``n`` into ``out`` bins
``[floor(i * n / out), ceil((i + 1) * n / out))`` that may overlap, and when ``out > n`` repeat
elements. Because a bin is a product of per-dim intervals, both the mean and the max over it are
taken one dim at a time.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Iterator, NamedTuple, Sequence

import numpy as np

from .. import backend
from .pad import pad as _pad

Ints = Sequence[int]

__all__ = [
    "pool_output_shape",
    "max_pool_forward",
    "max_pool_backward",
    "avg_pool_forward",
    "avg_pool_backward",
    "adaptive_bins",
    "adaptive_avg_pool_forward",
    "adaptive_avg_pool_backward",
    "adaptive_max_pool_forward",
    "adaptive_max_pool_backward",
]


# --------------------------------------------------------------------------- geometry

def pool_output_shape(spatial: Ints, kernel: Ints, stride: Ints, padding: Ints, dilation: Ints,
                      ceil_mode: bool) -> tuple[int, ...]:
    """Output spatial shape of a max or average pool (PyTorch's ``pooling_output_shape``).

    Per dim ``out = floor_or_ceil((size + 2p - d * (k - 1) - 1) / s) + 1``; with ``ceil_mode`` a
    last window that would start at or past ``size + p`` (in padded coordinates) is dropped.
    A result below 1 means the window does not fit; callers reject that.

    Examples
    --------
    >>> pool_output_shape((5,), (2,), (2,), (0,), (1,), ceil_mode=False)
    (2,)
    >>> pool_output_shape((5,), (2,), (2,), (0,), (1,), ceil_mode=True)
    (3,)
    >>> pool_output_shape((4,), (2,), (2,), (1,), (1,), ceil_mode=True)  # would start in the right pad
    (3,)
    """
    shape = []
    for n, k, s, p, d in zip(spatial, kernel, stride, padding, dilation):
        span = n + 2 * p - d * (k - 1) - 1
        out = (span + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (out - 1) * s >= n + p:
            out -= 1
        shape.append(out)
    return tuple(shape)


class _Walk(NamedTuple):
    """The taps a pool walks and the padding they need, per spatial dim.

    ``taps[i]`` is the range ``[lo, hi)`` of dim ``i``'s taps that can read an input element in
    some window; ``pads[i]`` the ``(before, after)`` padding that keeps every read of those taps
    inside the array; the rest are the geometry, as given.
    """
    taps: list[tuple[int, int]]
    pads: list[tuple[int, int]]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    out: tuple[int, ...]


def _walk(spatial: Ints, kernel: Ints, stride: Ints, padding: Ints, dilation: Ints, out: Ints) -> _Walk:
    """Plan the walk over the taps of a pool (see :class:`_Walk`).

    Window ``o`` of a dim reads ``o * s - p + t * d`` at tap ``t``, for ``o`` in ``[0, out)``. A tap
    can hit ``[0, n)`` only if ``t * d >= p - (out - 1) * s`` (the last window reaches the input)
    and ``t * d <= p + n - 1`` (the first one does not overshoot it); the taps between are walked,
    the others read padding in every window and change nothing.
    """
    taps, pads = [], []
    for n, k, s, p, d, o in zip(spatial, kernel, stride, padding, dilation, out):
        reach = (o - 1) * s                      # how far the last window starts after the first
        lo = max(0, -((reach - p) // d))
        hi = max(lo, min(k, (p + n - 1) // d + 1))
        taps.append((lo, hi))
        if hi == lo:
            pads.append((0, 0))
        else:
            pads.append((max(p - lo * d, 0), max(reach - p + (hi - 1) * d - (n - 1), 0)))
    return _Walk(taps, pads, tuple(kernel), tuple(stride), tuple(padding), tuple(dilation), tuple(out))


def _pad_windows(x: np.ndarray, pads: list[tuple[int, int]], value) -> np.ndarray:
    """``x`` padded with ``value`` by ``pads``; ``x`` itself (no copy) when nothing is padded."""
    if not any(lo or hi for lo, hi in pads):
        return x
    return _pad(x, pads, "constant", value)


def _lowest(dtype) -> Any:
    """The value max pooling pads with: -inf, or an integer dtype's minimum."""
    dtype = np.dtype(dtype)
    return dtype.type(np.iinfo(dtype).min) if dtype.kind in "iu" else dtype.type(-np.inf)


def _taps(walk: _Walk) -> Iterator[tuple[int, tuple[slice, ...]]]:
    """For each walked tap (row-major, PyTorch's scan order): its number within the whole kernel
    and the index that selects, from the input padded by ``walk.pads``, that tap's element of
    every window, shaped ``(N, C, *out)``. Forward reads these slices; backward adds into them."""
    lead = (slice(None), slice(None))
    weights = _plane_strides(walk.kernel)
    for tap in itertools.product(*(range(lo, hi) for lo, hi in walk.taps)):
        number = sum(t * w for t, w in zip(tap, weights))
        index = []
        for t, s, p, d, o, (before, _) in zip(tap, walk.stride, walk.padding, walk.dilation, walk.out, walk.pads):
            start = t * d - p + before
            index.append(slice(start, start + s * (o - 1) + 1, s if o > 1 else 1))
        yield number, lead + tuple(index)


def _outer(vectors: Sequence[np.ndarray]) -> np.ndarray:
    """The outer product of per-dim vectors, shaped ``(len(v0), len(v1), ...)``."""
    result = np.ones((), dtype=vectors[0].dtype if vectors else np.int64)
    for v in vectors:
        result = np.multiply.outer(result, v)
    return result


def _outer_sum(vectors: Sequence[np.ndarray]) -> np.ndarray:
    """The outer sum of per-dim vectors, shaped ``(len(v0), len(v1), ...)``."""
    result = np.zeros((), dtype=np.int64)
    for v in vectors:
        result = np.add.outer(result, v)
    return result


def _plane_strides(spatial: Ints) -> list[int]:
    """Row-major strides (in elements) of a ``spatial`` plane: the weights of a flat index."""
    return [math.prod(spatial[d + 1:]) for d in range(len(spatial))]


# --------------------------------------------------------------------------- max pool

def _tap_dtype(kernel: Ints):
    taps = math.prod(kernel)
    return np.uint8 if taps <= 256 else (np.int32 if taps < 2**31 else np.int64)


def _max_scan(xp: np.ndarray, walk: _Walk, first_tap: np.ndarray, nan_aware: bool) -> tuple[np.ndarray, np.ndarray]:
    """Running max over the taps of every window, and the number of the tap that holds it.

    A tap replaces the running max only if strictly greater (so ties keep the first maximum in
    scan order) or, with ``nan_aware``, if it is NaN (so the last NaN wins, as in PyTorch).
    The first walked tap starts the scan, with the tap number at the window's first real tap
    (``first_tap``), as PyTorch's index does: that tap is either padding (-inf, or an integer
    dtype's minimum, which never replaces) or the window's first real element. So a window whose
    real elements all equal the padding value points at its first one.

    Taps come in increasing order, so "the tap that last replaced the max" is the running
    maximum of ``replaced * tap``; padding taps never replace (-inf is not greater than the
    running max), so that holds from ``first_tap`` on. This is branch-free arithmetic, several
    times faster than a masked copy on random data.
    """
    shape = xp.shape[:2] + walk.out
    taps = _taps(walk)
    start = next(taps, None)
    best = np.full(shape, _lowest(xp.dtype), dtype=xp.dtype) if start is None else xp[start[1]].copy()
    tap_dtype = _tap_dtype(walk.kernel)
    which = np.empty(shape, dtype=tap_dtype)
    which[...] = first_tap
    mask = np.empty(shape, dtype=bool)
    tap = np.empty(shape, dtype=tap_dtype)
    for number, index in taps:
        v = xp[index]
        np.greater(v, best, out=mask)
        if nan_aware:
            mask |= np.isnan(v)
            np.copyto(best, v, where=mask)
        else:
            np.maximum(best, v, out=best)      # equals the masked copy without NaN, and is faster
        np.multiply(mask.view(np.uint8), tap_dtype(number), out=tap)
        np.maximum(which, tap, out=which)
    return best, which


def max_pool_forward(x: np.ndarray, kernel: Ints, stride: Ints, padding: Ints, dilation: Ints,
                     ceil_mode: bool) -> tuple[np.ndarray, np.ndarray]:
    """N-d max pooling with PyTorch's indices.

    ``y[n, c, o] = max over taps t of x[n, c, o * s - p + t * d]`` (multi-indices over the
    spatial dims), where padded positions are -inf (an integer dtype's minimum) and so never
    selected.

    Parameters
    ----------
    x : (N, C, *spatial) float or integer array, pooled in its own dtype
    kernel, stride, dilation : one positive int per spatial dim
    padding : one non-negative int per spatial dim (implicit -inf on both sides)
    ceil_mode : bool
        Round the output size up (see :func:`pool_output_shape`).

    Returns
    -------
    y : (N, C, *out) array of ``x``'s dtype,
        ``out = pool_output_shape(spatial, kernel, stride, padding, dilation, ceil_mode)``
    indices : (N, C, *out) int64 array
        Flat (row-major) index of each maximum within its ``prod(spatial)`` input plane. Ties go
        to the first maximum in row-major scan order over the window; a NaN counts as the
        maximum (the last NaN of the window wins), as in PyTorch's CPU kernel. A window whose
        real elements are all -inf (or the integer minimum) points at its first real element. A
        window with no real element at all (possible with dilation: its taps straddle a short
        input) gives -inf (the integer minimum) and index -1, where PyTorch gives an index
        outside the window.

    Examples
    --------
    >>> x = np.array([[[1., 3., 2., 0., 5.]]])
    >>> y, idx = max_pool_forward(x, (2,), (2,), (0,), (1,), ceil_mode=True)
    >>> y, idx
    (array([[[3., 2., 5.]]]), array([[[1, 2, 4]]]))
    """
    spatial = x.shape[2:]
    out = pool_output_shape(spatial, kernel, stride, padding, dilation, ceil_mode)
    if len(spatial) == 2 and x.dtype.kind in "fiu" and x.size and backend.compiled_available():
        from . import _numba_pool as K
        K.set_threads(backend.get_num_threads())
        y = np.empty(x.shape[:2] + tuple(out), dtype=x.dtype)
        indices = np.empty(y.shape, dtype=np.int64)
        K.max_pool2d(np.ascontiguousarray(x), y, indices, *kernel, *stride, *padding, *dilation,
                     x.dtype.type(_lowest(x.dtype)))
        return y, indices
    walk = _walk(spatial, kernel, stride, padding, dilation, out)
    xp = _pad_windows(x, walk.pads, _lowest(x.dtype))
    # Per dim, the start of each window and its first tap inside the input (past left padding).
    starts = [np.arange(o, dtype=np.int64) * (s if o > 1 else 0) - p for o, s, p in zip(out, stride, padding)]
    first = [np.minimum(np.maximum(-st + d - 1, 0) // d, k - 1) for st, k, d in zip(starts, kernel, dilation)]
    first_tap = np.ravel_multi_index(np.meshgrid(*first, indexing="ij"), kernel)
    y, which = _max_scan(xp, walk, first_tap, nan_aware=False)
    if y.dtype.kind == "f" and np.isnan(y).any():   # NaN propagated into y: redo the indices by the NaN rule
        y, which = _max_scan(xp, walk, first_tap, nan_aware=True)
    # Flat input index = window start + tap offset, each a weighted sum over dims.
    weights = _plane_strides(spatial)
    start_flat = _outer_sum([st * w for st, w in zip(starts, weights)])
    if math.prod(kernel) <= 1 << 16:
        tap_offset = _outer_sum([np.arange(k) * d * w for k, d, w in zip(kernel, dilation, weights)]).ravel()
        indices = np.take(tap_offset, which)
    else:                                       # a huge kernel: no table of every tap's offset
        indices = np.zeros(which.shape, dtype=np.int64)
        for t, d, w in zip(np.unravel_index(which, kernel), dilation, weights):
            indices += t * (d * w)
    indices += start_flat
    # With dilation a window's taps can all miss a short input (PyTorch allows it): y is -inf and
    # no element is the maximum. PyTorch then returns an index outside the window (or the plane);
    # we return -1, which the backward skips. A window hits if its first tap at or past the input's
    # start (``first``, unclipped) lies inside the kernel and before the input's end.
    hit = []
    for st, k, d, n in zip(starts, kernel, dilation, spatial):
        t = np.maximum(-st + d - 1, 0) // d
        hit.append((t < k) & (st + t * d < n))
    if not all(h.all() for h in hit):
        indices[..., ~_outer(hit)] = -1
    return y, indices


def max_pool_backward(gy: np.ndarray, indices: np.ndarray, input_shape: Ints) -> np.ndarray:
    """Gradient of :func:`max_pool_forward` (and :func:`adaptive_max_pool_forward`) w.r.t. ``x``.

    Each output's gradient goes to the input element its index names; where windows overlap,
    an element that is the maximum of several windows receives the sum. Index -1 (a window
    with no input element) sends its gradient nowhere.

    Parameters
    ----------
    gy : (N, C, *out) float array, the gradient of ``y``
    indices : (N, C, *out) int array, as returned by the forward
    input_shape : the full input shape ``(N, C, *spatial)``

    Returns
    -------
    gx : ``input_shape`` array of ``gy``'s dtype

    Examples
    --------
    Overlapping windows: the 3 is the maximum of two windows and receives both gradients.

    >>> x = np.array([[[1., 3., 2., 0., 5.]]])
    >>> y, idx = max_pool_forward(x, (3,), (1,), (0,), (1,), ceil_mode=False)
    >>> y.tolist(), idx.tolist()
    ([[[3.0, 3.0, 5.0]]], [[[1, 1, 4]]])
    >>> max_pool_backward(np.ones_like(y), idx, x.shape).tolist()
    [[[0.0, 2.0, 0.0, 0.0, 1.0]]]
    """
    planes = math.prod(input_shape[:2])
    size = math.prod(input_shape[2:])
    if len(input_shape) == 4 and indices.ndim == 4 and gy.size and backend.compiled_available():
        from . import _numba_pool as K
        K.set_threads(backend.get_num_threads())
        gx = np.zeros((input_shape[0], input_shape[1], size), dtype=gy.dtype)
        K.max_pool2d_backward(np.ascontiguousarray(gy), np.ascontiguousarray(indices), gx)
        return gx.reshape(input_shape)
    per_plane = math.prod(indices.shape[2:])           # explicit: -1 is ambiguous for an empty batch
    flat = (indices.reshape(planes, per_plane) + (np.arange(planes, dtype=np.int64) * size)[:, None]).reshape(-1)
    weights = gy.reshape(-1)
    if indices.size and indices.min() < 0:     # windows with no input element (see the forward)
        real = indices.reshape(-1) >= 0
        flat, weights = flat[real], weights[real]
    # A scatter-add over the flat batch. The windows are not known here, so there is no per-tap
    # view to add into; np.add.at on a 1-D array (NumPy >= 1.25's fast path) is as fast as a
    # plain fancy assignment, and faster than np.bincount (which also sums in float64).
    gx = np.zeros(planes * size, dtype=gy.dtype)
    np.add.at(gx, flat, weights)
    return gx.reshape(tuple(input_shape))


# --------------------------------------------------------------------------- average pool

def _avg_divisor(spatial: Ints, kernel: Ints, stride: Ints, padding: Ints, out: Ints,
                 count_include_pad: bool, dtype) -> np.ndarray:
    """The divisor of every window, shaped ``out`` (an outer product of per-dim counts).

    Per dim, a window ``[start, start + k)`` is first clipped to the padded input
    ``[-p, size + p)`` (dropping ceil_mode's overhang); ``count_include_pad`` counts that, else
    it is clipped further to the input ``[0, size)``.
    """
    counts = []
    for n, k, s, p, o in zip(spatial, kernel, stride, padding, out):
        start = np.arange(o, dtype=np.int64) * (s if o > 1 else 0) - p
        end = np.minimum(start + k, n + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        counts.append((end - start).astype(dtype))
    return _outer(counts)


def avg_pool_forward(x: np.ndarray, kernel: Ints, stride: Ints, padding: Ints, ceil_mode: bool,
                     count_include_pad: bool, divisor_override: int | None = None) -> np.ndarray:
    """N-d average pooling: the sum of each window (zero padded) over its divisor.

    Parameters
    ----------
    x : (N, C, *spatial) float array
    kernel, stride : one positive int per spatial dim
    padding : one non-negative int per spatial dim (implicit zeros on both sides)
    ceil_mode : bool
        Round the output size up (see :func:`pool_output_shape`).
    count_include_pad : bool
        Divide by the number of window positions inside the padded input (True) or inside the
        input only (False). Positions past the right padding (ceil_mode) never count.
    divisor_override : int, optional
        Divide every window by this instead.

    Returns
    -------
    y : (N, C, *out) array of ``x``'s dtype,
        ``out = pool_output_shape(spatial, kernel, stride, padding, (1,) * len(kernel), ceil_mode)``

    Examples
    --------
    >>> x = np.array([[[1., 2., 3., 4., 5.]]])
    >>> avg_pool_forward(x, (2,), (2,), (1,), False, count_include_pad=True)
    array([[[0.5, 2.5, 4.5]]])
    >>> avg_pool_forward(x, (2,), (2,), (1,), False, count_include_pad=False)
    array([[[1. , 2.5, 4.5]]])
    """
    spatial = x.shape[2:]
    dilation = (1,) * len(kernel)
    out = pool_output_shape(spatial, kernel, stride, padding, dilation, ceil_mode)
    walk = _walk(spatial, kernel, stride, padding, dilation, out)
    xp = _pad_windows(x, walk.pads, 0.0)
    taps = _taps(walk)
    start = next(taps, None)
    y = np.zeros(x.shape[:2] + walk.out, dtype=x.dtype) if start is None else xp[start[1]].copy()
    for _, index in taps:
        y += xp[index]
    if divisor_override is not None:
        y /= np.asarray(divisor_override, dtype=x.dtype)
    else:
        y /= _avg_divisor(spatial, kernel, stride, padding, out, count_include_pad, x.dtype)
    return y


def avg_pool_backward(gy: np.ndarray, input_shape: Ints, kernel: Ints, stride: Ints, padding: Ints,
                      ceil_mode: bool, count_include_pad: bool,
                      divisor_override: int | None = None) -> np.ndarray:
    """Gradient of :func:`avg_pool_forward` w.r.t. ``x``: each window spreads ``gy / divisor``.

    Parameters
    ----------
    gy : (N, C, *out) float array, the gradient of ``y``
    input_shape : the full input shape ``(N, C, *spatial)``
    kernel, stride, padding, ceil_mode, count_include_pad, divisor_override :
        as given to the forward

    Returns
    -------
    gx : ``input_shape`` array of ``gy``'s dtype

    Examples
    --------
    Windows ``[pad, 1], [2, 3], [4, 5]``; without ``count_include_pad`` the first divides by 1:

    >>> gy = np.ones((1, 1, 3))
    >>> avg_pool_backward(gy, (1, 1, 5), (2,), (2,), (1,), False, count_include_pad=True).tolist()
    [[[0.5, 0.5, 0.5, 0.5, 0.5]]]
    >>> avg_pool_backward(gy, (1, 1, 5), (2,), (2,), (1,), False, count_include_pad=False).tolist()
    [[[1.0, 0.5, 0.5, 0.5, 0.5]]]
    """
    spatial = tuple(input_shape[2:])
    dilation = (1,) * len(kernel)
    out = gy.shape[2:]
    if divisor_override is not None:
        g = gy / np.asarray(divisor_override, dtype=gy.dtype)
    else:
        g = gy / _avg_divisor(spatial, kernel, stride, padding, out, count_include_pad, gy.dtype)
    walk = _walk(spatial, kernel, stride, padding, dilation, out)
    pads = walk.pads
    gxp = np.zeros(tuple(input_shape[:2]) + tuple(n + lo + hi for n, (lo, hi) in zip(spatial, pads)),
                   dtype=gy.dtype)
    for _, index in _taps(walk):
        gxp[index] += g
    crop = (slice(None), slice(None)) + tuple(slice(lo, lo + n) for n, (lo, _) in zip(spatial, pads))
    return np.ascontiguousarray(gxp[crop])


# --------------------------------------------------------------------------- adaptive pools

def adaptive_bins(size: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's adaptive bins of one dim: ``start = floor(i * size / out)``,
    ``end = ceil((i + 1) * size / out)`` for ``i = 0 .. out - 1`` (each bin is non-empty).

    Examples
    --------
    >>> adaptive_bins(5, 3)
    (array([0, 1, 3]), array([2, 4, 5]))
    """
    i = np.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def _bin_matrix(size: int, out: int, dtype) -> np.ndarray:
    """``(out, size)`` matrix whose row ``i`` averages bin ``i``."""
    start, end = adaptive_bins(size, out)
    j = np.arange(size)
    inside = (j >= start[:, None]) & (j < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _along(x: np.ndarray, matrix: np.ndarray, axis: int) -> np.ndarray:
    """Apply ``matrix`` (m, n) to axis ``axis`` (length n) of ``x``; that axis becomes length m."""
    return np.moveaxis(np.matmul(np.moveaxis(x, axis, -1), matrix.T), -1, axis)


def adaptive_avg_pool_forward(x: np.ndarray, output_size: Ints) -> np.ndarray:
    """N-d adaptive average pooling: the mean of each bin (see :func:`adaptive_bins`).

    Parameters
    ----------
    x : (N, C, *spatial) float array
    output_size : one positive int per spatial dim (may exceed the input's size)

    Returns
    -------
    y : (N, C, *output_size) array of ``x``'s dtype

    Notes
    -----
    A bin is a product of per-dim intervals, so its mean is taken one dim at a time. Where the
    size divides evenly the bins are equal and disjoint: the sum of ``size // out`` strided
    slices (the taps of a pool with kernel = stride). Otherwise a small ``(out, size)``
    averaging matrix is applied along that dim. Global pooling (all ones) is one mean.

    Examples
    --------
    >>> adaptive_avg_pool_forward(np.array([[[1., 2., 3., 4., 5.]]]), (3,))
    array([[[1.5, 3. , 4.5]]])
    """
    spatial_axes = tuple(range(2, x.ndim))
    if all(o == 1 for o in output_size):
        return x.mean(axis=spatial_axes, keepdims=True)
    y = x
    for axis, o in zip(spatial_axes, output_size):
        n = y.shape[axis]
        if n == o:
            continue
        if n % o == 0:
            f = n // o
            lead = (slice(None),) * axis
            total = y[lead + (slice(0, None, f),)].copy()
            for t in range(1, f):
                total += y[lead + (slice(t, None, f),)]
            total /= np.asarray(f, dtype=x.dtype)
            y = total
        else:
            y = _along(y, _bin_matrix(n, o, x.dtype), axis)
    return y.copy() if y is x else np.ascontiguousarray(y)


def adaptive_avg_pool_backward(gy: np.ndarray, input_shape: Ints) -> np.ndarray:
    """Gradient of :func:`adaptive_avg_pool_forward` w.r.t. ``x``: each bin spreads its mean's
    gradient evenly; where bins overlap an element receives the sum.

    Parameters
    ----------
    gy : (N, C, *output_size) float array
    input_shape : the full input shape ``(N, C, *spatial)``

    Returns
    -------
    gx : ``input_shape`` array of ``gy``'s dtype

    Examples
    --------
    5 positions into 2 bins, ``[0, 3)`` and ``[2, 5)`` (:func:`adaptive_bins`); position 2 is in
    both:

    >>> gx = adaptive_avg_pool_backward(np.ones((1, 1, 2)), (1, 1, 5))
    >>> gx.round(4).tolist()
    [[[0.3333, 0.3333, 0.6667, 0.3333, 0.3333]]]
    """
    input_shape = tuple(input_shape)
    if all(o == 1 for o in gy.shape[2:]):
        g = gy / np.asarray(math.prod(input_shape[2:]), dtype=gy.dtype)
        return np.ascontiguousarray(np.broadcast_to(g, input_shape))
    g = gy
    for axis, n in enumerate(input_shape[2:], start=2):
        o = g.shape[axis]
        if n == o:
            continue
        if n % o == 0:
            f = n // o
            g = np.repeat(g / np.asarray(f, dtype=gy.dtype), f, axis=axis)
        else:
            g = _along(g, _bin_matrix(n, o, gy.dtype).T, axis)
    return g.copy() if g is gy else np.ascontiguousarray(g)


def adaptive_max_pool_forward(x: np.ndarray, output_size: Ints) -> tuple[np.ndarray, np.ndarray]:
    """N-d adaptive max pooling with PyTorch's indices (the maximum of each adaptive bin).

    Parameters
    ----------
    x : (N, C, *spatial) float array
    output_size : one positive int per spatial dim

    Returns
    -------
    y : (N, C, *output_size) array of ``x``'s dtype
    indices : (N, C, *output_size) int64 array
        Flat index of each maximum within its input plane; ties and NaN as in
        :func:`max_pool_forward` (first maximum in row-major order; the last NaN wins).

    Notes
    -----
    The bin maximum is taken one dim at a time, last dim first. Row-major scan order is then
    kept exactly: the first maximum overall lies in the first row holding the maximum, at that
    row's first maximum (and likewise the last NaN). Each dim walks over its longest bin,
    shorter bins repeating their last element, which changes neither the maximum nor its index.

    Examples
    --------
    >>> adaptive_max_pool_forward(np.array([[[1., 4., 2., 4., 0.]]]), (2,))
    (array([[[4., 4.]]]), array([[[1, 3]]]))
    """
    spatial = x.shape[2:]
    values, flat = x, None
    for d in reversed(range(len(spatial))):
        axis, n, o = 2 + d, spatial[d], output_size[d]
        weight = math.prod(spatial[d + 1:])
        start, end = adaptive_bins(n, o)
        there = (1,) * d + (o,) + (1,) * (len(spatial) - d - 1)    # broadcast a per-bin vector
        best = which = None
        for t in range(int((end - start).max())):
            pos = np.minimum(start + t, end - 1)
            v = np.take(values, pos, axis=axis)
            candidate = (pos * weight).reshape(there)
            if flat is not None:
                candidate = candidate + np.take(flat, pos, axis=axis)
            if best is None:
                best, which = v, np.broadcast_to(candidate, v.shape).astype(np.int64)
                continue
            mask = (v > best) | np.isnan(v)
            np.copyto(best, v, where=mask)
            np.copyto(which, candidate, where=mask)
        values, flat = best, which
    return values, flat


def adaptive_max_pool_backward(gy: np.ndarray, indices: np.ndarray, input_shape: Ints) -> np.ndarray:
    """Gradient of :func:`adaptive_max_pool_forward`: the same scatter as :func:`max_pool_backward`.

    Examples
    --------
    >>> x = np.array([[[1., 4., 2., 0., 0.]]])
    >>> y, idx = adaptive_max_pool_forward(x, (2,))
    >>> y.tolist(), idx.tolist()
    ([[[4.0, 2.0]]], [[[1, 2]]])
    >>> adaptive_max_pool_backward(np.ones_like(y), idx, x.shape).tolist()
    [[[0.0, 1.0, 1.0, 0.0, 0.0]]]
    """
    return max_pool_backward(gy, indices, input_shape)
