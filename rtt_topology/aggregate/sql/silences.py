"""The silences liveness needs, in SQL: the few beacons that change a service's state.

Liveness (:mod:`rtt_topology.analysis.liveness`) walks each service's beacons in
time order, but a beacon inside a run of regular heartbeats changes nothing:
only a service's first and last beacon, its ``shutdown`` beacons, the beacons
followed by a silence longer than the service's threshold ``up`` (its period
with the jitter allowance), and the beacon after each of those do.
:func:`silences` keeps exactly those, each with the time of the service's next
beacon (``next_t``), so the rest of liveness runs on O(services + silences)
rows. The other queries answer what those rows cannot: which services had a
beacon near a collector gap (:func:`active_sites`), the last beacon before a
moment (:func:`last_before`) and the sessions seen up to it
(:func:`sessions_before`).

Times are microseconds since the epoch (the column ``t`` of ``beacons``);
thresholds and gap windows come in as integers: microseconds, or nanoseconds
where a comparison must be exact at the nanosecond (``t * 1000``). Ties in time
are ordered as the beacon table orders them: by session, then event. A loaded table
or a store holds one beacon per site, ts, session and event (duplicates are
collapsed), so that order is total; sorting on fewer text keys keeps the window
sort cheap.
"""

from __future__ import annotations

from collections.abc import Sequence

from rtt_topology.aggregate.engines import sql_text

__all__ = [
    "ORDER",
    "active_sites",
    "examples",
    "last_before",
    "sessions_before",
    "silences",
]

#: The order of a service's beacons, as the beacon table has them.
ORDER = "t, session, event"
_OVER = f"OVER (PARTITION BY site ORDER BY {ORDER})"


def _integer(value: int) -> str:
    return str(int(value))


def _site_list(sites: Sequence[str]) -> str:
    return ", ".join(sql_text(s) for s in sites) or "NULL"


def silences(limits: Sequence[tuple[str, int]], *, shutdown: str = "shutdown") -> str:
    """Render the query of the beacons that change the state of some services.

    Two steps keep the window sort narrow. First each service's beacons are
    ordered by time alone (shutdowns last among equal times), carrying only the
    time and a shutdown flag, and the *moments* that matter are kept: the first
    and the last, those with a shutdown or right after one, those before or
    after a silence longer than ``up_us``, and every moment shared by several
    beacons (their order is decided by text keys, so all of them are kept).
    Then the beacons at those moments are read with their text columns and
    ordered as the beacon table orders them.

    Parameters
    ----------
    limits
        ``(site, up_us)`` per service: a silence longer than ``up_us``
        microseconds (``next_t - t > up_us``) can change its state.
    shutdown
        The event of a planned stop.

    Returns
    -------
    str
        A query giving ``site``, ``t``, ``session``, ``event``, ``source`` and
        ``next_t`` (the time of the service's next beacon, NULL for its last)
        for every first and last beacon, shutdown, beacon followed or preceded
        by a silence longer than ``up_us``, beacon after a shutdown (and a few
        more: the beacons sharing their moment with another), sorted by site
        then the beacon order.

    Examples
    --------
    >>> "(VALUES ('api', 66000000))" in silences([("api", 66_000_000)])
    True
    """
    values = ", ".join(f"({sql_text(site)}, {_integer(up)})" for site, up in limits)
    if not values:
        values = "(NULL, 0)"
    sites = _site_list([s for s, _ in limits])
    by_time = "OVER (PARTITION BY site ORDER BY t, stop)"
    return (
        "WITH limits AS (SELECT CAST(site AS VARCHAR) AS site, CAST(up AS BIGINT) AS up "
        f"FROM (VALUES {values}) AS l(site, up)), "
        "flagged AS (SELECT site, t, "
        f"coalesce(event = {sql_text(shutdown)}, FALSE) AS stop "
        f"FROM beacons WHERE site IN ({sites})), "
        f"marked AS (SELECT site, t, stop, lag(t) {by_time} AS prev_t, "
        f"lead(t) {by_time} AS next_t, lag(stop) {by_time} AS prev_stop FROM flagged), "
        # A moment's next moment: the one row of it that sorts last sees it.
        "moments AS (SELECT m.site, m.t, max(CASE WHEN m.next_t > m.t THEN m.next_t END) "
        "AS next_t FROM marked AS m JOIN limits AS l ON m.site = l.site "
        "WHERE m.prev_t IS NULL OR m.next_t IS NULL OR m.stop OR m.prev_stop "
        "OR m.prev_t = m.t OR m.next_t = m.t "
        "OR m.next_t - m.t > l.up OR m.t - m.prev_t > l.up "
        "GROUP BY m.site, m.t), "
        "kept AS (SELECT b.site, b.t, b.session, b.event, b.source, k.next_t "
        "FROM beacons AS b JOIN moments AS k ON b.site = k.site AND b.t = k.t "
        f"WHERE b.site IN ({sites})) "
        "SELECT site, t, session, event, source, "
        f"CASE WHEN lead(t) {_OVER} = t THEN t ELSE next_t END AS next_t "
        "FROM kept ORDER BY site, t, session, event"
    )


