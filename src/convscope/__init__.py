"""convscope: compute, learn and explain convolutional filters.

A NumPy convolution engine with PyTorch's exact semantics (``convscope.nn.functional``), a small
autograd (``convscope.Tensor``), and tools that explain what filters do.
"""

import os as _os

# OpenBLAS's idle workers spin for 2^28 cycles (about 0.1 s) after each matrix product, which on a
# small machine starves the compiled loops that run next (measured 10x slower right after a
# product). 2^20 cycles (under a millisecond) keeps back-to-back products as fast. It takes effect
# when convscope is imported before NumPy; a value the user set wins.
_os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "20")

from . import backend, random  # noqa: E402
from . import nn
from .errors import ResourceError
from .autograd import Tensor, cat, enable_grad, is_grad_enabled, no_grad, stack, tensor
from .random import manual_seed
from .analysis import summary
from .io.weights import load, save

__version__ = "0.1.0"

__all__ = ["save", "load", "Tensor", "tensor", "cat", "stack", "no_grad", "enable_grad", "is_grad_enabled", "manual_seed", "summary", "backend", "random", "nn",
           "ResourceError", "__version__"]
