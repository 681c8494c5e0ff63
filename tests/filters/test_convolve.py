"""filters.convolve: the algorithms against each other (every pass implementation of the engine's
single-kernel paths), separability and the choice of algorithm, dtypes, strides, errors. (The
parity tests against SciPy, OpenCV and scipy.ndimage are test_convolve_parity.py.)"""

import numpy as np
import pytest

from convscope import backend
from convscope.filters import convolve as cv
from convscope.filters.convolve import apply, convolve2d, correlate2d, separable_factors
from convscope.ops.algorithms import _taps, _toeplitz
from convscope.ops.algorithms import separable as S

from ._cases import KERNELS, LAPLACIAN, SEPARABLE, SOBEL_X, assert_close

ndimage = pytest.importorskip("scipy.ndimage")


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
    want = _taps._direct_taps(xp, KERNELS[name].astype(dtype), True, (1, 1))
    options = [("taps", "gemm") if len(col) > 1 else ("skip",), ("taps", "gemm") if len(row) > 1 else ("skip",)]
    for vplan in options[0]:
        for hplan in options[1]:
            assert_close(S._separable(xp, col, row, True, (vplan, hplan), (1, 1)), want, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
@pytest.mark.parametrize("stride", [(1, 1), (2, 3)])
def test_compiled_and_numpy_single_kernel_paths_agree(stride, dtype, rng):
    """direct's and separable's plane paths, numba loops and NumPy passes, on finite and NaN data."""
    if not backend.numba_installed():
        pytest.skip("numba is not installed (the fast extra)")
    from convscope.ops.algorithms import direct
    xp = rng.standard_normal((3, 41, 37)).astype(dtype)
    if dtype == np.complex128:
        xp = xp + 1j * rng.standard_normal(xp.shape)
    tol = np.float32 if dtype == np.float32 else np.float64
    for name in ("gauss15x9", "sobel", "box4x6", "random7x4", "column3x1", "single"):
        kernel = KERNELS[name].astype(dtype)
        p, q = kernel.shape
        out = (-(-(41 - p + 1) // stride[0]), -(-(37 - q + 1) // stride[1]))
        want = _taps._direct_taps(xp, kernel, False, (1, 1))[:, ::stride[0], ::stride[1]]
        for finite in (True, False):
            for compiled in (True, False):
                with backend.compiled(compiled):
                    assert_close(direct.forward_planes(xp, kernel, out, stride, "t", finite=finite), want, tol)
                    if name in SEPARABLE:
                        got = S.forward_planes(xp, kernel, out, stride, "t", finite=finite)
                        assert_close(got, want, tol)
    nan = xp.copy()
    nan[1, 20, 18] = np.nan
    kernel = KERNELS["gauss15x9"].astype(dtype)
    spoiled = np.isnan(_taps._direct_taps(nan, kernel, False, (1, 1)))
    for compiled in (True, False):
        with backend.compiled(compiled):
            for module in (direct, S):
                out = module.forward_planes(nan, kernel, spoiled.shape[1:], (1, 1), "t", finite=False)
                assert np.array_equal(np.isnan(out), spoiled)


def test_the_engine_keeps_non_finite_images_to_tap_by_tap_algorithms(rng):
    image = rng.standard_normal((64, 64))
    image[10, 10] = np.inf
    kernel = KERNELS["random11"]
    for method in ("auto", "fft"):
        with backend.algorithm_log() as log:
            out = apply(image, kernel, method=method)
        assert log[0][2] not in ("fft", "winograd")
        assert np.isfinite(out[:4]).all() and not np.isfinite(out[10]).all()
    with backend.algorithm_log() as log:
        apply(np.nan_to_num(image, posinf=0.0), kernel, method="fft")
    assert log[0][2] == "fft"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_direct_column_products_agree_with_taps(dtype, rng):
    kernel = KERNELS["random7x4"].astype(dtype)
    xp = rng.standard_normal((2, 150, 160)).astype(dtype)
    want = _taps._direct_taps(xp, kernel, True, (1, 1))
    assert_close(_toeplitz._direct_gemm(xp, kernel, list(range(4))), want, dtype)


def test_symmetric_pairs_and_common_scale_schedules():
    steps, scale = _taps._schedule(np.full(5, 0.2), True)
    assert scale == 0.2 and [w for w, *_ in steps] == [1, 1, 1]                # box: additions only
    steps, scale = _taps._schedule(np.array([-1.0, 0.0, 1.0]), True)
    assert steps == [(1.0, 2, 0, False)]                                      # x2 - x0, one pass
    steps, _ = _taps._schedule(np.array([-1.0, 0.0, 1.0]), False)
    assert (0.0, 1, None, True) in steps                                      # 0 * NaN kept for NaN data


@pytest.fixture
def three_threads(monkeypatch):
    """Every loop on 3 threads, whatever the machine and the image size."""
    monkeypatch.setattr(backend, "_NUM_THREADS", 3)
    monkeypatch.setattr(backend, "PARALLEL_MIN_WORK", 0)


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
    want = _taps._direct_taps(xp, np.outer(col, row), True, (1, 1))
    for plan in (("gemm", "gemm"), ("taps", "gemm"), ("gemm", "taps")):
        assert_close(S._separable(xp, col, row, True, plan, (1, 1)), want, dtype)
    assert_close(_toeplitz._direct_gemm(xp, np.outer(col, row), list(range(len(row)))), want, dtype)
    with backend.compiled(False):
        for method in ("direct", "separable"):
            assert_close(apply(image, KERNELS["gauss15x9"], method=method),
                         apply(image, KERNELS["gauss15x9"], method="fft"), dtype)


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


def test_filters_benchmark_runs_and_prints_a_ratio_table():
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "filters.py"
    done = subprocess.run([sys.executable, str(script), "--size", "128", "--repeat", "1", "--rounds", "1",
                           "--only", "Sobel"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "| Sobel 3x3 |" in done.stdout and "cv2.filter2D" in done.stdout
