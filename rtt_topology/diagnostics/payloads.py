"""Build the ``/validate``, ``/corridor`` and ``/topology`` bodies, as pydantic models.

The published shapes (upstream RTT-Inside, stable API surface)::

    /validate   {"system_map": {"services": [...], "nodes": N}, "flows": [{"from", "to"}],
                 "constraints": [...]}
    /corridor   {"flows": [{"path": [...], "latency_ms": X}]}
    /topology   {"graph": {caller: [callees], ...}}   every node a key, sinks with []

Upstream keeps ``system_map``, flow items and constraints open (extra keys are
ignored by the server today), and publishes no constraint object. Ours, inside
those open objects:

=======================================  =============================================
where                                    what we add
=======================================  =============================================
``system_map.attributes[service]``       group, state, declared, observed, traced,
                                         virtual, layer, lifecycle, owner, supports
``system_map.window``                    the time window the graph was built from
``flows[]`` of /validate                 calls, errors, p95_ms, kind, provenance
``constraints[]``                        our rule objects (:mod:`rtt_topology.diagnostics.rules`):
                                         ``id``, ``kind``, ``severity`` and the rule's
                                         fields
``flows[]`` of /corridor                 source (observed or declared), name (of a
                                         declared corridor), calls, latency_p50_ms,
                                         latency_p95_ms; ``latency_ms`` is the p95 of
                                         an observed path, the bound of a declared one
``decomposition`` of /topology           the triadic decomposition
                                         (:func:`rtt_topology.diagnostics.triads.decompose`)
=======================================  =============================================

``to_body(strict=True)`` emits only the published keys (and an empty
``constraints`` list, since no constraint object is published). The JSON Schemas
of the three bodies are generated from these models and shipped in
``rtt_topology/diagnostics/payload_schemas/``; :func:`write_schemas` regenerates them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import networkx as nx
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rtt_topology.diagnostics.triads.decomposition import Decomposition
from rtt_topology.errors import InputError

__all__ = [
    "SCHEMA_DIR",
    "Constraint",
    "CorridorFlow",
    "CorridorPayload",
    "Flow",
    "ServiceAttributes",
    "SystemMap",
    "TopologyPayload",
    "ValidatePayload",
    "Window",
    "corridor_payload",
    "parse_payload",
    "payload_schemas",
    "topology_payload",
    "validate_payload",
    "write_schemas",
]

#: Where the shipped JSON Schemas are.
SCHEMA_DIR = Path(__file__).parent / "payload_schemas"

Endpoint = Literal["validate", "corridor", "topology"]


class _Open(BaseModel):
    """An object upstream keeps open: unknown keys are kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Window(BaseModel):
    """The time window a payload describes (ours)."""

    start: datetime | None = None
    end: datetime | None = None


class ServiceAttributes(_Open):
    """What ``system_map.attributes`` says of one service (ours)."""

    group: str | None = None
    state: str | None = None
    declared: bool = False
    observed: bool = False
    traced: bool = False
    virtual: bool = False
    layer: str | None = None
    lifecycle: str | None = None
    owner: str | None = None
    supports: list[str] = Field(default_factory=list)


class SystemMap(_Open):
    """The ``system_map`` of ``/validate``: upstream's keys and ours."""

    services: list[str] | None = None
    nodes: int | None = Field(default=None, ge=0)
    pages: list[str] | None = None
    attributes: dict[str, ServiceAttributes] | None = None
    window: Window | None = None


class Flow(_Open):
    """One edge of ``/validate``: ``{"from", "to"}`` and our call statistics."""

    from_: str = Field(alias="from")
    to: str
    calls: int | None = Field(default=None, ge=0)
    errors: int | None = Field(default=None, ge=0)
    p95_ms: float | None = Field(default=None, ge=0)
    kind: str | None = None
    provenance: str | None = None


class Constraint(_Open):
    """A constraint object: one of our rules (see :mod:`rtt_topology.diagnostics.rules`)."""

    id: str
    kind: str
    severity: str = "error"
    description: str | None = None


