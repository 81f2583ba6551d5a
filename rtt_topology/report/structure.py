"""The report's sections on the service graph: topology, declared vs observed, rules, triads.

Tables keep their ``top_n`` most important rows (the order is given with each
table) and say how many they left out; large graphs are drawn per group.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import pandas as pd

from rtt_topology.report.analyses import Analysis
from rtt_topology.report.drawing import figure_block
from rtt_topology.report.model import Facts, Note, Section, TableBlock

__all__ = ["declared_section", "rules_section", "topology_section", "triads_section"]


def topology_section(a: Analysis, top_n: int) -> Section:
    """Lay out the service graph: its size, its drawing, groups and busiest edges."""
    from rtt_topology.plots import plot_topology

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
            figure_block(
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


def declared_section(a: Analysis, top_n: int) -> Section:
    """Lay out what the profiles declare against what the traces observed."""
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


def rules_section(a: Analysis, top_n: int) -> Section:
    """Lay out the rules' statuses and violations, and the corridors."""
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


def triads_section(a: Analysis, top_n: int) -> Section:
    """Lay out the triad census, the roles and the D-layers."""
    from rtt_topology.plots import plot_triad_census

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
        figure_block(
            lambda ax: plot_triad_census(census, ax=ax),
            "Triad census",
            "Triads of each type, on a log scale.",
            (11, 4),
        )
    )
    return section
