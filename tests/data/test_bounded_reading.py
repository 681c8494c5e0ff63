"""Bounded reading of hostile input: IDX gzip bombs, checkpoint zip bombs, FIFOs and pixel bombs.

The bombs are a few megabytes that inflate to gigabytes. They are built without ever holding the
inflated data: deflating 1 MiB of zeros and ending it with a full flush gives a block of about a
kilobyte that does not refer back to earlier data, so the block repeated n times is a valid stream
of n MiB of zeros. Loading them runs in a child process whose address space is capped at 2 GiB
(``RLIMIT_AS``): a reader that inflates or allocates what a bomb declares fails there with a
MemoryError (or is killed) instead of taking the machine's memory.
"""

import bz2
import contextlib
import gzip
import io
import os
import re
import stat
import struct
import subprocess
import sys
import threading
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from convscope import io as cs_io
from convscope.data import idx, read_idx, write_idx
from convscope.data.idx import MAX_IDX_BYTES, decode_idx
from convscope.io import native
from convscope.io.images import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, read_image

MIB = 1 << 20
GIB = 1 << 30
CHILD_MEMORY = 2 * GIB


# ------------------------------------------------------------------------------------- building bombs

def _deflated_zeros(prefix: bytes, zero_mib: int) -> list[tuple[bytes, int]]:
    """A raw deflate stream of ``prefix`` then ``zero_mib`` MiB of zeros, as (piece, repeat) pairs."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(bytes(MIB)) + c.flush(zlib.Z_FULL_FLUSH)    # identical after every full flush
    return [(head, 1), (block, zero_mib), (c.flush(), 1)]


def _crc_and_size(prefix: bytes, zero_mib: int) -> tuple[int, int]:
    crc, zeros = zlib.crc32(prefix), bytes(MIB)
    for _ in range(zero_mib):
        crc = zlib.crc32(zeros, crc)
    return crc, len(prefix) + zero_mib * MIB


def _write_pieces(f, pieces) -> None:
    for piece, repeat in pieces:
        for _ in range(repeat):
            f.write(piece)


def _length(pieces) -> int:
    return sum(len(piece) * repeat for piece, repeat in pieces)


def _gzip_bomb(path: Path, prefix: bytes, zero_mib: int) -> Path:
    """A valid gzip file of ``prefix`` followed by ``zero_mib`` MiB of zeros (CRC and size included)."""
    crc, size = _crc_and_size(prefix, zero_mib)
    with open(path, "wb") as f:
        f.write(b"\x1f\x8b\x08\x00" + bytes(4) + b"\x00\xff")       # deflate, no flags, mtime 0, OS unknown
        _write_pieces(f, _deflated_zeros(prefix, zero_mib))
        f.write(struct.pack("<II", crc, size % 2**32))
    return path


def _write_zip(path: Path, members) -> Path:
    """A zip of ``(name, method, crc, file_size, pieces)`` members, sizes written exactly as given."""
    central = []
    with open(path, "wb") as f:
        for name, method, crc, size, pieces in members:
            offset, raw_name = f.tell(), name.encode()
            fields = (20, 0, method, 0, 0x21, crc, _length(pieces), size, len(raw_name), 0)
            f.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields) + raw_name)
            _write_pieces(f, pieces)
            central.append(struct.pack("<IH", 0x02014B50, 20) + struct.pack("<HHHHHIIIHH", *fields)
                           + struct.pack("<HHHII", 0, 0, 0, 0, offset) + raw_name)
        start = f.tell()
        f.write(b"".join(central))
        f.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), f.tell() - start, start, 0))
    return path


def _stored_members(path: Path):
    """The members of a zip as ``_write_zip`` entries, stored uncompressed."""
    with zipfile.ZipFile(path) as zf:
        return [(i.filename, zipfile.ZIP_STORED, i.CRC, i.file_size, [(zf.read(i), 1)]) for i in zf.infolist()]


def _npy_header(shape, dtype) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": np.dtype(dtype).str, "fortran_order": False,
                                                  "shape": shape})
    return buffer.getvalue()              # magic, version 1.0, length and the padded dict


def _idx_header(dims) -> bytes:
    return bytes([0, 0, 0x08, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)


def _checkpoint(path: Path) -> Path:
    """A genuine small checkpoint: its tree names one array member, 'a0.npy' (10 float64)."""
    return cs_io.save(path, {"w": np.arange(10.0), "step": 3}, kind="checkpoint")


@pytest.fixture(scope="module")
def bombs(tmp_path_factory):
    """The bomb files, built once: name -> path. About 30 MB on disk, inflating to 27.5 GiB."""
    folder = tmp_path_factory.mktemp("bombs")
    huge_images = 5 * GIB // (28 * 28)
    out = {
        # Header declares 5 GiB of uint8 images, and the stream holds them.
        "idx_declares_5GiB": _gzip_bomb(folder / "idx_declares_5GiB.gz", _idx_header((huge_images, 28, 28)), 5 * 1024),
        # Header declares 10 images (7840 bytes); the stream goes on for 5 GiB.
        "idx_5GiB_trailing": _gzip_bomb(folder / "idx_5GiB_trailing.gz", _idx_header((10, 28, 28)), 5 * 1024),
    }
    genuine = _stored_members(_checkpoint(folder / "genuine.npz"))
    meta = [m for m in genuine if m[0] == "__convscope__.npy"]
    _, _, a0_crc, a0_size, _ = next(m for m in genuine if m[0] == "a0.npy")
    # 3.75 GiB of uint8 with an honest zip entry (CRC and size right; still under 4 GiB, so no zip64).
    big_mib = 3840
    big_prefix = _npy_header((big_mib * MIB,), np.uint8)
    big_crc, big_size = _crc_and_size(big_prefix, big_mib)
    big = _deflated_zeros(big_prefix, big_mib)
    out["ckpt_extra_member"] = _write_zip(folder / "ckpt_extra_member.npz",
                                          genuine + [("bomb.npy", zipfile.ZIP_DEFLATED, big_crc, big_size, big)])
    out["ckpt_named_member_3.75GiB"] = _write_zip(folder / "ckpt_named_member.npz",
                                                  meta + [("a0.npy", zipfile.ZIP_DEFLATED, big_crc, big_size, big)])
    # a0.npy's zip entry keeps the genuine small size (with the CRC-32 of that many bytes of the
    # stream, so zipfile finds nothing wrong), but its .npy header declares 5 GiB, as does the stream.
    lying_header = _npy_header((5 * GIB,), np.uint8)
    lying = _deflated_zeros(lying_header, 5 * 1024)
    prefix_crc = zlib.crc32(lying_header + bytes(a0_size - len(lying_header)))
    out["ckpt_npy_header_lies"] = _write_zip(folder / "ckpt_npy_header_lies.npz",
                                             meta + [("a0.npy", zipfile.ZIP_DEFLATED, prefix_crc, a0_size, lying)])
    # a0.npy's zip entry and .npy header both say 10 float64 (with the genuine CRC-32), but the
    # stream inflates to 5 GiB: zipfile stops at the declared size and the CRC-32 disagrees. (The
    # old loader survived this one too; it guards the bounded read.)
    understated = _deflated_zeros(_npy_header((10,), np.float64), 5 * 1024)
    out["ckpt_zip_size_lies"] = _write_zip(folder / "ckpt_zip_size_lies.npz",
                                           meta + [("a0.npy", zipfile.ZIP_DEFLATED, a0_crc, a0_size, understated)])
    return out


_CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from convscope.data import read_idx
from convscope.io import load
path = sys.argv[1]
try:
    (read_idx if path.endswith(".gz") else load)(path)
except ValueError as exc:
    print("ValueError:", exc)
    sys.exit(0)
except MemoryError:
    print("MemoryError")
    sys.exit(3)
print("loaded without an error")
sys.exit(4)
"""

