"""Reduce heartbeats to the per-bucket parts of cadence: numpy over a table, SQL over a history.

Both paths return the same :class:`Parts` (counts and interval statistics per site
and bucket, early intervals and periods per site) and the same :class:`Intervals`;
:mod:`rtt_topology.analysis.cadence.table` derives every column from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import pandas as pd

from rtt_topology._memo import memoized
from rtt_topology._timestamps import Instant
from rtt_topology.aggregate.engines import History
from rtt_topology.aggregate.history import main_event_rows, periods
from rtt_topology.aggregate.sql import cadence as q
from rtt_topology.analysis.grid import (
    Buckets,
    bucket_grid,
    by_site,
    history_grid,
    site_groups,
    site_numbers,
)
from rtt_topology.schemas import Profile

__all__ = [
    "NS",
    "Intervals",
    "Parts",
    "frame_intervals",
    "frame_parts",
    "history_intervals",
    "history_parts",
]

#: Nanoseconds in a second.
NS = 1_000_000_000
_GapRows = list[tuple[str, int, int]]


class Parts(NamedTuple):
    """What the engines compute per beacon; every column of :func:`cadence` follows."""

    names: np.ndarray  # the sites with beacons, sorted
    grid: Buckets
    first_ts: np.ndarray  # per site, its first beacon, ns
    beacons: np.ndarray  # per cell (site-major), beacons
    heartbeats: np.ndarray  # per cell, heartbeats
    stats: pd.DataFrame  # per cell, median, mean, max and p95 of the intervals ending there
    early: pd.DataFrame  # per site, median and size of the intervals of its first reference_s
    period_s: np.ndarray  # per site


class Intervals(NamedTuple):
    """Heartbeat intervals: site number (into ``names``), end (ns) and length (s)."""

    names: np.ndarray
    site: np.ndarray
    end: np.ndarray
    gap_s: np.ndarray


# --- the pandas path ------------------------------------------------------------------


def _heartbeat_gaps(
    beacons: pd.DataFrame, main: np.ndarray, dense: np.ndarray, ts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rows that end a heartbeat interval (within one session, no restart between) and its s."""
    events = beacons["event"].cat.categories
    breaks = np.flatnonzero(events.isin(q.BREAK_EVENTS))
    brk = np.isin(beacons["event"].cat.codes.to_numpy(), breaks)
    rows = np.flatnonzero(main | brk)
    key = dense[rows] << 32 | beacons["session"].cat.codes.to_numpy().astype(np.int64)[rows]
    runs = int(np.count_nonzero(key[1:] != key[:-1])) + 1 if len(key) else 0
    if runs != len(pd.unique(key)):
        # Sessions overlap (a blue-green deploy): group each session's beacons.
        order = np.argsort(key, kind="stable")
        rows, key = rows[order], key[order]
    beat = main[rows]
    gap = ts[rows][1:] - ts[rows][:-1]
    valid = (key[1:] == key[:-1]) & beat[1:] & beat[:-1] & (gap > 0)
    return rows[1:][valid], gap[valid] / NS


