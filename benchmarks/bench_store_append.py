"""Benchmark: durable appends to the beacon store, with group commit, against one fsync per append.

For each number of concurrent writers (asyncio tasks, as in the server), every
writer appends one beacon line at a time for ``--seconds`` and times each
``await store.append(...)``. The script prints appends/s, p50 and p99 latency, the
mean batch (appends per fsync), and the ratio of appends/s against the baseline
measured in the same run: one writer doing ``write`` + ``fsync`` per line on a plain
file (what a store without group commit can do at best on this disk).

Usage::

    python benchmarks/bench_store_append.py --writers 1 16 64 --seconds 3 [--uvloop]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from rtt_topology.remote.server.store import BeaconStore

LINE = (
    json.dumps(
        {
            "site": "auth-service",
            "session": "srv-12345",
            "event": "heartbeat",
            "ts": "2026-01-19T15:00:00Z",
            "structure": {"url": "internal://auth", "title": "Auth Service", "nav_count": 0},
            "received_at": "2026-01-19T15:00:00.123456Z",
        },
        separators=(",", ":"),
    ).encode()
    + b"\n"
)


def baseline(folder: Path, seconds: float) -> float:
    """Return appends/s of write + fsync per line, one writer."""
    fd = os.open(folder / "baseline.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    count = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        os.write(fd, LINE)
        os.fsync(fd)
        count += 1
    os.close(fd)
    return count / seconds


async def _drive(store: BeaconStore, writers: int, seconds: float) -> list[float]:
    latencies: list[float] = []
    end = time.perf_counter() + seconds

    async def writer() -> None:
        while (started := time.perf_counter()) < end:
            await store.append([LINE])
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(writer() for _ in range(writers)))
    return latencies


def measure(
    folder: Path, writers: int, seconds: float, *, use_uvloop: bool = False
) -> dict[str, float]:
    """Return appends/s, p50/p99 latency (ms) and appends per fsync for ``writers`` tasks."""
    with BeaconStore(folder / f"store-{writers}") as store:
        started = time.perf_counter()
        if use_uvloop:
            import uvloop

            latencies = uvloop.run(_drive(store, writers, seconds))
        else:
            latencies = asyncio.run(_drive(store, writers, seconds))
        elapsed = time.perf_counter() - started
        stats = store.stats()
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "appends_s": len(latencies) / elapsed,
        "p50_ms": cuts[49] * 1000,
        "p99_ms": cuts[98] * 1000,
        "per_fsync": stats.records / max(stats.fsyncs, 1),
    }


def main() -> None:
    """Run the benchmark and print one row per writer count."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--uvloop", action="store_true", help="run the writers on uvloop")
    parser.add_argument(
        "--dir", type=Path, default=None, help="where to write (default: a temp dir)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as name:
        folder = Path(name)
        base = baseline(folder, args.seconds)
        print(f"baseline write+fsync per line, 1 writer: {base:,.0f} appends/s")
        header = [("writers", 7), ("appends/s", 10), ("p50 ms", 7), ("p99 ms", 7)]
        header += [("per fsync", 9), ("ratio", 6)]
        print(" ".join(f"{name:>{width}}" for name, width in header))
        for writers in args.writers:
            row = measure(folder, writers, args.seconds, use_uvloop=args.uvloop)
            print(
                f"{writers:>7} {row['appends_s']:>10,.0f} {row['p50_ms']:>7.2f} "
                f"{row['p99_ms']:>7.2f} {row['per_fsync']:>9.1f} {row['appends_s'] / base:>6.1f}"
            )


if __name__ == "__main__":
    main()
