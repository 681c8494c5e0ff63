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
from pathlib import Path
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

#: Where the pretrained weights shipped in the package live.
_WEIGHTS = Path(__file__).parent / "weights"

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

__all__ = ["get", "available", "bundled_weights", "lenet5", "simple_cnn", "small_vgg", "alexnet", "vgg11", "vgg16",
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


def bundled_weights() -> dict[str, dict[str, str]]:
    """The pretrained weights shipped in the package, by model name: each file's metadata
    (``dataset``, ``test_accuracy``, ``epochs``, ``command``; :func:`convscope.io.weights.read_metadata`).

    Examples
    --------
    >>> from convscope import models
    >>> sorted(models.bundled_weights())
    ['lenet5', 'small_vgg']
    >>> models.bundled_weights()["lenet5"]["dataset"]
    'mnist'
    """
    from ..io.weights import read_metadata
    found = {}
    for path in sorted(_WEIGHTS.glob("*.safetensors")):
        meta = read_metadata(path)
        found[meta.get("model", path.stem)] = {**meta, "path": str(path)}
    return found


def get(name: str, *, weights: str | None = None, **kwargs) -> Module:
    """Build the model called ``name`` with its keyword arguments (``num_classes``, ``in_channels``...).

    ``weights``: ``None`` (random initialisation), ``"bundled"`` (the pretrained weights shipped
    in the package, see :func:`bundled_weights`; the ``weights`` extra reads them) or the path of
    a weights file (:func:`convscope.save`'s, or a PyTorch state dict:
    :func:`convscope.io.weights.load_torch`), loaded strictly: every name and shape must match.

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
    if weights is None:
        return model
    from ..io.weights import load_torch
    if weights == "bundled":
        shipped = bundled_weights()
        if name not in shipped:
            raise ValueError(f"models.get: weights='bundled' expects a model with pretrained weights in the "
                             f"package ({', '.join(sorted(shipped))}), but got {name!r}")
        weights = shipped[name]["path"]
    try:
        model.load_state_dict(load_torch(weights))
    except (KeyError, ValueError) as exc:
        raise ValueError(f"models.get: the weights in {str(weights)!r} do not fit {name}({kwargs}): {exc}") from None
    return model
