"""StepLR and CosineAnnealingLR against torch.optim.lr_scheduler, epoch by epoch."""

import json
import math

import numpy as np
import pytest

from tests._reference import torch

from convscope.nn import Parameter
from convscope.optim import SGD, Adam
from convscope.optim.lr_scheduler import CosineAnnealingLR, StepLR

EPOCHS = 50
LRS = (0.1, 0.025, 1.0)


def _pair(lrs=LRS, cs_opt=SGD, pt_opt=torch.optim.SGD):
    """One optimizer per library, one param group per rate."""
    cs = cs_opt([{"params": [Parameter(np.zeros(2))], "lr": lr} for lr in lrs])
    pt = pt_opt([{"params": [torch.nn.Parameter(torch.zeros(2))], "lr": lr} for lr in lrs])
    return cs, pt


def _compare(cs_sched, pt_sched, cs_opt, pt_opt, epochs=EPOCHS):
    for epoch in range(epochs + 1):
        want = pt_sched.get_last_lr()
        got = cs_sched.get_last_lr()
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15, err_msg=f"epoch {epoch}")
        assert [g["lr"] for g in cs_opt.param_groups] == got
        assert cs_sched.last_epoch == pt_sched.last_epoch == epoch
        cs_opt.step()
        pt_opt.step()
        cs_sched.step()
        pt_sched.step()


@pytest.mark.parametrize("step_size, gamma", [(1, 0.9), (7, 0.1), (10, 0.5), (3, 1.5), (60, 0.1)])
def test_step_lr_matches_torch(step_size, gamma):
    cs, pt = _pair()
    _compare(StepLR(cs, step_size, gamma), torch.optim.lr_scheduler.StepLR(pt, step_size, gamma), cs, pt)


@pytest.mark.parametrize("T_max, eta_min, epochs", [(10, 0.0, 50), (50, 0.0, 50), (7, 1e-3, 60), (1, 0.0, 9),
                                                    (3, 0.01, 40), (100, 0.0, 130)])
def test_cosine_annealing_matches_torch_also_past_t_max(T_max, eta_min, epochs):
    cs, pt = _pair(cs_opt=Adam, pt_opt=torch.optim.Adam)
    _compare(CosineAnnealingLR(cs, T_max, eta_min), torch.optim.lr_scheduler.CosineAnnealingLR(pt, T_max, eta_min),
             cs, pt, epochs)


def test_cosine_annealing_follows_the_closed_form():
    opt = SGD([Parameter(np.zeros(1))], lr=0.5)
    sched = CosineAnnealingLR(opt, T_max=20, eta_min=0.1)
    for epoch in range(61):
        want = 0.1 + 0.5 * (0.5 - 0.1) * (1 + math.cos(math.pi * epoch / 20))
        assert sched.get_last_lr()[0] == pytest.approx(want, rel=1e-12, abs=1e-15)
        sched.step()


def test_schedulers_record_initial_lr_like_torch():
    cs, pt = _pair()
    StepLR(cs, 2)
    torch.optim.lr_scheduler.StepLR(pt, 2)
    assert [g["initial_lr"] for g in cs.param_groups] == [g["initial_lr"] for g in pt.param_groups] == list(LRS)
    cs.param_groups[0]["lr"] = 5.0  # a second scheduler starts from initial_lr, not from the current rate
    assert CosineAnnealingLR(cs, 4).base_lrs == list(LRS)


@pytest.mark.parametrize("make", [lambda o: StepLR(o, 4, 0.5), lambda o: CosineAnnealingLR(o, 6, 0.01)])
def test_state_dict_round_trip_resumes_the_schedule(make):
    opt = SGD([{"params": [Parameter(np.zeros(2))], "lr": lr} for lr in LRS])
    sched = make(opt)
    for _ in range(5):
        opt.step()
        sched.step()
    opt_sd, sched_sd = json.loads(json.dumps(opt.state_dict())), json.loads(json.dumps(sched.state_dict()))

    opt2 = SGD([{"params": [Parameter(np.zeros(2))], "lr": 9.0} for _ in LRS])
    sched2 = make(opt2)
    opt2.load_state_dict(opt_sd)
    sched2.load_state_dict(sched_sd)
    assert sched2.last_epoch == 5 and sched2.get_last_lr() == sched.get_last_lr()
    for _ in range(20):
        for o, s in ((opt, sched), (opt2, sched2)):
            o.step()
            s.step()
        assert sched2.get_last_lr() == sched.get_last_lr()
        assert [g["lr"] for g in opt2.param_groups] == [g["lr"] for g in opt.param_groups]


def test_a_torch_scheduler_state_dict_loads():
    cs, pt = _pair()
    pt_sched = torch.optim.lr_scheduler.CosineAnnealingLR(pt, 8)
    for _ in range(3):
        pt.step()
        pt_sched.step()
    cs_sched = CosineAnnealingLR(cs, 8)
    cs_sched.load_state_dict(pt_sched.state_dict())
    for group, lr in zip(cs.param_groups, pt_sched.get_last_lr()):
        group["lr"] = lr
    assert cs_sched.last_epoch == 3 and cs_sched.get_last_lr() == pt_sched.get_last_lr()
    for _ in range(10):
        cs_sched.step()
        pt_sched.step()
        np.testing.assert_allclose(cs_sched.get_last_lr(), pt_sched.get_last_lr(), rtol=1e-12)


@pytest.mark.parametrize("make, error, match", [
    (lambda o: StepLR(o, 0), ValueError, r"StepLR: step_size expects a positive integer, but got 0"),
    (lambda o: StepLR(o, 2.5), TypeError, r"StepLR: step_size expects an integer, but got 2.5"),
    (lambda o: StepLR(o, 2, gamma=-0.1), ValueError, r"StepLR: gamma expects a non-negative float, but got -0.1"),
    (lambda o: CosineAnnealingLR(o, 0), ValueError, r"CosineAnnealingLR: T_max expects a positive integer, but got 0"),
    (lambda o: CosineAnnealingLR(o, 5, eta_min=-1), ValueError,
     r"CosineAnnealingLR: eta_min expects a non-negative float, but got -1"),
    (lambda o: StepLR("sgd", 2), TypeError, r"StepLR: optimizer expects a convscope.optim.Optimizer, but got str"),
])
def test_argument_errors(make, error, match):
    with pytest.raises(error, match=match):
        make(SGD([Parameter(np.zeros(1))], lr=0.1))


@pytest.mark.parametrize("corrupt, match", [
    (lambda sd: sd.pop("T_max"), r"missing \['T_max'\]"),
    (lambda sd: sd.update(surprise=1), r"unknown \['surprise'\]"),
    (lambda sd: sd.update(base_lrs=[0.1]),
     r"expects 'base_lrs' to hold 2 rates \(one per param group\), but got \[0.1\]"),
    (lambda sd: sd.update(T_max=-3),
     r"CosineAnnealingLR: load_state_dict: T_max expects a positive integer, but got -3"),
    (lambda sd: sd.update(last_epoch=-1), r"last_epoch expects an integer >= 0, but got -1"),
])
def test_load_state_dict_errors(corrupt, match):
    opt = SGD([{"params": [Parameter(np.zeros(1))]}, {"params": [Parameter(np.zeros(1))]}], lr=0.1)
    sched = CosineAnnealingLR(opt, 5)
    sd = sched.state_dict()
    corrupt(sd)
    with pytest.raises(ValueError, match=match):
        sched.load_state_dict(sd)
    assert sched.T_max == 5 and sched.last_epoch == 0
