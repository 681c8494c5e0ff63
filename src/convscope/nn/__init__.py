"""Neural-network building blocks, named as in ``torch.nn``."""

from . import functional
from .parameter import Parameter

__all__ = ["functional", "Parameter"]
