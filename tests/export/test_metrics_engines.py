"""The metrics of a history (DuckDB) equal the metrics of its beacon table."""

from __future__ import annotations

import networkx as nx
import pandas as pd
import pytest

from rtt_topology.aggregate.engines import History
from rtt_topology.export.metrics import exposition
from rtt_topology.schemas import Profile


@pytest.mark.parametrize("at", [None, "2026-01-19T02:10:00Z"])
def test_exposition_of_a_history_equals_pandas(
    demo_beacons: pd.DataFrame,
    demo_profiles: dict[str, Profile],
    demo_graph: nx.DiGraph[str],
    at: str | None,
) -> None:
    expected = exposition(demo_beacons, demo_profiles, demo_graph, at=at)
    with History.from_frame(demo_beacons) as history:
        got = exposition(history, demo_profiles, demo_graph, at=at)
        assert len(history) == len(demo_beacons), "the history given stays whole and open"
    assert got == expected
    assert "rtt_coherence_score{" in got
    assert "rtt_snapshot_timestamp_seconds" in got


def test_engine_option_on_a_table(demo_beacons: pd.DataFrame) -> None:
    at = "2026-01-19T01:00:00Z"
    assert exposition(demo_beacons, at=at, engine="duckdb") == exposition(
        demo_beacons, at=at, engine="pandas"
    )
