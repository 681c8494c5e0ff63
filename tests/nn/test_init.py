"""convscope.nn.init against torch.nn.init: gains, fans, bounds, statistics, orthogonality, seeding."""

import math

import numpy as np
import pytest

from tests._reference import torch

import convscope
from convscope.nn import Parameter
from convscope.nn import init

NONLINEARITIES = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                  "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]
WEIGHT_SHAPES = [(4, 3), (1, 1), (8, 3, 5), (16, 3, 3, 3), (5, 7, 1, 1), (4, 2, 3, 3, 3), (6, 2, 3, 1)]
RANDOM_FILLS = {
    "uniform_": lambda t, g=None: init.uniform_(t, -2.0, 3.0, generator=g),
    "normal_": lambda t, g=None: init.normal_(t, 1.0, 0.5, generator=g),
    "xavier_uniform_": lambda t, g=None: init.xavier_uniform_(t, gain=1.5, generator=g),
    "xavier_normal_": lambda t, g=None: init.xavier_normal_(t, generator=g),
    "kaiming_uniform_": lambda t, g=None: init.kaiming_uniform_(t, a=math.sqrt(5), generator=g),
    "kaiming_normal_": lambda t, g=None: init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu", generator=g),
    "orthogonal_": lambda t, g=None: init.orthogonal_(t, gain=2.0, generator=g),
}


@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
def test_calculate_gain_matches_torch(nonlinearity):
    assert init.calculate_gain(nonlinearity) == torch.nn.init.calculate_gain(nonlinearity)


@pytest.mark.parametrize("slope", [None, 0, 0.2, 1, 2, math.sqrt(5)])
def test_leaky_relu_gain_matches_torch(slope):
    assert init.calculate_gain("leaky_relu", slope) == torch.nn.init.calculate_gain("leaky_relu", slope)


@pytest.mark.parametrize("shape", WEIGHT_SHAPES)
def test_fans_match_torch(shape):
    want = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init._calculate_fan_in_and_fan_out(np.empty(shape)) == want
    assert init._calculate_fan_in_and_fan_out(Parameter(np.empty(shape))) == want


def _torch_bound_and_std(name, shape, **kw):
    """The uniform bound / normal std torch's formula gives, from torch's own gain and fans."""
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    if name.startswith("xavier"):
        std = kw.get("gain", 1.0) * math.sqrt(2.0 / (fan_in + fan_out))
    else:
        fan = fan_in if kw.get("mode", "fan_in") == "fan_in" else fan_out
        std = torch.nn.init.calculate_gain(kw.get("nonlinearity", "leaky_relu"), kw.get("a", 0)) / math.sqrt(fan)
    return math.sqrt(3.0) * std, std


UNIFORM_CASES = [
    ("kaiming_uniform_", (256, 128, 3, 3), {}),
    ("kaiming_uniform_", (512, 64, 3, 3), dict(a=math.sqrt(5))),
    ("kaiming_uniform_", (300, 500), dict(mode="fan_out", nonlinearity="relu")),
    ("kaiming_uniform_", (64, 32, 5, 5), dict(nonlinearity="tanh", mode="fan_out")),
    ("xavier_uniform_", (300, 500), {}),
    ("xavier_uniform_", (128, 64, 3, 3), dict(gain=init.calculate_gain("relu"))),
]


@pytest.mark.parametrize("name, shape, kw", UNIFORM_CASES)
def test_uniform_schemes_use_torchs_bound(name, shape, kw):
    bound, std = _torch_bound_and_std(name, shape, **kw)
    w = getattr(init, name)(np.empty(shape), generator=np.random.default_rng(0), **kw)
    ref = getattr(torch.nn.init, name)(torch.empty(shape, dtype=torch.float64), **kw).numpy()
    for sample in (w, ref):
        assert np.abs(sample).max() <= bound
        assert np.abs(sample).max() > 0.99 * bound  # so the bound is tight, not just respected
        assert abs(sample.std() / std - 1) < 0.03
        assert abs(sample.mean()) < 0.03 * std


NORMAL_CASES = [
    ("kaiming_normal_", (256, 128, 3, 3), {}),
    ("kaiming_normal_", (300, 500), dict(mode="fan_out", nonlinearity="relu")),
    ("kaiming_normal_", (64, 32, 5, 5), dict(a=0.2, nonlinearity="leaky_relu")),
    ("xavier_normal_", (300, 500), {}),
    ("xavier_normal_", (128, 64, 3, 3), dict(gain=5 / 3)),
]


