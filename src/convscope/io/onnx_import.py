"""Read an ONNX file into a :class:`convscope.nn.Module` (:func:`load`, public as ``convscope.onnx.load``).

The graph is read once, at load:

1. Initializers and ``Constant`` nodes are NumPy constants; every node whose inputs are all
   constant is computed then (constant folding), so the model's forward runs only what depends on
   its input.
2. Nodes computed from ``Shape`` and constants only (the size arithmetic exporters write for
   dynamic input sizes) stay NumPy and run inline, cheaply, on every call.
3. Every other node becomes a child module, in graph order, named after the node: Conv and
   ConvTranspose with constant weights as ``nn.Conv2d``/``nn.ConvTranspose2d`` subclasses,
   BatchNormalization as ``nn.BatchNorm2d``, Gemm and MatMul with a constant weight (and a
   following bias Add) as ``nn.Linear``, holding their weights as Parameters; the rest as small
   op modules. So the imported model trains and fine-tunes, and ``convscope.summary``,
   ``viz.filter_grid``, ``viz.capture`` and the hooks see its layers by name.

Anything convscope cannot run (an op outside :data:`IMPORTED`, an op of another domain, an
attribute value, an opset outside 7 to 21) is a ``ValueError`` naming the op and its node, raised
at load, before any input is seen. The file is parsed by the ``onnx`` package (the ``onnx``
extra); nothing is unpickled, and external tensor data is only read from files inside the
model's folder.
"""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path

import numpy as np

from ..autograd import Tensor
from ..nn.module import Module
from . import onnx_layers as LY
from . import onnx_nodes as N

__all__ = ["load", "IMPORTED", "ONNXModel", "OPSETS"]

#: The default-domain opsets read (the files tested are opsets 11 to 17, and the node tests 7 to 21).
OPSETS = range(7, 22)

_LAYERS = ("Conv", "ConvTranspose", "BatchNormalization", "Gemm", "MatMul")
#: The ONNX ops :func:`load` runs.
IMPORTED = tuple(sorted(set(N.OPS) | set(_LAYERS) | {"Constant", "ConstantOfShape"}))


def _onnx():
    try:
        return importlib.import_module("onnx")
    except ImportError:                          # pragma: no cover - the extra is missing
        raise ModuleNotFoundError("convscope.onnx needs the onnx package: pip install 'convscope[onnx]'") from None


