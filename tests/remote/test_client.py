from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from rtt_topology.diagnostics.payloads import CorridorPayload, TopologyPayload, ValidatePayload
from rtt_topology.errors import InputError, RttTopologyError
from rtt_topology.remote import client as client_module
from rtt_topology.remote.client import (
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    Ack,
    ApiError,
    AsyncRTTClient,
    BadResponseError,
    ClientError,
    ConnectionFailedError,
    DiagnosticsAnswer,
    NotAvailable,
    ProfileAnswer,
    RequestTimeoutError,
    RTTClient,
    prepare_request,
)
from rtt_topology.remote.core import (
    MAX_DELAY_S,
    backoff_delay,
    quote_site,
    retry_after_s,
    retryable_status,
)
from rtt_topology.schemas import Beacon, Profile
from rtt_topology.sdk import build_beacon_payload, create_profile
from tests.rtt_loopback import NOT_AVAILABLE, RttServer, closed_port

BASE = "http://rtt.test/api/rtt"
OK = {"status": "ok"}
BEACON = build_beacon_payload(
    "auth-service", "srv-1", "heartbeat", ts=datetime(2026, 1, 19, 15, tzinfo=UTC)
)
PROFILE = create_profile(supports=["coherence", "drift"], contact="ops@example.com")

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing in the environment may redirect the tests (base URL, proxies).
    for name in (BASE_URL_ENV, "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


class Recorder:
    """A transport that answers from a script and records what it was sent."""

    def __init__(self, *answers: httpx.Response | Exception | Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return httpx.Response(
                answer.status_code, headers=answer.headers, content=answer.content
            )
        return answer(request)


class Sleeps(list[float]):
    def __call__(self, delay: float) -> None:
        self.append(delay)


def make(
    *answers: httpx.Response | Exception | Handler, **options: Any
) -> tuple[RTTClient, Recorder, Sleeps]:
    recorder = Recorder(*answers)
    sleeps = Sleeps()
    options.setdefault("sleep", sleeps)
    client = RTTClient(BASE, transport=httpx.MockTransport(recorder), **options)
    return client, recorder, sleeps


def ok(body: Any = None, status: int = 200, **kw: Any) -> httpx.Response:
    return httpx.Response(status, json=OK if body is None else body, **kw)


# --- answers -------------------------------------------------------------------------


def test_beacon_sends_json_and_reads_ack() -> None:
    client, seen, _ = make(ok())
    with client:
        assert client.beacon(BEACON) == Ack(status="ok")
    (request,) = seen.requests
    assert (request.method, str(request.url)) == ("POST", f"{BASE}/beacon")
    assert json.loads(request.content) == BEACON
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("rtt-topology/")
    assert client.is_closed


def test_every_request_has_timeouts() -> None:
    client, seen, _ = make(ok(), timeout_s=2.5)
    with client:
        client.beacon(BEACON)
    assert seen.requests[0].extensions["timeout"] == {
        "connect": 2.5, "read": 2.5, "write": 2.5, "pool": 2.5,
    }  # fmt: skip


def test_models_are_sent_json_ready() -> None:
    client, seen, _ = make(ok())
    beacon = Beacon.model_validate(
        {**BEACON, "ts": "2026-01-19T17:00:00+02:00", "region": "eu", "structure": {"url": "x"}}
    )
    with client:
        client.beacon(beacon)
        client.set_profile("auth", Profile.model_validate({**PROFILE, "tier": "api"}))
    assert json.loads(seen.requests[0].content) == {
        **BEACON, "region": "eu", "structure": {"url": "x"},
    }  # fmt: skip
    assert json.loads(seen.requests[1].content) == {**PROFILE, "layer": "api"}


def test_dicts_with_datetimes_are_serialised() -> None:
    client, seen, _ = make(ok())
    with client:
        client.beacon({**BEACON, "ts": datetime(2026, 1, 19, 15, tzinfo=UTC)})
    assert json.loads(seen.requests[0].content)["ts"] == "2026-01-19T15:00:00Z"


@pytest.mark.parametrize(
    ("method", "model", "body"),
    [
        ("validate", ValidatePayload, {"system_map": {"services": ["a"]}, "flows": [],
                                       "constraints": []}),
        ("corridor", CorridorPayload, {"flows": [{"path": ["a", "b"], "latency_ms": 12.0}]}),
        ("topology", TopologyPayload, {"graph": {"a": ["b"], "b": []}}),
    ],
)  # fmt: skip
def test_diagnostics_answer_not_available(
    method: str, model: type[Any], body: dict[str, Any]
) -> None:
    answer = {"status": "not_available", "message": "validator inactive"}
    client, seen, _ = make(ok(answer))
    with client:
        from_dict = getattr(client, method)(body)
        from_model = getattr(client, method)(model.model_validate(body))
    assert from_dict == from_model == NotAvailable(message="validator inactive")
    assert str(seen.requests[0].url) == f"{BASE}/{method}"
    assert json.loads(seen.requests[0].content) == json.loads(seen.requests[1].content) == body


def test_other_diagnostics_answers_are_kept() -> None:
    client, _, _ = make(ok({"status": "done", "coherence": 0.9}), ok({"triads": []}))
    with client:
        first = client.topology({"graph": {}})
        second = client.topology({"graph": {}})
    assert isinstance(first, DiagnosticsAnswer)
    assert (first.status, first.model_extra) == ("done", {"coherence": 0.9})
    assert (second.status, second.model_extra) == (None, {"triads": []})


def test_get_profile() -> None:
    client, _, _ = make(
        ok({"site": "auth", "profile": {**PROFILE, "depends_on": ["db"]}}),
        ok({"site": "nope", "profile": None}),
    )
    with client:
        found = client.get_profile("auth")
        missing = client.get_profile("nope")
    assert isinstance(found, ProfileAnswer)
    assert found.profile is not None
    assert (found.site, found.profile.depends_on) == ("auth", ["db"])
    assert missing == ProfileAnswer(site="nope", profile=None)


@pytest.mark.parametrize(
    ("site", "raw"),
    [
        ("auth-service", "auth-service"),
        ("a/b", "a%2Fb"),
        ("my site", "my%20site"),
        ("café/ü", "caf%C3%A9%2F%C3%BC"),
        ("?x#y&z=1", "%3Fx%23y%26z%3D1"),
        ("100%", "100%25"),
        (".", "%2E"),
        ("..", "%2E%2E"),
    ],
)
def test_site_is_one_encoded_path_segment(site: str, raw: str) -> None:
    client, seen, _ = make(ok({"site": site, "profile": None}), ok())
    with client:
        client.get_profile(site)
        client.set_profile(site, PROFILE)
    for request in seen.requests:
        assert request.url.raw_path.decode() == f"/api/rtt/profile/{raw}"
        assert request.url.query == b""


@pytest.mark.parametrize("site", ["", None, 3])
def test_site_must_be_text(site: Any) -> None:
    client, seen, _ = make(ok())
    with client, pytest.raises(InputError, match="site"):
        client.get_profile(site)
    assert seen.requests == []


# --- API errors: never retried but for 429 and 5xx --------------------------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, "invalid_request"), (400, "invalid_profile"), (404, "not_found"), (409, "conflict")],
)
def test_error_bodies_raise_api_error_once(status: int, error: str) -> None:
    client, seen, sleeps = make(ok({"error": error}, status=status))
    with client, pytest.raises(ApiError) as info:
        client.beacon(BEACON)
    exc = info.value
    assert (exc.status_code, exc.error, exc.attempts) == (status, error, 1)
    assert exc.request is seen.requests[0]
    assert exc.response is not None
    assert exc.response.json() == {"error": error}
    assert str(exc) == f"POST {BASE}/beacon: HTTP {status} {error}"
    assert isinstance(exc, ClientError)
    assert isinstance(exc, RttTopologyError)
    assert len(seen.requests) == 1
    assert sleeps == []


@pytest.mark.parametrize("status", [401, 403, 404, 405, 413, 422, 501, 505])
def test_other_client_errors_are_not_retried(status: int) -> None:
    client, seen, _ = make(httpx.Response(status, text="<html><h1>Nope</h1></html>"))
    with client, pytest.raises(ApiError) as info:
        client.corridor({"flows": []})
    assert (info.value.status_code, info.value.error) == (status, None)
    assert "<h1>Nope</h1>" in str(info.value)
    assert len(seen.requests) == 1


def test_error_body_with_success_status_is_an_api_error() -> None:
    client, _, _ = make(ok({"error": "invalid_request"}))
    with client, pytest.raises(ApiError, match="HTTP 200 invalid_request"):
        client.beacon(BEACON)


# --- retries ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_retryable_status_is_retried_then_raised(status: int) -> None:
    client, seen, sleeps = make(ok({"error": "unavailable"}, status=status), backoff_s=0.5)
    with client, pytest.raises(ApiError) as info:
        client.beacon(BEACON)
    assert (info.value.status_code, info.value.attempts) == (status, 4)
    assert str(info.value).endswith("(after 4 attempts)")
    assert len(seen.requests) == 4
    assert len(sleeps) == 3
    for k, delay in enumerate(sleeps):
        assert 0.5 * 2**k <= delay <= 0.5 * 2**k * 1.1


@pytest.mark.parametrize("retries", [0, 1, 5])
def test_retries_bound_the_attempts(retries: int) -> None:
    client, seen, sleeps = make(httpx.Response(503), retries=retries)
    with client, pytest.raises(ApiError):
        client.validate({})
    assert (len(seen.requests), len(sleeps)) == (retries + 1, retries)


def test_failures_then_success() -> None:
    client, seen, sleeps = make(httpx.Response(503), httpx.Response(502), ok())
    with client:
        assert client.beacon(BEACON) == Ack()
    assert len(seen.requests) == 3
    assert len(sleeps) == 2
    assert all(r.content == seen.requests[0].content for r in seen.requests)


@pytest.mark.parametrize(
    ("header", "expected"),
    [("2", 2.0), ("0", 0.0), ("1.5", 1.5), ("3600", MAX_DELAY_S), ("soon", None)],
)
def test_429_honours_retry_after(header: str, expected: float | None) -> None:
    client, _, sleeps = make(
        ok({"error": "rate_limited"}, status=429, headers={"retry-after": header}), ok()
    )
    with client:
        client.beacon(BEACON)
    if expected is None:  # unreadable: the ordinary backoff
        assert 0.5 <= sleeps[0] <= 0.55
    else:
        assert sleeps == [expected]


def test_retry_after_as_http_date() -> None:
    when = datetime.now(UTC) + timedelta(seconds=20)
    header = format_datetime(when, usegmt=True)
    client, _, sleeps = make(httpx.Response(503, headers={"retry-after": header}), ok())
    with client:
        client.beacon(BEACON)
    assert 15 <= sleeps[0] <= 20


@pytest.mark.parametrize(
    ("exc", "error"),
    [
        (httpx.ConnectError("[Errno 111] Connection refused"), ConnectionFailedError),
        (httpx.ReadError("connection reset"), ConnectionFailedError),
        (httpx.RemoteProtocolError("Server disconnected"), ConnectionFailedError),
        (httpx.ConnectTimeout("timed out"), RequestTimeoutError),
        (httpx.ReadTimeout("timed out"), RequestTimeoutError),
        (httpx.WriteTimeout("timed out"), RequestTimeoutError),
        (httpx.PoolTimeout("timed out"), RequestTimeoutError),
    ],
)
def test_transport_failures_are_retried(exc: Exception, error: type[Exception]) -> None:
    client, seen, sleeps = make(exc, retries=2, timeout_s=1.5)
    with client, pytest.raises(error) as info:
        client.beacon(BEACON)
    assert info.value.attempts == 3  # type: ignore[attr-defined]
    assert info.value.request is seen.requests[0]  # type: ignore[attr-defined]
    assert info.value.response is None  # type: ignore[attr-defined]
    assert isinstance(info.value, ConnectionError)
    assert len(seen.requests) == 3
    assert len(sleeps) == 2
    if error is RequestTimeoutError:
        assert isinstance(info.value, TimeoutError)
        assert "no answer within 1.5 s (3 attempts)" in str(info.value)


def test_transport_failure_then_success() -> None:
    client, seen, _ = make(httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), ok())
    with client:
        assert client.beacon(BEACON) == Ack()
    assert len(seen.requests) == 3


