"""Accuracy of find_incidents on a small noisy history with known truth (as bench_accuracy).

At the default thresholds: every injected incident is found, with its start within one
heartbeat interval of the truth; no service without an incident gets one; the
collector gap is one incident.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import networkx as nx
import pandas as pd
import pytest

from rtt_topology import read_beacons, read_profiles
from rtt_topology.demo.accuracy import AccuracyScore, score_incidents
from rtt_topology.demo.noisy import NoisyHistory, write_noisy_history
from rtt_topology.graph import build_graph
from rtt_topology.incidents import find_incidents

#: Small enough for a second; seed 11 puts the crash and the first hang late in their
#: heartbeat intervals, where a start estimated two periods on is more than one off.
SIZE: dict[str, Any] = {"services": 16, "hours": 3.0, "seed": 11}
KINDS = (
    "outage",
    "restart_storm",
    "intermittent",
    "planned_stop",
    "cadence_change",
    "structural_drift",
    "collector_gap",
    "quarantined_records",
)


class Run(NamedTuple):
    history: NoisyHistory
    G: nx.DiGraph[str]
    incidents: pd.DataFrame
    score: AccuracyScore


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    history = write_noisy_history(Path(tmp_path_factory.mktemp("accuracy")), **SIZE)
    beacons, report = read_beacons(history.beacon_files)
    profiles = read_profiles(history.profiles_file).profiles
    G = build_graph(beacons, profiles)
    incidents = find_incidents(beacons, profiles, G, load_report=report)
    return Run(history, G, incidents, score_incidents(incidents, history.truth))


def _same_sites(truth_sites: list[str], sites: list[str]) -> bool:
    return set(truth_sites) == set(sites) or (
        len(truth_sites) > 1 and set(truth_sites) <= set(sites)
    )


def test_the_history_has_every_kind(run: Run) -> None:
    assert sorted(run.history.truth["kind"]) == sorted(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_every_injected_incident_is_found(run: Run, kind: str) -> None:
    [want] = run.history.truth[run.history.truth["kind"] == kind].to_dict("records")
    rows = run.incidents[run.incidents["kind"] == kind]
    assert rows["sites"].map(lambda sites: _same_sites(want["sites"], sites)).sum() == 1, kind


@pytest.mark.parametrize("kind", KINDS)
def test_start_within_one_period(run: Run, kind: str) -> None:
    table = run.score.table.set_index("kind")
    assert table.loc[kind, "recall"] == 1.0, run.score.misses.to_dict("records")
    assert table.loc[kind, "precision"] == 1.0, run.score.false_alarms.to_dict("records")


def test_no_incident_on_a_service_that_had_none(run: Run) -> None:
    truth = run.history.truth
    wrong = [
        (row["kind"], row["sites"])
        for row in run.incidents.to_dict("records")
        if not any(
            t["kind"] == row["kind"] and _same_sites(t["sites"], row["sites"])
            for t in truth.to_dict("records")
        )
    ]
    assert wrong == []
    # One incident per injected one.
    assert len(run.incidents) == len(truth)


def test_healthy_services_stay_out_of_every_incident(run: Run) -> None:
    roles = run.history.roles
    named = {site for sites in run.incidents["sites"] for site in sites}
    for healthy in (*roles["callers"], roles["clock"], roles["slow"]):
        assert healthy not in named
    # The crashed service's callers are impacted, not down.
    [outage] = run.incidents[run.incidents["kind"] == "outage"].to_dict("records")
    assert set(roles["callers"]) <= set(outage["impacted"])


def test_collector_gap_is_one_incident(run: Run) -> None:
    members = set(run.history.roles["collector_gap"])
    gaps = run.incidents[run.incidents["kind"] == "collector_gap"]
    assert len(gaps) == 1
    assert members <= set(gaps["sites"].iloc[0])
    per_service = run.incidents[run.incidents["kind"].isin(["outage", "intermittent"])]
    assert not per_service["sites"].map(lambda sites: bool(members & set(sites))).any()
