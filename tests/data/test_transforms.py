"""Batched transforms against hand computations; inputs are never modified."""

import numpy as np
import pytest

import convscope
from convscope.data.transforms import Compose, Normalize, RandomCrop, RandomHorizontalFlip


def batch(b=4, c=2, h=5, w=6, dtype=np.float32):
    return np.arange(b * c * h * w, dtype=dtype).reshape(b, c, h, w)


def unchanged(transform, x, rng=None):
    """Apply ``transform`` and check that ``x`` is left as it was."""
    before = x.copy()
    out = transform(x, rng)
    np.testing.assert_array_equal(x, before)
    assert not np.shares_memory(out, x)
    return out


# ----------------------------------------------------------------------------------------------- Normalize

def test_normalize_per_channel_matches_hand_computation():
    x = np.random.default_rng(0).random((3, 3, 4, 4)).astype(np.float32)
    mean, std = (0.1, 0.5, -0.2), (0.3, 2.0, 0.7)
    out = unchanged(Normalize(mean, std), x)
    want = np.empty_like(x, dtype=np.float64)
    for c in range(3):
        want[:, c] = (x[:, c].astype(np.float64) - mean[c]) / std[c]
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, want, rtol=1e-6, atol=1e-6)


def test_normalize_scalars_apply_to_every_channel():
    x = batch(dtype=np.float64)
    np.testing.assert_array_equal(Normalize(0.5, 2.0)(x), (x - 0.5) / 2.0)
    np.testing.assert_array_equal(Normalize([1.0], [4.0, 2.0])(x)[:, 1], (x[:, 1] - 1.0) / 2.0)


@pytest.mark.parametrize("mean, std, match", [
    (0.0, 0.0, r"Normalize: std expects values > 0, but got 0.0"),
    ((0.0, 0.0), (1.0, -1.0), r"std expects values > 0, but got \(1.0, -1.0\)"),
    ((0.0, 0.0), (1.0, 1.0, 1.0), r"mean and std expect the same number of channels, but got 2 and 3 values"),
    ("a", 1.0, r"Normalize: mean expects a finite number or a sequence of finite numbers, but got 'a'"),
    (0.0, float("nan"), r"std expects a finite number"),
    ([], 1.0, r"mean expects a finite number"),
])
def test_normalize_argument_errors(mean, std, match):
    with pytest.raises(ValueError, match=match):
        Normalize(mean, std)


def test_normalize_input_errors():
    with pytest.raises(ValueError, match=r"Normalize: mean and std have 3 values, but images have 2 channels"):
        Normalize((0, 0, 0), (1, 1, 1))(batch())
    with pytest.raises(TypeError, match=r"Normalize: images expects a floating NumPy array .* but got dtype uint8"):
        Normalize(0, 1)(np.zeros((1, 1, 2, 2), np.uint8))
    with pytest.raises(ValueError, match=r"images expects at least 2 dimensions \(B, C, \.\.\.\), "
                                         r"but got shape \(3,\)"):
        Normalize(0, 1)(np.zeros(3))


# ---------------------------------------------------------------------------------------------- RandomCrop

def test_random_crop_is_a_shifted_window_of_the_padded_image():
    x = batch(b=6, c=2, h=5, w=6) + 1                       # no zeros inside, so the padding is visible
    out = unchanged(RandomCrop((5, 6), padding=2), x, np.random.default_rng(42))
    padded = np.zeros((6, 2, 9, 10), np.float32)
    padded[:, :, 2:7, 2:8] = x
    draws = np.random.default_rng(42)
    tops, lefts = draws.integers(0, 5, size=6), draws.integers(0, 5, size=6)   # rows first, then columns
    for b in range(6):
        np.testing.assert_array_equal(out[b], padded[b, :, tops[b]:tops[b] + 5, lefts[b]:lefts[b] + 6])
    assert out.shape == x.shape and out.dtype == x.dtype


def test_random_crop_positions_cover_the_range_independently_per_image():
    x = np.zeros((400, 1, 3, 3), np.float32)
    x[:, 0, 0, 0] = 1.0                                      # track where the top-left pixel lands
    out = RandomCrop(3, padding=1)(x, np.random.default_rng(0))
    images, where = np.nonzero(out[:, 0].reshape(400, 9))
    landed = {divmod(int(i), 3) for i in where}
    assert landed == {(r, c) for r in (0, 1) for c in (0, 1)}   # the window starts 0..2 rows/cols into the padded image
    assert len(images) < 400                                    # ... and from 2 on, the pixel is cut off


@pytest.mark.parametrize("mode, numpy_mode", [("constant", "constant"), ("reflect", "reflect"),
                                              ("replicate", "edge"), ("circular", "wrap")])
def test_random_crop_of_the_full_padded_size_is_the_padded_image(mode, numpy_mode):
    x = batch(b=2, c=3, h=4, w=5)
    out = unchanged(RandomCrop((4 + 1 + 3, 5 + 2 + 0), padding=(2, 1, 0, 3), padding_mode=mode), x,
                    np.random.default_rng(0))
    want = np.pad(x, ((0, 0), (0, 0), (1, 3), (2, 0)), mode=numpy_mode)     # (left, top, right, bottom) = (2, 1, 0, 3)
    np.testing.assert_array_equal(out, want)


