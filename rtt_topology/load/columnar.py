"""Apply the beacon value rules to a whole column block at once.

Input is a raw table (:data:`~rtt_topology.load.records.RAW_SCHEMA`: strings,
64-bit counts, ``ts`` as text or as an Arrow timestamp). Output is the valid rows
with ``ts`` parsed to UTC, and for every invalid row its position, field and
reason. The rules are those of :class:`~rtt_topology.schemas.Beacon`:

- ``site`` and ``event``: present and non-empty; ``session``: present;
- ``ts``: present, an ISO 8601 timestamp with a UTC offset (see
  :func:`~rtt_topology._timestamps.parse_ts_array`);
- the five counts: absent or non-negative.

A row with several problems is reported once, with the first in that order.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rtt_topology._timestamps import NAIVE_REASON, TS_TYPE, parse_ts_array
from rtt_topology.schemas import COUNT_FIELDS

__all__ = ["Problem", "validate_block"]

#: ``(row position in the block, field, reason)``.
Problem = tuple[int, str, str]


def _positions(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.indices_nonzero(pc.fill_null(mask, False)))


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

    for name, may_be_empty in (("site", False), ("session", True), ("event", False)):
        column = table.column(name)
        if column.null_count:
            flag(pc.is_null(column), name, "missing")
        if not may_be_empty:
            flag(pc.equal(pc.binary_length(column), 0), name, "empty")
    ts_column = table.column("ts")
    if ts_column.null_count:
        flag(pc.is_null(ts_column), "ts", "missing")
    parsed, ts_reasons = _timestamp_column(ts_column, assume_utc=assume_utc)
    for i, reason in ts_reasons.items():
        first.setdefault(i, ("ts", reason))
    for name in COUNT_FIELDS:
        flag(pc.less(table.column(name), 0), f"structure.{name}", "negative count")

    valid = table.set_column(table.schema.get_field_index("ts"), "ts", parsed)
    if not first:
        return valid, []
    keep = np.ones(n, dtype=bool)
    keep[list(first)] = False
    problems = [(i, field, reason) for i, (field, reason) in sorted(first.items())]
    return valid.filter(pa.array(keep)), problems
