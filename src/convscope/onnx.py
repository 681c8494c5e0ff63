"""ONNX in and out: :func:`export` writes a convscope model as an ONNX file that onnxruntime (or any
ONNX tool) runs, :func:`load` reads one back into a Module that runs and trains on convscope's ops.

:func:`export` runs the model once on a zero input in eval mode under
:func:`convscope.autograd.register_op_hook` and writes one ONNX node per op it saw, in the
order they ran, with the parameters and buffers as initializers (so the file holds the weights).
Nothing reads private names: each op says what it is and its geometry (conv padding, pool
kernels, ...) through the hook. The batch dimension is left free (``N``); the other input dims are
those of ``input_shape``.

The ops exported: ``conv2d`` (groups, dilation, asymmetric padding), ``batch_norm`` (eval),
``relu``, ``leaky_relu``, ``sigmoid``, ``tanh``, ``max_pool2d``, ``avg_pool2d``,
``adaptive_avg_pool2d`` (to 1x1, or to a size that divides the input), ``linear``, ``add``, ``mul``,
``cat``, ``reshape``/``flatten``, ``softmax`` and ``interpolate`` (nearest and linear). Any other op
is a ``ValueError`` naming it. Needs the ``onnx`` extra (the onnx package; onnxruntime to run the
file).

Examples
--------
>>> import os, tempfile
>>> import numpy as np
>>> from convscope import models
>>> from convscope import onnx as cs_onnx
>>> path = cs_onnx.export(models.get("lenet5"), (1, 28, 28), os.path.join(tempfile.mkdtemp(), "lenet5.onnx"))
>>> import onnx
>>> [node.op_type for node in onnx.load(str(path)).graph.node][:4]
['Conv', 'Relu', 'MaxPool', 'Conv']
"""

from __future__ import annotations

import importlib
import operator
from pathlib import Path

import numpy as np

from ._files import atomic_write

__all__ = ["export", "load", "OPSET", "IMPORTED"]

#: The ONNX opset the exported files declare.
OPSET = 17


def _onnx():
    try:
        return importlib.import_module("onnx")
    except ImportError:                          # pragma: no cover - the extra is missing
        raise ModuleNotFoundError("convscope.onnx needs the onnx package: pip install 'convscope[onnx]'") from None


class _Graph:
    """Names for tensors (by identity), initializers and nodes, as the ops are seen."""

    def __init__(self, onnx, params: dict[int, tuple[str, np.ndarray]]):
        self.onnx, self.helper = onnx, onnx.helper
        self.params = params
        self.names: dict[int, str] = {}
        self.keep: list = []                     # the tensors named, so their ids stay unique
        self.nodes: list = []
        self.initializers: dict[str, np.ndarray] = {}
        self.count = 0

    def fresh(self, stem: str) -> str:
        self.count += 1
        return f"{stem}_{self.count}"

    def constant(self, value, stem: str = "const") -> str:
        name = self.fresh(stem)
        self.initializers[name] = np.asarray(value)
        return name

    def name_of(self, value, op: str, where: str) -> str:
        if value is None:
            return ""
        key = id(value)
        if key in self.names:
            return self.names[key]
        if key in self.params:
            name, array = self.params[key]
            self.initializers[name] = array
            self.names[key] = name
            self.keep.append(value)
            return name
        data = getattr(value, "data", value)
        if isinstance(data, np.ndarray) or np.isscalar(data):
            return self.constant(np.asarray(data, dtype=np.float32) if np.isscalar(data) else data)
        raise ValueError(f"export: {op}'s {where} comes from an operation the export did not see")

    def output(self, tensor, stem: str) -> str:
        name = self.fresh(stem)
        self.names[id(tensor)] = name
        self.keep.append(tensor)
        return name

    def node(self, op_type: str, inputs, tensor, stem: str, **attrs) -> None:
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [self.output(tensor, stem)], **attrs))


