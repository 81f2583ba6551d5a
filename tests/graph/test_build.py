from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import networkx as nx
import pandas as pd
import pytest

from rtt_topology import __version__
from rtt_topology.errors import InputError
from rtt_topology.graph.build import build_graph, validate_graph
from rtt_topology.graph.contract import EDGE_ATTRIBUTES, GRAPH_ATTRIBUTES, NODE_ATTRIBUTES
from rtt_topology.schemas import Profile


def edge_table(*rows: tuple[str, str, str, int, int]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["caller", "callee", "kind", "calls", "errors"])
    frame["p50_ms"] = 5.0
    frame["p95_ms"] = 20.0
    frame["first_seen"] = pd.Timestamp("2026-01-19T01:00:00Z")
    frame["last_seen"] = pd.Timestamp("2026-01-19T02:00:00Z")
    frame["sample_trace_ids"] = [["a" * 32, "b" * 32] for _ in rows]
    frame["callee_virtual"] = [callee.endswith("-db") for _, callee, *_ in rows]
    return frame


def profile(*depends_on: str, **extra: object) -> Profile:
    return Profile.model_validate(
        {"rtt_version": "1.0", "supports": ["drift"], "depends_on": list(depends_on), **extra}
    )


def test_empty_graph_follows_contract() -> None:
    G = build_graph()
    validate_graph(G)
    assert G.number_of_nodes() == 0
    assert G.graph == {
        "window_start": None,
        "window_end": None,
        "inputs": [],
        "clusters": [],
        "rtt_topology_version": __version__,
    }
    assert set(G.graph) == set(GRAPH_ATTRIBUTES)


def test_demo_beacons_and_profiles(
    demo_beacons: pd.DataFrame, demo_profiles: dict[str, Profile], demo_truth: dict[str, Any]
) -> None:
    beacons, profiles = demo_beacons, demo_profiles
    G = build_graph(beacons, profiles)
    validate_graph(G)
    truth = demo_truth
    assert G.graph["clusters"] == ["dc-east", "dc-west"]
    assert "dc-east" not in G
    silent = G.nodes[truth["declared_silent"]]
    assert silent["declared"]
    assert not silent["observed"]
    for name in truth["undeclared_services"]:
        assert G.nodes[name]["observed"]
        assert not G.nodes[name]["declared"]
    api = G.nodes["cart-api"]
    assert api["group"] == "dc-east"
    # Every service lands in its true cluster: profile tags, else the collector's file.
    for service in truth["services"]:
        if service["beacons"]:
            assert G.nodes[service["name"]]["group"] == service["cluster"], service["name"]
    assert api["layer"] == "api"
    assert api["beacons"] > 0
    assert api["first_seen"].tzinfo is not None
    assert isinstance(api["median_interval_s"], float)
    # Declared dependencies become declared edges.
    assert G.edges["cart-api", "session-cache"]["provenance"] == "declared"
    assert G.graph["inputs"] == ["beacons", "profiles"]


def test_traced_and_declared_edges() -> None:
    edges = edge_table(
        ("api", "orders-db", "database", 10, 1),
        ("api", "search", "rpc", 4, 0),
        ("api", "search", "messaging", 2, 1),
    )
    G = build_graph(profiles={"api": profile("orders-db", "cache")}, edges=edges)
    validate_graph(G)
    db = G.edges["api", "orders-db"]
    assert db["provenance"] == "both"
    assert db["calls"] == 10
    assert db["error_rate"] == pytest.approx(0.1)
    assert db["first_seen"] == datetime(2026, 1, 19, 1, tzinfo=UTC)
    assert G.nodes["orders-db"]["virtual"]
    # Two kinds for one pair: one edge, calls summed, the dominant kind kept.
    search = G.edges["api", "search"]
    assert (search["kind"], search["calls"], search["errors"]) == ("rpc", 6, 1)
    assert G.edges["api", "cache"]["provenance"] == "declared"
    assert G.edges["api", "cache"]["calls"] == 0
    cache = G.nodes["cache"]
    assert not (cache["declared"])
    assert not (cache["observed"])
    assert not (cache["traced"])
    assert not (cache["virtual"])


