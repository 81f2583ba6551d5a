"""Reduce a beacon table to the sorted arrays liveness works on, and define the states."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rtt_topology._memo import memoized
from rtt_topology.aggregate.history import cluster_sites, periods, restarts
from rtt_topology.columns import validate_beacon_frame
from rtt_topology.errors import InputError
from rtt_topology.schemas import Profile

__all__ = [
    "DEFAULT_JITTER",
    "DOWN",
    "DOWN_CODE",
    "FLAPPING",
    "FLAPPING_CODE",
    "LATE",
    "LATE_CODE",
    "MISSING",
    "MISSING_CODE",
    "NS",
    "STATES",
    "STATE_DTYPE",
    "STOPPED",
    "STOPPED_CODE",
    "UNKNOWN",
    "UNKNOWN_CODE",
    "UP",
    "UP_CODE",
    "Prepared",
    "check_options",
    "prepare",
    "site_column",
]

#: The liveness states, from the mildest to the most severe (their precedence).
STATES: tuple[str, ...] = ("up", "late", "flapping", "down", "unknown", "stopped", "missing")
UP, LATE, FLAPPING, DOWN, UNKNOWN, STOPPED, MISSING = STATES
#: The ordered categorical dtype of every ``state`` column.
STATE_DTYPE = pd.CategoricalDtype(list(STATES), ordered=True)
#: The code of each state in the arrays: its position in :data:`STATES`.
UP_CODE, LATE_CODE, FLAPPING_CODE, DOWN_CODE, UNKNOWN_CODE, STOPPED_CODE, MISSING_CODE = range(
    len(STATES)
)
#: Nanoseconds per second.
NS = 1_000_000_000
#: Fraction of its period a beacon may arrive late and keep its service up.
DEFAULT_JITTER = 0.1
_SHUTDOWN = "shutdown"


@dataclass(frozen=True)
class Prepared:
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
    source: np.ndarray  # per beacon, source code (the collector file)
    sources: np.ndarray  # source name per source code
    cluster: np.ndarray  # per code: the profile's ``cluster`` code, -1 when none
    clusters: np.ndarray  # cluster name per cluster code
    events: np.ndarray  # event name per event code
    restart_code: np.ndarray  # per restart of a service, sorted with restart_ts
    restart_ts: np.ndarray
    data_start: int | None  # first and last ts of the whole table (clusters included)
    data_end: int | None


def check_options(
    grace_s: float | None, flapping_restarts: int, window_s: float, jitter: float = 0.0
) -> None:
    """Raise :class:`~rtt_topology.errors.InputError` for an option out of its range."""
    if grace_s is not None and not grace_s >= 0:
        raise InputError(f"grace_s must be >= 0, not {grace_s}")
    if not jitter >= 0:
        raise InputError(f"jitter must be >= 0, not {jitter}")
    if flapping_restarts < 0:
        raise InputError(f"flapping_restarts must be >= 0, not {flapping_restarts}")
    if not window_s > 0:
        raise InputError(f"flapping_window_s must be positive, not {window_s}")


@memoized(copy=False)
def prepare(
    beacons: pd.DataFrame,
    profiles: Mapping[str, Profile] | None,
    grace_s: float | None,
    default_period_s: float,
    jitter: float,
) -> Prepared:
    """Return the arrays liveness needs from one beacon table (shared inside ``reuse()``)."""
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
    source = beacons["source"].cat.codes.to_numpy()
    sources = np.asarray(beacons["source"].cat.categories.astype(str), dtype=object)
    keep = service[code]
    if not keep.all():
        code, ts, event = code[keep], ts[keep], event[keep]
        session, source = session[keep], source[keep]
    if len(code) > 1 and not _is_sorted(code, ts):
        order = np.lexsort((ts, code))
        code, ts, event = code[order], ts[order], event[order]
        session, source = session[order], source[order]
    shutdown_code = np.flatnonzero(events == _SHUTDOWN)
    shutdown = event == shutdown_code[0] if len(shutdown_code) else np.zeros(len(code), bool)

    cluster, clusters = _profile_clusters(names, profiles)

    found = restarts(beacons)
    r_code = remap[found["site"].cat.codes.to_numpy()] if len(found) else np.zeros(0, np.int64)
    r_ts = found["ts"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    r_keep = service[r_code]
    r_code, r_ts = r_code[r_keep], r_ts[r_keep]
    if len(r_code) > 1 and not _is_sorted(r_code, r_ts):
        order = np.lexsort((r_ts, r_code))
        r_code, r_ts = r_code[order], r_ts[order]
    return Prepared(
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
        source=source,
        sources=sources,
        cluster=cluster,
        clusters=clusters,
        events=events,
        restart_code=r_code,
        restart_ts=r_ts,
        data_start=data[0],
        data_end=data[1],
    )


def _profile_clusters(
    names: np.ndarray, profiles: Mapping[str, Profile] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Per site code, the code of the ``cluster`` its profile declares (-1 when none)."""
    declared: dict[str, str] = {}
    for site, profile in (profiles or {}).items():
        value = (profile.model_extra or {}).get("cluster")
        if isinstance(value, str) and value:
            declared[str(site)] = value
    clusters = np.asarray(sorted(set(declared.values())), dtype=object)
    lookup = {name: i for i, name in enumerate(clusters)}
    cluster = np.asarray([lookup.get(declared.get(n, ""), -1) for n in names], dtype=np.int64)
    return cluster, clusters


def _is_sorted(code: np.ndarray, ts: np.ndarray) -> bool:
    step = np.diff(code)
    return bool((step >= 0).all() and (np.diff(ts)[step == 0] >= 0).all())


def site_column(names: np.ndarray, code: np.ndarray) -> pd.Categorical:
    """Return the categorical site column of some codes, with only the sites they use."""
    used = np.flatnonzero(np.bincount(code, minlength=len(names)))
    compact = np.zeros(len(names), np.int64)
    compact[used] = np.arange(len(used))
    return pd.Categorical.from_codes(
        compact[code], categories=pd.Index(names[used], dtype="str"), validate=False
    )
