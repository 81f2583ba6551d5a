"""Find collector gaps: services of one collector file or cluster silent and back together."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from rtt_topology._memo import memoized
from rtt_topology._timestamps import Instant, instant_ns, utc_index
from rtt_topology.aggregate.engines import Engine, History, engine_input
from rtt_topology.aggregate.history import DEFAULT_PERIOD_S
from rtt_topology.analysis.liveness.prepared import (
    DEFAULT_JITTER,
    LAST,
    NS,
    Prepared,
    check_options,
    prepare,
)
from rtt_topology.analysis.liveness.reduced import active_in_history, prepare_history
from rtt_topology.errors import InputError
from rtt_topology.schemas import Profile

__all__ = [
    "DEFAULT_GAP_RULE",
    "GAP_COLUMNS",
    "GROUPINGS",
    "ActiveSites",
    "GapRule",
    "Gaps",
    "active_in_rows",
    "collector_gaps",
    "find_gaps",
    "gap_rule",
    "in_gaps",
    "prepared_gaps",
]

#: The groupings searched for gaps, in this order: a silence joins at most one gap.
GROUPINGS: tuple[str, ...] = ("source", "cluster")
#: The columns of :func:`collector_gaps`.
GAP_COLUMNS: tuple[str, ...] = (
    "grouping",
    "group",
    "start",
    "end",
    "duration_s",
    "sites",
    "services",
    "active",
)


@dataclass(frozen=True)
class GapRule:
    """The thresholds that make correlated silences one collector gap.

    Parameters
    ----------
    min_services
        Fewest member services of a gap.
    min_fraction
        Smallest share of the group's services active at the gap that are members.
    tolerance_s
        Seconds two silences' starts (and ends) may lie apart and still be
        together, at least: the tolerance of two silences is the largest of
        this and their two periods. It absorbs clock skew between services.
    """

    min_services: int = 3
    min_fraction: float = 0.6
    tolerance_s: float = 180.0

    def __post_init__(self) -> None:
        """Reject thresholds out of their range."""
        if self.min_services < 2:
            raise InputError(f"min_services must be at least 2, not {self.min_services}")
        if not 0 < self.min_fraction <= 1:
            raise InputError(f"min_fraction must be in (0, 1], not {self.min_fraction}")
        if not self.tolerance_s >= 0:
            raise InputError(f"gap_tolerance_s must be >= 0, not {self.tolerance_s}")


#: The default rule: 3 services, 60 %, 180 s.
DEFAULT_GAP_RULE = GapRule()


def gap_rule(gaps: bool | GapRule) -> GapRule | None:
    """Return the rule a liveness ``gaps=`` option asks for (None: no gaps).

    Examples
    --------
    >>> gap_rule(True) == DEFAULT_GAP_RULE, gap_rule(False)
    (True, None)
    """
    if isinstance(gaps, GapRule):
        return gaps
    return DEFAULT_GAP_RULE if gaps else None


class Gaps(NamedTuple):
    """Collector gaps as parallel arrays (one entry per gap), and their member silences."""

    grouping: np.ndarray  # per gap, object array of str
    group: np.ndarray  # per gap, object array of str
    start: np.ndarray  # per gap, ns: the earliest last beacon of a member
    end: np.ndarray  # per gap, ns: the latest first beacon back of a member
    active: np.ndarray  # per gap: services of the group active at the gap
    member_row: np.ndarray  # per member silence: the prepared row of its last beacon
    member_gap: np.ndarray  # per member silence: its gap


def _empty_gaps() -> Gaps:
    none = np.zeros(0, np.int64)
    text = np.zeros(0, dtype=object)
    return Gaps(text, text, none, none, none, none, none)


def _links(key: np.ndarray, t: np.ndarray, tol: np.ndarray) -> np.ndarray:
    """Return run numbers of rows sorted by (key, t): a run breaks at a new key or a jump."""
    fresh = np.ones(len(t), bool)
    fresh[1:] = (key[1:] != key[:-1]) | (t[1:] - t[:-1] > np.maximum(tol[1:], tol[:-1]))
    return np.cumsum(fresh) - 1


def _group_rows(
    index: tuple[np.ndarray, np.ndarray, np.ndarray], group: int, lo: int, hi: int
) -> np.ndarray:
    """Return the rows of one group with ``lo <= ts <= hi``.

    ``index`` is the row order by (group, ts) and the group and ts in that order.
    """
    order, keys, times = index
    a, b = np.searchsorted(keys, group, "left"), np.searchsorted(keys, group, "right")
    first = a + np.searchsorted(times[a:b], lo, "left")
    last = a + np.searchsorted(times[a:b], hi, "right")
    found: np.ndarray = order[first:last]
    return found


def active_in_rows(
    prep: Prepared, grouping: str, key: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> list[np.ndarray]:
    """Per candidate gap, the services with a beacon of its group in ``[lo - P - G, hi]``.

    ``key`` is the group's code (a source or a cluster code), ``lo`` and ``hi``
    the gap's window (ns). This reads every prepared beacon: a beacon table's.
    """
    code, ts = prep.code, prep.ts
    per_row = prep.source if grouping == "source" else prep.cluster[code]
    pg = np.round((prep.period_s + prep.grace_s) * NS).astype(np.int64)
    by_group = np.lexsort((ts, per_row))
    index = (by_group, per_row[by_group], ts[by_group])
    out = []
    for group, first, last in zip(key, lo, hi, strict=True):
        near = _group_rows(index, int(group), int(first) - int(pg.max()), int(last))
        near = near[ts[near] >= first - pg[code[near]]]
        out.append(np.unique(code[near]))
    return out


#: Finds, per candidate gap, the services active at it (see :func:`active_in_rows`).
ActiveSites = Callable[[Prepared, str, np.ndarray, np.ndarray, np.ndarray], list[np.ndarray]]


def find_gaps(prep: Prepared, rule: GapRule, active: ActiveSites = active_in_rows) -> Gaps:
    """Return the collector gaps of the prepared beacons (see :func:`collector_gaps`).

    ``active`` tells which services were active at each candidate gap: from the
    prepared beacons by default; a reduced history asks its engine.
    """
    code, ts = prep.code, prep.ts
    if len(ts) < 2:
        return _empty_gaps()
    pg = np.round((prep.period_s + prep.grace_s) * NS).astype(np.int64)
    # Row i opens a crash silence [ts[i], following[i]) when it is no shutdown.
    has_next = prep.following != LAST
    following = np.where(has_next, prep.following, ts)
    rows = np.flatnonzero(has_next & (following - ts > pg[code]) & ~prep.shutdown)
    if not len(rows):
        return _empty_gaps()
    tol_all = np.round(np.maximum(prep.period_s, rule.tolerance_s) * NS).astype(np.int64)
    taken = np.zeros(len(ts), bool)
    found: list[tuple[str, str, int, int, int, np.ndarray]] = []
    for grouping in GROUPINGS:
        per_row = prep.source if grouping == "source" else prep.cluster[code]
        names = prep.sources if grouping == "source" else prep.clusters
        cand = rows[(per_row[rows] >= 0) & ~taken[rows]]
        if len(cand) < rule.min_services:
            continue
        key, start, end = per_row[cand], ts[cand], following[cand]
        tol = tol_all[code[cand]]
        order = np.lexsort((start, key))
        cand, key, start, end, tol = cand[order], key[order], start[order], end[order], tol[order]
        run = _links(key, start, tol)
        order = np.lexsort((end, run))
        cand, key, start, end, tol = cand[order], key[order], start[order], end[order], tol[order]
        together = _links(run[order], end, tol)
        sizes = np.bincount(together)
        sets = []
        for k in np.flatnonzero(sizes >= rule.min_services):
            pick = np.flatnonzero(together == k)
            members = np.unique(code[cand[pick]])
            if len(members) >= rule.min_services:
                sets.append((pick, members, int(start[pick].min()), int(end[pick].max())))
        if not sets:
            continue
        near = active(
            prep,
            grouping,
            np.asarray([key[pick[0]] for pick, *_ in sets], dtype=np.int64),
            np.asarray([lo for *_, lo, _ in sets], dtype=np.int64),
            np.asarray([hi for *_, hi in sets], dtype=np.int64),
        )
        for (pick, members, lo, hi), around in zip(sets, near, strict=True):
            n_active = len(np.union1d(around, members))
            if len(members) < rule.min_fraction * n_active:
                continue
            taken[cand[pick]] = True
            group = str(names[key[pick[0]]])
            found.append((grouping, group, lo, hi, n_active, cand[pick]))
    if not found:
        return _empty_gaps()
    found.sort(key=lambda gap: (gap[2], gap[3], gap[1]))
    return Gaps(
        np.asarray([g[0] for g in found], dtype=object),
        np.asarray([g[1] for g in found], dtype=object),
        np.asarray([g[2] for g in found], dtype=np.int64),
        np.asarray([g[3] for g in found], dtype=np.int64),
        np.asarray([g[4] for g in found], dtype=np.int64),
        np.concatenate([g[5] for g in found]).astype(np.int64),
        np.repeat(np.arange(len(found)), [len(g[5]) for g in found]).astype(np.int64),
    )


@memoized(copy=False)
def prepared_gaps(
    beacons: pd.DataFrame | History,
    profiles: Mapping[str, Profile] | None,
    grace_s: float | None,
    default_period_s: float,
    jitter: float,
    rule: GapRule | None,
) -> tuple[Prepared, Gaps]:
    """Return the prepared arrays and their gaps (none when ``rule`` is None).

    A beacon table gives every beacon of its services; a :class:`History`, the
    beacons that matter (:func:`~rtt_topology.analysis.liveness.reduced.prepare_history`).
    """
    if isinstance(beacons, History):
        prep = prepare_history(beacons, profiles, grace_s, default_period_s, jitter)
        active: ActiveSites = functools.partial(active_in_history, beacons)
    else:
        prep = prepare(beacons, profiles, grace_s, default_period_s, jitter)
        active = active_in_rows
    return prep, _empty_gaps() if rule is None else find_gaps(prep, rule, active)


def collector_gaps(
    beacons: pd.DataFrame | History,
    profiles: Mapping[str, Profile] | None = None,
    *,
    start: Instant | None = None,
    end: Instant | None = None,
    grace_s: float | None = None,
    jitter: float = DEFAULT_JITTER,
    default_period_s: float = DEFAULT_PERIOD_S,
    min_services: int = DEFAULT_GAP_RULE.min_services,
    min_fraction: float = DEFAULT_GAP_RULE.min_fraction,
    gap_tolerance_s: float = DEFAULT_GAP_RULE.tolerance_s,
    engine: Engine = "auto",
) -> pd.DataFrame:
    r"""Return the collector gaps: services of one group silent together, then back together.

    A collector or a network that fails silences every service whose beacons
    pass through it; those silences are one gap, not one outage per service.

    **Groups.** The ``source`` of a beacon (the collector file it came from)
    and the ``cluster`` a profile declares (an extra ``cluster:`` key), in
    that order: a silence belongs to the group of the beacon that opens it,
    and joins at most one gap. Clusters themselves (sites that send only
    ``cluster_heartbeat``) are not services and never members.

    **Candidates.** The crash silences of the group's services: a beacon ``b``
    that is not a ``shutdown``, and the next beacon ``b'`` of its service
    later than ``b + P + G`` (period and grace as in
    :func:`~rtt_topology.analysis.liveness.states`). Silences still going on
    at the end of the data are never candidates: they did not come back.

    **Together.** With ``tol = max(P_a, P_b, gap_tolerance_s)`` for two
    silences ``a`` and ``b``: sorted by start, consecutive silences whose
    starts lie within ``tol`` chain into a run; inside a run, sorted by end,
    consecutive silences whose ends ``b'`` lie within ``tol`` chain into a
    set. Comparing each silence with the service's own timestamps and a
    tolerance of at least ``gap_tolerance_s`` (default 180 s: one period of
    phase between services plus a clock up to two minutes off) keeps a
    service whose clock runs ahead or behind inside the gap.

    **Gap.** A set is a gap when it has at least ``min_services`` services
    and they are at least ``min_fraction`` of the group's services *active*
    at the gap: the members, and every service with a beacon of the group in
    ``[start - P - G, end]``. Its window is ``[start, end]``: the earliest
    last beacon and the latest first beacon back of its members. A service
    that was silent with the others but came back later is not a member: its
    silence stays an outage from its own last beacon.

    Parameters
    ----------
    beacons, profiles
        As in :func:`~rtt_topology.analysis.liveness.states`.
    start, end
        Keep the gaps that meet ``[start, end)`` (default: all).
    grace_s, jitter, default_period_s
        As in :func:`~rtt_topology.analysis.liveness.states`.
    min_services, min_fraction, gap_tolerance_s
        The thresholds of :class:`GapRule`.
    engine
        As in :func:`~rtt_topology.analysis.liveness.states`.

    Returns
    -------
    pandas.DataFrame
        One row per gap, sorted by start: ``grouping`` (``source`` or
        ``cluster``), ``group`` (its name), ``start`` and ``end`` (UTC),
        ``duration_s``, ``sites`` (sorted list of the member services),
        ``services`` (how many) and ``active`` (the group's services active
        at the gap).

    Examples
    --------
    >>> from rtt_topology.load import beacons_from_records
    >>> rows = [
    ...     {"site": s, "session": s, "event": "heartbeat", "ts": f"2026-01-19T15:{m:02d}:00Z"}
    ...     for s in ("api", "db", "web") for m in (0, 1, 2, 20, 21)
    ... ]
    >>> beacons, _ = beacons_from_records(rows, source="east.jsonl")
    >>> gaps = collector_gaps(beacons, default_period_s=60)
    >>> gaps[["grouping", "group", "services", "active", "duration_s"]]
      grouping       group  services  active  duration_s
    0   source  east.jsonl         3       3      1080.0
    >>> gaps["start"][0], gaps["sites"][0]
    (Timestamp('2026-01-19 15:02:00+0000', tz='UTC'), ['api', 'db', 'web'])
    """
    check_options(grace_s, 0, 1.0, jitter)
    rule = GapRule(min_services, min_fraction, gap_tolerance_s)
    with engine_input(beacons, engine) as data:
        prep, gaps = prepared_gaps(data, profiles, grace_s, default_period_s, jitter, rule)
    keep = np.ones(len(gaps.start), bool)
    lo, hi = instant_ns(start, "start"), instant_ns(end, "end")
    if lo is not None:
        keep &= gaps.end >= lo
    if hi is not None:
        keep &= gaps.start < hi
    sites = [
        sorted(
            str(s) for s in prep.names[np.unique(prep.code[gaps.member_row[gaps.member_gap == i]])]
        )
        for i in np.flatnonzero(keep)
    ]
    return pd.DataFrame(
        {
            "grouping": pd.Series(gaps.grouping[keep], dtype="str"),
            "group": pd.Series(gaps.group[keep], dtype="str"),
            "start": utc_index(gaps.start[keep]),
            "end": utc_index(gaps.end[keep]),
            "duration_s": (gaps.end[keep] - gaps.start[keep]) / NS,
            "sites": pd.Series(sites, dtype=object),
            "services": np.asarray([len(s) for s in sites], dtype=np.int64),
            "active": gaps.active[keep].astype(np.int64),
        },
        columns=list(GAP_COLUMNS),
    )


def in_gaps(
    table: pd.DataFrame,
    gaps: pd.DataFrame,
    bucket: str | pd.Timedelta,
    *,
    site_column: str = "site",
    time_column: str = "bucket",
) -> pd.Series:
    """Flag the rows of a per-site, per-bucket table whose bucket meets a gap of its site.

    A bucket ``[b, b + width)`` meets a gap when ``b + width > start`` and
    ``b <= end``: the beacons counted in it are incomplete, so per-bucket
    statistics (cadence) there say nothing about the service.

    Parameters
    ----------
    table
        A table with a site and a bucket-start column, such as
        :func:`rtt_topology.analysis.cadence.cadence` returns.
    gaps
        :func:`collector_gaps`'s table.
    bucket
        The bucket width of ``table``.
    site_column, time_column
        The columns naming the site and the bucket start.

    Returns
    -------
    pandas.Series
        Boolean, aligned on ``table``'s index.

    Examples
    --------
    >>> cells = pd.DataFrame({"site": ["a", "a", "b"], "bucket": pd.to_datetime(
    ...     ["2026-01-19T15:00Z", "2026-01-19T15:10Z", "2026-01-19T15:00Z"])})
    >>> gaps = pd.DataFrame({"sites": [["a"]], "start": pd.to_datetime(["2026-01-19T15:03Z"]),
    ...                      "end": pd.to_datetime(["2026-01-19T15:07Z"])})
    >>> in_gaps(cells, gaps, "5min").tolist()
    [True, False, False]
    """
    width = pd.Timedelta(bucket)
    hit = pd.Series(False, index=table.index)
    if table.empty or gaps.empty:
        return hit
    site = table[site_column].astype(str)
    start = pd.DatetimeIndex(table[time_column])
    for sites, lo, hi in zip(gaps["sites"], gaps["start"], gaps["end"], strict=True):
        meets = (start + width > pd.Timestamp(lo)) & (start <= pd.Timestamp(hi))
        hit |= site.isin(list(sites)) & np.asarray(meets)
    return hit
