"""Rule kinds over the graph's shape: forbidden and allowed edges, layers, cycles, degrees.

Each kind is a pydantic model whose ``check`` returns the violations it finds in
the service graph; the language is described in :mod:`rtt_topology.diagnostics.rules`.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from itertools import islice, pairwise
from typing import Annotated, Literal

import networkx as nx
from pydantic import Field, field_validator

from rtt_topology.diagnostics.rules.base import (
    Context,
    EdgeKind,
    EdgeRule,
    Outcome,
    Pattern,
    Violation,
    edge_violation,
    listing,
    matches_any,
    node_violation,
)

__all__ = [
    "Acyclic",
    "AllowedCallers",
    "ForbiddenEdge",
    "Independence",
    "Layers",
    "MaxFanIn",
    "MaxFanOut",
]


class ForbiddenEdge(EdgeRule):
    """No edge from a service matching ``source`` to one matching ``target``."""

    kind: Literal["forbidden_edge"]
    source: Pattern
    target: Pattern
    kinds: list[EdgeKind] | None = None

    def check(self, ctx: Context) -> Outcome:
        """Return the matching edges."""
        out = Outcome()
        edges = ctx.edges(self.edges)
        for u, v, attrs in edges:
            if self.kinds is not None and attrs.get("kind") not in self.kinds:
                continue
            if fnmatchcase(u, self.source) and fnmatchcase(v, self.target):
                message = f"{u} -> {v} is forbidden (source {self.source}, target {self.target})"
                out.violations.append(edge_violation(u, v, attrs, message))
        out.counts["edges_checked"] = len(edges)
        return out


class AllowedCallers(EdgeRule):
    """Only services matching ``callers`` may call a service matching ``target``."""

    kind: Literal["allowed_callers"]
    target: Pattern
    callers: list[Pattern]

    def check(self, ctx: Context) -> Outcome:
        """Return the calls to the target from other services."""
        out = Outcome()
        checked = 0
        for u, v, attrs in ctx.edges(self.edges):
            if not fnmatchcase(v, self.target):
                continue
            checked += 1
            if not matches_any(u, self.callers):
                allowed = ", ".join(self.callers) or "none"
                message = f"{u} -> {v}: {u} is not an allowed caller (allowed: {allowed})"
                out.violations.append(edge_violation(u, v, attrs, message))
        out.counts["edges_checked"] = checked
        return out


class Layers(EdgeRule):
    """No call from a lower tier to a higher one (``order`` lists tiers from the top)."""

    kind: Literal["layers"]
    order: list[Annotated[str, Field(min_length=1)]] = Field(min_length=2)
    attribute: Literal["layer", "group"] = "layer"
    allow_same_layer: bool = True
    allow_skip: bool = True

    @field_validator("order")
    @classmethod
    def _unique(cls, order: list[str]) -> list[str]:
        repeated = sorted({t for t in order if order.count(t) > 1})
        if repeated:
            raise ValueError(f"tier(s) listed twice: {', '.join(repeated)}")
        return order

    def check(self, ctx: Context) -> Outcome:
        """Return the upward calls (and same-tier calls and skips, when not allowed)."""
        out = Outcome()
        rank = {tier: i for i, tier in enumerate(self.order)}
        tiers = {n: ctx.G.nodes[n].get(self.attribute) for n in ctx.G}
        untiered = sorted(n for n, t in tiers.items() if t not in rank)
        if len(untiered) == len(tiers):
            out.not_evaluated = f"no node has a {self.attribute} in order"
            return out
        checked = ignored = 0
        for u, v, attrs in ctx.edges(self.edges):
            a, b = tiers[u], tiers[v]
            if a not in rank or b not in rank:
                ignored += 1
                continue
            checked += 1
            step = rank[b] - rank[a]
            problem = None
            if step < 0:
                problem = "upward call"
            elif step == 0 and not self.allow_same_layer and u != v:
                problem = "call within one tier"
            elif step > 1 and not self.allow_skip:
                problem = f"skips {step - 1} tier(s)"
            if problem:
                message = f"{u} ({a}) -> {v} ({b}): {problem}"
                out.violations.append(
                    edge_violation(u, v, attrs, message, from_tier=a, to_tier=b, problem=problem)
                )
        out.counts.update(
            edges_checked=checked, edges_ignored=ignored, nodes_without_tier=len(untiered)
        )
        if untiered:
            out.note = (
                f"{len(untiered)} node(s) without a {self.attribute} in order ignored: "
                + listing(untiered)
            )
        return out


class Independence(EdgeRule):
    """Services of the listed groups never call services of another listed group."""

    kind: Literal["independence"]
    groups: list[Pattern] = Field(min_length=2)
    attribute: Literal["group", "layer", "owner"] = "group"

    def check(self, ctx: Context) -> Outcome:
        """Return the calls between two different listed groups."""
        out = Outcome()
        listed = set(self.groups)
        checked = 0
        for u, v, attrs in ctx.edges(self.edges):
            a, b = ctx.G.nodes[u].get(self.attribute), ctx.G.nodes[v].get(self.attribute)
            if a not in listed or b not in listed:
                continue
            checked += 1
            if a != b:
                message = f"{u} ({a}) -> {v} ({b}): calls across independent groups"
                out.violations.append(
                    edge_violation(u, v, attrs, message, from_group=a, to_group=b)
                )
        out.counts["edges_checked"] = checked
        return out


class Acyclic(EdgeRule):
    """No dependency cycle; each elementary cycle is reported once, up to ``max_cycles``."""

    kind: Literal["acyclic"]
    max_cycles: int = Field(default=100, ge=1)

    def check(self, ctx: Context) -> Outcome:
        """Return the cycles, found inside strongly connected components only."""
        out = Outcome()
        H: nx.DiGraph[str] = nx.DiGraph()
        H.add_nodes_from(ctx.G)
        edges = ctx.edges(self.edges)
        H.add_edges_from((u, v) for u, v, _ in edges)
        attrs = {(u, v): a for u, v, a in edges}
        components = [
            c
            for c in nx.strongly_connected_components(H)
            if len(c) > 1 or any(H.has_edge(n, n) for n in c)
        ]
        found = 0
        truncated = False
        for component in sorted(components, key=min):
            room = self.max_cycles - found
            if room <= 0:
                truncated = True
                break
            cycles = list(islice(nx.simple_cycles(H.subgraph(component)), room + 1))
            if len(cycles) > room:
                truncated = True
                cycles = cycles[:room]
            for cycle in sorted(_canonical(c) for c in cycles):
                found += 1
                loop = [*cycle, cycle[0]]
                hops = list(pairwise(loop))
                calls = sum(int(attrs[h].get("calls") or 0) for h in hops)
                key = " -> ".join(loop)
                out.violations.append(
                    Violation(
                        key=key,
                        message=f"cycle {key}",
                        cycle=loop,
                        calls=calls,
                        details={"length": len(cycle)},
                    )
                )
        out.counts.update(cycles=found, components=len(components), truncated=int(truncated))
        if truncated:
            out.note = f"stopped after {self.max_cycles} cycles (max_cycles)"
        return out


def _canonical(cycle: list[str]) -> list[str]:
    start = cycle.index(min(cycle))
    return cycle[start:] + cycle[:start]


class _Degree(EdgeRule):
    limit: int = Field(ge=0)
    pattern: Pattern = "*"

    def _check(self, ctx: Context, outgoing: bool) -> Outcome:
        out = Outcome()
        neighbours: dict[str, set[str]] = {n: set() for n in ctx.G}
        for u, v, _ in ctx.edges(self.edges):
            if outgoing:
                neighbours[u].add(v)
            else:
                neighbours[v].add(u)
        checked = 0
        for name in sorted(neighbours):
            if not fnmatchcase(name, self.pattern):
                continue
            checked += 1
            others = sorted(neighbours[name])
            if len(others) > self.limit:
                verb = "calls" if outgoing else "is called by"
                message = f"{name} {verb} {len(others)} services (limit {self.limit})"
                out.violations.append(
                    node_violation(
                        name, message, degree=len(others), limit=self.limit, neighbours=others
                    )
                )
        out.counts["nodes_checked"] = checked
        return out


class MaxFanOut(_Degree):
    """No service matching ``pattern`` calls more than ``limit`` services."""

    kind: Literal["max_fan_out"]

    def check(self, ctx: Context) -> Outcome:
        """Return the services above the limit."""
        return self._check(ctx, outgoing=True)


class MaxFanIn(_Degree):
    """No service matching ``pattern`` is called by more than ``limit`` services."""

    kind: Literal["max_fan_in"]

    def check(self, ctx: Context) -> Outcome:
        """Return the services above the limit."""
        return self._check(ctx, outgoing=False)
