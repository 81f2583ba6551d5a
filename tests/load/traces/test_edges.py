"""Pairing spans into edges: edges_from_spans and the messy inputs it must survive."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from rtt_topology.load.traces import EDGE_COLUMNS, SPAN_COLUMNS, edges_from_spans, read_traces
from rtt_topology.load.traces.edges import edges_from_links, merge_edges
from tests import DATA

DATA = DATA / "traces"
T0 = pd.Timestamp("2026-01-19T00:00:00Z")


def make_spans(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A span table from short rows: trace ``t``, ids as small ints, times in ms."""
    defaults: dict[str, Any] = {
        "trace": 1, "parent": None, "name": "op", "kind": "server", "at": 0.0, "ms": 1.0,
        "error": False, "peer": None, "db": None, "msg": None, "format": "otlp",
    }  # fmt: skip
    full = [{**defaults, **row} for row in rows]
    frame = pd.DataFrame(
        {
            "trace_id": [f"{r['trace']:032x}" for r in full],
            "span_id": [f"{r['id']:016x}" for r in full],
            "parent_id": [None if r["parent"] is None else f"{r['parent']:016x}" for r in full],
            "service": [r["service"] for r in full],
            "name": [r["name"] for r in full],
            "kind": [r["kind"] for r in full],
            "start": [T0 + pd.Timedelta(milliseconds=r["at"]) for r in full],
            "duration_ms": [r["ms"] for r in full],
            "error": [r["error"] for r in full],
            "peer": [r["peer"] for r in full],
            "db_system": [r["db"] for r in full],
            "messaging_system": [r["msg"] for r in full],
            "cluster": [None] * len(full),
            "format": [r["format"] for r in full],
            "source": ["test"] * len(full),
        }
    )
    return frame.astype(SPAN_COLUMNS)


def rows(edges: pd.DataFrame) -> list[tuple[Any, ...]]:
    cols = ["caller", "callee", "kind", "calls", "errors"]
    return [tuple(r) for r in edges[cols].to_numpy().tolist()]


# --- the messy fixture files ----------------------------------------------------------------


def test_parents_missing_from_the_file() -> None:
    load = read_traces(DATA / "missing_parent.json")
    # The server and the kindless span lost their parents; the client still has its peer.
    assert load.report.unpaired == {"parent not in export": 2}
    assert load.report.roots == 0
    assert rows(load.edges) == [("orders", "orders-db", "database", 1, 0)]


def test_shared_client_server_span_id() -> None:
    load = read_traces(DATA / "shared_span.json")
    assert rows(load.edges) == [
        ("cart", "redis", "database", 1, 0),
        # One call, not two: the server shares the client's id; its error tag is empty text.
        ("web", "cart", "rpc", 1, 1),
    ]
    assert load.edges.loc[1, "p50_ms"] == 8.0  # the server side's duration
    assert load.report.unpaired == {}


@pytest.mark.parametrize(
    "order",
    [
        ["shared_span.json", "shared_span_jaeger.json"],
        ["shared_span_jaeger.json", "shared_span.json"],
    ],
)
def test_shared_span_and_own_id_exports_of_one_trace_collapse(order: list[str]) -> None:
    both = read_traces([DATA / name for name in order])
    alone = read_traces(DATA / "shared_span.json")
    cols = [c for c in EDGE_COLUMNS if c != "formats"]
    pd.testing.assert_frame_equal(both.edges[cols], alone.edges[cols])
    assert set(both.edges["formats"]) == {"jaeger,zipkin"}
    assert both.report.duplicate_spans == 4
    assert len(both.spans) == 4
    assert (both.report.roots, both.report.intra_service) == (1, 2)


def test_empty_service_names() -> None:
    load = read_traces(DATA / "empty_service.json")
    assert load.edges.empty
    assert list(load.edges.columns) == list(EDGE_COLUMNS)
    assert load.report.unpaired == {"empty service name": 2, "caller has empty service name": 1}


