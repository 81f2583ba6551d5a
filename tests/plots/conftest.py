"""Fixtures of the plot tests: the demo's analyses, and no figure left open."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import matplotlib.pyplot as plt
import pytest

from tests import DEMO


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def demo() -> dict[str, Any]:
    from rtt_topology.aggregate.history import intervals
    from rtt_topology.analysis.cadence import cadence
    from rtt_topology.analysis.changepoints import detect_changes
    from rtt_topology.analysis.coherence import coherence
    from rtt_topology.analysis.drift import drift
    from rtt_topology.analysis.liveness import downtime, states, timeline
    from rtt_topology.diagnostics.rules.ruleset import evaluate, load_rules
    from rtt_topology.diagnostics.triads.decomposition import census
    from rtt_topology.graph.build import build_graph
    from rtt_topology.load import read_beacons, read_profiles, read_traces

    beacons, _ = read_beacons(DEMO / "beacons")
    profiles = read_profiles(DEMO / "profiles").profiles
    G = build_graph(beacons, profiles, spans=read_traces(DEMO / "traces").spans)
    drift_table = drift(beacons)
    return {
        "beacons": beacons,
        "profiles": profiles,
        "G": G,
        "timeline": timeline(beacons, profiles),
        "states": states(beacons, profiles),
        "downtime": downtime(beacons, profiles),
        "drift": drift_table,
        "changes": detect_changes(drift_table, "drift"),
        "coherence": coherence(beacons, profiles, G),
        "cadence": cadence(beacons, profiles),
        "intervals": intervals(beacons),
        "census": census(G),
        "rules": evaluate(load_rules(DEMO / "rules.yaml"), G, beacons=beacons, profiles=profiles),
        "truth": json.loads((DEMO / "ground_truth.json").read_text()),
    }