@pytest.mark.parametrize("name, shape, kw", NORMAL_CASES)
def test_normal_schemes_use_torchs_std(name, shape, kw):
    _, std = _torch_bound_and_std(name, shape, **kw)
    w = getattr(init, name)(np.empty(shape), generator=np.random.default_rng(0), **kw)
    ref = getattr(torch.nn.init, name)(torch.empty(shape, dtype=torch.float64), **kw).numpy()
    for sample in (w, ref):
        assert abs(sample.std() / std - 1) < 0.03
        assert abs(sample.mean()) < 0.03 * std


def test_uniform_and_normal_fill_with_the_asked_distribution():
    u = init.uniform_(np.empty(200_000), -2.0, 3.0, generator=np.random.default_rng(1))
    assert u.min() >= -2.0 and u.max() <= 3.0 and abs(u.mean() - 0.5) < 0.02
    n = init.normal_(np.empty(200_000), 1.0, 0.5, generator=np.random.default_rng(1))
    assert abs(n.mean() - 1.0) < 0.01 and abs(n.std() - 0.5) < 0.01


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4), (6, 2, 3, 3), (20, 4, 1), (1, 7)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_orthogonal_rows_or_columns_are_orthonormal_times_gain(shape, gain, dtype):
    w = init.orthogonal_(np.empty(shape, dtype=dtype), gain=gain, generator=np.random.default_rng(2))
    assert w.dtype == dtype
    m = w.reshape(shape[0], -1).astype(np.float64)
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(len(gram)), atol=tol * gain ** 2)


@pytest.mark.parametrize("name", sorted(RANDOM_FILLS))
def test_manual_seed_makes_init_reproducible(name):
    fill = RANDOM_FILLS[name]
    convscope.manual_seed(0)
    a = fill(Parameter(np.empty((6, 4, 3), dtype=np.float32)))
    convscope.manual_seed(0)
    b = fill(Parameter(np.empty((6, 4, 3), dtype=np.float32)))
    np.testing.assert_array_equal(a.data, b.data)
    c = fill(Parameter(np.empty((6, 4, 3), dtype=np.float32)))
    assert not np.array_equal(a.data, c.data)


@pytest.mark.parametrize("name", sorted(RANDOM_FILLS))
def test_an_explicit_generator_leaves_the_global_one_alone(name):
    fill = RANDOM_FILLS[name]
    convscope.manual_seed(3)
    state = convscope.random.get_rng_state()
    a = fill(np.empty((5, 6)), np.random.default_rng(9))
    assert convscope.random.get_rng_state() == state
    np.testing.assert_array_equal(a, fill(np.empty((5, 6)), np.random.default_rng(9)))


