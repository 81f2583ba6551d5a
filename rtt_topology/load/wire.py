"""Check one beacon as posted by a client, by the rules that read its stored line back.

A server stores accepted beacons as JSON Lines that :func:`~rtt_topology.load.read_beacons`
reads. :func:`check_beacon` applies to one posted object exactly the rules that
reader applies to one line (the type rules of
:func:`~rtt_topology.load.records.flatten_record`, then the value rules of
:func:`~rtt_topology.load.columnar.check_row`), so a beacon it accepts is a line
the reader accepts, and a beacon it refuses names the field and the rule the
reader would have named. :func:`beacon_line` writes the accepted record as that line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from rtt_topology.errors import RecordError
from rtt_topology.load.columnar import check_row
from rtt_topology.load.documents import MAX_DEPTH
from rtt_topology.load.records import flatten_record, json_type

__all__ = ["RECEIVED_AT", "beacon_line", "check_beacon", "format_received_at"]

#: The field a server adds to each beacon it stores: its own clock at acceptance.
RECEIVED_AT = "received_at"
_RESERVED_REASON = "set by the server that receives the beacon, not by its sender"
_TOO_DEEP = f"invalid JSON: nesting deeper than {MAX_DEPTH} levels"


def format_received_at(moment: datetime) -> str:
    """Write a receipt time as stored: ISO 8601, UTC, microseconds, ``Z``.

    Raises
    ------
    ValueError
        If ``moment`` has no time zone (a server clock is read in UTC).

    Examples
    --------
    >>> from datetime import datetime, timedelta, timezone
    >>> format_received_at(datetime(2026, 1, 19, 17, 0, 1, tzinfo=timezone(timedelta(hours=2))))
    '2026-01-19T15:00:01.000000Z'
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("received_at must be timezone-aware (read the clock in UTC)")
    if moment.utcoffset():
        moment = moment.astimezone(UTC)
    # "YYYY-MM-DDThh:mm:ss.ffffff" then the offset, which is +00:00 now.
    return moment.isoformat(timespec="microseconds")[:26] + "Z"


def _check_json(value: Any) -> None:
    """Refuse what a stored line cannot hold as it is, or its reader refuses.

    Nesting deeper than :data:`~rtt_topology.load.documents.MAX_DEPTH` levels
    (counted as :func:`~rtt_topology.load.documents.nesting_depth` counts them),
    keys that are not text, values of no JSON type.
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth >= MAX_DEPTH:
                raise RecordError(field=None, reason=_TOO_DEEP)
            for key, child in item.items():
                if not isinstance(key, str):
                    raise RecordError(field="extra", reason="object key is not a string")
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            if depth >= MAX_DEPTH:
                raise RecordError(field=None, reason=_TOO_DEEP)
            stack.extend((child, depth + 1) for child in item)
        elif item is not None and not isinstance(item, str | int | float):
            # bool is an int; flatten_record's JSON check made floats finite.
            raise RecordError(field="extra", reason=f"not a JSON value ({json_type(item)})")


def check_beacon(obj: object, *, received_at: datetime | None = None) -> dict[str, Any]:
    """Check one posted beacon and return the record to store.

    The rules are those :func:`~rtt_topology.load.read_beacons` applies to one
    JSON Lines line (naive timestamps refused), in this order:

    1. ``received_at`` must not be sent: the server sets it;
    2. the type rules of :func:`~rtt_topology.load.records.flatten_record`
       (an object; ``site``, ``session``, ``event``, ``ts``, ``structure.url``,
       ``structure.title`` text; ``structure`` an object; the five counts integers
       in the int64 range; text encodable as UTF-8);
    3. for a beacon with unknown keys: nesting at most
       :data:`~rtt_topology.load.documents.MAX_DEPTH` levels, text keys, JSON values
       (a parsed JSON document always meets these two);
    4. the value rules of :func:`~rtt_topology.load.columnar.check_row`: ``site``
       and ``event`` present and non-empty, ``session`` present, ``ts`` present and
       an ISO 8601 timestamp with an offset, counts non-negative.

    Parameters
    ----------
    obj
        The beacon as parsed from the request body (with
        :func:`~rtt_topology.load.records.loads_strict` for the reader's JSON rules).
    received_at
        The server clock at acceptance (timezone-aware), stored as
        ``"received_at"`` by :func:`format_received_at`.

    Returns
    -------
    dict
        A new dict: the posted keys and values unchanged (``ts`` keeps the text and
        precision the client sent), ``received_at`` added last when given. Written
        by :func:`beacon_line`, it is read back by ``read_beacons`` as the same row.

    Raises
    ------
    RecordError
        With ``field`` and ``reason`` for the first broken rule.
    ValueError
        If ``received_at`` is a naive datetime.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> check_beacon(
    ...     {"site": "api", "session": "s1", "event": "heartbeat", "ts": "2026-01-19T15:00:30Z"},
    ...     received_at=datetime(2026, 1, 19, 15, 0, 31, 250, tzinfo=timezone.utc),
    ... )["received_at"]
    '2026-01-19T15:00:31.000250Z'
    >>> check_beacon({"site": "api", "session": "s1", "event": "heartbeat", "ts": "15:00"})
    Traceback (most recent call last):
    ...
    rtt_topology.errors.RecordError: ts: not an ISO 8601 timestamp
    """
    if isinstance(obj, Mapping) and RECEIVED_AT in obj:
        raise RecordError(field=RECEIVED_AT, reason=_RESERVED_REASON)
    try:
        row = flatten_record(obj, 0)
    except TypeError:
        # A Python value JSON has no type for (a parsed body never holds one).
        _check_json(_plain(obj))
        raise RecordError(field="extra", reason="not a JSON value") from None
    record = _plain(obj)
    if row["extra"] is not None:
        # Unknown keys may hold anything: hold them to what a stored line can be.
        _check_json(record)
    check_row(row)
    if received_at is not None:
        record[RECEIVED_AT] = format_received_at(received_at)
    return record


def _plain(obj: object) -> dict[str, Any]:
    """Copy a beacon mapping into a dict, its ``structure`` too when another mapping."""
    record = dict(cast("Mapping[str, Any]", obj))
    structure = record.get("structure")
    if isinstance(structure, Mapping) and not isinstance(structure, dict):
        record["structure"] = dict(structure)
    return record


def beacon_line(record: Mapping[str, Any]) -> bytes:
    r"""Write a record returned by :func:`check_beacon` as one JSON Lines line (UTF-8).

    Compact separators, non-ASCII text kept as UTF-8, a trailing newline; JSON
    escapes every newline inside strings, so the line is one line.

    Examples
    --------
    >>> beacon_line({"site": "café", "ts": "2026-01-19T15:00:30Z"})
    b'{"site":"caf\xc3\xa9","ts":"2026-01-19T15:00:30Z"}\n'
    """
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8") + b"\n"
