from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtt_topology.aggregate.history import restarts as history_restarts
from rtt_topology.analysis.liveness import (
    STATE_DTYPE,
    STATES,
    downtime,
    flips,
    restarts,
    states,
    time_in_states,
    timeline,
    uptime,
)
from rtt_topology.columns import empty_beacon_frame
from rtt_topology.errors import InputError
from rtt_topology.schemas import Profile
from tests.builders import beacon_table

BASE = pd.Timestamp("2026-01-19T15:00:00Z")
FIVE_MIN = pd.Timedelta(minutes=5)


def at(seconds: float) -> pd.Timestamp:
    return BASE + pd.Timedelta(seconds=seconds)


def table(*rows: tuple[str, str, str, float]) -> pd.DataFrame:
    """A beacon table from (site, session, event, seconds after BASE) rows."""
    return beacon_table(
        {"site": site, "session": session, "event": event, "ts": at(t).isoformat()}
        for site, session, event, t in rows
    )


def profile(period_s: float | None = None) -> Profile:
    return Profile(rtt_version="1.0", supports=[], heartbeat_interval_s=period_s)


def heartbeats(
    site: str, times: list[float], session: str = "s1"
) -> list[tuple[str, str, str, float]]:
    return [(site, session, "heartbeat", t) for t in times]


def state_of(frame: pd.DataFrame, site: str) -> str:
    return str(frame.set_index("site").loc[site, "state"])


# -- states ---------------------------------------------------------------------------------


def test_states_vocabulary_is_ordered() -> None:
    assert STATES == ("up", "late", "flapping", "down", "unknown", "stopped", "missing")
    assert list(STATE_DTYPE.categories) == list(STATES)
    assert STATE_DTYPE.ordered


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (60, "up"),  # the last beacon itself
        (119.999, "up"),
        (120, "late"),  # age == period: late (half-open, as healthchecks.io)
        (179.999, "late"),
        (180, "down"),  # age == period + grace
        (10_000, "down"),
    ],
)
def test_state_boundaries(seconds: float, expected: str) -> None:
    beacons = table(*heartbeats("api", [0, 60]))
    result = states(beacons, {"api": profile(60)}, at=at(seconds), jitter=0)
    assert state_of(result, "api") == expected


def test_states_columns_and_values() -> None:
    beacons = table(
        *heartbeats("api", [0, 30, 60]),
        ("db", "s2", "startup", 0),
        ("db", "s2", "shutdown", 40),
        *heartbeats("stray", [0, 10, 20, 30]),
        ("dc-east", "dc", "cluster_heartbeat", 0),
        ("dc-east", "dc", "cluster_heartbeat", 30),
    )
    declared = {"api": profile(30), "db": profile(), "ghost": profile(10)}
    result = states(beacons, declared, at=at(75))
    assert result.columns.tolist() == [
        "site", "state", "undeclared", "period_s", "period_from", "grace_s", "last_seen",
        "last_event", "age_s", "restarts_in_window", "sessions",
    ]  # fmt: skip
    assert result["site"].tolist() == ["api", "db", "ghost", "stray"]  # no cluster
    assert result["state"].dtype == STATE_DTYPE
    assert result["state"].astype(str).tolist() == ["up", "stopped", "missing", "down"]
    assert result["undeclared"].tolist() == [False, False, False, True]
    assert result["period_from"].tolist() == ["declared", "default", "declared", "inferred"]
    assert result["period_s"].tolist() == [30.0, 60.0, 10.0, 10.0]
    assert result["grace_s"].tolist() == [30.0, 60.0, 10.0, 10.0]
    assert result["age_s"].iloc[[0, 1, 3]].tolist() == [15.0, 35.0, 45.0]
    assert np.isnan(result["age_s"].iloc[2])
    assert result["last_seen"].iloc[0] == at(60)
    assert pd.isna(result["last_seen"].iloc[2])
    assert result["last_event"].iloc[1] == "shutdown"
    assert pd.isna(result["last_event"].iloc[2])
    assert result["sessions"].tolist() == [1, 1, 0, 1]
    assert result["restarts_in_window"].dtype == np.int64


