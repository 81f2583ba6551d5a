from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtt_topology._timestamps import parse_ts_array
from rtt_topology.errors import RecordError
from rtt_topology.load import (
    RECEIVED_AT,
    beacon_line,
    check_beacon,
    format_received_at,
    read_beacons,
)
from rtt_topology.load.columnar import timestamp_reason

GOOD: dict[str, Any] = {
    "site": "checkout-api",
    "session": "srv-1",
    "event": "heartbeat",
    "ts": "2026-01-19T15:00:30.123456789+02:00",
    "structure": {"url": "internal://checkout", "nav_count": 0, "dom_nodes": 120, "theme": "x"},
    "zone": "eu-1",
}
NOW = datetime(2026, 1, 19, 13, 0, 31, 5, tzinfo=UTC)


def read_lines(lines: list[bytes]) -> tuple[pd.DataFrame, dict[int, tuple[str | None, str]]]:
    """Read lines as read_beacons reads a stored segment; rejects by line number."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "segment.jsonl"
        path.write_bytes(b"".join(lines))
        beacons, report = read_beacons(path)
    assert report.accepted + report.rejected == report.read == len(lines)
    return beacons, {r.line: (r.field, r.reason) for r in report.rejects if r.line is not None}


def verdict(obj: object) -> tuple[str | None, str] | None:
    try:
        check_beacon(obj)
    except RecordError as problem:
        return problem.field, problem.reason
    return None


def test_accepted_beacon_round_trips_through_the_reader() -> None:
    record = check_beacon(GOOD, received_at=NOW)
    assert record[RECEIVED_AT] == "2026-01-19T13:00:31.000005Z"
    # The posted keys and values are kept as sent, received_at comes last.
    assert list(record) == [*GOOD, RECEIVED_AT]
    assert {k: v for k, v in record.items() if k != RECEIVED_AT} == GOOD
    assert record is not GOOD
    assert RECEIVED_AT not in GOOD
    line = beacon_line(record)
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    assert json.loads(line) == record
    beacons, rejects = read_lines([line])
    assert not rejects
    row = beacons.iloc[0]
    assert row["ts"] == pd.Timestamp("2026-01-19T13:00:30.123456789Z")
    assert row["received_at"] == pd.Timestamp(NOW)
    assert row["dom_nodes"] == 120
    assert pd.isna(row["title"])
    assert json.loads(row["extra"]) == {"zone": "eu-1", "structure": {"theme": "x"}}


def test_without_received_at_nothing_is_added() -> None:
    assert RECEIVED_AT not in check_beacon(GOOD)


def test_posted_received_at_is_refused() -> None:
    with pytest.raises(RecordError) as info:
        check_beacon({**GOOD, "received_at": "2026-01-19T13:00:31Z"}, received_at=NOW)
    assert info.value.field == "received_at"
    assert "server" in info.value.reason


def test_received_at_is_written_in_utc_with_microseconds() -> None:
    paris = timezone(timedelta(hours=1))
    assert format_received_at(datetime(2026, 1, 19, 14, 0, tzinfo=paris)) == (
        "2026-01-19T13:00:00.000000Z"
    )
    assert format_received_at(pd.Timestamp("2026-01-19T13:00:00.5Z")) == (
        "2026-01-19T13:00:00.500000Z"
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        format_received_at(datetime(2026, 1, 19, 13, 0))


def test_non_ascii_text_is_stored_as_utf8() -> None:
    line = beacon_line(check_beacon({**GOOD, "site": "café"}))
    assert "café".encode() in line
    beacons, _ = read_lines([line])
    assert beacons["site"].tolist() == ["café"]


def test_a_mapping_structure_is_stored_as_an_object() -> None:
    from types import MappingProxyType

    record = check_beacon({**GOOD, "structure": MappingProxyType({"dom_nodes": 3})})
    assert record["structure"] == {"dom_nodes": 3}
    assert json.loads(beacon_line(record))["structure"] == {"dom_nodes": 3}


BAD: list[tuple[object, str | None, str | None]] = [
    ({**GOOD, "site": None}, "site", "missing"),
    ([GOOD], None, "expected a JSON object, got array"),
    ({**GOOD, "site": ""}, "site", "empty"),
    ({**GOOD, "site": 7}, "site", "expected a string, got number"),
    ({k: v for k, v in GOOD.items() if k != "session"}, "session", "missing"),
    ({**GOOD, "event": ""}, "event", "empty"),
    ({**GOOD, "ts": "2026-01-19T15:00:30"}, "ts", None),
    ({**GOOD, "ts": "2026-02-30T15:00:30Z"}, "ts", "not an ISO 8601 timestamp"),
    ({**GOOD, "ts": "3000-01-01T00:00:00Z"}, "ts", "not an ISO 8601 timestamp"),
    ({**GOOD, "structure": []}, "structure", "expected an object, got array"),
    ({**GOOD, "structure": {"nav_count": -1}}, "structure.nav_count", "negative count"),
    ({**GOOD, "structure": {"nav_count": 1.0}}, "structure.nav_count", None),
    ({**GOOD, "structure": {"nav_count": True}}, "structure.nav_count", None),
    ({**GOOD, "structure": {"nav_count": 2**63}}, "structure.nav_count", "integer out of range"),
    ({**GOOD, "deep": [[[[[[[[]]]]]]]] * 1}, None, None),
    ({**GOOD, "x": float("nan")}, "extra", None),
    ({**GOOD, "site": "a\ud800"}, "site", "invalid unicode (lone surrogate)"),
]


@pytest.mark.parametrize(("obj", "field", "reason"), BAD)
def test_refusals_name_the_field_and_rule_the_reader_names(
    obj: object, field: str | None, reason: str | None
) -> None:
    if field is None and reason is None:
        # Accepted: nesting of eight levels is allowed.
        assert verdict(obj) is None
        return
    got = verdict(obj)
    assert got is not None
    assert got[0] == field
    if reason is not None:
        assert got[1] == reason


def test_nesting_deeper_than_the_reader_allows_is_refused() -> None:
    deep: Any = []
    for _ in range(70):
        deep = [deep]
    assert verdict({**GOOD, "deep": deep}) == (None, "invalid JSON: nesting deeper than 64 levels")
    line = (json.dumps({**GOOD, "deep": deep}) + "\n").encode()
    _, rejects = read_lines([line])
    assert rejects[1] == (None, "invalid JSON: nesting deeper than 64 levels")


@pytest.mark.parametrize(
    ("extra", "reason"),
    [({1: "a"}, "object key is not a string"), ({"k": {2, 3}}, "not a JSON value (set)")],
)
def test_values_no_json_line_can_hold_are_refused(extra: dict[Any, Any], reason: str) -> None:
    with pytest.raises(RecordError) as info:
        check_beacon({**GOOD, **extra})
    assert (info.value.field, info.value.reason) == ("extra", reason)


def test_check_beacon_agrees_with_the_reader_on_the_table_of_cases() -> None:
    """Every case of the table, stored as a line, gets the reader's verdict."""
    objects = [obj for obj, _, _ in BAD]
    lines, expected = [], {}
    for obj in objects:
        try:
            text = json.dumps(obj, allow_nan=False)
        except ValueError:
            continue
        lines.append(text.encode() + b"\n")
        expected[len(lines)] = verdict(obj)
    _, rejects = read_lines(lines)
    for number, want in expected.items():
        assert rejects.get(number) == want, lines[number - 1]


