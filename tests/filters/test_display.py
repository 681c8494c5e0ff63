"""to_display (float -> uint8), luminance, and gradient magnitude / orientation."""

import numpy as np
import pytest

from convscope.data import patterns
from convscope.filters.display import gradient, luminance, to_display

# ---- to_display -----------------------------------------------------------------------------------


@pytest.mark.parametrize("method, values, expected", [
    ("rescale", [-2.0, 0.0, 2.0], [0, 128, 255]),
    ("rescale", [10.0, 15.0, 20.0], [0, 128, 255]),
    ("rescale", [7.0, 7.0, 7.0], [0, 0, 0]),              # constant: nothing to stretch -> black
    ("abs", [-4.0, 0.0, 2.0, 4.0], [255, 0, 128, 255]),
    ("abs", [0.0, -0.0, 0.0], [0, 0, 0]),
    ("abs", [1e-6, -4e-6], [64, 255]),                   # tiny responses are still visible
    ("clip", [-20.0, 0.4, 0.6, 254.5, 300.0], [0, 0, 1, 254, 255]),
])
def test_to_display_known_values(method, values, expected):
    got = to_display(np.array([values]), method)
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, [expected])


def test_to_display_default_is_rescale_over_all_channels():
    image = np.zeros((2, 2, 3))
    image[..., 0] = 100.0                                  # a red image stays red: one range for all channels
    image[0, 0, 1] = 50.0
    got = to_display(image)
    assert got.shape == (2, 2, 3)
    np.testing.assert_array_equal(got[..., 0], 255)
    assert got[0, 0, 1] == 128 and got[1, 1, 2] == 0


def test_to_display_accepts_integers_and_bool_and_leaves_input_alone():
    image = np.array([[50, 100, 150]], np.uint8)
    np.testing.assert_array_equal(to_display(image), [[0, 128, 255]])
    np.testing.assert_array_equal(to_display(image, "clip"), image)
    np.testing.assert_array_equal(to_display(np.array([[True, False]])), [[255, 0]])
    np.testing.assert_array_equal(image, [[50, 100, 150]])
    assert to_display(np.zeros((0, 3))).shape == (0, 3)


def test_to_display_errors():
    with pytest.raises(ValueError, match=r"to_display: method expects one of 'abs', 'clip', 'rescale', but got 'log'"):
        to_display(np.zeros(3), "log")
    with pytest.raises(ValueError, match="to_display: array expects finite values, but got 2 NaN or infinite"):
        to_display(np.array([np.nan, 1.0, np.inf]))
    with pytest.raises(TypeError, match="to_display: array expects a real numeric array"):
        to_display(np.array(["a"]))


# ---- luminance ------------------------------------------------------------------------------------

def test_luminance_uses_bt601_weights():
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]]], np.uint8)
    np.testing.assert_allclose(luminance(rgb), [[76.245, 149.685, 29.07, 0.299 * 10 + 0.587 * 20 + 0.114 * 30]])
    rgba = np.concatenate([rgb, np.zeros((1, 4, 1), np.uint8)], axis=-1)
    np.testing.assert_allclose(luminance(rgba), luminance(rgb))
    np.testing.assert_array_equal(luminance(rgb[..., :1]), rgb[..., 0])
    with pytest.raises(ValueError, match=r"luminance: image expects shape .*but got \(1, 4, 2\)"):
        luminance(rgb[..., :2])


# ---- gradient -------------------------------------------------------------------------------------

pytest.importorskip("convscope.filters.convolve", reason="convscope.filters.convolve is not written yet")
INNER = (slice(2, -2), slice(2, -2))                     # away from the border


def _ramp(angle_degrees: float, n: int = 16) -> np.ndarray:
    """A float ramp rising by 1 per pixel along angle (y down)."""
    t = np.deg2rad(angle_degrees)
    y, x = np.mgrid[0:n, 0:n].astype(float)
    return x * np.round(np.cos(t), 12) + y * np.round(np.sin(t), 12)


def _angle_error(got, want):
    """Smallest difference between angles in degrees (180 and -180 are the same direction)."""
    return np.abs((np.asarray(got) - want + 180.0) % 360.0 - 180.0)


@pytest.mark.parametrize("kind", ["sobel", "prewitt", "scharr"])
@pytest.mark.parametrize("angle", [0, 90, 180, -90, 45, 30, -135])
def test_gradient_of_a_ramp_is_its_slope_and_direction(kind, angle):
    magnitude, orientation = gradient(_ramp(angle), kind)
    assert magnitude.shape == orientation.shape == (16, 16)
    np.testing.assert_allclose(magnitude[INNER], 1.0, atol=1e-9)
    assert _angle_error(orientation[INNER], angle).max() < 1e-6
    assert np.all(orientation > -180) and np.all(orientation <= 180)


def test_orientation_conventions():
    right = np.tile(np.arange(8.0), (8, 1))               # brighter to the right
    for image, expected in [(right, 0.0), (right.T, 90.0), (right[:, ::-1], 180.0), (right.T[::-1], -90.0)]:
        _, orientation = gradient(image)
        np.testing.assert_array_equal(orientation[INNER], expected)


def test_gradient_of_a_step_edge():
    edge = patterns.step_edge((9, 12))                    # columns 0..5 black, 6..11 white
    magnitude, orientation = gradient(edge)
    # Sobel sees the edge in the two columns either side: 255 per pixel over a 2-pixel step.
    np.testing.assert_allclose(magnitude[:, 5], 127.5)
    np.testing.assert_allclose(magnitude[:, 6], 127.5)
    np.testing.assert_array_equal(magnitude[:, :4], 0)
    np.testing.assert_array_equal(magnitude[:, 8:], 0)
    np.testing.assert_array_equal(orientation[:, 5:7], 0)
    np.testing.assert_array_equal(orientation[magnitude == 0], 0)
    _, down = gradient(patterns.step_edge((12, 9), angle=90))
    np.testing.assert_array_equal(down[5:7], 90)


@pytest.mark.parametrize("angle", [0, 30, 60, 135, -120])
def test_gradient_agrees_with_the_patterns_angle_convention(angle):
    _, orientation = gradient(patterns.ramp(64, angle=angle).astype(float))
    assert np.median(_angle_error(orientation[8:-8, 8:-8], angle)) < 1.0


def test_gradient_of_colour_is_gradient_of_luminance(rng):
    image = rng.integers(0, 256, size=(10, 11, 3), dtype=np.uint8)
    magnitude, orientation = gradient(image)
    want_m, want_o = gradient(luminance(image))
    np.testing.assert_allclose(magnitude, want_m, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(orientation, want_o, atol=1e-4)


def test_orientation_range_and_flat_images(rng):
    _, orientation = gradient(rng.normal(size=(20, 20)))
    assert np.all(orientation > -180) and np.all(orientation <= 180)
    magnitude, orientation = gradient(np.full((6, 6), 42.0))
    np.testing.assert_array_equal(magnitude, 0)
    np.testing.assert_array_equal(orientation, 0)
    assert not np.signbit(orientation).any()


def test_gradient_errors():
    with pytest.raises(ValueError, match=r"gradient: kind expects one of 'sobel', 'prewitt', 'scharr', but got 'roberts'"):
        gradient(np.zeros((4, 4)), "roberts")
    with pytest.raises(ValueError, match="luminance: image expects shape"):
        gradient(np.zeros((2, 4, 4, 3)))
