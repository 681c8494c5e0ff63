"""Weight initialisation, named and computed as in ``torch.nn.init``.

Every ``name_`` function fills a Tensor's (or Parameter's) ``.data``, or a NumPy array, in place
and returns what it was given. Random ones draw from ``generator``, by default convscope's global
generator (:func:`convscope.random.get_generator`), so ``convscope.manual_seed(0)`` makes them
reproducible. Samples are drawn in float64 and cast to the array's dtype.

The names without the trailing underscore (``kaiming_uniform`` ...) do the same, and also accept
a shape instead of an array: ``kaiming_uniform((8, 3, 3, 3))`` returns a new array of the default
dtype (:func:`convscope.backend.get_default_dtype`).

The fan-based schemes read fans from the weight's shape with PyTorch's rule, for a weight of shape
``(size0, size1, *kernel)``: ``fan_in = size1 * prod(kernel)``, ``fan_out = size0 *
prod(kernel)`` (see :func:`_calculate_fan_in_and_fan_out`).

References
----------
.. [1] X. Glorot and Y. Bengio, "Understanding the difficulty of training deep feedforward neural
   networks", AISTATS 2010 (Xavier / Glorot initialisation).
.. [2] K. He, X. Zhang, S. Ren and J. Sun, "Delving deep into rectifiers", ICCV 2015 (Kaiming /
   He initialisation).
.. [3] A. M. Saxe, J. L. McClelland and S. Ganguli, "Exact solutions to the nonlinear dynamics of
   learning in deep linear neural networks", ICLR 2014 (orthogonal initialisation).
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable

import numpy as np

from .. import _validation as V
from .. import backend
from ..autograd import Tensor
from ..random import get_generator

__all__ = [
    "calculate_gain",
    "uniform_", "normal_", "constant_", "zeros_", "ones_",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_",
    "uniform", "normal", "constant", "zeros", "ones",
    "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "orthogonal",
]

_UNIT_GAIN = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid")
_NONLINEARITIES = _UNIT_GAIN + ("tanh", "relu", "leaky_relu", "selu")
_FAN_MODES = ("fan_in", "fan_out")


# -- argument checks

def _array(tensor: Any, fn: str, *, floating: bool = True) -> np.ndarray:
    """The array to fill: a Tensor's ``.data`` or the ndarray itself."""
    array = tensor.data if isinstance(tensor, Tensor) else tensor
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{fn}: tensor expects a convscope Tensor or a NumPy array, but got {type(tensor).__name__}")
    if floating and array.dtype.kind != "f":
        raise TypeError(f"{fn}: tensor expects a floating dtype, but got {array.dtype}")
    if not array.flags.writeable:
        raise ValueError(f"{fn}: tensor expects a writeable array, but got a read-only one")
    return array


def _real(value: Any, name: str, fn: str) -> float:
    """A finite float; a non-finite one is a TypeError here (torch.nn.init's contract in convscope)."""
    return V.check_real(value, name, fn, what="a finite real number", error=TypeError)


def _generator(generator: Any, fn: str) -> np.random.Generator:
    """``generator`` checked, or convscope's global generator for None."""
    generator = V.check_generator(generator, "generator", fn)
    return get_generator() if generator is None else generator


def _fans(shape: tuple[int, ...], fn: str) -> tuple[int, int]:
    if len(shape) < 2:
        raise ValueError(f"{fn}: tensor expects at least 2 dimensions to compute fan in and fan out, "
                         f"but got shape {shape}")
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def _calculate_fan_in_and_fan_out(tensor: Any) -> tuple[int, int]:
    """Fan in and fan out of a weight, by PyTorch's rule.

    For a weight of shape ``(size0, size1, k1, ..., kn)`` (a Linear's ``(out, in)``, a conv's
    ``(out, in / groups, *kernel)``), with receptive field ``r = k1 * ... * kn`` (1 when there
    are no kernel dims)::

        fan_in = size1 * r        fan_out = size0 * r

    Parameters
    ----------
    tensor : Tensor or numpy.ndarray
        A weight with at least 2 dimensions.

    Returns
    -------
    (int, int)
        ``(fan_in, fan_out)``.

    Raises
    ------
    ValueError
        If ``tensor`` has fewer than 2 dimensions.

    Examples
    --------
    >>> import numpy as np
    >>> _calculate_fan_in_and_fan_out(np.empty((16, 3, 5, 5)))
    (75, 400)
    """
    return _fans(_array(tensor, "_calculate_fan_in_and_fan_out", floating=False).shape,
                 "_calculate_fan_in_and_fan_out")


