"""Pair spans into service-to-service calls (the rules in :mod:`rtt_topology.load.traces`).

Everything here is vectorised over the span table (integer keys, sorting and binary
search), so a table of millions of spans pairs in seconds; the calls are aggregated
into the edge table by :mod:`rtt_topology.load.traces.edge_table`, whose names are
re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from rtt_topology.load.traces.edge_table import (
    EDGE_COLUMNS,
    EDGE_KINDS,
    aggregate_calls,
    edges_from_links,
    empty_edge_frame,
    merge_edges,
)
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

_RPC, _MESSAGING, _DATABASE, _VIRTUAL = (
    EDGE_KINDS.index(k) for k in ("rpc", "messaging", "database", "virtual")
)


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
    # 1. The callee side: any span whose parent is in another service (Jaeger's rule),
    # and SERVER/CONSUMER spans, which may have a same-id caller (Zipkin's shared spans).
    callee_side = live & (is_srv | (found & ~same))
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
    served[parent[is_srv & found & live]] = True
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
    # A client span that is the callee side of a call was paired: without a peer it is done.
    unserved = lone & ~has_peer & ~callee_side
    count("client without server or peer", unserved & (kind == KIND_CODES["client"]))
    count("producer without consumer or peer", unserved & (kind == KIND_CODES["producer"]))

    db = spans["db_system"].notna().to_numpy()
    msg = spans["messaging_system"].notna().to_numpy()
    dur = spans["duration_ms"].to_numpy(dtype=np.float64)
    err = spans["error"].to_numpy(dtype=bool)
    # Nanoseconds whatever the column's unit (a table built by hand may hold ms).
    times = pd.to_datetime(spans["start"], utc=True).dt.as_unit("ns")
    start = times.to_numpy(dtype="datetime64[ns]").view(np.int64)
    producer = kind == KIND_CODES["producer"]
    consumer = kind == KIND_CODES["consumer"]

    # 3. Kind, latency, error and time of each call.
    # A database or broker instrumented as a service of its own shows as the callee
    # side's own client or producer span.
    callee_cli = is_cli[callee]
    pair_kind = np.where(
        db[caller] | (callee_cli & db[callee]),
        _DATABASE,
        np.where(
            producer[caller] | consumer[callee] | producer[callee] | msg[caller] | msg[callee],
            _MESSAGING,
            _RPC,
        ),
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
        intra_service=int(same.sum() + (lone & own_peer).sum()),
        roots=int((~has_parent).sum()),
        unpaired=dict(sorted(unpaired.items())),
        calls=len(calls["caller"]),
    )
    # Free the per-span arrays before aggregating the calls.
    del tcode, key, pkey, has_parent, parent, partner, par_svc, peer, peer_code
    del caller, callee, to_peer, start, times, dur, err, db, msg
    return aggregate_calls(calls, list(vocab), known, spans["trace_id"]), stats


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
