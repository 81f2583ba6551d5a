"""The SQL definitions of heartbeat cadence: beacons, heartbeats and intervals per bucket.

Each function returns the text of one query over the relation ``beacons`` (see
:mod:`rtt_topology.aggregate.engines`); :mod:`rtt_topology.analysis.cadence` runs
them and derives its columns from their small results. The rules are those of the
pandas path (:mod:`rtt_topology.analysis.cadence`), stated once more here in SQL:

- a site's *heartbeats* are the beacons of its main event
  (:func:`~rtt_topology.aggregate.sql.history.main_events`);
- a *heartbeat interval* joins two consecutive heartbeats of one session, in the
  beacon table's order (:data:`~rtt_topology.aggregate.sql.history.ORDER`), with no
  ``startup`` or ``shutdown`` of that session between them and a positive length;
  its seconds are ``CAST(<microseconds> AS DOUBLE) / 1000000``;
- an interval within a collector gap of its site (``gaps``: rows of site, start
  and end in nanoseconds) is dropped: it starts at or after the gap's start and
  ends at or before its end;
- times are compared in nanoseconds (``t * 1000``), so that the bucket grid and the
  bounds are those of the pandas path to the nanosecond: bucket ``k`` of an instant
  is ``(t * 1000 - first) // width``;
- medians and the 95th percentile interpolate linearly, as pandas does: the middle
  value or the mean of the two middle values; the 95th percentile between the values
  of 0-based ranks ``floor(0.95 * (n - 1))`` and the next. Per bucket they are taken
  from ranks (``row_number``), not ``quantile_cont``: DuckDB runs holistic aggregates
  slowly on the output of a window (40 s instead of 6 s for 2.9M intervals).

Queries that order each site's history take ``sites``, the group of sites they run
on; the caller runs them once per group of
:meth:`~rtt_topology.aggregate.engines.History.site_chunks`.
"""

from __future__ import annotations

from collections.abc import Sequence

from rtt_topology.aggregate.engines import sql_text
from rtt_topology.aggregate.sql.history import ORDER, main_events, sites_filter

__all__ = [
    "BREAK_EVENTS",
    "Grid",
    "beacon_cells",
    "change_intervals",
    "examples",
    "interval_stats",
    "site_bounds",
]

#: Events that end or begin a process: no heartbeat interval spans them.
BREAK_EVENTS: tuple[str, ...] = ("startup", "shutdown")

#: A bucket grid in nanoseconds since the epoch: ``(first, width, lo, hi)``, the first
#: bucket's start, the bucket width and the window ``[lo, hi)``.
Grid = tuple[int, int, int, int]

_EXAMPLE_SITES = ("api-gateway", "o'hara")
_EXAMPLE_GRID: Grid = (
    1_768_780_800_000_000_000,
    300_000_000_000,
    1_768_780_800_000_000_000,
    1_768_867_200_000_000_000,
)
_EXAMPLE_GAPS = (("api-gateway", 1_768_790_000_000_000_000, 1_768_791_000_000_000_000),)


def _bucket(grid: Grid, column: str = "t") -> str:
    first, width, _, _ = grid
    return f"({column} * 1000 - {first}) // {width}"


def _inside(grid: Grid, column: str = "t") -> str:
    _, _, lo, hi = grid
    return f"{column} * 1000 >= {lo} AND {column} * 1000 < {hi}"


def _rows(rows: Sequence[tuple[str, int, int]], names: str) -> str:
    """Return ``rows`` of (text, number, number) as a ``VALUES`` relation."""
    values = ", ".join(f"({sql_text(a)}, {int(b)}, {int(c)})" for a, b, c in rows)
    return f"(VALUES {values}) AS {names}"


