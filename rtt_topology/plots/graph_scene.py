"""Build what the service graph plot draws: node positions, looks, edges and title.

Services are placed in columns by D-layer (:func:`rtt_topology.diagnostics.triads.layers`,
calls flow left to right) and ordered inside a column by the barycenter
heuristic of Sugiyama-style layered drawing: a few sweeps left to right and back
that sort each column by the mean height of each node's neighbours, which
removes most edge crossings at a cost linear in the edges per sweep. The first
order (group, then name) and the sweeps are deterministic.

A large graph is drawn as its quotient by group: one node per group, its size
by services and colour by the share of them down, one edge per pair of groups
with the calls summed. With fewer than three groups (a datacenter of two sites)
each group is split by D-layer; without groups, or with too many, the groups
are the D-layers.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import networkx as nx
import numpy as np
import pandas as pd

from rtt_topology.errors import InputError
from rtt_topology.plots.common import NEUTRAL_COLOR, STATE_COLORS

__all__ = [
    "Edge",
    "Scene",
    "Style",
    "group_scene",
    "layered",
    "node_states",
    "services_scene",
    "violating",
]

_NO_LAYER = "no layer"
_NO_GROUP = "(no group)"
_SWEEPS = 8
_MAX_ROWS = 30
Style = Literal["solid", "dashed", "dotted"]


@dataclass
class Edge:
    """One drawn call: caller, callee, calls, line style and whether it breaks a rule."""

    u: Hashable
    v: Hashable
    calls: float
    style: Style
    broken: bool


@dataclass
class Scene:
    """What to draw: positions, node looks, edges, column labels, title."""

    pos: dict[Hashable, tuple[float, float]]
    labels: dict[Hashable, str]
    colors: dict[Hashable, Any]
    sizes: dict[Hashable, float]
    edges: list[Edge]
    columns: list[str]
    title: str
    square: set[Hashable] = field(default_factory=set)
    dashed_outline: set[Hashable] = field(default_factory=set)
    ringed: set[Hashable] = field(default_factory=set)


# --- inputs -----------------------------------------------------------------------------------


def node_states(
    G: nx.DiGraph[Any], states: pd.DataFrame | Mapping[str, str] | None
) -> dict[Any, str]:
    """Return the liveness state of each node: from ``states``, else the node attribute."""
    if states is None:
        return {n: str(s) for n, s in G.nodes(data="state") if s is not None}
    if isinstance(states, pd.DataFrame):
        if not {"site", "state"} <= set(states.columns):
            raise InputError("states must have site and state columns (liveness.states)")
        found = dict(zip(states["site"].astype(str), states["state"].astype(str), strict=True))
    elif isinstance(states, Mapping):
        found = {str(k): str(v) for k, v in states.items() if v is not None}
    else:
        raise InputError("states must be a DataFrame (site, state) or a mapping service -> state")
    return {n: found[str(n)] for n in G.nodes if str(n) in found}


def violating(violations: Any) -> tuple[set[tuple[str, str]], set[str]]:
    """Return the violating edges and nodes named by rule results, violations or pairs."""
    edges: set[tuple[str, str]] = set()
    nodes: set[str] = set()
    if violations is None:
        return edges, nodes
    items: Iterable[Any]
    if hasattr(violations, "rules"):  # RuleResults: the violations a baseline does not list
        items = [v for r in violations.rules for v in r.violations if not v.baselined]
    elif hasattr(violations, "violations"):  # one RuleResult
        items = violations.violations
    elif isinstance(violations, Iterable) and not isinstance(violations, str | bytes):
        items = violations
    else:
        raise InputError("violations must be rule results, violations or (caller, callee) pairs")
    for item in items:
        if isinstance(item, tuple | list) and len(item) == 2:
            edges.add((str(item[0]), str(item[1])))
            continue
        caller, callee = getattr(item, "caller", None), getattr(item, "callee", None)
        cycle = getattr(item, "cycle", None)
        node = getattr(item, "node", None)
        if caller is None and callee is None and cycle is None and node is None:
            raise InputError(f"not a violation or a (caller, callee) pair: {item!r}")
        if caller is not None and callee is not None:
            edges.add((str(caller), str(callee)))
        if cycle:
            ring = [str(n) for n in cycle]
            for a, b in zip(ring, [*ring[1:], ring[0]], strict=True):
                if a != b:
                    edges.add((a, b))
        if node is not None:
            nodes.add(str(node))
    return edges, nodes


def _edge_style(provenance: Any) -> Style:
    """Traced only (undeclared): dashed; declared only (not traced): dotted; else solid."""
    if provenance == "traced":
        return "dashed"
    return "dotted" if provenance == "declared" else "solid"


def _layer_columns(
    G: nx.DiGraph[Any], layers: Mapping[Any, str] | None
) -> tuple[dict[Any, int], list[str]]:
    from rtt_topology.diagnostics.triads.decomposition import LAYERS
    from rtt_topology.diagnostics.triads.decomposition import layers as compute_layers

    found: dict[Any, Any] = dict(compute_layers(G) if layers is None else layers)
    present = {str(v) for v in found.values() if v is not None}
    names: list[str] = [layer for layer in LAYERS if layer in present]
    names += sorted(present - set(LAYERS))
    if any(found.get(n) is None for n in G.nodes):
        names.append(_NO_LAYER)
    index = {name: i for i, name in enumerate(names)}
    column = {n: index[str(found.get(n) if found.get(n) is not None else _NO_LAYER)] for n in G}
    return column, names


# --- layout -----------------------------------------------------------------------------------


def layered(
    nodes: list[Hashable],
    column: Mapping[Hashable, int],
    edges: Iterable[tuple[Hashable, Hashable]],
    first_key: Mapping[Hashable, Any],
) -> dict[Hashable, tuple[float, float]]:
    """Place nodes in their columns, ordered by barycenter sweeps to reduce crossings."""
    if not nodes:
        return {}
    count = max(column[n] for n in nodes) + 1
    neighbours: dict[Hashable, list[Hashable]] = {n: [] for n in nodes}
    for u, v in edges:
        if u != v and column[u] != column[v]:
            neighbours[u].append(v)
            neighbours[v].append(u)
    columns: list[list[Hashable]] = [[] for _ in range(count)]
    for n in sorted(nodes, key=lambda n: first_key[n]):
        columns[column[n]].append(n)
    y: dict[Hashable, float] = {}

    def place(c: int) -> None:
        middle = (len(columns[c]) - 1) / 2
        for i, n in enumerate(columns[c]):
            y[n] = middle - i

    for c in range(count):
        place(c)
    for sweep in range(_SWEEPS):
        order = range(1, count) if sweep % 2 == 0 else range(count - 2, -1, -1)
        for c in order:

            def barycenter(n: Hashable) -> tuple[float, float]:
                around = [y[m] for m in neighbours[n]]
                return (-sum(around) / len(around) if around else -y[n], -y[n])

            columns[c].sort(key=barycenter)
            place(c)
    pos: dict[Hashable, tuple[float, float]] = {}
    for c, members in enumerate(columns):
        # A tall column (a large cycle, a wide tier) is folded into side-by-side
        # sub-columns inside its layer, keeping the barycenter order row by row.
        folds = max(1, math.ceil(len(members) / _MAX_ROWS))
        rows = math.ceil(len(members) / folds) if members else 0
        for i, n in enumerate(members):
            shift = 0.0 if folds == 1 else (i % folds / (folds - 1) - 0.5) * 0.7
            pos[n] = (c + shift, (rows - 1) / 2 - i // folds)
    return pos


def _circle(nodes: list[Hashable]) -> dict[Hashable, tuple[float, float]]:
    count = len(nodes)
    radius = max(1.0, count / (2 * math.pi) * 1.2)
    return {
        n: (radius * math.sin(2 * math.pi * i / count), radius * math.cos(2 * math.pi * i / count))
        for i, n in enumerate(nodes)
    }


# --- scenes -----------------------------------------------------------------------------------


def services_scene(
    G: nx.DiGraph[Any],
    state_of: Mapping[Any, str],
    layers: Mapping[Any, str] | None,
    bad_edges: set[tuple[str, str]],
    bad_nodes: set[str],
) -> Scene:
    """Return the scene of every service, in D-layer columns ordered by barycenter sweeps."""
    column, names = _layer_columns(G, layers)
    nodes = list(G.nodes)
    group = {n: str(G.nodes[n].get("group") or "") for n in nodes}
    pos = layered(nodes, column, G.edges, {n: (group[n], str(n)) for n in nodes})
    edges = []
    for u, v, data in G.edges(data=True):
        calls = float(data.get("calls") or 0)
        style = _edge_style(data.get("provenance"))
        edges.append(Edge(u, v, calls, style, (str(u), str(v)) in bad_edges))
    attrs = G.nodes
    layer_text = f"{names[0]}-{names[-1]}" if len(names) > 1 else (names[0] if names else "")
    title = f"service graph: {G.number_of_nodes()} services, {G.number_of_edges()} edges"
    if layer_text:
        title += f", layers {layer_text}"
    return Scene(
        pos=pos,
        labels={n: str(n) for n in nodes},
        colors={n: STATE_COLORS.get(state_of.get(n, ""), NEUTRAL_COLOR) for n in nodes},
        sizes=dict.fromkeys(nodes, 260.0 if len(nodes) <= 60 else 120.0),
        edges=edges,
        columns=names,
        title=title,
        square={n for n in nodes if attrs[n].get("virtual")},
        dashed_outline={
            n for n in nodes if attrs[n].get("declared") is False and not attrs[n].get("virtual")
        },
        ringed={n for n in nodes if str(n) in bad_nodes},
    )


#: Fewer groups than this say little about a large graph: split them by D-layer too.
_MIN_GROUPS = 3


def _group_keys(
    G: nx.DiGraph[Any], nodes: list[Any], layers: Mapping[Any, str] | None, max_groups: int
) -> tuple[list[str], str]:
    """Key each node by group; by layer without groups; by both with too few groups."""
    groups = [G.nodes[n].get("group") for n in nodes]
    known = {g for g in groups if g is not None}
    if _MIN_GROUPS <= len(known) <= max_groups:
        return [str(g) if g is not None else _NO_GROUP for g in groups], "group"
    if layers is None:
        from rtt_topology.diagnostics.triads.decomposition import layers as d_layers

        layers = d_layers(G)
    layer_of = [layers.get(n) or _NO_LAYER for n in nodes]
    if not known or len(known) > max_groups:
        return [str(layer) for layer in layer_of], "layer"
    return [
        f"{g if g is not None else _NO_GROUP} · {layer}"
        for g, layer in zip(groups, layer_of, strict=True)
    ], "group and layer"


def group_scene(
    G: nx.DiGraph[Any],
    state_of: Mapping[Any, str],
    bad_edges: set[tuple[str, str]],
    layers: Mapping[Any, str] | None,
    max_groups: int,
) -> Scene:
    """Return the scene of the graph's quotient by group, the groups on a circle."""
    nodes = list(G.nodes)
    keys, by = _group_keys(G, nodes, layers, max_groups)
    codes, names = pd.factorize(pd.Series(keys, dtype=object), sort=True)
    key_of = dict(zip(nodes, codes, strict=True))
    members = np.bincount(codes, minlength=len(names))
    down = np.array([state_of.get(n) == "down" for n in nodes], dtype=np.float64)
    share = np.bincount(codes, weights=down, minlength=len(names)) / np.maximum(members, 1)
    u_code = np.fromiter((key_of[u] for u, _ in G.edges), dtype=np.int64, count=G.number_of_edges())
    v_code = np.fromiter((key_of[v] for _, v in G.edges), dtype=np.int64, count=G.number_of_edges())
    data = list(G.edges(data=True))
    frame = pd.DataFrame(
        {
            "u": u_code,
            "v": v_code,
            "calls": [float(d.get("calls") or 0) for *_, d in data],
            "traced": [d.get("provenance", "both") in ("traced", "both") for *_, d in data],
            "declared": [d.get("provenance", "both") in ("declared", "both") for *_, d in data],
            "broken": [(str(u), str(v)) in bad_edges for u, v, _ in data],
        }
    )
    frame = frame[frame["u"] != frame["v"]]
    summed = frame.groupby(["u", "v"], sort=True).agg(
        calls=("calls", "sum"),
        traced=("traced", "any"),
        declared=("declared", "any"),
        broken=("broken", "any"),
    )
    quotient: nx.DiGraph[int] = nx.DiGraph()
    quotient.add_nodes_from(range(len(names)))
    edges = []
    pairs = summed.index.to_frame(index=False).to_numpy(dtype=np.int64)
    for (u, v), calls, traced, declared, broken in zip(
        pairs.tolist(),
        summed["calls"],
        summed["traced"],
        summed["declared"],
        summed["broken"],
        strict=True,
    ):  # one row per pair of groups, not per service
        style: Style = "solid" if declared and traced else "dashed" if traced else "dotted"
        edges.append(Edge(u, v, float(calls), style, bool(broken)))
        quotient.add_edge(u, v)
    # Groups on a circle, clockwise from the top in the order of their D-layer in the
    # quotient graph (callers first): groups of a datacenter call each other both ways,
    # and columns of one or two groups would stack long edges on top of each other.
    column_of, _ = _layer_columns(quotient, None)
    label = [str(name) for name in names]
    order = sorted(range(len(label)), key=lambda i: (column_of[i], label[i]))
    biggest = max(int(members.max()) if len(members) else 1, 1)
    title = (
        f"service graph aggregated by {by}: {len(nodes)} services in {len(names)} "
        f"groups, {G.number_of_edges()} edges"
    )
    return Scene(
        pos=_circle(list(order)),
        labels={
            i: f"{label[i]}\n({members[i]} service{'s' if members[i] != 1 else ''})" for i in order
        },
        colors={i: float(share[i]) for i in order},
        sizes={i: 120.0 + 1400.0 * math.sqrt(members[i] / biggest) for i in order},
        edges=edges,
        columns=[],
        title=title,
    )
