"""kill -9 of a process appending in a loop: every acknowledged line is stored, exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rtt_topology.load import read_beacons
from rtt_topology.remote.server.store import BeaconStore
from tests.remote.server.store_lines import stored_sessions

# 16 asyncio writers and 4 threads append (some requests carry three lines) and print each
# line's id only once its append returned: a printed id is an acknowledged line.
APPENDER = r"""
import asyncio, json, sys, threading
from rtt_topology.remote.server.store import BeaconStore

def line(n):
    record = {"site": "auth-service", "session": f"s{n}", "event": "heartbeat",
              "ts": "2026-01-19T15:00:00Z", "received_at": "2026-01-19T15:00:00.250000Z"}
    return json.dumps(record).encode() + b"\n"

store = BeaconStore(sys.argv[1], segment_bytes=int(sys.argv[2]))
store.open()
out = threading.Lock()

def acknowledge(ids):
    with out:
        sys.stdout.write("".join(f"{n}\n" for n in ids))
        sys.stdout.flush()

def ids_of(worker, i):
    base = (int(sys.argv[3]) * 100 + worker) * 1_000_000 + i * 3
    return [base] if i % 4 else [base, base + 1, base + 2]

async def writer(worker):
    for i in range(10**9):
        ids = ids_of(worker, i)
        await store.append([line(n) for n in ids])
        acknowledge(ids)

def blocking(worker):
    for i in range(10**9):
        ids = ids_of(worker, i)
        store.append_blocking([line(n) for n in ids])
        acknowledge(ids)

for worker in range(16, 20):
    threading.Thread(target=blocking, args=(worker,), daemon=True).start()

async def main():
    await asyncio.gather(*(writer(w) for w in range(16)))

asyncio.run(main())
"""


def _run_and_kill(data: Path, round_: int, kill_after: int) -> set[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", APPENDER, str(data), "8192", str(round_)],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert process.stdout is not None
    acknowledged: set[str] = set()
    try:
        for raw in process.stdout:
            acknowledged.add(f"s{int(raw)}")
            if len(acknowledged) >= kill_after:
                break
        os.kill(process.pid, signal.SIGKILL)
        # What was printed before the kill was acknowledged too: read the pipe to its end.
        for raw in process.stdout:
            if raw.endswith(b"\n"):
                acknowledged.add(f"s{int(raw)}")
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    return acknowledged


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_kill_9_loses_no_acknowledged_line_and_duplicates_none(tmp_path: Path) -> None:
    acknowledged: set[str] = set()
    for round_, kill_after in enumerate((300, 1200)):
        acknowledged |= _run_and_kill(tmp_path, round_, kill_after)
        store = BeaconStore(tmp_path)
        store.open()  # repairs what the kill left
        assert store.wait_compressed(30)
        store.close()
        stored = stored_sessions(tmp_path)
        assert len(stored) == len(set(stored)), "a line is stored twice"
        assert acknowledged <= set(stored), "an acknowledged line is missing"
    beacons, report = read_beacons(tmp_path)
    assert report.rejected == 0
    assert report.failures == []
    assert len(beacons) == len(stored)
    # The kills left closed segments behind, compressed on the restarts.
    assert list(tmp_path.rglob("*.jsonl.gz"))
