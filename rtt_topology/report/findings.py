"""The report's sections on what was found: summary, incidents, inputs and quarantines.

Tables keep their ``top_n`` most important rows (the order is given with each
table) and say how many they left out.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from rtt_topology.report.analyses import Analysis
from rtt_topology.report.drawing import figure_block
from rtt_topology.report.model import Facts, Note, Section, TableBlock

__all__ = ["incidents_section", "inputs_section", "summary_section"]

#: The order in which services are listed: the unhealthy ones first.
_STATE_ORDER = {
    "down": 0, "flapping": 1, "late": 2, "unknown": 3, "missing": 4, "stopped": 5, "up": 6,
}  # fmt: skip
_SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}
#: Characters of a quarantined record shown in the report.
_RAW_CHARS = 160


def _pct(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{value:.1%}"


def _when(value: Any) -> str:
    stamp = pd.Timestamp(value) if value is not None else pd.NaT
    return "?" if pd.isna(stamp) else f"{stamp:%Y-%m-%d %H:%M:%S} UTC"


def _span_text(start: Any, end: Any) -> str:
    if start is None or end is None or pd.isna(start) or pd.isna(end):
        return "no beacons"
    hours = (end - start).total_seconds() / 3600
    return f"{_when(start)} to {_when(end)} ({hours:.1f} h)"


def summary_section(a: Analysis) -> Section:
    """Lay out the summary: the window, services by state, incidents, rules, loads."""
    section = Section("summary", "Summary")
    items: list[tuple[str, Any]] = [("window", _span_text(a.start, a.end))]
    if a.states is not None:
        counts = a.states["state"].astype(str).value_counts()
        items.append(("services with beacons", len(a.states)))
        items += [
            (f"services {state}", int(counts.get(state, 0)))
            for state in _STATE_ORDER
            if counts.get(state, 0)
        ]
    items.append(("services in the graph", a.G.number_of_nodes()))
    items.append(("dependencies in the graph", a.G.number_of_edges()))
    if a.coherence is not None:
        items.append(("system coherence", _pct(a.coherence.overall)))
    critical = int((a.incidents["severity"] == "critical").sum()) if len(a.incidents) else 0
    items.append(("incidents", f"{len(a.incidents)} ({critical} critical)"))
    if a.rules is not None:
        broken = sum(r.status == "broken" for r in a.rules.rules)
        items.append(
            ("rules broken", f"{broken} of {len(a.rules.rules)} ({len(a.rules.failing)} at "
             f"severity {a.rules.fail_on} or above)")
        )  # fmt: skip
    if a.corridors is not None:
        bad = sum(c.status not in ("aligned", "unused") for c in a.corridors.corridors)
        items.append(("corridors broken", f"{bad} of {len(a.corridors.corridors)}"))
    for name, report in a.loads.items():
        items.append(
            (f"{name} read", f"{report.read} ({report.accepted} accepted, "
             f"{report.rejected} quarantined)")
        )  # fmt: skip
    section.blocks.append(Facts(items))
    if a.states is None:
        section.blocks.append(Note("No beacons were given: liveness, drift and coherence "
                                   "are left out.", "warning"))  # fmt: skip
    elif len(a.incidents) == 0:
        section.blocks.append(Note("No incident found in the window.", "ok"))
    else:
        worst = a.incidents[a.incidents["severity"] == "critical"]
        for summary in worst["summary"].head(5):
            section.blocks.append(Note(str(summary), "critical"))
        # A collector gap explains many silences at once: say so before anyone counts outages.
        gaps = a.incidents[a.incidents["kind"] == "collector_gap"]
        for summary in gaps["summary"].head(3):
            section.blocks.append(Note(f"Collector gap: {summary}.", "warning"))
    return section


def incidents_section(a: Analysis, top_n: int) -> Section:
    """Lay out the incidents, the unhealthy services' root causes and the swimlane."""
    section = Section("incidents", "Incidents and root causes")
    table = a.incidents
    limit = max(top_n * 2, 40)
    if len(table) > limit:
        rank = table["severity"].map(_SEVERITY_ORDER)
        keep = rank.sort_values(kind="stable").index[:limit]
        table = table.loc[sorted(keep)]
    section.blocks.append(
        Note(
            "Incidents come from the heartbeats (outages, restart storms, planned stops, "
            "cadence changes, structural drift, collector gaps: services of one collector "
            "file silent and back together, shown unknown in the swimlane, not down), the "
            "service graph (undeclared "
            "dependencies), the rules and corridors, and the quarantined records; "
            "the most severe come first when the list is cut.",
        )
    )
    block = TableBlock.from_frame(
        "incidents, by start",
        table,
        ["severity", "kind", "sites", "start", "end", "summary"],
        badges=("severity",),
    )
    section.blocks.append(
        TableBlock(block.title, block.columns, block.rows, len(a.incidents), None, block.badges)
    )
    if a.root_causes is not None:
        causes = a.root_causes
        section.blocks.append(
            TableBlock.from_frame(
                f"unhealthy services at {_when(a.end)} and their root causes",
                causes,
                ["site", "state", "verdict", "root_causes", "impacts", "explanation"],
                top=top_n,
                badges=("state",),
            )
        )
    if a.timeline is not None and len(a.timeline):
        from rtt_topology.plots import plot_swimlane

        involved = [s for sites in a.incidents["sites"] for s in sites]
        ranked = _unhealthy_first(a, involved)
        shown = ranked[: min(40, max(top_n, 20))]
        lanes = a.timeline
        section.blocks.append(
            figure_block(
                lambda ax: plot_swimlane(lanes, services=shown, ax=ax),
                "Liveness over time",
                f"State bands per service ({len(shown)} of {a.timeline['site'].nunique()} "
                "services: those with incidents or the least uptime first).",
                (12, max(3.0, 0.28 * len(shown) + 1.5)),
            )
        )
    return section


