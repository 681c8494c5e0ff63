"""capture and feature_maps: the captured maps are the sub-network's output, hooks never stay."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import convscope  # noqa: E402
from convscope import models, nn  # noqa: E402
from convscope.autograd import Tensor, no_grad  # noqa: E402
from convscope.data import MNIST  # noqa: E402
from convscope.viz._common import MAGNITUDE_CMAP, SIGNED_CMAP  # noqa: E402
from convscope.viz.features import capture, default_layers, feature_maps  # noqa: E402


@pytest.fixture(scope="module")
def lenet():
    convscope.manual_seed(3)
    return models.lenet5()


@pytest.fixture(scope="module")
def digit():
    return MNIST.bundled(train=False).data[0]


def no_hooks(model):
    return all(not m._forward_hooks for m in model.modules())


@settings(max_examples=8, deadline=None)
@given(depth=st.integers(1, 8))
def test_captured_maps_equal_a_forward_of_the_sub_network(lenet, digit, depth):
    name = str(depth - 1)
    got = capture(lenet, digit, layers=name)
    x = Tensor((digit.astype(np.float32) / 255.0)[None, None])
    with no_grad():
        want = lenet[:depth](x).data
    assert list(got) == [name]
    np.testing.assert_array_equal(got[name], want)
    assert no_hooks(lenet)


def test_capture_keeps_the_order_given_and_copies(lenet, digit):
    got = capture(lenet, digit, layers=["3", "0", lenet[1]])
    assert list(got) == ["3", "0", "1"]
    assert got["0"].shape == (1, 6, 28, 28) and got["3"].shape == (1, 16, 10, 10)
    again = capture(lenet, digit, layers=["0"])
    got["0"][...] = 0.0                                  # a copy: nothing of the model's changes
    assert np.any(again["0"] != 0)


def test_default_layers_are_convs_and_the_activation_after_each():
    assert default_layers(models.lenet5()) == ["0", "1", "3", "4"]
    vgg = models.small_vgg()                             # conv, BatchNorm, ReLU: the BN is skipped
    names = default_layers(vgg)
    assert names[:4] == ["0", "2", "3", "5"]
    assert all(type(dict(vgg.named_modules())[n]).__name__ in ("Conv2d", "ReLU") for n in names)


def test_eval_mode_inside_and_modes_restored(digit):
    seen = []

    class Spy(nn.Module):
        def forward(self, x):
            seen.append(self.training)
            return x

    net = nn.Sequential(nn.Conv2d(1, 2, 3), Spy(), nn.Dropout(0.5))
    net.train()
    net[2].eval()                               # a mixed state is restored exactly
    capture(net, digit, layers="1")
    assert seen == [False]
    assert [m.training for m in net.modules()] == [True, True, True, False]


def test_hooks_removed_after_an_error(digit):
    class Broken(nn.Module):
        def forward(self, x):
            raise ValueError("broken layer")

    net = nn.Sequential(nn.Conv2d(1, 2, 3), Broken())
    with pytest.raises(ValueError, match="broken layer"):
        capture(net, digit, layers=["0", "1"])
    assert no_hooks(net)


def test_unknown_layer_lists_the_layers(lenet, digit):
    with pytest.raises(ValueError, match=r"capture: layers expects one of the model's layers \('0', '1', .*'11'\), "
                                         r"but got 'conv9'"):
        capture(lenet, digit, layers=["0", "conv9"])
    with pytest.raises(ValueError, match=r"feature_maps: layers expects one of the model's layers"):
        feature_maps(lenet, digit, layers="conv9")
    assert no_hooks(lenet)


def test_layer_that_does_not_run(digit):
    class Skips(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.unused = nn.Conv2d(1, 2, 3), nn.ReLU()

        def forward(self, x):
            return self.conv(x)

    net = Skips()
    with pytest.raises(ValueError, match=r"layers expects layers that the forward pass calls, but 'unused' did not"):
        capture(net, digit, layers=["conv", "unused"])


@pytest.mark.parametrize("image, match", [
    (np.zeros((2, 28, 28)), r"capture: image expects 1 channel\(s\) for this model, but got shape \(2, 28, 28\)"),
    (np.zeros((2, 1, 28, 28)), r"image expects one image"),
    (np.full((28, 28), np.nan), r"finite"),
])
def test_bad_images(lenet, image, match):
    with pytest.raises(ValueError, match=match):
        capture(lenet, image)


def test_bad_arguments(lenet, digit):
    with pytest.raises(TypeError, match="capture: model expects a convscope.nn.Module, but got int"):
        capture(3, digit)
    with pytest.raises(ValueError, match="capture: layers expects at least one layer name"):
        capture(lenet, digit, layers=[])
    with pytest.raises(TypeError, match="capture: layers expects a layer name"):
        capture(lenet, digit, layers=5)
    with pytest.raises(ValueError, match="feature_maps: max_channels expects a positive integer"):
        feature_maps(lenet, digit, max_channels=0)


def test_feature_maps_blocks_titles_and_colours(lenet, digit):
    fig = feature_maps(lenet, digit, layers=["0", "1", "9"], max_channels=4)
    titles = [sub.get_suptitle() for sub in fig.subfigs]
    assert titles == ["input \u00b7 1\u00d728\u00d728",
                      "0 \u00b7 Conv2d \u00b7 6\u00d728\u00d728 \u00b7 channels 0\u20133 of 6",
                      "1 \u00b7 ReLU \u00b7 6\u00d728\u00d728 \u00b7 channels 0\u20133 of 6",
                      "9 \u00b7 Linear \u00b7 84"]
    conv, relu = fig.subfigs[1], fig.subfigs[2]
    maps = [ax for ax in conv.axes if ax.images]
    assert [ax.get_title() for ax in maps] == ["ch 0", "ch 1", "ch 2", "ch 3"]
    assert maps[0].images[0].get_cmap().name == SIGNED_CMAP
    assert maps[0].images[0].norm.vmin == -maps[0].images[0].norm.vmax
    relu_image = [ax for ax in relu.axes if ax.images][0].images[0]
    assert relu_image.get_cmap().name == MAGNITUDE_CMAP and relu_image.norm.vmin == 0
    acts = capture(lenet, digit, layers="0")["0"][0, 2]
    np.testing.assert_array_equal(maps[2].images[0].get_array(), acts)
    # one shared scale per layer: its limit is the largest |value| over the channels shown
    shown = capture(lenet, digit, layers="0")["0"][0, :4]
    assert maps[0].images[0].norm.vmax == pytest.approx(np.abs(shown).max())


def test_feature_maps_default_layers_and_saving(lenet, digit, tmp_path):
    out = tmp_path / "maps.png"
    fig = feature_maps(lenet, digit, path=out)
    assert [sub.get_suptitle().split(" \u00b7 ")[0] for sub in fig.subfigs] == ["input", "0", "1", "3", "4"]
    assert out.read_bytes()[:4] == b"\x89PNG"
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(PermissionError, match="feature_maps: path expects a writable folder"):
        feature_maps(lenet, digit, path=blocker / "maps.png")


def test_rgb_input_is_shown_in_colour():
    net = nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU())
    image = np.random.default_rng(0).random((3, 12, 12))
    fig = feature_maps(net, image)
    shown = fig.subfigs[0].axes[0].images[0].get_array()
    assert shown.shape == (12, 12, 3)
    np.testing.assert_allclose(shown, image.transpose(1, 2, 0))
