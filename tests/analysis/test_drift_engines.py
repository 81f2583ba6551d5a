"""Structural drift on DuckDB equals drift on pandas: the demo and random histories."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtt_topology.aggregate.engines import History
from rtt_topology.analysis import grid
from rtt_topology.analysis.drift import (
    STRUCTURE_FIELDS,
    drift,
    drift_event_counts,
    drift_events,
    url_drift,
)
from rtt_topology.columns import empty_beacon_frame
from tests.builders import beacon_table
from tests.engines import same_on_both

T0 = pd.Timestamp("2026-01-19T15:00:00Z")
PER_PAGE = (drift, url_drift)
PER_CHANGE = (drift_events, drift_event_counts)


# --- the demo --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "chunk"),
    [
        ({}, grid.CHUNK_ROWS),
        ({"bucket": "1h", "baseline_beacons": 3, "tolerance": 0.0}, 6_000),
        (
            {
                "bucket": "7min",
                "start": "2026-01-19T01:00:00Z",
                "end": "2026-01-19T04:30:00Z",
                "baseline_window": ("2026-01-19T00:00:00Z", "2026-01-19T00:30:00Z"),
            },
            6_000,
        ),
    ],
)
def test_demo_drift(
    demo_beacons: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
    options: dict[str, Any],
    chunk: int,
) -> None:
    # A small chunk runs the page-ordered queries on several groups of sites.
    monkeypatch.setattr(grid, "CHUNK_ROWS", chunk)
    table = same_on_both(drift, demo_beacons, **options)
    assert table["drift"].max() > 0
    pages = same_on_both(url_drift, demo_beacons, **options)
    assert pages["beacons"].sum() == table["beacons"].sum()


@pytest.mark.parametrize(
    ("options", "chunk"),
    [
        ({}, grid.CHUNK_ROWS),
        ({"tolerance": 0.0}, 6_000),
        ({"tolerance": 0.02, "start": "2026-01-19T02:00:00Z", "end": "2026-01-19T06:00Z"}, 6_000),
    ],
)
def test_demo_drift_events(
    demo_beacons: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
    options: dict[str, Any],
    chunk: int,
) -> None:
    monkeypatch.setattr(grid, "CHUNK_ROWS", chunk)
    events = same_on_both(drift_events, demo_beacons, **options)
    counts = same_on_both(drift_event_counts, demo_beacons, **options)
    assert counts["drift_events"].sum() == len(events)


def test_an_empty_history() -> None:
    for function in (*PER_PAGE, *PER_CHANGE):
        assert same_on_both(function, empty_beacon_frame()).empty


# --- random histories ----------------------------------------------------------------------

COUNTS = st.one_of(st.none(), st.integers(0, 40), st.just(1000))


@st.composite
def histories(draw: st.DrawFn) -> pd.DataFrame:
    """Pages of a few sites, with nulls, repeated and sub-second instants, and backends."""
    rows = []
    for _ in range(draw(st.integers(1, 60))):
        seconds = 20 * draw(st.integers(0, 540)) + draw(st.sampled_from([0, 0, 0.5, 0.000001]))
        url = draw(st.sampled_from([None, "/", "/x", "/it's"]))
        structure = {f: draw(COUNTS) for f in STRUCTURE_FIELDS[1:]}
        structure["title"] = draw(st.sampled_from([None, "Home", "Sale", "home"]))
        structure["url"] = url
        rows.append(
            {
                "site": draw(st.sampled_from(["a", "b", "o'hara"])),
                "session": draw(st.sampled_from(["s1", "s2", "s3"])),
                "event": draw(st.sampled_from(["heartbeat", "page_load", "startup"])),
                "ts": (T0 + pd.Timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z"),
                "structure": {k: v for k, v in structure.items() if v is not None},
            }
        )
    return beacon_table(rows)


def _instant(offset_s: int | None) -> pd.Timestamp | None:
    return None if offset_s is None else T0 + pd.Timedelta(seconds=offset_s)


OFFSETS = st.one_of(st.none(), st.integers(-600, 11_000))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    beacons=histories(),
    bucket=st.sampled_from(["1min", "5min", "1h", "13s"]),
    start=OFFSETS,
    length=st.integers(1, 7200),
    tolerance=st.sampled_from([0.0, 0.1, 0.5]),
    baseline=st.integers(1, 12),
    baseline_window=st.one_of(st.none(), st.tuples(st.integers(0, 5000), st.integers(1, 3000))),
)
def test_random_histories(
    beacons: pd.DataFrame,
    bucket: str,
    start: int | None,
    length: int,
    tolerance: float,
    baseline: int,
    baseline_window: tuple[int, int] | None,
) -> None:
    lo, hi = _instant(start), _instant(None if start is None else start + length)
    window = None
    if baseline_window is not None:
        first, span = baseline_window
        window = (_instant(first), _instant(first + span))
    options = {
        "bucket": bucket,
        "start": lo,
        "end": hi,
        "baseline_beacons": baseline,
        "baseline_window": window,
        "tolerance": tolerance,
    }
    changes = {"tolerance": tolerance, "start": lo, "end": hi}
    with pytest.MonkeyPatch.context() as patch, History.from_frame(beacons) as history:
        # Groups of a site or so: every page-ordered query runs on several groups.
        patch.setattr(grid, "CHUNK_ROWS", 20)
        table = same_on_both(drift, beacons, history, **options)
        same_on_both(url_drift, beacons, history, **options)
        events = same_on_both(drift_events, beacons, history, **changes)
        counts = same_on_both(drift_event_counts, beacons, history, **changes)
    assert counts["drift_events"].sum() == len(events)
    assert table["drift"].dropna().between(0, 1).all()
