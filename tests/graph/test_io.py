"""Tests for rtt_topology.graph.io: node-link JSON, DataFrames, GraphML and DOT."""

from __future__ import annotations

import itertools
import json
import math
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtt_topology.errors import InputError, LoadError, RecordError, SourceNotFoundError
from rtt_topology.graph import io
from rtt_topology.graph.contract import (
    EDGE_ATTRIBUTES,
    GRAPH_ATTRIBUTES,
    NODE_ATTRIBUTES,
    Attribute,
)
from rtt_topology.graph.io.markup import dot_quote
from rtt_topology.graph.io.values import edge_order

T0 = datetime(2026, 1, 19, 17, 0, tzinfo=UTC)
NASTY_NAMES = [
    "<script>alert(1)</script>",
    'say "hi"',
    "back\\slash",
    "ends with backslash\\",
    "a & b; c < d > e",
    "Zürich ☃ 東京 🚀",
    "line\nbreak",
    "tab\there",
    "'single'",
    "",
    " ",
    "node",
    "-> [x=1];",
    "\\N \\G \\n",
]

# --- building contract-conforming graphs by hand ----------------------------------------------

_TYPICAL: dict[type, Any] = {
    str: "x",
    int: 7,
    float: 30.0,
    bool: True,
    datetime: T0,
    list: ["a", "b"],
}
_EMPTY: dict[type, Any] = {str: "", int: 0, bool: False, list: []}


def _filled(
    contract: dict[str, Attribute], empty: bool, overrides: dict[str, Any]
) -> dict[str, Any]:
    """Every contract attribute: a typical value, or (empty) None / 0 / False / []."""
    attrs = {}
    for key, attr in contract.items():
        if empty:
            attrs[key] = None if attr.optional else _EMPTY[attr.type]
        else:
            value = _TYPICAL[attr.type]
            attrs[key] = list(value) if isinstance(value, list) else value
    unknown = set(overrides) - set(contract)
    assert not unknown or all(k.startswith("x_") for k in unknown), unknown
    attrs.update(overrides)
    return attrs


def node(*, empty: bool = False, **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"virtual": False}
    if not empty:
        base.update(group="east", first_seen=T0, last_seen=T0 + timedelta(hours=1))
    return _filled(NODE_ATTRIBUTES, empty, {**base, **overrides})


def virtual_node(**overrides: Any) -> dict[str, Any]:
    return node(empty=True, virtual=True, traced=True, **overrides)


def edge(*, empty: bool = False, **overrides: Any) -> dict[str, Any]:
    base = {"kind": "rpc", "provenance": "declared" if empty else "traced"}
    if not empty:
        base.update(calls=12, errors=0)
    return _filled(EDGE_ATTRIBUTES, empty, {**base, **overrides})


def graph_attrs(**overrides: Any) -> dict[str, Any]:
    return _filled(
        GRAPH_ATTRIBUTES,
        False,
        {
            "window_start": T0,
            "window_end": T0 + timedelta(days=1),
            "inputs": ["beacons"],
            **overrides,
        },
    )


def make_graph(
    nodes: dict[str, dict[str, Any]],
    edges: list[tuple[str, str, dict[str, Any]]] | None = None,
    **graph: Any,
) -> nx.DiGraph:
    G = nx.DiGraph()
    G.graph.update(graph_attrs(**graph))
    for name, attrs in nodes.items():
        G.add_node(name)
        G.nodes[name].update(attrs)
    for u, v, attrs in edges or []:
        G.add_edge(u, v)
        G.edges[u, v].update(attrs)
    return G


def sample_graphs() -> dict[str, nx.DiGraph]:
    big_nodes = {f"svc-{i:04d}": node(beacons=i, group=f"g{i % 7}") for i in range(1000)}
    big_edges = [
        (f"svc-{i:04d}", f"svc-{(i * 7 + k) % 1000:04d}", edge(calls=i * k))
        for i in range(1000)
        for k in (1, 2, 3)
    ]
    nasty = {name: node(group=name or None, owner=name, tags=[name]) for name in NASTY_NAMES}
    nasty_edges = [(a, b, edge()) for a, b in itertools.pairwise(NASTY_NAMES)]
    return {
        "empty": nx.DiGraph(),
        "empty with graph attributes": make_graph({}),
        "single node": make_graph({"api": node()}),
        "single empty node": make_graph({"api": node(empty=True)}),
        "virtual and None values": make_graph(
            {"api": node(), "payments": virtual_node()},
            [("api", "payments", edge(kind="virtual", error_rate=None, p50_ms=None))],
            window_start=None,
            window_end=None,
        ),
        "empty lists": make_graph(
            {"api": node(supports=[], depends_on=[], tags=[])},
            [("api", "api", edge(sample_trace_ids=[]))],
            inputs=[],
        ),
        "datetimes": make_graph(
            {
                "api": node(
                    first_seen=datetime(1678, 1, 1, tzinfo=UTC),
                    last_seen=datetime(2261, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
                )
            },
            [("api", "api", edge(first_seen=T0 + timedelta(microseconds=1), last_seen=T0))],
        ),
        "nasty names": make_graph(nasty, nasty_edges),
        "self-loop": make_graph({"api": node()}, [("api", "api", edge(calls=3, errors=1))]),
        "integral floats": make_graph(
            {"api": node(heartbeat_interval_s=30.0, median_interval_s=0.0)},
            [("api", "api", edge(error_rate=1.0, p50_ms=-0.0, p95_ms=1e300))],
        ),
        "predecessors out of caller order": make_graph(
            {"a": node(), "b": node(), "c": node()},
            [("b", "c", edge()), ("a", "c", edge()), ("c", "a", edge()), ("b", "a", edge())],
        ),
        "1000 nodes": make_graph(big_nodes, big_edges),
    }


SAMPLES = sample_graphs()


# --- comparing graphs exactly -----------------------------------------------------------------


def assert_same_value(a: Any, b: Any, where: str) -> None:
    assert type(a) is type(b), f"{where}: {a!r} ({type(a)}) != {b!r} ({type(b)})"
    if isinstance(a, list):
        assert len(a) == len(b), where
        for x, y in zip(a, b, strict=True):
            assert_same_value(x, y, where)
    elif isinstance(a, dict):
        assert list(a) == list(b) or set(a) == set(b), where
        for key in a:
            assert_same_value(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, datetime):
        assert a == b, where
        assert b.tzinfo is UTC, where
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def assert_same_attrs(a: dict[str, Any], b: dict[str, Any], where: str) -> None:
    assert set(a) == set(b), f"{where}: {sorted(set(a) ^ set(b))}"
    for key in a:
        assert_same_value(a[key], b[key], f"{where}[{key!r}]")


def assert_same_graph(G: nx.DiGraph, H: nx.DiGraph) -> None:
    assert type(H) is nx.DiGraph
    assert list(H.nodes) == list(G.nodes)
    assert list(H.edges) == list(G.edges)
    for n in G:
        assert list(H.pred[n]) == list(G.pred[n]), f"predecessors of {n!r}"
    assert_same_attrs(G.graph, H.graph, "graph")
    for n in G:
        assert_same_attrs(G.nodes[n], H.nodes[n], f"node {n!r}")
    for u, v in G.edges:
        assert_same_attrs(G.edges[u, v], H.edges[u, v], f"edge {u!r}->{v!r}")


# --- hypothesis: contract-conforming graphs ---------------------------------------------------

names_st = st.text(max_size=12) | st.sampled_from(NASTY_NAMES)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)


