"""Where one output cell of a layer looks: its receptive field drawn on the input.

The numbers come from :func:`convscope.summary` (see :mod:`convscope.analysis.model_summary`):
for the layer's record, per spatial dim, the receptive field ``rf``, the jump (effective stride)
``j`` and the start ``s`` (the centre of the first output's window, input pixel ``i`` centred
at ``i``). Output cell ``k`` of that dim is centred at ``s + k * j`` and sees the ``rf`` input
pixels ``s + k * j - (rf - 1) / 2 .. s + k * j + (rf - 1) / 2``. Near the border part of that
window lies outside the image, on the padding.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _validation as V
from ._common import FIGURE_SUFFIXES, as_image_batch, check_output_path, finish, get_layer, input_channels, new_figure
from .features import _check_model, _display_image, _shape_text
from .filters import _wrap

__all__ = ["receptive_window", "receptive_field_overlay", "RECEPTIVE_COLOUR"]

#: The colour of the window drawn on the input (and of the chosen output cell).
RECEPTIVE_COLOUR = "#00c8ff"


def _record(model, layer, input_shape, fn: str):
    """The layer's name and the summary record of its output (the last call of a leaf, or for a
    container the last leaf call inside it)."""
    from ..analysis.model_summary import summary

    _check_model(model, fn)
    name, module = get_layer(model, layer, fn)
    table = summary(model, input_shape)
    inside = [r for r in table if r.name == name or r.name.startswith(name + ".")]
    if not inside:
        raise ValueError(f"{fn}: layer expects a layer that the forward pass calls, but {name!r} did not run")
    return name, module, inside[-1]


def _window(record, name: str, position, spatial, fn: str):
    """((row0, row1), (col0, col1)) half-open and unclipped, the output size, and the numbers."""
    out = record.output_shape
    if out is None or len(out) != 4:
        shape = "?" if out is None else _shape_text(out[1:])
        raise ValueError(f"{fn}: layer expects a layer with 2-D output maps (1, C, h, w), but {name!r} "
                         f"({record.type}) gives {shape}" + (": every output sees the whole input"
                                                            if record.global_rf else ""))
    size = tuple(int(v) for v in out[2:])
    if not isinstance(position, (tuple, list)) or len(position) != 2:
        raise TypeError(f"{fn}: position expects a (row, col) pair, but got {position!r}")
    row, col = (V.check_int(v, "position", fn) for v in position)
    if not (0 <= row < size[0] and 0 <= col < size[1]):
        raise ValueError(f"{fn}: position expects (row, col) inside {name!r}'s {size[0]}\u00d7{size[1]} output "
                         f"(rows 0..{size[0] - 1}, cols 0..{size[1] - 1}), but got ({row}, {col})")
    if record.global_rf:
        return ((0, spatial[0]), (0, spatial[1])), size, None
    if record.receptive_field is None or record.jump is None or record.start is None:
        raise ValueError(f"{fn}: layer expects a layer whose receptive field is known, but summary could not "
                         f"follow {name!r} ({record.type})")
    bounds = []
    for index, rf, jump, start in zip((row, col), record.receptive_field, record.jump, record.start):
        centre = start + index * jump
        low, high = centre - (rf - 1) / 2, centre + (rf - 1) / 2
        bounds.append((math.floor(low + 1e-9), math.ceil(high - 1e-9) + 1))
    return tuple(bounds), size, (record.receptive_field, record.jump, record.start)


def _clip(window, spatial):
    return tuple((max(0, lo), min(n, hi)) for (lo, hi), n in zip(window, spatial))


def _outside(window, spatial):
    """The parts of ``window`` beyond the image, as up to four ((row0, row1), (col0, col1)) strips."""
    (r0, r1), (c0, c1) = window
    height, width = spatial
    strips = [((r0, min(r1, 0)), (c0, c1)), ((max(r0, height), r1), (c0, c1))]
    rows = (max(r0, 0), min(r1, height))
    strips += [(rows, (c0, min(c1, 0))), (rows, (max(c0, width), c1))]
    return [(r, c) for r, c in strips if r[1] > r[0] and c[1] > c[0]]


def _input_shape(input_shape, fn: str) -> tuple[int, ...]:
    from ..analysis.model_summary import parse_shape

    shape = parse_shape(input_shape, fn, "input_shape")
    if len(shape) != 3:
        raise ValueError(f"{fn}: input_shape expects (C, H, W), but got {input_shape!r}")
    return shape


def receptive_window(model, layer, position, input_shape, *, clip: bool = True):
    """The input pixels that one output cell of ``layer`` sees, as half-open row and column ranges.

    Parameters
    ----------
    model : Module
    layer : str or Module
        A layer (name as ``named_modules()`` gives it) with output ``(1, C, h, w)``. A container
        (a ResNet block) stands for the last layer it calls; a layer called more than once, for
        its last call.
    position : (int, int)
        ``(row, col)`` of the cell in that layer's ``h x w`` output.
    input_shape : tuple of int or str
        One input's ``(C, H, W)`` (or ``'1x28x28'``).
    clip : bool
        Clip the window to the image (default); ``False`` gives the full window, which reaches
        outside ``0..H`` / ``0..W`` where the layers pad.

    Returns
    -------
    ((row0, row1), (col0, col1))
        ``image[row0:row1, col0:col1]`` is what the cell sees. Unclipped, the window is
        ``rf`` pixels per dim centred on ``start + index * jump`` (see the module notes).

    Raises
    ------
    ValueError
        An unknown layer (the message lists them); ``position`` outside the layer's output (the
        message gives its size); a layer without 2-D maps; a bad ``input_shape``.
    TypeError
        ``position`` not a pair of integers; ``model`` not a Module.

    Examples
    --------
    >>> from convscope import models
    >>> net = models.lenet5()            # conv 5x5 pad 2, pool 2, conv 5x5, pool 2
    >>> receptive_window(net, "3", (0, 0), (1, 28, 28))          # rf 14, jump 2, start 4.5
    ((0, 12), (0, 12))
    >>> receptive_window(net, "3", (0, 0), (1, 28, 28), clip=False)
    ((-2, 12), (-2, 12))
    """
    fn = "receptive_window"
    shape = _input_shape(input_shape, fn)
    name, _, record = _record(model, layer, shape, fn)
    window, _, _ = _window(record, name, position, shape[1:], fn)
    return _clip(window, shape[1:]) if clip else window


def _range_text(lo: int, hi: int) -> str:
    return f"{lo} to {hi - 1}".replace("-", "\u2212")


def _number(value) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:g}"


def _pair(values) -> str:
    items = [_number(v) for v in values]
    return items[0] if len(set(items)) == 1 else "\u00d7".join(items)


def receptive_field_overlay(model, layer, position, image, *, path=None):
    """Figure: the receptive field of one output cell of ``layer`` drawn on the input image.

    Parameters
    ----------
    model : Module
    layer : str or Module
        As for :func:`receptive_window`.
    position : (int, int)
        ``(row, col)`` of the cell in that layer's output.
    image : array_like or Tensor
        One image, ``(H, W)``, ``(C, H, W)`` or ``(1, C, H, W)``; its shape is the input shape.
    path : str or os.PathLike, optional
        Also save the figure there (``.png``, ``.svg`` or ``.gif``).

    Returns
    -------
    matplotlib.figure.Figure
        Two Axes. Left, the input with the window: the part inside the image outlined and
        lightly filled, the whole window dashed (the part beyond the image is padding, hatched),
        the cell's centre marked. Right, the layer's ``h x w`` output grid with the cell
        highlighted. The title gives the receptive field, jump, start, centre and the window's
        rows and columns.

    Raises
    ------
    ValueError, TypeError
        As :func:`receptive_window`; a wrong image shape.
    PermissionError
        ``path`` is in a folder that is not writable (checked before any work).

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import models
    >>> fig = receptive_field_overlay(models.lenet5(), "3", (0, 0), np.zeros((28, 28)))
    >>> print(fig.get_suptitle())   # doctest: +NORMALIZE_WHITESPACE
    Layer 3 (Conv2d), output cell (row 0, col 0) of 10×10: receptive field 14 px, jump 2, start 4.5, so centred
    at (4.5, 4.5), rows −2 to 11 and cols −2 to 11; inside the image: rows 0 to 11, cols 0 to 11 (the rest
    is padding, hatched)
    """
    fn = "receptive_field_overlay"
    if path is not None:
        check_output_path(path, fn, FIGURE_SUFFIXES)
    _check_model(model, fn)
    batch = as_image_batch(image, fn, input_channels(model))
    shape = batch.shape[1:]
    name, module, record = _record(model, layer, shape, fn)
    window, size, numbers = _window(record, name, position, shape[1:], fn)
    inside = _clip(window, shape[1:])
    (r0, r1), (c0, c1) = window
    (ir0, ir1), (ic0, ic1) = inside
    row, col = (int(v) for v in position)
    height, width = shape[1:]

    from matplotlib import patheffects
    from matplotlib.patches import Rectangle

    fig = new_figure(fn, (9.0, 4.9), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[1.25, 1])
    shown, cmap, note = _display_image(batch)
    left.imshow(shown, cmap=cmap, interpolation="nearest")
    pad = max(1, round(0.04 * max(height, width)))
    left.set_xlim(min(-0.5, c0 - 0.5) - pad, max(width - 0.5, c1 - 0.5) + pad)
    left.set_ylim(max(height - 0.5, r1 - 0.5) + pad, min(-0.5, r0 - 0.5) - pad)
    left.add_patch(Rectangle((-0.5, -0.5), width, height, fill=False, edgecolor="0.5", linewidth=0.8))
    clipped = window != inside
    if clipped:
        for (top, bottom), (first, last) in _outside(window, (height, width)):
            left.add_patch(Rectangle((first - 0.5, top - 0.5), last - first, bottom - top, fill=False, hatch="///",
                                     edgecolor=RECEPTIVE_COLOUR, linewidth=0.0, alpha=0.7))
        left.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0, r1 - r0, fill=False, linestyle="--",
                                 edgecolor=RECEPTIVE_COLOUR, linewidth=1.2, label="whole window (hatched: padding)"))
    # Darken what the cell does not see, so the window stands out on any image.
    shade = np.zeros((height, width, 4))
    shade[..., 3] = 0.6
    shade[ir0:ir1, ic0:ic1, 3] = 0.0
    left.imshow(shade, interpolation="nearest", extent=(-0.5, width - 0.5, height - 0.5, -0.5))
    halo = [patheffects.withStroke(linewidth=4.0, foreground="black")]
    left.add_patch(Rectangle((ic0 - 0.5, ir0 - 0.5), ic1 - ic0, ir1 - ir0, fill=False, path_effects=halo,
                             edgecolor=RECEPTIVE_COLOUR, linewidth=2.0, label="window inside the image"))
    if numbers is not None:
        rf, jump, start = numbers
        centre = (start[0] + row * jump[0], start[1] + col * jump[1])
        left.plot([centre[1]], [centre[0]], marker="+", markersize=11, markeredgewidth=2, path_effects=halo,
                  color=RECEPTIVE_COLOUR, linestyle="none", label="centre")
    left.set_title(f"input {_shape_text(shape)}" + (f" ({note})" if note else ""), fontsize=9)
    left.set_xlabel("column (pixels)", fontsize=8)
    left.set_ylabel("row (pixels)", fontsize=8)
    left.tick_params(labelsize=7)
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3, fontsize=7, frameon=False)

    grid = np.zeros(size)
    right.imshow(grid, cmap="Greys", vmin=0, vmax=1, interpolation="nearest")
    right.set_xticks(np.arange(-0.5, size[1], 1), minor=True)
    right.set_yticks(np.arange(-0.5, size[0], 1), minor=True)
    right.grid(which="minor", color="0.8", linewidth=0.5 if max(size) <= 40 else 0.0)
    right.tick_params(which="minor", length=0)
    right.tick_params(labelsize=7)
    right.add_patch(Rectangle((col - 0.5, row - 0.5), 1, 1, facecolor=RECEPTIVE_COLOUR, edgecolor="black",
                              linewidth=1.0))
    right.set_title(f"output of {name} ({type(module).__name__}): {size[0]}\u00d7{size[1]}, "
                    f"cell ({row}, {col})", fontsize=9)
    right.set_xlabel("column", fontsize=8)
    right.set_ylabel("row", fontsize=8)

    head = (f"Layer {name} ({record.type}), output cell (row {row}, col {col}) of {size[0]}\u00d7{size[1]}: ")
    if numbers is None:
        text = head + "every output sees the whole input (global receptive field)"
    else:
        rf, jump, start = numbers
        text = (head + f"receptive field {_pair(rf)} px, jump {_pair(jump)}, start {_pair(start)}, so centred "
                f"at ({_number(start[0] + row * jump[0])}, {_number(start[1] + col * jump[1])}), "
                f"rows {_range_text(r0, r1)} and cols {_range_text(c0, c1)}")
        if clipped:
            text += (f"; inside the image: rows {_range_text(ir0, ir1)}, cols {_range_text(ic0, ic1)} "
                     "(the rest is padding, hatched)")
    fig.suptitle(_wrap(text, 8.7), fontsize=9.5)
    return finish(fig, path, fn)
