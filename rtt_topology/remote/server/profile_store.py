"""Site profiles of the server: SQLite is the truth, ``profiles.yaml`` the copy loaders read.

``DIR/profiles.sqlite3`` (WAL journal, ``synchronous=FULL``: a put returns after its
transaction is on disk) holds two tables: ``profiles``, the current profile of each
site, and ``history``, one row per put in arrival order, each marked ``new`` (first
profile of the site), ``changed`` (different from the current one) or ``same``.
Two profiles are the same when their canonical JSON (keys sorted, no spaces) is
equal, so key order does not matter but ``1``, ``1.0`` and ``true`` differ.

After every put that made a profile new or changed, ``DIR/profiles.yaml`` (one
mapping ``{site: profile}``, sites sorted) is rewritten atomically: written to
``profiles.yaml.tmp``, fsynced, renamed over ``profiles.yaml``, and the directory
fsynced. It is also rewritten on open and after a put whose earlier rewrite failed,
so it always ends up matching the database. With no profile at all there is no
``profiles.yaml``. Site names are data only: they never name a file.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from rtt_topology.errors import InputError, StoreError
from rtt_topology.remote.server.fileops import FileOps

__all__ = ["PROFILES_DB", "PROFILES_YAML", "ProfileStore"]

#: The database of profiles and their history, inside the data directory.
PROFILES_DB = "profiles.sqlite3"
#: The current profiles as one YAML mapping, inside the data directory.
PROFILES_YAML = "profiles.yaml"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS profiles (
    site TEXT PRIMARY KEY,
    profile TEXT NOT NULL,
    canonical TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site TEXT NOT NULL,
    profile TEXT NOT NULL,
    received_at TEXT NOT NULL,
    change TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS history_site ON history (site, id);
"""


