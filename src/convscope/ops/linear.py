"""Fully connected layer: y = x W^T + b over the last axis."""

from __future__ import annotations

import numpy as np


def linear(x, w, b):
    y = np.matmul(x, w.T)
    return y + b if b is not None else y


def linear_backward(g, x, w, needs):
    """Gradients (gx, gw, gb); leading axes of x and g are batch axes."""
    gx = np.matmul(g, w) if needs[0] else None
    g2 = g.reshape(-1, g.shape[-1])
    gw = np.matmul(g2.T, x.reshape(-1, x.shape[-1])) if needs[1] else None
    gb = g2.sum(axis=0) if needs[2] else None
    return gx, gw, gb
