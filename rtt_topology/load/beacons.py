"""Read beacon histories from files, directories and globs into the beacon table.

:func:`read_beacons` picks each file's parser by suffix and checks the content,
reads every record, quarantines the bad ones, collapses exact duplicates, and
returns the table of :mod:`rtt_topology.columns` with a
:class:`~rtt_topology.load.report.LoadReport` that accounts for every record.

Parquet files cost what they weigh too. Before anything is decoded, a file may hold
at most ``max(PARQUET_FREE_ROWS, PARQUET_MAX_ROWS_PER_BYTE * file size)`` rows (beacon
Parquet holds 0.15 to 0.25 rows per byte), and its pages may decompress to at most the
gzip bound of :func:`~rtt_topology.load.sources.inflation_limit`. Text columns are then
read as dictionaries, and the text they decode to must stay within that bound too: a
dictionary of one long value repeated on every row weighs little on disk.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from rtt_topology._progress import ProgressOption
from rtt_topology._timestamps import Instant, aware_utc
from rtt_topology.errors import FormatError, InputError, LoadError, RecordError
from rtt_topology.load.assemble import BlockAccumulator
from rtt_topology.load.formats import (
    RecordBatch,
    parse_csv,
    parse_json_array,
    parse_log,
    parse_parquet_table,
)
from rtt_topology.load.jsonl import JsonLinesReader
from rtt_topology.load.records import loads_strict
from rtt_topology.load.report import FileStats, LoadReport, Reject
from rtt_topology.load.sources import (
    Source,
    SourceFile,
    check_text,
    gzip_errors,
    inflation_limit,
    open_binary,
    read_each_file,
    read_text,
    sniff,
)

__all__ = [
    "BEACON_FORMATS",
    "PARQUET_FREE_ROWS",
    "PARQUET_MAX_ROWS_PER_BYTE",
    "BeaconLoad",
    "FileBlocks",
    "beacons_from_records",
    "read_beacon_files",
    "read_beacons",
]

#: Most rows per byte of a Parquet file (past :data:`PARQUET_FREE_ROWS`).
PARQUET_MAX_ROWS_PER_BYTE = 4
#: Rows a Parquet file may always hold, whatever its size.
PARQUET_FREE_ROWS = 1_000_000

#: Suffix to format. Each text format may also be gzip-compressed (``.gz``).
BEACON_FORMATS: dict[str, str] = {
    "jsonl": "jsonl",
    "ndjson": "jsonl",
    "json": "json",
    "csv": "csv",
    "parquet": "parquet",
    "pq": "parquet",
    "log": "log",
    "txt": "log",
    "out": "log",
}
_FORMAT_NAMES = frozenset(BEACON_FORMATS.values())


class BeaconLoad(NamedTuple):
    """What :func:`read_beacons` returns: the table and the account of the load."""

    beacons: pd.DataFrame
    report: LoadReport


class FileBlocks(NamedTuple):
    """One file's valid records as :func:`read_beacon_files` hands them over.

    Attributes
    ----------
    path
        The file, as it is named in the ``source`` column.
    blocks
        Arrow tables of valid records, in reading order: the columns of
        :data:`rtt_topology.load.records.RAW_SCHEMA` (text columns
        dictionary-encoded; ``ts`` parsed to UTC) and ``source``, all 0.
    stats
        The file's counts.
    rejects
        Its quarantined records, by line.
    """

    path: str
    blocks: list[pa.Table]
    stats: FileStats
    rejects: list[Reject]


def _first_char(head: bytes) -> bytes:
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]


def _first_line(head: bytes) -> bytes:
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").split(b"\n", 1)[0]


def _resolve_format(file: SourceFile, head: bytes, forced: str | None) -> str:
    """Decide how to parse ``file`` from its suffix (or ``forced``) and its first bytes."""
    is_parquet = head.startswith(b"PAR1")
    fmt = forced or BEACON_FORMATS.get(file.kind)
    if fmt is None:
        # No known suffix: decide by content.
        if is_parquet:
            return "parquet"
        check_text(file, head)
        first = _first_char(head)
        if first == b"{":
            return "jsonl"
        if first == b"[":
            return "json"
        if b"[RTT]" in head:
            return "log"
        raise FormatError(
            file.path,
            "unknown format: name it .jsonl, .json, .csv, .parquet or .log, or pass format=",
        )
    if fmt == "parquet":
        if file.gzip:
            raise FormatError(file.path, "Parquet files are compressed inside: do not gzip them")
        if not is_parquet:
            raise FormatError(file.path, "not a Parquet file (no PAR1 magic bytes)")
        return fmt
    if is_parquet:
        raise FormatError(file.path, f"a Parquet file named as {fmt}")
    check_text(file, head)
    first = _first_char(head)
    if fmt == "jsonl" and first == b"[" and _first_line(head).rstrip()[-1:] != b"]":
        # An array over several lines is a JSON document; a one-line array is a bad record.
        raise FormatError(file.path, "holds a JSON array, not JSON Lines: name it .json")
    if fmt == "json":
        if first == b"{":
            return "jsonl"  # one object per line (or a single object)
        if first != b"[":
            raise FormatError(file.path, "not JSON: expected an array or objects")
    return fmt


def _text_paths(schema: pa.Schema) -> list[str]:
    """Return the dotted paths of the text columns of ``schema``, in structs too."""
    paths: list[str] = []
    stack = [(f.name, f.type) for f in schema]
    while stack:
        name, kind = stack.pop()
        if pa.types.is_struct(kind):
            stack.extend((f"{name}.{child.name}", child.type) for child in kind)
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            paths.append(name)
    return paths


def _decoded_text_bytes(table: pa.Table) -> int:
    """Return the bytes the dictionary text columns of ``table`` decode to."""
    total = 0
    stack = list(table.columns)
    while stack:
        column = stack.pop()
        if pa.types.is_struct(column.type):
            for chunk in column.chunks:
                stack.extend(
                    pa.chunked_array([chunk.field(i)]) for i in range(chunk.type.num_fields)
                )
        elif pa.types.is_dictionary(column.type):
            for chunk in column.chunks:
                lengths = pc.binary_length(chunk.dictionary)
                total += int(pc.sum(pc.take(lengths, chunk.indices)).as_py() or 0)
    return total


def _read_parquet(file: SourceFile) -> pa.Table:
    """Read a beacon Parquet file within the bounds of the module docstring."""
    size = file.path.stat().st_size
    limit = inflation_limit(size)
    try:
        schema = pq.read_schema(file.path)
        parquet = pq.ParquetFile(file.path, read_dictionary=_text_paths(schema))
        meta = parquet.metadata
        rows_limit = max(PARQUET_FREE_ROWS, PARQUET_MAX_ROWS_PER_BYTE * size)
        if meta.num_rows > rows_limit:
            raise LoadError(
                file.path,
                f"{meta.num_rows} rows in {size} bytes: refused as out of proportion (at most "
                f"{rows_limit}; see rtt_topology.load.beacons.PARQUET_MAX_ROWS_PER_BYTE)",
            )
        pages = sum(
            meta.row_group(g).column(c).total_uncompressed_size
            for g in range(meta.num_row_groups)
            for c in range(meta.num_columns)
        )
        if pages > limit:
            raise LoadError(
                file.path,
                f"pages decompress to {pages} bytes from {size}: refused as out of proportion "
                f"(at most {limit}; see rtt_topology.load.sources.GZIP_MAX_RATIO)",
            )
        table = parquet.read()
    except (pa.ArrowException, OSError) as exc:
        raise LoadError(file.path, f"cannot read Parquet: {exc}") from exc
    text = _decoded_text_bytes(table)
    if text > limit:
        raise LoadError(
            file.path,
            f"text columns decode to {text} bytes from {size}: refused as out of proportion "
            f"(at most {limit}; see rtt_topology.load.sources.GZIP_MAX_RATIO)",
        )
    return table


def _read_file(
    file: SourceFile,
    fmt: str,
    accumulator: BlockAccumulator,
    *,
    assume_utc: bool,
    advance: Callable[[int], None],
) -> tuple[FileStats, list[Reject]]:
    source_id = accumulator.add_source(str(file.path))
    mark = len(accumulator.blocks)

    def on_block(block: pa.Table) -> None:
        accumulator.add(block, source_id)

    label = f"{fmt}+gzip" if file.gzip else fmt
    stats = FileStats(str(file.path), label)
    try:
        if fmt == "jsonl":
            reader = JsonLinesReader(
                str(file.path),
                lambda block: accumulator.append(block, source_id),
                assume_utc,
                prepare=accumulator.encode,
            )
            try:
                with open_binary(file) as stream:
                    reader.read_stream(stream, on_bytes=advance)
            except gzip_errors() as exc:
                raise LoadError(file.path, f"damaged or truncated gzip data ({exc})") from exc
            stats.read, stats.skipped_lines, stats.slow_path = (
                reader.read,
                reader.blank,
                reader.slow_path,
            )
            rejects = reader.rejects
        else:
            batch = RecordBatch(str(file.path), on_block, assume_utc)
            if fmt == "parquet":
                parse_parquet_table(_read_parquet(file), batch, path=str(file.path))
            else:
                text = read_text(file)
                if fmt == "json":
                    parse_json_array(text, batch, path=str(file.path))
                elif fmt == "csv":
                    parse_csv(text, batch, path=str(file.path))
                else:
                    stats.skipped_lines = parse_log(text, batch)
                stats.slow_path = batch.read
            stats.read = batch.read
            rejects = batch.rejects
    except LoadError:
        accumulator.discard_from(mark)
        raise
    stats.rejected = len(rejects)
    stats.accepted = stats.read - stats.rejected
    return stats, sorted(rejects, key=lambda r: -1 if r.line is None else r.line)


def read_beacons(
    source: Source,
    *,
    format: str | None = None,
    assume_utc: bool = False,
    strict: bool = False,
    progress: ProgressOption = False,
    start: Instant | None = None,
    end: Instant | None = None,
    sites: Sequence[str] | None = None,
) -> BeaconLoad:
    r"""Read beacon histories into one validated, sorted, deduplicated table.

    Parameters
    ----------
    source
        A file, a directory (searched recursively for known suffixes), a glob
        (``"logs/**/*.log"``), or a list of them. Formats by suffix: ``.jsonl`` /
        ``.ndjson`` (JSON Lines), ``.json`` (an array, or objects per line),
        ``.csv`` (flattened columns: ``url`` or ``structure.url``...), ``.parquet``,
        ``.log`` / ``.txt`` / ``.out`` (service logs with ``[RTT] <event> sent``
        entries); text formats may end in ``.gz``. Content is checked against
        the suffix. One directory that is a history store (see
        :func:`rtt_topology.store.ingest`) is read as the store, at Parquet
        speed: :func:`rtt_topology.load.store.read_store`.
    format
        Force one format for every file (``"jsonl"``, ``"json"``, ``"csv"``,
        ``"parquet"``, ``"log"``), e.g. for files without a suffix.
    assume_utc
        Read timestamps (``ts``, and ``received_at`` where a server stored one)
        without a UTC offset as UTC instead of rejecting them.
    strict
        Raise :class:`~rtt_topology.errors.StrictLoadError` if any record is
        rejected or any file cannot be read, instead of reporting it.
    progress
        ``True`` draws a progress bar on stderr (on a terminal or in a notebook);
        a callable receives ``(bytes_done, bytes_total, label)``.
    start, end
        Keep only beacons with ``start <= ts < end`` (UTC; ISO 8601 text with an
        offset, an aware datetime or a Timestamp); unbounded when ``None``.
    sites
        Keep only the beacons of these sites.

    Returns
    -------
    BeaconLoad
        ``beacons``, the table of :mod:`rtt_topology.columns`, and ``report``, a
        :class:`~rtt_topology.load.report.LoadReport` in which
        ``accepted + rejected == read``. From a store, the window and the sites
        are pushed down to the scan and the report counts the rows read. From
        files, every record is read and accounted for in the report, then the
        table keeps the window and the sites: ``len(beacons)`` may be less than
        ``report.rows``.

    Raises
    ------
    SourceNotFoundError
        If a path does not exist or a glob matches nothing.
    LoadError
        If ``source`` is one file and it cannot be read (empty, binary, not what
        its suffix says, truncated gzip...). When ``source`` is a directory, a
        glob or a list, unreadable files are listed in ``report.failures`` and
        the others are still read (``strict=True`` raises instead).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "east.jsonl").write_text(
    ...     '{"site":"auth","session":"s1","event":"startup","ts":"2026-01-19T15:00:00Z"}\n'
    ...     '{"site":"auth","session":"s1","event":"heartbeat","ts":"2026-01-19T15:00:30.5Z"}\n'
    ...     '{"site":"auth","session":"s1","event":"heartbeat","ts":"2026-01-19T15:01:00"}\n'
    ... )
    >>> beacons, report = read_beacons(folder)
    >>> beacons[["site", "event", "ts"]]
       site      event                            ts
    0  auth    startup 2026-01-19 15:00:00.000+00:00
    1  auth  heartbeat 2026-01-19 15:00:30.500+00:00
    >>> print(report.rejects[0])
    /...east.jsonl:3: ts: naive timestamp (no UTC offset); pass assume_utc=True to read it as UTC
    """
    _check_format(format)
    if isinstance(source, str | os.PathLike):
        from rtt_topology.load.store import is_store, read_store

        if is_store(source):
            return read_store(source, start=start, end=end, sites=sites)
    first, last = aware_utc(start, "start"), aware_utc(end, "end")
    lo = None if first is None else pd.Timestamp(first)
    hi = None if last is None else pd.Timestamp(last)
    if lo is not None and hi is not None and lo >= hi:
        raise InputError(f"start ({lo}) must be before end ({hi})")
    report = LoadReport()
    accumulator = BlockAccumulator()

    def read(file: SourceFile, on_bytes: Callable[[int], None]) -> None:
        fmt = _resolve_format(file, sniff(file), format)
        stats, rejects = _read_file(file, fmt, accumulator, assume_utc=assume_utc, advance=on_bytes)
        report.add_file(stats)
        report.rejects.extend(rejects)

    read_each_file(
        source,
        kinds=BEACON_FORMATS.keys(),
        report=report,
        read=read,
        progress=progress,
        description="reading beacons",
    )
    load = _finish(accumulator, report, strict=strict)
    if lo is None and hi is None and sites is None:
        return load
    return BeaconLoad(_keep(load.beacons, lo, hi, sites), load.report)


def _check_format(format: str | None) -> None:
    if format is not None and format not in _FORMAT_NAMES:
        raise InputError(
            f"unknown format {format!r}: use one of {', '.join(sorted(_FORMAT_NAMES))}"
        )


def _keep(
    frame: pd.DataFrame,
    lo: pd.Timestamp | None,
    hi: pd.Timestamp | None,
    sites: Sequence[str] | None,
) -> pd.DataFrame:
    """Keep the rows of the window and the sites; drop the categories no row uses."""
    mask = pd.Series(True, index=frame.index)
    if lo is not None:
        mask &= frame["ts"] >= lo
    if hi is not None:
        mask &= frame["ts"] < hi
    if sites is not None:
        mask &= frame["site"].isin([str(s) for s in sites])
    kept = frame.loc[mask.to_numpy()].reset_index(drop=True)
    for name in ("site", "session", "event", "url", "title"):
        kept[name] = kept[name].cat.remove_unused_categories()
    return kept


def read_beacon_files(
    source: Source,
    on_file: Callable[[FileBlocks], None],
    *,
    format: str | None = None,
    assume_utc: bool = False,
    progress: ProgressOption = False,
    skip: Callable[[SourceFile], bool] | None = None,
) -> LoadReport:
    r"""Read beacon files one at a time, handing each file's valid records to ``on_file``.

    The records meet exactly the rules of :func:`read_beacons` (same formats,
    checks and rejects); nothing is sorted or deduplicated, and nothing is kept
    after ``on_file`` returns, so memory is bounded by the largest file.

    Parameters
    ----------
    source
        As for :func:`read_beacons`.
    on_file
        Called once per file read, in order, with its :class:`FileBlocks`.
    format, assume_utc, progress
        As for :func:`read_beacons`.
    skip
        Called with each file before it is read; ``True`` leaves it unread (and
        out of the report).

    Returns
    -------
    LoadReport
        The account of the files read (``duplicates`` is left at 0: the caller
        collapses them).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.jsonl"
    >>> line = '{"site":"api","session":"s","event":"e","ts":"2026-01-19T15:00:00Z"}\n'
    >>> _ = path.write_text(line)
    >>> seen = []
    >>> report = read_beacon_files(path, lambda f: seen.append(sum(b.num_rows for b in f.blocks)))
    >>> (seen, report.accepted)
    ([1], 1)
    """
    _check_format(format)
    report = LoadReport()

    def read(file: SourceFile, on_bytes: Callable[[int], None]) -> None:
        if skip is not None and skip(file):
            return
        accumulator = BlockAccumulator()
        fmt = _resolve_format(file, sniff(file), format)
        stats, rejects = _read_file(file, fmt, accumulator, assume_utc=assume_utc, advance=on_bytes)
        on_file(FileBlocks(str(file.path), accumulator.blocks, stats, rejects))
        report.add_file(stats)
        report.rejects.extend(rejects)

    read_each_file(
        source,
        kinds=BEACON_FORMATS.keys(),
        report=report,
        read=read,
        progress=progress,
        description="reading beacons",
    )
    return report


def beacons_from_records(
    records: Iterable[Mapping[str, Any]],
    *,
    assume_utc: bool = False,
    strict: bool = False,
    source: str = "<records>",
) -> BeaconLoad:
    r"""Build the beacon table from beacons already in memory, as a file would give it.

    Each record is a beacon as sent on the wire (a JSON object: ``site``,
    ``session``, ``event``, ``ts`` as ISO 8601 text, optional ``structure``...).
    It goes through the rules of :func:`read_beacons`: bad records are
    quarantined with their position (1-based) instead of raising, exact
    duplicates are collapsed, and the table is sorted by site and time.

    Parameters
    ----------
    records
        Beacons as mappings; any iterable, consumed once.
    assume_utc
        Read timestamps without a UTC offset as UTC instead of rejecting them.
    strict
        Raise :class:`~rtt_topology.errors.StrictLoadError` if any record is rejected.
    source
        The name the report and the rejects give to the records.

    Returns
    -------
    BeaconLoad
        As :func:`read_beacons`: ``beacons`` and a ``report`` in which
        ``accepted + rejected == read``.

    Examples
    --------
    >>> beacons, report = beacons_from_records([
    ...     {"site": "api", "session": "s1", "event": "startup", "ts": "2026-01-19T15:00:00Z"},
    ...     {"site": "api", "session": "s1", "event": "heartbeat", "ts": "2026-01-19T15:00:30Z"},
    ...     {"site": "api", "session": "s1", "event": "heartbeat", "ts": "15:01"},
    ... ])
    >>> beacons[["site", "event", "ts"]]
      site      event                        ts
    0  api    startup 2026-01-19 15:00:00+00:00
    1  api  heartbeat 2026-01-19 15:00:30+00:00
    >>> print(report.rejects[0])
    <records>:3: ts: not an ISO 8601 timestamp
    """
    report = LoadReport()
    accumulator = BlockAccumulator()
    source_id = accumulator.add_source(source)
    batch = RecordBatch(source, lambda block: accumulator.add(block, source_id), assume_utc)
    for number, record in enumerate(records, start=1):
        # Through JSON text, so the records meet exactly the rules of a file's records.
        try:
            raw = json.dumps(record, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            batch.reject(number, None, f"not a JSON object: {exc}", repr(record))
            continue
        try:
            batch.add(loads_strict(raw), number, raw)
        except RecordError as problem:
            batch.reject(number, problem.field, problem.reason, raw)
    batch.flush()
    stats = FileStats(source, "records")
    stats.read, stats.rejected = batch.read, len(batch.rejects)
    stats.accepted = stats.read - stats.rejected
    report.add_file(stats)
    report.rejects.extend(sorted(batch.rejects, key=lambda r: r.line or 0))
    return _finish(accumulator, report, strict=strict)


def _finish(accumulator: BlockAccumulator, report: LoadReport, *, strict: bool) -> BeaconLoad:
    """Assemble the table, count the duplicates, and refuse if strict and not clean."""
    assembled = accumulator.finish()
    report.duplicates = assembled.duplicates
    report.duplicates_by_site = assembled.duplicates_by_site
    if strict:
        report.refuse_if_not_ok()
    return BeaconLoad(assembled.frame, report)
