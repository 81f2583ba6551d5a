"""The SQL definitions of the per-service history aggregations (summaries, periods, restarts).

Each function returns the text of one query over the relation ``beacons`` (see
:mod:`rtt_topology.aggregate.engines`); :mod:`rtt_topology.aggregate.history` runs
them and shapes the results as its pandas path does. The rules are those of the
pandas path, stated once more here in SQL:

- the *main event* of a site is its most frequent event, ties to the event name
  that sorts first (:func:`main_events`);
- "the previous beacon" of a site is the one before in the order of the beacon
  table (:mod:`rtt_topology.columns`), :data:`ORDER`. Each window sorts by the
  fewest of its keys that give the same result, because string keys make a sort
  slow: beacons tied on ``t, session, event`` are exact duplicates for every
  query here (same outputs whichever comes first), so ``source, line`` are never
  needed; intervals between any beacons need only ``t`` (tied beacons give the
  same sorted times, hence the same intervals); the main event's beacons share
  their event, so periods need ``t, session``; restarts group instead of sorting
  (see :func:`restarts`);
- intervals and skews are seconds, ``CAST(<microseconds> AS DOUBLE) / 1000000``;
  ``received_at`` in microseconds is ``epoch_us(received_at)`` (Spark's
  ``unix_micros``, see :func:`~rtt_topology.aggregate.sql.transpile`), three times
  faster in DuckDB than ``date_diff`` on a time zone-aware timestamp;
- medians and quantiles interpolate linearly (``median``, ``quantile_cont``), as
  pandas does.

A query that orders each site's whole history (``lag``) or keeps each beacon's
value for a median takes ``sites``, the site group it runs on (``WHERE site IN
(...)``); the caller runs it once per group of
:meth:`~rtt_topology.aggregate.engines.History.site_chunks`, so that its memory
is bounded by a group, not by the history. Queries that only count take no sites
and run over the whole history at once: their state is one row per group.

Examples
--------
>>> print(cluster_sites())  # doctest: +NORMALIZE_WHITESPACE
SELECT site FROM beacons GROUP BY site
HAVING sum(CASE WHEN event = 'cluster_heartbeat' THEN 1 ELSE 0 END) = count(*)
ORDER BY site
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rtt_topology.aggregate.engines import sql_text

__all__ = [
    "CLUSTER_EVENT",
    "ORDER",
    "STARTUP_EVENT",
    "cluster_sites",
    "event_pairs",
    "examples",
    "main_event_rows",
    "main_events",
    "period_stats",
    "restarts",
    "session_names",
    "site_names",
    "site_sources",
    "sites_filter",
    "skew_stats",
    "summary_stats",
]

#: The order of a site's beacons: the beacon table's (ties of ``t, session, event`` are
#: exact duplicates, which a loaded table and a store have collapsed).
ORDER = "t, session, event, source, line"
#: The event of a cluster's beacons.
CLUSTER_EVENT = "cluster_heartbeat"
#: The event a process sends when it starts.
STARTUP_EVENT = "startup"
_EXAMPLE_SITES = ("api-gateway", "auth-service")
_EXAMPLE_LIFECYCLE = ("config_change", "deploy_finish", "deploy_start", "shutdown", "startup")


def sites_filter(sites: Sequence[str] | None, column: str = "site") -> str:
    """Return the condition that keeps ``sites`` (``TRUE`` for all sites).

    Examples
    --------
    >>> sites_filter(["api", "o'hara"])
    "site IN ('api', 'o''hara')"
    >>> sites_filter(None)
    'TRUE'
    """
    if sites is None:
        return "TRUE"
    return f"{column} IN ({', '.join(sql_text(s) for s in sites) or 'NULL'})"


def _text_list(values: Iterable[str]) -> str:
    return ", ".join(sql_text(v) for v in sorted(values)) or "NULL"


def main_events(sites: Sequence[str] | None = None) -> str:
    """Select each site's main event: the most frequent, ties to the name that sorts first.

    Columns ``site``, ``event``; one row per site. Usable as a ``WITH`` part.

    Examples
    --------
    >>> "row_number() OVER" in main_events(["api"])
    True
    """
    return (
        "SELECT site, event FROM ("
        "SELECT site, event, row_number() OVER (PARTITION BY site ORDER BY n DESC, event) AS pick"
        " FROM (SELECT site, event, count(*) AS n FROM beacons"
        f" WHERE {sites_filter(sites)} GROUP BY site, event) AS pairs"
        ") AS ranked WHERE pick = 1"
    )


def main_event_rows(sites: Sequence[str] | None = None) -> str:
    """Select whether each beacon is of its site's main event, in the beacon table's order.

    Column ``main`` (boolean), one row per beacon of ``sites``, ordered as
    :meth:`~rtt_topology.aggregate.engines.History.frame` orders them.

    Examples
    --------
    >>> main_event_rows(["api"]).startswith("WITH main AS")
    True
    """
    return (
        f"WITH main AS ({main_events(sites)}) "
        "SELECT b.event = m.event AS main FROM beacons AS b JOIN main AS m ON b.site = m.site"
        f" WHERE {sites_filter(sites, 'b.site')}"
        " ORDER BY b.site, b.t, b.session, b.event"
    )


def period_stats(sites: Sequence[str] | None = None) -> str:
    """Select per site the positive intervals between consecutive main-event beacons of one session.

    Columns ``site``, ``median_s`` (their median, seconds) and ``n`` (how many);
    sites without such an interval are absent. The inferred period of
    :func:`~rtt_topology.aggregate.history.periods` when ``n`` is large enough.

    Examples
    --------
    >>> "lag(b.t) OVER" in period_stats(["api"])
    True
    """
    window = "OVER (PARTITION BY b.site ORDER BY b.t, b.session)"
    return (
        f"WITH main AS ({main_events(sites)}), "
        "steps AS (SELECT b.site AS site, b.session AS session, b.t AS t,"
        f" lag(b.session) {window} AS before_session, lag(b.t) {window} AS before_t"
        " FROM beacons AS b JOIN main AS m ON b.site = m.site AND b.event = m.event"
        f" WHERE {sites_filter(sites, 'b.site')}) "
        "SELECT site, median(CAST(t - before_t AS DOUBLE) / 1000000) AS median_s,"
        " count(*) AS n FROM steps"
        " WHERE session = before_session AND t > before_t GROUP BY site ORDER BY site"
    )


def restarts(sites: Sequence[str] | None, lifecycle: Iterable[str]) -> str:
    """Select the restarts of each site: new sessions and ``startup`` beacons inside a session.

    Only the beacons of the site's main event and of the ``lifecycle`` events
    count. A restart is the first of them in a session that is not the site's
    first session, or a ``startup`` that is not the first of its session
    ("first" in the order ``t, session, event``). Columns ``site``, ``t``
    (microseconds), ``session``, ``event``, ``reason`` (``new session`` or
    ``startup``), ordered by site, time, session and event.

    Grouping finds the first beacons (``min``), where numbering the beacons of
    each session with a window would sort them all: a beacon table holds no
    two beacons equal in site, session, event and ``t`` (the table contract), so
    the first beacon of a session is the one at its first ``t`` with the least
    event, and the first session of a site the least one that starts first.

    Examples
    --------
    >>> "'new session'" in restarts(["api"], ["startup", "shutdown"])
    True
    """
    startup = sql_text(STARTUP_EVENT)
    return (
        f"WITH main AS ({main_events(sites)}), "
        "kept AS (SELECT b.site AS site, b.t AS t, b.session AS session, b.event AS event"
        " FROM beacons AS b LEFT JOIN main AS m ON b.site = m.site AND b.event = m.event"
        f" WHERE {sites_filter(sites, 'b.site')}"
        f" AND (m.event IS NOT NULL OR b.event IN ({_text_list(lifecycle)}))), "
        "starts AS (SELECT site, session, min(t) AS t FROM kept GROUP BY site, session), "
        "opening AS (SELECT k.site AS site, k.session AS session, k.t AS t,"
        " min(k.event) AS event FROM kept AS k JOIN starts AS f"
        " ON k.site = f.site AND k.session = f.session AND k.t = f.t"
        " GROUP BY k.site, k.session, k.t), "
        "site_start AS (SELECT site, min(t) AS t FROM starts GROUP BY site), "
        "first_session AS (SELECT f.site AS site, min(f.session) AS session"
        " FROM starts AS f JOIN site_start AS s ON f.site = s.site AND f.t = s.t"
        " GROUP BY f.site) "
        "SELECT o.site AS site, o.t AS t, o.session AS session, o.event AS event,"
        " 'new session' AS reason FROM opening AS o JOIN first_session AS s"
        " ON o.site = s.site WHERE o.session <> s.session "
        "UNION ALL "
        "SELECT k.site, k.t, k.session, k.event, 'startup' FROM kept AS k JOIN opening AS o"
        " ON k.site = o.site AND k.session = o.session"
        f" WHERE k.event = {startup} AND NOT (k.t = o.t AND k.event = o.event)"
        " ORDER BY site, t, session, event"
    )


def cluster_sites() -> str:
    """Select the sites that send only ``cluster_heartbeat`` beacons; column ``site``, sorted.

    Examples
    --------
    >>> "HAVING" in cluster_sites()
    True
    """
    return (
        "SELECT site FROM beacons GROUP BY site"
        f" HAVING sum(CASE WHEN event = {sql_text(CLUSTER_EVENT)} THEN 1 ELSE 0 END) = count(*)"
        " ORDER BY site"
    )


def event_pairs() -> str:
    """Count beacons per (site, event) pair seen: columns ``site``, ``event``, ``n``, sorted.

    Examples
    --------
    >>> "GROUP BY site, event" in event_pairs()
    True
    """
    return (
        "SELECT site, event, count(*) AS n FROM beacons GROUP BY site, event ORDER BY site, event"
    )


def summary_stats(sites: Sequence[str] | None = None) -> str:
    """Select each site's counts, bounds, median interval (any event) and median skew.

    Columns ``site``, ``beacons``, ``sessions`` (distinct), ``first_t``,
    ``last_t`` (microseconds), ``median_interval_s`` (of the intervals between
    consecutive beacons) and ``median_skew_s`` (of ``ts - received_at`` where
    known); ordered by site.

    Examples
    --------
    >>> "count(DISTINCT session)" in summary_stats(["api"])
    True
    """
    return (
        "WITH steps AS (SELECT site, session, t,"
        " CAST(t - lag(t) OVER (PARTITION BY site ORDER BY t) AS DOUBLE) / 1000000"
        " AS interval_s,"
        " CAST(t - epoch_us(received_at) AS DOUBLE) / 1000000 AS skew_s"
        f" FROM beacons WHERE {sites_filter(sites)}) "
        "SELECT site, count(*) AS beacons, count(DISTINCT session) AS sessions,"
        " min(t) AS first_t, max(t) AS last_t, median(interval_s) AS median_interval_s,"
        " median(skew_s) AS median_skew_s FROM steps GROUP BY site ORDER BY site"
    )


def skew_stats(sites: Sequence[str] | None = None) -> str:
    """Select each site's skew ``ts - received_at`` (seconds): count, median, percentiles.

    Columns ``site``, ``received``, ``median_skew_s``, ``p05_skew_s``,
    ``p95_skew_s``; only sites with a ``received_at``, ordered by site.

    Examples
    --------
    >>> "quantile_cont(skew_s, 0.05)" in skew_stats()
    True
    """
    return (
        "WITH skews AS (SELECT site,"
        " CAST(t - epoch_us(received_at) AS DOUBLE) / 1000000 AS skew_s"
        f" FROM beacons WHERE received_at IS NOT NULL AND {sites_filter(sites)}) "
        "SELECT site, count(*) AS received, median(skew_s) AS median_skew_s,"
        " quantile_cont(skew_s, 0.05) AS p05_skew_s, quantile_cont(skew_s, 0.95) AS p95_skew_s"
        " FROM skews GROUP BY site ORDER BY site"
    )


def site_sources() -> str:
    """Select the distinct (site, source) pairs: columns ``site``, ``source``, sorted.

    Examples
    --------
    >>> site_sources().startswith("SELECT DISTINCT")
    True
    """
    return "SELECT DISTINCT site, source FROM beacons ORDER BY site, source"


def site_names() -> str:
    """Select the distinct sites, sorted: column ``site``.

    Examples
    --------
    >>> site_names()
    'SELECT DISTINCT site FROM beacons ORDER BY site'
    """
    return "SELECT DISTINCT site FROM beacons ORDER BY site"


def session_names() -> str:
    """Select the distinct sessions, sorted: column ``session``.

    Examples
    --------
    >>> session_names()
    'SELECT DISTINCT session FROM beacons ORDER BY session'
    """
    return "SELECT DISTINCT session FROM beacons ORDER BY session"


def examples() -> dict[str, str]:
    """Every query of this module, rendered with typical parameters.

    Examples
    --------
    >>> sorted(examples())[:3]
    ['cluster_sites', 'event_pairs', 'main_event_rows']
    """
    sites = list(_EXAMPLE_SITES)
    return {
        "cluster_sites": cluster_sites(),
        "event_pairs": event_pairs(),
        "main_event_rows": main_event_rows(sites),
        "main_events": main_events(),
        "main_events_sites": main_events(sites),
        "period_stats": period_stats(sites),
        "restarts": restarts(sites, _EXAMPLE_LIFECYCLE),
        "session_names": session_names(),
        "site_names": site_names(),
        "site_sources": site_sources(),
        "skew_stats": skew_stats(sites),
        "summary_stats": summary_stats(sites),
        "summary_stats_all": summary_stats(),
    }
