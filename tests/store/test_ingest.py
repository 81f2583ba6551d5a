from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from rtt_topology.errors import InputError, SourceNotFoundError, StoreError
from rtt_topology.load import read_beacons
from rtt_topology.load.store import STORE_MARKER, STORE_SCHEMA, store_files
from rtt_topology.remote.server.segments import segment_name
from rtt_topology.store import IngestResult, ingest, read_rejects, store_info
from rtt_topology.store import layout as layout_module
from rtt_topology.store.layout import locked
from tests import DEMO
from tests.store.conftest import beacon, snapshot, write


def test_demo_store_reads_back_as_the_demo(
    demo_store: tuple[Path, IngestResult], demo_load
) -> None:
    root, result = demo_store
    stored = read_beacons(root)
    pd.testing.assert_frame_equal(stored.beacons, demo_load.beacons)
    # The ingest accounts for the records exactly as read_beacons does.
    assert result.report.read == demo_load.report.read
    assert result.report.rejected == demo_load.report.rejected
    assert result.report.duplicates == demo_load.report.duplicates > 0
    assert result.report.duplicates_by_site == demo_load.report.duplicates_by_site
    assert result.rows == len(demo_load.beacons) == stored.report.accepted
    assert result.days == ("2026-01-19",)


def test_part_files_follow_the_layout(demo_store: tuple[Path, IngestResult]) -> None:
    root, result = demo_store
    assert json.loads((root / STORE_MARKER).read_text()) == {
        "format": "rtt-topology-store",
        "version": 1,
    }
    files = store_files(root)
    assert files
    assert all(f.parent.name == "day=2026-01-19" for f in files)
    assert all(f.name.startswith(f"part-{result.ingest_id}-") for f in files)
    for f in files:
        table = pq.read_table(f)
        assert table.schema == STORE_SCHEMA
        assert table.schema.field("ts").type.unit == "us"
        assert str(table.schema.field("ts").type.tz) == "UTC"
        frame = table.select(["site", "ts"]).to_pandas()
        assert frame.equals(frame.sort_values(["site", "ts"], kind="stable"))
    manifest = json.loads((root / "ingests" / f"{result.ingest_id}.json").read_text())
    assert {Path(f["path"]).name for f in manifest["files"]} >= {
        "dc-east.jsonl.gz",
        "dc-west.jsonl.gz",
    }
    assert all(len(f["sha256"]) == 64 and f["size"] > 0 for f in manifest["files"])


def test_ingesting_again_adds_nothing(tmp_path: Path) -> None:
    root = tmp_path / "store"
    first = ingest(DEMO / "beacons", root)
    before = snapshot(root)
    again = ingest(DEMO / "beacons", root)
    assert again.ingest_id is None
    assert sorted(again.skipped) == sorted(f["path"] for f in _files(root, first))
    assert again.report.read == 0
    assert snapshot(root) == before


def _files(root: Path, result: IngestResult) -> list[dict[str, object]]:
    manifest = json.loads((root / "ingests" / f"{result.ingest_id}.json").read_text())
    files: list[dict[str, object]] = manifest["files"]
    return files


def test_overlapping_files_collapse_across_files_and_ingests(tmp_path: Path) -> None:
    a = write(tmp_path / "a.jsonl", [beacon(ts=f"2026-01-19T15:0{i}:00Z") for i in range(4)])
    # b repeats two rows of a (one twice) and adds one, on another day.
    b = write(
        tmp_path / "b.jsonl",
        [beacon(ts="2026-01-19T15:01:00Z"), beacon(ts="2026-01-19T15:02:00Z"),
         beacon(ts="2026-01-19T15:02:00Z"), beacon(ts="2026-01-20T00:00:00Z")],
    )  # fmt: skip
    root = tmp_path / "store"
    both = ingest([a, b], root)
    assert (both.report.accepted, both.report.duplicates, both.rows) == (8, 3, 5)
    assert both.report.duplicates_by_site == {"auth": 3}
    assert both.days == ("2026-01-19", "2026-01-20")
    # The first read wins: a's rows keep their source.
    table = read_beacons(root).beacons
    assert table["source"].astype(str).tolist() == [str(a)] * 4 + [str(b)]
    # A later file that overlaps the store only adds what is new.
    c = write(tmp_path / "c.jsonl", [beacon(ts="2026-01-19T15:03:00Z"), beacon(site="db")])
    later = ingest(c, root)
    assert (later.report.duplicates, later.rows) == (1, 1)
    assert store_info(root).beacons == 6
    assert read_beacons(root).beacons.equals(read_beacons([a, b, c]).beacons)