class ValidatePayload(BaseModel):
    """The ``/validate`` body.

    Examples
    --------
    >>> body = {"system_map": {"nodes": 128, "services": ["auth", "api", "db"]},
    ...         "flows": [{"from": "api", "to": "db"}], "constraints": []}
    >>> ValidatePayload.model_validate(body).to_body() == body
    True
    """

    model_config = ConfigDict(extra="forbid")

    system_map: SystemMap = Field(default_factory=SystemMap)
    flows: list[Flow] = Field(default_factory=list)
    constraints: list[Constraint] = Field(default_factory=list)

    def to_body(self, *, strict: bool = False) -> dict[str, Any]:
        """Return the JSON-ready body; ``strict`` keeps only the published keys."""
        if strict:
            system_map: dict[str, Any] = {"services": list(self.system_map.services or [])}
            if self.system_map.nodes is not None:
                system_map["nodes"] = self.system_map.nodes
            return {
                "system_map": system_map,
                "flows": [{"from": f.from_, "to": f.to} for f in self.flows],
                "constraints": [],
            }
        return _dump(self)


class CorridorFlow(_Open):
    """One route of ``/corridor``: ``{"path", "latency_ms"}`` and ours."""

    path: list[str] = Field(min_length=1)
    latency_ms: float | None = Field(default=None, ge=0)
    source: Literal["observed", "declared"] | None = None
    name: str | None = None
    calls: int | None = Field(default=None, ge=0)
    latency_p50_ms: float | None = Field(default=None, ge=0)
    latency_p95_ms: float | None = Field(default=None, ge=0)


class CorridorPayload(BaseModel):
    """The ``/corridor`` body.

    Examples
    --------
    >>> body = {"flows": [{"path": ["ingress", "api", "db"], "latency_ms": 12}]}
    >>> CorridorPayload.model_validate(body).to_body() == body
    True
    """

    model_config = ConfigDict(extra="forbid")

    flows: list[CorridorFlow] = Field(default_factory=list)

    def to_body(self, *, strict: bool = False) -> dict[str, Any]:
        """Return the JSON-ready body; ``strict`` keeps only the published keys."""
        if strict:
            return {
                "flows": [{"path": list(f.path), "latency_ms": f.latency_ms} for f in self.flows]
            }
        return _dump(self)


class TopologyPayload(BaseModel):
    """The ``/topology`` body: an adjacency list, every node a key, sinks with ``[]``.

    Examples
    --------
    >>> body = {"graph": {"auth": ["api"], "api": ["db"], "db": []}}
    >>> TopologyPayload.model_validate(body).to_body() == body
    True
    >>> TopologyPayload.model_validate({"graph": {"auth": ["api"]}})
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for TopologyPayload
      Value error, graph: callee 'api' is not a key (every node is a key; sinks map to [])...
    """

    model_config = ConfigDict(extra="forbid")

    graph: dict[str, list[str]]
    decomposition: Decomposition | None = None

    @field_validator("graph")
    @classmethod
    def _unique_callees(cls, graph: dict[str, list[str]]) -> dict[str, list[str]]:
        for caller, callees in graph.items():
            if len(set(callees)) != len(callees):
                raise ValueError(f"graph: {caller!r} lists a callee twice")
        return graph

    @model_validator(mode="after")
    def _every_node_a_key(self) -> TopologyPayload:
        for callees in self.graph.values():
            for callee in callees:
                if callee not in self.graph:
                    raise ValueError(
                        f"graph: callee {callee!r} is not a key "
                        "(every node is a key; sinks map to [])"
                    )
        return self

    def to_body(self, *, strict: bool = False) -> dict[str, Any]:
        """Return the JSON-ready body; ``strict`` keeps only the published keys."""
        if strict:
            return {"graph": {k: list(v) for k, v in self.graph.items()}}
        return _dump(self)


_MODELS: dict[str, type[BaseModel]] = {
    "validate": ValidatePayload,
    "corridor": CorridorPayload,
    "topology": TopologyPayload,
}


def _dump(model: BaseModel) -> dict[str, Any]:
    body: dict[str, Any] = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return body


