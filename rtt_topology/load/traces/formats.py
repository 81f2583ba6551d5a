"""Recognise trace exports by content, dispatch them to their parser, and parse dependency links.

The parsers are pure: they receive one parsed JSON document (a whole file, or one
line of JSON Lines) and hand every span to a
:class:`~rtt_topology.load.traces.records.SpanSink`. :func:`classify` recognises a
document by its content; :func:`parse_document` dispatches it (to
:mod:`~rtt_topology.load.traces.jaeger`, :mod:`~rtt_topology.load.traces.zipkin`
or :mod:`~rtt_topology.load.traces.otlp`). The rules each parser applies (ids,
kinds, errors, peers) are listed in :mod:`rtt_topology.load.traces`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from rtt_topology.load.traces.jaeger import parse_jaeger
from rtt_topology.load.traces.otlp import parse_otlp
from rtt_topology.load.traces.records import BadRecord, SpanSink
from rtt_topology.load.traces.zipkin import parse_zipkin

__all__ = ["WRAPPER_DEPTH", "classify", "parse_document", "resolve", "wrapper_keys"]

# --- detection ---------------------------------------------------------------------------


def _is_link(item: object) -> bool:
    return isinstance(item, dict) and "parent" in item and "child" in item


def _is_jaeger_trace(item: object) -> bool:
    return isinstance(item, dict) and "spans" in item and ("traceID" in item or "processes" in item)


def _is_zipkin_span(item: object) -> bool:
    return (
        isinstance(item, dict) and "traceId" in item and ("id" in item or "localEndpoint" in item)
    )


def _is_otlp(item: object) -> bool:
    return isinstance(item, dict) and (
        "resourceSpans" in item or "resource_spans" in item or _is_tempo(item)
    )


def _is_tempo(item: dict[str, Any]) -> bool:
    """Tempo's ``/api/traces/<id>``: ``{"batches": [ResourceSpans...]}``."""
    batches = item.get("batches")
    if not isinstance(batches, list):
        return False
    return all(
        isinstance(batch, dict)
        and ("resource" in batch or "scopeSpans" in batch or "instrumentationLibrarySpans" in batch)
        for batch in batches[:20]
    )


def _classify_list(items: list[Any], *, outer: bool = True) -> str | None:
    if not items:
        return "zipkin"
    for item in items[:20]:
        if isinstance(item, list):
            # Zipkin's /api/v2/traces: arrays of spans in an array, one level only.
            inner = _classify_list(item, outer=False) if outer else None
            return "zipkin" if inner == "zipkin" else None
        if _is_link(item):
            return "zipkin-deps"
        if _is_jaeger_trace(item):
            return "jaeger"
        if _is_zipkin_span(item):
            return "zipkin"
        if _is_otlp(item):
            return "otlp"
    return None


def _classify_dict(doc: dict[str, Any]) -> str | None:
    if _is_otlp(doc):
        return "otlp"
    if _is_jaeger_trace(doc):
        return "jaeger"
    if _is_zipkin_span(doc):
        return "zipkin"
    data = doc.get("data")
    if isinstance(data, list):
        if not data:
            return "jaeger"
        found = _classify_list(data)
        if found == "zipkin-deps":
            return "jaeger-deps"
        if found == "jaeger":
            return "jaeger"
    # The Jaeger UI keeps (and downloads) one trace as {"data": {trace}}.
    if _is_jaeger_trace(data):
        return "jaeger"
    return None


def _direct(doc: object) -> str | None:
    if isinstance(doc, list):
        return _classify_list(doc)
    if isinstance(doc, dict):
        return _classify_dict(doc)
    return None


#: How many wrapper objects deep :func:`classify` looks for known data.
WRAPPER_DEPTH = 1


def _wrapped(doc: dict[str, Any], depth: int, path: str) -> list[tuple[str, str, object]]:
    """Every ``(key path, format, value)`` found inside ``doc``, ``depth`` levels deep at most.

    Empty lists are left out: they read as every format and as none.
    """
    found: list[tuple[str, str, object]] = []
    for key, value in doc.items():
        if not isinstance(value, dict | list) or value == []:
            continue
        where = f"{path}.{_key_text(key)}" if path else _key_text(key)
        fmt = _direct(value)
        if fmt is not None:
            found.append((where, fmt, value))
        elif depth > 1 and isinstance(value, dict):
            found.extend(_wrapped(value, depth - 1, where))
    return found


