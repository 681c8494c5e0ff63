"""describe(): separability with exact factors, symmetry, the frequency-response class, the
orientation (Gabor sweeps, Sobel, isotropic kernels), the nearest named kernel, the paragraph,
and the input checks."""

import dataclasses
import importlib
import math

import numpy as np

from convscope.filters.separable import separable_factors
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import convscope
from convscope.filters import kernels as K
from convscope.filters.describe import ANISOTROPY_THRESHOLD, KernelDescription, describe

# The module, even once the package re-exports the function under the same name.
D = importlib.import_module("convscope.filters.describe")


def angle_error(a, b):
    """Distance between two orientations in degrees, modulo 180 (0 and 179.5 are 0.5 apart)."""
    return abs((a - b + 90) % 180 - 90)


KERNELS = hnp.arrays(np.float64, st.tuples(st.integers(1, 7), st.integers(1, 7)),
                     elements=st.floats(-10, 10, allow_subnormal=False))


# --------------------------------------------------------------------------- separability

SEPARABLE = {
    "box": K.box(3), "box 3x5": K.box((3, 5)), "gaussian": K.gaussian(1.3), "gaussian 1x2.5": K.gaussian((1, 2.5)),
    "sobel_x": K.sobel_x(), "sobel_y": K.sobel_y(), "prewitt_x": K.prewitt_x(), "prewitt_y": K.prewitt_y(),
    "scharr_x": K.scharr_x(), "scharr_y": K.scharr_y(), "horizontal_edge": K.horizontal_edge(),
    "horizontal_line": K.horizontal_line(), "motion_blur": K.motion_blur(7), "gabor 0": K.gabor(2, 0, 5),
    "identity": K.identity(5), "row": np.array([[1.0, -2.0, 1.0]]),
}


@pytest.mark.parametrize("name", SEPARABLE)
def test_separable_kernels_reconstruct_from_their_factors(name):
    kernel = SEPARABLE[name]
    d = describe(kernel)
    assert d.separable and d.rank == 1
    column, row = d.factors
    assert column.shape == (kernel.shape[0],) and row.shape == (kernel.shape[1],)
    np.testing.assert_allclose(np.outer(column, row), kernel, rtol=0, atol=1e-12 * np.abs(kernel).max())


@given(sigma=st.one_of(st.floats(0.3, 4), st.tuples(st.floats(0.3, 4), st.floats(0.3, 4))))
def test_every_gaussian_is_separable(sigma):
    kernel = K.gaussian(sigma)
    d = describe(kernel)
    assert d.separable
    np.testing.assert_allclose(np.outer(*d.factors), kernel, rtol=0, atol=1e-12)


def test_integer_factors_are_found():
    assert describe(K.sobel_x()).factors[0].tolist() == [1, 2, 1]
    assert describe(K.sobel_x()).factors[1].tolist() == [-1, 0, 1]
    assert describe(K.scharr_y()).factors[0].tolist() == [-1, 0, 1]
    assert describe(K.scharr_y()).factors[1].tolist() == [3, 10, 3]
    assert describe(-K.sobel_x()).factors[1].tolist() == [1, 0, -1]
    assert describe([[1, 1], [-1, -1]]).factors[0].tolist() == [1, -1]
    np.testing.assert_allclose(describe(K.gaussian(1)).factors[0], K.gaussian(1)[3] / K.gaussian(1)[3].sum())


@pytest.mark.parametrize("kernel", [K.laplacian(4), K.laplacian(8), K.laplacian_of_gaussian(1.0),
                                    K.laplacian_of_gaussian(2.0), K.difference_of_gaussians(1, 1.6), K.emboss(),
                                    K.gabor(2, 30, 5), K.gabor(2, 45, 4), K.gabor(3, 120, 6), K.sharpen()],
                         ids=["lap4", "lap8", "log1", "log2", "dog", "emboss", "gabor30", "gabor45", "gabor120",
                              "sharpen"])
def test_non_separable_kernels_are_reported_with_their_rank(kernel):
    d = describe(kernel)
    assert not d.separable and d.rank >= 2 and d.factors is None


def test_rank_tolerance_follows_the_dtype():
    kernel = np.outer([1.0, 2.0, 1.0], [0.1, 0.7, 0.3]).astype(np.float32)
    assert describe(kernel).separable                    # float32 rounding is not rank 2
    # One test decides for describe() and the engine: a float64 kernel is separable when its
    # rank-1 factors reproduce it to 1e-7 (the filtering error they would make), not at 1e-13.
    nearly = kernel.astype(np.float64) + 1e-9 * np.eye(3)
    assert describe(nearly).separable and separable_factors(nearly) is not None
    assert describe(kernel.astype(np.float64) + 1e-5 * np.eye(3)).rank > 1


