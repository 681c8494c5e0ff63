"""Test images for filters: synthetic patterns (always available) and sample photographs.

The patterns are built with NumPy alone and return ``uint8`` arrays of shape ``(H, W)``, black 0
and white 255, so they go straight into :func:`convscope.filters.convolve.apply` or
:func:`convscope.io.images.write_image`; divide by 255 for floats in [0, 1].

Angles follow image coordinates, as :func:`convscope.filters.display.gradient` does: x grows to
the right along columns, y grows *down* along rows, and an angle is measured from +x towards +y
(clockwise on the screen) in degrees. ``step_edge(angle=0)`` is dark on the left and bright on
the right; ``step_edge(angle=90)`` is dark at the top and bright at the bottom.

The sample photographs (:func:`sample_image`) are those shipped inside scikit-image's wheel,
so they work offline; they need the ``samples`` extra (``pip install 'convscope[samples]'``).

Every image has a name in :func:`available_images` (``'pattern:checkerboard'``,
``'sample:camera'``), which :func:`load_image` and the ``convscope apply`` command accept.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._validation import check_int, to_tuple

__all__ = [
    "checkerboard", "circles", "bars", "step_edge", "ramp", "impulse",
    "sample_image", "available_images", "load_image",
]


def _shape(size, fn: str) -> tuple[int, int]:
    return to_tuple(size, 2, "size", fn, minimum=1)


def _angle(angle, fn: str) -> float:
    if not isinstance(angle, numbers.Real) or isinstance(angle, bool) or not np.isfinite(angle):
        raise TypeError(f"{fn}: angle expects a finite number of degrees, but got {angle!r}")
    return float(angle)


def _along(shape: tuple[int, int], angle: float, *, centred: bool = True) -> np.ndarray:
    """Signed distance along the direction ``angle`` (y down) from the image centre (or from
    pixel (0, 0)), per pixel."""
    h, w = shape
    theta = np.deg2rad(angle)
    y = np.arange(h, dtype=np.float64)[:, None] - ((h - 1) / 2 if centred else 0)
    x = np.arange(w, dtype=np.float64)[None, :] - ((w - 1) / 2 if centred else 0)
    # Round away float noise (cos(90 deg) is 6e-17) so axis-aligned patterns are exact.
    c, s = np.round(np.cos(theta), 12), np.round(np.sin(theta), 12)
    return x * c + y * s


def _binary(mask: np.ndarray) -> np.ndarray:
    return np.where(mask, np.uint8(255), np.uint8(0))


def checkerboard(size=256, square: int = 32) -> np.ndarray:
    """Black and white squares, the top-left one black.

    Parameters
    ----------
    size : int or (int, int)
        Image side, or ``(height, width)``.
    square : int
        Side of each square in pixels.

    Returns
    -------
    numpy.ndarray
        uint8 ``(H, W)``: pixel ``(r, c)`` is 255 where ``r // square + c // square`` is odd,
        else 0.

    Examples
    --------
    >>> checkerboard(4, square=2)
    array([[  0,   0, 255, 255],
           [  0,   0, 255, 255],
           [255, 255,   0,   0],
           [255, 255,   0,   0]], dtype=uint8)
    """
    fn = "checkerboard"
    h, w = _shape(size, fn)
    square = check_int(square, "square", fn, minimum=1)
    rows = (np.arange(h) // square)[:, None]
    cols = (np.arange(w) // square)[None, :]
    return _binary((rows + cols) % 2 == 1)


def circles(size=256, width: int = 16) -> np.ndarray:
    """Concentric rings of alternating white and black around the image centre.

    Edges run in every direction, so the image shows how a filter responds to orientation.

    Parameters
    ----------
    size : int or (int, int)
        Image side, or ``(height, width)``.
    width : int
        Width of each ring in pixels (the central disc has radius ``width``).

    Returns
    -------
    numpy.ndarray
        uint8 ``(H, W)``: 255 where ``floor(r / width)`` is even, r being the distance from the
        centre ``((H - 1) / 2, (W - 1) / 2)``; else 0. The central disc is white.

    Examples
    --------
    >>> img = circles(64, width=8)
    >>> img[32, 32], img[32, 32 + 12]
    (np.uint8(255), np.uint8(0))
    """
    fn = "circles"
    h, w = _shape(size, fn)
    width = check_int(width, "width", fn, minimum=1)
    y = np.arange(h, dtype=np.float64)[:, None] - (h - 1) / 2
    x = np.arange(w, dtype=np.float64)[None, :] - (w - 1) / 2
    return _binary((np.floor(np.hypot(x, y) / width) % 2) == 0)


def bars(size=256, width: int = 8, angle: float = 0) -> np.ndarray:
    """Parallel stripes, alternating white and black, each ``width`` pixels across.

    Parameters
    ----------
    size : int or (int, int)
        Image side, or ``(height, width)``.
    width : int
        Width of each stripe in pixels, measured across the stripes.
    angle : float
        Direction *across* the stripes in degrees (y down): 0 gives vertical bars (the
        intensity alternates along x), 90 horizontal bars, 45 diagonal ones.

    Returns
    -------
    numpy.ndarray
        uint8 ``(H, W)``: pixel ``(r, c)`` is 255 where ``floor(u / width)`` is even, with
        ``u = c cos(angle) + r sin(angle)``; so the stripe at pixel (0, 0) is white.

    Examples
    --------
    >>> bars(4, width=1)
    array([[255,   0, 255,   0],
           [255,   0, 255,   0],
           [255,   0, 255,   0],
           [255,   0, 255,   0]], dtype=uint8)
    """
    fn = "bars"
    shape = _shape(size, fn)
    width = check_int(width, "width", fn, minimum=1)
    u = _along(shape, _angle(angle, fn), centred=False)
    return _binary(np.floor(u / width) % 2 == 0)


def step_edge(size=256, angle: float = 0) -> np.ndarray:
    """One straight edge through the centre: black before it, white after it along ``angle``.

    Parameters
    ----------
    size : int or (int, int)
        Image side, or ``(height, width)``.
    angle : float
        Direction in degrees (y down) in which the intensity steps up: 0 is black on the left
        and white on the right, 90 black on top and white below. The gradient of the edge
        points along ``angle``.

    Returns
    -------
    numpy.ndarray
        uint8 ``(H, W)``: 255 where the signed distance from the centre along ``angle`` is >= 0.

    Examples
    --------
    >>> step_edge(4)
    array([[  0,   0, 255, 255],
           [  0,   0, 255, 255],
           [  0,   0, 255, 255],
           [  0,   0, 255, 255]], dtype=uint8)
    """
    fn = "step_edge"
    shape = _shape(size, fn)
    return _binary(_along(shape, _angle(angle, fn)) >= 0)


def ramp(size=256, angle: float = 0) -> np.ndarray:
    """A linear intensity ramp from 0 to 255 along ``angle``.

    Parameters
    ----------
    size : int or (int, int)
        Image side, or ``(height, width)``.
    angle : float
        Direction in degrees (y down) in which the intensity increases: 0 is dark on the left,
        bright on the right.

    Returns
    -------
    numpy.ndarray
        uint8 ``(H, W)``: the distance along ``angle`` mapped linearly so that the darkest
        corner or side is 0 and the brightest 255, rounded.

    Examples
    --------
    >>> ramp((1, 6))
    array([[  0,  51, 102, 153, 204, 255]], dtype=uint8)
    """
    fn = "ramp"
    shape = _shape(size, fn)
    u = _along(shape, _angle(angle, fn))
    span = u.max() - u.min()
    if span == 0:
        return np.zeros(shape, np.uint8)
    return np.rint((u - u.min()) * (255 / span)).astype(np.uint8)


def impulse(size=256) -> np.ndarray:
    """A single white pixel at ``(H // 2, W // 2)`` on black.

    Filtering an impulse shows the kernel itself: cross-correlation (what
    :func:`convscope.filters.convolve.apply` computes) reproduces the kernel rotated by 180
    degrees around the pixel, true convolution reproduces it as written.

    Parameters
    ----------
    size : int or (int, int)
        Image side, or ``(height, width)``.

    Returns
    -------
    numpy.ndarray
        uint8 ``(H, W)``, 255 at the centre and 0 elsewhere.

    Examples
    --------
    >>> impulse(3)
    array([[  0,   0,   0],
           [  0, 255,   0],
           [  0,   0,   0]], dtype=uint8)
    """
    h, w = _shape(size, "impulse")
    out = np.zeros((h, w), np.uint8)
    out[h // 2, w // 2] = 255
    return out


_PATTERNS = {
    "checkerboard": (checkerboard, "black and white squares (size=256, square=32)"),
    "circles": (circles, "concentric black and white rings (size=256, width=16)"),
    "bars": (bars, "parallel stripes (size=256, width=8, angle=0 gives vertical bars)"),
    "step_edge": (step_edge, "one edge, dark to bright along angle (size=256, angle=0: left to right)"),
    "ramp": (ramp, "linear ramp 0..255 along angle (size=256, angle=0: left to right)"),
    "impulse": (impulse, "one white pixel at the centre (size=256): shows a kernel"),
}

# name -> (skimage.data function, description); only images inside scikit-image's wheel.
_SAMPLES = {
    "camera": ("camera", "cameraman, grayscale 512x512"),
    "astronaut": ("astronaut", "astronaut Eileen Collins, colour 512x512"),
    "coins": ("coins", "Greek coins, grayscale 303x384"),
    "moon": ("moon", "surface of the moon, grayscale 512x512"),
    "text": ("text", "handwritten text, grayscale 172x448"),
    "page": ("page", "scanned page of text, grayscale 191x384"),
    "clock": ("clock", "clock with motion blur, grayscale 300x400"),
    "brick": ("brick", "brick wall texture, grayscale 512x512"),
    "grass": ("grass", "grass texture, grayscale 512x512"),
    "gravel": ("gravel", "gravel texture, grayscale 512x512"),
    "cell": ("cell", "cell under a microscope, grayscale 660x550"),
    "microaneurysms": ("microaneurysms", "retina detail, grayscale 102x102"),
    "chelsea": ("chelsea", "Chelsea the cat, colour 300x451"),
    "coffee": ("coffee", "cup of coffee, colour 400x600"),
    "rocket": ("rocket", "rocket launch, colour 427x640"),
    "immunohistochemistry": ("immunohistochemistry", "stained tissue, colour 512x512"),
    "retina": ("retina", "human retina, colour 1411x1411"),
    "hubble_deep_field": ("hubble_deep_field", "Hubble deep field, colour 872x1000"),
}


def sample_image(name: str = "camera") -> np.ndarray:
    """A photograph from scikit-image's bundled data, as uint8 (needs the ``samples`` extra).

    Parameters
    ----------
    name : str
        One of the sample names in :func:`available_images` without the ``'sample:'`` prefix:
        camera, astronaut, coins, moon, text, page, clock, brick, grass, gravel, cell,
        microaneurysms, chelsea, coffee, rocket, immunohistochemistry, retina,
        hubble_deep_field. All ship inside scikit-image's wheel: nothing is downloaded.

    Returns
    -------
    numpy.ndarray
        uint8 ``(H, W)`` for grayscale photographs, ``(H, W, 3)`` for colour ones; a new array
        the caller may modify.

    Raises
    ------
    ValueError
        If ``name`` is not a sample name.
    ModuleNotFoundError
        If scikit-image is not installed (``pip install 'convscope[samples]'``).

    Examples
    --------
    >>> sample_image("camera").shape          # doctest: +SKIP
    (512, 512)
    """
    fn = "sample_image"
    if not isinstance(name, str) or name not in _SAMPLES:
        raise ValueError(f"{fn}: name expects one of {', '.join(_SAMPLES)}, but got {name!r}")
    try:
        from skimage import data as skdata
    except ImportError as exc:
        raise ModuleNotFoundError(
            f"{fn}: the sample photographs come from scikit-image; install it with "
            "pip install 'convscope[samples]' (the synthetic patterns need nothing)") from exc
    image = np.array(getattr(skdata, _SAMPLES[name][0])())
    if image.dtype == np.bool_:                   # pragma: no cover - none of the listed ones is
        image = image.astype(np.uint8) * 255
    return image.astype(np.uint8, copy=False)


def available_images() -> dict[str, str]:
    """Names of the built-in images with a one-line description each.

    Returns
    -------
    dict[str, str]
        ``'pattern:NAME'`` for each synthetic pattern (always available) and ``'sample:NAME'``
        for each photograph (needs scikit-image), in that order.

    Examples
    --------
    >>> names = available_images()
    >>> "pattern:checkerboard" in names, "sample:camera" in names
    (True, True)
    """
    out = {f"pattern:{k}": desc for k, (_, desc) in _PATTERNS.items()}
    out.update({f"sample:{k}": f"{desc} (needs convscope[samples])" for k, (_, desc) in _SAMPLES.items()})
    return out


def load_image(name: str, **kwargs) -> np.ndarray:
    """A built-in image by its name in :func:`available_images`.

    Parameters
    ----------
    name : str
        ``'pattern:NAME'`` or ``'sample:NAME'``.
    **kwargs
        Keyword arguments for the pattern function, e.g. ``square=16`` for the checkerboard
        (samples take none).

    Returns
    -------
    numpy.ndarray
        uint8 ``(H, W)`` or ``(H, W, 3)``.

    Raises
    ------
    ValueError
        If the name is unknown, or keyword arguments are given for a sample.
    TypeError
        If a keyword argument is not one the pattern takes.

    Examples
    --------
    >>> load_image("pattern:checkerboard", size=64, square=8).shape
    (64, 64)
    """
    fn = "load_image"
    kind, _, key = name.partition(":") if isinstance(name, str) else ("", "", "")
    if kind == "pattern" and key in _PATTERNS:
        pattern = _PATTERNS[key][0]
        try:
            return pattern(**kwargs)
        except TypeError as exc:
            if "unexpected keyword" not in str(exc):
                raise
            import inspect

            accepted = ", ".join(inspect.signature(pattern).parameters)
            raise TypeError(f"{fn}: {name} accepts {accepted}, but got "
                            f"{', '.join(sorted(kwargs))}") from None
    if kind == "sample" and key in _SAMPLES:
        if kwargs:
            raise ValueError(f"{fn}: {name} takes no arguments, but got {', '.join(sorted(kwargs))}")
        return sample_image(key)
    raise ValueError(f"{fn}: name expects one of {', '.join(available_images())}, but got {name!r}")
