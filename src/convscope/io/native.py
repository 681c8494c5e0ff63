"""convscope's native file format: one ``.npz`` holding the arrays plus a JSON tree for the rest.

A saved object is a tree of dicts, lists, strings, numbers, bools, None and NumPy arrays (a model's
state dict, an optimizer's, the RNG state, the training history). Arrays are stored as ``.npy``
members; the tree, with each array replaced by a reference, is stored as JSON in the member
``__convscope__``. Loading never unpickles: a file cannot execute code.

Loading is bounded, so a hostile file (a "zip bomb": a few megabytes that inflate to gigabytes)
is refused before it costs memory. The JSON member may be at most :data:`MAX_META_BYTES`; only
the members the JSON names are read, and a file holding any other member is refused unread; each
member's declared size (``ZipInfo.file_size``) must agree with its ``.npy`` header's shape and
dtype, and all of them together may be at most ``max_bytes`` (default :data:`MAX_LOAD_BYTES`),
checked before any array is allocated; the data is then read in chunks, never past the declared
size, with the zip's CRC-32 checked at the end. Only stored and deflated members are accepted
(what :func:`numpy.savez` and :func:`numpy.savez_compressed` write).

Writes are atomic: the data goes to a temporary file in the same directory, is flushed to disk,
then renamed over the target, so a crash or a kill leaves either the old file or the new one,
never half of one. The zip container's CRC-32 checks catch corruption on load.
"""

from __future__ import annotations

import io
import json
import stat
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

from .._files import atomic_write
from .._validation import check_int

__all__ = ["save", "load", "save_state_dict", "load_state_dict", "MAX_LOAD_BYTES", "MAX_META_BYTES"]

FORMAT = "convscope"
VERSION = 1
_META = "__convscope__"

#: Default ``max_bytes`` of :func:`load`: the most bytes all arrays of a file may declare together,
#: 2 GiB (VGG-16's weights are 553 MB as float32; with SGD momentum, 1.1 GB).
MAX_LOAD_BYTES = 2**31
#: The most bytes the ``__convscope__`` member (the JSON tree, stored as a .npy of UTF-32 text) may
#: declare: 64 MiB, 16 million characters of JSON.
MAX_META_BYTES = 64 * 2**20
#: Array data is read in pieces of this size.
_CHUNK = 1 << 20
#: The .npy format versions read, and the size of their header-length field: 1.0 (what np.save
#: writes) and 2.0 (for headers over 64 KiB).
_NPY_VERSIONS = {(1, 0): 2, (2, 0): 4}
_NPY_MAGIC = b"\x93NUMPY"
#: The longest .npy header read (NumPy's own default limit for np.load).
_MAX_NPY_HEADER = 10_000
_COMPRESSIONS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


