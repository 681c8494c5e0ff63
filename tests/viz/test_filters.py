"""filter_grid, match_classic and nearest_classic: the right colour at the right tap, and the
classic kernels found again by name."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from convscope import models, nn  # noqa: E402
from convscope.filters import kernels  # noqa: E402
from convscope.viz._common import SIGNED_CMAP, figure_to_image  # noqa: E402
from convscope.viz.filters import ClassicMatch, filter_grid, match_classic, nearest_classic  # noqa: E402


def rendered(fig):
    """The figure as an RGB array (0..1), and a function giving the colour at a data point of the
    tiles' Axes (the transforms are read after the render, so they include the final layout)."""
    image = np.asarray(figure_to_image(fig), dtype=float) / 255.0
    ax = fig.axes[0]

    def colour(row, col):
        x, y = ax.transData.transform((col, row))
        return image[int(round(image.shape[0] - y)), int(round(x))]

    return image, colour


def title(fig):
    """The figure's title with its line breaks (from wrapping) as spaces."""
    return " ".join(fig.get_suptitle().split())


def labels(fig):
    return {t.get_text(): t for t in fig.axes[0].texts}


def is_red(c):
    return c[0] > c[2] + 0.25 and c[0] > c[1] + 0.25


def is_blue(c):
    return c[2] > c[0] + 0.25


def is_white(c):
    return bool(np.all(c > 0.9))


def test_signed_kernel_puts_red_blue_and_white_at_the_right_taps():
    k = np.zeros((3, 3))
    k[0, 0], k[2, 2] = 1.0, -1.0
    fig = filter_grid(k)
    _, colour = rendered(fig)
    assert is_red(colour(0, 0))
    assert is_blue(colour(2, 2))
    for r, c in [(1, 1), (0, 2), (2, 0), (0, 1)]:
        assert is_white(colour(r, c)), (r, c)
    image = fig.axes[0].images[0]
    assert image.get_cmap().name == SIGNED_CMAP
    assert image.norm.vmin == -1 and image.norm.vmax == 1            # symmetric, zero in the middle
    assert image.get_interpolation() == "nearest"
    assert len(fig.axes) == 2                                         # the tiles and one colour bar


def test_tiles_found_by_their_labels_share_one_scale():
    w = np.zeros((2, 1, 3, 3))
    w[0, 0, 1, 1] = 2.0            # the largest weight: sets the scale
    w[1, 0, 0, 2] = -2.0
    w[1, 0, 2, 0] = 0.5            # a quarter of the scale: paler than w[0] centre
    fig = filter_grid(w)
    _, colour = rendered(fig)
    found = labels(fig)
    assert set(found) == {"filter 0", "filter 1"}
    cx, top = found["filter 1"].xy                 # the centre of the tile's top edge
    row0, col0 = top + 0.5, cx - 1.0               # its top-left tap, for a 3x3 kernel
    assert is_blue(colour(row0, col0 + 2))
    pale = colour(row0 + 2, col0)
    assert pale[0] > pale[2] and not is_white(pale)
    cx0, top0 = found["filter 0"].xy
    strong = colour(top0 + 1.5, cx0)
    assert strong[1] < pale[1] - 0.2               # the full-scale red is deeper than the quarter one


def test_rgb_filter_with_red_channel_only_is_red():
    m = 0.3
    w = np.zeros((2, 3, 5, 5))
    w[0, 0] = m                       # +m in R: (1, 0.5, 0.5)
    w[1, 2] = -m                      # -m in B only: (0.5, 0.5, 0)
    fig = filter_grid(w)
    _, colour = rendered(fig)
    found = labels(fig)
    cx, top = found["filter 0"].xy
    np.testing.assert_allclose(colour(top + 2.5, cx), [1.0, 0.5, 0.5], atol=0.03)
    cx, top = found["filter 1"].xy
    np.testing.assert_allclose(colour(top + 2.5, cx), [0.5, 0.5, 0.0], atol=0.03)
    assert len(fig.axes) == 1                       # no colour bar for RGB tiles
    assert "mid grey = 0" in fig.get_supxlabel()


