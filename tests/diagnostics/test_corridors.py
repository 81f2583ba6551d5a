"""Tests for rtt_topology.diagnostics.corridors: observed service paths and the corridor check."""

from __future__ import annotations

import json
import math
from itertools import pairwise
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from rtt_topology.demo.policy import demo_corridors_text
from rtt_topology.diagnostics.corridors import (
    OBSERVED_PATH_COLUMNS,
    Corridor,
    CorridorResults,
    check_corridors,
    load_corridors,
    observed_paths,
    parse_corridors,
)
from rtt_topology.errors import InputError, LoadError, RecordError, SourceNotFoundError
from rtt_topology.load import TraceLoad, read_traces
from tests import DATA, DEMO_TRACE_FILES

T0 = pd.Timestamp("2026-01-19T10:00:00Z")


def spans(*rows: tuple[Any, ...], fmt: str = "otlp") -> pd.DataFrame:
    """Spans from rows: trace, span, parent, service, kind, start ms, duration ms[, peer, error]."""
    records = []
    for row in rows:
        trace, span, parent, service, kind, start, duration, *rest = row
        peer = rest[0] if rest else None
        error = rest[1] if len(rest) > 1 else False
        records.append(
            {
                "trace_id": trace,
                "span_id": span,
                "parent_id": parent,
                "service": service,
                "kind": kind,
                "start": T0 + pd.Timedelta(milliseconds=start) if start is not None else pd.NaT,
                "duration_ms": float("nan") if duration is None else float(duration),
                "error": error,
                "peer": peer,
                "format": fmt,
            }
        )
    columns = ["trace_id", "span_id", "parent_id", "service", "kind", "start", "duration_ms"]
    frame = pd.DataFrame(records, columns=[*columns, "error", "peer", "format"])
    frame["start"] = pd.to_datetime(frame["start"], utc=True)
    return frame


def paths(frame: pd.DataFrame) -> dict[tuple[str, ...], dict[str, Any]]:
    table = observed_paths(frame)
    return {row["path"]: row for row in table.to_dict("records")}


# -- observed paths ----------------------------------------------------------------------------


def test_consecutive_spans_of_one_service_are_one_step() -> None:
    found = paths(
        spans(
            ("t1", "a", None, "web", "server", 0, 50),
            ("t1", "b", "a", "web", "internal", 1, 45),
            ("t1", "c", "b", "web", "client", 2, 40, "api"),
            ("t1", "d", "c", "api", "server", 3, 30),
            ("t1", "e", "d", "api", "internal", 4, 20),
            ("t1", "f", "e", "api", "client", 5, 10, "users-db"),
        )
    )
    assert list(found) == [("web", "api", "users-db")]
    row = found["web", "api", "users-db"]
    assert (row["hops"], row["calls"], row["errors"]) == (2, 1, 0)
    assert row["latency_p95_ms"] == 50.0
    assert row["sample_trace_ids"] == ["t1"]
    assert row["first_seen"] == T0


def test_fan_out_gives_one_path_per_leaf_and_counts_traces() -> None:
    rows = []
    for t, slow in (("t1", 0), ("t2", 100)):
        rows += [
            (t, "a", None, "web", "server", slow, 40 + slow),
            (t, "b", "a", "web", "client", slow + 1, 30, "api"),
            (t, "c", "b", "api", "server", slow + 2, 20),
            (t, "d", "c", "api", "client", slow + 3, 5, "db"),
            # The same path twice in one trace counts once.
            (t, "e", "c", "api", "client", slow + 9, 5, "db"),
            (t, "f", "c", "api", "client", slow + 15, 2, "cache"),
        ]
    rows.append(("t3", "x", None, "web", "server", 500, 3))
    table = observed_paths(spans(*rows))
    assert list(table.columns) == list(OBSERVED_PATH_COLUMNS)
    assert table["path"].tolist() == [("web", "api", "cache"), ("web", "api", "db"), ("web",)]
    assert table["calls"].tolist() == [2, 2, 1]
    db = table.iloc[1]
    # Latency per trace: 40 and 140 ms (linear percentiles, as numpy).
    assert db["latency_p50_ms"] == 90.0
    assert db["latency_p95_ms"] == pytest.approx(135.0)
    assert db["sample_trace_ids"] == ["t1", "t2"]
    assert db["last_seen"] == T0 + pd.Timedelta(milliseconds=100)


