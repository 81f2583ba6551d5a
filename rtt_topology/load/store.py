"""Read a history store's Parquet partitions into the beacon table, window and sites pushed down.

A history store (written by :func:`rtt_topology.store.ingest`) is a directory::

    STORE/rtt-store.json                              marker: format and version
    STORE/beacons/day=YYYY-MM-DD/part-<id>-<n>.parquet beacons of that UTC day
    STORE/rejects/ingest-<id>.parquet                 quarantined records of an ingest
    STORE/ingests/<id>.json                           one manifest per ingest

A part file belongs to the store only once the manifest of its ingest exists: the
manifest is written last, so the files of an ingest that did not finish are never
read (the next ingest removes them). :func:`read_store` prunes the day partitions
with the window, filters ``ts`` and ``site`` in the scan, and returns the table of
:mod:`rtt_topology.columns` as :func:`~rtt_topology.load.read_beacons` returns it.

The store keeps ``ts`` and ``received_at`` in microseconds; read back, they are
nanosecond timestamps whose last three digits are zero.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from rtt_topology._timestamps import Instant, aware_utc
from rtt_topology.columns import BEACON_COLUMNS, CATEGORY_COLUMNS
from rtt_topology.errors import InputError, LoadError
from rtt_topology.load.beacons import BeaconLoad
from rtt_topology.load.report import FileStats, LoadReport
from rtt_topology.schemas import COUNT_FIELDS

__all__ = [
    "BEACONS_DIR",
    "INGESTS_DIR",
    "REJECTS_DIR",
    "STORE_FORMAT",
    "STORE_MARKER",
    "STORE_SCHEMA",
    "STORE_VERSION",
    "is_store",
    "part_ingest_id",
    "read_store",
    "store_files",
]

#: The file that marks a directory as a history store.
STORE_MARKER = "rtt-store.json"
#: The ``format`` and ``version`` the marker holds.
STORE_FORMAT = "rtt-topology-store"
STORE_VERSION = 1
#: The folders of a store: beacon partitions, rejects, ingest manifests.
BEACONS_DIR = "beacons"
REJECTS_DIR = "rejects"
INGESTS_DIR = "ingests"

_TS = pa.timestamp("us", tz="UTC")
#: The columns of a part file, in order (``day`` is only the partition directory).
STORE_SCHEMA = pa.schema(
    [
        ("site", pa.string()),
        ("session", pa.string()),
        ("event", pa.string()),
        ("ts", _TS),
        ("url", pa.string()),
        ("title", pa.string()),
        *((name, pa.int64()) for name in COUNT_FIELDS),
        ("extra", pa.string()),
        ("source", pa.string()),
        ("line", pa.int64()),
        ("received_at", _TS),
    ]
)

_PART = re.compile(r"^part-(?P<id>.+)-(?P<n>\d+)\.parquet$")
_DAY = re.compile(r"^day=(\d{4}-\d{2}-\d{2})$")


def is_store(path: str | os.PathLike[str]) -> bool:
    """Return whether ``path`` is a history store (a directory holding its marker file).

    Examples
    --------
    >>> import tempfile
    >>> is_store(tempfile.mkdtemp())
    False
    """
    return (Path(path) / STORE_MARKER).is_file()


def part_ingest_id(name: str) -> str | None:
    """Return the ingest id in a part file's name, ``None`` for another name.

    Examples
    --------
    >>> part_ingest_id("part-20260119T150000Z-3f2a-0.parquet")
    '20260119T150000Z-3f2a'
    >>> part_ingest_id("notes.txt") is None
    True
    """
    match = _PART.match(name)
    return None if match is None else match["id"]


def store_files(store: str | os.PathLike[str], *, days: Iterable[str] | None = None) -> list[Path]:
    """List the part files of the store's published ingests, sorted by day then name.

    Parameters
    ----------
    store
        The store's directory.
    days
        Only these days (``YYYY-MM-DD``); all by default.

    Returns
    -------
    list of Path
        Files whose ingest has a manifest; the files of an unfinished ingest are left out.

    Examples
    --------
    >>> import tempfile
    >>> store_files(tempfile.mkdtemp())
    []
    """
    root = Path(store)
    published = {p.stem for p in (root / INGESTS_DIR).glob("*.json")}
    wanted = None if days is None else set(days)
    files: list[Path] = []
    for folder in sorted((root / BEACONS_DIR).glob("day=*")):
        match = _DAY.match(folder.name)
        if match is None or (wanted is not None and match[1] not in wanted):
            continue
        files.extend(
            path
            for path in sorted(folder.glob("part-*.parquet"))
            if part_ingest_id(path.name) in published
        )
    return files


def _window(
    start: Instant | None, end: Instant | None
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    first, last = aware_utc(start, "start"), aware_utc(end, "end")
    lo = None if first is None else pd.Timestamp(first)
    hi = None if last is None else pd.Timestamp(last)
    if lo is not None and hi is not None and lo >= hi:
        raise InputError(f"start ({lo}) must be before end ({hi})")
    return lo, hi


def _filters(
    lo: pd.Timestamp | None, hi: pd.Timestamp | None, sites: Sequence[str] | None
) -> tuple[ds.Expression | None, ds.Expression | None]:
    """Return the partition filter (on ``day``) and the row filter (``ts``, ``site``)."""
    day: ds.Expression | None = None
    row: ds.Expression | None = None

    def both(a: ds.Expression | None, b: ds.Expression) -> ds.Expression:
        return b if a is None else a & b

    if lo is not None:
        day = both(day, ds.field("day") >= lo.strftime("%Y-%m-%d"))
        row = both(row, ds.field("ts") >= pa.scalar(-(-lo.value // 1000), _TS))
    if hi is not None:
        # The last instant of the window (``ts < hi``) names the last day to open.
        last = hi - pd.Timedelta(1, "ns")
        day = both(day, ds.field("day") <= last.strftime("%Y-%m-%d"))
        row = both(row, ds.field("ts") < pa.scalar(-(-hi.value // 1000), _TS))
    if sites is not None:
        row = both(row, ds.field("site").isin(pa.array(sorted(set(sites)), pa.string())))
    return day, row


def read_store(
    store: str | os.PathLike[str],
    *,
    start: Instant | None = None,
    end: Instant | None = None,
    sites: Sequence[str] | None = None,
) -> BeaconLoad:
    """Read a history store into the beacon table, within a window and for some sites.

    Day partitions outside the window are not opened; ``ts`` and ``site`` are
    filtered while the Parquet files are scanned.

    Parameters
    ----------
    store
        The store's directory (see :func:`is_store`).
    start, end
        Keep beacons with ``start <= ts < end`` (UTC; ISO 8601 text with an offset,
        an aware datetime or a Timestamp); unbounded when ``None``.
    sites
        Keep only these sites.

    Returns
    -------
    BeaconLoad
        ``beacons``, the table of :mod:`rtt_topology.columns`, sorted by site, ts, session and
        event, and a :class:`~rtt_topology.load.report.LoadReport` with one entry
        per part file read (``read == accepted`` == its rows in the window).

    Raises
    ------
    InputError
        If ``store`` is not a history store, or ``start`` is not before ``end``.
    LoadError
        If a part file cannot be read.

    Examples
    --------
    >>> import tempfile
    >>> read_store(tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    rtt_topology.errors.InputError: ...: not a history store (no rtt-store.json)
    """
    root = Path(store)
    if not is_store(root):
        raise InputError(f"{root}: not a history store (no {STORE_MARKER})")
    lo, hi = _window(start, end)
    day_filter, row_filter = _filters(lo, hi, sites)
    files = store_files(root)
    report = LoadReport()
    if not files:
        return BeaconLoad(_beacon_frame(STORE_SCHEMA.empty_table()), report)
    partitioning = ds.partitioning(pa.schema([("day", pa.string())]), flavor="hive")
    fmt = ds.ParquetFileFormat(
        read_options=ds.ParquetReadOptions(dictionary_columns=list(CATEGORY_COLUMNS))
    )
    try:
        dataset = ds.dataset(
            [str(f) for f in files],
            format=fmt,
            partitioning=partitioning,
            partition_base_dir=str(root / BEACONS_DIR),
        )
        tables = []
        for fragment in dataset.get_fragments(filter=day_filter):
            table = fragment.to_table(
                schema=dataset.schema, columns=STORE_SCHEMA.names, filter=row_filter
            )
            stats = FileStats(fragment.path, "parquet", read=table.num_rows)
            stats.accepted = table.num_rows
            report.add_file(stats)
            if table.num_rows:
                tables.append(table)
    except (pa.ArrowException, OSError) as exc:
        raise LoadError(root, f"cannot read the store's Parquet files: {exc}") from exc
    if not tables:
        return BeaconLoad(_beacon_frame(STORE_SCHEMA.empty_table()), report)
    frame = _beacon_frame(pa.concat_tables(tables, promote_options="permissive"))
    return BeaconLoad(frame, report)


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, pd.Index]:
    """Return per-row codes into the sorted, used values of a text column (-1 for null)."""
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column)
    if column.num_chunks == 0:
        return np.empty(0, dtype=np.int32), pd.Index([], dtype="str")
    dictionary = column.chunk(0).dictionary
    parts = [chunk.indices.fill_null(len(dictionary)).to_numpy() for chunk in column.chunks]
    indices = np.concatenate(parts)
    used = np.bincount(indices, minlength=len(dictionary) + 1)[:-1] > 0
    order = np.asarray(pc.sort_indices(dictionary))
    order = order[used[order]]
    rank = np.full(len(dictionary) + 1, -1, dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    categories = pd.Index(dictionary.take(pa.array(order)).to_pandas(), dtype="str")
    codes: np.ndarray = rank[indices]
    return codes, categories


def _int64(column: pa.ChunkedArray) -> np.ndarray:
    """Return an integer or timestamp column's values as int64 (nulls hold 0)."""
    if column.num_chunks == 0:
        return np.empty(0, dtype=np.int64)
    parts = [chunk.fill_null(0).to_numpy().view(np.int64) for chunk in column.chunks]
    values: np.ndarray = np.concatenate(parts)
    return values


def _nulls(column: pa.ChunkedArray) -> np.ndarray:
    if column.num_chunks == 0:
        return np.empty(0, dtype=bool)
    mask: np.ndarray = np.concatenate(
        [c.is_null().to_numpy(zero_copy_only=False) for c in column.chunks]
    )
    return mask


def _beacon_frame(table: pa.Table) -> pd.DataFrame:
    """Sort a store table by the contract's order and build the beacon frame.

    A store holds no two rows with the same site, ts, session and event, so these
    four keys order the rows completely; text sorts by its codes in sorted values.
    """
    table = table.unify_dictionaries()
    codes = {name: _codes(table.column(name)) for name in CATEGORY_COLUMNS}
    ts = _int64(table.column("ts"))
    site, session, event = (codes[k][0] for k in ("site", "session", "event"))
    later = (site[1:] > site[:-1]) | (site[1:] == site[:-1]) & (
        (ts[1:] > ts[:-1])
        | (ts[1:] == ts[:-1])
        & ((session[1:] > session[:-1]) | (session[1:] == session[:-1]) & (event[1:] > event[:-1]))
    )
    order: np.ndarray | None = None
    if not later.all():
        keys = pa.table({"site": site, "ts": ts, "session": session, "event": event})
        sort_keys = [(k, "ascending") for k in keys.column_names]
        order = np.asarray(pc.sort_indices(keys, sort_keys=sort_keys))

    def rows(values: np.ndarray) -> np.ndarray:
        return values if order is None else values[order]

    data: dict[str, Any] = {}
    for name, dtype in BEACON_COLUMNS.items():
        column = table.column(name)
        if name in CATEGORY_COLUMNS:
            values, categories = codes[name]
            data[name] = pd.Categorical.from_codes(
                rows(values), categories=categories, validate=False
            )
        elif isinstance(dtype, pd.DatetimeTZDtype):
            instants = np.where(_nulls(column), np.iinfo(np.int64).min, _int64(column) * 1000)
            data[name] = pd.DatetimeIndex(rows(instants).view("M8[ns]")).tz_localize("UTC").array
        elif dtype == "int64":
            data[name] = rows(_int64(column))
        elif name == "extra":
            text = column.cast(pa.large_string())
            if order is not None:
                text = text.take(pa.array(order))
            data[name] = pd.arrays.ArrowStringArray(text)
        else:
            data[name] = pd.arrays.IntegerArray(rows(_int64(column)), rows(_nulls(column)))
    return pd.DataFrame(data, columns=list(BEACON_COLUMNS))