BOMB_ERRORS = {
    "idx_declares_5GiB": r"read_idx: file '.*idx_declares_5GiB\.gz' declares shape \(6847843, 28, 28\) of uint8 = "
                         r"5368708912 bytes of data, more than max_bytes=2147483648; refusing to read it",
    "idx_5GiB_trailing": r"read_idx: file '.*' declares 10 items of 784 bytes \(shape \(10, 28, 28\), uint8\) = 7840 "
                         r"bytes of data, but holds more than 73376 bytes of data: it has more than 65536 extra bytes",
    "ckpt_extra_member": r"load: .* holds member\(s\) 'bomb\.npy' that its __convscope__ tree does not name",
    "ckpt_named_member_3.75GiB": r"load: .* declares 4026531968 bytes of arrays in 1 member\(s\), "
                                 r"more than max_bytes=2147483648",
    "ckpt_npy_header_lies": r"load: .* member 'a0\.npy' declares shape \(5368709120,\) of uint8 = 5368709120 bytes in "
                            r"its \.npy header, but its zip entry holds 80 bytes after the header",
    "ckpt_zip_size_lies": r"load: .* is truncated or corrupt \(BadZipFile: Bad CRC-32 for file 'a0\.npy'\)",
}


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS caps the address space only on Linux")
@pytest.mark.parametrize("bomb", sorted(BOMB_ERRORS))
def test_bombs_are_refused_within_2GiB_of_address_space(bombs, bomb):
    assert bombs[bomb].stat().st_size < 8 * MIB
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _CHILD.format(limit=CHILD_MEMORY), str(bombs[bomb])],
                          capture_output=True, text=True, timeout=120, env=env)
    took = time.perf_counter() - started
    report = f"exit {done.returncode}, {took:.1f} s\nstdout: {done.stdout}\nstderr: {done.stderr[-2000:]}"
    assert done.returncode == 0, report                  # not killed (negative), no MemoryError (3)
    assert done.stdout.startswith("ValueError: "), report
    assert len(done.stdout.strip().splitlines()) == 1, report
    assert re.search(BOMB_ERRORS[bomb], done.stdout), report
    assert took < 20, report                             # refused without inflating gigabytes


