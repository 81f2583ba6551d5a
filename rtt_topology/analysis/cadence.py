"""Measure each service's heartbeat cadence per time bucket, and find where it drifts.

Upstream RTT asks services to beacon periodically (every 30-60 s) and names the
Grafana panel "heartbeat frequency", but gives no measure of cadence: what
follows is **ours**.

Heartbeats and intervals
------------------------
A service's *heartbeats* are the beacons of its most frequent event (its
``heartbeat``; ``cluster_heartbeat`` for a cluster), as
:func:`rtt_topology.aggregate.history.periods` chooses them. A *heartbeat interval* is the
time between two consecutive heartbeats of the same session with no ``startup``
or ``shutdown`` of that session between them: the gap across a restart, a
deploy or a crash is liveness's business, not cadence. Nor is a collector gap:
an interval of a service that lies within a collector gap of which the service
is a member (:func:`~rtt_topology.analysis.liveness.collector_gaps`, default
rule, same profiles: it starts at or after the gap's start and ends at or
before its end) is no interval, since its beacons were sent and lost on the
way, not late. An interval belongs to the bucket in which it ends.

Per bucket (:func:`cadence`)
----------------------------
===================  ==========================================================
column               definition
===================  ==========================================================
beacons              beacons of the site in the bucket (any event)
heartbeats           heartbeats in the bucket
median_interval_s    median of the heartbeat intervals ending in the bucket;
mean_interval_s,     also their mean, 95th percentile (linear interpolation)
p95_interval_s,      and maximum; ``NaN`` when no interval ends in the bucket
max_interval_s
period_s             the service's period, :func:`rtt_topology.aggregate.history.periods`
                     (declared, else inferred, else the default)
expected             ``covered / period_s``: ``covered`` is the part of the
                     bucket inside the window and after the site's first beacon
adherence            ``min(1, heartbeats / expected)``; ``NaN`` when nothing is
                     expected (``expected == 0``)
reference_s          the interval the service should keep (below)
ratio                ``median_interval_s / reference_s``
log2_ratio           ``log2(ratio)``: 0 on cadence, 1 at half the pace, -1 at twice
cadence_drift        ``|log2_ratio|``: how far off cadence, either way
===================  ==========================================================

The *reference* is the declared ``heartbeat_interval_s`` of the service's profile
when there is one (drift is divergence from the *declared* structure); else the
median heartbeat interval of the service's first ``reference_s`` seconds of data
(default one hour, at least three intervals); else ``period_s``. A reference
window, not the whole history, so that a slowdown lasting most of the history
does not become the norm.

The log of the ratio makes slowing down and speeding up by the same factor
equally far from the reference, and the median of a bucket shrugs off one late
beacon (a GC pause, a slow network).

Cadence changes (:func:`cadence_changes`)
-----------------------------------------
A bucket is *off cadence* when ``cadence_drift > log2(threshold)``, that is when
its median interval is more than ``threshold`` times (default 1.5: 50 % slower)
or less than ``1 / threshold`` times (33 % faster) the reference. An *episode* is
a run of at least ``min_buckets`` (default 2) consecutive off-cadence buckets
of the same direction; buckets in which no interval ends (a silent service, a
period longer than the bucket) neither extend nor break a run. The threshold
sits far above the jitter seen in practice (a few percent; a late beacon moves a
5-minute median little) and two buckets are asked for so that a single odd
bucket is not an episode.

An episode's ``start`` is when the change began, to the heartbeat, not the
bucket: buckets only say *that* the pace changed, a bucket late at worst. Take
the heartbeat intervals of the site that end in the bucket before the first
off-cadence bucket or in that bucket, in time order, and flag each one *off*
when it is beyond ``threshold`` in the episode's direction (``interval >
threshold * reference`` when slower, ``interval < reference / threshold`` when
faster). The change is the split ``k`` that leaves fewest disagreeing
intervals, ``sum(off[:k]) + sum(1 - off[k:])`` (the earliest ``k`` on a tie),
and ``start`` is the heartbeat that opens interval ``k`` (its end minus its
length). So a single late beacon before the change does not move it, and the
start is at most one interval before the first slow (or fast) one.

Windows and buckets: ``bucket`` is a fixed pandas duration (``"5min"``, ``"1h"``),
aligned as :meth:`pandas.Timestamp.floor` aligns it; the window is
``[start, end)``, by default from the first beacon to just after the last one.
Rows are labelled by their bucket's start (UTC); every site with beacons gets a
row for every bucket of the window. Tables with one row per site and bucket
have a categorical ``site`` column, as the beacon table does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from rtt_topology._memo import memoized
from rtt_topology._timestamps import Instant, utc_index
from rtt_topology.aggregate.history import MIN_INTERVALS, main_event_rows, periods
from rtt_topology.analysis.grid import (
    NO_SITES,
    UTC_NS,
    Sites,
    bucket_grid,
    by_site,
    empty_frame,
    site_numbers,
)
from rtt_topology.columns import validate_beacon_frame
from rtt_topology.errors import InputError
from rtt_topology.schemas import Profile

__all__ = [
    "CADENCE_COLUMNS",
    "CADENCE_THRESHOLD",
    "REFERENCE_S",
    "cadence",
    "cadence_changes",
]

#: Default factor beyond which a bucket's median interval is off cadence.
CADENCE_THRESHOLD = 1.5
#: Default length of the reference window at the start of a service's data, seconds.
REFERENCE_S = 3600.0
#: Columns of :func:`cadence`, in order.
CADENCE_COLUMNS: tuple[str, ...] = (
    "site",
    "bucket",
    "beacons",
    "heartbeats",
    "median_interval_s",
    "mean_interval_s",
    "p95_interval_s",
    "max_interval_s",
    "period_s",
    "expected",
    "adherence",
    "reference_s",
    "ratio",
    "log2_ratio",
    "cadence_drift",
)
_CHANGE_COLUMNS = (
    "site",
    "start",
    "end",
    "buckets",
    "reference_s",
    "observed_s",
    "ratio",
    "direction",
)
_NS = 1_000_000_000
#: Events that end or begin a process: no heartbeat interval spans them.
_BREAKS = ("startup", "shutdown")


def _heartbeat_gaps(
    beacons: pd.DataFrame, main: np.ndarray, dense: np.ndarray, ts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rows that end a heartbeat interval (within one session, no restart between) and its s."""
    events = beacons["event"].cat.categories
    breaks = np.flatnonzero(events.isin(_BREAKS))
    brk = np.isin(beacons["event"].cat.codes.to_numpy(), breaks)
    rows = np.flatnonzero(main | brk)
    key = dense[rows] << 32 | beacons["session"].cat.codes.to_numpy().astype(np.int64)[rows]
    runs = int(np.count_nonzero(key[1:] != key[:-1])) + 1 if len(key) else 0
    if runs != len(pd.unique(key)):
        # Sessions overlap (a blue-green deploy): group each session's beacons.
        order = np.argsort(key, kind="stable")
        rows, key = rows[order], key[order]
    beat = main[rows]
    gap = ts[rows][1:] - ts[rows][:-1]
    valid = (key[1:] == key[:-1]) & beat[1:] & beat[:-1] & (gap > 0)
    return rows[1:][valid], gap[valid] / _NS


