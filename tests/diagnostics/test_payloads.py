from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import networkx as nx
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtt_topology.diagnostics.payloads import (
    SCHEMA_DIR,
    CorridorPayload,
    TopologyPayload,
    ValidatePayload,
    corridor_payload,
    parse_payload,
    payload_schemas,
    topology_payload,
    validate_payload,
)
from rtt_topology.errors import InputError
from rtt_topology.graph.build import build_graph
from rtt_topology.sdk import build_corridor_payload, build_topology_payload, build_validate_payload
from tests import ROOT

# The published upstream example bodies (RTT-Inside docs and SDK).
UPSTREAM = {
    "validate": [
        {
            "system_map": {"nodes": 128, "services": ["auth", "api", "db"]},
            "flows": [{"from": "api", "to": "db"}],
            "constraints": [],
        },
        {"system_map": {"services": ["auth", "api", "db"]}, "flows": [], "constraints": []},
        build_validate_payload(),
        {"system_map": {"pages": ["https://example.com/"]}, "flows": [], "constraints": []},
    ],
    "corridor": [{"flows": [{"path": ["ingress", "api", "db"], "latency_ms": 12}]}],
    "topology": [{"graph": {"auth": ["api"], "api": ["db"], "db": []}}],
}


@pytest.mark.parametrize(
    ("endpoint", "body"), [(e, b) for e, bodies in UPSTREAM.items() for b in bodies]
)
def test_upstream_examples_parse_and_round_trip(endpoint: str, body: dict) -> None:
    parsed = parse_payload(body)
    assert type(parsed).__name__.lower().startswith(endpoint)
    assert parsed.to_body() == body
    jsonschema.validate(body, payload_schemas()[endpoint])


def test_sdk_helpers_match_upstream() -> None:
    assert build_validate_payload() == {"system_map": {}, "flows": [], "constraints": []}
    assert build_corridor_payload() == {}
    assert build_corridor_payload({}) == {}
    assert build_topology_payload(None) == {}
    data = {"graph": {"a": []}}
    assert build_topology_payload(data) is data


def test_shipped_schemas_are_the_generated_ones() -> None:
    for name, schema in payload_schemas().items():
        shipped = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
        assert shipped == schema, (
            "regenerate with rtt_topology.diagnostics.payloads.write_schemas()"
        )