def test_states_in_the_past_ignore_later_beacons() -> None:
    beacons = table(*heartbeats("api", [0, 60, 120]), ("api", "s1", "shutdown", 130))
    declared = {"api": profile(60), "late-comer": profile(60)}
    assert state_of(states(beacons, declared), "api") == "stopped"
    past = states(beacons, declared, at=at(60))
    assert state_of(past, "api") == "up"
    assert past.set_index("site").loc["api", "last_event"] == "heartbeat"
    # Declared but not seen *yet* is missing; undeclared and not seen yet is not listed.
    early = table(
        *heartbeats("api", [0]), *heartbeats("late-comer", [100]), *heartbeats("x", [100])
    )
    result = states(early, declared, at=at(50))
    assert state_of(result, "late-comer") == "missing"
    assert "x" not in result["site"].tolist()


def test_states_without_profiles() -> None:
    beacons = table(*heartbeats("api", [0, 60, 120]))
    result = states(beacons)
    assert result["undeclared"].isna().all()
    assert str(result["undeclared"].dtype) == "boolean"
    assert (result["state"] != "missing").all()
    assert result["period_from"].tolist() == ["default"]


def test_grace_override() -> None:
    beacons = table(*heartbeats("api", [0]))
    assert state_of(states(beacons, {"api": profile(60)}, at=at(61), grace_s=0), "api") == "down"
    result = states(beacons, {"api": profile(60)}, at=at(500), grace_s=600)
    assert state_of(result, "api") == "late"
    assert result["grace_s"].tolist() == [600.0]


def restart_rows(site: str, times: list[float]) -> list[tuple[str, str, str, float]]:
    return [(site, f"s{i}", "startup", t) for i, t in enumerate(times)]


def test_flapping_overrides_up_and_late_only() -> None:
    # Five sessions: four restarts at 10, 20, 30, 40 s.
    beacons = table(*restart_rows("api", [0, 10, 20, 30, 40]))
    declared = {"api": profile(60)}
    assert state_of(states(beacons, declared, at=at(35)), "api") == "up"  # three restarts
    flapping = states(beacons, declared, at=at(45))
    assert state_of(flapping, "api") == "flapping"
    assert flapping["restarts_in_window"].tolist() == [4]
    assert state_of(states(beacons, declared, at=at(110)), "api") == "flapping"  # late + flapping
    assert state_of(states(beacons, declared, at=at(200)), "api") == "down"  # down wins
    # The window slides: 900 s after the first restart only three remain.
    assert states(beacons, declared, at=at(911))["restarts_in_window"].tolist() == [3]
    assert state_of(states(beacons, declared, at=at(45), flapping_restarts=4), "api") == "up"


def test_restarts_is_the_history_function() -> None:
    assert restarts is history_restarts