# ------------------------------------------------------------------------------------------------- IDX

def _peak_bytes(fn, *args, **kwargs):
    """(result or exception, peak bytes traced) of calling fn; NumPy's buffers are traced too."""
    tracemalloc.start()
    try:
        try:
            result = fn(*args, **kwargs)
        except ValueError as exc:
            result = exc
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("from_bytes", [False, True])
def test_gzip_with_256MiB_of_trailing_data_is_read_only_as_far_as_declared(tmp_path, from_bytes):
    path = _gzip_bomb(tmp_path / "x.gz", _idx_header((10, 28, 28)), 256)
    assert path.stat().st_size < MIB
    raw = path.read_bytes()
    result, peak = _peak_bytes(decode_idx, raw, "x.gz") if from_bytes else _peak_bytes(read_idx, path)
    assert isinstance(result, ValueError)
    assert "declares 10 items of 784 bytes" in str(result)
    assert "has more than 65536 extra bytes after the data (reading stopped there)" in str(result)
    assert peak < 8 * MIB, f"reading took {peak / MIB:.0f} MiB"


def test_header_declaring_more_than_max_bytes_is_refused_before_allocating(tmp_path):
    path = _gzip_bomb(tmp_path / "x.gz", _idx_header((MAX_IDX_BYTES // 784 + 1, 28, 28)), 1)
    result, peak = _peak_bytes(read_idx, path)
    assert isinstance(result, ValueError)
    assert f"declares shape ({MAX_IDX_BYTES // 784 + 1}, 28, 28) of uint8" in str(result)
    assert "more than max_bytes=2147483648; refusing to read it" in str(result)
    assert peak < 4 * MIB
    assert MAX_IDX_BYTES == 2**31


@pytest.mark.parametrize("compress", [False, True])
def test_max_bytes_argument(tmp_path, compress):
    x = np.arange(12, dtype=np.int16).reshape(3, 4)                   # 24 bytes of data
    path = write_idx(tmp_path / "x.idx", x, compress=compress)
    np.testing.assert_array_equal(read_idx(path, max_bytes=24), x)
    np.testing.assert_array_equal(read_idx(path, max_bytes=None), x)
    with pytest.raises(ValueError, match=r"declares shape \(3, 4\) of int16 = 24 bytes of data, "
                                         r"more than max_bytes=23"):
        read_idx(path, max_bytes=23)
    with pytest.raises(ValueError, match=r"more than max_bytes=23"):
        decode_idx(path.read_bytes(), "x", max_bytes=23)
    with pytest.raises(TypeError, match=r"read_idx: max_bytes expects an integer, but got 1.5"):
        read_idx(path, max_bytes=1.5)
    with pytest.raises(ValueError, match=r"read_idx: max_bytes expects an integer >= 0, but got -1"):
        read_idx(path, max_bytes=-1)


@pytest.mark.parametrize("dims, match", [
    ((2**32 - 1,) * 255, r"declares shape \(4294967295, 4294967295, .* more than max_bytes"),   # 2**8160 bytes
    ((1,) * 65, r"declares shape \(1, 1, .*\), which a NumPy array cannot have \(maximum supported dimension"),
])
def test_absurd_dimensions_are_refused(tmp_path, dims, match):
    path = tmp_path / "x.idx"
    path.write_bytes(_idx_header(dims) + b"\x07")
    with pytest.raises(ValueError, match=match):
        read_idx(path)


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("body, message", [
    (0, r"holds 0 bytes of data: it is truncated"),
    (5, r"holds 5 bytes of data: it is truncated"),
    (7, r"holds 7 bytes of data: it has 1 extra bytes after the data"),
    (6 + 65536, r"holds 65542 bytes of data: it has 65536 extra bytes after the data"),
])
def test_declared_size_mismatch(tmp_path, compress, body, message):
    data = _idx_header((3, 2)) + bytes(body)
    path = tmp_path / "x.idx"
    path.write_bytes(gzip.compress(data) if compress else data)
    with pytest.raises(ValueError, match=r"declares 3 items of 2 bytes \(shape \(3, 2\), uint8\) = 6 bytes of data, "
                                         r"but " + message):
        read_idx(path)


@pytest.mark.parametrize("compress, message", [
    (False, r"holds 70006 bytes of data: it has 70000 extra bytes after the data"),     # counted from the size
    (True, r"holds more than 65542 bytes of data: it has more than 65536 extra bytes after the data "
           r"\(reading stopped there\)"),
])
def test_many_trailing_bytes(tmp_path, compress, message):
    data = _idx_header((3, 2)) + bytes(6 + 70000)
    path = tmp_path / "x.idx"
    path.write_bytes(gzip.compress(data) if compress else data)
    with pytest.raises(ValueError, match=r"= 6 bytes of data, but " + message):
        read_idx(path)


def test_raw_file_size_is_checked_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "x.idx"
    path.write_bytes(_idx_header((GIB,)) + bytes(10))                # declares 1 GiB, holds 10 bytes

    def must_not_allocate(*args, **kwargs):
        raise AssertionError("the body was allocated before the file size was checked")

    monkeypatch.setattr(idx.np, "empty", must_not_allocate)
    with pytest.raises(ValueError, match=r"= 1073741824 bytes of data, but holds 10 bytes of data: it is truncated"):
        read_idx(path)


def test_path_reading_streams_the_file(tmp_path, monkeypatch):
    x = np.random.default_rng(0).integers(0, 256, size=(20, 28, 28), dtype=np.uint8)
    packed, raw = write_idx(tmp_path / "x.gz", x), write_idx(tmp_path / "x.idx", x, compress=False)

    def must_not_slurp(self):
        raise AssertionError(f"{self} was read whole")

    monkeypatch.setattr(Path, "read_bytes", must_not_slurp)
    for path in (packed, raw):
        y = read_idx(path)
        np.testing.assert_array_equal(y, x)
        assert y.flags.writeable and y.flags.c_contiguous


# ------------------------------------------------------------------------------------------ checkpoints

def test_member_the_tree_does_not_name_is_refused(tmp_path):
    path = _checkpoint(tmp_path / "c.npz")
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("extra.npy", b"whatever")
    with pytest.raises(ValueError, match=r"load: .*c\.npz holds member\(s\) 'extra\.npy' that its __convscope__ tree "
                                         r"does not name; .* refused unread"):
        cs_io.load(path)


def test_member_the_tree_names_must_exist(tmp_path):
    path = _checkpoint(tmp_path / "c.npz")
    members = [m for m in _stored_members(path) if m[0] != "a0.npy"]
    with pytest.raises(ValueError, match=r"expects the array member\(s\) 'a0\.npy' that its __convscope__ tree names, "
                                         r"but they are missing"):
        cs_io.load(_write_zip(tmp_path / "d.npz", members))


def test_npy_header_must_match_the_zip_size(tmp_path):
    members = _stored_members(_checkpoint(tmp_path / "c.npz"))
    name, method, _, _, [(data, _)] = next(m for m in members if m[0] == "a0.npy")
    header = _npy_header((11,), np.float64)                       # one more item than the 80 bytes stored
    patched = header + data[len(header):]
    members = [m for m in members if m[0] != "a0.npy"] + [(name, method, zlib.crc32(patched), len(patched),
                                                          [(patched, 1)])]
    with pytest.raises(ValueError, match=r"member 'a0\.npy' declares shape \(11,\) of float64 = 88 bytes in its "
                                         r"\.npy header, but its zip entry holds 80 bytes after the header"):
        cs_io.load(_write_zip(tmp_path / "d.npz", members))


def test_max_bytes_bounds_the_arrays_and_the_tree_is_bounded_too(tmp_path, monkeypatch):
    path = cs_io.save(tmp_path / "s.npz", {"a": np.zeros(10), "b": np.zeros(5, np.float32)}, kind="state_dict")
    total = 128 + 80 + 128 + 20                                   # two .npy members with their headers
    assert set(cs_io.load_state_dict(path, max_bytes=total)) == {"a", "b"}
    assert set(cs_io.load(path, max_bytes=None)) == {"a", "b"}
    with pytest.raises(ValueError, match=rf"declares {total} bytes of arrays in 2 member\(s\), "
                                         rf"more than max_bytes={total - 1}; refusing to read them"):
        cs_io.load_state_dict(path, max_bytes=total - 1)
    with pytest.raises(TypeError, match=r"load: max_bytes expects an integer, but got '1'"):
        cs_io.load(path, max_bytes="1")
    monkeypatch.setattr(native, "MAX_META_BYTES", 100)
    with pytest.raises(ValueError, match=r"member '__convscope__\.npy' declares \d+ bytes, more than "
                                         r"MAX_META_BYTES=100; refusing to read it"):
        cs_io.load(path)


def test_object_arrays_and_other_compressions_are_refused(tmp_path):
    members = _stored_members(_checkpoint(tmp_path / "c.npz"))
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    pickled = buffer.getvalue()
    swapped = [m for m in members if m[0] != "a0.npy"]
    path = _write_zip(tmp_path / "p.npz", swapped + [("a0.npy", 0, zlib.crc32(pickled), len(pickled), [(pickled, 1)])])
    with pytest.raises(ValueError, match=r"member 'a0\.npy' holds Python objects \(dtype object\), which would need "
                                         r"unpickling"):
        cs_io.load(path)
    a0 = next(m for m in members if m[0] == "a0.npy")[4][0][0]
    bz = _write_zip(tmp_path / "b.npz", swapped + [("a0.npy", zipfile.ZIP_BZIP2, zlib.crc32(a0), len(a0),
                                                    [(bz2.compress(a0), 1)])])
    with pytest.raises(ValueError, match=r"member 'a0\.npy' uses zip compression method 12, but convscope reads only "
                                         r"stored \(0\) and deflated \(8\) members"):
        cs_io.load(bz)


def test_deflated_files_still_load(tmp_path):
    path = _checkpoint(tmp_path / "c.npz")
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    np.savez_compressed(tmp_path / "z.npz", **arrays)
    got = cs_io.load(tmp_path / "z.npz", kind="checkpoint")
    np.testing.assert_array_equal(got["w"], np.arange(10.0))
    assert got["step"] == 3


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="this platform has no named pipes (os.mkfifo)")
def test_load_refuses_a_fifo(tmp_path):
    os.mkfifo(tmp_path / "ckpt.npz")
    with pytest.raises(ValueError, match=r"load: path expects a regular file, but .*ckpt\.npz is a FIFO"):
        cs_io.load(tmp_path / "ckpt.npz")


# ----------------------------------------------------------------------------------------------- images

PIL = pytest.importorskip("PIL")
from PIL import Image, ImageFile  # noqa: E402


def _png_declaring(width: int, height: int, mode: str = "RGBA") -> bytes:
    """A genuine 1 x 1 PNG from Pillow whose IHDR is patched (and re-checksummed) to width x height."""
    buffer = io.BytesIO()
    Image.new(mode, (1, 1)).save(buffer, format="PNG")
    png = bytearray(buffer.getvalue())
    assert png[12:16] == b"IHDR"
    png[16:24] = struct.pack(">II", width, height)
    png[29:33] = struct.pack(">I", zlib.crc32(bytes(png[12:29])))
    return bytes(png)


@pytest.fixture
def no_decoding(monkeypatch):
    """Make decoding pixel data an error, so a test shows that a refusal came from the header."""
    def must_not_decode(self):
        raise AssertionError("pixel data was decoded")
    monkeypatch.setattr(ImageFile.ImageFile, "load", must_not_decode)


def _read_in_thread(path, timeout=10.0):
    """read_image(path) in a thread; a read still blocked after ``timeout`` s is unblocked and fails."""
    outcome = {}

    def target():
        try:
            outcome["value"] = read_image(path)
        except Exception as exc:                       # handed to the test below
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():                                # open() is waiting for a writer: be one, then close
        with contextlib.suppress(OSError):
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(timeout)
        pytest.fail(f"read_image({path}) blocked for {timeout} s")
    return outcome


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="this platform has no named pipes (os.mkfifo)")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "image.png"
    os.mkfifo(fifo)
    started = time.perf_counter()
    outcome = _read_in_thread(fifo)
    assert isinstance(outcome.get("error"), ValueError), outcome
    assert str(outcome["error"]) == f"read_image: path expects a regular image file, but {fifo} is a FIFO (named pipe)"
    assert time.perf_counter() - started < 5


@pytest.mark.skipif(not (os.path.exists("/dev/null") and stat.S_ISCHR(os.stat("/dev/null").st_mode)),
                    reason="no /dev/null character device on this platform")
def test_a_device_and_a_directory_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"read_image: path expects a regular image file, but /dev/null is a "
                                         r"character device"):
        read_image("/dev/null")
    with pytest.raises(IsADirectoryError, match=r"read_image: path expects a regular image file, "
                                                r"but .* is a directory"):
        read_image(tmp_path)


