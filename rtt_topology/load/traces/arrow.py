"""Read blocks of OTLP JSON Lines with Arrow's JSON reader into span batches (the fast path).

:func:`otlp_block` parses a block of whole lines (one ``ExportTraceServiceRequest``
each) with an explicit schema, flattens resources, scopes and spans with Arrow
list kernels, and applies the rules of the per-record parser in
:mod:`rtt_topology.load.traces.formats` to whole columns. It accepts a block only
when the per-record parser would accept every span of it with the same values;
anything else (a type it does not expect, a bad id or time, a non-string
attribute it reads, another format) returns ``None`` and the caller parses that
block line by line, so rejects and their line numbers always come from one place.
Ids that are not canonical hex (base64, upper case, short) are normalised one by
one, the rest in bulk.
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from rtt_topology.load.traces.records import SPAN_FIELDS, normalize_id

__all__ = ["OTLP_SCHEMA", "otlp_block"]

_VALUE = pa.struct([("stringValue", pa.string())])
_ATTRIBUTES = pa.list_(pa.struct([("key", pa.string()), ("value", _VALUE)]))
_SPAN = pa.struct(
    [
        ("traceId", pa.string()),
        ("spanId", pa.string()),
        ("parentSpanId", pa.string()),
        ("name", pa.string()),
        ("kind", pa.int64()),
        ("startTimeUnixNano", pa.string()),
        ("endTimeUnixNano", pa.string()),
        ("attributes", _ATTRIBUTES),
        ("status", pa.struct([("code", pa.int64())])),
    ]
)
_SCOPE = pa.struct([("spans", pa.list_(_SPAN))])
#: What the fast path reads of a request; other fields are ignored.
OTLP_SCHEMA = pa.schema(
    [
        (
            "resourceSpans",
            pa.list_(
                pa.struct(
                    [
                        ("resource", pa.struct([("attributes", _ATTRIBUTES)])),
                        ("scopeSpans", pa.list_(_SCOPE)),
                        # The pre-1.0 name: present means the slow path handles it.
                        ("instrumentationLibrarySpans", pa.list_(pa.struct([]))),
                    ]
                )
            ),
        ),
        # The proto field names: present means the slow path handles them.
        ("resource_spans", pa.list_(pa.struct([]))),
    ]
)
_POOL = pa.system_memory_pool()
_PARSE = pj.ParseOptions(explicit_schema=OTLP_SCHEMA, unexpected_field_behavior="ignore")
_KIND_NAMES = ["unspecified", "internal", "server", "client", "producer", "consumer"]
_SPAN_ATTRS: tuple[str, ...] = ("peer.service", "server.address", "net.peer.name", "db.system")
_SPAN_ATTRS += ("db.system.name", "messaging.system")
_CANONICAL = r"^(?:[0-9a-f]{16}|[0-9a-f]{32})$"
_ZERO = r"^0+$"
_DIGITS = r"^[0-9]+$"


class _Fallback(Exception):  # noqa: N818  (internal signal)
    """The block needs the per-record parser."""


def _flatten(values: pa.Array) -> tuple[pa.Array, npt.NDArray[np.int64]]:
    """Flatten a list array: the elements and the index of the list of each."""
    if values.null_count:
        raise _Fallback
    parents = pc.list_parent_indices(values).to_numpy().astype(np.int64)
    return pc.list_flatten(values), parents


def _attributes(
    lists: pa.Array, owners: int, keys: tuple[str, ...]
) -> dict[str, npt.NDArray[np.object_]]:
    """Return the last non-empty string value of each wanted key, per owner (or ``None``)."""
    out = {key: np.full(owners, None, dtype=object) for key in keys}
    flat = pc.list_flatten(lists)  # null lists (no attributes) flatten to nothing
    if not len(flat):
        return out
    parents = pc.list_parent_indices(lists).to_numpy()
    names = pc.struct_field(flat, "key")
    wanted = pc.is_in(names, value_set=pa.array(keys)).to_numpy(zero_copy_only=False)
    if not wanted.any():
        return out
    index = np.flatnonzero(wanted)
    texts = pc.struct_field(pc.struct_field(flat, "value"), "stringValue").take(index)
    if texts.null_count:
        raise _Fallback  # another value type: the per-record parser turns it into text
    names_np = names.take(index).to_numpy(zero_copy_only=False)
    texts_np = texts.to_numpy(zero_copy_only=False)
    owner = parents[index]
    for key in keys:
        hit = np.flatnonzero((names_np == key) & (texts_np != ""))
        # Later attributes win, as in the per-record parser: keep each owner's last one.
        last = len(hit) - 1 - np.unique(owner[hit][::-1], return_index=True)[1]
        out[key][owner[hit[last]]] = texts_np[hit[last]]
    return out


def _first(*columns: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    result = columns[0].copy()
    for column in columns[1:]:
        empty = result == None  # noqa: E711  (element-wise)
        result[empty] = column[empty]
    return result


def _ids(values: pa.Array, *, parent: bool) -> pa.Array:
    """Normalise ids: canonical hex in bulk, others one by one; raise _Fallback if bad."""
    if not parent and values.null_count:
        raise _Fallback
    canonical = pc.fill_null(pc.match_substring_regex(values, _CANONICAL), True)
    if parent:
        canonical = pc.and_(canonical, pc.fill_null(pc.equal(pc.utf8_length(values), 16), True))
    fixed = values
    odd = np.flatnonzero(~canonical.to_numpy(zero_copy_only=False))
    if len(odd):
        texts = values.take(pa.array(odd)).to_pylist()
        if parent:
            normalised = [normalize_id(text) if text != "" else "" for text in texts]
        else:
            normalised = [normalize_id(text) for text in texts]
        if any(v is None for v in normalised):
            raise _Fallback
        mask = pc.invert(pc.fill_null(canonical, True))
        fixed = pc.replace_with_mask(values, mask, pa.array(normalised, pa.string()))
    zero = pc.fill_null(pc.match_substring_regex(fixed, _ZERO), False)
    if parent:
        empty = pc.fill_null(pc.equal(fixed, ""), False)
        return pc.if_else(pc.or_(zero, empty), pa.scalar(None, pa.string()), fixed)
    if pc.any(zero).as_py():
        raise _Fallback
    return fixed


def _nanos(values: pa.Array) -> npt.NDArray[np.int64]:
    """Decimal nanosecond strings as int64; 0 where absent or 0."""
    digits = pc.fill_null(pc.match_substring_regex(values, _DIGITS), True)
    if not pc.all(digits, min_count=0).as_py():
        raise _Fallback
    try:
        ints = pc.cast(values, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise _Fallback from exc
    return np.asarray(pc.fill_null(ints, 0).to_numpy(), dtype=np.int64)


def _spans(table: pa.Table) -> dict[str, Any]:
    """Flatten a block's table into span columns, or raise _Fallback."""
    if table.column("resource_spans").null_count != len(table):
        raise _Fallback
    requests = table.column("resourceSpans").combine_chunks()
    resources, _ = _flatten(requests)
    if resources.null_count:
        raise _Fallback
    if pc.struct_field(resources, "instrumentationLibrarySpans").null_count != len(resources):
        raise _Fallback
    attrs = _attributes(
        pc.struct_field(pc.struct_field(resources, "resource"), "attributes"),
        len(resources),
        ("service.name", "k8s.cluster.name"),
    )
    scopes, scope_owner = _flatten(pc.struct_field(resources, "scopeSpans"))
    if scopes.null_count:
        raise _Fallback
    spans, span_owner = _flatten(pc.struct_field(scopes, "spans"))
    if spans.null_count:
        raise _Fallback
    resource = scope_owner[span_owner]
    kind = pc.fill_null(pc.struct_field(spans, "kind"), 0).to_numpy()
    if len(kind) and (kind.min() < 0 or kind.max() > 5):
        raise _Fallback
    start = _nanos(pc.struct_field(spans, "startTimeUnixNano"))
    end = _nanos(pc.struct_field(spans, "endTimeUnixNano"))
    both = (start > 0) & (end > 0)
    if (both & (end < start)).any():
        raise _Fallback
    duration = np.where(both, (end - start) / 1e6, math.nan)
    found = _attributes(pc.struct_field(spans, "attributes"), len(spans), _SPAN_ATTRS)
    service = attrs["service.name"][resource]
    service[service == None] = ""  # noqa: E711
    code = pc.struct_field(pc.struct_field(spans, "status"), "code")
    return {
        "trace_id": _ids(pc.struct_field(spans, "traceId"), parent=False),
        "span_id": _ids(pc.struct_field(spans, "spanId"), parent=False),
        "parent_id": _ids(pc.struct_field(spans, "parentSpanId"), parent=True),
        "service": service,
        "name": pc.fill_null(pc.struct_field(spans, "name"), ""),
        "kind": np.array(_KIND_NAMES, dtype=object)[kind],
        "start": np.where(start > 0, start, np.iinfo(np.int64).min),
        "duration_ms": duration,
        "error": pc.fill_null(pc.equal(code, 2), False),
        "peer": _first(found["peer.service"], found["server.address"], found["net.peer.name"]),
        "db_system": _first(found["db.system"], found["db.system.name"]),
        "messaging_system": found["messaging.system"],
        "cluster": attrs["k8s.cluster.name"][resource],
        "format": np.full(len(spans), "otlp", dtype=object),
    }


