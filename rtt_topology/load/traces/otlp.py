"""Parse OTLP JSON trace requests (``ExportTraceServiceRequest``) record by record.

This is the reference parser for OTLP: whole-file documents and any JSON Lines
block that the Arrow fast path (:mod:`rtt_topology.load.traces.arrow`) declines
go through it, so its rejects are the only ones. A fast path for the usual
shape of a span falls back to the checked path for anything unusual.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from rtt_topology.load.traces.records import (
    HEX_ID,
    MAX_NS,
    BadRecord,
    SpanSink,
    nanos,
    parent_id,
    required_id,
    text_value,
)

__all__ = ["parse_otlp"]


_OTLP_KINDS: dict[object, str] = {
    0: "unspecified",
    1: "internal",
    2: "server",
    3: "client",
    4: "producer",
    5: "consumer",
}
_OTLP_KINDS.update({f"SPAN_KIND_{v.upper()}": v for v in _OTLP_KINDS.values()})
# Absent or null: the proto3 default, unspecified.
_OTLP_KINDS[None] = "unspecified"
# What a kind may be in JSON (a list or an object cannot even be looked up).
_ENUM_TYPES = (int, float, str, type(None))
_OTLP_ERROR = (2, "STATUS_CODE_ERROR")
_OTLP_SPAN_ATTRS = frozenset(
    {
        "peer.service",
        "server.address",
        "net.peer.name",
        "db.system",
        "db.system.name",
        "messaging.system",
    }
)
_OTLP_RESOURCE_ATTRS = frozenset({"service.name", "k8s.cluster.name"})
# Key names in the proto3 JSON mapping: lowerCamelCase, or the proto field names.
_CAMEL = {
    "resourceSpans": "resourceSpans",
    "scopeSpans": "scopeSpans",
    "instrumentationLibrarySpans": "instrumentationLibrarySpans",
    "traceId": "traceId",
    "spanId": "spanId",
    "parentSpanId": "parentSpanId",
    "startTimeUnixNano": "startTimeUnixNano",
    "endTimeUnixNano": "endTimeUnixNano",
    "stringValue": "stringValue",
}
_SNAKE = {key: re.sub(r"([A-Z])", r"_\1", key).lower() for key in _CAMEL}


def _otlp_value(value: object, names: dict[str, str]) -> str | None:
    if not isinstance(value, dict):
        return None
    text = value.get(names["stringValue"])
    if isinstance(text, str):
        return text or None
    for item in value.values():
        return text_value(item)
    return None


def _otlp_attrs(attrs: object, wanted: frozenset[str], names: dict[str, str]) -> dict[str, str]:
    found: dict[str, str] = {}
    if isinstance(attrs, list):
        for attr in attrs:
            if isinstance(attr, dict):
                key = attr.get("key")
                if type(key) is str and key in wanted:
                    text = _otlp_value(attr.get("value"), names)
                    if text is not None:
                        found[key] = text
    return found


def _otlp_span(
    span: object, service: str, cluster: str | None, names: dict[str, str], add: Callable[..., None]
) -> None:
    if not isinstance(span, dict):
        raise BadRecord(None, "span is not an object")
    key = names["traceId"]
    tid = required_id(span.get(key), key)
    key = names["spanId"]
    sid = required_id(span.get(key), key)
    key = names["parentSpanId"]
    parent = parent_id(span.get(key), key)
    key = names["startTimeUnixNano"]
    start = nanos(span.get(key), key)
    key = names["endTimeUnixNano"]
    end = nanos(span.get(key), key)
    duration = math.nan
    if start is not None and end is not None:
        if end < start:
            raise BadRecord(key, "before the start time")
        duration = (end - start) / 1e6
    kind_value = span.get("kind")
    # Absent or null: the proto3 default, unspecified.
    kind = _OTLP_KINDS.get(kind_value) if type(kind_value) in _ENUM_TYPES else None
    if kind is None or type(kind_value) is bool:
        raise BadRecord("kind", "not a SpanKind")
    status = span.get("status")
    error = isinstance(status, dict) and status.get("code") in _OTLP_ERROR
    attrs = span.get("attributes")
    found = _otlp_attrs(attrs, _OTLP_SPAN_ATTRS, names) if attrs else {}
    name = span.get("name")
    add(
        tid,
        sid,
        parent,
        service,
        name if isinstance(name, str) else "",
        kind,
        start,
        duration,
        error,
        found.get("peer.service") or found.get("server.address") or found.get("net.peer.name"),
        found.get("db.system") or found.get("db.system.name"),
        found.get("messaging.system"),
        cluster,
        "otlp",
    )


_ZERO_IDS = frozenset({"0" * 16, "0" * 32})


def _otlp_spans(
    spans: list[Any], service: str, cluster: str | None, names: dict[str, str], sink: SpanSink
) -> None:
    """Parse a list of OTLP spans: a fast path for the usual shape, else the checked one."""
    out: list[tuple[Any, ...]] = []
    kinds = _OTLP_KINDS
    wanted = _OTLP_SPAN_ATTRS
    hex_id = HEX_ID.fullmatch
    zero = _ZERO_IDS
    camel = names is _CAMEL
    for span in spans:
        if camel and type(span) is dict:
            get = span.get
            tid, sid, parent = get("traceId"), get("spanId"), get("parentSpanId")
            start, end = get("startTimeUnixNano"), get("endTimeUnixNano")
            kind_value = get("kind")
            kind = kinds.get(kind_value) if type(kind_value) in _ENUM_TYPES else None
            name = get("name")
            if (
                type(tid) is str
                and type(sid) is str
                and hex_id(tid)
                and hex_id(sid)
                and tid not in zero
                and sid not in zero
                and (not parent or (type(parent) is str and hex_id(parent) and len(parent) == 16))
                and type(start) is str
                and type(end) is str
                and start.isdigit()
                and end.isdigit()
                and start.isascii()
                and end.isascii()
                and kind is not None
                and type(kind_value) is not bool
                and type(name) is str
            ):
                t0, t1 = int(start), int(end)
                if 0 < t0 <= t1 <= MAX_NS:
                    status = get("status")
                    found: dict[str, str] = {}
                    attrs = get("attributes")
                    if attrs:
                        for attr in attrs:
                            if (
                                type(attr) is dict
                                and type(attr.get("key")) is str
                                and attr["key"] in wanted
                            ):
                                text = _otlp_value(attr.get("value"), names)
                                if text is not None:
                                    found[attr["key"]] = text
                    out.append(
                        (
                            tid,
                            sid,
                            parent if parent and parent not in zero else None,
                            service,
                            name,
                            kind,
                            t0,
                            (t1 - t0) / 1e6,
                            type(status) is dict and status.get("code") in _OTLP_ERROR,
                            found.get("peer.service")
                            or found.get("server.address")
                            or found.get("net.peer.name"),
                            found.get("db.system") or found.get("db.system.name"),
                            found.get("messaging.system"),
                            cluster,
                            "otlp",
                        )
                    )
                    continue
        # Anything unusual: the checked path (keeps record positions in order).
        sink.add_many(out)
        out = []
        try:
            _otlp_span(span, service, cluster, names, sink.add)
        except BadRecord as bad:
            sink.reject(bad.field, bad.reason, span)
    sink.add_many(out)


def _parse_otlp_request(request: object, sink: SpanSink) -> None:
    if not isinstance(request, dict):
        sink.reject(None, "not an OTLP request object", request)
        return
    names = _SNAKE if "resource_spans" in request else _CAMEL
    key = names["resourceSpans"]
    if key not in request and "batches" in request:
        key = "batches"  # Tempo's /api/traces/<id>: the same ResourceSpans
    resource_spans = request.get(key)
    if not isinstance(resource_spans, list):
        sink.reject(key, "not a list", request)
        return
    for rs in resource_spans:
        if not isinstance(rs, dict):
            sink.reject(names["resourceSpans"], "not an object", rs)
            continue
        resource = rs.get("resource")
        attrs = _otlp_attrs(
            resource.get("attributes") if isinstance(resource, dict) else None,
            _OTLP_RESOURCE_ATTRS,
            names,
        )
        service = attrs.get("service.name", "")
        cluster = attrs.get("k8s.cluster.name")
        scopes = rs.get(names["scopeSpans"])
        if scopes is None:
            scopes = rs.get(names["instrumentationLibrarySpans"], [])
        if not isinstance(scopes, list):
            sink.reject(names["scopeSpans"], "not a list", rs)
            continue
        for scope in scopes:
            spans = scope.get("spans") if isinstance(scope, dict) else None
            if not isinstance(spans, list):
                sink.reject(names["scopeSpans"], "not an object with a list of spans", scope)
                continue
            _otlp_spans(spans, service, cluster, names, sink)


def parse_otlp(payload: object, sink: SpanSink) -> None:
    """Parse an OTLP request (or a list of them) into ``sink``."""
    for request in payload if isinstance(payload, list) else [payload]:
        _parse_otlp_request(request, sink)