def _unhealthy_first(a: Analysis, involved: list[str]) -> list[str]:
    """Services ordered by: named in incidents, then least uptime, then name."""
    if a.uptime is not None and len(a.uptime):
        ratio = dict(zip(a.uptime["site"].astype(str), a.uptime["uptime_pct"], strict=True))
    else:
        ratio = {}
    names = sorted(set(map(str, a.timeline["site"].unique())) if a.timeline is not None else [])
    first = {s: i for i, s in enumerate(dict.fromkeys(involved))}
    return sorted(names, key=lambda s: (s not in first, first.get(s, 0), ratio.get(s, 100.0), s))


def inputs_section(a: Analysis, top_n: int) -> Section:
    """Lay out what each load read, and the records it quarantined."""
    section = Section("inputs", "Inputs and quarantined records")
    for name, report in a.loads.items():
        section.blocks.append(Note(f"{name}: {report.summary().splitlines()[0]}"))
        section.blocks.append(TableBlock.from_frame(f"{name} files", report.by_file(), top=top_n))
        if report.rejects:
            section.blocks.append(
                TableBlock.from_frame(f"{name}: rejections by reason", report.reasons(),
                                      top=top_n)
            )  # fmt: skip
            rejects = report.rejects_frame()
            raw = rejects["raw"].astype(str)
            rejects["record"] = raw.where(raw.str.len() <= _RAW_CHARS, raw.str[:_RAW_CHARS] + "…")
            section.blocks.append(
                TableBlock.from_frame(
                    f"{name}: quarantined records",
                    rejects,
                    ["source", "line", "field", "reason", "record"],
                    top=top_n,
                )
            )
        for failure in report.failures:
            section.blocks.append(Note(f"{failure.source}: {failure.reason}", "warning"))
    if not a.loads:
        section.blocks.append(Note("The inputs were given as tables: no load report."))
    return section
