"""The real server in a subprocess, used by real clients: ours, the emitter, upstream's style."""

from __future__ import annotations

import asyncio
import gzip
import json
import math
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rtt_topology.cli import main
from rtt_topology.load import read_beacons, read_profiles
from rtt_topology.remote import AsyncRTTClient, HeartbeatEmitter, RTTClient
from rtt_topology.remote.client import DiagnosticsAnswer
from rtt_topology.sdk import (
    build_beacon_payload,
    build_topology_payload,
    build_validate_payload,
    create_profile,
)
from tests.remote.server.serve_process import ServeProcess, wait_until

pytestmark = pytest.mark.slow

# The stored layout: DIR/beacons/YYYY-MM-DD/beacons-YYYY-MM-DDTHH-NNNN.jsonl[.gz]
SEGMENT = re.compile(r"beacons/(\d{4}-\d{2}-\d{2})/beacons-\1T\d{2}-\d{4}\.jsonl(\.gz)?")
RECEIVED_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")


class UpstreamStyleClient:
    """A client written the way the upstream Python SDK is: one ``post(url, json=...)`` each.

    Upstream's SDK calls ``requests.post(f"{base_url}/beacon", json=payload)`` and returns
    ``response.json()``, with no timeout, no retries and no status check; this one does
    the same with httpx's module-level functions (a timeout added so a test cannot hang).
    """

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def send_beacon(self, payload: dict[str, Any]) -> Any:
        return httpx.post(f"{self.base_url}/beacon", json=payload, timeout=10).json()

    def get_profile(self, site: str) -> Any:
        return httpx.get(f"{self.base_url}/profile/{site}", timeout=10).json()

    def register_profile(self, site: str, profile: dict[str, Any]) -> Any:
        return httpx.post(f"{self.base_url}/profile/{site}", json=profile, timeout=10).json()

    def validate(self, payload: dict[str, Any]) -> Any:
        return httpx.post(f"{self.base_url}/validate", json=payload, timeout=10).json()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """One server for the module, on its own data directory."""
    data = tmp_path_factory.mktemp("clients") / "data"
    data.mkdir()
    with ServeProcess(data) as proc:
        yield proc


def stored_lines(data: Path) -> list[dict[str, Any]]:
    """Every stored beacon line, from open and compressed segments."""
    lines: list[dict[str, Any]] = []
    for path in sorted((data / "beacons").rglob("*.jsonl*")):
        assert SEGMENT.fullmatch(path.relative_to(data).as_posix()), path
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        lines.extend(json.loads(line) for line in raw.splitlines())
    return lines


def test_our_client_round_trips_every_route(server: ServeProcess) -> None:
    profile = create_profile(supports=["coherence", "drift"], contact="ops@example.com")
    with RTTClient(server.base_url, timeout_s=10, retries=0) as client:
        beacon = build_beacon_payload("rtt-client-svc", "srv-1", "startup")
        assert client.beacon(beacon).status == "ok"
        assert client.get_profile("rtt-client-svc").profile is None
        assert client.set_profile("rtt-client-svc", profile).status == "ok"
        fetched = client.get_profile("rtt-client-svc").profile
        assert fetched is not None
        assert fetched.to_dict() == profile
        flows = [{"from": "api", "to": "db"}]
        validated = client.validate(build_validate_payload({"services": ["api", "db"]}, flows))
        topology = client.topology(build_topology_payload({"graph": {"api": ["db"], "db": []}}))
    # Our validator answers for real: never upstream's placeholder.
    assert isinstance(validated, DiagnosticsAnswer)
    assert validated.status == "ok"
    assert isinstance(topology, DiagnosticsAnswer)
    assert topology.status == "ok"

    rows = [r for r in stored_lines(server.data) if r["site"] == "rtt-client-svc"]
    assert [(r["session"], r["event"], r["ts"]) for r in rows] == [
        ("srv-1", "startup", beacon["ts"])
    ]
    assert RECEIVED_AT.fullmatch(rows[0]["received_at"])
    table = read_beacons(server.data).beacons
    assert "rtt-client-svc" in set(table["site"])
    profiles = read_profiles(server.data / "profiles.yaml").profiles
    assert profiles["rtt-client-svc"].to_dict() == profile


def test_async_client_sends_concurrently(server: ServeProcess) -> None:
    async def send_all() -> list[str]:
        async with AsyncRTTClient(server.base_url, timeout_s=10, retries=0) as client:
            beacons = [build_beacon_payload("async-svc", f"a{i}", "heartbeat") for i in range(20)]
            acks = await asyncio.gather(*(client.beacon(b) for b in beacons))
            return [ack.status for ack in acks]

    assert asyncio.run(send_all()) == ["ok"] * 20
    sessions = {r["session"] for r in stored_lines(server.data) if r["site"] == "async-svc"}
    assert sessions == {f"a{i}" for i in range(20)}


@pytest.mark.parametrize("site", ["team/auth", "caf\u00e9 api", "..", "a%2Fb"])
def test_any_site_name_round_trips_as_one_path_segment(server: ServeProcess, site: str) -> None:
    profile = create_profile(supports=["drift"])
    with RTTClient(server.base_url, timeout_s=10, retries=0) as client:
        assert client.set_profile(site, profile).status == "ok"
        answer = client.get_profile(site)
    assert answer.site == site
    assert answer.profile is not None
    assert read_profiles(server.data / "profiles.yaml").profiles[site].to_dict() == profile


