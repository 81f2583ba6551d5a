"""Aggregate beacon histories per service: counts, sessions, events, first/last seen, intervals.

This module is the aggregation seam of the pipeline: every per-event computation
(counting, intervals between beacons) over the beacon table happens here, with
columnar operations on the sorted table, and returns small per-service tables.
Later stages work on those tables, so a larger engine (SQL over Parquet or JSON
Lines) can take this layer over without changing them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from rtt_topology._memo import memoized
from rtt_topology.aggregate.skew import skew_seconds
from rtt_topology.columns import validate_beacon_frame
from rtt_topology.errors import InputError
from rtt_topology.schemas import Profile

__all__ = [
    "DEFAULT_PERIOD_S",
    "LIFECYCLE_EVENTS",
    "cluster_sites",
    "event_counts",
    "event_pairs",
    "intervals",
    "main_event_rows",
    "periods",
    "restarts",
    "service_summary",
]

#: The beacon period assumed when neither a profile nor the data give one, seconds.
DEFAULT_PERIOD_S = 60.0
#: Fewest intervals needed to infer a service's period from its beacons.
MIN_INTERVALS = 3
_CLUSTER_EVENT = "cluster_heartbeat"
_STARTUP = "startup"
#: Events that speak of the process, not of a visitor: they carry service sessions.
LIFECYCLE_EVENTS = frozenset(
    {"startup", "shutdown", "config_change", "deploy_start", "deploy_finish"}
)


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
    table = event_pairs(beacons).unstack("event", fill_value=0).sort_index().sort_index(axis=1)
    table.columns.name = None
    return table.astype("int64")


def event_pairs(beacons: pd.DataFrame) -> pd.Series:
    r"""Count beacons per (site, event) pair seen: the long form of :func:`event_counts`.

    Grouping the columns as they are (categorical codes) and converting only the
    few keys to text keeps this linear in the rows, without a text copy of each
    column; a missing event counts as ``"nan"``.

    Parameters
    ----------
    beacons
        A beacon table.

    Returns
    -------
    pandas.Series
        ``int64`` counts indexed by ``(site, event)`` as text, pairs seen only.

    Examples
    --------
    >>> from rtt_topology.load import beacons_from_records
    >>> events = ["startup", "heartbeat", "heartbeat", "heartbeat"]
    >>> beacons, _ = beacons_from_records(
    ...     {"site": "api", "session": "s1", "event": e, "ts": f"2026-01-19T15:0{i}:00Z"}
    ...     for i, e in enumerate(events)
    ... )
    >>> event_pairs(beacons).to_dict()
    {('api', 'heartbeat'): 3, ('api', 'startup'): 1}
    """
    counts = beacons.groupby(["site", "event"], observed=True, dropna=False).size()
    counts.index = pd.MultiIndex.from_arrays(
        [
            counts.index.get_level_values(0).astype(str),
            counts.index.get_level_values(1).astype(str),
        ],
        names=["site", "event"],
    )
    # Text keys can repeat when a column mixes values that print alike (a missing
    # event and the text "nan"): add them up.
    return counts.groupby(level=["site", "event"], sort=False).sum().astype("int64")


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
        median_skew_s       median of ``ts - received_at`` in seconds over the
                            beacons with a ``received_at`` (``NaN`` without
                            any); the ``median_skew_s`` of
                            :func:`~rtt_topology.aggregate.clock_skew`
        ==================  ================================================

    Examples
    --------
    >>> import pandas as pd
    >>> from rtt_topology.columns import empty_beacon_frame
    >>> service_summary(empty_beacon_frame()).columns.tolist()  # doctest: +NORMALIZE_WHITESPACE
    ['site', 'beacons', 'sessions', 'events', 'first_seen', 'last_seen', 'median_interval_s',
     'median_skew_s']
    """
    gaps = intervals(beacons)
    skew = skew_seconds(beacons)
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
            "median_skew_s": skew.groupby(beacons["site"], observed=True, sort=True).median(),
        }
    )
    pairs = event_pairs(beacons).reset_index(name="count")
    pairs = pairs.sort_values(["site", "count", "event"], ascending=[True, False, True])
    by_site: dict[str, dict[str, int]] = {}
    for site, event, count in pairs.itertuples(index=False):
        by_site.setdefault(site, {})[event] = int(count)
    summary.index = summary.index.astype("str")
    summary["events"] = pd.Series(
        [by_site.get(site, {}) for site in summary.index], index=summary.index, dtype=object
    )
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
        "median_skew_s",
    ]
    summary = summary[columns]
    summary["beacons"] = summary["beacons"].astype("int64")
    summary["sessions"] = summary["sessions"].astype("int64")
    summary["median_interval_s"] = summary["median_interval_s"].astype("float64")
    summary["median_skew_s"] = summary["median_skew_s"].astype("float64")
    return summary


