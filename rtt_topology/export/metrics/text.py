"""Write the metrics in the Prometheus text format: as a string, or a node_exporter textfile."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from prometheus_client import generate_latest, write_to_textfile

from rtt_topology.export.metrics.collector import metrics_registry

if TYPE_CHECKING:
    import networkx as nx
    import pandas as pd

    from rtt_topology._timestamps import Instant
    from rtt_topology.aggregate.engines import Engine, History
    from rtt_topology.diagnostics.corridors import CorridorResults
    from rtt_topology.schemas import Profile

__all__ = ["exposition", "write_textfile"]


def exposition(
    beacons: pd.DataFrame | History | None,
    profiles: Mapping[str, Profile] | None = None,
    G: nx.DiGraph[str] | None = None,
    *,
    at: Instant | None = None,
    corridors: CorridorResults | None = None,
    engine: Engine = "auto",
) -> str:
    r"""Return the metrics of a beacon history in the Prometheus text format (0.0.4).

    Parameters
    ----------
    beacons, profiles, G, at, corridors, engine
        As in :func:`~rtt_topology.export.metrics.metrics_registry`.

    Returns
    -------
    str
        HELP and TYPE lines and the samples of every metric that has some, as
        ``prometheus_client.generate_latest`` writes them.

    Examples
    --------
    >>> from rtt_topology.load import beacons_from_records
    >>> beacons, _ = beacons_from_records(
    ...     [{"site": "auth", "session": "s1", "event": "heartbeat", "ts": "2026-01-19T15:00:00Z"}]
    ... )
    >>> text = exposition(beacons)
    >>> print("\n".join(text.splitlines()[:3]))
    # HELP rtt_beacons_total Beacons received per service, or a cluster's own ...
    # TYPE rtt_beacons_total counter
    rtt_beacons_total{service="auth"} 1.0
    >>> print(exposition(None))  # doctest: +NORMALIZE_WHITESPACE
    # HELP rtt_topology_build_info Always 1; the version of rtt-topology that wrote the metrics.
    # TYPE rtt_topology_build_info gauge
    rtt_topology_build_info{version="..."} 1.0
    """
    registry = metrics_registry(beacons, profiles, G, at=at, corridors=corridors, engine=engine)
    return generate_latest(registry).decode("utf-8")


def write_textfile(
    path: str | os.PathLike[str],
    beacons: pd.DataFrame | History | None,
    profiles: Mapping[str, Profile] | None = None,
    G: nx.DiGraph[str] | None = None,
    *,
    at: Instant | None = None,
    corridors: CorridorResults | None = None,
    engine: Engine = "auto",
) -> None:
    r"""Write the metrics to a file for node_exporter's textfile collector, atomically.

    The text is written to a temporary file in the same directory, then renamed
    over ``path`` (``prometheus_client.write_to_textfile``): a reader sees the
    previous file or the new one, never a partial one; if writing fails the
    previous file is left as it was and the temporary file is removed. The
    textfile collector reads only files named ``*.prom``.

    Parameters
    ----------
    path
        The file to write (its directory must exist).
    beacons, profiles, G, at, corridors, engine
        As in :func:`~rtt_topology.export.metrics.metrics_registry`.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "rtt.prom"
    >>> write_textfile(target, None)
    >>> target.read_text().splitlines()[-1]
    'rtt_topology_build_info{version="..."} 1.0'
    """
    registry = metrics_registry(beacons, profiles, G, at=at, corridors=corridors, engine=engine)
    write_to_textfile(os.fspath(path), registry)
