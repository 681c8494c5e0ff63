"""Classic kernels: the sums that define each family, the sizes, the values against SciPy and
OpenCV, the sign conventions on real ramps, the registry, and every error message."""

import math

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import ndimage

from convscope.filters import kernels as K

SIGMAS = st.floats(0.2, 4.0)
ANGLES = st.floats(-360.0, 360.0)
ODD = st.integers(0, 6).map(lambda r: 2 * r + 1)


def correlate(image, kernel):
    """The convention the kernels are written for: cross-correlation, centre at [h // 2, w // 2]."""
    return ndimage.correlate(image, kernel, mode="nearest")


def interior(a, r=2):
    return a[r:-r, r:-r]


# --------------------------------------------------------------------------- the sum of each family

@given(size=st.one_of(st.integers(1, 9), st.tuples(st.integers(1, 9), st.integers(1, 9))))
def test_box_sums_to_one(size):
    k = K.box(size)
    assert k.shape == ((size, size) if isinstance(size, int) else size)
    assert np.isclose(k.sum(), 1.0, rtol=0, atol=1e-12) and np.ptp(k) == 0


@given(sigma=st.one_of(SIGMAS, st.tuples(SIGMAS, SIGMAS)), size=st.one_of(st.none(), ODD))
def test_gaussian_sums_to_one(sigma, size):
    assert np.isclose(K.gaussian(sigma, size).sum(), 1.0, rtol=0, atol=1e-12)


@given(length=st.integers(1, 25), angle=ANGLES)
def test_motion_blur_sums_to_one(length, angle):
    k = K.motion_blur(length, angle)
    assert np.isclose(k.sum(), 1.0, rtol=0, atol=1e-12) and (k >= 0).all()
    assert k.shape[0] == k.shape[1] and k.shape[0] % 2 == 1


@pytest.mark.parametrize("name", ["sobel_x", "sobel_y", "prewitt_x", "prewitt_y", "scharr_x", "scharr_y",
                                  "horizontal_edge", "vertical_edge", "horizontal_line", "vertical_line",
                                  "diagonal_line_45", "diagonal_line_135"])
def test_fixed_derivative_kernels_sum_to_zero(name):
    k = K.get(name)
    assert k.shape == (3, 3) and k.sum() == 0


@pytest.mark.parametrize("neighbours", [4, 8])
def test_laplacian_sums_to_zero(neighbours):
    assert K.laplacian(neighbours).sum() == 0


@given(sigma=st.one_of(SIGMAS, st.tuples(SIGMAS, SIGMAS)), size=st.one_of(st.none(), ODD))
def test_laplacian_of_gaussian_sums_to_zero(sigma, size):
    k = K.laplacian_of_gaussian(sigma, size)
    assert abs(k.sum()) <= 1e-12 * np.abs(k).sum()


@given(low=SIGMAS, ratio=st.floats(1.05, 3.0), size=st.one_of(st.none(), ODD))
def test_difference_of_gaussians_sums_to_zero(low, ratio, size):
    k = K.difference_of_gaussians(low, low * ratio, size)
    assert abs(k.sum()) <= 1e-12


@given(size=ODD, amount=st.floats(0, 10), sigma=SIGMAS, angle=ANGLES)
def test_enhancement_kernels_sum_to_one(size, amount, sigma, angle):
    for k in (K.identity(size), K.sharpen(amount), K.unsharp_mask(sigma, amount), K.emboss(angle)):
        assert np.isclose(k.sum(), 1.0, rtol=0, atol=1e-12)


# --------------------------------------------------------------------------- Gaussian family against SciPy

@given(sigma=st.floats(0.1, 6.0))
def test_gaussian_size_is_six_sigma_plus_one_rounded_up_to_odd(sigma):
    assert K.gaussian(sigma).shape == (2 * math.ceil(3 * sigma) + 1,) * 2


def test_gaussian_size_examples():
    assert K.gaussian(1).shape == (7, 7) and K.gaussian(0.5).shape == (5, 5) and K.gaussian(1.1).shape == (9, 9)
    assert K.gaussian((0.5, 2)).shape == (5, 13)


@given(sigma=st.floats(0.3, 5.0))
def test_gaussian_matches_scipy_weights(sigma):
    k = K.gaussian(sigma)
    radius = k.shape[0] // 2
    impulse = np.zeros(k.shape[0])
    impulse[radius] = 1.0
    profile = ndimage.gaussian_filter1d(impulse, sigma, mode="constant", truncate=radius / sigma)
    np.testing.assert_allclose(k[radius] / k[radius].sum(), profile, rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.outer(profile, profile), k, rtol=0, atol=1e-12)


