"""Fixtures of the plot tests: the demo's analyses, and no figure left open."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import matplotlib.pyplot as plt
import networkx as nx
import pandas as pd
import pytest

from rtt_topology.diagnostics.rules.ruleset import RuleSet
from rtt_topology.schemas import Profile


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def demo_analyses(
    demo_beacons: pd.DataFrame,
    demo_profiles: dict[str, Profile],
    demo_graph: nx.DiGraph[str],
    demo_rules: RuleSet,
) -> dict[str, Any]:
    """What the plots draw, computed once from the demo."""
    from rtt_topology.aggregate.history import intervals
    from rtt_topology.analysis.cadence import cadence
    from rtt_topology.analysis.changepoints import detect_changes
    from rtt_topology.analysis.drift import drift
    from rtt_topology.analysis.liveness import states
    from rtt_topology.diagnostics.rules.ruleset import evaluate
    from rtt_topology.diagnostics.triads.decomposition import census

    beacons, profiles, G = demo_beacons, demo_profiles, demo_graph
    drift_table = drift(beacons)
    return {
        "states": states(beacons, profiles),
        "drift": drift_table,
        "changes": detect_changes(drift_table, "drift"),
        "cadence": cadence(beacons, profiles),
        "intervals": intervals(beacons),
        "census": census(G),
        "rules": evaluate(demo_rules, G, beacons=beacons, profiles=profiles),
    }
