"""Build incident rows: the kinds, their severity, the columns and the wording helpers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from types import SimpleNamespace
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

__all__ = [
    "INCIDENT_COLUMNS",
    "INCIDENT_KINDS",
    "SEVERITY",
    "callers_of",
    "chains",
    "duration_text",
    "name_list",
    "records",
    "row",
    "when",
]

#: Every incident kind, most severe first (the order of ties in the result).
INCIDENT_KINDS: tuple[str, ...] = (
    "outage",
    "restart_storm",
    "intermittent",
    "collector_gap",
    "rule_violation",
    "corridor_violation",
    "undeclared_dependency",
    "cadence_change",
    "structural_drift",
    "planned_stop",
    "quarantined_records",
)
#: The columns of :func:`find_incidents`.
INCIDENT_COLUMNS: tuple[str, ...] = (
    "kind",
    "severity",
    "sites",
    "start",
    "end",
    "duration_s",
    "impacted",
    "summary",
)
SEVERITY: dict[str, str] = {
    "outage": "critical",
    "restart_storm": "critical",
    "intermittent": "warning",
    "collector_gap": "warning",
    "corridor_violation": "warning",
    "undeclared_dependency": "warning",
    "cadence_change": "warning",
    "structural_drift": "warning",
    "planned_stop": "info",
    "quarantined_records": "warning",
}


def when(value: Any) -> str:
    """Format an instant for a summary, ``'?'`` when unknown.

    Examples
    --------
    >>> when("2026-01-19T15:00:00Z"), when(None)
    ('2026-01-19 15:00:00 UTC', '?')
    """
    stamp = pd.Timestamp(value)
    return "?" if pd.isna(stamp) else f"{stamp:%Y-%m-%d %H:%M:%S} UTC"


def duration_text(seconds: float) -> str:
    """Format a duration for people: ``'45 s'``, ``'12 min'``, ``'3 h 17 min'``."""
    if seconds != seconds:
        return "?"
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def name_list(items: Iterable[str], limit: int = 6) -> str:
    """Join names for a summary, at most ``limit`` of them and a count of the rest.

    Examples
    --------
    >>> name_list(["a", "b", "c"], limit=2)
    'a, b and 1 more'
    """
    names = list(items)
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def chains(table: pd.DataFrame, start: str, end: str, gap_s: float) -> pd.Series:
    """Give rows (sorted by site, start) chain numbers: rows closer than ``gap_s`` share a chain."""
    if table.empty:
        return pd.Series(np.zeros(0, np.int64), index=table.index)
    site = table["site"].astype(str).to_numpy()
    starts = table[start].to_numpy("datetime64[ns]").astype(np.int64)
    ends = table[end].to_numpy("datetime64[ns]").astype(np.int64)
    fresh = np.ones(len(table), bool)
    fresh[1:] = (site[1:] != site[:-1]) | (starts[1:] - ends[:-1] > gap_s * 1e9)
    return pd.Series(np.cumsum(fresh), index=table.index)


def records(frame: pd.DataFrame) -> list[Any]:
    """Return the rows of a frame as objects with one attribute per column."""
    return [SimpleNamespace(**{str(k): v for k, v in r.items()}) for r in frame.to_dict("records")]


def callers_of(G: nx.DiGraph[str] | None, site: str) -> list[str]:
    """Return the services that call ``site`` in the graph (its predecessors), sorted."""
    if G is None or site not in G:
        return []
    return sorted(str(n) for n in G.predecessors(site))


def row(
    kind: str,
    sites: Sequence[str],
    start: Any,
    end: Any,
    summary: str,
    *,
    impacted: Sequence[str] = (),
    severity: str | None = None,
    duration_s: float | None = None,
) -> dict[str, Any]:
    """Return one incident row; the duration defaults to ``end - start`` (NaN if unknown).

    Examples
    --------
    >>> row("outage", ["api"], "2026-01-19T15:00Z", "2026-01-19T15:10Z", "api down")["duration_s"]
    600.0
    """
    start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)
    if duration_s is None:
        known = not (pd.isna(start_ts) or pd.isna(end_ts))
        duration_s = (end_ts - start_ts).total_seconds() if known else float("nan")
    return {
        "kind": kind,
        "severity": severity or SEVERITY[kind],
        "sites": list(sites),
        "start": start_ts,
        "end": end_ts,
        "duration_s": float(duration_s),
        "impacted": list(impacted),
        "summary": summary,
    }
