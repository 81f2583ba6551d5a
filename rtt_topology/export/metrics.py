"""Expose the analysis as Prometheus metrics: a registry, the text format, a node_exporter file.

The values come from the analysis tables, not from live increments: a custom
collector (:class:`RttCollector`) computes a snapshot of the beacon history at a
moment ``at`` (default: the last beacon) once, and yields
``CounterMetricFamily``/``GaugeMetricFamily`` objects of the official client
library (``prometheus_client``) from it on every collection. The registry is
always a new :class:`~prometheus_client.CollectorRegistry`, never the global one.

Metrics
-------
:data:`METRICS` is the one list of what is exported (the Grafana dashboard and
the tests read it); this table repeats it, and a test keeps the two equal.
Upstream published three samples (``rtt_beacons_total{service="auth"}``,
``rtt_beacons_total{cluster="east"}``, ``rtt_drift_events_total{cluster="east"}``);
every other name is **ours**.

================================  =======  ====================  ========  ======================
metric                            type     labels                origin    meaning
================================  =======  ====================  ========  ======================
rtt_beacons_total                 counter  service | cluster     upstream  beacons received per
                                                                           service (declared
                                                                           services with none:
                                                                           0); a cluster's own
                                                                           heartbeats
rtt_drift_events_total            counter  service | cluster     upstream  structural changes
                                                                           per service; per
                                                                           cluster, the sum over
                                                                           its services (graph)
rtt_heartbeat_interval_seconds    gauge    service | cluster     ours      median seconds
                                                                           between consecutive
                                                                           beacons
rtt_service_state                 gauge    service, state        ours      1 for the current
                                                                           liveness state, 0
                                                                           for the others
rtt_seconds_since_last_beacon     gauge    service               ours      age of the last
                                                                           beacon at the moment
rtt_uptime_ratio                  gauge    service               ours      share of observed
                                                                           time up, late or
                                                                           flapping (0 to 1)
rtt_coherence_score               gauge    service               ours      coherence score of
                                                                           the service (0 to 1)
rtt_coherence_component           gauge    service, component    ours      each component of
                                                                           the score (0 to 1)
rtt_system_coherence_score        gauge    (none)                ours      coherence of the
                                                                           whole system
rtt_edge_calls_total              counter  caller, callee, kind  ours      traced calls of an
                                                                           edge of the graph
rtt_edge_errors_total             counter  caller, callee, kind  ours      traced calls of the
                                                                           edge that failed
rtt_corridor_status               gauge    corridor, status      ours      1 for the corridor's
                                                                           status, 0 for others
rtt_corridor_aligned              gauge    corridor              ours      1 when no flow leaves
                                                                           the corridor or is
                                                                           too slow, else 0
rtt_corridor_calls_total          counter  corridor              ours      traces that followed
                                                                           the corridor
rtt_corridor_latency_p95_seconds  gauge    corridor              ours      p95 end-to-end
                                                                           latency of its flows
rtt_corridor_max_latency_seconds  gauge    corridor              ours      the corridor's
                                                                           declared bound
rtt_snapshot_timestamp_seconds    gauge    (none)                ours      Unix time of the
                                                                           moment described
rtt_topology_build_info           gauge    version               ours      always 1; the
                                                                           exporter's version
================================  =======  ====================  ========  ======================

Sources: :func:`~rtt_topology.aggregate.history.service_summary` (beacons, median
interval), :func:`~rtt_topology.aggregate.history.cluster_sites` (which sites are
clusters), :func:`~rtt_topology.analysis.drift.drift_event_counts`,
:func:`~rtt_topology.analysis.liveness.states` (state, age) and
:func:`~rtt_topology.analysis.liveness.uptime` at ``at``,
:func:`~rtt_topology.analysis.coherence.coherence` (``services`` and ``overall``, over the
data up to ``at``), the traced edges of the service graph ``G`` (provenance
``traced`` or ``both``), and :func:`~rtt_topology.diagnostics.corridors.check_corridors`
results. Latencies are converted to seconds, percentages to ratios (the
Prometheus base units). A value that does not exist (a declared service never
seen has no age; a service without observed time has no uptime) is left out, not
written as ``NaN``. Metrics without any sample are left out, so an empty input
gives only ``rtt_topology_build_info``.

Labels
------
Following the upstream samples, ``rtt_beacons_total``,
``rtt_drift_events_total`` and ``rtt_heartbeat_interval_seconds`` carry either a
``service`` or a ``cluster`` label, never both (the text format and Prometheus
allow label sets to differ within a family). A cluster is a site that sends only
``cluster_heartbeat`` beacons; its label value is its site name (``dc-east``).
The cluster samples of ``rtt_drift_events_total`` are sums over the services of
the cluster (the ``group`` of a node of ``G``, without ``G`` there are none), so
never aggregate a family as a whole: select ``{service!=""}`` or
``{cluster!=""}``. States are :data:`rtt_topology.analysis.liveness.STATES`, components
:data:`rtt_topology.analysis.coherence.COMPONENTS`, corridor statuses
:data:`rtt_topology.diagnostics.corridors.CORRIDOR_STATUSES`; every value of an enum gets a
sample (the usual Prometheus idiom), so ``rtt_service_state == 1`` selects the
current one. Label values are escaped by the client library (quotes,
backslashes, newlines); samples are sorted by label values.

Counters count the history given: when the history exported shrinks (older
files rotated away) Prometheus sees a counter reset, which ``rate()`` handles.
No sample carries a timestamp: node_exporter's textfile collector refuses them;
``rtt_snapshot_timestamp_seconds`` tells which moment the values describe.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Literal, NamedTuple

from prometheus_client import CollectorRegistry, generate_latest, write_to_textfile
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from rtt_topology._memo import reuse
from rtt_topology._version import __version__

if TYPE_CHECKING:
    import networkx as nx
    import pandas as pd

    from rtt_topology._timestamps import Instant
    from rtt_topology.diagnostics.corridors import CorridorResults
    from rtt_topology.schemas import Profile

__all__ = [
    "METRICS",
    "MetricSpec",
    "RttCollector",
    "exposition",
    "metrics_registry",
    "write_textfile",
]


class MetricSpec(NamedTuple):
    """One exported metric.

    Attributes
    ----------
    name
        The sample name as exposed (counters end in ``_total``).
    type
        ``counter`` or ``gauge``.
    label_sets
        The label names a sample may carry: one tuple per alternative
        (``(("service",), ("cluster",))`` for a family whose samples carry one of
        the two); ``((),)`` for a metric without labels.
    help
        The HELP text.
    origin
        ``upstream`` (published by RTT-Inside) or ``ours``.
    """

    name: str
    type: Literal["counter", "gauge"]
    label_sets: tuple[tuple[str, ...], ...]
    help: str
    origin: Literal["upstream", "ours"]


_SERVICE_OR_CLUSTER = (("service",), ("cluster",))
_EDGE = (("caller", "callee", "kind"),)
_NONE: tuple[tuple[str, ...], ...] = ((),)

#: Every metric the exporter can write, in output order (the single source of truth).
METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "rtt_beacons_total",
        "counter",
        _SERVICE_OR_CLUSTER,
        "Beacons received per service, or a cluster's own cluster_heartbeat beacons.",
        "upstream",
    ),
    MetricSpec(
        "rtt_drift_events_total",
        "counter",
        _SERVICE_OR_CLUSTER,
        "Structural changes seen in beacons per service, or summed over a cluster's services.",
        "upstream",
    ),
    MetricSpec(
        "rtt_heartbeat_interval_seconds",
        "gauge",
        _SERVICE_OR_CLUSTER,
        "Median seconds between consecutive beacons of a service or cluster.",
        "ours",
    ),
    MetricSpec(
        "rtt_service_state",
        "gauge",
        (("service", "state"),),
        "Liveness state of a service: 1 for the current state, 0 for the others.",
        "ours",
    ),
    MetricSpec(
        "rtt_seconds_since_last_beacon",
        "gauge",
        (("service",),),
        "Seconds from a service's last beacon to the moment described.",
        "ours",
    ),
    MetricSpec(
        "rtt_uptime_ratio",
        "gauge",
        (("service",),),
        "Share of observed time a service was up, late or flapping (planned stops excluded).",
        "ours",
    ),
    MetricSpec(
        "rtt_coherence_score",
        "gauge",
        (("service",),),
        "Coherence score of a service, 0 to 1.",
        "ours",
    ),
    MetricSpec(
        "rtt_coherence_component",
        "gauge",
        (("service", "component"),),
        "One component of a service's coherence score, 0 to 1.",
        "ours",
    ),
    MetricSpec(
        "rtt_system_coherence_score",
        "gauge",
        _NONE,
        "Coherence score of the whole system, 0 to 1.",
        "ours",
    ),
    MetricSpec(
        "rtt_edge_calls_total",
        "counter",
        _EDGE,
        "Calls from caller to callee seen in traces.",
        "ours",
    ),
    MetricSpec(
        "rtt_edge_errors_total",
        "counter",
        _EDGE,
        "Calls from caller to callee seen in traces that failed.",
        "ours",
    ),
    MetricSpec(
        "rtt_corridor_status",
        "gauge",
        (("corridor", "status"),),
        "Status of a declared corridor: 1 for the current status, 0 for the others.",
        "ours",
    ),
    MetricSpec(
        "rtt_corridor_aligned",
        "gauge",
        (("corridor",),),
        "1 when no observed flow leaves the corridor or is too slow, else 0.",
        "ours",
    ),
    MetricSpec(
        "rtt_corridor_calls_total",
        "counter",
        (("corridor",),),
        "Traces whose service path follows the corridor.",
        "ours",
    ),
    MetricSpec(
        "rtt_corridor_latency_p95_seconds",
        "gauge",
        (("corridor",),),
        "95th percentile end-to-end latency of the flows that follow the corridor, seconds.",
        "ours",
    ),
    MetricSpec(
        "rtt_corridor_max_latency_seconds",
        "gauge",
        (("corridor",),),
        "Declared bound on the corridor's p95 latency, seconds.",
        "ours",
    ),
    MetricSpec(
        "rtt_snapshot_timestamp_seconds",
        "gauge",
        _NONE,
        "Unix time of the moment the values describe.",
        "ours",
    ),
    MetricSpec(
        "rtt_topology_build_info",
        "gauge",
        (("version",),),
        "Always 1; the version of rtt-topology that wrote the metrics.",
        "ours",
    ),
)

_SPECS = {spec.name: spec for spec in METRICS}
_Samples = dict[str, list[tuple[dict[str, str], float]]]


class _Snapshot:
    """Samples per metric name, gathered from the analysis tables."""

    def __init__(self) -> None:
        self.samples: _Samples = {}

    def add(self, name: str, labels: Mapping[str, str], value: float) -> None:
        spec = _SPECS[name]
        assert tuple(labels) in spec.label_sets, (name, tuple(labels))
        value = float(value)
        if math.isnan(value):
            return
        self.samples.setdefault(name, []).append(({**labels}, value))


class RttCollector(Collector):
    """A Prometheus collector whose values come from the analysis of a beacon history.

    The tables are computed once, when the collector is created; each
    ``collect()`` yields the same families, in :data:`METRICS` order, samples
    sorted by label values, metrics without samples left out. ``describe()``
    names every metric, so registering two in one registry fails.

    Parameters
    ----------
    beacons, profiles, G, at, corridors
        As in :func:`metrics_registry`.
    """

    def __init__(
        self,
        beacons: pd.DataFrame | None,
        profiles: Mapping[str, Profile] | None = None,
        G: nx.DiGraph[str] | None = None,
        *,
        at: Instant | None = None,
        corridors: CorridorResults | None = None,
    ) -> None:
        with reuse():  # the liveness and coherence samples share their derived tables
            self._samples = _gather(beacons, profiles, G, at, corridors).samples

    def collect(self) -> Iterator[Metric]:
        """Yield the metric families that have samples."""
        for spec in METRICS:
            samples = self._samples.get(spec.name)
            if not samples:
                continue
            family = _family(spec)
            for labels, value in sorted(samples, key=lambda s: _sort_key(spec, s[0])):
                # Sample directly: one family may mix label sets (service | cluster).
                family.samples.append(Sample(spec.name, labels, value))
            yield family

    def describe(self) -> Iterator[Metric]:
        """Yield every metric family the collector may write, without samples."""
        for spec in METRICS:
            yield _family(spec)


def _family(spec: MetricSpec) -> Metric:
    if spec.type == "counter":
        # The client adds "_total" to a counter's family name itself.
        return CounterMetricFamily(spec.name, spec.help, labels=[])
    return GaugeMetricFamily(spec.name, spec.help, labels=[])


def _sort_key(spec: MetricSpec, labels: dict[str, str]) -> tuple[int, tuple[str, ...]]:
    return spec.label_sets.index(tuple(labels)), tuple(labels.values())


def _gather(
    beacons: pd.DataFrame | None,
    profiles: Mapping[str, Profile] | None,
    G: nx.DiGraph[str] | None,
    at: Instant | None,
    corridors: CorridorResults | None,
) -> _Snapshot:
    import pandas as pd

    from rtt_topology._timestamps import instant_ns
    from rtt_topology.columns import empty_beacon_frame, validate_beacon_frame

    out = _Snapshot()
    if beacons is None:
        beacons = empty_beacon_frame()
    validate_beacon_frame(beacons)
    at_ns = instant_ns(at, "at")
    moment: pd.Timestamp | None = None
    if at_ns is not None:
        moment = pd.Timestamp(at_ns, unit="ns", tz="UTC")
        beacons = beacons[beacons["ts"] <= moment]
    elif len(beacons):
        moment = pd.Timestamp(beacons["ts"].max())
    _beacon_samples(out, beacons, profiles, G)
    _liveness_samples(out, beacons, profiles, moment if at_ns is not None else None)
    _coherence_samples(out, beacons, profiles, G, moment if at_ns is not None else None)
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


def _beacon_samples(
    out: _Snapshot,
    beacons: pd.DataFrame,
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
    out: _Snapshot,
    beacons: pd.DataFrame,
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
    out: _Snapshot,
    beacons: pd.DataFrame,
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


def _corridor_samples(out: _Snapshot, results: CorridorResults) -> None:
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


def metrics_registry(
    beacons: pd.DataFrame | None,
    profiles: Mapping[str, Profile] | None = None,
    G: nx.DiGraph[str] | None = None,
    *,
    at: Instant | None = None,
    corridors: CorridorResults | None = None,
) -> CollectorRegistry:
    r"""Return a new Prometheus registry holding the metrics of a beacon history.

    Parameters
    ----------
    beacons
        A beacon table (``None``: no beacons).
    profiles
        Profiles keyed by site: declared periods, declared services never seen
        (state ``missing``, 0 beacons), the declaration component of coherence.
    G
        The service graph (:func:`~rtt_topology.graph.build_graph`): traced edges,
        and the group of each service for the per-cluster drift sums. It is used
        as given: build it with ``end=at`` to count calls up to ``at`` only.
    at
        The moment described (timezone-aware, or ISO 8601 with offset); only
        beacons with ``ts <= at`` count. Default: the last beacon.
    corridors
        Corridor results (:func:`~rtt_topology.diagnostics.corridors.check_corridors`).

    Returns
    -------
    prometheus_client.CollectorRegistry
        A registry of its own (never the global ``REGISTRY``) with one
        :class:`RttCollector`.

    Examples
    --------
    >>> from rtt_topology.load import beacons_from_records
    >>> beacons, _ = beacons_from_records([
    ...     {"site": "auth", "session": "s1", "event": "heartbeat", "ts": "2026-01-19T15:00:00Z"},
    ...     {"site": "auth", "session": "s1", "event": "heartbeat", "ts": "2026-01-19T15:00:30Z"},
    ...     {"site": "east", "session": "c", "event": "cluster_heartbeat",
    ...      "ts": "2026-01-19T15:00:10Z"},
    ... ])
    >>> registry = metrics_registry(beacons)
    >>> registry.get_sample_value("rtt_beacons_total", {"service": "auth"})
    2.0
    >>> registry.get_sample_value("rtt_beacons_total", {"cluster": "east"})
    1.0
    >>> registry.get_sample_value("rtt_service_state", {"service": "auth", "state": "up"})
    1.0
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RttCollector(beacons, profiles, G, at=at, corridors=corridors))
    return registry


