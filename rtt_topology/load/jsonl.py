"""Read JSON Lines beacons fast: whole blocks are parsed at once, bad blocks are narrowed down.

The file is read in blocks of whole lines. A block of at least
:data:`DUCKDB_MIN_BYTES` is first offered to DuckDB
(:mod:`rtt_topology.load.duckdb_blocks`), which parses it twice as fast as Arrow
and is taken only when the block is provably clean and every value passes the
rules; this is the usual case. Otherwise the block is parsed by Arrow's JSON
reader with an explicit schema and validated column-wise. A block that Arrow
cannot parse as a whole (a malformed line, a type conflict, unknown keys, two
objects on one line) is split in parts that are parsed again, down to a few
hundred lines, which are then parsed one by one with the strict per-record rules
of :mod:`rtt_topology.load.records`. A clean file never touches per-record Python;
a file with a few bad lines pays a few extra block parses per bad line.

Hostile lines cost what they weigh, and never reach Arrow:

- a line longer than :data:`~rtt_topology.load.records.MAX_LINE_BYTES` is one
  rejected record ("line longer than ..."), never parsed. Within a block its bytes
  are blanked; a line longer than a block is skipped as it is read, so memory stays
  at a few blocks whatever its length;
- a line with more than :data:`MAX_ARROW_BRACKETS` opening brackets (``{`` or ``[``,
  counted inside strings too) is parsed alone by the per-record rules, which refuse
  nesting deeper than :data:`~rtt_topology.load.documents.MAX_DEPTH` levels. Arrow's
  parser recurses, and nesting some ten thousand levels deep crashes the process;
  a beacon line holds two brackets.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from rtt_topology.errors import RecordError
from rtt_topology.load import records
from rtt_topology.load.blocks import Lines, index_lines, read_blocks, set_aside
from rtt_topology.load.columnar import validate_block
from rtt_topology.load.duckdb_blocks import imported as duckdb_imported
from rtt_topology.load.duckdb_blocks import parse_clean_block
from rtt_topology.load.records import (
    RAW_SCHEMA,
    flatten_record,
    loads_strict,
    long_line_reason,
    raw_table,
)
from rtt_topology.load.report import Reject, truncate_raw
from rtt_topology.schemas import COUNT_FIELDS

__all__ = [
    "BLOCK_BYTES",
    "DUCKDB_AFTER_BYTES",
    "DUCKDB_MIN_BYTES",
    "MAX_ARROW_BRACKETS",
    "BlockParser",
    "BlockResult",
    "JsonLinesReader",
]

#: Bytes read per block.
BLOCK_BYTES = 16 << 20
#: Blocks of at least this many bytes are first offered to DuckDB (see
#: :mod:`rtt_topology.load.duckdb_blocks`); below it, its fixed costs outweigh its speed.
DUCKDB_MIN_BYTES = 1 << 20
#: DuckDB is imported (some 0.3 s, once per process) only for a stream that has
#: already given this many bytes: it pays off on large files only.
DUCKDB_AFTER_BYTES = 64 << 20
#: Lines with more opening brackets than this are parsed alone, never by Arrow.
MAX_ARROW_BRACKETS = 1_000
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
        ("received_at", pa.string()),
    ]
)
_PARSE = pj.ParseOptions(explicit_schema=_SCHEMA, unexpected_field_behavior="infer")
# Each worker parses its block alone: Arrow's own threads would only compete.
_READ = pj.ReadOptions(use_threads=False, block_size=BLOCK_BYTES * 2)
#: Worker threads, and blocks read ahead of the one being collected.
_WORKERS = 2
_IN_FLIGHT = 3


@dataclass
class BlockResult:
    """What one block gave; line numbers are relative to the block (first line is 1)."""

    tables: list[pa.Table] = field(default_factory=list)
    rejects: list[tuple[int, str | None, str, bytes]] = field(default_factory=list)
    read: int = 0
    blank: int = 0
    slow_path: int = 0
    lines: int = 0


@dataclass(frozen=True)
class BlockParser:
    """Parse and validate one block of whole lines; safe to run in several threads."""

    assume_utc: bool
    prepare: Callable[[pa.Table], pa.Table]
    max_line: int

    def run(self, data: memoryview, *, duckdb: bool = True) -> BlockResult:
        """Return the tables and rejects of one block of whole lines.

        ``duckdb=False`` keeps the block from DuckDB (see :data:`DUCKDB_MIN_BYTES`).
        """
        table = None
        if duckdb and len(data) >= DUCKDB_MIN_BYTES:
            table = parse_clean_block(data, max_line=self.max_line, max_brackets=MAX_ARROW_BRACKETS)
        if table is not None:
            valid, problems = validate_block(table, assume_utc=self.assume_utc)
            # A block with a problem is read the strict way, for the exact reasons.
            if not problems:
                rows = valid.num_rows
                return BlockResult(tables=[self.prepare(valid)], read=rows, lines=rows)
        result = BlockResult()
        too_long, heavy = set_aside(data, max_line=self.max_line, max_brackets=MAX_ARROW_BRACKETS)
        objects, others, blank, physical = index_lines(data, 1)
        # Set-aside lines are blank now, but each is a record.
        aside = len(too_long) + len(heavy)
        result.blank, result.lines = blank - aside, physical
        result.read = len(objects) + len(others) + aside
        for number, length, head in too_long:
            result.rejects.append((number, None, long_line_reason(length, self.max_line), head))
        if len(objects):
            self._parse(objects, result)
        if len(others):
            self._line_by_line(others, result)
        if heavy:
            texts = b"\n".join(text for _, text in heavy)
            numbers = np.array([number for number, _ in heavy], dtype=np.int64)
            self._line_by_line(Lines(texts, numbers), result)
        return result

    def _parse(self, lines: Lines, result: BlockResult) -> None:
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

    def _line_by_line(self, lines: Lines, result: BlockResult) -> None:
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

    def _emit(self, table: pa.Table, lines: Lines, result: BlockResult) -> None:
        """Validate a raw table whose row ``i`` came from line ``i`` of ``lines``."""
        valid, problems = validate_block(table, assume_utc=self.assume_utc)
        for position, field_name, reason in problems:
            number = int(lines.numbers[position])
            result.rejects.append((number, field_name, reason, lines.text(position)))
        if valid.num_rows:
            result.tables.append(self.prepare(valid))


def _arrow(lines: Lines) -> pa.Table | None:
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
    columns = {name: flat.column(name) for name in records.STRING_FIELDS}
    columns["url"] = flat.column("structure.url")
    columns["title"] = flat.column("structure.title")
    for name in COUNT_FIELDS:
        columns[name] = flat.column(f"structure.{name}")
    columns["extra"] = pa.nulls(table.num_rows, pa.string())
    columns["line"] = pa.array(lines.numbers)
    return pa.table(columns, schema=RAW_SCHEMA)


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
    max_line_bytes
        Lines longer than this are rejected unread; by default
        :data:`~rtt_topology.load.records.MAX_LINE_BYTES`.
    """

    source: str
    on_block: Callable[[pa.Table], None]
    assume_utc: bool = False
    prepare: Callable[[pa.Table], pa.Table] = lambda table: table
    max_line_bytes: int | None = None
    read: int = 0
    blank: int = 0
    slow_path: int = 0
    rejects: list[Reject] = field(default_factory=list)
    _lines: int = 0

    def read_stream(
        self, stream: IO[bytes], *, on_bytes: Callable[[int], None] | None = None
    ) -> None:
        """Read every line of ``stream``; ``on_bytes`` is told how many bytes each block had."""
        max_line = records.MAX_LINE_BYTES if self.max_line_bytes is None else self.max_line_bytes
        parser = BlockParser(self.assume_utc, self.prepare, max_line)
        pending: deque[tuple[Future[BlockResult], bytearray | None, int]] = deque()
        spare: list[bytearray] = []
        seen = 0
        with ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="rtt-jsonl") as pool:
            for buffer, length, head in read_blocks(
                stream, spare, block_bytes=BLOCK_BYTES, max_line=max_line
            ):
                if buffer is None:
                    # A line skipped as too long: one rejected record, in file order.
                    future: Future[BlockResult] = Future()
                    reason = long_line_reason(length, max_line)
                    future.set_result(
                        BlockResult(rejects=[(1, None, reason, head)], read=1, lines=1)
                    )
                else:
                    seen += length
                    duckdb = seen > DUCKDB_AFTER_BYTES or duckdb_imported()
                    future = pool.submit(parser.run, memoryview(buffer)[:length], duckdb=duckdb)
                pending.append((future, buffer, length))
                while len(pending) > _IN_FLIGHT:
                    self._collect(*pending.popleft(), spare, on_bytes)
            while pending:
                self._collect(*pending.popleft(), spare, on_bytes)

    def _collect(
        self,
        future: Future[BlockResult],
        buffer: bytearray | None,
        size: int,
        spare: list[bytearray],
        on_bytes: Callable[[int], None] | None,
    ) -> None:
        result = future.result()
        # The block is parsed: its buffer can take a later block.
        if buffer is not None:
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
