"""Measure structural drift: how far each page's structure moved from its baseline.

Upstream RTT defines drift as the divergence of a system from its declared
structure, on a scale of 0 (none) to 1, in three kinds (gradual, sudden,
oscillating), without a formula: the formula below is **ours**.

The structure of a beacon is its title and its five counts (``nav_count``,
``main_count``, ``form_count``, ``button_count``, ``dom_nodes``). Pages of a web
site differ, so structure is compared per ``(site, url)``; beacons without a
url carry no structure and are left out. Backends send zeros and a constant
title: their drift is 0.

Baseline and observation
------------------------
The *baseline* of a ``(site, url)`` is the median of each count and the most
frequent title of its first ``baseline_beacons`` beacons (default 10), or of its
beacons in ``baseline_window`` when one is given (a page without beacons there
falls back to its first ones). The *observed* structure of a ``(site, url)`` in a
bucket is the median of each count and the most frequent title of its beacons in
the bucket. Medians, because the DOM of a page jitters by a few percent between
visits and a single odd render must not move a whole bucket; title ties go to
the title that sorts first. Null counts and titles are absent, not zero: they
are skipped.

Distance
--------
For a count with observed value ``x`` and baseline ``b``::

    d = |x - b| / max(x, b)     (0 when x == b == 0)
    d = 0 when |x - b| <= tolerance * max(x, b)

The relative difference is in [0, 1] for non-negative counts, symmetric, and
scale-free: 8 to 3 nav blocks weighs 0.625, 1840 to 2576 DOM nodes 0.286. The
tolerance (default 10 %) absorbs DOM jitter, which is not drift. The title
distance is 1 when the titles differ, else 0. The *url drift* is the mean of
the components present (at most six); a site's *drift* in a bucket is the mean
of its url drifts weighted by their beacons in the bucket. Every score is in
[0, 1].

Drift events
------------
:func:`drift_events` compares each beacon with the previous beacon of the same
``(site, url)``: a count that moved beyond the tolerance or a different title
(both values present) is a structural change, one event per beacon, listing the
fields that changed. :func:`drift_event_counts` counts them per site (the
``rtt_drift_events_total`` counter).

Kinds
-----
:func:`drift_kinds` reads a site's drift series (buckets with a score, in time
order). A bucket is *drifted* when its drift is at least ``min_drift`` (0.05).
The kind is ``none`` when no bucket is drifted; ``oscillating`` when the
drifted/not-drifted state changes at least three times (it drifted, came back
and drifted again); ``sudden`` when the largest rise between consecutive
buckets is at least half of the largest drift reached; ``gradual`` otherwise.

Windows and buckets are those of :mod:`rtt_topology.analysis.cadence`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from rtt_topology._timestamps import Instant, instant_ns, utc_index
from rtt_topology.analysis.cadence import (
    _NO_SITES,
    _UTC,
    _Buckets,
    _buckets,
    _empty,
    _Sites,
    _sites,
    _sorted,
)
from rtt_topology.columns import COUNT_COLUMNS, validate_beacon_frame
from rtt_topology.errors import InputError

__all__ = [
    "BASELINE_BEACONS",
    "DRIFT_KINDS",
    "STRUCTURE_FIELDS",
    "TOLERANCE",
    "drift",
    "drift_event_counts",
    "drift_events",
    "drift_kinds",
    "url_drift",
]

#: Fields of the structure vector compared by drift, title first.
STRUCTURE_FIELDS: tuple[str, ...] = ("title", *COUNT_COLUMNS)
#: Default number of first beacons of a page that make its baseline.
BASELINE_BEACONS = 10
#: Default relative change of a count below which it is jitter, not drift.
TOLERANCE = 0.1
#: The drift kinds of :func:`drift_kinds`.
DRIFT_KINDS: tuple[str, ...] = ("none", "sudden", "gradual", "oscillating")


class _Structure(NamedTuple):
    """The beacons that carry a url, as arrays in table order (sorted by site, ts)."""

    rows: np.ndarray  # row numbers in the sorted table
    page: np.ndarray  # dense (site, url) number per row
    page_site: np.ndarray  # dense site number per page
    page_url: np.ndarray  # url code per page
    ts: np.ndarray  # ns
    counts: tuple[np.ndarray, ...]  # per count field, float64 per row, NaN when null
    title: np.ndarray  # title code, -1 when null


def _structure(beacons: pd.DataFrame, dense: np.ndarray, ts: np.ndarray) -> _Structure:
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
    return _Structure(
        rows, page.astype(np.int64), keys // n_urls, keys % n_urls, ts[rows], counts, title
    )


def _bounds(ids: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Return each group's smallest and largest value, NaN skipped (NaN when none)."""
    low, high = np.full(n, np.inf), np.full(n, -np.inf)
    # ufunc.at on 1-d arrays is a fast scatter in numpy 2: 20x a pandas group-by here.
    np.fmin.at(low, ids, values)
    np.fmax.at(high, ids, values)
    empty = low > high
    low[empty], high[empty] = np.nan, np.nan
    return low, high


