"""Liveness on DuckDB equals liveness in pandas: the demo, and random histories."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtt_topology._memo import reuse
from rtt_topology.aggregate.engines import History
from rtt_topology.analysis.liveness import (
    collector_gaps,
    downtime,
    flips,
    states,
    time_in_states,
    timeline,
    uptime,
)
from rtt_topology.analysis.liveness.reduced import prepare_history
from rtt_topology.errors import InputError
from rtt_topology.incidents.liveness import liveness_incidents
from rtt_topology.load import read_beacons
from rtt_topology.schemas import Profile

BASE = pd.Timestamp("2026-01-19T15:00:00Z")

#: Every liveness function that takes beacons, and whether it takes a window (else ``at``).
WINDOWED: dict[str, Callable[..., pd.DataFrame]] = {
    "timeline": timeline,
    "flips": flips,
    "downtime": downtime,
    "uptime": uptime,
    "time_in_states": time_in_states,
    "collector_gaps": collector_gaps,
}


def same(
    function: Callable[..., pd.DataFrame],
    beacons: pd.DataFrame,
    history: History,
    *args: Any,
    **options: Any,
) -> pd.DataFrame:
    """Run ``function`` on both engines, assert equal results, return the pandas one."""
    expected = function(beacons, *args, engine="pandas", **options)
    got = function(history, *args, engine="duckdb", **options)
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9)
    return expected


@pytest.fixture(scope="module", autouse=True)
def shared() -> Iterator[None]:
    """Derive periods, restarts and the reduced history once, as the report does."""
    with reuse():
        yield


# -- the demo -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_history(demo_beacons: pd.DataFrame) -> Iterator[History]:
    with History.from_frame(demo_beacons) as history:
        yield history


@pytest.mark.parametrize("name", sorted(WINDOWED))
@pytest.mark.parametrize("gaps", [True, False])
def test_demo_windowed_functions_agree(
    name: str,
    gaps: bool,
    demo_beacons: pd.DataFrame,
    demo_history: History,
    demo_profiles: dict[str, Profile],
) -> None:
    function = WINDOWED[name]
    options: dict[str, Any] = {} if name == "collector_gaps" else {"gaps": gaps}
    whole = same(function, demo_beacons, demo_history, demo_profiles, **options)
    assert len(whole) > 0
    lo, hi = demo_beacons["ts"].min(), demo_beacons["ts"].max()
    middle = lo + (hi - lo) * 0.37
    same(function, demo_beacons, demo_history, demo_profiles, start=middle, **options)
    same(function, demo_beacons, demo_history, demo_profiles, end=middle, **options)
    same(function, demo_beacons, demo_history, None, start=lo + (hi - lo) / 5, end=middle)


def test_demo_has_a_collector_gap(
    demo_beacons: pd.DataFrame, demo_history: History, demo_profiles: dict[str, Profile]
) -> None:
    gaps = same(collector_gaps, demo_beacons, demo_history, demo_profiles)
    assert len(gaps) >= 1
    # States inside the gap: its members are unknown on both engines.
    inside = gaps["start"].iloc[0] + (gaps["end"].iloc[0] - gaps["start"].iloc[0]) / 2
    table = same(states, demo_beacons, demo_history, demo_profiles, at=inside)
    assert "unknown" in set(table["state"].astype(str))


@pytest.mark.parametrize("fraction", [0.0, 0.13, 0.5, 0.77, 1.0])
def test_demo_states_agree(
    fraction: float,
    demo_beacons: pd.DataFrame,
    demo_history: History,
    demo_profiles: dict[str, Profile],
) -> None:
    lo, hi = demo_beacons["ts"].min(), demo_beacons["ts"].max()
    moment = lo + (hi - lo) * fraction
    table = same(states, demo_beacons, demo_history, demo_profiles, at=moment)
    assert set(table["site"]) >= set(demo_profiles)
    same(states, demo_beacons, demo_history, None, at=moment, gaps=False)


def test_demo_states_at_a_beacon_and_by_default(
    demo_beacons: pd.DataFrame, demo_history: History, demo_profiles: dict[str, Profile]
) -> None:
    same(states, demo_beacons, demo_history, demo_profiles)
    # Exactly on a beacon (ts <= at counts it), and just before it.
    moment = demo_beacons["ts"].iloc[len(demo_beacons) // 3]
    same(states, demo_beacons, demo_history, demo_profiles, at=moment)
    same(states, demo_beacons, demo_history, demo_profiles, at=moment - pd.Timedelta("1us"))


def test_demo_incidents_agree(
    demo_beacons: pd.DataFrame, demo_history: History, demo_profiles: dict[str, Profile]
) -> None:
    options: dict[str, Any] = {
        "start": None,
        "end": None,
        "min_outage_s": 0.0,
        "min_stop_s": 0.0,
        "flapping_restarts": 3,
        "flapping_window_s": 900.0,
    }
    expected = liveness_incidents(demo_beacons, demo_profiles, None, engine="pandas", **options)
    got = liveness_incidents(demo_history, demo_profiles, None, engine="duckdb", **options)
    assert got == expected
    assert {row["kind"] for row in expected} >= {"collector_gap", "outage"}


def test_the_reduced_history_is_small(
    demo_beacons: pd.DataFrame, demo_history: History, demo_profiles: dict[str, Profile]
) -> None:
    prep = prepare_history(demo_history, demo_profiles, None, 60.0, 0.1)
    # The first and last beacon of every service, silences and shutdowns: not every beacon.
    assert len(prep.ts) < len(demo_beacons) / 5
    assert len(prep.ts) >= 2 * int(prep.service.sum()) - int((~prep.declared).sum())
    assert (np.diff(prep.code) >= 0).all()


def test_an_unknown_engine_is_refused(demo_beacons: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="engine"):
        states(demo_beacons, engine="spark")  # type: ignore[arg-type]


def test_a_table_runs_on_duckdb_and_a_history_on_pandas(
    demo_beacons: pd.DataFrame, demo_history: History
) -> None:
    expected = uptime(demo_beacons, engine="pandas")
    pd.testing.assert_frame_equal(uptime(demo_beacons, engine="duckdb"), expected)
    pd.testing.assert_frame_equal(uptime(demo_history, engine="pandas"), expected)
    pd.testing.assert_frame_equal(uptime(demo_history), expected)


# -- random histories -----------------------------------------------------------------------


def random_history(
    seed: int, n_sites: int, gap_group: str, folder: Path
) -> tuple[pd.DataFrame, dict[str, Profile]]:
    """Sites with random periods, silences, shutdowns, restarts and a shared collector gap.

    The beacons are written to two collector files (some sites send to both) and
    read back. ``gap_group`` falls silent together for a while: ``"east"`` (the
    sites of ``east.jsonl``), ``"pods"`` (the even sites, whose profiles declare
    the cluster ``pods``) or ``""`` (nobody).
    """
    rng = np.random.default_rng(seed)
    files: dict[str, list[str]] = {"east.jsonl": [], "west.jsonl": []}
    profiles: dict[str, Profile] = {}
    horizon = 3 * 3600.0
    gap_start = rng.uniform(1800, 5400)
    gap = (gap_start, gap_start + rng.uniform(600, 2400))

    def add(source: str, site: str, session: str, event: str, t: float) -> None:
        stamp = BASE + pd.Timedelta(milliseconds=round(t * 1000))
        record = {"site": site, "session": session, "event": event, "ts": stamp.isoformat()}
        files[source].append(json.dumps(record))

    for i in range(n_sites):
        site = f"svc-{i}"
        period = float(rng.choice([10.0, 30.0, 60.0, 61.5]))
        home = "east.jsonl" if i % 3 else "west.jsonl"
        mixed = rng.random() < 0.2
        pod = i % 2 == 0
        if pod or rng.random() < 0.3:
            declared = period if rng.random() < 0.7 else None
            profiles[site] = Profile.model_validate(
                {"rtt_version": "1.0", "supports": [], "heartbeat_interval_s": declared}
                | ({"cluster": "pods"} if pod else {})
            )
        silent = (pod if gap_group == "pods" else home == "east.jsonl") and gap_group != ""
        session, t = 0, float(rng.uniform(0, period))
        while t < horizon:
            source = "west.jsonl" if mixed and rng.random() < 0.5 else home
            roll = rng.random()
            name = f"{site}-{session}"
            if silent and gap[0] <= t < gap[1]:
                pass
            elif roll < 0.01:  # a planned stop, then a new session
                add(source, site, name, "shutdown", t)
                side = rng.random()
                if side < 0.3:  # a beacon at the same moment, ordered before the shutdown
                    add(source, site, name, "heartbeat", t)
                elif side < 0.6:  # ... or after it
                    add(source, site, f"{site}-{session}~", "startup", t)
                t += rng.uniform(0, 900)
                session += 1
                add(source, site, f"{site}-{session}", "startup", t)
            elif roll < 0.04:  # a restart
                session += 1
                add(source, site, f"{site}-{session}", "startup", t)
            elif roll < 0.06:  # a silence
                t += rng.uniform(period, 12 * period)
                add(source, site, name, "heartbeat", t)
            else:
                add(source, site, name, "heartbeat", t)
                if roll > 0.99:  # another beacon at the same moment
                    add(source, site, name, "config_change", t)
            t += period + rng.normal(0, period * 0.03)
    for t in np.arange(0.0, horizon, 60.0):
        add("east.jsonl", "cluster-a", "c", "cluster_heartbeat", float(t))
    profiles["never-seen"] = Profile(rtt_version="1.0", supports=[], heartbeat_interval_s=30)
    for name, lines in files.items():
        (folder / name).write_text("\n".join(lines) + "\n")
    return read_beacons(folder, strict=True).beacons, profiles


def moments(beacons: pd.DataFrame, fractions: list[float]) -> list[pd.Timestamp]:
    lo, hi = beacons["ts"].min(), beacons["ts"].max()
    return [lo + (hi - lo) * f for f in fractions]


@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_sites=st.integers(3, 9),
    gap_group=st.sampled_from(["east", "pods", ""]),
    fractions=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=2),
    jitter=st.sampled_from([0.0, 0.1, 0.5]),
    grace_s=st.sampled_from([None, 0.0, 45.0]),
)
def test_random_histories_agree(
    seed: int,
    n_sites: int,
    gap_group: str,
    fractions: list[float],
    jitter: float,
    grace_s: float | None,
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        beacons, profiles = random_history(seed, n_sites, gap_group, Path(folder))
    with reuse(), History.from_frame(beacons) as history:
        check_random_history(beacons, history, profiles, fractions, jitter, grace_s)


def check_random_history(
    beacons: pd.DataFrame,
    history: History,
    profiles: dict[str, Profile],
    fractions: list[float],
    jitter: float,
    grace_s: float | None,
) -> None:
    first, second = sorted(moments(beacons, fractions))
    on_beacon = beacons["ts"].iloc[int(fractions[0] * (len(beacons) - 1))]
    common: dict[str, Any] = {"jitter": jitter, "grace_s": grace_s, "default_period_s": 45.0}
    for moment in (first, on_beacon, None):
        same(states, beacons, history, profiles, at=moment, **common)
    same(states, beacons, history, None, at=second, gaps=False, **common)
    windows: list[dict[str, Any]] = [{}, {"start": first, "end": second}]
    for window in windows[: 1 + (first < second)]:
        for function in WINDOWED.values():
            same(function, beacons, history, profiles, **window, **common)
        same(timeline, beacons, history, None, **window, gaps=False, **common)
        same(
            timeline, beacons, history, profiles, **window, **common,
            flapping_restarts=1, flapping_window_s=600.0,
        )  # fmt: skip
    same(time_in_states, beacons, history, profiles, bucket="17min", end=second, **common)


@pytest.mark.parametrize(("group", "grouping"), [("east", "source"), ("pods", "cluster")])
def test_a_shared_silence_is_one_gap_on_both_engines(
    group: str, grouping: str, tmp_path: Path
) -> None:
    beacons, profiles = random_history(1, 9, group, tmp_path)
    with History.from_frame(beacons) as history:
        gaps = same(collector_gaps, beacons, history, profiles)
        assert grouping in set(gaps["grouping"])
        inside = gaps["start"].iloc[0] + (gaps["end"].iloc[0] - gaps["start"].iloc[0]) / 2
        table = same(states, beacons, history, profiles, at=inside)
    assert "unknown" in set(table["state"].astype(str))
