"""Replaying a history into a server: rows back to beacons, batches, retries, rejects."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtt_topology.errors import ApiError, BadResponseError, ConnectionFailedError, InputError
from rtt_topology.load import beacons_from_records
from rtt_topology.remote import replay as replay_module
from rtt_topology.remote.replay import ReplayReject, beacon_records, replay_beacons, replay_history
from rtt_topology.sdk import create_profile
from tests.rtt_loopback import closed_port

BASE = "http://rtt.test/api/rtt"
# Every column but where the row was read.
COMPARED = ["site", "session", "event", "ts", "url", "title", "nav_count", "main_count",
            "form_count", "button_count", "dom_nodes", "extra"]  # fmt: skip


def beacon(n: int, **more: Any) -> dict[str, Any]:
    return {"site": "auth", "session": "s1", "event": "heartbeat",
            "ts": f"2026-01-19T15:00:{n:02d}Z", **more}  # fmt: skip


def table(records: list[dict[str, Any]]) -> pd.DataFrame:
    load = beacons_from_records(records, strict=True)
    return load.beacons


def same_rows(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        a[COMPARED].reset_index(drop=True), b[COMPARED].reset_index(drop=True)
    )


class Recorder:
    """A mock RTT server: records each request, answers from ``answer`` (default: accept all)."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.answer = answer or self.accept_all

    @staticmethod
    def accept_all(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/beacons"):
            sent = json.loads(request.content)
            return httpx.Response(200, json={"status": "ok", "accepted": len(sent), "rejected": 0})
        return httpx.Response(200, json={"status": "ok"})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) for r in self.requests if r.url.path.endswith("/beacons")]


@pytest.mark.parametrize(
    "record",
    [
        beacon(0),
        beacon(
            1,
            structure={
                "url": "internal://auth",
                "title": "Auth",
                "nav_count": 0,
                "main_count": 1,
                "form_count": 2,
                "button_count": 3,
                "dom_nodes": 40,
            },
        ),
        beacon(2, structure={"url": "https://shop.example.com/", "dom_nodes": 0}),
        beacon(3, structure={"title": "x", "theme": {"dark": True}}, zone="eu-1", hops=[1, 2]),
        beacon(4, ts="2026-01-19T17:00:04.123+02:00"),
        beacon(5, ts="2026-01-19T15:00:05.123456Z"),
        beacon(6, ts="2026-01-19T15:00:06.123456789Z"),
        beacon(7, site="caf\u00e9", session="s\u00e9", structure={"title": "\u2603"}),
    ],
    ids=["bare", "full", "partial", "extra", "offset", "micro", "nano", "unicode"],
)
def test_beacon_records_invert_the_loader(record: dict[str, Any]) -> None:
    first = table([record])
    (again,) = beacon_records(first)
    same_rows(table([again]), first)
    assert again["ts"].endswith("Z")


_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12)
_count = st.integers(min_value=0, max_value=2**40)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=6,
)
_beacons = st.fixed_dictionaries(
    {
        "site": _text,
        "session": _text,
        "event": _text,
        "ts": st.datetimes(
            min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
            timezones=st.just(UTC),
        ).map(lambda t: t.isoformat().replace("+00:00", "Z")),
    },
    optional={
        "structure": st.fixed_dictionaries(
            {},
            optional={"url": _text, "title": _text, "nav_count": _count, "dom_nodes": _count,
                      "theme": _json},
        ),
        "zone": _json,
    },
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.lists(_beacons, min_size=1, max_size=5))
def test_any_beacon_table_survives_the_round_trip(records: list[dict[str, Any]]) -> None:
    first = table(records)
    same_rows(table(list(beacon_records(first))), first)


def test_the_demo_history_survives_the_round_trip(demo_beacons: pd.DataFrame) -> None:
    records = list(beacon_records(demo_beacons))
    assert len(records) == len(demo_beacons)
    same_rows(table(records), demo_beacons)


def test_beacons_go_in_time_order_in_batches_after_the_profiles() -> None:
    server = Recorder()
    records = [beacon(n, site=f"svc-{n % 3}") for n in range(7)]
    profiles = {"a/b": create_profile(), "svc-0": create_profile(supports=["drift"])}
    result = replay_beacons(
        table(records), BASE, profiles=profiles, batch_size=3, token="t0ken",
        transport=server.transport,
    )  # fmt: skip
    paths = [r.url.raw_path.decode() for r in server.requests]
    assert paths == ["/api/rtt/profile/a%2Fb", "/api/rtt/profile/svc-0"] + 3 * ["/api/rtt/beacons"]
    assert json.loads(server.requests[0].content) == profiles["a/b"]
    assert [len(b) for b in server.bodies()] == [3, 3, 1]
    sent = [b["ts"] for body in server.bodies() for b in body]
    assert sent == sorted(sent) == [r["ts"] for r in records]
    assert all(r.headers["authorization"] == "Bearer t0ken" for r in server.requests)
    assert all(r.headers["content-type"] == "application/json" for r in server.requests)
    assert (result.sent, result.accepted, result.rejected, result.batches, result.profiles) == (
        7, 7, 0, 3, 2,
    )  # fmt: skip


