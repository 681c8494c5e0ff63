"""Parameter: a Tensor that a Module owns and an optimizer updates."""

from __future__ import annotations

from typing import Any

from ..autograd import Tensor


class Parameter(Tensor):
    """A leaf Tensor registered by assignment to a :class:`~convscope.nn.Module` attribute.

    ``requires_grad`` defaults to True. Optimizers update ``.data`` in place and read ``.grad``.
    """

    def __init__(self, data: Any, requires_grad: bool = True):
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
