"""How the time plots of rtt_topology.plots draw: lines, marks, spans, bands, bars, images."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rtt_topology.errors import InputError
from rtt_topology.plots import tables as _tables
from rtt_topology.plots.common import (
    INCIDENT_COLORS,
    INCIDENT_CYCLE,
    NEUTRAL_COLOR,
    PALETTE,
    STATE_COLORS,
    bucket_width_ns,
    date_nums,
    days,
    plain_text,
    require,
    series_colors,
    set_names,
    site_codes,
    time_axis,
    utc_ns,
)

__all__ = [
    "CADENCE_BAND_S",
    "bin_edges",
    "cadence_band",
    "heatmap",
    "mark_changes",
    "mark_periods",
    "series_line",
    "shade",
    "state_bars",
    "state_patch",
    "time_limits",
]

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Colormap
    from matplotlib.image import AxesImage

_NAT = np.iinfo(np.int64).min
#: The upstream cadence band: active services beacon every 30 to 60 seconds.
CADENCE_BAND_S = (30.0, 60.0)
# Up to this many declared periods are vertical lines; more are ticks along the top.
_MAX_PERIOD_LINES = 5
# Incidents labelled with their service when there are at most this many.
_MAX_SPAN_LABELS = 12
# Up is the usual state: lighter in swimlanes, so that the others stand out.
_UP_ALPHA = 0.55


def time_limits(times: pd.Series) -> tuple[float, float] | None:
    """Return the date-number range from the first bucket to the end of the last one."""
    ns = utc_ns(times, "bucket")
    ns = ns[ns != _NAT]
    if len(ns) == 0:
        return None
    lo, hi = date_nums(np.array([int(ns.min()), int(ns.max()) + bucket_width_ns(ns)]))
    return float(lo), float(hi)


def series_line(
    ax: Axes,
    times: pd.Series,
    values: np.ndarray,
    *,
    color: str,
    label: str,
    lw: float,
    **options: Any,
) -> Artist:
    """Plot one time series in time order and return its line."""
    ns = utc_ns(times, "bucket")
    order = np.argsort(ns, kind="stable")
    (line,) = ax.plot(
        date_nums(ns[order]), values[order], color=color, lw=lw, label=label, **options
    )
    return line


def mark_changes(
    ax: Axes,
    drift_table: pd.DataFrame,
    change_points: pd.DataFrame,
    shown: list[str],
    value_column: str,
) -> Artist | None:
    """Mark change points on the lines: a dotted vertical line and a ring on the line."""
    from matplotlib.lines import Line2D

    require(change_points, ("site", "bucket"), "change_points")
    colors = dict(zip(shown, series_colors(len(shown)), strict=True))
    picked = change_points[change_points["site"].astype(str).isin(shown).to_numpy()]
    if picked.empty:
        return None
    when = utc_ns(picked["bucket"], "change_points: bucket")
    values = drift_table[value_column].to_numpy(dtype=np.float64, na_value=np.nan)
    keys = pd.MultiIndex.from_arrays(
        [drift_table["site"].astype(str).to_numpy(), utc_ns(drift_table["bucket"], "bucket")]
    )
    lookup = pd.Series(values, index=keys)
    lookup = lookup[~lookup.index.duplicated()]
    after = picked["after"].to_numpy(dtype=np.float64) if "after" in picked else None
    for i, (name, t) in enumerate(zip(picked["site"].astype(str), when, strict=True)):
        y = float(lookup.get((name, int(t)), np.nan))
        if not np.isfinite(y) and after is not None:
            y = float(after[i])
        x = float(date_nums(np.array([t]))[0])
        ax.axvline(x, color=colors[name], ls=":", lw=1.2, alpha=0.8, zorder=1, gid="change-point")
        ax.plot(
            [x],
            [y if np.isfinite(y) else 0.0],
            ls="none",
            marker="o",
            ms=7,
            mfc="white",
            mec=colors[name],
            mew=2.0,
            zorder=4,
            gid="change-point",
        )
    return Line2D([], [], ls=":", marker="o", ms=6, mfc="white", mec="#212121", color="#212121")


def shade(
    ax: Axes, spans: list[_tables.Incident], limits: tuple[float, float] | None
) -> tuple[list[Artist], list[str]]:
    """Shade incident spans (colour by label) and return their legend entries."""
    from matplotlib.patches import Patch

    colors: dict[str, str] = {}
    others = 0
    right = limits[1] if limits else None
    for span in spans:
        if span.label not in colors:
            if span.label in INCIDENT_COLORS:
                colors[span.label] = INCIDENT_COLORS[span.label]
            else:
                colors[span.label] = INCIDENT_CYCLE[others % len(INCIDENT_CYCLE)]
                others += 1
        x0 = float(date_nums(np.array([span.start]))[0])
        x1 = right if span.end == _NAT else float(date_nums(np.array([span.end]))[0])
        ax.axvspan(
            x0,
            x0 if x1 is None else x1,
            color=colors[span.label],
            alpha=0.15,
            lw=0,
            zorder=0,
            gid="incident",
        )
        if len(spans) <= _MAX_SPAN_LABELS and span.service is not None:
            ax.text(
                x0,
                0.98,
                " " + plain_text(span.service),
                transform=ax.get_xaxis_transform(),
                rotation=90,
                va="top",
                ha="left",
                fontsize="x-small",
                color="#424242",
                usetex=False,
                clip_on=True,
            )
    handles: list[Artist] = [Patch(color=c, alpha=0.3) for c in colors.values()]
    return handles, [f"incident: {label}" for label in colors]


def cadence_band(ax: Axes) -> Artist:
    """Shade the upstream 30-60 s cadence band and return its legend handle."""
    from matplotlib.patches import Patch

    lo, hi = CADENCE_BAND_S
    ax.axvspan(lo, hi, color=PALETTE["coherence"], alpha=0.12, lw=0, zorder=0, gid="cadence-band")
    for edge in CADENCE_BAND_S:
        ax.axvline(edge, color=PALETTE["coherence"], lw=0.8, alpha=0.6, zorder=0)
    return Patch(color=PALETTE["coherence"], alpha=0.25)


def mark_periods(ax: Axes, periods: list[float]) -> tuple[list[Artist], list[str]]:
    """Mark declared periods: lines when few, ticks along the top when many."""
    from matplotlib.lines import Line2D

    color = PALETTE["interference"]
    if not periods:
        return [], []
    if len(periods) <= _MAX_PERIOD_LINES:
        for value in periods:
            ax.axvline(value, color=color, ls="--", lw=1.2, alpha=0.9, gid="declared-period")
        label = "declared period" + ("s" if len(periods) > 1 else "")
        return [Line2D([], [], color=color, ls="--")], [label]
    ax.plot(
        periods,
        np.full(len(periods), 0.985),
        transform=ax.get_xaxis_transform(),
        ls="none",
        marker="v",
        ms=6,
        color=color,
        gid="declared-period",
    )
    handle = Line2D([], [], ls="none", marker="v", color=color)
    return [handle], [f"declared periods ({len(periods)} values)"]


def bin_edges(values: np.ndarray, bins: int | Sequence[float] | None) -> np.ndarray:
    """Return histogram edges: given ones, or log-spaced over the values (default 60)."""
    if bins is not None and not isinstance(bins, int):
        edges = np.asarray(bins, dtype=np.float64)
        if edges.ndim != 1 or len(edges) < 2 or not (np.diff(edges) > 0).all():
            raise InputError("bins must be increasing edges (at least two)")
        if edges[0] <= 0:
            raise InputError("bin edges must be positive (the interval axis is logarithmic)")
        return edges
    count = 60 if bins is None else bins
    if count < 1:
        raise InputError(f"bins must be >= 1, not {count}")
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        lo, hi = lo / 1.5, hi * 1.5
    return np.geomspace(lo, hi, count + 1)


def state_patch(state: str) -> Artist:
    """Return the legend patch of a liveness state, as its swimlane bars look."""
    from matplotlib.patches import Patch

    return Patch(color=STATE_COLORS.get(state, NEUTRAL_COLOR), alpha=_alpha(state))


def _alpha(state: str) -> float:
    return _UP_ALPHA if state == "up" else 1.0


def state_bars(ax: Axes, timeline: pd.DataFrame, shown: list[str]) -> list[str]:
    """Draw one broken bar per shown service (row i) and state; return the states drawn."""
    from rtt_topology.analysis.liveness import STATES

    codes, names = site_codes(timeline["site"])
    start = utc_ns(timeline["start"], "timeline: start")
    end = utc_ns(timeline["end"], "timeline: end")
    right = int(end[end != _NAT].max()) if (end != _NAT).any() else 0
    end = np.where(end == _NAT, right, end)
    state = timeline["state"].astype(str).to_numpy()
    row_of = np.full(len(names) + 1, -1, dtype=np.int64)  # the extra slot: null sites
    position = {name: i for i, name in enumerate(names)}
    for i, name in enumerate(shown):
        row_of[position[name]] = i
    row = row_of[codes]
    keep = row >= 0  # the rows of the services shown, before any per-state work
    row, start, end, state = row[keep], start[keep], end[keep], state[keep]
    x0, width = date_nums(start), days(end - start)
    seen: list[str] = []
    for name in [*STATES, *sorted(set(state) - set(STATES))]:
        pick = state == name
        if not pick.any():
            continue
        seen.append(name)
        for r in np.unique(row[pick]):
            here = pick & (row == r)
            ax.broken_barh(
                list(zip(x0[here], width[here], strict=True)),
                (r - 0.4, 0.8),
                facecolors=STATE_COLORS.get(name, NEUTRAL_COLOR),
                edgecolor="none",
                alpha=_alpha(name),
                label=name,
            )
    return seen


def heatmap(ax: Axes, cells: _tables.Grid, cmap: Colormap) -> ScalarMappable | AxesImage:
    """Draw a site x bucket grid as an image on a UTC time axis, names as tick labels."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    rows = len(cells.names)
    if rows == 0 or cells.values.size == 0:
        # Nothing to show: the colour bar still needs its scale.
        return ScalarMappable(Normalize(0.0, 1.0), cmap)
    x0, x1 = date_nums(np.array([cells.starts[0], cells.starts[-1] + cells.width]))
    image = ax.imshow(
        np.ma.masked_invalid(cells.values),
        cmap=cmap,
        vmin=0.0,
        vmax=1.0,
        aspect="auto",
        interpolation="nearest",
        extent=(float(x0), float(x1), rows - 0.5, -0.5),
    )
    ax.xaxis_date()
    if rows <= 120:
        ax.hlines(np.arange(rows - 1) + 0.5, x0, x1, color="#e0e0e0", lw=0.5)
    set_names(ax, "y", range(rows), cells.names)
    time_axis(ax)
    return image
