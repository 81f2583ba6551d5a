"""Repair on open: torn tails, leftover temporary files, duplicate pairs, old segments."""

from __future__ import annotations

import errno
import gzip
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtt_topology.load import read_beacons
from rtt_topology.remote.server.fileops import FileOps
from rtt_topology.remote.server.segments import (
    compress_segment,
    gz_matches,
    next_segment_path,
    repair,
)
from rtt_topology.remote.server.store import BeaconStore
from tests.remote.server.store_lines import Clock, RecordingOps, beacon_line, stored_sessions

DAY = "2026-01-19"


def _segment(root: Path, hour: int, seq: int, data: bytes, *, gz: bool = False) -> Path:
    folder = root / "beacons" / DAY
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"beacons-{DAY}T{hour:02d}-{seq:04d}.jsonl"
    if gz:
        path = path.with_name(path.name + ".gz")
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def test_open_repairs_every_kind_of_leftover(tmp_path: Path) -> None:
    lines = [beacon_line(i) for i in range(6)]
    torn = _segment(tmp_path, 10, 0, lines[0] + lines[1] + lines[2][:25])
    done_raw = _segment(tmp_path, 11, 0, lines[3])
    _segment(tmp_path, 11, 0, lines[3], gz=True)  # complete .gz: the .jsonl goes
    bad_raw = _segment(tmp_path, 12, 0, lines[4])
    bad_gz = _segment(tmp_path, 12, 0, lines[4], gz=True)
    bad_gz.write_bytes(bad_gz.read_bytes()[:-6])  # truncated .gz: the .gz goes
    tmp = bad_raw.with_name("beacons-2026-01-19T13-0000.jsonl.gz.tmp")
    tmp.write_bytes(b"\x1f\x8b partial")
    empty = _segment(tmp_path, 14, 0, b"")
    _segment(tmp_path, 9, 0, lines[5], gz=True)

    store = BeaconStore(tmp_path, clock=Clock())
    report = store.open()
    assert report.torn == ((torn, 25),)
    assert report.removed_tmp == (tmp,)
    assert set(report.removed_duplicates) == {done_raw, bad_gz}
    assert report.removed_empty == (empty,)
    assert report.to_compress == (torn, bad_raw)
    assert not report.clean
    assert report.segments == 4
    assert store.wait_compressed(10)
    store.close()

    assert (tmp_path / "beacons" / f"{torn.name}.torn").read_bytes() == lines[2][:25]
    assert sorted(p.name for p in (tmp_path / "beacons" / DAY).iterdir()) == [
        f"beacons-{DAY}T09-0000.jsonl.gz",
        f"beacons-{DAY}T10-0000.jsonl.gz",
        f"beacons-{DAY}T11-0000.jsonl.gz",
        f"beacons-{DAY}T12-0000.jsonl.gz",
    ]
    beacons, load = read_beacons(tmp_path)
    assert sorted(beacons["session"]) == ["s0", "s1", "s3", "s4", "s5"]
    assert load.rejected == 0
    assert load.failures == []
    # A repaired store opens clean the next time.
    assert store.open().clean
    store.close()


def test_a_torn_tail_is_never_fatal_to_the_loader(tmp_path: Path) -> None:
    # What a reader sees if it reads a crashed store before the server restarts.
    _segment(tmp_path, 10, 0, beacon_line(1) + beacon_line(2)[:30])
    beacons, report = read_beacons(tmp_path)
    assert list(beacons["session"]) == ["s1"]
    assert report.rejected == 1


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(min_value=0, max_value=8),
    cut=st.integers(min_value=0, max_value=10_000),
)
def test_repair_keeps_exactly_the_complete_lines(count: int, cut: int) -> None:
    data = b"".join(beacon_line(i) for i in range(count))
    cut = min(cut, len(data))
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        segment = _segment(root, 10, 0, data[:cut])
        report = repair(root / "beacons", FileOps())
        whole = data[:cut].rfind(b"\n") + 1
        torn_file = root / "beacons" / f"{segment.name}.torn"
        if cut == 0:
            assert report.removed_empty == (segment,)
            assert not segment.exists()
            return
        assert segment.read_bytes() == data[:whole]
        assert report.to_compress == (segment,)
        if whole == cut:
            assert report.torn == ()
            assert not torn_file.exists()
        else:
            assert report.torn == ((segment, cut - whole),)
            assert segment.read_bytes() + torn_file.read_bytes() == data[:cut]
        if whole:
            assert compress_segment(segment, FileOps()) is not None
            assert len(stored_sessions(root)) == data[:whole].count(b"\n")


def test_compress_segment_replaces_the_file_and_drops_empty_ones(tmp_path: Path) -> None:
    data = beacon_line(1) + beacon_line(2)
    segment = _segment(tmp_path, 10, 0, data)
    target = compress_segment(segment, FileOps())
    assert target == segment.with_name(segment.name + ".gz")
    assert gzip.decompress(target.read_bytes()) == data
    assert not segment.exists()
    empty = _segment(tmp_path, 10, 1, b"")
    assert compress_segment(empty, FileOps()) is None
    assert not empty.exists()


def test_gz_matches_only_an_exact_complete_copy(tmp_path: Path) -> None:
    raw = _segment(tmp_path, 10, 0, beacon_line(1) + beacon_line(2))
    packed = raw.with_name(raw.name + ".gz")
    packed.write_bytes(gzip.compress(raw.read_bytes()))
    assert gz_matches(packed, raw)
    packed.write_bytes(gzip.compress(beacon_line(1)))
    assert not gz_matches(packed, raw)
    packed.write_bytes(gzip.compress(raw.read_bytes() + b"x"))
    assert not gz_matches(packed, raw)
    packed.write_bytes(b"not gzip at all")
    assert not gz_matches(packed, raw)


def test_segment_numbers_are_never_reused(tmp_path: Path) -> None:
    clock = Clock()
    _segment(tmp_path, 23, 7, beacon_line(1), gz=True)
    leftover = tmp_path / "beacons" / DAY / f"beacons-{DAY}T23-0009.jsonl.gz.tmp"
    leftover.write_bytes(b"")
    assert next_segment_path(tmp_path / "beacons", clock()).name == f"beacons-{DAY}T23-0010.jsonl"
    with BeaconStore(tmp_path, clock=clock) as store:  # the repair removes the .tmp first
        store.append_blocking([beacon_line(2)])
        assert store.stats().open_segment.endswith("T23-0008.jsonl")  # type: ignore[union-attr]


@pytest.mark.parametrize("operation", ["open_new", "fsync", "rename", "fsync_dir", "unlink"])
def test_a_compression_stopped_at_any_step_is_finished_by_the_repair(
    tmp_path: Path, operation: str
) -> None:
    data = b"".join(beacon_line(i) for i in range(50))
    segment = _segment(tmp_path, 10, 0, data)
    ops = RecordingOps()
    ops.fail[operation] = errno.EIO
    with pytest.raises(OSError, match="injected"):
        compress_segment(segment, ops)
    report = repair(tmp_path / "beacons", FileOps())
    if operation in ("fsync_dir", "unlink"):
        # Stopped after the rename: the complete .gz wins, the .jsonl goes.
        assert report.removed_duplicates == (segment,)
        assert report.to_compress == ()
    else:
        assert report.to_compress == (segment,)
        compress_segment(segment, FileOps())
    assert [p.name for p in (tmp_path / "beacons" / DAY).iterdir()] == [segment.name + ".gz"]
    assert stored_sessions(tmp_path) == [f"s{i}" for i in range(50)]
