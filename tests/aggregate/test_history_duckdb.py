"""The history aggregations on DuckDB return exactly what their pandas path returns."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtt_topology._memo import reuse
from rtt_topology.aggregate import duck
from rtt_topology.aggregate.engines import STORE_MARKER, History
from rtt_topology.aggregate.history import (
    cluster_sites,
    event_counts,
    event_pairs,
    intervals,
    main_event_rows,
    periods,
    restarts,
    service_summary,
    site_sources,
)
from rtt_topology.aggregate.skew import clock_skew, skew_seconds
from rtt_topology.columns import BEACON_COLUMNS, CATEGORY_COLUMNS, empty_beacon_frame
from rtt_topology.errors import InputError
from rtt_topology.load import beacons_from_records
from rtt_topology.schemas import Profile

FUNCTIONS: dict[str, Callable[..., Any]] = {
    "service_summary": service_summary,
    "event_pairs": event_pairs,
    "event_counts": event_counts,
    "periods": periods,
    "restarts": restarts,
    "main_event_rows": main_event_rows,
    "cluster_sites": cluster_sites,
    "site_sources": site_sources,
    "clock_skew": clock_skew,
}


def assert_same(expected: Any, got: Any, what: str) -> None:
    """Equal values, dtypes, index and order; floats to 1e-9 relative."""
    if isinstance(expected, pd.DataFrame):
        pd.testing.assert_frame_equal(got, expected, rtol=1e-9, obj=what)
    elif isinstance(expected, pd.Series):
        pd.testing.assert_series_equal(got, expected, rtol=1e-9, obj=what)
    elif isinstance(expected, np.ndarray):
        assert got.dtype == expected.dtype, what
        np.testing.assert_array_equal(got, expected, err_msg=what)
    else:
        assert got == expected, what


def assert_engines_agree(
    beacons: pd.DataFrame, profiles: dict[str, Profile] | None = None, *, tables: bool = True
) -> dict[str, Any]:
    """Run every function on both engines; return the pandas results.

    DuckDB runs on a History, and with ``tables`` also on the table (``engine="duckdb"``).
    """
    results = {}
    with History.from_frame(beacons) as history:
        for name, function in FUNCTIONS.items():
            kwargs = {"profiles": profiles} if name == "periods" else {}
            expected = function(beacons, **kwargs, engine="pandas")
            assert_same(expected, function(history, **kwargs), f"{name} (History)")
            if tables:
                got = function(beacons, **kwargs, engine="duckdb")
                assert_same(expected, got, f"{name} (table)")
            results[name] = expected
    return results


# --- the demo ---------------------------------------------------------------------------


def test_demo_engines_agree(demo_beacons: pd.DataFrame, demo_profiles: dict[str, Profile]) -> None:
    results = assert_engines_agree(demo_beacons, demo_profiles)
    # The demo has restarts, clusters, inferred and declared periods: nothing vacuous.
    assert len(results["restarts"]) > 10
    assert results["cluster_sites"]
    assert {"declared", "inferred"} <= set(results["periods"]["period_from"])
    assert results["main_event_rows"].sum() > len(demo_beacons) / 2
    assert len(results["site_sources"]) == demo_beacons["site"].nunique()


def test_demo_in_small_site_groups(
    demo_beacons: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Many groups of sites: the results of the groups join into the same tables.
    monkeypatch.setattr(duck, "CHUNK_ROWS", 2500)
    with History.from_frame(demo_beacons) as history:
        assert len(history.site_chunks(duck.CHUNK_ROWS)) > 5
        for name in ("service_summary", "periods", "restarts", "main_event_rows"):
            function = FUNCTIONS[name]
            assert_same(function(demo_beacons), function(history), name)


def test_a_history_window_equals_the_table_cut(demo_beacons: pd.DataFrame) -> None:
    start, end = pd.Timestamp("2026-01-19T01:00Z"), pd.Timestamp("2026-01-19T03:00Z")
    cut = demo_beacons[(demo_beacons["ts"] >= start) & (demo_beacons["ts"] < end)]
    with History.from_frame(demo_beacons, start=start, end=end) as history:
        table = history.frame()
        assert_same(periods(table), periods(history), "periods")
        assert_same(restarts(table), restarts(history), "restarts")
        assert_same(service_summary(cut), service_summary(history), "service_summary")


def _write_store(beacons: pd.DataFrame, root: Path) -> None:
    """Write a beacon table in the store layout: one Parquet file per UTC day."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (root / STORE_MARKER).write_text('{"format": "rtt-topology-store", "version": 1}')
    columns = {
        name: beacons[name].astype(str) if name in CATEGORY_COLUMNS else beacons[name]
        for name in BEACON_COLUMNS
    }
    table = pd.DataFrame(columns).astype({"extra": object})
    types = {"ts": pa.timestamp("us", tz="UTC"), "received_at": pa.timestamp("us", tz="UTC")}
    for day, part in table.groupby(table["ts"].dt.strftime("%Y-%m-%d")):
        folder = root / "beacons" / f"day={day}"
        folder.mkdir(parents=True)
        arrow = pa.Table.from_pandas(part, preserve_index=False)
        arrow = arrow.cast(
            pa.schema([pa.field(f.name, types.get(f.name, f.type)) for f in arrow.schema])
        )
        pq.write_table(arrow, folder / "part-test-0.parquet")
    # The manifest publishes the ingest "test": its part files are now part of the store.
    (root / "ingests").mkdir()
    (root / "ingests" / "test.json").write_text("{}")


