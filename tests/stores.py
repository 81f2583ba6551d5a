"""A history store of the demo datacenter, for the tests that compare engines.

:func:`demo_store` ingests the demo's beacon files into a store with
:func:`rtt_topology.store.ingest`, so that every command and entry point can be run
on the files and on the store and the results compared.
"""

from __future__ import annotations

from pathlib import Path

from tests import DEMO

__all__ = ["demo_store"]


def demo_store(folder: Path) -> Path:
    """Ingest the demo's beacons into a new store under ``folder``; return the store."""
    from rtt_topology.store import ingest

    store = folder / "store"
    ingest(DEMO / "beacons", store)
    return store
