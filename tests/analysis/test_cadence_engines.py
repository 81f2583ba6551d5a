"""Cadence on DuckDB equals cadence on pandas: the demo, a store, random histories."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtt_topology.aggregate.engines import History
from rtt_topology.analysis import grid
from rtt_topology.analysis.cadence import cadence, cadence_changes
from rtt_topology.columns import empty_beacon_frame
from rtt_topology.load import beacons_from_records
from rtt_topology.schemas import Profile
from rtt_topology.store import ingest
from tests.engines import same_on_both

T0 = pd.Timestamp("2026-01-19T15:00:00Z")
DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo"


@pytest.fixture(params=[grid.CHUNK_ROWS, 100], ids=["one-group", "groups"])
def chunk_rows(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Run the site-ordered queries on the whole history at once, or on groups of sites."""
    monkeypatch.setattr(grid, "CHUNK_ROWS", request.param)
    return int(request.param)


# --- the demo --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bucket", "window", "declared", "chunk"),
    [
        ("5min", None, True, grid.CHUNK_ROWS),
        ("1h", None, False, 6_000),
        ("7min", ("2026-01-19T00:13:00Z", "2026-01-19T03:00:00Z"), False, 6_000),
        ("90s", ("2026-01-18T23:00:00Z", "2026-01-19T01:00:00.5Z"), True, 6_000),
    ],
)
def test_demo_cadence(
    demo_beacons: pd.DataFrame,
    demo_profiles: dict[str, Profile],
    monkeypatch: pytest.MonkeyPatch,
    bucket: str,
    window: tuple[str, str] | None,
    declared: bool,
    chunk: int,
) -> None:
    # A small chunk runs the site-ordered queries on several groups of sites.
    monkeypatch.setattr(grid, "CHUNK_ROWS", chunk)
    start, end = window or (None, None)
    profiles = demo_profiles if declared else None
    table = same_on_both(
        cadence, demo_beacons, profiles=profiles, bucket=bucket, start=start, end=end
    )
    assert table["median_interval_s"].notna().any()


@pytest.mark.parametrize(("declared", "chunk"), [(True, 6_000), (False, grid.CHUNK_ROWS)])
def test_demo_cadence_changes(
    demo_beacons: pd.DataFrame,
    demo_profiles: dict[str, Profile],
    monkeypatch: pytest.MonkeyPatch,
    declared: bool,
    chunk: int,
) -> None:
    monkeypatch.setattr(grid, "CHUNK_ROWS", chunk)
    profiles = demo_profiles if declared else None
    changes = same_on_both(cadence_changes, demo_beacons, profiles=profiles)
    assert changes["direction"].tolist() == ["slower"]
    if declared:
        lower = same_on_both(cadence_changes, demo_beacons, profiles=profiles, threshold=1.05)
        assert len(lower) >= len(changes)


def test_a_store_on_duckdb_equals_its_table_on_pandas(
    demo_profiles: dict[str, Profile], tmp_path: Path
) -> None:
    store = tmp_path / "store"
    ingest(DEMO / "beacons", store)
    with History.from_store(store) as history:
        table = history.frame()
        got = cadence(history, demo_profiles)  # auto: DuckDB for a history
        got_changes = cadence_changes(history, demo_profiles, engine="duckdb")
    want = cadence(table, demo_profiles, engine="pandas")
    want_changes = cadence_changes(table, demo_profiles, engine="pandas")
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(got_changes, want_changes, check_exact=False, rtol=1e-9)
    assert len(want_changes) == 1


# --- hand-made histories -----------------------------------------------------------------


def beats(site: str, seconds: Any, **fields: Any) -> list[dict[str, Any]]:
    return [
        {
            "site": site,
            "session": "s1",
            "event": "heartbeat",
            "ts": (T0 + pd.Timedelta(seconds=float(s))).isoformat().replace("+00:00", "Z"),
        }
        | fields
        for s in seconds
    ]


def test_a_collector_gap_is_no_interval_on_either_engine(chunk_rows: int) -> None:
    seconds = np.concatenate([np.arange(0, 1800, 30), np.arange(3000, 4800, 30)])
    rows = [row for site in ("a", "b", "c") for row in beats(site, seconds)]
    rows += beats("d", np.concatenate([np.arange(0, 600, 30), np.arange(1800, 4800, 30)]))
    beacons = beacons_from_records(rows, source="east.jsonl", strict=True).beacons
    table = same_on_both(cadence, beacons)
    longest = table.groupby("site", observed=True)["max_interval_s"].max()
    assert longest.to_dict() == {"a": 30.0, "b": 30.0, "c": 30.0, "d": 1230.0}


