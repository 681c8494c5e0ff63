"""Explain what a 2-D kernel does: its sum, separability, symmetry, frequency response,
orientation, and the named kernel it is closest to. Works for any kernel, a learned one included.

Conventions are those of :mod:`convscope.filters.kernels`: ``kernel[row, col]`` with rows running
down (``y``) and columns right (``x``), applied by cross-correlation; angles in degrees from
``+x`` towards ``+y`` (down), in ``[0, 180)``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..ops.algorithms.separable import separable_factors

from .._validation import as_float_array
from . import kernels

__all__ = ["KernelDescription", "describe", "ANISOTROPY_THRESHOLD", "PASS_LEVEL"]

#: Orientation is reported only when the anisotropy (0 isotropic ... 1 a single direction) of the
#: kernel's frequency energy reaches this; random 3x3 noise scores about 0.2 (median).
ANISOTROPY_THRESHOLD = 0.1
#: A band "passes" when its magnitude is at least this fraction of the peak (-3 dB).
PASS_LEVEL = 1.0 / math.sqrt(2.0)

_FN = "describe"
_MIN_DFT = 65          # odd: no Nyquist sample, so the frequency grid is symmetric about 0
_OUTER = 0.9           # the highest frequencies: radius 0.9 to 1 times the Nyquist frequency
_TIE = 1e-9            # similarities closer than this are a tie

_SYMMETRIES = {        # name -> (mirror image of k, sign it must carry, whether it needs a square)
    "mirror-lr": (lambda k: k[:, ::-1], 1.0, False),
    "mirror-ud": (lambda k: k[::-1, :], 1.0, False),
    "point": (lambda k: k[::-1, ::-1], 1.0, False),
    "transpose": (lambda k: k.T, 1.0, True),
    "anti-mirror-lr": (lambda k: k[:, ::-1], -1.0, False),
    "anti-mirror-ud": (lambda k: k[::-1, :], -1.0, False),
    "anti-point": (lambda k: k[::-1, ::-1], -1.0, False),
    "anti-transpose": (lambda k: k.T, -1.0, True),
}
_SYMMETRY_WORDS = {"mirror-lr": "left-right", "mirror-ud": "up-down", "point": "under 180-degree rotation",
                   "transpose": "about the main diagonal"}
_RESPONSE_WORDS = {
    "low-pass": "low-pass (smooths: keeps slow variations, attenuates fine detail)",
    "high-pass": "high-pass (attenuates slow variations, keeps fine detail)",
    "band-pass": "band-pass (attenuates both flat regions and the finest detail)",
    "all-pass": "all-pass (keeps slow variations and fine detail alike)",
}


@dataclass(frozen=True, eq=False)
class KernelDescription:
    """What :func:`describe` found out about a kernel; ``str()`` gives a readable paragraph.

    Attributes
    ----------
    shape : (int, int)
        ``(h, w)``.
    dc_gain : float
        The sum of the taps: the factor a flat region is multiplied by (1 for blurs, 0 for
        derivatives).
    rank : int
        Numerical rank (singular values above ``100 * max(h, w) * eps * s_max``, ``eps`` the
        machine epsilon of the kernel's dtype, float64's for integer input).
    separable : bool
        ``rank == 1``: the kernel is an outer product, so a 2-D pass is two 1-D passes.
    factors : (ndarray, ndarray) or None
        ``(column, row)``, 1-D read-only arrays of lengths ``h`` and ``w`` with
        ``np.outer(column, row)`` equal to the kernel (to rounding) when separable, else None.
        Integer factors when the kernel has them (``[1, 2, 1]`` and ``[-1, 0, 1]`` for
        ``sobel_x``), otherwise of equal norm. The sign makes the column's sum positive, or if
        that is 0 the row's (``[-1, 0, 1]`` and ``[3, 10, 3]`` for ``scharr_y``), or else the
        column's first largest entry.
    symmetry : tuple of str
        Which of ``"mirror-lr"`` (``k == k[:, ::-1]``), ``"mirror-ud"`` (``k == k[::-1]``),
        ``"point"`` (180-degree rotation, ``k == k[::-1, ::-1]``), ``"transpose"`` (``k == k.T``)
        and their antisymmetric forms ``"anti-mirror-lr"`` ... (``k == -k[:, ::-1]`` ...) hold, to
        within ``sqrt(eps) * max|k|``; in that order.
    response : {"low-pass", "high-pass", "band-pass", "all-pass"}
        From the three levels below and :data:`PASS_LEVEL` (1/sqrt(2), -3 dB). When DC passes
        (``low_level >= PASS_LEVEL``): all-pass if the highest frequencies pass on average over
        directions (``high_level >= PASS_LEVEL``), else low-pass. When DC is blocked: high-pass
        if the highest frequencies pass in the best direction (``high_peak_level >=
        PASS_LEVEL``), else band-pass (the gain peaks in between). So a motion blur, which
        passes every frequency along its line but few across it, is low-pass, and a line
        detector, high-pass across its line only, is high-pass.
    low_level : float
        Magnitude of the frequency response at DC as a fraction of its peak magnitude within
        the Nyquist disc (radius pi). Computed from the zero-padded DFT, of odd size at least 65
        and ``2 * max(h, w) + 1``.
    high_level, high_peak_level : float
        Mean and maximum magnitude over the ring of the highest frequencies (0.9 to 1 times the
        Nyquist frequency, in every direction), as fractions of the same peak.
    orientation : float or None
        Dominant orientation in degrees in ``[0, 180)``, the direction along which the response
        varies (the wave vector; 0 for ``sobel_x``, 90 for ``sobel_y``), or None when
        ``anisotropy < ANISOTROPY_THRESHOLD`` (0.1). It is the principal axis of the tensor
        ``sum |H(w)|^2 (w w^T / |w|^2) / |w|`` over the non-zero frequencies ``w`` inside the
        Nyquist disc: the power the kernel gives to gratings varying along each direction,
        integrated along radial lines so that every direction counts equally.
    anisotropy : float
        ``(l1 - l2) / (l1 + l2)`` for that tensor's eigenvalues: 0 for kernels with 90-degree
        rotational symmetry (Gaussian, Laplacian), about 0.55 for Sobel, near 1 for a Gabor.
    nearest : (str, float) or None
        The most similar kernel of the registry and the similarity, ``|r|`` in ``[0, 1]``, where
        ``r`` is the Pearson correlation of the two kernels' taps (the normalised
        cross-correlation of the zero-mean kernels); the name starts with ``-`` when ``r < 0``
        (the kernel is the negated named one, e.g. ``"-sobel_x"``). None when no named kernel
        fits the shape or all correlate 0. See :func:`describe` for the candidates.
    nearest_params : dict
        The keyword arguments for :func:`convscope.filters.kernels.get` that build the matched
        kernel (empty for ``get``'s defaults).

    Examples
    --------
    >>> d = describe([[1, 2, 1], [2, 4, 2], [1, 2, 1]])      # the binomial blur
    >>> d.shape, round(d.dc_gain, 4), d.rank, d.separable, d.response
    ((3, 3), 16.0, 1, True, 'low-pass')
    >>> [f.tolist() for f in d.factors]
    [[1.0, 2.0, 1.0], [1.0, 2.0, 1.0]]
    >>> d.symmetry, d.orientation
    (('mirror-lr', 'mirror-ud', 'point', 'transpose'), None)
    >>> d.nearest[0], d.nearest_params
    ('gaussian', {'sigma': 0.3333333333333333, 'size': 3})
    """

    shape: tuple[int, int]
    dc_gain: float
    rank: int
    separable: bool
    factors: tuple[np.ndarray, np.ndarray] | None
    symmetry: tuple[str, ...]
    response: str
    low_level: float
    high_level: float
    high_peak_level: float
    orientation: float | None
    anisotropy: float
    nearest: tuple[str, float] | None
    nearest_params: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        """A short paragraph: sum, response, separability, symmetry, orientation, nearest name."""
        h, w = self.shape
        parts = [f"{h}x{w} kernel, {_dc_words(self.dc_gain)}", _RESPONSE_WORDS[self.response]]
        if self.separable:
            column, row = self.factors
            parts.append(f"separable (rank 1: {_vector(column)}^T x {_vector(row)})")
        else:
            parts.append(f"not separable (rank {self.rank})")
        parts.append(_symmetry_words(self.symmetry))
        if self.orientation is None:
            parts.append("isotropic (no preferred orientation)")
        else:
            parts.append(f"responds most to changes along {round(self.orientation) % 180} degrees "
                         f"({_edge_words(self.orientation)})")
        if self.nearest is None:
            parts.append("no named kernel of this shape to compare with")
        else:
            name, similarity = self.nearest
            parts.append(f"nearest named kernel: {name}{_call(self.nearest_params)} (similarity {similarity:.2f})")
        return "; ".join(parts) + "."

    def __str__(self) -> str:
        return self.text()


def describe(kernel: Any) -> KernelDescription:
    """Explain a 2-D kernel: sum, separability, symmetry, frequency response and orientation.

    Parameters
    ----------
    kernel : array_like, shape (h, w)
        Real numbers (bool, integer or float), finite, not all zero. One filter of a conv
        layer's weight ``(O, C, kH, kW)`` is ``weight[o, c]``.

    Returns
    -------
    KernelDescription
        The findings (see its attributes for each rule and tolerance); ``str()`` of it is a
        paragraph.

    Raises
    ------
    TypeError
        If ``kernel`` is not a real numeric array.
    ValueError
        If it is not 2-D, is empty, holds NaN or infinity, or is all zeros.

    Notes
    -----
    ``nearest`` compares the kernel with these candidates, each zero-padded equally on both
    sides to the kernel's shape (one that is larger, or cannot be centred because the
    difference in size is odd, is skipped):

    - every registry kernel as :func:`convscope.filters.kernels.get` builds it with no
      arguments, plus ``laplacian(neighbours=8)`` and ``emboss`` lit from the 8 compass angles;
    - kernels with a size, built at the kernel's own shape ``(h, w)``: ``box`` and ``identity``
      (odd shapes); for odd ``h, w >= 3``, with ``s = ((h - 1) / 6, (w - 1) / 6)`` (so the
      default size would be ``(h, w)``) and, for squares, also every ``s = 0.5 * sqrt(2)**i``
      whose default size fits, ``gaussian(s)``, ``laplacian_of_gaussian(s)``,
      ``difference_of_gaussians(s / 1.6, s)`` and ``unsharp_mask(s)``; for odd squares,
      ``motion_blur(h)`` at 0, 45, 90 and 135 degrees, and from 9x9 on, with ``r = (h - 1) / 2``,
      ``gabor(sigma=r / 3, wavelength=2 r / 3)`` at those 4 angles in even and odd phase.

    The best has the largest ``|r|``; ties go to a positive ``r``, then to the candidate whose
    taps (mean included) are the most parallel to the kernel's (cosine similarity), so that the
    identity, which correlates perfectly with ``sharpen`` (they differ by a constant), is called
    the identity. A constant kernel correlates with nothing but a constant kernel (``r = +-1``).

    Examples
    --------
    >>> from convscope.filters.kernels import sobel_x
    >>> d = describe(sobel_x())
    >>> d.dc_gain, d.separable, d.response, d.orientation, d.nearest
    (0.0, True, 'band-pass', 0.0, ('sobel_x', 1.0))
    >>> print(d)  # doctest: +NORMALIZE_WHITESPACE
    3x3 kernel, sums to 0 (removes flat regions); band-pass (attenuates both flat regions and
    the finest detail); separable (rank 1: [1, 2, 1]^T x [-1, 0, 1]); symmetric up-down;
    antisymmetric left-right and under 180-degree rotation; responds most to changes along 0
    degrees (vertical edges); nearest named kernel: sobel_x (similarity 1.00).
    >>> describe(-sobel_x()).nearest
    ('-sobel_x', 1.0)
    """
    k, eps = _checked(kernel)
    h, w = k.shape
    rank, factors = _separability(k, eps)
    spectrum = _spectrum(k)
    low, high, high_peak, response = _response(*spectrum)
    orientation, anisotropy = _orientation(*spectrum)
    nearest, params = _nearest(k)
    return KernelDescription(
        shape=(h, w), dc_gain=float(k.sum()), rank=rank, separable=rank == 1, factors=factors,
        symmetry=_symmetry(k, eps), response=response, low_level=low, high_level=high, high_peak_level=high_peak,
        orientation=orientation, anisotropy=anisotropy, nearest=nearest, nearest_params=params)


# --------------------------------------------------------------------------- input

def _checked(kernel: Any) -> tuple[np.ndarray, float]:
    """The kernel as float64, and the machine epsilon of the dtype it came in."""
    try:
        array = np.asarray(kernel)
    except (TypeError, ValueError) as error:   # ragged nested lists
        raise TypeError(f"{_FN}: kernel expects a 2-D numeric array, but got {type(kernel).__name__} "
                        f"that NumPy cannot convert ({error})") from None
    array = as_float_array(array, "kernel", _FN)
    if array.ndim != 2:
        hint = " (one filter of a conv weight (O, C, kH, kW) is weight[o, c])" if array.ndim == 4 else ""
        raise ValueError(f"{_FN}: kernel expects a 2-D array{hint}, but got a {array.ndim}-D array "
                         f"of shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{_FN}: kernel expects a non-empty array, but got shape {array.shape}")
    k = array.astype(np.float64)
    bad = ~np.isfinite(k)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{_FN}: kernel expects finite values, but got {k[where]} at {list(where)}")
    if not k.any():
        raise ValueError(f"{_FN}: kernel expects at least one non-zero value, but got all zeros "
                         f"of shape {k.shape}")
    with np.errstate(over="ignore"):
        energy = float(np.sum(k * k))
    if not np.isfinite(energy) or energy == 0:    # the spectrum and the moments square the values
        raise ValueError(f"{_FN}: kernel expects values whose squares neither overflow nor underflow float64 "
                         f"(magnitudes about 1e-150 to 1e150), but got values up to {np.abs(k).max():.3g}; "
                         f"scale the kernel {'down' if not np.isfinite(energy) else 'up'}")
    eps = float(np.finfo(array.dtype).eps) if array.dtype.kind == "f" else float(np.finfo(np.float64).eps)
    return k, eps


# --------------------------------------------------------------------------- structure

def _separability(k: np.ndarray, eps: float) -> tuple[int, tuple[np.ndarray, np.ndarray] | None]:
    u, s, vt = np.linalg.svd(k)
    rank = int(np.sum(s > 100 * max(k.shape) * eps * s[0]))
    # Separable or not is the engine's decision (the same test picks its separable algorithm);
    # the singular values only give the rank it reports otherwise.
    if separable_factors(k) is None:
        return max(rank, 2), None
    column, row = u[:, 0] * np.sqrt(s[0]), vt[0] * np.sqrt(s[0])
    if _sign(column, row) < 0:
        column, row = -column, -row
    # Integer factors when they exist: scale the column's smallest non-zero entry to +-1.
    nonzero = np.abs(column) > 1e-12 * np.abs(column).max()
    scale = np.abs(column[nonzero]).min()
    whole_column, whole_row = np.round(column / scale), np.round(row * scale)
    if np.array_equal(np.outer(whole_column, whole_row), k):
        column, row = whole_column, whole_row
    column.flags.writeable = row.flags.writeable = False
    return 1, (column, row)


def _sign(column: np.ndarray, row: np.ndarray) -> float:
    """The sign that makes the column's sum positive, else the row's, else the column's first
    largest entry: the smoothing factor of a derivative kernel comes out positive."""
    for vector in (column, row):
        total = vector.sum()
        if abs(total) > 1e-9 * np.abs(vector).sum():
            return math.copysign(1.0, total)
    magnitude = np.abs(column)
    return math.copysign(1.0, column[np.flatnonzero(magnitude >= (1 - 1e-9) * magnitude.max())[0]])


def _symmetry(k: np.ndarray, eps: float) -> tuple[str, ...]:
    tolerance = math.sqrt(eps) * np.abs(k).max()
    square = k.shape[0] == k.shape[1]
    return tuple(name for name, (mirror, sign, needs_square) in _SYMMETRIES.items()
                 if (square or not needs_square) and np.abs(k - sign * mirror(k)).max() <= tolerance)


# --------------------------------------------------------------------------- frequency response

def _spectrum(k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``|H|`` on an odd ``n x n`` DFT grid, and the angular frequencies ``(w_y, w_x)`` there."""
    n = max(_MIN_DFT, 2 * max(k.shape) + 1)
    magnitude = np.abs(np.fft.fft2(k, (n, n)))
    omega = 2 * np.pi * np.fft.fftfreq(n)
    wy, wx = np.meshgrid(omega, omega, indexing="ij")
    return magnitude, wy, wx


