"""A Prometheus collector over the analysis of a beacon history, and a registry holding it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from rtt_topology._memo import reuse
from rtt_topology.export.metrics.catalogue import METRICS, MetricSpec
from rtt_topology.export.metrics.samples import gather_samples

if TYPE_CHECKING:
    import networkx as nx
    import pandas as pd

    from rtt_topology._timestamps import Instant
    from rtt_topology.aggregate.engines import Engine, History
    from rtt_topology.diagnostics.corridors import CorridorResults
    from rtt_topology.schemas import Profile

__all__ = ["RttCollector", "metrics_registry"]


class RttCollector(Collector):
    """A Prometheus collector whose values come from the analysis of a beacon history.

    The tables are computed once, when the collector is created; each
    ``collect()`` yields the same families, in
    :data:`~rtt_topology.export.metrics.METRICS` order, samples sorted by label
    values, metrics without samples left out. ``describe()`` names every metric,
    so registering two in one registry fails.

    Parameters
    ----------
    beacons, profiles, G, at, corridors, engine
        As in :func:`metrics_registry`.
    """

    def __init__(
        self,
        beacons: pd.DataFrame | History | None,
        profiles: Mapping[str, Profile] | None = None,
        G: nx.DiGraph[str] | None = None,
        *,
        at: Instant | None = None,
        corridors: CorridorResults | None = None,
        engine: Engine = "auto",
    ) -> None:
        with reuse():  # the liveness and coherence samples share their derived tables
            self._samples = gather_samples(beacons, profiles, G, at, corridors, engine).samples

    def collect(self) -> Iterator[Metric]:
        """Yield the metric families that have samples."""
        for spec in METRICS:
            samples = self._samples.get(spec.name)
            if not samples:
                continue
            family = _family(spec)
            for labels, value in sorted(samples, key=lambda s: _sort_key(spec, s[0])):
                # Sample directly: one family may mix label sets (service | cluster).
                family.samples.append(Sample(spec.name, labels, value))
            yield family

    def describe(self) -> Iterator[Metric]:
        """Yield every metric family the collector may write, without samples."""
        for spec in METRICS:
            yield _family(spec)


def _family(spec: MetricSpec) -> Metric:
    if spec.type == "counter":
        # The client adds "_total" to a counter's family name itself.
        return CounterMetricFamily(spec.name, spec.help, labels=[])
    return GaugeMetricFamily(spec.name, spec.help, labels=[])


def _sort_key(spec: MetricSpec, labels: dict[str, str]) -> tuple[int, tuple[str, ...]]:
    return spec.label_sets.index(tuple(labels)), tuple(labels.values())


def metrics_registry(
    beacons: pd.DataFrame | History | None,
    profiles: Mapping[str, Profile] | None = None,
    G: nx.DiGraph[str] | None = None,
    *,
    at: Instant | None = None,
    corridors: CorridorResults | None = None,
    engine: Engine = "auto",
) -> CollectorRegistry:
    r"""Return a new Prometheus registry holding the metrics of a beacon history.

    Parameters
    ----------
    beacons
        A beacon table, or a :class:`~rtt_topology.aggregate.engines.History` (a
        history store, analysed out of core); ``None``: no beacons.
    profiles
        Profiles keyed by site: declared periods, declared services never seen
        (state ``missing``, 0 beacons), the declaration component of coherence.
    G
        The service graph (:func:`~rtt_topology.graph.build_graph`): traced edges,
        and the group of each service for the per-cluster drift sums. It is used
        as given: build it with ``end=at`` to count calls up to ``at`` only.
    at
        The moment described (timezone-aware, or ISO 8601 with offset); only
        beacons with ``ts <= at`` count. Default: the last beacon.
    corridors
        Corridor results (:func:`~rtt_topology.diagnostics.corridors.check_corridors`).
    engine
        ``"pandas"``, ``"duckdb"`` or ``"auto"``
        (:func:`~rtt_topology.aggregate.engines.choose_engine`).

    Returns
    -------
    prometheus_client.CollectorRegistry
        A registry of its own (never the global ``REGISTRY``) with one
        :class:`RttCollector`.

    Examples
    --------
    >>> from rtt_topology.load import beacons_from_records
    >>> beacons, _ = beacons_from_records([
    ...     {"site": "auth", "session": "s1", "event": "heartbeat", "ts": "2026-01-19T15:00:00Z"},
    ...     {"site": "auth", "session": "s1", "event": "heartbeat", "ts": "2026-01-19T15:00:30Z"},
    ...     {"site": "east", "session": "c", "event": "cluster_heartbeat",
    ...      "ts": "2026-01-19T15:00:10Z"},
    ... ])
    >>> registry = metrics_registry(beacons)
    >>> registry.get_sample_value("rtt_beacons_total", {"service": "auth"})
    2.0
    >>> registry.get_sample_value("rtt_beacons_total", {"cluster": "east"})
    1.0
    >>> registry.get_sample_value("rtt_service_state", {"service": "auth", "state": "up"})
    1.0
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RttCollector(beacons, profiles, G, at=at, corridors=corridors, engine=engine))
    return registry