# --------------------------------------------------------------------------- symmetry

def test_symmetries_of_named_kernels():
    assert describe(K.sobel_x()).symmetry == ("mirror-ud", "anti-mirror-lr", "anti-point")
    assert describe(K.sobel_y()).symmetry == ("mirror-lr", "anti-mirror-ud", "anti-point")
    assert describe(K.gaussian(1)).symmetry == ("mirror-lr", "mirror-ud", "point", "transpose")
    assert describe(K.diagonal_line_45()).symmetry == ("point", "transpose")
    assert describe(K.emboss()).symmetry == ("transpose",)
    assert describe(np.array([[0.0, 1.0], [-1.0, 0.0]])).symmetry == ("anti-point", "anti-transpose")
    assert describe(K.box((3, 5))).symmetry == ("mirror-lr", "mirror-ud", "point")


@given(kernel=KERNELS)
def test_symmetry_is_checked_against_the_definitions(kernel):
    assume(np.abs(kernel).max() > 1e-3)
    found = set(describe(kernel).symmetry)
    views = {"mirror-lr": kernel[:, ::-1], "mirror-ud": kernel[::-1], "point": kernel[::-1, ::-1]}
    for name, view in views.items():
        assert (name in found) == np.allclose(kernel, view, rtol=0, atol=1e-7 * np.abs(kernel).max())
        assert (f"anti-{name}" in found) == np.allclose(kernel, -view, rtol=0, atol=1e-7 * np.abs(kernel).max())
    symmetric = kernel + kernel[::-1, ::-1]
    assume(np.abs(symmetric).max() > 1e-3)
    assert "point" in describe(symmetric).symmetry


# --------------------------------------------------------------------------- frequency response

