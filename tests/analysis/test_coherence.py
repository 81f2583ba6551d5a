from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtt_topology.analysis.coherence import (
    COMPONENTS,
    DEFAULT_WEIGHTS,
    Coherence,
    _weighted,
    coherence,
    declaration_scores,
)
from rtt_topology.errors import InputError
from rtt_topology.graph.build import build_graph
from rtt_topology.schemas import Profile


def test_shape_and_ranges(demo_truth: dict[str, Any], demo_coherence: Coherence) -> None:
    truth, result = demo_truth, demo_coherence
    assert result.by_bucket.columns.tolist() == ["site", "bucket", *COMPONENTS, "coherence"]
    values = result.by_bucket[[*COMPONENTS, "coherence"]].to_numpy()
    present = values[~np.isnan(values)]
    assert ((present >= 0) & (present <= 1)).all()
    assert 0 <= result.overall <= 1
    assert result.weights == dict(DEFAULT_WEIGHTS)
    # Clusters are not scored; every service is.
    sites = set(result.services["site"])
    assert "dc-east" not in sites
    assert sites == {s["name"] for s in truth["services"]}
    assert str(result.by_bucket["bucket"].dtype) == "datetime64[ns, UTC]"


def test_incidents_lower_coherence(
    demo_truth: dict[str, Any], demo_incidents: dict[str, dict[str, Any]], demo_coherence: Coherence
) -> None:
    truth, result = demo_truth, demo_coherence
    scores = result.services.set_index("site")["coherence"]
    crash = demo_incidents["crash"]["services"][0]
    silent = truth["declared_silent"]
    slowed = demo_incidents["cadence_slowdown"]["services"][0]
    worst = scores.sort_values().index[:3].tolist()
    assert set(worst) == {silent, crash, slowed}
    # During the crash the crashed service scores low; before, it scored high.
    rows = result.by_bucket[result.by_bucket["site"] == crash].set_index("bucket")
    during = rows.loc[pd.Timestamp(crash_middle(demo_incidents["crash"]))]
    assert during["liveness"] == 0
    assert rows["coherence"].iloc[0] > 0.9
    # The system is less coherent during the crash than before it.
    system = result.system.set_index("bucket")["coherence"]
    assert system.loc[pd.Timestamp(crash_middle(demo_incidents["crash"]))] < system.iloc[:6].mean()


def crash_middle(crash: dict[str, Any]) -> pd.Timestamp:
    start, end = pd.Timestamp(crash["start"]), pd.Timestamp(crash["end"])
    return (start + (end - start) / 2).floor("5min")


def test_declaration_with_a_graph() -> None:
    profiles = {"api": Profile(rtt_version="1", supports=[], depends_on=["db", "cache"])}
    edges = pd.DataFrame({"caller": ["api"], "callee": ["db"], "kind": ["rpc"], "calls": [3],
                          "errors": [0]})  # fmt: skip
    G = build_graph(profiles=profiles, edges=edges)
    scores = declaration_scores(["api", "db", "ghost"], profiles, G)
    assert scores.to_dict() == {"api": 0.75, "db": 0.5, "ghost": 0.0}
    assert declaration_scores(["api"], None).tolist() == [0.0]


def test_weights(demo_beacons: pd.DataFrame, demo_profiles: dict[str, Profile]) -> None:
    beacons, profiles = demo_beacons, demo_profiles
    only_liveness = coherence(
        beacons, profiles, weights={"adherence": 0, "stability": 0, "declaration": 0}
    )
    rows = only_liveness.by_bucket.dropna(subset=["liveness"])
    assert np.allclose(rows["coherence"], rows["liveness"])
    with pytest.raises(InputError, match="unknown coherence component"):
        coherence(beacons, weights={"speed": 1})
    with pytest.raises(InputError, match="non-negative"):
        coherence(beacons, weights=dict.fromkeys(COMPONENTS, 0))


@given(
    st.lists(
        st.tuples(*[st.one_of(st.none(), st.floats(0, 1)) for _ in COMPONENTS]),
        min_size=1,
        max_size=20,
    )
)
def test_weighted_mean_stays_in_range(rows: list[tuple[float | None, ...]]) -> None:
    frame = pd.DataFrame(rows, columns=list(COMPONENTS), dtype="float64")
    score = _weighted(frame, DEFAULT_WEIGHTS)
    assert ((score >= 0) & (score <= 1) | score.isna()).all()
    assert (score.isna() == frame.isna().all(axis=1)).all()


def test_reuses_tables(
    demo_beacons: pd.DataFrame,
    demo_profiles: dict[str, Profile],
    demo_graph: nx.DiGraph[str],
    demo_coherence: Coherence,
) -> None:
    from rtt_topology.analysis.cadence import cadence
    from rtt_topology.analysis.drift import drift
    from rtt_topology.analysis.liveness import time_in_states

    beacons, profiles, G, result = demo_beacons, demo_profiles, demo_graph, demo_coherence
    again = coherence(
        beacons,
        profiles,
        G,
        cadence_table=cadence(beacons, profiles),
        drift_table=drift(beacons),
        state_times=time_in_states(beacons, profiles),
    )
    pd.testing.assert_frame_equal(again.by_bucket, result.by_bucket)
