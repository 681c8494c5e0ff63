"""What each ONNX op does, on convscope's ops: the node table behind :func:`convscope.onnx.load`.

Every supported op has a *prepare* step, run once at load on the node's attributes (and on its
constant inputs), that checks what convscope can run and raises a ``ValueError`` naming the node
otherwise, and a *run* step that computes the op on its inputs. Inputs are Tensors (the data
flowing from the model's input, so gradients flow) or NumPy arrays (constants, and the shape
arithmetic that exporters write with ``Shape``/``Gather``/``Concat``...); a run step answers in
kind. Conv, ConvTranspose, BatchNormalization and the matrix products with a constant weight
become real layers: :mod:`convscope.io.onnx_layers`.

Semantics follow the ONNX operator specification at each opset (e.g. Softmax before opset 13
normalises over all dims from ``axis`` on; pools' strides default to 1, not to the kernel).
"""

from __future__ import annotations

import math
import operator

import numpy as np

from .. import autograd
from ..autograd import Tensor
from ..nn import functional as F
from .onnx_layers import NodeError, _data, _fail, _ints, _shape, _text, _torch_pads, _window_attrs, same_pads

__all__ = ["OPS"]


# =========================================================================== elementwise

def _int_div(a, b):
    q = np.abs(a) // np.abs(b)
    return (q * np.sign(a) * np.sign(b)).astype(np.result_type(a, b))


def _binary(fn, int_fn=None):
    def run(p, args):
        a, b = args[0], args[1]
        if not isinstance(a, Tensor) and not isinstance(b, Tensor):
            a, b = np.asarray(a), np.asarray(b)
            if int_fn is not None and a.dtype.kind in "iu" and b.dtype.kind in "iu":
                return int_fn(a, b)
        return fn(a, b)
    return run


def _pow(p, args):
    base, exponent = args
    if not isinstance(base, Tensor):
        base = np.asarray(base)
        return np.power(base, _data(exponent)).astype(base.dtype, copy=False)        # the base's type (ONNX)
    if isinstance(exponent, Tensor) or np.size(exponent) != 1:
        raise NodeError(f"load: Pow node {p['name']!r}: only a constant scalar exponent is supported for a tensor base")
    return base ** float(np.asarray(exponent).reshape(()))


def _unary(tensor_fn, array_fn):
    def run(p, args):
        x = args[0]
        return tensor_fn(x) if isinstance(x, Tensor) else array_fn(np.asarray(x))
    return run


def _no_gradient(op):
    def refuse(x):
        raise NodeError(f"load: {op} of a value that depends on the input is not supported (it has no gradient)")
    return refuse


def _float_unary(fn):
    """An activation: convscope's op for Tensors and float arrays alike."""
    return lambda p, args: fn(args[0], **p.get("kw", {}))


def _prep_clip(node, a, opset, consts):
    if opset < 11:
        low, high = a.get("min"), a.get("max")
    else:
        low, high = consts.get(1), consts.get(2)
        for i in (1, 2):
            if i < len(node.input) and node.input[i] and i not in consts:
                _fail(node, f"{('min', 'max')[i - 1]} must be a constant")
        if any(np.asarray(b).dtype.kind in "iu" for b in (low, high) if b is not None):
            return {"low": low, "high": high, "ints": True}           # integer Clip: shape values, kept exact
        low = None if low is None else float(np.asarray(low).reshape(()))
        high = None if high is None else float(np.asarray(high).reshape(()))
    return {"low": low, "high": high}


def _clip(p, args):
    if p["low"] is None and p["high"] is None:
        return args[0]
    if p.get("ints"):
        return np.clip(_data(args[0]), p["low"], p["high"])
    return F.clamp(args[0], p["low"], p["high"])


def _prep_alpha(default):
    return lambda node, a, opset, consts: {"kw": {"negative_slope": float(a.get("alpha", default))}}


