"""Check each service against the upstream RTT-Inside readiness list, from the data.

Upstream calls a service *RTT-Inside ready* when: the client is configured,
periodic beacons are sent, a profile is registered, logs show RTT events, the
observability stack receives RTT signals, and diagnostics payloads can be
generated. From beacon histories, profiles and a service graph, these checks can
be computed:

==================  =========================================================================
check               passes when
==================  =========================================================================
periodic_beacons    the service's beacons come every 30 to 60 s (the median interval of its
                    most frequent event, within 10% of that range)
startup_beacon      a ``startup`` beacon was seen
shutdown_beacon     a ``shutdown`` beacon was seen
profile             a profile is registered and lists what it ``supports``
recent_beacons      its last beacon is at most two periods old at the reference time
logs                its beacons were read from a service log (``[RTT] ... sent`` lines);
                    ``unknown`` otherwise: its logs may exist, they were not read
payloads            it is in the service graph, so diagnostics payloads can name it
                    (``unknown`` without a graph)
==================  =========================================================================

Each check is ``pass``, ``fail`` (with the reason) or ``unknown`` (the inputs
cannot tell). A service is ``ready`` when no check fails. The client being
configured is shown by any beacon at all; what the observability stack receives
is outside these inputs and is not checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

import networkx as nx
import pandas as pd

from rtt_topology._timestamps import aware_utc
from rtt_topology.columns import validate_beacon_frame
from rtt_topology.schemas import Profile

if TYPE_CHECKING:
    from rtt_topology.aggregate.engines import Engine, History

__all__ = ["CHECKS", "readiness", "readiness_summary"]

#: The checks, in report order.
CHECKS: tuple[str, ...] = (
    "periodic_beacons",
    "startup_beacon",
    "shutdown_beacon",
    "profile",
    "recent_beacons",
    "logs",
    "payloads",
)
_CADENCE_S = (30.0, 60.0)
_TOLERANCE = 0.1
_LOG_SUFFIXES = (".log", ".txt", ".out", ".log.gz", ".txt.gz", ".out.gz")


def _at(service_ts: pd.Series, at: datetime | str | None) -> pd.Timestamp | None:
    """Return the moment of the checks: ``at``, or the last beacon of a service."""
    if at is None:
        return None if service_ts.empty else pd.Timestamp(service_ts.max())
    moment = aware_utc(at, "at")
    return None if moment is None else pd.Timestamp(moment)


def readiness(
    beacons: pd.DataFrame | History,
    profiles: Mapping[str, Profile] | None = None,
    G: nx.DiGraph[str] | None = None,
    *,
    at: datetime | str | None = None,
    engine: Engine = "auto",
) -> pd.DataFrame:
    """Run the readiness checks for every service.

    Parameters
    ----------
    beacons
        A beacon table, or a :class:`~rtt_topology.aggregate.engines.History`.
    profiles
        Profiles keyed by site; declared services without beacons are checked too.
    G
        A service graph (for the ``payloads`` check).
    at
        The reference time for ``recent_beacons`` (default: the end of the data).
    engine
        ``"pandas"``, ``"duckdb"`` or ``"auto"``
        (:func:`~rtt_topology.aggregate.engines.choose_engine`): the engine of the
        per-service figures (periods, last beacons, event counts, sources).

    Returns
    -------
    pandas.DataFrame
        One row per service and check: ``site``, ``check``, ``status`` (``pass``,
        ``fail`` or ``unknown``) and ``reason``.

    Examples
    --------
    >>> from rtt_topology.columns import empty_beacon_frame
    >>> from rtt_topology.schemas import Profile
    >>> table = readiness(empty_beacon_frame(), {"api": Profile(rtt_version="1", supports=[])})
    >>> table.set_index("check").loc["profile", ["status", "reason"]].tolist()
    ['fail', 'profile lists no supports']
    """
    from rtt_topology.aggregate.engines import History, engine_input

    if isinstance(beacons, pd.DataFrame):
        validate_beacon_frame(beacons)
    with engine_input(beacons, engine) as data:
        if isinstance(data, History):
            facts = _history_facts(data, profiles, at)
        else:
            facts = _frame_facts(data, profiles, at)
    return _checks(facts, profiles, G)


class _Facts(NamedTuple):
    """What the checks read from the beacons: small per-site figures."""

    clusters: set[str]
    moment: pd.Timestamp | None
    table: pd.DataFrame  # periods, profiles included
    measured: pd.DataFrame  # periods the beacons show
    last_seen: dict[str, pd.Timestamp]
    events: dict[tuple[str, str], int]
    sources: dict[str, set[str]]


def _frame_facts(
    beacons: pd.DataFrame, profiles: Mapping[str, Profile] | None, at: datetime | str | None
) -> _Facts:
    from rtt_topology.aggregate.history import cluster_sites, event_pairs, periods

    clusters = set(cluster_sites(beacons))
    # Every figure below is per site, so cluster rows can stay in the table (and the
    # periods are the ones liveness derives); only the moment must ignore them.
    moment = _at(beacons.loc[~beacons["site"].isin(clusters).to_numpy(), "ts"], at)
    if at is not None and moment is not None:
        # Only what had arrived by then counts.
        beacons = beacons[beacons["ts"] <= moment]
    # Group on the column as it is (categorical codes), then key the small results by text.
    last_seen = {
        str(site): ts for site, ts in beacons.groupby("site", observed=True)["ts"].max().items()
    }
    sources: dict[str, set[str]] = {}
    for site, source in beacons[["site", "source"]].drop_duplicates().itertuples(index=False):
        sources.setdefault(str(site), set()).add(str(source))
    return _Facts(
        clusters, moment, periods(beacons, profiles), periods(beacons), last_seen,
        _pair_counts(event_pairs(beacons)), sources,
    )  # fmt: skip


def _pair_counts(pairs: pd.Series) -> dict[tuple[str, str], int]:
    """Return ``event_pairs`` as a plain mapping (site, event) to count."""
    keys = zip(pairs.index.get_level_values(0), pairs.index.get_level_values(1), strict=True)
    return {(str(s), str(e)): int(n) for (s, e), n in zip(keys, pairs.to_numpy(), strict=True)}


def _history_facts(
    history: History, profiles: Mapping[str, Profile] | None, at: datetime | str | None
) -> _Facts:
    from rtt_topology.aggregate.history import cluster_sites, event_pairs, periods, site_sources
    from rtt_topology.graph.beacons import narrowed_history

    clusters = set(cluster_sites(history))
    last_seen = _last_seen(history)
    services = pd.Series([ts for site, ts in last_seen.items() if site not in clusters])
    moment = _at(services, at)
    end = None
    if at is not None and moment is not None:
        # Only what had arrived by then counts: ts <= moment, the window's end excluded.
        end = moment + pd.Timedelta(microseconds=1)
    with narrowed_history(history, end=end) as kept:
        if kept is not history:
            last_seen = _last_seen(kept)
        sources: dict[str, set[str]] = {}
        pairs = site_sources(kept)
        for site, source in pairs[["site", "source"]].itertuples(index=False):
            sources.setdefault(str(site), set()).add(str(source))
        return _Facts(
            clusters, moment, periods(kept, profiles), periods(kept), last_seen,
            _pair_counts(event_pairs(kept)), sources,
        )  # fmt: skip


def _last_seen(history: History) -> dict[str, pd.Timestamp]:
    """Return each site's last beacon (UTC)."""
    from rtt_topology.aggregate.sql.figures import last_seen

    table = history.sql(last_seen())
    return {
        str(site): pd.Timestamp(int(us) * 1000, tz="UTC")
        for site, us in zip(table["site"], table["last_us"], strict=True)
    }


