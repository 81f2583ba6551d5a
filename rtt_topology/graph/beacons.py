"""What the service graph reads from beacons: the services' summary, clusters, collectors.

:func:`beacon_facts` reads a beacon table or a
:class:`~rtt_topology.aggregate.engines.History` through the aggregates only (the
per-service summary, the cluster sites and the distinct (site, source) pairs), so a
history store is never loaded; :func:`narrowed_history` restricts a history to a
window or to some sites.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from rtt_topology._timestamps import Instant, aware_utc

if TYPE_CHECKING:
    from rtt_topology.aggregate.engines import Engine, History

__all__ = ["beacon_facts", "narrowed_history"]


@contextmanager
def narrowed_history(
    history: History,
    *,
    start: Instant | None = None,
    end: Instant | None = None,
    sites: Sequence[str] | None = None,
) -> Iterator[History]:
    """Yield ``history`` restricted to ``start <= ts < end`` and ``sites``.

    The history itself when nothing narrows it; otherwise a new
    :class:`~rtt_topology.aggregate.engines.History` over the same store (or table),
    with the same memory limit and threads, closed on exit.

    Examples
    --------
    >>> from rtt_topology.aggregate.engines import History
    >>> from rtt_topology.load import beacons_from_records
    >>> table, _ = beacons_from_records(
    ...     {"site": s, "session": "s1", "event": "heartbeat", "ts": "2026-01-19T15:00:00Z"}
    ...     for s in ("api", "db")
    ... )
    >>> with History.from_frame(table) as history, narrowed_history(history, sites=["db"]) as h:
    ...     len(history), len(h)
    (2, 1)
    """
    from rtt_topology.aggregate.engines import History

    lo, hi = history.start, history.end
    first, last = aware_utc(start, "start"), aware_utc(end, "end")
    if first is not None:
        lo = pd.Timestamp(first) if lo is None else max(lo, pd.Timestamp(first))
    if last is not None:
        hi = pd.Timestamp(last) if hi is None else min(hi, pd.Timestamp(last))
    names = history.sites
    if sites is not None:
        wanted = {str(s) for s in sites}
        names = tuple(sorted(wanted if names is None else wanted & set(names)))
    if (lo, hi, names) == (history.start, history.end, history.sites):
        yield history
        return
    if lo is not None and hi is not None and lo >= hi:
        # An empty window: keep the history's shape, with no beacon in it.
        hi, names = lo + pd.Timedelta(microseconds=1), ()
    setting = history.sql(
        "SELECT current_setting('memory_limit') AS memory, current_setting('threads') AS threads"
    )
    options: dict[str, Any] = {
        "start": lo,
        "end": hi,
        "sites": names,
        "memory_limit": str(setting["memory"].iloc[0]),
        "threads": int(setting["threads"].iloc[0]),
    }
    if history.store is not None:
        narrowed = History.from_store(history.store, **options)
    else:
        narrowed = History.from_frame(history.frame(), **options)
    with narrowed:
        yield narrowed


def _site_source_pairs(beacons: pd.DataFrame | History) -> list[tuple[str, str]]:
    """Return the distinct (site, source) pairs of a beacon table or history, as text."""
    if isinstance(beacons, pd.DataFrame):
        pairs = beacons[["site", "source"]].drop_duplicates().astype(str).drop_duplicates()
    else:
        from rtt_topology.aggregate.history import site_sources

        pairs = site_sources(beacons)[["site", "source"]].astype(str).drop_duplicates()
    return [(str(site), str(source)) for site, source in pairs.itertuples(index=False)]


def _collected_with(beacons: pd.DataFrame | History, clusters: list[str]) -> dict[str, str]:
    """Service to cluster, when the service's beacons share files with one cluster only.

    A collector per cluster writes one file: a cluster's heartbeats and its
    services' beacons then arrive together.
    """
    if not clusters or not len(beacons):
        return {}
    pairs = _site_source_pairs(beacons)
    cluster_set = set(clusters)
    cluster_of_file: dict[str, set[str]] = {}
    for site, source in pairs:
        if site in cluster_set:
            cluster_of_file.setdefault(source, set()).add(site)
    candidates: dict[str, set[str]] = {}
    for site, source in pairs:
        if site not in cluster_set:
            candidates.setdefault(site, set()).update(cluster_of_file.get(source, set()))
    return {site: next(iter(c)) for site, c in candidates.items() if len(c) == 1}


def beacon_facts(
    beacons: pd.DataFrame | History,
    start: datetime | None,
    end: datetime | None,
    engine: Engine,
) -> tuple[pd.DataFrame, list[str], dict[str, str]]:
    """Return the services' summary, the clusters and the collector of each service.

    Parameters
    ----------
    beacons
        A beacon table or a history.
    start, end
        The window, ``start <= ts < end`` (``None``: open).
    engine
        ``"pandas"``, ``"duckdb"`` or ``"auto"``.

    Returns
    -------
    tuple
        The :func:`~rtt_topology.aggregate.history.service_summary` of the services
        (clusters left out), the clusters (sites that send only
        ``cluster_heartbeat``), and service to cluster where the service's beacons
        share their files with one cluster only.

    Examples
    --------
    >>> from rtt_topology.columns import empty_beacon_frame
    >>> summary, clusters, collectors = beacon_facts(empty_beacon_frame(), None, None, "duckdb")
    >>> len(summary), clusters, collectors
    (0, [], {})
    """
    from rtt_topology.aggregate.engines import History, engine_input
    from rtt_topology.aggregate.history import cluster_sites, service_summary
    from rtt_topology.columns import validate_beacon_frame

    if isinstance(beacons, pd.DataFrame):
        validate_beacon_frame(beacons)
    with engine_input(beacons, engine) as data:
        if isinstance(data, History):
            with narrowed_history(data, start=start, end=end) as history:
                clusters = cluster_sites(history)
                # The summary is per site: a cluster's rows only add its own row.
                summary = service_summary(history)
                summary = summary[~summary["site"].astype(str).isin(clusters)]
                return summary.reset_index(drop=True), clusters, _collected_with(history, clusters)
        table = data
        if start or end:
            table = table[_in_window(table["ts"], start, end)]
        clusters = cluster_sites(table)
        services = table[~table["site"].astype(str).isin(clusters)]
        return service_summary(services), clusters, _collected_with(table, clusters)


def _in_window(times: pd.Series, start: datetime | None, end: datetime | None) -> pd.Series:
    keep = pd.Series(True, index=times.index)
    if start is not None:
        keep &= times >= start
    if end is not None:
        keep &= times < end
    return keep
