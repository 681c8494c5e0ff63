"""summary(): traced shapes, parameters, MACs and receptive fields of small models built here."""

import threading

import numpy as np
import pytest

import convscope.nn as nn
import convscope.nn.functional as F
from convscope import Tensor, cat
from convscope.analysis import summary
from convscope.autograd import Function
from convscope.analysis.receptive import Geometry
from convscope.nn.functional import max_pool2d as bound_max_pool2d   # bound before any tracing
from convscope.nn.module import Module


# --------------------------------------------------------------------------- models

def plain_net():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, stride=2), nn.Flatten(), nn.Linear(16 * 3 * 3, 10))


class Residual(nn.Module):
    """conv 3x3 s2 -> relu -> conv 3x3, plus a 1x1 s2 shortcut; one ReLU module used twice."""

    def __init__(self, pool=None):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 4, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.short = nn.Conv2d(2, 4, 1, stride=2)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.conv2(self.relu(self.conv1(x))) + self.short(x))


class TwoBranch(nn.Module):
    """Inception-like: a 1x1 branch and a 1x1 -> 5x5 branch, concatenated, then a 2x2 pool."""

    def __init__(self, pool=nn.MaxPool2d):
        super().__init__()
        self.a = nn.Conv2d(3, 4, 1)
        self.b = nn.Sequential(nn.Conv2d(3, 2, 1), nn.Conv2d(2, 4, 5, padding=2))
        self.pool = pool(2)

    def forward(self, x):
        return self.pool(cat([self.a(x), self.b(x)], dim=1))


class Shifted(nn.Module):
    """Two same-sized branches whose windows are not centred alike: a 3x3 conv with padding 1
    (output 0 sees inputs -1..1) and a 3x3 conv on the input padded after only (inputs 0..2)."""

    def __init__(self):
        super().__init__()
        self.centred = nn.Conv2d(1, 2, 3, padding=1)
        self.right = nn.Conv2d(1, 2, 3)
        self.out = nn.Identity()                 # a leaf whose row shows the sum's geometry

    def forward(self, x):
        return self.out(self.centred(x) + self.right(F.pad(x, (0, 2, 0, 2))))


def positive(model, value=0.1):
    """Positive weights and zero biases, so no gradient cancels and every tap counts."""
    for name, p in model.named_parameters():
        p.data[...] = 0.0 if name.endswith("bias") else value
    return model


def gradient_window(model, shape, position):
    """(lo, hi) per spatial dim of the input pixels that output[0, :, *position] depends on (all
    channels: after a concatenation each channel sees only its own branch's window)."""
    x = Tensor(np.ones((1,) + shape), requires_grad=True)
    y = model(x)
    g = np.zeros(y.shape)
    g[(0, slice(None)) + tuple(position)] = 1
    y.backward(g)
    support = np.nonzero(np.abs(x.grad[0]).sum(axis=0))
    return [(int(s.min()), int(s.max())) for s in support]


def predicted_window(record, position):
    return [(s + i * j - (r - 1) / 2, s + i * j + (r - 1) / 2)
            for r, j, s, i in zip(record.receptive_field, record.jump, record.start, position)]


# --------------------------------------------------------------------------- a plain chain

