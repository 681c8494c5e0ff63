"""The zoo's networks against their published sizes: parameters and multiply-adds at 224x224.

The MAC figures count the multiply-adds of the convolutions and fully connected layers (no
biases, BatchNorm, activations or pooling), batch 1: VGG-16 15.47 G (Simonyan & Zisserman;
torchvision), ResNet-18 1.81 G and ResNet-50 4.09 G (He et al.; torchvision), AlexNet 0.71 G and
GoogLeNet 1.50 G (torchvision's variants), MobileNet v1 569 M and about 4.2 M parameters
(Howard et al. 2017, 1.0 MobileNet-224).
"""

import functools

import pytest

from convscope import models
from convscope.analysis import summary

PUBLISHED = [  # name, params, MACs (None: not published), input
    ("alexnet", 61_100_840, 0.71e9, (3, 224, 224)),
    ("vgg16", 138_357_544, 15.47e9, (3, 224, 224)),
    ("googlenet", 6_624_904, 1.50e9, (3, 224, 224)),
    ("resnet18", 11_689_512, 1.81e9, (3, 224, 224)),
    ("resnet50", 25_557_032, 4.09e9, (3, 224, 224)),
    ("mobilenet_v1", 4.2e6, 569e6, (3, 224, 224)),
    ("tiny_vgg", 19_920, None, (3, 64, 64)),
]
APPROXIMATE_PARAMS = {"mobilenet_v1"}      # the paper rounds to 4.2 million


@functools.lru_cache(maxsize=None)
def traced(name, shape):
    """One forward pass per model for the whole module."""
    return summary(models.get(name), shape)


@pytest.mark.parametrize("name, params, macs, shape", PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_published_params_and_macs(name, params, macs, shape):
    s = traced(name, shape)
    if name in APPROXIMATE_PARAMS:
        assert s.total_params == pytest.approx(params, rel=0.02)
    else:
        assert s.total_params == params
    assert s.total_params == sum(r.params for r in s if r.call_index == 0)      # every parameter in a row
    if macs is not None:
        assert s.total_macs == pytest.approx(macs, rel=0.01)
    assert s.total_macs == sum(r.macs for r in s) + _outside(s)


def _outside(s):
    """MACs of ops run directly in a container's forward (listed in the notes)."""
    return sum(int(n.split(" MACs")[0].split(": ")[-1].replace(",", "")) for n in s.notes if " MACs computed" in n)


def test_vgg16_receptive_field_at_its_last_pool():
    # rf 212, effective stride 32, effective padding 90 (google-research/receptive_field); see
    # test_receptive.py for the derivation. start = (212 - 1)/2 - 90 = 15.5.
    s = traced("vgg16", (3, 224, 224))
    pool5 = [r for r in s if r.type == "MaxPool2d"][-1]
    assert pool5.output_shape == (1, 512, 7, 7)
    assert (pool5.receptive_field, pool5.jump, pool5.start) == ((212, 212), (32, 32), (15.5, 15.5))
    assert pool5.effective_padding == (90, 90)


def test_resnet18_receptive_field_follows_the_skips():
    # stem: conv 7x7 s2 (rf 7, jump 2), max pool 3x3 s2 (rf 11, jump 4); then 8 basic blocks of two
    # 3x3 convs each; the first conv of layers 2-4 has stride 2. rf grows by 2*jump per conv:
    # layer1: 11 + 4*2*4 = 43; layer2: 43 + 2*4 + 3*2*8 = 99; layer3: 99 + 2*8 + 3*2*16 = 211;
    # layer4: 211 + 2*16 + 3*2*32 = 435, jump 32.
    s = traced("resnet18", (3, 224, 224))
    last_conv = [r for r in s if r.type == "Conv2d"][-1]
    assert (last_conv.receptive_field, last_conv.jump) == ((435, 435), (32, 32))
    assert s[-1].global_rf
