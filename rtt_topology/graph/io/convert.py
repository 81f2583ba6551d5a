"""Convert service graphs to and from node-link JSON and DataFrames; export GraphML and DOT.

Every function takes a :class:`networkx.DiGraph` following the contract of
:mod:`rtt_topology.graph.contract` and checks it first: another kind of graph raises
:class:`~rtt_topology.errors.InputError`, a value of the wrong type a
:class:`~rtt_topology.errors.RecordError` naming the node or edge and the
attribute. Attributes may be missing; those present must have their contract
type (or be ``None`` where optional). Attributes outside the contract may hold
JSON values (``str``, ``int``, ``float``, ``bool``, ``None``, lists and dicts of
them) and aware datetimes.

- node-link JSON: :func:`to_node_link` and :func:`from_node_link`, with the file
  helpers :func:`write_node_link` and :func:`read_node_link`;
- DataFrames: :func:`graph_to_frames` and :func:`graph_from_frames`;
- GraphML for Gephi and yEd, to look at: :func:`write_graphml`;
- Graphviz DOT, to draw: :func:`to_dot` and :func:`write_dot`.

The node-link round trip is exact: equal nodes, edges and attributes, with the
same Python types, in the same order (successors and predecessors alike). So is
the DataFrame round trip when every node and edge has the same attributes (a
cell without a value reads back as ``None``). Datetimes are written as ISO 8601
in UTC with microseconds and ``Z`` (``2026-01-19T17:00:00.000000Z``): fixed
width, so text order is time order.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import networkx as nx
import pandas as pd

from rtt_topology.errors import InputError, LoadError, RecordError, SourceNotFoundError
from rtt_topology.graph.io.markup import dot_text, graphml_graph
from rtt_topology.graph.io.tables import frames, frames_graph, node_link_data, node_link_graph

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


def to_node_link(G: nx.DiGraph[Any]) -> dict[str, Any]:
    """Return the graph as node-link data, ready for :func:`json.dumps`.

    The shape is networkx's ``node_link_data(G, edges="edges")``: ``directed``,
    ``multigraph``, ``graph``, ``nodes`` (each with its name as ``id``) and
    ``edges`` (``source`` calls ``target``). Datetimes are ISO 8601 text in UTC
    ending in ``Z``, lists stay lists, ``None`` becomes ``null``.

    Parameters
    ----------
    G
        A service graph.

    Returns
    -------
    dict
        JSON values only; :func:`from_node_link` restores ``G`` exactly.

    Raises
    ------
    InputError
        If ``G`` is not a DiGraph, or (as ``RecordError``) an attribute value has
        a type the contract or JSON cannot hold, or a node has an ``id``
        attribute (an edge ``source`` or ``target``).

    Examples
    --------
    >>> import json
    >>> from datetime import UTC, datetime
    >>> G = nx.DiGraph(inputs=["traces"])
    >>> G.add_node("api", first_seen=datetime(2026, 1, 19, 17, tzinfo=UTC), tags=[])
    >>> G.add_edge("api", "db", calls=12, p50_ms=None)
    >>> print(json.dumps(to_node_link(G)))  # doctest: +NORMALIZE_WHITESPACE
    {"directed": true, "multigraph": false, "graph": {"inputs": ["traces"]},
     "nodes": [{"id": "api", "first_seen": "2026-01-19T17:00:00.000000Z", "tags": []},
               {"id": "db"}],
     "edges": [{"source": "api", "target": "db", "calls": 12, "p50_ms": null}]}
    """
    return node_link_data(G)


def from_node_link(data: Mapping[str, Any]) -> nx.DiGraph[str]:
    """Build a service graph from node-link data, restoring contract types.

    The inverse of :func:`to_node_link`. Contract attributes get their Python
    types back: ISO 8601 text with an offset becomes an aware UTC datetime, a
    JSON integer given for a float becomes a float (``30`` -> ``30.0``). Other
    attributes are kept as JSON gave them. Edges are added in the order listed,
    which is the order :func:`to_node_link` chose to rebuild the graph exactly;
    older files with ``links`` instead of ``edges`` are read too.

    Parameters
    ----------
    data
        Node-link data, as :func:`json.loads` returns it.

    Returns
    -------
    networkx.DiGraph
        A new graph.

    Raises
    ------
    InputError
        If the data is not a directed simple graph in node-link form, or (as
        ``RecordError``, naming the node or edge and the attribute) a node name
        is not a string or is repeated, an edge names an unknown node or is
        repeated, or a contract attribute has a value of the wrong type.

    Examples
    --------
    >>> data = {"directed": True, "multigraph": False, "graph": {},
    ...         "nodes": [{"id": "api", "heartbeat_interval_s": 30}, {"id": "db"}],
    ...         "edges": [{"source": "api", "target": "db", "calls": 12}]}
    >>> G = from_node_link(data)
    >>> G.nodes["api"]
    {'heartbeat_interval_s': 30.0}
    >>> list(G.edges(data=True))
    [('api', 'db', {'calls': 12})]
    """
    return node_link_graph(data)


def write_node_link(
    G: nx.DiGraph[Any], path: str | os.PathLike[str], *, indent: int | None = None
) -> None:
    """Write the graph as a node-link JSON file (UTF-8).

    Parameters
    ----------
    G
        A service graph.
    path
        The file to write (replaced if it exists).
    indent
        Indent nested levels by this many spaces; one line when None.

    Raises
    ------
    InputError
        As :func:`to_node_link`.

    Examples
    --------
    >>> import tempfile
    >>> G = nx.DiGraph([("api", "db")])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_node_link(G, f"{tmp}/graph.json")
    ...     list(read_node_link(f"{tmp}/graph.json").edges)
    [('api', 'db')]
    """
    text = json.dumps(to_node_link(G), ensure_ascii=False, allow_nan=False, indent=indent)
    Path(path).write_text(text + "\n", encoding="utf-8", newline="\n")


def read_node_link(path: str | os.PathLike[str]) -> nx.DiGraph[str]:
    """Read a service graph from a node-link JSON file.

    The JSON must be strict (no duplicate keys, ``NaN`` or trailing data).

    Parameters
    ----------
    path
        A file written by :func:`write_node_link` (or networkx's
        ``node_link_data`` dumped as JSON).

    Returns
    -------
    networkx.DiGraph
        As :func:`from_node_link` builds it.

    Raises
    ------
    SourceNotFoundError
        If the file does not exist.
    LoadError
        If it cannot be read or is not JSON describing a directed simple graph.
    RecordError
        If a node, edge or attribute is invalid (with the file as ``path``).

    Examples
    --------
    >>> read_node_link("no/such/graph.json")
    Traceback (most recent call last):
    ...
    rtt_topology.errors.SourceNotFoundError: no/such/graph.json: no such file or directory
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise SourceNotFoundError(path) from exc
    except OSError as exc:
        raise LoadError(path, f"cannot read: {exc.strerror or exc}") from exc
    # The loaders' strict JSON rules (imported here: the load package brings in pyarrow).
    from rtt_topology.load.records import loads_strict

    try:
        data = loads_strict(raw)
    except RecordError as exc:
        raise LoadError(path, exc.reason) from exc
    try:
        return from_node_link(data)
    except RecordError as exc:
        raise RecordError(exc.reason, path=path, field=exc.field) from exc
    except InputError as exc:
        raise LoadError(path, str(exc)) from exc


