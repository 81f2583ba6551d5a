"""Check that a graph follows the service graph contract (:mod:`rtt_topology.graph.contract`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import networkx as nx

from rtt_topology.errors import InputError
from rtt_topology.graph.contract import (
    EDGE_ATTRIBUTES,
    EDGE_KINDS,
    GRAPH_ATTRIBUTES,
    NODE_ATTRIBUTES,
    PROVENANCES,
    Attribute,
)

__all__ = ["validate_graph"]


def _type_problem(value: Any, attribute: Attribute) -> str | None:
    if value is None:
        return None if attribute.optional else "is None"
    expected = attribute.type
    if expected is float:
        ok = isinstance(value, float | int) and not isinstance(value, bool)
    elif expected is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif expected is datetime:
        ok = isinstance(value, datetime) and value.utcoffset() is not None
        if isinstance(value, datetime) and not ok:
            return "is a naive datetime"
    elif expected is list:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    else:
        ok = type(value) is expected
    if ok:
        return None
    return f"has {type(value).__name__} {value!r:.60}, expected {expected.__name__}"


def _check(
    where: str, attrs: Mapping[str, Any], contract: Mapping[str, Attribute]
) -> Iterable[str]:
    for name, attribute in contract.items():
        if name not in attrs:
            yield f"{where}: missing attribute {name!r}"
            continue
        problem = _type_problem(attrs[name], attribute)
        if problem:
            yield f"{where}: {name} {problem}"


def validate_graph(G: nx.Graph[Any], *, max_problems: int = 20) -> None:
    """Check that ``G`` follows the service graph contract.

    Parameters
    ----------
    G
        A graph built by :func:`~rtt_topology.graph.build.build_graph`, or read back
        from an export.
    max_problems
        How many problems to list in the message at most.

    Raises
    ------
    InputError
        Listing each problem: the node, edge or graph attribute, and what is wrong.

    Examples
    --------
    >>> from rtt_topology.graph.build import build_graph
    >>> G = build_graph()
    >>> validate_graph(G)
    >>> G.add_node("api")
    >>> validate_graph(G)
    Traceback (most recent call last):
    ...
    rtt_topology.errors.InputError: ...node 'api': missing attribute 'group'...
    """
    if not isinstance(G, nx.DiGraph) or G.is_multigraph():
        raise InputError(f"a service graph is a networkx.DiGraph, not {type(G).__name__}")
    problems: list[str] = []
    problems.extend(_check("graph", G.graph, GRAPH_ATTRIBUTES))
    for name, attrs in G.nodes(data=True):
        if not isinstance(name, str):
            problems.append(f"node {name!r}: name is {type(name).__name__}, expected str")
        problems.extend(_check(f"node {name!r}", attrs, NODE_ATTRIBUTES))
    for u, v, attrs in G.edges(data=True):
        where = f"edge {u!r} -> {v!r}"
        problems.extend(_check(where, attrs, EDGE_ATTRIBUTES))
        if attrs.get("kind") not in EDGE_KINDS:
            problems.append(f"{where}: kind {attrs.get('kind')!r} is not one of {EDGE_KINDS}")
        if attrs.get("provenance") not in PROVENANCES:
            problems.append(f"{where}: provenance {attrs.get('provenance')!r} not in {PROVENANCES}")
        calls, errors = attrs.get("calls"), attrs.get("errors")
        if isinstance(calls, int) and isinstance(errors, int) and not 0 <= errors <= calls:
            problems.append(f"{where}: errors {errors} not within 0..calls ({calls})")
    if problems:
        shown = problems[:max_problems]
        more = len(problems) - len(shown)
        tail = f"\n... and {more} more" if more else ""
        raise InputError(
            f"graph breaks the contract ({len(problems)} problem(s)):\n" + "\n".join(shown) + tail
        )
