"""The SQL definitions of structural drift: each page's structure per bucket, its baseline, changes.

Each function returns the text of one query over the relation ``beacons`` (see
:mod:`rtt_topology.aggregate.engines`); :mod:`rtt_topology.analysis.drift` runs them
and scores their small results. The rules are those of the pandas path
(:mod:`rtt_topology.analysis.drift`), stated once more here in SQL:

- a *page* is a ``(site, url)``; beacons without a url are left out;
- a page's beacons are ordered as the beacon table orders them
  (:data:`~rtt_topology.aggregate.sql.history.ORDER`): its *first* beacons, and the
  *previous* beacon of each, follow that order;
- the structure of a set of beacons is the median of each count (nulls skipped,
  linear interpolation) and the most frequent title (nulls skipped, ties to the title
  that sorts first);
- times are compared in nanoseconds (``t * 1000``): bucket ``k`` of an instant is
  ``(t * 1000 - first) // width``, as in :mod:`rtt_topology.aggregate.sql.cadence`.

Every query takes ``sites``, the group of sites it runs on: the caller runs it once
per group of :meth:`~rtt_topology.aggregate.engines.History.site_chunks`, so that
the medians and the windows over each page hold one group at a time.
"""

from __future__ import annotations

from collections.abc import Sequence

from rtt_topology.aggregate.engines import sql_text
from rtt_topology.aggregate.sql.cadence import Grid
from rtt_topology.aggregate.sql.history import ORDER, sites_filter

__all__ = ["COUNTS", "PARTS", "change_counts", "changes", "examples", "page_cells"]

#: The parts of :func:`page_cells`.
PARTS: tuple[str, ...] = ("cell", "cell_title", "base", "base_title")
#: The count fields of the structure, in the order of the beacon table.
COUNTS: tuple[str, ...] = ("nav_count", "main_count", "form_count", "button_count", "dom_nodes")

_EXAMPLE_SITES = ("api-gateway", "o'hara")
_EXAMPLE_GRID: Grid = (
    1_768_780_800_000_000_000,
    300_000_000_000,
    1_768_780_800_000_000_000,
    1_768_867_200_000_000_000,
)
_EXAMPLE_WINDOW = (1_768_780_800_000_000_000, 1_768_784_400_000_000_000)


def _between(lo: int | None, hi: int | None, column: str = "t") -> str:
    """Return the condition ``lo <= column < hi`` in nanoseconds (``TRUE`` without bounds)."""
    parts = []
    if lo is not None:
        parts.append(f"{column} * 1000 >= {int(lo)}")
    if hi is not None:
        parts.append(f"{column} * 1000 < {int(hi)}")
    return " AND ".join(parts) or "TRUE"


def _structure(part: str, source: str, keys: tuple[str, ...]) -> tuple[str, str]:
    """Return the medians, then the title mode, of ``source`` grouped by ``keys``.

    Both are rows of :func:`page_cells` (``part`` and ``part_title``); the columns a
    part does not fill are null.
    """
    by = ", ".join(keys)
    k = "k" if "k" in keys else "CAST(NULL AS BIGINT) AS k"
    medians = ", ".join(f"quantile_cont(CAST({c} AS DOUBLE), 0.5) AS {c}" for c in COUNTS)
    nulls = ", ".join(f"CAST(NULL AS DOUBLE) AS {c}" for c in COUNTS)
    counts = (
        f"SELECT {sql_text(part)} AS part, site, url, {k}, count(*) AS beacons, {medians},"
        f" CAST(NULL AS VARCHAR) AS title FROM {source} GROUP BY {by}"
    )
    mode = (
        f"SELECT {sql_text(part + '_title')} AS part, site, url, {k},"
        f" CAST(NULL AS BIGINT) AS beacons, {nulls}, title FROM (SELECT {by}, title,"
        f" row_number() OVER (PARTITION BY {by} ORDER BY n DESC, title) AS pick"
        f" FROM (SELECT {by}, title, count(*) AS n FROM {source}"
        f" WHERE title IS NOT NULL GROUP BY {by}, title) AS tally) AS ranked WHERE pick = 1"
    )
    return counts, mode


