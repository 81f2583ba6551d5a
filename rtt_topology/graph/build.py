"""Build the service graph from heartbeats, profiles and trace edges.

:func:`build_graph` joins any subset of the three inputs into one
:class:`networkx.DiGraph` following :mod:`rtt_topology.graph.contract`:

- **nodes** are the services seen in beacons (``observed``), declared by a profile
  (``declared``), or seen in traces (``traced``: every service named by a span of
  ``spans=``, calls or not, and every end of a traced edge; ``virtual`` when known
  only as the peer of a client span; a span without a service name makes no
  node), plus services named only in a profile's ``depends_on``
  (all three flags false). Sites that send nothing but ``cluster_heartbeat``
  beacons are clusters: they name groups and are listed in the graph attribute
  ``clusters``, not added as services.
- **edges** ``u -> v`` (u calls v) come from the trace edge table (provenance
  ``traced``) and from profiles' ``depends_on`` (``declared``); both give
  ``both``. A caller-callee pair traced with several kinds keeps one edge: calls
  and errors summed, the kind and latencies of the kind with the most calls.
  Declared-only edges have kind ``rpc`` and no calls.
- **group** of a node, first match: the ``groups`` argument; the profile's own
  ``group`` or ``cluster`` key; a profile tag naming a cluster; the cluster most of
  its spans report (``spans=`` with a ``cluster`` column); the one cluster whose
  heartbeats arrive in the same files as its beacons (a collector per cluster);
  else ``None``.

A window (``start``, ``end``) keeps beacons and spans with ``start <= ts < end``.
An edge table has no per-call times: with a window, pass the span table
(``spans=``) so that only the calls inside the window count; an edge table alone
is then kept only for edges whose first-last seen period meets the window.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import networkx as nx
import pandas as pd

from rtt_topology._timestamps import aware_utc
from rtt_topology._version import __version__
from rtt_topology.errors import InputError
from rtt_topology.graph.contract import EDGE_KINDS, NODE_ATTRIBUTES, Attribute
from rtt_topology.graph.validate import validate_graph
from rtt_topology.schemas import Profile

if TYPE_CHECKING:
    from rtt_topology.aggregate.engines import Engine, History

__all__ = [
    "EDGE_TABLE_COLUMNS",
    "add_declared_edge",
    "add_service",
    "build_graph",
    "span_services",
    "validate_graph",
]

#: Columns an edge table must have (as ``read_traces`` returns it); others are optional.
EDGE_TABLE_COLUMNS: tuple[str, ...] = ("caller", "callee", "kind", "calls", "errors")

_SAMPLE_IDS = 5


def _plain(value: Any) -> Any:
    """Turn pandas and numpy scalars into plain Python values (missing becomes None)."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value.item() if hasattr(value, "item") else value


def _in_window(times: pd.Series, start: datetime | None, end: datetime | None) -> pd.Series:
    keep = pd.Series(True, index=times.index)
    if start is not None:
        keep &= times >= start
    if end is not None:
        keep &= times < end
    return keep


def _profile_group(profile: Profile, clusters: set[str]) -> str | None:
    extra = profile.model_extra or {}
    for key in ("group", "cluster"):
        if isinstance(extra.get(key), str) and extra[key]:
            return str(extra[key])
    for tag in profile.tags:
        if tag in clusters:
            return tag
    return None


def _default(attribute: Attribute) -> Any:
    if attribute.type is bool:
        return False
    if attribute.type is int:
        return 0
    return [] if attribute.type is list else None


_NODE_DEFAULTS: dict[str, Any] = {
    name: _default(attribute) for name, attribute in NODE_ATTRIBUTES.items()
}
_LIST_ATTRIBUTES = [name for name, a in NODE_ATTRIBUTES.items() if a.type is list]


def _node_defaults() -> dict[str, Any]:
    node = dict(_NODE_DEFAULTS)
    for name in _LIST_ATTRIBUTES:
        node[name] = []
    return node


