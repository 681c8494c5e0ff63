"""convscope.nn.functional is a package mirroring convscope.ops; its public names and op records."""

import pathlib

import numpy as np
import pytest

import convscope.nn.functional as F
from convscope import Tensor
from convscope.autograd import register_op_hook

PUBLIC = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "pad",
          "relu", "leaky_relu", "sigmoid", "tanh", "softmax", "log_softmax", "linear", "dropout", "batch_norm",
          "cross_entropy", "nll_loss", "mse_loss", "flatten", "max_pool1d", "max_pool2d", "max_pool3d",
          "avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
          "adaptive_avg_pool3d", "interpolate", "hardtanh", "relu6", "hardsigmoid", "hardswish", "clamp"]
PACKAGE = pathlib.Path(F.__file__).parent
OPS = PACKAGE.parent.parent / "ops"


def test_every_public_name_stays():
    assert sorted(F.__all__) == sorted(PUBLIC)
    assert all(callable(getattr(F, name)) for name in PUBLIC)


def test_the_files_mirror_ops_and_stay_small():
    ours = {p.name for p in PACKAGE.glob("*.py") if not p.name.startswith("_")}
    theirs = {p.name for p in OPS.glob("*.py") if not p.name.startswith("_")} - {"reference.py"}
    assert theirs <= ours and ours - theirs == {"dropout.py"}
    for path in PACKAGE.glob("*.py"):
        assert len(path.read_text().splitlines()) < 600, path.name


def _names(fn):
    seen = []
    with register_op_hook(lambda call: seen.append(call.name)):
        fn()
    return seen


x4 = Tensor(np.ones((1, 2, 6, 6), np.float32))


@pytest.mark.parametrize("call, names", [
    (lambda: F.conv2d(x4, np.ones((3, 2, 3, 3), np.float32)), ["conv2d"]),
    (lambda: F.conv2d(x4, np.ones((3, 2, 3, 3), np.float32), padding=1, padding_mode="reflect"), ["pad", "conv2d"]),
    (lambda: F.conv1d(Tensor(np.ones((1, 2, 5))), np.ones((1, 2, 2))), ["conv1d"]),
    (lambda: F.conv_transpose2d(x4, np.ones((2, 1, 2, 2), np.float32), stride=2), ["conv_transpose2d"]),
    (lambda: F.max_pool3d(Tensor(np.ones((1, 1, 4, 4, 4))), 2), ["max_pool3d"]),
    (lambda: F.avg_pool2d(x4, 2), ["avg_pool2d"]),
    (lambda: F.adaptive_avg_pool1d(Tensor(np.ones((1, 1, 4))), 2), ["adaptive_avg_pool1d"]),
    (lambda: F.interpolate(x4, scale_factor=2), ["interpolate"]),
    (lambda: F.linear(Tensor(np.ones((2, 3))), np.ones((4, 3))), ["linear"]),
    (lambda: [F.relu(x4), F.leaky_relu(x4), F.sigmoid(x4), F.tanh(x4), F.softmax(x4, 1), F.log_softmax(x4, 1)],
     ["relu", "leaky_relu", "sigmoid", "tanh", "softmax", "log_softmax"]),
    (lambda: [F.hardtanh(x4), F.relu6(x4), F.clamp(x4, 0), F.hardsigmoid(x4), F.hardswish(x4)],
     ["hardtanh", "hardtanh", "clamp", "hardsigmoid", "hardswish"]),
    (lambda: F.dropout(x4, 0.5), ["dropout"]),
    (lambda: F.batch_norm(x4, np.zeros(2), np.ones(2)), ["batch_norm"]),
    (lambda: F.cross_entropy(Tensor(np.ones((2, 3))), np.array([0, 1])), ["cross_entropy"]),
    (lambda: F.nll_loss(Tensor(np.ones((2, 3))), np.array([0, 1])), ["nll_loss"]),
    (lambda: F.mse_loss(x4, x4), ["mse_loss"]),
    (lambda: F.flatten(x4), ["reshape"]),
])
def test_each_op_names_itself(call, names):
    assert _names(call) == names


def test_transposed_conv_geometry_is_plain_data():
    seen = []
    with register_op_hook(seen.append):
        F.conv_transpose1d(Tensor(np.ones((1, 2, 4))), np.ones((2, 3, 3)), stride=2, padding=1, output_padding=1)
    assert seen[0].geometry == {"kernel": (3,), "stride": (2,), "padding": (1,), "output_padding": (1,),
                                "dilation": (1,), "groups": 1, "output_size": (8,)}