def test_unretryable_transport_error() -> None:
    client, seen, sleeps = make(httpx.UnsupportedProtocol("no"))
    with client, pytest.raises(ConnectionFailedError):
        client.beacon(BEACON)
    assert (len(seen.requests), sleeps) == (1, [])


def test_backoff_doubles_with_small_jitter_and_a_cap() -> None:
    for attempt in range(1, 12):
        delay = backoff_delay(attempt, 0.5, None)
        base = 0.5 * 2 ** (attempt - 1)
        assert min(base, MAX_DELAY_S) <= delay <= min(base * 1.1, MAX_DELAY_S)


@pytest.mark.parametrize(
    ("status", "retry"),
    [(200, False), (400, False), (404, False), (429, True), (500, True), (501, False),
     (502, True), (503, True), (504, True), (505, False), (599, True)],
)  # fmt: skip
def test_retryable_statuses(status: int, retry: bool) -> None:
    assert retryable_status(status) is retry


@pytest.mark.parametrize("value", [None, "", "nan", "inf", "-inf", "Mon, 99 Foo 2026"])
def test_unreadable_retry_after(value: str | None) -> None:
    assert retry_after_s(value) is None


def test_negative_retry_after_is_zero() -> None:
    assert retry_after_s("-3") == 0.0


# --- bad answers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "match"),
    [
        (httpx.Response(200, text="not json"), "answer is not JSON: 'not json'"),
        (httpx.Response(200, text="<!doctype html><html>portal</html>"), "not JSON"),
        (httpx.Response(200), "empty body"),
        (httpx.Response(200, text="  \n"), "empty body"),
        (httpx.Response(200, json=["ok"]), "a JSON list, not an object"),
        (httpx.Response(200, text='{"status": NaN}'), "not JSON"),
        (httpx.Response(200, json={"status": "accepted"}), 'expected {"status": "ok"}'),
        (httpx.Response(200, json={}), 'expected {"status": "ok"}'),
        (httpx.Response(302, headers={"location": "https://elsewhere/"}), "to https://elsewhere"),
        (httpx.Response(204), "empty body"),
        (httpx.Response(200, content=b"\xff\xfe{"), "not JSON"),
    ],
)
def test_malformed_answers(response: httpx.Response, match: str) -> None:
    client, seen, _ = make(response)
    with client, pytest.raises(BadResponseError, match=match) as info:
        client.beacon(BEACON)
    assert info.value.request is seen.requests[0]
    assert info.value.response is not None
    assert info.value.response.status_code == response.status_code
    assert isinstance(info.value, ValueError)
    assert len(seen.requests) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"site": "a"},
        {"profile": None},
        {"site": "a", "profile": {"rtt_version": "1.0"}},
        {"site": "a", "profile": "drift"},
    ],
)
def test_malformed_profile_answers(body: dict[str, Any]) -> None:
    client, _, _ = make(ok(body))
    with client, pytest.raises(BadResponseError, match="not a profile answer"):
        client.get_profile("a")


