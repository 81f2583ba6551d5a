"""Plot liveness, drift, coherence, cadence, triads and the service graph with matplotlib.

Every function draws on ``ax`` (a new figure when ``ax`` is None, sized for the
plot) and returns ``(fig, ax)``, the figure and the axes it drew on; none calls
``show`` or ``savefig`` or changes the global ``rcParams``. Time axes are in UTC,
labelled ``time (UTC)``. Colours follow the upstream datacenter regime palette
(:data:`PALETTE`) and the liveness state colours (:data:`STATE_COLORS`).

Service names and other strings from the data are drawn as plain text, never as
TeX or mathtext: ``$`` is escaped (:func:`plain_text`) and TeX is off for every
text drawn. An empty input gives an empty plot with a "no data" note, not an
error; an input that is not the expected table raises
:class:`~rtt_topology.errors.InputError`.

========================================  ============================================
function                                  draws
========================================  ============================================
:func:`plot_drift`                        drift lines per service, change points,
                                          incidents
:func:`plot_drift_heatmap`                services (or groups) x time drift heatmap
:func:`plot_swimlane`                     liveness state bands per service
:func:`plot_coherence`                    system and service coherence over time
:func:`plot_heartbeat_frequency`          beacons per bucket, in total and per service
:func:`plot_cadence_histogram`            inter-beacon intervals, the 30-60 s band
:func:`plot_triad_census`                 the 16 MAN triad types
:func:`plot_topology`                     the service graph by D-layer, or by group
========================================  ============================================

Constants: :data:`PALETTE` (the upstream regime colours: stable, transitional,
paradox, interference, coherence), :data:`STATE_COLORS` (liveness state to colour:
up green, late amber, flapping purple, down red, stopped dark grey, missing light
grey), :data:`NEUTRAL_COLOR` (a service whose state is not known),
:data:`INCIDENT_COLORS` (incident kind to colour) and :data:`VIOLATION_COLOR` (rule
violations in the service graph).

matplotlib is imported inside the functions: importing this module is cheap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from rtt_topology.errors import InputError
from rtt_topology.plots import graph as _graph
from rtt_topology.plots import tables as _tables
from rtt_topology.plots import time as _time
from rtt_topology.plots.common import (
    INCIDENT_COLORS,
    NEUTRAL_COLOR,
    PALETTE,
    STATE_COLORS,
    VIOLATION_COLOR,
    date_nums,
    drawn,
    finish,
    legend,
    new_axes,
    note,
    plain_rc,
    plain_text,
    ramp,
    require,
    series_colors,
    set_labels,
    set_names,
    set_title,
    site_codes,
    time_axis,
)

if TYPE_CHECKING:
    import networkx as nx
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from rtt_topology.analysis.coherence import Coherence
    from rtt_topology.diagnostics.triads.results import TriadCensus

__all__ = [
    "INCIDENT_COLORS",
    "NEUTRAL_COLOR",
    "PALETTE",
    "STATE_COLORS",
    "VIOLATION_COLOR",
    "plain_text",
    "plot_cadence_histogram",
    "plot_coherence",
    "plot_drift",
    "plot_drift_heatmap",
    "plot_heartbeat_frequency",
    "plot_swimlane",
    "plot_topology",
    "plot_triad_census",
]

# Component lines of plot_coherence: greys with their own dashes, apart from service colours.
_COMPONENT_STYLES: dict[str, tuple[str, Any, float]] = {
    "adherence": ("#757575", (0, (1, 1.5)), 1.2),
    "liveness": ("#424242", (0, (4, 2)), 1.2),
    "stability": ("#9e9e9e", (0, (6, 2, 1, 2)), 1.2),
    "declaration": ("#bdbdbd", (0, (2, 3)), 1.2),
}


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


# --- liveness ---------------------------------------------------------------------------------


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


# --- coherence --------------------------------------------------------------------------------


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


# --- cadence ----------------------------------------------------------------------------------


def plot_heartbeat_frequency(
    beacons_or_cadence: pd.DataFrame,
    *,
    bucket: str | pd.Timedelta = "5min",
    services: Iterable[str] | str | None = None,
    ax: Axes | None = None,
) -> tuple[Figure, Axes]:
    """Draw the number of beacons per time bucket: the system total and some services.

    Parameters
    ----------
    beacons_or_cadence
        A beacon table (``site``, ``ts``; :mod:`rtt_topology.columns`), or a
        cadence table (``site``, ``bucket``, ``beacons``;
        :func:`rtt_topology.analysis.cadence.cadence`, whose buckets are summed into
        ``bucket`` when it is longer).
    bucket
        The bucket length, aligned on the epoch as :meth:`pandas.Timestamp.floor` does.
    services
        Services to draw beside the total (default none).
    ax
        Axes to draw on; default a new figure.

    Returns
    -------
    fig, ax : matplotlib.figure.Figure, matplotlib.axes.Axes
        The figure, and the axes with:
        step lines (:meth:`~matplotlib.axes.Axes.stairs`): ``all beacons`` (every
        site, clusters included) and one per service found.

    Examples
    --------
    >>> from rtt_topology.columns import empty_beacon_frame
    >>> fig, ax = plot_heartbeat_frequency(empty_beacon_frame())
    >>> ax.texts[0].get_text()
    'no data'
    """
    with plain_rc():
        if not isinstance(beacons_or_cadence, pd.DataFrame):
            raise InputError("plot_heartbeat_frequency needs a beacon table or a cadence table")
        shown = _tables.chosen(services) or []
        counts = _tables.beacon_counts(beacons_or_cadence, bucket, shown)
        ax = new_axes(ax, (11.0, 4.0))
        handles: list[Artist] = []
        labels: list[str] = []
        label = bucket if isinstance(bucket, str) else str(pd.Timedelta(bucket))
        columns = 1 if len(counts.services) < 3 else 2
        # Room above the lines for the legend: one tenth of the height per legend row.
        headroom = 1.08 if not counts.services else 1.1 + 0.1 * (len(counts.services) + 1) / columns
        if len(counts.starts):
            edges = date_nums(np.append(counts.starts, counts.starts[-1] + counts.width))
            handles.append(
                ax.stairs(counts.total, edges, color=PALETTE["stable"], lw=2.0, label="all beacons")
            )
            labels.append("all beacons")
            ax.set_xlim(edges[0], edges[-1])
            ax.set_ylim(0.0, max(1.0, float(counts.total.max()) * headroom))
            if counts.services:
                # Services have far fewer beacons than the total: their own axis, on the right,
                # drawn below the main axes so that the legend stays on top.
                right = ax.twinx()
                ax.set_zorder(right.get_zorder() + 1)
                ax.patch.set_visible(False)
                colors = series_colors(len(counts.services), skip_blue=True)
                rows = zip(colors, counts.services, counts.per_service, strict=True)
                for color, name, row in rows:
                    handles.append(right.stairs(row, edges, color=color, lw=1.2, label=name))
                    labels.append(f"{name} (right axis)")
                right.set_ylim(0.0, max(1.0, float(counts.per_service.max()) * headroom))
                set_labels(right, None, f"beacons per {label}, per service")
        else:
            note(ax)
        time_axis(ax)
        set_labels(ax, None, f"beacons per {label}" + (", all" if counts.services else ""))
        title = "heartbeat frequency"
        if counts.services:
            title += f": all beacons and {len(counts.services)} service(s)"
        return finish(ax, title, handles, labels, outside=False, loc="upper left", ncols=columns)


def plot_cadence_histogram(
    beacons_or_intervals: pd.DataFrame | pd.Series | Sequence[float] | np.ndarray,
    *,
    services: Iterable[str] | str | None = None,
    bins: int | Sequence[float] | None = None,
    declared_period_s: float | Iterable[float | None] | Mapping[str, float | None] | None = None,
    log: bool = True,
    ax: Axes | None = None,
) -> tuple[Figure, Axes]:
    """Draw the histogram of intervals between beacons, with the upstream 30-60 s band.

    Parameters
    ----------
    beacons_or_intervals
        A beacon table (intervals from :func:`rtt_topology.aggregate.history.intervals`), an
        intervals table (``site``, ``interval_s``), or intervals in seconds.
    services
        Services to draw: up to six get one histogram each, more are pooled;
        default every interval in one histogram.
    bins
        Number of bins (log-spaced between the shortest and the longest
        interval, default 60) or their edges in seconds.
    declared_period_s
        Declared periods to mark: one value, several, or a mapping service to
        period (only the services drawn are marked), e.g. the profiles'
        ``heartbeat_interval_s``.
    log
        Count axis on a log scale (rare long gaps stay visible).
    ax
        Axes to draw on; default a new figure.

    Returns
    -------
    fig, ax : matplotlib.figure.Figure, matplotlib.axes.Axes
        The figure, and the axes with:
        step histograms (one per series), the shaded band, the declared periods
        and the median as vertical lines; x on a log scale, in seconds.

    Examples
    --------
    >>> fig, ax = plot_cadence_histogram([30.0, 31.5, 29.0, 45.0, 300.0], declared_period_s=30)
    >>> ax.get_xscale()
    'log'
    """
    from matplotlib.lines import Line2D

    with plain_rc():
        asked = _tables.chosen(services)
        series, what = _tables.interval_values(beacons_or_intervals, asked)
        ax = new_axes(ax, (9.0, 4.5))
        everything = np.concatenate(list(series.values())) if series else np.zeros(0)
        positive = everything[everything > 0]
        handles: list[Artist] = [_time.cadence_band(ax)]
        labels = ["upstream cadence 30-60 s"]
        if len(positive):
            edges = _time.bin_edges(positive, bins)
            one = len(series) == 1
            colors = [PALETTE["stable"]] if one else series_colors(len(series), skip_blue=True)
            for color, (name, values) in zip(colors, series.items(), strict=True):
                counts, _ = np.histogram(values[values > 0], bins=edges)
                handles.append(ax.stairs(counts, edges, color=color, lw=1.5, fill=one, alpha=0.8))
                labels.append(f"{name} ({len(values)} intervals)")
            median = float(np.median(positive))
            ax.axvline(median, color="#212121", ls=":", lw=1.2)
            handles.append(Line2D([], [], color="#212121", ls=":"))
            labels.append(f"median {median:.1f} s")
        marks, texts = _time.mark_periods(ax, _tables.declared_periods(declared_period_s, asked))
        handles += marks
        labels += texts
        ax.set_xscale("log")
        if log and len(positive):
            ax.set_yscale("log")
            ax.set_ylim(bottom=0.8)
        set_labels(ax, "interval between beacons (s, log scale)", "intervals")
        title = f"cadence: intervals between beacons of {what}"
        zeros = int((everything <= 0).sum())
        if zeros:
            title += f" ({zeros} of 0 s not shown)"
        set_title(ax, title)
        legend(ax, handles, labels, outside=False, loc="upper right")
        ax.grid(True, which="major", alpha=0.3)
        if not len(positive):
            ax.set_xlim(1.0, 1000.0)
            note(ax)
        return drawn(ax)


# --- triads -----------------------------------------------------------------------------------


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
        handles, names = _graph.census_bars(ax, counts, log=log)
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
            _graph.draw(
                G,
                states=states,
                layers=layers,
                violations=violations,
                aggregate=aggregate,
                max_nodes=max_nodes,
                ax=ax,
            )
        )
