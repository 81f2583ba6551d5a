from __future__ import annotations

import inspect
import itertools
import json
import re
import tracemalloc
from collections import Counter
from typing import Any

import networkx as nx
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtt_topology.diagnostics.triads import decomposition as tr
from rtt_topology.diagnostics.triads.decomposition import (
    CONNECTED_TYPES,
    LAYERS,
    READINGS,
    ROLES,
    TRIAD_TYPES,
    Decomposition,
    census,
    decompose,
    layers,
    node_census,
    roles,
    triad_chunks,
    triadic_census,
    triads,
)
from rtt_topology.errors import InputError
from rtt_topology.load import TraceLoad
from rtt_topology.schemas import Profile


@st.composite
def digraphs(draw: st.DrawFn, max_nodes: int = 40) -> nx.DiGraph[Any]:
    """Random digraphs with self-loops and mutual edges, nodes in a shuffled order."""
    n = draw(st.integers(0, max_nodes))
    order = draw(st.permutations(range(n)))
    G: nx.DiGraph[Any] = nx.DiGraph()
    G.add_nodes_from(order)
    if n:
        node = st.integers(0, n - 1)
        for u, v, both in draw(st.lists(st.tuples(node, node, st.booleans()), max_size=4 * n)):
            G.add_edge(u, v)
            if both:
                G.add_edge(v, u)
    return G


def _brute_force(G: nx.DiGraph[Any]) -> dict[frozenset[Any], str]:
    """Each connected triad's type, from a loop over every triple (networkx as the oracle)."""
    found: dict[frozenset[Any], str] = {}
    for triple in itertools.combinations(G, 3):
        counts = nx.triadic_census(G.subgraph(triple))
        (kind,) = (t for t, c in counts.items() if c)
        if kind in CONNECTED_TYPES:
            found[frozenset(triple)] = kind
    return found


def _documented_patterns() -> dict[str, set[tuple[int, int]]]:
    """The pattern column of the module docstring's table, as edges between positions."""
    patterns: dict[str, set[tuple[int, int]]] = {}
    for line in (tr.__doc__ or "").splitlines():
        match = re.match(r"^(\d{3}[DUCT]?)\s{2,}(.+?)\s{2,}", line)
        if not match:
            continue
        edges: set[tuple[int, int]] = set()
        if match[2] == "all six calls":
            edges = {(p, q) for p in range(3) for q in range(3) if p != q}
        for chain in match[2].split(", ") if match[2][0].isdigit() else []:
            tokens = re.split(r"(<->|->)", chain)
            for p, arrow, q in zip(tokens[0::2], tokens[1::2], tokens[2::2], strict=False):
                edges.add((int(p), int(q)))
                if arrow == "<->":
                    edges.add((int(q), int(p)))
        patterns[match[1]] = edges
    return patterns


PATTERNS = _documented_patterns()


def test_constants() -> None:
    assert tuple(nx.triadic_census(nx.DiGraph())) == TRIAD_TYPES
    assert TRIAD_TYPES[3:] == CONNECTED_TYPES
    assert tuple(READINGS) == TRIAD_TYPES
    assert ROLES == ("generate", "transform", "sustain")
    assert tuple(f"D{i}" for i in range(8)) == LAYERS
    assert set(PATTERNS) == set(TRIAD_TYPES)


@pytest.mark.parametrize("code", range(64))
def test_every_three_node_graph_has_networkx_type_and_documented_pattern(code: int) -> None:
    pairs = [(p, q) for p in range(3) for q in range(3) if p != q]
    G: nx.DiGraph[int] = nx.DiGraph()
    G.add_nodes_from(range(3))
    G.add_edges_from(pair for bit, pair in enumerate(pairs) if code >> bit & 1)
    expected = nx.triadic_census(G)
    assert triadic_census(G) == expected
    (kind,) = (t for t, c in expected.items() if c)
    found = list(triads(G))
    if kind not in CONNECTED_TYPES:
        assert found == []
        return
    (triad,) = found
    assert triad.type == kind
    at = {node: i for i, node in enumerate(triad.nodes)}
    assert {(at[u], at[v]) for u, v in G.edges} == PATTERNS[kind]