def _checks(
    facts: _Facts, profiles: Mapping[str, Profile] | None, G: nx.DiGraph[str] | None
) -> pd.DataFrame:
    """Run every check of every service from the per-site figures."""
    clusters, moment, table, measured, last_seen, events, sources = facts
    sites = [s for s in table.index if s not in clusters]
    rows: list[dict[str, Any]] = []

    def add(site: str, check: str, status: str, reason: str) -> None:
        rows.append({"site": site, "check": check, "status": status, "reason": reason})

    low, high = _CADENCE_S[0] * (1 - _TOLERANCE), _CADENCE_S[1] * (1 + _TOLERANCE)
    # Plain mappings: a lookup per site and check stays cheap for thousands of sites.
    periods = dict(zip(table.index, table["period_s"].astype(float), strict=True))
    measured_from = dict(zip(measured.index, measured["period_from"], strict=True))
    measured_s = dict(zip(measured.index, measured["period_s"].astype(float), strict=True))
    for site in sites:
        period = periods[site]
        if site not in last_seen:
            add(site, "periodic_beacons", "fail", "no beacons")
        elif measured_from[site] == "inferred":
            every = measured_s[site]
            ok = low <= every <= high
            add(site, "periodic_beacons", "pass" if ok else "fail",
                f"beacons every {every:.0f} s (30-60 s expected)")  # fmt: skip
        else:
            add(site, "periodic_beacons", "fail", "too few beacons to measure a cadence")
        for check, event in (("startup_beacon", "startup"), ("shutdown_beacon", "shutdown")):
            seen = int(events.get((site, event), 0))
            reason = f"{seen} {event} beacon(s)" if seen else f"no {event} beacon in the data"
            add(site, check, "pass" if seen else "fail", reason)
        profile = (profiles or {}).get(site)
        if profile is None:
            add(site, "profile", "fail", "no profile registered")
        elif not profile.supports:
            add(site, "profile", "fail", "profile lists no supports")
        else:
            add(site, "profile", "pass", "supports " + ", ".join(profile.supports))
        if site in last_seen and moment is not None:
            age = (moment - last_seen[site]).total_seconds()
            ok = age <= 2 * period
            add(site, "recent_beacons", "pass" if ok else "fail",
                f"last beacon {age:.0f} s before {moment:%Y-%m-%d %H:%M:%S} UTC")  # fmt: skip
        else:
            add(site, "recent_beacons", "fail", "no beacons")
        if any(source.endswith(_LOG_SUFFIXES) for source in sources.get(site, ())):
            add(site, "logs", "pass", "beacons read from its service log")
        else:
            add(site, "logs", "unknown", "no log of this service was read")
        if G is None:
            add(site, "payloads", "unknown", "no service graph given")
        elif site in G:
            add(site, "payloads", "pass", "in the service graph")
        else:
            add(site, "payloads", "fail", "not in the service graph")
    frame = pd.DataFrame(rows, columns=["site", "check", "status", "reason"])
    return frame


def readiness_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Pivot readiness checks into one row per service, with ``ready``.

    Parameters
    ----------
    table
        The result of :func:`readiness`.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``site``: one column per check (its status), ``failed`` (the
        failing checks, comma-separated) and ``ready`` (no check failed).
    """
    wide = table.pivot(index="site", columns="check", values="status")
    wide = wide.reindex(columns=list(CHECKS))
    failed = table[table["status"] == "fail"].groupby("site")["check"].agg(", ".join)
    wide["failed"] = failed.reindex(wide.index).fillna("")
    wide["ready"] = wide["failed"] == ""
    wide.columns.name = None
    return wide
