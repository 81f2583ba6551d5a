"""Small JSON and YAML documents cost what their text costs: nesting and alias bounds."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from rtt_topology.diagnostics import load_baseline, load_corridors, load_rules
from rtt_topology.errors import LoadError
from rtt_topology.load import read_profiles
from rtt_topology.load.documents import (
    MAX_DEPTH,
    check_yaml,
    nesting_depth,
    parse_json,
)


def laughs(levels: int, key: str = "extra") -> str:
    """A "billion laughs": each level lists the previous one ten times."""
    lines = [f"{key}:", '  l0: &l0 ["ha", "ha", "ha", "ha", "ha", "ha", "ha", "ha", "ha", "ha"]']
    for i in range(1, levels):
        lines.append(f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def deep_yaml(depth: int) -> str:
    return "tags: " + "[" * depth + "]" * depth + "\n"


def deep_json(depth: int) -> str:
    return '{"tags": ' + "[" * depth + "]" * depth + "}"


# Every reader of small documents, with a valid first part of a document for it.
READERS: dict[str, tuple[Callable[[Any], Any], str]] = {
    "profiles": (read_profiles, "rtt_version: '1.0'\nsupports: [heartbeat]\n"),
    "rules": (load_rules, "version: 1\nrules: []\n"),
    "corridors": (load_corridors, "version: 1\ncorridors: []\n"),
    "baseline": (load_baseline, "version: 1\nviolations: []\n"),
}


@pytest.mark.parametrize("reader", READERS)
def test_a_billion_laughs_is_refused_before_it_expands(tmp_path: Path, reader: str) -> None:
    read, head = READERS[reader]
    path = tmp_path / "site.yaml"
    path.write_text(head + laughs(9))
    assert path.stat().st_size < 1000
    line = head.count("\n") + 10  # the last level, under the "extra:" line
    with pytest.raises(
        LoadError,
        match=rf"site\.yaml: YAML aliases expand the document to \d+ .* alias at line {line} ",
    ):
        read(path)


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5_000, 200_000])
def test_deep_yaml_is_refused_with_its_line(tmp_path: Path, reader: str, depth: int) -> None:
    read, head = READERS[reader]
    path = tmp_path / "site.yaml"
    path.write_text(head + deep_yaml(depth))
    line = head.count("\n") + 1
    with pytest.raises(LoadError, match=rf"nesting deeper than {MAX_DEPTH} levels at line {line}"):
        read(path)


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5_000, 200_000])
def test_deep_json_is_refused(tmp_path: Path, reader: str, depth: int) -> None:
    read, _ = READERS[reader]
    path = tmp_path / "site.json"
    path.write_text(deep_json(depth))
    with pytest.raises(LoadError, match=rf"site\.json: nesting deeper than {MAX_DEPTH} levels"):
        read(path)


def test_aliases_that_share_a_list_are_read(tmp_path: Path) -> None:
    path = tmp_path / "checkout.yaml"
    path.write_text(
        "rtt_version: '1.0'\nsupports: &caps [heartbeat, drift]\n"
        "tags: *caps\ndepends_on: [auth, payments]\n"
    )
    profiles, report = read_profiles(path)
    assert report.accepted == 1
    assert profiles["checkout"].tags == ["heartbeat", "drift"]


def test_a_laughing_profile_in_a_directory_fails_alone(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(READERS["profiles"][1])
    (tmp_path / "bomb.yaml").write_text(READERS["profiles"][1] + laughs(9))
    profiles, report = read_profiles(tmp_path)
    assert list(profiles) == ["good"]
    [failure] = report.failures
    assert Path(failure.source).name == "bomb.yaml"
    assert "YAML aliases expand" in failure.reason


def test_a_deep_line_of_profile_answers_is_quarantined(tmp_path: Path) -> None:
    good = json.dumps({"site": "auth", "profile": {"rtt_version": "1.0", "supports": []}})
    deep = '{"site": "x", "profile": {"supports": ' + "[" * 5_000 + "]" * 5_000 + "}}"
    shallow_but_over = '{"site": "y", "profile": {"tags": ' + "[" * 70 + "]" * 70 + "}}"
    path = tmp_path / "answers.jsonl"
    path.write_text("\n".join([good, deep, shallow_but_over, "null"]) + "\n")
    profiles, report = read_profiles(path)
    assert list(profiles) == ["auth"]
    assert report.read == report.accepted + report.rejected
    reasons = [r.reason for r in report.rejects]
    assert reasons.count(f"nesting deeper than {MAX_DEPTH} levels") == 2
    assert [r.line for r in report.rejects][:2] == [2, 3]


def test_inflation_is_judged_against_what_is_written() -> None:
    # Small documents may expand freely; large ones up to the ratio.
    check_yaml(laughs(3), "small.yaml")
    many = "".join(f"k{i}: &a{i} [x, y, z]\nr{i}: [*a{i}, *a{i}]\n" for i in range(3_000))
    check_yaml(many, "shared.yaml")
    with pytest.raises(LoadError, match="at most 10 times"):
        check_yaml(laughs(6), "big.yaml")


def test_nesting_depth_counts_collections() -> None:
    assert nesting_depth([]) == 1
    assert nesting_depth({"a": {"b": {"c": 1}}}) == 3
    chain: list[Any] = []
    for _ in range(100_000):
        chain = [chain]
    assert nesting_depth(chain) == MAX_DEPTH + 1


def test_parse_json_names_the_line_and_column() -> None:
    with pytest.raises(LoadError, match=r"x\.json: invalid JSON at line 2, column 6"):
        parse_json('{"a": 1,\n "b" 2}', "x.json")
    assert parse_json('{"a": 1, "a": 2}', "x.json", strict=False) == {"a": 2}
    with pytest.raises(LoadError, match="NaN is not JSON"):
        parse_json('{"a": NaN}', "x.json")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab:&*[]{}-, \n'\"!#|>x1", max_size=200))
def test_check_yaml_fails_only_with_a_load_error(text: str) -> None:
    try:
        check_yaml(text, "random.yaml")
    except LoadError:
        return
    # What passes the check parses within the bounds it promises.
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError:
        return
    for document in documents:
        assert nesting_depth(document) <= MAX_DEPTH
