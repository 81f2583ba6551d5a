"""The catalogue of exported metrics: name, type, label sets, help text and origin of each."""

from __future__ import annotations

from typing import Literal, NamedTuple

__all__ = ["METRICS", "SPECS", "MetricSpec"]


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

#: The specs of :data:`METRICS` by name.
SPECS = {spec.name: spec for spec in METRICS}
