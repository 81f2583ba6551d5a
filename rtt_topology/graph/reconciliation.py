"""Compare what is declared with what is observed, and two graphs with each other.

:func:`reconcile` classifies the nodes and edges of one service graph:

=============  ==========================================================================
node status    meaning
=============  ==========================================================================
managed        declared by a profile and sending beacons
undeclared     sending beacons or seen calling/called in traces, but no profile
missing        declared by a profile, but no beacons in the window
external       an uninstrumented peer, known only from its callers' spans
dangling       only named in a profile's ``depends_on``: no profile, beacons or spans
=============  ==========================================================================

=============  ==========================================================================
edge status    meaning
=============  ==========================================================================
managed        declared (``depends_on``) and seen in traces
undeclared     seen in traces, declared by no profile
unused         declared, never seen in traces (in the window)
=============  ==========================================================================

Message queues: a traced messaging edge ``A -> B`` is *declared through a queue* when
A and B both declare a dependency on the same node ``Q`` whose profile is tagged
``queue`` or ``topic``; it is then managed (``via`` names Q), and so are the declared
edges ``A -> Q`` and ``B -> Q`` that it uses.

Coverage, in percent (``None`` when the denominator is 0): ``declared_services`` =
managed / (managed + undeclared); ``observed_services`` = managed / (managed +
missing); ``declared_edges`` = managed traced edges / traced edges;
``observed_edges`` = managed declared edges / declared edges.

:func:`diff_graphs` lists what changed between two graphs (two windows): nodes and
edges added and removed, and edges whose calls, errors or p95 latency moved by more
than a relative threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import pandas as pd

from rtt_topology.errors import InputError

__all__ = ["GraphDiff", "Reconciliation", "diff_graphs", "reconcile"]

_QUEUE_TAGS = frozenset({"queue", "topic"})


def _percent(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100.0 * part / whole, 2)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {str(k): (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


@dataclass
class Reconciliation:
    """Declared against observed, for one graph.

    Attributes
    ----------
    nodes
        One row per node: ``name``, ``status``, ``group``, ``declared``, ``observed``,
        ``traced``, ``virtual``.
    edges
        One row per edge: ``caller``, ``callee``, ``status``, ``kind``, ``provenance``,
        ``calls``, ``errors``, ``via`` (the queue a messaging edge is declared through).
    coverage
        Percentages, see the module documentation.
    """

    nodes: pd.DataFrame
    edges: pd.DataFrame
    coverage: dict[str, float | None] = field(default_factory=dict)

    def counts(self) -> dict[str, dict[str, int]]:
        """Return the number of nodes and edges per status."""
        return {
            "nodes": {str(k): int(v) for k, v in self.nodes["status"].value_counts().items()},
            "edges": {str(k): int(v) for k, v in self.edges["status"].value_counts().items()},
        }

    def to_dict(self) -> dict[str, Any]:
        """Return the reconciliation as JSON-ready data."""
        return {
            "coverage": dict(self.coverage),
            "counts": self.counts(),
            "nodes": _records(self.nodes),
            "edges": _records(self.edges),
        }


def _node_status(attrs: dict[str, Any]) -> str:
    if attrs["declared"]:
        return "managed" if attrs["observed"] else "missing"
    if attrs["observed"] or (attrs["traced"] and not attrs["virtual"]):
        return "undeclared"
    if attrs["virtual"]:
        return "external"
    return "dangling"


def _queues(G: nx.DiGraph[str]) -> set[str]:
    return {n for n, tags in G.nodes(data="tags") if _QUEUE_TAGS & set(tags or [])}


def reconcile(G: nx.DiGraph[str]) -> Reconciliation:
    """Classify the nodes and edges of a service graph as managed, undeclared, unused...

    Parameters
    ----------
    G
        A service graph (:func:`~rtt_topology.graph.build_graph`).

    Returns
    -------
    Reconciliation
        Node and edge tables with a ``status`` column, and coverage percentages.

    Examples
    --------
    >>> import pandas as pd
    >>> from rtt_topology.graph.build import build_graph
    >>> from rtt_topology.schemas import Profile
    >>> edges = pd.DataFrame({"caller": ["api", "api"], "callee": ["db", "search"],
    ...                       "kind": ["database", "rpc"], "calls": [12, 3], "errors": [0, 0]})
    >>> profiles = {"api": Profile(rtt_version="1.0", supports=[], depends_on=["db", "cache"])}
    >>> result = reconcile(build_graph(profiles=profiles, edges=edges))
    >>> result.edges[["caller", "callee", "status"]].values.tolist()
    [['api', 'cache', 'unused'], ['api', 'db', 'managed'], ['api', 'search', 'undeclared']]
    >>> result.coverage["declared_edges"]
    50.0
    """
    if not isinstance(G, nx.DiGraph):
        raise InputError(
            f"reconcile needs a service graph (networkx.DiGraph), not {type(G).__name__}"
        )
    node_rows = [
        {
            "name": name,
            "status": _node_status(attrs),
            "group": attrs.get("group"),
            "declared": bool(attrs.get("declared")),
            "observed": bool(attrs.get("observed")),
            "traced": bool(attrs.get("traced")),
            "virtual": bool(attrs.get("virtual")),
        }
        for name, attrs in G.nodes(data=True)
    ]
    queues = _queues(G)
    declared = {
        (u, v) for u, v, attrs in G.edges(data=True) if attrs["provenance"] in ("declared", "both")
    }
    status: dict[tuple[str, str], str] = {}
    via: dict[tuple[str, str], str | None] = {}
    for u, v, attrs in G.edges(data=True):
        provenance = attrs["provenance"]
        status[u, v] = {"both": "managed", "traced": "undeclared", "declared": "unused"}[provenance]
        via[u, v] = None
    for u, v, attrs in G.edges(data=True):
        if attrs["provenance"] != "traced" or attrs["kind"] != "messaging":
            continue
        shared = sorted(q for q in queues if (u, q) in declared and (v, q) in declared)
        if shared:
            queue = shared[0]
            status[u, v], via[u, v] = "managed", queue
            for edge in ((u, queue), (v, queue)):
                if status.get(edge) == "unused":
                    status[edge] = "managed"
                    via[edge] = f"{u} -> {v}"
    edge_rows = [
        {
            "caller": u,
            "callee": v,
            "status": status[u, v],
            "kind": attrs["kind"],
            "provenance": attrs["provenance"],
            "calls": attrs["calls"],
            "errors": attrs["errors"],
            "via": via[u, v],
        }
        for u, v, attrs in G.edges(data=True)
    ]
    nodes = pd.DataFrame(
        node_rows, columns=["name", "status", "group", "declared", "observed", "traced", "virtual"]
    ).sort_values("name", ignore_index=True)
    edges = pd.DataFrame(
        edge_rows,
        columns=["caller", "callee", "status", "kind", "provenance", "calls", "errors", "via"],
    ).sort_values(["caller", "callee"], ignore_index=True)
    node_status = nodes["status"].value_counts()
    managed, undeclared, missing = (
        int(node_status.get(s, 0)) for s in ("managed", "undeclared", "missing")
    )
    traced = edges[edges["provenance"] != "declared"]
    declared_rows = edges[edges["provenance"] != "traced"]
    coverage = {
        "declared_services": _percent(managed, managed + undeclared),
        "observed_services": _percent(managed, managed + missing),
        "declared_edges": _percent(int((traced["status"] == "managed").sum()), len(traced)),
        "observed_edges": _percent(
            int((declared_rows["status"] == "managed").sum()), len(declared_rows)
        ),
    }
    return Reconciliation(nodes, edges, coverage)


@dataclass
class GraphDiff:
    """What changed from one service graph to another.

    Attributes
    ----------
    nodes_added, nodes_removed
        Node names, sorted.
    edges_added, edges_removed
        ``caller``, ``callee``, ``kind``, ``calls`` of the edges only in one graph.
    edges_changed
        ``caller``, ``callee``, ``attribute`` (``calls``, ``errors``, ``p95_ms``,
        ``kind``, ``provenance``), ``before``, ``after``, ``change`` (relative, for
        numbers).
    """

    nodes_added: list[str]
    nodes_removed: list[str]
    edges_added: pd.DataFrame
    edges_removed: pd.DataFrame
    edges_changed: pd.DataFrame

    @property
    def empty(self) -> bool:
        """``True`` when the graphs have the same nodes and edges and nothing moved."""
        return not (
            self.nodes_added
            or self.nodes_removed
            or len(self.edges_added)
            or len(self.edges_removed)
            or len(self.edges_changed)
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the diff as JSON-ready data."""
        return {
            "nodes_added": list(self.nodes_added),
            "nodes_removed": list(self.nodes_removed),
            "edges_added": _records(self.edges_added),
            "edges_removed": _records(self.edges_removed),
            "edges_changed": _records(self.edges_changed),
        }


