"""The reference texts' networks and a small VGG-style net for 28x28 images.

Each builder takes ``in_channels`` and ``num_classes`` and returns a :class:`~convscope.nn.Sequential`
whose ``state_dict`` keys are the layer indices (``0.weight``, ``3.bias``...), as a PyTorch
``nn.Sequential`` of the same layers would have.
"""

from __future__ import annotations

from .. import nn


def lenet5(num_classes: int = 10, in_channels: int = 1, classic: bool = False) -> nn.Sequential:
    """LeNet-5 (LeCun et al., 1998, "Gradient-based learning applied to document recognition").

    For 28x28 inputs: conv 5x5 -> 6 maps (padding 2 keeps 28x28, as the original's 32x32 input
    did), pool 2 -> 14x14, conv 5x5 -> 16 maps 10x10, pool 2 -> 5x5, then fully connected
    400 -> 120 -> 84 -> ``num_classes``: 61,706 parameters for 10 classes.

    The default uses ReLU and max pooling, the modern choice that trains faster; ``classic=True``
    uses the paper's tanh and average pooling (its subsampling layers without their trainable
    coefficients, and full C3 connectivity).

    Examples
    --------
    >>> import numpy as np
    >>> from convscope.models import lenet5
    >>> net = lenet5()
    >>> net(np.zeros((1, 1, 28, 28), np.float32)).shape, sum(p.data.size for p in net.parameters())
    ((1, 10), 61706)
    """
    act = nn.Tanh if classic else nn.ReLU
    pool = nn.AvgPool2d if classic else nn.MaxPool2d
    return nn.Sequential(
        nn.Conv2d(in_channels, 6, kernel_size=5, padding=2), act(), pool(2),
        nn.Conv2d(6, 16, kernel_size=5), act(), pool(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), act(),
        nn.Linear(120, 84), act(),
        nn.Linear(84, num_classes),
    )


def simple_cnn(num_classes: int = 10, in_channels: int = 1) -> nn.Sequential:
    """The reference texts' example: conv 3x3 -> 32 maps (26x26 from 28x28), ReLU, max-pool 2
    (13x13), fully connected 32*13*13 = 5408 -> ``num_classes``. 54,410 parameters for 10 classes.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope.models import simple_cnn
    >>> simple_cnn()(np.zeros((3, 1, 28, 28), np.float32)).shape
    (3, 10)
    """
    return nn.Sequential(
        nn.Conv2d(in_channels, 32, kernel_size=3), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(32 * 13 * 13, num_classes),
    )


def small_vgg(num_classes: int = 10, in_channels: int = 1, width: int = 32, dropout: float = 0.3) -> nn.Sequential:
    """A small VGG-style net for 28x28 images (Simonyan & Zisserman, 2015: stacks of 3x3 convs,
    then pooling): two blocks of [conv 3x3, BatchNorm, ReLU] x 2 + max-pool 2, with ``width`` and
    ``2 * width`` channels (28 -> 14 -> 7), then dropout and fully connected 2w*7*7 -> 128 -> classes.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope.models import small_vgg
    >>> small_vgg(width=8).eval()(np.zeros((2, 1, 28, 28), np.float32)).shape
    (2, 10)
    """
    w = width

    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    return nn.Sequential(
        *block(in_channels, w), *block(w, w), nn.MaxPool2d(2),
        *block(w, 2 * w), *block(2 * w, 2 * w), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(2 * w * 7 * 7, 128), nn.ReLU(),
        nn.Linear(128, num_classes),
    )
