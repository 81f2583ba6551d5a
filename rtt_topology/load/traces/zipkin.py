"""Parse Zipkin JSON (v2 spans, and v1 spans with annotations) into a span sink."""

from __future__ import annotations

import math
from typing import Any, TypeGuard

from rtt_topology.load.traces.records import (
    KIND_NAMES,
    BadRecord,
    SpanSink,
    micros,
    parent_id,
    required_id,
    text_value,
)

__all__ = ["parse_zipkin"]


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
        kind = KIND_NAMES.get(kind_value.lower(), "unspecified")
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


# --- Zipkin v1: annotations to v2 spans -----------------------------------------------------

#: Core annotations of a v1 span: (start, end, kind, the address binary annotation of the
#: other side). A v1 span with both a client and a server part is two v2 spans sharing an id.
_V1_PARTS = (
    ("cs", "cr", "CLIENT", "sa"),
    ("sr", "ss", "SERVER", "ca"),
    ("ms", None, "PRODUCER", "ma"),
    ("mr", None, "CONSUMER", "ma"),
)
_V1_CORE = frozenset({"cs", "cr", "sr", "ss", "ms", "mr"})
_V1_ADDRESSES = frozenset({"sa", "ca", "ma", "lc"})


def _is_v1(span: object) -> TypeGuard[dict[str, Any]]:
    return (
        isinstance(span, dict)
        and "localEndpoint" not in span
        and ("annotations" in span or "binaryAnnotations" in span)
    )


def _v1_list(span: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = span.get(key)
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise BadRecord(key, "not a list of objects")
    return items


def _v1_spans(span: dict[str, Any]) -> list[dict[str, Any]]:
    """Turn a Zipkin v1 span into the v2 spans it stands for.

    A client part (``cs``/``cr``), a server part (``sr``/``ss``) and a messaging
    part (``ms``, ``mr``) each become a span of their own, in the service of their
    annotation's endpoint, timed by their annotations (``cr - cs``, ``ss - sr``);
    the other side's address (``sa``, ``ca``, ``ma``) is the remote endpoint, and
    a client with a server part and no ``sa`` has the server as its remote. A span
    without core annotations is a local span in the service of its ``lc``
    address, else of its first endpoint. String-valued binary annotations are tags.
    """
    core: dict[str, dict[str, Any]] = {}
    first_endpoint: object = None
    for note in _v1_list(span, "annotations"):
        value = note.get("value")
        if type(value) is str and value in _V1_CORE:
            core.setdefault(value, note)
        if first_endpoint is None and isinstance(note.get("endpoint"), dict):
            first_endpoint = note["endpoint"]
    tags: dict[str, str] = {}
    addresses: dict[str, object] = {}
    for note in _v1_list(span, "binaryAnnotations"):
        key, value = note.get("key"), note.get("value")
        if type(key) is not str:
            continue
        if key in _V1_ADDRESSES:
            addresses[key] = note.get("endpoint")
        elif text_value(value) is not None or key == "error":
            tags[key] = text_value(value) or ""
        if first_endpoint is None and isinstance(note.get("endpoint"), dict):
            first_endpoint = note["endpoint"]
    base = {key: span.get(key) for key in ("traceId", "id", "parentId", "name")}
    base["tags"] = tags
    parts = []
    for start_key, end_key, kind, remote_key in _V1_PARTS:
        start, end = core.get(start_key), core.get(end_key) if end_key else None
        if start is None and end is None:
            continue
        t0 = start.get("timestamp") if start else None
        t1 = end.get("timestamp") if end else None
        part = {**base, "kind": kind, "localEndpoint": (start or end or {}).get("endpoint")}
        part["timestamp"] = t0
        part["duration"] = t1 - t0 if type(t0) is int and type(t1) is int else None
        if addresses.get(remote_key) is not None:
            part["remoteEndpoint"] = addresses[remote_key]
        parts.append(part)
    if not parts:
        local = addresses.get("lc") or first_endpoint
        timing = {"timestamp": span.get("timestamp"), "duration": span.get("duration")}
        return [{**base, **timing, "localEndpoint": local}]
    if len(parts) == 1 and parts[0]["timestamp"] is None:
        parts[0].update(timestamp=span.get("timestamp"), duration=span.get("duration"))
    kinds = [part["kind"] for part in parts]
    if kinds[:2] == ["CLIENT", "SERVER"] and "remoteEndpoint" not in parts[0]:
        parts[0]["remoteEndpoint"] = parts[1]["localEndpoint"]
    return parts


def parse_zipkin(payload: object, sink: SpanSink) -> None:
    """Parse Zipkin spans (an array, or an array of arrays of them) into ``sink``.

    v2 spans are read as they are; a v1 span (``annotations`` and
    ``binaryAnnotations``, no ``localEndpoint``) is turned into v2 spans first.
    """
    items = payload if isinstance(payload, list) else [payload]
    for item in items:
        # /api/v2/traces: an array of traces, each an array of spans.
        for span in item if isinstance(item, list) else [item]:
            try:
                if _is_v1(span):
                    for part in _v1_spans(span):
                        _zipkin_span(part, sink)
                else:
                    _zipkin_span(span, sink)
            except BadRecord as bad:
                sink.reject(bad.field, bad.reason, span)
