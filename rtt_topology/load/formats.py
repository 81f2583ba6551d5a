"""Parse the beacon formats other than JSON Lines: JSON arrays, CSV, Parquet, service logs.

Each parser turns a file's content into records with their line (or position)
and raw text, and hands them to a :class:`RecordBatch`, which applies the type
rules of :mod:`rtt_topology.load.records` and the value rules of
:mod:`rtt_topology.load.columnar`. The parsers are pure: they receive text or an
Arrow table, never a path.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rtt_topology.errors import FormatError, RecordError
from rtt_topology.load import records
from rtt_topology.load.columnar import validate_block
from rtt_topology.load.logs import parse_log_lines
from rtt_topology.load.records import (
    RAW_SCHEMA,
    STRING_FIELDS,
    flatten_record,
    loads_strict,
    long_line_reason,
    raw_table,
)
from rtt_topology.load.report import RAW_LIMIT, Reject, truncate_raw
from rtt_topology.load.sources import line_spans
from rtt_topology.schemas import COUNT_FIELDS

__all__ = [
    "COLUMN_ALIASES",
    "RecordBatch",
    "parse_csv",
    "parse_json_array",
    "parse_log",
    "parse_parquet_table",
]

_STRUCTURE_FIELDS = ("url", "title", *COUNT_FIELDS)

#: Flattened column names accepted in CSV and Parquet, and the field each means.
COLUMN_ALIASES: dict[str, str] = {
    **{name: name for name in STRING_FIELDS},
    **{name: name for name in _STRUCTURE_FIELDS},
    **{f"structure.{name}": name for name in _STRUCTURE_FIELDS},
    **{f"structure_{name}": name for name in _STRUCTURE_FIELDS},
}
#: Rows of records validated at once.
_BATCH = 50_000


@dataclass
class RecordBatch:
    """Validate records one by one for types, then in batches for values.

    Parameters
    ----------
    source
        The file name, for rejects.
    on_block
        Called with each validated Arrow block.
    assume_utc
        Read naive timestamps as UTC.
    """

    source: str
    on_block: Callable[[pa.Table], None]
    assume_utc: bool = False
    read: int = 0
    rejects: list[Reject] = field(default_factory=list)
    _rows: list[dict[str, Any]] = field(default_factory=list)
    _raw: list[str] = field(default_factory=list)

    def reject(self, line: int | None, field_name: str | None, reason: str, raw: str) -> None:
        """Count and quarantine a record that could not even be parsed."""
        self.read += 1
        self.rejects.append(Reject(self.source, line, field_name, reason, truncate_raw(raw)))

    def add(self, record: Any, line: int, raw: str) -> None:
        """Add one parsed record (a mapping, hopefully) found at ``line``."""
        self.read += 1
        try:
            self._rows.append(flatten_record(record, line))
        except RecordError as problem:
            self.rejects.append(
                Reject(self.source, line, problem.field, problem.reason, truncate_raw(raw))
            )
            return
        self._raw.append(raw)
        if len(self._rows) >= _BATCH:
            self.flush()

    def add_rows(self, table: pa.Table, raw: Callable[[int], str]) -> None:
        """Add a whole raw table (``RAW_SCHEMA``); ``raw(i)`` gives row ``i``'s text."""
        self.read += table.num_rows
        self._validate(table, raw)

    def flush(self) -> None:
        """Validate the records added since the last flush."""
        if not self._rows:
            return
        rows, texts = self._rows, self._raw
        self._rows, self._raw = [], []
        self._validate(raw_table(rows), texts.__getitem__)

    def _validate(self, table: pa.Table, raw: Callable[[int], str]) -> None:
        valid, problems = validate_block(table, assume_utc=self.assume_utc)
        lines = table.column("line")
        for position, field_name, reason in problems:
            self.rejects.append(
                Reject(
                    self.source,
                    lines[position].as_py(),
                    field_name,
                    reason,
                    truncate_raw(raw(position)),
                )
            )
        self.on_block(valid)


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def parse_json_array(text: str, batch: RecordBatch, *, path: str) -> None:
    """Feed each element of a JSON array of beacons to ``batch``, with its line.

    Elements are decoded one at a time, so each keeps its own line number and
    raw text, and an element with a bad field is quarantined alone, as is an
    element longer than :data:`~rtt_topology.load.records.MAX_LINE_BYTES`
    characters or nested deeper than
    :data:`~rtt_topology.load.documents.MAX_DEPTH` levels.

    Raises
    ------
    FormatError
        If the text is not a JSON array, or is broken JSON (which cannot be
        resumed after the break), or an element nests beyond what the decoder
        can follow (Python's recursion limit), which cannot be resumed either.
    """
    limit = records.MAX_LINE_BYTES
    decoder = json.JSONDecoder()
    pos = _skip_space(text, 0)
    if pos >= len(text) or text[pos] != "[":
        raise FormatError(path, "not a JSON array")
    pos = _skip_space(text, pos + 1)
    line = 1 + text.count("\n", 0, pos)
    last = pos
    expect_value = True
    while pos < len(text) and text[pos] != "]":
        if not expect_value:
            raise FormatError(path, f"line {line}: expected ',' or ']' in the array")
        line += text.count("\n", last, pos)
        last = pos
        try:
            _, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise FormatError(
                path, f"line {exc.lineno} column {exc.colno}: invalid JSON ({exc.msg})"
            ) from exc
        except RecursionError as exc:
            raise FormatError(path, f"line {line}: invalid JSON (nesting too deep)") from exc
        try:
            if end - pos > limit:
                raise RecordError(
                    field=None, reason=f"element longer than {limit} characters ({end - pos})"
                )
            raw = text[pos:end]
            batch.add(loads_strict(raw), line, raw)
        except RecordError as problem:
            batch.reject(line, problem.field, problem.reason, text[pos : min(end, pos + RAW_LIMIT)])
        pos = _skip_space(text, end)
        expect_value = False
        if pos < len(text) and text[pos] == ",":
            pos = _skip_space(text, pos + 1)
            expect_value = True
    if pos >= len(text):
        raise FormatError(path, "unterminated JSON array")
    if _skip_space(text, pos + 1) != len(text):
        raise FormatError(path, "data after the end of the JSON array")
    batch.flush()


