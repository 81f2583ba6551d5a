"""The history store: beacon histories as day-partitioned Parquet, ingested once, read fast.

:func:`ingest` reads beacon files by the rules of :func:`~rtt_topology.load.read_beacons`
and adds their new beacons to a store; :func:`store_info` describes a store and
:func:`read_rejects` returns what its ingests quarantined. Read a store with
``read_beacons(STORE, start=, end=, sites=)`` or scan it with DuckDB through
:class:`rtt_topology.aggregate.engines.History`. The layout is described in
:mod:`rtt_topology.load.store`; the publish protocol in :mod:`rtt_topology.store.layout`.
"""

from rtt_topology.store.info import StoreInfo, read_rejects, store_info
from rtt_topology.store.ingestion import IngestResult, ingest

__all__ = ["IngestResult", "StoreInfo", "ingest", "read_rejects", "store_info"]