def value_st(attr: Attribute) -> st.SearchStrategy[Any]:
    base: st.SearchStrategy[Any] = {
        str: st.text(max_size=10),
        int: st.integers(-(2**63), 2**63 - 1),
        float: st.floats(allow_nan=False, allow_infinity=False),
        bool: st.booleans(),
        datetime: st.datetimes(
            datetime(1678, 1, 1), datetime(2261, 12, 31), timezones=st.just(UTC)
        ),
        list: st.lists(st.text(max_size=8), max_size=3),
    }[attr.type]
    return st.none() | base if attr.optional else base


def attrs_st(contract: dict[str, Attribute], complete: bool) -> st.SearchStrategy[dict[str, Any]]:
    strategies = {key: value_st(attr) for key, attr in contract.items()}
    if complete:
        return st.fixed_dictionaries(strategies)
    return st.fixed_dictionaries({}, optional=strategies)


@st.composite
def graphs_st(draw: st.DrawFn, *, complete: bool = False, extras: bool = True) -> nx.DiGraph:
    G = nx.DiGraph()
    G.graph.update(draw(attrs_st(GRAPH_ATTRIBUTES, complete)))
    names = draw(st.lists(names_st, unique=True, max_size=8))
    extra_keys = (
        draw(st.lists(st.sampled_from(["x_a", "x_b", "x_c"]), unique=True)) if extras else []
    )
    for name in names:
        G.add_node(name)
        G.nodes[name].update(draw(attrs_st(NODE_ATTRIBUTES, complete)))
        for key in extra_keys:
            G.nodes[name][key] = draw(json_values)
    if names:
        pairs = st.tuples(st.sampled_from(names), st.sampled_from(names))
        for u, v in draw(st.lists(pairs, unique=True, max_size=16)):
            G.add_edge(u, v)
            G.edges[u, v].update(draw(attrs_st(EDGE_ATTRIBUTES, complete)))
    return G


# --- node-link JSON ---------------------------------------------------------------------------


def json_round_trip(G: nx.DiGraph) -> nx.DiGraph:
    text = json.dumps(io.to_node_link(G), allow_nan=False)
    return io.from_node_link(json.loads(text))


@pytest.mark.parametrize("name", list(SAMPLES))
def test_node_link_round_trip(name: str) -> None:
    G = SAMPLES[name]
    assert_same_graph(G, json_round_trip(G))


@settings(max_examples=150, deadline=None)
@given(graphs_st())
def test_node_link_round_trip_property(G: nx.DiGraph) -> None:
    assert_same_graph(G, json_round_trip(G))


def test_node_link_shape_is_networkx() -> None:
    G = nx.DiGraph(inputs=["traces"])
    G.add_node("api", beacons=3, tags=["a"], group=None)
    G.add_edge("api", "db", calls=2, sample_trace_ids=["t"])
    assert io.to_node_link(G) == nx.node_link_data(G, edges="edges")
    H = nx.node_link_graph(io.to_node_link(G), edges="edges")
    assert list(H.nodes(data=True)) == list(G.nodes(data=True))
    assert list(H.edges(data=True)) == list(G.edges(data=True))
    assert_same_graph(G, io.from_node_link(nx.node_link_data(G, edges="edges")))


def test_node_link_json_values() -> None:
    G = SAMPLES["virtual and None values"]
    data = io.to_node_link(G)
    assert list(data) == ["directed", "multigraph", "graph", "nodes", "edges"]
    assert data["directed"] is True
    assert data["multigraph"] is False
    assert data["graph"]["window_start"] is None
    api = data["nodes"][0]
    assert api["id"] == "api"
    assert api["first_seen"] == "2026-01-19T17:00:00.000000Z"
    assert api["supports"] == ["a", "b"]
    assert data["nodes"][1]["rtt_version"] is None
    assert data["edges"][0]["p50_ms"] is None
    assert json.loads(json.dumps(data, allow_nan=False)) == data


def test_datetimes_are_fixed_width_utc() -> None:
    moments = [
        datetime(2026, 1, 19, 17, tzinfo=UTC),
        datetime(2026, 1, 19, 17, 0, 0, 500000, tzinfo=UTC),
        datetime(2026, 1, 19, 19, 0, 1, tzinfo=timezone(timedelta(hours=2))),
    ]
    G = nx.DiGraph()
    for i, moment in enumerate(moments):
        G.add_node(str(i), first_seen=moment)
    texts = [n["first_seen"] for n in io.to_node_link(G)["nodes"]]
    assert texts == [
        "2026-01-19T17:00:00.000000Z",
        "2026-01-19T17:00:00.500000Z",
        "2026-01-19T17:00:01.000000Z",
    ]
    assert sorted(texts) == texts
    back = io.from_node_link(io.to_node_link(G))
    assert back.nodes["2"]["first_seen"] == moments[2]
    assert back.nodes["2"]["first_seen"].tzinfo is UTC