def test_rejects_are_kept_in_the_store(tmp_path: Path) -> None:
    path = write(
        tmp_path / "bad.jsonl",
        [
            beacon(),
            "{not json",
            beacon(ts="2026-01-19T15:00:00"),
            beacon(ts="2026-01-19T15:05:00Z"),
        ],
    )
    root = tmp_path / "store"
    result = ingest(path, root)
    assert (result.report.read, result.report.rejected, result.rows) == (4, 2, 2)
    rejects = read_rejects(root)
    assert rejects["line"].tolist() == [2, 3]
    assert rejects["field"].isna().tolist() == [True, False]
    assert rejects["field"].iloc[1] == "ts"
    assert rejects["reason"].str.contains("invalid JSON").iloc[0]
    assert "naive timestamp" in rejects["reason"].iloc[1]
    assert rejects["text"].iloc[0] == "{not json"
    assert set(rejects["ingest"]) == {result.ingest_id}
    assert store_info(root).rejects == 2


def test_a_file_of_rejects_only_is_recorded(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.jsonl", ["{not json"])
    root = tmp_path / "store"
    result = ingest(path, root)
    assert result.ingest_id is not None
    assert result.rows == 0
    assert ingest(path, root).skipped == (str(path),)
    assert len(read_rejects(root)) == 1


def test_a_failed_publish_leaves_the_store_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "store"
    ingest(write(tmp_path / "a.jsonl", [beacon()]), root)
    before = snapshot(root)
    real = layout_module.write_durable

    def failing(path: Path, data: bytes) -> None:
        if path.parent.name == "ingests":
            raise OSError("disk full")
        real(path, data)

    monkeypatch.setattr(layout_module, "write_durable", failing)
    new = write(tmp_path / "b.jsonl", [beacon(ts=f"2026-01-2{i}T00:00:00Z") for i in range(3)])
    with pytest.raises(OSError, match="disk full"):
        ingest(new, root)
    assert snapshot(root) == before
    assert len(read_beacons(root).beacons) == 1


def test_a_crash_mid_publish_is_rolled_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "store"
    ingest(write(tmp_path / "a.jsonl", [beacon()]), root)
    before = snapshot(root)
    real = layout_module.write_durable

    class Crash(BaseException):
        pass

    def crashing(path: Path, data: bytes) -> None:
        if path.parent.name == "ingests":
            raise Crash
        real(path, data)

    # A crash runs no clean-up: files renamed in, the journal and the staging stay.
    monkeypatch.setattr(layout_module, "write_durable", crashing)
    monkeypatch.setattr(layout_module, "_roll_back", lambda *args: None)
    monkeypatch.setattr("shutil.rmtree", lambda *args, **kwargs: None)
    new = write(tmp_path / "b.jsonl", [beacon(ts="2026-01-21T00:00:00Z")])
    with pytest.raises(Crash):
        ingest(new, root)
    monkeypatch.undo()
    assert list(root.glob(".publishing-*.json"))
    assert len(store_files(root)) == 1  # the published part of a is all readers see
    assert len(read_beacons(root).beacons) == 1
    # The next ingest rolls the crashed one back before it starts.
    result = ingest(write(tmp_path / "c.jsonl", [beacon(site="db")]), root)
    assert len(result.rolled_back) == 1
    after = snapshot(root)
    assert set(before) <= set(after)
    assert not [p for p in after if p.startswith(".") or "2026-01-21" in p]
    assert read_beacons(root).beacons["site"].astype(str).tolist() == ["auth", "db"]


def test_one_ingest_at_a_time(tmp_path: Path) -> None:
    root = tmp_path / "store"
    path = write(tmp_path / "a.jsonl", [beacon()])
    ingest(path, root)
    with locked(root), pytest.raises(StoreError, match="another ingest"):
        ingest(write(tmp_path / "b.jsonl", [beacon(site="db")]), root)


def test_a_directory_that_is_not_a_store_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not a history store and not empty"):
        ingest(write(tmp_path / "in" / "a.jsonl", [beacon()]), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "notes.txt"]


def test_a_missing_source_changes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "store"
    ingest(write(tmp_path / "a.jsonl", [beacon()]), root)
    before = snapshot(root)
    with pytest.raises(SourceNotFoundError):
        ingest(tmp_path / "nope.jsonl", root)
    assert snapshot(root) == before


def test_nanoseconds_are_cut_to_microseconds(tmp_path: Path) -> None:
    path = write(
        tmp_path / "a.jsonl",
        [beacon(ts="2026-01-19T15:00:00.123456789Z"), beacon(ts="2026-01-19T15:00:00.123456001Z")],
    )
    root = tmp_path / "store"
    result = ingest(path, root)
    assert (result.report.duplicates, result.rows) == (1, 1)
    assert read_beacons(root).beacons["ts"].iloc[0] == pd.Timestamp("2026-01-19T15:00:00.123456Z")


def test_a_server_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "server"
    hour = datetime(2026, 1, 19, 15, tzinfo=UTC)
    day = data / "beacons" / "2026-01-19"
    day.mkdir(parents=True)
    closed = [beacon(ts=f"2026-01-19T15:0{i}:00Z") for i in range(3)]
    with gzip.open(day / (segment_name(hour, 0) + ".gz"), "wt") as out:
        out.write("\n".join(closed) + "\n")
    write(day / segment_name(hour, 1), [beacon(site="db", ts="2026-01-19T15:59:00Z")])
    (data / "server.lock").write_text("")
    (data / "profiles.yaml").write_text("{}\n")
    root = tmp_path / "store"
    result = ingest(data, root)
    assert (result.report.read, result.rows, len(result.report.files)) == (4, 4, 2)
    assert read_beacons(root).beacons.equals(read_beacons(data).beacons)
    # The open segment grows, then is compressed: only its new line is added.
    grown = [
        beacon(site="db", ts="2026-01-19T15:59:00Z"),
        beacon(site="db", ts="2026-01-19T16:00:00Z"),
    ]
    (day / segment_name(hour, 1)).unlink()
    with gzip.open(day / (segment_name(hour, 1) + ".gz"), "wt") as out:
        out.write("\n".join(grown) + "\n")
    again = ingest(data, root)
    assert (again.skipped, again.report.duplicates, again.rows) == (
        (str(day / (segment_name(hour, 0) + ".gz")),),
        1,
        1,
    )
    assert store_info(root).beacons == 5


def test_part_files_written_a_row_group_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_load
) -> None:
    from rtt_topology.store import stage

    monkeypatch.setattr(stage, "ROW_GROUP", 1000)
    root = tmp_path / "store"
    ingest(DEMO / "beacons", root)
    assert max(pq.ParquetFile(f).num_row_groups for f in store_files(root)) > 5
    pd.testing.assert_frame_equal(read_beacons(root).beacons, demo_load.beacons)


def test_a_store_inside_its_sources_is_not_read_back(tmp_path: Path) -> None:
    write(tmp_path / "a.jsonl", [beacon()])
    root = tmp_path / "store"
    ingest(tmp_path, root)
    write(tmp_path / "b.jsonl", [beacon(site="db")])
    again = ingest(tmp_path, root)
    assert [Path(f.source).name for f in again.report.files] == ["b.jsonl"]
    assert again.skipped == (str(tmp_path / "a.jsonl"),)
    assert len(read_beacons(root).beacons) == 2


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ('{"format": "rtt-topology-store", "version": 99}', "store version 99"),
        ('{"format": "other"}', "not a rtt-topology-store marker"),
        ("{nope", "unreadable store marker"),
    ],
)
def test_a_foreign_marker_is_refused(tmp_path: Path, marker: str, message: str) -> None:
    root = tmp_path / "store"
    root.mkdir()
    (root / STORE_MARKER).write_text(marker)
    with pytest.raises(InputError, match=message):
        ingest(write(tmp_path / "a.jsonl", [beacon()]), root)
