"""Reduce the beacons that carry a url to per-page arrays, the input of every drift measure."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from rtt_topology._timestamps import Instant, instant_ns
from rtt_topology.columns import COUNT_COLUMNS
from rtt_topology.errors import InputError

__all__ = [
    "BASELINE_BEACONS",
    "STRUCTURE_FIELDS",
    "TOLERANCE",
    "PageArrays",
    "between",
    "check_options",
    "page_arrays",
]

#: Fields of the structure vector compared by drift, title first.
STRUCTURE_FIELDS: tuple[str, ...] = ("title", *COUNT_COLUMNS)
#: Default number of first beacons of a page that make its baseline.
BASELINE_BEACONS = 10
#: Default relative change of a count below which it is jitter, not drift.
TOLERANCE = 0.1


class PageArrays(NamedTuple):
    """The beacons that carry a url, as arrays in table order (sorted by site, ts)."""

    rows: np.ndarray  # row numbers in the sorted table
    page: np.ndarray  # dense (site, url) number per row
    page_site: np.ndarray  # dense site number per page
    page_url: np.ndarray  # url code per page
    ts: np.ndarray  # ns
    counts: tuple[np.ndarray, ...]  # per count field, float64 per row, NaN when null
    title: np.ndarray  # title code, -1 when null


def page_arrays(beacons: pd.DataFrame, dense: np.ndarray, ts: np.ndarray) -> PageArrays:
    """Return the beacons of a sorted table that carry a url; ``dense`` numbers their sites."""
    url = beacons["url"].cat.codes.to_numpy().astype(np.int64)
    rows = np.flatnonzero(url >= 0)
    n_urls = max(len(beacons["url"].cat.categories), 1)
    key = dense[rows] * n_urls + url[rows]
    page, keys = pd.factorize(key)
    keys = np.asarray(keys, dtype=np.int64)
    every = len(rows) == len(url)
    counts = tuple(
        beacons[c].to_numpy(dtype=np.float64, na_value=np.nan)[slice(None) if every else rows]
        for c in COUNT_COLUMNS
    )
    title = beacons["title"].cat.codes.to_numpy().astype(np.int64)[rows]
    return PageArrays(
        rows, page.astype(np.int64), keys // n_urls, keys % n_urls, ts[rows], counts, title
    )


def check_options(baseline_beacons: int, tolerance: float) -> None:
    """Raise :class:`~rtt_topology.errors.InputError` for an option out of its range."""
    if baseline_beacons < 1:
        raise InputError(f"baseline_beacons must be at least 1, not {baseline_beacons}")
    if not 0 <= tolerance < 1:
        raise InputError(f"tolerance must be in [0, 1), not {tolerance}")


def between(ts: np.ndarray, start: Instant | None, end: Instant | None) -> np.ndarray:
    """Return the mask of the instants with ``start <= ts < end`` (a bound may be None)."""
    lo, hi = instant_ns(start, "start"), instant_ns(end, "end")
    keep = np.ones(len(ts), dtype=bool)
    if lo is not None:
        keep &= ts >= lo
    if hi is not None:
        keep &= ts < hi
    return keep
