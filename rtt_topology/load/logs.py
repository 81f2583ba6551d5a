"""Parse service log lines that carry ``[RTT] <event> sent`` beacon entries.

Services log their beacons with the upstream convention ``[RTT] heartbeat sent``
followed by the payload (``console.log("[RTT] heartbeat sent", payload)``). This
module finds those entries in any log text and reads the payload in one of three
notations:

``json``
    Strict JSON (``json.dumps``, ``JSON.stringify``): no NaN or Infinity, no
    duplicate keys.
``python``
    A Python ``repr`` of a dict (``logging`` with ``%s``), never evaluated: read with
    :func:`ast.literal_eval` after an AST check that refuses values JSON cannot hold
    (tuples, sets, bytes, complex and non-finite numbers, non-string keys, calls such
    as ``datetime.datetime(...)``, recursive ``{...}``) and duplicate keys. The
    common simple repr (no backslash, no double quote) is rewritten to JSON and read
    by :mod:`json` instead, which gives the same values ten times faster.
``node``
    Node.js ``util.inspect`` output (what ``console.log`` prints), on one line or
    broken over several lines. The payload is read as what ``JSON.stringify`` would
    have sent for the same object: Date objects become their ISO string, a property
    whose value is ``undefined`` is left out (``undefined`` in an array becomes
    ``null``), ``NaN``, ``Infinity`` and ``Invalid Date`` become ``null``, a class
    instance (``Beacon { ... }``) or ``[Object: null prototype] { ... }`` is a plain
    object, sparse array holes (``<1 empty item>``) are ``null``, and the string
    concatenation of old Node versions (``'abc' +``) is joined. What util.inspect
    has cut or what JSON cannot carry makes the entry an error, never a silent
    ``null``: ``[Object]``/``[Array]`` beyond the depth limit, ``... 3 more items``,
    ``[Circular *1]``, functions, getters, BigInt (``10n``), Symbols, Maps and Sets.

How entries are delimited
-------------------------
An entry starts at a line containing ``[RTT] <event> sent`` (optionally followed by
``:``); lines with ``[RTT]`` that do not say ``<event> sent`` (``[RTT] heartbeat
failed: timeout``) and all other lines are skipped. The payload runs from after the
marker until its brackets balance, ignoring brackets inside quoted strings (strings
never span lines in any of the three notations); text after the closing bracket is
ignored. A payload is collected over at most ``max_entry_lines`` lines. If it is
still open at that bound, at the end of the input, or when a line that starts a new
log record arrives (an ISO date-time at the start of the line, or another
``[RTT] <event> sent`` marker outside strings), the entry is an error
``"unterminated payload"`` covering only its marker line, and the lines after the
marker are scanned again, so an unterminated payload never hides the entries that
follow it.

A line longer than ``max_line_chars`` characters (by default
:data:`~rtt_topology.load.records.MAX_LINE_BYTES`) is never parsed: if it holds
``[RTT]`` it is an error entry ``"line longer than ..."``, else a skipped line (finding
the marker costs one scan); as a continuation line it ends the open payload as
unterminated, and is then scanned again on its own. The lines of one entry are
bounded the same way, together: a payload still open when they pass the limit is
unterminated.

Every input line is counted exactly once::

    skipped_lines + sum(e.end_line - e.line + 1 for e in entries) == lines

The notation is found by trying the parsers, strict JSON first; text valid in two
notations (``{}``, a repr like ``{"it's": 1}``) is reported as the first that reads
it. A payload that none reads gets the error of the notation it most looks like.
Limits: the continuation lines of a multi-line payload must be as the program
printed them; logs that prefix every line (``docker logs -t``, ``kubectl logs
--timestamps``) must have that prefix removed first.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from rtt_topology.errors import InputError
from rtt_topology.load import records
from rtt_topology.load.notation import parse_payload, payload_start
from rtt_topology.load.records import long_line_reason

__all__ = ["MAX_ENTRY_LINES", "LogEntry", "LogParse", "parse_log_lines", "parse_payload"]

#: Default bound on the lines of one entry (marker line included).
MAX_ENTRY_LINES: Final = 200
# Characters of an over-long line kept as its raw text.
_RAW_KEPT: Final = 1_000

# The marker; the payload starts where the match ends (spaces and a colon consumed).
_MARKER = re.compile(r"\[RTT\]\s+(?P<event>[\w.\-]+)\s+sent(?![\w\-])\s*:?\s*")
# A continuation line that starts a new log record ends a payload that is still open.
_RECORD_START = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d")
# Brackets and quoted strings; an unclosed string runs to the end of the line.
_SCAN = re.compile(
    r"""[{}\[\]]|'[^'\\]*(?:\\.[^'\\]*)*'?|"[^"\\]*(?:\\.[^"\\]*)*"?|`[^`\\]*(?:\\.[^`\\]*)*`?"""
)
# Closed quoted strings, removed before looking for a marker in a continuation line.
_CLOSED_STRING = re.compile(
    r"""'[^'\\]*(?:\\.[^'\\]*)*'|"[^"\\]*(?:\\.[^"\\]*)*"|`[^`\\]*(?:\\.[^`\\]*)*`"""
)


@dataclass(frozen=True, slots=True)
class LogEntry:
    r"""One ``[RTT] <event> sent`` entry of a log.

    Attributes
    ----------
    line
        1-based line number of the marker line.
    end_line
        Last line of the entry (``== line`` for one-line entries and for errors
        that swallowed no line).
    event
        The event named in the marker.
    payload
        The beacon as a plain dict (JSON types only), with ``"event"`` set to the
        marker's event when the payload has none; ``None`` on error.
    notation
        ``"json"``, ``"python"`` or ``"node"`` for a parsed payload, else ``None``.
    error
        Why the payload could not be read (short, without payload text), or ``None``.
    raw
        The entry's lines (marker line first) joined with ``"\n"``.
    event_from_marker
        Whether ``payload["event"]`` was filled in from the marker.
    """

    line: int
    end_line: int
    event: str
    payload: dict[str, Any] | None
    notation: str | None
    error: str | None
    raw: str
    event_from_marker: bool = False


@dataclass(frozen=True, slots=True)
class LogParse:
    """The entries found in a run of log lines.

    Attributes
    ----------
    entries
        The entries in line order, parsed or with an error.
    skipped_lines
        Lines that are not part of any entry (blank lines included).
    lines
        All lines seen.
    """

    entries: list[LogEntry]
    skipped_lines: int
    lines: int


# --------------------------------------------------------------------------- lines


def _scan(text: str, pos: int, depth: int) -> tuple[int, int]:
    """Track bracket depth over ``text[pos:]``; return (depth, end) with end >= 0 at balance."""
    for m in _SCAN.finditer(text, pos):
        c = m.group()
        if c == "{" or c == "[":
            depth += 1
        elif c == "}" or c == "]":
            depth -= 1
            if depth == 0:
                return 0, m.end()
    return depth, -1


def _starts_record(line: str) -> bool:
    """Whether a continuation line begins a new log record instead."""
    if line[:1].isdigit() and _RECORD_START.match(line):
        return True
    return "[RTT]" in line and _MARKER.search(_CLOSED_STRING.sub("", line)) is not None


_Read = tuple[dict[str, Any] | None, str | None, str | None]
_NO_PAYLOAD: Final[_Read] = (None, None, "no payload after the marker")
_UNTERMINATED: Final[_Read] = (None, None, "unterminated payload")


def _read(text: str) -> _Read:
    """Parse a payload into (payload, notation, error)."""
    try:
        payload, notation = parse_payload(text)
    except ValueError as exc:
        return None, None, str(exc)
    return payload, notation, None


def _entry(line: int, end_line: int, event: str, raw: str, read: _Read) -> LogEntry:
    payload, notation, error = read
    if payload is None:
        return LogEntry(line, end_line, event, None, None, error, raw)
    filled = "event" not in payload
    if filled:
        payload["event"] = event
    return LogEntry(line, end_line, event, payload, notation, None, raw, filled)


def parse_log_lines(
    lines: Iterable[str],
    *,
    start_line: int = 1,
    max_entry_lines: int = MAX_ENTRY_LINES,
    max_line_chars: int | None = None,
) -> LogParse:
    r"""Find and parse the ``[RTT] <event> sent`` entries in log lines.

    Parameters
    ----------
    lines
        The log, one line per item; a trailing ``"\n"`` or ``"\r\n"`` is removed.
        Read once, lazily (only the lines of an open payload are held).
    start_line
        The number of the first line.
    max_entry_lines
        The most lines one entry may span, marker line included.
    max_line_chars
        The longest line read (see "How entries are delimited"); by default
        :data:`~rtt_topology.load.records.MAX_LINE_BYTES`.

    Returns
    -------
    LogParse
        The entries (parsed, or with an error and no payload) and the line counts;
        ``skipped_lines + sum(e.end_line - e.line + 1 for e in entries) == lines``.

    Examples
    --------
    >>> log = [
    ...     "2026-01-19T15:00:00Z INFO boot",
    ...     '2026-01-19T15:00:01Z INFO [RTT] heartbeat sent {"site": "auth", "session": "s1"}',
    ...     "2026-01-19T15:00:02Z [RTT] heartbeat sent {",
    ...     "  site: 'api',",
    ...     "  ts: 2026-01-19T15:00:02.123Z",
    ...     "}",
    ...     "[RTT] heartbeat failed: timeout",
    ...     "[RTT] shutdown sent",
    ... ]
    >>> result = parse_log_lines(log)
    >>> [(e.line, e.end_line, e.notation, e.error) for e in result.entries]
    [(2, 2, 'json', None), (3, 6, 'node', None), (8, 8, None, 'no payload after the marker')]
    >>> result.entries[1].payload
    {'site': 'api', 'ts': '2026-01-19T15:00:02.123Z', 'event': 'heartbeat'}
    >>> result.skipped_lines, result.lines
    (2, 8)
    """
    if max_entry_lines < 1:
        raise InputError(f"max_entry_lines must be at least 1, not {max_entry_lines}")
    limit = records.MAX_LINE_BYTES if max_line_chars is None else max_line_chars
    source: Iterator[str] = iter(lines)
    # Lines taken for a payload that stayed open, to be scanned again.
    pending: deque[tuple[int, str]] = deque()
    entries: list[LogEntry] = []
    skipped = 0
    seen = 0

    def take() -> tuple[int, str] | None:
        nonlocal seen
        if pending:
            return pending.popleft()
        text = next(source, None)
        if text is None:
            return None
        seen += 1
        return start_line + seen - 1, text.rstrip("\r\n")

    while (item := take()) is not None:
        number, line = item
        # The cheap test first: most lines of a log are not beacons.
        if "[RTT]" not in line:
            skipped += 1
            continue
        if len(line) > limit:
            reason = long_line_reason(len(line), limit, "characters")
            entries.append(LogEntry(number, number, "", None, None, reason, line[:_RAW_KEPT]))
            continue
        if (m := _MARKER.search(line)) is None:
            skipped += 1
            continue
        event, begin = m["event"], m.end()
        if begin == len(line):
            entries.append(_entry(number, number, event, line, _NO_PAYLOAD))
            continue
        start = payload_start(line, begin)
        if line[start : start + 1] not in ("{", "["):
            entries.append(_entry(number, number, event, line, _read(line[begin:])))
            continue
        # Most payloads end their line: try the whole rest before scanning brackets.
        first = _read(line[begin:]) if line.rstrip()[-1:] in ("}", "]") else None
        if first is not None and first[0] is not None:
            entries.append(_entry(number, number, event, line, first))
            continue
        depth, end = _scan(line, start, 0)
        if depth == 0:
            # One-line payload, up to its closing bracket (text after it is ignored).
            if first is None or line[end:].strip():
                first = _read(line[begin:end])
            entries.append(_entry(number, number, event, line, first))
            continue
        taken: list[tuple[int, str]] = []
        end = -1
        size = len(line)
        while len(taken) + 1 < max_entry_lines and (nxt := take()) is not None:
            taken.append(nxt)
            size += len(nxt[1])
            if size > limit or _starts_record(nxt[1]):
                break
            depth, end = _scan(nxt[1], 0, depth)
            if end >= 0:
                break
        if end < 0:
            entries.append(_entry(number, number, event, line, _UNTERMINATED))
            # Scan the swallowed lines again: they may hold the next entries.
            pending.extendleft(reversed(taken))
            continue
        parts = [line[begin:], *(t for _, t in taken[:-1]), taken[-1][1][:end]]
        raw = "\n".join([line, *(t for _, t in taken)])
        entries.append(_entry(number, taken[-1][0], event, raw, _read("\n".join(parts))))
    return LogParse(entries, skipped, seen)
