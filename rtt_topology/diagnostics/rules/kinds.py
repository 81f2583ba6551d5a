"""The rule kinds of the constraint language: their fields, and how each is checked.

Each kind is a pydantic model whose ``check`` method looks at a service graph
(and beacons, for the liveness kinds) and returns its violations. The language,
the statuses and the baseline are described in :mod:`rtt_topology.diagnostics.rules`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from itertools import islice, pairwise
from typing import Annotated, Any, Literal, get_args

import networkx as nx
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rtt_topology.schemas import Profile

__all__ = [
    "EDGE_SCOPES",
    "RULE_CLASSES",
    "RULE_KINDS",
    "SEVERITIES",
    "Acyclic",
    "AllowedCallers",
    "Context",
    "DeclaredCrossGroup",
    "ForbiddenEdge",
    "Independence",
    "Layers",
    "Lifecycle",
    "LivenessBudget",
    "MaxFanIn",
    "MaxFanOut",
    "MaxHeartbeatInterval",
    "Outcome",
    "RequiredCapability",
    "Rule",
    "Violation",
]

#: Severities, from the most to the least severe.
SEVERITIES: tuple[str, ...] = ("error", "warning", "info")
#: Values of a rule's ``edges`` field.
EDGE_SCOPES: tuple[str, ...] = ("all", "traced", "declared")

Severity = Literal["error", "warning", "info"]
EdgeScope = Literal["all", "traced", "declared"]
EdgeKind = Literal["rpc", "messaging", "database", "virtual"]
Pattern = Annotated[str, Field(min_length=1)]
Value = str | int | float | bool | None | list[str]

_SHOWN = 5


class Violation(BaseModel):
    """One violation of a rule, with its evidence.

    Edge rules fill ``caller`` to ``sample_trace_ids`` from the edge; node rules
    fill ``node``; ``acyclic`` fills ``cycle``; rule-specific values (layers,
    degrees, periods...) are in ``details``.

    Attributes
    ----------
    key
        Stable identifier inside its rule, used by baselines: ``"caller -> callee"``,
        a node name, or a cycle ``"a -> b -> a"`` starting at its smallest name.
    message
        One line for people.
    baselined
        Whether a baseline lists it (known, accepted for now).
    """

    model_config = ConfigDict(frozen=False)

    key: str
    message: str
    caller: str | None = None
    callee: str | None = None
    kind: str | None = None
    provenance: str | None = None
    calls: int | None = None
    errors: int | None = None
    sample_trace_ids: list[str] = Field(default_factory=list)
    node: str | None = None
    cycle: list[str] | None = None
    details: dict[str, Value] = Field(default_factory=dict)
    baselined: bool = False


@dataclass
class Outcome:
    """What checking one rule found: violations, counts, and why it was not evaluated."""

    violations: list[Violation] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    not_evaluated: str | None = None
    note: str | None = None


@dataclass
class Context:
    """The inputs of an evaluation, with the tables several rules share (computed once)."""

    G: nx.DiGraph[str]
    beacons: pd.DataFrame | None = None
    profiles: Mapping[str, Profile] | None = None
    _cache: dict[str, Any] = field(default_factory=dict)

    def edges(self, scope: str) -> list[tuple[str, str, dict[str, Any]]]:
        """Return the edges of a scope: ``all``, ``traced`` or ``declared`` (both are in each)."""
        keep = {"all": None, "traced": ("traced", "both"), "declared": ("declared", "both")}[scope]
        return [
            (u, v, attrs)
            for u, v, attrs in self.G.edges(data=True)
            if keep is None or attrs.get("provenance") in keep
        ]

    def declared_profiles(self) -> Mapping[str, Profile]:
        """Return the profiles given, else minimal ones rebuilt from the graph's declared nodes.

        Liveness and periods read only ``heartbeat_interval_s`` (and which services
        are declared) from them: the graph carries both.
        """
        if self.profiles is not None:
            return self.profiles
        if "profiles" not in self._cache:
            self._cache["profiles"] = {
                name: Profile(
                    rtt_version=str(attrs.get("rtt_version") or "1.0"),
                    supports=list(attrs.get("supports") or []),
                    heartbeat_interval_s=attrs.get("heartbeat_interval_s"),
                )
                for name, attrs in self.G.nodes(data=True)
                if attrs.get("declared")
            }
        result: dict[str, Profile] = self._cache["profiles"]
        return result

    def periods(self) -> pd.DataFrame:
        """Return ``history.periods`` of the beacons (declared, else inferred, else default)."""
        if "periods" not in self._cache:
            from rtt_topology.aggregate.history import periods

            assert self.beacons is not None
            self._cache["periods"] = periods(self.beacons, self.declared_profiles())
        result: pd.DataFrame = self._cache["periods"]
        return result

    def uptime(self) -> pd.DataFrame:
        """Return ``liveness.uptime`` over the whole beacon table, indexed by site."""
        if "uptime" not in self._cache:
            from rtt_topology.analysis.liveness import uptime

            assert self.beacons is not None
            table = uptime(self.beacons, self.declared_profiles())
            self._cache["uptime"] = table.set_index("site")
        result: pd.DataFrame = self._cache["uptime"]
        return result

    def declared_edges(self) -> dict[tuple[str, str], str]:
        """Edge status of ``reconciliation.reconcile`` (queue-declared messaging is managed)."""
        if "reconcile" not in self._cache:
            from rtt_topology.graph.reconciliation import reconcile

            table = reconcile(self.G).edges
            self._cache["reconcile"] = {
                (str(u), str(v)): str(s)
                for u, v, s in table[["caller", "callee", "status"]].itertuples(index=False)
            }
        result: dict[tuple[str, str], str] = self._cache["reconcile"]
        return result


def _matches(name: str, pattern: str | list[str]) -> bool:
    if isinstance(pattern, str):
        return fnmatchcase(name, pattern)
    return any(fnmatchcase(name, p) for p in pattern)


def _edge(u: str, v: str, attrs: Mapping[str, Any], message: str, **details: Value) -> Violation:
    return Violation(
        key=f"{u} -> {v}",
        message=message,
        caller=u,
        callee=v,
        kind=attrs.get("kind"),
        provenance=attrs.get("provenance"),
        calls=attrs.get("calls"),
        errors=attrs.get("errors"),
        sample_trace_ids=list(attrs.get("sample_trace_ids") or []),
        details=dict(details),
    )


def _node(name: str, message: str, **details: Value) -> Violation:
    return Violation(key=name, message=message, node=name, details=dict(details))


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


class _Rule(BaseModel):
    """Fields every rule has."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    id: str = Field(min_length=1)
    severity: Severity = "error"
    description: str | None = None

    def check(self, ctx: Context) -> Outcome:  # pragma: no cover - every kind overrides it
        """Check the rule against the inputs in ``ctx``."""
        raise NotImplementedError


