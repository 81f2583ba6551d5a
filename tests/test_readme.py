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
