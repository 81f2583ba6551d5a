from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtt_topology.analysis.cadence import CADENCE_COLUMNS, cadence, cadence_changes
from rtt_topology.columns import empty_beacon_frame
from rtt_topology.errors import InputError
from rtt_topology.load import beacons_from_records
from rtt_topology.schemas import Profile
from tests.builders import beacon_table

T0 = pd.Timestamp("2026-01-19T15:00:00Z")
BUCKET = pd.Timedelta("5min")


def beats(
    site: str,
    seconds: list[float] | np.ndarray,
    *,
    session: str = "s1",
    event: str = "heartbeat",
) -> list[dict[str, Any]]:
    return [
        {
            "site": site,
            "session": session,
            "event": event,
            "ts": (T0 + pd.Timedelta(seconds=float(s))).isoformat().replace("+00:00", "Z"),
        }
        for s in seconds
    ]


# --- the demo datacenter -------------------------------------------------------------


@pytest.mark.parametrize("with_profiles", [True, False])
def test_demo_slowdown_is_the_only_cadence_change(
    demo_beacons: pd.DataFrame,
    demo_profiles: dict[str, Profile],
    demo_incidents: dict[str, dict[str, Any]],
    with_profiles: bool,
) -> None:
    beacons = demo_beacons
    slow = demo_incidents["cadence_slowdown"]
    changes = cadence_changes(beacons, demo_profiles if with_profiles else None)
    # Deploys, crashes, the planned stop and the restart storm raise nothing.
    assert changes["site"].tolist() == slow["services"]
    episode = changes.iloc[0]
    assert abs(episode["start"] - pd.Timestamp(slow["start"])) <= BUCKET
    assert episode["direction"] == "slower"
    details = slow["details"]
    expected = details["period_after_s"] / details["period_before_s"]
    assert episode["ratio"] == pytest.approx(expected, rel=0.1)
    assert episode["end"] == beacons["ts"].max().floor("5min") + BUCKET


def test_demo_incidents_other_than_slowdown_keep_cadence(
    demo_beacons: pd.DataFrame,
    demo_profiles: dict[str, Profile],
    demo_truth: dict[str, Any],
    demo_incidents: dict[str, dict[str, Any]],
) -> None:
    table = cadence(demo_beacons, demo_profiles)
    disturbed = {d["service"] for d in demo_truth["deploys"]}
    for kind in ("crash", "planned_stop", "restart_storm"):
        disturbed.update(demo_incidents[kind]["services"])
    worst = table[table["site"].isin(disturbed)].groupby("site", observed=True)["cadence_drift"]
    assert (worst.max() < math.log2(1.5) / 4).all()


def test_demo_adherence_follows_the_slowdown(
    demo_beacons: pd.DataFrame,
    demo_profiles: dict[str, Profile],
    demo_incidents: dict[str, dict[str, Any]],
) -> None:
    slow = demo_incidents["cadence_slowdown"]
    table = cadence(demo_beacons, demo_profiles)
    site = table[table["site"] == slow["services"][0]]
    at = pd.Timestamp(slow["start"]).floor("5min")
    before = site[site["bucket"] < at - BUCKET]
    after = site[site["bucket"] > at + BUCKET]
    assert before["adherence"].median() > 0.9
    assert after["adherence"].median() == pytest.approx(46 / 153, abs=0.1)
    assert set(site["reference_s"]) == {float(slow["details"]["declared_interval_s"])}


def test_demo_table_shape(demo_beacons: pd.DataFrame, demo_profiles: dict[str, Profile]) -> None:
    beacons = demo_beacons
    before = beacons.copy()
    table = cadence(beacons, demo_profiles)
    pd.testing.assert_frame_equal(beacons, before)
    assert tuple(table.columns) == CADENCE_COLUMNS
    sites = beacons["site"].nunique()
    assert len(table) == sites * table["bucket"].nunique()
    assert table["bucket"].dtype == pd.DatetimeTZDtype("ns", "UTC")
    assert isinstance(table["site"].dtype, pd.CategoricalDtype)
    assert table["beacons"].sum() == len(beacons)
    assert table["adherence"].dropna().between(0, 1).all()


# --- hand-made tables -----------------------------------------------------------------


def test_regular_heartbeats() -> None:
    table = cadence(beacon_table(beats("api", np.arange(0, 600, 30))))
    assert table["bucket"].tolist() == [T0, T0 + BUCKET]
    assert table["heartbeats"].tolist() == [10, 10]
    assert table["median_interval_s"].tolist() == [30.0, 30.0]
    assert table["p95_interval_s"].tolist() == [30.0, 30.0]
    assert table["period_s"].tolist() == [30.0, 30.0]
    assert table["reference_s"].tolist() == [30.0, 30.0]
    assert table["adherence"].tolist() == [1.0, 1.0]
    assert table["cadence_drift"].tolist() == [0.0, 0.0]


