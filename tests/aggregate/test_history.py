from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from rtt_topology.aggregate.history import event_counts, event_pairs, intervals, service_summary
from rtt_topology.columns import empty_beacon_frame
from rtt_topology.errors import InputError
from rtt_topology.load import read_beacons


def test_intervals_restart_per_site(same_rows: dict[str, Path]) -> None:
    beacons, _ = read_beacons(same_rows["jsonl"])
    gaps = intervals(beacons)
    assert gaps.index.equals(beacons.index)
    got = gaps["interval_s"].tolist()
    # auth-service: 0 s, 30.25 s, 29.75 s; dc-east alone; shop: 10.123 s -> 40 s.
    assert np.isnan(got[0])
    assert np.isnan(got[3])
    assert np.isnan(got[4])
    assert got[1:3] == pytest.approx([30.25, 29.75])
    assert got[5] == pytest.approx(29.877)


def test_event_counts(same_rows: dict[str, Path]) -> None:
    beacons, _ = read_beacons(same_rows["jsonl"])
    counts = event_counts(beacons)
    assert counts.loc["auth-service", "heartbeat"] == 2
    assert counts.loc["auth-service", "startup"] == 1
    assert counts.loc["dc-east", "heartbeat"] == 0


def test_event_counts_match_a_text_crosstab(demo_beacons: pd.DataFrame) -> None:
    beacons = demo_beacons
    expected = pd.crosstab(beacons["site"].astype(str), beacons["event"].astype(str))
    expected.index.name = "site"
    expected.columns.name = None
    pd.testing.assert_frame_equal(event_counts(beacons), expected.astype("int64"))
    pairs = event_pairs(beacons)
    assert pairs.sum() == len(beacons)
    assert (pairs > 0).all()
    assert pairs.to_dict() == {k: v for k, v in expected.stack().items() if v}


def test_service_summary(same_rows: dict[str, Path]) -> None:
    beacons, _ = read_beacons(same_rows["jsonl"])
    summary = service_summary(beacons)
    assert summary["site"].tolist() == ["auth-service", "dc-east", "shop.example.com"]
    auth = summary.iloc[0]
    assert auth["beacons"] == 3
    assert auth["sessions"] == 1
    assert auth["events"] == {"heartbeat": 2, "startup": 1}
    assert auth["first_seen"] == pd.Timestamp("2026-01-19T15:00:00Z")
    assert auth["last_seen"] == pd.Timestamp("2026-01-19T15:01:00Z")
    assert auth["median_interval_s"] == pytest.approx(30.0)
    assert np.isnan(summary.iloc[1]["median_interval_s"])


def test_empty_and_invalid_input() -> None:
    summary = service_summary(empty_beacon_frame())
    assert summary.empty
    with pytest.raises(InputError, match="not a beacon table"):
        service_summary(pd.DataFrame({"site": ["a"]}))


def test_periods_declared_inferred_default(same_rows: dict[str, Path]) -> None:
    from rtt_topology.aggregate.history import periods
    from rtt_topology.schemas import Profile

    beacons, _ = read_beacons(same_rows["jsonl"])
    declared = {"shop.example.com": Profile(rtt_version="1", supports=[], heartbeat_interval_s=20)}
    table = periods(beacons, {**declared, "ghost": Profile(rtt_version="1", supports=[])})
    assert table.loc["shop.example.com"].tolist() == [20.0, "declared"]
    # auth-service has only two heartbeat intervals: too few to infer from.
    assert table.loc["auth-service"].tolist() == [60.0, "default"]
    assert table.loc["ghost"].tolist() == [60.0, "default"]
    with pytest.raises(InputError, match="positive"):
        periods(beacons, default_s=0)


def test_periods_inferred_on_the_demo(
    demo_beacons: pd.DataFrame, demo_truth: dict[str, Any]
) -> None:
    from rtt_topology.aggregate.history import periods

    beacons, truth = demo_beacons, demo_truth
    table = periods(beacons)
    for service in truth["services"]:
        if service["beacons"] and service["name"] != "search-api":  # slowed down mid-way
            inferred = table.loc[service["name"], "period_s"]
            assert inferred == pytest.approx(service["period_s"], rel=0.1), service["name"]


def test_restarts_and_clusters(
    demo_beacons: pd.DataFrame,
    demo_truth: dict[str, Any],
    demo_incidents: dict[str, dict[str, Any]],
) -> None:
    from rtt_topology.aggregate.history import cluster_sites, restarts

    beacons, truth = demo_beacons, demo_truth
    assert cluster_sites(beacons) == sorted(c["name"] for c in truth["clusters"])
    found = restarts(beacons).groupby("site", observed=True).size().to_dict()
    storm = demo_incidents["restart_storm"]
    assert found[storm["services"][0]] == storm["details"]["restarts"]
    # Visitor sessions of websites are not restarts.
    web = [s["name"] for s in truth["services"] if s["web"]]
    assert not set(web) & set(found)
    # Every deploy is one restart.
    for deploy in truth["deploys"]:
        assert found.get(deploy["service"], 0) >= 1