def test_plain_python_values() -> None:
    G = build_graph(edges=edge_table(("api", "db", "rpc", 3, 0)))
    for value in G.edges["api", "db"].values():
        assert type(value).__module__ in ("builtins", "datetime"), type(value)


def test_window_restricts_beacons_and_edges(demo_beacons: pd.DataFrame) -> None:
    beacons = demo_beacons
    G = build_graph(beacons, start="2026-01-19T01:00:00Z", end="2026-01-19T02:00:00Z")
    validate_graph(G)
    assert G.graph["window_start"] == datetime(2026, 1, 19, 1, tzinfo=UTC)
    for _, attrs in G.nodes(data=True):
        assert attrs["first_seen"] >= G.graph["window_start"]
        assert attrs["last_seen"] < G.graph["window_end"]
    edges = edge_table(("api", "db", "rpc", 3, 0))
    assert build_graph(edges=edges, start="2026-01-19T01:30:00Z").number_of_edges() == 1
    assert build_graph(edges=edges, start="2026-01-19T03:00:00Z").number_of_edges() == 0
    with pytest.raises(InputError, match="empty window"):
        build_graph(edges=edges, start="2026-01-19T03:00:00Z", end="2026-01-19T02:00:00Z")
    with pytest.raises(InputError, match="timezone-aware"):
        build_graph(edges=edges, start=datetime(2026, 1, 19))


def test_groups() -> None:
    edges = edge_table(("a", "b", "rpc", 1, 0), ("b", "c", "rpc", 1, 0))
    profiles = {"a": profile(cluster="east"), "b": profile(tags=["west"])}
    G = build_graph(profiles=profiles, edges=edges, groups={"c": "lab"})
    assert G.nodes["a"]["group"] == "east"
    # A tag counts only when it names a cluster (seen in beacons).
    assert G.nodes["b"]["group"] is None
    assert G.nodes["c"]["group"] == "lab"


def test_bad_edge_tables() -> None:
    with pytest.raises(InputError, match="missing column"):
        build_graph(edges=pd.DataFrame({"caller": ["a"]}))
    with pytest.raises(InputError, match="unknown kind"):
        build_graph(edges=edge_table(("a", "b", "grpc", 1, 0)))


def test_validate_graph_names_every_problem() -> None:
    G = build_graph(edges=edge_table(("api", "db", "rpc", 3, 0)))
    G.nodes["api"]["beacons"] = 1.5
    G.nodes["db"].pop("group")
    G.edges["api", "db"]["kind"] = "grpc"
    G.edges["api", "db"]["errors"] = 9
    G.edges["api", "db"]["first_seen"] = datetime(2026, 1, 19)
    del G.graph["inputs"]
    with pytest.raises(InputError) as info:
        validate_graph(G)
    message = str(info.value)
    for expected in (
        "graph: missing attribute 'inputs'",
        "node 'api': beacons has float 1.5, expected int",
        "node 'db': missing attribute 'group'",
        "edge 'api' -> 'db': kind 'grpc' is not one of",
        "errors 9 not within 0..calls (3)",
        "first_seen is a naive datetime",
    ):
        assert expected in message
    with pytest.raises(InputError, match=r"networkx\.DiGraph"):
        validate_graph(nx.MultiDiGraph())


def test_contract_covers_built_attributes() -> None:
    G = build_graph(profiles={"api": profile("db")}, edges=edge_table(("api", "db", "rpc", 1, 0)))
    assert set(G.nodes["api"]) == set(NODE_ATTRIBUTES)
    assert set(G.edges["api", "db"]) == set(EDGE_ATTRIBUTES)
