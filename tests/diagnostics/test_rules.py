"""Tests for rtt_topology.diagnostics.rules: the rules language, its kinds and baselines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import networkx as nx
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from rtt_topology.demo.policy import demo_rules_text
from rtt_topology.diagnostics.rules.ruleset import (
    RULE_KINDS,
    Baseline,
    BaselineEntry,
    RuleResults,
    RuleSet,
    evaluate,
    load_baseline,
    load_rules,
    parse_rules,
    write_baseline,
)
from rtt_topology.errors import LoadError, RecordError, RttTopologyError, SourceNotFoundError
from rtt_topology.graph.build import build_graph
from rtt_topology.load import TraceLoad
from rtt_topology.schemas import Profile
from tests import DATA
from tests.builders import beacon_table

DATA = DATA / "rules"
T0 = pd.Timestamp("2026-01-19T10:00:00Z")


def edge_table(*rows: tuple[str, str, str, int, int]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["caller", "callee", "kind", "calls", "errors"])
    frame["p50_ms"] = 5.0
    frame["p95_ms"] = 20.0
    frame["first_seen"] = T0
    frame["last_seen"] = T0 + pd.Timedelta(hours=1)
    frame["sample_trace_ids"] = [[f"{i:032x}"] for i in range(len(rows))]
    frame["callee_virtual"] = [callee.startswith("ext-") for _, callee, *_ in rows]
    return frame


def profile(*depends_on: str, **extra: Any) -> Profile:
    fields = {"rtt_version": "1.0", "supports": ["coherence"], **extra}
    return Profile.model_validate({**fields, "depends_on": list(depends_on)})


def graph(
    *edges: tuple[str, str, str, int, int],
    profiles: dict[str, Profile] | None = None,
    groups: dict[str, str] | None = None,
) -> nx.DiGraph[str]:
    table = edge_table(*edges) if edges else None
    return build_graph(profiles=profiles, edges=table, groups=groups)


def rule(kind: str, **fields: Any) -> RuleSet:
    return RuleSet.model_validate({"rules": [{"id": "r", "kind": kind, **fields}]})


def check(G: nx.DiGraph[str], kind: str, **fields: Any) -> Any:
    return evaluate(rule(kind, **fields), G).rules[0]


def keys(result: Any) -> list[str]:
    return [v.key for v in result.violations]


# -- one test per kind: kept and broken, with evidence ---------------------------------------


def test_forbidden_edge() -> None:
    G = graph(("web", "users-db", "database", 7, 2), ("web", "api", "rpc", 3, 0))
    result = check(G, "forbidden_edge", source="web*", target="*-db")
    assert result.status == "broken"
    (violation,) = result.violations
    assert violation.key == "web -> users-db"
    assert (violation.caller, violation.callee, violation.kind) == ("web", "users-db", "database")
    assert (violation.calls, violation.errors, violation.provenance) == (7, 2, "traced")
    assert violation.sample_trace_ids == [f"{0:032x}"]
    assert "forbidden" in violation.message
    assert check(G, "forbidden_edge", source="web", target="*-db", kinds=["rpc"]).status == "kept"
    assert check(G, "forbidden_edge", source="api", target="*").status == "kept"


def test_allowed_callers() -> None:
    G = graph(("users-api", "users-db", "database", 5, 0), ("cart", "users-db", "database", 2, 0))
    result = check(G, "allowed_callers", target="users-db", callers=["users-*"])
    assert result.status == "broken"
    assert keys(result) == ["cart -> users-db"]
    assert result.counts["edges_checked"] == 2
    allowed = check(G, "allowed_callers", target="users-db", callers=["users-api", "cart"])
    assert allowed.status == "kept"


def layered() -> nx.DiGraph[str]:
    profiles = {
        "web": profile("api", layer="edge"),
        "api": profile("db", "auth", layer="api"),
        "auth": profile(layer="api"),
        "worker": profile(layer="worker"),
        "db": profile(layer="data"),
    }
    return graph(
        ("worker", "api", "rpc", 3, 0),
        ("web", "db", "database", 1, 0),
        ("worker", "ext-mail", "virtual", 2, 0),
        profiles=profiles,
    )


def test_layers_upward_calls() -> None:
    result = check(layered(), "layers", order=["edge", "api", "worker", "data"])
    assert result.status == "broken"
    (violation,) = result.violations
    assert violation.key == "worker -> api"
    assert violation.message == "worker (worker) -> api (api): upward call"
    assert violation.details == {"from_tier": "worker", "to_tier": "api", "problem": "upward call"}
    # The virtual peer has no layer: ignored and counted.
    assert result.counts["nodes_without_tier"] == 1
    assert result.counts["edges_ignored"] == 1
    assert "ext-mail" in (result.reason or "")


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, ["worker -> api"]),
        ({"allow_same_layer": False}, ["api -> auth", "worker -> api"]),
        ({"allow_skip": False}, ["api -> db", "web -> db", "worker -> api"]),
    ],
)
def test_layers_options(options: dict[str, bool], expected: list[str]) -> None:
    result = check(layered(), "layers", order=["edge", "api", "worker", "data"], **options)
    assert sorted(keys(result)) == expected


def test_layers_on_groups_and_without_tiers() -> None:
    G = graph(("a", "b", "rpc", 1, 0), groups={"a": "back", "b": "front"})
    result = check(G, "layers", order=["front", "back"], attribute="group")
    assert keys(result) == ["a -> b"]
    untiered = check(graph(("a", "b", "rpc", 1, 0)), "layers", order=["front", "back"])
    assert untiered.status == "not_evaluated"
    assert untiered.reason == "no node has a layer in order"


def test_independence() -> None:
    G = graph(
        ("eu-api", "us-db", "database", 4, 0),
        ("eu-api", "eu-db", "database", 4, 0),
        ("eu-api", "shared", "rpc", 4, 0),
        groups={"eu-api": "eu", "eu-db": "eu", "us-db": "us", "shared": "global"},
    )
    result = check(G, "independence", groups=["eu", "us"])
    assert keys(result) == ["eu-api -> us-db"]
    assert result.violations[0].details == {"from_group": "eu", "to_group": "us"}
    assert check(G, "independence", groups=["eu", "global"]).status == "broken"
    assert check(G, "independence", groups=["us", "global"]).status == "kept"


def test_acyclic_reports_each_cycle_once() -> None:
    G = graph(
        ("a", "b", "rpc", 1, 0),
        ("b", "c", "rpc", 2, 0),
        ("c", "a", "rpc", 3, 0),
        ("b", "a", "rpc", 4, 0),
        ("c", "d", "rpc", 1, 0),
    )
    result = check(G, "acyclic")
    assert result.status == "broken"
    assert keys(result) == ["a -> b -> a", "a -> b -> c -> a"]
    assert result.violations[1].cycle == ["a", "b", "c", "a"]
    assert result.violations[1].calls == 6
    assert result.counts["components"] == 1
    assert check(graph(("a", "b", "rpc", 1, 0), ("b", "c", "rpc", 1, 0)), "acyclic").status == (
        "kept"
    )


def test_acyclic_self_loop_scope_and_bound() -> None:
    profiles = {"a": profile("a")}
    G = graph(profiles=profiles)
    assert keys(check(G, "acyclic")) == ["a -> a"]
    # The loop is declared only: a rule over traced edges does not see it.
    assert check(G, "acyclic", edges="traced").status == "kept"
    # A complete graph has many cycles: the rule stops at max_cycles.
    complete = nx.complete_graph(7, create_using=nx.DiGraph)
    rows = [(f"s{u}", f"s{v}", "rpc", 1, 0) for u, v in complete.edges]
    result = check(graph(*rows), "acyclic", max_cycles=10)
    assert len(result.violations) == 10
    assert result.counts["truncated"] == 1
    assert "max_cycles" in (result.reason or "")


def test_acyclic_on_a_large_dag() -> None:
    rows = [(f"s{i}", f"s{j}", "rpc", 1, 0) for i in range(400) for j in range(i + 1, i + 6)]
    # Only strongly connected components are searched: a DAG costs one pass.
    assert check(graph(*rows), "acyclic").status == "kept"


def test_fan_out_and_fan_in() -> None:
    rows = [("api", f"db{i}", "database", 1, 0) for i in range(4)]
    rows += [(f"c{i}", "db0", "rpc", 1, 0) for i in range(3)]
    G = graph(*rows)
    out = check(G, "max_fan_out", limit=3)
    assert keys(out) == ["api"]
    assert out.violations[0].details["degree"] == 4
    assert out.violations[0].details["neighbours"] == ["db0", "db1", "db2", "db3"]
    assert check(G, "max_fan_out", limit=4).status == "kept"
    assert check(G, "max_fan_out", limit=3, pattern="c*").status == "kept"
    into = check(G, "max_fan_in", limit=3)
    assert keys(into) == ["db0"]
    assert into.violations[0].message == "db0 is called by 4 services (limit 3)"


def test_required_capability() -> None:
    profiles = {
        "a-api": profile(supports=["drift", "coherence"]),
        "b-api": profile(supports=["coherence"]),
    }
    G = graph(("b-api", "c-api", "rpc", 1, 0), profiles=profiles)
    result = check(G, "required_capability", pattern="*-api", supports=["drift"])
    assert keys(result) == ["b-api"]
    assert result.violations[0].details == {"missing": ["drift"]}
    # c-api has no profile: not judged, counted.
    assert result.counts == {
        "nodes_checked": 2,
        "undeclared_ignored": 1,
        "violations": 1,
        "new": 1,
        "baselined": 0,
    }
    assert check(G, "required_capability", supports=["coherence"]).status == "kept"
    bare = check(graph(("a", "b", "rpc", 1, 0)), "required_capability", supports=["drift"])
    assert bare.status == "not_evaluated"


def heartbeats(sites: dict[str, list[int]]) -> pd.DataFrame:
    """Heartbeats of each site at the given second offsets."""
    return beacon_table(
        {
            "site": site,
            "session": "s",
            "event": "heartbeat",
            "ts": (T0 + pd.Timedelta(seconds=s)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        for site, offsets in sites.items()
        for s in offsets
    )


def test_max_heartbeat_interval() -> None:
    profiles = {
        "api": profile(heartbeat_interval_s=30.0),
        "slow": profile(heartbeat_interval_s=300.0),
    }
    G = graph(("api", "db", "database", 1, 0), profiles=profiles)
    # Without beacons: declared periods only; db has none.
    declared = check(G, "max_heartbeat_interval", max_interval_s=120)
    assert keys(declared) == ["slow"]
    assert declared.violations[0].details["period_from"] == "declared"
    assert declared.counts["no_period"] == 1
    # With beacons: db's period is inferred (every 200 s).
    beacons = heartbeats({"db": list(range(0, 2000, 200)), "api": [0, 30, 60, 90]})
    rules = rule("max_heartbeat_interval", max_interval_s=120)
    result = evaluate(rules, G, beacons=beacons, profiles=profiles).rules[0]
    assert keys(result) == ["db", "slow"]
    assert result.violations[0].details["period_from"] == "inferred"
    assert result.violations[0].details["period_s"] == 200.0
    # Without profiles, the declared periods come from the graph.
    assert keys(evaluate(rules, G, beacons=beacons).rules[0]) == ["db", "slow"]
    nothing = check(graph(("a", "b", "rpc", 1, 0)), "max_heartbeat_interval", max_interval_s=60)
    assert nothing.status == "not_evaluated"


def test_liveness_budget() -> None:
    # db beacons every 60 s, then falls silent for 20 minutes, then comes back.
    db = [*range(0, 600, 60), *range(1800, 2400, 60)]
    api = list(range(0, 2400, 60))
    beacons = heartbeats({"db": db, "api": api})
    G = graph(("api", "db", "database", 5, 0))
    rules = rule("liveness_budget", pattern="*", max_down_s=300)
    result = evaluate(rules, G, beacons=beacons).rules[0]
    assert keys(result) == ["db"]
    assert result.violations[0].details["down_s"] > 300
    pct = rule("liveness_budget", min_uptime_pct=99.0)
    assert keys(evaluate(pct, G, beacons=beacons).rules[0]) == ["db"]
    loose = rule("liveness_budget", max_down_s=3600)
    assert evaluate(loose, G, beacons=beacons).rules[0].status == "kept"
    blind = evaluate(rules, G).rules[0]
    assert (blind.status, blind.reason) == ("not_evaluated", "needs beacons")


def test_declared_cross_group() -> None:
    profiles = {
        "a": profile("b", "q", group="east"),
        "b": profile("q", group="west"),
        "q": profile(tags=["queue"], group="west"),
        "c": profile(group="east"),
    }
    G = graph(
        ("a", "b", "rpc", 3, 0),
        ("c", "b", "rpc", 2, 0),
        ("a", "c", "rpc", 1, 0),
        ("c", "q", "messaging", 1, 0),
        profiles=profiles,
    )
    result = check(G, "declared_cross_group")
    # a -> b is declared; a -> c stays in its group; c calls b and q undeclared.
    assert keys(result) == ["c -> b", "c -> q"]
    assert result.violations[0].details == {"from_group": "east", "to_group": "west"}
    messaging = graph(("a", "b", "messaging", 3, 0), profiles={**profiles, "a": profile("q")})
    messaging.nodes["a"]["group"] = "east"
    assert check(messaging, "declared_cross_group").status == "kept"
    declared_only = check(graph(profiles=profiles), "declared_cross_group")
    assert declared_only.status == "not_evaluated"


def test_lifecycle() -> None:
    profiles = {
        "api": profile("old", "new", lifecycle="production"),
        "old": profile(lifecycle="deprecated"),
        "new": profile(lifecycle="experimental"),
        "lab": profile("old", lifecycle="experimental"),
    }
    G = graph(profiles=profiles)
    result = check(G, "lifecycle")
    assert keys(result) == ["api -> new", "api -> old"]
    assert result.violations[1].details == {
        "from_lifecycle": "production",
        "to_lifecycle": "deprecated",
    }
    assert keys(check(G, "lifecycle", forbidden=["deprecated"], of=["experimental"])) == [
        "lab -> old"
    ]
    assert check(graph(("a", "b", "rpc", 1, 0)), "lifecycle").status == "not_evaluated"


def test_edge_scopes_and_virtual_nodes() -> None:
    profiles = {"web": profile("db")}
    G = graph(("web", "ext-cdn", "virtual", 4, 0), profiles=profiles)
    assert G.nodes["ext-cdn"]["virtual"]
    every = check(G, "forbidden_edge", source="web", target="*")
    assert keys(every) == ["web -> db", "web -> ext-cdn"]
    assert keys(check(G, "forbidden_edge", source="web", target="*", edges="traced")) == [
        "web -> ext-cdn"
    ]
    assert keys(check(G, "forbidden_edge", source="web", target="*", edges="declared")) == [
        "web -> db"
    ]


def test_graph_is_not_modified() -> None:
    G = layered()
    before = nx.node_link_data(G, edges="edges")
    evaluate(load_rules(DATA / "rules.yaml"), G)
    assert nx.node_link_data(G, edges="edges") == before


def test_not_a_digraph() -> None:
    with pytest.raises(RttTopologyError, match=r"networkx\.DiGraph"):
        evaluate(rule("acyclic"), nx.Graph())  # type: ignore[arg-type]


# -- severities, failing, JSON -----------------------------------------------------------------


def test_fail_on_and_severities() -> None:
    G = graph(("a", "b", "rpc", 1, 0), ("b", "a", "rpc", 1, 0))
    text = "rules:\n  - {id: cycles, kind: acyclic, severity: warning}\n"
    results = evaluate(parse_rules(text), G)
    assert results.rules[0].status == "broken"
    assert not results.broken
    assert results.failing == []
    assert evaluate(parse_rules(text), G, fail_on="warning").broken
    assert evaluate(parse_rules("fail_on: info\n" + text), G).failing == ["cycles"]
    assert evaluate(parse_rules(text.replace("warning", "error")), G).broken


def test_results_are_json_ready() -> None:
    results = evaluate(load_rules(DATA / "rules.yaml"), layered())
    data = json.loads(json.dumps(results.model_dump(mode="json")))
    assert data["broken"] is True
    assert data["failing"] == ["no-upward-calls"]
    assert data["counts"]["not_evaluated"] >= 1
    assert [r["id"] for r in data["rules"]] == [r.id for r in load_rules(DATA / "rules.yaml").rules]
    assert (
        RuleResults.model_validate(
            {k: v for k, v in data.items() if k not in ("broken", "failing", "counts")}
        )
        == results
    )
    table = results.table()
    assert table.loc[0, ["rule", "key"]].tolist() == ["no-upward-calls", "worker -> api"]
    assert results.result("no-cycles").status == "kept"
    with pytest.raises(KeyError):
        results.result("nope")


# -- baselines ---------------------------------------------------------------------------------


def test_baseline_known_new_and_stale(tmp_path: Path) -> None:
    tiers = "rules:\n  - {id: no-upward-calls, kind: layers, order: [edge, api, worker, data]}\n"
    rules = parse_rules(tiers)
    G = layered()
    first = evaluate(rules, G)
    assert first.rules[0].status == "broken"
    path = tmp_path / "baseline.json"
    written = write_baseline(first, path)
    assert written == Baseline(
        violations=[BaselineEntry(rule="no-upward-calls", key="worker -> api")]
    )
    assert load_baseline(path) == written
    # Known violations only: baselined, not failing.
    known = evaluate(rules, G, baseline=path)
    assert known.rules[0].status == "baselined"
    assert known.rules[0].violations[0].baselined
    assert not known.broken
    assert known.stale_baseline == []
    # A new violation breaks the rule again; the known one stays marked.
    G.add_edge("db", "web", **dict(G.edges["worker", "api"]))
    G.nodes["db"]["layer"] = "data"
    new = evaluate(rules, G, baseline=path).rules[0]
    assert new.status == "broken"
    assert {v.key: v.baselined for v in new.violations} == {
        "worker -> api": True,
        "db -> web": False,
    }
    assert new.counts["new"] == 1
    assert new.counts["baselined"] == 1


def test_stale_baseline_entries() -> None:
    rules = parse_rules("rules:\n  - {id: no-upward-calls, kind: layers, order: [edge, api]}\n")
    G = graph(
        ("api", "web", "rpc", 1, 0),
        profiles={"web": profile(layer="edge"), "api": profile(layer="api")},
    )
    results = evaluate(rules, G, baseline=DATA / "baseline.json")
    assert results.rules[0].status == "broken"
    assert [(s.rule, s.key, s.reason) for s in results.stale_baseline] == [
        ("no-upward-calls", "worker -> web", "no longer violated"),
        ("no-upward-calls", "db -> api", "no longer violated"),
        ("retired-rule", "a -> b", "no such rule"),
    ]


def test_baseline_of_a_rule_not_evaluated_is_not_stale() -> None:
    rules = rule("liveness_budget", max_down_s=10)
    entry = BaselineEntry(rule="r", key="db")
    results = evaluate(
        rules, graph(("a", "db", "rpc", 1, 0)), baseline=Baseline(violations=[entry])
    )
    assert results.rules[0].status == "not_evaluated"
    assert results.stale_baseline == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"version": 2}', "version: unsupported version 2"),
        ('{"violations": {}}', "violations: expected a list"),
        ('{"violations": [{"rule": "r"}]}', "violations[0]: key: missing"),
        ('{"violations": [], "extra": 1}', "extra: unknown field"),
    ],
)
def test_bad_baselines(text: str, message: str) -> None:
    with pytest.raises(RecordError) as info:
        load_baseline(text)
    assert message in str(info.value)


# -- the rules file ----------------------------------------------------------------------------


def test_rule_sets_round_trip() -> None:
    rules = load_rules(DATA / "rules.yaml")
    assert parse_rules(json.dumps(rules.model_dump(mode="json"))) == rules
    assert parse_rules(yaml.safe_dump(rules.model_dump(mode="json"))) == rules


def test_example_file_has_every_kind_in_both_formats() -> None:
    from_yaml = load_rules(DATA / "rules.yaml")
    assert [r.kind for r in from_yaml.rules] == list(RULE_KINDS)
    assert load_rules(DATA / "rules.json") == from_yaml
    assert load_rules((DATA / "rules.yaml").read_text()) == from_yaml
    layers = from_yaml.rules[2]
    assert layers.model_dump(exclude={"description"}) == {
        "id": "no-upward-calls",
        "kind": "layers",
        "severity": "error",
        "edges": "all",
        "order": ["edge", "api", "worker", "data"],
        "attribute": "layer",
        "allow_same_layer": True,
        "allow_skip": True,
    }


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        (
            "bad_kind.yaml",
            RecordError,
            "bad_kind.yaml:6: rules[1] (tiers): kind: unknown kind 'layer'; expected one of "
            "forbidden_edge, allowed_callers, layers,",
        ),
        (
            "missing_field.yaml",
            RecordError,
            "missing_field.yaml:3: rules[0] (no-upward): order: missing (required)",
        ),
        (
            "bad_severity.yaml",
            RecordError,
            "bad_severity.yaml:5: rules[0] (no-cycles): severity: expected 'error', 'warning' "
            "or 'info', got 'fatal'",
        ),
        (
            "duplicate_id.yaml",
            RecordError,
            "duplicate_id.yaml:8: rules[2] (no-cycles): id: duplicate rule id (first at rules[0])",
        ),
        (
            "order_not_list.yaml",
            RecordError,
            "order_not_list.yaml:13: rules[3] (no-upward): order: expected a list of tier names, "
            "got a string",
        ),
        (
            "unsafe.yaml",
            LoadError,
            "unsafe.yaml: invalid YAML at line 4, column 11: could not determine a constructor "
            "for the tag 'tag:yaml.org,2002:python/object/apply:os.system' (only plain YAML is "
            "read: unsafe and unknown tags are refused)",
        ),
    ],
)
def test_bad_rule_files(name: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error) as info:
        load_rules(DATA / name)
    assert str(info.value).startswith(str(DATA / name)[: -len(name)])
    assert message in str(info.value)


def test_rule_error_attributes() -> None:
    with pytest.raises(RecordError) as info:
        load_rules(DATA / "order_not_list.yaml")
    assert info.value.path == str(DATA / "order_not_list.yaml")
    assert info.value.line == 13
    assert info.value.field == "rules[3] (no-upward): order"
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "rules:\n  - {id: x, kind: acyclic, colour: red}\n",
            "rules[0] (x): colour: unknown field for kind acyclic "
            "(fields: description, edges, id, max_cycles, severity)",
        ),
        ("rules:\n  - {kind: acyclic}\n", "rules[0]: id: missing (required)"),
        ("rules:\n  - {id: x}\n", "rules[0] (x): kind: missing (required): one of forbidden_edge"),
        ("rules:\n  - [acyclic]\n", "rules[0]: expected a mapping with id and kind"),
        (
            "rules:\n  - {id: x, kind: liveness_budget}\n",
            "rules[0] (x): give max_down_s, min_uptime_pct or both",
        ),
        (
            "rules:\n  - {id: x, kind: max_fan_out, limit: '3'}\n",
            "rules[0] (x): limit: expected a non-negative integer, got a string",
        ),
        (
            "rules:\n  - {id: x, kind: max_fan_out, limit: -1}\n",
            "rules[0] (x): limit: Input should be greater than or equal to 0",
        ),
        (
            "rules:\n  - {id: x, kind: layers, order: [a, b, a]}\n",
            "rules[0] (x): order: tier(s) listed twice: a",
        ),
        (
            "rules:\n  - {id: x, kind: layers, order: [a, b], attribute: owner}\n",
            "rules[0] (x): attribute: expected 'layer' or 'group', got 'owner'",
        ),
        (
            "rules:\n  - {id: x, kind: forbidden_edge, source: a, target: b, kinds: [grpc]}\n",
            "rules[0] (x): kinds.0: expected 'rpc', 'messaging', 'database' or 'virtual'",
        ),
        (
            "rules:\n  - {id: x, kind: acyclic, edges: some}\n",
            "rules[0] (x): edges: expected 'all', 'traced' or 'declared'",
        ),
        ("rules: {}\n", "<rules>:1: rules: expected a list of rules"),
        ("version: 2\nrules: []\n", "version: unsupported version 2"),
        ("fail_on: fatal\n", "fail_on: expected error, warning, info"),
        ("rule: []\n", "rule: unknown field (expected version, fail_on, rules)"),
    ],
)
def test_bad_rules_text(text: str, message: str) -> None:
    with pytest.raises(RecordError) as info:
        parse_rules(text)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "<rules>: is blank"),
        ("- a\n- b\n", "top level is a list, expected a mapping"),
        ("rules: [\n", "invalid YAML at line 2"),
        ("a: 1\na: 2\n", "invalid YAML at line 2: duplicate key 'a'"),
        ("a: 1\n---\nb: 2\n", "holds 2 YAML documents"),
        ('{"rules": [], "rules": []}', "invalid JSON: duplicate key 'rules'"),
        ('{"rules": [NaN]}\n', "invalid JSON"),
    ],
)
def test_unreadable_rules_text(text: str, message: str) -> None:
    with pytest.raises(LoadError, match=message.replace("[", r"\[")):
        parse_rules(text)


def test_missing_and_gzip_files(tmp_path: Path) -> None:
    import gzip

    with pytest.raises(SourceNotFoundError):
        load_rules(tmp_path / "nope.yaml")
    target = tmp_path / "rules.yaml.gz"
    target.write_bytes(gzip.compress((DATA / "rules.yaml").read_bytes()))
    assert load_rules(target) == load_rules(DATA / "rules.yaml")
    plain = tmp_path / "rules.txt"
    plain.write_text((DATA / "rules.json").read_text())
    assert load_rules(plain) == load_rules(DATA / "rules.yaml")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
rule_like = st.fixed_dictionaries(
    {"id": st.text(max_size=5), "kind": st.sampled_from([*RULE_KINDS, "nope"])},
    optional={
        "order": json_values,
        "limit": json_values,
        "severity": st.sampled_from(["error", "warning", "info", "fatal"]),
        "source": json_values,
        "target": json_values,
        "supports": json_values,
        "max_down_s": json_values,
    },
)


@settings(max_examples=150, deadline=None)
@given(st.lists(rule_like, max_size=4), st.sampled_from(["json", "yaml"]))
def test_parser_accepts_or_explains(rules: list[dict[str, Any]], fmt: str) -> None:
    document = {"version": 1, "rules": rules}
    text = json.dumps(document) if fmt == "json" else yaml.safe_dump(document)
    field = None
    try:
        parsed = parse_rules(text)
    except RecordError as exc:
        field = exc.field
    except LoadError:
        return
    else:
        assert [r.id for r in parsed.rules] == [r["id"] for r in rules]
        return
    assert field is not None
    assert field.startswith("rules")


# -- the demo ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_edges_spans_graph(
    demo_beacons: pd.DataFrame, demo_profiles: dict[str, Profile], demo_traces: TraceLoad
) -> nx.DiGraph[str]:
    """The demo's graph from its trace edges and spans."""
    return build_graph(demo_beacons, demo_profiles, demo_traces.edges, spans=demo_traces.spans)