def active_sites(
    grouping: str,
    gaps: Sequence[tuple[int, str, int, int]],
    limits: Sequence[tuple[str, str, int]],
) -> str:
    """Render the query of the services with a beacon of a group around each candidate gap.

    Parameters
    ----------
    grouping
        ``"source"`` (a beacon belongs to the group of its ``source``) or
        ``"cluster"`` (to the cluster its site's profile declares).
    gaps
        ``(k, group, lo_ns, hi_ns)`` per candidate gap ``k``.
    limits
        ``(site, cluster, pg_ns)`` per service that counts: its cluster (any
        text for ``source``) and its period plus grace, in nanoseconds.

    Returns
    -------
    str
        A query giving the distinct ``k``, ``site`` pairs where the site has a
        beacon of the group with ``lo_ns - pg_ns <= ts <= hi_ns``, sorted.

    Examples
    --------
    >>> query = active_sites("source", [(0, "east.jsonl", 10**18, 10**18)], [("api", "", 1)])
    >>> "b.source = s.grp" in query
    True
    """
    if grouping not in ("source", "cluster"):
        raise ValueError(f"unknown grouping {grouping!r}")
    rows = ", ".join(
        f"({_integer(k)}, {sql_text(group)}, {_integer(lo)}, {_integer(hi)})"
        for k, group, lo, hi in gaps
    )
    sites = ", ".join(
        f"({sql_text(site)}, {sql_text(cluster)}, {_integer(pg)})" for site, cluster, pg in limits
    )
    # A coarse bound on t first, so that the scan can skip what is far from every gap.
    first = min((lo for *_, lo, _ in gaps), default=0) - max((pg for *_, pg in limits), default=0)
    last = max((hi for *_, hi in gaps), default=0)
    key = "b.source" if grouping == "source" else "l.grp"
    return (
        "WITH gaps AS (SELECT CAST(k AS BIGINT) AS k, CAST(grp AS VARCHAR) AS grp, "
        "CAST(lo AS BIGINT) AS lo, CAST(hi AS BIGINT) AS hi "
        f"FROM (VALUES {rows or '(0, NULL, 0, 0)'}) AS g(k, grp, lo, hi)), "
        "limits AS (SELECT CAST(site AS VARCHAR) AS site, CAST(grp AS VARCHAR) AS grp, "
        "CAST(pg AS BIGINT) AS pg "
        f"FROM (VALUES {sites or '(NULL, NULL, 0)'}) AS l(site, grp, pg)) "
        "SELECT DISTINCT s.k, b.site FROM beacons AS b "
        "JOIN limits AS l ON b.site = l.site "
        f"JOIN gaps AS s ON {key} = s.grp "
        f"WHERE b.t >= {_integer(first // 1000 - 1)} AND b.t <= {_integer(last // 1000 + 1)} "
        "AND b.t * 1000 >= s.lo - l.pg AND b.t * 1000 <= s.hi "
        "ORDER BY s.k, b.site"
    )


def last_before(cut_us: int, since_us: int) -> str:
    """Render the query of each site's last beacon with ``since_us <= t < cut_us``.

    Examples
    --------
    >>> "t < 1000" in last_before(1000, 0)
    True
    """
    return (
        "SELECT site, t, event FROM ("
        f"SELECT site, t, event, lead(t) {_OVER} AS next_t FROM beacons "
        f"WHERE t >= {_integer(since_us)} AND t < {_integer(cut_us)}) AS w "
        "WHERE next_t IS NULL ORDER BY site"
    )


def sessions_before(cut_us: int) -> str:
    """Render the query of the distinct sessions of each site with ``t < cut_us``.

    Examples
    --------
    >>> "count(DISTINCT session)" in sessions_before(1000)
    True
    """
    return (
        "SELECT site, count(DISTINCT session) AS sessions FROM beacons "
        f"WHERE t < {_integer(cut_us)} GROUP BY site ORDER BY site"
    )


def examples() -> dict[str, str]:
    """Return every query of this module rendered with typical parameters.

    Examples
    --------
    >>> sorted(examples())
    ['active_sites_cluster', 'active_sites_source', 'last_before', 'sessions_before', 'silences']
    """
    now = 1_768_834_800_000_000  # 2026-01-19T15:00:00Z in microseconds
    gap = (0, "east.jsonl", now * 1000, (now + 600_000_000) * 1000)
    return {
        "silences": silences([("api", 66_000_000), ("it's", 33_000_000)]),
        "active_sites_source": active_sites(
            "source", [gap], [("api", "", 120_000_000_000), ("db", "", 60_000_000_000)]
        ),
        "active_sites_cluster": active_sites(
            "cluster", [(0, "pods", *gap[2:])], [("api", "pods", 120_000_000_000)]
        ),
        "last_before": last_before(now, now - 66_000_000),
        "sessions_before": sessions_before(now),
    }
