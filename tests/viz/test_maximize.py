"""Activation maximization: it raises the channel it targets, leaves the model as it was, fails clearly."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import convscope  # noqa: E402
from convscope import data, models, nn, optim  # noqa: E402
from convscope.train import fit  # noqa: E402
from convscope.viz import maximize  # noqa: E402
from convscope.viz.maximize import Maximization, activation_maximization, maximize_grid  # noqa: E402


class _Quiet:
    def write(self, text):
        pass

    def flush(self):
        pass


@pytest.fixture(scope="module")
def lenet():
    """LeNet-5 after one epoch on 500 bundled digits (well under a second)."""
    convscope.manual_seed(0)
    train = data.MNIST.bundled(train=True)
    loader = data.DataLoader(data.ArrayDataset(train.data[:500], train.targets[:500]), batch_size=50, shuffle=True,
                             seed=0, transform=data.Normalize(0.1307, 0.3081))
    model = models.lenet5()
    fit(model, loader, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=2e-3), 1, progress=False,
        stream=_Quiet())
    return model


def _edge_and_line_detectors():
    """A conv layer with known filters (no bias) and its ReLU: a vertical edge and a horizontal line."""
    net = nn.Sequential(nn.Conv2d(1, 2, 5, padding=2, bias=False), nn.ReLU())
    w = np.zeros((2, 1, 5, 5), np.float32)
    w[0, 0, :, :2], w[0, 0, :, 3:] = -1, 1                          # dark left, bright right
    w[1, 0, 1, :], w[1, 0, 2, :], w[1, 0, 3, :] = -1, 2, -1          # a bright horizontal line
    net[0].weight.data[...] = w / 5
    return net


def test_known_filters_get_their_pattern_and_a_tenfold_activation():
    fig = maximize_grid(_edge_and_line_detectors(), "1", [0, 1], steps=48)
    edge, line = fig.maximizations
    for found in (edge, line):
        assert found.start > 0 and found.final >= 10 * found.start, (found.channel, found.start, found.final)
    across = lambda img: np.abs(np.diff(img[0], axis=1)).mean()  # noqa: E731  (changes along x)
    down = lambda img: np.abs(np.diff(img[0], axis=0)).mean()    # noqa: E731  (changes along y)
    assert across(edge.image) > 3 * down(edge.image)                 # vertical stripes for a vertical edge
    assert down(line.image) > 3 * across(line.image)                 # horizontal lines for a line detector


def test_ascent_raises_a_trained_lenets_channels_tenfold_over_the_starting_noise(lenet):
    """Every channel of conv '3' rises; most (>= 12 of 16) tenfold. The few below start high, on a
    positive bias, and the L2 penalty caps the image's size (so the activation) near 5-10x that."""
    fig = maximize_grid(lenet, "3", list(range(16)), steps=48)
    ratios = []
    for found in fig.maximizations:
        assert found.final > found.activations[len(found.activations) // 4]      # climbed, then levelled
        if found.start > 0:
            assert found.final >= 5 * found.start, (found.channel, found.start, found.final)
            ratios.append(found.ratio)
        else:                                            # nowhere positive on the noise: the plain mean started it
            assert np.isnan(found.ratio) and found.final > 0.1
    assert sum(r >= 10 for r in ratios) >= 12, np.round(ratios, 1)


def test_the_reported_activation_is_the_channels_mean_positive_part_on_the_image(lenet):
    found = activation_maximization(lenet, "3", 2, steps=12)
    out = {}
    with lenet[3].register_forward_hook(lambda m, args, o: out.update(a=o.data)):
        lenet(found.image[None])
    assert found.final == pytest.approx(float(np.maximum(out["a"][0, 2], 0).mean()), rel=1e-5)
    assert found.final == found.activations[-1]


def test_the_mean_brightness_stays_put_so_a_first_layer_shows_a_pattern_not_a_flat_image(lenet):
    """A conv's mean output is linear in the image: without holding the mean brightness, the
    ascent would brighten (or darken) every pixel alike instead of drawing the filter's pattern."""
    for found in maximize_grid(lenet, "0", [0, 1, 2], steps=32).maximizations:
        assert abs(float(found.image.mean())) < 0.05 * float(found.image.std())
        assert found.image.std() > 0.5


def test_a_grid_gives_each_channel_the_image_it_would_get_alone(lenet):
    fig = maximize_grid(lenet, "3", [4, 1], steps=10, seed=3)
    for found in fig.maximizations:
        alone = activation_maximization(lenet, "3", found.channel, steps=10, seed=3)
        np.testing.assert_allclose(found.image, alone.image, atol=1e-4)
        np.testing.assert_allclose(found.activations, alone.activations, rtol=1e-4)


def test_same_seed_same_image_other_seed_other_image(lenet):
    a = activation_maximization(lenet, "3", 0, steps=5, seed=1)
    b = activation_maximization(lenet, "3", 0, steps=5, seed=1)
    c = activation_maximization(lenet, "3", 0, steps=5, seed=2)
    np.testing.assert_array_equal(a.image, b.image)
    assert not np.allclose(a.image, c.image)


def test_the_model_its_modes_and_its_gradients_are_left_as_they_were(lenet):
    before = {k: v.copy() for k, v in lenet.state_dict().items()}
    params = list(lenet.parameters())
    grads = [np.full(p.shape, 7.0, dtype=p.dtype) for p in params]
    for p, g in zip(params, grads):
        p.grad = g
    lenet.train()
    lenet[1].eval()                                      # a mixed state must come back as it was
    try:
        activation_maximization(lenet, "3", 0, steps=3)
        assert lenet.training and lenet[0].training and not lenet[1].training
        assert all(p.requires_grad for p in params)
        assert all(p.grad is g and np.all(g == 7.0) for p, g in zip(params, grads))
        for key, value in lenet.state_dict().items():
            np.testing.assert_array_equal(value, before[key], err_msg=key)
    finally:
        for p in params:
            p.grad = None
        lenet.eval()


def test_the_forward_stops_at_the_layer_so_any_size_its_layers_accept_works(lenet):
    found = activation_maximization(lenet, "3", 0, steps=2, size=(20, 24))    # the 400-input Linear would refuse
    assert found.image.shape == (1, 20, 24)
    assert found.image.dtype == np.float32 and not found.image.flags.writeable


@pytest.mark.parametrize("shape", [(2, 1, 9, 9), (1, 3, 8, 11)])
def test_the_warp_adjoint_is_exact(shape):
    """<T x, y> = <x, T* y>: the gradient carried back through the transformation is its true adjoint."""
    rng = np.random.default_rng(0)
    warp = maximize._random_warp(rng, shape[2], shape[3], jitter=2.0, scale=0.2, rotation=30.0)
    x, y = rng.normal(size=shape), rng.normal(size=shape)
    assert np.vdot(warp.apply(x), y) == pytest.approx(np.vdot(x, warp.adjoint(y)), rel=1e-10)


def test_the_identity_warp_changes_nothing():
    x = np.random.default_rng(1).normal(size=(1, 1, 6, 7))
    warp = maximize._random_warp(np.random.default_rng(0), 6, 7, jitter=0, scale=0, rotation=0)
    np.testing.assert_allclose(warp.apply(x), x, atol=1e-12)


def test_the_figures_and_their_files(lenet, tmp_path):
    found = activation_maximization(lenet, "3", 1, steps=4, path=tmp_path / "one.png")
    assert isinstance(found, Maximization)
    assert (tmp_path / "one.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fig = found.figure()
    image_ax, curve_ax = fig.axes
    assert len(curve_ax.lines[0].get_xdata()) == 5                       # the start, then each step
    assert "mean positive activation" in curve_ax.get_ylabel()
    grid = maximize_grid(lenet, "0", path=tmp_path / "grid.svg", steps=2)
    assert [m.channel for m in grid.maximizations] == list(range(6))    # default: the first 8, the layer has 6
    assert (tmp_path / "grid.svg").exists()


def test_errors_name_the_argument_and_what_was_wrong(lenet):
    with pytest.raises(ValueError, match=r"layer expects one of the model's layers \('0', '1', '2'.*but got 'conv9'"):
        activation_maximization(lenet, "conv9", 0)
    with pytest.raises(ValueError, match=r"channel expects an index in 0\.\.5 \(layer '0' has 6 channels\), but got 6"):
        activation_maximization(lenet, "0", 6, steps=1)
    with pytest.raises(ValueError, match=r"layer '3' has 16 channels\), but got 20"):
        maximize_grid(lenet, "3", [0, 20], steps=1)
    with pytest.raises(ValueError, match=r"steps expects a positive integer, but got 0"):
        activation_maximization(lenet, "0", 0, steps=0)
    with pytest.raises(TypeError, match=r"steps expects an integer, but got 2.5"):
        activation_maximization(lenet, "0", 0, steps=2.5)
    with pytest.raises(ValueError, match=r"lr expects a positive number, but got 0"):
        activation_maximization(lenet, "0", 0, lr=0)
    with pytest.raises(ValueError, match=r"scale expects a relative zoom below 1"):
        activation_maximization(lenet, "0", 0, scale=1.5)
    with pytest.raises(ValueError, match=r"tv expects a number >= 0, but got -1"):
        activation_maximization(lenet, "0", 0, tv=-1)
    with pytest.raises(ValueError, match=r"channel expects an integer >= 0, but got -1"):
        activation_maximization(lenet, "0", -1)
    with pytest.raises(ValueError, match=r"channels expects at least one channel"):
        maximize_grid(lenet, "0", [])
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) 'step'"):
        maximize_grid(lenet, "0", [0], step=3)
    with pytest.raises(ValueError, match=r"path expects a file name ending in \.png, \.svg, \.gif, but got"):
        activation_maximization(lenet, "0", 0, path="out.jpg")
    with pytest.raises(TypeError, match=r"model expects a convscope\.nn\.Module, but got str"):
        activation_maximization("lenet5", "0", 0)
    with pytest.raises(ValueError, match=r"output has a channel axis"):
        activation_maximization(nn.Sequential(nn.Flatten(0)), "0", 0, size=4)
