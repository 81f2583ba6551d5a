"""What every rule kind shares: severities, violations, outcomes, the evaluation context.

The rule kinds themselves are in :mod:`~rtt_topology.diagnostics.rules.structure` (the
graph's shape) and :mod:`~rtt_topology.diagnostics.rules.services` (what services declare
and how they beacon); :mod:`~rtt_topology.diagnostics.rules.kinds` gathers them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Annotated, Any, Literal

import networkx as nx
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from rtt_topology.schemas import Profile

__all__ = [
    "EDGE_SCOPES",
    "SEVERITIES",
    "Context",
    "EdgeKind",
    "EdgeRule",
    "EdgeScope",
    "Outcome",
    "Pattern",
    "RuleKind",
    "Severity",
    "Value",
    "Violation",
    "edge_violation",
    "listing",
    "matches_any",
    "node_violation",
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


def matches_any(name: str, pattern: str | list[str]) -> bool:
    """Return whether ``name`` matches the glob ``pattern``, or one of a list of globs.

    Examples
    --------
    >>> matches_any("payments-api", ["billing-*", "payments-*"]), matches_any("db", "api-*")
    (True, False)
    """
    if isinstance(pattern, str):
        return fnmatchcase(name, pattern)
    return any(fnmatchcase(name, p) for p in pattern)


def edge_violation(
    u: str, v: str, attrs: Mapping[str, Any], message: str, **details: Value
) -> Violation:
    """Return the violation of edge ``u -> v``, with the edge's evidence and ``details``."""
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


def node_violation(name: str, message: str, **details: Value) -> Violation:
    """Return the violation of node ``name``, with ``details``."""
    return Violation(key=name, message=message, node=name, details=dict(details))


def listing(names: list[str]) -> str:
    """Return the first names joined, and how many more there are.

    Examples
    --------
    >>> listing(["a", "b"]), listing(list("abcdefg"))
    ('a, b', 'a, b, c, d, e and 2 more')
    """
    shown = ", ".join(names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


class RuleKind(BaseModel):
    """Fields every rule has."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    id: str = Field(min_length=1)
    severity: Severity = "error"
    description: str | None = None

    def check(self, ctx: Context) -> Outcome:  # pragma: no cover - every kind overrides it
        """Check the rule against the inputs in ``ctx``."""
        raise NotImplementedError


class EdgeRule(RuleKind):
    """Rules over edges: which edges count."""

    edges: EdgeScope = "all"