def test_pandas_and_numpy_floats_become_plain() -> None:
    G = nx.DiGraph()
    G.add_node("a", first_seen=pd.Timestamp("2026-01-19 17:00:00.123456789", tz="Europe/Paris"))
    G.add_node("b", p=np.float64(1.5), heartbeat_interval_s=np.float64(30), tags=("x", "y"))
    H = json_round_trip(G)
    assert H.nodes["a"]["first_seen"] == datetime(2026, 1, 19, 16, 0, 0, 123456, tzinfo=UTC)
    assert type(H.nodes["b"]["heartbeat_interval_s"]) is float
    assert H.nodes["b"]["tags"] == ["x", "y"]


def test_float_written_as_integer_reads_as_float() -> None:
    data = {
        "nodes": [{"id": "a", "heartbeat_interval_s": 30, "median_interval_s": 2.5}],
        "edges": [{"source": "a", "target": "a", "p95_ms": 0, "calls": 4}],
    }
    G = io.from_node_link(data)
    assert_same_value(G.nodes["a"]["heartbeat_interval_s"], 30.0, "heartbeat")
    assert_same_value(G.edges["a", "a"]["p95_ms"], 0.0, "p95")
    assert_same_value(G.edges["a", "a"]["calls"], 4, "calls")
    assert '"heartbeat_interval_s": 30.0' in json.dumps(io.to_node_link(G))


def test_timestamps_with_offsets_and_nanoseconds() -> None:
    data = {
        "graph": {"window_start": "2026-01-19T19:00:00+02:00", "window_end": "2026-01-19 17:00Z"},
        "nodes": [{"id": "a", "first_seen": "2026-01-19T17:00:00.123456789Z"}],
    }
    G = io.from_node_link(data)
    assert G.graph["window_start"] == T0
    assert G.graph["window_end"] == T0
    assert G.nodes["a"]["first_seen"] == T0 + timedelta(microseconds=123456)


def test_extra_attributes_come_back_as_json() -> None:
    G = nx.DiGraph(note={"when": T0, "ids": (1, 2)})
    G.add_node("a", x_down_since=T0, x_pair=("a", 1), x_nested=[{"k": None}])
    H = json_round_trip(G)
    assert H.graph["note"] == {"when": "2026-01-19T17:00:00.000000Z", "ids": [1, 2]}
    assert H.nodes["a"] == {
        "x_down_since": "2026-01-19T17:00:00.000000Z",
        "x_pair": ["a", 1],
        "x_nested": [{"k": None}],
    }


def test_no_shared_lists() -> None:
    G = make_graph({"a": node(x_list=[1])})
    data = io.to_node_link(G)
    data["nodes"][0]["tags"].append("new")
    data["nodes"][0]["x_list"].append(2)
    assert G.nodes["a"]["tags"] == ["a", "b"]
    assert G.nodes["a"]["x_list"] == [1]
    H = io.from_node_link(data)
    H.nodes["a"]["x_list"].append(3)
    H.nodes["a"]["tags"].append("more")
    assert data["nodes"][0]["x_list"] == [1, 2]
    assert data["nodes"][0]["tags"] == ["a", "b", "new"]


def test_predecessor_order_is_kept() -> None:
    G = SAMPLES["predecessors out of caller order"]
    assert list(G.pred["c"]) == ["b", "a"]
    # networkx's own round trip loses it; ours keeps it.
    assert list(
        nx.node_link_graph(nx.node_link_data(G, edges="edges"), edges="edges").pred["c"]
    ) == [
        "a",
        "b",
    ]
    assert list(json_round_trip(G).pred["c"]) == ["b", "a"]
    listed = [(e["source"], e["target"]) for e in io.to_node_link(G)["edges"]]
    assert listed == [("b", "c"), ("a", "c"), ("c", "a"), ("b", "a")]


def test_edge_order_survives_removals() -> None:
    G = nx.DiGraph()
    G.add_nodes_from("abcd")
    G.add_edges_from([("d", "a"), ("c", "a"), ("b", "a"), ("a", "b"), ("c", "b")])
    G.remove_edge("c", "a")
    G.add_edge("c", "a")
    G.add_edge("a", "d")
    H = nx.DiGraph()
    H.add_nodes_from(G)
    H.add_edges_from(edge_order(G))
    assert [list(H.succ[n]) for n in G] == [list(G.succ[n]) for n in G]
    assert [list(H.pred[n]) for n in G] == [list(G.pred[n]) for n in G]


def test_files_round_trip(tmp_path: Path) -> None:
    G = SAMPLES["nasty names"]
    path = tmp_path / "graph.json"
    io.write_node_link(G, path)
    text = path.read_text(encoding="utf-8")
    assert "Zürich ☃" in text
    assert text.endswith("}\n")
    assert_same_graph(G, io.read_node_link(path))
    io.write_node_link(G, path, indent=2)
    assert_same_graph(G, io.read_node_link(str(path)))