# --- one rule set: check_beacon and read_beacons agree on any beacon ------------------------

_TEXT = st.one_of(
    st.none(),
    st.sampled_from(["", "api", "db-1", "café"]),
    st.integers(-2, 2),
    st.booleans(),
)
_TS = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "2026-01-19T15:00:30Z",
            "2026-01-19 15:00:30.5+02:00",
            "2026-01-19T15:00:30",
            "2026-01-19",
            "2026-01-19T15Z",
            "2026-13-01T00:00:00Z",
            "2262-04-12T00:00:00Z",
            "1677-09-21T00:12:43.145224193Z",
            "15:00",
            "",
        ]
    ),
    st.integers(0, 2**40),
)
_COUNT = st.one_of(
    st.none(),
    st.integers(-3, 3),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), 1.0, 0.5, True, "3", [1]]),
)
_STRUCTURE = st.one_of(
    st.none(),
    st.sampled_from([[], "x", 3]),
    st.fixed_dictionaries(
        {},
        optional={
            "url": _TEXT,
            "title": _TEXT,
            "nav_count": _COUNT,
            "dom_nodes": _COUNT,
            "theme": st.sampled_from(["dark", 1, None, [1, {"a": []}]]),
        },
    ),
)
_BEACON = st.fixed_dictionaries(
    {},
    optional={
        "site": _TEXT,
        "session": _TEXT,
        "event": _TEXT,
        "ts": _TS,
        "structure": _STRUCTURE,
        "zone": st.sampled_from(["eu", 2, None, {"a": [1, 2]}, 1.5]),
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.one_of(_BEACON, st.sampled_from([[], "text", 3, None])), min_size=1, max_size=12)
)
def test_check_beacon_and_the_reader_agree(objects: list[object]) -> None:
    lines = [(json.dumps(obj, ensure_ascii=False) + "\n").encode() for obj in objects]
    _, rejects = read_lines(lines)
    for number, obj in enumerate(objects, start=1):
        assert verdict(obj) == rejects.get(number), obj


@settings(max_examples=300, deadline=None)
@given(
    st.tuples(
        st.integers(1600, 2300),
        st.integers(0, 13),
        st.integers(0, 32),
        st.integers(0, 25),
        st.integers(0, 61),
        st.integers(0, 61),
        st.sampled_from(["", ".5", ".12", ".1234567", ".123456789", ".1234567890", "."]),
        st.sampled_from(["Z", "", "+02:00", "-23:59", "+24:00", "+0530", "+05", "+00:60"]),
        st.sampled_from(["T", " ", "t"]),
    )
)
def test_timestamp_reason_is_arrows_rule(parts: tuple[Any, ...]) -> None:
    year, month, day, hour, minute, second, fraction, offset, sep = parts
    text = f"{year:04d}-{month:02d}-{day:02d}{sep}{hour:02d}:{minute:02d}:{second:02d}"
    text += fraction + offset
    for assume_utc in (False, True):
        _, reasons = parse_ts_array(pa.array([text]), assume_utc=assume_utc)
        assert timestamp_reason(text, assume_utc=assume_utc) == reasons.get(0), text
