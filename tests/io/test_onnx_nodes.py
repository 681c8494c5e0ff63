"""convscope.onnx.load, op by op: every op in ``convscope.onnx.IMPORTED`` on small single-node (or
few-node) graphs built with ``onnx.helper``, run in onnxruntime and in convscope and compared
(float32 within 1e-5 of the output's largest magnitude, integers exactly), across the attributes
and opset forms exporters write. Each graph passes ``onnx.checker.check_model(full_check=True)``
first. Each model is run twice in convscope: on NumPy arrays (the arrays path) and on
``convscope.Tensor`` inputs (the autograd path). Where onnxruntime strays from the ONNX spec
(SAME padding with dilations), the spec's explicit pads are the reference.

Also: the shape-arithmetic pattern at two input sizes, gradients against finite differences and
against the same model built from ``convscope.nn`` layers, Parameters of the imported layers, and
the ``ValueError`` for what convscope cannot run.
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import convscope
from convscope import nn

onnx = pytest.importorskip("onnx", reason="the onnx extra is not installed")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from convscope import onnx as cs_onnx  # noqa: E402

FLOAT, DOUBLE, INT64, INT32, BOOL = TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.INT64, TensorProto.INT32, \
    TensorProto.BOOL
INT64_MAX = np.iinfo(np.int64).max
HYP = settings(max_examples=25, deadline=None)


# =========================================================================== helpers

def _rng(seed=0):
    return np.random.default_rng(seed)


def randn(*shape, seed=0, dtype=np.float32):
    return _rng(seed).standard_normal(shape).astype(dtype)


def make(nodes, inputs, outputs, inits=None, opset=13, check=True):
    """A checked ModelProto: inputs {name: (elem_type, shape)}, outputs {name: elem_type or (elem_type,
    shape)} (or a list of names, FLOAT), initializers {name: array}; shapes not given come from shape
    inference."""
    if isinstance(outputs, (list, tuple)):
        outputs = {name: FLOAT for name in outputs}
    outputs = {n: t if isinstance(t, tuple) else (t, None) for n, t in outputs.items()}
    graph = helper.make_graph(
        list(nodes), "g",
        [helper.make_tensor_value_info(n, t, s) for n, (t, s) in inputs.items()],
        [helper.make_tensor_value_info(n, t, s) for n, (t, s) in outputs.items()],
        initializer=[numpy_helper.from_array(np.asarray(v), n) for n, v in (inits or {}).items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              ir_version=10 if opset >= 21 else 8)
    if check:                                    # the outputs' shapes (required) from ONNX's shape inference
        model = onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
        onnx.checker.check_model(model, full_check=True)
    return model


def single(op, feeds, inits=None, opset=13, outputs=("y",), out_type=FLOAT, input_names=None, out_shape=None,
           **attrs):
    """A one-node model reading ``feeds`` (graph inputs, shapes from the arrays) and ``inits``;
    ``input_names`` orders the node's inputs ('' for an absent optional one)."""
    names = list(input_names) if input_names is not None else list(feeds) + list(inits or {})
    node = helper.make_node(op, names, list(outputs), **attrs)
    inputs = {n: (helper.np_dtype_to_tensor_dtype(v.dtype), list(v.shape)) for n, v in feeds.items()}
    return make([node], inputs, {o: out_type if out_shape is None else (out_type, out_shape) for o in outputs},
                inits, opset)


def ort_run(model, feeds):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def _as_array(value):
    return value.data if isinstance(value, convscope.Tensor) else np.asarray(value)


def cs_run(loaded, feeds, tensors=False):
    """convscope's outputs (a list of arrays) on the feeds as arrays, or floats as Tensors."""
    args = [convscope.Tensor(v) if tensors and v.dtype.kind == "f" else v for v in feeds.values()]
    with convscope.no_grad():
        out = loaded(*args)
    return [_as_array(o) for o in (out if isinstance(out, tuple) else (out,))]


def assert_same(got, want, what=""):
    assert got.shape == want.shape, f"{what}: shape {got.shape} != onnxruntime's {want.shape}"
    if want.dtype.kind == "f":
        assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != onnxruntime's {want.dtype}"
        scale = float(np.abs(want).max()) if want.size else 1.0
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * max(scale, 1e-3), err_msg=what,
                                   equal_nan=False)
    else:
        assert got.dtype.kind == want.dtype.kind, f"{what}: dtype {got.dtype} != onnxruntime's {want.dtype}"
        np.testing.assert_array_equal(got, want, err_msg=what)


def check(model, feeds, tensors=True):
    """Run in onnxruntime and in convscope (arrays, and Tensors), assert they agree; the loaded model."""
    want = ort_run(model, feeds)
    loaded = cs_onnx.load(model.SerializeToString())
    for kind in (False, True) if tensors else (False,):
        got = cs_run(loaded, feeds, tensors=kind)
        assert len(got) == len(want)
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, f"output {i} ({'Tensor' if kind else 'array'} input)")
    return loaded


def check_single(op, feeds, inits=None, opset=13, **kw):
    return check(single(op, feeds, inits, opset, **kw), feeds)


# =========================================================================== Conv

@st.composite
def conv_cases(draw, transpose=False):
    rank = draw(st.sampled_from([1, 2, 2, 2, 3]))
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    per_in = draw(st.integers(1, 2))
    per_out = draw(st.integers(1, 2))
    depthwise = not transpose and draw(st.booleans()) and groups > 1
    if depthwise:
        per_in = 1
    cin, cout = groups * per_in, groups * per_out
    small = rank == 3
    kernel = [draw(st.integers(1, 2 if small else 3)) for _ in range(rank)]
    stride = [draw(st.integers(1, 2 if small else 3)) for _ in range(rank)]
    dilation = [draw(st.integers(1, 2)) for _ in range(rank)]
    size = [draw(st.integers((k - 1) * d + 1, (k - 1) * d + (4 if small else 6))) for k, d in zip(kernel, dilation)]
    auto = draw(st.sampled_from(["NOTSET", "NOTSET", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]))
    if auto.startswith("SAME") and not transpose:  # onnxruntime has no dilated SAME Conv: test_same_with_dilations
        dilation = [1] * rank
    if auto.startswith("SAME") and transpose:     # a window shorter than the stride makes the SAME pads negative,
        # where onnxruntime (an output shorter than in * stride) and onnx.reference (zeros first) disagree
        stride = [min(s, (k - 1) * d + 1) for s, k, d in zip(stride, kernel, dilation)]
    attrs = {"kernel_shape": kernel}
    if draw(st.booleans()) or stride != [1] * rank:
        attrs["strides"] = stride
    if dilation != [1] * rank:
        attrs["dilations"] = dilation
    if groups > 1:
        attrs["group"] = groups
    if auto != "NOTSET":
        attrs["auto_pad"] = auto
    else:
        symmetric = draw(st.booleans())
        begin = [draw(st.integers(0, k - 1 if not transpose else max(0, (k - 1) * d))) for k, d in
                 zip(kernel, dilation)]
        end = begin if symmetric else [draw(st.integers(0, max(0, (k - 1) * d if transpose else k - 1)))
                                       for k, d in zip(kernel, dilation)]
        if any(begin + end) or draw(st.booleans()):
            attrs["pads"] = begin + end
    if transpose and auto == "NOTSET":
        attrs["output_padding"] = [draw(st.integers(0, s - 1)) for s in stride]      # onnxruntime: < stride
        if not any(attrs["output_padding"]) and draw(st.booleans()):
            del attrs["output_padding"]
        if draw(st.integers(0, 3)) == 0:                   # output_shape instead of pads (output_padding still counts)
            attrs.pop("pads", None)
            full = [(n - 1) * s + (k - 1) * d + 1 for n, s, k, d in zip(size, stride, kernel, dilation)]
            attrs["output_shape"] = [draw(st.integers(max(1, f - (k - 1) * d), f + s - 1))
                                     for f, s, k, d in zip(full, stride, kernel, dilation)]
    bias = draw(st.booleans())
    batch = draw(st.integers(1, 2))
    seed = draw(st.integers(0, 2 ** 16))
    return rank, cin, cout, groups, kernel, size, attrs, bias, batch, seed


