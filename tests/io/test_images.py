"""Image files (read_image / write_image), synthetic patterns and sample photographs."""

import os
import struct
import sys
import warnings
import zlib

import numpy as np
import pytest

from convscope.data import patterns
from convscope.io.images import DEFAULT_MAX_PIXELS, read_image, write_image

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _bomb_png(width: int, height: int) -> bytes:
    """A 1-bit grayscale PNG whose header declares width x height; its pixel data (one row
    of zeros) is far too short, which no one notices unless the pixels are decoded."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(b"\x00" * (1 + width // 8))) + _png_chunk(b"IEND", b""))


def _leftovers(folder):
    return [name for name in os.listdir(folder) if name.endswith(".tmp")]


# ---- write / read round trips ---------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 3), (5, 7, 4)])
def test_png_round_trip_is_exact(tmp_path, rng, shape):
    image = rng.integers(0, 256, size=shape, dtype=np.uint8)
    path = write_image(tmp_path / "a.png", image)
    back = read_image(path)
    assert back.dtype == np.uint8 and back.shape == shape
    np.testing.assert_array_equal(back, image)
    assert back.flags.writeable
    assert _leftovers(tmp_path) == []


def test_jpeg_round_trip_is_close(tmp_path):
    image = np.stack([patterns.ramp(64), patterns.ramp(64, angle=90), np.full((64, 64), 128, np.uint8)], -1)
    write_image(tmp_path / "a.jpg", image)
    back = read_image(tmp_path / "a.jpg")
    assert back.shape == (64, 64, 3) and back.dtype == np.uint8
    assert np.abs(back.astype(int) - image).mean() < 2.0
    write_image(tmp_path / "b.JPEG", image[:, :, 0])
    assert np.abs(read_image(tmp_path / "b.JPEG").astype(int) - image[:, :, 0]).mean() < 2.0


def test_single_channel_axis_is_written_as_grayscale(tmp_path):
    write_image(tmp_path / "g.png", np.full((3, 4, 1), 9, np.uint8))
    np.testing.assert_array_equal(read_image(tmp_path / "g.png"), np.full((3, 4), 9))


def test_mode_conversions(tmp_path, rng):
    rgb = rng.integers(0, 256, size=(6, 5, 3), dtype=np.uint8)
    write_image(tmp_path / "c.png", rgb)
    gray = read_image(tmp_path / "c.png", mode="L")
    bt601 = rgb @ np.array([0.299, 0.587, 0.114])
    assert gray.shape == (6, 5) and np.abs(gray - bt601).max() <= 1
    rgba = read_image(tmp_path / "c.png", mode="RGBA")
    np.testing.assert_array_equal(rgba[..., :3], rgb)
    assert (rgba[..., 3] == 255).all()
    write_image(tmp_path / "g.png", gray)
    np.testing.assert_array_equal(read_image(tmp_path / "g.png", mode="RGB"), np.stack([gray] * 3, -1))


def test_sixteen_bit_palette_and_bilevel_files(tmp_path):
    Image.fromarray(np.array([[0, 65535], [25700, 514]], np.uint16)).save(tmp_path / "d.png")
    np.testing.assert_array_equal(read_image(tmp_path / "d.png"), [[0, 255], [100, 2]])
    palette = Image.new("P", (3, 2), 1)
    palette.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    palette.save(tmp_path / "p.png")
    np.testing.assert_array_equal(read_image(tmp_path / "p.png"), np.tile([10, 20, 30], (2, 3, 1)))
    palette.save(tmp_path / "t.png", transparency=1)
    assert read_image(tmp_path / "t.png").shape == (2, 3, 4)
    Image.new("1", (4, 3), 1).save(tmp_path / "b.png")
    np.testing.assert_array_equal(read_image(tmp_path / "b.png"), np.full((3, 4), 255))


def test_exif_orientation_is_applied(tmp_path):
    image = Image.fromarray(np.zeros((10, 20, 3), np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6                                   # "rotate 90 degrees clockwise to view"
    image.save(tmp_path / "r.jpg", exif=exif)
    assert read_image(tmp_path / "r.jpg").shape == (20, 10, 3)


# ---- bad files ------------------------------------------------------------------------------------

def test_truncated_png_is_a_clear_error(tmp_path, rng):
    write_image(tmp_path / "full.png", rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8))
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"read_image: .*cut\.png is truncated or corrupt"):
        read_image(tmp_path / "cut.png")


@pytest.mark.parametrize("content", [b"", b"not an image at all", bytes(range(256)) * 4])
def test_non_image_file_is_a_clear_error(tmp_path, content):
    (tmp_path / "x.png").write_bytes(content)
    with pytest.raises(ValueError, match=r"read_image: .*x\.png is not an image file"):
        read_image(tmp_path / "x.png")


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"read_image: no file at .*nope\.png"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        read_image(tmp_path)


def test_decompression_bomb_is_refused_before_decoding(tmp_path, monkeypatch):
    (tmp_path / "bomb.png").write_bytes(_bomb_png(100_000, 100_000))
    from PIL import ImageFile

    def must_not_decode(self):
        raise AssertionError("pixel data was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", must_not_decode)
    limit = Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"bomb\.png declares an image of 10,000,000,000 pixels, "
                                             r"more than max_pixels=67,108,864.*decompression bomb"):
            read_image(tmp_path / "bomb.png")
    assert Image.MAX_IMAGE_PIXELS == limit           # Pillow's global is restored


@pytest.mark.parametrize("max_pixels", [10, 99])      # over twice the limit (Pillow's error), over it (its warning)
def test_max_pixels_limits_ordinary_files(tmp_path, max_pixels):
    write_image(tmp_path / "a.png", np.zeros((10, 15), np.uint8))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=rf"150 pixels, more than max_pixels={max_pixels}"):
            read_image(tmp_path / "a.png", max_pixels=max_pixels)
    assert read_image(tmp_path / "a.png", max_pixels=150).shape == (10, 15)
    assert read_image(tmp_path / "a.png", max_pixels=None).shape == (10, 15)
    assert DEFAULT_MAX_PIXELS == 64 * 1024 * 1024


def test_read_argument_errors(tmp_path):
    write_image(tmp_path / "a.png", np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError, match=r"read_image: mode expects None, 'L', 'RGB' or 'RGBA', but got 'CMYK'"):
        read_image(tmp_path / "a.png", mode="CMYK")
    with pytest.raises(TypeError, match="read_image: max_pixels expects an integer"):
        read_image(tmp_path / "a.png", max_pixels=1.5)
    with pytest.raises(ValueError, match="read_image: max_pixels expects a positive integer, but got 0"):
        read_image(tmp_path / "a.png", max_pixels=0)


# ---- write: refusals ------------------------------------------------------------------------------

def test_write_refuses_to_overwrite(tmp_path):
    path = write_image(tmp_path / "a.png", np.zeros((2, 3), np.uint8))
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match=r"a\.png exists; pass overwrite=True \(--force"):
        write_image(path, np.full((2, 3), 255, np.uint8))
    assert path.read_bytes() == before
    write_image(path, np.full((2, 3), 255, np.uint8), overwrite=True)
    np.testing.assert_array_equal(read_image(path), np.full((2, 3), 255))
    assert _leftovers(tmp_path) == []


def test_write_creates_folders_with_usual_permissions(tmp_path):
    path = write_image(tmp_path / "new" / "dir" / "a.png", np.zeros((2, 2), np.uint8))
    assert path.is_file()
    if sys.platform != "win32":
        umask = os.umask(0o022)
        os.umask(umask)
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("array, error, match", [
    (np.zeros((2, 2)), TypeError, r"dtype uint8, but got float64; call .*to_display\(array\) first"),
    (np.zeros((2, 2), np.int32), TypeError, "dtype uint8, but got int32"),
    (np.zeros((2, 2), bool), TypeError, r"dtype uint8, but got bool; pass array\.astype"),
    (np.zeros((2, 2, 2), np.uint8), ValueError, r"shape \(H, W\), \(H, W, 3\) or \(H, W, 4\), but got \(2, 2, 2\)"),
    (np.zeros((4,), np.uint8), ValueError, r"shape .* but got \(4,\)"),
    (np.zeros((0, 3), np.uint8), ValueError, r"a non-empty image, but got shape \(0, 3\)"),
])
def test_write_rejects_arrays_that_are_not_images(tmp_path, array, error, match):
    with pytest.raises(error, match="write_image: array expects " + match):
        write_image(tmp_path / "a.png", array)
    assert os.listdir(tmp_path) == []


def test_write_rejects_unknown_suffix_and_alpha_jpeg(tmp_path):
    with pytest.raises(ValueError, match=r"write_image: path expects a suffix in \.png, \.jpg, \.jpeg.*'a\.bmp'"):
        write_image(tmp_path / "a.bmp", np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError, match="JPEG has no alpha channel"):
        write_image(tmp_path / "a.jpg", np.zeros((2, 2, 4), np.uint8))
    assert os.listdir(tmp_path) == []


def test_missing_pillow_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ModuleNotFoundError, match=r"convscope\[images\]"):
        write_image(tmp_path / "a.png", np.zeros((2, 2), np.uint8))
    (tmp_path / "b.png").write_bytes(b"x")
    with pytest.raises(ModuleNotFoundError, match=r"convscope\[images\]"):
        read_image(tmp_path / "b.png")


# ---- patterns -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["checkerboard", "circles", "bars", "step_edge", "ramp", "impulse"])
def test_patterns_are_uint8_images(name):
    image = patterns.load_image(f"pattern:{name}")
    assert image.shape == (256, 256) and image.dtype == np.uint8
    assert image.min() == 0 and image.max() == 255
    assert patterns.load_image(f"pattern:{name}", size=(10, 20)).shape == (10, 20)


def test_checkerboard_bars_and_edges_values():
    board = patterns.checkerboard(8, square=2)
    assert board[0, 0] == 0 and board[0, 2] == 255 and board[2, 0] == 255 and board[2, 2] == 0
    assert set(np.unique(board)) == {0, 255} and (board == 255).sum() == 32
    np.testing.assert_array_equal(patterns.bars(6, width=2)[0], [255, 255, 0, 0, 255, 255])
    np.testing.assert_array_equal(patterns.bars(6, width=2, angle=90)[:, 0], [255, 255, 0, 0, 255, 255])
    np.testing.assert_array_equal(patterns.bars(6, width=2, angle=90), patterns.bars(6, width=2).T)
    np.testing.assert_array_equal(patterns.step_edge(4)[0], [0, 0, 255, 255])
    np.testing.assert_array_equal(patterns.step_edge(4, angle=180)[0], [255, 255, 0, 0])
    np.testing.assert_array_equal(patterns.step_edge(4, angle=90)[:, 0], [0, 0, 255, 255])
    np.testing.assert_array_equal(patterns.ramp((1, 6))[0], [0, 51, 102, 153, 204, 255])
    np.testing.assert_array_equal(patterns.ramp((6, 1), angle=-90)[:, 0], [255, 204, 153, 102, 51, 0])
    impulse = patterns.impulse((4, 5))
    assert impulse[2, 2] == 255 and impulse.sum() == 255


def test_circles_are_rotationally_symmetric():
    rings = patterns.circles(65, width=8)
    assert rings[32, 32] == 255 and rings[32, 32 + 9] == 0 and rings[32, 32 + 17] == 255
    np.testing.assert_array_equal(rings, rings.T)
    np.testing.assert_array_equal(rings, rings[::-1])


def test_pattern_argument_errors():
    with pytest.raises(ValueError, match="checkerboard: square expects a positive integer, but got 0"):
        patterns.checkerboard(square=0)
    with pytest.raises(ValueError, match=r"bars: size expects an int or 2 ints, but got 3 values"):
        patterns.bars((1, 2, 3))
    with pytest.raises(TypeError, match="step_edge: angle expects a finite number of degrees, but got nan"):
        patterns.step_edge(angle=float("nan"))
    with pytest.raises(TypeError, match=r"load_image: pattern:bars accepts size, width, angle, but got widht"):
        patterns.load_image("pattern:bars", widht=3)
    with pytest.raises(ValueError, match=r"load_image: name expects one of pattern:checkerboard.*but got 'pattern:x'"):
        patterns.load_image("pattern:x")


def test_available_images_lists_patterns_and_samples():
    names = patterns.available_images()
    assert list(names)[:6] == [f"pattern:{n}" for n in
                               ("checkerboard", "circles", "bars", "step_edge", "ramp", "impulse")]
    assert "sample:camera" in names and all(isinstance(v, str) and v for v in names.values())


# ---- sample photographs ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", [n.split(":", 1)[1] for n in patterns.available_images() if n.startswith("sample:")])
def test_every_listed_sample_loads_offline(name):
    pytest.importorskip("skimage")
    image = patterns.sample_image(name)
    assert image.dtype == np.uint8 and image.ndim in (2, 3)
    assert image.ndim == 2 or image.shape[2] == 3


def test_sample_image_default_and_copy():
    pytest.importorskip("skimage")
    camera = patterns.sample_image()
    assert camera.shape == (512, 512)
    camera[:] = 0
    assert patterns.load_image("sample:camera").any()
    assert patterns.load_image("sample:astronaut").shape == (512, 512, 3)


def test_sample_image_errors(monkeypatch):
    with pytest.raises(ValueError, match=r"sample_image: name expects one of camera, .*but got 'lena'"):
        patterns.sample_image("lena")
    with pytest.raises(ValueError, match="sample:camera takes no arguments"):
        patterns.load_image("sample:camera", size=3)
    monkeypatch.setitem(sys.modules, "skimage", None)
    with pytest.raises(ModuleNotFoundError, match=r"convscope\[samples\]"):
        patterns.sample_image("camera")