def _edge_frame(G: nx.DiGraph[str], pairs: list[tuple[str, str]]) -> pd.DataFrame:
    rows = [
        {"caller": u, "callee": v, "kind": G.edges[u, v]["kind"], "calls": G.edges[u, v]["calls"]}
        for u, v in sorted(pairs)
    ]
    return pd.DataFrame(rows, columns=["caller", "callee", "kind", "calls"])


def diff_graphs(G1: nx.DiGraph[str], G2: nx.DiGraph[str], *, threshold: float = 0.2) -> GraphDiff:
    """List the nodes and edges added, removed and changed from ``G1`` to ``G2``.

    Parameters
    ----------
    G1, G2
        Service graphs, typically of two windows.
    threshold
        Relative change beyond which ``calls``, ``errors`` and ``p95_ms`` count as
        changed: ``|after - before| / max(|before|, 1) > threshold``.

    Returns
    -------
    GraphDiff
        The changes; ``diff.empty`` when there are none.

    Examples
    --------
    >>> import pandas as pd
    >>> from rtt_topology.graph.build import build_graph
    >>> def graph(calls):
    ...     edges = pd.DataFrame({"caller": ["api"], "callee": ["db"], "kind": ["rpc"],
    ...                           "calls": [calls], "errors": [0]})
    ...     return build_graph(edges=edges)
    >>> diff = diff_graphs(graph(100), graph(150))
    >>> diff.edges_changed[["attribute", "before", "after", "change"]].values.tolist()
    [['calls', 100, 150, 0.5]]
    >>> diff_graphs(graph(100), graph(110)).empty
    True
    """
    if threshold < 0:
        raise InputError(f"threshold must be >= 0, not {threshold}")
    nodes_added = sorted(set(G2) - set(G1))
    nodes_removed = sorted(set(G1) - set(G2))
    edges1, edges2 = set(G1.edges), set(G2.edges)
    changed = []
    for u, v in sorted(edges1 & edges2):
        before, after = G1.edges[u, v], G2.edges[u, v]
        for name in ("kind", "provenance"):
            if before.get(name) != after.get(name):
                changed.append((u, v, name, before.get(name), after.get(name), None))
        for name in ("calls", "errors", "p95_ms"):
            old, new = before.get(name), after.get(name)
            if old is None or new is None:
                if (old is None) != (new is None):
                    changed.append((u, v, name, old, new, None))
                continue
            change = (new - old) / max(abs(old), 1)
            if abs(change) > threshold:
                changed.append((u, v, name, old, new, round(change, 4)))
    edges_changed = pd.DataFrame(
        changed, columns=["caller", "callee", "attribute", "before", "after", "change"]
    )
    return GraphDiff(
        nodes_added,
        nodes_removed,
        _edge_frame(G2, list(edges2 - edges1)),
        _edge_frame(G1, list(edges1 - edges2)),
        edges_changed,
    )
