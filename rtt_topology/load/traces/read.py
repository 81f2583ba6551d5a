"""Read distributed-trace exports into a span table and a service-to-service edge table.

:func:`read_traces` reads Jaeger JSON, Zipkin JSON (v2, and v1), OTLP JSON (one
request, JSON Lines of requests as the Collector file exporter writes them, or a
trace as Tempo's query API answers it) and the dependency links of Jaeger and
Zipkin, recognising each file by its content. It
returns the spans, the edges paired from them (plus the links), and a
:class:`TraceReport` in which, per file, ``accepted + rejected == read``; records
are spans (or links).

Formats
-------
- **Jaeger** ``{"data": [trace, ...]}`` (the query API, with ``total``,
  ``errors``...), one trace as the UI keeps and downloads it (``{"data":
  trace}`` or a bare ``{traceID, spans, processes}``), or a list of traces; a
  span's process is its ``processID`` in ``processes``, or inline (``process``).
  Times in microseconds; the service is the process's ``serviceName``; the
  parent is the first ``CHILD_OF`` reference, else the first ``FOLLOWS_FROM``
  one, else ``parentSpanID``.
- **Zipkin** v2: an array of spans, or an array of arrays (``/api/v2/traces``);
  v1 spans (``annotations``, ``binaryAnnotations``) are turned into v2 spans
  first (:func:`~rtt_topology.load.traces.zipkin.parse_zipkin`): a client part
  and a server part of one v1 span are two spans sharing its id.
- **OTLP JSON** ``{"resourceSpans": ...}`` (or the proto names ``resource_spans``,
  ``trace_id``...), one per file or one per line (the Collector file exporter);
  Tempo's ``/api/traces/<id>`` answer ``{"batches": [ResourceSpans...]}`` and its
  v2 answer ``{"trace": {"resourceSpans": ...}, ...}``; spans under ``scopeSpans``
  or the older ``instrumentationLibrarySpans``; integer or ``SPAN_KIND_*`` /
  ``STATUS_CODE_*`` enums; hex (the OTLP JSON encoding) or base64 ids (protobuf
  JSON, as Tempo writes them); nanoseconds as decimal strings.
- **Dependency links** Jaeger ``{"data": [{parent, child, callCount}]}``, Zipkin
  ``[{parent, child, callCount, errorCount}]``: edges directly.

Wrapper objects are unwrapped one level: an object of one key (``{"result":
...}``, ``{"traces": [...]}``) whatever its value, and an object of several keys
when exactly one of its values is in a known shape (empty lists left out). A
file that matches nothing, or holds known data in several places, is a
:class:`~rtt_topology.errors.FormatError` that lists the keys it found.

Nesting is bounded. A file read as one document is measured on its bytes first
(:func:`~rtt_topology.load.traces.nesting.json_nesting`, a tenth to a quarter of
the time parsing takes): nested deeper than
:data:`~rtt_topology.load.documents.MAX_DEPTH` levels, it is a one-line
:class:`~rtt_topology.errors.FormatError`. A JSON Lines line nested deeper than
Python's JSON parser allows is a rejected record (lines are not measured one by
one: that would cost more than parsing them); a rejected record nested deeper
than ``MAX_DEPTH`` is shown as a short note, not dumped. The parsers walk records
iteratively to a fixed depth, so deep values they do not read cost nothing more.

A file whose first line is a whole JSON value followed by more lines is JSON
Lines, and is streamed (gzip too) in blocks of 2 MB of lines: OTLP blocks go to
Arrow's JSON reader in two threads (:mod:`rtt_topology.load.traces.arrow`), other
blocks, and OTLP blocks the fast path declines, are parsed line by line
(:mod:`rtt_topology.load.traces.otlp`, :mod:`rtt_topology.load.traces.formats`).
Spans are kept as Arrow batches, so memory grows with the spans kept (a few
hundred bytes each at the peak), not with the file; one huge line is one block
of its own, so it costs time and memory in proportion to its length (a rejected
record keeps a truncated copy). Any other file is one JSON document, read and
parsed whole: its size bounds the memory needed.

The span table (:data:`SPAN_COLUMNS`)
-------------------------------------
One row per span, sorted by ``trace_id``, ``start``:

==================  ===================  ================================================
column              dtype                meaning
==================  ===================  ================================================
trace_id            str                  lower-case hex, 16 digits (64-bit) or 32
span_id             str                  lower-case hex, 16 digits
parent_id           str                  the parent span id; NaN for a root
service             category             process ``serviceName``, Zipkin
                                         ``localEndpoint.serviceName`` or resource
                                         ``service.name``; ``""`` when missing
name                category             operation name
kind                category             server, client, producer, consumer, internal,
                                         unspecified (Jaeger ``span.kind`` tag, Zipkin
                                         ``kind``, OTLP enum); a Zipkin span without
                                         ``kind`` but with both endpoints is a client;
                                         the six categories are always there
start               datetime64[ns, UTC]  start time; NaT when absent
duration_ms         float64              NaN when absent
error               bool                 Jaeger tag ``error`` true (or
                                         ``otel.status_code`` ERROR), Zipkin tag
                                         ``error`` present, OTLP ``status.code`` 2
peer                str                  ``peer.service``, Zipkin
                                         ``remoteEndpoint.serviceName``,
                                         ``server.address``, ``net.peer.name`` (first
                                         present)
db_system           str                  ``db.system`` (``db.system.name``, Jaeger
                                         ``db.type``)
messaging_system    str                  ``messaging.system``
cluster             str                  ``k8s.cluster.name`` of the resource (OTLP),
                                         process (Jaeger) or span tags (Zipkin); other
                                         placement attributes are not read
format              category             jaeger, zipkin or otlp (all three categories)
source              category             the file it was read from
==================  ===================  ================================================

Ids are normalised: lower case, leading zeros restored (Jaeger ``"1"`` is
``0000000000000001``), base64 decoded; an all-zero or empty parent id means no
parent. Records without a trace or span id, with a bad id or a bad time, and
values that are not objects are rejected (:class:`~rtt_topology.load.report.Reject`
with the JSON Lines line, or else the record's 1-based position in the file).

Spans seen more than once are collapsed (see :mod:`rtt_topology.load.traces.table`:
same trace, span id, service and kind, ``unspecified`` matching any kind; and
Zipkin shared-id server spans that another export shows with their own id), so
the same traces exported in several formats give the same tables. With ``start``
or ``end``, spans are restricted to ``start <= span start < end`` before pairing
(a call whose two sides straddle a bound shows as unpaired).

Pairing rules (:func:`edges_from_spans`)
----------------------------------------
After Jaeger's dependency job (spark-dependencies), Zipkin's ``DependencyLinker``
and the OpenTelemetry Collector ``servicegraph`` connector, per trace, in this
order:

1. **Callee side.** A span is the callee side of a call when its parent span is
   in another service, *whatever its kind* (Jaeger's rule: a database or cache
   instrumented as a service of its own shows as a CLIENT span directly under
   its caller's SERVER span), and when it is a SERVER or CONSUMER span (which
   may have a same-id caller). Its caller is the CLIENT/PRODUCER span of another
   service with the same span id (Zipkin shared spans), else its parent span:
   the edge ``caller.service -> span.service``. A parent in the same service is
   counted in ``intra_service`` (so is every same-service parent/child pair); a
   SERVER, CONSUMER, ``internal`` or ``unspecified`` span whose parent id is not
   in the export is unpaired ``"parent not in export"``; a span without a parent
   is a root (not an error). When a parent id matches several spans (a shared
   id), the one in the child's service wins, then the server side.
2. **No double counting.** A call is one callee-side span: a CLIENT span in A
   whose child is a SERVER span in B is the one call A -> B (the client is that
   call's caller, not a call of its own), and so is a Zipkin client/server pair
   sharing one span id.
3. **Peers.** A CLIENT/PRODUCER span that is no callee's caller (nor the parent
   of a SERVER or CONSUMER span of its own service) goes to its ``peer``: the
   edge ``span.service -> peer`` (a peer equal to its own service is
   intra-service). Without a peer it is unpaired ``"client without server or
   peer"`` (or ``"producer without consumer or peer"``), unless it is itself the
   callee side of a call (rule 1). A Jaeger ``internal``/``unspecified`` leaf
   span (no children) with a peer also goes to its peer.
4. **Kind.** ``database`` when the calling span has ``db_system``, or the callee
   side is a CLIENT/PRODUCER span with ``db_system``; else ``messaging`` when the
   caller is a PRODUCER, the callee side a CONSUMER or a PRODUCER, or either has
   ``messaging_system``; else, for a call to a peer that is no span's service,
   ``virtual``; else ``rpc``.
5. **Measures.** A call's latency is the callee span's duration when paired,
   else the client span's; it failed when either side has ``error``; its time is
   the caller span's start when the caller is a CLIENT/PRODUCER span, else the
   callee span's.
6. **Names.** Spans with an empty service name are unpaired ``"empty service
   name"`` and give no edge and no node; a callee whose caller has one is
   unpaired ``"caller has empty service name"``; a client whose only callee has
   none goes to its peer (rule 3).

The edge table (:data:`EDGE_COLUMNS`)
-------------------------------------
One row per (caller, callee, kind), sorted by those:

================  ===================  =================================================
column            dtype                meaning
================  ===================  =================================================
caller, callee    str                  service names (the callee may be a peer)
kind              str                  rpc, messaging, database or virtual
calls, errors     int64                calls and failed calls
p50_ms, p95_ms    float64              latency quantiles (``numpy.percentile``,
                                       linear); NaN without durations
first_seen,       datetime64[ns, UTC]  first and last call; NaT when unknown (links)
last_seen
sample_trace_ids  object               up to 5 distinct trace ids, earliest calls first
callee_virtual    bool                 the callee is no span's service
                                       (uninstrumented); False when links show the edge
formats           str                  formats that showed the edge, sorted, comma-joined
                                       (``jaeger``, ``otlp``, ``zipkin``,
                                       ``jaeger-deps``, ``zipkin-deps``); from
                                       :func:`read_traces` every format a collapsed
                                       span was seen in, from :func:`edges_from_spans`
                                       the spans' ``format``
================  ===================  =================================================

Dependency links give ``rpc`` edges: calls = ``callCount``, errors = ``errorCount``
(0 when absent); they have no times, so with a window they are dropped (counted in
``out_of_window``). Link edges are added to span edges of the same
(caller, callee, kind).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from rtt_topology._progress import ProgressOption
from rtt_topology._timestamps import aware_utc
from rtt_topology.errors import InputError
from rtt_topology.load.report import FileStats
from rtt_topology.load.sources import Source, SourceFile, read_each_file
from rtt_topology.load.traces.edges import (
    EDGE_COLUMNS,
    PairingStats,
    edges_from_links,
    edges_from_spans,
    merge_edges,
    pair_spans,
)
from rtt_topology.load.traces.files import read_file
from rtt_topology.load.traces.records import TRACE_FORMATS, SpanSink
from rtt_topology.load.traces.results import TraceLoad, TraceReport
from rtt_topology.load.traces.table import SPAN_COLUMNS, build_span_table

__all__ = [
    "EDGE_COLUMNS",
    "SPAN_COLUMNS",
    "TRACE_FORMATS",
    "TRACE_SUFFIXES",
    "PairingStats",
    "TraceLoad",
    "TraceReport",
    "edges_from_spans",
    "read_traces",
]

#: Suffixes picked up in directories (each may end in ``.gz``).
TRACE_SUFFIXES = ("json", "jsonl", "ndjson")


def read_traces(
    source: Source,
    *,
    format: str | None = None,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    strict: bool = False,
    progress: ProgressOption = False,
) -> TraceLoad:
    r"""Read trace exports into a span table and an edge table.

    Parameters
    ----------
    source
        A file, a directory (searched recursively for ``.json``, ``.jsonl`` and
        ``.ndjson`` files, each optionally ``.gz``), a glob, or a list of them.
        Each file's format is recognised by its content.
    format
        Force one format for every file: ``"jaeger"``, ``"zipkin"``, ``"otlp"``,
        ``"jaeger-deps"`` or ``"zipkin-deps"``.
    start, end
        Keep spans that started in ``[start, end)``: timezone-aware datetimes or
        ISO 8601 strings with an offset. Dependency links have no time: with a
        window they are dropped (and counted).
    strict
        Raise :class:`~rtt_topology.errors.StrictLoadError` if any record is
        rejected or any file cannot be read, instead of reporting it.
    progress
        ``True`` draws a progress bar on stderr (on a terminal or in a notebook);
        a callable receives ``(bytes_done, bytes_total, label)``.

    Returns
    -------
    TraceLoad
        ``spans`` (:data:`SPAN_COLUMNS`), ``edges`` (:data:`EDGE_COLUMNS`) and
        ``report``, a :class:`TraceReport`.

    Raises
    ------
    SourceNotFoundError
        If a path does not exist or a glob matches nothing.
    LoadError
        If ``source`` is one file and it cannot be read (empty, not JSON, not a
        trace export, truncated gzip...). When ``source`` is a directory, a glob
        or a list, unreadable files are listed in ``report.failures`` and the
        others are still read (``strict=True`` raises instead).

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> spans = [
    ...     {"traceId": "5af7183fb1d4cf5f", "id": "6b221d5bc9e6496c", "kind": "SERVER",
    ...      "name": "get /checkout", "timestamp": 1700000000000000, "duration": 12000,
    ...      "localEndpoint": {"serviceName": "frontend"}},
    ...     {"traceId": "5af7183fb1d4cf5f", "parentId": "6b221d5bc9e6496c",
    ...      "id": "352bff9a74ca9ad2", "kind": "CLIENT", "name": "post /charge",
    ...      "timestamp": 1700000000001000, "duration": 5000,
    ...      "localEndpoint": {"serviceName": "frontend"},
    ...      "remoteEndpoint": {"serviceName": "payments"}, "tags": {"error": "declined"}},
    ... ]
    >>> _ = (folder / "zipkin.json").write_text(json.dumps(spans))
    >>> load = read_traces(folder)
    >>> load.spans[["service", "kind", "duration_ms", "peer"]]
        service    kind  duration_ms      peer
    0  frontend  server         12.0       NaN
    1  frontend  client          5.0  payments
    >>> load.edges[["caller", "callee", "kind", "calls", "errors", "callee_virtual"]]
         caller    callee     kind  calls  errors  callee_virtual
    0  frontend  payments  virtual      1       1            True
    >>> load.report.roots, load.report.intra_service
    (1, 1)
    """
    if format is not None and format not in TRACE_FORMATS:
        raise InputError(f"unknown format {format!r}: use one of {', '.join(TRACE_FORMATS)}")
    window = (aware_utc(start, "start"), aware_utc(end, "end"))
    report = TraceReport()
    parts: list[tuple[str, list[Any]]] = []
    links: list[tuple[str, str, int, int, str]] = []

    def read(file: SourceFile, on_bytes: Callable[[int], None]) -> None:
        sink = SpanSink(str(file.path))
        label, blank = read_file(file, format, sink, on_bytes)
        rejected = len(sink.rejects)
        report.add_file(
            FileStats(
                str(file.path),
                label,
                read=sink.read,
                accepted=sink.read - rejected,
                rejected=rejected,
                skipped_lines=blank,
            )
        )
        report.rejects.extend(sink.rejects)
        parts.append((str(file.path), sink.batches))
        links.extend(sink.links)

    read_each_file(
        source,
        kinds=TRACE_SUFFIXES,
        report=report,
        read=read,
        progress=progress,
        description="reading traces",
    )
    if links and window != (None, None):
        report.out_of_window += len(links)
        links = []
    report.links = len(links)
    table = build_span_table(parts, start=window[0], end=window[1])
    parts.clear()
    report.out_of_window += table.out_of_window
    report.duplicate_spans = report.duplicates = table.duplicates
    report.duplicates_by_site = table.duplicates_by_service or {}
    spans, masks, keys = table.spans, table.masks, table.keys
    del table
    span_edges, stats = pair_spans(spans, masks, keys)
    report.intra_service, report.roots = stats.intra_service, stats.roots
    report.unpaired = dict(stats.unpaired)
    edges = merge_edges([span_edges, edges_from_links(links)])
    if strict:
        report.refuse_if_not_ok()
    return TraceLoad(spans, edges, report)
