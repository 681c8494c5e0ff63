"""Receptive fields: how much of the input one output value sees, and where.

Three numbers per spatial dimension describe a feature map's geometry relative to the input
image (Dumoulin & Visin 2016; Araujo, Norris & Sim, "Computing receptive fields of convolutional
neural networks", Distill 2019, whose google-research ``receptive_field`` package tabulates them):

``rf``
    the receptive field: how many consecutive input pixels one output value depends on;
``jump``
    the effective stride: the distance, in input pixels, between neighbouring output values;
``start``
    the centre of the first output's window, in input coordinates (input pixel ``i`` is centred
    at ``i``, so ``start`` is negative when padding pushes the window left of the image).
    Araujo et al.'s *effective padding* is ``(rf - 1)/2 - start``.

The input image has ``rf = 1, jump = 1, start = 0``. A layer with kernel ``k``, stride ``s``,
padding ``p`` (before) and dilation ``d`` (effective kernel ``k_eff = d*(k-1) + 1``) gives::

    jump_out  = jump_in * s
    rf_out    = rf_in + (k_eff - 1) * jump_in
    start_out = start_in + ((k_eff - 1)/2 - p) * jump_in
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from .. import _validation as V

__all__ = ["RFStep", "ReceptiveField", "receptive_field", "RECURRENCES"]

RECURRENCES = ("jump_out = jump_in * s\n"
               "rf_out = rf_in + (k_eff - 1) * jump_in, k_eff = d*(k-1) + 1\n"
               "start_out = start_in + ((k_eff - 1)/2 - p) * jump_in")


def _num(value: float) -> str:
    """A float without a needless '.0' (and at most 4 decimals)."""
    value = float(value)
    if value == int(value):
        return str(int(value))
    return f"{value:.4f}".rstrip("0").rstrip(".")


def _clean(value: float) -> float | int:
    """An int when the value is integral (rf and jump usually are), else the float."""
    return int(value) if float(value).is_integer() else float(value)


# --------------------------------------------------------------------------- one dimension, one layer

def conv_step(rf: float, jump: float, start: float, kernel: int, stride: int, padding: float,
              dilation: int) -> tuple[float, float, float]:
    """Apply the recurrences of one conv or pool layer along one dimension.

    ``padding`` is the padding *before* the input (the left/top side), which is what moves the
    first window; the padding after only changes how many outputs there are.
    """
    k_eff = dilation * (kernel - 1) + 1
    return (rf + (k_eff - 1) * jump, jump * stride, start + ((k_eff - 1) / 2 - padding) * jump)


def conv_transpose_step(rf: float, jump: float, start: float, kernel: int, stride: int, padding: int,
                        dilation: int) -> tuple[float, float, float]:
    """The geometry after a transposed conv along one dimension.

    A transposed conv is a stride-1 conv (with the flipped kernel) over the input dilated by
    ``s`` (``s - 1`` zeros between values) and padded by ``d*(k-1) - p``. On that finer grid the
    jump is ``jump_in / s`` and the first window is centred at
    ``start_in + (p - (k_eff-1)/2) * jump_in / s``. The window covers ``k_eff`` grid points, of
    which only the real inputs matter: ``rf_out = rf_in + span * jump_in``, ``span`` the largest
    distance (in inputs) between two taps that land on real inputs.
    """
    k_eff = dilation * (kernel - 1) + 1
    span = 0
    for offset in range(stride):           # where the window falls relative to the real inputs
        hits = [t * dilation + offset for t in range(kernel) if (t * dilation + offset) % stride == 0]
        if hits:
            span = max(span, (hits[-1] - hits[0]) // stride)
    return (rf + span * jump, jump / stride, start + (padding - (k_eff - 1) / 2) * jump / stride)


# --------------------------------------------------------------------------- the pure function

@dataclass(frozen=True)
class RFStep:
    """The geometry after one layer of a chain.

    Attributes
    ----------
    index : int
        The layer's position in the chain (0 for the first).
    kernel, stride, padding, dilation : int
    rf : int
        Receptive field in input pixels.
    jump : int
        Effective stride (input pixels between neighbouring outputs).
    start : float
        Centre of the first output's window in input coordinates.
    rf_in, jump_in, start_in : int, int, float
        The geometry before this layer.

    Examples
    --------
    >>> step = receptive_field([(3, 1, 1), (2, 2)])[1]     # a 2x2 stride-2 pool after a 3x3 conv
    >>> step.rf_in, step.rf, step.jump, step.start, step.effective_padding
    (3, 4, 2, 0.5, 1)
    >>> print(step.explain())
    k_eff = 1*(2-1) + 1 = 2
    jump = 1*2 = 2
    rf = 3 + (2-1)*1 = 4
    start = 0 + ((2-1)/2 - 0)*1 = 0.5
    """

    index: int
    kernel: int
    stride: int
    padding: int
    dilation: int
    rf: int
    jump: int
    start: float
    rf_in: int
    jump_in: int
    start_in: float

    @property
    def effective_padding(self) -> float:
        """``(rf - 1)/2 - start``: how far the first window reaches left of the image."""
        return _clean((self.rf - 1) / 2 - self.start)

    def explain(self) -> str:
        """The three recurrences with this layer's numbers filled in."""
        k_eff = self.dilation * (self.kernel - 1) + 1
        j = self.jump_in
        return "\n".join([
            f"k_eff = {self.dilation}*({self.kernel}-1) + 1 = {k_eff}",
            f"jump = {j}*{self.stride} = {self.jump}",
            f"rf = {self.rf_in} + ({k_eff}-1)*{j} = {self.rf}",
            f"start = {_num(self.start_in)} + (({k_eff}-1)/2 - {self.padding})*{j} = {_num(self.start)}",
        ])