def test_clock_skew_does_not_matter() -> None:
    load = read_traces(DATA / "clock_skew.json")
    spans = load.spans.set_index("kind", drop=False)
    assert spans.loc["server", "start"] < spans.loc["client", "start"]
    assert rows(load.edges) == [("cart", "pricing", "rpc", 1, 0)]
    edge = load.edges.iloc[0]
    # The call's time is the client's start; its latency the server's duration.
    assert edge["first_seen"] == spans.loc["client", "start"]
    assert edge["p50_ms"] == 4.0
    assert not edge["callee_virtual"]


def test_spans_without_duration() -> None:
    load = read_traces(DATA / "no_duration.json")
    assert load.spans["duration_ms"].isna().sum() == 2
    assert load.spans["start"].isna().sum() == 1
    edge = load.edges.iloc[0]
    assert (edge["calls"], edge["p50_ms"], edge["p95_ms"]) == (2, 2.0, 2.0)
    assert edge["first_seen"] == pd.Timestamp("2023-11-14T22:13:20Z")


def test_kindless_span_with_both_endpoints_is_a_client() -> None:
    load = read_traces(DATA / "kindless_client.json")
    kinds = dict(zip(load.spans["name"].astype(str), load.spans["kind"].astype(str), strict=True))
    assert kinds == {"get /orders": "server", "select orders": "client", "render": "unspecified"}
    assert rows(load.edges) == [("orders-api", "orders-db", "database", 1, 0)]
    assert load.edges["callee_virtual"].tolist() == [True]
    assert load.report.intra_service == 2


def test_root_server_without_client() -> None:
    load = read_traces(DATA / "root_server.json")
    assert load.edges.empty
    assert load.report.roots == 1
    assert load.report.unpaired == {}


# --- the rules, on small tables -------------------------------------------------------------


def test_parent_child_across_services_without_kinds() -> None:
    spans = make_spans(
        [
            {"id": 1, "service": "a", "kind": "unspecified"},
            {"id": 2, "parent": 1, "service": "b", "kind": "unspecified", "ms": 3.0},
            {"id": 3, "parent": 2, "service": "b", "kind": "internal"},
        ]
    )
    edges, stats = edges_from_spans(spans)
    assert rows(edges) == [("a", "b", "rpc", 1, 0)]
    assert edges.loc[0, "p50_ms"] == 3.0
    assert (stats.roots, stats.intra_service, stats.unpaired) == (1, 1, {})


def test_edge_kinds() -> None:
    spans = make_spans(
        [
            {"id": 1, "service": "api"},
            {"id": 2, "parent": 1, "service": "api", "kind": "client", "peer": "users"},
            {"id": 3, "parent": 2, "service": "users"},
            {"id": 4, "parent": 1, "service": "api", "kind": "client", "db": "redis", "peer": "c"},
            {"id": 5, "parent": 1, "service": "api", "kind": "producer"},
            {"id": 6, "parent": 5, "service": "worker", "kind": "consumer", "error": True},
            {"id": 7, "parent": 1, "service": "api", "kind": "client", "peer": "stripe"},
            {
                "id": 8,
                "parent": 1,
                "service": "api",
                "kind": "producer",
                "msg": "kafka",
                "peer": "q",
            },
            {"id": 9, "parent": 1, "service": "api", "kind": "client"},
            {"id": 10, "parent": 1, "service": "api", "kind": "client", "peer": "api"},
        ]
    )
    edges, stats = edges_from_spans(spans)
    assert rows(edges) == [
        ("api", "c", "database", 1, 0),
        ("api", "q", "messaging", 1, 0),
        ("api", "stripe", "virtual", 1, 0),
        ("api", "users", "rpc", 1, 0),
        ("api", "worker", "messaging", 1, 1),
    ]
    assert edges["callee_virtual"].tolist() == [True, True, True, False, False]
    assert stats.unpaired == {"client without server or peer": 1}
    # Children 2, 4, 5, 7, 8, 9, 10 of the api root, plus the client to its own service.
    assert stats.intra_service == 8
    assert stats.calls == 5