def test_demo_rules_are_broken_by_the_injected_incidents(
    demo_truth: dict[str, Any],
    demo_edges_spans_graph: nx.DiGraph[str],
    demo_beacons: pd.DataFrame,
    demo_profiles: dict[str, Profile],
) -> None:
    truth = demo_truth
    results = evaluate(
        parse_rules(demo_rules_text()),
        demo_edges_spans_graph,
        beacons=demo_beacons,
        profiles=demo_profiles,
    )
    broken = {r.id: keys(r) for r in results.rules if r.status != "kept"}
    violation = truth["layering_violation"]
    lifecycle = {s["name"]: s["lifecycle"] for s in truth["services"]}
    unsupported = set(truth["deprecated"]) | set(truth["experimental"])
    expected_lifecycle = sorted(
        f"{e['caller']} -> {e['callee']}"
        for e in truth["edges"]
        if e["callee"] in unsupported and lifecycle.get(e["caller"]) == "production"
    )
    assert expected_lifecycle  # the demo has such dependencies
    assert broken == {
        "no-upward-calls": [f"{violation['caller']} -> {violation['callee']}"],
        "production-on-supported": expected_lifecycle,
    }
    # The lifecycle rule is a warning: only the layering violation fails the check.
    assert results.failing == ["no-upward-calls"]
    upward = results.result("no-upward-calls").violations[0]
    assert upward.calls
    assert upward.sample_trace_ids
    assert upward.provenance == "traced"
    assert results.result("no-upward-calls").counts["nodes_without_tier"] == len(
        truth["undeclared_services"]
    )


