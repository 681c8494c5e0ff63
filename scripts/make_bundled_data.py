"""Regenerate the MNIST and Fashion-MNIST subsets shipped in src/convscope/data/bundled/.

Usage::

    python scripts/make_bundled_data.py [--data-dir DIR] [--out DIR]

``--data-dir`` holds the official gzip IDX files, directly or in ``mnist/`` and ``fashion-mnist/``
subfolders; the default is ``$CONVSCOPE_DATA``, else ``../shared/data`` next to the repository.
The source files' MD5s are checked against the published ones first.

Selection (deterministic, no randomness): for each class, the first 500 training and the first
100 test images with that label, in source-file order; the chosen images keep their file order.
The output is four gzip IDX files per dataset plus ``manifest.json`` (SHA-256 and size of each
file, counts, source MD5s, the rule). Gzip is written with a zero timestamp and no file name, so
the same zlib gives byte-identical files on every run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))   # this checkout's convscope, installed or not

import numpy as np  # noqa: E402

from convscope.data import FashionMNIST, MNIST, write_idx  # noqa: E402
from convscope.data.bundled import (  # noqa: E402
    MANIFEST, TEST_PER_CLASS, TRAIN_PER_CLASS, balanced_indices)
from convscope.data.idx import atomic_write_bytes  # noqa: E402

MAX_TOTAL_BYTES = 8 * 2**20
SELECTION = (f"For each class, the first {TRAIN_PER_CLASS} training and the first {TEST_PER_CLASS} test images "
             f"with that label, in source-file order; the chosen images keep their source-file order.")


def default_data_dir() -> Path:
    env = os.environ.get("CONVSCOPE_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def build(data_dir: Path, out: Path) -> dict:
    """Write the bundled files and manifest into ``out``; return the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    manifest = {
        "format": 1,
        "description": "Class-balanced subsets of MNIST and Fashion-MNIST shipped with convscope.",
        "selection": SELECTION,
        "generated_by": "scripts/make_bundled_data.py",
        "datasets": {},
        "files": {},
    }
    for cls in (MNIST, FashionMNIST):
        name = cls.FOLDER
        manifest["datasets"][name] = {}
        for train, per_class in ((True, TRAIN_PER_CLASS), (False, TEST_PER_CLASS)):
            split = "train" if train else "test"
            source = cls(data_dir, train=train, verify=True)
            idx = balanced_indices(source.targets, per_class)
            arrays = {"images": source.data[idx], "labels": source.targets[idx].astype(np.uint8)}
            entry = {}
            for kind, array in arrays.items():
                file = f"{name}-{split}-{kind}.idx.gz"
                raw = write_idx(out / file, array).read_bytes()
                manifest["files"][file] = {"bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}
                entry[kind] = file
            entry.update(count=int(len(idx)), per_class=per_class,
                         source={f: cls.MD5[f] for f in cls.files(train)})
            manifest["datasets"][name][split] = entry
            print(f"{name} {split}: {len(idx)} images from {source.root}")
    atomic_write_bytes(out / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
    return manifest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder with the official IDX files (default: $CONVSCOPE_DATA, else ../shared/data)")
    parser.add_argument("--out", type=Path, default=REPO / "src" / "convscope" / "data" / "bundled",
                        help="output folder (default: src/convscope/data/bundled)")
    args = parser.parse_args(argv)
    data_dir = args.data_dir if args.data_dir is not None else default_data_dir()
    manifest = build(data_dir, args.out)
    total = sum(f["bytes"] for f in manifest["files"].values())
    for file, info in manifest["files"].items():
        print(f"  {file:36s} {info['bytes']:>9d} bytes  sha256 {info['sha256'][:16]}...")
    print(f"total {total} bytes ({total / 2**20:.2f} MiB) in {args.out}")
    if total > MAX_TOTAL_BYTES:
        print(f"error: the bundled data must stay under {MAX_TOTAL_BYTES} bytes", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
