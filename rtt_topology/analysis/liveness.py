"""Tell whether each service is alive, at any moment, and how its state changed over time.

The semantics follow healthchecks.io (period and grace) and Uptime Kuma (up, down,
pending, maintenance). Each service has a **period** P: its profile's
``heartbeat_interval_s``, else the period inferred from its beacons
(:func:`rtt_topology.aggregate.history.periods`), else ``default_period_s`` (60 s); and a
**grace** G: ``grace_s`` when given (one value for every service), else one period;
and a **jitter** allowance j (default 0.1): beacons arrive a little before or after
their period, so a service stays up until ``U = min(P * (1 + j), P + G)``.
Any beacon of a service is a sign of life. A service's **age** at a time ``t`` is
``t`` minus its last beacon at or before ``t``; beacons after ``t`` are ignored,
so the state at any past moment can be asked.

==========  =================================================================
state       when (first match, top to bottom: the precedence)
==========  =================================================================
missing     declared in a profile, no beacon at or before ``t``
stopped     the last beacon is a ``shutdown``: a planned stop, not an alarm
down        age >= P + G (and the last beacon is not a ``shutdown``)
flapping    more than ``flapping_restarts`` restarts
            (:func:`rtt_topology.aggregate.history.restarts`) in the ``flapping_window_s``
            seconds ending at ``t``; it overrides up and late only
late        U <= age < P + G
up          age < U
==========  =================================================================

:data:`STATES` lists them from the mildest to the most severe, which is also
the order of the categorical ``state`` columns (``max()`` gives the worst).
Intervals are half-open, as in healthchecks.io: a service becomes late at exactly
``last beacon + U``. Whether a service is *undeclared* (beacons, no profile) is a
separate boolean column of :func:`states`, not a state; without profiles it is
unknown (``<NA>``) and nothing is missing.

A window ``[start, end)`` (:func:`timeline` and what derives from it) defaults to
the first and the last beacon of the table; being half-open, it leaves out a
beacon exactly at ``end``, which :func:`states` at ``end`` counts.

Which services: the sites of the beacon table, except clusters (sites that send
only ``cluster_heartbeat``, :func:`rtt_topology.aggregate.history.cluster_sites`), and the
sites declared by a profile. Periods, restarts and clusters are computed once
on the whole table given, so a state at ``t`` and the :func:`timeline` agree.

The history of states is a piecewise-constant :func:`timeline`: after each beacon
``b`` of a service, with ``b'`` its next beacon (or the window end), the service
is stopped on ``[b, b')`` if ``b`` is a shutdown, else up on ``[b, b + U)``, late on
``[b + U, b + P + G)`` and down on ``[b + P + G, b')``, each cut at ``b'``; equal
consecutive states are merged, and flapping replaces up and late while the
rolling restart count exceeds the limit. Segments are generated only where a
gap exceeds ``U`` (numpy over the whole table), never one row per beacon: the
jitter allowance is what keeps beacons a second or two behind their period from
showing as short late segments.
:func:`flips`, :func:`downtime`, :func:`uptime` and :func:`time_in_states`
are derived from the timeline.

Tables with one row per service have a ``str`` site column; tables with several
rows per service (timeline, flips, downtime, time_in_states) have a categorical
one, as the beacon table does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from rtt_topology._memo import memoized
from rtt_topology._timestamps import Instant, instant_ns, utc_index
from rtt_topology.aggregate.history import DEFAULT_PERIOD_S, cluster_sites, periods, restarts
from rtt_topology.columns import validate_beacon_frame
from rtt_topology.errors import InputError
from rtt_topology.schemas import Profile

__all__ = [
    "DEFAULT_JITTER",
    "DOWN",
    "FLAPPING",
    "LATE",
    "MISSING",
    "STATES",
    "STATE_DTYPE",
    "STOPPED",
    "UP",
    "downtime",
    "flips",
    "restarts",
    "states",
    "time_in_states",
    "timeline",
    "uptime",
]

#: The liveness states, from the mildest to the most severe (their precedence).
STATES: tuple[str, ...] = ("up", "late", "flapping", "down", "stopped", "missing")
UP, LATE, FLAPPING, DOWN, STOPPED, MISSING = STATES
#: The ordered categorical dtype of every ``state`` column.
STATE_DTYPE = pd.CategoricalDtype(list(STATES), ordered=True)

_UP, _LATE, _FLAP, _DOWN, _STOP, _MISS = range(len(STATES))
_SHUTDOWN = "shutdown"
_NS = 1_000_000_000
#: Fraction of its period a beacon may arrive late and keep its service up.
DEFAULT_JITTER = 0.1
_STATE_COLUMNS = ["up_s", "late_s", "flapping_s", "down_s", "stopped_s", "unknown_s"]


@dataclass(frozen=True)
class _Prepared:
    """The beacon table reduced to the arrays liveness needs, in one sorted code space."""

    names: np.ndarray  # site name per code, sorted (object array of str)
    service: np.ndarray  # per code: a service (not a cluster)
    declared: np.ndarray  # per code: has a profile
    profiles_given: bool
    period_s: np.ndarray  # per code, float seconds
    period_from: np.ndarray  # per code, object array of str
    grace_s: np.ndarray  # per code
    up_s: np.ndarray  # per code: how long a beacon keeps a service up, P * (1 + jitter)
    code: np.ndarray  # per beacon of a service, int64, sorted with ts
    ts: np.ndarray  # per beacon, int64 ns
    shutdown: np.ndarray  # per beacon, bool
    event: np.ndarray  # per beacon, event code
    session: np.ndarray  # per beacon, session code
    events: np.ndarray  # event name per event code
    restart_code: np.ndarray  # per restart of a service, sorted with restart_ts
    restart_ts: np.ndarray
    data_start: int | None  # first and last ts of the whole table (clusters included)
    data_end: int | None


class _Segments(NamedTuple):
    code: np.ndarray
    start: np.ndarray
    end: np.ndarray
    state: np.ndarray
    origin: np.ndarray  # the beacon that opened a down or stopped segment, else -1

    def take(self, index: np.ndarray) -> _Segments:
        return _Segments(*(a[index] for a in self))


def _check_options(
    grace_s: float | None, flapping_restarts: int, window_s: float, jitter: float = 0.0
) -> None:
    if grace_s is not None and not grace_s >= 0:
        raise InputError(f"grace_s must be >= 0, not {grace_s}")
    if not jitter >= 0:
        raise InputError(f"jitter must be >= 0, not {jitter}")
    if flapping_restarts < 0:
        raise InputError(f"flapping_restarts must be >= 0, not {flapping_restarts}")
    if not window_s > 0:
        raise InputError(f"flapping_window_s must be positive, not {window_s}")


@memoized(copy=False)
def _prepare(
    beacons: pd.DataFrame,
    profiles: Mapping[str, Profile] | None,
    grace_s: float | None,
    default_period_s: float,
    jitter: float,
) -> _Prepared:
    validate_beacon_frame(beacons)
    per = periods(beacons, profiles, default_s=default_period_s)
    categories = np.asarray(beacons["site"].cat.categories.astype(str), dtype=object)
    names = np.asarray(sorted(set(categories) | set(profiles or {})), dtype=object)
    # Sorted categories map monotonically into the sorted union: row order survives.
    remap = np.searchsorted(names, categories).astype(np.int64)
    service = ~np.isin(names, cluster_sites(beacons))
    per = per.reindex(names)
    period_s = per["period_s"].fillna(default_period_s).to_numpy(dtype=np.float64)
    period_from = per["period_from"].fillna("default").to_numpy(dtype=object)
    grace = period_s.copy() if grace_s is None else np.full(len(names), float(grace_s))
    # Jitter keeps a service up a little past its period; late never starts after down.
    up_s = np.minimum(period_s * (1.0 + jitter), period_s + grace)

    codes = beacons["site"].cat.codes.to_numpy()
    code = remap[codes] if len(codes) else np.zeros(0, np.int64)
    ts = beacons["ts"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    data = (int(ts.min()), int(ts.max())) if len(ts) else (None, None)
    event = beacons["event"].cat.codes.to_numpy()
    events = np.asarray(beacons["event"].cat.categories.astype(str), dtype=object)
    session = beacons["session"].cat.codes.to_numpy()
    keep = service[code]
    if not keep.all():
        code, ts, event, session = code[keep], ts[keep], event[keep], session[keep]
    if len(code) > 1 and not _is_sorted(code, ts):
        order = np.lexsort((ts, code))
        code, ts, event, session = code[order], ts[order], event[order], session[order]
    shutdown_code = np.flatnonzero(events == _SHUTDOWN)
    shutdown = event == shutdown_code[0] if len(shutdown_code) else np.zeros(len(code), bool)

    found = restarts(beacons)
    r_code = remap[found["site"].cat.codes.to_numpy()] if len(found) else np.zeros(0, np.int64)
    r_ts = found["ts"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    r_keep = service[r_code]
    r_code, r_ts = r_code[r_keep], r_ts[r_keep]
    if len(r_code) > 1 and not _is_sorted(r_code, r_ts):
        order = np.lexsort((r_ts, r_code))
        r_code, r_ts = r_code[order], r_ts[order]
    return _Prepared(
        names=names,
        service=service,
        declared=np.isin(names, list(profiles or {})),
        profiles_given=profiles is not None,
        period_s=period_s,
        period_from=period_from,
        grace_s=grace,
        up_s=up_s,
        code=code,
        ts=ts,
        shutdown=shutdown,
        event=event,
        session=session,
        events=events,
        restart_code=r_code,
        restart_ts=r_ts,
        data_start=data[0],
        data_end=data[1],
    )


def _is_sorted(code: np.ndarray, ts: np.ndarray) -> bool:
    step = np.diff(code)
    return bool((step >= 0).all() and (np.diff(ts)[step == 0] >= 0).all())


def _undeclared(prep: _Prepared, codes: np.ndarray) -> pd.Series:
    values = ~prep.declared[codes]
    if prep.profiles_given:
        return pd.Series(values, dtype="boolean")
    return pd.Series(pd.array([pd.NA] * len(codes), dtype="boolean"))


def states(
    beacons: pd.DataFrame,
    profiles: Mapping[str, Profile] | None = None,
    *,
    at: Instant | None = None,
    grace_s: float | None = None,
    jitter: float = DEFAULT_JITTER,
    flapping_restarts: int = 3,
    flapping_window_s: float = 900.0,
    default_period_s: float = DEFAULT_PERIOD_S,
) -> pd.DataFrame:
    r"""Return the liveness state of every service at one moment.

    Parameters
    ----------
    beacons
        A beacon table (see :mod:`rtt_topology.columns`).
    profiles
        Profiles keyed by site: declared periods, missing services, the
        ``undeclared`` flag. Without them nothing is missing and ``undeclared``
        is ``<NA>``.
    at
        The moment (timezone-aware); only beacons with ``ts <= at`` count.
        Default: the last beacon of the table.
    grace_s
        Seconds after the period before a silent service is down, for every
        service; default one period.
    jitter
        Fraction of the period a beacon may be late and keep the service up
        (default 0.1): beacons arrive with jitter around their period.
    flapping_restarts
        A service restarted more than this many times in the window is flapping.
    flapping_window_s
        The window, in seconds, ending at ``at``.
    default_period_s
        The period of a service that neither declares nor shows one.

    Returns
    -------
    pandas.DataFrame
        One row per service seen up to ``at`` or declared, sorted by site:
        ``site`` (str), ``state`` (categorical, :data:`STATE_DTYPE`),
        ``undeclared`` (boolean), ``period_s``, ``period_from`` (declared,
        inferred, default), ``grace_s``, ``last_seen`` (UTC, NaT if never),
        ``last_event``, ``age_s`` (seconds from the last beacon to ``at``),
        ``restarts_in_window`` (restarts in ``(at - flapping_window_s, at]``),
        ``sessions`` (distinct sessions up to ``at``).

    Examples
    --------
    >>> from rtt_topology.load import beacons_from_records
    >>> from rtt_topology.schemas import Profile
    >>> beacons, _ = beacons_from_records([
    ...     {"site": "api", "session": "s1", "event": "heartbeat", "ts": "2026-01-19T15:00:00Z"},
    ...     {"site": "api", "session": "s1", "event": "heartbeat", "ts": "2026-01-19T15:01:00Z"},
    ...     {"site": "db", "session": "s2", "event": "shutdown", "ts": "2026-01-19T15:00:30Z"},
    ... ])
    >>> declared = {"api": Profile(rtt_version="1.0", supports=[], heartbeat_interval_s=60),
    ...             "cache": Profile(rtt_version="1.0", supports=[])}
    >>> table = states(beacons, declared, at="2026-01-19T15:02:30Z")
    >>> table[["site", "state", "undeclared", "age_s"]]
        site    state  undeclared  age_s
    0    api     late       False   90.0
    1  cache  missing       False    NaN
    2     db  stopped        True  120.0
    >>> states(beacons, declared, at="2026-01-19T15:03:00Z")["state"].tolist()
    ['down', 'missing', 'stopped']
    """
    _check_options(grace_s, flapping_restarts, flapping_window_s, jitter)
    prep = _prepare(beacons, profiles, grace_s, default_period_s, jitter)
    at_ns = instant_ns(at, "at")
    if at_ns is None:
        at_ns = prep.data_end
    n_codes = len(prep.names)
    rows = np.zeros(0, np.int64) if at_ns is None else np.flatnonzero(prep.ts <= at_ns)
    code = prep.code[rows]
    last = rows[np.flatnonzero(np.r_[code[1:] != code[:-1], True])] if len(rows) else rows
    seen = prep.code[last]
    last_ts = np.full(n_codes, np.iinfo(np.int64).min, dtype=np.int64)
    last_ts[seen] = prep.ts[last]
    last_event = np.full(n_codes, None, dtype=object)
    last_event[seen] = prep.events[prep.event[last]]
    shutdown = np.zeros(n_codes, bool)
    shutdown[seen] = prep.shutdown[last]
    key = code.astype(np.int64) << 32 | prep.session[rows].astype(np.int64)
    sessions = np.bincount(pd.unique(key) >> 32, minlength=n_codes)
    in_window = np.zeros(n_codes, np.int64)
    if at_ns is not None:
        window = round(flapping_window_s * _NS)
        r_mask = (prep.restart_ts <= at_ns) & (prep.restart_ts > at_ns - window)
        in_window = np.bincount(prep.restart_code[r_mask], minlength=n_codes)

    is_seen = np.zeros(n_codes, bool)
    is_seen[seen] = True
    listed = np.flatnonzero(prep.service & (is_seen | prep.declared))
    age = np.where(is_seen, (np.int64(at_ns or 0) - last_ts) / _NS, np.nan)[listed]
    period, grace = prep.period_s[listed], prep.grace_s[listed]
    state = np.select(
        [
            ~is_seen[listed],
            shutdown[listed],
            age >= period + grace,
            in_window[listed] > flapping_restarts,
            age >= prep.up_s[listed],
        ],
        [_MISS, _STOP, _DOWN, _FLAP, _LATE],
        _UP,
    )
    last_seen = utc_index(np.where(is_seen, last_ts, np.iinfo(np.int64).min)[listed])
    return pd.DataFrame(
        {
            "site": pd.Series(prep.names[listed], dtype="str"),
            "state": pd.Categorical.from_codes(state, dtype=STATE_DTYPE),
            "undeclared": _undeclared(prep, listed),
            "period_s": period,
            "period_from": pd.Series(prep.period_from[listed], dtype="str"),
            "grace_s": grace,
            "last_seen": last_seen,
            "last_event": pd.Series(last_event[listed], dtype="str"),
            "age_s": age,
            "restarts_in_window": in_window[listed].astype(np.int64),
            "sessions": sessions[listed].astype(np.int64),
        }
    )


# -- the timeline ---------------------------------------------------------------------------


def _base_segments(prep: _Prepared, end: int) -> _Segments:
    """Up, late, down and stopped segments from the beacons before ``end``, merged."""
    rows = np.flatnonzero(prep.ts < end)
    if not len(rows):
        return _empty()
    code, ts, shut = prep.code[rows], prep.ts[rows], prep.shutdown[rows]
    new_site = np.r_[True, code[1:] != code[:-1]]
    following = np.r_[ts[1:], end]
    following[np.r_[new_site[1:], True]] = end
    period = np.round(prep.period_s * _NS).astype(np.int64)[code]
    grace = np.round(prep.grace_s * _NS).astype(np.int64)[code]
    up_for = np.round(prep.up_s * _NS).astype(np.int64)[code]
    gap = following - ts
    # Pieces start only where something changes: a site's first beacon, a silence longer
    # than the period, a shutdown, and the beacon after those; each ends where the next
    # piece of its site starts. Beacons inside an up run give no row.
    silent = shut | (gap > up_for)
    up = ~shut & (new_site | np.r_[True, silent[:-1]])
    stop = shut & (gap > 0)
    late = ~shut & (gap > up_for) & (period + grace > up_for)
    down = ~shut & (gap > period + grace)
    count = up.astype(np.int64) + stop + late + down
    first = np.cumsum(count) - count
    n = int(first[-1] + count[-1])
    start = np.empty(n, np.int64)
    state = np.empty(n, np.int64)
    origin = np.empty(n, np.int64)
    for mask, offset, begins, value in (
        (up, first, ts, _UP),
        (stop, first + up, ts, _STOP),
        (late, first + up, ts + up_for, _LATE),
        (down, first + up + late, ts + period + grace, _DOWN),
    ):
        at = offset[mask]
        start[at] = begins[mask]
        state[at] = value
        origin[at] = -1 if value == _UP else rows[mask]
    piece_code = np.repeat(code, count)
    stop_at = np.r_[start[1:], end]
    stop_at[np.r_[piece_code[1:] != piece_code[:-1], True]] = end
    segments = _Segments(piece_code, start, stop_at, state, origin)
    return _merge(segments.take(np.flatnonzero(stop_at > start)))


def _empty() -> _Segments:
    return _Segments(*(np.zeros(0, np.int64) for _ in range(5)))


def _interleave(a: _Segments, b: _Segments) -> _Segments:
    """Join two sets of segments sorted by code whose codes never meet, keeping the order."""
    n = len(a.code) + len(b.code)
    at_a = np.arange(len(a.code)) + np.searchsorted(b.code, a.code)
    at_b = np.arange(len(b.code)) + np.searchsorted(a.code, b.code)
    out = []
    for x, y in zip(a, b, strict=True):
        joined = np.empty(n, np.int64)
        joined[at_a] = x
        joined[at_b] = y
        out.append(joined)
    return _Segments(*out)


def _merge(seg: _Segments) -> _Segments:
    """Merge consecutive segments of one site that have the same state."""
    n = len(seg.code)
    if not n:
        return seg
    keep = np.r_[True, (seg.code[1:] != seg.code[:-1]) | (seg.state[1:] != seg.state[:-1])]
    kept = np.flatnonzero(keep)
    last = np.r_[kept[1:], n] - 1
    return _Segments(
        seg.code[kept], seg.start[kept], seg.end[last], seg.state[kept], seg.origin[kept]
    )


def _flapping(prep: _Prepared, end: int, limit: int, window_s: float) -> _Segments:
    """Return the periods where more than ``limit`` restarts fall in the trailing window."""
    keep = prep.restart_ts < end
    code, ts = prep.restart_code[keep], prep.restart_ts[keep]
    window = round(window_s * _NS)
    # t flaps when restarts i-limit..i lie in (t - window, t]: t in [r_i, r_{i-limit} + window).
    if len(ts) <= limit:
        return _empty()
    i = np.arange(limit, len(ts))
    valid = code[i] == code[i - limit]
    starts, ends = ts[i], ts[i - limit] + window
    valid &= ends > starts
    code, starts, ends = code[i][valid], starts[valid], np.minimum(ends[valid], end)
    if not len(code):
        return _empty()
    # Starts and ends both grow within a site: a new period opens after a gap.
    opens = np.r_[True, (code[1:] != code[:-1]) | (starts[1:] > ends[:-1])]
    first = np.flatnonzero(opens)
    last = np.r_[first[1:], len(code)] - 1
    n = len(first)
    return _Segments(
        code[first], starts[first], ends[last], np.full(n, _FLAP), np.full(n, -1, np.int64)
    )


def _asof(a_code: np.ndarray, a_t: np.ndarray, b_code: np.ndarray, b_t: np.ndarray) -> np.ndarray:
    """For each b, the index of the last a of the same code with ``a_t <= b_t``, or -1."""
    n_a = len(a_code)
    order = np.lexsort(
        (np.r_[np.zeros(n_a, np.int8), np.ones(len(b_code), np.int8)],
         np.r_[a_t, b_t], np.r_[a_code, b_code])
    )  # fmt: skip
    is_a = order < n_a
    latest = np.maximum.accumulate(np.where(is_a, order, -1))
    found = np.empty(len(b_code), np.int64)
    found[order[~is_a] - n_a] = latest[~is_a]
    same = found >= 0
    same[same] = a_code[found[same]] == b_code[same]
    return np.where(same, found, -1)


def _overlay(seg: _Segments, flap: _Segments) -> _Segments:
    """Turn up and late into flapping inside the flapping periods."""
    if not len(flap.code):
        return seg
    hit = np.isin(seg.code, np.unique(flap.code))
    sub = seg.take(np.flatnonzero(hit))
    lo = np.full(int(sub.code.max()) + 1, np.iinfo(np.int64).max)
    np.minimum.at(lo, sub.code, sub.start)
    hi = np.zeros(len(lo), np.int64)
    np.maximum.at(hi, sub.code, sub.end)
    cut_code = np.r_[sub.code, flap.code, flap.code]
    cut_t = np.r_[sub.start, flap.start, flap.end]
    inside = (cut_t >= lo[cut_code]) & (cut_t < hi[cut_code])
    cut_code, cut_t = cut_code[inside], cut_t[inside]
    order = np.lexsort((cut_t, cut_code))
    cut_code, cut_t = cut_code[order], cut_t[order]
    fresh = np.r_[True, (cut_code[1:] != cut_code[:-1]) | (cut_t[1:] != cut_t[:-1])]
    cut_code, cut_t = cut_code[fresh], cut_t[fresh]
    base = _asof(sub.code, sub.start, cut_code, cut_t)
    in_flap = _asof(flap.code, flap.start, cut_code, cut_t)
    flapping = in_flap >= 0
    flapping[flapping] = cut_t[flapping] < flap.end[in_flap[flapping]]
    state = sub.state[base]
    state = np.where(flapping & ((state == _UP) | (state == _LATE)), _FLAP, state)
    last = np.r_[cut_code[1:] != cut_code[:-1], True]
    piece_end = np.where(last, hi[cut_code], np.r_[cut_t[1:], 0])
    pieces = _merge(_Segments(cut_code, cut_t, piece_end, state, sub.origin[base]))
    return _interleave(seg.take(np.flatnonzero(~hit)), pieces)


@dataclass(frozen=True)
class _Window:
    start: int | None
    end: int | None


def _window(prep: _Prepared, start: Instant | None, end: Instant | None) -> _Window:
    lo = instant_ns(start, "start")
    hi = instant_ns(end, "end")
    lo = prep.data_start if lo is None else lo
    hi = prep.data_end if hi is None else hi
    if lo is not None and hi is not None and lo > hi:
        raise InputError("start must not be after end")
    return _Window(lo, hi)


def _history(
    prep: _Prepared, window: _Window, limit: int, window_s: float
) -> tuple[_Segments, np.ndarray]:
    """Full (unclipped) merged segments before the window end, and the listed services."""
    if window.end is None:
        empty = _empty()
        return empty, np.flatnonzero(prep.service & prep.declared)
    seg = _overlay(_base_segments(prep, window.end), _flapping(prep, window.end, limit, window_s))
    seen = np.zeros(len(prep.names), bool)
    seen[seg.code] = True
    seen[prep.code[prep.ts < window.end]] = True
    return seg, np.flatnonzero(prep.service & (seen | prep.declared))


def _clipped(seg: _Segments, listed: np.ndarray, window: _Window) -> _Segments:
    """Segments cut to the window, plus a missing segment for declared services never seen."""
    if window.start is None or window.end is None or window.start >= window.end:
        return seg.take(np.zeros(0, np.int64))
    has = np.zeros(len(listed) and int(listed.max()) + 1, bool)
    has[seg.code] = True
    missing = listed[~has[listed]]
    seg = seg.take(np.flatnonzero(seg.end > window.start))
    seg = seg._replace(start=np.maximum(seg.start, window.start))
    n = len(missing)
    extra = _Segments(
        missing,
        np.full(n, window.start, np.int64),
        np.full(n, window.end, np.int64),
        np.full(n, _MISS),
        np.full(n, -1, np.int64),
    )
    return _interleave(seg, extra)


def _site_column(names: np.ndarray, code: np.ndarray) -> pd.Categorical:
    used = np.flatnonzero(np.bincount(code, minlength=len(names)))
    compact = np.zeros(len(names), np.int64)
    compact[used] = np.arange(len(used))
    return pd.Categorical.from_codes(
        compact[code], categories=pd.Index(names[used], dtype="str"), validate=False
    )


def timeline(
    beacons: pd.DataFrame,
    profiles: Mapping[str, Profile] | None = None,
    *,
    start: Instant | None = None,
    end: Instant | None = None,
    grace_s: float | None = None,
    jitter: float = DEFAULT_JITTER,
    flapping_restarts: int = 3,
    flapping_window_s: float = 900.0,
    default_period_s: float = DEFAULT_PERIOD_S,
) -> pd.DataFrame:
    r"""Return the piecewise-constant liveness state of every service over a window.

    Parameters
    ----------
    beacons
        A beacon table.
    profiles
        Profiles keyed by site (declared periods; missing services).
    start, end
        The window ``[start, end)``, timezone-aware; default the first and the
        last beacon of the table. Beacons before ``start`` still set the state
        at ``start``; beacons at or after ``end`` are ignored.
    grace_s, jitter, flapping_restarts, flapping_window_s, default_period_s
        As in :func:`states`.

    Returns
    -------
    pandas.DataFrame
        ``site`` (categorical), ``start``, ``end`` (UTC), ``state``
        (:data:`STATE_DTYPE`), sorted by site and start. Per site the rows are
        contiguous and never overlap; they cover ``[first beacon, end)`` cut to
        the window (nothing is known before a service's first beacon), and a
        declared service with no beacon before ``end`` has one ``missing`` row
        over the whole window. At any time ``t`` a row covers, its state is the
        one :func:`states` gives ``at=t``.

    Examples
    --------
    >>> from rtt_topology.load import beacons_from_records
    >>> beacons, _ = beacons_from_records([
    ...     {"site": "api", "session": "s1", "event": "heartbeat", "ts": "2026-01-19T15:00:00Z"},
    ...     {"site": "api", "session": "s1", "event": "heartbeat", "ts": "2026-01-19T15:01:00Z"},
    ...     {"site": "api", "session": "s1", "event": "shutdown", "ts": "2026-01-19T15:04:00Z"},
    ...     {"site": "api", "session": "s2", "event": "startup", "ts": "2026-01-19T15:05:00Z"},
    ... ])
    >>> timeline(beacons, default_period_s=60, jitter=0, end="2026-01-19T15:06:30Z")
      site                     start                       end    state
    0  api 2026-01-19 15:00:00+00:00 2026-01-19 15:02:00+00:00       up
    1  api 2026-01-19 15:02:00+00:00 2026-01-19 15:03:00+00:00     late
    2  api 2026-01-19 15:03:00+00:00 2026-01-19 15:04:00+00:00     down
    3  api 2026-01-19 15:04:00+00:00 2026-01-19 15:05:00+00:00  stopped
    4  api 2026-01-19 15:05:00+00:00 2026-01-19 15:06:00+00:00       up
    5  api 2026-01-19 15:06:00+00:00 2026-01-19 15:06:30+00:00     late
    """
    prep, window, seg, listed = _derived(
        beacons, profiles, start, end, grace_s, flapping_restarts, flapping_window_s,
        default_period_s, jitter,
    )  # fmt: skip
    return _timeline_frame(prep, _clipped(seg, listed, window))


def _timeline_frame(prep: _Prepared, seg: _Segments) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site": _site_column(prep.names, seg.code),
            "start": utc_index(seg.start),
            "end": utc_index(seg.end),
            "state": pd.Categorical.from_codes(seg.state, dtype=STATE_DTYPE),
        }
    )


@memoized(copy=False)
def _derived(
    beacons: pd.DataFrame,
    profiles: Mapping[str, Profile] | None,
    start: Instant | None,
    end: Instant | None,
    grace_s: float | None,
    flapping_restarts: int,
    flapping_window_s: float,
    default_period_s: float,
    jitter: float = 0.0,
) -> tuple[_Prepared, _Window, _Segments, np.ndarray]:
    _check_options(grace_s, flapping_restarts, flapping_window_s, jitter)
    prep = _prepare(beacons, profiles, grace_s, default_period_s, jitter)
    window = _window(prep, start, end)
    seg, listed = _history(prep, window, flapping_restarts, flapping_window_s)
    return prep, window, seg, listed


def flips(
    beacons: pd.DataFrame,
    profiles: Mapping[str, Profile] | None = None,
    *,
    start: Instant | None = None,
    end: Instant | None = None,
    grace_s: float | None = None,
    jitter: float = DEFAULT_JITTER,
    flapping_restarts: int = 3,
    flapping_window_s: float = 900.0,
    default_period_s: float = DEFAULT_PERIOD_S,
) -> pd.DataFrame:
    r"""Return every change of state inside the window.

    Parameters
    ----------
    beacons, profiles, start, end
        As in :func:`timeline`.
    grace_s, jitter, flapping_restarts, flapping_window_s, default_period_s
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
    prep, window, seg, listed = _derived(
        beacons, profiles, start, end, grace_s, flapping_restarts, flapping_window_s,
        default_period_s, jitter,
    )  # fmt: skip
    seg = _clipped(seg, listed, window)
    change = np.flatnonzero(seg.code[1:] == seg.code[:-1]) + 1
    return pd.DataFrame(
        {
            "site": _site_column(prep.names, seg.code[change]),
            "ts": utc_index(seg.start[change]),
            "from_state": pd.Categorical.from_codes(seg.state[change - 1], dtype=STATE_DTYPE),
            "to_state": pd.Categorical.from_codes(seg.state[change], dtype=STATE_DTYPE),
        }
    )


def downtime(
    beacons: pd.DataFrame,
    profiles: Mapping[str, Profile] | None = None,
    *,
    start: Instant | None = None,
    end: Instant | None = None,
    grace_s: float | None = None,
    jitter: float = DEFAULT_JITTER,
    flapping_restarts: int = 3,
    flapping_window_s: float = 900.0,
    default_period_s: float = DEFAULT_PERIOD_S,
) -> pd.DataFrame:
    r"""Return the episodes in which services were down (crash) or stopped (planned).

    An episode is one ``down`` or ``stopped`` row of the :func:`timeline`
    that meets the window. A down episode starts when the silence exceeded the
    period and the grace (``last_beacon + period + grace``), not when the
    process died: ``last_beacon`` bounds that moment from below. A stopped
    episode starts at the ``shutdown`` beacon. A deploy that sends ``shutdown``
    then ``startup`` gives a short planned episode, never a crash.

    Parameters
    ----------
    beacons, profiles, start, end
        As in :func:`timeline`.
    grace_s, jitter, flapping_restarts, flapping_window_s, default_period_s
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
    prep, window, seg, _ = _derived(
        beacons, profiles, start, end, grace_s, flapping_restarts, flapping_window_s,
        default_period_s, jitter,
    )  # fmt: skip
    if window.start is None or window.end is None:
        pick = np.zeros(0, np.int64)
    else:
        bad = (seg.state == _DOWN) | (seg.state == _STOP)
        pick = np.flatnonzero(bad & (seg.end > window.start) & (seg.start < window.end))
    seg = seg.take(pick)
    ongoing = seg.end >= (window.end or 0)
    return pd.DataFrame(
        {
            "site": _site_column(prep.names, seg.code),
            "start": utc_index(seg.start),
            "end": utc_index(np.where(ongoing, np.iinfo(np.int64).min, seg.end)),
            "duration_s": (seg.end - seg.start) / _NS,
            "kind": pd.Series(np.where(seg.state == _DOWN, "crash", "planned"), dtype="str"),
            "last_beacon": utc_index(prep.ts[seg.origin]),
            "last_event": pd.Series(prep.events[prep.event[seg.origin]], dtype="str"),
        }
    )


def _seconds_by_state(
    seg: _Segments, listed: np.ndarray, cells: np.ndarray, n_cells: int
) -> np.ndarray:
    """Nanoseconds per (cell, state): ``cells`` numbers each segment's cell."""
    total = np.bincount(
        cells * len(STATES) + seg.state,
        weights=(seg.end - seg.start).astype(np.float64),
        minlength=n_cells * len(STATES),
    )
    return total.reshape(n_cells, len(STATES))


def _state_columns(by_state: np.ndarray, span: np.ndarray) -> dict[str, np.ndarray]:
    """Seconds per state; missing time and time before the first beacon are unknown."""
    known = by_state[:, :_MISS]
    columns = {name: known[:, i] / _NS for i, name in enumerate(_STATE_COLUMNS[:-1])}
    columns["unknown_s"] = (span - known.sum(axis=1)) / _NS
    return columns


def uptime(
    beacons: pd.DataFrame,
    profiles: Mapping[str, Profile] | None = None,
    *,
    start: Instant | None = None,
    end: Instant | None = None,
    grace_s: float | None = None,
    jitter: float = DEFAULT_JITTER,
    flapping_restarts: int = 3,
    flapping_window_s: float = 900.0,
    default_period_s: float = DEFAULT_PERIOD_S,
) -> pd.DataFrame:
    r"""Return the time each service spent in each state over a window, and its uptime.

    ``uptime_pct = (up + late + flapping) / (observed - stopped) * 100``, where
    observed time is the window minus the unknown time (before a service's
    first beacon, or missing): planned stops count neither for nor against.

    Parameters
    ----------
    beacons, profiles, start, end
        As in :func:`timeline`.
    grace_s, jitter, flapping_restarts, flapping_window_s, default_period_s
        As in :func:`states`.

    Returns
    -------
    pandas.DataFrame
        One row per service, sorted by site: ``site`` (str), ``up_s``,
        ``late_s``, ``flapping_s``, ``down_s``, ``stopped_s``, ``unknown_s``
        (seconds, summing to the window length) and ``uptime_pct`` (``NaN``
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
    prep, window, seg, listed = _derived(
        beacons, profiles, start, end, grace_s, flapping_restarts, flapping_window_s,
        default_period_s, jitter,
    )  # fmt: skip
    seg = _clipped(seg, listed, window)
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
    beacons: pd.DataFrame,
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
) -> pd.DataFrame:
    r"""Return the seconds each service spent in each state, per time bucket.

    Parameters
    ----------
    beacons, profiles, start, end
        As in :func:`timeline`.
    grace_s, jitter, flapping_restarts, flapping_window_s, default_period_s
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
        bucket inside the window; time before a service's first beacon, or
        missing, is unknown.

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
    prep, window, seg, listed = _derived(
        beacons, profiles, start, end, grace_s, flapping_restarts, flapping_window_s,
        default_period_s, jitter,
    )  # fmt: skip
    seg = _clipped(seg, listed, window)
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
    pieces = _Segments(
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
            "site": _site_column(prep.names, np.repeat(listed, n_buckets)),
            "bucket": utc_index(np.tile(starts, len(listed))),
        }
    )
    span = np.tile(inside, len(listed)).astype(np.float64)
    for name, values in _state_columns(by_state, span).items():
        frame[name] = values
    return frame
