"""Group commit: one writer thread appends every waiting request to the open segment at once.

The rule (what makes an acknowledgement mean "on disk"):

1. A request is ``(data, records, waiter)``; it waits in a queue.
2. The writer takes the first waiting request, then every other one already waiting
   (the *batch*), and writes their bytes with one ``write`` (looping on short writes).
3. It fsyncs the segment once, and only then resolves every waiter of the batch.
   A request that opened a new segment file is resolved only after the day
   directory was fsynced too.
4. If the write or the fsync fails, every waiter of the batch gets
   :class:`~rtt_topology.errors.StoreError`; the segment is cut back to its last
   synced size (best effort) and closed, and the next batch goes to a new segment:
   nothing is ever appended to a file after a failed write or fsync.

Segments rotate before a batch is written: when the UTC hour of the writer's clock
differs from the open segment's hour, or when the open segment is not empty and the
batch would take it past ``segment_bytes`` (so a segment exceeds ``segment_bytes``
only when one batch alone does). A closed segment is handed to ``on_closed``.

Asyncio waiters are futures resolved in their own loop with
``loop.call_soon_threadsafe``, once per loop and batch; thread waiters are
:class:`concurrent.futures.Future`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple, cast

from rtt_topology.errors import StoreError
from rtt_topology.remote.server.fileops import FileOps
from rtt_topology.remote.server.segments import next_segment_path

__all__ = ["Clock", "GroupCommitWriter", "Request", "utc_now"]

#: A clock: returns the current time, timezone-aware.
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Return the current UTC time (the default clock of the store).

    Examples
    --------
    >>> utc_now().tzinfo is UTC
    True
    """
    return datetime.now(UTC)


class Request(NamedTuple):
    """One append waiting for the writer."""

    data: bytes
    records: int
    loop: asyncio.AbstractEventLoop | None
    waiter: asyncio.Future[None] | Future[None]


class _Failure(NamedTuple):
    path: Path
    reason: str
    cause: BaseException

    def error(self) -> StoreError:
        # One exception object per waiter: tasks must not share a traceback.
        error = StoreError(self.path, self.reason)
        error.__cause__ = self.cause
        return error


def _settle(waiters: list[asyncio.Future[None]], failure: _Failure | None) -> None:
    for waiter in waiters:
        if waiter.done():  # cancelled while waiting; its bytes are written anyway
            continue
        if failure is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(failure.error())


