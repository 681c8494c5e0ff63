"""GoogLeNet (Inception v1): Szegedy et al., 2015, "Going deeper with convolutions" (CVPR).

The network is built as torchvision's ``GoogLeNet`` with ``aux_logits=False`` and
``transform_input=False``, with BatchNorm after every conv (which the 2014 network predates;
torchvision adds it, eps 0.001, as in its pretrained weights), so the ``state_dict`` keys and
shapes are torchvision's and its weights load unchanged.

An Inception module runs four branches on the same input and stacks their outputs on the channel
axis: a 1x1 conv; a 1x1 "reduce" conv then a 3x3; a 1x1 reduce then a second larger-window
conv; and a 3x3 max pool (stride 1) then a 1x1 "pool projection". The 1x1 reductions are what
keep the module cheap: they shrink the channels before the expensive windows (Section 4 of the
paper). The paper's fourth branch uses a 5x5 window; torchvision uses 3x3 (a long-standing quirk
of its port, pytorch/vision#906), and so does this module, to keep its parameter count and keys.
"""

from __future__ import annotations

from .. import nn
from ..autograd import cat
from ..nn import functional as F

__all__ = ["BasicConv2d", "Inception", "GoogLeNet", "googlenet"]


class BasicConv2d(nn.Module):
    """Conv (no bias) -> BatchNorm2d(eps=0.001) -> ReLU, with sub-modules ``conv`` and ``bn``.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size, stride, padding : as :class:`convscope.nn.Conv2d`

    Shapes: (N, in_channels, H, W) -> (N, out_channels, H_out, W_out), the conv's output size.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope.models.googlenet import BasicConv2d
    >>> BasicConv2d(3, 8, kernel_size=3, padding=1).eval()(np.zeros((1, 3, 10, 10), np.float32)).shape
    (1, 8, 10, 10)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    """Inception module (Szegedy et al., 2015, Figure 2b): four branches concatenated on channels.

    Parameters
    ----------
    in_channels : int
    ch1x1 : int
        ``branch1``: 1x1 conv.
    ch3x3red, ch3x3 : int
        ``branch2``: 1x1 conv to ``ch3x3red``, then 3x3 conv (padding 1) to ``ch3x3``.
    ch5x5red, ch5x5 : int
        ``branch3``: 1x1 conv to ``ch5x5red``, then a 3x3 conv (padding 1) to ``ch5x5`` (the
        paper's 5x5, as torchvision builds it).
    pool_proj : int
        ``branch4``: 3x3 max pool (stride 1, padding 1, ceil mode), then 1x1 conv.

    Shapes: (N, in_channels, H, W) -> (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W).

    Examples
    --------
    >>> import numpy as np
    >>> from convscope.models.googlenet import Inception
    >>> block = Inception(16, 4, 4, 8, 2, 2, 2).eval()       # 4 + 8 + 2 + 2 = 16 output channels
    >>> block(np.zeros((1, 16, 7, 7), np.float32)).shape
    (1, 16, 7, 7)
    """

    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int, ch5x5: int,
                 pool_proj: int) -> None:
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(in_channels, ch3x3red, kernel_size=1),
                                     BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(in_channels, ch5x5red, kernel_size=1),
                                     BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
                                     BasicConv2d(in_channels, pool_proj, kernel_size=1))

    def forward(self, x):
        return cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


# (in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj): the paper's Table 1.
_INCEPTION = {
    "3a": (192, 64, 96, 128, 16, 32, 32),
    "3b": (256, 128, 128, 192, 32, 96, 64),
    "4a": (480, 192, 96, 208, 16, 48, 64),
    "4b": (512, 160, 112, 224, 24, 64, 64),
    "4c": (512, 128, 128, 256, 24, 64, 64),
    "4d": (512, 112, 144, 288, 32, 64, 64),
    "4e": (528, 256, 160, 320, 32, 128, 128),
    "5a": (832, 256, 160, 320, 32, 128, 128),
    "5b": (832, 384, 192, 384, 48, 128, 128),
}


class GoogLeNet(nn.Module):
    """GoogLeNet / Inception v1 (Szegedy et al., 2015, Table 1), as torchvision builds it without
    the auxiliary classifiers.

    Stem: ``conv1`` 7x7/2 (64), ``maxpool1`` 3/2, ``conv2`` 1x1 (64), ``conv3`` 3x3 (192),
    ``maxpool2`` 3/2; then ``inception3a``, ``3b``, ``maxpool3`` 3/2, ``inception4a``-``4e``,
    ``maxpool4`` 2/2 (all pools with ``ceil_mode=True``), ``inception5a``, ``5b`` (1024 channels),
    ``avgpool`` (global), ``dropout``, ``fc``. The input is downsampled by 32 (224 -> 7; 64 -> 2).

    Parameters
    ----------
    num_classes : int
    in_channels : int
        3 for RGB; another value changes only ``conv1``'s weight.
    dropout : float
        Before ``fc`` (torchvision's default 0.2; the paper's 0.4).

    Shapes: (N, in_channels, H, W) -> (N, num_classes) logits, for H, W >= 15 (smaller inputs
    shrink to nothing before ``maxpool3``).

    Examples
    --------
    >>> from convscope.models.googlenet import GoogLeNet
    >>> net = GoogLeNet(num_classes=10)
    >>> net.fc.weight.shape
    (10, 1024)
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.2) -> None:
        super().__init__()
        self.conv1 = BasicConv2d(in_channels, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = Inception(*_INCEPTION["3a"])
        self.inception3b = Inception(*_INCEPTION["3b"])
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = Inception(*_INCEPTION["4a"])
        self.inception4b = Inception(*_INCEPTION["4b"])
        self.inception4c = Inception(*_INCEPTION["4c"])
        self.inception4d = Inception(*_INCEPTION["4d"])
        self.inception4e = Inception(*_INCEPTION["4e"])
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = Inception(*_INCEPTION["5a"])
        self.inception5b = Inception(*_INCEPTION["5b"])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(1024, num_classes)

    def forward(self, x):
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        for block in (self.inception4a, self.inception4b, self.inception4c, self.inception4d, self.inception4e):
            x = block(x)
        x = self.inception5b(self.inception5a(self.maxpool4(x)))
        x = F.flatten(self.avgpool(x), 1)
        return self.fc(self.dropout(x))


def googlenet(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.2) -> GoogLeNet:
    """GoogLeNet / Inception v1 (Szegedy et al., 2015, "Going deeper with convolutions").

    torchvision's architecture with ``aux_logits=False``, ``transform_input=False``: 6,624,904
    parameters for 1000 classes: 5,599,904 in the convolutions and batch norms, and
    ``1025 * num_classes`` in ``fc`` (5,610,154 for 10 classes); about 1.5 G multiply-adds at
    224x224. Layers
    keep convscope's (PyTorch's) default initialisation; torchvision's truncated-normal
    initialisation only matters when training from scratch.

    Parameters
    ----------
    num_classes : int
    in_channels : int
    dropout : float
        Dropout probability before the classifier.

    Returns
    -------
    GoogLeNet
        (N, in_channels, H, W) -> (N, num_classes); its ``state_dict`` keys equal torchvision's
        (``conv1.conv.weight``, ``inception3a.branch2.1.bn.running_mean``, ..., ``fc.bias``).

    Examples
    --------
    >>> from convscope.models.googlenet import googlenet
    >>> net = googlenet(num_classes=10)
    >>> sum(p.data.size for p in net.parameters())
    5610154
    """
    return GoogLeNet(num_classes, in_channels, dropout)