def test_sequential_shapes_params_macs_and_fields():
    net = plain_net()
    s = summary(net, (3, 16, 16))
    assert [r.name for r in s] == ["0", "1", "2", "3", "4", "5"]
    assert [r.type for r in s] == ["Conv2d", "ReLU", "MaxPool2d", "Conv2d", "Flatten", "Linear"]
    assert [r.output_shape for r in s] == [(1, 8, 16, 16), (1, 8, 16, 16), (1, 8, 8, 8), (1, 16, 3, 3), (1, 144),
                                           (1, 10)]
    assert s[0].input_shape == (1, 3, 16, 16) and s[3].input_shape == (1, 8, 8, 8)
    # params: 3*8*9 + 8, 8*16*9 + 16, 144*10 + 10
    assert [r.params for r in s] == [224, 0, 0, 1168, 0, 1450]
    assert s.total_params == s.trainable_params == sum(p.numel() for p in net.parameters()) == 2842
    # MACs: out elements * Cin/groups * k*k; linear: batch * in * out
    assert [r.macs for r in s] == [8 * 16 * 16 * 3 * 9, 0, 0, 16 * 3 * 3 * 8 * 9, 0, 144 * 10]
    assert s.total_macs == 55_296 + 10_368 + 1_440
    # geometry: conv 3 p1 -> rf 3; pool 2 -> rf 4, jump 2, start 0.5; conv 3 s2 p0 -> rf 4 + 2*2 = 8,
    # jump 4, start 0.5 + (1 - 0)*2 = 2.5
    assert [(r.receptive_field, r.jump, r.start) for r in s[:5]] == [
        ((3, 3), (1, 1), (0, 0)), ((3, 3), (1, 1), (0, 0)), ((4, 4), (2, 2), (0.5, 0.5)),
        ((8, 8), (4, 4), (2.5, 2.5)), ((8, 8), (4, 4), (2.5, 2.5))]
    assert s["5"].global_rf and s["5"].receptive_field == (16, 16) and s["5"].jump is None and s["5"].start is None
    assert (s[0].kernel, s[0].stride, s[0].padding, s[0].dilation, s[0].groups) == ((3, 3), (1, 1), (1, 1), (1, 1), 1)
    assert (s[2].kernel, s[2].stride, s[2].padding, s[2].groups) == ((2, 2), (2, 2), (0, 0), None)
    assert s[1].kernel is None and s[5].kernel is None
    assert s.activation_bytes == 4 * (2 * 8 * 256 + 8 * 64 + 144 + 144 + 10)
    assert s.input_bytes == 4 * 3 * 256 and s.param_bytes == 4 * 2842


def test_batch_scales_macs_and_memory_not_params():
    one, four = summary(plain_net(), (3, 16, 16)), summary(plain_net(), "3x16x16", batch_size=4)
    assert four.total_macs == 4 * one.total_macs and four.activation_bytes == 4 * one.activation_bytes
    assert four.total_params == one.total_params and four[0].output_shape == (4, 8, 16, 16)
    assert summary(plain_net(), (3, 16, 16), dtype=np.float64).input_bytes == 8 * 3 * 256


def test_table():
    text = str(summary(plain_net(), (3, 16, 16)))
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("Layer"))
    for column in ("Type", "k/s/p/d/g", "Output shape", "Params", "MACs", "RF", "Jump", "Start"):
        assert column in header
    conv = next(line for line in lines if line.startswith("3 "))
    assert "3/2/0/1/1" in conv and "1x16x3x3" in conv and "1,168" in conv and "10,368" in conv and "2.5" in conv
    assert "global" in next(line for line in lines if line.startswith("5 "))
    assert "Total params: 2,842" in text and "Total MACs: 67,104" in text


# --------------------------------------------------------------------------- branches and skips

def test_residual_block_receptive_field_through_the_skip():
    s = summary(Residual(), (2, 16, 16))
    assert [r.name for r in s] == ["conv1", "relu", "conv2", "short", "relu"]
    assert [r.call_index for r in s] == [0, 0, 0, 0, 1]
    # conv1 3x3 s2 p1: rf 3, jump 2, start 0. conv2 3x3 p1: rf 3 + 2*2 = 7. shortcut 1x1 s2: rf 1.
    # The sum sees the union of the two windows, both centred on start 0: rf 7.
    assert [r.receptive_field[0] for r in s] == [3, 3, 7, 1, 7]
    assert all(r.jump == (2, 2) and r.start == (0, 0) for r in s)
    # MACs: 4*8*8 outputs each of conv1 (2*9 taps), conv2 (4*9), shortcut (2)
    assert [r.macs for r in s] == [256 * 18, 0, 256 * 36, 256 * 2, 0]
    assert s.total_params == sum(r.params for r in s if r.call_index == 0) == 76 + 148 + 12
    assert "(again)" not in str(s)                       # ReLU has no parameters to repeat


def test_concat_of_branches():
    s = summary(TwoBranch(), (3, 12, 12))
    assert [r.name for r in s] == ["a", "b.0", "b.1", "pool"]
    assert s["b.1"].receptive_field == (5, 5) and s["a"].receptive_field == (1, 1)
    # cat: max rf 5 (both centred at 0); pool 2x2: rf 5 + 1 = 6, jump 2, start 0.5
    assert (s["pool"].receptive_field, s["pool"].jump, s["pool"].start) == ((6, 6), (2, 2), (0.5, 0.5))
    assert s["pool"].output_shape == (1, 8, 6, 6)


