"""Render service graphs as GraphML and Graphviz DOT, for rtt_topology.graph.io."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import networkx as nx

from rtt_topology.graph.contract import (
    EDGE_ATTRIBUTES,
    GRAPH_ATTRIBUTES,
    NODE_ATTRIBUTES,
    Attribute,
)
from rtt_topology.graph.io.tables import json_value
from rtt_topology.graph.io.values import (
    GRAPH_WHERE,
    bad,
    edge_where,
    export_graph,
    iso,
    node_where,
)

__all__ = ["dot_quote", "dot_text", "graphml_graph"]

# --- GraphML ---------------------------------------------------------------------------------

# Characters XML 1.0 cannot hold, even escaped.
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_GRAPHML_GRAPH = {
    "id": "networkx's GraphML writer takes it as the graph's id",
    "node_default": "networkx's GraphML writer takes it as node defaults",
    "edge_default": "networkx's GraphML writer takes it as edge defaults",
}
_GRAPHML_KIND = {bool: bool, int: int, float: float}


def _xml_text(text: str, where: str, key: str | None) -> str:
    found = _XML_ILLEGAL.search(text)
    if found:
        raise bad(where, key, f"XML cannot hold the character U+{ord(found.group()):04X}")
    return text


def _graphml_kind(values: list[Any], attr: Attribute | None) -> type:
    """Pick the Python type networkx maps to attr.type (boolean, long, double, string)."""
    if attr is not None:
        return _GRAPHML_KIND.get(attr.type, str)
    kinds = {type(value) for value in values if value is not None}
    if len(kinds) == 1:
        return _GRAPHML_KIND.get(next(iter(kinds)), str)
    return float if kinds and kinds <= {int, float} else str


def _graphml_value(value: Any, kind: type, where: str, key: str) -> Any:
    if kind is not str:
        return kind(value)
    if isinstance(value, str):
        text = value
    elif isinstance(value, datetime):
        text = iso(value)
    else:
        text = json.dumps(json_value(value), ensure_ascii=False)
    return _xml_text(text, where, key)


def _graphml_attrs(
    items: list[tuple[str, dict[str, Any]]], contract: Mapping[str, Attribute]
) -> list[dict[str, Any]]:
    keys = list(dict.fromkeys(key for _, data in items for key in data))
    kinds = {
        key: _graphml_kind([data.get(key) for _, data in items], contract.get(key)) for key in keys
    }
    out = []
    for where, data in items:
        converted = {}
        for key, value in data.items():
            _xml_text(key, where, key)
            # No empty <data>: None and "" are left out.
            if value is not None and value != "":
                converted[key] = _graphml_value(value, kinds[key], where, key)
        out.append(converted)
    return out


def graphml_graph(G: object) -> nx.DiGraph[str]:
    """Check ``G`` and return a copy whose values networkx's GraphML writer types well."""
    graph = export_graph(G, graph_reserved=_GRAPHML_GRAPH)
    nodes = [(name, {"label": name, **data}) for name, data in graph.nodes]
    for name, _ in nodes:
        _xml_text(name, node_where(name), None)
    node_attrs = _graphml_attrs([(node_where(n), d) for n, d in nodes], NODE_ATTRIBUTES)
    edge_attrs = _graphml_attrs([(edge_where(u, v), d) for u, v, d in graph.edges], EDGE_ATTRIBUTES)
    (graph_attrs,) = _graphml_attrs([(GRAPH_WHERE, graph.graph)], GRAPH_ATTRIBUTES)
    H: nx.DiGraph[str] = nx.DiGraph()
    H.graph.update(graph_attrs)
    H.add_nodes_from((name, attrs) for (name, _), attrs in zip(nodes, node_attrs, strict=True))
    H.add_edges_from(
        (u, v, attrs) for (u, v, _), attrs in zip(graph.edges, edge_attrs, strict=True)
    )
    return H


# --- DOT -------------------------------------------------------------------------------------

_DOT_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"}
# Quote, backslash, line breaks, and control characters (a tab is kept as it is).
_DOT_SPECIAL = re.compile('[\\\\"\n\r\x00-\x08\x0b-\x1f\x7f-\x9f]')
_DOT_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
_DOT_KEYWORDS = frozenset({"node", "edge", "graph", "digraph", "subgraph", "strict"})
_KIND_ARROWHEADS = {"messaging": "vee", "database": "box"}


def dot_quote(text: str) -> str:
    r"""Quote text as a DOT string; ``\xHH`` stands for a control character."""

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        return _DOT_ESCAPES.get(char) or f"\\x{ord(char):02x}"

    return '"' + _DOT_SPECIAL.sub(escape, text) + '"'


def _dot_name(name: str) -> str:
    plain = _DOT_NAME.fullmatch(name) and name.lower() not in _DOT_KEYWORDS
    return name if plain else dot_quote(name)


def _dot_scalar(value: Any) -> str | None:
    """Text of a scalar value; None for None, lists and dicts (not drawn)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int | str):
        return str(value)
    return None


def _dot_attrs(style: dict[str, str], data: Mapping[str, Any]) -> str:
    attrs = dict(style)
    # Data wins: an attribute named like a Graphviz one (color, label) is one, as in networkx.
    for key, value in data.items():
        text = _dot_scalar(value)
        if text is not None:
            attrs[key] = text
    listed = ", ".join(f"{_dot_name(key)}={dot_quote(value)}" for key, value in attrs.items())
    return f" [{listed}]" if listed else ""


def _node_style(name: str, data: Mapping[str, Any]) -> dict[str, str]:
    style = {"label": name}
    if data.get("virtual") is True:
        style.update(style="rounded,dashed", color="grey50", fontcolor="grey40")
    return style


def _edge_style(data: Mapping[str, Any]) -> dict[str, str]:
    style = {}
    if data.get("provenance") == "declared":
        style["style"] = "dashed"
    errors = data.get("errors")
    if isinstance(errors, int) and errors > 0:
        style["color"] = "red"
    elif data.get("kind") == "virtual":
        style["color"] = "grey50"
    if data.get("kind") in _KIND_ARROWHEADS:
        style["arrowhead"] = _KIND_ARROWHEADS[data["kind"]]
    calls = data.get("calls")
    if isinstance(calls, int) and calls >= 0:
        style["penwidth"] = f"{min(1.0 + math.log10(1 + calls), 8.0):.2f}"
    return style


def dot_text(G: object) -> str:
    """Check ``G`` and return it as styled DOT text."""
    graph = export_graph(G)
    lines = ['digraph "services" {', f"  graph{_dot_attrs({'rankdir': 'LR'}, graph.graph)};"]
    lines.append('  node [shape="box", style="rounded", fontname="Helvetica"];')
    lines.append('  edge [fontname="Helvetica"];')
    groups: dict[str | None, list[str]] = {}
    for name, data in graph.nodes:
        line = f"{dot_quote(name)}{_dot_attrs(_node_style(name, data), data)};"
        groups.setdefault(data.get("group"), []).append(line)
    for group, node_lines in groups.items():
        if group is not None:
            cluster = {"label": group, "style": "rounded", "color": "grey70"}
            lines.append(f"  subgraph {dot_quote('cluster_' + group)} {{")
            lines.append(f"    graph{_dot_attrs(cluster, {})};")
            lines.extend(f"    {line}" for line in node_lines)
            lines.append("  }")
    lines.extend(f"  {line}" for line in groups.get(None, []))
    for u, v, data in graph.edges:
        lines.append(f"  {dot_quote(u)} -> {dot_quote(v)}{_dot_attrs(_edge_style(data), data)};")
    lines.append("}")
    return "\n".join(lines) + "\n"
