from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtt_topology.analysis.drift import (
    STRUCTURE_FIELDS,
    drift,
    drift_event_counts,
    drift_events,
    drift_kinds,
    url_drift,
)
from rtt_topology.columns import empty_beacon_frame
from rtt_topology.errors import InputError
from tests.builders import beacon_table

T0 = pd.Timestamp("2026-01-19T15:00:00Z")
BUCKET = pd.Timedelta("5min")
HOME = {"title": "Home", "nav_count": 8, "main_count": 1, "form_count": 1, "button_count": 14}


def page(
    minute: float, *, site: str = "shop", url: str = "/", session: str = "s", **structure: Any
) -> dict[str, Any]:
    ts = (T0 + pd.Timedelta(minutes=minute)).isoformat().replace("+00:00", "Z")
    fields = {"url": url, **HOME, "dom_nodes": 1000, **structure}
    fields = {k: v for k, v in fields.items() if v is not None}
    return {"site": site, "session": session, "event": "heartbeat", "ts": ts, "structure": fields}


# --- the demo datacenter -------------------------------------------------------------


def test_demo_drift_only_on_the_redesigned_site(
    demo_beacons: pd.DataFrame, demo_incidents: dict[str, dict[str, Any]]
) -> None:
    beacons, truth = demo_beacons, demo_incidents["structural_drift"]
    before = beacons.copy()
    table = drift(beacons)
    pd.testing.assert_frame_equal(beacons, before)
    worst = table.groupby("site", observed=True)["drift"].max()
    assert worst[worst > 0].index.tolist() == truth["services"]
    # Backends (zeros, constant title) and the other web site (DOM jitter) score 0.
    assert (worst.drop(truth["services"]) == 0).all()
    site = table[table["site"] == truth["services"][0]]
    first = site.loc[site["drift"] > 0, "bucket"].min()
    assert abs(first - pd.Timestamp(truth["start"])) <= BUCKET
    # It stays drifted: the redesign is not rolled back.
    assert (site.loc[site["bucket"] >= first, "drift"].dropna() > 0.1).all()
    assert table["drift"].dropna().between(0, 1).all()


def test_demo_url_drift_names_the_page(
    demo_beacons: pd.DataFrame, demo_incidents: dict[str, dict[str, Any]]
) -> None:
    beacons, truth = demo_beacons, demo_incidents["structural_drift"]
    pages = url_drift(beacons)
    home = pages[pages["url"] == truth["details"]["url"]]
    first = home.loc[home["drift"] > 0, "bucket"].min()
    assert abs(first - pd.Timestamp(truth["start"])) <= BUCKET
    # Title, nav_count and dom_nodes changed, of six fields.
    nav = 1 - 3 / 8
    dom = 1 - 1840 / 2576
    assert home["drift"].max() == pytest.approx((1 + nav + dom) / 6)


def test_demo_drift_events(
    demo_beacons: pd.DataFrame, demo_incidents: dict[str, dict[str, Any]]
) -> None:
    beacons, truth = demo_beacons, demo_incidents["structural_drift"]
    events = drift_events(beacons)
    assert set(events["site"]) == set(truth["services"])
    # One event per page of the site, when its first redesigned beacon arrives.
    assert events["url"].is_unique
    home = events[events["url"] == truth["details"]["url"]].iloc[0]
    assert abs(home["ts"] - pd.Timestamp(truth["start"])) <= BUCKET
    assert home["changed"] == truth["details"]["changed"]
    expected = {k: v for k, v in truth["details"]["before"].items() if k != "url"}
    assert home["before"] == expected
    assert home["after"] == {k: v for k, v in truth["details"]["after"].items() if k != "url"}
    assert (events["ts"] >= pd.Timestamp(truth["start"])).all()
    counts = drift_event_counts(beacons)
    assert counts["site"].tolist() == sorted(beacons["site"].unique().astype(str))
    assert dict(counts[counts["drift_events"] > 0].values.tolist()) == {
        truth["services"][0]: len(events)
    }


def test_demo_kinds(demo_beacons: pd.DataFrame, demo_incidents: dict[str, dict[str, Any]]) -> None:
    beacons, truth = demo_beacons, demo_incidents["structural_drift"]
    kinds = drift_kinds(drift(beacons))
    assert kinds.loc[kinds["kind"] != "none", "site"].tolist() == truth["services"]
    row = kinds[kinds["site"] == truth["services"][0]].iloc[0]
    assert row["kind"] == "sudden"
    assert abs(row["first_drift"] - pd.Timestamp(truth["start"])) <= BUCKET


# --- hand-made tables -----------------------------------------------------------------


def test_identical_beacons_do_not_drift() -> None:
    beacons = beacon_table([page(m) for m in range(30)])
    assert set(drift(beacons)["drift"]) == {0.0}
    assert drift_events(beacons).empty
    assert drift_event_counts(beacons)["drift_events"].tolist() == [0]


