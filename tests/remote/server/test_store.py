"""The beacon store: durable appends, group commit, rotation, compression, reopen, lock."""

from __future__ import annotations

import asyncio
import gzip
import threading
from pathlib import Path

import pytest

from rtt_topology.errors import InputError, StoreError
from rtt_topology.load import read_beacons
from rtt_topology.remote.server.profile_store import ProfileStore
from rtt_topology.remote.server.store import BeaconStore, StoreStats
from tests.remote.server.store_lines import (
    Clock,
    RecordingOps,
    beacon_line,
    stored_lines,
    stored_sessions,
)


def _segments(store: BeaconStore, pattern: str = "beacons-*.jsonl*") -> list[Path]:
    return sorted(p for p in store.beacons_dir.rglob(pattern) if not p.name.endswith(".tmp"))


def test_append_returns_after_write_fsync_and_directory_fsync(tmp_path: Path) -> None:
    ops = RecordingOps()
    clock = Clock()
    store = BeaconStore(tmp_path, file_ops=ops, clock=clock)
    store.open()
    asyncio.run(store.append([beacon_line(1), beacon_line(2)]))
    # Read with plain open() while the store is still open: the bytes are in the file.
    segment = tmp_path / "beacons/2026-01-19/beacons-2026-01-19T23-0000.jsonl"
    assert segment.read_bytes() == beacon_line(1) + beacon_line(2)
    names = [name for name, _ in ops.calls]
    # The new file's directory is synced before its data is written, the data before the answer.
    assert names == ["fsync_dir", "fsync_dir", "open_append", "fsync_dir", "write", "fsync"]
    assert ops.calls[3] == ("fsync_dir", str(segment.parent))
    stats = store.stats()
    assert (stats.records, stats.batches, stats.fsyncs, stats.segments) == (2, 1, 1, 1)
    assert stats.bytes == segment.stat().st_size
    assert stats.healthy
    assert stats.open_segment == str(segment)
    store.append_blocking([beacon_line(3)])
    assert segment.read_bytes().endswith(beacon_line(3))
    assert ops.count("fsync") == 2
    assert ops.count("open_append") == 1
    store.close()


