"""What a trace load returns: the span and edge tables, and the account of the load."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pandas as pd

from rtt_topology.load.report import LoadReport

__all__ = ["TraceLoad", "TraceReport"]


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
