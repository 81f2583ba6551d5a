"""Turn a span table into the root-to-leaf service paths of its traces, with counts and latency.

Each trace is turned into its **service call tree**: spans are grouped into
*service visits* (a span whose parent is in the same service belongs to its
parent's visit; a span without parent, or whose parent is in another service,
opens a new visit, a child of its parent's visit), as the edge pairing of
:mod:`rtt_topology.load.traces` does: a parent id shared by several spans (Zipkin
shared spans) resolves to the span in the child's own service, then to the server
side. A client or producer span that no span of another service answers (neither
as its child nor by a shared span id) adds a visit to its ``peer``: an
uninstrumented database, cache or service; so does a Jaeger ``internal`` or
``unspecified`` leaf span with a peer. A span whose parent is not in the export
opens a tree of its own.

A **path** is the sequence of services from a tree's root visit to one of its
leaf visits: consecutive spans of one service are one step, so a path never
repeats a service twice in a row. Per distinct path, over the traces that show
it (a trace showing a path several times counts once, with its slowest
instance):

================  ==================================================================
column            meaning
================  ==================================================================
path              tuple of service names, root first
hops              ``len(path) - 1``
calls             traces showing the path
errors            of these, traces in which a span of a visit on the path failed
latency_p50_ms    median end-to-end latency (``numpy.percentile``, linear)
latency_p95_ms    95th percentile
first_seen        start of the root visit of the earliest trace (UTC)
last_seen         start of the root visit of the latest trace
sample_trace_ids  up to 5 trace ids, earliest first
================  ==================================================================

**End-to-end latency** of one instance: from the earliest start of a span of the
root visit to the latest end (start + duration) of a span of any visit on the
path. For synchronous calls this is the time the entry service took to serve the
request; a consumer that finishes after its producer's request (messaging)
extends it. Spans without a start or a duration are left out; an instance
without any is ``NaN``.

Everything is vectorised over the span table (numpy): the Python loops run per
depth level of the trees and per distinct path, never per span or per trace.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from rtt_topology.errors import InputError
from rtt_topology.load.traces.keys import KIND_CODES, span_keys

__all__ = ["OBSERVED_PATH_COLUMNS", "observed_paths"]

#: Columns of :func:`observed_paths`, in order.
OBSERVED_PATH_COLUMNS: tuple[str, ...] = (
    "path",
    "hops",
    "calls",
    "errors",
    "latency_p50_ms",
    "latency_p95_ms",
    "first_seen",
    "last_seen",
    "sample_trace_ids",
)

_SAMPLES = 5
_NAT = np.iinfo(np.int64).min
_NEVER = np.iinfo(np.int64).max
_MAX_JUMPS = 64
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def _resolve_parents(
    key: IntArray, parent_key: IntArray, svc: IntArray, is_srv: BoolArray
) -> IntArray:
    """Row of each span's parent (``-1`` if none): own service first, then the server side."""
    n = len(key)
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    lo = np.searchsorted(sorted_key, parent_key, "left")
    hi = np.searchsorted(sorted_key, parent_key, "right")
    count = np.where(parent_key >= 0, hi - lo, 0)
    parent = np.full(n, -1, dtype=np.int64)
    single = count == 1
    parent[single] = order[lo[single]]
    many = np.flatnonzero(count > 1)
    if many.size:
        owner = np.repeat(many, count[many])
        starts = np.repeat(np.cumsum(count[many]) - count[many], count[many])
        pos = np.repeat(lo[many], count[many]) + (np.arange(len(owner)) - starts)
        cand = order[pos]
        score = 2 * (svc[cand] == svc[owner]) + is_srv[cand]
        pick = np.lexsort((cand, -score, owner))
        owner, cand = owner[pick], cand[pick]
        first = np.r_[True, owner[1:] != owner[:-1]]
        parent[owner[first]] = cand[first]
    parent[parent == np.arange(n)] = -1
    return parent


def _served_by_shared_id(
    key: IntArray, svc: IntArray, is_cli: BoolArray, is_srv: BoolArray
) -> BoolArray:
    """Client spans whose span id a server span of another service shares (Zipkin)."""
    served = np.zeros(len(key), dtype=bool)
    clients = np.flatnonzero(is_cli)
    servers = np.flatnonzero(is_srv)
    if not len(clients) or not len(servers):
        return served
    pairs = pd.DataFrame({"key": key[clients], "client": clients}).merge(
        pd.DataFrame({"key": key[servers], "server": servers}), on="key"
    )
    if len(pairs):
        other = svc[pairs["client"].to_numpy()] != svc[pairs["server"].to_numpy()]
        served[pairs["client"].to_numpy()[other]] = True
    return served


