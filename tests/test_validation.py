"""convscope._validation: the one home of argument checks, their results and their wording."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from convscope import _validation as V
from convscope.ops.conv import output_shape


# ---- integers --------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [(3, True), (np.int8(-2), True), (True, False), (np.bool_(True), False),
                                             (3.0, False), ("3", False), (None, False)])
def test_is_int(value, expected):
    assert V.is_int(value) is expected


def test_check_int_returns_a_python_int():
    got = V.check_int(np.int64(7), "groups", "conv2d", minimum=1)
    assert got == 7 and type(got) is int


@pytest.mark.parametrize("value, minimum, error, match", [
    (0, 1, ValueError, r"^conv2d: groups expects a positive integer, but got 0$"),
    (-1, 0, ValueError, r"^conv2d: groups expects an integer >= 0, but got -1$"),
    (2.0, None, TypeError, r"^conv2d: groups expects an integer, but got 2.0 \(float\)$"),
    (True, None, TypeError, r"^conv2d: groups expects an integer, but got True \(bool\)$"),
])
def test_check_int_errors(value, minimum, error, match):
    with pytest.raises(error, match=match):
        V.check_int(value, "groups", "conv2d", minimum=minimum)


@given(st.integers(-5, 5), st.integers(1, 4))
def test_to_tuple_repeats_an_int(value, n):
    assert V.to_tuple(value, n, "stride", "f") == (value,) * n


@given(st.lists(st.integers(1, 9), min_size=1, max_size=4))
def test_to_tuple_keeps_a_sequence(values):
    for form in (tuple(values), list(values), np.array(values)):
        got = V.to_tuple(form, len(values), "stride", "f", minimum=1)
        assert got == tuple(values) and all(type(v) is int for v in got)


@pytest.mark.parametrize("value, minimum, error, match", [
    ((1, 2, 3), None, ValueError, r"^conv2d: stride expects an int or 2 ints, but got 3 values \(1, 2, 3\)$"),
    ("2", None, TypeError, r"^conv2d: stride expects an int or a tuple of 2 ints, but got '2' \(str\)$"),
    ((1, 2.0), None, TypeError, r"^conv2d: stride expects integers, but got \(1, 2.0\) \(an element is float\)$"),
    ((1, 0), 1, ValueError, r"^conv2d: stride expects positive integers, but got \(1, 0\)$"),
    (-1, 0, ValueError, r"^conv2d: stride expects integers >= 0, but got -1$"),
])
def test_to_tuple_errors(value, minimum, error, match):
    with pytest.raises(error, match=match):
        V.to_tuple(value, 2, "stride", "conv2d", minimum=minimum)


# ---- pooling's default stride ------------------------------------------------------------------------

@given(st.lists(st.integers(1, 9), min_size=1, max_size=3), st.sampled_from([None, (), []]))
def test_pool_stride_defaults_to_the_kernel(kernel, stride):
    assert V.pool_stride(stride, tuple(kernel), "max_pool") == tuple(kernel)


@given(st.integers(1, 9), st.integers(1, 9))
def test_pool_stride_for_one_dim_takes_and_gives_ints(kernel, stride):
    assert V.pool_stride(None, kernel, "pool_output_size") == kernel
    assert V.pool_stride(stride, kernel, "pool_output_size") == stride


def test_pool_stride_given():
    assert V.pool_stride(2, (3, 3), "max_pool2d") == (2, 2)
    assert V.pool_stride([1, 2], (3, 3), "max_pool2d") == (1, 2)


@pytest.mark.parametrize("stride, kernel, error, match", [
    (0, (2, 2), ValueError, r"^max_pool2d: stride expects positive integers, but got 0$"),
    ((1, 2, 3), (2, 2), ValueError, r"^max_pool2d: stride expects an int or 2 ints, but got 3 values"),
    (1.5, (2, 2), TypeError, r"^max_pool2d: stride expects an int or a tuple of 2 ints, but got 1.5"),
    (0, 2, ValueError, r"^max_pool2d: stride expects a positive integer, but got 0$"),
])
def test_pool_stride_errors(stride, kernel, error, match):
    with pytest.raises(error, match=match):
        V.pool_stride(stride, kernel, "max_pool2d")


# ---- real numbers and bools ------------------------------------------------------------------------

@given(st.floats(allow_nan=False, allow_infinity=False) | st.integers(-10**6, 10**6))
def test_check_real_returns_a_python_float(value):
    got = V.check_real(value, "x", "f")
    assert type(got) is float and got == float(value)


@given(st.floats(0, 1))
def test_check_real_bounds_are_inclusive(value):
    assert V.check_real(value, "p", "dropout", low=0, high=1) == value


@pytest.mark.parametrize("kwargs, value, error, match", [
    ({}, "1", TypeError, r"^f: x expects a real number, but got '1' \(str\)$"),
    ({}, True, TypeError, r"^f: x expects a real number, but got True \(bool\)$"),
    ({}, float("nan"), ValueError, r"^f: x expects a finite real number, but got nan$"),
    ({}, 10**400, ValueError, r"^f: x expects a finite real number, but got 1000"),
    ({"low": 0, "high": 1}, 1.5, ValueError, r"^f: x expects a finite real number in \[0, 1\], but got 1.5$"),
    ({"low": 0}, "a", TypeError, r"^f: x expects a real number in \[0, inf\], but got 'a' \(str\)$"),
    ({"what": "a float in [0, 1)", "low": 0, "ok": lambda x: x < 1}, 1.0, ValueError,
     r"^f: x expects a float in \[0, 1\), but got 1.0$"),
    ({"what": "a finite real number", "error": TypeError}, math.inf, TypeError,
     r"^f: x expects a finite real number, but got inf$"),
    ({"what": "a slope", "type_error": ValueError}, "x", ValueError, r"^f: x expects a slope, but got 'x' \(str\)$"),
    ({"finite": False, "low": 0}, float("nan"), ValueError, r"^f: x expects a finite real number in \[0, inf\]"),
])
def test_check_real_errors(kwargs, value, error, match):
    with pytest.raises(error, match=match):
        V.check_real(value, "x", "f", **kwargs)


def test_check_real_may_allow_infinities():
    assert V.check_real(math.inf, "val", "constant_", finite=False) == math.inf
    assert math.isnan(V.check_real(float("nan"), "val", "constant_", finite=False))


def test_positive_and_non_negative():
    assert V.check_positive(np.float32(0.5), "sigma", "gaussian") == 0.5
    assert V.check_non_negative(0, "amount", "sharpen") == 0.0
    with pytest.raises(ValueError, match=r"^gaussian: sigma expects a positive number, but got 0$"):
        V.check_positive(0, "sigma", "gaussian")
    with pytest.raises(TypeError, match=r"^gaussian: sigma expects a positive number, but got None \(NoneType\)$"):
        V.check_positive(None, "sigma", "gaussian")
    with pytest.raises(ValueError, match=r"^sharpen: amount expects a non-negative number, but got -1$"):
        V.check_non_negative(-1, "amount", "sharpen")
    with pytest.raises(ValueError, match=r"^SGD: lr expects a non-negative float, but got inf$"):
        V.check_non_negative(math.inf, "lr", "SGD", what="a non-negative float")


def test_check_bool():
    assert V.check_bool(np.False_, "flag", "f") is False and V.check_bool(True, "flag", "f") is True
    with pytest.raises(TypeError, match=r"^SGD: nesterov expects a bool, but got 1 \(int\)$"):
        V.check_bool(1, "nesterov", "SGD")


# ---- choices and generators ----------------------------------------------------------------------

def test_check_choice_returns_the_value():
    assert V.check_choice("same", "mode", "apply", ("full", "same")) == "same"
    assert V.check_choice(8, "neighbours", "laplacian", (4, 8)) == 8


@pytest.mark.parametrize("value, kwargs, match", [
    ("center", {}, r"^apply: mode expects one of 'full', 'same', 'valid', but got 'center'$"),
    (1, {}, r"^apply: mode expects one of 'full', 'same', 'valid', but got 1$"),              # never compared
    (["same"], {}, r"but got \['same'\]$"),                                                  # unhashable
    (np.array(["same", "full"]), {}, r"but got array"),                                      # ambiguous truth
    ("x", {"quote": False}, r"^apply: mode expects one of full, same, valid, but got 'x'$"),
    ("x", {"expected": "'full' or a window"}, r"^apply: mode expects 'full' or a window, but got 'x'$"),
])
def test_check_choice_errors(value, kwargs, match):
    with pytest.raises(ValueError, match=match):
        V.check_choice(value, "mode", "apply", ("full", "same", "valid"), **kwargs)


def test_check_padding_mode_is_a_choice():
    assert V.check_padding_mode("zeros", "Conv2d", ("zeros", "reflect")) == "zeros"
    with pytest.raises(ValueError, match=r"^Conv2d: padding_mode expects one of 'zeros', 'reflect', but got 'wrap'$"):
        V.check_padding_mode("wrap", "Conv2d", ("zeros", "reflect"))


def test_check_generator():
    rng = np.random.default_rng(0)
    assert V.check_generator(rng, "generator", "f") is rng and V.check_generator(None, "generator", "f") is None
    with pytest.raises(TypeError, match=r"^f: rng expects a numpy.random.Generator or None, but got int$"):
        V.check_generator(0, "rng", "f")


# ---- arrays and dtypes -------------------------------------------------------------------------------

def test_as_real_array_keeps_the_array():
    x = np.arange(4, dtype=np.int16)
    assert V.as_real_array(x, "x", "f") is x and V.as_float_array(x, "x", "f") is x
    assert V.as_real_array([1j], "x", "f", allow_complex=True).dtype.kind == "c"


@pytest.mark.parametrize("value, kwargs, error, match", [
    (["a"], {}, TypeError, r"^f: x expects a real numeric array \(bool, integer or float\), but got dtype <U1$"),
    ([1j], {}, TypeError, r"^f: x expects a real numeric array .* but got dtype complex128$"),
    (["a"], {"allow_complex": True}, TypeError, r"^f: x expects a real or complex numeric array, but got dtype <U1$"),
    ([[1, 2], [3]], {}, ValueError, r"^f: x expects a rectangular array of numbers, but got a list NumPy cannot"),
])
def test_as_real_array_errors(value, kwargs, error, match):
    with pytest.raises(error, match=match):
        V.as_real_array(value, "x", "f", **kwargs)


def test_as_float_array_refuses_complex():
    with pytest.raises(TypeError, match=r"^f: x expects a real numeric array"):
        V.as_float_array(np.ones(2, complex), "x", "f")


@pytest.mark.parametrize("dtypes, expected", [
    ((np.float32, np.float64), np.float64), ((np.float16,), np.float32), ((np.int64, np.float32), np.float32),
    ((np.int64,), np.float32), ((np.bool_, np.uint8), np.float32),
])
def test_result_float_dtype(dtypes, expected):
    assert V.result_float_dtype(*(np.zeros(1, d) for d in dtypes), None) == expected


# ---- padding ---------------------------------------------------------------------------------------

@given(st.integers(1, 40), st.integers(1, 7), st.integers(1, 4), st.integers(1, 3))
def test_same_padding_gives_ceil_size_over_stride(size, kernel, stride, dilation):
    pads = V.padding_pairs("same", 1, "f", spatial=(size,), kernel=(kernel,), stride=(stride,), dilation=(dilation,))
    (before, after), = pads
    assert 0 <= after - before <= 1
    assert output_shape((size,), (kernel,), (stride,), pads, (dilation,)) == (-(-size // stride),)


def test_padding_pairs_int_tuple_and_valid():
    geometry = dict(spatial=(5, 5), kernel=(3, 3), stride=(1, 1), dilation=(1, 1))
    assert V.padding_pairs("valid", 2, "f", **geometry) == ((0, 0), (0, 0))
    assert V.padding_pairs((1, 2), 2, "f", **geometry) == ((1, 1), (2, 2))
    with pytest.raises(ValueError, match=r"^f: padding expects 'valid', 'same', an int or a tuple of 2 ints, but got 'full'$"):
        V.padding_pairs("full", 2, "f", **geometry)
    with pytest.raises(ValueError, match=r"^f: padding expects integers >= 0, but got -1$"):
        V.padding_pairs(-1, 2, "f", **geometry)


# ---- sizes -----------------------------------------------------------------------------------------

def test_check_addressable():
    V.check_addressable((0, 2**20), 8, "f", "an output", "size=2**20")      # zero dims count as 1
    with pytest.raises(ValueError, match=r"^f: padding=\(2\*\*62, 0\) expects a padded input of at most \d+ bytes "
                                         r"\(the most one array can address\), but it would have shape"):
        V.check_addressable((2**62, 4), 8, "f", "a padded input", "padding=(2**62, 0)")
    assert V.MAX_BYTES == np.iinfo(np.intp).max


def test_check_nonempty():
    V.check_nonempty((0, 3, 4, 4), "f", "input", first=1, dims=("N", "C", "H", "W"))
    with pytest.raises(ValueError, match=r"^f: input expects non-zero sizes \(only N may be 0\) for a \(N, C, H, W\) "
                                         r"input, but got shape \(1, 3, 0, 4\) \(H is 0\)$"):
        V.check_nonempty((1, 3, 0, 4), "f", "input", first=1, dims=("N", "C", "H", "W"))
    with pytest.raises(ValueError, match=r"\(none may be 0\)"):
        V.check_nonempty((0, 4), "f", "input", first=0, dims=("C", "L"))


def test_check_float_dtype():
    assert V.check_float_dtype("float16", "dtype", "to") == np.float16
    assert V.check_float_dtype(np.float64, "dtype", "to") == np.float64
    for bad, shown in ((np.int32, "int32"), (np.complex64, "complex64"), (bool, "bool")):
        with pytest.raises(TypeError, match=rf"^to: dtype expects a floating dtype \(float16, float32 or float64\), "
                                            rf"but got {shown}$"):
            V.check_float_dtype(bad, "dtype", "to")
    for bad in (None, "no such dtype"):
        with pytest.raises(TypeError, match=r"^summary: dtype expects a NumPy floating dtype, but got"):
            V.check_float_dtype(bad, "dtype", "summary", what="a NumPy floating dtype")


def test_check_choice_takes_any_iterable_of_choices():
    assert V.check_choice("b", "name", "f", iter(["a", "b"])) == "b"
    with pytest.raises(ValueError, match=r"^f: name expects one of a, b, but got 'c'$"):
        V.check_choice("c", "name", "f", {"a": 1, "b": 2}.keys(), quote=False)
