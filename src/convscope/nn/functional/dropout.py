"""Dropout: ``dropout`` and its Function."""

from __future__ import annotations

import numpy as np

from ... import random as _random
from ...autograd import Function, Tensor
from ._common import float_operand

__all__ = ["dropout", "DropoutFunction"]


class DropoutFunction(Function):
    """``x * mask``: dropout with its (scaled) mask drawn by :func:`dropout`.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import Tensor
    >>> x = Tensor(np.array([1., 2., 3.]), requires_grad=True)
    >>> DropoutFunction.apply(x, mask=np.array([2., 0., 2.])).sum().backward()
    >>> x.grad.tolist()       # the gradient goes through the same mask
    [2.0, 0.0, 2.0]
    """

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

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> y = F.dropout(np.ones((100, 100)), p=0.2, generator=np.random.default_rng(0))
    >>> sorted(set(y.ravel().round(4).tolist()))     # survivors are scaled by 1 / (1 - p)
    [0.0, 1.25]
    >>> F.dropout(np.ones(3), p=0.2, training=False)
    array([1., 1., 1.])
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