def test_rgb_false_draws_one_signed_tile_per_channel():
    fig = filter_grid(np.ones((2, 3, 3, 3)), rgb=False)
    assert {"in 0", "in 1", "in 2", "filter 0", "filter 1"} <= set(labels(fig))
    assert fig.axes[0].images[0].get_cmap().name == SIGNED_CMAP


def test_channels_layout_caps_the_columns_and_says_so():
    conv = models.small_vgg()[7]                        # Conv2d(32, 64): a middle layer
    wide = nn.Conv2d(64, 8, 3)
    fig = filter_grid(wide, max_channels=4)
    text = set(labels(fig))
    assert {"in 0", "in 3"} <= text and "in 4" not in text
    assert {f"filter {i}" for i in range(8)} <= text
    assert "input channels 0\u20133 of 64 (max_channels=4)" in title(fig)
    fig = filter_grid(conv, max_filters=5)
    assert "filters 0\u20134 of 64 (max_filters=5)" in title(fig)
    assert "filter 5" not in set(labels(fig))


def test_zoo_first_layers():
    conv1 = models.resnet18().conv1                      # 64x3x7x7: RGB tiles
    fig = filter_grid(conv1)
    assert title(fig) == "Conv2d 3\u219264, 7\u00d77 kernels: all 64 filters"
    assert len(labels(fig)) == 64
    fig = filter_grid(models.lenet5()[0].weight)          # a Parameter
    assert len(labels(fig)) == 6


def test_single_filter_given_as_three_dims_is_one_filter():
    fig = filter_grid(np.zeros((4, 3, 3)))
    assert "one filter of 4 input channels" in title(fig)
    assert {"in 0", "in 3", "filter 0"} <= set(labels(fig))


def test_transposed_conv_rows_are_output_channels():
    layer = nn.ConvTranspose2d(2, 5, 3)                  # weight (2, 5, 3, 3)
    fig = filter_grid(layer)
    text = set(labels(fig))
    assert {"filter 4", "in 1"} <= text and "in 2" not in text


