"""VGG (Simonyan & Zisserman, 2015): stacks of 3x3 convolutions between 2x2 max-pools.

Configurations A (VGG-11) and D (VGG-16) of the paper's Table 1, each optionally with
BatchNorm after every conv (torchvision's ``vgg11_bn`` / ``vgg16_bn``). The layout and the
``state_dict`` keys (``features.0.weight`` ... ``classifier.6.bias``) are torchvision's.

References
----------
.. [1] K. Simonyan and A. Zisserman, "Very deep convolutional networks for large-scale image
   recognition", ICLR 2015, arXiv:1409.1556.
.. [2] S. Ioffe and C. Szegedy, "Batch normalization: accelerating deep network training by
   reducing internal covariate shift", ICML 2015 (the ``batch_norm`` variants).
"""

from __future__ import annotations

from .. import _validation as V
from .. import nn
from ..nn import functional as F
from ..nn import init

__all__ = ["VGG", "CONFIGS", "vgg11", "vgg16"]

#: Conv output channels in order, "M" for a 2x2 stride-2 max-pool (Table 1 of [1]).
CONFIGS: dict[str, tuple] = {
    "A": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "D": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
}


def _features(config, in_channels: int, batch_norm: bool) -> nn.Sequential:
    """conv 3x3 padding 1 [+ BatchNorm] + ReLU for each number in ``config``, max-pool 2 for each "M"."""
    layers = []
    for v in config:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(in_channels, v, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU())
        in_channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """A VGG network: ``features`` (the conv stack), ``avgpool`` (adaptive, to 7x7), ``classifier``.

    The classifier is Linear 25088 -> 4096, ReLU, dropout, Linear 4096 -> 4096, ReLU, dropout,
    Linear 4096 -> ``num_classes``. Weights are initialised as torchvision's: convs
    ``kaiming_normal_(mode='fan_out', nonlinearity='relu')``, Linear weights normal with standard
    deviation 0.01, all biases 0, BatchNorm weight 1.

    Parameters
    ----------
    config : sequence of int or "M"
        Conv widths and pools, e.g. ``CONFIGS["D"]``; the last conv must have 512 channels.
    num_classes : int
        Outputs of the last Linear.
    in_channels : int
        Channels of the input image.
    batch_norm : bool
        Put a BatchNorm2d between each conv and its ReLU.
    dropout : float
        Dropout probability in the classifier.

    Examples
    --------
    >>> from convscope.models.vgg import VGG
    >>> VGG([64, "M", 128, "M"])
    Traceback (most recent call last):
        ...
    ValueError: VGG: config expects its last conv to have 512 channels ...
    >>> net = VGG([64, "M", 512, "M"], num_classes=10)   # doctest: +SKIP
    >>> net.classifier[-1].weight.shape                    # doctest: +SKIP
    (10, 4096)
    """

    def __init__(self, config, num_classes: int = 1000, in_channels: int = 3, batch_norm: bool = False,
                 dropout: float = 0.5) -> None:
        super().__init__()
        num_classes = V.check_int(num_classes, "num_classes", "VGG", minimum=1)
        in_channels = V.check_int(in_channels, "in_channels", "VGG", minimum=1)
        widths = [v for v in config if v != "M"]
        if not widths or widths[-1] != 512:
            raise ValueError(f"VGG: config expects its last conv to have 512 channels (the classifier takes "
                             f"512 * 7 * 7 features), but got {tuple(config)!r}")
        self.features = _features(config, in_channels, bool(batch_norm))
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(4096, num_classes),
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                init.normal_(m.weight, 0.0, 0.01)
                init.zeros_(m.bias)

    def forward(self, x):
        return self.classifier(F.flatten(self.avgpool(self.features(x)), 1))


def vgg11(num_classes: int = 1000, in_channels: int = 3, batch_norm: bool = False, dropout: float = 0.5) -> VGG:
    """VGG-11, configuration A of [1]_: 8 convs (64, M, 128, M, 256 x2, M, 512 x2, M, 512 x2, M)
    and 3 fully connected layers.

    132,863,336 parameters for 3 input channels and 1000 classes (132,868,840 with
    ``batch_norm``, torchvision's ``vgg11_bn``).

    Parameters
    ----------
    num_classes : int
        Outputs of the last Linear.
    in_channels : int
        Channels of the input image.
    batch_norm : bool
        BatchNorm2d after each conv [2]_ (layout conv, BatchNorm, ReLU).
    dropout : float
        Dropout probability in the classifier.

    Returns
    -------
    VGG
        Maps (N, in_channels, H, W), H, W >= 32, to (N, num_classes) logits.

    Examples
    --------
    >>> net = vgg11(num_classes=10, batch_norm=True)
    >>> type(net.features[1]).__name__, net.classifier[6].weight.shape
    ('BatchNorm2d', (10, 4096))
    """
    return VGG(CONFIGS["A"], num_classes, in_channels, batch_norm, dropout)


def vgg16(num_classes: int = 1000, in_channels: int = 3, batch_norm: bool = False, dropout: float = 0.5) -> VGG:
    """VGG-16, configuration D of [1]_: 13 convs (64 x2, M, 128 x2, M, 256 x3, M, 512 x3, M,
    512 x3, M) and 3 fully connected layers.

    138,357,544 parameters for 3 input channels and 1000 classes (138,365,992 with
    ``batch_norm``, torchvision's ``vgg16_bn``).

    Parameters
    ----------
    num_classes : int
        Outputs of the last Linear.
    in_channels : int
        Channels of the input image.
    batch_norm : bool
        BatchNorm2d after each conv [2]_ (layout conv, BatchNorm, ReLU).
    dropout : float
        Dropout probability in the classifier.

    Returns
    -------
    VGG
        Maps (N, in_channels, H, W), H, W >= 32, to (N, num_classes) logits.

    Examples
    --------
    >>> net = vgg16(in_channels=1)
    >>> net.features[0].weight.shape, len(net.features)
    ((64, 1, 3, 3), 31)
    """
    return VGG(CONFIGS["D"], num_classes, in_channels, batch_norm, dropout)
