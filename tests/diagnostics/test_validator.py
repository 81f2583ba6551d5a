from __future__ import annotations

import json

import networkx as nx
import pytest

from rtt_topology.diagnostics.payloads import parse_payload
from rtt_topology.diagnostics.validator import diagnose, graph_of
from rtt_topology.errors import InputError
from tests import DATA

GOLDEN = DATA / "golden"


def test_validate_body_with_rules() -> None:
    body = {
        "system_map": {
            "services": ["gateway", "api", "worker"],
            "nodes": 3,
            "attributes": {
                "gateway": {"layer": "edge", "state": "up", "declared": True},
                "api": {"layer": "api", "state": "late", "declared": True},
                "worker": {"layer": "worker", "state": "down", "declared": False},
            },
        },
        "flows": [
            {"from": "gateway", "to": "api", "calls": 10, "provenance": "both"},
            {"from": "worker", "to": "gateway", "calls": 2, "provenance": "traced"},
        ],
        "constraints": [
            {"id": "tiers", "kind": "layers", "order": ["edge", "api", "worker"]},
            {"id": "no-cycles", "kind": "acyclic", "severity": "warning"},
        ],
    }
    answer = diagnose(body)
    assert answer.endpoint == "validate"
    assert answer.status == "violations"
    results = {r["id"]: r for r in answer.rules["rules"]}
    assert results["tiers"]["status"] == "broken"
    assert results["tiers"]["violations"][0]["key"] == "worker -> gateway"
    # The cycle gateway -> api? No: worker -> gateway only; no cycle.
    assert results["no-cycles"]["status"] == "kept"
    coherence = answer.coherence
    assert coherence is not None
    assert coherence.liveness == pytest.approx(0.5)
    assert coherence.declaration == pytest.approx(2 / 3)
    assert coherence.agreement == pytest.approx(0.5)
    assert answer.summary["services"] == 3


def test_hand_written_upstream_bodies() -> None:
    answer = diagnose(
        {"system_map": {"services": ["auth", "api", "db"]}, "flows": [], "constraints": []}
    )
    assert answer.status == "ok"
    assert answer.coherence is None
    assert len(answer.notes) == 2
    topology = diagnose({"graph": {"auth": ["api"], "api": ["db"], "db": []}})
    assert topology.decomposition is not None
    assert topology.summary["sources"] == ["auth"]
    assert topology.summary["sinks"] == ["db"]
    assert topology.summary["cycles"] == []


def test_corridor_alignment() -> None:
    body = {
        "flows": [
            {"path": ["web", "api", "db"], "latency_ms": 80, "source": "observed", "calls": 5},
            {"path": ["web", "api", "cache"], "latency_ms": 9, "source": "observed", "calls": 2},
            {"path": ["web", "api", "db"], "latency_ms": 50, "source": "declared",
             "name": "checkout"},
        ]
    }  # fmt: skip
    answer = diagnose(body)
    assert answer.status == "violations"
    corridors = {c["name"]: c for c in answer.corridors["corridors"]}
    assert corridors["checkout"]["status"] in ("too_slow", "off_corridor")
    assert answer.summary["declared"] == 1


def test_topology_with_a_cycle() -> None:
    answer = diagnose({"graph": {"a": ["b"], "b": ["c"], "c": ["a"]}})
    assert answer.summary["cycles"] == [["a", "b", "c"]]
    assert answer.decomposition["census"]["030C"] == 1


def test_bad_bodies() -> None:
    with pytest.raises(InputError, match="not a key"):
        diagnose({"graph": {"a": ["b"]}})
    with pytest.raises(InputError, match="cannot tell"):
        diagnose({"hello": "world"})
    with pytest.raises(InputError, match="constraints"):
        diagnose({"system_map": {}, "flows": [], "constraints": [{"id": "x", "kind": "nope"}]})


def test_graph_of_validate_body() -> None:
    body = {
        "system_map": {"services": ["a", "b", "c"], "attributes": {"a": {"group": "east"}}},
        "flows": [
            {"from": "a", "to": "b", "calls": 3, "errors": 1},
            {"from": "b", "to": "c", "provenance": "declared"},
        ],
        "constraints": [],
    }
    G = graph_of(parse_payload(body))
    assert isinstance(G, nx.DiGraph)
    assert G.edges["a", "b"]["calls"] == 3
    assert G.edges["b", "c"]["provenance"] == "declared"
    assert G.nodes["a"]["group"] == "east"


@pytest.mark.parametrize("name", ["validate", "corridor", "topology"])
def test_golden_demo_payloads_diagnose(name: str) -> None:
    body = json.loads((GOLDEN / f"{name}.json").read_text())
    answer = diagnose(body)
    assert answer.endpoint == name
    if name == "validate":
        failing = answer.rules["failing"]
        assert failing == ["no-upward-calls"]
    if name == "corridor":
        counts = answer.summary["corridors"]
        assert counts["too_slow"] + counts["off_corridor"] >= 1
