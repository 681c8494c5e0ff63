"""filters.convolve: convolve2d/correlate2d against SciPy, apply against OpenCV, scipy.ndimage and
a slow textbook reference; every algorithm against the others; dtypes, strides, errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convscope import backend
from convscope.filters import convolve as cv
from convscope.filters import _tuning
from convscope.filters.convolve import apply, convolve2d, correlate2d, separable_factors

signal = pytest.importorskip("scipy.signal")
ndimage = pytest.importorskip("scipy.ndimage")
cv2 = pytest.importorskip("cv2")


# ---- kernels, built here so the tests stand alone ----------------------------------------------

def gauss1d(sigma, radius):
    x = np.arange(-radius, radius + 1)
    g = np.exp(-0.5 * (x / sigma) ** 2)
    return g / g.sum()


SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)
LAPLACIAN = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64)
KERNELS = {
    "sobel": SOBEL_X,
    "gauss5": np.outer(gauss1d(1.0, 2), gauss1d(1.0, 2)),
    "gauss15x9": np.outer(gauss1d(2.5, 7), gauss1d(1.5, 4)),
    "box31": np.full((31, 31), 1 / 961),
    "box4x6": np.full((4, 6), 1 / 24),                                 # even sizes
    "laplacian": LAPLACIAN,
    "random7x4": np.random.default_rng(7).standard_normal((7, 4)),    # even width, rank 4
    "random11": np.random.default_rng(11).standard_normal((11, 11)),  # large enough for the FFT
    "row1x5": np.array([[1.0, -2.0, 3.0, -2.0, 1.0]]),
    "column3x1": np.array([[0.5], [2.0], [-1.0]]),
    "single": np.array([[2.5]]),
}
SEPARABLE = {"sobel", "gauss5", "gauss15x9", "box31", "box4x6", "row1x5", "column3x1", "single"}
BOUNDARIES = ("fill", "reflect", "symm", "replicate", "wrap")
NP_PAD = {"fill": "constant", "reflect": "reflect", "symm": "symmetric", "replicate": "edge", "wrap": "wrap"}
CV2_BORDER = {"reflect": cv2.BORDER_REFLECT_101, "symm": cv2.BORDER_REFLECT,
              "replicate": cv2.BORDER_REPLICATE, "fill": cv2.BORDER_CONSTANT}
NDIMAGE_MODE = {"reflect": "mirror", "symm": "reflect", "replicate": "nearest", "wrap": "wrap", "fill": "constant"}


def reference_apply(image2d, kernel, mode="same", boundary="reflect", fillvalue=0.0, stride=(1, 1)):
    """Textbook cross-correlation of one (H, W) plane: pad with np.pad, then a loop over windows."""
    p, q = kernel.shape
    pads = {"same": ((p // 2, (p - 1) // 2), (q // 2, (q - 1) // 2)),
            "full": ((p - 1, p - 1), (q - 1, q - 1)), "valid": ((0, 0), (0, 0))}[mode]
    extra = {"constant_values": fillvalue} if boundary == "fill" else {}
    x = np.pad(image2d.astype(np.float64), pads, mode=NP_PAD[boundary], **extra)
    out = np.empty((x.shape[0] - p + 1, x.shape[1] - q + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(x[i:i + p, j:j + q] * kernel)
    return out[::stride[0], ::stride[1]]


def assert_close(got, want, dtype):
    """float64 to 1e-10 and float32 to 1e-4, relative to the largest output magnitude."""
    tol = 1e-10 if np.dtype(dtype) == np.float64 else 1e-4
    want = np.asarray(want)
    assert got.shape == want.shape
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale)


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


# ---- the algorithms agree ------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(KERNELS))
def test_all_methods_agree(name, dtype, rng):
    kernel = KERNELS[name]
    methods = ["direct", "fft"] + (["separable"] if name in SEPARABLE else [])
    for shape, stride in (((150, 170), 1), ((2, 40, 37, 3), (2, 3))):
        image = rng.standard_normal(shape).astype(dtype)
        want = apply(image, kernel, boundary="symm", stride=stride)
        for method in methods:
            assert_close(apply(image, kernel, boundary="symm", stride=stride, method=method), want, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["sobel", "gauss15x9", "box31", "row1x5", "column3x1", "single"])
def test_separable_pass_implementations_agree(name, dtype, rng):
    """Tap-by-tap passes and Toeplitz products, in every combination the cost model may pick."""
    col, row = (f.astype(dtype) for f in separable_factors(KERNELS[name]))
    xp = rng.standard_normal((2, 180, 170)).astype(dtype)
    want = cv._direct_taps(xp, KERNELS[name].astype(dtype), True, (1, 1))
    options = [("taps", "gemm") if len(col) > 1 else ("skip",), ("taps", "gemm") if len(row) > 1 else ("skip",)]
    for vplan in options[0]:
        for hplan in options[1]:
            assert_close(cv._separable(cv._Padded.of(xp), col, row, True, (vplan, hplan), (1, 1)), want, dtype)


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("hplan", ["taps", "gemm"])
def test_vertical_products_read_the_unpadded_image_in_place(boundary, hplan, rng):
    """The vertical Toeplitz product pads only the rows and columns it needs."""
    image = rng.standard_normal((3, 41, 37))
    for name in ("gauss15x9", "sobel", "box4x6"):
        kernel = KERNELS[name]
        col, row = separable_factors(kernel)
        p, q = kernel.shape
        for pads in (((p // 2, (p - 1) // 2), (q // 2, (q - 1) // 2)), ((p - 1, p - 1), (q - 1, q - 1))):
            padded = cv._Padded(image, pads, boundary, 0.5, np.dtype(np.float64))
            assert padded.rows() is not None
            got = cv._separable(padded, col, row, True, ("gemm", hplan), (1, 2))
            extra = {"constant_values": 0.5} if boundary == "fill" else {}
            xp = np.pad(image, ((0, 0),) + pads, mode=NP_PAD[boundary], **extra)
            want = cv._direct_taps(xp, kernel, True, (1, 2))
            assert_close(got, want, np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_direct_column_products_agree_with_taps(dtype, rng):
    kernel = KERNELS["random7x4"].astype(dtype)
    xp = rng.standard_normal((2, 150, 160)).astype(dtype)
    want = cv._direct_taps(xp, kernel, True, (1, 1))
    assert_close(cv._direct_gemm(xp, kernel, list(range(4))), want, dtype)


def test_symmetric_pairs_and_common_scale_schedules():
    steps, scale = cv._schedule(np.full(5, 0.2), True)
    assert scale == 0.2 and [w for w, *_ in steps] == [1, 1, 1]                # box: additions only
    steps, scale = cv._schedule(np.array([-1.0, 0.0, 1.0]), True)
    assert steps == [(1.0, 2, 0, False)]                                      # x2 - x0, one pass
    steps, _ = cv._schedule(np.array([-1.0, 0.0, 1.0]), False)
    assert (0.0, 1, None, True) in steps                                      # 0 * NaN kept for NaN data


@pytest.fixture
def three_threads(monkeypatch):
    """Every loop on 3 threads, whatever the machine and the image size."""
    monkeypatch.setattr(backend, "_NUM_THREADS", 3)
    monkeypatch.setattr(_tuning, "PARALLEL_MIN_PIXELS", 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(45, 52), (7, 30, 31, 1)])
def test_threaded_loops_agree_with_ndimage(three_threads, shape, dtype, rng):
    image = rng.standard_normal(shape).astype(dtype)
    for name in ("sobel", "gauss15x9", "random7x4", "random11"):
        kernel = KERNELS[name]
        ndk = kernel if len(shape) == 2 else kernel[None, :, :, None]
        want = ndimage.correlate(image.astype(np.float64), ndk, mode="mirror")
        for method in ("direct", "fft") + (("separable",) if name in SEPARABLE else ()):
            assert_close(apply(image, kernel, method=method), want, dtype)
    xp = rng.standard_normal((2, 60, 70)).astype(dtype)
    col, row = (f.astype(dtype) for f in separable_factors(KERNELS["gauss15x9"]))
    want = cv._direct_taps(xp, np.outer(col, row), True, (1, 1))
    for plan in (("gemm", "gemm"), ("taps", "gemm"), ("gemm", "taps")):
        assert_close(cv._separable(cv._Padded.of(xp), col, row, True, plan, (1, 1)), want, dtype)
    assert_close(cv._direct_gemm(xp, np.outer(col, row), list(range(len(row)))), want, dtype)


# ---- separability and the choice of algorithm ----------------------------------------------------

@pytest.mark.parametrize("name", ["sobel", "gauss5", "gauss15x9", "box31", "box4x6", "row1x5"])
def test_separable_kernels_are_split_exactly(name):
    kernel = KERNELS[name]
    col, row = separable_factors(kernel)
    np.testing.assert_allclose(np.outer(col, row), kernel, rtol=1e-14, atol=1e-17)
    assert cv.choose_method(kernel, (2048, 2048)) == "separable"


def test_sobel_factors_are_the_textbook_ones():
    col, row = separable_factors(SOBEL_X)
    assert np.array_equal(col * -1, [1, 2, 1]) and np.array_equal(row * -1, [-1, 0, 1])


@pytest.mark.parametrize("kernel", [LAPLACIAN, KERNELS["random7x4"], np.eye(3),
                                    np.outer([1, 2, 3], [1, 1, 1]) + 1e-5 * np.eye(3)])
def test_non_separable_kernels_are_not_split(kernel):
    assert separable_factors(kernel) is None
    assert cv.choose_method(kernel) != "separable"
    with pytest.raises(ValueError, match=r"apply: method='separable' expects a kernel of rank 1"):
        apply(np.ones((8, 8)), kernel, method="separable")


@pytest.mark.parametrize("noise, separable", [(0.0, True), (1e-12, True), (1e-4, False), (1.0, False)])
def test_rank_decision_agrees_with_the_singular_values(noise, separable, rng):
    for shape in ((3, 3), (7, 4), (15, 15), (41, 23)):
        kernel = np.outer(rng.standard_normal(shape[0]), rng.standard_normal(shape[1]))
        kernel += noise * rng.standard_normal(shape) * np.abs(kernel).max()
        s = np.linalg.svd(kernel, compute_uv=False)
        assert (s[1] <= 1e-7 * s[0]) == separable
        assert (separable_factors(kernel) is not None) == separable


def test_rank_tolerance_depends_on_the_kernel_dtype():
    nearly = np.outer([1.0, 2.0, 1.0], [1.0, 0.5, 1.0]) + 1e-6 * np.eye(3)
    assert separable_factors(nearly) is None                                   # float64: 1e-7
    assert separable_factors(nearly.astype(np.float32)) is not None            # float32: 1.2e-5
    assert separable_factors(nearly, rtol=1e-5) is not None


def test_auto_uses_the_fft_for_large_non_separable_kernels(rng):
    assert cv.choose_method(rng.standard_normal((41, 41)), (2048, 2048)) == "fft"
    assert cv.choose_method(rng.standard_normal((7, 7)), (2048, 2048)) == "direct"
    assert cv.choose_method(LAPLACIAN, (2048, 2048)) == "direct"


# ---- channels, shapes, stride, dtype -------------------------------------------------------------

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


@pytest.mark.parametrize("dtype, expected", [
    (np.uint8, np.float32), (np.int16, np.float32), (np.bool_, np.float32),
    (np.float16, np.float32), (np.float32, np.float32), (np.float64, np.float64)])
def test_output_dtype_follows_the_image(dtype, expected, rng):
    image = (rng.random((6, 7)) * 100).astype(dtype)
    assert apply(image, SOBEL_X).dtype == expected                  # a float64 kernel does not upcast
    assert apply(image, SOBEL_X.astype(np.float32), dtype=np.float64).dtype == np.float64


def test_uint8_values_are_neither_clipped_nor_wrapped():
    image = np.full((5, 5), 200, dtype=np.uint8)
    out = apply(image, np.full((3, 3), 1.0))
    assert out.dtype == np.float32 and out[2, 2] == 1800.0
    assert apply(image, -SOBEL_X, boundary="fill")[2, 0] == -800.0


def test_inputs_are_not_modified(rng):
    image = rng.standard_normal((140, 150, 2))
    kernel = KERNELS["gauss15x9"].copy()
    before = image.copy(), kernel.copy()
    for method in ("auto", "direct", "fft", "separable"):
        apply(image, kernel, method=method)
    convolve2d(image[..., 0], kernel, "same", "symm")
    assert np.array_equal(image, before[0]) and np.array_equal(kernel, before[1])


def test_results_do_not_share_memory_between_calls(rng):
    image = rng.standard_normal((20, 20))
    first = apply(image, SOBEL_X)
    kept = first.copy()
    apply(image * 2, SOBEL_X)
    assert np.array_equal(first, kept)


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


def test_nan_in_the_kernel_propagates_everywhere():
    kernel = SOBEL_X.copy()
    kernel[0, 0] = np.nan
    assert cv.choose_method(kernel) == "direct"
    assert np.isnan(apply(np.ones((6, 6)), kernel)).all()


# ---- errors --------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, error, match", [
    (lambda: apply(np.ones(5), SOBEL_X), ValueError,
     r"apply: image expects shape \(H, W\), \(H, W, C\) or \(N, H, W, C\), but got a 1-D array of shape \(5,\)"),
    (lambda: apply(np.ones((0, 5)), SOBEL_X), ValueError,
     r"apply: image expects a non-empty image, but got shape \(0, 5\)"),
    (lambda: apply(np.ones((5, 5)), np.ones(3)), ValueError,
     r"apply: kernel expects a non-empty 2-D \(P, Q\) or 3-D"),
    (lambda: apply(np.ones((5, 5)), np.ones((3, 0))), ValueError, r"kernel expects a non-empty.*got shape \(3, 0\)"),
    (lambda: apply(np.ones((4, 6)), np.ones((5, 3)), mode="valid"), ValueError,
     r"apply: mode 'valid' expects a kernel no larger than the image, but got kernel \(5, 3\) for image \(4, 6\)"),
    (lambda: apply(np.ones((8, 8, 3)), np.ones((3, 3, 2)), channels="all"), ValueError,
     r"apply: kernel of shape \(3, 3, 2\) expects 2 image channels, but image of shape \(8, 8, 3\) has 3"),
    (lambda: apply(np.array([["a"]]), SOBEL_X), TypeError,
     r"apply: image expects a real numeric array.*got dtype <U1"),
    (lambda: apply(np.ones((5, 5), complex), SOBEL_X), TypeError, r"apply: image expects a real numeric array"),
    (lambda: apply(np.ones((5, 5)), SOBEL_X.astype(object)), TypeError,
     r"apply: kernel expects a real numeric array"),
    (lambda: apply(np.ones((5, 5)), SOBEL_X, mode="center"), ValueError,
     r"apply: mode expects one of 'full', 'same', 'valid', but got 'center'"),
    (lambda: apply(np.ones((5, 5)), SOBEL_X, boundary="mirror"), ValueError,
     r"apply: boundary expects one of 'fill', 'reflect', 'symm', 'replicate', 'wrap', but got 'mirror'"),
    (lambda: apply(np.ones((5, 5)), SOBEL_X, method="winograd"), ValueError,
     r"apply: method expects one of .*'winograd'"),
    (lambda: apply(np.ones((5, 5)), SOBEL_X, channels="some"), ValueError,
     r"apply: channels expects one of 'each', 'all'"),
    (lambda: apply(np.ones((5, 5)), SOBEL_X, stride=0), ValueError,
     r"apply: stride expects positive integers, but got 0"),
    (lambda: apply(np.ones((5, 5)), SOBEL_X, stride=1.5), TypeError,
     r"apply: stride expects an int or a tuple of 2 ints"),
    (lambda: apply(np.ones((5, 5)), SOBEL_X, dtype=np.uint8), TypeError,
     r"apply: dtype expects a floating dtype .* but got uint8"),
    (lambda: apply(np.ones((5, 5)), SOBEL_X, boundary="fill", fillvalue="x"), TypeError,
     r"apply: fillvalue expects a real number, but got 'x'"),
    (lambda: convolve2d(np.ones((3, 3, 1)), SOBEL_X), ValueError,
     r"convolve2d: in1 expects a 2-D array \(inputs must both be 2-D\), but got 3-D shape \(3, 3, 1\)"),
    (lambda: correlate2d(np.ones((3, 3)), np.ones(3)), ValueError, r"correlate2d: in2 expects a 2-D array"),
    (lambda: convolve2d(np.ones((0, 3)), SOBEL_X), ValueError, r"convolve2d: in1 expects a non-empty 2-D array"),
    (lambda: convolve2d(np.ones((2, 5)), np.ones((3, 3)), "valid"), ValueError,
     r"convolve2d: mode 'valid' expects one input at least as large as the other in every dimension, "
     r"but got in1 \(2, 5\) and in2 \(3, 3\)"),
    (lambda: convolve2d(np.ones((3, 3)), SOBEL_X, "VALID"), ValueError, r"convolve2d: mode expects one of"),
    (lambda: convolve2d(np.ones((3, 3)), SOBEL_X, boundary="reflect"), ValueError,
     r"convolve2d: boundary expects one of 'fill' \(or 'pad'\), 'wrap' \(or 'circular'\), 'symm' \(or 'symmetric'\)"),
    (lambda: convolve2d(np.ones((3, 3)), SOBEL_X, fillvalue=[1, 2]), ValueError,
     r"convolve2d: fillvalue expects a scalar or an array with one element, but got an array of shape \(2,\)"),
    (lambda: convolve2d(np.ones((3, 3)), SOBEL_X, fillvalue=1j), ValueError,
     r"convolve2d: fillvalue expects a real number for real inputs"),
    (lambda: convolve2d(np.ones((3, 3)), LAPLACIAN, method="separable"), ValueError,
     r"convolve2d: method='separable' expects a kernel of rank 1"),
    (lambda: separable_factors(np.ones(3)), ValueError, r"separable_factors: kernel expects a non-empty 2-D array"),
])
def test_errors_name_the_function_argument_and_values(call, error, match):
    with pytest.raises(error, match=match):
        call()


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


def test_filters_benchmark_runs_and_prints_a_ratio_table():
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "filters.py"
    done = subprocess.run([sys.executable, str(script), "--size", "128", "--repeat", "1", "--rounds", "1",
                           "--only", "Sobel"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "| Sobel 3x3 |" in done.stdout and "cv2.filter2D" in done.stdout
