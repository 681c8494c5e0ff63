"""A small DeepLab-style semantic segmenter: dilated (atrous) convolutions and atrous spatial
pyramid pooling (Chen et al., 2017, "Rethinking Atrous Convolution for Semantic Image
Segmentation", arXiv:1706.05587; DeepLabv3).

A dilated conv with rate ``r`` spaces its taps ``r`` pixels apart: a 3x3 kernel then sees a
``(2r + 1) x (2r + 1)`` window with the same 9 weights, so the receptive field grows without
pooling away resolution. DeepLab stops downsampling at an *output stride* (here 8) and keeps
enlarging the field with dilation; ASPP then looks at the same features at several rates at
once, plus an image-level (global average) feature, and the per-pixel class scores are upsampled
bilinearly back to the input size.
"""

from __future__ import annotations

from .. import _validation as V
from .. import nn
from ..autograd import cat
from ..nn import functional as F

__all__ = ["conv_bn_relu", "ASPPPooling", "ASPP", "DilatedSegmenter", "dilated_segmenter"]


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 dilation: int = 1) -> nn.Sequential:
    """Conv (no bias; padding ``dilation * (kernel_size // 2)``, which keeps the size at stride 1)
    -> BatchNorm2d -> ReLU, as ``Sequential`` items ``0``, ``1``, ``2``.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope.models.segmentation import conv_bn_relu
    >>> block = conv_bn_relu(3, 8, dilation=2).eval()
    >>> block[0].padding, block(np.zeros((1, 3, 9, 9), np.float32)).shape
    ((2, 2), (1, 8, 9, 9))
    """
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=dilation * (kernel_size // 2),
                  dilation=dilation, bias=False),
        nn.BatchNorm2d(out_channels), nn.ReLU())


class ASPPPooling(nn.Sequential):
    """ASPP's image-level branch (Chen et al., 2017, Section 3.3): global average pooling, 1x1
    conv + BatchNorm + ReLU, then bilinear upsampling back to the input's size (from 1x1 that
    is a broadcast). Items ``0`` (pool), ``1`` (conv), ``2`` (BatchNorm), ``3`` (ReLU).

    In training its BatchNorm sees one value per sample and channel, so it needs a batch of at
    least 2 (as in torchvision's DeepLabv3).

    Examples
    --------
    >>> import numpy as np
    >>> from convscope.models.segmentation import ASPPPooling
    >>> ASPPPooling(8, 4).eval()(np.zeros((1, 8, 5, 7), np.float32)).shape   # pooled, then upsampled back
    (1, 4, 5, 7)
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(nn.AdaptiveAvgPool2d(1), nn.Conv2d(in_channels, out_channels, 1, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU())

    def forward(self, x):
        size = tuple(x.shape[-2:])
        return F.interpolate(super().forward(x), size=size, mode="bilinear", align_corners=False)


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling (Chen et al., 2017, Figure 5): parallel branches on the same
    features, concatenated on channels and projected by a 1x1 conv.

    Parameters
    ----------
    in_channels, out_channels : int
        Every branch and the projection have ``out_channels``.
    rates : sequence of positive ints
        One branch per rate: a 1x1 conv for rate 1 (DeepLabv3's 1x1 branch), a 3x3 conv with that
        dilation (and padding) otherwise; each followed by BatchNorm and ReLU. The image-pooling
        branch (:class:`ASPPPooling`) comes last.
    dropout : float
        After the projection (torchvision's DeepLabv3 uses 0.5).

    Sub-modules: ``branches`` (a ModuleList) and ``project`` (1x1 conv, BatchNorm, ReLU, Dropout).
    Shapes: (N, in_channels, H, W) -> (N, out_channels, H, W).

    Examples
    --------
    >>> import numpy as np
    >>> from convscope.models.segmentation import ASPP
    >>> ASPP(8, 4, rates=(1, 2)).eval()(np.zeros((1, 8, 9, 9), np.float32)).shape
    (1, 4, 9, 9)
    """

    def __init__(self, in_channels: int, out_channels: int, rates=(1, 6, 12, 18), dropout: float = 0.1) -> None:
        super().__init__()
        if not isinstance(rates, (tuple, list)) or not rates:
            raise ValueError(f"ASPP: rates expects a non-empty sequence of positive ints, but got {rates!r}")
        rates = tuple(V.check_int(r, "rates", "ASPP", minimum=1) for r in rates)
        self.rates = rates
        branches = [conv_bn_relu(in_channels, out_channels, 1) if r == 1
                    else conv_bn_relu(in_channels, out_channels, 3, dilation=r) for r in rates]
        self.branches = nn.ModuleList(branches + [ASPPPooling(in_channels, out_channels)])
        self.project = nn.Sequential(nn.Conv2d((len(rates) + 1) * out_channels, out_channels, 1, bias=False),
                                     nn.BatchNorm2d(out_channels), nn.ReLU(), nn.Dropout(dropout))

    def forward(self, x):
        return self.project(cat([branch(x) for branch in self.branches], 1))


