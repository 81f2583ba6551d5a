"""The README's Python quick start runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import ROOT

README = ROOT / "README.md"


def test_quick_start_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"## Quick start \(Python\)\s+```python\n(.*?)```", text, re.S)
    assert block is not None
    code = block.group(1)
    assert len(code.strip().splitlines()) <= 12
    monkeypatch.chdir(tmp_path)
    # The code is the project's own README, run in a scratch directory.
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "accepted" in out
    assert (tmp_path / "rejects.jsonl").read_text().count("\n") > 0


def test_large_histories_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rtt_topology.store import ingest

    text = README.read_text(encoding="utf-8")
    block = re.search(r"## Large histories.*?```python\n(.*?)```", text, re.S)
    assert block is not None
    monkeypatch.chdir(tmp_path)
    ingest(ROOT / "fixtures" / "demo" / "beacons", tmp_path / "history")
    code = block.group(1).replace("2026-01-25T00:00:00Z", "2026-01-19T03:00:00Z")
    scope: dict[str, object] = {}
    # The code is the project's own README, run on a store of the demo.
    exec(compile(code, "README.md", "exec"), scope)
    table = scope["table"]
    assert len(table) > 30  # type: ignore[arg-type]
    assert set(table["state"]) <= {"up", "late", "flapping", "down", "unknown", "stopped"}  # type: ignore[index]
