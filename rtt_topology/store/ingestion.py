"""Ingest beacon files into a history store: read by the loader's rules, deduplicate, publish.

Every file goes through :func:`~rtt_topology.load.beacons.read_beacon_files`, the
rules of :func:`~rtt_topology.load.read_beacons` (formats, checks, rejects), one file
at a time, so memory is bounded by the largest file, not by the ingest. Then
(:mod:`rtt_topology.store.stage`) the file's exact duplicates (same site, session,
event and ts) are collapsed keeping the first one read, the rows the store already
holds for the days the file touches (published, or staged by this ingest) are
dropped, and the rest is written as one Parquet file per day, sorted by site and ts.

A file already ingested with the same content (size and SHA-256 in a manifest) is
not read again. Publication is atomic (:mod:`rtt_topology.store.layout`): an ingest
that fails or is killed leaves the store as it was.

The manifest ``ingests/<id>.json`` holds ``id``, ``created`` (ISO 8601, UTC),
``files`` (each file read: ``path``, ``size``, ``sha256``, ``format`` and its counts),
``skipped``, ``parts`` (the part files, relative to the store), ``rejects`` (the
rejects file, or null), ``rows`` (beacons added) and ``report``
(:meth:`~rtt_topology.load.report.LoadReport.to_dict`).

The store keeps times in microseconds: a ``ts`` with nanoseconds is cut to the
microsecond before duplicates are collapsed.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from rtt_topology._progress import ProgressOption
from rtt_topology.load.beacons import FileBlocks, read_beacon_files
from rtt_topology.load.report import LoadReport, Reject
from rtt_topology.load.sources import Source, SourceFile
from rtt_topology.load.store import (
    INGESTS_DIR,
    REJECTS_DIR,
)
from rtt_topology.store.layout import (
    STAGING_PREFIX,
    locked,
    open_store,
    publish,
    repair,
)
from rtt_topology.store.stage import Stager, fsync_file

__all__ = ["REJECTS_SCHEMA", "IngestResult", "ingest"]

#: The columns of ``rejects/ingest-<id>.parquet``.
REJECTS_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("line", pa.int64()),
        ("field", pa.string()),
        ("reason", pa.string()),
        ("text", pa.string()),
    ]
)
_HASH_CHUNK = 4 << 20


@dataclass(frozen=True)
class IngestResult:
    """What :func:`ingest` did.

    Attributes
    ----------
    store
        The store's directory.
    ingest_id
        The new ingest's id (its manifest is ``ingests/<id>.json``); ``None`` when
        no file was read (every file skipped or unreadable).
    report
        The account of the files read, as :func:`~rtt_topology.load.read_beacons`
        gives it: ``accepted + rejected == read``; ``duplicates`` counts the rows
        collapsed within the ingest and those the store held already, so
        ``report.rows`` beacons were added.
    skipped
        Files not read because an ingest already took the same content.
    days
        The days (``YYYY-MM-DD``) that received beacons.
    rolled_back
        Ingests a crash had interrupted, rolled back before this one started.
    """

    store: Path
    ingest_id: str | None
    report: LoadReport
    skipped: tuple[str, ...] = ()
    days: tuple[str, ...] = ()
    rolled_back: tuple[str, ...] = ()

    @property
    def rows(self) -> int:
        """Beacons added to the store."""
        return self.report.rows

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-ready data (the report as ``LoadReport.to_dict``)."""
        return {
            "store": str(self.store),
            "ingest_id": self.ingest_id,
            "rows": self.rows,
            "skipped": list(self.skipped),
            "days": list(self.days),
            "rolled_back": list(self.rolled_back),
            "report": self.report.to_dict(),
        }

    def summary(self) -> str:
        """Return a few human-readable lines: what was added, skipped, rejected."""
        lines = [
            f"ingest {self.ingest_id or '(nothing new)'} into {self.store}: "
            f"{self.rows} beacons added over {len(self.days)} day(s), "
            f"{len(self.skipped)} file(s) skipped as already ingested",
            self.report.summary(),
        ]
        lines.extend(f"rolled back the interrupted ingest {i}" for i in self.rolled_back)
        return "\n".join(lines)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _new_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(3)


def _known_contents(root: Path) -> set[tuple[int, str]]:
    """Return ``(size, sha256)`` of every file a published ingest read."""
    known: set[tuple[int, str]] = set()
    for manifest in (root / INGESTS_DIR).glob("*.json"):
        data = json.loads(manifest.read_text(encoding="utf-8"))
        known.update((int(f["size"]), str(f["sha256"])) for f in data.get("files", []))
    return known


