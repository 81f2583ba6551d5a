"""Every analysis command on a history store (``--store``) says what it says on the files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests import DEMO
from tests.cli.runner import run

PROFILES = ["-p", str(DEMO / "profiles")]
WINDOW = ["--from", "2026-01-19T00:30:00Z", "--to", "2026-01-19T03:30:00+00:00"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    from tests.stores import demo_store

    return str(demo_store(tmp_path_factory.mktemp("cli")))


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = run(capsys, *args)
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize(
    "command",
    [
        ["status", *PROFILES, "-t", str(DEMO / "traces"), "--at", "2026-01-19T03:00:00Z"],
        ["status", *PROFILES, *WINDOW],
        ["drift", *PROFILES, "--bucket", "10min"],
        ["incidents", *PROFILES, "-t", str(DEMO / "traces")],
        ["incidents", *PROFILES, *WINDOW],
    ],
    ids=["status", "status-window", "drift", "incidents", "incidents-window"],
)
def test_json_commands_on_a_store_equal_the_files(
    store: str, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    name, *options = command
    expected = _json(capsys, name, str(DEMO / "beacons"), *options, "--json")
    got = _json(capsys, name, "--store", store, *options, "--json")
    assert got == expected
    assert any(len(rows) for rows in got.values())


def test_status_engines_and_settings(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    expected = _json(capsys, "status", str(DEMO / "beacons"), *PROFILES, "--json")
    for extra in (["--engine", "pandas"], ["--memory-limit", "1GB", "--threads", "1"]):
        assert _json(capsys, "status", "--store", store, *PROFILES, *extra, "--json") == expected
    on_files = ["status", str(DEMO / "beacons"), *PROFILES, "--engine", "duckdb", "--json"]
    assert _json(capsys, *on_files) == expected


def test_summary_on_a_store(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    expected = _json(capsys, "summary", str(DEMO / "beacons"), *PROFILES, "--json")
    got = _json(capsys, "summary", "--store", store, *PROFILES, "--json")
    assert got["services"] == expected["services"]
    assert got["declared_not_seen"] == expected["declared_not_seen"]
    assert got["store"]["beacons"] == sum(s["beacons"] for s in expected["services"])
    assert got["store"]["rejected"] == expected["load"]["rejected"] > 0
    code, out, _ = run(capsys, "summary", "--store", store, *WINDOW)
    assert code == 0
    assert "quarantined record(s)" in out


def test_metrics_on_a_store(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    at = ["--at", "2026-01-19T02:00:00Z"]
    code, expected, err = run(capsys, "metrics", str(DEMO / "beacons"), *PROFILES, *at)
    assert code == 0, err
    code, got, err = run(capsys, "metrics", "--store", store, *PROFILES, *at)
    assert code == 0, err
    assert got == expected
    assert "rtt_service_state" in got


def test_report_on_a_store(store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hour = ["--from", "2026-01-19T01:00:00Z", "--to", "2026-01-19T02:00:00Z"]
    options = [*PROFILES, *hour, "--format", "json"]
    expected = _json(capsys, "report", "--beacons", str(DEMO / "beacons"), *options)
    got = _json(capsys, "report", "--store", store, *options, "--memory-limit", "2GB")
    assert got["sections"] == expected["sections"]
    assert got["window"] == expected["window"]
    code, out, err = run(capsys, "report", "--store", store, *hour, "-o", str(tmp_path / "r.html"))
    assert code == 0, err
    assert "sections" in out
    assert (tmp_path / "r.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["status", "SOURCE", "--store", "STORE"], 2, "give SOURCES or --store DIR, not both"),
        (["drift"], 2, "give beacon SOURCES or --store DIR"),
        (["summary", "--store", "STORE", "--rejects", "r.jsonl"], 2, "--store reads a history"),
        (["report", "--beacons", "SOURCE", "--store", "STORE"], 2, "not both"),
        (["incidents", "--store", "NOT_A_STORE"], 1, "not a history store"),
        (["metrics", "--store", "STORE", "--memory-limit", "lots"], 1, "DuckDB refused"),
    ],
    ids=["both", "neither", "summary-rejects", "report-both", "not-a-store", "memory"],
)
def test_one_line_errors(
    store: str,
    tmp_path: Path,
    args: list[str],
    code: int,
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    names = {"SOURCE": str(DEMO / "beacons"), "STORE": store, "NOT_A_STORE": str(tmp_path)}
    got, out, err = run(capsys, *(names.get(a, a) for a in args))
    assert got == code
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert out == ""
