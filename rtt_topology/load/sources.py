"""Turn sources (files, directories, globs, lists of them) into files, and open them.

This is the only module that opens input files. Formats are picked by suffix and
checked by content: a gzip suffix must hold gzip data, a Parquet file must start
with its magic bytes, a text format must be text.
"""

from __future__ import annotations

import glob
import gzip
import io
import os
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

from rtt_topology._progress import ProgressOption, progress_reporter
from rtt_topology.errors import FormatError, InputError, LoadError, SourceNotFoundError
from rtt_topology.load.report import FileFailure, LoadReport

__all__ = [
    "FileReader",
    "Source",
    "SourceFile",
    "expand_sources",
    "open_binary",
    "read_each_file",
    "read_text",
    "sniff",
    "split_suffix",
]

#: What a source argument may be.
Source = str | os.PathLike[str] | Iterable[str | os.PathLike[str]]

_GLOB_CHARS = frozenset("*?[")
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


@contextmanager
def open_binary(file: SourceFile) -> Iterator[IO[bytes]]:
    """Open ``file`` for reading bytes, decompressing gzip transparently.

    Raises
    ------
    LoadError
        If the file cannot be opened, or claims gzip but is not.
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
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                yield cast(IO[bytes], stream)
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
    total = sum(f.path.stat().st_size for f in files)
    with progress_reporter(progress, total, description) as advance:
        for file in files:
            size = file.path.stat().st_size
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
