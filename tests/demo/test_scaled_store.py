"""The scaled store writer: a history store's layout, read back by the store's readers."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from rtt_topology.aggregate.engines import History, is_store
from rtt_topology.demo.scaled import write_scaled_store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("scaled") / "store"
    written = write_scaled_store(
        root, services=30, days=2, period_s=300, restart_share=0.5, outage_share=0.2
    )
    assert written > 0
    return root


def test_layout_marker_and_manifest(store: Path) -> None:
    assert is_store(store)
    marker = json.loads((store / "rtt-store.json").read_text())
    assert marker == {"format": "rtt-topology-store", "version": 1}
    days = sorted(p.name for p in (store / "beacons").iterdir())
    assert days == ["day=2026-01-19", "day=2026-01-20"]
    (manifest,) = (store / "ingests").glob("*.json")
    data = json.loads(manifest.read_text())
    parts = sorted(str(p.relative_to(store / "beacons")) for p in store.glob("beacons/*/*"))
    assert sorted(data["parts"]) == parts
    assert all(Path(p).name.startswith(f"part-{data['id']}-") for p in parts)
    assert data["rows"] == sum(pq.read_metadata(store / "beacons" / p).num_rows for p in parts)


def test_files_hold_their_day_sorted_by_site_and_time(store: Path) -> None:
    for path in store.glob("beacons/day=*/*.parquet"):
        table = pq.read_table(path).to_pandas()
        day = path.parent.name.removeprefix("day=")
        assert (table["ts"].dt.strftime("%Y-%m-%d") == day).all()
        ordered = table.sort_values(["site", "ts"], kind="stable")
        assert table.index.equals(ordered.index)
        assert str(pq.read_schema(path).field("ts").type) == "timestamp[us, tz=UTC]"


def test_read_back_as_a_history(store: Path) -> None:
    with History.from_store(store) as history:
        frame = history.frame()
    assert frame["site"].nunique() == 30
    # 30 services x 2 days x 288 beacons a day, less the outages (20 % of 6 periods).
    assert 30 * 2 * 288 - 6 * 6 * 2 <= len(frame) <= 30 * 2 * 288
    gaps = frame.groupby("site", observed=True)["ts"].diff().dt.total_seconds().dropna()
    assert gaps.median() == pytest.approx(300, rel=0.02)
    # A restart: a startup beacon opening a new session.
    startups = frame[frame["event"] == "startup"]
    assert len(startups) > 0
    sessions = frame.groupby("site", observed=True)["session"].nunique()
    assert set(sessions) == {1, 2}
    assert (sessions == 2).sum() == len(startups)


def test_read_beacons_reads_the_store(store: Path) -> None:
    from rtt_topology.load import read_beacons

    start = pd.Timestamp("2026-01-20T00:00:00Z")
    table = read_beacons(store, start=start).beacons
    assert len(table) > 0
    assert (table["ts"] >= start).all()


def test_refuses_a_directory_with_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="new or empty directory"):
        write_scaled_store(tmp_path, services=2, days=1)
    assert (tmp_path / "notes.txt").read_text() == "keep me"
