"""Check a batch of posted beacons (JSON Lines) column-wise, and write their stored lines.

:func:`check_beacon_lines` runs a JSON Lines body through the block machinery of
the JSON Lines reader (:mod:`rtt_topology.load.jsonl`: Arrow parses the block with
an explicit schema, :func:`~rtt_topology.load.columnar.validate_block` checks it
column-wise, a failing block is narrowed down to per-line checks), so a batch is
checked by the rules that read its stored lines back, without a Python step per
beacon. The few lines that may name ``received_at`` (which only the server sets)
are checked one by one with :func:`~rtt_topology.load.wire.check_beacon`, whose
first rule refuses it. Stored lines are built with bytes operations.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rtt_topology.errors import RecordError
from rtt_topology.load.jsonl import BlockParser
from rtt_topology.load.records import MAX_LINE_BYTES, loads_strict
from rtt_topology.load.wire import RECEIVED_AT, beacon_line, check_beacon, format_received_at

__all__ = ["BatchCheck", "BatchReject", "check_beacon_items", "check_beacon_lines"]

#: ``(line, field, reason)``: a refused line (1-based), the field (``None`` for
#: the whole line) and the rule it broke.
BatchReject = tuple[int, str | None, str]

_BOM = b"\xef\xbb\xbf"
# A line that may hold the key received_at: spelled out, or with a JSON escape of
# one of its characters ("_" is U+005F, the letters U+0061-U+0076).
_MAY_NAME_RECEIVED_AT = re.compile(rb"received_at|\\u00[5-7][0-9A-Fa-f]")
_NEWLINE = 10
# One encoder for every item: building one per call costs as much as encoding.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
_OPEN = ord("{")
_CLOSE = ord("}")


def _same(table: pa.Table) -> pa.Table:
    return table


@dataclass(frozen=True)
class BatchCheck:
    r"""The outcome of :func:`check_beacon_lines`.

    Attributes
    ----------
    lines
        The stored lines of the accepted beacons, in body order, each ending in
        ``b"\n"``.
    accepted
        How many beacons were accepted (lines in ``lines``).
    rejects
        The refused lines, in body order.
    read
        Non-blank lines in the body: ``accepted + len(rejects) == read``.
    """

    lines: bytes
    accepted: int
    rejects: list[BatchReject] = field(default_factory=list)
    read: int = 0


def _suffix(received_at: datetime) -> bytes:
    return b',"' + RECEIVED_AT.encode() + b'":"' + format_received_at(received_at).encode() + b'"}'


def _line_bounds(source: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Return the start and end offset of every physical line (newline excluded)."""
    newlines = np.flatnonzero(np.frombuffer(source, dtype=np.uint8) == _NEWLINE)
    starts = np.concatenate([[0], newlines + 1])
    ends = np.concatenate([newlines, [len(source)]])
    return starts, ends


def _may_name_received_at(source: bytes, starts: np.ndarray) -> list[int]:
    """Return the 1-based numbers of the lines that may hold the key ``received_at``."""
    if b"received_at" not in source and (b"\\" not in source or b"\\u00" not in source):
        return []
    offsets = [match.start() for match in _MAY_NAME_RECEIVED_AT.finditer(source)]
    if not offsets:
        return []
    numbers = np.searchsorted(starts, np.array(offsets), side="right")
    return sorted(set(numbers.tolist()))


def _undecodable(source: bytes, starts: np.ndarray, ends: np.ndarray, max_line: int) -> list[int]:
    """Return the 1-based numbers of the lines (within ``max_line``) that are not UTF-8."""
    try:
        source.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return []
    bad = []
    for index, (start, end) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        if end - start <= max_line:
            try:
                source[start:end].decode("utf-8")
            except UnicodeDecodeError:
                bad.append(index + 1)
    return bad


def _one_by_one(
    text: bytes, received_at: datetime, site_rule: Callable[[str], str | None] | None
) -> bytes:
    """Check one line as ``POST /beacon`` checks one body; return its stored line."""
    record = check_beacon(loads_strict(text), received_at=received_at)
    if site_rule is not None:
        problem = site_rule(record["site"])
        if problem is not None:
            raise RecordError(field="site", reason=problem)
    return beacon_line(record)


def _stored(text: bytes, suffix: bytes) -> bytes | None:
    """Append ``suffix`` inside one accepted JSON object line; ``None`` if it is not bare."""
    stripped = text.strip()
    if not (stripped.startswith(b"{") and stripped.endswith(b"}")):
        return None
    inner = stripped[:-1].rstrip()
    if inner == b"{":
        # An empty object: the new key is its first.
        return inner + suffix[1:] + b"\n"
    return inner + suffix + b"\n"