def test_batches_stay_under_the_byte_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    server = Recorder()
    records = [beacon(n) for n in range(10)]
    one = len(json.dumps(next(beacon_records(table(records[:1]))), separators=(",", ":")))
    # Room for three records in a body: brackets, commas and all.
    monkeypatch.setattr(replay_module, "MAX_BATCH_BYTES", 2 + 3 * (one + 1))
    replay_beacons(table(records), BASE, transport=server.transport)
    assert [len(b) for b in server.bodies()] == [3, 3, 3, 1]


def test_busy_answers_are_retried_after_their_retry_after() -> None:
    answers = iter([
        httpx.Response(429, headers={"retry-after": "2"}, json={"error": "too_many_requests"}),
        httpx.Response(503, headers={"retry-after": "1"}, json={"error": "unavailable"}),
    ])  # fmt: skip

    def answer(request: httpx.Request) -> httpx.Response:
        return next(answers, None) or Recorder.accept_all(request)

    server, waits = Recorder(answer), []
    result = replay_beacons(table([beacon(0)]), BASE, transport=server.transport,
                            sleep=waits.append)  # fmt: skip
    assert waits == [2.0, 1.0]
    assert (len(server.requests), result.accepted) == (3, 1)


def test_errors_after_the_retries_raise_naming_the_batch() -> None:
    down = Recorder(lambda r: httpx.Response(503, json={"error": "unavailable", "reason": "disk"}))
    with pytest.raises(
        ApiError, match=r"\(beacons 1-1 from <records>:1\): HTTP 503 unavailable: disk"
    ):
        replay_beacons(table([beacon(0)]), BASE, retries=2, transport=down.transport,
                       sleep=lambda s: None)  # fmt: skip
    assert len(down.requests) == 3
    refused = Recorder(lambda r: httpx.Response(401, json={"error": "unauthorized"}))
    with pytest.raises(ApiError) as info:
        replay_beacons(table([beacon(0)]), BASE, transport=refused.transport)
    assert (info.value.status_code, len(refused.requests)) == (401, 1)


def test_no_server_is_a_connection_error() -> None:
    with pytest.raises(ConnectionFailedError, match="beacons 1-1"):
        replay_beacons(table([beacon(0)]), f"http://127.0.0.1:{closed_port()}/api/rtt",
                       retries=1, sleep=lambda s: None)  # fmt: skip


def test_server_rejects_are_named_by_where_the_beacon_was_read(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    lines = [beacon(2), beacon(0), "not json", beacon(1)]
    path.write_text("".join((json.dumps(x) if isinstance(x, dict) else x) + "\n" for x in lines))

    def answer(request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.content)
        reject = {"index": 1, "field": "ts", "reason": "in the future"}
        return httpx.Response(200, json={"status": "ok", "accepted": len(sent) - 1,
                                         "rejected": 1, "rejects": [reject]})  # fmt: skip

    result = replay_history(path, BASE, transport=Recorder(answer).transport)
    # Sent in time order: line 2 (ts :00), line 4 (ts :01), line 1 (ts :02).
    assert result.rejects == [ReplayReject(str(path), 4, "ts", "in the future")]
    assert str(result.rejects[0]).endswith("history.jsonl:4: ts: in the future")
    assert (result.read, result.quarantined, result.sent, result.accepted) == (4, 1, 3, 2)


def test_answers_that_do_not_add_up_are_bad_responses() -> None:
    wrong = Recorder(lambda r: httpx.Response(200, json={"status": "ok", "accepted": 5,
                                                         "rejected": 0}))  # fmt: skip
    with pytest.raises(BadResponseError, match=r"accepted 5 \+ rejected 0 != 1 sent"):
        replay_beacons(table([beacon(0)]), BASE, transport=wrong.transport)
    placeholder = Recorder(lambda r: httpx.Response(200, json={"status": "ok"}))
    with pytest.raises(BadResponseError, match="no count 'accepted'"):
        replay_beacons(table([beacon(0)]), BASE, transport=placeholder.transport)


@pytest.mark.parametrize("batch_size", [0, -1, True, 2.5])
def test_batch_size_must_be_a_positive_integer(batch_size: Any) -> None:
    with pytest.raises(InputError, match="batch_size"):
        replay_beacons(table([beacon(0)]), BASE, batch_size=batch_size)