def _correct_fan(shape: tuple[int, ...], mode: Any, fn: str) -> int:
    fan_in, fan_out = _fans(shape, fn)
    mode = V.check_choice(mode.lower() if isinstance(mode, str) else mode, "mode", fn, _FAN_MODES,
                          expected="'fan_in' or 'fan_out'")
    return fan_in if mode == "fan_in" else fan_out


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    r"""The recommended gain for a nonlinearity, as ``torch.nn.init.calculate_gain``.

    ============================================ ==========================================
    nonlinearity                                 gain
    ============================================ ==========================================
    linear, conv1d/2d/3d, conv_transpose1d/2d/3d :math:`1`
    sigmoid                                      :math:`1`
    tanh                                         :math:`5/3`
    relu                                         :math:`\sqrt{2}`
    leaky_relu                                   :math:`\sqrt{2 / (1 + \text{slope}^2)}`
    selu                                         :math:`3/4`
    ============================================ ==========================================

    Parameters
    ----------
    nonlinearity : str
        One of the names above.
    param : float, optional
        The negative slope of ``leaky_relu`` (default 0.01); ignored by the others.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``nonlinearity`` is not one of the names above, or ``param`` is not a real number.

    Examples
    --------
    >>> calculate_gain("tanh")
    1.6666666666666667
    >>> calculate_gain("leaky_relu", 0.2) == (2 / 1.04) ** 0.5
    True
    """
    return _gain(nonlinearity, param, "calculate_gain", "param")


def _gain(nonlinearity: Any, slope: Any, fn: str, slope_name: str) -> float:
    V.check_choice(nonlinearity, "nonlinearity", fn, _NONLINEARITIES, quote=False)
    if nonlinearity in _UNIT_GAIN:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if slope is None else V.check_real(
            slope, slope_name, fn, what="the negative slope of leaky_relu as a real number", finite=False,
            type_error=ValueError)
        return math.sqrt(2.0 / (1 + slope ** 2))
    return 3.0 / 4                                   # selu


# -- plain fills

def uniform_(tensor: Any, a: float = 0.0, b: float = 1.0, generator: np.random.Generator | None = None) -> Any:
    r"""Fill ``tensor`` in place with samples of :math:`\mathcal{U}(a, b)`.

    Parameters
    ----------
    tensor : Tensor or numpy.ndarray
        A floating array of any shape.
    a, b : float
        The bounds, ``a <= b``.
    generator : numpy.random.Generator, optional
        Source of randomness; convscope's global generator by default.

    Returns
    -------
    The same ``tensor``.

    Raises
    ------
    TypeError
        If ``tensor`` is not a floating Tensor or array, or a bound is not a finite number.
    ValueError
        If ``a > b``.

    Examples
    --------
    >>> import numpy as np
    >>> w = uniform_(np.empty((2, 3)), -0.5, 0.5, generator=np.random.default_rng(0))
    >>> bool(np.all((w >= -0.5) & (w <= 0.5)))
    True
    """
    fn = "uniform_"
    array = _array(tensor, fn)
    a, b = _real(a, "a", fn), _real(b, "b", fn)
    if a > b:
        raise ValueError(f"uniform_: expects a <= b, but got a={a:g}, b={b:g}")
    array[...] = _generator(generator, fn).uniform(a, b, size=array.shape)
    return tensor