def test_links_key_of_older_networkx() -> None:
    G = io.from_node_link(
        {"nodes": [{"id": "a"}, {"id": "b"}], "links": [{"source": "a", "target": "b"}]}
    )
    assert list(G.edges) == [("a", "b")]


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        ([], InputError, "must be a JSON object"),
        ({"directed": False}, InputError, "undirected"),
        ({"multigraph": True}, InputError, "multigraph"),
        ({"nodes": {}}, InputError, "'nodes' must be a JSON array"),
        ({"graph": []}, RecordError, "graph: expected a JSON object"),
        ({"nodes": [1]}, RecordError, r"nodes\[0\]: expected a JSON object"),
        ({"nodes": [{}]}, RecordError, r"nodes\[0\]: no 'id'"),
        ({"nodes": [{"id": 3}]}, RecordError, r"'id' must be a string"),
        ({"nodes": [{"id": "a"}, {"id": "a"}]}, RecordError, "node 'a': listed twice"),
        (
            {"nodes": [{"id": "a"}], "edges": [{"source": "a", "target": "b"}]},
            RecordError,
            "target 'b' is not",
        ),
        (
            {"nodes": [{"id": "a"}], "edges": [{"source": "a"}]},
            RecordError,
            r"edges\[0\]: no 'target'",
        ),
        (
            {"nodes": [{"id": "a"}], "edges": [{"source": "a", "target": "a"}] * 2},
            RecordError,
            "edge 'a' -> 'a': listed twice",
        ),
        (
            {"nodes": [{"id": "a", "observed": 1}]},
            RecordError,
            "node 'a', attribute 'observed': expected bool, got int",
        ),
        (
            {"nodes": [{"id": "a", "beacons": 3.0}]},
            RecordError,
            "attribute 'beacons': expected int, got float",
        ),
        ({"nodes": [{"id": "a", "beacons": True}]}, RecordError, "expected int, got bool"),
        ({"nodes": [{"id": "a", "beacons": 2**64}]}, RecordError, "does not fit in 64 bits"),
        ({"nodes": [{"id": "a", "observed": None}]}, RecordError, "null, but the contract"),
        ({"nodes": [{"id": "a", "tags": ["x", 1]}]}, RecordError, "list item 1 is int"),
        (
            {"nodes": [{"id": "a", "first_seen": "2026-01-19T17:00:00"}]},
            RecordError,
            "naive timestamp",
        ),
        ({"nodes": [{"id": "a", "first_seen": "yesterday"}]}, RecordError, "not an ISO 8601"),
        (
            {"nodes": [{"id": "a", "first_seen": "2026-13-01T00:00:00.000000Z"}]},
            RecordError,
            "not an ISO 8601",
        ),
        (
            {"nodes": [{"id": "a", "first_seen": 1768842000}]},
            RecordError,
            "expected an ISO 8601 datetime",
        ),
        ({"nodes": [{"id": "a", "first_seen": "1600-01-01T00:00:00Z"}]}, RecordError, "1678"),
        ({"graph": {"inputs": "beacons"}}, RecordError, "graph, attribute 'inputs': expected list"),
        (
            {"nodes": [{"id": "a"}], "edges": [{"source": "a", "target": "a", "kind": None}]},
            RecordError,
            "edge 'a' -> 'a', attribute 'kind'",
        ),
    ],
)
def test_from_node_link_errors(data: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        io.from_node_link(data)


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        (b"{not json", LoadError, r"graph\.json: invalid JSON"),
        (b'{"nodes": [], "nodes": []}', LoadError, "duplicate key"),
        (b'{"nodes": [{"id": "a", "p50": NaN}]}', LoadError, "graph.json"),
        (b'{"directed": false}', LoadError, r"graph\.json: .*undirected"),
        (
            b'{"nodes": [{"id": "a", "beacons": "3"}]}',
            RecordError,
            r"graph\.json: node 'a', attribute 'beacons'",
        ),
        (b"\xff\xfe", LoadError, "UTF-8"),
    ],
)
def test_read_node_link_errors(
    tmp_path: Path, content: bytes, error: type[Exception], message: str
) -> None:
    path = tmp_path / "graph.json"
    path.write_bytes(content)
    with pytest.raises(error, match=message) as info:
        io.read_node_link(path)
    assert info.value.path == str(path)


def test_read_node_link_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match=r"nope\.json"):
        io.read_node_link(tmp_path / "nope.json")
    with pytest.raises(LoadError, match="cannot read"):
        io.read_node_link(tmp_path)


# --- DataFrames -------------------------------------------------------------------------------

_FRAME_DTYPES = {
    bool: "bool",
    int: "Int64",
    float: "float64",
    str: "string",
    datetime: "datetime64[ns, UTC]",
    list: "object",
}


def test_frame_columns_and_dtypes() -> None:
    nodes, edges = io.graph_to_frames(SAMPLES["virtual and None values"])
    assert nodes.index.name == "name"
    assert str(nodes.index.dtype) == "string"
    assert list(nodes.index) == ["api", "payments"]
    assert list(nodes.columns) == list(NODE_ATTRIBUTES)
    assert {k: str(t) for k, t in nodes.dtypes.items()} == {
        key: _FRAME_DTYPES[attr.type] for key, attr in NODE_ATTRIBUTES.items()
    }
    assert list(edges.columns) == ["caller", "callee", *EDGE_ATTRIBUTES]
    assert str(edges["caller"].dtype) == "string"
    assert {k: str(t) for k, t in edges.dtypes.items() if k in EDGE_ATTRIBUTES} == {
        key: _FRAME_DTYPES[attr.type] for key, attr in EDGE_ATTRIBUTES.items()
    }
    assert nodes.loc["payments", "rtt_version"] is pd.NA
    assert pd.isna(edges.loc[0, "p50_ms"])
    assert nodes.loc["api", "tags"] == ["a", "b"]


def test_frames_of_partial_graphs() -> None:
    G = nx.DiGraph()
    G.add_node(
        "a", observed=True, x_flag=True, x_count=3, x_ratio=0.5, x_name="n", x_when=T0, x_mix=1
    )
    G.add_node("b", x_mix="one")
    nodes, _ = io.graph_to_frames(G)
    dtypes = {k: str(t) for k, t in nodes.dtypes.items()}
    assert dtypes["observed"] == "boolean"  # one node lacks it
    assert list(nodes.columns)[len(NODE_ATTRIBUTES) :] == [
        "x_flag",
        "x_count",
        "x_ratio",
        "x_name",
        "x_when",
        "x_mix",
    ]
    assert [dtypes[k] for k in ("x_flag", "x_count", "x_ratio", "x_name", "x_when", "x_mix")] == [
        "boolean",
        "Int64",
        "float64",
        "string",
        "datetime64[ns, UTC]",
        "object",
    ]
    H = io.graph_from_frames(nodes, io.graph_to_frames(G)[1])
    assert H.nodes["b"]["x_flag"] is None
    assert "observed" not in H.nodes["b"]  # required and absent: stays absent
    assert H.nodes["b"]["group"] is None  # optional and absent: None
    assert_same_value(H.nodes["a"]["x_when"], T0, "x_when")
    assert_same_value(H.nodes["b"]["x_mix"], "one", "x_mix")


