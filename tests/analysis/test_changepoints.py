from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import ruptures as rpt  # type: ignore[import-untyped]

from rtt_topology.analysis.cadence import cadence
from rtt_topology.analysis.changepoints import change_points, default_penalty, detect_changes
from rtt_topology.analysis.drift import drift
from rtt_topology.analysis.liveness import collector_gaps, in_gaps
from rtt_topology.errors import InputError
from rtt_topology.schemas import Profile

T0 = pd.Timestamp("2026-01-19T00:00:00Z")
BUCKET = pd.Timedelta("5min")


def series(values: list[float] | np.ndarray) -> pd.Series:
    return pd.Series(values, index=pd.date_range(T0, periods=len(values), freq="5min"))


def step(n: int, k: int, *, size: float = 1.0, noise: float = 0.05, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.where(np.arange(n) >= k, size, 0.0) + rng.normal(0, noise, n)


# --- exact location: jump=1 -----------------------------------------------------------


@pytest.mark.parametrize("k", [2, 7, 13, 51, 53, 54, 286])
@pytest.mark.parametrize("method", ["pelt", "binseg"])
def test_a_step_is_found_exactly_where_it_is(k: int, method: str) -> None:
    values = series(step(288, k))
    assert change_points(values, method=method) == [values.index[k]]


def test_ruptures_default_jump_misplaces_a_change() -> None:
    """Why ``jump=1``: with ruptures' default ``jump=5`` a step at 53 is reported at 55."""
    x = np.r_[np.zeros(53), np.full(47, 3.0)]
    assert rpt.Pelt(model="l2", min_size=2).fit(x).predict(pen=1)[:-1] != [53]
    assert rpt.Pelt(model="l2", min_size=2, jump=1).fit(x).predict(pen=1)[:-1] == [53]
    assert change_points(series(x)) == [series(x).index[53]]


@pytest.mark.parametrize("seed", range(8))
def test_kernel_pelt_equals_python_pelt_l2(seed: int) -> None:
    """KernelCPD (linear kernel, C) solves the same problem as Pelt(model="l2", jump=1)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(10, 80))
    x = rng.normal(0, 1, n) + np.repeat(rng.normal(0, 3, 4), -(-n // 4))[:n]
    pen = float(rng.uniform(0.5, 10))
    fast = rpt.KernelCPD(kernel="linear", min_size=2).fit(x.reshape(-1, 1)).predict(pen=pen)
    slow = rpt.Pelt(model="l2", min_size=2, jump=1).fit(x).predict(pen=pen)
    assert [int(v) for v in fast] == slow
    assert change_points(series(x), penalty=pen) == [series(x).index[k] for k in slow[:-1]]


# --- edge cases -----------------------------------------------------------------------


def test_constant_and_short_series_have_no_change() -> None:
    assert change_points(series([0.3] * 50)) == []
    assert change_points(series([0.0, 1.0, 1.0])) == []  # fewer than 2 * min_size
    assert change_points(series([0.0, 0.0, 1.0, 1.0])) == [T0 + 2 * BUCKET]
    assert change_points(series([])) == []
    assert change_points(series([np.nan] * 10)) == []


def test_missing_values_are_dropped() -> None:
    values = [0.0] * 10 + [np.nan] * 5 + [1.0] * 10
    # The change happened in the gap: it is reported at the first bucket with data.
    assert change_points(series(values)) == [T0 + 15 * BUCKET]
    values = [0.0] * 5 + [np.nan, 0.0] * 5 + [1.0, np.nan] * 5
    assert change_points(series(values)) == [T0 + 15 * BUCKET]


def test_noise_alone_has_no_change() -> None:
    for seed in range(20):
        rng = np.random.default_rng(seed)
        assert change_points(series(rng.normal(0, 1, 288))) == []


def test_two_changes_and_min_size() -> None:
    values = np.r_[np.zeros(20), np.ones(20), np.zeros(20)]
    assert change_points(series(values)) == [T0 + 20 * BUCKET, T0 + 40 * BUCKET]
    spike = np.r_[np.zeros(20), [5.0], np.zeros(20)]
    assert change_points(series(spike), min_size=2) != [T0 + 20 * BUCKET]
    assert change_points(series(spike), min_size=5) == []


def test_min_change() -> None:
    values = np.r_[np.zeros(30), np.full(30, 0.02), np.full(30, 1.0)]
    # A small penalty finds both steps; min_change keeps the one that matters.
    assert len(change_points(series(values), penalty=1e-4)) == 2
    assert change_points(series(values), penalty=1e-4, min_change=0.1) == [T0 + 60 * BUCKET]
    assert change_points(series(values), penalty=1e-4, min_change=2.0) == []


def test_unsorted_index() -> None:
    values = series(np.r_[np.zeros(10), np.ones(10)])
    assert change_points(values.iloc[::-1]) == [T0 + 10 * BUCKET]


@pytest.mark.parametrize(
    "kwargs",
    [{"method": "dynp"}, {"penalty": 0.0}, {"penalty": -1.0}, {"min_size": 0}, {"min_change": -1}],
)
def test_bad_options(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        change_points(series([0.0, 1.0]), **kwargs)
    with pytest.raises(InputError):
        detect_changes(pd.DataFrame({"site": [], "bucket": [], "v": []}), "v", **kwargs)


def test_needs_a_time_index() -> None:
    with pytest.raises(InputError, match="DatetimeIndex"):
        change_points(pd.Series([0.0, 1.0]))


def test_default_penalty() -> None:
    assert default_penalty(np.zeros(20)) == 0.0
    assert default_penalty([1.0]) == 0.0
    # A noiseless step still gets a small positive penalty, below the step's gain.
    x = np.r_[np.zeros(36), np.ones(36)]
    assert 0 < default_penalty(x) < 36 * 36 / 72
    # Quantized noise (identical medians half the time) does not collapse the estimate.
    rng = np.random.default_rng(0)
    quantized = rng.choice([0.0, 0.0, 0.034], 72)
    assert default_penalty(quantized) > 3 * 0.0001 * np.log(72)


# --- per site -------------------------------------------------------------------------


def test_detect_changes_per_site() -> None:
    t = pd.date_range(T0, periods=20, freq="5min")
    table = pd.DataFrame(
        {
            "site": ["b"] * 20 + ["a"] * 20 + ["c"] * 20,
            "bucket": np.tile(t, 3),
            "drift": np.r_[np.zeros(10), np.full(10, 0.5), np.full(20, 0.2), np.zeros(19), np.nan],
        }
    ).sample(frac=1.0, random_state=0)
    found = detect_changes(table, "drift")
    assert found.to_dict("records") == [{"site": "b", "bucket": t[10], "before": 0.0, "after": 0.5}]
    assert found["bucket"].dtype == pd.DatetimeTZDtype("ns", "UTC")
    empty = detect_changes(table[table["site"] == "a"], "drift")
    assert empty.empty
    assert empty.columns.tolist() == ["site", "bucket", "before", "after"]
    with pytest.raises(InputError, match="missing"):
        detect_changes(table, "nope")


def test_demo_cadence_change_point(
    demo_beacons: pd.DataFrame,
    demo_profiles: dict[str, Profile],
    demo_incidents: dict[str, dict[str, Any]],
) -> None:
    table = cadence(demo_beacons, demo_profiles)
    slow = demo_incidents["cadence_slowdown"]
    # Buckets cut short by the demo's collector gap hold partial counts: left out.
    lost = in_gaps(table, collector_gaps(demo_beacons, demo_profiles), "5min")
    found = detect_changes(table.assign(log2_ratio=table["log2_ratio"].mask(lost)), "log2_ratio")
    assert found["site"].tolist() == slow["services"]
    assert abs(found["bucket"].iloc[0] - pd.Timestamp(slow["start"])) <= BUCKET
    assert found["after"].iloc[0] == pytest.approx(np.log2(153 / 46), abs=0.1)
    site = table[table["site"] == slow["services"][0]].set_index("bucket")
    [at] = change_points(site["cadence_drift"])
    assert abs(at - pd.Timestamp(slow["start"])) <= BUCKET


def test_demo_drift_change_point(
    demo_beacons: pd.DataFrame, demo_incidents: dict[str, dict[str, Any]]
) -> None:
    table = drift(demo_beacons)
    redesign = demo_incidents["structural_drift"]
    found = detect_changes(table, "drift")
    assert found["site"].tolist() == redesign["services"]
    assert abs(found["bucket"].iloc[0] - pd.Timestamp(redesign["start"])) <= BUCKET
    assert found["before"].iloc[0] == 0.0
