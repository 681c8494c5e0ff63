"""Parameter: a Tensor that a Module owns and an optimizer updates."""

from __future__ import annotations

from typing import Any

from ..autograd import Tensor


class Parameter(Tensor):
    """A leaf Tensor registered by assignment to a :class:`~convscope.nn.Module` attribute.

    ``requires_grad`` defaults to True. Optimizers update ``.data`` in place and read ``.grad``.

    Examples
    --------
    >>> import numpy as np
    >>> w = Parameter(np.array([1.0, -2.0]))
    >>> w.requires_grad, w.is_leaf, w.shape
    (True, True, (2,))
    >>> (w * w).sum().backward()
    >>> w.grad.tolist()                       # d(sum w^2)/dw = 2w
    [2.0, -4.0]
    >>> w
    Parameter containing:
    tensor([ 1., -2.], dtype=float64, requires_grad=True)
    >>> from convscope import nn
    >>> isinstance(nn.Linear(2, 1).weight, Parameter)
    True
    """

    def __init__(self, data: Any, requires_grad: bool = True):
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
