"""DuckDB's block parse is taken only when it gives exactly what Arrow's strict parse gives."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtt_topology.load import duckdb_blocks, read_beacons
from rtt_topology.load import jsonl as jsonl_module
from rtt_topology.load.blocks import index_lines
from rtt_topology.load.duckdb_blocks import parse_clean_block
from rtt_topology.load.records import RAW_SCHEMA

pytestmark = pytest.mark.skipif(not duckdb_blocks.available(), reason="needs duckdb")

TS = "2026-01-19T15:00:00Z"
STRUCTURE = {
    "url": "internal://a",
    "title": "Auth Service",
    "nav_count": 0,
    "main_count": 1,
    "form_count": 2,
    "button_count": 3,
    "dom_nodes": 40,
}


def record(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "site": "auth",
        "session": "s1",
        "event": "heartbeat",
        "ts": TS,
        "structure": dict(STRUCTURE),
    }
    for key, value in changes.items():
        if value is ...:
            base.pop(key, None)
        else:
            base[key] = value
    return base


def compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def block_of(*lines: str, newline: str = "\n") -> bytearray:
    clean = [compact(record(site=f"site-{i}")) for i in range(3)]
    return bytearray(newline.join([*clean, *lines]).encode() + newline.encode())


def duck(data: bytes | bytearray) -> pa.Table | None:
    return parse_clean_block(memoryview(bytearray(data)), max_line=1 << 20, max_brackets=1000)


def arrow(data: bytes | bytearray) -> pa.Table | None:
    objects, _, _, _ = index_lines(memoryview(bytearray(data)), 1)
    return jsonl_module._arrow(objects)


def assert_same_as_arrow(data: bytes | bytearray) -> None:
    got, want = duck(data), arrow(data)
    assert got is not None
    assert want is not None, "DuckDB accepted a block that Arrow refuses"
    assert got.column_names == RAW_SCHEMA.names
    for name in RAW_SCHEMA.names:
        assert got.column(name).to_pylist() == want.column(name).to_pylist(), name


@pytest.mark.parametrize(
    "line",
    [
        compact(record()),
        json.dumps(record()),  # spaces after separators
        json.dumps(record(), indent=None, separators=(" , ", " : ")),
        compact(record(structure=dict(STRUCTURE, title="Caf\u00e9 \u2603"))),
        compact(record(site='caf\u00e9 "quoted" \\ /\n')),  # escapes that must be
        compact(record(structure=...)),
        compact(record(structure={})),
        compact(record(received_at="2026-01-19T15:00:01.5+02:00")),
        compact(record(ts="2026-01-19 15:00:00Z")),
        compact({}),
        compact(record(structure={"dom_nodes": -9223372036854775808})),
        compact(record(site="{not [an object}")),
        compact(record()) + " \t ",
    ],
)
def test_clean_blocks_read_as_arrow_reads_them(line: str) -> None:
    assert_same_as_arrow(block_of(line))


def test_crlf_and_a_last_line_without_newline() -> None:
    assert_same_as_arrow(block_of(compact(record()), newline="\r\n"))
    assert_same_as_arrow(block_of(compact(record()))[:-1])


@pytest.mark.parametrize(
    "line",
    [
        compact(record(site=5)),
        compact(record(site=True)),
        compact(record(site=["a"])),
        compact(record(site={"a": "b"})),
        compact(record(ts=1768834800)),
        compact(record(structure=dict(STRUCTURE, url=7))),
        compact(record(structure=dict(STRUCTURE, nav_count="3"))),
        compact(record(structure=dict(STRUCTURE, nav_count=3.0))),
        compact(record(structure=dict(STRUCTURE, nav_count=True))),
        compact(record(structure=dict(STRUCTURE, nav_count=2**63))),
        compact(record()).replace('"nav_count":0', '"nav_count":1E2'),
        compact(record()).replace('"nav_count":0', '"nav_count":1e5'),
        compact(record()).replace('"nav_count":0', '"nav_count":NaN'),
        compact(record()).replace('"nav_count":0', '"nav_count":-0'),
        compact(record(zone=2)),
        compact(record(structure=dict(STRUCTURE, theme="dark"))),
        compact(record()).replace('"site":"auth"', '"site":"auth","site":"auth"'),
        compact(record())[:-1] + ",}",
        compact(record(structure=5)),
        compact(record(structure=[])),
        compact(record(structure="x")),
        compact(record(structure=None)),
        compact(record(received_at=None)),
        compact(record()).replace('"site"', '"\\u0073ite"'),
        compact(record()) + compact(record()),
        "{}x",
        json.dumps(record(site="caf\u00e9")),  # an escape where none is needed
        " " + compact(record()),
        '{"site":"\\ud800"}',
        "null",
        "",
        "[" * 2000 + "]" * 2000,
    ],
)
def test_blocks_with_any_doubt_are_left_to_the_strict_reader(line: str) -> None:
    assert duck(block_of(line)) is None


def test_a_short_structure_cannot_hide_an_unknown_key() -> None:
    # "structure":5 writes one byte and one brace fewer than {}; an unknown key
    # writes more of both, but never more braces than other bytes.
    hidden = [compact(record(structure=5)), compact(record(structure=[])), compact(record(z={}))]
    assert duck(block_of(*hidden)) is None


def test_invalid_utf8_is_left_to_the_strict_reader() -> None:
    data = block_of(compact(record(title="x")))
    at = data.rindex(b'"x"') + 1
    data[at : at + 1] = b"\xff"
    assert duck(data) is None


def test_text_columns_come_dictionary_encoded() -> None:
    table = duck(block_of(compact(record())))
    assert table is not None
    assert pa.types.is_dictionary(table.schema.field("site").type)
    assert table.column("line").to_pylist() == [1, 2, 3, 4]


FIELD_VALUES = st.one_of(
    st.text(max_size=6),
    st.integers(-(2**64), 2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.lists(st.integers(0, 9), max_size=2),
    st.dictionaries(st.sampled_from(["url", "x", "{"]), st.integers(0, 9), max_size=2),
)


@st.composite
def lines(draw: st.DrawFn) -> str:
    value = record()
    for _ in range(draw(st.integers(0, 2))):
        key = draw(st.sampled_from([*value, "received_at", "extra", "structure.nav_count"]))
        new = draw(FIELD_VALUES | st.just(...))
        if key.startswith("structure."):
            if isinstance(value.get("structure"), dict):
                value["structure"][key.split(".")[1]] = 0 if new is ... else new  # type: ignore[index]
        elif new is ...:
            value.pop(key, None)
        else:
            value[key] = new
    separators = draw(st.sampled_from([(",", ":"), (", ", ": "), (",", " :")]))
    text = json.dumps(value, separators=separators, ensure_ascii=draw(st.booleans()))
    if draw(st.integers(0, 5)) == 0:
        at = draw(st.integers(0, len(text) - 1))
        text = text[:at] + draw(st.sampled_from(["", ",", "{", "}", " ", '"'])) + text[at + 1 :]
    return text


@settings(max_examples=150, deadline=None)
@given(st.lists(lines(), min_size=1, max_size=6))
def test_duckdb_never_accepts_what_arrow_would_read_otherwise(body: list[str]) -> None:
    data = block_of(*body)
    got = duck(data)
    if got is not None:
        assert_same_as_arrow(data)


def write_history(path: Path, rows: int, bad: dict[int, str]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i in range(rows):
            if i in bad:
                out.write(bad[i] + "\n")
                continue
            second = i % 60
            line = record(
                site=f"site-{i % 50}", ts=f"2026-01-19T15:{i // 3000 % 60:02d}:{second:02d}Z"
            )
            out.write(compact(line) + "\n")


@settings(
    max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(0, 3))
def test_read_beacons_is_the_same_with_and_without_duckdb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    monkeypatch.setattr(jsonl_module, "BLOCK_BYTES", 1 << 20)
    monkeypatch.setattr(jsonl_module, "DUCKDB_MIN_BYTES", 0)
    monkeypatch.setattr(jsonl_module, "DUCKDB_AFTER_BYTES", 0)
    taken: list[bool] = []

    def spy(data: memoryview, *, max_line: int, max_brackets: int) -> pa.Table | None:
        table = parse_clean_block(data, max_line=max_line, max_brackets=max_brackets)
        taken.append(table is not None)
        return table

    monkeypatch.setattr(jsonl_module, "parse_clean_block", spy)
    bad = {
        10 + seed: compact(record(site=5)),
        4000 + seed: compact(record(zone=1)),
        9000: compact(record(ts="2026-01-19T15:00:00")),
        12000 + seed: "not json",
    }
    path = tmp_path / f"history-{seed}.jsonl"
    write_history(path, 15_000, bad)
    fast, fast_report = read_beacons(path)
    with monkeypatch.context() as patch:
        patch.setattr(jsonl_module, "parse_clean_block", lambda *args, **kwargs: None)
        slow, slow_report = read_beacons(path)
    pd.testing.assert_frame_equal(fast, slow)
    assert fast_report.rejects == slow_report.rejects
    assert (fast_report.read, fast_report.duplicates) == (slow_report.read, slow_report.duplicates)
    # Clean blocks went to DuckDB, the others the strict way.
    assert taken.count(True) >= 1
    assert taken.count(False) >= 1


@pytest.mark.parametrize("assume_utc", [False, True])
def test_a_timestamp_that_is_not_text_sends_the_block_the_strict_way(
    assume_utc: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jsonl_module, "DUCKDB_MIN_BYTES", 0)
    offered: list[pa.Table | None] = []

    def spy(data: memoryview, *, max_line: int, max_brackets: int) -> pa.Table | None:
        offered.append(parse_clean_block(data, max_line=max_line, max_brackets=max_brackets))
        return offered[-1]

    monkeypatch.setattr(jsonl_module, "parse_clean_block", spy)
    # The number writes two bytes fewer than a string; a quoted count writes two more.
    data = block_of(
        compact(record(ts=20260119)),
        compact(record()).replace('"nav_count":0', '"nav_count":"0"'),
    )
    parser = jsonl_module.BlockParser(assume_utc, lambda table: table, 1 << 20)
    result = parser.run(memoryview(data))
    assert sorted((line, field) for line, field, _, _ in result.rejects) == [
        (4, "ts"),
        (5, "structure.nav_count"),
    ]
    assert sum(table.num_rows for table in result.tables) == 3
    # DuckDB's bytes added up; the timestamp rule caught the number.
    assert len(offered) == 1
    assert offered[0] is not None


def test_small_streams_do_not_import_duckdb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonl_module, "duckdb_imported", lambda: False)
    offered: list[bool] = []
    run = jsonl_module.BlockParser.run

    def spy(self: jsonl_module.BlockParser, data: memoryview, *, duckdb: bool = True) -> object:
        offered.append(duckdb)
        return run(self, data, duckdb=duckdb)

    monkeypatch.setattr(jsonl_module.BlockParser, "run", spy)
    monkeypatch.setattr(jsonl_module, "BLOCK_BYTES", 1 << 20)
    monkeypatch.setattr(jsonl_module, "DUCKDB_MIN_BYTES", 1 << 19)
    monkeypatch.setattr(jsonl_module, "DUCKDB_AFTER_BYTES", 5 << 19)
    data = block_of(*[compact(record(site=f"s{i}")) for i in range(20_000)])
    reader = jsonl_module.JsonLinesReader("history.jsonl", lambda table: None)
    reader.read_stream(io.BytesIO(bytes(data)))
    # Blocks of about 1 MiB: DuckDB only once 2.5 MiB have been read.
    assert offered[:4] == [False, False, True, True]
    assert reader.read == 20_003


def test_a_forked_child_leaves_the_parents_connections_alone() -> None:
    # Servers and tests fork (subprocess with preexec_fn): the child must neither use nor
    # close the parent's DuckDB connections, whose threads did not survive the fork.
    import subprocess
    import sys

    from rtt_topology.load import duckdb_blocks

    assert duckdb_blocks.available()
    with duckdb_blocks._connection() as con:
        assert con.sql("SELECT 42").fetchall() == [(42,)]
    for _ in range(5):
        child = subprocess.run([sys.executable, "-c", "pass"], preexec_fn=lambda: None, check=False)
        assert child.returncode == 0
    with duckdb_blocks._connection() as con:
        assert con.sql("SELECT 1").fetchall() == [(1,)]