def test_upstream_style_client_gets_upstream_answers(server: ServeProcess) -> None:
    sdk = UpstreamStyleClient(server.base_url)
    beacon = build_beacon_payload("sdk-style-svc", "srv-7", "heartbeat")
    assert sdk.send_beacon(beacon) == {"status": "ok"}
    # The JS SDK writes milliseconds; both must be stored.
    assert sdk.send_beacon({**beacon, "ts": "2026-01-19T15:00:00.123Z"}) == {"status": "ok"}
    assert sdk.get_profile("sdk-style-svc") == {"site": "sdk-style-svc", "profile": None}
    assert sdk.register_profile("sdk-style-svc", create_profile()) == {"status": "ok"}
    assert sdk.get_profile("sdk-style-svc")["profile"]["rtt_version"] == "1.0"
    answer = sdk.validate(build_validate_payload())
    assert answer["status"] == "ok"
    assert sdk.send_beacon({"site": "sdk-style-svc"})["error"] == "invalid_request"

    stored = [r for r in stored_lines(server.data) if r["site"] == "sdk-style-svc"]
    assert sorted(r["ts"] for r in stored) == sorted([beacon["ts"], "2026-01-19T15:00:00.123Z"])


def test_browser_send_beacon_text_plain_is_stored(server: ServeProcess) -> None:
    # navigator.sendBeacon posts text/plain;charset=UTF-8.
    body = json.dumps(build_beacon_payload("shop.example.com", "rtt-1-2", "page_hidden"))
    answer = httpx.post(
        f"{server.base_url}/beacon",
        content=body.encode(),
        headers={"content-type": "text/plain;charset=UTF-8"},
        timeout=10,
    )
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})
    assert any(r["site"] == "shop.example.com" for r in stored_lines(server.data))


def test_batches_count_accepted_and_rejected(server: ServeProcess) -> None:
    good = [build_beacon_payload("batch-svc", f"s{i}", "heartbeat") for i in range(3)]
    bad = {"site": "batch-svc", "session": "x", "event": "heartbeat", "ts": "yesterday"}
    answer = httpx.post(f"{server.base_url}/beacons", json=[good[0], bad, *good[1:]], timeout=10)
    data = answer.json()
    assert answer.status_code == 200, data
    assert (data["status"], data["accepted"], data["rejected"]) == ("ok", 3, 1)
    assert [(r["index"], r["field"]) for r in data["rejects"]] == [(1, "ts")]

    lines = b"\n".join(json.dumps(b).encode() for b in (bad, good[0])) + b"\n"
    answer = httpx.post(
        f"{server.base_url}/beacons",
        content=lines,
        headers={"content-type": "text/plain"},
        timeout=10,
    )
    data = answer.json()
    assert (data["accepted"], data["rejected"]) == (1, 1)
    assert [(r["line"], r["field"]) for r in data["rejects"]] == [(1, "ts")]
    sessions = [r["session"] for r in stored_lines(server.data) if r["site"] == "batch-svc"]
    assert sorted(sessions) == ["s0", "s0", "s1", "s2"]


def test_emitter_makes_the_service_up_in_status(
    server: ServeProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    site = "emitter-svc"
    with RTTClient(server.base_url, timeout_s=5, retries=2) as client:
        client.set_profile(site, {**create_profile(), "heartbeat_interval_s": 1.0})
        emitter = HeartbeatEmitter(site, client=client, interval_s=0.3, allow_any_interval=True)
        # Beacon times are whole seconds and ties sort by event name: the shutdown must
        # come in a later second than the startup to read as the last beacon.
        later = math.floor(time.time()) + 2
        emitter.start()
        try:
            assert wait_until(lambda: emitter.sent >= 3 and time.time() >= later, timeout_s=20), (
                emitter.last_error
            )
            states = _states(server.data, site, capsys)
            assert states[site] == "up", states
        finally:
            emitter.stop()
    assert emitter.failed == 0
    stored = [r["event"] for r in stored_lines(server.data) if r["site"] == site]
    assert stored[0] == "startup"
    assert stored[-1] == "shutdown"
    assert stored.count("heartbeat") >= 2
    rows = [(r["event"], r["ts"]) for r in stored_lines(server.data) if r["site"] == site]
    assert _states(server.data, site, capsys)[site] == "stopped", rows


def _states(data: Path, site: str, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    code = main(["status", str(data), "--profiles", str(data / "profiles.yaml"), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return {row["site"]: row["state"] for row in json.loads(out)["states"]}


def test_live_routes_see_the_stored_beacons(server: ServeProcess) -> None:
    with RTTClient(server.base_url, timeout_s=10, retries=0) as client:
        client.beacon(build_beacon_payload("live-svc", "srv-1", "startup"))
    with httpx.Client(base_url=server.root_url, timeout=10) as http:
        assert http.get("/healthz").status_code == 200
        # /status and /metrics may serve an answer computed up to a few seconds ago.
        deadline = time.monotonic() + 10
        while True:
            status = http.get("/api/rtt/status")
            metrics = http.get("/metrics")
            if "live-svc" in status.text and 'service="live-svc"' in metrics.text:
                break
            assert time.monotonic() < deadline, (status.text, metrics.text)
            time.sleep(0.2)
        assert status.status_code == 200
        assert metrics.status_code == 200
        assert "rtt_beacons_total" in metrics.text
        spec = http.get("/openapi.json").json()
    paths = set(spec["paths"])
    for route in ("beacon", "beacons", "profile/{site}", "validate", "corridor", "topology",
                  "status"):  # fmt: skip
        assert f"/api/rtt/{route}" in paths, paths
    assert {"/metrics", "/healthz"} <= paths
