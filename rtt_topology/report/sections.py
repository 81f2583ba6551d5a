"""Compute what a report says (:func:`analyse`) and lay it out as sections (:func:`sections`).

Every analysis is one library call; this module only chooses what to show and
how much: tables keep their ``top_n`` most important rows (the order is given
with each table) and say how many they left out, and figures draw a bounded
number of services, so a report over thousands of services stays readable.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import networkx as nx
import pandas as pd

from rtt_topology.report.model import Facts, FigureBlock, Note, Section, TableBlock

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from rtt_topology.analysis.coherence import Coherence
    from rtt_topology.diagnostics.corridors import CorridorResults, CorridorSet
    from rtt_topology.diagnostics.rules.results import RuleResults
    from rtt_topology.diagnostics.rules.ruleset import RuleSet
    from rtt_topology.diagnostics.triads.decomposition import Decomposition
    from rtt_topology.graph.reconciliation import Reconciliation
    from rtt_topology.load.report import LoadReport
    from rtt_topology.schemas import Profile

__all__ = ["Analysis", "analyse", "sections"]

#: The order in which services are listed: the unhealthy ones first.
_STATE_ORDER = {"down": 0, "flapping": 1, "late": 2, "missing": 3, "stopped": 4, "up": 5}
_SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}
#: Incident kinds shaded on the drift plot (they have a span of time).
_SPAN_KINDS = ("outage", "restart_storm", "intermittent", "planned_stop", "cadence_change")
#: Characters of a quarantined record shown in the report.
_RAW_CHARS = 160


@dataclass
class Analysis:
    """Everything a report shows, computed once from the inputs."""

    G: nx.DiGraph[str]
    beacons: pd.DataFrame | None = None
    profiles: Mapping[str, Profile] | None = None
    spans: pd.DataFrame | None = None
    rule_set: RuleSet | None = None
    corridor_set: CorridorSet | None = None
    loads: dict[str, LoadReport] = field(default_factory=dict)
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    states: pd.DataFrame | None = None
    timeline: pd.DataFrame | None = None
    uptime: pd.DataFrame | None = None
    root_causes: pd.DataFrame | None = None
    drift: pd.DataFrame | None = None
    drift_kinds: pd.DataFrame | None = None
    change_points: pd.DataFrame | None = None
    cadence: pd.DataFrame | None = None
    cadence_changes: pd.DataFrame | None = None
    coherence: Coherence | None = None
    readiness: pd.DataFrame | None = None
    reconciliation: Reconciliation | None = None
    rules: RuleResults | None = None
    corridors: CorridorResults | None = None
    decomposition: Decomposition | None = None
    incidents: pd.DataFrame = field(default_factory=pd.DataFrame)


Step = Callable[[str], None]


def analyse(
    G: nx.DiGraph[str],
    *,
    beacons: pd.DataFrame | None,
    profiles: Mapping[str, Profile] | None,
    spans: pd.DataFrame | None,
    rule_set: RuleSet | None,
    corridor_set: CorridorSet | None,
    loads: dict[str, LoadReport],
    bucket: str,
    step: Step,
) -> Analysis:
    """Run every analysis the report shows; ``step(label)`` is called before each."""
    from rtt_topology.diagnostics.triads.decomposition import decompose
    from rtt_topology.graph.reconciliation import reconcile
    from rtt_topology.incidents.find import find_incidents

    result = Analysis(
        G, beacons=beacons, profiles=profiles, spans=spans, rule_set=rule_set,
        corridor_set=corridor_set, loads=loads,
    )  # fmt: skip
    if beacons is not None and len(beacons):
        _beacon_analyses(result, beacons, profiles, G, bucket, step)
    step("reconciliation")
    result.reconciliation = reconcile(G)
    if rule_set is not None:
        from rtt_topology.diagnostics.rules.ruleset import evaluate

        step("rules")
        result.rules = evaluate(rule_set, G, beacons=beacons, profiles=profiles)
    if corridor_set is not None and spans is not None:
        from rtt_topology.diagnostics.corridors import check_corridors, observed_paths

        step("corridors")
        result.corridors = check_corridors(corridor_set, observed_paths(spans))
    step("triads")
    result.decomposition = decompose(G, max_triads=20)
    step("incidents")
    quarantine = loads.get("beacons")
    result.incidents = find_incidents(
        beacons, profiles, G, rules=result.rules, corridors=result.corridors,
        load_report=quarantine,
    )  # fmt: skip
    return result


def _beacon_analyses(
    result: Analysis,
    beacons: pd.DataFrame,
    profiles: Mapping[str, Profile] | None,
    G: nx.DiGraph[str],
    bucket: str,
    step: Step,
) -> None:
    from rtt_topology.analysis.cadence import cadence, cadence_changes
    from rtt_topology.analysis.changepoints import detect_changes
    from rtt_topology.analysis.coherence import coherence
    from rtt_topology.analysis.drift import drift, drift_kinds
    from rtt_topology.analysis.impact import root_causes
    from rtt_topology.analysis.liveness import states, timeline, uptime
    from rtt_topology.analysis.readiness import readiness

    result.start, result.end = beacons["ts"].min(), beacons["ts"].max()
    step("liveness")
    result.states = states(beacons, profiles)
    result.timeline = timeline(beacons, profiles)
    result.uptime = uptime(beacons, profiles)
    result.root_causes = root_causes(result.states, G)
    step("drift")
    result.drift = drift(beacons, bucket=bucket)
    result.drift_kinds = drift_kinds(result.drift)
    step("cadence")
    result.cadence = cadence(beacons, profiles, bucket=bucket)
    result.cadence_changes = cadence_changes(beacons, profiles, bucket=bucket)
    step("change points")
    result.change_points = pd.concat(
        [
            detect_changes(result.drift, "drift").assign(series="drift"),
            detect_changes(result.cadence, "log2_ratio").assign(series="cadence"),
        ],
        ignore_index=True,
    )
    step("coherence")
    result.coherence = coherence(
        beacons, profiles, G, bucket=bucket, cadence_table=result.cadence,
        drift_table=result.drift,
    )  # fmt: skip
    step("readiness")
    result.readiness = readiness(beacons, profiles, G)


# --------------------------------------------------------------------------- figures


def _figure(
    draw: Callable[[Axes], Any], title: str, caption: str, size: tuple[float, float]
) -> FigureBlock:
    """Draw on a fresh figure (no pyplot state) and keep it as PNG bytes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    draw(fig.add_subplot())
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96)
    return FigureBlock(title, caption, buffer.getvalue())


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


