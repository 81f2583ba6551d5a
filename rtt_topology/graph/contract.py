"""The service graph contract: which node, edge and graph attributes exist, with types and units.

The service graph is a :class:`networkx.DiGraph`. Nodes are services (or
uninstrumented peers seen only in traces); an edge ``u -> v`` means *u calls v*.
This module states, once, which attributes every node, edge and the graph carry;
:func:`rtt_topology.graph.validate_graph` checks a graph against it and the
exporters of :mod:`rtt_topology.graph.io` convert by it.

Attribute values are plain Python: ``str``, ``int``, ``float``, ``bool``,
timezone-aware UTC :class:`~datetime.datetime`, lists of ``str``, or ``None`` where
the table says *optional*. No numpy or pandas scalars.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from rtt_topology.load.traces.edges import EDGE_KINDS

__all__ = [
    "EDGE_ATTRIBUTES",
    "EDGE_KINDS",
    "GRAPH_ATTRIBUTES",
    "NODE_ATTRIBUTES",
    "PROVENANCES",
    "Attribute",
]


@dataclass(frozen=True, slots=True)
class Attribute:
    """One attribute of the contract.

    Attributes
    ----------
    type
        The Python type of a value: ``str``, ``int``, ``float``, ``bool``,
        ``datetime`` or ``list`` (a list of ``str``).
    optional
        Whether the value may be ``None`` (unknown or not applicable).
    description
        What it means, with its unit.
    """

    type: type
    optional: bool
    description: str


#: Values of the edge attribute ``provenance``.
PROVENANCES: Final = ("traced", "declared", "both")

NODE_ATTRIBUTES: Final[dict[str, Attribute]] = {
    "group": Attribute(str, True, "site or cluster the service belongs to"),
    "observed": Attribute(bool, False, "beacons were seen in the window"),
    "declared": Attribute(bool, False, "a profile exists"),
    "traced": Attribute(bool, False, "the service appears in trace spans or dependency links"),
    "virtual": Attribute(bool, False, "an uninstrumented peer, known only from its callers' spans"),
    # From the profile (None when there is none, or the field is absent).
    "rtt_version": Attribute(str, True, "profile: RTT version"),
    "supports": Attribute(list, False, "profile: capabilities ([] without a profile)"),
    "contact": Attribute(str, True, "profile: contact"),
    "depends_on": Attribute(list, False, "profile: declared dependencies"),
    "heartbeat_interval_s": Attribute(float, True, "profile: declared beacon period, seconds"),
    "layer": Attribute(str, True, "profile: layer or tier"),
    "owner": Attribute(str, True, "profile: owner"),
    "lifecycle": Attribute(str, True, "profile: production, experimental, deprecated..."),
    "tags": Attribute(list, False, "profile: tags"),
    # From the beacons (None or 0 when the service sent none in the window).
    "beacons": Attribute(int, False, "beacons received in the window"),
    "sessions": Attribute(int, False, "distinct sessions in the window"),
    "first_seen": Attribute(datetime, True, "first beacon in the window, UTC"),
    "last_seen": Attribute(datetime, True, "last beacon in the window, UTC"),
    "median_interval_s": Attribute(float, True, "median seconds between consecutive beacons"),
}

EDGE_ATTRIBUTES: Final[dict[str, Attribute]] = {
    "kind": Attribute(str, False, "rpc, messaging, database or virtual"),
    "provenance": Attribute(str, False, "traced, declared, or both"),
    "calls": Attribute(int, False, "calls seen in traces in the window (0 if only declared)"),
    "errors": Attribute(int, False, "calls that failed"),
    "error_rate": Attribute(float, True, "errors / calls; None without calls"),
    "p50_ms": Attribute(float, True, "median callee-side latency, milliseconds"),
    "p95_ms": Attribute(float, True, "95th percentile callee-side latency, milliseconds"),
    "first_seen": Attribute(datetime, True, "first traced call, UTC"),
    "last_seen": Attribute(datetime, True, "last traced call, UTC"),
    "sample_trace_ids": Attribute(list, False, "a few trace ids showing the call"),
}

GRAPH_ATTRIBUTES: Final[dict[str, Attribute]] = {
    "window_start": Attribute(datetime, True, "inputs were restricted to ts >= this, UTC"),
    "window_end": Attribute(datetime, True, "inputs were restricted to ts < this, UTC"),
    "inputs": Attribute(list, False, "inputs used: 'beacons', 'profiles', 'traces'"),
    "clusters": Attribute(
        list, False, "sites that send only cluster heartbeats: groups, not service nodes"
    ),
    "rtt_topology_version": Attribute(str, False, "version of rtt-topology that built it"),
}
