from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from rtt_topology.errors import InputError
from rtt_topology.schemas import Beacon, Profile
from rtt_topology.sdk import (
    build_beacon_payload,
    create_profile,
    create_session_id,
    empty_structure,
    validate_profile,
)


def test_create_profile_matches_upstream() -> None:
    assert create_profile() == {"rtt_version": "1.0", "supports": [], "contact": ""}
    profile = create_profile("1.1", ["coherence", "drift"], "infra@example.com")
    assert profile == {
        "rtt_version": "1.1",
        "supports": ["coherence", "drift"],
        "contact": "infra@example.com",
    }
    assert validate_profile(profile)
    assert Profile.model_validate(profile).contact == "infra@example.com"


@pytest.mark.parametrize(
    ("profile", "valid"),
    [
        ({"rtt_version": "1.0", "supports": []}, True),
        ({"rtt_version": "1.0", "supports": ["drift"], "contact": ""}, True),
        ({"version": "1.0", "supports": []}, False),
        ({"rtt_version": "1.0"}, False),
        ({"rtt_version": "1.0", "supports": "drift"}, False),
        (["rtt_version"], False),
        (None, False),
    ],
)
def test_validate_profile(profile: object, valid: bool) -> None:
    assert validate_profile(profile) is valid


def test_session_id_format() -> None:
    ids = {create_session_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(r"rtt-[0-9a-f]+-[0-9a-f]+", i) for i in ids)


def test_build_beacon_payload_matches_upstream() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    payload = build_beacon_payload("auth-service", "srv-1", "heartbeat")
    assert list(payload) == ["site", "session", "event", "ts", "structure"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", payload["ts"])
    assert payload["structure"] == empty_structure()
    beacon = Beacon.model_validate(payload)
    assert before <= beacon.ts <= before + timedelta(seconds=5)


def test_build_beacon_payload_options() -> None:
    ts = datetime(2026, 1, 19, 16, 0, 0, 500000, tzinfo=timezone(timedelta(hours=1)))
    payload = build_beacon_payload("a", "s", "startup", ts=ts, structure={"url": "internal://a"})
    assert payload["ts"] == "2026-01-19T15:00:00Z"
    assert payload["structure"] == {"url": "internal://a"}
    with pytest.raises(InputError, match="timezone-aware"):
        build_beacon_payload("a", "s", "startup", ts=datetime(2026, 1, 19))