def exposition(
    beacons: pd.DataFrame | None,
    profiles: Mapping[str, Profile] | None = None,
    G: nx.DiGraph[str] | None = None,
    *,
    at: Instant | None = None,
    corridors: CorridorResults | None = None,
) -> str:
    r"""Return the metrics of a beacon history in the Prometheus text format (0.0.4).

    Parameters
    ----------
    beacons, profiles, G, at, corridors
        As in :func:`metrics_registry`.

    Returns
    -------
    str
        HELP and TYPE lines and the samples of every metric that has some, as
        ``prometheus_client.generate_latest`` writes them.

    Examples
    --------
    >>> from rtt_topology.load import beacons_from_records
    >>> beacons, _ = beacons_from_records(
    ...     [{"site": "auth", "session": "s1", "event": "heartbeat", "ts": "2026-01-19T15:00:00Z"}]
    ... )
    >>> text = exposition(beacons)
    >>> print("\n".join(text.splitlines()[:3]))
    # HELP rtt_beacons_total Beacons received per service, or a cluster's own ...
    # TYPE rtt_beacons_total counter
    rtt_beacons_total{service="auth"} 1.0
    >>> print(exposition(None))  # doctest: +NORMALIZE_WHITESPACE
    # HELP rtt_topology_build_info Always 1; the version of rtt-topology that wrote the metrics.
    # TYPE rtt_topology_build_info gauge
    rtt_topology_build_info{version="..."} 1.0
    """
    registry = metrics_registry(beacons, profiles, G, at=at, corridors=corridors)
    return generate_latest(registry).decode("utf-8")


def write_textfile(
    path: str | os.PathLike[str],
    beacons: pd.DataFrame | None,
    profiles: Mapping[str, Profile] | None = None,
    G: nx.DiGraph[str] | None = None,
    *,
    at: Instant | None = None,
    corridors: CorridorResults | None = None,
) -> None:
    r"""Write the metrics to a file for node_exporter's textfile collector, atomically.

    The text is written to a temporary file in the same directory, then renamed
    over ``path`` (``prometheus_client.write_to_textfile``): a reader sees the
    previous file or the new one, never a partial one; if writing fails the
    previous file is left as it was and the temporary file is removed. The
    textfile collector reads only files named ``*.prom``.

    Parameters
    ----------
    path
        The file to write (its directory must exist).
    beacons, profiles, G, at, corridors
        As in :func:`metrics_registry`.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "rtt.prom"
    >>> write_textfile(target, None)
    >>> target.read_text().splitlines()[-1]
    'rtt_topology_build_info{version="..."} 1.0'
    """
    registry = metrics_registry(beacons, profiles, G, at=at, corridors=corridors)
    write_to_textfile(os.fspath(path), registry)
