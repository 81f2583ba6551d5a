"""Every beacon reader fills ``received_at``, by the same timestamp rules as ``ts``."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rtt_topology.columns import validate_beacon_frame
from rtt_topology.load import beacons_from_records, read_beacons
from rtt_topology.load.jsonl import JsonLinesReader

RECORDS: list[dict[str, object]] = [
    {"site": "api", "session": "s", "event": "heartbeat", "ts": "2026-01-19T15:00:00Z",
     "received_at": "2026-01-19T15:00:01.250000Z"},
    {"site": "api", "session": "s", "event": "heartbeat", "ts": "2026-01-19T15:00:30Z"},
    {"site": "db", "session": "s", "event": "heartbeat", "ts": "2026-01-19T15:00:00Z",
     "received_at": "2026-01-19T16:59:59+02:00"},
]  # fmt: skip
EXPECTED = [pd.Timestamp("2026-01-19T15:00:01.25Z"), pd.NaT, pd.Timestamp("2026-01-19T14:59:59Z")]


def check(beacons: pd.DataFrame) -> None:
    validate_beacon_frame(beacons)
    assert str(beacons["received_at"].dtype) == "datetime64[ns, UTC]"
    got = beacons["received_at"].tolist()
    assert len(got) == len(EXPECTED)
    for value, want in zip(got, EXPECTED, strict=True):
        assert (pd.isna(value) and pd.isna(want)) or value == want


def write_jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_jsonl_fast_path(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "b.jsonl", RECORDS)
    blocks: list[pa.Table] = []
    reader = JsonLinesReader("b.jsonl", on_block=blocks.append)
    with path.open("rb") as stream:
        reader.read_stream(stream)
    # Stored lines carry received_at: Arrow parses them, not the per-line path.
    assert reader.slow_path == 0
    assert reader.read == 3
    assert blocks[0].schema.field("received_at").type == pa.timestamp("ns", tz="UTC")
    beacons, report = read_beacons(path)
    assert report.ok
    check(beacons)


def test_jsonl_per_line_path(tmp_path: Path) -> None:
    # A broken line sends the block to the per-line rules.
    path = tmp_path / "b.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS) + "{broken\n", "utf-8")
    beacons, report = read_beacons(path)
    assert report.read == 4
    assert report.rejected == 1
    check(beacons)


def test_json_array(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text(json.dumps(RECORDS, indent=1), encoding="utf-8")
    beacons, report = read_beacons(path)
    assert report.ok
    check(beacons)


def test_csv(tmp_path: Path) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, ["site", "session", "event", "ts", "received_at"])
    writer.writeheader()
    writer.writerows(RECORDS)
    path = tmp_path / "b.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    beacons, report = read_beacons(path)
    assert report.ok
    check(beacons)


@pytest.mark.parametrize("typed", [False, True])
def test_parquet_text_or_timestamp(tmp_path: Path, typed: bool) -> None:
    received = [r.get("received_at") for r in RECORDS]
    column = (
        pa.array(
            [None if v is None else pd.Timestamp(v) for v in received], pa.timestamp("us", "UTC")
        )
        if typed
        else pa.array(received, pa.string())
    )
    table = pa.table(
        {
            "site": [r["site"] for r in RECORDS],
            "session": [r["session"] for r in RECORDS],
            "event": [r["event"] for r in RECORDS],
            "ts": [r["ts"] for r in RECORDS],
            "received_at": column,
        }
    )
    path = tmp_path / "b.parquet"
    pq.write_table(table, path)
    beacons, report = read_beacons(path)
    assert report.ok
    check(beacons)


def test_service_log(tmp_path: Path) -> None:
    path = tmp_path / "b.log"
    path.write_text(
        "".join(f"boot\n[RTT] heartbeat sent {json.dumps(r)}\n" for r in RECORDS), "utf-8"
    )
    beacons, report = read_beacons(path)
    assert report.ok
    assert report.read == 3
    check(beacons)


def test_records() -> None:
    beacons, report = beacons_from_records(RECORDS)
    assert report.ok
    check(beacons)


def test_sources_without_receipt_times_give_nat(tmp_path: Path) -> None:
    plain = [{k: v for k, v in r.items() if k != "received_at"} for r in RECORDS]
    beacons, _ = read_beacons(write_jsonl(tmp_path / "b.jsonl", plain))
    assert beacons["received_at"].isna().all()
    assert str(beacons["received_at"].dtype) == "datetime64[ns, UTC]"


def test_a_duplicate_keeps_the_first_receipt_time(tmp_path: Path) -> None:
    # Duplicates are (site, session, event, ts): a replayed beacon received twice is one row.
    again = {**RECORDS[0], "received_at": "2026-01-19T15:05:00Z"}
    beacons, report = read_beacons(write_jsonl(tmp_path / "b.jsonl", [RECORDS[0], again]))
    assert report.duplicates == 1
    assert beacons["received_at"].tolist() == [pd.Timestamp("2026-01-19T15:00:01.25Z")]


@pytest.mark.parametrize(
    ("received_at", "reason"),
    [
        ("yesterday", "not an ISO 8601 timestamp"),
        ("2026-01-19T15:00:01", "naive timestamp"),
        (5, "expected a string, got number"),
        ("", "not an ISO 8601 timestamp"),
    ],
)
def test_a_bad_receipt_time_rejects_the_record(
    tmp_path: Path, received_at: object, reason: str
) -> None:
    lines = [RECORDS[1], {**RECORDS[0], "received_at": received_at}]
    beacons, report = read_beacons(write_jsonl(tmp_path / "b.jsonl", lines))
    assert report.read == 2
    assert report.rejected == 1
    (reject,) = report.rejects
    assert (reject.line, reject.field) == (2, "received_at")
    assert reject.reason.startswith(reason)
    assert len(beacons) == 1


def test_a_null_receipt_time_is_unknown(tmp_path: Path) -> None:
    beacons, report = read_beacons(
        write_jsonl(tmp_path / "b.jsonl", [{**RECORDS[0], "received_at": None}])
    )
    assert report.ok
    assert beacons["received_at"].isna().all()


def test_naive_receipt_times_are_utc_when_told(tmp_path: Path) -> None:
    lines = [{**RECORDS[0], "received_at": "2026-01-19T15:00:01"}]
    beacons, report = read_beacons(write_jsonl(tmp_path / "b.jsonl", lines), assume_utc=True)
    assert report.ok
    assert beacons["received_at"].tolist() == [pd.Timestamp("2026-01-19T15:00:01Z")]


def test_ts_is_checked_before_received_at(tmp_path: Path) -> None:
    lines = [{**RECORDS[0], "ts": "later", "received_at": "never"}]
    _, report = read_beacons(write_jsonl(tmp_path / "b.jsonl", lines))
    assert [r.field for r in report.rejects] == ["ts"]
