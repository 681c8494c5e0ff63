"""What every functional op shares: operand conversion, gradient dtypes and dim names."""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import _validation as V
from ...autograd import Tensor

SPATIAL_NAMES = {1: "L", 2: "H, W", 3: "D, H, W"}
KERNEL_NAMES = {1: "kL", 2: "kH, kW", 3: "kD, kH, kW"}


def as_array(value: Any, name: str, fn: str) -> np.ndarray:
    """The array behind an operand (a Tensor's data, or ``np.asarray(value)``), type-checked."""
    data = value.data if isinstance(value, Tensor) else value
    return V.as_float_array(data, name, fn)


def float_operand(value, name: str, fn: str):
    """A Tensor passes through; anything else becomes a floating array (ints -> default dtype)."""
    if isinstance(value, Tensor):
        if value.dtype.kind != "f":
            raise TypeError(f"{fn}: {name} expects a floating Tensor, but got dtype {value.dtype}")
        return value
    arr = V.as_float_array(value, name, fn)
    return arr if arr.dtype.kind == "f" else arr.astype(V.result_float_dtype(arr))


def cast_grads(grads, dtypes):
    """Return each gradient in its operand's dtype (a float32 leaf gets a float32 .grad)."""
    return tuple(None if g is None else (g.astype(dt, copy=False) if dt is not None and dt.kind == "f" else g)
                 for g, dt in zip(grads, dtypes))
