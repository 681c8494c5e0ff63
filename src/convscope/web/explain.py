"""What the network computed, read through the hooks, and one output cell explained.

:func:`trace` runs a model once on one input with :meth:`convscope.nn.Module.register_forward_hook`
on every leaf layer and :func:`convscope.autograd.register_op_hook` recording the ops, both
filtered to the calling thread. Each leaf call is paired with the op whose output *is* the
layer's output, so the explorer knows, for every layer, the op that made it (``conv2d``,
``max_pool2d``, ``relu``...), its operands (input, weight, bias) and its geometry (stride,
padding, dilation, groups) as the engine recorded them. Nothing is recomputed: the feature maps
are the layer outputs, and :func:`explain_cell` writes out the numbers the op combined for one
output cell (the products of a dot product, a pooling window, an activation's argument); the
value they add up to is the engine's, which the tests check against the written-out sum.

The caller holds the model's lock (:class:`~convscope.web.registry.ModelEntry`): module hooks
are per model, so two passes over one model must not interleave.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field

import numpy as np

from ..autograd import Tensor, no_grad, register_op_hook

__all__ = ["LayerRun", "Trace", "trace", "explain_cell", "explainable", "visible_layers", "CellError"]

# Ops whose output holds the same numbers as their input, in another shape: not worth a row.
_RESHAPES = ("reshape", "flatten", "permute", "view")
_TOP_TERMS = 16          # a Linear unit's dot product: the largest terms written out, the rest summed


class CellError(ValueError):
    """A cell request that does not fit the layer (unknown layer, index out of range).

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import models
    >>> t = trace(models.lenet5().eval(), np.zeros((1, 1, 28, 28), np.float32))
    >>> explain_cell(t, "0", channel=6, row=0, col=0)
    Traceback (most recent call last):
        ...
    convscope.web.explain.CellError: cell: (channel, row, col) expects indices inside the 6x28x28 output of layer '0' (channel 0..5, row 0..27, col 0..27), but got (6, 0, 0)
    """


@dataclass
class LayerRun:
    """One leaf layer's (last) call in a traced forward pass.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import models
    >>> run = trace(models.lenet5().eval(), np.zeros((1, 1, 28, 28), np.float32)).layers["3"]
    >>> run.type, run.op_name, run.source, run.output.shape, run.op.geometry["stride"]
    ('Conv2d', 'conv2d', '2', (1, 16, 10, 10), (1, 1))
    """

    name: str
    type: str
    output: np.ndarray                # what the layer returned, batch axis included
    op: object | None = None          # the OpCall whose output is the layer's output
    source: str | None = None         # the layer whose output this layer read ('input': the model input)
    passthrough: bool = False         # it returned its input unchanged (Dropout in eval, Identity)

    @property
    def op_name(self) -> str | None:
        return None if self.op is None else self.op.name


@dataclass
class Trace:
    """A traced forward pass: the model output and every leaf layer that ran, in call order.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import models
    >>> t = trace(models.lenet5().eval(), np.zeros((1, 1, 28, 28), np.float32), ops=False)
    >>> t.input.shape, t.output.shape, list(t.layers)[:3], t.layers["0"].op is None
    ((1, 1, 28, 28), (1, 10), ['0', '1', '2'], True)
    """

    input: np.ndarray
    output: np.ndarray
    layers: dict[str, LayerRun] = field(default_factory=dict)


def _leaves(model):
    return [(name, m) for name, m in model.named_modules() if name and next(m.children(), None) is None]


def trace(model, batch: np.ndarray, *, ops: bool = True) -> Trace:
    """Run ``model`` once on ``batch`` ``(1, C, H, W)`` and record every leaf layer's output.

    Parameters
    ----------
    model : Module
        In eval mode (the registry puts it there).
    batch : ndarray
        One input with its batch axis.
    ops : bool
        Also record the op behind each layer (needed by :func:`explain_cell`).

    Returns
    -------
    Trace

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import models
    >>> t = trace(models.lenet5().eval(), np.zeros((1, 1, 28, 28), np.float32))
    >>> [(name, run.op_name, run.source) for name, run in t.layers.items()][:4]
    [('0', 'conv2d', 'input'), ('1', 'relu', '0'), ('2', 'max_pool2d', '1'), ('3', 'conv2d', '2')]
    >>> t.output.shape
    (1, 10)
    """
    thread = threading.get_ident()
    calls, order = [], []
    made_by: dict[int, str] = {}
    x = Tensor(np.ascontiguousarray(batch))
    made_by[id(x)] = "input"
    keep = [x]                         # every Tensor whose id is a key stays alive until the end

    def recorder(name, module):
        def hook(mod, args, output):
            if threading.get_ident() != thread or not isinstance(output, Tensor):
                return
            first = args[0] if args else None
            order.append((name, type(module).__name__, output, made_by.get(id(first)), first is output))
            made_by[id(output)] = name
            keep.append(output)
        return hook

    def on_op(call):
        if threading.get_ident() == thread:
            calls.append(call)

    with contextlib.ExitStack() as hooks, no_grad():
        for name, module in _leaves(model):
            hooks.enter_context(module.register_forward_hook(recorder(name, module)))
        if ops:
            hooks.enter_context(register_op_hook(on_op))
        out = model(x)
    by_output = {id(call.output): call for call in calls}
    result = Trace(np.asarray(batch), np.array(out.data if isinstance(out, Tensor) else out, copy=True))
    for name, kind, output, source, same in order:
        result.layers.pop(name, None)                  # a layer called twice: its last call, in that place
        result.layers[name] = LayerRun(name, kind, np.array(output.data, copy=True), by_output.get(id(output)),
                                       source, same)
    return result


def visible_layers(t: Trace) -> list[LayerRun]:
    """The layers worth showing: not pass-throughs (Dropout in eval) and not reshapes (Flatten).

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import models
    >>> t = trace(models.lenet5().eval(), np.zeros((1, 1, 28, 28), np.float32))
    >>> [run.name for run in visible_layers(t)]
    ['0', '1', '2', '3', '4', '5', '7', '8', '9', '10', '11']
    """
    return [run for run in t.layers.values()
            if not run.passthrough and run.op_name not in _RESHAPES and run.output.ndim in (2, 4)]


# --------------------------------------------------------------------------- one cell

def _index(run: LayerRun, channel: int, row: int, col: int) -> tuple[int, ...]:
    shape = run.output.shape[1:]
    if len(shape) == 3:
        c, h, w = shape
        if not (0 <= channel < c and 0 <= row < h and 0 <= col < w):
            raise CellError(f"cell: (channel, row, col) expects indices inside the {c}x{h}x{w} output of layer "
                            f"{run.name!r} (channel 0..{c - 1}, row 0..{h - 1}, col 0..{w - 1}), but got "
                            f"({channel}, {row}, {col})")
        return (0, channel, row, col)
    (n,) = shape
    if not (0 <= channel < n) or row or col:
        raise CellError(f"cell: layer {run.name!r} gives a vector of {n} values: channel expects a unit in "
                        f"0..{n - 1} and row = col = 0, but got ({channel}, {row}, {col})")
    return (0, channel)


def _array(value):
    return None if value is None else np.asarray(value.data if isinstance(value, Tensor) else value)


def _taps(out_index: int, stride: int, pad_before: int, dilation: int, kernel: int) -> list[int]:
    """Input positions a window reads along one dim, as the op's geometry lays it out."""
    return [out_index * stride - pad_before + dilation * j for j in range(kernel)]


