from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from rtt_topology._timestamps import TS_TYPE
from rtt_topology.errors import RecordError
from rtt_topology.load.columnar import check_row, validate_block
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


# --- one rule set: the row rules are the block rules ------------------------------------

_VALUE = st.sampled_from([None, "", "a"])
_TIME = st.sampled_from(
    [None, "", "2026-01-19T15:00:00Z", "2026-01-19T15:00:00", "2026-01-19", "2026-02-30T00:00Z",
     "2026-01-19T15:00:00.123456789-23:59", "later", "2262-04-12T00:00:00Z"]
)  # fmt: skip
_RAW_ROW = st.fixed_dictionaries(
    {
        "site": _VALUE, "session": _VALUE, "event": _VALUE, "ts": _TIME, "received_at": _TIME,
        "structure": st.fixed_dictionaries(
            {}, optional={"nav_count": st.integers(-2, 2), "dom_nodes": st.integers(-2, 2)}
        ),
    }
)  # fmt: skip


@settings(max_examples=80, deadline=None)
@given(st.lists(_RAW_ROW, min_size=1, max_size=10), st.booleans())
def test_check_row_gives_the_verdict_of_validate_block(
    records: list[dict[str, object]], assume_utc: bool
) -> None:
    raw = [flatten_record(r, line=i) for i, r in enumerate(records)]
    _, problems = validate_block(raw_table(raw), assume_utc=assume_utc)
    by_row = {i: (field, reason) for i, field, reason in problems}
    for i, row in enumerate(raw):
        try:
            check_row(row, assume_utc=assume_utc)
            got = None
        except RecordError as problem:
            got = (problem.field, problem.reason)
        assert got == by_row.get(i), records[i]


def test_received_at_is_optional_and_parsed() -> None:
    valid, problems = validate_block(
        rows({}, {"received_at": "2026-01-19T17:00:01+02:00"}, {"received_at": "soon"})
    )
    assert problems == [(2, "received_at", "not an ISO 8601 timestamp")]
    assert valid.schema.field("received_at").type == TS_TYPE
    assert valid.column("received_at").to_pylist()[0] is None
    assert valid.column("received_at")[1].value == valid.column("ts")[1].value + 1_000_000_000