def test_concurrent_appends_share_fsyncs(tmp_path: Path) -> None:
    ops = RecordingOps()
    ops.fsync_delay_s = 0.005
    n = 300

    async def main(store: BeaconStore) -> None:
        await asyncio.gather(*(store.append([beacon_line(i)]) for i in range(n)))

    with BeaconStore(tmp_path, file_ops=ops) as store:
        asyncio.run(main(store))
        threads = [
            threading.Thread(target=store.append_blocking, args=([beacon_line(n + i)],))
            for i in range(40)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stats = store.stats()
    assert stats.records == n + 40
    # Group commit: one fsync per batch of waiting requests, far fewer than appends.
    assert stats.fsyncs == stats.batches < (n + 40) / 4
    assert sorted(stored_sessions(tmp_path)) == sorted(f"s{i}" for i in range(n + 40))


def test_rotation_by_size_keeps_whole_batches_and_numbers_segments(tmp_path: Path) -> None:
    size = len(beacon_line(0))
    with BeaconStore(tmp_path, segment_bytes=3 * size, clock=Clock()) as store:
        for i in range(7):
            store.append_blocking([beacon_line(i)])
        # A batch bigger than a segment goes alone into a fresh one.
        store.append_blocking([beacon_line(i) for i in range(7, 12)])
        store.append_blocking([beacon_line(12)])
        assert store.wait_compressed(10)
        stats = store.stats()
    names = [p.name for p in _segments(store)]
    assert names == [
        "beacons-2026-01-19T23-0000.jsonl.gz",
        "beacons-2026-01-19T23-0001.jsonl.gz",
        "beacons-2026-01-19T23-0002.jsonl.gz",
        "beacons-2026-01-19T23-0003.jsonl.gz",
        "beacons-2026-01-19T23-0004.jsonl",
    ]
    sizes = [len(gzip.decompress(p.read_bytes())) for p in _segments(store)[:-1]]
    big = sum(len(beacon_line(i)) for i in range(7, 12))
    assert sizes == [3 * size, 3 * size, size, big]
    assert big > 3 * size
    assert stats.segments == 5
    assert stats.compressed == 4
    assert stored_sessions(tmp_path) == [f"s{i}" for i in range(13)]


def test_rotation_by_hour_and_day(tmp_path: Path) -> None:
    clock = Clock()  # 23:30 UTC
    with BeaconStore(tmp_path, clock=clock) as store:
        store.append_blocking([beacon_line(1)])
        clock.advance(minutes=29, seconds=59)
        store.append_blocking([beacon_line(2)])
        clock.advance(seconds=1)  # midnight: a new hour and a new day directory
        store.append_blocking([beacon_line(3)])
        assert store.wait_compressed(10)
    assert [p.relative_to(store.beacons_dir).as_posix() for p in _segments(store)] == [
        "2026-01-19/beacons-2026-01-19T23-0000.jsonl.gz",
        "2026-01-20/beacons-2026-01-20T00-0000.jsonl",
    ]
    assert stored_sessions(tmp_path) == ["s1", "s2", "s3"]


def test_read_beacons_reads_the_store_as_it_is_exactly_once(tmp_path: Path) -> None:
    clock = Clock()
    n = 200

    async def burst(store: BeaconStore, start: int) -> None:
        await asyncio.gather(*(store.append([beacon_line(i)]) for i in range(start, start + 50)))

    profiles = ProfileStore(tmp_path)  # its files sit beside the segments
    profiles.put("auth-service", {"rtt_version": "1.0", "supports": []}, received_at=clock())
    with BeaconStore(tmp_path, segment_bytes=4096, clock=clock) as store:
        for start in range(0, n, 50):
            asyncio.run(burst(store, start))
            clock.advance(minutes=20)
        assert store.wait_compressed(10)
        # While open: closed segments are .gz, the open one .jsonl; both read.
        for source in (tmp_path, store.beacons_dir):
            beacons, report = read_beacons(source)
            assert (report.read, report.accepted, report.rejected) == (n, n, 0)
            assert sorted(beacons["session"]) == sorted(f"s{i}" for i in range(n))
            assert report.failures == []
            assert report.duplicates == 0
        ignored = {Path(name).name for name in read_beacons(tmp_path).report.ignored_files}
        assert {"server.lock", "profiles.yaml", "profiles.sqlite3"} <= ignored
    profiles.close()
    assert any(p.name.endswith(".gz") for p in _segments(store))
    assert sorted(stored_sessions(tmp_path)) == sorted(f"s{i}" for i in range(n))


def test_reopen_continues_in_a_new_segment_and_compresses_the_old(tmp_path: Path) -> None:
    clock = Clock()
    store = BeaconStore(tmp_path, clock=clock)
    assert not store.open().to_compress
    store.append_blocking([beacon_line(1)])
    store.close()
    store.close()  # twice is harmless
    assert not store.is_open
    assert store.stats().records == 1
    with pytest.raises(StoreError, match="not open"):
        store.append_blocking([beacon_line(2)])
    report = store.open()
    assert [p.name for p in report.to_compress] == ["beacons-2026-01-19T23-0000.jsonl"]
    assert report.clean
    assert report.segments == 1
    store.append_blocking([beacon_line(2)])
    assert store.wait_compressed(10)
    assert [p.name for p in _segments(store)] == [
        "beacons-2026-01-19T23-0000.jsonl.gz",
        "beacons-2026-01-19T23-0001.jsonl",
    ]
    assert store.stats().records == 1  # counters restart at each open
    store.close()
    assert stored_sessions(tmp_path) == ["s1", "s2"]


def test_open_twice_or_by_two_stores_is_refused(tmp_path: Path) -> None:
    first = BeaconStore(tmp_path)
    first.open()
    with pytest.raises(StoreError, match="already open"):
        first.open()
    second = BeaconStore(tmp_path)
    with pytest.raises(StoreError) as caught:
        second.open()
    assert caught.value.path == str(tmp_path)
    assert "another server holds this directory" in str(caught.value)
    assert isinstance(caught.value, OSError)
    first.close()
    second.open()  # the lock is free again
    second.close()


@pytest.mark.parametrize(
    "lines",
    [[b'{"a": 1}'], [b'{"a": 1}\n{"b": 2}\n'], [b"\n"], ['{"a": 1}\n'], [b'{"a":1}\n', b"x"]],
)
def test_lines_must_be_complete_lines(tmp_path: Path, lines: list[bytes]) -> None:
    with BeaconStore(tmp_path) as store:
        with pytest.raises(InputError, match="one complete line"):
            store.append_blocking(lines)
        with pytest.raises(InputError):
            asyncio.run(store.append(lines))
        store.append_blocking([])
        asyncio.run(store.append([]))
        assert store.stats().records == 0
    assert stored_lines(tmp_path) == []


def test_uncompressed_store_keeps_jsonl_and_needs_no_wait(tmp_path: Path) -> None:
    size = len(beacon_line(0))
    with BeaconStore(tmp_path, segment_bytes=size, compress=False) as store:
        for i in range(3):
            store.append_blocking([beacon_line(i)])
        assert store.wait_compressed(0)
    assert [p.suffix for p in _segments(store)] == [".jsonl"] * 3


def test_fsync_off_writes_without_syncing(tmp_path: Path) -> None:
    ops = RecordingOps()
    with BeaconStore(tmp_path, fsync=False, file_ops=ops) as store:
        store.append_blocking([beacon_line(1)])
        assert store.stats().fsyncs == 0
    assert ops.count("fsync") == 0
    assert ops.count("fsync_dir") == 0
    assert stored_sessions(tmp_path) == ["s1"]


def test_stats_before_open_and_bad_segment_size(tmp_path: Path) -> None:
    assert BeaconStore(tmp_path).stats() == StoreStats()
    with pytest.raises(InputError, match="segment_bytes"):
        BeaconStore(tmp_path, segment_bytes=0)


def test_cancelled_append_does_not_break_the_writer(tmp_path: Path) -> None:
    ops = RecordingOps()
    gate = threading.Event()
    ops.fsync_gate = gate

    async def main(store: BeaconStore) -> None:
        task = asyncio.create_task(store.append([beacon_line(1)]))
        await asyncio.sleep(0.01)
        task.cancel()
        gate.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        await store.append([beacon_line(2)])

    with BeaconStore(tmp_path, file_ops=ops) as store:
        asyncio.run(main(store))
    # A cancelled request was not acknowledged, but its bytes may be (and here are) stored.
    assert stored_sessions(tmp_path) == ["s1", "s2"]


def test_a_block_of_lines_is_appended_as_its_lines(tmp_path: Path) -> None:
    with BeaconStore(tmp_path) as store:
        store.append_block_blocking(b'{"a":1}\n{"a":2}\n', 2)
        with pytest.raises(InputError, match="2 complete lines"):
            store.append_block_blocking(b'{"a":3}\n{"a":4}', 2)
        store.append_block_blocking(b"", 0)
    stored = b"".join(
        gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        for path in sorted((tmp_path / "beacons").rglob("*.jsonl*"))
    )
    assert stored == b'{"a":1}\n{"a":2}\n'
