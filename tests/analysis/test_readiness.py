from __future__ import annotations

from typing import Any

import pandas as pd

from rtt_topology.analysis.readiness import CHECKS, readiness, readiness_summary
from rtt_topology.graph.build import build_graph
from rtt_topology.schemas import Profile


def test_every_service_gets_every_check(
    demo_beacons: pd.DataFrame, demo_profiles: dict[str, Profile], demo_truth: dict[str, Any]
) -> None:
    beacons, profiles, truth = demo_beacons, demo_profiles, demo_truth
    table = readiness(beacons, profiles)
    assert set(table["status"]) <= {"pass", "fail", "unknown"}
    sites = set(table["site"])
    assert sites == {s["name"] for s in truth["services"]}  # clusters are not services
    assert (table.groupby("site").size() == len(CHECKS)).all()
    assert table["reason"].str.len().gt(0).all()


def test_verdicts_follow_the_data(
    demo_beacons: pd.DataFrame,
    demo_profiles: dict[str, Profile],
    demo_truth: dict[str, Any],
    demo_incidents: dict[str, dict[str, Any]],
) -> None:
    beacons, profiles, truth = demo_beacons, demo_profiles, demo_truth
    G = build_graph(beacons, profiles)
    table = readiness(beacons, profiles, G).set_index(["site", "check"])
    status = table["status"]
    # The declared service that never beacons fails what needs beacons, passes its profile.
    silent = truth["declared_silent"]
    assert status[silent, "periodic_beacons"] == "fail"
    assert status[silent, "recent_beacons"] == "fail"
    assert status[silent, "profile"] == "pass"
    for name in truth["undeclared_services"]:
        assert status[name, "profile"] == "fail"
        assert table.loc[(name, "profile"), "reason"] == "no profile registered"
    # Services logging their beacons pass the logs check; the others cannot be told.
    for name in truth["log_only"].values():
        assert status[name, "logs"] == "pass"
    assert status["cart-api", "logs"] == "unknown"
    # The restart storm shows startup beacons; every demo service beacons every 30-60 s.
    storm = demo_incidents["restart_storm"]
    assert status[storm["services"][0], "startup_beacon"] == "pass"
    beaconing = [s["name"] for s in truth["services"] if s["beacons"]]
    assert (status.loc[beaconing, "periodic_beacons"] == "pass").all()
    assert status["cart-api", "payloads"] == "pass"


def test_recent_beacons_at_a_time(
    demo_beacons: pd.DataFrame,
    demo_profiles: dict[str, Profile],
    demo_incidents: dict[str, dict[str, Any]],
) -> None:
    beacons, profiles = demo_beacons, demo_profiles
    crash = demo_incidents["crash"]
    start, end = pd.Timestamp(crash["start"]), pd.Timestamp(crash["end"])
    during = start + (end - start) / 2
    table = readiness(beacons, profiles, at=during.isoformat()).set_index(["site", "check"])
    assert table.loc[(crash["services"][0], "recent_beacons"), "status"] == "fail"


def test_summary() -> None:
    table = pd.DataFrame(
        [("a", "profile", "pass", ""), ("a", "logs", "unknown", ""), ("b", "profile", "fail", "x")],
        columns=["site", "check", "status", "reason"],
    )
    summary = readiness_summary(table)
    assert summary.loc["a", "ready"]
    assert not summary.loc["b", "ready"]
    assert summary.loc["b", "failed"] == "profile"
    assert list(summary.columns) == [*CHECKS, "failed", "ready"]
