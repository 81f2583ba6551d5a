"""read_traces: formats, detection, records, failures, windows, the demo traces."""

from __future__ import annotations

import base64
import gzip
import itertools
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtt_topology.errors import FormatError, InputError, LoadError, StrictLoadError
from rtt_topology.graph.contract import EDGE_KINDS
from rtt_topology.load.traces import (
    EDGE_COLUMNS,
    SPAN_COLUMNS,
    TraceLoad,
    TraceReport,
    edges_from_spans,
    read_traces,
)
from rtt_topology.load.traces import files as traces_module
from rtt_topology.load.traces.arrow import otlp_block
from rtt_topology.load.traces.formats import classify
from rtt_topology.load.traces.otlp import parse_otlp
from rtt_topology.load.traces.records import SPAN_FIELDS, SpanSink, normalize_id
from tests import DATA, DEMO, DEMO_TRACE_FILES

DATA = DATA / "traces"
NO_FORMATS = [c for c in EDGE_COLUMNS if c != "formats"]


def check_accounting(report: TraceReport, spans: pd.DataFrame | None = None) -> None:
    assert report.accepted + report.rejected == report.read
    assert len(report.rejects) == report.rejected
    for stats in report.files:
        assert stats.accepted + stats.rejected == stats.read
    if spans is not None:
        kept = report.accepted - report.links - report.duplicate_spans - report.out_of_window
        assert len(spans) == kept


def check_tables(spans: pd.DataFrame, edges: pd.DataFrame) -> None:
    assert list(spans.columns) == list(SPAN_COLUMNS)
    for name, dtype in SPAN_COLUMNS.items():
        assert str(spans[name].dtype) == dtype, name
    assert list(edges.columns) == list(EDGE_COLUMNS)
    for name, dtype in EDGE_COLUMNS.items():
        assert str(edges[name].dtype) == dtype, name
    order = spans[["trace_id", "start"]]
    assert order.equals(order.sort_values(["trace_id", "start"], na_position="last"))
    keys = edges[["caller", "callee", "kind"]]
    assert keys.equals(keys.sort_values(["caller", "callee", "kind"]).reset_index(drop=True))
    assert not keys.duplicated().any()
    assert set(edges["kind"]) <= set(EDGE_KINDS)


def edge_rows(edges: pd.DataFrame) -> list[tuple[Any, ...]]:
    return [
        tuple(r) for r in edges[["caller", "callee", "kind", "calls", "errors"]].to_numpy().tolist()
    ]


# --- the demo traces: the same traces in three formats --------------------------------------


@pytest.mark.parametrize("name", DEMO_TRACE_FILES)
def test_demo_file_alone_gives_the_directory_edges(
    name: str, demo_trace_files: dict[str, TraceLoad], demo_traces: TraceLoad
) -> None:
    load = demo_trace_files[name]
    check_tables(load.spans, load.edges)
    check_accounting(load.report, load.spans)
    assert load.report.ok
    pd.testing.assert_frame_equal(load.edges[NO_FORMATS], demo_traces.edges[NO_FORMATS])
    assert set(load.edges["formats"]) == {name.split(".")[0]}
    # Same spans, same pairing counts, whatever the format.
    assert len(load.spans) == len(demo_traces.spans)
    assert load.report.intra_service == demo_traces.report.intra_service
    assert load.report.roots == demo_traces.report.roots
    assert load.report.unpaired == demo_traces.report.unpaired == {}


def test_demo_directory_collapses_the_three_copies(demo_traces: TraceLoad) -> None:
    check_tables(demo_traces.spans, demo_traces.edges)
    check_accounting(demo_traces.report, demo_traces.spans)
    assert [Path(f.source).name for f in demo_traces.report.files] == sorted(DEMO_TRACE_FILES)
    assert demo_traces.report.duplicate_spans == 2 * len(demo_traces.spans)
    assert demo_traces.report.rows == len(demo_traces.spans)
    assert set(demo_traces.edges["formats"]) == {"jaeger,otlp,zipkin"}
    assert not demo_traces.spans.duplicated(["trace_id", "span_id", "service", "kind"]).any()


