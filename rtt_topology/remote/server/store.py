"""The durable beacon store of the server: segment files that ``read_beacons`` reads as they are.

Layout of a data directory ``DIR`` (the beacon part; profiles are
:mod:`rtt_topology.remote.server.profile_store`)::

    DIR/server.lock                                         one server per directory
    DIR/beacons/YYYY-MM-DD/beacons-YYYY-MM-DDTHH-NNNN.jsonl      the open segment
    DIR/beacons/YYYY-MM-DD/beacons-YYYY-MM-DDTHH-NNNN.jsonl.gz   closed, compressed
    DIR/beacons/<segment name>.torn                         bytes cut by a repair (ignored)

Durability rule: :meth:`BeaconStore.append` returns only after the lines were
written and fsynced (and, when they opened a new segment, after its directory was
fsynced); see :mod:`~rtt_topology.remote.server.commit` for the group commit and
:mod:`~rtt_topology.remote.server.segments` for rotation, compression and repair.
A segment's hour is the writer's clock when the segment was opened, so a line
accepted in the last instant of an hour may sit in the next hour's segment.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from rtt_topology.errors import InputError, StoreError
from rtt_topology.remote.server.commit import Clock, GroupCommitWriter, Request, utc_now
from rtt_topology.remote.server.fileops import DirectoryLock, FileOps
from rtt_topology.remote.server.segments import RepairReport, compress_segment, repair

__all__ = ["BEACONS_DIR", "BeaconStore", "StoreStats"]

#: The folder of segments inside a data directory.
BEACONS_DIR = "beacons"


@dataclass(frozen=True, slots=True)
class StoreStats:
    """Counters of a :class:`BeaconStore` since it was opened (for ``/metrics`` and ``/healthz``).

    Attributes
    ----------
    segments
        Segment files in the store now (open and closed).
    bytes
        Bytes appended since open.
    records
        Lines (records) appended since open.
    batches
        Group commits written (one write and one fsync each).
    fsyncs
        Segment fsyncs since open (directory fsyncs not counted).
    last_fsync_s
        Duration of the last segment fsync.
    failures
        Batches that failed (every request of each got a ``StoreError``).
    pending
        Requests waiting for the writer now.
    compressed
        Segments compressed since open.
    compress_failures
        Compressions that failed (the ``.jsonl`` stays and is retried at the next open).
    open_segment
        The segment being appended to, if any.
    last_error
        The last write or compression failure, if any.
    healthy
        Whether the store is open and its last batch was written.
    """

    segments: int = 0
    bytes: int = 0
    records: int = 0
    batches: int = 0
    fsyncs: int = 0
    last_fsync_s: float = 0.0
    failures: int = 0
    pending: int = 0
    compressed: int = 0
    compress_failures: int = 0
    open_segment: str | None = None
    last_error: str | None = None
    healthy: bool = False


class _Compressor:
    """A background thread that compresses closed segments one at a time."""

    def __init__(self, ops: FileOps) -> None:
        self.ops = ops
        self._queue: queue.SimpleQueue[Path | None] = queue.SimpleQueue()
        self._idle = threading.Condition()
        self._waiting = 0
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.compressed = 0
        self.removed_empty = 0
        self.failures = 0
        self.last_error: str | None = None

    def start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="rtt-store-compress", daemon=True)
        self._thread.start()

    def put(self, segment: Path) -> None:
        with self._idle:
            self._waiting += 1
        self._queue.put(segment)

    def wait(self, timeout: float | None) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._waiting == 0, timeout)

    def stop(self) -> None:
        # The segment in progress is finished; queued ones wait for the next open.
        self._stopping = True
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while (segment := self._queue.get()) is not None:
            try:
                if not self._stopping:
                    self._compress(segment)
            finally:
                with self._idle:
                    self._waiting -= 1
                    self._idle.notify_all()

    def _compress(self, segment: Path) -> None:
        try:
            if compress_segment(segment, self.ops) is None:
                self.removed_empty += 1
            else:
                self.compressed += 1
        except Exception as exc:  # the .jsonl is intact: it is compressed at the next open
            self.failures += 1
            detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            self.last_error = f"{segment}: compression failed: {detail}"


class BeaconStore:
    r"""Append beacon lines durably to rotating JSON Lines segments in ``directory/beacons``.

    Parameters
    ----------
    directory
        The data directory (created when missing).
    segment_bytes
        Size past which the open segment is rotated (the hour always rotates it).
    compress
        Compress closed segments (``.jsonl.gz``) in a background thread.
    fsync
        Sync every batch before acknowledging it. Turn off only for throwaway data.
    file_ops
        The os-level calls (tests inject failures through them).
    clock
        The clock that names segments by UTC hour (tests inject one).

    Examples
    --------
    >>> import asyncio, tempfile
    >>> from rtt_topology.load import read_beacons
    >>> folder = Path(tempfile.mkdtemp())
    >>> line = (
    ...     b'{"site": "auth", "session": "s1", "event": "heartbeat",'
    ...     b' "ts": "2026-01-19T15:00:00Z", "received_at": "2026-01-19T15:00:00.250000Z"}\n'
    ... )
    >>> with BeaconStore(folder) as store:
    ...     asyncio.run(store.append([line]))
    ...     store.append_blocking([line.replace(b"s1", b"s2")])
    ...     store.stats().records
    2
    >>> beacons, report = read_beacons(folder)
    >>> sorted(beacons["session"])
    ['s1', 's2']
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        segment_bytes: int = 64 * 2**20,
        compress: bool = True,
        fsync: bool = True,
        file_ops: FileOps | None = None,
        clock: Clock = utc_now,
    ) -> None:
        if segment_bytes < 1:
            raise InputError(f"segment_bytes must be positive, got {segment_bytes}")
        self.directory = Path(directory)
        self.beacons_dir = self.directory / BEACONS_DIR
        self.segment_bytes = segment_bytes
        self.compress = compress
        self.fsync = fsync
        self.ops = file_ops if file_ops is not None else FileOps()
        self.clock = clock
        self._lock = DirectoryLock(self.directory)
        self._gate = threading.Lock()
        self._writer: GroupCommitWriter | None = None
        self._compressor: _Compressor | None = None
        self._segments_at_open = 0
        self._last = StoreStats()

    # -- life cycle -------------------------------------------------------------------

    def open(self) -> RepairReport:
        """Create the directories, take the lock, repair, queue leftovers, start the writer.

        Returns
        -------
        RepairReport
            What the repair found (torn tails, leftovers removed, segments to compress).

        Raises
        ------
        StoreError
            If the store is already open, another server holds the directory, or the
            directory cannot be created or repaired.
        """
        with self._gate:
            if self._writer is not None:
                raise StoreError(self.directory, "the store is already open")
            try:
                self.ops.mkdir(self.directory)
                self._lock.acquire()
            except StoreError:
                raise
            except OSError as exc:
                raise StoreError(self.directory, f"cannot open: {exc.strerror or exc}") from exc
            try:
                if self.ops.mkdir(self.beacons_dir) and self.fsync:
                    self.ops.fsync_dir(self.directory)
                report = repair(self.beacons_dir, self.ops)
            except OSError as exc:
                self._lock.release()
                raise StoreError(self.beacons_dir, f"repair failed: {exc.strerror or exc}") from exc
            compressor = _Compressor(self.ops) if self.compress else None
            writer = GroupCommitWriter(
                self.beacons_dir,
                self.ops,
                segment_bytes=self.segment_bytes,
                fsync=self.fsync,
                clock=self.clock,
                on_closed=None if compressor is None else compressor.put,
            )
            if compressor is not None:
                compressor.start()
                for segment in report.to_compress:
                    compressor.put(segment)
            writer.start()
            self._segments_at_open = report.segments
            self._compressor, self._writer = compressor, writer
            return report

    def close(self) -> None:
        """Write and sync what is queued, stop the threads and release the lock.

        The open segment stays ``.jsonl`` (it is compressed at the next open); a
        compression in progress is finished, queued ones wait for the next open.
        Closing a closed store does nothing.
        """
        with self._gate:
            writer, compressor = self._writer, self._compressor
            if writer is None:
                return
            # Under the gate: no request can be queued behind the writer's stop mark.
            self._writer = None
            writer.stop()
        if compressor is not None:
            compressor.stop()
        self._last = self._stats(writer, compressor, healthy=False)
        self._lock.release()

    def __enter__(self) -> BeaconStore:
        if self._writer is None:
            self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def is_open(self) -> bool:
        """Whether the store accepts appends."""
        return self._writer is not None

    # -- appending --------------------------------------------------------------------

    async def append(self, lines: Sequence[bytes]) -> None:
        r"""Append lines; return once they are durable.

        Parameters
        ----------
        lines
            Complete JSON lines, each ending in ``b"\n"`` and holding no other newline.

        Raises
        ------
        StoreError
            If the lines could not be made durable (nothing of them was acknowledged;
            some may still be on disk), or the store is not open.
        InputError
            If a line is not one complete line.
        """
        if not lines:
            return
        data = _join(lines)
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._submit(Request(data, len(lines), loop, waiter))
        await waiter

    def append_blocking(self, lines: Sequence[bytes]) -> None:
        """Append lines from a thread; return once they are durable (see :meth:`append`)."""
        if not lines:
            return
        waiter: Future[None] = Future()
        self._submit(Request(_join(lines), len(lines), None, waiter))
        waiter.result()

    def append_block_blocking(self, data: bytes, records: int) -> None:
        r"""Append ``records`` complete lines given as one block; return once durable.

        The same as :meth:`append_blocking` for lines already joined (a checked
        batch): one count of newlines instead of one check per line.

        Raises
        ------
        StoreError
            As :meth:`append`.
        InputError
            If ``data`` does not hold exactly ``records`` lines, each ending in ``b"\n"``.
        """
        if not records:
            return
        if not data.endswith(b"\n") or data.count(b"\n") != records:
            raise InputError(f"expected {records} complete lines of bytes ending in \\n")
        waiter: Future[None] = Future()
        self._submit(Request(data, records, None, waiter))
        waiter.result()

    def _submit(self, request: Request) -> None:
        with self._gate:
            if self._writer is None:
                raise StoreError(self.directory, "the store is not open")
            self._writer.submit(request)

    # -- watching ---------------------------------------------------------------------

    def wait_compressed(self, timeout: float | None = None) -> bool:
        """Wait until no closed segment waits for compression; ``False`` on timeout."""
        compressor = self._compressor
        return True if compressor is None else compressor.wait(timeout)

    def stats(self) -> StoreStats:
        """Return the counters since the store was opened (the last ones once closed)."""
        writer = self._writer
        if writer is None:
            return self._last
        return self._stats(writer, self._compressor, healthy=True)

    def _stats(
        self, writer: GroupCommitWriter, compressor: _Compressor | None, *, healthy: bool
    ) -> StoreStats:
        removed = compressor.removed_empty if compressor is not None else 0
        errors = [writer.last_error] + ([compressor.last_error] if compressor else [])
        open_segment = writer.path
        return StoreStats(
            segments=self._segments_at_open + writer.created - removed,
            bytes=writer.bytes,
            records=writer.records,
            batches=writer.batches,
            fsyncs=writer.fsyncs,
            last_fsync_s=writer.last_fsync_s,
            failures=writer.failures,
            pending=writer.pending(),
            compressed=compressor.compressed if compressor is not None else 0,
            compress_failures=compressor.failures if compressor is not None else 0,
            open_segment=None if open_segment is None else str(open_segment),
            last_error=next((e for e in errors if e), None),
            healthy=healthy and writer.last_ok,
        )


def _join(lines: Sequence[bytes]) -> bytes:
    for index, line in enumerate(lines):
        if not isinstance(line, bytes) or len(line) < 2 or line.count(b"\n") != 1:
            raise InputError(f"line {index}: expected one complete line of bytes ending in \\n")
        if line[-1] != 0x0A:
            raise InputError(f"line {index}: expected one complete line of bytes ending in \\n")
    return lines[0] if len(lines) == 1 else b"".join(lines)
