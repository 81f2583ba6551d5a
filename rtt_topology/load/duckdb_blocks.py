"""Parse a clean block of JSON Lines with DuckDB, and prove it clean by counting bytes.

DuckDB's JSON reader parses a beacon block about twice as fast as Arrow's, but it
is lenient where the beacon rules are strict: it turns a number into text for a
text field, reads ``"3"``, ``true`` or ``1E2`` as a count, and skips unknown keys.
So it is used only as a fast path: :func:`parse_clean_block` returns the block's
raw table when it can *prove* that the block is one Arrow would read to the very
same table with no problem at all, and ``None`` otherwise (the caller then reads
the block the strict way, line by line where needed, with the same reasons).

How the proof goes. DuckDB hands back, per line, the text fields as JSON tokens
(``site``, ``session``, ``event``, ``url``, ``title``: quoted, so their type shows),
``ts``, ``received_at`` and the counts as text (a count must cast to int64, a
timestamp must parse, or the block goes the strict way). From those tokens the
length ``E`` of the line written compactly with only the known keys is computed.
The line itself is ``C`` bytes once whitespace between tokens is dropped, and
``C >= E``: every byte of ``E`` is a byte of the line; anything else on the line
(an unknown or repeated key, a trailing comma, an escape where none is needed, a
``null`` member, a quoted count) adds bytes. One shape writes fewer bytes than
``E`` assumes: a ``structure`` that is not an object (``5``, ``[]``) is read as an
empty object ``{}``; it always writes fewer ``{`` too, and no anomaly adds more
``{`` than it adds other bytes. So with ``k`` the ``{`` found minus those
expected, ``C - E - k >= 0`` on every line, zero only for a clean line or such a
structure, which has ``k = -1``. The block is accepted when, summed over its
lines, ``C - E = 0`` and ``k = 0``: every line is then clean. The sums come from
a few counts over the block's bytes and over the (small) dictionaries of the text
columns, never from a Python step per line.

A timestamp that was not a JSON string reads as text no timestamp rule accepts
(``20260119``, ``true``, ``{...}``), so the caller's validation sends its block the
strict way. Blocks are taken only when every line starts with ``{``, no line is
longer than the line limit or holds more brackets than the bracket limit, the
bytes are valid UTF-8, and DuckDB parses every line. Connections (one thread
each) are kept for the next block: connecting costs more than a small block.
"""

from __future__ import annotations

import codecs
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rtt_topology.errors import RecordError
from rtt_topology.load.records import STRICT_JSON
from rtt_topology.schemas import COUNT_FIELDS

__all__ = ["TOKEN_FIELDS", "available", "imported", "parse_clean_block"]

#: Text fields read as JSON tokens (their type shows), top level then ``structure``.
TOKEN_FIELDS: tuple[str, ...] = ("site", "session", "event", "url", "title")
_TOP_TEXT = ("site", "session", "event")
_TOP_TIME = ("ts", "received_at")
_SUB_TEXT = ("url", "title")
_STRUCTURE: dict[str, Any] = {
    **dict.fromkeys(_TOP_TEXT, "JSON"),
    **dict.fromkeys(_TOP_TIME, "VARCHAR"),
    "structure": {**dict.fromkeys(_SUB_TEXT, "JSON"), **dict.fromkeys(COUNT_FIELDS, "VARCHAR")},
}
# Built from the constants above only.
_QUERY = f"SELECT from_json(j, '{json.dumps(_STRUCTURE, separators=(',', ':'))}') AS r FROM lines"  # noqa: S608
_NEWLINE, _OPEN_BRACE, _OPEN_BRACKET = 10, ord("{"), ord("[")
_SPACE, _TAB, _CR = 32, 9, 13
_lock = threading.Lock()
_module: list[Any] = []
# Idle connections per process. A forked child must not use its parent's connections
# (their threads did not survive the fork), nor close them (closing joins those threads:
# a crash), nor take a lock that another thread held at the fork: it finds no pool under
# its own pid and makes one; its parent's stays untouched until the child exits.
_pools: dict[int, tuple[threading.Lock, list[Any]]] = {}


def _pool() -> tuple[threading.Lock, list[Any]]:
    return _pools.setdefault(os.getpid(), (threading.Lock(), []))


def imported() -> bool:
    """Tell whether DuckDB is already imported (then using it costs no import).

    Examples
    --------
    >>> available() and imported()
    True
    """
    return bool(_module) and _module[0] is not None


def available() -> bool:
    """Tell whether DuckDB can be imported (it is imported once, on first use).

    Examples
    --------
    >>> available()
    True
    """
    with _lock:
        if not _module:
            try:
                import duckdb
            except ImportError:  # pragma: no cover - duckdb is a dependency
                _module.append(None)
            else:
                _module.append(duckdb)
    return _module[0] is not None