@settings(max_examples=150, deadline=None)
@given(digraphs())
def test_census_equals_networkx(G: nx.DiGraph[Any]) -> None:
    result = census(G)
    assert result.counts == nx.triadic_census(G)
    assert list(result.counts) == list(TRIAD_TYPES)
    assert triadic_census(G) == result.counts
    assert result.self_loops == [v for v in G if G.has_edge(v, v)]
    assert (result.nodes, result.edges) == (G.number_of_nodes(), G.number_of_edges())
    dyads = {frozenset((u, v)) for u, v in G.edges if u != v}
    mutual = sum(1 for d in dyads if G.has_edge(*d) and G.has_edge(*reversed(tuple(d))))
    assert (result.mutual, result.asymmetric) == (mutual, len(dyads) - mutual)


@settings(max_examples=100, deadline=None)
@given(digraphs(max_nodes=12))
def test_enumeration_matches_brute_force(G: nx.DiGraph[Any]) -> None:
    found = list(triads(G))
    by_set = {frozenset(t.nodes): t.type for t in found}
    assert len(by_set) == len(found)
    assert by_set == _brute_force(G)
    position = {node: i for i, node in enumerate(G)}
    for triad in found:
        # The nodes follow the documented pattern, earliest in graph order among equals.
        matching = [
            order
            for order in itertools.permutations(triad.nodes)
            if {(order.index(u), order.index(v)) for u, v in G.subgraph(order).edges if u != v}
            == PATTERNS[triad.type]
        ]
        assert triad.nodes == min(matching, key=lambda o: [position[v] for v in o])


@settings(max_examples=100, deadline=None)
@given(digraphs(max_nodes=25))
def test_node_census_matches_enumeration(G: nx.DiGraph[Any]) -> None:
    frame = node_census(G)
    assert list(frame.columns) == list(CONNECTED_TYPES)
    assert list(frame.index) == list(G)
    assert frame.index.name == "node"
    assert all(dtype == "int64" for dtype in frame.dtypes)
    counts = nx.triadic_census(G)
    assert frame.sum().to_dict() == {t: 3 * counts[t] for t in CONNECTED_TYPES}
    seen = Counter((node, t.type) for t in triads(G) for node in t.nodes)
    for node in G:
        assert frame.loc[node].to_dict() == {t: seen[node, t] for t in CONNECTED_TYPES}


def test_types_filter_keeps_order() -> None:
    G = nx.gnm_random_graph(30, 120, directed=True, seed=3)
    everything = list(triads(G))
    for kinds in (["030C"], ["021C", "300"], "120U"):
        wanted = [kinds] if isinstance(kinds, str) else kinds
        assert list(triads(G, types=kinds)) == [t for t in everything if t.type in wanted]


@pytest.mark.parametrize("types", [["003"], ["012"], ["102"], ["21C"], ["021C", "nope"]])
def test_types_must_be_connected(types: list[str]) -> None:
    G = nx.DiGraph([(1, 2)])
    with pytest.raises(InputError, match="triad type"):
        triads(G, types=types)
    with pytest.raises(InputError, match="triad type"):
        triad_chunks(G, types=types)


def test_streaming_a_hub_builds_only_what_is_taken() -> None:
    # 12.5 million fan-outs: as a list they would take gigabytes.
    G = nx.DiGraph([("hub", f"leaf{i}") for i in range(5000)])
    tracemalloc.start()
    try:
        assert inspect.isgenerator(triads(G))
        first = list(itertools.islice(triads(G), 10))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000
    assert [t.nodes for t in first[:2]] == [("hub", "leaf0", "leaf1"), ("hub", "leaf0", "leaf2")]
    assert {t.type for t in first} == {"021D"}
    assert census(G).counts["021D"] == 5000 * 4999 // 2


