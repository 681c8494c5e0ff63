"""Losses: ``cross_entropy``, ``nll_loss``, ``mse_loss`` (:mod:`convscope.ops.loss`)."""

from __future__ import annotations

import numpy as np

from ... import _validation as V
from ...autograd import Function, Tensor
from ...ops import loss as loss_ops
from ._common import as_array, float_operand

__all__ = ["cross_entropy", "nll_loss", "mse_loss", "CrossEntropyFunction", "NllLossFunction", "MseLossFunction"]


class CrossEntropyFunction(Function):
    """Cross-entropy of logits against class indices (:mod:`convscope.ops.loss`).

    Examples
    --------
    >>> import numpy as np
    >>> loss = CrossEntropyFunction.apply(np.zeros((2, 4)), target=np.array([0, 3]), weight=None,
    ...                                   ignore_index=-100, reduction="mean", label_smoothing=0.0)
    >>> round(float(loss), 4), round(float(np.log(4)), 4)      # uniform scores: log C
    (1.3863, 1.3863)
    """

    name = "cross_entropy"

    @staticmethod
    def forward(ctx, logits, *, target, weight, ignore_index, reduction, label_smoothing):
        loss, cache = loss_ops.cross_entropy(logits, target, weight, ignore_index, reduction, label_smoothing)
        ctx.save_for_backward(cache)
        return loss

    @staticmethod
    def backward(ctx, g):
        return (loss_ops.cross_entropy_backward(g, ctx.saved[0]),)


_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction, fn):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{fn}: reduction expects 'mean', 'sum' or 'none', but got {reduction!r}")


def cross_entropy(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0):
    """Cross-entropy between class scores (logits) and class indices, like PyTorch's.

    Parameters
    ----------
    input : (N, C) or (N, C, *d) unnormalised scores
    target : (N,) or (N, *d) integer class indices in [0, C) (or ``ignore_index``)
    weight : (C,), optional per-class weights
    reduction : 'mean' (divided by the summed weight of counted targets), 'sum' or 'none'
    label_smoothing : float in [0, 1]: the target becomes (1 - s) one-hot + s / C uniform

    Returns
    -------
    0-d array (or Tensor) for 'mean' and 'sum'; (N,) or (N, *d) for 'none'.

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> logits = np.array([[2., 0., 0.], [0., 0., 0.]])
    >>> round(float(F.cross_entropy(logits, np.array([0, 2]))), 4)
    0.6691
    >>> F.cross_entropy(logits, np.array([0, 2]), reduction="none").round(4).tolist()
    [0.2395, 1.0986]
    >>> round(float(F.cross_entropy(logits, np.array([0, -100]))), 4)      # ignore_index drops a target
    0.2395
    """
    fn = "cross_entropy"
    x = float_operand(input, "input", fn)
    data = x.data if isinstance(x, Tensor) else x
    t = np.asarray(target.data if isinstance(target, Tensor) else target)
    _check_reduction(reduction, fn)
    if data.ndim < 2:
        raise ValueError(f"{fn}: input expects (N, C) or (N, C, d1, ...) class scores, but got shape {data.shape}")
    if t.dtype.kind not in "iu":
        raise TypeError(f"{fn}: target expects integer class indices, but got dtype {t.dtype}")
    ignore_index = V.check_int(ignore_index, "ignore_index", fn)
    want = (data.shape[0],) + data.shape[2:]
    if t.shape != want:
        raise ValueError(f"{fn}: target expects shape {want} for input of shape {data.shape}, but got {t.shape}")
    C = data.shape[1]
    bad = (t != ignore_index) & ((t < 0) | (t >= C))
    if bad.any():
        pos = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{fn}: target expects class indices in [0, {C}) or ignore_index={ignore_index}, but got "
                         f"{int(t[pos])} at position {pos if len(pos) > 1 else pos[0]}")
    label_smoothing = V.check_real(label_smoothing, "label_smoothing", fn, low=0, high=1)
    w = None
    if weight is not None:
        w = as_array(weight, "weight", fn).astype(data.dtype)
        if w.shape != (C,):
            raise ValueError(f"{fn}: weight expects shape ({C},) (one per class), but got {w.shape}")
    return CrossEntropyFunction.apply(x, target=t.astype(np.int64), weight=w, ignore_index=ignore_index,
                               reduction=reduction, label_smoothing=float(label_smoothing))


