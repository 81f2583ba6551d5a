from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from rtt_topology.schemas import COUNT_FIELDS, KNOWN_EVENTS, Beacon, Profile, Structure

UPSTREAM_BEACON = {
    "site": "auth-service",
    "session": "srv-12345",
    "event": "heartbeat",
    "ts": "2026-01-19T15:00:00Z",
    "structure": {
        "url": "internal://auth",
        "title": "Auth Service",
        "nav_count": 0,
        "main_count": 0,
        "form_count": 0,
        "button_count": 0,
        "dom_nodes": 0,
    },
}


def test_upstream_beacon_round_trips() -> None:
    beacon = Beacon.model_validate(UPSTREAM_BEACON)
    assert beacon.ts == datetime(2026, 1, 19, 15, tzinfo=UTC)
    assert beacon.model_dump(mode="json") == UPSTREAM_BEACON


def test_js_sdk_milliseconds_and_offsets() -> None:
    beacon = Beacon.model_validate({**UPSTREAM_BEACON, "ts": "2026-01-19T16:00:00.123+01:00"})
    assert beacon.ts == datetime(2026, 1, 19, 15, 0, 0, 123000, tzinfo=UTC)


def test_partial_structure_keeps_nulls() -> None:
    beacon = Beacon.model_validate(
        {**UPSTREAM_BEACON, "structure": {"url": "https://a.example", "title": "A", "dom_nodes": 9}}
    )
    assert beacon.structure is not None
    assert beacon.structure.nav_count is None
    assert beacon.structure.dom_nodes == 9


def test_any_event_and_unknown_keys() -> None:
    beacon = Beacon.model_validate(
        {**UPSTREAM_BEACON, "event": "gpu_rebalance", "zone": "b", "structure": {"theme": "x"}}
    )
    assert beacon.event not in KNOWN_EVENTS
    assert beacon.model_extra == {"zone": "b"}
    assert beacon.structure is not None
    assert beacon.structure.model_extra == {"theme": "x"}
    assert beacon.model_dump(mode="json")["zone"] == "b"


@pytest.mark.parametrize(
    ("change", "location"),
    [
        ({"ts": "2026-01-19T15:00:00"}, ("ts",)),
        ({"ts": 1768834800}, ("ts",)),
        ({"site": ""}, ("site",)),
        ({"site": 3}, ("site",)),
        ({"event": ""}, ("event",)),
        ({"structure": {"nav_count": -1}}, ("structure", "nav_count")),
        ({"structure": {"nav_count": 1.0}}, ("structure", "nav_count")),
        ({"structure": {"nav_count": "1"}}, ("structure", "nav_count")),
        ({"structure": {"nav_count": False}}, ("structure", "nav_count")),
        ({"structure": {"dom_nodes": 2**63}}, ("structure", "dom_nodes")),
        ({"structure": "x"}, ("structure",)),
    ],
)
def test_invalid_beacons(change: dict[str, object], location: tuple[str, ...]) -> None:
    with pytest.raises(ValidationError) as info:
        Beacon.model_validate({**UPSTREAM_BEACON, **change})
    assert info.value.errors()[0]["loc"] == location


def test_naive_timestamps_behind_an_option() -> None:
    record = {**UPSTREAM_BEACON, "ts": "2026-01-19T15:00:00"}
    beacon = Beacon.model_validate(record, context={"assume_utc": True})
    assert beacon.ts.tzinfo == UTC
    naive = datetime(2026, 1, 19, 15)
    with pytest.raises(ValidationError, match="naive"):
        Beacon(site="a", session="s", event="x", ts=naive)
    assert (
        Beacon.model_validate({**record, "ts": naive}, context={"assume_utc": True}).ts.hour == 15
    )


def test_structure_fields() -> None:
    assert tuple(Structure.model_fields)[2:] == COUNT_FIELDS


def test_profile_aliases_and_extensions() -> None:
    profile = Profile.model_validate(
        {
            "version": 1.0,
            "supports": ["coherence"],
            "tier": 2,
            "depends_on": ["db"],
            "heartbeat_interval_s": 30,
            "lifecycle": "production",
            "owner": "team-a",
            "tags": ["pci"],
            "runbook": "https://wiki/x",
        }
    )
    assert profile.rtt_version == "1.0"
    assert profile.layer == "2"
    assert profile.model_extra == {"runbook": "https://wiki/x"}
    out = profile.to_dict()
    assert list(out)[:2] == ["rtt_version", "supports"]
    assert "version" not in out
    assert out["runbook"] == "https://wiki/x"
    assert Profile.model_validate(out) == profile


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"supports": []}, "rtt_version"),
        ({"rtt_version": "1.0"}, "supports"),
        ({"rtt_version": "1.0", "supports": "drift"}, "supports"),
        ({"rtt_version": "1.0", "supports": [], "heartbeat_interval_s": 0}, "heartbeat_interval_s"),
        ({"rtt_version": "1.0", "supports": [], "depends_on": "db"}, "depends_on"),
    ],
)
def test_invalid_profiles(record: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        Profile.model_validate(record)
    assert info.value.errors()[0]["loc"][0] == field