def cluster_sites(beacons: pd.DataFrame) -> list[str]:
    """Return the sites that send nothing but ``cluster_heartbeat`` beacons (clusters).

    Examples
    --------
    >>> from rtt_topology.columns import empty_beacon_frame
    >>> cluster_sites(empty_beacon_frame())
    []
    """
    validate_beacon_frame(beacons)
    events = beacons["event"].cat.categories
    if beacons.empty or _CLUSTER_EVENT not in events:
        return []
    sites = beacons["site"].cat.categories
    site = beacons["site"].cat.codes.to_numpy()
    cluster = beacons["event"].cat.codes.to_numpy() == events.get_loc(_CLUSTER_EVENT)
    total = np.bincount(site, minlength=len(sites))
    only = (total > 0) & (total == np.bincount(site[cluster], minlength=len(sites)))
    return sorted(str(name) for name in sites[only])


@memoized(copy=True)
def periods(
    beacons: pd.DataFrame,
    profiles: Mapping[str, Profile] | None = None,
    *,
    default_s: float = DEFAULT_PERIOD_S,
) -> pd.DataFrame:
    """Return each service's beacon period: declared, inferred, or the default.

    The period is the profile's ``heartbeat_interval_s`` when there is one; else
    the median interval between consecutive beacons of the service's most frequent
    event (``heartbeat`` for most services), counting only intervals inside one
    session, when there are at least three; else ``default_s``.

    Parameters
    ----------
    beacons
        A beacon table.
    profiles
        Profiles keyed by site; declared services without beacons are included.
    default_s
        The period when nothing else tells.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``site`` (sorted): ``period_s`` (float) and ``period_from``
        (``declared``, ``inferred`` or ``default``).

    Examples
    --------
    >>> from rtt_topology.columns import empty_beacon_frame
    >>> from rtt_topology.schemas import Profile
    >>> periods(empty_beacon_frame(), {"api": Profile(rtt_version="1", supports=[],
    ...                                               heartbeat_interval_s=30)})
          period_s period_from
    site
    api       30.0    declared
    """
    validate_beacon_frame(beacons)
    if default_s <= 0:
        raise InputError(f"default_s must be positive, not {default_s}")
    inferred: dict[str, float] = {}
    if len(beacons):
        site = beacons["site"].cat.codes.to_numpy()
        session = beacons["session"].cat.codes.to_numpy()
        rows = np.flatnonzero(main_event_rows(beacons))
        ts = beacons["ts"].to_numpy(dtype="datetime64[ns]").view(np.int64)[rows]
        same = (site[rows][1:] == site[rows][:-1]) & (session[rows][1:] == session[rows][:-1])
        gaps = pd.DataFrame({"site": site[rows][1:][same], "gap": (ts[1:] - ts[:-1])[same] / 1e9})
        stats = gaps[gaps["gap"] > 0].groupby("site")["gap"].agg(["median", "size"])
        names = beacons["site"].cat.categories
        for code, median, size in stats.itertuples():
            if size >= MIN_INTERVALS:
                inferred[str(names[code])] = float(median)
        seen = [str(names[c]) for c in np.unique(site)]
    else:
        seen = []
    rows_out = []
    for name in sorted(set(seen) | set(profiles or {})):
        declared = (profiles or {}).get(name)
        if declared is not None and declared.heartbeat_interval_s:
            rows_out.append((name, float(declared.heartbeat_interval_s), "declared"))
        elif name in inferred:
            rows_out.append((name, inferred[name], "inferred"))
        else:
            rows_out.append((name, float(default_s), "default"))
    frame = pd.DataFrame(rows_out, columns=["site", "period_s", "period_from"])
    indexed: pd.DataFrame = frame.set_index("site")
    return indexed


