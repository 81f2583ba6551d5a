r"""Turn the analyses into one list of incidents: what happened, to whom, and when.

Each analysis answers one question (who was down, what drifted, which rule
broke...). An operator reading a report wants one timeline instead. This module
folds the answers into incidents, one row each, with a plain-language summary.

=========================  ==========================================================
kind                       found when
=========================  ==========================================================
``restart_storm``          a service restarted (new session, :func:`history.restarts
                           <rtt_topology.aggregate.history.restarts>`) at least
                           ``flapping_restarts`` times, each restart within
                           ``flapping_window_s`` of the previous one; the silences
                           inside the storm belong to it
``outage``                 a crash silence (:func:`~rtt_topology.analysis.liveness.downtime`,
                           kind ``crash``: no shutdown beacon) of at least
                           ``min_outage_s``
``intermittent``           at least three crash silences of one service, each within
                           ``flapping_window_s`` of the previous one, outside a
                           restart storm and a cadence change (heartbeats that come
                           and go)
``planned_stop``           a planned silence (shutdown beacon first) of at least
                           ``min_stop_s``; shorter ones are deploys
``cadence_change``         :func:`~rtt_topology.analysis.cadence.cadence_changes` found a
                           lasting change of heartbeat period; the crash silences it
                           causes are counted in its summary
``structural_drift``       :func:`~rtt_topology.analysis.drift.drift_events` found changes of
                           a page's structure; one incident per service
``undeclared_dependency``  the graph has a traced call that no profile declares
                           (:func:`~rtt_topology.graph.reconcile`, edge
                           status ``undeclared``)
``rule_violation``         a rule broke (:func:`~rtt_topology.diagnostics.rules.evaluate`); one
                           incident per violation not in the baseline
``corridor_violation``     a corridor is too slow or its flows leave it
                           (:func:`~rtt_topology.diagnostics.corridors.check_corridors`)
``quarantined_records``    a load rejected records; one incident per file
=========================  ==========================================================

Silences shorter than ``min_outage_s`` that fit no other kind are noise (a late
heartbeat), not incidents. Services that *call* a failed service are listed as
``impacted``: in the service graph (``u -> v``: u calls v) they are the
predecessors of the failed one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import pandas as pd

from rtt_topology.errors import InputError

if TYPE_CHECKING:
    from rtt_topology.diagnostics.corridors import CorridorResults
    from rtt_topology.diagnostics.rules.results import RuleResults
    from rtt_topology.load.report import LoadReport
    from rtt_topology.schemas import Profile

__all__ = ["INCIDENT_COLUMNS", "INCIDENT_KINDS", "find_incidents"]

#: Every incident kind, most severe first (the order of ties in the result).
INCIDENT_KINDS: tuple[str, ...] = (
    "outage",
    "restart_storm",
    "intermittent",
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
_SEVERITY = {
    "outage": "critical",
    "restart_storm": "critical",
    "intermittent": "warning",
    "corridor_violation": "warning",
    "undeclared_dependency": "warning",
    "cadence_change": "warning",
    "structural_drift": "warning",
    "planned_stop": "info",
    "quarantined_records": "warning",
}


def _when(value: Any) -> str:
    stamp = pd.Timestamp(value)
    return "?" if pd.isna(stamp) else f"{stamp:%Y-%m-%d %H:%M:%S} UTC"


def _span(seconds: float) -> str:
    """Format a duration for people: ``'45 s'``, ``'12 min'``, ``'3 h 17 min'``."""
    if seconds != seconds:
        return "?"
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _names(items: Iterable[str], limit: int = 6) -> str:
    names = list(items)
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _chains(table: pd.DataFrame, start: str, end: str, gap_s: float) -> pd.Series:
    """Give rows (sorted by site, start) chain numbers: rows closer than ``gap_s`` share a chain."""
    if table.empty:
        return pd.Series(np.zeros(0, np.int64), index=table.index)
    site = table["site"].astype(str).to_numpy()
    starts = table[start].to_numpy("datetime64[ns]").astype(np.int64)
    ends = table[end].to_numpy("datetime64[ns]").astype(np.int64)
    fresh = np.ones(len(table), bool)
    fresh[1:] = (site[1:] != site[:-1]) | (starts[1:] - ends[:-1] > gap_s * 1e9)
    return pd.Series(np.cumsum(fresh), index=table.index)


def _rows(frame: pd.DataFrame) -> list[Any]:
    """Return the rows of a frame as objects with one attribute per column."""
    return [SimpleNamespace(**{str(k): v for k, v in r.items()}) for r in frame.to_dict("records")]


def _callers(G: nx.DiGraph[str] | None, site: str) -> list[str]:
    if G is None or site not in G:
        return []
    return sorted(str(n) for n in G.predecessors(site))


def _row(
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
    start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)
    if duration_s is None:
        known = not (pd.isna(start_ts) or pd.isna(end_ts))
        duration_s = (end_ts - start_ts).total_seconds() if known else float("nan")
    return {
        "kind": kind,
        "severity": severity or _SEVERITY[kind],
        "sites": list(sites),
        "start": start_ts,
        "end": end_ts,
        "duration_s": float(duration_s),
        "impacted": list(impacted),
        "summary": summary,
    }


def _liveness_incidents(
    beacons: pd.DataFrame,
    profiles: Mapping[str, Profile] | None,
    G: nx.DiGraph[str] | None,
    *,
    start: Any,
    end: Any,
    min_outage_s: float,
    min_stop_s: float,
    flapping_restarts: int,
    flapping_window_s: float,
) -> list[dict[str, Any]]:
    from rtt_topology.aggregate.history import restarts
    from rtt_topology.analysis.cadence import cadence_changes
    from rtt_topology.analysis.liveness import downtime

    rows: list[dict[str, Any]] = []
    quiet = downtime(
        beacons, profiles, start=start, end=end,
        flapping_restarts=flapping_restarts, flapping_window_s=flapping_window_s,
    )  # fmt: skip
    crash = quiet[quiet["kind"] == "crash"].copy()
    crash["until"] = crash["end"].fillna(crash["start"] + pd.to_timedelta(crash["duration_s"], "s"))
    crash = crash.sort_values(["site", "start"], kind="stable")
    absorbed = np.zeros(len(crash), bool)

    # Restart storms: chains of restarts.
    again = restarts(beacons)
    if start is not None:
        again = again[again["ts"] >= pd.Timestamp(start)]
    if end is not None:
        again = again[again["ts"] < pd.Timestamp(end)]
    again = again.sort_values(["site", "ts"], kind="stable")
    again["chain"] = _chains(again, "ts", "ts", flapping_window_s)
    crash_site = crash["site"].astype(str).to_numpy()
    crash_start = crash["start"].to_numpy("datetime64[ns]")
    for _, chain in again.groupby("chain", sort=False):
        if len(chain) < flapping_restarts:
            continue
        site = str(chain["site"].iloc[0])
        first, last = chain["ts"].iloc[0], chain["ts"].iloc[-1]
        margin = pd.Timedelta(seconds=flapping_window_s)
        inside = (
            (crash_site == site)
            & (crash_start >= (first - margin).to_datetime64())
            & (crash_start <= (last + margin).to_datetime64())
        )
        absorbed |= inside
        down_s = float(crash["duration_s"].to_numpy()[inside].sum())
        callers = _callers(G, site)
        rows.append(
            _row(
                "restart_storm",
                [site],
                first,
                last,
                f"{site} restarted {len(chain)} times between {_when(first)} and "
                f"{_when(last)}, silent {_span(down_s)} in all",
                impacted=callers,
            )
        )

    # Cadence changes absorb the silences they cause.
    changes = cadence_changes(beacons, profiles, start=start, end=end)
    for change in _rows(changes):
        site = str(change.site)
        lo = change.start.to_datetime64()
        hi = change.end if not pd.isna(change.end) else pd.Timestamp.max.tz_localize("UTC")
        inside = (crash_site == site) & (crash_start >= lo) & (crash_start <= hi.to_datetime64())
        missed = int(inside.sum())
        absorbed |= inside
        extra = f"; {missed} silences longer than the period follow from it" if missed else ""
        rows.append(
            _row(
                "cadence_change",
                [site],
                change.start,
                change.end,
                f"{site} beacons every {change.observed_s:.0f} s instead of "
                f"{change.reference_s:.0f} s ({change.direction}, x{change.ratio:.2f}) "
                f"from {_when(change.start)}{extra}",
            )
        )

    # What is left: outages and intermittent services.
    rest = crash[~absorbed].copy()
    rest["chain"] = _chains(rest, "start", "until", flapping_window_s)
    for _, chain in rest.groupby("chain", sort=False):
        site = str(chain["site"].iloc[0])
        callers = _callers(G, site)
        impact = f"; callers: {_names(callers)}" if callers else ""
        if len(chain) >= 3:
            total = float(chain["duration_s"].sum())
            rows.append(
                _row(
                    "intermittent",
                    [site],
                    chain["start"].iloc[0],
                    chain["until"].iloc[-1],
                    f"{site} went silent {len(chain)} times from {_when(chain['start'].iloc[0])},"
                    f" {_span(total)} in all{impact}",
                    impacted=callers,
                )
            )
            continue
        for episode in _rows(chain):
            if episode.duration_s < min_outage_s:
                continue
            ongoing = pd.isna(episode.end)
            until = "and is still silent" if ongoing else f"until {_when(episode.end)}"
            rows.append(
                _row(
                    "outage",
                    [site],
                    episode.start,
                    episode.end,
                    f"{site} stopped sending beacons after {_when(episode.last_beacon)} "
                    f"without a shutdown beacon; down {_span(episode.duration_s)} {until}{impact}",
                    impacted=callers,
                    duration_s=episode.duration_s,
                )
            )

    planned = quiet[(quiet["kind"] == "planned") & (quiet["duration_s"] >= min_stop_s)]
    for stop in _rows(planned):
        site = str(stop.site)
        back = "not back yet" if pd.isna(stop.end) else f"back at {_when(stop.end)}"
        rows.append(
            _row(
                "planned_stop",
                [site],
                stop.start,
                stop.end,
                f"{site} sent a shutdown beacon at {_when(stop.start)} and stayed stopped "
                f"{_span(stop.duration_s)}; {back}",
                impacted=_callers(G, site),
                duration_s=stop.duration_s,
            )
        )
    return rows


def _drift_incidents(beacons: pd.DataFrame, *, start: Any, end: Any) -> list[dict[str, Any]]:
    from rtt_topology.analysis.drift import drift_events

    events = drift_events(beacons, start=start, end=end)
    rows = []
    for site, group in events.groupby("site", sort=True, observed=True):
        fields = sorted({f for changed in group["changed"] for f in changed})
        urls = sorted({str(u) for u in group["url"] if isinstance(u, str)})
        rows.append(
            _row(
                "structural_drift",
                [str(site)],
                group["ts"].min(),
                group["ts"].max(),
                f"{site}: {len(group)} structure change(s) from {_when(group['ts'].min())} "
                f"on {_names(urls, 3)}; changed {', '.join(fields)}",
                duration_s=float("nan"),
            )
        )
    return rows


def _graph_incidents(G: nx.DiGraph[str]) -> list[dict[str, Any]]:
    from rtt_topology.graph.reconciliation import reconcile

    edges = reconcile(G).edges
    rows = []
    for edge in _rows(edges[edges["status"] == "undeclared"]):
        data = G.edges[edge.caller, edge.callee]
        rows.append(
            _row(
                "undeclared_dependency",
                [str(edge.caller), str(edge.callee)],
                data.get("first_seen"),
                data.get("last_seen"),
                f"{edge.caller} calls {edge.callee} ({int(edge.calls)} calls from "
                f"{_when(data.get('first_seen'))}), and no profile declares it",
                duration_s=float("nan"),
            )
        )
    return rows


def _rule_incidents(results: RuleResults, G: nx.DiGraph[str] | None) -> list[dict[str, Any]]:
    rows = []
    for rule in results.rules:
        for violation in rule.violations:
            if violation.baselined:
                continue
            sites = [s for s in (violation.caller, violation.callee) if s]
            node = getattr(violation, "node", None)
            if node:
                sites.append(str(node))
            first = last = None
            caller, callee = violation.caller, violation.callee
            if G is not None and caller and callee and G.has_edge(caller, callee):
                edge = G.edges[caller, callee]
                first, last = edge.get("first_seen"), edge.get("last_seen")
            rows.append(
                _row(
                    "rule_violation",
                    sites,
                    first,
                    last,
                    f"rule {rule.id} ({rule.severity}): {violation.message}",
                    severity="critical" if rule.severity == "error" else "warning",
                    duration_s=float("nan"),
                )
            )
    return rows


def _corridor_incidents(results: CorridorResults) -> list[dict[str, Any]]:
    rows = []
    for corridor in results.corridors:
        if corridor.status in ("aligned", "unused"):
            continue
        if corridor.status == "too_slow":
            what = f"p95 latency above its bound of {corridor.max_latency_ms:g} ms"
        else:
            leaves = {f"{d.after} -> {d.observed}" for d in corridor.off_corridor}
            what = f"flows leave it ({_names(sorted(leaves), 3)})"
        rows.append(
            _row(
                "corridor_violation",
                list(corridor.path),
                None,
                None,
                f"corridor {corridor.name} ({' -> '.join(corridor.path)}): {what}",
                duration_s=float("nan"),
            )
        )
    return rows


def _quarantine_incidents(report: LoadReport) -> list[dict[str, Any]]:
    by_file: dict[str, list[Any]] = {}
    for reject in report.rejects:
        by_file.setdefault(reject.source, []).append(reject)
    rows = []
    for source, rejects in by_file.items():
        lines = sorted(r.line for r in rejects if r.line is not None)
        where = ""
        if lines:
            where = f" (line {lines[0]})" if len(lines) == 1 else f" (lines {lines[0]}-{lines[-1]})"
        reasons: dict[str, int] = {}
        for r in rejects:
            label = r.field or r.reason.split(":")[0]
            reasons[label] = reasons.get(label, 0) + 1
        detail = ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()))
        rows.append(
            _row(
                "quarantined_records",
                [],
                None,
                None,
                f"{len(rejects)} record(s) of {source}{where} rejected and quarantined: {detail}",
                duration_s=float("nan"),
            )
        )
    return rows


def find_incidents(
    beacons: pd.DataFrame | None = None,
    profiles: Mapping[str, Profile] | None = None,
    G: nx.DiGraph[str] | None = None,
    *,
    rules: RuleResults | None = None,
    corridors: CorridorResults | None = None,
    load_report: LoadReport | None = None,
    start: Any = None,
    end: Any = None,
    min_outage_s: float = 300.0,
    min_stop_s: float = 300.0,
    flapping_restarts: int = 3,
    flapping_window_s: float = 900.0,
) -> pd.DataFrame:
    """Return the incidents found in beacons, the graph, rule and corridor results and loads.

    The kinds and how each is found are in the module docstring. Give what you
    have: each input adds its kinds.

    Parameters
    ----------
    beacons
        The beacon table (:func:`~rtt_topology.load.read_beacons`): liveness,
        cadence and drift incidents.
    profiles
        Declared profiles (heartbeat periods), as for
        :func:`~rtt_topology.analysis.liveness.states`.
    G
        The service graph: undeclared dependencies, and the callers impacted by
        a failed service.
    rules, corridors
        Results of :func:`~rtt_topology.diagnostics.rules.evaluate` and
        :func:`~rtt_topology.diagnostics.corridors.check_corridors`.
    load_report
        A load's report: its rejected records, one incident per file.
    start, end
        The window of the beacon analyses (default: the data's).
    min_outage_s, min_stop_s
        Shortest crash silence that is an outage, shortest planned stop that
        is an incident (shorter ones are deploys).
    flapping_restarts, flapping_window_s
        As in :func:`~rtt_topology.analysis.liveness.states`: how many restarts, each
        within how many seconds of the previous, make a restart storm.

    Returns
    -------
    pandas.DataFrame
        One row per incident: ``kind``, ``severity`` (``critical``,
        ``warning``, ``info``), ``sites`` (list), ``start`` and ``end`` (UTC;
        NaT when unknown or ongoing), ``duration_s`` (NaN when not a span),
        ``impacted`` (callers of the failed service), ``summary`` (one line).
        Sorted by start (unknown last), then by kind as in :data:`INCIDENT_KINDS`.

    Raises
    ------
    InputError
        If a threshold is not positive.

    Examples
    --------
    >>> from rtt_topology.load import LoadReport, Reject
    >>> report = LoadReport()
    >>> report.rejects.append(Reject("east.jsonl", 7, "ts", "naive timestamp", "{}"))
    >>> table = find_incidents(load_report=report)
    >>> table[["kind", "severity"]]
                      kind severity
    0  quarantined_records  warning
    >>> print(table["summary"][0])
    1 record(s) of east.jsonl (line 7) rejected and quarantined: ts 1
    """
    for name, value in (
        ("min_outage_s", min_outage_s),
        ("min_stop_s", min_stop_s),
        ("flapping_window_s", flapping_window_s),
    ):
        if not value > 0:
            raise InputError(f"{name} must be positive, got {value!r}")
    if flapping_restarts < 2:
        raise InputError(f"flapping_restarts must be at least 2, got {flapping_restarts!r}")
    rows: list[dict[str, Any]] = []
    if beacons is not None and len(beacons):
        rows += _liveness_incidents(
            beacons, profiles, G, start=start, end=end,
            min_outage_s=min_outage_s, min_stop_s=min_stop_s,
            flapping_restarts=flapping_restarts, flapping_window_s=flapping_window_s,
        )  # fmt: skip
        rows += _drift_incidents(beacons, start=start, end=end)
    if G is not None:
        rows += _graph_incidents(G)
    if rules is not None:
        rows += _rule_incidents(rules, G)
    if corridors is not None:
        rows += _corridor_incidents(corridors)
    if load_report is not None:
        rows += _quarantine_incidents(load_report)
    table = pd.DataFrame(rows, columns=list(INCIDENT_COLUMNS))
    for column in ("start", "end"):
        table[column] = pd.to_datetime(table[column], utc=True)
    table["duration_s"] = table["duration_s"].astype("float64")
    order = {kind: i for i, kind in enumerate(INCIDENT_KINDS)}
    table["_rank"] = table["kind"].map(order)
    table = table.sort_values(["start", "_rank"], na_position="last", kind="stable")
    return table.drop(columns="_rank").reset_index(drop=True)
