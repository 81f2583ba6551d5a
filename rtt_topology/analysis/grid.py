"""The time-bucket grid and the site numbering shared by the per-bucket analyses.

Buckets are fixed pandas durations aligned as :meth:`pandas.Timestamp.floor` aligns
them; a window is ``[start, end)``, by default from the first beacon to just after the
last. Sites are numbered densely in the order of a table sorted by site, as the loaders
return it. A :class:`~rtt_topology.aggregate.engines.History` gets the same grid and
numbering from its per-site bounds (:func:`history_grid`), and the per-site queries
run on it one group of sites at a time (:func:`site_groups`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from rtt_topology._timestamps import Instant, instant_ns
from rtt_topology.aggregate.engines import CHUNK_ROWS as ENGINE_CHUNK_ROWS
from rtt_topology.aggregate.engines import History
from rtt_topology.aggregate.sql.cadence import site_bounds
from rtt_topology.errors import InputError

__all__ = [
    "CHUNK_ROWS",
    "NO_SITES",
    "UTC_NS",
    "Buckets",
    "HistoryGrid",
    "Sites",
    "bucket_grid",
    "by_site",
    "empty_frame",
    "history_grid",
    "site_column",
    "site_groups",
    "site_numbers",
]

#: The dtype of bucket and time columns.
UTC_NS = pd.DatetimeTZDtype("ns", "UTC")
#: The site column's dtype in an empty table.
NO_SITES = pd.CategoricalDtype(pd.Index([], dtype="str"))
#: The most beacons a query over whole site histories runs on at once (the engines' setting).
CHUNK_ROWS = ENGINE_CHUNK_ROWS


@dataclass(frozen=True)
class Buckets:
    """A window ``[lo, hi)`` cut in ``count`` buckets of ``width`` ns from ``first``."""

    width: int
    first: int
    count: int
    lo: int
    hi: int

    def starts(self) -> np.ndarray:
        """Return the start of every bucket, ns since the epoch."""
        return self.first + np.arange(self.count, dtype=np.int64) * self.width

    def locate(self, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the mask of the instants inside the window, and their bucket numbers."""
        inside = (ts >= self.lo) & (ts < self.hi)
        return inside, (ts[inside] - self.first) // self.width

    def bounds(self) -> tuple[int, int, int, int]:
        """Return ``(first, width, lo, hi)``, the grid as the SQL definitions take it."""
        return self.first, self.width, self.lo, self.hi


def bucket_grid(
    ts: np.ndarray, bucket: str | pd.Timedelta, start: Instant | None, end: Instant | None
) -> Buckets:
    """Return the bucket grid of a window; the default window holds every beacon."""
    try:
        width = int(pd.Timedelta(bucket).value)
    except ValueError as exc:
        raise InputError(f"bucket must be a fixed duration such as '5min', not {bucket!r}") from exc
    if width <= 0:
        raise InputError(f"bucket must be positive, not {bucket!r}")
    lo, hi = instant_ns(start, "start"), instant_ns(end, "end")
    if lo is not None and hi is not None and lo >= hi:
        raise InputError("start must be before end")
    if lo is None:
        lo = int(ts.min()) if len(ts) else hi
    if hi is None:
        hi = int(ts.max()) + 1 if len(ts) else lo
    if lo is None or hi is None or lo >= hi:
        return Buckets(width, 0, 0, 0, 0)
    first = lo // width * width
    return Buckets(width, first, (hi - first + width - 1) // width, lo, hi)


def by_site(beacons: pd.DataFrame) -> pd.DataFrame:
    """Return the table sorted by site then ts (itself when it is, as loaders return it)."""
    codes = beacons["site"].cat.codes.to_numpy()
    ts = beacons["ts"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    step = np.diff(codes)
    if (step >= 0).all() and (np.diff(ts)[step == 0] >= 0).all():
        return beacons
    return beacons.iloc[np.lexsort((ts, codes))]


class Sites(NamedTuple):
    """The sites that have beacons: names, a dense number per row, first row of each."""

    names: np.ndarray  # str, sorted
    dense: np.ndarray  # per row, 0..len(names)-1
    first_row: np.ndarray  # per site, its first row in the sorted table

    def column(self, count: int) -> pd.Categorical:
        """Return the categorical site column of a grid with ``count`` rows per site."""
        return site_column(self.names, count)


def site_column(names: np.ndarray, count: int) -> pd.Categorical:
    """Return the categorical site column of a grid of ``names`` with ``count`` rows per site.

    Examples
    --------
    >>> list(site_column(np.array(["a", "b"], dtype=object), 2))
    ['a', 'a', 'b', 'b']
    """
    codes = np.repeat(np.arange(len(names)), count)
    return pd.Categorical.from_codes(codes, categories=pd.Index(names, dtype="str"), validate=False)


def site_numbers(beacons: pd.DataFrame) -> Sites:
    """Dense site numbers of a table sorted by site (unused categories dropped)."""
    codes = beacons["site"].cat.codes.to_numpy().astype(np.int64)
    categories = np.asarray(beacons["site"].cat.categories.astype(str), dtype=object)
    if not len(codes):
        return Sites(np.zeros(0, dtype=object), np.zeros(0, np.int64), np.zeros(0, np.int64))
    first_row = np.flatnonzero(np.concatenate(([True], codes[1:] != codes[:-1])))
    dense = np.cumsum(np.concatenate(([0], (codes[1:] != codes[:-1]).astype(np.int64))))
    return Sites(categories[codes[first_row]], dense, first_row)


def empty_frame(columns: tuple[str, ...], dtypes: Mapping[str, object]) -> pd.DataFrame:
    """Return an empty table with ``columns``, typed by ``dtypes`` (float64 otherwise)."""
    return pd.DataFrame(
        {c: pd.Series([], dtype=dtypes.get(c, "float64")) for c in columns}  # type: ignore[call-overload]
    )


class HistoryGrid(NamedTuple):
    """The sites of a history (names sorted, first beacon of each in ns) and its bucket grid."""

    names: np.ndarray  # str, sorted
    first: np.ndarray  # per site, its first ts, ns
    grid: Buckets


def history_grid(
    history: History, bucket: str | pd.Timedelta, start: Instant | None, end: Instant | None
) -> HistoryGrid:
    """Return the sites and the bucket grid of a history.

    They are those :func:`site_numbers` and :func:`bucket_grid` give for the same
    beacons in a table.

    Examples
    --------
    >>> from rtt_topology.columns import empty_beacon_frame
    >>> with History.from_frame(empty_beacon_frame()) as history:
    ...     history_grid(history, "5min", None, None).grid.count
    0
    """
    table = history.sql(site_bounds())
    names = np.asarray([str(s) for s in table["site"]], dtype=object)
    order = np.argsort(names, kind="stable")
    names = names[order]
    first = table["first_t"].to_numpy(dtype=np.int64)[order] * 1000
    last = table["last_t"].to_numpy(dtype=np.int64) * 1000
    ends = np.asarray([first.min(), last.max()], np.int64) if len(names) else first
    return HistoryGrid(names, first, bucket_grid(ends, bucket, start, end))


def site_groups(history: History) -> list[list[str]]:
    """Return the sites of a history in groups of at most :data:`CHUNK_ROWS` beacons.

    A query over whole site histories runs once per group, so that its memory is
    bounded by a group, not by the history (a site is never split).

    Examples
    --------
    >>> from rtt_topology.columns import empty_beacon_frame
    >>> with History.from_frame(empty_beacon_frame()) as history:
    ...     site_groups(history)
    []
    """
    return history.site_chunks(CHUNK_ROWS)
