"""Forward hooks on Module: PyTorch's signatures, removable handles, output replacement."""

import numpy as np
import pytest

import convscope
from convscope import nn


def _net():
    convscope.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(18, 3))


def test_forward_hook_sees_module_args_and_output_and_is_removable():
    net, calls = _net(), []
    x = np.ones((1, 1, 5, 5), np.float32)
    handle = net[0].register_forward_hook(lambda m, args, out: calls.append((m, args, out)))
    y = net(x)
    assert len(calls) == 1 and calls[0][0] is net[0]
    assert calls[0][1][0] is x and calls[0][2].shape == (1, 2, 3, 3)
    handle.remove()
    handle.remove()                               # twice is harmless
    net(x)
    assert len(calls) == 1
    np.testing.assert_array_equal(net(x), y)


def test_hook_can_replace_the_output_and_hooks_run_in_order():
    net, order = _net(), []
    x = np.ones((1, 1, 5, 5), np.float32)
    with net[0].register_forward_hook(lambda m, a, out: order.append(1)), \
            net[0].register_forward_hook(lambda m, a, out: (order.append(2), out * 0)[1]):
        y = net(x)
    assert order == [1, 2]
    np.testing.assert_allclose(y, net[3].bias.data[None], rtol=1e-6)    # zeroed features -> bias only


def test_pre_hook_can_replace_the_input():
    net = _net()
    x = np.ones((1, 1, 5, 5), np.float32)
    with net.register_forward_pre_hook(lambda m, args: np.zeros_like(args[0])):
        y = net(x)
    np.testing.assert_array_equal(y, net(np.zeros_like(x)))


def test_hooks_work_with_autograd_and_the_context_removes_on_error():
    net = _net()
    x = convscope.Tensor(np.ones((1, 1, 5, 5), np.float32), requires_grad=True)
    seen = {}
    with pytest.raises(RuntimeError):
        with net[1].register_forward_hook(lambda m, a, out: seen.update(relu=out)):
            net(x).sum().backward()
            raise RuntimeError("inside")
    assert isinstance(seen["relu"], convscope.Tensor) and x.grad is not None
    net(x)
    assert len(seen) == 1


def test_hook_must_be_callable():
    with pytest.raises(TypeError, match="register_forward_hook: hook expects a callable, but got int"):
        _net().register_forward_hook(3)