def normal_(tensor: Any, mean: float = 0.0, std: float = 1.0, generator: np.random.Generator | None = None) -> Any:
    r"""Fill ``tensor`` in place with samples of :math:`\mathcal{N}(\text{mean}, \text{std}^2)`.

    Parameters
    ----------
    tensor : Tensor or numpy.ndarray
        A floating array of any shape.
    mean : float
    std : float
        Non-negative.
    generator : numpy.random.Generator, optional
        Source of randomness; convscope's global generator by default.

    Returns
    -------
    The same ``tensor``.

    Raises
    ------
    TypeError
        If ``tensor`` is not a floating Tensor or array, or mean/std is not a finite number.
    ValueError
        If ``std < 0``.

    Examples
    --------
    >>> import numpy as np
    >>> w = normal_(np.empty(100_000), 2.0, 0.5, generator=np.random.default_rng(0))
    >>> round(float(w.mean()), 1), round(float(w.std()), 1)
    (2.0, 0.5)
    """
    fn = "normal_"
    array = _array(tensor, fn)
    mean, std = _real(mean, "mean", fn), _real(std, "std", fn)
    V.check_non_negative(std, "std", fn)
    array[...] = _generator(generator, fn).normal(mean, std, size=array.shape)
    return tensor


def constant_(tensor: Any, val: float) -> Any:
    """Fill ``tensor`` in place with ``val``.

    Parameters
    ----------
    tensor : Tensor or numpy.ndarray
        An array of any shape and numeric dtype.
    val : float
        The value (cast to the array's dtype).

    Returns
    -------
    The same ``tensor``.

    Raises
    ------
    TypeError
        If ``tensor`` is not a Tensor or array, or ``val`` is not a real number.

    Examples
    --------
    >>> import numpy as np
    >>> constant_(np.empty(3), 0.25)
    array([0.25, 0.25, 0.25])
    """
    array = _array(tensor, "constant_", floating=False)
    V.check_real(val, "val", "constant_", what="a real number", finite=False)
    array[...] = val
    return tensor


def zeros_(tensor: Any) -> Any:
    """Fill ``tensor`` in place with 0 and return it (see :func:`constant_`).

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import Tensor
    >>> bias = Tensor(np.empty((2, 2)))
    >>> zeros_(bias) is bias, bias.data.tolist()
    (True, [[0.0, 0.0], [0.0, 0.0]])
    """
    array = _array(tensor, "zeros_", floating=False)
    array[...] = 0
    return tensor


def ones_(tensor: Any) -> Any:
    """Fill ``tensor`` in place with 1 and return it (see :func:`constant_`).

    Examples
    --------
    >>> import numpy as np
    >>> ones_(np.empty(3)).tolist()
    [1.0, 1.0, 1.0]
    >>> ones_(np.zeros(2, dtype=np.int64)).tolist()          # any numeric dtype
    [1, 1]
    """
    array = _array(tensor, "ones_", floating=False)
    array[...] = 1
    return tensor


# -- fan-based schemes

def xavier_uniform_(tensor: Any, gain: float = 1.0, generator: np.random.Generator | None = None) -> Any:
    r"""Glorot / Xavier uniform initialisation [1]_, in place.

    Samples :math:`\mathcal{U}(-a, a)` with

    .. math::

        a = \text{gain} \cdot \sqrt{\frac{6}{\text{fan\_in} + \text{fan\_out}}}
          = \sqrt{3} \cdot \text{gain} \cdot \sqrt{\frac{2}{\text{fan\_in} + \text{fan\_out}}}

    Parameters
    ----------
    tensor : Tensor or numpy.ndarray
        A floating weight with at least 2 dimensions.
    gain : float
        Scale, e.g. :func:`calculate_gain`.
    generator : numpy.random.Generator, optional
        Source of randomness; convscope's global generator by default.

    Returns
    -------
    The same ``tensor``.

    Raises
    ------
    TypeError
        If ``tensor`` is not a floating Tensor or array.
    ValueError
        If ``tensor`` has fewer than 2 dimensions.

    Examples
    --------
    >>> import numpy as np
    >>> w = xavier_uniform_(np.empty((20, 30)), generator=np.random.default_rng(0))
    >>> bool(np.abs(w).max() <= (6 / 50) ** 0.5)
    True
    """
    fn = "xavier_uniform_"
    array = _array(tensor, fn)
    return _draw(tensor, array, _xavier_std(array, gain, fn), "uniform", generator, fn)


