"""Check one parsed beacon record's types and flatten it into a raw table row.

This is the per-record path: it serves records that did not come through the
columnar JSON reader (lines of a block that failed to parse as a whole, log
entries, CSV rows, JSON array elements). It applies the same type rules as the
columnar reader's explicit schema (a count is a JSON integer, text is a JSON
string), keeps unknown keys in ``extra``, and leaves the value rules (required
fields, timestamp, non-negative counts) to :mod:`rtt_topology.load.columnar`, so
both paths share them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from rtt_topology.errors import RecordError
from rtt_topology.load.documents import MAX_DEPTH, nesting_depth
from rtt_topology.schemas import COUNT_FIELDS

__all__ = [
    "MAX_LINE_BYTES",
    "RAW_SCHEMA",
    "STRICT_JSON",
    "STRING_FIELDS",
    "flatten_record",
    "json_type",
    "loads_strict",
    "long_line_reason",
    "raw_table",
]

#: Longest line (one record) read, in bytes; formats read as text count characters.
#: The RTT server takes beacons of up to 64 KiB: 1 MiB leaves room for any real one.
#: A longer line is quarantined unread, as one record.
MAX_LINE_BYTES = 1 << 20


def long_line_reason(length: int, limit: int, unit: str = "bytes") -> str:
    """Return the reject reason of a line of ``length`` bytes (or ``unit``) over ``limit``.

    Examples
    --------
    >>> long_line_reason(5_000_000, 1 << 20)
    'line longer than 1048576 bytes (5000000): not read'
    """
    return f"line longer than {limit} {unit} ({length}): not read"


#: Top-level string fields of a beacon; ``received_at`` is set by the server
#: that stored it (absent in beacons as sent).
STRING_FIELDS: tuple[str, ...] = ("site", "session", "event", "ts", "received_at")
_STRUCTURE_STRINGS = ("url", "title")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

#: The flat table every parser produces before value validation.
RAW_SCHEMA = pa.schema(
    [(name, pa.string()) for name in STRING_FIELDS]
    + [(name, pa.string()) for name in _STRUCTURE_STRINGS]
    + [(name, pa.int64()) for name in COUNT_FIELDS]
    + [("extra", pa.string()), ("line", pa.int64())]
)


def json_type(value: object) -> str:
    """Name the JSON type of a parsed value (``string``, ``number``, ``array``...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _pairs_no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise RecordError(field=key, reason="duplicate key")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise RecordError(field=None, reason=f"invalid JSON: {name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise RecordError(field=None, reason="invalid JSON: number out of range")
    return value


#: The strict decoder: raises :class:`RecordError` for duplicate keys, NaN or
#: Infinity, and numbers out of range; ``json.JSONDecodeError`` for broken JSON.
STRICT_JSON = json.JSONDecoder(
    object_pairs_hook=_pairs_no_duplicates,
    parse_constant=_no_constant,
    parse_float=_finite_float,
)


def loads_strict(text: str | bytes) -> Any:
    """Parse one JSON document by the strict rules of the columnar reader.

    Duplicate keys, ``NaN``/``Infinity``, invalid UTF-8 and trailing data are
    errors, as they are for Arrow's JSON reader; so is nesting deeper than
    :data:`~rtt_topology.load.documents.MAX_DEPTH` levels (a beacon nests two).
    The depth is measured by walking the parsed value only when the text holds
    more than ``MAX_DEPTH`` opening brackets (``{`` or ``[``, strings included):
    fewer cannot nest deeper, so the answer is the same either way.

    Raises
    ------
    RecordError
        With a short ``reason`` (and the key as ``field``, for duplicates).

    Examples
    --------
    >>> loads_strict('{"site": "a"}')
    {'site': 'a'}
    >>> loads_strict('{"site": "a", "site": "b"}')
    Traceback (most recent call last):
    ...
    rtt_topology.errors.RecordError: site: duplicate key
    >>> loads_strict('{"x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    Traceback (most recent call last):
    ...
    rtt_topology.errors.RecordError: invalid JSON: nesting deeper than 64 levels
    """
    if not isinstance(text, str):
        try:
            # bytes decode without a copy; bytearray and memoryview through bytes().
            text = (text if isinstance(text, bytes) else bytes(text)).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RecordError(field=None, reason=f"invalid UTF-8 (byte {exc.start})") from exc
    try:
        value = STRICT_JSON.decode(text.strip())
    except json.JSONDecodeError as exc:
        raise RecordError(
            field=None, reason=f"invalid JSON: {exc.msg} (column {exc.colno})"
        ) from exc
    except RecursionError as exc:
        # The decoder recurses: it stops at Python's recursion limit, after reading
        # no more than that many levels.
        raise RecordError(field=None, reason=_TOO_DEEP) from exc
    if _may_nest_too_deep(text) and nesting_depth(value) > MAX_DEPTH:
        raise RecordError(field=None, reason=_TOO_DEEP)
    return value


_TOO_DEEP = f"invalid JSON: nesting deeper than {MAX_DEPTH} levels"


def _may_nest_too_deep(text: str) -> bool:
    """Tell whether a JSON text may nest deeper than ``MAX_DEPTH``: ``False`` proves it cannot.

    The rule: a text holding at most :data:`~rtt_topology.load.documents.MAX_DEPTH`
    opening brackets (``{`` and ``[``, counted anywhere, inside strings too) cannot
    nest deeper, since every object or array it holds opens with one and a path
    from the top passes through distinct ones. Counting is one scan in C, far
    cheaper than walking the parsed value (a beacon holds two).

    Examples
    --------
    >>> _may_nest_too_deep('{"site": "a", "structure": {"dom_nodes": 3}}')
    False
    >>> _may_nest_too_deep("[" * 65 + "]" * 65)
    True
    """
    return text.count("{") + text.count("[") > MAX_DEPTH


def _string(record: Mapping[str, Any], key: str, where: str) -> str | None:
    value = record.get(key)
    if value is None or isinstance(value, str):
        return value
    raise RecordError(field=where, reason=f"expected a string, got {json_type(value)}")


def _count(structure: Mapping[str, Any], key: str) -> int | None:
    value = structure.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            raise RecordError(
                field=f"structure.{key}", reason="expected an integer, got a decimal number"
            )
        raise RecordError(
            field=f"structure.{key}", reason=f"expected an integer, got {json_type(value)}"
        )
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise RecordError(field=f"structure.{key}", reason="integer out of range")
    return value


def _check_text(value: Any, where: str) -> None:
    """Reject strings that cannot be UTF-8 encoded (lone surrogates)."""
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise RecordError(field=where, reason="invalid unicode (lone surrogate)") from exc
    except (RecursionError, ValueError) as exc:
        raise RecordError(field=where, reason="value cannot be represented as JSON") from exc


def flatten_record(record: Any, line: int) -> dict[str, Any]:
    """Turn one parsed beacon into a row of :data:`RAW_SCHEMA`.

    Parameters
    ----------
    record
        The parsed JSON value (expected to be an object).
    line
        Its line number or position, stored in the ``line`` column.

    Returns
    -------
    dict
        The row; unknown keys are gathered in ``extra`` as a JSON object text,
        with unknown ``structure`` keys nested under ``"structure"``.

    Raises
    ------
    RecordError
        If a field has the wrong JSON type.

    Examples
    --------
    >>> row = flatten_record(
    ...     {"site": "a", "session": "s", "event": "heartbeat", "ts": "2026-01-19T15:00:00Z",
    ...      "structure": {"url": "internal://a", "dom_nodes": 0, "theme": "dark"}, "zone": 2},
    ...     line=7,
    ... )
    >>> row["url"], row["nav_count"], row["dom_nodes"], row["extra"]
    ('internal://a', None, 0, '{"zone":2,"structure":{"theme":"dark"}}')
    """
    if not isinstance(record, Mapping):
        raise RecordError(field=None, reason=f"expected a JSON object, got {json_type(record)}")
    row: dict[str, Any] = {name: _string(record, name, name) for name in STRING_FIELDS}
    structure = record.get("structure")
    extra: dict[str, Any] = {k: v for k, v in record.items() if k not in row and k != "structure"}
    if structure is None:
        structure = {}
    elif not isinstance(structure, Mapping):
        raise RecordError(
            field="structure", reason=f"expected an object, got {json_type(structure)}"
        )
    for name in _STRUCTURE_STRINGS:
        row[name] = _string(structure, name, f"structure.{name}")
    for name in COUNT_FIELDS:
        row[name] = _count(structure, name)
    nested = {
        k: v for k, v in structure.items() if k not in _STRUCTURE_STRINGS and k not in COUNT_FIELDS
    }
    if nested:
        extra["structure"] = nested
    for name in (*STRING_FIELDS, *_STRUCTURE_STRINGS):
        if row[name] is not None and not row[name].isascii():
            _check_text(row[name], name)
    if extra:
        _check_text(extra, "extra")
        row["extra"] = json.dumps(extra, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    else:
        row["extra"] = None
    row["line"] = line
    return row


def raw_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Build a :data:`RAW_SCHEMA` table from rows made by :func:`flatten_record`."""
    columns = {name: [row[name] for row in rows] for name in RAW_SCHEMA.names}
    return pa.table(columns, schema=RAW_SCHEMA)