class NllLossFunction(Function):
    """Negative log-likelihood of log-probabilities (:mod:`convscope.ops.loss`).

    Examples
    --------
    >>> import numpy as np
    >>> logp = np.log(np.array([[0.5, 0.5], [0.25, 0.75]]))
    >>> NllLossFunction.apply(logp, target=np.array([0, 1]), weight=None, ignore_index=-100,
    ...                       reduction="none").round(4).tolist()
    [0.6931, 0.2877]
    """

    name = "nll_loss"

    @staticmethod
    def forward(ctx, logp, *, target, weight, ignore_index, reduction):
        loss, cache = loss_ops.nll_loss(logp, target, weight, ignore_index, reduction)
        ctx.save_for_backward(cache)
        return loss

    @staticmethod
    def backward(ctx, g):
        return (loss_ops.nll_loss_backward(g, ctx.saved[0]),)


def nll_loss(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean"):
    """Negative log-likelihood of log-probabilities (pair with log_softmax), like PyTorch's.

    ``input`` (N, C) or (N, C, *d), ``target`` (N,) or (N, *d) class indices; reductions,
    ``weight`` and ``ignore_index`` as :func:`cross_entropy`. The mean over an empty batch (or
    over only ignored targets) is NaN, as in PyTorch.

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> logits = np.array([[2., 0., 0.], [0., 0., 0.]])
    >>> loss = F.nll_loss(F.log_softmax(logits, dim=1), np.array([0, 2]))
    >>> round(float(loss), 4)           # the same as F.cross_entropy(logits, target)
    0.6691
    >>> float(F.nll_loss(np.zeros((0, 3)), np.zeros(0, dtype=int)))
    nan
    """
    fn = "nll_loss"
    x = float_operand(input, "input", fn)
    data = x.data if isinstance(x, Tensor) else x
    t = np.asarray(target.data if isinstance(target, Tensor) else target)
    _check_reduction(reduction, fn)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{fn}: target expects integer class indices, but got dtype {t.dtype}")
    if data.ndim < 2 or t.shape != (data.shape[0],) + data.shape[2:]:
        raise ValueError(f"{fn}: input (N, C, ...) and target (N, ...) expect matching shapes, but got "
                         f"{data.shape} and {t.shape}")
    ignore_index = V.check_int(ignore_index, "ignore_index", fn)
    C = data.shape[1]
    keep = t != ignore_index
    if ((t < 0) | (t >= C))[keep].any():
        raise ValueError(f"{fn}: target expects class indices in [0, {C}), but got values outside")
    w = None
    if weight is not None:
        w = as_array(weight, "weight", fn).astype(data.dtype)
        if w.shape != (C,):
            raise ValueError(f"{fn}: weight expects shape ({C},) (one per class), but got {w.shape}")
    return NllLossFunction.apply(x, target=t.astype(np.int64), weight=w, ignore_index=ignore_index, reduction=reduction)


def _raw_array(value):
    return value.data if isinstance(value, Tensor) else value


class MseLossFunction(Function):
    """Mean (or summed) squared error (:mod:`convscope.ops.loss`).

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import Tensor
    >>> x = Tensor(np.array([1., 2.]), requires_grad=True)
    >>> MseLossFunction.apply(x, np.array([0., 0.]), reduction="mean").backward()
    >>> x.grad.tolist()                 # 2 * (x - y) / n
    [1.0, 2.0]
    """

    name = "mse_loss"

    @staticmethod
    def forward(ctx, x, y, *, reduction):
        ctx.save_for_backward(x, y)
        ctx.reduction = reduction
        return loss_ops.mse(x, y, reduction)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved
        gx = loss_ops.mse_backward(g, x, y, ctx.reduction)
        return gx, -gx


def mse_loss(input, target, reduction: str = "mean"):
    """Mean (or summed) squared error; shapes must match exactly (no silent broadcasting).

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> x, y = np.array([1., 2.]), np.array([0., 0.])
    >>> float(F.mse_loss(x, y)), float(F.mse_loss(x, y, reduction="sum"))
    (2.5, 5.0)
    >>> F.mse_loss(x, y, reduction="none")
    array([1., 4.])
    """
    fn = "mse_loss"
    x, t = float_operand(input, "input", fn), float_operand(target, "target", fn)
    _check_reduction(reduction, fn)
    if np.shape(_raw_array(x)) != np.shape(_raw_array(t)):
        raise ValueError(f"{fn}: target expects the input's shape {np.shape(_raw_array(x))}, but got "
                         f"{np.shape(_raw_array(t))}")
    return MseLossFunction.apply(x, t, reduction=reduction)