def test_demo_edges_match_the_ground_truth(
    demo_traces: TraceLoad, demo_truth: dict[str, Any]
) -> None:
    truth = sorted(
        (e["caller"], e["callee"], e["kind"], e["calls"], e["errors"]) for e in demo_truth["edges"]
    )
    assert edge_rows(demo_traces.edges) == truth
    by_pair = {(e["caller"], e["callee"]): e for e in demo_truth["edges"]}
    for row in demo_traces.edges.itertuples():
        expected = by_pair[(row.caller, row.callee)]
        # The truth keeps three samples, ours five: the earliest calls come first in both.
        assert row.sample_trace_ids[:3] == expected["sample_trace_ids"]
        assert row.first_seen.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z" == expected["first_seen"]


def test_demo_incident_edges_are_present(
    demo_traces: TraceLoad, demo_truth: dict[str, Any]
) -> None:
    pairs = set(zip(demo_traces.edges["caller"], demo_traces.edges["callee"], strict=True))
    for key in ("undeclared_edge", "layering_violation"):
        edge = demo_truth[key]
        assert (edge["caller"], edge["callee"]) in pairs


def test_demo_quirks_are_absorbed(demo_traces: TraceLoad, demo_truth: dict[str, Any]) -> None:
    quirks = {q["type"]: q for q in demo_truth["quirks"]}
    # Base64 ids were decoded: every id is canonical hex.
    assert demo_traces.spans["trace_id"].str.fullmatch(r"[0-9a-f]{32}").all()
    assert demo_traces.spans["span_id"].str.fullmatch(r"[0-9a-f]{16}").all()
    email = demo_traces.spans[
        demo_traces.spans["service"] == quirks["otlp_base64_ids"]["services"][0]
    ]
    assert len(email)
    # Clock skew: servers that start before their client still pair.
    skewed = demo_traces.spans[
        demo_traces.spans["trace_id"].isin(quirks["clock_skew"]["trace_ids"])
    ]
    assert len(skewed)
    assert demo_traces.report.unpaired == {}


def test_demo_spans_carry_their_attributes(demo_otlp_traces: TraceLoad) -> None:
    spans = demo_otlp_traces.spans
    assert set(spans["cluster"].dropna()) == {"dc-east", "dc-west"}
    assert set(spans["kind"].astype(str)) <= {
        "server", "client", "producer", "consumer", "internal",
    }  # fmt: skip
    db = spans[spans["db_system"].notna()]
    assert len(db)
    assert db["kind"].eq("client").all()
    assert db["peer"].notna().all()
    assert spans["messaging_system"].notna().any()
    assert spans["error"].any()


def test_edges_from_spans_reproduces_the_load(
    demo_trace_files: dict[str, TraceLoad], demo_traces: TraceLoad
) -> None:
    load = demo_trace_files["zipkin.json"]
    before = load.spans.copy()
    edges, stats = edges_from_spans(load.spans)
    pd.testing.assert_frame_equal(load.spans, before)  # pure
    pd.testing.assert_frame_equal(edges, load.edges)
    assert stats.intra_service == load.report.intra_service
    assert stats.roots == load.report.roots
    assert stats.calls == int(load.edges["calls"].sum())
    # From the de-duplicated directory table, formats follow each kept span's format only.
    edges, _ = edges_from_spans(demo_traces.spans)
    pd.testing.assert_frame_equal(edges[NO_FORMATS], demo_traces.edges[NO_FORMATS])


# --- the examples of TRACE_FORMATS.md -------------------------------------------------------


@pytest.mark.parametrize("name", ["doc_jaeger.json", "doc_zipkin.json", "doc_otlp.json"])
def test_documented_examples_give_one_failed_call(name: str) -> None:
    load = read_traces(DATA / name)
    check_tables(load.spans, load.edges)
    assert [(c, d, n, e) for c, d, _, n, e in edge_rows(load.edges)] == [
        ("frontend", "payments", 1, 1)
    ]
    assert load.report.roots == 1
    assert load.report.unpaired == {}


