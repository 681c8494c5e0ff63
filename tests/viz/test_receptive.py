"""receptive_window and receptive_field_overlay: the window is the gradient support of one cell."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")
from hypothesis import assume, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from convscope import models, nn  # noqa: E402
from convscope.autograd import Tensor  # noqa: E402
from convscope.viz.receptive import receptive_field_overlay, receptive_window  # noqa: E402


def support(model, shape, layer_index, cell):
    """Rows and columns (half-open) of the input pixels whose gradient for one output cell of
    ``model[:layer_index + 1]`` is non-zero, computed with autograd, not with the formulas; None
    when the cell sees only padding."""
    x = Tensor(np.ones((1,) + shape), requires_grad=True)
    out = model[:layer_index + 1](x)
    out[0, 0, cell[0], cell[1]].backward()
    rows, cols = np.nonzero(np.abs(x.grad[0]).sum(axis=0))
    if not rows.size:
        return None
    return (int(rows.min()), int(rows.max()) + 1), (int(cols.min()), int(cols.max()) + 1)


def inside(small, big):
    return all(b0 <= s0 and s1 <= b1 for (s0, s1), (b0, b1) in zip(small, big))


layer_spec = st.tuples(st.sampled_from(["conv", "conv", "avg"]), st.integers(1, 4), st.integers(1, 3),
                       st.integers(0, 2), st.integers(1, 2))


@settings(max_examples=30, deadline=None)
@given(specs=st.lists(layer_spec, min_size=1, max_size=3), size=st.integers(12, 24), where=st.floats(0, 1))
def test_window_is_the_gradient_support_of_one_cell(specs, size, where):
    layers, channels = [], 1
    for kind, k, s, p, d in specs:
        if kind == "conv":
            conv = nn.Conv2d(channels, 2, k, stride=s, padding=p, dilation=d, bias=False)
            conv.weight.data[...] = 1.0        # positive taps: no gradient cancels inside the window
            layers.append(conv)
            channels = 2
        else:
            assume(p <= k // 2)
            layers.append(nn.AvgPool2d(k, stride=s, padding=p))
    net = nn.Sequential(*layers)
    h = size
    for kind, k, s, p, d in specs:            # the output size, so that a cell can be chosen
        h = (h + 2 * p - (d if kind == "conv" else 1) * (k - 1) - 1) // s + 1
        assume(h >= 1)
    last, shape = str(len(layers) - 1), (1, size, size)
    # An interior cell (its whole window on the image): the window is exactly the support.
    cell = (int(where * (h - 1)), (h - 1) // 2)
    window = receptive_window(net, last, cell, shape, clip=False)
    interior = inside(window, ((0, size), (0, size)))
    event(f"interior cell: {interior}")
    if interior:
        assert receptive_window(net, last, cell, shape) == window == support(net, shape, len(layers) - 1, cell)
    # A corner cell: what it sees of the image lies in the clipped window (dilation may leave
    # holes at the window's edge, and a cell may see padding only).
    seen = support(net, shape, len(layers) - 1, (0, 0))
    if seen is not None:
        assert inside(seen, receptive_window(net, last, (0, 0), shape))


def test_interior_cell_of_lenet_conv_stack():
    net = models.lenet5()
    for p in net.parameters():
        p.data[...] = np.abs(p.data) + 0.01              # positive weights: support = window
    net = nn.Sequential(net[0], nn.AvgPool2d(2), net[3])  # conv, pool, conv; no ReLU, no max (their
    # gradients reach only some pixels of the window)
    want = support(net, (1, 28, 28), 2, (5, 4))
    assert receptive_window(net, "2", (5, 4), (1, 28, 28)) == want
    assert want == ((8, 22), (6, 20))                     # rf 14, jump 2, start 4.5: centre 14.5, 12.5


def test_lenet_numbers_and_clipping():
    net = models.lenet5()
    assert receptive_window(net, "3", (0, 0), "1x28x28") == ((0, 12), (0, 12))
    assert receptive_window(net, "3", (0, 0), (1, 28, 28), clip=False) == ((-2, 12), (-2, 12))
    assert receptive_window(net, "3", (9, 9), (1, 28, 28), clip=False) == ((16, 30), (16, 30))
    assert receptive_window(net, net[5], (4, 4), (1, 28, 28)) == ((14, 28), (14, 28))   # rf 16, centre 21.5


def test_container_stands_for_its_last_layer():
    inner = nn.Sequential(nn.Conv2d(1, 1, 3), nn.ReLU())
    net = nn.Sequential(inner, nn.Conv2d(1, 1, 3))
    assert receptive_window(net, "0", (2, 3), (1, 12, 12)) == receptive_window(net, "0.1", (2, 3), (1, 12, 12))
    assert receptive_window(net, "0", (2, 3), (1, 12, 12)) == ((2, 5), (3, 6))


def test_global_layer_sees_the_whole_image():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 3))
    assert receptive_window(net, "1", (0, 0), (1, 9, 7)) == ((0, 9), (0, 7))
    fig = receptive_field_overlay(net, "1", (0, 0), np.zeros((9, 7)))
    assert "whole input" in fig.get_suptitle()


def test_overlay_states_the_numbers_and_draws_the_window(tmp_path):
    net = models.lenet5()
    out = tmp_path / "rf.png"
    fig = receptive_field_overlay(net, "3", (0, 0), np.zeros((28, 28)), path=out)
    title = " ".join(fig.get_suptitle().split())
    assert ("receptive field 14 px, jump 2, start 4.5, so centred at (4.5, 4.5), rows \u22122 to 11 and cols "
            "\u22122 to 11; inside the image: rows 0 to 11, cols 0 to 11") in title
    assert out.read_bytes()[:4] == b"\x89PNG"
    left, right = fig.axes[:2]
    labels = left.get_legend_handles_labels()[1]
    assert labels == ["whole window (hatched: padding)", "window inside the image", "centre"]
    inside = [p for p in left.patches if p.get_label() == "window inside the image"][0]
    assert (inside.get_x(), inside.get_y(), inside.get_width(), inside.get_height()) == (-0.5, -0.5, 12, 12)
    assert left.get_xlim()[0] < -2.5                      # the part beyond the image is in view
    assert "10\u00d710, cell (0, 0)" in right.get_title()
    fig = receptive_field_overlay(net, "3", (5, 4), np.zeros((28, 28)))
    assert fig.axes[0].get_legend_handles_labels()[1] == ["window inside the image", "centre"]


def test_bad_arguments(tmp_path):
    net = models.lenet5()
    with pytest.raises(ValueError, match=r"receptive_window: position expects \(row, col\) inside '3''s 10\u00d710 "
                                         r"output \(rows 0\.\.9, cols 0\.\.9\), but got \(10, 0\)"):
        receptive_window(net, "3", (10, 0), (1, 28, 28))
    with pytest.raises(ValueError, match=r"but got \(0, -1\)"):
        receptive_field_overlay(net, "3", (0, -1), np.zeros((28, 28)))
    with pytest.raises(TypeError, match=r"position expects a \(row, col\) pair, but got 3"):
        receptive_window(net, "3", 3, (1, 28, 28))
    with pytest.raises(TypeError, match=r"position expects an integer"):
        receptive_window(net, "3", (1.5, 0), (1, 28, 28))
    with pytest.raises(ValueError, match=r"receptive_window: layer expects one of the model's layers \('0', '1', "
                                         r".*but got 'pool9'"):
        receptive_window(net, "pool9", (0, 0), (1, 28, 28))
    with pytest.raises(ValueError, match=r"layer expects a layer with 2-D output maps \(1, C, h, w\), but '7' "
                                         r"\(Linear\) gives 120: every output sees the whole input"):
        receptive_window(net, "7", (0, 0), (1, 28, 28))
    with pytest.raises(ValueError, match=r"input_shape expects \(C, H, W\)"):
        receptive_window(net, "3", (0, 0), (28, 28))
    with pytest.raises(ValueError, match=r"receptive_field_overlay: image expects 1 channel\(s\)"):
        receptive_field_overlay(net, "3", (0, 0), np.zeros((3, 28, 28)))
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(PermissionError, match=r"receptive_field_overlay: path expects a writable folder"):
        receptive_field_overlay(net, "3", (0, 0), np.zeros((28, 28)), path=blocker / "rf.png")
