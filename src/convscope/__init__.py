"""convscope: compute, learn and explain convolutional filters.

A NumPy convolution engine with PyTorch's exact semantics (``convscope.nn.functional``), a small
autograd (``convscope.Tensor``), and tools that explain what filters do.
"""

from . import backend, random
from . import nn
from .errors import ResourceError
from .autograd import Tensor, cat, enable_grad, is_grad_enabled, no_grad, stack, tensor
from .random import manual_seed
from .analysis import summary

__version__ = "0.1.0"

__all__ = ["Tensor", "tensor", "cat", "stack", "no_grad", "enable_grad", "is_grad_enabled", "manual_seed", "summary", "backend", "random", "nn",
           "ResourceError", "__version__"]