def test_all_documented_examples_together() -> None:
    load = read_traces(sorted(DATA.glob("doc_*.json")))
    assert load.report.files[0].format == "jaeger"
    assert {f.format for f in load.report.files} == {"jaeger", "otlp", "zipkin"}
    # Three different traces. Alone, the Zipkin one calls a virtual peer; here payments
    # has spans of its own, so its client call is an rpc call like the others.
    assert edge_rows(load.edges) == [("frontend", "payments", "rpc", 3, 3)]
    assert not load.edges["callee_virtual"].any()


# --- detection by content -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("doc_jaeger.json", "jaeger"),
        ("doc_zipkin.json", "zipkin"),
        ("doc_otlp.json", "otlp"),
        ("otlp_lines.jsonl", "otlp"),
        ("jaeger_deps.json", "jaeger-deps"),
        ("zipkin_deps.json", "zipkin-deps"),
        ("wrapped_jaeger.json", "jaeger"),
        ("wrapped_zipkin.json", "zipkin"),
        ("zipkin_traces.json", "zipkin"),
    ],
)
def test_format_is_recognised_by_content(name: str, fmt: str, tmp_path: Path) -> None:
    # No suffix: content decides.
    plain = tmp_path / "export"
    shutil.copy(DATA / name, plain)
    load = read_traces(plain)
    assert load.report.files[0].format == fmt
    forced = read_traces(plain, format=fmt)
    pd.testing.assert_frame_equal(forced.edges, load.edges)


def test_classify_documents() -> None:
    assert classify([]) == ("zipkin", [])
    assert classify({"data": []}) == ("jaeger", {"data": []})
    assert classify([[]]) == ("zipkin", [[]])
    assert classify({"resource_spans": []})[0] == "otlp"  # type: ignore[index]
    assert classify({"traceID": "1", "spans": [], "processes": {}})[0] == "jaeger"  # type: ignore[index]
    assert classify({"a": {"b": {"data": []}}}) is None  # one level only
    # Known data in exactly one place of a wrapper is unwrapped, in several is not.
    assert classify({"a": 1, "b": {"data": []}}) == ("jaeger", {"data": []})
    two = {"a": {"resourceSpans": []}, "b": [{"traceId": "1", "id": "2"}]}
    assert classify(two) is None
    assert classify("text") is None


def test_wrapper_objects_are_unwrapped() -> None:
    jaeger = read_traces(DATA / "wrapped_jaeger.json")
    zipkin = read_traces(DATA / "wrapped_zipkin.json")
    assert edge_rows(jaeger.edges) == edge_rows(read_traces(DATA / "doc_jaeger.json").edges)
    assert edge_rows(zipkin.edges) == edge_rows(read_traces(DATA / "doc_zipkin.json").edges)


