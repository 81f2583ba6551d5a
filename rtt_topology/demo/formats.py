"""Render the demo's spans as Jaeger JSON, Zipkin v2 JSON and OTLP JSON Lines.

The three files carry the same traces, so they yield the same service edges.
Format quirks seen in the wild are reproduced on purpose, in some spans only,
and listed in the ground truth: Zipkin client and server sharing one span id
(``shared: true``), Zipkin database spans without ``kind`` (both endpoints
set), and one service whose OTLP exporter writes ids in base64.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from rtt_topology.demo.catalog import ServiceSpec
from rtt_topology.demo.traces import Span, TraceSet

__all__ = ["OTLP_KIND", "host_of", "render_jaeger", "render_otlp", "render_zipkin"]

#: OTLP ``SpanKind`` enum values by our kind names.
OTLP_KIND = {"internal": 1, "server": 2, "client": 3, "producer": 4, "consumer": 5}
#: Traces per OTLP request line, like a Collector batch.
OTLP_BATCH = 10

_SDK = {
    "js": ("nodejs", "@opentelemetry/instrumentation-http", "0.57.1"),
    "py": ("python", "opentelemetry.instrumentation.requests", "0.50b0"),
}


def _dumps(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def host_of(spec: ServiceSpec, index: int) -> tuple[str, str]:
    """Return a stable pod-like hostname and an IPv4 address for a service.

    Parameters
    ----------
    spec
        The service.
    index
        Its position in the catalog (makes both values unique).

    Returns
    -------
    tuple of str
        ``(hostname, ipv4)``; east lives in 10.20.0.0/16, west in 10.30.0.0/16.

    Examples
    --------
    >>> from rtt_topology.demo.catalog import ServiceSpec
    >>> host_of(ServiceSpec("orders-api", "api", "east", [], "Orders API", "py", "t"), 2)
    ('orders-api-3c6ef363', '10.20.0.4')
    """
    # Knuth's multiplicative hash: a stable, random-looking pod suffix.
    suffix = (index * 2654435761 + 1) & 0xFFFFFFFF
    subnet = 20 if spec.cluster == "east" else 30
    return (
        f"{spec.name.replace('.', '-')}-{suffix:08x}",
        f"10.{subnet}.{(index // 250) % 250}.{index % 250 + 2}",
    )


def _jaeger_tags(span: Span) -> list[dict[str, Any]]:
    tags: list[dict[str, Any]] = [{"key": "span.kind", "type": "string", "value": span.kind}]
    for key, value in span.attrs.items():
        kind = "int64" if isinstance(value, int) else "string"
        tags.append({"key": key, "type": kind, "value": value})
    if span.error is not None:
        tags.append({"key": "error", "type": "bool", "value": True})
        tags.append({"key": "otel.status_code", "type": "string", "value": "ERROR"})
    return tags


def render_jaeger(traces: TraceSet, specs: dict[str, ServiceSpec], hosts: dict[str, str]) -> str:
    """Render traces as a Jaeger ``/api/traces`` response (``{"data": [...]}``).

    Parameters
    ----------
    traces
        The generated traces.
    specs
        Services by name (for process tags).
    hosts
        Hostname of each service.

    Returns
    -------
    str
        One compact JSON document.

    Examples
    --------
    >>> from rtt_topology.demo import build_scenario
    >>> demo = build_scenario(hours=2, services=8, traces_per_hour=5)
    >>> names = {s.name: host_of(s, i)[0] for i, s in enumerate(demo.plan.specs)}
    >>> doc = json.loads(render_jaeger(demo.traces, demo.plan.by_name, names))
    >>> len(doc["data"]) == len(demo.traces.traces), doc["data"][0]["spans"][0]["references"]
    (True, [])
    """
    data = []
    for tr in traces.traces:
        pids: dict[str, str] = {}
        spans = []
        for span in tr.spans:
            pid = pids.setdefault(span.service, f"p{len(pids) + 1}")
            refs = []
            if span.parent is not None:
                parent_id = tr.spans[span.parent].span_id
                refs = [{"refType": "CHILD_OF", "traceID": tr.trace_id, "spanID": parent_id}]
            logs = []
            if span.error is not None:
                fields = [
                    {"key": "event", "type": "string", "value": "error"},
                    {"key": "message", "type": "string", "value": span.error},
                ]
                logs = [{"timestamp": span.start_us + span.duration_us, "fields": fields}]
            spans.append(
                {
                    "traceID": tr.trace_id,
                    "spanID": span.span_id,
                    "flags": 1,
                    "operationName": span.name,
                    "references": refs,
                    "startTime": span.start_us,
                    "duration": span.duration_us,
                    "tags": _jaeger_tags(span),
                    "logs": logs,
                    "processID": pid,
                    "warnings": None,
                }
            )
        processes = {}
        for name, pid in pids.items():
            lang = _SDK[specs[name].sdk][0]
            tags = [
                {"key": "hostname", "type": "string", "value": hosts[name]},
                {"key": "telemetry.sdk.language", "type": "string", "value": lang},
            ]
            processes[pid] = {"serviceName": name, "tags": tags}
        data.append(
            {"traceID": tr.trace_id, "spans": spans, "processes": processes, "warnings": None}
        )
    doc = {"data": data, "total": 0, "limit": 0, "offset": 0, "errors": None}
    return _dumps(doc) + "\n"


def render_zipkin(traces: TraceSet, ips: dict[str, str], kindless_service: str | None) -> str:
    """Render traces as one Zipkin v2 span array.

    RPC calls are a CLIENT span in the caller with ``remoteEndpoint`` and a
    SERVER span in the callee whose ``parentId`` is the client span; in the
    traces listed in ``traces.zipkin_shared`` the server reuses the client's id
    (``shared: true``). Database spans of ``kindless_service`` have no ``kind``.

    Parameters
    ----------
    traces
        The generated traces.
    ips
        IPv4 address of each service.
    kindless_service
        The service whose database client spans are written without ``kind``.

    Returns
    -------
    str
        One compact JSON array.

    Examples
    --------
    >>> from rtt_topology.demo import build_scenario
    >>> demo = build_scenario(hours=2, services=8, traces_per_hour=5)
    >>> ips = {s.name: host_of(s, i)[1] for i, s in enumerate(demo.plan.specs)}
    >>> spans = json.loads(render_zipkin(demo.traces, ips, None))
    >>> sorted({s["kind"] for s in spans if "kind" in s})
    ['CLIENT', 'SERVER']
    """
    shared = set(traces.zipkin_shared)
    out = []
    for tr in traces.traces:
        zid: list[str] = []
        for span in tr.spans:
            parent = tr.spans[span.parent] if span.parent is not None else None
            is_shared = (
                tr.trace_id in shared
                and span.kind == "server"
                and parent is not None
                and parent.kind == "client"
            )
            if is_shared and parent is not None:
                zid.append(zid[span.parent or 0])
                parent_id = zid[parent.parent] if parent.parent is not None else None
            else:
                zid.append(span.span_id)
                parent_id = zid[span.parent] if span.parent is not None else None
            item: dict[str, Any] = {"traceId": tr.trace_id}
            if parent_id is not None:
                item["parentId"] = parent_id
            item["id"] = zid[-1]
            kindless = span.call == "database" and span.service == kindless_service
            if span.kind != "internal" and not kindless:
                item["kind"] = span.kind.upper()
            item["name"] = span.name.lower()
            item["timestamp"] = span.start_us
            item["duration"] = span.duration_us
            item["localEndpoint"] = {"serviceName": span.service, "ipv4": ips[span.service]}
            if span.kind == "client" and span.peer is not None:
                item["remoteEndpoint"] = {"serviceName": span.peer}
            tags = {k: str(v) for k, v in span.attrs.items()}
            if span.error is not None:
                tags["error"] = span.error
            if tags:
                item["tags"] = tags
            if is_shared:
                item["shared"] = True
            out.append(item)
    return _dumps(out) + "\n"


def _otlp_value(value: str | int) -> dict[str, str]:
    if isinstance(value, int):
        return {"intValue": str(value)}
    return {"stringValue": value}


def _b64(hex_id: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_id)).decode("ascii")


def render_otlp(
    traces: TraceSet,
    specs: dict[str, ServiceSpec],
    hosts: dict[str, str],
    base64_service: str | None,
) -> str:
    """Render traces as OTLP JSON, one ``ExportTraceServiceRequest`` per line.

    Each line is a batch of up to 10 consecutive traces, grouped by resource
    (``service.name``). Ids are hex, except for ``base64_service``, whose
    exporter writes them in base64.

    Parameters
    ----------
    traces
        The generated traces.
    specs
        Services by name.
    hosts
        Hostname of each service.
    base64_service
        The service whose ids are written in base64.

    Returns
    -------
    str
        JSON Lines text.

    Examples
    --------
    >>> from rtt_topology.demo import build_scenario
    >>> demo = build_scenario(hours=2, services=8, traces_per_hour=5)
    >>> names = {s.name: host_of(s, i)[0] for i, s in enumerate(demo.plan.specs)}
    >>> text = render_otlp(demo.traces, demo.plan.by_name, names, None)
    >>> first = json.loads(text.splitlines()[0])["resourceSpans"][0]
    >>> first["resource"]["attributes"][0]["key"]
    'service.name'
    """
    lines = []
    for b in range(0, len(traces.traces), OTLP_BATCH):
        groups: dict[str, list[dict[str, Any]]] = {}
        for tr in traces.traces[b : b + OTLP_BATCH]:
            for span in tr.spans:
                enc = _b64 if span.service == base64_service else str
                item: dict[str, Any] = {"traceId": enc(tr.trace_id), "spanId": enc(span.span_id)}
                if span.parent is not None:
                    item["parentSpanId"] = enc(tr.spans[span.parent].span_id)
                item["name"] = span.name
                item["kind"] = OTLP_KIND[span.kind]
                item["startTimeUnixNano"] = str(span.start_us * 1000)
                item["endTimeUnixNano"] = str((span.start_us + span.duration_us) * 1000)
                attrs = [{"key": k, "value": _otlp_value(v)} for k, v in span.attrs.items()]
                if attrs:
                    item["attributes"] = attrs
                status: dict[str, Any] = {}
                if span.error is not None:
                    status = {"code": 2, "message": span.error}
                item["status"] = status
                groups.setdefault(span.service, []).append(item)
        resource_spans = []
        for name, spans in groups.items():
            spec = specs[name]
            lang, scope, version = _SDK[spec.sdk]
            attributes = [
                {"key": "service.name", "value": {"stringValue": name}},
                {"key": "deployment.environment.name", "value": {"stringValue": "production"}},
                {"key": "k8s.cluster.name", "value": {"stringValue": f"dc-{spec.cluster}"}},
                {"key": "host.name", "value": {"stringValue": hosts[name]}},
                {"key": "telemetry.sdk.language", "value": {"stringValue": lang}},
            ]
            resource_spans.append(
                {
                    "resource": {"attributes": attributes},
                    "scopeSpans": [{"scope": {"name": scope, "version": version}, "spans": spans}],
                }
            )
        lines.append(_dumps({"resourceSpans": resource_spans}))
    return "".join(line + "\n" for line in lines)
