"""Run every analysis a report shows, once, over the loaded inputs (:func:`analyse`).

Every analysis is one library call; :mod:`rtt_topology.report.sections` then
chooses what of it to show and how much.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import networkx as nx
import pandas as pd

if TYPE_CHECKING:
    from rtt_topology.analysis.coherence import Coherence
    from rtt_topology.diagnostics.corridors import CorridorResults, CorridorSet
    from rtt_topology.diagnostics.rules.results import RuleResults
    from rtt_topology.diagnostics.rules.ruleset import RuleSet
    from rtt_topology.diagnostics.triads.decomposition import Decomposition
    from rtt_topology.graph.reconciliation import Reconciliation
    from rtt_topology.load.report import LoadReport
    from rtt_topology.schemas import Profile

__all__ = ["Analysis", "Step", "analyse"]


@dataclass
class Analysis:
    """Everything a report shows, computed once from the inputs."""

    G: nx.DiGraph[str]
    beacons: pd.DataFrame | None = None
    profiles: Mapping[str, Profile] | None = None
    spans: pd.DataFrame | None = None
    rule_set: RuleSet | None = None
    corridor_set: CorridorSet | None = None
    loads: dict[str, LoadReport] = field(default_factory=dict)
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    states: pd.DataFrame | None = None
    timeline: pd.DataFrame | None = None
    uptime: pd.DataFrame | None = None
    root_causes: pd.DataFrame | None = None
    drift: pd.DataFrame | None = None
    drift_kinds: pd.DataFrame | None = None
    change_points: pd.DataFrame | None = None
    cadence: pd.DataFrame | None = None
    cadence_changes: pd.DataFrame | None = None
    coherence: Coherence | None = None
    readiness: pd.DataFrame | None = None
    reconciliation: Reconciliation | None = None
    rules: RuleResults | None = None
    corridors: CorridorResults | None = None
    decomposition: Decomposition | None = None
    incidents: pd.DataFrame = field(default_factory=pd.DataFrame)


Step = Callable[[str], None]


def analyse(
    G: nx.DiGraph[str],
    *,
    beacons: pd.DataFrame | None,
    profiles: Mapping[str, Profile] | None,
    spans: pd.DataFrame | None,
    rule_set: RuleSet | None,
    corridor_set: CorridorSet | None,
    loads: dict[str, LoadReport],
    bucket: str,
    step: Step,
) -> Analysis:
    """Run every analysis the report shows; ``step(label)`` is called before each."""
    from rtt_topology.diagnostics.triads.decomposition import decompose
    from rtt_topology.graph.reconciliation import reconcile
    from rtt_topology.incidents.find import find_incidents

    result = Analysis(
        G, beacons=beacons, profiles=profiles, spans=spans, rule_set=rule_set,
        corridor_set=corridor_set, loads=loads,
    )  # fmt: skip
    if beacons is not None and len(beacons):
        _beacon_analyses(result, beacons, profiles, G, bucket, step)
    step("reconciliation")
    result.reconciliation = reconcile(G)
    if rule_set is not None:
        from rtt_topology.diagnostics.rules.ruleset import evaluate

        step("rules")
        result.rules = evaluate(rule_set, G, beacons=beacons, profiles=profiles)
    if corridor_set is not None and spans is not None:
        from rtt_topology.diagnostics.corridors import check_corridors, observed_paths

        step("corridors")
        result.corridors = check_corridors(corridor_set, observed_paths(spans))
    step("triads")
    result.decomposition = decompose(G, max_triads=20)
    step("incidents")
    quarantine = loads.get("beacons")
    result.incidents = find_incidents(
        beacons, profiles, G, rules=result.rules, corridors=result.corridors,
        load_report=quarantine,
    )  # fmt: skip
    return result


def _beacon_analyses(
    result: Analysis,
    beacons: pd.DataFrame,
    profiles: Mapping[str, Profile] | None,
    G: nx.DiGraph[str],
    bucket: str,
    step: Step,
) -> None:
    from rtt_topology.analysis.cadence import cadence, cadence_changes
    from rtt_topology.analysis.changepoints import detect_changes
    from rtt_topology.analysis.coherence import coherence
    from rtt_topology.analysis.drift import drift, drift_kinds
    from rtt_topology.analysis.impact import root_causes
    from rtt_topology.analysis.liveness import collector_gaps, in_gaps, states, timeline, uptime
    from rtt_topology.analysis.readiness import readiness

    result.start, result.end = beacons["ts"].min(), beacons["ts"].max()
    step("liveness")
    result.states = states(beacons, profiles)
    result.timeline = timeline(beacons, profiles)
    result.uptime = uptime(beacons, profiles)
    result.root_causes = root_causes(result.states, G)
    step("drift")
    result.drift = drift(beacons, bucket=bucket)
    result.drift_kinds = drift_kinds(result.drift)
    step("cadence")
    result.cadence = cadence(beacons, profiles, bucket=bucket)
    result.cadence_changes = cadence_changes(beacons, profiles, bucket=bucket)
    step("change points")
    # Buckets a collector gap cut short hold partial counts: no cadence change there.
    lost = in_gaps(result.cadence, collector_gaps(beacons, profiles), bucket)
    pace = result.cadence.assign(log2_ratio=result.cadence["log2_ratio"].mask(lost))
    result.change_points = pd.concat(
        [
            detect_changes(result.drift, "drift").assign(series="drift"),
            detect_changes(pace, "log2_ratio").assign(series="cadence"),
        ],
        ignore_index=True,
    )
    step("coherence")
    result.coherence = coherence(
        beacons, profiles, G, bucket=bucket, cadence_table=result.cadence,
        drift_table=result.drift,
    )  # fmt: skip
    step("readiness")
    result.readiness = readiness(beacons, profiles, G)