def _visit_of(parent: IntArray, svc: IntArray) -> tuple[IntArray, BoolArray]:
    """Return the visit (its opening span) of every span, and which spans open a visit."""
    n = len(parent)
    rows = np.arange(n)
    opens = (parent < 0) | (svc[np.maximum(parent, 0)] != svc)
    visit = np.where(opens, rows, parent)
    for _ in range(_MAX_JUMPS):
        nxt = visit[visit]
        if np.array_equal(nxt, visit):
            break
        visit = nxt
    # Same-service parent loops (bad data) settle on a span of the loop: make it a visit.
    opens |= visit == rows
    return visit, opens


def _depths(up: IntArray) -> tuple[IntArray, BoolArray]:
    """Depth of every node of a forest given by parent pointers, and which reach a root."""
    depth = (up >= 0).astype(np.int64)
    anc = up.copy()
    for _ in range(_MAX_JUMPS):
        live = anc >= 0
        if not live.any():
            break
        nxt_depth = depth.copy()
        nxt_depth[live] += depth[anc[live]]
        nxt = anc.copy()
        nxt[live] = anc[anc[live]]
        depth, anc = nxt_depth, nxt
    return depth, anc < 0


def _end_ns(start: IntArray, duration_ms: FloatArray) -> IntArray:
    ok = (start != _NAT) & ~np.isnan(duration_ms)
    end = np.full(len(start), _NAT, dtype=np.int64)
    end[ok] = start[ok] + np.round(duration_ms[ok] * 1e6).astype(np.int64)
    return end


def _empty_paths() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "path": pd.Series(dtype=object),
            "hops": pd.Series(dtype="int64"),
            "calls": pd.Series(dtype="int64"),
            "errors": pd.Series(dtype="int64"),
            "latency_p50_ms": pd.Series(dtype="float64"),
            "latency_p95_ms": pd.Series(dtype="float64"),
            "first_seen": pd.Series(dtype="datetime64[ns, UTC]"),
            "last_seen": pd.Series(dtype="datetime64[ns, UTC]"),
            "sample_trace_ids": pd.Series(dtype=object),
        }
    )
    return frame


_SPAN_NEEDS = ("trace_id", "span_id", "parent_id", "service", "kind", "start", "duration_ms")