class DilatedSegmenter(nn.Module):
    """A small DeepLabv3-style network (Chen et al., 2017) with output stride 8.

    ``backbone``: three 3x3 convs with stride 2 (``width``, ``2 * width``, ``4 * width``
    channels; H -> ceil(H / 8)), then two 3x3 convs with dilation 2 and 4 at that resolution;
    each conv followed by BatchNorm and ReLU. ``aspp``: :class:`ASPP` with ``4 * width``
    channels. ``classifier``: a 1x1 conv (with bias) to the class scores, which ``forward``
    upsamples bilinearly (``align_corners=False``) to the input's size.

    Parameters
    ----------
    num_classes : int
    in_channels : int
    width : int
    rates : sequence of positive ints
        ASPP's rates (1 gives its 1x1 branch). Chen et al. use (6, 12, 18) at output stride 16
        and double them at output stride 8; at the small feature maps of small inputs the large
        rates mostly read padding, the degeneration the paper notes (its Figure 4), which the
        image-pooling branch makes up for.
    dropout : float
        After ASPP's projection.

    Shapes: (N, in_channels, H, W) -> (N, num_classes, H, W) per-pixel logits, any H, W >= 1.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope.models.segmentation import DilatedSegmenter
    >>> net = DilatedSegmenter(num_classes=3, width=8).eval()
    >>> net(np.zeros((1, 3, 20, 24), np.float32)).shape       # a score per class and pixel
    (1, 3, 20, 24)
    """

    def __init__(self, num_classes: int = 21, in_channels: int = 3, width: int = 32, rates=(1, 6, 12, 18),
                 dropout: float = 0.1) -> None:
        super().__init__()
        w = V.check_int(width, "width", "dilated_segmenter", minimum=1)
        self.backbone = nn.Sequential(
            conv_bn_relu(in_channels, w, 3, stride=2),
            conv_bn_relu(w, 2 * w, 3, stride=2),
            conv_bn_relu(2 * w, 4 * w, 3, stride=2),
            conv_bn_relu(4 * w, 4 * w, 3, dilation=2),
            conv_bn_relu(4 * w, 4 * w, 3, dilation=4),
        )
        self.aspp = ASPP(4 * w, 4 * w, rates, dropout)
        self.classifier = nn.Conv2d(4 * w, num_classes, 1)

    def forward(self, x):
        size = tuple(x.shape[-2:])
        scores = self.classifier(self.aspp(self.backbone(x)))
        return F.interpolate(scores, size=size, mode="bilinear", align_corners=False)


def dilated_segmenter(num_classes: int = 21, in_channels: int = 3, width: int = 32, rates=(1, 6, 12, 18),
                      dropout: float = 0.1) -> DilatedSegmenter:
    """A small DeepLab-style segmenter (Chen et al., 2017, "Rethinking Atrous Convolution for
    Semantic Image Segmentation"): strided convs to output stride 8, dilated convs (rates 2, 4),
    atrous spatial pyramid pooling, a 1x1 classifier and bilinear upsampling to the input size.

    With the defaults (21 classes as PASCAL VOC, width 32, rates (1, 6, 12, 18)): 950,197
    parameters: backbone 388,896, ASPP 558,592 (its three 3x3 dilated branches 443,136), and
    classifier ``129 * num_classes`` (2,709).

    Parameters
    ----------
    num_classes, in_channels, width, rates, dropout
        See :class:`DilatedSegmenter`.

    Returns
    -------
    DilatedSegmenter
        (N, in_channels, H, W) -> (N, num_classes, H, W).

    Examples
    --------
    >>> import numpy as np
    >>> from convscope.models.segmentation import dilated_segmenter
    >>> net = dilated_segmenter(num_classes=5, width=8).eval()
    >>> net(np.zeros((1, 3, 37, 50), dtype=np.float32)).shape
    (1, 5, 37, 50)
    """
    return DilatedSegmenter(num_classes, in_channels, width, rates, dropout)