def test_random_crop_two_value_padding_is_left_right_then_top_bottom():
    x = batch(b=1, c=1, h=2, w=3)
    out = RandomCrop((2 + 2, 3 + 6), padding=(3, 1), fill=-1.0)(x, np.random.default_rng(0))
    want = np.pad(x, ((0, 0), (0, 0), (1, 1), (3, 3)), constant_values=-1.0)
    np.testing.assert_array_equal(out, want)


def test_random_crop_is_deterministic_given_the_generator():
    x = batch(b=8)
    t = RandomCrop(4, padding=1, padding_mode="reflect")
    np.testing.assert_array_equal(t(x, np.random.default_rng(3)), t(x, np.random.default_rng(3)))
    assert not np.array_equal(t(x, np.random.default_rng(3)), t(x, np.random.default_rng(4)))


def test_random_crop_without_rng_uses_the_global_generator(restore_global_rng):
    x = batch(b=8)
    convscope.manual_seed(1)
    a = RandomCrop(3)(x)
    convscope.manual_seed(1)
    np.testing.assert_array_equal(RandomCrop(3)(x), a)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(size=0), ValueError, r"RandomCrop: size expects positive integers, but got 0"),
    (dict(size=(2, 2, 2)), ValueError, r"RandomCrop: size expects an int or 2 ints, but got 3 values"),
    (dict(size=3, padding=-1), ValueError, r"RandomCrop: padding expects integers >= 0"),
    (dict(size=3, padding=(1, 2, 3)), ValueError,
     r"padding expects an int, 2 ints \(left/right, top/bottom\) or 4 ints"),
    (dict(size=3, padding_mode="edge"), ValueError, r"RandomCrop: padding_mode expects one of 'constant', 'reflect'"),
    (dict(size=3, fill="0"), TypeError, r"RandomCrop: fill expects a number, but got '0'"),
])
def test_random_crop_argument_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        RandomCrop(**kwargs)


def test_random_crop_input_errors():
    x = batch(b=1, h=5, w=6)
    with pytest.raises(ValueError, match=r"RandomCrop: size \(8, 8\) expects images of at least that size "
                                         r"after padding, "
                                         r"but the padded images are 7x8"):
        RandomCrop(8, padding=1)(x)
    with pytest.raises(ValueError, match=r"padding_mode 'reflect' expects padding of at most 4 rows and 5 columns "
                                         r"for images of 5x6"):
        RandomCrop(5, padding=5, padding_mode="reflect")(x)
    with pytest.raises(ValueError, match=r"RandomCrop: images expects 4 dimensions \(B, C, H, W\), "
                                         r"but got shape \(5, 6\)"):
        RandomCrop(2)(np.zeros((5, 6)))
    with pytest.raises(TypeError, match=r"RandomCrop: rng expects a numpy.random.Generator or None, but got int"):
        RandomCrop(2)(x, 0)


# ------------------------------------------------------------------------------------ RandomHorizontalFlip

def test_flip_reverses_the_last_axis():
    x = batch()
    np.testing.assert_array_equal(unchanged(RandomHorizontalFlip(p=1.0), x), x[..., ::-1])
    np.testing.assert_array_equal(unchanged(RandomHorizontalFlip(p=0.0), x), x)


def test_flip_decides_per_image_from_the_generator():
    x = batch(b=64)
    out = unchanged(RandomHorizontalFlip(0.5), x, np.random.default_rng(8))
    flipped = np.random.default_rng(8).random(64) < 0.5
    assert 0 < flipped.sum() < 64
    np.testing.assert_array_equal(out[flipped], x[flipped][..., ::-1])
    np.testing.assert_array_equal(out[~flipped], x[~flipped])


@pytest.mark.parametrize("p, error", [(-0.1, ValueError), (1.5, ValueError), ("0.5", TypeError), (True, TypeError)])
def test_flip_rejects_bad_probabilities(p, error):
    with pytest.raises(error, match=r"RandomHorizontalFlip: p expects a probability in \[0, 1\]"):
        RandomHorizontalFlip(p)


# ------------------------------------------------------------------------------------------------- Compose

def test_compose_applies_in_order_with_one_generator():
    x = batch(b=16)
    steps = [RandomCrop(4, padding=2), RandomHorizontalFlip(), Normalize(3.0, 2.0)]
    out = unchanged(Compose(steps), x, np.random.default_rng(5))
    rng = np.random.default_rng(5)
    want = x
    for step in steps:
        want = step(want, rng)
    np.testing.assert_array_equal(out, want)
    assert "RandomCrop(size=(4, 4)" in repr(Compose(steps))


def test_compose_errors():
    with pytest.raises(TypeError, match=r"Compose: transforms expects callables t\(images, rng\), but item 1 is 3"):
        Compose([Normalize(0, 1), 3])
    with pytest.raises(TypeError, match=r"Compose: transforms expects a list or tuple of callables, but got Normalize"):
        Compose(Normalize(0, 1))
