"""Rule kinds over each service: its declared capabilities, lifecycle and groups, its beacons.

Each kind is a pydantic model whose ``check`` returns the violations it finds in
the service graph (and the beacons, for the liveness kinds); the language is
described in :mod:`rtt_topology.diagnostics.rules`.
"""

from __future__ import annotations

import math
from fnmatch import fnmatchcase
from typing import Literal

from pydantic import Field, model_validator

from rtt_topology.diagnostics.rules.base import (
    Context,
    EdgeRule,
    Outcome,
    Pattern,
    RuleKind,
    edge_violation,
    listing,
    node_violation,
)

__all__ = [
    "DeclaredCrossGroup",
    "Lifecycle",
    "LivenessBudget",
    "MaxHeartbeatInterval",
    "RequiredCapability",
]


class RequiredCapability(RuleKind):
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
                out.violations.append(node_violation(name, message, missing=missing))
        out.counts.update(nodes_checked=checked, undeclared_ignored=undeclared)
        return out


class MaxHeartbeatInterval(RuleKind):
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
                    node_violation(name, message, period_s=period, period_from=origin,
                          max_interval_s=self.max_interval_s)
                )  # fmt: skip
        out.counts.update(nodes_checked=len(matching) - len(unknown), no_period=len(unknown))
        if unknown:
            out.note = f"{len(unknown)} service(s) without a known period: {listing(unknown)}"
        return out


class LivenessBudget(RuleKind):
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
                    node_violation(name, f"{name}: " + "; ".join(problems), down_s=down,
                          uptime_pct=None if math.isnan(pct) else round(pct, 4))
                )  # fmt: skip
        out.counts.update(nodes_checked=checked, no_beacons=len(matching) - checked)
        return out


class DeclaredCrossGroup(RuleKind):
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
                out.violations.append(
                    edge_violation(u, v, attrs, message, from_group=a, to_group=b)
                )
        out.counts.update(edges_checked=checked, edges_without_group=unknown)
        return out


class Lifecycle(EdgeRule):
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
                    edge_violation(
                        u, v, attrs, message, from_lifecycle=life[u], to_lifecycle=life[v]
                    )
                )
        out.counts["edges_checked"] = checked
        return out
