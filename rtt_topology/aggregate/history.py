"""Aggregate beacon histories per service: counts, sessions, events, first/last seen, intervals.

This module is the aggregation seam of the pipeline: every per-event computation
(counting, intervals between beacons) over the beacon table happens here and
returns small per-service tables. Each function takes a beacon table or a
:class:`~rtt_topology.aggregate.engines.History` and an ``engine``: pandas runs
columnar operations on the sorted table in memory; DuckDB runs the SQL
definitions of :mod:`rtt_topology.aggregate.sql.history` out of core
(:mod:`rtt_topology.aggregate.duck`), in groups of whole sites where a query
orders each site's beacons. Both return the same table (same columns, dtypes,
index and order; floats to rounding), so later stages never know which ran.

Two functions answer one row per beacon, :func:`intervals` and
:func:`~rtt_topology.aggregate.skew.skew_seconds`: their result is as large as
the history, so they refuse a ``History`` (with an
:class:`~rtt_topology.errors.InputError` naming the per-service aggregate to use)
rather than bring it into memory. :func:`main_event_rows`, one boolean per
beacon, is computed on DuckDB and aligned with
:meth:`~rtt_topology.aggregate.engines.History.frame`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from rtt_topology._memo import memoized
from rtt_topology.aggregate import duck
from rtt_topology.aggregate.engines import Engine, History, engine_input
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
    "site_sources",
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


def intervals(beacons: pd.DataFrame | History) -> pd.DataFrame:
    """Return the interval before each beacon, within its service.

    The result has one row per beacon, as large as the table: it is computed in
    memory only. For a :class:`~rtt_topology.aggregate.engines.History` this
    raises :class:`~rtt_topology.errors.InputError`: take the per-service
    aggregates instead (``median_interval_s`` of :func:`service_summary`, the
    inferred :func:`periods`), or the intervals of a few sites with
    ``intervals(history.frame(sites))``.

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
    if isinstance(beacons, History):
        raise InputError(
            f"intervals() gives one row per beacon, not computed out of core for {beacons!r}: "
            "use service_summary() or periods() (per service), or intervals(history.frame(sites))"
        )
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


def event_counts(beacons: pd.DataFrame | History, *, engine: Engine = "auto") -> pd.DataFrame:
    """Count beacons per service and event.

    Parameters
    ----------
    beacons
        A beacon table, or a :class:`~rtt_topology.aggregate.engines.History`.
    engine
        ``pandas``, ``duckdb``, or ``auto`` (see
        :func:`~rtt_topology.aggregate.engines.choose_engine`).

    Returns
    -------
    pandas.DataFrame
        One row per site (the index), one integer column per event name seen.

    Examples
    --------
    >>> from rtt_topology.load import beacons_from_records
    >>> beacons, _ = beacons_from_records(
    ...     {"site": "api", "session": "s1", "event": e, "ts": f"2026-01-19T15:0{i}:00Z"}
    ...     for i, e in enumerate(["startup", "heartbeat", "heartbeat"])
    ... )
    >>> event_counts(beacons, engine="duckdb")
          heartbeat  startup
    site
    api           2        1
    """
    if isinstance(beacons, pd.DataFrame):
        validate_beacon_frame(beacons)
    pairs = event_pairs(beacons, engine=engine)
    table = pairs.unstack("event", fill_value=0).sort_index().sort_index(axis=1)
    table.columns.name = None
    return table.astype("int64")


def event_pairs(beacons: pd.DataFrame | History, *, engine: Engine = "auto") -> pd.Series:
    r"""Count beacons per (site, event) pair seen: the long form of :func:`event_counts`.

    Grouping the columns as they are (categorical codes) and converting only the
    few keys to text keeps this linear in the rows, without a text copy of each
    column; a missing event counts as ``"nan"``.

    Parameters
    ----------
    beacons
        A beacon table, or a :class:`~rtt_topology.aggregate.engines.History`.
    engine
        ``pandas``, ``duckdb``, or ``auto`` (see
        :func:`~rtt_topology.aggregate.engines.choose_engine`).

    Returns
    -------
    pandas.Series
        ``int64`` counts indexed by ``(site, event)`` as text, pairs seen only,
        sorted by site then event.

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
    with engine_input(beacons, engine) as data:
        if isinstance(data, History):
            return duck.event_pairs(data)
    counts = data.groupby(["site", "event"], observed=True, dropna=False).size()
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


def service_summary(beacons: pd.DataFrame | History, *, engine: Engine = "auto") -> pd.DataFrame:
    """Summarise each service's beacon history.

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
    if isinstance(beacons, pd.DataFrame):
        validate_beacon_frame(beacons)
    with engine_input(beacons, engine) as data:
        if isinstance(data, History):
            stats, pairs = duck.summary_stats(data), duck.event_pairs(data)
        else:
            stats, pairs = _summary_stats(data), event_pairs(data, engine="pandas")
    table = pairs.reset_index(name="count")
    table = table.sort_values(["site", "count", "event"], ascending=[True, False, True])
    by_site: dict[str, dict[str, int]] = {}
    for site, event, count in table.itertuples(index=False):
        by_site.setdefault(site, {})[event] = int(count)
    summary = stats.copy()
    summary["events"] = pd.Series(
        [by_site.get(site, {}) for site in summary.index], index=summary.index, dtype=object
    )
    summary = summary.reset_index()
    summary = summary[
        [
            "site",
            "beacons",
            "sessions",
            "events",
            "first_seen",
            "last_seen",
            "median_interval_s",
            "median_skew_s",
        ]
    ]
    return summary.astype(
        {
            "beacons": "int64",
            "sessions": "int64",
            "median_interval_s": "float64",
            "median_skew_s": "float64",
        }
    )