@pytest.mark.parametrize("body", [{"status": 3}, {"status": "not_available", "message": 3}])
def test_malformed_diagnostics_answers(body: dict[str, Any]) -> None:
    client, _, _ = make(ok(body))
    with client, pytest.raises(BadResponseError):
        client.validate({})


def test_html_error_page_is_retried_and_truncated() -> None:
    page = "<html><body>" + "Bad gateway " * 500 + "</body></html>"
    client, seen, _ = make(httpx.Response(502, text=page))
    with client, pytest.raises(ApiError) as info:
        client.beacon(BEACON)
    message = str(info.value)
    assert (info.value.status_code, info.value.error) == (502, None)
    assert len(seen.requests) == 4
    assert "Bad Gateway: '<html><body>Bad gateway" in message
    assert f"... ({len(page)} bytes)" in message
    assert len(message) < 400
    assert info.value.response is not None
    assert info.value.response.text == page


def test_decoding_error_is_a_bad_response() -> None:
    client, seen, _ = make(
        lambda request: httpx.Response(
            200, headers={"content-encoding": "gzip"}, content=b"not gzip"
        )
    )
    with client, pytest.raises(BadResponseError):
        client.beacon(BEACON)
    assert len(seen.requests) == 1


# --- bodies, settings, base URL --------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        ([BEACON], "must be a JSON object"),
        ("{}", "must be a JSON object"),
        (None, "must be a JSON object"),
        ({**BEACON, "score": math.nan}, "not JSON-ready"),
        ({**BEACON, "when": object()}, "not JSON-ready"),
    ],
)
def test_bad_bodies_are_refused_before_sending(payload: Any, match: str) -> None:
    client, seen, _ = make(ok())
    with client, pytest.raises(InputError, match=match):
        client.beacon(payload)
    assert seen.requests == []


