"""summary()'s shape-only pass: the same table as a computed pass, on any input size, in bounded memory;
and clear errors for inputs that do not fit the model."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import convscope.nn as nn
import convscope.nn.functional as F
from convscope import cat, models
from convscope.analysis import summary
from convscope.analysis.shape_rules import output_spec, placeholder
from convscope.autograd import Function, stack

# One sample's shape for each zoo model: the MNIST nets take 28x28, Tiny VGG 64x64, the rest 224x224.
DEFAULT_INPUT = {"lenet5": (1, 28, 28), "simple_cnn": (1, 28, 28), "small_vgg": (1, 28, 28), "tiny_vgg": (3, 64, 64)}

# Multiply-adds at 3x224x224, batch 1 (conv and linear, no biases), as ptflops / fvcore count them for
# torchvision's models and as tests/analysis/test_published.py checks to 1%: ResNet-18 1.814 G,
# VGG-16 15.47 G. Their fully connected layers: 512 x 1000 and 25088 x 4096 + 4096 x 4096 + 4096 x 1000.
RESNET18_MACS_224, RESNET18_FC = 1_814_073_344, 512 * 1000
VGG16_MACS_224, VGG16_FC = 15_470_264_320, 25088 * 4096 + 4096 * 4096 + 4096 * 1000


def scaled_macs(macs_224, fc, size):
    """MACs at size x size of a net whose every feature map is the input size over a fixed stride
    (ResNet's 2, 4, 8, 16, 32; VGG's 1 ... 16) ahead of a global pool: the conv part grows with
    the area, the linear layers do not. Exact when 224 and ``size`` are multiples of the largest
    stride (32 for ResNet-18: 20000 = 625 x 32; 16 for VGG-16's last conv: 4096 = 256 x 16)."""
    conv, rem = divmod((macs_224 - fc) * size * size, 224 * 224)
    assert rem == 0
    return conv + fc


def test_closed_form_figures_at_224():
    assert summary(models.get("resnet18"), (3, 224, 224)).total_macs == RESNET18_MACS_224


# --------------------------------------------------------------------------- shape-only == computed

@pytest.mark.parametrize("name", models.available())
def test_zoo_model_shape_only_equals_computed(name):
    """Every zoo model at its standard input: the same records, totals, notes and table."""
    model, shape = models.get(name), DEFAULT_INPUT.get(name, (3, 224, 224))
    fast, slow = summary(model, shape), summary(model, shape, compute=True)
    assert fast == slow
    assert str(fast) == str(slow)


@pytest.mark.parametrize("name, shape", [("resnet18", (3, 97, 131)), ("googlenet", (3, 101, 77)),
                                         ("mobilenet_v1", (3, 65, 70)), ("dilated_segmenter", (3, 45, 61))])
def test_zoo_model_at_odd_sizes_batch_and_float64(name, shape):
    model = models.get(name)
    fast = summary(model, shape, batch_size=3, dtype=np.float64)
    assert fast == summary(model, shape, batch_size=3, dtype=np.float64, compute=True)
    assert fast.input_bytes == 8 * 3 * int(np.prod(shape))


class Ops(nn.Module):
    """A forward through every op the shape rules know, in unusual options."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, (3, 2), stride=(2, 1), padding="same", dilation=(1, 2), padding_mode="reflect")
        self.group = nn.Conv2d(6, 6, 3, padding=(0, 2), groups=3, bias=False)
        self.up = nn.ConvTranspose2d(6, 4, 3, stride=2, padding=1, output_padding=1, groups=2)
        self.bn = nn.BatchNorm2d(4)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.avg = nn.AvgPool2d((2, 3), stride=1, padding=(1, 1), count_include_pad=False)
        self.adapt = nn.AdaptiveAvgPool2d((None, 3))
        self.resize = nn.Upsample(scale_factor=1.5, mode="bilinear", align_corners=True)
        self.fc = nn.Linear(3, 5)
        self.soft = nn.LogSoftmax(1)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        y = self.bn(self.up(self.group(self.conv(x))))
        y = F.leaky_relu(self.pool(F.sigmoid(y)), 0.2)
        y = self.adapt(self.avg(F.pad(y, (1, 0, 2, 1), mode="replicate")))
        y = F.interpolate(self.resize(y), size=(7, 6), mode="nearest")
        y = F.avg_pool1d(F.max_pool1d(y.flatten(2), 2, ceil_mode=True), 3, stride=2)     # (N, 4, L)
        y = F.adaptive_avg_pool1d(F.max_pool3d(y[:, None], (1, 1, 2)).reshape(y.shape[0], 4, -1), 3)
        z = self.fc(y) * 2.0 - 1 / (F.tanh(y).abs().sum(2, keepdim=True) + 1) ** 2   # broadcast (N, 4, 5) (N, 4, 1)
        z = cat([z, z.exp().log(), -z.permute(0, 2, 1).transpose(1, 2)], dim=1)      # (N, 12, 5)
        z = stack([z, z.astype(np.float64).float()], dim=-1).mean((-1,))              # (N, 12, 5)
        w = z @ z.transpose(1, 2)                                                  # matmul (N, 12, 12)
        return self.drop(self.soft(F.relu(w.max(2).values[..., 1:, None] + w[:, ::2].mean(1, keepdim=True).T.sum())))


class Shapes3d(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv3d(2, 3, 3, stride=(1, 2, 2), padding=1)
        self.conv1 = nn.Conv1d(3, 2, 5, dilation=2)

    def forward(self, x):
        y = F.adaptive_avg_pool3d(F.avg_pool3d(self.conv(x), 2, ceil_mode=True), (2, 3, 4))
        return F.conv_transpose1d(self.conv1(y.reshape(y.shape[0], 3, 24)), np.ones((2, 2, 3), np.float32), stride=3)


@pytest.mark.parametrize("model, shape, batch, dtype", [
    (Ops(), (3, 23, 17), 2, np.float32),
    (Ops(), (3, 30, 41), 1, np.float64),
    (Shapes3d(), (2, 9, 10, 11), 2, np.float32),
    (nn.Sequential(nn.Conv2d(1, 4, 3, stride=2), nn.Flatten(), nn.Linear(4 * 6 * 6, 3), nn.Softmax(1)),
     (1, 13, 14), 4, np.float32),
], ids=["ops", "ops-float64", "3d-1d", "sequential"])
def test_every_rule_matches_the_computed_pass(model, shape, batch, dtype):
    fast = summary(model, shape, batch_size=batch, dtype=dtype)
    slow = summary(model, shape, batch_size=batch, dtype=dtype, compute=True)
    assert fast == slow and not any("no shape rule" in n for n in fast.notes)
    assert fast.layers[-1].output_shape == slow.layers[-1].output_shape


class Mismatch(nn.Module):
    """A residual sum of maps with different channels, then a concatenation of different sizes."""

    def __init__(self, where):
        super().__init__()
        self.a, self.b, self.c = nn.Conv2d(1, 2, 3), nn.Conv2d(1, 3, 3), nn.Conv2d(1, 2, 5)
        self.where = where

    def forward(self, x):
        if self.where == "add":
            return self.a(x) + self.b(x)
        return cat([self.a(x), self.c(x)], 1)


@pytest.mark.parametrize("compute", [False, True])
def test_forward_errors_are_the_same_in_both_passes(compute):
    with pytest.raises(ValueError, match=r"summary: input 1x8x8 does not fit \(model\) \(Mismatch\), whose input is "
                                         r"1x8x8: operands could not be broadcast together with shapes \(1,2,6,6\) "
                                         r"\(1,3,6,6\)"):
        summary(Mismatch("add"), (1, 8, 8), compute=compute)
    with pytest.raises(ValueError, match=r"does not fit \(model\) \(Mismatch\), whose input is 1x9x9: all the input "
                                         r"array dimensions except for the concatenation axis must match exactly, but "
                                         r"along dimension 2, the array at index 0 has size 7 and the array at index 1 "
                                         r"has size 5"):
        summary(Mismatch("cat"), (1, 9, 9), compute=compute)


# --------------------------------------------------------------------------- ops without a rule

class _Double(Function):
    """A Function the shape rules have never heard of."""

    @staticmethod
    def forward(ctx, x):
        return np.concatenate([x, x], axis=-1)

    @staticmethod
    def backward(ctx, g):
        return g[..., : g.shape[-1] // 2] + g[..., g.shape[-1] // 2:]


def test_an_op_without_a_rule_runs_for_real_and_is_noted():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.out = nn.Conv2d(1, 2, 3), nn.Identity()

        def forward(self, x):
            y, idx = F.max_pool2d(_Double.apply(self.conv(x)), 2, return_indices=True)
            return self.out(y[idx > -1].reshape(y.shape))          # boolean indexing: computed too

    fast, slow = summary(Net(), (1, 8, 8)), summary(Net(), (1, 8, 8), compute=True)
    assert fast.layers == slow.layers and fast["out"].output_shape == (1, 2, 3, 6)
    ran = [n for n in fast.notes if "no shape rule" in n]
    assert any("op _Double " in n for n in ran) and any("op index " in n for n in ran)
    assert not any("max_pool" in n for n in ran)        # its rule gives placeholder indices too
    assert fast.unknown_ops == slow.unknown_ops == ("_Double",)
    assert all("no shape rule" not in n for n in slow.notes)


def test_placeholder_and_output_spec():
    p = placeholder((2, 3, 10**6, 10**6), np.float16)
    assert p.shape == (2, 3, 10**6, 10**6) and p.nbytes == 12 * 10**12 and p.strides == (0, 0, 0, 0)
    assert not p.flags.writeable and float(p[1, 2, 3, 4]) == 0.0
    with pytest.raises(ValueError, match=r"shape-only pass: an array of shape \(1, 4611686018427387904\) \(float32\) "
                                         r"expects at most 9,223,372,036,854,775,807 bytes"):
        placeholder((1, 2**62), np.float32)
    x = placeholder((1, 4, 5), np.float32)
    assert output_spec(F.ConvFunction, (x, np.zeros((3, 4, 2), np.float64), None),
                       dict(stride=(1,), padding=((0, 0),), dilation=(1,), groups=1)) == ((1, 3, 4), np.float64)
    assert output_spec(_Double, (x,), {}) is None


# --------------------------------------------------------------------------- huge inputs, bounded memory

HUGE = textwrap.dedent("""
    import json, resource, sys, time, tracemalloc
    limit = 2 * 2**30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from convscope import models
    from convscope.analysis import summary

    out, built = {}, {}
    for name, shape, batch in [("resnet18", (3, 20000, 20000), 1), ("resnet18", (3, 224, 224), 10**6),
                               ("vgg16", (3, 224, 224), 1), ("vgg16", (3, 4096, 4096), 1)]:
        model = built.setdefault(name, models.get(name))
        tracemalloc.start()
        start = time.perf_counter()
        s = summary(model, shape, batch_size=batch)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        convs = [r for r in s if r.type == "Conv2d"]
        out[f"{name} {shape} {batch}"] = dict(
            seconds=seconds, peak=peak, macs=s.total_macs, last=list(s[-1].output_shape),
            conv=list(convs[-1].output_shape), rf=list(convs[-1].receptive_field), params=s.total_params,
            activations=s.activation_bytes)
    print(json.dumps(out))
""")


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is what bounds the memory here")
def test_huge_inputs_in_two_gib_of_address_space():
    """ResNet-18 on 3x20000x20000 (a 4.8 GB input, 238 GB of activations), at batch 10**6, and
    VGG-16 on 3x4096x4096, in a process limited to 2 GiB: nothing but the parameters is allocated."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", HUGE], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout)

    r = got["resnet18 (3, 20000, 20000) 1"]
    assert r["macs"] == scaled_macs(RESNET18_MACS_224, RESNET18_FC, 20000) == 14_457_600_512_000
    assert r["conv"] == [1, 512, 625, 625] and r["last"] == [1, 1000] and r["params"] == 11_689_512
    assert r["rf"] == [435, 435]                            # as at 224 (test_published.py)
    assert r["activations"] > 200e9                        # what a computed pass would hold

    b = got["resnet18 (3, 224, 224) 1000000"]
    assert b["macs"] == 10**6 * RESNET18_MACS_224 and b["last"] == [10**6, 1000]

    assert got["vgg16 (3, 224, 224) 1"]["macs"] == VGG16_MACS_224
    v = got["vgg16 (3, 4096, 4096) 1"]
    assert v["macs"] == scaled_macs(VGG16_MACS_224, VGG16_FC, 4096) == 5_131_535_810_560
    assert v["conv"] == [1, 512, 256, 256] and v["last"] == [1, 1000] and v["params"] == 138_357_544

    for case in got.values():
        assert case["seconds"] < 5 and case["peak"] < 16 * 2**20, case


