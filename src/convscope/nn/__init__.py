"""Neural-network building blocks, named as in ``torch.nn``."""

from . import functional

__all__ = ["functional"]
