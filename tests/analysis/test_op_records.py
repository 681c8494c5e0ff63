"""Ops say who they are: summary reads recorded op calls, never private names, and an op it does
not know is a visible row with its name, never a silent zero."""

import pathlib
import re

import numpy as np
import pytest

import convscope.nn as nn
import convscope.nn.functional as F
from convscope import Tensor, autograd
from convscope.analysis import summary
from convscope.autograd import Function, register_op_hook

ANALYSIS = pathlib.Path(__file__).resolve().parents[2] / "src" / "convscope" / "analysis"

# private lookups into nn/ and autograd/, and assignments that would monkey-patch them
_FORBIDDEN = {
    "getattr on a private name of functional": r"getattr\(\s*F\s*,\s*[\"']_",
    "a private name of functional": r"\bF\._",
    "a private name of functional (long form)": r"\bfunctional\._",
    "a private name of autograd": r"\bautograd\._",
    "a module's parameter table": r"\._parameters\b",
    "a module's submodule table": r"\._modules\b",
    "a module's private flag": r"\._transposed\b",
    "patching Module.__call__": r"Module\.__call__\s*=",
    "patching Function.apply": r"Function\.apply\s*=",
    "patching an attribute of functional": r"\bF\.\w+\s*=[^=]|setattr\(\s*F\b",
    "patching an attribute of autograd": r"\bautograd\.\w+\s*=[^=]|setattr\(\s*autograd\b",
}


@pytest.mark.parametrize("what, pattern", sorted(_FORBIDDEN.items()))
def test_analysis_uses_public_names_only_and_patches_nothing(what, pattern):
    found = [f"{path.name}:{i}: {line.strip()}"
             for path in sorted(ANALYSIS.glob("*.py"))
             for i, line in enumerate(path.read_text().splitlines(), start=1)
             if re.search(pattern, line)]
    assert found == [], f"{what} in convscope/analysis: {found}"


# --------------------------------------------------------------------------- the op hook

def test_the_op_hook_sees_name_shapes_and_geometry_as_plain_data():
    seen = []
    x = Tensor(np.zeros((1, 2, 9, 9), np.float32))
    with register_op_hook(seen.append):
        y = F.conv2d(x, np.zeros((4, 1, 3, 3), np.float32), stride=2, padding=1, groups=2)
        F.max_pool2d(y, 3, stride=2, padding=1)
        F.avg_pool1d(Tensor(np.zeros((1, 1, 8), np.float32)), 2)
        F.adaptive_avg_pool2d(y, 1)
    F.relu(x)                                                   # after removal: not seen
    conv, pool, avg, adaptive = seen
    assert (conv.name, conv.function) == ("conv2d", F.ConvFunction)
    assert conv.input_shapes == ((1, 2, 9, 9), (4, 1, 3, 3), None) and conv.output_shape == (1, 4, 5, 5)
    assert conv.geometry == {"kernel": (3, 3), "stride": (2, 2), "padding": ((1, 1), (1, 1)), "dilation": (1, 1),
                             "groups": 2, "output_size": (5, 5)}
    assert pool.name == "max_pool2d" and pool.geometry == {
        "kernel": (3, 3), "stride": (2, 2), "padding": (1, 1), "dilation": (1, 1), "ceil_mode": False,
        "output_size": (3, 3)}
    assert avg.name == "avg_pool1d" and avg.geometry["kernel"] == (2,) and avg.output_shape == (1, 1, 4)
    assert adaptive.name == "adaptive_avg_pool2d" and adaptive.geometry == {"output_size": (1, 1)}
    for call in seen:
        assert all(isinstance(v, (int, bool, str, tuple, type(None))) for v in call.geometry.values())


def test_the_op_hook_rejects_a_non_callable_and_arrays_only_calls_are_not_reported():
    with pytest.raises(TypeError, match="register_op_hook: hook expects a callable, but got int"):
        register_op_hook(3)
    seen = []
    with register_op_hook(seen.append):
        F.relu(np.ones(3))
        F.relu(Tensor(np.ones(3)))
    assert [c.name for c in seen] == ["relu"]


def test_max_pool_indices_come_out_of_its_function():
    x = Tensor(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True)
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    assert idx.data.tolist() == [[[[5, 7], [13, 15]]]] and not idx.requires_grad
    y.sum().backward()
    assert x.grad.sum() == 4 and x.grad[0, 0, 3, 3] == 1
    values, indices = F.MaxPoolFunction.apply(np.arange(4.0).reshape(1, 2, 2), kernel_size=(2,), stride=(2,),
                                              padding=(0,), dilation=(1,), ceil_mode=False)
    assert values.tolist() == [[[1.0], [3.0]]] and indices.tolist() == [[[1], [1]]]


# --------------------------------------------------------------------------- unknown ops

class _Twice(Function):
    """A brand-new op convscope.analysis has never heard of."""

    name = "twice"

    @staticmethod
    def forward(ctx, x):
        return 2 * x

    @staticmethod
    def backward(ctx, g):
        return (2 * g,)


class _Doubler(nn.Module):
    def forward(self, x):
        return _Twice.apply(x)


def _net():
    return nn.Sequential(nn.Conv2d(1, 2, 3), _Doubler(), nn.Conv2d(2, 2, 3))


