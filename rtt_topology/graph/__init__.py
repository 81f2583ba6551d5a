"""The service graph: its contract, how it is built, checked, reconciled and converted."""

from rtt_topology.graph.build import (
    EDGE_TABLE_COLUMNS,
    add_declared_edge,
    add_service,
    build_graph,
    span_services,
)
from rtt_topology.graph.contract import (
    EDGE_ATTRIBUTES,
    EDGE_KINDS,
    GRAPH_ATTRIBUTES,
    NODE_ATTRIBUTES,
    PROVENANCES,
    Attribute,
)
from rtt_topology.graph.io import (
    from_node_link,
    graph_from_frames,
    graph_to_frames,
    read_node_link,
    to_dot,
    to_node_link,
    write_dot,
    write_graphml,
    write_node_link,
)
from rtt_topology.graph.reconciliation import (
    GraphDiff,
    Reconciliation,
    diff_graphs,
    reconcile,
)
from rtt_topology.graph.validate import validate_graph

__all__ = [
    "EDGE_ATTRIBUTES",
    "EDGE_KINDS",
    "EDGE_TABLE_COLUMNS",
    "GRAPH_ATTRIBUTES",
    "NODE_ATTRIBUTES",
    "PROVENANCES",
    "Attribute",
    "GraphDiff",
    "Reconciliation",
    "add_declared_edge",
    "add_service",
    "build_graph",
    "diff_graphs",
    "from_node_link",
    "graph_from_frames",
    "graph_to_frames",
    "read_node_link",
    "reconcile",
    "span_services",
    "to_dot",
    "to_node_link",
    "validate_graph",
    "write_dot",
    "write_graphml",
    "write_node_link",
]
