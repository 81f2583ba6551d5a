"""The real server in a subprocess, sent bad requests over raw HTTP: every answer is our error."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rtt_topology.remote import RTTClient
from rtt_topology.sdk import build_beacon_payload, create_profile
from tests.remote.server.serve_process import GRACEFUL_EXIT, ServeProcess

pytestmark = pytest.mark.slow

TOKEN = "integration-token-0123456789"
BEACON = json.dumps(build_beacon_payload("raw-svc", "srv-1", "heartbeat")).encode()
AUTH = {"authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """A server that wants a bearer token for writes."""
    root = tmp_path_factory.mktemp("errors")
    (root / "token").write_text(TOKEN + "\n")
    (root / "data").mkdir()
    with ServeProcess(root / "data", "--token-file", str(root / "token")) as proc:
        yield proc
    assert "Traceback" not in proc.log_text()


def request(
    port: int, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    """Send one request with http.client: status, headers (lower-case) and the JSON answer."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request(method, path, body=body, headers={**AUTH, **(headers or {})})
        response = conn.getresponse()
        raw = response.read()
        found = {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()
    assert found.get("content-type", "").startswith("application/json"), (response.status, raw)
    return response.status, found, json.loads(raw)


def oversized(port: int, path: str, size: int, *, chunked: bool = False) -> tuple[int, bytes]:
    """Send a body of ``size`` bytes (announced, or chunked without a length); read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {TOKEN}\r\n{length}\r\n\r\n"
        )
        sock.sendall(head.encode())
        chunk = b" " * 65536
        sent = 0
        try:
            while sent < size:
                part = chunk[: size - sent]
                sock.sendall(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
                sent += len(part)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed before the end: that is allowed
        answer = b""
        try:
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                more = sock.recv(65536)
                if not more:
                    break
                answer += more
        except OSError:
            pass
    status = int(answer.split(b" ", 2)[1])
    return status, answer.split(b"\r\n\r\n", 1)[1]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", None),
        (b'{"site": "a", "session": "s", "event": "heartbeat"}', "ts"),
        (b'{"session": "s", "event": "heartbeat", "ts": "2026-01-19T15:00:00Z"}', "site"),
        (b'{"site": 7, "session": "s", "event": "e", "ts": "2026-01-19T15:00:00Z"}', "site"),
        (BEACON.replace(b'"heartbeat"', b'"heartbeat", "received_at": "x"'), "received_at"),
        (b"[" + BEACON + b"]", None),
        (b"\xff\xfe{}", None),
        (b"[" * 30_000 + b"]" * 30_000, None),
        (b"", None),
        (b'{"site": "a", "ts": NaN}', None),
    ],
    ids=[
        "bad-json",
        "no-ts",
        "no-site",
        "site-number",
        "received-at",
        "array",
        "not-utf8",
        "deep",
        "empty",
        "nan",
    ],
)
def test_bad_beacons_answer_400_naming_the_field(
    server: ServeProcess, body: bytes, field: str | None
) -> None:
    status, _, answer = request(server.port, "POST", "/api/rtt/beacon", body)
    assert status == 400
    assert answer["error"] == "invalid_request"
    assert isinstance(answer["reason"], str)
    assert answer["reason"]
    if field is not None:
        assert answer["reason"].startswith(f"{field}: "), answer


CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "application/vnd.api+json",
    "text/plain;charset=UTF-8",
]


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_json_and_text_content_types_are_accepted(server: ServeProcess, content_type: str) -> None:
    headers = {"content-type": content_type}
    assert request(server.port, "POST", "/api/rtt/beacon", BEACON, headers)[::2] == (
        200,
        {"status": "ok"},
    )


def test_bodies_over_the_limits_answer_413(server: ServeProcess) -> None:
    status, body = oversized(server.port, "/api/rtt/beacon", 64 * 1024 + 1)
    assert status == 413
    assert json.loads(body)["error"]
    status, body = oversized(server.port, "/api/rtt/beacon", 64 * 1024 + 1, chunked=True)
    assert status == 413
    assert json.loads(body)["error"]
    status, body = oversized(server.port, "/api/rtt/beacons", 16 * 2**20 + 1)
    assert status == 413
    assert json.loads(body)["error"]
    # The server still answers afterwards.
    assert request(server.port, "POST", "/api/rtt/beacon", BEACON)[0] == 200


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/rtt/beacon", 405),
        ("PUT", "/api/rtt/beacon", 405),
        ("DELETE", "/api/rtt/profile/raw-svc", 405),
        ("GET", "/api/rtt/validate", 405),
        ("GET", "/api/rtt/nowhere", 404),
        ("GET", "/", 404),
        ("GET", "/api/rtt/beacons", 405),
    ],
)
def test_wrong_methods_and_paths_answer_json(
    server: ServeProcess, method: str, path: str, status: int
) -> None:
    got, _, answer = request(server.port, method, path, BEACON if method != "GET" else b"")
    assert got == status
    assert isinstance(answer.get("error"), str)


@pytest.mark.parametrize(
    "site",
    ["a%0Ab", "tab%09", "del%7F", "x" * 300, "%C2%85next-line"],
    ids=["newline", "tab", "delete", "too-long", "c1-control"],
)
def test_bad_site_names_are_refused(server: ServeProcess, site: str) -> None:
    profile = json.dumps(create_profile()).encode()
    for method, body in (("POST", profile), ("GET", b"")):
        status, _, answer = request(server.port, method, f"/api/rtt/profile/{site}", body)
        assert status == 400, answer
        assert answer["reason"].startswith("site: "), answer
    profiles = server.data / "profiles.yaml"
    assert not profiles.exists() or "next-line" not in profiles.read_text()


def test_a_site_is_never_a_path(server: ServeProcess) -> None:
    before = set(server.data.parent.rglob("*"))
    profile = json.dumps(create_profile()).encode()
    site = "..%2F..%2Fescaped"
    assert request(server.port, "POST", f"/api/rtt/profile/{site}", profile)[0] == 200
    status, _, answer = request(server.port, "GET", f"/api/rtt/profile/{site}")
    assert (status, answer["site"]) == (200, "../../escaped")
    created = {p for p in set(server.data.parent.rglob("*")) - before if "escaped" in p.name}
    assert not created
    assert not (server.data.parent.parent / "escaped").exists()


def test_writes_need_the_token_and_reads_do_not(server: ServeProcess) -> None:
    no_token = {"authorization": ""}
    wrong = {"authorization": "Bearer not-the-token-at-all"}
    profile = json.dumps(create_profile()).encode()
    for headers in (no_token, wrong, {"authorization": TOKEN}):
        for path, body in (("beacon", BEACON), ("beacons", b"[" + BEACON + b"]"),
                           ("profile/raw-svc", profile)):  # fmt: skip
            status, _, answer = request(server.port, "POST", f"/api/rtt/{path}", body, headers)
            assert status == 401, (path, headers)
            assert answer["error"], (path, headers)
    assert request(server.port, "POST", "/api/rtt/profile/raw-svc", profile)[0] == 200
    status, _, answer = request(server.port, "GET", "/api/rtt/profile/raw-svc", headers=no_token)
    assert status == 200
    assert answer["profile"]["rtt_version"] == "1.0"


def test_refused_beacons_are_never_stored(server: ServeProcess) -> None:
    marker = "never-stored-svc"
    body = json.dumps({"site": marker, "session": "s", "event": "e", "ts": "soon"}).encode()
    assert request(server.port, "POST", "/api/rtt/beacon", body)[0] == 400
    assert request(server.port, "POST", "/api/rtt/beacon", body, {"authorization": ""})[0] == 401
    stored = b"".join(p.read_bytes() for p in (server.data / "beacons").rglob("*.jsonl"))
    assert marker.encode() not in stored


def test_too_many_requests_answer_429_with_retry_after(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with ServeProcess(data, "--rate-limit", "1", "--burst", "3") as proc:
        statuses: list[int] = []
        while 429 not in statuses and len(statuses) < 10:
            status, headers, answer = request(proc.port, "POST", "/api/rtt/beacon", BEACON)
            statuses.append(status)
        # The burst, then a refusal that says when to come back (one token a second).
        assert statuses[:3] == [200, 200, 200]
        assert statuses[-1] == 429
        assert int(headers["retry-after"]) >= 1
        assert answer["error"]

        # Our client waits as told and then gets through.
        waits: list[float] = []

        def sleep(seconds: float) -> None:
            waits.append(seconds)
            time.sleep(seconds)

        with RTTClient(proc.base_url, retries=3, sleep=sleep) as client:
            assert client.beacon(json.loads(BEACON)).status == "ok"
        assert waits
        assert all(w >= 1 for w in waits)
        # Ctrl-C stops it as gracefully as SIGTERM does.
        assert proc.interrupt() in GRACEFUL_EXIT[signal.SIGINT]
    log = proc.log_text()
    assert "Traceback" not in log
    assert "aborted" not in log