def test_chunks_follow_triads() -> None:
    G = nx.gnm_random_graph(40, 150, directed=True, seed=5)
    expected = list(triads(G))
    frames = list(triad_chunks(G, size=97))
    assert [len(f) for f in frames[:-1]] == [97] * (len(frames) - 1)
    assert 0 < len(frames[-1]) <= 97
    whole = pd.concat(frames, ignore_index=True)
    assert list(whole.columns) == ["a", "b", "c", "type"]
    assert isinstance(frames[0]["type"].dtype, pd.CategoricalDtype)
    assert list(frames[0]["type"].cat.categories) == list(CONNECTED_TYPES)
    rows = list(zip(whole["a"], whole["b"], whole["c"], whole["type"].astype(str), strict=True))
    assert rows == [(*t.nodes, t.type) for t in expected]
    with pytest.raises(InputError, match="size"):
        triad_chunks(G, size=0)
    assert list(triad_chunks(nx.DiGraph(), size=5)) == []


def test_graph_views_and_small_graphs() -> None:
    G = nx.gnm_random_graph(25, 90, directed=True, seed=8)
    for view in (G.subgraph(range(0, 25, 2)), G.reverse(copy=False)):
        assert triadic_census(view) == nx.triadic_census(view)
        assert len(list(triads(view))) == sum(nx.triadic_census(view)[t] for t in CONNECTED_TYPES)
    for n in range(3):
        H = nx.complete_graph(n, create_using=nx.DiGraph)
        assert triadic_census(H) == nx.triadic_census(H)
        assert list(triads(H)) == []
        assert node_census(H).shape == (n, 13)


FUNCTIONS = [census, triadic_census, triads, triad_chunks, node_census, roles, layers, decompose]


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("graph", [nx.Graph, nx.MultiDiGraph])
def test_directed_simple_graphs_only(function: Any, graph: type[nx.Graph[Any]]) -> None:
    with pytest.raises(nx.NetworkXNotImplemented):
        function(graph([("a", "b")]))