def classify(doc: object) -> tuple[str, object] | None:
    """Recognise a trace export by its content.

    The rule, in order: ``doc`` itself in a known shape; a wrapper object of one
    key (``{"result": ...}``), unwrapped one level, whatever its value; else the
    known data found inside wrapper objects (up to :data:`WRAPPER_DEPTH` levels,
    empty lists left out), when it is found in exactly one place. Several places,
    or none: no format (:func:`wrapper_keys` says what was found).

    Parameters
    ----------
    doc
        A parsed JSON document.

    Returns
    -------
    tuple or None
        ``(format, payload)``: the format (one of :data:`TRACE_FORMATS`) and the
        part of ``doc`` to parse; ``None`` when ``doc`` matches no format, or
        holds known data in several places.

    Examples
    --------
    >>> classify({"data": [{"parent": "a", "child": "b", "callCount": 1}]})[0]
    'jaeger-deps'
    >>> classify({"result": [{"traceId": "1", "id": "2"}]})
    ('zipkin', [{'traceId': '1', 'id': '2'}])
    >>> classify({"status": "complete", "trace": {"resourceSpans": []}})
    ('otlp', {'resourceSpans': []})
    >>> classify({"site": "auth"}) is None
    True
    """
    fmt = _direct(doc)
    if fmt is not None:
        return fmt, doc
    if not isinstance(doc, dict):
        return None
    if len(doc) == 1:
        inner = next(iter(doc.values()))
        fmt = _direct(inner)
        if fmt is not None:
            return fmt, inner
    found = _wrapped(doc, WRAPPER_DEPTH, "")
    if len(found) == 1:
        return found[0][1], found[0][2]
    return None


def _key_text(key: str) -> str:
    """Return a key as errors show it: itself when short and printable, else quoted and cut."""
    if key and key.isprintable() and len(key) <= 40 and "," not in key:
        return key
    return json.dumps(key[:40]) + ("..." if len(key) > 40 else "")


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def wrapper_keys(doc: object) -> str:
    """Say what an unrecognised document holds, for the error: its keys, or its known parts.

    Examples
    --------
    >>> wrapper_keys({"a": [{"traceId": "1", "id": "2"}], "b": {"resourceSpans": []}})
    'known data in several places (a: zipkin, b: otlp): keep one'
    >>> wrapper_keys({"site": "auth", "ts": 1})
    'found keys: site, ts'
    """
    if isinstance(doc, list):
        return f"found a list whose first item is {_json_type(doc[0])}" if doc else ""
    if not isinstance(doc, dict):
        return f"found {_json_type(doc)}"
    found = _wrapped(doc, WRAPPER_DEPTH, "")
    if len(found) > 1:
        places = ", ".join(f"{where}: {fmt}" for where, fmt, _ in found[:10])
        return f"known data in several places ({places}): keep one"
    keys = [_key_text(key) for key in list(doc)[:20]]
    more = ", ..." if len(doc) > 20 else ""
    return "found keys: " + (", ".join(keys) + more if keys else "none (an empty object)")


def _fits(fmt: str, doc: object) -> bool:
    """Return whether ``doc`` has the outer shape of ``fmt``, for a forced format."""
    if fmt in ("zipkin", "zipkin-deps"):
        return isinstance(doc, list)
    if fmt in ("jaeger", "jaeger-deps"):
        return isinstance(doc, list) or (isinstance(doc, dict) and "data" in doc)
    return isinstance(doc, dict | list)


def resolve(doc: object, forced: str | None) -> tuple[str, object] | None:
    """Classify ``doc``, or check it against the ``forced`` format.

    Returns ``None`` when ``doc`` matches no format, or not the forced one.
    """
    found = classify(doc)
    if forced is None:
        return found
    if found is not None:
        fmt, payload = found
        if fmt == forced or (payload == [] and forced in ("zipkin", "zipkin-deps")):
            return forced, payload
        if {fmt, forced} == {"jaeger", "jaeger-deps"} and payload == {"data": []}:
            return forced, payload
        return None
    return (forced, doc) if _fits(forced, doc) else None


def parse_document(fmt: str, payload: object, sink: SpanSink) -> None:
    """Parse one document of format ``fmt`` (from :func:`classify`) into ``sink``."""
    _PARSERS[fmt](payload, sink)


# --- dependency links --------------------------------------------------------------------


def _count(value: object, field: str, *, default: int | None) -> int:
    if value is None and default is not None:
        return default
    if type(value) is not int:
        raise BadRecord(field, "missing" if value is None else "not an integer")
    if value < 0:
        raise BadRecord(field, "negative")
    return value


def _link(item: object, fmt: str, sink: SpanSink) -> None:
    if not isinstance(item, dict):
        raise BadRecord(None, "link is not an object")
    parent, child = item.get("parent"), item.get("child")
    for field, value in (("parent", parent), ("child", child)):
        if not isinstance(value, str) or not value:
            raise BadRecord(field, "missing" if value is None else "not a service name")
    assert isinstance(parent, str)
    assert isinstance(child, str)
    calls = _count(item.get("callCount"), "callCount", default=None)
    errors = _count(item.get("errorCount"), "errorCount", default=0)
    sink.add_link(parent, child, calls, errors, fmt)


def _links(fmt: str) -> Callable[[object, SpanSink], None]:
    def parse(payload: object, sink: SpanSink) -> None:
        items = payload.get("data") if isinstance(payload, dict) else payload
        if not isinstance(items, list):
            sink.reject("data", "not a list of links", payload)
            return
        for item in items:
            try:
                _link(item, fmt, sink)
            except BadRecord as bad:
                sink.reject(bad.field, bad.reason, item)

    return parse


_PARSERS: dict[str, Callable[[object, SpanSink], None]] = {
    "jaeger": parse_jaeger,
    "zipkin": parse_zipkin,
    "otlp": parse_otlp,
    "jaeger-deps": _links("jaeger-deps"),
    "zipkin-deps": _links("zipkin-deps"),
}
