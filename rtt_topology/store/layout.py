"""The history store's directory: its marker, its lock, durable writes, and repair after a crash.

An ingest writes its files under ``STORE/.staging-<id>/`` (the same file system, so
a rename publishes a file at once), then publishes them:

1. the journal ``STORE/.publishing-<id>.json`` lists the renames (written to a
   temporary file, fsynced, renamed, directory fsynced);
2. each staging file is renamed to its place and the directories are fsynced;
3. the manifest ``STORE/ingests/<id>.json`` is written the same way: from this
   moment the ingest is part of the store;
4. the journal and the staging directory are removed.

:func:`repair` (run by every ingest, under the lock, before it starts) rolls back an
ingest that stopped before step 3: it removes the files the journal names and the
staging directory, so the store is as it was before that ingest. An ingest whose
manifest exists only loses its journal. Readers never see a part file without a
manifest (:func:`rtt_topology.load.store.store_files`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rtt_topology.errors import InputError, StoreError
from rtt_topology.load.store import (
    BEACONS_DIR,
    INGESTS_DIR,
    REJECTS_DIR,
    STORE_FORMAT,
    STORE_MARKER,
    STORE_VERSION,
    is_store,
)

__all__ = [
    "JOURNAL_PREFIX",
    "LOCK_FILE",
    "STAGING_PREFIX",
    "fsync_dir",
    "locked",
    "open_store",
    "publish",
    "repair",
    "write_durable",
]

#: The lock file: an ingest holds an exclusive ``flock`` on it.
LOCK_FILE = ".lock"
#: Staging directories and publish journals of ingests: ``<prefix><id>``.
STAGING_PREFIX = ".staging-"
JOURNAL_PREFIX = ".publishing-"


def fsync_dir(path: Path) -> None:
    """Flush a directory's entries (a rename or a new file in it) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durable(path: Path, data: bytes) -> None:
    """Write ``path`` atomically and durably: temporary file, fsync, rename, fsync the folder."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)
    fsync_dir(path.parent)


def open_store(store: str | os.PathLike[str], *, create: bool) -> Path:
    """Check that ``store`` is a history store; with ``create``, make a new or empty directory one.

    Parameters
    ----------
    store
        The store's directory.
    create
        Create the store when the directory does not exist or is empty.

    Returns
    -------
    Path
        The store's directory.

    Raises
    ------
    InputError
        If the directory is not a store (and cannot become one: it holds other
        files), or its marker names another format or a newer version.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = open_store(pathlib.Path(tempfile.mkdtemp()) / "store", create=True)
    >>> sorted(p.name for p in root.iterdir())
    ['beacons', 'ingests', 'rejects', 'rtt-store.json']
    """
    root = Path(store)
    if not is_store(root):
        if root.exists() and not root.is_dir():
            raise InputError(f"{root}: not a directory, cannot hold a history store")
        if not create:
            raise InputError(f"{root}: not a history store (no {STORE_MARKER}); see `ingest`")
        leftover = f".{STORE_MARKER}.tmp"  # a creation that stopped half way
        if root.is_dir() and any(p.name != leftover for p in root.iterdir()):
            raise InputError(
                f"{root}: not a history store and not empty: give an empty or new directory"
            )
        root.mkdir(parents=True, exist_ok=True)
        # The marker first: a crash after it leaves a store whose folders the next open makes.
        marker = {"format": STORE_FORMAT, "version": STORE_VERSION}
        write_durable(root / STORE_MARKER, (json.dumps(marker) + "\n").encode())
    _check_marker(root)
    for name in (BEACONS_DIR, REJECTS_DIR, INGESTS_DIR):
        (root / name).mkdir(exist_ok=True)
    return root


def _check_marker(root: Path) -> None:
    try:
        marker = json.loads((root / STORE_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{root / STORE_MARKER}: unreadable store marker ({exc})") from exc
    if not isinstance(marker, dict) or marker.get("format") != STORE_FORMAT:
        raise InputError(f"{root / STORE_MARKER}: not a {STORE_FORMAT} marker")
    version = marker.get("version")
    if not isinstance(version, int) or version > STORE_VERSION:
        raise InputError(
            f"{root / STORE_MARKER}: store version {version!r}; this rtt-topology reads "
            f"version {STORE_VERSION}"
        )


@contextlib.contextmanager
def locked(root: Path) -> Iterator[None]:
    """Hold the store's lock: one ingest at a time.

    Raises
    ------
    StoreError
        If another process holds the lock.
    """
    with (root / LOCK_FILE).open("a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise StoreError(root, "another ingest is writing to this store") from exc
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def publish(root: Path, ingest_id: str, renames: list[tuple[str, str]], manifest: bytes) -> None:
    """Move an ingest's staged files into the store, then write its manifest (see above).

    Parameters
    ----------
    root
        The store.
    ingest_id
        The ingest.
    renames
        ``(staged, final)`` paths relative to ``root``.
    manifest
        The manifest's bytes, written last to ``ingests/<id>.json``.
    """
    journal = root / f"{JOURNAL_PREFIX}{ingest_id}.json"
    write_durable(journal, json.dumps({"id": ingest_id, "renames": renames}).encode())
    try:
        folders: set[Path] = set()
        for staged, final in renames:
            target = root / final
            target.parent.mkdir(parents=True, exist_ok=True)
            (root / staged).rename(target)
            folders.add(target.parent)
        for folder in sorted(folders):
            fsync_dir(folder)
        fsync_dir(root / BEACONS_DIR)
        write_durable(root / INGESTS_DIR / f"{ingest_id}.json", manifest)
    except BaseException:
        # Undo at once what can be undone; a crash is undone by the next repair.
        _roll_back(root, ingest_id, renames)
        raise
    _forget(root, ingest_id)


def _forget(root: Path, ingest_id: str) -> None:
    """Remove an ingest's journal and staging directory."""
    shutil.rmtree(root / f"{STAGING_PREFIX}{ingest_id}", ignore_errors=True)
    (root / f"{JOURNAL_PREFIX}{ingest_id}.json").unlink(missing_ok=True)
    fsync_dir(root)


def _roll_back(root: Path, ingest_id: str, renames: list[tuple[str, str]]) -> None:
    """Remove the files an unfinished ingest published, then its journal and staging."""
    (root / INGESTS_DIR / f"{ingest_id}.json").unlink(missing_ok=True)
    folders: set[Path] = set()
    for _, final in renames:
        target = root / final
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
            folders.add(target.parent)
    for folder in sorted(folders):
        fsync_dir(folder)
    _forget(root, ingest_id)


def repair(root: Path) -> list[str]:
    """Finish or roll back the publishes a crash interrupted; remove stale staging directories.

    Run under :func:`locked`. Returns the ids of the ingests rolled back.
    """
    rolled: list[str] = []
    for journal in sorted(root.glob(f"{JOURNAL_PREFIX}*.json")):
        ingest_id = journal.name[len(JOURNAL_PREFIX) : -len(".json")]
        try:
            data: Any = json.loads(journal.read_text(encoding="utf-8"))
            renames = [(str(a), str(b)) for a, b in data["renames"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StoreError(journal, f"unreadable publish journal ({exc})") from exc
        if (root / INGESTS_DIR / f"{ingest_id}.json").is_file():
            _forget(root, ingest_id)
        else:
            _roll_back(root, ingest_id, renames)
            rolled.append(ingest_id)
    for staging in sorted(root.glob(f"{STAGING_PREFIX}*")):
        shutil.rmtree(staging, ignore_errors=True)
    for tmp in (root / INGESTS_DIR).glob(".*.tmp"):
        tmp.unlink(missing_ok=True)
    return rolled
