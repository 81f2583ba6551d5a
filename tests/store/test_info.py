from __future__ import annotations

from pathlib import Path

from rtt_topology.store import IngestResult, ingest, store_info
from tests.store.conftest import beacon, write


def test_store_info_of_the_demo(demo_store: tuple[Path, IngestResult], demo_load) -> None:
    root, result = demo_store
    info = store_info(root)
    assert info.days == ("2026-01-19",)
    assert info.first_day == info.last_day == "2026-01-19"
    assert info.services == demo_load.beacons["site"].nunique()
    assert info.beacons == len(demo_load.beacons)
    assert info.rejects == demo_load.report.rejected
    assert (info.ingests, info.files) == (1, len(result.report.files))
    assert info.size_bytes == sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    assert info.to_dict()["first_day"] == "2026-01-19"


def test_store_info_counts_days_and_ingests(tmp_path: Path) -> None:
    root = tmp_path / "store"
    ingest(write(tmp_path / "a.jsonl", [beacon(ts="2026-01-19T23:59:59.999Z")]), root)
    ingest(write(tmp_path / "b.jsonl", [beacon(site="db", ts="2026-01-21T00:00:00Z")]), root)
    info = store_info(root)
    assert (info.days, info.services, info.beacons, info.ingests) == (
        ("2026-01-19", "2026-01-21"),
        2,
        2,
        2,
    )
