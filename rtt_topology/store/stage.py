"""Stage one file's valid records as Parquet part files: sort, collapse duplicates, split by day.

The records arrive as the loader's Arrow blocks (text columns dictionary-encoded).
Everything here works on the dictionary codes with numpy and Arrow: rows are
ordered by day, site, ts, session and event (ties in reading order), exact
duplicates (same site, session, event and ts, cut to the microsecond) keep the
first row read, rows the store already holds for those days (published, or staged
by the same ingest) are dropped with one DuckDB semi-join on the key columns, and
each day's rows become one Parquet file of :data:`~rtt_topology.load.store.STORE_SCHEMA`.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from rtt_topology.load.store import BEACONS_DIR, STORE_SCHEMA, store_files
from rtt_topology.store.layout import fsync_dir

if TYPE_CHECKING:
    import duckdb

__all__ = ["ROW_GROUP", "Stager", "fsync_file"]

_KEYS = ("site", "session", "event")
_TEXT = ("site", "session", "event", "url", "title")
_DAY_US = 86_400_000_000
_US = pa.timestamp("us", tz="UTC")
#: Columns whose row-group statistics let a scan skip row groups (window, sites).
_STATISTICS = ["site", "ts", "session", "event"]
#: Rows per Parquet row group of a part file.
ROW_GROUP = 1 << 20


def fsync_file(path: Path) -> None:
    """Flush a file's bytes to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ranks(column: pa.ChunkedArray) -> np.ndarray:
    """Per-row rank of the value in sorted order (-1 for null) of a unified dictionary column."""
    if column.num_chunks == 0:
        return np.empty(0, dtype=np.int32)
    dictionary = column.chunk(0).dictionary
    order = np.asarray(pc.sort_indices(dictionary))
    rank = np.empty(len(order) + 1, dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    rank[-1] = -1
    parts = [chunk.indices.fill_null(len(order)).to_numpy() for chunk in column.chunks]
    ranked: np.ndarray = rank[np.concatenate(parts)]
    return ranked


def _order(day: np.ndarray, t: np.ndarray, ranks: dict[str, np.ndarray]) -> np.ndarray:
    """Order rows by day, site, ts, session and event; ties keep reading order.

    Histories are written in time order, so sorting by day and site alone (two
    stable radix sorts of small codes) usually leaves each site's rows in time
    order already; when it does not, or two rows of a site share a ts, a full sort.
    """
    site = ranks["site"]
    first = int(day.min()) if len(day) else 0
    if len(site) and site.max() < 2**16 and int(day.max()) - first < 2**16:
        order = np.argsort(site.astype(np.uint16), kind="stable")
        order = order[np.argsort((day[order] - first).astype(np.uint16), kind="stable")]
        s, d, ts = site[order], day[order], t[order]
        if not np.any((s[1:] == s[:-1]) & (d[1:] == d[:-1]) & (ts[1:] <= ts[:-1])):
            ordered: np.ndarray = order
            return ordered
    # Arrow's sort is stable: rows of equal keys stay in reading order.
    keys = pa.table(
        {"day": day, "site": site, "ts": t} | {k: ranks[k] for k in ("session", "event")}
    )
    return np.asarray(
        pc.sort_indices(keys, sort_keys=[(k, "ascending") for k in keys.column_names])
    )


def _micros(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Cut a timestamp column to microseconds (the store's unit), not rounding."""
    return column.cast(_US, safe=False)


@dataclass
class Stager:
    """Write the new rows of each file of one ingest under its staging directory.

    Attributes
    ----------
    root
        The store.
    staging
        The ingest's staging directory.
    ingest_id
        The ingest.
    parts
        The part files staged so far, by day.
    duplicates_by_site
        Rows dropped so far, by site: duplicates within the ingest and rows the
        store held already.
    """

    root: Path
    staging: Path
    ingest_id: str
    parts: dict[str, list[Path]] = field(default_factory=dict)
    duplicates_by_site: dict[str, int] = field(default_factory=dict)
    _con: duckdb.DuckDBPyConnection | None = None

    def close(self) -> None:
        """Release the DuckDB connection, when one was opened."""
        if self._con is not None:
            self._con.close()
            self._con = None

    def add(self, blocks: list[pa.Table], source: str) -> None:
        """Stage the new rows of one file, read as ``blocks`` from ``source``."""
        blocks = [b for b in blocks if b.num_rows]
        if not blocks:
            return
        table = pa.concat_tables(blocks, promote_options="permissive").unify_dictionaries()
        del blocks
        ts = _micros(table.column("ts"))
        t = np.concatenate([c.to_numpy().view(np.int64) for c in ts.chunks])
        ranks = {name: _ranks(table.column(name)) for name in _KEYS}
        day = t // _DAY_US
        order = _order(day, t, ranks)
        site, stamp = ranks["site"][order], t[order]
        session, event = ranks["session"][order], ranks["event"][order]
        same = (
            (site[1:] == site[:-1])
            & (stamp[1:] == stamp[:-1])
            & (session[1:] == session[:-1])
            & (event[1:] == event[:-1])
        )
        keep = np.concatenate([[True], ~same])
        dropped = [site[1:][same]]
        order, day = order[keep], day[order][keep]
        days = [str(np.datetime64(int(d), "D")) for d in np.unique(day)]
        known = self._known(table, order, days)
        if known is not None:
            dropped.append(ranks["site"][order[known]])
            order, day = order[~known], day[~known]
        self._count(table.column("site"), np.concatenate(dropped))
        if len(order):
            self._write(table, order, day, source)

    def _count(self, column: pa.ChunkedArray, dropped: np.ndarray) -> None:
        """Add the dropped rows (their site ranks) to :attr:`duplicates_by_site`."""
        if not len(dropped):
            return
        dictionary = column.chunk(0).dictionary
        names = dictionary.take(pc.sort_indices(dictionary)).to_pylist()
        values, counts = np.unique(dropped, return_counts=True)
        for value, count in zip(values, counts, strict=True):
            name = str(names[value])
            self.duplicates_by_site[name] = self.duplicates_by_site.get(name, 0) + int(count)

    def _known(self, table: pa.Table, order: np.ndarray, days: list[str]) -> np.ndarray | None:
        """Mark the rows of ``order`` the store (or this ingest) holds already; ``None``: none."""
        old = [str(p) for p in store_files(self.root, days=days)]
        old += [str(p) for d in days for p in self.parts.get(d, [])]
        if not old:
            return None
        import duckdb

        if self._con is None:
            self._con = duckdb.connect(config={"temp_directory": str(self.staging / "spill")})
        taken = pa.array(order)
        rows = pa.table(
            {name: table.column(name).take(taken).cast(pa.string()) for name in _KEYS}
            | {"ts": _micros(table.column("ts")).take(taken), "pos": np.arange(len(order))}
        )
        self._con.register("fresh", rows)
        listing = ", ".join(_sql_text(p) for p in old)
        try:
            found = self._con.sql(
                "SELECT pos FROM fresh AS n WHERE EXISTS (SELECT 1 FROM "  # noqa: S608
                f"read_parquet([{listing}]) AS o WHERE o.site = n.site AND o.session = n.session"
                " AND o.event = n.event AND o.ts = n.ts)"
            ).fetchnumpy()["pos"]
        finally:
            self._con.unregister("fresh")
        mask = np.zeros(len(order), dtype=bool)
        mask[np.asarray(found, dtype=np.int64)] = True
        return mask

    def _write(self, table: pa.Table, order: np.ndarray, day: np.ndarray, source: str) -> None:
        """Write the kept rows, one Parquet file per day, and fsync them.

        Rows are gathered a row group at a time, the next group while the last one
        is written: memory holds two row groups, not a sorted copy of the file.
        """
        bounds = np.flatnonzero(np.diff(day)) + 1
        starts = np.concatenate([[0], bounds]).tolist()
        ends = np.concatenate([bounds, [len(day)]]).tolist()
        source_dictionary = pa.array([source])
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rtt-stage") as pool:
            for start, end in zip(starts, ends, strict=True):
                name = str(np.datetime64(int(day[start]), "D"))
                folder = self.staging / BEACONS_DIR / f"day={name}"
                folder.mkdir(parents=True, exist_ok=True)
                number = sum(len(v) for v in self.parts.values())
                target = folder / f"part-{self.ingest_id}-{number}.parquet"
                groups = [
                    order[at : min(at + ROW_GROUP, end)] for at in range(start, end, ROW_GROUP)
                ]
                # Without the Arrow schema, readers see plain strings, as the layout says.
                rows = _rows(table, groups[0], source_dictionary)
                with pq.ParquetWriter(
                    target, rows.schema, store_schema=False, write_statistics=_STATISTICS
                ) as writer:
                    for following in [*groups[1:], None]:
                        pending = (
                            None
                            if following is None
                            else pool.submit(_rows, table, following, source_dictionary)
                        )
                        writer.write_table(rows, row_group_size=ROW_GROUP)
                        if pending is not None:
                            rows = pending.result()
                fsync_file(target)
                fsync_dir(folder)
                self.parts.setdefault(name, []).append(target)


def _rows(table: pa.Table, indices: np.ndarray, source: pa.Array) -> pa.Table:
    """Gather rows of a loader table into the store's columns."""
    taken = pa.array(indices)
    columns: list[pa.ChunkedArray | pa.Array] = []
    for name in STORE_SCHEMA.names:
        kind = STORE_SCHEMA.field(name).type
        if name == "source":
            zeros = pa.array(np.zeros(len(indices), dtype=np.int32))
            columns.append(pa.DictionaryArray.from_arrays(zeros, source))
            continue
        column = table.column(name)
        if column.null_count == len(column):
            # Often: no received_at, no extra keys. Nothing to gather.
            columns.append(pa.nulls(len(indices), kind))
        elif name in _TEXT:
            columns.append(column.take(taken))
        else:
            columns.append(column.take(taken).cast(kind, safe=name not in ("ts", "received_at")))
    return pa.Table.from_arrays(columns, names=STORE_SCHEMA.names)
