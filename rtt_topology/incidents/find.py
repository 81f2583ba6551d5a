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
``collector_gap``          most services of one collector file or declared cluster
                           went silent and came back together
                           (:func:`~rtt_topology.analysis.liveness.collector_gaps`):
                           one incident per gap, ``sites`` the member services,
                           ``start`` the members' earliest last beacon, ``end``
                           the latest first beacon back; their silences in the
                           gap give no outage or intermittent incident (liveness
                           shows them ``unknown``). A service silent with them
                           that comes back later is not a member: its silence is
                           an ``outage`` from its own last beacon, gap included
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

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import networkx as nx
import pandas as pd

from rtt_topology.errors import InputError
from rtt_topology.incidents.liveness import liveness_incidents
from rtt_topology.incidents.rows import (
    INCIDENT_COLUMNS,
    INCIDENT_KINDS,
    name_list,
    records,
    row,
    when,
)

if TYPE_CHECKING:
    from rtt_topology.aggregate.engines import Engine, History
    from rtt_topology.diagnostics.corridors import CorridorResults
    from rtt_topology.diagnostics.rules.results import RuleResults
    from rtt_topology.load.report import LoadReport
    from rtt_topology.schemas import Profile

__all__ = ["INCIDENT_COLUMNS", "INCIDENT_KINDS", "find_incidents"]


def _drift_incidents(
    beacons: pd.DataFrame | History, *, start: Any, end: Any
) -> list[dict[str, Any]]:
    from rtt_topology.analysis.drift import drift_events

    events = drift_events(beacons, start=start, end=end)
    rows = []
    for site, group in events.groupby("site", sort=True, observed=True):
        fields = sorted({f for changed in group["changed"] for f in changed})
        urls = sorted({str(u) for u in group["url"] if isinstance(u, str)})
        rows.append(
            row(
                "structural_drift",
                [str(site)],
                group["ts"].min(),
                group["ts"].max(),
                f"{site}: {len(group)} structure change(s) from {when(group['ts'].min())} "
                f"on {name_list(urls, 3)}; changed {', '.join(fields)}",
                duration_s=float("nan"),
            )
        )
    return rows


def _graph_incidents(G: nx.DiGraph[str]) -> list[dict[str, Any]]:
    from rtt_topology.graph.reconciliation import reconcile

    edges = reconcile(G).edges
    rows = []
    for edge in records(edges[edges["status"] == "undeclared"]):
        data = G.edges[edge.caller, edge.callee]
        rows.append(
            row(
                "undeclared_dependency",
                [str(edge.caller), str(edge.callee)],
                data.get("first_seen"),
                data.get("last_seen"),
                f"{edge.caller} calls {edge.callee} ({int(edge.calls)} calls from "
                f"{when(data.get('first_seen'))}), and no profile declares it",
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
                row(
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
            what = f"flows leave it ({name_list(sorted(leaves), 3)})"
        rows.append(
            row(
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
            row(
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
    beacons: pd.DataFrame | History | None = None,
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
    engine: Engine = "auto",
) -> pd.DataFrame:
    """Return the incidents found in beacons, the graph, rule and corridor results and loads.

    The kinds and how each is found are in the module docstring. Give what you
    have: each input adds its kinds.

    Parameters
    ----------
    beacons
        The beacon table (:func:`~rtt_topology.load.read_beacons`), or a
        :class:`~rtt_topology.aggregate.engines.History`: liveness, cadence and
        drift incidents.
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
    engine
        ``"pandas"``, ``"duckdb"`` or ``"auto"``
        (:func:`~rtt_topology.aggregate.engines.choose_engine`): the engine of the
        beacon analyses.

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
        from rtt_topology.aggregate.engines import engine_input

        with engine_input(beacons, engine) as data:
            rows += liveness_incidents(
                data, profiles, G, start=start, end=end,
                min_outage_s=min_outage_s, min_stop_s=min_stop_s,
                flapping_restarts=flapping_restarts, flapping_window_s=flapping_window_s,
            )  # fmt: skip
            rows += _drift_incidents(data, start=start, end=end)
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