def _read(onnx, source):
    """The ModelProto of a path or of the file's bytes; external data only from the model's folder."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, folder, label = bytes(source), None, "the bytes given"
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"load: path expects an ONNX model file, but there is no file at {str(path)!r}")
        data, folder, label = path.read_bytes(), path.resolve().parent, repr(str(path))
    else:
        raise TypeError(f"load: source expects a path or the file's bytes, but got {type(source).__name__}")
    try:
        proto = onnx.load_model_from_string(data)
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"load: {label} is not an ONNX model file: {first}") from None
    if not proto.HasField("graph") or not proto.graph.node:
        raise ValueError(f"load: {label} is not an ONNX model file: it has no graph nodes")
    external = [t for t in proto.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    if external:
        if folder is None:
            raise ValueError("load: the model keeps tensors in external files; pass its path, not its bytes")
        for tensor in external:
            where = {e.key: e.value for e in tensor.external_data}.get("location", "")
            target = (folder / where).resolve()
            if folder not in target.parents or not target.is_file():
                raise ValueError(f"load: tensor {tensor.name!r} points outside the model's folder or at no file "
                                 f"({where!r}); refused")
        onnx.external_data_helper.load_external_data_for_model(proto, str(folder))
    return proto


def _opset(proto) -> int:
    versions = {o.domain: o.version for o in proto.opset_import}
    version = versions.get("", versions.get("ai.onnx"))
    if version is None or version not in OPSETS:
        raise ValueError(f"load: the model's ONNX opset expects one of {OPSETS.start}..{OPSETS.stop - 1}, "
                         f"but it declares {version}")
    return version


def _check_ops(graph) -> None:
    bad = [n for n in graph.node if n.op_type not in IMPORTED or n.domain not in ("", "ai.onnx")]
    if bad:
        first = bad[0]
        domain = f" of domain {first.domain!r}" if first.domain not in ("", "ai.onnx") else ""
        others = sorted({n.op_type for n in bad[1:]} - {first.op_type})
        more = f" (also unsupported: {', '.join(others)})" if others else ""
        raise ValueError(f"load: the ONNX op {first.op_type!r}{domain} (node {first.name or first.output[0]!r}) "
                         f"is not supported{more}; supported: {', '.join(IMPORTED)}")


def _constant_value(onnx, node, attrs):
    for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
        if key in attrs:
            value = attrs[key]
            if key == "value":
                return onnx.numpy_helper.to_array(value)
            return np.array(value, np.float32 if "float" in key else np.int64)
    raise LY.NodeError(f"load: Constant node {node.name or node.output[0]!r}: only value, value_float(s) and "
                      "value_int(s) are supported")


class _OpModule(Module):
    """One ONNX node that is not a layer (an activation, an Add, a Reshape...) as a leaf module."""

    op_type = "op"

    def __init__(self, run, params, description: str):
        super().__init__()
        object.__setattr__(self, "_run", run)
        object.__setattr__(self, "_params", params)
        object.__setattr__(self, "_description", description)

    def forward(self, *args):
        return self._run(self._params, args)

    def extra_repr(self) -> str:
        return self._description


_OP_CLASSES: dict[str, type] = {}


def _op_module(op_type: str, run, params, description: str) -> Module:
    cls = _OP_CLASSES.get(op_type)
    if cls is None:
        cls = _OP_CLASSES[op_type] = type(op_type, (_OpModule,), {"op_type": op_type, "__module__": __name__,
                                                                  "__doc__": f"The ONNX op {op_type}."})
    return cls(run, params, description)


class ONNXModel(Module):
    """A model read from an ONNX file: its nodes as child modules, run in graph order.

    ``onnx_inputs`` / ``onnx_outputs`` are the graph's input and output names, ``input_shapes``
    each input's shape as declared (None for a free dim), ``opset`` and ``producer`` come from the
    file. ``forward(*inputs)`` takes the inputs in ``onnx_inputs`` order; a graph with several
    outputs returns a tuple.

    Examples
    --------
    >>> import os, tempfile
    >>> from convscope import models, onnx
    >>> net = onnx.load(onnx.export(models.get("lenet5"), (1, 28, 28), os.path.join(tempfile.mkdtemp(), "l.onnx")))
    >>> net.onnx_inputs, net.input_shapes["input"], net.opset
    (['input'], (None, 1, 28, 28), 17)
    """

    def __init__(self, steps, constants, inputs, outputs, input_shapes, float_inputs, opset, producer):
        super().__init__()
        for kind, module, ins, outs in steps:
            if module is not None:
                self.add_module(kind, module)
        object.__setattr__(self, "_steps", steps)
        object.__setattr__(self, "_constants", constants)
        object.__setattr__(self, "_float_inputs", float_inputs)
        self.onnx_inputs, self.onnx_outputs = list(inputs), list(outputs)
        self.input_shapes, self.opset, self.producer = input_shapes, opset, producer

    def forward(self, *xs):
        if len(xs) != len(self.onnx_inputs):
            raise ValueError(f"ONNXModel: expects {len(self.onnx_inputs)} input(s) ({', '.join(self.onnx_inputs)}), "
                             f"but got {len(xs)}")
        env = dict(self._constants)
        for name, x in zip(self.onnx_inputs, xs):
            if name in self._float_inputs and not isinstance(x, Tensor):
                x = np.asarray(x, dtype=np.float32)
            env[name] = x
        for kind, module, ins, outs in self._steps:
            args = [env[n] if n else None for n in ins]
            _assign(env, outs, module(*args) if module is not None else kind(args))
        results = [env[n] for n in self.onnx_outputs]
        return results[0] if len(results) == 1 else tuple(results)

    def extra_repr(self) -> str:
        return f"opset={self.opset}, inputs={self.onnx_inputs}, outputs={self.onnx_outputs}"


def _assign(env: dict, outs: list, out) -> None:
    """Store a node's result: a tuple over its outputs (an omitted optional output is named ""),
    anything else as its first output."""
    if isinstance(out, tuple):
        env.update((name, value) for name, value in zip(outs, out) if name)
    else:
        env[outs[0]] = out


def _unique(name: str, taken: set) -> str:
    base = re.sub(r"\W", "_", name).strip("_") or "node"
    if base[0].isdigit():
        base = "n_" + base
    out, i = base, 1
    while out in taken:
        i += 1
        out = f"{base}_{i}"
    taken.add(out)
    return out


def load(source) -> ONNXModel:
    """Read an ONNX model (a path, or the file's bytes) into a Module that runs it with convscope's ops.

    Parameters
    ----------
    source : str, os.PathLike or bytes

    Returns
    -------
    ONNXModel
        A :class:`convscope.nn.Module` in eval mode (BatchNorm uses the file's statistics; call
        ``.train()`` to fine-tune); call it on ``(N, C, H, W)`` arrays or Tensors. Input sizes
        may differ from the ones the file was exported at where the graph allows it.

    Raises
    ------
    ValueError
        Not an ONNX file; an op, attribute value or opset convscope cannot run (named with its
        node); external tensor data outside the model's folder.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import convscope
    >>> from convscope import models, onnx
    >>> net = models.get("lenet5").eval()
    >>> back = onnx.load(onnx.export(net, (1, 28, 28), os.path.join(tempfile.mkdtemp(), "lenet5.onnx")))
    >>> [name for name, _ in back.named_children()][:3]
    ['conv_1', 'relu_2', 'maxpool_3']
    >>> x = np.random.default_rng(0).random((2, 1, 28, 28), dtype=np.float32)
    >>> with convscope.no_grad():
    ...     bool(np.allclose(back(x).data, net(x).data, atol=1e-5))
    True
    """
    onnx = _onnx()
    proto = _read(onnx, source)
    opset = _opset(proto)
    graph = proto.graph
    _check_ops(graph)
    static = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
    meta: set = set()
    known = set(static) | {v.name for v in graph.input}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    graph_outputs = {v.name for v in graph.output}
    steps, taken, fused = [], set(), set()
    for index, node in enumerate(graph.node):
        if id(node) in fused:                                    # a bias Add folded into the MatMul before it
            known.update(node.output)
            continue
        label = node.name or node.output[0]
        for name in node.input:
            if name and name not in known:
                raise ValueError(f"load: {node.op_type} node {label!r} reads {name!r}, which no earlier node makes")
        known.update(node.output)
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        ins = list(node.input)
        if node.op_type == "Constant":
            static[node.output[0]] = _constant_value(onnx, node, attrs)
            continue
        dynamic = [n for n in ins if n and n not in static]
        consts = {i: static[n] for i, n in enumerate(ins) if n and n in static}
        if node.op_type in _LAYERS and not (not dynamic and node.op_type in ("MatMul", "Gemm")):
            layer, ins, outs = _layer(node, attrs, ins, consts, static, consumers, graph_outputs, fused, label)
            if layer is not None:
                steps.append((_unique(label, taken), layer, ins, outs))
                continue
        run = _runner(node, attrs, opset, consts)
        if not dynamic:                                          # constant folding
            out = run([static.get(n) if n else None for n in ins])
            _assign(static, list(node.output), out)
            continue
        if node.op_type == "Shape" or all(n in meta for n in dynamic):
            meta.update(node.output)
            steps.append((run, None, ins, list(node.output)))
            continue
        description = ", ".join(f"{k}={_short(v)}" for k, v in sorted(attrs.items()))
        steps.append((_unique(label, taken), _op_module(node.op_type, lambda p, args, run=run: run(args), None,
                                                        description), ins, list(node.output)))
    used = {n for _, _, ins, _ in steps for n in ins} | graph_outputs
    constants = {n: v for n, v in static.items() if n in used}
    inputs = [v.name for v in graph.input if v.name not in static]
    shapes = {v.name: tuple((d.dim_value if d.HasField("dim_value") else None) for d in v.type.tensor_type.shape.dim)
              for v in graph.input if v.name in inputs}
    floats = {v.name for v in graph.input if v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT}
    for name in graph_outputs:
        if name not in known:
            raise ValueError(f"load: the graph's output {name!r} is made by no node")
    model = ONNXModel(steps, constants, inputs, [v.name for v in graph.output], shapes, floats, opset,
                      f"{proto.producer_name} {proto.producer_version}".strip())
    return model.eval()                  # an ONNX file is an inference graph; .train() to fine-tune


def _short(value) -> str:
    text = value.decode() if isinstance(value, bytes) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _runner(node, attrs, opset, consts):
    """run(args) for a non-layer node, its attributes checked now."""
    if node.op_type == "ConstantOfShape":
        value = _onnx().numpy_helper.to_array(attrs["value"]).reshape(-1) if "value" in attrs else np.zeros(1, np.float32)
        return lambda args: np.full(LY._ints(args[0]), value[0], dtype=value.dtype)
    if node.op_type in ("Gemm", "MatMul"):
        return _product(node, attrs)
    if node.op_type in _LAYERS:
        raise LY.NodeError(f"load: {node.op_type} node {node.name or node.output[0]!r}: its weights must be constants "
                          "(initializers), not computed from the input")
    prepare, run = N.OPS[node.op_type]
    params = prepare(node, attrs, opset, consts)
    return lambda args: run(params, args)


def _product(node, attrs):
    if node.op_type == "MatMul":
        return lambda args: args[0] @ args[1] if isinstance(args[0], Tensor) or isinstance(args[1], Tensor) \
            else np.matmul(args[0], args[1])
    alpha, beta = float(attrs.get("alpha", 1.0)), float(attrs.get("beta", 1.0))
    trans_a, trans_b = int(attrs.get("transA", 0)), int(attrs.get("transB", 0))

    def gemm(args):
        a, b = args[0], args[1]
        a = a.T if trans_a else a
        b = b.T if trans_b else b
        y = a @ b
        if alpha != 1.0:
            y = y * alpha
        if len(args) > 2 and args[2] is not None:
            y = y + (args[2] * beta if beta != 1.0 else args[2])
        return y
    return gemm


def _layer(node, attrs, ins, consts, static, consumers, graph_outputs, fused, label):
    """(module, its inputs, its outputs) for a node that becomes a layer, or (None, ...) to run it as an op."""
    op, outs = node.op_type, list(node.output)
    if op in ("Conv", "ConvTranspose"):
        if 1 not in consts or len(ins) < 2 or (len(ins) > 2 and ins[2] and 2 not in consts):
            raise LY.NodeError(f"load: {op} node {label!r}: its weight and bias must be constants (initializers)")
        make = LY._conv_layer if op == "Conv" else LY._conv_transpose_layer
        return make(node, attrs, consts[1], consts.get(2)), ins[:1], outs[:1]
    if op == "BatchNormalization":
        if not all(i in consts for i in (1, 2, 3, 4)):
            raise LY.NodeError(f"load: BatchNormalization node {label!r}: scale, bias, mean and var must be constants")
        if any(outs[1:]):
            LY._fail(node, "the training outputs (running mean and var) are not supported")
        return LY._batch_norm_layer(node, attrs, *(consts[i] for i in (1, 2, 3, 4))), ins[:1], outs[:1]
    weight = consts.get(1)
    if weight is None or weight.ndim != 2 or weight.dtype.kind != "f" or 0 in consts:
        return None, ins, outs
    if op == "Gemm":
        if attrs.get("transA", 0) or float(attrs.get("alpha", 1.0)) != 1.0 or float(attrs.get("beta", 1.0)) != 1.0:
            return None, ins, outs
        bias = consts.get(2)
        w = weight if attrs.get("transB", 0) else weight.T
        if len(ins) > 2 and ins[2] and (bias is None or bias.size != w.shape[0]):
            return None, ins, outs
        return LY._linear_layer(w, None if bias is None else bias.reshape(-1)), ins[:1], outs
    after = consumers.get(outs[0], [])                           # MatMul: fold a bias Add after it
    bias = None
    if len(after) == 1 and after[0].op_type == "Add" and outs[0] not in graph_outputs:
        other = [n for n in after[0].input if n != outs[0]]
        if len(other) == 1 and other[0] in static and static[other[0]].size == weight.shape[1] \
                and static[other[0]].ndim <= 1 + (static[other[0]].shape[:1] == (1,)):
            bias = static[other[0]].reshape(-1)
            fused.add(id(after[0]))
            outs = list(after[0].output)
    return LY._linear_layer(weight.T, bias), ins[:1], outs
