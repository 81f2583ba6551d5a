"""Parse beacon timestamps: one rule set for single records and for whole columns.

A beacon ``ts`` is an ISO 8601 string with a UTC offset (``Z`` or ``+hh:mm``), at
any precision up to nanoseconds. It is normalised to UTC. A timestamp without an
offset is rejected, because reading local time as UTC would silently shift it;
``assume_utc=True`` reads such timestamps as UTC on purpose.

Both the columnar loader and the :class:`~rtt_topology.schemas.Beacon` model go
through :func:`parse_ts_array`, so a value accepted by one is accepted by the other.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rtt_topology.errors import InputError

__all__ = [
    "NAIVE_REASON",
    "TS_TYPE",
    "Instant",
    "aware_utc",
    "instant_ns",
    "parse_ts_array",
    "parse_ts_scalar",
    "utc_index",
]

#: What functions accept as a moment: an aware datetime or Timestamp, or ISO 8601 text.
Instant = datetime | pd.Timestamp | str

#: The Arrow type of a parsed ``ts`` column.
TS_TYPE = pa.timestamp("ns", tz="UTC")

NAIVE_REASON = "naive timestamp (no UTC offset); pass assume_utc=True to read it as UTC"
INVALID_REASON = "not an ISO 8601 timestamp"

_OFFSET = re.compile(r"(Z|[+-]\d{2}(:?\d{2})?)$")


def _cast_or_locate(values: pa.Array) -> tuple[pa.Array, list[int]]:
    """Cast strings to UTC timestamps; on failure, find the failing positions.

    Bisection keeps the cost at a few casts per bad value instead of one Python
    call per row, so a column with one bad value stays fast.
    """
    try:
        return pc.cast(values, TS_TYPE), []
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    if len(values) == 1:
        return pa.nulls(1, TS_TYPE), [0]
    mid = len(values) // 2
    left, bad_left = _cast_or_locate(values.slice(0, mid))
    right, bad_right = _cast_or_locate(values.slice(mid))
    merged = pa.concat_arrays([left, right])
    return merged, bad_left + [mid + i for i in bad_right]


def parse_ts_array(
    values: pa.Array | pa.ChunkedArray, *, assume_utc: bool = False
) -> tuple[pa.Array, dict[int, str]]:
    """Parse a string column of timestamps into UTC.

    Accepted: ``YYYY-MM-DD``, ``T`` or a space, ``hh[:mm[:ss[.f]]]`` with up to
    nine fractional digits, then ``Z`` or an offset ``+hh``, ``+hhmm`` or
    ``+hh:mm``; instants between the years 1677 and 2262 (nanoseconds in 64 bits).

    Parameters
    ----------
    values
        Timestamps as strings; nulls stay null and are reported by the caller.
    assume_utc
        Read timestamps without an offset as UTC instead of rejecting them.

    Returns
    -------
    parsed, reasons
        The ``timestamp[ns, tz=UTC]`` array (null where parsing failed) and, for
        each failing position, the reason.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    try:
        return pc.cast(values, TS_TYPE), {}
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    if assume_utc:
        # Only a column with naive values gets here: give those values a "Z".
        has_offset = pc.fill_null(pc.match_substring_regex(values, _OFFSET.pattern), True)
        values = pc.if_else(has_offset, values, pc.binary_join_element_wise(values, "Z", ""))
    parsed, failing = _cast_or_locate(values)
    reasons: dict[int, str] = {}
    for i, text in zip(
        failing, values.take(pa.array(failing, pa.int64())).to_pylist(), strict=True
    ):
        naive = not _OFFSET.search(text) and _looks_like_datetime(text)
        reasons[i] = NAIVE_REASON if naive else INVALID_REASON
    return parsed, reasons


def _looks_like_datetime(text: str) -> bool:
    try:
        pc.cast(pa.array([text + "Z"]), TS_TYPE)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def parse_ts_scalar(value: str, *, assume_utc: bool = False) -> datetime:
    """Parse one timestamp string into an aware UTC :class:`~datetime.datetime`.

    Python datetimes hold microseconds: finer digits are truncated.

    Parameters
    ----------
    value
        The timestamp text.
    assume_utc
        Read a timestamp without an offset as UTC instead of rejecting it.

    Returns
    -------
    datetime
        The instant, with ``tzinfo=UTC``.

    Raises
    ------
    ValueError
        If the text is not an ISO 8601 timestamp with an offset.

    Examples
    --------
    >>> parse_ts_scalar("2026-01-19T17:00:00.123+02:00")
    datetime.datetime(2026, 1, 19, 15, 0, 0, 123000, tzinfo=datetime.timezone.utc)
    """
    parsed, reasons = parse_ts_array(pa.array([value], pa.string()), assume_utc=assume_utc)
    if reasons:
        raise ValueError(reasons[0])
    out: datetime = parsed.cast(pa.timestamp("us", tz="UTC"), safe=False)[0].as_py()
    return out.replace(tzinfo=UTC)


def aware_utc(value: Instant | None, name: str) -> datetime | None:
    """Return a window bound or a moment as an aware UTC datetime.

    Parameters
    ----------
    value
        ISO 8601 text with an offset, or an aware datetime or Timestamp; ``None``
        passes through.
    name
        The parameter or option, named in the error.

    Raises
    ------
    InputError
        Naming ``name`` and the value, if it is not a timestamp or has no time zone.

    Examples
    --------
    >>> aware_utc("2026-01-19T17:00:00+02:00", "start")
    datetime.datetime(2026, 1, 19, 15, 0, tzinfo=datetime.timezone.utc)
    >>> aware_utc("2026-01-19T17:00:00", "start")
    Traceback (most recent call last):
    ...
    rtt_topology.errors.InputError: start: '2026-01-19T17:00:00' has no UTC offset; add one, ...
    """
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return parse_ts_scalar(value)
        except ValueError as exc:
            if str(exc) == NAIVE_REASON:
                raise InputError(
                    f"{name}: {value!r} has no UTC offset; add one, such as Z or +02:00"
                ) from exc
            raise InputError(f"{name}: {value!r}: {exc}") from exc
    if not isinstance(value, datetime):
        raise InputError(
            f"{name}: expected a datetime or an ISO 8601 string, not {type(value).__name__}"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError(f"{name} must be timezone-aware (or an ISO 8601 string with offset)")
    return pd.Timestamp(value).tz_convert("UTC").to_pydatetime()


def instant_ns(value: Instant | None, name: str) -> int | None:
    """Return an aware moment as integer nanoseconds since the epoch (UTC).

    Raises
    ------
    InputError
        Naming ``name``, if the value is not a timestamp or has no time zone.

    Examples
    --------
    >>> instant_ns("1970-01-01T00:00:01+00:00", "start")
    1000000000
    """
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except ValueError as exc:
        raise InputError(f"{name}: not a timestamp: {value!r}") from exc
    if stamp.tzinfo is None:
        raise InputError(f"{name} must be timezone-aware (or an ISO 8601 string with offset)")
    return int(stamp.tz_convert("UTC").as_unit("ns").value)


def utc_index(ns: np.ndarray) -> pd.DatetimeIndex:
    """Return integer nanoseconds since the epoch as a UTC datetime index."""
    return pd.DatetimeIndex(np.asarray(ns, dtype=np.int64).view("M8[ns]")).tz_localize("UTC")
