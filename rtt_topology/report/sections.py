"""Lay out what a report says as its sections, in order (:func:`sections`).

:func:`analyse` (in :mod:`rtt_topology.report.analyses`) runs every analysis
once; each section's layout chooses what to show and how much: tables keep
their ``top_n`` most important rows (the order is given with each table) and
say how many they left out, and figures draw a bounded number of services, so
a report over thousands of services stays readable. The layouts live in
:mod:`~rtt_topology.report.findings` (summary, incidents, inputs),
:mod:`~rtt_topology.report.structure` (topology, declared vs observed, rules
and corridors, triads) and :mod:`~rtt_topology.report.heartbeats` (drift and
coherence over time, readiness).
"""

from __future__ import annotations

from collections.abc import Callable

from rtt_topology.report.analyses import Analysis, Step
from rtt_topology.report.findings import incidents_section, inputs_section, summary_section
from rtt_topology.report.heartbeats import over_time_section, readiness_section
from rtt_topology.report.model import Section
from rtt_topology.report.structure import (
    declared_section,
    rules_section,
    topology_section,
    triads_section,
)

__all__ = ["sections"]


def sections(a: Analysis, *, top_n: int, step: Step) -> list[Section]:
    """Lay the analysis out as the report's sections, in order."""
    out = []
    builders: list[tuple[str, Callable[[], Section]]] = [
        ("summary", lambda: summary_section(a)),
        ("incidents", lambda: incidents_section(a, top_n)),
        ("topology", lambda: topology_section(a, top_n)),
        ("declared vs observed", lambda: declared_section(a, top_n)),
        ("rules and corridors", lambda: rules_section(a, top_n)),
        ("triads", lambda: triads_section(a, top_n)),
        ("drift and coherence", lambda: over_time_section(a, top_n)),
        ("readiness", lambda: readiness_section(a, top_n)),
        ("inputs", lambda: inputs_section(a, top_n)),
    ]
    for label, build in builders:
        step(label)
        out.append(build())
    return out
