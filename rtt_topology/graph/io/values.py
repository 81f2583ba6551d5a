"""Check service graph values by the contract and convert them per format for rtt_topology.graph.io.

One rule set for every format. On the way out, :func:`export_graph` checks a
graph once and gives its attributes in a *canonical* form: contract attributes
of the contract type (or ``None`` where optional), datetimes as aware UTC
:class:`~datetime.datetime` between 1678 and 2261 (the nanosecond range of
pandas and Arrow), integers in 64 bits, finite floats, text that is valid
Unicode; other attributes as JSON values or datetimes, copied. The writers then
only render. On the way in, :func:`import_value` restores contract types from
JSON values, after :func:`python_cell` for pandas cells.

The public functions, and what each format keeps, are in :mod:`rtt_topology.graph.io`.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import networkx as nx
import numpy as np
import pandas as pd

from rtt_topology.errors import InputError, RecordError
from rtt_topology.graph.contract import (
    EDGE_ATTRIBUTES,
    GRAPH_ATTRIBUTES,
    NODE_ATTRIBUTES,
    Attribute,
)

__all__ = [
    "DT_MAX",
    "DT_MIN",
    "GRAPH_WHERE",
    "INT64_MAX",
    "INT64_MIN",
    "MISSING",
    "Exported",
    "bad",
    "check_digraph",
    "edge_order",
    "edge_where",
    "export_graph",
    "import_value",
    "iso",
    "node_where",
    "python_cell",
    "type_name",
]

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
#: Datetimes must lie in [DT_MIN, DT_MAX): whole years inside pandas' nanosecond range.
DT_MIN: Final = datetime(1678, 1, 1, tzinfo=UTC)
DT_MAX: Final = datetime(2262, 1, 1, tzinfo=UTC)
GRAPH_WHERE: Final = "graph"

_SURROGATE = re.compile("[\ud800-\udfff]")
# What iso() writes; read without the general (Arrow-backed) parser.
_ISO_OURS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z")


class _Missing:
    """A pandas cell that holds no value (None, NaN, NaT, NA)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


@dataclass(frozen=True, slots=True)
class Exported:
    """A checked graph in canonical form, edges in the order that rebuilds it exactly."""

    graph: dict[str, Any]
    nodes: list[tuple[str, dict[str, Any]]]
    edges: list[tuple[str, str, dict[str, Any]]]


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def type_name(value: object) -> str:
    """Name the type of ``value`` as a user would write it (``int``, ``numpy.int64``)."""
    cls = type(value)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def node_where(name: object) -> str:
    """Name a node in an error message."""
    return f"node {_short(name)}"


def edge_where(u: object, v: object) -> str:
    """Name an edge in an error message."""
    return f"edge {_short(u)} -> {_short(v)}"


def bad(where: str, key: str | None, reason: str) -> RecordError:
    """Build the error for one element (and attribute): ``node 'a', attribute 'x': reason``."""
    field = where if key is None else f"{where}, attribute {key!r}"
    return RecordError(reason, field=field)


def check_digraph(G: object) -> nx.DiGraph[Any]:
    """Return ``G`` if it is a directed, simple networkx graph; raise :class:`InputError` if not.

    ``networkx.utils.not_implemented_for`` would raise ``NetworkXNotImplemented``;
    callers of rtt-topology catch ``RttTopologyError``, so the check is spelled out.
    """
    if not isinstance(G, nx.Graph):
        raise InputError(f"expected a networkx.DiGraph, got {type_name(G)}")
    if G.is_multigraph():
        raise InputError(
            f"expected a networkx.DiGraph, got a {type(G).__name__}: "
            "the service graph has at most one edge per caller and callee"
        )
    if not G.is_directed() or not isinstance(G, nx.DiGraph):
        raise InputError(
            f"expected a networkx.DiGraph, got an undirected {type(G).__name__}: "
            "an edge u -> v means u calls v"
        )
    return G


def iso(value: datetime) -> str:
    """Write an aware datetime as ISO 8601 in UTC, microseconds, ``Z``: fixed width."""
    text = value.astimezone(UTC).isoformat(timespec="microseconds")
    return text.removesuffix("+00:00") + "Z"


def _text(value: str, where: str, key: str | None) -> str:
    found = _SURROGATE.search(value)
    if found:
        raise bad(where, key, f"text with a lone surrogate U+{ord(found.group()):04X}")
    return str(value)