def test_latency_covers_asynchronous_consumers() -> None:
    found = paths(
        spans(
            ("t1", "a", None, "api", "server", 0, 20),
            ("t1", "b", "a", "api", "producer", 5, 1, "orders-queue"),
            ("t1", "c", "b", "mailer", "consumer", 300, 50),
            ("t1", "d", "c", "mailer", "client", 310, 10, "smtp"),
        )
    )
    # The producer is answered by its consumer: no hop to the queue.
    assert list(found) == [("api", "mailer", "smtp")]
    assert found["api", "mailer", "smtp"]["latency_p50_ms"] == 350.0


def test_errors_missing_times_and_unanswered_clients() -> None:
    found = paths(
        spans(
            ("t1", "a", None, "web", "server", None, 20),
            ("t1", "b", "a", "web", "client", 1, 19, "api", True),
            ("t2", "c", None, "web", "server", 0, None),
            ("t2", "d", "c", "web", "client", 1, None, "api"),
        )
    )
    row = found["web", "api"]
    assert (row["calls"], row["errors"]) == (2, 1)
    # t1's root span has no start: its visit starts with the client span (19 ms);
    # t2 has no duration: no latency.
    assert row["latency_p95_ms"] == 19.0
    assert row["first_seen"] == T0


def test_jaeger_internal_leaf_spans_go_to_their_peer() -> None:
    rows = [
        ("t1", "a", None, "web", "server", 0, 10),
        ("t1", "b", "a", "web", "internal", 1, 5, "legacy"),
    ]
    assert list(paths(spans(*rows, fmt="jaeger"))) == [("web", "legacy")]
    assert list(paths(spans(*rows, fmt="otlp"))) == [("web",)]


def test_zipkin_shared_span_ids() -> None:
    traces = read_traces(DATA / "traces" / "shared_span.json")
    table = observed_paths(traces.spans)
    assert table["path"].tolist() == [("web", "cart", "redis")]
    assert table["errors"].tolist() == [1]
    assert table["latency_p50_ms"].tolist() == [20.0]


def test_spans_whose_parent_is_not_exported_open_their_own_tree() -> None:
    traces = read_traces(DATA / "traces" / "missing_parent.json")
    table = observed_paths(traces.spans)
    assert sorted(table["path"]) == [("orders",), ("orders", "orders-db")]


def test_bad_parent_loops_end() -> None:
    table = observed_paths(
        spans(
            ("t1", "a", "b", "web", "server", 0, 10),
            ("t1", "b", "a", "api", "server", 0, 10),
            ("t2", "c", "d", "web", "server", 0, 10),
            ("t2", "d", "c", "web", "internal", 0, 10),
            ("t3", "e", None, "web", "server", 0, 10),
        )
    )
    assert ("web",) in set(table["path"])


def test_latency_is_nan_without_times() -> None:
    found = paths(spans(("t1", "a", None, "web", "server", None, None)))
    assert math.isnan(found["web",]["latency_p50_ms"])
    assert found["web",]["first_seen"] is pd.NaT


def test_empty_and_malformed_span_tables() -> None:
    empty = observed_paths(spans())
    assert list(empty.columns) == list(OBSERVED_PATH_COLUMNS)
    assert empty.empty
    with pytest.raises(InputError, match="missing column"):
        observed_paths(pd.DataFrame({"trace_id": []}))


def test_demo_paths_are_the_same_in_every_format(
    demo_paths: pd.DataFrame, demo_trace_files: dict[str, TraceLoad]
) -> None:
    columns = ["path", "calls", "errors", "latency_p50_ms", "latency_p95_ms", "sample_trace_ids"]
    for name in DEMO_TRACE_FILES:
        alone = observed_paths(demo_trace_files[name].spans)
        pd.testing.assert_frame_equal(alone[columns], demo_paths[columns])


def test_demo_paths_follow_the_edges(
    demo_traces: TraceLoad, demo_paths: pd.DataFrame, demo_truth: dict[str, Any]
) -> None:
    edges = set(zip(demo_traces.edges["caller"], demo_traces.edges["callee"], strict=True))
    hops = {hop for path in demo_paths["path"] for hop in pairwise(path)}
    assert hops <= edges
    # Every edge seen in spans is on some path.
    assert hops == edges
    assert demo_paths["calls"].max() <= demo_truth["counts"]["traces"]
    ids = set(demo_traces.spans["trace_id"])
    assert all(set(s) <= ids for s in demo_paths["sample_trace_ids"])
    assert (demo_paths["latency_p50_ms"] <= demo_paths["latency_p95_ms"]).all()


