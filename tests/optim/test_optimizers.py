"""SGD, Adam and AdamW against torch.optim: same parameters, same gradients, same steps."""

import numpy as np
import pytest

from tests._reference import torch  # noqa: F401  (skips the module without PyTorch)

from convscope.nn import Parameter
from convscope.optim import SGD, Adam, AdamW, Optimizer

from ._helpers import assert_plain, json_npz_round_trip

SHAPES = [(3, 4), (5,), (2, 3, 2)]
STEPS = 6
RTOL = {np.float32: 1e-6, np.float64: 1e-12}

OPTIMIZERS = {"SGD": (SGD, torch.optim.SGD), "Adam": (Adam, torch.optim.Adam), "AdamW": (AdamW, torch.optim.AdamW)}

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.5, weight_decay=0.01, maximize=True)),
    ("SGD", dict(lr=0.1, momentum=0.5, nesterov=True, weight_decay=0.05, maximize=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, maximize=True)),
    ("Adam", dict(lr=0.02, betas=(0.3, 0.5), eps=1e-6)),
    ("Adam", dict(lr=0.01, betas=(0.0, 0.9))),
    ("Adam", dict(lr=0.01, weight_decay=0.05, amsgrad=True, maximize=True)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, weight_decay=0, amsgrad=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.2, amsgrad=True, maximize=True, betas=(0.7, 0.9))),
]


def _ids(case):
    name, kwargs = case
    return name + "(" + ",".join(f"{k}={v}" for k, v in kwargs.items()) + ")"


def _initial(rng, dtype):
    return [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]


def _grads(rng, dtype, step):
    """Gradients of changing scale (so amsgrad's maximum matters); parameter 1 gets none at step 2."""
    scale = [1.0, 3.0, 0.2, 5.0, 0.5, 1.0][step % 6]
    grads = [(scale * rng.standard_normal(shape)).astype(dtype) for shape in SHAPES]
    if step == 2:
        grads[1] = None
    return grads


def _build(name, arrays, kwargs, groups):
    """The same optimizer in convscope and torch; ``groups`` is None or a list of (indices, options)."""
    cs_cls, pt_cls = OPTIMIZERS[name]
    cs_params = [Parameter(a.copy()) for a in arrays]
    pt_params = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in arrays]
    if groups is None:
        cs_arg, pt_arg = cs_params, pt_params
    else:
        cs_arg = [{"params": [cs_params[i] for i in idx], **opts} for idx, opts in groups]
        pt_arg = [{"params": [pt_params[i] for i in idx], **opts} for idx, opts in groups]
    return cs_params, cs_cls(cs_arg, **kwargs), pt_params, pt_cls(pt_arg, **kwargs)


def _set_grads(params, grads, torch_side):
    for p, g in zip(params, grads):
        if torch_side:
            p.grad = None if g is None else torch.from_numpy(g.copy())
        else:
            p.grad = None if g is None else g.copy()


def _assert_same(cs_params, pt_params, dtype, what):
    for i, (c, p) in enumerate(zip(cs_params, pt_params)):
        want = p.detach().numpy()
        assert c.data.dtype == np.dtype(dtype), f"{what}: param {i} became {c.data.dtype}"
        scale = float(np.abs(want).max())
        np.testing.assert_allclose(c.data, want, rtol=RTOL[dtype], atol=RTOL[dtype] * scale,
                                   err_msg=f"{what}: param {i}")