def _prep_hardsigmoid(node, a, opset, consts):
    return {"kw": {"alpha": float(a.get("alpha", 0.2)), "beta": float(a.get("beta", 0.5))}}


def _prelu(p, args):
    x, slope = args
    return F.relu(x) - slope * F.relu(-x)


def _prep_softmax(node, a, opset, consts):
    return {"axis": int(a.get("axis", 1 if opset < 13 else -1)), "coerce": opset < 13,
            "fn": F.softmax if node.op_type == "Softmax" else F.log_softmax}


def _softmax(p, args):
    x = args[0]
    shape = _shape(x)
    axis = p["axis"] % max(len(shape), 1)
    if not p["coerce"] or axis == len(shape) - 1:
        return p["fn"](x, axis)
    lead = int(np.prod(shape[:axis], dtype=np.int64))           # before opset 13: over all dims from axis
    return p["fn"](x.reshape((lead, -1)), 1).reshape(shape)


# =========================================================================== pools

def _prep_pool(node, a, opset, consts):
    if "kernel_shape" not in a:
        _fail(node, "kernel_shape is required")
    rank = len(a["kernel_shape"])
    if rank not in (1, 2, 3):
        _fail(node, f"a {rank}-D pool is not supported")
    kernel, stride, dilation, fixed, auto = _window_attrs(node, a, rank)
    if node.op_type == "MaxPool" and int(a.get("storage_order", 0)):
        _fail(node, "storage_order=1 is not supported")
    if len(node.output) > 1 and node.output[1]:
        _fail(node, "the Indices output is not supported")
    if node.op_type == "AveragePool" and any(d != 1 for d in dilation):
        _fail(node, "dilations are not supported")
    return {"kernel": kernel, "stride": stride, "dilation": dilation, "fixed": fixed, "auto": auto, "rank": rank,
            "ceil": bool(a.get("ceil_mode", 0)), "include": bool(a.get("count_include_pad", 0)),
            "max": node.op_type == "MaxPool", "name": node.name or node.output[0]}


