"""Float64 central finite differences for the backward of every op (conv, transposed, pad)."""

import pytest

import convscope.nn.functional as F
from tests._reference import check_gradients

# Each parity case runs with every conv algorithm forced in turn (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("each_conv_algorithm")

CONV_CASES = [
    (F.conv1d, (2, 4, 9), (6, 2, 3), dict(stride=2, padding=1, dilation=2, groups=2)),
    (F.conv1d, (3, 7), (2, 3, 4), dict(padding="same", padding_mode="reflect")),
    (F.conv2d, (2, 3, 7, 6), (4, 3, 3, 2), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2))),
    (F.conv2d, (1, 4, 6, 6), (4, 1, 3, 3), dict(padding="same", groups=4, padding_mode="circular")),
    (F.conv2d, (2, 2, 7, 5), (3, 2, 2, 3), dict(stride=3, padding="same", padding_mode="replicate")),
    (F.conv3d, (1, 2, 4, 5, 4), (2, 1, 2, 3, 2), dict(stride=(1, 2, 1), padding=(1, 0, 1), groups=2)),
]


@pytest.mark.parametrize("op, xshape, wshape, kwargs", CONV_CASES)
def test_conv_gradients_match_finite_differences(op, xshape, wshape, kwargs, rng):
    x, w, b = rng.standard_normal(xshape), rng.standard_normal(wshape), rng.standard_normal(wshape[0])
    check_gradients(lambda x_, w_, b_: op(x_, w_, b_, **kwargs), [x, w, b], rng)


CONV_T_CASES = [
    (F.conv_transpose1d, (2, 4, 5), (4, 3, 3), (2, 1, 1, 2, 1)),
    (F.conv_transpose2d, (2, 2, 4, 3), (2, 3, 3, 2), ((2, 1), (1, 0), (1, 0), 1, (1, 2))),
    (F.conv_transpose2d, (3, 3, 3), (3, 1, 2, 2), (1, 0, 0, 3, 2)),
    (F.conv_transpose3d, (1, 2, 3, 2, 3), (2, 2, 2, 2, 2), ((1, 2, 1), 0, (0, 1, 0), 2, 1)),
]


@pytest.mark.parametrize("op, xshape, wshape, args", CONV_T_CASES)
def test_conv_transpose_gradients_match_finite_differences(op, xshape, wshape, args, rng):
    groups = args[3]
    x, w = rng.standard_normal(xshape), rng.standard_normal(wshape)
    b = rng.standard_normal(wshape[1] * groups)
    check_gradients(lambda x_, w_, b_: op(x_, w_, b_, *args), [x, w, b], rng)


@pytest.mark.parametrize("mode, pad", [("constant", (2, -1, 1, 0)), ("reflect", (2, 1, 1, 2)),
                                       ("replicate", (3, 0, 0, 2)), ("circular", (1, 3, 2, 1))])
def test_pad_gradients_match_finite_differences(mode, pad, rng):
    x = rng.standard_normal((2, 3, 4))
    check_gradients(lambda x_: F.pad(x_, pad, mode=mode), [x], rng)
