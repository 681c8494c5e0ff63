"""Resizing: ``interpolate`` (:mod:`convscope.ops.resize`)."""

from __future__ import annotations

import math
import numbers

import numpy as np

from ... import _validation as V
from ...autograd import Function, Tensor
from ...ops import resize as resize_ops
from ._common import float_operand

__all__ = ["interpolate", "InterpolateFunction"]

_INTERPOLATE_MODES = {"nearest": None, "linear": 1, "bilinear": 2, "trilinear": 3}
_LINEAR_MODE_NAMES = {1: "linear", 2: "bilinear", 3: "trilinear"}


class InterpolateFunction(Function):
    """Resize the spatial dims to ``out`` (:mod:`convscope.ops.resize`).

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import Tensor
    >>> from convscope.autograd import register_op_hook
    >>> import convscope.nn.functional as F
    >>> calls = []
    >>> with register_op_hook(calls.append):
    ...     y = F.interpolate(Tensor(np.zeros((1, 1, 2, 3))), scale_factor=2, mode="bilinear")
    >>> calls[0].function is InterpolateFunction, calls[0].geometry["output_size"], y.shape
    (True, (4, 6), (1, 1, 4, 6))
    """

    name = "interpolate"

    @classmethod
    def describe(cls, arrays, options, output):
        return cls.name, {"output_size": tuple(options["out"]), "mode": options["mode"],
                          "align_corners": options["align_corners"], "scales": tuple(options["scales"])}

    @staticmethod
    def forward(ctx, x, *, out, mode, align_corners, scales, shortcuts):
        ctx.save_for_backward(x.shape)
        ctx.options = (mode, align_corners, scales, shortcuts)
        return resize_ops.interpolate_forward(x, out, *ctx.options)

    @staticmethod
    def backward(ctx, g):
        (shape,) = ctx.saved
        return (resize_ops.interpolate_backward(g, shape, *ctx.options),)


def _scale_factors(scale_factor, n: int, fn: str) -> tuple[float, ...]:
    def real(v):
        return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))

    if real(scale_factor):
        items = (scale_factor,) * n
    elif isinstance(scale_factor, (tuple, list)):
        items = tuple(scale_factor)
        if len(items) != n:
            raise ValueError(f"{fn}: scale_factor expects a number or {n} numbers (one per spatial dim), but got "
                             f"{len(items)} values {items!r}")
    else:
        raise TypeError(f"{fn}: scale_factor expects a number or a tuple of {n} numbers, but got {scale_factor!r} "
                        f"({type(scale_factor).__name__})")
    for v in items:
        if not real(v) or not math.isfinite(v) or v <= 0:
            raise ValueError(f"{fn}: scale_factor expects positive finite numbers, but got {scale_factor!r}")
    return tuple(float(v) for v in items)


