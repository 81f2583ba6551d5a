"""The aggregation seam: per-event work over the beacon table, small per-service tables out.

Every per-beacon computation that the graph and the analyses need (event counts, service
summaries, intervals, periods, restarts, main-event rows, clock skew) happens here, so that another
engine can take this layer over without changing its callers.
"""

from rtt_topology.aggregate.history import (
    DEFAULT_PERIOD_S,
    LIFECYCLE_EVENTS,
    cluster_sites,
    event_counts,
    event_pairs,
    intervals,
    main_event_rows,
    periods,
    restarts,
    service_summary,
)
from rtt_topology.aggregate.skew import SKEW_COLUMNS, clock_skew, skew_seconds

__all__ = [
    "DEFAULT_PERIOD_S",
    "LIFECYCLE_EVENTS",
    "SKEW_COLUMNS",
    "clock_skew",
    "cluster_sites",
    "event_counts",
    "event_pairs",
    "intervals",
    "main_event_rows",
    "periods",
    "restarts",
    "service_summary",
    "skew_seconds",
]
