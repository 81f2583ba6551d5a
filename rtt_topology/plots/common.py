"""Shared parts of rtt_topology.plots: palette, plain text, axes, time axes, legends.

matplotlib is imported inside the functions only, so that importing this module
(and :mod:`rtt_topology.plots`) stays cheap.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np
import pandas as pd

from rtt_topology.errors import InputError

__all__ = [
    "INCIDENT_COLORS",
    "INCIDENT_CYCLE",
    "NEUTRAL_COLOR",
    "NO_DATA",
    "PALETTE",
    "STATE_COLORS",
    "VIOLATION_COLOR",
    "bucket_width_ns",
    "date_nums",
    "days",
    "drawn",
    "finish",
    "legend",
    "new_axes",
    "note",
    "plain_rc",
    "plain_text",
    "ramp",
    "require",
    "series_colors",
    "set_labels",
    "set_names",
    "set_title",
    "site_codes",
    "time_axis",
    "utc_ns",
]

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.colors import Colormap
    from matplotlib.figure import Figure
    from matplotlib.legend import Legend

#: The upstream datacenter regime palette.
PALETTE: Final[Mapping[str, str]] = {
    "stable": "#0d47a1",
    "transitional": "#ffb300",
    "paradox": "#c62828",
    "interference": "#8e24aa",
    "coherence": "#2e7d32",
}
#: The colour of a service whose state is not known.
NEUTRAL_COLOR: Final = "#90a4ae"
#: The colour of each liveness state (:data:`rtt_topology.analysis.liveness.STATES`).
STATE_COLORS: Final[Mapping[str, str]] = {
    "up": PALETTE["coherence"],
    "late": PALETTE["transitional"],
    "flapping": PALETTE["interference"],
    "down": PALETTE["paradox"],
    "unknown": "#78909c",
    "stopped": "#616161",
    "missing": "#bdbdbd",
}
#: The colour of incidents by label or kind (:func:`rtt_topology.analysis.liveness.downtime` and
#: :func:`rtt_topology.incidents.find_incidents` kinds); others take the next colour of
#: ``INCIDENT_CYCLE``.
INCIDENT_COLORS: Final[Mapping[str, str]] = {
    "crash": PALETTE["paradox"],
    "outage": PALETTE["paradox"],
    "restart_storm": PALETTE["interference"],
    "intermittent": PALETTE["transitional"],
    "cadence_change": PALETTE["stable"],
    "planned": STATE_COLORS["stopped"],
    "planned_stop": STATE_COLORS["stopped"],
    "collector_gap": STATE_COLORS["unknown"],
}
INCIDENT_CYCLE: Final[tuple[str, ...]] = (
    PALETTE["transitional"],
    PALETTE["interference"],
    PALETTE["stable"],
    PALETTE["coherence"],
)
#: Colour of rule violations in the service graph.
VIOLATION_COLOR: Final = PALETTE["paradox"]
NO_DATA: Final = "no data"
_NS_PER_DAY = 86_400_000_000_000


def plain_text(value: object) -> str:
    r"""Return ``value`` as text that matplotlib draws literally (no mathtext).

    Parameters
    ----------
    value
        Any value; converted with :func:`str`.

    Returns
    -------
    str
        The text with every ``$`` escaped: matplotlib reads text between two
        ``$`` as mathtext, and shows an escaped ``\$`` as ``$``.

    Examples
    --------
    >>> plain_text("a$b$c")
    'a\\$b\\$c'
    >>> plain_text("<script>alert(1)</script>")
    '<script>alert(1)</script>'
    """
    return str(value).replace("$", r"\$")


@contextlib.contextmanager
def plain_rc() -> Iterator[None]:
    """Draw with TeX off (data strings are plain text), without touching global rcParams."""
    import matplotlib

    with matplotlib.rc_context({"text.usetex": False}):
        yield


def drawn(ax: Axes) -> tuple[Figure, Axes]:
    """Return ``(fig, ax)``: the root figure of ``ax`` (also inside a subfigure) and ``ax``."""
    # A SubFigure's ``figure`` is its root Figure; a Figure's is itself.
    return ax.figure.figure, ax


def new_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """Return ``ax``, or the axes of a new pyplot figure of ``figsize`` inches."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, created = plt.subplots(figsize=figsize, layout="constrained")
    return created


def set_title(ax: Axes, text: str) -> None:
    """Set a title that may hold data strings."""
    ax.set_title(plain_text(text), usetex=False)


def set_labels(ax: Axes, xlabel: str | None, ylabel: str | None) -> None:
    """Set axis labels (our own words, no data strings)."""
    if xlabel is not None:
        ax.set_xlabel(xlabel, usetex=False)
    if ylabel is not None:
        ax.set_ylabel(ylabel, usetex=False)


def note(ax: Axes, message: str = NO_DATA) -> None:
    """Write a grey note in the middle of the axes (an empty plot says why it is empty)."""
    ax.text(
        0.5,
        0.5,
        plain_text(message),
        transform=ax.transAxes,
        ha="center",
        va="center",
        color="#616161",
        fontsize="large",
        usetex=False,
        gid="note",
    )
    # Axes without data have no meaningful ticks.
    ax.tick_params(labelbottom=False, labelleft=False, length=0)


