"""animate_convolution: one frame per output cell, sizes as PyTorch's, the right window drawn.

The output sizes are checked against torch's conv2d / conv_transpose2d; the drawing is checked by
sampling the colour at the centre of every cell of a frame and comparing it with the cells the
window must cover, worked out here from the definition (not from the module's geometry).
"""

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

pytest.importorskip("PIL")

from convscope.viz.animate import (  # noqa: E402
    CASE_TITLES, COLOURS, DUMOULIN_CASES, MAX_GRID_SIZE, MAX_INPUT_SIZE, MAX_OUTPUT_CELLS, animate_convolution,
)
from convscope.viz import animate as animate_module  # noqa: E402

# The output size of each of the guide's figures (a transpose maps back to its case's input).
GUIDE_OUTPUT = {
    "no_padding_no_strides": 2, "arbitrary_padding_no_strides": 6, "same_padding_no_strides": 5,
    "full_padding_no_strides": 7, "no_padding_strides": 2, "padding_strides": 3, "padding_strides_odd": 3,
    "dilation": 3, "no_padding_no_strides_transposed": 4, "arbitrary_padding_no_strides_transposed": 5,
    "same_padding_no_strides_transposed": 5, "full_padding_no_strides_transposed": 5,
    "no_padding_strides_transposed": 5, "padding_strides_transposed": 5, "padding_strides_odd_transposed": 6,
}

CELL_KINDS = ("input", "input_tap", "zero", "zero_tap", "output_done", "output_todo")


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def torch_output_shape(input_size, kernel_size, stride=1, padding=0, dilation=1, transposed=False,
                       output_padding=0):
    torch = pytest.importorskip("torch")
    x = torch.zeros(1, 1, *pair(input_size))
    w = torch.zeros(1, 1, *pair(kernel_size))
    f = torch.nn.functional
    if transposed:
        y = f.conv_transpose2d(x, w, stride=pair(stride), padding=pair(padding), output_padding=pair(output_padding),
                               dilation=pair(dilation))
    else:
        y = f.conv2d(x, w, stride=pair(stride), padding=pair(padding), dilation=pair(dilation))
    return tuple(y.shape[2:])


_RENDERED = {}
CELL = 12                                         # small cells draw quicker; the layout is the same


def rendered(name):
    """Each guide case is drawn once per session, with CELL-pixel cells."""
    if name not in _RENDERED:
        _RENDERED[name] = animate_convolution(**DUMOULIN_CASES[name], cell_size=CELL)
    return _RENDERED[name]


def frame(anim, i):
    """Frame ``i`` of an animation as an RGB image."""
    anim.seek(i)
    image = anim.convert("RGB")
    anim.seek(0)
    return image


def layout(kwargs, cell_size=CELL):
    """Where the module put the cells (pixel positions only)."""
    kw = dict(stride=1, padding=0, dilation=1, transposed=False, output_padding=0) | kwargs
    plan = animate_module._plan("test", kw["input_size"], kw["kernel_size"], kw["stride"], kw["padding"],
                                kw["dilation"], kw["transposed"], kw["output_padding"])
    return animate_module._Painter(plan, cell_size).layout


def kind_at(frame, box):
    """The nearest cell colour at the centre of ``box``."""
    x, y = (box[0] + box[2]) // 2, (box[1] + box[3]) // 2
    rgb = frame.getpixel((x, y))
    distance = {k: sum((a - b) ** 2 for a, b in zip(rgb, COLOURS[k])) for k in CELL_KINDS}
    best = min(distance, key=distance.get)
    assert distance[best] < 30 ** 2, f"unexpected colour {rgb} at {(x, y)}"
    return best