def _profile_fields(profile: Profile) -> dict[str, Any]:
    return {
        "declared": True,
        "rtt_version": profile.rtt_version,
        "supports": list(profile.supports),
        "contact": profile.contact,
        "depends_on": list(profile.depends_on),
        "heartbeat_interval_s": profile.heartbeat_interval_s,
        "layer": profile.layer,
        "owner": profile.owner,
        "lifecycle": profile.lifecycle,
        "tags": list(profile.tags),
    }


def _column(edges: pd.DataFrame, name: str, default: Any = None) -> list[Any]:
    """Return a column as plain Python values (None for missing), or ``default`` per row."""
    if name not in edges.columns:
        return [default] * len(edges)
    column = edges[name]
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        values = column.dt.tz_convert("UTC").dt.to_pydatetime().tolist()
        return [None if v is pd.NaT or v is None else v for v in values]
    if name == "sample_trace_ids":
        return [[str(s) for s in (v or [])[:_SAMPLE_IDS]] for v in column.tolist()]
    values = column.to_numpy(dtype=object).tolist()
    return [None if v is None or v is pd.NA or v != v else _plain(v) for v in values]


def _traced_edges(edges: pd.DataFrame) -> list[tuple[str, str, dict[str, Any]]]:
    """One edge per caller-callee pair, attributes by the contract, as plain values."""
    edges = edges.sort_values("calls", ascending=False, kind="stable")
    rows = zip(
        edges["caller"].astype(str).to_numpy(dtype=object).tolist(),
        edges["callee"].astype(str).to_numpy(dtype=object).tolist(),
        edges["kind"].astype(str).to_numpy(dtype=object).tolist(),
        edges["calls"].to_numpy(dtype="int64").tolist(),
        edges["errors"].to_numpy(dtype="int64").tolist(),
        _column(edges, "p50_ms"),
        _column(edges, "p95_ms"),
        _column(edges, "first_seen"),
        _column(edges, "last_seen"),
        _column(edges, "sample_trace_ids", []),
        strict=True,
    )
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for caller, callee, kind, calls, errors, p50, p95, first, last, samples in rows:
        edge = merged.get((caller, callee))
        if edge is None:
            merged[caller, callee] = {
                "kind": kind,
                "provenance": "traced",
                "calls": calls,
                "errors": errors,
                "error_rate": errors / calls if calls else None,
                "p50_ms": p50,
                "p95_ms": p95,
                "first_seen": first,
                "last_seen": last,
                "sample_trace_ids": samples,
            }
            continue
        # The same pair with another kind: add its calls to the dominant kind's edge.
        edge["calls"] += calls
        edge["errors"] += errors
        edge["error_rate"] = edge["errors"] / edge["calls"] if edge["calls"] else None
        edge["first_seen"] = min((t for t in (edge["first_seen"], first) if t), default=None)
        edge["last_seen"] = max((t for t in (edge["last_seen"], last) if t), default=None)
        room = max(_SAMPLE_IDS - len(edge["sample_trace_ids"]), 0)
        edge["sample_trace_ids"] = edge["sample_trace_ids"] + samples[:room]
    return [(u, v, attrs) for (u, v), attrs in merged.items()]


def span_services(spans: pd.DataFrame) -> list[str]:
    """Return the services named by a span table, sorted: the graph's traced nodes.

    A span without a service name (``""`` or missing) names none; its spans are
    counted in the trace load's report (``unpaired["empty service name"]``).

    Examples
    --------
    >>> import pandas as pd
    >>> span_services(pd.DataFrame({"service": ["api", "", None, "db", "api"]}))
    ['api', 'db']
    """
    names = spans["service"].dropna().astype(str).unique()
    return sorted(str(name) for name in names if name)


def _check_edge_table(edges: pd.DataFrame) -> None:
    missing = [c for c in EDGE_TABLE_COLUMNS if c not in edges.columns]
    if missing:
        raise InputError(f"not an edge table: missing column(s) {', '.join(missing)}")
    bad = sorted(set(edges["kind"].astype(str)) - set(EDGE_KINDS))
    if bad:
        raise InputError(f"edge table: unknown kind(s) {', '.join(bad)}; expected {EDGE_KINDS}")