def test_zipkin_array_of_arrays() -> None:
    load = read_traces(DATA / "zipkin_traces.json")
    assert load.report.read == 6
    assert edge_rows(load.edges) == [("web", "users", "rpc", 2, 0)]
    row = load.edges.iloc[0]
    assert row["sample_trace_ids"] == [
        "463ac35c9f6413ad48485a3953bb6124",
        "463ac35c9f6413ad48485a3953bb6125",
    ]
    assert row["p50_ms"] == 2.0


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ('{"site": "auth", "ts": "2026-01-19T15:00:00Z"}', "not a trace export: expected Jaeger"),
        ('[{"site": "auth"}]', "expected Jaeger"),
        ('{"site": "a"}\n{"site": "b"}\n', "no line is a trace export record"),
        ("hello world\n", "expected Jaeger"),
        ('{"data": [', "not valid JSON"),
    ],
)
def test_file_matching_nothing_is_a_format_error(content: str, match: str, tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(content)
    with pytest.raises(FormatError, match=match) as info:
        read_traces(path)
    assert info.value.path == str(path)


def test_forced_format_must_match(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="not otlp"):
        read_traces(DATA / "doc_zipkin.json", format="otlp")
    with pytest.raises(InputError, match="unknown format"):
        read_traces(DATA / "doc_zipkin.json", format="xml")


def test_empty_and_binary_files_cannot_be_read(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text("")
    with pytest.raises(LoadError, match="empty"):
        read_traces(empty)
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\x00\x01\x02")
    with pytest.raises(FormatError, match="binary"):
        read_traces(binary)


# --- identifiers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("1", "0000000000000001"),
        ("00000000000000AB", "00000000000000ab"),
        ("463ac35c9f6413ad48485a3953bb6124", "463ac35c9f6413ad48485a3953bb6124"),
        ("3953bb6124a", "000003953bb6124a"),
        ("123456789abcdef01", "0000000000000000000000000000000123456789abcdef01"[-32:]),
        ("S/kvNXezTaajzpKdDg5HNg==", "4bf92f3577b34da6a3ce929d0e0e4736"),
        ("APBnqgupArc=", "00f067aa0ba902b7"),
        ("", None),
        ("xyz", None),
        ("AAA=", None),  # base64 of 2 bytes: no id
        (17, None),
    ],
)
def test_normalize_id(raw: object, normal: str | None) -> None:
    assert normalize_id(raw) == normal


def test_leading_zeros_are_restored() -> None:
    load = read_traces(DATA / "leading_zeros.json")
    assert set(load.spans["trace_id"]) == {"00000000000000ab"}
    assert load.spans["span_id"].tolist() == ["0000000000000001", "0000000000000002"]
    assert edge_rows(load.edges) == [("shop", "inventory", "rpc", 1, 0)]


def test_otlp_json_lines_enums_and_base64(tmp_path: Path) -> None:
    load = read_traces(DATA / "otlp_lines.jsonl")
    check_accounting(load.report)
    assert load.report.ok
    assert load.report.files[0].skipped_lines == 1  # the blank line
    spans = load.spans.set_index("span_id")
    assert set(spans["trace_id"]) == {"4bf92f3577b34da6a3ce929d0e0e4736"}
    charge = spans.loc["00f067aa0ba902b8"]
    assert (charge["service"], charge["kind"], charge["error"]) == ("payments", "server", True)
    assert charge["parent_id"] == "00f067aa0ba902b7"
    assert spans.loc["00f067aa0ba902b1", "kind"] == "server"
    assert spans.loc["00f067aa0ba902c1", "kind"] == "producer"
    assert spans.loc["00f067aa0ba902b1", "cluster"] == "dc-east"
    assert pd.isna(charge["cluster"])
    assert charge["start"] == pd.Timestamp("2023-11-14T22:13:20.002Z")
    assert charge["duration_ms"] == 5.0
    assert edge_rows(load.edges) == [
        ("checkout", "db.internal", "database", 1, 0),
        ("checkout", "mailer", "messaging", 1, 0),
        ("checkout", "payments", "rpc", 1, 1),
    ]
    assert load.edges["callee_virtual"].tolist() == [True, False, False]
    # Gzip gives the same; the record parser gives the same as the Arrow path.
    gz = tmp_path / "otlp.jsonl.gz"
    gz.write_bytes(gzip.compress((DATA / "otlp_lines.jsonl").read_bytes(), mtime=0))
    zipped = read_traces(gz)
    assert zipped.report.files[0].format == "otlp+gzip"
    pd.testing.assert_frame_equal(
        zipped.spans.drop(columns="source"), load.spans.drop(columns="source")
    )


def test_snake_case_otlp(tmp_path: Path) -> None:
    text = (DATA / "doc_otlp.json").read_text()
    for camel, snake in [
        ("resourceSpans", "resource_spans"),
        ("scopeSpans", "scope_spans"),
        ("traceId", "trace_id"),
        ("parentSpanId", "parent_span_id"),
        ("spanId", "span_id"),
        ("startTimeUnixNano", "start_time_unix_nano"),
        ("endTimeUnixNano", "end_time_unix_nano"),
        ("stringValue", "string_value"),
    ]:
        text = text.replace(f'"{camel}"', f'"{snake}"')
    path = tmp_path / "snake.json"
    path.write_text(text)
    load = read_traces(path)
    assert edge_rows(load.edges) == [("frontend", "payments", "rpc", 1, 1)]


