"""Count and enumerate the triads of a directed graph with numpy (the engine of ``triads``).

A directed graph becomes an :class:`Index`: nodes numbered in graph order, self-loops
set aside, and every dyad (pair of adjacent nodes) recorded once per end with its type
seen from that end: ``OUT`` (the end calls the other only), ``IN`` (called only) or
``MUT`` (both). Three facts then give the whole census:

- a *triangle* (three connected dyads) is found exactly once by orienting every dyad
  from the lower to the higher (degree, position) rank and closing the oriented paths
  ``a -> b -> c`` with a lookup of ``a - c`` (Chiba-Nishizeki / Latapy); with that
  orientation a node has at most ``sqrt(2m)`` higher neighbours, so this costs
  ``O(m^1.5)`` in the worst case and about ``O(m)`` on sparse service graphs;
- an *open* triad (two connected dyads) is a wedge ``x - c - y`` whose ends are not
  adjacent; wedges are counted per centre from its ``OUT``/``IN``/``MUT`` neighbour
  counts (``k(k-1)/2`` or ``k1*k2``) and the closed ones, known from the triangles
  (each triangle type closes a fixed set of three wedges), are subtracted;
- a triad with a single dyad (012, 102) is a dyad plus a third node adjacent to
  neither end: ``n - d(u) - d(v) + t(u, v)`` per dyad, with ``t`` its triangles;
  003 is what is left of ``C(n, 3)``.

Enumeration walks the same structures in blocks of candidate pairs (ragged ranges
flattened with ``numpy.repeat``), so no block exceeds a given budget whatever the
degrees. Every triple is put in canonical order through one lookup table keyed by
its three dyad types and the graph order of its nodes.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import chain, permutations, product
from typing import Any, Final

import networkx as nx
import numpy as np
import numpy.typing as npt

__all__ = [
    "KINDS",
    "KIND_TYPES",
    "TEMPLATES",
    "TRIANGLE_TYPES",
    "TYPE_NAMES",
    "Block",
    "Index",
    "Ints",
    "budgets",
    "census_counts",
    "classify",
    "index",
    "lookup",
    "names",
    "node_counts",
    "open_blocks",
    "ragged",
    "triangle_blocks",
    "triangle_counts",
    "wedges_at",
]

Ints = npt.NDArray[np.int64]

#: The 16 MAN types in networkx's order; a type id is a position in this tuple.
TYPE_NAMES: Final = (
    "003", "012", "102", "021D", "021U", "021C", "111D", "111U",
    "030T", "030C", "201", "120D", "120U", "120C", "210", "300",
)  # fmt: skip

# Canonical arrangement of each type: its directed edges between positions 0, 1, 2.
# The node tuple of a triad is the first arrangement, in graph order, matching this.
TEMPLATES: Final[dict[str, frozenset[tuple[int, int]]]] = {
    name: frozenset(edges)
    for name, edges in {
        "003": [],
        "012": [(0, 1)],
        "102": [(0, 1), (1, 0)],
        "021D": [(0, 1), (0, 2)],
        "021U": [(0, 2), (1, 2)],
        "021C": [(0, 1), (1, 2)],
        "111D": [(0, 1), (1, 2), (2, 1)],
        "111U": [(0, 1), (1, 0), (1, 2)],
        "030T": [(0, 1), (1, 2), (0, 2)],
        "030C": [(0, 1), (1, 2), (2, 0)],
        "201": [(0, 1), (1, 0), (1, 2), (2, 1)],
        "120D": [(0, 1), (0, 2), (1, 2), (2, 1)],
        "120U": [(0, 2), (1, 2), (0, 1), (1, 0)],
        "120C": [(0, 1), (1, 2), (0, 2), (2, 0)],
        "210": [(0, 1), (1, 0), (1, 2), (2, 1), (0, 2)],
        "300": [(0, 1), (1, 0), (1, 2), (2, 1), (0, 2), (2, 0)],
    }.items()
}

# Dyad types, seen from the first end of the dyad.
OUT, IN, MUT, NONE = 0, 1, 2, 3
_INVERSE = np.array([IN, OUT, MUT, NONE], dtype=np.int64)

# Open kinds: the two dyad types at the centre of a wedge (t1 <= t2), in type order.
KINDS: Final = ((OUT, OUT), (IN, IN), (OUT, IN), (IN, MUT), (OUT, MUT), (MUT, MUT))
KIND_TYPES: Final = ("021D", "021U", "021C", "111D", "111U", "201")
TRIANGLE_TYPES: Final = ("030T", "030C", "120D", "120U", "120C", "210", "300")
_KIND_OF = {pair: k for k, pair in enumerate(KINDS)} | {(b, a): k for k, (a, b) in enumerate(KINDS)}
_ORDERS = list(permutations(range(3)))


def _dyad(edges: frozenset[tuple[int, int]] | set[tuple[int, int]], p: int, q: int) -> int:
    there, back = (p, q) in edges, (q, p) in edges
    return MUT if there and back else OUT if there else IN if back else NONE


def _tables() -> tuple[Ints, Ints, Ints, Ints]:
    """Type id and arrangement per (dyad types, graph order); closed wedges per triangle."""
    type_of = np.full(64 * 8, -1, dtype=np.int64)
    arrangement = np.zeros((64 * 8, 3), dtype=np.int64)
    for t01, t12, t02 in product(range(4), repeat=3):
        edges: set[tuple[int, int]] = set()
        for (p, q), t in (((0, 1), t01), ((1, 2), t12), ((0, 2), t02)):
            if t in (OUT, MUT):
                edges.add((p, q))
            if t in (IN, MUT):
                edges.add((q, p))
        for order in _ORDERS:
            bits = (order.index(0) < order.index(1)) + 2 * (order.index(1) < order.index(2))
            code = ((t01 * 4 + t12) * 4 + t02) * 8 + bits + 4 * (order.index(0) < order.index(2))
            # permutations() of positions in graph order come in graph (lexicographic) order.
            for seq in permutations(order):
                at = {p: i for i, p in enumerate(seq)}
                mapped = frozenset((at[p], at[q]) for p, q in edges)
                name = next((t for t, tpl in TEMPLATES.items() if tpl == mapped), None)
                if name is not None:
                    type_of[code] = TYPE_NAMES.index(name)
                    arrangement[code] = seq
                    break
    closed = np.zeros((len(TYPE_NAMES), len(KINDS)), dtype=np.int64)
    asym = np.zeros(len(TYPE_NAMES), dtype=np.int64)
    mutual = np.zeros(len(TYPE_NAMES), dtype=np.int64)
    for name in TRIANGLE_TYPES:
        tpl, t = TEMPLATES[name], TYPE_NAMES.index(name)
        for centre in range(3):
            x, y = (p for p in range(3) if p != centre)
            closed[t, _KIND_OF[(_dyad(tpl, centre, x), _dyad(tpl, centre, y))]] += 1
        dyads = [_dyad(tpl, p, q) for p, q in ((0, 1), (1, 2), (0, 2))]
        asym[t], mutual[t] = sum(d in (OUT, IN) for d in dyads), dyads.count(MUT)
    return type_of, arrangement, closed, np.stack([asym, mutual])


TYPE_OF, ARRANGEMENT, CLOSED, _DYADS_OF = _tables()
_TRI_IDS = np.array([TYPE_NAMES.index(t) for t in TRIANGLE_TYPES], dtype=np.int64)
_KIND_IDS = np.array([TYPE_NAMES.index(t) for t in KIND_TYPES], dtype=np.int64)


def classify(p0: Ints, p1: Ints, p2: Ints, t01: Ints, t12: Ints, t02: Ints) -> tuple[Ints, Ints]:
    """Type ids and canonical ``(k, 3)`` node arrays of triples with known dyad types.

    ``t01`` is the dyad ``p0 - p1`` seen from ``p0``, ``t12`` from ``p1``, ``t02`` from ``p0``.
    """
    bits = (p0 < p1).astype(np.int64) + 2 * (p1 < p2) + 4 * (p0 < p2)
    code = ((t01 * 4 + t12) * 4 + t02) * 8 + bits
    triple = np.stack([p0, p1, p2], axis=1)
    arranged = np.take_along_axis(triple, ARRANGEMENT[code], axis=1)
    return TYPE_OF[code], arranged


@dataclass(frozen=True)
class Index:
    """A directed graph as arrays (self-loops left out, kept apart in ``self_loops``)."""

    nodes: list[Hashable]
    edges: int
    shift: int  # a key is (row << shift) | column
    self_loops: Ints
    counts: Ints  # (n, 3): OUT, IN and MUT neighbours of each node
    group_start: Ints  # (n, 3): where each node's OUT, IN, MUT neighbours start in nbr
    keys: Ints  # sorted (centre << shift) | neighbour: each dyad once from each end
    key_centre: Ints
    key_nbr: Ints
    key_type: Ints  # the dyad seen from the centre
    lower: Ints  # triangle orientation: dyads from lower to higher rank, by lower
    upper: Ints
    up_type: Ints
    up_start: Ints  # (n + 1): CSR pointer of the orientation

    @property
    def n(self) -> int:
        """Number of nodes."""
        return len(self.nodes)

    @cached_property
    def grouped(self) -> tuple[Ints, Ints, Ints]:
        """Centre, neighbour and type of the entries sorted by (centre, type, neighbour)."""
        mask = (1 << self.shift) - 1
        order = np.sort((((self.key_centre << 2) | self.key_type) << self.shift) | self.key_nbr)
        return order >> (self.shift + 2), order & mask, (order >> self.shift) & 3


def index(G: nx.DiGraph[Any]) -> Index:
    """Index ``G``: number its nodes in graph order and record its dyads as arrays."""
    nodes = list(G)
    n = len(nodes)
    at = {node: i for i, node in enumerate(nodes)}
    # The adjacency dicts themselves, as networkx's own algorithms read them: the
    # public views cost more than the rest of the indexing.
    succ: Mapping[Any, Mapping[Any, Any]] = G._succ  # type: ignore[attr-defined]
    callees = [succ[v] for v in nodes]
    degree = np.fromiter(map(len, callees), dtype=np.int64, count=n)
    dst = np.fromiter(
        map(at.__getitem__, chain.from_iterable(callees)), dtype=np.int64, count=degree.sum()
    )
    src = np.repeat(np.arange(n, dtype=np.int64), degree)
    keep = src != dst
    self_loops = np.flatnonzero(np.bincount(src[~keep], minlength=n))
    src, dst = src[keep], dst[keep]
    # Keys pack two positions in one int64 with shifts (n < 2**30), sorted with numpy.
    shift = max(1, (n - 1).bit_length())
    mask = (1 << shift) - 1
    # Each dyad once, keyed by (lower, higher) position; the call up sorts first.
    packed = np.sort(((np.minimum(src, dst) << shift | np.maximum(src, dst)) << 1) | (src > dst))
    pairs = packed >> 1
    first = np.ones(len(pairs), dtype=bool)
    first[1:] = pairs[1:] != pairs[:-1]
    both = np.zeros(len(pairs), dtype=bool)
    both[:-1] = ~first[1:]
    low, high = pairs[first] >> shift, pairs[first] & mask
    seen_low = np.where(both[first], MUT, np.where(packed[first] & 1, IN, OUT))
    rows = np.concatenate([low, high])
    cols = np.concatenate([high, low])
    types = np.concatenate([seen_low, _INVERSE[seen_low]])

    counts = np.bincount(rows * 3 + types, minlength=3 * n).reshape(n, 3).astype(np.int64)
    starts = (np.cumsum(counts.ravel()) - counts.ravel()).reshape(n, 3)

    keyed = np.sort((((rows << shift) | cols) << 2) | types)
    keys, key_type = keyed >> 2, keyed & 3
    # Rank by (degree, position): each node keeps at most sqrt(2m) higher neighbours.
    rank = np.empty(n, dtype=np.int64)
    rank[np.argsort(counts.sum(axis=1), kind="stable")] = np.arange(n)
    key_rows, key_cols = keys >> shift, keys & mask
    up = rank[key_rows] < rank[key_cols]
    lower, upper, up_type = key_rows[up], key_cols[up], key_type[up]
    up_start = np.searchsorted(lower, np.arange(n + 1)).astype(np.int64)
    return Index(
        nodes, int(degree.sum()), shift, self_loops, counts, starts.astype(np.int64),
        keys, key_rows, key_cols, key_type, lower, upper, up_type, up_start,
    )  # fmt: skip


def lookup(keys: Ints, queries: Ints) -> tuple[npt.NDArray[np.bool_], Ints]:
    """Whether each query is in the sorted ``keys``, and its position there (clipped)."""
    if len(keys) == 0:
        return np.zeros(len(queries), dtype=bool), np.zeros(len(queries), dtype=np.int64)
    at = np.minimum(np.searchsorted(keys, queries), len(keys) - 1)
    return keys[at] == queries, at


def ragged(lengths: Ints, budgets: Iterator[int]) -> Iterator[tuple[Ints, Ints]]:
    """Walk ``(row, k)`` for ``k < lengths[row]`` in order, at most one budget per block."""
    ends = np.cumsum(lengths)
    total = int(ends[-1]) if len(ends) else 0
    starts = ends - lengths
    done = 0
    while done < total:
        stop = min(done + next(budgets), total)
        first = int(np.searchsorted(ends, done, side="right"))
        last = int(np.searchsorted(ends, stop - 1, side="right"))
        rows = np.arange(first, last + 1)
        spans = np.minimum(ends[rows], stop) - np.maximum(starts[rows], done)
        row = np.repeat(rows, spans)
        yield row, np.arange(done, stop, dtype=np.int64) - starts[row]
        done = stop


def budgets(first: int, largest: int) -> Iterator[int]:
    """Block budgets doubling from ``first`` to ``largest``: quick first answers, then speed."""
    size = first
    while True:
        yield size
        size = min(2 * size, largest)


Block = tuple[Ints, Ints]  # type ids, (k, 3) canonical node positions


def triangle_blocks(ix: Index, sizes: Iterator[int]) -> Iterator[Block]:
    """Every triangle once: oriented paths a -> b -> c closed by a dyad a - c."""
    lengths = ix.up_start[ix.upper + 1] - ix.up_start[ix.upper]
    for row, k in ragged(lengths, sizes):
        a, b = ix.lower[row], ix.upper[row]
        q = ix.up_start[b] + k
        c = ix.upper[q]
        hit, at = lookup(ix.keys, (a << ix.shift) | c)
        if hit.any():
            yield classify(
                a[hit],
                b[hit],
                c[hit],
                ix.up_type[row[hit]],
                ix.up_type[q[hit]],
                ix.key_type[at[hit]],
            )


def open_blocks(ix: Index, kind: int, sizes: Iterator[int]) -> Iterator[Block]:
    """Every open triad of one kind (two dyad types at its centre), by centre in graph order."""
    t1, t2 = KINDS[kind]
    centre, nbr, types = ix.grouped
    entries = np.flatnonzero(types == t1)
    centres = centre[entries]
    if t1 == t2:
        partner = entries + 1
        lengths = ix.group_start[centres, t1] + ix.counts[centres, t1] - partner
    else:
        partner = ix.group_start[centres, t2]
        lengths = ix.counts[centres, t2]
    for row, k in ragged(lengths, sizes):
        c = centres[row]
        x = nbr[entries[row]]
        y = nbr[partner[row] + k]
        keep = ~lookup(ix.keys, (x << ix.shift) | y)[0]
        if keep.any():
            x, c, y = x[keep], c[keep], y[keep]
            yield classify(
                x, c, y, np.full(len(x), _INVERSE[t1]), np.full(len(x), t2), np.full(len(x), NONE)
            )


def _pairs(k: Ints) -> Ints:
    return k * (k - 1) // 2


def wedges_at(counts: Ints) -> Ints:
    """``(n, kinds)``: wedges of each kind centred at each node."""
    o, i, m = counts[:, OUT], counts[:, IN], counts[:, MUT]
    return np.stack([_pairs(o), _pairs(i), o * i, i * m, o * m, _pairs(m)], axis=1)


def triangle_counts(ix: Index, members: bool) -> tuple[Ints, Ints | None]:
    """Triangles per type id, and per node and triangle type when ``members``."""
    per_type = np.zeros(len(TYPE_NAMES), dtype=np.int64)
    per_node = np.zeros((ix.n, len(TYPE_NAMES)), dtype=np.int64) if members else None
    for types, triples in triangle_blocks(ix, budgets(1 << 18, 1 << 18)):
        per_type += np.bincount(types, minlength=len(TYPE_NAMES))
        if per_node is not None:
            cells = (triples * len(TYPE_NAMES) + types[:, None]).ravel()
            per_node += np.bincount(cells, minlength=per_node.size).reshape(per_node.shape)
    return per_type, per_node


def census_counts(ix: Index, triangles: Ints) -> list[int]:
    """Complete the 16 counts, in :data:`TYPE_NAMES` order, from the triangle counts."""
    n, counts = ix.n, ix.counts
    result = [int(v) for v in triangles]
    open_ = wedges_at(counts).sum(axis=0) - triangles @ CLOSED
    for kind, type_id in enumerate(_KIND_IDS):
        result[type_id] = int(open_[kind])
    degree = counts.sum(axis=1)
    asym, mutual = counts[:, OUT] + counts[:, IN], counts[:, MUT]
    in_triangles = _DYADS_OF @ triangles
    result[1] = int(asym.sum()) // 2 * n - int(degree @ asym) + int(in_triangles[0])
    result[2] = int(mutual.sum()) // 2 * n - int(degree @ mutual) + int(in_triangles[1])
    result[0] = n * (n - 1) * (n - 2) // 6 - sum(result[1:])
    return result


def node_counts(ix: Index, members: Ints) -> Ints:
    """``(n, 16)``: triads of each type each node belongs to (0 for 003, 012, 102)."""
    counts = ix.counts
    participation = wedges_at(counts).astype(np.float64)
    # As an end: a wedge at centre c with this node as one end and a partner of type t'.
    for other in (OUT, IN, MUT):
        partners = counts[ix.key_centre, other] - (ix.key_type == other)
        kinds = np.array([_KIND_OF[(t, other)] for t in range(3)])[ix.key_type]
        cells = ix.key_nbr * len(KINDS) + kinds
        participation += np.bincount(cells, weights=partners, minlength=participation.size).reshape(
            participation.shape
        )
    result = members.copy()
    result[:, _KIND_IDS] = np.rint(participation).astype(np.int64) - members @ CLOSED
    return result


def names(nodes: Sequence[Hashable], positions: Ints) -> list[Hashable]:
    """Node names at ``positions``."""
    return [nodes[i] for i in positions.tolist()]
