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
import stat
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .._files import atomic_write
from .._validation import check_bool, check_int

__all__ = ["read_idx", "write_idx", "IDX_DTYPES", "MAX_IDX_BYTES"]

#: Default ``max_bytes`` of :func:`read_idx`: the most bytes of array data a header may declare,
#: 2 GiB (the MNIST training images are 47 MB). Larger declarations are refused before anything is
#: allocated, whether the header is corrupt or the file is a decompression bomb.
MAX_IDX_BYTES = 2**31

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
#: Data is read and inflated in pieces of this size.
_CHUNK = 1 << 20
#: How many bytes past the declared data a gzip stream is read to detect (and count) trailing bytes.
_TRAILING_PROBE = 1 << 16
_KNOWN = ", ".join(f"0x{code:02X} {dt.newbyteorder('=').name}" for code, dt in IDX_DTYPES.items())


def _as_path(path, fn: str) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{fn}: path expects a str or os.PathLike, but got {type(path).__name__}")
    return Path(path)


def _read_upto(f: BinaryIO, n: int) -> bytes:
    """Read ``n`` bytes from ``f``, fewer only where the stream ends (reads may come back short)."""
    parts, left = [], n
    while left > 0:
        part = f.read(min(left, _CHUNK))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _fill(f: BinaryIO, out: memoryview) -> int:
    """Read from ``f`` into ``out`` in chunks of at most ``_CHUNK`` bytes; return how many bytes came."""
    done = 0
    while done < len(out):
        got = f.readinto(out[done:done + _CHUNK])
        if not got:
            break
        done += got
    return done