def test_expected_counts_from_the_first_beacon() -> None:
    rows = beats("api", np.arange(0, 600, 30)) + beats("late", np.arange(150, 600, 30))
    table = cadence(beacon_table(rows))
    late = table[table["site"] == "late"]
    # The window ends just after the last beacon (15:09:30): 270 s of the last bucket.
    assert late["expected"].tolist() == pytest.approx([5.0, 9.0])
    assert late["adherence"].tolist() == [1.0, 1.0]


def test_nothing_expected_before_a_site_starts() -> None:
    rows = beats("api", np.arange(0, 900, 30)) + beats("new", np.arange(600, 900, 30))
    table = cadence(beacon_table(rows))
    new = table[table["site"] == "new"]
    assert new["expected"].tolist() == pytest.approx([0.0, 0.0, 9.0])
    assert new["adherence"].isna().tolist() == [True, True, False]


def test_declared_interval_is_period_and_reference() -> None:
    declared = {"api": Profile(rtt_version="1.0", supports=[], heartbeat_interval_s=15)}
    table = cadence(beacon_table(beats("api", np.arange(0, 600, 30))), declared)
    assert table["period_s"].tolist() == [15.0, 15.0]
    assert table["expected"].tolist() == pytest.approx([20.0, 18.0])
    assert table["adherence"].tolist() == pytest.approx([0.5, 10 / 18])
    assert table["ratio"].tolist() == [2.0, 2.0]
    assert table["cadence_drift"].tolist() == [1.0, 1.0]


def test_no_interval_across_a_restart() -> None:
    rows = beats("api", [0, 30, 60, 90])
    # A new session after 200 s, opened by a startup: the gap is no interval.
    rows += beats("api", [290], session="s2", event="startup")
    rows += beats("api", [300, 330, 360], session="s2")
    # A startup inside a session also cuts it.
    rows += beats("api", [500], session="s2", event="startup")
    rows += beats("api", [510, 540], session="s2")
    table = cadence(beacon_table(rows))
    assert table["max_interval_s"].tolist() == [30.0, 30.0]
    assert table["heartbeats"].tolist() == [4, 5]


def test_overlapping_sessions_are_measured_apart() -> None:
    # Blue-green: two processes beacon every 60 s, 30 s apart.
    rows = beats("api", np.arange(0, 600, 60), session="blue")
    rows += beats("api", np.arange(30, 600, 60), session="green")
    table = cadence(beacon_table(rows))
    assert set(table["median_interval_s"]) == {60.0}
    assert table["heartbeats"].tolist() == [10, 10]


def test_main_event_is_the_heartbeat() -> None:
    rows = beats("web", np.arange(0, 600, 60))
    rows += beats("web", np.arange(5, 600, 20), session="visitor", event="page_load")
    rows += beats("web", np.arange(7, 600, 20), session="visitor", event="nav")
    table = cadence(beacon_table(rows))
    # page_load is the most frequent event here: it is the one measured.
    assert table["median_interval_s"].tolist() == [20.0, 20.0]
    assert table["beacons"].sum() == len(rows)


def test_reference_is_the_first_hour() -> None:
    seconds = np.concatenate([np.arange(0, 3600, 30), 3600 + np.arange(0, 3600, 60)])
    table = cadence(beacon_table(beats("api", seconds)))
    assert set(table["reference_s"]) == {30.0}
    changes = cadence_changes(beacon_table(beats("api", seconds)))
    assert changes["start"].tolist() == [T0 + pd.Timedelta("1h")]
    assert changes["direction"].tolist() == ["slower"]
    assert changes["ratio"].tolist() == [2.0]
    assert changes["buckets"].tolist() == [12]


def test_reference_window_length() -> None:
    # 60 s for half an hour, then 30 s: the first hour's median is 30 s, its first 20 min 60 s.
    seconds = np.concatenate([np.arange(0, 1800, 60), 1800 + np.arange(0, 5400, 30)])
    beacons = beacon_table(beats("api", seconds))
    assert set(cadence(beacons)["reference_s"]) == {30.0}
    assert set(cadence(beacons, reference_s=1200)["reference_s"]) == {60.0}
    # Too few intervals in the window: the period (median of all intervals) is used.
    assert set(cadence(beacons, reference_s=60)["reference_s"]) == {30.0}


