"""Pictures of convolution filters: the weights as tiles, and learned filters beside designed ones.

:func:`filter_grid` draws every tap of a conv layer's weight ``(O, C, kH, kW)`` as one square
pixel (nearest neighbour, no smoothing, a thin grid between taps when they are big enough on the
page), following the colour convention of :mod:`convscope.viz._common`:

- ``C == 3`` (a first layer looking at RGB images): each filter is one colour tile, its input
  channels 0, 1, 2 read as red, green and blue. One scale ``m`` (the largest ``|weight|`` shown)
  maps every weight ``v`` to the channel intensity ``0.5 + 0.5 * v / m``: 0 is mid grey, ``+m``
  full intensity of that channel, ``-m`` none of it. So a filter that is ``+m`` in the red
  channel and 0 elsewhere is ``(1, 0.5, 0.5)``, a light red; one that is ``-m`` there is
  ``(0, 0.5, 0.5)``, a teal.
- ``C == 1``: a compact grid of tiles, ``"filter i"`` above each.
- otherwise: one tile per (filter, input channel), rows = filters, columns = input channels
  (the first ``max_channels`` of them; the title says when some are left out).

Single-channel tiles use the diverging :data:`~convscope.viz._common.SIGNED_CMAP` with one
symmetric scale ``-m .. +m`` for all tiles and one colour bar, so white is 0 everywhere and
tiles compare with each other.

:func:`match_classic` and :func:`nearest_classic` set each learned filter beside the classic
kernel of :mod:`convscope.filters.kernels` that :func:`convscope.filters.describe` finds closest.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import _validation as V
from .. import filters as _classic
from ..autograd import Tensor
from ._common import FIGURE_SUFFIXES, SIGNED_CMAP, check_output_path, finish, new_figure, symmetric_limit

__all__ = ["filter_grid", "ClassicMatch", "match_classic", "nearest_classic"]

_ACCEPTS = "a Conv2d or ConvTranspose2d layer, or weights of shape (O, C, kH, kW), (C, kH, kW) or (kH, kW)"
_FRAME = "0.35"           # tile frames: dark grey
_TAP_LINE = "0.62"        # the grid between taps: light grey
_MIN_TAP_INCHES = 0.07    # draw the grid between taps only when a tap is at least this big


# --------------------------------------------------------------------------- input

@dataclass(frozen=True)
class _Bank:
    weights: np.ndarray        # (O, C, kH, kW) float64
    source: str                # "Conv2d 3->64, 11x11 kernels" or "weights 64x3x11x11"
    single_kernel: bool        # given as one 2-D kernel
    groups: int


def _bank(weight_or_layer: Any, fn: str) -> _Bank:
    """The weights as float64 ``(O, C, kH, kW)`` with a description of where they came from."""
    from .. import nn

    obj = weight_or_layer
    if isinstance(obj, nn.Module):
        if isinstance(obj, (nn.Conv2d, nn.ConvTranspose2d)):
            w = np.asarray(obj.weight.data, dtype=np.float64)
            kh, kw = w.shape[2:]
            groups = int(obj.groups)
            if isinstance(obj, nn.ConvTranspose2d):     # stored (in, out/groups, kH, kW)
                w = w.swapaxes(0, 1)
            extra = f", groups={groups}" if groups != 1 else ""
            source = f"{type(obj).__name__} {obj.in_channels}\u2192{obj.out_channels}, {kh}\u00d7{kw} kernels{extra}"
            return _Bank(_checked_values(w, fn), source, False, groups)
        rank = len(getattr(obj, "kernel_size", ()) or ())
        if isinstance(obj, (nn.Conv1d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose3d)):
            raise ValueError(f"{fn}: weight_or_layer expects a conv layer with 2-D kernels (Conv2d, ConvTranspose2d), "
                             f"but got {type(obj).__name__} with {rank}-D kernels")
        hint = " (pass its .depthwise or .pointwise conv)" if isinstance(obj, nn.DepthwiseSeparableConv2d) else ""
        raise TypeError(f"{fn}: weight_or_layer expects {_ACCEPTS}, but got a {type(obj).__name__} module{hint}")
    if isinstance(obj, Tensor):
        array = obj.data
    else:
        try:
            array = np.asarray(obj)
        except (TypeError, ValueError):
            raise TypeError(f"{fn}: weight_or_layer expects {_ACCEPTS}, but got {type(obj).__name__}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{fn}: weight_or_layer expects real numbers, but got dtype {array.dtype}")
    if array.ndim not in (2, 3, 4):
        raise ValueError(f"{fn}: weight_or_layer expects {_ACCEPTS}, but got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{fn}: weight_or_layer expects non-empty weights, but got shape {array.shape}")
    given = "\u00d7".join(map(str, array.shape))
    w = array.astype(np.float64).reshape((1,) * (4 - array.ndim) + array.shape)
    if array.ndim == 2:
        source = f"one {given} kernel"
    elif array.ndim == 3:
        source = f"one filter of {array.shape[0]} input channel{'s' * (array.shape[0] != 1)}, " + \
            "\u00d7".join(map(str, array.shape[1:]))
    else:
        source = f"weights {given}"
    return _Bank(_checked_values(w, fn), source, array.ndim < 4, 1)


def _checked_values(w: np.ndarray, fn: str) -> np.ndarray:
    if not np.all(np.isfinite(w)):
        raise ValueError(f"{fn}: weight_or_layer expects finite weights, but they hold NaN or infinity")
    return w


# --------------------------------------------------------------------------- drawing helpers

def _tile_segments(origins, kh: int, kw: int, taps: bool):
    """Line segments of each tile's frame and (when ``taps``) of the grid between its taps."""
    frames, grid = [], []
    for r0, c0 in origins:
        top, left, bottom, right = r0 - 0.5, c0 - 0.5, r0 + kh - 0.5, c0 + kw - 0.5
        frames += [[(left, top), (right, top)], [(right, top), (right, bottom)],
                   [(right, bottom), (left, bottom)], [(left, bottom), (left, top)]]
        if taps:
            grid += [[(left + j, top), (left + j, bottom)] for j in range(1, kw)]
            grid += [[(left, top + i), (right, top + i)] for i in range(1, kh)]
    return frames, grid


