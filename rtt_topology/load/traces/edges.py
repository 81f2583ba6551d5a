"""Pair spans into service-to-service calls, and aggregate calls and links into edges.

The pairing rules are listed in :mod:`rtt_topology.load.traces`. Everything here is
vectorised over the span table (integer keys, sorting and binary search), so a
table of millions of spans pairs in seconds; the only Python loops run once per
edge, never per span.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from rtt_topology.load.traces.keys import (
    KIND_CODES,
    BoolArray,
    IntArray,
    SpanKeys,
    format_masks,
    span_keys,
)
from rtt_topology.load.traces.records import FORMAT_BITS

__all__ = [
    "EDGE_COLUMNS",
    "EDGE_KINDS",
    "PairingStats",
    "edges_from_links",
    "edges_from_spans",
    "empty_edge_frame",
    "merge_edges",
    "pair_spans",
]


#: Values of the edge table's ``kind`` column, after OpenTelemetry's servicegraph; the
#: service graph's edge attribute ``kind`` takes them over.
EDGE_KINDS: Final = ("rpc", "messaging", "database", "virtual")

#: The edge table: column name -> dtype.
EDGE_COLUMNS: dict[str, str] = {
    "caller": "str",
    "callee": "str",
    "kind": "str",
    "calls": "int64",
    "errors": "int64",
    "p50_ms": "float64",
    "p95_ms": "float64",
    "first_seen": "datetime64[ns, UTC]",
    "last_seen": "datetime64[ns, UTC]",
    "sample_trace_ids": "object",
    "callee_virtual": "bool",
    "formats": "str",
}
_RPC, _MESSAGING, _DATABASE, _VIRTUAL = (
    EDGE_KINDS.index(k) for k in ("rpc", "messaging", "database", "virtual")
)
_SAMPLES = 5
_NAT = np.iinfo(np.int64).min


@dataclass(frozen=True)
class PairingStats:
    """What pairing found besides calls.

    Attributes
    ----------
    intra_service
        Parent/child pairs inside one service (and client spans whose peer is
        their own service): not calls between services, kept out of the edges.
    roots
        Spans without a parent: entry points, not errors.
    unpaired
        Spans that should have given a call but could not, by reason
        (``"parent not in export"``, ``"client without server or peer"``,
        ``"producer without consumer or peer"``, ``"empty service name"``,
        ``"caller has empty service name"``).
    calls
        Calls found (the sum of the edges' ``calls``).
    """

    intra_service: int = 0
    roots: int = 0
    unpaired: dict[str, int] = field(default_factory=dict)
    calls: int = 0


def empty_edge_frame() -> pd.DataFrame:
    """Return an edge table without rows, with the dtypes of :data:`EDGE_COLUMNS`."""
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in EDGE_COLUMNS.items()})


def _mask_names(mask: int) -> str:
    return ",".join(sorted(name for name, bit in FORMAT_BITS.items() if mask & bit))


def _expand(lo: IntArray, counts: IntArray) -> tuple[IntArray, IntArray]:
    """For ranges ``[lo, lo + counts)``: the range number and position of every element."""
    owner = np.repeat(np.arange(len(lo)), counts)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return owner, np.repeat(lo, counts) + (np.arange(int(counts.sum())) - starts)


def _first_per(owner: IntArray, order: IntArray) -> BoolArray:
    """Mark the first element of each owner after sorting by ``order``."""
    first = np.ones(len(order), dtype=bool)
    first[1:] = owner[order][1:] != owner[order][:-1]
    return first


def _resolve(
    index: tuple[IntArray, IntArray],
    wanted: IntArray,
    rows: IntArray | None,
    score: Callable[[IntArray, IntArray], IntArray],
    *,
    check_single: bool,
) -> IntArray:
    """For each ``rows[i]``, the span whose key is ``wanted[i]`` (``-1`` if none).

    ``index`` is ``(order, sorted_key)``: the argsort of the span keys and the
    sorted keys; ``rows`` ``None`` means ``0..len(wanted)-1``. Several candidates
    (shared span ids) are ranked by ``score(row, candidate)`` (highest wins; ``-1``
    excludes), then by position; a single candidate is checked too if
    ``check_single``.
    """
    order, sorted_key = index
    lo = np.searchsorted(sorted_key, wanted, "left")
    counts = np.searchsorted(sorted_key, wanted, "right") - lo
    found = np.full(len(wanted), -1, dtype=np.int64)
    single = counts == 1
    found[single] = order[lo[single]]
    many = np.flatnonzero(counts > 1)
    if many.size:
        owner, pos = _expand(lo[many], counts[many])
        cand = order[pos]
        row = many[owner] if rows is None else rows[many][owner]
        points = score(row, cand)
        keep = points >= 0
        owner, cand, points = owner[keep], cand[keep], points[keep]
        sel = np.lexsort((cand, -points, owner))
        first = _first_per(owner, sel)
        found[many[owner[sel][first]]] = cand[sel][first]
    if check_single and single.any():
        idx = np.flatnonzero(single)
        bad = score(idx if rows is None else rows[idx], found[idx]) < 0
        found[idx[bad]] = -1
    return found


def pair_spans(
    spans: pd.DataFrame,
    masks: npt.NDArray[np.uint8] | None = None,
    keys: SpanKeys | None = None,
) -> tuple[pd.DataFrame, PairingStats]:
    """Pair the spans of a span table into calls and aggregate them into edges.

    Parameters
    ----------
    spans
        A de-duplicated span table (the columns of ``SPAN_COLUMNS``).
    masks
        Per span, the bits (``FORMAT_BITS``) of every format it was seen in;
        by default the bit of its ``format``.
    keys
        The :class:`SpanKeys` of ``spans``, when already computed.

    Returns
    -------
    edges, stats
        The edge table (:data:`EDGE_COLUMNS`) and the :class:`PairingStats`.
    """
    n = len(spans)
    if n == 0:
        return empty_edge_frame(), PairingStats()
    if masks is None:
        masks = format_masks(spans["format"])
    if keys is None:
        keys = span_keys(spans)
    tcode, key, pkey, has_parent = keys.trace, keys.key, keys.parent_key, keys.has_parent
    svc, names, kind = keys.service, keys.names, keys.kind
    del keys
    empty_name = np.array([name == "" for name in names] + [True], dtype=bool)
    empty = empty_name[svc]  # code -1 (missing) indexes the trailing True
    is_srv = (kind == KIND_CODES["server"]) | (kind == KIND_CODES["consumer"])
    is_cli = (kind == KIND_CODES["client"]) | (kind == KIND_CODES["producer"])
    is_other = kind <= KIND_CODES["internal"]
    order = np.argsort(key, kind="stable")
    index = (order, key[order])

    def parent_score(row: IntArray, cand: IntArray) -> IntArray:
        # Children of a shared span id belong to the side in their own service,
        # else to the server side (Zipkin's rule).
        same = svc[cand] == svc[row]
        return np.asarray(2 * same + is_srv[cand], dtype=np.int64)

    parent = _resolve(index, pkey, None, parent_score, check_single=False)
    parent[~has_parent] = -1

    def partner_score(row: IntArray, cand: IntArray) -> IntArray:
        ok = (cand != row) & is_cli[cand] & (svc[cand] != svc[row]) & ~empty[cand]
        return np.where(ok, 0, -1).astype(np.int64)

    srv_rows = np.flatnonzero(is_srv & ~empty)
    partner = np.full(n, -1, dtype=np.int64)
    partner[srv_rows] = _resolve(index, key[srv_rows], srv_rows, partner_score, check_single=True)
    del index, order

    found = parent >= 0
    par_svc = np.where(found, svc[np.maximum(parent, 0)], -2)
    par_empty = found & empty[np.maximum(parent, 0)]
    same = found & (par_svc == svc) & ~empty
    missing = has_parent & ~found
    unpaired: dict[str, int] = {}

    def count(reason: str, mask: BoolArray) -> None:
        total = int(mask.sum())
        if total:
            unpaired[reason] = unpaired.get(reason, 0) + total

    count("empty service name", empty)
    live = ~empty
    # 1. The callee side: SERVER/CONSUMER spans, and other spans whose parent is elsewhere.
    callee_side = live & (is_srv | (is_other & found & ~same))
    via_partner = callee_side & (partner >= 0)
    via_parent = callee_side & ~via_partner & found & ~same
    count("caller has empty service name", via_parent & par_empty)
    via_parent &= ~par_empty
    count("parent not in export", live & (is_srv | is_other) & ~via_partner & missing)
    callee = np.flatnonzero(via_partner | via_parent)
    caller = np.where(via_partner[callee], partner[callee], parent[callee])

    served = np.zeros(n, dtype=bool)
    served[caller] = True
    # A client whose server span is in its own service was served too (intra-service).
    served[parent[is_srv & found]] = True
    # 2. Client/producer spans without a callee span: to their peer, if any.
    peer_code, peer_names = pd.factorize(spans["peer"])
    vocab = {name: i for i, name in enumerate(names)}
    for name in peer_names:
        vocab.setdefault(str(name), len(vocab))
    peer_vocab = np.array([vocab[str(p)] for p in peer_names] + [-1], dtype=np.int64)
    peer = peer_vocab[peer_code]
    has_peer = peer >= 0
    own_peer = has_peer & (peer == svc)
    lone = live & is_cli & ~served
    jaeger_bit = FORMAT_BITS["jaeger"]
    has_child = np.zeros(n, dtype=bool)
    has_child[parent[found]] = True
    leaf_peer = live & is_other & ((masks & jaeger_bit) > 0) & has_peer & ~has_child & ~own_peer
    to_peer = np.flatnonzero((lone & has_peer & ~own_peer) | leaf_peer)
    count("client without server or peer", lone & ~has_peer & (kind == KIND_CODES["client"]))
    count("producer without consumer or peer", lone & ~has_peer & (kind == KIND_CODES["producer"]))

    db = spans["db_system"].notna().to_numpy()
    msg = spans["messaging_system"].notna().to_numpy()
    dur = spans["duration_ms"].to_numpy(dtype=np.float64)
    err = spans["error"].to_numpy(dtype=bool)
    start = spans["start"].array.asi8 if n else np.empty(0, np.int64)
    producer = kind == KIND_CODES["producer"]
    consumer = kind == KIND_CODES["consumer"]

    # 3. Kind, latency, error and time of each call.
    pair_kind = np.where(
        db[caller],
        _DATABASE,
        np.where(producer[caller] | consumer[callee] | msg[caller] | msg[callee], _MESSAGING, _RPC),
    )
    known = np.zeros(len(vocab), dtype=bool)
    known[: len(names)] = ~empty_name[:-1]
    peer_kind = np.where(
        db[to_peer],
        _DATABASE,
        np.where(
            producer[to_peer] | msg[to_peer],
            _MESSAGING,
            np.where(known[peer[to_peer]], _RPC, _VIRTUAL),
        ),
    )
    calls = {
        "caller": np.concatenate([svc[caller], svc[to_peer]]),
        "callee": np.concatenate([svc[callee], peer[to_peer]]),
        "kind": np.concatenate([pair_kind, peer_kind]),
        "duration": np.concatenate([dur[callee], dur[to_peer]]),
        "error": np.concatenate([err[caller] | err[callee], err[to_peer]]),
        "time": np.concatenate(
            [np.where(is_cli[caller], start[caller], start[callee]), start[to_peer]]
        ),
        "trace": np.concatenate([tcode[callee], tcode[to_peer]]),
        "row": np.concatenate([callee, to_peer]),
        "mask": np.concatenate([masks[caller] | masks[callee], masks[to_peer]]),
    }
    stats = PairingStats(
        intra_service=int(same.sum() + (live & is_cli & ~served & own_peer).sum()),
        roots=int((~has_parent).sum()),
        unpaired=dict(sorted(unpaired.items())),
        calls=len(calls["caller"]),
    )
    # Free the per-span arrays before aggregating the calls.
    del tcode, key, pkey, has_parent, parent, partner, par_svc, peer, peer_code
    del caller, callee, to_peer, start, dur, err, db, msg
    return _aggregate(calls, list(vocab), known, spans["trace_id"]), stats


def _aggregate(
    calls: dict[str, Any], vocab: list[str], known: BoolArray, trace_ids: pd.Series
) -> pd.DataFrame:
    """One row per (caller, callee, kind) from the call arrays."""
    if not len(calls["caller"]):
        return empty_edge_frame()
    size = len(vocab)
    group = (calls["caller"] * size + calls["callee"]) * len(EDGE_KINDS) + calls["kind"]
    time = calls["time"]
    when = np.where(time == _NAT, np.iinfo(np.int64).max, time)
    order = np.lexsort((calls["trace"], when, group))
    group, time, trace = group[order], time[order], calls["trace"][order]
    row = calls["row"][order]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    ends = np.r_[starts[1:], len(group)]
    duration = calls["duration"][order]
    error = calls["error"][order]
    mask = calls["mask"][order]
    seen = np.where(time == _NAT, np.iinfo(np.int64).max, time)
    last = np.where(time == _NAT, _NAT, time)
    first_seen = np.minimum.reduceat(seen, starts)
    last_seen = np.maximum.reduceat(last, starts)
    first_seen = np.where(first_seen == np.iinfo(np.int64).max, _NAT, first_seen)
    rows: dict[str, list[Any]] = {c: [] for c in ("p50_ms", "p95_ms", "sample_trace_ids")}
    for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
        values = duration[lo:hi]
        values = values[~np.isnan(values)]
        if len(values):
            p50, p95 = np.percentile(values, [50, 95], method="linear").tolist()
        else:
            p50 = p95 = float("nan")
        rows["p50_ms"].append(p50)
        rows["p95_ms"].append(p95)
        # Calls are sorted by time: the first calls of distinct traces.
        picked: dict[int, int] = {}
        for t, r in zip(trace[lo:hi].tolist(), row[lo:hi].tolist(), strict=True):
            if len(picked) == _SAMPLES:
                break
            picked.setdefault(t, r)
        rows["sample_trace_ids"].append(list(picked.values()))
    # Only the sampled rows' ids become Python strings (no copy of the column).
    column = trace_ids.array
    rows["sample_trace_ids"] = [
        [str(column[r]) for r in picked] for picked in rows["sample_trace_ids"]
    ]
    head = group[starts]
    kinds = head % len(EDGE_KINDS)
    pair = head // len(EDGE_KINDS)
    caller, callee = pair // size, pair % size
    frame = pd.DataFrame(
        {
            "caller": pd.array([vocab[i] for i in caller], dtype="str"),
            "callee": pd.array([vocab[i] for i in callee], dtype="str"),
            "kind": pd.array([EDGE_KINDS[k] for k in kinds], dtype="str"),
            "calls": (ends - starts).astype(np.int64),
            "errors": np.add.reduceat(error.astype(np.int64), starts),
            "p50_ms": np.asarray(rows["p50_ms"], dtype=np.float64),
            "p95_ms": np.asarray(rows["p95_ms"], dtype=np.float64),
            "first_seen": pd.to_datetime(first_seen, utc=True).as_unit("ns"),
            "last_seen": pd.to_datetime(last_seen, utc=True).as_unit("ns"),
            "sample_trace_ids": pd.Series(rows["sample_trace_ids"], dtype=object),
            "callee_virtual": ~known[callee],
            "formats": pd.array(
                [_mask_names(int(m)) for m in np.bitwise_or.reduceat(mask, starts)], dtype="str"
            ),
        }
    )
    return _sorted(frame)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["caller", "callee", "kind"], kind="stable").reset_index(drop=True)


def edges_from_spans(spans: pd.DataFrame) -> tuple[pd.DataFrame, PairingStats]:
    """Pair the spans of a span table into calls between services, as an edge table.

    Pure: the table is not modified. The rules are listed in
    :mod:`rtt_topology.load.traces`; the table should hold each span once, as
    :func:`~rtt_topology.load.traces.read_traces` returns it.

    Parameters
    ----------
    spans
        A span table (the columns of ``SPAN_COLUMNS``).

    Returns
    -------
    edges, stats
        One row per (caller, callee, kind) with the columns of :data:`EDGE_COLUMNS`
        (``formats`` from each span's ``format``), and the :class:`PairingStats`.

    Examples
    --------
    >>> import pandas as pd
    >>> spans = pd.DataFrame({
    ...     "trace_id": ["a1b2c3d4e5f60718"] * 2,
    ...     "span_id": ["0000000000000001", "0000000000000002"],
    ...     "parent_id": [None, "0000000000000001"],
    ...     "service": pd.Categorical(["frontend", "payments"]),
    ...     "name": ["GET /checkout", "charge"],
    ...     "kind": pd.Categorical(["server", "server"]),
    ...     "start": pd.to_datetime([1_700_000_000_000, 1_700_000_000_001], unit="ms", utc=True),
    ...     "duration_ms": [12.0, 5.0],
    ...     "error": [False, True],
    ...     "peer": [None, None], "db_system": [None, None], "messaging_system": [None, None],
    ...     "cluster": [None, None], "format": pd.Categorical(["jaeger"] * 2),
    ... })
    >>> edges, stats = edges_from_spans(spans)
    >>> edges[["caller", "callee", "kind", "calls", "errors", "p50_ms"]]
         caller    callee kind  calls  errors  p50_ms
    0  frontend  payments  rpc      1       1     5.0
    >>> stats.roots, stats.unpaired
    (1, {})
    """
    return pair_spans(spans)


def edges_from_links(links: Iterable[tuple[str, str, int, int, str]]) -> pd.DataFrame:
    """Aggregate dependency links ``(parent, child, calls, errors, format)`` into edges.

    Links give ``rpc`` edges with calls and errors only: no latency, no times, no
    trace ids, and ``callee_virtual`` False.
    """
    frame = pd.DataFrame(list(links), columns=["caller", "callee", "calls", "errors", "formats"])
    if frame.empty:
        return empty_edge_frame()
    grouped = frame.groupby(["caller", "callee"], sort=True)
    out = grouped[["calls", "errors"]].sum().reset_index()
    formats = grouped["formats"].agg(lambda s: ",".join(sorted(set(s))))
    n = len(out)
    return _typed(
        pd.DataFrame(
            {
                "caller": out["caller"],
                "callee": out["callee"],
                "kind": ["rpc"] * n,
                "calls": out["calls"],
                "errors": out["errors"],
                "p50_ms": np.full(n, np.nan),
                "p95_ms": np.full(n, np.nan),
                "first_seen": pd.NaT,
                "last_seen": pd.NaT,
                "sample_trace_ids": pd.Series([[] for _ in range(n)], dtype=object),
                "callee_virtual": np.zeros(n, dtype=bool),
                "formats": formats.to_numpy(),
            }
        )
    )


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    dtype: Any
    for name, dtype in EDGE_COLUMNS.items():
        if dtype.startswith("datetime64"):
            out[name] = pd.to_datetime(out[name], utc=True).astype(dtype)
        elif dtype != "object":
            out[name] = out[name].astype(dtype)
    return out[list(EDGE_COLUMNS)]


def merge_edges(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Merge edge tables: one row per (caller, callee, kind), counts summed.

    Latency quantiles and sample trace ids come from the first table that has
    them (merge span edges before link edges); times are the overall first and
    last; ``callee_virtual`` holds only if every table says so; ``formats`` is
    the union.
    """
    parts = [f for f in frames if not f.empty]
    if not parts:
        return empty_edge_frame()
    if len(parts) == 1:
        return _sorted(_typed(parts[0]))
    both = pd.concat(parts, ignore_index=True)
    grouped = both.groupby(["caller", "callee", "kind"], sort=True)
    out = grouped.agg(
        calls=("calls", "sum"),
        errors=("errors", "sum"),
        p50_ms=("p50_ms", "first"),
        p95_ms=("p95_ms", "first"),
        first_seen=("first_seen", "min"),
        last_seen=("last_seen", "max"),
        callee_virtual=("callee_virtual", "all"),
    ).reset_index()
    samples: pd.Series = grouped["sample_trace_ids"].agg(lambda s: next((v for v in s if v), []))
    formats = grouped["formats"].agg(
        lambda s: ",".join(sorted({f for v in s for f in str(v).split(",") if f}))
    )
    out["sample_trace_ids"] = samples.to_numpy()
    out["formats"] = formats.to_numpy()
    return _sorted(_typed(out))