# -- the corridors file ------------------------------------------------------------------------


def test_example_corridors_in_both_formats() -> None:
    corridors = load_corridors(DATA / "rules" / "corridors.yaml")
    assert [c.name for c in corridors.corridors] == ["checkout", "browse", "nightly-report"]
    assert corridors.corridors[0].max_latency_ms == 250
    assert corridors.corridors[2].max_latency_ms is None
    assert load_corridors(DATA / "rules" / "corridors.json") == corridors
    assert load_corridors((DATA / "rules" / "corridors.yaml").read_text()) == corridors
    assert parse_corridors(json.dumps(corridors.model_dump(mode="json"))) == corridors


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "corridors:\n  - name: x\n    path: web\n",
            "<corridors>:3: corridors[0] (x): path: expected a list of service names, got a string",
        ),
        (
            "corridors:\n  - {name: x, path: [web]}\n",
            "corridors[0] (x): path: List should have at least 2 items",
        ),
        (
            "corridors:\n  - {name: x, path: [web, api, api]}\n",
            "corridors[0] (x): path: api follows itself",
        ),
        (
            "corridors:\n  - {name: x, path: [a, b]}\n  - {name: x, path: [a, c]}\n",
            "<corridors>:3: corridors[1] (x): name: duplicate corridor name "
            "(first at corridors[0])",
        ),
        (
            "corridors:\n  - {name: x, path: [a, b], max_latency_ms: -5}\n",
            "corridors[0] (x): max_latency_ms: Input should be greater than 0",
        ),
        (
            "corridors:\n  - {name: x, path: [a, b], max_latency: 5}\n",
            "corridors[0] (x): max_latency: unknown field",
        ),
        ("corridors:\n  - {path: [a, b]}\n", "corridors[0]: name: missing (required)"),
        ("corridors:\n  - just-a-name\n", "corridors[0]: expected a mapping"),
        ("corridors: {}\n", "corridors: expected a list of corridors"),
        ("version: 3\n", "version: unsupported version 3"),
        ("routes: []\n", "routes: unknown field (expected version, corridors)"),
    ],
)
def test_bad_corridors(text: str, message: str) -> None:
    with pytest.raises(RecordError) as info:
        parse_corridors(text)
    assert message in str(info.value)


def test_unreadable_corridor_files(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError):
        load_corridors(tmp_path / "corridors.yaml")
    unsafe = tmp_path / "corridors.yaml"
    unsafe.write_text("corridors: !!python/name:os.system\n")
    with pytest.raises(LoadError, match="unsafe and unknown tags are refused"):
        load_corridors(unsafe)


# -- the check ---------------------------------------------------------------------------------


def observed(*rows: tuple[tuple[str, ...], int, float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "path": [r[0] for r in rows],
            "calls": [r[1] for r in rows],
            "errors": [0] * len(rows),
            "latency_p50_ms": [r[2] / 2 for r in rows],
            "latency_p95_ms": [r[2] for r in rows],
            "sample_trace_ids": [[f"t{i}"] for i in range(len(rows))],
        }
    )


def declared(*corridors: tuple[str, list[str], float | None]) -> list[Corridor]:
    return [Corridor(name=n, path=p, max_latency_ms=m) for n, p, m in corridors]


def test_statuses() -> None:
    flows = observed(
        (("web", "api", "db"), 10, 30.0),
        (("web", "api", "cache"), 5, 90.0),
        (("web", "api"), 2, 5.0),
        (("job", "db"), 3, 10.0),
    )
    corridors = declared(
        ("read", ["web", "api", "db"], 50.0),
        ("cached", ["web", "api", "cache"], 50.0),
        ("job", ["job", "db"], None),
        ("admin", ["admin", "api"], 10.0),
    )
    result = check_corridors(corridors, flows)
    assert [(c.name, c.status) for c in result.corridors] == [
        ("read", "aligned"),
        ("cached", "too_slow"),
        ("job", "aligned"),
        ("admin", "unused"),
    ]
    read = result.result("read")
    assert (read.calls, read.latency_p95_ms, read.within_latency) == (10, 30.0, True)
    assert read.stopped_calls == 2  # web -> api stopped on the corridor
    assert read.sample_trace_ids == ["t0"]
    assert result.result("job").within_latency is None
    assert result.uncovered == []
    assert (result.observed_paths, result.covered_paths) == (4, 4)
    assert not result.aligned
    assert result.counts == {"aligned": 2, "unused": 1, "too_slow": 1, "off_corridor": 0}