def test_saves_to_path(tmp_path):
    out = tmp_path / "sub" / "grid.png"
    filter_grid(kernels.sobel_x(), path=out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("bad, kind, match", [
    (nn.Conv1d(1, 2, 3), ValueError, r"filter_grid: weight_or_layer expects a conv layer with 2-D kernels.*Conv1d"),
    (nn.Linear(2, 3), TypeError, r"filter_grid: weight_or_layer expects .*but got a Linear module"),
    (nn.DepthwiseSeparableConv2d(2, 3, 3), TypeError, r"\.depthwise or \.pointwise"),
    (np.zeros((1, 1, 1, 3, 3)), ValueError, r"expects .*but got shape \(1, 1, 1, 3, 3\)"),
    (np.zeros((0, 3, 3)), ValueError, r"non-empty"),
    (np.array([[np.nan, 1.0]]), ValueError, r"finite"),
    (np.array([["a"]]), TypeError, r"real numbers"),
])
def test_bad_weights(bad, kind, match):
    with pytest.raises(kind, match=match):
        filter_grid(bad)


def test_bad_options(tmp_path):
    with pytest.raises(ValueError, match=r"rgb=True expects filters with 3 input channels, but got 2"):
        filter_grid(np.zeros((1, 2, 3, 3)), rgb=True)
    with pytest.raises(ValueError, match=r"max_filters expects a positive integer, but got 0"):
        filter_grid(np.zeros((3, 3)), max_filters=0)
    with pytest.raises(TypeError, match=r"max_channels expects an integer"):
        filter_grid(np.zeros((3, 3)), max_channels=2.5)
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(PermissionError, match=r"filter_grid: path expects a writable folder"):
        filter_grid(np.zeros((3, 3)), path=blocker / "grid.png")
    with pytest.raises(ValueError, match=r"path expects a file name ending in"):
        filter_grid(np.zeros((3, 3)), path=tmp_path / "grid.jpg")


# --------------------------------------------------------------------------- learned vs designed

@pytest.mark.parametrize("name, params", [
    ("sobel_x", {}), ("sobel_y", {}), ("laplacian", {}), ("gaussian", {"sigma": 1.0}), ("prewitt_x", {}),
])
def test_classic_kernels_are_found_with_similarity_one(name, params):
    kernel = kernels.get(name, **params)
    (match,) = match_classic(kernel * 0.05)
    assert isinstance(match, ClassicMatch)
    assert match.name == name and match.similarity == pytest.approx(1.0)
    np.testing.assert_allclose(match.classic, kernel, atol=1e-12)
    assert match.filter == 0 and match.channel == 0 and match.sign == 1
    assert not match.learned.flags.writeable


@settings(max_examples=15, deadline=None)
@given(scale=st.floats(0.01, 10.0), negative=st.booleans(), offset=st.floats(-0.5, 0.5))
def test_sign_and_scale_do_not_change_the_match(scale, negative, offset):
    sign = -1.0 if negative else 1.0
    learned = sign * scale * kernels.sobel_y() + offset * scale    # Pearson r ignores scale and offset
    (match,) = match_classic(learned)
    assert match.kernel_name == "sobel_y"
    assert match.name == ("-sobel_y" if negative else "sobel_y")
    assert match.sign == int(sign)
    assert match.similarity == pytest.approx(1.0)
    np.testing.assert_allclose(match.classic, sign * kernels.sobel_y())


def test_multichannel_filter_uses_its_channel_of_largest_norm():
    w = np.zeros((2, 3, 3, 3))
    w[0, 0] = 0.1 * kernels.box()
    w[0, 2] = kernels.sobel_x()                 # the strongest slice of filter 0
    w[1, 1] = -kernels.laplacian()
    found = match_classic(w)
    assert [(m.filter, m.channel, m.name) for m in found] == [(0, 2, "sobel_x"), (1, 1, "-laplacian")]
    assert len(match_classic(w, max_filters=1)) == 1


def test_small_classic_kernel_is_padded_to_the_learned_shape():
    learned = np.pad(kernels.sobel_x(), 1)      # 5x5 with sobel in the middle
    (match,) = match_classic(learned)
    assert match.name == "sobel_x" and match.classic.shape == (5, 5)
    np.testing.assert_allclose(match.classic, learned)


def test_all_zero_filter_has_no_match():
    (match,) = match_classic(np.zeros((1, 1, 3, 3)))
    assert match.name is None and match.classic is None and match.similarity == 0.0


def test_nearest_classic_figure_pairs_learned_and_designed():
    w = np.stack([kernels.sobel_x(), kernels.gaussian(1.0, size=3), -kernels.sobel_y()])[:, None]
    fig = nearest_classic(w)
    assert len(fig.subfigs) == 3
    texts = [sub.get_supxlabel() for sub in fig.subfigs]
    assert texts[0].startswith("sobel_x") and texts[0].endswith("similarity 1.00")
    assert texts[2].startswith("\u2212sobel_y")
    assert [ax.get_title() for ax in fig.subfigs[0].axes] == ["learned", "designed"]
    np.testing.assert_allclose(fig.subfigs[2].axes[1].images[0].get_array(), -kernels.sobel_y())
    assert "Learned vs designed" in title(fig)


def test_nearest_classic_caps_and_validates(tmp_path):
    fig = nearest_classic(models.lenet5()[0], max_filters=2)
    visible = [sub for sub in fig.subfigs if sub.get_visible()]
    assert len(visible) == 2 and "filters 0\u20131 of 6" in title(fig)
    blocker = tmp_path / "f"
    blocker.write_text("")
    with pytest.raises(PermissionError, match="nearest_classic: path expects a writable folder"):
        nearest_classic(kernels.sobel_x(), path=blocker / "x.png")
    with pytest.raises(ValueError, match="nearest_classic: max_filters expects a positive integer"):
        nearest_classic(kernels.sobel_x(), max_filters=0)