def page_cells(
    sites: Sequence[str],
    grid: Grid,
    *,
    part: str,
    baseline_beacons: int,
    baseline_window: tuple[int | None, int | None] | None = None,
) -> str:
    """Return each page's structure per bucket of the window, and its baseline structure.

    The baseline of a page is its first ``baseline_beacons`` beacons, or its beacons
    in ``baseline_window`` (nanoseconds, end excluded) when it has some there.
    Columns ``part``, ``site``, ``url``, ``k``, ``beacons``, the five counts and
    ``title``, for one ``part`` of :data:`PARTS`: ``cell`` (per page and bucket with
    beacons: ``k``, ``beacons``, the count medians), ``cell_title`` (per such cell
    with a title: the title mode), ``base`` and ``base_title`` (the same per page,
    for its baseline); the columns a part does not fill are null. In no particular
    order.

    Examples
    --------
    >>> query = page_cells(["shop"], (0, 60_000_000_000, 0, 600_000_000_000),
    ...                    part="base", baseline_beacons=10)
    >>> "row_number() OVER (PARTITION BY site, url" in query
    True
    """
    if part not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)}, not {part!r}")
    first, width, lo, hi = grid
    fields = ", ".join(("title", *COUNTS))
    # Four queries, joined by the caller: DuckDB runs medians slowly under a join.
    queries = dict(
        zip(
            PARTS,
            _structure("cell", "cell_rows", ("site", "url", "k"))
            + _structure("base", "base_rows", ("site", "url")),
            strict=True,
        )
    )
    if baseline_window is None:
        based = f"seq <= {int(baseline_beacons)}"
        covered = ""
    else:
        inside = _between(*baseline_window)
        based = f"(covered = 1 AND {inside}) OR (covered = 0 AND seq <= {int(baseline_beacons)})"
        covered = (
            f", max(CASE WHEN {inside} THEN 1 ELSE 0 END) OVER (PARTITION BY site, url) AS covered"
        )
    return (
        f"WITH pages AS (SELECT site, url, t, {fields},"
        f" row_number() OVER (PARTITION BY site, url ORDER BY {ORDER}) AS seq"
        f" FROM beacons WHERE url IS NOT NULL AND {sites_filter(sites)}), "
        f"marked AS (SELECT *{covered} FROM pages), "
        f"base_rows AS (SELECT * FROM marked WHERE {based}), "
        # From the beacons, not from pages: DuckDB runs medians slowly after a window.
        f"cell_rows AS (SELECT site, url, (t * 1000 - {first}) // {width} AS k, {fields}"
        f" FROM beacons WHERE url IS NOT NULL AND {sites_filter(sites)}"
        f" AND {_between(lo, hi)}) " + queries[part]
    )


def _compared(sites: Sequence[str], tolerance: float, lo: int | None, hi: int | None) -> str:
    """Return the ``WITH`` parts up to ``compared``: each beacon beside its page's previous."""
    window = f"OVER (PARTITION BY site, url ORDER BY {ORDER})"
    fields = ("title", *COUNTS)
    before = ", ".join(f"lag({f}) {window} AS before_{f}" for f in fields)
    flags = [
        "COALESCE(title IS NOT NULL AND before_title IS NOT NULL AND title <> before_title,"
        " FALSE) AS changed_title"
    ]
    flags += [
        f"COALESCE(abs({c} - before_{c}) > CAST({float(tolerance)!r} AS DOUBLE)"
        f" * greatest(abs({c}), abs(before_{c})), FALSE) AS changed_{c}"
        for c in COUNTS
    ]
    return (
        f"WITH paged AS (SELECT site, url, session, event, source, line, t, {', '.join(fields)},"
        f" lag(t) {window} AS before_t, {before}"
        f" FROM beacons WHERE url IS NOT NULL AND {sites_filter(sites)}), "
        f"compared AS (SELECT *, {', '.join(flags)} FROM paged"
        f" WHERE before_t IS NOT NULL AND {_between(lo, hi)})"
    )


def _any_change() -> str:
    return " OR ".join(f"changed_{f}" for f in ("title", *COUNTS))


def changes(
    sites: Sequence[str], *, tolerance: float, lo: int | None = None, hi: int | None = None
) -> str:
    """Every beacon whose structure changed from its page's previous beacon.

    A title changed when both are present and differ; a count when
    ``|now - before| > tolerance * max(|now|, |before|)`` (both present). Only the
    beacons with ``lo <= ts < hi`` (nanoseconds; a bound may be ``None``). Columns
    ``site``, ``url``, ``t``, ``changed_<field>`` for the six fields, the six fields
    and ``before_<field>``; ordered by site, time and url.

    Examples
    --------
    >>> "lag(title) OVER" in changes(["shop"], tolerance=0.1)
    True
    """
    fields = ("title", *COUNTS)
    columns = ", ".join(
        [f"changed_{f}" for f in fields] + list(fields) + [f"before_{f}" for f in fields]
    )
    return (
        _compared(sites, tolerance, lo, hi)
        + f" SELECT site, url, t, {columns} FROM compared WHERE {_any_change()}"
        f" ORDER BY site, t, url, session, event, source, line"
    )


def change_counts(
    sites: Sequence[str], *, tolerance: float, lo: int | None = None, hi: int | None = None
) -> str:
    """Count the beacons of :func:`changes` per site: columns ``site``, ``n``.

    Examples
    --------
    >>> "count(*) AS n" in change_counts(["shop"], tolerance=0.1)
    True
    """
    return (
        _compared(sites, tolerance, lo, hi)
        + f" SELECT site, count(*) AS n FROM compared WHERE {_any_change()} GROUP BY site"
    )


def examples() -> dict[str, str]:
    """Every query of this module, rendered with typical parameters.

    Examples
    --------
    >>> len(examples()), sorted(examples())[:3]
    (11, ['change_counts', 'changes', 'changes_window'])
    """
    sites = list(_EXAMPLE_SITES)
    lo, hi = _EXAMPLE_WINDOW
    return {
        "change_counts": change_counts(sites, tolerance=0.1),
        "changes": changes(sites, tolerance=0.1),
        "changes_window": changes(sites, tolerance=0.1, lo=lo, hi=hi),
    } | {
        f"page_cells_{part}{'_window' if window else ''}": page_cells(
            sites, _EXAMPLE_GRID, part=part, baseline_beacons=10, baseline_window=window
        )
        for part in PARTS
        for window in (None, (lo, None))
    }
