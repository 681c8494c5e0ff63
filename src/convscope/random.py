"""The seeded generator behind every random choice convscope makes (initialisation, dropout,
shuffling, augmentation), so ``convscope.manual_seed(0)`` makes a run reproducible.

Its state is a plain dict of ints and strings (NumPy's bit-generator state), so checkpoints can
store it as JSON, never pickled.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["manual_seed", "get_generator", "get_rng_state", "set_rng_state"]

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reset the global generator from ``seed`` (a non-negative int) and return it."""
    global _generator
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"manual_seed: seed expects a non-negative integer, but got {seed!r}")
    _generator = np.random.default_rng(int(seed))
    return _generator


def get_generator() -> np.random.Generator:
    """The global generator (use it, or pass your own ``np.random.Generator`` where accepted)."""
    return _generator


def get_rng_state() -> dict:
    """The global generator's state as a JSON-serialisable dict."""
    return _generator.bit_generator.state


def set_rng_state(state: dict) -> None:
    """Restore a state from :func:`get_rng_state`."""
    if not isinstance(state, dict) or "bit_generator" not in state:
        raise ValueError(f"set_rng_state: state expects a dict from get_rng_state(), but got {type(state).__name__}")
    bitgen = getattr(np.random, state["bit_generator"], None)
    if bitgen is None:
        raise ValueError(f"set_rng_state: unknown bit generator {state['bit_generator']!r}")
    gen = np.random.Generator(bitgen())
    gen.bit_generator.state = state
    global _generator
    _generator = gen