def test_a_store_gives_the_tables_of_its_beacons(
    demo_beacons: pd.DataFrame, demo_profiles: dict[str, Profile], tmp_path: Path
) -> None:
    _write_store(demo_beacons, tmp_path)
    with History.from_store(tmp_path) as history:
        assert len(history) == len(demo_beacons)
        for name, function in FUNCTIONS.items():
            kwargs = {"profiles": demo_profiles} if name == "periods" else {}
            assert_same(function(demo_beacons, **kwargs), function(history, **kwargs), name)


def test_empty_history() -> None:
    assert_engines_agree(empty_beacon_frame())


def test_per_beacon_functions_refuse_a_history(demo_beacons: pd.DataFrame) -> None:
    with History.from_frame(demo_beacons) as history:
        with pytest.raises(InputError, match="service_summary"):
            intervals(history)
        with pytest.raises(InputError, match="clock_skew"):
            skew_seconds(history)
        # Materialising some sites is the way to the per-beacon tables.
        table = history.frame(["audit-db"])
        assert intervals(table)["interval_s"].notna().sum() == len(table) - 1


def test_memoized_per_history(demo_beacons: pd.DataFrame) -> None:
    with History.from_frame(demo_beacons) as history, reuse():
        first = periods(history)
        first["period_s"] = 0.0  # a copy: the shared result stays intact
        assert (periods(history)["period_s"] > 0).all()


def test_unknown_engine(demo_beacons: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="unknown engine"):
        periods(demo_beacons, engine="spark")  # type: ignore[arg-type]


# --- a random history -------------------------------------------------------------------

SITES = ("api", "db", "dc-east", "shop")
EVENTS = ("heartbeat", "startup", "shutdown", "cluster_heartbeat", "page_load", "config_change")
T0 = pd.Timestamp("2026-01-19T15:00:00Z")


@st.composite
def histories(draw: st.DrawFn) -> tuple[pd.DataFrame, dict[str, Profile] | None]:
    """A few sites, random events and sessions, tied timestamps, structure and receipt times."""
    records = []
    for site in draw(st.lists(st.sampled_from(SITES), min_size=1, max_size=4, unique=True)):
        # A cluster sends only cluster heartbeats; other sites mostly heartbeats.
        cluster = draw(st.booleans()) and site == "dc-east"
        events = (
            st.just("cluster_heartbeat")
            if cluster
            else st.one_of(st.just("heartbeat"), st.sampled_from(EVENTS))
        )
        n = draw(st.integers(1, 25))
        for i in range(n):
            # Few distinct times (in milliseconds): ties between beacons are common.
            ms = draw(st.integers(0, 40)) * draw(st.sampled_from([250, 30_000]))
            record: dict[str, Any] = {
                "site": site,
                "session": draw(st.sampled_from(["s1", "s2", "s3"])),
                "event": draw(events),
                "ts": (T0 + pd.Timedelta(ms, "ms")).isoformat(),
            }
            if draw(st.booleans()):
                record["structure"] = {"url": f"/p{i % 3}", "nav_count": draw(st.integers(1, 5))}
            if draw(st.integers(0, 3)) == 0:
                lag = pd.Timedelta(draw(st.integers(-3000, 3000)), "ms")
                record["received_at"] = (T0 + pd.Timedelta(ms, "ms") + lag).isoformat()
            records.append(record)
    load = beacons_from_records(records)
    beacons = load.beacons
    sources = draw(st.lists(st.sampled_from(["a.jsonl", "b.jsonl"]), min_size=len(beacons)))
    beacons = beacons.assign(source=pd.Categorical(sources[: len(beacons)]))
    profiles = draw(
        st.none()
        | st.dictionaries(
            st.sampled_from((*SITES, "ghost")),
            st.builds(
                Profile,
                rtt_version=st.just("1"),
                supports=st.just([]),
                heartbeat_interval_s=st.none() | st.sampled_from([15, 30.5, 60]),
            ),
            max_size=3,
        )
    )
    return beacons, profiles


@settings(
    max_examples=50,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(histories())
def test_random_histories_engines_agree(
    history: tuple[pd.DataFrame, dict[str, Profile] | None],
) -> None:
    beacons, profiles = history
    assert_engines_agree(beacons, profiles, tables=False)


@pytest.fixture
def ties() -> pd.DataFrame:
    """A startup and a heartbeat at the same instant, in one session, after another session."""
    rows = [("s1", "heartbeat", 0), ("s1", "heartbeat", 30), ("s2", "startup", 60)]
    rows += [("s2", "heartbeat", 60), ("s2", "startup", 90), ("s2", "heartbeat", 90)]
    load = beacons_from_records(
        {"site": "api", "session": s, "event": e, "ts": (T0 + pd.Timedelta(sec, "s")).isoformat()}
        for s, e, sec in rows
    )
    return load.beacons


def test_ties_see_the_same_previous_beacon(ties: pd.DataFrame) -> None:
    results = assert_engines_agree(ties)
    # heartbeat sorts before startup: at 60 s the heartbeat opens s2, the startup is a restart.
    assert results["restarts"]["reason"].tolist() == ["new session", "startup", "startup"]
