"""read_traces on exports in the exact shapes real tools write: Tempo, Jaeger, OTLP, Collector."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from rtt_topology.errors import FormatError
from rtt_topology.load.traces import read_traces
from rtt_topology.load.traces.formats import classify, wrapper_keys
from tests import DATA

DATA = DATA / "traces"

#: The one trace that several fixtures hold: frontend calls cart, which fails and
#: reads its redis cache (no span of its own: a virtual callee).
CART_EDGES = [
    ("cart", "cart-cache", "database", 1, 0, True),
    ("frontend", "cart", "rpc", 1, 1, False),
]
#: Its spans, as every format must give them.
CART_SPANS = [
    ("1000000000000001", None, "frontend", "server", 20.0, False),
    ("1000000000000002", "1000000000000001", "frontend", "client", 14.0, False),
    ("1000000000000003", "1000000000000002", "cart", "server", 12.0, True),
    ("1000000000000004", "1000000000000003", "cart", "client", 1.0, False),
]


def edge_rows(edges: pd.DataFrame) -> list[tuple[Any, ...]]:
    columns = ["caller", "callee", "kind", "calls", "errors", "callee_virtual"]
    return [tuple(row) for row in edges[columns].itertuples(index=False)]


def span_rows(spans: pd.DataFrame) -> list[tuple[Any, ...]]:
    rows = []
    for row in spans.itertuples(index=False):
        parent = None if pd.isna(row.parent_id) else row.parent_id
        rows.append((row.span_id, parent, row.service, row.kind, row.duration_ms, row.error))
    return rows


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        # Tempo /api/traces/<id>: batches of ResourceSpans, base64 ids, string enums.
        ("tempo_batches.json", "otlp"),
        # The same from a Tempo before OTLP 0.15: instrumentationLibrarySpans.
        ("tempo_batches_ils.json", "otlp"),
        # Tempo /api/v2/traces/<id>: the trace beside other keys.
        ("tempo_v2.json", "otlp"),
        # OTLP JSON before scopeSpans, hex ids, integer enums.
        ("otlp_ils.json", "otlp"),
        # Jaeger query API /api/traces/<id>, spans written by the OTLP to Jaeger translator.
        ("jaeger_from_otlp.json", "jaeger"),
        # One trace as the Jaeger UI keeps it, and bare.
        ("jaeger_ui_trace.json", "jaeger"),
        ("jaeger_bare_trace.json", "jaeger"),
        # Spans carrying their process inline.
        ("jaeger_inline_process.json", "jaeger"),
    ],
)
def test_real_tool_shapes_load_with_their_edges(name: str, fmt: str) -> None:
    load = read_traces(DATA / name)
    assert load.report.files[0].format == fmt
    assert load.report.rejected == 0
    assert load.report.unpaired == {}
    assert span_rows(load.spans) == CART_SPANS
    assert set(load.spans["trace_id"]) == {"5b8efff798038103d269b633813fc60c"}
    assert edge_rows(load.edges) == CART_EDGES


def test_zipkin_v1_annotations_load_as_v2_spans() -> None:
    # v1 keeps a call's client and server parts in one span: two spans sharing an id.
    load = read_traces(DATA / "zipkin_v1.json")
    assert load.report.files[0].format == "zipkin"
    assert load.report.rejected == 0
    assert span_rows(load.spans) == [
        ("1000000000000001", None, "frontend", "server", 20.0, False),
        ("1000000000000002", "1000000000000001", "frontend", "client", 14.0, True),
        ("1000000000000002", "1000000000000001", "cart", "server", 12.0, True),
        ("1000000000000004", "1000000000000002", "cart", "client", 1.0, False),
    ]
    assert load.spans["peer"].tolist()[1] == "cart"
    assert edge_rows(load.edges) == CART_EDGES
    # Beside the same trace with its own ids, the shared-id server span is collapsed.
    both = read_traces([DATA / "zipkin_v1.json", DATA / "otlp_ils.json"])
    assert len(both.spans) == 4
    assert edge_rows(both.edges) == CART_EDGES


@pytest.mark.parametrize(
    ("span", "expected"),
    [
        # A local span: the service of its lc address.
        (
            {
                "binaryAnnotations": [
                    {"key": "lc", "value": "", "endpoint": {"serviceName": "batch"}}
                ]
            },
            [("batch", "unspecified", None)],
        ),
        # A client part only, timed by the span: the sa address is its peer.
        (
            {
                "timestamp": 1700000000000000,
                "duration": 3000,
                "annotations": [{"value": "cs", "endpoint": {"serviceName": "api"}}],
                "binaryAnnotations": [
                    {"key": "sa", "value": True, "endpoint": {"serviceName": "db"}}
                ],
            },
            [("api", "client", "db")],
        ),
        # A message sent: a producer, to its broker.
        (
            {
                "annotations": [
                    {
                        "timestamp": 1700000000000000,
                        "value": "ms",
                        "endpoint": {"serviceName": "api"},
                    }
                ],
                "binaryAnnotations": [
                    {"key": "ma", "value": True, "endpoint": {"serviceName": "kafka"}}
                ],
            },
            [("api", "producer", "kafka")],
        ),
    ],
)
def test_zipkin_v1_parts(tmp_path: Path, span: dict[str, Any], expected: list[Any]) -> None:
    path = tmp_path / "v1.json"
    path.write_text(json.dumps([{"traceId": "a1", "id": "b2", "name": "x", **span}]))
    load = read_traces(path)
    assert load.report.rejected == 0
    peers = [None if pd.isna(p) else p for p in load.spans["peer"]]
    assert list(zip(load.spans["service"], load.spans["kind"], peers, strict=True)) == expected


def test_zipkin_v1_bad_annotations_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "v1.json"
    path.write_text(json.dumps([{"traceId": "a1", "id": "b2", "annotations": [1]}]))
    load = read_traces(path)
    assert [(r.field, r.reason) for r in load.report.rejects] == [
        ("annotations", "not a list of objects")
    ]


def test_tempo_reads_resource_attributes_and_string_status() -> None:
    load = read_traces(DATA / "tempo_batches.json")
    frontend = load.spans[load.spans["service"] == "frontend"]
    assert set(frontend["cluster"]) == {"dc-east"}
    assert load.spans["error"].tolist() == [False, False, True, False]


def test_one_trace_in_every_shape_is_one_trace() -> None:
    # Read together, the shapes collapse to the same four spans and the same edges.
    names = ["tempo_batches.json", "otlp_ils.json", "jaeger_from_otlp.json"]
    names += ["jaeger_inline_process.json"]
    load = read_traces([DATA / name for name in names])
    assert span_rows(load.spans) == CART_SPANS
    assert load.report.duplicate_spans == 12
    assert edge_rows(load.edges) == CART_EDGES
    assert load.edges["formats"].tolist() == ["jaeger,otlp", "jaeger,otlp"]


def test_a_span_stored_twice_in_a_jaeger_export_is_collapsed() -> None:
    # A span the client sent twice is stored (and exported) twice, in start order:
    # collapsing it used to write into the read-only columns Arrow hands pandas.
    load = read_traces(DATA / "jaeger_span_twice.json")
    assert load.report.duplicate_spans == 1
    assert load.report.duplicates_by_site == {"cart": 1}
    assert span_rows(load.spans) == CART_SPANS
    assert edge_rows(load.edges) == CART_EDGES


def test_a_request_retried_by_the_collector_is_collapsed(tmp_path: Path) -> None:
    lines = (DATA / "collector_db_as_service.jsonl").read_text().splitlines()
    path = tmp_path / "retried.jsonl"
    path.write_text("\n".join([*lines, lines[-1]]) + "\n")
    load = read_traces(path)
    assert load.report.duplicate_spans == 1
    assert len(load.spans) == 4
    assert edge_rows(load.edges) == [
        ("cart", "redis", "database", 1, 0, False),
        ("frontend", "cart", "rpc", 1, 0, False),
    ]


@pytest.mark.parametrize(
    "wrapper",
    [
        {"result": "{}"},
        {"traces": "{}", "count": 1},
        {"status": "ok", "data": "{}", "warnings": None},
        {"meta": {"page": 1}, "payload": "{}", "empty": []},
    ],
)
@pytest.mark.parametrize("inner", ["tempo_batches.json", "jaeger_bare_trace.json"])
def test_unknown_wrappers_around_known_data_are_unwrapped(
    tmp_path: Path, wrapper: dict[str, Any], inner: str
) -> None:
    data = json.loads((DATA / inner).read_text())
    doc = {key: data if value == "{}" else value for key, value in wrapper.items()}
    path = tmp_path / "wrapped.json"
    path.write_text(json.dumps(doc))
    assert edge_rows(read_traces(path).edges) == CART_EDGES


def test_known_data_in_two_places_is_refused_with_what_was_found(tmp_path: Path) -> None:
    tempo = json.loads((DATA / "tempo_batches.json").read_text())
    jaeger = json.loads((DATA / "jaeger_bare_trace.json").read_text())
    path = tmp_path / "two.json"
    path.write_text(json.dumps({"tempo": tempo, "jaeger": jaeger, "n": 2}))
    with pytest.raises(FormatError) as info:
        read_traces(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: not a trace export")
    assert message.endswith("known data in several places (tempo: otlp, jaeger: jaeger): keep one")


def test_an_unknown_object_is_refused_with_its_keys(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"site": "auth", "ts": 1, "nested": {"a": [1]}}))
    with pytest.raises(FormatError, match=r"; found keys: site, ts, nested$"):
        read_traces(path)


def test_an_unknown_line_is_rejected_with_its_keys(tmp_path: Path) -> None:
    good = (DATA / "collector_db_as_service.jsonl").read_text().splitlines()
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join([good[0], '{"site": "auth", "ts": 1}', good[1]]) + "\n")
    load = read_traces(path)
    assert [str(r) for r in load.report.rejects] == [
        f"{path}:2: not a trace export record (found keys: site, ts)"
    ]
    assert load.report.accepted + load.report.rejected == load.report.read


def test_wrapper_rules() -> None:
    span = {"traceId": "1", "id": "2"}
    # A single key is unwrapped whatever it holds, even an empty list.
    assert classify({"traces": []}) == ("zipkin", [])
    # Several keys: the one value in a known shape; empty lists read as nothing.
    assert classify({"items": [], "spans": [span]}) == ("zipkin", [span])
    assert classify({"a": [span], "b": [span]}) is None
    assert wrapper_keys({"a": [span], "b": [span]}).startswith("known data in several places")
    assert wrapper_keys({}) == "found keys: none (an empty object)"
    assert wrapper_keys("text") == "found a string"
    assert wrapper_keys([1]) == "found a list whose first item is a number"
    # Keys are quoted when they would break the one line (or the list), and cut.
    odd = {"\n": 1, "a,b": 2, "x" * 50: 3}
    assert wrapper_keys(odd) == 'found keys: "\\n", "a,b", "' + "x" * 40 + '"...'
    many = {f"k{i}": i for i in range(25)}
    assert wrapper_keys(many).endswith("k19, ...")