def test_merge_takes_the_union_of_offset_windows():
    s = summary(Shifted(), (1, 10, 10))
    assert s["centred"].start == (0, 0) and s["right"].start == (1, 1)
    assert s.notes == ()


@pytest.mark.parametrize("model, shape, layer", [
    (Residual(), (2, 32, 32), None),
    (TwoBranch(nn.AvgPool2d), (3, 24, 24), None),
    (nn.Sequential(nn.Conv2d(1, 2, 5, stride=2, padding=1), nn.AvgPool2d(3, 2, 1), nn.Conv2d(2, 2, 3, dilation=3),
                   nn.ConvTranspose2d(2, 2, 4, stride=2, padding=1), nn.Conv2d(2, 1, 3)), (1, 64, 64), None),
])
def test_fields_match_the_gradient_support(model, shape, layer):
    """The traced rf/jump/start predict exactly which input pixels an interior output depends on."""
    positive(model)
    s = summary(model, shape)
    last = s[-1]
    n_out = last.output_shape[2:]
    position = tuple(n // 2 for n in n_out)
    got = gradient_window(model, shape, position)
    want = predicted_window(last, position)
    if "ConvTranspose2d" in [r.type for r in s]:
        # after upsampling the window centre alternates around the fine grid's (within half an
        # input step); its width is exact
        for (glo, ghi), (wlo, whi) in zip(got, want):
            assert ghi - glo == whi - wlo and abs((glo + ghi) / 2 - (wlo + whi) / 2) <= 1
    else:
        assert got == [tuple(w) for w in want]


def test_shifted_branches_against_the_gradient():
    model = positive(Shifted())
    s = summary(model, (1, 10, 10))
    # windows -1..1 (centred) and 0..2 (shifted): the union -1..2 has rf 4, centre 0.5
    assert (s[-1].receptive_field, s[-1].start) == ((4, 4), (0.5, 0.5))
    assert gradient_window(model, (1, 10, 10), (5, 5)) == [(4, 7), (4, 7)]


def test_global_pooling_and_functional_ops_in_forward():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.weight = nn.Parameter(np.ones((4, 4, 1, 1), dtype=np.float32))   # owned by the container

        def forward(self, x):
            x = F.max_pool2d(self.conv(x), 3, stride=2, padding=1)               # functional pooling
            y = F.conv2d(x, self.weight)                                          # conv outside any leaf
            return y.mean((2, 3))

    s = summary(Net(), (3, 8, 8))
    assert len(s) == 1 and s.total_params == 112 + 16
    assert s.total_macs == 4 * 64 * 27 + 4 * 16 * 4
    assert any("16 parameters belong to modules with submodules" in n for n in s.notes)
    assert any("256 MACs computed directly in the forward of (model)" in n for n in s.notes)


def test_adaptive_pooling_and_linear_are_global():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.AdaptiveAvgPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(2, 3))
    s = summary(net, (1, 10, 10))
    # 8x8 -> 2x2 bins of 4: a 4x4 pool, stride 4: rf 3 + 3*1 = 6, jump 4, start 1 + 1.5 = 2.5
    assert (s[1].receptive_field, s[1].jump, s[1].start) == ((6, 6), (4, 4), (2.5, 2.5))
    assert [r.global_rf for r in s] == [False, False, True, True, True]
    assert s[2].receptive_field == (10, 10)
    assert "global" in str(s)
    uneven = summary(nn.Sequential(nn.Conv2d(1, 1, 1), nn.AdaptiveAvgPool2d(3)), (1, 7, 7))
    # bins of 7 into 3: [0,3), [2,5), [4,7): widest 3 -> rf 3, no uniform step
    assert uneven[1].receptive_field == (3, 3) and uneven[1].jump is None and not uneven[1].global_rf