@pytest.mark.parametrize(
    "options",
    [{"timeout_s": 0}, {"timeout_s": -1}, {"timeout_s": math.inf}, {"retries": -1},
     {"retries": 1.5}, {"retries": True}, {"backoff_s": -0.1}, {"backoff_s": math.nan}],
)  # fmt: skip
def test_settings_are_checked(options: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        RTTClient(BASE, **options)


def test_base_url_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    with RTTClient() as default:
        assert default.base_url == DEFAULT_BASE_URL
    monkeypatch.setenv(BASE_URL_ENV, "http://127.0.0.1:3000/api/rtt/")
    with RTTClient() as from_env:
        assert from_env.base_url == "http://127.0.0.1:3000/api/rtt"
    with RTTClient("https://rtt.example.org/x") as from_argument:
        assert from_argument.base_url == "https://rtt.example.org/x"
    monkeypatch.setenv(BASE_URL_ENV, "")
    with RTTClient() as empty_env:
        assert empty_env.base_url == DEFAULT_BASE_URL


def test_env_base_url_is_used_for_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BASE_URL_ENV, "http://env.test/rtt")
    recorder = Recorder(ok())
    with RTTClient(transport=httpx.MockTransport(recorder)) as client:
        client.beacon(BEACON)
    assert str(recorder.requests[0].url) == "http://env.test/rtt/beacon"


