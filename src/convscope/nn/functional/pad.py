"""Padding: ``pad`` and its Function (:mod:`convscope.ops.pad`)."""

from __future__ import annotations

import numbers

import numpy as np

from ... import _validation as V
from ...autograd import Function, Tensor
from ...ops import pad as pad_ops
from ._common import as_array

__all__ = ["pad", "PadFunction"]


class PadFunction(Function):
    """Pad with ``pads`` (one (before, after) pair per trailing axis) in ``mode``.

    Examples
    --------
    >>> import numpy as np
    >>> PadFunction.apply(np.array([[1., 2.]]), pads=((0, 1), (1, 0)), mode="constant", value=9.)
    array([[9., 1., 2.],
           [9., 9., 9.]])
    """

    name = "pad"

    @classmethod
    def describe(cls, arrays, options, output):
        return cls.name, {"pads": tuple(options["pads"]), "mode": options["mode"]}

    @staticmethod
    def forward(ctx, x, *, pads, mode, value):
        ctx.save_for_backward(x.shape, x.dtype)
        ctx.pads, ctx.mode = pads, mode
        return pad_ops.pad(x, pads, mode, value)

    @staticmethod
    def backward(ctx, grad):
        shape, dtype = ctx.saved
        return (pad_ops.pad_backward(grad, shape, ctx.pads, ctx.mode).astype(dtype, copy=False),)


def _check_pads(x: np.ndarray, pairs, mode: str, fn: str, argument: str) -> None:
    lead = x.ndim - len(pairs)
    for axis, (lo, hi) in enumerate(pairs, start=lead):
        n = x.shape[axis]
        if mode == "constant":
            if n + lo + hi < 0:
                raise ValueError(f"{fn}: {argument} ({lo}, {hi}) would crop dimension {axis} of size {n} "
                                 f"below zero")
            continue
        if lo < 0 or hi < 0:
            raise ValueError(f"{fn}: {argument} expects non-negative values for mode {mode!r}, but got ({lo}, {hi}) "
                             f"for dimension {axis}")
        if mode == "reflect" and max(lo, hi) >= n:
            raise ValueError(f"{fn}: {argument} for mode 'reflect' expects values smaller than the dimension size "
                             f"{n} (dimension {axis}), but got ({lo}, {hi})")
        if mode == "circular" and max(lo, hi) > n:
            raise ValueError(f"{fn}: {argument} for mode 'circular' expects values at most the dimension size "
                             f"{n} (dimension {axis}), but got ({lo}, {hi})")
        if mode == "replicate" and n == 0 and (lo or hi):
            raise ValueError(f"{fn}: mode 'replicate' cannot pad dimension {axis} of size 0")


def pad(input, pad, mode: str = "constant", value: float | None = None):
    """Pad the trailing dimensions of ``input``, as ``torch.nn.functional.pad``.

    Parameters
    ----------
    input : array or Tensor
    pad : tuple of ints, even length ``2m`` with ``m <= input.ndim``
        ``(left, right)`` widths of the last dimension first, then of the one before, and so on:
        ``(1, 1, 2, 0)`` pads the last dim by 1 on each side and the second-last by 2 before.
        Negative widths crop (``'constant'`` only).
    mode : {'constant', 'reflect', 'replicate', 'circular'}
        ``reflect`` mirrors without repeating the edge (widths < size), ``replicate`` repeats the
        edge, ``circular`` wraps around (widths <= size).
    value : float, optional
        Fill value for ``'constant'`` (default 0).

    Returns
    -------
    array or Tensor with each padded dimension ``n`` grown to ``n + left + right``.

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> F.pad(np.array([[1., 2., 3.]]), (2, 1), mode="reflect")
    array([[3., 2., 1., 2., 3., 2.]])
    """
    fn = "pad"
    x = as_array(input, "input", fn)
    if not isinstance(pad, (tuple, list)):
        raise TypeError(f"{fn}: pad expects a tuple of ints, but got {pad!r} ({type(pad).__name__})")
    if len(pad) % 2:
        raise ValueError(f"{fn}: pad expects an even number of values (left, right per dimension), "
                         f"but got {len(pad)}: {tuple(pad)!r}")
    if len(pad) // 2 > x.ndim:
        raise ValueError(f"{fn}: pad expects at most {2 * x.ndim} values for a {x.ndim}-D input, but got {len(pad)}")
    flat = V.to_tuple(tuple(pad), len(pad), "pad", fn)
    if not isinstance(mode, str) or mode not in pad_ops.MODES:
        raise ValueError(f"{fn}: mode expects one of {', '.join(map(repr, pad_ops.MODES))}, but got {mode!r}")
    if value is not None and mode != "constant":
        raise ValueError(f"{fn}: value applies to mode 'constant' only, but mode is {mode!r}")
    if value is not None and (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real)):
        raise TypeError(f"{fn}: value expects a real number, but got {value!r} ({type(value).__name__})")
    # PyTorch order is last dim first; the op wants axis order.
    pairs = tuple((flat[i], flat[i + 1]) for i in range(len(flat) - 2, -1, -2))
    _check_pads(x, pairs, mode, fn, "pad")
    V.check_addressable(x.shape[:x.ndim - len(pairs)] + tuple(n + lo + hi for n, (lo, hi) in
                                                           zip(x.shape[x.ndim - len(pairs):], pairs)),
                        x.itemsize, fn, "an output", f"pad={tuple(pad)!r}")
    return PadFunction.apply(input if isinstance(input, Tensor) else x, pads=pairs, mode=mode,
                      value=0.0 if value is None else value)
