"""Pin every library's thread count from ``--threads N`` (default 2) before NumPy's BLAS starts.

Each benchmark imports this module first: OpenBLAS, OpenMP and MKL read their thread counts once,
when they load, so the variables must be set before ``import numpy``.
"""

import os
import sys


def threads_from_argv(argv=None, default: str = "2") -> str:
    argv = sys.argv if argv is None else argv
    value = default
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--threads="):
            value = arg.split("=", 1)[1]
    return value


THREADS = threads_from_argv()
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = THREADS
# As convscope does when it is imported first (see convscope/__init__.py): OpenBLAS's idle workers
# sleep after 2^20 cycles instead of spinning for 0.1 s, so they do not starve the compiled loops.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "20")