def _all_bare(source: bytes, starts: np.ndarray, ends: np.ndarray, accepted: int) -> bool:
    """Tell whether every line of ``source`` is one object line ``{...}``, no blank, no padding."""
    if source.endswith(b"\n"):
        # The empty "line" after the last newline.
        starts, ends = starts[:-1], ends[:-1]
    if len(starts) != accepted or not accepted or (ends <= starts).any():
        return False
    buffer = np.frombuffer(source, dtype=np.uint8)
    return bool((buffer[starts] == _OPEN).all() and (buffer[ends - 1] == _CLOSE).all())


def _site_rejects(
    tables: list[pa.Table], site_rule: Callable[[str], str | None]
) -> dict[int, BatchReject]:
    """Apply ``site_rule`` once per distinct site of the accepted rows."""
    refused: dict[int, BatchReject] = {}
    for table in tables:
        sites = table.column("site")
        problems = {}
        for site in pc.unique(sites).to_pylist():
            problem = site_rule(site)
            if problem is not None:
                problems[site] = problem
        if not problems:
            continue
        bad = pc.is_in(sites, value_set=pa.array(list(problems), pa.string()))
        picked = table.filter(bad)
        for line, site in zip(
            picked.column("line").to_pylist(), picked.column("site").to_pylist(), strict=True
        ):
            refused[line] = (line, "site", problems[site])
    return refused


def check_beacon_lines(
    body: bytes,
    *,
    received_at: datetime,
    site_rule: Callable[[str], str | None] | None = None,
) -> BatchCheck:
    r"""Check a JSON Lines batch of posted beacons; return the stored lines and the rejects.

    Each non-blank line (blank: only spaces, tabs, ``\r``, ``\f``, ``\v``; a UTF-8
    byte order mark opening the body is ignored) is one beacon, checked as
    :func:`~rtt_topology.load.wire.check_beacon` checks it after
    :func:`~rtt_topology.load.records.loads_strict`, with the same field and
    reason, in this way:

    1. the body is one block of the JSON Lines reader: lines longer than
       :data:`~rtt_topology.load.records.MAX_LINE_BYTES` less the bytes the
       server adds are refused unread (a stored line must stay readable); lines
       that are not UTF-8 are refused as ``loads_strict`` refuses them; the
       others are parsed by Arrow and checked column-wise, a failing part narrowed
       down to lines parsed one by one by the same record rules;
    2. a line that may hold the key ``received_at`` (the text ``received_at``, or
       a ``\u005X``-``\u007X`` escape, which could spell it) is checked alone by
       ``check_beacon``, whose first rule refuses the key;
    3. ``site_rule``, when given, is applied to the site of each beacon that
       passed: a text answer refuses it (field ``site``).

    The stored line of an accepted beacon is its line as posted, stripped, with
    ``,"received_at":"<time>"`` inserted before its closing ``}`` (the time as
    :func:`~rtt_topology.load.wire.format_received_at` writes it); a line that
    is not one bare ``{...}`` after stripping is written by
    :func:`~rtt_topology.load.wire.beacon_line` instead. Either way
    ``read_beacons`` reads it as the row ``check_beacon`` would store.

    Parameters
    ----------
    body
        The request body.
    received_at
        The server clock at acceptance (timezone-aware).
    site_rule
        Returns why a site name is refused, or ``None`` to accept it.

    Returns
    -------
    BatchCheck
        Stored lines, counts, and the rejects ``(line, field, reason)``.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> body = (
    ...     b'{"site":"a","session":"s","event":"heartbeat","ts":"2026-01-19T15:00:00Z"}\n'
    ...     b"\n"
    ...     b'{"site":"a","session":"s","event":"","ts":"2026-01-19T15:00:00Z"}\n'
    ... )
    >>> check = check_beacon_lines(body, received_at=datetime(2026, 1, 19, 15, tzinfo=timezone.utc))
    >>> check.accepted, check.rejects
    (1, [(3, 'event', 'empty')])
    >>> check.lines.split(b",")[-1]
    b'"received_at":"2026-01-19T15:00:00.000000Z"}\n'
    """
    suffix = _suffix(received_at)
    max_line = MAX_LINE_BYTES - len(suffix)
    source = b"   " + body[3:] if body.startswith(_BOM) else body
    starts, ends = _line_bounds(source)
    # The parser blanks the lines it sets aside: it gets its own copy.
    data = bytearray(source)
    refused: dict[int, BatchReject] = {}
    # Arrow's parser lets invalid UTF-8 through: such lines are checked alone.
    for number in _undecodable(source, starts, ends, max_line):
        start, end = int(starts[number - 1]), int(ends[number - 1])
        try:
            loads_strict(source[start:end])
        except RecordError as problem:
            refused[number] = (number, problem.field, problem.reason)
        data[start:end] = b" " * (end - start)
    result = BlockParser(False, _same, max_line).run(memoryview(data))
    accepted_lines = (
        np.concatenate([t.column("line").to_numpy() for t in result.tables])
        if result.tables
        else np.zeros(0, dtype=np.int64)
    )
    read = result.read + len(refused)
    for number, field_name, reason, _ in result.rejects:
        refused[number] = (number, field_name, reason)
    if site_rule is not None and len(accepted_lines):
        refused.update(_site_rejects(result.tables, site_rule))
    alone = _may_name_received_at(source, starts)
    if not refused and not alone and _all_bare(source, starts, ends, read):
        # Every line is one bare object, all accepted: "}\n" ends each line and
        # nothing else (JSON strings hold no raw newline).
        whole = source if source.endswith(b"\n") else source + b"\n"
        return BatchCheck((suffix + b"\n").join(whole.split(b"}\n")), read, [], read)
    written: dict[int, bytes] = {}
    for number in alone:
        start, end = int(starts[number - 1]), int(ends[number - 1])
        if end - start > max_line:
            # Refused unread by the block rules already.
            continue
        refused.pop(number, None)
        try:
            written[number] = _one_by_one(source[start:end], received_at, site_rule)
        except RecordError as problem:
            refused[number] = (number, problem.field, problem.reason)
    for number in accepted_lines.tolist():
        if number in refused or number in written:
            continue
        text = source[int(starts[number - 1]) : int(ends[number - 1])]
        line = _stored(text, suffix)
        if line is None:
            try:
                line = _one_by_one(text, received_at, site_rule)
            except RecordError as problem:
                refused[number] = (number, problem.field, problem.reason)
                continue
        written[number] = line
    return BatchCheck(
        lines=b"".join(written[n] for n in sorted(written)),
        accepted=len(written),
        rejects=[refused[n] for n in sorted(refused)],
        read=read,
    )


