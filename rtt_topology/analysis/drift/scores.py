"""Score each page's and each site's structural drift from its baseline, per time bucket."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from rtt_topology._timestamps import Instant, instant_ns, utc_index
from rtt_topology.aggregate.engines import Engine, History, engine_input
from rtt_topology.aggregate.sql import drift as q
from rtt_topology.analysis.drift.pages import (
    BASELINE_BEACONS,
    TOLERANCE,
    PageArrays,
    between,
    check_options,
    page_arrays,
)
from rtt_topology.analysis.grid import (
    NO_SITES,
    UTC_NS,
    Buckets,
    bucket_grid,
    by_site,
    empty_frame,
    history_grid,
    site_column,
    site_groups,
    site_numbers,
)
from rtt_topology.columns import validate_beacon_frame

__all__ = ["PageCells", "Scored", "drift", "history_scored", "url_drift"]


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


class PageCells(NamedTuple):
    """Each page's drift per bucket where it has beacons: one entry per (page, bucket)."""

    site: np.ndarray  # site number per cell, into the sites with beacons
    url: np.ndarray  # url number per cell, into ``urls``
    k: np.ndarray  # bucket number per cell
    drift: np.ndarray
    beacons: np.ndarray


class Scored(NamedTuple):
    """The page cells of a history, its sites (sorted), the urls they name and the grid."""

    grid: Buckets
    names: np.ndarray
    urls: np.ndarray
    cells: PageCells


def _page_cells(
    s: PageArrays,
    count: int,
    inside: np.ndarray,
    k: np.ndarray,
    base_mask: np.ndarray,
    tolerance: float,
) -> PageCells:
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
    beacons = np.bincount(cell, minlength=n_cells)
    return PageCells(s.page_site[page], s.page_url[page], keys % count, score, beacons)


def _baseline_mask(
    s: PageArrays, baseline_beacons: int, window: tuple[Instant, Instant] | None
) -> np.ndarray:
    """Return the mask of the beacons that make their page's baseline."""
    rank = pd.Series(s.page).groupby(s.page, sort=False).cumcount().to_numpy()
    first = rank < baseline_beacons
    if window is None:
        return np.asarray(first)
    in_window = between(s.ts, window[0], window[1])
    covered = np.bincount(s.page[in_window], minlength=len(s.page_site)) > 0
    return np.asarray(np.where(covered[s.page], in_window, first))