def test_jaeger_follows_from_and_process_tags() -> None:
    load = read_traces(DATA / "jaeger_follows_from.json")
    spans = load.spans.set_index("span_id")
    assert spans.loc["00000000000000a2", "parent_id"] == "00000000000000a1"  # FOLLOWS_FROM
    assert spans.loc["00000000000000a3", "parent_id"] == "00000000000000a2"  # CHILD_OF wins
    assert spans.loc["00000000000000a3", "cluster"] == "dc-west"
    assert edge_rows(load.edges) == [
        ("api", "worker", "messaging", 1, 0),
        # A Jaeger leaf span with peer.service adds an edge to that peer.
        ("worker", "geo-api", "virtual", 1, 0),
    ]


# --- bad records ----------------------------------------------------------------------------


def test_bad_records_in_a_json_array() -> None:
    load = read_traces(DATA / "bad_records.json")
    report = load.report
    check_accounting(report, load.spans)
    assert (report.read, report.accepted, report.rejected) == (5, 1, 4)
    assert [(r.line, r.field, r.reason) for r in report.rejects] == [
        (2, "traceId", "missing"),
        (3, None, "span is not an object"),
        (4, "timestamp", "not a number of microseconds"),
        (5, "id", "not a hex or base64 id"),
    ]
    assert report.rejects[1].raw == '"not a span"'
    assert len(load.spans) == 1


def test_bad_records_in_json_lines() -> None:
    load = read_traces(DATA / "bad_records.jsonl")
    report = load.report
    check_accounting(report, load.spans)
    assert (report.read, report.accepted, report.rejected) == (6, 2, 4)
    assert [(r.line, r.field, r.reason) for r in report.rejects] == [
        (1, "traceId", "missing"),
        (2, None, "span is not an object"),
        (2, "startTimeUnixNano", "not a decimal number of nanoseconds"),
        (3, None, "invalid JSON: Expecting value"),
    ]
    assert sorted(load.spans["name"].astype(str)) == ["ok", "ok too"]


def test_bad_records_raise_in_strict_mode() -> None:
    with pytest.raises(StrictLoadError, match="strict load refused") as info:
        read_traces(DATA / "bad_records.json", strict=True)
    assert isinstance(info.value.report, TraceReport)
    assert info.value.report.rejected == 4


@pytest.mark.parametrize(
    ("span", "field", "reason"),
    [
        ({"traceID": "", "spanID": "01", "startTime": 1, "processID": "p"}, "traceID", "missing"),
        ({"traceID": "0", "spanID": "01", "processID": "p"}, "traceID", "all-zero id"),
        ({"traceID": "ab", "spanID": "01", "processID": "nope"}, "processID", "no such process"),
        ({"traceID": "ab", "spanID": "01", "processID": "p", "duration": -5}, "duration", "range"),
        (
            {"traceID": "ab", "spanID": "01", "processID": "p", "startTime": True},
            "startTime",
            "num",
        ),
        ({"traceID": "ab", "spanID": "01", "processID": "p", "tags": {}}, "tags", "not a list"),
        (
            {"traceID": "ab", "spanID": "01", "processID": "p", "references": 3},
            "references",
            "list",
        ),
    ],
)
def test_jaeger_span_rejects(span: dict[str, Any], field: str, reason: str, tmp_path: Path) -> None:
    doc = {"data": [{"traceID": "ab", "spans": [span], "processes": {"p": {"serviceName": "a"}}}]}
    path = tmp_path / "jaeger.json"
    path.write_text(json.dumps(doc))
    report = read_traces(path).report
    assert report.rejected == 1
    assert report.rejects[0].field == field
    assert reason in report.rejects[0].reason


