"""Run the history aggregations on DuckDB and shape the results as the pandas path does.

Each function takes a :class:`~rtt_topology.aggregate.engines.History`, runs the
definitions of :mod:`rtt_topology.aggregate.sql.history` and returns the small
table that the matching function of :mod:`rtt_topology.aggregate.history` returns
for the same beacons in memory: same columns, dtypes, index and order. Queries that
order each site's whole history run once per group of sites
(:data:`CHUNK_ROWS` beacons at most, :meth:`History.site_chunks`); their memory is
bounded by a group. Times are microseconds in DuckDB: a beacon table with finer
``ts`` is truncated to the microsecond.

Examples
--------
>>> from rtt_topology.load import beacons_from_records
>>> table, _ = beacons_from_records(
...     {"site": "api", "session": "s1" if i < 4 else "s2", "event": "heartbeat",
...      "ts": f"2026-01-19T15:0{i}:00Z"}
...     for i in range(6)
... )
>>> with History.from_frame(table) as history:
...     restarts(history, ["startup"])[["site", "session", "reason"]]
  site session       reason
0  api      s2  new session
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from rtt_topology.aggregate.engines import CHUNK_ROWS as ENGINE_CHUNK_ROWS
from rtt_topology.aggregate.engines import History
from rtt_topology.aggregate.sql import history as q

__all__ = [
    "CHUNK_ROWS",
    "cluster_sites",
    "event_pairs",
    "main_event_rows",
    "period_stats",
    "restarts",
    "site_sources",
    "skew_stats",
    "summary_stats",
]

#: The most beacons one query over whole sites runs over at once (the engines' setting).
CHUNK_ROWS = ENGINE_CHUNK_ROWS


def _by_groups(
    history: History, render: Callable[[list[str]], str]
) -> tuple[list[str], list[pd.DataFrame]]:
    """Run ``render(sites)`` once per group of sites; return all sites and the non-empty results."""
    groups = history.site_chunks(CHUNK_ROWS)
    parts = [history.sql(render(group)) for group in groups]
    return [site for group in groups for site in group], [part for part in parts if len(part)]


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate query results (no columns when there are none)."""
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _text(values: Iterable[object]) -> pd.Index:
    return pd.Index([str(v) for v in values], dtype="str")


def _microseconds(values: pd.Series) -> pd.Series:
    """Return epoch microseconds as ``datetime64[ns, UTC]``."""
    micros = values.to_numpy(dtype=np.int64)
    return pd.Series((micros * 1000).view("datetime64[ns]")).dt.tz_localize("UTC")


def _categories(names: Iterable[object]) -> pd.CategoricalDtype:
    index = _text(names)
    # An empty table's categories are object, as pandas makes them.
    return pd.CategoricalDtype(index if len(index) else pd.Index([], dtype=object))


def main_event_rows(history: History) -> np.ndarray:
    """Return the main-event mask, row-aligned with :meth:`History.frame`.

    Examples
    --------
    >>> from rtt_topology.columns import empty_beacon_frame
    >>> with History.from_frame(empty_beacon_frame()) as history:
    ...     main_event_rows(history).tolist()
    []
    """
    _, parts = _by_groups(history, q.main_event_rows)
    if not parts:
        return np.zeros(0, dtype=bool)
    return np.concatenate([p["main"].fillna(False).to_numpy(dtype=bool) for p in parts])


def period_stats(history: History) -> tuple[list[str], dict[str, tuple[float, int]]]:
    """Return the sites seen, and per site the median and count of the positive intervals.

    Examples
    --------
    >>> from rtt_topology.columns import empty_beacon_frame
    >>> with History.from_frame(empty_beacon_frame()) as history:
    ...     period_stats(history)
    ([], {})
    """
    sites, parts = _by_groups(history, q.period_stats)
    stats: dict[str, tuple[float, int]] = {}
    for part in parts:
        for site, median, n in part[["site", "median_s", "n"]].itertuples(index=False):
            stats[str(site)] = (float(median), int(n))
    return sites, stats


