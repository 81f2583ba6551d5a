"""build_graph from span tables: every traced service is a node, named services only."""

from __future__ import annotations

import pandas as pd
import pytest

from rtt_topology.graph.build import build_graph, span_services, validate_graph
from rtt_topology.load.traces import read_traces
from tests import DATA

TRACES = DATA / "traces"


def test_an_export_of_one_service_gives_one_node() -> None:
    spans = read_traces(TRACES / "one_service.json").spans
    G = build_graph(spans=spans)
    validate_graph(G)
    assert list(G.nodes) == ["billing"]
    assert G.nodes["billing"]["traced"] is True
    assert G.nodes["billing"]["virtual"] is False
    assert G.number_of_edges() == 0
    assert G.graph["inputs"] == ["traces"]


def test_services_without_calls_are_nodes_beside_the_edges() -> None:
    one = read_traces(TRACES / "one_service.json").spans
    cart = read_traces(TRACES / "tempo_batches.json").spans
    G = build_graph(spans=pd.concat([cart, one], ignore_index=True))
    validate_graph(G)
    assert sorted(G.nodes) == ["billing", "cart", "cart-cache", "frontend"]
    assert sorted(G.edges) == [("cart", "cart-cache"), ("frontend", "cart")]
    assert {n for n, traced in G.nodes(data="traced") if traced} == set(G.nodes)
    assert [n for n, virtual in G.nodes(data="virtual") if virtual] == ["cart-cache"]


def test_databases_with_tracers_of_their_own_are_real_nodes() -> None:
    G = build_graph(spans=read_traces(TRACES / "jaeger_db_as_service.json").spans)
    validate_graph(G)
    assert sorted(G.edges) == [
        ("customer", "mysql"),
        ("driver", "redis"),
        ("frontend", "customer"),
        ("frontend", "driver"),
    ]
    assert G.edges["customer", "mysql"]["kind"] == "database"
    assert not any(virtual for _, virtual in G.nodes(data="virtual"))


def test_a_span_without_service_name_makes_no_node() -> None:
    G = build_graph(spans=read_traces(TRACES / "no_service_name.json").spans)
    validate_graph(G)
    assert sorted(G.nodes) == ["frontend", "inventory"]
    assert not set(G.nodes) & {"", "unknown", "None", "nan"}


def test_a_service_traced_outside_the_window_is_no_node() -> None:
    one = read_traces(TRACES / "one_service.json").spans  # 2023-11-14T22:18:20Z
    cart = read_traces(TRACES / "tempo_batches.json").spans  # 2023-11-14T22:13:20Z
    spans = pd.concat([cart, one], ignore_index=True)
    G = build_graph(spans=spans, start="2023-11-14T22:15:00Z")
    assert list(G.nodes) == ["billing"]
    G = build_graph(spans=spans, end="2023-11-14T22:15:00Z")
    assert sorted(G.nodes) == ["cart", "cart-cache", "frontend"]


@pytest.mark.parametrize(
    ("services", "expected"),
    [
        (["b", "a", "b"], ["a", "b"]),
        (["", None, "x"], ["x"]),
        # Names the export itself writes are kept, whatever they say.
        (["unknown_service", "None"], ["None", "unknown_service"]),
        ([], []),
    ],
)
def test_span_services(services: list[str | None], expected: list[str]) -> None:
    frame = pd.DataFrame({"service": pd.Categorical(services)})
    assert span_services(frame) == expected
