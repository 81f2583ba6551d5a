from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import DEMO
from tests.cli.runner import run


def test_ingest_then_store_info(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store"
    code, out, _ = run(capsys, "ingest", str(DEMO / "beacons"), "--store", str(store), "--json")
    assert code == 0
    result = json.loads(out)
    assert result["rows"] == result["report"]["rows"] > 20_000
    assert result["report"]["rejected"] == 9
    assert result["days"] == ["2026-01-19"]

    code, out, _ = run(capsys, "store", "info", str(store), "--json")
    assert code == 0
    info = json.loads(out)
    assert (info["beacons"], info["services"], info["rejects"]) == (result["rows"], 41, 9)
    assert info["first_day"] == info["last_day"] == "2026-01-19"
    assert info["size_bytes"] > 0

    code, out, _ = run(capsys, "store", "info", str(store))
    assert code == 0
    assert f"beacons   {result['rows']}" in out
    assert "services  41" in out

    code, out, _ = run(capsys, "ingest", str(DEMO / "beacons"), "--store", str(store))
    assert code == 0
    assert "0 beacons added" in out
    assert "skipped as already ingested" in out


def test_ingest_refuses_a_directory_that_is_not_a_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    code, _, err = run(capsys, "ingest", str(DEMO / "beacons"), "--store", str(tmp_path))
    assert code == 1
    assert err.startswith("error: ")
    assert "not a history store" in err
    assert len(err.strip().splitlines()) == 1


def test_store_info_of_a_plain_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "store", "info", str(tmp_path))
    assert code == 1
    assert "not a history store" in err


def test_ingest_exits_1_when_a_file_cannot_be_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "empty.jsonl").write_text("")
    (folder / "ok.jsonl").write_text(
        '{"site":"api","session":"s","event":"e","ts":"2026-01-19T15:00:00Z"}\n'
    )
    code, out, _ = run(capsys, "ingest", str(folder), "--store", str(tmp_path / "s"), "--json")
    assert code == 1
    result = json.loads(out)
    assert result["rows"] == 1
    assert result["report"]["failures"][0]["reason"] == "file is empty"
