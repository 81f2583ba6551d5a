from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rtt_topology.columns import BEACON_COLUMNS, validate_beacon_frame
from rtt_topology.errors import (
    FormatError,
    InputError,
    LoadError,
    SourceNotFoundError,
    StrictLoadError,
)
from rtt_topology.load import beacons_from_records, read_beacons
from rtt_topology.load import jsonl as jsonl_module

CONTENT = [c for c in BEACON_COLUMNS if c not in ("source", "line")]


def beacon(site: str = "auth", ts: str = "2026-01-19T15:00:00Z", **extra: object) -> str:
    record: dict[str, object] = {"site": site, "session": "s1", "event": "heartbeat", "ts": ts}
    record.update(extra)
    return json.dumps(record)


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def check_accounting(report) -> None:
    assert report.accepted + report.rejected == report.read
    assert report.rows == report.accepted - report.duplicates
    assert len(report.rejects) == report.rejected
    for stats in report.files:
        assert stats.accepted + stats.rejected == stats.read


# --- the same rows in every format ------------------------------------------------------


def test_reference_rows(same_rows: dict[str, Path]) -> None:
    beacons, report = read_beacons(same_rows["jsonl"])
    validate_beacon_frame(beacons)
    check_accounting(report)
    assert report.ok
    assert len(beacons) == 6
    assert beacons["site"].tolist() == [
        "auth-service", "auth-service", "auth-service", "dc-east", "shop.example.com",
        "shop.example.com",
    ]  # fmt: skip
    # Sorted by site then ts; the +02:00 offset is normalised to UTC.
    auth = beacons[beacons["site"] == "auth-service"]
    assert auth["ts"].dt.strftime("%H:%M:%S.%f").tolist() == [
        "15:00:00.000000", "15:00:30.250000", "15:01:00.000000",
    ]  # fmt: skip
    assert str(beacons["ts"].dt.tz) == "UTC"
    shop = beacons[beacons["site"] == "shop.example.com"].iloc[1]
    # A partial structure: missing counts are null, never 0.
    assert pd.isna(shop["nav_count"])
    assert shop["dom_nodes"] == 1260
    cluster = beacons[beacons["site"] == "dc-east"].iloc[0]
    assert json.loads(cluster["extra"]) == {"region": "east"}
    assert pd.isna(cluster["url"])
    assert beacons["line"].tolist() == [1, 4, 6, 2, 3, 5]


@pytest.mark.parametrize("fmt", ["json", "csv", "log", "jsonl.gz", "csv.gz", "parquet"])
def test_same_rows_in_every_format(same_rows: dict[str, Path], fmt: str) -> None:
    expected, _ = read_beacons(same_rows["jsonl"])
    got, report = read_beacons(same_rows[fmt])
    check_accounting(report)
    assert report.ok, report.summary()
    assert report.read == 6
    pd.testing.assert_frame_equal(got[CONTENT], expected[CONTENT])
    assert got["source"].astype(str).unique().tolist() == [str(same_rows[fmt])]


def test_log_lines_are_counted(same_rows: dict[str, Path]) -> None:
    beacons, report = read_beacons(same_rows["log"])
    stats = report.files[0]
    assert stats.format == "log"
    # Two ordinary lines and the "[RTT] heartbeat failed" line are skipped.
    assert stats.skipped_lines == 3
    # Line numbers point at the marker line of each entry.
    assert sorted(beacons["line"].tolist()) == [2, 17, 18, 20, 35, 37]


