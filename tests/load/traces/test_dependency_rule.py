"""The pairing rule order: parent/child across services, no double counting, peers, names."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from rtt_topology.load.traces import edges_from_spans, read_traces
from tests import DATA

DATA = DATA / "traces"
T0 = 1_700_000_000_000


def spans_frame(*rows: tuple[Any, ...]) -> pd.DataFrame:
    """Spans ``(id, parent, service, kind[, peer, db_system, error])`` of one trace, 1 ms apart."""
    full = [(*row, *([None, None, False][len(row) - 4 :])) for row in rows]
    n = len(full)
    return pd.DataFrame(
        {
            "trace_id": ["a1b2c3d4e5f60718"] * n,
            "span_id": [f"{r[0]:016x}" for r in full],
            "parent_id": [None if r[1] is None else f"{r[1]:016x}" for r in full],
            "service": pd.Categorical([r[2] for r in full]),
            "name": ["op"] * n,
            "kind": pd.Categorical([r[3] for r in full]),
            "start": pd.to_datetime([T0 + i for i in range(n)], unit="ms", utc=True),
            "duration_ms": [10.0 * (i + 1) for i in range(n)],
            "error": [r[6] for r in full],
            "peer": [r[4] for r in full],
            "db_system": [r[5] for r in full],
            "messaging_system": [None] * n,
            "cluster": [None] * n,
            "format": pd.Categorical(["jaeger"] * n),
        }
    )


def rows(edges: pd.DataFrame) -> list[tuple[Any, ...]]:
    columns = ["caller", "callee", "kind", "calls", "errors"]
    return [tuple(row) for row in edges[columns].itertuples(index=False)]


@pytest.mark.parametrize("kind", ["server", "client", "producer", "consumer", "internal"])
def test_a_child_in_another_service_is_a_call_whatever_its_kind(kind: str) -> None:
    edges, stats = edges_from_spans(spans_frame((1, None, "api", "server"), (2, 1, "db", kind)))
    expected = "messaging" if kind in ("producer", "consumer") else "rpc"
    assert rows(edges) == [("api", "db", expected, 1, 0)]
    assert stats.unpaired == {}
    # The latency is the callee side's; the time, the caller's when it is a client.
    assert edges["p50_ms"].tolist() == [20.0]
    assert edges["first_seen"].tolist() == [pd.Timestamp(T0 + 1, unit="ms", tz="UTC")]


def test_a_database_instrumented_as_a_service_is_a_database_call() -> None:
    spans = spans_frame((1, None, "api", "server"), (2, 1, "redis", "client", None, "redis"))
    edges, stats = edges_from_spans(spans)
    assert rows(edges) == [("api", "redis", "database", 1, 0)]
    assert edges["callee_virtual"].tolist() == [False]
    assert (stats.intra_service, stats.roots, stats.unpaired) == (0, 1, {})


def test_a_client_server_pair_is_one_call() -> None:
    spans = spans_frame(
        (1, None, "web", "server"),
        (2, 1, "web", "client", "api"),  # the client names its peer too
        (3, 2, "api", "server", None, None, True),
    )
    edges, stats = edges_from_spans(spans)
    assert rows(edges) == [("web", "api", "rpc", 1, 1)]
    assert stats.calls == 1
    assert stats.intra_service == 1  # web's server and client


def test_a_client_child_of_a_client_in_another_service_is_one_call() -> None:
    # A proxy that only reports its client span: web -> proxy, proxy -> api.
    spans = spans_frame(
        (1, None, "web", "server"),
        (2, 1, "web", "client"),
        (3, 2, "proxy", "client"),
        (4, 3, "api", "server"),
    )
    edges, stats = edges_from_spans(spans)
    assert rows(edges) == [("proxy", "api", "rpc", 1, 0), ("web", "proxy", "rpc", 1, 0)]
    assert stats.unpaired == {}


@pytest.mark.parametrize(
    ("peer", "expected", "intra"),
    [
        # Paired already: without a peer, nothing more and nothing unpaired.
        (None, [("api", "mysql", "database", 1, 0)], 0),
        # Its own name as the peer (as HotROD's mysql writes it): intra-service.
        ("mysql", [("api", "mysql", "database", 1, 0)], 1),
        # Another peer: the leaf's call to it too, as Jaeger's dependency job draws it.
        (
            "mysql-primary",
            [("api", "mysql", "database", 1, 0), ("mysql", "mysql-primary", "database", 1, 0)],
            0,
        ),
    ],
)
def test_a_client_on_the_callee_side_goes_to_a_peer_of_another_name(
    peer: str | None, expected: list[tuple[Any, ...]], intra: int
) -> None:
    spans = spans_frame((1, None, "api", "server"), (2, 1, "mysql", "client", peer, "mysql"))
    edges, stats = edges_from_spans(spans)
    assert rows(edges) == expected
    assert stats.intra_service == intra
    assert stats.unpaired == {}


def test_a_client_without_callee_or_peer_is_still_unpaired() -> None:
    spans = spans_frame((1, None, "api", "server"), (2, 1, "api", "client"))
    edges, stats = edges_from_spans(spans)
    assert edges.empty
    assert stats.unpaired == {"client without server or peer": 1}


def test_a_callee_without_a_service_name_sends_its_client_to_the_peer() -> None:
    spans = spans_frame(
        (1, None, "web", "server"), (2, 1, "web", "client", "stock"), (3, 2, "", "server")
    )
    edges, stats = edges_from_spans(spans)
    assert rows(edges) == [("web", "stock", "virtual", 1, 0)]
    assert stats.unpaired == {"empty service name": 1}


def test_hotrod_shaped_jaeger_export() -> None:
    # mysql and redis have tracers of their own and report CLIENT spans directly
    # under customer's and driver's SERVER spans.
    load = read_traces(DATA / "jaeger_db_as_service.json")
    assert rows(load.edges) == [
        ("customer", "mysql", "database", 1, 0),
        ("driver", "redis", "rpc", 2, 1),
        ("frontend", "customer", "rpc", 1, 0),
        ("frontend", "driver", "rpc", 1, 0),
    ]
    assert load.report.unpaired == {}
    # frontend's server to its two clients, and mysql's own-name peer.
    assert load.report.intra_service == 3


def test_collector_file_with_a_database_as_a_service() -> None:
    load = read_traces(DATA / "collector_db_as_service.jsonl")
    assert load.report.files[0].format == "otlp"
    assert rows(load.edges) == [
        ("cart", "redis", "database", 1, 0),
        ("frontend", "cart", "rpc", 1, 0),
    ]
    assert load.report.unpaired == {}


def test_spans_without_a_service_name_are_reported_and_make_no_edge_end() -> None:
    load = read_traces(DATA / "no_service_name.json")
    assert load.report.unpaired == {"empty service name": 1}
    assert rows(load.edges) == [("frontend", "inventory", "virtual", 1, 0)]
    names = set(load.edges["caller"]) | set(load.edges["callee"])
    assert not names & {"", "unknown", "None"}
