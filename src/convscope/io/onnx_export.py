"""Write a convscope model as an ONNX file (:func:`export`, public as ``convscope.onnx.export``)
that onnxruntime, or any ONNX tool, runs.

:func:`export` runs the model once on a zero input in eval mode under
:func:`convscope.autograd.register_op_hook` and writes one ONNX node per op it saw, in the
order they ran, with the parameters and buffers as initializers (so the file holds the weights).
Nothing reads private names: each op says what it is and its geometry (conv padding, pool
kernels, ...) through the hook. The batch dimension is left free (``N``); the other input dims are
those of ``input_shape``.

The ops exported: ``conv2d`` (groups, dilation, asymmetric padding), ``batch_norm`` (eval),
``relu``, ``leaky_relu``, ``sigmoid``, ``tanh``, ``hardswish``, ``hardsigmoid``, ``hardtanh``/``relu6``
and ``clamp`` (as ``Clip``: the same values; its gradient is not part of the file), ``max_pool2d``, ``avg_pool2d``,
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
from pathlib import Path

import numpy as np

from .._files import atomic_write

__all__ = ["export", "OPSET"]

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
    elif name == "hardswish":
        g.node("HardSwish", [first], out, name)
    elif name == "hardsigmoid":
        g.node("HardSigmoid", [first], out, name, alpha=float(opts["alpha"]), beta=float(opts["beta"]))
    elif name in ("hardtanh", "clamp"):
        bounds = [g.constant(np.array(v, np.float32), "bound") if v is not None else "" for v in (opts["low"], opts["high"])]
        while bounds and bounds[-1] == "":
            bounds.pop()
        g.node("Clip", [first, *bounds], out, "clip")
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
                         "leaky_relu, sigmoid, tanh, hardswish, hardsigmoid, hardtanh, clamp, max_pool2d, avg_pool2d, adaptive_avg_pool2d, linear, add, mul, "
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
    from .. import __version__, no_grad
    from ..autograd import Tensor, register_op_hook
    from ..nn.module import Module
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