def _array(name: str, values: Any) -> pa.Array:
    if name == "start":
        ints = pa.array(values, pa.int64())
        ints = pc.if_else(pc.equal(ints, np.iinfo(np.int64).min), None, ints)
        return ints.cast(pa.timestamp("ns", tz="UTC"))
    if name == "duration_ms":
        return pa.array(values, pa.float64())
    if name == "error":
        return pa.array(values, pa.bool_())
    if name in ("trace_id", "span_id", "parent_id"):
        return pa.array(values, pa.string()).cast(pa.large_string())
    return pa.array(values, pa.string()).dictionary_encode()


def otlp_block(data: bytes, lines: int) -> pa.RecordBatch | None:
    r"""Parse a block of OTLP JSON Lines into a span batch (the columns of ``SPAN_FIELDS``).

    Parameters
    ----------
    data
        Whole lines, each a JSON object, none blank.
    lines
        How many lines ``data`` holds.

    Returns
    -------
    pyarrow.RecordBatch or None
        The spans, or ``None`` when the block needs the per-record parser.

    Examples
    --------
    >>> line = (
    ...     b'{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name",'
    ...     b'"value":{"stringValue":"frontend"}}]},"scopeSpans":[{"spans":[{"traceId":'
    ...     b'"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"GET",'
    ...     b'"kind":2,"startTimeUnixNano":"1700000000000000000",'
    ...     b'"endTimeUnixNano":"1700000000005000000"}]}]}]}\n'
    ... )
    >>> batch = otlp_block(line, 1)
    >>> batch.column("service")[0].as_py(), batch.column("duration_ms")[0].as_py()
    ('frontend', 5.0)
    >>> otlp_block(b'[{"traceId": "1", "id": "2"}]\n', 1) is None
    True
    """
    try:
        # One Arrow block for the whole data: its buffers are sized by it.
        options = pj.ReadOptions(use_threads=False, block_size=len(data) + 1)
        table = pj.read_json(
            io.BytesIO(data), read_options=options, parse_options=_PARSE, memory_pool=_POOL
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != lines:
        return None
    try:
        columns = _spans(table)
    except (_Fallback, pa.ArrowException, ValueError, OverflowError):
        # Whatever the fast path cannot take, the record parser can (or rejects).
        return None
    del table
    arrays = [_array(name, columns.pop(name)) for name in SPAN_FIELDS]
    return pa.RecordBatch.from_arrays(arrays, names=list(SPAN_FIELDS))