def _intervals(
    beacons: pd.DataFrame,
    profiles: Mapping[str, Profile] | None,
    main: np.ndarray,
    sites: Sites,
    ts: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Heartbeat intervals (rows that end one, and seconds) outside the site's collector gaps."""
    from rtt_topology.analysis.liveness import collector_gaps

    rows, gap_s = _heartbeat_gaps(beacons, main, sites.dense, ts)
    gaps = collector_gaps(beacons, profiles)
    if gaps.empty or not len(rows):
        return rows, gap_s
    number = {str(name): i for i, name in enumerate(sites.names)}
    site, ends = sites.dense[rows], ts[rows]
    begins = ends - np.round(gap_s * _NS).astype(np.int64)
    lost = np.zeros(len(rows), bool)
    starts = gaps["start"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    stops = gaps["end"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    for members, lo, hi in zip(gaps["sites"], starts, stops, strict=True):
        codes = [number[m] for m in members if m in number]
        lost |= np.isin(site, codes) & (begins >= lo) & (ends <= hi)
    return rows[~lost], gap_s[~lost]


def _references(
    sites: Sites,
    profiles: Mapping[str, Profile] | None,
    period_s: np.ndarray,
    gap_site: np.ndarray,
    gap_ts: np.ndarray,
    gap_s: np.ndarray,
    first_ts: np.ndarray,
    reference_s: float,
) -> np.ndarray:
    """Return the declared interval, else the early median interval, else the period."""
    early = gap_ts < first_ts[gap_site] + int(reference_s * _NS)
    stats = (
        pd.Series(gap_s[early])
        .groupby(gap_site[early])
        .agg(["median", "size"])
        .reindex(range(len(sites.names)))
    )
    enough = stats["size"].fillna(0).to_numpy() >= MIN_INTERVALS
    reference = np.where(enough, stats["median"].to_numpy(dtype=np.float64), period_s)
    for i, name in enumerate(sites.names):
        declared = (profiles or {}).get(name)
        if declared is not None and declared.heartbeat_interval_s:
            reference[i] = float(declared.heartbeat_interval_s)
    return reference


@memoized(copy=True)
def cadence(
    beacons: pd.DataFrame,
    profiles: Mapping[str, Profile] | None = None,
    *,
    bucket: str | pd.Timedelta = "5min",
    start: Instant | None = None,
    end: Instant | None = None,
    reference_s: float = REFERENCE_S,
) -> pd.DataFrame:
    r"""Return each service's heartbeat cadence per time bucket.

    Parameters
    ----------
    beacons
        A beacon table (:mod:`rtt_topology.columns`); the whole table is used for
        periods, references and the intervals ending in the window.
    profiles
        Profiles keyed by site: a declared ``heartbeat_interval_s`` is the period
        and the reference.
    bucket
        A fixed bucket length (``"5min"``, ``"1h"``, a Timedelta).
    start, end
        The window ``[start, end)``, aware datetimes or ISO 8601 strings (default:
        from the first beacon to just after the last one).
    reference_s
        Length of the reference window at the start of a service's data, for
        services without a declared interval.

    Returns
    -------
    pandas.DataFrame
        One row per site with beacons and bucket of the window, sorted by site and
        bucket, with the columns of :data:`CADENCE_COLUMNS` (module documentation):
        ``site`` (categorical), ``bucket`` (start, UTC), ``beacons`` and
        ``heartbeats`` (int64), the rest float64.

    Examples
    --------
    >>> from rtt_topology.load import beacons_from_records
    >>> times = pd.date_range("2026-01-19T15:00:00Z", periods=20, freq="30s")
    >>> times = times.append(times[-1] + pd.to_timedelta(range(90, 600, 90), unit="s"))
    >>> beacons, _ = beacons_from_records(
    ...     {"site": "api", "session": "s1", "event": "heartbeat", "ts": t.isoformat()}
    ...     for t in times
    ... )
    >>> table = cadence(beacons, bucket="5min")
    >>> table[["bucket", "heartbeats", "median_interval_s", "expected", "adherence"]].round(
    ...     {"adherence": 2})
                         bucket  heartbeats  median_interval_s  expected  adherence
    0 2026-01-19 15:00:00+00:00          10               30.0      10.0       1.00
    1 2026-01-19 15:05:00+00:00          10               30.0      10.0       1.00
    2 2026-01-19 15:10:00+00:00           3               90.0      10.0       0.30
    3 2026-01-19 15:15:00+00:00           3               90.0       7.0       0.43
    >>> table["ratio"].tolist()
    [1.0, 1.0, 3.0, 3.0]
    """
    validate_beacon_frame(beacons)
    if not reference_s > 0:
        raise InputError(f"reference_s must be positive, not {reference_s}")
    beacons = by_site(beacons)
    ts = beacons["ts"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    grid = bucket_grid(ts, bucket, start, end)
    sites = site_numbers(beacons)
    n_sites, count = len(sites.names), grid.count
    dtypes = {"site": NO_SITES, "bucket": UTC_NS, "beacons": "int64", "heartbeats": "int64"}
    if n_sites == 0 or count == 0:
        return empty_frame(CADENCE_COLUMNS, dtypes)

    main = main_event_rows(beacons)
    inside, k = grid.locate(ts)
    cell = sites.dense[inside] * count + k
    size = n_sites * count
    n_beacons = np.bincount(cell, minlength=size)
    n_beats = np.bincount(cell[main[inside]], minlength=size)

    gap_rows, gap_s = _intervals(beacons, profiles, main, sites, ts)
    gap_ts, gap_site = ts[gap_rows], sites.dense[gap_rows]
    g_inside, g_k = grid.locate(gap_ts)
    stats = pd.Series(gap_s[g_inside]).groupby(gap_site[g_inside] * count + g_k)
    summary = stats.agg(["median", "mean", "max"])
    summary["p95"] = stats.quantile(0.95)
    summary = summary.reindex(range(size))

    period_s = (
        periods(beacons, profiles)["period_s"].reindex(sites.names).to_numpy(dtype=np.float64)
    )
    first_ts = ts[sites.first_row]
    reference = _references(
        sites, profiles, period_s, gap_site, gap_ts, gap_s, first_ts, reference_s
    )
    starts = grid.starts()
    begin = np.maximum(np.maximum(starts[None, :], grid.lo), first_ts[:, None])
    covered = np.clip(np.minimum(starts + grid.width, grid.hi)[None, :] - begin, 0, None)
    expected = (covered / _NS / period_s[:, None]).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        adherence = np.where(expected > 0, np.minimum(1.0, n_beats / expected), np.nan)
        median = summary["median"].to_numpy(dtype=np.float64)
        ratio = median / np.repeat(reference, count)
        log2_ratio = np.log2(ratio)
    return pd.DataFrame(
        {
            "site": sites.column(count),
            "bucket": utc_index(np.tile(starts, n_sites)),
            "beacons": n_beacons.astype(np.int64),
            "heartbeats": n_beats.astype(np.int64),
            "median_interval_s": median,
            "mean_interval_s": summary["mean"].to_numpy(dtype=np.float64),
            "p95_interval_s": summary["p95"].to_numpy(dtype=np.float64),
            "max_interval_s": summary["max"].to_numpy(dtype=np.float64),
            "period_s": np.repeat(period_s, count),
            "expected": expected,
            "adherence": adherence,
            "reference_s": np.repeat(reference, count),
            "ratio": ratio,
            "log2_ratio": log2_ratio,
            "cadence_drift": np.abs(log2_ratio),
        }
    )


def _change_starts(
    beacons: pd.DataFrame,
    profiles: Mapping[str, Profile] | None,
    episodes: pd.DataFrame,
    width: pd.Timedelta,
    threshold: float,
) -> np.ndarray:
    """Return each episode's start to the heartbeat (module docstring), ns since the epoch."""
    beacons = by_site(beacons)
    ts = beacons["ts"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    sites = site_numbers(beacons)
    gap_rows, gap_s = _intervals(beacons, profiles, main_event_rows(beacons), sites, ts)
    gap_site, gap_end = sites.dense[gap_rows], ts[gap_rows]
    number = {str(name): i for i, name in enumerate(sites.names)}
    bucket = episodes["start"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    starts = bucket.copy()
    limit = np.log2(threshold)
    for i, (site, state, reference) in enumerate(
        episodes[["site", "state", "reference_s"]].itertuples(index=False)
    ):
        lo, hi = bucket[i] - width.value, bucket[i] + width.value
        pick = np.flatnonzero((gap_site == number[site]) & (gap_end >= lo) & (gap_end < hi))
        if not len(pick):
            continue
        pick = pick[np.argsort(gap_end[pick], kind="stable")]
        off = (state * np.log2(gap_s[pick] / reference) > limit).astype(np.int64)
        # Disagreements if the change is at k: off intervals before it, on ones from it.
        cost = np.concatenate(([0], np.cumsum(off)))[:-1] + (np.cumsum((1 - off)[::-1])[::-1])
        k = int(np.argmin(cost))
        starts[i] = gap_end[pick[k]] - round(gap_s[pick[k]] * _NS)
    return starts


def cadence_changes(
    beacons: pd.DataFrame,
    profiles: Mapping[str, Profile] | None = None,
    *,
    bucket: str | pd.Timedelta = "5min",
    start: Instant | None = None,
    end: Instant | None = None,
    reference_s: float = REFERENCE_S,
    threshold: float = CADENCE_THRESHOLD,
    min_buckets: int = 2,
) -> pd.DataFrame:
    r"""Return the episodes in which a service beacons off its reference cadence.

    Parameters
    ----------
    beacons, profiles, bucket, start, end, reference_s
        As in :func:`cadence`.
    threshold
        A bucket is off cadence when its median interval is more than
        ``threshold`` times, or less than ``1 / threshold`` times, the reference.
    min_buckets
        Fewest consecutive off-cadence buckets (same direction) in an episode.

    Returns
    -------
    pandas.DataFrame
        One row per episode, sorted by site and start: ``site`` (str), ``start``
        (when the change began, to the heartbeat: see the module documentation;
        at most one bucket before the first off-cadence bucket), ``end`` (the
        last off-cadence bucket's end), ``buckets``
        (off-cadence buckets in it), ``reference_s``, ``observed_s`` (median of
        the buckets' median intervals), ``ratio`` (observed / reference) and
        ``direction`` (``slower`` or ``faster``).

    Examples
    --------
    >>> from rtt_topology.load import beacons_from_records
    >>> times = pd.date_range("2026-01-19T15:00:00Z", periods=20, freq="30s")
    >>> times = times.append(times[-1] + pd.to_timedelta(range(90, 600, 90), unit="s"))
    >>> beacons, _ = beacons_from_records(
    ...     {"site": "api", "session": "s1", "event": "heartbeat", "ts": t.isoformat()}
    ...     for t in times
    ... )
    >>> cadence_changes(beacons).iloc[0].to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'site': 'api', 'start': Timestamp('2026-01-19 15:09:30+0000', tz='UTC'),
     'end': Timestamp('2026-01-19 15:20:00+0000', tz='UTC'), 'buckets': 2,
     'reference_s': 30.0, 'observed_s': 90.0, 'ratio': 3.0, 'direction': 'slower'}
    """
    if not threshold > 1:
        raise InputError(f"threshold must be greater than 1, not {threshold}")
    if min_buckets < 1:
        raise InputError(f"min_buckets must be at least 1, not {min_buckets}")
    table = cadence(beacons, profiles, bucket=bucket, start=start, end=end, reference_s=reference_s)
    dtypes = {"site": "str", "start": UTC_NS, "end": UTC_NS, "buckets": "int64", "direction": "str"}
    seen = table[table["cadence_drift"].notna()]
    if seen.empty:
        return empty_frame(_CHANGE_COLUMNS, dtypes)
    site = seen["site"].cat.codes.to_numpy()
    off = seen["cadence_drift"].to_numpy() > math.log2(threshold)
    state = np.where(off, np.sign(seen["ratio"].to_numpy() - 1.0), 0.0)
    new_run = np.concatenate(([True], (site[1:] != site[:-1]) | (state[1:] != state[:-1])))
    flagged = state != 0
    runs = seen[["bucket", "reference_s", "median_interval_s"]][flagged].reset_index(drop=True)
    runs["site"] = seen["site"][flagged].astype(str).to_numpy()
    runs["run"] = np.cumsum(new_run)[flagged]
    runs["state"] = state[flagged]
    episodes = runs.groupby("run", sort=True).agg(
        site=("site", "first"),
        start=("bucket", "first"),
        end=("bucket", "last"),
        buckets=("bucket", "size"),
        reference_s=("reference_s", "first"),
        observed_s=("median_interval_s", "median"),
        state=("state", "first"),
    )
    episodes = episodes[episodes["buckets"] >= min_buckets].reset_index(drop=True)
    if episodes.empty:
        return empty_frame(_CHANGE_COLUMNS, dtypes)
    width = pd.Timedelta(bucket)
    episodes["end"] = episodes["end"] + width
    episodes["start"] = utc_index(_change_starts(beacons, profiles, episodes, width, threshold))
    episodes["buckets"] = episodes["buckets"].astype("int64")
    episodes["ratio"] = episodes["observed_s"] / episodes["reference_s"]
    episodes["direction"] = np.where(episodes["state"] > 0, "slower", "faster")
    result: pd.DataFrame = episodes[list(_CHANGE_COLUMNS)].astype(
        {"site": "str", "direction": "str"}
    )
    return result
