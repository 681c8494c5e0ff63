"""MNIST / FashionMNIST from folders, and ArrayDataset."""

import shutil

import numpy as np
import pytest

from convscope.data import ArrayDataset, FashionMNIST, MNIST, write_idx
from tests.data.conftest import flip_byte


@pytest.mark.parametrize("cls, train, count", [(MNIST, True, 60000), (MNIST, False, 10000),
                                               (FashionMNIST, True, 60000), (FashionMNIST, False, 10000)])
def test_official_datasets(official, cls, train, count):
    ds = official(cls.FOLDER, train)
    assert type(ds) is cls and ds.train is train and len(ds) == count
    assert ds.data.shape == (count, 28, 28) and ds.data.dtype == np.uint8
    assert ds.targets.shape == (count,) and ds.targets.dtype == np.int64
    assert np.bincount(ds.targets, minlength=10).min() > 0.08 * count     # every class holds 8 % or more
    image, label = ds[5]
    assert image.shape == (1, 28, 28) and image.dtype == np.uint8 and type(label) is int
    np.testing.assert_array_equal(image[0], ds.data[5])
    assert label == ds.targets[5]
    np.testing.assert_array_equal(ds[-1][0][0], ds.data[count - 1])


def test_classes():
    assert MNIST.bundled(train=False).classes == [str(d) for d in range(10)]
    assert FashionMNIST.bundled(train=False).classes == [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def test_first_labels_are_the_known_ones(official):
    assert official("mnist", True).targets[:8].tolist() == [5, 0, 4, 1, 9, 2, 1, 3]
    assert official("mnist", False).targets[:8].tolist() == [7, 2, 1, 0, 4, 1, 4, 9]


def test_root_may_be_the_dataset_folder_or_its_parent(shared_data, official):
    direct = MNIST(shared_data / "mnist", train=False)
    np.testing.assert_array_equal(direct.data, official("mnist", False).data)
    assert direct.root == shared_data / "mnist" == official("mnist", False).root
    assert official("fashion-mnist", False).root == shared_data / "fashion-mnist"


def test_root_none_reads_the_environment_variable(shared_data, monkeypatch):
    monkeypatch.setenv("CONVSCOPE_DATA", str(shared_data))
    assert len(FashionMNIST(None, train=False)) == 10000
    monkeypatch.delenv("CONVSCOPE_DATA")
    with pytest.raises(ValueError, match=r"FashionMNIST: root is None and the CONVSCOPE_DATA environment variable "
                                         r"is not set.*FashionMNIST\.bundled\(\)"):
        FashionMNIST(None)


def test_missing_files_say_what_and_where(tmp_path):
    (tmp_path / "mnist").mkdir()
    shutil.copyfile(__file__, tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz")   # one of the two is not enough
    with pytest.raises(FileNotFoundError, match=r"MNIST: the test files t10k-images-idx3-ubyte\.gz, "
                                                r"t10k-labels-idx1-ubyte\.gz were not found \(looked in '.*mnist' "
                                                r"or '.*'\); pass download=True .*CONVSCOPE_DATA"):
        MNIST(tmp_path, train=False)


def _fake_split(folder, images, labels, train=False):
    folder.mkdir(exist_ok=True)
    names = MNIST.files(train)
    write_idx(folder / names[0], images)
    write_idx(folder / names[1], labels)
    return folder


def test_small_files_in_the_standard_layout_load(tmp_path):
    images = np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28)
    _fake_split(tmp_path, images, np.array([3, 1, 4], np.uint8), train=True)
    ds = MNIST(tmp_path)
    np.testing.assert_array_equal(ds.data, images)
    assert ds.targets.tolist() == [3, 1, 4]
    assert repr(ds).startswith("MNIST(train=True, n=3, root=")


def test_count_mismatch(tmp_path):
    _fake_split(tmp_path, np.zeros((5, 28, 28), np.uint8), np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match=r"MNIST: expected as many labels as images in .* "
                                         r"but got 5 images and 4 labels"):
        MNIST(tmp_path, train=False)


def test_labels_out_of_range(tmp_path):
    _fake_split(tmp_path, np.zeros((2, 28, 28), np.uint8), np.array([1, 10], np.uint8))
    with pytest.raises(ValueError, match=r"expected labels in 0\.\.9 .* but got labels from 1 to 10"):
        MNIST(tmp_path, train=False)


def test_wrong_image_dtype(tmp_path):
    _fake_split(tmp_path, np.zeros((2, 28, 28), np.float32), np.array([1, 2], np.uint8))
    with pytest.raises(ValueError, match=r"expected uint8 images \(N, H, W\) .* but got float32 images"):
        MNIST(tmp_path, train=False)


def test_verify_checks_md5(shared_data, tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in MNIST.files(train=False):
        shutil.copyfile(shared_data / "mnist" / name, folder / name)
    assert len(MNIST(tmp_path, train=False, verify=True)) == 10000
    flip_byte(folder / "t10k-labels-idx1-ubyte.gz", offset=-1)        # the gzip trailer: still a readable size
    with pytest.raises(ValueError, match=r"MNIST: file '.*t10k-labels-idx1-ubyte\.gz' has MD5 [0-9a-f]{32}, but the "
                                         r"published MD5 is ec29112dd5afa0611ce80d1b7f02629c; delete it"):
        MNIST(tmp_path, train=False, verify=True)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(train="yes"), TypeError, r"MNIST: train expects a bool, but got 'yes'"),
    (dict(download=1), TypeError, r"MNIST: download expects a bool"),
    (dict(verify=None), TypeError, r"MNIST: verify expects a bool"),
    (dict(timeout=0), ValueError, r"MNIST: timeout expects a positive number of seconds, but got 0"),
    (dict(mirrors=["ftp://example.org/"]), ValueError, r"MNIST: mirrors expects http:// or https:// URLs"),
    (dict(mirrors=[]), TypeError, r"MNIST: mirrors expects a URL string or a non-empty list"),
    (dict(root=3), TypeError, r"MNIST: root expects a folder path \(str or os.PathLike\) or None, but got int"),
])
def test_argument_errors(tmp_path, kwargs, error, match):
    kwargs = {"root": tmp_path, **kwargs}
    with pytest.raises(error, match=match):
        MNIST(**kwargs)


