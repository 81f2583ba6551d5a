"""Our rules language: typed rules from YAML or JSON, their evaluation with evidence, baselines."""

from rtt_topology.diagnostics.rules.ruleset import (
    RULE_KINDS,
    RULE_STATUSES,
    SEVERITIES,
    Baseline,
    BaselineEntry,
    Rule,
    RuleResult,
    RuleResults,
    RuleSet,
    StaleEntry,
    Violation,
    evaluate,
    load_baseline,
    load_rules,
    parse_rules,
    write_baseline,
)

__all__ = [
    "RULE_KINDS",
    "RULE_STATUSES",
    "SEVERITIES",
    "Baseline",
    "BaselineEntry",
    "Rule",
    "RuleResult",
    "RuleResults",
    "RuleSet",
    "StaleEntry",
    "Violation",
    "evaluate",
    "load_baseline",
    "load_rules",
    "parse_rules",
    "write_baseline",
]
