"""Receptive-field recurrences: hand-derived values, published values, and the gradient's support."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import convscope.nn.functional as F
from convscope import Tensor
from convscope.analysis import receptive_field


def test_two_3x3_convs_see_5_pixels():
    # rf = 1 + (3-1)*1 = 3, then 3 + (3-1)*1 = 5; stride 1 keeps jump 1.
    r = receptive_field([(3, 1, 1), (3, 1, 1)])
    assert [(s.rf, s.jump) for s in r] == [(3, 1), (5, 1)]
    assert r.start == 0.0                       # padding 1 centres each window on its own pixel


def test_strided_conv_doubles_what_the_next_layer_adds():
    # 3x3 s2: rf 3, jump 2; then 3x3: rf 3 + (3-1)*2 = 7, jump 2.
    r = receptive_field([(3, 2), (3, 1)])
    assert (r.rf, r.jump) == (7, 2)
    # No padding: the first window is centred on pixel 1, then 1 + (1 - 0)*2 = 3.
    assert [s.start for s in r] == [1.0, 3.0]


def test_dilation_spreads_the_taps():
    # k_eff = 2*(3-1) + 1 = 5.
    assert receptive_field([(3, 1, 0, 2)]).rf == 5
    assert receptive_field([(3, 1, 2, 2), (3, 1, 4, 4)]).rf == 5 + 8      # 1 + 4 + 8 = 13 (WaveNet-like)


def test_vgg16_pool5_matches_the_published_table():
    # VGG-16: blocks of 2, 2, 3, 3, 3 convs 3x3 (padding 1), each followed by a 2x2 max pool, stride 2.
    # A 3x3 conv adds 2*jump to the rf, a 2x2 pool adds 1*jump and doubles the jump:
    #   block 1 (jump 1):  1 + 2*2 = 5,   pool -> 6,   jump 2
    #   block 2 (jump 2):  6 + 2*4 = 14,  pool -> 16,  jump 4
    #   block 3 (jump 4):  16 + 3*8 = 40, pool -> 44,  jump 8
    #   block 4 (jump 8):  44 + 3*16 = 92, pool -> 100, jump 16
    #   block 5 (jump 16): 100 + 3*32 = 196, pool -> 212, jump 32
    # Convs with padding 1 keep the window centred; each pool moves the centre by 0.5*jump_in:
    # start = 0.5*(1 + 2 + 4 + 8 + 16) = 15.5, so the effective padding (rf-1)/2 - start = 105.5 - 15.5
    # = 90, as in google-research/receptive_field's table (rf 212, effective stride 32, padding 90).
    chain = []
    for convs in (2, 2, 3, 3, 3):
        chain += [(3, 1, 1)] * convs + [(2, 2, 0)]
    r = receptive_field(chain)
    assert (r.rf, r.jump, r.start, r.effective_padding) == (212, 32, 15.5, 90)
    pools = [s for s in r if s.kernel == 2]
    assert [s.rf for s in pools] == [6, 16, 44, 100, 212]
    assert r.start == -90 + (212 - 1) / 2


def test_specs_in_every_form_agree():
    tuples = receptive_field([(7, 2, 3), (3, 2, 1, 1)])
    dicts = receptive_field([{"kernel": 7, "stride": 2, "padding": 3}, {"kernel": 3, "stride": 2, "padding": 1}])
    assert [(s.rf, s.jump, s.start) for s in tuples] == [(s.rf, s.jump, s.start) for s in dicts] == [
        (7, 2, 0.0), (11, 4, 0.0)]                                   # ResNet's stem: conv1 + max pool
    assert receptive_field([3, 3]).rf == 5
    assert len(receptive_field([])) == 0 and receptive_field([]).rf == 1


def test_explain_and_table():
    step = receptive_field([(3, 2), (3, 1, 1)])[1]
    assert step.explain().splitlines() == [
        "k_eff = 1*(3-1) + 1 = 3", "jump = 2*1 = 2", "rf = 3 + (3-1)*2 = 7", "start = 1 + ((3-1)/2 - 1)*2 = 1"]
    table = str(receptive_field([(3, 2), (3, 1, 1)]))
    assert "rf_out = rf_in + (k_eff - 1) * jump_in" in table and "start" in table.splitlines()[0]


@pytest.mark.parametrize("layers, error, match", [
    ("3x3", TypeError, r"receptive_field: layers expects a sequence"),
    ([(3, 1, "same")], ValueError, r"layers\[0\] padding expects an int"),
    ([(3, 0)], ValueError, r"layers\[0\] stride expects a positive integer, but got 0"),
    ([(3, 1, -1)], ValueError, r"layers\[0\] padding expects an integer >= 0"),
    ([(3, 1), (3, 1, 0, 1, 9)], TypeError, r"layers\[1\] expects a \(kernel, stride, padding, dilation\) tuple"),
    ([{"k": 3}], ValueError, r"layers\[0\] expects a dict with 'kernel'"),
    ([(3.0,)], TypeError, r"layers\[0\] kernel expects an integer"),
])
def test_receptive_field_errors(layers, error, match):
    with pytest.raises(error, match=match):
        receptive_field(layers)


layer = st.tuples(st.integers(1, 5), st.integers(1, 3), st.integers(0, 2), st.integers(1, 3))


@given(chain=st.lists(layer, min_size=1, max_size=4), avg=st.lists(st.booleans(), min_size=4, max_size=4))
def test_recurrences_match_the_gradient_support(chain, avg):
    """Push a long 1-D signal through convs (all-ones weights) and average pools; the input pixels
    with a non-zero gradient for one interior output span exactly the predicted window."""
    for k, s, p, d in chain:
        assume(p <= k // 2)                      # also valid for pools
    size = 400
    x = Tensor(np.ones((1, 1, size)), requires_grad=True)
    y = x
    for (k, s, p, d), pool in zip(chain, avg):
        try:
            if pool and d == 1:
                y = F.avg_pool1d(y, k, s, p)
            else:
                y = F.conv1d(y, Tensor(np.ones((1, 1, k))), stride=s, padding=p, dilation=d)
        except ValueError:                       # strided down to less than a kernel
            assume(False)
    r = receptive_field(chain)
    n = y.shape[-1]
    inside = [i for i in range(n) if r.start + i * r.jump - (r.rf - 1) / 2 >= 0
              and r.start + i * r.jump + (r.rf - 1) / 2 <= size - 1]
    assume(inside)
    i = inside[len(inside) // 2]
    grad = np.zeros(y.shape)
    grad[0, 0, i] = 1
    y.backward(grad)
    support = np.flatnonzero(x.grad[0, 0])
    centre = r.start + i * r.jump
    assert support.min() == centre - (r.rf - 1) / 2
    assert support.max() == centre + (r.rf - 1) / 2