def parse_payload(
    body: Mapping[str, Any], endpoint: Endpoint | None = None
) -> ValidatePayload | CorridorPayload | TopologyPayload:
    """Parse a body into its model, telling the endpoint from its keys when not given.

    Parameters
    ----------
    body
        A ``/validate``, ``/corridor`` or ``/topology`` body.
    endpoint
        ``"validate"``, ``"corridor"`` or ``"topology"``; by default from the keys:
        ``graph`` is topology, ``system_map`` or ``constraints`` is validate,
        ``flows`` of ``path`` items is corridor, of ``from``/``to`` items validate.

    Returns
    -------
    ValidatePayload or CorridorPayload or TopologyPayload

    Raises
    ------
    InputError
        If the endpoint cannot be told, or the body does not fit its model (the
        message names the field).

    Examples
    --------
    >>> type(parse_payload({"flows": [{"path": ["a", "b"], "latency_ms": 3}]})).__name__
    'CorridorPayload'
    """
    if not isinstance(body, Mapping):
        raise InputError(f"a payload is a JSON object, not {type(body).__name__}")
    if endpoint is None:
        endpoint = _endpoint_of(body)
    model = _MODELS.get(endpoint)
    if model is None:
        raise InputError(f"unknown endpoint {endpoint!r}: use validate, corridor or topology")
    from pydantic import ValidationError

    try:
        parsed = model.model_validate(dict(body))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InputError(f"/{endpoint} body: {where}: {first['msg']}") from exc
    assert isinstance(parsed, ValidatePayload | CorridorPayload | TopologyPayload)
    return parsed


def _endpoint_of(body: Mapping[str, Any]) -> Endpoint:
    if "graph" in body:
        return "topology"
    if "system_map" in body or "constraints" in body:
        return "validate"
    flows = body.get("flows")
    if isinstance(flows, list) and flows and isinstance(flows[0], Mapping):
        return "corridor" if "path" in flows[0] else "validate"
    if "flows" in body:
        return "corridor"
    raise InputError(
        "cannot tell the endpoint: expected 'graph' (/topology), 'system_map' (/validate) "
        "or 'flows' (/corridor)"
    )


def _plain(value: Any) -> Any:
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value.item() if hasattr(value, "item") else value


def validate_payload(
    G: nx.DiGraph[str],
    *,
    states: pd.DataFrame | None = None,
    constraints: Sequence[Mapping[str, Any]] | None = None,
) -> ValidatePayload:
    """Build the ``/validate`` body from a service graph.

    Parameters
    ----------
    G
        A service graph (:func:`rtt_topology.graph.build_graph`).
    states
        A state table (:func:`rtt_topology.analysis.liveness.states`) for the ``state`` of
        each service.
    constraints
        Rule objects (:meth:`rtt_topology.diagnostics.rules.RuleSet.constraints`, or dicts with
        ``id``, ``kind``, ``severity``).

    Returns
    -------
    ValidatePayload

    Examples
    --------
    >>> import pandas as pd
    >>> from rtt_topology.graph.build import build_graph
    >>> edges = pd.DataFrame({"caller": ["api"], "callee": ["db"], "kind": ["database"],
    ...                       "calls": [7], "errors": [0]})
    >>> body = validate_payload(build_graph(edges=edges)).to_body(strict=True)
    >>> body
    {'system_map': {'services': ['api', 'db'], 'nodes': 2}, 'flows': [{'from': 'api', 'to': 'db'}], 'constraints': []}
    """  # noqa: E501
    state_of: dict[str, str] = {}
    if states is not None:
        state_of = dict(zip(states["site"].astype(str), states["state"].astype(str), strict=True))
    names = sorted(G.nodes)
    attributes = {}
    for name in names:
        node = G.nodes[name]
        attributes[name] = ServiceAttributes(
            group=node.get("group"),
            state=state_of.get(name),
            declared=bool(node.get("declared")),
            observed=bool(node.get("observed")),
            traced=bool(node.get("traced")),
            virtual=bool(node.get("virtual")),
            layer=node.get("layer"),
            lifecycle=node.get("lifecycle"),
            owner=node.get("owner"),
            supports=list(node.get("supports") or []),
        )
    window = Window(start=G.graph.get("window_start"), end=G.graph.get("window_end"))
    flows = [
        Flow.model_validate(
            {
                "from": u,
                "to": v,
                "calls": _plain(attrs.get("calls")),
                "errors": _plain(attrs.get("errors")),
                "p95_ms": _plain(attrs.get("p95_ms")),
                "kind": attrs.get("kind"),
                "provenance": attrs.get("provenance"),
            }
        )
        for u, v, attrs in sorted(G.edges(data=True), key=lambda e: (e[0], e[1]))
    ]
    return ValidatePayload(
        system_map=SystemMap(
            services=names,
            nodes=len(names),
            attributes=attributes,
            window=window if window.start or window.end else None,
        ),
        flows=flows,
        constraints=[Constraint.model_validate(dict(c)) for c in constraints or []],
    )


