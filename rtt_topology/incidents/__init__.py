"""Incidents: every analysis folded into one table of what happened."""

from rtt_topology.incidents.find import (
    INCIDENT_COLUMNS,
    INCIDENT_KINDS,
    find_incidents,
)

__all__ = [
    "INCIDENT_COLUMNS",
    "INCIDENT_KINDS",
    "find_incidents",
]
