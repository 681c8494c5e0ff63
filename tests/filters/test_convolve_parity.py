"""filters.convolve against its references: convolve2d/correlate2d against SciPy, apply against
OpenCV, scipy.ndimage, PyTorch and a slow textbook reference, NaN handling. Every test runs with
each engine algorithm forced in turn (``each_conv_algorithm``, tests/conftest.py), where it
applies; the cost model chooses elsewhere."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convscope.filters.convolve import apply, convolve2d, correlate2d

from ._cases import (BOUNDARIES, KERNELS, NDIMAGE_MODE, SEPARABLE, SOBEL_X, assert_close, gauss1d,
                     reference_apply)

signal = pytest.importorskip("scipy.signal")
ndimage = pytest.importorskip("scipy.ndimage")
cv2 = pytest.importorskip("cv2")

pytestmark = pytest.mark.usefixtures("each_conv_algorithm")

CV2_BORDER = {"reflect": cv2.BORDER_REFLECT_101, "symm": cv2.BORDER_REFLECT,
              "replicate": cv2.BORDER_REPLICATE, "fill": cv2.BORDER_CONSTANT}


# ---- convolve2d / correlate2d against scipy.signal ----------------------------------------------

@st.composite
def scipy_cases(draw):
    shape1 = (draw(st.integers(1, 9)), draw(st.integers(1, 9)))
    shape2 = (draw(st.integers(1, 9)), draw(st.integers(1, 9)))       # often larger than in1
    mode = draw(st.sampled_from(["full", "same", "valid"]))
    boundary = draw(st.sampled_from(["fill", "wrap", "symm", "pad", "circular", "symmetric"]))
    dtype = draw(st.sampled_from(["float64", "float32", "int64", "int32", "uint8", "mixed"]))
    fillvalue = draw(st.sampled_from([0, 1.5, -2]))
    method = draw(st.sampled_from(["auto", "direct", "fft"]))
    separable = draw(st.booleans())
    return shape1, shape2, mode, boundary, dtype, fillvalue, method, separable, draw(st.integers(0, 2**31 - 1))


def _scipy_inputs(shape1, shape2, dtype, separable, rng):
    if dtype in ("int64", "int32", "uint8"):
        a = rng.integers(0, 10, shape1).astype(dtype)
        b = (np.outer(rng.integers(0, 4, shape2[0]), rng.integers(0, 4, shape2[1])) if separable
             else rng.integers(0, 4, shape2)).astype(dtype)
        return a, b
    a = rng.standard_normal(shape1)
    b = np.outer(rng.standard_normal(shape2[0]), rng.standard_normal(shape2[1])) if separable \
        else rng.standard_normal(shape2)
    if dtype == "mixed":
        return a.astype(np.float32), b
    return a.astype(dtype), b.astype(dtype)


@settings(max_examples=200)
@given(scipy_cases())
def test_convolve2d_and_correlate2d_match_scipy(case):
    shape1, shape2, mode, boundary, dtype, fillvalue, method, separable, seed = case
    a, b = _scipy_inputs(shape1, shape2, dtype, separable, np.random.default_rng(seed))
    if a.dtype.kind in "iu":
        fillvalue = int(fillvalue)           # SciPy truncates it to the integer type (see below)
    for ours, theirs in ((convolve2d, signal.convolve2d), (correlate2d, signal.correlate2d)):
        # SciPy computes integers in their own type (uint8 wraps around): give it int64.
        sa, sb = (x.astype(np.int64) if x.dtype.kind in "iu" else x for x in (a, b))
        try:
            want = theirs(sa, sb, mode, boundary, fillvalue)
        except ValueError:
            with pytest.raises(ValueError, match="mode 'valid' expects one input at least as large"):
                ours(a, b, mode, boundary, fillvalue, method=method)
            continue
        got = ours(a, b, mode, boundary, fillvalue, method=method)
        expected_dtype = np.float32 if dtype == "float32" else np.float64
        assert got.dtype == expected_dtype
        tol = 1e-4 if dtype == "float32" else 1e-6
        scale = max(1.0, float(np.abs(want).max()))
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale, err_msg=f"{ours.__name__} {case}")


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("shapes", [((6, 7), (3, 2)), ((3, 2), (6, 7)), ((5, 5), (4, 4))])
def test_complex_inputs_match_scipy(mode, shapes, rng):
    a = rng.standard_normal(shapes[0]) + 1j * rng.standard_normal(shapes[0])
    b = rng.standard_normal(shapes[1]) + 1j * rng.standard_normal(shapes[1])
    for ours, theirs in ((convolve2d, signal.convolve2d), (correlate2d, signal.correlate2d)):
        for method in ("auto", "direct", "fft"):
            got = ours(a, b, mode, "symm", method=method)
            np.testing.assert_allclose(got, theirs(a, b, mode, "symm"), rtol=1e-10, atol=1e-10)


def test_scharr_complex_gradient_from_scipy_docs(rng):
    scharr = np.array([[-3 - 3j, 0 - 10j, +3 - 3j], [-10 + 0j, 0 + 0j, +10 + 0j], [-3 + 3j, 0 + 10j, +3 + 3j]])
    image = rng.random((40, 50))
    np.testing.assert_allclose(convolve2d(image, scharr, boundary="symm", mode="same"),
                               signal.convolve2d(image, scharr, boundary="symm", mode="same"), atol=1e-12)


def test_correlate2d_is_convolve2d_with_the_kernel_rotated_and_conjugated(rng):
    a = rng.standard_normal((7, 9))
    b = rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))
    np.testing.assert_allclose(correlate2d(a, b), convolve2d(a, np.conj(b[::-1, ::-1])), atol=1e-12)
    # ... but 'same' keeps SciPy's centring: for an even kernel it is one sample off.
    same_corr = correlate2d(a, b.real, "same")
    same_conv = convolve2d(a, b.real[::-1, ::-1], "same")
    assert not np.allclose(same_corr, same_conv)
    np.testing.assert_allclose(same_corr, signal.correlate2d(a, b.real, "same"), atol=1e-12)


def test_scipy_front_end_on_a_large_image_takes_the_fast_paths(rng):
    image = rng.standard_normal((300, 280))
    for kernel in (KERNELS["gauss15x9"], KERNELS["random11"], SOBEL_X):
        for boundary in ("fill", "wrap", "symm"):
            np.testing.assert_allclose(convolve2d(image, kernel, "same", boundary, 0.5),
                                       signal.convolve2d(image, kernel, "same", boundary, 0.5), atol=1e-10)


# ---- apply against OpenCV, scipy.ndimage and the textbook reference -----------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("boundary", ["reflect", "symm", "replicate", "fill"])
@pytest.mark.parametrize("name", ["sobel", "gauss5", "gauss15x9", "laplacian", "random7x4", "random11", "box4x6"])
def test_apply_matches_cv2_filter2d(name, boundary, dtype, rng):
    kernel = KERNELS[name]
    for shape in ((37, 45), (140, 150, 3)):                  # cv2 filters each channel alike
        image = (rng.random(shape) * 255).astype(dtype)
        want = cv2.filter2D(image, -1, kernel.astype(dtype), borderType=CV2_BORDER[boundary])
        got = apply(image, kernel, boundary=boundary)
        assert got.dtype == dtype
        assert_close(got, want, dtype)


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("name", ["sobel", "box4x6", "random7x4", "random11", "row1x5", "column3x1"])
def test_apply_matches_ndimage_correlate(name, boundary, rng):
    kernel = KERNELS[name]
    image = rng.standard_normal((33, 29))
    want = ndimage.correlate(image, kernel, mode=NDIMAGE_MODE[boundary], cval=0.75)
    assert_close(apply(image, kernel, boundary=boundary, fillvalue=0.75), want, np.float64)


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_apply_on_batches_matches_ndimage(boundary, rng):
    batch = rng.standard_normal((3, 20, 24, 2))
    kernel = KERNELS["random7x4"]
    want = ndimage.correlate(batch, kernel[None, :, :, None], mode=NDIMAGE_MODE[boundary])
    assert_close(apply(batch, kernel, boundary=boundary), want, np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sigma", [0.8, 1.1, 2.5])
def test_apply_with_a_gaussian_matches_gaussian_filter(sigma, dtype, rng):
    radius = int(np.ceil(3 * sigma))
    kernel = np.outer(gauss1d(sigma, radius), gauss1d(sigma, radius))
    image = rng.random((150, 160)).astype(dtype)
    want = ndimage.gaussian_filter(image.astype(np.float64), sigma, mode="reflect", radius=radius)
    got = apply(image, kernel, boundary="symm")
    tol = 1e-6 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("mode", ["same", "valid", "full"])
@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("stride", [(1, 1), (2, 3)])
def test_apply_matches_textbook_reference(mode, boundary, stride, rng):
    image = rng.standard_normal((13, 11))
    for name in ("box4x6", "random7x4", "gauss5"):
        kernel = KERNELS[name]
        want = reference_apply(image, kernel, mode, boundary, 0.5, stride)
        for method in ("auto", "direct", "fft") + (("separable",) if name in SEPARABLE else ()):
            got = apply(image, kernel, mode=mode, boundary=boundary, fillvalue=0.5, stride=stride, method=method)
            assert_close(got, want, np.float64)


def test_kernel_larger_than_image_repeats_the_boundary_pattern(rng):
    image = rng.standard_normal((3, 4))
    kernel = rng.standard_normal((9, 10))
    for boundary in BOUNDARIES:
        for mode in ("same", "full"):
            assert_close(apply(image, kernel, mode=mode, boundary=boundary, method="direct"),
                         reference_apply(image, kernel, mode, boundary), np.float64)


# ---- channels and stride ---------------------------------------------------------------------------

def test_channels_each_and_all(rng):
    rgb = rng.standard_normal((12, 14, 3))
    k3 = rng.standard_normal((3, 5, 3))
    each = apply(rgb, k3, channels="each", boundary="wrap")
    assert each.shape == (12, 14, 3)
    for c in range(3):
        assert_close(each[..., c], reference_apply(rgb[..., c], k3[..., c], boundary="wrap"), np.float64)
    summed = apply(rgb, k3, channels="all", boundary="wrap")
    assert summed.shape == (12, 14)
    assert_close(summed, each.sum(axis=-1), np.float64)
    k2 = rng.standard_normal((3, 5))
    assert_close(apply(rgb, k2, channels="all"), apply(rgb, k2).sum(axis=-1), np.float64)
    batch = rng.standard_normal((2, 12, 14, 3))
    out = apply(batch, k3, channels="all", mode="valid")
    assert out.shape == (2, 10, 10, 1)
    assert_close(out[1, ..., 0], apply(batch[1], k3, channels="all", mode="valid"), np.float64)


def test_channels_all_matches_a_conv_layer(rng):
    torch = pytest.importorskip("torch")
    batch = rng.standard_normal((2, 9, 10, 3))
    k3 = rng.standard_normal((3, 4, 3))
    want = torch.nn.functional.conv2d(torch.from_numpy(batch).permute(0, 3, 1, 2),
                                      torch.from_numpy(k3).permute(2, 0, 1)[None]).numpy()
    assert_close(apply(batch, k3, channels="all", mode="valid")[..., 0], want[:, 0], np.float64)


@pytest.mark.parametrize("mode, shape", [("same", (3, 3)), ("valid", (3, 2)), ("full", (4, 4))])
def test_stride_keeps_every_sth_pixel_from_zero(mode, shape, rng):
    image = rng.standard_normal((9, 8))
    kernel = KERNELS["gauss5"][:3, :4]
    full_res = apply(image, kernel, mode=mode)
    got = apply(image, kernel, mode=mode, stride=(3, 3))
    assert got.shape == shape
    assert_close(got, full_res[::3, ::3], np.float64)


# ---- NaN and inf ---------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(20, 20), (150, 150)])
@pytest.mark.parametrize("name", ["sobel", "gauss15x9", "random11"])
def test_nan_pixels_spoil_only_their_window(name, shape, rng):
    image = rng.standard_normal(shape)
    image[7, 9] = np.nan
    kernel = KERNELS[name]
    p, q = kernel.shape
    got = apply(image, kernel, boundary="fill")
    spoiled = np.zeros(shape, bool)
    spoiled[max(0, 7 - (p - 1 - p // 2)):7 + p // 2 + 1, max(0, 9 - (q - 1 - q // 2)):9 + q // 2 + 1] = True
    assert np.array_equal(np.isnan(got), spoiled)
    clean = image.copy()
    clean[7, 9] = 0
    assert_close(got[~spoiled], apply(clean, kernel, boundary="fill")[~spoiled], np.float64)


# ---- SciPy conventions -----------------------------------------------------------------------------

def test_integer_inputs_give_float64_and_keep_a_fractional_fillvalue():
    # Deliberate differences: SciPy computes in the integer type (uint8 wraps around) and
    # truncates fillvalue to it.
    a = np.full((2, 2), 200, dtype=np.uint8)
    got = convolve2d(a, np.ones((1, 2), np.uint8), fillvalue=1.5)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, [[201.5, 400, 201.5], [201.5, 400, 201.5]])


def test_one_element_fillvalue_and_aliases_are_accepted():
    a = np.arange(12.0).reshape(3, 4)
    np.testing.assert_allclose(convolve2d(a, SOBEL_X, "same", "pad", np.array([2.0])),
                               signal.convolve2d(a, SOBEL_X, "same", "fill", 2.0))
    assert correlate2d([[1, 2], [3, 4]], [[1]], boundary="circular").dtype == np.float64
