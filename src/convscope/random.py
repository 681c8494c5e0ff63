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
    """Reset the global generator from ``seed`` (a non-negative int) and return it.

    Examples
    --------
    >>> from convscope import nn, random as cs_random
    >>> state = cs_random.get_rng_state()
    >>> _ = cs_random.manual_seed(0)
    >>> a = nn.Linear(3, 2).weight.numpy()
    >>> _ = cs_random.manual_seed(0)
    >>> bool((nn.Linear(3, 2).weight.numpy() == a).all())            # the same initial weights
    True
    >>> cs_random.set_rng_state(state)
    """
    global _generator
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"manual_seed: seed expects a non-negative integer, but got {seed!r}")
    _generator = np.random.default_rng(int(seed))
    return _generator


def get_generator() -> np.random.Generator:
    """The global generator (use it, or pass your own ``np.random.Generator`` where accepted).

    Examples
    --------
    >>> from convscope import random as cs_random
    >>> state = cs_random.get_rng_state()
    >>> _ = cs_random.manual_seed(0)
    >>> first = cs_random.get_generator().random()
    >>> _ = cs_random.manual_seed(0)
    >>> cs_random.get_generator().random() == first
    True
    >>> cs_random.set_rng_state(state)
    """
    return _generator


def get_rng_state() -> dict:
    """The global generator's state as a JSON-serialisable dict.

    Examples
    --------
    >>> import json
    >>> from convscope import random as cs_random
    >>> state = cs_random.get_rng_state()
    >>> draws = cs_random.get_generator().random(3)
    >>> cs_random.set_rng_state(json.loads(json.dumps(state)))     # survives JSON
    >>> bool((cs_random.get_generator().random(3) == draws).all())
    True
    """
    return _generator.bit_generator.state


def set_rng_state(state: dict) -> None:
    """Restore a state from :func:`get_rng_state`.

    Examples
    --------
    >>> from convscope import random as cs_random
    >>> state = cs_random.get_rng_state()
    >>> first = cs_random.get_generator().integers(1000, size=4)
    >>> cs_random.set_rng_state(state)
    >>> bool((cs_random.get_generator().integers(1000, size=4) == first).all())
    True
    """
    if not isinstance(state, dict) or "bit_generator" not in state:
        raise ValueError(f"set_rng_state: state expects a dict from get_rng_state(), but got {type(state).__name__}")
    bitgen = getattr(np.random, state["bit_generator"], None)
    if bitgen is None:
        raise ValueError(f"set_rng_state: unknown bit generator {state['bit_generator']!r}")
    gen = np.random.Generator(bitgen())
    gen.bit_generator.state = state
    global _generator
    _generator = gen
