"""Lay out and draw the service graph for rtt_topology.plots.plot_topology.

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
from typing import TYPE_CHECKING, Any, Literal

import networkx as nx
import numpy as np
import pandas as pd

from rtt_topology.errors import InputError
from rtt_topology.plots.common import (
    NEUTRAL_COLOR,
    PALETTE,
    STATE_COLORS,
    VIOLATION_COLOR,
    legend,
    new_axes,
    note,
    plain_text,
    ramp,
    set_title,
)

__all__ = ["Style", "census_bars", "draw", "layered"]

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes

_EDGE = "#37474f"
_DECLARED_ONLY = "#9e9e9e"
_NO_LAYER = "no layer"
_NO_GROUP = "(no group)"
_SWEEPS = 8
_MAX_ROWS = 30
_RAD = 0.08
_SAME_COLUMN_RAD = 0.45
Style = Literal["solid", "dashed", "dotted"]
_LINESTYLE: dict[Style, str] = {"solid": "-", "dashed": "--", "dotted": ":"}


@dataclass
class _Edge:
    u: Hashable
    v: Hashable
    calls: float
    style: Style
    broken: bool


@dataclass
class _Scene:
    """What to draw: positions, node looks, edges, column labels, title."""

    pos: dict[Hashable, tuple[float, float]]
    labels: dict[Hashable, str]
    colors: dict[Hashable, Any]
    sizes: dict[Hashable, float]
    edges: list[_Edge]
    columns: list[str]
    title: str
    square: set[Hashable] = field(default_factory=set)
    dashed_outline: set[Hashable] = field(default_factory=set)
    ringed: set[Hashable] = field(default_factory=set)


# --- inputs -----------------------------------------------------------------------------------


def _state_map(
    G: nx.DiGraph[Any], states: pd.DataFrame | Mapping[str, str] | None
) -> dict[Any, str]:
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


def _violations(violations: Any) -> tuple[set[tuple[str, str]], set[str]]:
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


def _services_scene(
    G: nx.DiGraph[Any],
    state_of: Mapping[Any, str],
    layers: Mapping[Any, str] | None,
    bad_edges: set[tuple[str, str]],
    bad_nodes: set[str],
) -> _Scene:
    column, names = _layer_columns(G, layers)
    nodes = list(G.nodes)
    group = {n: str(G.nodes[n].get("group") or "") for n in nodes}
    pos = layered(nodes, column, G.edges, {n: (group[n], str(n)) for n in nodes})
    edges = []
    for u, v, data in G.edges(data=True):
        calls = float(data.get("calls") or 0)
        style = _edge_style(data.get("provenance"))
        edges.append(_Edge(u, v, calls, style, (str(u), str(v)) in bad_edges))
    attrs = G.nodes
    layer_text = f"{names[0]}-{names[-1]}" if len(names) > 1 else (names[0] if names else "")
    title = f"service graph: {G.number_of_nodes()} services, {G.number_of_edges()} edges"
    if layer_text:
        title += f", layers {layer_text}"
    return _Scene(
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


def _group_scene(
    G: nx.DiGraph[Any],
    state_of: Mapping[Any, str],
    bad_edges: set[tuple[str, str]],
    layers: Mapping[Any, str] | None,
    max_groups: int,
) -> _Scene:
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
        edges.append(_Edge(u, v, float(calls), style, bool(broken)))
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
    return _Scene(
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


# --- triad census -----------------------------------------------------------------------------

#: Triad families of the census plot: name, types, colour.
_FAMILIES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("not connected", ("003", "012", "102"), "#9e9e9e"),
    ("connected, one-way calls", ("021D", "021U", "021C", "030T"), PALETTE["stable"]),
    ("call cycle", ("030C",), PALETTE["paradox"]),
    ("mutual calls", ("111D", "111U", "201", "120D", "120U", "120C", "210", "300"),
     PALETTE["interference"]),
)  # fmt: skip


def census_bars(ax: Axes, counts: np.ndarray, *, log: bool) -> tuple[list[Artist], list[str]]:
    """Draw the 16 census bars coloured by family, with their counts; return the legend."""
    from matplotlib.patches import Patch

    from rtt_topology.diagnostics.triads.decomposition import TRIAD_TYPES

    color_of = {t: color for _, types, color in _FAMILIES for t in types}
    x = np.arange(len(TRIAD_TYPES))
    ax.bar(x, counts, color=[color_of[t] for t in TRIAD_TYPES], width=0.75)
    log = log and bool(counts.any())  # no positive count: nothing to put on a log scale
    if log:
        ax.set_yscale("log")
        ax.set_ylim(0.8, max(10.0, float(counts.max()) * 4))
    else:
        ax.set_ylim(0.0, max(1.0, float(counts.max()) * 1.12))
    for xi, count in zip(x, counts, strict=True):
        # On a log axis an empty bar has no top: its 0 sits on the axis.
        ax.annotate(
            f"{count:,}",
            (float(xi), max(float(count), 1.0) if log else float(count)),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize="x-small",
            usetex=False,
        )
    handles: list[Artist] = [Patch(color=color) for _, _, color in _FAMILIES]
    return handles, [name for name, _, _ in _FAMILIES]


# --- drawing ----------------------------------------------------------------------------------


def _crowding(edges: list[_Edge]) -> float:
    """Return 1 up to 80 edges, less beyond: many edges are drawn thinner and fainter."""
    return min(1.0, math.sqrt(80 / max(len(edges), 1)))


def _widths(edges: list[_Edge]) -> list[float]:
    top = max((e.calls for e in edges), default=0.0)
    scale = _crowding(edges)
    if top <= 0:
        return [1.2 * scale] * len(edges)
    return [scale * (0.6 + 3.0 * math.log1p(e.calls) / math.log1p(top)) for e in edges]


def _draw_edges(ax: Axes, scene: _Scene) -> None:
    from matplotlib.patches import FancyArrowPatch

    column_of = {n: round(p[0]) for n, p in scene.pos.items()}
    faint = 0.7 * _crowding(scene.edges) ** 1.5
    for edge, width in zip(scene.edges, _widths(scene.edges), strict=True):
        if edge.u not in scene.pos or edge.v not in scene.pos:
            continue
        if edge.u == edge.v:
            continue
        same = scene.columns and column_of[edge.u] == column_of[edge.v]
        color = (
            VIOLATION_COLOR
            if edge.broken
            else (_DECLARED_ONLY if edge.style == "dotted" else _EDGE)
        )
        radius_a = math.sqrt(scene.sizes[edge.u]) / 2 + 1.5
        radius_b = math.sqrt(scene.sizes[edge.v]) / 2 + 2.5
        arrow = FancyArrowPatch(
            scene.pos[edge.u],
            scene.pos[edge.v],
            arrowstyle="-|>",
            mutation_scale=9 + width * 2,
            connectionstyle=f"arc3,rad={_SAME_COLUMN_RAD if same else _RAD}",
            shrinkA=radius_a,
            shrinkB=radius_b,
            linewidth=width + (0.6 if edge.broken else 0.0),
            linestyle=_LINESTYLE[edge.style],
            color=color,
            alpha=0.95 if edge.broken else max(0.12, faint),
            zorder=2.5 if edge.broken else 1.5,
            gid=f"edge:{edge.style}{':broken' if edge.broken else ''}",
        )
        ax.add_patch(arrow)


def _draw_nodes(ax: Axes, scene: _Scene, *, colormap: bool) -> Artist | None:
    nodes = list(scene.pos)
    image = None
    cmap = ramp(
        "rtt_share_down", [PALETTE["coherence"], PALETTE["transitional"], PALETTE["paradox"]]
    )
    for marker, pick in (("o", [n for n in nodes if n not in scene.square]),
                         ("s", [n for n in nodes if n in scene.square])):  # fmt: skip
        if not pick:
            continue
        xy = np.array([scene.pos[n] for n in pick])
        styles = ["--" if n in scene.dashed_outline else "-" for n in pick]
        options: dict[str, Any] = {}
        if colormap:
            options.update(c=[scene.colors[n] for n in pick], cmap=cmap, vmin=0.0, vmax=1.0)
        else:
            options.update(c=[scene.colors[n] for n in pick])
        image = ax.scatter(
            xy[:, 0],
            xy[:, 1],
            s=[scene.sizes[n] for n in pick],
            marker=marker,
            edgecolors="#263238",
            linewidths=[1.4 if s == "--" else 0.8 for s in styles],
            linestyles=styles,
            zorder=3,
            gid=f"nodes:{marker}",
            **options,
        )
    if scene.ringed:
        ring = [n for n in nodes if n in scene.ringed]
        xy = np.array([scene.pos[n] for n in ring])
        ax.scatter(
            xy[:, 0],
            xy[:, 1],
            s=[scene.sizes[n] * 2.2 for n in ring],
            facecolors="none",
            edgecolors=VIOLATION_COLOR,
            linewidths=2.0,
            zorder=2.8,
            gid="nodes:ring",
        )
    return image


def _draw_labels(ax: Axes, scene: _Scene) -> None:
    count = len(scene.pos)
    size = 7.5 if count <= 60 else max(4.0, 7.5 - (count - 60) / 20)
    for n, (x, y) in scene.pos.items():
        offset = math.sqrt(scene.sizes[n]) / 2 + 2
        if scene.columns:  # layered: below the node
            dx, dy, ha, va = 0.0, -1.0, "center", "top"
        else:  # on a circle: outwards, away from the edges inside it
            norm = math.hypot(x, y) or 1.0
            dx, dy = x / norm, y / norm
            ha = "center" if abs(dx) < 0.3 else "left" if dx > 0 else "right"
            va = "center" if abs(dy) < 0.3 else "bottom" if dy > 0 else "top"
        ax.annotate(
            plain_text(scene.labels[n]),
            (x, y),
            xytext=(dx * offset, dy * offset),
            textcoords="offset points",
            ha=ha,
            va=va,
            fontsize=size,
            usetex=False,
            zorder=4,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75},
        )


def _frame_axes(ax: Axes, scene: _Scene) -> None:
    xs = [p[0] for p in scene.pos.values()] or [0.0]
    ys = [p[1] for p in scene.pos.values()] or [0.0]
    pad = 0.6 if scene.columns else 0.25 * max(max(xs) - min(xs), 2.0)
    ax.set_xlim(min(xs) - pad, max(xs) + pad)
    ax.set_ylim(min(ys) - pad - 0.3, max(ys) + pad)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_yticks([])
    if scene.columns:
        ax.xaxis.tick_top()
        ax.xaxis.set_label_position("top")
        ax.set_xticks(range(len(scene.columns)), labels=scene.columns, usetex=False)
        ax.tick_params(axis="x", length=0)
        ax.set_xlabel("D-layer: longest call path from an entry point (calls go left to right)")
        for i in range(len(scene.columns)):
            ax.axvline(i, color="#eceff1", lw=6, zorder=0)
    else:
        ax.set_xticks([])
        ax.set_aspect("equal", adjustable="box")


def _legend(ax: Axes, scene: _Scene, state_of: Mapping[Any, str], *, grouped: bool) -> None:
    from matplotlib.lines import Line2D

    from rtt_topology.analysis.liveness import STATES

    handles: list[Artist] = []
    labels: list[str] = []

    def dot(color: str, *, marker: str = "o", ls: str = "-", edge: str = "#263238") -> Line2D:
        return Line2D([], [], ls="none", marker=marker, ms=8, mfc=color, mec=edge)

    if not grouped:
        present = {state_of.get(n) for n in scene.pos}
        for state in STATES:
            if state in present:
                handles.append(dot(STATE_COLORS[state]))
                labels.append(state)
        if None in present or present - set(STATES):
            handles.append(dot(NEUTRAL_COLOR))
            labels.append("state unknown")
        if scene.dashed_outline:
            handles.append(dot("white", edge="#263238"))
            labels.append("no profile: dashed outline")
        if scene.square:
            handles.append(dot("white", marker="s"))
            labels.append("uninstrumented peer")
        if scene.ringed:
            handles.append(dot("none", edge=VIOLATION_COLOR))
            labels.append("service breaks a rule")
    styles = {e.style for e in scene.edges}
    for style, text in (
        ("solid", "declared and traced"),
        ("dashed", "traced, not declared"),
        ("dotted", "declared, not traced"),
    ):
        if style in styles:
            color = _DECLARED_ONLY if style == "dotted" else _EDGE
            handles.append(Line2D([], [], color=color, ls=_LINESTYLE[style], lw=1.5))
            labels.append(text)
    if any(e.broken for e in scene.edges):
        handles.append(Line2D([], [], color=VIOLATION_COLOR, lw=2.2))
        labels.append("call breaks a rule")
    if scene.edges:
        handles.append(Line2D([], [], color="none"))
        labels.append("width: calls (log scale)")
    if handles:
        legend(ax, handles, labels)


def draw(
    G: nx.DiGraph[Any],
    *,
    states: pd.DataFrame | Mapping[str, str] | None,
    layers: Mapping[Any, str] | None,
    violations: Any,
    aggregate: bool | Literal["auto"],
    max_nodes: int,
    ax: Axes | None,
) -> Axes:
    """Draw the service graph (see :func:`rtt_topology.plots.plot_topology`)."""
    if not isinstance(G, nx.DiGraph) or G.is_multigraph():
        raise InputError(f"plot_topology needs a networkx.DiGraph, not {type(G).__name__}")
    if aggregate not in (True, False, "auto"):
        raise InputError(f"aggregate must be True, False or 'auto', not {aggregate!r}")
    state_of = _state_map(G, states)
    bad_edges, bad_nodes = _violations(violations)
    grouped = aggregate is True or (aggregate == "auto" and G.number_of_nodes() > max_nodes)
    if grouped:
        scene = _group_scene(G, state_of, bad_edges, layers, max_nodes)
    else:
        scene = _services_scene(G, state_of, layers, bad_edges, bad_nodes)
    tallest = pd.Series([p[0] for p in scene.pos.values()]).value_counts().max() if scene.pos else 1
    width = max(8.0, 1.7 * max(len(scene.columns), 4) + 3.5)
    height = min(18.0, max(4.5, 0.62 * float(tallest) + 1.8))
    if grouped:
        height = min(14.0, max(6.0, 0.25 * len(scene.pos) + 4))
        width = height + 3.5
    ax = new_axes(ax, (width, height))
    if not scene.pos:
        note(ax, "no services")
        ax.set_xticks([])
        ax.set_yticks([])
        set_title(ax, "service graph: no services")
        return ax
    _draw_edges(ax, scene)
    image = _draw_nodes(ax, scene, colormap=grouped)
    _draw_labels(ax, scene)
    _frame_axes(ax, scene)
    if grouped and image is not None:
        bar = ax.figure.colorbar(image, ax=ax, fraction=0.03, pad=0.01, shrink=0.6)  # type: ignore[arg-type]
        bar.set_label("share of services down", usetex=False)
    _legend(ax, scene, state_of, grouped=grouped)
    loops = sum(1 for e in scene.edges if e.u == e.v)
    if loops == len(scene.edges):
        scene.title += " (no calls)"
    if loops:
        scene.title += f"; {loops} self-call{'s' if loops > 1 else ''} not drawn"
    set_title(ax, scene.title)
    return ax
