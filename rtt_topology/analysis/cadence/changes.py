"""Find the episodes in which a service beacons off its reference cadence (rules in the package)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from rtt_topology._memo import reuse
from rtt_topology._timestamps import Instant, utc_index
from rtt_topology.aggregate.engines import Engine, History, engine_input
from rtt_topology.analysis.cadence.parts import NS, Intervals, frame_intervals, history_intervals
from rtt_topology.analysis.cadence.table import REFERENCE_S, cadence
from rtt_topology.analysis.grid import UTC_NS, empty_frame
from rtt_topology.errors import InputError
from rtt_topology.schemas import Profile

__all__ = ["CADENCE_THRESHOLD", "cadence_changes"]

#: Default factor beyond which a bucket's median interval is off cadence.
CADENCE_THRESHOLD = 1.5
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
_CHANGE_DTYPES = {
    "site": "str",
    "start": UTC_NS,
    "end": UTC_NS,
    "buckets": "int64",
    "direction": "str",
}


def _change_starts(
    found: Intervals, episodes: pd.DataFrame, width: pd.Timedelta, threshold: float
) -> np.ndarray:
    """Return each episode's start to the heartbeat (module docstring), ns since the epoch."""
    number = {str(name): i for i, name in enumerate(found.names)}
    bucket = episodes["start"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    starts = bucket.copy()
    limit = np.log2(threshold)
    for i, (site, state, reference) in enumerate(
        episodes[["site", "state", "reference_s"]].itertuples(index=False)
    ):
        lo, hi = bucket[i] - width.value, bucket[i] + width.value
        pick = np.flatnonzero(
            (found.site == number.get(site, -1)) & (found.end >= lo) & (found.end < hi)
        )
        if not len(pick):
            continue
        pick = pick[np.argsort(found.end[pick], kind="stable")]
        off = (state * np.log2(found.gap_s[pick] / reference) > limit).astype(np.int64)
        # Disagreements if the change is at k: off intervals before it, on ones from it.
        cost = np.concatenate(([0], np.cumsum(off)))[:-1] + (np.cumsum((1 - off)[::-1])[::-1])
        k = int(np.argmin(cost))
        starts[i] = found.end[pick[k]] - round(found.gap_s[pick[k]] * NS)
    return starts


def cadence_changes(
    beacons: pd.DataFrame | History,
    profiles: Mapping[str, Profile] | None = None,
    *,
    bucket: str | pd.Timedelta = "5min",
    start: Instant | None = None,
    end: Instant | None = None,
    reference_s: float = REFERENCE_S,
    threshold: float = CADENCE_THRESHOLD,
    min_buckets: int = 2,
    engine: Engine = "auto",
) -> pd.DataFrame:
    r"""Return the episodes in which a service beacons off its reference cadence.

    Parameters
    ----------
    beacons, profiles, bucket, start, end, reference_s, engine
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
    # The gaps and periods that cadence derives serve the change starts too.
    with reuse(), engine_input(beacons, engine) as data:
        chosen: Engine = "duckdb" if isinstance(data, History) else "pandas"
        table = cadence(
            data,
            profiles,
            bucket=bucket,
            start=start,
            end=end,
            reference_s=reference_s,
            engine=chosen,
        )
        episodes = _episodes(table, threshold, min_buckets)
        if episodes.empty:
            return empty_frame(_CHANGE_COLUMNS, _CHANGE_DTYPES)
        width = pd.Timedelta(bucket)
        if isinstance(data, History):
            ranges = [
                (str(site), int(at.value - width.value), int(at.value + width.value))
                for site, at in zip(episodes["site"], episodes["start"], strict=True)
            ]
            found = history_intervals(data, profiles, ranges)
        else:
            found = frame_intervals(data, profiles)
    episodes["end"] = episodes["end"] + width
    episodes["start"] = utc_index(_change_starts(found, episodes, width, threshold))
    episodes["buckets"] = episodes["buckets"].astype("int64")
    episodes["ratio"] = episodes["observed_s"] / episodes["reference_s"]
    episodes["direction"] = np.where(episodes["state"] > 0, "slower", "faster")
    result: pd.DataFrame = episodes[list(_CHANGE_COLUMNS)].astype(
        {"site": "str", "direction": "str"}
    )
    return result


def _episodes(table: pd.DataFrame, threshold: float, min_buckets: int) -> pd.DataFrame:
    """Return the runs of off-cadence buckets of a :func:`cadence` table, long enough."""
    seen = table[table["cadence_drift"].notna()]
    if seen.empty:
        return pd.DataFrame()
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
    kept: pd.DataFrame = episodes[episodes["buckets"] >= min_buckets].reset_index(drop=True)
    return kept