def observed_paths(spans: pd.DataFrame) -> pd.DataFrame:
    """Return the distinct root-to-leaf service paths of the traces, with counts and latency.

    The rules (service visits, peers, latency) are in the module docstring.

    Parameters
    ----------
    spans
        A span table (``read_traces(...).spans``): at least ``trace_id``,
        ``span_id``, ``parent_id``, ``service``, ``kind``, ``start`` and
        ``duration_ms``; ``error``, ``peer`` and ``format`` are used when present.

    Returns
    -------
    pandas.DataFrame
        One row per distinct path, the columns of :data:`OBSERVED_PATH_COLUMNS`,
        sorted by ``calls`` (descending), then ``path``.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.Timestamp("2026-01-19T10:00:00Z")
    >>> spans = pd.DataFrame({
    ...     "trace_id": ["a" * 32] * 4,
    ...     "span_id": ["1" * 16, "2" * 16, "3" * 16, "4" * 16],
    ...     "parent_id": [None, "1" * 16, "2" * 16, "3" * 16],
    ...     "service": ["web", "web", "api", "api"],
    ...     "kind": ["server", "client", "server", "client"],
    ...     "start": [t, t, t, t],
    ...     "duration_ms": [30.0, 25.0, 20.0, 5.0],
    ...     "peer": [None, "api", None, "db"],
    ... })
    >>> paths = observed_paths(spans)
    >>> paths[["path", "calls", "latency_p95_ms"]].values.tolist()
    [[('web', 'api', 'db'), 1, 30.0]]
    """
    missing = [c for c in _SPAN_NEEDS if c not in spans.columns]
    if missing:
        raise InputError(f"not a span table: missing column(s) {', '.join(missing)}")
    n = len(spans)
    if n == 0:
        return _empty_paths()
    keys = span_keys(spans)
    svc = keys.service.copy()
    names = list(keys.names)
    kind = keys.kind
    is_srv = (kind == KIND_CODES["server"]) | (kind == KIND_CODES["consumer"])
    is_cli = (kind == KIND_CODES["client"]) | (kind == KIND_CODES["producer"])
    # A span without a service name gets the name "": one more code.
    if (svc < 0).any():
        names.append("")
        svc[svc < 0] = len(names) - 1
    parent = _resolve_parents(keys.key, keys.parent_key, svc, is_srv)
    parent[~keys.has_parent] = -1
    visit, opens = _visit_of(parent, svc)

    # Visits: opening spans, then one per client span going to an unanswered peer.
    crosses = opens & (parent >= 0)
    answered = np.zeros(n, dtype=bool)
    answered[parent[crosses]] = True
    answered |= _served_by_shared_id(keys.key, svc, is_cli, is_srv)
    has_child = np.zeros(n, dtype=bool)
    has_child[parent[parent >= 0]] = True
    peer_code, peer_names = _peer_codes(spans, names)
    own = peer_code == svc
    with_peer = (peer_code >= 0) & ~own
    other = kind <= KIND_CODES["internal"]
    jaeger = _is_jaeger(spans)
    to_peer = np.flatnonzero(
        (is_cli & ~answered & with_peer) | (other & jaeger & ~has_child & with_peer)
    )
    all_names = names + peer_names

    # Nanoseconds since the epoch, whatever the column's unit (NaT is int64 min).
    times = pd.DatetimeIndex(pd.to_datetime(spans["start"], utc=True)).as_unit("ns")
    start = np.asarray(times.asi8, dtype=np.int64)
    duration = spans["duration_ms"].to_numpy(dtype=np.float64, na_value=np.nan)
    end = _end_ns(start, duration)
    error = (
        spans["error"].to_numpy(dtype=bool, na_value=False)
        if "error" in spans.columns
        else np.zeros(n, dtype=bool)
    )

    opening = np.flatnonzero(opens)
    n_open = len(opening)
    node_of_row = np.full(n, -1, dtype=np.int64)
    node_of_row[opening] = np.arange(n_open)
    span_node = node_of_row[visit]
    n_nodes = n_open + len(to_peer)
    node_svc = np.concatenate([svc[opening], peer_code[to_peer]])
    node_up = np.concatenate(
        [
            np.where(parent[opening] >= 0, span_node[np.maximum(parent[opening], 0)], -1),
            span_node[to_peer],
        ]
    )
    node_trace = np.concatenate([keys.trace[opening], keys.trace[to_peer]])
    node_start = np.full(n_nodes, _NEVER, dtype=np.int64)
    known = start != _NAT
    np.minimum.at(node_start, span_node[known], start[known])
    node_start[n_open:] = np.where(start[to_peer] != _NAT, start[to_peer], node_start[n_open:])
    node_end = np.full(n_nodes, _NAT, dtype=np.int64)
    np.maximum.at(node_end, span_node, end)
    node_end[n_open:] = end[to_peer]
    node_error = np.zeros(n_nodes, dtype=bool)
    np.logical_or.at(node_error, span_node, error)
    node_error[n_open:] = error[to_peer]

    depth, rooted = _depths(node_up)
    child = np.zeros(n_nodes, dtype=bool)
    child[node_up[node_up >= 0]] = True
    leaves = np.flatnonzero(~child & rooted)
    width = int(depth[leaves].max()) + 1 if len(leaves) else 1
    matrix = np.full((len(leaves), width), -1, dtype=np.int64)
    cur = leaves.copy()
    last_end = np.full(len(leaves), _NAT, dtype=np.int64)
    failed = np.zeros(len(leaves), dtype=bool)
    root = leaves.copy()
    for level in range(width):
        live = cur >= 0
        if not live.any():
            break
        at = cur[live]
        matrix[live, level] = node_svc[at]
        last_end[live] = np.maximum(last_end[live], node_end[at])
        failed[live] |= node_error[at]
        root[live] = at
        cur[live] = node_up[at]

    # Unknown root starts stay at the int64 maximum until the table is built.
    root_start = node_start[root]
    unknown = (root_start == _NEVER) | (last_end == _NAT)
    latency = np.where(unknown, np.nan, (last_end - root_start) / 1e6).astype(np.float64)
    uniq, path_id = np.unique(matrix, axis=0, return_inverse=True)
    path_id = np.asarray(path_id, dtype=np.int64).ravel()
    instances = pd.DataFrame(
        {
            "path": path_id,
            "trace": node_trace[leaves],
            "latency": latency,
            "failed": failed,
            "start": root_start,
        }
    )
    # One instance per (path, trace): its slowest, failed if any failed.
    per_trace = instances.groupby(["path", "trace"], sort=False).agg(
        latency=("latency", "max"), failed=("failed", "any"), start=("start", "min")
    )
    per_trace = per_trace.reset_index()
    return _path_table(per_trace, uniq, all_names, spans["trace_id"], keys.trace)


