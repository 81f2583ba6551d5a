"""Build the liveness timeline: segments per beacon gap, the flapping overlay, the window cut."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from rtt_topology._memo import memoized
from rtt_topology._timestamps import Instant, instant_ns, utc_index
from rtt_topology.aggregate.engines import Engine, History, engine_input
from rtt_topology.aggregate.history import DEFAULT_PERIOD_S
from rtt_topology.analysis.liveness.gaps import GapRule, Gaps, gap_rule, prepared_gaps
from rtt_topology.analysis.liveness.prepared import (
    DEFAULT_JITTER,
    DOWN_CODE,
    FLAPPING_CODE,
    LATE_CODE,
    MISSING_CODE,
    NS,
    STATE_DTYPE,
    STOPPED_CODE,
    UNKNOWN_CODE,
    UP_CODE,
    Prepared,
    check_options,
    site_column,
)
from rtt_topology.errors import InputError
from rtt_topology.schemas import Profile

__all__ = ["Segments", "Window", "clipped", "derived", "member_rows", "timeline"]


class Segments(NamedTuple):
    """Liveness segments as parallel arrays, sorted by site code and start (ns)."""

    code: np.ndarray
    start: np.ndarray
    end: np.ndarray
    state: np.ndarray
    origin: np.ndarray  # the beacon that opened a down or stopped segment, else -1

    def take(self, index: np.ndarray) -> Segments:
        """Return the segments at ``index``."""
        return Segments(*(a[index] for a in self))


def _base_segments(prep: Prepared, end: int, member: np.ndarray | None) -> Segments:
    """Up, late, down, unknown and stopped segments from the beacons before ``end``, merged.

    ``member`` flags the beacons that open a silence of a collector gap: past
    ``U`` their silence is unknown instead of late and down (None: no gap).
    """
    rows = np.flatnonzero(prep.ts < end)
    if not len(rows):
        return _empty()
    code, ts, shut = prep.code[rows], prep.ts[rows], prep.shutdown[rows]
    gap = None if member is None else member[rows]
    new_site = np.r_[True, code[1:] != code[:-1]]
    # The next beacon of the service, cut at the end; not the next row: rows between
    # two kept beacons of a reduced history change nothing.
    following = np.minimum(prep.following[rows], end)
    period = np.round(prep.period_s * NS).astype(np.int64)[code]
    grace = np.round(prep.grace_s * NS).astype(np.int64)[code]
    up_for = np.round(prep.up_s * NS).astype(np.int64)[code]
    span = following - ts
    # Pieces start only where something changes: a site's first beacon, a silence longer
    # than the period, a shutdown, and the beacon after those; each ends where the next
    # piece of its site starts. Beacons inside an up run give no row (and may be absent:
    # the row before a kept beacon is silent exactly when the beacon before it is).
    silent = shut | (span > up_for)
    up = ~shut & (new_site | np.r_[True, silent[:-1]])
    stop = shut & (span > 0)
    late = ~shut & (span > up_for) & (period + grace > up_for)
    down = ~shut & (span > period + grace)
    count = up.astype(np.int64) + stop + late + down
    # An unknown piece takes the place of late and down: never more pieces than before.
    unknown = None if gap is None else gap & (span > up_for)
    if unknown is not None:
        late &= ~unknown
        down &= ~unknown
        count = up.astype(np.int64) + stop + unknown + late + down
    first = np.cumsum(count) - count
    n = int(first[-1] + count[-1])
    start = np.empty(n, np.int64)
    state = np.empty(n, np.int64)
    origin = np.empty(n, np.int64)
    after_up = first + up
    pieces = [
        (up, first, ts, UP_CODE),
        (stop, after_up, ts, STOPPED_CODE),
        (late, after_up, ts + up_for, LATE_CODE),
        (down, after_up + late, ts + period + grace, DOWN_CODE),
    ]
    if unknown is not None:
        pieces.append((unknown, after_up, ts + up_for, UNKNOWN_CODE))
    for mask, offset, begins, value in pieces:
        at = offset[mask]
        start[at] = begins[mask]
        state[at] = value
        origin[at] = -1 if value == UP_CODE else rows[mask]
    piece_code = np.repeat(code, count)
    stop_at = np.r_[start[1:], end]
    stop_at[np.r_[piece_code[1:] != piece_code[:-1], True]] = end
    segments = Segments(piece_code, start, stop_at, state, origin)
    return _merge(segments.take(np.flatnonzero(stop_at > start)))


def _empty() -> Segments:
    return Segments(*(np.zeros(0, np.int64) for _ in range(5)))


def _interleave(a: Segments, b: Segments) -> Segments:
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
    return Segments(*out)


def _merge(seg: Segments) -> Segments:
    """Merge consecutive segments of one site that have the same state."""
    n = len(seg.code)
    if not n:
        return seg
    keep = np.r_[True, (seg.code[1:] != seg.code[:-1]) | (seg.state[1:] != seg.state[:-1])]
    kept = np.flatnonzero(keep)
    last = np.r_[kept[1:], n] - 1
    return Segments(
        seg.code[kept], seg.start[kept], seg.end[last], seg.state[kept], seg.origin[kept]
    )


def _flapping(prep: Prepared, end: int, limit: int, window_s: float) -> Segments:
    """Return the periods where more than ``limit`` restarts fall in the trailing window."""
    keep = prep.restart_ts < end
    code, ts = prep.restart_code[keep], prep.restart_ts[keep]
    window = round(window_s * NS)
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
    return Segments(
        code[first], starts[first], ends[last], np.full(n, FLAPPING_CODE), np.full(n, -1, np.int64)
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


def _overlay(seg: Segments, flap: Segments) -> Segments:
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
    state = np.where(flapping & ((state == UP_CODE) | (state == LATE_CODE)), FLAPPING_CODE, state)
    last = np.r_[cut_code[1:] != cut_code[:-1], True]
    piece_end = np.where(last, hi[cut_code], np.r_[cut_t[1:], 0])
    pieces = _merge(Segments(cut_code, cut_t, piece_end, state, sub.origin[base]))
    return _interleave(seg.take(np.flatnonzero(~hit)), pieces)


@dataclass(frozen=True)
class Window:
    """The window ``[start, end)`` in ns; a bound is None when neither given nor found."""

    start: int | None
    end: int | None


def _window(prep: Prepared, start: Instant | None, end: Instant | None) -> Window:
    lo = instant_ns(start, "start")
    hi = instant_ns(end, "end")
    lo = prep.data_start if lo is None else lo
    hi = prep.data_end if hi is None else hi
    if lo is not None and hi is not None and lo > hi:
        raise InputError("start must not be after end")
    return Window(lo, hi)


def member_rows(prep: Prepared, gaps: Gaps) -> np.ndarray | None:
    """Flag, per prepared beacon, whether it opens a gap member's silence (None: no gap)."""
    if not len(gaps.member_row):
        return None
    member = np.zeros(len(prep.ts), bool)
    member[gaps.member_row] = True
    return member