def _decode_stream(f: BinaryIO, size: int | None, name: str, fn: str, max_bytes: int | None) -> np.ndarray:
    """Decode an uncompressed IDX stream, reading the header first and then at most what it declares.

    ``size`` is the stream's total length where it is known without reading it (a raw regular file,
    bytes in memory); the body's length is then checked before anything is allocated. Otherwise
    (a gzip stream) the body is read into a preallocated array, and at most ``_TRAILING_PROBE`` bytes
    beyond it are read to tell a complete stream from one with trailing data.
    """
    start = _read_upto(f, 4)
    if len(start) < 4:
        raise ValueError(f"{fn}: file {name!r} holds {len(start)} bytes, too few for the 4-byte IDX magic number")
    magic = start.hex()
    if start[0] != 0 or start[1] != 0:
        raise ValueError(f"{fn}: file {name!r} has magic number 0x{magic}, but an IDX magic number "
                         f"starts with two zero bytes (e.g. 0x00000803 for uint8 images)")
    code, ndim = start[2], start[3]
    if code not in IDX_DTYPES:
        raise ValueError(f"{fn}: file {name!r} has dtype code 0x{code:02X} (magic 0x{magic}), "
                         f"but IDX dtype codes are {_KNOWN}")
    if ndim < 1:
        raise ValueError(f"{fn}: file {name!r} declares 0 dimensions (magic 0x{magic}), but IDX expects at least 1")
    header = 4 + 4 * ndim
    raw_dims = _read_upto(f, 4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise ValueError(f"{fn}: file {name!r} declares {ndim} dimensions, which needs a {header}-byte header, "
                         f"but the file holds only {4 + len(raw_dims)} bytes")
    dims = tuple(int.from_bytes(raw_dims[i:i + 4], "big") for i in range(0, 4 * ndim, 4))
    dtype = IDX_DTYPES[code]
    per_item = dtype.itemsize
    for d in dims[1:]:
        per_item *= d                       # Python ints: 255 dimensions of 2**32 - 1 cannot overflow
    expected = dims[0] * per_item
    dtype_name = dtype.newbyteorder("=").name

    def mismatch(actual: int, stopped: bool = False) -> ValueError:
        if stopped:                                     # a stream read to the probe's end, and no further
            holds = f"more than {expected + _TRAILING_PROBE}"
            extra = f"has more than {_TRAILING_PROBE} extra bytes after the data (reading stopped there)"
        else:
            holds = actual
            extra = "is truncated" if actual < expected else f"has {actual - expected} extra bytes after the data"
        return ValueError(f"{fn}: file {name!r} declares {dims[0]} items of {per_item} bytes "
                          f"(shape {dims}, {dtype_name}) = {expected} bytes of data, "
                          f"but holds {holds} bytes of data: it {extra}")

    if max_bytes is not None and expected > max_bytes:
        raise ValueError(f"{fn}: file {name!r} declares shape {dims} of {dtype_name} = {expected} bytes of data, "
                         f"more than max_bytes={max_bytes}; refusing to read it (a corrupt header or a "
                         f"decompression bomb). Pass a larger max_bytes if you trust the file")
    try:                                    # a zero-stride view: checks ndim <= 64 and the size, allocates nothing
        np.broadcast_to(np.zeros((), np.uint8), dims)
    except ValueError as exc:
        raise ValueError(f"{fn}: file {name!r} declares shape {dims}, "
                         f"which a NumPy array cannot have ({exc})") from None
    if size is not None and size - header != expected:
        raise mismatch(size - header)
    # The data goes straight into the result, chunk by chunk: the declared size (at most max_bytes)
    # is reserved, and the operating system commits its pages only as the data arrives.
    body = np.empty(expected // dtype.itemsize, dtype=dtype.newbyteorder("="))
    got = _fill(f, memoryview(body.view(np.uint8)))
    if got < expected:
        raise mismatch(got)
    trailing = len(_read_upto(f, _TRAILING_PROBE + 1))
    if trailing:
        raise mismatch(expected + trailing, stopped=trailing > _TRAILING_PROBE)
    if not dtype.isnative:
        body.byteswap(inplace=True)         # the file's big-endian bytes -> native values, without a copy
    return body.reshape(dims)


def _decode_file(f: BinaryIO, compressed: bool, size: int | None, name: str, fn: str,
                 max_bytes: int | None) -> np.ndarray:
    """Decode an IDX file from the binary stream ``f``, through gzip when ``compressed``."""
    if not compressed:
        return _decode_stream(f, size, name, fn, max_bytes)
    try:
        with gzip.GzipFile(fileobj=f, mode="rb") as stream:
            return _decode_stream(stream, None, name, fn, max_bytes)
    except (OSError, EOFError, zlib.error) as exc:   # BadGzipFile is an OSError
        raise ValueError(f"{fn}: file {name!r} is not a valid gzip stream ({exc})") from None


def _check_max_bytes(max_bytes, fn: str) -> int | None:
    return None if max_bytes is None else check_int(max_bytes, "max_bytes", fn, minimum=0)


def decode_idx(raw: bytes, name: str, fn: str = "read_idx", *, max_bytes: int | None = MAX_IDX_BYTES) -> np.ndarray:
    """Decode the bytes of an IDX file (gzip-compressed or raw) into a native-endian array.

    ``name`` is how the file is called in error messages. :func:`read_idx` does the same for a
    file, streaming it from disk; this is separate so that package resources, which may not live
    on disk, can be decoded from memory. The header is checked before the body is touched, and a
    gzip stream is inflated only as far as the header declares (plus a small margin), so a small
    "gzip bomb" costs no more memory than its declared array; see :func:`read_idx` for
    ``max_bytes`` and the errors.
    """
    max_bytes = _check_max_bytes(max_bytes, fn)
    compressed = bytes(raw[:2]) == _GZIP_MAGIC
    return _decode_file(io.BytesIO(raw), compressed, None if compressed else len(raw), name, fn, max_bytes)


def read_idx(path: str | os.PathLike, *, max_bytes: int | None = MAX_IDX_BYTES) -> np.ndarray:
    """Read an IDX file, gzip-compressed or raw, into a NumPy array.

    The file is streamed: the header is read and checked first, and the body then goes straight
    into the result. A raw file's size is compared with the declared size before the body is
    read; a gzip stream is inflated only as far as the header declares plus
    ``_TRAILING_PROBE`` (64 KiB) bytes, enough to tell a complete stream from one with trailing
    data, so a few megabytes of gzip that would inflate to gigabytes are refused cheaply.

    Parameters
    ----------
    path : str or os.PathLike
        The file. Gzip is recognised by its magic bytes ``1f 8b``, whatever the file's name.
    max_bytes : int or None, optional
        Refuse files whose header declares more than this many bytes of data
        (``prod(dims) * itemsize``), before anything is allocated. Default :data:`MAX_IDX_BYTES`
        (2 GiB; the MNIST training images are 47 MB). ``None`` removes the limit: do that only for
        files you trust.

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
        code, at least one dimension), the header is cut short, the header declares more than
        ``max_bytes`` of data, or the body is not exactly ``prod(dims) * itemsize`` bytes
        (truncated, or with trailing bytes).
    TypeError
        If ``path`` is not a str or path-like, or ``max_bytes`` not an integer or None.
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        Also if ``path`` is a directory, FIFO, device or socket rather than a regular file.

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
    max_bytes = _check_max_bytes(max_bytes, "read_idx")
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"read_idx: no file at {path}") from None
    if not stat.S_ISREG(mode):                  # a FIFO would block the open forever
        from ..io.native import _file_kind

        raise ValueError(f"read_idx: path expects a regular IDX file, but {path} is {_file_kind(mode)}")
    with open(path, "rb") as f:
        info = os.fstat(f.fileno())
        compressed = f.peek(2)[:2] == _GZIP_MAGIC
        size = info.st_size if stat.S_ISREG(info.st_mode) and not compressed else None
        return _decode_file(f, compressed, size, str(path), "read_idx", max_bytes)


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

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from convscope.data import read_idx, write_idx
    >>> images = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    >>> path = write_idx(os.path.join(tempfile.mkdtemp(), "images-idx3-ubyte.gz"), images)
    >>> bool((read_idx(path) == images).all())
    True
    """
    path = _as_path(path, "write_idx")
    check_bool(compress, "compress", "write_idx")
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
