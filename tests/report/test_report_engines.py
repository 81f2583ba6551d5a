"""The report of a history (DuckDB, a store) equals the report of its beacon table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from rtt_topology.aggregate.engines import History
from rtt_topology.errors import InputError
from rtt_topology.load import BeaconLoad
from rtt_topology.report.analyses import figure_tables
from rtt_topology.report.build import build_report
from rtt_topology.report.inputs import store_load_report
from rtt_topology.schemas import Profile
from tests import DEMO

WHEN = pd.Timestamp("2026-02-01T00:00:00Z")
INPUTS = {"rules": DEMO / "rules.yaml", "corridors": DEMO / "corridors.yaml"}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.stores import demo_store

    return demo_store(tmp_path_factory.mktemp("report"))


def _sections(report: Any, *, without: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    data = report.to_dict()["sections"]
    return [s for s in data if s["id"] not in without]


def test_report_of_a_history_equals_pandas(
    demo_beacons: pd.DataFrame, demo_profiles: dict[str, Profile]
) -> None:
    # Rules read periods and uptime from the beacons; traces and corridors do not.
    options: dict[str, Any] = {"rules": INPUTS["rules"], "generated_at": WHEN}
    expected = build_report(demo_beacons, demo_profiles, **options)
    with History.from_frame(demo_beacons) as history:
        got = build_report(history, demo_profiles, **options)
    assert got.to_dict() == expected.to_dict()
    assert got.analysis is not None
    assert expected.analysis is not None
    assert len(got.analysis.incidents) == len(expected.analysis.incidents) > 5
    # The figures of a history draw its small tables, not its beacons.
    assert got.analysis.frequency is not None
    assert got.analysis.intervals is not None
    assert got.analysis.frequency["beacons"].sum() == len(demo_beacons)


def test_report_of_a_store_path_equals_its_files(
    store: Path,
    demo_load: BeaconLoad,
    demo_profiles: dict[str, Profile],
) -> None:
    window = {"start": "2026-01-19T00:30:00Z", "end": "2026-01-19T03:30:00Z"}
    options: dict[str, Any] = {**INPUTS, **window, "generated_at": WHEN}
    expected = build_report(demo_load, demo_profiles, **options)
    got = build_report(store, demo_profiles, **options)
    # The store's load report is its ingest's: the whole report is the same.
    assert _sections(got) == _sections(expected)
    assert (got.start, got.end) == (expected.start, expected.end)
    assert got.analysis is not None
    kinds = set(got.analysis.incidents["kind"])
    assert "quarantined_records" in kinds, "the store's rejects are reported"


def test_report_engine_pandas_loads_the_store(
    store: Path, demo_beacons: pd.DataFrame, demo_profiles: dict[str, Profile]
) -> None:
    start, end = "2026-01-19T01:00:00Z", "2026-01-19T02:00:00Z"
    got = build_report(
        store, demo_profiles, engine="pandas", generated_at=WHEN, start=start, end=end
    )
    assert got.analysis is not None
    assert isinstance(got.analysis.beacons, pd.DataFrame)
    inside = demo_beacons["ts"].between(start, end, inclusive="left")
    assert len(got.analysis.beacons) == int(inside.sum()) > 0
    assert got.analysis.frequency is None


def test_unknown_engine_is_refused(demo_beacons: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="unknown engine"):
        build_report(demo_beacons, engine="spark")  # type: ignore[arg-type]


def test_store_load_report_is_the_ingest_report(store: Path, demo_load: BeaconLoad) -> None:
    report = store_load_report(store)
    assert report is not None
    assert sorted(map(str, report.rejects)) == sorted(map(str, demo_load.report.rejects))
    assert report.to_dict() == demo_load.report.to_dict()


def test_figure_tables_sample_the_intervals(
    demo_beacons: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rtt_topology.aggregate.history import intervals
    from rtt_topology.report import analyses

    every = intervals(demo_beacons).dropna(subset=["interval_s"])
    with History.from_frame(demo_beacons) as history:
        frequency, whole = figure_tables(history)
        monkeypatch.setattr(analyses, "INTERVAL_SAMPLE", len(demo_beacons) // 4 + 1)
        monkeypatch.setattr(analyses, "CHUNK_ROWS", 2_000)
        _, sample = figure_tables(history)
        names = [str(s) for s in history.site_counts().index]
    assert sorted(whole["interval_s"]) == pytest.approx(sorted(every["interval_s"]), rel=1e-9)
    # Every fourth site, with all its intervals.
    assert set(sample["site"]) == set(names[::4])
    kept = every[every["site"].astype(str).isin(names[::4])]
    assert sorted(sample["interval_s"]) == pytest.approx(sorted(kept["interval_s"]), rel=1e-9)
    assert list(frequency.columns) == ["site", "bucket", "beacons"]
    assert str(frequency["bucket"].dtype) == "datetime64[ns, UTC]"
    assert frequency["beacons"].sum() == len(demo_beacons)
