"""MobileNet v1: Howard et al., 2017, "MobileNets: Efficient Convolutional Neural Networks for
Mobile Vision Applications" (arXiv:1704.04861).

Every standard conv after the first is factorised into a depthwise 3x3 conv (one filter per input
channel, ``groups=channels``) and a pointwise 1x1 conv that mixes the channels, each followed by
BatchNorm and ReLU (the paper's Figure 3). For ``M`` input and ``N`` output channels on a
``D x D`` map the cost drops from ``9 * M * N * D^2`` multiply-adds to ``9 * M * D^2 + M * N * D^2``,
a factor ``1 / N + 1 / 9``: 8 to 9 times fewer for these widths.

The paper gives no layer names; this module's are ``features`` (the stem conv, then 13 blocks),
``avgpool`` and ``fc``, each block a :class:`DepthwiseSeparableBlock` with ``depthwise`` and
``pointwise`` :class:`ConvBNReLU` (a ``Sequential`` of conv ``0``, BatchNorm ``1``, ReLU ``2``).
"""

from __future__ import annotations

from .. import nn
from ..nn import functional as F

__all__ = ["ConvBNReLU", "DepthwiseSeparableBlock", "MobileNetV1", "mobilenet_v1"]

# (out_channels, stride) of the 13 depthwise-separable blocks: the paper's Table 1.
_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
           (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))


class ConvBNReLU(nn.Sequential):
    """Conv (no bias, padding ``kernel_size // 2``) -> BatchNorm2d -> ReLU, as ``Sequential``
    items ``0``, ``1``, ``2``.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int
    stride : int
    groups : int
        ``in_channels`` for a depthwise conv.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope.models.mobilenet import ConvBNReLU
    >>> depthwise = ConvBNReLU(8, 8, stride=2, groups=8).eval()
    >>> depthwise[0].weight.shape, depthwise(np.zeros((1, 8, 10, 10), np.float32)).shape
    ((8, 1, 3, 3), (1, 8, 5, 5))
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 groups: int = 1) -> None:
        super().__init__(nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2,
                                   groups=groups, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU())


class DepthwiseSeparableBlock(nn.Module):
    """Depthwise 3x3 conv + BN + ReLU, then pointwise 1x1 conv + BN + ReLU (Howard et al., 2017,
    Figure 3, right).

    Parameters
    ----------
    in_channels, out_channels : int
    stride : int
        Of the depthwise conv (2 halves the map).

    Shapes: (N, in_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride)).
    Parameters: ``9 * in + 2 * in + in * out + 2 * out`` (convs without bias, affine BatchNorms).

    Examples
    --------
    >>> import numpy as np
    >>> from convscope.models.mobilenet import DepthwiseSeparableBlock
    >>> DepthwiseSeparableBlock(8, 16, stride=2).eval()(np.zeros((1, 8, 10, 10), np.float32)).shape
    (1, 16, 5, 5)
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.depthwise = ConvBNReLU(in_channels, in_channels, 3, stride=stride, groups=in_channels)
        self.pointwise = ConvBNReLU(in_channels, out_channels, 1)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


def _scaled(channels: int, width_multiplier: float) -> int:
    return max(8, int(round(channels * width_multiplier)))


class MobileNetV1(nn.Module):
    """MobileNet v1 (Howard et al., 2017, Table 1): conv 3x3/2 (32), 13 depthwise-separable
    blocks to 1024 channels at 1/32 of the input size, global average pooling, fully connected.

    Parameters
    ----------
    num_classes : int
    in_channels : int
    width_multiplier : float
        The paper's alpha: every layer's channels become ``max(8, round(alpha * channels))``.

    Shapes: (N, in_channels, H, W) -> (N, num_classes) logits.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope.models.mobilenet import MobileNetV1
    >>> net = MobileNetV1(num_classes=10, width_multiplier=0.25).eval()
    >>> net(np.zeros((1, 3, 64, 64), np.float32)).shape
    (1, 10)
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, width_multiplier: float = 1.0) -> None:
        super().__init__()
        if isinstance(width_multiplier, bool) or not isinstance(width_multiplier, (int, float)) \
                or not width_multiplier > 0:
            raise ValueError(f"mobilenet_v1: width_multiplier expects a positive number, but got {width_multiplier!r}")
        self.width_multiplier = float(width_multiplier)
        channels = _scaled(32, width_multiplier)
        layers = [ConvBNReLU(in_channels, channels, 3, stride=2)]
        for out, stride in _BLOCKS:
            out = _scaled(out, width_multiplier)
            layers.append(DepthwiseSeparableBlock(channels, out, stride))
            channels = out
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x):
        return self.fc(F.flatten(self.avgpool(self.features(x)), 1))


def mobilenet_v1(num_classes: int = 1000, in_channels: int = 3, width_multiplier: float = 1.0) -> MobileNetV1:
    """MobileNet v1 (Howard et al., 2017, "MobileNets: Efficient Convolutional Neural Networks for
    Mobile Vision Applications").

    With convs without bias, affine BatchNorms and a biased ``fc``, 1000 classes:

    ==========  ==========  =====================================
    alpha       parameters  multiply-adds at 224x224 (incl. fc)
    ==========  ==========  =====================================
    1.0         4,231,976   568,740,352 (the paper: 4.2 M, 569 M)
    0.75        2,585,560   325,400,448 (2.6 M, 325 M)
    0.5         1,331,592   149,497,088 (1.3 M, 149 M)
    0.25          470,072    41,030,272 (0.5 M, 41 M)
    ==========  ==========  =====================================

    Of the 4,231,976, ``fc`` holds ``1025 * num_classes`` (1,025,000): 3,217,226 for 10 classes.

    Parameters
    ----------
    num_classes : int
    in_channels : int
    width_multiplier : float
        alpha, scaling every layer's channels (rounded, at least 8).

    Returns
    -------
    MobileNetV1
        (N, in_channels, H, W) -> (N, num_classes).

    Examples
    --------
    >>> from convscope.models.mobilenet import mobilenet_v1
    >>> sum(p.data.size for p in mobilenet_v1(width_multiplier=0.5).parameters())
    1331592
    """
    return MobileNetV1(num_classes, in_channels, width_multiplier)