def test_a_title_change_is_an_event_and_drift() -> None:
    rows = [page(m) for m in range(15)] + [page(m, title="Sale") for m in range(15, 30)]
    beacons = beacon_table(rows)
    events = drift_events(beacons)
    assert len(events) == 1
    assert events["changed"].iloc[0] == ["title"]
    assert events["ts"].iloc[0] == T0 + pd.Timedelta(minutes=15)
    assert events["before"].iloc[0]["title"] == "Home"
    assert events["after"].iloc[0]["title"] == "Sale"
    table = drift(beacons)
    # Six fields compared, one differs.
    assert table["drift"].tolist() == pytest.approx([0, 0, 0, 1 / 6, 1 / 6, 1 / 6])
    assert drift_kinds(table)["kind"].tolist() == ["sudden"]


def test_dom_jitter_is_not_drift() -> None:
    rng = np.random.default_rng(3)
    rows = [page(m, dom_nodes=int(1000 * rng.uniform(0.96, 1.04))) for m in range(60)]
    beacons = beacon_table(rows)
    assert set(drift(beacons)["drift"]) == {0.0}
    assert drift_events(beacons).empty
    assert (drift(beacons, tolerance=0.0)["drift"] > 0).any()
    assert not drift_events(beacons, tolerance=0.0).empty


def test_distance_formula() -> None:
    rows = [page(m) for m in range(10)] + [
        page(m, nav_count=2, dom_nodes=1050) for m in range(10, 15)
    ]
    table = drift(beacon_table(rows), bucket="5min")
    # nav 8 -> 2: 0.75; dom +5 %: within tolerance; title, main, form, button equal.
    assert table["drift"].tolist() == pytest.approx([0.0, 0.0, 0.75 / 6])
    events = drift_events(beacon_table(rows))
    assert events["changed"].tolist() == [["nav_count"]]


def test_pages_are_compared_with_their_own_baseline() -> None:
    rows = [page(m, url="/") for m in range(0, 20, 2)]
    rows += [page(m, url="/big", dom_nodes=5000, title="Big") for m in range(1, 20, 2)]
    beacons = beacon_table(rows)
    assert set(drift(beacons)["drift"]) == {0.0}
    assert set(url_drift(beacons)["drift"]) == {0.0}
    assert drift_events(beacons).empty
    assert drift(beacons)["urls"].tolist() == [2, 2, 2, 2]


def test_site_drift_is_beacon_weighted() -> None:
    rows = [page(m, url="/a") for m in range(10)] + [page(m, url="/b") for m in range(10)]
    rows += [page(10 + m / 4, url="/a", title="New") for m in range(3)]  # 3 beacons, 1/6 each
    rows += [page(10.6, url="/b")]  # 1 beacon, 0
    table = drift(beacon_table(rows))
    last = table.iloc[-1]
    assert last["beacons"] == 4
    assert last["urls"] == 2
    assert last["drift"] == pytest.approx(3 / 4 * 1 / 6)


def test_nulls_are_skipped_not_zero() -> None:
    rows = [page(m) for m in range(10)]
    # A partial structure (url, title, dom_nodes), as some upstream examples send.
    rows += [page(m, nav_count=None, main_count=None, form_count=None, button_count=None)
             for m in range(10, 20)]  # fmt: skip
    beacons = beacon_table(rows)
    assert set(drift(beacons)["drift"]) == {0.0}
    assert drift_events(beacons).empty
    # No url: no structure to compare at all.
    bare = beacon_table(
        [{"site": "api", "session": "s", "event": "heartbeat", "ts": "2026-01-19T15:00:00Z"}]
    )
    assert drift(bare)["drift"].isna().all()
    assert drift(bare)["beacons"].tolist() == [0]
    assert url_drift(bare).empty
    assert drift_event_counts(bare)["drift_events"].tolist() == [0]


def test_baseline_window() -> None:
    rows = [page(m, title="Old") for m in range(10)] + [page(m) for m in range(10, 30)]
    beacons = beacon_table(rows)
    assert drift(beacons)["drift"].tolist()[-1] == pytest.approx(1 / 6)
    window = ("2026-01-19T15:10:00Z", "2026-01-19T15:20:00Z")
    assert drift(beacons, baseline_window=window)["drift"].tolist() == pytest.approx(
        [1 / 6, 1 / 6, 0, 0, 0, 0]
    )
    assert drift(beacons, baseline_beacons=30)["drift"].tolist()[-1] == 0.0


def test_window_and_events_window() -> None:
    rows = [page(m) for m in range(15)] + [page(m, title="Sale") for m in range(15, 30)]
    beacons = beacon_table(rows)
    table = drift(beacons, start="2026-01-19T15:10:00Z", end="2026-01-19T15:20:00Z")
    assert table["bucket"].tolist() == [T0 + 2 * BUCKET, T0 + 3 * BUCKET]
    assert drift_events(beacons, start="2026-01-19T15:16:00Z").empty
    assert len(drift_events(beacons, end="2026-01-19T15:15:01Z")) == 1


