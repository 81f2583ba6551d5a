"""Measure what the liveness timeline implies: flips, downtime, uptime, time in states."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from rtt_topology._timestamps import Instant, utc_index
from rtt_topology.aggregate.engines import Engine, History
from rtt_topology.aggregate.history import DEFAULT_PERIOD_S
from rtt_topology.analysis.liveness.gaps import GapRule, gap_rule
from rtt_topology.analysis.liveness.prepared import (
    DEFAULT_JITTER,
    DOWN_CODE,
    FLAPPING_CODE,
    LATE_CODE,
    NS,
    STATE_DTYPE,
    STATES,
    STOPPED_CODE,
    UP_CODE,
    site_column,
)
from rtt_topology.analysis.liveness.segments import Segments, clipped, derived
from rtt_topology.errors import InputError
from rtt_topology.schemas import Profile

__all__ = ["downtime", "flips", "time_in_states", "uptime"]

#: The seconds columns and the state each one counts; ``unknown_s`` gets the rest.
_STATE_COLUMNS = {
    "up_s": UP_CODE,
    "late_s": LATE_CODE,
    "flapping_s": FLAPPING_CODE,
    "down_s": DOWN_CODE,
    "stopped_s": STOPPED_CODE,
}


def flips(
    beacons: pd.DataFrame | History,
    profiles: Mapping[str, Profile] | None = None,
    *,
    start: Instant | None = None,
    end: Instant | None = None,
    grace_s: float | None = None,
    jitter: float = DEFAULT_JITTER,
    flapping_restarts: int = 3,
    flapping_window_s: float = 900.0,
    default_period_s: float = DEFAULT_PERIOD_S,
    gaps: bool | GapRule = True,
    engine: Engine = "auto",
) -> pd.DataFrame:
    r"""Return every change of state inside the window.

    Parameters
    ----------
    beacons, profiles, start, end
        As in :func:`timeline`.
    grace_s, jitter, flapping_restarts, flapping_window_s, default_period_s, gaps, engine
        As in :func:`states`.

    Returns
    -------
    pandas.DataFrame
        ``site`` (categorical), ``ts`` (UTC), ``from_state``, ``to_state``
        (:data:`STATE_DTYPE`), sorted by site and ts: one row per boundary
        between two rows of the :func:`timeline` (a service's first row is
        no change).

    Examples
    --------
    >>> from rtt_topology.load import beacons_from_records
    >>> beacons, _ = beacons_from_records([
    ...     {"site": "api", "session": "s1", "event": "heartbeat", "ts": "2026-01-19T15:00:00Z"},
    ...     {"site": "api", "session": "s1", "event": "heartbeat", "ts": "2026-01-19T15:05:00Z"},
    ... ])
    >>> changes = flips(beacons, default_period_s=60, jitter=0, end="2026-01-19T15:05:30Z")
    >>> changes[["ts", "from_state", "to_state"]]
                             ts from_state to_state
    0 2026-01-19 15:01:00+00:00         up     late
    1 2026-01-19 15:02:00+00:00       late     down
    2 2026-01-19 15:05:00+00:00       down       up
    """
    prep, window, seg, listed = derived(
        beacons, profiles, start, end, grace_s, flapping_restarts, flapping_window_s,
        default_period_s, jitter, gap_rule(gaps), engine,
    )  # fmt: skip
    seg = clipped(seg, listed, window)
    change = np.flatnonzero(seg.code[1:] == seg.code[:-1]) + 1
    return pd.DataFrame(
        {
            "site": site_column(prep.names, seg.code[change]),
            "ts": utc_index(seg.start[change]),
            "from_state": pd.Categorical.from_codes(seg.state[change - 1], dtype=STATE_DTYPE),
            "to_state": pd.Categorical.from_codes(seg.state[change], dtype=STATE_DTYPE),
        }
    )


def downtime(
    beacons: pd.DataFrame | History,
    profiles: Mapping[str, Profile] | None = None,
    *,
    start: Instant | None = None,
    end: Instant | None = None,
    grace_s: float | None = None,
    jitter: float = DEFAULT_JITTER,
    flapping_restarts: int = 3,
    flapping_window_s: float = 900.0,
    default_period_s: float = DEFAULT_PERIOD_S,
    gaps: bool | GapRule = True,
    engine: Engine = "auto",
) -> pd.DataFrame:
    r"""Return the episodes in which services were down (crash) or stopped (planned).

    An episode is one ``down`` or ``stopped`` row of the :func:`timeline`
    that meets the window. A down episode starts when the silence exceeded the
    period and the grace (``last_beacon + period + grace``), not when the
    process died: ``last_beacon`` bounds that moment from below. A stopped
    episode starts at the ``shutdown`` beacon. A deploy that sends ``shutdown``
    then ``startup`` gives a short planned episode, never a crash. A silence
    inside a collector gap is ``unknown``, not down: it gives no episode.

    Parameters
    ----------
    beacons, profiles, start, end
        As in :func:`timeline`.
    grace_s, jitter, flapping_restarts, flapping_window_s, default_period_s, gaps, engine
        As in :func:`states`.

    Returns
    -------
    pandas.DataFrame
        ``site`` (categorical), ``start`` (UTC, the episode's own start, even
        before the window), ``end`` (UTC; NaT if it still goes on at the window
        end), ``duration_s`` (up to the window end when ongoing), ``kind``
        (``crash`` or ``planned``), ``last_beacon`` (the beacon before the
        silence, UTC) and ``last_event`` (its event), sorted by site and start.

    Examples
    --------
    >>> from rtt_topology.load import beacons_from_records
    >>> beacons, _ = beacons_from_records([
    ...     {"site": "api", "session": "s1", "event": "heartbeat", "ts": "2026-01-19T15:00:00Z"},
    ...     {"site": "api", "session": "s2", "event": "startup", "ts": "2026-01-19T15:05:00Z"},
    ...     {"site": "api", "session": "s2", "event": "shutdown", "ts": "2026-01-19T15:06:00Z"},
    ... ])
    >>> table = downtime(beacons, default_period_s=60, jitter=0, end="2026-01-19T15:10:00Z")
    >>> table[["start", "end", "kind", "last_event"]]
                          start                       end     kind last_event
    0 2026-01-19 15:02:00+00:00 2026-01-19 15:05:00+00:00    crash  heartbeat
    1 2026-01-19 15:06:00+00:00                       NaT  planned   shutdown
    >>> table["duration_s"].tolist()
    [180.0, 240.0]
    """
    prep, window, seg, _ = derived(
        beacons, profiles, start, end, grace_s, flapping_restarts, flapping_window_s,
        default_period_s, jitter, gap_rule(gaps), engine,
    )  # fmt: skip
    if window.start is None or window.end is None:
        pick = np.zeros(0, np.int64)
    else:
        bad = (seg.state == DOWN_CODE) | (seg.state == STOPPED_CODE)
        pick = np.flatnonzero(bad & (seg.end > window.start) & (seg.start < window.end))
    seg = seg.take(pick)
    ongoing = seg.end >= (window.end or 0)
    return pd.DataFrame(
        {
            "site": site_column(prep.names, seg.code),
            "start": utc_index(seg.start),
            "end": utc_index(np.where(ongoing, np.iinfo(np.int64).min, seg.end)),
            "duration_s": (seg.end - seg.start) / NS,
            "kind": pd.Series(np.where(seg.state == DOWN_CODE, "crash", "planned"), dtype="str"),
            "last_beacon": utc_index(prep.ts[seg.origin]),
            "last_event": pd.Series(prep.events[prep.event[seg.origin]], dtype="str"),
        }
    )


def _seconds_by_state(
    seg: Segments, listed: np.ndarray, cells: np.ndarray, n_cells: int
) -> np.ndarray:
    """Nanoseconds per (cell, state): ``cells`` numbers each segment's cell."""
    total = np.bincount(
        cells * len(STATES) + seg.state,
        weights=(seg.end - seg.start).astype(np.float64),
        minlength=n_cells * len(STATES),
    )
    return total.reshape(n_cells, len(STATES))