def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InputError("received_at: naive datetime, no UTC offset")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _moment(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


class ProfileStore:
    """Keep site profiles and every put of them in ``directory/profiles.sqlite3``.

    One connection serves every thread, guarded by a lock; a put (a transaction and,
    when something changed, the rewrite of ``profiles.yaml``) holds it throughout,
    so the YAML file follows the order of puts. Calls block on disk syncs: an
    asyncio server calls them in a worker thread.

    Parameters
    ----------
    directory
        The data directory (created when missing).
    file_ops
        The os-level calls used to write ``profiles.yaml`` (tests inject failures).

    Examples
    --------
    >>> import tempfile
    >>> from datetime import UTC, datetime
    >>> from rtt_topology.load import read_profiles
    >>> folder = Path(tempfile.mkdtemp())
    >>> at = datetime(2026, 1, 19, 15, tzinfo=UTC)
    >>> profiles = ProfileStore(folder)
    >>> profiles.put("auth", {"rtt_version": "1.0", "supports": ["drift"]}, received_at=at)
    False
    >>> profiles.put("auth", {"rtt_version": "1.1", "supports": ["drift"]}, received_at=at)
    True
    >>> profiles.get("auth")["rtt_version"], [h["change"] for h in profiles.history("auth")]
    ('1.1', ['new', 'changed'])
    >>> profiles.close()
    >>> read_profiles(folder / "profiles.yaml").profiles["auth"].rtt_version
    '1.1'
    """

    def __init__(
        self, directory: str | os.PathLike[str], *, file_ops: FileOps | None = None
    ) -> None:
        self.directory = Path(directory)
        self.path = self.directory / PROFILES_DB
        self.yaml_path = self.directory / PROFILES_YAML
        self.ops = file_ops if file_ops is not None else FileOps()
        self._lock = threading.Lock()
        self._yaml_stale = True
        try:
            self.ops.mkdir(self.directory)
            self._db: sqlite3.Connection | None = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(self.path, f"cannot open the profile database: {exc}") from exc
        # Left stale on failure: the next put rewrites it; the database is the truth.
        with self._lock, contextlib.suppress(StoreError):
            self._write_yaml_if_stale()

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreError(self.path, "the profile store is closed")
        return self._db

    def get(self, site: str) -> dict[str, Any] | None:
        """Return the current profile of ``site``, or ``None`` when it has none."""
        with self._lock:
            row = self._query("SELECT profile FROM profiles WHERE site = ?", (site,))
        return json.loads(row[0][0]) if row else None

    def all(self) -> dict[str, dict[str, Any]]:
        """Return every current profile, ``{site: profile}``, sorted by site."""
        with self._lock:
            rows = self._query("SELECT site, profile FROM profiles ORDER BY site", ())
        return {site: json.loads(profile) for site, profile in rows}

    def history(self, site: str | None = None) -> list[dict[str, Any]]:
        """Return every put, oldest first: ``site``, ``profile``, ``received_at``, ``change``.

        ``received_at`` is a UTC :class:`~datetime.datetime`; ``change`` is ``new``,
        ``changed`` or ``same`` (see the module docstring). With ``site``, only its puts.
        """
        sql = "SELECT site, profile, received_at, change FROM history"
        args: tuple[str, ...] = ()
        if site is not None:
            sql += " WHERE site = ?"
            args = (site,)
        with self._lock:
            rows = self._query(sql + " ORDER BY id", args)
        return [
            {"site": s, "profile": json.loads(p), "received_at": _moment(r), "change": c}
            for s, p, r, c in rows
        ]

    def put(self, site: str, profile: Mapping[str, Any], *, received_at: datetime) -> bool:
        """Store a profile of ``site`` put at ``received_at``.

        A history row is always added. When the profile is new or differs from the
        current one, it becomes current and ``profiles.yaml`` is rewritten.

        Returns
        -------
        bool
            ``True`` when the site had a profile before and this one differs (the
            server then records a ``config_change`` beacon), else ``False``.

        Raises
        ------
        InputError
            If ``site`` is empty, ``profile`` is not a JSON-serialisable mapping, or
            ``received_at`` is naive.
        StoreError
            If the database or ``profiles.yaml`` could not be written.
        """
        if not isinstance(site, str) or not site:
            raise InputError("site: expected a non-empty string")
        if not isinstance(profile, Mapping):
            raise InputError(f"profile: expected a mapping, got {type(profile).__name__}")
        try:
            text = json.dumps(dict(profile), ensure_ascii=False, allow_nan=False)
            canonical = json.dumps(
                dict(profile), sort_keys=True, separators=(",", ":"), allow_nan=False
            )
        except (TypeError, ValueError) as exc:
            raise InputError(f"profile: not JSON-serialisable: {exc}") from exc
        stamp = _timestamp(received_at)
        with self._lock:
            db = self._conn()
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    row = db.execute(
                        "SELECT canonical FROM profiles WHERE site = ?", (site,)
                    ).fetchone()
                    change = "new" if row is None else "same" if row[0] == canonical else "changed"
                    if change != "same":
                        db.execute(
                            "INSERT OR REPLACE INTO profiles VALUES (?, ?, ?, ?)",
                            (site, text, canonical, stamp),
                        )
                    db.execute(
                        "INSERT INTO history (site, profile, received_at, change)"
                        " VALUES (?, ?, ?, ?)",
                        (site, text, stamp, change),
                    )
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise StoreError(self.path, f"cannot store the profile of {site!r}: {exc}") from exc
            if change != "same":
                self._yaml_stale = True
            self._write_yaml_if_stale()
        return change == "changed"

    def close(self) -> None:
        """Close the database; closing twice does nothing."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _query(self, sql: str, args: tuple[str, ...]) -> list[tuple[Any, ...]]:
        try:
            return self._conn().execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(self.path, f"cannot read profiles: {exc}") from exc

    def _write_yaml_if_stale(self) -> None:
        """Rewrite ``profiles.yaml`` atomically if it may differ from the database."""
        if not self._yaml_stale:
            return
        rows = self._query("SELECT site, profile FROM profiles ORDER BY site", ())
        if not rows:
            self._yaml_stale = False
            return
        current = {site: json.loads(profile) for site, profile in rows}
        text = yaml.safe_dump(current, sort_keys=False, allow_unicode=True, width=100)
        tmp = self.yaml_path.with_name(PROFILES_YAML + ".tmp")
        try:
            with self.ops.open_new(tmp) as handle:
                handle.write(text.encode("utf-8"))
                handle.flush()
                self.ops.fsync(handle.fileno())
            self.ops.rename(tmp, self.yaml_path)
            self.ops.fsync_dir(self.directory)
        except OSError as exc:
            raise StoreError(
                self.yaml_path, f"cannot rewrite the profiles: {exc.strerror or exc}"
            ) from exc
        self._yaml_stale = False