def _split(obj: Any, arrays: dict[str, np.ndarray], where: str) -> Any:
    """Replace every array in ``obj`` by a reference, collecting the arrays."""
    if isinstance(obj, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {"__array__": key}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, (str, int)):
                raise TypeError(f"save: {where} has a key of type {type(k).__name__}; expected str or int keys")
            out[str(k)] = _split(v, arrays, f"{where}.{k}")
        return out
    if isinstance(obj, (list, tuple)):
        return [_split(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (str, bool, int, float)):
        return obj
    raise TypeError(f"save: {where} holds a {type(obj).__name__}; expected dicts, lists, numbers, strings or arrays")


def _join(obj: Any, arrays) -> Any:
    if isinstance(obj, dict):
        if set(obj) == {"__array__"}:
            return arrays[obj["__array__"]]
        return {k: _join(v, arrays) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_join(v, arrays) for v in obj]
    return obj


def _references(obj: Any, found: set[str], path: Path) -> set[str]:
    """The array keys that the JSON tree ``obj`` refers to (``{"__array__": key}`` nodes)."""
    if isinstance(obj, dict):
        if set(obj) == {"__array__"}:
            key = obj["__array__"]
            if not isinstance(key, str):
                raise ValueError(f"load: {path} has an array reference {key!r} in its {_META} tree, "
                                 f"but references are member names (strings)")
            found.add(key)
        else:
            for v in obj.values():
                _references(v, found, path)
    elif isinstance(obj, list):
        for v in obj:
            _references(v, found, path)
    return found


def _file_kind(mode: int) -> str:
    """What a non-regular file is, for messages: 'a directory', 'a FIFO', ..."""
    kinds = [(stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")]
    return next((what for test, what in kinds if test(mode)), "not a regular file")


def _read_exact(f, n: int, where: str, what: str) -> bytes:
    """Exactly ``n`` bytes from the zip member ``f`` (which never yields past its declared size)."""
    data = f.read(n)
    if len(data) != n:
        raise ValueError(f"{where} ends inside its {what}; the file is truncated or corrupt")
    return data


def _npy_header(f, where: str) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """Parse a .npy header with bounded reads: (shape, fortran_order, dtype, header length in bytes)."""
    magic = _read_exact(f, len(_NPY_MAGIC) + 2, where, ".npy magic string")
    version = (magic[-2], magic[-1])
    if magic[:-2] != _NPY_MAGIC:
        raise ValueError(f"{where} expects a .npy array (starting {_NPY_MAGIC!r}), but starts {magic[:-2]!r}")
    if version not in _NPY_VERSIONS:
        raise ValueError(f"{where} is .npy version {version[0]}.{version[1]}, but convscope reads 1.0 and 2.0")
    length_field = _read_exact(f, _NPY_VERSIONS[version], where, ".npy header")
    length = int.from_bytes(length_field, "little")
    if length > _MAX_NPY_HEADER:
        raise ValueError(f"{where} declares a .npy header of {length} bytes, but convscope reads headers of at most "
                         f"{_MAX_NPY_HEADER}; the file is corrupt")
    header = _read_exact(f, length, where, ".npy header")
    read_header = (npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0)
    shape, fortran_order, dtype = read_header(io.BytesIO(length_field + header))
    return shape, fortran_order, dtype, len(magic) + len(length_field) + length


def _read_npy(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, limit: int | None, limit_name: str) -> np.ndarray:
    """Read one ``.npy`` member, checking its declared sizes before allocating and reading no further.

    ``limit`` (called ``limit_name`` in messages) bounds the member's declared size
    (``info.file_size``); the ``.npy`` header's shape and dtype must then account for exactly
    the bytes after the header. zipfile itself never inflates past ``file_size``, so a member
    whose zip entry understates its data ends in a CRC-32 error, not in a large read.
    """
    where = f"load: {path} member {info.filename!r}"
    if info.flag_bits & 0x1:
        raise ValueError(f"{where} is encrypted; convscope files never are")
    if info.compress_type not in _COMPRESSIONS:
        raise ValueError(f"{where} uses zip compression method {info.compress_type}, but convscope reads only "
                         f"stored (0) and deflated (8) members")
    if limit is not None and info.file_size > limit:
        raise ValueError(f"{where} declares {info.file_size} bytes, more than {limit_name}={limit}; refusing to "
                         f"read it (a corrupt file or a zip bomb)")
    with zf.open(info) as f:
        shape, fortran_order, dtype, header = _npy_header(f, where)
        if dtype.hasobject:
            raise ValueError(f"{where} holds Python objects (dtype {dtype}), which would need unpickling; "
                             f"convscope files hold only numbers, booleans and text")
        count = 1
        for d in shape:
            count *= d
        declared = count * dtype.itemsize
        if declared != info.file_size - header:
            raise ValueError(f"{where} declares shape {shape} of {dtype} = {declared} bytes in its .npy header, "
                             f"but its zip entry holds {info.file_size - header} bytes after the header; "
                             f"the file is corrupt")
        flat = np.ndarray(count, dtype=dtype)     # np.ndarray, not np.empty: zero-width strings need it
        if declared:
            out = memoryview(flat.view(np.uint8))
            for start in range(0, declared, _CHUNK):   # the CRC-32 is checked on the last piece
                out[start:start + _CHUNK] = _read_exact(f, min(_CHUNK, declared - start), where, "array data")
    return flat.reshape(shape[::-1]).transpose() if fortran_order else flat.reshape(shape)


def _load_zip(zf: zipfile.ZipFile, path: Path, kind: str | None, max_bytes: int | None) -> Any:
    """The body of :func:`load` once the zip's directory is open."""
    members: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        if info.filename in members:
            raise ValueError(f"load: {path} holds member {info.filename!r} twice; the file is corrupt")
        members[info.filename] = info
    meta_info = members.get(f"{_META}.npy")
    if meta_info is None:
        raise ValueError(f"load: {path} is not a convscope file (no {_META} member)")
    text = _read_npy(zf, meta_info, path, MAX_META_BYTES, "MAX_META_BYTES")
    if text.dtype.kind != "U" or text.shape != ():
        raise ValueError(f"load: {path} member {_META!r} expects a text scalar, but holds {text.dtype} {text.shape}")
    meta = json.loads(str(text[()]))
    if not isinstance(meta, dict) or "tree" not in meta:
        raise ValueError(f"load: {path} member {_META!r} expects a JSON object with a 'tree', but it is not one")
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise ValueError(f"load: {path} expects format {FORMAT!r} version {VERSION}, but has "
                         f"{meta.get('format')!r} version {meta.get('version')}")
    if kind is not None and meta.get("kind") != kind:
        raise ValueError(f"load: {path} expects a {kind}, but holds a {meta.get('kind')}")
    keys = sorted(_references(meta["tree"], set(), path))
    named = {f"{key}.npy": key for key in keys}
    unknown = sorted(set(members) - set(named) - {meta_info.filename})
    if unknown:
        shown = ", ".join(map(repr, unknown[:5])) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        raise ValueError(f"load: {path} holds member(s) {shown} that its {_META} tree does not name; a file written "
                         f"by save holds only the tree and the arrays it names, so this one is refused unread")
    missing = [name for name in named if name not in members]
    if missing:
        raise ValueError(f"load: {path} expects the array member(s) {', '.join(map(repr, missing))} that its "
                         f"{_META} tree names, but they are missing")
    total = sum(members[name].file_size for name in named)
    if max_bytes is not None and total > max_bytes:
        raise ValueError(f"load: {path} declares {total} bytes of arrays in {len(named)} member(s), more than "
                         f"max_bytes={max_bytes}; refusing to read them (a corrupt file or a zip bomb). "
                         f"Pass a larger max_bytes if you trust the file")
    arrays = {key: _read_npy(zf, members[name], path, max_bytes, "max_bytes") for name, key in named.items()}
    return _join(meta["tree"], arrays)


def save(path, obj: Any, kind: str = "object") -> Path:
    """Write ``obj`` (a tree of dicts, lists, scalars, strings and arrays) to ``path`` atomically.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from convscope.io import save, load
    >>> path = save(os.path.join(tempfile.mkdtemp(), "run.npz"), {"weights": [np.eye(2)], "note": "first"})
    >>> load(path)["note"], load(path)["weights"][0].shape
    ('first', (2, 2))
    """
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    tree = _split(obj, arrays, "obj")
    meta = json.dumps({"format": FORMAT, "version": VERSION, "kind": kind, "tree": tree})
    atomic_write(path, lambda f: np.savez(f, **{_META: np.array(meta)}, **arrays))
    return path


def load(path, kind: str | None = None, *, max_bytes: int | None = MAX_LOAD_BYTES) -> Any:
    """Read a file written by :func:`save`, checking its format, kind, sizes and integrity.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    kind : str, optional
        The ``kind`` it must have been saved with (``'state_dict'``, ``'checkpoint'``, ...).
    max_bytes : int or None, optional
        Refuse files whose arrays declare more than this many bytes in total, before any is read.
        Default :data:`MAX_LOAD_BYTES` (2 GiB). ``None`` removes the limit: do that only for files
        you trust. The JSON tree is bounded separately by :data:`MAX_META_BYTES`.

    Returns
    -------
    object
        The saved tree, with its arrays.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If ``path`` is not a regular file; the file is truncated or corrupt (a bad zip, a bad
        CRC-32, invalid JSON); it is not a convscope file or not of ``kind``; it holds members
        its tree does not name, or lacks ones it does; a member's zip size disagrees with its
        ``.npy`` header, holds Python objects, or uses a compression other than stored or
        deflated; or the sizes exceed ``max_bytes`` or :data:`MAX_META_BYTES`.
    TypeError
        If ``max_bytes`` is not an integer or None.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from convscope.io import save, load
    >>> path = save(os.path.join(tempfile.mkdtemp(), "w.npz"), {"w": np.ones(3), "step": 7})
    >>> load(path)
    {'w': array([1., 1., 1.]), 'step': 7}
    """
    path = Path(path)
    if max_bytes is not None:
        max_bytes = check_int(max_bytes, "max_bytes", "load", minimum=0)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"load: no file at {path}") from None
    if not stat.S_ISREG(mode):
        raise ValueError(f"load: path expects a regular file, but {path} is {_file_kind(mode)}")
    try:
        with zipfile.ZipFile(path) as zf:
            return _load_zip(zf, path, kind, max_bytes)
    except RecursionError:
        raise ValueError(f"load: {path} has a {_META} tree nested too deeply to read; the file is corrupt") from None
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error, json.JSONDecodeError, ValueError) as exc:
        if isinstance(exc, ValueError) and str(exc).startswith("load:"):
            raise
        raise ValueError(f"load: {path} is truncated or corrupt ({type(exc).__name__}: {exc})") from exc


def save_state_dict(path, state_dict) -> Path:
    """Save a module's ``state_dict()`` (name -> array) atomically.

    Examples
    --------
    >>> import tempfile, os
    >>> from convscope import nn
    >>> from convscope.io import load_state_dict, save_state_dict
    >>> path = save_state_dict(os.path.join(tempfile.mkdtemp(), "conv.npz"), nn.Conv2d(1, 2, 3).state_dict())
    >>> sorted(load_state_dict(path))
    ['bias', 'weight']
    """
    return save(path, {k: np.asarray(v) for k, v in dict(state_dict).items()}, kind="state_dict")


def load_state_dict(path, *, max_bytes: int | None = MAX_LOAD_BYTES) -> dict[str, np.ndarray]:
    """Load a file from :func:`save_state_dict`; pass it to ``module.load_state_dict``.

    ``max_bytes`` bounds the arrays' total size as in :func:`load`.

    Examples
    --------
    >>> import tempfile, os
    >>> from convscope import nn
    >>> from convscope.io import load_state_dict, save_state_dict
    >>> layer, copy = nn.Conv2d(1, 2, 3), nn.Conv2d(1, 2, 3)
    >>> path = save_state_dict(os.path.join(tempfile.mkdtemp(), "conv.npz"), layer.state_dict())
    >>> _ = copy.load_state_dict(load_state_dict(path))
    >>> bool((copy.weight.numpy() == layer.weight.numpy()).all())
    True
    """
    return load(path, kind="state_dict", max_bytes=max_bytes)