def _draw_lines(ax, origins, kh: int, kw: int, taps: bool) -> None:
    from matplotlib.collections import LineCollection

    frames, grid = _tile_segments(origins, kh, kw, taps)
    if grid:
        ax.add_collection(LineCollection(grid, colors=_TAP_LINE, linewidths=0.4, zorder=3))
    ax.add_collection(LineCollection(frames, colors=_FRAME, linewidths=0.7, zorder=4))


def _span(indices: list[int]) -> str:
    return f"{indices[0]}\u2013{indices[-1]}" if len(indices) > 1 else f"{indices[0]}"


def _wrap(text: str, width_inches: float, points: float = 10.0) -> str:
    chars = max(24, int(width_inches * 72 / (0.62 * points)))
    return "\n".join(textwrap.fill(part, chars) for part in text.split("\n"))


def _number(value: float) -> str:
    return f"{value:.3g}"


# --------------------------------------------------------------------------- filter_grid

def filter_grid(weight_or_layer, *, max_filters: int = 64, max_channels: int = 8, rgb: bool | None = None,
                title: str | None = None, path=None):
    """Draw a conv layer's filters, one pixel per tap, on one shared colour scale.

    Parameters
    ----------
    weight_or_layer : Conv2d, ConvTranspose2d, Tensor or array_like
        A layer (its ``weight``; a transposed conv's ``(C_in, C_out/groups, kH, kW)`` is shown
        as ``(C_out/groups, C_in, kH, kW)``, rows its output channels), or weights
        ``(O, C, kH, kW)``; ``(C, kH, kW)`` is *one* filter with ``C`` input channels (what
        ``weight[o]`` gives) and ``(kH, kW)`` one single-channel kernel.
    max_filters : int
        Show filters ``0 .. max_filters - 1`` at most (the title says how many there are).
    max_channels : int
        When each filter is drawn one tile per input channel, show input channels
        ``0 .. max_channels - 1`` at most (the title says how many there are).
    rgb : bool or None
        Draw 3-channel filters as colour tiles. None (default): when ``C == 3``. False: one signed
        tile per channel even then.
    title : str, optional
        Replaces the default title (which says what is shown and what was left out).
    path : str or os.PathLike, optional
        Also save the figure there (``.png``, ``.svg`` or ``.gif``).

    Returns
    -------
    matplotlib.figure.Figure
        One Axes holding all tiles as one image, tap ``(i, j)`` of a tile one data unit, each
        tile framed and labelled by an annotation at its edge (``"filter 3"``, ``"in 0"``),
        plus a colour bar unless the tiles are RGB. With one tile per input channel, a long
        stack of filter rows wraps into up to 4 blocks side by side.

    Raises
    ------
    TypeError
        A module that is not a 2-D conv, non-numeric weights, a non-integer count.
    ValueError
        Weights that are not 2-, 3- or 4-D, are empty or not finite; a 1-D or 3-D conv layer;
        ``rgb=True`` with ``C != 3``; a count below 1.
    PermissionError
        ``path`` is in a folder that is not writable (checked before drawing).

    Notes
    -----
    The colour of weight ``v`` depends on ``m``, the largest ``|weight|`` among the tiles shown:
    single-channel tiles map ``-m .. 0 .. +m`` to blue, white, red; RGB tiles map each channel to
    ``0.5 + 0.5 * v / m`` (0 mid grey, ``+m`` full, ``-m`` none). Equal colours mean equal
    weights across the whole figure.

    Examples
    --------
    >>> from convscope import models
    >>> from convscope.viz.filters import filter_grid
    >>> fig = filter_grid(models.lenet5()[0])            # 6 filters of 1 channel, 5x5
    >>> fig.get_suptitle()
    'Conv2d 1\u21926, 5\u00d75 kernels: all 6 filters'
    >>> fig = filter_grid([[1.0, 0.0], [0.0, -1.0]])     # one 2x2 kernel
    """
    fn = "filter_grid"
    max_filters = V.check_int(max_filters, "max_filters", fn, minimum=1)
    max_channels = V.check_int(max_channels, "max_channels", fn, minimum=1)
    if rgb is not None and not isinstance(rgb, (bool, np.bool_)):
        raise TypeError(f"{fn}: rgb expects True, False or None, but got {rgb!r} ({type(rgb).__name__})")
    if path is not None:
        check_output_path(path, fn, FIGURE_SUFFIXES)
    bank = _bank(weight_or_layer, fn)
    w = bank.weights
    n_out, n_in, kh, kw = w.shape
    if rgb and n_in != 3:
        raise ValueError(f"{fn}: rgb=True expects filters with 3 input channels, but got {n_in}")
    as_rgb = n_in == 3 if rgb is None else bool(rgb)
    filters = list(range(min(n_out, max_filters)))
    shown_filters = ("" if bank.single_kernel else
                     f"all {n_out} filters" if len(filters) == n_out else
                     f"filters {_span(filters)} of {n_out} (max_filters={max_filters})")

    k = max(kh, kw)
    if as_rgb or n_in == 1:
        layout, channels, blocks = "compact", list(range(n_in)), 1
        ncols = len(filters) if len(filters) <= 8 else math.ceil(math.sqrt(len(filters)))
        nrows = math.ceil(len(filters) / ncols)
        t = min(1.3, max(0.55, 7.0 / ncols))                  # a tile's side in inches
        t = max(t, min(2.2, (3.2 if as_rgb else 2.3) / ncols))  # a small grid still fills a readable width
        cells = [(i // ncols, i % ncols) for i in range(len(filters))]
    else:
        layout, channels = "channels", list(range(min(n_in, max_channels)))
        ncols = len(channels)
        # A long stack of filter rows wraps into side-by-side blocks (at most 4), keeping the
        # figure about 1.5 times taller than wide.
        blocks = max(1, min(4, round(math.sqrt(len(filters) / (1.5 * ncols)))))
        nrows = math.ceil(len(filters) / blocks)
        t = min(0.5, max(0.3, 5.0 / (ncols * blocks)), max(0.3, 12.0 / nrows))
        cells = [(i % nrows, i // nrows) for i in range(len(filters))]   # (row, block) of each filter
    shown = w[np.ix_(filters, channels)]
    m = symmetric_limit([shown])

    # The mosaic, in taps: u inches per tap; gaps, and bands for the labels, are whole taps.
    u = t / k
    hgap = max(1, round(0.08 / u))
    labelled = layout == "channels" or n_out > 1
    if layout == "compact":
        vgap = max(1, math.ceil(0.2 / u)) if labelled else hgap
        top = vgap if labelled else 0                      # the labels above the first row
        width = ncols * kw + (ncols - 1) * hgap
        height = top + nrows * kh + (nrows - 1) * vgap
        origins = [(top + r * (kh + vgap), c * (kw + hgap)) for r, c in cells]
        tiles = [(o, 0) for o in filters]
    else:
        vgap = hgap
        label_w = math.ceil(0.62 / u)                      # "filter 63" left of each row
        block_w = label_w + ncols * kw + (ncols - 1) * hgap
        block_gap = math.ceil(0.15 / u)
        bottom = math.ceil(0.2 / u)                        # "in 0" ... under the last row
        width = blocks * block_w + (blocks - 1) * block_gap
        height = nrows * kh + (nrows - 1) * vgap + bottom
        origins, tiles = [], []
        for o, (r, b) in zip(filters, cells):
            for j, c in enumerate(channels):
                origins.append((r * (kh + vgap), b * (block_w + block_gap) + label_w + j * (kw + hgap)))
                tiles.append((o, c))

    if as_rgb:
        mosaic = np.zeros((height, width, 4))
        for (r0, c0), o in zip(origins, filters):
            mosaic[r0:r0 + kh, c0:c0 + kw, :3] = np.clip(0.5 + 0.5 * w[o].transpose(1, 2, 0) / m, 0.0, 1.0)
            mosaic[r0:r0 + kh, c0:c0 + kw, 3] = 1.0
    else:
        mosaic = np.full((height, width), np.nan)
        for (r0, c0), (o, c) in zip(origins, tiles):
            mosaic[r0:r0 + kh, c0:c0 + kw] = w[o, c]

    axes_w, axes_h = width * u, height * u
    right = 0.15 if as_rgb else 1.0
    if title is None:
        title = bank.source + (f": {shown_filters}" if shown_filters else "")
        if layout == "channels" and len(channels) < n_in:
            title += f"; input channels {_span(channels)} of {n_in} (max_channels={max_channels})"
    fig_w = max(3.6, axes_w + 0.3 + right)
    title = _wrap(title, fig_w - 0.3)
    fig_h = axes_h + 0.75 + 0.17 * title.count("\n")
    fig = new_figure(fn, (fig_w, fig_h), layout="constrained")
    ax = fig.add_subplot()
    if as_rgb:
        image = ax.imshow(mosaic, interpolation="nearest")
    else:
        image = ax.imshow(mosaic, cmap=SIGNED_CMAP, vmin=-m, vmax=m, interpolation="nearest")
    _draw_lines(ax, origins, kh, kw, taps=u >= _MIN_TAP_INCHES)
    ax.set_axis_off()
    text = dict(textcoords="offset points", fontsize=7, annotation_clip=False)
    if layout == "compact" and labelled:
        for (r0, c0), o in zip(origins, filters):
            ax.annotate(f"filter {o}", xy=(c0 + (kw - 1) / 2, r0 - 0.5), xytext=(0, 1.5), ha="center", va="bottom",
                        **text)
    elif layout == "channels":
        last_row = (nrows - 1) * (kh + vgap) + kh - 0.5
        for (r0, c0), (o, c) in zip(origins, tiles):
            if c == channels[0]:
                ax.annotate(f"filter {o}", xy=(c0 - 0.5, r0 + (kh - 1) / 2), xytext=(-3, 0), ha="right",
                            va="center", **text)
            if r0 == 0:
                ax.annotate(f"in {c}", xy=(c0 + (kw - 1) / 2, last_row), xytext=(0, -2), ha="center", va="top",
                            **text)
    fig.suptitle(title, fontsize=10)
    if as_rgb:
        caption = (f"each tile: input channels 0, 1, 2 as red, green, blue; mid grey = 0, full colour = +m, "
                   f"none = \u2212m, m = {_number(m)} (one scale for all tiles)")
    else:
        caption = "blue < 0 < red, white = 0; one colour scale for all tiles"
        if layout == "channels":
            caption = "rows: filters (output channels), columns: their input channels; " + caption
        bar = fig.colorbar(image, ax=ax, shrink=min(1.0, max(0.35, 3.5 / max(axes_h, 1e-9))), aspect=18, pad=0.02)
        bar.set_ticks([-m, 0.0, m], labels=[f"\u2212{_number(m)}", "0", _number(m)])
        bar.set_label("weight", fontsize=8)
        bar.ax.tick_params(labelsize=7)
    fig.supxlabel(_wrap(caption, fig_w - 0.3, 8), fontsize=8, color="0.25")
    return finish(fig, path, fn)


# --------------------------------------------------------------------------- learned vs designed

@dataclass(frozen=True, eq=False)
class ClassicMatch:
    """One learned filter and the classic kernel :func:`convscope.filters.describe` finds nearest.

    Attributes
    ----------
    filter : int
        Index of the filter (output channel) in the weight.
    channel : int
        The input channel whose 2-D kernel represents the filter: the one with the largest
        Euclidean norm (the first on a tie; 0 for a single-channel filter).
    learned : ndarray, shape (kH, kW)
        ``weight[filter, channel]`` as float64 (read-only).
    name : str or None
        The nearest registry name as ``describe`` reports it: with a leading ``'-'`` when the
        learned kernel is the *negated* classic one (``'-sobel_x'``). None when nothing fits the
        shape or the kernel is all zeros.
    params : dict
        The keyword arguments of :func:`convscope.filters.kernels.get` that build it.
    similarity : float
        ``|r|`` in ``[0, 1]``, ``r`` the Pearson correlation of the two kernels' taps (0 when
        ``name`` is None).
    classic : ndarray or None
        ``sign * kernels.get(kernel_name, **params)``, zero-padded equally on both sides to the
        learned kernel's shape exactly as ``describe`` compared them (read-only); None when
        ``name`` is None.
    description : KernelDescription or None
        All of ``describe``'s findings (orientation, separability...) for the learned kernel.

    Examples
    --------
    >>> from convscope.filters import kernels
    >>> from convscope.viz.filters import match_classic
    >>> match = match_classic(kernels.sobel_x()[None, None])[0]
    >>> match.filter, match.channel, match.learned.shape
    (0, 0, (3, 3))
    """

    filter: int
    channel: int
    learned: np.ndarray
    name: str | None
    params: dict[str, Any] = field(default_factory=dict)
    similarity: float = 0.0
    classic: np.ndarray | None = None
    description: Any = None

    @property
    def kernel_name(self) -> str | None:
        """``name`` without its sign: the registry name to pass to ``kernels.get``."""
        return None if self.name is None else self.name.lstrip("-")

    @property
    def sign(self) -> int:
        """-1 when the learned kernel matches the negated classic kernel, else +1."""
        return -1 if self.name is not None and self.name.startswith("-") else 1


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.float64, copy=True)
    a.flags.writeable = False
    return a


def _match(w: np.ndarray, o: int) -> ClassicMatch:
    norms = np.sqrt((w[o] ** 2).sum(axis=(1, 2)))
    c = int(np.argmax(norms))
    learned = _readonly(w[o, c])
    if not learned.any():
        return ClassicMatch(o, c, learned, None)
    description = _classic.describe(learned)
    if description.nearest is None:
        return ClassicMatch(o, c, learned, None, description=description)
    name, similarity = description.nearest
    params = dict(description.nearest_params)
    base = name.lstrip("-")
    kernel = _classic.kernels.get(base, **params) * (-1.0 if name.startswith("-") else 1.0)
    top, left = learned.shape[0] - kernel.shape[0], learned.shape[1] - kernel.shape[1]
    kernel = np.pad(kernel, ((top // 2, top - top // 2), (left // 2, left - left // 2)))
    return ClassicMatch(o, c, learned, name, params, float(similarity), _readonly(kernel), description)


def match_classic(weight_or_layer, *, max_filters: int | None = None) -> list[ClassicMatch]:
    """For each learned filter, the nearest classic kernel (by :func:`convscope.filters.describe`).

    Parameters
    ----------
    weight_or_layer : Conv2d, ConvTranspose2d, Tensor or array_like
        As for :func:`filter_grid`: a layer, weights ``(O, C, kH, kW)``, one filter
        ``(C, kH, kW)`` or one kernel ``(kH, kW)``.
    max_filters : int, optional
        Match filters ``0 .. max_filters - 1`` only (default: all).

    Returns
    -------
    list of ClassicMatch
        One per filter, in order. A filter with several input channels is represented by its
        input channel of largest norm (``ClassicMatch.channel``): the slice that contributes
        most to the filter's response, and for a first layer on grey or colour images, the
        colour the filter looks at most.

    Raises
    ------
    TypeError, ValueError
        As :func:`filter_grid` for the weights; a bad ``max_filters``.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope.filters import kernels
    >>> from convscope.viz.filters import match_classic
    >>> w = np.stack([kernels.sobel_x(), -kernels.laplacian()])[:, None]     # (2, 1, 3, 3)
    >>> [(m.filter, m.name, round(m.similarity, 3)) for m in match_classic(w)]
    [(0, 'sobel_x', 1.0), (1, '-laplacian', 1.0)]
    >>> bool(np.allclose(match_classic(w)[1].classic, w[1, 0]))
    True
    """
    fn = "match_classic"
    bank = _bank(weight_or_layer, fn)
    n = bank.weights.shape[0]
    if max_filters is not None:
        n = min(n, V.check_int(max_filters, "max_filters", fn, minimum=1))
    return [_match(bank.weights, o) for o in range(n)]


def _params_text(params: dict[str, Any]) -> str:
    def show(value: Any) -> str:
        if isinstance(value, tuple):
            return "(" + ", ".join(show(v) for v in value) + ")"
        return f"{value:.3g}" if isinstance(value, float) else str(value)

    return ", ".join(f"{key}={show(value)}" for key, value in params.items())


def nearest_classic(weight_or_layer, *, max_filters: int = 16, title: str | None = None, path=None):
    """Learned vs designed: each learned filter beside its nearest classic kernel and the similarity.

    Parameters
    ----------
    weight_or_layer : Conv2d, ConvTranspose2d, Tensor or array_like
        As for :func:`filter_grid`.
    max_filters : int
        Show filters ``0 .. max_filters - 1`` at most.
    title : str, optional
        Replaces the default title.
    path : str or os.PathLike, optional
        Also save the figure there (``.png``, ``.svg`` or ``.gif``).

    Returns
    -------
    matplotlib.figure.Figure
        One sub-figure per filter (``fig.subfigs``), four to a row, each with two Axes, the
        learned kernel (titled ``"learned"``) and the classic one (``"designed"``), and beneath
        them the classic kernel's name (a leading minus sign for the negated kernel), its
        parameters and the similarity.

    Raises
    ------
    TypeError, ValueError
        As :func:`match_classic`.
    PermissionError
        ``path`` is in a folder that is not writable (checked before any work).

    Notes
    -----
    The matching is :func:`match_classic`'s (so :func:`convscope.filters.describe`'s): the
    similarity is ``|r|``, the Pearson correlation of the taps, which ignores scale and offset;
    so each kernel is drawn on its *own* symmetric scale (white 0, blue negative, red
    positive). A multi-channel filter is represented by its input channel of largest norm.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope.filters import kernels
    >>> from convscope.viz.filters import nearest_classic
    >>> fig = nearest_classic(kernels.sobel_y()[None, None] * 0.1)
    >>> print(fig.subfigs[0].get_supxlabel())
    sobel_y
    <BLANKLINE>
    similarity 1.00
    """
    fn = "nearest_classic"
    max_filters = V.check_int(max_filters, "max_filters", fn, minimum=1)
    if path is not None:
        check_output_path(path, fn, FIGURE_SUFFIXES)
    bank = _bank(weight_or_layer, fn)
    n_out, n_in, kh, kw = bank.weights.shape
    matches = [_match(bank.weights, o) for o in range(min(n_out, max_filters))]
    per_row = min(4, len(matches))
    rows = math.ceil(len(matches) / per_row)
    cell_w, cell_h = 2.2, 1.75
    fig_w = max(5.0, per_row * cell_w)
    fig = new_figure(fn, (fig_w, rows * cell_h + 1.3), layout="constrained")
    grid = fig.subfigures(rows, per_row, squeeze=False, wspace=0.02, hspace=0.02)
    taps = max(kh, kw) <= 9
    for index, sub in enumerate(grid.flat):
        if index >= len(matches):
            sub.set_visible(False)
            continue
        match = matches[index]
        left, right = sub.subplots(1, 2)
        pairs = [(left, match.learned, "learned"), (right, match.classic, "designed")]
        for ax, kernel, label in pairs:
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(label, fontsize=8, pad=3)
            if kernel is None:
                ax.set_facecolor("0.92")
                ax.set_aspect("equal")
                continue
            m = symmetric_limit([kernel])
            ax.imshow(kernel, cmap=SIGNED_CMAP, vmin=-m, vmax=m, interpolation="nearest")
            _draw_lines(ax, [(0, 0)], *kernel.shape, taps=taps)
            for spine in ax.spines.values():
                spine.set_visible(False)
        where = f"filter {match.filter}" + (f", in {match.channel}" if n_in > 1 else "")
        sub.suptitle(where, fontsize=9, fontweight="bold")
        # Always three lines (name, parameters, similarity) so that every pair lines up.
        name = "no classic kernel fits" if match.name is None else match.name.replace("-", "\u2212", 1)
        params = textwrap.shorten(_params_text(match.params), 40, placeholder=" ...")
        sub.supxlabel(f"{name}\n{params}\nsimilarity {match.similarity:.2f}", fontsize=7.5, linespacing=1.25)
    if title is None:
        shown = (f"all {n_out} filters" if len(matches) == n_out else
                 f"filters {_span(list(range(len(matches))))} of {n_out} (max_filters={max_filters})")
        title = f"Learned vs designed: {bank.source}, {shown}, each beside the nearest classic kernel"
    fig.suptitle(_wrap(title, fig_w - 0.3), fontsize=10)
    caption = ("similarity = |Pearson correlation| of the taps (1 = the same pattern up to scale and offset; "
               "a leading \u2212 means the negated kernel). Each kernel on its own colour scale: "
               "blue < 0 < red, white = 0.")
    if n_in > 1:
        caption += " A multi-channel filter is shown by its input channel of largest norm."
    fig.supxlabel(_wrap(caption, fig_w - 0.3, 8), fontsize=8, color="0.25")
    return finish(fig, path, fn)
