"""F.pad against torch.nn.functional.pad: every mode, values and gradients."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convscope.nn.functional as F
from tests._reference import compare_with_grads, torch


@st.composite
def pad_cases(draw):
    mode = draw(st.sampled_from(["constant", "reflect", "replicate", "circular"]))
    # torch's non-constant modes pad the last 1-3 dims of a (batched or unbatched) input
    m = draw(st.integers(1, 3))
    ndim = m + draw(st.integers(1, 2))
    shape = tuple(draw(st.integers(1, 5)) for _ in range(ndim))
    pad = []
    for size in reversed(shape[-m:]):
        if mode == "constant":
            lo, hi = draw(st.integers(-(size // 2), 3)), draw(st.integers(-(size // 2), 3))
        else:
            top = size - 1 if mode == "reflect" else (size if mode == "circular" else 3)
            lo, hi = draw(st.integers(0, top)), draw(st.integers(0, top))
        pad += [lo, hi]
    return mode, shape, tuple(pad), draw(st.sampled_from([np.float64, np.float32])), draw(st.integers(0, 2**31 - 1))


@settings(max_examples=150)
@given(pad_cases())
def test_pad_matches_torch(case):
    mode, shape, pad, dtype, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    compare_with_grads(lambda t: F.pad(t, pad, mode=mode), lambda t: torch.nn.functional.pad(t, pad, mode=mode),
                       (x,), dtype, rng, what=f"pad {case}")


def test_constant_value_and_plain_arrays():
    got = F.pad(np.ones((2, 2)), (1, 0, 0, 1), value=7.0)
    assert isinstance(got, np.ndarray)
    np.testing.assert_array_equal(got, [[7, 1, 1], [7, 1, 1], [7, 7, 7]])


def test_pad_does_not_modify_its_input():
    x = np.arange(6.0).reshape(2, 3)
    before = x.copy()
    for mode in ("constant", "reflect", "replicate", "circular"):
        out = F.pad(x, (1, 1), mode=mode)
        out[...] = -1
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("pad, mode, match", [
    ((1,), "constant", r"pad: pad expects an even number of values.*got 1"),
    ((1, 1, 1, 1, 1, 1), "constant", r"pad: pad expects at most 4 values for a 2-D input, but got 6"),
    ((1, 1), "mirror", r"pad: mode expects one of 'constant', 'reflect', 'replicate', 'circular', but got 'mirror'"),
    ((3, 0), "reflect", r"pad: pad for mode 'reflect' expects values smaller than the dimension size 3"),
    ((4, 0), "circular", r"pad: pad for mode 'circular' expects values at most the dimension size 3"),
    ((-1, 0), "replicate", r"pad: pad expects non-negative values for mode 'replicate'"),
    ((1.5, 0), "constant", r"pad: pad expects integers"),
    ((-2, -2), "constant", r"would crop dimension 1 of size 3 below zero"),
])
def test_pad_rejects_bad_arguments(pad, mode, match):
    with pytest.raises((ValueError, TypeError), match=match):
        F.pad(np.zeros((2, 3)), pad, mode=mode)


@pytest.mark.parametrize("n, before, after", [(4, 2, 2), (1, 3, 2), (3, 7, 5), (5, 0, 4)])
def test_symmetric_mode_matches_numpy(n, before, after):
    """'symmetric' (the edge repeated: SciPy's 'symm', cv2.BORDER_REFLECT) for pads of any length."""
    from convscope.ops import pad as P
    x = np.arange(float(n)) + 1
    want = np.pad(x, (before, after), mode="symmetric")
    np.testing.assert_array_equal(x[P.source_index("symmetric", n, before, after)], want)
    np.testing.assert_array_equal(P.pad(x, [(before, after)], "symmetric"), want)
    assert "symmetric" not in P.MODES                      # not a PyTorch mode