def test_divergence_goes_to_the_corridors_sharing_the_longest_prefix() -> None:
    flows = observed(
        (("web", "api", "search"), 4, 10.0),
        (("web", "api", "db", "replica"), 1, 10.0),
        (("web", "bff"), 2, 10.0),
        (("cron", "db"), 1, 10.0),
    )
    corridors = declared(
        ("read", ["web", "api", "db"], None),
        ("write", ["web", "api", "queue"], None),
        ("front", ["web", "cdn"], None),
    )
    result = check_corridors(corridors, flows)
    statuses = {c.name: c.status for c in result.corridors}
    assert statuses == {"read": "off_corridor", "write": "off_corridor", "front": "off_corridor"}
    read = result.result("read")
    assert [(d.path, d.hop, d.after, d.expected, d.observed) for d in read.off_corridor] == [
        (["web", "api", "search"], 2, "api", "db", "search"),
        (["web", "bff"], 1, "web", "api", "bff"),
        # Past the corridor's end: nothing was expected there.
        (["web", "api", "db", "replica"], 3, "db", None, "replica"),
    ]
    write = result.result("write")
    assert [d.path for d in write.off_corridor] == [["web", "api", "search"], ["web", "bff"]]
    front = result.result("front")
    # web -> bff shares only the entry with every corridor: it diverges from all of them.
    assert [d.path for d in front.off_corridor] == [["web", "bff"]]
    uncovered = {tuple(u.path): u.diverges_from for u in result.uncovered}
    assert uncovered == {
        ("web", "api", "search"): ["read", "write"],
        ("web", "bff"): ["read", "write", "front"],
        ("web", "api", "db", "replica"): ["read"],
        # No corridor starts at cron: uncovered, diverging from none.
        ("cron", "db"): [],
    }
    assert [u.calls for u in result.uncovered] == [4, 2, 1, 1]


def test_results_are_json_ready() -> None:
    result = check_corridors(
        load_corridors(DATA / "rules" / "corridors.yaml"),
        observed((("web", "api", "catalog-db"), 3, 100.0), (("web", "api", "x"), 1, 1.0)),
    )
    data = json.loads(json.dumps(result.model_dump(mode="json")))
    assert data["aligned"] is False
    assert data["counts"]["off_corridor"] == 2
    again = CorridorResults.model_validate(
        {k: v for k, v in data.items() if k not in ("aligned", "counts")}
    )
    assert again == result
    with pytest.raises(KeyError):
        result.result("nope")


def test_check_needs_an_observed_path_table() -> None:
    with pytest.raises(InputError, match="missing column"):
        check_corridors([], pd.DataFrame({"path": []}))


def test_demo_corridors(demo_paths: pd.DataFrame, demo_truth: dict[str, Any]) -> None:
    truth = demo_truth
    result = check_corridors(parse_corridors(demo_corridors_text()), demo_paths)
    statuses = {c.name: c.status for c in result.corridors}
    assert statuses.pop("account-webhooks") == "too_slow"
    assert statuses.pop("webhook-delivery") == "off_corridor"
    assert statuses.pop("loyalty-points") == "unused"
    assert set(statuses.values()) == {"aligned"}
    slow = result.result("account-webhooks")
    assert slow.latency_p95_ms is not None
    assert slow.max_latency_ms is not None
    assert slow.latency_p95_ms > slow.max_latency_ms
    # The worker's flows leave its corridor through the injected layering violation.
    violation = truth["layering_violation"]
    for d in result.result("webhook-delivery").off_corridor:
        assert (d.after, d.observed) == (violation["caller"], violation["callee"])
    assert result.result("loyalty-points").path[0] == truth["declared_silent"]
    # Every flow entering at account.example.com or report-worker is covered.
    entries = {"account.example.com", "report-worker"}
    assert not [u for u in result.uncovered if u.path[0] in entries]
    assert result.covered_paths + len(result.uncovered) == result.observed_paths
