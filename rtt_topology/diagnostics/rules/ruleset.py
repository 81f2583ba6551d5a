"""Check a service graph against a rules file: our constraint language, with baselines.

Upstream reserves ``constraints`` in the ``/validate`` payload and publishes no
constraint object: this language is **ours**. A rules file is YAML or JSON::

    version: 1
    fail_on: error            # lowest severity whose broken rules fail the check
    rules:
      - id: no-upward-calls
        kind: layers
        order: [edge, api, worker, data]
      - id: payments-db-owners
        kind: allowed_callers
        severity: warning
        target: payments-db
        callers: [payments-api, legacy-billing]

Every rule has ``id`` (unique), ``kind``, ``severity`` (``error``, ``warning`` or
``info``; default ``error``) and ``description``; rules over edges also take
``edges`` (``all``, the default: the graph as given; ``traced``: edges seen in
traces, provenance traced or both; ``declared``: declared or both). Service
patterns are shell globs (``fnmatch``, case-sensitive). Virtual nodes
(uninstrumented peers) are nodes like the others.

=============================  ======================================================
kind (fields)                  violated by
=============================  ======================================================
forbidden_edge (source,        an edge from a service matching ``source`` to one
target, kinds?)                matching ``target`` (of one of ``kinds``, if given)
allowed_callers (target,       an edge into a service matching ``target`` from a
callers)                       service matching none of ``callers``
layers (order, attribute,      an edge from a lower tier to a higher one (``order``
allow_same_layer,              lists tiers top to bottom; ``attribute`` is ``layer``
allow_skip)                    or ``group``); within one tier unless
                               ``allow_same_layer``; over a tier unless
                               ``allow_skip``. Nodes without a tier in ``order`` are
                               ignored and counted; none at all: not evaluated
independence (groups,          an edge between two different listed groups
attribute)                     (``attribute``: group, layer or owner)
acyclic (max_cycles)           each elementary cycle (``nx.simple_cycles`` inside
                               strongly connected components only), up to
                               ``max_cycles`` (default 100)
max_fan_out, max_fan_in        a service matching ``pattern`` with more than
(limit, pattern)               ``limit`` distinct callees (callers)
required_capability            a declared service matching ``pattern`` whose profile
(pattern, supports)            lacks one of ``supports``; undeclared ones are counted
max_heartbeat_interval         a service whose period (declared; else, with beacons,
(pattern, max_interval_s)      inferred by ``history.periods``) exceeds the bound
liveness_budget (pattern,      a service down longer than ``max_down_s`` or below
max_down_s, min_uptime_pct)    ``min_uptime_pct`` (``liveness.uptime`` over the
                               beacons); needs beacons, else not evaluated
declared_cross_group           a traced edge between two groups that no profile
                               declares (queue-declared messaging counts as declared,
                               as in ``reconcile``)
lifecycle (forbidden, of)      an edge from a service whose lifecycle is in ``of``
                               (default production) to one in ``forbidden`` (default
                               deprecated, experimental)
=============================  ======================================================

Status of a rule: ``kept`` (no violation), ``broken`` (a violation the baseline
does not list), ``baselined`` (violations, all listed in the baseline),
``not_evaluated`` (the inputs it needs are missing; ``reason`` says which).

Failing: :attr:`RuleResults.broken` is true when a rule is ``broken`` and its
severity is at least ``fail_on`` (the file's, default ``error``, or the argument
of :func:`evaluate`): by default warnings and infos are reported and do not fail.

Baseline: a JSON file ``{"version": 1, "violations": [{"rule": id, "key": key}]}``
freezing known violations (:func:`write_baseline` writes the current ones). A
violation it lists is ``baselined``; entries that no longer match a violation of
an evaluated rule (or name no rule of the set) are reported as stale.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import networkx as nx
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from rtt_topology.diagnostics.policy_files import (
    Document,
    describe,
    item_error,
    parse_document,
    read_document,
)
from rtt_topology.diagnostics.rules.base import SEVERITIES, Context, Severity, Violation
from rtt_topology.diagnostics.rules.kinds import RULE_CLASSES, RULE_KINDS, Rule
from rtt_topology.diagnostics.rules.results import (
    RULE_STATUSES,
    Baseline,
    BaselineEntry,
    RuleResult,
    RuleResults,
    StaleEntry,
    Status,
)
from rtt_topology.errors import InputError
from rtt_topology.schemas import Profile

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

_RULE: TypeAdapter[Any] = TypeAdapter(Rule)
_NOUNS = {
    "id": "a non-empty string",
    "severity": "error, warning or info",
    "description": "a string",
    "edges": "all, traced or declared",
    "source": "a service name pattern",
    "target": "a service name pattern",
    "pattern": "a service name pattern",
    "kinds": "a list of edge kinds (rpc, messaging, database, virtual)",
    "callers": "a list of service name patterns",
    "order": "a list of tier names",
    "attribute": "a node attribute name",
    "allow_same_layer": "true or false",
    "allow_skip": "true or false",
    "groups": "a list of group names",
    "max_cycles": "a positive integer",
    "limit": "a non-negative integer",
    "supports": "a list of capabilities",
    "max_interval_s": "a number of seconds",
    "max_down_s": "a number of seconds",
    "min_uptime_pct": "a percentage",
    "forbidden": "a list of lifecycles",
    "of": "a list of lifecycles",
}


class RuleSet(BaseModel):
    """A rules file: ``{version: 1, fail_on: error, rules: [...]}``."""

    model_config = ConfigDict(frozen=True)

    version: Literal[1] = 1
    fail_on: Severity = "error"
    rules: list[Rule] = Field(default_factory=list)


def _rule(document: Document, index: int, item: Any) -> Any:
    raw_id = item.get("id") if isinstance(item, dict) else None
    where = ("rules", index, raw_id if isinstance(raw_id, str) and raw_id else None)
    if not isinstance(item, dict):
        raise item_error(document, (), "expected a mapping with id and kind", item=where)
    kind = item.get("kind")
    if kind is None:
        reason = f"missing (required): one of {', '.join(RULE_KINDS)}"
        raise item_error(document, ("kind",), reason, item=where)
    if kind not in RULE_KINDS:
        reason = f"unknown kind {kind!r}; expected one of {', '.join(RULE_KINDS)}"
        raise item_error(document, ("kind",), reason, item=where)
    try:
        return _RULE.validate_python(item)
    except ValidationError as exc:
        location, reason = describe(exc, _NOUNS, tag=str(kind))
        if reason == "unknown field":
            fields = ", ".join(sorted(_fields(str(kind))))
            reason = f"unknown field for kind {kind} (fields: {fields})"
        raise item_error(document, location, reason, item=where) from exc


def _fields(kind: str) -> list[str]:
    return [name for name in RULE_CLASSES[kind].model_fields if name != "kind"]


def _rule_set(document: Document) -> RuleSet:
    data = document.data
    unknown = sorted(set(data) - {"version", "fail_on", "rules"})
    if unknown:
        raise item_error(
            document, (unknown[0],), "unknown field (expected version, fail_on, rules)"
        )
    if data.get("version", 1) != 1:
        raise item_error(document, ("version",), f"unsupported version {data['version']!r}: 1")
    fail_on = data.get("fail_on", "error")
    if fail_on not in SEVERITIES:
        raise item_error(document, ("fail_on",), f"expected {', '.join(SEVERITIES)}")
    raw = data.get("rules", [])
    if not isinstance(raw, list):
        raise item_error(document, ("rules",), "expected a list of rules")
    rules = []
    first: dict[str, int] = {}
    for index, item in enumerate(raw):
        rule = _rule(document, index, item)
        if rule.id in first:
            reason = f"duplicate rule id (first at rules[{first[rule.id]}])"
            raise item_error(document, ("id",), reason, item=("rules", index, rule.id))
        first[rule.id] = index
        rules.append(rule)
    return RuleSet(fail_on=fail_on, rules=rules)


def parse_rules(text: str, *, source: str = "<rules>") -> RuleSet:
    r"""Parse the text of a rules file (YAML or JSON).

    Parameters
    ----------
    text
        The document (the format is in the module docstring).
    source
        Its name in error messages.

    Returns
    -------
    RuleSet
        The rules, in file order.

    Raises
    ------
    LoadError
        If the text is not one YAML or JSON mapping (or uses a YAML tag).
    RecordError
        For a bad rule, naming it and the field:
        ``FILE:LINE: rules[i] (id): field: reason``.

    Examples
    --------
    >>> rules = parse_rules("rules:\n  - {id: no-cycles, kind: acyclic}\n")
    >>> rules.rules[0].kind, rules.rules[0].severity
    ('acyclic', 'error')
    >>> parse_rules("rules:\n  - id: tiers\n    kind: layers\n    order: edge\n")
    Traceback (most recent call last):
    ...
    rtt_topology.errors.RecordError: <rules>:4: rules[0] (tiers): order: expected a list of tier names, got a string
    """  # noqa: E501
    return _rule_set(parse_document(text, source=source))


def load_rules(source: str | os.PathLike[str]) -> RuleSet:
    """Read a rules file (``.yaml``, ``.yml``, ``.json``, optionally ``.gz``), or parse rules text.

    Parameters
    ----------
    source
        A path, or the document itself: a ``str`` holding a line break, or
        starting with ``{``.

    Returns
    -------
    RuleSet
        The rules.

    Raises
    ------
    SourceNotFoundError
        If the path is not a file.
    LoadError
        If the file cannot be read as one YAML or JSON mapping (unsafe YAML tags
        included).
    RecordError
        For a bad rule (see :func:`parse_rules`).

    Examples
    --------
    >>> load_rules('{"rules": [{"id": "small", "kind": "max_fan_out", "limit": 3}]}').rules[0].limit
    3
    """
    return _rule_set(read_document(source, label="<rules>"))


# -- baselines ------------------------------------------------------------------------------


def load_baseline(source: str | os.PathLike[str]) -> Baseline:
    """Read a baseline file (or parse baseline text).

    Examples
    --------
    >>> load_baseline('{"version": 1, "violations": [{"rule": "r", "key": "a -> b"}]}')
    Baseline(version=1, violations=[BaselineEntry(rule='r', key='a -> b')])
    """
    document = read_document(source, label="<baseline>")
    data = document.data
    unknown = sorted(set(data) - {"version", "violations"})
    if unknown:
        raise item_error(document, (unknown[0],), "unknown field (expected version, violations)")
    if data.get("version", 1) != 1:
        raise item_error(document, ("version",), f"unsupported version {data['version']!r}: 1")
    raw = data.get("violations", [])
    if not isinstance(raw, list):
        raise item_error(document, ("violations",), "expected a list of {rule, key}")
    entries = []
    for index, item in enumerate(raw):
        try:
            entries.append(BaselineEntry.model_validate(item))
        except ValidationError as exc:
            location, reason = describe(exc, {"rule": "a rule id", "key": "a violation key"})
            raise item_error(document, location, reason, item=("violations", index, None)) from exc
    return Baseline(violations=entries)


def write_baseline(results: RuleResults, path: str | os.PathLike[str]) -> Baseline:
    """Write every current violation (baselined ones included) as a baseline file.

    Parameters
    ----------
    results
        What :func:`evaluate` returned.
    path
        The JSON file to write.

    Returns
    -------
    Baseline
        What was written, sorted by rule and key.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rtt_topology.graph.build import build_graph
    >>> G = build_graph()
    >>> G.add_edges_from([("a", "b"), ("b", "a")])
    >>> rules = parse_rules("rules: [{id: no-cycles, kind: acyclic, edges: all}]")
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "baseline.json"
    >>> write_baseline(evaluate(rules, G), path).violations
    [BaselineEntry(rule='no-cycles', key='a -> b -> a')]
    >>> evaluate(rules, G, baseline=path).rules[0].status
    'baselined'
    """
    entries = sorted(
        {(r.id, v.key) for r in results.rules for v in r.violations},
    )
    baseline = Baseline(violations=[BaselineEntry(rule=r, key=k) for r, k in entries])
    text = json.dumps(baseline.model_dump(mode="json"), indent=2, ensure_ascii=False)
    Path(path).write_text(text + "\n", encoding="utf-8")
    return baseline


# -- evaluation -----------------------------------------------------------------------------


def _as_baseline(baseline: Baseline | str | os.PathLike[str] | None) -> Baseline | None:
    if baseline is None or isinstance(baseline, Baseline):
        return baseline
    return load_baseline(baseline)


def evaluate(
    rules: RuleSet,
    G: nx.DiGraph[str],
    *,
    beacons: pd.DataFrame | None = None,
    profiles: Mapping[str, Profile] | None = None,
    baseline: Baseline | str | os.PathLike[str] | None = None,
    fail_on: Severity | None = None,
) -> RuleResults:
    """Check every rule against a service graph.

    Parameters
    ----------
    rules
        The rules (:func:`load_rules`).
    G
        A service graph (:func:`~rtt_topology.graph.build_graph`); not modified.
    beacons
        A beacon table: inferred periods (``max_heartbeat_interval``) and uptime
        (``liveness_budget``, not evaluated without it).
    profiles
        Profiles keyed by site, for the beacon-based rules (declared periods,
        declared services); by default rebuilt from the graph's declared nodes.
    baseline
        Known violations: a :class:`Baseline` or a baseline file.
    fail_on
        Overrides the rule set's ``fail_on``.

    Returns
    -------
    RuleResults
        One :class:`RuleResult` per rule, in file order; stale baseline entries;
        ``broken`` and ``failing``.

    Raises
    ------
    InputError
        If ``G`` is not a directed graph.

    Examples
    --------
    >>> import pandas as pd
    >>> from rtt_topology.graph.build import build_graph
    >>> from rtt_topology.schemas import Profile
    >>> edges = pd.DataFrame({"caller": ["worker", "web"], "callee": ["web", "db"],
    ...                       "kind": ["rpc", "database"], "calls": [3, 9], "errors": [0, 0]})
    >>> profiles = {
    ...     "web": Profile(rtt_version="1.0", supports=[], layer="edge"),
    ...     "worker": Profile(rtt_version="1.0", supports=[], layer="worker"),
    ... }
    >>> G = build_graph(profiles=profiles, edges=edges)
    >>> rules = parse_rules("rules: [{id: tiers, kind: layers, order: [edge, worker, data]}]")
    >>> results = evaluate(rules, G)
    >>> tiers = results.rules[0]
    >>> tiers.status, tiers.violations[0].message, results.broken
    ('broken', 'worker (worker) -> web (edge): upward call', True)
    >>> tiers.counts
    {'edges_checked': 1, 'edges_ignored': 1, 'nodes_without_tier': 1, 'violations': 1,
     'new': 1, 'baselined': 0}
    """
    if not isinstance(G, nx.DiGraph):
        raise InputError(
            f"rules apply to a service graph (networkx.DiGraph), not {type(G).__name__}"
        )
    known = _as_baseline(baseline)
    listed = {(e.rule, e.key) for e in known.violations} if known else set()
    ctx = Context(G, beacons, profiles)
    results: list[RuleResult] = []
    judged: set[str] = set()
    current: set[tuple[str, str]] = set()
    for rule in rules.rules:
        outcome = rule.check(ctx)
        counts = dict(outcome.counts)
        if outcome.not_evaluated is not None:
            results.append(_result(rule, "not_evaluated", outcome.not_evaluated, [], counts))
            continue
        judged.add(rule.id)
        outcome.violations.sort(key=lambda v: v.key)
        for violation in outcome.violations:
            violation.baselined = (rule.id, violation.key) in listed
            current.add((rule.id, violation.key))
        new = sum(not v.baselined for v in outcome.violations)
        old = len(outcome.violations) - new
        counts.update(violations=len(outcome.violations), new=new, baselined=old)
        status: Status = "broken" if new else "baselined" if old else "kept"
        results.append(_result(rule, status, outcome.note, outcome.violations, counts))
    ids = {r.id for r in rules.rules}
    stale = [
        StaleEntry(rule=e.rule, key=e.key, reason="no longer violated")
        if e.rule in judged
        else StaleEntry(rule=e.rule, key=e.key, reason="no such rule")
        for e in (known.violations if known else [])
        if (e.rule in judged and (e.rule, e.key) not in current) or e.rule not in ids
    ]
    return RuleResults(fail_on=fail_on or rules.fail_on, rules=results, stale_baseline=stale)


def _result(
    rule: Any,
    status: Status,
    reason: str | None,
    violations: list[Violation],
    counts: dict[str, int],
) -> RuleResult:
    return RuleResult(
        id=rule.id,
        kind=rule.kind,
        severity=rule.severity,
        description=rule.description,
        status=status,
        reason=reason,
        violations=violations,
        counts=counts,
    )
