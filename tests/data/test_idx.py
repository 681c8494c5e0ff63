"""read_idx / write_idx: round trips for every dtype, the real files, and strict rejection of bad files."""

import gzip
import os

import numpy as np
import pytest

from convscope.data import read_idx, write_idx
from convscope.data.idx import IDX_DTYPES
from tests.data.conftest import flip_byte

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


def _sample(dtype, shape, rng):
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    if info is None:
        return rng.standard_normal(shape).astype(dtype) * 1e3
    return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(7,), (3, 4, 5), (2, 0, 3)])
def test_round_trip(tmp_path, rng, dtype, shape, compress):
    x = _sample(dtype, shape, rng)
    path = write_idx(tmp_path / "x.idx", x, compress=compress)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == compress
    y = read_idx(path)
    assert y.dtype == np.dtype(dtype) and y.dtype.isnative and y.shape == shape
    np.testing.assert_array_equal(y, x)
    assert y.flags.writeable
    assert os.listdir(tmp_path) == ["x.idx"]          # the temporary file is gone


def test_header_layout_is_big_endian(tmp_path):
    path = write_idx(tmp_path / "x.idx", np.array([[1, 256, -2]], dtype=np.int16), compress=False)
    assert path.read_bytes() == (b"\x00\x00\x0b\x02" + b"\x00\x00\x00\x01" + b"\x00\x00\x00\x03"
                                 + b"\x00\x01" + b"\x01\x00" + b"\xff\xfe")


def test_gzip_is_detected_by_content_not_name(tmp_path):
    x = np.arange(12, dtype=np.uint8).reshape(3, 4)
    raw_named_gz = write_idx(tmp_path / "raw.gz", x, compress=False)
    gz_named_raw = write_idx(tmp_path / "packed.idx", x, compress=True)
    np.testing.assert_array_equal(read_idx(raw_named_gz), x)
    np.testing.assert_array_equal(read_idx(str(gz_named_raw)), x)


def test_write_replaces_an_existing_file_and_is_reproducible(tmp_path):
    path = tmp_path / "x.idx.gz"
    write_idx(path, np.zeros(5, np.uint8))
    first = write_idx(path, np.arange(5, dtype=np.uint8)).read_bytes()
    np.testing.assert_array_equal(read_idx(path), np.arange(5))
    assert write_idx(path, np.arange(5, dtype=np.uint8)).read_bytes() == first   # no timestamp in the gzip header


@pytest.mark.parametrize("dtype, code", [(np.uint8, 0x08), (np.int8, 0x09), (np.int16, 0x0B),
                                         (np.int32, 0x0C), (np.float32, 0x0D), (np.float64, 0x0E)])
def test_dtype_codes(tmp_path, dtype, code):
    assert IDX_DTYPES[code] == np.dtype(dtype).newbyteorder(">")
    path = write_idx(tmp_path / "x", np.zeros(2, dtype), compress=False)
    assert path.read_bytes()[2] == code


# ----------------------------------------------------------------------------------------- the real files