@pytest.mark.parametrize("kernel, response", [
    (K.gaussian(1.0), "low-pass"), (K.gaussian(3.0), "low-pass"), (K.gaussian(0.5), "low-pass"),
    (K.box(3), "low-pass"), (K.box(7), "low-pass"), (K.motion_blur(9, 30), "low-pass"),
    (K.laplacian(4), "high-pass"), (K.laplacian(8), "high-pass"), (K.horizontal_line(), "high-pass"),
    (K.sharpen(), "high-pass"),
    (K.difference_of_gaussians(1.0, 1.6), "band-pass"), (K.difference_of_gaussians(2.0, 3.2), "band-pass"),
    (K.laplacian_of_gaussian(1.5), "band-pass"), (K.gabor(2, 0, 4), "band-pass"), (K.gabor(3, 30, 8), "band-pass"),
    (K.sobel_x(), "band-pass"),           # the central difference is blind to the Nyquist frequency too
    (K.identity(), "all-pass"), (np.array([[-2.0]]), "all-pass"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_response_class(kernel, response):
    d = describe(kernel)
    assert d.response == response
    assert 0 <= d.low_level <= 1 and 0 <= d.high_level <= d.high_peak_level <= 1 + 1e-12


@given(low=st.floats(0.8, 3.0), ratio=st.floats(1.3, 2.5))
def test_difference_of_gaussians_is_band_pass_and_isotropic(low, ratio):
    d = describe(K.difference_of_gaussians(low, low * ratio))
    assert d.response == "band-pass" and d.orientation is None and d.low_level < 1e-9


@given(sigma=st.floats(0.5, 5.0))
def test_gaussian_is_an_isotropic_low_pass(sigma):
    d = describe(K.gaussian(sigma))
    assert d.response == "low-pass" and d.orientation is None and d.anisotropy < 1e-9
    assert d.low_level == 1.0 and np.isclose(d.dc_gain, 1.0)


# --------------------------------------------------------------------------- orientation

@given(theta=st.floats(0, 180, exclude_max=True), sigma=st.floats(1.5, 4.0), wavelength=st.floats(3.0, 8.0),
       gamma=st.floats(0.4, 1.0), psi=st.sampled_from([0.0, math.pi / 2]))
def test_orientation_recovers_the_gabor_angle(theta, sigma, wavelength, gamma, psi):
    d = describe(K.gabor(sigma, theta, wavelength, gamma, psi))
    assert d.orientation is not None and 0 <= d.orientation < 180
    assert angle_error(d.orientation, theta) < 2.0


@pytest.mark.parametrize("name, orientation", [
    ("sobel_x", 0), ("sobel_y", 90), ("prewitt_x", 0), ("scharr_y", 90), ("vertical_edge", 0),
    ("horizontal_edge", 90), ("vertical_line", 0), ("horizontal_line", 90),
    ("diagonal_line_45", 135), ("diagonal_line_135", 45),   # a line at 45 degrees varies along 135
    ("emboss", 45), ("motion_blur", 90),                    # blurring along x keeps changes along y
])
def test_orientation_of_named_kernels(name, orientation):
    assert describe(K.get(name)).orientation == orientation


@pytest.mark.parametrize("name", ["gaussian", "box", "laplacian", "laplacian_of_gaussian", "identity",
                                  "sharpen", "unsharp_mask", "difference_of_gaussians"])
def test_kernels_with_square_symmetry_have_no_orientation(name):
    d = describe(K.get(name))
    assert d.orientation is None and d.anisotropy < ANISOTROPY_THRESHOLD


def test_a_one_dimensional_derivative_is_oriented_along_its_axis():
    assert describe(np.array([[-1.0, 0.0, 1.0]])).orientation == 0
    assert describe(np.array([[-1.0], [0.0], [1.0]])).orientation == 90
    assert describe(np.array([[0, 0, 0], [-1, 0, 1], [0, 0, 0]])).orientation == 0


@given(angle=st.floats(0, 180))
def test_motion_blur_keeps_changes_across_its_line(angle):
    d = describe(K.motion_blur(15, angle))
    assert d.response == "low-pass" and angle_error(d.orientation, angle + 90) < 5


@given(kernel=KERNELS, scale=st.floats(0.01, 100))
def test_orientation_follows_transposes_and_mirrors(kernel, scale):
    assume(np.abs(kernel).max() > 1e-3)
    d = describe(kernel)
    assume(d.orientation is not None and abs(d.anisotropy - ANISOTROPY_THRESHOLD) > 1e-6)
    assert angle_error(describe(kernel.T).orientation, 90 - d.orientation) < 1e-6       # x and y swap
    assert angle_error(describe(kernel[:, ::-1]).orientation, -d.orientation) < 1e-6   # x flips
    scaled = describe(-scale * kernel)
    assert angle_error(scaled.orientation, d.orientation) < 1e-6 and scaled.response == d.response


# --------------------------------------------------------------------------- nearest named kernel

@pytest.mark.parametrize("name", sorted(K.available()))
def test_each_registry_kernel_is_nearest_to_itself(name):
    d = describe(K.get(name))
    assert d.nearest[0] == name and d.nearest[1] == pytest.approx(1.0, abs=1e-9)
    assert d.nearest_params == {}


def test_a_negated_kernel_is_reported_with_its_sign():
    assert describe(-K.sobel_x()).nearest == ("-sobel_x", pytest.approx(1.0))
    assert describe(-2.5 * K.laplacian_of_gaussian(1.0)).nearest == ("-laplacian_of_gaussian", pytest.approx(1.0))


def test_a_noisy_sobel_is_still_sobel(rng):
    for _ in range(5):
        d = describe(K.sobel_x() + rng.normal(scale=0.3, size=(3, 3)))
        assert d.nearest[0] == "sobel_x" and 0.8 < d.nearest[1] < 1
        assert angle_error(d.orientation, 0) < 15


def test_variants_and_sizes_are_named_with_their_parameters():
    d = describe(K.laplacian(8))
    assert d.nearest == ("laplacian", pytest.approx(1.0)) and d.nearest_params == {"neighbours": 8}
    np.testing.assert_array_equal(K.get(d.nearest[0], **d.nearest_params), K.laplacian(8))
    d = describe(K.gaussian(2.0))
    assert d.nearest[0] == "gaussian" and d.nearest_params == {"sigma": 2.0, "size": 13}
    assert describe(K.box(4)).nearest == ("box", 1.0) and describe(K.box(4)).nearest_params == {"size": 4}
    assert describe(K.emboss(270)).nearest_params == {"angle": 270.0}
    assert describe(K.identity(9)).nearest[0] == "identity"


def test_smaller_kernels_are_matched_centred():
    padded = np.zeros((5, 7))
    padded[1:4, 2:5] = K.sobel_y()
    assert describe(padded).nearest == ("sobel_y", pytest.approx(1.0))
    shifted = np.zeros((5, 5))
    shifted[0:3, 0:3] = K.box(3)                          # a shifted box is not a derivative
    assert describe(shifted).nearest[0] != "box" or describe(shifted).nearest[1] < 0.9
    assert describe(np.pad(K.horizontal_line(), ((1, 0), (0, 0)))).nearest is None   # 4x3: cannot centre


def test_ties_go_to_the_kernel_with_the_same_mean():
    # identity, sharpen and -laplacian(8) differ only by a constant: Pearson r = 1 for all three.
    assert describe(K.identity()).nearest == ("identity", 1.0)
    assert describe(K.sharpen()).nearest == ("sharpen", pytest.approx(1.0))
    assert describe(K.prewitt_y()).nearest[0] == "prewitt_y"             # not -horizontal_edge


def test_constant_kernels_match_only_the_box():
    assert describe(np.full((3, 3), 2.0)).nearest == ("box", 1.0)
    assert describe(np.full((3, 3), -1.0)).nearest == ("-box", 1.0)
    assert describe([[5.0]]).nearest == ("identity", 1.0)


def test_nothing_to_compare_gives_none():
    d = describe(np.array([[1.0, 1.0], [-1.0, -1.0]]))
    assert d.nearest is None and d.nearest_params == {}
    assert "no named kernel" in d.text()


# --------------------------------------------------------------------------- the description object

def test_text_for_sobel_x():
    d = describe(K.sobel_x())
    text = str(d)
    assert text == d.text() and text.startswith("3x3 kernel, sums to 0 (removes flat regions); band-pass")
    for phrase in ["separable (rank 1: [1, 2, 1]^T x [-1, 0, 1])", "antisymmetric left-right",
                   "responds most to changes along 0 degrees (vertical edges)",
                   "nearest named kernel: sobel_x (similarity 1.00)"]:
        assert phrase in text


@pytest.mark.parametrize("name", sorted(K.available()))
def test_every_named_kernel_has_a_one_paragraph_text(name):
    text = describe(K.get(name)).text()
    assert "\n" not in text and text.endswith(".") and name in text


def test_text_phrases():
    assert "sums to 1 (keeps the brightness" in describe(K.gaussian(1)).text()
    assert "isotropic (no preferred orientation)" in describe(K.gaussian(1)).text()
    assert "not separable (rank 2)" in describe(K.laplacian()).text()
    assert "sums to 3 (scales flat regions by 3)" in describe(3 * K.box(3)).text()
    assert "nearest named kernel: laplacian(neighbours=8)" in describe(K.laplacian(8)).text()
    assert "(horizontal edges)" in describe(K.sobel_y()).text()
    assert "(diagonal edges running top-left to bottom-right)" in describe(K.diagonal_line_45()).text()
    assert "(diagonal edges running top-right to bottom-left)" in describe(K.diagonal_line_135()).text()


def test_description_is_frozen_and_read_only():
    d = describe(K.sobel_x())
    assert isinstance(d, KernelDescription) and d.shape == (3, 3) and d.dc_gain == 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.response = "low-pass"
    with pytest.raises(ValueError):
        d.factors[0][0] = 5.0


def test_accepts_lists_integers_float32_and_tensors_without_changing_them():
    kernel = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    assert describe(kernel).nearest[0] == "sobel_x"
    assert describe(np.array(kernel, dtype=np.float32)).nearest[0] == "sobel_x"
    assert describe(convscope.tensor(np.array(kernel, dtype=np.float64))).orientation == 0
    weights = np.array(kernel, dtype=np.float64)
    before = weights.copy()
    describe(weights)
    np.testing.assert_array_equal(weights, before)


# --------------------------------------------------------------------------- errors

@pytest.mark.parametrize("kernel, error, message", [
    (np.ones(3), ValueError, r"^describe: kernel expects a 2-D array, but got a 1-D array of shape \(3,\)$"),
    (np.ones((2, 3, 3)), ValueError, r"describe: kernel expects a 2-D array, but got a 3-D array of shape \(2, 3, 3\)"),
    (np.ones((4, 1, 3, 3)), ValueError,
     r"describe: kernel expects a 2-D array \(one filter of a conv weight .*weight\[o, c\]\)"),
    (np.ones((0, 3)), ValueError, r"describe: kernel expects a non-empty array, but got shape \(0, 3\)"),
    (np.array([[1.0, np.nan], [0.0, 1.0]]), ValueError,
     r"describe: kernel expects finite values, but got nan at \[0, 1\]"),
    (np.array([[1.0, 0.0], [-np.inf, 1.0]]), ValueError,
     r"describe: kernel expects finite values, but got -inf at \[1, 0\]"),
    (np.zeros((3, 3)), ValueError, r"describe: kernel expects at least one non-zero value, but got all zeros"),
    (np.array([["a", "b"]]), TypeError, r"describe: kernel expects a real numeric array .*but got dtype <U1"),
    (np.ones((2, 2), dtype=complex), TypeError, r"describe: kernel expects a real numeric array"),
    ([[1.0, 2.0], [3.0]], TypeError, r"describe: kernel expects a 2-D numeric array, but got list"),
])
def test_describe_rejects_bad_kernels(kernel, error, message):
    with pytest.raises(error, match=message):
        describe(kernel)
