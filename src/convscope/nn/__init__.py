"""Neural-network building blocks, named as in ``torch.nn``."""

from . import functional, init
from .layers import (AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Conv1d, Conv2d, Conv3d, ConvTranspose1d,
                     ConvTranspose2d, ConvTranspose3d, CrossEntropyLoss, DepthwiseSeparableConv2d, Dropout, Flatten,
                     Hardsigmoid, Hardswish, Hardtanh, Identity, LeakyReLU, Linear, LogSoftmax, MaxPool2d, MSELoss, NLLLoss, ReLU, ReLU6, Sigmoid,
                     Softmax, Tanh, Upsample)
from .module import (Module, ModuleList, Sequential, register_module_forward_hook, register_module_forward_pre_hook,
                     register_module_full_backward_hook, register_module_full_backward_pre_hook)
from .parameter import Parameter

__all__ = [
    "functional", "init", "Parameter", "Module", "Sequential", "ModuleList",
    "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
    "DepthwiseSeparableConv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
    "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Hardtanh", "ReLU6", "Hardsigmoid", "Hardswish", "Softmax", "LogSoftmax", "Dropout", "Flatten", "Identity",
    "Linear", "BatchNorm2d", "CrossEntropyLoss", "NLLLoss", "MSELoss", "Upsample",
    "register_module_forward_pre_hook", "register_module_forward_hook",
    "register_module_full_backward_pre_hook", "register_module_full_backward_hook",
]
