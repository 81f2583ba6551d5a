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

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

import numpy as np
import pyarrow as pa
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
_READ = pj.ReadOptions(block_size=1 << 20)
_WHITESPACE = b" \t\r\f\v"
_NEWLINE = 10
_OPEN_BRACE = ord("{")


@dataclass
class _Lines:
    """Where the lines of a block are: byte spans and file line numbers."""

    data: bytes | memoryview
    starts: np.ndarray  # byte offset of each line
    ends: np.ndarray  # byte offset after each line (newline excluded)
    numbers: np.ndarray  # 1-based line number of each line in the file

    def text(self, i: int) -> bytes:
        return bytes(self.data[int(self.starts[i]) : int(self.ends[i])])

    def subset(self, keep: np.ndarray) -> _Lines:
        return _Lines(self.data, self.starts[keep], self.ends[keep], self.numbers[keep])

    def span(self) -> memoryview:
        view = memoryview(self.data)
        return view[int(self.starts[0]) : int(self.ends[-1])]


def _index_lines(data: bytes | memoryview, first_line: int) -> tuple[_Lines, _Lines, int, int]:
    """Find the lines of a block.

    Returns the lines that start with ``{`` (for Arrow), the other non-blank
    lines (never valid beacons: parsed one by one to say why), the number of
    blank lines, and the number of lines in the block.
    """
    buffer = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buffer == _NEWLINE)
    starts = np.concatenate([[0], newlines + 1])
    ends = np.concatenate([newlines, [len(buffer)]])
    if starts[-1] == len(buffer):
        # The block ends with a newline: there is no line after it.
        starts, ends = starts[:-1], ends[:-1]
    numbers = np.arange(first_line, first_line + len(starts), dtype=np.int64)
    lines = _Lines(data, starts, ends, numbers)
    objects = np.ones(len(starts), dtype=bool)
    blank = 0
    # Beacon lines start with "{"; only the others need a look.
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
    if len(suspects) == 0:
        return lines, lines.subset(np.zeros(0, dtype=np.int64)), 0, len(starts)
    return lines.subset(objects), lines.subset(np.array(others, dtype=np.int64)), blank, len(starts)


@dataclass
class JsonLinesReader:
    """Parse the blocks of one JSON Lines file into validated Arrow blocks.

    Parameters
    ----------
    source
        The file name, for rejects.
    on_block
        Called with each validated block (``ts`` parsed).
    assume_utc
        Read naive timestamps as UTC.
    """

    source: str
    on_block: Callable[[pa.Table], None]
    assume_utc: bool = False
    read: int = 0
    blank: int = 0
    slow_path: int = 0
    rejects: list[Reject] = field(default_factory=list)

    def read_stream(
        self, stream: IO[bytes], *, on_bytes: Callable[[int], None] | None = None
    ) -> None:
        """Read every line of ``stream``; ``on_bytes`` is told how many bytes each block had."""
        buffer = bytearray(BLOCK_BYTES)
        view = memoryview(buffer)
        have = 0
        line = 1
        at_start = True
        while True:
            if have == len(buffer):
                # A single line longer than the block: grow the buffer.
                view.release()
                buffer.extend(bytes(len(buffer)))
                view = memoryview(buffer)
            got = stream.readinto(view[have:])  # type: ignore[attr-defined]
            if got:
                have += got
                cut = buffer.rfind(b"\n", 0, have) + 1
                if cut == 0:
                    continue
            else:
                cut = have
            if cut == 0:
                break
            data = bytes(view[:cut])
            if at_start:
                at_start = False
                if data.startswith(b"\xef\xbb\xbf"):
                    data = b"   " + data[3:]
            line = self._block(data, line)
            if on_bytes is not None:
                on_bytes(cut)
            rest = have - cut
            buffer[:rest] = buffer[cut:have]
            have = rest
            if not got:
                break

    def _block(self, data: bytes, first_line: int) -> int:
        objects, others, blank, physical = _index_lines(data, first_line)
        self.blank += blank
        self.read += len(objects.starts) + len(others.starts)
        if len(objects.starts):
            self._parse(objects)
        if len(others.starts):
            self._line_by_line(others)
        return first_line + physical

    def _parse(self, lines: _Lines) -> None:
        table = self._arrow(lines)
        if table is not None:
            self._emit(table, lines)
            return
        count = len(lines.starts)
        if count <= _LINE_BY_LINE:
            self._line_by_line(lines)
            return
        for part in np.array_split(np.arange(count), _SPLIT):
            if len(part):
                self._parse(lines.subset(part))

    def _arrow(self, lines: _Lines) -> pa.Table | None:
        """Parse lines with Arrow; ``None`` unless it gives one clean row per line."""
        try:
            table = pj.read_json(
                pa.BufferReader(pa.py_buffer(lines.span())),
                read_options=_READ,
                parse_options=_PARSE,
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        # Unknown keys appear as extra fields; two objects on a line as extra rows,
        # and blank lines were removed from the count. Such blocks go line by line.
        if table.num_rows != len(lines.starts) or not table.schema.equals(_SCHEMA):
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

    def _line_by_line(self, lines: _Lines) -> None:
        rows = []
        kept = []
        self.slow_path += len(lines.starts)
        for i in range(len(lines.starts)):
            text = lines.text(i)
            number = int(lines.numbers[i])
            try:
                rows.append(flatten_record(loads_strict(text), number))
                kept.append(i)
            except RecordError as problem:
                self._reject(number, problem.field, problem.reason, text)
        if rows:
            self._emit(raw_table(rows), lines.subset(np.array(kept, dtype=np.int64)))

    def _emit(self, table: pa.Table, lines: _Lines) -> None:
        """Validate a raw table whose row ``i`` came from line ``i`` of ``lines``."""
        valid, problems = validate_block(table, assume_utc=self.assume_utc)
        for position, field_name, reason in problems:
            number = int(lines.numbers[position])
            self._reject(number, field_name, reason, lines.text(position))
        self.on_block(valid)

    def _reject(self, line: int, field_name: str | None, reason: str, raw: bytes) -> None:
        text = raw.decode("utf-8", errors="replace").strip()
        self.rejects.append(Reject(self.source, line, field_name, reason, truncate_raw(text)))
