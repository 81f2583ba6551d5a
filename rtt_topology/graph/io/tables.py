"""Convert service graphs to and from node-link JSON data and pandas frames."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import networkx as nx
import numpy as np
import pandas as pd

from rtt_topology.errors import InputError
from rtt_topology.graph.contract import (
    EDGE_ATTRIBUTES,
    GRAPH_ATTRIBUTES,
    NODE_ATTRIBUTES,
    Attribute,
)
from rtt_topology.graph.io.values import (
    GRAPH_WHERE,
    MISSING,
    bad,
    edge_where,
    export_graph,
    import_value,
    iso,
    node_where,
    python_cell,
    type_name,
)

__all__ = ["frames", "frames_graph", "json_value", "node_link_data", "node_link_graph"]

# --- node-link JSON --------------------------------------------------------------------------

_NODE_LINK_NODE = {"id": "node-link JSON keeps the node name under 'id'"}
_NODE_LINK_EDGE = {
    "source": "node-link JSON keeps the caller under 'source'",
    "target": "node-link JSON keeps the callee under 'target'",
}


def json_value(value: Any) -> Any:
    """Render a canonical value as JSON: datetimes become text."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, list):
        return [json_value(item) for item in value]
    if isinstance(value, dict):
        return {key: json_value(item) for key, item in value.items()}
    return value


def node_link_data(G: object) -> dict[str, Any]:
    """Check ``G`` and return it as node-link data of JSON values."""
    graph = export_graph(G, node_reserved=_NODE_LINK_NODE, edge_reserved=_NODE_LINK_EDGE)
    return {
        "directed": True,
        "multigraph": False,
        "graph": json_value(graph.graph),
        "nodes": [{"id": name, **json_value(data)} for name, data in graph.nodes],
        "edges": [{"source": u, "target": v, **json_value(data)} for u, v, data in graph.edges],
    }


def _import_attrs(
    data: Mapping[str, Any], contract: Mapping[str, Attribute], where: str, skip: tuple[str, ...]
) -> dict[str, Any]:
    # Other attributes are copied: the graph must not share lists with the caller's data.
    return {
        key: import_value(value, contract.get(key), where, key)
        if key in contract
        else copy.deepcopy(value)
        for key, value in data.items()
        if key not in skip
    }


