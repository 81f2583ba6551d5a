"""Decompose the service graph into triads: census, enumeration, roles and layers.

Upstream RTT asks ``/topology`` to "decompose a system into triads" and names
generate/transform/sustain roles and layers D0-D7, without an algorithm. **Ours**:
the directed triad census (the 16 MAN types of Holland and Leinhardt, counted as by
Batagelj and Mrvar and by :func:`networkx.triadic_census`), the connected triads
themselves, and roles and layers read from the condensation of the graph.

A triad is three services and the calls among them (``u -> v``: u calls v). Its
MAN code counts its Mutual, Asymmetric and Null dyads, with a letter for the
orientation. The *nodes* of a connected triad are given in the order of the
*pattern* column (positions 0, 1, 2); where the pattern is symmetric, the earlier
node in graph order comes first.

======  ===================  ==========================================================
type    pattern              reading in a service graph
======  ===================  ==========================================================
003     (none)               three services with no calls between them
012     0->1                 one call; the third service is unrelated
102     0<->1                two services calling each other; the third unrelated
021D    0->1, 0->2           fan-out: one service calls two that do not call each other
021U    0->2, 1->2           shared dependency: two callers of one service
021C    0->1->2              call chain: 0 reaches 2 only through 1
111D    0->1<->2             an outside caller of a mutually coupled pair
111U    0<->1->2             a mutually coupled pair with an outside dependency
030T    0->1->2, 0->2        shortcut past a layer: 0 calls 2 directly and through 1
030C    0->1->2->0           call cycle: a request can come back to where it started
201     0<->1<->2            a hub coupled both ways with two unrelated services
120D    0->1, 0->2, 1<->2    one caller of both services of a coupled pair
120U    0->2, 1->2, 0<->1    a coupled pair sharing a dependency
120C    0->1->2, 0<->2       a chain closed by coupling: a cycle through a coupled pair
210     0<->1<->2, 0->2      nearly full coupling: two coupled pairs and a one-way call
300     all six calls        three services all calling each other: one unit in practice
======  ===================  ==========================================================

Self-loops (a service calling itself) belong to no triad: the census ignores them,
as networkx does, and :func:`census` lists them apart. Mutual edges are dyads of
type M. Connected triads are the 13 types from 021D on (two or three dyads).

Roles and layers come from :func:`networkx.condensation` (every strongly connected
group of services, a cycle, becomes one node of a DAG; its members share its role
and layer):

- **generate**: a source of the DAG: nobody outside its group calls it (an entry
  point, a website, a cron job). A service with no call to or from other groups
  (isolated, or a cycle on its own) also generates: it starts its own work;
- **transform**: called and calling (an API between its callers and its dependencies);
- **sustain**: a sink: called, calls no other group (a database, cache or queue);
- **layer** ``D0``-``D7``: the longest path, in calls, from a source of the DAG to the
  group: D0 for sources (and so exactly for the generate role); paths of 7 calls or
  more are all D7.

Complexity, with ``n`` nodes and ``m`` dyads: the census is ``O(n + m^1.5)`` in the
worst case and close to ``O(n + m)`` on sparse graphs (triangles are found once along
a degree orientation; open and one-dyad triads are counted from degrees, see
:mod:`rtt_topology.diagnostics.triads.engine`), against ``O(m * max degree)`` for
Batagelj-Mrvar.
Enumeration costs one binary search per candidate (an open wedge of a requested type,
or an oriented path that may close a triangle), in blocks of bounded size.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any, TypeVar

import networkx as nx
import pandas as pd
from networkx.utils import not_implemented_for

from rtt_topology.diagnostics.triads import engine as _engine
from rtt_topology.diagnostics.triads import results as _results
from rtt_topology.diagnostics.triads.results import (
    CONNECTED_TYPES,
    LAYERS,
    READINGS,
    ROLES,
    TRIAD_TYPES,
    Decomposition,
    Layer,
    NodeTriads,
    Role,
    Triad,
    TriadCensus,
    TriadRecord,
)
from rtt_topology.errors import InputError

__all__ = [
    "CONNECTED_TYPES",
    "LAYERS",
    "READINGS",
    "ROLES",
    "TRIAD_TYPES",
    "Decomposition",
    "NodeTriads",
    "Triad",
    "TriadCensus",
    "TriadRecord",
    "census",
    "decompose",
    "layers",
    "node_census",
    "roles",
    "triad_chunks",
    "triadic_census",
    "triads",
]

_N = TypeVar("_N", bound=Hashable)
_F = TypeVar("_F", bound=Callable[..., Any])


def _directed_simple(func: _F) -> _F:
    """Declare that ``func`` takes directed graphs without parallel edges."""
    decorated: _F = not_implemented_for("undirected")(not_implemented_for("multigraph")(func))
    return decorated


@_directed_simple
def census(G: nx.DiGraph[Any]) -> TriadCensus:
    """Count the triads of each of the 16 types, and list the self-loops apart.

    Parameters
    ----------
    G
        A directed graph (the service graph: ``u -> v`` means u calls v).

    Returns
    -------
    TriadCensus
        ``counts`` equal to :func:`networkx.triadic_census`, plus the self-loops and
        the numbers of nodes, edges, mutual and asymmetric dyads.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph([("web", "api"), ("api", "db"), ("api", "api"), ("db", "api")])
    >>> result = census(G)
    >>> {t: c for t, c in result.counts.items() if c}
    {'111D': 1}
    >>> result.self_loops, result.mutual, result.asymmetric
    (['api'], 1, 1)
    """
    ix = _engine.index(G)
    triangles, _ = _engine.triangle_counts(ix, members=False)
    counts = dict[str, int](zip(TRIAD_TYPES, _engine.census_counts(ix, triangles), strict=True))
    mutual = int(ix.counts[:, _engine.MUT].sum()) // 2
    return TriadCensus(
        counts=counts,
        self_loops=_engine.names(ix.nodes, ix.self_loops),
        nodes=ix.n,
        edges=ix.edges,
        mutual=mutual,
        asymmetric=len(ix.keys) // 2 - mutual,
    )


@_directed_simple
def triadic_census(G: nx.DiGraph[Any]) -> dict[str, int]:
    """Count the triads of each of the 16 types, as :func:`networkx.triadic_census` does.

    Parameters
    ----------
    G
        A directed graph; self-loops are ignored.

    Returns
    -------
    dict
        Type to count, in the order of :data:`TRIAD_TYPES`.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph([(1, 2), (2, 3), (3, 1), (3, 4), (4, 1), (4, 2)])
    >>> triadic_census(G) == nx.triadic_census(G)
    True
    >>> triadic_census(G)["030C"], triadic_census(G)["030T"]
    (2, 2)
    """
    return census(G).counts


@_directed_simple
def triads(G: nx.DiGraph[Any], *, types: Iterable[str] | None = None) -> Iterator[Triad]:
    """Yield each connected triad once, lazily, in canonical node order.

    Parameters
    ----------
    G
        A directed graph; self-loops are ignored.
    types
        Only these types (among :data:`CONNECTED_TYPES`); all connected types by default.

    Yields
    ------
    Triad
        Triangles (three dyads) first, in discovery order; then open triads by type
        (021D, 021U, 021C, 111D, 111U, 201) and by their centre in graph order. Work
        is done in blocks of at most 65,536 candidates (the first ones smaller), so a
        hub with millions of triads costs only what is consumed.

    Raises
    ------
    InputError
        If a type is unknown or not connected (003, 012, 102).

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph([("web", "api"), ("api", "db"), ("web", "db"), ("worker", "db")])
    >>> for triad in triads(G):
    ...     print(triad.type, triad.nodes)
    030T ('web', 'api', 'db')
    021U ('web', 'worker', 'db')
    021U ('api', 'worker', 'db')
    >>> next(triads(G, types=["030T"])).nodes
    ('web', 'api', 'db')
    """
    type_ids = _results.type_ids(types)
    return _results.iter_triads(_engine.index(G), type_ids)


@_directed_simple
def triad_chunks(
    G: nx.DiGraph[Any], *, types: Iterable[str] | None = None, size: int = 100_000
) -> Iterator[pd.DataFrame]:
    """Yield the connected triads as data frames of ``size`` rows (the last may be shorter).

    Parameters
    ----------
    G
        A directed graph; self-loops are ignored.
    types
        Only these types (among :data:`CONNECTED_TYPES`); all connected types by default.
    size
        Rows per frame.

    Yields
    ------
    pandas.DataFrame
        Columns ``a``, ``b``, ``c`` (the nodes, in canonical order) and ``type``
        (categorical over :data:`CONNECTED_TYPES`), in the order of :func:`triads`.

    Raises
    ------
    InputError
        If a type is unknown or not connected, or ``size`` is not positive.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph([("gateway", s) for s in ("auth", "orders", "cart")])
    >>> for frame in triad_chunks(G, size=2):
    ...     print(frame.to_string(index=False))
          a    b      c type
    gateway auth orders 021D
    gateway auth   cart 021D
          a      b    c type
    gateway orders cart 021D
    """
    type_ids = _results.type_ids(types)
    if size < 1:
        raise InputError(f"size must be positive, not {size}")
    return _results.chunks(_engine.index(G), type_ids, size)


@_directed_simple
def node_census(G: nx.DiGraph[Any]) -> pd.DataFrame:
    """Count, for each node, the connected triads of each type it belongs to.

    Parameters
    ----------
    G
        A directed graph; self-loops are ignored.

    Returns
    -------
    pandas.DataFrame
        One row per node (index ``node``, graph order), one integer column per type of
        :data:`CONNECTED_TYPES`. Each triad has three members, so every column sums to
        three times its census count.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph([("web", "api"), ("api", "db"), ("worker", "db")])
    >>> node_census(G)[["021C", "021U"]]
            021C  021U
    node
    web        1     0
    api        1     1
    db         1     1
    worker     0     1
    """
    ix = _engine.index(G)
    _, members = _engine.triangle_counts(ix, members=True)
    assert members is not None
    return _results.node_frame(ix, members)


def _depths(G: nx.DiGraph[_N]) -> tuple[dict[_N, Role], dict[_N, Layer]]:
    dag = nx.condensation(G)
    depth: dict[int, int] = {}
    for group in nx.topological_sort(dag):
        depth[group] = max((depth[p] + 1 for p in dag.predecessors(group)), default=0)
    role: dict[int, Role] = {}
    for group in dag:
        if dag.in_degree(group) == 0:
            role[group] = "generate"
        else:
            role[group] = "sustain" if dag.out_degree(group) == 0 else "transform"
    mapping: dict[_N, int] = dag.graph["mapping"]
    roles_ = {node: role[mapping[node]] for node in G}
    layers_ = {node: LAYERS[min(depth[mapping[node]], len(LAYERS) - 1)] for node in G}
    return roles_, layers_


@_directed_simple
def roles(G: nx.DiGraph[_N]) -> dict[_N, str]:
    """Give each node its role: generate (sources), transform or sustain (sinks).

    Parameters
    ----------
    G
        A directed graph (``u -> v``: u calls v).

    Returns
    -------
    dict
        Node to role, in graph order; the members of a cycle share the role of their
        group in :func:`networkx.condensation`; isolated nodes generate (see the
        module docstring).

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph([("web", "api"), ("api", "db"), ("api", "cache"), ("cache", "api")])
    >>> G.add_node("cron")
    >>> roles(G)
    {'web': 'generate', 'api': 'transform', 'db': 'sustain', 'cache': 'transform',
     'cron': 'generate'}
    """
    return dict(_depths(G)[0])


@_directed_simple
def layers(G: nx.DiGraph[_N]) -> dict[_N, str]:
    """Give each node its layer: the longest call path from a source, D0 to D7.

    Parameters
    ----------
    G
        A directed graph (``u -> v``: u calls v).

    Returns
    -------
    dict
        Node to ``"D0"``... ``"D7"``, in graph order: the number of calls on the
        longest path reaching its group in :func:`networkx.condensation` from a
        group nobody calls; 7 or more gives D7.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph([("web", "api"), ("api", "db"), ("web", "db")])
    >>> layers(G)
    {'web': 'D0', 'api': 'D1', 'db': 'D2'}
    """
    return dict(_depths(G)[1])


@_directed_simple
def decompose(G: nx.DiGraph[str], *, max_triads: int = 1000) -> Decomposition:
    """Decompose a service graph into triads: census, examples, roles and layers.

    Parameters
    ----------
    G
        The service graph; node names must be strings.
    max_triads
        Example triads kept per type at most, the first in :func:`triads` order.

    Returns
    -------
    Decomposition
        A pydantic model; ``model_dump(mode="json")`` gives the JSON object.

    Raises
    ------
    InputError
        If a node name is not a string, or ``max_triads`` is negative.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph([("worker", "gateway"), ("gateway", "api"), ("web", "gateway")])
    >>> result = decompose(G, max_triads=1)
    >>> {t: c for t, c in result.census.items() if c and t != "003"}
    {'021U': 1, '021C': 2}
    >>> result.examples["021C"]
    [TriadRecord(nodes=('worker', 'gateway', 'api'), type='021C')]
    >>> result.layers["api"], result.roles["gateway"]
    ('D2', 'transform')
    """
    if max_triads < 0:
        raise InputError(f"max_triads must be zero or more, not {max_triads}")
    strange = next((node for node in G if not isinstance(node, str)), None)
    if strange is not None:
        raise InputError(f"node names must be strings; got {type(strange).__name__} {strange!r}")
    ix = _engine.index(G)
    triangles, members = _engine.triangle_counts(ix, members=True)
    assert members is not None
    counts = _engine.census_counts(ix, triangles)
    frame = _results.node_frame(ix, members)
    examples = _results.examples(ix, counts, max_triads)
    roles_, layers_ = _depths(G)
    return Decomposition(
        nodes=ix.n,
        edges=ix.edges,
        self_loops=[str(node) for node in _engine.names(ix.nodes, ix.self_loops)],
        census=dict(zip(TRIAD_TYPES, counts, strict=True)),
        readings=dict(READINGS),
        roles=roles_,
        layers=layers_,
        node_census=[
            NodeTriads(node=str(node), counts=dict(zip(CONNECTED_TYPES, row, strict=True)))
            for node, row in zip(frame.index, frame.to_numpy().tolist(), strict=True)
        ],
        max_triads=max_triads,
        examples=examples,
    )