def test_transposed_and_grouped_conv_macs():
    net = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1, groups=2), nn.ConvTranspose2d(8, 6, 4, stride=2, padding=1,
                                                                                    groups=2))
    s = summary(net, (4, 5, 5))
    assert s[0].macs == 8 * 25 * (4 // 2) * 9                 # out elements * Cin/groups * k*k
    assert s[1].output_shape == (1, 6, 10, 10)
    assert s[1].macs == 8 * 25 * (6 // 2) * 16                # in elements * Cout/groups * k*k
    # transposed: jump halves; rf grows by 1 input step (each output reaches 2 inputs)
    assert s[1].jump == (0.5, 0.5) and s[1].receptive_field == (4, 4)


def test_depthwise_separable_layer():
    s = summary(nn.DepthwiseSeparableConv2d(8, 16, 3, padding=1, bias=False), (8, 10, 10))
    assert [r.name for r in s] == ["depthwise", "pointwise"] and s[0].groups == 8
    assert s.total_macs == 100 * (8 * 9 + 8 * 16)              # (k*k*Cin + Cin*Cout) * positions


def test_conv1d_and_interpolation():
    s = summary(nn.Sequential(nn.Conv1d(2, 3, 5, stride=2), nn.ReLU()), (2, 21))
    assert s[0].output_shape == (1, 3, 9) and s[0].receptive_field == (5,) and s[0].start == (2,)
    if not hasattr(F, "interpolate"):
        return

    class Up(nn.Module):
        def __init__(self, mode):
            super().__init__()
            self.conv, self.out, self.mode = nn.Conv2d(1, 1, 3, stride=2), nn.Identity(), mode

        def forward(self, x):
            return self.out(F.interpolate(self.conv(x), scale_factor=2, mode=self.mode))

    nearest, bilinear = summary(Up("nearest"), (1, 9, 9)), summary(Up("bilinear"), (1, 9, 9))
    # conv 3 s2: rf 3, jump 2, start 1; x2 upsampling halves the jump; nearest copies one input,
    # bilinear mixes two neighbours (rf + jump) and its first output sits at input coordinate 0
    assert nearest["out"].output_shape == (1, 1, 8, 8)
    assert (nearest["out"].receptive_field, nearest["out"].jump, nearest["out"].start) == ((3, 3), (1, 1), (1, 1))
    assert (bilinear["out"].receptive_field, bilinear["out"].jump, bilinear["out"].start) == ((5, 5), (1, 1), (1, 1))


# --------------------------------------------------------------------------- state is left alone

def test_eval_mode_and_state_are_restored():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Dropout(0.5))
    net[1].eval()                                               # a mixed state, to restore as it was
    before = {k: v.copy() for k, v in net.state_dict().items()}
    s = summary(net, (1, 6, 6))
    assert [m.training for m in net.modules()] == [True, True, False, True]
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    assert s.total_params == 20 + 4 and s.buffer_elements == 2 + 2 + 1 and s.non_trainable_params == 0


def test_frozen_parameters_are_non_trainable():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Linear(4, 2))
    net[0].weight.requires_grad = False
    s = summary(net, (1, 6, 6))
    assert (s.total_params, s.trainable_params, s.non_trainable_params) == (20 + 10, 12, 18)
    assert s[0].trainable_params == 2 and s[0].params == 20


def test_patches_are_removed_even_after_a_failure():
    call, apply, pool = Module.__dict__["__call__"], Function.__dict__["apply"], F.max_pool2d
    summary(plain_net(), (3, 16, 16))
    with pytest.raises(ValueError):
        summary(plain_net(), (3, 4, 4))

    class Broken(nn.Module):
        def forward(self, x):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        summary(Broken(), (1, 2, 2))
    assert Module.__dict__["__call__"] is call and Function.__dict__["apply"] is apply and F.max_pool2d is pool


def test_other_threads_are_not_traced():
    net = plain_net()
    seen = []

    class Probe(nn.Module):
        def forward(self, x):
            worker = threading.Thread(target=lambda: seen.append(net(Tensor(np.zeros((1, 3, 16, 16)))).shape))
            worker.start()
            worker.join()
            return x

    s = summary(Probe(), (1, 2, 2))
    assert len(s) == 1 and seen == [(1, 10)]


def test_unused_layers_are_noted():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.used, self.spare = nn.Conv2d(1, 1, 1), nn.Linear(3, 3)

        def forward(self, x):
            return self.used(x)

    s = summary(Net(), (1, 4, 4))
    assert s.total_params == 2 + 12 and any("did not call: spare" in n for n in s.notes)


# --------------------------------------------------------------------------- errors

