"""Tiny VGG: the network CNN Explainer teaches with (Wang et al., 2020, "CNN Explainer: Learning
Convolutional Neural Networks with Interactive Visualization", IEEE TVCG), a two-block miniature of
VGG (Simonyan & Zisserman, 2015: stacks of 3x3 convs, then pooling).
"""

from __future__ import annotations

from collections import OrderedDict

from .. import _validation as V
from .. import nn

__all__ = ["tiny_vgg"]


def tiny_vgg(num_classes: int = 10, in_channels: int = 3, hidden: int = 10) -> nn.Sequential:
    """Tiny VGG for 64x64 images: [conv 3x3 -> ReLU -> conv 3x3 -> ReLU -> max-pool 2] x 2, then a
    fully connected layer to the class scores.

    The convs are unpadded ("valid"), so each trims a pixel from every side:
    64 -> 62 -> 60 -> pool 30 -> 28 -> 26 -> pool 13, and ``13 * 13 * hidden`` features reach
    the classifier. With the defaults (3 input channels, ``hidden=10``, 10 classes, as in CNN
    Explainer) there are exactly 19,920 parameters::

        conv_1_1   3 * 10 * 9 + 10         =    280
        conv_1_2  10 * 10 * 9 + 10         =    910   (and conv_2_1, conv_2_2: 910 each)
        output    13 * 13 * 10 * 10 + 10   = 16,910
        total     280 + 3 * 910 + 16,910   = 19,920

    CNN Explainer ends with a softmax; this returns the logits (the loss applies the softmax).

    Parameters
    ----------
    num_classes : int
    in_channels : int
    hidden : int
        Channels of every conv.

    Returns
    -------
    Sequential
        (N, in_channels, 64, 64) -> (N, num_classes), its layers named as in CNN Explainer:
        ``conv_1_1``, ``relu_1_1``, ``conv_1_2``, ``relu_1_2``, ``max_pool_1``, ``conv_2_1``, ...,
        ``max_pool_2``, ``flatten``, ``output`` (so ``state_dict`` keys are ``conv_1_1.weight``...).

    Examples
    --------
    >>> from convscope.models.tiny_vgg import tiny_vgg
    >>> sum(p.data.size for p in tiny_vgg().parameters())
    19920
    """
    hidden = V.check_int(hidden, "hidden", "tiny_vgg", minimum=1)
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    channels = in_channels
    for block in (1, 2):
        for conv in (1, 2):
            layers[f"conv_{block}_{conv}"] = nn.Conv2d(channels, hidden, kernel_size=3)
            layers[f"relu_{block}_{conv}"] = nn.ReLU()
            channels = hidden
        layers[f"max_pool_{block}"] = nn.MaxPool2d(2)
    layers["flatten"] = nn.Flatten()
    layers["output"] = nn.Linear(13 * 13 * hidden, num_classes)
    return nn.Sequential(layers)
