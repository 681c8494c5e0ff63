"""Module conveniences checked against PyTorch: global forward hooks, full backward hooks, dtype
casts (to / double / float / half), apply, requires_grad_, zero_grad and the traversals."""

import numpy as np
import pytest

import convscope
from convscope import models, nn

from .._reference import assert_close, torch

tnn = torch.nn
tmod = torch.nn.modules.module


def _pair(seed=0):
    """The same Linear -> ReLU -> Linear in convscope and torch (float64 weights copied across)."""
    convscope.manual_seed(seed)
    ours = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    theirs = tnn.Sequential(tnn.Linear(4, 3), tnn.ReLU(), tnn.Linear(3, 2)).double()
    with torch.no_grad():
        for (_, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
            p.data = p.data.astype(np.float64)
            q.copy_(torch.from_numpy(p.data))
    return ours, theirs


def _name(m):
    return type(m).__name__


# --------------------------------------------------------------------------- global forward hooks

def _record_hook_order(lib, net, x):
    """Register per-module and global hooks on lib's module table; return the call order."""
    order = []
    first = net[0]
    handles = [
        first.register_forward_pre_hook(lambda m, a: order.append(("pre", _name(m)))),
        lib.register_module_forward_pre_hook(lambda m, a: order.append(("global pre", _name(m)))),
        first.register_forward_hook(lambda m, a, o: order.append(("post", _name(m)))),
        lib.register_module_forward_hook(lambda m, a, o: order.append(("global post", _name(m)))),
    ]
    try:
        net(x)
    finally:
        for h in handles:
            h.remove()
    return order


def test_global_hooks_run_for_every_module_before_its_own_hooks_as_in_torch(rng):
    ours, theirs = _pair()
    x = rng.standard_normal((2, 4))
    got = _record_hook_order(nn, ours, x)
    want = _record_hook_order(tmod, theirs, torch.from_numpy(x))
    assert got == want
    assert got[:3] == [("global pre", "Sequential"), ("global pre", "Linear"), ("pre", "Linear")]


def test_global_forward_hook_can_replace_the_output_and_sees_replaced_args(rng):
    ours, theirs = _pair()
    x = rng.standard_normal((2, 4))

    def run(lib, net, x):
        seen = []
        with lib.register_module_forward_pre_hook(lambda m, a: a[0] * 2 if isinstance(m, (nn.Linear, tnn.Linear))
                                                  else None), \
                lib.register_module_forward_hook(lambda m, a, o: seen.append(a[0]) or
                                                 (o + 1 if isinstance(m, (nn.ReLU, tnn.ReLU)) else None)):
            y = net(x)
        return y, seen

    y, seen = run(nn, ours, x)
    y_t, seen_t = run(tmod, theirs, torch.from_numpy(x))
    assert_close(np.asarray(y), y_t, np.float64, "output")
    for a, b in zip(seen, seen_t):
        assert_close(np.asarray(a), b, np.float64, "args seen by the forward hook")


def test_global_pre_hook_result_that_is_not_a_tuple_becomes_the_only_argument():
    net, got = nn.Identity(), []
    with nn.register_module_forward_pre_hook(lambda m, args: np.ones(3)), \
            nn.register_module_forward_hook(lambda m, args, out: got.append(args)):
        out = net(np.zeros(3))
    np.testing.assert_array_equal(out, np.ones(3))
    assert isinstance(got[0], tuple) and len(got[0]) == 1


def test_global_hooks_are_removable_and_removing_twice_is_harmless():
    calls = []
    pre = nn.register_module_forward_pre_hook(lambda m, a: calls.append("pre"))
    post = nn.register_module_forward_hook(lambda m, a, o: calls.append("post"))
    nn.ReLU()(np.zeros(2))
    assert calls == ["pre", "post"]
    pre.remove(), post.remove(), pre.remove()
    nn.ReLU()(np.zeros(2))
    assert calls == ["pre", "post"]


def test_global_hook_registered_during_a_call_does_not_run_in_that_call():
    calls, handles = [], []

    def adder(m, args):
        calls.append("adder")
        if not handles:
            handles.append(nn.register_module_forward_pre_hook(lambda m, a: calls.append("late")))

    with nn.register_module_forward_pre_hook(adder):
        nn.ReLU()(np.zeros(2))
        assert calls == ["adder"]
        nn.ReLU()(np.zeros(2))
        assert calls == ["adder", "adder", "late"]
    handles[0].remove()


@pytest.mark.parametrize("register", [nn.register_module_forward_pre_hook, nn.register_module_forward_hook])
def test_global_hooks_reject_a_non_callable(register):
    with pytest.raises(TypeError, match=rf"{register.__name__}: hook expects a callable, but got int"):
        register(3)


# --------------------------------------------------------------------------- full backward hooks

def _linear_pair(rng):
    ours, theirs = nn.Linear(4, 3), tnn.Linear(4, 3).double()
    return ours, theirs, rng.standard_normal((5, 4))


def _conv_pair(rng):
    ours, theirs = nn.Conv2d(2, 3, 3, stride=2, padding=1), tnn.Conv2d(2, 3, 3, stride=2, padding=1).double()
    return ours, theirs, rng.standard_normal((2, 2, 7, 6))


def _same_weights(ours, theirs):
    with torch.no_grad():
        for (_, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
            p.data = q.detach().numpy().copy()


def _capture(module, seen):
    return module.register_full_backward_hook(lambda m, gi, go: seen.append((gi, go)))


@pytest.mark.parametrize("make", [_linear_pair, _conv_pair], ids=["Linear", "Conv2d"])
@pytest.mark.parametrize("input_requires_grad", [True, False])
@pytest.mark.filterwarnings("ignore:Full backward hook is firing")
def test_full_backward_hook_gets_torchs_grad_input_and_grad_output(make, input_requires_grad, rng):
    ours, theirs, x = make(rng)
    _same_weights(ours, theirs)
    got, want = [], []
    _capture(ours, got), _capture(theirs, want)
    x_cs = convscope.Tensor(x, requires_grad=input_requires_grad)
    x_pt = torch.tensor(x, requires_grad=input_requires_grad)
    y_cs, y_pt = ours(x_cs), theirs(x_pt)
    gy = rng.standard_normal(y_pt.shape)
    y_cs.backward(gy), y_pt.backward(torch.from_numpy(gy))
    assert len(got) == len(want) == 1
    (gi, go), (gi_t, go_t) = got[0], want[0]
    assert len(gi) == len(gi_t) == 1 and len(go) == len(go_t) == 1
    assert_close(go[0], go_t[0], np.float64, "grad_output")
    if input_requires_grad:
        assert_close(gi[0], gi_t[0], np.float64, "grad_input")
        assert_close(x_cs.grad, x_pt.grad, np.float64, "input grad")
    else:
        assert gi == gi_t == (None,)
    for (_, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(p.grad, q.grad, np.float64, "parameter grads are unchanged by the hook")


def test_full_backward_hook_result_replaces_grad_input_as_in_torch(rng):
    ours, theirs, x = _linear_pair(rng)
    _same_weights(ours, theirs)
    for m in (ours, theirs):
        m.register_full_backward_hook(lambda m, gi, go: (gi[0] * 3,))
    x_cs, x_pt = convscope.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours(x_cs).sum().backward(), theirs(x_pt).sum().backward()
    assert_close(x_cs.grad, x_pt.grad, np.float64, "replaced input grad")
    np.testing.assert_allclose(x_cs.grad, 3 * np.ones((5, 3)) @ ours.weight.data)


def test_full_backward_pre_hook_result_replaces_grad_output_as_in_torch(rng):
    ours, theirs, x = _linear_pair(rng)
    _same_weights(ours, theirs)
    got, want = [], []
    for m, seen in ((ours, got), (theirs, want)):
        m.register_full_backward_pre_hook(lambda m, go: (go[0] * 0.5,))
        _capture(m, seen)
    x_cs, x_pt = convscope.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours(x_cs).sum().backward(), theirs(x_pt).sum().backward()
    assert_close(got[0][1][0], want[0][1][0], np.float64, "grad_output after the pre-hook")
    assert_close(x_cs.grad, x_pt.grad, np.float64, "input grad")
    assert_close(ours.weight.grad, theirs.weight.grad, np.float64, "weight grad")


def _backward_hook_order(lib, net, x):
    order = []
    handles = [lib.register_module_full_backward_hook(lambda m, gi, go: order.append(("global", _name(m)))),
               lib.register_module_full_backward_pre_hook(lambda m, go: order.append(("global pre", _name(m))))]
    for m in net:
        handles.append(m.register_full_backward_hook(lambda m, gi, go: order.append(("own", _name(m)))))
        handles.append(m.register_full_backward_pre_hook(lambda m, go: order.append(("own pre", _name(m)))))
    try:
        net(x).sum().backward()
    finally:
        for h in handles:
            h.remove()
    return order


def test_backward_hooks_fire_in_torchs_order(rng):
    ours, theirs = _pair()
    x = rng.standard_normal((2, 4))
    got = _backward_hook_order(nn, ours, convscope.Tensor(x, requires_grad=True))
    want = _backward_hook_order(tmod, theirs, torch.tensor(x, requires_grad=True))
    assert got == want
    assert got[:3] == [("global pre", "Sequential"), ("global pre", "Linear"), ("own pre", "Linear")]


def test_removed_or_late_backward_hooks_do_not_fire_as_in_torch(rng):
    for lib_module, make_x in ((nn.Linear(4, 3), lambda: convscope.Tensor(np.ones((1, 4)), requires_grad=True)),
                               (tnn.Linear(4, 3), lambda: torch.ones(1, 4, requires_grad=True))):
        calls = []
        handle = lib_module.register_full_backward_hook(lambda m, gi, go: calls.append("removed"))
        handle.remove()
        y = lib_module(make_x())
        late = lib_module.register_full_backward_hook(lambda m, gi, go: calls.append("late"))
        y.sum().backward()
        assert calls == []                            # hooks are taken when the forward runs
        lib_module(make_x()).sum().backward()
        assert calls == ["late"]
        late.remove()


def test_full_backward_hook_gives_zeros_for_a_tensor_target_and_none_for_an_array(rng):
    logits, target = rng.standard_normal((3, 4)), np.array([0, 3, 1])
    got, want = [], []
    ours, theirs = nn.CrossEntropyLoss(), tnn.CrossEntropyLoss()
    _capture(ours, got), _capture(theirs, want)
    ours(convscope.Tensor(logits, requires_grad=True), convscope.Tensor(target)).backward()
    ours(convscope.Tensor(logits, requires_grad=True), target).backward()
    theirs(torch.tensor(logits, requires_grad=True), torch.from_numpy(target)).backward()
    (gi, go), (gi_array_target, _), (gi_t, go_t) = got[0], got[1], want[0]
    assert len(gi) == len(gi_t) == 2
    assert_close(gi[0], gi_t[0], np.float64, "grad of the logits")
    assert_close(go[0], go_t[0], np.float64, "grad of the loss")
    np.testing.assert_array_equal(gi[1], gi_t[1].numpy())
    assert gi[1].dtype == np.int64 and gi_array_target[1] is None      # a plain array is not a Tensor


class _Mixed(nn.Module):
    def forward(self, a, b, c, d):
        return a * 2


class _TorchMixed(tnn.Module):
    def forward(self, a, b, c, d):
        return a * 2


def test_grad_input_entries_for_mixed_arguments_match_torch():
    results = []
    for module, T in ((_Mixed(), convscope.Tensor), (_TorchMixed(), torch.tensor)):
        seen = []
        _capture(module, seen)
        a, b, c = T(np.ones(2), requires_grad=True), T(np.ones(3)), T(np.ones(2), requires_grad=True)
        module(a, b, c, 5.0).sum().backward()
        results.append(seen[0][0])
    got, want = results
    assert len(got) == len(want) == 4 and got[3] is None and want[3] is None
    for g, w in zip(got[:3], want[:3]):           # a's gradient, then zeros for b (no grad) and c (unused)
        np.testing.assert_array_equal(g, w.numpy())


class _Split(nn.Module):
    """Two outputs, so grad_output has two entries."""

    def forward(self, x):
        return x * 2, x * 3


class _TorchSplit(tnn.Module):
    def forward(self, x):
        return x * 2, x * 3


@pytest.mark.parametrize("use_both", [True, False])
def test_full_backward_hook_on_a_tuple_output_matches_torch(use_both, rng):
    x = rng.standard_normal((2, 3))
    results = []
    for module, xt in ((_Split(), convscope.Tensor(x, requires_grad=True)),
                       (_TorchSplit(), torch.tensor(x, requires_grad=True))):
        seen = []
        _capture(module, seen)
        a, b = module(xt)
        loss = (a.sum() + (b * b).sum()) if use_both else a.sum()
        loss.backward()
        results.append((seen[0], xt.grad))
    ((gi, go), g), ((gi_t, go_t), g_t) = results
    assert len(go) == len(go_t) == 2
    assert_close(go[0], go_t[0], np.float64, "grad_output[0]")
    if use_both:
        assert_close(go[1], go_t[1], np.float64, "grad_output[1]")
    else:
        assert go[1] is None and go_t[1] is None
    assert_close(gi[0], gi_t[0], np.float64, "grad_input")
    assert_close(g, g_t, np.float64, "input grad")


def test_backward_hooks_are_not_set_up_under_no_grad():
    lin, calls = nn.Linear(2, 2), []
    lin.register_full_backward_hook(lambda m, gi, go: calls.append(1))
    x = convscope.Tensor(np.ones((1, 2), np.float32), requires_grad=True)
    with convscope.no_grad():
        y = lin(x)
    assert not y.requires_grad and calls == []


def test_backward_hook_warns_when_the_output_is_not_a_tensor():
    class Dict(nn.Module):
        def forward(self, x):
            return {"y": x}

    m = Dict()
    m.register_full_backward_hook(lambda m, gi, go: None)
    with pytest.warns(UserWarning, match=r"Dict: full backward hooks expect the module output to be a Tensor.*dict"):
        m(convscope.Tensor(np.ones(2), requires_grad=True))


@pytest.mark.parametrize("result, error, match", [
    (lambda gi: gi + gi, ValueError, r"register_full_backward_hook: the hook of Linear expects to return 1 "
                                     r"grad_input, but got 2"),
    (lambda gi: gi[0], TypeError, r"expects to return None or a tuple of 1 grad_input, but got ndarray"),
    (lambda gi: (np.ones((7, 7)),), ValueError, r"gradient expects the shape \(1, 2\) of its tensor, but got \(7, 7\)"),
])
def test_backward_hook_results_of_the_wrong_form_are_refused(result, error, match):
    lin = nn.Linear(2, 2)
    lin.register_full_backward_hook(lambda m, gi, go: result(gi))
    y = lin(convscope.Tensor(np.ones((1, 2), np.float32), requires_grad=True))
    with pytest.raises(error, match=match):
        y.sum().backward()


def test_backward_hook_may_not_return_gradients_when_no_input_requires_grad():
    lin = nn.Linear(2, 2)
    lin.register_full_backward_hook(lambda m, gi, go: (np.ones((1, 2)),))
    y = lin(convscope.Tensor(np.ones((1, 2), np.float32)))
    with pytest.raises(ValueError, match=r"hook of Linear expects to return None \(no input of the module requires"):
        y.sum().backward()


def test_backward_pre_hook_of_the_wrong_length_is_refused():
    lin = nn.Linear(2, 2)
    lin.register_full_backward_pre_hook(lambda m, go: ())
    y = lin(convscope.Tensor(np.ones((1, 2), np.float32)))
    with pytest.raises(ValueError, match=r"register_full_backward_pre_hook: .* expects to return 1 grad_output, "
                                         r"but got 0"):
        y.sum().backward()


@pytest.mark.parametrize("register", ["register_full_backward_hook", "register_full_backward_pre_hook"])
def test_backward_hooks_reject_a_non_callable(register):
    with pytest.raises(TypeError, match=rf"{register}: hook expects a callable, but got str"):
        getattr(nn.Linear(2, 2), register)("hook")


# --------------------------------------------------------------------------- dtype casts

def _bn_net(lib):
    return lib.Sequential(lib.Conv2d(1, 2, 3), lib.BatchNorm2d(2), lib.ReLU(), lib.Flatten(), lib.Linear(18, 3))


@pytest.mark.parametrize("method, dtype", [("double", np.float64), ("float", np.float32), ("half", np.float16)])
def test_cast_methods_give_torchs_state_dict_dtypes(method, dtype):
    ours, theirs = _bn_net(nn).double(), _bn_net(tnn).double()
    assert getattr(ours, method)() is ours
    getattr(theirs, method)()
    got = {k: v.dtype for k, v in ours.state_dict().items()}
    want = {k: v.numpy().dtype for k, v in theirs.state_dict().items()}
    assert got == want
    assert got["1.num_batches_tracked"] == np.int64 and got["0.weight"] == dtype


@pytest.mark.parametrize("args, kwargs", [
    ((np.float64,), {}), (("float64",), {}), ((np.dtype("float64"),), {}), ((float,), {}),
    (("cpu", np.float64), {}), ((), {"dtype": "float64"}), ((), {"device": "cpu", "dtype": np.float64}),
    ((np.zeros(1),), {}), ((convscope.Tensor(np.zeros(1)),), {}),
])
def test_to_accepts_torchs_forms_of_dtype_and_cpu(args, kwargs):
    net = _bn_net(nn)
    assert net.to(*args, **kwargs) is net
    assert net[0].weight.dtype == np.float64 and net[1].running_var.dtype == np.float64
    assert net[1].num_batches_tracked.dtype == np.int64


def test_to_keeps_the_parameter_objects_and_casts_their_grads():
    lin = nn.Linear(2, 2)
    weight = lin.weight
    lin(convscope.Tensor(np.ones((1, 2), np.float32))).sum().backward()
    lin.to(np.float64)
    assert lin.weight is weight and weight.dtype == np.float64 and weight.grad.dtype == np.float64
    assert lin.to("cpu") is lin and lin.to() is lin and weight.dtype == np.float64


@pytest.mark.parametrize("args, error, match", [
    (("cuda",), ValueError, r"to: device expects 'cpu' \(convscope computes with NumPy on the CPU\), but got 'cuda'"),
    (("cuda:0", np.float32), ValueError, r"device expects 'cpu'.*but got 'cuda:0'"),
    ((np.int32,), TypeError, r"to: dtype expects a floating dtype \(float16, float32 or float64\), but got int32"),
    ((np.complex128,), TypeError, r"dtype expects a floating dtype.*but got complex128"),
    ((3,), TypeError, r"to: expects a dtype \(np.float32, 'float64', ...\) or the device 'cpu', but got 3 \(int\)"),
    (("cpu", np.float32, None), TypeError, r"to: expects at most a device and a dtype, but got 3 positional"),
])
def test_to_refuses_other_devices_and_dtypes(args, error, match):
    with pytest.raises(error, match=match):
        nn.Linear(2, 2).to(*args)


def test_to_refuses_a_torch_int_dtype_like_torch():
    with pytest.raises(TypeError, match="floating point"):
        tnn.Linear(2, 2).to(torch.int32)          # PyTorch refuses too
    with pytest.raises(TypeError, match=r"dtype expects a floating dtype.*but got int64"):
        nn.Linear(2, 2).to(dtype="int64")


def test_half_model_stores_float16_and_computes_in_float32(rng):
    convscope.manual_seed(0)
    half = _bn_net(nn).half()
    full = _bn_net(nn)
    full.load_state_dict(half.state_dict())           # the same (float16-representable) values in float32
    x = rng.standard_normal((2, 1, 5, 5)).astype(np.float16)
    y = half(convscope.Tensor(x, requires_grad=True))
    assert y.dtype == np.float32                      # README: float16 computes in float32
    y_full = full(convscope.Tensor(x.astype(np.float32)))
    np.testing.assert_allclose(y.numpy(), y_full.numpy(), rtol=1e-3, atol=1e-3)
    y.sum().backward()
    assert all(p.grad.dtype == np.float16 for p in half.parameters())
    assert half[1].running_mean.dtype == np.float16 and half[1].num_batches_tracked == 1
    half.eval()
    assert half(x.astype(np.float32)).dtype == np.float32 and half(x.astype(np.float64)).dtype == np.float64


# --------------------------------------------------------------------------- traversal and state

def _shared(lib):
    """A tree with a layer shared by two parents, and a BatchNorm registered twice."""
    lin, bn = lib.Linear(2, 2), lib.BatchNorm2d(2)
    return lib.Sequential(lin, lib.Sequential(lin, bn), bn, lib.ReLU())


def _names(pairs):
    return [name for name, _ in pairs]


@pytest.mark.parametrize("call", [
    lambda m: m.named_modules(),
    lambda m: m.named_modules(prefix="net"),
    lambda m: m.named_modules(remove_duplicate=False),
    lambda m: m.named_children(),
    lambda m: m.named_parameters(),
    lambda m: m.named_parameters(prefix="p", remove_duplicate=False),
    lambda m: m[1].named_parameters(recurse=False),
    lambda m: m.named_buffers(),
    lambda m: m.named_buffers(prefix="b", remove_duplicate=False),
    lambda m: m[2].named_buffers(recurse=False),
])
def test_named_traversals_match_torch(call):
    assert _names(call(_shared(nn))) == _names(call(_shared(tnn)))


def test_unnamed_traversals_match_torch():
    ours, theirs = _shared(nn), _shared(tnn)
    for method in ("modules", "children"):
        assert [_name(m) for m in getattr(ours, method)()] == [_name(m) for m in getattr(theirs, method)()]
    for method in ("parameters", "buffers"):
        assert [np.shape(v) for v in getattr(ours, method)()] == [tuple(v.shape) for v in getattr(theirs, method)()]


def test_named_modules_memo_skips_modules_already_seen():
    ours, theirs = _shared(nn), _shared(tnn)
    for remove_duplicate in (True, False):
        got = ours.named_modules(memo={ours[0]}, remove_duplicate=remove_duplicate)
        want = theirs.named_modules(memo={theirs[0]}, remove_duplicate=remove_duplicate)
        assert _names(got) == _names(want)


def test_apply_visits_children_first_as_torch():
    ours, theirs = _shared(nn), _shared(tnn)
    got, want = [], []
    assert ours.apply(lambda m: got.append(_name(m))) is ours
    theirs.apply(lambda m: want.append(_name(m)))
    assert got == want                                # the shared Linear is visited twice in both


def test_apply_refuses_a_non_callable():
    with pytest.raises(TypeError, match=r"apply: fn expects a callable, but got int"):
        nn.ReLU().apply(1)


def test_requires_grad_freezes_like_torch():
    ours, theirs = _bn_net(nn), _bn_net(tnn)
    assert ours[0].requires_grad_(False) is ours[0]
    theirs[0].requires_grad_(False)
    assert [p.requires_grad for p in ours.parameters()] == [p.requires_grad for p in theirs.parameters()]
    y = ours(convscope.Tensor(np.ones((1, 1, 5, 5), np.float32)))
    y.sum().backward()
    assert ours[0].weight.grad is None and ours[4].weight.grad is not None
    ours.requires_grad_()
    assert all(p.requires_grad for p in ours.parameters())


def test_requires_grad_refuses_a_non_bool_like_torch():
    with pytest.raises(TypeError, match="must be bool"):
        tnn.Linear(2, 2).requires_grad_(1)
    with pytest.raises(TypeError, match=r"requires_grad_: requires_grad expects a bool, but got 1 \(int\)"):
        nn.Linear(2, 2).requires_grad_(1)


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad_matches_torch(set_to_none):
    results = []
    for lin, x in ((nn.Linear(2, 2), convscope.Tensor(np.ones((1, 2), np.float32))),
                   (tnn.Linear(2, 2), torch.ones(1, 2))):
        lin(x).sum().backward()
        grad = lin.weight.grad
        lin.zero_grad(set_to_none=set_to_none)
        results.append((lin.weight.grad is None, lin.weight.grad is grad))
    assert results[0] == results[1]
    lin = nn.Linear(2, 2)
    lin.zero_grad()                                   # before any backward: nothing to do
    assert lin.weight.grad is None


def test_zero_grad_refuses_a_non_bool():
    with pytest.raises(TypeError, match=r"zero_grad: set_to_none expects a bool, but got 'no' \(str\)"):
        nn.Linear(2, 2).zero_grad(set_to_none="no")


@pytest.mark.parametrize("make", [lambda: models.resnet18(num_classes=3, in_channels=1),
                                  lambda: models.googlenet(num_classes=3, in_channels=1, dropout=0.0)],
                         ids=["resnet18", "googlenet"])
def test_hooks_on_every_module_fire_once_per_call_and_leave_the_gradients_unchanged(make, rng):
    convscope.manual_seed(0)
    model = make()
    x = rng.standard_normal((2, 1, 16, 16)).astype(np.float32)

    def grads():
        model.zero_grad()
        xt = convscope.Tensor(x, requires_grad=True)
        model(xt).sum().backward()
        return [xt.grad] + [p.grad for p in model.parameters()]

    plain = grads()
    forward, backward, pre = [], [], []
    with nn.register_module_forward_hook(lambda m, a, o: forward.append(id(m))), \
            nn.register_module_full_backward_hook(lambda m, gi, go: backward.append(id(m))), \
            nn.register_module_full_backward_pre_hook(lambda m, go: pre.append(id(m))):
        hooked = grads()
    assert len(forward) > 50 and sorted(backward) == sorted(pre) == sorted(forward)
    for a, b in zip(plain, hooked):
        np.testing.assert_array_equal(a, b)