def test_empty_graph_frames() -> None:
    nodes, edges = io.graph_to_frames(nx.DiGraph())
    assert nodes.shape == (0, len(NODE_ATTRIBUTES))
    assert edges.shape == (0, 2 + len(EDGE_ATTRIBUTES))
    assert str(nodes["first_seen"].dtype) == "datetime64[ns, UTC]"
    H = io.graph_from_frames(nodes, edges)
    assert len(H) == 0
    assert H.graph == {}


@pytest.mark.parametrize("name", list(SAMPLES))
def test_frames_round_trip(name: str) -> None:
    G = SAMPLES[name]
    nodes, edges = io.graph_to_frames(G)
    assert_same_graph(G, io.graph_from_frames(nodes, edges, G.graph))


@settings(max_examples=100, deadline=None)
@given(graphs_st(complete=True))
def test_frames_round_trip_property(G: nx.DiGraph) -> None:
    nodes, edges = io.graph_to_frames(G)
    assert_same_graph(G, io.graph_from_frames(nodes, edges, G.graph))


def test_frames_through_parquet(tmp_path: Path) -> None:
    G = SAMPLES["virtual and None values"]
    nodes, edges = io.graph_to_frames(G)
    nodes.to_parquet(tmp_path / "nodes.parquet")
    edges.to_parquet(tmp_path / "edges.parquet")
    back_nodes = pd.read_parquet(tmp_path / "nodes.parquet")
    back_edges = pd.read_parquet(tmp_path / "edges.parquet")
    assert isinstance(back_nodes.loc["api", "tags"], np.ndarray)
    assert_same_graph(G, io.graph_from_frames(back_nodes, back_edges, G.graph))


def test_graph_from_frames_cleans_values() -> None:
    nodes = pd.DataFrame(
        {
            "name": ["a", "b"],
            "beacons": [3.0, np.nan],
            "observed": [True, None],
            "first_seen": ["2026-01-19T18:00:00+01:00", None],
            "last_seen": pd.to_datetime(["2026-01-19T17:00:00Z", None], utc=True),
            "heartbeat_interval_s": pd.array([30, None], dtype="Int64"),
            "tags": [np.array(["x"]), None],
            "x_extra": [np.int64(4), pd.NA],
        },
        index=[10, 11],
    )
    edges = pd.DataFrame(
        {"caller": ["a"], "callee": ["b"], "calls": [np.int64(5)], "p50_ms": [pd.NA]}
    )
    G = io.graph_from_frames(
        nodes, edges, {"window_start": pd.Timestamp(T0), "x_note": np.float64(1.5)}
    )
    assert list(G) == ["a", "b"]
    assert_same_attrs(
        G.nodes["a"],
        {
            "beacons": 3,
            "observed": True,
            "first_seen": T0,
            "last_seen": T0,
            "heartbeat_interval_s": 30.0,
            "tags": ["x"],
            "x_extra": 4,
        },
        "a",
    )
    assert_same_attrs(
        G.nodes["b"],
        {"first_seen": None, "last_seen": None, "heartbeat_interval_s": None, "x_extra": None},
        "b",
    )
    assert_same_attrs(G.edges["a", "b"], {"calls": 5, "p50_ms": None}, "edge")
    assert_same_attrs(G.graph, {"window_start": T0, "x_note": 1.5}, "graph")


@pytest.mark.parametrize(
    ("nodes", "edges", "message"),
    [
        (pd.DataFrame(index=["a"]), pd.DataFrame({"caller": []}), "no 'callee' column"),
        (
            pd.DataFrame({"x": [1]}),
            pd.DataFrame({"caller": [], "callee": []}),
            "nodes, row 0: .*got 0",
        ),
        (
            pd.DataFrame(index=["a", "a"]),
            pd.DataFrame({"caller": [], "callee": []}),
            "node 'a': listed twice",
        ),
        (
            pd.DataFrame(index=["a"]),
            pd.DataFrame({"caller": ["a"], "callee": ["b"]}),
            "callee 'b' is not in",
        ),
        (
            pd.DataFrame(index=["a"]),
            pd.DataFrame({"caller": ["a", "a"], "callee": ["a", "a"]}),
            "edge 'a' -> 'a': listed twice",
        ),
        (
            pd.DataFrame({"beacons": ["3"]}, index=["a"]),
            pd.DataFrame({"caller": [], "callee": []}),
            "node 'a', attribute 'beacons': expected int, got str",
        ),
        (
            pd.DataFrame({"beacons": [3.5]}, index=["a"]),
            pd.DataFrame({"caller": [], "callee": []}),
            "expected int, got float",
        ),
        (
            pd.DataFrame({0: [1]}, index=["a"]),
            pd.DataFrame({"caller": [], "callee": []}),
            "column names must be strings",
        ),
        (
            pd.DataFrame({"first_seen": pd.to_datetime(["2026-01-19"])}, index=["a"]),
            pd.DataFrame({"caller": [], "callee": []}),
            "naive datetime",
        ),
        ([], pd.DataFrame(), "nodes must be a pandas DataFrame"),
    ],
)
def test_graph_from_frames_errors(nodes: Any, edges: pd.DataFrame, message: str) -> None:
    with pytest.raises(InputError, match=message):
        io.graph_from_frames(nodes, edges)


def test_graph_from_frames_graph_attrs_must_be_mapping() -> None:
    with pytest.raises(InputError, match="graph_attrs must be a mapping"):
        io.graph_from_frames(pd.DataFrame(), pd.DataFrame({"caller": [], "callee": []}), [1])


# --- GraphML ----------------------------------------------------------------------------------

NS = {"g": "http://graphml.graphdrawing.org/xmlns"}


def check_graphml_file(path: Path) -> dict[tuple[str, str], str]:
    """Keys declared once with a type; no empty or "None" data. Returns (for, name) -> type."""
    root = ET.parse(path).getroot()
    keys: dict[tuple[str, str], str] = {}
    ids = {}
    for key in root.findall("g:key", NS):
        scope_name = (key.get("for"), key.get("attr.name"))
        assert scope_name not in keys, f"key declared twice: {scope_name}"
        assert key.get("attr.type") in {"boolean", "long", "double", "string"}
        keys[scope_name] = key.get("attr.type")
        ids[key.get("id")] = scope_name
    for data in root.iter("{http://graphml.graphdrawing.org/xmlns}data"):
        assert data.get("key") in ids
        assert data.text not in (None, "", "None"), ET.tostring(data)
    return keys


