"""Kernels, references and tolerances shared by the filter tests (test_convolve, test_convolve_parity)."""

import numpy as np

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

