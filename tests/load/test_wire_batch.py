from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtt_topology.errors import RecordError
from rtt_topology.load import beacon_line, check_beacon, read_beacons
from rtt_topology.load.records import MAX_LINE_BYTES, loads_strict
from rtt_topology.load.wire_batch import BatchCheck, check_beacon_items, check_beacon_lines

NOW = datetime(2026, 1, 19, 15, 0, 1, 250, tzinfo=UTC)
STAMP = b',"received_at":"2026-01-19T15:00:01.000250Z"}'
BEACON = {"site": "api", "session": "s1", "event": "heartbeat", "ts": "2026-01-19T15:00:00Z"}
BLANK = b" \t\r\f\v"


def no_bell(site: str) -> str | None:
    """A site rule for the tests: sites holding a BEL are refused."""
    return "bell in the site name" if "\a" in site else None


def one_by_one(body: bytes) -> tuple[list[bytes], list[tuple[int, str | None, str]]]:
    """The reference: every non-blank line through loads_strict and check_beacon."""
    stored, rejects = [], []
    for number, text in enumerate(body.split(b"\n"), start=1):
        if not text.strip(BLANK):
            continue
        try:
            record = check_beacon(loads_strict(text), received_at=NOW)
            problem = no_bell(record["site"])
            if problem is not None:
                raise RecordError(field="site", reason=problem)
        except RecordError as exc:
            rejects.append((number, exc.field, exc.reason))
        else:
            stored.append(beacon_line(record))
    return stored, rejects


def read_stored(lines: bytes) -> pd.DataFrame:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "segment.jsonl"
        path.write_bytes(lines)
        beacons, report = read_beacons(path)
    assert report.rejected == 0, report.rejects
    return beacons.drop(columns="source")


def dump(obj: object, style: int) -> bytes:
    if style == 0:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
    if style == 1:
        return json.dumps(obj).encode()  # spaces, \u escapes for non-ASCII
    return b"  " + json.dumps(obj, indent=None, separators=(" , ", " : ")).encode() + b" \r"


_TEXT = st.one_of(
    st.none(),
    st.sampled_from(["", "api", "db-1", "café", "a\ab", "x" * 3]),
    st.integers(-2, 2),
)
_TS = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "2026-01-19T15:00:30Z",
            "2026-01-19 15:00:30.5+02:00",
            "2026-01-19T15:00:30",
            "2026-02-30T00:00:00Z",
            "noon",
            "",
        ]
    ),
    st.integers(0, 10),
)
_COUNT = st.one_of(st.none(), st.integers(-2, 5), st.sampled_from([2**63, 1.5, "4", True]))
_STRUCTURE = st.one_of(
    st.none(),
    st.sampled_from([[], "page"]),
    st.fixed_dictionaries(
        {}, optional={"url": _TEXT, "title": _TEXT, "nav_count": _COUNT, "dom_nodes": _COUNT}
    ),
)
_OBJECT = st.fixed_dictionaries(
    {"site": _TEXT, "session": _TEXT, "event": _TEXT, "ts": _TS},
    optional={
        "structure": _STRUCTURE,
        "region": st.sampled_from(["eu", 3, None, {"z": [1]}]),
        "received_at": st.sampled_from([None, "2026-01-19T15:00:00Z", 5]),
    },
)
_JUNK = st.sampled_from(
    [
        b"",
        b"   ",
        b"\t\r",
        b"{broken",
        b"null",
        b"[1, 2]",
        b'"text"',
        b"{}",
        b"{ }",
        b'{"site": "a"}{"site": "b"}',
        b'{"site": "a", "site": "b", "session": "s", "event": "e", "ts": "2026-01-19T15:00:00Z"}',
        b'{"site":"\xff","session":"s","event":"e","ts":"2026-01-19T15:00:00Z"}',
        b'{"site":"a","session":"s","event":"e","ts":"2026-01-19T15:00:00Z","received\\u005fat":null}',
        b'{"site":"a","session":"s","event":"e","ts":"2026-01-19T15:00:00Z","n":NaN}',
        b'{"site":"\\u0063af\\u00e9","session":"s","event":"e","ts":"2026-01-19T15:00:00Z"}',
        b'{"site":"a","session":"s","event":"e","ts":"2026-01-19T15:00:00Z","deep":'
        + b"[" * 80
        + b"]" * 80
        + b"}",
    ]
)
_LINE = st.one_of(
    st.tuples(_OBJECT, st.integers(0, 2)).map(lambda pair: dump(*pair)),
    _JUNK,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_LINE, min_size=0, max_size=14), st.booleans())
