"""AlexNet, VGG and ResNet against PyTorch twins of torchvision's definitions.

torchvision is not a test dependency, so each architecture is written again below with
``torch.nn``, layer for layer as torchvision defines it. The convscope model's weights are copied
into the twin; parameter names, shapes, counts and eval-mode outputs must agree (ResNet also in
train mode, gradients included).

The big models are built once per module (VGG-16 alone holds 138 M float32 parameters) and the
torch twins on the ``meta`` device, which allocates nothing until the convscope arrays are
assigned to them.
"""

from functools import partial

import numpy as np
import pytest

import convscope
import convscope.nn as nn
import convscope.nn.functional as F
from convscope.models.alexnet import alexnet
from convscope.models.resnet import resnet18, resnet34, resnet50, resnet101
from convscope.models.vgg import vgg11, vgg16
from tests._reference import torch

tnn = torch.nn


# --------------------------------------------------------------------------- torch twins of torchvision

class TorchAlexNet(tnn.Module):
    def __init__(self, num_classes=1000, in_channels=3):
        super().__init__()
        self.features = tnn.Sequential(
            tnn.Conv2d(in_channels, 64, kernel_size=11, stride=4, padding=2), tnn.ReLU(inplace=True),
            tnn.MaxPool2d(kernel_size=3, stride=2),
            tnn.Conv2d(64, 192, kernel_size=5, padding=2), tnn.ReLU(inplace=True),
            tnn.MaxPool2d(kernel_size=3, stride=2),
            tnn.Conv2d(192, 384, kernel_size=3, padding=1), tnn.ReLU(inplace=True),
            tnn.Conv2d(384, 256, kernel_size=3, padding=1), tnn.ReLU(inplace=True),
            tnn.Conv2d(256, 256, kernel_size=3, padding=1), tnn.ReLU(inplace=True),
            tnn.MaxPool2d(kernel_size=3, stride=2))
        self.avgpool = tnn.AdaptiveAvgPool2d((6, 6))
        self.classifier = tnn.Sequential(
            tnn.Dropout(0.5), tnn.Linear(256 * 6 * 6, 4096), tnn.ReLU(inplace=True),
            tnn.Dropout(0.5), tnn.Linear(4096, 4096), tnn.ReLU(inplace=True),
            tnn.Linear(4096, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


TORCH_VGG_CFGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
}


class TorchVGG(tnn.Module):
    def __init__(self, cfg, num_classes=1000, in_channels=3, batch_norm=False):
        super().__init__()
        layers = []
        for v in TORCH_VGG_CFGS[cfg]:
            if v == "M":
                layers += [tnn.MaxPool2d(kernel_size=2, stride=2)]
            else:
                conv = tnn.Conv2d(in_channels, v, kernel_size=3, padding=1)
                layers += [conv, tnn.BatchNorm2d(v), tnn.ReLU(inplace=True)] if batch_norm else \
                          [conv, tnn.ReLU(inplace=True)]
                in_channels = v
        self.features = tnn.Sequential(*layers)
        self.avgpool = tnn.AdaptiveAvgPool2d((7, 7))
        self.classifier = tnn.Sequential(
            tnn.Linear(512 * 7 * 7, 4096), tnn.ReLU(True), tnn.Dropout(0.5),
            tnn.Linear(4096, 4096), tnn.ReLU(True), tnn.Dropout(0.5),
            tnn.Linear(4096, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def t_conv3x3(cin, cout, stride=1):
    return tnn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


def t_conv1x1(cin, cout, stride=1):
    return tnn.Conv2d(cin, cout, kernel_size=1, stride=stride, bias=False)


class TorchBasicBlock(tnn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = t_conv3x3(inplanes, planes, stride)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.relu = tnn.ReLU(inplace=True)
        self.conv2 = t_conv3x3(planes, planes)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class TorchBottleneck(tnn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = t_conv1x1(inplanes, planes)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.conv2 = t_conv3x3(planes, planes, stride)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.conv3 = t_conv1x1(planes, planes * 4)
        self.bn3 = tnn.BatchNorm2d(planes * 4)
        self.relu = tnn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class TorchResNet(tnn.Module):
    def __init__(self, block, layers, num_classes=1000, in_channels=3):
        super().__init__()
        self.inplanes = 64
        self.conv1 = tnn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = tnn.BatchNorm2d(64)
        self.relu = tnn.ReLU(inplace=True)
        self.maxpool = tnn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.fc = tnn.Linear(512 * block.expansion, num_classes)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = tnn.Sequential(t_conv1x1(self.inplanes, planes * block.expansion, stride),
                                        tnn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return tnn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# --------------------------------------------------------------------------- the cases

# name: (convscope model, torch twin of the same arguments, forward input side)
CASES = {
    "alexnet": (alexnet, TorchAlexNet, 64),
    "vgg11": (vgg11, partial(TorchVGG, "A"), 32),
    "vgg16": (vgg16, partial(TorchVGG, "D"), 32),
    "vgg11_bn": (partial(vgg11, batch_norm=True, num_classes=7, in_channels=1),
                 partial(TorchVGG, "A", batch_norm=True, num_classes=7, in_channels=1), 32),
    "vgg16_bn": (partial(vgg16, batch_norm=True), partial(TorchVGG, "D", batch_norm=True), 32),
    "resnet18": (resnet18, partial(TorchResNet, TorchBasicBlock, [2, 2, 2, 2]), 64),
    "resnet34": (resnet34, partial(TorchResNet, TorchBasicBlock, [3, 4, 6, 3]), 64),
    "resnet50": (resnet50, partial(TorchResNet, TorchBottleneck, [3, 4, 6, 3]), 64),
    "resnet101": (resnet101, partial(TorchResNet, TorchBottleneck, [3, 4, 23, 3]), 64),
}

# torchvision's counts, for 3 input channels and 1000 classes
PARAMETER_COUNTS = {
    "alexnet": 61_100_840,
    "vgg11": 132_863_336,
    "vgg16": 138_357_544,
    "vgg16_bn": 138_365_992,
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
}

# the ones run forward and backward (VGG-16-BN and ResNet-101 only add depth to what these cover)
RUN = ["alexnet", "vgg11", "vgg16", "vgg11_bn", "resnet18", "resnet34", "resnet50"]


@pytest.fixture(scope="module")
def zoo():
    """``zoo(name)``: the convscope model of CASES[name], built once for this module."""
    built = {}

    def get(name):
        if name not in built:
            convscope.manual_seed(0)
            built[name] = CASES[name][0]()
        return built[name]

    yield get
    built.clear()


def torch_twin(name, cs_model=None, **kwargs):
    """The torch twin of ``name`` (built with ``kwargs``); with ``cs_model``, holding that model's
    weights and buffers."""
    with torch.device("meta"):
        pt = CASES[name][1](**kwargs)
    if cs_model is not None:   # assign: the twin takes convscope's arrays (and their dtype) as they are
        state = {k: torch.from_numpy(v) for k, v in cs_model.state_dict().items()}
        pt.load_state_dict(state, strict=True, assign=True)
    return pt


def randomize_batch_norm(model, rng):
    """Non-trivial running statistics and affine parameters, so eval mode tests their use."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean[...] = rng.normal(0.0, 0.2, c)
            m.running_var[...] = rng.uniform(0.5, 2.0, c)
            m.weight.data[...] = rng.uniform(0.5, 1.5, c)
            m.bias.data[...] = rng.normal(0.0, 0.2, c)


def first_conv_and_last_linear(model):
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return convs[0], linears[-1]


def assert_relative_close(got, want, what, tol=1e-4):
    """max |got - want| <= tol * max |want| (float32 results)."""
    want = want.detach().numpy() if hasattr(want, "detach") else np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    scale = float(np.abs(want).max())
    err = float(np.abs(got - want).max())
    assert err <= tol * scale, f"{what}: max |difference| {err:.3g} exceeds {tol} x max |reference| {scale:.3g}"


def input_for(name, rng, batch=2):
    model_in = 1 if name == "vgg11_bn" else 3
    side = CASES[name][2]
    return rng.standard_normal((batch, model_in, side, side)).astype(np.float32)


# --------------------------------------------------------------------------- structure

@pytest.mark.parametrize("name", list(PARAMETER_COUNTS))
def test_parameter_count_is_torchvisions(name, zoo):
    model = zoo(name)
    assert sum(p.numel() for p in model.parameters()) == PARAMETER_COUNTS[name]
    assert all(p.dtype == np.float32 for p in model.parameters())


@pytest.mark.parametrize("name", list(CASES))
def test_state_dict_keys_and_shapes_are_torchvisions(name, zoo):
    got = {k: v.shape for k, v in zoo(name).state_dict().items()}
    want = {k: tuple(v.shape) for k, v in torch_twin(name).state_dict().items()}
    assert list(got) == list(want)
    assert got == want


def test_resnet_initialisation_is_torchvisions():
    convscope.manual_seed(0)
    net = resnet50()
    for name, m in net.named_modules():
        if isinstance(m, nn.Conv2d):
            fan_out = m.weight.shape[0] * m.weight.shape[2] * m.weight.shape[3]
            if m.weight.numel() >= 10_000:     # enough samples for a 10 % check on the spread
                assert abs(m.weight.data.std() / np.sqrt(2 / fan_out) - 1) < 0.1, name
        elif isinstance(m, nn.BatchNorm2d):
            assert np.all(m.weight.data == 1) and np.all(m.bias.data == 0), name
    zero = resnet18(zero_init_residual=True)
    assert all(np.all(block.bn2.weight.data == 0) for layer in (zero.layer1, zero.layer4) for block in layer)
    assert np.all(zero.layer1[0].bn1.weight.data == 1)


def test_vgg_initialisation_is_torchvisions(zoo):
    for name, m in zoo("vgg11").named_modules():
        if isinstance(m, nn.Conv2d):
            fan_out = m.weight.shape[0] * 9
            assert abs(m.weight.data.std() / np.sqrt(2 / fan_out) - 1) < 0.1, name
            assert np.all(m.bias.data == 0), name
        elif isinstance(m, nn.Linear):
            assert abs(m.weight.data.std() / 0.01 - 1) < 0.1, name
            assert np.all(m.bias.data == 0), name


@pytest.mark.parametrize("builder", [alexnet, vgg11, resnet18, resnet50], ids=lambda f: f.__name__)
def test_in_channels_and_num_classes_set_the_first_conv_and_last_linear(builder, zoo, rng):
    # VGG's classifier alone takes seconds to build: reuse vgg11_bn, built with in_channels=1, num_classes=7
    net = zoo("vgg11_bn") if builder is vgg11 else builder(num_classes=7, in_channels=1)
    first, last = first_conv_and_last_linear(net)
    assert first.weight.shape[:2] == (64, 1)
    assert last.weight.shape[0] == 7 and last.bias.shape == (7,)
    net.eval()
    with convscope.no_grad():
        out = net(convscope.Tensor(rng.standard_normal((1, 1, 64, 64)).astype(np.float32)))
    assert out.shape == (1, 7)


@pytest.mark.parametrize("builder", [alexnet, vgg16, resnet18], ids=lambda f: f.__name__)
@pytest.mark.parametrize("argument, value, error", [("num_classes", 0, ValueError), ("in_channels", 2.0, TypeError)])
def test_bad_sizes_are_rejected_before_building(builder, argument, value, error):
    with pytest.raises(error, match=rf"{argument} expects"):
        builder(**{argument: value})


def test_resnet_rejects_a_wrong_block_list():
    from convscope.models.resnet import BasicBlock, ResNet
    with pytest.raises(ValueError, match=r"layers expects 4 block counts, but got \[2, 2, 2\]"):
        ResNet(BasicBlock, [2, 2, 2])


# --------------------------------------------------------------------------- running

@pytest.mark.parametrize("name", RUN)
def test_eval_forward_matches_torch(name, zoo, rng):
    model = zoo(name)
    randomize_batch_norm(model, rng)
    model.eval()
    pt = torch_twin(name, model).eval()
    x = input_for(name, rng)
    with convscope.no_grad():
        got = model(convscope.Tensor(x)).numpy()
    with torch.no_grad():
        want = pt(torch.from_numpy(x))
    assert_relative_close(got, want, name)


@pytest.mark.parametrize("name", RUN)
def test_train_forward_and_backward_reach_every_parameter(name, zoo, rng):
    model = zoo(name).train()
    x = input_for(name, rng)
    out = model(convscope.Tensor(x))
    target = rng.integers(0, out.shape[1], out.shape[0])
    loss = F.cross_entropy(out, target)
    model.zero_grad()
    loss.backward()
    try:
        assert np.isfinite(float(loss.numpy()))
        for key, p in model.named_parameters():
            assert p.grad is not None, f"{key} has no gradient"
            assert p.grad.shape == p.shape and np.all(np.isfinite(p.grad)), key
    finally:
        model.zero_grad()    # set_to_none: VGG's gradients are half a gigabyte
        model.eval()


@pytest.fixture
def float64():
    convscope.backend.set_default_dtype(np.float64)
    try:
        yield
    finally:
        convscope.backend.set_default_dtype(np.float32)


@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_resnet_train_step_matches_torch(name, rng, float64):
    """Batch statistics, the residual sums and every parameter's gradient, against torch.

    In float64: at 32x32 ResNet-50's last stage normalises over 4 values per channel, where
    float32 gradients differ from float64 ones by up to 25 %, in torch as in convscope.
    """
    convscope.manual_seed(1)
    model = CASES[name][0](num_classes=10)
    assert model.conv1.weight.dtype == np.float64
    randomize_batch_norm(model, rng)
    pt = torch_twin(name, model, num_classes=10)
    model.train(), pt.train()
    x = rng.standard_normal((4, 3, 32, 32))
    y = rng.integers(0, 10, 4)
    loss = F.cross_entropy(model(convscope.Tensor(x)), y)
    loss.backward()
    loss_pt = tnn.functional.cross_entropy(pt(torch.from_numpy(x)), torch.from_numpy(y))
    loss_pt.backward()
    assert_relative_close(loss.numpy(), loss_pt, "loss", tol=1e-10)
    grads_pt = dict(pt.named_parameters())
    for key, p in model.named_parameters():
        assert_relative_close(p.grad, grads_pt[key].grad, f"grad of {key}", tol=1e-8)
    state_pt = pt.state_dict()
    for key, value in model.state_dict().items():   # running statistics after one batch
        assert_relative_close(value, state_pt[key], key, tol=1e-10)