def test_graphml_types_and_values(tmp_path: Path) -> None:
    G = SAMPLES["virtual and None values"]
    path = tmp_path / "graph.graphml"
    io.write_graphml(G, path)
    keys = check_graphml_file(path)
    assert keys[("node", "label")] == "string"
    assert keys[("node", "observed")] == "boolean"
    assert keys[("node", "beacons")] == "long"
    assert keys[("node", "heartbeat_interval_s")] == "double"
    assert keys[("node", "tags")] == "string"
    assert keys[("edge", "calls")] == "long"
    assert keys[("graph", "inputs")] == "string"
    H = nx.read_graphml(path)
    assert list(H.nodes) == list(G.nodes)
    assert list(H.edges) == list(G.edges)
    api = H.nodes["api"]
    assert api["label"] == "api"
    assert_same_value(api["observed"], True, "observed")
    assert_same_value(api["beacons"], 7, "beacons")
    assert_same_value(api["heartbeat_interval_s"], 30.0, "heartbeat")
    assert api["first_seen"] == "2026-01-19T17:00:00.000000Z"
    assert json.loads(api["tags"]) == ["a", "b"]
    payments = H.nodes["payments"]
    assert "rtt_version" not in payments  # None is left out
    assert payments["supports"] == "[]"
    assert payments["virtual"] is True
    assert "window_start" not in H.graph
    assert H.graph["inputs"] == '["beacons"]'
    assert H.graph["rtt_topology_version"] == "x"
    assert "p50_ms" not in H.edges["api", "payments"]


def test_graphml_extras_get_one_type(tmp_path: Path) -> None:
    G = nx.DiGraph()
    G.add_node("a", x_num=1, x_mix=1, x_none=None, x_list=[1], label="Alpha", contact="")
    G.add_node("b", x_num=2.5, x_mix="two", x_none=None, x_list=None)
    path = tmp_path / "graph.graphml"
    io.write_graphml(G, path)
    keys = check_graphml_file(path)
    assert keys[("node", "x_num")] == "double"
    assert keys[("node", "x_mix")] == "string"
    assert ("node", "x_none") not in keys
    assert ("node", "contact") not in keys  # empty text is left out
    H = nx.read_graphml(path)
    assert_same_attrs(
        H.nodes["a"], {"x_num": 1.0, "x_mix": "1", "x_list": "[1]", "label": "Alpha"}, "a"
    )
    assert_same_attrs(H.nodes["b"], {"x_num": 2.5, "x_mix": "two", "label": "b"}, "b")


@pytest.mark.parametrize("name", ["nasty names", "1000 nodes", "empty", "self-loop"])
def test_graphml_names_survive(tmp_path: Path, name: str) -> None:
    G = SAMPLES[name]
    path = tmp_path / "graph.graphml"
    io.write_graphml(G, path)
    check_graphml_file(path)
    H = nx.read_graphml(path)
    assert list(H.nodes) == list(G.nodes)
    assert list(H.edges) == list(G.edges)
    for n in G:
        assert H.nodes[n].get("label", "") == n  # "" has no label: empty text is left out
        if "owner" in G.nodes[n] and G.nodes[n]["owner"]:
            assert H.nodes[n]["owner"] == G.nodes[n]["owner"]
            assert json.loads(H.nodes[n]["tags"]) == G.nodes[n]["tags"]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda G: G.add_node("a\x00b"), r"node 'a\\x00b': XML cannot hold the character U\+0000"),
        (
            lambda G: G.add_node("a", owner="bell\x07"),
            "node 'a', attribute 'owner': XML cannot hold",
        ),
        (
            lambda G: G.add_node("a", **{"x\x01": 1}),
            "XML cannot hold a character|XML cannot hold the character",
        ),
        (lambda G: G.graph.update(id="g1"), "graph, attribute 'id': the name is reserved"),
        (lambda G: G.graph.update(node_default={}), "reserved"),
    ],
)
def test_graphml_refuses(tmp_path: Path, build: Callable[[nx.DiGraph], None], message: str) -> None:
    G = nx.DiGraph()
    build(G)
    with pytest.raises(RecordError, match=message):
        io.write_graphml(G, tmp_path / "graph.graphml")


# --- DOT --------------------------------------------------------------------------------------

_QUOTED = r'"(?:[^"\\\n\r]|\\.)*"'


def dot_unquote(token: str) -> str:
    """Decode one quoted DOT string written by io (the reference decoder of the tests)."""
    assert re.fullmatch(_QUOTED, token), token
    body, out, i = token[1:-1], [], 0
    while i < len(body):
        char = body[i]
        if char != "\\":
            out.append(char)
            i += 1
        elif body[i + 1] == "x":
            out.append(chr(int(body[i + 2 : i + 4], 16)))
            i += 4
        else:
            out.append({"\\": "\\", '"': '"', "n": "\n", "r": "\r"}[body[i + 1]])
            i += 2
    return "".join(out)


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("api", '"api"'),
        ('say "hi"', r'"say \"hi\""'),
        ("a\\b", r'"a\\b"'),
        ("end\\", r'"end\\"'),
        ('\\"', r'"\\\""'),
        ("two\nlines\r", r'"two\nlines\r"'),
        ("tab\there", '"tab\there"'),
        ("bell\x07nul\x00del\x7f", r'"bell\x07nul\x00del\x7f"'),
        ("<script>alert(1)</script>", '"<script>alert(1)</script>"'),
        ("Zürich ☃ 🚀", '"Zürich ☃ 🚀"'),
        ("", '""'),
    ],
)
def test_dot_quote(text: str, quoted: str) -> None:
    assert dot_quote(text) == quoted
    assert dot_unquote(quoted) == text


@given(st.text())
def test_dot_quote_is_safe_and_reversible(text: str) -> None:
    quoted = dot_quote(text)
    assert re.fullmatch(_QUOTED, quoted)
    assert not re.search("[\x00-\x08\x0a-\x1f\x7f-\x9f]", quoted)
    assert dot_unquote(quoted) == text