def _int(value: int, where: str, key: str | None) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise bad(where, key, f"integer {_short(value)} does not fit in 64 bits")
    return int(value)


def _float(value: float, where: str, key: str | None) -> float:
    if not math.isfinite(value):
        raise bad(where, key, f"float {value!r} is not allowed: use None for unknown")
    return float(value)


def _datetime(value: datetime, where: str, key: str | None) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise bad(where, key, f"naive datetime {value.isoformat()}: expected an aware UTC datetime")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 with an offset
        utc = DT_MAX
    # A plain datetime even from a subclass (pandas.Timestamp): nanoseconds are dropped.
    plain = datetime(
        utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond, UTC
    )
    if not DT_MIN <= plain < DT_MAX:
        raise bad(where, key, f"datetime {value.isoformat()} is outside 1678-2261")
    return plain


def _str_list(value: list[Any] | tuple[Any, ...], where: str, key: str) -> list[str]:
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise bad(where, key, f"list item {i} is {type_name(item)} {_short(item)}, not str")
        out.append(_text(item, where, key))
    return out


def _typed(value: Any, expected: type, where: str, key: str) -> Any:
    """Check a non-None value of a contract attribute; return it canonical, or raise."""
    if expected is bool:
        if isinstance(value, bool):
            return value
    elif expected is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return _int(value, where, key)
    elif expected is float:
        # An int is refused: it would come back as a float, a different type.
        if isinstance(value, float):
            return _float(value, where, key)
    elif expected is str:
        if isinstance(value, str):
            return _text(value, where, key)
    elif expected is datetime:
        if isinstance(value, datetime):
            return _datetime(value, where, key)
    elif expected is list:
        if isinstance(value, list | tuple):
            return _str_list(value, where, key)
    else:  # pragma: no cover - the contract only uses the types above
        raise TypeError(f"unknown contract type {expected!r}")
    raise bad(where, key, f"expected {expected.__name__}, got {type_name(value)} {_short(value)}")


