"""Status, metrics, health and the OpenAPI document, in-process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from starlette.routing import Route

from rtt_topology.export import METRICS
from rtt_topology.remote.server.openapi import StatusAnswer, document
from tests.remote.server.asgi import beacon, make_client


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_status_and_metrics_follow_the_stored_beacons(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    with make_client(tmp_path) as c:
        for minutes in (4, 3, 2, 1, 0):
            c.post(
                "/api/rtt/beacon",
                json=beacon(site="api", ts=stamp(now - timedelta(minutes=minutes))),
            )
        c.post("/api/rtt/beacon", json=beacon(site="db", ts=stamp(now - timedelta(hours=2))))
        # Older than the window (24 h): stored, but not live.
        c.post("/api/rtt/beacon", json=beacon(site="old", ts=stamp(now - timedelta(days=3))))
        status = c.get("/api/rtt/status").json()
        StatusAnswer.model_validate(status)
        states = {s["site"]: s["state"] for s in status["services"]}
        assert states == {"api": "up", "db": "down"}
        assert status["counts"] == {"up": 1, "down": 1}
        metrics = c.get("/metrics")
        assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
        text = metrics.text
        assert 'rtt_beacons_total{service="api"} 5.0' in text
        assert 'rtt_service_state{service="db",state="down"} 1.0' in text
        assert 'rtt_server_requests_total{route="beacon"} 7' in text
        assert "rtt_server_fsyncs_total" in text
        assert "rtt_server_store_bytes" in text
        names = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")}
        assert names - {m.name for m in METRICS} == {
            n for n in names if n.startswith("rtt_server_")
        }
    # A restart loads the window back from the segments.
    with make_client(tmp_path) as c:
        again = {s["site"]: s["state"] for s in c.get("/api/rtt/status").json()["services"]}
        assert again == states


def test_metrics_are_cached_for_a_few_seconds(tmp_path: Path) -> None:
    from tests.remote.server.asgi import quiet_limits

    now = datetime.now(UTC)
    with make_client(tmp_path, limits=quiet_limits(cache_s=60.0)) as c:
        c.post("/api/rtt/beacon", json=beacon(site="a", ts=stamp(now)))
        first = c.get("/api/rtt/status").json()
        c.post("/api/rtt/beacon", json=beacon(site="b", ts=stamp(now)))
        assert c.get("/api/rtt/status").json() == first


def test_healthz(tmp_path: Path) -> None:
    with make_client(tmp_path) as c:
        assert c.get("/healthz").json() == {"status": "ok"}


def test_openapi_document_is_valid_and_lists_every_route(tmp_path: Path) -> None:
    with make_client(tmp_path) as c:
        served = c.get("/openapi.json").json()
        routes = {
            (method.lower(), route.path.replace("{site:rtt_site}", "{site}"))
            for route in c.app.routes  # type: ignore[attr-defined]
            if isinstance(route, Route)
            for method in route.methods or ()
            if method != "HEAD"
        }
    assert served == document()
    listed = {(m, p) for p, ops in served["paths"].items() for m in ops if m != "parameters"}
    assert listed == routes
    assert served["openapi"] == "3.1.0"
    # Every schema is a valid JSON Schema (2020-12, as OpenAPI 3.1 says), every $ref resolves.
    schemas = served["components"]["schemas"]
    for schema in schemas.values():
        jsonschema.Draft202012Validator.check_schema(schema)
    refs = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(served)
    assert refs
    assert all(r.removeprefix("#/components/schemas/") in schemas for r in refs)


@pytest.mark.parametrize("path", ["/api/rtt/beacon", "/api/rtt/profile/{site}"])
def test_openapi_request_schema_accepts_upstream_examples(path: str) -> None:
    doc = document()
    operation = doc["paths"][path]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    example = beacon() if path.endswith("beacon") else {"rtt_version": "1.0", "supports": []}
    resolver_doc = {**schema, "components": doc["components"]}
    jsonschema.Draft202012Validator(resolver_doc).validate(example)


def test_a_failed_start_leaves_the_store_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rtt_topology.remote.server.live import LiveWindow

    def broken(self: LiveWindow, beacons_dir: Path) -> int:
        raise OSError("disk went away")

    with monkeypatch.context() as patch:
        patch.setattr(LiveWindow, "load", broken)
        with pytest.raises(OSError, match="disk went away"), make_client(tmp_path):
            pass
    # The lock and the profile store were released: the next start opens them again.
    with make_client(tmp_path) as c:
        assert c.get("/healthz").status_code == 200