def test_too_small_input_names_the_layer():
    with pytest.raises(ValueError, match=r"summary: input 3x4x4 is too small for 3 \(Conv2d\): its input is 8x2x2 "
                                         r"and kernel 3 leaves no output along H: "
                                         r"out = floor\(\(2 \+ 2\*0 - 1\*\(3-1\) - 1\) / 2\) \+ 1 = 0"):
        summary(plain_net(), (3, 4, 4))
    deep = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.MaxPool2d(2), nn.MaxPool2d(2), nn.MaxPool2d(2))
    with pytest.raises(ValueError, match=r"too small for 3 \(MaxPool2d\): its input is 2x1x1 and kernel 2"):
        summary(deep, (1, 5, 5))


def test_other_forward_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"summary: input 3x20x20 does not fit 5 \(Linear\), whose input is 256: "
                                         r"linear: input expects 144 features"):
        summary(plain_net(), (3, 20, 20))
    with pytest.raises(ValueError, match=r"does not fit 0 \(Conv2d\), whose input is 1x16x16: conv2d: weight expects "
                                         r"3 input channels"):
        summary(plain_net(), (1, 16, 16))


@pytest.mark.parametrize("args, error, match", [
    ((np.zeros(3), (3, 8, 8)), TypeError, r"summary: model expects a convscope.nn.Module, but got ndarray"),
    ((None, "3xx8"), ValueError, r"summary: input_shape expects sizes joined by 'x'"),
    ((None, (3, 0, 8)), ValueError, r"summary: input_shape expects positive sizes"),
    ((None, ()), ValueError, r"input_shape expects at least one size"),
    ((None, 3), TypeError, r"input_shape expects a tuple of ints"),
    ((None, (3, 8.0, 8)), TypeError, r"input_shape expects integer sizes"),
])
def test_argument_errors(args, error, match):
    model, shape = args
    with pytest.raises(error, match=match):
        summary(plain_net() if model is None else model, shape)


def test_batch_and_dtype_errors():
    with pytest.raises(ValueError, match=r"summary: batch_size expects a positive integer, but got 0"):
        summary(plain_net(), (3, 16, 16), batch_size=0)
    with pytest.raises(TypeError, match=r"summary: dtype expects a floating dtype .* but got int64"):
        summary(plain_net(), (3, 16, 16), dtype=np.int64)


def test_lookup():
    s = summary(plain_net(), (3, 16, 16))
    assert s["3"] is s[3] and len(s) == 6 and s.batch_size == 1
    with pytest.raises(KeyError, match="no layer named 'fc'"):
        s["fc"]


def test_pooling_bound_before_tracing_is_seen_by_its_op_record():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.out = nn.Conv2d(1, 1, 3), nn.Identity()

        def forward(self, x):
            return self.out(bound_max_pool2d(self.conv(x), 2))

    s = summary(Net(), (1, 10, 10))
    assert s["out"].output_shape == (1, 1, 4, 4)
    assert s["out"].receptive_field == (4, 4) and s["out"].jump == (2, 2) and s.notes == ()


def test_merge_rule():
    a = Geometry((3,), (2,), (0.0,))
    b = Geometry((7,), (2,), (0.0,))
    c = Geometry((3,), (2,), (2.0,))                      # window 1..3
    assert Geometry.merge([a, b], (32,)) == (b, None)     # same centre: the larger window
    merged, note = Geometry.merge([a, c], (32,))          # -1..1 and 1..3 -> -1..3
    assert (merged.rf, merged.start, note) == ((5,), (1.0,), None)
    mixed, note = Geometry.merge([a, Geometry((3,), (4,), (0.0,))], (32,))
    assert mixed.jump == (4,) and "different effective strides [(2,), (4,)]" in note
    assert Geometry.merge([a, Geometry.whole((32,))], (32,))[0].kind == "global"
    assert Geometry.merge([a, Geometry.unknown(1)], (32,))[0].kind == "unknown"


def test_an_error_the_model_recovers_from_is_not_blamed():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.big, self.small, self.fc = nn.Conv2d(1, 1, 9), nn.Conv2d(1, 1, 3), nn.Linear(5, 2)

        def forward(self, x):
            try:
                x = self.big(x)                   # too small: the model falls back to the small conv
            except ValueError:
                x = self.small(x)
            return self.fc(x)                     # 4 features, not 5

    with pytest.raises(ValueError, match=r"does not fit fc \(Linear\)"):
        summary(Net(), (1, 6, 6))
