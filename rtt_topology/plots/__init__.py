"""Matplotlib figures of the analyses; each takes ``ax=None`` and returns ``(fig, ax)``.

Every function draws on ``ax`` (a new figure when ``ax`` is None, sized for the
plot) and returns ``(fig, ax)``, the figure and the axes it drew on; none calls
``show`` or ``savefig`` or changes the global ``rcParams``. Time axes are in UTC,
labelled ``time (UTC)``. Colours follow the upstream datacenter regime palette
(:data:`PALETTE`) and the liveness state colours (:data:`STATE_COLORS`).

Service names and other strings from the data are drawn as plain text, never as
TeX or mathtext: ``$`` is escaped (:func:`plain_text`) and TeX is off for every
text drawn. An empty input gives an empty plot with a "no data" note, not an
error; an input that is not the expected table raises
:class:`~rtt_topology.errors.InputError`.

========================================  ============================================
function                                  draws
========================================  ============================================
:func:`plot_drift`                        drift lines per service, change points,
                                          incidents
:func:`plot_drift_heatmap`                services (or groups) x time drift heatmap
:func:`plot_swimlane`                     liveness state bands per service
:func:`plot_coherence`                    system and service coherence over time
:func:`plot_heartbeat_frequency`          beacons per bucket, in total and per service
:func:`plot_cadence_histogram`            inter-beacon intervals, the 30-60 s band
:func:`plot_triad_census`                 the 16 MAN triad types
:func:`plot_topology`                     the service graph by D-layer, or by group
========================================  ============================================

Constants: :data:`PALETTE` (the upstream regime colours: stable, transitional,
paradox, interference, coherence), :data:`STATE_COLORS` (liveness state to colour:
up green, late amber, flapping purple, down red, stopped dark grey, missing light
grey), :data:`NEUTRAL_COLOR` (a service whose state is not known),
:data:`INCIDENT_COLORS` (incident kind to colour) and :data:`VIOLATION_COLOR` (rule
violations in the service graph).

The figures live by topic: :mod:`~rtt_topology.plots.drift_coherence`,
:mod:`~rtt_topology.plots.liveness_swimlane`, :mod:`~rtt_topology.plots.heartbeat_cadence`
and :mod:`~rtt_topology.plots.topology_triads`; :mod:`~rtt_topology.plots.graph_scene` lays
out the service graph and :mod:`~rtt_topology.plots.graph_drawing` draws it;
:mod:`~rtt_topology.plots.common`, :mod:`~rtt_topology.plots.tables` and
:mod:`~rtt_topology.plots.time` are the shared parts.

matplotlib is imported inside the functions: importing this package is cheap.
"""

from rtt_topology.plots.common import (
    INCIDENT_COLORS,
    NEUTRAL_COLOR,
    PALETTE,
    STATE_COLORS,
    VIOLATION_COLOR,
    plain_text,
)
from rtt_topology.plots.drift_coherence import plot_coherence, plot_drift, plot_drift_heatmap
from rtt_topology.plots.heartbeat_cadence import plot_cadence_histogram, plot_heartbeat_frequency
from rtt_topology.plots.liveness_swimlane import plot_swimlane
from rtt_topology.plots.topology_triads import plot_topology, plot_triad_census

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
