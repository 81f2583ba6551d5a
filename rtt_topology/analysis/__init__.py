"""Heartbeat analysis: liveness, root causes, cadence, drift, change points, coherence, readiness.

The functions named like their module (``cadence.cadence``, ``drift.drift``,
``coherence.coherence``, ``readiness.readiness``) are reached through the module.
"""

from rtt_topology.analysis.cadence import (
    CADENCE_COLUMNS,
    CADENCE_THRESHOLD,
    REFERENCE_S,
    cadence_changes,
)
from rtt_topology.analysis.changepoints import (
    METHODS,
    change_points,
    default_penalty,
    detect_changes,
)
from rtt_topology.analysis.coherence import (
    COMPONENTS,
    DEFAULT_WEIGHTS,
    Coherence,
    declaration_scores,
)
from rtt_topology.analysis.drift import (
    BASELINE_BEACONS,
    DRIFT_KINDS,
    STRUCTURE_FIELDS,
    TOLERANCE,
    drift_event_counts,
    drift_events,
    drift_kinds,
    url_drift,
)
from rtt_topology.analysis.impact import (
    FLAPPING_ONLY,
    IMPACTED,
    LATE_ONLY,
    ROOT_CAUSE,
    VERDICTS,
    root_causes,
)
from rtt_topology.analysis.liveness import (
    DEFAULT_JITTER,
    DOWN,
    FLAPPING,
    LATE,
    MISSING,
    STATE_DTYPE,
    STATES,
    STOPPED,
    UP,
    downtime,
    flips,
    states,
    time_in_states,
    timeline,
    uptime,
)
from rtt_topology.analysis.readiness import (
    CHECKS,
    readiness_summary,
)

__all__ = [
    "BASELINE_BEACONS",
    "CADENCE_COLUMNS",
    "CADENCE_THRESHOLD",
    "CHECKS",
    "COMPONENTS",
    "DEFAULT_JITTER",
    "DEFAULT_WEIGHTS",
    "DOWN",
    "DRIFT_KINDS",
    "FLAPPING",
    "FLAPPING_ONLY",
    "IMPACTED",
    "LATE",
    "LATE_ONLY",
    "METHODS",
    "MISSING",
    "REFERENCE_S",
    "ROOT_CAUSE",
    "STATES",
    "STATE_DTYPE",
    "STOPPED",
    "STRUCTURE_FIELDS",
    "TOLERANCE",
    "UP",
    "VERDICTS",
    "Coherence",
    "cadence_changes",
    "change_points",
    "declaration_scores",
    "default_penalty",
    "detect_changes",
    "downtime",
    "drift_event_counts",
    "drift_events",
    "drift_kinds",
    "flips",
    "readiness_summary",
    "root_causes",
    "states",
    "time_in_states",
    "timeline",
    "uptime",
    "url_drift",
]