# --------------------------------------------------------------------------- inputs that do not fit

def lenet():
    return models.get("lenet5")


@pytest.mark.parametrize("shape, got", [
    ((1, 28, 28, 5), r"got 4: \(1, 28, 28, 5\)"),
    ((28,), r"got 1: \(28,\)"),
    ((1, 28), r"got 2: \(1, 28\)"),                   # would be read as one unbatched (C, H, W) sample
])
@pytest.mark.parametrize("compute", [False, True])
def test_input_of_the_wrong_rank(shape, got, compute):
    with pytest.raises(ValueError, match=r"summary: input_shape expects 3 sizes \(C, H, W\) for 0 \(Conv2d\), "
                                         r"a 2-D layer that reads the model input, but " + got):
        summary(lenet(), shape, compute=compute)


def test_wrong_rank_for_other_layers():
    with pytest.raises(ValueError, match=r"input_shape expects 2 sizes \(C, L\) for 0 \(Conv1d\).* got 3: \(2, 8, 8\)"):
        summary(nn.Sequential(nn.Conv1d(2, 2, 3)), (2, 8, 8))
    with pytest.raises(ValueError, match=r"input_shape expects 3 sizes \(C, H, W\) for 0 \(MaxPool2d\).* got 2"):
        summary(nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(1, 1, 1)), (1, 8))
    with pytest.raises(ValueError, match=r"input_shape expects 4 sizes \(C, D, H, W\) for conv \(Conv3d\)"):
        summary(Shapes3d(), (2, 9, 10))


