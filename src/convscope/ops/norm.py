"""Batch normalisation over the channel axis 1 of (N, C, *spatial) inputs."""

from __future__ import annotations

import numpy as np


def _axes(x):
    return (0,) + tuple(range(2, x.ndim))


def _per_channel(v, ndim):
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def _channel_sum(a):
    """Sum over every axis but 1, as one reduction over a (N, C, M) view."""
    return a.reshape(a.shape[0], a.shape[1], -1).sum(axis=(0, 2))


def _channel_dot(a, b):
    """Per-channel sum of a * b without a temporary of the full size."""
    return np.einsum("ncm,ncm->c", a.reshape(a.shape[0], a.shape[1], -1), b.reshape(b.shape[0], b.shape[1], -1))


def batch_norm_train(x, weight, bias, eps):
    """Normalise with the batch's statistics. Returns (y, batch_mean, batch_var_unbiased, cache).

    ``y = (x - mean) / sqrt(var + eps) * weight + bias`` with the biased variance, as PyTorch;
    the unbiased variance is returned for the running estimate. Computed as one per-channel
    affine map of the centred input, which the cache keeps for backward.

    Examples
    --------
    One channel of four values: mean 2.5, biased variance 1.25, unbiased 5/3.

    >>> x = np.array([1., 2., 3., 4.]).reshape(4, 1)
    >>> y, mean, var, cache = batch_norm_train(x, None, None, 0.0)
    >>> y.ravel().round(4).tolist(), mean.tolist(), var.round(4).tolist()
    ([-1.3416, -0.4472, 0.4472, 1.3416], [2.5], [1.6667])
    """
    count = x.size // x.shape[1]
    mean = _channel_sum(x) / count
    xc = x - _per_channel(mean.astype(x.dtype), x.ndim)
    var = _channel_dot(xc, xc) / count
    inv_std = 1.0 / np.sqrt(var + eps)
    scale = inv_std if weight is None else inv_std * weight
    y = xc * _per_channel(scale.astype(x.dtype), x.ndim)
    if bias is not None:
        y += _per_channel(bias.astype(x.dtype), x.ndim)
    unbiased = var * count / max(count - 1, 1)
    return y, mean, unbiased, (xc, inv_std, weight)


def batch_norm_train_backward(g, cache):
    """Gradients (gx, gweight, gbias) of :func:`batch_norm_train`.

    With xhat = xc * inv_std and m values per channel:
    ``gx = w * inv_std * (g - mean(g) - xhat * mean(g * xhat))``, one affine map of g and xc.

    Examples
    --------
    A uniform upstream gradient moves only the bias: normalising removes any shift of ``x``.

    >>> x = np.array([1., 2., 3., 4.]).reshape(4, 1)
    >>> cache = batch_norm_train(x, None, None, 0.0)[3]
    >>> gx, gweight, gbias = batch_norm_train_backward(np.ones((4, 1)), cache)
    >>> gx.ravel().round(4).tolist(), gweight.round(4).tolist(), gbias.tolist()
    ([0.0, 0.0, 0.0, 0.0], [0.0], [4.0])
    """
    xc, inv_std, weight = cache
    count = g.size // g.shape[1]
    gbias = _channel_sum(g)
    g_xc = _channel_dot(g, xc)
    gweight = g_xc * inv_std
    w = 1.0 if weight is None else weight
    a = w * inv_std                                          # coefficient of g
    b = -w * inv_std ** 3 * g_xc / count                     # coefficient of xc
    c = -a * gbias / count                                   # constant per channel
    dt = g.dtype
    gx = g * _per_channel(a.astype(dt), g.ndim)
    gx += xc * _per_channel(b.astype(dt), g.ndim)
    gx += _per_channel(c.astype(dt), g.ndim)
    return gx, gweight, gbias


def batch_norm_eval(x, running_mean, running_var, weight, bias, eps):
    """Normalise with fixed statistics: an affine map per channel.

    Returns ``(y, scale)``, ``scale = weight / sqrt(running_var + eps)`` per channel.

    Examples
    --------
    Two channels, with running means 1 and 10 and running variances 4 and 100:

    >>> x = np.array([[1., 10.], [3., 20.]])
    >>> y, scale = batch_norm_eval(x, np.array([1., 10.]), np.array([4., 100.]), None, None, 0.0)
    >>> y.tolist(), scale.tolist()
    ([[0.0, 0.0], [1.0, 1.0]], [0.5, 0.1])
    """
    scale = 1.0 / np.sqrt(running_var + eps)
    if weight is not None:
        scale = scale * weight
    shift = -running_mean * scale + (bias if bias is not None else 0)
    y = x * _per_channel(scale.astype(x.dtype), x.ndim) + _per_channel(shift.astype(x.dtype), x.ndim)
    return y, scale


def batch_norm_eval_backward(g, x, running_mean, running_var, weight, eps):
    """Gradients ``(gx, gweight, gbias)`` of :func:`batch_norm_eval` (the statistics are constants).

    Examples
    --------
    >>> x = np.array([[1., 10.], [3., 20.]])
    >>> gx, gweight, gbias = batch_norm_eval_backward(np.ones((2, 2)), x, np.array([1., 10.]),
    ...                                               np.array([4., 100.]), None, 0.0)
    >>> gx.tolist(), gweight.tolist(), gbias.tolist()
    ([[0.5, 0.1], [0.5, 0.1]], [1.0, 1.0], [2.0, 2.0])
    """
    inv_std = 1.0 / np.sqrt(running_var + eps)
    xhat = (x - _per_channel(running_mean, x.ndim)) * _per_channel(inv_std, x.ndim)
    axes = _axes(g)
    gx = g * _per_channel(inv_std * (weight if weight is not None else 1), g.ndim)
    return gx, (g * xhat).sum(axis=axes), g.sum(axis=axes)
