"""The few operating-system calls the store makes, in one replaceable object, and its lock.

Every call that writes, syncs, renames or removes a file of the store goes through a
:class:`FileOps`, so tests can make any of them fail (a full disk is
``OSError(errno.ENOSPC)``) or count them, without touching the real file system's
behaviour. :class:`DirectoryLock` keeps two servers out of one directory.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO

from rtt_topology.errors import StoreError

__all__ = ["LOCK_NAME", "DirectoryLock", "FileOps"]

#: The lock file of a data directory.
LOCK_NAME = "server.lock"


class FileOps:
    r"""The os-level calls of the store; subclass and override one to inject failures.

    Examples
    --------
    >>> import errno, tempfile
    >>> class FullDisk(FileOps):
    ...     def write(self, fd: int, data: bytes | memoryview) -> int:
    ...         raise OSError(errno.ENOSPC, "No space left on device")
    >>> path = Path(tempfile.mkdtemp()) / "segment.jsonl"
    >>> fd = FullDisk().open_append(path)
    >>> FullDisk().write(fd, b"{}\n")
    Traceback (most recent call last):
    OSError: [Errno 28] No space left on device
    >>> FileOps().close(fd)
    """

    def open_append(self, path: Path) -> int:
        """Open (creating when missing) ``path`` for appending; return the descriptor."""
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0)
        return os.open(path, flags, 0o644)

    def open_new(self, path: Path) -> IO[bytes]:
        """Create (or empty) ``path`` and return it open for writing bytes."""
        return path.open("wb")

    def write(self, fd: int, data: bytes | memoryview) -> int:
        """Write ``data`` to ``fd``; return how many bytes were written (maybe fewer)."""
        return os.write(fd, data)

    def fsync(self, fd: int) -> None:
        """Flush the file's data and metadata to the device."""
        os.fsync(fd)

    def truncate(self, fd: int, size: int) -> None:
        """Cut the file open as ``fd`` to ``size`` bytes."""
        os.ftruncate(fd, size)

    def close(self, fd: int) -> None:
        """Close a descriptor."""
        os.close(fd)

    def rename(self, source: Path, target: Path) -> None:
        """Rename ``source`` to ``target``, replacing it (atomic on one file system)."""
        source.replace(target)

    def unlink(self, path: Path) -> None:
        """Remove a file; a file already gone is not an error."""
        path.unlink(missing_ok=True)

    def mkdir(self, path: Path) -> bool:
        """Create ``path`` (and its parents); return whether it was created now."""
        if path.is_dir():
            return False
        path.mkdir(parents=True, exist_ok=True)
        return True

    def fsync_dir(self, path: Path) -> None:
        """Make the entries of directory ``path`` (creations, renames, removals) durable.

        Windows cannot open a directory for syncing; there this does nothing.
        """
        if sys.platform == "win32":
            return
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class DirectoryLock:
    """An exclusive lock on ``directory/server.lock``, held while the store is open.

    The lock is an advisory ``flock`` (``msvcrt.locking`` on Windows) on the open
    file: the operating system drops it when the process dies, even by ``kill -9``,
    so a stale lock file never blocks a restart. The file keeps the holder's pid,
    for people; the lock itself is what counts.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> first = DirectoryLock(folder)
    >>> first.acquire()
    >>> DirectoryLock(folder).acquire()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    rtt_topology.errors.StoreError: ...: another server holds this directory (server.lock, pid ...)
    >>> first.release()
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / LOCK_NAME
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`~rtt_topology.errors.StoreError` if it is held."""
        handle = self.path.open("a+", encoding="utf-8")  # held until release
        try:
            _lock(handle)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise StoreError(
                self.directory, f"another server holds this directory ({LOCK_NAME}, pid {holder})"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        """Drop the lock (the file stays: removing it could race with a new holder)."""
        if self._file is not None:
            _unlock(self._file)
            self._file.close()
            self._file = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._file is not None


if sys.platform == "win32":
    import msvcrt

    def _lock(handle: IO[str]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)

    def _unlock(handle: IO[str]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(handle: IO[str]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(handle: IO[str]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