def corridor_payload(
    observed: pd.DataFrame | None = None,
    corridors: Sequence[Mapping[str, Any]] | None = None,
) -> CorridorPayload:
    """Build the ``/corridor`` body from observed request paths and declared corridors.

    Parameters
    ----------
    observed
        Observed paths (:func:`rtt_topology.diagnostics.corridors.observed_paths`): ``path``,
        ``calls``, ``latency_p50_ms``, ``latency_p95_ms``. Each becomes a flow whose
        ``latency_ms`` is its p95.
    corridors
        Declared corridors (``name``, ``path``, ``max_latency_ms``): each becomes a
        flow whose ``latency_ms`` is its bound.

    Returns
    -------
    CorridorPayload
        Observed flows first (most calls first), then declared ones (by name).

    Examples
    --------
    >>> import pandas as pd
    >>> paths = pd.DataFrame({"path": [("web", "api")], "calls": [5],
    ...                       "latency_p50_ms": [9.0], "latency_p95_ms": [12.0]})
    >>> corridor_payload(paths).to_body(strict=True)
    {'flows': [{'path': ['web', 'api'], 'latency_ms': 12.0}]}
    """
    flows: list[CorridorFlow] = []
    if observed is not None and len(observed):
        ordered = observed.sort_values(["calls", "path"], ascending=[False, True], kind="stable")
        for row in ordered.to_dict("records"):
            flows.append(
                CorridorFlow(
                    path=[str(s) for s in row["path"]],
                    latency_ms=_plain(row.get("latency_p95_ms")),
                    source="observed",
                    calls=_plain(row.get("calls")),
                    latency_p50_ms=_plain(row.get("latency_p50_ms")),
                    latency_p95_ms=_plain(row.get("latency_p95_ms")),
                )
            )
    for corridor in sorted(corridors or [], key=lambda c: str(c.get("name"))):
        flows.append(
            CorridorFlow(
                path=[str(s) for s in corridor["path"]],
                latency_ms=_plain(corridor.get("max_latency_ms")),
                source="declared",
                name=corridor.get("name"),
            )
        )
    return CorridorPayload(flows=flows)


def topology_payload(
    G: nx.DiGraph[str], *, decomposition: Mapping[str, Any] | None = None
) -> TopologyPayload:
    """Build the ``/topology`` body: the adjacency list, plus a decomposition if given.

    Parameters
    ----------
    G
        A service graph.
    decomposition
        The triadic decomposition (``rtt_topology.diagnostics.triads.decompose(G)`` dumped to a
        dict), carried under the key ``decomposition``.

    Returns
    -------
    TopologyPayload
        Callers and callees sorted; every node a key; sinks map to ``[]``.

    Examples
    --------
    >>> import networkx as nx
    >>> topology_payload(nx.DiGraph([("auth", "api"), ("api", "db")])).to_body()
    {'graph': {'api': ['db'], 'auth': ['api'], 'db': []}}
    """
    graph = {name: sorted(G.successors(name)) for name in sorted(G.nodes)}
    return TopologyPayload.model_validate(
        {"graph": graph, "decomposition": dict(decomposition) if decomposition else None}
    )


def payload_schemas() -> dict[str, dict[str, Any]]:
    """Return the JSON Schema of each body, generated from the models.

    Examples
    --------
    >>> sorted(payload_schemas())
    ['corridor', 'topology', 'validate']
    """
    return {
        name: _first_paragraphs(model.model_json_schema(by_alias=True, mode="serialization"))
        for name, model in _MODELS.items()
    }


def _first_paragraphs(schema: Any) -> Any:
    """Cut every description to its first paragraph (docstrings carry examples)."""
    if isinstance(schema, dict):
        return {
            key: value.split("\n\n", 1)[0].replace("\n", " ")
            if key == "description" and isinstance(value, str)
            else _first_paragraphs(value)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_first_paragraphs(item) for item in schema]
    return schema


def write_schemas(directory: str | Path = SCHEMA_DIR) -> list[Path]:
    """Write ``<endpoint>.schema.json`` for each body into ``directory``.

    Returns
    -------
    list of Path
        The files written.
    """
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in payload_schemas().items():
        path = target / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written