@pytest.mark.parametrize(
    ("doc", "reads", "rejects"),
    [
        ({"data": ["x", {"traceID": "ab", "spans": 3}]}, 2, 2),
        ([{"parent": "a", "child": "b"}], 1, 1),  # callCount is required
        ([{"parent": "a", "child": "", "callCount": 1}], 1, 1),
        ([{"parent": "a", "child": "b", "callCount": 1, "errorCount": -1}], 1, 1),
        ([{"parent": "a", "child": "b", "callCount": 2.5}], 1, 1),
    ],
)
def test_container_and_link_rejects(doc: Any, reads: int, rejects: int, tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps(doc))
    report = read_traces(path).report
    check_accounting(report)
    assert (report.read, report.rejected) == (reads, rejects)


# --- dependency links -----------------------------------------------------------------------


def test_dependency_links_give_edges_directly() -> None:
    load = read_traces([DATA / "jaeger_deps.json", DATA / "zipkin_deps.json"])
    assert load.spans.empty
    check_tables(load.spans, load.edges)
    assert load.report.links == 4
    check_accounting(load.report, load.spans)
    assert edge_rows(load.edges) == [
        ("frontend", "catalog", "rpc", 7, 0),
        ("frontend", "payments", "rpc", 84, 2),
        ("payments", "ledger", "rpc", 5, 0),
    ]
    row = load.edges.iloc[1]
    assert row["formats"] == "jaeger-deps,zipkin-deps"
    assert pd.isna(row["p50_ms"])
    assert pd.isna(row["first_seen"])
    assert row["sample_trace_ids"] == []
    assert not row["callee_virtual"]


def test_links_add_to_span_edges() -> None:
    load = read_traces([DATA / "doc_otlp.json", DATA / "zipkin_deps.json"])
    row = load.edges[load.edges["callee"] == "payments"].iloc[0]
    assert (row["calls"], row["errors"], row["p50_ms"]) == (43, 3, 3.0)
    assert row["formats"] == "otlp,zipkin-deps"
    assert row["sample_trace_ids"] == ["5b8efff798038103d269b633813fc60c"]


# --- sources, failures, windows, progress ---------------------------------------------------


def test_directory_isolates_unreadable_files(tmp_path: Path) -> None:
    shutil.copy(DATA / "doc_otlp.json", tmp_path / "good.json")
    (tmp_path / "broken.json").write_text('{"resourceSpans": [')
    (tmp_path / "truncated.jsonl.gz").write_bytes(
        gzip.compress((DATA / "otlp_lines.jsonl").read_bytes())[:-20]
    )
    (tmp_path / "notes.txt").write_text("ignored")
    load = read_traces(tmp_path)
    assert [Path(f.source).name for f in load.report.files] == ["good.json"]
    failures = {Path(f.source).name: f.reason for f in load.report.failures}
    assert set(failures) == {"broken.json", "truncated.jsonl.gz"}
    assert "gzip" in failures["truncated.jsonl.gz"]
    assert load.report.ignored_files == [str(tmp_path / "notes.txt")]
    assert edge_rows(load.edges) == [("frontend", "payments", "rpc", 1, 1)]
    with pytest.raises(StrictLoadError):
        read_traces(tmp_path, strict=True)
    with pytest.raises(LoadError, match=r"truncated\.jsonl\.gz"):
        read_traces(tmp_path / "truncated.jsonl.gz")


def test_window_restricts_spans_and_drops_links() -> None:
    start = datetime(2023, 11, 14, 22, 13, 20, 1000, tzinfo=UTC)
    load = read_traces(
        [DATA / "otlp_lines.jsonl", DATA / "zipkin_deps.json"],
        start=start,
        end=start + timedelta(milliseconds=8),
    )
    # Kept: the client (+1 ms), the payments server (+2 ms), the producer (+8 ms); the
    # root (+0), the database call (+9 ms) and the consumer (+50 ms) are out, so are links.
    assert sorted(load.spans["span_id"]) == [
        "00f067aa0ba902b7", "00f067aa0ba902b8", "00f067aa0ba902c1",
    ]  # fmt: skip
    assert load.report.out_of_window == 3 + 2
    check_accounting(load.report, load.spans)
    assert edge_rows(load.edges) == [("checkout", "payments", "rpc", 1, 1)]
    assert load.report.unpaired == {"producer without consumer or peer": 1}
    iso = read_traces(
        DATA / "otlp_lines.jsonl",
        start="2023-11-14T22:13:20.001Z",
        end="2023-11-14T23:13:20.009+01:00",
    )
    pd.testing.assert_frame_equal(iso.spans, load.spans)


