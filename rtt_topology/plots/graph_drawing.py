"""Draw a service graph scene: edges as arrows, nodes, labels, the D-layer axis, a legend."""

from __future__ import annotations

import math
from collections.abc import Mapping
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
from rtt_topology.plots.graph_scene import (
    Edge,
    Scene,
    Style,
    group_scene,
    node_states,
    services_scene,
    violating,
)

__all__ = ["draw_service_graph"]

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes

_EDGE = "#37474f"
_DECLARED_ONLY = "#9e9e9e"
_RAD = 0.08
_SAME_COLUMN_RAD = 0.45
_LINESTYLE: dict[Style, str] = {"solid": "-", "dashed": "--", "dotted": ":"}


def _crowding(edges: list[Edge]) -> float:
    """Return 1 up to 80 edges, less beyond: many edges are drawn thinner and fainter."""
    return min(1.0, math.sqrt(80 / max(len(edges), 1)))


def _widths(edges: list[Edge]) -> list[float]:
    top = max((e.calls for e in edges), default=0.0)
    scale = _crowding(edges)
    if top <= 0:
        return [1.2 * scale] * len(edges)
    return [scale * (0.6 + 3.0 * math.log1p(e.calls) / math.log1p(top)) for e in edges]


def _draw_edges(ax: Axes, scene: Scene) -> None:
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


def _draw_nodes(ax: Axes, scene: Scene, *, colormap: bool) -> Artist | None:
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


def _draw_labels(ax: Axes, scene: Scene) -> None:
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


def _frame_axes(ax: Axes, scene: Scene) -> None:
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


def _legend(ax: Axes, scene: Scene, state_of: Mapping[Any, str], *, grouped: bool) -> None:
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


def draw_service_graph(
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
    state_of = node_states(G, states)
    bad_edges, bad_nodes = violating(violations)
    grouped = aggregate is True or (aggregate == "auto" and G.number_of_nodes() > max_nodes)
    if grouped:
        scene = group_scene(G, state_of, bad_edges, layers, max_nodes)
    else:
        scene = services_scene(G, state_of, layers, bad_edges, bad_nodes)
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
