"""Saliency and Grad-CAM through convscope's autograd, on models whose answer is known."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import convscope  # noqa: E402
from convscope import models, nn  # noqa: E402
from convscope.viz._common import MAGNITUDE_CMAP  # noqa: E402
from convscope.viz.attribution import grad_cam, grad_cam_map, saliency, saliency_map  # noqa: E402


def one_pixel_reader(channels, h, w, classes, target, pixel, weight):
    """Flatten + Linear whose score ``target`` reads exactly one input value."""
    net = nn.Sequential(nn.Flatten(), nn.Linear(channels * h * w, classes))
    net[1].weight.data[...] = 0.0
    c, r, col = pixel
    net[1].weight.data[target, (c * h + r) * w + col] = weight
    return net


@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_saliency_lights_exactly_the_pixel_the_score_reads(data):
    channels = data.draw(st.sampled_from([1, 3]))
    h, w = data.draw(st.integers(2, 9)), data.draw(st.integers(2, 9))
    classes = data.draw(st.integers(1, 4))
    target = data.draw(st.integers(0, classes - 1))
    pixel = (data.draw(st.integers(0, channels - 1)), data.draw(st.integers(0, h - 1)),
             data.draw(st.integers(0, w - 1)))
    weight = data.draw(st.sampled_from([-2.5, 0.5, 3.0]))
    net = one_pixel_reader(channels, h, w, classes, target, pixel, weight)
    image = np.random.default_rng(0).random((channels, h, w)).astype(np.float32)
    got = saliency_map(net, image, target=target)
    assert got.shape == (h, w)
    assert np.unravel_index(np.argmax(got), got.shape) == pixel[1:]
    assert got[pixel[1:]] == pytest.approx(abs(weight))
    others = np.delete(got.ravel(), pixel[1] * w + pixel[2])
    assert np.all(others == 0)


def test_saliency_matches_torch_on_lenet():
    torch = pytest.importorskip("torch")
    convscope.manual_seed(0)
    net = models.lenet5()
    image = np.random.default_rng(1).random((28, 28)).astype(np.float32)
    got = saliency_map(net, image, target=4)
    ref = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(400, 120), torch.nn.ReLU(), torch.nn.Linear(120, 84), torch.nn.ReLU(),
        torch.nn.Linear(84, 10))
    ref.load_state_dict({k: torch.from_numpy(v) for k, v in net.state_dict().items()})
    x = torch.from_numpy(image[None, None]).requires_grad_(True)
    ref(x)[0, 4].backward()
    np.testing.assert_allclose(got, x.grad[0].abs().amax(dim=0).numpy(), rtol=1e-4, atol=1e-7)


def test_target_none_is_the_predicted_class():
    net = one_pixel_reader(1, 3, 3, 3, 2, (0, 1, 1), 1.0)
    net[1].bias.data[...] = [0.0, 0.0, 10.0]         # class 2 wins
    net[1].weight.data[0, 0] = 7.0                   # class 0 reads another pixel
    image = np.ones((3, 3), dtype=np.float32)
    np.testing.assert_array_equal(saliency_map(net, image), saliency_map(net, image, target=2))
    fig = saliency(net, image)
    assert "class 2" in fig.get_suptitle() and "the predicted class" in fig.get_suptitle()
    fig = saliency(net, image, target=0)
    assert "class 0" in fig.get_suptitle() and "predicted: 2" in fig.get_suptitle()


def test_parameters_and_modes_untouched():
    convscope.manual_seed(0)
    net = models.lenet5()
    net.train()
    net[0].weight.requires_grad_(False)
    image = np.zeros((28, 28))
    saliency_map(net, image)
    grad_cam_map(net, image)
    assert all(p.grad is None for p in net.parameters())
    assert [p.requires_grad for p in net.parameters()] == [False] + [True] * 9
    assert all(m.training for m in net.modules())
    assert all(not m._forward_hooks for m in net.modules())


def region_model(classes=3, target=1, sign=1.0):
    """conv (channel 0 copies the image, channel 1 its negative) -> ReLU -> global average ->
    Linear: the target's score grows with the image's brightness through channel 0 only."""
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, bias=False), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                        nn.Flatten(), nn.Linear(2, classes))
    net[0].weight.data[...] = 0.0
    net[0].weight.data[0, 0, 1, 1] = 1.0
    net[0].weight.data[1, 0, 1, 1] = -1.0
    net[4].weight.data[...] = 0.0
    net[4].bias.data[...] = 0.0
    net[4].weight.data[target] = [sign, 0.5]
    return net


@settings(max_examples=12, deadline=None)
@given(top=st.integers(0, 10), left=st.integers(0, 10), size=st.integers(2, 5))
def test_grad_cam_is_largest_where_the_evidence_is(top, left, size):
    net = region_model()
    image = np.zeros((16, 16), dtype=np.float32)
    image[top:top + size, left:left + size] = 1.0
    cam = grad_cam_map(net, image, target=1)
    assert cam.shape == (16, 16) and cam.min() >= 0 and cam.max() == pytest.approx(1.0)
    r, c = np.unravel_index(np.argmax(cam), cam.shape)
    assert top <= r < top + size and left <= c < left + size
    assert cam[image == 0].max() < 1.0
    far = np.abs(np.arange(16)[:, None] - (top + size / 2)) + np.abs(np.arange(16)[None] - (left + size / 2))
    assert np.all(cam[far > size + 3] == 0)


def test_grad_cam_without_positive_evidence_is_zero():
    net = region_model(sign=-1.0)
    image = np.zeros((8, 8), dtype=np.float32)
    image[2:4, 2:4] = 1.0
    np.testing.assert_array_equal(grad_cam_map(net, image, target=1), 0.0)
    # a class whose score ignores the layer altogether
    np.testing.assert_array_equal(grad_cam_map(net, image, target=0), 0.0)


def test_grad_cam_layer_choice_and_figure(tmp_path):
    convscope.manual_seed(0)
    net = models.lenet5()
    image = np.random.default_rng(2).random((28, 28))
    default = grad_cam_map(net, image, target=3)
    np.testing.assert_array_equal(default, grad_cam_map(net, image, target=3, layer="3"))
    at_relu = grad_cam_map(net, image, target=3, layer=net[4])
    assert at_relu.shape == (28, 28)
    out = tmp_path / "cam.png"
    fig = grad_cam(net, image, target=3, path=out)
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert fig.axes[1].get_title() == "Grad-CAM at 3 (Conv2d)\n10\u00d710 map, upsampled to 28\u00d728"
    assert fig.axes[1].images[0].get_cmap().name == MAGNITUDE_CMAP
    np.testing.assert_allclose(fig.axes[1].images[0].get_array(), default)
    fig = saliency(net, image, target=3)
    np.testing.assert_allclose(fig.axes[1].images[0].get_array(), saliency_map(net, image, target=3))
    assert fig.axes[1].images[0].norm.vmin == 0


@pytest.mark.parametrize("fn", [saliency_map, grad_cam_map, saliency, grad_cam])
def test_target_out_of_range_names_the_range(fn):
    net = models.lenet5()
    with pytest.raises(ValueError, match=rf"{fn.__name__}: target expects a class index in 0\.\.9 \(the model "
                                         r"gives 10 scores\), but got 10"):
        fn(net, np.zeros((28, 28)), target=10)
    with pytest.raises(ValueError, match=r"in 0\.\.9 .*but got -1"):
        fn(net, np.zeros((28, 28)), target=-1)
    with pytest.raises(TypeError, match=r"target expects an integer"):
        fn(net, np.zeros((28, 28)), target=1.0)


class Total(nn.Module):
    def forward(self, x):
        return x.sum()


def test_bad_inputs(tmp_path):
    net = models.lenet5()
    with pytest.raises(ValueError, match=r"saliency_map: image expects 1 channel\(s\) for this model, but got "
                                         r"shape \(3, 28, 28\)"):
        saliency_map(net, np.zeros((3, 28, 28)))
    with pytest.raises(ValueError, match=r"grad_cam_map: layer expects one of the model's layers \('0', '1'.*"
                                         r"but got 'conv5'"):
        grad_cam_map(net, np.zeros((28, 28)), layer="conv5")
    with pytest.raises(ValueError, match=r"grad_cam_map: layer expects a layer with maps of shape \(1, C, h, w\), "
                                         r"but '7' gives \(1, 120\)"):
        grad_cam_map(net, np.zeros((28, 28)), layer="7")
    with pytest.raises(ValueError, match=r"layer expects a layer name when the model has no conv layer"):
        grad_cam_map(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"saliency_map: model expects to return class scores"):
        saliency_map(Total(), np.zeros((2, 2)))
    with pytest.raises(TypeError, match=r"saliency_map: model expects a convscope.nn.Module"):
        saliency_map(lambda x: x, np.zeros((2, 2)))
    blocker = tmp_path / "file"
    blocker.write_text("")
    for fn in (saliency, grad_cam):
        with pytest.raises(PermissionError, match=rf"{fn.__name__}: path expects a writable folder"):
            fn(net, np.zeros((28, 28)), path=blocker / "x.png")
