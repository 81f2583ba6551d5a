"""Hostile trace files cost what they weigh: deep nesting, one huge line."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from rtt_topology.errors import FormatError
from rtt_topology.load.documents import MAX_DEPTH, nesting_depth
from rtt_topology.load.report import RAW_LIMIT
from rtt_topology.load.traces import read_traces
from tests import DATA

DATA = DATA / "traces"
DEEP = 200_000


def collector_lines() -> list[str]:
    return (DATA / "collector_db_as_service.jsonl").read_text().splitlines()


@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_a_document_nested_beyond_bounds_is_one_line_error(tmp_path: Path, opening: str) -> None:
    closing = "]" if opening == "[" else "}"
    path = tmp_path / "deep.json"
    path.write_text(opening * DEEP + "1" + closing * DEEP)
    with pytest.raises(FormatError) as info:
        read_traces(path)
    assert str(info.value) == f"{path}: nesting deeper than {MAX_DEPTH} levels"


@pytest.mark.parametrize("pretty", [False, True])
def test_document_nesting_is_bounded_at_max_depth(tmp_path: Path, pretty: bool) -> None:
    # Junk nested in an attribute value: at the bound it loads, one level more it does not.
    doc = json.loads((DATA / "one_service.json").read_text())
    attributes = doc["resourceSpans"][0]["resource"]["attributes"]
    # request, resourceSpans, resource span, resource, attributes, attribute, value
    base = 7

    def nested(levels: int) -> object:
        value: list[object] = []
        for _ in range(levels - 1):
            value = [value]
        return value

    for total, ok in ((MAX_DEPTH, True), (MAX_DEPTH + 1, False)):
        value = {"stringValue": "x", "pad": nested(total - base)}
        attributes[1:] = [{"key": "deep", "value": value}]
        path = tmp_path / f"depth-{total}.json"
        path.write_text(json.dumps(doc, indent=1 if pretty else None))
        assert nesting_depth(json.loads(path.read_text()), limit=200) == total
        if ok:
            assert read_traces(path).spans["service"].tolist() == ["billing"] * 3
        else:
            with pytest.raises(FormatError, match=f"nesting deeper than {MAX_DEPTH} levels$"):
                read_traces(path)


def test_a_line_nested_beyond_bounds_is_rejected_with_its_line(tmp_path: Path) -> None:
    lines = collector_lines()
    path = tmp_path / "deep.jsonl"
    path.write_text("\n".join([lines[0], "[" * DEEP + "]" * DEEP, *lines[1:]]) + "\n")
    load = read_traces(path)
    assert [(r.line, r.reason) for r in load.report.rejects] == [
        (2, "invalid JSON: nesting too deep")
    ]
    assert len(load.report.rejects[0].raw) <= RAW_LIMIT
    assert len(load.spans) == 4


@pytest.mark.parametrize("depth", [3, 500, 900, 990])
@pytest.mark.parametrize(("opening", "closing"), [("[", "]"), ('{"a":', "}")])
def test_a_deep_line_is_one_reject_whatever_its_depth(
    tmp_path: Path, depth: int, opening: str, closing: str
) -> None:
    # Parsed or not (the parser's own limit depends on the stack), one reject, no crash.
    lines = collector_lines()
    path = tmp_path / "deep.jsonl"
    deep = opening * depth + "1" + closing * depth
    path.write_text("\n".join([lines[0], deep, lines[1]]) + "\n")
    load = read_traces(path)
    assert [r.line for r in load.report.rejects] == [2]
    assert len(load.report.rejects[0].raw) <= RAW_LIMIT
    assert len(load.spans) == 3


def test_a_deep_record_is_reported_without_being_dumped(tmp_path: Path) -> None:
    # Deep enough to parse, too deep to show: the reject carries a note instead.
    deep = "[" * 500 + "]" * 500
    path = tmp_path / "deep-record.jsonl"
    path.write_text('{"resourceSpans": [' + deep + "]}\n" + collector_lines()[0] + "\n")
    load = read_traces(path)
    (reject,) = load.report.rejects
    assert (reject.line, reject.field, reject.reason) == (1, "resourceSpans", "not an object")
    assert reject.raw == f"(a value nested deeper than {MAX_DEPTH} levels)"


def test_one_huge_line_costs_in_proportion_to_its_size(tmp_path: Path) -> None:
    # A 16 MB line that is no trace record among good ones: rejected, with a short copy,
    # and the Python memory it takes stays within a small multiple of its size.
    size = 16 << 20
    lines = collector_lines()
    path = tmp_path / "huge.jsonl"
    path.write_text("\n".join([lines[0], json.dumps({"note": "x" * size}), *lines[1:]]) + "\n")
    tracemalloc.start()
    try:
        load = read_traces(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [(r.line, r.reason) for r in load.report.rejects] == [
        (2, "not a trace export record (found keys: note)")
    ]
    assert len(load.report.rejects[0].raw) <= RAW_LIMIT
    assert len(load.spans) == 4
    assert peak < 6 * size


def test_one_huge_line_of_spans_loads_whole(tmp_path: Path) -> None:
    # One request of 20,000 spans on a single line: read like any other line.
    request = json.loads(collector_lines()[1])
    spans = request["resourceSpans"][0]["scopeSpans"][0]["spans"]
    template = spans[0]
    spans[:] = [
        {**template, "spanId": f"{i + 1:016x}", "parentSpanId": "3000000000000002"}
        for i in range(20_000)
    ]
    path = tmp_path / "wide.jsonl"
    path.write_text(collector_lines()[0] + "\n" + json.dumps(request) + "\n")
    load = read_traces(path)
    assert load.report.rejected == 0
    assert len(load.spans) == 20_002
    (edge,) = load.edges.itertuples(index=False)
    assert (edge.caller, edge.callee, edge.calls) == ("frontend", "cart", 20_000)