def node_statements(text: str) -> dict[str, str]:
    """Node name -> its attribute list, from the lines io writes."""
    out = {}
    for line in text.splitlines():
        match = re.fullmatch(rf"\s*({_QUOTED})( \[.*\])?;", line)
        if match:
            out[dot_unquote(match.group(1))] = match.group(2) or ""
    return out


def edge_statements(text: str) -> dict[tuple[str, str], str]:
    out = {}
    for line in text.splitlines():
        match = re.fullmatch(rf"\s*({_QUOTED}) -> ({_QUOTED})( \[.*\])?;", line)
        if match:
            out[dot_unquote(match.group(1)), dot_unquote(match.group(2))] = match.group(3) or ""
    return out


def test_dot_structure_and_style() -> None:
    G = make_graph(
        {
            "api": node(),
            "worker": node(group="west"),
            "db": node(group=None),
            "payments": virtual_node(),
        },
        [
            ("api", "worker", edge(kind="messaging", calls=9)),
            ("api", "db", edge(kind="database", calls=999, errors=2)),
            ("api", "payments", edge(kind="virtual", calls=10**9)),
            ("worker", "db", edge(empty=True)),
        ],
    )
    text = io.to_dot(G)
    assert text.startswith('digraph "services" {\n')
    assert text.endswith("}\n")
    nodes, edges = node_statements(text), edge_statements(text)
    assert list(nodes) == ["api", "worker", "db", "payments"]
    assert 'style="rounded,dashed"' in nodes["payments"]
    assert 'color="grey50"' in nodes["payments"]
    assert 'label="api"' in nodes["api"]
    assert 'beacons="7"' in nodes["api"]
    assert 'first_seen="2026-01-19T17:00:00.000000Z"' in nodes["api"]
    assert "tags" not in nodes["api"]  # lists are not drawn
    assert "rtt_version" not in nodes["payments"]  # nor None
    assert 'arrowhead="vee"' in edges["api", "worker"]
    assert 'penwidth="2.00"' in edges["api", "worker"]
    assert 'color="red"' in edges["api", "db"]
    assert 'penwidth="4.00"' in edges["api", "db"]
    assert 'arrowhead="box"' in edges["api", "db"]
    assert 'color="grey50"' in edges["api", "payments"]
    assert 'penwidth="8.00"' in edges["api", "payments"]
    assert 'style="dashed"' in edges["worker", "db"]
    assert 'penwidth="1.00"' in edges["worker", "db"]
    assert 'style="dashed"' not in edges["api", "db"]
    east = text.index('subgraph "cluster_east" {')
    west = text.index('subgraph "cluster_west" {')
    assert east < text.index('"api" [') < west < text.index('"worker" [') < text.index('"db" [')
    assert 'graph [rankdir="LR", window_start="2026-01-19T17:00:00.000000Z"' in text


def test_dot_data_attribute_named_like_graphviz_wins() -> None:
    G = nx.DiGraph()
    G.add_node("a", color="blue", label="Alpha", **{"odd name": 'q"'})
    statement = node_statements(io.to_dot(G))["a"]
    assert statement == ' [label="Alpha", color="blue", "odd name"="q\\""]'


@pytest.mark.parametrize(
    "name", ["nasty names", "1000 nodes", "empty", "self-loop", "virtual and None values"]
)
def test_dot_names_survive(name: str) -> None:
    G = SAMPLES[name]
    text = io.to_dot(G)
    assert list(node_statements(text)) == sorted(G, key=lambda n: _cluster_rank(G, n))
    assert list(edge_statements(text)) == edge_order(G)


def _cluster_rank(G: nx.DiGraph, n: str) -> tuple[int, int]:
    groups = list(dict.fromkeys(G.nodes[m].get("group") for m in G))
    group = G.nodes[n].get("group")
    order = list(G).index(n)
    return (len(groups), order) if group is None else (groups.index(group), order)


def test_write_dot(tmp_path: Path) -> None:
    G = SAMPLES["nasty names"]
    io.write_dot(G, tmp_path / "graph.dot")
    assert (tmp_path / "graph.dot").read_text(encoding="utf-8") == io.to_dot(G)