def test_a_call_inside_one_service_is_intra_service() -> None:
    spans = make_spans(
        [
            {"id": 1, "service": "api", "kind": "producer", "peer": "jobs"},
            {"id": 2, "parent": 1, "service": "api", "kind": "consumer"},
            {"id": 3, "service": "api", "kind": "client", "trace": 2},
            {"id": 4, "parent": 3, "service": "api", "trace": 2},
        ]
    )
    edges, stats = edges_from_spans(spans)
    assert edges.empty
    assert (stats.intra_service, stats.unpaired) == (2, {})


def test_a_peer_that_has_spans_is_not_virtual() -> None:
    spans = make_spans(
        [
            {"id": 1, "service": "api", "kind": "client", "peer": "users", "error": True},
            {"id": 2, "trace": 2, "service": "users"},
        ]
    )
    edges, _ = edges_from_spans(spans)
    assert rows(edges) == [("api", "users", "rpc", 1, 1)]
    assert not edges.loc[0, "callee_virtual"]


def test_leaf_internal_span_with_peer_counts_for_jaeger_only() -> None:
    row = {"id": 1, "service": "batch", "kind": "internal", "peer": "ftp"}
    jaeger, _ = edges_from_spans(make_spans([{**row, "format": "jaeger"}]))
    otlp, _ = edges_from_spans(make_spans([{**row, "format": "otlp"}]))
    assert rows(jaeger) == [("batch", "ftp", "virtual", 1, 0)]
    assert otlp.empty


def test_errors_from_either_side() -> None:
    spans = make_spans(
        [
            {"id": 1, "service": "a", "kind": "client", "error": True},
            {"id": 2, "parent": 1, "service": "b"},
            {"id": 3, "trace": 2, "service": "a", "kind": "client"},
            {"id": 4, "trace": 2, "parent": 3, "service": "b", "error": True},
            {"id": 5, "trace": 3, "service": "a", "kind": "client"},
            {"id": 6, "trace": 3, "parent": 5, "service": "b"},
        ]
    )
    edges, _ = edges_from_spans(spans)
    assert rows(edges) == [("a", "b", "rpc", 3, 2)]


def test_quantiles_are_numpy_linear_percentiles() -> None:
    durations = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, np.nan]
    spans = make_spans(
        [
            {"id": 2 * i + 1, "trace": i + 1, "service": "a", "kind": "client", "at": i}
            for i in range(len(durations))
        ]
        + [
            {"id": 2 * i + 2, "trace": i + 1, "parent": 2 * i + 1, "service": "b", "ms": ms}
            for i, ms in enumerate(durations)
        ]
    )
    edges, _ = edges_from_spans(spans)
    known = [d for d in durations if d == d]
    assert edges.loc[0, "p50_ms"] == np.percentile(known, 50, method="linear")
    assert edges.loc[0, "p95_ms"] == np.percentile(known, 95, method="linear")
    assert edges.loc[0, "calls"] == len(durations)


def test_sample_trace_ids_are_the_earliest_calls() -> None:
    spans = make_spans(
        [
            {"id": i, "trace": 100 - i, "service": "a", "kind": "client", "peer": "b", "at": i}
            for i in range(1, 9)
        ]
        + [{"id": 50, "trace": 99, "service": "a", "kind": "client", "peer": "b", "at": 0.5}]
    )
    edges, _ = edges_from_spans(spans)
    # Trace 99 (0x63) called twice: it appears once; then the next earliest calls.
    assert edges.loc[0, "sample_trace_ids"] == [f"{t:032x}" for t in (99, 98, 97, 96, 95)]
    assert edges.loc[0, "first_seen"] == T0 + pd.Timedelta(microseconds=500)
    assert edges.loc[0, "last_seen"] == T0 + pd.Timedelta(milliseconds=8)


