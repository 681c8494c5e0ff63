"""The reference texts' worked examples, with numbers derived by hand and checked against
PyTorch (cross-correlation, as CNN layers compute) and SciPy (true convolution)."""

import io
import subprocess
import sys

import numpy as np
import pytest

import convscope
import convscope.nn.functional as F
from convscope import demo
from convscope.ops.reference import convolve_true_2d
from tests._reference import torch

IMAGE = np.arange(1.0, 17.0).reshape(4, 4)
EDGE = np.array([[1.0, 1.0], [-1.0, -1.0]])
DIAGONAL = np.array([[0.0, 1.0], [1.0, 0.0]])


def test_cross_correlation_of_the_4x4_example():
    # window [[a, a+1], [a+4, a+5]] . [[1, 1], [-1, -1]] = -8 everywhere
    got = F.conv2d(IMAGE[None, None], EDGE[None, None])[0, 0]
    np.testing.assert_array_equal(got, np.full((3, 3), -8.0))
    want = torch.nn.functional.conv2d(torch.tensor(IMAGE)[None, None], torch.tensor(EDGE)[None, None])[0, 0]
    np.testing.assert_array_equal(got, want.numpy())


def test_true_convolution_flips_the_kernel_and_the_sign():
    scipy_signal = pytest.importorskip("scipy.signal")
    want = scipy_signal.convolve2d(IMAGE, EDGE, mode="valid")
    np.testing.assert_array_equal(want, np.full((3, 3), 8.0))          # +8, not -8
    np.testing.assert_array_equal(convolve_true_2d(IMAGE, EDGE), want)
    np.testing.assert_array_equal(F.conv2d(IMAGE[None, None], EDGE[::-1, ::-1][None, None].copy())[0, 0], want)


def test_two_filter_layer_matches_torch_conv2d_module():
    results = demo.worked_example()
    np.testing.assert_array_equal(results["diagonal"], [[7, 9, 11], [15, 17, 19], [23, 25, 27]])
    layer = torch.nn.Conv2d(1, 2, kernel_size=2, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(np.stack([EDGE, DIAGONAL])[:, None]))
        layer.bias.zero_()
        out = layer(torch.tensor(IMAGE)[None, None])[0].numpy()
    np.testing.assert_array_equal(results["cross_correlation"], out[0])
    np.testing.assert_array_equal(results["diagonal"], out[1])


def test_horizontal_line_detector():
    r = demo.worked_example()
    resp = r["line_response"]
    np.testing.assert_array_equal(resp[2, 1:-1], 6)     # 2 + 2 + 2 on the line
    np.testing.assert_array_equal(resp[[1, 3], 1:-1], -3)
    np.testing.assert_array_equal(resp[[0, 4, 5]], 0)
    want = torch.nn.functional.conv2d(torch.tensor(r["line_image"])[None, None],
                                      torch.tensor(demo.HORIZONTAL_LINE)[None, None], padding="same")[0, 0]
    np.testing.assert_array_equal(resp, want.numpy())


def test_dilated_3x3_sees_a_5x5_window():
    """A 3x3 kernel with dilation 2 touches exactly the corners, edge midpoints and centre of 5x5."""
    x = convscope.Tensor(np.zeros((1, 1, 5, 5)), requires_grad=True)
    F.conv2d(x, np.ones((1, 1, 3, 3)), dilation=2).backward(np.ones((1, 1, 1, 1)))
    touched = x.grad[0, 0] != 0
    want = np.zeros((5, 5), bool)
    want[::2, ::2] = True
    np.testing.assert_array_equal(touched, want)


def test_demo_prints_the_explained_example():
    buf = io.StringIO()
    assert demo.run(buf) == 0
    text = buf.getvalue()
    for needle in ("y[0, 0] = 1*1 + 2*1 + 5*(-1) + 6*(-1) = -8", "= +8", "[ 7   9  11]", "[23  25  27]",
                   "(28 + 2 - 1*2 - 1) // 2 + 1 = 14   (engine output 14x14)", "epoch 2: train loss",
                   "the same filter after training:"):
        assert needle in text


def test_demo_learns_filters_from_random_initialisation():
    model, before, history = demo.train_bundled_lenet()
    after = model[0].weight.data[0, 0]
    assert np.abs(before).max() <= 0.2 + 1e-7                 # PyTorch's default bound 1/sqrt(25)
    assert not np.allclose(before, after)                     # training changed the filter
    assert history[-1]["val_accuracy"] >= 0.85


def test_cli_runs_the_text_demo():
    done = subprocess.run([sys.executable, "-m", "convscope", "demo", "--text"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "cross-correlation" in done.stdout
