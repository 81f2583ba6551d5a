"""Turn sources (files, directories, globs, lists of them) into files, and open them.

This is the only module that opens input files. Formats are picked by suffix and
checked by content: a gzip suffix must hold gzip data, a Parquet file must start
with its magic bytes, a text format must be text.

Gzip input costs what it weighs: a file is inflated through a counting stream that
stops with :class:`~rtt_topology.errors.LoadError` as soon as the inflated bytes
exceed ``max(GZIP_FREE_BYTES, GZIP_MAX_RATIO * compressed size)``. Beacon JSON Lines
compress about 25 times (the demo histories: 24.6 and 24.7), so the default ratio of
200 leaves room for much more regular data while a "gzip bomb" (zeros, which deflate
about 1000 times) is refused after reading its first ``GZIP_FREE_BYTES``. Both bounds
are module attributes, read at each open: set them to read an unusual file.
"""

from __future__ import annotations

import glob
import gzip
import io
import os
import re
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from rtt_topology._progress import ProgressOption, progress_reporter
from rtt_topology.errors import FormatError, InputError, LoadError, SourceNotFoundError
from rtt_topology.load.report import FileFailure, LoadReport

__all__ = [
    "GZIP_FREE_BYTES",
    "GZIP_MAX_RATIO",
    "FileReader",
    "Source",
    "SourceFile",
    "expand_sources",
    "inflation_limit",
    "iter_lines",
    "line_spans",
    "open_binary",
    "read_each_file",
    "read_text",
    "sniff",
    "split_suffix",
]

#: What a source argument may be.
Source = str | os.PathLike[str] | Iterable[str | os.PathLike[str]]

#: Most inflated bytes per compressed byte of a gzip file (past :data:`GZIP_FREE_BYTES`).
GZIP_MAX_RATIO = 200
#: Inflated bytes a gzip file may always reach, whatever its ratio (64 MiB).
GZIP_FREE_BYTES = 64 << 20

