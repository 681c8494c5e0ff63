"""A bounded load test of the explorer: a few hundred requests, several at once, on 127.0.0.1.

Starts ``convscope explore`` as its own process on a free port (or uses ``--url``), then sends
``--requests`` requests from ``--concurrency`` concurrent clients (httpx, asyncio), cycling
through every endpoint the page uses: the model list, samples, an image upload, the forward pass,
cells of every kind, the arithmetic playground, the filter playground, the learned filters, and a
few requests that must be refused (an unknown model, a cell out of range: 404/422). Meanwhile a
probe asks ``/api/health`` every 100 ms, to see that the server stays responsive under the load.

Reports the latency percentiles (p50, p90, p99, max) overall and per endpoint, the throughput and
the probe's latencies (after one warm-up forward pass, which compiles the engine's loops); exits 1
on any error: a status other than the expected one, a timeout or a failed connection.

    python benchmarks/explore_load.py [--requests 300] [--concurrency 8] [--model lenet5] [--url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field

import numpy as np

try:
    import httpx
except ImportError:                              # pragma: no cover
    sys.exit("benchmarks/explore_load.py needs httpx (the test extra): pip install -e '.[test]'")


@dataclass
class Result:
    kind: str
    seconds: float
    status: int | None
    expected: int
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status == self.expected


@dataclass
class Run:
    results: list[Result] = field(default_factory=list)
    probes: list[float] = field(default_factory=list)
    probe_failures: list[str] = field(default_factory=list)
    seconds: float = 0.0


def start_server(models: list[str]) -> tuple[subprocess.Popen, str]:
    """``convscope explore`` on a free port; returns the process and its URL."""
    argv = [sys.executable, "-m", "convscope", "explore", "--port", "0"]
    for model in models:
        argv += ["--model", model]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    line = process.stdout.readline()
    if not line.startswith("convscope explorer on "):
        process.kill()
        sys.exit(f"explore_load: the server did not start: {line}{process.stderr.read()}")
    return process, line.split()[3].rstrip("/")


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()


def _png(picture: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(picture.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def plan(model: str, sample: dict, detail: dict, cases: list[dict], count: int, seed: int = 0) -> list[tuple]:
    """``count`` requests (kind, method, path, keyword arguments, expected status), in a fixed order."""
    rng = np.random.default_rng(seed)
    x = sample["input"]
    spatial = [r for r in detail["layers"] if len(r["output_shape"]) == 4]
    vectors = [r for r in detail["layers"] if len(r["output_shape"]) == 2 and r["type"] != "Flatten"]
    picture = (np.clip(np.array(sample["preview"]), 0, 1) * 255)
    upload = _png(picture)

    def cell():
        if rng.random() < 0.8:
            r = spatial[rng.integers(len(spatial))]
            _, c, h, w = r["output_shape"]
            body = {"layer": r["name"], "channel": int(rng.integers(c)), "row": int(rng.integers(h)),
                    "col": int(rng.integers(w))}
        else:
            r = vectors[rng.integers(len(vectors))]
            body = {"layer": r["name"], "channel": int(rng.integers(r["output_shape"][1]))}
        return ("cell", "POST", "/api/cell", {"json": {"model": model, "input": x, **body}}, 200)

    def playground():                                  # one of Dumoulin & Visin's cases, as the page offers them
        body = cases[rng.integers(len(cases))]["arguments"]
        return ("playground", "POST", "/api/playground", {"json": body}, 200)

    makers = [
        lambda: ("health", "GET", "/api/health", {}, 200),
        lambda: ("models", "GET", "/api/models", {}, 200),
        lambda: ("sample", "GET", f"/api/samples/digit-{rng.integers(10)}", {"params": {"model": model}}, 200),
        lambda: ("upload", "POST", "/api/input", {"files": {"file": ("x.png", upload, "image/png")},
                                                 "data": {"model": model}}, 200),
        lambda: ("forward", "POST", "/api/forward", {"json": {"model": model, "input": x}}, 200),
        lambda: ("forward", "POST", "/api/forward", {"json": {"model": model, "input": x}}, 200),
        cell, cell, cell, playground,
        lambda: ("filter", "POST", "/api/filter",
                 {"json": {"kernel": str(rng.choice(["sobel_x", "gaussian", "laplacian"])),
                           "image": sample["preview"]}}, 200),
        lambda: ("learned", "GET", f"/api/models/{model}/filters", {}, 200),
        lambda: ("refused", "POST", "/api/forward", {"json": {"model": "no-such-model", "input": x}}, 404),
        lambda: ("refused", "POST", "/api/cell", {"json": {"model": model, "input": x, "layer": spatial[0]["name"],
                                                           "channel": 10**6}}, 422),
    ]
    order = rng.permutation(np.resize(np.arange(len(makers)), count))
    return [makers[i]() for i in order]


async def _one(client: httpx.AsyncClient, request: tuple, timeout: float) -> Result:
    kind, method, path, kwargs, expected = request
    start = time.perf_counter()
    try:
        response = await client.request(method, path, timeout=timeout, **kwargs)
        seconds = time.perf_counter() - start
        error = None
        if response.status_code != expected:
            error = f"{kind} {path}: status {response.status_code}, expected {expected}: {response.text[:200]}"
        elif expected >= 400 and not isinstance(response.json().get("detail"), str):
            error = f"{kind} {path}: a refusal without a detail message"
        return Result(kind, seconds, response.status_code, expected, error)
    except (httpx.HTTPError, ValueError) as exc:
        return Result(kind, time.perf_counter() - start, None, expected, f"{kind} {path}: {type(exc).__name__}: {exc}")


async def _probe(client: httpx.AsyncClient, run: Run, done: asyncio.Event) -> None:
    while not done.is_set():
        start = time.perf_counter()
        try:
            response = await client.get("/api/health", timeout=5.0)
            if response.status_code != 200:
                run.probe_failures.append(f"health: status {response.status_code}")
        except httpx.HTTPError as exc:
            run.probe_failures.append(f"health: {type(exc).__name__}: {exc}")
        run.probes.append(time.perf_counter() - start)
        try:
            await asyncio.wait_for(done.wait(), timeout=0.1)
        except asyncio.TimeoutError:
            pass


async def load(url: str, requests: list[tuple], concurrency: int, timeout: float) -> Run:
    run = Run()
    queue: asyncio.Queue = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)
    limits = httpx.Limits(max_connections=concurrency + 1, max_keepalive_connections=concurrency + 1)
    async with httpx.AsyncClient(base_url=url, limits=limits) as client, \
            httpx.AsyncClient(base_url=url) as prober:
        done = asyncio.Event()
        probe = asyncio.create_task(_probe(prober, run, done))

        async def worker():
            while not queue.empty():
                run.results.append(await _one(client, queue.get_nowait(), timeout))

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        run.seconds = time.perf_counter() - start
        done.set()
        await probe
    return run


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1000
    return {"p50": float(np.percentile(ms, 50)), "p90": float(np.percentile(ms, 90)),
            "p99": float(np.percentile(ms, 99)), "max": float(ms.max())}


def report(run: Run, concurrency: int) -> dict:
    errors = [r.error or f"{r.kind}: status {r.status}" for r in run.results if not r.ok]
    kinds = sorted({r.kind for r in run.results})
    summary = {
        "requests": len(run.results), "concurrency": concurrency, "seconds": run.seconds,
        "requests_per_second": len(run.results) / run.seconds if run.seconds else 0.0,
        "errors": len(errors) + len(run.probe_failures), "latency_ms": percentiles([r.seconds for r in run.results]),
        "by_kind": {k: {"count": sum(r.kind == k for r in run.results),
                        **percentiles([r.seconds for r in run.results if r.kind == k])} for k in kinds},
        "health_probe_ms": percentiles(run.probes) if run.probes else None, "probes": len(run.probes),
        "first_errors": (errors + run.probe_failures)[:5],
    }
    lat = summary["latency_ms"]
    print(f"{summary['requests']} requests, {concurrency} at once, in {run.seconds:.2f} s "
          f"({summary['requests_per_second']:.0f} requests/s); errors {summary['errors']}")
    print(f"latency ms: p50 {lat['p50']:.1f}  p90 {lat['p90']:.1f}  p99 {lat['p99']:.1f}  max {lat['max']:.1f}")
    for kind, row in summary["by_kind"].items():
        print(f"  {kind:<10} {row['count']:>4}  p50 {row['p50']:7.1f}  p90 {row['p90']:7.1f}  p99 {row['p99']:7.1f}")
    if summary["health_probe_ms"]:
        h = summary["health_probe_ms"]
        print(f"health probe during the load ({summary['probes']} probes): p50 {h['p50']:.1f} ms, "
              f"p99 {h['p99']:.1f} ms, max {h['max']:.1f} ms")
    for error in summary["first_errors"]:
        print(f"error: {error}")
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--model", default="lenet5", help="the model the requests use (default lenet5)")
    parser.add_argument("--url", help="an explorer already running (default: start one on a free port)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request before it counts as an error")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.concurrency < 1:
        parser.error("--requests and --concurrency expect positive integers")
    process = None
    url = args.url
    if url is None:
        process, url = start_server([args.model])
    try:
        with httpx.Client(base_url=url, timeout=args.timeout) as setup:
            sample = setup.get("/api/samples/digit-7", params={"model": args.model})
            sample.raise_for_status()
            detail = setup.get(f"/api/models/{args.model}").json()
            cases = setup.get("/api/playground/cases").json()["cases"]
            # warm up outside the figures: the first pass compiles the engine's loops (numba)
            setup.post("/api/forward", json={"model": args.model, "input": sample.json()["input"]}).raise_for_status()
        requests = plan(args.model, sample.json(), detail, cases, args.requests)
        run = asyncio.run(load(url, requests, args.concurrency, args.timeout))
    finally:
        if process is not None:
            stop_server(process)
    summary = report(run, args.concurrency)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=2)
    return 1 if summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
