"""Benchmark: ``rtt-topology serve`` under wrk, against a bare Starlette + uvicorn baseline.

Starts each server in a subprocess on a free loopback port and drives it with ``wrk``
(a C load generator: a Python one saturates first on two cores) and the Lua script
beside this file, which posts one beacon per request (``POST /api/rtt/beacon``, site and
session varying) or batches of ``--batch`` beacons (``POST /api/rtt/beacons``) as JSON
Lines (``--batch-format lines``, the default: the fast form, checked column-wise by the
loader's JSON Lines machinery) or JSON arrays (``--batch-format array``).
Servers, in the same run and on the same machine:

- ``baseline``: a bare Starlette app on uvicorn (same HTTP parser and event loop) that
  parses the JSON body and answers ``{"status": "ok"}``: no validation, no storage;
- ``serve``: ``rtt-topology serve`` on a fresh data directory (validation with the
  loader's record rules, group-committed appends, fsync before every 200), rate limit
  off (one wrk client would otherwise be throttled as one address).

Prints requests/s, p50/p99 latency and beacons/s for each, the ratios to the baseline,
and checks the targets (single beacons: >= 10,000 requests/s with p99 < 25 ms; batches:
>= 200,000 beacons/s). ``--profile`` runs the server once more under cProfile (main
thread: the event loop and the request handlers) and prints where the time goes.

Usage::

    python benchmarks/bench_serve.py [--duration 10] [--connections 64] [--batch 1000]
                                     [--batch-format lines|array] [--batch-connections 8]
                                     [--profile] [--data-root DIR]

Batches use 8 connections by default: with 64 connections each holding a 1000-beacon
body, requests mostly queue and their latency says little.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import pstats
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
LUA = HERE / "bench_serve.lua"

BASELINE = """
import json
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

OK = b'{"status":"ok"}'


async def beacon(request):
    json.loads(await request.body())
    return Response(OK, media_type="application/json")


async def beacons(request):
    body = await request.body()
    if body.startswith(b"["):
        items = json.loads(body)
    else:
        items = [json.loads(line) for line in body.splitlines() if line.strip()]
    answer = {"status": "ok", "accepted": len(items), "rejected": 0, "rejects": []}
    return Response(json.dumps(answer).encode(), media_type="application/json")


async def healthz(request):
    return Response(OK, media_type="application/json")


app = Starlette(routes=[
    Route("/api/rtt/beacon", beacon, methods=["POST"]),
    Route("/api/rtt/beacons", beacons, methods=["POST"]),
    Route("/healthz", healthz),
])
# As rtt-topology serve runs uvicorn: httptools and uvloop when installed, no access log.
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False, server_header=False)
"""


@dataclass
class Run:
    """One wrk run: what it measured."""

    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non2xx: int
    socket_errors: int
    beacons_per_request: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def beacons_per_s(self) -> float:
        return self.rps * self.beacons_per_request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_argv(data: Path, port: int) -> list[str]:
    """``rtt-topology serve`` on ``data``, rate limit off."""
    return ["-m", "rtt_topology", "serve", "--data", str(data), "--port", str(port),
            "--rate-limit", "0"]  # fmt: skip


def baseline_argv(script: Path) -> Callable[[Path, int], list[str]]:
    return lambda data, port: [str(script), str(port)]


class Server:
    """A server in a subprocess of this Python: started, waited for, stopped with SIGTERM."""

    def __init__(
        self,
        argv: Callable[[Path, int], list[str]],
        data: Path,
        *,
        profile_to: Path | None = None,
    ) -> None:
        self.port = free_port()
        self.data = data
        data.mkdir(parents=True)
        prefix = [sys.executable]
        if profile_to is not None:
            prefix += ["-m", "cProfile", "-o", str(profile_to)]
        self.log = data.parent / f"{data.name}.log"
        self._log = self.log.open("wb")
        self.proc = subprocess.Popen(
            [*prefix, *argv(data, self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited:\n{self.log.read_text()}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).is_success:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"the server did not start:\n{self.log.read_text()}")
            time.sleep(0.05)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self, signum: signal.Signals = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signum)
        try:
            code = self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            code = self.proc.wait()
        self._log.close()
        return code


def wrk(url: str, args: argparse.Namespace, mode: list[str], seconds: float) -> dict[str, int]:
    connections = args.batch_connections if mode[0] == "batch" else args.connections
    command = [
        args.wrk, f"-t{args.threads}", f"-c{connections}", f"-d{seconds:g}s",
        "--timeout", "10s", "-s", str(LUA), url, "--", *mode,
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(text for text in reversed(out.splitlines()) if text.startswith("{"))
    return dict(json.loads(line))


def measure(name: str, server: Server, args: argparse.Namespace, batch: int) -> Run:
    """Warm the server up for 2 s, then measure for ``--duration`` seconds."""
    path, mode = ("/api/rtt/beacons", ["batch", str(batch), args.batch_format]) if batch else (
        "/api/rtt/beacon", ["single"])  # fmt: skip
    wrk(server.url(path), args, mode, 2)
    found = wrk(server.url(path), args, mode, args.duration)
    return Run(
        name,
        found["requests"],
        found["duration_us"] / 1e6,
        found["p50_us"] / 1e3,
        found["p99_us"] / 1e3,
        found["non2xx"],
        sum(found[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts")),
        batch or 1,
    )


def stored_records(data: Path) -> int:
    """Lines stored in the data directory's segments."""
    total = 0
    for path in (data / "beacons").rglob("*.jsonl*"):
        raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else (
            path.read_bytes())  # fmt: skip
        total += raw.count(b"\n")
    return total