def _frame_scored(
    beacons: pd.DataFrame,
    bucket: str | pd.Timedelta,
    start: Instant | None,
    end: Instant | None,
    baseline_beacons: int,
    baseline_window: tuple[Instant, Instant] | None,
    tolerance: float,
) -> Scored:
    """Score the pages of a beacon table with numpy."""
    validate_beacon_frame(beacons)
    beacons = by_site(beacons)
    ts = beacons["ts"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    grid = bucket_grid(ts, bucket, start, end)
    sites = site_numbers(beacons)
    s = page_arrays(beacons, sites.dense, ts)
    inside, k = grid.locate(s.ts)
    base = _baseline_mask(s, baseline_beacons, baseline_window)
    cells = _page_cells(s, max(grid.count, 1), inside, k, base, tolerance)
    urls = np.asarray(beacons["url"].cat.categories.astype(str), dtype=object)
    return Scored(grid, sites.names, urls, cells)


def _joined(parts: pd.DataFrame) -> pd.DataFrame:
    """Join the four parts of :func:`~rtt_topology.aggregate.sql.drift.page_cells` per cell."""
    parts = parts.assign(site=parts["site"].astype(str), url=parts["url"].astype(str))
    part = parts["part"]
    page, cell = ["site", "url"], ["site", "url", "k"]
    base = parts[part == "base"][page + list(q.COUNTS)]
    base.columns = page + [f"base_{c}" for c in q.COUNTS]
    table = (
        parts[part == "cell"]
        .drop(columns=["part", "title"])
        .merge(parts[part == "cell_title"][[*cell, "title"]], on=cell, how="left")
        .merge(base, on=page, how="left")
        .merge(
            parts[part == "base_title"][[*page, "title"]].rename(columns={"title": "base_title"}),
            on=page,
            how="left",
        )
    )
    titles = ["title", "base_title"]
    table[titles] = table[titles].astype(object).where(table[titles].notna(), None)
    return table


def history_scored(
    history: History,
    bucket: str | pd.Timedelta,
    start: Instant | None,
    end: Instant | None,
    baseline_beacons: int,
    baseline_window: tuple[Instant, Instant] | None,
    tolerance: float,
) -> Scored:
    """Score the pages of a history with DuckDB: structures by SQL, scores as in pandas."""
    names, _, grid = history_grid(history, bucket, start, end)
    window = None
    if baseline_window is not None:
        window = (instant_ns(baseline_window[0], "start"), instant_ns(baseline_window[1], "end"))
    found = [
        history.sql(
            q.page_cells(
                group,
                grid.bounds(),
                part=part,
                baseline_beacons=baseline_beacons,
                baseline_window=window,
            )
        )
        for group in (site_groups(history) if grid.count else [])
        for part in q.PARTS
    ]
    table = pd.concat(found, ignore_index=True) if found else pd.DataFrame()
    if table.empty:
        none = np.zeros(0, np.int64)
        cells = PageCells(none, none, none, np.zeros(0), none)
        return Scored(grid, names, np.zeros(0, dtype=object), cells)
    table = _joined(table)
    site = np.searchsorted(names, table["site"].to_numpy(dtype=object))
    urls, url = np.unique(table["url"].to_numpy(dtype=object), return_inverse=True)
    titles = pd.concat([table["title"], table["base_title"]], ignore_index=True)
    codes, _ = pd.factorize(titles, sort=True)
    title, base_title = codes[: len(table)], codes[len(table) :]
    counts = table[list(q.COUNTS)].to_numpy(dtype=np.float64, na_value=np.nan)
    base = table[[f"base_{c}" for c in q.COUNTS]].to_numpy(dtype=np.float64, na_value=np.nan)
    score = _score(counts, base, title, base_title, tolerance)
    cells = PageCells(
        site.astype(np.int64),
        url.astype(np.int64),
        table["k"].to_numpy(np.int64),
        score,
        table["beacons"].to_numpy(np.int64),
    )
    return Scored(grid, names, urls, cells)


def _scored(
    beacons: pd.DataFrame | History,
    engine: Engine,
    bucket: str | pd.Timedelta,
    start: Instant | None,
    end: Instant | None,
    baseline_beacons: int,
    baseline_window: tuple[Instant, Instant] | None,
    tolerance: float,
) -> Scored:
    """Score the pages with the engine chosen."""
    check_options(baseline_beacons, tolerance)
    options = (bucket, start, end, baseline_beacons, baseline_window, tolerance)
    with engine_input(beacons, engine) as data:
        if isinstance(data, History):
            return history_scored(data, *options)
        return _frame_scored(data, *options)


def url_drift(
    beacons: pd.DataFrame | History,
    *,
    bucket: str | pd.Timedelta = "5min",
    start: Instant | None = None,
    end: Instant | None = None,
    baseline_beacons: int = BASELINE_BEACONS,
    baseline_window: tuple[Instant, Instant] | None = None,
    tolerance: float = TOLERANCE,
    engine: Engine = "auto",
) -> pd.DataFrame:
    r"""Return the drift of each page (site and url) in each bucket where it has beacons.

    Parameters
    ----------
    beacons
        A beacon table or a :class:`~rtt_topology.aggregate.engines.History`;
        baselines come from the whole of it.
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
    engine
        ``"pandas"``, ``"duckdb"`` or ``"auto"``
        (:func:`~rtt_topology.aggregate.engines.choose_engine`); the results are equal.

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
    grid, names, urls, cells = _scored(
        beacons, engine, bucket, start, end, baseline_beacons, baseline_window, tolerance
    )
    order = np.lexsort((cells.url, cells.k, cells.site))
    url_used, url_code = np.unique(cells.url[order], return_inverse=True)
    site_used, site_code = np.unique(cells.site[order], return_inverse=True)
    return pd.DataFrame(
        {
            "site": pd.Categorical.from_codes(
                site_code, categories=pd.Index(names[site_used], dtype="str")
            ),
            "bucket": utc_index(grid.first + cells.k[order] * grid.width),
            "url": pd.Categorical.from_codes(
                url_code, categories=pd.Index(urls[url_used], dtype="str")
            ),
            "drift": cells.drift[order],
            "beacons": cells.beacons[order].astype(np.int64),
        }
    )


def drift(
    beacons: pd.DataFrame | History,
    *,
    bucket: str | pd.Timedelta = "5min",
    start: Instant | None = None,
    end: Instant | None = None,
    baseline_beacons: int = BASELINE_BEACONS,
    baseline_window: tuple[Instant, Instant] | None = None,
    tolerance: float = TOLERANCE,
    engine: Engine = "auto",
) -> pd.DataFrame:
    r"""Return each site's structural drift per time bucket.

    Parameters
    ----------
    beacons, bucket, start, end, baseline_beacons, baseline_window, tolerance, engine
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
    grid, names, _, cells = _scored(
        beacons, engine, bucket, start, end, baseline_beacons, baseline_window, tolerance
    )
    count, n_sites = grid.count, len(names)
    dtypes = {"site": NO_SITES, "bucket": UTC_NS, "urls": "int64", "beacons": "int64"}
    if count == 0 or n_sites == 0:
        return empty_frame(("site", "bucket", "drift", "urls", "beacons"), dtypes)
    size = n_sites * count
    where = cells.site * count + cells.k
    scored = ~np.isnan(cells.drift)
    weight = np.where(scored, cells.beacons, 0).astype(np.float64)
    total = np.bincount(where, weights=np.where(scored, cells.drift, 0.0) * weight, minlength=size)
    norm = np.bincount(where, weights=weight, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(norm > 0, np.clip(total / np.maximum(norm, 1), 0.0, 1.0), np.nan)
    return pd.DataFrame(
        {
            "site": site_column(names, count),
            "bucket": utc_index(np.tile(grid.starts(), n_sites)),
            "drift": score,
            "urls": np.bincount(where, minlength=size).astype(np.int64),
            "beacons": np.bincount(where, weights=cells.beacons, minlength=size).astype(np.int64),
        }
    )
