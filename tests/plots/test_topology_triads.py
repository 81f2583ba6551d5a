"""plot_triad_census and plot_topology."""

from __future__ import annotations

from typing import Any

import matplotlib
import networkx as nx
import pytest
from matplotlib.collections import PathCollection

from rtt_topology.diagnostics.triads.decomposition import TRIAD_TYPES
from rtt_topology.errors import InputError
from rtt_topology.plots import (
    NEUTRAL_COLOR,
    STATE_COLORS,
    plot_topology,
    plot_triad_census,
)
from tests.plots.artists import arrows, legend_labels, notes

# --- triads -------------------------------------------------------------------------------------


def test_triad_census_demo(demo_analyses: dict[str, Any]) -> None:
    census = demo_analyses["census"]
    _, ax = plot_triad_census(census)
    assert [t.get_text() for t in ax.get_xticklabels()] == list(TRIAD_TYPES)
    heights = [p.get_height() for p in ax.patches]
    assert heights == [census.counts[t] for t in TRIAD_TYPES]
    assert [t.get_text() for t in ax.texts] == [f"{census.counts[t]:,}" for t in TRIAD_TYPES]
    assert ax.get_yscale() == "log"
    assert ax.get_title() == "triad census (40 services, 63 edges)"
    assert legend_labels(ax)[0] == "not connected"


def test_triad_census_from_networkx_dict() -> None:
    G = nx.DiGraph([(1, 2), (2, 3), (3, 1)])
    _, ax = plot_triad_census(nx.triadic_census(G), log=False)
    heights = dict(zip(TRIAD_TYPES, (p.get_height() for p in ax.patches), strict=True))
    assert heights["030C"] == 1
    assert sum(heights.values()) == 1
    assert ax.get_yscale() == "linear"
    with pytest.raises(InputError, match="unknown triad type"):
        plot_triad_census({"999": 1})
    _, empty = plot_triad_census(nx.triadic_census(nx.DiGraph([(1, 2)])))
    assert "no triads (fewer than three services)" in notes(empty)
    assert empty.get_yscale() == "linear"


# --- the service graph --------------------------------------------------------------------------


def test_topology_demo(demo_graph: nx.DiGraph[str], demo_analyses: dict[str, Any]) -> None:
    G = demo_graph
    _, ax = plot_topology(G, states=demo_analyses["states"], violations=demo_analyses["rules"])
    drawn = arrows(ax)
    assert len(drawn) == G.number_of_edges()
    provenance = [p for *_, p in G.edges(data="provenance")]
    assert sum(a.get_linestyle() == "--" for a in drawn) == provenance.count("traced")
    assert sum(a.get_linestyle() == ":" for a in drawn) == provenance.count("declared")
    broken = {
        (v.caller, v.callee)
        for r in demo_analyses["rules"].rules
        for v in r.violations
        if v.caller and (v.caller, v.callee) in G.edges
    }
    assert len(broken) == 3
    assert sum(a.get_gid().endswith(":broken") for a in drawn) == len(broken)
    labels = {t.get_text() for t in ax.texts}
    assert labels == set(G.nodes)
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"D{i}" for i in range(8)]
    legend = legend_labels(ax)
    assert {"up", "late", "missing", "traced, not declared", "call breaks a rule"} <= set(legend)
    assert ax.get_title() == "service graph: 40 services, 63 edges, layers D0-D7"