def test_index_errors():
    ds = MNIST.bundled(train=False)
    with pytest.raises(IndexError, match=r"MNIST: index 1000 is out of range for a dataset of 1000 items"):
        ds[1000]
    with pytest.raises(TypeError, match=r"MNIST: index expects an integer, but got 1.0"):
        ds[1.0]
    assert ds[np.int64(-1)][1] == ds.targets[-1]


# ---------------------------------------------------------------------------------------------- ArrayDataset

def test_array_dataset():
    images = np.arange(24, dtype=np.float32).reshape(4, 1, 2, 3)
    labels = np.array([3, 0, 2, 1])
    ds = ArrayDataset(images, labels)
    assert len(ds) == 4 and ds.data is images and ds.targets is labels
    image, label = ds[-2]
    np.testing.assert_array_equal(image, images[2])
    assert label == 2 and type(label) is int
    assert repr(ds) == "ArrayDataset(n=4, images=float32[1, 2, 3], labels=int64[])"


def test_array_dataset_errors():
    with pytest.raises(ValueError, match=r"ArrayDataset: images and labels expect the same number of items, "
                                         r"but images has 3 \(shape \(3, 2\)\) and labels 2"):
        ArrayDataset(np.zeros((3, 2)), np.zeros(2))
    with pytest.raises(ValueError, match=r"expect arrays with a first \(item\) dimension, "
                                         r"but got shapes \(\) and \(2,\)"):
        ArrayDataset(np.float32(1), np.zeros(2))
    with pytest.raises(IndexError, match=r"ArrayDataset: index -4 is out of range for a dataset of 3 items"):
        ArrayDataset(np.zeros(3), np.zeros(3))[-4]