@pytest.mark.parametrize(
    "url", ["ftp://rtt.test", "rtt.test/api", "http://", "http://h/x?q=1", "http://h/#f"]
)
def test_bad_base_urls(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError, match="base URL"):
        RTTClient(url)
    monkeypatch.setenv(BASE_URL_ENV, url)
    with pytest.raises(InputError, match=BASE_URL_ENV):
        RTTClient()


def test_extra_headers() -> None:
    client, seen, _ = make(ok(), headers={"x-team": "infra", "user-agent": "svc/1"})
    with client:
        client.beacon(BEACON)
    assert seen.requests[0].headers["x-team"] == "infra"
    assert seen.requests[0].headers["user-agent"] == "svc/1"


def test_prepare_for_dry_runs() -> None:
    prepared = prepare_request("set_profile", PROFILE, site="a/b", base_url=BASE)
    assert (prepared.method, prepared.url) == ("POST", f"{BASE}/profile/a%2Fb")
    assert prepared.describe().splitlines()[0] == f"POST {BASE}/profile/a%2Fb"
    assert json.loads(prepared.describe().split("\n", 1)[1]) == PROFILE
    get = prepare_request("get_profile", site="a", base_url=BASE)
    assert get.describe() == f"GET {BASE}/profile/a"
    with pytest.raises(InputError, match="unknown endpoint"):
        prepare_request("events", {}, base_url=BASE)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="needs a site"):
        prepare_request("get_profile", base_url=BASE)