def _summary_stats(beacons: pd.DataFrame) -> pd.DataFrame:
    """Return the summary's per-site figures but events, indexed by ``site`` as text."""
    gaps = intervals(beacons)
    skew = skew_seconds(beacons)
    grouped = beacons.groupby("site", observed=True, sort=True)
    stats = pd.DataFrame(
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
    stats.index = stats.index.astype("str")
    stats.index.name = "site"
    return stats


def site_sources(beacons: pd.DataFrame | History, *, engine: Engine = "auto") -> pd.DataFrame:
    """Return the (site, source) pairs seen: which collector files carry each service.

    Parameters
    ----------
    beacons
        A beacon table, or a :class:`~rtt_topology.aggregate.engines.History`.
    engine
        ``pandas``, ``duckdb``, or ``auto`` (see
        :func:`~rtt_topology.aggregate.engines.choose_engine`).

    Returns
    -------
    pandas.DataFrame
        Columns ``site`` and ``source`` (text), one row per pair, sorted by site
        then source.

    Examples
    --------
    >>> from rtt_topology.load import beacons_from_records
    >>> beacons, _ = beacons_from_records(
    ...     [{"site": "api", "session": "s", "event": "heartbeat", "ts": "2026-01-19T15:00:00Z"}]
    ... )
    >>> site_sources(beacons)["site"].tolist()
    ['api']
    """
    if isinstance(beacons, pd.DataFrame):
        validate_beacon_frame(beacons)
    with engine_input(beacons, engine) as data:
        if isinstance(data, History):
            return duck.site_sources(data)
    pairs = data.groupby(["site", "source"], observed=True, sort=True).size().index
    return pd.DataFrame(
        {
            "site": pairs.get_level_values(0).astype("str"),
            "source": pairs.get_level_values(1).astype("str"),
        }
    )


def cluster_sites(beacons: pd.DataFrame | History, *, engine: Engine = "auto") -> list[str]:
    """Return the sites that send nothing but ``cluster_heartbeat`` beacons (clusters).

    Parameters
    ----------
    beacons
        A beacon table, or a :class:`~rtt_topology.aggregate.engines.History`.
    engine
        ``pandas``, ``duckdb``, or ``auto`` (see
        :func:`~rtt_topology.aggregate.engines.choose_engine`).

    Returns
    -------
    list of str
        Sorted.

    Examples
    --------
    >>> from rtt_topology.columns import empty_beacon_frame
    >>> cluster_sites(empty_beacon_frame())
    []
    """
    with engine_input(beacons, engine) as data:
        if isinstance(data, History):
            return duck.cluster_sites(data)
        return _cluster_sites(data)


def _cluster_sites(beacons: pd.DataFrame) -> list[str]:
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
    beacons: pd.DataFrame | History,
    profiles: Mapping[str, Profile] | None = None,
    *,
    default_s: float = DEFAULT_PERIOD_S,
    engine: Engine = "auto",
) -> pd.DataFrame:
    """Return each service's beacon period: declared, inferred, or the default.

    The period is the profile's ``heartbeat_interval_s`` when there is one; else
    the median interval between consecutive beacons of the service's most frequent
    event (``heartbeat`` for most services), counting only intervals inside one
    session, when there are at least three; else ``default_s``.

    Parameters
    ----------
    beacons
        A beacon table, or a :class:`~rtt_topology.aggregate.engines.History`.
    profiles
        Profiles keyed by site; declared services without beacons are included.
    default_s
        The period when nothing else tells.
    engine
        ``pandas``, ``duckdb``, or ``auto`` (see
        :func:`~rtt_topology.aggregate.engines.choose_engine`).

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
    if isinstance(beacons, pd.DataFrame):
        validate_beacon_frame(beacons)
    if default_s <= 0:
        raise InputError(f"default_s must be positive, not {default_s}")
    with engine_input(beacons, engine) as data:
        if isinstance(data, History):
            seen, stats = duck.period_stats(data)
            inferred = {s: m for s, (m, n) in stats.items() if n >= MIN_INTERVALS}
        else:
            seen, inferred = _inferred_periods(data)
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


def _inferred_periods(beacons: pd.DataFrame) -> tuple[list[str], dict[str, float]]:
    """Return the sites seen, and the periods inferred from their main-event intervals."""
    if not len(beacons):
        return [], {}
    inferred: dict[str, float] = {}
    site = beacons["site"].cat.codes.to_numpy()
    session = beacons["session"].cat.codes.to_numpy()
    rows = np.flatnonzero(main_event_rows(beacons, engine="pandas"))
    ts = beacons["ts"].to_numpy(dtype="datetime64[ns]").view(np.int64)[rows]
    same = (site[rows][1:] == site[rows][:-1]) & (session[rows][1:] == session[rows][:-1])
    gaps = pd.DataFrame({"site": site[rows][1:][same], "gap": (ts[1:] - ts[:-1])[same] / 1e9})
    stats = gaps[gaps["gap"] > 0].groupby("site")["gap"].agg(["median", "size"])
    names = beacons["site"].cat.categories
    for code, median, size in stats.itertuples():
        if size >= MIN_INTERVALS:
            inferred[str(names[code])] = float(median)
    return [str(names[c]) for c in np.unique(site)], inferred


@memoized(copy=True)
def main_event_rows(beacons: pd.DataFrame | History, *, engine: Engine = "auto") -> np.ndarray:
    """Return the mask of the beacons of each site's most frequent event (its heartbeat).

    Ties go to the event that sorts first.

    Parameters
    ----------
    beacons
        A beacon table, or a :class:`~rtt_topology.aggregate.engines.History`.
    engine
        ``pandas``, ``duckdb``, or ``auto`` (see
        :func:`~rtt_topology.aggregate.engines.choose_engine`).

    Returns
    -------
    numpy.ndarray
        Booleans, row-aligned with the beacon table (for a ``History``, with
        :meth:`~rtt_topology.aggregate.engines.History.frame`).

    Examples
    --------
    >>> from rtt_topology.columns import empty_beacon_frame
    >>> main_event_rows(empty_beacon_frame()).tolist()
    []
    """
    with engine_input(beacons, engine) as data:
        if isinstance(data, History):
            return duck.main_event_rows(data)
    site = data["site"].cat.codes.to_numpy().astype(np.int64)
    event = data["event"].cat.codes.to_numpy().astype(np.int64)
    if not len(site):
        return np.zeros(0, dtype=bool)
    n_events = max(len(data["event"].cat.categories), 1)
    counts = np.bincount(site * n_events + event, minlength=(int(site.max()) + 1) * n_events)
    return np.asarray(event == counts.reshape(-1, n_events).argmax(axis=1)[site])


@memoized(copy=True)
def restarts(beacons: pd.DataFrame | History, *, engine: Engine = "auto") -> pd.DataFrame:
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
        A beacon table (sorted by site and ts, as loaders return it), or a
        :class:`~rtt_topology.aggregate.engines.History`.
    engine
        ``pandas``, ``duckdb``, or ``auto`` (see
        :func:`~rtt_topology.aggregate.engines.choose_engine`).

    Returns
    -------
    pandas.DataFrame
        ``site``, ``ts``, ``session``, ``reason`` (``new session`` or ``startup``),
        sorted by site and ts. ``site`` and ``session`` are categoricals over the
        table's categories (for a ``History``, its sites and sessions, sorted).

    Examples
    --------
    >>> from rtt_topology.columns import empty_beacon_frame
    >>> restarts(empty_beacon_frame()).columns.tolist()
    ['site', 'ts', 'session', 'reason']
    """
    if isinstance(beacons, pd.DataFrame):
        validate_beacon_frame(beacons)
    with engine_input(beacons, engine) as data:
        if isinstance(data, History):
            return duck.restarts(data, LIFECYCLE_EVENTS)
    columns = ["site", "ts", "session", "reason"]
    if data.empty:
        return pd.DataFrame(
            {c: pd.Series([], dtype=data[c].dtype if c != "reason" else "str") for c in columns}
        )
    names = data["event"].cat.categories
    event = data["event"].cat.codes.to_numpy()
    lifecycle = np.flatnonzero(names.isin(sorted(LIFECYCLE_EVENTS)))
    rows = np.flatnonzero(main_event_rows(data, engine="pandas") | np.isin(event, lifecycle))
    site = data["site"].cat.codes.to_numpy()[rows]
    session = data["session"].cat.codes.to_numpy()[rows]
    startup = event[rows] == (names.get_loc(_STARTUP) if _STARTUP in names else -2)
    first_of_site = np.concatenate([[True], site[1:] != site[:-1]])
    # First beacon of each (site, session), in time order.
    key = pd.Series(site.astype(np.int64) << 32 | session.astype(np.int64))
    first_of_session = ~key.duplicated().to_numpy()
    new_session = first_of_session & ~first_of_site
    restart = new_session | (startup & ~first_of_session)
    picked = data[["site", "ts", "session"]].iloc[rows[restart]].copy()
    picked["reason"] = np.where(new_session[restart], "new session", "startup")
    result: pd.DataFrame = picked.reset_index(drop=True)
    return result