def set_names(ax: Axes, axis: str, positions: Iterable[float], names: Sequence[str]) -> None:
    """Put data strings as tick labels on an axis, drawn literally."""
    size = "small" if len(names) <= 30 else max(4.0, min(8.0, 420.0 / len(names)))
    labels = [plain_text(name) for name in names]
    if axis == "y":
        ax.set_yticks(list(positions), labels=labels, usetex=False, fontsize=size)
    else:
        ax.set_xticks(list(positions), labels=labels, usetex=False, fontsize=size)


def legend(
    ax: Axes,
    handles: Sequence[Artist],
    labels: Sequence[str],
    *,
    title: str | None = None,
    outside: bool = True,
    loc: str = "upper left",
    ncols: int = 1,
) -> Legend:
    """Add a legend from explicit handles and labels (a label may start with ``_``)."""
    options: dict[str, Any] = {"fontsize": "small", "title_fontsize": "small", "ncols": ncols}
    if outside:
        options.update(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    else:
        options.update(loc=loc, framealpha=0.85)
    made = ax.legend(
        list(handles),
        [plain_text(label) for label in labels],
        title=plain_text(title) if title else None,
        **options,
    )
    for text in made.get_texts():
        text.set_usetex(False)
    made.get_title().set_usetex(False)
    return made


def finish(
    ax: Axes,
    title: str,
    handles: Sequence[Artist],
    labels: Sequence[str],
    *,
    grid: Literal["x", "y", "both"] = "y",
    legend_title: str | None = None,
    **legend_options: Any,
) -> tuple[Figure, Axes]:
    """Set the title, the legend (when there is something to list) and a light grid.

    Returns
    -------
    fig, ax
        What :func:`drawn` returns, for the plot function to hand back.
    """
    set_title(ax, title)
    if handles:
        legend(ax, handles, labels, title=legend_title, **legend_options)
    ax.grid(True, axis=grid, alpha=0.3)
    return drawn(ax)


def time_axis(ax: Axes, *, label: bool = True) -> None:
    """Format the x axis as UTC dates, concisely, and label it ``time (UTC)``."""
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(tz=UTC)  # type: ignore[no-untyped-call]
    formatter = mdates.ConciseDateFormatter(locator, tz=UTC, usetex=False)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(formatter)
    if label:
        ax.set_xlabel("time (UTC)", usetex=False)


def utc_ns(values: Any, name: str) -> np.ndarray:
    """Return timezone-aware times as int64 UTC nanoseconds (NaT stays NaT's integer)."""
    index = pd.DatetimeIndex(values)
    if index.tz is None:
        if len(index) == 0:
            return np.zeros(0, np.int64)
        raise InputError(f"{name} must be timezone-aware (UTC)")
    return np.asarray(index.tz_convert("UTC").as_unit("ns").asi8, dtype=np.int64)


def date_nums(ns: np.ndarray) -> np.ndarray:
    """Return matplotlib date numbers (days since its epoch) for UTC nanoseconds."""
    import matplotlib.dates as mdates

    values = np.asarray(ns, dtype=np.int64)
    nums = mdates.date2num(values.view("datetime64[ns]"))  # type: ignore[no-untyped-call]
    out = np.asarray(nums, dtype=np.float64)
    out[values == np.iinfo(np.int64).min] = np.nan
    return out


def days(ns: np.ndarray | int) -> np.ndarray:
    """Return durations in nanoseconds as days (matplotlib's date unit)."""
    return np.asarray(ns, dtype=np.float64) / _NS_PER_DAY


def require(frame: object, columns: Iterable[str], what: str) -> pd.DataFrame:
    """Check that ``frame`` is a DataFrame with ``columns``; name ``what`` in the error."""
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"{what} must be a pandas DataFrame, not {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"{what} lacks column(s): {', '.join(missing)}")
    return frame


def site_codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Return per-row codes (-1 for null) and the names they index, as str, for a site column."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = np.asarray(column.cat.codes.to_numpy(), dtype=np.int64)
        names = np.asarray([str(c) for c in column.cat.categories], dtype=object)
        return codes, names
    codes, uniques = pd.factorize(column, sort=True)
    return np.asarray(codes, dtype=np.int64), np.asarray([str(u) for u in uniques], dtype=object)


def series_colors(count: int, *, skip_blue: bool = False) -> list[str]:
    """Return ``count`` distinct line colours (tab10, tab20 beyond ten)."""
    import matplotlib as mpl
    from matplotlib.colors import to_hex

    cmap = mpl.colormaps["tab10" if count + skip_blue <= 10 else "tab20"]
    colors = [to_hex(c) for c in getattr(cmap, "colors", [])]
    if skip_blue:
        colors = colors[1:]
    return [colors[i % len(colors)] for i in range(count)]


def ramp(name: str, colors: Sequence[str], bad: str = "#cfd8dc") -> Colormap:
    """Return a continuous colour map through ``colors``; NaN cells get ``bad``."""
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list(name, list(colors)).with_extremes(bad=bad)


def bucket_width_ns(starts: np.ndarray, default: int = 300 * 1_000_000_000) -> int:
    """Return the smallest step between distinct bucket starts (the bucket length)."""
    unique = np.unique(starts)
    if len(unique) < 2:
        return default
    return int(np.diff(unique).min())
