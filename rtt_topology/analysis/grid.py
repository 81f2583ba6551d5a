"""The time-bucket grid and the site numbering shared by the per-bucket analyses.

Buckets are fixed pandas durations aligned as :meth:`pandas.Timestamp.floor` aligns
them; a window is ``[start, end)``, by default from the first beacon to just after the
last. Sites are numbered densely in the order of a table sorted by site, as the loaders
return it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from rtt_topology._timestamps import Instant, instant_ns
from rtt_topology.errors import InputError

__all__ = [
    "NO_SITES",
    "UTC_NS",
    "Buckets",
    "Sites",
    "bucket_grid",
    "by_site",
    "empty_frame",
    "site_numbers",
]

#: The dtype of bucket and time columns.
UTC_NS = pd.DatetimeTZDtype("ns", "UTC")
#: The site column's dtype in an empty table.
NO_SITES = pd.CategoricalDtype(pd.Index([], dtype="str"))


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
        codes = np.repeat(np.arange(len(self.names)), count)
        return pd.Categorical.from_codes(
            codes, categories=pd.Index(self.names, dtype="str"), validate=False
        )


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