class ReceptiveField(Sequence[RFStep]):
    """The per-layer geometry of a chain of layers: a sequence of :class:`RFStep`.

    ``rf``, ``jump``, ``start`` and ``effective_padding`` are the last layer's; ``str()`` prints a
    table with the recurrences.

    Examples
    --------
    >>> r = receptive_field([(3, 1, 1), (2, 2), (3, 1, 1)])   # conv 3x3 pad 1, pool 2x2, conv 3x3 pad 1
    >>> r
    ReceptiveField(rf=8, jump=2, start=0.5, layers=3)
    >>> len(r), [step.rf for step in r], r.effective_padding
    (3, [3, 4, 8], 3)
    >>> print(r)
    layer  k  s  p  d  rf  jump  start
        0  3  1  1  1   3     1      0
        1  2  2  0  1   4     2    0.5
        2  3  1  1  1   8     2    0.5
    input: rf = 1, jump = 1, start = 0 (pixel i is centred at i)
    jump_out = jump_in * s
    rf_out = rf_in + (k_eff - 1) * jump_in, k_eff = d*(k-1) + 1
    start_out = start_in + ((k_eff - 1)/2 - p) * jump_in
    """

    def __init__(self, steps: Sequence[RFStep]) -> None:
        self._steps = tuple(steps)

    def __getitem__(self, index):
        return self._steps[index]

    def __len__(self) -> int:
        return len(self._steps)

    def __iter__(self) -> Iterator[RFStep]:
        return iter(self._steps)

    def _last(self, name: str, default: float):
        return getattr(self._steps[-1], name) if self._steps else default

    @property
    def rf(self) -> int:
        return self._last("rf", 1)

    @property
    def jump(self) -> int:
        return self._last("jump", 1)

    @property
    def start(self) -> float:
        return self._last("start", 0.0)

    @property
    def effective_padding(self) -> float:
        return _clean((self.rf - 1) / 2 - self.start)

    def __repr__(self) -> str:
        return f"ReceptiveField(rf={self.rf}, jump={self.jump}, start={_num(self.start)}, layers={len(self)})"

    def __str__(self) -> str:
        header = ("layer", "k", "s", "p", "d", "rf", "jump", "start")
        rows = [header] + [(str(t.index), str(t.kernel), str(t.stride), str(t.padding), str(t.dilation), str(t.rf),
                            str(t.jump), _num(t.start)) for t in self._steps]
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in rows]
        lines.append("input: rf = 1, jump = 1, start = 0 (pixel i is centred at i)")
        lines.extend(RECURRENCES.splitlines())
        return "\n".join(lines)


