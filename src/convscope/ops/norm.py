"""Batch normalisation over the channel axis 1 of (N, C, *spatial) inputs."""

from __future__ import annotations

import numpy as np


def _axes(x):
    return (0,) + tuple(range(2, x.ndim))


def _per_channel(v, ndim):
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def batch_norm_train(x, weight, bias, eps):
    """Normalise with the batch's statistics. Returns (y, batch_mean, batch_var_unbiased, cache).

    ``y = (x - mean) / sqrt(var + eps) * weight + bias`` with the biased variance, as PyTorch;
    the unbiased variance is returned for the running estimate.
    """
    axes = _axes(x)
    count = x.size // x.shape[1]
    mean = x.mean(axis=axes)
    xc = x - _per_channel(mean, x.ndim)
    var = (xc * xc).mean(axis=axes)
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat = xc * _per_channel(inv_std, x.ndim)
    y = xhat * _per_channel(weight, x.ndim) + _per_channel(bias, x.ndim) if weight is not None else xhat
    unbiased = var * count / max(count - 1, 1)
    return y.astype(x.dtype, copy=False), mean, unbiased, (xhat, inv_std, weight)


def batch_norm_train_backward(g, cache):
    """Gradients (gx, gweight, gbias) of :func:`batch_norm_train`."""
    xhat, inv_std, weight = cache
    axes = _axes(g)
    gbias = g.sum(axis=axes)
    gweight = (g * xhat).sum(axis=axes)
    gxhat = g * _per_channel(weight, g.ndim) if weight is not None else g
    count = g.size // g.shape[1]
    # d/dx of (x - mean) * inv_std, with mean and var depending on x
    gx = (gxhat - _per_channel(gxhat.mean(axis=axes), g.ndim)
          - xhat * _per_channel((gxhat * xhat).sum(axis=axes) / count, g.ndim)) * _per_channel(inv_std, g.ndim)
    return gx, gweight, gbias


def batch_norm_eval(x, running_mean, running_var, weight, bias, eps):
    """Normalise with fixed statistics: an affine map per channel."""
    scale = 1.0 / np.sqrt(running_var + eps)
    if weight is not None:
        scale = scale * weight
    shift = -running_mean * scale + (bias if bias is not None else 0)
    y = x * _per_channel(scale.astype(x.dtype), x.ndim) + _per_channel(shift.astype(x.dtype), x.ndim)
    return y, scale


def batch_norm_eval_backward(g, x, running_mean, running_var, weight, eps):
    inv_std = 1.0 / np.sqrt(running_var + eps)
    xhat = (x - _per_channel(running_mean, x.ndim)) * _per_channel(inv_std, x.ndim)
    axes = _axes(g)
    gx = g * _per_channel(inv_std * (weight if weight is not None else 1), g.ndim)
    return gx, (g * xhat).sum(axis=axes), g.sum(axis=axes)
