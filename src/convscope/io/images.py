"""Reading and writing PNG and JPEG images as uint8 NumPy arrays (needs the ``images`` extra: Pillow).

An image is a ``uint8`` array of shape ``(H, W)`` (grayscale), ``(H, W, 3)`` (RGB) or
``(H, W, 4)`` (RGB with alpha), row 0 at the top, as Pillow, OpenCV (after BGR -> RGB),
scikit-image and Matplotlib hold them.

Reading is guarded: a file whose header declares more than ``max_pixels`` pixels, or pixel data
of more than ``max_bytes`` bytes, is refused before any pixel data is decoded (a "decompression
bomb": a few kilobytes of PNG can declare a picture of billions of pixels); only regular files
are opened (a FIFO would block the read forever, a device could stream without end); and a
truncated or corrupt file is a ``ValueError`` naming the file, not a traceback from inside Pillow.

Writing is atomic and never overwrites an existing file unless asked: the encoded image goes to a
temporary file in the same directory, which is then linked or renamed into place, so a crash
leaves either no file or the complete one.

Pillow is imported when a function is called, so ``import convscope`` works without it.
"""

from __future__ import annotations

import io
import os
import re
import stat
import struct
import threading
import warnings
import zlib
from pathlib import Path

import numpy as np

from .._validation import check_int
from .._files import atomic_write
from .native import _file_kind

__all__ = ["read_image", "write_image", "DEFAULT_MAX_PIXELS", "DEFAULT_MAX_BYTES"]

#: Default limit for :func:`read_image`: 64 megapixels (an 8192 x 8192 image), 192 MiB as RGB.
DEFAULT_MAX_PIXELS = 64 * 1024 * 1024
#: Default bound on the bytes of pixel data :func:`read_image` lets Pillow decode (height x width x
#: bands x bytes per band, from the header): 1 GiB. Within the default pixel limit no file reaches
#: it (Pillow's modes take at most 4 bytes a pixel); it still holds when ``max_pixels`` is raised.
DEFAULT_MAX_BYTES = 2**30

#: File suffixes :func:`write_image` understands, and the Pillow format each selects.
SUFFIXES = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}

