"""Read distributed-trace exports into a span table and a service-to-service edge table.

:func:`read_traces` reads Jaeger JSON, Zipkin v2 JSON, OTLP JSON (one request, or
JSON Lines of requests as the Collector file exporter writes them) and the
dependency links of Jaeger and Zipkin, recognising each file by its content. It
returns the spans, the edges paired from them (plus the links), and a
:class:`TraceReport` in which, per file, ``accepted + rejected == read``; records
are spans (or links).

Formats
-------
- **Jaeger** ``{"data": [trace, ...]}``, a bare trace ``{traceID, spans,
  processes}`` or a list of traces. Times in microseconds; the service is the
  process's ``serviceName``; the parent is the first ``CHILD_OF`` reference, else
  the first ``FOLLOWS_FROM`` one, else ``parentSpanID``.
- **Zipkin v2** an array of spans, or an array of arrays (``/api/v2/traces``).
- **OTLP JSON** ``{"resourceSpans": ...}`` (or the proto names ``resource_spans``,
  ``trace_id``...), one per file or one per line; integer or ``SPAN_KIND_*`` /
  ``STATUS_CODE_*`` enums; hex or base64 ids; nanoseconds as decimal strings.
- **Dependency links** Jaeger ``{"data": [{parent, child, callCount}]}``, Zipkin
  ``[{parent, child, callCount, errorCount}]``: edges directly.

A wrapper object of one key (``{"result": ...}``, ``{"traces": [...]}``) is
unwrapped one level. A file that matches nothing is a
:class:`~rtt_topology.errors.FormatError`.

A file whose first line is a whole JSON value followed by more lines is JSON
Lines, and is streamed (gzip too) in blocks of 2 MB of lines: OTLP blocks go to
Arrow's JSON reader in two threads (:mod:`rtt_topology.load.traces.arrow`), other
blocks, and OTLP blocks the fast path declines, are parsed line by line
(:mod:`rtt_topology.load.traces.otlp`, :mod:`rtt_topology.load.traces.formats`).
Spans are kept as Arrow batches, so memory grows with the spans kept (a few
hundred bytes each at the peak), not with the file. Any other file is one JSON
document, read and parsed whole: its size bounds the memory needed.

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
After Zipkin's ``DependencyLinker``, Jaeger's spark-dependencies and the
OpenTelemetry Collector ``servicegraph`` connector, per trace:

1. The *callee side* of a call is a SERVER or CONSUMER span, or an ``internal`` /
   ``unspecified`` span whose parent is in another service (Jaeger without
   kinds). Its caller is the CLIENT/PRODUCER span of another service with the
   same span id (Zipkin shared spans), else its parent span. A parent in
   another service gives the edge ``parent.service -> span.service``; a parent in
   the same service is counted in ``intra_service`` (so is every same-service
   parent/child pair); a parent id not in the export is unpaired
   ``"parent not in export"``; a span without a parent is a root (not an error).
   When a parent id matches several spans (a shared id), the one in the child's
   service wins, then the server side.
2. A CLIENT/PRODUCER span that is no callee's caller (nor the parent of a SERVER
   or CONSUMER span of its own service) goes to its ``peer``: the edge
   ``span.service -> peer`` (a peer equal to its own service is intra-service);
   without a peer it is unpaired ``"client without server or peer"`` (or
   ``"producer without consumer or peer"``). A Jaeger ``internal``/``unspecified``
   leaf span (no children) with a peer also goes to its peer.
3. Kind: ``database`` when the calling span has ``db_system``; else ``messaging``
   when the caller is a PRODUCER, the callee a CONSUMER, or either has
   ``messaging_system``; else, for a call to a peer that is no span's service,
   ``virtual``; else ``rpc``.
4. A call's latency is the callee span's duration when paired, else the client
   span's; it failed when either side has ``error``; its time is the client or
   producer span's start when there is one, else the callee span's.
5. Spans with an empty service name are unpaired ``"empty service name"``; a
   callee whose caller has one is unpaired ``"caller has empty service name"``.
   Neither gives an edge.

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

import json
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, NamedTuple

import pandas as pd
import pyarrow as pa

from rtt_topology._progress import ProgressOption
from rtt_topology._timestamps import aware_utc
from rtt_topology.errors import FormatError, InputError, LoadError
from rtt_topology.load.report import FileStats, LoadReport
from rtt_topology.load.sources import (
    Source,
    SourceFile,
    check_text,
    gzip_errors,
    open_binary,
    read_each_file,
    read_text,
    sniff,
)
from rtt_topology.load.traces.arrow import otlp_block
from rtt_topology.load.traces.edges import (
    EDGE_COLUMNS,
    PairingStats,
    edges_from_links,
    edges_from_spans,
    merge_edges,
    pair_spans,
)
from rtt_topology.load.traces.formats import parse_document, resolve
from rtt_topology.load.traces.records import TRACE_FORMATS, SpanSink
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

_EXPECTED = (
    'not a trace export: expected Jaeger JSON ({"data": [traces]}), Zipkin v2 JSON '
    '(an array of spans), OTLP JSON ({"resourceSpans": ...}, or JSON Lines of them) '
    'or dependency links ([{"parent", "child", "callCount"}])'
)
#: Bytes of JSON Lines parsed at once (one Arrow block on the fast path).
_BLOCK_BYTES = 1 << 21
_WORKERS = 2


@dataclass
class TraceReport(LoadReport):
    """What a trace load read, kept, rejected, collapsed and could not pair.

    Records are spans (and dependency links); per file and in total
    ``accepted + rejected == read``, and ``len(spans) == accepted - links -
    duplicate_spans - out_of_window``.

    Attributes
    ----------
    duplicate_spans
        Spans seen again (overlapping exports, one trace in several files or
        formats) and collapsed; also in ``duplicates`` and, per service,
        ``duplicates_by_site``.
    intra_service
        Parent/child pairs inside one service: counted, kept out of the edges.
    roots
        Spans without a parent (entry points): not errors.
    unpaired
        Spans that could not be paired, by reason.
    out_of_window
        Spans and links dropped by ``start``/``end``.
    links
        Dependency links turned into edges (none when a window dropped them).
    """

    duplicate_spans: int = 0
    intra_service: int = 0
    roots: int = 0
    unpaired: dict[str, int] = field(default_factory=dict)
    out_of_window: int = 0
    links: int = 0

    def merge(self, other: LoadReport) -> None:
        """Add another report's counts to this one."""
        super().merge(other)
        if isinstance(other, TraceReport):
            self.duplicate_spans += other.duplicate_spans
            self.intra_service += other.intra_service
            self.roots += other.roots
            self.out_of_window += other.out_of_window
            self.links += other.links
            for reason, n in other.unpaired.items():
                self.unpaired[reason] = self.unpaired.get(reason, 0) + n

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data, with the pairing counts."""
        out = super().to_dict()
        out.update(
            duplicate_spans=self.duplicate_spans,
            intra_service=self.intra_service,
            roots=self.roots,
            unpaired=dict(sorted(self.unpaired.items())),
            out_of_window=self.out_of_window,
            links=self.links,
        )
        return out

    def summary(self) -> str:
        """Return a few human-readable lines: totals, pairing, failures, top reasons."""
        lines = super().summary().split("\n")
        pairing = (
            f"{self.roots} roots, {self.intra_service} intra-service pairs, "
            f"{self.out_of_window} out of window"
        )
        if self.unpaired:
            pairing += "; unpaired: " + ", ".join(
                f"{n} {reason}" for reason, n in sorted(self.unpaired.items())
            )
        return "\n".join([lines[0], pairing, *lines[1:]])


class TraceLoad(NamedTuple):
    """What :func:`read_traces` returns: spans, edges and the account of the load."""

    spans: pd.DataFrame
    edges: pd.DataFrame
    report: TraceReport


def _parse_line(raw: bytes, lineno: int, forced: str | None, sink: SpanSink) -> str | None:
    """Parse one JSON Lines line into ``sink``; return the format it held."""
    sink.line = lineno
    try:
        doc = json.loads(raw)
    except UnicodeDecodeError as exc:
        sink.reject(None, f"invalid UTF-8 (byte {exc.start})", raw.decode("utf-8", "replace"))
        return None
    except (json.JSONDecodeError, RecursionError) as exc:
        reason = "nesting too deep" if isinstance(exc, RecursionError) else exc.msg
        sink.reject(None, f"invalid JSON: {reason}", raw.decode("utf-8", "replace").strip())
        return None
    found = resolve(doc, forced)
    if found is None:
        what = f"not {forced}" if forced else "not a trace export record"
        sink.reject(None, what, doc)
        return None
    parse_document(found[0], found[1], sink)
    return found[0]


def _arrow_data(block: list[tuple[int, bytes]], forced: str | None) -> bytes | None:
    """Return the block as one text for the Arrow fast path (``None``: it is not OTLP)."""
    if forced not in (None, "otlp") or b"resourceSpans" not in block[0][1][:200]:
        return None
    if not all(raw.lstrip()[:1] == b"{" for _, raw in block):
        return None
    return b"".join(raw if raw.endswith(b"\n") else raw + b"\n" for _, raw in block)


def _read_lines(
    stream: IO[bytes],
    started: list[tuple[int, bytes]],
    forced: str | None,
    sink: SpanSink,
    advance: Callable[[int], None],
) -> tuple[set[str], int]:
    """Parse the lines already read (``(lineno, text)``), then stream the rest in blocks.

    OTLP blocks are parsed by Arrow in two worker threads (Arrow releases the
    GIL); results are taken in file order, and a block Arrow cannot take is
    parsed line by line in this thread.
    """
    found: set[str] = set()
    blank = 0
    pending: deque[tuple[list[tuple[int, bytes]], Future[pa.RecordBatch | None] | None, int]]
    pending = deque()

    def finish_one() -> None:
        block, future, size = pending.popleft()
        batch = None if future is None else future.result()
        if batch is not None:
            sink.add_batch(batch)
            found.add("otlp")
        else:
            for lineno, raw in block:
                fmt = _parse_line(raw, lineno, forced, sink)
                if fmt:
                    found.add(fmt)
        advance(size)

    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:

        def submit(block: list[tuple[int, bytes]], size: int) -> None:
            data = _arrow_data(block, forced)
            future = None if data is None else pool.submit(otlp_block, data, len(block))
            pending.append((block, future, size))
            while len(pending) > _WORKERS:
                finish_one()

        block = list(started)
        size = sum(len(raw) for _, raw in block)
        lineno = block[-1][0] if block else 0
        for raw in stream:
            lineno += 1
            size += len(raw)
            if not raw.strip():
                blank += 1
                continue
            block.append((lineno, raw))
            if size >= _BLOCK_BYTES:
                submit(block, size)
                block, size = [], 0
        if block:
            submit(block, size)
        else:
            advance(size)
        while pending:
            finish_one()
    return found, blank


def _next_value(stream: IO[bytes], lineno: int) -> tuple[int, bytes, int]:
    """Read up to the next non-blank line: ``(its number, its text, blank lines)``."""
    blank = 0
    for raw in stream:
        lineno += 1
        if raw.strip():
            return lineno, raw, blank
        blank += 1
    return lineno, b"", blank


def _parse_whole(file: SourceFile, doc: Any, forced: str | None, sink: SpanSink) -> str:
    """Parse one JSON document (``None``: read and parse the file first)."""
    if doc is None:
        text = read_text(file)
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FormatError(
                file.path, f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            ) from exc
        except RecursionError as exc:
            raise FormatError(file.path, "not valid JSON: nesting too deep") from exc
    result = resolve(doc, forced)
    if result is None:
        raise FormatError(file.path, (f"not {forced}: " if forced else "") + _EXPECTED)
    parse_document(result[0], result[1], sink)
    return result[0]


def _read_file(
    file: SourceFile, forced: str | None, sink: SpanSink, advance: Callable[[int], None]
) -> tuple[str, int]:
    """Read one file into ``sink``; return its format label and its blank lines.

    A first line holding a whole JSON value followed by more lines makes the
    file JSON Lines, streamed; anything else is one document, parsed whole.
    """
    head = sniff(file)
    check_text(file, head)
    if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] not in (b"{", b"["):
        raise FormatError(file.path, _EXPECTED)
    doc: Any = None
    found: set[str] = set()
    blank = 0
    try:
        with open_binary(file) as stream:
            first_no, first, skipped = _next_value(stream, 0)
            try:
                doc = json.loads(first)
            except (ValueError, RecursionError):
                doc = None  # the first line is not a whole value: one JSON document
            else:
                second_no, second, more = _next_value(stream, first_no)
                if second:
                    started = [(first_no, first), (second_no, second)]
                    doc = None
                    found, rest = _read_lines(stream, started, forced, sink, advance)
                    blank = skipped + more + rest
                    if not found:
                        raise FormatError(
                            file.path, "no line is a trace export record: " + _EXPECTED
                        )
    except gzip_errors() as exc:
        raise LoadError(file.path, f"damaged or truncated gzip data ({exc})") from exc
    if not found:
        found = {_parse_whole(file, doc, forced, sink)}
    sink.flush()
    label = ",".join(sorted(found))
    return (f"{label}+gzip" if file.gzip else label), blank


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
        label, blank = _read_file(file, format, sink, on_bytes)
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
