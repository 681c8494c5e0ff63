"""Read and write IDX files, the format MNIST and Fashion-MNIST are distributed in.

An IDX file is a big-endian header followed by the array body, row-major::

    bytes 0-1   two zero bytes
    byte  2     dtype code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64)
    byte  3     number of dimensions, ndim >= 1
    ndim x 4    each dimension as a big-endian uint32
    body        prod(dims) items of the dtype, big-endian

so the MNIST label files start ``00 00 08 01`` (magic 2049) and the image files ``00 00 08 03``
(magic 2051). Files are often gzip-compressed; :func:`read_idx` recognises gzip by its two magic
bytes ``1f 8b``, not by the file name.

Reference: Y. LeCun, C. Cortes, C. J. C. Burges, "The MNIST database of handwritten digits",
section "File formats for the MNIST database" (the IDX description).
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from pathlib import Path

import numpy as np

from .._files import atomic_write

__all__ = ["read_idx", "write_idx", "IDX_DTYPES"]

#: IDX dtype code -> big-endian NumPy dtype.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_OF = {dt.newbyteorder("="): code for code, dt in IDX_DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"
_KNOWN = ", ".join(f"0x{code:02X} {dt.newbyteorder('=').name}" for code, dt in IDX_DTYPES.items())


def _as_path(path, fn: str) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{fn}: path expects a str or os.PathLike, but got {type(path).__name__}")
    return Path(path)


def decode_idx(raw: bytes, name: str, fn: str = "read_idx") -> np.ndarray:
    """Decode the bytes of an IDX file (gzip-compressed or raw) into a native-endian array.

    ``name`` is how the file is called in error messages. :func:`read_idx` is this applied to a
    file's contents; it is separate so that package resources, which may not live on disk, can be
    decoded from memory.
    """
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:   # BadGzipFile is an OSError
            raise ValueError(f"{fn}: file {name!r} is not a valid gzip stream ({exc})") from None
    if len(raw) < 4:
        raise ValueError(f"{fn}: file {name!r} holds {len(raw)} bytes, too few for the 4-byte IDX magic number")
    magic = raw[:4].hex()
    if raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{fn}: file {name!r} has magic number 0x{magic}, but an IDX magic number "
                         f"starts with two zero bytes (e.g. 0x00000803 for uint8 images)")
    code, ndim = raw[2], raw[3]
    if code not in IDX_DTYPES:
        raise ValueError(f"{fn}: file {name!r} has dtype code 0x{code:02X} (magic 0x{magic}), "
                         f"but IDX dtype codes are {_KNOWN}")
    if ndim < 1:
        raise ValueError(f"{fn}: file {name!r} declares 0 dimensions (magic 0x{magic}), but IDX expects at least 1")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{fn}: file {name!r} declares {ndim} dimensions, which needs a {header}-byte header, "
                         f"but the file holds only {len(raw)} bytes")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    per_item = dtype.itemsize
    for d in dims[1:]:
        per_item *= d
    expected = dims[0] * per_item
    actual = len(raw) - header
    if actual != expected:
        extra = "is truncated" if actual < expected else f"has {actual - expected} extra bytes after the data"
        raise ValueError(f"{fn}: file {name!r} declares {dims[0]} items of {per_item} bytes "
                         f"(shape {dims}, {dtype.newbyteorder('=').name}) = {expected} bytes of data, "
                         f"but holds {actual} bytes of data: it {extra}")
    body = np.frombuffer(raw, dtype=dtype, count=expected // dtype.itemsize, offset=header)
    return body.astype(dtype.newbyteorder("="), copy=True).reshape(dims)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file, gzip-compressed or raw, into a NumPy array.

    Parameters
    ----------
    path : str or os.PathLike
        The file. Gzip is recognised by its magic bytes ``1f 8b``, whatever the file's name.

    Returns
    -------
    numpy.ndarray, shape ``dims`` from the header
        Native byte order, writable, of the dtype the header declares (uint8, int8, int16,
        int32, float32 or float64). MNIST images come back as uint8 ``(N, 28, 28)``, labels as
        uint8 ``(N,)``.

    Raises
    ------
    ValueError
        If the gzip stream is corrupt, the magic number is not IDX (two zero bytes, a known dtype
        code, at least one dimension), the header is cut short, or the body is not exactly
        ``prod(dims) * itemsize`` bytes (truncated, or with trailing bytes).
    TypeError
        If ``path`` is not a str or path-like.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from convscope.data import read_idx, write_idx
    >>> path = write_idx(os.path.join(tempfile.mkdtemp(), "x.idx.gz"), np.arange(6, dtype=np.int16).reshape(2, 3))
    >>> read_idx(path)
    array([[0, 1, 2],
           [3, 4, 5]], dtype=int16)
    """
    path = _as_path(path, "read_idx")
    return decode_idx(path.read_bytes(), str(path), "read_idx")


def encode_idx(array: np.ndarray, fn: str = "write_idx") -> bytes:
    """The raw (uncompressed) IDX bytes of ``array``; see :func:`write_idx` for the rules."""
    arr = np.asarray(array)
    code = _CODE_OF.get(arr.dtype.newbyteorder("=")) if arr.dtype.kind in "iuf" else None
    if code is None:
        raise TypeError(f"{fn}: array expects one of the IDX dtypes ({_KNOWN}), but got dtype {arr.dtype}")
    if arr.ndim < 1 or arr.ndim > 255:
        raise ValueError(f"{fn}: array expects 1 to 255 dimensions, but got {arr.ndim}")
    if any(d >= 2**32 for d in arr.shape):
        raise ValueError(f"{fn}: array dimensions must each be below 2**32, but got shape {arr.shape}")
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    return header + np.ascontiguousarray(arr, dtype=IDX_DTYPES[code]).tobytes()


def write_idx(path: str | os.PathLike, array, compress: bool = True) -> Path:
    """Write ``array`` as an IDX file, atomically.

    The bytes go to a temporary file in the same directory, which then replaces ``path`` with
    :func:`os.replace`, so readers never see a half-written file. With ``compress=True`` the file
    is gzip-compressed (level 9) with a zero timestamp and no stored name, so the same array
    always gives the same bytes (for a given zlib).

    Parameters
    ----------
    path : str or os.PathLike
        Destination; its directory must exist.
    array : array_like, shape (d0, d1, ...)
        At least one dimension; dtype uint8, int8, int16, int32, float32 or float64 (other dtypes
        are refused rather than silently converted).
    compress : bool, default True
        Gzip the file.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    TypeError
        If the dtype has no IDX code, or ``compress`` is not a bool.
    ValueError
        If ``array`` is 0-d or a dimension does not fit in a uint32.
    """
    path = _as_path(path, "write_idx")
    if not isinstance(compress, (bool, np.bool_)):
        raise TypeError(f"write_idx: compress expects a bool, but got {compress!r} ({type(compress).__name__})")
    data = encode_idx(array)
    if compress:
        buffer = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=buffer, mtime=0) as gz:
            gz.write(data)
        data = buffer.getvalue()
    atomic_write_bytes(path, data)
    return path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically; the directory must exist."""
    atomic_write(path, lambda f: f.write(data), parents=False)
