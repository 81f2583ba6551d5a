"""The pure parsers of JSON arrays, CSV, Parquet tables and logs, through RecordBatch."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from rtt_topology.errors import FormatError
from rtt_topology.load.formats import (
    COLUMN_ALIASES,
    RecordBatch,
    parse_csv,
    parse_json_array,
    parse_log,
    parse_parquet_table,
)

GOOD = {"site": "a", "session": "s", "event": "heartbeat", "ts": "2026-01-19T15:00:00Z"}


def collect() -> tuple[RecordBatch, list[pa.Table]]:
    blocks: list[pa.Table] = []
    return RecordBatch("src", blocks.append), blocks


def rows(blocks: list[pa.Table]) -> list[dict[str, object]]:
    return [row for block in blocks for row in block.to_pylist()]


def test_aliases_cover_flat_and_prefixed_names() -> None:
    assert COLUMN_ALIASES["structure.dom_nodes"] == "dom_nodes"
    assert COLUMN_ALIASES["structure_url"] == "url"
    assert COLUMN_ALIASES["title"] == "title"


def test_record_batch_counts_every_record() -> None:
    batch, blocks = collect()
    batch.add(GOOD, 1, json.dumps(GOOD))
    batch.add({**GOOD, "ts": "bad"}, 2, "raw two")
    batch.add(["not", "an", "object"], 3, "raw three")
    batch.reject(4, None, "unparseable", "raw four")
    batch.flush()
    assert batch.read == 4
    assert [(r.line, r.field) for r in batch.rejects] == [(3, None), (4, None), (2, "ts")]
    assert [r.raw for r in batch.rejects] == ["raw three", "raw four", "raw two"]
    assert [row["line"] for row in rows(blocks)] == [1]


def test_record_batch_flushes_in_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    import rtt_topology.load.formats as formats

    monkeypatch.setattr(formats, "_BATCH", 3)
    batch, blocks = collect()
    for i in range(7):
        batch.add({**GOOD, "ts": f"2026-01-19T15:00:0{i}Z"}, i + 1, "")
    batch.flush()
    assert [block.num_rows for block in blocks] == [3, 3, 1]


def test_json_array_lines_and_raw_text() -> None:
    text = '[\n  {"site": "a", "session": "s", "event": "x", "ts": "2026-01-19T15:00:00Z"},\n' \
           '  {"site": 7}\n]\n'  # fmt: skip
    batch, blocks = collect()
    parse_json_array(text, batch, path="a.json")
    assert batch.read == 2
    assert rows(blocks)[0]["line"] == 2
    reject = batch.rejects[0]
    assert (reject.line, reject.field, reject.raw) == (3, "site", '{"site": 7}')


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"site": "a"}', "not a JSON array"),
        ("[1, 2", "unterminated JSON array"),
        ("[1 2]", "expected ',' or ']'"),
        ("[1] [2]", "data after the end"),
        ('[{"a": }]', "invalid JSON"),
    ],
)
def test_json_array_errors(text: str, message: str) -> None:
    batch, _ = collect()
    with pytest.raises(FormatError, match=message):
        parse_json_array(text, batch, path="a.json")


def test_empty_json_array() -> None:
    batch, blocks = collect()
    parse_json_array("  [ ]  ", batch, path="a.json")
    assert batch.read == 0
    assert rows(blocks) == []


def test_csv_types_and_unknown_columns() -> None:
    text = (
        "Site,session,event,ts,structure_dom_nodes,zone\n"
        "a,s,heartbeat,2026-01-19T15:00:00Z,+12,eu\n"
        "a,s,heartbeat,2026-01-19T15:00:30Z,,\n"
        "a,s,heartbeat,2026-01-19T15:01:00Z,١٢,\n"
    )
    batch, blocks = collect()
    parse_csv(text, batch, path="a.csv")
    got = rows(blocks)
    assert [(r["dom_nodes"], r["extra"]) for r in got] == [(12, '{"zone":"eu"}'), (None, None)]
    # Non-ASCII digits are not integers.
    assert [(r.line, r.field) for r in batch.rejects] == [(4, "structure.dom_nodes")]


def test_parquet_struct_and_unknown_columns() -> None:
    table = pa.table(
        {
            "site": ["a", "b"],
            "session": ["s", "s"],
            "event": ["heartbeat", "heartbeat"],
            "ts": ["2026-01-19T15:00:00Z", "2026-01-19T15:00:00Z"],
            "structure": pa.array(
                [{"url": "u", "dom_nodes": 3}, None],
                pa.struct([("url", pa.string()), ("dom_nodes", pa.int32())]),
            ),
            "region": ["eu", None],
        }
    )
    batch, blocks = collect()
    parse_parquet_table(table, batch, path="a.parquet")
    got = rows(blocks)
    assert [(r["url"], r["dom_nodes"], r["extra"], r["line"]) for r in got] == [
        ("u", 3, '{"region":"eu"}', 1),
        (None, None, None, 2),
    ]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (pa.table({"site": ["a"]}), "no site and ts columns"),
        (pa.table({"site": [1], "ts": ["2026-01-19T15:00:00Z"]}), "column site has type int64"),
        (
            pa.table({"site": ["a"], "ts": ["x"], "nav_count": ["1"]}),
            "column nav_count has type string",
        ),
    ],
)
def test_parquet_errors(table: pa.Table, message: str) -> None:
    batch, _ = collect()
    with pytest.raises(FormatError, match=message):
        parse_parquet_table(table, batch, path="a.parquet")


def test_parquet_unsigned_overflow() -> None:
    table = pa.table(
        {**{k: [v, v] for k, v in GOOD.items()}, "dom_nodes": pa.array([1, 2**64 - 1], pa.uint64())}
    )
    batch, blocks = collect()
    parse_parquet_table(table, batch, path="a.parquet")
    assert [r["dom_nodes"] for r in rows(blocks)] == [1]
    assert (batch.rejects[0].line, batch.rejects[0].reason) == (2, "integer out of range")


def test_log_entries_and_skipped_lines() -> None:
    text = (
        "boot\n"
        "[RTT] heartbeat sent " + json.dumps(GOOD) + "\n"
        "[RTT] heartbeat sent\n"
        "[RTT] heartbeat sent {'site': 'b', 'session': 's', 'ts': '2026-01-19T15:00:30Z'}\n"
        "\u2028 is kept inside strings: [RTT] x sent " + json.dumps({**GOOD, "site": "a\u2028b"})
    )
    batch, blocks = collect()
    skipped = parse_log(text, batch)
    assert skipped == 1
    assert batch.read == 4
    assert [(r.line, r.reason) for r in batch.rejects] == [(3, "no payload after the marker")]
    got = rows(blocks)
    # The event missing from the payload is taken from the marker.
    assert [(r["site"], r["event"], r["line"]) for r in got] == [
        ("a", "heartbeat", 2), ("b", "heartbeat", 4), ("a\u2028b", "heartbeat", 5),
    ]  # fmt: skip


# --------------------------------------------------------------------------- hostile input


def csv_line(site: str, second: int, note: str = "") -> str:
    return f"{site},s1,heartbeat,2026-01-19T15:00:{second:02d}Z,{note}\n"


def test_csv_long_lines_and_refused_rows_are_one_reject_each() -> None:
    header = "site,session,event,ts,note\n"
    text = (
        header
        + csv_line("a", 1)
        + csv_line("b", 2, "x" * 5_000_000)  # over the line limit: not read
        + csv_line("c", 3, "y" * 200_000)  # over the csv module's field limit
        + "\n"
        + csv_line("d", 4, "after a blank line")
    )
    batch, blocks = collect()
    parse_csv(text, batch, path="h.csv")
    assert [r["site"] for r in rows(blocks)] == ["a", "d"]
    assert batch.read == 4
    found = sorted((r.line, r.reason) for r in batch.rejects)
    assert found[0] == (3, "line longer than 1048576 characters (5000036): not read")
    assert found[1] == (4, "invalid CSV: field larger than field limit (131072)")
    assert [r["line"] for r in rows(blocks)] == [2, 6]


def test_csv_header_too_long_is_a_format_error() -> None:
    batch, _ = collect()
    with pytest.raises(FormatError, match="CSV header line is longer than 100 characters"):
        parse_csv("site,ts," + "x" * 200 + "\na,b,c\n", batch, path="h.csv", max_line_chars=100)


def test_json_array_deep_and_long_elements() -> None:
    deep = "[" * 100 + "]" * 100
    text = json.dumps([GOOD, {**GOOD, "x": 1}])[:-1] + ', {"site": "d", "x": ' + deep + "}]"
    batch, blocks = collect()
    parse_json_array(text, batch, path="a.json")
    assert len(rows(blocks)) == 2
    assert [r.reason for r in batch.rejects] == ["invalid JSON: nesting deeper than 64 levels"]
    # Beyond what the decoder follows, the document cannot be resumed: one error.
    bottomless = '[{"site": "a", "x": ' + "[" * 100_000 + "]" * 100_000 + "}]"
    with pytest.raises(FormatError, match=r"a\.json: line 1: invalid JSON \(nesting too deep\)"):
        parse_json_array(bottomless, collect()[0], path="a.json")


def test_json_array_element_longer_than_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from rtt_topology.load import records

    monkeypatch.setattr(records, "MAX_LINE_BYTES", 500)
    text = json.dumps([GOOD, {**GOOD, "note": "n" * 1000}, GOOD], indent=1)
    batch, blocks = collect()
    parse_json_array(text, batch, path="a.json")
    assert len(rows(blocks)) == 2
    [reject] = batch.rejects
    assert reject.reason.startswith("element longer than 500 characters")
    assert reject.line == text.splitlines().index(" {", 3) + 1