def test_a_model_that_reshapes_its_input_is_not_blamed():
    class Flat(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 5)

        def forward(self, x):
            return self.conv(x.reshape(-1, 1, 28, 28))

    assert summary(Flat(), (784,), batch_size=3)[0].output_shape == (3, 2, 24, 24)


def test_cli_wrong_rank_exits_2_with_the_message():
    proc = subprocess.run([sys.executable, "-m", "convscope", "summary", "lenet5", "--input", "1x28x28x5"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "convscope summary: --input expects 3 sizes (C, H, W) for 0 (Conv2d)" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(input_shape=(1, -28, 28)), ValueError, r"summary: input_shape expects positive sizes"),
    (dict(input_shape="1x28x28.0"), ValueError, r"summary: input_shape expects sizes joined by 'x'"),
    (dict(input_shape=(1, True, 28)), TypeError, r"summary: input_shape expects integer sizes"),
    (dict(input_shape=("1", 28, 28)), TypeError, r"summary: input_shape expects integer sizes"),
    (dict(input_shape=np.array([1, 28, 28])), TypeError, r"summary: input_shape expects a tuple of ints"),
    (dict(input_shape=(1, 3, 3)), ValueError, r"summary: input 1x3x3 is too small for 3 \(Conv2d\): its input is "
                                              r"6x1x1"),
    (dict(batch_size=-1), ValueError, r"summary: batch_size expects a positive integer, but got -1"),
    (dict(batch_size=2.0), TypeError, r"summary: batch_size expects an integer, but got 2.0"),
    (dict(batch_size=10**30), ValueError, r"summary: batch_size x input_shape expects an input of at most "
                                          r"9,223,372,036,854,775,807 bytes .* but 10{30} x 1x28x28 in float32"),
    (dict(input_shape=(1, 10**10, 10**10)), ValueError, r"but 1 x 1x10000000000x10000000000 in float32 is "),
    (dict(dtype="complex64"), TypeError, r"summary: dtype expects a floating dtype"),
    (dict(dtype="no such dtype"), TypeError, r"summary: dtype expects a NumPy floating dtype"),
    (dict(compute="yes"), TypeError, r"summary: compute expects True or False, but got 'yes'"),
])
def test_bad_arguments(kwargs, error, match):
    kwargs = dict(dict(input_shape=(1, 28, 28)), **kwargs)
    with pytest.raises(error, match=match.replace("10{30}", "1" + "0" * 30)):
        summary(lenet(), **kwargs)


def test_a_layer_output_too_big_to_address():
    """An input NumPy can describe whose conv output it cannot: a ValueError naming the layer."""
    with pytest.raises(ValueError, match=r"summary: input 1x1073741824x1073741824 does not fit 0 \(Conv2d\)"):
        summary(nn.Sequential(nn.Conv2d(1, 64, 1)), (1, 2**30, 2**30))