def _pool(p, args):
    x = args[0]
    rank, kernel = p["rank"], p["kernel"]
    if p["fixed"] is None:
        begin, end = same_pads(_shape(x)[2:], kernel, p["stride"], p["dilation"], p["auto"])
    else:
        begin, end = p["fixed"]
    half = all(b <= k // 2 for b, k in zip(begin, kernel))
    if p["max"]:
        fn = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[rank]
        if begin == end and half:
            return fn(x, kernel, p["stride"], tuple(begin), p["dilation"], ceil_mode=p["ceil"])
        y = fn(F.pad(x, _torch_pads(begin, end), value=-np.inf), kernel, p["stride"], 0, p["dilation"],
               ceil_mode=p["ceil"])
        return _ceil_crop(p, y, _shape(x), begin)
    fn = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[rank]
    if begin == end and half:
        return fn(x, kernel, p["stride"], tuple(begin), ceil_mode=p["ceil"], count_include_pad=p["include"])
    pads = _torch_pads(begin, end)
    mean = fn(F.pad(x, pads), kernel, p["stride"], 0, ceil_mode=p["ceil"], count_include_pad=True)
    if not p["include"] and any(begin + end):
        # count_include_pad=0: the mean over the input's own pixels, i.e. divided by their share of each window
        ones = F.pad(np.ones((1, 1) + _shape(x)[2:], dtype=_data(mean).dtype), pads)
        share = fn(ones, kernel, p["stride"], 0, ceil_mode=p["ceil"], count_include_pad=True)
        mean = mean / np.where(share > 0, share, 1)        # 0: a ceil_mode window past the input, cropped next
    return _ceil_crop(p, mean, _shape(x), begin)


def _ceil_crop(p, y, x_shape, begin):
    """A pool of the explicitly padded input, less (ceil_mode) the windows that would start in the end
    padding, which ONNX (and PyTorch) drop: the padded input no longer tells padding from input."""
    if not p["ceil"]:
        return y
    keep = [min(m, -(-(n + b) // s)) for m, n, b, s in zip(_shape(y)[2:], x_shape[2:], begin, p["stride"])]
    if tuple(keep) == _shape(y)[2:]:
        return y
    return y[(slice(None), slice(None)) + tuple(slice(0, k) for k in keep)]


def _global_average(p, args):
    x = args[0]
    rank = len(_shape(x)) - 2
    if rank in (1, 2, 3):
        return {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d}[rank](x, 1)
    return x.mean(dim=tuple(range(2, rank + 2)), keepdim=True)


def _global_max(p, args):
    x = args[0]
    shape = _shape(x)
    flat = x.reshape(shape[:2] + (-1,))
    top = flat.max(dim=2, keepdim=True)[0] if isinstance(flat, Tensor) else flat.max(axis=2, keepdims=True)
    return top.reshape(shape[:2] + (1,) * (len(shape) - 2))


# =========================================================================== shapes and indexing

def _reshape(p, args):
    x, shape = args[0], _ints(args[1])
    if not p["allowzero"]:
        shape = [_shape(x)[i] if n == 0 else n for i, n in enumerate(shape)]
    return x.reshape(tuple(shape))


def _flatten(p, args):
    x = args[0]
    shape = _shape(x)
    axis = p["axis"] + len(shape) if p["axis"] < 0 else p["axis"]          # -1: before the last dim
    return x.reshape((int(np.prod(shape[:axis], dtype=np.int64)), -1))


def _transpose(p, args):
    x = args[0]
    perm = p["perm"] or tuple(reversed(range(len(_shape(x)))))
    return x.permute(perm) if isinstance(x, Tensor) else np.transpose(x, perm)


def _axes(p, args, i):
    if p.get("axes") is not None:
        return p["axes"]
    return _ints(args[i]) if i < len(args) and args[i] is not None else None


def _squeeze(p, args):
    x = args[0]
    shape = _shape(x)
    axes = _axes(p, args, 1)
    axes = {a % len(shape) for a in axes} if axes is not None else {i for i, n in enumerate(shape) if n == 1}
    return x.reshape(tuple(n for i, n in enumerate(shape) if i not in axes))


def _unsqueeze(p, args):
    x = args[0]
    shape = list(_shape(x))
    axes = sorted(a % (len(shape) + len(_axes(p, args, 1))) for a in _axes(p, args, 1))
    for a in axes:
        shape.insert(a, 1)
    return x.reshape(tuple(shape))


def _concat(p, args):
    parts = [a for a in args if a is not None]
    if any(isinstance(a, Tensor) for a in parts):
        return autograd.cat([a if isinstance(a, Tensor) else Tensor(np.asarray(a, np.float32)) for a in parts],
                            dim=p["axis"])
    return np.concatenate([np.asarray(a) for a in parts], axis=p["axis"])


def _slice(p, args):
    x = args[0]
    shape = _shape(x)
    if p.get("starts") is not None:
        starts, ends, axes, steps = p["starts"], p["ends"], p.get("axes"), None
    else:
        starts, ends = _ints(args[1]), _ints(args[2])
        axes = _ints(args[3]) if len(args) > 3 and args[3] is not None else None
        steps = _ints(args[4]) if len(args) > 4 and args[4] is not None else None
    axes = list(range(len(starts))) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    index = [slice(None)] * len(shape)
    for start, end, axis, step in zip(starts, ends, axes, steps):
        n = shape[axis % len(shape)]
        if step < 0 and end < -n:
            end = None                                    # through the first element
        index[axis % len(shape)] = slice(start, end, step)          # Python clamps as ONNX does
    return x[tuple(index)]


def _gather(p, args):
    x, idx = args[0], np.asarray(_data(args[1])).astype(np.int64)
    axis = p["axis"] % len(_shape(x))
    if isinstance(x, Tensor):
        return x[(slice(None),) * axis + (idx,)]
    return np.take(np.asarray(x), idx, axis=axis)


def _split(p, args):
    x = args[0]
    shape = _shape(x)
    axis = p["axis"] % len(shape)
    sizes = p.get("split") or (_ints(args[1]) if len(args) > 1 and args[1] is not None else None)
    if sizes is None:
        count = p["outputs"]
        step = -(-shape[axis] // count)
        sizes = [min(step, shape[axis] - i * step) for i in range(count)]
    parts, start = [], 0
    for n in sizes:
        parts.append(x[(slice(None),) * axis + (slice(start, start + n),)])
        start += n
    return tuple(parts)


def _expand(p, args):
    x, shape = args[0], _ints(args[1])
    out = np.broadcast_shapes(_shape(x), tuple(shape))
    if isinstance(x, Tensor):
        return x + np.zeros(out, dtype=x.dtype)          # the gradient sums back over the broadcast dims
    return np.broadcast_to(np.asarray(x), out).copy()


def _range(p, args):
    start, limit, delta = (np.asarray(_data(a)).reshape(()) for a in args)
    if delta == 0:
        raise NodeError(f"load: Range node {p['name']!r}: delta is 0")
    return np.arange(start, limit, delta).astype(np.result_type(start, limit, delta))


def _shape_op(p, args):
    return np.array(_shape(args[0])[p["start"]:p["end"]], np.int64)


def _cast(p, args):
    x, to = args[0], p["to"]
    if isinstance(x, Tensor):
        return x.astype(to) if to.kind == "f" else x.data.astype(to)
    return np.asarray(x).astype(to)


def _pad(p, args):
    x = args[0]
    rank = len(_shape(x))
    if p.get("pads") is not None:
        pads, value, axes = p["pads"], p["value"], None
    else:
        pads = _ints(args[1])
        value = float(np.asarray(args[2]).reshape(())) if len(args) > 2 and args[2] is not None else 0.0
        axes = _ints(args[3]) if len(args) > 3 and args[3] is not None else None
    axes = list(range(rank)) if axes is None else [a % rank for a in axes]
    half = len(pads) // 2
    begin, end = [0] * rank, [0] * rank
    for a, lo, hi in zip(axes, pads[:half], pads[half:]):
        begin[a], end[a] = lo, hi
    first = next((i for i in range(rank) if begin[i] or end[i]), rank)
    return F.pad(x, _torch_pads(begin[first:], end[first:]), p["mode"], value if p["mode"] == "constant" else None)


def _reduce(kind):
    def run(p, args):
        x = args[0]
        axes = _axes(p, args, 1)
        if axes is None and p["noop"]:
            return x
        rank = len(_shape(x))
        dims = tuple(range(rank)) if not axes else tuple(sorted(a % rank for a in axes))
        keep = p["keepdims"]
        if isinstance(x, Tensor):
            if kind == "max":
                return x.max(dim=dims[0], keepdim=keep)[0] if len(dims) == 1 else _reduce_max_many(x, dims, keep)
            return (x.mean if kind == "mean" else x.sum)(dim=dims, keepdim=keep)
        return {"mean": np.mean, "sum": np.sum, "max": np.max}[kind](np.asarray(x), axis=dims, keepdims=keep)
    return run


def _reduce_max_many(x, dims, keep):
    for d in reversed(dims):
        x = x.max(dim=d, keepdim=True)[0]
    return x if keep else x.reshape(tuple(n for i, n in enumerate(x.shape) if i not in dims))


# =========================================================================== resize

def _prep_resize(node, a, opset, consts):
    mode = _text(a.get("mode", "nearest"))
    if node.op_type == "Upsample" or opset < 11:
        transform, nearest = "asymmetric", "floor"
        if mode == "linear" and node.op_type == "Upsample":
            _fail(node, "linear Upsample (asymmetric coordinates) is not supported; Resize with half_pixel is")
    else:
        transform = _text(a.get("coordinate_transformation_mode", "half_pixel"))
        nearest = _text(a.get("nearest_mode", "round_prefer_floor"))
    if mode == "nearest" and (transform, nearest) != ("asymmetric", "floor"):
        _fail(node, f"nearest with {transform}/{nearest} is not supported (asymmetric/floor is: PyTorch's nearest)")
    if mode == "linear" and transform not in ("half_pixel", "pytorch_half_pixel", "align_corners"):
        _fail(node, f"linear with coordinate_transformation_mode {transform!r} is not supported "
                    "(half_pixel, pytorch_half_pixel, align_corners are)")
    if mode not in ("nearest", "linear"):
        _fail(node, f"mode {mode!r} is not supported (nearest, linear are)")
    if int(a.get("antialias", 0)) or "axes" in a:
        _fail(node, "antialias and axes are not supported")
    scales = a.get("scales")
    where = (1, None) if node.op_type == "Upsample" or opset < 11 else (2, 3)
    return {"mode": mode, "transform": transform, "scales": scales, "where": where}


def _resize(p, args):
    x = args[0]
    shape = _shape(x)
    i_scales, i_sizes = p["where"]
    sizes = args[i_sizes] if i_sizes is not None and i_sizes < len(args) else None
    scales = p["scales"] if p["scales"] is not None else (args[i_scales] if i_scales < len(args) else None)
    if sizes is not None and np.size(sizes):
        size = tuple(_ints(sizes)[2:])
        if tuple(_ints(sizes)[:2]) != shape[:2]:
            raise NodeError("load: Resize: only the spatial dims may be resized")
        kw = {"size": size}
    else:
        factors = [float(s) for s in np.asarray(_data(scales)).reshape(-1)]
        if factors[:2] != [1.0, 1.0]:
            raise NodeError("load: Resize: only the spatial dims may be scaled")
        kw = {"scale_factor": tuple(factors[2:])}
    if p["mode"] == "nearest":
        return F.interpolate(x, mode="nearest", **kw)
    if p["transform"] == "pytorch_half_pixel":              # an output of length 1 is input index 0, not the centre
        outs = kw.get("size") or tuple(math.floor(n * f) for n, f in zip(shape[2:], kw["scale_factor"]))
        for d, n in enumerate(outs):
            if n == 1 and shape[2 + d] > 1:
                x = x[(slice(None),) * (2 + d) + (slice(0, 1),)]
                if "scale_factor" in kw:
                    kw["scale_factor"] = kw["scale_factor"][:d] + (1.0,) + kw["scale_factor"][d + 1:]
    mode = {1: "linear", 2: "bilinear", 3: "trilinear"}[len(shape) - 2]
    return F.interpolate(x, mode=mode, align_corners=p["transform"] == "align_corners", **kw)


# =========================================================================== the table

def _p_axis(default):
    return lambda node, a, opset, consts: {"axis": int(a.get("axis", default))}


def _p_axes(node, a, opset, consts):
    return {"axes": list(a["axes"]) if "axes" in a else None}


def _p_reduce(node, a, opset, consts):
    return {"axes": list(a["axes"]) if "axes" in a else None, "keepdims": bool(a.get("keepdims", 1)),
            "noop": bool(a.get("noop_with_empty_axes", 0))}


def _p_slice(node, a, opset, consts):
    if opset < 10:
        return {"starts": list(a["starts"]), "ends": list(a["ends"]), "axes": list(a["axes"]) if "axes" in a else None}
    return {}


def _p_pad(node, a, opset, consts):
    mode = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}.get(
        _text(a.get("mode", "constant")))
    if mode is None:
        _fail(node, f"mode {_text(a.get('mode'))!r} is not supported (constant, reflect, edge, wrap are)")
    if opset < 11:
        return {"mode": mode, "pads": list(a.get("pads", a.get("paddings", []))), "value": float(a.get("value", 0.0))}
    return {"mode": mode}


def _p_cast(node, a, opset, consts):
    from onnx import helper
    return {"to": np.dtype(helper.tensor_dtype_to_np_dtype(int(a["to"])))}


def _p_split(node, a, opset, consts):
    return {"axis": int(a.get("axis", 0)), "split": list(a["split"]) if "split" in a else None,
            "outputs": len(node.output)}


def _p_dropout(node, a, opset, consts):
    return {"outputs": len(node.output), "mask": len(node.output) > 1 and bool(node.output[1])}


def _dropout(p, args):
    """Inference: the input unchanged, and (as the second output, when there is one) an all-true mask."""
    if p["outputs"] == 1:
        return args[0]
    return args[0], np.ones(_shape(args[0]), dtype=bool) if p["mask"] else None


def _p_name(node, a, opset, consts):
    return {"name": node.name or node.output[0]}


def _none(node, a, opset, consts):
    return {}


_div = _binary(operator.truediv, _int_div)

#: op type -> (prepare(node, attrs, opset, constant inputs) -> params, run(params, args) -> output)
OPS = {
    "Add": (_none, _binary(operator.add)), "Sub": (_none, _binary(operator.sub)),
    "Mul": (_none, _binary(operator.mul)), "Div": (_none, _div), "Pow": (_p_name, _pow),
    "Neg": (_none, _unary(operator.neg, np.negative)), "Abs": (_none, _unary(lambda t: t.abs(), np.abs)),
    "Sqrt": (_none, _unary(lambda t: t.sqrt(), np.sqrt)), "Exp": (_none, _unary(lambda t: t.exp(), np.exp)),
    "Log": (_none, _unary(lambda t: t.log(), np.log)), "Reciprocal": (_none, _unary(lambda t: 1.0 / t, np.reciprocal)),
    "Floor": (_none, _unary(_no_gradient("Floor"), np.floor)), "Ceil": (_none, _unary(_no_gradient("Ceil"), np.ceil)),
    "Relu": (_none, _float_unary(F.relu)), "Sigmoid": (_none, _float_unary(F.sigmoid)),
    "Tanh": (_none, _float_unary(F.tanh)), "LeakyRelu": (_prep_alpha(0.01), _float_unary(F.leaky_relu)),
    "HardSigmoid": (_prep_hardsigmoid, _float_unary(F.hardsigmoid)), "HardSwish": (_none, _float_unary(F.hardswish)),
    "Clip": (_prep_clip, _clip), "PRelu": (_none, _prelu),
    "Softmax": (_prep_softmax, _softmax), "LogSoftmax": (_prep_softmax, _softmax),
    "MaxPool": (_prep_pool, _pool), "AveragePool": (_prep_pool, _pool),
    "GlobalAveragePool": (_none, _global_average), "GlobalMaxPool": (_none, _global_max),
    "Reshape": (lambda n, a, o, c: {"allowzero": bool(a.get("allowzero", 0))}, _reshape),
    "Flatten": (_p_axis(1), _flatten), "Transpose": (lambda n, a, o, c: {"perm": tuple(a.get("perm", ()))}, _transpose),
    "Squeeze": (_p_axes, _squeeze), "Unsqueeze": (_p_axes, _unsqueeze), "Concat": (_p_axis(0), _concat),
    "Slice": (_p_slice, _slice), "Gather": (_p_axis(0), _gather), "Split": (_p_split, _split),
    "Shape": (lambda n, a, o, c: {"start": int(a.get("start", 0)), "end": a.get("end")}, _shape_op),
    "Cast": (_p_cast, _cast), "Pad": (_p_pad, _pad), "Expand": (_none, _expand), "Range": (_p_name, _range),
    "Identity": (_none, lambda p, args: args[0]), "Dropout": (_p_dropout, _dropout),
    "ReduceMean": (_p_reduce, _reduce("mean")), "ReduceSum": (_p_reduce, _reduce("sum")),
    "ReduceMax": (_p_reduce, _reduce("max")),
    "Resize": (_prep_resize, _resize), "Upsample": (_prep_resize, _resize),
}