@pytest.mark.parametrize("compute", [False, True])
def test_a_new_op_is_an_unknown_op_row_and_the_total_says_so(compute):
    s = summary(_net(), (1, 8, 8), compute=compute)
    assert s.unknown_ops == ("twice",) and not s.macs_complete
    assert [(r.name, r.type, r.unknown_op) for r in s] == [
        ("0", "Conv2d", False), ("1", "unknown op twice", True), ("1", "_Doubler", False), ("2", "Conv2d", False)]
    assert s["1"].type == "_Doubler"                       # lookup by name finds the module's row
    assert s[1].output_shape == (1, 2, 6, 6) and s[1].receptive_field is None
    assert s["2"].receptive_field is None                 # not guessed past the unknown op
    assert s.total_macs == 2 * 36 * 9 + 2 * 16 * 18       # the known convs only
    table = str(s)
    row = next(line for line in table.splitlines() if "unknown op twice" in line)
    assert row.split()[-4] == "?"                         # its MACs
    assert f"Total MACs: at least {s.total_macs:,} " in table and "not counted: unknown ops twice" in table
    assert any("op twice (in 1) is unknown" in n for n in s.notes)


def test_a_known_op_renamed_is_reported_unknown_loudly(monkeypatch):
    before = summary(_net(), (1, 8, 8))
    monkeypatch.setattr(F.ConvFunction, "name", "mystery_conv")
    s = summary(_net(), (1, 8, 8))
    assert s.unknown_ops == ("mystery_conv2d", "twice")
    assert [r.type for r in s if r.unknown_op] == ["unknown op mystery_conv2d", "unknown op twice",
                                                   "unknown op mystery_conv2d"]
    assert s.total_macs == 0 and before.total_macs > 0
    assert "Total MACs: at least 0 " in str(s) and "unknown ops mystery_conv2d, twice" in str(s)


def test_a_fully_known_model_reads_as_before():
    s = summary(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()), (1, 5, 5))
    assert s.unknown_ops == () and s.macs_complete and not any(r.unknown_op for r in s)
    assert "Total MACs: 162 (162) for batch 1: conv and linear multiply-adds, biases excluded" in str(s)


def test_every_builtin_op_is_public_and_named():
    classes = [c for module in (autograd, F) for c in vars(module).values()
               if isinstance(c, type) and issubclass(c, Function) and c is not Function]
    bases = (F.ConvFunctionBase, F.PoolFunction, F.ActivationFunction)
    assert len(classes) > 30 and all(not c.__name__.startswith("_") for c in classes)
    assert all(isinstance(c.name, str) and c.name for c in classes if c not in bases)


def test_shape_only_stands_in_for_forwards_in_this_thread_only():
    import threading

    from convscope.autograd import shape_only
    asked, other = [], []

    def rule(cls, arrays, options):
        asked.append(cls.name)
        return np.zeros((7,), np.float32) if cls.name == "relu" else None

    x = Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    with shape_only(rule):
        y = F.relu(x)
        z = F.sigmoid(x)
        worker = threading.Thread(target=lambda: other.append(F.relu(x).shape))
        worker.start()
        worker.join()
        plain = F.relu(np.ones(3))                                # arrays only: the rule is not asked
    assert asked == ["relu", "sigmoid"] and other == [(2, 3)] and plain.shape == (3,)
    assert y.shape == (7,) and y.is_leaf and not y.requires_grad   # a stand-in records no graph
    assert z.shape == (2, 3) and z.requires_grad
    assert F.relu(x).shape == (2, 3)                              # the rule is gone after the block


def test_hook_handles_remove_once_and_hooks_see_every_thread():
    import threading
    seen = []
    handle = register_op_hook(lambda call: seen.append(threading.current_thread().name))
    worker = threading.Thread(target=lambda: F.relu(Tensor(np.ones(2))), name="worker")
    worker.start()
    worker.join()
    handle.remove()
    handle.remove()
    F.relu(Tensor(np.ones(2)))
    assert seen == ["worker"]


def test_a_module_without_geometry_attributes_shows_its_ops_geometry():
    class Pool(nn.Module):
        def forward(self, x):
            return F.max_pool2d(x, 3, stride=2, padding=1)

    class Conv(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(np.ones((4, 2, 3, 3), np.float32))

        def forward(self, x):
            return F.conv2d(x, self.w, stride=2, padding=(1, 0))

    s = summary(nn.Sequential(nn.Conv2d(1, 2, 3), Pool(), Conv()), (1, 16, 16))
    assert [r.geometry_text for r in s] == ["3/1/0/1/1", "3/2/1/1/-", "3/2/1x0/1/1"]
    assert s[2].macs == 4 * 4 * 3 * 18 and s[2].params == 72


def test_the_module_that_ran_an_unknown_op_shows_its_macs_as_unknown_not_zero():
    import numpy as np

    import convscope
    import convscope.nn as nn
    from convscope.autograd import Function

    class Cube(Function):
        name = "cube"

        @staticmethod
        def forward(ctx, x):
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            return g

    class Cubed(nn.Module):
        def forward(self, x):
            return Cube.apply(x)

    table = str(convscope.summary(nn.Sequential(nn.Conv2d(1, 2, 3), Cubed()), (1, 6, 6)))
    rows = [line.split() for line in table.splitlines() if line.startswith("1 ")]
    assert [row[1:4] for row in rows] == [["unknown", "op", "cube"], ["Cubed", "-", "1x2x4x4"]]
    assert rows[0][-4] == "?" and rows[1][-4] == "?", table          # never a silent 0