# pydot 4.0 calls pyparsing names that pyparsing 3.3 deprecates; not ours to fix.
@pytest.mark.filterwarnings("ignore:'\\w+' deprecated - use:DeprecationWarning")
def test_dot_parses_with_pydot() -> None:
    pydot = pytest.importorskip("pydot")
    G = make_graph(
        {**{n: node(group=n[:3] or None) for n in NASTY_NAMES}, "virtual": virtual_node()},
        [(a, b, edge()) for a, b in zip(NASTY_NAMES, NASTY_NAMES[::-1], strict=True)],
    )
    (parsed,) = pydot.graph_from_dot_data(io.to_dot(G))
    assert parsed.get_type() == "digraph"
    found = []
    for graph in [parsed, *parsed.get_subgraphs()]:
        found += [
            dot_unquote(n.get_name())
            for n in graph.get_nodes()
            if n.get_name() not in ("node", "edge", "graph")
        ]
    assert sorted(found) == sorted(G)
    edges = [
        (dot_unquote(e.get_source()), dot_unquote(e.get_destination())) for e in parsed.get_edges()
    ]
    assert edges == edge_order(G)
    cluster = parsed.get_subgraphs()[0]
    assert dot_unquote(cluster.get_name()) == "cluster_" + NASTY_NAMES[0][:3]
    labels = [dot_unquote(n.get("label")) for n in cluster.get_nodes() if n.get_name() != "graph"]
    assert labels == [NASTY_NAMES[0]]


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_dot_renders_with_graphviz() -> None:
    G = make_graph(
        {**{n: node(group=n[:3] or None) for n in NASTY_NAMES}, "virtual": virtual_node()},
        [(a, b, edge(calls=5)) for a, b in zip(NASTY_NAMES, NASTY_NAMES[::-1], strict=True)],
    )
    G.add_node("ctl\x01\x1b")
    done = subprocess.run(
        ["dot", "-Tplain"],
        input=io.to_dot(G).encode(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    assert sum(line.startswith(b"node ") for line in done.stdout.splitlines()) == len(G)
    assert (
        sum(line.startswith(b"edge ") for line in done.stdout.splitlines()) == G.number_of_edges()
    )


# --- checks shared by every writer ------------------------------------------------------------


def _graphml(G: nx.DiGraph, tmp_path: Path) -> None:
    io.write_graphml(G, tmp_path / "g.graphml")


def _node_link_file(G: nx.DiGraph, tmp_path: Path) -> None:
    io.write_node_link(G, tmp_path / "g.json")


def _dot_file(G: nx.DiGraph, tmp_path: Path) -> None:
    io.write_dot(G, tmp_path / "g.dot")


WRITERS: dict[str, Callable[[nx.DiGraph, Path], Any]] = {
    "to_node_link": lambda G, _: io.to_node_link(G),
    "write_node_link": _node_link_file,
    "graph_to_frames": lambda G, _: io.graph_to_frames(G),
    "write_graphml": _graphml,
    "to_dot": lambda G, _: io.to_dot(G),
    "write_dot": _dot_file,
}


@pytest.mark.parametrize("writer", list(WRITERS))
@pytest.mark.parametrize(
    ("graph", "message"),
    [
        (nx.Graph(), "undirected Graph"),
        (nx.MultiDiGraph(), "MultiDiGraph"),
        ({"a": ["b"]}, "got dict"),
        (None, "got NoneType"),
    ],
)
def test_writers_want_a_digraph(tmp_path: Path, writer: str, graph: Any, message: str) -> None:
    with pytest.raises(InputError, match=message):
        WRITERS[writer](graph, tmp_path)


BAD_VALUES = [
    ("node", "beacons", "12", "attribute 'beacons': expected int, got str '12'"),
    ("node", "beacons", True, "expected int, got bool"),
    ("node", "beacons", np.int64(3), "expected int, got numpy.int64"),
    ("node", "heartbeat_interval_s", 30, "expected float, got int"),
    ("node", "median_interval_s", math.nan, "float nan is not allowed"),
    ("node", "median_interval_s", math.inf, "float inf is not allowed"),
    ("node", "first_seen", datetime(2026, 1, 1), "naive datetime"),
    ("node", "first_seen", datetime(1500, 1, 1, tzinfo=UTC), "outside 1678-2261"),
    ("node", "last_seen", datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))), "outside"),
    ("node", "last_seen", datetime(2262, 1, 1, tzinfo=UTC), "outside 1678-2261"),
    ("node", "first_seen", "2026-01-01T00:00:00Z", "expected datetime, got str"),
    ("node", "tags", ["a", 1], "list item 1 is int 1, not str"),
    ("node", "supports", "drift", "expected list, got str"),
    ("node", "observed", None, "None, but the contract does not allow None"),
    ("node", "owner", "bad \ud800", "lone surrogate U\\+D800"),
    ("node", "x_set", {1}, "unsupported value of type set"),
    ("node", "x_numpy", np.int64(1), "unsupported value of type numpy.int64"),
    ("node", "x_map", {1: "a"}, "mapping key 1 is int"),
    ("node", "x_nan", [math.nan], "float nan"),
    (
        "edge",
        "calls",
        2**64,
        "edge 'a' -> 'b', attribute 'calls': integer .* does not fit in 64 bits",
    ),
    ("edge", "kind", 3, "edge 'a' -> 'b', attribute 'kind': expected str, got int"),
    (
        "graph",
        "window_start",
        T0.date(),
        "graph, attribute 'window_start': expected datetime, got datetime.date",
    ),
    ("graph", "inputs", None, "graph, attribute 'inputs': None"),
]


@pytest.mark.parametrize("writer", list(WRITERS))
@pytest.mark.parametrize(("scope", "key", "value", "message"), BAD_VALUES)
def test_writers_name_bad_values(
    tmp_path: Path, writer: str, scope: str, key: str, value: Any, message: str
) -> None:
    G = make_graph({"a": node(), "b": node()}, [("a", "b", edge())])
    target = {"node": G.nodes["a"], "edge": G.edges["a", "b"], "graph": G.graph}[scope]
    target[key] = value
    where = {"node": "node 'a', ", "edge": "", "graph": ""}[scope]
    with pytest.raises(RecordError, match=f"{where}.*{message}"):
        WRITERS[writer](G, tmp_path)


@pytest.mark.parametrize("writer", list(WRITERS))
def test_writers_want_string_names(tmp_path: Path, writer: str) -> None:
    G = nx.DiGraph()
    G.add_node(3)
    with pytest.raises(RecordError, match="node 3: node names must be str, got int"):
        WRITERS[writer](G, tmp_path)
    G = nx.DiGraph()
    G.add_node("a", ok=1)
    G.nodes["a"][("t", 1)] = 1
    with pytest.raises(RecordError, match=r"node 'a': attribute name .* is tuple, not str"):
        WRITERS[writer](G, tmp_path)


@pytest.mark.parametrize(
    ("writer", "scope", "key"),
    [
        ("to_node_link", "node", "id"),
        ("to_node_link", "edge", "source"),
        ("to_node_link", "edge", "target"),
        ("graph_to_frames", "node", "name"),
        ("graph_to_frames", "edge", "caller"),
        ("graph_to_frames", "edge", "callee"),
    ],
)
def test_reserved_attribute_names(writer: str, scope: str, key: str) -> None:
    G = nx.DiGraph([("a", "b")])
    target = G.nodes["a"] if scope == "node" else G.edges["a", "b"]
    target[key] = "x"
    with pytest.raises(RecordError, match=f"attribute '{key}': the name is reserved"):
        WRITERS[writer](G, Path())


def test_writers_do_not_change_the_graph(tmp_path: Path) -> None:
    G = SAMPLES["virtual and None values"]
    before = io.to_node_link(G)
    for write in WRITERS.values():
        write(G, tmp_path)
    assert io.to_node_link(G) == before


def test_public_names() -> None:
    assert sorted(io.__all__) == [
        "from_node_link",
        "graph_from_frames",
        "graph_to_frames",
        "read_node_link",
        "to_dot",
        "to_node_link",
        "write_dot",
        "write_graphml",
        "write_node_link",
    ]
    for name in io.__all__:
        assert callable(getattr(io, name))