@contextmanager
def _connection() -> Iterator[Any]:
    """Lend a DuckDB connection of one thread; connections are kept for the next block."""
    lock, idle = _pool()
    with lock:
        con = idle.pop() if idle else None
    if con is None:
        # Connecting costs tens of milliseconds: a few are made, then reused.
        con = _module[0].connect(config={"threads": 1})
    try:
        yield con
    finally:
        with lock:
            idle.append(con)


def _fetch(relation: Any) -> pa.Table:
    # DuckDB 2 names it to_arrow_table; DuckDB 1, arrow.
    fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
    table: pa.Table = fetch()
    return table


def _line_starts(buffer: np.ndarray, *, max_line: int, max_brackets: int) -> np.ndarray | None:
    """Return the offsets of every line and the block's end, or ``None`` if the block is unusual.

    Usual: not empty, every line opens an object at its first byte, and no line is
    longer than ``max_line`` or holds more than ``max_brackets`` brackets.
    """
    size = len(buffer)
    if not size or buffer[0] != _OPEN_BRACE:
        return None
    newlines = np.flatnonzero(buffer == _NEWLINE)
    inner = newlines[newlines < size - 1]
    if len(inner) and np.any(buffer[inner + 1] != _OPEN_BRACE):
        return None
    starts = np.concatenate([[0], inner + 1, [size]]).astype(np.int64)
    lengths = np.diff(starts)
    if lengths.max() > max_brackets:
        if lengths.max() > max_line:
            return None
        for i in np.flatnonzero(lengths > max_brackets).tolist():
            line = buffer[starts[i] : starts[i + 1]]
            if np.count_nonzero((line == _OPEN_BRACE) | (line == _OPEN_BRACKET)) > max_brackets:
                return None
    return starts


def _decode(tokens: pa.Array) -> pa.Array | None:
    """Decode a dictionary of JSON string tokens; ``None`` if one is not a string."""
    if not len(tokens):
        return pa.array([], pa.string())
    if not pc.all(pc.starts_with(tokens, '"')).as_py():
        return None
    texts = pc.utf8_slice_codeunits(tokens, 1, -1)
    escaped = np.flatnonzero(np.asarray(pc.match_substring(tokens, "\\")))
    if not len(escaped):
        return texts
    values = texts.to_pylist()
    for i in escaped.tolist():
        try:
            value = STRICT_JSON.decode(tokens[i].as_py())
            value.encode("utf-8")
        except (ValueError, RecordError, UnicodeEncodeError):
            return None
        values[i] = value
    return pa.array(values, pa.string())


class _Sums:
    """Running totals of the proof: bytes and ``{`` expected, and where spaces may hide."""

    def __init__(self, rows: int) -> None:
        self.expected = 0
        self.braces = 0
        self.top = np.zeros(rows, dtype=np.int64)  # members of each line
        self.sub = np.zeros(rows, dtype=np.int64)  # members of each structure
        # Spaces inside strings are counted only when a block has whitespace to explain.
        self.tokens: list[tuple[np.ndarray, pa.Array]] = []
        self.texts: list[pa.Array] = []

    def member(self, key: str, present: int, token_bytes: int) -> None:
        self.expected += present * (len(key) + 3) + token_bytes

    def members(self, counts: np.ndarray, valid: pa.Array) -> None:
        if valid.null_count == 0:
            counts += 1
        elif valid.null_count < len(valid):
            counts += np.asarray(valid.is_valid())

    def objects(self, present: np.ndarray | None, members: np.ndarray) -> None:
        """Add the braces and commas of objects (every row when ``present`` is ``None``)."""
        if present is not None:
            members = members[present]
        count = len(members)
        self.expected += 2 * count + int(members.sum()) - int(np.count_nonzero(members))
        self.braces += count

    def spaces(self) -> int:
        found = sum(int(freq @ _counts(tokens, " ")) for freq, tokens in self.tokens)
        return found + sum(int(pc.sum(pc.count_substring(t, " ")).as_py() or 0) for t in self.texts)


def _counts(tokens: pa.Array, pattern: str) -> np.ndarray:
    return np.asarray(pc.count_substring(tokens, pattern), dtype=np.int64)


def _token_column(column: pa.Array, name: str, sums: _Sums) -> pa.DictionaryArray | None:
    """Dictionary-encode a column of JSON tokens, decode it, and add it to the sums."""
    encoded = pc.dictionary_encode(column)
    tokens = encoded.dictionary
    decoded = _decode(tokens)
    if decoded is None:
        return None
    indices = encoded.indices
    if indices.null_count:
        codes = np.asarray(indices.fill_null(0))[np.asarray(indices.is_valid())]
    else:
        codes = np.asarray(indices)
    freq = np.bincount(codes, minlength=len(tokens)).astype(np.int64)
    sizes = np.asarray(pc.binary_length(tokens), dtype=np.int64)
    sums.member(name, len(codes), int(freq @ sizes))
    sums.braces += int(freq @ _counts(tokens, "{"))
    sums.tokens.append((freq, tokens))
    sums.members(sums.top if name in _TOP_TEXT else sums.sub, indices)
    return pa.DictionaryArray.from_arrays(indices, decoded)