@pytest.mark.parametrize(
    ("start", "match"),
    [
        ("yesterday", "start: 'yesterday': not an ISO 8601"),
        (datetime(2023, 1, 1), "must be timezone-aware"),
        (5, "expected"),
    ],
)
def test_window_arguments_are_checked(start: Any, match: str) -> None:
    with pytest.raises(InputError, match=match):
        read_traces(DATA / "doc_otlp.json", start=start)


def test_progress_reports_bytes() -> None:
    seen: list[tuple[int, int, str]] = []
    read_traces(DATA, progress=lambda done, total, label: seen.append((done, total, label)))
    total = sum(p.stat().st_size for p in DATA.iterdir())
    assert seen[-1][:2] == (total, total)
    assert all(b[0] >= a[0] for a, b in itertools.pairwise(seen))


def test_report_summary_and_dict() -> None:
    report = read_traces(DATA / "missing_parent.json").report
    text = report.summary()
    assert "0 roots, 1 intra-service pairs" in text
    assert "2 parent not in export" in text
    data = report.to_dict()
    assert data["unpaired"] == {"parent not in export": 2}
    json.dumps(data)
    total = TraceReport()
    total.merge(report)
    total.merge(report)
    assert total.unpaired == {"parent not in export": 4}
    assert total.read == 6


def test_zipkin_json_lines_are_read_line_by_line(tmp_path: Path) -> None:
    spans = json.loads((DATA / "doc_zipkin.json").read_text())
    path = tmp_path / "spans.ndjson"
    path.write_text("".join(json.dumps(s) + "\n" for s in spans))
    load = read_traces(path)
    assert load.report.files[0].format == "zipkin"
    assert edge_rows(load.edges) == [("frontend", "payments", "virtual", 1, 1)]


def test_otlp_json_lines_stream_in_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Small blocks: the demo file goes through many Arrow blocks, and one bad line
    # sends its block to the record parser; the result equals the record parser's.
    monkeypatch.setattr(traces_module, "_BLOCK_BYTES", 20_000)
    lines = (DEMO / "traces" / "otlp.jsonl").read_bytes().splitlines(keepends=True)
    path = tmp_path / "otlp.jsonl"
    path.write_bytes(b"".join(lines[:10]) + b"[oops\n" + b"".join(lines[10:]))
    fast = read_traces(path)
    monkeypatch.setattr(traces_module, "otlp_block", lambda data, lines: None)
    slow = read_traces(path)
    pd.testing.assert_frame_equal(fast.spans, slow.spans)
    pd.testing.assert_frame_equal(fast.edges, slow.edges)
    assert [str(r) for r in fast.report.rejects] == [f"{path}:11: invalid JSON: Expecting value"]


# --- the Arrow fast path equals the record parser -------------------------------------------


