"""The incidents of a history (DuckDB) equal the incidents of its beacon table."""

from __future__ import annotations

from typing import Any

import networkx as nx
import pandas as pd
import pytest

from rtt_topology.aggregate.engines import History
from rtt_topology.incidents.find import find_incidents
from rtt_topology.load import BeaconLoad
from rtt_topology.schemas import Profile


@pytest.mark.parametrize(
    "window",
    [{}, {"start": "2026-01-19T00:45:00Z", "end": "2026-01-19T03:15:00Z"}],
    ids=["whole", "window"],
)
def test_incidents_of_a_history_equal_pandas(
    demo_load: BeaconLoad,
    demo_profiles: dict[str, Profile],
    demo_graph: nx.DiGraph[str],
    window: dict[str, Any],
) -> None:
    beacons = demo_load.beacons
    options: dict[str, Any] = {"load_report": demo_load.report, **window}
    expected = find_incidents(beacons, demo_profiles, demo_graph, **options)
    with History.from_frame(beacons) as history:
        got = find_incidents(history, demo_profiles, demo_graph, **options)
    pd.testing.assert_frame_equal(got, expected)
    assert {"outage", "structural_drift", "collector_gap"} <= set(got["kind"])


def test_engine_option_on_a_table(
    demo_beacons: pd.DataFrame, demo_profiles: dict[str, Profile]
) -> None:
    pd.testing.assert_frame_equal(
        find_incidents(demo_beacons, demo_profiles, engine="duckdb"),
        find_incidents(demo_beacons, demo_profiles, engine="pandas"),
    )