def _group_median(ids: np.ndarray, values: tuple[np.ndarray, ...], n: int) -> np.ndarray:
    """Return, per group ``0..n-1`` and column, the median (NaN skipped; all-NaN gives NaN)."""
    result = np.full((n, len(values)), np.nan)
    mixed = np.zeros(n, dtype=bool)
    for k, column in enumerate(values):
        low, high = _bounds(ids, column, n)
        result[:, k] = low
        mixed |= (low != high) & ~np.isnan(low)
    # Constant groups (nearly all of them) need no median.
    if mixed.any():
        picked = mixed[ids]
        frame = pd.DataFrame({k: v[picked] for k, v in enumerate(values)})
        found = frame.groupby(ids[picked]).median()
        result[found.index.to_numpy()] = found.to_numpy(dtype=np.float64)
    return result


def _group_mode(ids: np.ndarray, codes: np.ndarray, n: int) -> np.ndarray:
    """Return, per group, the most frequent non-negative code (ties: the smallest); -1 if none."""
    valid = codes >= 0
    ids, codes = ids[valid], codes[valid]
    low, high = np.full(n, np.iinfo(np.int64).max), np.full(n, -1, dtype=np.int64)
    np.minimum.at(low, ids, codes)
    np.maximum.at(high, ids, codes)
    result = np.where(high >= 0, low, -1)
    mixed = low < high
    if mixed.any():
        picked = mixed[ids]
        pairs = pd.DataFrame({"id": ids[picked], "code": codes[picked]})
        tally = pairs.value_counts(sort=False).reset_index(name="n")
        tally = tally.sort_values(["id", "n", "code"], ascending=[True, False, True])
        best = tally.drop_duplicates("id")
        result[best["id"].to_numpy()] = best["code"].to_numpy()
    return result