@pytest.mark.parametrize("name", sorted(RANDOM_FILLS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fills_parameters_and_arrays_in_place(name, dtype):
    fill = RANDOM_FILLS[name]
    p = Parameter(np.zeros((4, 6), dtype=dtype))
    data = p.data
    assert fill(p) is p and p.data is data and p.data.dtype == dtype and np.any(data != 0)
    assert p.requires_grad
    arr = np.zeros((4, 6), dtype=dtype)
    view = arr[:, ::2]  # a strided view is filled in place too
    assert fill(view) is view and np.any(arr[:, ::2] != 0) and np.all(arr[:, 1::2] == 0)


def test_constant_zeros_ones():
    p = Parameter(np.empty((2, 3), dtype=np.float32))
    assert init.constant_(p, 0.3) is p and np.all(p.data == np.float32(0.3))
    assert np.all(init.zeros_(p).data == 0) and np.all(init.ones_(p).data == 1)
    ints = np.empty(4, dtype=np.int64)
    assert init.ones_(ints) is ints and np.all(ints == 1)


def test_zero_element_tensors_are_left_alone():
    for fill in RANDOM_FILLS.values():
        empty = np.empty((0, 3))
        assert fill(empty) is empty


def test_names_without_underscore_do_the_same_and_accept_a_shape():
    convscope.manual_seed(5)
    a = init.kaiming_uniform_(np.empty((8, 3, 3, 3), dtype=np.float32))
    convscope.manual_seed(5)
    b = init.kaiming_uniform(np.empty((8, 3, 3, 3), dtype=np.float32))
    np.testing.assert_array_equal(a, b)
    convscope.manual_seed(5)
    c = init.kaiming_uniform((8, 3, 3, 3))
    assert c.dtype == convscope.backend.get_default_dtype()
    np.testing.assert_array_equal(a, c)
    assert init.zeros((2, 2)).shape == (2, 2) and np.all(init.ones([3]) == 1)
    w = init.orthogonal((3, 5), gain=2.0)
    np.testing.assert_allclose(w @ w.T, 4 * np.eye(3), atol=1e-5)
    assert init.kaiming_normal.__name__ == "kaiming_normal"
    for name in ("uniform", "normal", "constant", "zeros", "ones", "xavier_uniform", "xavier_normal",
                 "kaiming_uniform", "kaiming_normal", "orthogonal"):
        assert callable(getattr(init, name))


@pytest.mark.parametrize("call, error, match", [
    (lambda: init._calculate_fan_in_and_fan_out(np.empty(5)), ValueError,
     r"_calculate_fan_in_and_fan_out: tensor expects at least 2 dimensions .* but got shape \(5,\)"),
    (lambda: init.kaiming_uniform_(np.empty(5)), ValueError, r"kaiming_uniform_: tensor expects at least 2 dimensions"),
    (lambda: init.kaiming_normal_(np.empty(())), ValueError, r"kaiming_normal_: .* but got shape \(\)"),
    (lambda: init.xavier_uniform_(np.empty(3)), ValueError, r"xavier_uniform_: tensor expects at least 2 dimensions"),
    (lambda: init.xavier_normal_(np.empty(3)), ValueError, r"xavier_normal_: tensor expects at least 2 dimensions"),
    (lambda: init.orthogonal_(np.empty(3)), ValueError, r"orthogonal_: tensor expects at least 2 dimensions"),
    (lambda: init.kaiming_uniform_(np.empty((2, 2)), mode="fan_avg"), ValueError,
     r"kaiming_uniform_: mode expects 'fan_in' or 'fan_out', but got 'fan_avg'"),
    (lambda: init.kaiming_normal_(np.empty((2, 2)), nonlinearity="gelu"), ValueError,
     r"kaiming_normal_: nonlinearity expects one of linear, .*selu, but got 'gelu'"),
    (lambda: init.kaiming_normal_(np.empty((2, 2)), a="x"), ValueError,
     r"kaiming_normal_: a expects the negative slope of leaky_relu as a real number, but got 'x'"),
    (lambda: init.calculate_gain("swish"), ValueError,
     r"calculate_gain: nonlinearity expects one of .* but got 'swish'"),
    (lambda: init.calculate_gain("leaky_relu", True), ValueError, r"calculate_gain: param expects the negative slope"),
    (lambda: init.uniform_(np.empty(3), 1.0, 0.0), ValueError, r"uniform_: expects a <= b, but got a=1, b=0"),
    (lambda: init.normal_(np.empty(3), std=-1.0), ValueError,
     r"normal_: std expects a non-negative number, but got -1"),
    (lambda: init.normal_(np.empty(3), mean=float("inf")), TypeError, r"normal_: mean expects a finite real number"),
    (lambda: init.uniform_(np.empty(3, dtype=np.int32)), TypeError,
     r"uniform_: tensor expects a floating dtype, but got int32"),
    (lambda: init.xavier_uniform_([[1.0, 2.0]]), TypeError,
     r"xavier_uniform_: tensor expects a convscope Tensor or a NumPy array, but got list"),
    (lambda: init.normal_(np.empty(3), generator=np.random.RandomState(0)), TypeError,
     r"normal_: generator expects a numpy.random.Generator or None, but got RandomState"),
    (lambda: init.constant_(np.empty(3), "1"), TypeError, r"constant_: val expects a real number, but got '1'"),
    (lambda: init.zeros((2, -1)), TypeError,
     r"zeros: tensor expects a Tensor, an array or a shape of non-negative ints"),
])
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_read_only_array_is_refused():
    arr = np.zeros(3)
    arr.setflags(write=False)
    with pytest.raises(ValueError, match=r"ones_: tensor expects a writeable array, but got a read-only one"):
        init.ones_(arr)