def test_directory_and_glob_and_list(same_rows: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("not beacons")
    beacons, report = read_beacons(tmp_path)
    check_accounting(report)
    assert len(report.files) == 7
    assert report.read == 42
    # Every file holds the same six beacons: one copy is kept, the rest are duplicates.
    assert len(beacons) == 6
    assert report.duplicates == 36
    assert report.duplicates_by_site == {"auth-service": 18, "dc-east": 6, "shop.example.com": 12}
    assert str(tmp_path / "notes.md") in report.ignored_files
    # The copy kept is the first one read (files in sorted order).
    assert set(beacons["source"].astype(str)) == {str(same_rows["csv"])}

    globbed, _ = read_beacons(str(tmp_path / "*.jsonl*"))
    assert globbed["source"].cat.categories.tolist() == sorted(
        [str(same_rows["jsonl"]), str(same_rows["jsonl.gz"])]
    )
    listed, report = read_beacons([same_rows["jsonl"], same_rows["csv"]])
    assert report.read == 12
    assert len(listed) == 6


# --- rejects and duplicates ------------------------------------------------------------

BAD_LINES = [
    ("{not json", None, "invalid JSON"),
    (beacon(ts="2026-01-19T15:00:00"), "ts", "naive timestamp"),
    (beacon(ts="yesterday"), "ts", "not an ISO 8601 timestamp"),
    (beacon(structure={"nav_count": -1}), "structure.nav_count", "negative count"),
    (beacon(structure={"nav_count": "7"}), "structure.nav_count", "expected an integer"),
    (beacon(structure={"nav_count": 7.5}), "structure.nav_count", "expected an integer"),
    (beacon(structure={"nav_count": True}), "structure.nav_count", "expected an integer"),
    (beacon(structure={"dom_nodes": 2**64}), "structure.dom_nodes", "out of range"),
    (beacon(structure="flat"), "structure", "expected an object"),
    (beacon(site=""), "site", "empty"),
    (beacon(site=12), "site", "expected a string"),
    ('{"session":"s","event":"heartbeat","ts":"2026-01-19T15:00:00Z"}', "site", "missing"),
    ('{"site":"a","event":"heartbeat","ts":"2026-01-19T15:00:00Z"}', "session", "missing"),
    ('{"site":"a","session":"s","ts":"2026-01-19T15:00:00Z"}', "event", "missing"),
    ('{"site":"a","session":"s","event":"heartbeat"}', "ts", "missing"),
    ('{"site":"a","site":"b","session":"s","event":"x","ts":"2026-01-19T15:00:00Z"}', "site",
     "duplicate key"),
    ('["site", "a"]', None, "expected a JSON object"),
    (beacon() + " " + beacon(), None, "Extra data"),
    (beacon(extra=float("nan")).replace("NaN", "NaN"), None, "NaN is not a JSON number"),
]  # fmt: skip


@pytest.mark.parametrize(("line", "field", "reason"), BAD_LINES)
def test_bad_line_is_quarantined(tmp_path: Path, line: str, field: str | None, reason: str) -> None:
    good = [beacon(ts=f"2026-01-19T15:00:{s:02d}Z") for s in range(0, 60, 10)]
    path = write(tmp_path / "b.jsonl", [*good[:3], line, *good[3:]])
    beacons, report = read_beacons(path)
    check_accounting(report)
    assert len(beacons) == 6
    assert report.read == 7
    assert report.rejected == 1
    reject = report.rejects[0]
    assert (reject.source, reject.line, reject.field) == (str(path), 4, field)
    assert reason in reject.reason
    assert reject.raw == line.strip()


def test_assume_utc_reads_naive_timestamps(tmp_path: Path) -> None:
    path = write(
        tmp_path / "b.jsonl", [beacon(ts="2026-01-19T15:00:00"), beacon(ts="2026-01-19T15:00:30Z")]
    )
    assert read_beacons(path).report.rejected == 1
    beacons, report = read_beacons(path, assume_utc=True)
    assert report.ok
    assert beacons["ts"].dt.strftime("%H:%M:%S").tolist() == ["15:00:00", "15:00:30"]


def test_duplicates_are_collapsed_and_counted(tmp_path: Path) -> None:
    line = beacon(ts="2026-01-19T15:00:00Z")
    other_event = line.replace("heartbeat", "startup")
    path = write(tmp_path / "b.jsonl", [line, line, other_event, line, beacon(site="b")])
    beacons, report = read_beacons(path)
    check_accounting(report)
    assert report.accepted == 5
    assert report.duplicates == 2
    assert report.duplicates_by_site == {"auth": 2}
    assert len(beacons) == 3
    # Same site and ts, different events: kept, ordered by session then event.
    assert beacons[beacons["site"] == "auth"]["event"].tolist() == ["heartbeat", "startup"]
    assert beacons[beacons["site"] == "auth"]["line"].tolist() == [1, 3]


def test_unknown_keys_are_kept(tmp_path: Path) -> None:
    lines = [
        beacon(region="eu", structure={"url": "internal://a", "theme": "dark", "nav_count": 0}),
        beacon(ts="2026-01-19T15:00:30Z"),
    ]
    beacons, report = read_beacons(write(tmp_path / "b.jsonl", lines))
    assert report.ok
    assert json.loads(beacons["extra"].iloc[0]) == {"region": "eu", "structure": {"theme": "dark"}}
    assert beacons["url"].iloc[0] == "internal://a"
    assert pd.isna(beacons["extra"].iloc[1])


def test_blank_lines_crlf_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    text = "\ufeff" + beacon() + "\r\n\r\n   \r\n" + beacon(ts="2026-01-19T15:00:30Z") + "\r\n\t\n"
    path.write_bytes(text.encode("utf-8"))
    beacons, report = read_beacons(path)
    check_accounting(report)
    assert report.ok
    assert report.read == 2
    assert report.files[0].skipped_lines == 3
    assert beacons["line"].tolist() == [1, 4]


def test_last_line_without_newline(tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    path.write_text(beacon() + "\n" + beacon(ts="2026-01-19T15:00:30Z"))
    beacons, report = read_beacons(path)
    assert report.read == 2
    assert len(beacons) == 2


def test_small_blocks_exercise_every_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Many blocks, lines cut across reads, bad lines in several blocks, unknown keys."""
    monkeypatch.setattr(jsonl_module, "BLOCK_BYTES", 4096)
    monkeypatch.setattr(jsonl_module, "_LINE_BY_LINE", 4)
    lines = []
    bad_lines = []
    for i in range(2000):
        ts = f"2026-01-19T{10 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z"
        if i % 97 == 5:
            lines.append(beacon(ts=ts)[:-3])
            bad_lines.append(i + 1)
        elif i % 89 == 7:
            lines.append(beacon(ts=ts, zone=i))
        else:
            lines.append(beacon(site=f"svc-{i % 7}", ts=ts))
    beacons, report = read_beacons(write(tmp_path / "b.jsonl", lines))
    check_accounting(report)
    assert [r.line for r in report.rejects] == bad_lines
    assert report.read == 2000
    assert len(beacons) == 2000 - len(bad_lines)
    assert beacons["extra"].notna().sum() == sum(
        1 for i in range(2000) if i % 89 == 7 and i % 97 != 5
    )
    assert report.files[0].slow_path > 0
    # Whatever the path, each beacon keeps its own line number.
    original = {i + 1: json.loads(line) for i, line in enumerate(lines) if i + 1 not in bad_lines}
    for row in beacons.sample(200, random_state=1).itertuples():
        assert original[row.line]["site"] == row.site


def test_a_line_longer_than_the_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonl_module, "BLOCK_BYTES", 256)
    long = beacon(ts="2026-01-19T15:00:30Z", note="x" * 2000)
    beacons, report = read_beacons(write(tmp_path / "b.jsonl", [beacon(), long, beacon(site="b")]))
    assert report.ok
    assert len(beacons) == 3


# --- files that cannot be read ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.jsonl", b"", "file is empty"),
        ("binary.jsonl", b"\x00\x01\x02PK\x03\x04" * 20, "binary data"),
        ("latin1.jsonl", '{"site": "caf\xe9"}\n'.encode("latin-1") * 2000, "not UTF-8"),
        ("array.jsonl", b'[\n  {"site": "a"}\n]', "holds a JSON array"),
        ("fake.gz", b"plain text", "not gzip"),
        ("fake.jsonl.gz", b'{"site": "a"}\n', "not gzip"),
        ("fake.parquet", b'{"site": "a"}\n', "not a Parquet file"),
        ("notes", b"hello world\n", "unknown format"),
        ("prose.json", b"hello", "not JSON"),
        ("header.csv", b"name,when\nx,y\n", "no site and ts columns"),
    ],
)
def test_unreadable_file_is_one_clear_error(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LoadError) as info:
        read_beacons(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)
    assert info.value.path == str(path)


def test_truncated_gzip(tmp_path: Path) -> None:
    data = gzip.compress(("\n".join(beacon(site=f"s{i}") for i in range(5000)) + "\n").encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(LoadError, match="truncated gzip"):
        read_beacons(path)


def test_a_bad_file_does_not_hide_the_others(tmp_path: Path) -> None:
    write(tmp_path / "a.jsonl", [beacon()])
    (tmp_path / "b.jsonl").write_bytes(b"")
    data = gzip.compress(("\n".join(beacon(site=f"s{i}") for i in range(5000)) + "\n").encode())
    (tmp_path / "c.jsonl.gz").write_bytes(data[:-40])
    beacons, report = read_beacons(tmp_path)
    assert len(beacons) == 1
    assert [f.source for f in report.failures] == [
        str(tmp_path / "b.jsonl"),
        str(tmp_path / "c.jsonl.gz"),
    ]
    check_accounting(report)
    assert not report.ok
    with pytest.raises(StrictLoadError) as info:
        read_beacons(tmp_path, strict=True)
    assert info.value.report.failures


def test_strict_refuses_rejects(tmp_path: Path) -> None:
    path = write(tmp_path / "b.jsonl", [beacon(), "{oops"])
    with pytest.raises(StrictLoadError, match="strict load refused") as info:
        read_beacons(path, strict=True)
    assert info.value.report.rejected == 1


def test_missing_sources(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match="no such file"):
        read_beacons(tmp_path / "nope.jsonl")
    with pytest.raises(SourceNotFoundError, match="glob matched no file"):
        read_beacons(str(tmp_path / "*.jsonl"))
    with pytest.raises(SourceNotFoundError, match="directory holds no"):
        read_beacons(tmp_path)
    with pytest.raises(FileNotFoundError):
        read_beacons(tmp_path / "nope.jsonl")
    with pytest.raises(InputError, match="unknown format"):
        read_beacons(tmp_path, format="xml")


def test_forced_format(tmp_path: Path) -> None:
    path = write(tmp_path / "export.dat", [beacon()])
    beacons, _ = read_beacons(path, format="jsonl")
    assert len(beacons) == 1
    # Without a suffix, the content decides.
    assert len(read_beacons(path).beacons) == 1


def test_parquet_flat_columns_and_types(tmp_path: Path) -> None:
    table = pa.table(
        {
            "site": pa.array(["a", "a", "b"]).dictionary_encode(),
            "session": ["s", "s", "s"],
            "event": ["heartbeat"] * 3,
            "ts": pa.array([1_768_834_800_000, 1_768_834_830_000, 1_768_834_800_000],
                           pa.timestamp("ms", tz="Europe/Paris")),
            "nav_count": pa.array([1.0, None, 2.5]),
            "dom_nodes": pa.array([1, 2, 3], pa.uint8()),
            "region": ["eu", None, "us"],
        }
    )  # fmt: skip
    path = tmp_path / "flat.parquet"
    pq.write_table(table, path)
    beacons, report = read_beacons(path)
    check_accounting(report)
    assert report.rejected == 1
    assert report.rejects[0].field == "structure.nav_count"
    assert report.rejects[0].line == 3
    assert beacons["nav_count"].tolist()[0] == 1
    assert pd.isna(beacons["nav_count"].tolist()[1])
    assert beacons["ts"].dt.strftime("%H:%M").tolist() == ["15:00", "15:00"]
    assert json.loads(beacons["extra"].iloc[0]) == {"region": "eu"}


def test_parquet_naive_timestamps(tmp_path: Path) -> None:
    table = pa.table(
        {"site": ["a"], "session": ["s"], "event": ["x"],
         "ts": pa.array([1_768_834_800_000], pa.timestamp("ms"))}
    )  # fmt: skip
    pq.write_table(table, tmp_path / "naive.parquet")
    _, report = read_beacons(tmp_path / "naive.parquet")
    assert report.rejects[0].reason.startswith("naive timestamp")
    beacons, report = read_beacons(tmp_path / "naive.parquet", assume_utc=True)
    assert report.ok
    assert beacons["ts"].iloc[0] == pd.Timestamp("2026-01-19T15:00:00Z")


def test_csv_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text(
        "site,session,event,ts,nav_count\n"
        "a,s,heartbeat,2026-01-19T15:00:00Z,1\n"
        "a,s,heartbeat,2026-01-19T15:00:30Z,one\n"
        "a,s,heartbeat,2026-01-19T15:01:00Z,1,extra\n"
        "a,s,heartbeat\n"
        '"b",s,"multi\nline",2026-01-19T15:00:00Z,\n'
        "a,s,heartbeat,2026-01-19T15:01:30Z,-2\n"
    )
    beacons, report = read_beacons(path)
    check_accounting(report)
    assert report.read == 6
    assert [(r.line, r.field) for r in report.rejects] == [
        (3, "structure.nav_count"), (4, None), (5, None), (8, "structure.nav_count"),
    ]  # fmt: skip
    assert beacons["event"].astype(str).tolist() == ["heartbeat", "multi\nline"]


def test_json_array_positions(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text("[\n  " + beacon() + ",\n  " + beacon(site="") + ',\n  {"oops": 1}\n]\n')
    _beacons, report = read_beacons(path)
    check_accounting(report)
    assert [(r.line, r.field) for r in report.rejects] == [(3, "site"), (4, "site")]
    broken = tmp_path / "broken.json"
    broken.write_text("[\n" + beacon() + ",\n{oops\n]")
    with pytest.raises(FormatError, match="line 3"):
        read_beacons(broken)


def test_progress_callback(same_rows: dict[str, Path]) -> None:
    seen: list[tuple[int, int, str]] = []
    read_beacons([same_rows["jsonl"], same_rows["csv"]], progress=lambda *a: seen.append(a))
    total = same_rows["jsonl"].stat().st_size + same_rows["csv"].stat().st_size
    assert seen[-1][:2] == (total, total)
    assert all(done <= total for done, _, _ in seen)


# --- records in memory ---------------------------------------------------------------------------


def test_records_in_memory_give_the_table_of_their_file(data_dir: Path) -> None:
    path = data_dir / "beacons" / "same_rows.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    from_file, file_report = read_beacons(path)
    from_memory, report = beacons_from_records(records)
    pd.testing.assert_frame_equal(
        from_memory.drop(columns="source"), from_file.drop(columns="source")
    )
    assert set(from_memory["source"].astype(str)) == {"<records>"}
    assert report.read == file_report.read == len(records)
    assert report.by_file()["format"].tolist() == ["records"]


def test_bad_records_in_memory_are_quarantined_by_position() -> None:
    good = {"site": "api", "session": "s1", "event": "heartbeat", "ts": "2026-01-19T15:00:00Z"}
    records = [
        good,
        dict(good),  # an exact duplicate: collapsed, not rejected
        {**good, "ts": "2026-01-19T15:00:30"},  # naive
        {**good, "ts": pd.Timestamp("2026-01-19T15:01:00Z")},  # not JSON
        {**good, "structure": {"dom_nodes": float("nan")}},  # NaN is not JSON
        ["not", "a", "mapping"],
        {**good, "site": ""},
    ]
    beacons, report = beacons_from_records(records, source="collector")  # type: ignore[arg-type]
    assert len(beacons) == 1
    assert report.read == 7
    assert report.accepted + report.rejected == report.read
    assert report.duplicates == 1
    assert [(r.source, r.line) for r in report.rejects] == [
        ("collector", n) for n in (3, 4, 5, 6, 7)
    ]
    reasons = [r.reason for r in report.rejects]
    assert "naive timestamp" in reasons[0]
    assert reasons[1].startswith("not a JSON object: Object of type Timestamp")
    assert reasons[2].startswith("not a JSON object: Out of range float values")
    with pytest.raises(StrictLoadError):
        beacons_from_records(records, strict=True)  # type: ignore[arg-type]
    assert beacons_from_records(records[2:3], assume_utc=True).report.rejected == 0


# --- Parquet that weighs little and decodes to much ---------------------------------------


def repeated(value: str, rows: int) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, np.int32)), pa.array([value]))


def test_parquet_with_too_many_rows_for_its_size(tmp_path: Path) -> None:
    path = tmp_path / "rows.parquet"
    rows = 3_000_000
    pq.write_table(
        pa.table({"site": repeated("a", rows), "ts": repeated("2026-01-19T15:00:00Z", rows)}), path
    )
    assert path.stat().st_size < 100_000
    with pytest.raises(LoadError, match=r"rows\.parquet: 3000000 rows in \d+ bytes: refused"):
        read_beacons(path)


def test_parquet_dictionary_that_decodes_out_of_proportion(tmp_path: Path) -> None:
    # One value of 1 MiB on 500,000 rows: 500 GB of text from a file of some 100 kB.
    path = tmp_path / "dict.parquet"
    rows = 500_000
    pq.write_table(
        pa.table({"site": repeated("x" * (1 << 20), rows), "ts": repeated("t", rows)}), path
    )
    with pytest.raises(LoadError, match=r"dict\.parquet: text columns decode to 524288\d+ bytes"):
        read_beacons(path)


def test_parquet_pages_that_decompress_out_of_proportion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rtt_topology.load import sources

    monkeypatch.setattr(sources, "GZIP_FREE_BYTES", 1 << 20)
    path = tmp_path / "pages.parquet"
    table = pa.table({"site": ["x" * (8 << 20)], "ts": ["2026-01-19T15:00:00Z"]})
    pq.write_table(table, path, compression="zstd", use_dictionary=False)
    with pytest.raises(LoadError, match=r"pages\.parquet: pages decompress to \d+ bytes"):
        read_beacons(path)


def test_parquet_within_bounds_reads_as_before(tmp_path: Path) -> None:
    path = tmp_path / "ok.parquet"
    table = pa.table(
        {
            "site": ["a", "b"],
            "session": ["s", "s"],
            "event": ["heartbeat", "heartbeat"],
            "ts": ["2026-01-19T15:00:00Z", "2026-01-19T15:00:30Z"],
            "structure": [{"url": "internal://a", "nav_count": 1}, {"url": None, "nav_count": 2}],
        }
    )
    pq.write_table(table, path)
    beacons, report = read_beacons(path)
    assert report.ok
    assert list(beacons["site"]) == ["a", "b"]
    assert list(beacons["url"].astype(object).fillna("-")) == ["internal://a", "-"]
    assert list(beacons["nav_count"]) == [1, 2]