def check_beacon_items(
    items: Sequence[object],
    *,
    received_at: datetime,
    site_rule: Callable[[str], str | None] | None = None,
) -> BatchCheck:
    """Check beacons already decoded (a JSON array's items) as :func:`check_beacon_lines` does.

    Each item is written as one compact JSON line (its position in ``items`` is its
    line, less one) and the lines go through :func:`check_beacon_lines`; an item
    that cannot be written as UTF-8 JSON (text with a lone surrogate) is refused
    by :func:`~rtt_topology.load.wire.check_beacon` itself. The verdicts, fields
    and reasons are those of ``check_beacon`` on each item.

    Returns
    -------
    BatchCheck
        As :func:`check_beacon_lines`, but each reject names the item's 0-based
        index instead of a line.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> good = {"site": "a", "session": "s", "event": "heartbeat", "ts": "2026-01-19T15:00:00Z"}
    >>> check = check_beacon_items(
    ...     [good, 7, {**good, "ts": "noon"}],
    ...     received_at=datetime(2026, 1, 19, 15, tzinfo=timezone.utc),
    ... )
    >>> check.accepted, check.rejects
    (1, [(1, None, 'expected a JSON object, got number'), (2, 'ts', 'not an ISO 8601 timestamp')])
    """
    lines: list[bytes] = []
    unwritable: dict[int, BatchReject] = {}
    for index, item in enumerate(items):
        try:
            lines.append(_ENCODER.encode(item).encode("utf-8"))
        except (UnicodeEncodeError, TypeError, ValueError):
            lines.append(b"")
            try:
                check_beacon(item, received_at=received_at)
            except RecordError as problem:
                unwritable[index] = (index, problem.field, problem.reason)
            else:  # pragma: no cover - check_beacon refuses what JSON cannot write
                unwritable[index] = (index, None, "not a JSON value")
    check = check_beacon_lines(b"\n".join(lines), received_at=received_at, site_rule=site_rule)
    rejects = [(line - 1, field_name, reason) for line, field_name, reason in check.rejects]
    if unwritable:
        rejects = sorted([*rejects, *unwritable.values()])
    return BatchCheck(check.lines, check.accepted, rejects, check.read + len(unwritable))