def test_faster_cadence() -> None:
    seconds = np.concatenate([np.arange(0, 1800, 60), 1800 + np.arange(0, 1800, 20)])
    changes = cadence_changes(beacon_table(beats("api", seconds)), reference_s=1800)
    assert changes["direction"].tolist() == ["faster"]
    assert changes["ratio"].tolist() == [pytest.approx(1 / 3)]


def test_one_odd_bucket_is_not_an_episode() -> None:
    # One bucket at 90 s, between two stretches at 30 s.
    seconds = np.concatenate(
        [np.arange(0, 1800, 30), [1890, 1980, 2070], np.arange(2100, 3600, 30)]
    )
    assert cadence_changes(beacon_table(beats("api", seconds)), reference_s=1800).empty
    assert len(cadence_changes(beacon_table(beats("api", seconds)), min_buckets=1)) == 1


def test_slow_period_longer_than_a_bucket_is_still_one_episode() -> None:
    # 400 s between beacons: some 5-minute buckets see no interval end; they do not break it.
    seconds = np.concatenate([np.arange(0, 1800, 30), 1800 + np.arange(0, 4000, 400)])
    changes = cadence_changes(beacon_table(beats("api", seconds)), reference_s=1800)
    assert len(changes) == 1
    assert changes["ratio"].iloc[0] == pytest.approx(400 / 30)


def test_threshold() -> None:
    seconds = np.concatenate([np.arange(0, 1800, 30), 1800 + np.arange(0, 1800, 40)])
    table = beacon_table(beats("api", seconds))
    assert cadence_changes(table, reference_s=1800).empty  # 33 % slower: within 1.5
    assert len(cadence_changes(table, reference_s=1800, threshold=1.25)) == 1


def test_a_collector_gap_is_no_interval() -> None:
    # Three services of one collector file, silent together for 20 min in the same sessions:
    # their beacons were lost, not late. A fourth one, silent alone, keeps its long interval.
    seconds = np.concatenate([np.arange(0, 1800, 30), np.arange(3000, 4800, 30)])
    rows = [row for site in ("a", "b", "c") for row in beats(site, seconds)]
    rows += beats("d", np.concatenate([np.arange(0, 600, 30), np.arange(1800, 4800, 30)]))
    beacons = beacons_from_records(rows, source="east.jsonl", strict=True).beacons
    table = cadence(beacons)
    longest = table.groupby("site", observed=True)["max_interval_s"].max()
    assert longest.to_dict() == {"a": 30.0, "b": 30.0, "c": 30.0, "d": 1230.0}
    assert cadence_changes(beacons).empty


# --- when a change starts: to the heartbeat, not the bucket -----------------------------


def test_change_starts_at_the_first_slow_interval_not_at_its_bucket() -> None:
    # 40 s until 15:33:20, then 130 s: the 5-minute bucket that turns slow starts at 15:35
    # or 15:40; the change began with the heartbeat at 2000 s.
    seconds = np.concatenate([np.arange(0, 2001, 40), 2000 + np.arange(130, 5000, 130)])
    changes = cadence_changes(beacon_table(beats("api", seconds)), reference_s=1800)
    assert changes["start"].tolist() == [T0 + pd.Timedelta(seconds=2000)]
    assert changes["end"].iloc[0] > changes["start"].iloc[0] + BUCKET


def test_faster_change_starts_at_the_first_fast_interval() -> None:
    seconds = np.concatenate([np.arange(0, 2101, 60), 2100 + np.arange(20, 1800, 20)])
    changes = cadence_changes(beacon_table(beats("api", seconds)), reference_s=1800)
    assert changes["direction"].tolist() == ["faster"]
    assert changes["start"].tolist() == [T0 + pd.Timedelta(seconds=2100)]


def test_a_late_beacon_before_a_change_does_not_move_its_start() -> None:
    # One beacon 80 s late at 1900 s (a GC pause), then on time, then 130 s from 2000 s:
    # the split that leaves fewest disagreeing intervals is still at 2000 s.
    early = [s for s in np.arange(0, 2001, 40) if s != 1880] + [1900 + 60]
    seconds = np.sort(np.concatenate([early, 2000 + np.arange(130, 5000, 130)]))
    changes = cadence_changes(beacon_table(beats("api", seconds)), reference_s=1800)
    assert changes["start"].tolist() == [T0 + pd.Timedelta(seconds=2000)]


