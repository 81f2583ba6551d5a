"""Recognise trace exports by content, and parse Jaeger, Zipkin v2 and dependency links.

The parsers are pure: they receive one parsed JSON document (a whole file, or one
line of JSON Lines) and hand every span to a
:class:`~rtt_topology.load.traces.records.SpanSink`. :func:`classify` recognises a
document by its content; :func:`parse_document` dispatches it (OTLP to
:mod:`rtt_topology.load.traces.otlp`). The rules each parser applies (ids,
kinds, errors, peers) are listed in :mod:`rtt_topology.load.traces`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from rtt_topology.load.traces.otlp import parse_otlp
from rtt_topology.load.traces.records import (
    BadRecord,
    SpanSink,
    micros,
    normalize_id,
    parent_id,
    required_id,
    text_value,
)

__all__ = ["classify", "parse_document", "resolve"]

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
    return isinstance(item, dict) and ("resourceSpans" in item or "resource_spans" in item)


def _classify_list(items: list[Any]) -> str | None:
    if not items:
        return "zipkin"
    for item in items[:20]:
        if isinstance(item, list):
            inner = _classify_list(item)
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
    return None


def classify(doc: object) -> tuple[str, object] | None:
    """Recognise a trace export by its content.

    Parameters
    ----------
    doc
        A parsed JSON document.

    Returns
    -------
    tuple or None
        ``(format, payload)``: the format (one of :data:`TRACE_FORMATS`) and the
        part of ``doc`` to parse (a wrapper object of one key is unwrapped, one
        level deep); ``None`` when ``doc`` matches no format.

    Examples
    --------
    >>> classify({"data": [{"parent": "a", "child": "b", "callCount": 1}]})[0]
    'jaeger-deps'
    >>> classify({"result": [{"traceId": "1", "id": "2"}]})
    ('zipkin', [{'traceId': '1', 'id': '2'}])
    >>> classify({"site": "auth"}) is None
    True
    """
    for depth in (0, 1):
        fmt: str | None = None
        if isinstance(doc, list):
            fmt = _classify_list(doc)
        elif isinstance(doc, dict):
            fmt = _classify_dict(doc)
        if fmt is not None:
            return fmt, doc
        if depth == 0 and isinstance(doc, dict) and len(doc) == 1:
            doc = next(iter(doc.values()))
        else:
            break
    return None


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


# --- Jaeger ------------------------------------------------------------------------------

_KIND_NAMES = {
    "server": "server",
    "client": "client",
    "producer": "producer",
    "consumer": "consumer",
    "internal": "internal",
}
_JAEGER_TAGS = frozenset(
    {
        "span.kind",
        "error",
        "otel.status_code",
        "peer.service",
        "server.address",
        "net.peer.name",
        "db.system",
        "db.system.name",
        "db.type",
        "messaging.system",
        "k8s.cluster.name",
    }
)


def _jaeger_tags(tags: object, field: str) -> dict[str, Any]:
    if tags is None:
        return {}
    if not isinstance(tags, list):
        raise BadRecord(field, "not a list")
    found: dict[str, Any] = {}
    for tag in tags:
        if isinstance(tag, dict):
            key = tag.get("key")
            if key in _JAEGER_TAGS:
                found[key] = tag.get("value")
    return found


def _jaeger_process(process: object) -> tuple[str, str | None]:
    if not isinstance(process, dict):
        raise BadRecord("processID", "no such process in the trace")
    service = process.get("serviceName")
    tags = _jaeger_tags(process.get("tags"), "process.tags")
    return (service if isinstance(service, str) else ""), text_value(tags.get("k8s.cluster.name"))


def _jaeger_parent(span: dict[str, Any], trace_id: str) -> str | None:
    refs = span.get("references")
    if refs:
        if not isinstance(refs, list):
            raise BadRecord("references", "not a list")
        child_of = follows = None
        for ref in refs:
            if not isinstance(ref, dict):
                raise BadRecord("references", "not an object")
            ref_trace = ref.get("traceID")
            # A reference into another trace is a link, not a parent.
            if ref_trace is not None and normalize_id(ref_trace) != trace_id:
                continue
            kind = ref.get("refType", "CHILD_OF")
            if kind == "CHILD_OF" and child_of is None:
                child_of = ref.get("spanID")
            elif kind == "FOLLOWS_FROM" and follows is None:
                follows = ref.get("spanID")
        parent = child_of if child_of is not None else follows
        if parent is not None:
            return parent_id(parent, "references.spanID")
    return parent_id(span.get("parentSpanID"), "parentSpanID")


def _jaeger_span(
    span: object,
    trace_id: object,
    processes: dict[str, Any],
    cache: dict[str, tuple[str, str | None]],
    sink: SpanSink,
) -> None:
    if not isinstance(span, dict):
        raise BadRecord(None, "span is not an object")
    tid = required_id(span.get("traceID", trace_id), "traceID")
    sid = required_id(span.get("spanID"), "spanID")
    parent = _jaeger_parent(span, tid)
    if "process" in span:
        service, cluster = _jaeger_process(span["process"])
    else:
        pid = span.get("processID")
        if not isinstance(pid, str) or pid not in processes:
            raise BadRecord("processID", "no such process in the trace")
        if pid not in cache:
            cache[pid] = _jaeger_process(processes[pid])
        service, cluster = cache[pid]
    start = micros(span.get("startTime"), "startTime")
    duration = micros(span.get("duration"), "duration")
    tags = _jaeger_tags(span.get("tags"), "tags")
    kind_tag = tags.get("span.kind")
    kind = _KIND_NAMES.get(kind_tag.lower(), "unspecified") if isinstance(kind_tag, str) else None
    error = tags.get("error")
    is_error = error is True or (isinstance(error, str) and error.lower() == "true")
    status = tags.get("otel.status_code")
    is_error = is_error or (isinstance(status, str) and status.upper() == "ERROR")
    name = span.get("operationName")
    sink.add(
        tid,
        sid,
        parent,
        service,
        name if isinstance(name, str) else "",
        kind or "unspecified",
        start * 1000 if start else None,
        math.nan if duration is None else duration / 1000,
        is_error,
        text_value(tags.get("peer.service"))
        or text_value(tags.get("server.address"))
        or text_value(tags.get("net.peer.name")),
        text_value(tags.get("db.system"))
        or text_value(tags.get("db.system.name"))
        or text_value(tags.get("db.type")),
        text_value(tags.get("messaging.system")),
        cluster,
        "jaeger",
    )


def _parse_jaeger(payload: object, sink: SpanSink) -> None:
    traces: object = payload
    if isinstance(payload, dict):
        traces = payload.get("data", [payload])
    if not isinstance(traces, list):
        sink.reject("data", "not a list of traces", payload)
        return
    for trace in traces:
        if not isinstance(trace, dict):
            sink.reject(None, "trace is not an object", trace)
            continue
        spans = trace.get("spans")
        if not isinstance(spans, list):
            sink.reject("spans", "not a list", trace)
            continue
        processes = trace.get("processes")
        if not isinstance(processes, dict):
            processes = {}
        cache: dict[str, tuple[str, str | None]] = {}
        for span in spans:
            try:
                _jaeger_span(span, trace.get("traceID"), processes, cache, sink)
            except BadRecord as bad:
                sink.reject(bad.field, bad.reason, span)


# --- Zipkin ------------------------------------------------------------------------------


def _endpoint_service(span: dict[str, Any], key: str) -> str | None:
    endpoint = span.get(key)
    if endpoint is None:
        return None
    if not isinstance(endpoint, dict):
        raise BadRecord(key, "not an object")
    name = endpoint.get("serviceName")
    return name if isinstance(name, str) and name else None


def _zipkin_span(span: object, sink: SpanSink) -> None:
    if not isinstance(span, dict):
        raise BadRecord(None, "span is not an object")
    tid = required_id(span.get("traceId"), "traceId")
    sid = required_id(span.get("id"), "id")
    parent = parent_id(span.get("parentId"), "parentId")
    local = _endpoint_service(span, "localEndpoint")
    remote = _endpoint_service(span, "remoteEndpoint")
    start = micros(span.get("timestamp"), "timestamp")
    duration = micros(span.get("duration"), "duration")
    tags = span.get("tags")
    if tags is None:
        tags = {}
    elif not isinstance(tags, dict):
        raise BadRecord("tags", "not an object")
    kind_value = span.get("kind")
    if isinstance(kind_value, str):
        kind = _KIND_NAMES.get(kind_value.lower(), "unspecified")
    elif local and remote:
        # Zipkin's DependencyLinker: no kind but both endpoints means a client span.
        kind = "client"
    else:
        kind = "unspecified"
    name = span.get("name")
    sink.add(
        tid,
        sid,
        parent,
        local or "",
        name if isinstance(name, str) else "",
        kind,
        start * 1000 if start else None,
        math.nan if duration is None else duration / 1000,
        "error" in tags,
        text_value(tags.get("peer.service"))
        or remote
        or text_value(tags.get("server.address"))
        or text_value(tags.get("net.peer.name")),
        text_value(tags.get("db.system")) or text_value(tags.get("db.system.name")),
        text_value(tags.get("messaging.system")),
        text_value(tags.get("k8s.cluster.name")),
        "zipkin",
    )


def _parse_zipkin(payload: object, sink: SpanSink) -> None:
    items = payload if isinstance(payload, list) else [payload]
    for item in items:
        # /api/v2/traces: an array of traces, each an array of spans.
        for span in item if isinstance(item, list) else [item]:
            try:
                _zipkin_span(span, sink)
            except BadRecord as bad:
                sink.reject(bad.field, bad.reason, span)


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
    "jaeger": _parse_jaeger,
    "zipkin": _parse_zipkin,
    "otlp": parse_otlp,
    "jaeger-deps": _links("jaeger-deps"),
    "zipkin-deps": _links("zipkin-deps"),
}
