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
    "LAST",
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
    "SiteArrays",
    "assemble",
    "check_options",
    "following_of",
    "prepare",
    "restart_arrays",
    "site_arrays",
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
#: The ``following`` of a service's last beacon: no next beacon.
LAST = np.iinfo(np.int64).max
SHUTDOWN = "shutdown"


@dataclass(frozen=True)
class Prepared:
    """The beacon table reduced to the arrays liveness needs, in one sorted code space.

    The per-beacon arrays hold every beacon of a service (a beacon table), or only
    those that change something (a :class:`~rtt_topology.aggregate.engines.History`,
    see :mod:`rtt_topology.analysis.liveness.reduced`): a service's first and last
    beacon, shutdowns, beacons followed by a silence longer than ``up_s``, and the
    beacon after each of those. Nothing reads the row after a beacon: its
    ``following`` says when the service spoke next.
    """

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
    following: np.ndarray  # per beacon: ns of the service's next beacon, LAST for its last
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


@dataclass(frozen=True)
class SiteArrays:
    """The per-site part of :class:`Prepared`: names, services, periods, thresholds, clusters."""

    names: np.ndarray
    service: np.ndarray
    declared: np.ndarray
    profiles_given: bool
    period_s: np.ndarray
    period_from: np.ndarray
    grace_s: np.ndarray
    up_s: np.ndarray
    cluster: np.ndarray
    clusters: np.ndarray


def site_arrays(
    seen: np.ndarray,
    per: pd.DataFrame,
    clustered: list[str],
    profiles: Mapping[str, Profile] | None,
    grace_s: float | None,
    default_period_s: float,
    jitter: float,
) -> SiteArrays:
    """Return the per-site arrays from the sites seen, their periods and the cluster sites.

    ``per`` is :func:`~rtt_topology.aggregate.history.periods`' table and
    ``clustered`` the result of :func:`~rtt_topology.aggregate.history.cluster_sites`.
    """
    names = np.asarray(sorted(set(seen) | set(profiles or {})), dtype=object)
    per = per.reindex(names)
    period_s = per["period_s"].fillna(default_period_s).to_numpy(dtype=np.float64)
    grace = period_s.copy() if grace_s is None else np.full(len(names), float(grace_s))
    cluster, clusters = _profile_clusters(names, profiles)
    return SiteArrays(
        names=names,
        service=~np.isin(names, clustered),
        declared=np.isin(names, list(profiles or {})),
        profiles_given=profiles is not None,
        period_s=period_s,
        period_from=per["period_from"].fillna("default").to_numpy(dtype=object),
        grace_s=grace,
        # Jitter keeps a service up a little past its period; late never starts after down.
        up_s=np.minimum(period_s * (1.0 + jitter), period_s + grace),
        cluster=cluster,
        clusters=clusters,
    )


def restart_arrays(
    found: pd.DataFrame, sites: SiteArrays, remap: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Return the code and ts (ns) of the restarts of services, sorted by code and ts.

    ``found`` is :func:`~rtt_topology.aggregate.history.restarts`' table; ``remap``
    maps its site codes to the sorted names (None: look its sites up by name).
    """
    if not len(found):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if remap is not None:
        code = remap[found["site"].cat.codes.to_numpy()]
    else:
        code = np.searchsorted(sites.names, found["site"].astype(str).to_numpy(dtype=object))
    code = np.asarray(code, dtype=np.int64)
    ts = found["ts"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    keep = sites.service[code]
    code, ts = code[keep], ts[keep]
    if len(code) > 1 and not _is_sorted(code, ts):
        order = np.lexsort((ts, code))
        code, ts = code[order], ts[order]
    return code, ts


def following_of(code: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Return, per beacon sorted by code and ts, the ts of the next beacon of its code."""
    following = np.full(len(ts), LAST, np.int64)
    if len(ts) > 1:
        same = code[1:] == code[:-1]
        following[:-1][same] = ts[1:][same]
    return following


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
    sites = site_arrays(
        categories, per, cluster_sites(beacons), profiles, grace_s, default_period_s, jitter
    )
    # Sorted categories map monotonically into the sorted union: row order survives.
    remap = np.searchsorted(sites.names, categories).astype(np.int64)

    codes = beacons["site"].cat.codes.to_numpy()
    code = remap[codes] if len(codes) else np.zeros(0, np.int64)
    ts = beacons["ts"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    data = (int(ts.min()), int(ts.max())) if len(ts) else (None, None)
    event = beacons["event"].cat.codes.to_numpy()
    events = np.asarray(beacons["event"].cat.categories.astype(str), dtype=object)
    session = beacons["session"].cat.codes.to_numpy()
    source = beacons["source"].cat.codes.to_numpy()
    sources = np.asarray(beacons["source"].cat.categories.astype(str), dtype=object)
    keep = sites.service[code]
    if not keep.all():
        code, ts, event = code[keep], ts[keep], event[keep]
        session, source = session[keep], source[keep]
    if len(code) > 1 and not _is_sorted(code, ts):
        order = np.lexsort((ts, code))
        code, ts, event = code[order], ts[order], event[order]
        session, source = session[order], source[order]
    shutdown_code = np.flatnonzero(events == SHUTDOWN)
    shutdown = event == shutdown_code[0] if len(shutdown_code) else np.zeros(len(code), bool)
    r_code, r_ts = restart_arrays(restarts(beacons), sites, remap)
    return assemble(
        sites,
        beacons=(code, ts, following_of(code, ts), shutdown, event, session, source),
        events=events,
        sources=sources,
        restart=(r_code, r_ts),
        data=data,
    )


def assemble(
    sites: SiteArrays,
    *,
    beacons: tuple[np.ndarray, ...],
    events: np.ndarray,
    sources: np.ndarray,
    restart: tuple[np.ndarray, np.ndarray],
    data: tuple[int | None, int | None],
) -> Prepared:
    """Return :class:`Prepared` from its parts.

    ``beacons`` is (code, ts, following, shutdown, event, session, source).
    """
    code, ts, following, shutdown, event, session, source = beacons
    return Prepared(
        names=sites.names,
        service=sites.service,
        declared=sites.declared,
        profiles_given=sites.profiles_given,
        period_s=sites.period_s,
        period_from=sites.period_from,
        grace_s=sites.grace_s,
        up_s=sites.up_s,
        code=code,
        ts=ts,
        following=following,
        shutdown=shutdown,
        event=event,
        session=session,
        source=source,
        sources=sources,
        cluster=sites.cluster,
        clusters=sites.clusters,
        events=events,
        restart_code=restart[0],
        restart_ts=restart[1],
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