_GLOB_CHARS = frozenset("*?[")
_LINE_END = re.compile(r"\r\n?|\n")
_CHUNK = 1 << 20
_SNIFF_BYTES = 4096


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One input file, with the format its suffix names.

    Attributes
    ----------
    path
        The file.
    kind
        The suffix without compression (``jsonl``, ``json``, ``csv``...), lower case;
        ``""`` when the file has no suffix.
    gzip
        Whether the name ends in ``.gz``.
    """

    path: Path
    kind: str
    gzip: bool

    @property
    def label(self) -> str:
        """The format as reported: the kind, with ``+gzip`` when compressed."""
        return f"{self.kind}+gzip" if self.gzip else self.kind


def split_suffix(path: Path) -> tuple[str, bool]:
    """Return ``(kind, gzip)`` for a file name.

    Examples
    --------
    >>> split_suffix(Path("east/beacons.JSONL.gz"))
    ('jsonl', True)
    >>> split_suffix(Path("profiles/auth.yml"))
    ('yml', False)
    """
    suffixes = [s.lower() for s in path.suffixes]
    compressed = bool(suffixes) and suffixes[-1] == ".gz"
    if compressed:
        suffixes = suffixes[:-1]
    kind = suffixes[-1].lstrip(".") if suffixes else ""
    return kind, compressed


def _as_list(source: Source) -> list[str | os.PathLike[str]]:
    if isinstance(source, str | os.PathLike):
        return [source]
    items = list(source)
    if not items:
        raise InputError("no source given: pass a file, a directory, a glob or a list of them")
    return items


def expand_sources(source: Source, *, kinds: Collection[str]) -> tuple[list[SourceFile], list[str]]:
    """Expand ``source`` into the files to read.

    A file named directly is always read (its format is checked later). A
    directory is searched recursively for files whose suffix is one of ``kinds``
    (optionally followed by ``.gz``); other files there are returned as ignored.
    A pattern with ``*``, ``?`` or ``[`` is a glob (``**`` recurses).

    Parameters
    ----------
    source
        A path, a glob, or a list of them.
    kinds
        The suffixes (without dot) to pick up in directories.

    Returns
    -------
    files, ignored
        The files in a stable order (sorted within each directory or glob, in the
        order given across sources, each once), and the files skipped in
        directories because of their suffix.

    Raises
    ------
    SourceNotFoundError
        If a path does not exist or a glob matches nothing.
    """
    seen: set[Path] = set()
    files: list[SourceFile] = []
    ignored: list[str] = []

    def add(path: Path) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            kind, compressed = split_suffix(path)
            files.append(SourceFile(path, kind, compressed))

    for item in _as_list(source):
        text = os.fspath(item)
        path = Path(text)
        if path.is_file():
            add(path)
        elif path.is_dir():
            found = False
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                if any(part.startswith(".") for part in child.relative_to(path).parts):
                    continue
                if split_suffix(child)[0] in kinds:
                    add(child)
                    found = True
                else:
                    ignored.append(str(child))
            if not found:
                raise SourceNotFoundError(
                    text, f"directory holds no {'/'.join(sorted(kinds))} file"
                )
        elif _GLOB_CHARS & set(text):
            # Path.glob takes no absolute patterns: use the glob module.
            matches = sorted(Path(m) for m in glob.glob(text, recursive=True))  # noqa: PTH207
            matches = [m for m in matches if m.is_file()]
            if not matches:
                raise SourceNotFoundError(text, "glob matched no file")
            for match in matches:
                add(match)
        else:
            raise SourceNotFoundError(text)
    return files, ignored


def inflation_limit(
    compressed: int, *, max_ratio: float | None = None, free_bytes: int | None = None
) -> int:
    """Return how many bytes a gzip file of ``compressed`` bytes may inflate to.

    The limit is ``max(free_bytes, max_ratio * compressed)``, by default
    ``max(GZIP_FREE_BYTES, GZIP_MAX_RATIO * compressed)``.

    Examples
    --------
    >>> inflation_limit(100_000) == GZIP_FREE_BYTES
    True
    >>> inflation_limit(1_000_000)
    200000000
    >>> inflation_limit(10, max_ratio=5, free_bytes=0)
    50
    """
    ratio = GZIP_MAX_RATIO if max_ratio is None else max_ratio
    floor = GZIP_FREE_BYTES if free_bytes is None else free_bytes
    return max(floor, int(ratio * compressed))


class _BoundedStream(io.RawIOBase):
    """Read an inflating stream, refusing to give more than ``limit`` bytes in all."""

    def __init__(self, inner: IO[bytes], path: Path, compressed: int, limit: int) -> None:
        super().__init__()
        self._inner = inner
        self._path = path
        self._compressed = compressed
        self._limit = limit
        self.inflated = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        # One byte past the limit tells a file that ends at the limit from one that goes on.
        want = min(len(view), self._limit - self.inflated + 1)
        data = self._inner.read(want)
        got = len(data)
        view[:got] = data
        self.inflated += got
        if self.inflated > self._limit:
            raise LoadError(
                self._path,
                f"gzip data inflates past {self._limit} bytes from {self._compressed}: refused "
                "as out of proportion (bound: the larger of GZIP_FREE_BYTES and GZIP_MAX_RATIO "
                "times the compressed size, in rtt_topology.load.sources)",
            )
        return got

    def readall(self) -> bytes:
        # Large steps: the default reads 8 KiB at a time.
        parts = []
        while chunk := self.read(_CHUNK):
            parts.append(chunk)
        return b"".join(parts)


@contextmanager
def open_binary(
    file: SourceFile, *, max_ratio: float | None = None, free_bytes: int | None = None
) -> Iterator[IO[bytes]]:
    """Open ``file`` for reading bytes, decompressing gzip transparently and within bounds.

    Parameters
    ----------
    file
        The file.
    max_ratio, free_bytes
        Bounds on gzip inflation (see :func:`inflation_limit`); by default
        :data:`GZIP_MAX_RATIO` and :data:`GZIP_FREE_BYTES`.

    Raises
    ------
    LoadError
        If the file cannot be opened, claims gzip but is not, or (while it is read)
        inflates past the limit: reading stops there, nothing more is inflated.
    """
    try:
        raw = file.path.open("rb")
    except OSError as exc:
        raise LoadError(file.path, f"cannot open: {exc.strerror or exc}") from exc
    try:
        if file.gzip:
            if raw.read(2) != b"\x1f\x8b":
                raise FormatError(file.path, "named .gz but is not gzip data")
            raw.seek(0)
            compressed = os.fstat(raw.fileno()).st_size
            limit = inflation_limit(compressed, max_ratio=max_ratio, free_bytes=free_bytes)
            with gzip.GzipFile(fileobj=raw, mode="rb") as inflating:
                bounded = _BoundedStream(cast(IO[bytes], inflating), file.path, compressed, limit)
                with io.BufferedReader(bounded) as stream:
                    yield stream
        else:
            yield raw
    finally:
        raw.close()


def gzip_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean a gzip stream is damaged or truncated."""
    return (EOFError, gzip.BadGzipFile, zlib.error)


def sniff(file: SourceFile) -> bytes:
    """Return the first bytes of the (decompressed) file, to check its content.

    Raises
    ------
    LoadError
        If the file is empty or the gzip data is damaged.
    """
    try:
        with open_binary(file) as stream:
            head = stream.read(_SNIFF_BYTES)
    except gzip_errors() as exc:
        raise LoadError(file.path, f"damaged gzip data ({exc})") from exc
    if not head:
        raise LoadError(file.path, "file is empty")
    return head


def check_text(file: SourceFile, head: bytes) -> None:
    """Raise :class:`FormatError` if ``head`` is not UTF-8 text."""
    if b"\x00" in head:
        raise FormatError(file.path, f"binary data, not {file.kind or 'text'}")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character may be cut at the end of the sniffed bytes.
        if exc.start < len(head) - 3:
            raise FormatError(file.path, f"not UTF-8 text (byte {exc.start})") from exc


def read_text(file: SourceFile) -> str:
    """Read a whole text file (decompressing gzip), as UTF-8.

    Raises
    ------
    LoadError
        If the file is empty, binary, not UTF-8, or its gzip data is damaged.
    """
    head = sniff(file)
    check_text(file, head)
    try:
        with open_binary(file) as stream:
            data = stream.read()
    except gzip_errors() as exc:
        raise LoadError(file.path, f"damaged or truncated gzip data ({exc})") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(file.path, f"not UTF-8 text (byte {exc.start})") from exc


def text_lines(data: str) -> io.StringIO:
    r"""Wrap text for line iteration that keeps ``\r\n`` and ``\n`` endings apart."""
    return io.StringIO(data, newline="")


def line_spans(data: str) -> Iterator[tuple[int, int]]:
    r"""Yield ``(start, end)`` of each line of ``data``, its ending included.

    Lines end at ``\r\n``, ``\r`` or ``\n``, as :func:`text_lines` splits them; a
    caller can look at a line's length before it copies the line.

    Examples
    --------
    >>> list(line_spans("ab\r\nc\rd"))
    [(0, 4), (4, 6), (6, 7)]
    """
    pos = 0
    for match in _LINE_END.finditer(data):
        yield pos, match.end()
        pos = match.end()
    if pos < len(data):
        yield pos, len(data)


def iter_lines(data: str) -> Iterator[str]:
    r"""Yield the lines of ``data`` with their endings, as :func:`text_lines` splits them.

    Unlike :class:`io.StringIO`, which holds a copy of the text in up to four bytes per
    character, this only slices one line at a time.

    Examples
    --------
    >>> list(iter_lines("a\r\nb\rc\nd"))
    ['a\r\n', 'b\r', 'c\n', 'd']
    """
    for start, end in line_spans(data):
        yield data[start:end]


#: Reads one file: called with the file and ``on_bytes(amount)`` for progress.
FileReader = Callable[[SourceFile, Callable[[int], None]], None]


def read_each_file(
    source: Source,
    *,
    kinds: Collection[str],
    report: LoadReport,
    read: FileReader,
    progress: ProgressOption = False,
    description: str = "reading",
) -> None:
    """Run ``read`` on every file of ``source``, with progress and failure isolation.

    A :class:`~rtt_topology.errors.LoadError` from ``read`` is raised when
    ``source`` is one file named on its own; for a directory, a glob or a list it
    is recorded in ``report.failures`` and the next file is read. Files skipped in
    directories are added to ``report.ignored_files``.

    Parameters
    ----------
    source
        Files, directories or globs (see :func:`expand_sources`).
    kinds
        Suffixes picked up in directories.
    report
        The load's report: ``read`` records its own counts in it.
    read
        Reads one file; reports bytes through its second argument.
    progress
        ``False``, ``True`` (a bar on stderr) or a callback, as in
        :func:`rtt_topology._progress.progress_reporter`.
    description
        Shown before the progress bar.
    """
    files, ignored = expand_sources(source, kinds=kinds)
    report.ignored_files.extend(ignored)
    single_file = isinstance(source, str | os.PathLike) and Path(source).is_file()
    total = sum(_size(f.path) for f in files)
    with progress_reporter(progress, total, description) as advance:
        for file in files:
            # A file removed after it was listed fails when it is opened, as a LoadError.
            size = _size(file.path)
            counted = 0

            def on_bytes(amount: int, label: str = file.path.name, size: int = size) -> None:
                nonlocal counted
                # Compressed files report decompressed bytes: cap at the file size.
                step = max(0, min(amount, size - counted))
                counted += step
                advance(step, label)

            try:
                read(file, on_bytes)
            except LoadError as exc:
                if single_file:
                    raise
                report.failures.append(FileFailure(str(file.path), exc.reason))
            on_bytes(size - counted)


def _size(path: Path) -> int:
    """Return the size of ``path`` in bytes, 0 when it no longer exists."""
    try:
        return path.stat().st_size
    except OSError:
        return 0
