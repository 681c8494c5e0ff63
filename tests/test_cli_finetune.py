"""Pretrained weights and fine-tuning: models.get(weights=...), the bundled LeNet-5 and small_vgg,
and `convscope train --init-from WEIGHTS --freeze PREFIX`."""

import json
import subprocess
import sys

import numpy as np
import pytest

import convscope
from convscope import data, models
from convscope.train import evaluate
from convscope.io.weights import load_state_dict as load_weights

pytest.importorskip("safetensors", reason="the weights extra (safetensors) is not installed")


def _bundled_accuracy(name, dataset):
    net = models.get(name, weights="bundled")
    mean, std = {"mnist": (0.1307, 0.3081), "fashion-mnist": (0.2860, 0.3530)}[dataset]
    test = (data.MNIST if dataset == "mnist" else data.FashionMNIST).bundled(train=False)
    return evaluate(net, data.DataLoader(test, batch_size=500, transform=data.Normalize(mean, std)))["accuracy"]


def test_the_bundled_lenet5_classifies_mnist():
    meta = models.bundled_weights()["lenet5"]
    assert meta["dataset"] == "mnist" and float(meta["test_accuracy"]) >= 0.99
    assert _bundled_accuracy("lenet5", "mnist") >= 0.98          # the 1,000 shipped test images


def test_the_bundled_small_vgg_classifies_fashion_mnist():
    if "small_vgg" not in models.bundled_weights():
        pytest.skip("small_vgg's bundled weights are not in this checkout")
    assert _bundled_accuracy("small_vgg", "fashion-mnist") >= 0.88


def test_weights_from_a_file_and_their_errors(tmp_path):
    convscope.manual_seed(3)
    source = models.get("lenet5")
    path = convscope.save(source, tmp_path / "w.safetensors")
    net = models.get("lenet5", weights=path)
    np.testing.assert_array_equal(net.state_dict()["0.weight"], source.state_dict()["0.weight"])
    with pytest.raises(ValueError, match=r"do not fit lenet5\(\{'num_classes': 5\}\)"):
        models.get("lenet5", num_classes=5, weights=path)
    with pytest.raises(ValueError, match=r"weights='bundled' expects a model with pretrained weights"):
        models.get("resnet18", weights="bundled")


def run_train(tmp_path, *argv):
    return subprocess.run([sys.executable, "-m", "convscope", "train", "--bundled", "--limit", "256", "--epochs", "1",
                           "--no-progress", "--out", str(tmp_path / "run"), *argv],
                          capture_output=True, text=True, timeout=300)


def test_fine_tuning_starts_from_the_weights_and_keeps_frozen_layers(tmp_path):
    done = run_train(tmp_path, "--dataset", "fashion-mnist", "--init-from", "bundled", "--freeze", "0", "--freeze", "3")
    assert done.returncode == 0, done.stderr
    trained = load_weights(tmp_path / "run" / "model.safetensors")
    start = models.get("lenet5", weights="bundled").state_dict()
    for name in ("0.weight", "0.bias", "3.weight", "3.bias"):              # frozen: unchanged
        np.testing.assert_array_equal(trained[name], start[name])
    assert not np.array_equal(trained["7.weight"], start["7.weight"])       # trained
    record = json.loads((tmp_path / "run" / "history.json").read_text())["run"]
    assert record["init_from"] == "bundled" and record["freeze"] == ["0", "3"]


@pytest.mark.parametrize("argv, message", [
    (["--init-from", "bundled", "--model", "resnet18"], "--init-from bundled expects a model with pretrained weights"),
    (["--init-from", "missing.safetensors"], "--init-from expects 'bundled' or a weights file, but 'missing.safetensors' does not exist"),
    (["--init-from", "bundled", "--freeze", "conv9"], "--freeze expects a parameter name or prefix of lenet5"),
])
def test_fine_tuning_mistakes_get_one_line(tmp_path, argv, message):
    done = run_train(tmp_path, *argv)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and message in done.stderr


def test_weights_that_do_not_fit_get_one_line(tmp_path):
    path = convscope.save({"x": np.ones(2, np.float32)}, tmp_path / "bad.safetensors")
    done = run_train(tmp_path, "--init-from", str(path))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "--init-from: the weights in" in done.stderr and "do not fit lenet5" in done.stderr


def test_viz_shows_the_pretrained_filters(tmp_path):
    from PIL import Image
    out = tmp_path / "filters.png"
    done = subprocess.run([sys.executable, "-m", "convscope", "viz", "filters", "--model", "lenet5", "--weights", "bundled",
                           "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    picture = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert picture.shape[0] > 100 and picture.std() > 20                     # a drawn grid, not a blank page
    path = convscope.save(models.get("lenet5", weights="bundled"), tmp_path / "copy.safetensors")
    again = subprocess.run([sys.executable, "-m", "convscope", "viz", "filters", "--model", "lenet5", "--weights", str(path),
                            "-o", str(tmp_path / "again.png")], capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    wrong = subprocess.run([sys.executable, "-m", "convscope", "viz", "filters", "--model", "resnet18", "--weights",
                            "bundled", "-o", str(tmp_path / "x.png")], capture_output=True, text=True, timeout=120)
    assert wrong.returncode == 2 and "--weights bundled expects a model with pretrained weights" in wrong.stderr
    assert "Traceback" not in wrong.stderr and len(wrong.stderr.strip().splitlines()) == 1


def test_train_writes_safetensors_that_rebuild_the_model(tmp_path, monkeypatch):
    """OUT/model.safetensors names the model: convscope.load rebuilds it; without safetensors, model.npz."""
    from convscope import cli_train
    from convscope.io import weights

    model = models.get("lenet5")
    path = cli_train._save_weights(tmp_path, model, {"dataset": "mnist"})
    assert path.name == "model.safetensors"
    back = convscope.load(path)
    assert type(back).__name__ == type(model).__name__
    assert weights.read_metadata(path)["dataset"] == "mnist"

    def missing():
        raise ModuleNotFoundError("no safetensors")
    monkeypatch.setattr(weights, "_safetensors", missing)
    assert cli_train._save_weights(tmp_path, model, {}).name == "model.npz"