def xavier_normal_(tensor: Any, gain: float = 1.0, generator: np.random.Generator | None = None) -> Any:
    r"""Glorot / Xavier normal initialisation [1]_, in place.

    Samples :math:`\mathcal{N}(0, \sigma^2)` with

    .. math::

        \sigma = \text{gain} \cdot \sqrt{\frac{2}{\text{fan\_in} + \text{fan\_out}}}

    Parameters
    ----------
    tensor : Tensor or numpy.ndarray
        A floating weight with at least 2 dimensions.
    gain : float
        Scale, e.g. :func:`calculate_gain`.
    generator : numpy.random.Generator, optional
        Source of randomness; convscope's global generator by default.

    Returns
    -------
    The same ``tensor``.

    Raises
    ------
    TypeError
        If ``tensor`` is not a floating Tensor or array.
    ValueError
        If ``tensor`` has fewer than 2 dimensions.

    Examples
    --------
    >>> import numpy as np
    >>> w = xavier_normal_(np.empty((400, 600)), generator=np.random.default_rng(0))
    >>> round(float(w.std() / (2 / 1000) ** 0.5), 2)
    1.0
    """
    fn = "xavier_normal_"
    array = _array(tensor, fn)
    return _draw(tensor, array, _xavier_std(array, gain, fn), "normal", generator, fn)


def _xavier_std(array: np.ndarray, gain: Any, fn: str) -> float | None:
    """Glorot's ``gain * sqrt(2 / (fan_in + fan_out))``, after the checks; None for an empty array."""
    fan_in, fan_out = _fans(array.shape, fn)
    gain = _real(gain, "gain", fn)
    return None if array.size == 0 else gain * math.sqrt(2.0 / (fan_in + fan_out))


def _kaiming_std(array: np.ndarray, a: Any, mode: Any, nonlinearity: Any, fn: str) -> float | None:
    """He's ``gain / sqrt(fan_mode)``, after the checks; None for an empty array."""
    fan = _correct_fan(array.shape, mode, fn)
    gain = _gain(nonlinearity, a, fn, "a")
    return None if array.size == 0 else gain / math.sqrt(fan)


def _draw(tensor: Any, array: np.ndarray, std: float | None, kind: str, generator: Any, fn: str) -> Any:
    """Fill ``array`` with zero-mean samples of standard deviation ``std``: ``U(-sqrt(3) std, sqrt(3) std)``
    (``kind='uniform'``) or ``N(0, std**2)``; nothing for ``std=None`` (an empty array). Returns ``tensor``."""
    if std is not None:
        rng = _generator(generator, fn)
        if kind == "uniform":
            bound = math.sqrt(3.0) * std
            array[...] = rng.uniform(-bound, bound, size=array.shape)
        else:
            array[...] = rng.normal(0.0, std, size=array.shape)
    return tensor


def kaiming_uniform_(tensor: Any, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator: np.random.Generator | None = None) -> Any:
    r"""Kaiming / He uniform initialisation [2]_, in place.

    Samples :math:`\mathcal{U}(-\text{bound}, \text{bound})` with

    .. math::

        \text{bound} = \sqrt{3} \cdot \frac{\text{gain}}{\sqrt{\text{fan\_mode}}}, \qquad
        \text{gain} = \text{calculate\_gain}(\text{nonlinearity}, a)

    Parameters
    ----------
    tensor : Tensor or numpy.ndarray
        A floating weight with at least 2 dimensions.
    a : float
        Negative slope of the rectifier after this layer (``leaky_relu`` only; 0 gives ReLU's
        gain :math:`\sqrt 2`).
    mode : {'fan_in', 'fan_out'}
        ``'fan_in'`` preserves the variance of the forward pass, ``'fan_out'`` of the backward.
    nonlinearity : str
        A name accepted by :func:`calculate_gain`, best ``'relu'`` or ``'leaky_relu'``.
    generator : numpy.random.Generator, optional
        Source of randomness; convscope's global generator by default.

    Returns
    -------
    The same ``tensor``.

    Raises
    ------
    TypeError
        If ``tensor`` is not a floating Tensor or array.
    ValueError
        If ``tensor`` has fewer than 2 dimensions, or ``mode`` or ``nonlinearity`` is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> w = kaiming_uniform_(np.empty((16, 3, 3, 3)), nonlinearity="relu", generator=np.random.default_rng(0))
    >>> bool(np.abs(w).max() <= (6 / 27) ** 0.5)
    True
    """
    fn = "kaiming_uniform_"
    array = _array(tensor, fn)
    return _draw(tensor, array, _kaiming_std(array, a, mode, nonlinearity, fn), "uniform", generator, fn)


