"""Tell the liveness state of every service at one moment (the states table)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import pandas as pd

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
)
from rtt_topology.analysis.liveness.reduced import last_in_history, sessions_in_history
from rtt_topology.schemas import Profile

__all__ = ["states"]


def _undeclared(prep: Prepared, codes: np.ndarray) -> pd.Series:
    values = ~prep.declared[codes]
    if prep.profiles_given:
        return pd.Series(values, dtype="boolean")
    return pd.Series(pd.array([pd.NA] * len(codes), dtype="boolean"))


class _Last(NamedTuple):
    """Per site code, what its last beacon at or before a moment says."""

    before: np.ndarray  # the prepared rows at or before the moment
    rows: np.ndarray  # per site seen, the last of them
    seen: np.ndarray  # the codes of the sites seen
    ts: np.ndarray  # per code, ns (int64 min when unseen)
    event: np.ndarray  # per code, the event name (None when unseen)
    shutdown: np.ndarray  # per code
    in_gap: np.ndarray  # per code: the beacon opens a collector gap silence


def _last_beacons(prep: Prepared, found: Gaps, at_ns: int | None) -> _Last:
    """Return the last prepared beacon of every site at or before ``at_ns``."""
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
    # A gap is known from the whole table, as periods and restarts are.
    in_gap = np.zeros(n_codes, bool)
    in_gap[seen] = np.isin(last, found.member_row)
    return _Last(rows, last, seen, last_ts, last_event, shutdown, in_gap)


def states(
    beacons: pd.DataFrame | History,
    profiles: Mapping[str, Profile] | None = None,
    *,
    at: Instant | None = None,
    grace_s: float | None = None,
    jitter: float = DEFAULT_JITTER,
    flapping_restarts: int = 3,
    flapping_window_s: float = 900.0,
    default_period_s: float = DEFAULT_PERIOD_S,
    gaps: bool | GapRule = True,
    engine: Engine = "auto",
) -> pd.DataFrame:
    r"""Return the liveness state of every service at one moment.

    Parameters
    ----------
    beacons
        A beacon table (see :mod:`rtt_topology.columns`), or a
        :class:`~rtt_topology.aggregate.engines.History` (a history store).
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
    gaps
        Find collector gaps (:func:`collector_gaps`) and show their members
        ``unknown``: True for the default :class:`GapRule`, a rule for other
        thresholds, False to treat every silence on its own.
    engine
        ``"pandas"`` walks every beacon in memory; ``"duckdb"`` asks DuckDB for
        the few beacons that change a state (a service's first and last,
        shutdowns, silences longer than its period and the beacon after each);
        ``"auto"`` picks DuckDB for a ``History`` and large tables. Both give
        the same table.

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
    check_options(grace_s, flapping_restarts, flapping_window_s, jitter)
    with engine_input(beacons, engine) as data:
        prep, found = prepared_gaps(
            data, profiles, grace_s, default_period_s, jitter, gap_rule(gaps)
        )
        at_ns = instant_ns(at, "at")
        if at_ns is None:
            at_ns = prep.data_end
        last = _last_beacons(prep, found, at_ns)
        if isinstance(data, History) and at_ns is not None:
            sessions = sessions_in_history(data, prep, at_ns)
            # A service whose last kept beacon is followed by another before ``at``: its
            # last beacon was no silence, so neither a shutdown nor a gap member.
            stale = last.seen[prep.following[last.rows] <= at_ns]
            if len(stale):
                last.ts[stale], last.event[stale] = last_in_history(data, prep, at_ns, stale)
                last.shutdown[stale] = last.in_gap[stale] = False
        else:
            key = prep.code[last.before].astype(np.int64) << 32 | prep.session[last.before].astype(
                np.int64
            )
            sessions = np.bincount(pd.unique(key) >> 32, minlength=len(prep.names))
    n_codes = len(prep.names)
    last_ts, last_event, shutdown, in_gap = last.ts, last.event, last.shutdown, last.in_gap
    in_window = np.zeros(n_codes, np.int64)
    if at_ns is not None:
        window = round(flapping_window_s * NS)
        r_mask = (prep.restart_ts <= at_ns) & (prep.restart_ts > at_ns - window)
        in_window = np.bincount(prep.restart_code[r_mask], minlength=n_codes)

    is_seen = np.zeros(n_codes, bool)
    is_seen[last.seen] = True
    listed = np.flatnonzero(prep.service & (is_seen | prep.declared))
    age = np.where(is_seen, (np.int64(at_ns or 0) - last_ts) / NS, np.nan)[listed]
    period, grace = prep.period_s[listed], prep.grace_s[listed]
    state = np.select(
        [
            ~is_seen[listed],
            shutdown[listed],
            in_gap[listed] & (age >= prep.up_s[listed]),
            age >= period + grace,
            in_window[listed] > flapping_restarts,
            age >= prep.up_s[listed],
        ],
        [MISSING_CODE, STOPPED_CODE, UNKNOWN_CODE, DOWN_CODE, FLAPPING_CODE, LATE_CODE],
        UP_CODE,
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
