"""Compute each service's heartbeat cadence per time bucket (rules in the package)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from rtt_topology._memo import memoized
from rtt_topology._timestamps import Instant, utc_index
from rtt_topology.aggregate.engines import Engine, History, engine_input
from rtt_topology.aggregate.history import MIN_INTERVALS
from rtt_topology.analysis.cadence.parts import NS, Parts, frame_parts, history_parts
from rtt_topology.analysis.grid import NO_SITES, UTC_NS, empty_frame, site_column
from rtt_topology.columns import validate_beacon_frame
from rtt_topology.errors import InputError
from rtt_topology.schemas import Profile

__all__ = ["CADENCE_COLUMNS", "REFERENCE_S", "cadence"]

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


def _references(
    parts: Parts, profiles: Mapping[str, Profile] | None, period_s: np.ndarray
) -> np.ndarray:
    """Return the declared interval, else the early median interval, else the period."""
    enough = parts.early["size"].fillna(0).to_numpy() >= MIN_INTERVALS
    reference = np.where(enough, parts.early["median"].to_numpy(dtype=np.float64), period_s)
    for i, name in enumerate(parts.names):
        declared = (profiles or {}).get(name)
        if declared is not None and declared.heartbeat_interval_s:
            reference[i] = float(declared.heartbeat_interval_s)
    return reference


def _table(parts: Parts, profiles: Mapping[str, Profile] | None) -> pd.DataFrame:
    """Return the :func:`cadence` table of its parts."""
    n_sites, grid, count = len(parts.names), parts.grid, parts.grid.count
    dtypes = {"site": NO_SITES, "bucket": UTC_NS, "beacons": "int64", "heartbeats": "int64"}
    if n_sites == 0 or count == 0:
        return empty_frame(CADENCE_COLUMNS, dtypes)
    period_s = parts.period_s
    reference = _references(parts, profiles, period_s)
    starts = grid.starts()
    begin = np.maximum(np.maximum(starts[None, :], grid.lo), parts.first_ts[:, None])
    covered = np.clip(np.minimum(starts + grid.width, grid.hi)[None, :] - begin, 0, None)
    expected = (covered / NS / period_s[:, None]).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        adherence = np.where(expected > 0, np.minimum(1.0, parts.heartbeats / expected), np.nan)
        median = parts.stats["median"].to_numpy(dtype=np.float64)
        ratio = median / np.repeat(reference, count)
        log2_ratio = np.log2(ratio)
    return pd.DataFrame(
        {
            "site": site_column(parts.names, count),
            "bucket": utc_index(np.tile(starts, n_sites)),
            "beacons": parts.beacons.astype(np.int64),
            "heartbeats": parts.heartbeats.astype(np.int64),
            "median_interval_s": median,
            "mean_interval_s": parts.stats["mean"].to_numpy(dtype=np.float64),
            "p95_interval_s": parts.stats["p95"].to_numpy(dtype=np.float64),
            "max_interval_s": parts.stats["max"].to_numpy(dtype=np.float64),
            "period_s": np.repeat(period_s, count),
            "expected": expected,
            "adherence": adherence,
            "reference_s": np.repeat(reference, count),
            "ratio": ratio,
            "log2_ratio": log2_ratio,
            "cadence_drift": np.abs(log2_ratio),
        }
    )


@memoized(copy=True)
def cadence(
    beacons: pd.DataFrame | History,
    profiles: Mapping[str, Profile] | None = None,
    *,
    bucket: str | pd.Timedelta = "5min",
    start: Instant | None = None,
    end: Instant | None = None,
    reference_s: float = REFERENCE_S,
    engine: Engine = "auto",
) -> pd.DataFrame:
    r"""Return each service's heartbeat cadence per time bucket.

    Parameters
    ----------
    beacons
        A beacon table (:mod:`rtt_topology.columns`) or a
        :class:`~rtt_topology.aggregate.engines.History`; the whole of it is used for
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
    engine
        ``"pandas"``, ``"duckdb"`` or ``"auto"``
        (:func:`~rtt_topology.aggregate.engines.choose_engine`); the results are equal.

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
    if not reference_s > 0:
        raise InputError(f"reference_s must be positive, not {reference_s}")
    with engine_input(beacons, engine) as data:
        if isinstance(data, History):
            parts = history_parts(data, profiles, bucket, start, end, reference_s)
        else:
            validate_beacon_frame(data)
            parts = frame_parts(data, profiles, bucket, start, end, reference_s)
    return _table(parts, profiles)