def restarts(history: History, lifecycle: Iterable[str]) -> pd.DataFrame:
    """Return the restarts; ``site`` and ``session`` categoricals over the history's names.

    Examples
    --------
    >>> from rtt_topology.columns import empty_beacon_frame
    >>> with History.from_frame(empty_beacon_frame()) as history:
    ...     restarts(history, ["startup"]).columns.tolist()
    ['site', 'ts', 'session', 'reason']
    """
    names = sorted(lifecycle)
    seen, parts = _by_groups(history, lambda group: q.restarts(group, names))
    table = _concat(parts)
    sites = _categories(seen)
    sessions = _categories(history.sql(q.session_names())["session"])
    if table.empty:
        table = pd.DataFrame({"site": [], "t": np.zeros(0, np.int64), "session": [], "reason": []})
    return pd.DataFrame(
        {
            "site": pd.Categorical(table["site"].astype(str), dtype=sites),
            "ts": _microseconds(table["t"]),
            "session": pd.Categorical(table["session"].astype(str), dtype=sessions),
            "reason": pd.Series(table["reason"].to_numpy(dtype=object), dtype="str"),
        }
    )


def cluster_sites(history: History) -> list[str]:
    """Return the sites that send only ``cluster_heartbeat`` beacons, sorted.

    Examples
    --------
    >>> from rtt_topology.columns import empty_beacon_frame
    >>> with History.from_frame(empty_beacon_frame()) as history:
    ...     cluster_sites(history)
    []
    """
    return sorted(str(s) for s in history.sql(q.cluster_sites())["site"])


def event_pairs(history: History) -> pd.Series:
    """Count beacons per (site, event); text keys, sorted by site then event.

    Examples
    --------
    >>> from rtt_topology.columns import empty_beacon_frame
    >>> with History.from_frame(empty_beacon_frame()) as history:
    ...     event_pairs(history).index.names
    FrozenList(['site', 'event'])
    """
    table = history.sql(q.event_pairs())
    index = pd.MultiIndex.from_arrays(
        [_text(table["site"]), _text(table["event"])], names=["site", "event"]
    )
    return pd.Series(table["n"].to_numpy(dtype=np.int64), index=index, dtype="int64")


def summary_stats(history: History) -> pd.DataFrame:
    """Return per site: beacons, sessions, first and last ``ts``, median interval and skew.

    Examples
    --------
    >>> from rtt_topology.columns import empty_beacon_frame
    >>> with History.from_frame(empty_beacon_frame()) as history:
    ...     summary_stats(history).index.name
    'site'
    """
    table = _concat(_by_groups(history, q.summary_stats)[1])
    if table.empty:
        table = pd.DataFrame(
            {c: np.zeros(0, np.int64) for c in ("beacons", "sessions", "first_t", "last_t")}
            | {"site": [], "median_interval_s": [], "median_skew_s": []}
        )
    summary = pd.DataFrame(
        {
            "site": _text(table["site"]),
            "beacons": table["beacons"].to_numpy(dtype=np.int64),
            "sessions": table["sessions"].to_numpy(dtype=np.int64),
            "first_seen": _microseconds(table["first_t"]),
            "last_seen": _microseconds(table["last_t"]),
            "median_interval_s": table["median_interval_s"].to_numpy(dtype=np.float64),
            "median_skew_s": table["median_skew_s"].to_numpy(dtype=np.float64),
        }
    )
    return summary.set_index("site")


def skew_stats(history: History) -> pd.DataFrame:
    """Return per site with a ``received_at``: count, median, 5th and 95th skew percentiles.

    Examples
    --------
    >>> from rtt_topology.columns import empty_beacon_frame
    >>> with History.from_frame(empty_beacon_frame()) as history:
    ...     skew_stats(history).empty
    True
    """
    return _concat(_by_groups(history, q.skew_stats)[1])


def site_sources(history: History) -> pd.DataFrame:
    """Return the distinct (site, source) pairs as text, sorted.

    Examples
    --------
    >>> from rtt_topology.columns import empty_beacon_frame
    >>> with History.from_frame(empty_beacon_frame()) as history:
    ...     site_sources(history).columns.tolist()
    ['site', 'source']
    """
    table = history.sql(q.site_sources())
    return pd.DataFrame({"site": _text(table["site"]), "source": _text(table["source"])})
