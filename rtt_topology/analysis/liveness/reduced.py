"""Reduce a history that DuckDB scans to the liveness arrays: only the beacons that matter.

A beacon inside a run of regular heartbeats changes no state: liveness needs a
service's first and last beacon, its shutdowns, the beacons followed by a silence
longer than its ``up_s`` (the period with the jitter allowance), and the beacon
after each of those (:func:`rtt_topology.aggregate.sql.silences.silences`), each
with the time of the service's next beacon. With those rows, the segments, the
collector gaps and the downtime are the same as from every beacon: a kept
beacon follows a silent one exactly when the beacon before it in the full
history is silent, since that one would have been kept.

What the kept rows cannot tell comes from small queries: the services active
around a candidate collector gap, a service's last beacon before a moment when
it is not a kept one (it then lies within ``up_s`` of the moment), and the
sessions seen up to a moment. Memory is O(services + silences), never
O(beacons); the window functions run over chunks of whole services
(:meth:`~rtt_topology.aggregate.engines.History.site_chunks`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa

from rtt_topology._memo import memoized
from rtt_topology.aggregate.duck import CHUNK_ROWS
from rtt_topology.aggregate.engines import History
from rtt_topology.aggregate.history import cluster_sites, periods, restarts
from rtt_topology.aggregate.sql.silences import (
    active_sites,
    last_before,
    sessions_before,
    silences,
)
from rtt_topology.analysis.liveness.prepared import (
    LAST,
    NS,
    SHUTDOWN,
    Prepared,
    assemble,
    restart_arrays,
    site_arrays,
)
from rtt_topology.schemas import Profile

__all__ = [
    "CHUNK_ROWS",
    "active_in_history",
    "last_in_history",
    "prepare_history",
    "sessions_in_history",
]


def _up_us(prep_up_s: np.ndarray) -> np.ndarray:
    """Thresholds in microseconds: ``span_us * 1000 > up_ns`` iff ``span_us > up_ns // 1000``."""
    up_ns: np.ndarray = np.round(prep_up_s * NS).astype(np.int64)
    return up_ns // 1000


def _codes(names: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Codes of some site names in the sorted ``names``."""
    return np.searchsorted(names, values).astype(np.int64)


def _factorized(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes (-1 for null) and sorted names of a text column."""
    column = pd.Categorical(values)
    names = np.asarray(column.categories.astype(str), dtype=object)
    return column.codes.astype(np.int64), names


@memoized(copy=False)
def prepare_history(
    history: History,
    profiles: Mapping[str, Profile] | None,
    grace_s: float | None,
    default_period_s: float,
    jitter: float,
) -> Prepared:
    """Return the liveness arrays of a history, reduced to the beacons that matter.

    The per-site arrays are those :func:`~rtt_topology.analysis.liveness.prepared.prepare`
    builds from the history's beacon table; the per-beacon arrays hold the kept
    beacons only, with their ``following``.

    Examples
    --------
    >>> from rtt_topology.load import beacons_from_records
    >>> table, _ = beacons_from_records(
    ...     {"site": "api", "session": "s1", "event": "heartbeat", "ts": f"2026-01-19T15:{m}Z"}
    ...     for m in ("00", "01", "02", "03", "10", "11")
    ... )
    >>> with History.from_frame(table) as history:
    ...     prep = prepare_history(history, None, None, 60.0, 0.1)
    >>> [str(t)[11:16] for t in prep.ts.astype("M8[ns]")]
    ['15:00', '15:03', '15:10', '15:11']
    """
    chunks = history.site_chunks(CHUNK_ROWS)
    seen = np.asarray([site for group in chunks for site in group], dtype=object)
    per = periods(history, profiles, default_s=default_period_s)
    sites = site_arrays(
        seen, per, cluster_sites(history), profiles, grace_s, default_period_s, jitter
    )
    up_us = _up_us(sites.up_s)
    parts = []
    for group in chunks:
        codes = _codes(sites.names, np.asarray(group, dtype=object))
        codes = codes[sites.service[codes]]
        if len(codes):
            limits = [(str(sites.names[c]), int(up_us[c])) for c in codes]
            parts.append(history.arrow(silences(limits, shutdown=SHUTDOWN)))
    if parts and sum(len(part) for part in parts):
        beacons, events, sources = _kept_arrays(pa.concat_tables(parts), sites.names)
    else:
        empty = np.zeros(0, np.int64)
        beacons = (empty, empty, empty, np.zeros(0, bool), empty, empty, empty)
        events = sources = np.zeros(0, dtype=object)
    lo, hi = history.bounds()
    data = (None, None) if lo is None or hi is None else (int(lo.value), int(hi.value))
    return assemble(
        sites,
        beacons=beacons,
        events=events,
        sources=sources,
        restart=restart_arrays(restarts(history), sites),
        data=data,
    )


def _kept_arrays(
    kept: pa.Table, names: np.ndarray
) -> tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray]:
    """Return the per-beacon arrays of the kept rows, their event names and source names."""
    code = _codes(names, kept["site"].to_numpy(zero_copy_only=False).astype(object))
    # Chunks come in site order; a stable sort keeps each site's beacon order anyway.
    order = np.argsort(code, kind="stable")
    code = code[order]
    ts = kept["t"].to_numpy().astype(np.int64)[order] * 1000
    valid = np.asarray(kept["next_t"].is_valid())[order]
    following = np.full(len(ts), LAST, np.int64)
    following[valid] = kept["next_t"].fill_null(0).to_numpy().astype(np.int64)[order][valid] * 1000
    text = {
        name: kept[name].to_numpy(zero_copy_only=False).astype(object)[order]
        for name in ("event", "session", "source")
    }
    event, events = _factorized(text["event"])
    session, _ = _factorized(text["session"])
    source, sources = _factorized(text["source"])
    shutdown = np.asarray(text["event"] == SHUTDOWN, dtype=bool)
    return (code, ts, following, shutdown, event, session, source), events, sources