def test_columnar_check_agrees_with_check_beacon_line_by_line(
    lines: list[bytes], trailing_newline: bool
) -> None:
    body = b"\n".join(lines) + (b"\n" if trailing_newline else b"")
    check = check_beacon_lines(body, received_at=NOW, site_rule=no_bell)
    stored, rejects = one_by_one(body)
    assert check.rejects == rejects
    assert check.accepted == len(stored) == check.lines.count(b"\n")
    assert check.read == check.accepted + len(check.rejects)
    if stored:
        pd.testing.assert_frame_equal(read_stored(check.lines), read_stored(b"".join(stored)))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(_OBJECT, st.integers(0, 2)), min_size=1, max_size=20))
def test_clean_batches_store_exactly_what_check_beacon_stores(
    items: list[tuple[dict[str, Any], int]],
) -> None:
    good = [{**obj, "site": "svc", "session": "s", "event": "e", "ts": "2026-01-19T15:00:00Z"}
            for obj, _ in items]  # fmt: skip
    for obj in good:
        obj.pop("received_at", None)
        obj.pop("structure", None)
    body = b"\n".join(json.dumps(obj, separators=(",", ":")).encode() for obj in good)
    check = check_beacon_lines(body, received_at=NOW)
    assert check.rejects == []
    assert [json.loads(line) for line in check.lines.splitlines()] == [
        check_beacon(obj, received_at=NOW) for obj in good
    ]


@pytest.mark.parametrize("end", [b"", b"\n", b"\r\n"])
def test_bare_lines_get_received_at_before_their_closing_brace(end: bytes) -> None:
    line = json.dumps(BEACON, separators=(",", ":")).encode()
    check = check_beacon_lines(line + b"\n" + line + end, received_at=NOW)
    assert check == BatchCheck(
        lines=(line[:-1] + STAMP + b"\n") * 2, accepted=2, rejects=[], read=2
    )


def test_padded_lines_are_stripped_before_the_stamp() -> None:
    body = (
        b'  { "site": "api", "session": "s1", "event": "heartbeat", '
        b'"ts": "2026-01-19T15:00:00Z" }\t\n'
    )
    check = check_beacon_lines(body, received_at=NOW)
    assert check.lines == (
        b'{ "site": "api", "session": "s1", "event": "heartbeat", "ts": "2026-01-19T15:00:00Z"'
        + STAMP
        + b"\n"
    )


@pytest.mark.parametrize(
    "line",
    [
        b'{"received_at":"2026-01-19T15:00:00Z","site":"a"}',
        b'{"site":"a","session":"s","event":"e","ts":"2026-01-19T15:00:00Z","received_at":null}',
        b'{"site":"a","session":"s","event":"e","ts":"2026-01-19T15:00:00Z","rec\\u0065ived_at":1}',
    ],
)
def test_a_posted_received_at_is_refused_first_however_spelled(line: bytes) -> None:
    check = check_beacon_lines(line, received_at=NOW)
    assert check.accepted == 0
    assert [(n, field) for n, field, _ in check.rejects] == [(1, "received_at")]


def test_received_at_in_a_value_or_nested_object_is_no_reserved_key() -> None:
    beacon = {**BEACON, "note": "received_at", "structure": {"received_at": "x"}}
    check = check_beacon_lines(json.dumps(beacon).encode(), received_at=NOW)
    assert check.rejects == []
    assert json.loads(check.lines) == check_beacon(beacon, received_at=NOW)


