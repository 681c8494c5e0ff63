"""GoogLeNet, MobileNet v1, Tiny VGG and the dilated segmenter against PyTorch twins.

Each twin is written here in torch.nn with the same module names: GoogLeNet's mirrors
torchvision's ``GoogLeNet(aux_logits=False, transform_input=False)`` (torchvision itself is not
installed), the others mirror convscope's own designs. The checks: exact parameter counts,
identical ``state_dict`` keys (in order) and shapes, the same eval-mode outputs after loading
one state dict into both (BatchNorm statistics calibrated on a batch, then randomised), the same
train-mode gradients, and output sizes.
"""

from collections import OrderedDict

import numpy as np
import pytest

import convscope
import convscope.nn as nn
from convscope.models.googlenet import googlenet
from convscope.models.mobilenet import mobilenet_v1
from convscope.models.segmentation import dilated_segmenter
from convscope.models.tiny_vgg import tiny_vgg
from tests._reference import assert_close, torch

tnn = torch.nn
TF = torch.nn.functional


# --------------------------------------------------------------------------- PyTorch twins

class TorchBasicConv2d(tnn.Module):
    def __init__(self, cin, cout, **kwargs):
        super().__init__()
        self.conv = tnn.Conv2d(cin, cout, bias=False, **kwargs)
        self.bn = tnn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return TF.relu(self.bn(self.conv(x)))


