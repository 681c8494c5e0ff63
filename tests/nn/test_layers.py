"""nn layers and Module against torch.nn: forward, backward, state_dict, one optimizer step."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convscope
import convscope.nn as nn
from convscope import models, optim
from tests._reference import assert_close, torch

tnn = torch.nn


def to_torch(module_cs, module_pt):
    """Copy convscope weights into a torch module with the same state_dict keys."""
    sd = {k: torch.tensor(v) for k, v in module_cs.state_dict().items()}
    module_pt.load_state_dict(sd, strict=True)
    return module_pt


def torch_lenet5():
    return tnn.Sequential(
        tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
        tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84), tnn.ReLU(), tnn.Linear(84, 10))


class CsBlock(nn.Module):
    """A small ResNet basic block with BatchNorm, written with convscope layers."""

    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        self.head = nn.Linear(c, 3)

    def forward(self, x):
        y = nn.functional.relu(self.bn1(self.conv1(x)))
        y = nn.functional.relu(self.bn2(self.conv2(y)) + x)
        return self.head(nn.functional.adaptive_avg_pool2d(y, 1).flatten(1))


class PtBlock(tnn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = tnn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = tnn.BatchNorm2d(c)
        self.conv2 = tnn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = tnn.BatchNorm2d(c)
        self.head = tnn.Linear(c, 3)

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = torch.relu(self.bn2(self.conv2(y)) + x)
        return self.head(torch.nn.functional.adaptive_avg_pool2d(y, 1).flatten(1))


@pytest.mark.parametrize("opt", ["sgd", "adam"])
@pytest.mark.parametrize("arch", ["lenet5", "resblock"])
def test_one_optimizer_step_matches_torch(opt, arch, rng):
    convscope.manual_seed(0)
    if arch == "lenet5":
        cs, pt = models.lenet5(), torch_lenet5()
        x = rng.standard_normal((8, 1, 28, 28)).astype(np.float32)
        y = rng.integers(0, 10, 8)
    else:
        cs, pt = CsBlock(4), PtBlock(4)
        x = rng.standard_normal((6, 4, 7, 7)).astype(np.float32)
        y = rng.integers(0, 3, 6)
    to_torch(cs, pt)
    cs.train(), pt.train()
    if opt == "sgd":
        o_cs = optim.SGD(cs.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
        o_pt = torch.optim.SGD(pt.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    else:
        o_cs = optim.Adam(cs.parameters(), lr=1e-2)
        o_pt = torch.optim.Adam(pt.parameters(), lr=1e-2)
    loss_cs = nn.CrossEntropyLoss()(cs(x), y)
    loss_pt = tnn.CrossEntropyLoss()(pt(torch.from_numpy(x)), torch.from_numpy(y))
    assert_close(loss_cs.numpy(), loss_pt, np.float32, "loss")
    o_cs.zero_grad(), o_pt.zero_grad()
    loss_cs.backward(), loss_pt.backward()
    o_cs.step(), o_pt.step()
    want = pt.state_dict()
    got = cs.state_dict()
    assert list(got) == list(want)
    for key in want:   # parameters after the step, and BatchNorm's running stats
        np.testing.assert_allclose(got[key], want[key].numpy(), rtol=1e-5, atol=1e-5, err_msg=key)


@settings(max_examples=40)
@given(st.sampled_from(["conv1d", "conv2d", "conv3d", "convt2d", "dwsep", "maxpool", "avgpool", "adaptive",
                        "linear", "bn_eval", "leaky", "softmax"]), st.integers(0, 2**31 - 1))
def test_layer_forward_and_backward_match_torch(kind, seed):
    rng = np.random.default_rng(seed)
    convscope.manual_seed(seed % 1000)
    c = int(rng.integers(1, 4))
    if kind == "conv1d":
        cs, pt, shape = nn.Conv1d(c, 2, 3, stride=2, padding=1), tnn.Conv1d(c, 2, 3, stride=2, padding=1), (2, c, 9)
    elif kind == "conv2d":
        cs = nn.Conv2d(c, 4, (3, 2), padding="same", dilation=2, padding_mode="reflect")
        pt = tnn.Conv2d(c, 4, (3, 2), padding="same", dilation=2, padding_mode="reflect")
        shape = (2, c, 7, 6)
    elif kind == "conv3d":
        cs, pt, shape = nn.Conv3d(c, 2, 2, bias=False), tnn.Conv3d(c, 2, 2, bias=False), (1, c, 3, 4, 3)
    elif kind == "convt2d":
        cs = nn.ConvTranspose2d(c, 3, 3, stride=2, padding=1, output_padding=1)
        pt = tnn.ConvTranspose2d(c, 3, 3, stride=2, padding=1, output_padding=1)
        shape = (2, c, 4, 5)
    elif kind == "dwsep":
        cs = nn.DepthwiseSeparableConv2d(c, 5, 3, padding=1)
        pt = tnn.Sequential()
        pt.add_module("depthwise", tnn.Conv2d(c, c, 3, padding=1, groups=c))
        pt.add_module("pointwise", tnn.Conv2d(c, 5, 1))
        shape = (2, c, 6, 6)
    elif kind == "maxpool":
        cs, pt, shape = nn.MaxPool2d(3, 2, 1, ceil_mode=True), tnn.MaxPool2d(3, 2, 1, ceil_mode=True), (2, c, 8, 7)
    elif kind == "avgpool":
        cs = nn.AvgPool2d(2, padding=1, count_include_pad=False)
        pt = tnn.AvgPool2d(2, padding=1, count_include_pad=False)
        shape = (2, c, 5, 6)
    elif kind == "adaptive":
        cs, pt, shape = nn.AdaptiveAvgPool2d((3, 2)), tnn.AdaptiveAvgPool2d((3, 2)), (2, c, 7, 5)
    elif kind == "linear":
        cs, pt, shape = nn.Linear(c, 3), tnn.Linear(c, 3), (4, c)
    elif kind == "bn_eval":
        cs, pt, shape = nn.BatchNorm2d(c), tnn.BatchNorm2d(c), (3, c, 4, 4)
        cs.running_mean[...] = rng.standard_normal(c)
        cs.running_var[...] = rng.uniform(0.5, 2, c)
        cs.weight.data[...] = rng.standard_normal(c)
        cs.eval(), pt.eval()
    elif kind == "leaky":
        cs, pt, shape = nn.Sequential(nn.LeakyReLU(0.1), nn.Tanh(), nn.Sigmoid()), \
            tnn.Sequential(tnn.LeakyReLU(0.1), tnn.Tanh(), tnn.Sigmoid()), (3, c)
    else:
        cs, pt, shape = nn.Sequential(nn.Flatten(), nn.LogSoftmax(1)), tnn.Sequential(tnn.Flatten(), tnn.LogSoftmax(1)), (3, c, 2)
    to_torch(cs, pt)
    x = rng.standard_normal(shape).astype(np.float32)
    xc = convscope.Tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yc, yt = cs(xc), pt(xt)
    assert_close(yc.numpy(), yt, np.float32, kind)
    g = rng.standard_normal(yt.shape).astype(np.float32)
    yc.backward(g)
    yt.backward(torch.from_numpy(g))
    assert_close(xc.grad, xt.grad, np.float32, f"{kind} input grad")
    grads_pt = {k: p.grad for k, p in pt.named_parameters()}
    for k, p in cs.named_parameters():
        assert_close(p.grad, grads_pt[k], np.float32, f"{kind} grad {k}")


def test_default_initialisation_follows_torch_bounds():
    convscope.manual_seed(0)
    conv = nn.Conv2d(16, 32, 3)
    bound = 1 / np.sqrt(16 * 9)
    assert conv.weight.dtype == np.float32
    assert np.abs(conv.weight.data).max() <= bound and np.abs(conv.weight.data).max() > 0.9 * bound
    assert np.abs(conv.bias.data).max() <= bound
    lin = nn.Linear(400, 120)
    assert np.abs(lin.weight.data).max() <= 1 / 20 + 1e-7
    convscope.manual_seed(0)
    np.testing.assert_array_equal(nn.Conv2d(16, 32, 3).weight.data, conv.weight.data)   # seeded


def test_module_bookkeeping():
    net = models.small_vgg(width=4)
    names = [n for n, _ in net.named_parameters()]
    assert names[:3] == ["0.weight", "1.weight", "1.bias"]
    assert "1.running_mean" in net.state_dict() and "1.num_batches_tracked" in net.state_dict()
    net.eval()
    assert all(not m.training for m in net.modules())
    net.train()
    assert net[1].training
    assert isinstance(net[0], nn.Conv2d) and len(net) == 19
    assert "Conv2d(1, 4, kernel_size=(3, 3)" in repr(net)


def test_state_dict_round_trip_and_errors():
    a, b = models.lenet5(), models.lenet5()
    b.load_state_dict(a.state_dict())
    for k, v in b.state_dict().items():
        np.testing.assert_array_equal(v, a.state_dict()[k])
    sd = a.state_dict()
    sd.pop("0.bias")
    sd["extra.weight"] = np.zeros(3)
    with pytest.raises(ValueError, match=r"missing keys \['0.bias'\] and unexpected keys \['extra.weight'\]"):
        b.load_state_dict(sd)
    sd = a.state_dict()
    sd["3.weight"] = np.zeros((16, 6, 3, 3))
    with pytest.raises(ValueError, match=r"3.weight: expected shape \(16, 6, 5, 5\), got \(16, 6, 3, 3\)"):
        b.load_state_dict(sd)


def test_wrong_input_shape_for_a_layer_is_a_clear_error():
    with pytest.raises(ValueError, match=r"conv2d: weight expects 1 input channels .* but input has 3"):
        models.lenet5()(np.zeros((2, 3, 28, 28), np.float32))
    with pytest.raises(ValueError, match=r"linear: input expects 400 features .* but got shape \(2, 576\)"):
        models.lenet5()(np.zeros((2, 1, 32, 32), np.float32))
    with pytest.raises(ValueError, match=r"BatchNorm2d: input expects 4 channels, but got shape \(2, 3, 5, 5\)"):
        nn.BatchNorm2d(4)(np.zeros((2, 3, 5, 5)))
    with pytest.raises(ValueError, match=r"Conv2d: in_channels expects a multiple of groups=2, but got 3"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(TypeError, match=r"Conv2d: kernel_size expects an int or a tuple of 2 ints, but got '3'"):
        nn.Conv2d(3, 4, "3")
    with pytest.raises(ValueError, match=r"models.get: name expects one of alexnet, .*lenet5.*, but got .lenet6."):
        models.get("lenet6")


def test_depthwise_separable_saves_parameters():
    sep = nn.DepthwiseSeparableConv2d(64, 32, 3, bias=False)
    full = nn.Conv2d(64, 32, 3, bias=False)
    assert sum(p.numel() for p in sep.parameters()) == 3 * 3 * 64 + 64 * 32     # 2,624
    assert sum(p.numel() for p in full.parameters()) == 3 * 3 * 64 * 32         # 18,432


LAYERS_FOR_GRADCHECK = [
    ("Conv2d", lambda: nn.Conv2d(2, 3, 3, stride=2, padding=1, padding_mode="circular"), (2, 2, 5, 5)),
    ("Conv1d", lambda: nn.Conv1d(2, 2, 2, dilation=2), (2, 2, 6)),
    ("Conv3d", lambda: nn.Conv3d(1, 2, 2), (1, 1, 3, 3, 3)),
    ("ConvTranspose2d", lambda: nn.ConvTranspose2d(2, 2, 3, stride=2, output_padding=1), (1, 2, 3, 3)),
    ("DepthwiseSeparableConv2d", lambda: nn.DepthwiseSeparableConv2d(2, 3, 3, padding="same"), (2, 2, 4, 4)),
    ("MaxPool2d+AvgPool2d", lambda: nn.Sequential(nn.MaxPool2d(2, 1), nn.AvgPool2d(2, padding=1)), (2, 2, 5, 5)),
    ("AdaptiveAvgPool2d", lambda: nn.AdaptiveAvgPool2d(2), (2, 2, 5, 3)),
    ("Linear+activations", lambda: nn.Sequential(nn.Linear(4, 3), nn.LeakyReLU(0.1), nn.Linear(3, 3), nn.Tanh(),
                                                  nn.Sigmoid(), nn.Softmax(1)), (3, 4)),
    ("BatchNorm2d", lambda: nn.BatchNorm2d(2), (3, 2, 2, 2)),
    ("Flatten+LogSoftmax", lambda: nn.Sequential(nn.Flatten(), nn.LogSoftmax(1)), (2, 2, 3)),
]


@pytest.mark.parametrize("name, build, shape", LAYERS_FOR_GRADCHECK, ids=[c[0] for c in LAYERS_FOR_GRADCHECK])
def test_layers_pass_float64_gradcheck(name, build, shape, rng):
    """Every layer's input and parameter gradients against central finite differences, float64."""
    convscope.backend.set_default_dtype(np.float64)
    try:
        layer = build()
    finally:
        convscope.backend.set_default_dtype(np.float32)
    params = list(layer.parameters())
    assert all(p.dtype == np.float64 for p in params)
    x = convscope.Tensor(rng.standard_normal(shape), requires_grad=True)

    def objective():
        return layer(x)

    out = objective()
    gy = rng.standard_normal(out.shape)
    out.backward(gy)
    eps = 1e-6
    for leaf in [x] + params:
        analytic = leaf.grad.copy()
        numeric = np.zeros_like(leaf.data)
        flat, nflat = leaf.data.reshape(-1), numeric.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            hi = float(np.sum(objective().numpy() * gy))
            flat[i] = old - eps
            lo = float(np.sum(objective().numpy() * gy))
            flat[i] = old
            nflat[i] = (hi - lo) / (2 * eps)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-6, err_msg=name)
