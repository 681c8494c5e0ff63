"""Fully connected layer: y = x W^T + b over the last axis."""

from __future__ import annotations

import numpy as np


def linear(x, w, b):
    """``x @ w.T + b`` (``b`` may be None): ``x`` is ``(*, in)``, ``w`` is ``(out, in)``.

    Examples
    --------
    >>> x, w = np.array([[1., 2.]]), np.array([[1., 0.], [0., 1.], [1., 1.]])
    >>> linear(x, w, np.array([0., 0., 0.5])).tolist()
    [[1.0, 2.0, 3.5]]
    >>> linear(x, w, None).shape
    (1, 3)
    """
    y = np.matmul(x, w.T)
    return y + b if b is not None else y


def linear_backward(g, x, w, needs):
    """Gradients (gx, gw, gb); leading axes of x and g are batch axes.

    ``needs`` is three bools; an entry is None where its gradient is not needed.

    Examples
    --------
    >>> x, w = np.array([[1., 2.]]), np.array([[1., 0.], [0., 1.], [1., 1.]])
    >>> gx, gw, gb = linear_backward(np.ones((1, 3)), x, w, (True, True, True))
    >>> gx.tolist(), gw.tolist(), gb.tolist()
    ([[2.0, 2.0]], [[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]], [1.0, 1.0, 1.0])
    >>> linear_backward(np.ones((1, 3)), x, w, (True, False, False))[1:]
    (None, None)
    """
    gx = np.matmul(g, w) if needs[0] else None
    g2 = g.reshape(-1, g.shape[-1])
    gw = np.matmul(g2.T, x.reshape(-1, x.shape[-1])) if needs[1] else None
    gb = g2.sum(axis=0) if needs[2] else None
    return gx, gw, gb
