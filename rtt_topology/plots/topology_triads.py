"""Plot the service graph in D-layers (or by group) and its triad census."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from rtt_topology.errors import InputError
from rtt_topology.plots.common import (
    PALETTE,
    drawn,
    legend,
    new_axes,
    note,
    plain_rc,
    set_labels,
    set_names,
    set_title,
)
from rtt_topology.plots.graph_drawing import draw_service_graph

if TYPE_CHECKING:
    import networkx as nx
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from rtt_topology.diagnostics.triads.results import TriadCensus

__all__ = ["plot_topology", "plot_triad_census"]

# --- triad census -----------------------------------------------------------------------------

#: Triad families of the census plot: name, types, colour.
_FAMILIES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("not connected", ("003", "012", "102"), "#9e9e9e"),
    ("connected, one-way calls", ("021D", "021U", "021C", "030T"), PALETTE["stable"]),
    ("call cycle", ("030C",), PALETTE["paradox"]),
    ("mutual calls", ("111D", "111U", "201", "120D", "120U", "120C", "210", "300"),
     PALETTE["interference"]),
)  # fmt: skip


def _census_bars(ax: Axes, counts: np.ndarray, *, log: bool) -> tuple[list[Artist], list[str]]:
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


def plot_triad_census(
    census: TriadCensus | Mapping[str, int],
    *,
    log: bool = True,
    ax: Axes | None = None,
) -> tuple[Figure, Axes]:
    """Draw the triad census: one bar per MAN type, in the standard order, with its count.

    Parameters
    ----------
    census
        :func:`rtt_topology.diagnostics.triads.census` or the dict of
        :func:`rtt_topology.diagnostics.triads.triadic_census` (:func:`networkx.triadic_census`).
    log
        Count axis on a log scale (``003`` usually dwarfs the others).
    ax
        Axes to draw on; default a new figure.

    Returns
    -------
    fig, ax : matplotlib.figure.Figure, matplotlib.axes.Axes
        The figure, and the axes with:
        16 bars labelled with their counts, coloured by family: not connected
        (grey), connected without mutual calls (blue), the pure cycle ``030C``
        (red), with mutual calls (purple).

    Examples
    --------
    >>> import networkx as nx
    >>> fig, ax = plot_triad_census(nx.triadic_census(nx.DiGraph([(1, 2), (2, 3)])))
    >>> [label.get_text() for label in ax.get_xticklabels()][:4]
    ['003', '012', '102', '021D']
    """
    from rtt_topology.diagnostics.triads.decomposition import TRIAD_TYPES

    with plain_rc():
        counts_of: object = getattr(census, "counts", census)
        if not isinstance(counts_of, Mapping):
            raise InputError("plot_triad_census needs a TriadCensus or a mapping type -> count")
        unknown = set(map(str, counts_of)) - set(TRIAD_TYPES)
        if unknown:
            raise InputError(f"unknown triad type(s): {', '.join(sorted(unknown))}")
        counts = np.array([int(counts_of.get(t, 0)) for t in TRIAD_TYPES], dtype=np.int64)
        ax = new_axes(ax, (10.0, 4.5))
        handles, names = _census_bars(ax, counts, log=log)
        x = np.arange(len(TRIAD_TYPES))
        set_names(ax, "x", x, list(TRIAD_TYPES))
        scale = " (log scale)" if ax.get_yscale() == "log" else ""
        set_labels(ax, "triad type (MAN)", "triads" + scale)
        title = "triad census"
        nodes = getattr(census, "nodes", None)
        if nodes is not None:
            title += f" ({nodes} services, {getattr(census, 'edges', 0)} edges)"
        if not counts.any():
            note(ax, "no triads (fewer than three services)")
        set_title(ax, title)
        legend(ax, handles, names, outside=False, loc="upper right")
        return drawn(ax)


# --- the service graph ------------------------------------------------------------------------


def plot_topology(
    G: nx.DiGraph[Any],
    *,
    states: pd.DataFrame | Mapping[str, str] | None = None,
    layers: Mapping[Any, str] | None = None,
    violations: Any = None,
    aggregate: bool | Literal["auto"] = "auto",
    max_nodes: int = 120,
    ax: Axes | None = None,
) -> tuple[Figure, Axes]:
    """Draw the service graph in D-layers (columns), or aggregated by group when large.

    Parameters
    ----------
    G
        The service graph (:func:`rtt_topology.graph.build_graph`; ``u -> v``: u
        calls v), with the edge attributes ``provenance`` and ``calls`` and the
        node attributes ``group``, ``declared`` and ``virtual`` when present.
    states
        Liveness states: :func:`rtt_topology.analysis.liveness.states` (``site``,
        ``state``) or a mapping service to state; default the node attribute
        ``state`` if present, else no colour (grey).
    layers
        Service to ``"D0"``...``"D7"``; default :func:`rtt_topology.diagnostics.triads.layers`.
        Services without a layer go to a last column, ``no layer``.
    violations
        Rule violations to highlight in red:
        :func:`rtt_topology.diagnostics.rules.evaluate`'s result (violations not in the
        baseline), one rule's result, violations, or ``(caller, callee)`` pairs.
        Edge violations colour the edge, cycles their edges, node violations
        ring the node.
    aggregate
        ``True``: one node per group (node attribute ``group``); per group and
        D-layer when there are fewer than three groups (two sites say little
        about thousands of services); per D-layer without groups or with more
        than ``max_nodes`` of them. ``"auto"``: aggregate when ``G`` has more
        than ``max_nodes`` nodes.
    max_nodes
        The size above which ``"auto"`` aggregates.
    ax
        Axes to draw on; default a new figure.

    Returns
    -------
    fig, ax : matplotlib.figure.Figure, matplotlib.axes.Axes
        The figure, and the axes with:
        nodes coloured by state (:data:`STATE_COLORS`) and labelled by name;
        edges as arrows (:class:`~matplotlib.patches.FancyArrowPatch`) with
        width by calls (log scale), solid when declared and traced, dashed when
        traced but undeclared, dotted and light when declared but not traced, red
        when they break a rule; the D-layers on the x axis; a legend.
        Aggregated: node size by services, colour by the share of services down,
        edge width by the calls summed; the title says so.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph()
    >>> G.add_edge("web", "api", provenance="both", calls=120)
    >>> G.add_edge("api", "db", provenance="traced", calls=80)
    >>> fig, ax = plot_topology(G, states={"web": "up", "api": "late", "db": "down"})
    >>> sum(p.get_linestyle() == "--" for p in ax.patches)
    1
    """
    with plain_rc():
        return drawn(
            draw_service_graph(
                G,
                states=states,
                layers=layers,
                violations=violations,
                aggregate=aggregate,
                max_nodes=max_nodes,
                ax=ax,
            )
        )
