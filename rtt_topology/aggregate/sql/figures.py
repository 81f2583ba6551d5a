"""The SQL behind the report's heartbeat figures and readiness: per-site and per-bucket tables.

Both queries read the relation ``beacons`` (:mod:`rtt_topology.aggregate.engines`)
and return small tables that the plots take instead of a beacon table:

- :func:`bucket_counts`: beacons per site and time bucket (any event), buckets
  aligned on the epoch as :meth:`pandas.Timestamp.floor` aligns them; the
  ``(site, bucket, beacons)`` table that
  :func:`~rtt_topology.plots.plot_heartbeat_frequency` draws.
- :func:`interval_sample`: the interval before each beacon of some sites (the
  intervals of :func:`~rtt_topology.aggregate.history.intervals`, whose values
  depend on the times only). The window function runs over whole site histories:
  give it a sample of sites, or run it per chunk of sites.
- :func:`last_seen`: each site's last beacon.
"""

from __future__ import annotations

from collections.abc import Sequence

from rtt_topology.aggregate.engines import sql_text

__all__ = ["bucket_counts", "examples", "interval_sample", "last_seen"]


def bucket_counts(width_us: int) -> str:
    """Return the query of beacons per site and bucket of ``width_us`` microseconds.

    Columns ``site``, ``bucket_us`` (the bucket's start, µs since the epoch) and
    ``beacons``, sorted by site and bucket.

    Examples
    --------
    >>> "GROUP BY" in bucket_counts(300_000_000)
    True
    """
    if width_us < 1:
        raise ValueError(f"width_us must be positive, not {width_us}")
    return (
        f"SELECT site, CAST(floor(t / {width_us}) AS BIGINT) * {width_us} AS bucket_us, "
        "count(*) AS beacons FROM beacons WHERE site IS NOT NULL "
        "GROUP BY 1, 2 ORDER BY 1, 2"
    )


def interval_sample(sites: Sequence[str]) -> str:
    """Return the query of the intervals before the beacons of ``sites``.

    Columns ``site`` and ``interval_s`` (seconds since the same site's previous
    beacon; a site's first beacon has none and gives no row), sorted by site.

    Examples
    --------
    >>> "lag(t)" in interval_sample(["api", "db"])
    True
    """
    names = ", ".join(sql_text(s) for s in sites) or "NULL"
    return (
        "SELECT site, interval_s FROM ("
        "SELECT site, (t - lag(t) OVER (PARTITION BY site ORDER BY t)) / 1000000.0 AS interval_s "
        f"FROM beacons WHERE site IN ({names})) AS timed "
        "WHERE interval_s IS NOT NULL ORDER BY site"
    )


def last_seen() -> str:
    """Return the query of each site's last beacon: ``site``, ``last_us`` (µs), by site.

    Examples
    --------
    >>> "max(t)" in last_seen()
    True
    """
    return (
        "SELECT site, max(t) AS last_us FROM beacons WHERE site IS NOT NULL "
        "GROUP BY site ORDER BY site"
    )


def examples() -> dict[str, str]:
    """Return every query of this module, rendered with typical parameters.

    Examples
    --------
    >>> sorted(examples())
    ['bucket_counts', 'interval_sample', 'last_seen']
    """
    return {
        "bucket_counts": bucket_counts(300_000_000),
        "interval_sample": interval_sample(["api", "db"]),
        "last_seen": last_seen(),
    }
