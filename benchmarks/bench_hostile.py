"""Benchmark: hostile input files cost time and memory in proportion to their size.

Writes files built to cost more than they weigh (a "billion laughs" YAML, gzip bombs,
one line of 100 MB, a line nested 100,000 deep, a Parquet dictionary that decodes to
terabytes) and, as the baseline, clean beacon JSON Lines of about the same size. Each
file is read by the public reader in a fresh process, which reports its wall time, its
peak resident memory and how the read ended (refused with our error, or loaded with
rejects). The table gives both against the baseline of the same size.

Usage::

    python benchmarks/bench_hostile.py [--mb 100]
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BEACON = (
    '{"site": "svc-%d", "session": "s1", "event": "heartbeat", '
    '"ts": "2026-01-19T15:%02d:%02dZ", "structure": {"url": "internal://svc", "dom_nodes": %d}}\n'
)


def _beacons(count: int) -> bytes:
    return b"".join((BEACON % (i % 40, i // 60 % 60, i % 60, i)).encode() for i in range(count))


def _laughs(levels: int = 9) -> str:
    lines = ["rtt_version: '1.0'", "supports: [heartbeat]", "extra:"]
    lines.append('  l0: &l0 ["ha", "ha", "ha", "ha", "ha", "ha", "ha", "ha", "ha", "ha"]')
    for i in range(1, levels):
        lines.append(f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def write_cases(folder: Path, mb: int) -> dict[str, tuple[str, Path]]:
    """Write every case; return ``name -> (reader, path)``."""
    size = mb << 20
    one = len(_beacons(1))
    cases: dict[str, tuple[str, Path]] = {}

    def add(name: str, reader: str, filename: str, write: Callable[[Path], None]) -> None:
        path = folder / filename
        write(path)
        cases[name] = (reader, path)

    add(
        "clean jsonl (baseline)",
        "beacons",
        "clean.jsonl",
        lambda p: p.write_bytes(_beacons(size // one)),
    )
    add("billion laughs profile", "profiles", "laughs.yaml", lambda p: p.write_text(_laughs()))
    add("billion laughs rules", "rules", "laughs-rules.yaml", lambda p: p.write_text(
        _laughs().replace("rtt_version: '1.0'\nsupports: [heartbeat]\n", "version: 1\nrules: []\n")
    ))  # fmt: skip
    # Newlines: text that deflates about 1000 times, as zeros do.
    member = gzip.compress(b"\n" * (16 << 20), compresslevel=9)
    add("gzip bomb 1 GiB", "beacons", "bomb.jsonl.gz", lambda p: p.write_bytes(member * 64))
    add("gzip bomb profiles", "profiles", "bomb.json.gz", lambda p: p.write_bytes(member * 64))

    def huge_line(p: Path, prefix: bytes = b'{"site": "', suffix: bytes = b"") -> None:
        with p.open("wb") as out:
            out.write(_beacons(10))
            out.write(prefix)
            chunk = b"x" * (1 << 20)
            for _ in range(mb):
                out.write(chunk)
            out.write(suffix + b"\n")
            out.write(_beacons(10))

    add(f"jsonl one line of {mb} MB", "beacons", "huge.jsonl", huge_line)
    good_row = b"b,s,heartbeat,2026-01-19T15:00:00Z\n"
    add(f"csv one line of {mb} MB", "beacons", "huge.csv", lambda p: p.write_bytes(
        b"site,session,event,ts\n" + b"a,s,heartbeat," + b"x" * size + b"\n" + good_row
    ))  # fmt: skip
    good_entry = b"[RTT] heartbeat sent " + BEACON.encode() % (1, 0, 0, 1)
    add(f"log one line of {mb} MB", "beacons", "huge.log", lambda p: p.write_bytes(
        b"[RTT] heartbeat sent {'site': '" + b"x" * size + b"'}\n" + good_entry
    ))  # fmt: skip
    deep = b'{"site": "x", "extra": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
    add("jsonl line 100,000 deep", "beacons", "deep.jsonl", lambda p: p.write_bytes(
        _beacons(10) + deep + _beacons(10)
    ))  # fmt: skip
    add("json profile 100,000 deep", "profiles", "deep.json", lambda p: p.write_bytes(
        b'{"tags": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    ))  # fmt: skip

    def parquet_bomb(p: Path) -> None:
        import numpy as np
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = 500_000
        zeros = pa.array(np.zeros(rows, np.int32))
        site = pa.DictionaryArray.from_arrays(zeros, pa.array(["x" * (1 << 20)]))
        ts = pa.DictionaryArray.from_arrays(zeros, pa.array(["2026-01-19T15:00:00Z"]))
        pq.write_table(pa.table({"site": site, "ts": ts}), p)

    add("parquet dictionary bomb", "beacons", "bomb.parquet", parquet_bomb)
    return cases


def _memory_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_case(reader: str, path: Path) -> dict[str, object]:
    """Read one file in this process; return time, peak memory over the start, and outcome."""
    from rtt_topology.diagnostics import load_rules
    from rtt_topology.errors import RttTopologyError
    from rtt_topology.load import read_beacons, read_profiles

    read: Callable[[Path], object] = {
        "beacons": read_beacons,
        "profiles": read_profiles,
        "rules": load_rules,
    }[reader]
    # Count the peak from here: importing the package has its own.
    Path("/proc/self/clear_refs").write_text("5")
    before = _memory_mb("VmRSS")
    started = time.perf_counter()
    try:
        result = read(path)
    except RttTopologyError as exc:
        outcome = "refused: " + str(exc).split(": ", 1)[1][:70]
    else:
        report = getattr(result, "report", None)
        outcome = "loaded"
        if report is not None:
            outcome = f"loaded: {report.accepted} accepted, {report.rejected} rejected"
            if report.rejects:
                outcome += f" ({report.rejects[0].reason[:40]})"
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_mb": _memory_mb("VmHWM") - before, "outcome": outcome}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100, help="size of the huge lines and baseline")
    parser.add_argument("--case", nargs=2, metavar=("READER", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case[0], Path(args.case[1]))))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        cases = write_cases(Path(tmp), args.mb)
        results = {}
        for name, (reader, path) in cases.items():
            answer = subprocess.run(
                [sys.executable, __file__, "--case", reader, str(path)],
                check=True,
                capture_output=True,
                text=True,
            )
            results[name] = (path.stat().st_size, json.loads(answer.stdout.splitlines()[-1]))
    base_size, base = results["clean jsonl (baseline)"]
    base_rate = float(base["seconds"]) / base_size
    print(f"{'case':28} {'size MB':>8} {'time s':>7} {'x base':>7} {'+RSS MB':>8}  outcome")
    for name, (size, result) in results.items():
        seconds = float(result["seconds"])
        # Below a megabyte, fixed costs (threads, imports on first use) dominate.
        ratio = f"{seconds / (base_rate * size):7.2f}" if size > 1e6 else f"{'-':>7}"
        print(
            f"{name:28} {size / 1e6:8.1f} {seconds:7.2f} {ratio} "
            f"{float(result['peak_mb']):8.0f}  {result['outcome']}"
        )
    print("x base: time over the baseline's time for as many bytes (files over 1 MB)")
    print("+RSS MB: peak resident memory of the read, over the memory before it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
