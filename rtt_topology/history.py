"""Aggregate beacon histories per service: counts, sessions, events, first/last seen, intervals.

This module is the aggregation seam of the pipeline: every per-event computation
(counting, intervals between beacons) over the beacon table happens here, with
columnar operations on the sorted table, and returns small per-service tables.
Later stages work on those tables, so a larger engine (SQL over Parquet or JSON
Lines) can take this layer over without changing them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rtt_topology.columns import validate_beacon_frame

__all__ = ["event_counts", "intervals", "service_summary"]


def intervals(beacons: pd.DataFrame) -> pd.DataFrame:
    """Return the interval before each beacon, within its service.

    Parameters
    ----------
    beacons
        A beacon table (sorted by site and ts, as loaders return it).

    Returns
    -------
    pandas.DataFrame
        Columns ``site``, ``ts`` and ``interval_s`` (float seconds since the same
        site's previous beacon; ``NaN`` for a site's first beacon), row-aligned
        with ``beacons``.

    Examples
    --------
    >>> import pandas as pd
    >>> from rtt_topology.columns import empty_beacon_frame
    >>> intervals(empty_beacon_frame()).columns.tolist()
    ['site', 'ts', 'interval_s']
    """
    validate_beacon_frame(beacons)
    codes = beacons["site"].cat.codes.to_numpy()
    ts = beacons["ts"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    delta = np.full(len(ts), np.nan)
    if len(ts) > 1:
        same = codes[1:] == codes[:-1]
        delta[1:] = np.where(same, (ts[1:] - ts[:-1]) / 1e9, np.nan)
    return pd.DataFrame(
        {"site": beacons["site"], "ts": beacons["ts"], "interval_s": delta}, index=beacons.index
    )


def event_counts(beacons: pd.DataFrame) -> pd.DataFrame:
    """Count beacons per service and event.

    Parameters
    ----------
    beacons
        A beacon table.

    Returns
    -------
    pandas.DataFrame
        One row per site (the index), one integer column per event name seen.
    """
    validate_beacon_frame(beacons)
    table = pd.crosstab(beacons["site"].astype("str"), beacons["event"].astype("str"), dropna=False)
    table.index.name = "site"
    table.columns.name = None
    return table.astype("int64")


def service_summary(beacons: pd.DataFrame) -> pd.DataFrame:
    """Summarise each service's beacon history.

    Parameters
    ----------
    beacons
        A beacon table (see :mod:`rtt_topology.columns`).

    Returns
    -------
    pandas.DataFrame
        One row per site, sorted by site, with columns:

        ==================  ================================================
        site                the service, site or cluster
        beacons             number of beacons
        sessions            number of distinct sessions (restarts + 1)
        events              ``{event: count}``, most frequent first
        first_seen          first beacon (UTC)
        last_seen           last beacon (UTC)
        median_interval_s   median seconds between consecutive beacons, any
                            event (``NaN`` with a single beacon)
        ==================  ================================================

    Examples
    --------
    >>> import pandas as pd
    >>> from rtt_topology.columns import empty_beacon_frame
    >>> service_summary(empty_beacon_frame()).columns.tolist()
    ['site', 'beacons', 'sessions', 'events', 'first_seen', 'last_seen', 'median_interval_s']
    """
    gaps = intervals(beacons)
    grouped = beacons.groupby("site", observed=True, sort=True)
    summary = pd.DataFrame(
        {
            "beacons": grouped.size(),
            "sessions": grouped["session"].nunique(),
            "first_seen": grouped["ts"].min(),
            "last_seen": grouped["ts"].max(),
            "median_interval_s": gaps.groupby("site", observed=True, sort=True)[
                "interval_s"
            ].median(),
        }
    )
    counts = event_counts(beacons)
    events = [
        {str(k): int(v) for k, v in counts.loc[site].sort_values(ascending=False).items() if v}
        for site in summary.index.astype(str)
    ]
    summary["events"] = pd.Series(events, index=summary.index, dtype=object)
    summary.index = summary.index.astype("str")
    summary.index.name = "site"
    summary = summary.reset_index()
    columns = [
        "site",
        "beacons",
        "sessions",
        "events",
        "first_seen",
        "last_seen",
        "median_interval_s",
    ]
    summary = summary[columns]
    summary["beacons"] = summary["beacons"].astype("int64")
    summary["sessions"] = summary["sessions"].astype("int64")
    summary["median_interval_s"] = summary["median_interval_s"].astype("float64")
    return summary