def test_quote_site_roundtrips() -> None:
    from urllib.parse import unquote

    for site in ["a/b", "x y", "é", "...", "a.b", "%2F"]:
        assert unquote(quote_site(site)) == site


def test_repr() -> None:
    with RTTClient(BASE, retries=1) as client:
        assert repr(client) == f"RTTClient('{BASE}', timeout_s=10, retries=1, backoff_s=0.5)"


def test_exported_names() -> None:
    for name in client_module.__all__:
        assert hasattr(client_module, name), name


# --- async client ----------------------------------------------------------------------


def test_async_client_answers_and_retries() -> None:
    recorder = Recorder(
        httpx.Response(503),
        httpx.ConnectError("refused"),
        ok(),
        ok({"site": "a/b", "profile": PROFILE}),
        ok({"status": "not_available", "message": "off"}),
        ok({"error": "not_found"}, status=404),
    )
    sleeps: list[float] = []

    async def sleep(delay: float) -> None:
        sleeps.append(delay)

    async def main() -> list[Any]:
        async with AsyncRTTClient(
            BASE, transport=httpx.MockTransport(recorder), sleep=sleep
        ) as client:
            results: list[Any] = [
                await client.beacon(BEACON),
                await client.get_profile("a/b"),
                await client.validate({}),
            ]
            with pytest.raises(ApiError) as info:
                await client.set_profile("a", PROFILE)
            results.append(info.value.error)
        assert client.is_closed
        return results

    ack, profile, diagnostics, error = asyncio.run(main())
    assert ack == Ack()
    assert profile.profile == Profile.model_validate(PROFILE)
    assert diagnostics == NotAvailable(message="off")
    assert error == "not_found"
    assert len(sleeps) == 2
    assert recorder.requests[3].url.raw_path == b"/api/rtt/profile/a%2Fb"


def test_async_client_gives_up() -> None:
    recorder = Recorder(httpx.ReadTimeout("slow"))

    async def nosleep(delay: float) -> None:
        pass

    async def main() -> None:
        async with AsyncRTTClient(
            BASE, transport=httpx.MockTransport(recorder), retries=2, sleep=nosleep
        ) as client:
            await client.corridor({"flows": []})

    with pytest.raises(RequestTimeoutError):
        asyncio.run(main())
    assert len(recorder.requests) == 3


# --- integration: a real server on loopback --------------------------------------------


@pytest.fixture
def live(rtt_server: RttServer) -> Iterator[RTTClient]:
    with RTTClient(rtt_server.base_url, timeout_s=2.0, retries=3, backoff_s=0.0) as c:
        yield c


def test_live_beacon(rtt_server: RttServer, live: RTTClient) -> None:
    assert live.beacon(BEACON) == Ack()
    assert live.beacon(Beacon.model_validate(BEACON)) == Ack()
    assert rtt_server.beacons == [BEACON, BEACON]
    with pytest.raises(ApiError) as info:
        live.beacon({k: v for k, v in BEACON.items() if k != "ts"})
    assert (info.value.status_code, info.value.error) == (400, "invalid_request")


@pytest.mark.parametrize("site", ["auth-service", "a/b", "my site", "café/ü", "..", "a?b#c"])
def test_live_profiles(rtt_server: RttServer, live: RTTClient, site: str) -> None:
    assert live.get_profile(site) == ProfileAnswer(site=site, profile=None)
    assert live.set_profile(site, PROFILE) == Ack()
    assert rtt_server.profiles == {site: PROFILE}
    answer = live.get_profile(site)
    assert answer.site == site
    assert answer.profile == Profile.model_validate(PROFILE)
    with pytest.raises(ApiError) as info:
        live.set_profile(site, {"version": "1.0"})
    assert (info.value.status_code, info.value.error) == (400, "invalid_profile")


def test_live_path_is_encoded_on_the_wire(rtt_server: RttServer, live: RTTClient) -> None:
    live.get_profile("a/b c")
    assert rtt_server.requests[-1].path == "/api/rtt/profile/a%2Fb%20c"


