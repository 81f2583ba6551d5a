"""The results of a rules check and the baselines that freeze known violations (models only).

:mod:`rtt_topology.diagnostics.rules` evaluates rules into these models and reads and writes
baselines; their meaning is described there.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, computed_field

from rtt_topology.diagnostics.rules.base import SEVERITIES, Severity, Violation

__all__ = [
    "RULE_STATUSES",
    "Baseline",
    "BaselineEntry",
    "RuleResult",
    "RuleResults",
    "StaleEntry",
    "Status",
]

#: Rule statuses.
RULE_STATUSES: tuple[str, ...] = ("kept", "broken", "baselined", "not_evaluated")

Status = Literal["kept", "broken", "baselined", "not_evaluated"]


class BaselineEntry(BaseModel):
    """One known violation: the rule id and the violation key."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    rule: str = Field(min_length=1)
    key: str = Field(min_length=1)


class Baseline(BaseModel):
    """A baseline file: ``{"version": 1, "violations": [{"rule": ..., "key": ...}]}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    violations: list[BaselineEntry] = Field(default_factory=list)


class StaleEntry(BaseModel):
    """A baseline entry that no longer matches a violation."""

    rule: str
    key: str
    reason: str


class RuleResult(BaseModel):
    """The verdict of one rule.

    Attributes
    ----------
    status
        ``kept``, ``broken``, ``baselined`` or ``not_evaluated``.
    reason
        Why it was not evaluated; for other statuses, a note on what it could not
        judge (nodes without a tier, services without a known period...), or ``None``.
    violations
        Sorted by key; each marked ``baselined`` or not.
    counts
        What the rule looked at (``edges_checked``, ``nodes_checked``, ignored
        ones...) and ``violations``, ``new``, ``baselined``.
    """

    id: str
    kind: str
    severity: Severity
    description: str | None = None
    status: Status
    reason: str | None = None
    violations: list[Violation] = Field(default_factory=list)
    counts: dict[str, int] = Field(default_factory=dict)


class RuleResults(BaseModel):
    """The verdicts of a rule set, JSON-ready (``model_dump(mode="json")``)."""

    fail_on: Severity
    rules: list[RuleResult]
    stale_baseline: list[StaleEntry] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def broken(self) -> bool:
        """Whether a rule is broken at a severity of ``fail_on`` or above."""
        return bool(self.failing)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def failing(self) -> list[str]:
        """Ids of the broken rules at a severity of ``fail_on`` or above."""
        limit = SEVERITIES.index(self.fail_on)
        return [
            r.id
            for r in self.rules
            if r.status == "broken" and SEVERITIES.index(r.severity) <= limit
        ]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def counts(self) -> dict[str, int]:
        """Rules per status."""
        return {s: sum(r.status == s for r in self.rules) for s in RULE_STATUSES}

    def result(self, rule_id: str) -> RuleResult:
        """Return the result of one rule by id."""
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def table(self) -> pd.DataFrame:
        """Return one row per violation: rule, severity, status, key, message, baselined."""
        rows = [
            (r.id, r.kind, r.severity, r.status, v.key, v.message, v.baselined)
            for r in self.rules
            for v in r.violations
        ]
        columns = ["rule", "kind", "severity", "status", "key", "message", "baselined"]
        return pd.DataFrame(rows, columns=columns)
