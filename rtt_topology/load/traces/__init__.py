"""Trace exports (Jaeger, Zipkin, Tempo, OTLP, dependency links) to span and edge tables.

:func:`read_traces` is the entry point; the modules beside it hold format detection
(``formats``), file reading (``files``, with the nesting scan ``nesting``), the parsers
(``jaeger``, ``zipkin``, and ``otlp`` with its Arrow fast path ``arrow``), the record rules
(``records``), what a load returns (``results``), the span table (``table``, ``keys``), the
pairing of spans into calls (``edges``) and the edge table (``edge_table``).
"""

from rtt_topology.load.traces.read import (
    EDGE_COLUMNS,
    SPAN_COLUMNS,
    TRACE_FORMATS,
    TRACE_SUFFIXES,
    PairingStats,
    TraceLoad,
    TraceReport,
    edges_from_spans,
    read_traces,
)

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