def test_topology_layers_follow_calls(demo_graph: nx.DiGraph[str]) -> None:
    from rtt_topology.diagnostics.triads.decomposition import layers

    G = demo_graph
    _, ax = plot_topology(G)
    position = {t.get_text(): t.xy for t in ax.texts}
    for node, layer in layers(G).items():
        assert position[node][0] == int(layer[1:])
    # Without states every node is neutral.
    (nodes,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert {tuple(c) for c in nodes.get_facecolors()} == {matplotlib.colors.to_rgba(NEUTRAL_COLOR)}


def test_topology_states_from_a_mapping_or_node_attribute() -> None:
    G = nx.DiGraph([("web", "api"), ("api", "db")])
    _, ax = plot_topology(G, states={"web": "up", "api": "down"})
    (nodes,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    colors = [matplotlib.colors.to_hex(c) for c in nodes.get_facecolors()]
    assert colors == [STATE_COLORS["up"], STATE_COLORS["down"], NEUTRAL_COLOR]
    nx.set_node_attributes(G, {"db": "late"}, "state")
    (nodes,) = [c for c in plot_topology(G)[1].collections if isinstance(c, PathCollection)]
    assert matplotlib.colors.to_hex(nodes.get_facecolors()[-1]) == STATE_COLORS["late"]


def test_topology_violations_as_pairs_cycles_and_nodes() -> None:
    from rtt_topology.diagnostics.rules.kinds import Violation

    G = nx.DiGraph([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")])
    cycle = Violation(key="a -> b -> c -> a", message="cycle", cycle=["a", "b", "c"])
    node = Violation(key="d", message="slow", node="d")
    _, ax = plot_topology(G, violations=[cycle, node, ("c", "d")])
    assert sum(a.get_gid().endswith(":broken") for a in arrows(ax)) == 4
    assert "service breaks a rule" in legend_labels(ax)
    with pytest.raises(InputError, match="violation"):
        plot_topology(G, violations=[42])


def test_topology_folds_tall_columns() -> None:
    # One strongly connected component: every service shares a layer.
    G = nx.DiGraph(nx.cycle_graph(70, create_using=nx.DiGraph))
    _, ax = plot_topology(G, aggregate=False)
    xs = {round(t.xy[0], 3) for t in ax.texts}
    ys = {t.xy[1] for t in ax.texts}
    assert len(xs) == 3  # 70 services in three sub-columns of at most 30 rows
    assert len(ys) <= 30
    assert [t.get_text() for t in ax.get_xticklabels()] == ["D0"]


def test_topology_nodes_without_layer() -> None:
    G = nx.DiGraph([("web", "api")])
    G.add_node("lonely")
    _, ax = plot_topology(G, layers={"web": "D0", "api": "D1"})
    assert [t.get_text() for t in ax.get_xticklabels()] == ["D0", "D1", "no layer"]


@pytest.mark.parametrize(
    ("graph", "message"),
    [
        (nx.DiGraph(), "no services"),
        (nx.DiGraph([("only", "only")]), "(no calls); 1 self-call not drawn"),
    ],
)
def test_topology_edge_cases(graph: nx.DiGraph[str], message: str) -> None:
    _, ax = plot_topology(graph)
    assert message in " ".join([*notes(ax), ax.get_title()])


def test_topology_one_node_and_no_edges() -> None:
    G = nx.DiGraph()
    G.add_nodes_from(["a", "b", "c"])
    _, ax = plot_topology(G)
    assert arrows(ax) == []
    assert {t.get_text() for t in ax.texts} == {"a", "b", "c"}
    assert ax.get_title() == "service graph: 3 services, 0 edges, layers D0 (no calls)"
    _, single = plot_topology(nx.DiGraph([("x", "x")]).subgraph(["x"]).copy())
    assert [t.get_text() for t in single.texts] == ["x"]


def synthetic(services: int, groups: int, seed: int = 3) -> nx.DiGraph[str]:
    G = nx.gnm_random_graph(services, services * 3, seed=seed, directed=True)
    G = nx.relabel_nodes(G, {i: f"svc-{i:04d}" for i in G})
    for i, n in enumerate(sorted(G)):
        G.nodes[n]["group"] = f"group-{i % groups:02d}"
    for k, (u, v) in enumerate(G.edges):
        G.edges[u, v]["provenance"] = ("both", "traced", "declared")[k % 3]
        G.edges[u, v]["calls"] = 0 if k % 3 == 2 else 10 + k
    return G


def test_topology_aggregates_large_graphs() -> None:
    G = synthetic(600, 12)
    down = {n: "down" for n in G if G.nodes[n]["group"] == "group-03"}
    _, ax = plot_topology(G, states=down)
    assert ax.get_title().startswith("service graph aggregated by group: 600 services in 12 groups")
    labels = sorted(t.get_text() for t in ax.texts)
    assert labels[0] == "group-00\n(50 services)"
    assert len(labels) == 12
    (nodes,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert sorted(nodes.get_array().tolist()) == [0.0] * 11 + [1.0]  # group-03 is down
    assert len(arrows(ax)) <= 12 * 11
    assert nodes.colorbar is not None
    assert nodes.colorbar.ax.get_ylabel() == "share of services down"


def test_topology_aggregate_switch() -> None:
    G = synthetic(60, 4)
    assert "aggregated" not in plot_topology(G)[1].get_title()
    assert "aggregated by group" in plot_topology(G, aggregate=True)[1].get_title()
    assert "aggregated" in plot_topology(G, max_nodes=10)[1].get_title()
    assert "aggregated" not in plot_topology(G, aggregate=False, max_nodes=10)[1].get_title()
    nx.set_node_attributes(G, None, "group")
    assert "aggregated by layer" in plot_topology(G, aggregate=True)[1].get_title()
    with pytest.raises(InputError, match="aggregate"):
        plot_topology(G, aggregate="yes")  # type: ignore[arg-type]


def test_topology_splits_few_groups_by_layer() -> None:
    G = nx.DiGraph([("web", "api"), ("api", "db"), ("web", "cache"), ("batch", "db")])
    nx.set_node_attributes(G, dict.fromkeys(G, "dc-east") | {"batch": "dc-west"}, "group")
    _, ax = plot_topology(G, aggregate=True)
    assert ax.get_title().startswith("service graph aggregated by group and layer: 5 services")
    labels = sorted(t.get_text() for t in ax.texts)
    assert labels == [
        "dc-east · D0\n(1 service)",
        "dc-east · D1\n(2 services)",
        "dc-east · D2\n(1 service)",
        "dc-west · D0\n(1 service)",
    ]
    _, ax = plot_topology(G, aggregate=True, max_nodes=1)  # more groups than max_nodes
    assert "aggregated by layer" in ax.get_title()


def test_topology_rejects_other_graphs() -> None:
    with pytest.raises(InputError, match="DiGraph"):
        plot_topology(nx.Graph([(1, 2)]))  # type: ignore[arg-type]
