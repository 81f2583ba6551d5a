"""Matplotlib figures of the analyses; each takes ``ax=None`` and returns ``(fig, ax)``."""

from rtt_topology.plots.figures import (
    INCIDENT_COLORS,
    NEUTRAL_COLOR,
    PALETTE,
    STATE_COLORS,
    VIOLATION_COLOR,
    plain_text,
    plot_cadence_histogram,
    plot_coherence,
    plot_drift,
    plot_drift_heatmap,
    plot_heartbeat_frequency,
    plot_swimlane,
    plot_topology,
    plot_triad_census,
)

__all__ = [
    "INCIDENT_COLORS",
    "NEUTRAL_COLOR",
    "PALETTE",
    "STATE_COLORS",
    "VIOLATION_COLOR",
    "plain_text",
    "plot_cadence_histogram",
    "plot_coherence",
    "plot_drift",
    "plot_drift_heatmap",
    "plot_heartbeat_frequency",
    "plot_swimlane",
    "plot_topology",
    "plot_triad_census",
]