def _spec(layer: Any, index: int, fn: str) -> tuple[int, int, int, int]:
    """(kernel, stride, padding, dilation) from a tuple (k[, s[, p[, d]]]) or a dict."""
    names = ("kernel", "stride", "padding", "dilation")
    if isinstance(layer, dict):
        unknown = set(layer) - set(names)
        if unknown or "kernel" not in layer:
            raise ValueError(f"{fn}: layers[{index}] expects a dict with 'kernel' and optionally 'stride', "
                             f"'padding', 'dilation', but got keys {sorted(layer)}")
        values = [layer.get(n, d) for n, d in zip(names, (None, 1, 0, 1))]
    elif isinstance(layer, (tuple, list)) and 1 <= len(layer) <= 4:
        values = list(layer) + [1, 0, 1][len(layer) - 1:]
    elif V._is_int(layer):
        values = [layer, 1, 0, 1]
    else:
        raise TypeError(f"{fn}: layers[{index}] expects a (kernel, stride, padding, dilation) tuple (trailing "
                        f"items optional), a dict or an int kernel, but got {layer!r}")
    if isinstance(values[2], str):
        raise ValueError(f"{fn}: layers[{index}] padding expects an int (the padding before the input; 'same' "
                         f"depends on the input size), but got {values[2]!r}")
    minimums = (1, 1, 0, 1)
    return tuple(V.check_int(v, f"layers[{index}] {n}", fn, minimum=m)  # type: ignore[return-value]
                 for v, n, m in zip(values, names, minimums))


def receptive_field(layers) -> ReceptiveField:
    """Receptive field, effective stride and first-window centre after each layer of a chain.

    Parameters
    ----------
    layers : sequence
        One spec per conv or pool layer, in order: a tuple ``(kernel, stride, padding,
        dilation)`` (trailing items may be left out: stride 1, padding 0, dilation 1), a dict
        with those keys (``kernel`` required), or an int kernel. Layers that do not change the
        geometry (ReLU, BatchNorm) are simply left out. ``padding`` is the padding before the
        input, an int.

    Returns
    -------
    ReceptiveField
        A sequence of :class:`RFStep` (``.rf``, ``.jump``, ``.start``, ``.effective_padding``,
        ``.explain()``), with the last layer's values as ``.rf``, ``.jump``, ``.start``.

    Notes
    -----
    With ``k_eff = d*(k-1) + 1``, starting from ``rf = 1, jump = 1, start = 0`` (input pixel
    ``i`` centred at ``i``)::

        jump_out  = jump_in * s
        rf_out    = rf_in + (k_eff - 1) * jump_in
        start_out = start_in + ((k_eff - 1)/2 - p) * jump_in

    Raises
    ------
    ValueError
        A kernel, stride or dilation below 1, a negative or string padding, a malformed dict.
    TypeError
        ``layers`` not a sequence, or a spec that is not a tuple, dict or int.

    Examples
    --------
    >>> r = receptive_field([(3, 2), (3, 1)])     # 3x3 stride 2, then 3x3
    >>> r.rf, r.jump
    (7, 2)
    >>> receptive_field([(3, 1, 0, 2)]).rf         # one 3x3 conv with dilation 2
    5
    """
    fn = "receptive_field"
    if isinstance(layers, (str, bytes, dict)) or not isinstance(layers, Sequence):
        raise TypeError(f"{fn}: layers expects a sequence of (kernel, stride, padding, dilation) specs, "
                        f"but got {type(layers).__name__}")
    rf, jump, start = 1, 1, 0.0
    steps = []
    for i, layer in enumerate(layers):
        k, s, p, d = _spec(layer, i, fn)
        new_rf, new_jump, new_start = conv_step(rf, jump, start, k, s, p, d)
        steps.append(RFStep(i, k, s, p, d, int(new_rf), int(new_jump), float(new_start), rf, jump, start))
        rf, jump, start = int(new_rf), int(new_jump), float(new_start)
    return ReceptiveField(steps)


# --------------------------------------------------------------------------- per-tensor geometry (for summary)

