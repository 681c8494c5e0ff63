"""Losses: cross-entropy (with class weights, ignore_index, label smoothing) and MSE.

Class scores are ``(N, C)`` or ``(N, C, *d)`` (per-pixel classification); targets are class
indices ``(N,)`` or ``(N, *d)``. Reductions follow PyTorch: 'mean' divides by the summed weight
of the counted targets, 'sum' adds, 'none' keeps one loss per target.
"""

from __future__ import annotations

import numpy as np

from .activation import log_softmax


def _class_last(x, rows: int):
    """(N, C, *d) -> (rows, C) with the class axis last, rows in target order (``rows`` is the
    number of targets, given so that an empty class axis still reshapes)."""
    if x.ndim == 2:
        return x
    return np.moveaxis(x, 1, -1).reshape(rows, x.shape[1])


def _class_first(grad, shape):
    """The inverse of :func:`_class_last`: (M, C) back to ``shape`` = (N, C, *d)."""
    if len(shape) == 2:
        return grad
    return np.moveaxis(grad.reshape((shape[0],) + tuple(shape[2:]) + (shape[1],)), -1, 1)


def _targets(target, C, weight, ignore_index, dtype):
    """Flat targets, which of them count, their safe class (0 where ignored), the class weights
    and each target's weight (0 where ignored). With ``C == 0`` every target is ignored (the
    caller checks), and nothing is looked up in the empty class axis."""
    t = target.reshape(-1)
    keep = t != ignore_index
    safe_t = np.where(keep, t, 0)
    w = np.ones(C, dtype=dtype) if weight is None else weight.astype(dtype, copy=False)
    wt = w[safe_t] * keep if C else np.zeros(t.shape, dtype=dtype)
    return keep, safe_t, w, wt


def _picked(z, keep, safe_t):
    """``z[i, t_i]`` for each counted target, 0 for the ignored ones (whatever ``z`` holds there)."""
    if z.shape[1] == 0:
        return np.zeros(len(keep), dtype=z.dtype)
    return np.where(keep, z[np.arange(len(keep)), safe_t], 0)


def _reduce(per, wt, target_shape, reduction, dtype):
    """(loss, denom): 'mean' divides by the summed target weight, which is 0 for an empty batch
    or all targets ignored; the loss is then NaN, as PyTorch's (0 / 0, without a warning)."""
    if reduction == "none":
        return per.reshape(target_shape), None
    if reduction == "sum":
        return np.asarray(per.sum(), dtype=dtype), 1.0
    denom = wt.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(per.sum() / denom, dtype=dtype), denom


def _scale(grad, g, keep, denom, reduction):
    """Multiply the per-target gradient rows by the upstream gradient (over ``denom`` for 'mean');
    ignored targets get exactly 0, as in PyTorch, even where that factor is inf or NaN (a mean over
    no counted target). Counted targets with weight 0 under such a mean get NaN, as in PyTorch."""
    with np.errstate(invalid="ignore", divide="ignore"):
        if reduction == "none":
            grad *= np.reshape(g, (-1, 1))
        else:
            grad *= g / denom if reduction == "mean" else g
    grad[~keep] = 0
    return grad


def cross_entropy(logits, target, weight, ignore_index, reduction, label_smoothing):
    """Returns (loss, cache). ``loss`` is a 0-d array, or per-target for reduction='none'.

    An empty batch gives an empty loss ('none'), 0 ('sum') or NaN ('mean'), as PyTorch.

    Parameters
    ----------
    logits : (N, C) or (N, C, *d) float array
    target : (N,) or (N, *d) int array of class indices
    weight : (C,) array or None
    ignore_index : int
        Targets equal to it count for nothing (PyTorch's default is -100).
    reduction : {'mean', 'sum', 'none'}
    label_smoothing : float in [0, 1]

    Examples
    --------
    Equal logits over 2 classes cost ``log 2`` whatever the target:

    >>> logits, target = np.zeros((2, 2)), np.array([0, 1])
    >>> loss, cache = cross_entropy(logits, target, None, -100, "mean", 0.0)
    >>> round(float(loss), 4)
    0.6931
    >>> cross_entropy(logits, target, None, -100, "none", 0.0)[0].round(4).tolist()
    [0.6931, 0.6931]
    """
    C = logits.shape[1]
    z = _class_last(logits, target.size)
    logp = log_softmax(z, axis=1)
    keep, safe_t, w, wt = _targets(target, C, weight, ignore_index, z.dtype)
    nll = -_picked(logp, keep, safe_t) * wt
    smooth = -(logp * w).sum(axis=1) * keep                     # PyTorch weights the smoothing term too
    per = (1 - label_smoothing) * nll + (label_smoothing / C if C else 0.0) * smooth
    loss, denom = _reduce(per, wt, target.shape, reduction, z.dtype)
    cache = (logp, safe_t, keep, w, wt, denom, logits.shape, label_smoothing, reduction)
    return loss, cache


