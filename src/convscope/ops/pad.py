"""Padding of trailing axes, forward and backward, in the four modes PyTorch knows.

``pads`` here is one ``(before, after)`` pair per trailing axis, in axis order (the first pair is
for the first padded axis). The public :func:`convscope.nn.functional.pad` converts PyTorch's
flat, last-axis-first tuple into this form.

Modes (``n`` is the axis length, ``j`` an index into the padded axis, ``i = j - before``):

- ``constant``: ``value`` outside; negative pads crop.
- ``reflect``: mirror without repeating the edge, ``[c b | a b c d | c b]``; needs pads < n.
- ``replicate``: repeat the edge, ``[a a | a b c d | d d]``.
- ``circular``: wrap around, ``[c d | a b c d | a b]``; needs pads <= n.

:func:`source_index` and :func:`pad` also know ``symmetric``, a mirror that repeats the edge,
``[b a | a b c d | d c]`` (NumPy's 'symmetric', SciPy's 'symm', ``cv2.BORDER_REFLECT``), which
image filtering uses (PyTorch has no such mode, so it is not in :data:`MODES`). The
:func:`source_index` of every mode takes pads of any length (the pattern repeats).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .. import backend

MODES = ("constant", "reflect", "replicate", "circular")
Pairs = Sequence[tuple[int, int]]


def source_index(mode: str, n: int, before: int, after: int) -> np.ndarray:
    """For each position of the padded axis, the input index it copies (non-constant modes).

    Examples
    --------
    >>> for mode in ("reflect", "replicate", "circular", "symmetric"):
    ...     print(mode, source_index(mode, 4, 2, 2).tolist())
    reflect [2, 1, 0, 1, 2, 3, 2, 1]
    replicate [0, 0, 0, 1, 2, 3, 3, 3]
    circular [2, 3, 0, 1, 2, 3, 0, 1]
    symmetric [1, 0, 0, 1, 2, 3, 3, 2]
    """
    i = np.arange(-before, n + after)
    if mode == "symmetric":
        i = np.mod(i, 2 * n)
        return np.where(i < n, i, 2 * n - 1 - i)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    if mode == "circular":
        return np.mod(i, n)
    if mode == "reflect":
        if n == 1:
            return np.zeros_like(i)
        period = 2 * (n - 1)
        i = np.mod(i, period)
        return np.where(i < n, i, period - i)
    raise ValueError(f"pad: unknown mode {mode!r}")


def pad(x: np.ndarray, pads: Pairs, mode: str = "constant", value: float = 0.0) -> np.ndarray:
    """Pad the last ``len(pads)`` axes of ``x``. Returns a new array (never a view of ``x``).

    Examples
    --------
    >>> x = np.array([1., 2., 3., 4.])
    >>> pad(x, [(2, 2)]).tolist()
    [0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 0.0, 0.0]
    >>> pad(x, [(2, 2)], "reflect").tolist()
    [3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 2.0]
    >>> pad(x, [(-1, 1)], "constant", 9.0).tolist()           # a negative pad crops
    [2.0, 3.0, 4.0, 9.0]
    >>> pad(np.ones((1, 2, 2)), [(1, 0), (0, 1)]).shape       # the last two axes
    (1, 3, 3)
    """
    lead = x.ndim - len(pads)
    shape = x.shape[:lead] + tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[lead:], pads))
    backend.check_allocation("pad", shape, x.dtype, "padded input")
    if mode == "constant":
        out = np.full(shape, value, dtype=x.dtype)
        dst = [slice(None)] * lead
        src = [slice(None)] * lead
        for n, (lo, hi) in zip(x.shape[lead:], pads):
            dst.append(slice(max(lo, 0), max(lo, 0) + n + min(lo, 0) + min(hi, 0)))
            src.append(slice(max(-lo, 0), n - max(-hi, 0)))
        out[tuple(dst)] = x[tuple(src)]
        return out
    out = x
    for axis, (n, (lo, hi)) in enumerate(zip(x.shape[lead:], pads), start=lead):
        if lo or hi:
            out = np.take(out, source_index(mode, n, lo, hi), axis=axis)
    return out if out is not x else x.copy()


def pad_backward(grad: np.ndarray, input_shape: tuple[int, ...], pads: Pairs, mode: str = "constant") -> np.ndarray:
    """Gradient of :func:`pad` with respect to its input: the padded copies add back in.

    Examples
    --------
    With an upstream gradient of ones, each input element gets the number of times it was
    copied (see :func:`source_index`):

    >>> g = np.ones(8)
    >>> pad_backward(g, (4,), [(2, 2)], "reflect").tolist()
    [1.0, 3.0, 3.0, 1.0]
    >>> pad_backward(g, (4,), [(2, 2)], "replicate").tolist()
    [3.0, 1.0, 1.0, 3.0]
    >>> pad_backward(g, (4,), [(2, 2)]).tolist()
    [1.0, 1.0, 1.0, 1.0]
    >>> pad_backward(np.arange(4.), (4,), [(-1, 1)]).tolist()  # the cropped element gets 0
    [0.0, 0.0, 1.0, 2.0]
    """
    lead = len(input_shape) - len(pads)
    if mode == "constant":
        # The adjoint of "embed with crop" is "crop with embed": pad with the negated widths.
        return pad(grad, [(-lo, -hi) for lo, hi in pads], "constant", 0.0)
    out = grad
    for axis in range(len(input_shape) - 1, lead - 1, -1):
        lo, hi = pads[axis - lead]
        if not (lo or hi):
            continue
        n = input_shape[axis]
        idx = source_index(mode, n, lo, hi)
        moved = np.moveaxis(out, axis, 0)
        acc = np.zeros((n,) + moved.shape[1:], dtype=grad.dtype)
        acc += moved[lo:lo + n]                       # the interior maps to itself
        border = np.r_[0:lo, lo + n:lo + n + hi]
        np.add.at(acc, idx[border], moved[border])    # the copies go back where they came from
        out = np.moveaxis(acc, 0, axis)
    return np.ascontiguousarray(out) if out is not grad else grad.copy()
