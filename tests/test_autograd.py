"""The tape: accumulation, graph freeing, no_grad, and errors."""

import numpy as np
import pytest

import convscope
import convscope.nn.functional as F


def test_gradients_accumulate_across_backward_calls(rng):
    x = convscope.Tensor(rng.standard_normal((1, 1, 4, 4)), requires_grad=True)
    w = rng.standard_normal((1, 1, 2, 2))
    gy = np.ones((1, 1, 3, 3))
    F.conv2d(x, w).backward(gy)
    first = x.grad.copy()
    F.conv2d(x, w).backward(gy)
    np.testing.assert_allclose(x.grad, 2 * first)


def test_a_tensor_used_twice_gets_both_contributions(rng):
    x = convscope.Tensor(rng.standard_normal((1, 2, 5)), requires_grad=True)
    padded = F.pad(x, (1, 1), mode="reflect")
    y = F.conv1d(padded, x.detach().numpy()[:, :, :3].repeat(1, 0).reshape(1, 2, 3))
    y.backward(np.ones(y.shape))
    assert x.grad is not None and x.grad.shape == (1, 2, 5)


def test_second_backward_through_a_freed_graph_is_an_error():
    x = convscope.Tensor(np.ones((1, 1, 3, 3)), requires_grad=True)
    y = F.conv2d(x, np.ones((1, 1, 2, 2)))
    y.backward(np.ones((1, 1, 2, 2)))
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward(np.ones((1, 1, 2, 2)))


def test_no_grad_records_nothing():
    x = convscope.Tensor(np.ones((1, 1, 3, 3)), requires_grad=True)
    with convscope.no_grad():
        y = F.conv2d(x, np.ones((1, 1, 2, 2)))
    assert not y.requires_grad and y.is_leaf
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward(np.ones((1, 1, 2, 2)))


def test_backward_errors():
    x = convscope.Tensor(np.ones((1, 1, 3, 3)), requires_grad=True)
    y = F.conv2d(x, np.ones((1, 1, 2, 2)))
    with pytest.raises(RuntimeError, match=r"gradient can be omitted only for a single-element tensor"):
        y.backward()
    with pytest.raises(ValueError, match=r"backward: gradient expects shape \(1, 1, 2, 2\), but got \(2,\)"):
        y.backward(np.ones(2))
    with pytest.raises(TypeError, match="requires_grad expects a floating dtype, but got int64"):
        convscope.Tensor(np.ones(3, dtype=np.int64), requires_grad=True)


def test_tensor_from_python_floats_uses_the_default_dtype():
    assert convscope.tensor([1.0, 2.0]).dtype == np.float32
    assert convscope.tensor(np.array([1.0])).dtype == np.float64
    assert convscope.tensor([1, 2]).dtype.kind == "i"


def test_numpy_scalars_keep_their_dtype():
    """Ops on 0-d float64 arrays return NumPy scalars; they must stay float64, not become float32."""
    a = convscope.Tensor(np.array(3.0), requires_grad=True)
    assert (a / 2.0).dtype == np.float64
    assert convscope.tensor(np.float64(1.5)).dtype == np.float64