def cross_entropy_backward(g, cache):
    """Gradient of :func:`cross_entropy` with respect to the logits, from its ``cache``.

    Per target row, ``softmax(z) - onehot(t)`` (weighted and smoothed), times ``g`` and the
    reduction's factor; rows of ignored targets are 0.

    Examples
    --------
    >>> logits, target = np.zeros((2, 2)), np.array([0, 1])
    >>> loss, cache = cross_entropy(logits, target, None, -100, "mean", 0.0)
    >>> cross_entropy_backward(np.array(1.0), cache).tolist()
    [[-0.25, 0.25], [0.25, -0.25]]

    An ignored target gets no gradient, and the mean is over the one that is left:

    >>> loss, cache = cross_entropy(logits, np.array([0, -100]), None, -100, "mean", 0.0)
    >>> cross_entropy_backward(np.array(1.0), cache).tolist()
    [[-0.5, 0.5], [0.0, 0.0]]
    """
    logp, safe_t, keep, w, wt, denom, shape, eps, reduction = cache
    M, C = logp.shape
    p = np.exp(logp)
    # d(nll_i)/dz = wt_i (p - onehot);  d(smooth_i)/dz = keep_i (sum(w) p - w)
    grad = (1 - eps) * wt[:, None] * p
    if C:
        grad[np.arange(M), safe_t] -= (1 - eps) * wt
    if eps and C:
        grad += (eps / C) * keep[:, None] * (w.sum() * p - w[None, :])
    return _class_first(_scale(grad, g, keep, denom, reduction), shape)


def nll_loss(logp, target, weight, ignore_index, reduction):
    """Negative log-likelihood of log-probabilities ``logp`` (N, C, *d) at targets (N, *d).

    Returns (loss, cache); reductions and empty batches as :func:`cross_entropy`.

    Examples
    --------
    The 'mean' divides by the summed weight of the targets, here ``1 + 3``:

    >>> logp, target = np.log(np.array([[0.5, 0.5], [0.25, 0.75]])), np.array([0, 1])
    >>> round(float(nll_loss(logp, target, None, -100, "mean")[0]), 4)
    0.4904
    >>> round(float(nll_loss(logp, target, np.array([1., 3.]), -100, "mean")[0]), 4)
    0.389
    """
    C = logp.shape[1]
    z = _class_last(logp, target.size)
    keep, safe_t, _, wt = _targets(target, C, weight, ignore_index, z.dtype)
    per = -_picked(z, keep, safe_t) * wt
    loss, denom = _reduce(per, wt, target.shape, reduction, z.dtype)
    return loss, (safe_t, keep, wt, denom, logp.shape, reduction, z.dtype)


def nll_loss_backward(g, cache):
    """Gradient of :func:`nll_loss`: ``-w[t_i]`` (times the reduction's factor) at each counted
    target, 0 elsewhere.

    Examples
    --------
    >>> logp, target = np.log(np.array([[0.5, 0.5], [0.25, 0.75]])), np.array([0, 1])
    >>> loss, cache = nll_loss(logp, target, np.array([1., 3.]), -100, "mean")
    >>> nll_loss_backward(np.array(1.0), cache).tolist()
    [[-0.25, 0.0], [0.0, -0.75]]
    """
    safe_t, keep, wt, denom, shape, reduction, dtype = cache
    M, C = len(keep), shape[1]
    grad = np.zeros((M, C), dtype=dtype)
    if C:
        # Only the target entries are scaled: elsewhere the gradient is exactly 0, even where the
        # mean's factor is inf (PyTorch: NaN at a counted target of weight 0, 0 around it).
        values = _scale(-wt[:, None], g, keep, denom, reduction)[:, 0]
        grad[np.arange(M), safe_t] = values
    return _class_first(grad, shape)


def mse(x, y, reduction):
    """Squared error per element, summed, or averaged ('mean' of no element is NaN, as PyTorch).

    Examples
    --------
    >>> x, y = np.array([1., 2., 3.]), np.array([1., 0., 0.])
    >>> mse(x, y, "none").tolist(), float(mse(x, y, "sum")), round(float(mse(x, y, "mean")), 4)
    ([0.0, 4.0, 9.0], 13.0, 4.3333)
    >>> float(mse(np.zeros(0), np.zeros(0), "mean"))
    nan
    """
    d = x - y
    if reduction == "none":
        return d * d
    if reduction == "mean" and d.size == 0:
        return np.asarray(np.nan, dtype=d.dtype)
    return np.asarray((d * d).sum() if reduction == "sum" else (d * d).mean(), dtype=d.dtype)


def mse_backward(g, x, y, reduction):
    """Gradient of :func:`mse` with respect to ``x``: ``2 (x - y) g``, over ``x.size`` for 'mean'.

    Examples
    --------
    >>> x, y = np.array([1., 2., 3.]), np.array([1., 0., 0.])
    >>> mse_backward(np.array(1.0), x, y, "sum").tolist()
    [0.0, 4.0, 6.0]
    >>> mse_backward(np.array(1.0), x, y, "mean").round(4).tolist()
    [0.0, 1.3333, 2.0]
    """
    d = x - y
    scale = 2.0 / d.size if reduction == "mean" and d.size else 2.0
    return g * scale * d
