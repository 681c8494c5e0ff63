"""ONNX in and out: :func:`export` writes a convscope model as an ONNX file that onnxruntime (or any
ONNX tool) runs; :func:`load` reads an ONNX file (convscope's, PyTorch's, tf2onnx's,
Paddle2ONNX's...) into a Module that runs, trains and is explained with convscope's ops.

The work is done in :mod:`convscope.io.onnx_export`, :mod:`convscope.io.onnx_import` and
:mod:`convscope.io.onnx_nodes` (the op table). Needs the ``onnx`` extra.

Examples
--------
>>> import os, tempfile
>>> from convscope import models, onnx
>>> path = onnx.export(models.get("lenet5"), (1, 28, 28), os.path.join(tempfile.mkdtemp(), "lenet5.onnx"))
>>> type(onnx.load(path)).__name__
'ONNXModel'
"""

from .io.onnx_export import OPSET, export
from .io.onnx_import import IMPORTED, OPSETS, ONNXModel, load

__all__ = ["export", "load", "OPSET", "OPSETS", "IMPORTED", "ONNXModel"]
