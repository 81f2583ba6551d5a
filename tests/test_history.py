from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rtt_topology.columns import empty_beacon_frame
from rtt_topology.errors import InputError
from rtt_topology.history import event_counts, intervals, service_summary
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
