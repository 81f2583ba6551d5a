"""Run every analysis a report shows, once, over the loaded inputs (:func:`analyse`).

Every analysis is one library call; :mod:`rtt_topology.report.sections` then
chooses what of it to show and how much.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

import networkx as nx
import pandas as pd

from rtt_topology.aggregate.engines import CHUNK_ROWS as ENGINE_CHUNK_ROWS

if TYPE_CHECKING:
    from rtt_topology.aggregate.engines import History
    from rtt_topology.analysis.coherence import Coherence
    from rtt_topology.diagnostics.corridors import CorridorResults, CorridorSet
    from rtt_topology.diagnostics.rules.results import RuleResults
    from rtt_topology.diagnostics.rules.ruleset import RuleSet
    from rtt_topology.diagnostics.triads.decomposition import Decomposition
    from rtt_topology.graph.reconciliation import Reconciliation
    from rtt_topology.load.report import LoadReport
    from rtt_topology.schemas import Profile

__all__ = ["Analysis", "Step", "analyse", "figure_tables"]

#: About this many intervals feed the cadence histogram of a history (a sample of its sites).
INTERVAL_SAMPLE = 1_000_000
#: Beacons per chunk of sites when a query needs each site's whole history (the engines').
CHUNK_ROWS = ENGINE_CHUNK_ROWS
#: The bucket of the heartbeat frequency figure (its own default).
FREQUENCY_BUCKET = "5min"


@dataclass
class Analysis:
    """Everything a report shows, computed once from the inputs.

    ``beacons`` is the beacon table, or the :class:`~rtt_topology.aggregate.engines.History`
    the analyses ran on (closed once the report is built, when the report opened it);
    ``frequency`` (beacons per site and bucket) and ``intervals`` (a sample of the
    intervals between beacons) are what the figures of a history draw instead of
    its beacons.
    """

    G: nx.DiGraph[str]
    beacons: pd.DataFrame | History | None = None
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
    frequency: pd.DataFrame | None = None
    intervals: pd.DataFrame | None = None


Step = Callable[[str], None]


def analyse(
    G: nx.DiGraph[str],
    *,
    beacons: pd.DataFrame | History | None,
    profiles: Mapping[str, Profile] | None,
    spans: pd.DataFrame | None,
    rule_set: RuleSet | None,
    corridor_set: CorridorSet | None,
    loads: dict[str, LoadReport],
    bucket: str,
    step: Step,
) -> Analysis:
    """Run every analysis the report shows; ``step(label)`` is called before each.

    ``beacons`` is a beacon table (the pandas engine) or a history (DuckDB): every
    analysis takes either and dispatches itself.
    """
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
        # The rule kinds read only periods and uptime, which take a history too.
        rule_beacons = cast("pd.DataFrame | None", beacons)
        result.rules = evaluate(rule_set, G, beacons=rule_beacons, profiles=profiles)
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


def figure_tables(history: History) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return what the heartbeat figures draw of a history, instead of its beacons.

    Parameters
    ----------
    history
        The history.

    Returns
    -------
    frequency : pandas.DataFrame
        Beacons per ``site`` and ``bucket`` (:data:`FREQUENCY_BUCKET`, UTC), as
        :func:`~rtt_topology.plots.plot_heartbeat_frequency` takes a cadence table.
    intervals : pandas.DataFrame
        ``site``, ``interval_s``: the intervals before the beacons of every
        ``k``-th site (by name), ``k`` such that about :data:`INTERVAL_SAMPLE`
        beacons remain (every site of a smaller history), read per chunk of sites.

    Examples
    --------
    >>> from rtt_topology.aggregate.engines import History
    >>> from rtt_topology.load import beacons_from_records
    >>> table, _ = beacons_from_records(
    ...     {"site": "api", "session": "s1", "event": "heartbeat", "ts": f"2026-01-19T15:0{i}:00Z"}
    ...     for i in range(3)
    ... )
    >>> with History.from_frame(table) as history:
    ...     frequency, intervals = figure_tables(history)
    >>> frequency["beacons"].tolist(), intervals["interval_s"].tolist()
    ([3], [60.0, 60.0])
    """
    from rtt_topology.aggregate.sql.figures import bucket_counts, interval_sample

    width_us = int(pd.Timedelta(FREQUENCY_BUCKET).value) // 1000
    counts = history.sql(bucket_counts(width_us))
    frequency = pd.DataFrame(
        {
            "site": counts["site"].astype(str),
            "bucket": pd.to_datetime(
                counts["bucket_us"].astype("int64"), unit="us", utc=True
            ).astype("datetime64[ns, UTC]"),
            "beacons": counts["beacons"].astype("int64"),
        }
    )
    # A sample of sites (every k-th by name) keeps about INTERVAL_SAMPLE beacons:
    # the window function then reads only theirs.
    per_site = history.site_counts()
    every = max(1, -(-int(per_site.sum()) // INTERVAL_SAMPLE))
    chosen = per_site.iloc[::every]
    groups: list[list[str]] = [[]]
    size = 0
    for site, n in zip(chosen.index, chosen.to_numpy(dtype="int64").tolist(), strict=True):
        if groups[-1] and size + n > CHUNK_ROWS:
            groups.append([])
            size = 0
        groups[-1].append(str(site))
        size += n
    parts = [history.sql(interval_sample(group)) for group in groups if group]
    empty = pd.DataFrame({"site": pd.Series([], dtype=str), "interval_s": []})
    sample = pd.concat(parts, ignore_index=True) if parts else empty
    intervals = pd.DataFrame(
        {"site": sample["site"].astype(str), "interval_s": sample["interval_s"].astype("float64")}
    )
    return frequency, intervals


def _beacon_analyses(
    result: Analysis,
    beacons: pd.DataFrame | History,
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

    if isinstance(beacons, pd.DataFrame):
        result.start, result.end = beacons["ts"].min(), beacons["ts"].max()
    else:
        result.start, result.end = beacons.bounds()
        result.frequency, result.intervals = figure_tables(beacons)
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