def _interval_rows(
    beacons: pd.DataFrame,
    profiles: Mapping[str, Profile] | None,
    main: np.ndarray,
    dense: np.ndarray,
    names: np.ndarray,
    ts: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Heartbeat intervals (rows that end one, and seconds) outside the site's collector gaps."""
    from rtt_topology.analysis.liveness import collector_gaps

    rows, gap_s = _heartbeat_gaps(beacons, main, dense, ts)
    gaps = collector_gaps(beacons, profiles)
    if gaps.empty or not len(rows):
        return rows, gap_s
    number = {str(name): i for i, name in enumerate(names)}
    site, ends = dense[rows], ts[rows]
    begins = ends - np.round(gap_s * NS).astype(np.int64)
    lost = np.zeros(len(rows), bool)
    starts = gaps["start"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    stops = gaps["end"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    for members, lo, hi in zip(gaps["sites"], starts, stops, strict=True):
        codes = [number[m] for m in members if m in number]
        lost |= np.isin(site, codes) & (begins >= lo) & (ends <= hi)
    return rows[~lost], gap_s[~lost]


def frame_parts(
    beacons: pd.DataFrame,
    profiles: Mapping[str, Profile] | None,
    bucket: str | pd.Timedelta,
    start: Instant | None,
    end: Instant | None,
    reference_s: float,
) -> Parts:
    """Compute the parts of :func:`cadence` from a beacon table with numpy."""
    beacons = by_site(beacons)
    ts = beacons["ts"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    grid = bucket_grid(ts, bucket, start, end)
    sites = site_numbers(beacons)
    n_sites, count = len(sites.names), grid.count
    if n_sites == 0 or count == 0:
        return _no_parts(sites.names, grid)
    main = main_event_rows(beacons)
    inside, k = grid.locate(ts)
    cell = sites.dense[inside] * count + k
    size = n_sites * count
    n_beacons = np.bincount(cell, minlength=size)
    n_beats = np.bincount(cell[main[inside]], minlength=size)

    gap_rows, gap_s = _interval_rows(beacons, profiles, main, sites.dense, sites.names, ts)
    gap_ts, gap_site = ts[gap_rows], sites.dense[gap_rows]
    g_inside, g_k = grid.locate(gap_ts)
    grouped = pd.Series(gap_s[g_inside]).groupby(gap_site[g_inside] * count + g_k)
    stats = grouped.agg(["median", "mean", "max"])
    stats["p95"] = grouped.quantile(0.95)
    first_ts = ts[sites.first_row]
    early = gap_ts < first_ts[gap_site] + int(reference_s * NS)
    early_stats = pd.Series(gap_s[early]).groupby(gap_site[early]).agg(["median", "size"])
    period_s = periods(beacons, profiles)["period_s"].reindex(sites.names)
    return Parts(
        sites.names,
        grid,
        first_ts,
        n_beacons,
        n_beats,
        stats.reindex(range(size)),
        early_stats.reindex(range(n_sites)),
        period_s.to_numpy(dtype=np.float64),
    )


def _no_parts(names: np.ndarray, grid: Buckets) -> Parts:
    none = np.zeros(0, np.int64)
    return Parts(names, grid, none, none, none, pd.DataFrame(), pd.DataFrame(), none)


# --- the DuckDB path ------------------------------------------------------------------


@memoized(copy=False)
def _history_gaps(history: History, profiles: Mapping[str, Profile] | None) -> _GapRows:
    """Return the collector gaps of a history as rows of member site, start and end (ns)."""
    from rtt_topology.analysis.liveness import collector_gaps

    gaps = collector_gaps(history, profiles)
    starts = gaps["start"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    stops = gaps["end"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    return [
        (str(site), int(lo), int(hi))
        for members, lo, hi in zip(gaps["sites"], starts, stops, strict=True)
        for site in members
    ]


def _of(rows: _GapRows, sites: list[str]) -> _GapRows:
    """Return the rows of some sites."""
    keep = set(sites)
    return [row for row in rows if row[0] in keep]


def history_parts(
    history: History,
    profiles: Mapping[str, Profile] | None,
    bucket: str | pd.Timedelta,
    start: Instant | None,
    end: Instant | None,
    reference_s: float,
) -> Parts:
    """Compute the parts of :func:`cadence` with DuckDB (module documentation)."""
    names, first_ts, grid = history_grid(history, bucket, start, end)
    n_sites, count = len(names), grid.count
    if n_sites == 0 or count == 0:
        return _no_parts(names, grid)
    number = pd.Series(np.arange(n_sites), index=pd.Index(names, dtype="str"))
    size = n_sites * count
    cells = history.sql(q.beacon_cells(grid.bounds()))
    at = number[cells["site"].astype(str)].to_numpy() * count + cells["k"].to_numpy(np.int64)
    n_beacons = np.zeros(size, np.int64)
    n_beats = np.zeros(size, np.int64)
    n_beacons[at] = cells["beacons"].to_numpy(np.int64)
    n_beats[at] = cells["heartbeats"].to_numpy(np.int64)

    gaps = _history_gaps(history, profiles)
    parts = [
        history.sql(
            q.interval_stats(
                group, grid.bounds(), reference_ns=int(reference_s * NS), gaps=_of(gaps, group)
            )
        )
        for group in site_groups(history)
    ]
    found = pd.concat(parts, ignore_index=True)
    site = number[found["site"].astype(str)].to_numpy()
    is_cell = (found["part"] == "bucket").to_numpy()
    cell_rows = found[is_cell]
    stats = pd.DataFrame(
        {
            "median": cell_rows["median_s"].to_numpy(np.float64),
            "mean": cell_rows["mean_s"].to_numpy(np.float64),
            "max": cell_rows["max_s"].to_numpy(np.float64),
            "p95": cell_rows["p95_s"].to_numpy(np.float64),
        },
        index=site[is_cell] * count + cell_rows["k"].to_numpy(np.int64),
    )
    early = pd.DataFrame(
        {
            "median": found["median_s"][~is_cell].to_numpy(np.float64),
            "size": found["n"][~is_cell].to_numpy(np.int64),
        },
        index=site[~is_cell],
    )
    period_s = periods(history, profiles)["period_s"].reindex(names)
    return Parts(
        names,
        grid,
        first_ts,
        n_beacons,
        n_beats,
        stats.reindex(range(size)),
        early.reindex(range(n_sites)),
        period_s.to_numpy(dtype=np.float64),
    )


def history_intervals(
    history: History,
    profiles: Mapping[str, Profile] | None,
    ranges: list[tuple[str, int, int]],
) -> Intervals:
    """Return the heartbeat intervals of a history that end in some (site, start, end) ranges."""
    wanted = {site for site, _, _ in ranges}
    gaps = _history_gaps(history, profiles)
    parts = []
    for group in site_groups(history):
        picked = [site for site in group if site in wanted]
        if picked:
            query = q.change_intervals(
                picked, [r for r in ranges if r[0] in set(picked)], gaps=_of(gaps, picked)
            )
            parts.append(history.sql(query))
    if not parts:
        none = np.zeros(0, np.int64)
        return Intervals(np.zeros(0, dtype=object), none, none, np.zeros(0))
    found = pd.concat(parts, ignore_index=True)
    names, site = np.unique(found["site"].astype(str).to_numpy(dtype=object), return_inverse=True)
    return Intervals(
        names,
        site.astype(np.int64),
        found["t"].to_numpy(np.int64) * 1000,
        found["gap_s"].to_numpy(np.float64),
    )


def frame_intervals(beacons: pd.DataFrame, profiles: Mapping[str, Profile] | None) -> Intervals:
    """Return every heartbeat interval of a beacon table."""
    beacons = by_site(beacons)
    ts = beacons["ts"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    sites = site_numbers(beacons)
    main = main_event_rows(beacons)
    rows, gap_s = _interval_rows(beacons, profiles, main, sites.dense, sites.names, ts)
    return Intervals(sites.names, sites.dense[rows], ts[rows], gap_s)