def _utc(ns: IntArray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC")


def _peer_codes(spans: pd.DataFrame, names: list[str]) -> tuple[IntArray, list[str]]:
    """Service codes of each span's peer (``-1`` for none); new names for unknown peers."""
    if "peer" not in spans.columns:
        return np.full(len(spans), -1, dtype=np.int64), []
    codes, uniques = pd.factorize(spans["peer"])
    vocab = {name: i for i, name in enumerate(names)}
    extra: list[str] = []
    lut = []
    for value in uniques:
        name = str(value)
        if name == "":
            lut.append(-1)
            continue
        if name not in vocab:
            vocab[name] = len(vocab)
            extra.append(name)
        lut.append(vocab[name])
    table = np.asarray([*lut, -1], dtype=np.int64)
    return table[np.asarray(codes, dtype=np.int64)], extra


def _is_jaeger(spans: pd.DataFrame) -> BoolArray:
    if "format" not in spans.columns:
        return np.zeros(len(spans), dtype=bool)
    return np.asarray((spans["format"].astype(str) == "jaeger").to_numpy(), dtype=bool)


def _path_table(
    per_trace: pd.DataFrame,
    uniq: IntArray,
    names: list[str],
    trace_ids: pd.Series,
    trace_code: IntArray,
) -> pd.DataFrame:
    """Aggregate (path, trace) instances into one row per path."""
    grouped = per_trace.groupby("path", sort=True)
    calls = grouped.size()
    errors = grouped["failed"].sum()
    p50 = grouped["latency"].quantile(0.5)
    p95 = grouped["latency"].quantile(0.95)
    first = grouped["start"].min().to_numpy(dtype=np.int64)
    known = per_trace["start"].where(per_trace["start"] != _NEVER, _NAT)
    last = known.groupby(per_trace["path"], sort=True).max().to_numpy(dtype=np.int64)
    first = np.where(first == _NEVER, _NAT, first)
    # Sample traces: the earliest first (unknown starts last).
    ordered = per_trace.sort_values(["path", "start", "trace"], kind="stable")
    picked = ordered.groupby("path", sort=True).head(_SAMPLES)
    # Trace code -> a row holding that trace id (codes number ids in sorted order).
    first_row = np.full(int(trace_code.max()) + 1, -1, dtype=np.int64)
    first_row[trace_code[::-1]] = np.arange(len(trace_code))[::-1]
    id_column = trace_ids.array
    samples: dict[int, list[str]] = {}
    for path, trace in zip(picked["path"].tolist(), picked["trace"].tolist(), strict=True):
        samples.setdefault(path, []).append(str(id_column[first_row[trace]]))
    ids = calls.index.to_numpy()
    paths = []
    for row in uniq[ids]:
        codes = row[row >= 0][::-1]
        paths.append(tuple(names[c] for c in codes))
    frame = pd.DataFrame(
        {
            "path": pd.Series(paths, dtype=object),
            "hops": np.asarray([len(p) - 1 for p in paths], dtype=np.int64),
            "calls": calls.to_numpy(dtype=np.int64),
            "errors": errors.to_numpy(dtype=np.int64),
            "latency_p50_ms": p50.to_numpy(dtype=np.float64),
            "latency_p95_ms": p95.to_numpy(dtype=np.float64),
            "first_seen": _utc(first),
            "last_seen": _utc(last),
            "sample_trace_ids": pd.Series([samples[int(i)] for i in ids], dtype=object),
        }
    )
    frame = frame.sort_values(["calls", "path"], ascending=[False, True], kind="stable")
    return frame.reset_index(drop=True)
