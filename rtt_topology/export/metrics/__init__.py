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

from rtt_topology.export.metrics.catalogue import METRICS, MetricSpec
from rtt_topology.export.metrics.collector import RttCollector, metrics_registry
from rtt_topology.export.metrics.text import exposition, write_textfile

__all__ = [
    "METRICS",
    "MetricSpec",
    "RttCollector",
    "exposition",
    "metrics_registry",
    "write_textfile",
]
