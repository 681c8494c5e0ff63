"""Output sizes, parameter counts and MACs: checked against what convscope's layers really produce."""

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import convscope.nn.functional as F
from convscope.analysis import (compare_separable, conv_cost, conv_output_size, conv_transpose_output_size,
                                pool_output_size)

small = st.integers(1, 5)


def _conv1d_len(size, kernel, stride, padding, dilation):
    return F.conv1d(np.zeros((1, 1, size)), np.zeros((1, 1, kernel)), stride=stride, padding=padding,
                    dilation=dilation).shape[-1]


@given(size=st.integers(1, 40), kernel=small, stride=small, padding=st.integers(0, 4), dilation=st.integers(1, 3))
def test_conv_output_size_matches_conv1d(size, kernel, stride, padding, dilation):
    try:
        want = _conv1d_len(size, kernel, stride, padding, dilation)
    except ValueError:
        with pytest.raises(ValueError, match="conv_output_size: input size .* too small .* leaving no output"):
            conv_output_size(size, kernel, stride, padding, dilation)
        return
    got = conv_output_size(size, kernel, stride, padding, dilation)
    assert got == want and got.value == want and type(got.value) is int
    assert got.explain().endswith(f"= {want}")


@given(size=st.integers(1, 40), kernel=small, stride=small, dilation=st.integers(1, 3),
       padding=st.sampled_from(["same", "valid"]))
def test_conv_output_size_same_and_valid_match_conv1d(size, kernel, stride, dilation, padding):
    try:
        want = _conv1d_len(size, kernel, stride, padding, dilation)
    except ValueError:
        assert padding == "valid"
        with pytest.raises(ValueError, match="too small"):
            conv_output_size(size, kernel, stride, padding, dilation)
        return
    got = conv_output_size(size, kernel, stride, padding, dilation)
    assert got == want
    if padding == "same":
        assert got == math.ceil(size / stride)


@given(size=st.integers(1, 20), kernel=small, stride=small, padding=st.integers(0, 4), dilation=st.integers(1, 3),
       output_padding=st.integers(0, 4))
def test_conv_transpose_output_size_matches_conv_transpose1d(size, kernel, stride, padding, dilation, output_padding):
    assume(output_padding < stride or output_padding < dilation)
    try:
        want = F.conv_transpose1d(np.zeros((1, 1, size)), np.zeros((1, 1, kernel)), stride=stride, padding=padding,
                                  output_padding=output_padding, dilation=dilation).shape[-1]
    except ValueError:
        with pytest.raises(ValueError, match="conv_transpose_output_size: padding .* leaving no output"):
            conv_transpose_output_size(size, kernel, stride, padding, output_padding, dilation)
        return
    assert conv_transpose_output_size(size, kernel, stride, padding, output_padding, dilation) == want


@given(size=st.integers(1, 20), kernel=small, stride=small, padding=st.integers(0, 4), dilation=st.integers(1, 3),
       output_padding=st.integers(0, 4))
def test_conv_transpose_inverts_conv(size, kernel, stride, padding, dilation, output_padding):
    """A conv with the same settings maps the transposed conv's output size back to its input size
    (when output_padding only picks among the sizes the stride rounds together)."""
    assume(output_padding < stride)
    try:
        out = conv_transpose_output_size(size, kernel, stride, padding, output_padding, dilation)
        back = conv_output_size(out, kernel, stride, padding, dilation)
    except ValueError:
        return
    assert back == size


@given(size=st.integers(1, 30), kernel=small, stride=st.one_of(st.none(), small), padding=st.integers(0, 2),
       dilation=st.integers(1, 3), ceil_mode=st.booleans())