def _intervals(sites: Sequence[str], gaps: Sequence[tuple[str, int, int]]) -> str:
    """Return the ``WITH`` parts up to ``intervals`` (site, session, t, prev_t, gap_s)."""
    breaks = ", ".join(sql_text(e) for e in BREAK_EVENTS)
    window = f"OVER (PARTITION BY site, session ORDER BY {ORDER})"
    lost = ""
    if gaps:
        lost = (
            " AND NOT EXISTS (SELECT 1 FROM "
            + _rows(gaps, "g(site, lo, hi)")
            + " WHERE g.site = steps.site AND steps.prev_t * 1000 >= g.lo"
            " AND steps.t * 1000 <= g.hi)"
        )
    return (
        f"WITH main AS ({main_events(sites)}), "
        "marks AS (SELECT b.site AS site, b.session AS session, b.event AS event,"
        " b.source AS source, b.line AS line, b.t AS t, b.event = m.event AS beat"
        " FROM beacons AS b JOIN main AS m ON b.site = m.site"
        f" WHERE {sites_filter(sites, 'b.site')}"
        f" AND (b.event = m.event OR b.event IN ({breaks}))), "
        "steps AS (SELECT site, session, t, beat,"
        f" lag(t) {window} AS prev_t, lag(beat) {window} AS prev_beat FROM marks), "
        "intervals AS (SELECT site, session, t, prev_t,"
        " CAST(t - prev_t AS DOUBLE) / 1000000 AS gap_s FROM steps"
        f" WHERE beat AND prev_beat AND t > prev_t{lost})"
    )


def site_bounds() -> str:
    """Each site's first and last beacon: columns ``site``, ``first_t``, ``last_t`` (µs).

    Examples
    --------
    >>> site_bounds()
    'SELECT site, min(t) AS first_t, max(t) AS last_t FROM beacons GROUP BY site'
    """
    return "SELECT site, min(t) AS first_t, max(t) AS last_t FROM beacons GROUP BY site"


def beacon_cells(grid: Grid) -> str:
    """Beacons and heartbeats of each site per bucket of the window.

    Columns ``site``, ``k`` (the bucket's number), ``beacons``, ``heartbeats``;
    only the cells with beacons. A plain grouping: it runs over the whole history.

    Examples
    --------
    >>> "GROUP BY b.site" in beacon_cells((0, 60_000_000_000, 0, 600_000_000_000))
    True
    """
    k = _bucket(grid, "b.t")
    return (
        f"WITH main AS ({main_events(None)}) "
        f"SELECT b.site AS site, {k} AS k, count(*) AS beacons,"
        " sum(CASE WHEN b.event = m.event THEN 1 ELSE 0 END) AS heartbeats"
        " FROM beacons AS b JOIN main AS m ON b.site = m.site"
        f" WHERE {_inside(grid, 'b.t')} GROUP BY b.site, {k}"
    )


