"""Fixtures of the history store tests: the demo ingested once, and small beacon files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rtt_topology.store import IngestResult, ingest
from tests import DEMO


def beacon(site: str = "auth", ts: str = "2026-01-19T15:00:00Z", **extra: object) -> str:
    """One beacon as a JSON line."""
    record: dict[str, object] = {"site": site, "session": "s1", "event": "heartbeat", "ts": ts}
    record.update(extra)
    return json.dumps(record)


def write(path: Path, lines: list[str]) -> Path:
    """Write JSON lines to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file of a store (but its lock) with its bytes."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, IngestResult]:
    """A store holding the demo's beacon files (do not ingest into it: copy it)."""
    root = tmp_path_factory.mktemp("store") / "demo"
    return root, ingest(DEMO / "beacons", root)
