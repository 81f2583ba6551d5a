"""Plot heartbeat cadence: beacons per time bucket and the histogram of intervals."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rtt_topology.errors import InputError
from rtt_topology.plots import tables as _tables
from rtt_topology.plots import time as _time
from rtt_topology.plots.common import (
    PALETTE,
    date_nums,
    drawn,
    finish,
    legend,
    new_axes,
    note,
    plain_rc,
    series_colors,
    set_labels,
    set_title,
    time_axis,
)

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_cadence_histogram", "plot_heartbeat_frequency"]


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
