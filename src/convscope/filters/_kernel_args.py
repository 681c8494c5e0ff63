"""Argument checks and sampling helpers shared by the kernel builders of :mod:`convscope.filters.kernels`.

The bounds (:data:`MAX_ELEMENTS`, :data:`MIN_SCALE`, :data:`MAX_SCALE`) are explained in the
docstring of :mod:`convscope.filters.kernels`; the generic checks and their wording are
:mod:`convscope._validation`'s.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._validation import check_positive, to_tuple

#: The most taps (``h * w``) a builder makes: 2048 x 2048, 32 MiB of float64.
MAX_ELEMENTS = 2**22
#: The range of a length in pixels (sigma, wavelength); see :mod:`convscope.filters.kernels`.
MIN_SCALE, MAX_SCALE = 1e-3, 1e6

DEGREES = "a finite number of degrees"


def _scale(value: Any, name: str, fn: str) -> float:
    """A positive length in pixels within ``[MIN_SCALE, MAX_SCALE]``."""
    number = check_positive(value, name, fn)
    if not MIN_SCALE <= number <= MAX_SCALE:
        raise ValueError(f"{fn}: {name} expects a length in [{MIN_SCALE:g}, {MAX_SCALE:g}] pixels (MIN_SCALE, "
                         f"MAX_SCALE), but got {value!r}")
    return number


def _check_taps(h: float, w: float, fn: str, because: str) -> None:
    """Refuse an ``h x w`` kernel above :data:`MAX_ELEMENTS` taps; ``because`` names the argument.
    ``h`` and ``w`` may be floats (a size estimated before rounding, possibly huge)."""
    if h * w > MAX_ELEMENTS:
        shown = "x".join(str(int(v)) if v < 1e15 else
                         (f"{v:.3g}" if isinstance(v, float) else f"~10**{len(str(v)) - 1}") for v in (h, w))
        raise ValueError(f"{fn}: {because} expects a kernel of at most {MAX_ELEMENTS} taps (MAX_ELEMENTS, e.g. "
                         f"2048x2048), but it gives {shown}")


def _sigma_pair(sigma: Any, fn: str, name: str = "sigma") -> tuple[float, float]:
    """A positive scalar or a ``(sigma_y, sigma_x)`` pair, as a pair of floats."""
    if isinstance(sigma, (tuple, list)) or (isinstance(sigma, np.ndarray) and sigma.ndim == 1):
        if len(sigma) != 2:
            raise ValueError(f"{fn}: {name} expects a positive number or a pair (sigma_y, sigma_x), "
                             f"but got {len(sigma)} values {tuple(sigma)!r}")
        return _scale(sigma[0], name, fn), _scale(sigma[1], name, fn)
    value = _scale(sigma, name, fn)
    return value, value


def _size(size: Any, fn: str) -> tuple[int, int]:
    """A positive int or ``(h, w)`` pair of them, within :data:`MAX_ELEMENTS` taps."""
    h, w = to_tuple(size, 2, "size", fn, minimum=1)
    _check_taps(h, w, fn, f"size={size!r}")
    return h, w


def _odd_size(size: Any, fn: str) -> tuple[int, int]:
    """An odd positive int or ``(h, w)`` pair of them: odd so the kernel has a centre tap."""
    h, w = to_tuple(size, 2, "size", fn, minimum=1)
    if h % 2 == 0 or w % 2 == 0:
        raise ValueError(f"{fn}: size expects odd positive integers (the kernel needs a centre), "
                         f"but got {size!r}")
    _check_taps(h, w, fn, f"size={size!r}")
    return h, w


def _line_radius(extent: float) -> int:
    """``ceil(extent)``, forgiving the last-bit error of ``cos`` (``cos(60) = 0.5000000000000001``)."""
    return max(0, math.ceil(extent - 1e-9))


def _size_for(sigma: tuple[float, float], size: Any, fn: str, name: str = "sigma") -> tuple[int, int]:
    """``size`` checked, or the default ``2 * ceil(3 * sigma) + 1`` per axis (within bounds)."""
    if size is None:
        h, w = (2 * math.ceil(3 * s) + 1 for s in sigma)
        _check_taps(h, w, fn, f"{name}={sigma[0] if sigma[0] == sigma[1] else sigma!r} (no size given)")
        return h, w
    return _odd_size(size, fn)


def _offsets(n: int) -> np.ndarray:
    """Offsets of the taps from the centre of an odd length ``n``: ``-(n // 2) ... n // 2``."""
    return np.arange(n, dtype=np.float64) - n // 2


def _cos_sin(degrees: float) -> tuple[float, float]:
    """cos and sin of an angle in degrees, exact at multiples of 90 (no 6e-17 residues)."""
    quarter, rest = divmod(degrees % 360.0, 90.0)
    if rest == 0.0 and quarter < 4:        # (-1e-300) % 360 rounds to 360.0: quarter 4, not exact
        return [(1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0)][int(quarter)]
    radians = math.radians(degrees)
    return math.cos(radians), math.sin(radians)


def _gaussian_1d(sigma: float, n: int) -> np.ndarray:
    x = _offsets(n)
    g = np.exp(-0.5 * (x / sigma) ** 2)
    return g / g.sum()


def _fixed(rows: list[list[float]]) -> np.ndarray:
    return np.array(rows, dtype=np.float64)
