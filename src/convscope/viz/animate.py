"""Animated convolution arithmetic: the kernel sliding over the input, one output cell per frame.

:func:`animate_convolution` draws a 2-D convolution the way "A guide to convolution arithmetic
for deep learning" draws its figures: the input in blue, zero padding as dashed white cells
around it, the kernel's footprint shaded (with dilation only the taps it uses, the gaps left
visible), and the output grid beside it in cyan, filling in one cell per frame. A transposed
convolution is drawn as the guide draws it, as the equivalent stride-1 convolution over the
input with ``stride - 1`` zeros inserted between its cells and ``dilation*(kernel-1) - padding``
zeros of padding on each side (``output_padding`` more on the bottom and right).

Every frame names the case, gives the output-size formula filled in with the numbers for each
dimension (from :mod:`convscope.analysis.arithmetic`), and says which output cell is being
computed from which window.

:data:`DUMOULIN_CASES` holds the guide's fifteen animated cases (keyword arguments for
:func:`animate_convolution`), :data:`CASE_TITLES` a one-line caption for each.

References
----------
V. Dumoulin and F. Visin, "A guide to convolution arithmetic for deep learning", arXiv:1603.07285
(2016); the colours are those of its figures (Solarized blue and cyan).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from .. import _validation as V
from ..analysis.arithmetic import OutputSize, conv_output_size, conv_transpose_output_size
from ._common import IMAGE_SUFFIXES, animation, check_output_path, require_pillow, save

__all__ = ["animate_convolution", "convolution_plan", "DUMOULIN_CASES", "CASE_TITLES", "COLOURS",
           "MAX_INPUT_SIZE", "MAX_GRID_SIZE", "MAX_OUTPUT_CELLS"]

MAX_INPUT_SIZE = 32
"""The largest input size per side :func:`animate_convolution` draws."""
MAX_GRID_SIZE = 64
"""The largest drawn grid per side (the input with its padding and inserted zeros)."""
MAX_OUTPUT_CELLS = 400
"""The most output cells (hence frames) :func:`animate_convolution` draws."""


def _blend(colour, over, alpha):
    return tuple(round(c + alpha * (o - c)) for c, o in zip(colour, over))


_BLUE, _CYAN, _BASE02, _WHITE = (38, 139, 210), (42, 161, 152), (7, 54, 66), (255, 255, 255)

COLOURS = MappingProxyType({
    "background": _WHITE,
    "input": _BLUE,                                  # an input cell
    "input_tap": _blend(_BLUE, _BASE02, 0.45),       # an input cell under a kernel tap
    "zero": _WHITE,                                  # a zero: padding, or inserted by a stride
    "zero_tap": _blend(_WHITE, _BASE02, 0.33),       # a zero under a kernel tap
    "output_done": _CYAN,                            # an output cell computed so far
    "output_todo": _blend(_WHITE, _CYAN, 0.13),      # an output cell still to compute
    "highlight": (203, 75, 22),                      # the window's outline and the current output cell's
    "grid": (0, 43, 54),                             # solid cell borders
    "zero_grid": (140, 155, 158),                    # dashed borders of the zeros
    "text": (25, 30, 35),
    "muted": (88, 110, 117),
})
"""The RGB colour of every element of a frame (read-only)."""


# --------------------------------------------------------------------------- the guide's cases

DUMOULIN_CASES: dict[str, dict[str, Any]] = {
    "no_padding_no_strides": dict(input_size=4, kernel_size=3),
    "arbitrary_padding_no_strides": dict(input_size=5, kernel_size=4, padding=2),
    "same_padding_no_strides": dict(input_size=5, kernel_size=3, padding=1),
    "full_padding_no_strides": dict(input_size=5, kernel_size=3, padding=2),
    "no_padding_strides": dict(input_size=5, kernel_size=3, stride=2),
    "padding_strides": dict(input_size=5, kernel_size=3, stride=2, padding=1),
    "padding_strides_odd": dict(input_size=6, kernel_size=3, stride=2, padding=1),
    "dilation": dict(input_size=7, kernel_size=3, dilation=2),
    # The transposes: input_size is the transposed conv's input, the direct conv's output.
    "no_padding_no_strides_transposed": dict(input_size=2, kernel_size=3, transposed=True),
    "arbitrary_padding_no_strides_transposed": dict(input_size=6, kernel_size=4, padding=2, transposed=True),
    "same_padding_no_strides_transposed": dict(input_size=5, kernel_size=3, padding=1, transposed=True),
    "full_padding_no_strides_transposed": dict(input_size=7, kernel_size=3, padding=2, transposed=True),
    "no_padding_strides_transposed": dict(input_size=2, kernel_size=3, stride=2, transposed=True),
    "padding_strides_transposed": dict(input_size=3, kernel_size=3, stride=2, padding=1, transposed=True),
    "padding_strides_odd_transposed": dict(input_size=3, kernel_size=3, stride=2, padding=1, output_padding=1,
                                           transposed=True),
}
"""The animated cases of Dumoulin & Visin (2016), in the guide's order (convolutions, the dilated
one, then the transposed ones): name (the guide's file name) -> keyword arguments of
:func:`animate_convolution`. A transposed case takes as its input the output of the direct case it
transposes, so it maps back to that case's input size."""

CASE_TITLES: dict[str, str] = {
    "no_padding_no_strides":
        "No padding, unit strides: a 3x3 kernel over a 4x4 input gives 2x2 (guide fig. 2.1)",
    "arbitrary_padding_no_strides":
        "Arbitrary padding, unit strides: a 4x4 kernel over a 5x5 input padded by 2 gives 6x6 (fig. 2.2)",
    "same_padding_no_strides":
        "Half (same) padding, unit strides: padding 1 keeps a 5x5 input 5x5 under a 3x3 kernel (fig. 2.3)",
    "full_padding_no_strides":
        "Full padding, unit strides: padding 2 lets a 3x3 kernel grow a 5x5 input to 7x7 (fig. 2.4)",
    "no_padding_strides":
        "No padding, stride 2: a 3x3 kernel over a 5x5 input gives 2x2 (fig. 2.5)",
    "padding_strides":
        "Padding 1, stride 2: a 3x3 kernel over a 5x5 input gives 3x3 (fig. 2.6)",
    "padding_strides_odd":
        "Padding 1, stride 2 over a 6x6 input: the last padded row and column are never covered (fig. 2.7)",
    "dilation":
        "Dilation 2: a 3x3 kernel with one-cell gaps spans 5x5 of a 7x7 input, giving 3x3 (fig. 5.1)",
    "no_padding_no_strides_transposed":
        "Transpose of fig. 2.1: a 2x2 input padded by 2 zeros, a 3x3 kernel, back to 4x4 (fig. 4.1)",
    "arbitrary_padding_no_strides_transposed":
        "Transpose of fig. 2.2: kernel 4, padding 2 maps a 6x6 input back to 5x5 (fig. 4.2)",
    "same_padding_no_strides_transposed":
        "Transpose of fig. 2.3: with half padding the transposed conv keeps 5x5 too (fig. 4.3)",
    "full_padding_no_strides_transposed":
        "Transpose of fig. 2.4: full padding, undone, shrinks a 7x7 input to 5x5 (fig. 4.4)",
    "no_padding_strides_transposed":
        "Transpose of fig. 2.5: stride 2 inserts a zero between the 2x2 inputs, giving 5x5 (fig. 4.5)",
    "padding_strides_transposed":
        "Transpose of fig. 2.6: stride 2, padding 1 maps a 3x3 input back to 5x5 (fig. 4.6)",
    "padding_strides_odd_transposed":
        "Transpose of fig. 2.7: output_padding 1 adds a row and column of zeros, recovering 6x6 (fig. 4.7)",
}
"""A one-line caption for each of :data:`DUMOULIN_CASES`, naming the guide's figure."""


# --------------------------------------------------------------------------- geometry (no Pillow)

@dataclass(frozen=True)
class _Axis:
    """One spatial dim of the drawn convolution, in the coordinates of the drawn grid.

    The drawn grid is the input with its padding (and, transposed, the zeros inserted between
    its cells); position ``g`` of the grid holds input element ``source[g]`` or a zero (None).
    Output ``o`` reads the grid at ``o*step + dilation*j`` for ``j`` in ``range(kernel)``.
    """

    out: OutputSize
    source: tuple                 # input index or None (a zero) per grid position
    padding_at: tuple             # True where the zero is padding (False: inserted, or an input)
    kernel: int
    step: int                     # the drawn conv's stride: stride, or 1 when transposed
    dilation: int
    pad_before: int               # zeros before the (zero-inserted) input; negative: cropped
    pad_after: int

    def taps(self, o: int) -> list[int]:
        return [o * self.step + self.dilation * j for j in range(self.kernel)]


def _axis(size, kernel, stride, padding, dilation, output_padding, transposed, fn, dim) -> _Axis:
    try:
        if transposed:
            out = conv_transpose_output_size(size, kernel, stride, padding, output_padding, dilation)
        else:
            out = conv_output_size(size, kernel, stride, padding, dilation)
    except ValueError as exc:
        message = str(exc).split(": ", 1)[-1]
        raise ValueError(f"{fn}: along the {dim}, {message}") from None
    spacing, step = (stride, 1) if transposed else (1, stride)
    before = dilation * (kernel - 1) - padding if transposed else padding
    after = before + output_padding
    last = (size - 1) * spacing                     # the last input's position, zeros inserted
    source, padding_at = [], []
    for t in range(-before, last + after + 1):
        inside = 0 <= t <= last
        source.append(t // spacing if inside and t % spacing == 0 else None)
        padding_at.append(not inside)
    return _Axis(out, tuple(source), tuple(padding_at), kernel, step, dilation, before, after)


def _pair(value, name: str, fn: str, minimum: int) -> tuple[int, int]:
    return V.to_tuple(value, 2, name, fn, minimum=minimum)


def _x(pair) -> str:
    return f"{pair[0]}x{pair[1]}"


def _one(pair) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"({pair[0]}, {pair[1]})"


def _span(taps: list[int]) -> str:
    if len(taps) == 1:
        return str(taps[0])
    if taps[1] - taps[0] == 1:
        return f"{taps[0]}-{taps[-1]}"
    return ", ".join(map(str, taps))


@dataclass(frozen=True)
class _Plan:
    """What the frames show: the axes, the header lines and each frame's caption."""

    rows: _Axis
    cols: _Axis
    transposed: bool
    title: str
    header: tuple                 # formula lines, then (transposed) how the grid is built
    grid_name: str                # "input", "padded input", ...
    input_label: str
    output_label: str

    @property
    def output_shape(self) -> tuple[int, int]:
        return int(self.rows.out), int(self.cols.out)

    @property
    def n_frames(self) -> int:
        return self.output_shape[0] * self.output_shape[1]

    @property
    def has_zeros(self) -> bool:
        return None in self.rows.source or None in self.cols.source

    def cell(self, frame: int) -> tuple[int, int]:
        return divmod(frame, self.output_shape[1])

    def window(self, frame: int) -> tuple[list[int], list[int]]:
        r, c = self.cell(frame)
        return self.rows.taps(r), self.cols.taps(c)

    def caption(self, frame: int) -> tuple[str, str]:
        r, c = self.cell(frame)
        rows, cols = self.window(frame)
        kh, kw = self.rows.kernel, self.cols.kernel
        where = (f"{'row' if kh == 1 else 'rows'} {_span(rows)}, "
                 f"{'col' if kw == 1 else 'cols'} {_span(cols)}")
        line = (f"step {frame + 1} of {self.n_frames}: output ({r}, {c}) = sum of the {kh}x{kw} "
                f"window at {where} of the {self.grid_name}")
        taps = kh * kw
        on_input = sum(self.rows.source[i] is not None for i in rows) * sum(self.cols.source[j] is not None
                                                                             for j in cols)
        dilation = (self.rows.dilation, self.cols.dilation)
        gaps = (f"; dilation {_one(dilation)} leaves gaps between the taps" if max(dilation) > 1 else "")
        if taps == 1:
            detail = f"its one tap on {'an input cell' if on_input else 'a zero'}"
        elif not self.has_zeros:
            detail = f"all {taps} taps on input cells{gaps}"
        else:
            detail = f"{on_input} of its {taps} taps on input cells, {taps - on_input} on zeros{gaps}"
        return line, detail


def _construction(axis: _Axis, stride: int, padding: int, output_padding: int, end: str) -> tuple[str, str]:
    """How a transposed conv's grid is built along one dim: the inserted zeros, then the padding."""
    k, d, q = axis.kernel, axis.dilation, axis.pad_before
    inserted = f"(stride-1) = {stride - 1} zero{'s' if stride != 2 else ''} inserted between input cells"
    pad = f"dilation*(kernel-1) - padding = {d}*({k}-1) - {padding} = {q}"
    if q >= 0:
        pad += f" zero{'s' if q != 1 else ''} of padding on each side"
    else:
        pad += f": the zero-inserted input is cropped by {-q} on each side"
    if output_padding:
        pad += f", and output_padding = {output_padding} more on the {end}"
    return inserted, pad


def convolution_plan(input_size, kernel_size, stride=1, padding=0, dilation=1, transposed: bool = False,
                     output_padding=0):
    """What :func:`animate_convolution` draws, as data: the grid, each step's window and caption.

    Takes the arguments of :func:`animate_convolution` (ints or (rows, cols) pairs) and checks them
    the same way. The plan's ``rows`` / ``cols`` axes hold ``source`` (for each drawn grid cell the
    input index, or None for padding and inserted zeros), ``padding_at`` and ``out`` (the
    :class:`convscope.analysis.arithmetic.OutputSize`, whose ``explain()`` fills in the formula);
    ``output_shape``, ``n_frames``, ``cell(frame)``, ``window(frame)`` (the drawn rows and
    columns under the kernel) and ``caption(frame)`` describe each step. The explorer's
    playground draws from it, so page and animation agree.

    Examples
    --------
    >>> plan = convolution_plan(5, 3, stride=2, padding=1)
    >>> plan.output_shape, plan.n_frames, plan.rows.out.explain()
    ((3, 3), 9, 'out = floor((5 + 2*1 - 1*(3-1) - 1) / 2) + 1 = 3')
    >>> plan.window(1)                  # step 2: the window's drawn rows and columns
    ([0, 1, 2], [2, 3, 4])
    """
    return _plan("convolution_plan", input_size, kernel_size, stride, padding, dilation, transposed, output_padding)


def _plan(fn: str, input_size, kernel_size, stride, padding, dilation, transposed, output_padding) -> _Plan:
    """Check the arguments and lay out the convolution (raises as :func:`animate_convolution`)."""
    V.check_bool(transposed, "transposed", fn)
    size = _pair(input_size, "input_size", fn, 1)
    kernel = _pair(kernel_size, "kernel_size", fn, 1)
    stride = _pair(stride, "stride", fn, 1)
    padding = _pair(padding, "padding", fn, 0)
    dilation = _pair(dilation, "dilation", fn, 1)
    output_padding = _pair(output_padding, "output_padding", fn, 0)
    if max(size) > MAX_INPUT_SIZE:
        raise ValueError(f"{fn}: input_size expects at most {MAX_INPUT_SIZE} per side (every cell is drawn), "
                         f"but got {_x(size)}")
    if max(output_padding) > 0 and not transposed:
        raise ValueError(f"{fn}: output_padding expects 0 unless transposed=True, but got {_one(output_padding)}")
    dims = ("height", "width")
    rows, cols = (_axis(size[i], kernel[i], stride[i], padding[i], dilation[i], output_padding[i], transposed,
                        fn, dims[i]) for i in range(2))
    for dim, axis in zip(dims, (rows, cols)):
        if len(axis.source) > MAX_GRID_SIZE:
            what = "input_size, stride and padding" if transposed else "input_size and padding"
            grid = "zero-inserted, padded input" if transposed else "padded input"
            raise ValueError(f"{fn}: {what} expect a {grid} of at most {MAX_GRID_SIZE} cells per side, "
                             f"but they give {len(axis.source)} along the {dim}")
    cells = int(rows.out) * int(cols.out)
    if cells > MAX_OUTPUT_CELLS:
        raise ValueError(f"{fn}: input_size expects parameters giving at most {MAX_OUTPUT_CELLS} output cells "
                         f"(one frame each), but they give {int(rows.out)}x{int(cols.out)} = {cells}")

    out = (int(rows.out), int(cols.out))
    words = [f"input {_x(size)}", f"kernel {_x(kernel)}", f"stride {_one(stride)}", f"padding {_one(padding)}"]
    if transposed:
        words.append(f"output_padding {_one(output_padding)}")
    words.append(f"dilation {_one(dilation)}")
    title = ("transposed conv: " if transposed else "conv: ") + ", ".join(words) + f"  ->  output {_x(out)}"

    if rows.out.explain() == cols.out.explain():
        header = [f"height and width: {rows.out.explain()}"]
    else:
        header = [f"height: {rows.out.explain()}", f"width: {cols.out.explain()}"]
    grid = (len(rows.source), len(cols.source))
    if transposed:
        built = [_construction(a, stride[i], padding[i], output_padding[i], end)
                 for i, (a, end) in enumerate(((rows, "bottom"), (cols, "right")))]
        if built[0] == _construction(cols, stride[1], padding[1], output_padding[1], "bottom"):
            both = _construction(rows, stride[0], padding[0], output_padding[0], "bottom and right")
            header += [f"drawn as a stride-1 conv over the input with {both[0]}", f"and {both[1]}"]
        else:
            header.append("drawn as a stride-1 conv over the input with zeros inserted and padding added:")
            header += [f"{dim}: {a}; {b}" for dim, (a, b) in zip(dims, built)]
        grid_name = "zero-inserted, padded input"
        cropped = min(rows.pad_before, cols.pad_before) < 0
        input_label = f"input {_x(size)}, {'zeros inserted, cropped' if cropped else 'expanded'} to {_x(grid)}"
    elif max(padding) > 0:
        grid_name = "padded input"
        input_label = f"input {_x(size)} + padding {_one(padding)}"
    else:
        grid_name = "input"
        input_label = f"input {_x(size)}"
    return _Plan(rows, cols, transposed, title, tuple(header), grid_name, input_label, f"output {_x(out)}")


# --------------------------------------------------------------------------- drawing

MARGIN, GAP, MIN_WIDTH, MAX_WIDTH, MAX_GRID_HEIGHT = 20, 64, 560, 800, 520
MIN_CELL_SIZE, MAX_CELL_SIZE = 12, 64


@lru_cache(maxsize=None)
def _font(size: int):
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def _wrap(text: str, font, width: float) -> list[str]:
    lines, current = [], ""
    for word in text.split(" "):
        trial = f"{current} {word}" if current else word
        if current and font.getlength(trial) > width:
            lines.append(current)
            current = "    " + word
        else:
            current = trial
    return lines + [current]


@dataclass(frozen=True)
class _Layout:
    """Pixel positions: cell size, the two grids' top-left corners and the text blocks."""

    cell: int
    input_xy: tuple[int, int]
    output_xy: tuple[int, int]
    size: tuple[int, int]
    caption_y: int
    caption_lines: int

    def input_box(self, r: int, c: int) -> tuple[int, int, int, int]:
        x, y = self.input_xy[0] + c * self.cell, self.input_xy[1] + r * self.cell
        return x, y, x + self.cell, y + self.cell

    def output_box(self, r: int, c: int) -> tuple[int, int, int, int]:
        x, y = self.output_xy[0] + c * self.cell, self.output_xy[1] + r * self.cell
        return x, y, x + self.cell, y + self.cell

    def centre(self, box) -> tuple[int, int]:
        return (box[0] + box[2]) // 2, (box[1] + box[3]) // 2


def _dashed_rect(draw, box, colour, dash: int = 4, gap: int = 3) -> None:
    x0, y0, x1, y1 = box
    for a in range(x0, x1, dash + gap):
        b = min(a + dash, x1)
        draw.line([(a, y0), (b, y0)], fill=colour)
        draw.line([(a, y1), (b, y1)], fill=colour)
    for a in range(y0, y1, dash + gap):
        b = min(a + dash, y1)
        draw.line([(x0, a), (x0, b)], fill=colour)
        draw.line([(x1, a), (x1, b)], fill=colour)


class _Painter:
    """Draws a plan's frames: a static base, then per frame the window and the output so far."""

    def __init__(self, plan: _Plan, cell_size: int = 40):
        self.plan = plan
        self.Image = require_pillow("animate_convolution")
        from PIL import ImageDraw

        self.ImageDraw = ImageDraw
        self.title_font, self.text_font, self.small_font = _font(17), _font(14), _font(11)
        gh, gw = len(plan.rows.source), len(plan.cols.source)
        oh, ow = plan.output_shape
        index_w = 22                                 # room for the row numbers left of each grid
        labels_w = (self.text_font.getlength(plan.input_label) + 12, self.text_font.getlength(plan.output_label))
        room = MAX_WIDTH - 2 * MARGIN

        def side_by_side(cell):                      # a column is as wide as its grid or its name
            columns = (max(gw * cell, labels_w[0]), max(ow * cell, labels_w[1]))
            return int(index_w + columns[0] + GAP + index_w + columns[1]), columns

        def stacked(cell):
            return int(index_w + max(gw * cell, ow * cell, *labels_w))

        side = next((c for c in range(min(cell_size, MAX_GRID_HEIGHT // max(gh, oh)), 4, -1)
                     if side_by_side(c)[0] <= room), 5)
        below = next((c for c in range(min(cell_size, (MAX_GRID_HEIGHT + 80) // (gh + oh)), 4, -1)
                      if stacked(c) <= room), 5)
        self.stacked = below > side and side < 24  # output below the input only when cells get small
        cell = below if self.stacked else side
        grids_w, columns = (stacked(cell), None) if self.stacked else side_by_side(cell)
        self.cell = cell
        self.label_every = 1 if cell >= 22 else 2 if cell >= 13 else 5
        line_h = lambda font: int(font.size * 1.45)  # noqa: E731
        self.line_h = {f: line_h(f) for f in (self.title_font, self.text_font, self.small_font)}

        captions = [plan.caption(i) for i in range(plan.n_frames)]
        natural = max([self.title_font.getlength(plan.title)]
                      + [self.text_font.getlength(s) for s in plan.header]
                      + [self.text_font.getlength(s) for pair in captions for s in pair])
        # As wide as the grids and the text need, at least MIN_WIDTH, at most MAX_WIDTH (text wraps).
        width = int(min(MAX_WIDTH, max(grids_w + 2 * MARGIN, natural + 2 * MARGIN, MIN_WIDTH)))
        self.text_w = width - 2 * MARGIN
        if self.title_font.getlength(plan.title) <= self.text_w:
            self.title_lines = [plan.title]
        else:                                        # keep "-> output HxW" together, on a line of its own
            head, _, tail = plan.title.partition("  ->  ")
            self.title_lines = _wrap(head, self.title_font, self.text_w) + ["    -> " + tail]
        self.header_lines = [w for s in plan.header for w in _wrap(s, self.text_font, self.text_w)]
        self.captions = [[w for s in pair for w in _wrap(s, self.text_font, self.text_w)] for pair in captions]
        caption_lines = max(len(c) for c in self.captions)

        y = MARGIN
        self.title_y = y
        y += len(self.title_lines) * self.line_h[self.title_font]
        self.header_y = y
        y += len(self.header_lines) * self.line_h[self.text_font] + 10
        y += self.line_h[self.text_font] + self.line_h[self.small_font]   # grid names, column numbers
        x0 = (width - grids_w) // 2 + index_w
        top = y
        if self.stacked:
            input_xy = (x0, top)
            output_xy = (x0, top + gh * cell + 16 + self.line_h[self.text_font] + self.line_h[self.small_font])
            grid_h = output_xy[1] + oh * cell - top
        else:
            grid_h = max(gh, oh) * cell
            input_xy = (x0, top + (grid_h - gh * cell) // 2)
            output_xy = (int(x0 + columns[0] + GAP + index_w), top + (grid_h - oh * cell) // 2)
        y = top + grid_h + 14
        caption_y = y
        y += caption_lines * self.line_h[self.text_font] + 10
        self.legend_y = y
        self.legend = self._legend_items()
        self.legend_rows = self._legend_rows(width)
        y += len(self.legend_rows) * 24 + MARGIN - 4
        self.layout = _Layout(cell, input_xy, output_xy, (width, y), caption_y, caption_lines)

    # ------------------------------------------------------------------ static parts

    def _legend_items(self):
        c = COLOURS
        items = [("input", c["input"], "solid")]
        if self.plan.has_zeros:
            axes = (self.plan.rows, self.plan.cols)
            inserted = any(s is None and not pad for a in axes for s, pad in zip(a.source, a.padding_at))
            padded = any(any(a.padding_at) for a in axes)
            label = "zero (padding or inserted)" if inserted and padded else "zero (inserted)" if inserted \
                else "zero padding"
            items.append((label, c["zero"], "dashed"))
        items.append(("kernel tap", c["input_tap"], "solid"))
        if self.plan.has_zeros:
            items.append(("tap on a zero", c["zero_tap"], "dashed"))
        items += [("output done", c["output_done"], "solid"), ("output to do", c["output_todo"], "solid"),
                  ("window / current output", c["output_done"], "highlight")]
        return items

    def _legend_rows(self, width):
        rows, current, x = [], [], 0
        for item in self.legend:
            w = 16 + 6 + int(self.small_font.getlength(item[0])) + 18
            if current and x + w > width - 2 * MARGIN:
                rows.append(current)
                current, x = [], 0
            current.append(item)
            x += w
        return rows + [current]

    def _swatch(self, draw, box, fill, style):
        c = COLOURS
        draw.rectangle(box, fill=fill)
        if style == "dashed":
            _dashed_rect(draw, box, c["zero_grid"], dash=3, gap=2)
        elif style == "highlight":
            draw.rectangle(box, outline=c["highlight"], width=3)
        else:
            draw.rectangle(box, outline=c["grid"])

    def _cell(self, draw, box, fill, zero: bool):
        if zero:
            draw.rectangle(box, fill=fill)
            _dashed_rect(draw, box, COLOURS["zero_grid"])
        else:
            draw.rectangle(box, fill=fill, outline=COLOURS["grid"])

    def base(self):
        plan, lay, c = self.plan, self.layout, COLOURS
        image = self.Image.new("RGB", lay.size, c["background"])
        draw = self.ImageDraw.Draw(image)
        y = self.title_y
        for line in self.title_lines:
            draw.text((MARGIN, y), line, font=self.title_font, fill=c["text"])
            y += self.line_h[self.title_font]
        y = self.header_y
        for line in self.header_lines:
            draw.text((MARGIN, y), line, font=self.text_font, fill=c["text"])
            y += self.line_h[self.text_font]
        gh, gw = len(plan.rows.source), len(plan.cols.source)
        oh, ow = plan.output_shape
        above = self.line_h[self.small_font] + self.line_h[self.text_font]
        for (x, y), label in ((lay.input_xy, plan.input_label), (lay.output_xy, plan.output_label)):
            draw.text((x, y - above), label, font=self.text_font, fill=c["text"])
        # zeros first, so the inputs' solid borders win where the two meet
        for zeros_pass in (True, False):
            for r in range(gh):
                for col in range(gw):
                    zero = plan.rows.source[r] is None or plan.cols.source[col] is None
                    if zero == zeros_pass:
                        self._cell(draw, lay.input_box(r, col), c["zero"] if zero else c["input"], zero)
        for r in range(oh):
            for col in range(ow):
                self._cell(draw, lay.output_box(r, col), c["output_todo"], False)
        self._indices(draw, lay.input_xy, gh, gw)
        self._indices(draw, lay.output_xy, oh, ow)
        self._arrow(draw, gh)
        y = self.legend_y
        for row in self.legend_rows:
            x = MARGIN
            for label, fill, style in row:
                self._swatch(draw, (x, y, x + 16, y + 16), fill, style)
                draw.text((x + 22, y + 1), label, font=self.small_font, fill=c["text"])
                x += 16 + 6 + int(self.small_font.getlength(label)) + 18
            y += 24
        return image

    def _indices(self, draw, xy, n_rows, n_cols):
        cell, font, colour = self.cell, self.small_font, COLOURS["muted"]
        x0, y0 = xy
        for j in range(0, n_cols, self.label_every):
            text = str(j)
            w = font.getlength(text)
            draw.text((x0 + j * cell + (cell - w) / 2, y0 - self.line_h[font]), text, font=font, fill=colour)
        for i in range(0, n_rows, self.label_every):
            text = str(i)
            w = font.getlength(text)
            draw.text((x0 - w - 5, y0 + i * cell + (cell - font.size) / 2 - 1), text, font=font, fill=colour)

    def _arrow(self, draw, gh):
        lay, colour = self.layout, COLOURS["muted"]
        if self.stacked:
            return
        y = lay.input_xy[1] + gh * self.cell // 2
        x0 = lay.input_xy[0] + len(self.plan.cols.source) * self.cell + 12
        x1 = lay.output_xy[0] - 22 - 10
        if x1 - x0 < 12:
            return
        draw.line([(x0, y), (x1, y)], fill=colour, width=2)
        draw.polygon([(x1 + 2, y), (x1 - 7, y - 5), (x1 - 7, y + 5)], fill=colour)

    # ------------------------------------------------------------------ per frame

    def frames(self):
        plan, lay, c = self.plan, self.layout, COLOURS
        progress = self.base()
        progress_draw = self.ImageDraw.Draw(progress)
        frames = []
        for i in range(plan.n_frames):
            r, col = plan.cell(i)
            out_box = lay.output_box(r, col)
            self._cell(progress_draw, out_box, c["output_done"], False)
            frame = progress.copy()
            draw = self.ImageDraw.Draw(frame)
            rows, cols = plan.window(i)
            for gr in rows:
                for gc in cols:
                    zero = plan.rows.source[gr] is None or plan.cols.source[gc] is None
                    self._cell(draw, lay.input_box(gr, gc), c["zero_tap"] if zero else c["input_tap"], zero)
            top_left, bottom_right = lay.input_box(rows[0], cols[0]), lay.input_box(rows[-1], cols[-1])
            width = 3 if self.cell >= 16 else 2
            draw.rectangle((top_left[0] - 1, top_left[1] - 1, bottom_right[2] + 1, bottom_right[3] + 1),
                           outline=c["highlight"], width=width)
            draw.rectangle((out_box[0] - 1, out_box[1] - 1, out_box[2] + 1, out_box[3] + 1),
                           outline=c["highlight"], width=width)
            y = lay.caption_y
            for k, line in enumerate(self.captions[i]):
                draw.text((MARGIN, y), line, font=self.text_font, fill=c["text"] if k == 0 else c["muted"])
                y += self.line_h[self.text_font]
            frames.append(frame)
        return frames


# --------------------------------------------------------------------------- public

def animate_convolution(input_size, kernel_size, stride=1, padding=0, dilation=1, transposed: bool = False,
                        output_padding=0, *, path=None, duration: int = 600, final_duration: int = 2400,
                        cell_size: int = 40):
    """Animate a 2-D convolution: the kernel slides over the input and fills the output, one cell a frame.

    Drawn as in Dumoulin & Visin's guide: input cells blue, zero padding as dashed white cells
    around them, the kernel's taps shaded (with dilation only the taps it uses, so the gaps
    show), the window outlined, and the output grid on the right in cyan, the cells computed so
    far filled and the current one outlined. Every frame shows a title with the parameters, the
    output-size formula with the numbers filled in for each dim, and which output cell is being
    computed from which rows and columns (numbered from 0 along the grid's edges).

    A transposed convolution (``transposed=True``, PyTorch's ``ConvTranspose2d``) is drawn as its
    equivalent direct convolution with stride 1: ``stride - 1`` zeros are inserted between the
    input cells, ``dilation*(kernel-1) - padding`` zeros pad each side (when that is negative,
    the zero-inserted input is cropped instead), and ``output_padding`` more zeros go on the
    bottom and right. The output then has ``(size-1)*stride - 2*padding +
    dilation*(kernel-1) + output_padding + 1`` cells per dim, as ``ConvTranspose2d`` gives.

    Parameters
    ----------
    input_size : int or (int, int)
        Height and width of the input, 1 .. :data:`MAX_INPUT_SIZE` (32).
    kernel_size, stride, dilation : int or (int, int)
        >= 1 each; ``dilation=1`` means no gaps between the taps.
    padding : int or (int, int)
        Zeros added on each side (>= 0); for a transposed conv, removed from each side of its output.
    transposed : bool
        Draw the transposed convolution.
    output_padding : int or (int, int)
        Transposed only: >= 0 and smaller than ``stride`` or ``dilation`` (PyTorch's rule).
    path : str or os.PathLike, optional
        Write the animation there: ``.gif`` writes every frame with its duration; ``.png`` writes
        the last frame (the complete output) as a still picture.
    duration : int
        Milliseconds each frame is shown, >= 1.
    final_duration : int
        Milliseconds the last frame (the complete output) is shown, >= 1.
    cell_size : int
        The side of a grid cell in pixels, 12 .. 64. Grids too large for that are drawn with
        smaller cells (the frame stays within 800 pixels wide); smaller cells also render faster.

    Returns
    -------
    PIL.Image.Image
        An animated GIF image in memory, white background, at most about 800 pixels wide (cells
        of 40 pixels, smaller for large grids). Frame ``i`` (``seek(i)``) computes output cell
        ``divmod(i, W_out)``: there is **one frame per output cell, in row-major order, and no
        other frame**, so ``n_frames == H_out * W_out``, and the last frame shows the complete
        output.

    Raises
    ------
    ValueError
        A size, stride or dilation below 1, a negative padding or output_padding, an
        output_padding without ``transposed`` or not smaller than stride or dilation, a pair of
        the wrong length, parameters that leave no output (the message gives the output-size
        formula with the numbers filled in), an input above 32 per side, a drawn grid above 64
        per side or more than 400 output cells (one frame each), a duration below 1, a cell_size
        outside 12 .. 64, or a path not ending in ``.gif`` or ``.png``.
    TypeError
        A non-integer size, stride, padding, dilation, duration or cell_size (``'same'``
        included), or a non-bool ``transposed``.
    PermissionError
        The folder of ``path`` is not writable (checked before any drawing).

    Notes
    -----
    The output grid sits right of the input, or below it when side by side the cells would be
    under 24 pixels and stacking gives larger ones. Rows and columns are numbered from 0 along both grids' edges, the
    input's including its padding. Making the GIF costs about 25-40 ms a frame (most of it
    choosing each frame's palette): the guide's cases take 0.1 to 2.5 s, the largest allowed
    animation (400 frames) about 20 s.

    See Also
    --------
    convscope.analysis.arithmetic.conv_output_size, convscope.analysis.arithmetic.conv_transpose_output_size

    Examples
    --------
    >>> anim = animate_convolution(5, 3, stride=2, padding=1)
    >>> anim.n_frames                  # one frame per cell of the 3x3 output
    9
    >>> anim.width <= 800
    True
    >>> animate_convolution(2, 3, stride=2, transposed=True).n_frames    # the guide's fig. 4.5: 2x2 -> 5x5
    25
    >>> cases = [animate_convolution(**DUMOULIN_CASES[name]) for name in ("dilation", "no_padding_strides")]
    >>> [c.n_frames for c in cases]
    [9, 4]
    >>> animate_convolution(5, 3, stride=2, path="strided.gif")  # doctest: +SKIP
    """
    fn = "animate_convolution"
    duration = V.check_int(duration, "duration", fn, minimum=1)
    final_duration = V.check_int(final_duration, "final_duration", fn, minimum=1)
    cell_size = V.check_int(cell_size, "cell_size", fn)
    if not MIN_CELL_SIZE <= cell_size <= MAX_CELL_SIZE:
        raise ValueError(f"{fn}: cell_size expects an integer from {MIN_CELL_SIZE} to {MAX_CELL_SIZE} (pixels), "
                         f"but got {cell_size}")
    if path is not None:
        path = check_output_path(path, fn, IMAGE_SUFFIXES)
    plan = _plan(fn, input_size, kernel_size, stride, padding, dilation, transposed, output_padding)
    frames = _Painter(plan, cell_size).frames()
    durations = [duration] * (len(frames) - 1) + [final_duration]
    anim = animation(frames, durations, fn)
    if path is not None:
        save(frames[-1] if path.suffix.lower() == ".png" else anim, path, fn)
    return anim
