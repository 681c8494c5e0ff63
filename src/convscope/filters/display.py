"""Turning filter outputs into pictures: float maps to uint8, and gradient magnitude/orientation.

A filtered image is a float array with any range: an edge filter gives signed values, a blur keeps
0..255, a sharpening kernel overshoots. :func:`to_display` maps it to ``uint8`` for
:func:`convscope.io.images.write_image` or a screen. :func:`gradient` combines an x/y derivative
pair into the edge strength and direction at every pixel.
"""

from __future__ import annotations

import numpy as np

from .._validation import as_float_array, check_choice

__all__ = ["to_display", "auto_method", "gradient", "luminance", "DISPLAY_METHODS", "GRADIENT_KINDS"]

DISPLAY_METHODS = ("abs", "clip", "rescale")
GRADIENT_KINDS = ("sobel", "prewitt", "scharr")
# ITU-R BT.601 luma weights for R, G, B (the same as Pillow's convert("L")).
_BT601 = np.array([0.299, 0.587, 0.114])


def auto_method(kernels) -> tuple[str, str]:
    """The :func:`to_display` method that suits the result of filtering with ``kernels``, and why.

    ``'abs'`` when a kernel sums to 0 (signed responses: edges, Laplacians), ``'clip'`` when every
    kernel sums to 1 (blurs and sharpening keep the image's range), ``'rescale'`` otherwise.

    Examples
    --------
    >>> auto_method([np.array([[-1.0, 0.0, 1.0]])])[0], auto_method([np.full((3, 3), 1 / 9)])[0]
    ('abs', 'clip')
    """
    sums = [(float(np.sum(k)), float(np.abs(k).sum())) for k in kernels]
    if any(abs(total) <= 1e-9 * max(size, 1.0) for total, size in sums):
        return "abs", "a zero-sum kernel gives signed responses: |response| scaled to 0..255"
    if all(abs(total - 1.0) <= 1e-6 for total, _ in sums):
        return "clip", "kernels summing to 1 keep the image's range: values clipped to 0..255"
    return "rescale", "min..max scaled to 0..255"


def to_display(array, method: str = "rescale") -> np.ndarray:
    """Map an array of any real values to ``uint8`` 0..255 for viewing or saving.

    Parameters
    ----------
    array : array_like
        Real values of any shape, e.g. ``(H, W)`` or ``(H, W, C)``. The mapping is computed over
        the whole array (all channels together), so colours keep their balance.
    method : {'rescale', 'abs', 'clip'}
        - ``'rescale'`` (default): min -> 0 and max -> 255 linearly. A constant array has no
          range to stretch and maps to all zeros (black).
        - ``'abs'``: ``|x|``, then 0 -> 0 and the largest ``|x|`` -> 255. The natural view of a
          signed response (edge, Laplacian): strong responses of either sign are bright and
          flat regions black. An all-zero array maps to all zeros.
        - ``'clip'``: values as they are, clipped to [0, 255]. Right for kernels that keep the
          image's range (blurs, sharpening of a 0..255 image), wrong for tiny or signed values.

        Values are rounded to the nearest integer (halves to even).

    Returns
    -------
    numpy.ndarray
        uint8, the same shape as ``array``.

    Raises
    ------
    ValueError
        If ``method`` is unknown, or ``array`` holds NaN or infinity.
    TypeError
        If ``array`` is not real numbers.

    Examples
    --------
    >>> to_display(np.array([[-2.0, 0.0, 2.0]]))
    array([[  0, 128, 255]], dtype=uint8)
    >>> to_display(np.array([[-2.0, 0.0, 1.0]]), "abs")
    array([[255,   0, 128]], dtype=uint8)
    >>> to_display(np.array([[-20.0, 100.0, 300.0]]), "clip")
    array([[  0, 100, 255]], dtype=uint8)
    """
    fn = "to_display"
    if method not in DISPLAY_METHODS:
        raise ValueError(f"{fn}: method expects one of {', '.join(map(repr, DISPLAY_METHODS))}, "
                         f"but got {method!r}")
    values = as_float_array(array, "array", fn).astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{fn}: array expects finite values, but got "
                         f"{int(np.sum(~np.isfinite(values)))} NaN or infinite entries")
    if values.size == 0:
        return np.zeros(values.shape, np.uint8)
    if method == "clip":
        scaled = values
    elif method == "abs":
        values = np.abs(values)
        top = values.max()
        scaled = values * 255.0 / top if top > 0 else np.zeros_like(values)
    else:
        low, high = values.min(), values.max()
        scaled = (values - low) * 255.0 / (high - low) if high > low else np.zeros_like(values)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def luminance(image) -> np.ndarray:
    """Grayscale version of an image: ITU-R BT.601 luma ``0.299 R + 0.587 G + 0.114 B``.

    Parameters
    ----------
    image : array_like
        ``(H, W)`` (returned as float64 unchanged), ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)``
        (alpha ignored).

    Returns
    -------
    numpy.ndarray
        float64 ``(H, W)`` in the units of the input (0..255 for uint8).

    Examples
    --------
    >>> luminance(np.array([[[255, 0, 0], [0, 0, 255]]], np.uint8))
    array([[76.245, 29.07 ]])
    """
    fn = "luminance"
    img = as_float_array(image, "image", fn).astype(np.float64)
    if img.ndim == 2:
        return img
    if img.ndim == 3 and img.shape[2] == 1:
        return img[:, :, 0]
    if img.ndim == 3 and img.shape[2] in (3, 4):
        return img[:, :, :3] @ _BT601
    raise ValueError(f"{fn}: image expects shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), "
                     f"but got {img.shape}")


