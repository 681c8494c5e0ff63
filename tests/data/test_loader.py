"""DataLoader: batches, reproducible and resumable order, transforms, argument errors."""

import numpy as np
import pytest

import convscope
from convscope.data import ArrayDataset, DataLoader, MNIST
from convscope.data.transforms import Compose, RandomCrop, RandomHorizontalFlip


def indexed(n=23, shape=(1, 2, 2)):
    """A dataset whose image i is filled with the value i, so a batch tells which items it holds."""
    images = np.broadcast_to(np.arange(n, dtype=np.float64).reshape((n,) + (1,) * len(shape)), (n,) + shape).copy()
    return ArrayDataset(images, np.arange(n) % 10)


def ids(images):
    return images.reshape(len(images), -1)[:, 0].astype(int).tolist()


def one_pass(loader):
    return [(images.copy(), labels.copy()) for images, labels in loader]


class ItemsOnly:
    """Only __len__ and __getitem__: the loader must stack items one by one."""

    def __init__(self, dataset):
        self.inner = dataset

    def __len__(self):
        return len(self.inner)

    def __getitem__(self, i):
        return self.inner[i]


def test_mnist_batches():
    ds = MNIST.bundled(train=False)
    loader = DataLoader(ds, batch_size=64)
    batches = one_pass(loader)
    assert len(loader) == len(batches) == 16
    images, labels = batches[0]
    assert images.shape == (64, 1, 28, 28) and images.dtype == np.float32
    assert labels.shape == (64,) and labels.dtype == np.int64
    np.testing.assert_array_equal(images, ds.data[:64, None].astype(np.float32) / np.float32(255))   # uint8 -> x / 255
    np.testing.assert_array_equal(labels, ds.targets[:64])
    assert batches[-1][0].shape == (1000 - 15 * 64, 1, 28, 28)
    assert 0.0 <= min(b[0].min() for b in batches) and max(b[0].max() for b in batches) == 1.0


def test_drop_last_and_len():
    ds = indexed(23)
    assert len(DataLoader(ds, batch_size=5)) == 5 and len(DataLoader(ds, batch_size=5, drop_last=True)) == 4
    assert len(DataLoader(ds, batch_size=23, drop_last=True)) == 1
    assert len(DataLoader(ds, batch_size=24, drop_last=True)) == 0
    sizes = [len(labels) for _, labels in DataLoader(ds, batch_size=5, drop_last=True)]
    assert sizes == [5, 5, 5, 5]
    assert [len(lab) for _, lab in DataLoader(ds, batch_size=5)] == [5, 5, 5, 5, 3]


def test_float_images_keep_dtype_and_values_and_batches_are_copies():
    ds = indexed(6)
    images, labels = next(iter(DataLoader(ds, batch_size=4)))
    assert images.dtype == np.float64 and ids(images) == [0, 1, 2, 3] and labels.tolist() == [0, 1, 2, 3]
    images[:] = -1
    assert ds.data.min() == 0


def test_two_dimensional_items_gain_a_channel_axis():
    ds = ArrayDataset(np.arange(5 * 3 * 4, dtype=np.int16).reshape(5, 3, 4), np.arange(5))
    for dataset in (ds, ItemsOnly(ds)):
        images, _ = next(iter(DataLoader(dataset, batch_size=5)))
        assert images.shape == (5, 1, 3, 4) and images.dtype == np.float32       # other integers: float32, unscaled
        np.testing.assert_array_equal(images[:, 0], ds.data)


def test_shuffled_order_is_the_documented_permutation():
    loader = DataLoader(indexed(23), batch_size=4, shuffle=True, seed=7)
    for k in range(3):
        want = np.random.default_rng([7, k]).permutation(23)
        np.testing.assert_array_equal(loader.order(), want)
        assert sum((ids(images) for images, _ in loader), []) == want.tolist()


def test_every_item_once_per_epoch_and_epochs_differ():
    loader = DataLoader(indexed(50), batch_size=8, shuffle=True, seed=3)
    orders = []
    for _ in range(3):
        seen = sum((ids(images) for images, _ in loader), [])
        assert sorted(seen) == list(range(50))
        orders.append(seen)
    assert orders[0] != orders[1] != orders[2] != orders[0]
    assert loader.epoch == 3


def test_same_seed_same_order_other_seed_other_order():
    a, b, c = (DataLoader(indexed(40), batch_size=6, shuffle=True, seed=s) for s in (11, 11, 12))
    pass_a, pass_b, pass_c = (sum((ids(x) for x, _ in loader), []) for loader in (a, b, c))
    assert pass_a == pass_b != pass_c


def test_without_shuffle_the_order_is_the_dataset_order():
    loader = DataLoader(indexed(9), batch_size=4, seed=1)
    for _ in range(2):
        assert sum((ids(x) for x, _ in loader), []) == list(range(9))


