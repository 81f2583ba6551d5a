"""Parse Jaeger JSON (the query API, the UI's traces, model/json) into a span sink."""

from __future__ import annotations

import math
from typing import Any

from rtt_topology.load.traces.records import (
    KIND_NAMES,
    BadRecord,
    SpanSink,
    micros,
    normalize_id,
    parent_id,
    required_id,
    text_value,
)

__all__ = ["parse_jaeger"]

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
            if type(key) is str and key in _JAEGER_TAGS:
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
    kind = KIND_NAMES.get(kind_tag.lower(), "unspecified") if isinstance(kind_tag, str) else None
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


def parse_jaeger(payload: object, sink: SpanSink) -> None:
    """Parse Jaeger traces into ``sink``.

    ``payload`` is ``{"data": [trace, ...]}``, ``{"data": trace}``, one trace, or a
    list of traces; a trace that is not an object, or whose ``spans`` is not a
    list, is one rejected record.
    """
    traces: object = payload
    if isinstance(payload, dict):
        traces = payload.get("data", [payload])
        if isinstance(traces, dict):
            traces = [traces]
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
