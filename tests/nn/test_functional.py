"""The functional API's boundary: errors, dtype rules, unbatched input, arrays vs Tensors."""

import numpy as np
import pytest

import convscope
import convscope.nn.functional as F

X = np.zeros((1, 3, 5, 5))
W = np.zeros((2, 3, 3, 3))


@pytest.mark.parametrize("call, error, match", [
    # wrong rank
    (lambda: F.conv2d(np.zeros((3, 5)), W), ValueError,
     r"conv2d: input expects 3 dimensions \(C, H, W\) or 4 \(N, C, H, W\), but got shape \(3, 5\)"),
    (lambda: F.conv2d(X, np.zeros((2, 3, 3))), ValueError,
     r"conv2d: weight expects 4 dimensions \(out_channels, in_channels/groups, kH, kW\), but got shape \(2, 3, 3\)"),
    (lambda: F.conv1d(np.zeros((1, 2, 3, 4, 5)), np.zeros((1, 2, 3))), ValueError, r"conv1d: input expects 2 dimensions"),
    (lambda: F.conv2d(X, W, np.zeros((2, 1))), ValueError, r"conv2d: bias expects 1 dimension, but got shape \(2, 1\)"),
    (lambda: F.conv2d(X, W, np.zeros(3)), ValueError, r"conv2d: bias expects 2 elements .* but got shape \(3,\)"),
    # channels vs weight and groups
    (lambda: F.conv2d(X, np.zeros((2, 4, 3, 3))), ValueError,
     r"conv2d: weight expects 4 input channels \(weight.shape\[1\]=4 x groups=1\), but input has 3"),
    (lambda: F.conv2d(np.zeros((1, 4, 5, 5)), np.zeros((3, 2, 3, 3)), groups=2), ValueError,
     r"conv2d: weight expects out_channels divisible by groups=2, but weight.shape\[0\] is 3"),
    (lambda: F.conv2d(np.zeros((1, 6, 5, 5)), np.zeros((4, 2, 3, 3)), groups=2), ValueError,
     r"conv2d: weight expects 4 input channels \(weight.shape\[1\]=2 x groups=2\), but input has 6"),
    (lambda: F.conv2d(X, W, groups=0), ValueError, r"conv2d: groups expects a positive integer, but got 0"),
    # kernel larger than the padded input
    (lambda: F.conv2d(np.zeros((1, 3, 2, 5)), W), ValueError,
     r"conv2d: kernel expects to fit in the padded input, but along spatial dim 0 the dilated kernel spans 3 "
     r"\(kernel 3, dilation 1\) and the padded input has 2 \(size 2 \+ padding 0 \+ 0\)"),
    (lambda: F.conv2d(X, W, dilation=3), ValueError, r"dilated kernel spans 7 \(kernel 3, dilation 3\)"),
    # stride / dilation / padding values and types
    (lambda: F.conv2d(X, W, stride=0), ValueError, r"conv2d: stride expects positive integers, but got 0"),
    (lambda: F.conv2d(X, W, stride=(1, -2)), ValueError, r"conv2d: stride expects positive integers, but got \(1, -2\)"),
    (lambda: F.conv2d(X, W, dilation=0), ValueError, r"conv2d: dilation expects positive integers, but got 0"),
    (lambda: F.conv2d(X, W, stride=1.5), TypeError, r"conv2d: stride expects an int or a tuple of 2 ints, but got 1.5"),
    (lambda: F.conv2d(X, W, padding=(1, 0.5)), TypeError, r"conv2d: padding expects integers >= 0, but got \(1, 0.5\)"),
    (lambda: F.conv2d(X, W, dilation=(1, 1, 1)), ValueError, r"conv2d: dilation expects an int or 2 ints, but got 3 values"),
    (lambda: F.conv2d(X, W, padding=-1), ValueError, r"conv2d: padding expects integers >= 0, but got -1"),
    (lambda: F.conv2d(X, W, stride=True), TypeError, r"conv2d: stride expects an int or a tuple of 2 ints, but got True"),
    (lambda: F.conv2d(X, W, groups=1.0), TypeError, r"conv2d: groups expects an integer, but got 1.0"),
    # padding strings and modes
    (lambda: F.conv2d(X, W, padding="full"), ValueError,
     r"conv2d: padding expects 'valid', 'same', an int or a tuple of 2 ints, but got 'full'"),
    (lambda: F.conv2d(X, W, padding=1, padding_mode="mirror"), ValueError,
     r"conv2d: padding_mode expects one of 'zeros', 'reflect', 'replicate', 'circular', but got 'mirror'"),
    (lambda: F.conv2d(np.zeros((1, 3, 2, 5)), np.zeros((2, 3, 1, 1)), padding=2, padding_mode="reflect"), ValueError,
     r"conv2d: padding for mode 'reflect' expects values smaller than the dimension size 2"),
    # dtype
    (lambda: F.conv2d(X.astype(str), W), TypeError,
     r"conv2d: input expects a real numeric array \(bool, integer or float\), but got dtype <U"),
    (lambda: F.conv2d(X, W.astype(complex)), TypeError, r"conv2d: weight expects a real numeric array.*complex128"),
    (lambda: F.conv2d(X, W, np.array(["a", "b"])), TypeError, r"conv2d: bias expects a real numeric array"),
    # transposed
    (lambda: F.conv_transpose2d(X, W, stride=2, output_padding=2), ValueError,
     r"conv_transpose2d: output_padding expects each value smaller than stride or dilation, but got "
     r"output_padding=\(2, 2\) with stride=\(2, 2\) and dilation=\(1, 1\)"),
    (lambda: F.conv_transpose2d(X, np.zeros((2, 3, 3, 3))), ValueError,
     r"conv_transpose2d: weight expects 2 input channels \(weight.shape\[0\]\), but input has 3"),
    (lambda: F.conv_transpose2d(X, np.zeros((3, 3, 3, 3)), padding="same"), ValueError,
     r"conv_transpose2d: padding expects an int or a tuple of 2 ints \(transposed convs take no 'same'/'valid'\)"),
    (lambda: F.conv_transpose2d(X, np.zeros((3, 1, 1, 1)), padding=3), ValueError,
     r"conv_transpose2d: padding=\(3, 3\) expects to leave a positive output size"),
    (lambda: F.conv_transpose1d(np.zeros((1, 3, 5)), np.zeros((3, 1, 3)), stride=0), ValueError,
     r"conv_transpose1d: stride expects positive integers, but got 0"),
    (lambda: F.conv_transpose3d(np.zeros((1, 4, 2, 2, 2)), np.zeros((4, 1, 1, 1, 1)), groups=3), ValueError,
     r"conv_transpose3d: input channels \(4\) expect to be divisible by groups=3"),
])
def test_bad_input_gets_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_plain_arrays_in_arrays_out_and_tensors_in_tensors_out(rng):
    x, w = rng.standard_normal((1, 2, 6, 6)), rng.standard_normal((3, 2, 3, 3))
    y = F.conv2d(x, w, padding=1, padding_mode="reflect")
    assert isinstance(y, np.ndarray)
    t = F.conv2d(convscope.Tensor(x), w, padding=1, padding_mode="reflect")
    assert isinstance(t, convscope.Tensor) and not t.requires_grad
    np.testing.assert_array_equal(t.numpy(), y)


