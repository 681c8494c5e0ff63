"""Residual networks (He, Zhang, Ren & Sun, 2016): ResNet-18, -34, -50 and -101.

Each stage is a chain of residual blocks, ``relu(F(x) + shortcut(x))``: :class:`BasicBlock`
(two 3x3 convs) for ResNet-18/34, :class:`Bottleneck` (1x1 reduce, 3x3, 1x1 expand by 4) for
ResNet-50/101. The shortcut is the identity, or a strided 1x1 conv + BatchNorm
(``downsample``) where the shape changes. The module tree and ``state_dict`` keys
(``layer1.0.conv1.weight``, ``layer2.0.downsample.0.weight``, ``fc.bias`` ...) are
torchvision's, including its "ResNet v1.5" choice of putting a Bottleneck's stride on the 3x3
conv rather than on the first 1x1.

References
----------
.. [1] K. He, X. Zhang, S. Ren and J. Sun, "Deep residual learning for image recognition",
   CVPR 2016, arXiv:1512.03385.
.. [2] K. He, X. Zhang, S. Ren and J. Sun, "Delving deep into rectifiers", ICCV 2015 (the
   initialisation).
.. [3] P. Goyal et al., "Accurate, large minibatch SGD: training ImageNet in 1 hour",
   arXiv:1706.02677, 2017 (``zero_init_residual``).
"""

from __future__ import annotations

from .. import _validation as V
from .. import nn
from ..nn import functional as F
from ..nn import init

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34", "resnet50", "resnet101"]


def _conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False)


def _conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """conv 3x3 (stride) -> BN -> ReLU -> conv 3x3 -> BN, plus the shortcut, then ReLU.

    Output channels ``planes`` (``expansion = 1``). ``downsample`` maps the input to the
    output's shape when the stride or the width changes (None: identity shortcut).

    Examples
    --------
    >>> import numpy as np
    >>> from convscope.models.resnet import BasicBlock
    >>> BasicBlock(8, 8).eval()(np.zeros((1, 8, 6, 6), np.float32)).shape      # identity shortcut
    (1, 8, 6, 6)
    """

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = _conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """conv 1x1 -> BN -> ReLU -> conv 3x3 (stride) -> BN -> ReLU -> conv 1x1 (x4 channels) -> BN,
    plus the shortcut, then ReLU.

    Output channels ``planes * 4`` (``expansion = 4``); the stride sits on the 3x3 conv
    (torchvision's v1.5; the paper [1]_ strides the first 1x1).

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import nn
    >>> from convscope.models.resnet import Bottleneck
    >>> down = nn.Sequential(nn.Conv2d(8, 16, 1, stride=2, bias=False), nn.BatchNorm2d(16))
    >>> block = Bottleneck(8, 4, stride=2, downsample=down).eval()     # 4 * expansion 4 = 16 outputs
    >>> block(np.zeros((1, 8, 6, 6), np.float32)).shape
    (1, 16, 3, 3)
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = _conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = _conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU()
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """Stem (conv 7x7 stride 2 -> BN -> ReLU -> max-pool 3 stride 2), four stages of residual
    blocks at widths 64, 128, 256, 512 (times the block's ``expansion``; stages 2-4 halve the
    resolution in their first block), global average pool and ``fc``.

    Initialised as torchvision's: convs ``kaiming_normal_(mode='fan_out', nonlinearity='relu')``
    [2]_, BatchNorm weight 1 and bias 0, ``fc`` PyTorch's default Linear initialisation.

    Parameters
    ----------
    block : BasicBlock or Bottleneck
        The block class.
    layers : sequence of 4 ints
        Blocks per stage, e.g. ``(2, 2, 2, 2)`` for ResNet-18.
    num_classes : int
        Outputs of ``fc``.
    in_channels : int
        Channels of the input image (``conv1``'s input channels).
    zero_init_residual : bool
        Start each block's last BatchNorm weight at 0, so every block begins as the identity [3]_.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope.models.resnet import BasicBlock, ResNet
    >>> net = ResNet(BasicBlock, (1, 1, 1, 1), num_classes=10, in_channels=1).eval()
    >>> net(np.zeros((1, 1, 32, 32), np.float32)).shape
    (1, 10)
    """

    def __init__(self, block, layers, num_classes: int = 1000, in_channels: int = 3,
                 zero_init_residual: bool = False) -> None:
        super().__init__()
        num_classes = V.check_int(num_classes, "num_classes", "ResNet", minimum=1)
        in_channels = V.check_int(in_channels, "in_channels", "ResNet", minimum=1)
        if block not in (BasicBlock, Bottleneck):
            raise TypeError(f"ResNet: block expects BasicBlock or Bottleneck, but got {block!r}")
        if not isinstance(layers, (tuple, list)) or len(layers) != 4:
            raise ValueError(f"ResNet: layers expects 4 block counts, but got {layers!r}")
        counts = [V.check_int(n, "layers", "ResNet", minimum=1) for n in layers]
        self.inplanes = 64
        self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, counts[0])
        self.layer2 = self._make_layer(block, 128, counts[1], stride=2)
        self.layer3 = self._make_layer(block, 256, counts[2], stride=2)
        self.layer4 = self._make_layer(block, 512, counts[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                init.ones_(m.weight)
                init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    init.zeros_(m.bn3.weight)
                elif isinstance(m, BasicBlock):
                    init.zeros_(m.bn2.weight)

    def _make_layer(self, block, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        """``blocks`` blocks of width ``planes``; the first takes the stride and, where the shape
        changes, a 1x1 conv + BN shortcut."""
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(_conv1x1(self.inplanes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        stage = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        stage += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*stage)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(F.flatten(self.avgpool(x), 1))


_DOC = """ResNet-{depth} [1]_: {blocks} {block}s in stages of {layers}.

    {params} parameters for 3 input channels and 1000 classes, as torchvision's ``resnet{depth}``.

    Parameters
    ----------
    num_classes : int
        Outputs of the final Linear ``fc``.
    in_channels : int
        Channels of the input image.
    zero_init_residual : bool
        Start each block's last BatchNorm weight at 0 [3]_.

    Returns
    -------
    ResNet
        Maps (N, in_channels, H, W) to (N, num_classes) logits; any H, W >= 1 works (the
        global average pool absorbs the size), 224x224 being the paper's.

    Examples
    --------
    >>> net = resnet{depth}(num_classes=10, in_channels=1)
    >>> net.conv1.weight.shape, net.fc.weight.shape
    ((64, 1, 7, 7), (10, {features}))
    """


def _builder(depth: int, block, layers: tuple, params: str):
    def build(num_classes: int = 1000, in_channels: int = 3, zero_init_residual: bool = False) -> ResNet:
        return ResNet(block, layers, num_classes, in_channels, zero_init_residual)

    build.__name__ = build.__qualname__ = f"resnet{depth}"
    build.__doc__ = _DOC.format(depth=depth, blocks=sum(layers), block=block.__name__, layers=layers,
                                params=params, features=512 * block.expansion)
    return build


resnet18 = _builder(18, BasicBlock, (2, 2, 2, 2), "11,689,512")
resnet34 = _builder(34, BasicBlock, (3, 4, 6, 3), "21,797,672")
resnet50 = _builder(50, Bottleneck, (3, 4, 6, 3), "25,557,032")
resnet101 = _builder(101, Bottleneck, (3, 4, 23, 3), "44,549,160")