def kaiming_normal_(tensor: Any, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator: np.random.Generator | None = None) -> Any:
    r"""Kaiming / He normal initialisation [2]_, in place.

    Samples :math:`\mathcal{N}(0, \sigma^2)` with

    .. math::

        \sigma = \frac{\text{gain}}{\sqrt{\text{fan\_mode}}}, \qquad
        \text{gain} = \text{calculate\_gain}(\text{nonlinearity}, a)

    Parameters
    ----------
    tensor : Tensor or numpy.ndarray
        A floating weight with at least 2 dimensions.
    a : float
        Negative slope of the rectifier after this layer (``leaky_relu`` only).
    mode : {'fan_in', 'fan_out'}
        ``'fan_in'`` preserves the variance of the forward pass, ``'fan_out'`` of the backward.
    nonlinearity : str
        A name accepted by :func:`calculate_gain`, best ``'relu'`` or ``'leaky_relu'``.
    generator : numpy.random.Generator, optional
        Source of randomness; convscope's global generator by default.

    Returns
    -------
    The same ``tensor``.

    Raises
    ------
    TypeError
        If ``tensor`` is not a floating Tensor or array.
    ValueError
        If ``tensor`` has fewer than 2 dimensions, or ``mode`` or ``nonlinearity`` is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> w = kaiming_normal_(np.empty((256, 64, 3, 3)), mode="fan_out", nonlinearity="relu",
    ...                     generator=np.random.default_rng(0))
    >>> round(float(w.std() / (2 / (256 * 9)) ** 0.5), 2)
    1.0
    """
    fn = "kaiming_normal_"
    array = _array(tensor, fn)
    return _draw(tensor, array, _kaiming_std(array, a, mode, nonlinearity, fn), "normal", generator, fn)


def orthogonal_(tensor: Any, gain: float = 1.0, generator: np.random.Generator | None = None) -> Any:
    r"""(Semi-)orthogonal initialisation [3]_, in place.

    The weight is viewed as a matrix :math:`W` of shape ``(rows, cols) = (size0, numel / size0)``.
    A Gaussian matrix :math:`A` of that shape (transposed when ``rows < cols``) is factored
    :math:`A = QR`; the signs of :math:`R`'s diagonal are moved into :math:`Q`, so :math:`Q` is
    uniformly (Haar) distributed; then :math:`W = \text{gain} \cdot Q` (or :math:`Q^T`). Hence

    .. math::

        W W^T = \text{gain}^2 I \ \ (\text{rows} \le \text{cols}), \qquad
        W^T W = \text{gain}^2 I \ \ (\text{rows} > \text{cols}).

    Parameters
    ----------
    tensor : Tensor or numpy.ndarray
        A floating weight with at least 2 dimensions; trailing dims are flattened.
    gain : float
        Scale.
    generator : numpy.random.Generator, optional
        Source of randomness; convscope's global generator by default.

    Returns
    -------
    The same ``tensor``.

    Raises
    ------
    TypeError
        If ``tensor`` is not a floating Tensor or array.
    ValueError
        If ``tensor`` has fewer than 2 dimensions.

    Examples
    --------
    >>> import numpy as np
    >>> w = orthogonal_(np.empty((3, 5)), generator=np.random.default_rng(0))
    >>> np.allclose(w @ w.T, np.eye(3))
    True
    """
    fn = "orthogonal_"
    array = _array(tensor, fn)
    if array.ndim < 2:
        raise ValueError(f"{fn}: tensor expects at least 2 dimensions, but got shape {array.shape}")
    gain = _real(gain, "gain", fn)
    if array.size == 0:
        return tensor
    rows = array.shape[0]
    cols = array.size // rows
    gaussian = _generator(generator, fn).standard_normal((rows, cols))
    if rows < cols:
        gaussian = gaussian.T
    q, r = np.linalg.qr(gaussian)
    q *= np.where(np.diag(r) < 0, -1.0, 1.0)
    if rows < cols:
        q = q.T
    array[...] = (gain * q).reshape(array.shape)
    return tensor