def test_kinds() -> None:
    t = pd.date_range(T0, periods=8, freq="5min")
    table = pd.DataFrame(
        {
            "site": pd.Categorical(["flat"] * 8 + ["ramp"] * 8 + ["flip"] * 8 + ["jump"] * 8),
            "bucket": np.tile(t, 4),
            "drift": [0.0] * 8
            + [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35]
            + [0.0, 0.3, 0.3, 0.0, 0.0, 0.3, 0.0, np.nan]
            + [0.0, 0.0, 0.0, 0.5, 0.5, 0.5, 0.5, 0.5],
        }
    )
    kinds = drift_kinds(table).set_index("site")
    assert kinds["kind"].to_dict() == {
        "flat": "none", "flip": "oscillating", "jump": "sudden", "ramp": "gradual",
    }  # fmt: skip
    assert kinds.loc["flip", "transitions"] == 4
    assert kinds.loc["jump", "first_drift"] == t[3]
    assert pd.isna(kinds.loc["flat", "first_drift"])


@pytest.mark.parametrize(
    "kwargs", [{"baseline_beacons": 0}, {"tolerance": 1.0}, {"tolerance": -0.1}]
)
def test_bad_options(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        drift(beacon_table([page(0)]), **kwargs)


def test_empty_table() -> None:
    assert drift(empty_beacon_frame()).columns.tolist() == [
        "site", "bucket", "drift", "urls", "beacons",
    ]  # fmt: skip
    assert url_drift(empty_beacon_frame()).empty
    events = drift_events(empty_beacon_frame())
    assert events.columns.tolist() == ["site", "url", "ts", "changed", "before", "after"]
    assert drift_event_counts(empty_beacon_frame()).empty


def test_unsorted_table() -> None:
    rows = [page(m) for m in range(15)] + [page(m, title="Sale") for m in range(15, 30)]
    beacons = beacon_table(rows)
    shuffled = beacons.sample(frac=1.0, random_state=2)
    pd.testing.assert_frame_equal(drift(shuffled), drift(beacons))
    pd.testing.assert_frame_equal(drift_events(shuffled), drift_events(beacons))


# --- properties -----------------------------------------------------------------------

counts = st.one_of(st.none(), st.integers(0, 3000))


@st.composite
def random_pages(draw: st.DrawFn) -> pd.DataFrame:
    rows = []
    for _ in range(draw(st.integers(1, 50))):
        structure = {f: draw(counts) for f in STRUCTURE_FIELDS[1:]}
        rows.append(
            page(
                draw(st.integers(0, 180)),
                site=draw(st.sampled_from(["a", "b"])),
                url=draw(st.sampled_from(["/", "/x", "/y"])),
                session=draw(st.sampled_from(["s1", "s2", "s3"])),
                title=draw(st.one_of(st.none(), st.sampled_from(["T1", "T2"]))),
                **structure,
            )
        )
    return beacon_table(rows)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    beacons=random_pages(),
    tolerance=st.sampled_from([0.0, 0.1, 0.5]),
    baseline=st.integers(1, 12),
)
def test_drift_in_unit_interval(beacons: pd.DataFrame, tolerance: float, baseline: int) -> None:
    table = drift(beacons, tolerance=tolerance, baseline_beacons=baseline)
    scores = table["drift"].dropna()
    assert ((scores >= 0) & (scores <= 1)).all()
    assert table["beacons"].sum() == len(beacons)
    pages = url_drift(beacons, tolerance=tolerance, baseline_beacons=baseline)
    assert pages["drift"].dropna().between(0, 1).all()
    assert pages["beacons"].sum() == len(beacons)
    events = drift_events(beacons, tolerance=tolerance)
    assert drift_event_counts(beacons, tolerance=tolerance)["drift_events"].sum() == len(events)
    assert all(set(c) <= set(STRUCTURE_FIELDS) and c for c in events["changed"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    structure=st.fixed_dictionaries(
        dict.fromkeys(STRUCTURE_FIELDS[1:], counts)
        | {"title": st.one_of(st.none(), st.sampled_from(["T1", "T2"]))}
    ),
    minutes=st.lists(st.integers(0, 180), min_size=1, max_size=40, unique=True),
)
def test_identical_beacons_never_drift(structure: dict[str, Any], minutes: list[int]) -> None:
    beacons = beacon_table([page(m, **structure) for m in minutes])
    scores = drift(beacons)["drift"]
    comparable = any(v is not None for v in structure.values())
    assert set(scores.dropna()) <= {0.0}
    assert scores.notna().any() == comparable
    assert drift_events(beacons).empty
