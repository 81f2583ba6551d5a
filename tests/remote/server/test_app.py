"""The upstream routes in-process: answers, errors, auth, CORS, profiles and the store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from rtt_topology.load import read_beacons, read_profiles
from rtt_topology.remote.server import Limits
from tests.remote.server.asgi import BEACON, TestClient, beacon, make_client, quiet_limits

TOKEN = "t0ken-t0ken-t0ken-t0ken"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("app")


@pytest.fixture(scope="module")
def client(data: Path) -> Iterator[TestClient]:
    with make_client(data) as c:
        yield c


def test_beacon_is_acknowledged_as_upstream_and_stored_with_received_at(
    client: TestClient, data: Path
) -> None:
    answer = client.post("/api/rtt/beacon", json=beacon(site="stored-svc"))
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})
    assert answer.headers["content-type"] == "application/json"
    beacons, report = read_beacons(data)
    row = beacons[beacons["site"] == "stored-svc"]
    assert len(row) == 1
    assert report.rejected == 0
    assert str(row["ts"].iloc[0]) == "2026-01-19 15:00:00+00:00"


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "text/plain;charset=UTF-8",
     "application/vnd.rtt+json", None],
)  # fmt: skip
def test_json_and_text_plain_bodies_are_accepted(
    client: TestClient, content_type: str | None
) -> None:
    headers = {} if content_type is None else {"content-type": content_type}
    answer = client.post("/api/rtt/beacon", content=json.dumps(BEACON), headers=headers)
    assert answer.json() == {"status": "ok"}


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                     "image/png"],
)  # fmt: skip
def test_other_content_types_are_415(client: TestClient, content_type: str) -> None:
    answer = client.post(
        "/api/rtt/beacon", content=json.dumps(BEACON), headers={"content-type": content_type}
    )
    assert answer.status_code == 415
    assert answer.json()["error"] == "unsupported_media_type"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{", "invalid JSON: Expecting property name enclosed in double quotes (column 2)"),
        (b"[]", "expected a JSON object, got array"),
        (json.dumps(beacon(ts="15:00")).encode(), "ts: not an ISO 8601 timestamp"),
        (json.dumps(beacon(site=7)).encode(), "site: expected a string, got number"),
        (json.dumps({k: v for k, v in BEACON.items() if k != "session"}).encode(),
         "session: missing"),
        (json.dumps(beacon(site="x" * 300)).encode(),
         "site: site name longer than 256 characters (300)"),
        (json.dumps(beacon(site="a\u0007b")).encode(),
         "site: control character U+0007 in the site name"),
        (b'{"site": "a", "site": "b"}', "site: duplicate key"),
        (b"\xff\xfe", "invalid UTF-8 (byte 0)"),
    ],
)  # fmt: skip
def test_bad_beacons_are_400_invalid_request_naming_field_and_rule(
    client: TestClient, body: bytes, reason: str
) -> None:
    answer = client.post("/api/rtt/beacon", content=body)
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_request", "reason": reason}


def test_beacon_over_64_kib_is_413_before_reading(client: TestClient) -> None:
    big = beacon(padding="x" * (64 * 1024))
    answer = client.post("/api/rtt/beacon", json=big)
    assert answer.status_code == 413
    assert answer.json() == {"error": "too_large", "reason": "body larger than 65536 bytes"}


def test_a_body_without_length_is_cut_at_the_limit(client: TestClient) -> None:
    read = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        read.append(4096)
        return {"type": "http.request", "body": b" " * 4096, "more_body": len(read) < 100}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/rtt/beacon", "raw_path": b"",
             "query_string": b"", "headers": [(b"transfer-encoding", b"chunked")],
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80), "scheme": "http",
             "root_path": "", "http_version": "1.1", "asgi": {"version": "3.0"}}  # fmt: skip
    anyio.run(client.app, scope, receive, send)
    assert sent[0]["status"] == 413
    # 64 KiB is 16 messages of 4 KiB: the server stopped reading at the 17th.
    assert len(read) == 17


def test_unknown_routes_and_methods_answer_json(client: TestClient) -> None:
    missing = client.get("/api/rtt/nothing")
    assert (missing.status_code, missing.json()) == (404, {"error": "not_found"})
    wrong = client.get("/api/rtt/beacon")
    assert (wrong.status_code, wrong.json()) == (405, {"error": "method_not_allowed"})
    assert wrong.headers["allow"] == "POST"


def test_profiles_round_trip_and_a_change_is_a_config_change_beacon(
    client: TestClient, data: Path
) -> None:
    assert client.get("/api/rtt/profile/shop").json() == {"site": "shop", "profile": None}
    first = {"rtt_version": "1.0", "supports": ["drift"], "contact": "ops@example.com"}
    assert client.post("/api/rtt/profile/shop", json=first).json() == {"status": "ok"}
    assert client.get("/api/rtt/profile/shop").json() == {"site": "shop", "profile": first}
    # The same profile again is no change.
    client.post("/api/rtt/profile/shop", json=first)
    changed = {**first, "supports": ["drift", "corridor"], "tier": "web"}
    client.post("/api/rtt/profile/shop", json=changed)
    stored = client.get("/api/rtt/profile/shop").json()["profile"]
    assert stored == {"rtt_version": "1.0", "supports": ["drift", "corridor"],
                      "contact": "ops@example.com", "layer": "web"}  # fmt: skip
    beacons, _ = read_beacons(data)
    changes = beacons[(beacons["site"] == "shop") & (beacons["event"] == "config_change")]
    assert len(changes) == 1
    assert changes["session"].iloc[0] == "rtt-topology-server"
    profiles, _ = read_profiles(data / "profiles.yaml")
    assert profiles["shop"].layer == "web"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"supports": []}', "rtt_version: Field required"),
        (b'{"rtt_version": "1", "supports": "drift"}',
         "supports: Value error, expected a list of strings, got one string"),
        (b"[1]", "body: a profile is a JSON object"),
        (b'{"rtt_version": "1", "supports": [], "x": ' + b"[" * 70 + b"]" * 70 + b"}",
         "body: nesting deeper than 64 levels"),
        (b'{"rtt_version": "1", "supports": ["\\ud800"]}',
         "body: invalid unicode (lone surrogate)"),
    ],
)  # fmt: skip
def test_bad_profiles_are_400_invalid_profile(client: TestClient, body: bytes, reason: str) -> None:
    answer = client.post("/api/rtt/profile/bad-profile", content=body)
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_profile", "reason": reason}
    assert client.get("/api/rtt/profile/bad-profile").json()["profile"] is None


def test_site_names_in_the_path_are_checked(client: TestClient, data: Path) -> None:
    long = client.get("/api/rtt/profile/" + "s" * 257)
    assert long.status_code == 400
    assert long.json()["reason"] == "site: site name longer than 256 characters (257)"
    control = client.get("/api/rtt/profile/a%0Ab")
    assert control.json()["reason"] == "site: control character U+000A in the site name"
    # A slash is part of the name, never of a path on disk.
    profile = {"rtt_version": "1.0", "supports": []}
    assert client.post("/api/rtt/profile/..%2F..%2Fetc", json=profile).status_code == 200
    answer = client.get("/api/rtt/profile/..%2F..%2Fetc").json()
    assert answer == {"site": "../../etc", "profile": profile}
    assert not (data.parent / "etc").exists()
    # A literal slash separates path segments: no route names that site.
    assert client.get("/api/rtt/profile/a/b").status_code == 404
    assert client.get("/api/rtt/profile/%FF").json()["reason"] == "site: invalid UTF-8 (byte 0)"


def test_a_token_guards_writes_and_leaves_reads_open(tmp_path: Path) -> None:
    with make_client(tmp_path, token=TOKEN) as c:
        refused = c.post("/api/rtt/beacon", json=BEACON)
        assert refused.status_code == 401
        assert refused.json()["error"] == "unauthorized"
        assert refused.headers["www-authenticate"].startswith("Bearer")
        wrong = c.post("/api/rtt/profile/a", json={"rtt_version": "1", "supports": []},
                       headers={"Authorization": "Bearer " + "x" * len(TOKEN)})  # fmt: skip
        assert wrong.status_code == 401
        assert c.post("/api/rtt/beacon", json=BEACON, headers=AUTH).json() == {"status": "ok"}
        assert c.get("/api/rtt/profile/a").json() == {"site": "a", "profile": None}
        assert c.post("/api/rtt/topology", json={"graph": {}}).status_code == 401


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    with make_client(tmp_path, limits=quiet_limits(rate_per_s=1.0, burst=3)) as c:
        codes = [c.post("/api/rtt/beacon", json=BEACON).status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        refused = c.get("/healthz")
        assert refused.status_code == 200  # health checks are never limited
        limited = c.post("/api/rtt/beacon", json=BEACON)
        assert limited.headers["retry-after"] == "1"
        assert limited.json()["error"] == "rate_limited"


def test_cors_only_for_the_given_origins(tmp_path: Path) -> None:
    origin = "https://shop.example.com"
    with make_client(tmp_path, allow_origins=[origin]) as c:
        preflight = {"Origin": origin, "Access-Control-Request-Method": "POST"}
        ok = c.options("/api/rtt/beacon", headers=preflight)
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == origin
        other = c.post("/api/rtt/beacon", json=BEACON, headers={"Origin": "https://evil.test"})
        assert "access-control-allow-origin" not in other.headers
    with make_client(tmp_path) as c:
        plain = c.post("/api/rtt/beacon", json=BEACON, headers={"Origin": origin})
        assert "access-control-allow-origin" not in plain.headers


def test_beacon_answers_alike_before_the_stack_and_through_it(tmp_path: Path) -> None:
    # Without CORS origins the beacon route is answered before Starlette's middleware
    # and router; with them it goes through both: only what CORS adds differs.
    origin = "https://shop.example.com"
    cases = [
        (BEACON, 200, b'{"status":"ok"}'),
        ({"site": "x"}, 400, b'{"error":"invalid_request","reason":"session: missing"}'),
    ]
    with (
        make_client(tmp_path / "direct") as direct,
        make_client(tmp_path / "stack", allow_origins=[origin]) as stack,
    ):
        for body, status, text in cases:
            fast = direct.post("/api/rtt/beacon", json=body)
            full = stack.post("/api/rtt/beacon", json=body)
            assert (fast.status_code, fast.content) == (full.status_code, full.content)
            assert (fast.status_code, fast.content) == (status, text)
            assert dict(fast.headers) == {
                "content-type": "application/json",
                "content-length": str(len(text)),
            }
            assert full.headers["vary"] == "Origin"
        cross = stack.post("/api/rtt/beacon", json=BEACON, headers={"Origin": origin})
        assert cross.headers["access-control-allow-origin"] == origin
        # Other methods and paths near it still go to the router.
        assert direct.put("/api/rtt/beacon", json=BEACON).status_code == 405
        assert direct.post("/api/rtt/beacon/x", json=BEACON).status_code == 404
    stored, _ = read_beacons(tmp_path / "direct")
    assert len(stored) == 1


def test_a_store_failure_is_503_with_retry_after_never_200(tmp_path: Path) -> None:
    from rtt_topology.remote.server import BeaconStore

    store = BeaconStore(tmp_path)
    with make_client(tmp_path, store=store) as c:
        store.close()  # appends to a closed store fail: the request must not be acknowledged
        answer = c.post("/api/rtt/beacon", json=BEACON)
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "1"
        assert answer.json()["error"] == "unavailable"
        batch = c.post("/api/rtt/beacons", json=[BEACON])
        assert batch.status_code == 503
        lines = c.post("/api/rtt/beacons", content=json.dumps(BEACON).encode() + b"\n")
        assert (lines.status_code, lines.headers["retry-after"]) == (503, "1")


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="rate_per_s must be positive"):
        Limits(rate_per_s=0)


def test_batches_as_array_and_json_lines_count_accepted_and_rejected(
    client: TestClient, data: Path
) -> None:
    good = [beacon(site="batch-svc", session=f"s{i}") for i in range(3)]
    array = client.post("/api/rtt/beacons", json=[*good, {"site": "x"}, 7])
    assert array.json() == {
        "status": "ok", "accepted": 3, "rejected": 2,
        "rejects": [{"index": 3, "field": "session", "reason": "missing"},
                    {"index": 4, "field": None, "reason": "expected a JSON object, got number"}],
    }  # fmt: skip
    lines = b"\n".join(json.dumps(b).encode() for b in good) + b"\n\n{broken\n"
    answer = client.post("/api/rtt/beacons", content=lines,
                         headers={"content-type": "text/plain"})  # fmt: skip
    body = answer.json()
    assert (body["accepted"], body["rejected"]) == (3, 1)
    assert body["rejects"][0]["line"] == 5
    beacons, _ = read_beacons(data)
    # The same three beacons twice: the reader collapses exact duplicates.
    assert sorted(beacons[beacons["site"] == "batch-svc"]["session"]) == ["s0", "s1", "s2"]


def test_json_lines_batches_are_stored_as_posted_with_received_at(
    client: TestClient, data: Path
) -> None:
    good = [beacon(site="lines-svc", session=f"l{i}") for i in range(4)]
    lines = [json.dumps(b, separators=(",", ":")).encode() for b in good]
    body = b"\n".join([lines[0], lines[1], b"", b" " + lines[2] + b" \r", lines[3]])
    answer = client.post("/api/rtt/beacons", content=body)
    assert answer.json() == {"status": "ok", "accepted": 4, "rejected": 0, "rejects": []}
    beacons, report = read_beacons(data)
    assert report.rejected == 0
    rows = beacons[beacons["site"] == "lines-svc"]
    assert sorted(rows["session"]) == ["l0", "l1", "l2", "l3"]
    assert rows["received_at"].notna().all()


def test_json_lines_batch_rejects_name_line_field_and_reason(client: TestClient) -> None:
    body = b"\n".join(
        [
            json.dumps(beacon(site="ok-svc")).encode(),
            json.dumps(beacon(site="bad\u0001svc")).encode(),
            json.dumps({**beacon(), "received_at": "2026-01-19T15:00:00Z"}).encode(),
            b'{"site":"\xff"}',
            json.dumps(beacon(ts="noon")).encode(),
        ]
    )
    answer = client.post("/api/rtt/beacons", content=body, headers={"content-type": "text/plain"})
    assert answer.status_code == 200
    assert answer.json() == {
        "status": "ok", "accepted": 1, "rejected": 4,
        "rejects": [
            {"line": 2, "field": "site", "reason": "control character U+0001 in the site name"},
            {"line": 3, "field": "received_at",
             "reason": "set by the server that receives the beacon, not by its sender"},
            {"line": 4, "field": None, "reason": "invalid UTF-8 (byte 9)"},
            {"line": 5, "field": "ts", "reason": "not an ISO 8601 timestamp"},
        ],
    }  # fmt: skip


def test_json_lines_and_array_batches_store_the_same_table(tmp_path: Path) -> None:
    good = [beacon(site="same-svc", session=f"s{i}", zone={"k": [i]}) for i in range(5)]
    tables = []
    for name, kwargs in [
        ("array", {"json": good}),
        ("lines", {"content": b"\n".join(json.dumps(b).encode() for b in good)}),
    ]:
        with make_client(tmp_path / name) as c:
            assert c.post("/api/rtt/beacons", **kwargs).json()["accepted"] == 5
        beacons, _ = read_beacons(tmp_path / name)
        tables.append(beacons.drop(columns=["source", "received_at"]).reset_index(drop=True))
    assert tables[0].equals(tables[1])


def test_batch_rejects_listed_are_capped_but_all_counted(client: TestClient) -> None:
    answer = client.post("/api/rtt/beacons", json=[{}] * 250).json()
    assert (answer["accepted"], answer["rejected"], len(answer["rejects"])) == (0, 250, 100)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[1, 2", "invalid JSON: Expecting ',' delimiter (column 6)"),
        (b"[" * 50_000 + b"]" * 50_000, "invalid JSON: nesting deeper than 64 levels"),
        (b'[{"a": 1, "a": 2}]', "a: duplicate key"),
        (b"[\xff]", "invalid UTF-8 (byte 1)"),
    ],
)
def test_a_batch_that_is_not_json_is_400(client: TestClient, body: bytes, reason: str) -> None:
    answer = client.post("/api/rtt/beacons", content=body)
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_request", "reason": reason}


def test_a_deep_beacon_in_a_batch_is_one_reject(client: TestClient) -> None:
    deep = beacon(extra=json.loads("[" * 70 + "]" * 70))
    answer = client.post("/api/rtt/beacons", json=[BEACON, deep]).json()
    assert (answer["accepted"], answer["rejected"]) == (1, 1)
    assert answer["rejects"][0]["reason"] == "invalid JSON: nesting deeper than 64 levels"


def test_batch_limit_is_16_mib(tmp_path: Path) -> None:
    with make_client(tmp_path, limits=quiet_limits(batch_bytes=1000)) as c:
        answer = c.post("/api/rtt/beacons", json=[BEACON] * 10)
        assert answer.status_code == 413
    assert Limits().batch_bytes == 16 * 1024 * 1024


@pytest.mark.parametrize("origins", [(), ("https://shop.example.com",)])
def test_an_unexpected_error_is_a_json_500_without_traceback_and_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, origins: tuple[str, ...]
) -> None:
    from collections.abc import Sequence

    from rtt_topology.remote.server import BeaconStore, create_app

    class BrokenStore(BeaconStore):
        async def append(self, lines: Sequence[bytes]) -> None:
            raise RuntimeError("a bug in the store")

    # Both ways to the beacon route: before the middleware (no origins) and through it.
    app = create_app(
        tmp_path, limits=quiet_limits(), store=BrokenStore(tmp_path), allow_origins=origins
    )
    with TestClient(app, raise_server_exceptions=False) as c:
        answer = c.post("/api/rtt/beacon", json=BEACON)
    assert answer.status_code == 500
    assert answer.json() == {
        "error": "internal_error",
        "reason": "the server failed on this request; it was logged",
    }
    assert "Traceback" not in answer.text
    assert "a bug in the store" in caplog.text