class GroupCommitWriter:
    r"""The writer thread of a store: batches requests, writes, fsyncs, resolves.

    Parameters
    ----------
    beacons_dir
        Where the day directories of segments live.
    ops
        The os-level calls.
    segment_bytes
        Rotate to a new segment before a batch would take the open one past this size.
    fsync
        Sync files and directories (turn off only for throwaway data).
    clock
        The clock that picks the segment hour.
    on_closed
        Called in the writer thread with each segment it closes (for compression).

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> writer = GroupCommitWriter(root, FileOps(), segment_bytes=1 << 20)
    >>> writer.start()
    >>> done: Future[None] = Future()
    >>> writer.submit(Request(b'{"site": "a"}\n', 1, None, done))
    >>> done.result(timeout=10)
    >>> writer.stop()
    >>> [p.read_bytes() for p in root.glob("*/*.jsonl")]
    [b'{"site": "a"}\n']
    """

    def __init__(
        self,
        beacons_dir: Path,
        ops: FileOps,
        *,
        segment_bytes: int,
        fsync: bool = True,
        clock: Clock = utc_now,
        on_closed: Callable[[Path], None] | None = None,
    ) -> None:
        self.beacons_dir = beacons_dir
        self.ops = ops
        self.segment_bytes = segment_bytes
        self.fsync = fsync
        self.clock = clock
        self.on_closed = on_closed
        self._queue: queue.SimpleQueue[Request | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._fd: int | None = None
        self.path: Path | None = None
        self._hour: datetime | None = None
        self._size = 0
        # Counters, read by the store's stats (ints: consistent enough without a lock).
        self.created = 0
        self.bytes = 0
        self.records = 0
        self.batches = 0
        self.fsyncs = 0
        self.last_fsync_s = 0.0
        self.failures = 0
        self.last_error: str | None = None
        self.last_ok = True

    def start(self) -> None:
        """Start the writer thread."""
        self._thread = threading.Thread(target=self._run, name="rtt-store-writer", daemon=True)
        self._thread.start()

    def submit(self, request: Request) -> None:
        """Queue a request (the caller has checked that the writer runs)."""
        self._queue.put(request)

    def pending(self) -> int:
        """Return how many requests wait for the writer (approximate)."""
        return self._queue.qsize()

    def stop(self) -> None:
        """Write what is queued, close the open segment and end the thread."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join()
        self._thread = None

    def _run(self) -> None:
        get, get_nowait = self._queue.get, self._queue.get_nowait
        stopping = False
        while not stopping:
            batch: list[Request] = []
            item = get()
            while True:
                if item is None:
                    stopping = True
                else:
                    batch.append(item)
                try:
                    item = get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._resolve(batch, self._commit(batch))
        self._close_segment(hand_over=False)

    def _commit(self, batch: list[Request]) -> _Failure | None:
        data = batch[0].data if len(batch) == 1 else b"".join(r.data for r in batch)
        try:
            fd = self._segment_for(len(data))
        except Exception as exc:  # OSError, or a bug: fail the batch, never leave it waiting
            return self._fail(self.beacons_dir, "cannot open a new segment", exc)
        path = self.path or self.beacons_dir
        try:
            view = memoryview(data)
            written = 0
            while written < len(data):
                count = self.ops.write(fd, view[written:])
                if count <= 0:  # a regular file that takes nothing is full
                    raise OSError(errno.ENOSPC, "No space left on device (write took 0 bytes)")
                written += count
            if self.fsync:
                started = time.perf_counter()
                self.ops.fsync(fd)
                self.last_fsync_s = time.perf_counter() - started
                self.fsyncs += 1
        except Exception as exc:  # OSError, or a bug: fail the batch, never leave it waiting
            self._abandon_segment()
            return self._fail(path, "write failed", exc)
        self._size += len(data)
        self.bytes += len(data)
        self.records += sum(r.records for r in batch)
        self.batches += 1
        self.last_ok = True
        return None

    def _fail(self, path: Path, what: str, exc: BaseException) -> _Failure:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        reason = f"{what}: {detail}; nothing of this batch was acknowledged"
        self.failures += 1
        self.last_ok = False
        self.last_error = f"{path}: {reason}"
        return _Failure(path, reason, exc)

    def _segment_for(self, size: int) -> int:
        now = self.clock()
        hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        if self._fd is not None and (
            hour != self._hour or (self._size > 0 and self._size + size > self.segment_bytes)
        ):
            self._close_segment(hand_over=True)
        if self._fd is not None:
            return self._fd
        path = next_segment_path(self.beacons_dir, hour)
        if self.ops.mkdir(path.parent) and self.fsync:
            self.ops.fsync_dir(self.beacons_dir)
        fd = self.ops.open_append(path)
        self.created += 1
        try:
            if self.fsync:
                self.ops.fsync_dir(path.parent)
        except OSError:
            self.ops.close(fd)
            raise
        self._fd, self.path, self._hour, self._size = fd, path, hour, 0
        return fd

    def _abandon_segment(self) -> None:
        """After a failed write or fsync: cut the unsynced bytes (best effort), close."""
        if self._fd is None:
            return
        try:
            self.ops.truncate(self._fd, self._size)
            if self.fsync:
                self.ops.fsync(self._fd)
        except OSError:
            pass  # the repair at the next open cuts a torn tail; whole lines stay unacknowledged
        self._close_segment(hand_over=True)

    def _close_segment(self, *, hand_over: bool) -> None:
        if self._fd is None:
            return
        fd, path = self._fd, self.path
        self._fd, self.path, self._hour, self._size = None, None, None, 0
        # The data that counts was synced: a failed close loses nothing acknowledged.
        with contextlib.suppress(OSError):
            self.ops.close(fd)
        if hand_over and self.on_closed is not None and path is not None:
            self.on_closed(path)

    @staticmethod
    def _resolve(batch: list[Request], failure: _Failure | None) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        for request in batch:
            if request.loop is None:
                waiter = cast("Future[None]", request.waiter)
                if not waiter.done():
                    if failure is None:
                        waiter.set_result(None)
                    else:
                        waiter.set_exception(failure.error())
            else:
                by_loop.setdefault(request.loop, []).append(
                    cast("asyncio.Future[None]", request.waiter)
                )
        for loop, waiters in by_loop.items():
            # A closed loop raises RuntimeError: nobody waits for these any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, waiters, failure)
