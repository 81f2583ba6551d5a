from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from rtt_topology.aggregate.engines import History
from rtt_topology.errors import InputError
from rtt_topology.load import read_beacons
from rtt_topology.load.store import read_store
from rtt_topology.store import IngestResult, ingest
from tests.store.conftest import beacon, write

SITES = ("auth", "db", "cache")


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Beacons of three sites over a week, as one file and as a store."""
    folder = tmp_path_factory.mktemp("week")
    lines = [
        beacon(site=site, ts=f"2026-01-{19 + day}T{hour:02d}:{minute:02d}:00Z")
        for day in range(7)
        for hour in (0, 11, 23)
        for minute in (0, 59)
        for site in SITES
    ]
    path = write(folder / "week.jsonl", lines)
    root = folder / "store"
    ingest(path, root)
    return path, root


@pytest.mark.parametrize(
    ("start", "end", "sites"),
    [
        (None, None, None),
        ("2026-01-20T11:00:00Z", "2026-01-22T23:59:00Z", None),
        ("2026-01-21T00:00:00+02:00", None, ["db"]),
        (None, "2026-01-19T11:59:00.000001Z", ["auth", "cache", "nobody"]),
        (None, None, []),
    ],
)
def test_window_and_sites_equal_filtering_the_whole_table(
    week: tuple[Path, Path], start: str | None, end: str | None, sites: list[str] | None
) -> None:
    path, root = week
    stored = read_beacons(root, start=start, end=end, sites=sites)
    from_file = read_beacons(path, start=start, end=end, sites=sites)
    pd.testing.assert_frame_equal(
        stored.beacons.drop(columns="source"), from_file.beacons.drop(columns="source")
    )
    full = read_beacons(path).beacons
    mask = pd.Series(True, index=full.index)
    if start is not None:
        mask &= full["ts"] >= pd.Timestamp(start)
    if end is not None:
        mask &= full["ts"] < pd.Timestamp(end)
    if sites is not None:
        mask &= full["site"].isin(sites)
    assert len(stored.beacons) == int(mask.sum()) == stored.report.accepted
    assert stored.beacons["ts"].tolist() == full.loc[mask, "ts"].tolist()


def test_days_outside_the_window_are_not_read(week: tuple[Path, Path]) -> None:
    _, root = week
    load = read_store(root, start="2026-01-21T12:00:00Z", end="2026-01-22T00:00:00Z")
    assert [Path(f.source).parent.name for f in load.report.files] == ["day=2026-01-21"]
    assert len(load.beacons) == 2 * len(SITES)


def test_a_store_reads_as_history_frames(demo_store: tuple[Path, IngestResult]) -> None:
    root, _ = demo_store
    with History.from_store(root) as history:
        pd.testing.assert_frame_equal(history.frame(), read_beacons(root).beacons)


def test_bad_windows_and_paths(tmp_path: Path, week: tuple[Path, Path]) -> None:
    _, root = week
    with pytest.raises(InputError, match="must be before"):
        read_beacons(root, start="2026-01-21T00:00:00Z", end="2026-01-20T00:00:00Z")
    with pytest.raises(InputError, match="not a history store"):
        read_store(tmp_path)


def test_an_empty_store(tmp_path: Path) -> None:
    root = tmp_path / "store"
    ingest(write(tmp_path / "bad.jsonl", ["{nope"]), root)
    load = read_beacons(root)
    assert load.beacons.empty
    assert list(load.beacons.columns)[:3] == ["site", "session", "event"]