def graph_to_frames(G: nx.DiGraph[Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the nodes and the edges of the graph as two DataFrames.

    The nodes frame is indexed by ``name`` (a string index), the edges frame has
    ``caller`` and ``callee`` columns; then one column per contract attribute,
    in contract order, then the other attributes in order of appearance. Types:
    bool as ``bool`` (``boolean`` when some value is missing), int as ``Int64``,
    float as ``float64``, str as ``string``, datetime as ``datetime64[ns, UTC]``,
    lists as objects. Other attributes get the dtype of their one type, or
    object. Missing and ``None`` values are NA (``None`` in object columns).
    Graph attributes are not in the frames: pass ``G.graph`` to
    :func:`graph_from_frames`.

    Parameters
    ----------
    G
        A service graph.

    Returns
    -------
    nodes, edges : pandas.DataFrame
        One row per node and per edge, in graph order.

    Raises
    ------
    InputError
        If ``G`` is not a DiGraph, or (as ``RecordError``) a value has an
        unsupported type, or a node has a ``name`` attribute (an edge a
        ``caller`` or ``callee``).

    Examples
    --------
    >>> G = nx.DiGraph()
    >>> G.add_node("api", beacons=3)
    >>> G.add_edge("api", "db", calls=12)
    >>> nodes, edges = graph_to_frames(G)
    >>> nodes[["beacons", "supports"]]
          beacons supports
    name
    api         3     None
    db       <NA>     None
    >>> edges[["caller", "callee", "calls"]]
      caller callee  calls
    0    api     db     12
    """
    return frames(G)


def graph_from_frames(
    nodes: pd.DataFrame, edges: pd.DataFrame, graph_attrs: Mapping[str, Any] | None = None
) -> nx.DiGraph[str]:
    """Build a service graph from a nodes and an edges frame.

    The inverse of :func:`graph_to_frames`. Node names come from a ``name``
    column, else from the index; edges from the ``caller`` and ``callee``
    columns. Values become plain Python of their contract type (no numpy or
    pandas scalars): NaN, NaT and NA become ``None``, except for a required
    contract attribute, which is then left out. An int column may come as
    floats with gaps (``3.0`` -> ``3``); a datetime column as aware timestamps
    or ISO 8601 text; a list column as lists or arrays (as Parquet gives them).

    Parameters
    ----------
    nodes
        One row per node, in graph order.
    edges
        One row per edge; every caller and callee must be in ``nodes``.
    graph_attrs
        The graph attributes (``G.graph``), checked by the contract too.

    Returns
    -------
    networkx.DiGraph
        A new graph.

    Raises
    ------
    InputError
        If a name is not a string, a column is missing, or (as
        ``RecordError``) a node or edge is repeated, an edge names an unknown
        node, or a value does not fit its contract type.

    Examples
    --------
    >>> import pandas as pd
    >>> nodes = pd.DataFrame({"name": ["api", "db"], "beacons": [3.0, float("nan")]})
    >>> edges = pd.DataFrame({"caller": ["api"], "callee": ["db"], "calls": [12]})
    >>> G = graph_from_frames(nodes, edges)
    >>> list(G.nodes(data=True))
    [('api', {'beacons': 3}), ('db', {})]
    >>> type(G.edges["api", "db"]["calls"])
    <class 'int'>
    """
    return frames_graph(nodes, edges, graph_attrs)


def write_graphml(G: nx.DiGraph[Any], path: str | os.PathLike[str]) -> None:
    """Write the graph as GraphML for Gephi, yEd and other tools (UTF-8).

    Each attribute gets one key with a type: bool as ``boolean``, int as
    ``long``, float as ``double``, everything else as ``string`` (datetimes as
    ISO 8601 text, lists as JSON text). An attribute outside the contract whose
    values mix int and float is a ``double``; mixing other types, a ``string``.
    Values that are ``None`` or empty text are left out of their element: GraphML
    has no null. Graph attributes are graph ``<data>``; every node gets a
    ``label`` (its name) unless it has one. networkx's GraphML writer does the
    XML. GraphML is for viewing: XML turns carriage returns into line feeds, and
    keeps no list or datetime types; use :func:`write_node_link` to keep a graph.

    Parameters
    ----------
    G
        A service graph.
    path
        The file to write (replaced if it exists).

    Raises
    ------
    InputError
        As :func:`to_node_link`; also (as ``RecordError``) for text with a
        character XML cannot hold (control characters such as U+0000), and for
        graph attributes ``id``, ``node_default`` and ``edge_default``.

    Examples
    --------
    >>> import tempfile
    >>> G = nx.DiGraph()
    >>> G.add_edge("api", "db", calls=12, sample_trace_ids=["t1"])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_graphml(G, f"{tmp}/graph.graphml")
    ...     H = nx.read_graphml(f"{tmp}/graph.graphml")
    >>> H.nodes["api"], H.edges["api", "db"]
    ({'label': 'api'}, {'calls': 12, 'sample_trace_ids': '["t1"]'})
    """
    H = graphml_graph(G)
    nx.write_graphml(H, os.fspath(path), encoding="utf-8", prettyprint=True)


def to_dot(G: nx.DiGraph[Any]) -> str:
    r"""Return the graph as Graphviz DOT text, styled for drawing.

    Nodes are boxes labelled with their name, grouped in one cluster per
    ``group``; virtual nodes are dashed and grey. Edges declared but never
    traced are dashed, edges with errors red, edges to virtual peers grey;
    messaging edges end in ``vee``, database edges in ``box``; the pen width
    grows with ``log10(calls)``. Every other attribute with a scalar value is
    written too (datetimes as ISO 8601 text; lists are left out); an attribute
    outside the contract named like a Graphviz one (``color``) overrides the
    style. Names and values are always quoted: ``"`` and ``\`` are escaped,
    line breaks become ``\n`` and ``\r``, other control characters ``\xHH``.

    Parameters
    ----------
    G
        A service graph.

    Returns
    -------
    str
        A ``digraph``; render it with ``dot -Tsvg``.

    Raises
    ------
    InputError
        As :func:`to_node_link`.

    Examples
    --------
    >>> G = nx.DiGraph()
    >>> G.add_node("api", group="east")
    >>> G.add_node("payments", virtual=True)
    >>> G.add_edge("api", "payments", provenance="declared", calls=0)
    >>> print(to_dot(G))
    digraph "services" {
      graph [rankdir="LR"];
      node [shape="box", style="rounded", fontname="Helvetica"];
      edge [fontname="Helvetica"];
      subgraph "cluster_east" {
        graph [label="east", style="rounded", color="grey70"];
        "api" [label="api", group="east"];
      }
      "payments" [label="payments", style="rounded,dashed", color="grey50", fontcolor="grey40",
                  virtual="true"];
      "api" -> "payments" [style="dashed", penwidth="1.00", provenance="declared", calls="0"];
    }
    """
    return dot_text(G)


def write_dot(G: nx.DiGraph[Any], path: str | os.PathLike[str]) -> None:
    """Write the graph as a Graphviz DOT file (UTF-8); see :func:`to_dot`.

    Parameters
    ----------
    G
        A service graph.
    path
        The file to write (replaced if it exists).

    Raises
    ------
    InputError
        As :func:`to_node_link`.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_dot(nx.DiGraph([("api", "db")]), f"{tmp}/graph.dot")
    ...     print(Path(tmp, "graph.dot").read_text(encoding="utf-8").splitlines()[-2])
      "api" -> "db";
    """
    Path(path).write_text(to_dot(G), encoding="utf-8", newline="\n")