def _history(
    prep: Prepared, gaps: Gaps, window: Window, limit: int, window_s: float
) -> tuple[Segments, np.ndarray]:
    """Full (unclipped) merged segments before the window end, and the listed services."""
    if window.end is None:
        empty = _empty()
        return empty, np.flatnonzero(prep.service & prep.declared)
    base = _base_segments(prep, window.end, member_rows(prep, gaps))
    seg = _overlay(base, _flapping(prep, window.end, limit, window_s))
    seen = np.zeros(len(prep.names), bool)
    seen[seg.code] = True
    seen[prep.code[prep.ts < window.end]] = True
    return seg, np.flatnonzero(prep.service & (seen | prep.declared))


def clipped(seg: Segments, listed: np.ndarray, window: Window) -> Segments:
    """Segments cut to the window, plus a missing segment for declared services never seen."""
    if window.start is None or window.end is None or window.start >= window.end:
        return seg.take(np.zeros(0, np.int64))
    has = np.zeros(len(listed) and int(listed.max()) + 1, bool)
    has[seg.code] = True
    missing = listed[~has[listed]]
    seg = seg.take(np.flatnonzero(seg.end > window.start))
    seg = seg._replace(start=np.maximum(seg.start, window.start))
    n = len(missing)
    extra = Segments(
        missing,
        np.full(n, window.start, np.int64),
        np.full(n, window.end, np.int64),
        np.full(n, MISSING_CODE),
        np.full(n, -1, np.int64),
    )
    return _interleave(seg, extra)


def timeline(
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
    r"""Return the piecewise-constant liveness state of every service over a window.

    Parameters
    ----------
    beacons
        A beacon table, or a :class:`~rtt_topology.aggregate.engines.History`.
    profiles
        Profiles keyed by site (declared periods; missing services).
    start, end
        The window ``[start, end)``, timezone-aware; default the first and the
        last beacon of the table. Beacons before ``start`` still set the state
        at ``start``; beacons at or after ``end`` are ignored.
    grace_s, jitter, flapping_restarts, flapping_window_s, default_period_s, gaps, engine
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
    prep, window, seg, listed = derived(
        beacons, profiles, start, end, grace_s, flapping_restarts, flapping_window_s,
        default_period_s, jitter, gap_rule(gaps), engine,
    )  # fmt: skip
    return _timeline_frame(prep, clipped(seg, listed, window))


def _timeline_frame(prep: Prepared, seg: Segments) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site": site_column(prep.names, seg.code),
            "start": utc_index(seg.start),
            "end": utc_index(seg.end),
            "state": pd.Categorical.from_codes(seg.state, dtype=STATE_DTYPE),
        }
    )


@memoized(copy=False)
def derived(
    beacons: pd.DataFrame | History,
    profiles: Mapping[str, Profile] | None,
    start: Instant | None,
    end: Instant | None,
    grace_s: float | None,
    flapping_restarts: int,
    flapping_window_s: float,
    default_period_s: float,
    jitter: float = 0.0,
    rule: GapRule | None = None,
    engine: Engine = "auto",
) -> tuple[Prepared, Window, Segments, np.ndarray]:
    """Return the arrays, the window, the unclipped segments and the listed services."""
    check_options(grace_s, flapping_restarts, flapping_window_s, jitter)
    with engine_input(beacons, engine) as data:
        prep, gaps = prepared_gaps(data, profiles, grace_s, default_period_s, jitter, rule)
    window = _window(prep, start, end)
    seg, listed = _history(prep, gaps, window, flapping_restarts, flapping_window_s)
    return prep, window, seg, listed
