from __future__ import annotations

import json

import networkx as nx
import pandas as pd
import pytest

from rtt_topology.errors import InputError
from rtt_topology.graph.build import build_graph
from rtt_topology.graph.reconciliation import diff_graphs, reconcile
from rtt_topology.schemas import Profile
from tests.builders import beacon_table


def profile(*depends_on: str, tags: list[str] | None = None) -> Profile:
    return Profile(rtt_version="1.0", supports=[], depends_on=list(depends_on), tags=tags or [])


def edges(*rows: tuple[str, str, str, int, int]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["caller", "callee", "kind", "calls", "errors"])


def beacons_for(*sites: str) -> pd.DataFrame:
    return beacon_table(
        {"site": s, "session": "s", "event": "heartbeat", "ts": "2026-01-19T15:00:00Z"}
        for s in sites
    )


def test_node_and_edge_statuses() -> None:
    G = build_graph(
        beacons_for("api", "worker", "stray"),
        {"api": profile("db", "cache"), "worker": profile(), "ghost": profile()},
        edges(
            ("api", "db", "database", 5, 0),
            ("api", "search", "rpc", 2, 1),
            ("api", "legacy-db", "virtual", 1, 0),
        ),
    )
    G.nodes["legacy-db"]["virtual"] = True
    result = reconcile(G)
    status = dict(zip(result.nodes["name"], result.nodes["status"], strict=True))
    assert status == {
        "api": "managed",
        "worker": "managed",
        "stray": "undeclared",
        "ghost": "missing",
        "search": "undeclared",
        "db": "undeclared",
        "legacy-db": "external",
        "cache": "dangling",
    }
    edge_status = {(r.caller, r.callee): r.status for r in result.edges.itertuples()}
    assert edge_status == {
        ("api", "db"): "managed",
        ("api", "cache"): "unused",
        ("api", "search"): "undeclared",
        ("api", "legacy-db"): "undeclared",
    }
    assert result.coverage == {
        "declared_services": 40.0,  # 2 managed of 2 managed + 3 undeclared
        "observed_services": pytest.approx(66.67),
        "declared_edges": pytest.approx(33.33),
        "observed_edges": 50.0,
    }
    assert result.counts()["nodes"]["managed"] == 2
    data = json.loads(json.dumps(result.to_dict()))
    assert data["counts"]["edges"] == {"managed": 1, "undeclared": 2, "unused": 1}


def test_messaging_through_a_declared_queue() -> None:
    profiles = {
        "orders-api": profile("orders-queue"),
        "email-worker": profile("orders-queue"),
        "orders-queue": profile(tags=["queue", "kafka"]),
    }
    G = build_graph(
        profiles=profiles, edges=edges(("orders-api", "email-worker", "messaging", 9, 0))
    )
    result = reconcile(G)
    rows = {(r.caller, r.callee): (r.status, r.via) for r in result.edges.itertuples()}
    assert rows == {
        ("orders-api", "email-worker"): ("managed", "orders-queue"),
        ("orders-api", "orders-queue"): ("managed", "orders-api -> email-worker"),
        ("email-worker", "orders-queue"): ("managed", "orders-api -> email-worker"),
    }
    # Without the queue tag, a shared dependency proves nothing.
    profiles["orders-queue"] = profile()
    result = reconcile(
        build_graph(
            profiles=profiles, edges=edges(("orders-api", "email-worker", "messaging", 9, 0))
        )
    )
    assert set(result.edges["status"]) == {"undeclared", "unused"}


def test_empty_graph() -> None:
    result = reconcile(build_graph())
    assert result.nodes.empty
    assert result.edges.empty
    assert set(result.coverage.values()) == {None}
    with pytest.raises(InputError):
        reconcile(nx.Graph())  # type: ignore[arg-type]


def test_diff_graphs() -> None:
    before = build_graph(
        profiles={"api": profile("cache")},
        edges=edges(("api", "db", "rpc", 100, 1), ("api", "old", "rpc", 5, 0)),
    )
    after = build_graph(
        profiles={"api": profile("cache")},
        edges=edges(("api", "db", "database", 100, 10), ("api", "new", "rpc", 7, 0)),
    )
    diff = diff_graphs(before, after)
    assert not diff.empty
    assert diff.nodes_added == ["new"]
    assert diff.nodes_removed == ["old"]
    assert diff.edges_added[["caller", "callee", "calls"]].values.tolist() == [["api", "new", 7]]
    assert diff.edges_removed["callee"].tolist() == ["old"]
    changed = {(r.attribute, r.before, r.after) for r in diff.edges_changed.itertuples()}
    assert changed == {("kind", "rpc", "database"), ("errors", 1, 10)}
    assert json.loads(json.dumps(diff.to_dict()))["nodes_added"] == ["new"]
    assert diff_graphs(before, before).empty
    with pytest.raises(InputError, match="threshold"):
        diff_graphs(before, after, threshold=-1)