def _extra(value: Any, where: str, key: str) -> Any:
    """Check a value of an attribute outside the contract: a JSON value or a datetime."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return _int(value, where, key)
    if isinstance(value, float):
        return _float(value, where, key)
    if isinstance(value, str):
        return _text(value, where, key)
    if isinstance(value, datetime):
        return _datetime(value, where, key)
    if isinstance(value, list | tuple):
        return [_extra(item, where, key) for item in value]
    if isinstance(value, Mapping):
        out = {}
        for k, item in value.items():
            if not isinstance(k, str):
                raise bad(where, key, f"mapping key {_short(k)} is {type_name(k)}, not str")
            out[_text(k, where, key)] = _extra(item, where, key)
        return out
    raise bad(
        where,
        key,
        f"unsupported value of type {type_name(value)}: use str, int, float, bool, "
        "datetime, None, or lists and dicts of them",
    )


def _export_attrs(
    data: Mapping[Any, Any],
    contract: Mapping[str, Attribute],
    where: str,
    reserved: Mapping[str, str],
) -> dict[str, Any]:
    out = {}
    for key, value in data.items():
        if not isinstance(key, str):
            raise bad(where, None, f"attribute name {_short(key)} is {type_name(key)}, not str")
        if key in reserved:
            raise bad(where, key, f"the name is reserved: {reserved[key]}; rename the attribute")
        _text(key, where, key)
        attr = contract.get(key)
        if attr is None:
            out[key] = _extra(value, where, key)
        elif value is None:
            if not attr.optional:
                raise bad(where, key, "None, but the contract does not allow None here")
            out[key] = None
        else:
            out[key] = _typed(value, attr.type, where, key)
    return out


def edge_order(G: nx.DiGraph[Any]) -> list[tuple[Any, Any]]:
    """Order the edges so that adding them in turn rebuilds both ``G.succ`` and ``G.pred``.

    ``G.edges`` lists edges by caller, which rebuilds each node's successors in
    order but not always its predecessors. Both orders come from one insertion
    history, so an order satisfying both exists; this is the one closest to
    ``G.edges`` (a topological sort that prefers the earlier edge).
    """
    edges = list(G.edges())
    index = {edge: i for i, edge in enumerate(edges)}
    after: list[list[int]] = [[] for _ in edges]
    waiting = [0] * len(edges)
    for i in range(1, len(edges)):
        if edges[i - 1][0] == edges[i][0]:
            after[i - 1].append(i)
            waiting[i] += 1
    for v, preds in G.pred.items():
        chain = [index[u, v] for u in preds]
        for a, b in itertools.pairwise(chain):
            after[a].append(b)
            waiting[b] += 1
    ready = [i for i, count in enumerate(waiting) if count == 0]
    heapq.heapify(ready)
    out = []
    while ready:
        i = heapq.heappop(ready)
        out.append(edges[i])
        for j in after[i]:
            waiting[j] -= 1
            if waiting[j] == 0:
                heapq.heappush(ready, j)
    # Adjacency edited by hand can contradict itself; then successors' order wins.
    return out if len(out) == len(edges) else edges


def export_graph(
    G: object,
    *,
    node_reserved: Mapping[str, str] | None = None,
    edge_reserved: Mapping[str, str] | None = None,
    graph_reserved: Mapping[str, str] | None = None,
) -> Exported:
    """Check ``G`` and return its attributes in canonical form.

    The ``*_reserved`` mappings name attributes a format cannot hold, with the reason.
    """
    G = check_digraph(G)
    graph = _export_attrs(G.graph, GRAPH_ATTRIBUTES, GRAPH_WHERE, graph_reserved or {})
    nodes = []
    for name, data in G.nodes(data=True):
        where = node_where(name)
        if not isinstance(name, str):
            raise bad(where, None, f"node names must be str, got {type_name(name)}")
        nodes.append(
            (
                _text(name, where, None),
                _export_attrs(data, NODE_ATTRIBUTES, where, node_reserved or {}),
            )
        )
    edges = [
        (
            str(u),
            str(v),
            _export_attrs(G.succ[u][v], EDGE_ATTRIBUTES, edge_where(u, v), edge_reserved or {}),
        )
        for u, v in edge_order(G)
    ]
    return Exported(graph, nodes, edges)


def _parse_datetime(value: str, where: str, key: str) -> datetime:
    parsed: datetime | None = None
    if _ISO_OURS.fullmatch(value):
        # Not a valid date after all (month 13) when this fails: the general parser says why.
        with contextlib.suppress(ValueError):
            parsed = datetime.fromisoformat(value)
    if parsed is None:
        # The one timestamp rule set; imported here because it brings in pyarrow.
        from rtt_topology._timestamps import NAIVE_REASON, parse_ts_scalar

        try:
            parsed = parse_ts_scalar(value)
        except ValueError as exc:
            reason = "naive timestamp (no UTC offset)" if str(exc) == NAIVE_REASON else str(exc)
            raise bad(where, key, f"{reason}: {_short(value)}") from exc
    return _datetime(parsed, where, key)


def import_value(
    value: Any, attr: Attribute | None, where: str, key: str, *, integral_floats: bool = False
) -> Any:
    """Restore a JSON (or plain Python) value to the contract type of its attribute.

    Extra attributes are returned as they are. ``integral_floats`` accepts ``3.0``
    for an int (pandas turns int columns with gaps into floats).
    """
    if attr is None:
        return value
    if value is None:
        if not attr.optional:
            raise bad(where, key, "null, but the contract does not allow null here")
        return None
    expected = attr.type
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        # JSON writers (JavaScript's among them) write 30.0 as 30.
        return _float(float(value), where, key)
    if expected is int and integral_floats and isinstance(value, float) and value.is_integer():
        return _int(int(value), where, key)
    if expected is datetime and isinstance(value, str):
        return _parse_datetime(value, where, key)
    if expected is datetime and not isinstance(value, datetime):
        raise bad(where, key, f"expected an ISO 8601 datetime, got {type_name(value)}")
    return _typed(value, expected, where, key)


def python_cell(value: Any) -> Any:
    """Turn one pandas cell into plain Python: :data:`MISSING`, or a value without numpy types."""
    if value is None or value is pd.NA or value is pd.NaT:
        return MISSING
    if isinstance(value, float | np.floating) and math.isnan(value):
        return MISSING
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            return MISSING
        value = pd.Timestamp(value)
    if isinstance(value, pd.Timestamp):
        plain = value.to_pydatetime(warn=False)
        return plain if plain.tzinfo is None else plain.astimezone(UTC)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return [_nested(item) for item in value.tolist()]
    if isinstance(value, list | tuple):
        return [_nested(item) for item in value]
    if isinstance(value, Mapping):
        return {k: _nested(item) for k, item in value.items()}
    if isinstance(value, str):
        return str(value)
    return value


def _nested(value: Any) -> Any:
    cell = python_cell(value)
    return None if cell is MISSING else cell