class _EdgeRule(_Rule):
    """Rules over edges: which edges count."""

    edges: EdgeScope = "all"


class ForbiddenEdge(_EdgeRule):
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
                out.violations.append(_edge(u, v, attrs, message))
        out.counts["edges_checked"] = len(edges)
        return out


class AllowedCallers(_EdgeRule):
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
            if not _matches(u, self.callers):
                allowed = ", ".join(self.callers) or "none"
                message = f"{u} -> {v}: {u} is not an allowed caller (allowed: {allowed})"
                out.violations.append(_edge(u, v, attrs, message))
        out.counts["edges_checked"] = checked
        return out


class Layers(_EdgeRule):
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
                    _edge(u, v, attrs, message, from_tier=a, to_tier=b, problem=problem)
                )
        out.counts.update(
            edges_checked=checked, edges_ignored=ignored, nodes_without_tier=len(untiered)
        )
        if untiered:
            out.note = (
                f"{len(untiered)} node(s) without a {self.attribute} in order ignored: "
                + _listing(untiered)
            )
        return out


class Independence(_EdgeRule):
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
                out.violations.append(_edge(u, v, attrs, message, from_group=a, to_group=b))
        out.counts["edges_checked"] = checked
        return out


class Acyclic(_EdgeRule):
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


class _Degree(_EdgeRule):
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
                    _node(name, message, degree=len(others), limit=self.limit, neighbours=others)
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


