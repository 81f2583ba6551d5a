"""Service graph conversions: node-link JSON, DataFrames, GraphML and Graphviz DOT."""

from rtt_topology.graph.io.convert import (
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

__all__ = [
    "from_node_link",
    "graph_from_frames",
    "graph_to_frames",
    "read_node_link",
    "to_dot",
    "to_node_link",
    "write_dot",
    "write_graphml",
    "write_node_link",
]