def test_epoch_advances_only_when_a_pass_completes():
    loader = DataLoader(indexed(20), batch_size=5, shuffle=True, seed=0)
    first = next(iter(loader))[0]
    assert loader.epoch == 0                                  # left early: still pass 0
    np.testing.assert_array_equal(next(iter(loader))[0], first)
    one_pass(loader)
    assert loader.epoch == 1
    loader.set_epoch(7)
    it = iter(loader)                                         # the pass is fixed when iteration starts
    loader.set_epoch(0)
    assert ids(next(it)[0]) == np.random.default_rng([0, 7]).permutation(20)[:5].tolist()


@pytest.mark.parametrize("items_only", [False, True])
def test_set_epoch_resumes_exactly_with_transforms(items_only):
    ds = MNIST.bundled(train=False)
    dataset = ItemsOnly(ds) if items_only else ds
    transform = Compose([RandomCrop(28, padding=4), RandomHorizontalFlip()])
    run = DataLoader(dataset, batch_size=100, shuffle=True, seed=5, transform=transform)
    passes = [one_pass(run) for _ in range(3)]
    resumed = DataLoader(dataset, batch_size=100, shuffle=True, seed=5, transform=transform)
    resumed.set_epoch(2)
    for (x, y), (x2, y2) in zip(passes[2], one_pass(resumed), strict=True):
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(passes[0][0][0], passes[1][0][0])
    assert resumed.epoch == 3


def test_fast_path_and_item_path_agree():
    ds = MNIST.bundled(train=False)
    kwargs = dict(batch_size=128, shuffle=True, seed=2, transform=RandomCrop(24, padding=1))
    for (x, y), (x2, y2) in zip(one_pass(DataLoader(ds, **kwargs)), one_pass(DataLoader(ItemsOnly(ds), **kwargs)),
                                strict=True):
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)


def test_transform_batches_get_distinct_reproducible_generators():
    calls = []

    def spy(images, rng):
        calls.append(rng.integers(2**62))
        return images

    loader = DataLoader(indexed(12), batch_size=4, seed=9, transform=spy)
    one_pass(loader)
    loader.set_epoch(0)
    one_pass(loader)
    assert calls[:3] == calls[3:6] and len(set(calls[:3])) == 3


def test_seed_none_draws_from_the_global_generator(restore_global_rng):
    convscope.manual_seed(123)
    a = DataLoader(indexed(5), shuffle=True)
    convscope.manual_seed(123)
    b = DataLoader(indexed(5), shuffle=True)
    assert a.seed == b.seed and isinstance(a.seed, int) and a.seed >= 0
    assert DataLoader(indexed(5), shuffle=True).seed != a.seed


def test_empty_dataset():
    loader = DataLoader(ArrayDataset(np.zeros((0, 1, 2, 2)), np.zeros(0, np.int64)), batch_size=3, shuffle=True, seed=0)
    assert len(loader) == 0 and one_pass(loader) == [] and loader.epoch == 1


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(batch_size=0), ValueError, r"DataLoader: batch_size expects a positive integer, but got 0"),
    (dict(batch_size=2.0), TypeError, r"DataLoader: batch_size expects an integer, but got 2.0"),
    (dict(batch_size=True), TypeError, r"batch_size expects an integer, but got True"),
    (dict(shuffle="yes"), TypeError, r"DataLoader: shuffle expects a bool, but got 'yes'"),
    (dict(drop_last=1), TypeError, r"DataLoader: drop_last expects a bool, but got 1"),
    (dict(seed=-1), ValueError, r"DataLoader: seed expects an integer >= 0, but got -1"),
    (dict(seed=1.5), TypeError, r"DataLoader: seed expects an integer, but got 1.5"),
    (dict(transform="flip"), TypeError, r"DataLoader: transform expects a callable transform\(images, rng\) or None"),
])
def test_argument_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        DataLoader(indexed(4), **kwargs)


def test_dataset_errors():
    with pytest.raises(TypeError, match=r"DataLoader: dataset expects an object with __len__ and __getitem__, "
                                        r"but got int"):
        DataLoader(3)
    with pytest.raises(TypeError, match=r"DataLoader: dataset.targets expects integer class labels, one per item, "
                                        r"but got dtype float64 with shape \(4,\)"):
        DataLoader(ArrayDataset(np.zeros((4, 2, 2)), np.zeros(4)))
    with pytest.raises(TypeError, match=r"dataset\[i\]\[1\] expects integer class labels"):
        next(iter(DataLoader(ItemsOnly(ArrayDataset(np.zeros((4, 2, 2)), np.zeros(4))), batch_size=2)))
    with pytest.raises(ValueError, match=r"DataLoader\.set_epoch: epoch expects an integer >= 0, but got -1"):
        DataLoader(indexed(4)).set_epoch(-1)


def test_transform_must_keep_the_batch():
    loader = DataLoader(indexed(4), batch_size=2, transform=lambda images, rng: images[:1])
    with pytest.raises(ValueError, match=r"DataLoader: transform expects to return an array of 2 images, "
                                         r"but returned shape \(1, 1, 2, 2\)"):
        next(iter(loader))
