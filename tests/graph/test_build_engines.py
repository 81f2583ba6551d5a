"""The service graph built from a history (DuckDB) equals the one built from its table."""

from __future__ import annotations

from typing import Any

import networkx as nx
import pandas as pd
import pytest

from rtt_topology.aggregate.engines import History
from rtt_topology.graph.beacons import narrowed_history
from rtt_topology.graph.build import build_graph
from rtt_topology.schemas import Profile


def _same_graph(a: nx.DiGraph[str], b: nx.DiGraph[str]) -> None:
    assert list(a.nodes(data=True)) == list(b.nodes(data=True))
    assert list(a.edges(data=True)) == list(b.edges(data=True))
    assert a.graph == b.graph


@pytest.mark.parametrize(
    "window",
    [{}, {"start": "2026-01-19T01:00:00Z", "end": "2026-01-19T02:30:00Z"}],
    ids=["whole", "window"],
)
def test_graph_of_a_history_equals_the_graph_of_its_table(
    demo_beacons: pd.DataFrame,
    demo_profiles: dict[str, Profile],
    window: dict[str, Any],
) -> None:
    expected = build_graph(demo_beacons, demo_profiles, **window)
    with History.from_frame(demo_beacons) as history:
        got = build_graph(history, demo_profiles, **window)
    _same_graph(expected, got)
    assert expected.graph["clusters"], "the demo has clusters: their grouping is compared"
    assert any(attrs["group"] for _, attrs in got.nodes(data=True))


def test_engine_duckdb_on_a_table_equals_pandas(demo_beacons: pd.DataFrame) -> None:
    _same_graph(build_graph(demo_beacons), build_graph(demo_beacons, engine="duckdb"))


def test_narrowed_history_keeps_the_history_when_nothing_narrows(
    demo_beacons: pd.DataFrame,
) -> None:
    with History.from_frame(demo_beacons, memory_limit="1GB", threads=1) as history:
        with narrowed_history(history) as same:
            assert same is history
        first = str(demo_beacons["site"].iloc[0])
        with narrowed_history(history, sites=[first], end="2026-01-19T02:00:00Z") as kept:
            assert kept is not history
            expected = demo_beacons[
                (demo_beacons["site"] == first)
                & (demo_beacons["ts"] < pd.Timestamp("2026-01-19T02:00:00Z"))
            ]
            assert len(kept) == len(expected) > 0
            settings = kept.sql("SELECT current_setting('threads') AS threads")
            assert int(settings["threads"].iloc[0]) == 1
        # The history narrowed is still open and whole.
        assert len(history) == len(demo_beacons)


def test_narrowed_history_to_an_empty_window(demo_beacons: pd.DataFrame) -> None:
    with (
        History.from_frame(demo_beacons, start="2026-01-19T02:00:00Z") as history,
        narrowed_history(history, end="2026-01-19T01:00:00Z") as empty,
    ):
        assert len(empty) == 0


def test_graph_of_a_store_equals_the_graph_of_its_files(
    store: Any, demo_beacons: pd.DataFrame, demo_profiles: dict[str, Profile]
) -> None:
    with History.from_store(store) as history:
        got = build_graph(history, demo_profiles)
    _same_graph(build_graph(demo_beacons, demo_profiles), got)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.stores import demo_store

    return demo_store(tmp_path_factory.mktemp("graph"))