def _csv_row(row: dict[str | None, Any], mapping: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    structure: dict[str, Any] = {}
    for column, value in row.items():
        if column is None or value is None or value == "":
            continue
        name = mapping.get(column)
        if name is None:
            record[column] = value
        elif name in STRING_FIELDS:
            record[name] = value
        elif name in COUNT_FIELDS:
            text = value.strip()
            digits = text[1:] if text[:1] in "+-" else text
            if not digits.isdigit() or not digits.isascii():
                raise RecordError(
                    field=f"structure.{name}", reason="expected an integer, got string"
                )
            structure[name] = int(text)
        else:
            structure[name] = value
    if structure:
        record["structure"] = structure
    return record


class _CsvLines:
    """The physical lines of CSV text for :mod:`csv`, one at a time, within the line limit.

    A line longer than ``limit`` characters is handed on as an empty line (which
    :class:`csv.DictReader` skips) and noted in ``too_long``; ``taken`` holds the
    lines read since it was last cleared, for the raw text of a record.
    """

    def __init__(self, text: str, limit: int) -> None:
        self._text = text
        self._spans = line_spans(text)
        self.limit = limit
        self.number = 0
        self.taken: list[str] = []
        self.too_long: list[tuple[int, int, str]] = []

    def __iter__(self) -> _CsvLines:
        return self

    def __next__(self) -> str:
        start, end = next(self._spans)
        self.number += 1
        # Measured before it is copied: a long line is never sliced whole.
        length = end - start
        while length and self._text[start + length - 1] in "\r\n":
            length -= 1
        if length > self.limit:
            head = self._text[start : start + 4 * RAW_LIMIT]
            self.too_long.append((self.number, length, head))
            return "\n"
        line = self._text[start:end]
        # Blank lines before a record are not part of it.
        if self.taken or line.strip():
            self.taken.append(line)
        return line

    def first(self) -> int:
        """Return the line number of the first line taken (the current one if none)."""
        return self.number - max(len(self.taken), 1) + 1

    def raw(self) -> str:
        """Return the lines taken since the last call, joined, and forget them."""
        text = "".join(self.taken).rstrip("\r\n")
        self.taken = []
        return text


def parse_csv(
    text: str, batch: RecordBatch, *, path: str, max_line_chars: int | None = None
) -> None:
    """Feed each CSV data row to ``batch``; columns may be flat or ``structure.``-prefixed.

    Empty cells are absent values. Columns that are not beacon fields are kept
    as unknown keys (text). A line longer than ``max_line_chars`` (by default
    :data:`~rtt_topology.load.records.MAX_LINE_BYTES`) is one rejected record, not
    read; a row the :mod:`csv` module refuses (a field over its 128 KiB limit, a
    NUL character) is one rejected record, and reading goes on after it.

    Raises
    ------
    FormatError
        If the header names neither ``site`` nor ``ts``, or cannot be read.
    """
    limit = records.MAX_LINE_BYTES if max_line_chars is None else max_line_chars
    lines = _CsvLines(text, limit)
    reader = csv.DictReader(lines)
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        raise FormatError(path, f"CSV header cannot be read: {exc}") from exc
    if lines.too_long and lines.too_long[0][0] == 1:
        raise FormatError(path, f"CSV header line is longer than {limit} characters")
    mapping = {
        name: COLUMN_ALIASES[name.strip().lower()]
        for name in header
        if name.strip().lower() in COLUMN_ALIASES
    }
    if not {"site", "ts"} <= set(mapping.values()):
        raise FormatError(path, "CSV header has no site and ts columns")
    width = len(header)
    lines.raw()
    noted = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            batch.reject(lines.first(), None, f"invalid CSV: {exc}", lines.raw())
            continue
        finally:
            for number, length, head in lines.too_long[noted:]:
                batch.reject(number, None, long_line_reason(length, limit, "characters"), head)
            noted = len(lines.too_long)
        line = lines.first()
        raw = lines.raw()
        if None in row:
            batch.reject(line, None, f"row has more fields than the header ({width})", raw)
            continue
        if any(value is None for value in row.values()):
            batch.reject(line, None, f"row has fewer fields than the header ({width})", raw)
            continue
        try:
            record = _csv_row(row, mapping)
        except RecordError as problem:
            batch.reject(line, problem.field, problem.reason, raw)
            continue
        batch.add(record, line, raw)
    batch.flush()


def _text_column(table: pa.Table, name: str, path: str) -> pa.ChunkedArray:
    column = table.column(name)
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column.cast(pa.string())
    if pa.types.is_null(column.type):
        return column.cast(pa.string())
    raise FormatError(path, f"column {name} has type {column.type}, expected text")


_OUT_OF_RANGE = "integer out of range"
_FRACTION = "expected an integer, got a fraction"


def _count_column(table: pa.Table, name: str, path: str) -> tuple[pa.Array, dict[int, str]]:
    """Return the column as int64 (null where unusable) and the reason for each bad row."""
    column = table.column(name).combine_chunks()
    if pa.types.is_null(column.type):
        return pa.nulls(len(column), pa.int64()), {}
    if pa.types.is_integer(column.type):
        if not pa.types.is_uint64(column.type):
            return column.cast(pa.int64()), {}
        too_big = pc.fill_null(pc.greater(column, pa.scalar(2**63 - 1, pa.uint64())), False)
        bad = {int(i): _OUT_OF_RANGE for i in np.flatnonzero(np.asarray(too_big))}
        return pc.if_else(too_big, None, column).cast(pa.int64()), bad
    if pa.types.is_floating(column.type):
        # pandas writes nullable counts as floats: whole numbers are counts.
        values = np.asarray(column.fill_null(0), dtype=np.float64)
        valid = np.asarray(column.is_valid())
        fraction = valid & (~np.isfinite(values) | (values != np.round(values)))
        too_big = valid & ~fraction & (np.abs(values) >= 2**63)
        bad = {int(i): _FRACTION for i in np.flatnonzero(fraction)}
        bad.update({int(i): _OUT_OF_RANGE for i in np.flatnonzero(too_big)})
        unusable = fraction | too_big
        ints = np.where(unusable, 0, values).astype(np.int64)
        return pa.array(ints, mask=~valid | unusable), bad
    raise FormatError(path, f"column {name} has type {column.type}, expected integers")


def parse_parquet_table(table: pa.Table, batch: RecordBatch, *, path: str) -> None:
    """Feed a Parquet table of beacons to ``batch``; positions are 1-based row numbers.

    Columns may be flat, ``structure.``-prefixed, or a ``structure`` struct. ``ts``
    and ``received_at`` may be text or an Arrow timestamp (with a time zone, or
    naive: then the naive rule applies). Other columns are kept as unknown keys.

    Raises
    ------
    FormatError
        If there is no ``site`` or ``ts`` column, or a column has an unusable type.
    """
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    names = {name: COLUMN_ALIASES.get(name.strip().lower()) for name in table.column_names}
    found = {v: k for k, v in names.items() if v is not None}
    if not {"site", "ts"} <= set(found):
        raise FormatError(path, "Parquet file has no site and ts columns")
    n = table.num_rows
    columns: dict[str, Any] = {}
    bad_rows: dict[int, tuple[str, str]] = {}
    for name in RAW_SCHEMA.names:
        if name == "line":
            columns[name] = pa.array(np.arange(1, n + 1, dtype=np.int64))
        elif name == "extra":
            continue
        elif name not in found:
            columns[name] = pa.nulls(n, RAW_SCHEMA.field(name).type)
        elif name in COUNT_FIELDS:
            columns[name], bad = _count_column(table, found[name], path)
            for row, reason in bad.items():
                bad_rows.setdefault(row, (f"structure.{name}", reason))
        elif name in ("ts", "received_at") and pa.types.is_timestamp(
            table.column(found[name]).type
        ):
            columns[name] = table.column(found[name])
        else:
            columns[name] = _text_column(table, found[name], path)
    others = [name for name, target in names.items() if target is None]
    columns["extra"] = _extra_column(table, others)
    raw = pa.table(columns)

    def text(i: int) -> str:
        return json.dumps(table.slice(i, 1).to_pylist()[0], default=str, ensure_ascii=False)

    if bad_rows:
        keep = np.ones(n, dtype=bool)
        for i, (field_name, reason) in sorted(bad_rows.items()):
            keep[i] = False
            batch.reject(i + 1, field_name, reason, text(i))
        positions = np.flatnonzero(keep)
        raw = raw.take(pa.array(positions))
        batch.add_rows(raw, lambda i: text(int(positions[i])))
    else:
        batch.add_rows(raw, text)


def _extra_column(table: pa.Table, names: Iterable[str]) -> pa.Array:
    names = list(names)
    if not names:
        return pa.nulls(table.num_rows, pa.string())
    values = []
    for row in table.select(names).to_pylist():
        kept = {k: v for k, v in row.items() if v is not None}
        values.append(
            json.dumps(kept, default=str, ensure_ascii=False, separators=(",", ":"))
            if kept
            else None
        )
    return pa.array(values, pa.string())


def parse_log(text: str, batch: RecordBatch) -> int:
    """Feed each ``[RTT] <event> sent`` entry of a service log to ``batch``.

    Lines are bounded as in :func:`~rtt_topology.load.logs.parse_log_lines`.

    Returns
    -------
    int
        The number of lines that held no entry (skipped).
    """
    # Split on newlines only: JSON and Node output keep U+2028 and friends in strings.
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    parsed = parse_log_lines(lines, max_line_chars=records.MAX_LINE_BYTES)
    for entry in parsed.entries:
        if entry.payload is None:
            batch.reject(entry.line, None, entry.error or "unparseable payload", entry.raw)
        else:
            batch.add(entry.payload, entry.line, entry.raw)
    batch.flush()
    return parsed.skipped_lines
