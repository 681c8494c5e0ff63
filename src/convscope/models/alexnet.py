"""AlexNet (Krizhevsky, Sutskever & Hinton, 2012), in torchvision's single-tower form.

The layer sizes and the ``state_dict`` keys (``features.0.weight`` ... ``classifier.6.bias``) are
those of ``torchvision.models.alexnet``, so its ImageNet weights load as plain arrays.

References
----------
.. [1] A. Krizhevsky, I. Sutskever and G. E. Hinton, "ImageNet classification with deep
   convolutional neural networks", NeurIPS 2012.
.. [2] A. Krizhevsky, "One weird trick for parallelizing convolutional neural networks",
   arXiv:1404.5997, 2014 (the 64-192-384-256-256 channel widths used here).
"""

from __future__ import annotations

from .. import _validation as V
from .. import nn
from ..nn import functional as F

__all__ = ["AlexNet", "alexnet"]


class AlexNet(nn.Module):
    """Five convolutions, three max-pools, a 6x6 adaptive average pool and three fully connected layers.

    Sub-modules ``features`` (convolutions), ``avgpool`` and ``classifier``, as torchvision's.
    Inputs are (N, in_channels, H, W) with H, W >= 63 (the smallest size that survives the
    stride-4 first conv and three 3x3 stride-2 pools); the output is (N, num_classes) logits.

    Parameters
    ----------
    num_classes : int
        Outputs of the last Linear.
    in_channels : int
        Channels of the input image (the first conv's input channels).
    dropout : float
        Dropout probability before each of the first two Linear layers.

    Examples
    --------
    >>> from convscope.models.alexnet import AlexNet
    >>> net = AlexNet(num_classes=10, in_channels=1)
    >>> net.features[0].weight.shape, net.classifier[-1].weight.shape
    ((64, 1, 11, 11), (10, 4096))
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> None:
        super().__init__()
        num_classes = V.check_int(num_classes, "num_classes", "AlexNet", minimum=1)
        in_channels = V.check_int(in_channels, "in_channels", "AlexNet", minimum=1)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(4096, 4096), nn.ReLU(),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        return self.classifier(F.flatten(self.avgpool(self.features(x)), 1))


def alexnet(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> AlexNet:
    """AlexNet [1]_ as torchvision defines it (the one-tower variant of [2]_).

    features: conv 11x11 stride 4 padding 2 -> 64, ReLU, max-pool 3 stride 2, conv 5x5 padding 2
    -> 192, ReLU, max-pool 3/2, conv 3x3 -> 384, ReLU, conv 3x3 -> 256, ReLU, conv 3x3 -> 256,
    ReLU, max-pool 3/2; adaptive average pool to 6x6; classifier: dropout, Linear 9216 -> 4096,
    ReLU, dropout, Linear 4096 -> 4096, ReLU, Linear 4096 -> ``num_classes``.
    61,100,840 parameters for 3 input channels and 1000 classes. PyTorch's default
    initialisation, as torchvision's.

    Parameters
    ----------
    num_classes : int
        Outputs of the last Linear.
    in_channels : int
        Channels of the input image.
    dropout : float
        Dropout probability in the classifier.

    Returns
    -------
    AlexNet
        Maps (N, in_channels, H, W), H, W >= 63, to (N, num_classes) logits.

    Examples
    --------
    >>> net = alexnet(num_classes=10, in_channels=1)
    >>> net.features[0].weight.shape, net.classifier[6].weight.shape
    ((64, 1, 11, 11), (10, 4096))
    """
    return AlexNet(num_classes=num_classes, in_channels=in_channels, dropout=dropout)