@pytest.mark.parametrize(
    ("edges", "nodes", "expected_roles", "expected_layers"),
    [
        # A chain: caller, middle, dependency.
        ([("a", "b"), ("b", "c")], [], "generate transform sustain", "D0 D1 D2"),
        # A cycle on its own is one isolated group: it generates its own work.
        ([("a", "b"), ("b", "c"), ("c", "a")], [], "generate generate generate", "D0 D0 D0"),
        # A cycle between an entry and a sink shares one role and layer.
        ([("x", "a"), ("a", "b"), ("b", "a"), ("b", "y")], [],
         "generate transform transform sustain", "D0 D1 D1 D2"),
        # A diamond with a shortcut: the longest path sets the layer.
        ([("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("a", "d")], [],
         "generate transform transform sustain", "D0 D1 D1 D2"),
        # Isolated services, and one that only calls itself.
        ([("s", "s")], ["lonely"], "generate generate", "D0 D0"),
    ],
)  # fmt: skip
def test_roles_and_layers(
    edges: list[tuple[str, str]], nodes: list[str], expected_roles: str, expected_layers: str
) -> None:
    G: nx.DiGraph[str] = nx.DiGraph(edges)
    G.add_nodes_from(nodes)
    assert list(roles(G).values()) == expected_roles.split()
    assert list(layers(G).values()) == expected_layers.split()
    assert list(roles(G)) == list(G)


def test_layers_are_capped_at_d7() -> None:
    G = nx.path_graph(12, create_using=nx.DiGraph)
    assert list(layers(G).values()) == [f"D{min(i, 7)}" for i in range(12)]


@settings(max_examples=60, deadline=None)
@given(digraphs(max_nodes=20))
def test_generate_is_exactly_d0(G: nx.DiGraph[Any]) -> None:
    role, layer = roles(G), layers(G)
    assert {v for v in G if role[v] == "generate"} == {v for v in G if layer[v] == "D0"}
    for u, v in G.edges:
        if role[u] == "sustain" and u != v:
            # A sink group calls only its own members.
            assert layer[u] == layer[v]


@pytest.fixture(scope="module")
def demo_edges_graph(
    demo_beacons: pd.DataFrame, demo_profiles: dict[str, Profile], demo_traces: TraceLoad
) -> nx.DiGraph[str]:
    """The demo's graph from its trace edges table."""
    from rtt_topology.graph.build import build_graph

    return build_graph(demo_beacons, demo_profiles, demo_traces.edges)


def test_demo_layering_violation(demo_edges_graph: nx.DiGraph[str]) -> None:
    """The injected worker -> gateway call, as the triads and layers show it.

    The worker reaches every API behind the gateway through a chain (021C), sits in a
    chain from the notifications API that calls it, and shares the gateway with the
    website (021U); the call pushes the gateway, declared at the edge, from D1 to D4.
    """
    G = demo_edges_graph
    assert G.nodes["api-gateway"]["layer"] == "edge"
    around = [t for t in triads(G) if {"webhook-worker", "api-gateway"} <= set(t.nodes)]
    chains = {t.nodes for t in around if t.type == "021C"}
    behind = {("webhook-worker", "api-gateway", api) for api in G.successors("api-gateway")}
    assert chains == behind | {("notifications-api", "webhook-worker", "api-gateway")}
    assert ("shop.example.com", "webhook-worker", "api-gateway") in {
        t.nodes for t in around if t.type == "021U"
    }
    assert layers(G)["api-gateway"] == "D4"
    H = G.copy()
    H.remove_edge("webhook-worker", "api-gateway")
    assert layers(H)["api-gateway"] == "D1"


def test_demo_decomposition(demo_edges_graph: nx.DiGraph[str]) -> None:
    G = demo_edges_graph
    result = decompose(G, max_triads=5)
    assert result.census == nx.triadic_census(G)
    assert (result.nodes, result.edges, result.self_loops) == (40, 63, [])
    assert result.census["030T"] == 13  # shortcuts, e.g. a caller using a cache directly too
    data = [v for v in G if G.nodes[v]["layer"] == "data"]
    assert data
    assert all(result.roles[v] == "sustain" for v in data)
    assert result.roles["shop.example.com"] == "generate"
    assert result.roles["webhook-worker"] == "transform"
    for kind in CONNECTED_TYPES:
        first = [t.nodes for t in itertools.islice(triads(G, types=[kind]), 5)]
        assert [t.nodes for t in result.examples[kind]] == first
    assert [r.node for r in result.node_census] == list(G)
    frame = node_census(G)
    assert {r.node: r.counts for r in result.node_census} == frame.to_dict("index")


def test_decomposition_round_trips_through_json(demo_edges_graph: nx.DiGraph[str]) -> None:
    result = decompose(demo_edges_graph)
    text = result.model_dump_json()
    assert Decomposition.model_validate_json(text) == result
    assert Decomposition.model_validate(json.loads(text)) == result
    schema = Decomposition.model_json_schema()
    assert set(schema["required"]) == set(Decomposition.model_fields)
    assert json.dumps(schema)


def test_decompose_arguments() -> None:
    G = nx.DiGraph([("a", "b"), ("b", "c"), ("c", "c")])
    assert decompose(G, max_triads=0).examples == {t: [] for t in CONNECTED_TYPES}
    assert decompose(G).self_loops == ["c"]
    with pytest.raises(InputError, match="max_triads"):
        decompose(G, max_triads=-1)
    with pytest.raises(InputError, match="strings"):
        decompose(nx.DiGraph([(1, 2)]))  # type: ignore[list-item]