def test_a_byte_order_mark_opening_the_body_is_ignored() -> None:
    body = b"\xef\xbb\xbf" + json.dumps(BEACON).encode()
    check = check_beacon_lines(body, received_at=NOW)
    assert (check.accepted, check.rejects) == (1, [])
    assert check.lines.startswith(b'{"site"')


def test_invalid_utf8_is_one_reject_naming_the_byte() -> None:
    good = json.dumps(BEACON).encode()
    check = check_beacon_lines(good + b"\n" + b'{"site":"\xff"}\n' + good, received_at=NOW)
    assert check.accepted == 2
    assert check.rejects == [(2, None, "invalid UTF-8 (byte 9)")]


def test_a_line_the_stored_line_would_make_too_long_is_refused_unread() -> None:
    filler = "x" * (MAX_LINE_BYTES - 120)
    line = json.dumps({**BEACON, "pad": filler}).encode()
    assert len(line) <= MAX_LINE_BYTES < len(line) + len(STAMP)
    check = check_beacon_lines(line + b"\n" + json.dumps(BEACON).encode(), received_at=NOW)
    assert check.accepted == 1
    assert [(n, field) for n, field, _ in check.rejects] == [(1, None)]
    assert check.rejects[0][2].startswith("line longer than")


def test_site_rule_refuses_only_beacons_that_passed_the_record_rules() -> None:
    bell = {**BEACON, "site": "a\ab"}
    body = b"\n".join(
        json.dumps(obj).encode() for obj in [bell, {**bell, "ts": "noon"}, BEACON, bell]
    )
    check = check_beacon_lines(body, received_at=NOW, site_rule=no_bell)
    assert check.accepted == 1
    assert check.rejects == [
        (1, "site", "bell in the site name"),
        (2, "ts", "not an ISO 8601 timestamp"),
        (4, "site", "bell in the site name"),
    ]


def test_an_empty_or_blank_body_accepts_nothing() -> None:
    assert check_beacon_lines(b"", received_at=NOW) == BatchCheck(b"", 0, [], 0)
    assert check_beacon_lines(b"\n \n\t\n", received_at=NOW) == BatchCheck(b"", 0, [], 0)


def test_a_thousand_clean_lines_take_the_column_path() -> None:
    body = b"".join(
        json.dumps({**BEACON, "session": f"s{i}"}, separators=(",", ":")).encode() + b"\n"
        for i in range(1000)
    )
    check = check_beacon_lines(body, received_at=NOW)
    assert (check.accepted, check.read, check.rejects) == (1000, 1000, [])
    assert check.lines == body.replace(b"}\n", STAMP + b"\n")
    assert len(read_stored(check.lines)) == 1000


_ITEM = st.one_of(
    _OBJECT,
    st.sampled_from([None, 3, "text", [], [BEACON], {**BEACON, "title": "\ud800"}]),
    st.builds(lambda site: {**BEACON, "site": site}, st.sampled_from(["\udfff", "caf\u00e9"])),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_ITEM, max_size=14))
def test_decoded_items_agree_with_check_beacon_item_by_item(items: list[object]) -> None:
    check = check_beacon_items(items, received_at=NOW, site_rule=no_bell)
    stored, rejects = [], []
    for index, item in enumerate(items):
        try:
            record = check_beacon(item, received_at=NOW)
            problem = no_bell(record["site"])
            if problem is not None:
                raise RecordError(field="site", reason=problem)
        except RecordError as exc:
            rejects.append((index, exc.field, exc.reason))
        else:
            stored.append(beacon_line(record))
    assert check.rejects == rejects
    assert (check.accepted, check.read) == (len(stored), len(items))
    if stored:
        pd.testing.assert_frame_equal(read_stored(check.lines), read_stored(b"".join(stored)))
