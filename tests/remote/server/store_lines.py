"""Beacon lines and file-system doubles shared by the store tests."""

from __future__ import annotations

import errno
import gzip
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

from rtt_topology.remote.server.fileops import FileOps

__all__ = ["Clock", "RecordingOps", "beacon_line", "stored_lines", "stored_sessions"]


def beacon_line(n: int, *, site: str = "auth-service") -> bytes:
    """Return one valid beacon line whose session ``s<n>`` identifies it."""
    record = {
        "site": site,
        "session": f"s{n}",
        "event": "heartbeat",
        "ts": "2026-01-19T15:00:00Z",
        "structure": {"url": "internal://auth", "title": "Auth", "dom_nodes": 0},
        "received_at": "2026-01-19T15:00:00.250000Z",
    }
    return json.dumps(record, separators=(",", ":")).encode() + b"\n"


def stored_lines(directory: Path) -> list[bytes]:
    """Every complete line of every segment (plain or gzip) under ``directory``."""
    lines: list[bytes] = []
    for path in sorted(directory.rglob("beacons-*.jsonl*")):
        if path.name.endswith(".jsonl.gz"):
            data = gzip.decompress(path.read_bytes())
        elif path.name.endswith(".jsonl"):
            data = path.read_bytes()
        else:
            continue
        lines.extend(line + b"\n" for line in data.split(b"\n")[:-1])
    return lines


def stored_sessions(directory: Path) -> list[str]:
    """The sessions of every stored line, in file order."""
    return [json.loads(line)["session"] for line in stored_lines(directory)]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime = datetime(2026, 1, 19, 23, 30, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class RecordingOps(FileOps):
    """Real file operations that log each call and fail on demand.

    ``fail`` maps an operation name (``write``, ``fsync``, ``truncate``,
    ``open_append``, ``rename``...) to the errno it raises while set;
    ``short_write`` makes a write stop after that many bytes before failing;
    ``fsync_gate`` (an event) holds every segment fsync until set.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.fail: dict[str, int] = {}
        self.short_write: int | None = None
        self.fsync_gate: threading.Event | None = None
        self.fsync_delay_s = 0.0
        self._lock = threading.Lock()

    def _log(self, name: str, target: object) -> None:
        with self._lock:
            self.calls.append((name, str(target)))
        if name in self.fail:
            code = self.fail[name]
            raise OSError(code, f"injected {errno.errorcode.get(code, code)}")

    def count(self, name: str) -> int:
        return sum(1 for call, _ in self.calls if call == name)

    def open_append(self, path: Path) -> int:
        self._log("open_append", path)
        return super().open_append(path)

    def write(self, fd: int, data: bytes | memoryview) -> int:
        if "write" in self.fail and self.short_write:
            written = super().write(fd, data[: self.short_write])
            self.short_write = None
            return written
        self._log("write", fd)
        return super().write(fd, data)

    def fsync(self, fd: int) -> None:
        if self.fsync_gate is not None:
            self.fsync_gate.wait(10)
        if self.fsync_delay_s:
            threading.Event().wait(self.fsync_delay_s)
        self._log("fsync", fd)
        super().fsync(fd)

    def truncate(self, fd: int, size: int) -> None:
        self._log("truncate", size)
        super().truncate(fd, size)

    def rename(self, source: Path, target: Path) -> None:
        self._log("rename", target)
        super().rename(source, target)

    def open_new(self, path: Path) -> IO[bytes]:
        self._log("open_new", path)
        return super().open_new(path)

    def unlink(self, path: Path) -> None:
        self._log("unlink", path)
        super().unlink(path)

    def fsync_dir(self, path: Path) -> None:
        self._log("fsync_dir", path)
        super().fsync_dir(path)