def _response(magnitude: np.ndarray, wy: np.ndarray, wx: np.ndarray) -> tuple[float, float, float, str]:
    radius = np.hypot(wx, wy) / np.pi                       # 1 at the Nyquist frequency
    peak = magnitude[radius <= 1].max()
    outer = magnitude[(radius >= _OUTER) & (radius <= 1)]
    low, high, high_peak = (float(v / peak) for v in (magnitude[0, 0], outer.mean(), outer.max()))
    if low >= PASS_LEVEL:
        response = "all-pass" if high >= PASS_LEVEL else "low-pass"
    else:
        response = "high-pass" if high_peak >= PASS_LEVEL else "band-pass"
    return low, high, high_peak, response


def _orientation(magnitude: np.ndarray, wy: np.ndarray, wx: np.ndarray) -> tuple[float | None, float]:
    radius = np.hypot(wx, wy)
    inside = (radius > 0) & (radius <= np.pi)
    weight = np.where(inside, magnitude**2 / np.where(inside, radius, 1.0) ** 3, 0.0)
    txx, txy, tyy = (weight * wx * wx).sum(), (weight * wx * wy).sum(), (weight * wy * wy).sum()
    if txx + tyy == 0:
        return None, 0.0
    doubled = complex(txx - tyy, 2 * txy)                   # the tensor's doubled-angle form
    anisotropy = float(abs(doubled) / (txx + tyy))
    if anisotropy < ANISOTROPY_THRESHOLD:
        return None, anisotropy
    degrees = round(math.degrees(math.atan2(doubled.imag, doubled.real)) / 2, 9) % 180.0
    return degrees + 0.0, anisotropy


