"""The offline datacenter report: self-contained HTML, Markdown or JSON."""

from rtt_topology.report.build import (
    FORMATS,
    Facts,
    FigureBlock,
    Note,
    Report,
    Section,
    TableBlock,
    build_report,
)

__all__ = [
    "FORMATS",
    "Facts",
    "FigureBlock",
    "Note",
    "Report",
    "Section",
    "TableBlock",
    "build_report",
]