@HYP
@given(conv_cases())
def test_conv_matches_onnxruntime(case):
    """Conv 1-D/2-D/3-D: groups (depthwise too), strides, dilations, pads, auto_pad, bias."""
    rank, cin, cout, groups, kernel, size, attrs, bias, batch, seed = case
    x = randn(batch, cin, *size, seed=seed)
    inits = {"w": randn(cout, cin // groups, *kernel, seed=seed + 1)}
    if bias:
        inits["b"] = randn(cout, seed=seed + 2)
    loaded = check_single("Conv", {"x": x}, inits, opset=11, **attrs)
    (layer,) = loaded.children()
    assert type(layer).__name__ == f"OnnxConv{rank}d"


@HYP
@given(conv_cases(transpose=True))
def test_conv_transpose_matches_onnxruntime(case):
    """ConvTranspose: strides, pads (asymmetric too), output_padding, output_shape, dilations, group, SAME_*."""
    rank, cin, cout, groups, kernel, size, attrs, bias, batch, seed = case
    x = randn(batch, cin, *size, seed=seed)
    inits = {"w": randn(cin, cout // groups, *kernel, seed=seed + 1)}
    if bias:
        inits["b"] = randn(cout, seed=seed + 2)
    check_single("ConvTranspose", {"x": x}, inits, opset=11, **attrs)


@pytest.mark.parametrize("opset", [7, 11, 13, 21])
def test_conv_at_each_opset(opset):
    """A 2-D Conv with bias, stride 2 and pads loads and agrees at opsets 7 to 21."""
    x = randn(2, 3, 9, 8)
    check_single("Conv", {"x": x}, {"w": randn(4, 3, 3, 3, seed=1), "b": randn(4, seed=2)}, opset=opset,
                 strides=[2, 2], pads=[1, 0, 1, 2])


def test_conv_transpose_output_shape_past_the_last_window():
    """ConvTranspose with an output_shape longer than the windows reach: zeros (plus bias) at the end."""
    x = randn(1, 2, 2, 3)
    check_single("ConvTranspose", {"x": x}, {"w": randn(2, 3, 1, 2, seed=1), "b": randn(3, seed=2)}, opset=11,
                 strides=[3, 2], output_shape=[6, 7])


def test_conv_without_kernel_shape_attribute():
    """kernel_shape is optional: taken from the weight."""
    check_single("Conv", {"x": randn(1, 2, 6, 6)}, {"w": randn(3, 2, 2, 3, seed=1)})


# =========================================================================== BatchNormalization

@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 5), (2, 3, 4, 5), (1, 3, 2, 3, 4)])
@pytest.mark.parametrize("opset", [7, 9, 14, 15])
def test_batch_normalization(shape, opset):
    """BatchNormalization in inference, rank 2 to 5, with the file's epsilon and statistics."""
    c = shape[1]
    inits = {"scale": randn(c, seed=1), "bias": randn(c, seed=2), "mean": randn(c, seed=3),
             "var": (0.5 + _rng(4).random(c)).astype(np.float32)}
    loaded = check_single("BatchNormalization", {"x": randn(*shape)}, inits, opset=opset, epsilon=1e-3)
    (layer,) = loaded.children()
    assert isinstance(layer, nn.BatchNorm2d) and not layer.training


# =========================================================================== pools

@st.composite
def pool_cases(draw):
    op = draw(st.sampled_from(["MaxPool", "AveragePool"]))
    rank = draw(st.sampled_from([1, 2, 2, 3]))
    kernel = [draw(st.integers(1, 3 if rank < 3 else 2)) for _ in range(rank)]
    dilation = [draw(st.integers(1, 2)) for _ in range(rank)] if op == "MaxPool" else [1] * rank
    size = [draw(st.integers((k - 1) * d + 1, (k - 1) * d + 6)) for k, d in zip(kernel, dilation)]
    attrs = {"kernel_shape": kernel}
    if draw(st.booleans()):
        attrs["strides"] = [draw(st.integers(1, 3)) for _ in range(rank)]
    if dilation != [1] * rank:
        attrs["dilations"] = dilation
    auto = draw(st.sampled_from(["NOTSET", "NOTSET", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]))
    if auto.startswith("SAME"):
        attrs.pop("dilations", None)              # onnxruntime's SAME ignores dilations: see test_same_with_dilations
        if "strides" in attrs:                    # onnxruntime refuses a SAME stride longer than the kernel
            attrs["strides"] = [min(s, k) for s, k in zip(attrs["strides"], kernel)]
    if auto != "NOTSET":
        attrs["auto_pad"] = auto
    else:
        begin = [draw(st.integers(0, k // 2 if draw(st.booleans()) else k - 1)) for k in kernel]
        end = begin if draw(st.booleans()) else [draw(st.integers(0, k - 1)) for k in kernel]
        if any(begin + end):
            attrs["pads"] = begin + end
        if draw(st.booleans()):
            attrs["ceil_mode"] = 1
    if op == "AveragePool" and draw(st.booleans()):
        attrs["count_include_pad"] = 1
    return op, rank, size, attrs, draw(st.integers(0, 2 ** 16))


@HYP
@given(pool_cases())
def test_pools_match_onnxruntime(case):
    """MaxPool/AveragePool 1-D to 3-D: strides (default 1), pads (asymmetric too), ceil_mode,
    count_include_pad, dilations (MaxPool), auto_pad."""
    op, rank, size, attrs, seed = case
    check_single(op, {"x": randn(2, 3, *size, seed=seed)}, opset=19 if "dilations" in attrs or
                 attrs.get("ceil_mode") else 11, **attrs)


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
@pytest.mark.parametrize("include", [0, 1])
def test_pool_ceil_mode_with_asymmetric_pads(op, include):
    """ceil_mode with asymmetric pads: a last window starting in the end padding is dropped."""
    attrs = {"kernel_shape": [2, 3], "strides": [2, 2], "pads": [0, 1, 1, 2], "ceil_mode": 1}
    if op == "AveragePool":
        attrs["count_include_pad"] = include
    check_single(op, {"x": randn(2, 3, 4, 5)}, opset=19, **attrs)


@pytest.mark.parametrize("auto", ["SAME_UPPER", "SAME_LOWER"])
def test_average_pool_same_excludes_the_padding(auto):
    """AveragePool SAME (asymmetric pads) with count_include_pad=0 averages over the input's pixels only."""
    check_single("AveragePool", {"x": randn(1, 2, 5, 6)}, opset=11, kernel_shape=[2, 3], strides=[2, 2], auto_pad=auto)


def test_pool_strides_default_to_one():
    """A pool without strides steps by 1, not by the kernel (unlike PyTorch)."""
    x = randn(1, 2, 5, 6)
    loaded = check_single("MaxPool", {"x": x}, kernel_shape=[2, 2])
    assert cs_run(loaded, {"x": x})[0].shape == (1, 2, 4, 5)


def _same_pads(size, kernel, stride, dilation, upper):
    """The pads ONNX prescribes for auto_pad SAME_*: out = ceil(in / stride), the odd one at the end for UPPER."""
    begin, end = [], []
    for n, k, s, d in zip(size, kernel, stride, dilation):
        total = max(0, (-(-n // s) - 1) * s + (k - 1) * d + 1 - n)
        begin.append(total // 2 if upper else total - total // 2)
        end.append(total - begin[-1])
    return begin + end


@pytest.mark.parametrize("op", ["Conv", "MaxPool"])
@pytest.mark.parametrize("auto, kernel, stride, dilation", [
    ("SAME_UPPER", [2, 3], [1, 2], [3, 2]), ("SAME_LOWER", [3, 2], [2, 1], [2, 2]),
    ("SAME_UPPER", [3, 3], [2, 2], [2, 1]),
])
def test_same_with_dilations_equals_the_spec_pads(op, auto, kernel, stride, dilation):
    """auto_pad SAME with dilations (onnxruntime refuses it for Conv, and ignores the dilations for MaxPool)
    equals the same node with the pads the spec prescribes, run in onnxruntime."""
    x = randn(2, 2, 7, 6)
    inits = {"w": randn(3, 2, *kernel, seed=1)} if op == "Conv" else {}
    attrs = {"kernel_shape": kernel, "strides": stride, "dilations": dilation}
    same = single(op, {"x": x}, inits, opset=12, auto_pad=auto, **attrs)
    pads = _same_pads((7, 6), kernel, stride, dilation, auto == "SAME_UPPER")
    nodes = [helper.make_node("Pad", ["x", "pads", "fill"], ["p"]),        # onnxruntime wants pool pads < kernel
             helper.make_node(op, ["p"] + list(inits), ["y"], **attrs)]
    fill = np.array(0 if op == "Conv" else -np.inf, np.float32)
    explicit = make(nodes, {"x": (FLOAT, [2, 2, 7, 6])}, ["y"],
                    {"pads": np.array([0, 0] + pads[:2] + [0, 0] + pads[2:]), "fill": fill, **inits}, opset=12)
    want = ort_run(explicit, {"x": x})[0]
    assert want.shape[2:] == (-(-7 // stride[0]), -(-6 // stride[1]))
    loaded = cs_onnx.load(same.SerializeToString())
    for tensors in (False, True):
        assert_same(cs_run(loaded, {"x": x}, tensors)[0], want)


@pytest.mark.parametrize("op", ["GlobalAveragePool", "GlobalMaxPool"])
@pytest.mark.parametrize("shape", [(2, 3, 7), (2, 3, 4, 5), (1, 2, 3, 4, 2)])
def test_global_pools(op, shape):
    """GlobalAveragePool/GlobalMaxPool over 1 to 3 spatial dims, keeping them as size 1."""
    check_single(op, {"x": randn(*shape)})


# =========================================================================== Gemm and MatMul

@pytest.mark.parametrize("trans_a, trans_b", [(0, 0), (0, 1), (1, 0), (1, 1)])
@pytest.mark.parametrize("alpha, beta", [(1.0, 1.0), (0.5, 2.0)])
@pytest.mark.parametrize("bias", [None, (5,), (1, 5), (4, 1), (4, 5), (1,)])
def test_gemm_with_constant_weight(trans_a, trans_b, alpha, beta, bias):
    """Gemm: transA/transB, alpha/beta and each broadcast of the bias C, weight an initializer."""
    a = randn(*((3, 4) if trans_a else (4, 3)))
    inits = {"b": randn(*((5, 3) if trans_b else (3, 5)), seed=1)}
    if bias is not None:
        inits["c"] = randn(*bias, seed=2)
    loaded = check_single("Gemm", {"a": a}, inits, opset=11, transA=trans_a, transB=trans_b, alpha=alpha, beta=beta)
    is_linear = type(list(loaded.children())[0]).__name__ == "OnnxLinear"
    assert is_linear == (not trans_a and alpha == beta == 1.0 and (bias is None or bias in ((5,), (1, 5))))


@pytest.mark.parametrize("opset", [7, 9, 11, 13])
def test_gemm_with_both_operands_inputs(opset):
    """Gemm between two graph inputs, bias required before opset 11."""
    a, b = randn(4, 3), randn(5, 3, seed=1)
    check_single("Gemm", {"a": a, "b": b}, {"c": randn(5, seed=2)}, opset=opset, transB=1, alpha=0.7, beta=1.5)


def test_gemm_with_constant_first_operand():
    """Gemm of a constant A by an input B (not a Linear: the weight is on the left)."""
    check_single("Gemm", {"b": randn(3, 5)}, {"a": randn(4, 3, seed=1), "c": randn(5, seed=2)}, opset=11,
                 input_names=["a", "b", "c"])


def test_matmul_with_constant_on_the_left():
    """MatMul of a constant by an input runs as a product (the Linear form needs the weight second)."""
    check_single("MatMul", {"x": randn(2, 4, 3)}, {"w": randn(5, 4, seed=1)}, input_names=["w", "x"])


def test_matmul_2d_constant_weight_is_linear():
    """MatMul of an input by a constant (K, N) weight becomes an OnnxLinear (no bias)."""
    loaded = check_single("MatMul", {"x": randn(3, 4)}, {"w": randn(4, 6, seed=1)})
    (layer,) = loaded.children()
    assert type(layer).__name__ == "OnnxLinear" and layer.bias is None


def test_matmul_3d_input_constant_weight():
    """MatMul of a (B, T, K) input by a constant (K, N) weight: a Linear over the last dim."""
    check_single("MatMul", {"x": randn(2, 3, 4)}, {"w": randn(4, 6, seed=1)})


@pytest.mark.parametrize("sa, sb", [((2, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (3, 4, 2)), ((3, 4), (2, 4, 5)),
                                    ((2, 3, 4), (4, 2))])
def test_matmul_batched_between_inputs(sa, sb):
    """MatMul of two graph inputs, N-d with broadcast batch dims."""
    check_single("MatMul", {"a": randn(*sa), "b": randn(*sb, seed=1)})


@pytest.mark.parametrize("bias_shape, bias_first, x_shape", [((6,), False, (3, 4)), ((1, 6), False, (3, 4)),
                                                       ((6,), True, (3, 4)), ((6,), False, (2, 3, 4))])
def test_matmul_then_bias_add_fuses_into_linear(bias_shape, bias_first, x_shape):
    """MatMul + Add of a constant bias (either side, 2-D or 3-D input) is one OnnxLinear holding the bias."""
    nodes = [helper.make_node("MatMul", ["x", "w"], ["m"]),
             helper.make_node("Add", ["bias", "m"] if bias_first else ["m", "bias"], ["y"])]
    model = make(nodes, {"x": (FLOAT, list(x_shape))}, ["y"], {"w": randn(4, 6, seed=1),
                                                               "bias": randn(*bias_shape, seed=2)})
    loaded = check(model, {"x": randn(*x_shape)})
    (layer,) = loaded.children()
    assert type(layer).__name__ == "OnnxLinear" and layer.bias is not None


@pytest.mark.parametrize("bias_shape", [(6, 6), (6, 1), (1, 1, 6)])
def test_matmul_then_other_add_is_not_fused(bias_shape):
    """A MatMul + Add whose addend is not a (N,)/(1, N) bias stays a MatMul and an Add, both right."""
    nodes = [helper.make_node("MatMul", ["x", "w"], ["m"]), helper.make_node("Add", ["m", "bias"], ["y"])]
    model = make(nodes, {"x": (FLOAT, [6, 6])}, ["y"], {"w": randn(6, 6, seed=1), "bias": randn(*bias_shape, seed=2)})
    loaded = check(model, {"x": randn(6, 6)})
    assert sorted(type(m).__name__ for m in loaded.children()) == ["Add", "OnnxLinear"]


def test_matmul_output_read_twice_is_not_fused():
    """A MatMul whose output feeds a bias Add and another node keeps the Add separate, and both are right."""
    nodes = [helper.make_node("MatMul", ["x", "w"], ["m"]), helper.make_node("Add", ["m", "bias"], ["y"]),
             helper.make_node("Relu", ["m"], ["z"])]
    model = make(nodes, {"x": (FLOAT, [3, 4])}, ["y", "z"], {"w": randn(4, 6, seed=1), "bias": randn(6, seed=2)})
    check(model, {"x": randn(3, 4)})


# =========================================================================== elementwise

@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div"])
@pytest.mark.parametrize("sa, sb", [((2, 3, 4), (2, 3, 4)), ((2, 3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (2, 3)),
                                    ((1, 3, 1, 1), (2, 3, 4, 5))])
def test_binary_broadcasting_between_inputs(op, sa, sb):
    """Add/Sub/Mul/Div of two inputs with NumPy broadcasting."""
    b = randn(*sb, seed=1)
    if op == "Div":
        b = np.where(np.abs(b) < 0.3, 1.0, b).astype(np.float32)
    check_single(op, {"a": randn(*sa), "b": b})


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div"])
@pytest.mark.parametrize("const_first", [False, True])
def test_binary_with_a_constant(op, const_first):
    """Add/Sub/Mul/Div of an input and a constant, constant on either side."""
    c = (1.5 + _rng(3).random((3, 1))).astype(np.float32)
    names = ["c", "x"] if const_first else ["x", "c"]
    check_single(op, {"x": randn(2, 3, 4)}, {"c": c}, input_names=names)


@pytest.mark.parametrize("opset", [7, 13])
def test_binary_at_opset_7(opset):
    """Opset 7 broadcasting (no broadcast attribute) is NumPy's."""
    check_single("Mul", {"a": randn(2, 3, 4), "b": randn(3, 1, seed=1)}, opset=opset)


@pytest.mark.parametrize("exponent", [2.0, 3.0, 0.5, -1.0])
def test_pow_constant_scalar_exponent(exponent):
    """Pow of an input by a constant scalar exponent."""
    x = (0.5 + _rng(0).random((2, 3, 4))).astype(np.float32)
    check_single("Pow", {"x": x}, {"e": np.array(exponent, np.float32)}, opset=13)


def test_pow_int_exponent():
    """Pow (opset 13) of a float input by an int64 scalar exponent."""
    check_single("Pow", {"x": randn(2, 3)}, {"e": np.array(3, np.int64)}, opset=13)


def test_pow_of_a_tensor_by_a_tensor_is_refused_at_run():
    """Pow with an exponent that depends on the input is a ValueError naming the node."""
    loaded = cs_onnx.load(single("Pow", {"x": randn(2, 3), "e": randn(2, 3)}, name="pw").SerializeToString())
    with pytest.raises(ValueError, match=r"Pow node 'pw'.*constant scalar exponent"):
        loaded(convscope.Tensor(randn(2, 3)), convscope.Tensor(randn(2, 3)))


def test_pow_broadcast_between_constants_folds():
    """Pow of two constants (constant-folded), then added to the input."""
    nodes = [helper.make_node("Pow", ["b", "e"], ["p"]), helper.make_node("Add", ["x", "p"], ["y"])]
    model = make(nodes, {"x": (FLOAT, [2, 3])}, ["y"], {"b": np.array([1.5, 2.0, 3.0], np.float32),
                                                         "e": np.array([[2.0], [0.5]], np.float32)})
    check(model, {"x": randn(2, 3)})


@pytest.mark.parametrize("a, b", [([7, -7, 8, -9], [2, 2, -3, -4]), ([224, 225], [32, 32])])
def test_int_div_on_shape_values_truncates(a, b):
    """Div of int64 values truncates toward zero, as onnxruntime does."""
    check_single("Div", {"a": np.array(a, np.int64), "b": np.array(b, np.int64)}, out_type=INT64)


@pytest.mark.parametrize("op", ["Exp", "Log", "Sqrt", "Abs", "Neg", "Reciprocal"])
def test_unary_math(op):
    """Exp/Log/Sqrt/Abs/Neg/Reciprocal elementwise (positive input for Log/Sqrt/Reciprocal)."""
    x = randn(2, 3, 4)
    if op in ("Log", "Sqrt", "Reciprocal"):
        x = (0.2 + np.abs(x)).astype(np.float32)
    check_single(op, {"x": x})


# =========================================================================== activations

@pytest.mark.parametrize("op, attrs, opset", [
    ("Relu", {}, 13), ("Relu", {}, 7), ("Sigmoid", {}, 13), ("Tanh", {}, 13),
    ("LeakyRelu", {}, 13), ("LeakyRelu", {"alpha": 0.2}, 7),
    ("HardSigmoid", {}, 13), ("HardSigmoid", {"alpha": 0.3, "beta": 0.4}, 7),
    ("HardSwish", {}, 14),
])
def test_activations(op, attrs, opset):
    """Relu/Sigmoid/Tanh/LeakyRelu/HardSigmoid/HardSwish with default and given attributes."""
    x = (3 * randn(2, 3, 4, 5)).astype(np.float32)
    check_single(op, {"x": x}, opset=opset, **attrs)


@pytest.mark.parametrize("slope_shape", [(3, 1, 1), (1,), (5,), (1, 3, 4, 5)])
def test_prelu(slope_shape):
    """PRelu with a per-channel, scalar, last-dim and full slope."""
    slope = _rng(5).random(slope_shape).astype(np.float32)
    check_single("PRelu", {"x": randn(2, 3, 4, 5)}, {"slope": slope})


def test_prelu_slope_input_at_opset_7():
    """PRelu at opset 7 with a per-channel slope."""
    check_single("PRelu", {"x": randn(2, 3, 4)}, {"slope": _rng(5).random((3, 1)).astype(np.float32)}, opset=7)


@pytest.mark.parametrize("opset, attrs", [(7, {"min": -0.5, "max": 0.7}), (10, {"min": -0.5}), (10, {"max": 0.3}),
                                          (9, {})])
def test_clip_attribute_form(opset, attrs):
    """Clip before opset 11: min/max attributes (both, one, none)."""
    check_single("Clip", {"x": randn(3, 4)}, opset=opset, **attrs)


@pytest.mark.parametrize("opset", [11, 12, 13])
@pytest.mark.parametrize("low, high", [(-0.5, 0.7), (-0.5, None), (None, 0.3), (None, None), (0.0, 6.0)])
def test_clip_input_form(opset, low, high):
    """Clip from opset 11: min/max as optional constant inputs (both, min only, max only, none)."""
    inits, names = {}, ["x"]
    if low is not None:
        inits["lo"] = np.array(low, np.float32)
    if high is not None:
        inits["hi"] = np.array(high, np.float32)
    names += ["lo" if low is not None else "", "hi"] if high is not None else (["lo"] if low is not None else [])
    check_single("Clip", {"x": (4 * randn(3, 4)).astype(np.float32)}, inits, opset=opset, input_names=names)


def test_clip_of_int_shape_values():
    """Clip (opset 13) of int64 values by int64 bounds stays int64."""
    check_single("Clip", {"x": np.arange(-3, 4, dtype=np.int64)}, {"lo": np.array(-1, np.int64),
                                                                     "hi": np.array(2, np.int64)}, out_type=INT64)


@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("opset, axis, shape", [
    (13, None, (5,)), (11, 0, (5,)),
    (11, 1, (2, 3, 4, 5)), (11, None, (2, 3, 4, 5)), (11, -1, (2, 3, 4)), (11, 0, (2, 3, 4)), (11, 2, (2, 3, 4, 5)),
    (13, 1, (2, 3, 4, 5)), (13, None, (2, 3, 4, 5)), (13, 0, (2, 3, 4)), (13, -2, (2, 3, 4)), (7, 1, (2, 3, 4)),
])
def test_softmax_axis_semantics(op, opset, axis, shape):
    """Softmax/LogSoftmax: before opset 13 over all dims from axis (coerced to 2-D), from 13 over one axis."""
    attrs = {} if axis is None else {"axis": axis}
    check_single(op, {"x": randn(*shape)}, opset=opset, **attrs)


# =========================================================================== shapes

@pytest.mark.parametrize("shape", [[0, -1], [-1, 4], [2, 0, 2, 2], [24], [0, 0, 4]])
def test_reshape(shape):
    """Reshape with 0 (copy that dim) and -1 (inferred)."""
    check_single("Reshape", {"x": randn(2, 3, 4)}, {"s": np.array(shape, np.int64)})


def test_reshape_allowzero():
    """Reshape with allowzero=1 takes a 0 literally (an empty tensor)."""
    x = np.zeros((2, 0, 3), np.float32)
    check_single("Reshape", {"x": x}, {"s": np.array([0, 6], np.int64)}, opset=14, allowzero=1)
    check_single("Reshape", {"x": randn(2, 3, 2)}, {"s": np.array([0, 6], np.int64)}, opset=14, allowzero=0)


@pytest.mark.parametrize("axis", [0, 1, 2, 3, -1, -3])
def test_flatten(axis):
    """Flatten at axis 0, 1, 2, rank, and negative axes."""
    check_single("Flatten", {"x": randn(2, 3, 4)}, opset=13, **({} if axis == 1 else {"axis": axis}))


@pytest.mark.parametrize("perm", [None, [0, 2, 1], [2, 0, 1, 3], [1, 0]])
def test_transpose(perm):
    """Transpose with a perm and with the default (reversed dims)."""
    shape = {None: (2, 3, 4), 3: (2, 3, 4), 4: (2, 3, 4, 5), 2: (2, 3)}[None if perm is None else len(perm)]
    check_single("Transpose", {"x": randn(*shape)}, **({} if perm is None else {"perm": perm}))


@pytest.mark.parametrize("axes", [None, [0], [2, 0], [-1]])
@pytest.mark.parametrize("opset", [11, 13, 21])
def test_squeeze(axes, opset):
    """Squeeze: axes attribute (opset 11) or input (opset 13), and none (every size-1 dim)."""
    x = randn(1, 3, 1)
    if axes is None:
        check_single("Squeeze", {"x": x}, opset=opset)
    elif opset < 13:
        check_single("Squeeze", {"x": x}, opset=opset, axes=axes)
    else:
        check_single("Squeeze", {"x": x}, {"axes": np.array(axes, np.int64)}, opset=opset)


@pytest.mark.parametrize("axes", [[0], [1, 3], [-1], [0, -1], [4, 0]])
@pytest.mark.parametrize("opset", [11, 13, 21])
def test_unsqueeze(axes, opset):
    """Unsqueeze: axes attribute (opset 11) or input (opset 13), negative and unsorted axes."""
    x = randn(2, 3, 4)[..., :2] if len(axes) > 1 else randn(2, 3)
    x = np.ascontiguousarray(x)
    if opset < 13:
        check_single("Unsqueeze", {"x": x}, opset=opset, axes=axes)
    else:
        check_single("Unsqueeze", {"x": x}, {"axes": np.array(axes, np.int64)}, opset=opset)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concat(axis):
    """Concat of two inputs and a constant along an axis (negative too)."""
    shapes = {0: [(2, 3), (1, 3), (3, 3)], 1: [(2, 3), (2, 1), (2, 2)], -1: [(2, 3), (2, 1), (2, 2)]}[axis]
    check_single("Concat", {"a": randn(*shapes[0]), "b": randn(*shapes[1], seed=1)}, {"c": randn(*shapes[2], seed=2)},
                 axis=axis)


def test_concat_of_int_shape_values():
    """Concat of int64 vectors stays int64."""
    check_single("Concat", {"a": np.array([1, 2], np.int64), "b": np.array([3], np.int64)}, out_type=INT64, axis=0)


@pytest.mark.parametrize("starts, ends, axes", [([1], [3], None), ([0, 1], [2, -1], [0, 2]), ([-3], [INT64_MAX], [1]),
                                                 ([1, 0], [1000, 2], [2, 1])])
def test_slice_opset_9_attributes(starts, ends, axes):
    """Slice at opset 9: starts/ends/axes attributes, clamped ends."""
    attrs = {"starts": starts, "ends": ends}
    if axes is not None:
        attrs["axes"] = axes
    unsorted = axes is not None and axes != sorted(axes)           # onnx's Slice-1 shape inference gives up
    check_single("Slice", {"x": randn(4, 5, 6)}, opset=9, out_shape=["a", "b", "c"] if unsorted else None, **attrs)


@pytest.mark.parametrize("starts, ends, axes, steps", [
    ([1], [3], None, None), ([0, 1], [2, -1], [0, 2], None), ([-3], [INT64_MAX], [1], None),
    ([-1], [-INT64_MAX], [2], [-1]), ([4], [0], [2], [-2]), ([0, 5], [INT64_MAX, -100], [0, -1], [2, -1]),
    ([-100], [100], [-2], [3]), ([2], [2], [0], None), ([3], [-7], [1], [-1]),
])
@pytest.mark.parametrize("opset", [10, 13])
def test_slice_input_form(starts, ends, axes, steps, opset):
    """Slice from opset 10: starts/ends/axes/steps inputs, negative starts/ends/steps, INT64 max ends."""
    inits = {"starts": np.array(starts, np.int64), "ends": np.array(ends, np.int64)}
    if axes is not None:
        inits["axes"] = np.array(axes, np.int64)
    if steps is not None:
        inits["steps"] = np.array(steps, np.int64)
    names = ["x", "starts", "ends"] + (["axes" if axes is not None else ""] if steps is not None or axes is not None
                                       else []) + (["steps"] if steps is not None else [])
    check_single("Slice", {"x": randn(4, 5, 6)}, inits, opset=opset, input_names=names)


@pytest.mark.parametrize("indices", [np.array(1), np.array(-1), np.array([0, 2]), np.array([-1, 0, 0]),
                                     np.array([[0, 1], [2, -2]])])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_gather(indices, axis):
    """Gather with scalar, vector and 2-D indices, negative ones too, on each axis."""
    check_single("Gather", {"x": randn(3, 4, 5)}, {"i": indices.astype(np.int64)}, **({} if axis == 0 else
                                                                                      {"axis": axis}))


def test_gather_int32_indices_from_an_input():
    """Gather with int32 indices fed as an input."""
    check_single("Gather", {"x": randn(3, 4), "i": np.array([2, 0], np.int32)}, axis=1)


@pytest.mark.parametrize("opset, split, axis", [(11, [1, 3], 1), (11, None, 0), (13, [2, 1, 2], -1), (13, None, 1),
                                                 (18, None, 2)])
def test_split(opset, split, axis):
    """Split: opset 11 split attribute, opset 13 split input, equal split by outputs, opset 18 num_outputs."""
    x = randn(4, 4, 5)
    n_out = len(split) if split else (3 if opset >= 18 else 2)
    outs = [f"y{i}" for i in range(n_out)]
    inits, attrs, names = {}, {"axis": axis}, ["x"]
    if split is not None and opset < 13:
        attrs["split"] = split
    elif split is not None:
        inits["split"] = np.array(split, np.int64)
        names.append("split")
    if opset >= 18 and split is None:
        attrs["num_outputs"] = n_out
    check_single("Split", {"x": x}, inits, opset=opset, outputs=outs, input_names=names, **attrs)


@pytest.mark.parametrize("attrs", [{}, {"start": 1}, {"end": -1}, {"start": -2, "end": 3}, {"start": 1, "end": 1},
                                   {"start": -10, "end": 10}])
def test_shape(attrs):
    """Shape, and the opset 15 start/end slice of it."""
    check_single("Shape", {"x": randn(2, 3, 4)}, opset=15, out_type=INT64, **attrs)


@pytest.mark.parametrize("source, target", [(np.float32, TensorProto.INT64), (np.float32, TensorProto.DOUBLE),
                                            (np.int64, TensorProto.FLOAT), (np.int64, TensorProto.INT32),
                                            (np.float32, TensorProto.FLOAT), (np.float32, TensorProto.INT32),
                                            (np.float32, TensorProto.BOOL), (np.int64, TensorProto.DOUBLE)])
def test_cast(source, target):
    """Cast between float32, float64, int64, int32 and bool (float to int truncates)."""
    x = (5 * randn(3, 4)).astype(source)
    x[0, 0] = 0
    check_single("Cast", {"x": x}, out_type=target, to=target)


def test_constant_forms():
    """Constant with value (a tensor), value_float(s), value_int(s), each added to the input."""
    nodes = [
        helper.make_node("Constant", [], ["c1"], value=numpy_helper.from_array(randn(3, seed=1))),
        helper.make_node("Constant", [], ["c2"], value_float=0.25),
        helper.make_node("Constant", [], ["c3"], value_floats=[1.0, 2.0, 3.0]),
        helper.make_node("Constant", [], ["c4"], value_int=2),
        helper.make_node("Constant", [], ["c5"], value_ints=[1, 3]),
        helper.make_node("Add", ["x", "c1"], ["a1"]), helper.make_node("Mul", ["a1", "c2"], ["a2"]),
        helper.make_node("Sub", ["a2", "c3"], ["y"]),
        helper.make_node("Shape", ["x"], ["s"]), helper.make_node("Mul", ["s", "c4"], ["s2"]),
        helper.make_node("Add", ["s2", "c5"], ["z"]),
    ]
    model = make(nodes, {"x": (FLOAT, [2, 3])}, {"y": FLOAT, "z": INT64}, opset=13)
    check(model, {"x": randn(2, 3)})


@pytest.mark.parametrize("value", [None, np.array([1.5], np.float32), np.array([7], np.int64),
                                   np.array([-2], np.int32)])
def test_constant_of_shape(value):
    """ConstantOfShape from a Shape: default float zeros, a float value, int values."""
    attrs = {} if value is None else {"value": numpy_helper.from_array(value)}
    out_type = FLOAT if value is None else helper.np_dtype_to_tensor_dtype(value.dtype)
    nodes = [helper.make_node("Shape", ["x"], ["s"]), helper.make_node("ConstantOfShape", ["s"], ["y"], **attrs)]
    model = make(nodes, {"x": (FLOAT, ["N", 3])}, {"y": out_type})
    loaded = check(model, {"x": randn(2, 3)})
    check(model, {"x": randn(4, 3)})
    assert cs_run(loaded, {"x": randn(5, 3)})[0].shape == (5, 3)


def test_constant_of_shape_from_an_int_input():
    """ConstantOfShape of a shape fed as an int64 input."""
    check_single("ConstantOfShape", {"s": np.array([2, 3], np.int64)}, opset=9,
                 value=numpy_helper.from_array(np.array([0.5], np.float32)))


@pytest.mark.parametrize("start, limit, delta, dtype", [(0, 5, 1, np.int64), (10, 2, -3, np.int64),
                                                        (0.5, 3.0, 0.75, np.float32), (2, 2, 1, np.int64),
                                                        (1, 7, 2, np.int32)])
def test_range(start, limit, delta, dtype):
    """Range of ints and floats, counting down, and empty."""
    feeds = {"start": np.array(start, dtype), "limit": np.array(limit, dtype), "delta": np.array(delta, dtype)}
    check_single("Range", feeds, opset=11, out_type=helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))


def test_range_on_a_shape_value():
    """Range up to a dim of the input (Shape -> Gather), as position ids are made."""
    nodes = [helper.make_node("Shape", ["x"], ["s"]), helper.make_node("Gather", ["s", "one"], ["n"]),
             helper.make_node("Range", ["zero", "n", "one"], ["r"]), helper.make_node("Cast", ["r"], ["rf"], to=FLOAT),
             helper.make_node("Add", ["x", "rf"], ["y"])]
    inits = {"zero": np.array(0, np.int64), "one": np.array(1, np.int64)}
    model = make(nodes, {"x": (FLOAT, [2, "W"])}, ["y"], inits, opset=11)
    check(model, {"x": randn(2, 3)})
    check(model, {"x": randn(2, 6)})


@pytest.mark.parametrize("x_shape, shape", [((3, 1), (2, 3, 4)), ((1, 4), (3, 1)), ((2, 3), (1,)), ((4,), (2, 1, 4))])
def test_expand(x_shape, shape):
    """Expand broadcasts both ways (the output is the broadcast of both shapes)."""
    check_single("Expand", {"x": randn(*x_shape)}, {"s": np.array(shape, np.int64)})


@pytest.mark.parametrize("op, opset", [("Identity", 13), ("Dropout", 7), ("Dropout", 12), ("Dropout", 13)])
def test_identity_and_dropout(op, opset):
    """Identity and Dropout (inference: the input unchanged)."""
    check_single(op, {"x": randn(2, 3)}, opset=opset)


def test_dropout_with_ratio_input_and_mask():
    """Dropout at opset 13 with a ratio input and its mask output: x and an all-true mask."""
    node = helper.make_node("Dropout", ["x", "ratio"], ["y", "mask"])
    model = make([node], {"x": (FLOAT, [2, 3])}, {"y": FLOAT, "mask": BOOL}, {"ratio": np.array(0.3, np.float32)})
    check(model, {"x": randn(2, 3)})


def test_dropout_with_an_omitted_mask_output():
    """Dropout written with outputs ["y", ""] (the mask left out) gives y."""
    model = make([helper.make_node("Dropout", ["x"], ["y", ""])], {"x": (FLOAT, [2, 3, 4])}, ["y"], opset=12)
    check(model, {"x": randn(2, 3, 4)})


def test_maxpool_with_an_omitted_indices_output():
    """MaxPool written with outputs ["y", ""] (Indices left out) gives y."""
    model = make([helper.make_node("MaxPool", ["x"], ["y", ""], kernel_shape=[2, 2])], {"x": (FLOAT, [1, 2, 4, 4])},
                 ["y"], opset=12)
    check(model, {"x": randn(1, 2, 4, 4)})


# =========================================================================== Pad

@pytest.mark.parametrize("mode, value", [("constant", 0.0), ("constant", 1.5), ("reflect", None), ("edge", None)])
@pytest.mark.parametrize("pads", [[0, 0, 1, 2, 0, 0, 2, 1], [0, 1, 0, 0, 0, 2, 0, 0], [1, 0, 0, 1, 0, 0, 0, 0]])
@pytest.mark.parametrize("opset", [10, 11, 18, 21])
def test_pad(mode, value, pads, opset):
    """Pad constant (with a value), reflect and edge: opset 10 attributes, opset 11 inputs."""
    x = randn(2, 3, 4, 5)
    attrs = {} if mode == "constant" and value == 0.0 else {"mode": mode}       # constant is the default
    if opset < 11:
        attrs["pads"] = pads
        if value is not None:
            attrs["value"] = value
        check_single("Pad", {"x": x}, opset=opset, **attrs)
        return
    inits, names = {"pads": np.array(pads, np.int64)}, ["x", "pads"]
    if value is not None and value != 0.0:
        inits["v"] = np.array(value, np.float32)
        names.append("v")
    check_single("Pad", {"x": x}, inits, opset=opset, input_names=names, **attrs)


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge", "wrap"])
def test_pad_with_axes_input(mode):
    """Pad at opset 19 (wrap mode too) with an axes input (negative axis too)."""
    inits = {"pads": np.array([1, 2, 2, 0], np.int64), "v": np.array(-1.0, np.float32),
             "axes": np.array([-1, 1], np.int64)}
    names = ["x", "pads", "v" if mode == "constant" else "", "axes"]
    if mode != "constant":
        del inits["v"]
    check_single("Pad", {"x": randn(2, 3, 4)}, inits, opset=19, mode=mode, input_names=names)


def test_pad_of_int_shape_values():
    """Pad of an int64 vector (shape arithmetic) with a constant value stays int64."""
    check_single("Pad", {"s": np.array([2, 3], np.int64)}, {"pads": np.array([1, 2], np.int64),
                                                            "v": np.array(1, np.int64)}, opset=13, out_type=INT64)


def test_pad_negative_pads_crop():
    """Pad constant with negative pads crops."""
    check_single("Pad", {"x": randn(2, 3, 4, 5)}, {"pads": np.array([0, 0, -1, 1, 0, 0, 1, -2], np.int64)}, opset=13)


# =========================================================================== reductions

@pytest.mark.parametrize("op", ["ReduceMean", "ReduceSum", "ReduceMax"])
@pytest.mark.parametrize("axes", [None, [1], [-1], [0, 2], [2, 0]])
@pytest.mark.parametrize("keepdims", [0, 1])
@pytest.mark.parametrize("form", ["attribute", "input", "input-21"])
def test_reductions(op, axes, keepdims, form):
    """ReduceMean/ReduceSum/ReduceMax: axes attribute (before opset 18, 13 for ReduceSum) or input, keepdims 0/1,
    no axes (all dims)."""
    if form == "attribute":
        opset = 11 if op == "ReduceSum" else 13
    else:
        opset = 21 if form == "input-21" else 13 if op == "ReduceSum" else 18
    x = randn(2, 3, 4)
    inits, attrs = {}, {"keepdims": keepdims}
    if axes is not None and form == "attribute":
        attrs["axes"] = axes
    elif axes is not None:
        inits["axes"] = np.array(axes, np.int64)
    check_single(op, {"x": x}, inits, opset=opset, **attrs)


@pytest.mark.parametrize("op", ["ReduceSum", "ReduceMean"])
def test_reduce_noop_with_empty_axes(op):
    """noop_with_empty_axes=1 and no axes: the input unchanged."""
    opset = 13 if op == "ReduceSum" else 18
    check_single(op, {"x": randn(2, 3)}, opset=opset, noop_with_empty_axes=1)


def test_reduce_on_shape_values():
    """ReduceMax/ReduceSum of int64 shape values stays int64."""
    nodes = [helper.make_node("Shape", ["x"], ["s"]), helper.make_node("ReduceMax", ["s"], ["m"], keepdims=0),
             helper.make_node("ReduceSum", ["s"], ["t"], keepdims=1)]
    model = make(nodes, {"x": (FLOAT, [2, 3, 5])}, {"m": INT64, "t": INT64}, opset=11)
    check(model, {"x": randn(2, 3, 5)})


# =========================================================================== Resize and Upsample

def _resize_model(x_shape, opset, mode, scales=None, sizes=None, **attrs):
    inits, names = {}, ["x"]
    if opset < 11:
        inits["scales"] = np.array(scales, np.float32)
        names.append("scales")
    else:
        if opset < 13:
            inits["roi"] = np.array([], np.float32)
        names.append("roi" if opset < 13 else "")
        if scales is not None:
            inits["scales"] = np.array(scales, np.float32)
            names.append("scales")
        else:
            if opset < 13:
                inits["scales"] = np.array([], np.float32)
            names.append("scales" if opset < 13 else "")
            inits["sizes"] = np.array(sizes, np.int64)
            names.append("sizes")
    return single("Resize", {"x": randn(*x_shape)}, inits, opset=opset, input_names=names, mode=mode, **attrs)


@pytest.mark.parametrize("opset", [11, 13, 19])
@pytest.mark.parametrize("x_shape, scales, sizes", [
    ((1, 2, 3, 4), [1, 1, 2, 2], None), ((1, 2, 3, 4), [1, 1, 2, 3], None), ((2, 2, 5), [1, 1, 3], None),
    ((1, 2, 3, 4), None, [1, 2, 6, 8]), ((1, 2, 3, 4), None, [1, 2, 7, 5]), ((1, 2, 4, 6), None, [1, 2, 2, 3]),
    ((1, 1, 2, 3, 2), [1, 1, 2, 2, 2], None), ((1, 2, 7, 9), [1, 1, 1.5, 2.5], None),
    ((1, 2, 7, 9), [1, 1, 0.5, 0.75], None), ((1, 2, 7, 9), None, [1, 2, 13, 4]),
])
def test_resize_nearest_asymmetric_floor(opset, x_shape, scales, sizes):
    """Resize nearest, asymmetric coordinates, floor rounding (PyTorch's nearest), from scales and from sizes."""
    model = _resize_model(x_shape, opset, "nearest", scales, sizes, coordinate_transformation_mode="asymmetric",
                          nearest_mode="floor")
    check(model, {"x": randn(*x_shape)})


@pytest.mark.parametrize("transform", ["half_pixel", "pytorch_half_pixel", "align_corners"])
@pytest.mark.parametrize("x_shape, scales, sizes", [
    ((1, 2, 3, 4), [1, 1, 2, 2], None), ((1, 2, 3, 4), None, [1, 2, 7, 5]), ((1, 2, 6, 8), None, [1, 2, 3, 4]),
    ((2, 3, 5), None, [2, 3, 9]), ((1, 1, 2, 3, 2), None, [1, 1, 3, 5, 4]), ((1, 2, 4, 4), None, [1, 2, 1, 3]),
    ((1, 2, 5, 4), [1, 1, 1.5, 2.5], None), ((1, 2, 4, 3), [1, 1, 0.25, 0.5], None),
])
@pytest.mark.parametrize("opset", [11, 13])
def test_resize_linear(transform, x_shape, scales, sizes, opset):
    """Resize linear with half_pixel, pytorch_half_pixel and align_corners, 1-D to 3-D, up and down."""
    model = _resize_model(x_shape, opset, "linear", scales, sizes, coordinate_transformation_mode=transform)
    check(model, {"x": randn(*x_shape)})


@pytest.mark.parametrize("scales", [[1, 1, 2, 2], [1, 1, 3, 2], [1, 1, 1, 2]])
def test_resize_opset_10_form(scales):
    """Resize at opset 10: scales input, nearest with asymmetric/floor semantics."""
    model = _resize_model((1, 2, 3, 4), 10, "nearest", scales)
    check(model, {"x": randn(1, 2, 3, 4)})


@pytest.mark.parametrize("opset", [7, 8])
def test_upsample_opset_7_scales_attribute(opset):
    """Upsample at opsets 7 and 8: scales as an attribute."""
    check_single("Upsample", {"x": randn(1, 2, 3, 4)}, opset=opset, scales=[1.0, 1.0, 2.0, 3.0], mode="nearest")


@pytest.mark.parametrize("scales", [[1, 1, 2, 2], [1, 1, 2, 3]])
def test_upsample_opset_9_nearest(scales):
    """Upsample at opset 9: nearest from a scales input."""
    check_single("Upsample", {"x": randn(1, 2, 3, 4)}, {"scales": np.array(scales, np.float32)}, opset=9,
                 mode="nearest")


def test_resize_sizes_from_shape_arithmetic():
    """Resize to twice the input's size computed at run time from its Shape (dynamic H, W)."""
    nodes = [helper.make_node("Shape", ["x"], ["s"]), helper.make_node("Mul", ["s", "two"], ["s2"]),
             helper.make_node("Resize", ["x", "", "", "s2"], ["y"], mode="linear",
                              coordinate_transformation_mode="half_pixel")]
    model = make(nodes, {"x": (FLOAT, [1, 2, "H", "W"])}, ["y"], {"two": np.array([1, 1, 2, 2], np.int64)})
    check(model, {"x": randn(1, 2, 3, 4)})
    check(model, {"x": randn(1, 2, 5, 2)})


# =========================================================================== shape arithmetic

def _flatten_by_shape_model():
    """Shape -> Gather(0) -> Unsqueeze -> Concat([n, -1]) -> Reshape, as exporters write x.view(x.size(0), -1),
    then Floor/Ceil of the half-width as float."""
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"]),
        helper.make_node("Concat", ["n1", "minus1"], ["target"], axis=0),
        helper.make_node("Reshape", ["x", "target"], ["flat"]),
        helper.make_node("Relu", ["flat"], ["y"]),
        helper.make_node("Gather", ["s", "three"], ["w"], axis=0),
        helper.make_node("Cast", ["w"], ["wf"], to=FLOAT),
        helper.make_node("Div", ["wf", "two"], ["half"]),
        helper.make_node("Floor", ["half"], ["lo"]), helper.make_node("Ceil", ["half"], ["hi"]),
        helper.make_node("Cast", ["lo"], ["lo_i"], to=INT64), helper.make_node("Cast", ["hi"], ["hi_i"], to=INT64),
        helper.make_node("Div", ["w", "two_i"], ["w2"]),
        helper.make_node("Concat", ["lo_i", "hi_i", "w2"], ["z"], axis=0),
        helper.make_node("Unsqueeze", ["z", "axes0"], ["zz"]),
    ]
    inits = {"zero": np.array(0, np.int64), "three": np.array([3], np.int64), "axes0": np.array([0], np.int64),
             "minus1": np.array([-1], np.int64), "two": np.array(2.0, np.float32), "two_i": np.array(2, np.int64)}
    return make(nodes, {"x": (FLOAT, ["N", 3, "H", "W"])}, {"y": (FLOAT, ["N", "F"]), "zz": (INT64, [1, 3])}, inits,
                opset=13)


def test_shape_arithmetic_at_two_input_sizes():
    """Shape->Gather->Unsqueeze->Concat->Reshape (and Floor/Ceil, int Div on the width) on two input sizes with
    one loaded model."""
    model = _flatten_by_shape_model()
    loaded = cs_onnx.load(model.SerializeToString())
    assert loaded.input_shapes == {"x": (None, 3, None, None)}
    for shape in [(2, 3, 4, 5), (3, 3, 6, 8)]:
        feeds = {"x": randn(*shape)}
        for tensors in (False, True):
            got = cs_run(loaded, feeds, tensors)
            for g, w in zip(got, ort_run(model, feeds)):
                assert_same(g, w, str(shape))


def test_shape_slice_concat_reshape_at_two_input_sizes():
    """Shape->Slice(0:2)->Concat([-1])->Reshape (x.flatten(2)), then Transpose, on two input sizes."""
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Slice", ["s", "zero", "two"], ["lead"]),
             helper.make_node("Concat", ["lead", "minus1"], ["target"], axis=0),
             helper.make_node("Reshape", ["x", "target"], ["flat"]),
             helper.make_node("Transpose", ["flat"], ["y"], perm=[0, 2, 1])]
    inits = {"zero": np.array([0], np.int64), "two": np.array([2], np.int64), "minus1": np.array([-1], np.int64)}
    model = make(nodes, {"x": (FLOAT, ["N", "C", "H", "W"])}, {"y": (FLOAT, ["N", "L", "C"])}, inits)
    loaded = cs_onnx.load(model.SerializeToString())
    for shape in [(1, 3, 4, 5), (2, 4, 3, 2)]:
        feeds = {"x": randn(*shape)}
        for tensors in (False, True):
            assert_same(cs_run(loaded, feeds, tensors)[0], ort_run(model, feeds)[0], str(shape))


def test_shape_arithmetic_runs_inline_not_as_modules():
    """The size arithmetic stays NumPy: only Reshape and Relu are child modules."""
    loaded = cs_onnx.load(_flatten_by_shape_model().SerializeToString())
    assert sorted(type(m).__name__ for m in loaded.children()) == ["Relu", "Reshape"]


def test_constant_subgraph_is_folded():
    """Nodes on constants only are computed at load: no module for them."""
    nodes = [helper.make_node("Mul", ["c", "c"], ["c2"]), helper.make_node("Sqrt", ["c2"], ["c3"]),
             helper.make_node("Add", ["x", "c3"], ["y"])]
    model = make(nodes, {"x": (FLOAT, [2, 3])}, ["y"], {"c": randn(3, seed=3)})
    loaded = check(model, {"x": randn(2, 3)})
    assert [type(m).__name__ for m in loaded.children()] == ["Add"]


def test_initializer_listed_as_graph_input_is_a_constant():
    """An initializer also listed among the graph inputs (IR 3 style) is a constant, not a model input."""
    node = helper.make_node("Conv", ["x", "w"], ["y"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", FLOAT, [1, 2, 5, 5]),
                                            helper.make_tensor_value_info("w", FLOAT, [3, 2, 3, 3])],
                              [helper.make_tensor_value_info("y", FLOAT, [1, 3, 3, 3])],
                              initializer=[numpy_helper.from_array(randn(3, 2, 3, 3, seed=1), "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)], ir_version=3)
    onnx.checker.check_model(model, full_check=True)
    loaded = check(model, {"x": randn(1, 2, 5, 5)})
    assert loaded.onnx_inputs == ["x"] and loaded.opset == 9


def test_floor_of_a_tensor_is_refused_at_run():
    """Floor/Ceil of a value carrying gradients is a ValueError naming the op (no gradient)."""
    loaded = cs_onnx.load(single("Floor", {"x": randn(2, 3)}).SerializeToString())
    with pytest.raises(ValueError, match="Floor"):
        loaded(convscope.Tensor(randn(2, 3)))


# =========================================================================== gradients

def _mini_cnn_model(dtype=FLOAT):
    """Conv(3->4, 3x3, pad 1) + BN + HardSwish + GlobalAveragePool + Flatten + Gemm(4->5)."""
    np_dtype = helper.tensor_dtype_to_np_dtype(dtype)
    inits = {"w": randn(4, 3, 3, 3, seed=1) * 0.5, "b": randn(4, seed=2), "scale": randn(4, seed=3),
             "beta": randn(4, seed=4), "mean": randn(4, seed=5) * 0.1,
             "var": (0.5 + _rng(6).random(4)).astype(np.float32), "fw": randn(5, 4, seed=7), "fb": randn(5, seed=8)}
    inits = {k: v.astype(np_dtype) for k, v in inits.items()}
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "scale", "beta", "mean", "var"], ["n"]),
             helper.make_node("HardSwish", ["n"], ["h"]), helper.make_node("GlobalAveragePool", ["h"], ["g"]),
             helper.make_node("Flatten", ["g"], ["f"]), helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], transB=1)]
    return make(nodes, {"x": (dtype, ["N", 3, 6, 6])}, {"y": dtype}, inits, opset=14)


def _numeric_grad(fn, x, g, eps=1e-6):
    """d(sum(fn(x) * g))/dx by central differences in float64."""
    grad = np.zeros_like(x)
    flat, out = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = float(np.sum(fn(x) * g))
        flat[i] = old - eps
        down = float(np.sum(fn(x) * g))
        flat[i] = old
        out[i] = (up - down) / (2 * eps)
    return grad


def _grad_check(model, x):
    """On a DOUBLE graph (initializers float32-exact, as convscope's layers hold float32 Parameters): the
    float64 Tensor forward agrees with onnx's reference evaluator, and ``y.backward(g)`` gives the input
    gradient of float64 central differences of that forward."""
    from onnx.reference import ReferenceEvaluator
    loaded = cs_onnx.load(model.SerializeToString())
    xt = convscope.Tensor(x.copy(), requires_grad=True)
    y = loaded(xt)
    assert y.dtype == np.float64                                 # a float64 Tensor input stays float64
    want = ReferenceEvaluator(model).run(None, {"x": x})[0]
    np.testing.assert_allclose(y.data, want, rtol=1e-6, atol=1e-7 * float(np.abs(want).max()))
    g = _rng(9).standard_normal(want.shape)
    y.backward(g)

    def forward(v):
        with convscope.no_grad():
            return loaded(convscope.Tensor(v)).data
    numeric = _numeric_grad(forward, x.copy(), g)
    np.testing.assert_allclose(xt.grad, numeric, rtol=1e-5, atol=1e-7 * float(np.abs(numeric).max()))


def test_gradient_of_conv_bn_hardswish_pool_gemm_matches_finite_differences():
    """Conv+BN+HardSwish+GlobalAveragePool+Gemm: the input gradient equals float64 finite differences."""
    x = _rng(0).standard_normal((2, 3, 6, 6))
    _grad_check(_mini_cnn_model(DOUBLE), x)


def test_gradient_of_clip_matches_finite_differences():
    """Clip (opset 13 inputs): gradient 1 inside, 0 outside the bounds."""
    x = _rng(0).standard_normal((3, 4)) * 2
    x[np.abs(np.abs(x) - 0.5) < 1e-3] = 0.0                  # away from the kinks
    node = helper.make_node("Clip", ["x", "lo", "hi"], ["y"])
    model = make([node], {"x": (DOUBLE, [3, 4])}, {"y": DOUBLE}, {"lo": np.array(-0.5), "hi": np.array(0.5)})
    _grad_check(model, x)


@pytest.mark.parametrize("transform", ["half_pixel", "align_corners"])
def test_gradient_of_resize_linear_matches_finite_differences(transform):
    """Resize linear: the input gradient equals float64 finite differences."""
    x = _rng(0).standard_normal((1, 2, 3, 4))
    node = helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode="linear",
                            coordinate_transformation_mode=transform)
    model = make([node], {"x": (DOUBLE, [1, 2, 3, 4])}, {"y": DOUBLE}, {"sizes": np.array([1, 2, 5, 7], np.int64)})
    _grad_check(model, x)


def test_float_graph_gradient_matches_the_same_convscope_layers():
    """The FLOAT mini-CNN imported equals the same model built from convscope.nn layers: output, input
    gradient and parameter gradients."""
    model = _mini_cnn_model(FLOAT)
    loaded = cs_onnx.load(model.SerializeToString())
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    conv, bn, fc = nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.Linear(4, 5)
    conv.weight.data, conv.bias.data = init["w"].copy(), init["b"].copy()
    bn.weight.data, bn.bias.data = init["scale"].copy(), init["beta"].copy()
    bn.running_mean[...], bn.running_var[...] = init["mean"], init["var"]
    fc.weight.data, fc.bias.data = init["fw"].copy(), init["fb"].copy()
    ref = nn.Sequential(conv, bn, nn.Hardswish(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), fc).eval()
    x = randn(2, 3, 6, 6)
    g = randn(2, 5, seed=11)
    grads = []
    for net in (loaded, ref):
        xt = convscope.Tensor(x.copy(), requires_grad=True)
        y = net(xt)
        y.backward(g)
        grads.append((y.data, xt.grad, [p.grad for p in net.parameters()]))
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-5, atol=1e-6)
    assert len(grads[0][2]) == len(grads[1][2]) == 6
    for a, b in zip(grads[0][2], grads[1][2]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_input_dtypes_of_a_float_graph():
    """A FLOAT graph casts a NumPy float64 input to float32; a float64 Tensor input stays float64 (the float32
    Parameters promote), so gradients can be checked in float64."""
    loaded = cs_onnx.load(_mini_cnn_model(FLOAT).SerializeToString())
    x = _rng(0).standard_normal((1, 3, 6, 6))
    with convscope.no_grad():
        as_array, as_tensor = _as_array(loaded(x)), loaded(convscope.Tensor(x)).data
    assert as_array.dtype == np.float32 and as_tensor.dtype == np.float64
    np.testing.assert_allclose(as_tensor, as_array, rtol=1e-5, atol=1e-5)


def test_initializers_of_conv_bn_gemm_are_parameters_and_train():
    """Conv, BatchNormalization and Gemm initializers become Parameters; SGD steps change them, lowering the loss."""
    loaded = cs_onnx.load(_mini_cnn_model(FLOAT).SerializeToString())
    params = dict(loaded.named_parameters())
    assert len(params) == 6 and all(isinstance(p, nn.Parameter) for p in params.values())
    assert sorted(p.shape for p in params.values()) == sorted([(4, 3, 3, 3), (4,), (4,), (4,), (5, 4), (5,)])
    x, target = randn(4, 3, 6, 6), randn(4, 5, seed=3)
    before = {n: p.data.copy() for n, p in params.items()}
    losses = []
    for _ in range(3):
        for p in params.values():
            p.grad = None
        y = loaded(convscope.Tensor(x))
        loss = ((y - target) ** 2).mean()
        loss.backward()
        losses.append(float(loss.data))
        for p in params.values():
            p.data = p.data - 0.05 * p.grad
    assert losses[-1] < losses[0]
    assert all(not np.array_equal(before[n], p.data) for n, p in params.items())


# =========================================================================== errors

def _bytes(model):
    return model.SerializeToString()


def test_unsupported_op_is_named():
    """An op outside IMPORTED (Einsum, LSTM) is a ValueError naming the op and its node, at load."""
    node = helper.make_node("Einsum", ["x", "x"], ["y"], name="my_einsum", equation="ij,ij->i")
    model = make([node], {"x": (FLOAT, [2, 3])}, ["y"], opset=13)
    with pytest.raises(ValueError, match=r"'Einsum'.*'my_einsum'.*not supported"):
        cs_onnx.load(_bytes(model))
    lstm = helper.make_node("LSTM", ["x", "w", "r"], ["y"], hidden_size=2)
    model = make([lstm], {"x": (FLOAT, [1, 1, 3])}, ["y"],
                 {"w": randn(1, 8, 3), "r": randn(1, 8, 2)}, opset=13)
    with pytest.raises(ValueError, match=r"'LSTM'.*not supported"):
        cs_onnx.load(_bytes(model))


def test_op_of_another_domain_is_named():
    """A com.microsoft op (even one named like a supported op) is refused, naming the domain."""
    node = helper.make_node("Gelu", ["x"], ["y"], domain="com.microsoft", name="ms")
    model = helper.make_model(helper.make_graph([node], "g", [helper.make_tensor_value_info("x", FLOAT, [2])],
                                                [helper.make_tensor_value_info("y", FLOAT, None)]),
                              opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.microsoft", 1)],
                              ir_version=8)
    with pytest.raises(ValueError, match=r"'Gelu' of domain 'com.microsoft' \(node 'ms'\)"):
        cs_onnx.load(_bytes(model))
    node = helper.make_node("Relu", ["x"], ["y"], domain="com.microsoft", name="ms_relu")
    model.graph.node[0].CopyFrom(node)
    with pytest.raises(ValueError, match=r"'Relu' of domain 'com.microsoft'"):
        cs_onnx.load(_bytes(model))


@pytest.mark.parametrize("opset", [6, 22])
def test_opset_outside_7_to_21_is_refused(opset):
    """A default-domain opset outside 7..21 is a ValueError naming it."""
    model = make([helper.make_node("Relu", ["x"], ["y"])], {"x": (FLOAT, [2])}, ["y"], opset=opset, check=False)
    with pytest.raises(ValueError, match=rf"opset expects one of 7..21, but it declares {opset}"):
        cs_onnx.load(_bytes(model))


def test_opsets_are_7_to_21():
    """OPSETS, the opsets load reads, is 7..21."""
    assert list(cs_onnx.OPSETS) == list(range(7, 22))


def test_non_onnx_bytes_are_refused():
    """Bytes that are not an ONNX model are a ValueError."""
    with pytest.raises(ValueError, match=r"not an ONNX model file"):
        cs_onnx.load(b"\x00\x01 this is not a protobuf \xff\xfe" * 3)
    with pytest.raises(ValueError, match=r"not an ONNX model file"):
        cs_onnx.load(b"")


def test_path_that_is_not_a_file_is_refused(tmp_path):
    """A missing path, and a folder, are a ValueError naming the path."""
    with pytest.raises(ValueError, match=r"no file at .*missing\.onnx"):
        cs_onnx.load(tmp_path / "missing.onnx")
    with pytest.raises(ValueError, match=r"no file at"):
        cs_onnx.load(str(tmp_path))


def test_a_file_path_loads(tmp_path):
    """A path to a .onnx file loads like its bytes."""
    model = single("Relu", {"x": randn(2, 3)})
    path = tmp_path / "relu.onnx"
    path.write_bytes(_bytes(model))
    x = randn(2, 3)
    assert_same(cs_run(cs_onnx.load(path), {"x": x})[0], ort_run(model, {"x": x})[0])
    assert_same(cs_run(cs_onnx.load(str(path)), {"x": x})[0], ort_run(model, {"x": x})[0])


def test_conv_weight_from_a_graph_input_is_refused():
    """A Conv whose weight is a graph input (not an initializer) is a ValueError naming the node."""
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="conv_w_input")
    model = make([node], {"x": (FLOAT, [1, 2, 5, 5]), "w": (FLOAT, [3, 2, 3, 3])}, ["y"])
    with pytest.raises(ValueError, match=r"Conv node 'conv_w_input'.*constants"):
        cs_onnx.load(_bytes(model))


def test_resize_nearest_half_pixel_is_refused():
    """Resize nearest with half_pixel coordinates (not PyTorch's nearest) is a ValueError naming the node."""
    node = helper.make_node("Resize", ["x", "", "scales"], ["y"], name="up", mode="nearest",
                            coordinate_transformation_mode="half_pixel")
    model = make([node], {"x": (FLOAT, [1, 1, 2, 2])}, ["y"], {"scales": np.array([1, 1, 2, 2], np.float32)})
    with pytest.raises(ValueError, match=r"Resize node 'up'.*half_pixel"):
        cs_onnx.load(_bytes(model))


def test_graph_reading_an_undefined_value_is_refused():
    """A node reading a value no earlier node makes is a ValueError naming the node and the value."""
    node = helper.make_node("Add", ["x", "ghost"], ["y"], name="adder")
    model = make([node], {"x": (FLOAT, [2])}, ["y"], check=False)
    with pytest.raises(ValueError, match=r"Add node 'adder' reads 'ghost'"):
        cs_onnx.load(_bytes(model))


def test_every_unsupported_op_is_listed():
    """Several unsupported ops: the first is named with its node, the others listed."""
    nodes = [helper.make_node("Erf", ["x"], ["a"], name="erf1"), helper.make_node("Sin", ["a"], ["b"]),
             helper.make_node("Erf", ["b"], ["y"])]
    model = make(nodes, {"x": (FLOAT, [2])}, ["y"])
    with pytest.raises(ValueError, match=r"'Erf' \(node 'erf1'\) is not supported \(also unsupported: Sin\)"):
        cs_onnx.load(_bytes(model))


def _node_error(nodes, inputs, outputs, inits=None, opset=13, match="", check=True):
    model = make(nodes, inputs, outputs, inits, opset, check=check)
    with pytest.raises(ValueError, match=match):
        cs_onnx.load(_bytes(model))


X4 = {"x": (FLOAT, [1, 2, 4, 4])}


@pytest.mark.parametrize("opset, attrs, inputs, match", [
    (13, {"mode": "cubic"}, ["x", "", "scales"], r"Resize node 'rs': mode 'cubic' is not supported"),
    (10, {"mode": "linear"}, ["x", "scales"], r"Resize node 'rs': linear with .*'asymmetric' is not supported"),
    (13, {"mode": "nearest", "coordinate_transformation_mode": "asymmetric"}, ["x", "", "scales"],
     r"Resize node 'rs': nearest with asymmetric/round_prefer_floor is not supported"),
    (13, {"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize"}, ["x", "roi", "scales"],
     r"Resize node 'rs': linear with coordinate_transformation_mode 'tf_crop_and_resize'"),
    (18, {"mode": "linear", "antialias": 1}, ["x", "", "scales"], r"Resize node 'rs': antialias"),
])
def test_resize_forms_convscope_cannot_run_are_refused(opset, attrs, inputs, match):
    """Resize modes and coordinate transforms outside convscope's interpolate are refused at load, naming the node."""
    inits = {"scales": np.array([1, 1, 2, 2], np.float32)}
    if "roi" in inputs:
        inits["roi"] = np.array([0, 0, 0, 0, 1, 1, 1, 1], np.float32)
    _node_error([helper.make_node("Resize", inputs, ["y"], name="rs", **attrs)], X4, ["y"], inits, opset, match)


def test_pool_forms_convscope_cannot_run_are_refused():
    """MaxPool's Indices output and storage_order, AveragePool's dilations (opset 19): refused at load."""
    _node_error([helper.make_node("MaxPool", ["x"], ["y", "i"], name="mp", kernel_shape=[2, 2])], X4,
                {"y": FLOAT, "i": INT64}, match=r"MaxPool node 'mp': the Indices output is not supported")
    _node_error([helper.make_node("MaxPool", ["x"], ["y"], name="mp", kernel_shape=[2, 2], storage_order=1)], X4,
                ["y"], match=r"MaxPool node 'mp': storage_order=1")
    _node_error([helper.make_node("AveragePool", ["x"], ["y"], name="ap", kernel_shape=[2, 2], dilations=[2, 2])],
                X4, ["y"], opset=19, match=r"AveragePool node 'ap': dilations are not supported")


def test_batch_norm_forms_convscope_cannot_run_are_refused():
    """BatchNormalization with training_mode=1, or with statistics from a graph input: refused, naming the node."""
    c = {"s": np.ones(2, np.float32), "b": np.zeros(2, np.float32), "m": np.zeros(2, np.float32),
         "v": np.ones(2, np.float32)}
    _node_error([helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y", "rm", "rv"], name="bn",
                                  training_mode=1)], X4, ["y", "rm", "rv"], c, opset=15,
                match=r"BatchNormalization node 'bn': the training outputs \(running mean and var\) are not supported")
    _node_error([helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], name="bn")],
                {**X4, "m": (FLOAT, [2])}, ["y"], {k: v for k, v in c.items() if k != "m"},
                match=r"BatchNormalization node 'bn': scale, bias, mean and var must be constants")


def test_conv_attribute_errors_are_named():
    """A Conv kernel_shape not matching its weight, or a group not dividing its channels: refused at load."""
    w = {"w": randn(4, 2, 3, 3)}
    _node_error([helper.make_node("Conv", ["x", "w"], ["y"], name="cv", kernel_shape=[2, 2])], X4, ["y"], w,
                match=r"Conv node 'cv': kernel_shape \(2, 2\) does not match")
    _node_error([helper.make_node("Conv", ["x", "w"], ["y"], name="cv", group=3)], {"x": (FLOAT, [1, 6, 4, 4])},
                ["y"], w, match=r"Conv node 'cv': group 3 does not divide the weight's 4 output channels", check=False)


def test_clip_bound_from_a_graph_input_is_refused():
    """Clip (opset 11) whose min is a graph input, not a constant: refused at load, naming the node."""
    model = make([helper.make_node("Clip", ["x", "lo"], ["y"], name="cl")], {"x": (FLOAT, [2]), "lo": (FLOAT, [])},
                 ["y"], opset=11)
    with pytest.raises(ValueError, match=r"Clip node 'cl': min must be a constant"):
        cs_onnx.load(_bytes(model))


def test_constant_of_an_unsupported_form_is_refused():
    """A Constant with a string value is refused, naming the node."""
    node = helper.make_node("Constant", [], ["c"], name="k", value_strings=["a"])
    model = make([node, helper.make_node("Identity", ["c"], ["y"])], {}, {"y": TensorProto.STRING})
    with pytest.raises(ValueError, match=r"Constant node 'k': only value, value_float\(s\) and value_int\(s\)"):
        cs_onnx.load(_bytes(model))


def test_graph_output_made_by_no_node_is_refused():
    """A graph output no node makes is a ValueError naming it."""
    model = make([helper.make_node("Relu", ["x"], ["y"])], {"x": (FLOAT, [2])}, {"y": (FLOAT, [2]), "z": (FLOAT, [2])},
                 check=False)
    with pytest.raises(ValueError, match=r"the graph's output 'z' is made by no node"):
        cs_onnx.load(_bytes(model))


def test_wrong_number_of_inputs_at_call():
    """Calling the model with the wrong number of inputs is a ValueError naming them."""
    loaded = cs_onnx.load(_bytes(single("Add", {"a": randn(2), "b": randn(2)})))
    with pytest.raises(ValueError, match=r"expects 2 input\(s\) \(a, b\)"):
        loaded(randn(2))


# =========================================================================== coverage of IMPORTED

TESTED = {"Abs", "Add", "AveragePool", "BatchNormalization", "Cast", "Ceil", "Clip", "Concat", "Constant",
          "ConstantOfShape", "Conv", "ConvTranspose", "Div", "Dropout", "Exp", "Expand", "Flatten", "Floor", "Gather",
          "Gemm", "GlobalAveragePool", "GlobalMaxPool", "HardSigmoid", "HardSwish", "Identity", "LeakyRelu", "Log",
          "LogSoftmax", "MatMul", "MaxPool", "Mul", "Neg", "PRelu", "Pad", "Pow", "Range", "Reciprocal", "ReduceMax",
          "ReduceMean", "ReduceSum", "Relu", "Reshape", "Resize", "Shape", "Sigmoid", "Slice", "Softmax", "Split",
          "Sqrt", "Squeeze", "Sub", "Tanh", "Transpose", "Unsqueeze", "Upsample"}


def test_every_imported_op_is_tested_here():
    """Each op type in convscope.onnx.IMPORTED has tests in this file (a new op must add some)."""
    assert set(cs_onnx.IMPORTED) == TESTED
