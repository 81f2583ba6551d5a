"""The real server in hard times: SIGTERM, SIGKILL mid-stream, and writes the disk refuses."""

from __future__ import annotations

import fcntl
import gzip
import json
import resource
import signal
import subprocess
import threading
from collections import Counter
from pathlib import Path

import httpx
import pytest

from rtt_topology.load import read_beacons
from tests.remote.server.serve_process import GRACEFUL_EXIT, ServeProcess, serve_argv, wait_until

pytestmark = pytest.mark.slow

SENDERS = 4


def beacon(sender: int, n: int) -> dict[str, object]:
    """A beacon whose session names it uniquely (the loader keys duplicates on it)."""
    return {
        "site": f"crash-svc-{sender}",
        "session": f"t{sender}-{n:06d}",
        "event": "heartbeat",
        "ts": "2026-01-19T15:00:00Z",
        "structure": {"url": f"internal://crash-svc-{sender}", "dom_nodes": n},
    }


def stored_sessions(data: Path) -> Counter[str]:
    """How many times each session is stored, counting raw lines of every segment."""
    counts: Counter[str] = Counter()
    for path in (data / "beacons").rglob("*.jsonl*"):
        if path.name.endswith(".jsonl.gz"):
            raw = gzip.decompress(path.read_bytes())
        elif path.name.endswith(".jsonl"):
            raw = path.read_bytes()
        else:
            continue
        for line in raw.splitlines(keepends=True):
            if line.endswith(b"\n"):
                counts[json.loads(line)["session"]] += 1
    return counts


def lock_is_free(data: Path) -> bool:
    with (data / "server.lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle, fcntl.LOCK_UN)
        return True


def send_until(
    base_url: str, stop: threading.Event, sender: int, acked: list[str], errors: list[str]
) -> None:
    """Post beacons one by one (no retries) until ``stop``; record the acknowledged sessions."""
    with httpx.Client(timeout=5) as http:
        n = 0
        while not stop.is_set():
            record = beacon(sender, n)
            n += 1
            try:
                answer = http.post(f"{base_url}/beacon", json=record)
            except httpx.HTTPError as exc:
                errors.append(type(exc).__name__)
                if stop.wait(0.01):
                    return
                continue
            if answer.status_code == 200 and answer.json() == {"status": "ok"}:
                acked.append(str(record["session"]))


def test_kill_9_mid_stream_loses_nothing_acknowledged(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    acked: list[list[str]] = [[] for _ in range(SENDERS)]
    errors: list[str] = []
    stop = threading.Event()
    with ServeProcess(data) as server:
        threads = [
            threading.Thread(target=send_until, args=(server.base_url, stop, i, acked[i], errors))
            for i in range(SENDERS)
        ]
        for thread in threads:
            thread.start()
        try:
            assert wait_until(lambda: sum(map(len, acked)) >= 200, timeout_s=30)
            assert server.kill() == -signal.SIGKILL
            stop.wait(0.2)  # the senders meet a dead server for a while
        finally:
            stop.set()
            for thread in threads:
                thread.join()
    acknowledged = [s for sender in acked for s in sender]
    assert len(acknowledged) == len(set(acknowledged)) >= 200
    assert errors  # the kill was mid-stream: some requests got no answer

    # What a crash in the middle of a write leaves at worst: the start of a line.
    segment = max((data / "beacons").rglob("*.jsonl"), key=lambda p: p.name)
    torn = b'{"site": "crash-svc-0", "session": "torn'
    with segment.open("ab") as handle:
        handle.write(torn)

    # Restart on the same directory: the store repairs itself and takes beacons again.
    with ServeProcess(data) as server:
        answer = httpx.post(f"{server.base_url}/beacon", json=beacon(99, 0), timeout=10)
        assert answer.status_code == 200
        assert server.terminate() in GRACEFUL_EXIT[signal.SIGTERM]

    counts = stored_sessions(data)
    assert [s for s in acknowledged if counts[s] != 1] == []
    assert counts["t99-000000"] == 1
    assert max(counts.values()) == 1  # nothing is stored twice, acknowledged or not
    (kept,) = (data / "beacons").rglob("*.torn")
    assert kept.read_bytes().endswith(torn)
    assert b"\n" not in kept.read_bytes()
    load = read_beacons(data)
    report = load.report
    assert report.accepted + report.rejected == report.read
    assert report.rejected == 0  # the torn bytes were cut off, never read as a record
    assert set(acknowledged) <= set(load.beacons["session"].astype(str))


def test_sigterm_mid_stream_shuts_down_gracefully(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    acked: list[list[str]] = [[] for _ in range(SENDERS)]
    errors: list[str] = []
    stop = threading.Event()
    with ServeProcess(data) as server:
        assert not lock_is_free(data)
        # One server per directory: a second one is refused with one line.
        second = subprocess.run(
            serve_argv(data, server.port), capture_output=True, text=True, timeout=60
        )
        assert second.returncode != 0
        assert "server.lock" in second.stderr
        assert "Traceback" not in second.stderr
        threads = [
            threading.Thread(target=send_until, args=(server.base_url, stop, i, acked[i], errors))
            for i in range(SENDERS)
        ]
        for thread in threads:
            thread.start()
        try:
            assert wait_until(lambda: sum(map(len, acked)) >= 100, timeout_s=30)
            assert server.terminate() in GRACEFUL_EXIT[signal.SIGTERM]
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        log = server.log_text()
    assert "Traceback" not in log
    assert "aborted" not in log
    assert lock_is_free(data)
    counts = stored_sessions(data)
    assert [s for sender in acked for s in sender if counts[s] != 1] == []
    assert max(counts.values()) == 1
    # A clean stop leaves nothing to repair: no torn bytes, no temporary files.
    assert not list((data / "beacons").rglob("*.torn"))
    assert not list((data / "beacons").rglob("*.tmp"))
    assert read_beacons(data).report.ok


FILE_LIMIT = 256 * 1024


def small_disk() -> None:
    """In the server's process: files may not grow past FILE_LIMIT (writes fail with EFBIG)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write instead of killing
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))


def test_a_write_the_disk_refuses_is_503_never_200(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    answers: list[tuple[int, list[str]]] = []
    with ServeProcess(data, "--rate-limit", "0", preexec=small_disk) as server:
        with httpx.Client(timeout=10) as http:
            for n in range(60):
                batch = [beacon(2, n * 100 + i) for i in range(100)]
                answer = http.post(f"{server.base_url}/beacons", json=batch)
                answers.append((answer.status_code, [str(b["session"]) for b in batch]))
                if answer.status_code == 503:
                    assert int(answer.headers["retry-after"]) >= 1
                    assert answer.json()["error"]
                else:
                    assert answer.status_code == 200, answer.text
                    assert answer.json()["accepted"] == 100
        assert server.terminate() in GRACEFUL_EXIT[signal.SIGTERM]
    statuses = [status for status, _ in answers]
    # The segment fills up: a refused batch, then a new segment takes the next ones.
    assert 503 in statuses
    assert statuses[statuses.index(503) + 1] == 200
    counts = stored_sessions(data)
    acked = [s for status, sessions in answers if status == 200 for s in sessions]
    assert [s for s in acked if counts[s] != 1] == []
    refused = {s for status, sessions in answers if status == 503 for s in sessions}
    assert not refused & set(counts)
    assert read_beacons(data).report.ok
