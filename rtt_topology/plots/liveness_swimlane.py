"""Plot each service's liveness states over time as coloured bands, one lane per service."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pandas as pd

from rtt_topology.plots import tables as _tables
from rtt_topology.plots import time as _time
from rtt_topology.plots.common import (
    finish,
    new_axes,
    note,
    plain_rc,
    require,
    set_labels,
    set_names,
    time_axis,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_swimlane"]


def plot_swimlane(
    timeline_table: pd.DataFrame,
    *,
    services: Iterable[str] | str | None = None,
    max_services: int = 40,
    ax: Axes | None = None,
) -> tuple[Figure, Axes]:
    """Draw each service's liveness states over time as coloured bands.

    Parameters
    ----------
    timeline_table
        ``site``, ``start``, ``end``, ``state``, as
        :func:`rtt_topology.analysis.liveness.timeline` returns it.
    services
        The services to draw, top to bottom; default every service in name order,
        or with more than ``max_services``, the ``max_services`` that spent the
        longest time not ``up``.
    max_services
        Most rows when ``services`` is None.
    ax
        Axes to draw on; default a new figure, as tall as the rows need.

    Returns
    -------
    fig, ax : matplotlib.figure.Figure, matplotlib.axes.Axes
        The figure, and the axes with:
        one broken bar per service and state (colours: :data:`STATE_COLORS`), the
        names as y tick labels, a legend of the states shown.

    Examples
    --------
    >>> table = pd.DataFrame({
    ...     "site": ["api", "api"],
    ...     "start": pd.to_datetime(["2026-01-19T15:00Z", "2026-01-19T15:02Z"]),
    ...     "end": pd.to_datetime(["2026-01-19T15:02Z", "2026-01-19T15:03Z"]),
    ...     "state": ["up", "down"]})
    >>> fig, ax = plot_swimlane(table)
    >>> [text.get_text() for text in ax.get_legend().get_texts()]
    ['up', 'down']
    """
    with plain_rc():
        require(timeline_table, ("site", "start", "end", "state"), "timeline_table")
        asked = _tables.chosen(services)
        bad = _tables.unhealthy_seconds(timeline_table)
        title = "liveness per service"
        if asked is None:
            shown = sorted(bad.index)
            if len(shown) > max_services:
                shown = sorted(_tables.top_by(bad, max_services))
                title += f" ({len(shown)} of {len(bad)} services, the longest not up)"
        else:
            shown = [s for s in asked if s in bad.index]
        rows = len(shown)
        ax = new_axes(ax, (11.0, min(16.0, max(3.0, 0.22 * rows + 1.6))))
        seen = _time.state_bars(ax, timeline_table, shown)
        if rows:
            set_names(ax, "y", range(rows), shown)
            ax.set_ylim(rows - 0.5, -0.5)
            ax.xaxis_date()
            ax.autoscale(axis="x")
        else:
            note(ax)
        time_axis(ax)
        set_labels(ax, None, "service")
        patches = [_time.state_patch(state) for state in seen]
        return finish(ax, title, patches, seen, grid="x", legend_title="state")
