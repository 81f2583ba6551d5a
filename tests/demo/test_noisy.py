"""Tests of the noisy history generator (rtt_topology.demo.noisy): the noise it promises."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rtt_topology import read_beacons, read_profiles
from rtt_topology.demo.collector import SHUFFLE_LINES
from rtt_topology.demo.noisy import (
    CLOCK_AHEAD_S,
    COLLECTOR_GAP_S,
    DECLARED_PERIOD_S,
    JITTER,
    TRUTH_COLUMNS,
    NoisyHistory,
    read_truth,
    write_noisy_history,
)
from rtt_topology.demo.scenario import DEFAULT_START
from rtt_topology.errors import InputError
from rtt_topology.load import BeaconLoad

HOURS = 4.0


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> NoisyHistory:
    return write_noisy_history(tmp_path_factory.mktemp("noisy"), services=20, hours=HOURS, seed=5)


@pytest.fixture(scope="module")
def loaded(history: NoisyHistory) -> BeaconLoad:
    return read_beacons(history.beacon_files)


def _incident_sites(history: NoisyHistory) -> set[str]:
    return {site for sites in history.truth["sites"] for site in sites}


def test_same_arguments_same_bytes(history: NoisyHistory, tmp_path: Path) -> None:
    again = write_noisy_history(tmp_path, services=20, hours=HOURS, seed=5)
    for a, b in zip(history.beacon_files, again.beacon_files, strict=True):
        assert a.read_bytes() == b.read_bytes()
    assert history.profiles_file.read_bytes() == again.profiles_file.read_bytes()
    other = write_noisy_history(tmp_path / "other", services=20, hours=HOURS, seed=6)
    assert other.beacon_files[0].read_bytes() != history.beacon_files[0].read_bytes()


def test_the_load_accounts_for_every_line(history: NoisyHistory, loaded: BeaconLoad) -> None:
    report = loaded.report
    assert report.accepted + report.rejected == report.read
    assert report.read == history.beacons + history.malformed
    assert report.rejected == history.malformed == 3
    assert {r.source.rsplit("/", 1)[-1] for r in report.rejects} == {"collector-a.jsonl"}
    # Every retry is an exact copy: the loader collapses each one.
    assert report.duplicates == history.duplicates
    assert 0.002 < history.duplicates / history.beacons < 0.01


def test_files_are_only_roughly_ordered(history: NoisyHistory) -> None:
    for path in history.beacon_files:
        stamps = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                stamps.append(pd.Timestamp(json.loads(line)["ts"]).value)
            except (ValueError, KeyError):
                continue  # the malformed lines
        stamps_arr = np.asarray(stamps)
        assert (np.diff(stamps_arr) < 0).any(), path.name
        # Each line stays near its place in time order (retries land a few lines on).
        rank = np.argsort(np.argsort(stamps_arr, kind="stable"), kind="stable")
        assert np.abs(rank - np.arange(len(rank))).max() <= SHUFFLE_LINES + 8


def test_heartbeats_keep_their_period_within_the_jitter(
    history: NoisyHistory, loaded: BeaconLoad
) -> None:
    beacons = loaded.beacons
    quiet = set(history.periods) - _incident_sites(history) - {history.roles["clock"]}
    seen = []
    for site in sorted(quiet):
        rows = beacons[(beacons["site"] == site) & (beacons["event"] == "heartbeat")]
        for _, group in rows.groupby("session", observed=True):
            gaps = group["ts"].diff().dt.total_seconds().dropna().to_numpy()
            seen.append(gaps / history.periods[site])
            # Whole-second stamps move an interval by at most one second.
            slack = 1 / history.periods[site]
            assert gaps.size == 0 or (gaps / history.periods[site]).min() >= 1 - JITTER - slack
            assert gaps.size == 0 or (gaps / history.periods[site]).max() <= 1 + JITTER + slack
    ratios = np.concatenate(seen)
    assert ratios.min() < 1 - 0.9 * JITTER
    assert ratios.max() > 1 + 0.9 * JITTER
    assert all(30 <= p <= 60 for s, p in history.periods.items() if s != history.roles["slow"])


def test_one_clock_runs_ahead(history: NoisyHistory, loaded: BeaconLoad) -> None:
    beacons = loaded.beacons
    end = pd.Timestamp(DEFAULT_START) + pd.Timedelta(hours=HOURS)
    last = beacons.groupby("site", observed=True)["ts"].max()
    clock = history.roles["clock"]
    # Only a clock ahead stamps beacons after the window: by up to 90 s.
    assert end < last[clock] <= end + pd.Timedelta(seconds=CLOCK_AHEAD_S)
    assert (last.drop(clock) < end).all()


def test_one_service_declares_a_long_period_and_keeps_it(
    history: NoisyHistory, loaded: BeaconLoad
) -> None:
    profiles = read_profiles(history.profiles_file).profiles
    slow = history.roles["slow"]
    assert profiles[slow].heartbeat_interval_s == DECLARED_PERIOD_S
    assert [s for s, p in profiles.items() if p.heartbeat_interval_s] == [slow]
    beacons = loaded.beacons
    ts = beacons[(beacons["site"] == slow) & (beacons["event"] == "heartbeat")]["ts"]
    assert ts.diff().dt.total_seconds().median() == pytest.approx(DECLARED_PERIOD_S, rel=0.05)


def test_the_collector_gap_silences_one_file_together(
    history: NoisyHistory, loaded: BeaconLoad
) -> None:
    [gap] = history.truth[history.truth["kind"] == "collector_gap"].to_dict("records")
    members = history.roles["collector_gap"]
    assert gap["sites"] == sorted(members)
    assert gap["end"] - gap["start"] == pd.Timedelta(seconds=COLLECTOR_GAP_S)
    lines = history.beacon_files[2].read_text(encoding="utf-8").splitlines()
    assert {json.loads(line)["site"] for line in lines} == set(members)
    beacons = loaded.beacons
    for site in members:
        rows = beacons[beacons["site"] == site]
        assert not rows["ts"].between(gap["start"], gap["end"], inclusive="left").any()
        before = rows[rows["ts"] < gap["start"]]["session"].iloc[-1]
        after = rows[rows["ts"] >= gap["end"]]["session"].iloc[0]
        # The services kept running: the same sessions on both sides.
        assert before == after


def test_truth_table(history: NoisyHistory) -> None:
    truth = history.truth
    assert tuple(truth.columns) == TRUTH_COLUMNS
    assert sorted(truth["kind"]) == sorted(
        ["outage", "restart_storm", "intermittent", "planned_stop", "cadence_change",
         "structural_drift", "collector_gap", "quarantined_records"]
    )  # fmt: skip
    assert str(truth["start"].dtype) == "datetime64[ns, UTC]"
    pd.testing.assert_frame_equal(read_truth(history.truth_file), truth)
    # The crashed service's callers play no part: they must stay healthy.
    callers = set(history.roles["callers"])
    assert callers
    assert not callers & _incident_sites(history)
    profiles = json.loads(history.profiles_file.read_text(encoding="utf-8"))
    [crashed] = truth[truth["kind"] == "outage"]["sites"]
    assert {c for c, p in profiles.items() if crashed[0] in p["depends_on"]} == callers


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"services": 15}, "services"),
        ({"hours": 2}, "hours"),
        ({"start": datetime(2026, 1, 19)}, "timezone-aware"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        write_noisy_history(tmp_path, **kwargs)  # type: ignore[arg-type]