def test_ids_with_dropped_leading_zeros_in_a_table() -> None:
    spans = make_spans([{"id": 1, "service": "a"}, {"id": 2, "parent": 1, "service": "b"}])
    spans["span_id"] = spans["span_id"].str.lstrip("0")
    edges, _ = edges_from_spans(spans)
    # A table built by hand must hold normalised ids: unnormalised ones do not pair.
    assert edges.empty
    normalised = read_traces(DATA / "leading_zeros.json").spans
    assert rows(edges_from_spans(normalised)[0]) == [("shop", "inventory", "rpc", 1, 0)]


def test_object_columns_and_odd_ids_are_accepted() -> None:
    spans = make_spans([{"id": 1, "service": "a"}, {"id": 2, "parent": 1, "service": "b"}])
    spans = spans.astype({"trace_id": object, "span_id": object, "parent_id": object})
    spans["span_id"] = ["root", "child"]
    spans["parent_id"] = [None, "root"]
    edges, _ = edges_from_spans(spans)
    assert rows(edges) == [("a", "b", "rpc", 1, 0)]


def test_empty_table() -> None:
    edges, stats = edges_from_spans(make_spans([]))
    assert edges.empty
    assert list(edges.columns) == list(EDGE_COLUMNS)
    assert (stats.roots, stats.calls, stats.unpaired) == (0, 0, {})


def test_pairing_is_vectorised_at_scale() -> None:
    n = 200_000  # spans: client/server pairs over many traces; stays fast when vectorised
    ids = np.arange(1, n + 1)
    frame = pd.DataFrame(
        {
            "trace_id": pd.array([f"{t:032x}" for t in (ids + 1) // 2], dtype="str"),
            "span_id": pd.array([f"{i:016x}" for i in ids], dtype="str"),
            "parent_id": pd.array([f"{i - 1:016x}" if i % 2 == 0 else None for i in ids], "str"),
            "service": pd.Categorical(np.where(ids % 2, "a", "b")),
            "name": pd.Categorical(["op"] * n),
            "kind": pd.Categorical(np.where(ids % 2, "client", "server")),
            "start": T0 + pd.to_timedelta(ids, unit="ms"),
            "duration_ms": ids.astype(float),
            "error": ids % 10 == 0,
            "peer": pd.array([None] * n, dtype="str"),
            "db_system": pd.array([None] * n, dtype="str"),
            "messaging_system": pd.array([None] * n, dtype="str"),
            "cluster": pd.array([None] * n, dtype="str"),
            "format": pd.Categorical(["otlp"] * n),
            "source": pd.Categorical(["x"] * n),
        }
    )
    edges, stats = edges_from_spans(frame)
    assert rows(edges) == [("a", "b", "rpc", n // 2, n // 10)]
    assert stats.roots == n // 2


# --- links and merging ----------------------------------------------------------------------


def test_merge_span_and_link_edges() -> None:
    spans = make_spans(
        [{"id": 1, "service": "a", "kind": "client"}, {"id": 2, "parent": 1, "service": "b"}]
    )
    span_edges, _ = edges_from_spans(spans)
    links = edges_from_links(
        [("a", "b", 10, 1, "zipkin-deps"), ("a", "b", 5, 0, "jaeger-deps"), ("b", "c", 1, 0, "x")]
    )
    merged = merge_edges([span_edges, links])
    assert rows(merged) == [("a", "b", "rpc", 16, 1), ("b", "c", "rpc", 1, 0)]
    assert merged.loc[0, "formats"] == "jaeger-deps,otlp,zipkin-deps"
    assert merged.loc[0, "p50_ms"] == 1.0
    assert merged.loc[0, "sample_trace_ids"] == [f"{1:032x}"]
    for name, dtype in EDGE_COLUMNS.items():
        assert str(merged[name].dtype) == dtype
    assert merge_edges([]).empty
