"""Saving and loading: native checkpoints (``.npz``), model weights (safetensors, :mod:`.weights`),
never pickled, and image files."""

from .images import read_image, write_image
from . import weights
from .native import load, load_state_dict, save, save_state_dict

__all__ = ["save", "load", "save_state_dict", "load_state_dict", "read_image", "write_image", "weights"]
