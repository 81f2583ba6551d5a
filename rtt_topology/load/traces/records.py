"""Record-level rules shared by the trace parsers: ids, times, texts, and the span sink.

:class:`SpanSink` keeps the spans of one file compactly (rows of Python values,
turned into an Arrow batch every 16,384 spans, with names dictionary-encoded and
ids as ``large_string``, the storage of pandas' ``str`` dtype) and counts every
record read: a span, a dependency link, or a container that could not be read
(a trace that is not an object counts as one rejected record).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from typing import Any

import pyarrow as pa

from rtt_topology.load.documents import MAX_DEPTH, nesting_depth
from rtt_topology.load.report import Reject, truncate_raw

__all__ = [
    "FORMAT_BITS",
    "HEX_ID",
    "KIND_NAMES",
    "LINK_FORMATS",
    "MAX_NS",
    "SPAN_FIELDS",
    "SPAN_FORMATS",
    "TRACE_FORMATS",
    "BadRecord",
    "SpanSink",
    "micros",
    "nanos",
    "normalize_id",
    "parent_id",
    "required_id",
    "text_value",
]

#: Formats whose records are spans.
SPAN_FORMATS = ("jaeger", "zipkin", "otlp")
#: Formats whose records are aggregated dependency links.
LINK_FORMATS = ("jaeger-deps", "zipkin-deps")
#: Every format a file may hold (the values of ``read_traces(format=...)``).
TRACE_FORMATS = SPAN_FORMATS + LINK_FORMATS
#: Span kinds as the formats spell them (lower-cased), to the span table's names.
KIND_NAMES = {
    "server": "server",
    "client": "client",
    "producer": "producer",
    "consumer": "consumer",
    "internal": "internal",
}
#: A bit per span format, to remember every format in which a span was seen.
FORMAT_BITS = {"jaeger": 1, "zipkin": 2, "otlp": 4}

#: The columns a :class:`SpanSink` collects, in order (``start`` in epoch nanoseconds).
SPAN_FIELDS = (
    "trace_id",
    "span_id",
    "parent_id",
    "service",
    "name",
    "kind",
    "start",
    "duration_ms",
    "error",
    "peer",
    "db_system",
    "messaging_system",
    "cluster",
    "format",
)
_DICT_FIELDS = frozenset(
    {"service", "name", "kind", "peer", "db_system", "messaging_system", "cluster", "format"}
)
_BATCH = 16_384
#: Largest epoch time in nanoseconds that fits ``datetime64[ns]``.
MAX_NS = 2**63 - 1
_MAX_US = MAX_NS // 1000

#: A canonical id: 16 or 32 lower-case hex digits.
HEX_ID = re.compile(r"[0-9a-f]{16}|[0-9a-f]{32}")
_HEX = re.compile(r"[0-9a-fA-F]{1,32}")
_ZERO = re.compile(r"0+")


class BadRecord(Exception):  # noqa: N818  (a signal between parsers, never raised to users)
    """A record is unusable: ``field`` and ``reason`` become a :class:`Reject`."""

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def normalize_id(value: object) -> str | None:
    """Return a trace or span id as lower-case hex with its leading zeros restored.

    Hex ids of up to 16 digits are 64-bit and padded to 16 digits, longer ones to 32;
    base64 ids (as some OTLP exporters write them) of 8 or 16 bytes are decoded.

    Parameters
    ----------
    value
        The id as found in the record.

    Returns
    -------
    str or None
        The normalised id, or ``None`` when ``value`` is not an id (not a string,
        not hex, not base64 of 8 or 16 bytes). An all-zero id is returned as is.

    Examples
    --------
    >>> normalize_id("1")
    '0000000000000001'
    >>> normalize_id("5B8EFFF798038103D269B633813FC60C")
    '5b8efff798038103d269b633813fc60c'
    >>> normalize_id("7uGbfsPBsXQ=")
    'eee19b7ec3c1b174'
    >>> normalize_id("not an id") is None
    True
    """
    if type(value) is not str:
        return None
    if HEX_ID.fullmatch(value):
        return value
    text = value.strip()
    if _HEX.fullmatch(text):
        text = text.lower()
        return text.zfill(16 if len(text) <= 16 else 32)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) in (8, 16) else None


def required_id(value: object, field: str) -> str:
    """Return the normalised id, or raise :class:`BadRecord` (missing, bad, all zeros)."""
    if value is None or value == "":
        raise BadRecord(field, "missing")
    ident = normalize_id(value)
    if ident is None:
        raise BadRecord(field, "not a hex or base64 id")
    if _ZERO.fullmatch(ident):
        raise BadRecord(field, "all-zero id")
    return ident


def parent_id(value: object, field: str) -> str | None:
    """Return the normalised parent id; ``None`` when absent, empty or all zeros."""
    if value is None or value == "":
        return None
    ident = normalize_id(value)
    if ident is None:
        raise BadRecord(field, "not a hex or base64 id")
    return None if _ZERO.fullmatch(ident) else ident


def micros(value: object, field: str) -> int | None:
    """Return microseconds given as a JSON number (Jaeger, Zipkin); ``None`` when absent."""
    if value is None:
        return None
    if type(value) is int:
        result = value
    elif type(value) is float and math.isfinite(value):
        result = round(value)
    else:
        raise BadRecord(field, "not a number of microseconds")
    if not 0 <= result <= _MAX_US:
        raise BadRecord(field, "out of range")
    return result


def nanos(value: object, field: str) -> int | None:
    """Return OTLP nanoseconds (a decimal string or a JSON integer); ``None`` if absent or 0."""
    if value is None:
        return None
    if type(value) is str:
        if not value.isdigit() or not value.isascii():
            raise BadRecord(field, "not a decimal number of nanoseconds")
        result = int(value)
    elif type(value) is int:
        result = value
    else:
        raise BadRecord(field, "not a decimal number of nanoseconds")
    if not 0 <= result <= MAX_NS:
        raise BadRecord(field, "out of range")
    return result or None


def text_value(value: object) -> str | None:
    """Return an attribute value as text (``None`` for empty strings and non-scalars)."""
    if type(value) is str:
        return value or None
    if isinstance(value, bool | int | float):
        return str(value).lower() if isinstance(value, bool) else str(value)
    return None


def _raw(record: object) -> str:
    # Deep nesting would exhaust the stack in json.dumps (and repr): say so instead.
    if nesting_depth(record) > MAX_DEPTH:
        return f"(a value nested deeper than {MAX_DEPTH} levels)"
    try:
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        text = repr(record)
    return truncate_raw(text)


class SpanSink:
    """Collect spans and dependency links of one file, and count every record.

    Parameters
    ----------
    source
        The file, for rejects.

    Attributes
    ----------
    read
        Records read: spans, links, and unreadable containers.
    rejects
        The rejected records.
    batches
        Spans flushed so far, as Arrow record batches with the columns of
        :data:`SPAN_FIELDS`.
    links
        Dependency links as ``(parent, child, calls, errors, format)``.
    line
        The line being parsed (JSON Lines), for rejects; ``None`` means that
        rejects carry the record's 1-based position in the file instead.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.read = 0
        self.rejects: list[Reject] = []
        self.batches: list[pa.RecordBatch] = []
        self.links: list[tuple[str, str, int, int, str]] = []
        self.line: int | None = None
        self._rows: list[tuple[Any, ...]] = []

    def add(self, *values: Any) -> None:
        """Add one valid span, its values in the order of :data:`SPAN_FIELDS`."""
        rows = self._rows
        rows.append(values)
        self.read += 1
        if len(rows) >= _BATCH:
            self.flush()

    def add_many(self, rows: list[tuple[Any, ...]]) -> None:
        """Add valid spans, each a tuple in the order of :data:`SPAN_FIELDS`."""
        self._rows.extend(rows)
        self.read += len(rows)
        if len(self._rows) >= _BATCH:
            self.flush()

    def add_batch(self, batch: pa.RecordBatch) -> None:
        """Add spans already in a batch (the columns of :data:`SPAN_FIELDS`)."""
        self.flush()
        self.batches.append(batch)
        self.read += len(batch)

    def add_link(self, parent: str, child: str, calls: int, errors: int, fmt: str) -> None:
        """Add one valid dependency link."""
        self.links.append((parent, child, calls, errors, fmt))
        self.read += 1

    def reject(self, field: str | None, reason: str, record: object) -> None:
        """Count one unusable record (a span, a link or a container) and keep it."""
        self.read += 1
        line = self.read if self.line is None else self.line
        self.rejects.append(Reject(self.source, line, field, reason, _raw(record)))

    def flush(self) -> None:
        """Turn the spans collected since the last flush into an Arrow batch."""
        if not self._rows:
            return
        arrays = []
        for name, values in zip(SPAN_FIELDS, zip(*self._rows, strict=True), strict=True):
            if name == "start":
                arr = pa.array(values, pa.int64()).cast(pa.timestamp("ns", tz="UTC"))
            elif name == "duration_ms":
                arr = pa.array(values, pa.float64())
            elif name == "error":
                arr = pa.array(values, pa.bool_())
            elif name in _DICT_FIELDS:
                arr = pa.array(values, pa.string()).dictionary_encode()
            else:
                # large_string is what pandas' str dtype holds: no copy later.
                arr = pa.array(values, pa.large_string())
            arrays.append(arr)
        self.batches.append(pa.RecordBatch.from_arrays(arrays, names=list(SPAN_FIELDS)))
        self._rows = []