def _score(
    x: np.ndarray, b: np.ndarray, x_title: np.ndarray, b_title: np.ndarray, tolerance: float
) -> np.ndarray:
    """Return the mean of the count distances and the title distance present, per row."""
    present = ~np.isnan(x) & ~np.isnan(b)
    x, b = np.where(present, x, 0.0), np.where(present, b, 0.0)
    diff = np.abs(x - b)
    scale = np.maximum(np.abs(x), np.abs(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(scale > 0, diff / scale, 0.0)
    d = np.where(diff <= tolerance * scale, 0.0, np.minimum(d, 1.0))
    titled = (x_title >= 0) & (b_title >= 0)
    total = d.sum(axis=1) + (titled & (x_title != b_title))
    parts = present.sum(axis=1) + titled
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(parts > 0, total / np.maximum(parts, 1), np.nan)


def _check(baseline_beacons: int, tolerance: float) -> None:
    if baseline_beacons < 1:
        raise InputError(f"baseline_beacons must be at least 1, not {baseline_beacons}")
    if not 0 <= tolerance < 1:
        raise InputError(f"tolerance must be in [0, 1), not {tolerance}")


class _PageCells(NamedTuple):
    page: np.ndarray  # page number per cell
    k: np.ndarray  # bucket number per cell
    drift: np.ndarray
    beacons: np.ndarray


def _page_cells(
    s: _Structure,
    count: int,
    inside: np.ndarray,
    k: np.ndarray,
    base_mask: np.ndarray,
    tolerance: float,
) -> _PageCells:
    n_pages = len(s.page_site)
    base_counts = _group_median(s.page[base_mask], tuple(c[base_mask] for c in s.counts), n_pages)
    base_title = _group_mode(s.page[base_mask], s.title[base_mask], n_pages)
    cell, keys = pd.factorize(s.page[inside] * count + k)
    keys = np.asarray(keys, dtype=np.int64)
    n_cells = len(keys)
    counts = _group_median(cell, tuple(c[inside] for c in s.counts), n_cells)
    title = _group_mode(cell, s.title[inside], n_cells)
    page = keys // count
    score = _score(counts, base_counts[page], title, base_title[page], tolerance)
    return _PageCells(page, keys % count, score, np.bincount(cell, minlength=n_cells))


def _between(ts: np.ndarray, start: Instant | None, end: Instant | None) -> np.ndarray:
    """Return the mask of the instants with ``start <= ts < end`` (a bound may be None)."""
    lo, hi = instant_ns(start, "start"), instant_ns(end, "end")
    keep = np.ones(len(ts), dtype=bool)
    if lo is not None:
        keep &= ts >= lo
    if hi is not None:
        keep &= ts < hi
    return keep


def _baseline_mask(
    s: _Structure, baseline_beacons: int, window: tuple[Instant, Instant] | None
) -> np.ndarray:
    """Return the mask of the beacons that make their page's baseline."""
    rank = pd.Series(s.page).groupby(s.page, sort=False).cumcount().to_numpy()
    first = rank < baseline_beacons
    if window is None:
        return np.asarray(first)
    in_window = _between(s.ts, window[0], window[1])
    covered = np.bincount(s.page[in_window], minlength=len(s.page_site)) > 0
    return np.asarray(np.where(covered[s.page], in_window, first))


def _cells(
    beacons: pd.DataFrame,
    bucket: str | pd.Timedelta,
    start: Instant | None,
    end: Instant | None,
    baseline_beacons: int,
    baseline_window: tuple[Instant, Instant] | None,
    tolerance: float,
) -> tuple[pd.DataFrame, _Buckets, _Sites, _Structure, _PageCells]:
    validate_beacon_frame(beacons)
    _check(baseline_beacons, tolerance)
    beacons = _sorted(beacons)
    ts = beacons["ts"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    grid = _buckets(ts, bucket, start, end)
    sites = _sites(beacons)
    s = _structure(beacons, sites.dense, ts)
    inside, k = grid.locate(s.ts)
    base = _baseline_mask(s, baseline_beacons, baseline_window)
    cells = _page_cells(s, max(grid.count, 1), inside, k, base, tolerance)
    return beacons, grid, sites, s, cells


def url_drift(
    beacons: pd.DataFrame,
    *,
    bucket: str | pd.Timedelta = "5min",
    start: Instant | None = None,
    end: Instant | None = None,
    baseline_beacons: int = BASELINE_BEACONS,
    baseline_window: tuple[Instant, Instant] | None = None,
    tolerance: float = TOLERANCE,
) -> pd.DataFrame:
    r"""Return the drift of each page (site and url) in each bucket where it has beacons.

    Parameters
    ----------
    beacons
        A beacon table; baselines come from the whole table.
    bucket
        A fixed bucket length (``"5min"``, ``"1h"``, a Timedelta).
    start, end
        The window ``[start, end)`` (default: every beacon).
    baseline_beacons
        How many first beacons of a page make its baseline.
    baseline_window
        ``(start, end)``: take the baseline from the beacons in this window instead.
    tolerance
        Relative change of a count that is still jitter.

    Returns
    -------
    pandas.DataFrame
        ``site``, ``bucket``, ``url`` (categorical), ``drift`` (in [0, 1]; NaN when no
        field can be compared) and ``beacons``, sorted by site, bucket and url.

    Examples
    --------
    >>> from rtt_topology.load import beacons_from_records
    >>> def beacon(ts, title, nav_count, dom_nodes):
    ...     structure = {"url": "/", "title": title, "nav_count": nav_count,
    ...                  "dom_nodes": dom_nodes}
    ...     return {"site": "shop", "session": "s", "event": "heartbeat", "ts": ts,
    ...             "structure": structure}
    >>> rows = [(f"2026-01-19T15:0{m}:00Z", "Home", 8, 1000 + m) for m in range(5)]
    >>> rows += [(f"2026-01-19T15:0{m}:00Z", "Sale", 4, 1000) for m in range(5, 10)]
    >>> beacons, _ = beacons_from_records(beacon(*row) for row in rows)
    >>> url_drift(beacons, baseline_beacons=5)[["bucket", "url", "drift", "beacons"]]
                         bucket url  drift  beacons
    0 2026-01-19 15:00:00+00:00   /    0.0        5
    1 2026-01-19 15:05:00+00:00   /    0.5        5
    """
    beacons, grid, sites, s, cells = _cells(
        beacons, bucket, start, end, baseline_beacons, baseline_window, tolerance
    )
    order = np.lexsort((s.page_url[cells.page], cells.k, s.page_site[cells.page]))
    page = cells.page[order]
    urls = beacons["url"].cat.categories
    url_used, url_code = np.unique(s.page_url[page], return_inverse=True)
    site_used, site_code = np.unique(s.page_site[page], return_inverse=True)
    return pd.DataFrame(
        {
            "site": pd.Categorical.from_codes(
                site_code, categories=pd.Index(sites.names[site_used], dtype="str")
            ),
            "bucket": utc_index(grid.first + cells.k[order] * grid.width),
            "url": pd.Categorical.from_codes(
                url_code, categories=pd.Index(np.asarray(urls.astype(str))[url_used], dtype="str")
            ),
            "drift": cells.drift[order],
            "beacons": cells.beacons[order].astype(np.int64),
        }
    )


def drift(
    beacons: pd.DataFrame,
    *,
    bucket: str | pd.Timedelta = "5min",
    start: Instant | None = None,
    end: Instant | None = None,
    baseline_beacons: int = BASELINE_BEACONS,
    baseline_window: tuple[Instant, Instant] | None = None,
    tolerance: float = TOLERANCE,
) -> pd.DataFrame:
    r"""Return each site's structural drift per time bucket.

    Parameters
    ----------
    beacons, bucket, start, end, baseline_beacons, baseline_window, tolerance
        As in :func:`url_drift`.

    Returns
    -------
    pandas.DataFrame
        One row per site with beacons and bucket of the window, sorted by site and
        bucket: ``site`` (categorical), ``bucket`` (start, UTC), ``drift`` (the
        beacon-weighted mean of its url drifts, in [0, 1]; NaN without any
        structure to compare), ``urls`` (pages seen) and ``beacons`` (beacons with
        a url).

    Examples
    --------
    >>> from rtt_topology.load import beacons_from_records
    >>> def beacon(ts, title, nav_count, dom_nodes):
    ...     structure = {"url": "/", "title": title, "nav_count": nav_count,
    ...                  "dom_nodes": dom_nodes}
    ...     return {"site": "shop", "session": "s", "event": "heartbeat", "ts": ts,
    ...             "structure": structure}
    >>> rows = [(f"2026-01-19T15:0{m}:00Z", "Home", 8, 1000 + m) for m in range(5)]
    >>> rows += [(f"2026-01-19T15:0{m}:00Z", "Sale", 4, 1000) for m in range(5, 10)]
    >>> beacons, _ = beacons_from_records(beacon(*row) for row in rows)
    >>> drift(beacons, baseline_beacons=5)
       site                    bucket  drift  urls  beacons
    0  shop 2026-01-19 15:00:00+00:00    0.0     1        5
    1  shop 2026-01-19 15:05:00+00:00    0.5     1        5
    """
    beacons, grid, sites, s, cells = _cells(
        beacons, bucket, start, end, baseline_beacons, baseline_window, tolerance
    )
    count, n_sites = grid.count, len(sites.names)
    dtypes = {"site": _NO_SITES, "bucket": _UTC, "urls": "int64", "beacons": "int64"}
    if count == 0 or n_sites == 0:
        return _empty(("site", "bucket", "drift", "urls", "beacons"), dtypes)
    size = n_sites * count
    where = s.page_site[cells.page] * count + cells.k
    scored = ~np.isnan(cells.drift)
    weight = np.where(scored, cells.beacons, 0).astype(np.float64)
    total = np.bincount(where, weights=np.where(scored, cells.drift, 0.0) * weight, minlength=size)
    norm = np.bincount(where, weights=weight, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(norm > 0, np.clip(total / np.maximum(norm, 1), 0.0, 1.0), np.nan)
    return pd.DataFrame(
        {
            "site": sites.column(count),
            "bucket": utc_index(np.tile(grid.starts(), n_sites)),
            "drift": score,
            "urls": np.bincount(where, minlength=size).astype(np.int64),
            "beacons": np.bincount(where, weights=cells.beacons, minlength=size).astype(np.int64),
        }
    )


def _changes(
    beacons: pd.DataFrame, tolerance: float, start: Instant | None, end: Instant | None
) -> tuple[pd.DataFrame, _Sites, np.ndarray, np.ndarray, np.ndarray]:
    """Beacons whose structure changed from the previous beacon of their page.

    Returns the sorted table, its sites, the changed rows (in the sorted table), the
    rows they are compared with, and which of :data:`STRUCTURE_FIELDS` changed.
    """
    validate_beacon_frame(beacons)
    _check(1, tolerance)
    beacons = _sorted(beacons)
    ts = beacons["ts"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    sites = _sites(beacons)
    s = _structure(beacons, sites.dense, ts)
    # Each page's beacons in time order (stable: the table is in time order per site).
    order = np.argsort(s.page, kind="stable")
    page, title = s.page[order], s.title[order]
    candidate = page[1:] == page[:-1]
    candidate &= _between(s.ts[order][1:], start, end)
    # Most beacons repeat their page's previous structure exactly: compare only the others.
    same = (title[1:] == title[:-1]) & candidate
    columns = [c[order] for c in s.counts]
    for c in columns:
        same &= c[1:] == c[:-1]
    at = np.flatnonzero(candidate & ~same)
    changed = np.zeros((len(at), len(STRUCTURE_FIELDS)), dtype=bool)
    changed[:, 0] = (title[at + 1] >= 0) & (title[at] >= 0) & (title[at + 1] != title[at])
    for k, c in enumerate(columns, start=1):
        now, before = c[at + 1], c[at]
        # NaN (a null count) compares False: a missing value is no change.
        changed[:, k] = np.abs(now - before) > tolerance * np.maximum(np.abs(now), np.abs(before))
    hit = changed.any(axis=1)
    at, changed = at[hit], changed[hit]
    return beacons, sites, s.rows[order][at + 1], s.rows[order][at], changed


def _snapshots(beacons: pd.DataFrame, rows: np.ndarray) -> list[dict[str, Any]]:
    """Return the structure fields of some rows as dicts of plain values (None when null)."""
    columns = {f: beacons[f].iloc[rows].astype(object).tolist() for f in STRUCTURE_FIELDS}
    return [
        {
            f: None if pd.isna(v[i]) else (str(v[i]) if f == "title" else int(v[i]))
            for f, v in columns.items()
        }
        for i in range(len(rows))
    ]


def drift_events(
    beacons: pd.DataFrame,
    *,
    tolerance: float = TOLERANCE,
    start: Instant | None = None,
    end: Instant | None = None,
) -> pd.DataFrame:
    r"""Return every structural change of a page from its previous beacon.

    Parameters
    ----------
    beacons
        A beacon table.
    tolerance
        Relative change of a count that is still jitter.
    start, end
        Keep the changes with ``start <= ts < end`` (the beacon compared with may
        be earlier).

    Returns
    -------
    pandas.DataFrame
        One row per changed beacon, sorted by site, ts and url: ``site``, ``url``
        (str), ``ts`` (UTC), ``changed`` (list of the fields of
        :data:`STRUCTURE_FIELDS` that changed), ``before`` and ``after`` (dicts of
        those fields, the previous beacon's and this one's; ``None`` when null).

    Examples
    --------
    >>> from rtt_topology.load import beacons_from_records
    >>> def beacon(ts, title, nav_count, dom_nodes):
    ...     structure = {"url": "/", "title": title, "nav_count": nav_count,
    ...                  "dom_nodes": dom_nodes}
    ...     return {"site": "shop", "session": "s", "event": "heartbeat", "ts": ts,
    ...             "structure": structure}
    >>> rows = [("2026-01-19T15:00:00Z", "Home", 8, 1000),
    ...         ("2026-01-19T15:01:00Z", "Home", 8, 1030),  # 3 % more nodes: jitter
    ...         ("2026-01-19T15:02:00Z", "Sale", 4, 1000)]
    >>> beacons, _ = beacons_from_records(beacon(*row) for row in rows)
    >>> event = drift_events(beacons).iloc[0]
    >>> event["ts"], event["changed"]
    (Timestamp('2026-01-19 15:02:00+0000', tz='UTC'), ['title', 'nav_count'])
    >>> event["before"]["nav_count"], event["after"]["nav_count"]
    (8, 4)
    """
    beacons, _, rows, prev, changed = _changes(beacons, tolerance, start, end)
    fields = np.asarray(STRUCTURE_FIELDS, dtype=object)
    picked = beacons.iloc[rows]
    table = pd.DataFrame(
        {
            "site": picked["site"].astype("str").to_numpy(),
            "url": picked["url"].astype("str").to_numpy(),
            "ts": picked["ts"].to_numpy(dtype="datetime64[ns]"),
            "changed": pd.Series([list(fields[c]) for c in changed], dtype=object),
            "before": pd.Series(_snapshots(beacons, prev), dtype=object),
            "after": pd.Series(_snapshots(beacons, rows), dtype=object),
        }
    )
    table["site"] = table["site"].astype("str")
    table["url"] = table["url"].astype("str")
    table["ts"] = table["ts"].dt.tz_localize("UTC")
    result: pd.DataFrame = table.sort_values(
        ["site", "ts", "url"], kind="stable", ignore_index=True
    )
    return result


def drift_event_counts(
    beacons: pd.DataFrame,
    *,
    tolerance: float = TOLERANCE,
    start: Instant | None = None,
    end: Instant | None = None,
) -> pd.DataFrame:
    r"""Count the structural changes of :func:`drift_events` per site.

    Parameters
    ----------
    beacons, tolerance, start, end
        As in :func:`drift_events`.

    Returns
    -------
    pandas.DataFrame
        One row per site with beacons, sorted: ``site`` (str) and ``drift_events``
        (int64, 0 included), the value of ``rtt_drift_events_total``.

    Examples
    --------
    >>> from rtt_topology.load import beacons_from_records
    >>> beacons, _ = beacons_from_records([
    ...     {"site": "api", "session": "s", "event": "heartbeat", "ts": "2026-01-19T15:00:00Z"},
    ...     {"site": "web", "session": "s", "event": "heartbeat", "ts": "2026-01-19T15:00:00Z",
    ...      "structure": {"url": "/", "title": "Home"}},
    ...     {"site": "web", "session": "s", "event": "heartbeat", "ts": "2026-01-19T15:01:00Z",
    ...      "structure": {"url": "/", "title": "Sale"}},
    ... ])
    >>> drift_event_counts(beacons)
      site  drift_events
    0  api             0
    1  web             1
    """
    beacons, sites, rows, _, _ = _changes(beacons, tolerance, start, end)
    dense = sites.dense[rows]
    return pd.DataFrame(
        {
            "site": pd.Series(sites.names, dtype="str"),
            "drift_events": np.bincount(dense, minlength=len(sites.names)).astype(np.int64),
        }
    )


def drift_kinds(table: pd.DataFrame, *, min_drift: float = 0.05) -> pd.DataFrame:
    """Classify each site's drift series as none, sudden, gradual or oscillating.

    Parameters
    ----------
    table
        A :func:`drift` table (``site``, ``bucket``, ``drift``).
    min_drift
        Drift from which a bucket counts as drifted.

    Returns
    -------
    pandas.DataFrame
        One row per site, sorted: ``site`` (str), ``kind`` (one of
        :data:`DRIFT_KINDS`, rules in the module documentation), ``max_drift``,
        ``first_drift`` (first drifted bucket, NaT if none), ``max_rise`` (largest
        rise between consecutive scored buckets) and ``transitions`` (changes
        between drifted and not drifted).

    Examples
    --------
    >>> t = pd.to_datetime(["2026-01-19T15:00Z", "2026-01-19T15:05Z", "2026-01-19T15:10Z"])
    >>> table = pd.DataFrame({"site": ["a"] * 3 + ["b"] * 3, "bucket": t.append(t),
    ...                       "drift": [0.0, 0.4, 0.4, 0.1, 0.2, 0.3]})
    >>> drift_kinds(table)[["site", "kind", "max_drift", "transitions"]]
      site     kind  max_drift  transitions
    0    a   sudden        0.4            1
    1    b  gradual        0.3            0
    """
    if not min_drift > 0:
        raise InputError(f"min_drift must be positive, not {min_drift}")
    scored = table[table["drift"].notna()].sort_values(["site", "bucket"], kind="stable")
    frame = pd.DataFrame(
        {
            "site": scored["site"].astype(str).to_numpy(),
            "bucket": scored["bucket"].to_numpy(),
            "drift": scored["drift"].to_numpy(dtype=np.float64),
        }
    )
    frame["bucket"] = pd.to_datetime(frame["bucket"], utc=True)
    site = frame["site"].to_numpy()
    value = frame["drift"].to_numpy()
    state = value >= min_drift
    same = np.concatenate(([False], site[1:] == site[:-1]))
    frame["rise"] = np.where(same, np.diff(value, prepend=np.nan), np.nan)
    frame["flip"] = same & (state != np.roll(state, 1))
    frame["first"] = frame["bucket"].where(state)
    per = frame.groupby("site", sort=True, observed=True).agg(
        max_drift=("drift", "max"),
        first_drift=("first", "min"),
        max_rise=("rise", "max"),
        transitions=("flip", "sum"),
    )
    drifted = per["max_drift"].to_numpy() >= min_drift
    rises = per["max_rise"].fillna(0.0).to_numpy()
    kind = np.where(
        ~drifted,
        "none",
        np.where(
            per["transitions"].to_numpy() >= 3,
            "oscillating",
            np.where(rises >= 0.5 * per["max_drift"].to_numpy(), "sudden", "gradual"),
        ),
    )
    result = pd.DataFrame(
        {
            "site": pd.Series(per.index.to_numpy(), dtype="str"),
            "kind": pd.Series(kind, dtype="str"),
            "max_drift": per["max_drift"].to_numpy(dtype=np.float64),
            "first_drift": per["first_drift"].to_numpy(),
            "max_rise": per["max_rise"].to_numpy(dtype=np.float64),
            "transitions": per["transitions"].to_numpy().astype(np.int64),
        }
    )
    result["first_drift"] = pd.to_datetime(result["first_drift"], utc=True).astype(_UTC)
    return result
