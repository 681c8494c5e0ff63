"""Shared helpers for the optimizer tests: a JSON + .npz round trip of a state dict."""

import io
import json

import numpy as np


def split_arrays(obj, arrays, path="a"):
    """Replace each ndarray in a nested dict/list by a {"__array__": name} marker, collecting it."""
    if isinstance(obj, np.ndarray):
        arrays[path] = obj
        return {"__array__": path}
    if isinstance(obj, dict):
        return {str(k): split_arrays(v, arrays, f"{path}_{k}") for k, v in obj.items()}
    if isinstance(obj, list):
        return [split_arrays(v, arrays, f"{path}_{i}") for i, v in enumerate(obj)]
    return obj


def join_arrays(obj, arrays):
    if isinstance(obj, dict):
        if set(obj) == {"__array__"}:
            return arrays[obj["__array__"]]
        return {k: join_arrays(v, arrays) for k, v in obj.items()}
    if isinstance(obj, list):
        return [join_arrays(v, arrays) for v in obj]
    return obj


def json_npz_round_trip(state_dict):
    """What a checkpoint does: arrays to an .npz (no pickle), everything else to JSON."""
    arrays = {}
    text = json.dumps(split_arrays(state_dict, arrays))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as npz:
        loaded = {name: npz[name] for name in npz.files}
    return join_arrays(json.loads(text), loaded)


def assert_plain(obj, path="state_dict"):
    """Only dicts, lists, ints, floats, strings, bools and ndarrays (no tuples, no objects)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            assert isinstance(k, (int, str)) and not isinstance(k, bool), f"{path}: key {k!r}"
            assert_plain(v, f"{path}[{k!r}]")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            assert_plain(v, f"{path}[{i}]")
    else:
        assert type(obj) in (int, float, str, bool, np.ndarray), f"{path}: {type(obj).__name__}"
