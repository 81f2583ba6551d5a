"""Trace exports (Jaeger, Zipkin, OTLP, dependency links) to span and edge tables.

:func:`read_traces` is the entry point; the modules beside it hold format detection
(``formats``), the OTLP readers (``otlp``, ``arrow``), the record rules (``records``),
the span table (``table``, ``keys``) and the pairing of spans into edges (``edges``).
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