# --------------------------------------------------------------------------- nearest named kernel

@functools.lru_cache(maxsize=16)
def _candidates(h: int, w: int) -> tuple[tuple[str, tuple[tuple[str, Any], ...], np.ndarray], ...]:
    """``(name, params, kernel)`` for every candidate that fits ``(h, w)``; see :func:`describe`."""
    wanted: list[tuple[str, dict[str, Any]]] = [(name, {}) for name in kernels.available()]
    wanted.append(("laplacian", {"neighbours": 8}))
    wanted += [("emboss", {"angle": float(a)}) for a in range(0, 360, 45) if a != 135]
    odd = h % 2 == 1 and w % 2 == 1
    size = h if h == w else (h, w)
    if h * w > 1:
        wanted.append(("box", {"size": size}))
    if odd:
        wanted.append(("identity", {"size": size}))
    if odd and min(h, w) >= 3:
        if h == w:   # the sigma whose default size is h, and the ladder 0.5 * sqrt(2)**i that fits
            sigmas = [(h - 1) / 6] + [s for s in (0.5 * 2 ** (i / 2) for i in range(16))
                                      if math.ceil(3 * s) <= (h - 1) // 2 and s != (h - 1) / 6]
        else:
            sigmas = [((h - 1) / 6, (w - 1) / 6)]
        for s in sigmas:
            low = s / 1.6 if h == w else (s[0] / 1.6, s[1] / 1.6)
            wanted += [("gaussian", {"sigma": s, "size": size}),
                       ("laplacian_of_gaussian", {"sigma": s, "size": size}),
                       ("difference_of_gaussians", {"sigma_low": low, "sigma_high": s, "size": size}),
                       ("unsharp_mask", {"sigma": s, "size": size})]
    if odd and h == w and h >= 3:
        wanted += [("motion_blur", {"length": h, "angle": float(a)}) for a in (0, 45, 90, 135)]
    if odd and h == w and h >= 9:
        r = (h - 1) / 2
        wanted += [("gabor", {"sigma": r / 3, "theta": float(a), "wavelength": 2 * r / 3, "psi": psi, "size": h})
                   for a in (0, 45, 90, 135) for psi in (0.0, math.pi / 2)]
    found = []
    for name, params in wanted:
        candidate = kernels.get(name, **params)
        top, left = h - candidate.shape[0], w - candidate.shape[1]
        if top >= 0 and left >= 0 and top % 2 == 0 and left % 2 == 0:      # fits, centred
            padded = np.pad(candidate, ((top // 2, top // 2), (left // 2, left // 2)))
            padded.flags.writeable = False
            found.append((name, tuple(params.items()), padded))
    return tuple(found)


def _nearest(k: np.ndarray) -> tuple[tuple[str, float] | None, dict[str, Any]]:
    centred = k - k.mean()
    norm, centred_norm = np.linalg.norm(k), np.linalg.norm(centred)
    constant = centred_norm <= 1e-10 * norm
    best_key, best = None, (None, {})
    for name, params, candidate in _candidates(*k.shape):
        other = candidate - candidate.mean()
        other_norm = np.linalg.norm(other)
        if constant or other_norm <= 1e-10 * np.linalg.norm(candidate):
            both = constant and other_norm <= 1e-10 * np.linalg.norm(candidate)
            r = math.copysign(1.0, k.mean() * candidate.mean()) if both else 0.0
        else:
            r = float(np.clip(np.vdot(centred, other) / (centred_norm * other_norm), -1.0, 1.0))
        cosine = abs(float(np.vdot(k, candidate))) / (norm * np.linalg.norm(candidate))
        key = (round(abs(r), 9), r > 0, cosine)
        if abs(r) > _TIE and (best_key is None or key > best_key):
            best_key, best = key, ((("-" if r < 0 else "") + name, abs(r)), dict(params))
    return best


# --------------------------------------------------------------------------- words

def _dc_words(gain: float) -> str:
    if abs(gain - 1.0) <= 1e-6:      # loose enough for float32 kernels
        return "sums to 1 (keeps the brightness of flat regions)"
    if abs(gain) <= 1e-6:
        return "sums to 0 (removes flat regions)"
    return f"sums to {gain:.3g} (scales flat regions by {gain:.3g})"


def _number(value: float) -> str:
    return str(int(round(value))) if abs(value - round(value)) <= 1e-9 else f"{value:.3g}"


def _vector(values: np.ndarray) -> str:
    items = [_number(v) for v in values]
    if len(items) > 7:
        items = items[:3] + ["..."] + items[-3:]
    return "[" + ", ".join(items) + "]"


def _symmetry_words(names: tuple[str, ...]) -> str:
    even = [_SYMMETRY_WORDS[n] for n in names if not n.startswith("anti-")]
    odd = [_SYMMETRY_WORDS[n[len("anti-"):]] for n in names if n.startswith("anti-")]
    words = ([f"symmetric {_and(even)}"] if even else []) + ([f"antisymmetric {_and(odd)}"] if odd else [])
    return "; ".join(words) if words else "no mirror or rotation symmetry"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _edge_words(orientation: float) -> str:
    named = {0: "vertical edges", 45: "diagonal edges running top-right to bottom-left",
             90: "horizontal edges", 135: "diagonal edges running top-left to bottom-right", 180: "vertical edges"}
    closest = min(named, key=lambda a: abs(a - orientation))
    if abs(closest - orientation) <= 7.5:
        return named[closest]
    return f"edges running at {(orientation + 90) % 180:.0f} degrees"


def _call(params: dict[str, Any]) -> str:
    if not params:
        return ""

    def show(value: Any) -> str:
        if isinstance(value, tuple):
            return "(" + ", ".join(show(v) for v in value) + ")"
        return f"{value:.4g}" if isinstance(value, float) else repr(value)

    return "(" + ", ".join(f"{key}={show(value)}" for key, value in params.items()) + ")"
