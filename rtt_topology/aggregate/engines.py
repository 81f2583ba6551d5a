"""The engines of the aggregation seam: pandas in memory, DuckDB over a store or a table.

A :class:`History` is a beacon history that DuckDB scans without loading it: the
Parquet files of a history store (the window and the sites pushed down to the scan,
the day partitions pruned), or a beacon table already in memory. Every aggregation
that has an SQL definition (:mod:`rtt_topology.aggregate.sql`) runs on it and
returns the small per-service and per-bucket tables that the analysis takes;
:meth:`History.frame` materialises a part of it (some sites) as a beacon table
when a computation needs the beacons themselves.

In the SQL, the history is the relation ``beacons``: the columns of the beacon
table contract (:mod:`rtt_topology.columns`) as plain types (text, ``BIGINT``
counts, ``TIMESTAMP WITH TIME ZONE`` in UTC), plus ``t``, the beacon's time in
microseconds since the epoch (``BIGINT``), so that interval arithmetic is the same
in every engine.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import pandas as pd

from rtt_topology._timestamps import Instant, aware_utc
from rtt_topology.errors import InputError
from rtt_topology.load.store import STORE_MARKER, is_store, store_files

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "AUTO_ROWS",
    "CHUNK_ROWS",
    "ENGINES",
    "STORE_MARKER",
    "Engine",
    "History",
    "choose_engine",
    "engine_input",
    "is_store",
    "sql_text",
]

#: The engines of the analysis entry points.
Engine = Literal["auto", "pandas", "duckdb"]
ENGINES: tuple[str, ...] = ("auto", "pandas", "duckdb")
#: Above this many beacons in memory, ``engine="auto"`` runs DuckDB.
AUTO_ROWS = 10_000_000
#: The most beacons that one query over whole site histories (a window over each site
#: ordered by time, medians by rank) runs on at once: every engine-side chunking of the
#: sites uses it. Peak memory grows with it (about 0.4 GB of DuckDB's at 2.5M, 1.1 GB at
#: 10M, on 2 cores); the time barely changes.
CHUNK_ROWS = 2_500_000

_TEXT = ("site", "session", "event", "url", "title", "extra", "source")
_COUNTS = ("nav_count", "main_count", "form_count", "button_count", "dom_nodes")


def sql_text(value: str) -> str:
    """Return ``value`` as an SQL string literal (single quotes doubled).

    Examples
    --------
    >>> sql_text("it's")
    "'it''s'"
    """
    return "'" + value.replace("'", "''") + "'"


def _view_sql(
    relation: str,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    sites: Sequence[str] | None,
    *,
    partitions: bool,
) -> str:
    """Return the ``beacons`` view over ``relation``: plain types, ``t`` (µs), the filters."""
    columns = [f"CAST({c} AS VARCHAR) AS {c}" for c in _TEXT]
    columns += [f"CAST({c} AS BIGINT) AS {c}" for c in _COUNTS]
    columns += [
        "CAST(ts AS TIMESTAMP WITH TIME ZONE) AS ts",
        "CAST(line AS BIGINT) AS line",
        "CAST(received_at AS TIMESTAMP WITH TIME ZONE) AS received_at",
        "epoch_us(CAST(ts AS TIMESTAMP WITH TIME ZONE)) AS t",
    ]
    where = []
    if start is not None:
        where.append(f"ts >= {_timestamp(start)}")
        if partitions:
            where.append(f"day >= DATE {sql_text(start.strftime('%Y-%m-%d'))}")
    if end is not None:
        where.append(f"ts < {_timestamp(end)}")
        if partitions:
            where.append(f"day <= DATE {sql_text(end.strftime('%Y-%m-%d'))}")
    if sites is not None:
        names = ", ".join(sql_text(s) for s in sites) or "NULL"
        where.append(f"CAST(site AS VARCHAR) IN ({names})")
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return f"SELECT {', '.join(columns)} FROM {relation}{clause}"


def _timestamp(moment: pd.Timestamp) -> str:
    return f"TIMESTAMPTZ {sql_text(moment.strftime('%Y-%m-%d %H:%M:%S.%f+00'))}"


class History:
    """A beacon history that DuckDB scans: a history store, or a beacon table.

    Build one with :meth:`from_store` or :meth:`from_frame`; use it as a context
    manager (or call :meth:`close`) to release DuckDB's memory. The analysis entry
    points take a ``History`` wherever they take a beacon table.

    Parameters are keyword-only on the constructors:

    start, end
        Keep beacons with ``start <= ts < end`` (UTC; text, datetime or Timestamp).
    sites
        Keep only these sites.
    memory_limit
        DuckDB's memory limit (``"4GB"``); by default DuckDB's own (80 % of the RAM).
    threads
        DuckDB's threads; by default the machine's cores.

    Examples
    --------
    >>> from rtt_topology.load import beacons_from_records
    >>> table, _ = beacons_from_records(
    ...     {"site": "api", "session": "s1", "event": "heartbeat", "ts": f"2026-01-19T15:0{i}:00Z"}
    ...     for i in range(3)
    ... )
    >>> with History.from_frame(table) as history:
    ...     history.sql("SELECT site, count(*) AS n FROM beacons GROUP BY site")
      site  n
    0  api  3
    """

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        *,
        start: pd.Timestamp | None,
        end: pd.Timestamp | None,
        sites: tuple[str, ...] | None,
        label: str,
        store: Path | None = None,
    ) -> None:
        self._con = connection
        self._lock = threading.Lock()
        self.start = start
        self.end = end
        self.sites = sites
        self.label = label
        self.store = store
        self._rows: int | None = None
        self._site_counts: pd.Series | None = None

    # --- construction ----------------------------------------------------------------

    @classmethod
    def from_store(
        cls,
        store: str | os.PathLike[str],
        *,
        start: Instant | None = None,
        end: Instant | None = None,
        sites: Sequence[str] | None = None,
        memory_limit: str | None = None,
        threads: int | None = None,
    ) -> History:
        """Scan the Parquet files of a history store (see :mod:`rtt_topology.store`)."""
        root = Path(store)
        if not is_store(root):
            raise InputError(f"{root}: not a history store (no {STORE_MARKER}); see `ingest`")
        lo, hi, names = _window(start, end, sites)
        con = _connect(memory_limit, threads)
        # Only the files of published ingests: an unfinished one is not part of the store.
        files = store_files(root)
        if files:
            listing = ", ".join(sql_text(str(f)) for f in files)
            relation = f"read_parquet([{listing}], hive_partitioning = true)"
            con.execute(
                "CREATE TEMP VIEW beacons AS " + _view_sql(relation, lo, hi, names, partitions=True)
            )
        else:
            _empty_view(con)
        return cls(con, start=lo, end=hi, sites=names, label=str(root), store=root)

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        start: Instant | None = None,
        end: Instant | None = None,
        sites: Sequence[str] | None = None,
        memory_limit: str | None = None,
        threads: int | None = None,
    ) -> History:
        """Scan a beacon table in memory (no copy: DuckDB reads its columns)."""
        from rtt_topology.columns import validate_beacon_frame

        validate_beacon_frame(frame)
        lo, hi, names = _window(start, end, sites)
        con = _connect(memory_limit, threads)
        if "received_at" not in frame.columns:
            frame = frame.assign(
                received_at=pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
            )
        con.register("beacon_table", frame)
        con.execute(
            "CREATE TEMP VIEW beacons AS "
            + _view_sql("beacon_table", lo, hi, names, partitions=False)
        )
        return cls(con, start=lo, end=hi, sites=names, label="<beacon table>")

    # --- queries ---------------------------------------------------------------------

    def sql(self, query: str) -> pd.DataFrame:
        """Run one query over the relation ``beacons``; return its result as a DataFrame."""
        with self._lock:
            return cast(pd.DataFrame, self._con.sql(query).df())

    def arrow(self, query: str) -> Any:
        """Run one query; return its result as a ``pyarrow.Table``."""
        with self._lock:
            relation = self._con.sql(query)
            # DuckDB 2 names it to_arrow_table; DuckDB 1, arrow.
            fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
            return fetch()

    def __len__(self) -> int:
        """Return the number of beacons in the history (after the window and the sites)."""
        if self._rows is None:
            self._rows = int(self.sql("SELECT count(*) AS n FROM beacons")["n"].iloc[0])
        return self._rows

    def site_counts(self) -> pd.Series:
        """Return the beacons per site (``int64``, indexed by site, sorted; counted once)."""
        if self._site_counts is not None:
            return self._site_counts.copy()
        table = self.sql("SELECT site, count(*) AS n FROM beacons GROUP BY site ORDER BY site")
        # The history does not change while it is open: count once.
        self._site_counts = pd.Series(
            table["n"].to_numpy(dtype="int64"),
            index=pd.Index(table["site"], name="site"),
            name="beacons",
        )
        return self._site_counts.copy()

    def site_chunks(self, max_rows: int = CHUNK_ROWS) -> list[list[str]]:
        """Split the sites into groups of at most ``max_rows`` beacons (a site is never split).

        A computation that needs each site's whole history runs once per group on
        :meth:`frame` of that group: memory is bounded by the group, not the history.
        """
        if max_rows < 1:
            raise InputError(f"max_rows must be >= 1, not {max_rows}")
        groups: list[list[str]] = []
        current: list[str] = []
        size = 0
        for site, n in self.site_counts().items():
            if current and size + int(n) > max_rows:
                groups.append(current)
                current, size = [], 0
            current.append(str(site))
            size += int(n)
        if current:
            groups.append(current)
        return groups

    def frame(self, sites: Sequence[str] | None = None) -> pd.DataFrame:
        """Materialise the history (or some of its sites) as a beacon table.

        The table follows :mod:`rtt_topology.columns`: categoricals, sorted by site
        and ts (ties by session then event), as :func:`~rtt_topology.load.read_beacons`
        returns it.
        """
        from rtt_topology.columns import BEACON_COLUMNS

        where = ""
        if sites is not None:
            where = " WHERE site IN (" + (", ".join(sql_text(s) for s in sites) or "NULL") + ")"
        names = ", ".join(BEACON_COLUMNS)
        table = self.arrow(
            f"SELECT {names} FROM beacons{where} ORDER BY site, ts, session, event, source, line"
        )
        return _to_beacon_frame(table)

    def frames(self, max_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
        """Yield the history as beacon tables of whole sites, :meth:`site_chunks` at a time."""
        for group in self.site_chunks(max_rows):
            yield self.frame(group)

    def bounds(self) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        """Return the first and last ``ts`` of the history (``None`` when it is empty)."""
        row = self.sql("SELECT min(ts) AS lo, max(ts) AS hi FROM beacons")
        lo, hi = row["lo"].iloc[0], row["hi"].iloc[0]
        if pd.isna(lo):
            return None, None
        return pd.Timestamp(lo).tz_convert("UTC"), pd.Timestamp(hi).tz_convert("UTC")

    # --- lifetime --------------------------------------------------------------------

    def close(self) -> None:
        """Close the DuckDB connection and remove its spill folder."""
        spill = _spill_folder(self._con)
        self._con.close()
        if spill is not None:
            shutil.rmtree(spill, ignore_errors=True)

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        window = f"{self.start or '-inf'}..{self.end or '+inf'}"
        return f"History({self.label!r}, {window})"


def choose_engine(beacons: object, engine: str) -> str:
    """Return ``"pandas"`` or ``"duckdb"`` for ``beacons`` and the ``engine`` asked.

    ``auto`` runs DuckDB for a :class:`History` and for tables above
    :data:`AUTO_ROWS` beacons, pandas otherwise.

    Examples
    --------
    >>> from rtt_topology.columns import empty_beacon_frame
    >>> choose_engine(empty_beacon_frame(), "auto")
    'pandas'
    """
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
    if engine != "auto":
        return engine
    if isinstance(beacons, History):
        return "duckdb"
    if isinstance(beacons, pd.DataFrame) and len(beacons) > AUTO_ROWS:
        return "duckdb"
    return "pandas"


def _window(
    start: Instant | None, end: Instant | None, sites: Sequence[str] | None
) -> tuple[pd.Timestamp | None, pd.Timestamp | None, tuple[str, ...] | None]:
    first = None if start is None else aware_utc(start, "start")
    last = None if end is None else aware_utc(end, "end")
    lo = None if first is None else pd.Timestamp(first)
    hi = None if last is None else pd.Timestamp(last)
    if lo is not None and hi is not None and lo >= hi:
        raise InputError(f"start ({lo}) must be before end ({hi})")
    names = None if sites is None else tuple(sorted({str(s) for s in sites}))
    return lo, hi, names


def _connect(memory_limit: str | None, threads: int | None) -> duckdb.DuckDBPyConnection:
    import duckdb

    config: dict[str, Any] = {}
    if memory_limit is not None:
        config["memory_limit"] = memory_limit
    if threads is not None:
        if threads < 1:
            raise InputError(f"threads must be >= 1, not {threads}")
        config["threads"] = threads
    # DuckDB spills to ".tmp" in the working directory by default: use a private
    # folder in the system's temporary directory instead (removed by History.close).
    config["temp_directory"] = tempfile.mkdtemp(prefix="rtt-topology-duckdb-")
    try:
        con = duckdb.connect(config=config)
    except duckdb.Error as exc:
        shutil.rmtree(config["temp_directory"], ignore_errors=True)
        raise InputError(f"DuckDB refused its settings: {exc}") from exc
    con.execute("SET TimeZone = 'UTC'")
    return con


def _empty_view(con: duckdb.DuckDBPyConnection) -> None:
    from rtt_topology.columns import empty_beacon_frame

    con.register("beacon_table", empty_beacon_frame())
    con.execute(
        "CREATE TEMP VIEW beacons AS "
        + _view_sql("beacon_table", None, None, None, partitions=False)
    )


def _to_beacon_frame(table: Any) -> pd.DataFrame:
    """Return a query result with the contract's columns, as the contract's dtypes."""
    from rtt_topology.columns import BEACON_COLUMNS

    frame = table.to_pandas()
    out = {}
    for name, dtype in BEACON_COLUMNS.items():
        column = frame[name]
        if dtype == "category":
            out[name] = column.astype("category")
        elif isinstance(dtype, pd.DatetimeTZDtype):
            out[name] = pd.to_datetime(column, utc=True).astype(dtype)
        else:
            out[name] = column.astype(dtype)
    return pd.DataFrame(out)


@contextmanager
def engine_input(beacons: pd.DataFrame | History, engine: str) -> Iterator[pd.DataFrame | History]:
    """Yield ``beacons`` as the engine chosen by :func:`choose_engine` takes them.

    pandas gets a beacon table (a :class:`History` is materialised with
    :meth:`History.frame`); DuckDB gets a :class:`History` (a table is wrapped with
    :meth:`History.from_frame`, closed on exit). Every analysis entry point with an
    ``engine`` option starts here.

    Examples
    --------
    >>> from rtt_topology.columns import empty_beacon_frame
    >>> with engine_input(empty_beacon_frame(), "duckdb") as data:
    ...     type(data).__name__
    'History'
    """
    chosen = choose_engine(beacons, engine)
    if chosen == "pandas":
        yield beacons.frame() if isinstance(beacons, History) else beacons
    elif isinstance(beacons, History):
        yield beacons
    else:
        with History.from_frame(beacons) as history:
            yield history


def _spill_folder(con: duckdb.DuckDBPyConnection) -> str | None:
    """Return the private spill folder of a connection made by :func:`_connect`."""
    import duckdb

    try:
        row = con.execute("SELECT current_setting('temp_directory')").fetchone()
    except duckdb.Error:  # a closed connection has nothing left to clean
        return None
    folder = None if row is None else str(row[0])
    if folder and Path(folder).name.startswith("rtt-topology-duckdb-"):
        return folder
    return None