def build_graph(
    beacons: pd.DataFrame | History | None = None,
    profiles: Mapping[str, Profile] | None = None,
    edges: pd.DataFrame | None = None,
    *,
    spans: pd.DataFrame | None = None,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    groups: Mapping[str, str] | None = None,
    engine: Engine = "auto",
) -> nx.DiGraph[str]:
    """Join beacons, profiles and trace edges into the service graph.

    Parameters
    ----------
    beacons
        A beacon table (:func:`~rtt_topology.load.read_beacons`), or a
        :class:`~rtt_topology.aggregate.engines.History` (a history store): only its
        per-service summary, clusters and (site, source) pairs are read.
    profiles
        Profiles keyed by site (:func:`~rtt_topology.load.read_profiles`).
    edges
        A trace edge table (``read_traces(...).edges``): ``caller``, ``callee``,
        ``kind``, ``calls``, ``errors`` and optionally ``p50_ms``, ``p95_ms``,
        ``first_seen``, ``last_seen``, ``sample_trace_ids``, ``callee_virtual``.
    spans
        A span table (``read_traces(...).spans``): its edges replace ``edges``,
        restricted to the window, and its ``cluster`` column helps grouping.
    start, end
        The window, ``start <= ts < end`` (aware datetimes or ISO 8601 strings).
    groups
        Service to group, overriding what the inputs say.
    engine
        ``"pandas"``, ``"duckdb"`` or ``"auto"``
        (:func:`~rtt_topology.aggregate.engines.choose_engine`): which engine reads
        the beacons.

    Returns
    -------
    networkx.DiGraph
        The graph of :mod:`rtt_topology.graph.contract`.

    Examples
    --------
    >>> import pandas as pd
    >>> from rtt_topology.schemas import Profile
    >>> edges = pd.DataFrame({"caller": ["api"], "callee": ["db"], "kind": ["database"],
    ...                       "calls": [12], "errors": [1]})
    >>> profiles = {"api": Profile(rtt_version="1.0", supports=[], depends_on=["db", "cache"])}
    >>> G = build_graph(profiles=profiles, edges=edges)
    >>> sorted(G.edges(data="provenance"))
    [('api', 'cache', 'declared'), ('api', 'db', 'both')]
    >>> G.nodes["db"]["traced"], G.nodes["db"]["declared"], G.edges["api", "db"]["error_rate"]
    (True, False, 0.08333333333333333)
    """
    window_start, window_end = aware_utc(start, "start"), aware_utc(end, "end")
    if window_start and window_end and window_start >= window_end:
        raise InputError(f"empty window: start {window_start} is not before end {window_end}")
    inputs: list[str] = []
    G: nx.DiGraph[str] = nx.DiGraph()

    clusters: list[str] = []
    collected_with: dict[str, str] = {}
    summary = None
    if beacons is not None:
        inputs.append("beacons")
        from rtt_topology.graph.beacons import beacon_facts

        summary, clusters, collected_with = beacon_facts(beacons, window_start, window_end, engine)

    if spans is not None:
        inputs.append("traces")
        if window_start or window_end:
            spans = spans[_in_window(spans["start"], window_start, window_end)]
        from rtt_topology.load.traces import edges_from_spans

        edges = edges_from_spans(spans)[0]
    elif edges is not None:
        inputs.append("traces")
        _check_edge_table(edges)
        if (window_start or window_end) and {"first_seen", "last_seen"} <= set(edges.columns):
            meets = pd.Series(True, index=edges.index)
            if window_start is not None:
                meets &= edges["last_seen"].isna() | (edges["last_seen"] >= window_start)
            if window_end is not None:
                meets &= edges["first_seen"].isna() | (edges["first_seen"] < window_end)
            edges = edges[meets]
    if edges is not None:
        _check_edge_table(edges)
    if profiles is not None:
        inputs.append("profiles")

    cluster_set = set(clusters)

    def node(name: str) -> dict[str, Any]:
        return add_service(G, name)

    if summary is not None:
        for row in summary.to_dict("records"):
            node(str(row["site"])).update(
                observed=True,
                beacons=int(row["beacons"]),
                sessions=int(row["sessions"]),
                first_seen=_plain(row["first_seen"]),
                last_seen=_plain(row["last_seen"]),
                median_interval_s=_plain(row["median_interval_s"]),
            )
    for site, profile in sorted((profiles or {}).items()):
        if site in cluster_set:
            continue
        node(site).update(_profile_fields(profile))

    if edges is not None and not edges.empty:
        traced = _traced_edges(edges)
        names = dict.fromkeys(name for u, v, _ in traced for name in (u, v))
        G.add_nodes_from((name, _node_defaults()) for name in names if name not in G)
        for name in names:
            G.nodes[name]["traced"] = True
        G.add_edges_from(traced)
        if "callee_virtual" in edges.columns:
            virtual = set(edges.loc[edges["callee_virtual"].astype(bool), "callee"].astype(str))
            for name in virtual - set(edges["caller"].astype(str)):
                attrs = G.nodes[name]
                if not attrs["observed"] and not attrs["declared"]:
                    attrs["virtual"] = True

    if spans is not None:
        # A traced service is a node even when none of its spans is a call.
        for name in span_services(spans):
            node(name)["traced"] = True

    for site, profile in sorted((profiles or {}).items()):
        if site in cluster_set:
            continue
        for dependency in profile.depends_on:
            add_declared_edge(G, site, dependency)

    _assign_groups(G, profiles or {}, cluster_set, spans, groups or {}, collected_with)
    G.graph.update(
        window_start=window_start,
        window_end=window_end,
        inputs=inputs,
        clusters=clusters,
        rtt_topology_version=__version__,
    )
    return G


