"""Describe a history store (days, services, beacons, size) and read its quarantined records."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from rtt_topology.errors import InputError
from rtt_topology.load.store import (
    INGESTS_DIR,
    REJECTS_DIR,
    STORE_MARKER,
    is_store,
    store_files,
)

__all__ = ["StoreInfo", "read_rejects", "store_info"]


@dataclass(frozen=True)
class StoreInfo:
    """What a history store holds.

    Attributes
    ----------
    store
        The store's directory.
    days
        The days (``YYYY-MM-DD``) that hold beacons, in order.
    services
        Distinct sites.
    beacons
        Beacons in the store.
    rejects
        Quarantined records kept by the ingests.
    ingests
        Published ingests.
    files
        Beacon Parquet files.
    size_bytes
        Bytes on disk of the whole directory.
    """

    store: str
    days: tuple[str, ...]
    services: int
    beacons: int
    rejects: int
    ingests: int
    files: int
    size_bytes: int

    @property
    def first_day(self) -> str | None:
        """The first day with beacons (``None`` for an empty store)."""
        return self.days[0] if self.days else None

    @property
    def last_day(self) -> str | None:
        """The last day with beacons (``None`` for an empty store)."""
        return self.days[-1] if self.days else None

    def to_dict(self) -> dict[str, Any]:
        """Return the description as JSON-ready data."""
        data = asdict(self)
        data["days"] = list(self.days)
        data["first_day"], data["last_day"] = self.first_day, self.last_day
        return data


def _published_rejects(root: Path) -> list[Path]:
    published = {p.stem for p in (root / INGESTS_DIR).glob("*.json")}
    return [
        p
        for p in sorted((root / REJECTS_DIR).glob("ingest-*.parquet"))
        if p.stem.removeprefix("ingest-") in published
    ]


def _check(store: str | os.PathLike[str]) -> Path:
    root = Path(store)
    if not is_store(root):
        raise InputError(f"{root}: not a history store (no {STORE_MARKER}); see `ingest`")
    return root


def store_info(store: str | os.PathLike[str]) -> StoreInfo:
    r"""Describe a history store from its Parquet metadata and one scan of the ``site`` column.

    Parameters
    ----------
    store
        The store's directory.

    Returns
    -------
    StoreInfo
        Days, services, beacons, rejects, ingests, files and size on disk.

    Raises
    ------
    InputError
        If ``store`` is not a history store.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rtt_topology.store import ingest
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.jsonl").write_text(
    ...     '{"site":"api","session":"s","event":"e","ts":"2026-01-19T15:00:00Z"}\n'
    ...     '{"site":"db","session":"s","event":"e","ts":"2026-01-20T15:00:00Z"}\n'
    ... )
    >>> _ = ingest(folder / "a.jsonl", folder / "store")
    >>> info = store_info(folder / "store")
    >>> (info.days, info.services, info.beacons, info.ingests)
    (('2026-01-19', '2026-01-20'), 2, 2, 1)
    """
    import duckdb

    root = _check(store)
    files = store_files(root)
    beacons = sum(pq.read_metadata(f).num_rows for f in files)
    rejects = sum(pq.read_metadata(f).num_rows for f in _published_rejects(root))
    days = tuple(sorted({f.parent.name.removeprefix("day=") for f in files}))
    services = 0
    if files:
        listing = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
        with duckdb.connect() as con:
            query = f"SELECT count(DISTINCT site) FROM read_parquet([{listing}])"  # noqa: S608
            rows = con.sql(query).fetchall()
        services = int(rows[0][0])
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    ingests = len(list((root / INGESTS_DIR).glob("*.json")))
    return StoreInfo(str(root), days, services, beacons, rejects, ingests, len(files), size)


def read_rejects(store: str | os.PathLike[str]) -> pd.DataFrame:
    r"""Return the records the ingests of a store quarantined, oldest ingest first.

    Parameters
    ----------
    store
        The store's directory.

    Returns
    -------
    pandas.DataFrame
        Columns ``ingest``, ``source``, ``line`` (``Int64``), ``field``, ``reason``
        and ``text`` (the record's text, cut to 300 characters).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rtt_topology.store import ingest
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.jsonl").write_text('{"site":"api","session":"s","event":"e","ts":"x"}\n')
    >>> _ = ingest(folder / "a.jsonl", folder / "store")
    >>> read_rejects(folder / "store")[["line", "field", "reason"]]
       line field                     reason
    0     1    ts  not an ISO 8601 timestamp
    """
    root = _check(store)
    frames = []
    for path in _published_rejects(root):
        table = pq.read_table(path)
        ingest_id = path.stem.removeprefix("ingest-")
        table = table.add_column(0, "ingest", pa.array([ingest_id] * table.num_rows, pa.string()))
        frames.append(table.to_pandas())
    columns = ["ingest", "source", "line", "field", "reason", "text"]
    if not frames:
        return pd.DataFrame({c: pd.Series([], dtype="str") for c in columns}).astype(
            {"line": "Int64"}
        )
    frame: pd.DataFrame = pd.concat(frames, ignore_index=True)[columns]
    frame["line"] = frame["line"].astype("Int64")
    return frame