def _write_rejects(path: Path, rejects: list[Reject]) -> None:
    table = pa.table(
        {
            "source": [r.source for r in rejects],
            "line": [r.line for r in rejects],
            "field": [r.field for r in rejects],
            "reason": [r.reason for r in rejects],
            "text": [r.raw for r in rejects],
        },
        schema=REJECTS_SCHEMA,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    fsync_file(path)


def ingest(
    sources: Source,
    store: str | os.PathLike[str],
    *,
    format: str | None = None,
    assume_utc: bool = False,
    progress: ProgressOption = False,
) -> IngestResult:
    r"""Add beacon files to a history store, once each, without duplicates, atomically.

    Parameters
    ----------
    sources
        Files, directories or globs, as :func:`~rtt_topology.load.read_beacons`
        takes them (a server's data directory too: its ``beacons/YYYY-MM-DD``
        segments are JSON Lines).
    store
        The store's directory; a new or empty directory becomes a store. Files
        inside it are never read as sources.
    format, assume_utc, progress
        As for :func:`~rtt_topology.load.read_beacons`.

    Returns
    -------
    IngestResult
        The new ingest's id, the load report (``report.rows`` beacons added,
        ``report.duplicates`` collapsed), the files skipped as already ingested.

    Raises
    ------
    InputError
        If ``store`` is a non-empty directory that is not a store.
    StoreError
        If another ingest holds the store's lock.
    SourceNotFoundError, LoadError
        As :func:`~rtt_topology.load.read_beacons` raises them; the store is unchanged.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "east.jsonl").write_text(
    ...     '{"site":"auth","session":"s1","event":"startup","ts":"2026-01-19T15:00:00Z"}\n'
    ...     '{"site":"auth","session":"s1","event":"startup","ts":"2026-01-19T15:00:00Z"}\n'
    ... )
    >>> result = ingest(folder / "east.jsonl", folder / "store")
    >>> (result.report.read, result.report.duplicates, result.rows)
    (2, 1, 1)
    >>> ingest(folder / "east.jsonl", folder / "store").skipped == (str(folder / "east.jsonl"),)
    True
    """
    root = open_store(store, create=True)
    with locked(root):
        rolled = tuple(repair(root))
        known = _known_contents(root)
        ingest_id = _new_id()
        staging = root / f"{STAGING_PREFIX}{ingest_id}"
        staging.mkdir()
        stager = Stager(root, staging, ingest_id)
        try:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rtt-hash") as pool:
                return _run(sources, root, staging, stager, known, pool, rolled, format,
                            assume_utc, progress)  # fmt: skip
        finally:
            stager.close()
            shutil.rmtree(staging, ignore_errors=True)


def _run(
    sources: Source,
    root: Path,
    staging: Path,
    stager: Stager,
    known: set[tuple[int, str]],
    pool: ThreadPoolExecutor,
    rolled: tuple[str, ...],
    format: str | None,
    assume_utc: bool,
    progress: ProgressOption,
) -> IngestResult:
    """Read, stage and publish: the body of :func:`ingest`, under the lock."""
    sizes = {size for size, _ in known}
    pending: dict[str, tuple[int, Future[str]]] = {}
    skipped: list[str] = []
    files: list[dict[str, Any]] = []

    inside = root.resolve()

    def skip(file: SourceFile) -> bool:
        if inside in file.path.resolve().parents:
            # A source directory that holds the store: its own files are not sources.
            return True
        size = file.path.stat().st_size
        future: Future[str] = Future()
        if size in sizes:
            # Maybe seen: hash before reading.
            future.set_result(_sha256(file.path))
            if (size, future.result()) in known:
                skipped.append(str(file.path))
                return True
        else:
            # New by its size: hash while the loader reads it.
            future = pool.submit(_sha256, file.path)
        pending[str(file.path)] = (size, future)
        return False

    def on_file(read: FileBlocks) -> None:
        stager.add(read.blocks, read.path)
        size, future = pending.pop(read.path)
        digest = future.result()
        known.add((size, digest))
        sizes.add(size)
        stats = read.stats
        files.append(
            {"path": read.path, "size": size, "sha256": digest, "format": stats.format,
             "read": stats.read, "accepted": stats.accepted, "rejected": stats.rejected}
        )  # fmt: skip

    report = read_beacon_files(
        sources, on_file, format=format, assume_utc=assume_utc, progress=progress, skip=skip
    )
    report.duplicates_by_site = dict(sorted(stager.duplicates_by_site.items()))
    report.duplicates = sum(stager.duplicates_by_site.values())
    days = tuple(sorted(stager.parts))
    if not report.files:
        return IngestResult(root, None, report, tuple(skipped), days, rolled)
    ingest_id = stager.ingest_id
    renames = [
        (str(p.relative_to(root)), str(p.relative_to(staging)))
        for day in days
        for p in stager.parts[day]
    ]
    rejects_path = None
    if report.rejects:
        rejects_path = f"{REJECTS_DIR}/ingest-{ingest_id}.parquet"
        _write_rejects(staging / rejects_path, report.rejects)
        renames.append((str((staging / rejects_path).relative_to(root)), rejects_path))
    manifest = {
        "id": ingest_id,
        "created": datetime.now(UTC).isoformat(),
        "files": files,
        "skipped": skipped,
        "parts": [str(p.relative_to(staging)) for day in days for p in stager.parts[day]],
        "rejects": rejects_path,
        "rows": report.rows,
        "report": report.to_dict(),
    }
    publish(root, ingest_id, renames, (json.dumps(manifest, indent=1) + "\n").encode())
    return IngestResult(root, ingest_id, report, tuple(skipped), days, rolled)