def interval_stats(
    sites: Sequence[str],
    grid: Grid,
    *,
    reference_ns: int,
    gaps: Sequence[tuple[str, int, int]] = (),
) -> str:
    """Heartbeat interval statistics per site and bucket, and per site at its start.

    Rows with ``part = 'bucket'``: ``site``, ``k``, ``n`` (intervals ending in the
    bucket), ``median_s``, ``mean_s``, ``p95_s``, ``max_s``. Rows with
    ``part = 'early'``: ``site``, ``n`` and ``median_s`` of the intervals ending
    before ``reference_ns`` after the site's first beacon (any event), the other
    columns null.

    Examples
    --------
    >>> query = interval_stats(["api"], (0, 60_000_000_000, 0, 600_000_000_000),
    ...                        reference_ns=3_600_000_000_000)
    >>> "row_number() OVER (PARTITION BY site, k ORDER BY gap_s)" in query
    True
    """
    k = _bucket(grid)
    lo, hi = "floor(at95) + 1", "floor(at95) + 2"
    return (
        _intervals(sites, gaps) + ", firsts AS (SELECT site, min(t) AS first_t FROM beacons"
        f" WHERE {sites_filter(sites)} GROUP BY site), "
        f"cells AS (SELECT site, {k} AS k, gap_s FROM intervals WHERE {_inside(grid)}), "
        "ranked AS (SELECT site, k, gap_s,"
        " row_number() OVER (PARTITION BY site, k ORDER BY gap_s) AS r,"
        " count(*) OVER (PARTITION BY site, k) AS n FROM cells), "
        "placed AS (SELECT site, k, gap_s, r, n, CAST(0.95 AS DOUBLE) * (n - 1) AS at95"
        " FROM ranked), "
        "ends AS (SELECT site, k, n,"
        " avg(CASE WHEN r = (n + 1) // 2 OR r = n // 2 + 1 THEN gap_s END) AS median_s,"
        " avg(gap_s) AS mean_s, max(gap_s) AS max_s,"
        f" max(CASE WHEN r = {lo} THEN gap_s END) AS p95_lo,"
        f" max(CASE WHEN r = {hi} THEN gap_s END) AS p95_hi,"
        " max(at95 - floor(at95)) AS p95_frac FROM placed GROUP BY site, k, n) "
        "SELECT 'bucket' AS part, site, k, n, median_s, mean_s,"
        " p95_lo + (coalesce(p95_hi, p95_lo) - p95_lo) * p95_frac AS p95_s, max_s FROM ends "
        "UNION ALL "
        "SELECT 'early' AS part, i.site AS site, CAST(NULL AS BIGINT) AS k, count(*) AS n,"
        " quantile_cont(i.gap_s, 0.5) AS median_s, CAST(NULL AS DOUBLE) AS mean_s,"
        " CAST(NULL AS DOUBLE) AS p95_s, CAST(NULL AS DOUBLE) AS max_s"
        " FROM intervals AS i JOIN firsts AS f ON i.site = f.site"
        f" WHERE i.t * 1000 < f.first_t * 1000 + {int(reference_ns)} GROUP BY i.site"
    )


def change_intervals(
    sites: Sequence[str],
    ranges: Sequence[tuple[str, int, int]],
    *,
    gaps: Sequence[tuple[str, int, int]] = (),
) -> str:
    """Return the heartbeat intervals of some sites that end in some ranges of time.

    ``ranges`` are rows of site, start and end (nanoseconds, end excluded). Columns
    ``site``, ``t`` (the interval's end, microseconds) and ``gap_s``, ordered by
    site, end and session.

    Examples
    --------
    >>> change_intervals(["api"], [("api", 0, 600_000_000_000)]).count("VALUES")
    1
    """
    return (
        _intervals(sites, gaps)
        + " SELECT i.site AS site, i.t AS t, i.gap_s AS gap_s FROM intervals AS i"
        " WHERE EXISTS (SELECT 1 FROM "
        + _rows(ranges, "r(site, lo, hi)")
        + " WHERE r.site = i.site AND i.t * 1000 >= r.lo AND i.t * 1000 < r.hi)"
        " ORDER BY i.site, i.t, i.session"
    )


def examples() -> dict[str, str]:
    """Every query of this module, rendered with typical parameters.

    Examples
    --------
    >>> sorted(examples())  # doctest: +NORMALIZE_WHITESPACE
    ['beacon_cells', 'change_intervals', 'interval_stats', 'interval_stats_gaps',
     'site_bounds']
    """
    sites = list(_EXAMPLE_SITES)
    ranges = [("api-gateway", _EXAMPLE_GRID[2], _EXAMPLE_GRID[3])]
    return {
        "beacon_cells": beacon_cells(_EXAMPLE_GRID),
        "change_intervals": change_intervals(sites, ranges, gaps=_EXAMPLE_GAPS),
        "interval_stats": interval_stats(sites, _EXAMPLE_GRID, reference_ns=3_600_000_000_000),
        "interval_stats_gaps": interval_stats(
            sites, _EXAMPLE_GRID, reference_ns=3_600_000_000_000, gaps=_EXAMPLE_GAPS
        ),
        "site_bounds": site_bounds(),
    }
