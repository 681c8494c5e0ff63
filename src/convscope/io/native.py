"""convscope's native file format: one ``.npz`` holding the arrays plus a JSON tree for the rest.

A saved object is a tree of dicts, lists, strings, numbers, bools, None and NumPy arrays (a model's
state dict, an optimizer's, the RNG state, the training history). Arrays are stored as ``.npy``
members; the tree, with each array replaced by a reference, is stored as JSON in the member
``__convscope__``. Loading uses ``allow_pickle=False``: a file cannot execute code.

Writes are atomic: the data goes to a temporary file in the same directory, is flushed to disk,
then renamed over the target, so a crash or a kill leaves either the old file or the new one,
never half of one. The zip container's CRC-32 checks catch corruption on load.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .._files import atomic_write

FORMAT = "convscope"
VERSION = 1
_META = "__convscope__"


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


def save(path, obj: Any, kind: str = "object") -> Path:
    """Write ``obj`` (a tree of dicts, lists, scalars, strings and arrays) to ``path`` atomically."""
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    tree = _split(obj, arrays, "obj")
    meta = json.dumps({"format": FORMAT, "version": VERSION, "kind": kind, "tree": tree})
    atomic_write(path, lambda f: np.savez(f, **{_META: np.array(meta)}, **arrays))
    return path


def load(path, kind: str | None = None) -> Any:
    """Read a file written by :func:`save` (checking its format, kind and integrity)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load: no file at {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            if _META not in data.files:
                raise ValueError(f"load: {path} is not a convscope file (no {_META} member)")
            meta = json.loads(str(data[_META]))
            arrays = {k: data[k] for k in data.files if k != _META}
    except (zipfile.BadZipFile, EOFError, OSError, json.JSONDecodeError, ValueError) as exc:
        if isinstance(exc, ValueError) and str(exc).startswith("load:"):
            raise
        raise ValueError(f"load: {path} is truncated or corrupt ({type(exc).__name__}: {exc})") from exc
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise ValueError(f"load: {path} expects format {FORMAT!r} version {VERSION}, but has "
                         f"{meta.get('format')!r} version {meta.get('version')}")
    if kind is not None and meta.get("kind") != kind:
        raise ValueError(f"load: {path} expects a {kind}, but holds a {meta.get('kind')}")
    return _join(meta["tree"], arrays)


def save_state_dict(path, state_dict) -> Path:
    """Save a module's ``state_dict()`` (name -> array) atomically."""
    return save(path, {k: np.asarray(v) for k, v in dict(state_dict).items()}, kind="state_dict")


def load_state_dict(path) -> dict[str, np.ndarray]:
    """Load a file from :func:`save_state_dict`; pass it to ``module.load_state_dict``."""
    return load(path, kind="state_dict")
