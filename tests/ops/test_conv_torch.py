import pytest
"""Property-based parity with PyTorch: forward and every gradient, over ranks, shapes and options.

Hypothesis draws rank (1-3), batch (or unbatched), channels, groups, kernel sizes, stride,
padding (int, tuple, 'same', 'valid'), dilation and padding mode for the conv, and stride,
padding, output_padding, dilation and groups for the transposed conv; dtype float64 (checked to
1e-10) or float32 (checked to 1e-4 relative to the result's magnitude). 320 + 260 cases a run.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import convscope.nn.functional as F
from tests._reference import compare_with_grads, torch

# Each parity case runs with every conv algorithm forced in turn (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("each_conv_algorithm")

CS_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CS_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
PT_CONV_T = {1: torch.nn.functional.conv_transpose1d, 2: torch.nn.functional.conv_transpose2d,
             3: torch.nn.functional.conv_transpose3d}
DTYPES = st.sampled_from([np.float64, np.float32])


def tf_same_padding(size, k, s, d):
    """TensorFlow's 'SAME' rule, written independently of convscope: out = ceil(size / s)."""
    out = (size + s - 1) // s
    total = max((out - 1) * s + d * (k - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def torch_conv(x, w, b, n, stride, padding, dilation, groups, padding_mode):
    """PyTorch's ConvNd module with the given weights; 'same' with stride > 1 via an explicit pad."""
    if padding == "same" and max(stride) > 1:
        pairs = [tf_same_padding(size, k, s, d)
                 for size, k, s, d in zip(x.shape[-n:], w.shape[2:], stride, dilation)]
        flat = [p for pair in reversed(pairs) for p in pair]
        mode = "constant" if padding_mode == "zeros" else padding_mode
        x = torch.nn.functional.pad(x, flat, mode=mode)
        padding, padding_mode = 0, "zeros"
    conv = getattr(torch.nn, f"Conv{n}d")(
        w.shape[1] * groups, w.shape[0], tuple(w.shape[2:]), stride=stride, padding=padding,
        dilation=dilation, groups=groups, bias=b is not None, padding_mode=padding_mode, dtype=w.dtype)
    # Replace the module's parameters by our leaves so gradients land on them.
    del conv.weight
    conv.weight = w
    if b is not None:
        del conv.bias
        conv.bias = b
    return conv(x)


@st.composite
def conv_cases(draw):
    n = draw(st.integers(1, 3))
    small = n == 3
    groups = draw(st.integers(1, 3))
    cin = groups * draw(st.integers(1, 2 if small else 3))
    cout = groups * draw(st.integers(1, 2 if small else 3))
    kernel = tuple(draw(st.integers(1, 3 if small else 4)) for _ in range(n))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(n))
    dilation = tuple(draw(st.integers(1, 2 if small else 3)) for _ in range(n))
    kind = draw(st.sampled_from(["int", "tuple", "same", "valid"]))
    if kind == "int":
        padding = draw(st.integers(0, 2))
        pads = (padding,) * n
    elif kind == "tuple":
        pads = padding = tuple(draw(st.integers(0, 2)) for _ in range(n))
    else:
        padding, pads = kind, (0,) * n
    mode = draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
    spatial = []
    for k, d, p in zip(kernel, dilation, pads):
        span = d * (k - 1) + 1
        low = max(1, span - 2 * p, p + 1)  # fits once padded; reflect needs pad < size
        if kind == "same":
            low = max(low, span)  # reflect needs the same-padding (<= span // 2 + 1) < size
        spatial.append(draw(st.integers(low, low + (2 if small else 5))))
    batch = draw(st.sampled_from([None, 1, 2]))
    bias = draw(st.booleans())
    dtype = draw(DTYPES)
    seed = draw(st.integers(0, 2**31 - 1))
    return dict(n=n, groups=groups, cin=cin, cout=cout, kernel=kernel, stride=stride, dilation=dilation,
                padding=padding, mode=mode, spatial=tuple(spatial), batch=batch, bias=bias, dtype=dtype, seed=seed)


@settings(max_examples=320)
@given(conv_cases())
def test_conv_matches_torch(case):
    rng = np.random.default_rng(case["seed"])
    n, dtype = case["n"], case["dtype"]
    shape = ((case["batch"],) if case["batch"] else ()) + (case["cin"],) + case["spatial"]
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((case["cout"], case["cin"] // case["groups"]) + case["kernel"]).astype(dtype)
    b = rng.standard_normal(case["cout"]).astype(dtype) if case["bias"] else None
    opts = dict(stride=case["stride"], padding=case["padding"], dilation=case["dilation"], groups=case["groups"])
    compare_with_grads(
        lambda x_, w_, b_: CS_CONV[n](x_, w_, b_, padding_mode=case["mode"], **opts),
        lambda x_, w_, b_: torch_conv(x_, w_, b_, n, padding_mode=case["mode"], **opts),
        (x, w, b), dtype, rng, what=f"conv{n}d {case}")


@st.composite
def conv_transpose_cases(draw):
    n = draw(st.integers(1, 3))
    small = n == 3
    groups = draw(st.integers(1, 3))
    cin = groups * draw(st.integers(1, 2 if small else 3))
    cout = groups * draw(st.integers(1, 2 if small else 3))
    kernel = tuple(draw(st.integers(1, 3 if small else 4)) for _ in range(n))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(n))
    dilation = tuple(draw(st.integers(1, 2 if small else 3)) for _ in range(n))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    spatial = tuple(draw(st.integers(1, 3 if small else 6)) for _ in range(n))
    # padding may not eat the whole output: (n-1)s + d(k-1) + op + 1 - 2p >= 1
    padding = tuple(
        draw(st.integers(0, min(2, ((m - 1) * s + d * (k - 1) + op) // 2)))
        for m, s, d, k, op in zip(spatial, stride, dilation, kernel, output_padding))
    batch = draw(st.sampled_from([None, 1, 2]))
    return dict(n=n, groups=groups, cin=cin, cout=cout, kernel=kernel, stride=stride, dilation=dilation,
                padding=padding, output_padding=output_padding, spatial=spatial, batch=batch,
                bias=draw(st.booleans()), dtype=draw(DTYPES), seed=draw(st.integers(0, 2**31 - 1)))


@settings(max_examples=260)
@given(conv_transpose_cases())
def test_conv_transpose_matches_torch(case):
    rng = np.random.default_rng(case["seed"])
    n, dtype = case["n"], case["dtype"]
    shape = ((case["batch"],) if case["batch"] else ()) + (case["cin"],) + case["spatial"]
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((case["cin"], case["cout"] // case["groups"]) + case["kernel"]).astype(dtype)
    b = rng.standard_normal(case["cout"]).astype(dtype) if case["bias"] else None
    args = (case["stride"], case["padding"], case["output_padding"], case["groups"], case["dilation"])
    compare_with_grads(
        lambda x_, w_, b_: CS_CONV_T[n](x_, w_, b_, *args),
        lambda x_, w_, b_: PT_CONV_T[n](x_, w_, b_, *args),
        (x, w, b), dtype, rng, what=f"conv_transpose{n}d {case}")
