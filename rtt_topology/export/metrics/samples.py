"""Gather the samples of every metric from the analysis tables of a beacon history."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

from rtt_topology._version import __version__
from rtt_topology.export.metrics.catalogue import SPECS

if TYPE_CHECKING:
    import networkx as nx
    import pandas as pd

    from rtt_topology._timestamps import Instant
    from rtt_topology.aggregate.engines import Engine, History
    from rtt_topology.diagnostics.corridors import CorridorResults
    from rtt_topology.schemas import Profile

__all__ = ["Snapshot", "gather_samples"]

_Samples = dict[str, list[tuple[dict[str, str], float]]]


class Snapshot:
    """Samples per metric name, gathered from the analysis tables.

    ``samples`` maps a metric name to its ``(labels, value)`` pairs, in the order added.
    """

    def __init__(self) -> None:
        self.samples: _Samples = {}

    def add(self, name: str, labels: Mapping[str, str], value: float) -> None:
        """Add one sample of the metric ``name``; a ``NaN`` value (no such value) is left out."""
        spec = SPECS[name]
        assert tuple(labels) in spec.label_sets, (name, tuple(labels))
        value = float(value)
        if math.isnan(value):
            return
        self.samples.setdefault(name, []).append(({**labels}, value))


def gather_samples(
    beacons: pd.DataFrame | History | None,
    profiles: Mapping[str, Profile] | None,
    G: nx.DiGraph[str] | None,
    at: Instant | None,
    corridors: CorridorResults | None,
    engine: Engine = "auto",
) -> Snapshot:
    """Return the samples of every metric of :data:`~rtt_topology.export.metrics.METRICS`.

    Parameters
    ----------
    beacons, profiles, G, at, corridors, engine
        As in :func:`~rtt_topology.export.metrics.metrics_registry`.

    Returns
    -------
    Snapshot
        The samples, NaN values left out, ``rtt_topology_build_info`` always there.
    """
    import pandas as pd

    from rtt_topology._timestamps import instant_ns
    from rtt_topology.aggregate.engines import History, engine_input
    from rtt_topology.columns import empty_beacon_frame, validate_beacon_frame
    from rtt_topology.graph.beacons import narrowed_history

    out = Snapshot()
    if beacons is None:
        beacons = empty_beacon_frame()
    if isinstance(beacons, pd.DataFrame):
        validate_beacon_frame(beacons)
    at_ns = instant_ns(at, "at")
    moment: pd.Timestamp | None = None
    with engine_input(beacons, engine) as data:
        if at_ns is not None:
            moment = pd.Timestamp(at_ns, unit="ns", tz="UTC")
        if isinstance(data, History):
            # Only beacons with ts <= at count: the window's end is the next microsecond.
            end = None if moment is None else moment + pd.Timedelta(microseconds=1)
            with narrowed_history(data, end=end) as kept:
                if moment is None:
                    moment = kept.bounds()[1]
                _analysis_samples(out, kept, profiles, G, moment if at_ns is not None else None)
        else:
            table = data
            if moment is not None:
                table = table[table["ts"] <= moment]
            elif len(table):
                moment = pd.Timestamp(table["ts"].max())
            _analysis_samples(out, table, profiles, G, moment if at_ns is not None else None)
    if G is not None:
        for caller, callee, attrs in sorted(G.edges(data=True), key=lambda e: (e[0], e[1])):
            if attrs["provenance"] not in ("traced", "both"):
                continue
            labels = {"caller": str(caller), "callee": str(callee), "kind": str(attrs["kind"])}
            out.add("rtt_edge_calls_total", labels, attrs["calls"])
            out.add("rtt_edge_errors_total", labels, attrs["errors"])
    if corridors is not None:
        _corridor_samples(out, corridors)
    if moment is not None:
        out.add("rtt_snapshot_timestamp_seconds", {}, moment.timestamp())
    out.add("rtt_topology_build_info", {"version": __version__}, 1)
    return out


def _analysis_samples(
    out: Snapshot,
    beacons: pd.DataFrame | History,
    profiles: Mapping[str, Profile] | None,
    G: nx.DiGraph[str] | None,
    at: pd.Timestamp | None,
) -> None:
    """Add the samples of the beacon analyses (counts, liveness, coherence)."""
    _beacon_samples(out, beacons, profiles, G)
    _liveness_samples(out, beacons, profiles, at)
    _coherence_samples(out, beacons, profiles, G, at)


def _beacon_samples(
    out: Snapshot,
    beacons: pd.DataFrame | History,
    profiles: Mapping[str, Profile] | None,
    G: nx.DiGraph[str] | None,
) -> None:
    from rtt_topology.aggregate.history import cluster_sites, service_summary
    from rtt_topology.analysis.drift import drift_event_counts

    summary = service_summary(beacons)
    clusters = set(cluster_sites(beacons))
    counts = {str(s): int(n) for s, n in zip(summary["site"], summary["beacons"], strict=True)}
    services = sorted((set(counts) | set(profiles or {})) - clusters)
    for site in sorted(set(services) | clusters):
        label = "cluster" if site in clusters else "service"
        out.add("rtt_beacons_total", {label: site}, counts.get(site, 0))
    for site, interval in zip(summary["site"], summary["median_interval_s"], strict=True):
        label = "cluster" if site in clusters else "service"
        out.add("rtt_heartbeat_interval_seconds", {label: str(site)}, interval)

    table = drift_event_counts(beacons)
    events = {str(s): int(n) for s, n in zip(table["site"], table["drift_events"], strict=True)}
    for site in services:
        out.add("rtt_drift_events_total", {"service": site}, events.get(site, 0))
    if G is None:
        return
    # Per cluster: its services' changes (the graph knows their group), and its own.
    known = clusters | {str(c) for c in G.graph.get("clusters", [])}
    per_cluster = {c: events.get(c, 0) for c in known}
    for site in services:
        group = G.nodes[site].get("group") if site in G else None
        if group is not None:
            per_cluster[str(group)] = per_cluster.get(str(group), 0) + events.get(site, 0)
    for cluster, total in per_cluster.items():
        out.add("rtt_drift_events_total", {"cluster": cluster}, total)


def _liveness_samples(
    out: Snapshot,
    beacons: pd.DataFrame | History,
    profiles: Mapping[str, Profile] | None,
    at: pd.Timestamp | None,
) -> None:
    from rtt_topology.analysis.liveness import STATES, states, uptime

    table = states(beacons, profiles, at=at)
    for site, state, age in zip(table["site"], table["state"], table["age_s"], strict=True):
        for name in STATES:
            labels = {"service": str(site), "state": name}
            out.add("rtt_service_state", labels, 1.0 if state == name else 0.0)
        out.add("rtt_seconds_since_last_beacon", {"service": str(site)}, age)
    ratios = uptime(beacons, profiles, end=at)
    for site, pct in zip(ratios["site"], ratios["uptime_pct"], strict=True):
        out.add("rtt_uptime_ratio", {"service": str(site)}, float(pct) / 100.0)


def _coherence_samples(
    out: Snapshot,
    beacons: pd.DataFrame | History,
    profiles: Mapping[str, Profile] | None,
    G: nx.DiGraph[str] | None,
    at: pd.Timestamp | None,
) -> None:
    from rtt_topology.analysis.coherence import COMPONENTS, coherence

    scores = coherence(beacons, profiles, G, end=at)
    for row in scores.services.to_dict("records"):
        site = str(row["site"])
        out.add("rtt_coherence_score", {"service": site}, row["coherence"])
        for component in COMPONENTS:
            labels = {"service": site, "component": component}
            out.add("rtt_coherence_component", labels, row[component])
    if scores.overall is not None:
        out.add("rtt_system_coherence_score", {}, scores.overall)


def _corridor_samples(out: Snapshot, results: CorridorResults) -> None:
    from rtt_topology.diagnostics.corridors import CORRIDOR_STATUSES

    for corridor in results.corridors:
        name = corridor.name
        for status in CORRIDOR_STATUSES:
            labels = {"corridor": name, "status": status}
            out.add("rtt_corridor_status", labels, 1.0 if corridor.status == status else 0.0)
        aligned = corridor.status in ("aligned", "unused")
        out.add("rtt_corridor_aligned", {"corridor": name}, 1.0 if aligned else 0.0)
        out.add("rtt_corridor_calls_total", {"corridor": name}, corridor.calls)
        if corridor.latency_p95_ms is not None:
            seconds = corridor.latency_p95_ms / 1000.0
            out.add("rtt_corridor_latency_p95_seconds", {"corridor": name}, seconds)
        if corridor.max_latency_ms is not None:
            seconds = corridor.max_latency_ms / 1000.0
            out.add("rtt_corridor_max_latency_seconds", {"corridor": name}, seconds)
