"""Apply the beacon value rules to a whole column block at once.

Input is a raw table (:data:`~rtt_topology.load.records.RAW_SCHEMA`: strings,
64-bit counts, ``ts`` as text or as an Arrow timestamp). Output is the valid rows
with ``ts`` parsed to UTC, and for every invalid row its position, field and
reason. The rules are those of :class:`~rtt_topology.schemas.Beacon`:

- ``site`` and ``event``: present and non-empty; ``session``: present;
- ``ts``: present, an ISO 8601 timestamp with a UTC offset (see
  :func:`~rtt_topology._timestamps.parse_ts_array`);
- ``received_at``: absent, or a timestamp by the same rule as ``ts``;
- the five counts: absent or non-negative.

A row with several problems is reported once, with the first in that order.
:func:`validate_block` applies the rules to a whole block; :func:`check_row`
applies the same rules, in the same order and with the same reasons, to one row
(a beacon posted to the server); a test holds them to each other.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rtt_topology._timestamps import NAIVE_REASON, TS_TYPE, parse_ts_array
from rtt_topology.errors import RecordError
from rtt_topology.schemas import COUNT_FIELDS

__all__ = [
    "EMPTY",
    "MISSING",
    "NEGATIVE",
    "REQUIRED_TEXT",
    "TIME_FIELDS",
    "Problem",
    "check_row",
    "timestamp_reason",
    "validate_block",
]

#: ``(row position in the block, field, reason)``.
Problem = tuple[int, str, str]

#: Text fields that must be present, in rule order, and whether they may be empty.
REQUIRED_TEXT: tuple[tuple[str, bool], ...] = (("site", False), ("session", True), ("event", False))
#: Timestamp fields, in rule order, and whether each must be present.
TIME_FIELDS: tuple[tuple[str, bool], ...] = (("ts", True), ("received_at", False))
MISSING = "missing"
EMPTY = "empty"
NEGATIVE = "negative count"

# The usual shape of a timestamp, with fields Arrow's parser surely accepts when
# in range; anything else is left to Arrow, which decides. Years 1678-2261 keep
# every offset inside the nanosecond range.
_COMMON_TS = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.[0-9]{1,9})?(?:Z|[+-]([0-9]{2}):?([0-9]{2}))"
)


def _common_ts_ok(text: str) -> bool:
    """Tell whether ``text`` is a common-shape timestamp that Arrow accepts (fast)."""
    match = _COMMON_TS.fullmatch(text)
    if match is None:
        return False
    year, month, day, hour, minute, second, off_h, off_m = match.groups()
    y, m = int(year), int(month)
    return (
        1678 <= y <= 2261
        and 1 <= m <= 12
        and 1 <= int(day) <= calendar.monthrange(y, m)[1]
        and int(hour) <= 23
        and int(minute) <= 59
        and int(second) <= 59
        and (off_h is None or (int(off_h) <= 23 and int(off_m) <= 59))
    )


def timestamp_reason(text: str, *, assume_utc: bool = False) -> str | None:
    """Return why one timestamp text is refused, or ``None`` when it is accepted.

    The rule is :func:`~rtt_topology._timestamps.parse_ts_array`'s (Arrow's
    ISO 8601 parser). The usual shape (``YYYY-MM-DDThh:mm:ss[.f]`` then ``Z`` or an
    offset, years 1678 to 2261, fields in range) is recognised without Arrow;
    every other text is asked of Arrow.

    Examples
    --------
    >>> timestamp_reason("2026-01-19T15:00:30.5+02:00") is None
    True
    >>> timestamp_reason("2026-02-29T00:00:00Z")
    'not an ISO 8601 timestamp'
    >>> timestamp_reason("2026-01-19T15:00:30", assume_utc=True) is None
    True
    """
    if _common_ts_ok(text):
        return None
    _, reasons = parse_ts_array(pa.array([text], pa.string()), assume_utc=assume_utc)
    return reasons.get(0)


def check_row(row: Mapping[str, Any], *, assume_utc: bool = False) -> None:
    """Apply the value rules of :func:`validate_block` to one raw row.

    Parameters
    ----------
    row
        A row of :data:`~rtt_topology.load.records.RAW_SCHEMA`, as made by
        :func:`~rtt_topology.load.records.flatten_record` (timestamps as text).
    assume_utc
        Read timestamps without offset as UTC instead of rejecting them.

    Raises
    ------
    RecordError
        For the first broken rule, in the order of the module docstring, with
        the ``field`` and ``reason`` that :func:`validate_block` reports.

    Examples
    --------
    >>> check_row({"site": "a", "session": "s", "event": "", "ts": "2026-01-19T15:00:00Z"})
    Traceback (most recent call last):
    ...
    rtt_topology.errors.RecordError: event: empty
    """
    for name, may_be_empty in REQUIRED_TEXT:
        value = row.get(name)
        if value is None:
            raise RecordError(field=name, reason=MISSING)
        if not may_be_empty and not value:
            raise RecordError(field=name, reason=EMPTY)
    for name, required in TIME_FIELDS:
        text = row.get(name)
        if text is None:
            if required:
                raise RecordError(field=name, reason=MISSING)
            continue
        reason = timestamp_reason(text, assume_utc=assume_utc)
        if reason is not None:
            raise RecordError(field=name, reason=reason)
    for name in COUNT_FIELDS:
        count = row.get(name)
        if count is not None and count < 0:
            raise RecordError(field=f"structure.{name}", reason=NEGATIVE)


def _positions(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.indices_nonzero(pc.fill_null(mask, False)))


def _is_empty(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Mark empty strings; a dictionary column is looked at through its dictionary."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):
        empty = pc.equal(pc.binary_length(column.dictionary), 0)
        return empty.take(column.indices)
    return pc.equal(pc.binary_length(column), 0)


def _timestamp_column(
    column: pa.Array | pa.ChunkedArray, *, assume_utc: bool
) -> tuple[pa.Array, dict[int, str]]:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_timestamp(column.type):
        if column.type.tz is None:
            if not assume_utc:
                bad = _positions(pc.is_valid(column))
                return pa.nulls(len(column), TS_TYPE), dict.fromkeys(bad.tolist(), NAIVE_REASON)
            column = pc.assume_timezone(column, "UTC")
        return column.cast(TS_TYPE), {}
    return parse_ts_array(column, assume_utc=assume_utc)


def validate_block(table: pa.Table, *, assume_utc: bool = False) -> tuple[pa.Table, list[Problem]]:
    """Split a raw block into its valid rows (``ts`` parsed) and its problems.

    Parameters
    ----------
    table
        A raw table with the columns of ``RAW_SCHEMA``.
    assume_utc
        Read timestamps without offset as UTC instead of rejecting them.

    Returns
    -------
    valid, problems
        ``valid`` has the same columns, ``ts`` as ``timestamp[ns, tz=UTC]``, and
        only the rows without problems, in order; ``problems`` lists
        ``(position, field, reason)`` sorted by position.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from rtt_topology.load.records import RAW_SCHEMA, flatten_record, raw_table
    >>> rows = [
    ...     flatten_record({"site": "a", "session": "s", "event": "heartbeat",
    ...                     "ts": "2026-01-19T15:00:00Z"}, line=1),
    ...     flatten_record({"site": "a", "session": "s", "event": "heartbeat",
    ...                     "ts": "2026-01-19T15:00:30"}, line=2),
    ... ]
    >>> valid, problems = validate_block(raw_table(rows))
    >>> valid.num_rows, problems[0][:2]
    (1, (1, 'ts'))
    """
    n = table.num_rows
    first: dict[int, tuple[str, str]] = {}

    def flag(mask: pa.Array | pa.ChunkedArray, field: str, reason: str) -> None:
        if pc.any(pc.fill_null(mask, False)).as_py():
            for i in _positions(mask).tolist():
                first.setdefault(i, (field, reason))

    for name, may_be_empty in REQUIRED_TEXT:
        column = table.column(name)
        if column.null_count:
            flag(pc.is_null(column), name, MISSING)
        if not may_be_empty:
            flag(_is_empty(column), name, EMPTY)
    parsed: dict[str, pa.Array] = {}
    for name, required in TIME_FIELDS:
        column = table.column(name)
        if column.null_count == n:
            # Nothing to parse (a source without receipt times).
            parsed[name] = pa.nulls(n, TS_TYPE)
            if required and n:
                flag(pc.is_null(column), name, MISSING)
            continue
        if required and column.null_count:
            flag(pc.is_null(column), name, MISSING)
        parsed[name], reasons = _timestamp_column(column, assume_utc=assume_utc)
        for i, reason in reasons.items():
            first.setdefault(i, (name, reason))
    for name in COUNT_FIELDS:
        flag(pc.less(table.column(name), 0), f"structure.{name}", NEGATIVE)

    valid = table
    for name, values in parsed.items():
        valid = valid.set_column(valid.schema.get_field_index(name), name, values)
    if not first:
        return valid, []
    keep = np.ones(n, dtype=bool)
    keep[list(first)] = False
    problems = [(i, field, reason) for i, (field, reason) in sorted(first.items())]
    return valid.filter(pa.array(keep)), problems