def _state_rank(states: pd.DataFrame) -> pd.DataFrame:
    rank = states["state"].astype(str).map(_STATE_ORDER).fillna(9)
    return states.assign(_rank=rank).sort_values(["_rank", "site"]).drop(columns="_rank")


# --------------------------------------------------------------------------- sections


def _summary(a: Analysis) -> Section:
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
    return section


def _incidents(a: Analysis, top_n: int) -> Section:
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
            "cadence changes, structural drift), the service graph (undeclared "
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
        from rtt_topology.plots.figures import plot_swimlane

        involved = [s for sites in a.incidents["sites"] for s in sites]
        ranked = _unhealthy_first(a, involved)
        shown = ranked[: min(40, max(top_n, 20))]
        lanes = a.timeline
        section.blocks.append(
            _figure(
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


def _topology(a: Analysis, top_n: int) -> Section:
    from rtt_topology.plots.figures import plot_topology

    section = Section("topology", "Topology")
    groups: dict[str, int] = {}
    for _, data in a.G.nodes(data=True):
        key = str(data.get("group") or "(no group)")
        groups[key] = groups.get(key, 0) + 1
    calls = sum(int(d.get("calls") or 0) for _, _, d in a.G.edges(data=True))
    errors = sum(int(d.get("errors") or 0) for _, _, d in a.G.edges(data=True))
    section.blocks.append(
        Facts(
            [
                ("services", a.G.number_of_nodes()),
                ("dependencies", a.G.number_of_edges()),
                ("groups", len(groups)),
                ("traced calls", calls),
                ("traced errors", errors),
                ("weakly connected parts", nx.number_weakly_connected_components(a.G)
                 if a.G.number_of_nodes() else 0),
            ]
        )
    )  # fmt: skip
    if a.G.number_of_nodes():
        states = (
            dict(zip(a.states["site"].astype(str), a.states["state"].astype(str), strict=True))
            if a.states is not None
            else None
        )
        layers = a.decomposition.layers if a.decomposition is not None else None
        section.blocks.append(
            _figure(
                lambda ax: plot_topology(a.G, states=states, layers=layers, violations=a.rules,
                                         ax=ax),
                "Service graph",
                "Services in D-layers (D0: entry points), coloured by state; edge width by "
                "calls; dashed edges are undeclared, dotted ones declared but unused; "
                "edges that break a rule are highlighted. Large graphs are drawn per group.",
                (12, 8),
            )
        )  # fmt: skip
    if groups:
        ordered = sorted(groups.items(), key=lambda kv: (-kv[1], kv[0]))
        frame = pd.DataFrame(ordered, columns=["group", "services"])
        section.blocks.append(TableBlock.from_frame("services per group", frame, top=top_n))
    if a.G.number_of_edges():
        edges = pd.DataFrame(
            [
                (u, v, d.get("calls") or 0, d.get("errors") or 0, d.get("p95_ms"),
                 d.get("provenance"))
                for u, v, d in a.G.edges(data=True)
            ],
            columns=["caller", "callee", "calls", "errors", "p95_ms", "provenance"],
        ).sort_values(["errors", "calls"], ascending=False)  # fmt: skip
        section.blocks.append(
            TableBlock.from_frame(
                "busiest dependencies (most errors, then most calls)", edges, top=top_n
            )
        )
    return section


def _declared(a: Analysis, top_n: int) -> Section:
    section = Section("declared-vs-observed", "Declared vs observed")
    rec = a.reconciliation
    if rec is None:
        return section
    counts = rec.counts()
    items: list[tuple[str, Any]] = [
        (f"services {k}", v) for k, v in sorted(counts["nodes"].items())
    ] + [(f"dependencies {k}", v) for k, v in sorted(counts["edges"].items())]
    items += [
        (f"coverage: {k.replace('_', ' ')}", "n/a" if v is None else f"{v:.1f}%")
        for k, v in rec.coverage.items()
    ]
    section.blocks.append(Facts(items))
    nodes = rec.nodes[rec.nodes["status"] != "managed"]
    section.blocks.append(
        TableBlock.from_frame(
            "services not managed (declared and observed)",
            nodes, ["name", "status", "group"], top=top_n,
        )
    )  # fmt: skip
    edges = rec.edges[rec.edges["status"] != "managed"]
    section.blocks.append(
        TableBlock.from_frame(
            "dependencies not managed",
            edges, ["caller", "callee", "status", "kind", "calls", "errors"], top=top_n,
        )
    )  # fmt: skip
    if a.profiles is None:
        section.blocks.append(Note("No profiles were given: nothing is declared.", "warning"))
    if a.spans is None:
        section.blocks.append(
            Note("No traces were given: dependencies are only the declared ones.", "warning")
        )
    return section


def _rules(a: Analysis, top_n: int) -> Section:
    section = Section("rules", "Rules and corridors")
    if a.rules is None:
        section.blocks.append(Note("No rules file was given."))
    else:
        rows = [
            (r.id, r.kind, r.severity, r.status, len(r.violations), r.reason or r.description)
            for r in a.rules.rules
        ]
        frame = pd.DataFrame(
            rows, columns=["rule", "kind", "severity", "status", "violations", "about"]
        )
        section.blocks.append(TableBlock.from_frame("rules", frame, badges=("status", "severity")))
        found = [(r.id, v.message, v.baselined) for r in a.rules.rules for v in r.violations]
        section.blocks.append(
            TableBlock.from_frame(
                "violations",
                pd.DataFrame(found, columns=["rule", "violation", "baselined"]),
                top=top_n,
            )
        )
        level = "critical" if a.rules.broken else "ok"
        text = (
            f"Broken: {', '.join(a.rules.failing)}." if a.rules.failing else "Every rule is kept."
        )
        section.blocks.append(Note(text, level))
    if a.corridors is None:
        why = "no corridors file was given" if a.corridor_set is None else "no traces were given"
        section.blocks.append(Note(f"Corridors are not checked: {why}."))
        return section
    order = {"off_corridor": 0, "too_slow": 1, "unused": 2, "aligned": 3}
    frame = pd.DataFrame(
        [
            (c.name, " -> ".join(c.path), c.status, c.calls, c.errors, c.max_latency_ms)
            for c in sorted(a.corridors.corridors, key=lambda c: (order[c.status], c.name))
        ],
        columns=["corridor", "path", "status", "calls", "errors", "max_latency_ms"],
    )
    section.blocks.append(
        TableBlock.from_frame("corridors (broken first)", frame, top=top_n, badges=("status",))
    )
    uncovered = pd.DataFrame(
        [(" -> ".join(u.path), u.calls) for u in a.corridors.uncovered],
        columns=["observed path on no corridor", "calls"],
    )
    section.blocks.append(
        TableBlock.from_frame("observed paths on no corridor", uncovered, top=top_n)
    )
    return section


def _triads(a: Analysis, top_n: int) -> Section:
    from rtt_topology.plots.figures import plot_triad_census

    section = Section("triads", "Triads")
    d = a.decomposition
    if d is None:
        return section
    section.blocks.append(
        Note(
            "The directed triad census counts every set of three services by the pattern of "
            "calls among them (the 16 MAN types); roles and D-layers are defined in "
            "rtt_topology.diagnostics.triads.decomposition."
        )
    )
    rows = [(t, n, d.readings.get(t, "")) for t, n in d.census.items() if n]
    section.blocks.append(
        TableBlock.from_frame(
            "triad census (types present)",
            pd.DataFrame(rows, columns=["type", "triads", "reading"]),
        )
    )
    roles = pd.Series(list(d.roles.values()), dtype="object").value_counts()
    layers = pd.Series(list(d.layers.values()), dtype="object").value_counts().sort_index()
    section.blocks.append(
        Facts(
            [(f"role {k}", int(v)) for k, v in roles.items()]
            + [(f"layer {k}", int(v)) for k, v in layers.items()],
            title="roles and layers",
        )
    )
    census: dict[str, int] = {str(k): int(v) for k, v in d.census.items()}
    section.blocks.append(
        _figure(
            lambda ax: plot_triad_census(census, ax=ax),
            "Triad census",
            "Triads of each type, on a log scale.",
            (11, 4),
        )
    )
    return section


def _over_time(a: Analysis, top_n: int) -> Section:
    from rtt_topology.plots.figures import (
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
    spans = a.incidents[a.incidents["kind"].isin(_SPAN_KINDS) & a.incidents["start"].notna()]
    shaded = spans.explode("sites").rename(columns={"sites": "service", "kind": "label"})[
        ["start", "end", "service", "label"]
    ]
    drift_table, points, coherence, beacons = a.drift, a.change_points, a.coherence, a.beacons
    drift_points = (
        points[points["series"] == "drift"] if points is not None and len(points) else None
    )
    section.blocks.append(
        _figure(
            lambda ax: plot_drift(drift_table, change_points=drift_points, incidents=shaded,
                                  ax=ax),
            "Structural drift",
            "Drift (0: the structure of the baseline, 1: all of it changed) of the services "
            "that drifted most; change points marked, incidents shaded.",
            (12, 4.5),
        )
    )  # fmt: skip
    section.blocks.append(
        _figure(
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
            _figure(
                lambda ax: plot_coherence(coherence, services=worst, ax=ax),
                "Coherence over time",
                "The system's coherence (thick) and the five least coherent services.",
                (12, 4.5),
            )
        )
    section.blocks.append(
        _figure(
            lambda ax: plot_heartbeat_frequency(beacons, ax=ax),
            "Heartbeat frequency",
            "Beacons per time bucket, all services.",
            (12, 3.5),
        )
    )
    section.blocks.append(
        _figure(
            lambda ax: plot_cadence_histogram(beacons, ax=ax),
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


def _readiness(a: Analysis, top_n: int) -> Section:
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


def _inputs(a: Analysis, top_n: int) -> Section:
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


def sections(a: Analysis, *, top_n: int, step: Step) -> list[Section]:
    """Lay the analysis out as the report's sections, in order."""
    out = []
    builders: list[tuple[str, Callable[[], Section]]] = [
        ("summary", lambda: _summary(a)),
        ("incidents", lambda: _incidents(a, top_n)),
        ("topology", lambda: _topology(a, top_n)),
        ("declared vs observed", lambda: _declared(a, top_n)),
        ("rules and corridors", lambda: _rules(a, top_n)),
        ("triads", lambda: _triads(a, top_n)),
        ("drift and coherence", lambda: _over_time(a, top_n)),
        ("readiness", lambda: _readiness(a, top_n)),
        ("inputs", lambda: _inputs(a, top_n)),
    ]
    for label, build in builders:
        step(label)
        out.append(build())
    return out