def add_service(G: nx.DiGraph[str], name: str) -> dict[str, Any]:
    """Add a service node with the contract's default attributes, unless it exists.

    Parameters
    ----------
    G
        A service graph; modified in place.
    name
        The service.

    Returns
    -------
    dict
        The node's attribute dict (existing or new), to update.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph()
    >>> add_service(G, "api")["observed"]
    False
    """
    if name not in G:
        G.add_node(name, **_node_defaults())
    attrs: dict[str, Any] = G.nodes[name]
    return attrs


def add_declared_edge(G: nx.DiGraph[str], caller: str, callee: str) -> None:
    """Add a declared dependency ``caller -> callee`` (both services added if missing).

    An edge already traced becomes ``both``; a new one is declared: kind ``rpc``, no
    calls.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph()
    >>> add_declared_edge(G, "api", "db")
    >>> G.edges["api", "db"]["provenance"], G.edges["api", "db"]["calls"]
    ('declared', 0)
    """
    if G.has_edge(caller, callee):
        if G.edges[caller, callee]["provenance"] == "traced":
            G.edges[caller, callee]["provenance"] = "both"
        return
    add_service(G, caller)
    add_service(G, callee)
    G.add_edge(
        caller,
        callee,
        kind="rpc",
        provenance="declared",
        calls=0,
        errors=0,
        error_rate=None,
        p95_ms=None,
        p50_ms=None,
        first_seen=None,
        last_seen=None,
        sample_trace_ids=[],
    )


def _assign_groups(
    G: nx.DiGraph[str],
    profiles: Mapping[str, Profile],
    clusters: set[str],
    spans: pd.DataFrame | None,
    groups: Mapping[str, str],
    collected_with: Mapping[str, str],
) -> None:
    from_spans: dict[str, str] = {}
    if spans is not None and "cluster" in spans.columns and not spans.empty:
        known = spans.dropna(subset=["cluster"])
        for service, values in known.groupby(known["service"].astype(str))["cluster"]:
            from_spans[str(service)] = Counter(values.astype(str)).most_common(1)[0][0]
    for name, attrs in G.nodes(data=True):
        group = groups.get(name)
        if group is None and name in profiles:
            group = _profile_group(profiles[name], clusters)
        if group is None:
            group = from_spans.get(name)
        if group is None:
            group = collected_with.get(name)
        attrs["group"] = group
