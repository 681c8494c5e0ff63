"""Model weights as safetensors files: :func:`save` and :func:`load` (``convscope.save`` / ``convscope.load``).

A weights file is a `safetensors <https://huggingface.co/docs/safetensors>`_ file: an 8-byte
little-endian header length, a JSON header naming each tensor's dtype, shape and byte range, then
the raw little-endian data. It holds no code, so loading it cannot run any; PyTorch, JAX and the
Hugging Face tools read it as they are. convscope adds string metadata to the header:

``format``          ``"convscope-weights"`` and ``format_version`` ``"1"``
``convscope_version`` the writer's version
``model``, ``model_args``  the zoo model's name and its keyword arguments as JSON, when known
                    (a model built by :func:`convscope.models.get`, or passed as ``model=``)
``sha256``          a digest of every tensor's name, dtype, shape and bytes, in name order: the
                    format itself checks only the layout, so a flipped bit in the data would
                    otherwise load silently

Loading checks the header before any tensor is read: its length (at most :data:`MAX_HEADER_BYTES`),
its JSON, each tensor's dtype (the NumPy ones: floats, integers, bool), that each byte range
matches its shape and dtype and lies inside the file, that the ranges tile the data exactly, and
that all tensors together stay within ``max_bytes``; then the digest. A wrong, truncated or
tampered file is a ``ValueError`` naming the file and what is wrong. Writes are atomic (a temporary
file renamed into place).

Needs the ``weights`` extra (``pip install convscope[weights]``: the safetensors package).

Examples
--------
>>> import tempfile, os
>>> import numpy as np
>>> import convscope
>>> from convscope import models
>>> net = models.get("lenet5", num_classes=10)
>>> path = os.path.join(tempfile.mkdtemp(), "lenet5.safetensors")
>>> _ = convscope.save(net, path)
>>> back = convscope.load(path)                   # the model itself: its name and arguments are in the file
>>> type(back).__name__, bool(np.array_equal(back.state_dict()["0.weight"], net.state_dict()["0.weight"]))
('Sequential', True)
>>> read_metadata(path)["model"], read_metadata(path)["model_args"]
('lenet5', '{"num_classes": 10}')
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import stat
import struct
from pathlib import Path
from typing import Any

import numpy as np

from .._files import atomic_write

__all__ = ["save", "load", "load_state_dict", "load_torch", "read_metadata", "MAX_HEADER_BYTES", "MAX_LOAD_BYTES"]

FORMAT = "convscope-weights"
VERSION = "1"
#: The longest JSON header read: 64 MiB (a header names each tensor in about 100 bytes).
MAX_HEADER_BYTES = 64 * 2**20
#: Default ``max_bytes`` of :func:`load`: 2 GiB of tensor data (VGG-16 is 553 MB as float32).
MAX_LOAD_BYTES = 2**31

_DTYPES = {"F16": np.float16, "F32": np.float32, "F64": np.float64, "I8": np.int8, "I16": np.int16,
           "I32": np.int32, "I64": np.int64, "U8": np.uint8, "U16": np.uint16, "U32": np.uint32,
           "U64": np.uint64, "BOOL": np.bool_}
_CODES = {np.dtype(v): k for k, v in _DTYPES.items()}


def _safetensors():
    try:
        import safetensors.numpy as st
    except ImportError:                          # pragma: no cover - the extra is missing
        raise ModuleNotFoundError("convscope.save / convscope.load need the safetensors package: "
                                  "pip install 'convscope[weights]'") from None
    return st


def _digest(tensors: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(tensors):
        a = tensors[name] if tensors[name].flags.c_contiguous else tensors[name].copy()
        h.update(json.dumps([name, _CODES[a.dtype], list(a.shape)]).encode())
        h.update(a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes())
    return h.hexdigest()


def _state_of(obj: Any, fn: str) -> dict[str, np.ndarray]:
    from ..nn.module import Module
    state = obj.state_dict() if isinstance(obj, Module) else obj
    if not isinstance(state, dict):
        raise TypeError(f"{fn}: obj expects a Module or a state dict (str -> array), but got {type(obj).__name__}")
    tensors = {}
    for name, value in state.items():
        if not isinstance(name, str):
            raise TypeError(f"{fn}: obj expects string keys, but got the key {name!r}")
        a = np.asarray(value.data if hasattr(value, "data") and not isinstance(value, np.ndarray) else value)
        if a.dtype not in _CODES:
            raise TypeError(f"{fn}: obj[{name!r}] expects a float, integer or bool array, but got dtype {a.dtype}")
        tensors[name] = a if a.flags.c_contiguous else a.copy()   # (ascontiguousarray makes 0-d 1-d)
    return tensors


def save(obj: Any, path, *, model: str | None = None, model_args: dict | None = None,
         metadata: dict[str, str] | None = None) -> Path:
    """Write a model's weights (or a state dict) to ``path`` as safetensors; returns the path.

    Parameters
    ----------
    obj : Module or dict of str -> array
        A model (its :meth:`~convscope.nn.Module.state_dict` is written) or a state dict.
    path : str or os.PathLike
        The file; missing parent folders are created, an existing file replaced atomically.
    model, model_args : optional
        The zoo name and keyword arguments that rebuild the model (:func:`convscope.models.get`);
        by default those of a model built by ``models.get``. :func:`load` then returns the model.
    metadata : dict of str -> str, optional
        More entries for the header (a dataset, an accuracy...); :func:`read_metadata` returns them.

    Raises
    ------
    TypeError
        For an ``obj`` that is neither, non-string keys, an array of another dtype, or
        ``model_args`` that JSON cannot hold.

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> path = save({"kernel": np.ones((3, 3), np.float32)}, os.path.join(tempfile.mkdtemp(), "k.safetensors"))
    >>> path.name, load(path)["kernel"].shape
    ('k.safetensors', (3, 3))
    """
    fn = "save"
    tensors = _state_of(obj, fn)
    spec = getattr(obj, "zoo_spec", None) or {}
    name = model if model is not None else spec.get("name")
    args = model_args if model_args is not None else spec.get("kwargs", {})
    if name is not None and not isinstance(name, str):
        raise TypeError(f"{fn}: model expects a zoo model name (str), but got {name!r}")
    try:
        args_json = json.dumps(args, sort_keys=True)
    except TypeError:
        raise TypeError(f"{fn}: model_args expects JSON-serialisable keyword arguments, but got {args!r}") from None
    from .. import __version__
    extra = dict(metadata or {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in extra.items()):
        raise TypeError(f"{fn}: metadata expects str keys and str values, but got {extra!r}")
    header = {**extra, "format": FORMAT, "format_version": VERSION, "convscope_version": __version__,
              "sha256": _digest(tensors)}
    if name is not None:
        header.update(model=name, model_args=args_json)
    data = _safetensors().save(tensors, metadata=header)
    return atomic_write(path, lambda f: f.write(data), fn=fn)


def _check_file(path: Path, fn: str) -> int:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise FileNotFoundError(f"{fn}: path {str(path)!r} does not exist") from None
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{fn}: path {str(path)!r} expects a regular file, but it is "
                         f"{'a folder' if stat.S_ISDIR(info.st_mode) else 'not a regular file'}")
    return info.st_size


def _header(path: Path, fn: str, max_bytes: int | None) -> tuple[dict, dict[str, str], int]:
    """The checked header: ``(tensors, metadata, data offset)``."""
    size = _check_file(path, fn)
    where = f"{fn}: {str(path)!r}"
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ValueError(f"{where} is not a safetensors weights file: {size} bytes, shorter than its 8-byte header length")
        (length,) = struct.unpack("<Q", head)
        if length > min(MAX_HEADER_BYTES, size - 8):
            raise ValueError(f"{where} is not a safetensors weights file, or is truncated: it declares a "
                             f"{length}-byte header, but holds {size - 8} bytes after the length"
                             + (f" (at most {MAX_HEADER_BYTES} are read)" if length > MAX_HEADER_BYTES else ""))
        raw = f.read(length)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise ValueError(f"{where} is not a safetensors weights file: its header is not JSON") from None
    if not isinstance(header, dict):
        raise ValueError(f"{where} is not a safetensors weights file: its header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ValueError(f"{where}: its metadata expects strings only")
    data_size = size - 8 - length
    spans, total = [], 0
    for name, entry in header.items():
        bad = f"{where}: tensor {name!r}"
        if not (isinstance(entry, dict) and entry.get("dtype") in _DTYPES and isinstance(entry.get("shape"), list)
                and all(isinstance(n, int) and n >= 0 for n in entry["shape"])
                and isinstance(entry.get("data_offsets"), list) and len(entry["data_offsets"]) == 2
                and all(isinstance(n, int) for n in entry["data_offsets"])):
            raise ValueError(f"{bad} expects a dtype of {', '.join(_DTYPES)}, a shape and two data offsets, "
                             f"but the header gives {entry!r}")
        begin, end = entry["data_offsets"]
        nbytes = math.prod(entry["shape"]) * np.dtype(_DTYPES[entry["dtype"]]).itemsize
        if end - begin != nbytes or begin < 0:
            raise ValueError(f"{bad}: shape {entry['shape']} of {entry['dtype']} is {nbytes} bytes, "
                             f"but its data offsets span {end - begin}")
        if end > data_size:
            raise ValueError(f"{where} is truncated: tensor {name!r} ends at byte {end} of the data, "
                             f"which holds {data_size} bytes")
        spans.append((begin, end))
        total += nbytes
    if max_bytes is not None and total > max_bytes:
        raise ValueError(f"{where}: its tensors declare {total} bytes, more than max_bytes={max_bytes}")
    position = 0
    for begin, end in sorted(spans):
        if begin != position:
            raise ValueError(f"{where}: its tensors' data overlap or leave a gap at byte {position}")
        position = end
    if position != data_size:
        raise ValueError(f"{where}: {data_size - position} bytes after the last tensor's data")
    return header, metadata, 8 + length


def read_metadata(path) -> dict[str, str]:
    """The string metadata of a weights file (``{}`` for a safetensors file written elsewhere),
    after the header checks of :func:`load`; no tensor is read.

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> path = save({"b": np.zeros(2)}, os.path.join(tempfile.mkdtemp(), "b.safetensors"))
    >>> sorted(read_metadata(path))
    ['convscope_version', 'format', 'format_version', 'sha256']
    """
    return dict(_header(Path(path), "read_metadata", None)[1])


def load_state_dict(path, *, max_bytes: int | None = MAX_LOAD_BYTES) -> dict[str, np.ndarray]:
    """The tensors of a safetensors file as NumPy arrays, after the header and digest checks.

    A file written by another tool (PyTorch's ``safetensors.torch.save_file``, for instance) has
    no ``sha256``; its layout is still checked. Raises ``ValueError`` for a wrong, truncated or
    tampered file (see the module documentation).

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> from convscope import models
    >>> path = save(models.get("lenet5"), os.path.join(tempfile.mkdtemp(), "lenet5.safetensors"))
    >>> load_state_dict(path)["0.weight"].shape                  # the arrays, not the model
    (6, 1, 5, 5)
    """
    return _read(Path(path), max_bytes)[0]


def _read(path: Path, max_bytes: int | None) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The checked tensors and the metadata of one header parse (see :func:`load_state_dict`)."""
    fn = "load"
    _, metadata, _ = _header(path, fn, max_bytes)
    with open(path, "rb") as f:
        data = f.read()
    try:
        tensors = _safetensors().load(data)
    except Exception as exc:                     # the library's own layout checks
        raise ValueError(f"{fn}: {str(path)!r} is not a valid safetensors file: {exc}") from None
    expected = metadata.get("sha256")
    if expected is not None and _digest(tensors) != expected:
        raise ValueError(f"{fn}: {str(path)!r} is corrupted or was modified: its tensors do not match "
                         "the sha256 digest recorded when it was written")
    return tensors, metadata


def load(path, *, max_bytes: int | None = MAX_LOAD_BYTES):
    """Read a weights file: the model when the file names a zoo model (built with its arguments,
    weights loaded strictly), else the state dict (str -> array).

    Raises
    ------
    FileNotFoundError
        For a missing file.
    ValueError
        For a folder or other non-file, a wrong, truncated or tampered file, tensors beyond
        ``max_bytes``, or weights that do not fit the named model.

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
    >>> with open(path, "wb") as f:
    ...     _ = f.write(b"not weights")
    >>> load(path)
    Traceback (most recent call last):
        ...
    ValueError: load: '...w.safetensors' is not a safetensors weights file, or is truncated: ...
    """
    path = Path(path)
    tensors, metadata = _read(path, max_bytes)
    name = metadata.get("model")
    if not name:
        return tensors
    from .. import models
    try:
        kwargs = json.loads(metadata.get("model_args", "{}"))
    except ValueError:
        raise ValueError(f"load: {str(path)!r} has model_args that are not JSON") from None
    if name not in models.available() or not isinstance(kwargs, dict):
        raise ValueError(f"load: {str(path)!r} names the model {name!r} with arguments {kwargs!r}, "
                         f"which convscope.models cannot build (known: {', '.join(models.available())})")
    net = models.get(name, **kwargs)
    try:
        net.load_state_dict(tensors)
    except (KeyError, ValueError) as exc:
        raise ValueError(f"load: {str(path)!r}: its weights do not fit {name}({kwargs}): {exc}") from None
    return net



def load_torch(path, *, max_bytes: int | None = MAX_LOAD_BYTES) -> dict[str, np.ndarray]:
    """A PyTorch state dict as NumPy arrays, ready for :meth:`convscope.nn.Module.load_state_dict`.

    A ``.safetensors`` file is read without PyTorch (:func:`load_state_dict`). Any other file
    (``.pt``, ``.pth``, ``.bin``) is read by ``torch.load(path, map_location="cpu",
    weights_only=True)``, PyTorch's loader that accepts only tensors and plain containers (a file
    that asks for any other object is refused), and needs torch installed. A checkpoint that wraps
    the weights (``{"state_dict": ...}`` or ``{"model": ...}``) is unwrapped. The zoo uses
    torchvision's parameter names, so a torchvision state dict loads into the same zoo model as it is.

    Raises
    ------
    ValueError
        For a file torch cannot read, one that holds other objects, no tensors, or more than
        ``max_bytes``; ``ModuleNotFoundError`` when a non-safetensors file needs torch.

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> from convscope import models
    >>> path = save({"0.weight": np.ones((6, 1, 5, 5), np.float32)}, os.path.join(tempfile.mkdtemp(), "w.safetensors"))
    >>> load_torch(path)["0.weight"].shape
    (6, 1, 5, 5)
    """
    path = Path(path)
    fn = "load_torch"
    if path.suffix == ".safetensors":
        return load_state_dict(path, max_bytes=max_bytes)
    size = _check_file(path, fn)
    if max_bytes is not None and size > max_bytes:
        raise ValueError(f"{fn}: {str(path)!r} is {size} bytes, more than max_bytes={max_bytes}")
    try:                                         # only for a PyTorch file, never at import: convscope needs no torch
        torch = importlib.import_module("torch")
    except ImportError:
        raise ModuleNotFoundError(f"{fn}: reading {path.suffix or 'this'} files needs PyTorch (pip install torch); "
                                  ".safetensors files need only the weights extra") from None
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:                     # UnpicklingError, RuntimeError (a bad zip), EOFError...
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{fn}: {str(path)!r} is not a PyTorch weights file torch.load(weights_only=True) "
                         f"accepts: {first}") from None
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not obj:
        raise ValueError(f"{fn}: {str(path)!r} expects a state dict (names -> tensors), but holds "
                         f"{type(obj).__name__}")
    state = {}
    for name, value in obj.items():
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"{fn}: {str(path)!r}: {name!r} expects a tensor, but is {type(value).__name__}")
        value = value.detach().cpu()
        if value.dtype == torch.bfloat16:
            value = value.float()
        state[str(name)] = value.numpy().copy()
    return state