class RequiredCapability(_Rule):
    """Declared services matching ``pattern`` list ``supports`` in their profile."""

    kind: Literal["required_capability"]
    pattern: Pattern = "*"
    supports: list[Pattern] = Field(min_length=1)

    def check(self, ctx: Context) -> Outcome:
        """Return the declared services missing a capability."""
        out = Outcome()
        declared = [n for n, d in ctx.G.nodes(data="declared") if d]
        if not declared:
            out.not_evaluated = "no declared service (no profiles)"
            return out
        checked = undeclared = 0
        for name in sorted(ctx.G):
            if not fnmatchcase(name, self.pattern):
                continue
            attrs = ctx.G.nodes[name]
            if not attrs.get("declared"):
                undeclared += 1
                continue
            checked += 1
            missing = [s for s in self.supports if s not in (attrs.get("supports") or [])]
            if missing:
                message = f"{name} does not support {', '.join(missing)}"
                out.violations.append(_node(name, message, missing=missing))
        out.counts.update(nodes_checked=checked, undeclared_ignored=undeclared)
        return out


class MaxHeartbeatInterval(_Rule):
    """The beacon period of services matching ``pattern`` is at most ``max_interval_s``.

    The period is the declared one, else (with beacons) the inferred one.
    """

    kind: Literal["max_heartbeat_interval"]
    pattern: Pattern = "*"
    max_interval_s: float = Field(gt=0)

    def _known(self, ctx: Context) -> dict[str, tuple[float, str]]:
        if ctx.beacons is not None:
            table = ctx.periods()
            return {
                str(site): (float(p), str(origin))
                for site, p, origin in table[["period_s", "period_from"]].itertuples()
                if origin != "default"
            }
        declared = ((n, a.get("heartbeat_interval_s")) for n, a in ctx.G.nodes(data=True))
        return {name: (float(p), "declared") for name, p in declared if p is not None}

    def check(self, ctx: Context) -> Outcome:
        """Return the services whose period exceeds the bound."""
        out = Outcome()
        known = self._known(ctx)
        matching = sorted(n for n in ctx.G if fnmatchcase(n, self.pattern))
        unknown = [n for n in matching if n not in known]
        if matching and len(unknown) == len(matching):
            source = "declared or inferred" if ctx.beacons is not None else "declared (no beacons)"
            out.not_evaluated = f"no {source} period for any matching service"
            return out
        for name in matching:
            if name not in known:
                continue
            period, origin = known[name]
            if period > self.max_interval_s:
                message = (
                    f"{name} beacons every {period:g} s ({origin}), above {self.max_interval_s:g} s"
                )
                out.violations.append(
                    _node(name, message, period_s=period, period_from=origin,
                          max_interval_s=self.max_interval_s)
                )  # fmt: skip
        out.counts.update(nodes_checked=len(matching) - len(unknown), no_period=len(unknown))
        if unknown:
            out.note = f"{len(unknown)} service(s) without a known period: {_listing(unknown)}"
        return out


class LivenessBudget(_Rule):
    """Services matching ``pattern`` stay within a downtime budget over the beacons' span."""

    kind: Literal["liveness_budget"]
    pattern: Pattern = "*"
    max_down_s: float | None = Field(default=None, ge=0)
    min_uptime_pct: float | None = Field(default=None, ge=0, le=100)

    @model_validator(mode="after")
    def _some_bound(self) -> LivenessBudget:
        if self.max_down_s is None and self.min_uptime_pct is None:
            raise ValueError("give max_down_s, min_uptime_pct or both")
        return self

    def check(self, ctx: Context) -> Outcome:
        """Return the services over budget (``liveness.uptime``)."""
        out = Outcome()
        if ctx.beacons is None:
            out.not_evaluated = "needs beacons"
            return out
        table = ctx.uptime()
        matching = sorted(n for n in ctx.G if fnmatchcase(n, self.pattern))
        checked = 0
        for name in matching:
            if name not in table.index:
                continue
            down = float(table.at[name, "down_s"])  # type: ignore[arg-type]
            pct = float(table.at[name, "uptime_pct"])  # type: ignore[arg-type]
            checked += 1
            problems = []
            if self.max_down_s is not None and down > self.max_down_s:
                problems.append(f"down {down:g} s (budget {self.max_down_s:g} s)")
            least = self.min_uptime_pct
            if least is not None and not math.isnan(pct) and pct < least:
                problems.append(f"uptime {pct:.2f}% (minimum {self.min_uptime_pct:g}%)")
            if problems:
                out.violations.append(
                    _node(name, f"{name}: " + "; ".join(problems), down_s=down,
                          uptime_pct=None if math.isnan(pct) else round(pct, 4))
                )  # fmt: skip
        out.counts.update(nodes_checked=checked, no_beacons=len(matching) - checked)
        return out


