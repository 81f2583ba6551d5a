"""Read JSON Lines beacons fast: Arrow parses whole blocks, bad blocks are narrowed down.

The file is read in blocks of whole lines. Each block is parsed by Arrow's JSON
reader with an explicit schema and validated column-wise. A block that Arrow
cannot parse as a whole (a malformed line, a type conflict, unknown keys, two
objects on one line) is split in parts that are parsed again, down to a few
hundred lines, which are then parsed one by one with the strict per-record rules
of :mod:`rtt_topology.load.records`. A clean file never touches per-record Python;
a file with a few bad lines pays a few extra block parses per bad line.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from rtt_topology.errors import RecordError
from rtt_topology.load.columnar import validate_block
from rtt_topology.load.records import (
    RAW_SCHEMA,
    flatten_record,
    loads_strict,
    raw_table,
)
from rtt_topology.load.report import Reject, truncate_raw
from rtt_topology.schemas import COUNT_FIELDS

__all__ = ["BLOCK_BYTES", "JsonLinesReader"]

#: Bytes read per block.
BLOCK_BYTES = 16 << 20
#: Blocks with at most this many lines are parsed line by line after a failure.
_LINE_BY_LINE = 256
#: A failing block is split in this many parts.
_SPLIT = 8

_STRUCT = pa.struct(
    [("url", pa.string()), ("title", pa.string())] + [(c, pa.int64()) for c in COUNT_FIELDS]
)
_SCHEMA = pa.schema(
    [
        ("site", pa.string()),
        ("session", pa.string()),
        ("event", pa.string()),
        ("ts", pa.string()),
        ("structure", _STRUCT),
    ]
)
_PARSE = pj.ParseOptions(explicit_schema=_SCHEMA, unexpected_field_behavior="infer")
# Each worker parses its block alone: Arrow's own threads would only compete.
_READ = pj.ReadOptions(use_threads=False, block_size=BLOCK_BYTES * 2)
#: Worker threads, and blocks read ahead of the one being collected.
_WORKERS = 2
_IN_FLIGHT = 3
_WHITESPACE = b" \t\r\f\v"
_NEWLINE = 10
_OPEN_BRACE = ord("{")


class _Lines:
    """Lines of a block: byte spans and file line numbers, found only when needed.

    A clean block needs only its line count; positions are computed on the first
    call that needs them (a reject's raw text, a split after a failed parse).
    """

    def __init__(
        self,
        data: bytes | memoryview,
        numbers: np.ndarray,
        starts: np.ndarray | None = None,
        ends: np.ndarray | None = None,
    ) -> None:
        self.data = data
        self.numbers = numbers  # 1-based line number of each line in the file
        self._starts = starts  # byte offset of each line
        self._ends = ends  # byte offset after each line (newline excluded)

    def __len__(self) -> int:
        return len(self.numbers)

    def positions(self) -> tuple[np.ndarray, np.ndarray]:
        if self._starts is None or self._ends is None:
            self._starts, self._ends = _line_spans(np.frombuffer(self.data, dtype=np.uint8))
        return self._starts, self._ends

    def text(self, i: int) -> bytes:
        starts, ends = self.positions()
        return bytes(self.data[int(starts[i]) : int(ends[i])])

    def subset(self, keep: np.ndarray) -> _Lines:
        starts, ends = self.positions()
        return _Lines(self.data, self.numbers[keep], starts[keep], ends[keep])

    def span(self) -> memoryview:
        view = memoryview(self.data)
        if self._starts is None or self._ends is None:
            return view
        return view[int(self._starts[0]) : int(self._ends[-1])]


def _line_spans(buffer: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    newlines = np.flatnonzero(buffer == _NEWLINE)
    starts = np.concatenate([[0], newlines + 1])
    ends = np.concatenate([newlines, [len(buffer)]])
    if starts[-1] == len(buffer):
        # The block ends with a newline: there is no line after it.
        starts, ends = starts[:-1], ends[:-1]
    return starts, ends


def _index_lines(data: bytes | memoryview, first_line: int) -> tuple[_Lines, _Lines, int, int]:
    """Find the lines of a block.

    Returns the lines that start with ``{`` (for Arrow), the other non-blank
    lines (never valid beacons: parsed one by one to say why), the number of
    blank lines, and the number of lines in the block.
    """
    buffer = np.frombuffer(data, dtype=np.uint8)
    newline = buffer == _NEWLINE
    count = int(np.count_nonzero(newline)) + (1 if len(buffer) and buffer[-1] != _NEWLINE else 0)
    numbers = np.arange(first_line, first_line + count, dtype=np.int64)
    # The usual block: every line starts with "{" (beacon lines do). Then only the
    # line count is needed.
    if len(buffer) and buffer[0] == _OPEN_BRACE:
        after = newline[:-1]
        if not np.count_nonzero(after & (buffer[1:] != _OPEN_BRACE)):
            return _Lines(data, numbers), _Lines(data, numbers[:0]), 0, count
    lines = _Lines(data, numbers)
    starts, ends = lines.positions()
    objects = np.ones(count, dtype=bool)
    blank = 0
    first = buffer[np.minimum(starts, max(len(buffer) - 1, 0))]
    suspects = np.flatnonzero((ends <= starts) | (first != _OPEN_BRACE))
    others = []
    for i in suspects.tolist():
        text = lines.text(i).lstrip(_WHITESPACE)
        if text.startswith(b"{"):
            continue
        objects[i] = False
        if text.strip(_WHITESPACE):
            # Arrow reads a bare `null` line as a row of nulls (and crashes on one
            # that opens a block): such lines never reach it.
            others.append(i)
        else:
            blank += 1
    return lines.subset(objects), lines.subset(np.array(others, dtype=np.int64)), blank, count


@dataclass
class _BlockResult:
    """What one block gave; line numbers are relative to the block (first line is 1)."""

    tables: list[pa.Table] = field(default_factory=list)
    rejects: list[tuple[int, str | None, str, bytes]] = field(default_factory=list)
    read: int = 0
    blank: int = 0
    slow_path: int = 0
    lines: int = 0


@dataclass(frozen=True)
class _BlockParser:
    """Parse and validate one block of whole lines; safe to run in several threads."""

    assume_utc: bool
    prepare: Callable[[pa.Table], pa.Table]

    def run(self, data: memoryview) -> _BlockResult:
        result = _BlockResult()
        objects, others, blank, physical = _index_lines(data, 1)
        result.blank, result.lines = blank, physical
        result.read = len(objects) + len(others)
        if len(objects):
            self._parse(objects, result)
        if len(others):
            self._line_by_line(others, result)
        return result

    def _parse(self, lines: _Lines, result: _BlockResult) -> None:
        table = _arrow(lines)
        if table is not None:
            self._emit(table, lines, result)
            return
        count = len(lines)
        if count <= _LINE_BY_LINE:
            self._line_by_line(lines, result)
            return
        for part in np.array_split(np.arange(count), _SPLIT):
            if len(part):
                self._parse(lines.subset(part), result)

    def _line_by_line(self, lines: _Lines, result: _BlockResult) -> None:
        rows = []
        kept = []
        result.slow_path += len(lines)
        for i in range(len(lines)):
            text = lines.text(i)
            number = int(lines.numbers[i])
            try:
                rows.append(flatten_record(loads_strict(text), number))
                kept.append(i)
            except RecordError as problem:
                result.rejects.append((number, problem.field, problem.reason, text))
        if rows:
            self._emit(raw_table(rows), lines.subset(np.array(kept, dtype=np.int64)), result)

    def _emit(self, table: pa.Table, lines: _Lines, result: _BlockResult) -> None:
        """Validate a raw table whose row ``i`` came from line ``i`` of ``lines``."""
        valid, problems = validate_block(table, assume_utc=self.assume_utc)
        for position, field_name, reason in problems:
            number = int(lines.numbers[position])
            result.rejects.append((number, field_name, reason, lines.text(position)))
        if valid.num_rows:
            result.tables.append(self.prepare(valid))


def _arrow(lines: _Lines) -> pa.Table | None:
    """Parse lines with Arrow; ``None`` unless it gives one clean row per line."""
    try:
        table = pj.read_json(
            pa.BufferReader(pa.py_buffer(lines.span())),
            read_options=_READ,
            parse_options=_PARSE,
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    # Unknown keys appear as extra fields; two objects on a line as extra rows.
    # Such blocks go on to be split, then read line by line.
    if table.num_rows != len(lines) or not table.schema.equals(_SCHEMA):
        return None
    flat = table.flatten()
    columns = {name: flat.column(name) for name in ("site", "session", "event", "ts")}
    columns["url"] = flat.column("structure.url")
    columns["title"] = flat.column("structure.title")
    for name in COUNT_FIELDS:
        columns[name] = flat.column(f"structure.{name}")
    columns["extra"] = pa.nulls(table.num_rows, pa.string())
    columns["line"] = pa.array(lines.numbers)
    return pa.table(columns, schema=RAW_SCHEMA)


def _blocks(stream: IO[bytes], spare: list[bytearray]) -> Iterator[tuple[bytearray, int]]:
    """Yield ``(buffer, length)`` blocks of whole lines (the last may lack its newline).

    Buffers are taken from ``spare`` when one is free: allocating and zeroing a
    fresh block each time costs as much as reading it.
    """
    tail = b""
    first = True
    while True:
        size = max(BLOCK_BYTES, 2 * len(tail))
        buffer = spare.pop() if spare and len(spare[-1]) >= size else bytearray(size)
        size = len(buffer)
        buffer[: len(tail)] = tail
        with memoryview(buffer) as view:
            got = stream.readinto(view[len(tail) : size])  # type: ignore[attr-defined]
        have = len(tail) + got
        if got:
            cut = buffer.rfind(b"\n", 0, have) + 1
            if cut == 0:
                # One line longer than a block: read on with a bigger buffer.
                tail = bytes(buffer[:have])
                continue
        else:
            cut = have
        if cut == 0:
            return
        tail = bytes(buffer[cut:have])
        if first:
            first = False
            if buffer.startswith(b"\xef\xbb\xbf"):
                buffer[:3] = b"   "
        yield buffer, cut
        if not got:
            return


@dataclass
class JsonLinesReader:
    """Read one JSON Lines file into validated Arrow blocks, blocks in parallel.

    Blocks are parsed and validated by worker threads (Arrow and numpy release
    the GIL) and handed to ``on_block`` in file order, so results do not depend on
    timing.

    Parameters
    ----------
    source
        The file name, for rejects.
    on_block
        Called, in file order, with each validated block after ``prepare``.
    assume_utc
        Read naive timestamps as UTC.
    prepare
        Applied to each validated block in the worker thread (e.g. encoding).
    """

    source: str
    on_block: Callable[[pa.Table], None]
    assume_utc: bool = False
    prepare: Callable[[pa.Table], pa.Table] = lambda table: table
    read: int = 0
    blank: int = 0
    slow_path: int = 0
    rejects: list[Reject] = field(default_factory=list)
    _lines: int = 0

    def read_stream(
        self, stream: IO[bytes], *, on_bytes: Callable[[int], None] | None = None
    ) -> None:
        """Read every line of ``stream``; ``on_bytes`` is told how many bytes each block had."""
        parser = _BlockParser(self.assume_utc, self.prepare)
        pending: deque[tuple[Future[_BlockResult], bytearray, int]] = deque()
        spare: list[bytearray] = []
        with ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="rtt-jsonl") as pool:
            for buffer, length in _blocks(stream, spare):
                future = pool.submit(parser.run, memoryview(buffer)[:length])
                pending.append((future, buffer, length))
                while len(pending) > _IN_FLIGHT:
                    self._collect(*pending.popleft(), spare, on_bytes)
            while pending:
                self._collect(*pending.popleft(), spare, on_bytes)

    def _collect(
        self,
        future: Future[_BlockResult],
        buffer: bytearray,
        size: int,
        spare: list[bytearray],
        on_bytes: Callable[[int], None] | None,
    ) -> None:
        result = future.result()
        # The block is parsed: its buffer can take a later block.
        spare.append(buffer)
        offset = self._lines
        self._lines += result.lines
        self.read += result.read
        self.blank += result.blank
        self.slow_path += result.slow_path
        for line, field_name, reason, raw in result.rejects:
            text = truncate_raw(raw.decode("utf-8", errors="replace").strip())
            self.rejects.append(Reject(self.source, line + offset, field_name, reason, text))
        for table in result.tables:
            if offset:
                index = table.schema.get_field_index("line")
                table = table.set_column(index, "line", pc.add(table.column("line"), offset))
            self.on_block(table)
        if on_bytes is not None:
            on_bytes(size)
