from __future__ import annotations

import pyarrow as pa

from rtt_topology._timestamps import TS_TYPE
from rtt_topology.load.columnar import validate_block
from rtt_topology.load.records import flatten_record, raw_table


def rows(*records: dict[str, object]) -> pa.Table:
    base = {"site": "a", "session": "s", "event": "heartbeat", "ts": "2026-01-19T15:00:00Z"}
    return raw_table([flatten_record({**base, **r}, line=i + 1) for i, r in enumerate(records)])


def test_valid_block_passes_whole() -> None:
    valid, problems = validate_block(rows({}, {"ts": "2026-01-19T16:00:00+01:00"}))
    assert problems == []
    assert valid.num_rows == 2
    assert valid.schema.field("ts").type == TS_TYPE
    assert valid.column("ts")[0] == valid.column("ts")[1]


def test_first_problem_per_row_in_rule_order() -> None:
    table = rows(
        {"site": None, "ts": "bad"},
        {"site": ""},
        {"session": None},
        {"event": ""},
        {"ts": None},
        {"ts": "2026-01-19T15:00:00"},
        {"structure": {"dom_nodes": -3, "nav_count": -1}},
        {},
    )
    valid, problems = validate_block(table)
    assert problems == [
        (0, "site", "missing"),
        (1, "site", "empty"),
        (2, "session", "missing"),
        (3, "event", "empty"),
        (4, "ts", "missing"),
        (5, "ts", "naive timestamp (no UTC offset); pass assume_utc=True to read it as UTC"),
        (6, "structure.nav_count", "negative count"),
    ]
    assert valid.column("line").to_pylist() == [8]


def test_empty_session_is_allowed() -> None:
    _, problems = validate_block(rows({"session": ""}))
    assert problems == []


def test_timestamp_typed_column() -> None:
    table = rows({}, {})
    naive = pa.array([1_768_834_800_000_000_000, None], pa.timestamp("ns"))
    table = table.set_column(table.schema.get_field_index("ts"), "ts", naive)
    valid, problems = validate_block(table)
    assert [p[:2] for p in problems] == [(0, "ts"), (1, "ts")]
    valid, problems = validate_block(table, assume_utc=True)
    assert [p[:2] for p in problems] == [(1, "ts")]
    assert valid.num_rows == 1