@memoized(copy=True)
def main_event_rows(beacons: pd.DataFrame) -> np.ndarray:
    """Return the mask of the beacons of each site's most frequent event (its heartbeat).

    Ties go to the event that sorts first.

    Examples
    --------
    >>> from rtt_topology.columns import empty_beacon_frame
    >>> main_event_rows(empty_beacon_frame()).tolist()
    []
    """
    site = beacons["site"].cat.codes.to_numpy().astype(np.int64)
    event = beacons["event"].cat.codes.to_numpy().astype(np.int64)
    if not len(site):
        return np.zeros(0, dtype=bool)
    n_events = max(len(beacons["event"].cat.categories), 1)
    counts = np.bincount(site * n_events + event, minlength=(int(site.max()) + 1) * n_events)
    return np.asarray(event == counts.reshape(-1, n_events).argmax(axis=1)[site])


@memoized(copy=True)
def restarts(beacons: pd.DataFrame) -> pd.DataFrame:
    """Return the restarts of each service: new sessions and ``startup`` beacons.

    Only the sessions of the service itself count: those of its most frequent
    event (its heartbeat) and of lifecycle events (``startup``, ``shutdown``,
    ``config_change``, ``deploy_*``); a website's visitor sessions (page events)
    are not restarts. A restart is the first beacon of such a session that
    follows another session of the same site, or a ``startup`` beacon inside a
    session (a ``startup`` opening a new session is one restart, not two). A
    site's first session is not a restart: nothing is known before it.

    Parameters
    ----------
    beacons
        A beacon table (sorted by site and ts, as loaders return it).

    Returns
    -------
    pandas.DataFrame
        ``site``, ``ts``, ``session``, ``reason`` (``new session`` or ``startup``),
        sorted by site and ts.

    Examples
    --------
    >>> from rtt_topology.columns import empty_beacon_frame
    >>> restarts(empty_beacon_frame()).columns.tolist()
    ['site', 'ts', 'session', 'reason']
    """
    validate_beacon_frame(beacons)
    columns = ["site", "ts", "session", "reason"]
    if beacons.empty:
        return pd.DataFrame(
            {c: pd.Series([], dtype=beacons[c].dtype if c != "reason" else "str") for c in columns}
        )
    names = beacons["event"].cat.categories
    event = beacons["event"].cat.codes.to_numpy()
    lifecycle = np.flatnonzero(names.isin(sorted(LIFECYCLE_EVENTS)))
    rows = np.flatnonzero(main_event_rows(beacons) | np.isin(event, lifecycle))
    site = beacons["site"].cat.codes.to_numpy()[rows]
    session = beacons["session"].cat.codes.to_numpy()[rows]
    startup = event[rows] == (names.get_loc(_STARTUP) if _STARTUP in names else -2)
    first_of_site = np.concatenate([[True], site[1:] != site[:-1]])
    # First beacon of each (site, session), in time order.
    key = pd.Series(site.astype(np.int64) << 32 | session.astype(np.int64))
    first_of_session = ~key.duplicated().to_numpy()
    new_session = first_of_session & ~first_of_site
    restart = new_session | (startup & ~first_of_session)
    picked = beacons[["site", "ts", "session"]].iloc[rows[restart]].copy()
    picked["reason"] = np.where(new_session[restart], "new session", "startup")
    result: pd.DataFrame = picked.reset_index(drop=True)
    return result