def _record(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise bad(where, None, f"expected a JSON object, got {type_name(value)}")
    return value


def _record_name(record: Mapping[str, Any], key: str, where: str) -> str:
    if key not in record:
        raise bad(where, None, f"no {key!r}")
    name = record[key]
    if not isinstance(name, str):
        raise bad(where, None, f"{key!r} must be a string (a service name), got {type_name(name)}")
    return name


def node_link_graph(data: object) -> nx.DiGraph[str]:
    """Build a graph from node-link data, restoring contract types."""
    if not isinstance(data, Mapping):
        raise InputError(f"node-link data must be a JSON object, got {type_name(data)}")
    if data.get("directed", True) is not True:
        raise InputError(
            "node-link data describes an undirected graph; a service graph is directed"
        )
    if data.get("multigraph", False) is not False:
        raise InputError("node-link data describes a multigraph; a service graph is not one")
    graph_attrs = _record(data.get("graph", {}), GRAPH_WHERE)
    nodes = data.get("nodes", [])
    # networkx before 3.4 wrote "links".
    edges = data["edges"] if "edges" in data else data.get("links", [])
    for key, value in (("nodes", nodes), ("edges", edges)):
        if not isinstance(value, list):
            raise InputError(f"node-link {key!r} must be a JSON array, got {type_name(value)}")
    G: nx.DiGraph[str] = nx.DiGraph()
    G.graph.update(_import_attrs(graph_attrs, GRAPH_ATTRIBUTES, GRAPH_WHERE, ()))
    for i, item in enumerate(nodes):
        record = _record(item, f"nodes[{i}]")
        name = _record_name(record, "id", f"nodes[{i}]")
        where = node_where(name)
        if name in G:
            raise bad(where, None, "listed twice")
        G.add_node(name)
        G.nodes[name].update(_import_attrs(record, NODE_ATTRIBUTES, where, ("id",)))
    for i, item in enumerate(edges):
        record = _record(item, f"edges[{i}]")
        u = _record_name(record, "source", f"edges[{i}]")
        v = _record_name(record, "target", f"edges[{i}]")
        _add_edge(G, u, v, ("source", "target"), "nodes")
        where = edge_where(u, v)
        G.succ[u][v].update(_import_attrs(record, EDGE_ATTRIBUTES, where, ("source", "target")))
    return G


def _add_edge(G: nx.DiGraph[str], u: str, v: str, ends: tuple[str, str], nodes: str) -> None:
    where = edge_where(u, v)
    for end, node in zip(ends, (u, v), strict=True):
        if node not in G:
            raise bad(where, None, f"{end} {node!r} is not in the {nodes}")
    if G.has_edge(u, v):
        raise bad(where, None, "listed twice")
    G.add_edge(u, v)


# --- DataFrames ------------------------------------------------------------------------------

_FRAME_NODE = {"name": "the nodes frame keeps the node name as 'name'"}
_FRAME_EDGE = {
    "caller": "the edges frame keeps the caller as 'caller'",
    "callee": "the edges frame keeps the callee as 'callee'",
}
_DTYPES: Final[dict[type, str]] = {
    int: "Int64",
    float: "float64",
    str: "string",
    datetime: "datetime64[ns, UTC]",
}


def _column(values: list[Any], kind: type | None, index: pd.Index) -> pd.Series:
    """One frame column: the dtype of its one scalar type, else objects."""
    if kind is bool:
        complete = all(value is not None for value in values)
        return pd.Series(values, index=index, dtype="bool" if complete else "boolean")
    if kind in _DTYPES:
        return pd.Series(values, index=index, dtype=_DTYPES[kind])
    cells = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        cells[i] = value
    return pd.Series(cells, index=index, dtype=object)


def _scalar_kind(values: list[Any]) -> type | None:
    kinds = {type(value) for value in values if value is not None}
    if len(kinds) == 1:
        (kind,) = kinds
        if kind in (bool, int, float, str, datetime):
            return kind
    return None


def _frame(
    rows: list[dict[str, Any]], contract: Mapping[str, Attribute], index: pd.Index
) -> dict[str, pd.Series]:
    extras = list(dict.fromkeys(key for row in rows for key in row if key not in contract))
    columns = {}
    for key in [*contract, *extras]:
        values = [row.get(key) for row in rows]
        kind = contract[key].type if key in contract else _scalar_kind(values)
        columns[key] = _column(values, kind, index)
    return columns


def frames(G: object) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check ``G`` and return its nodes and edges frames."""
    graph = export_graph(G, node_reserved=_FRAME_NODE, edge_reserved=_FRAME_EDGE)
    names = pd.Index([name for name, _ in graph.nodes], dtype="string", name="name")
    nodes = pd.DataFrame(_frame([data for _, data in graph.nodes], NODE_ATTRIBUTES, names))
    index = pd.RangeIndex(len(graph.edges))
    ends = {
        "caller": pd.Series([u for u, _, _ in graph.edges], index=index, dtype="string"),
        "callee": pd.Series([v for _, v, _ in graph.edges], index=index, dtype="string"),
    }
    edge_columns = _frame([data for _, _, data in graph.edges], EDGE_ATTRIBUTES, index)
    return nodes, pd.DataFrame({**ends, **edge_columns}, index=index)


def _row_attrs(
    columns: dict[str, list[Any]], row: int, contract: Mapping[str, Attribute], where: str
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, values in columns.items():
        value = python_cell(values[row])
        attr = contract.get(key)
        if value is MISSING:
            # A required attribute without a value was absent; anything else was None.
            if attr is None or attr.optional:
                out[key] = None
        else:
            out[key] = import_value(value, attr, where, key, integral_floats=True)
    return out


def _names(values: list[Any], what: str) -> list[str]:
    names = []
    for i, value in enumerate(values):
        name = python_cell(value)
        if not isinstance(name, str):
            raise InputError(f"{what}, row {i}: a service name must be a string, got {name!r}")
        names.append(name)
    return names


def _columns(frame: pd.DataFrame, what: str, skip: tuple[str, ...]) -> dict[str, list[Any]]:
    for key in frame.columns:
        if not isinstance(key, str):
            raise InputError(f"{what}: column names must be strings, got {key!r}")
    return {str(key): frame[key].tolist() for key in frame.columns if key not in skip}


def frames_graph(nodes: object, edges: object, graph_attrs: object) -> nx.DiGraph[str]:
    """Build a graph from a nodes frame, an edges frame and graph attributes."""
    if not isinstance(nodes, pd.DataFrame):
        raise InputError(f"nodes must be a pandas DataFrame, got {type_name(nodes)}")
    if not isinstance(edges, pd.DataFrame):
        raise InputError(f"edges must be a pandas DataFrame, got {type_name(edges)}")
    if not (graph_attrs is None or isinstance(graph_attrs, Mapping)):
        raise InputError(f"graph_attrs must be a mapping, got {type_name(graph_attrs)}")
    for key in ("caller", "callee"):
        if key not in edges.columns:
            raise InputError(f"the edges frame has no {key!r} column")
    by_column = "name" in nodes.columns
    names = _names(nodes["name"].tolist() if by_column else nodes.index.tolist(), "nodes")
    node_columns = _columns(nodes, "nodes", ("name",) if by_column else ())
    G: nx.DiGraph[str] = nx.DiGraph()
    graph_columns = {str(key): [value] for key, value in (graph_attrs or {}).items()}
    G.graph.update(_row_attrs(graph_columns, 0, GRAPH_ATTRIBUTES, GRAPH_WHERE))
    for row, name in enumerate(names):
        where = node_where(name)
        if name in G:
            raise bad(where, None, "listed twice")
        G.add_node(name)
        G.nodes[name].update(_row_attrs(node_columns, row, NODE_ATTRIBUTES, where))
    callers = _names(edges["caller"].tolist(), "edges")
    callees = _names(edges["callee"].tolist(), "edges")
    edge_columns = _columns(edges, "edges", ("caller", "callee"))
    for row, (u, v) in enumerate(zip(callers, callees, strict=True)):
        _add_edge(G, u, v, ("caller", "callee"), "nodes frame")
        G.succ[u][v].update(_row_attrs(edge_columns, row, EDGE_ATTRIBUTES, edge_where(u, v)))
    return G
