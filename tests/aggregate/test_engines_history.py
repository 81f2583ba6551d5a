"""History: a beacon history that DuckDB scans, from a table or a store's Parquet files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rtt_topology.aggregate.engines import (
    AUTO_ROWS,
    STORE_MARKER,
    History,
    choose_engine,
    engine_input,
    is_store,
)
from rtt_topology.columns import empty_beacon_frame
from rtt_topology.errors import InputError
from rtt_topology.load import read_beacons

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo" / "beacons"


@pytest.fixture(scope="module")
def demo() -> pd.DataFrame:
    return read_beacons(DEMO).beacons


def write_store(frame: pd.DataFrame, root: Path) -> Path:
    """A store in the documented layout, written by hand (one file per day)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / STORE_MARKER).write_text(json.dumps({"format": "rtt-topology-store", "version": 1}))
    table = frame.copy()
    for name in ("site", "session", "event", "url", "title", "source"):
        table[name] = table[name].astype(object).where(table[name].notna(), None)
    table["extra"] = table["extra"].astype(object).where(table["extra"].notna(), None)
    for name in ("ts", "received_at"):
        table[name] = table[name].astype("datetime64[us, UTC]")
    days = table["ts"].dt.strftime("%Y-%m-%d")
    for day, part in table.groupby(days):
        folder = root / "beacons" / f"day={day}"
        folder.mkdir(parents=True)
        pq.write_table(
            pa.Table.from_pandas(part, preserve_index=False), folder / "part-a-0.parquet"
        )
    # The manifest publishes the ingest "a": its part files are now part of the store.
    (root / "ingests").mkdir()
    (root / "ingests" / "a.json").write_text("{}")
    return root


def test_a_table_scanned_by_duckdb_comes_back_as_read(demo: pd.DataFrame) -> None:
    with History.from_frame(demo) as history:
        assert len(history) == len(demo)
        assert history.bounds() == (demo["ts"].min(), demo["ts"].max())
        back = history.frame()
    pd.testing.assert_frame_equal(back, demo.reset_index(drop=True))


def test_the_window_and_the_sites_are_pushed_down(demo: pd.DataFrame) -> None:
    start, end = pd.Timestamp("2026-01-19T01:00:00Z"), pd.Timestamp("2026-01-19T02:00:00Z")
    sites = ["api-gateway", "dc-east"]
    with History.from_frame(demo, start=start, end=end, sites=sites) as history:
        got = history.frame()
    keep = (demo["ts"] >= start) & (demo["ts"] < end) & demo["site"].isin(sites)
    want = demo[keep].reset_index(drop=True)
    assert len(got) == len(want) > 0
    assert got["ts"].tolist() == want["ts"].tolist()
    assert set(got["site"].astype(str)) == set(sites)


def test_site_chunks_never_split_a_site_and_bound_the_rows(demo: pd.DataFrame) -> None:
    with History.from_frame(demo) as history:
        counts = history.site_counts()
        chunks = history.site_chunks(2_000)
        frames = list(history.frames(2_000))
    assert counts.to_dict() == demo["site"].astype(str).value_counts().to_dict()
    assert sorted(s for chunk in chunks for s in chunk) == sorted(counts.index)
    for chunk in chunks:
        assert len(chunk) == 1 or counts[chunk].sum() <= 2_000
    assert sum(len(f) for f in frames) == len(demo)


def test_a_store_is_scanned_with_its_day_partitions(demo: pd.DataFrame, tmp_path: Path) -> None:
    store = write_store(demo, tmp_path / "store")
    assert is_store(store)
    with History.from_store(store, sites=["dc-west"]) as history:
        got = history.frame()
        assert history.store == store
    want = demo[demo["site"] == "dc-west"].reset_index(drop=True)
    assert got["ts"].tolist() == want["ts"].tolist()
    assert got["session"].astype(str).tolist() == want["session"].astype(str).tolist()


def test_files_of_an_unpublished_ingest_are_not_read(demo: pd.DataFrame, tmp_path: Path) -> None:
    store = write_store(demo, tmp_path / "store")
    (store / "ingests" / "a.json").unlink()
    with History.from_store(store) as history:
        assert len(history) == 0


def test_an_empty_store_is_an_empty_history(tmp_path: Path) -> None:
    store = write_store(empty_beacon_frame(), tmp_path / "store")
    with History.from_store(store) as history:
        assert len(history) == 0
        assert history.bounds() == (None, None)
        assert history.frame().empty


def test_errors_name_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a history store"):
        History.from_store(tmp_path)
    with pytest.raises(InputError, match="must be before"):
        History.from_frame(
            empty_beacon_frame(), start="2026-01-02T00:00:00Z", end="2026-01-01T00:00:00Z"
        )
    with pytest.raises(InputError, match="threads"):
        History.from_frame(empty_beacon_frame(), threads=0)
    with pytest.raises(InputError, match="DuckDB refused"):
        History.from_frame(empty_beacon_frame(), memory_limit="lots")
    with pytest.raises(InputError, match="unknown engine"):
        choose_engine(empty_beacon_frame(), "spark-ish")


def test_settings_reach_duckdb() -> None:
    with History.from_frame(empty_beacon_frame(), memory_limit="512MB", threads=1) as history:
        settings = history.sql(
            "SELECT name, value FROM duckdb_settings() WHERE name IN ('threads', 'memory_limit')"
        )
    values = dict(zip(settings["name"], settings["value"], strict=True))
    assert values["threads"] == "1"
    assert values["memory_limit"].startswith(("488", "512"))


def test_auto_picks_duckdb_for_histories_and_large_tables(demo: pd.DataFrame) -> None:
    assert choose_engine(demo, "auto") == "pandas"
    assert len(demo) < AUTO_ROWS
    with History.from_frame(demo) as history:
        assert choose_engine(history, "auto") == "duckdb"
        assert choose_engine(history, "pandas") == "pandas"
        with engine_input(history, "pandas") as data:
            assert isinstance(data, pd.DataFrame)
            assert len(data) == len(demo)
    with engine_input(demo, "duckdb") as data:
        assert isinstance(data, History)
        assert len(data) == len(demo)
    with engine_input(demo, "pandas") as data:
        assert data is demo


def test_duckdb_spills_into_a_private_folder_removed_on_close() -> None:
    history = History.from_frame(empty_beacon_frame())
    folder = Path(history.sql("SELECT current_setting('temp_directory') AS d")["d"].iloc[0])
    assert folder.name.startswith("rtt-topology-duckdb-")
    assert folder.is_dir()
    history.close()
    assert not folder.exists()
