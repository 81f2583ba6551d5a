"""The aggregation seam: per-event work over the beacon table, small per-service tables out.

Every per-beacon computation that the graph and the analyses need (event counts, service
summaries, intervals, periods, restarts, main-event rows, clock skew) happens here, so that another
engine can take this layer over without changing its callers. Each takes a beacon table in memory
(pandas) or a :class:`History` (DuckDB over a history store or a table, the SQL definitions of
:mod:`rtt_topology.aggregate.sql`), and returns the same table from both.
"""

from rtt_topology.aggregate.engines import (
    AUTO_ROWS,
    ENGINES,
    Engine,
    History,
    choose_engine,
    engine_input,
    is_store,
)
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
    site_sources,
)
from rtt_topology.aggregate.skew import SKEW_COLUMNS, clock_skew, skew_seconds

__all__ = [
    "AUTO_ROWS",
    "DEFAULT_PERIOD_S",
    "ENGINES",
    "LIFECYCLE_EVENTS",
    "SKEW_COLUMNS",
    "Engine",
    "History",
    "choose_engine",
    "clock_skew",
    "cluster_sites",
    "engine_input",
    "event_counts",
    "event_pairs",
    "intervals",
    "is_store",
    "main_event_rows",
    "periods",
    "restarts",
    "service_summary",
    "site_sources",
    "skew_seconds",
]
