"""The store when writes, fsyncs and compressions fail: StoreError, no lost acknowledgement."""

from __future__ import annotations

import asyncio
import errno
import threading
from datetime import datetime
from pathlib import Path

import pytest

from rtt_topology.errors import StoreError
from rtt_topology.load import read_beacons
from rtt_topology.remote.server.store import BeaconStore
from tests.remote.server.store_lines import Clock, RecordingOps, beacon_line, stored_sessions


def _store(tmp_path: Path, ops: RecordingOps, **options: object) -> BeaconStore:
    store = BeaconStore(tmp_path, file_ops=ops, clock=Clock(), **options)  # type: ignore[arg-type]
    store.open()
    return store


@pytest.mark.parametrize("operation", ["write", "fsync"])
def test_failed_batch_raises_and_the_next_goes_to_a_new_segment(
    tmp_path: Path, operation: str
) -> None:
    ops = RecordingOps()
    store = _store(tmp_path, ops, compress=False)
    store.append_blocking([beacon_line(1)])
    first = store.stats().open_segment
    ops.fail[operation] = errno.ENOSPC if operation == "write" else errno.EIO
    with pytest.raises(StoreError) as caught:
        store.append_blocking([beacon_line(2)])
    assert caught.value.path == first
    assert "nothing of this batch was acknowledged" in str(caught.value)
    assert isinstance(caught.value.__cause__, OSError)
    with pytest.raises(StoreError):
        asyncio.run(store.append([beacon_line(3)]))
    del ops.fail[operation]
    stats = store.stats()
    assert stats.failures == 2
    assert not stats.healthy
    assert stats.last_error
    store.append_blocking([beacon_line(4)])
    stats = store.stats()
    assert stats.healthy
    assert stats.open_segment not in (None, first)
    store.close()
    # The failed batches were cut off the segment: only acknowledged lines are stored.
    assert stored_sessions(tmp_path) == ["s1", "s4"]
    assert Path(first or "").read_bytes() == beacon_line(1)


def test_short_write_then_full_disk_leaves_no_partial_line(tmp_path: Path) -> None:
    ops = RecordingOps()
    store = _store(tmp_path, ops)
    store.append_blocking([beacon_line(1)])
    ops.fail["write"] = errno.ENOSPC
    ops.short_write = 10
    with pytest.raises(StoreError, match=r"No space|ENOSPC"):
        store.append_blocking([beacon_line(2), beacon_line(3)])
    del ops.fail["write"]
    store.append_blocking([beacon_line(4)])
    assert store.wait_compressed(10)
    store.close()
    assert stored_sessions(tmp_path) == ["s1", "s4"]
    assert not list(tmp_path.rglob("*.torn"))


def test_partial_line_left_by_a_failed_truncate_is_cut_at_the_next_open(tmp_path: Path) -> None:
    ops = RecordingOps()
    store = _store(tmp_path, ops, compress=False)
    store.append_blocking([beacon_line(1)])
    ops.fail["write"] = errno.ENOSPC
    ops.fail["truncate"] = errno.EIO
    ops.short_write = 10
    with pytest.raises(StoreError):
        store.append_blocking([beacon_line(2)])
    ops.fail.clear()
    store.append_blocking([beacon_line(3)])
    store.close()
    report = store.open()
    assert [(p.name, cut) for p, cut in report.torn] == [("beacons-2026-01-19T23-0000.jsonl", 10)]
    assert store.wait_compressed(10)
    store.close()
    torn = tmp_path / "beacons" / "beacons-2026-01-19T23-0000.jsonl.torn"
    assert torn.read_bytes() == beacon_line(2)[:10]
    beacons, load = read_beacons(tmp_path)
    assert sorted(beacons["session"]) == ["s1", "s3"]
    assert load.rejected == 0


def test_every_request_of_a_failed_batch_gets_store_error(tmp_path: Path) -> None:
    ops = RecordingOps()
    gate = threading.Event()
    ops.fsync_gate = gate
    store = _store(tmp_path, ops, compress=False)

    async def main() -> list[BaseException | None]:
        first = asyncio.create_task(store.append([beacon_line(0)]))
        await asyncio.sleep(0.05)  # the writer now waits in the first fsync
        rest = [asyncio.create_task(store.append([beacon_line(i)])) for i in range(1, 6)]
        await asyncio.sleep(0.05)  # all five wait in the queue: one batch
        ops.fail["write"] = errno.ENOSPC
        gate.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)

    results = asyncio.run(main())
    assert results[0] is None
    assert all(isinstance(r, StoreError) for r in results[1:])
    assert len({id(r) for r in results[1:]}) == 5  # one exception object each
    stats = store.stats()
    assert (stats.batches, stats.failures, stats.records) == (1, 1, 1)
    ops.fail.clear()
    store.close()
    assert stored_sessions(tmp_path) == ["s0"]