def test_unbatched_input_matches_batch_of_one(rng):
    x, w, b = rng.standard_normal((2, 7, 6)), rng.standard_normal((3, 2, 3, 2)), rng.standard_normal(3)
    np.testing.assert_allclose(F.conv2d(x, w, b, stride=2, padding="same"),
                               F.conv2d(x[None], w, b, stride=2, padding="same")[0])


@pytest.mark.parametrize("x_dtype, w_dtype, want", [
    (np.float32, np.float32, np.float32),
    (np.float64, np.float64, np.float64),
    (np.float32, np.float64, np.float64),
    (np.uint8, np.float32, np.float32),
    (np.int64, np.float64, np.float64),
    (np.uint8, np.int32, np.float32),
    (np.float16, np.float16, np.float32),
    (bool, np.float32, np.float32),
])
def test_dtype_rule(x_dtype, w_dtype, want):
    x = np.ones((1, 1, 4, 4), dtype=x_dtype)
    w = np.ones((1, 1, 2, 2), dtype=w_dtype)
    y = F.conv2d(x, w)
    assert y.dtype == want
    np.testing.assert_array_equal(y, np.full((1, 1, 3, 3), 4))


def test_float32_leaf_gets_float32_grad_when_mixed_with_float64():
    x = convscope.Tensor(np.ones((1, 1, 4, 4), np.float32), requires_grad=True)
    w = convscope.Tensor(np.ones((1, 1, 2, 2), np.float64), requires_grad=True)
    F.conv2d(x, w).backward(np.ones((1, 1, 3, 3)))
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad, [[[[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]]]])