def test_pixel_bound_is_checked_from_the_header(tmp_path, no_decoding):
    (tmp_path / "bomb.png").write_bytes(_png_declaring(100_000, 100_000))
    with pytest.raises(ValueError, match=r"bomb\.png declares an image of 10,000,000,000 pixels, more than "
                                         r"max_pixels=67,108,864; refusing to decode it"):
        read_image(tmp_path / "bomb.png")
    (tmp_path / "wide.png").write_bytes(_png_declaring(9000, 9000))     # 81 Mpx: over the limit, under twice it
    with pytest.raises(ValueError, match=r"81,000,000 pixels, more than max_pixels=67,108,864"):
        read_image(tmp_path / "wide.png")
    assert DEFAULT_MAX_PIXELS == 2**26


def test_decoded_bytes_are_bounded_even_without_a_pixel_bound(tmp_path, no_decoding):
    (tmp_path / "bomb.png").write_bytes(_png_declaring(40_000, 40_000))   # 1.6 Gpx, 6.4 GB as RGBA
    with pytest.raises(ValueError, match=r"bomb\.png is 40000 x 40000 pixels of 4 band\(s\) of 1 byte\(s\) \(RGBA\) "
                                         r"= 6,400,000,000 bytes of pixel data, more than max_bytes=1,073,741,824"):
        read_image(tmp_path / "bomb.png", max_pixels=None)
    assert DEFAULT_MAX_BYTES == 2**30