def active_in_history(
    history: History,
    prep: Prepared,
    grouping: str,
    key: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
) -> list[np.ndarray]:
    """Per candidate gap, the services with a beacon of its group in ``[lo - P - G, hi]``.

    The same answer as :func:`~rtt_topology.analysis.liveness.gaps.active_in_rows`
    gives from every beacon, asked of the engine.
    """
    pg = np.round((prep.period_s + prep.grace_s) * NS).astype(np.int64)
    services = np.flatnonzero(prep.service)
    if grouping == "source":
        groups = prep.sources[key]
        limits = [(str(prep.names[c]), "", int(pg[c])) for c in services]
    else:
        groups = prep.clusters[key]
        wanted = np.isin(prep.cluster[services], key)
        limits = [
            (str(prep.names[c]), str(prep.clusters[prep.cluster[c]]), int(pg[c]))
            for c in services[wanted]
        ]
    gaps = [
        (k, str(group), int(first), int(last))
        for k, (group, first, last) in enumerate(zip(groups, lo, hi, strict=True))
    ]
    found = history.sql(active_sites(grouping, gaps, limits)) if limits else None
    out = [np.zeros(0, np.int64) for _ in gaps]
    if found is not None and len(found):
        k = found["k"].to_numpy(dtype=np.int64)
        code = _codes(prep.names, found["site"].to_numpy(dtype=object))
        for i in np.unique(k):
            out[int(i)] = np.unique(code[k == i])
    return out


def last_in_history(
    history: History, prep: Prepared, at_ns: int, codes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return the ts (ns) and event of the last beacon at or before ``at_ns`` of ``codes``.

    ``codes`` are services whose last kept beacon before ``at_ns`` has a next
    beacon before it too: their last beacon is not kept, so it is no silence
    and lies within ``up_s`` of ``at_ns``; one query over that slice finds it.
    """
    cut = at_ns // 1000 + 1
    since = (at_ns - int(np.round(prep.up_s[codes] * NS).max())) // 1000 - 1
    found = history.sql(last_before(cut, since))
    where = dict(zip(found["site"].astype(str), range(len(found)), strict=True))
    rows = np.asarray([where[str(prep.names[c])] for c in codes], dtype=np.int64)
    ts = found["t"].to_numpy(dtype=np.int64)[rows] * 1000
    events = found["event"].to_numpy(dtype=object)[rows]
    return ts, events


def sessions_in_history(history: History, prep: Prepared, at_ns: int) -> np.ndarray:
    """Return the distinct sessions per site code with a beacon at or before ``at_ns``."""
    found = history.sql(sessions_before(at_ns // 1000 + 1))
    out = np.zeros(len(prep.names), np.int64)
    if len(found):
        out[_codes(prep.names, found["site"].to_numpy(dtype=object))] = found["sessions"].to_numpy(
            dtype=np.int64
        )
    return out