def _run_against_torch(name, kwargs, dtype, groups=None, seed=0):
    rng = np.random.default_rng(seed)
    cs_params, cs_opt, pt_params, pt_opt = _build(name, _initial(rng, dtype), kwargs, groups)
    for step in range(STEPS):
        grads = _grads(rng, dtype, step)
        _set_grads(cs_params, grads, torch_side=False)
        _set_grads(pt_params, grads, torch_side=True)
        cs_opt.step()
        pt_opt.step()
        _assert_same(cs_params, pt_params, dtype, f"{name} {kwargs} step {step}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_matches_torch(case, dtype):
    _run_against_torch(*case, dtype)


GROUPS = {
    "SGD": [([0], dict(lr=0.3)), ([1, 2], dict(lr=0.01, momentum=0.5, weight_decay=0.1))],
    "Adam": [([2, 0], dict(lr=0.05)), ([1], dict(lr=0.001, amsgrad=True, betas=(0.5, 0.9)))],
    "AdamW": [([1], dict(weight_decay=0.3)), ([0], dict(lr=0.02)), ([2], dict(maximize=True))],
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(GROUPS))
def test_param_groups_with_their_own_options_match_torch(name, dtype):
    _run_against_torch(name, dict(lr=0.01, momentum=0.9) if name == "SGD" else dict(lr=0.01), dtype,
                       groups=GROUPS[name])


def test_lr_changed_between_steps_takes_effect_like_torch():
    rng = np.random.default_rng(3)
    cs_params, cs_opt, pt_params, pt_opt = _build("Adam", _initial(rng, np.float64), dict(lr=0.1), None)
    for step in range(4):
        grads = _grads(rng, np.float64, step + 3)
        _set_grads(cs_params, grads, False)
        _set_grads(pt_params, grads, True)
        cs_opt.step()
        pt_opt.step()
        for opt in (cs_opt, pt_opt):
            opt.param_groups[0]["lr"] *= 0.5
    _assert_same(cs_params, pt_params, np.float64, "lr halved each step")


# -- checkpoints

RESUME_CASES = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True), None),
    ("SGD", dict(lr=0.1, momentum=0.9), [([2], dict(lr=0.2)), ([0, 1], dict(dampening=0.1))]),
    ("Adam", dict(lr=0.01, amsgrad=True), None),
    ("Adam", dict(lr=0.01), [([1, 2], dict()), ([0], dict(lr=0.1, betas=(0.5, 0.6)))]),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, maximize=True), None),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, kwargs, groups", RESUME_CASES)
def test_state_dict_resume_equals_uninterrupted_run(name, kwargs, groups, dtype):
    rng = np.random.default_rng(7)
    initial = _initial(rng, dtype)
    grads = [_grads(rng, dtype, step) for step in range(STEPS)]
    params, opt, _, _ = _build(name, initial, kwargs, groups)
    for g in grads[:3]:
        _set_grads(params, g, False)
        opt.step()
    saved = opt.state_dict()
    assert_plain(saved)
    checkpoint = json_npz_round_trip(saved)
    resumed_params, resumed, _, _ = _build(name, [p.data.copy() for p in params], dict(lr=123.0), groups)
    resumed.load_state_dict(checkpoint)
    for g in grads[3:]:
        for ps, o in ((params, opt), (resumed_params, resumed)):
            _set_grads(ps, g, False)
            o.step()
    for a, b in zip(params, resumed_params):
        assert b.data.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(a.data, b.data)
    assert resumed.param_groups[0]["lr"] == opt.param_groups[0]["lr"]


def test_state_dict_layout_is_pytorchs_with_plain_values():
    p, q = Parameter(np.ones(2)), Parameter(np.ones(3))
    opt = Adam([{"params": [p]}, {"params": [q], "lr": 0.5}], betas=(0.8, 0.9))
    q.grad = np.ones(3)
    opt.step()
    sd = opt.state_dict()
    assert_plain(sd)
    assert sd["param_groups"][0]["params"] == [0] and sd["param_groups"][1]["params"] == [1]
    assert sd["param_groups"][1]["lr"] == 0.5 and sd["param_groups"][0]["betas"] == [0.8, 0.9]
    assert list(sd["state"]) == [1]
    assert sd["state"][1]["step"] == 1 and set(sd["state"][1]) == {"step", "exp_avg", "exp_avg_sq"}


def test_state_dict_arrays_are_copies():
    p = Parameter(np.ones(2))
    opt = SGD([p], lr=0.1, momentum=0.9)
    p.grad = np.ones(2)
    opt.step()
    sd = opt.state_dict()
    opt.step()
    np.testing.assert_array_equal(sd["state"][0]["momentum_buffer"], np.ones(2))


def test_load_state_dict_copies_and_casts_to_param_dtype():
    p = Parameter(np.ones(2, dtype=np.float32))
    opt = SGD([p], lr=0.1, momentum=0.9)
    buf = np.array([1.0, 2.0])
    opt.load_state_dict({"state": {"0": {"momentum_buffer": buf}},
                         "param_groups": [{**opt.state_dict()["param_groups"][0]}]})
    loaded = opt.state[p]["momentum_buffer"]
    assert loaded.dtype == np.float32 and loaded is not buf


