"""Engine settings: workspace bound, chunk target, default dtype, scratch buffers."""

import numpy as np
import pytest

import convscope.nn.functional as F
from convscope import backend


def test_workspace_setting_is_validated_and_restored():
    before = backend.get_workspace_bytes()
    assert before == 256 * 2**20
    with backend.workspace(8 * 2**20):
        assert backend.get_workspace_bytes() == 8 * 2**20
        assert backend.get_chunk_bytes() <= 8 * 2**20
    assert backend.get_workspace_bytes() == before
    with pytest.raises(ValueError, match=r"set_workspace_bytes: nbytes expects at least 1 MiB \(1048576\), but got 10"):
        backend.set_workspace_bytes(10)
    with pytest.raises(TypeError, match=r"set_workspace_bytes: nbytes expects an integer, but got '1G'"):
        backend.set_workspace_bytes("1G")


def test_default_dtype():
    assert backend.get_default_dtype() == np.float32
    with pytest.raises(ValueError, match="set_default_dtype: dtype expects float32 or float64, but got int32"):
        backend.set_default_dtype(np.int32)


def test_results_never_alias_scratch_buffers(rng):
    """Two calls in a row return independent arrays although the engine reuses its scratch."""
    x, w = rng.standard_normal((4, 3, 8, 8)), rng.standard_normal((5, 3, 3, 3))
    first = F.conv2d(x, w, padding=1)
    keep = first.copy()
    F.conv2d(2 * x, w, padding=1)
    F.conv_transpose2d(first, w, stride=2)
    np.testing.assert_array_equal(first, keep)
    backend.release_scratch()
    np.testing.assert_allclose(F.conv2d(x, w, padding=1), keep)


def test_num_threads_setting(monkeypatch):
    monkeypatch.setenv("CONVSCOPE_NUM_THREADS", "3")
    assert backend.get_num_threads() == 3
    backend.set_num_threads(1)
    try:
        assert backend.get_num_threads() == 1
    finally:
        backend.set_num_threads(None)
    with pytest.raises(ValueError, match=r"set_num_threads: n expects a positive integer or None, but got 0"):
        backend.set_num_threads(0)
