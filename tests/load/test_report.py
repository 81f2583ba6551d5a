from __future__ import annotations

import json
from pathlib import Path

import pytest

from rtt_topology.load.report import (
    RAW_LIMIT,
    FileFailure,
    FileStats,
    LoadReport,
    Reject,
    merge_reports,
    truncate_raw,
)


def make_report() -> LoadReport:
    report = LoadReport()
    report.add_file(FileStats("a.jsonl", "jsonl", read=5, accepted=3, rejected=2, skipped_lines=1))
    report.add_file(FileStats("b.log", "log", read=2, accepted=2, skipped_lines=40))
    report.rejects += [
        Reject("a.jsonl", 2, "ts", "not an ISO 8601 timestamp", '{"ts": "x"}'),
        Reject("a.jsonl", 4, "ts", "not an ISO 8601 timestamp", '{"ts": "y"}'),
    ]
    report.failures.append(FileFailure("c.jsonl", "file is empty"))
    report.duplicates = 1
    return report


def test_totals() -> None:
    report = make_report()
    assert (report.read, report.accepted, report.rejected, report.rows) == (7, 5, 2, 4)
    assert report.skipped_lines == 41
    assert not report.ok


def test_invariant_is_enforced() -> None:
    with pytest.raises(AssertionError, match="accepted 1 \\+ rejected 0 != read 2"):
        LoadReport().add_file(FileStats("x", "jsonl", read=2, accepted=1))


def test_frames_and_summary() -> None:
    report = make_report()
    reasons = report.reasons()
    assert reasons.to_dict(orient="records") == [
        {"source": "a.jsonl", "field": "ts", "reason": "not an ISO 8601 timestamp", "count": 2}
    ]
    assert report.by_file()["read"].tolist() == [5, 2]
    assert report.rejects_frame()["line"].tolist() == [2, 4]
    text = report.summary()
    assert "read 7 records from 2 file(s): 5 accepted, 2 rejected" in text
    assert "failed: c.jsonl: file is empty" in text
    assert "rejected 2 x a.jsonl: ts: not an ISO 8601 timestamp" in text


def test_write_rejects(tmp_path: Path) -> None:
    path = tmp_path / "rejects.jsonl"
    assert make_report().write_rejects(path) == 2
    first = json.loads(path.read_text().splitlines()[0])
    assert first == {
        "source": "a.jsonl", "line": 2, "field": "ts", "reason": "not an ISO 8601 timestamp",
        "raw": '{"ts": "x"}',
    }  # fmt: skip


def test_to_dict_is_json() -> None:
    data = make_report().to_dict()
    assert json.loads(json.dumps(data))["rows"] == 4


def test_merge() -> None:
    one, two = make_report(), make_report()
    two.duplicates_by_site = {"a": 1}
    total = merge_reports([one, two])
    assert total.read == 14
    assert total.duplicates == 2
    assert total.duplicates_by_site == {"a": 1}


def test_truncate_raw() -> None:
    assert truncate_raw("abc") == "abc"
    cut = truncate_raw("x" * 1000)
    assert len(cut) == RAW_LIMIT
    assert cut.endswith("…")


def test_refuse_if_not_ok() -> None:
    from rtt_topology.errors import StrictLoadError

    LoadReport().refuse_if_not_ok()
    report = make_report()
    with pytest.raises(StrictLoadError) as info:
        report.refuse_if_not_ok()
    assert info.value.report is report
    assert info.value.path == "c.jsonl"
    assert "2 record(s) rejected, 1 file(s) failed; first: c.jsonl: file is empty" in str(
        info.value
    )
