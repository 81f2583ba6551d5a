from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import matplotlib
import pytest

from tests import DATA

matplotlib.use("Agg")


@pytest.fixture
def incident_kind() -> dict[str, str]:
    """The `find_incidents` kind expected for each incident type the demo injects.

    ``malformed_burst`` is absent: it is a ``quarantined_records`` incident named by
    its file rather than by its services.
    """
    return {
        "crash": "outage",
        "planned_stop": "planned_stop",
        "restart_storm": "restart_storm",
        "cadence_slowdown": "cadence_change",
        "structural_drift": "structural_drift",
        "undeclared_dependency": "undeclared_dependency",
        "layering_violation": "rule_violation",
    }


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def same_rows(tmp_path: Path) -> dict[str, Path]:
    """The same six beacons in every supported format (text ones copied, others built)."""
    import pyarrow.json as pj
    import pyarrow.parquet as pq

    src = DATA / "beacons"
    out: dict[str, Path] = {}
    for name in ("same_rows.jsonl", "same_rows.json", "same_rows.csv", "same_rows.log"):
        target = tmp_path / name
        shutil.copy(src / name, target)
        out[name.split(".", 1)[1]] = target
    gz = tmp_path / "same_rows.jsonl.gz"
    gz.write_bytes(gzip.compress((src / "same_rows.jsonl").read_bytes(), mtime=0))
    out["jsonl.gz"] = gz
    csv_gz = tmp_path / "same_rows.csv.gz"
    csv_gz.write_bytes(gzip.compress((src / "same_rows.csv").read_bytes(), mtime=0))
    out["csv.gz"] = csv_gz
    # Parquet with a nested structure column, as pyarrow writes JSON it read.
    table = pj.read_json(src / "same_rows.jsonl")
    parquet = tmp_path / "same_rows.parquet"
    pq.write_table(table, parquet)
    out["parquet"] = parquet
    return out
