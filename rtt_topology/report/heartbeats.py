"""The report's sections read from the heartbeats over time: drift, coherence, readiness.

Figures draw a bounded number of services and tables keep their ``top_n`` most
important rows, so a report over thousands of services stays readable.
"""

from __future__ import annotations

from typing import cast

import pandas as pd

from rtt_topology.report.analyses import Analysis
from rtt_topology.report.drawing import figure_block
from rtt_topology.report.model import Note, Section, TableBlock

__all__ = ["over_time_section", "readiness_section"]

#: Incident kinds shaded on the drift plot (they have a span of time).
_SPAN_KINDS = ("outage", "restart_storm", "intermittent", "planned_stop", "cadence_change")


def over_time_section(a: Analysis, top_n: int) -> Section:
    """Lay out drift, coherence, heartbeat frequency and cadence over time."""
    from rtt_topology.plots import (
        plot_cadence_histogram,
        plot_coherence,
        plot_drift,
        plot_drift_heatmap,
        plot_heartbeat_frequency,
    )

    section = Section("over-time", "Drift and coherence over time")
    if a.drift is None or a.beacons is None:
        section.blocks.append(Note("No beacons were given.", "warning"))
        return section
    # A history gives its small tables to the figures; a beacon table, itself.
    table = cast(pd.DataFrame, a.beacons)  # a beacon table unless the tables below are there
    frequency = a.frequency if a.frequency is not None else table
    intervals = a.intervals if a.intervals is not None else table
    spans = a.incidents[a.incidents["kind"].isin(_SPAN_KINDS) & a.incidents["start"].notna()]
    shaded = spans.explode("sites").rename(columns={"sites": "service", "kind": "label"})[
        ["start", "end", "service", "label"]
    ]
    drift_table, points, coherence = a.drift, a.change_points, a.coherence
    drift_points = (
        points[points["series"] == "drift"] if points is not None and len(points) else None
    )
    section.blocks.append(
        figure_block(
            lambda ax: plot_drift(drift_table, change_points=drift_points, incidents=shaded,
                                  ax=ax),
            "Structural drift",
            "Drift (0: the structure of the baseline, 1: all of it changed) of the services "
            "that drifted most; change points marked, incidents shaded.",
            (12, 4.5),
        )
    )  # fmt: skip
    section.blocks.append(
        figure_block(
            lambda ax: plot_drift_heatmap(drift_table, ax=ax),
            "Drift of every service",
            "Services by time bucket; darker is more drift.",
            (12, 6),
        )
    )
    if coherence is not None:
        worst = (
            coherence.services.sort_values("coherence")["site"].astype(str).head(5).tolist()
            if len(coherence.services)
            else []
        )
        section.blocks.append(
            figure_block(
                lambda ax: plot_coherence(coherence, services=worst, ax=ax),
                "Coherence over time",
                "The system's coherence (thick) and the five least coherent services.",
                (12, 4.5),
            )
        )
    section.blocks.append(
        figure_block(
            lambda ax: plot_heartbeat_frequency(frequency, ax=ax),
            "Heartbeat frequency",
            "Beacons per time bucket, all services.",
            (12, 3.5),
        )
    )
    section.blocks.append(
        figure_block(
            lambda ax: plot_cadence_histogram(intervals, ax=ax),
            "Cadence",
            "Intervals between beacons of one session; the upstream cadence is 30-60 s.",
            (12, 3.5),
        )
    )
    kinds = a.drift_kinds
    if kinds is not None and "kind" in kinds.columns:
        drifting = kinds[kinds["kind"] != "none"]
        section.blocks.append(TableBlock.from_frame("services that drifted", drifting, top=top_n))
    if a.cadence_changes is not None:
        section.blocks.append(
            TableBlock.from_frame("cadence changes", a.cadence_changes, top=top_n)
        )
    if points is not None:
        section.blocks.append(TableBlock.from_frame("change points", points, top=top_n))
    if coherence is not None and len(coherence.services):
        section.blocks.append(
            TableBlock.from_frame(
                "least coherent services",
                coherence.services.sort_values("coherence"),
                top=top_n,
            )
        )
    return section


def readiness_section(a: Analysis, top_n: int) -> Section:
    """Lay out the RTT-Inside readiness checklist over the services."""
    from rtt_topology.analysis.readiness import readiness_summary

    section = Section("readiness", "Readiness checklist")
    if a.readiness is None or a.beacons is None:
        section.blocks.append(Note("No beacons were given.", "warning"))
        return section
    summary = readiness_summary(a.readiness).reset_index()
    checks = [c for c in summary.columns if c not in ("site", "failed", "ready")]
    counts = pd.DataFrame(
        [
            (check, int((summary[check] == "pass").sum()), int((summary[check] == "fail").sum()),
             int((summary[check] == "unknown").sum()))
            for check in checks
        ],
        columns=["check", "pass", "fail", "unknown"],
    )  # fmt: skip
    ready = int(summary["ready"].sum())
    section.blocks.append(
        Note(
            f"{ready} of {len(summary)} services are RTT-Inside ready (every check of the "
            "upstream checklist passes).",
            "ok" if ready == len(summary) else "warning",
        )
    )
    section.blocks.append(TableBlock.from_frame("checks", counts))
    section.blocks.append(
        TableBlock.from_frame(
            "services not ready",
            summary[~summary["ready"]],
            ["site", "failed"],
            top=top_n,
        )
    )
    return section