def server_counters(server: Server) -> list[str]:
    """The server's own counters from /metrics (store batches and fsyncs among them)."""
    text = httpx.get(server.url("/metrics"), timeout=30).text
    return [line for line in text.splitlines() if line.startswith("rtt_server_")]


def run_all(args: argparse.Namespace, root: Path) -> list[Run]:
    runs: list[Run] = []
    script = root / "baseline.py"
    script.write_text(BASELINE)
    servers = {"baseline": baseline_argv(script), "serve": serve_argv}
    for name, argv in servers.items():
        for batch in (0, args.batch):
            label = f"{name}, {'batches of ' + str(batch) if batch else 'one beacon'}"
            data = root / f"{name}-{batch}"
            server = Server(argv, data)
            try:
                run = measure(label, server, args, batch)
                counters = server_counters(server) if name == "serve" else []
            finally:
                code = server.stop()
            runs.append(run)
            print(f"  {label}: {run.rps:,.0f} requests/s (exit {code})", file=sys.stderr)
            if name == "serve":
                stored = stored_records(data)
                acked = (run.requests - run.non2xx) * run.beacons_per_request
                print(f"    stored {stored:,} beacons; acknowledged in the measured window "
                      f"{acked:,} (warm-up and in-flight requests add the rest)",
                      file=sys.stderr)  # fmt: skip
                for line in counters:
                    print(f"    {line}", file=sys.stderr)
    return runs


def report(runs: list[Run]) -> None:
    head = f"{'server':34} {'requests/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'beacons/s':>11}"
    print(head + f" {'non-2xx':>8} {'sock err':>8}")
    for r in runs:
        print(f"{r.name:34} {r.rps:11,.0f} {r.p50_ms:8.2f} {r.p99_ms:8.2f} "
              f"{r.beacons_per_s:11,.0f} {r.non2xx:8d} {r.socket_errors:8d}")  # fmt: skip
    single, batch = runs[2], runs[3]
    print()
    print(f"serve / baseline, one beacon:  {single.rps / runs[0].rps:.2f} of the requests/s")
    print(f"serve / baseline, batches:     {batch.beacons_per_s / runs[1].beacons_per_s:.2f} "
          "of the beacons/s")  # fmt: skip
    checks: list[tuple[str, Callable[[], bool]]] = [
        ("one beacon: >= 10,000 requests/s", lambda: single.rps >= 10_000),
        ("one beacon: p99 < 25 ms", lambda: single.p99_ms < 25),
        ("batches: >= 200,000 beacons/s", lambda: batch.beacons_per_s >= 200_000),
        ("no error answers from serve", lambda: single.non2xx == batch.non2xx == 0),
    ]
    for text, ok in checks:
        print(f"{'met    ' if ok() else 'MISSED '} {text}")