@given(sy=st.floats(0.3, 3.0), sx=st.floats(0.3, 3.0))
def test_anisotropic_gaussian_matches_scipy(sy, sx):
    k = K.gaussian((sy, sx))
    impulse = np.zeros(k.shape)
    impulse[k.shape[0] // 2, k.shape[1] // 2] = 1.0
    want = ndimage.gaussian_filter(impulse, (sy, sx), mode="constant", radius=(k.shape[0] // 2, k.shape[1] // 2))
    np.testing.assert_allclose(k, want, rtol=0, atol=1e-12)


@given(sigma=st.floats(0.5, 3.0))
def test_laplacian_of_gaussian_is_scipys_gaussian_laplace_minus_its_mean(sigma):
    k = K.laplacian_of_gaussian(sigma)
    impulse = np.zeros(k.shape)
    impulse[k.shape[0] // 2, k.shape[1] // 2] = 1.0
    want = ndimage.gaussian_laplace(impulse, sigma, mode="constant", truncate=(k.shape[0] // 2) / sigma)
    np.testing.assert_allclose(k, want - want.mean(), rtol=0, atol=1e-12)
    assert k[k.shape[0] // 2, k.shape[1] // 2] < 0          # the sign of laplacian(): dark spots positive


def test_difference_of_gaussians_is_the_difference_and_approximates_minus_log():
    k = K.difference_of_gaussians(1.0, 1.6)
    np.testing.assert_array_equal(k, K.gaussian(1.0, 11) - K.gaussian(1.6, 11))
    log = K.laplacian_of_gaussian(1.25, 11)
    assert np.corrcoef(k.ravel(), -log.ravel())[0, 1] > 0.99


def test_unsharp_mask_and_sharpen_follow_their_formulas():
    blur = K.gaussian(1.5)
    delta = K.identity(blur.shape[0])
    np.testing.assert_allclose(K.unsharp_mask(1.5, 0.7), 1.7 * delta - 0.7 * blur, rtol=0, atol=1e-15)
    np.testing.assert_allclose(K.sharpen(1.0) * 9, [[-1, -1, -1], [-1, 17, -1], [-1, -1, -1]], atol=1e-13)
    np.testing.assert_array_equal(K.sharpen(0), K.identity())
    np.testing.assert_array_equal(K.unsharp_mask(amount=0), K.identity(7))


# --------------------------------------------------------------------------- derivatives: values and signs

RAMP_X = np.tile(np.arange(12.0), (10, 1))          # intensity grows to the right
RAMP_Y = RAMP_X[:, :10].T.copy()                     # grows downwards


@pytest.mark.parametrize("name, scale", [("sobel", 8), ("prewitt", 6), ("scharr", 32)])
def test_first_derivatives_measure_the_gradient_with_the_documented_sign(name, scale):
    gx, gy = K.get(f"{name}_x"), K.get(f"{name}_y")
    np.testing.assert_allclose(interior(correlate(RAMP_X, gx)), scale)      # +1 per pixel to the right
    np.testing.assert_allclose(interior(correlate(RAMP_X, gy)), 0)
    np.testing.assert_allclose(interior(correlate(RAMP_Y, gy)), scale)      # +1 per pixel downwards
    np.testing.assert_array_equal(gy, gx.T)


def test_sobel_and_scharr_match_opencv(rng):
    image = rng.normal(size=(9, 11))
    pairs = [(K.sobel_x(), cv2.Sobel(image, cv2.CV_64F, 1, 0, ksize=3)),
             (K.sobel_y(), cv2.Sobel(image, cv2.CV_64F, 0, 1, ksize=3)),
             (K.scharr_x(), cv2.Scharr(image, cv2.CV_64F, 1, 0)),
             (K.scharr_y(), cv2.Scharr(image, cv2.CV_64F, 0, 1)),
             (K.laplacian(4), cv2.Laplacian(image, cv2.CV_64F, ksize=1))]
    for kernel, want in pairs:
        np.testing.assert_allclose(interior(correlate(image, kernel), 1), interior(want, 1), atol=1e-12)
        np.testing.assert_allclose(interior(cv2.filter2D(image, cv2.CV_64F, kernel), 1), interior(want, 1), atol=1e-12)


def test_edge_detectors_are_positive_where_the_first_side_is_brighter():
    bright_above = (np.arange(10)[:, None] < 5) * np.ones((10, 10))
    bright_left = bright_above.T
    assert correlate(bright_above, K.horizontal_edge())[4:6, 3:7].min() > 0
    assert correlate(bright_left, K.vertical_edge())[3:7, 4:6].min() > 0
    np.testing.assert_array_equal(K.horizontal_edge(), -K.prewitt_y())
    np.testing.assert_array_equal(K.vertical_edge(), -K.prewitt_x())


@pytest.mark.parametrize("name, line", [
    ("horizontal_line", lambda n: (np.arange(n)[:, None] == n // 2) * np.ones((1, n))),
    ("vertical_line", lambda n: (np.arange(n)[None, :] == n // 2) * np.ones((n, 1))),
    ("diagonal_line_45", lambda n: np.eye(n)),                  # top-left to bottom-right
    ("diagonal_line_135", lambda n: np.eye(n)[:, ::-1]),        # top-right to bottom-left
])
def test_line_detectors_respond_most_to_their_own_line(name, line):
    names = ["horizontal_line", "vertical_line", "diagonal_line_45", "diagonal_line_135"]
    image = line(9).astype(float)
    responses = {other: correlate(image, K.get(other))[4, 4] for other in names}
    assert max(responses, key=responses.get) == name and responses[name] == 6


def test_laplacian_values():
    np.testing.assert_array_equal(K.laplacian(), [[0, 1, 0], [1, -4, 1], [0, 1, 0]])
    np.testing.assert_array_equal(K.laplacian(8), [[1, 1, 1], [1, -8, 1], [1, 1, 1]])


# --------------------------------------------------------------------------- emboss, motion blur, Gabor

def test_emboss_default_is_the_classic_kernel_lit_from_the_upper_left():
    np.testing.assert_array_equal(K.emboss(), [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])
    np.testing.assert_array_equal(K.emboss(90), [[-1, -1, -1], [0, 1, 0], [1, 1, 1]])   # light from the top


@given(angle=ANGLES)
def test_emboss_is_identity_plus_an_odd_derivative_that_flips_with_the_light(angle):
    relief = K.emboss(angle) - K.identity()
    np.testing.assert_allclose(relief, -relief[::-1, ::-1], atol=1e-12)
    np.testing.assert_allclose(K.emboss(angle + 180) - K.identity(), -relief, atol=1e-9)
    # relief = -(c_x prewitt_x + c_y prewitt_y), the light direction c scaled to max(|c_x|, |c_y|) = 1
    c_x, c_y = -relief[1, 2], -relief[2, 1]
    np.testing.assert_allclose(relief, -(c_x * K.prewitt_x() + c_y * K.prewitt_y()), atol=1e-12)
    assert np.isclose(max(abs(c_x), abs(c_y)), 1.0)
    towards_light = math.degrees(math.atan2(-c_y, c_x))      # counter-clockwise on screen (y up)
    assert abs((towards_light - angle + 180) % 360 - 180) < 1e-7


@given(length=st.integers(1, 15).map(lambda r: 2 * r + 1))
def test_axis_motion_blur_is_a_plain_row_or_column(length):
    row = K.motion_blur(length)
    assert row.shape == (length, length)
    np.testing.assert_allclose(row[length // 2], 1 / length, rtol=1e-12)
    assert np.delete(row, length // 2, axis=0).max() == 0
    np.testing.assert_allclose(K.motion_blur(length, 90), row.T, atol=1e-15)
    np.testing.assert_allclose(K.motion_blur(length, 135), K.motion_blur(length, 45)[:, ::-1], atol=1e-15)


@given(length=st.integers(2, 31), angle=ANGLES)
def test_motion_blur_weights_lie_on_the_line(length, angle):
    k = K.motion_blur(length, angle)
    np.testing.assert_allclose(k, k[::-1, ::-1], atol=1e-15)                      # centred
    np.testing.assert_allclose(K.motion_blur(length, angle + 180), k, atol=1e-15)
    np.testing.assert_allclose(K.motion_blur(length, 90 - angle), k.T, atol=1e-15)  # mirror about y = x
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    y, x = np.mgrid[: k.shape[0], : k.shape[1]] - k.shape[0] // 2
    across, along = np.abs(-x * s + y * c)[k > 0], np.abs(x * c + y * s)[k > 0]
    reach = 0.5 * (abs(c) + abs(s))                     # the pixel square's half-width across the line
    assert across.max() <= reach + 1e-9 and along.max() <= length / 2 + reach + 1e-9


@given(angle=st.floats(0, 180))
def test_long_motion_blur_weights_have_their_principal_axis_along_the_angle(angle):
    k = K.motion_blur(21, angle)
    y, x = np.mgrid[: k.shape[0], : k.shape[1]] - k.shape[0] // 2
    cxx, cyy, cxy = (k * x * x).sum(), (k * y * y).sum(), (k * x * y).sum()
    axis = math.degrees(0.5 * math.atan2(2 * cxy, cxx - cyy))
    assert abs((axis - angle + 90) % 180 - 90) < 3


@given(sigma=st.floats(1.0, 4.0), theta=st.floats(0, 360), wavelength=st.floats(2.5, 12), gamma=st.floats(0.3, 1.0))
def test_gabor_matches_opencv(sigma, theta, wavelength, gamma):
    k = K.gabor(sigma, theta, wavelength, gamma)
    want = cv2.getGaborKernel(k.shape[::-1], sigma, math.radians(theta), wavelength, gamma, 0, ktype=cv2.CV_64F)
    np.testing.assert_allclose(k, want, atol=1e-12)
    # OpenCV fills its array rotated by 180 degrees, which negates the phase of the odd part.
    odd = K.gabor(sigma, theta, wavelength, gamma, psi=math.pi / 2)
    want_odd = cv2.getGaborKernel(k.shape[::-1], sigma, math.radians(theta), wavelength, gamma, -math.pi / 2,
                                  ktype=cv2.CV_64F)
    np.testing.assert_allclose(odd, want_odd, atol=1e-12)


def test_gabor_wave_runs_along_theta():
    vertical_stripes = K.gabor(2.0, 0.0, 4.0)
    assert vertical_stripes.shape == (25, 25)                 # 2 * ceil(3 * sigma / gamma) + 1
    along_x = np.exp(-np.arange(5) ** 2 / 8) * [1, 0, -1, 0, 1]         # envelope * cos(2 pi x / 4)
    np.testing.assert_allclose(vertical_stripes[12, 12:17], along_x, atol=1e-12)
    np.testing.assert_allclose(K.gabor(2.0, 90.0, 4.0), vertical_stripes.T, atol=1e-12)
    np.testing.assert_allclose(K.gabor(2.0, 45.0, 4.0), K.gabor(2.0, 45.0, 4.0).T, atol=1e-12)
    np.testing.assert_allclose(K.gabor(2.0, 10.0, 4.0), K.gabor(2.0, 190.0, 4.0), atol=1e-12)


# --------------------------------------------------------------------------- registry

def test_available_is_sorted_and_described():
    names = K.available()
    assert list(names) == sorted(names) and len(names) == 23
    assert all(isinstance(text, str) and text and "\n" not in text for text in names.values())
    assert {"sobel_x", "gaussian", "horizontal_line", "vertical_line", "gabor", "emboss"} <= set(names)


@pytest.mark.parametrize("name", sorted(K.available()))
def test_every_name_builds_a_fresh_float64_kernel(name):
    first = K.get(name)
    assert first.dtype == np.float64 and first.ndim == 2 and np.isfinite(first).all()
    first[...] = 7.0
    assert not np.array_equal(K.get(name), first)


def test_get_defaults_and_overrides():
    np.testing.assert_array_equal(K.get("gaussian"), K.gaussian(1.0))
    np.testing.assert_array_equal(K.get("gaussian", sigma=2, size=5), K.gaussian(2, 5))
    np.testing.assert_array_equal(K.get("difference_of_gaussians"), K.difference_of_gaussians(1.0, 1.6))
    np.testing.assert_array_equal(K.get("motion_blur", angle=90), K.motion_blur(5, 90))
    np.testing.assert_array_equal(K.get("gabor", theta=45), K.gabor(2.0, 45, 4.0))
    np.testing.assert_array_equal(K.get("laplacian", neighbours=8), K.laplacian(8))


# --------------------------------------------------------------------------- errors

def test_get_rejects_an_unknown_name_listing_the_names():
    with pytest.raises(ValueError, match=r"^filters\.get: name expects one of box, diagonal_line_135, .*, "
                                         r"vertical_line, but got 'sobelx'$"):
        K.get("sobelx")
    with pytest.raises(TypeError, match=r"filters\.get: name expects a string, but got 3 \(int\)"):
        K.get(3)


def test_get_rejects_arguments_the_builder_does_not_take():
    with pytest.raises(TypeError, match=r"filters\.get: sobel_x accepts no arguments, but got unexpected "
                                        r"keyword argument\(s\) sigma"):
        K.get("sobel_x", sigma=1)
    with pytest.raises(TypeError, match=r"filters\.get: gaussian accepts sigma, size, but got .* sigmas"):
        K.get("gaussian", sigmas=1)
    with pytest.raises(ValueError, match=r"gaussian: sigma expects a positive number, but got -2"):
        K.get("gaussian", sigma=-2)


@pytest.mark.parametrize("call, error, message", [
    (lambda: K.gaussian(-1), ValueError, r"^gaussian: sigma expects a positive number, but got -1$"),
    (lambda: K.gaussian(0.0), ValueError, r"gaussian: sigma expects a positive number, but got 0\.0"),
    (lambda: K.gaussian(float("nan")), ValueError, r"gaussian: sigma expects a positive number, but got nan"),
    (lambda: K.gaussian("1"), TypeError, r"gaussian: sigma expects a positive number, but got '1' \(str\)"),
    (lambda: K.gaussian(True), TypeError, r"gaussian: sigma expects a positive number, but got True \(bool\)"),
    (lambda: K.gaussian((1, 2, 3)), ValueError, r"gaussian: sigma expects a positive number or a pair .* 3 values"),
    (lambda: K.gaussian((1, -2)), ValueError, r"gaussian: sigma expects a positive number, but got -2"),
    (lambda: K.gaussian(1, size=4), ValueError, r"gaussian: size expects odd positive integers .*but got 4"),
    (lambda: K.gaussian(1, size=(3, 6)), ValueError, r"gaussian: size expects odd positive integers .*\(3, 6\)"),
    (lambda: K.gaussian(1, size=0), ValueError, r"gaussian: size expects positive integers, but got 0"),
    (lambda: K.gaussian(1, size=2.5), TypeError, r"gaussian: size expects an int or a tuple of 2 ints"),
    (lambda: K.identity(4), ValueError, r"identity: size expects odd positive integers"),
    (lambda: K.box(0), ValueError, r"box: size expects positive integers, but got 0"),
    (lambda: K.box((3, 3, 3)), ValueError, r"box: size expects an int or 2 ints, but got 3 values"),
    (lambda: K.laplacian(6), ValueError, r"laplacian: neighbours expects 4 or 8, but got 6"),
    (lambda: K.laplacian_of_gaussian(0), ValueError, r"laplacian_of_gaussian: sigma expects a positive number"),
    (lambda: K.laplacian_of_gaussian(1, 6), ValueError, r"laplacian_of_gaussian: size expects odd"),
    (lambda: K.difference_of_gaussians(2, 1), ValueError,
     r"difference_of_gaussians: sigma_low expects a value below sigma_high=1, but got 2"),
    (lambda: K.difference_of_gaussians(1, -1), ValueError, r"difference_of_gaussians: sigma_high expects a positive"),
    (lambda: K.sharpen(-1), ValueError, r"sharpen: amount expects a non-negative number, but got -1"),
    (lambda: K.unsharp_mask(amount=-0.5), ValueError, r"unsharp_mask: amount expects a non-negative number"),
    (lambda: K.unsharp_mask(1, size=2), ValueError, r"unsharp_mask: size expects odd"),
    (lambda: K.emboss(float("inf")), ValueError, r"emboss: angle expects a finite number of degrees, but got inf"),
    (lambda: K.motion_blur(0), ValueError, r"motion_blur: length expects a positive integer, but got 0"),
    (lambda: K.motion_blur(2.5), TypeError, r"motion_blur: length expects an integer, but got 2\.5 \(float\)"),
    (lambda: K.gabor(2, 0, 0), ValueError, r"gabor: wavelength expects a positive number, but got 0"),
    (lambda: K.gabor(2, 0, 4, gamma=-1), ValueError, r"gabor: gamma expects a positive number, but got -1"),
    (lambda: K.gabor(2, None, 4), TypeError, r"gabor: theta expects a finite number of degrees, but got None"),
    (lambda: K.gabor(2, 0, 4, size=10), ValueError, r"gabor: size expects odd"),
])
def test_builders_reject_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()
