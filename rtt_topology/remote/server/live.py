"""Live status and metrics: a bounded window of recent beacons fed by the store's appends.

The window holds the beacons of the last ``window_s`` seconds (by ``ts``), at most
``window_records`` of them (the newest by ``ts`` are kept). At start it is loaded
from the newest segment files of the store (read with
:func:`~rtt_topology.load.read_beacons`, newest first, until their size on disk
would hold the window's records at :data:`BYTES_PER_RECORD`); afterwards every
accepted beacon is added as it is stored. ``/api/rtt/status`` answers
:func:`~rtt_topology.analysis.liveness.states` at the server's clock over that window
and the current profiles; ``/metrics`` answers
:func:`~rtt_topology.export.metrics.exposition` of the same window, then the server's
own counters. Both answers are computed at most once per ``cache_s`` seconds, in a
worker thread, so scrapes never wait for each other nor hold the event loop.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from rtt_topology.columns import CATEGORY_COLUMNS
from rtt_topology.schemas import Profile

__all__ = ["BYTES_PER_RECORD", "LiveWindow", "counters_text", "segment_files"]

logger = logging.getLogger("rtt_topology.remote.server")

#: Bytes on disk of one stored beacon, to choose how many segment files to read at start
#: (a stored line is ~250 bytes, gzip makes it ~10 times smaller: 100 errs on reading more).
BYTES_PER_RECORD = 100

_SORT = ["site", "ts", "session", "event"]
_KEY = ["site", "session", "event", "ts"]
_SEGMENT_SUFFIXES = (".jsonl", ".jsonl.gz")
#: How many times the window is read again when a segment moved while it was read.
_LOAD_ATTEMPTS = 5
_STATUS_COLUMNS = ("site", "state", "last_seen", "last_event", "age_s", "period_s", "period_from",
                   "sessions", "restarts_in_window")  # fmt: skip


def segment_files(beacons_dir: Path, budget_bytes: int) -> list[Path]:
    """Return the newest segment files whose sizes add up to ``budget_bytes`` at least.

    Segments are named by hour, so their names sort by time.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> (d / "2026-01-19").mkdir()
    >>> for h in ("10", "11"):
    ...     _ = (d / "2026-01-19" / f"beacons-2026-01-19T{h}-0000.jsonl").write_text("x" * 10)
    >>> [p.name for p in segment_files(d, 5)]
    ['beacons-2026-01-19T11-0000.jsonl']
    """
    if not beacons_dir.is_dir():
        return []
    files = sorted(
        (p for p in beacons_dir.glob("*/beacons-*") if p.name.endswith(_SEGMENT_SUFFIXES)),
        key=lambda p: p.name,
        reverse=True,
    )
    chosen: list[Path] = []
    total = 0
    for path in files:
        if total >= budget_bytes:
            break
        try:
            total += path.stat().st_size
        except OSError:
            continue
        chosen.append(path)
    return chosen[::-1]


def counters_text(
    counters: Mapping[str, tuple[str, str, Mapping[tuple[tuple[str, str], ...], float]]],
) -> str:
    """Write counters as Prometheus text: ``{name: (type, help, {labels: value})}``.

    Examples
    --------
    >>> print(counters_text({"rtt_server_fsyncs_total": ("counter", "fsyncs.", {(): 3})}), end="")
    # HELP rtt_server_fsyncs_total fsyncs.
    # TYPE rtt_server_fsyncs_total counter
    rtt_server_fsyncs_total 3
    """
    lines = []
    for name, (kind, text, samples) in counters.items():
        lines.append(f"# HELP {name} {text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in sorted(samples.items()):
            inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
            shown = repr(float(value)) if isinstance(value, float) else str(value)
            lines.append(f"{name}{{{inner}}} {shown}" if inner else f"{name} {shown}")
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class LiveWindow:
    """The recent beacons in memory, and the answers computed from them (see the module).

    Parameters
    ----------
    window_s
        Age, by ``ts``, of the oldest beacon kept.
    max_records
        Most beacons kept.
    cache_s
        Seconds an answer is reused.
    clock
        The server's clock (UTC ``datetime``; injectable for tests).
    """

    def __init__(
        self,
        *,
        window_s: float = 24 * 3600.0,
        max_records: int = 200_000,
        cache_s: float = 2.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.window_s = window_s
        self.max_records = max_records
        self.cache_s = cache_s
        self.clock = clock
        # Stored lines, not dicts: bytes are not tracked by the garbage collector,
        # so a full window adds nothing to its pauses on the beacon path.
        self._pending: deque[bytes] = deque(maxlen=max_records)
        self._frame: pd.DataFrame | None = None
        self._profiles: dict[str, Profile] = {}
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Any]] = {}

    def add(self, line: bytes) -> None:
        """Add one stored beacon (its stored JSON line)."""
        self._pending.append(line)

    def extend(self, lines: Iterable[bytes]) -> None:
        """Add stored beacons (their stored JSON lines)."""
        self._pending.extend(lines)

    def set_profiles(self, profiles: Mapping[str, Mapping[str, Any]]) -> None:
        """Replace the profiles (``{site: profile dict}``) the answers use."""
        parsed = {}
        for site, profile in profiles.items():
            try:
                parsed[site] = Profile.model_validate(profile)
            except ValueError:
                logger.warning("stored profile of %r no longer validates: left out", site)
        self._profiles = parsed
        self._cache.clear()

    def load(self, beacons_dir: Path) -> int:
        """Read the newest segments of a store into the window; return the beacons read."""
        from rtt_topology.load import read_beacons

        # The store compresses leftover segments in the background when it opens: a
        # segment listed here may be renamed to .jsonl.gz before it is read. List again.
        for _ in range(_LOAD_ATTEMPTS):
            files = segment_files(beacons_dir, self.max_records * BYTES_PER_RECORD)
            if not files:
                return 0
            frame, report = read_beacons(files)
            if not report.failures:
                break
        else:
            logger.warning("%d segment files could not be read", len(report.failures))
        if report.rejected:
            logger.warning("%d stored lines could not be read back", report.rejected)
        with self._lock:
            self._frame = self._trim(frame)
        return len(frame)

    def frame(self) -> pd.DataFrame:
        """Return the window as a beacon table (pending beacons merged in)."""
        from rtt_topology.load import beacons_from_records

        with self._lock:
            pending = [json.loads(line) for line in self._pending]
            self._pending.clear()
            if pending:
                fresh = beacons_from_records(pending, source="server").beacons
                merged = fresh if self._frame is None else _concat(self._frame, fresh)
                self._frame = self._trim(merged)
            if self._frame is None:
                from rtt_topology.columns import empty_beacon_frame

                return empty_beacon_frame()
            return self._frame

    def _trim(self, frame: pd.DataFrame) -> pd.DataFrame:
        now = self.clock()
        keep = frame["ts"] >= pd.Timestamp(now) - pd.Timedelta(seconds=self.window_s)
        frame = frame[keep]
        if len(frame) > self.max_records:
            newest = frame["ts"].sort_values(kind="stable").index[-self.max_records :]
            frame = frame.loc[frame.index.isin(newest)]
        return frame.reset_index(drop=True)

    def cached(self, name: str, compute: Callable[[], Any]) -> Any:
        """Return the answer ``name``, computed by ``compute`` at most every ``cache_s``."""
        now = time.monotonic()
        hit = self._cache.get(name)
        if hit is not None and now - hit[0] < self.cache_s:
            return hit[1]
        value = compute()
        self._cache[name] = (now, value)
        return value

    def status(self) -> bytes:
        """Return the ``/api/rtt/status`` answer (JSON bytes), cached."""
        return bytes(self.cached("status", self._status))

    def metrics(self) -> str:
        """Return the analysis part of ``/metrics`` (Prometheus text), cached."""
        return str(self.cached("metrics", self._metrics))

    def _status(self) -> bytes:
        from rtt_topology.analysis.liveness import states

        at = self.clock()
        frame = self.frame()
        table = states(frame, self._profiles or None, at=at)
        columns = [c for c in _STATUS_COLUMNS if c in table]
        rows = json.loads(table[columns].to_json(orient="records", date_format="iso"))
        counts: dict[str, int] = {}
        for row in rows:
            counts[row["state"]] = counts.get(row["state"], 0) + 1
        answer = {
            "status": "ok",
            "at": at.isoformat().replace("+00:00", "Z"),
            "window": {"beacons": len(frame), "window_s": self.window_s},
            "counts": counts,
            "services": rows,
        }
        return json.dumps(answer, ensure_ascii=False).encode("utf-8")

    def _metrics(self) -> str:
        from rtt_topology.export.metrics import exposition

        frame = self.frame()
        return exposition(frame, self._profiles or None, at=self.clock())


def _concat(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Join two beacon tables into one that keeps the table contract."""
    frame = pd.concat([old, new], ignore_index=True)
    for column in CATEGORY_COLUMNS:
        if column in frame and not isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].astype("category")
    frame = frame.drop_duplicates(subset=_KEY, keep="first")
    return frame.sort_values(_SORT, kind="stable").reset_index(drop=True)
