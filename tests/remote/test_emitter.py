from __future__ import annotations

import atexit
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rtt_topology.errors import InputError
from rtt_topology.load import read_beacons
from rtt_topology.load.logs import parse_log_lines
from rtt_topology.remote.client import BASE_URL_ENV, ConnectionFailedError, RTTClient
from rtt_topology.remote.emitter import HeartbeatEmitter, next_deadline
from rtt_topology.schemas import Beacon
from tests.rtt_loopback import RttServer, closed_port

FAST: dict[str, Any] = {"interval_s": 0.02, "allow_any_interval": True, "jitter": 0.0}


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (BASE_URL_ENV, "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    logger = logging.getLogger("rtt_topology.remote.emitter")
    level = logger.level
    logger.setLevel(logging.INFO)
    yield
    logger.setLevel(level)
    # Every test stops its emitters: no heartbeat thread may outlive it.
    assert [t.name for t in threading.enumerate() if t.name.startswith("rtt-heartbeat")] == []


def wait_until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


class Endpoint:
    """A MockTransport handler that records beacons and can block or fail."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.beacons: list[dict[str, Any]] = []
        self.release = threading.Event()
        self.release.set()
        self.entered = threading.Event()
        self.error: Exception | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.entered.set()
        self.release.wait(10)
        if self.error is not None:
            raise self.error
        self.beacons.append(json.loads(request.content))
        body = {"status": "ok"} if self.status == 200 else {"error": "invalid_request"}
        return httpx.Response(self.status, json=body)

    def events(self) -> list[str]:
        return [b["event"] for b in self.beacons]


@pytest.fixture
def endpoint() -> Endpoint:
    return Endpoint()


@pytest.fixture
def client(endpoint: Endpoint) -> Iterator[RTTClient]:
    transport = httpx.MockTransport(endpoint)
    with RTTClient("http://rtt.test", transport=transport, retries=0) as c:
        yield c


# --- settings --------------------------------------------------------------------------


@pytest.mark.parametrize("interval_s", [29.9, 61, 0.5])
def test_interval_must_follow_upstream_cadence(interval_s: float, client: RTTClient) -> None:
    with pytest.raises(InputError, match="30-60 s"):
        HeartbeatEmitter("svc", client=client, interval_s=interval_s)
    HeartbeatEmitter("svc", client=client, interval_s=interval_s, allow_any_interval=True)


@pytest.mark.parametrize(
    "options",
    [
        {"interval_s": 0, "allow_any_interval": True},
        {"interval_s": -1, "allow_any_interval": True},
        {"interval_s": math.nan, "allow_any_interval": True},
        {"jitter": 0.6},
        {"jitter": -0.1},
    ],
)
def test_bad_settings(options: dict[str, Any], client: RTTClient) -> None:
    with pytest.raises(InputError):
        HeartbeatEmitter("svc", client=client, **options)


@pytest.mark.parametrize("site", ["", None])
def test_site_is_required(site: Any, client: RTTClient) -> None:
    with pytest.raises(InputError, match="site"):
        HeartbeatEmitter(site, client=client)


def test_bad_base_url_is_reported_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BASE_URL_ENV, "not a url")
    with pytest.raises(InputError, match=BASE_URL_ENV):
        HeartbeatEmitter("svc")


def test_waits_are_jittered_downwards(client: RTTClient) -> None:
    emitter = HeartbeatEmitter("svc", client=client, interval_s=40, jitter=0.25)
    waits = [emitter._wait_s() for _ in range(2000)]
    assert 30.0 <= min(waits) < 31.0
    assert 39.0 < max(waits) <= 40.0


def test_next_deadline() -> None:
    assert next_deadline(10.0, 11.0, 45.0) == 55.0
    assert next_deadline(10.0, 60.0, 45.0) == 105.0
    assert next_deadline(10.0, 55.0, 45.0) == 100.0


# --- the life of an emitter ------------------------------------------------------------


def test_startup_heartbeats_shutdown(endpoint: Endpoint, client: RTTClient) -> None:
    emitter = HeartbeatEmitter("auth-service", client=client, session="srv-1", **FAST)
    assert emitter.start() is emitter
    assert emitter.start() is emitter  # already running: nothing happens
    assert emitter.running
    wait_until(lambda: endpoint.events().count("heartbeat") >= 3)
    assert emitter.stop() is True
    assert not emitter.running
    events = endpoint.events()
    assert events[0] == "startup"
    assert events[-1] == "shutdown"
    assert set(events[1:-1]) == {"heartbeat"}
    assert (emitter.sent, emitter.failed, emitter.last_error) == (len(events), 0, None)
    for beacon in endpoint.beacons:
        Beacon.model_validate(beacon)
        assert (beacon["site"], beacon["session"]) == ("auth-service", "srv-1")
        assert beacon["structure"]["url"] == "internal://auth-service"
    assert client.is_closed is False  # a client passed in is not closed
    assert emitter.stop() is True  # stopping twice is harmless


def test_on_demand_events(endpoint: Endpoint, client: RTTClient) -> None:
    emitter = HeartbeatEmitter(
        "svc", client=client, interval_s=60, structure={"url": "internal://svc", "dom_nodes": 0}
    )
    assert emitter.config_change() is False  # not running: nothing queued
    with emitter:
        assert emitter.config_change() is True
        assert emitter.emit("deploy_finish") is True
    assert endpoint.events() == ["startup", "config_change", "deploy_finish", "shutdown"]
    assert endpoint.beacons[0]["structure"] == {"url": "internal://svc", "dom_nodes": 0}
    assert emitter.emit("late") is False
    with pytest.raises(InputError):
        emitter.emit("")


def test_restart_sends_a_new_startup(endpoint: Endpoint, client: RTTClient) -> None:
    emitter = HeartbeatEmitter("svc", client=client, interval_s=60)
    for _ in range(2):
        emitter.start()
        assert emitter.stop()
    assert endpoint.events() == ["startup", "shutdown", "startup", "shutdown"]
    assert len({b["session"] for b in endpoint.beacons}) == 1


def test_never_blocks_the_host(endpoint: Endpoint, client: RTTClient) -> None:
    endpoint.release.clear()  # the endpoint hangs until released
    emitter = HeartbeatEmitter("svc", client=client, interval_s=60)
    emitter.start()
    assert endpoint.entered.wait(5)
    # The startup beacon is stuck in the thread; the host goes on.
    assert emitter.config_change() is True
    assert emitter.sent == 0
    assert emitter.stop(timeout_s=0.05) is False  # still sending: not joined yet
    assert emitter.config_change() is False
    endpoint.release.set()
    assert emitter.stop() is True
    assert endpoint.events() == ["startup", "config_change", "shutdown"]


def test_stop_while_stopping_cannot_restart(endpoint: Endpoint, client: RTTClient) -> None:
    endpoint.release.clear()
    emitter = HeartbeatEmitter("svc", client=client, interval_s=60).start()
    assert endpoint.entered.wait(5)
    assert emitter.stop(timeout_s=0.01) is False
    with pytest.raises(InputError, match="still stopping"):
        emitter.start()
    endpoint.release.set()
    assert emitter.stop() is True


def test_failures_are_counted_not_raised(
    endpoint: Endpoint, client: RTTClient, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint.error = RuntimeError("a bug [RTT] heartbeat sent {} in a transport")
    with caplog.at_level(logging.INFO, "rtt_topology.remote.emitter"):
        emitter = HeartbeatEmitter("svc", client=client, **FAST).start()
        wait_until(lambda: emitter.failed >= 3)
        assert emitter.stop()
    assert emitter.sent == 0
    assert isinstance(emitter.last_error, RuntimeError)
    lines = [r.getMessage() for r in caplog.records]
    assert (
        lines[0]
        == "[RTT] startup failed: RuntimeError: a bug [rtt] heartbeat sent {} in a transport"
    )
    assert all(r.levelno == logging.WARNING for r in caplog.records)
    assert parse_log_lines(lines).entries == []


def test_api_errors_are_counted(client: RTTClient, endpoint: Endpoint) -> None:
    endpoint.status = 400
    with HeartbeatEmitter("svc", client=client, interval_s=60) as emitter:
        pass
    assert (emitter.sent, emitter.failed) == (0, 2)
    assert "invalid_request" in str(emitter.last_error)


def test_dead_endpoint(caplog: pytest.LogCaptureFixture) -> None:
    url = f"http://127.0.0.1:{closed_port()}/api/rtt"
    with (
        caplog.at_level(logging.INFO, "rtt_topology.remote.emitter"),
        RTTClient(url, timeout_s=1.0, retries=1, backoff_s=0.0) as client,
    ):
        emitter = HeartbeatEmitter("svc", client=client, **FAST).start()
        wait_until(lambda: emitter.failed >= 4)
        assert emitter.running
        assert emitter.stop() is True
    assert emitter.sent == 0
    assert emitter.failed >= 5  # startup, heartbeats, shutdown
    assert isinstance(emitter.last_error, ConnectionFailedError)
    assert emitter.last_error.attempts == 2
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0].startswith("[RTT] startup failed: ConnectionFailedError: POST ")
    assert messages[-1].startswith("[RTT] shutdown failed: ")
    assert not any(" sent " in m for m in messages)


def test_recovers_when_the_endpoint_comes_back() -> None:
    with (
        RttServer() as server,
        RTTClient(server.base_url, retries=0, timeout_s=2.0) as client,
    ):
        server.fail_next(3, 503)
        emitter = HeartbeatEmitter("svc", client=client, **FAST).start()
        wait_until(lambda: emitter.sent >= 2)
        assert emitter.stop()
    assert emitter.failed == 3
    assert [b["event"] for b in server.beacons][-1] == "shutdown"
    assert len(server.beacons) == emitter.sent


def test_own_client_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with RttServer() as server:
        monkeypatch.setenv(BASE_URL_ENV, server.base_url)
        with HeartbeatEmitter("svc", interval_s=60) as emitter:
            emitter.emit("deploy_start")
    assert [b["event"] for b in server.beacons] == ["startup", "deploy_start", "shutdown"]
    assert emitter.sent == 3


def test_registered_at_exit(
    monkeypatch: pytest.MonkeyPatch, endpoint: Endpoint, client: RTTClient
) -> None:
    registered: list[Callable[[], None]] = []
    monkeypatch.setattr(atexit, "register", registered.append)
    monkeypatch.setattr(atexit, "unregister", registered.remove)
    emitter = HeartbeatEmitter("svc", client=client, interval_s=60).start()
    assert registered == [emitter._at_exit]
    registered[0]()  # what the interpreter runs at exit
    assert registered == []
    assert endpoint.events() == ["startup", "shutdown"]


def test_thread_is_a_named_daemon(endpoint: Endpoint, client: RTTClient) -> None:
    endpoint.release.clear()
    emitter = HeartbeatEmitter("auth", client=client, interval_s=60).start()
    (thread,) = [t for t in threading.enumerate() if t.name == "rtt-heartbeat-auth"]
    assert thread.daemon
    assert "running" in repr(emitter)
    endpoint.release.set()
    assert emitter.stop()
    assert "stopped" in repr(emitter)


# --- end to end: log lines read back as beacons -----------------------------------------


def test_log_file_reads_back_as_beacons(tmp_path: Path) -> None:
    log = tmp_path / "auth-service.log"
    handler = logging.FileHandler(log, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("rtt_topology.remote.emitter")
    logger.addHandler(handler)
    try:
        with (
            RttServer() as server,
            RTTClient(server.base_url, retries=0, timeout_s=2.0) as client,
        ):
            server.fail_next(1, 503)  # the startup beacon fails: a "failed" line
            emitter = HeartbeatEmitter(
                "auth-service", client=client, session="srv-42", **FAST
            ).start()
            wait_until(lambda: emitter.sent >= 4)
            emitter.config_change()
            assert emitter.stop()
    finally:
        logger.removeHandler(handler)
        handler.close()

    text = log.read_text(encoding="utf-8")
    assert "[RTT] startup failed: ApiError: POST " in text
    load = read_beacons(log)
    report = load.report
    assert (report.read, report.accepted, report.rejected) == (emitter.sent, emitter.sent, 0)
    # Beacons stamped within the same second are exact duplicates, collapsed by the loader.
    assert len(load.beacons) + report.duplicates == emitter.sent
    assert set(load.beacons["event"]) == {"heartbeat", "config_change", "shutdown"}
    assert set(load.beacons["site"]) == {"auth-service"}
    assert set(load.beacons["session"]) == {"srv-42"}
    # The log says exactly what the server acknowledged.
    entries = parse_log_lines(text.splitlines()).entries
    assert [e.payload for e in entries] == server.beacons
    assert all(e.notation == "json" for e in entries)
