"""Normalisation: ``batch_norm`` (:mod:`convscope.ops.norm`)."""

from __future__ import annotations

import numpy as np

from ... import _validation as V
from ...autograd import Function, Tensor
from ...ops import norm as norm_ops
from ._common import float_operand

__all__ = ["batch_norm", "BatchNormFunction"]


class BatchNormFunction(Function):
    """Batch normalisation over axis 1 (:mod:`convscope.ops.norm`).

    Examples
    --------
    >>> import numpy as np
    >>> y = BatchNormFunction.apply(np.array([[1.], [3.]]), None, None, running_mean=None, running_var=None,
    ...                             training=True, momentum=0.1, eps=0.0)
    >>> y.tolist()
    [[-1.0], [1.0]]
    """

    name = "batch_norm"

    @staticmethod
    def forward(ctx, x, weight, bias, *, running_mean, running_var, training, momentum, eps):
        if training:
            y, mean, var_unbiased, cache = norm_ops.batch_norm_train(x, weight, bias, eps)
            if running_mean is not None:
                # In-place update of the module's buffers, as PyTorch does.
                running_mean *= 1 - momentum
                running_mean += momentum * mean.astype(running_mean.dtype)
                running_var *= 1 - momentum
                running_var += momentum * var_unbiased.astype(running_var.dtype)
            ctx.save_for_backward(cache)
            ctx.training = True
            return y
        y, _ = norm_ops.batch_norm_eval(x, running_mean, running_var, weight, bias, eps)
        ctx.save_for_backward(x, running_mean.copy(), running_var.copy(), weight, eps)
        ctx.training = False
        return y

    @staticmethod
    def backward(ctx, g):
        if ctx.training:
            gx, gw, gb = norm_ops.batch_norm_train_backward(g, ctx.saved[0])
        else:
            gx, gw, gb = norm_ops.batch_norm_eval_backward(g, *ctx.saved)
        return gx, gw, gb


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5):
    """Batch normalisation over axis 1 of (N, C, *spatial), like ``torch.nn.functional.batch_norm``.

    In training, normalises with the batch's mean and biased variance and, when running stats are
    given, updates them in place: ``running = (1 - momentum) * running + momentum * batch_stat``
    (the unbiased variance for ``running_var``). In eval, uses the running stats.

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> mean, var = np.zeros(1), np.ones(1)
    >>> F.batch_norm(np.array([[1.], [3.]]), mean, var, training=True).round(4).tolist()
    [[-1.0], [1.0]]
    >>> mean.tolist(), var.round(4).tolist()        # updated in place: the batch variance is 2 (unbiased)
    ([0.2], [1.1])
    >>> F.batch_norm(np.array([[2.]]), np.array([1.]), np.array([4.]), eps=0.).tolist()   # eval: (2 - 1) / 2
    [[0.5]]
    """
    fn = "batch_norm"
    x = float_operand(input, "input", fn)
    data = x.data if isinstance(x, Tensor) else x
    if data.ndim < 2:
        raise ValueError(f"{fn}: input expects at least 2 dimensions (N, C, ...), but got shape {data.shape}")
    C = data.shape[1]
    rm = None if running_mean is None else np.asarray(running_mean.data if isinstance(running_mean, Tensor) else running_mean)
    rv = None if running_var is None else np.asarray(running_var.data if isinstance(running_var, Tensor) else running_var)
    for name, v in (("running_mean", rm), ("running_var", rv), ("weight", weight), ("bias", bias)):
        if v is not None and np.shape(v.data if isinstance(v, Tensor) else v) != (C,):
            raise ValueError(f"{fn}: {name} expects shape ({C},) (one per channel), but got "
                             f"{np.shape(v.data if isinstance(v, Tensor) else v)}")
    if not training and (rm is None or rv is None):
        raise ValueError(f"{fn}: eval mode expects running_mean and running_var, but got None")
    eps = V.check_real(eps, "eps", fn)
    momentum = V.check_real(momentum, "momentum", fn)
    if training and data.size // max(C, 1) <= 1:
        raise ValueError(f"{fn}: training expects more than 1 value per channel, but got input shape {data.shape}")
    w = weight if (weight is None or isinstance(weight, Tensor)) else np.asarray(weight, dtype=data.dtype)
    b = bias if (bias is None or isinstance(bias, Tensor)) else np.asarray(bias, dtype=data.dtype)
    if w is None and b is not None:
        w = np.ones(C, dtype=data.dtype)
    if b is None and w is not None:
        b = np.zeros(C, dtype=data.dtype)
    return BatchNormFunction.apply(x, w, b, running_mean=rm, running_var=rv, training=training,
                            momentum=momentum, eps=eps)