def test_change_start_is_at_most_one_bucket_before_the_first_off_bucket() -> None:
    rng = np.random.default_rng(4)
    slow = 2000 + np.cumsum(rng.uniform(110, 150, 40))
    fast = np.cumsum(rng.uniform(34, 46, 60))
    seconds = np.concatenate([fast[fast < 2000], slow])
    beacons = beacon_table(beats("api", seconds))
    [change] = cadence_changes(beacons, reference_s=1800).to_dict("records")
    table = cadence(beacons, reference_s=1800)
    first_off = table[table["cadence_drift"] > np.log2(1.5)]["bucket"].min()
    assert first_off - BUCKET <= change["start"] <= first_off + BUCKET
    # The last beacon before the change opens the first slow interval: within one interval.
    assert abs((change["start"] - T0).total_seconds() - 2000) <= 46


def test_window_and_buckets() -> None:
    beacons = beacon_table(beats("api", np.arange(0, 3600, 30)))
    table = cadence(beacons, start="2026-01-19T15:10:00Z", end="2026-01-19T15:40:00+00:00")
    assert table["bucket"].min() == T0 + pd.Timedelta("10min")
    assert table["bucket"].max() == T0 + pd.Timedelta("35min")
    hourly = cadence(beacons, bucket="1h")
    assert hourly["heartbeats"].tolist() == [120]
    # A window start inside a bucket: only the part inside is expected.
    part = cadence(beacons, start="2026-01-19T15:02:30Z", end="2026-01-19T15:05:00Z")
    assert part["expected"].tolist() == [5.0]
    assert part["heartbeats"].tolist() == [5]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bucket": "1M"}, "fixed duration"),
        ({"bucket": "0s"}, "positive"),
        ({"start": "2026-01-19T15:00:00"}, "timezone-aware"),
        ({"start": "soon"}, "not a timestamp"),
        ({"start": "2026-01-19T16:00:00Z", "end": "2026-01-19T15:00:00Z"}, "before end"),
        ({"reference_s": 0}, "reference_s"),
    ],
)
def test_bad_options(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        cadence(beacon_table(beats("api", [0, 30])), **kwargs)


@pytest.mark.parametrize(("kwargs", "message"), [({"threshold": 1}, ">"), ({"min_buckets": 0}, "")])
def test_bad_change_options(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError):
        cadence_changes(beacon_table(beats("api", [0, 30])), **kwargs)


def test_empty_table() -> None:
    table = cadence(empty_beacon_frame())
    assert tuple(table.columns) == CADENCE_COLUMNS
    assert table.empty
    changes = cadence_changes(empty_beacon_frame())
    assert changes.empty
    assert changes.columns.tolist() == [
        "site", "start", "end", "buckets", "reference_s", "observed_s", "ratio", "direction",
    ]  # fmt: skip


def test_unsorted_and_filtered_tables() -> None:
    rows = beats("a", np.arange(0, 600, 30)) + beats("b", np.arange(10, 600, 45))
    beacons = beacon_table(rows)
    expected = cadence(beacons)
    shuffled = beacons.sample(frac=1.0, random_state=1)
    pd.testing.assert_frame_equal(cadence(shuffled), expected)
    # Rows of a site removed (coherence drops clusters): its unused category is no row.
    only_b = cadence(beacons[beacons["site"] == "b"])
    assert set(only_b["site"]) == {"b"}
    pd.testing.assert_frame_equal(
        only_b.reset_index(drop=True),
        expected[expected["site"] == "b"]
        .reset_index(drop=True)
        .assign(site=lambda t: t["site"].cat.remove_unused_categories()),
    )


# --- properties -----------------------------------------------------------------------

EVENTS = ["heartbeat", "heartbeat", "heartbeat", "startup", "shutdown", "page_load"]


@st.composite
def random_beacons(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 60))
    rows = []
    for _ in range(n):
        rows += beats(
            draw(st.sampled_from(["a", "b", "c"])),
            [draw(st.integers(0, 3 * 3600))],
            session=draw(st.sampled_from(["s1", "s2"])),
            event=draw(st.sampled_from(EVENTS)),
        )
    return beacon_table(rows)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(beacons=random_beacons(), bucket=st.sampled_from(["1min", "5min", "1h"]))
def test_adherence_in_unit_interval(beacons: pd.DataFrame, bucket: str) -> None:
    table = cadence(beacons, bucket=bucket)
    adherence = table["adherence"].dropna()
    assert ((adherence >= 0) & (adherence <= 1)).all()
    assert (table["cadence_drift"].dropna() >= 0).all()
    assert table["heartbeats"].le(table["beacons"]).all()
    assert table["beacons"].sum() == len(beacons)
    assert len(table) == beacons["site"].nunique() * table["bucket"].nunique()
    # Adherence exists exactly where something is expected.
    assert table["adherence"].notna().equals(table["expected"] > 0)