_MODES = (None, "L", "RGB", "RGBA")
# Pillow's pixel limit is a module global; reads hold this lock while they change it.
_PIL_LIMIT_LOCK = threading.Lock()
_GRAY_MODES = {"1", "L", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"}
_ALPHA_MODES = {"RGBA", "LA", "La", "RGBa", "PA"}
_JPEG_QUALITY = 95
_EXIF_ORIENTATION = 0x0112


def _pillow(fn: str):
    """Import Pillow's ``Image`` module, or say which extra provides it."""
    try:
        from PIL import Image
    except ImportError as exc:
        raise ModuleNotFoundError(
            f"{fn}: reading and writing image files needs Pillow; install it with "
            "pip install 'convscope[images]'") from exc
    return Image


def _to_uint8_gray(img) -> np.ndarray:
    """(H, W) uint8 from a single-band Pillow image of any depth."""
    if img.mode in ("1", "L"):
        return np.array(img.convert("L"), dtype=np.uint8)
    values = np.array(img, dtype=np.float64)          # 16-bit or 32-bit integer, or float
    if img.mode.startswith("I;16") or (img.mode == "I" and values.size and values.max() > 255):
        values = values / 257.0                         # 0..65535 -> 0..255
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _decode(img, mode: str | None) -> np.ndarray:
    """Convert an opened, loaded Pillow image to a uint8 array in the requested mode."""
    if img.mode == "P":                                 # palette: expand, keeping transparency
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in _GRAY_MODES:
        gray = _to_uint8_gray(img)
        if mode in (None, "L"):
            return gray
        planes = [gray] * 3 + ([np.full_like(gray, 255)] if mode == "RGBA" else [])
        return np.stack(planes, axis=-1)
    if mode is None:
        mode = "RGBA" if img.mode in _ALPHA_MODES else "RGB"
    if mode == "L":
        # ITU-R BT.601 luma, L = 0.299 R + 0.587 G + 0.114 B; alpha is dropped.
        return np.array(img.convert("RGB").convert("L"), dtype=np.uint8)
    return np.array(img.convert(mode), dtype=np.uint8)


def _decoded_bytes(img) -> tuple[int, int, int]:
    """(bands, bytes per band, total bytes) of the pixel data Pillow will decode for ``img``."""
    from PIL import ImageMode

    try:
        info = ImageMode.getmode(img.mode)
        bands, per_band = len(info.bands), np.dtype(info.typestr).itemsize
    except (KeyError, TypeError, ValueError):          # a mode Pillow cannot describe: assume the widest
        bands, per_band = 4, 4
    width, height = img.size
    return bands, per_band, width * height * bands * per_band


def _open_regular(path: Path, fn: str):
    """Open ``path`` for binary reading if it is a regular file; raise naming what it is otherwise.

    The file is opened without blocking and checked again through its descriptor, so a FIFO
    swapped in after the first check cannot hang the read either.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{fn}: no file at {path}") from None
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(f"{fn}: path expects a regular image file, but {path} is a directory")
    if not stat.S_ISREG(mode):
        raise ValueError(f"{fn}: path expects a regular image file, but {path} is {_file_kind(mode)}")
    nonblocking = getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0) | nonblocking)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise ValueError(f"{fn}: path expects a regular image file, but {path} is {_file_kind(mode)}")
        if nonblocking:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_image(path, *, mode: str | None = None, max_pixels: int | None = DEFAULT_MAX_PIXELS,
               max_bytes: int | None = DEFAULT_MAX_BYTES) -> np.ndarray:
    """Read an image file (PNG, JPEG, or anything else Pillow opens) into a uint8 array.

    Parameters
    ----------
    path : str or os.PathLike
        The file to read.
    mode : {None, 'L', 'RGB', 'RGBA'}, optional
        ``None`` (default) keeps the file's kind: grayscale files give ``(H, W)``, colour files
        ``(H, W, 3)``, colour files with transparency ``(H, W, 4)``. ``'L'`` converts to grayscale
        with the ITU-R BT.601 luma weights (0.299 R + 0.587 G + 0.114 B, alpha dropped);
        ``'RGB'`` and ``'RGBA'`` convert to colour. 16-bit images are scaled to 8 bits
        (``v / 257``, rounded); palette images are expanded.
    max_pixels : int or None, optional
        Refuse images with more than this many pixels (height x width), checked from the header
        before any pixel data is decoded. Default :data:`DEFAULT_MAX_PIXELS` (64 megapixels).
        ``None`` removes the limit: do that only for files you trust.
    max_bytes : int or None, optional
        Refuse images whose pixel data, as Pillow decodes it, would take more than this many
        bytes (height x width x bands x bytes per band: 4 for an RGBA file, 2 for a 16-bit
        grayscale one), checked from the header like ``max_pixels``. Default
        :data:`DEFAULT_MAX_BYTES` (1 GiB). ``None`` removes the limit.

    Returns
    -------
    numpy.ndarray
        uint8, ``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)``, row 0 at the top. JPEG files whose
        EXIF data says the camera was rotated are turned upright.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    IsADirectoryError
        If ``path`` is a directory.
    ValueError
        If ``path`` is not a regular file (a FIFO, a device, a socket); the file is not an image,
        is truncated or corrupt, or has more than ``max_pixels`` pixels or ``max_bytes`` bytes of
        pixel data; if ``mode`` is not one of the above.
    TypeError
        If ``max_pixels`` or ``max_bytes`` is not an integer or None.
    ModuleNotFoundError
        If Pillow is not installed (``pip install 'convscope[images]'``).

    Notes
    -----
    Pillow keeps its decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``) in a module
    global; this function sets it to ``max_pixels`` for the duration of the read and restores
    it afterwards, holding a lock, so concurrent ``read_image`` calls in threads run one at a time.

    Examples
    --------
    >>> from convscope.io.images import read_image, write_image   # doctest: +SKIP
    >>> write_image("square.png", np.full((4, 6), 200, np.uint8))  # doctest: +SKIP
    >>> read_image("square.png").shape                             # doctest: +SKIP
    (4, 6)
    """
    fn = "read_image"
    if mode not in _MODES:
        raise ValueError(f"{fn}: mode expects None, 'L', 'RGB' or 'RGBA', but got {mode!r}")
    if max_pixels is not None:
        max_pixels = check_int(max_pixels, "max_pixels", fn, minimum=1)
    if max_bytes is not None:
        max_bytes = check_int(max_bytes, "max_bytes", fn, minimum=1)
    path = Path(path)
    f = _open_regular(path, fn)             # the path's errors come first, whether Pillow is there or not
    try:
        Image = _pillow(fn)
        from PIL import ImageOps, UnidentifiedImageError
    except BaseException:
        f.close()
        raise

    with f, _PIL_LIMIT_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = max_pixels
        try:
            try:
                img = Image.open(f)
            except UnidentifiedImageError as exc:
                raise ValueError(f"{fn}: {path} is not an image file that Pillow can read") from exc
            with img:
                width, height = img.size
                if max_pixels is not None and width * height > max_pixels:
                    raise ValueError(_too_big(fn, path, width, height, max_pixels))
                bands, per_band, decoded = _decoded_bytes(img)
                if max_bytes is not None and decoded > max_bytes:
                    raise ValueError(f"{fn}: {path} is {width} x {height} pixels of {bands} band(s) of {per_band} "
                                     f"byte(s) ({img.mode}) = {decoded:,} bytes of pixel data, more than "
                                     f"max_bytes={max_bytes:,}; refusing to decode it (a possible decompression "
                                     "bomb). Pass a larger max_bytes if you trust the file")
                img.load()
                if img.getexif().get(_EXIF_ORIENTATION, 1) != 1:
                    img = ImageOps.exif_transpose(img)
                return _decode(img, mode)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            found = re.search(r"\((\d+) pixels\)", str(exc))     # Pillow names the size it saw
            size = f"{int(found.group(1)):,} pixels" if found else "more pixels than that"
            raise ValueError(f"{fn}: {path} declares an image of {size}, more than max_pixels={max_pixels:,}; "
                             "refusing to decode it (a possible decompression bomb). "
                             "Pass a larger max_pixels if you trust the file") from exc
        except (OSError, SyntaxError, EOFError, struct.error, zlib.error, IndexError, ValueError) as exc:
            if isinstance(exc, ValueError) and str(exc).startswith(f"{fn}:"):
                raise
            raise ValueError(f"{fn}: {path} is truncated or corrupt and cannot be decoded "
                             f"({type(exc).__name__}: {exc})") from exc
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _too_big(fn: str, path: Path, width: int, height: int, max_pixels: int) -> str:
    return (f"{fn}: {path} is {width} x {height} = {width * height:,} pixels, more than "
            f"max_pixels={max_pixels:,}; refusing to decode it (a possible decompression bomb). "
            "Pass a larger max_pixels if you trust the file")


def _check_image_array(array, fn: str) -> np.ndarray:
    arr = np.asarray(array)
    if arr.dtype == np.bool_:
        raise TypeError(f"{fn}: array expects dtype uint8, but got bool; pass array.astype(np.uint8) * 255")
    if arr.dtype != np.uint8:
        hint = ("call convscope.filters.display.to_display(array) first to map it to 0..255"
                if arr.dtype.kind in "fiu" else "pass uint8 pixel values")
        raise TypeError(f"{fn}: array expects dtype uint8, but got {arr.dtype}; {hint}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (3, 4))):
        raise ValueError(f"{fn}: array expects shape (H, W), (H, W, 3) or (H, W, 4), but got {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{fn}: array expects a non-empty image, but got shape {arr.shape}")
    return arr


def write_image(path, array, *, overwrite: bool = False) -> Path:
    """Write a uint8 image array to a PNG or JPEG file, atomically, chosen by the suffix.

    Parameters
    ----------
    path : str or os.PathLike
        Target file; its suffix picks the format: ``.png``, or ``.jpg`` / ``.jpeg`` (quality 95,
        lossy). Missing parent folders are created.
    array : array_like
        uint8 of shape ``(H, W)`` (grayscale; ``(H, W, 1)`` is accepted too), ``(H, W, 3)`` (RGB)
        or ``(H, W, 4)`` (RGBA; PNG only, JPEG has no alpha channel). Float results of a filter
        must first be mapped to 0..255 with :func:`convscope.filters.display.to_display`.
    overwrite : bool, optional
        Replace an existing file at ``path``. Default False: an existing file is an error and is
        left untouched.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    TypeError
        If ``array`` is not uint8 (float arrays: call ``to_display`` first).
    ValueError
        If the suffix is not one of the above, the shape is not an image's, or an alpha channel
        is to be written as JPEG.
    ModuleNotFoundError
        If Pillow is not installed (``pip install 'convscope[images]'``).

    Notes
    -----
    The encoded file is written to a temporary file in the same folder, flushed to disk, and
    then put in place: with ``overwrite=False`` by a hard link, which fails if another process
    created ``path`` meanwhile (or, where the file system has no hard links, by a rename after
    checking that ``path`` does not exist); with ``overwrite=True`` by :func:`os.replace`.
    Either way a reader never sees half a file.

    Examples
    --------
    >>> write_image("out.png", np.zeros((8, 8), np.uint8))                  # doctest: +SKIP
    >>> write_image("out.png", np.zeros((8, 8), np.uint8), overwrite=True)  # doctest: +SKIP
    """
    fn = "write_image"
    path = Path(path)
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{fn}: path expects a suffix in {', '.join(SUFFIXES)} to choose the format, "
                         f"but got {path.name!r}")
    arr = _check_image_array(array, fn)
    if fmt == "JPEG" and arr.ndim == 3 and arr.shape[2] == 4:
        raise ValueError(f"{fn}: JPEG has no alpha channel, but array has shape {arr.shape}; "
                         "write a .png, or pass array[..., :3]")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{fn}: {path} exists; pass overwrite=True (--force on the command line) "
                              "to replace it")
    Image = _pillow(fn)
    buffer = io.BytesIO()
    options = {"quality": _JPEG_QUALITY} if fmt == "JPEG" else {}
    Image.fromarray(np.ascontiguousarray(arr)).save(buffer, format=fmt, **options)
    data = buffer.getvalue()
    atomic_write(path, lambda f: f.write(data), overwrite=overwrite, fn=fn)
    return path
