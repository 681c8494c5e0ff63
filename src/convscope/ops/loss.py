"""Losses: cross-entropy (with class weights, ignore_index, label smoothing) and MSE.

Class scores are ``(N, C)`` or ``(N, C, *d)`` (per-pixel classification); targets are class
indices ``(N,)`` or ``(N, *d)``. Reductions follow PyTorch: 'mean' divides by the summed weight
of the counted targets, 'sum' adds, 'none' keeps one loss per target.
"""

from __future__ import annotations

import numpy as np

from .activation import log_softmax


def _class_last(x):
    """(N, C, *d) -> (M, C) with the class axis last, rows in target order."""
    if x.ndim == 2:
        return x
    return np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def cross_entropy(logits, target, weight, ignore_index, reduction, label_smoothing):
    """Returns (loss, cache). ``loss`` is a 0-d array, or per-target for reduction='none'."""
    C = logits.shape[1]
    z = _class_last(logits)
    t = target.reshape(-1)
    logp = log_softmax(z, axis=1)
    keep = t != ignore_index
    safe_t = np.where(keep, t, 0)
    w = np.ones(C, dtype=z.dtype) if weight is None else weight.astype(z.dtype, copy=False)
    wt = w[safe_t] * keep                                       # weight of each target (0 if ignored)
    nll = -logp[np.arange(len(t)), safe_t] * wt
    smooth = -(logp * w).sum(axis=1) * keep                     # PyTorch weights the smoothing term too
    per = (1 - label_smoothing) * nll + (label_smoothing / C) * smooth
    if reduction == "none":
        loss = per.reshape(target.shape)
        denom = None
    elif reduction == "sum":
        loss, denom = per.sum(), 1.0
    else:
        denom = wt.sum()
        loss = per.sum() / denom
    cache = (logp, safe_t, keep, w, wt, denom, logits.shape, label_smoothing, reduction)
    return np.asarray(loss, dtype=z.dtype), cache


def cross_entropy_backward(g, cache):
    logp, safe_t, keep, w, wt, denom, shape, eps, reduction = cache
    M, C = logp.shape
    p = np.exp(logp)
    # d(nll_i)/dz = wt_i (p - onehot);  d(smooth_i)/dz = keep_i (sum(w) p - w)
    grad = (1 - eps) * wt[:, None] * p
    grad[np.arange(M), safe_t] -= (1 - eps) * wt
    if eps:
        grad += (eps / C) * keep[:, None] * (w.sum() * p - w[None, :])
    if reduction == "none":
        grad *= np.reshape(g, (-1, 1))
    else:
        grad *= g / denom if reduction == "mean" else g
    if len(shape) == 2:
        return grad
    return np.moveaxis(grad.reshape((shape[0],) + shape[2:] + (C,)), -1, 1)


def mse(x, y, reduction):
    d = x - y
    if reduction == "none":
        return d * d
    return np.asarray((d * d).sum() if reduction == "sum" else (d * d).mean(), dtype=d.dtype)


def mse_backward(g, x, y, reduction):
    d = x - y
    scale = 2.0 / d.size if reduction == "mean" else 2.0
    return g * scale * d