def _mostly(valid: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Values of ``valid`` 19 times in 20, else of ``odd``: most blocks stay clean."""
    return st.tuples(st.integers(0, 19), valid, odd).map(lambda t: t[1] if t[0] else t[2])


def _b64(size: int) -> st.SearchStrategy[str]:
    return st.binary(min_size=size, max_size=size).map(lambda b: base64.b64encode(b).decode())


_HEX16 = st.text("0123456789abcdef", min_size=16, max_size=16)
_HEX32 = st.text("0123456789abcdef", min_size=32, max_size=32)
_ODD_IDS = st.sampled_from(["", "0" * 16, "not-an-id", "AAA=", "ABC", None, 7])
_TRACE_IDS = _mostly(st.one_of(_HEX32, _HEX16, _b64(16), _HEX32.map(str.upper)), _ODD_IDS)
_SPAN_IDS = _mostly(
    st.one_of(_HEX16, _b64(8), st.text("0123456789abcdef", min_size=1, max_size=15)), _ODD_IDS
)
_KINDS = _mostly(
    st.one_of(st.integers(0, 5), st.none()),
    st.sampled_from([6, -1, True, "CLIENT", "SPAN_KIND_CLIENT", 2.5]),
)
_ODD_TIMES = st.sampled_from(["", "-5", "1e9", "99999999999999999999", " 5", 12])
_VALUES = _mostly(
    st.text(max_size=4).map(lambda t: {"stringValue": t}),
    st.one_of(st.just({"intValue": "5"}), st.just({"boolValue": True}), st.just({})),
)
_ATTR_KEYS = ["peer.service", "server.address", "net.peer.name", "db.system"]
_ATTR_KEYS += ["db.system.name", "messaging.system", "http.route"]
_ATTR = st.fixed_dictionaries(
    {
        "key": st.sampled_from(_ATTR_KEYS),
        "value": _VALUES,
    }
)


@st.composite
def _span(draw: st.DrawFn) -> dict[str, Any]:
    span: dict[str, Any] = {"traceId": draw(_TRACE_IDS), "spanId": draw(_SPAN_IDS)}
    if draw(st.booleans()):
        span["parentSpanId"] = draw(st.one_of(st.just(""), _SPAN_IDS))
    if draw(st.integers(0, 9)):
        span["name"] = draw(st.text(max_size=4))
    if draw(st.booleans()):
        span["kind"] = draw(_KINDS)
    start = draw(st.integers(0, 2**62))
    end = start + draw(st.integers(-5, 10**9)) if draw(st.integers(0, 9)) else 0
    for key, value in (("startTimeUnixNano", start), ("endTimeUnixNano", end)):
        if draw(st.integers(0, 9)):
            span[key] = draw(_mostly(st.just(str(value)), _ODD_TIMES))
    span["attributes"] = draw(st.lists(_ATTR, max_size=3))
    if draw(st.booleans()):
        span["status"] = draw(
            _mostly(
                st.sampled_from([{}, {"code": 2}, {"code": 1}]),
                st.just({"code": "STATUS_CODE_ERROR"}),
            )
        )
    return span


_RESOURCE = st.fixed_dictionaries(
    {
        "resource": st.fixed_dictionaries(
            {
                "attributes": st.lists(
                    _ATTR.map(lambda a: {**a, "key": "service.name"})
                    | _ATTR.map(lambda a: {**a, "key": "k8s.cluster.name"}),
                    max_size=2,
                )
            }
        ),
        "scopeSpans": st.lists(
            st.fixed_dictionaries({"spans": st.lists(_span(), max_size=3)}), max_size=2
        ),
    }
)
_REQUEST = st.fixed_dictionaries({"resourceSpans": st.lists(_RESOURCE, max_size=2)})


def _sink_rows(sink: SpanSink) -> list[dict[str, Any]]:
    sink.flush()
    if not sink.batches:
        return []
    table = pa.Table.from_batches(sink.batches)
    return [
        {k: (None if v != v else v) for k, v in row.items()}  # NaN -> None for comparison
        for row in table.select(list(SPAN_FIELDS)).to_pylist()
    ]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_REQUEST, min_size=1, max_size=3))
def test_arrow_block_agrees_with_the_record_parser(requests: list[dict[str, Any]]) -> None:
    data = "".join(json.dumps(r) + "\n" for r in requests).encode()
    slow = SpanSink("x")
    for request in requests:
        parse_otlp(request, slow)
    batch = otlp_block(data, len(requests))
    if batch is None:
        return  # the caller parses such a block with the record parser
    # Accepted only if the record parser rejects nothing and finds the same values.
    assert slow.rejects == []
    fast = SpanSink("x")
    fast.add_batch(batch)
    assert fast.read == slow.read
    assert _sink_rows(fast) == _sink_rows(slow)