def _adam_two_groups():
    p, q = Parameter(np.ones((2, 2))), Parameter(np.ones(3))
    opt = Adam([{"params": [p]}, {"params": [q]}])
    p.grad, q.grad = np.ones((2, 2)), np.ones(3)
    opt.step()
    return opt


@pytest.mark.parametrize("corrupt, match", [
    (lambda sd: sd["param_groups"].pop(), r"Adam: load_state_dict expects 2 param groups, but the state dict has 1"),
    (lambda sd: sd["param_groups"][1]["params"].append(5),
     r"expects param_groups\[1\] to have 1 parameters, but the state dict's has 2"),
    (lambda sd: sd["state"][0].update(exp_avg=np.zeros((4,))),
     r"state\[0\]\['exp_avg'\] to have the parameter's shape \(2, 2\), but got \(4,\)"),
    (lambda sd: sd["state"][1].update(momentum_buffer=np.zeros(3)), r"unknown \['momentum_buffer'\]"),
    (lambda sd: sd["state"][1].pop("exp_avg_sq"), r"lacks \['exp_avg_sq'\]"),
    (lambda sd: sd["state"][1].update(step=-1), r"state\[1\]\['step'\] to be a non-negative integer, but got -1"),
    (lambda sd: sd["state"].update({7: {}}), r"state refers to parameter 7"),
    (lambda sd: sd["param_groups"][0].pop("betas"), r"param_groups\[0\] to set every option of Adam.*\['betas'\]"),
    (lambda sd: sd["param_groups"][0].update(lr=-1.0),
     r"Adam: load_state_dict: param_groups\[0\]\['lr'\] expects a non-negative float, but got -1.0"),
    (lambda sd: sd.pop("state"), r"expects a dict with keys 'param_groups' and 'state', but got \['param_groups'\]"),
])
def test_load_state_dict_rejects_mismatches_and_changes_nothing(corrupt, match):
    opt = _adam_two_groups()
    sd = opt.state_dict()
    corrupt(sd)
    before = opt.state_dict()
    with pytest.raises(ValueError, match=match):
        opt.load_state_dict(sd)
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    np.testing.assert_array_equal(after["state"][0]["exp_avg"], before["state"][0]["exp_avg"])


# -- behaviour

def test_zero_grad_sets_none_by_default_or_zeros_in_place():
    p, q = Parameter(np.ones(3)), Parameter(np.ones(2))
    opt = SGD([p, q], lr=0.1)
    p.grad = np.full(3, 2.0)
    opt.zero_grad()
    assert p.grad is None and q.grad is None
    grad = np.full(3, 2.0)
    p.grad = grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is grad and np.all(grad == 0) and q.grad is None


def test_params_without_grad_are_skipped_and_get_no_state():
    p, q = Parameter(np.ones(3)), Parameter(np.ones(2))
    opt = Adam([p, q], lr=0.1)
    p.grad = np.ones(3)
    opt.step()
    np.testing.assert_array_equal(q.data, np.ones(2))
    assert q not in opt.state and opt.state[p]["step"] == 1


def test_step_updates_data_in_place_in_the_params_dtype():
    p = Parameter(np.ones(4, dtype=np.float32))
    data = p.data
    opt = AdamW([p], lr=0.1)
    p.grad = np.ones(4, dtype=np.float64)  # a float64 gradient does not promote a float32 parameter
    opt.step()
    assert p.data is data and p.data.dtype == np.float32
    assert all(v.dtype == np.float32 for v in opt.state[p].values() if isinstance(v, np.ndarray))


def test_step_calls_the_closure_and_returns_its_loss():
    p = Parameter(np.ones(2))
    opt = SGD([p], lr=0.5)

    def closure():
        p.grad = 2 * p.data
        return float((p.data ** 2).sum())

    assert opt.step(closure) == 2.0
    np.testing.assert_array_equal(p.data, np.zeros(2))