def test_a_slowdown_starts_at_the_same_heartbeat() -> None:
    seconds = np.concatenate([np.arange(0, 2001, 40), 2000 + np.arange(130, 5000, 130)])
    beacons = beacons_from_records(beats("api", seconds), strict=True).beacons
    changes = same_on_both(cadence_changes, beacons, reference_s=1800)
    assert changes["start"].tolist() == [T0 + pd.Timedelta(seconds=2000)]


def test_an_empty_history() -> None:
    assert same_on_both(cadence, empty_beacon_frame()).empty
    assert same_on_both(cadence_changes, empty_beacon_frame()).empty


def test_a_window_without_beacons() -> None:
    beacons = beacons_from_records(beats("api", np.arange(0, 600, 30)), strict=True).beacons
    table = same_on_both(cadence, beacons, start="2026-01-20T00:00:00Z", end="2026-01-20T01:00Z")
    assert table["heartbeats"].sum() == 0


# --- random histories ----------------------------------------------------------------------

SITES = ["a", "b", "c", "o'hara"]
EVENTS = ["heartbeat", "startup", "shutdown", "page_load", "cluster_heartbeat"]


@st.composite
def histories(draw: st.DrawFn) -> tuple[pd.DataFrame, dict[str, Profile]]:
    """Regular heartbeats that slow down or restart, with stray events and shared instants."""
    rows: list[dict[str, Any]] = []
    for site in draw(st.lists(st.sampled_from(SITES), min_size=1, max_size=4, unique=True)):
        period = draw(st.sampled_from([10, 20, 30, 60]))
        n = draw(st.integers(0, 120))
        slow_from = draw(st.integers(0, 130))
        factor = draw(st.sampled_from([1, 2, 3]))
        offset = draw(st.integers(0, 600))
        steps = np.where(np.arange(n) < slow_from, period, period * factor)
        # Sub-second parts: microseconds, as the store keeps them.
        jitter = draw(st.lists(st.sampled_from([0, 0, 0, 0.25, 0.000001]), min_size=n, max_size=n))
        seconds = offset + np.cumsum(steps) + np.asarray(jitter, dtype=float)
        restart = draw(st.integers(0, n + 1))
        for i, s in enumerate(seconds):
            session = "s1" if i < restart else "s2"
            rows += beats(site, [s], session=session)
            if i == restart:
                rows += beats(site, [s], session=session, event="startup")
    for _ in range(draw(st.integers(0, 30))):
        rows += beats(
            draw(st.sampled_from(SITES)),
            [10 * draw(st.integers(0, 400))],
            session=draw(st.sampled_from(["s1", "s2", "s3"])),
            event=draw(st.sampled_from(EVENTS)),
        )
    beacons = beacons_from_records(rows, strict=True).beacons
    declared = draw(st.lists(st.sampled_from(SITES), max_size=2, unique=True))
    profiles = {
        site: Profile(
            rtt_version="1", supports=[], heartbeat_interval_s=draw(st.sampled_from([15, 30]))
        )
        for site in declared
    }
    return beacons, profiles


WINDOWS = st.one_of(
    st.none(),
    st.tuples(st.integers(-600, 3600), st.integers(1, 7200)).map(
        lambda w: (T0 + pd.Timedelta(seconds=w[0]), T0 + pd.Timedelta(seconds=w[0] + w[1]))
    ),
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    history=histories(),
    bucket=st.sampled_from(["1min", "5min", "1h", "17s"]),
    window=WINDOWS,
    reference_s=st.sampled_from([600.0, 3600.0]),
    declared=st.booleans(),
)
def test_random_histories(
    history: tuple[pd.DataFrame, dict[str, Profile]],
    bucket: str,
    window: tuple[pd.Timestamp, pd.Timestamp] | None,
    reference_s: float,
    declared: bool,
) -> None:
    beacons, profiles = history
    start, end = window or (None, None)
    options = {
        "profiles": profiles if declared else None,
        "bucket": bucket,
        "start": start,
        "end": end,
        "reference_s": reference_s,
    }
    with pytest.MonkeyPatch.context() as patch, History.from_frame(beacons) as history:
        # Groups of a site or two: every site-ordered query runs on several groups.
        patch.setattr(grid, "CHUNK_ROWS", 100)
        table = same_on_both(cadence, beacons, history, **options)
        same_on_both(cadence_changes, beacons, history, threshold=1.3, min_buckets=1, **options)
    assert table["beacons"].sum() <= len(beacons)
