"""The model zoo: networks built from :mod:`convscope.nn` layers, found by name.

Every builder takes ``num_classes`` and ``in_channels`` (keywords recommended). The ImageNet
architectures use torchvision's parameter names and shapes, so their weights move between the
two libraries as plain arrays.

>>> from convscope import models
>>> "resnet18" in models.available()
True
>>> net = models.get("lenet5", num_classes=10)
"""

from __future__ import annotations

from functools import partial
from typing import Callable

from ..nn.module import Module
from .alexnet import alexnet
from .classic import lenet5, simple_cnn, small_vgg
from .googlenet import googlenet
from .mobilenet import mobilenet_v1
from .resnet import resnet18, resnet34, resnet50, resnet101
from .segmentation import dilated_segmenter
from .tiny_vgg import tiny_vgg
from .vgg import vgg11, vgg16

_REGISTRY: dict[str, Callable[..., Module]] = {
    "lenet5": lenet5,
    "simple_cnn": simple_cnn,
    "small_vgg": small_vgg,
    "alexnet": alexnet,
    "vgg11": vgg11,
    "vgg11_bn": partial(vgg11, batch_norm=True),
    "vgg16": vgg16,
    "vgg16_bn": partial(vgg16, batch_norm=True),
    "resnet18": resnet18,
    "resnet34": resnet34,
    "resnet50": resnet50,
    "resnet101": resnet101,
    "googlenet": googlenet,
    "mobilenet_v1": mobilenet_v1,
    "tiny_vgg": tiny_vgg,
    "dilated_segmenter": dilated_segmenter,
}

__all__ = ["get", "available", "lenet5", "simple_cnn", "small_vgg", "alexnet", "vgg11", "vgg16",
           "resnet18", "resnet34", "resnet50", "resnet101", "googlenet", "mobilenet_v1", "tiny_vgg",
           "dilated_segmenter"]


def available() -> list[str]:
    """Names accepted by :func:`get`, sorted.

    Examples
    --------
    >>> from convscope import models
    >>> models.available()[:3]
    ['alexnet', 'dilated_segmenter', 'googlenet']
    """
    return sorted(_REGISTRY)


def get(name: str, **kwargs) -> Module:
    """Build the model called ``name`` with its keyword arguments (``num_classes``, ``in_channels``...).

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import models
    >>> net = models.get("lenet5", num_classes=10)
    >>> net(np.zeros((2, 1, 28, 28), np.float32)).shape
    (2, 10)
    >>> models.get("lenet6")
    Traceback (most recent call last):
        ...
    ValueError: models.get: name expects one of alexnet, ..., but got 'lenet6'
    """
    if name not in _REGISTRY:
        raise ValueError(f"models.get: name expects one of {', '.join(available())}, but got {name!r}")
    model = _REGISTRY[name](**kwargs)
    # What rebuilds it: convscope.save records it, so convscope.load returns the model itself.
    model.zoo_spec = {"name": name, "kwargs": dict(kwargs)}
    return model