def test_add_param_group_and_defaults():
    p, q = Parameter(np.ones(2)), Parameter(np.ones(2))
    opt = SGD([p], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": q, "lr": 0.01})
    assert opt.param_groups[1]["params"] == [q]
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["momentum"] == 0.9
    assert isinstance(opt, Optimizer) and "Parameter Group 1" in repr(opt)


def test_shape_mismatched_grad_is_an_error():
    p = Parameter(np.ones(3))
    opt = SGD([p], lr=0.1)
    p.grad = np.ones(2)
    match = r"SGD: param_groups\[0\]\['params'\]\[0\] has shape \(3,\), but its grad has shape \(2,\)"
    with pytest.raises(ValueError, match=match):
        opt.step()


# -- argument errors

def _p():
    return [Parameter(np.ones(2))]


@pytest.mark.parametrize("make, error, match", [
    (lambda: SGD(_p(), lr=-0.1), ValueError, r"SGD: lr expects a non-negative float, but got -0.1"),
    (lambda: SGD(_p(), lr="0.1"), TypeError, r"SGD: lr expects a non-negative float, but got '0.1' \(str\)"),
    (lambda: SGD(_p(), lr=float("nan")), ValueError, r"SGD: lr expects a non-negative float, but got nan"),
    (lambda: SGD(_p(), momentum=-0.5), ValueError, r"SGD: momentum expects a non-negative float, but got -0.5"),
    (lambda: SGD(_p(), dampening=1.5), ValueError, r"SGD: dampening expects a float in \[0, 1\], but got 1.5"),
    (lambda: SGD(_p(), weight_decay=-1), ValueError, r"SGD: weight_decay expects a non-negative float, but got -1"),
    (lambda: SGD(_p(), nesterov=True), ValueError,
     r"SGD: nesterov momentum requires momentum > 0 and dampening = 0, but got momentum=0, dampening=0$"),
    (lambda: SGD(_p(), momentum=0.9, dampening=0.1, nesterov=True), ValueError,
     r"nesterov momentum requires .* but got momentum=0.9, dampening=0.1"),
    (lambda: SGD(_p(), nesterov=1), TypeError, r"SGD: nesterov expects a bool, but got 1 \(int\)"),
    (lambda: SGD([{"params": _p()}, {"params": _p(), "lr": -1}]), ValueError,
     r"SGD: param_groups\[1\]\['lr'\] expects a non-negative float, but got -1"),
    (lambda: SGD([{"params": _p(), "momentum": 0.0, "nesterov": True}]), ValueError,
     r"but got momentum=0, dampening=0 in param_groups\[0\]"),
    (lambda: Adam(_p(), lr=-1e-3), ValueError, r"Adam: lr expects a non-negative float, but got -0.001"),
    (lambda: Adam(_p(), eps=-1e-8), ValueError, r"Adam: eps expects a non-negative float"),
    (lambda: Adam(_p(), betas=(1.0, 0.999)), ValueError, r"Adam: betas\[0\] expects a float in \[0, 1\), but got 1.0"),
    (lambda: Adam(_p(), betas=(0.9, -0.1)), ValueError, r"Adam: betas\[1\] expects a float in \[0, 1\), but got -0.1"),
    (lambda: Adam(_p(), betas=0.9), TypeError, r"Adam: betas expects a pair of floats in \[0, 1\), but got 0.9"),
    (lambda: Adam(_p(), amsgrad="yes"), TypeError, r"Adam: amsgrad expects a bool, but got 'yes'"),
    (lambda: AdamW(_p(), weight_decay=-0.01), ValueError, r"AdamW: weight_decay expects a non-negative float"),
    (lambda: SGD(Parameter(np.ones(2))), TypeError, r"SGD: params expects an iterable .* but got a single Parameter"),
    (lambda: SGD([]), ValueError, r"SGD: params expects at least one Parameter, but got an empty iterable"),
    (lambda: SGD([np.ones(2)]), TypeError,
     r"SGD: param_groups\[0\]\['params'\]\[0\] expects a Parameter, but got ndarray"),
    (lambda: SGD(_p() * 2), ValueError, r"expects each Parameter once"),
    (lambda: SGD([{"params": _p(), "learning_rate": 0.1}]), ValueError,
     r"SGD: param_groups\[0\] expects options among .*, but got unknown \['learning_rate'\]"),
    (lambda: SGD([{"lr": 0.1}]), ValueError, r"SGD: param_groups\[0\] expects a 'params' entry"),
    (lambda: SGD([_p()[0], {"params": _p()}]), TypeError, r"either all Parameters or all dicts"),
    (lambda: SGD(set(_p())), TypeError, r"ordered iterable of Parameters, but got a set"),
])
def test_argument_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_shared_parameter_across_groups_is_rejected():
    p = Parameter(np.ones(2))
    with pytest.raises(ValueError, match=r"param_groups\[1\]\['params'\]\[0\] expects each Parameter once"):
        Adam([{"params": [p]}, {"params": [p]}])
