from __future__ import annotations

from pathlib import Path

import networkx as nx
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtt_topology.analysis.impact import VERDICTS, root_causes
from rtt_topology.analysis.liveness import states
from rtt_topology.errors import InputError
from rtt_topology.load import read_beacons


def frame(**states: str) -> pd.DataFrame:
    return pd.DataFrame({"site": list(states), "state": list(states.values())})


def verdicts(table: pd.DataFrame, G: nx.DiGraph) -> dict[str, tuple[str, list[str], list[str]]]:
    result = root_causes(table, G)
    return {r.site: (r.verdict, r.root_causes, r.path) for r in result.itertuples()}


def test_chain() -> None:
    G = nx.DiGraph([("web", "api"), ("api", "db")])
    got = verdicts(frame(web="late", api="down", db="down"), G)
    assert got == {
        "db": ("root cause", ["db"], ["db"]),
        "api": ("impacted", ["db"], ["api", "db"]),
        "web": ("impacted", ["db"], ["web", "api", "db"]),
    }


def test_diamond_takes_the_shortest_path_and_breaks_ties_by_name() -> None:
    G = nx.DiGraph([("a", "c"), ("a", "b"), ("b", "d"), ("c", "d"), ("a", "x"), ("x", "y")])
    got = verdicts(frame(a="down", b="late", c="late", d="down", x="late", y="late"), G)
    assert got["a"] == ("impacted", ["d"], ["a", "b", "d"])
    assert got["b"] == ("impacted", ["d"], ["b", "d"])
    assert got["c"] == ("impacted", ["d"], ["c", "d"])
    assert got["d"] == ("root cause", ["d"], ["d"])
    assert got["x"] == ("late, no down dependency", [], [])


def test_cycle_of_down_services_is_one_root_cause_group() -> None:
    G = nx.DiGraph([("a", "b"), ("b", "a"), ("c", "a"), ("a", "z")])
    result = root_causes(frame(a="down", b="down", c="late", z="up"), G)
    got = {r.site: (r.verdict, r.root_causes, r.path) for r in result.itertuples()}
    assert got == {
        "a": ("root cause", ["a", "b"], ["a"]),
        "b": ("root cause", ["a", "b"], ["b"]),
        "c": ("impacted", ["a", "b"], ["c", "a"]),
    }
    first = result.set_index("site").loc["a"]
    assert first["impacts"] == ["c"]
    assert "b depend on each other" in first["explanation"]


def test_cycle_through_a_late_service() -> None:
    G = nx.DiGraph([("a", "b"), ("b", "a")])
    assert verdicts(frame(a="down", b="late"), G) == {
        "a": ("root cause", ["a"], ["a"]),
        "b": ("impacted", ["a"], ["b", "a"]),
    }


def test_cycle_below_a_down_service() -> None:
    # a -> (b <-> c): a depends on the group b, c; the group depends on nothing down.
    G = nx.DiGraph([("a", "b"), ("b", "c"), ("c", "b")])
    got = verdicts(frame(a="down", b="down", c="late"), G)
    assert got["a"] == ("impacted", ["b"], ["a", "b"])
    assert got["b"] == ("root cause", ["b"], ["b"])
    assert got["c"] == ("impacted", ["b"], ["c", "b"])


def test_late_in_the_middle_carries_the_chain() -> None:
    G = nx.DiGraph([("a", "b"), ("b", "c")])
    got = verdicts(frame(a="down", b="late", c="down"), G)
    assert got["a"] == ("impacted", ["c"], ["a", "b", "c"])
    assert got["c"][0] == "root cause"


@pytest.mark.parametrize("middle", ["up", "stopped", "missing"])
def test_healthy_or_stopped_in_the_middle_breaks_the_chain(middle: str) -> None:
    G = nx.DiGraph([("a", "b"), ("b", "c")])
    got = verdicts(frame(a="down", b=middle, c="down"), G)
    assert got == {"a": ("root cause", ["a"], ["a"]), "c": ("root cause", ["c"], ["c"])}


def test_services_outside_the_graph_and_flapping() -> None:
    G = nx.DiGraph([("f", "d"), ("g", "h")])
    got = verdicts(frame(alone="down", quiet="late", f="flapping", d="down", g="flapping"), G)
    assert got["alone"] == ("root cause", ["alone"], ["alone"])
    assert got["quiet"] == ("late, no down dependency", [], [])
    assert got["f"] == ("impacted", ["d"], ["f", "d"])
    assert got["g"] == ("flapping, no down dependency", [], [])


