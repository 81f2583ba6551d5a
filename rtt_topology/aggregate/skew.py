"""Measure each service's clock skew from the receipt times a collecting server stored.

A server that stores beacons stamps each with ``received_at``, its own UTC clock at
acceptance; the beacon's ``ts`` is the sender's clock when it sent it. Their
difference, the skew, is

    skew_s = (ts - received_at) in seconds

= (the sender's clock offset from the server's) - (the time in transit). A
positive skew means the service's clock runs ahead of the server's; a service with
a well-set clock shows a small negative skew, the network and queueing delay.
Beacons without ``received_at`` (read from files the service wrote, or from
tables built without that column) have no skew and are left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rtt_topology.aggregate import duck
from rtt_topology.aggregate.engines import Engine, History, engine_input
from rtt_topology.columns import validate_beacon_frame
from rtt_topology.errors import InputError

__all__ = ["SKEW_COLUMNS", "clock_skew", "skew_seconds"]

#: Columns of :func:`clock_skew`, in order.
SKEW_COLUMNS: tuple[str, ...] = ("site", "received", "median_skew_s", "p05_skew_s", "p95_skew_s")


def skew_seconds(beacons: pd.DataFrame | History) -> pd.Series:
    """Return ``ts - received_at`` in seconds for each beacon (``NaN`` without ``received_at``).

    One value per beacon, computed in memory only: for a
    :class:`~rtt_topology.aggregate.engines.History` this raises
    :class:`~rtt_topology.errors.InputError`; :func:`clock_skew` gives the
    per-service figures out of core.

    Parameters
    ----------
    beacons
        A beacon table (see :mod:`rtt_topology.columns`); a table without the
        ``received_at`` column has no skew anywhere.

    Returns
    -------
    pandas.Series
        ``float64``, row-aligned with ``beacons`` (same index).

    Examples
    --------
    >>> from rtt_topology.load import beacons_from_records
    >>> beacons, _ = beacons_from_records([
    ...     {"site": "api", "session": "s", "event": "heartbeat",
    ...      "ts": "2026-01-19T15:00:02Z", "received_at": "2026-01-19T15:00:00.5Z"},
    ...     {"site": "api", "session": "s", "event": "heartbeat", "ts": "2026-01-19T15:00:30Z"},
    ... ])
    >>> skew_seconds(beacons).tolist()
    [1.5, nan]
    """
    if isinstance(beacons, History):
        raise InputError(
            f"skew_seconds() gives one value per beacon, not computed out of core for "
            f"{beacons!r}: use clock_skew() (per service), or skew_seconds(history.frame(sites))"
        )
    validate_beacon_frame(beacons)
    if "received_at" not in beacons.columns:
        return pd.Series(np.nan, index=beacons.index, dtype="float64")
    delta = beacons["ts"] - beacons["received_at"]
    return delta.dt.total_seconds().astype("float64")


def clock_skew(beacons: pd.DataFrame | History, *, engine: Engine = "auto") -> pd.DataFrame:
    """Summarise each service's clock skew over its beacons that have a receipt time.

    The skew of one beacon is ``(ts - received_at)`` in seconds (positive: the
    service's clock runs ahead of the server's; see the module docstring).
    Quantiles interpolate linearly between the sorted skews (pandas' and numpy's
    default): with ``n`` values, quantile ``q`` sits at position ``q * (n - 1)``.

    Parameters
    ----------
    beacons
        A beacon table (see :mod:`rtt_topology.columns`), or a
        :class:`~rtt_topology.aggregate.engines.History`.
    engine
        ``pandas``, ``duckdb``, or ``auto`` (see
        :func:`~rtt_topology.aggregate.engines.choose_engine`).

    Returns
    -------
    pandas.DataFrame
        One row per site with at least one beacon with a ``received_at``, sorted
        by site (no rows when no beacon has one), with columns:

        =============  =====================================================
        site           the service, site or cluster (text)
        received       beacons of the site with a ``received_at`` (int64)
        median_skew_s  median skew, seconds
        p05_skew_s     5th percentile of the skew, seconds
        p95_skew_s     95th percentile of the skew, seconds
        =============  =====================================================

    Examples
    --------
    >>> from rtt_topology.load import beacons_from_records
    >>> beacons, _ = beacons_from_records(
    ...     {"site": site, "session": "s", "event": "heartbeat",
    ...      "ts": f"2026-01-19T15:00:{10 * i:02d}Z",
    ...      "received_at": f"2026-01-19T15:00:{10 * i + lag:02d}Z"}
    ...     for site, lag in (("api", 1), ("db", 3)) for i in range(3)
    ... )
    >>> clock_skew(beacons)
      site  received  median_skew_s  p05_skew_s  p95_skew_s
    0  api         3           -1.0        -1.0        -1.0
    1   db         3           -3.0        -3.0        -3.0
    """
    if isinstance(beacons, pd.DataFrame):
        validate_beacon_frame(beacons)
    with engine_input(beacons, engine) as data:
        if isinstance(data, History):
            return _shaped(duck.skew_stats(data))
    skew = skew_seconds(data)
    known = skew.notna()
    if not known.any():
        return _empty()
    sites = data.loc[known, "site"].astype(str)
    grouped = skew[known].groupby(sites, sort=True)
    table = pd.DataFrame(
        {
            "received": grouped.size().astype("int64"),
            "median_skew_s": grouped.median(),
            "p05_skew_s": grouped.quantile(0.05),
            "p95_skew_s": grouped.quantile(0.95),
        }
    )
    table.index.name = "site"
    return _shaped(table.reset_index())


def _shaped(table: pd.DataFrame) -> pd.DataFrame:
    """Return the per-site skew figures with the columns and dtypes of :data:`SKEW_COLUMNS`."""
    if table.empty:
        return _empty()
    table["site"] = table["site"].astype(str)
    table["received"] = table["received"].astype("int64")
    for name in SKEW_COLUMNS[2:]:
        table[name] = table[name].astype("float64")
    return table[list(SKEW_COLUMNS)]


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site": pd.Series([], dtype=str),
            "received": pd.Series([], dtype="int64"),
            **{name: pd.Series([], dtype="float64") for name in SKEW_COLUMNS[2:]},
        }
    )