def _text_column(column: pa.Array, name: str, sums: _Sums, *, quoted: bool) -> None:
    """Add a text column (``ts`` or a count, as text) to the sums."""
    count = len(column) - column.null_count
    if count:
        size = int(pc.sum(pc.binary_length(column)).as_py())
        sums.member(name, count, size + (2 * count if quoted else 0))
        if quoted:
            sums.texts.append(column)
    sums.members(sums.top if quoted else sums.sub, column)


def parse_clean_block(data: memoryview, *, max_line: int, max_brackets: int) -> pa.Table | None:
    r"""Parse a block of whole JSON Lines with DuckDB, or return ``None`` unless it is surely clean.

    Parameters
    ----------
    data
        The block: whole lines, the last one with or without its newline.
    max_line
        Lines longer than this many bytes make the block unusual.
    max_brackets
        So do lines with more opening brackets than this.

    Returns
    -------
    pyarrow.Table or None
        The raw table (the columns of :data:`~rtt_topology.load.records.RAW_SCHEMA`,
        text fields dictionary-encoded, ``line`` counted from 1), exactly as Arrow's
        reader would give it; ``None`` when the block must be read the strict way.

    Examples
    --------
    >>> block = b'{"site":"a","session":"s","event":"heartbeat","ts":"2026-01-19T15:00:00Z"}\n'
    >>> table = parse_clean_block(memoryview(block), max_line=1 << 20, max_brackets=1000)
    >>> table.column("site").to_pylist(), table.column("line").to_pylist()
    (['a'], [1])
    >>> bad = b'{"site":5,"session":"s","event":"heartbeat","ts":"2026-01-19T15:00:00Z"}\n'
    >>> parse_clean_block(memoryview(bad), max_line=1 << 20, max_brackets=1000) is None
    True
    """
    if not available():
        return None
    buffer = np.frombuffer(data, dtype=np.uint8)
    starts = _line_starts(buffer, max_line=max_line, max_brackets=max_brackets)
    if starts is None:
        return None
    if buffer.max() >= 0x80:
        try:
            codecs.utf_8_decode(data, "strict", True)
        except UnicodeDecodeError:
            return None
    n = len(starts) - 1
    lines = pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(starts.astype(np.int32)), pa.py_buffer(data)]
    )
    with _connection() as con:
        try:
            con.register("lines", pa.table({"j": lines}))
            parsed = _fetch(con.sql(_QUERY))
        except _module[0].Error:
            return None
        finally:
            con.unregister("lines")
    if parsed.num_rows != n:
        return None
    return _prove(parsed, buffer, starts)


def _prove(parsed: pa.Table, buffer: np.ndarray, starts: np.ndarray) -> pa.Table | None:
    """Build the raw table if the sums prove every line clean, else ``None``."""
    n = parsed.num_rows
    sums = _Sums(n)
    column = parsed.column(0)
    record = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    top = dict(zip(_STRUCTURE, record.flatten(), strict=True))
    structure = top.pop("structure")
    sub = dict(zip(_STRUCTURE["structure"], structure.flatten(), strict=True))
    fields = top | sub
    columns: dict[str, Any] = {}
    for name in TOKEN_FIELDS:
        columns[name] = _token_column(fields[name], name, sums)
        if columns[name] is None:
            return None
    for name in _TOP_TIME:
        _text_column(fields[name], name, sums, quoted=True)
        columns[name] = fields[name]
    for name in COUNT_FIELDS:
        _text_column(fields[name], name, sums, quoted=False)
        try:
            columns[name] = pc.cast(fields[name], pa.int64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
    with_structure = np.asarray(structure.is_valid()) if structure.null_count else None
    sums.member("structure", n - structure.null_count, 0)
    sums.objects(with_structure, sums.sub)
    sums.members(sums.top, structure)
    sums.objects(None, sums.top)

    # The lines' bytes without their newlines (the last line may have none).
    actual = len(buffer) - (n if buffer[-1] == _NEWLINE else n - 1)
    if int(np.count_nonzero(buffer == _OPEN_BRACE)) != sums.braces:
        return None
    extra = actual - sums.expected
    if extra:
        # Whitespace between tokens: every whitespace byte but the spaces inside strings.
        blank = sum(int(np.count_nonzero(buffer == c)) for c in (_SPACE, _TAB, _CR))
        if extra != blank - sums.spaces():
            return None
    columns["extra"] = pa.nulls(n, pa.string())
    columns["line"] = pa.array(np.arange(1, n + 1, dtype=np.int64))
    order = ("site", "session", "event", "ts", "received_at", "url", "title", *COUNT_FIELDS)
    return pa.table({name: columns[name] for name in (*order, "extra", "line")})
