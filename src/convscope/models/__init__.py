"""The model zoo: networks built from :mod:`convscope.nn` layers, found by name.

>>> from convscope import models
>>> models.available()            # doctest: +SKIP
['lenet5', 'simple_cnn', 'small_vgg']
>>> net = models.get("lenet5", num_classes=10)
"""

from __future__ import annotations

from typing import Callable

from ..nn.module import Module
from .classic import lenet5, simple_cnn, small_vgg

_REGISTRY: dict[str, Callable[..., Module]] = {
    "lenet5": lenet5,
    "simple_cnn": simple_cnn,
    "small_vgg": small_vgg,
}

__all__ = ["get", "available", "lenet5", "simple_cnn", "small_vgg"]


def available() -> list[str]:
    """Names accepted by :func:`get`, sorted."""
    return sorted(_REGISTRY)


def get(name: str, **kwargs) -> Module:
    """Build the model called ``name`` with its keyword arguments (``num_classes``, ``in_channels``...)."""
    if name not in _REGISTRY:
        raise ValueError(f"models.get: name expects one of {', '.join(available())}, but got {name!r}")
    return _REGISTRY[name](**kwargs)