@dataclass(frozen=True)
class Geometry:
    """The geometry of a traced tensor relative to the model input, one entry per spatial dim.

    ``kind`` is ``'local'`` (``rf``, ``jump``, ``start`` hold), ``'global'`` (every value sees
    the whole input: after global pooling, a linear layer or a spatial reduction; ``rf`` is the
    input's size, ``jump`` and ``start`` are None) or ``'unknown'`` (no uniform step: ``jump``
    and ``start`` are None, ``rf`` the largest window where known, else NaN).
    """

    rf: tuple[float, ...]
    jump: tuple[float, ...] | None
    start: tuple[float, ...] | None
    kind: str = "local"

    @classmethod
    def image(cls, ndim: int) -> "Geometry":
        return cls((1,) * ndim, (1,) * ndim, (0.0,) * ndim)

    @classmethod
    def whole(cls, size: tuple[int, ...]) -> "Geometry":
        return cls(tuple(size), None, None, "global")

    @classmethod
    def unknown(cls, ndim: int) -> "Geometry":
        return cls((math.nan,) * ndim, None, None, "unknown")

    @property
    def local(self) -> bool:
        return self.kind == "local"

    def _passes(self) -> "Geometry":
        """What a spatial op makes of a non-local geometry: global stays, unknown loses its rf."""
        return self if self.kind == "global" else Geometry.unknown(len(self.rf))

    def conv(self, kernel, stride, pad_before, dilation) -> "Geometry":
        if not self.local:
            return self._passes()
        dims = [conv_step(*g, *layer) for g, layer in
                zip(zip(self.rf, self.jump, self.start), zip(kernel, stride, pad_before, dilation))]
        return Geometry(*map(tuple, zip(*dims)))

    def conv_transpose(self, kernel, stride, padding, dilation) -> "Geometry":
        if not self.local:
            return self._passes()
        dims = [conv_transpose_step(*g, *layer) for g, layer in
                zip(zip(self.rf, self.jump, self.start), zip(kernel, stride, padding, dilation))]
        return Geometry(*map(tuple, zip(*dims)))

    def shift(self, offsets, steps=None) -> "Geometry":
        """The geometry of ``x[..., a::t, b::u]`` (``offsets`` a, b; ``steps`` t, u) or, with a
        negative offset, of ``x`` padded by ``-offset`` before."""
        if not self.local:
            return self._passes()
        steps = steps or (1,) * len(offsets)
        return Geometry(self.rf, tuple(j * t for j, t in zip(self.jump, steps)),
                        tuple(s + a * j for s, a, j in zip(self.start, offsets, self.jump)))

    @staticmethod
    def merge(geometries: Sequence["Geometry"], image_size: tuple[int, ...]) -> tuple["Geometry", str | None]:
        """The geometry of a value computed from several same-shaped inputs (an addition, a
        concatenation along channels, ...): the union of their windows.

        Output position 0 depends on every input's window of position 0, ``[start - (rf-1)/2,
        start + (rf-1)/2]``; the merged window is their union: ``rf = hi - lo + 1``, ``start`` its
        centre. When all windows share their centre (ResNet's shortcut, Inception's branches),
        that is simply ``rf = max(rf)``. The jumps must agree; when they do not, the largest is
        kept and a note returned. A global input makes the result global; an unknown one
        unknown.
        """
        if len(geometries) == 1:
            return geometries[0], None
        if any(g.kind == "global" for g in geometries):
            return Geometry.whole(image_size), None
        if any(g.kind == "unknown" for g in geometries):
            return Geometry.unknown(len(image_size)), None
        note = None
        jumps = {g.jump for g in geometries}
        if len(jumps) > 1:
            note = (f"inputs with different effective strides {sorted(jumps)} were combined; the receptive field "
                    f"is that of the first output value, with the largest stride kept")
        rf, jump, start = [], [], []
        for dim in range(len(image_size)):
            lo = min(g.start[dim] - (g.rf[dim] - 1) / 2 for g in geometries)
            hi = max(g.start[dim] + (g.rf[dim] - 1) / 2 for g in geometries)
            rf.append(hi - lo + 1)
            start.append((lo + hi) / 2)
            jump.append(max(g.jump[dim] for g in geometries))
        return Geometry(tuple(rf), tuple(jump), tuple(start)), note

    def adaptive(self, in_size: tuple[int, ...], out_size: tuple[int, ...],
                 image_size: tuple[int, ...]) -> "Geometry":
        """Adaptive pooling from ``in_size`` to ``out_size`` bins per dim (bin ``i`` covers
        ``[floor(i*n/o), ceil((i+1)*n/o))``): an ordinary pool with ``k = s = n/o`` when ``o``
        divides ``n``; global when every ``o`` is 1; otherwise the bins differ in size and step,
        so the rf is the largest bin's and the jump and start are unknown (None)."""
        if not self.local:
            return self._passes()
        if all(o == 1 for o in out_size):
            return Geometry.whole(image_size)
        if all(n % o == 0 for n, o in zip(in_size, out_size)):
            ks = tuple(n // o for n, o in zip(in_size, out_size))
            return self.conv(ks, ks, (0,) * len(ks), (1,) * len(ks))
        rf = []
        for n, o, r, j in zip(in_size, out_size, self.rf, self.jump):
            widest = max(-(-(i + 1) * n // o) - (i * n // o) for i in range(o))
            rf.append(r + (widest - 1) * j)
        return Geometry(tuple(rf), None, None, "unknown")
