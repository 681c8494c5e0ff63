"""Dropout: ``dropout`` and its Function."""

from __future__ import annotations

import numpy as np

from ... import random as _random
from ...autograd import Function, Tensor
from ._common import float_operand

__all__ = ["dropout", "DropoutFunction"]


class DropoutFunction(Function):
    """``x * mask``: dropout with its (scaled) mask drawn by :func:`dropout`."""

    name = "dropout"

    @staticmethod
    def forward(ctx, x, *, mask):
        ctx.mask = mask
        return x * mask

    @staticmethod
    def backward(ctx, g):
        return (g * ctx.mask,)


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False, generator=None):
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``
    (inverted dropout, as PyTorch), in training only; identity otherwise.

    ``generator`` defaults to convscope's seeded global generator.
    """
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise ValueError(f"dropout: p expects a probability in [0, 1], but got {p!r}")
    x = float_operand(input, "input", "dropout")
    if not training or p == 0:
        return x
    data = x.data if isinstance(x, Tensor) else x
    rng = generator if generator is not None else _random.get_generator()
    if p == 1:
        mask = np.zeros(data.shape, dtype=data.dtype)
    else:
        mask = (rng.random(data.shape, dtype=np.float32) >= p).astype(data.dtype) * data.dtype.type(1 / (1 - p))
    return DropoutFunction.apply(x, mask=mask)