def test_demo_rules_without_beacons(demo_edges_spans_graph: nx.DiGraph[str]) -> None:
    results = evaluate(parse_rules(demo_rules_text()), demo_edges_spans_graph)
    statuses = {r.id: r.status for r in results.rules}
    assert statuses["databases-available"] == "not_evaluated"
    assert statuses["heartbeat-every-two-minutes"] == "kept"
    assert sum(s == "broken" for s in statuses.values()) == 2


def test_demo_undeclared_edge_crosses_groups(
    demo_truth: dict[str, Any], demo_edges_spans_graph: nx.DiGraph[str]
) -> None:
    edge = demo_truth["undeclared_edge"]
    result = evaluate(rule("declared_cross_group"), demo_edges_spans_graph).rules[0]
    assert keys(result) == [f"{edge['caller']} -> {edge['callee']}"]


def test_demo_baseline_round_trip(
    demo_edges_spans_graph: nx.DiGraph[str],
    demo_beacons: pd.DataFrame,
    demo_profiles: dict[str, Profile],
    tmp_path: Path,
) -> None:
    rules = parse_rules(demo_rules_text())
    first = evaluate(rules, demo_edges_spans_graph, beacons=demo_beacons, profiles=demo_profiles)
    path = tmp_path / "baseline.json"
    write_baseline(first, path)
    again = evaluate(
        rules, demo_edges_spans_graph, beacons=demo_beacons, profiles=demo_profiles, baseline=path
    )
    assert not again.broken
    assert again.counts == {"kept": 10, "broken": 0, "baselined": 2, "not_evaluated": 0}
