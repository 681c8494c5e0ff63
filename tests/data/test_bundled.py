"""The subsets shipped in the package: offline, balanced, checksummed, equal to the official images."""

import hashlib
import importlib.util
import json
import shutil

import numpy as np
import pytest

from convscope.data import FashionMNIST, MNIST, load_bundled
from convscope.data import bundled as B
from convscope.data.idx import decode_idx
from tests.conftest import REPO
from tests.data.conftest import flip_byte

SPLITS = [("mnist", True, 500), ("mnist", False, 100), ("fashion-mnist", True, 500), ("fashion-mnist", False, 100)]
BUNDLED_DIR = REPO / "src" / "convscope" / "data" / "bundled"


@pytest.mark.parametrize("name, train, per_class", SPLITS)
def test_loads_offline_and_balanced(name, train, per_class):
    ds = load_bundled(name, train=train)
    assert type(ds) is {"mnist": MNIST, "fashion-mnist": FashionMNIST}[name]
    assert len(ds) == 10 * per_class and ds.train is train and ds.root is None
    assert ds.data.shape == (10 * per_class, 28, 28) and ds.data.dtype == np.uint8
    assert ds.targets.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(ds.targets, minlength=10), np.full(10, per_class))
    image, label = ds[0]
    assert image.shape == (1, 28, 28) and isinstance(label, int)
    assert len(ds.classes) == 10


def test_bundled_classmethod_is_load_bundled():
    a, b = FashionMNIST.bundled(train=False), load_bundled("fashion-mnist", train=False)
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.targets, b.targets)
    assert repr(a) == "FashionMNIST(train=False, n=1000, bundled fashion-mnist test subset)"


@pytest.mark.parametrize("name, train, per_class", SPLITS)
def test_images_are_the_first_of_each_class_in_the_official_files(official, name, train, per_class):
    source = official(name, train)
    idx = np.sort(np.concatenate([np.flatnonzero(source.targets == c)[:per_class] for c in range(10)]))
    ds = load_bundled(name, train)
    np.testing.assert_array_equal(ds.data, source.data[idx])
    np.testing.assert_array_equal(ds.targets, source.targets[idx])
    np.testing.assert_array_equal(B.balanced_indices(source.targets, per_class), idx)


def test_manifest_matches_the_files_and_the_total_is_small():
    manifest = B.bundled_manifest()
    files = sorted(p.name for p in BUNDLED_DIR.iterdir())
    assert files == sorted(list(manifest["files"]) + [B.MANIFEST])
    total = 0
    for name, info in manifest["files"].items():
        raw = (BUNDLED_DIR / name).read_bytes()
        assert hashlib.sha256(raw).hexdigest() == info["sha256"] and len(raw) == info["bytes"]
        total += len(raw)
    assert total < 5 * 2**20            # well under the 8 MB budget
    for cls in (MNIST, FashionMNIST):
        for train, split in ((True, "train"), (False, "test")):
            assert manifest["datasets"][cls.FOLDER][split]["source"] == {f: cls.MD5[f] for f in cls.files(train)}


@pytest.fixture
def bundled_copy(tmp_path, monkeypatch):
    """A copy of the bundled folder that load_bundled reads instead of the package's."""
    copy = shutil.copytree(BUNDLED_DIR, tmp_path / "bundled")
    monkeypatch.setattr(B, "_BUNDLED", copy)
    return copy


def _edit_manifest(folder, edit):
    manifest = json.loads((folder / B.MANIFEST).read_text())
    edit(manifest)
    (folder / B.MANIFEST).write_text(json.dumps(manifest))


def test_tampered_file_is_refused(bundled_copy):
    flip_byte(bundled_copy / "mnist-test-images.idx.gz")
    with pytest.raises(ValueError, match=r"load_bundled: bundled file 'mnist-test-images\.idx\.gz' has SHA-256 "
                                         r"[0-9a-f]{64}, but manifest\.json records [0-9a-f]{64}; "
                                         r"the bundled data is damaged"):
        load_bundled("mnist", train=False)
    assert len(load_bundled("mnist", train=True)) == 5000        # the other split is intact


def test_tampered_manifest_hash_is_refused(bundled_copy):
    _edit_manifest(bundled_copy, lambda m: m["files"]["fashion-mnist-train-labels.idx.gz"].update(sha256="0" * 64))
    with pytest.raises(ValueError, match=r"'fashion-mnist-train-labels\.idx\.gz' has SHA-256 .* records 0{64}"):
        FashionMNIST.bundled(train=True)


def test_tampered_manifest_count_is_refused(bundled_copy):
    _edit_manifest(bundled_copy, lambda m: m["datasets"]["mnist"]["test"].update(count=999))
    with pytest.raises(ValueError, match=r"manifest\.json records 999 items for 'mnist' test, but "
                                         r"'mnist-test-images\.idx\.gz' holds 1000 images"):
        load_bundled("mnist", train=False)


def test_broken_manifest_and_missing_files(bundled_copy):
    (bundled_copy / "mnist-test-labels.idx.gz").unlink()
    with pytest.raises(FileNotFoundError, match=r"bundled file 'mnist-test-labels\.idx\.gz' is missing"):
        load_bundled("mnist", train=False)
    _edit_manifest(bundled_copy, lambda m: m["datasets"]["mnist"].pop("train"))
    with pytest.raises(ValueError, match=r"manifest\.json has no complete entry for 'mnist' train"):
        load_bundled("mnist", train=True)
    (bundled_copy / B.MANIFEST).write_text("{not json")
    with pytest.raises(ValueError, match=r"manifest\.json is not valid JSON"):
        load_bundled("mnist")


def test_argument_errors():
    with pytest.raises(ValueError, match=r"load_bundled: name expects one of 'mnist', 'fashion-mnist', "
                                         r"but got 'cifar'"):
        load_bundled("cifar")
    with pytest.raises(TypeError, match=r"load_bundled: train expects a bool, but got 'test'"):
        load_bundled("mnist", train="test")


def test_script_regenerates_the_same_content(shared_data, tmp_path):
    spec = importlib.util.spec_from_file_location("make_bundled_data", REPO / "scripts" / "make_bundled_data.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.main(["--data-dir", str(shared_data), "--out", str(tmp_path)]) == 0
    fresh, shipped = json.loads((tmp_path / B.MANIFEST).read_text()), B.bundled_manifest()
    assert {k: v for k, v in fresh.items() if k != "files"} == {k: v for k, v in shipped.items() if k != "files"}
    for name in shipped["files"]:      # compare contents, not bytes: another zlib may compress differently
        a = decode_idx((tmp_path / name).read_bytes(), name)
        b = decode_idx((BUNDLED_DIR / name).read_bytes(), name)
        np.testing.assert_array_equal(a, b)
