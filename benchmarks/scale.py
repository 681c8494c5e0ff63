"""Filter a 20000 x 20000 float32 image (1.6 GB) that never exists in memory, on a local Dask cluster.

The image is generated lazily chunk by chunk (``dask.array.random``), filtered by
``convscope.scale.filter`` (a 9x9 random kernel, mirror boundary) on a ``dask.distributed``
``LocalCluster`` of 2 single-threaded worker processes on 127.0.0.1, and reduced to its mean and
standard deviation, so no step holds the whole array. Reports the wall time and each worker's peak
resident memory (``ru_maxrss``), against the array's 1.6 GB.

    python benchmarks/scale.py [--size 20000] [--chunk 2048] [--kernel 9]
"""

import argparse
import resource
import sys
import time

import numpy as np

try:
    import dask.array as da
    from distributed import Client, LocalCluster
except ImportError:                              # pragma: no cover
    sys.exit("benchmarks/scale.py needs the scale extra: pip install -e '.[scale]'")

from convscope import scale


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=20000)
    parser.add_argument("--chunk", type=int, default=2048)
    parser.add_argument("--kernel", type=int, default=9)
    args = parser.parse_args(argv)
    n, c = args.size, args.chunk
    kernel = np.random.default_rng(0).standard_normal((args.kernel, args.kernel)).astype(np.float32)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, memory_limit="4GiB") as cluster, Client(cluster) as client:
        image = da.random.default_rng(0).random((n, n), dtype=np.float32, chunks=c)
        filtered = scale.filter(image, kernel, boundary="symm")
        start = time.perf_counter()
        mean, std = client.compute([filtered.mean(), filtered.std()], sync=True)
        seconds = time.perf_counter() - start
        peaks = client.run(peak_rss_mib)
    gb = n * n * 4 / 1e9
    print(f"scale.filter: {n}x{n} float32 ({gb:.1f} GB, generated lazily in {c}x{c} chunks), "
          f"{args.kernel}x{args.kernel} kernel, 2 workers x 1 thread on 127.0.0.1")
    print(f"time {seconds:.1f} s ({n * n / seconds / 1e6:.0f} Mpixel/s); mean {mean:.4f}, std {std:.4f}")
    for worker, mib in sorted(peaks.items()):
        print(f"worker {worker}: peak RSS {mib:.0f} MiB ({mib * 2**20 / (n * n * 4):.0%} of the array)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
