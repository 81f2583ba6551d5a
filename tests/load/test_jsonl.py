"""The columnar JSON Lines reader agrees with the per-record rules on any input."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from rtt_topology.load import jsonl as jsonl_module
from rtt_topology.load import read_beacons
from rtt_topology.load import records as records_module
from rtt_topology.load.records import RecordError, flatten_record, loads_strict
from rtt_topology.schemas import Beacon

SITES = ["auth-service", "orders-api", "shop.example.com", "dc-east"]
TIMESTAMPS = st.one_of(
    st.datetimes(
        min_value=pd.Timestamp("2020-01-01").to_pydatetime(),
        max_value=pd.Timestamp("2030-01-01").to_pydatetime(),
    ).map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S") + st_suffix(d.microsecond)),
    st.sampled_from(["2026-01-19T15:00:00", "2026-01-19 15:00:00Z", "2026-01-19T15:00:00+02:00"]),
)


def st_suffix(micro: int) -> str:
    return ["Z", f".{micro // 1000:03d}Z", "+01:00", f".{micro:06d}-05:30"][micro % 4]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)  # fmt: skip


@st.composite
def beacons(draw: st.DrawFn) -> dict[str, object]:
    record: dict[str, object] = {
        "site": draw(st.sampled_from(SITES)),
        "session": draw(st.sampled_from(["srv-1", "srv-2", ""])),
        "event": draw(st.sampled_from(["heartbeat", "startup", "shutdown", "page_load"])),
        "ts": draw(TIMESTAMPS),
    }
    if draw(st.booleans()):
        structure: dict[str, object] = {"url": "internal://x", "title": "X"}
        for name in ("nav_count", "main_count", "form_count", "button_count", "dom_nodes"):
            if draw(st.booleans()):
                structure[name] = draw(st.integers(0, 5000))
        record["structure"] = structure
    if draw(st.booleans()):
        record["received_at"] = draw(TIMESTAMPS)
    return record


@st.composite
def mutated_line(draw: st.DrawFn) -> str:
    record = draw(beacons())
    kind = draw(st.integers(0, 9))
    if kind == 0:
        key = draw(st.sampled_from(["site", "session", "event", "ts", "structure", "received_at"]))
        record[key] = draw(JSON_VALUES)
    elif kind == 1 and isinstance(record.get("structure"), dict):
        key = draw(st.sampled_from(["url", "title", "nav_count", "dom_nodes", "other"]))
        record["structure"][key] = draw(JSON_VALUES)  # type: ignore[index]
    elif kind == 2:
        record.pop(draw(st.sampled_from(["site", "session", "event", "ts"])), None)
    elif kind == 3:
        record[draw(st.text(min_size=1, max_size=6))] = draw(JSON_VALUES)
    line = json.dumps(record, ensure_ascii=draw(st.booleans()))
    if kind == 4 and line:
        # Text damage: drop, insert or replace one character.
        at = draw(st.integers(0, len(line) - 1))
        line = (
            line[:at]
            + draw(st.sampled_from(["", "x", '"', "}", ",", "\\", "\t", "\u00e9"]))
            + line[at + 1 :]
        )
    elif kind == 5:
        line = line + " " + json.dumps(draw(beacons()))
    elif kind == 6:
        line = draw(st.sampled_from(["", "   ", "[]", "null", "{}", "42", '"text"', "NaN"]))
    return line


def expected_verdict(line: str) -> dict[str, object] | None:
    """The per-record rules: strict JSON, type rules, then the Beacon model."""
    if not line.strip():
        return None
    try:
        record = loads_strict(line)
        flatten_record(record, 1)
        beacon = Beacon.model_validate(record)
    except (RecordError, ValidationError):
        return {}
    return {
        "site": beacon.site,
        "event": beacon.event,
        "ts": pd.Timestamp(beacon.ts),
        "received_at": pd.Timestamp(beacon.received_at),
    }


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(mutated_line(), min_size=1, max_size=40), block=st.sampled_from([256, 4096]))
def test_columnar_reader_agrees_with_record_rules(
    tmp_path: Path, lines: list[str], block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jsonl_module, "BLOCK_BYTES", block)
    monkeypatch.setattr(jsonl_module, "_LINE_BY_LINE", 4)
    path = tmp_path / "mutated.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    text_lines = path.read_text(encoding="utf-8").split("\n")[:-1]
    frame, report = read_beacons(path)
    assert report.accepted + report.rejected == report.read
    verdicts = {i + 1: expected_verdict(t) for i, t in enumerate(text_lines)}
    records = {n: v for n, v in verdicts.items() if v is not None}
    assert report.read == len(records)
    accepted = {n for n, v in records.items() if v}
    rejected = {r.line for r in report.rejects}
    assert rejected == set(records) - accepted
    # Duplicates collapse; every kept row is one of the accepted lines, with its values.
    assert set(frame["line"]) <= accepted
    assert len(frame) == report.accepted - report.duplicates
    for row in frame.itertuples():
        want = records[row.line]
        assert (row.site, row.event) == (want["site"], want["event"])
        assert row.ts.floor("us") == want["ts"]
        if pd.isna(want["received_at"]):
            assert pd.isna(row.received_at)
        else:
            assert row.received_at.floor("us") == want["received_at"]


# --------------------------------------------------------------------------- hostile lines


def beacon_line(site: str = "auth", second: int = 0, **extra: object) -> bytes:
    record: dict[str, object] = {
        "site": site,
        "session": "s1",
        "event": "heartbeat",
        "ts": f"2026-01-19T15:00:{second:02d}Z",
    }
    record.update(extra)
    return json.dumps(record).encode() + b"\n"


def test_a_huge_line_is_one_reject_and_costs_no_copy(tmp_path: Path) -> None:
    # 40 MB without a newline, then more beacons, then 3 MB that end the file unterminated.
    path = tmp_path / "huge.jsonl"
    with path.open("wb") as out:
        out.write(beacon_line("a", 1))
        out.write(b'{"site": "' + b"x" * 40_000_000 + b"\n")
        out.write(beacon_line("b", 2))
        out.write(b"y" * 3_000_000)
    tracemalloc.start()
    try:
        frame, report = read_beacons(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sorted(frame["site"]) == ["a", "b"]
    assert (report.read, report.accepted, report.rejected) == (4, 2, 2)
    assert [(r.line, r.reason) for r in report.rejects] == [
        (2, "line longer than 1048576 bytes (40000010): not read"),
        (4, "line longer than 1048576 bytes (3000000): not read"),
    ]
    assert report.rejects[0].raw.startswith('{"site": "xxx')
    assert str(path) in str(report.rejects[0])
    # Blocks of 16 MiB, never the line: less than the line itself.
    assert peak < 40_000_000


@pytest.mark.parametrize("block", [256, 4096, 1 << 20])
def test_long_lines_within_and_across_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    monkeypatch.setattr(jsonl_module, "BLOCK_BYTES", block)
    monkeypatch.setattr(records_module, "MAX_LINE_BYTES", 3000)
    lines = [
        beacon_line("a", 1),
        beacon_line("b", 2, note="n" * 2500),  # long, within the limit
        beacon_line("c", 3, note="n" * 5000),  # over the limit
        beacon_line("d", 4),
        b"\n",
        beacon_line("e", 5, note="n" * 200_000),  # longer than any block here
        beacon_line("f", 6),
    ]
    path = tmp_path / "long.jsonl"
    path.write_bytes(b"".join(lines))
    frame, report = read_beacons(path)
    assert sorted(frame["site"]) == ["a", "b", "d", "f"]
    assert [r.line for r in report.rejects] == [3, 6]
    assert all(r.reason.startswith("line longer than 3000 bytes") for r in report.rejects)
    assert report.read == report.accepted + report.rejected == 6
    assert report.files[0].skipped_lines == 1
    assert frame.set_index("site").loc["f", "line"] == 7


@pytest.mark.parametrize("depth", [65, 5_000, 100_000])
def test_deep_lines_are_quarantined_without_crashing(tmp_path: Path, depth: int) -> None:
    # Arrow's parser recurses: such a line must never reach it.
    deep = b'{"site": "x", "extra": ' + b"[" * depth + b"]" * depth + b"}\n"
    deep_objects = b'{"site": "y", "extra": ' + b'{"k": ' * depth + b"1" + b"}" * depth + b"}\n"
    path = tmp_path / "deep.jsonl"
    path.write_bytes(beacon_line("a", 1) + deep + deep_objects + beacon_line("b", 2))
    frame, report = read_beacons(path)
    assert sorted(frame["site"]) == ["a", "b"]
    assert [(r.line, r.reason) for r in report.rejects] == [
        (2, "invalid JSON: nesting deeper than 64 levels"),
        (3, "invalid JSON: nesting deeper than 64 levels"),
    ]


def test_a_line_with_many_brackets_but_shallow_is_read(tmp_path: Path) -> None:
    # More brackets than Arrow is given, yet two levels deep: read by the per-record rules.
    many = beacon_line("m", 3, extra=[[] for _ in range(3 * jsonl_module.MAX_ARROW_BRACKETS)])
    path = tmp_path / "many.jsonl"
    path.write_bytes(beacon_line("a", 1) + many + beacon_line("b", 2))
    frame, report = read_beacons(path)
    assert report.ok
    assert sorted(frame["site"]) == ["a", "b", "m"]
    assert frame.set_index("site").loc["m", "line"] == 2


def test_blank_and_indented_lines_are_told_apart_in_bulk(tmp_path: Path) -> None:
    # Millions of blank lines are counted without a look at each.
    blank = b"\n" * 2_000_000 + b"  \r\n" * 500_000 + b"\t\n"
    indented = b" " * 12 + beacon_line("c", 3)  # past the bulk indent skip
    path = tmp_path / "blank.jsonl"
    path.write_bytes(
        beacon_line("a", 1) + blank + b"   " + beacon_line("b", 2) + indented + b" x\n"
    )
    frame, report = read_beacons(path)
    first_after = 2_500_003
    assert frame.set_index("site")["line"].to_dict() == {
        "a": 1,
        "b": first_after,
        "c": first_after + 1,
    }
    assert report.files[0].skipped_lines == 2_500_001
    [reject] = report.rejects
    assert reject.line == first_after + 2