def _state_columns(by_state: np.ndarray, span: np.ndarray) -> dict[str, np.ndarray]:
    """Seconds per state; unknown, missing and before the first beacon all count as unknown."""
    known = by_state[:, list(_STATE_COLUMNS.values())]
    columns = {name: known[:, i] / NS for i, name in enumerate(_STATE_COLUMNS)}
    columns["unknown_s"] = (span - known.sum(axis=1)) / NS
    return columns


def uptime(
    beacons: pd.DataFrame | History,
    profiles: Mapping[str, Profile] | None = None,
    *,
    start: Instant | None = None,
    end: Instant | None = None,
    grace_s: float | None = None,
    jitter: float = DEFAULT_JITTER,
    flapping_restarts: int = 3,
    flapping_window_s: float = 900.0,
    default_period_s: float = DEFAULT_PERIOD_S,
    gaps: bool | GapRule = True,
    engine: Engine = "auto",
) -> pd.DataFrame:
    r"""Return the time each service spent in each state over a window, and its uptime.

    ``uptime_pct = (up + late + flapping) / (observed - stopped) * 100``, where
    observed time is the window minus the unknown time (before a service's
    first beacon, missing, or ``unknown`` inside a collector gap): planned
    stops and collector gaps count neither for nor against.

    Parameters
    ----------
    beacons, profiles, start, end
        As in :func:`timeline`.
    grace_s, jitter, flapping_restarts, flapping_window_s, default_period_s, gaps, engine
        As in :func:`states`.

    Returns
    -------
    pandas.DataFrame
        One row per service, sorted by site: ``site`` (str), ``up_s``,
        ``late_s``, ``flapping_s``, ``down_s``, ``stopped_s``, ``unknown_s``
        (the ``unknown`` state and the time before the first beacon or
        missing; seconds, summing to the window length) and ``uptime_pct`` (``NaN``
        without observed time outside planned stops).

    Examples
    --------
    >>> from rtt_topology.load import beacons_from_records
    >>> beacons, _ = beacons_from_records([
    ...     {"site": "api", "session": "s1", "event": "heartbeat", "ts": "2026-01-19T15:00:00Z"},
    ...     {"site": "api", "session": "s1", "event": "heartbeat", "ts": "2026-01-19T15:05:00Z"},
    ... ])
    >>> table = uptime(beacons, default_period_s=60, jitter=0, end="2026-01-19T15:06:00Z")
    >>> table[["site", "up_s", "late_s", "down_s", "unknown_s", "uptime_pct"]]
      site   up_s  late_s  down_s  unknown_s  uptime_pct
    0  api  120.0    60.0   180.0        0.0        50.0
    """
    prep, window, seg, listed = derived(
        beacons, profiles, start, end, grace_s, flapping_restarts, flapping_window_s,
        default_period_s, jitter, gap_rule(gaps), engine,
    )  # fmt: skip
    seg = clipped(seg, listed, window)
    span = 0 if window.start is None or window.end is None else window.end - window.start
    by_state = _seconds_by_state(seg, listed, np.searchsorted(listed, seg.code), len(listed))
    frame = pd.DataFrame({"site": pd.Series(prep.names[listed], dtype="str")})
    for name, values in _state_columns(by_state, np.full(len(listed), span, np.float64)).items():
        frame[name] = values
    good = frame["up_s"] + frame["late_s"] + frame["flapping_s"]
    counted = good + frame["down_s"]
    frame["uptime_pct"] = (good / counted.where(counted > 0) * 100).astype(np.float64)
    return frame


