"""Tests for rtt_topology.load.profiles."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtt_topology.errors import (
    FormatError,
    InputError,
    LoadError,
    SourceNotFoundError,
    StrictLoadError,
)
from rtt_topology.load import profiles as profiles_module
from rtt_topology.load.profiles import (
    PROFILE_COLUMNS,
    ProfileLoad,
    profiles_frame,
    read_profiles,
)
from rtt_topology.load.report import LoadReport
from rtt_topology.schemas import Profile
from tests import DATA

DATA = DATA / "profiles"
SITES = ["auth-service", "db", "shop.example.com"]


def load(source: object, **kwargs: object) -> ProfileLoad:
    """Read profiles and check the accounting of the report."""
    result = read_profiles(source, **kwargs)  # type: ignore[arg-type]
    check_accounting(result.report, result.profiles)
    return result


def check_accounting(report: LoadReport, profiles: dict[str, Profile]) -> None:
    for stats in report.files:
        assert stats.accepted + stats.rejected == stats.read
        assert stats.rejected == sum(r.source == stats.source for r in report.rejects)
    assert report.rejected == len(report.rejects)
    assert report.accepted == report.rows == len(profiles)
    assert list(profiles) == sorted(profiles)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_gz(path: Path, text: str) -> Path:
    path.write_bytes(gzip.compress(text.encode("utf-8")))
    return path


def test_exported_names() -> None:
    assert profiles_module.__all__ == [
        "PROFILE_COLUMNS",
        "ProfileLoad",
        "profiles_frame",
        "read_profiles",
    ]


# Every input shape gives the same three profiles.


@pytest.mark.parametrize(
    ("source", "fmt", "skipped"),
    [
        ("sites", None, 0),
        ("profiles.json", "json", 0),
        ("profiles.yaml", "yaml", 0),
        ("profiles.jsonl", "jsonl", 1),
    ],
)
def test_each_shape_reads_the_same_profiles(source: str, fmt: str | None, skipped: int) -> None:
    result = load(DATA / source)
    assert list(result.profiles) == SITES
    auth = result.profiles["auth-service"]
    assert auth.rtt_version == "1.0"
    assert auth.layer == "api"
    assert auth.depends_on == ["db"]
    assert auth.heartbeat_interval_s == 30.0
    assert auth.model_extra == {"region": "eu"}
    assert result.profiles["db"].rtt_version == "1.0"
    assert result.profiles["db"].layer == "data"
    assert result.profiles["shop.example.com"].supports == ["coherence", "drift", "corridor"]
    assert result.report.ok
    assert result.report.skipped_lines == skipped
    if fmt is not None:
        assert [f.format for f in result.report.files] == [fmt]
    reference = load(DATA / "profiles.json").profiles
    assert {s: p.to_dict() for s, p in result.profiles.items()} == {
        s: p.to_dict() for s, p in reference.items()
    }


def test_directory_ignores_other_files_and_reports_formats() -> None:
    result = load(DATA / "sites")
    assert result.report.ignored_files == [str(DATA / "sites" / "README.md")]
    assert sorted(f.format for f in result.report.files) == ["json", "yaml", "yaml"]


def test_rtt_json_site_is_parent_directory() -> None:
    result = load(DATA / "www" / "shop.example.com" / "rtt.json")
    assert list(result.profiles) == ["shop.example.com"]


def test_rtt_json_site_argument_wins(tmp_path: Path) -> None:
    path = write(tmp_path / "public" / "rtt.json", '{"contact": "x", "supports": []}')
    result = load(path, site="blog.example.com")
    assert list(result.profiles) == []
    assert result.report.rejects[0].field == "rtt_version"
    write(path, '{"rtt_version": "1.0", "supports": []}')
    assert list(load(path, site="blog.example.com").profiles) == ["blog.example.com"]
    assert list(load(path).profiles) == ["public"]


def test_directory_of_rtt_json_files(tmp_path: Path) -> None:
    for name in ("a.example.com", "b.example.com"):
        write(tmp_path / name / "rtt.json", '{"rtt_version": "1.0", "supports": ["drift"]}')
    assert list(load(tmp_path).profiles) == ["a.example.com", "b.example.com"]


def test_site_keeps_dots_and_gz_suffix(tmp_path: Path) -> None:
    write_gz(tmp_path / "shop.example.com.json.gz", '{"version": "2", "supports": []}')
    write_gz(tmp_path / "api.yaml.gz", "rtt_version: 1.0\nsupports: []\n")
    result = load(tmp_path)
    assert list(result.profiles) == ["api", "shop.example.com"]
    assert sorted(f.format for f in result.report.files) == ["json+gzip", "yaml+gzip"]


def test_gz_json_lines(tmp_path: Path) -> None:
    text = (DATA / "profiles.jsonl").read_text(encoding="utf-8")
    result = load(write_gz(tmp_path / "answers.ndjson.gz", text))
    assert list(result.profiles) == SITES
    assert result.report.files[0].format == "jsonl+gzip"


def test_single_get_answer_file(tmp_path: Path) -> None:
    path = write(
        tmp_path / "saved.json",
        '{"site": "auth", "profile": {"rtt_version": "1.0", "supports": []}}',
    )
    assert list(load(path).profiles) == ["auth"]
    write(tmp_path / "saved.json", '{"site": "auth", "profile": null}')
    result = load(path)
    assert result.profiles == {}
    assert (result.report.read, result.report.skipped_lines) == (0, 1)


# Aliases, YAML numbers, unknown keys.


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("rtt_version: 1.0", "1.0"),
        ("rtt_version: 1.10", "1.10"),
        ("rtt_version: 2", "2"),
        ("version: 1.0", "1.0"),
        ("rtt_version: '1.10'", "1.10"),
    ],
)
def test_yaml_numbers_for_rtt_version(tmp_path: Path, text: str, version: str) -> None:
    path = write(tmp_path / "svc.yaml", f"{text}\nsupports: [drift]\nlayer: 2\n")
    profile = load(path).profiles["svc"]
    assert profile.rtt_version == version
    assert profile.layer == "2"


@pytest.mark.parametrize("suffix", ["json", "yaml"])
def test_version_and_tier_aliases(tmp_path: Path, suffix: str) -> None:
    data = {"version": "1.0", "supports": ["drift"], "tier": "edge"}
    path = write(tmp_path / f"svc.{suffix}", json.dumps(data))
    profile = load(path).profiles["svc"]
    assert (profile.rtt_version, profile.layer) == ("1.0", "edge")
    assert profile.model_extra == {}


def test_unknown_keys_are_kept(tmp_path: Path) -> None:
    path = write(
        tmp_path / "all.yaml",
        "svc:\n  rtt_version: '1.0'\n  supports: []\n  region: eu\n  labels: {a: 1}\n",
    )
    profile = load(path).profiles["svc"]
    assert profile.model_extra == {"region": "eu", "labels": {"a": 1}}
    assert profile.to_dict()["labels"] == {"a": 1}


# Bad profiles are quarantined, the load goes on.


@pytest.mark.parametrize(
    ("profile", "field", "reason"),
    [
        ({"rtt_version": "1.0", "supports": "drift"}, "supports", "got one string"),
        (
            {"rtt_version": "1.0", "supports": [], "heartbeat_interval_s": -5},
            "heartbeat_interval_s",
            "greater than 0",
        ),
        ({"rtt_version": "1.0", "supports": [1]}, "supports.0", "valid string"),
        ({"supports": []}, "rtt_version", "Field required"),
    ],
)
@pytest.mark.parametrize("suffix", ["json", "yaml", "jsonl"])
def test_bad_field_is_rejected(
    tmp_path: Path, suffix: str, profile: dict[str, object], field: str, reason: str
) -> None:
    good = {"rtt_version": "1.0", "supports": []}
    if suffix == "jsonl":
        lines = [{"site": "good", "profile": good}, {"site": "bad", "profile": profile}]
        text = "\n".join(json.dumps(line) for line in lines) + "\n"
    elif suffix == "json":
        text = "{\n" + f' "good": {json.dumps(good)},\n "bad": {json.dumps(profile)}\n' + "}\n"
    else:
        text = yaml.safe_dump({"good": good, "bad": profile}, sort_keys=False)
    result = load(write(tmp_path / f"p.{suffix}", text))
    assert list(result.profiles) == ["good"]
    [reject] = result.report.rejects
    assert reject.field == field
    assert reason in reject.reason
    assert reject.source == str(tmp_path / f"p.{suffix}")
    if suffix == "yaml":
        assert reject.line == 1 + text.splitlines().index("bad:")
    else:
        assert reject.line == {"json": 3, "jsonl": 2}[suffix]
    assert json.loads(reject.raw)


def test_several_errors_make_one_reject(tmp_path: Path) -> None:
    path = write(
        tmp_path / "svc.json", '{"version": 1, "supports": "x", "heartbeat_interval_s": 0}'
    )
    result = load(path)
    [reject] = result.report.rejects
    assert reject.field == "supports"
    assert "; heartbeat_interval_s: Input should be greater than 0" in reject.reason
    assert reject.line is None
    assert (result.report.read, result.report.rejected) == (1, 1)


@pytest.mark.parametrize(
    ("line", "field", "reason"),
    [
        ("{not json", None, "invalid JSON"),
        ("[1, 2]", None, "expected an object"),
        ('{"profile": {}}', "site", "missing"),
        ('{"site": "", "profile": {}}', "site", "non-empty string"),
        ('{"site": "a"}', "profile", "missing"),
        ('{"site": "a", "profile": "x"}', "profile", "expected an object or null"),
    ],
)
def test_bad_json_lines_are_rejected(
    tmp_path: Path, line: str, field: str | None, reason: str
) -> None:
    good = '{"site": "ok", "profile": {"rtt_version": "1.0", "supports": []}}'
    text = f"{good}\n\n{line}\n" + '{"site": "none", "profile": null}\n'
    result = load(write(tmp_path / "answers.jsonl", text))
    assert list(result.profiles) == ["ok"]
    [reject] = result.report.rejects
    assert (reject.line, reject.field) == (3, field)
    assert reason in reject.reason
    assert reject.raw == line
    stats = result.report.files[0]
    assert (stats.read, stats.accepted, stats.rejected, stats.skipped_lines) == (2, 1, 1, 2)


def test_mapping_entries_that_are_not_profiles(tmp_path: Path) -> None:
    text = "a:\n  rtt_version: '1'\n  supports: []\nb: just text\nc:\n'': {supports: []}\n"
    result = load(write(tmp_path / "all.yaml", text))
    assert list(result.profiles) == ["a"]
    reasons = {(r.line, r.reason) for r in result.report.rejects}
    assert reasons == {(4, "profile is a str, not a mapping"), (6, "site name is empty")}
    assert result.report.skipped_lines == 1  # c: null, no profile


def test_recursive_yaml_alias_is_rejected(tmp_path: Path) -> None:
    text = "a: &a {rtt_version: '1', supports: [], self: *a}\nb: {rtt_version: '1', supports: []}\n"
    result = load(write(tmp_path / "all.yaml", text))
    assert list(result.profiles) == ["b"]
    [reject] = result.report.rejects
    assert (reject.line, reject.reason) == (1, "profile contains itself (recursive YAML alias)")
    assert profiles_frame(result.profiles)["site"].tolist() == ["b"]


def test_top_level_yaml_merge_key(tmp_path: Path) -> None:
    text = "base: &b {rtt_version: 1.0, supports: []}\nc:\n  <<: *b\n  owner: x\n"
    result = load(write(tmp_path / "all.yaml", text))
    assert result.profiles["c"].owner == "x"
    assert result.profiles["c"].rtt_version == "1.0"


def test_json_mapping_with_odd_spacing(tmp_path: Path) -> None:
    text = '{ "a" :\n {"rtt_version":"1","supports":["}"]} ,\r\n "b" : {"supports":"x"}\n }\n'
    result = load(write(tmp_path / "m.json", text))
    assert result.profiles["a"].supports == ["}"]
    assert [r.line for r in result.report.rejects] == [3]


def test_yaml_keys_are_site_names_as_written(tmp_path: Path) -> None:
    text = "yes:\n  rtt_version: '1'\n  supports: []\n1.10:\n  rtt_version: '1'\n  supports: []\n"
    assert list(load(write(tmp_path / "all.yaml", text)).profiles) == ["1.10", "yes"]


def test_single_profile_without_markers_is_still_one_profile(tmp_path: Path) -> None:
    result = load(write(tmp_path / "svc.json", '{"contact": "ops@example.com"}'))
    [reject] = result.report.rejects
    assert (reject.field, reject.line) == ("rtt_version", None)
    assert "supports: Field required" in reject.reason


# Duplicates: the first definition wins, later ones are rejected.


def test_duplicate_in_json_mapping(tmp_path: Path) -> None:
    text = (
        '{"a": {"rtt_version": "1", "supports": []},\n'
        ' "b": {"rtt_version": "1", "supports": []},\n'
        ' "a": {"rtt_version": "2", "supports": []}}'
    )
    path = write(tmp_path / "all.json", text)
    result = load(path)
    assert result.profiles["a"].rtt_version == "1"
    [reject] = result.report.rejects
    assert reject.line == 3
    assert reject.reason == f"duplicate profile for site a (first defined in {path}:1)"


def test_duplicate_in_yaml_mapping(tmp_path: Path) -> None:
    text = "a:\n  rtt_version: '1'\n  supports: []\na:\n  rtt_version: '2'\n  supports: []\n"
    path = write(tmp_path / "all.yaml", text)
    result = load(path)
    assert result.profiles["a"].rtt_version == "1"
    [reject] = result.report.rejects
    assert (reject.line, reject.reason) == (
        4,
        f"duplicate profile for site a (first defined in {path}:1)",
    )


def test_duplicate_across_files_first_file_wins(tmp_path: Path) -> None:
    first = write(tmp_path / "a.yaml", "rtt_version: '1'\nsupports: []\n")
    write(tmp_path / "z.json", '{"a": {"rtt_version": "2", "supports": []}}')
    result = load(tmp_path)
    assert result.profiles["a"].rtt_version == "1"
    [reject] = result.report.rejects
    assert reject.source == str(tmp_path / "z.json")
    assert reject.reason.endswith(f"(first defined in {first})")


def test_duplicate_of_an_invalid_first_definition_is_rejected(tmp_path: Path) -> None:
    text = '{"site": "a", "profile": {"supports": []}}\n'
    text += '{"site": "a", "profile": {"rtt_version": "1", "supports": []}}\n'
    path = write(tmp_path / "answers.jsonl", text)
    result = load(path)
    assert result.profiles == {}
    assert [r.line for r in result.report.rejects] == [1, 2]
    assert result.report.rejects[1].reason.endswith(f"(first defined in {path}:1)")


def test_fixture_directory_as_a_whole_reports_duplicates() -> None:
    result = load(DATA)
    assert list(result.profiles) == SITES
    # 13 definitions (three mappings, three site files, one rtt.json) of 3 sites.
    assert result.report.read == 13
    assert result.report.rejected == 13 - 3
    assert all("duplicate profile" in r.reason for r in result.report.rejects)


# Files that cannot be read.

BAD_FILES = [
    ("empty.json", b"", "file is empty"),
    ("blank.json", b"  \n", "file is blank"),
    ("binary.json", b"\x00\x01\x02rtt", "binary data"),
    ("latin1.yaml", "contact: caf\xe9\n".encode("latin-1"), "not UTF-8"),
    ("broken.json", b'{"a": {"rtt_version": "1",\n  "supports": [}\n}', "line 2, column"),
    ("broken.yaml", b"a: [1, 2\nb: 3\n", "invalid YAML at line"),
    ("two.yaml", b"rtt_version: '1'\nsupports: []\n---\nb: 1\n", "2 YAML documents"),
    ("comments.yaml", b"# nothing here\n", "no YAML document"),
    ("list.json", b"[1, 2]", "top level is a list"),
    ("scalar.yaml", b"just text\n", "top level is a str"),
    ("null.yaml", b"~\n", "top level is a null"),
    ("empty-map.json", b"{}", "empty mapping"),
    ("notes.txt", b"rtt_version: 1", "not a profile file"),
    ("bad.json.gz", b"not gzip", "not gzip data"),
]


@pytest.mark.parametrize(("name", "content", "reason"), BAD_FILES)
def test_one_bad_file_raises(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LoadError) as info:
        read_profiles(path)
    assert reason in str(info.value)
    assert info.value.path == str(path)
    assert str(info.value).startswith(str(path))


def test_json_error_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path / "x.json", '{\n  "a": {"supports": [1,]}\n}')
    with pytest.raises(LoadError, match=r"invalid JSON at line 2, column \d+: "):
        read_profiles(path)


def test_unknown_suffix_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="suffix 'txt'"):
        read_profiles(write(tmp_path / "p.txt", "{}"))


@pytest.mark.parametrize(
    "text",
    [
        "rtt_version: !!python/object/apply:os.system ['echo unsafe']\nsupports: []\n",
        "svc: !!python/object:collections.OrderedDict {}\n",
        "svc:\n  rtt_version: '1'\n  supports: !!python/name:os.system\n",
    ],
)
def test_unsafe_yaml_tag_is_refused(tmp_path: Path, text: str) -> None:
    path = write(tmp_path / "evil.yaml", text)
    with pytest.raises(LoadError, match=r"unsafe and unknown tags are refused") as info:
        read_profiles(path)
    assert "python/" in str(info.value)
    assert "line " in str(info.value)


def test_bad_files_in_a_directory_are_recorded(tmp_path: Path) -> None:
    for name, content, _ in BAD_FILES:
        (tmp_path / name).write_bytes(content)
    write(tmp_path / "good.yaml", "rtt_version: '1'\nsupports: []\n")
    result = load(tmp_path)
    assert list(result.profiles) == ["good"]
    # notes.txt is not picked up from a directory: it is ignored, not failed.
    assert result.report.ignored_files == [str(tmp_path / "notes.txt")]
    failed = {Path(f.source).name for f in result.report.failures}
    assert failed == {name for name, _, _ in BAD_FILES} - {"notes.txt"}
    assert not result.report.ok


def test_bad_file_in_a_list_is_recorded(tmp_path: Path) -> None:
    good = write(tmp_path / "good.json", '{"rtt_version": "1", "supports": []}')
    bad = write(tmp_path / "bad.json", "{")
    result = load([bad, good])
    assert list(result.profiles) == ["good"]
    [failure] = result.report.failures
    assert failure.source == str(bad)
    assert "line 1, column 2" in failure.reason


def test_glob_source(tmp_path: Path) -> None:
    write(tmp_path / "a.json", '{"rtt_version": "1", "supports": []}')
    write(tmp_path / "b.json", "{")
    result = load(str(tmp_path / "*.json"))
    assert list(result.profiles) == ["a"]
    assert len(result.report.failures) == 1


def test_missing_source(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError):
        read_profiles(tmp_path / "nope.json")
    (tmp_path / "README.md").write_text("x", encoding="utf-8")
    with pytest.raises(SourceNotFoundError):
        read_profiles(tmp_path)


# site= and strict=.


def test_site_argument_with_several_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="got 3 files"):
        read_profiles(DATA / "sites", site="x")


def test_site_argument_with_json_lines() -> None:
    with pytest.raises(InputError, match="not JSON Lines"):
        read_profiles(DATA / "profiles.jsonl", site="x")


def test_site_argument_reads_a_mapping_as_one_profile(tmp_path: Path) -> None:
    path = write(tmp_path / "x.json", '{"auth": {"rtt_version": "1", "supports": []}}')
    result = load(path, site="auth")
    assert result.profiles == {}
    assert result.report.rejects[0].field == "rtt_version"


def test_strict_raises_on_rejects(tmp_path: Path) -> None:
    path = write(tmp_path / "all.json", '{"a": {"rtt_version": "1", "supports": "x"}}')
    with pytest.raises(StrictLoadError) as info:
        read_profiles(path, strict=True)
    report = info.value.report
    assert isinstance(report, LoadReport)
    assert report.rejected == 1
    assert info.value.path == str(path)
    assert "1 record(s) rejected" in str(info.value)


def test_strict_raises_on_failed_files(tmp_path: Path) -> None:
    write(tmp_path / "a.json", '{"rtt_version": "1", "supports": []}')
    write(tmp_path / "b.yaml", "a: [")
    with pytest.raises(StrictLoadError, match="1 file\\(s\\) failed") as info:
        read_profiles(tmp_path, strict=True)
    assert isinstance(info.value.report, LoadReport)
    assert info.value.report.accepted == 1
    assert isinstance(info.value, LoadError)


def test_strict_single_file_failure_raises_the_load_error(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="file is empty") as info:
        read_profiles(write(tmp_path / "a.json", ""), strict=True)
    assert not isinstance(info.value, StrictLoadError)


def test_strict_clean_load_returns() -> None:
    result = read_profiles(DATA / "profiles.yaml", strict=True)
    check_accounting(result.report, result.profiles)
    assert list(result.profiles) == SITES


# profiles_frame.


def test_profiles_frame_columns_and_dtypes() -> None:
    frame = profiles_frame(load(DATA / "profiles.yaml").profiles)
    assert list(frame.columns) == list(PROFILE_COLUMNS)
    assert {c: str(t) for c, t in frame.dtypes.items()} == {
        c: str(pd.Series([], dtype=t).dtype)  # type: ignore[call-overload]
        for c, t in PROFILE_COLUMNS.items()
    }
    assert frame["site"].tolist() == SITES
    auth = frame.iloc[0]
    assert auth["supports"] == ["coherence", "drift"]
    assert auth["depends_on"] == ["db"]
    assert auth["tags"] == ["core"]
    assert auth["heartbeat_interval_s"] == 30.0
    assert auth["layer"] == "api"
    assert json.loads(auth["extra"]) == {"region": "eu"}
    db = frame.iloc[1]
    assert pd.isna(db["contact"])
    assert pd.isna(db["extra"])
    assert math.isnan(db["heartbeat_interval_s"])
    assert db["tags"] == []


def test_profiles_frame_is_a_copy() -> None:
    profiles = load(DATA / "profiles.json").profiles
    frame = profiles_frame(profiles)
    frame.iloc[0]["supports"].append("x")
    assert profiles["auth-service"].supports == ["coherence", "drift"]


def test_profiles_frame_empty() -> None:
    frame = profiles_frame({})
    assert list(frame.columns) == list(PROFILE_COLUMNS)
    assert len(frame) == 0
    assert str(frame["site"].dtype) == "string"
    assert str(frame["heartbeat_interval_s"].dtype) == "float64"


# Property: a mapping file written as JSON or YAML reads back the same profiles.

_names = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1)
_profile = st.fixed_dictionaries(
    {"rtt_version": st.from_regex(r"[0-9]{1,2}\.[0-9]{1,2}", fullmatch=True)},
    optional={
        "supports": st.lists(_names, max_size=3),
        "tags": st.lists(_names, max_size=3),
        "contact": _names,
        "heartbeat_interval_s": st.floats(min_value=0.001, max_value=1e6),
        "owner": _names,
    },
).map(lambda d: {"supports": [], **d})


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.dictionaries(_names, _profile, min_size=1, max_size=4), as_yaml=st.booleans())
def test_round_trip_mapping_file(
    tmp_path: Path, data: dict[str, dict[str, object]], as_yaml: bool
) -> None:
    data = {site: p for site, p in data.items() if not _MARKER_KEYS & {site}}
    if not data:
        return
    path = tmp_path / ("all.yaml" if as_yaml else "all.json")
    text = yaml.safe_dump(data, allow_unicode=True) if as_yaml else json.dumps(data)
    path.write_text(text, encoding="utf-8")
    result = load(path)
    assert result.report.ok
    assert {s: p.to_dict() for s, p in result.profiles.items()} == {
        s: Profile.model_validate(p).to_dict() for s, p in data.items()
    }


_MARKER_KEYS = frozenset({"rtt_version", "version", "supports"})


def test_a_line_of_answers_over_the_limit_is_quarantined(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rtt_topology.load import records

    monkeypatch.setattr(records, "MAX_LINE_BYTES", 1000)
    good = json.dumps({"site": "auth", "profile": {"rtt_version": "1.0", "supports": []}})
    long = json.dumps({"site": "big", "profile": {"tags": ["t" * 2000]}})
    path = tmp_path / "answers.jsonl"
    path.write_text(f"{good}\n{long}\n{good.replace('auth', 'api')}\n")
    profiles, report = read_profiles(path)
    assert sorted(profiles) == ["api", "auth"]
    [reject] = report.rejects
    assert reject.line == 2
    assert reject.reason == f"line longer than 1000 characters ({len(long)}): not read"