def test_max_bytes_argument_of_read_image(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(np.full((10, 15), 1000, np.uint16)).save(buffer, format="PNG")     # 16-bit grayscale
    (tmp_path / "deep.png").write_bytes(buffer.getvalue())
    assert read_image(tmp_path / "deep.png", max_bytes=300).shape == (10, 15)         # 150 px x 2 bytes
    with pytest.raises(ValueError, match=r"10 pixels of 1 band\(s\) of 2 byte\(s\) \(I;16\) = 300 bytes of pixel data, "
                                         r"more than max_bytes=299"):
        read_image(tmp_path / "deep.png", max_bytes=299)
    assert read_image(tmp_path / "deep.png", max_bytes=None).shape == (10, 15)
    with pytest.raises(ValueError, match=r"read_image: max_bytes expects a positive integer, but got 0"):
        read_image(tmp_path / "deep.png", max_bytes=0)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="this platform has no named pipes (os.mkfifo)")
def test_read_idx_refuses_a_fifo_and_a_directory(tmp_path):
    os.mkfifo(tmp_path / "train-images-idx3-ubyte.gz")
    with pytest.raises(ValueError, match=r"read_idx: path expects a regular IDX file, but .* is a FIFO"):
        read_idx(tmp_path / "train-images-idx3-ubyte.gz")     # before the fix: open() blocked forever
    with pytest.raises(ValueError, match=r"read_idx: path expects a regular IDX file, but .* is a directory"):
        read_idx(tmp_path)
