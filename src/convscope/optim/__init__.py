"""Optimizers and learning-rate schedulers, named and behaving as in ``torch.optim``.

An optimizer updates the ``.data`` of Parameters in place from their ``.grad``; a scheduler
changes the optimizer's ``'lr'`` per epoch. Both serialise to plain data (no pickle).

>>> import numpy as np
>>> import convscope
>>> from convscope.optim import SGD, lr_scheduler
>>> w = convscope.nn.Parameter(np.ones(3))
>>> opt = SGD([w], lr=0.1, momentum=0.9)
>>> sched = lr_scheduler.StepLR(opt, step_size=10)
>>> w.grad = np.full(3, 2.0)
>>> opt.step(); opt.zero_grad(); sched.step()
>>> w.data
array([0.8, 0.8, 0.8])
"""

from . import lr_scheduler
from .adam import Adam, AdamW
from .lr_scheduler import CosineAnnealingLR, LRScheduler, StepLR
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "lr_scheduler", "LRScheduler", "StepLR", "CosineAnnealingLR"]