# -- names without the underscore: the same functions, also accepting a shape

def _with_shape(fill: Callable[..., Any], examples: str = "") -> Callable[..., Any]:
    @functools.wraps(fill)
    def wrapper(tensor: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(tensor, (tuple, list)):
            shape = tuple(tensor)
            if not all(V.is_int(n) and n >= 0 for n in shape):
                raise TypeError(f"{wrapper.__name__}: tensor expects a Tensor, an array or a shape of "
                                f"non-negative ints, but got {tensor!r}")
            tensor = np.empty(shape, dtype=backend.get_default_dtype())
        return fill(tensor, *args, **kwargs)

    wrapper.__name__ = wrapper.__qualname__ = fill.__name__.rstrip("_")
    wrapper.__doc__ = (f"Same as :func:`{fill.__name__}`; ``tensor`` may also be a shape, for which a new "
                       "array of the default dtype is created, filled and returned."
                       + (f"\n\nExamples\n--------{examples}" if examples else ""))
    return wrapper


# Each wrapper's docstring is generated; its Examples section is the string given here.
uniform = _with_shape(uniform_, """
>>> w = uniform((2, 3), -1.0, 1.0, generator=np.random.default_rng(0))
>>> w.shape, w.dtype == backend.get_default_dtype(), bool(np.all(np.abs(w) <= 1))
((2, 3), True, True)
""")
normal = _with_shape(normal_, """
>>> w = normal((1000, 100), 0.0, 0.02, generator=np.random.default_rng(0))
>>> w.shape, round(float(w.std()), 3)
((1000, 100), 0.02)
""")
constant = _with_shape(constant_, """
>>> constant((2, 2), 0.5).tolist()
[[0.5, 0.5], [0.5, 0.5]]
""")
zeros = _with_shape(zeros_, """
>>> zeros((3,)).tolist(), zeros((0, 3)).shape
([0.0, 0.0, 0.0], (0, 3))
""")
ones = _with_shape(ones_, """
>>> ones([2]).tolist()
[1.0, 1.0]
""")
xavier_uniform = _with_shape(xavier_uniform_, """
The bound is ``sqrt(6 / (fan_in + fan_out))``, the std ``sqrt(2 / (fan_in + fan_out))``:

>>> w = xavier_uniform((20, 30), generator=np.random.default_rng(0))
>>> w.shape, bool(np.abs(w).max() <= (6 / 50) ** 0.5), round(float(w.std() / (2 / 50) ** 0.5), 1)
((20, 30), True, 1.0)
""")
xavier_normal = _with_shape(xavier_normal_, """
>>> w = xavier_normal((400, 600), generator=np.random.default_rng(0))
>>> w.shape, round(float(w.std() / (2 / 1000) ** 0.5), 2)
((400, 600), 1.0)
""")
kaiming_uniform = _with_shape(kaiming_uniform_, """
A conv weight ``(64, 32, 3, 3)`` has ``fan_in = 32 * 9 = 288``; ReLU's gain gives std
``sqrt(2 / 288)``:

>>> w = kaiming_uniform((64, 32, 3, 3), nonlinearity="relu", generator=np.random.default_rng(0))
>>> w.shape, round(float(w.std() / (2 / 288) ** 0.5), 2), bool(np.abs(w).max() <= (6 / 288) ** 0.5)
((64, 32, 3, 3), 1.0, True)
""")
kaiming_normal = _with_shape(kaiming_normal_, """
>>> w = kaiming_normal((256, 64, 3, 3), mode="fan_out", nonlinearity="relu",
...                    generator=np.random.default_rng(0))
>>> w.shape, round(float(w.std() / (2 / (256 * 9)) ** 0.5), 2)
((256, 64, 3, 3), 1.0)
""")
orthogonal = _with_shape(orthogonal_, """
Trailing dims are flattened: ``(4, 2, 3)`` is a 4 x 6 matrix with orthonormal rows.

>>> w = orthogonal((4, 2, 3), generator=np.random.default_rng(0))
>>> m = w.reshape(4, 6)
>>> w.shape, bool(np.allclose(m @ m.T, np.eye(4), atol=1e-6))
((4, 2, 3), True)
""")