def expected_grid(kwargs, out_cell):
    """The drawn grid's kinds for output cell ``out_cell``, from the definition of each conv.

    Direct: the input padded by p; output r reads padded rows r*s + d*j. Transposed (the guide's
    picture): input i sits at q + i*s with q = d*(k-1) - p zeros before it, the grid ends
    q + output_padding after the last input, and output r reads rows r + d*j.
    """
    kw = dict(stride=1, padding=0, dilation=1, transposed=False, output_padding=0) | kwargs
    dims = []
    for axis, o in enumerate(out_cell):
        n, k, s = pair(kw["input_size"])[axis], pair(kw["kernel_size"])[axis], pair(kw["stride"])[axis]
        p, d, op = pair(kw["padding"])[axis], pair(kw["dilation"])[axis], pair(kw["output_padding"])[axis]
        if kw["transposed"]:
            q = d * (k - 1) - p
            length = (n - 1) * s + 1 + 2 * q + op
            is_input = [(g - q) % s == 0 and 0 <= (g - q) // s < n for g in range(length)]
            taps = {o + d * j for j in range(k)}
        else:
            length = n + 2 * p
            is_input = [p <= g < p + n for g in range(length)]
            taps = {o * s + d * j for j in range(k)}
        dims.append((is_input, taps))
    (rows_in, rows_tap), (cols_in, cols_tap) = dims
    return [[("input" if rows_in[r] and cols_in[c] else "zero") + ("_tap" if r in rows_tap and c in cols_tap else "")
             for c in range(len(cols_in))] for r in range(len(rows_in))]


# --------------------------------------------------------------------------- the guide's cases

def test_cases_have_titles():
    assert list(CASE_TITLES) == list(DUMOULIN_CASES) == list(GUIDE_OUTPUT)
    assert all(title and "\n" not in title for title in CASE_TITLES.values())


@pytest.mark.parametrize("name", list(DUMOULIN_CASES))
def test_one_frame_per_output_cell_matching_torch(name):
    kwargs = DUMOULIN_CASES[name]
    shape = torch_output_shape(**kwargs)
    assert shape == (GUIDE_OUTPUT[name],) * 2
    anim = rendered(name)
    assert anim.n_frames == math.prod(shape)
    assert anim.width <= 800 and anim.mode == "P"
    assert frame(anim, 0).getpixel((2, 2)) == COLOURS["background"]


@pytest.mark.parametrize("name", ["no_padding_no_strides", "padding_strides_odd", "dilation",
                                  "padding_strides_odd_transposed"])
def test_output_cells_fill_in_row_major_order(name):
    kwargs = DUMOULIN_CASES[name]
    anim = rendered(name)
    lay = layout(kwargs)
    oh, ow = torch_output_shape(**kwargs)
    for i in (0, anim.n_frames // 2, anim.n_frames - 1):
        image = frame(anim, i)
        kinds = [kind_at(image, lay.output_box(r, c)) for r in range(oh) for c in range(ow)]
        assert kinds == ["output_done"] * (i + 1) + ["output_todo"] * (oh * ow - i - 1), f"frame {i}"


@pytest.mark.parametrize("name", ["padding_strides", "dilation", "padding_strides_odd",
                                  "no_padding_strides_transposed", "padding_strides_odd_transposed"])
def test_window_covers_the_right_cells(name):
    kwargs = DUMOULIN_CASES[name]
    anim = rendered(name)
    lay = layout(kwargs)
    oh, ow = torch_output_shape(**kwargs)
    for i in sorted({0, 1, ow, anim.n_frames // 2, anim.n_frames - 1}):
        image = frame(anim, i)
        want = expected_grid(kwargs, divmod(i, ow))
        got = [[kind_at(image, lay.input_box(r, c)) for c in range(len(want[0]))] for r in range(len(want))]
        assert got == want, f"frame {i}"


def test_window_of_an_uneven_transposed_conv():
    kwargs = dict(input_size=(2, 3), kernel_size=(2, 2), stride=(2, 1), padding=(0, 1), dilation=(1, 2),
                  output_padding=(1, 0), transposed=True)
    anim = animate_convolution(**kwargs, cell_size=CELL)
    oh, ow = torch_output_shape(**kwargs)
    assert anim.n_frames == oh * ow
    lay = layout(kwargs)
    for i in (0, anim.n_frames - 1):
        image = frame(anim, i)
        want = expected_grid(kwargs, divmod(i, ow))
        got = [[kind_at(image, lay.input_box(r, c)) for c in range(len(want[0]))] for r in range(len(want))]
        assert got == want, f"frame {i}"


def test_saves_gif_and_png_at_the_default_size(tmp_path):
    from PIL import Image

    kwargs = DUMOULIN_CASES["padding_strides"]
    gif = animate_convolution(**kwargs, path=tmp_path / "a.gif", duration=300, final_duration=1500)
    lay = layout(kwargs, cell_size=40)
    assert lay.cell == 40 and lay.size == gif.size
    assert kind_at(frame(gif, 4), lay.input_box(2, 2)) == "input_tap"       # output (1, 1) reads rows 2-4

    with Image.open(tmp_path / "a.gif") as again:
        assert again.n_frames == gif.n_frames == 9
        again.seek(8)
        assert again.info["duration"] == 1500
    animate_convolution(**kwargs, path=tmp_path / "last.png")
    with Image.open(tmp_path / "last.png") as still:
        assert getattr(still, "n_frames", 1) == 1 and still.size == gif.size
        still = still.convert("RGB")
        assert {kind_at(still, lay.output_box(r, c)) for r in range(3) for c in range(3)} == {"output_done"}


def test_frames_state_the_formula_and_the_window():
    from convscope.analysis import conv_output_size, conv_transpose_output_size

    plan = animate_module._plan("test", 5, 3, 2, 1, 1, False, 0)
    assert plan.title == "conv: input 5x5, kernel 3x3, stride 2, padding 1, dilation 1  ->  output 3x3"
    assert plan.header == ("height and width: " + conv_output_size(5, 3, 2, 1).explain(),)
    assert plan.caption(4) == ("step 5 of 9: output (1, 1) = sum of the 3x3 window at rows 2-4, cols 2-4 of the "
                               "padded input", "9 of its 9 taps on input cells, 0 on zeros")
    plan = animate_module._plan("test", (7, 7), (3, 2), 1, 0, (2, 1), False, 0)
    assert plan.header == (f"height: {conv_output_size(7, 3, dilation=2).explain()}",
                           f"width: {conv_output_size(7, 2).explain()}")
    assert plan.caption(0)[0].endswith("3x2 window at rows 0, 2, 4, cols 0-1 of the input")
    plan = animate_module._plan("test", 3, 3, 2, 1, 1, True, 1)
    assert plan.header[0] == "height and width: " + conv_transpose_output_size(3, 3, 2, 1, 1).explain()
    assert "1 zero inserted between input cells" in plan.header[1]
    assert "= 1 zero of padding on each side, and output_padding = 1 more on the bottom and right" in plan.header[2]


# --------------------------------------------------------------------------- any parameters

@settings(max_examples=20, deadline=None)
@given(size=st.tuples(st.integers(1, 5), st.integers(1, 5)), kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       stride=st.integers(1, 3), padding=st.integers(0, 2), dilation=st.integers(1, 2), transposed=st.booleans(),
       output_padding=st.integers(0, 2))
def test_frames_match_torch_for_any_parameters(size, kernel, stride, padding, dilation, transposed, output_padding):
    torch = pytest.importorskip("torch")
    if not transposed:
        output_padding = 0
    assume(output_padding < stride or output_padding < dilation)
    kwargs = dict(input_size=size, kernel_size=kernel, stride=stride, padding=padding, dilation=dilation,
                  transposed=transposed, output_padding=output_padding)
    try:
        shape = torch_output_shape(**kwargs)
    except RuntimeError:                          # torch finds no output: neither do we
        with pytest.raises(ValueError, match="leaving no output"):
            animate_convolution(**kwargs)
        return
    assume(math.prod(shape) <= 9)                # each cell is a frame: keep the test quick
    assert animate_convolution(**kwargs, cell_size=12).n_frames == math.prod(shape)
    del torch


# --------------------------------------------------------------------------- errors

@pytest.mark.parametrize("kwargs, match", [
    (dict(input_size=2, kernel_size=3),
     r"along the height, .*leaving no output: out = floor\(\(2 \+ 2\*0 - 1\*\(3-1\) - 1\) / 1\) \+ 1 = 0"),
    (dict(input_size=(5, 2), kernel_size=3, dilation=(1, 2)), r"along the width, .*2\*\(3-1\) - 1\) / 1\) \+ 1 = -2"),
    (dict(input_size=1, kernel_size=1, padding=1, transposed=True),
     r"no output: out = \(1 - 1\)\*1 - 2\*1 \+ 1\*\(1-1\) \+ 0 \+ 1 = -1"),
    (dict(input_size=0, kernel_size=3), r"input_size expects positive integers, but got 0"),
    (dict(input_size=5, kernel_size=(3, 0)), r"kernel_size expects positive integers, but got \(3, 0\)"),
    (dict(input_size=5, kernel_size=3, stride=0), r"stride expects positive integers"),
    (dict(input_size=5, kernel_size=3, dilation=0), r"dilation expects positive integers"),
    (dict(input_size=5, kernel_size=3, padding=-1), r"padding expects integers >= 0, but got -1"),
    (dict(input_size=5, kernel_size=3, stride=(1, 2, 3)), r"stride expects an int or 2 ints, but got 3 values"),
    (dict(input_size=5, kernel_size=3, output_padding=1), r"output_padding expects 0 unless transposed=True"),
    (dict(input_size=3, kernel_size=3, stride=2, output_padding=2, transposed=True),
     r"output_padding expects a value smaller than stride or dilation, but got output_padding=2 with stride=2"),
    (dict(input_size=MAX_INPUT_SIZE + 1, kernel_size=3), rf"input_size expects at most {MAX_INPUT_SIZE} per side"),
    (dict(input_size=32, kernel_size=1), rf"at most {MAX_OUTPUT_CELLS} output cells .* 32x32 = 1024"),
    (dict(input_size=4, kernel_size=3, padding=(0, 31)), rf"at most {MAX_GRID_SIZE} cells per side, but they give "
                                                         r"66 along the width"),
    (dict(input_size=5, kernel_size=3, duration=0), r"duration expects a positive integer, but got 0"),
    (dict(input_size=5, kernel_size=3, cell_size=100), r"cell_size expects an integer from 12 to 64 \(pixels\)"),
    (dict(input_size=5, kernel_size=3, path="conv.jpg"), r"path expects a file name ending in \.png, \.gif"),
])
def test_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        animate_convolution(**kwargs)


@pytest.mark.parametrize("kwargs, match", [
    (dict(input_size=5.0, kernel_size=3), r"input_size expects an int or a tuple of 2 ints, but got 5\.0 \(float\)"),
    (dict(input_size=5, kernel_size=3, padding="same"), r"padding expects an int or a tuple of 2 ints, but got 'same'"),
    (dict(input_size=5, kernel_size=(3, 2.5)), r"kernel_size expects positive integers, .*an element is float"),
    (dict(input_size=5, kernel_size=3, transposed="yes"), r"transposed expects a bool, but got 'yes'"),
])
def test_rejects_wrong_types(kwargs, match):
    with pytest.raises(TypeError, match=match):
        animate_convolution(**kwargs)


def test_does_not_change_its_arguments():
    size, kernel = [4, 5], [3, 2]
    animate_convolution(size, kernel, stride=[1, 2])
    assert size == [4, 5] and kernel == [3, 2]
