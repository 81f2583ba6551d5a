"""Policy documents cost what their text weighs: deep nesting, aliases and gzip are bounded."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from rtt_topology.diagnostics.policy_files import parse_document, read_document
from rtt_topology.errors import LoadError
from rtt_topology.load import sources
from rtt_topology.load.documents import MAX_DEPTH


def laughs(levels: int) -> str:
    lines = ["version: 1", "rules: []", 'l0: &l0 ["ha", "ha", "ha", "ha", "ha", "ha", "ha", "ha"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 8) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("as_text", [False, True], ids=["file", "text"])
def test_a_billion_laughs_names_the_file_and_the_line(tmp_path: Path, as_text: bool) -> None:
    text = laughs(9)
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    source = text if as_text else path
    name = "<rules>" if as_text else r".*rules\.yaml"
    with pytest.raises(
        LoadError,
        match=rf"^{name}: YAML aliases expand the document to \d+ values from \d+ written "
        r"\(at most 10 times as many\); the alias at line 11 repeats \d+ values$",
    ):
        read_document(source, label="<rules>")


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
@pytest.mark.parametrize("fmt", ["json", None])
def test_deep_json_is_refused(depth: int, fmt: str | None) -> None:
    text = '{"rules": ' + "[" * depth + "]" * depth + "}"
    with pytest.raises(LoadError, match=rf"^<rules>: nesting deeper than {MAX_DEPTH} levels"):
        parse_document(text, source="<rules>", fmt=fmt)


def test_deep_yaml_names_its_line() -> None:
    text = "version: 1\nrules:\n  - " + "[" * 100_000 + "]" * 100_000 + "\n"
    with pytest.raises(LoadError, match=rf"nesting deeper than {MAX_DEPTH} levels at line 3"):
        parse_document(text, source="<rules>", fmt="yaml")


def test_a_gzip_bomb_policy_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "GZIP_FREE_BYTES", 1 << 20)
    path = tmp_path / "rules.yaml.gz"
    path.write_bytes(gzip.compress(b"version: 1\nrules: []\n#" + b" " * (20 << 20) + b"\n"))
    with pytest.raises(LoadError, match=r"rules\.yaml\.gz: gzip data inflates past \d+ bytes"):
        read_document(path, label="<rules>")
    small = tmp_path / "ok.yaml.gz"
    small.write_bytes(gzip.compress(b"version: 1\nrules: []\n"))
    assert read_document(small, label="<rules>").data == {"version": 1, "rules": []}