def time_in_states(
    beacons: pd.DataFrame | History,
    profiles: Mapping[str, Profile] | None = None,
    *,
    start: Instant | None = None,
    end: Instant | None = None,
    bucket: str | pd.Timedelta = "5min",
    grace_s: float | None = None,
    jitter: float = DEFAULT_JITTER,
    flapping_restarts: int = 3,
    flapping_window_s: float = 900.0,
    default_period_s: float = DEFAULT_PERIOD_S,
    gaps: bool | GapRule = True,
    engine: Engine = "auto",
) -> pd.DataFrame:
    r"""Return the seconds each service spent in each state, per time bucket.

    Parameters
    ----------
    beacons, profiles, start, end
        As in :func:`timeline`.
    grace_s, jitter, flapping_restarts, flapping_window_s, default_period_s, gaps, engine
        As in :func:`states`.
    bucket
        A fixed bucket length (``"5min"``, ``"1h"``, a Timedelta); buckets are
        aligned as :meth:`pandas.Timestamp.floor` aligns them.

    Returns
    -------
    pandas.DataFrame
        One row per service and bucket meeting the window (every bucket, for
        every service), sorted by site and bucket: ``site`` (categorical),
        ``bucket`` (its start, UTC), ``up_s``, ``late_s``, ``flapping_s``,
        ``down_s``, ``stopped_s``, ``unknown_s``. A row sums to the part of its
        bucket inside the window; time before a service's first beacon,
        missing, or ``unknown`` (a collector gap) is unknown.

    Examples
    --------
    >>> from rtt_topology.load import beacons_from_records
    >>> beacons, _ = beacons_from_records([
    ...     {"site": "api", "session": "s1", "event": "heartbeat", "ts": "2026-01-19T15:01:00Z"},
    ...     {"site": "api", "session": "s1", "event": "heartbeat", "ts": "2026-01-19T15:07:00Z"},
    ... ])
    >>> table = time_in_states(beacons, default_period_s=60, jitter=0, start="2026-01-19T15:00:00Z",
    ...                        end="2026-01-19T15:10:00Z", bucket="5min")
    >>> table[["bucket", "up_s", "late_s", "down_s", "unknown_s"]]
                         bucket  up_s  late_s  down_s  unknown_s
    0 2026-01-19 15:00:00+00:00  60.0    60.0   120.0       60.0
    1 2026-01-19 15:05:00+00:00  60.0    60.0   180.0        0.0
    """
    try:
        width = int(pd.Timedelta(bucket).value)
    except ValueError as exc:
        raise InputError(f"bucket must be a fixed duration such as '5min', not {bucket!r}") from exc
    if width <= 0:
        raise InputError(f"bucket must be positive, not {bucket!r}")
    prep, window, seg, listed = derived(
        beacons, profiles, start, end, grace_s, flapping_restarts, flapping_window_s,
        default_period_s, jitter, gap_rule(gaps), engine,
    )  # fmt: skip
    seg = clipped(seg, listed, window)
    if window.start is None or window.end is None or window.start >= window.end:
        n_buckets, first = 0, 0
    else:
        first = window.start // width * width
        n_buckets = (window.end - first + width - 1) // width
    # Cut every segment at bucket boundaries: a segment spanning k buckets gives k pieces.
    k0 = (seg.start - first) // width
    k1 = (seg.end - 1 - first) // width
    count = k1 - k0 + 1
    owner = np.repeat(np.arange(len(count)), count)
    offset = np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count)
    k = k0[owner] + offset
    lo = first + k * width
    pieces = Segments(
        seg.code[owner],
        np.maximum(seg.start[owner], lo),
        np.minimum(seg.end[owner], lo + width),
        seg.state[owner],
        seg.origin[owner],
    )
    cells = np.searchsorted(listed, pieces.code) * n_buckets + k
    by_state = _seconds_by_state(pieces, listed, cells, len(listed) * n_buckets)
    starts = first + np.arange(n_buckets, dtype=np.int64) * width
    if window.start is not None and window.end is not None:
        inside = np.minimum(starts + width, window.end) - np.maximum(starts, window.start)
    else:
        inside = np.zeros(0, np.int64)
    frame = pd.DataFrame(
        {
            "site": site_column(prep.names, np.repeat(listed, n_buckets)),
            "bucket": utc_index(np.tile(starts, len(listed))),
        }
    )
    span = np.tile(inside, len(listed)).astype(np.float64)
    for name, values in _state_columns(by_state, span).items():
        frame[name] = values
    return frame