class TorchInception(tnn.Module):
    def __init__(self, cin, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1 = TorchBasicConv2d(cin, ch1x1, kernel_size=1)
        self.branch2 = tnn.Sequential(TorchBasicConv2d(cin, ch3x3red, kernel_size=1),
                                      TorchBasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch3 = tnn.Sequential(TorchBasicConv2d(cin, ch5x5red, kernel_size=1),
                                      TorchBasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1))
        self.branch4 = tnn.Sequential(tnn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                      TorchBasicConv2d(cin, pool_proj, kernel_size=1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class TorchGoogLeNet(tnn.Module):
    """torchvision.models.GoogLeNet(aux_logits=False, transform_input=False), layer for layer."""

    def __init__(self, num_classes=1000, dropout=0.2):
        super().__init__()
        self.conv1 = TorchBasicConv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = tnn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = TorchBasicConv2d(64, 64, kernel_size=1)
        self.conv3 = TorchBasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = tnn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = TorchInception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = TorchInception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = tnn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = TorchInception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = TorchInception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = TorchInception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = TorchInception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = TorchInception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = tnn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = TorchInception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = TorchInception(832, 384, 192, 384, 48, 128, 128)
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.dropout = tnn.Dropout(dropout)
        self.fc = tnn.Linear(1024, num_classes)

    def forward(self, x):
        x = self.maxpool2(self.conv3(self.conv2(self.maxpool1(self.conv1(x)))))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4e(self.inception4d(self.inception4c(self.inception4b(self.inception4a(x)))))
        x = self.inception5b(self.inception5a(self.maxpool4(x)))
        return self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))


def torch_conv_bn_relu(cin, cout, k, stride=1, groups=1, dilation=1):
    return tnn.Sequential(tnn.Conv2d(cin, cout, k, stride=stride, padding=dilation * (k // 2), dilation=dilation,
                                     groups=groups, bias=False),
                          tnn.BatchNorm2d(cout), tnn.ReLU())


class TorchDepthwiseSeparable(tnn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.depthwise = torch_conv_bn_relu(cin, cin, 3, stride=stride, groups=cin)
        self.pointwise = torch_conv_bn_relu(cin, cout, 1)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


class TorchMobileNetV1(tnn.Module):
    def __init__(self, num_classes=1000, alpha=1.0):
        super().__init__()
        c = lambda n: max(8, int(round(n * alpha)))  # noqa: E731
        layers, cin = [torch_conv_bn_relu(3, c(32), 3, stride=2)], c(32)
        for cout, s in [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 \
                + [(1024, 2), (1024, 1)]:
            layers.append(TorchDepthwiseSeparable(cin, c(cout), s))
            cin = c(cout)
        self.features = tnn.Sequential(*layers)
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.fc = tnn.Linear(cin, num_classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.avgpool(self.features(x)), 1))


def torch_tiny_vgg(num_classes=10, hidden=10):
    layers, cin = OrderedDict(), 3
    for b in (1, 2):
        for c in (1, 2):
            layers[f"conv_{b}_{c}"], layers[f"relu_{b}_{c}"], cin = tnn.Conv2d(cin, hidden, 3), tnn.ReLU(), hidden
        layers[f"max_pool_{b}"] = tnn.MaxPool2d(2)
    layers["flatten"], layers["output"] = tnn.Flatten(), tnn.Linear(13 * 13 * hidden, num_classes)
    return tnn.Sequential(layers)


class TorchASPPPooling(tnn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(tnn.AdaptiveAvgPool2d(1), tnn.Conv2d(cin, cout, 1, bias=False), tnn.BatchNorm2d(cout),
                         tnn.ReLU())

    def forward(self, x):
        return TF.interpolate(super().forward(x), size=x.shape[-2:], mode="bilinear", align_corners=False)


class TorchASPP(tnn.Module):
    def __init__(self, cin, cout, rates, dropout):
        super().__init__()
        self.branches = tnn.ModuleList([torch_conv_bn_relu(cin, cout, 1) if r == 1
                                        else torch_conv_bn_relu(cin, cout, 3, dilation=r) for r in rates]
                                       + [TorchASPPPooling(cin, cout)])
        self.project = tnn.Sequential(tnn.Conv2d((len(rates) + 1) * cout, cout, 1, bias=False),
                                      tnn.BatchNorm2d(cout), tnn.ReLU(), tnn.Dropout(dropout))

    def forward(self, x):
        return self.project(torch.cat([b(x) for b in self.branches], 1))


class TorchSegmenter(tnn.Module):
    def __init__(self, num_classes=21, width=32, rates=(1, 6, 12, 18), dropout=0.1):
        super().__init__()
        w = width
        self.backbone = tnn.Sequential(torch_conv_bn_relu(3, w, 3, 2), torch_conv_bn_relu(w, 2 * w, 3, 2),
                                       torch_conv_bn_relu(2 * w, 4 * w, 3, 2),
                                       torch_conv_bn_relu(4 * w, 4 * w, 3, dilation=2),
                                       torch_conv_bn_relu(4 * w, 4 * w, 3, dilation=4))
        self.aspp = TorchASPP(4 * w, 4 * w, rates, dropout)
        self.classifier = tnn.Conv2d(4 * w, num_classes, 1)

    def forward(self, x):
        y = self.classifier(self.aspp(self.backbone(x)))
        return TF.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)


# (convscope builder, torch twin, input shape for the equivalence checks)
PAIRS = {
    "googlenet": (lambda **kw: googlenet(num_classes=10, **kw), lambda **kw: TorchGoogLeNet(10, **kw), (2, 3, 64, 64)),
    "mobilenet_v1": (lambda **kw: mobilenet_v1(num_classes=10, width_multiplier=0.5),
                     lambda **kw: TorchMobileNetV1(10, 0.5), (2, 3, 64, 64)),
    "tiny_vgg": (lambda **kw: tiny_vgg(), lambda **kw: torch_tiny_vgg(), (2, 3, 64, 64)),
    "dilated_segmenter": (lambda **kw: dilated_segmenter(num_classes=5, width=8, **kw),
                          lambda **kw: TorchSegmenter(5, 8, **kw), (2, 3, 37, 50)),
}


def n_params(module):
    return sum(int(np.prod(p.shape)) for p in module.parameters())


def to_torch(cs, pt):
    pt.load_state_dict({k: torch.tensor(v) for k, v in cs.state_dict().items()}, strict=True)
    return pt


def calibrate_and_randomise_batch_norms(model, x, rng):
    """Set every BatchNorm's running statistics to those of the batch ``x`` (so activations stay
    O(1) through the depth, and the comparison is not swamped by the last bias), then perturb
    them and the affine parameters at random."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for bn in bns:
        bn.momentum = 1.0
    model.train()
    with convscope.no_grad():
        model(x)
    for bn in bns:
        c = bn.num_features
        bn.momentum = 0.1
        bn.running_mean[...] += rng.normal(0, 0.1, c) * np.sqrt(bn.running_var)
        bn.running_var[...] *= rng.uniform(0.7, 1.4, c)
        bn.weight.data[...] = rng.uniform(0.8, 1.2, c)
        bn.bias.data[...] = rng.normal(0, 0.1, c)
    return model.eval()


# --------------------------------------------------------------------------- counts and keys

@pytest.mark.parametrize("build, expected", [
    (lambda: googlenet(), 6_624_904),
    (lambda: googlenet(num_classes=10), 5_610_154),
    (lambda: mobilenet_v1(), 4_231_976),
    (lambda: mobilenet_v1(width_multiplier=0.75), 2_585_560),
    (lambda: mobilenet_v1(width_multiplier=0.5), 1_331_592),
    (lambda: mobilenet_v1(width_multiplier=0.25), 470_072),
    (lambda: mobilenet_v1(num_classes=10), 3_217_226),
    (lambda: tiny_vgg(), 280 + 910 * 3 + 16_910),
    (lambda: tiny_vgg(), 19_920),
    (lambda: dilated_segmenter(), 950_197),
], ids=["googlenet", "googlenet-10", "mobilenet", "mobilenet-0.75", "mobilenet-0.5", "mobilenet-0.25",
        "mobilenet-10", "tiny_vgg-derived", "tiny_vgg", "segmenter"])
def test_parameter_counts(build, expected):
    assert n_params(build()) == expected


def test_googlenet_twin_is_torchvisions_size():
    """The twin reproduces torchvision's published count, so matching it matches torchvision."""
    pt = TorchGoogLeNet()
    assert n_params(pt) == 6_624_904
    assert [(k, tuple(v.shape)) for k, v in pt.state_dict().items()] == \
        [(k, v.shape) for k, v in googlenet().state_dict().items()]


@pytest.mark.parametrize("name", list(PAIRS))
def test_state_dict_keys_and_shapes_equal_the_twins(name):
    build, twin, _ = PAIRS[name]
    got = [(k, v.shape) for k, v in build().state_dict().items()]
    want = [(k, tuple(v.shape)) for k, v in twin().state_dict().items()]
    assert got == want


def conv_macs(model, size):
    """Multiply-adds of a chain of convs (in module order) and a final linear, at size x size."""
    total, h = 0, size
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            h = (h + 2 * m.padding[0] - m.dilation[0] * (m.kernel_size[0] - 1) - 1) // m.stride[0] + 1
            total += h * h * m.out_channels * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            total += m.in_features * m.out_features
    return total


@pytest.mark.parametrize("alpha, macs", [(1.0, 568_740_352), (0.5, 149_497_088)])
def test_mobilenet_multiply_adds_match_the_paper(alpha, macs):
    """Howard et al., Table 8: 569 M multiply-adds at alpha 1, 149 M at alpha 0.5 (224x224)."""
    assert conv_macs(mobilenet_v1(width_multiplier=alpha), 224) == macs


def test_mobilenet_rejects_bad_width_multiplier():
    with pytest.raises(ValueError, match=r"width_multiplier expects a positive number, but got 0"):
        mobilenet_v1(width_multiplier=0)


# --------------------------------------------------------------------------- equivalence

@pytest.mark.parametrize("name", list(PAIRS))
def test_eval_forward_matches_the_twin(name):
    rng = np.random.default_rng(7)
    build, twin, shape = PAIRS[name]
    convscope.manual_seed(0)
    cs = build()
    x = rng.standard_normal(shape).astype(np.float32)
    calibrate_and_randomise_batch_norms(cs, x, rng)
    pt = to_torch(cs, twin()).eval()
    x2 = rng.standard_normal(shape).astype(np.float32)
    with convscope.no_grad():
        got = cs(x2).numpy()
    with torch.no_grad():
        want = pt(torch.from_numpy(x2))
    want = want.numpy()
    assert got.shape == want.shape and got.dtype == np.float32
    error = np.abs(got - want).max() / np.abs(want).max()
    assert error <= 1e-4, f"{name}: max |difference| is {error:.2e} of max |output|"
    assert np.std(got) > 1e-2 * np.abs(got).max(), f"{name}: the output barely depends on the input"


def to_float64(module):
    """Cast a convscope module's parameters and floating buffers to float64, in place."""
    for p in module.parameters():
        p.data = p.data.astype(np.float64)
    for m in module.modules():
        for k, b in list(m._buffers.items()):
            if b is not None and b.dtype.kind == "f":
                setattr(m, k, b.astype(np.float64))
    return module


@pytest.mark.parametrize("name", list(PAIRS))
def test_train_forward_backward_matches_the_twin(name):
    """One train-mode step (dropout off): the same output, the same gradient for every parameter
    and the same running statistics. In float64: with batch statistics of a batch of 2 on maps
    down to 2x2, train mode is ill-conditioned enough that float32 rounding alone moves
    GoogLeNet's gradients by O(1) relative amounts (float64 agrees to 1e-12)."""
    rng = np.random.default_rng(11)
    build, twin, shape = PAIRS[name]
    convscope.manual_seed(1)
    kw = {} if name in ("mobilenet_v1", "tiny_vgg") else {"dropout": 0.0}
    cs = build(**kw)
    pt = to_torch(cs, twin(**kw)).double().train()
    to_float64(cs).train()
    x = rng.standard_normal(shape)
    out_cs = cs(convscope.Tensor(x))
    out_pt = pt(torch.from_numpy(x))
    g = rng.standard_normal(tuple(out_pt.shape))
    out_cs.backward(g)
    out_pt.backward(torch.from_numpy(g))
    assert_close(out_cs.numpy(), out_pt, np.float64, f"{name} train forward")
    grads_pt = dict(pt.named_parameters())
    for key, p in cs.named_parameters():
        assert p.grad is not None, f"{name}: no gradient for {key}"
        assert p.grad.shape == p.shape and np.isfinite(p.grad).all(), key
        assert_close(p.grad, grads_pt[key].grad, np.float64, f"{name} grad of {key}")
    state = cs.state_dict()
    for key, value in pt.state_dict().items():          # the running statistics moved alike
        if "running" in key:
            assert_close(state[key], value, np.float64, key)


def test_float32_train_step_gives_every_parameter_a_gradient():
    net = googlenet(num_classes=10).train()
    y = net(convscope.Tensor(np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)))
    nn.CrossEntropyLoss()(y, np.array([1, 7])).backward()
    for key, p in net.named_parameters():
        assert p.grad is not None and p.grad.dtype == np.float32 and np.isfinite(p.grad).all(), key


def test_every_parameter_gets_a_gradient_with_dropout_on():
    net = dilated_segmenter(num_classes=3, width=4).train()
    y = net(convscope.Tensor(np.random.default_rng(0).standard_normal((2, 3, 20, 28)).astype(np.float32)))
    (y * y).mean().backward()
    assert all(p.grad is not None and np.abs(p.grad).sum() > 0 for p in net.parameters())


# --------------------------------------------------------------------------- shapes

@pytest.mark.parametrize("hw", [(1, 1), (5, 3), (33, 47), (64, 64), (71, 40)])
def test_segmenter_output_has_the_input_size(hw):
    net = dilated_segmenter(num_classes=4, width=4).eval()
    x = np.random.default_rng(0).standard_normal((1, 3) + hw).astype(np.float32)
    with convscope.no_grad():
        assert net(x).shape == (1, 4) + hw


@pytest.mark.parametrize("hw", [(35, 35), (32, 48)])
def test_googlenet_takes_small_and_odd_inputs(hw):
    """The ceil-mode pools keep every stage non-empty down to 1x1 before global pooling."""
    net = googlenet(num_classes=7).eval()
    with convscope.no_grad():
        assert net(np.zeros((1, 3) + hw, dtype=np.float32)).shape == (1, 7)


def test_in_channels_changes_only_the_first_conv():
    assert googlenet(in_channels=1).conv1.conv.weight.shape == (64, 1, 7, 7)
    assert mobilenet_v1(in_channels=1).features[0][0].weight.shape == (32, 1, 3, 3)
    assert tiny_vgg(in_channels=1).conv_1_1.weight.shape == (10, 1, 3, 3)
    assert dilated_segmenter(in_channels=1).backbone[0][0].weight.shape == (32, 1, 3, 3)
