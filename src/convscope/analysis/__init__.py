"""Analysis of convolutional networks: output sizes, parameters, MACs and receptive fields.

Pure functions over numbers, each returning its result with the formula filled in:

>>> from convscope import analysis
>>> print(analysis.conv_output_size(28, 3).explain())
out = floor((28 + 2*0 - 1*(3-1) - 1) / 1) + 1 = 26
>>> analysis.receptive_field([(3, 1, 1), (3, 1, 1)]).rf
5
>>> round(analysis.compare_separable(64, 32, 3).ratio, 4)
0.1424

and :func:`summary`, which traces a model's forward pass and tabulates every layer.
This package imports :mod:`convscope.nn` and :mod:`convscope.ops`; they never import it.
"""

from .arithmetic import (ConvCost, OutputSize, SeparableComparison, compare_separable, conv_cost,
                         conv_output_size, conv_transpose_output_size, pool_output_size)
from .receptive import RECURRENCES, ReceptiveField, RFStep, receptive_field
from .model_summary import LayerRecord, Summary, parse_shape, summary

__all__ = [
    "OutputSize", "conv_output_size", "conv_transpose_output_size", "pool_output_size",
    "ConvCost", "conv_cost", "SeparableComparison", "compare_separable",
    "RFStep", "ReceptiveField", "receptive_field", "RECURRENCES",
    "LayerRecord", "Summary", "summary", "parse_shape",
]