def test_several_root_causes_and_the_explanation() -> None:
    G = nx.DiGraph([("a", "b"), ("a", "c")])
    table = pd.DataFrame(
        {
            "site": ["a", "b", "c"],
            "state": ["late", "down", "down"],
            "last_seen": pd.to_datetime(["2026-01-19T07:25:00Z"] * 3),
            "period_s": [30.0, 30.0, 30.0],
            "grace_s": [30.0, 30.0, 49.0],
            "age_s": [31.0, 90.0, 90.0],
        }
    )
    result = root_causes(table, G).set_index("site")
    assert result.loc["a", "root_causes"] == ["b", "c"]
    assert result.loc["a", "explanation"] == (
        "a is LATE: it depends on b (DOWN since 2026-01-19 07:26:00 UTC) via a -> b "
        "and on 1 more root cause"
    )
    assert result.loc["c", "explanation"] == (
        "c is DOWN since 2026-01-19 07:26:19 UTC and none of its dependencies is down: "
        "a root cause, impacting a"
    )
    assert result.loc["b", "impacts"] == ["a"]
    late_alone = root_causes(table.iloc[[0]], G).iloc[0]
    assert late_alone["explanation"] == (
        "a is LATE (last beacon 31 s ago) and none of its dependencies is down"
    )


def test_rows_order_and_columns() -> None:
    G = nx.DiGraph([("z", "y")])
    result = root_causes(frame(z="late", y="down", b="late", a="flapping", u="up"), G)
    assert result.columns.tolist() == [
        "site", "state", "verdict", "root_causes", "path", "impacts", "explanation"
    ]  # fmt: skip
    assert result["site"].tolist() == ["y", "z", "b", "a"]
    assert set(result["verdict"]) <= set(VERDICTS)
    empty = root_causes(frame(a="up"), G)
    assert empty.empty
    assert empty.columns.tolist() == result.columns.tolist()


def test_bad_inputs_and_no_mutation() -> None:
    table = frame(a="down")
    G = nx.DiGraph([("a", "b")])
    before, edges = table.copy(), list(G.edges)
    root_causes(table, G)
    pd.testing.assert_frame_equal(table, before)
    assert list(G.edges) == edges
    with pytest.raises(InputError, match="state"):
        root_causes(pd.DataFrame({"site": ["a"]}), G)
    with pytest.raises(nx.NetworkXNotImplemented):
        root_causes(table, nx.Graph([("a", "b")]))


def test_works_on_a_states_table(tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    path.write_text(
        '{"site":"api","session":"s","event":"heartbeat","ts":"2026-01-19T07:00:00Z"}\n'
        '{"site":"db","session":"s","event":"heartbeat","ts":"2026-01-19T06:00:00Z"}\n'
        '{"site":"web","session":"s","event":"heartbeat","ts":"2026-01-19T07:01:30Z"}\n'
    )
    beacons, _ = read_beacons(path)
    G = nx.DiGraph([("web", "api"), ("api", "db")])
    result = root_causes(states(beacons, at="2026-01-19T07:02:00Z"), G).set_index("site")
    assert result.loc["db", "verdict"] == "root cause"
    assert result.loc["api", "verdict"] == "impacted"
    assert "web" not in result.index  # up
    assert result.loc["api", "explanation"] == (
        "api is DOWN: it depends on db (DOWN since 2026-01-19 06:02:00 UTC) via api -> db"
    )


@settings(max_examples=60, deadline=None)
@given(
    edges=st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7)), max_size=20),
    state_list=st.lists(st.sampled_from(["up", "late", "down", "flapping", "stopped"]), min_size=8,
                    max_size=8),
)  # fmt: skip
def test_verdict_properties(edges: list[tuple[int, int]], state_list: list[str]) -> None:
    G = nx.DiGraph([(f"s{u}", f"s{v}") for u, v in edges if u != v])
    table = pd.DataFrame({"site": [f"s{i}" for i in range(8)], "state": state_list})
    state = dict(zip(table["site"], table["state"], strict=True))
    unhealthy = {s for s, v in state.items() if v in ("late", "down", "flapping")}
    H = G.subgraph(unhealthy)
    result = root_causes(table, G)
    assert set(result["site"]) == unhealthy
    roots = set(result[result["verdict"] == "root cause"]["site"])
    for r in result.itertuples():
        if r.verdict == "root cause":
            assert state[r.site] == "down"
            # Every down service it reaches can reach it back (same group).
            for other in nx.descendants(H, r.site) if r.site in H else set():
                if state[other] == "down":
                    assert r.site in nx.descendants(H, other)
        elif r.verdict == "impacted":
            assert r.root_causes
            assert set(r.root_causes) <= roots
            assert r.path[0] == r.site
            assert r.path[-1] in r.root_causes
            assert all(H.has_edge(u, v) for u, v in zip(r.path, r.path[1:], strict=False))
            distance = nx.single_source_shortest_path_length(H, r.site)
            assert len(r.path) - 1 == min(distance[c] for c in r.root_causes)
        else:
            reach = nx.descendants(H, r.site) if r.site in H else set()
            assert not any(state[s] == "down" for s in reach)
            assert state[r.site] != "down"