def test_inputs_are_never_modified(rng):
    x, w, b = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((2, 2, 3, 3)), rng.standard_normal(2)
    copies = [a.copy() for a in (x, w, b)]
    F.conv2d(x, w, b, padding=1, padding_mode="circular")
    F.conv_transpose2d(x, w, b, stride=2)
    for a, c in zip((x, w, b), copies):
        np.testing.assert_array_equal(a, c)


def test_same_padding_keeps_size_and_stride_follows_ceil():
    x = np.ones((1, 1, 7, 8))
    for k in (1, 2, 3, 4, 5):
        w = np.ones((1, 1, k, k))
        assert F.conv2d(x, w, padding="same").shape == (1, 1, 7, 8)
        assert F.conv2d(x, w, padding="same", dilation=2).shape == (1, 1, 7, 8)
        assert F.conv2d(x, w, padding="same", stride=2).shape == (1, 1, 4, 4)   # ceil(7/2), ceil(8/2)
        assert F.conv2d(x, w, padding="same", stride=3).shape == (1, 1, 3, 3)


def test_same_padding_puts_the_odd_element_after():
    """A 2-tap kernel [1, 0] under 'same' reads x[i] (pad after); [0, 1] reads x[i+1]."""
    x = np.array([[[1.0, 2.0, 3.0]]])
    np.testing.assert_array_equal(F.conv1d(x, np.array([[[1.0, 0.0]]]), padding="same"), [[[1, 2, 3]]])
    np.testing.assert_array_equal(F.conv1d(x, np.array([[[0.0, 1.0]]]), padding="same"), [[[2, 3, 0]]])


@pytest.mark.parametrize("call, match", [
    (lambda: F.max_pool2d(np.zeros((1, 1, 4, 4)), 2, padding=2),
     r"max_pool2d: padding expects at most half the kernel size \(kernel_size // 2\), but got padding=\(2, 2\)"),
    (lambda: F.avg_pool2d(np.zeros((1, 1, 1, 1)), 3), r"avg_pool2d: input of spatial size \(1, 1\) expects to hold"),
    (lambda: F.max_pool2d(np.zeros((1, 4, 4)), 0), r"max_pool2d: kernel_size expects positive integers, but got 0"),
    (lambda: F.max_pool2d(np.zeros((4, 4)), 2), r"max_pool2d: input expects 3 dimensions \(C, H, W\) or 4"),
    (lambda: F.adaptive_avg_pool2d(np.zeros((1, 1, 4, 4)), 0), r"adaptive_avg_pool2d: output_size expects positive"),
    (lambda: F.avg_pool2d(np.zeros((1, 1, 4, 4)), 2, divisor_override=0), r"divisor_override expects a positive"),
])
def test_pooling_rejects_bad_arguments(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_unbatched_pooling_and_indices(rng):
    x = rng.standard_normal((2, 6, 6))
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    yb, idxb = F.max_pool2d(x[None], 2, return_indices=True)
    np.testing.assert_array_equal(y, yb[0])
    np.testing.assert_array_equal(idx, idxb[0])
    np.testing.assert_array_equal(np.take_along_axis(x.reshape(2, -1), idx.reshape(2, -1), 1).reshape(y.shape), y)