def _emit(g: _Graph, call) -> None:
    name, geo, opts, ins = call.name, call.geometry, call.options, call.inputs
    first = g.name_of(ins[0], name, "input")
    out = call.output
    if name in ("conv2d",):
        (top, bottom), (left, right) = geo["padding"]
        inputs = [first, g.name_of(ins[1], name, "weight")] + ([g.name_of(ins[2], name, "bias")] if ins[2] is not None else [])
        g.node("Conv", inputs, out, "conv", kernel_shape=list(geo["kernel"]), strides=list(geo["stride"]),
               dilations=list(geo["dilation"]), group=int(geo["groups"]), pads=[top, left, bottom, right])
    elif name == "batch_norm":
        if opts.get("training"):
            raise ValueError("export: batch_norm in training mode; export a model in eval mode")
        channels = call.input_shapes[0][1]
        scale = g.name_of(ins[1], name, "weight") if ins[1] is not None else g.constant(np.ones(channels, np.float32))
        bias = g.name_of(ins[2], name, "bias") if ins[2] is not None else g.constant(np.zeros(channels, np.float32))
        g.node("BatchNormalization", [first, scale, bias, g.constant(opts["running_mean"], "mean"),
                                      g.constant(opts["running_var"], "var")], out, "bn", epsilon=float(opts["eps"]))
    elif name in ("relu", "sigmoid", "tanh"):
        g.node({"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh"}[name], [first], out, name)
    elif name == "leaky_relu":
        g.node("LeakyRelu", [first], out, name, alpha=float(opts.get("negative_slope", opts.get("slope", 0.01))))
    elif name in ("max_pool2d", "avg_pool2d"):
        pad = list(geo["padding"])
        attrs = dict(kernel_shape=list(geo["kernel"]), strides=list(geo["stride"]), pads=pad + pad,
                     ceil_mode=int(bool(geo.get("ceil_mode", False))))
        if name == "max_pool2d":
            g.node("MaxPool", [first], out, "maxpool", dilations=list(geo["dilation"]), **attrs)
        else:
            g.node("AveragePool", [first], out, "avgpool",
                   count_include_pad=int(bool(opts.get("count_include_pad", True))), **attrs)
    elif name == "adaptive_avg_pool2d":
        size = tuple(geo["output_size"])
        spatial = call.input_shapes[0][2:]
        if size == (1, 1):
            g.node("GlobalAveragePool", [first], out, "gap")
        elif all(n % s == 0 for n, s in zip(spatial, size)):
            kernel = [n // s for n, s in zip(spatial, size)]
            g.node("AveragePool", [first], out, "avgpool", kernel_shape=kernel, strides=kernel)
        else:
            raise ValueError(f"export: adaptive_avg_pool2d from {spatial} to {size} (not a divisor) has no ONNX "
                             "pool; export at an input size whose feature maps it divides")
    elif name == "linear":
        inputs = [first, g.name_of(ins[1], name, "weight")] + ([g.name_of(ins[2], name, "bias")] if ins[2] is not None else [])
        g.node("Gemm", inputs, out, "gemm", transB=1)
    elif name in ("add", "mul", "sub", "div"):
        g.node(name.capitalize(), [first, g.name_of(ins[1], name, "second operand")], out, name)
    elif name == "cat":
        parts = [g.name_of(t, name, f"input {i}") for i, t in enumerate(ins)]
        g.node("Concat", parts, out, "cat", axis=int(opts["dim"]))
    elif name in ("reshape", "flatten"):
        shape = list(call.output_shape)
        shape[0] = 0                             # the batch: copied from the input
        g.node("Reshape", [first, g.constant(np.array(shape, np.int64), "shape")], out, "reshape")
    elif name in ("softmax", "log_softmax"):
        g.node("Softmax" if name == "softmax" else "LogSoftmax", [first], out, name, axis=int(opts.get("dim", -1)))
    elif name == "interpolate":
        mode = geo["mode"]
        if mode not in ("nearest", "linear"):
            raise ValueError(f"export: interpolate mode {mode!r} has no exact ONNX Resize here (nearest, linear)")
        # sizes = (the input's N and C, at run time) + the output's spatial size
        shape = g.fresh("shape")
        g.nodes.append(g.helper.make_node("Shape", [first], [shape], end=2))
        sizes = g.fresh("sizes")
        spatial = g.constant(np.array(call.output_shape[2:], np.int64), "spatial")
        g.nodes.append(g.helper.make_node("Concat", [shape, spatial], [sizes], axis=0))
        if mode == "linear":
            transform = "align_corners" if geo.get("align_corners") else "pytorch_half_pixel"
            g.node("Resize", [first, "", "", sizes], out, "resize", mode="linear",
                   coordinate_transformation_mode=transform)
        else:
            g.node("Resize", [first, "", "", sizes], out, "resize", mode="nearest",
                   coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    else:
        raise ValueError(f"export: the op {name!r} has no ONNX export yet (exported: conv2d, batch_norm, relu, "
                         "leaky_relu, sigmoid, tanh, max_pool2d, avg_pool2d, adaptive_avg_pool2d, linear, add, mul, "
                         "cat, reshape, softmax, interpolate)")


def export(model, input_shape, path) -> Path:
    """Write ``model`` (a :class:`convscope.nn.Module`) as an ONNX file for inputs ``(N, *input_shape)``.

    Parameters
    ----------
    model : convscope.nn.Module
        Exported in eval mode (its mode is restored afterwards).
    input_shape : tuple of int
        One sample's shape, e.g. ``(1, 28, 28)``; the batch dimension stays free.
    path : str or os.PathLike
        Written atomically; checked with ``onnx.checker`` first.

    Raises
    ------
    ValueError
        For an op with no ONNX form (named), or a batch norm in training mode.
    TypeError
        For a model that is not a Module or an ``input_shape`` that is not positive ints.

    Examples
    --------
    >>> import os, tempfile
    >>> from convscope import models
    >>> path = export(models.get("small_vgg"), (1, 28, 28), os.path.join(tempfile.mkdtemp(), "vgg.onnx"))
    >>> path.suffix
    '.onnx'
    """
    from . import __version__, no_grad
    from .autograd import Tensor, register_op_hook
    from .nn.module import Module
    onnx = _onnx()
    if not isinstance(model, Module):
        raise TypeError(f"export: model expects a convscope.nn.Module, but got {type(model).__name__}")
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else None
    if not shape or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > 0 for n in shape):
        raise TypeError(f"export: input_shape expects one sample's shape as positive ints, but got {input_shape!r}")
    params = {id(t): (name, np.asarray(t.data)) for name, t in model.named_parameters()}
    calls = []
    was_training = model.training
    model.eval()
    try:
        x = Tensor(np.zeros((1,) + shape, np.float32))
        with register_op_hook(calls.append), no_grad():
            y = model(x)
    finally:
        model.train(was_training)
    g = _Graph(onnx, params)
    g.names[id(x)] = "input"
    g.keep.append(x)
    for call in calls:
        _emit(g, call)
    if id(y) not in g.names:
        raise ValueError("export: the model's output was not produced by an op the export saw")
    g.nodes.append(onnx.helper.make_node("Identity", [g.names[id(y)]], ["output"]))
    h = onnx.helper
    inputs = [h.make_tensor_value_info("input", onnx.TensorProto.FLOAT, ["N", *shape])]
    outputs = [h.make_tensor_value_info("output", onnx.TensorProto.FLOAT, ["N", *y.shape[1:]])]
    initializers = [onnx.numpy_helper.from_array(np.ascontiguousarray(a, dtype=np.float32 if a.dtype.kind == "f" else a.dtype), n)
                    for n, a in g.initializers.items()]
    graph = h.make_graph(g.nodes, type(model).__name__, inputs, outputs, initializers)
    proto = h.make_model(graph, producer_name="convscope", producer_version=__version__,
                         opset_imports=[h.make_opsetid("", OPSET)])
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()
    return atomic_write(path, lambda f: f.write(data), fn="export")


# =========================================================================== import

#: The ONNX ops :func:`load` runs (each through convscope's functional ops, so the model trains).
IMPORTED = ("Conv", "BatchNormalization", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "MaxPool", "AveragePool",
            "GlobalAveragePool", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Concat", "Reshape", "Flatten",
            "Resize", "Shape", "Identity", "Dropout", "Softmax", "LogSoftmax", "Constant")


def _attrs(node) -> dict:
    onnx = _onnx()
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def load(path):
    """Read an ONNX file into a :class:`convscope.nn.Module` that runs it with convscope's ops.

    Initializers that weight a Conv, Gemm or BatchNormalization become Parameters (the model
    trains and fine-tunes); batch-norm statistics become buffers; the rest stay constants. An op
    outside :data:`IMPORTED`, or an attribute value it does not handle, is a ``ValueError`` naming the
    op and its node, raised here, before any input is seen.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import convscope
    >>> from convscope import models
    >>> net = models.get("lenet5")
    >>> path = export(net, (1, 28, 28), os.path.join(tempfile.mkdtemp(), "lenet5.onnx"))
    >>> back = load(path)
    >>> x = np.random.default_rng(0).random((2, 1, 28, 28), dtype=np.float32)
    >>> with convscope.no_grad():
    ...     bool(np.allclose(back(x).data, net.eval()(x).data, atol=1e-5))
    True
    """
    from . import autograd, cat
    from .nn import functional as F
    from .nn.module import Module
    from .nn.parameter import Parameter
    onnx = _onnx()
    path = Path(path)
    try:
        proto = onnx.load(str(path))
    except Exception as exc:
        raise ValueError(f"load: {str(path)!r} is not an ONNX model file: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    graph = proto.graph
    for node in graph.node:
        if node.op_type not in IMPORTED or node.domain not in ("", "ai.onnx"):
            raise ValueError(f"load: the ONNX op {node.op_type!r} (node {node.name or node.output[0]!r}) is not "
                             f"supported; supported: {', '.join(IMPORTED)}")
    arrays = {init.name: onnx.numpy_helper.to_array(init) for init in graph.initializer}
    trainable = set()
    for node in graph.node:
        if node.op_type in ("Conv", "Gemm"):
            trainable.update(node.input[1:3])
        elif node.op_type == "BatchNormalization":
            trainable.update(node.input[1:3])
    steps = [(node, _attrs(node)) for node in graph.node]       # attributes parsed once, not per call
    inputs = [v.name for v in graph.input if v.name not in arrays]
    outputs = [v.name for v in graph.output]

    class Model(Module):
        def __init__(self):
            super().__init__()
            self._slots = {}
            for i, (name, value) in enumerate(arrays.items()):
                slot = f"p{i}"
                if name in trainable and value.dtype.kind == "f":
                    self.register_parameter(slot, Parameter(value.astype(np.float32, copy=True)))
                elif value.dtype.kind == "f" and value.ndim >= 1:
                    self.register_buffer(slot, value.astype(np.float32, copy=True))
                else:
                    object.__setattr__(self, slot, value)
                self._slots[name] = slot

        def forward(self, *xs):
            env = {name: getattr(self, slot) for name, slot in self._slots.items()}
            env.update(zip(inputs, xs))
            for node, attrs in steps:
                args = [env[n] if n else None for n in node.input]
                env[node.output[0]] = _run_node(node, attrs, args, F, cat)
            results = [env[n] for n in outputs]
            return results[0] if len(results) == 1 else tuple(results)

    Model.__name__ = Model.__qualname__ = "ONNXModel"
    return Model()


def _pads2d(node, attrs, spatial) -> tuple:
    pads = list(attrs.get("pads", [0] * 2 * len(spatial)))
    if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise ValueError(f"load: {node.op_type} node {node.name!r}: auto_pad {attrs['auto_pad']!r} is not supported")
    half = len(pads) // 2
    return tuple(pads[:half]), tuple(pads[half:])


_ARITHMETIC = {"Add": operator.add, "Sub": operator.sub, "Mul": operator.mul, "Div": operator.truediv}


def _run_node(node, a: dict, args, F, cat):
    op = node.op_type
    x = args[0] if args else None
    if op == "Conv":
        before, after = _pads2d(node, a, a.get("kernel_shape", (1, 1)))
        if before != after:
            x = F.pad(x, sum(([lo, hi] for lo, hi in zip(before[::-1], after[::-1])), []))
            before = (0,) * len(before)
        return F.conv2d(x, args[1], args[2] if len(args) > 2 else None, stride=tuple(a.get("strides", (1, 1))),
                        padding=tuple(before), dilation=tuple(a.get("dilations", (1, 1))), groups=int(a.get("group", 1)))
    if op == "BatchNormalization":
        return F.batch_norm(x, args[3], args[4], args[1], args[2], training=False, eps=float(a.get("epsilon", 1e-5)))
    if op in ("Relu", "Sigmoid", "Tanh"):
        return {"Relu": F.relu, "Sigmoid": F.sigmoid, "Tanh": F.tanh}[op](x)
    if op == "LeakyRelu":
        return F.leaky_relu(x, float(a.get("alpha", 0.01)))
    if op in ("MaxPool", "AveragePool"):
        before, after = _pads2d(node, a, a["kernel_shape"])
        if before != after:
            raise ValueError(f"load: {op} node {node.name!r} has asymmetric pads {before}/{after}")
        kernel, stride = tuple(a["kernel_shape"]), tuple(a.get("strides", (1,) * len(a["kernel_shape"])))
        if op == "MaxPool":
            return F.max_pool2d(x, kernel, stride, tuple(before), tuple(a.get("dilations", (1, 1))),
                                ceil_mode=bool(a.get("ceil_mode", 0)))
        return F.avg_pool2d(x, kernel, stride, tuple(before), ceil_mode=bool(a.get("ceil_mode", 0)),
                            count_include_pad=bool(a.get("count_include_pad", 0)))
    if op == "GlobalAveragePool":
        return F.adaptive_avg_pool2d(x, 1)
    if op == "Gemm":
        if a.get("transA", 0) or float(a.get("alpha", 1.0)) != 1.0 or float(a.get("beta", 1.0)) != 1.0:
            raise ValueError(f"load: Gemm node {node.name!r}: only transA=0, alpha=beta=1 are supported")
        w = args[1] if a.get("transB", 0) else args[1].T
        return F.linear(x, w, args[2] if len(args) > 2 else None)
    if op == "MatMul":
        return x @ args[1]
    if op in _ARITHMETIC:
        return _ARITHMETIC[op](x, args[1])
    if op == "Concat":
        if all(isinstance(t, np.ndarray) for t in args):
            return np.concatenate(args, axis=int(a["axis"]))
        return cat(list(args), dim=int(a["axis"]))
    if op == "Reshape":
        shape = [int(n) for n in np.asarray(args[1])]
        shape = [x.shape[i] if n == 0 else n for i, n in enumerate(shape)]
        return x.reshape(tuple(shape))
    if op == "Flatten":
        axis = int(a.get("axis", 1))
        return x.reshape((int(np.prod(x.shape[:axis])), -1))
    if op == "Shape":
        return np.array(x.shape[a.get("start", 0):a.get("end", None)], np.int64)
    if op == "Resize":
        mode = a.get("mode", b"nearest")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        transform = a.get("coordinate_transformation_mode", b"half_pixel")
        transform = transform.decode() if isinstance(transform, bytes) else transform
        sizes = args[3] if len(args) > 3 and args[3] is not None else None
        if sizes is None:
            scales = np.asarray(args[2])
            sizes = [int(np.floor(n * s)) for n, s in zip(x.shape, scales)]
        size = tuple(int(n) for n in np.asarray(sizes)[2:])
        if mode == "linear":
            return F.interpolate(x, size=size, mode="bilinear", align_corners=transform == "align_corners")
        return F.interpolate(x, size=size, mode="nearest")
    if op in ("Identity", "Dropout"):
        return x
    if op in ("Softmax", "LogSoftmax"):
        return (F.softmax if op == "Softmax" else F.log_softmax)(x, int(a.get("axis", -1)))
    if op == "Constant":
        return _onnx().numpy_helper.to_array(a["value"])
    raise ValueError(f"load: the ONNX op {op!r} is not supported")         # pragma: no cover - scanned in load