# Where a profiled function lives -> the part of the server it belongs to (first match).
PARTS = (
    ("rtt_topology/load/", "record rules (rtt_topology.load: check_beacon, JSON)"),
    ("rtt_topology/remote/server/", "routes, guards, store hand-off, live window"),
    ("rtt_topology/", "other rtt_topology"),
    ("uvicorn/", "HTTP server (uvicorn, httptools)"),
    ("starlette/", "ASGI framework (starlette)"),
    ("/json/", "json (stdlib)"),
    ("asyncio/", "event loop (uvloop callbacks, idle waits)"),
    ("importlib", "start-up imports"),
)


def time_by_part(stats: pstats.Stats) -> dict[str, float]:
    """Sum the own time of every profiled function by the part of the server it is in."""
    shares: dict[str, float] = {}
    for (filename, _, name), row in stats.stats.items():  # type: ignore[attr-defined]
        where = filename if filename != "~" else name
        part = next((label for key, label in PARTS if key in where), "other (C built-ins, stdlib)")
        if "frozen importlib" in where or "marshal" in name or "compile" in name:
            part = "start-up imports"
        shares[part] = shares.get(part, 0.0) + row[2]
    return shares


def profile(args: argparse.Namespace, root: Path, batch: int) -> None:
    """Run ``serve`` under cProfile during one load; print the top functions."""
    out = root / f"serve-{batch}.prof"
    server = Server(serve_argv, root / f"profiled-{batch}", profile_to=out)
    path, mode = ("/api/rtt/beacons", ["batch", str(batch), args.batch_format]) if batch else (
        "/api/rtt/beacon", ["single"])  # fmt: skip
    try:
        wrk(server.url(path), args, mode, args.duration)
    finally:
        # SIGINT: uvicorn re-raises SIGTERM after its shutdown, which would kill the
        # process before cProfile writes its file; a re-raised SIGINT unwinds instead.
        server.stop(signal.SIGINT)
    stats = pstats.Stats(str(out))
    what = f"batches of {batch}" if batch else "one beacon per request"
    print(f"\nwhere the main thread's time goes, {what} (cProfile, own time by part):")
    shares = time_by_part(stats)
    total = sum(shares.values())
    for part, seconds in sorted(shares.items(), key=lambda kv: -kv[1]):
        print(f"  {part:58} {seconds:7.2f} s {100 * seconds / total:5.1f}%")
    print("top functions by own time:")
    stats.sort_stats("tottime").print_stats(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="Seconds per run.")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads.")
    parser.add_argument("--batch", type=int, default=1000, help="Beacons per batch request.")
    parser.add_argument(
        "--batch-format", choices=("lines", "array"), default="lines", help="Batch bodies."
    )
    parser.add_argument(
        "--batch-connections", type=int, default=8, help="wrk connections for batches."
    )
    parser.add_argument("--profile", action="store_true", help="Also profile serve (cProfile).")
    parser.add_argument("--profile-only", action="store_true", help="Only profile serve.")
    parser.add_argument("--data-root", type=Path, help="Where the data directories go.")
    parser.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    args = parser.parse_args()
    if shutil.which(args.wrk) is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (Debian, Ubuntu)")
    root = Path(tempfile.mkdtemp(prefix="bench-serve-", dir=args.data_root))
    try:
        print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s (batches: "
              f"-c{args.batch_connections}), data in {root}, {os.cpu_count()} CPUs, load "
              f"{os.getloadavg()[0]:.1f}", file=sys.stderr)  # fmt: skip
        if not args.profile_only:
            report(run_all(args, root))
        if args.profile or args.profile_only:
            profile(args, root, 0)
            profile(args, root, args.batch)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