@pytest.mark.parametrize("folder", ["mnist", "fashion-mnist"])
@pytest.mark.parametrize("prefix, count", [("train", 60000), ("t10k", 10000)])
def test_official_files(shared_data, folder, prefix, count):
    images = read_idx(shared_data / folder / f"{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(shared_data / folder / f"{prefix}-labels-idx1-ubyte.gz")
    assert images.shape == (count, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (count,) and labels.dtype == np.uint8
    assert set(np.unique(labels)) == set(range(10))
    assert images.max() == 255 and images.min() == 0


# ------------------------------------------------------------------------------------------- bad files

def _raw(tmp_path, data: bytes, name="bad.idx", compress=False):
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


HEADER_3x2 = b"\x00\x00\x08\x02" + (3).to_bytes(4, "big") + (2).to_bytes(4, "big")


@pytest.mark.parametrize("compress", [False, True])
def test_truncated_body(tmp_path, compress):
    path = _raw(tmp_path, HEADER_3x2 + bytes(5), compress=compress)
    with pytest.raises(ValueError, match=r"read_idx: file '.*bad\.idx' declares 3 items of 2 bytes .* "
                                         r"but holds 5 bytes of data: it is truncated"):
        read_idx(path)


def test_truncated_real_image_file(tmp_path):
    body = HEADER_3x2[:4].replace(b"\x02", b"\x03") + b"".join(n.to_bytes(4, "big") for n in (60000, 28, 28))
    path = _raw(tmp_path, body + bytes(1200), name="x.gz", compress=True)
    with pytest.raises(ValueError, match=r"file '.*x\.gz' declares 60000 items of 784 bytes .*holds 1200 bytes"):
        read_idx(path)


def test_extra_bytes(tmp_path):
    path = _raw(tmp_path, HEADER_3x2 + bytes(6 + 4))
    with pytest.raises(ValueError, match=r"declares 3 items of 2 bytes .* holds 10 bytes of data: "
                                         r"it has 4 extra bytes after the data"):
        read_idx(path)


def test_bad_magic(tmp_path):
    path = _raw(tmp_path, b"\x01\x00\x08\x01" + (1).to_bytes(4, "big") + b"\x07")
    with pytest.raises(ValueError, match=r"magic number 0x01000801, but an IDX magic number starts with two zero"):
        read_idx(path)


def test_unknown_dtype_code(tmp_path):
    path = _raw(tmp_path, b"\x00\x00\x0a\x01" + (1).to_bytes(4, "big") + b"\x07")
    with pytest.raises(ValueError, match=r"dtype code 0x0A .*but IDX dtype codes are 0x08 uint8"):
        read_idx(path)


def test_zero_dimensions(tmp_path):
    with pytest.raises(ValueError, match=r"declares 0 dimensions .*at least 1"):
        read_idx(_raw(tmp_path, b"\x00\x00\x08\x00"))


@pytest.mark.parametrize("data, match", [
    (b"\x00\x00", r"holds 2 bytes, too few for the 4-byte IDX magic number"),
    (b"\x00\x00\x08\x03" + bytes(6),
     r"declares 3 dimensions, which needs a 16-byte header, but the file holds only 10"),
])
def test_short_header(tmp_path, data, match):
    with pytest.raises(ValueError, match=match):
        read_idx(_raw(tmp_path, data))


def test_corrupt_gzip_stream(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, size=(50, 28, 28), dtype=np.uint8)
    path = flip_byte(write_idx(tmp_path / "images.gz", x))
    with pytest.raises(ValueError, match=r"read_idx: file '.*images\.gz' is not a valid gzip stream"):
        read_idx(path)


def test_cut_gzip_stream(tmp_path):
    path = write_idx(tmp_path / "images.gz", np.arange(5000, dtype=np.int32))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match=r"'.*images\.gz' is not a valid gzip stream \(.*ended"):
        read_idx(path)


def test_read_rejects_non_paths():
    with pytest.raises(TypeError, match=r"read_idx: path expects a str or os.PathLike, but got int"):
        read_idx(3)


@pytest.mark.parametrize("array, error, match", [
    (np.zeros(3, np.int64), TypeError, r"write_idx: array expects one of the IDX dtypes .* but got dtype int64"),
    (np.zeros(3, bool), TypeError, r"but got dtype bool"),
    (np.float32(1.0), ValueError, r"write_idx: array expects 1 to 255 dimensions, but got 0"),
])
def test_write_rejects(tmp_path, array, error, match):
    with pytest.raises(error, match=match):
        write_idx(tmp_path / "x", array)
    assert os.listdir(tmp_path) == []


def test_write_rejects_non_bool_compress(tmp_path):
    with pytest.raises(TypeError, match=r"write_idx: compress expects a bool, but got 'yes'"):
        write_idx(tmp_path / "x", np.zeros(3, np.uint8), compress="yes")
