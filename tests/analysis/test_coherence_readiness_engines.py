"""Coherence and readiness of a history (DuckDB) equal those of its beacon table."""

from __future__ import annotations

from typing import Any

import networkx as nx
import pandas as pd
import pytest

from rtt_topology.aggregate.engines import History
from rtt_topology.analysis.coherence import coherence
from rtt_topology.analysis.readiness import readiness, readiness_summary
from rtt_topology.schemas import Profile


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"bucket": "15min", "start": "2026-01-19T00:30:00Z", "end": "2026-01-19T03:00:00Z"},
        {"weights": {"declaration": 0.0}},
    ],
    ids=["default", "window", "weights"],
)
def test_coherence_of_a_history_equals_pandas(
    demo_beacons: pd.DataFrame,
    demo_profiles: dict[str, Profile],
    demo_graph: nx.DiGraph[str],
    options: dict[str, Any],
) -> None:
    expected = coherence(demo_beacons, demo_profiles, demo_graph, **options)
    with History.from_frame(demo_beacons) as history:
        got = coherence(history, demo_profiles, demo_graph, **options)
    for name in ("by_bucket", "services", "system"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(expected, name), rtol=1e-9)
    assert got.overall == pytest.approx(expected.overall, rel=1e-9)
    assert got.weights == expected.weights
    assert len(got.services) > 10


def test_coherence_engine_option_on_a_table(
    demo_beacons: pd.DataFrame, demo_profiles: dict[str, Profile]
) -> None:
    expected = coherence(demo_beacons, demo_profiles, engine="pandas")
    got = coherence(demo_beacons, demo_profiles, engine="duckdb")
    pd.testing.assert_frame_equal(got.services, expected.services, rtol=1e-9)


@pytest.mark.parametrize("at", [None, "2026-01-19T01:30:00Z", "2026-01-19T03:00:00+01:00"])
def test_readiness_of_a_history_equals_pandas(
    demo_beacons: pd.DataFrame,
    demo_profiles: dict[str, Profile],
    demo_graph: nx.DiGraph[str],
    at: str | None,
) -> None:
    expected = readiness(demo_beacons, demo_profiles, demo_graph, at=at)
    with History.from_frame(demo_beacons) as history:
        got = readiness(history, demo_profiles, demo_graph, at=at)
    pd.testing.assert_frame_equal(got, expected)
    # Something fails and something passes: the comparison covers both.
    assert {"pass", "fail"} <= set(got["status"])
    assert readiness_summary(got)["ready"].equals(readiness_summary(expected)["ready"])


def test_readiness_of_a_store_equals_its_files(
    tmp_path: Any, demo_beacons: pd.DataFrame, demo_profiles: dict[str, Profile]
) -> None:
    from tests.stores import demo_store

    with History.from_store(demo_store(tmp_path)) as history:
        got = readiness(history, demo_profiles)
    pd.testing.assert_frame_equal(got, readiness(demo_beacons, demo_profiles))