def interpolate(input, size=None, scale_factor=None, mode: str = "nearest", align_corners: bool | None = None,
                recompute_scale_factor: bool | None = None, antialias: bool = False):
    """Resize the spatial dims of ``input`` (up- or downsampling), like ``torch.nn.functional.interpolate``.

    Nearest-neighbour or (bi/tri)linear interpolation, separable over the dims, with PyTorch's
    exact index arithmetic (see :mod:`convscope.ops.resize`); the gradient sends each output's
    gradient back to the input pixels it was interpolated from, with the same weights. This is
    the decoder's upsampling in segmentation nets (e.g. DeepLab: Chen et al., 2017, "Rethinking
    Atrous Convolution for Semantic Image Segmentation", which bilinearly upsamples the logits
    to the input size).

    Parameters
    ----------
    input : (N, C, L), (N, C, H, W) or (N, C, D, H, W) array or Tensor
    size : int or tuple of ints, optional
        The output's spatial size (one int for all dims, or one per dim).
    scale_factor : float or tuple of floats, optional
        Multiplier of each spatial size: ``out = floor(size * scale_factor)``. Exactly one of
        ``size`` and ``scale_factor`` is given.
    mode : {'nearest', 'linear', 'bilinear', 'trilinear'}
        ``'nearest'`` picks input ``min(floor(o * scale), size - 1)`` (PyTorch's legacy nearest);
        ``'linear'``, ``'bilinear'`` and ``'trilinear'`` are for 3-, 4- and 5-D input.
    align_corners : bool, optional
        Linear modes only (default False). True maps the corner pixels' centres onto each other
        (step ``(size - 1) / (out - 1)``); False treats pixels as areas (step ``size / out``, or
        ``1 / scale_factor`` when one is given), clamping coordinates at the edges.
    recompute_scale_factor : bool, optional
        With ``scale_factor``, True computes the output size and then interpolates as if that
        size had been given (the step becomes ``size / out``).
    antialias : bool
        Only False (anti-aliased downsampling is not implemented).

    Returns
    -------
    (N, C, *out) array or Tensor of the input's floating dtype (integer input becomes float32).

    Raises
    ------
    ValueError
        Both or neither of ``size`` and ``scale_factor``; an input rank the mode does not take;
        ``align_corners`` with ``'nearest'``; a size or scale giving an empty output.
    TypeError
        A non-integer size or non-numeric scale factor.

    Notes
    -----
    For 4-D input in mode ``'nearest'``, PyTorch copies a dim whose size is unchanged and uses
    ``o // 2`` for a dim whose size doubles, whatever the scale factor; its 3-D and 5-D kernels
    do not. convscope reproduces both. In the linear modes a dim of unchanged size is copied.

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> F.interpolate(np.array([[[[1., 2.], [3., 4.]]]]), scale_factor=2, mode="bilinear")[0, 0]
    array([[1.  , 1.25, 1.75, 2.  ],
           [1.5 , 1.75, 2.25, 2.5 ],
           [2.5 , 2.75, 3.25, 3.5 ],
           [3.  , 3.25, 3.75, 4.  ]])
    """
    fn = "interpolate"
    x = float_operand(input, "input", fn)
    data = x.data if isinstance(x, Tensor) else x
    if not isinstance(mode, str) or mode not in _INTERPOLATE_MODES:
        raise ValueError(f"{fn}: mode expects one of {', '.join(map(repr, _INTERPOLATE_MODES))}, but got {mode!r}")
    if data.ndim not in (3, 4, 5):
        raise ValueError(f"{fn}: input expects 3, 4 or 5 dimensions (N, C, *spatial), but got shape {data.shape}")
    n = data.ndim - 2
    if _INTERPOLATE_MODES[mode] not in (None, n):
        raise ValueError(f"{fn}: mode {mode!r} expects a {_INTERPOLATE_MODES[mode] + 2}-D input, but got shape "
                         f"{data.shape} (use mode {_LINEAR_MODE_NAMES[n]!r})")
    if mode == "nearest":
        if align_corners is not None:
            raise ValueError(f"{fn}: align_corners applies to the linear modes only, but got "
                             f"align_corners={align_corners!r} with mode 'nearest'")
        align_corners = False
    elif align_corners is None:
        align_corners = False
    elif not isinstance(align_corners, (bool, np.bool_)):
        raise TypeError(f"{fn}: align_corners expects a bool or None, but got {align_corners!r}")
    if antialias:
        raise ValueError(f"{fn}: antialias expects False (anti-aliased resizing is not implemented), "
                         f"but got {antialias!r}")
    spatial = data.shape[2:]
    if (size is None) == (scale_factor is None):
        which = "both" if size is not None else "neither"
        raise ValueError(f"{fn}: expects exactly one of size and scale_factor, but got {which}")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError(f"{fn}: recompute_scale_factor applies to scale_factor only, but size was given")
        out = V.to_tuple(size, n, "size", fn, minimum=1)
        scales = (None,) * n
    else:
        factors = _scale_factors(scale_factor, n, fn)
        if not all(math.isfinite(float(length) * f) for length, f in zip(spatial, factors)):
            raise ValueError(f"{fn}: scale_factor={scale_factor!r} expects a finite output size, but size x "
                             f"scale_factor overflows for input size {tuple(spatial)}")
        out = resize_ops.output_size(spatial, factors)
        if min(out) < 1:
            raise ValueError(f"{fn}: scale_factor={scale_factor!r} expects to give output sizes >= 1, but gives "
                             f"{out} for input size {tuple(spatial)}")
        scales = (None,) * n if recompute_scale_factor else factors
    if min(spatial) < 1:
        raise ValueError(f"{fn}: input expects spatial sizes >= 1, but got shape {data.shape}")
    V.check_addressable(data.shape[:2] + tuple(out), data.itemsize, fn, "an output",
                        f"size={size!r}" if size is not None else f"scale_factor={scale_factor!r}")
    return InterpolateFunction.apply(x, out=out, mode="nearest" if mode == "nearest" else "linear",
                              align_corners=bool(align_corners), scales=scales,
                              shortcuts=(mode == "nearest" and n == 2))