def test_pool_output_size_matches_max_pool1d(size, kernel, stride, padding, dilation, ceil_mode):
    assume(padding <= kernel // 2)
    try:
        want = F.max_pool1d(np.zeros((1, 1, size)), kernel, stride, padding, dilation, ceil_mode).shape[-1]
    except ValueError:
        with pytest.raises(ValueError, match="pool_output_size: input size .* too small"):
            pool_output_size(size, kernel, stride, padding, dilation, ceil_mode)
        return
    assert pool_output_size(size, kernel, stride, padding, dilation, ceil_mode) == want


@given(size=st.integers(1, 30), kernel=small, stride=small, padding=st.integers(0, 2), dilation=st.integers(1, 3),
       ceil_mode=st.booleans())
def test_pool_output_size_matches_torch(size, kernel, stride, padding, dilation, ceil_mode):
    torch = pytest.importorskip("torch")
    assume(padding <= kernel // 2)
    try:
        want = torch.nn.functional.max_pool1d(torch.zeros(1, 1, size), kernel, stride, padding, dilation,
                                              ceil_mode).shape[-1]
    except RuntimeError:
        want = 0
    if want <= 0:
        with pytest.raises(ValueError):
            pool_output_size(size, kernel, stride, padding, dilation, ceil_mode)
    else:
        assert pool_output_size(size, kernel, stride, padding, dilation, ceil_mode) == want


def test_explanations_fill_in_the_formula():
    assert conv_output_size(28, 3).explain() == "out = floor((28 + 2*0 - 1*(3-1) - 1) / 1) + 1 = 26"
    assert conv_output_size(224, 7, 2, 3).explain() == "out = floor((224 + 2*3 - 1*(7-1) - 1) / 2) + 1 = 112"
    assert conv_output_size(9, 3, dilation=2).explain() == "out = floor((9 + 2*0 - 2*(3-1) - 1) / 1) + 1 = 5"
    assert "valid" in conv_output_size(28, 3, padding="valid").explain()
    same = conv_output_size(28, 4, 1, "same")
    assert same == 28 and "total padding" in same.explain() and "1 before, 2 after" in same.explain()
    assert conv_output_size(28, 3).formula == "out = floor((size + 2*padding - dilation*(kernel-1) - 1) / stride) + 1"
    assert conv_transpose_output_size(7, 3, 2, 1, 1).explain() == "out = (7 - 1)*2 - 2*1 + 1*(3-1) + 1 + 1 = 14"
    assert pool_output_size(5, 2).explain() == "out = floor((5 + 2*0 - 1*(2-1) - 1) / 2) + 1 = 2"
    assert pool_output_size(5, 2, ceil_mode=True).explain() == "out = ceil((5 + 2*0 - 1*(2-1) - 1) / 2) + 1 = 3"
    dropped = pool_output_size(5, 2, padding=1, ceil_mode=True)
    assert dropped == 3 and "minus 1" in dropped.explain() and dropped.explain().endswith("= 3")


def test_output_size_is_an_int():
    out = conv_output_size(32, 5)
    assert isinstance(out, int) and out + 1 == 29 and range(10)[out // 4] == 7
    assert repr(out) == "28" and f"{out}" == "28"


@pytest.mark.parametrize("call, error, match", [
    (lambda: conv_output_size(0, 3), ValueError, r"conv_output_size: size expects a positive integer, but got 0"),
    (lambda: conv_output_size(28, 0), ValueError, r"kernel expects a positive integer"),
    (lambda: conv_output_size(28, 3, stride=0), ValueError, r"stride expects a positive integer"),
    (lambda: conv_output_size(28, 3, padding=-1), ValueError, r"padding expects an integer >= 0, but got -1"),
    (lambda: conv_output_size(28, 3, padding="full"), ValueError, r"padding expects .*'same' or 'valid'.*'full'"),
    (lambda: conv_output_size(28.0, 3), TypeError, r"conv_output_size: size expects an integer, but got 28.0"),
    (lambda: conv_output_size(2, 5), ValueError, r"input size 2 is too small for kernel 5 .* = -2"),
    (lambda: conv_output_size(4, 3, dilation=2), ValueError, r"dilated kernel spans 5 but the padded input has only 4"),
    (lambda: conv_transpose_output_size(3, 3, padding="same"), ValueError, r"transposed convs take no 'same'"),
    (lambda: conv_transpose_output_size(3, 3, stride=2, output_padding=2), ValueError,
     r"output_padding expects a value smaller than stride or dilation"),
    (lambda: conv_transpose_output_size(1, 1, padding=1), ValueError, r"padding 1 on each side removes the whole"),
    (lambda: pool_output_size(1, 3), ValueError, r"pool_output_size: input size 1 is too small for kernel 3"),
    (lambda: pool_output_size(8, 2, padding=2), ValueError, r"padding expects at most half the kernel"),
    (lambda: pool_output_size(8, 2, ceil_mode=1), TypeError, r"ceil_mode expects a bool, but got 1"),
])
def test_output_size_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_conv_cost_counts_weights_biases_and_macs():
    cost = conv_cost(64, 32, 3, output_size=56)
    assert (cost.weights, cost.biases, cost.params) == (18_432, 32, 18_464)
    assert cost.macs == 56 * 56 * 32 * 64 * 9 == 57_802_752
    assert "64*3*3*32 + 32 = 18,464" in cost.explain() and "56*56*32*64*3*3 = 57,802,752" in cost.explain()
    grouped = conv_cost(64, 32, (3, 5), output_size=(10, 20), groups=4, bias=False)
    assert grouped.params == 16 * 15 * 32 and grouped.macs == 200 * 32 * 16 * 15
    assert conv_cost(8, 8, 3).macs is None
    assert conv_cost(4, 6, (5,), output_size=7).macs == 7 * 6 * 4 * 5     # 1-D


def test_conv_cost_matches_a_layer():
    import convscope.nn as nn

    layer = nn.Conv2d(12, 18, (3, 5), groups=3)
    assert conv_cost(12, 18, (3, 5), groups=3).params == sum(p.numel() for p in layer.parameters())


@pytest.mark.parametrize("call, error, match", [
    (lambda: conv_cost(64, 30, 3, groups=4), ValueError, r"conv_cost: out_channels expects a multiple of groups=4"),
    (lambda: conv_cost(64, 32, 3, output_size=(5, 5, 5)), ValueError, r"output_size expects 2 values"),
    (lambda: conv_cost(64, 32, "3"), TypeError, r"kernel expects an int or a non-empty tuple of ints"),
    (lambda: conv_cost(64, 32, 3, bias="yes"), TypeError, r"bias expects a bool"),
    (lambda: compare_separable(0, 32, 3), ValueError, r"compare_separable: in_channels expects a positive integer"),
])
def test_cost_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_compare_separable_textbook_numbers():
    c = compare_separable(64, 32, 3)
    assert c.standard.params == 3 * 3 * 64 * 32 == 18_432
    assert (c.depthwise.params, c.pointwise.params) == (3 * 3 * 64, 64 * 32)
    assert c.separable_params == 2_624
    assert c.ratio == pytest.approx(1 / 32 + 1 / 9) and round(c.ratio, 4) == 0.1424
    assert c.ratio_formula == "1/Cout + 1/k^2 = 1/32 + 1/9 = 0.1424"
    assert c.separable_macs is None and c.macs_ratio is None
    text = str(c)
    assert "18,432" in text and "2,624" in text and "0.1424" in text and "3*3*64*32" in text


def test_compare_separable_macs_and_bias():
    c = compare_separable(64, 32, 3, output_size=56)
    assert c.standard.macs == 18_432 * 56 * 56 and c.separable_macs == 2_624 * 56 * 56
    assert c.macs_ratio == pytest.approx(1 / 32 + 1 / 9)
    b = compare_separable(64, 32, 3, output_size=56, bias=True)
    assert (b.standard.params, b.separable_params) == (18_432 + 32, 576 + 64 + 2_048 + 32)
    assert b.macs_ratio == pytest.approx(c.macs_ratio)       # biases are not multiply-adds


def test_compare_separable_matches_the_layer():
    import convscope.nn as nn

    layer = nn.DepthwiseSeparableConv2d(64, 32, 3, bias=False)
    assert compare_separable(64, 32, 3).separable_params == sum(p.numel() for p in layer.parameters())
