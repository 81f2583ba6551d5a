"""Collector gaps: correlated silences are one gap, shown unknown, left out of downtime."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtt_topology.analysis.liveness import (
    GAP_COLUMNS,
    STATES,
    GapRule,
    collector_gaps,
    downtime,
    flips,
    states,
    time_in_states,
    timeline,
    uptime,
)
from rtt_topology.errors import InputError
from rtt_topology.load import beacons_from_records, read_beacons
from rtt_topology.schemas import Profile

BASE = pd.Timestamp("2026-01-19T15:00:00Z")
P = 60.0  # every service's period in these tests (default_period_s)
GAP = (600.0, 1800.0)  # the collector is silent on [10 min, 30 min)


def at(seconds: float) -> pd.Timestamp:
    return BASE + pd.Timedelta(seconds=seconds)


def beats(site: str, times: np.ndarray | list[float], shift_s: float = 0.0) -> list[dict[str, str]]:
    return [
        {
            "site": site,
            "session": f"{site}-1",
            "event": "heartbeat",
            "ts": at(t + shift_s).isoformat(),
        }
        for t in times
    ]


def steady(
    until: float = 3600.0, lost: tuple[float, float] | None = GAP, offset: float = 0.0
) -> np.ndarray:
    """Beacons every period from ``offset``, minus those in ``lost``."""
    t = np.arange(offset, until, P)
    return t if lost is None else t[(t < lost[0]) | (t >= lost[1])]


def one_file(records: list[dict[str, str]], source: str = "east.jsonl") -> pd.DataFrame:
    return beacons_from_records(records, strict=True, source=source).beacons


def collector_down(n: int = 4, **extra: np.ndarray) -> pd.DataFrame:
    """``n`` services of one file that lose [10, 30) min; ``extra`` adds other services."""
    records = [r for i in range(n) for r in beats(f"svc-{i}", steady(offset=i * 7.0))]
    for site, times in extra.items():
        records += beats(site.replace("_", "-"), times)
    return one_file(records)


OPTIONS = {"default_period_s": P}


def test_one_gap_with_its_members_and_window() -> None:
    gaps = collector_gaps(collector_down(4), **OPTIONS)
    assert tuple(gaps.columns) == GAP_COLUMNS
    [gap] = gaps.to_dict("records")
    assert gap["grouping"] == "source"
    assert gap["group"] == "east.jsonl"
    assert gap["sites"] == ["svc-0", "svc-1", "svc-2", "svc-3"]
    assert (gap["services"], gap["active"]) == (4, 4)
    # From the earliest last beacon to the latest first beacon back.
    assert gap["start"] == at(540)  # svc-0's last beacon before 600 s
    assert gap["end"] == at(1800 + 3 * 7)  # svc-3 comes back last
    assert gap["duration_s"] == (gap["end"] - gap["start"]).total_seconds()


def test_members_are_unknown_not_down() -> None:
    beacons = collector_down(4)
    inside = at(1200)
    table = states(beacons, at=inside, **OPTIONS)
    assert set(table["state"].astype(str)) == {"unknown"}
    assert set(states(beacons, at=inside, gaps=False, **OPTIONS)["state"].astype(str)) == {"down"}
    lanes = timeline(beacons, **OPTIONS)
    lane = lanes[lanes["site"] == "svc-0"]
    unknown = lane[lane["state"] == "unknown"]
    # From b + U (U = 1.1 P) to its next beacon.
    assert unknown[["start", "end"]].values.tolist() == [[at(540 + 66), at(1800)]]
    assert "down" not in set(lanes["state"].astype(str))
    assert "late" not in set(lanes["state"].astype(str))
    assert downtime(beacons, **OPTIONS).empty
    changes = flips(beacons, **OPTIONS)
    pairs = zip(changes["from_state"].astype(str), changes["to_state"].astype(str), strict=True)
    assert set(pairs) == {
        ("up", "unknown"),
        ("unknown", "up"),
    }


def test_uptime_leaves_the_gap_out_of_its_denominator() -> None:
    beacons = collector_down(4)
    window = {"start": at(0), "end": at(3600)}
    totals = uptime(beacons, **window, **OPTIONS).set_index("site")
    row = totals.loc["svc-0"]
    assert row["uptime_pct"] == 100.0
    assert row["down_s"] == row["late_s"] == 0.0
    assert row["unknown_s"] == pytest.approx(1800 - 606)
    plain = uptime(beacons, **window, gaps=False, **OPTIONS).set_index("site")
    assert plain.loc["svc-0", "uptime_pct"] < 100.0
    buckets = time_in_states(beacons, **window, bucket="10min", **OPTIONS)
    first = buckets[buckets["site"] == "svc-0"].set_index("bucket")["unknown_s"]
    assert first[at(1200)] == 600.0  # the whole bucket [20, 30) min
    assert buckets["down_s"].sum() == 0.0


def test_a_member_that_stays_silent_is_an_outage_from_its_own_last_beacon() -> None:
    # svc-4 falls silent with the others but comes back 20 minutes after them.
    late_back = steady(lost=(600.0, 3000.0), offset=30.0)
    beacons = collector_down(4, svc_4=late_back)
    [gap] = collector_gaps(beacons, **OPTIONS).to_dict("records")
    assert "svc-4" not in gap["sites"]
    assert gap["active"] == 5
    episodes = downtime(beacons, **OPTIONS)
    [episode] = episodes.to_dict("records")
    assert episode["site"] == "svc-4"
    assert episode["last_beacon"] == at(570)
    # Down from its own last beacon + P + G, through the gap, until it came back.
    assert episode["start"] == at(570 + 2 * P)
    assert episode["end"] == at(3030)
    assert episode["kind"] == "crash"
    assert state_at(beacons, "svc-4", 1200) == "down"


def state_at(beacons: pd.DataFrame, site: str, seconds: float) -> str:
    return str(states(beacons, at=at(seconds), **OPTIONS).set_index("site").loc[site, "state"])


def test_a_clock_ninety_seconds_ahead_still_joins() -> None:
    records = [r for i in range(3) for r in beats(f"svc-{i}", steady(offset=i * 5.0))]
    records += beats("skewed", steady(offset=20.0), shift_s=90.0)
    beacons = one_file(records)
    [gap] = collector_gaps(beacons, **OPTIONS).to_dict("records")
    assert "skewed" in gap["sites"]
    strict = collector_gaps(beacons, gap_tolerance_s=0, **OPTIONS)
    assert "skewed" not in strict["sites"][0]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("two services are not enough", 0),
        ("half the file silent is not most", 0),
        ("two thirds of the file silent is most", 1),
        ("ends an hour apart are not together", 0),
        ("a shutdown is a planned stop, not a candidate", 0),
        ("silences still going on never came back", 0),
    ],
)
def test_what_makes_a_gap(case: str, expected: int) -> None:
    if case == "two services are not enough":
        beacons = collector_down(2)
    elif case == "half the file silent is not most":
        healthy = steady(lost=None)
        beacons = collector_down(3, a=healthy, b=healthy, c=healthy)
    elif case == "two thirds of the file silent is most":
        beacons = collector_down(4, a=steady(lost=None), b=steady(lost=None))
    elif case == "ends an hour apart are not together":
        records = beats("svc-0", steady(until=7200, lost=(600.0, 1800.0)))
        records += beats("svc-1", steady(until=7200, lost=(600.0, 5400.0)))
        records += beats("svc-2", steady(until=7200, lost=(600.0, 3600.0)))
        beacons = one_file(records)
    elif case == "a shutdown is a planned stop, not a candidate":
        records = []
        for i in range(4):
            for r in beats(f"svc-{i}", steady()):
                if r["ts"] == at(540).isoformat():
                    r["event"] = "shutdown"
                records.append(r)
        beacons = one_file(records)
    else:
        beacons = collector_down(4)
        beacons = beacons[beacons["ts"] < at(1200)].reset_index(drop=True)
    assert len(collector_gaps(beacons, **OPTIONS)) == expected, case


def write(path: Path, records: list[dict[str, str]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def test_files_are_separate_groups_and_declared_clusters_join_them(tmp_path: Path) -> None:
    # Two services per collector file: too few in each file alone.
    for name, sites in (("east", ("a", "b")), ("west", ("c", "d"))):
        write(tmp_path / f"{name}.jsonl", [r for s in sites for r in beats(s, steady())])
    beacons = read_beacons(tmp_path).beacons
    assert collector_gaps(beacons, **OPTIONS).empty
    cluster = {"cluster": "dc-1"}
    profiles = {s: Profile(rtt_version="1.0", supports=[], **cluster) for s in "abcd"}
    [gap] = collector_gaps(beacons, profiles, **OPTIONS).to_dict("records")
    assert (gap["grouping"], gap["group"], gap["sites"]) == ("cluster", "dc-1", list("abcd"))


def test_window_and_rule_checks() -> None:
    beacons = collector_down(4)
    assert collector_gaps(beacons, end=at(300), **OPTIONS).empty
    assert collector_gaps(beacons, start=at(2400), **OPTIONS).empty
    assert len(collector_gaps(beacons, start=at(1000), end=at(1100), **OPTIONS)) == 1
    assert collector_gaps(beacons, min_services=5, **OPTIONS).empty
    rule = GapRule(min_services=5)
    assert "unknown" not in set(timeline(beacons, gaps=rule, **OPTIONS)["state"].astype(str))
    for bad in ({"min_services": 1}, {"min_fraction": 0}, {"min_fraction": 1.5},
                {"gap_tolerance_s": -1}):  # fmt: skip
        with pytest.raises(InputError):
            collector_gaps(beacons, **OPTIONS, **bad)  # type: ignore[arg-type]


def test_unknown_sits_between_down_and_stopped() -> None:
    assert STATES.index("down") < STATES.index("unknown") < STATES.index("stopped")


@settings(max_examples=25, deadline=None)
@given(
    lead=st.lists(st.floats(0, P - 1), min_size=3, max_size=6),
    lag=st.floats(0, 100),
)
def test_any_members_within_a_period_and_a_skew_make_one_gap(lead: list[float], lag: float) -> None:
    """Silences that start within one period and end within one period plus 100 s are one gap."""
    records = []
    for i, offset in enumerate(lead):
        shift = lag if i == 0 else 0.0
        records += beats(f"svc-{i}", steady(offset=offset), shift_s=shift)
    beacons = one_file(records)
    gaps = collector_gaps(beacons, **OPTIONS)
    assert len(gaps) == 1
    assert gaps["services"][0] == len(lead)
    # No downtime in the gap (the shifted clock may leave some at the very end of the data).
    episodes = downtime(beacons, **OPTIONS)
    assert (episodes["start"] > at(3000)).all()
