"""Answer a ``/validate``, ``/corridor`` or ``/topology`` body offline, as the endpoints promise.

The reserved endpoints answer ``{"status": "not_available"}`` today. :func:`diagnose`
takes any of the three bodies (built by :mod:`rtt_topology.diagnostics.payloads` or written
by hand in the published shape) and returns a :class:`Diagnosis`:

============  ==================================================================
body          what is computed
============  ==================================================================
/validate     the graph of ``system_map`` and ``flows`` (node attributes from
              ``system_map.attributes`` when present); the ``constraints`` (our
              rule objects) evaluated on it (:func:`rtt_topology.diagnostics.rules.evaluate`);
              the payload's coherence where the body allows it (below)
/corridor     declared flows (``source: declared``, or with a ``name``) checked
              against the observed ones (:func:`rtt_topology.diagnostics.corridors.check_corridors`;
              an observed flow's ``latency_ms`` is its p95)
/topology     the triadic decomposition (:func:`rtt_topology.diagnostics.triads.decompose`),
              and the graph's cycles, sources and sinks
============  ==================================================================

``status`` is ``violations`` when a rule fails (at the rule set's ``fail_on``
severity) or a corridor is too slow or left by observed flows, else ``ok``. A
body that does not fit its shape raises :class:`~rtt_topology.errors.InputError`.

Payload coherence (``/validate``, ours, from the body alone): the mean of the
components that the body carries: ``liveness`` (services' ``state``: up 1, late
and flapping 0.5, down and missing 0; stopped services left out), ``declaration``
(share of services with ``declared: true``) and ``agreement`` (share of traced
flows whose provenance is ``both``). Without attributes or provenance there is
nothing to score and ``coherence`` is ``None``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

import networkx as nx
import pandas as pd
from pydantic import BaseModel, Field

from rtt_topology.diagnostics.payloads import (
    CorridorPayload,
    TopologyPayload,
    ValidatePayload,
    parse_payload,
)

__all__ = ["Diagnosis", "PayloadCoherence", "diagnose", "graph_of"]

_STATE_SCORE = {"up": 1.0, "late": 0.5, "flapping": 0.5, "down": 0.0, "missing": 0.0}


class PayloadCoherence(BaseModel):
    """Coherence computed from a ``/validate`` body alone (see the module docstring)."""

    coherence: float | None
    liveness: float | None
    declaration: float | None
    agreement: float | None


class Diagnosis(BaseModel):
    """What an endpoint would answer, computed offline.

    Attributes
    ----------
    endpoint
        ``validate``, ``corridor`` or ``topology``.
    status
        ``ok`` or ``violations``.
    summary
        Counts: services, flows, rules by status, corridors by status, cycles...
    rules
        Rule results (``/validate`` with constraints).
    corridors
        Corridor alignment (``/corridor`` with declared and observed flows).
    decomposition
        The triadic decomposition (``/topology``).
    coherence
        Payload coherence (``/validate``).
    notes
        What could not be computed, and why.
    """

    endpoint: Literal["validate", "corridor", "topology"]
    status: Literal["ok", "violations"]
    summary: dict[str, Any] = Field(default_factory=dict)
    rules: dict[str, Any] | None = None
    corridors: dict[str, Any] | None = None
    decomposition: dict[str, Any] | None = None
    coherence: PayloadCoherence | None = None
    notes: list[str] = Field(default_factory=list)


def graph_of(payload: ValidatePayload | TopologyPayload) -> nx.DiGraph[str]:
    """Rebuild a service graph (:mod:`rtt_topology.graph.contract`) from a body.

    Flows without call counts become declared edges when their ``provenance`` says
    so, traced ones otherwise; node attributes come from ``system_map.attributes``.

    Examples
    --------
    >>> from rtt_topology.diagnostics.payloads import parse_payload
    >>> G = graph_of(parse_payload({"graph": {"auth": ["api"], "api": []}}))
    >>> sorted(G.edges), G.nodes["api"]["traced"]
    ([('auth', 'api')], True)
    """
    from rtt_topology.graph.build import add_declared_edge, add_service, build_graph

    if isinstance(payload, TopologyPayload):
        rows = [(u, v, "rpc", 0, 0, "traced") for u, vs in payload.graph.items() for v in vs]
        names = list(payload.graph)
    else:
        rows = [
            (
                f.from_,
                f.to,
                f.kind if f.kind in ("rpc", "messaging", "database", "virtual") else "rpc",
                f.calls or 0,
                f.errors or 0,
                f.provenance or "traced",
            )
            for f in payload.flows
        ]
        names = list(payload.system_map.services or [])
    edges = pd.DataFrame(
        rows, columns=["caller", "callee", "kind", "calls", "errors", "provenance"]
    )
    G = build_graph(edges=edges[edges["provenance"] != "declared"])
    for u, v, provenance in edges[["caller", "callee", "provenance"]].itertuples(index=False):
        if provenance in ("declared", "both"):
            add_declared_edge(G, u, v)
    for name in names:
        add_service(G, name)
    if isinstance(payload, ValidatePayload) and payload.system_map.attributes:
        for name, attributes in payload.system_map.attributes.items():
            node = add_service(G, name)
            for key in ("group", "declared", "observed", "traced", "virtual", "layer",
                        "lifecycle", "owner"):  # fmt: skip
                value = getattr(attributes, key)
                if value is not None:
                    node[key] = value
            node["supports"] = list(attributes.supports)
    return G


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 6) if values else None


def _payload_coherence(payload: ValidatePayload) -> PayloadCoherence | None:
    attributes = payload.system_map.attributes or {}
    states = [_STATE_SCORE[a.state] for a in attributes.values() if a.state in _STATE_SCORE]
    declared = [1.0 if a.declared else 0.0 for a in attributes.values()]
    traced = [f for f in payload.flows if f.provenance in ("traced", "both")]
    agreement = [1.0 if f.provenance == "both" else 0.0 for f in traced]
    parts = {
        "liveness": _mean(states),
        "declaration": _mean(declared),
        "agreement": _mean(agreement),
    }
    present = [v for v in parts.values() if v is not None]
    if not present:
        return None
    return PayloadCoherence(coherence=_mean(present), **parts)


def _validate(payload: ValidatePayload) -> Diagnosis:
    from rtt_topology.diagnostics.rules.ruleset import evaluate, parse_rules

    G = graph_of(payload)
    notes = []
    rules = None
    failing = False
    if payload.constraints:
        ruleset = parse_rules(
            json.dumps(
                {
                    "version": 1,
                    "rules": [c.model_dump(exclude_none=True) for c in payload.constraints],
                }
            ),
            source="constraints",
        )
        results = evaluate(ruleset, G)
        rules = results.model_dump(mode="json")
        failing = results.broken
    else:
        notes.append("no constraints in the body: no rule to check")
    coherence = _payload_coherence(payload)
    if coherence is None:
        notes.append("no service states, declarations or provenance: no coherence to compute")
    summary = {
        "services": G.number_of_nodes(),
        "flows": G.number_of_edges(),
        "constraints": len(payload.constraints),
    }
    if rules is not None:
        summary["rules"] = rules["counts"]
    return Diagnosis(
        endpoint="validate",
        status="violations" if failing else "ok",
        summary=summary,
        rules=rules,
        coherence=coherence,
        notes=notes,
    )


def _corridor(payload: CorridorPayload) -> Diagnosis:
    from rtt_topology.diagnostics.corridors import Corridor, check_corridors

    declared = [f for f in payload.flows if f.source == "declared" or f.name is not None]
    observed = [f for f in payload.flows if f not in declared]
    summary: dict[str, Any] = {"declared": len(declared), "observed": len(observed)}
    notes = []
    if not declared or not observed:
        missing = "declared corridors" if not declared else "observed flows"
        notes.append(f"no {missing} in the body: nothing to align")
        return Diagnosis(endpoint="corridor", status="ok", summary=summary, notes=notes)
    corridors = [
        Corridor(
            name=f.name or f"corridor-{i + 1}",
            path=list(f.path),
            max_latency_ms=f.latency_ms,
        )
        for i, f in enumerate(declared)
    ]
    frame = pd.DataFrame(
        {
            "path": [tuple(f.path) for f in observed],
            "calls": [f.calls if f.calls is not None else 1 for f in observed],
            "errors": [0] * len(observed),
            "latency_p50_ms": [
                f.latency_p50_ms if f.latency_p50_ms is not None else f.latency_ms for f in observed
            ],
            "latency_p95_ms": [
                f.latency_p95_ms if f.latency_p95_ms is not None else f.latency_ms for f in observed
            ],
            "sample_trace_ids": [[] for _ in observed],
        }
    )
    results = check_corridors(corridors, frame)
    summary["corridors"] = results.counts
    summary["uncovered"] = len(results.uncovered)
    return Diagnosis(
        endpoint="corridor",
        status="ok" if results.aligned else "violations",
        summary=summary,
        corridors=results.model_dump(mode="json"),
        notes=notes,
    )


def _topology(payload: TopologyPayload, max_triads: int) -> Diagnosis:
    from rtt_topology.diagnostics.triads.decomposition import decompose

    G = graph_of(payload)
    cycles = [sorted(c) for c in nx.strongly_connected_components(G) if len(c) > 1]
    summary = {
        "services": G.number_of_nodes(),
        "calls": G.number_of_edges(),
        "sources": sorted(n for n in G if G.in_degree(n) == 0),
        "sinks": sorted(n for n in G if G.out_degree(n) == 0),
        "cycles": sorted(cycles),
    }
    decomposition = decompose(G, max_triads=max_triads).model_dump(mode="json")
    return Diagnosis(endpoint="topology", status="ok", summary=summary, decomposition=decomposition)


def diagnose(
    body: Mapping[str, Any] | ValidatePayload | CorridorPayload | TopologyPayload,
    *,
    max_triads: int = 100,
) -> Diagnosis:
    """Answer a diagnostics body offline.

    Parameters
    ----------
    body
        A ``/validate``, ``/corridor`` or ``/topology`` body, as a dict (the
        endpoint is told from its keys) or a payload model.
    max_triads
        Example triads per type in a topology answer.

    Returns
    -------
    Diagnosis
        See the module documentation.

    Raises
    ------
    InputError
        If the body does not fit any of the published shapes.

    Examples
    --------
    >>> answer = diagnose({"graph": {"auth": ["api"], "api": ["db"], "db": []}})
    >>> answer.status, answer.decomposition["census"]["021C"]
    ('ok', 1)
    >>> diagnose({"flows": [{"path": ["web", "api"], "latency_ms": 12}]}).notes
    ['no declared corridors in the body: nothing to align']
    """
    payload = body if isinstance(body, BaseModel) else parse_payload(body)
    if isinstance(payload, ValidatePayload):
        return _validate(payload)
    if isinstance(payload, CorridorPayload):
        return _corridor(payload)
    assert isinstance(payload, TopologyPayload)
    return _topology(payload, max_triads)