@pytest.mark.parametrize("method", ["validate", "corridor", "topology"])
def test_live_diagnostics(live: RTTClient, method: str) -> None:
    answer = getattr(live, method)({"graph": {}, "flows": []})
    assert answer == NotAvailable(message=NOT_AVAILABLE)


def test_live_unknown_route(rtt_server: RttServer) -> None:
    with (
        RTTClient(rtt_server.base_url + "/v2", retries=0) as client,
        pytest.raises(ApiError) as info,
    ):
        client.beacon(BEACON)
    assert (info.value.status_code, info.value.error) == (404, "not_found")


def test_live_503_then_success(rtt_server: RttServer, live: RTTClient) -> None:
    rtt_server.fail_next(2, 503)
    assert live.beacon(BEACON) == Ack()
    assert len(rtt_server.requests) == 3
    assert rtt_server.beacons == [BEACON]


def test_live_429_with_retry_after(rtt_server: RttServer, live: RTTClient) -> None:
    rtt_server.fail_next(1, 429, retry_after="0")
    assert live.validate({}) == NotAvailable(message=NOT_AVAILABLE)
    assert len(rtt_server.requests) == 2


def test_live_persistent_503(rtt_server: RttServer, live: RTTClient) -> None:
    rtt_server.fail_next(10, 503)
    with pytest.raises(ApiError) as info:
        live.beacon(BEACON)
    assert (info.value.status_code, info.value.error, info.value.attempts) == (
        503, "unavailable", 4,
    )  # fmt: skip
    assert len(rtt_server.requests) == 4


def test_live_slow_server_times_out(rtt_server: RttServer) -> None:
    rtt_server.delay_next(2, 5.0)
    with (
        RTTClient(rtt_server.base_url, timeout_s=0.2, retries=1, backoff_s=0.0) as client,
        pytest.raises(RequestTimeoutError) as info,
    ):
        client.beacon(BEACON)
    assert info.value.attempts == 2
    assert rtt_server.beacons == []


def test_live_slow_answer_within_timeout(rtt_server: RttServer, live: RTTClient) -> None:
    rtt_server.delay_next(1, 0.05)
    assert live.beacon(BEACON) == Ack()


def test_live_dropped_connection(rtt_server: RttServer, live: RTTClient) -> None:
    rtt_server.drop_next(1)
    assert live.beacon(BEACON) == Ack()
    assert len(rtt_server.requests) == 2
    rtt_server.drop_next(10)
    with pytest.raises(ConnectionFailedError) as info:
        live.beacon(BEACON)
    assert info.value.attempts == 4


def test_live_non_json(rtt_server: RttServer, live: RTTClient) -> None:
    rtt_server.answer_next(1, 200, b"<html>maintenance</html>")
    with pytest.raises(BadResponseError, match="maintenance") as info:
        live.beacon(BEACON)
    assert info.value.response is not None
    assert info.value.response.headers["content-type"] == "text/html"
    rtt_server.answer_next(1, 502, b"<html>bad gateway</html>")
    assert live.beacon(BEACON) == Ack()


def test_connection_refused() -> None:
    url = f"http://127.0.0.1:{closed_port()}/api/rtt"
    with (
        RTTClient(url, timeout_s=1.0, retries=2, backoff_s=0.0) as client,
        pytest.raises(ConnectionFailedError) as info,
    ):
        client.beacon(BEACON)
    assert info.value.attempts == 3
    assert not isinstance(info.value, RequestTimeoutError)
    assert str(info.value).startswith(f"POST {url}/beacon: ")


def test_live_async_client(rtt_server: RttServer) -> None:
    async def main() -> tuple[Ack, ProfileAnswer]:
        async with AsyncRTTClient(rtt_server.base_url, timeout_s=2.0, backoff_s=0.0) as client:
            rtt_server.fail_next(1, 500)
            ack = await client.set_profile("a/b", PROFILE)
            return ack, await client.get_profile("a/b")

    ack, answer = asyncio.run(main())
    assert ack == Ack()
    assert answer.profile == Profile.model_validate(PROFILE)
    assert len(rtt_server.requests) == 3