def _unit_derivative(kernel: np.ndarray, axis: int) -> np.ndarray:
    """Scale ``kernel`` so that cross-correlating it with ``I = t`` (t the coordinate along
    ``axis``, increasing right for axis 1 and down for axis 0) gives exactly 1.

    This fixes both the sign convention (some texts write Sobel-x as ``[1, 0, -1]``, others as
    ``[-1, 0, 1]``) and the gain (8 for Sobel, 6 for Prewitt, 32 for Scharr), so the result
    estimates the derivative in intensity units per pixel.
    """
    offsets = np.arange(kernel.shape[axis], dtype=np.float64) - (kernel.shape[axis] - 1) / 2
    response = np.sum(kernel * np.expand_dims(offsets, 1 - axis))
    if response == 0:
        raise ValueError(f"gradient: the {'x' if axis == 1 else 'y'} kernel expects a derivative along "
                         f"{'x' if axis == 1 else 'y'}, but it does not respond to a ramp:\n{kernel}")
    return kernel / response


def gradient(image, kind: str = "sobel", *, boundary: str = "reflect") -> tuple[np.ndarray, np.ndarray]:
    """Gradient magnitude and orientation (degrees) of an image from an x/y derivative pair.

    The x and y derivatives are cross-correlations with the registry's ``f"{kind}_x"`` and
    ``f"{kind}_y"`` kernels, each rescaled so that it estimates the derivative in intensity units
    per pixel with a fixed sign: ``gx > 0`` where the image gets brighter to the right, ``gy > 0``
    where it gets brighter *downwards* (image coordinates: row index = y, growing down).

    Parameters
    ----------
    image : array_like
        ``(H, W)`` grayscale, or ``(H, W, 3)`` / ``(H, W, 4)`` colour, which is first converted
        to luminance (:func:`luminance`, BT.601 weights; alpha ignored): one gradient per pixel,
        not one per channel.
    kind : {'sobel', 'prewitt', 'scharr'}
        The derivative pair.
    boundary : str
        How the image is extended past its border, passed to
        :func:`convscope.filters.convolve.apply` (default ``'reflect'``, under which a flat
        border gives no spurious edge).

    Returns
    -------
    magnitude : numpy.ndarray
        float64 ``(H, W)``, ``hypot(gx, gy)`` in intensity units per pixel: a ramp rising by
        ``a`` per pixel has magnitude ``a``. (OpenCV's ``cv2.Sobel`` reports 8 times this for
        Sobel, 32 times for Scharr; Prewitt's raw gain is 6.)
    orientation : numpy.ndarray
        float64 ``(H, W)``, ``degrees(atan2(gy, gx))`` in ``(-180, 180]``: the direction in which
        the intensity increases. 0 = brighter to the right, 90 = brighter downwards, -90 =
        brighter upwards, 180 = brighter to the left (clockwise on screen, as y points down).
        Where the magnitude is 0 the orientation is 0.

    Raises
    ------
    ValueError
        If ``kind`` is unknown or ``image`` is not an image's shape.

    Examples
    --------
    >>> ramp = np.tile(np.arange(8.0), (8, 1))        # brighter by 1 per pixel to the right
    >>> mag, ang = gradient(ramp)
    >>> float(mag[4, 4]), float(ang[4, 4])
    (1.0, 0.0)
    >>> mag, ang = gradient(ramp.T)                    # brighter downwards
    >>> float(mag[4, 4]), float(ang[4, 4])
    (1.0, 90.0)
    """
    fn = "gradient"
    check_choice(kind, "kind", fn, GRADIENT_KINDS)
    from . import kernels
    from .convolve import apply

    gray = luminance(image)
    kx = _unit_derivative(np.asarray(kernels.get(f"{kind}_x"), dtype=np.float64), axis=1)
    ky = _unit_derivative(np.asarray(kernels.get(f"{kind}_y"), dtype=np.float64), axis=0)
    gx = np.asarray(apply(gray, kx, mode="same", boundary=boundary), dtype=np.float64)
    gy = np.asarray(apply(gray, ky, mode="same", boundary=boundary), dtype=np.float64)
    magnitude = np.hypot(gx, gy)
    orientation = np.degrees(np.arctan2(gy, gx))
    orientation[orientation <= -180.0] = 180.0          # atan2 gives -180 for gy = -0.0
    orientation[magnitude == 0] = 0.0
    return magnitude, orientation + 0.0                  # + 0.0 turns -0.0 into 0.0
