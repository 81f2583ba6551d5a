"""Diagnostics in-process: real answers, placeholder, size and time limits, the beacon path free."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rtt_topology.diagnostics import diagnose
from rtt_topology.remote.server.answers import PLACEHOLDER_MESSAGE
from rtt_topology.remote.server.openapi import DiagnosticsResult
from tests.remote.server.asgi import BEACON, TestClient, make_client, quiet_limits

VALIDATE = {
    "system_map": {"services": ["api", "db"]},
    "flows": [{"from": "api", "to": "db"}],
    "constraints": [{"id": "no-cycles", "kind": "acyclic"}],
}
CORRIDOR = {"flows": [{"path": ["web", "api"], "latency_ms": 12}]}
TOPOLOGY = {"graph": {"auth": ["api"], "api": ["db"], "db": []}}


def heavy_graph(n: int = 700) -> dict[str, Any]:
    """A dense graph whose triadic decomposition takes seconds."""
    names = [f"s{i}" for i in range(n)]
    graph = {a: [b for j, b in enumerate(names) if j != i and (i * 7 + j * 13) % 3 == 0]
             for i, a in enumerate(names)}  # fmt: skip
    return {"graph": graph}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    limits = quiet_limits(diagnostics_bytes=2 * 1024 * 1024, diagnostics_timeout_s=1.0)
    with make_client(tmp_path_factory.mktemp("diag"), limits=limits) as c:
        yield c


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [("validate", VALIDATE), ("corridor", CORRIDOR), ("topology", TOPOLOGY)],
)
def test_diagnostics_answer_the_offline_validator(
    client: TestClient, endpoint: str, body: dict[str, Any]
) -> None:
    answer = client.post(f"/api/rtt/{endpoint}", json=body)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    DiagnosticsResult.model_validate(data)
    expected = diagnose(body).model_dump(mode="json")
    assert data["status"] == "ok"
    assert data["result"] == expected.pop("status")
    assert {k: data[k] for k in expected} == expected


@pytest.mark.parametrize(
    ("endpoint", "body", "reason"),
    [
        ("topology", b'{"graph": 3}', "/topology body: graph: Input should be a valid dictionary"),
        ("topology", b"[1]", "/topology body: a JSON object is expected"),
        ("validate", b"{", "/validate body: invalid JSON at line 1, column 2: Expecting "
                           "property name enclosed in double quotes"),
    ],
)  # fmt: skip
def test_bad_diagnostics_bodies_are_400(
    client: TestClient, endpoint: str, body: bytes, reason: str
) -> None:
    answer = client.post(f"/api/rtt/{endpoint}", content=body)
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_request", "reason": reason}


def test_too_large_diagnostics_body_is_413(client: TestClient) -> None:
    answer = client.post("/api/rtt/topology", content=b" " * (2 * 1024 * 1024 + 1))
    assert answer.status_code == 413
    assert answer.json()["error"] == "too_large"


def test_a_slow_body_is_503_while_beacons_keep_being_acknowledged(client: TestClient) -> None:
    heavy = json.dumps(heavy_graph()).encode()
    result: dict[str, Any] = {}

    def post_heavy() -> None:
        answer = client.post("/api/rtt/topology", content=heavy)
        result["answer"] = answer
        result["done"] = time.monotonic()

    worker = threading.Thread(target=post_heavy)
    started = time.monotonic()
    worker.start()
    acknowledged = []
    while "done" not in result and time.monotonic() - started < 30:
        t0 = time.monotonic()
        assert client.post("/api/rtt/beacon", json=BEACON).json() == {"status": "ok"}
        acknowledged.append((time.monotonic(), time.monotonic() - t0))
    worker.join()
    answer = result["answer"]
    assert answer.status_code == 503
    assert answer.json()["error"] == "too_slow"
    assert "retry-after" in answer.headers
    during = [latency for at, latency in acknowledged if at < result["done"]]
    # The diagnostics ran a whole second budget; beacons were acknowledged all along,
    # each far within it (the budget is not a latency bound, only a generous ceiling).
    assert len(during) >= 20
    assert max(during) < 0.5
    # The worker was replaced: the next body is answered.
    assert client.post("/api/rtt/topology", json=TOPOLOGY).status_code == 200


def test_busy_workers_answer_503_at_once(tmp_path: Path) -> None:
    heavy = json.dumps(heavy_graph(500)).encode()
    limits = quiet_limits(diagnostics_timeout_s=1.0, diagnostics_bytes=2 * 1024 * 1024)
    with make_client(tmp_path, limits=limits) as c:
        first: dict[str, Any] = {}
        worker = threading.Thread(
            target=lambda: first.setdefault("a", c.post("/api/rtt/topology", content=heavy))
        )
        worker.start()
        answers = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and worker.is_alive():
            answers.append(c.post("/api/rtt/topology", json=TOPOLOGY))
        worker.join()
        answers.append(first["a"])
        # Whichever body reached the only worker first, the other found it busy.
        errors = [a.json().get("error") for a in answers if a.status_code == 503]
        assert "busy" in errors
        assert all(a.status_code in (200, 503) for a in answers)


def test_placeholder_answers_as_upstream(tmp_path: Path) -> None:
    with make_client(tmp_path, placeholder=True) as c:
        for endpoint, body in (("validate", VALIDATE), ("corridor", CORRIDOR),
                               ("topology", TOPOLOGY)):  # fmt: skip
            answer = c.post(f"/api/rtt/{endpoint}", json=body)
            assert answer.status_code == 200
            assert answer.json() == {"status": "not_available", "message": PLACEHOLDER_MESSAGE}
        assert c.post("/api/rtt/validate", content=b"[]").json()["error"] == "invalid_request"
        # The other routes are unchanged.
        assert c.post("/api/rtt/beacon", json=BEACON).json() == {"status": "ok"}