@pytest.mark.parametrize(
    ("body", "endpoint", "message"),
    [
        ({"graph": {"a": ["b"]}}, None, "callee 'b' is not a key"),
        ({"graph": {"a": ["b", "b"], "b": []}}, None, "lists a callee twice"),
        ({"system_map": {}, "flows": [{"to": "b"}]}, None, "flows.0.from"),
        ({"flows": [{"path": []}]}, None, "flows.0.path"),
        ({"flows": [{"path": ["a", "b"], "latency_ms": -3}]}, None, "flows.0.latency_ms"),
        ({"system_map": {}, "flows": [{"from": "a", "to": "b", "p95_ms": -1}]}, None, "p95_ms"),
        ({"system_map": {}, "extra": 1}, None, "extra"),
        ({"nothing": 1}, None, "cannot tell the endpoint"),
        ({"graph": {}}, "status", "unknown endpoint"),
    ],
)
def test_bad_bodies(body: dict, endpoint: str | None, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_payload(body, endpoint)  # type: ignore[arg-type]


def test_validate_payload_from_a_graph() -> None:
    from rtt_topology.schemas import Profile

    edges = pd.DataFrame(
        {"caller": ["api", "api"], "callee": ["db", "cache"], "kind": ["database", "rpc"],
         "calls": [10, 2], "errors": [1, 0], "p95_ms": [12.5, float("nan")]}
    )  # fmt: skip
    profiles = {"api": Profile(rtt_version="1", supports=["drift"], layer="api", depends_on=["db"])}
    G = build_graph(profiles=profiles, edges=edges, start="2026-01-19T00:00:00Z")
    states = pd.DataFrame({"site": ["api", "db"], "state": ["up", "down"]})
    constraints = [{"id": "no-cycles", "kind": "acyclic", "severity": "error"}]
    payload = validate_payload(G, states=states, constraints=constraints)
    body = payload.to_body()
    jsonschema.validate(body, payload_schemas()["validate"])
    assert body["system_map"]["services"] == ["api", "cache", "db"]
    assert body["system_map"]["nodes"] == 3
    assert body["system_map"]["attributes"]["api"]["layer"] == "api"
    assert body["system_map"]["attributes"]["db"]["state"] == "down"
    assert body["system_map"]["window"] == {"start": "2026-01-19T00:00:00Z"}
    assert body["flows"][1] == {
        "from": "api", "to": "db", "calls": 10, "errors": 1, "p95_ms": 12.5, "kind": "database",
        "provenance": "both",
    }  # fmt: skip
    assert "p95_ms" not in body["flows"][0]
    assert body["constraints"] == constraints
    strict = payload.to_body(strict=True)
    assert set(strict) == {"system_map", "flows", "constraints"}
    assert strict["flows"] == [{"from": "api", "to": "cache"}, {"from": "api", "to": "db"}]
    assert strict["constraints"] == []
    assert ValidatePayload.model_validate(body).to_body() == body


def test_corridor_payload() -> None:
    observed = pd.DataFrame(
        {"path": [("web", "api"), ("web", "api", "db")], "calls": [3, 9],
         "latency_p50_ms": [5.0, 8.0], "latency_p95_ms": [7.0, 20.0]}
    )  # fmt: skip
    corridors = [{"name": "checkout", "path": ["web", "api", "db"], "max_latency_ms": 50}]
    body = corridor_payload(observed, corridors).to_body()
    jsonschema.validate(body, payload_schemas()["corridor"])
    assert [f["path"] for f in body["flows"]] == [["web", "api", "db"], ["web", "api"],
                                                  ["web", "api", "db"]]  # fmt: skip
    assert body["flows"][0]["latency_ms"] == 20.0
    assert body["flows"][2] == {
        "path": ["web", "api", "db"], "latency_ms": 50.0, "source": "declared", "name": "checkout"
    }  # fmt: skip
    assert corridor_payload().to_body() == {"flows": []}
    assert CorridorPayload.model_validate(body).to_body() == body


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("abcdefgh"), st.sampled_from("abcdefgh")), max_size=30),
    st.sets(st.sampled_from("xyz")),
)
def test_topology_round_trips_to_the_same_graph(edges, isolated) -> None:
    G = nx.DiGraph(edges)
    G.add_nodes_from(isolated)
    body = topology_payload(G).to_body()
    jsonschema.validate(body, payload_schemas()["topology"])
    back = nx.DiGraph(
        [(u, v) for u, vs in TopologyPayload.model_validate(body).graph.items() for v in vs]
    )
    back.add_nodes_from(body["graph"])
    assert set(back.nodes) == set(G.nodes)
    assert set(back.edges) == set(G.edges)
    assert all(body["graph"][n] == sorted(G.successors(n)) for n in G)


def test_topology_strict_drops_the_decomposition() -> None:
    from rtt_topology.diagnostics.triads.decomposition import decompose

    G = nx.DiGraph([("a", "b")])
    decomposition = decompose(G).model_dump(mode="json")
    payload = topology_payload(G, decomposition=decomposition)
    assert payload.to_body()["decomposition"]["census"]["012"] == 0
    assert payload.to_body(strict=True) == {"graph": {"a": ["b"], "b": []}}
    with pytest.raises(InputError, match="decomposition"):
        parse_payload({"graph": {"a": []}, "decomposition": {"census": {"012": 1}}})


def test_schema_files_are_packaged() -> None:
    assert sorted(p.name for p in SCHEMA_DIR.glob("*.json")) == [
        "corridor.schema.json", "topology.schema.json", "validate.schema.json",
    ]  # fmt: skip
    assert Path(SCHEMA_DIR).is_relative_to(ROOT / "rtt_topology")