def test_a_new_segment_that_cannot_be_created_fails_the_batch(tmp_path: Path) -> None:
    ops = RecordingOps()
    store = _store(tmp_path, ops)
    ops.fail["open_append"] = errno.ENOSPC
    with pytest.raises(StoreError, match="cannot open a new segment") as caught:
        store.append_blocking([beacon_line(1)])
    assert caught.value.path == str(store.beacons_dir)
    del ops.fail["open_append"]
    ops.fail["fsync_dir"] = errno.EIO  # created, but its directory entry cannot be synced
    with pytest.raises(StoreError):
        store.append_blocking([beacon_line(2)])
    del ops.fail["fsync_dir"]
    store.append_blocking([beacon_line(3)])
    assert store.stats().failures == 2
    store.close()
    # The empty file of the second failure is removed at the next open.
    report = store.open()
    assert [p.name for p in report.removed_empty] == ["beacons-2026-01-19T23-0000.jsonl"]
    store.close()
    assert stored_sessions(tmp_path) == ["s3"]


def test_failed_compression_keeps_the_segment_and_is_retried_at_open(tmp_path: Path) -> None:
    ops = RecordingOps()
    size = len(beacon_line(0))
    store = _store(tmp_path, ops, segment_bytes=size)
    ops.fail["rename"] = errno.EIO
    store.append_blocking([beacon_line(1)])
    store.append_blocking([beacon_line(2)])  # closes the first segment: its compression fails
    assert store.wait_compressed(10)
    stats = store.stats()
    assert stats.compress_failures == 1
    assert stats.compressed == 0
    assert "compression failed" in (stats.last_error or "")
    store.close()
    ops.fail.clear()
    assert len(list(tmp_path.rglob("*.gz.tmp"))) == 1
    report = store.open()
    assert len(report.removed_tmp) == 1
    assert len(report.to_compress) == 2
    assert store.wait_compressed(10)
    store.close()
    assert sorted(p.name for p in tmp_path.rglob("beacons-*")) == [
        "beacons-2026-01-19T23-0000.jsonl.gz",
        "beacons-2026-01-19T23-0001.jsonl.gz",
    ]
    assert stored_sessions(tmp_path) == ["s1", "s2"]


class _FlakyDisk(RecordingOps):
    """Every third write stores a few bytes, then reports a full disk."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, fd: int, data: bytes | memoryview) -> int:
        self.writes += 1
        if self.writes % 3 == 0:
            super().write(fd, data[:7])
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(fd, data)


def test_acknowledged_lines_survive_intermittent_failures(tmp_path: Path) -> None:
    """Many writers while writes keep failing: acknowledged <= stored, each line once."""
    ops = _FlakyDisk()
    store = _store(tmp_path, ops, segment_bytes=2048)
    acknowledged: list[str] = []
    refused = 0

    async def send(i: int) -> None:
        nonlocal refused
        try:
            await store.append([beacon_line(i)])
            acknowledged.append(f"s{i}")
        except StoreError:
            refused += 1

    async def main() -> None:
        for start in range(0, 400, 40):
            await asyncio.gather(*(send(i) for i in range(start, start + 40)))
            await asyncio.sleep(0)

    asyncio.run(main())
    assert store.wait_compressed(10)
    stats = store.stats()
    store.close()
    assert refused > 0
    assert acknowledged
    assert stats.failures > 0
    assert stats.records == len(acknowledged)
    stored = stored_sessions(tmp_path)
    # The partial bytes of failed batches were cut: exactly the acknowledged lines remain.
    assert sorted(stored) == sorted(acknowledged)
    beacons, report = read_beacons(tmp_path)
    assert report.rejected == 0
    assert len(beacons) == len(acknowledged)


def test_an_unexpected_error_in_the_writer_fails_the_batch_and_the_writer_goes_on(
    tmp_path: Path,
) -> None:
    clock = Clock()
    broken = [True]

    def flaky_clock() -> datetime:
        if broken.pop() if broken else False:
            raise RuntimeError("clock went away")
        return clock()

    with BeaconStore(tmp_path, clock=flaky_clock) as store:
        with pytest.raises(StoreError, match="clock went away"):
            store.append_blocking([beacon_line(1)])
        store.append_blocking([beacon_line(2)])
        assert store.stats().failures == 1
    assert stored_sessions(tmp_path) == ["s2"]
