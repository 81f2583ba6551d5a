"""The result types of the triadic decomposition and their construction from engine arrays.

The types, constants and models are public through :mod:`rtt_topology.diagnostics.triads`;
this module also turns the engine's blocks (type ids and node positions, see
:mod:`rtt_topology.diagnostics.triads.engine`) into triads, data frames and records.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final, Literal, NamedTuple, get_args

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from rtt_topology.diagnostics.triads import engine as _engine
from rtt_topology.errors import InputError

__all__ = [
    "CONNECTED_TYPES",
    "LAYERS",
    "READINGS",
    "ROLES",
    "TRIAD_TYPES",
    "ConnectedType",
    "Decomposition",
    "Layer",
    "NodeTriads",
    "Role",
    "Triad",
    "TriadCensus",
    "TriadRecord",
    "TriadType",
    "blocks",
    "chunks",
    "examples",
    "iter_triads",
    "node_frame",
    "type_ids",
]

# The first blocks are small (a quick first answer), later ones large (throughput).
_FIRST_BLOCK, _LARGEST_BLOCK = 1024, 1 << 16


TriadType = Literal[
    "003", "012", "102", "021D", "021U", "021C", "111D", "111U",
    "030T", "030C", "201", "120D", "120U", "120C", "210", "300",
]  # fmt: skip
ConnectedType = Literal[
    "021D", "021U", "021C", "111D", "111U", "030T", "030C", "201", "120D", "120U", "120C",
    "210", "300",
]  # fmt: skip
Role = Literal["generate", "transform", "sustain"]
Layer = Literal["D0", "D1", "D2", "D3", "D4", "D5", "D6", "D7"]

#: The 16 MAN types, in the order of :func:`networkx.triadic_census`.
TRIAD_TYPES: Final[tuple[TriadType, ...]] = get_args(TriadType)
#: The 13 types of connected triads (two or three dyads), in the same order.
CONNECTED_TYPES: Final[tuple[ConnectedType, ...]] = get_args(ConnectedType)
#: The roles of :func:`roles`, from callers to dependencies.
ROLES: Final[tuple[Role, ...]] = get_args(Role)
#: The layers of :func:`layers`, from the sources down.
LAYERS: Final[tuple[Layer, ...]] = get_args(Layer)

#: A short service-graph reading of each type (the table of the module docstring).
READINGS: Final[dict[TriadType, str]] = {
    "003": "three services with no calls between them",
    "012": "one call; the third service is unrelated",
    "102": "mutual coupling: two services call each other; the third is unrelated",
    "021D": "fan-out: one service calls two services that do not call each other",
    "021U": "shared dependency: two services call a third and not each other",
    "021C": "call chain: the first reaches the third only through the second",
    "111D": "an outside caller of a mutually coupled pair",
    "111U": "a mutually coupled pair with an outside dependency",
    "030T": (
        "shortcut past a layer, or a dependency also used through another service: "
        "the first calls the third directly and through the second"
    ),
    "030C": "call cycle: a request can come back to the service it started from",
    "201": "a hub coupled both ways with two services that do not call each other",
    "120D": "one caller of both services of a mutually coupled pair",
    "120U": "a mutually coupled pair sharing a dependency",
    "120C": "a call chain closed by mutual coupling: a cycle through a coupled pair",
    "210": "nearly full coupling: two coupled pairs and one one-way call",
    "300": "three services all calling each other: one unit in practice",
}


class Triad(NamedTuple):
    """A connected triad: three nodes in the canonical order of its type, and its type."""

    nodes: tuple[Any, Any, Any]
    type: str


@dataclass(frozen=True)
class TriadCensus:
    """The triad census of a directed graph.

    Attributes
    ----------
    counts
        Triads of each of the 16 types, keys in the order of :data:`TRIAD_TYPES`
        (equal to :func:`networkx.triadic_census`).
    self_loops
        Nodes with an edge to themselves, in graph order (no triad counts them).
    nodes, edges
        Size of the graph (``edges`` includes self-loops).
    mutual, asymmetric
        Dyads with calls both ways, and one way (self-loops excluded).
    """

    counts: dict[str, int]
    self_loops: list[Any] = field(default_factory=list)
    nodes: int = 0
    edges: int = 0
    mutual: int = 0
    asymmetric: int = 0


def type_ids(types: Iterable[str] | None) -> list[int]:
    """Type ids of the requested connected types (all by default); InputError if unknown."""
    if types is None:
        return list(range(3, len(TRIAD_TYPES)))
    wanted = [types] if isinstance(types, str) else list(types)
    unknown = [t for t in wanted if t not in CONNECTED_TYPES]
    if unknown:
        raise InputError(
            f"unknown or unconnected triad type(s) {', '.join(map(repr, unknown))}: "
            f"types are among {', '.join(CONNECTED_TYPES)}"
        )
    return sorted({TRIAD_TYPES.index(t) for t in wanted})


def blocks(ix: _engine.Index, type_ids: list[int]) -> Iterator[_engine.Block]:
    """Blocks of connected triads: triangles first, then open triads by type and centre."""
    triangle_ids = np.array([t for t in type_ids if TRIAD_TYPES[t] in _engine.TRIANGLE_TYPES])
    if len(triangle_ids):
        for types, triples in _engine.triangle_blocks(
            ix, _engine.budgets(_FIRST_BLOCK, _LARGEST_BLOCK)
        ):
            keep = np.isin(types, triangle_ids)
            if keep.any():
                yield types[keep], triples[keep]
    for kind, name in enumerate(_engine.KIND_TYPES):
        if TRIAD_TYPES.index(name) in type_ids:
            yield from _engine.open_blocks(ix, kind, _engine.budgets(_FIRST_BLOCK, _LARGEST_BLOCK))


def iter_triads(ix: _engine.Index, type_ids: list[int]) -> Iterator[Triad]:
    """Yield the triads of :func:`blocks` as :class:`Triad` tuples."""
    names = np.fromiter(ix.nodes, dtype=object, count=ix.n)
    type_names = np.array(TRIAD_TYPES, dtype=object)
    for types, triples in blocks(ix, type_ids):
        # Columns of names, zipped: one tuple per triad (a nested list would be two
        # more containers per triad, and the garbage collector's work).
        a, b, c = (names[triples[:, i]].tolist() for i in range(3))
        members = zip(a, b, c, strict=True)
        yield from map(Triad._make, zip(members, type_names[types].tolist(), strict=True))


def chunks(ix: _engine.Index, type_ids: list[int], size: int) -> Iterator[pd.DataFrame]:
    """Yield the triads of :func:`blocks` as frames of ``size`` rows."""
    names = np.fromiter(ix.nodes, dtype=object, count=ix.n)
    pending: list[_engine.Block] = []
    held = 0
    for block in blocks(ix, type_ids):
        pending.append(block)
        held += len(block[0])
        while held >= size:
            types_all = np.concatenate([b[0] for b in pending])
            triples_all = np.concatenate([b[1] for b in pending])
            yield _frame(names, types_all[:size], triples_all[:size])
            pending = [(types_all[size:], triples_all[size:])]
            held -= size
    if held:
        types_all = np.concatenate([b[0] for b in pending])
        yield _frame(names, types_all, np.concatenate([b[1] for b in pending]))


def _frame(names: np.ndarray[Any, Any], types: _engine.Ints, triples: _engine.Ints) -> pd.DataFrame:
    codes = types - TRIAD_TYPES.index("021D")
    return pd.DataFrame(
        {
            "a": names[triples[:, 0]],
            "b": names[triples[:, 1]],
            "c": names[triples[:, 2]],
            "type": pd.Categorical.from_codes(codes, categories=pd.Index(CONNECTED_TYPES)),
        }
    )


def node_frame(ix: _engine.Index, members: _engine.Ints) -> pd.DataFrame:
    """Build the node census frame from the triangle memberships."""
    counts = _engine.node_counts(ix, members)[:, TRIAD_TYPES.index("021D") :]
    index = pd.Index(np.fromiter(ix.nodes, dtype=object, count=ix.n), name="node")
    return pd.DataFrame(counts, index=index, columns=list(CONNECTED_TYPES))


def examples(
    ix: _engine.Index, counts: list[int], cap: int
) -> dict[ConnectedType, list[TriadRecord]]:
    """Collect the first ``cap`` triads of each type, in :func:`triads` order."""
    wanted = {t: min(cap, counts[t]) for t in range(3, len(TRIAD_TYPES)) if min(cap, counts[t])}
    found: dict[int, list[_engine.Ints]] = {t: [] for t in wanted}
    missing = dict(wanted)
    triangle_ids = [t for t in wanted if TRIAD_TYPES[t] in _engine.TRIANGLE_TYPES]
    groups = [triangle_ids] if triangle_ids else []
    groups += [[t] for t in wanted if t not in triangle_ids]
    for group in groups:
        for types, triples in blocks(ix, group):
            for t in np.unique(types).tolist():
                taken = triples[types == t][: missing[t]]
                found[t].append(taken)
                missing[t] -= len(taken)
            # Stop as soon as this group's types are complete.
            if not any(missing[t] for t in group):
                break
    names = ix.nodes
    return {
        name: [
            TriadRecord(nodes=(names[a], names[b], names[c]), type=name)
            for arrays in found.get(TRIAD_TYPES.index(name), [])
            for a, b, c in arrays.tolist()
        ]
        for name in CONNECTED_TYPES
    }


class TriadRecord(BaseModel):
    """One connected triad: its three services in canonical order and its type."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    nodes: tuple[str, str, str] = Field(description="the services, in the order of the type")
    type: ConnectedType = Field(description="the MAN code")


class NodeTriads(BaseModel):
    """How many connected triads of each type one service belongs to."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    node: str
    counts: dict[ConnectedType, int]


class Decomposition(BaseModel):
    """The triadic decomposition of a service graph, ready for JSON (**ours**).

    Built by :func:`decompose`; the readings, roles and layers are defined in the
    :mod:`rtt_topology.diagnostics.triads.decomposition` module docstring.
    """

    model_config = ConfigDict(extra="forbid")

    nodes: int = Field(description="services in the graph")
    edges: int = Field(description="calls (caller-callee pairs), self-loops included")
    self_loops: list[str] = Field(description="services calling themselves (in no triad)")
    census: dict[TriadType, int] = Field(description="triads of each of the 16 MAN types")
    readings: dict[TriadType, str] = Field(description="what each type means for services")
    roles: dict[str, Role] = Field(description="service to generate, transform or sustain")
    layers: dict[str, Layer] = Field(description="service to D0..D7, depth from the sources")
    node_census: list[NodeTriads] = Field(description="connected triads per service")
    max_triads: int = Field(description="the cap on examples per type")
    examples: dict[ConnectedType, list[TriadRecord]] = Field(
        description="up to max_triads triads of each connected type, in triads() order"
    )
