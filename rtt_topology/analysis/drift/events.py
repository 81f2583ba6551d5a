"""Find the structural changes of each page from its previous beacon (drift events)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rtt_topology._timestamps import Instant, instant_ns
from rtt_topology.aggregate.engines import Engine, History, engine_input
from rtt_topology.aggregate.sql import drift as q
from rtt_topology.analysis.drift.pages import (
    STRUCTURE_FIELDS,
    TOLERANCE,
    between,
    check_options,
    page_arrays,
)
from rtt_topology.analysis.grid import Sites, by_site, site_groups, site_numbers
from rtt_topology.columns import validate_beacon_frame

__all__ = ["drift_event_counts", "drift_events"]


def _changes(
    beacons: pd.DataFrame, tolerance: float, start: Instant | None, end: Instant | None
) -> tuple[pd.DataFrame, Sites, np.ndarray, np.ndarray, np.ndarray]:
    """Beacons whose structure changed from the previous beacon of their page.

    Returns the sorted table, its sites, the changed rows (in the sorted table), the
    rows they are compared with, and which of :data:`STRUCTURE_FIELDS` changed.
    """
    validate_beacon_frame(beacons)
    check_options(1, tolerance)
    beacons = by_site(beacons)
    ts = beacons["ts"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    sites = site_numbers(beacons)
    s = page_arrays(beacons, sites.dense, ts)
    # Each page's beacons in time order (stable: the table is in time order per site).
    order = np.argsort(s.page, kind="stable")
    page, title = s.page[order], s.title[order]
    candidate = page[1:] == page[:-1]
    candidate &= between(s.ts[order][1:], start, end)
    # Most beacons repeat their page's previous structure exactly: compare only the others.
    same = (title[1:] == title[:-1]) & candidate
    columns = [c[order] for c in s.counts]
    for c in columns:
        same &= c[1:] == c[:-1]
    at = np.flatnonzero(candidate & ~same)
    changed = np.zeros((len(at), len(STRUCTURE_FIELDS)), dtype=bool)
    changed[:, 0] = (title[at + 1] >= 0) & (title[at] >= 0) & (title[at + 1] != title[at])
    for k, c in enumerate(columns, start=1):
        now, before = c[at + 1], c[at]
        # NaN (a null count) compares False: a missing value is no change.
        changed[:, k] = np.abs(now - before) > tolerance * np.maximum(np.abs(now), np.abs(before))
    hit = changed.any(axis=1)
    at, changed = at[hit], changed[hit]
    return beacons, sites, s.rows[order][at + 1], s.rows[order][at], changed


def _snapshots(beacons: pd.DataFrame, rows: np.ndarray) -> list[dict[str, Any]]:
    """Return the structure fields of some rows as dicts of plain values (None when null)."""
    columns = {f: beacons[f].iloc[rows].astype(object).tolist() for f in STRUCTURE_FIELDS}
    return [
        {
            f: None if pd.isna(v[i]) else (str(v[i]) if f == "title" else int(v[i]))
            for f, v in columns.items()
        }
        for i in range(len(rows))
    ]


def _events(
    site: np.ndarray,
    url: np.ndarray,
    ts: np.ndarray,
    changed: list[list[str]],
    before: list[dict[str, Any]],
    after: list[dict[str, Any]],
) -> pd.DataFrame:
    """Return the :func:`drift_events` table of its columns (``ts`` in ns), sorted."""
    table = pd.DataFrame(
        {
            "site": site,
            "url": url,
            "ts": ts.astype("datetime64[ns]"),
            "changed": pd.Series(changed, dtype=object),
            "before": pd.Series(before, dtype=object),
            "after": pd.Series(after, dtype=object),
        }
    )
    table["site"] = table["site"].astype("str")
    table["url"] = table["url"].astype("str")
    table["ts"] = table["ts"].dt.tz_localize("UTC")
    result: pd.DataFrame = table.sort_values(
        ["site", "ts", "url"], kind="stable", ignore_index=True
    )
    return result


def _history_changes(
    history: History, tolerance: float, start: Instant | None, end: Instant | None
) -> pd.DataFrame:
    """Return the changed beacons of a history, one group of sites at a time."""
    check_options(1, tolerance)
    lo, hi = instant_ns(start, "start"), instant_ns(end, "end")
    found = [
        history.sql(q.changes(group, tolerance=tolerance, lo=lo, hi=hi))
        for group in site_groups(history)
    ]
    found = [part for part in found if len(part)]
    return pd.concat(found, ignore_index=True) if found else pd.DataFrame()


def _history_events(
    history: History, tolerance: float, start: Instant | None, end: Instant | None
) -> pd.DataFrame:
    """Return :func:`drift_events` of a history, computed by DuckDB."""
    table = _history_changes(history, tolerance, start, end)
    if table.empty:
        none = np.zeros(0, dtype=object)
        return _events(none, none, np.zeros(0, np.int64), [], [], [])
    flags = table[[f"changed_{f}" for f in STRUCTURE_FIELDS]].to_numpy(dtype=bool)
    fields = np.asarray(STRUCTURE_FIELDS, dtype=object)

    def snapshots(prefix: str) -> list[dict[str, Any]]:
        columns = {f: table[prefix + f].astype(object).tolist() for f in STRUCTURE_FIELDS}
        return [
            {
                f: None if pd.isna(v[i]) else (str(v[i]) if f == "title" else int(v[i]))
                for f, v in columns.items()
            }
            for i in range(len(table))
        ]

    return _events(
        table["site"].astype(str).to_numpy(dtype=object),
        table["url"].astype(str).to_numpy(dtype=object),
        table["t"].to_numpy(np.int64) * 1000,
        [list(fields[row]) for row in flags],
        snapshots("before_"),
        snapshots(""),
    )


def drift_events(
    beacons: pd.DataFrame | History,
    *,
    tolerance: float = TOLERANCE,
    start: Instant | None = None,
    end: Instant | None = None,
    engine: Engine = "auto",
) -> pd.DataFrame:
    r"""Return every structural change of a page from its previous beacon.

    Parameters
    ----------
    beacons
        A beacon table or a :class:`~rtt_topology.aggregate.engines.History`.
    tolerance
        Relative change of a count that is still jitter.
    start, end
        Keep the changes with ``start <= ts < end`` (the beacon compared with may
        be earlier).
    engine
        ``"pandas"``, ``"duckdb"`` or ``"auto"``
        (:func:`~rtt_topology.aggregate.engines.choose_engine`); the results are equal.

    Returns
    -------
    pandas.DataFrame
        One row per changed beacon, sorted by site, ts and url: ``site``, ``url``
        (str), ``ts`` (UTC), ``changed`` (list of the fields of
        :data:`STRUCTURE_FIELDS` that changed), ``before`` and ``after`` (dicts of
        those fields, the previous beacon's and this one's; ``None`` when null).

    Examples
    --------
    >>> from rtt_topology.load import beacons_from_records
    >>> def beacon(ts, title, nav_count, dom_nodes):
    ...     structure = {"url": "/", "title": title, "nav_count": nav_count,
    ...                  "dom_nodes": dom_nodes}
    ...     return {"site": "shop", "session": "s", "event": "heartbeat", "ts": ts,
    ...             "structure": structure}
    >>> rows = [("2026-01-19T15:00:00Z", "Home", 8, 1000),
    ...         ("2026-01-19T15:01:00Z", "Home", 8, 1030),  # 3 % more nodes: jitter
    ...         ("2026-01-19T15:02:00Z", "Sale", 4, 1000)]
    >>> beacons, _ = beacons_from_records(beacon(*row) for row in rows)
    >>> event = drift_events(beacons).iloc[0]
    >>> event["ts"], event["changed"]
    (Timestamp('2026-01-19 15:02:00+0000', tz='UTC'), ['title', 'nav_count'])
    >>> event["before"]["nav_count"], event["after"]["nav_count"]
    (8, 4)
    """
    with engine_input(beacons, engine) as data:
        if isinstance(data, History):
            return _history_events(data, tolerance, start, end)
        table, _, rows, prev, changed = _changes(data, tolerance, start, end)
    fields = np.asarray(STRUCTURE_FIELDS, dtype=object)
    picked = table.iloc[rows]
    return _events(
        picked["site"].astype("str").to_numpy(),
        picked["url"].astype("str").to_numpy(),
        picked["ts"].to_numpy(dtype="datetime64[ns]").view(np.int64),
        [list(fields[c]) for c in changed],
        _snapshots(table, prev),
        _snapshots(table, rows),
    )


def drift_event_counts(
    beacons: pd.DataFrame | History,
    *,
    tolerance: float = TOLERANCE,
    start: Instant | None = None,
    end: Instant | None = None,
    engine: Engine = "auto",
) -> pd.DataFrame:
    r"""Count the structural changes of :func:`drift_events` per site.

    Parameters
    ----------
    beacons, tolerance, start, end, engine
        As in :func:`drift_events`.

    Returns
    -------
    pandas.DataFrame
        One row per site with beacons, sorted: ``site`` (str) and ``drift_events``
        (int64, 0 included), the value of ``rtt_drift_events_total``.

    Examples
    --------
    >>> from rtt_topology.load import beacons_from_records
    >>> beacons, _ = beacons_from_records([
    ...     {"site": "api", "session": "s", "event": "heartbeat", "ts": "2026-01-19T15:00:00Z"},
    ...     {"site": "web", "session": "s", "event": "heartbeat", "ts": "2026-01-19T15:00:00Z",
    ...      "structure": {"url": "/", "title": "Home"}},
    ...     {"site": "web", "session": "s", "event": "heartbeat", "ts": "2026-01-19T15:01:00Z",
    ...      "structure": {"url": "/", "title": "Sale"}},
    ... ])
    >>> drift_event_counts(beacons)
      site  drift_events
    0  api             0
    1  web             1
    """
    with engine_input(beacons, engine) as data:
        if isinstance(data, History):
            check_options(1, tolerance)
            names = np.asarray(sorted(str(s) for s in data.site_counts().index), dtype=object)
            lo, hi = instant_ns(start, "start"), instant_ns(end, "end")
            number = {str(name): i for i, name in enumerate(names)}
            counts = np.zeros(len(names), np.int64)
            for group in site_groups(data):
                found = data.sql(q.change_counts(group, tolerance=tolerance, lo=lo, hi=hi))
                for site, n in found[["site", "n"]].itertuples(index=False):
                    counts[number[str(site)]] = int(n)
        else:
            _, sites, rows, _, _ = _changes(data, tolerance, start, end)
            names = sites.names
            counts = np.bincount(sites.dense[rows], minlength=len(names)).astype(np.int64)
    return pd.DataFrame({"site": pd.Series(names, dtype="str"), "drift_events": counts})