@pytest.mark.parametrize(
    "kwargs",
    [
        {"grace_s": -1},
        {"flapping_restarts": -1},
        {"flapping_window_s": 0},
        {"at": "2026-01-19T15:00:00"},
        {"at": "yesterday-ish"},
        {"default_period_s": 0},
    ],
)
def test_bad_options(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        states(table(*heartbeats("api", [0])), **kwargs)


def test_not_a_beacon_table() -> None:
    with pytest.raises(InputError, match="not a beacon table"):
        timeline(pd.DataFrame({"site": ["a"]}))


def test_empty_inputs() -> None:
    empty = empty_beacon_frame()
    assert states(empty).empty
    missing = states(empty, {"api": profile(30)})
    assert missing["state"].astype(str).tolist() == ["missing"]
    assert timeline(empty).empty
    assert flips(empty).empty
    assert downtime(empty).empty
    assert time_in_states(empty).empty
    assert uptime(empty, {"api": profile(30)})["uptime_pct"].isna().all()
    window = {"start": at(0), "end": at(60)}
    rows = timeline(empty, {"api": profile(30)}, **window)
    assert rows["state"].astype(str).tolist() == ["missing"]


# -- timeline and what derives from it --------------------------------------------------------


def test_timeline_segments() -> None:
    beacons = table(
        *heartbeats("api", [0, 50, 100, 250]),
        ("api", "s1", "shutdown", 260),
        ("api", "s2", "startup", 400),
        *heartbeats("db", [100, 160]),
    )
    declared = {"api": profile(60), "db": profile(60), "ghost": profile(60)}
    result = timeline(beacons, declared, end=at(450), jitter=0)
    rows = [(r.site, (r.start - BASE).total_seconds(), (r.end - BASE).total_seconds(), r.state)
            for r in result.itertuples()]  # fmt: skip
    assert rows == [
        ("api", 0, 160, "up"),
        ("api", 160, 220, "late"),
        ("api", 220, 250, "down"),
        ("api", 250, 260, "up"),
        ("api", 260, 400, "stopped"),
        ("api", 400, 450, "up"),
        ("db", 100, 220, "up"),
        ("db", 220, 280, "late"),
        ("db", 280, 450, "down"),
        ("ghost", 0, 450, "missing"),
    ]
    assert result["site"].dtype == "category"
    assert str(result["start"].dtype) == "datetime64[ns, UTC]"


def test_timeline_window_keeps_the_state_set_before_it() -> None:
    beacons = table(*heartbeats("api", [0, 60]), *heartbeats("db", [0, 60, 120, 180, 240]))
    declared = {"api": profile(60), "db": profile(60)}
    result = timeline(beacons, declared, start=at(200), end=at(300), jitter=0)
    rows = [(r.site, (r.start - BASE).total_seconds(), r.state) for r in result.itertuples()]
    assert rows == [("api", 200, "down"), ("db", 200, "up")]
    assert (result["end"] == at(300)).all()
    with pytest.raises(InputError, match="start must not be after end"):
        timeline(beacons, start=at(10), end=at(5))


def test_timeline_flapping_overlay() -> None:
    beacons = table(*restart_rows("api", [0, 10, 20, 30, 40]), *heartbeats("api", [80, 130], "s4"))
    result = timeline(beacons, {"api": profile(60)}, end=at(1100), jitter=0)
    rows = [((r.start - BASE).total_seconds(), (r.end - BASE).total_seconds(), r.state)
            for r in result.itertuples()]  # fmt: skip
    # Four restarts from 10 s to 40 s: flapping from 40 s until 10 + 900 s, except while down.
    assert rows == [(0, 40, "up"), (40, 250, "flapping"), (250, 1100, "down")]


def test_flips_downtime_and_uptime() -> None:
    beacons = table(
        *heartbeats("api", [0, 60, 300]),
        ("api", "s1", "shutdown", 330),
        ("api", "s2", "startup", 400),
        *heartbeats("api", [460], "s2"),
    )
    declared = {"api": profile(60)}
    window = {"start": at(0), "end": at(700)}
    changes = flips(beacons, declared, **window, jitter=0)
    assert [
        ((r.ts - BASE).total_seconds(), r.from_state, r.to_state) for r in changes.itertuples()
    ] == [
        (120, "up", "late"),
        (180, "late", "down"),
        (300, "down", "up"),
        (330, "up", "stopped"),
        (400, "stopped", "up"),
        (520, "up", "late"),
        (580, "late", "down"),
    ]
    episodes = downtime(beacons, declared, **window, jitter=0)
    assert episodes["kind"].tolist() == ["crash", "planned", "crash"]
    assert episodes["start"].tolist() == [at(180), at(330), at(580)]
    assert episodes["end"].iloc[0] == at(300)
    assert pd.isna(episodes["end"].iloc[2])  # still down at the window end
    assert episodes["duration_s"].tolist() == [120.0, 70.0, 120.0]
    assert episodes["last_beacon"].tolist() == [at(60), at(330), at(460)]
    assert episodes["last_event"].tolist() == ["heartbeat", "shutdown", "heartbeat"]
    totals = uptime(beacons, declared, **window, jitter=0).iloc[0].to_dict()
    assert totals == {
        "site": "api", "up_s": 270.0, "late_s": 120.0, "flapping_s": 0.0, "down_s": 240.0,
        "stopped_s": 70.0, "unknown_s": 0.0, "uptime_pct": pytest.approx(390 / 630 * 100),
    }  # fmt: skip


def test_downtime_keeps_the_episode_start_before_the_window() -> None:
    beacons = table(*heartbeats("api", [0, 1000]))
    episodes = downtime(beacons, {"api": profile(60)}, start=at(500), end=at(1050), jitter=0)
    assert episodes["start"].tolist() == [at(120)]
    assert episodes["end"].tolist() == [at(1000)]
    assert episodes["site"].dtype == "category"


def test_time_in_states_buckets() -> None:
    beacons = table(*heartbeats("api", [90, 400]))
    result = time_in_states(
        beacons, {"api": profile(60), "ghost": profile(60)}, start=at(30), end=at(600),
        bucket="5min", jitter=0,
    )  # fmt: skip
    assert result.columns.tolist() == [
        "site",
        "bucket",
        "up_s",
        "late_s",
        "flapping_s",
        "down_s",
        "stopped_s",
        "unknown_s",
    ]
    assert result["bucket"].tolist() == [at(0), at(300)] * 2
    api = result[result["site"] == "api"]
    assert api["up_s"].tolist() == [60.0, 60.0]
    assert api["late_s"].tolist() == [60.0, 60.0]
    assert api["down_s"].tolist() == [90.0, 180.0]
    assert api["unknown_s"].tolist() == [60.0, 0.0]
    ghost = result[result["site"] == "ghost"]
    assert ghost["unknown_s"].tolist() == [270.0, 300.0]
    with pytest.raises(InputError, match="fixed duration"):
        time_in_states(beacons, bucket="MS")
    with pytest.raises(InputError, match="positive"):
        time_in_states(beacons, bucket="0s")


def test_functions_do_not_mutate_their_inputs() -> None:
    beacons = table(*heartbeats("api", [0, 100]), *restart_rows("db", [0, 5, 10, 15, 20]))
    declared = {"api": profile(30)}
    before, before_profiles = beacons.copy(deep=True), dict(declared)
    for function in (states, timeline, flips, downtime, uptime, time_in_states):
        function(beacons, declared)
    pd.testing.assert_frame_equal(beacons, before)
    assert declared == before_profiles


# -- properties -------------------------------------------------------------------------------

EVENTS = ["heartbeat", "heartbeat", "heartbeat", "startup", "shutdown", "page_load"]
row_strategy = st.tuples(
    st.sampled_from(["a", "b", "c"]),
    st.sampled_from(["s1", "s2", "s3"]),
    st.sampled_from(EVENTS),
    st.integers(0, 1200).map(float),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(row_strategy, min_size=1, max_size=30),
    probes=st.lists(st.integers(-50, 1300), min_size=1, max_size=4),
    window=st.tuples(st.integers(-100, 600), st.integers(1, 1400)),
    grace=st.sampled_from([None, 0.0, 45.0]),
    declared=st.sets(st.sampled_from(["a", "b", "d"])),
)
def test_timeline_properties(
    rows: list[tuple[str, str, str, float]],
    probes: list[int],
    window: tuple[int, int],
    grace: float | None,
    declared: set[str],
) -> None:
    beacons = table(*rows)
    profiles = {name: profile(40.0 if name != "b" else None) for name in declared}
    start, end = at(window[0]), at(window[0] + window[1])
    options: dict[str, Any] = {"grace_s": grace, "flapping_restarts": 1, "flapping_window_s": 300}
    result = timeline(beacons, profiles, start=start, end=end, **options)
    assert set(result["state"].astype(str)) <= set(STATES)
    for _, rows_of_site in result.groupby("site", observed=True):
        assert (rows_of_site["start"] < rows_of_site["end"]).all()
        assert (
            rows_of_site["start"].iloc[1:].to_numpy() == rows_of_site["end"].iloc[:-1].to_numpy()
        ).all()
        assert (
            rows_of_site["state"].iloc[1:].to_numpy() != rows_of_site["state"].iloc[:-1].to_numpy()
        ).all()
        assert rows_of_site["start"].iloc[0] >= start
        assert rows_of_site["end"].iloc[-1] == end
    # The timeline agrees with the state at every moment it covers.
    for probe in probes:
        t = at(probe)
        covering = result[(result["start"] <= t) & (result["end"] > t)]
        if covering.empty:
            continue
        now = states(beacons, profiles, at=t, **options).set_index("site")["state"].astype(str)
        for r in covering.itertuples():
            assert now[r.site] == r.state, (r.site, probe)
    totals = uptime(beacons, profiles, start=start, end=end, **options)
    pct = totals["uptime_pct"].dropna()
    assert ((pct >= 0) & (pct <= 100)).all()
    seconds = totals[["up_s", "late_s", "flapping_s", "down_s", "stopped_s", "unknown_s"]]
    assert np.allclose(seconds.sum(axis=1), window[1])
    assert (seconds.to_numpy() >= 0).all()
    buckets = time_in_states(beacons, profiles, start=start, end=end, bucket="2min", **options)
    parts = buckets[["up_s", "late_s", "flapping_s", "down_s", "stopped_s", "unknown_s"]]
    assert (parts.to_numpy() >= 0).all()
    width = pd.Timedelta(minutes=2)
    inside = (buckets["bucket"] + width).clip(upper=end) - buckets["bucket"].clip(lower=start)
    assert np.allclose(parts.sum(axis=1), inside.dt.total_seconds())
    assert sorted(set(buckets["site"].astype(str))) == totals["site"].tolist()
    episodes = downtime(beacons, profiles, start=start, end=end, **options)
    bad = result[result["state"].isin(["down", "stopped"])]
    assert len(episodes) == len(bad)


# -- ground truth: the demo datacenter ---------------------------------------------------------


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def test_demo_crash_is_down_and_the_root_cause(
    demo_incidents: dict[str, dict[str, Any]],
    demo_beacons: pd.DataFrame,
    demo_profiles: dict[str, Profile],
    demo_downtime: pd.DataFrame,
    demo_graph: nx.DiGraph[str],
) -> None:
    from rtt_topology.analysis.impact import root_causes

    crash = demo_incidents["crash"]
    (service,) = crash["services"]
    start, end = ts(crash["start"]), ts(crash["end"])
    middle = start + (end - start) / 2
    now = states(demo_beacons, demo_profiles, at=middle)
    assert state_of(now, service) == "down"
    assert state_of(states(demo_beacons, demo_profiles, at=start - FIVE_MIN), service) == "up"
    episodes = demo_downtime
    crashes = episodes[(episodes["site"] == service) & (episodes["kind"] == "crash")]
    assert len(crashes) == 1
    assert abs(crashes["start"].iloc[0] - start) <= FIVE_MIN
    assert abs(crashes["end"].iloc[0] - end) <= FIVE_MIN
    assert crashes["last_beacon"].iloc[0] == ts(crash["details"]["last_beacon"])
    verdicts = root_causes(now, demo_graph).set_index("site")
    assert verdicts.loc[service, "verdict"] == "root cause"
    callers = set(demo_graph.predecessors(service))
    assert set(crash["details"]["affected_callers"]) <= callers
    for caller in callers & set(verdicts.index):
        assert verdicts.loc[caller, "verdict"] == "impacted"
        assert service in verdicts.loc[caller, "root_causes"]
    # Every unhealthy service that depends on it through unhealthy services is impacted.
    for site, row in verdicts.iterrows():
        if service in row["root_causes"] and site != service:
            assert row["verdict"] == "impacted"
            assert row["path"][-1] == service


def test_demo_planned_stop_is_stopped_not_a_crash(
    demo_incidents: dict[str, dict[str, Any]],
    demo_beacons: pd.DataFrame,
    demo_profiles: dict[str, Profile],
    demo_downtime: pd.DataFrame,
) -> None:
    stop = demo_incidents["planned_stop"]
    (service,) = stop["services"]
    start, end = ts(stop["start"]), ts(stop["end"])
    now = states(demo_beacons, demo_profiles, at=start + (end - start) / 2)
    assert state_of(now, service) == "stopped"
    episodes = demo_downtime[demo_downtime["site"] == service]
    assert episodes["kind"].tolist() == ["planned"]
    assert abs(episodes["start"].iloc[0] - start) <= FIVE_MIN
    assert abs(episodes["end"].iloc[0] - end) <= FIVE_MIN
    assert episodes["last_event"].tolist() == ["shutdown"]


def test_demo_restart_storm_is_flapping(
    demo_incidents: dict[str, dict[str, Any]],
    demo_beacons: pd.DataFrame,
    demo_profiles: dict[str, Profile],
    demo_timeline: pd.DataFrame,
) -> None:
    storm = demo_incidents["restart_storm"]
    (service,) = storm["services"]
    start, end = ts(storm["start"]), ts(storm["end"])
    startups = [ts(t) for t in storm["details"]["startups"]]
    # The fourth restart within 15 minutes makes it flap (more than three).
    now = states(demo_beacons, demo_profiles, at=startups[3] + pd.Timedelta(seconds=1))
    assert state_of(now, service) == "flapping"
    rows = demo_timeline
    flapping = rows[(rows["site"] == service) & (rows["state"] == "flapping")]
    assert not flapping.empty
    assert (flapping["start"] <= end).all()
    assert abs(flapping["start"].min() - start) <= FIVE_MIN
    assert (rows[rows["state"] == "flapping"]["site"].astype(str) == service).all()


def test_demo_cadence_slowdown_goes_down_after_its_start(
    demo_incidents: dict[str, dict[str, Any]], demo_downtime: pd.DataFrame
) -> None:
    slowdown = demo_incidents["cadence_slowdown"]
    (service,) = slowdown["services"]
    start = ts(slowdown["start"])
    crashes = demo_downtime[(demo_downtime["site"] == service) & (demo_downtime["kind"] == "crash")]
    # The declared period is kept while beacons come three times slower: down between beacons.
    assert not crashes.empty
    assert (crashes["start"] >= start).all()
    assert crashes["start"].min() - start <= FIVE_MIN


def test_demo_quiet_services_raise_nothing(
    demo_truth: dict[str, Any],
    demo_downtime: pd.DataFrame,
    demo_timeline: pd.DataFrame,
    demo_beacons: pd.DataFrame,
    demo_profiles: dict[str, Profile],
) -> None:
    truth = demo_truth
    liveness_incidents = {"crash", "planned_stop", "restart_storm", "cadence_slowdown", "gap_crash"}
    noisy = {
        s for i in truth["incidents"] if i["type"] in liveness_incidents for s in i["services"]
    }
    quiet = {s["name"] for s in truth["services"] if s["beacons"]} - noisy
    assert len(quiet) > 30
    episodes = demo_downtime
    assert not set(episodes[episodes["kind"] == "crash"]["site"].astype(str)) & quiet
    assert not set(demo_timeline[demo_timeline["state"] == "flapping"]["site"]) & quiet
    end = states(demo_beacons, demo_profiles).set_index("site")
    assert (end.loc[sorted(quiet), "state"] == "up").all()
    # Beacons a second or two behind their period (jitter) are not late: late time stays
    # a small share, from the occasional beacon delayed well past its period.
    totals = uptime(demo_beacons, demo_profiles).set_index("site").loc[sorted(quiet)]
    observed = totals["up_s"] + totals["late_s"] + totals["flapping_s"] + totals["down_s"]
    assert (totals["late_s"] / observed).max() < 0.01
    assert (uptime(demo_beacons, demo_profiles, jitter=0).set_index("site").loc[
        sorted(quiet), "late_s"] > totals["late_s"]).all()  # fmt: skip


def test_demo_deploys_are_short_planned_stops(
    demo_downtime: pd.DataFrame,
    demo_beacons: pd.DataFrame,
    demo_profiles: dict[str, Profile],
    demo_truth: dict[str, Any],
) -> None:
    # The demo's deploys send deploy_start, shutdown, startup, deploy_finish: the gap is a
    # planned stop of a few seconds, shorter than period + grace, never a crash.
    episodes = demo_downtime
    periods = states(demo_beacons, demo_profiles).set_index("site")
    for deploy in demo_truth["deploys"]:
        service = deploy["service"]
        mine = episodes[episodes["site"] == service]
        assert mine["kind"].tolist() == ["planned"], service
        assert ts(deploy["start"]) <= mine["start"].iloc[0] <= ts(deploy["finish"])
        limit = periods.loc[service, "period_s"] + periods.loc[service, "grace_s"]
        assert mine["duration_s"].iloc[0] < limit


def test_demo_missing_and_undeclared(
    demo_truth: dict[str, Any],
    demo_beacons: pd.DataFrame,
    demo_profiles: dict[str, Profile],
    demo_timeline: pd.DataFrame,
) -> None:
    truth = demo_truth
    now = states(demo_beacons, demo_profiles).set_index("site")
    assert now.loc[truth["declared_silent"], "state"] == "missing"
    assert (now["state"] == "missing").sum() == 1
    assert sorted(now.index[now["undeclared"]]) == sorted(truth["undeclared_services"])
    clusters = {c["name"] for c in truth["clusters"]}
    assert not clusters & set(now.index)
    rows = demo_timeline[demo_timeline["site"] == truth["declared_silent"]]
    assert rows["state"].astype(str).tolist() == ["missing"]
    assert states(demo_beacons)["undeclared"].isna().all()


def test_demo_uptime_and_buckets(
    demo_beacons: pd.DataFrame,
    demo_profiles: dict[str, Profile],
    demo_truth: dict[str, Any],
    demo_incidents: dict[str, dict[str, Any]],
) -> None:
    beacons, profiles = demo_beacons, demo_profiles
    params = demo_truth["params"]
    start, end = ts(params["start"]), ts(params["end"])
    totals = uptime(beacons, profiles, start=start, end=end).set_index("site")
    crash = demo_incidents["crash"]
    (service,) = crash["services"]
    down_s = (ts(crash["end"]) - ts(crash["start"])).total_seconds()
    assert totals.loc[service, "down_s"] == pytest.approx(down_s, abs=300)
    assert totals.loc["report-worker", "stopped_s"] > 3000
    assert totals.loc["report-worker", "uptime_pct"] == 100.0
    buckets = time_in_states(beacons, profiles, start=start, end=end, bucket="5min")
    assert len(buckets) == len(totals) * 72
    by_site = buckets.groupby("site", observed=True)[["down_s", "stopped_s"]].sum()
    assert np.allclose(by_site["down_s"], totals.loc[by_site.index.astype(str), "down_s"])
    assert datetime(2026, 1, 19, tzinfo=UTC) == buckets["bucket"].min()
