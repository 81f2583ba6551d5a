"""Plot drift and coherence over time: drift lines per service, the drift heatmap, coherence."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rtt_topology.errors import InputError
from rtt_topology.plots import tables as _tables
from rtt_topology.plots import time as _time
from rtt_topology.plots.common import (
    PALETTE,
    drawn,
    finish,
    new_axes,
    note,
    plain_rc,
    ramp,
    require,
    series_colors,
    set_labels,
    set_title,
    site_codes,
    time_axis,
)

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from rtt_topology.analysis.coherence import Coherence

__all__ = ["plot_coherence", "plot_drift", "plot_drift_heatmap"]

# --- drift ------------------------------------------------------------------------------------


def plot_drift(
    drift_table: pd.DataFrame,
    *,
    services: Iterable[str] | str | None = None,
    change_points: pd.DataFrame | None = None,
    incidents: pd.DataFrame | None = None,
    max_services: int = 8,
    value_column: str = "drift",
    ax: Axes | None = None,
) -> tuple[Figure, Axes]:
    """Draw each service's structural drift over time, its change points and incidents.

    Parameters
    ----------
    drift_table
        Per site and bucket, as :func:`rtt_topology.analysis.drift.drift` returns it
        (``site``, ``bucket``, ``drift``).
    services
        The services to draw, in legend order; default: the ``max_services``
        services with the largest drift (services that never drift are left out).
    change_points
        Rows ``site``, ``bucket`` (and ``after``), as
        :func:`rtt_topology.analysis.changepoints.detect_changes` returns them: a vertical
        marker on the service's line at each change.
    incidents
        Spans to shade: ``start``, ``end`` (NaT: still going on at the end), and
        optionally the service (a ``service`` or ``site`` column, or ``sites``
        lists; only incidents of drawn services, or of none, are shaded) and a
        ``label`` or ``kind`` column (the legend text; colours in
        :data:`INCIDENT_COLORS`). :func:`rtt_topology.analysis.liveness.downtime` and
        :func:`rtt_topology.incidents.find_incidents` fit as they are.
    max_services
        Most services drawn when ``services`` is None.
    value_column
        The column drawn (``drift``).
    ax
        Axes to draw on; default a new figure.

    Returns
    -------
    fig, ax : matplotlib.figure.Figure, matplotlib.axes.Axes
        The figure, and the axes with:
        one line per service (label: its name), the change point markers, the
        shaded incidents, a legend, y in [0, 1].

    Examples
    --------
    >>> buckets = pd.date_range("2026-01-19T00:00Z", periods=6, freq="5min")
    >>> table = pd.DataFrame({"site": ["shop"] * 6, "bucket": buckets,
    ...                       "drift": [0, 0, 0, 0.4, 0.4, 0.4]})
    >>> fig, ax = plot_drift(table)
    >>> [line.get_label() for line in ax.get_lines()]
    ['shop']
    """
    with plain_rc():
        require(drift_table, ("site", "bucket", value_column), "drift_table")
        ax = new_axes(ax, (11.0, 4.5))
        title = "structural drift per service"
        codes, names = site_codes(drift_table["site"])
        values = drift_table[value_column].to_numpy(dtype=np.float64, na_value=np.nan)
        peak = _tables.peaks(codes, names, values)
        asked = _tables.chosen(services)
        if asked is None:
            drifting = peak[peak > 0]
            shown = _tables.top_by(drifting, max_services)
            if len(drifting) > len(shown):
                title += f" (top {len(shown)} of {len(drifting)} drifting services)"
        else:
            shown = [s for s in asked if s in peak.index]
        limits = _time.time_limits(drift_table["bucket"])
        top = 0.1
        handles: list[Artist] = []
        labels: list[str] = []
        position = {name: i for i, name in enumerate(names)}
        for color, name in zip(series_colors(len(shown)), shown, strict=True):
            rows = codes == position[name]
            y = values[rows]
            handles.append(
                _time.series_line(
                    ax,
                    drift_table["bucket"][rows],
                    y,
                    color=color,
                    label=name,
                    lw=1.6,
                    marker=".",
                    ms=3,
                )
            )
            labels.append(name)
            if np.isfinite(y).any():
                top = max(top, float(np.nanmax(y)))
        if change_points is not None and shown:
            marker = _time.mark_changes(ax, drift_table, change_points, shown, value_column)
            if marker is not None:
                handles.append(marker)
                labels.append("change point")
        spans = _tables.incidents(incidents, set(shown))
        more_handles, more_labels = _time.shade(ax, spans, limits)
        handles += more_handles
        labels += more_labels
        if limits is not None:
            ax.set_xlim(*limits)
        ax.set_ylim(0.0, min(1.0, top * 1.2) if top < 0.8 else 1.0)
        if not shown:
            note(ax, "no data" if not len(peak) else "no service drifted")
        time_axis(ax)
        set_labels(ax, None, "drift (0-1)")
        return finish(ax, title, handles, labels)


def plot_drift_heatmap(
    drift_table: pd.DataFrame,
    *,
    max_services: int = 60,
    groups: Mapping[str, str] | None = None,
    value_column: str = "drift",
    ax: Axes | None = None,
) -> tuple[Figure, Axes]:
    """Draw the drift of every service (rows) over time (columns) as a heatmap.

    Parameters
    ----------
    drift_table
        Per site and bucket, as :func:`rtt_topology.analysis.drift.drift` returns it.
    max_services
        Most rows: with more services, the ones with the largest drift are shown
        (in name order) and the title says how many of how many.
    groups
        Service to group (a cluster, a team): one row per group, the largest drift
        of its services in each bucket; services not in the mapping form the group
        ``(no group)``.
    value_column
        The column drawn (``drift``).
    ax
        Axes to draw on; default a new figure, as tall as the rows need.

    Returns
    -------
    fig, ax : matplotlib.figure.Figure, matplotlib.axes.Axes
        The figure, and the axes with:
        the heatmap image (white 0 to red 1, grey where there is no value), the
        names as y tick labels and a colour bar labelled ``drift (0-1)``.

    Examples
    --------
    >>> buckets = pd.date_range("2026-01-19T00:00Z", periods=4, freq="5min")
    >>> table = pd.DataFrame({"site": ["a"] * 4 + ["b"] * 4, "bucket": buckets.append(buckets),
    ...                       "drift": [0, 0, 0.5, 0.5, 0, 0, 0, 0]})
    >>> fig, ax = plot_drift_heatmap(table)
    >>> [label.get_text() for label in ax.get_yticklabels()]
    ['a', 'b']
    """
    with plain_rc():
        cells = _tables.grid(
            drift_table, value_column, limit=max_services, groups=groups, what="drift_table"
        )
        rows = len(cells.names)
        ax = new_axes(ax, (11.0, min(16.0, max(3.5, 0.17 * rows + 1.8))))
        cmap = ramp("rtt_drift", ["#ffffff", PALETTE["transitional"], PALETTE["paradox"]])
        if groups is not None:
            title = f"structural drift: largest per group ({rows} groups, {cells.total} services)"
        elif cells.total > rows:
            title = f"structural drift: top {rows} of {cells.total} services by drift"
        else:
            title = f"structural drift of {rows} services"
        image = _time.heatmap(ax, cells, cmap)
        if rows == 0:
            note(ax)
            title = "structural drift"
        elif np.isnan(cells.values).any():
            title += " (grey: no value)"
        colorbar = ax.figure.colorbar(image, ax=ax, fraction=0.04, pad=0.01)
        colorbar.set_label("drift (0-1)", usetex=False)
        set_labels(ax, None, "group" if groups is not None else "service")
        set_title(ax, title)
        return drawn(ax)


# --- coherence --------------------------------------------------------------------------------

# Component lines of plot_coherence: greys with their own dashes, apart from service colours.
_COMPONENT_STYLES: dict[str, tuple[str, Any, float]] = {
    "adherence": ("#757575", (0, (1, 1.5)), 1.2),
    "liveness": ("#424242", (0, (4, 2)), 1.2),
    "stability": ("#9e9e9e", (0, (6, 2, 1, 2)), 1.2),
    "declaration": ("#bdbdbd", (0, (2, 3)), 1.2),
}


def plot_coherence(
    coherence_result: Coherence,
    *,
    services: Iterable[str] | str | None = None,
    worst: int = 3,
    components: bool = False,
    ax: Axes | None = None,
) -> tuple[Figure, Axes]:
    """Draw the system's coherence over time (thick) and some services' (thin).

    Parameters
    ----------
    coherence_result
        What :func:`rtt_topology.analysis.coherence.coherence` returns (``system``,
        ``by_bucket``, ``services``, ``overall``).
    services
        The services to draw; default the ``worst`` services with the lowest
        overall coherence.
    worst
        How many of the lowest-scoring services to draw when ``services`` is None.
    components
        Also draw the system's four components (adherence, liveness, stability,
        declaration) as thin dotted lines.
    ax
        Axes to draw on; default a new figure.

    Returns
    -------
    fig, ax : matplotlib.figure.Figure, matplotlib.axes.Axes
        The figure, and the axes with:
        a line labelled ``system`` (stable blue), one per service, y in [0, 1].

    Examples
    --------
    >>> from rtt_topology.analysis.coherence import Coherence
    >>> buckets = pd.date_range("2026-01-19T00:00Z", periods=3, freq="5min")
    >>> system = pd.DataFrame({"bucket": buckets, "coherence": [1.0, 0.8, 0.9]})
    >>> by_bucket = pd.DataFrame({"site": ["api"] * 3, "bucket": buckets,
    ...                           "coherence": [1.0, 0.8, 0.9]})
    >>> result = Coherence(by_bucket, pd.DataFrame({"site": ["api"], "coherence": [0.9]}),
    ...                    system, 0.9)
    >>> [line.get_label() for line in plot_coherence(result)[1].get_lines()]
    ['system', 'api']
    """
    from rtt_topology.analysis.coherence import COMPONENTS

    with plain_rc():
        for name in ("system", "by_bucket", "services"):
            if not isinstance(getattr(coherence_result, name, None), pd.DataFrame):
                raise InputError(
                    "plot_coherence needs the result of rtt_topology.analysis.coherence.coherence"
                )
        system = require(coherence_result.system, ("bucket", "coherence"), "coherence system")
        by_bucket = coherence_result.by_bucket
        ax = new_axes(ax, (11.0, 4.5))
        asked = _tables.chosen(services)
        scores = coherence_result.services
        if asked is None and len(scores) and {"site", "coherence"} <= set(scores.columns):
            ranked = pd.Series(
                -scores["coherence"].to_numpy(dtype=np.float64), index=scores["site"].astype(str)
            )
            asked = _tables.top_by(ranked.dropna(), worst)
        handles: list[Artist] = []
        labels: list[str] = []
        if len(system):
            overall = coherence_result.overall
            parts = [c for c in COMPONENTS if components and c in system.columns]
            for part in ["coherence", *parts]:
                color, dashes, lw = _COMPONENT_STYLES.get(part, (PALETTE["stable"], "-", 2.8))
                values = system[part].to_numpy(dtype=np.float64, na_value=np.nan)
                handles.append(
                    _time.series_line(
                        ax,
                        system["bucket"],
                        values,
                        color=color,
                        label="system" if part == "coherence" else f"system {part}",
                        lw=lw,
                        ls=dashes,
                        zorder=3,
                    )
                )
                labels.append(f"system {part}")
            labels[0] = "system" if overall is None else f"system (overall {overall:.3f})"
        if asked and len(by_bucket):
            require(by_bucket, ("site", "bucket", "coherence"), "coherence by_bucket")
            site = by_bucket["site"].astype(str).to_numpy()
            values = by_bucket["coherence"].to_numpy(dtype=np.float64, na_value=np.nan)
            for color, name in zip(series_colors(len(asked), skip_blue=True), asked, strict=True):
                rows = site == name
                if rows.any():
                    handles.append(
                        _time.series_line(
                            ax,
                            by_bucket["bucket"][rows],
                            values[rows],
                            color=color,
                            label=name,
                            lw=1.1,
                        )
                    )
                    labels.append(name)
        if not handles:
            note(ax)
        ax.set_ylim(0.0, 1.02)
        time_axis(ax)
        set_labels(ax, None, "coherence (0-1)")
        title = "coherence score over time"
        if coherence_result.overall is not None:
            title += f" (system overall {coherence_result.overall:.3f})"
        return finish(ax, title, handles, labels)
