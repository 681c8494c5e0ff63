"""Linear layers and flattening: ``linear``, ``flatten`` (:mod:`convscope.ops.linear`)."""

from __future__ import annotations

import math

import numpy as np

from ... import _validation as V
from ...autograd import Function, Tensor
from ...ops import linear as linear_ops
from ._common import as_array, cast_grads

__all__ = ["linear", "flatten", "LinearFunction"]


class LinearFunction(Function):
    """``x @ w.T + b`` over the last axis, in the operands' common floating dtype.

    Examples
    --------
    >>> import numpy as np
    >>> x, w = np.ones((4, 3)), np.ones((2, 3))
    >>> y = LinearFunction.apply(x, w, None)
    >>> y.shape, LinearFunction.describe((x, w, None), {}, y)
    ((4, 2), ('linear', {'in_features': 3, 'out_features': 2}))
    """

    name = "linear"

    @classmethod
    def describe(cls, arrays, options, output):
        w = arrays[1]
        return cls.name, {"in_features": int(np.shape(w)[1]), "out_features": int(np.shape(w)[0])}

    @staticmethod
    def forward(ctx, x, w, b):
        dtype = V.result_float_dtype(x, w, b)
        xx, ww = x.astype(dtype, copy=False), w.astype(dtype, copy=False)
        ctx.save_for_backward(xx, ww)
        ctx.dtypes = (x.dtype, w.dtype, None if b is None else b.dtype)
        return linear_ops.linear(xx, ww, None if b is None else b.astype(dtype, copy=False))

    @staticmethod
    def backward(ctx, g):
        xx, ww = ctx.saved
        return cast_grads(linear_ops.linear_backward(g.astype(xx.dtype, copy=False), xx, ww, ctx.needs_input_grad),
                           ctx.dtypes)


def linear(input, weight, bias=None):
    """y = input @ weight.T + bias, over the last axis.

    Parameters
    ----------
    input : (*, in_features)
    weight : (out_features, in_features)
    bias : (out_features,), optional

    Returns
    -------
    (*, out_features)

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> F.linear(np.array([[1., 2.]]), np.array([[1., 1.], [1., -1.]]), np.array([0.5, 0.]))
    array([[ 3.5, -1. ]])
    >>> F.linear(np.ones((2, 5, 3)), np.ones((4, 3))).shape      # any leading dims
    (2, 5, 4)
    """
    fn = "linear"
    x, w = as_array(input, "input", fn), as_array(weight, "weight", fn)
    b = None if bias is None else as_array(bias, "bias", fn)
    if w.ndim != 2:
        raise ValueError(f"{fn}: weight expects 2 dimensions (out_features, in_features), but got shape {w.shape}")
    if x.ndim < 1 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"{fn}: input expects {w.shape[1]} features in its last dimension (weight.shape[1]), "
                         f"but got shape {x.shape}")
    if b is not None and b.shape != (w.shape[0],):
        raise ValueError(f"{fn}: bias expects shape ({w.shape[0]},), but got {b.shape}")
    return LinearFunction.apply(input if isinstance(input, Tensor) else x, weight if isinstance(weight, Tensor) else w,
                         bias if (bias is None or isinstance(bias, Tensor)) else b)


def flatten(input, start_dim: int = 1, end_dim: int = -1):
    """Merge dims ``start_dim..end_dim`` into one (``Flatten``'s default keeps the batch dim).

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> x = np.zeros((2, 3, 4, 5))
    >>> F.flatten(x).shape, F.flatten(x, 0, 1).shape, F.flatten(x, 0).shape
    ((2, 60), (6, 4, 5), (120,))
    """
    fn = "flatten"
    nd = max(np.ndim(input.data if isinstance(input, Tensor) else input), 1)
    dims = []
    for name, dim in (("start_dim", start_dim), ("end_dim", end_dim)):
        dim = V.check_int(dim, name, fn)
        if not -nd <= dim < nd:
            raise ValueError(f"{fn}: {name} expects a value in [{-nd}, {nd - 1}] for a {nd}-D input, but got {dim}")
        dims.append(dim % nd)
    start, end = dims
    if start > end:
        raise ValueError(f"{fn}: start_dim expects a dim at or before end_dim, but got start_dim={start_dim} "
                         f"and end_dim={end_dim} for a {nd}-D input")
    x = input if isinstance(input, Tensor) else np.asarray(input)
    # An explicit size, not -1: reshape cannot infer -1 when another dim is 0.
    shape = (1,) if x.ndim == 0 else x.shape[:start] + (math.prod(x.shape[start:end + 1]),) + x.shape[end + 1:]
    return x.reshape(shape)