class DeclaredCrossGroup(_Rule):
    """Traced calls between services of different groups are declared.

    Declared means provenance ``both``, or a messaging call declared through a
    queue both sides depend on (as :func:`~rtt_topology.graph.reconcile`).
    """

    kind: Literal["declared_cross_group"]

    def check(self, ctx: Context) -> Outcome:
        """Return the undeclared traced calls that cross groups."""
        out = Outcome()
        traced = ctx.edges("traced")
        if not traced:
            out.not_evaluated = "no traced edges"
            return out
        status = ctx.declared_edges()
        checked = unknown = 0
        for u, v, attrs in traced:
            a, b = ctx.G.nodes[u].get("group"), ctx.G.nodes[v].get("group")
            if a is None or b is None:
                unknown += 1
                continue
            if a == b:
                continue
            checked += 1
            if status.get((u, v)) != "managed":
                message = f"{u} ({a}) -> {v} ({b}): undeclared call across groups"
                out.violations.append(_edge(u, v, attrs, message, from_group=a, to_group=b))
        out.counts.update(edges_checked=checked, edges_without_group=unknown)
        return out


class Lifecycle(_EdgeRule):
    """Services whose lifecycle is in ``of`` do not depend on ones in ``forbidden``."""

    kind: Literal["lifecycle"]
    forbidden: list[Pattern] = Field(default_factory=lambda: ["deprecated", "experimental"])
    of: list[Pattern] = Field(default_factory=lambda: ["production"])

    def check(self, ctx: Context) -> Outcome:
        """Return the dependencies on forbidden lifecycles."""
        out = Outcome()
        life: dict[str, str | None] = {n: a.get("lifecycle") for n, a in ctx.G.nodes(data=True)}
        if all(value is None for value in life.values()):
            out.not_evaluated = "no node has a lifecycle (no profiles)"
            return out
        checked = 0
        for u, v, attrs in ctx.edges(self.edges):
            if life.get(u) not in self.of:
                continue
            checked += 1
            if life.get(v) in self.forbidden:
                message = f"{u} ({life[u]}) -> {v} ({life[v]})"
                out.violations.append(
                    _edge(u, v, attrs, message, from_lifecycle=life[u], to_lifecycle=life[v])
                )
        out.counts["edges_checked"] = checked
        return out


Rule = Annotated[
    ForbiddenEdge
    | AllowedCallers
    | Layers
    | Independence
    | Acyclic
    | MaxFanOut
    | MaxFanIn
    | RequiredCapability
    | MaxHeartbeatInterval
    | LivenessBudget
    | DeclaredCrossGroup
    | Lifecycle,
    Field(discriminator="kind"),
]

_CLASSES: tuple[type[_Rule], ...] = (
    ForbiddenEdge,
    AllowedCallers,
    Layers,
    Independence,
    Acyclic,
    MaxFanOut,
    MaxFanIn,
    RequiredCapability,
    MaxHeartbeatInterval,
    LivenessBudget,
    DeclaredCrossGroup,
    Lifecycle,
)
#: Rule kind -> its model class, in documentation order.
RULE_CLASSES: dict[str, type[_Rule]] = {
    get_args(cls.model_fields["kind"].annotation)[0]: cls for cls in _CLASSES
}
#: Rule kinds, in documentation order.
RULE_KINDS: tuple[str, ...] = tuple(RULE_CLASSES)