def _window(x: np.ndarray, channels, rows: list[int], cols: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """``x[c, rows, cols]`` for each channel, 0 where a tap lies on the padding; and the inside mask."""
    h, w = x.shape[-2:]
    inside_r = np.array([0 <= r < h for r in rows])
    inside_c = np.array([0 <= c < w for c in cols])
    mask = inside_r[:, None] & inside_c[None, :]
    rr = np.clip(rows, 0, h - 1)
    cc = np.clip(cols, 0, w - 1)
    values = x[np.asarray(channels)[:, None, None], rr[None, :, None], cc[None, None, :]]
    return np.where(mask[None], values, 0.0), mask


def _conv(run: LayerRun, index) -> dict:
    call = run.op
    x, w, b = (_array(v) for v in call.inputs[:3])
    g = call.geometry
    _, o, r, c = index
    (pt, _), (pl, _) = g["padding"]
    groups = int(g.get("groups", 1))
    per_group_in, per_group_out = w.shape[1], w.shape[0] // groups
    first = (o // per_group_out) * per_group_in
    channels = list(range(first, first + per_group_in))
    rows = _taps(r, g["stride"][0], pt, g["dilation"][0], w.shape[2])
    cols = _taps(c, g["stride"][1], pl, g["dilation"][1], w.shape[3])
    patch, inside = _window(x[0], channels, rows, cols)
    weights = w[o].astype(np.float64)
    products = weights * patch.astype(np.float64)
    sums = products.reshape(len(channels), -1).sum(axis=1)
    bias = 0.0 if b is None else float(b[o])
    return {
        "kind": "conv", "op": call.name, "stride": list(g["stride"]), "padding": [pt, pl],
        "dilation": list(g["dilation"]), "groups": groups, "kernel": list(w.shape[2:]),
        "window": {"rows": rows, "cols": cols, "inside": inside.tolist()},
        "terms": [{"channel": ch, "weights": weights[i].tolist(), "inputs": patch[i].astype(np.float64).tolist(),
                   "products": products[i].tolist(), "sum": float(sums[i])} for i, ch in enumerate(channels)],
        "bias": bias, "total": float(sums.sum() + bias),
    }


def _pool(run: LayerRun, index) -> dict:
    call = run.op
    x = _array(call.inputs[0])
    g = call.geometry
    _, ch, r, c = index
    kernel = g["kernel"]
    stride = g.get("stride") or kernel
    padding = g.get("padding", (0, 0))
    dilation = g.get("dilation", (1, 1))
    rows = _taps(r, stride[0], padding[0], dilation[0], kernel[0])
    cols = _taps(c, stride[1], padding[1], dilation[1], kernel[1])
    patch, inside = _window(x[0], [ch], rows, cols)
    values = patch[0].astype(np.float64)
    out = {"kind": "pool", "op": call.name, "channel_in": ch, "kernel": list(kernel), "stride": list(stride),
           "padding": list(padding), "window": {"rows": rows, "cols": cols, "inside": inside.tolist()},
           "values": values.tolist()}
    if call.name.startswith("max_pool"):
        masked = np.where(inside, values, -np.inf)
        out.update(rule="max", total=float(masked.max()))
    else:
        options = dict(call.options)
        divisor = options.get("divisor_override") or (values.size if options.get("count_include_pad", True)
                                                      else int(inside.sum()))
        out.update(rule="mean", divisor=int(divisor), total=float(values[inside].sum() / divisor))
    return out


def _batch_norm(run: LayerRun, index) -> dict:
    call = run.op
    x, weight, bias = (_array(v) for v in call.inputs[:3])
    options = dict(call.options)
    ch = index[1]
    mean, var = float(options["running_mean"][ch]), float(options["running_var"][ch])
    eps = float(options.get("eps", 1e-5))
    gamma = 1.0 if weight is None else float(weight[ch])
    beta = 0.0 if bias is None else float(bias[ch])
    value = float(x[index])
    return {"kind": "batch_norm", "op": call.name, "input": value, "mean": mean, "var": var, "eps": eps,
            "weight": gamma, "bias": beta, "total": (value - mean) / float(np.sqrt(var + eps)) * gamma + beta}


def _linear(run: LayerRun, index) -> dict:
    call = run.op
    x, w, b = (_array(v) for v in call.inputs[:3])
    unit = index[1]
    products = w[unit].astype(np.float64) * x[0].astype(np.float64)
    top = np.argsort(-np.abs(products), kind="stable")[:_TOP_TERMS]
    rest = float(products.sum() - products[top].sum())
    bias = 0.0 if b is None else float(b[unit])
    return {"kind": "linear", "op": call.name, "inputs_count": int(products.size),
            "terms": [{"index": int(i), "weight": float(w[unit, i]), "input": float(x[0, i]),
                       "product": float(products[i])} for i in top],
            "rest": rest, "rest_count": int(products.size - top.size), "bias": bias,
            "total": float(products.sum() + bias)}


def _elementwise(run: LayerRun, index) -> dict:
    x = _array(run.op.inputs[0])
    return {"kind": "elementwise", "op": run.op.name, "input": float(x[index])}


def _kind(run: LayerRun) -> str | None:
    call = run.op
    if call is None:
        return None
    name = call.name
    shapes = call.input_shapes
    if name == "conv2d" and len(shapes) >= 2 and shapes[1] is not None and len(shapes[1]) == 4:
        return "conv"
    if name in ("max_pool2d", "avg_pool2d"):
        return "pool"
    if name == "batch_norm" and "running_mean" in call.options and not call.options.get("training", False):
        return "batch_norm"
    if name == "linear" and run.output.ndim == 2:
        return "linear"
    tensors = [s for s in shapes if s is not None]
    if len(tensors) == 1 and tuple(tensors[0]) == tuple(run.output.shape):
        return "elementwise"
    return None


_EXPLAINERS = {"conv": _conv, "pool": _pool, "batch_norm": _batch_norm, "linear": _linear,
               "elementwise": _elementwise}


def explainable(run: LayerRun) -> bool:
    """Whether :func:`explain_cell` can write out how this layer computes a cell.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import models
    >>> t = trace(models.lenet5().eval(), np.zeros((1, 1, 28, 28), np.float32))
    >>> explainable(t.layers["3"]), explainable(t.layers["6"])        # a conv; a Flatten (a reshape)
    (True, False)
    """
    return _kind(run) is not None


def explain_cell(t: Trace, layer: str, channel: int, row: int, col: int) -> dict:
    """How one output value of ``layer`` was computed, with the numbers the op combined.

    Parameters
    ----------
    t : Trace
        From :func:`trace` with ``ops=True``.
    layer : str
        A leaf layer's name.
    channel, row, col : int
        The cell; for a layer without spatial dims, ``channel`` is the unit and row = col = 0.

    Returns
    -------
    dict
        ``value`` (the layer's output there, as the engine computed it), ``layer``, ``type``,
        ``source`` (the layer the op read, ``'input'`` for the model input) and, by ``kind``:
        ``'conv'``: per input channel the kernel ``weights``, the window's ``inputs`` (0 on the
        padding), their ``products`` and ``sum``, then ``bias`` and ``total`` (sum + bias);
        ``'pool'``: the window ``values`` and the ``rule`` (max or mean); ``'batch_norm'``:
        input, running mean and variance, eps, weight, bias; ``'linear'``: the largest terms
        and the rest; ``'elementwise'``: the ``input`` (a ReLU's argument); ``None``: an op
        the explorer does not write out.

    Raises
    ------
    CellError
        An unknown layer, or a cell outside its output.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import models
    >>> x = np.random.default_rng(0).random((1, 1, 28, 28), dtype=np.float32)
    >>> cell = explain_cell(trace(models.lenet5().eval(), x), "3", channel=2, row=4, col=5)
    >>> cell["kind"], len(cell["terms"]), cell["window"]["rows"]
    ('conv', 6, [4, 5, 6, 7, 8])
    >>> bool(np.isclose(cell["total"], cell["value"], rtol=1e-5, atol=1e-6))
    True
    """
    if layer not in t.layers:
        raise CellError(f"cell: layer expects one of the layers that ran ({', '.join(t.layers)}), but got {layer!r}")
    run = t.layers[layer]
    if run.output.ndim not in (2, 4):
        raise CellError(f"cell: layer expects a layer with (1, C, H, W) or (1, N) output, but {layer!r} gives "
                        f"{run.output.shape}")
    index = _index(run, channel, row, col)
    kind = _kind(run)
    body = {"kind": None, "op": run.op_name} if kind is None else _EXPLAINERS[kind](run, index)
    return {"layer": layer, "type": run.type, "source": run.source, "channel": channel, "row": row, "col": col,
            "value": float(run.output[index]), **body}
