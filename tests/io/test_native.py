"""convscope.io's native format: a tree of containers, scalars and arrays in one .npz, never pickled."""

import numpy as np
import pytest

from convscope import io, models


def test_a_tree_round_trips_exactly(tmp_path):
    tree = {"epoch": 3, "lr": 1e-3, "name": "lenet5", "flag": True, "none": None,
            "history": [{"loss": 0.5, "acc": np.float64(0.9)}],
            "weights": {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "i": np.array([1, 2], np.int64)}}
    back = io.load(io.save(tmp_path / "x.npz", tree, kind="checkpoint"), kind="checkpoint")
    assert back["epoch"] == 3 and back["name"] == "lenet5" and back["flag"] is True and back["none"] is None
    assert back["history"] == [{"loss": 0.5, "acc": 0.9}]
    for key in ("w", "i"):
        np.testing.assert_array_equal(back["weights"][key], tree["weights"][key])
        assert back["weights"][key].dtype == tree["weights"][key].dtype


def test_a_state_dict_round_trips_and_loads_into_the_model(tmp_path):
    model = models.lenet5()
    io.save_state_dict(tmp_path / "m.npz", model.state_dict())
    fresh = models.lenet5()
    fresh.load_state_dict(io.load_state_dict(tmp_path / "m.npz"))
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[key], value)


def test_kind_missing_files_and_unsupported_values_are_clear_errors(tmp_path):
    path = io.save(tmp_path / "x.npz", {"a": 1}, kind="object")
    with pytest.raises(ValueError, match=r"expects a checkpoint, but holds a object"):
        io.load(path, kind="checkpoint")
    with pytest.raises(FileNotFoundError, match=r"load: no file at"):
        io.load(tmp_path / "missing.npz")
    with pytest.raises(TypeError, match=r"save: obj.f holds a set"):
        io.save(tmp_path / "y.npz", {"f": {1, 2}})
    assert not (tmp_path / "y.npz").exists()


def test_a_failed_save_leaves_the_previous_file_and_no_temp_file(tmp_path):
    path = io.save(tmp_path / "x.npz", {"a": np.ones(3)})
    before = path.read_bytes()
    with pytest.raises(TypeError):
        io.save(path, {"a": object()})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npz"]
