"""``rtt-topology demo --replay``: its options are checked before the demo is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.runner import run


def test_token_file_needs_replay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "token").write_text("0123456789abcdef0123")
    code, _, err = run(capsys, "demo", "--out", str(tmp_path / "demo"),
                       "--token-file", str(tmp_path / "token"))  # fmt: skip
    assert code == 2
    assert "--token-file is only used with --replay" in err
    assert not (tmp_path / "demo").exists()


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/api/rtt", "http://", "http://h/x?y=1"])
def test_a_bad_replay_url_is_refused_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    code, _, err = run(capsys, "demo", "--out", str(tmp_path / "demo"), "--replay", url)
    assert code == 2
    assert "--replay" in err
    assert not (tmp_path / "demo").exists()
