from __future__ import annotations

from typing import Any

import networkx as nx
import pandas as pd
import pytest

from rtt_topology.diagnostics.corridors import CorridorSet, check_corridors, observed_paths
from rtt_topology.diagnostics.rules.ruleset import RuleSet, evaluate
from rtt_topology.errors import InputError
from rtt_topology.graph.build import build_graph
from rtt_topology.incidents.find import INCIDENT_COLUMNS, INCIDENT_KINDS, find_incidents
from rtt_topology.load import BeaconLoad, TraceLoad
from rtt_topology.schemas import Profile
from tests.builders import beacon_table


@pytest.fixture(scope="module")
def otlp_incidents(
    demo_load: BeaconLoad,
    demo_profiles: dict[str, Profile],
    demo_otlp_traces: TraceLoad,
    demo_rules: RuleSet,
    demo_corridors: CorridorSet,
) -> pd.DataFrame:
    """The incidents of the demo, with the spans of its OTLP file."""
    beacons, spans = demo_load.beacons, demo_otlp_traces.spans
    G = build_graph(beacons, demo_profiles, spans=spans)
    rules = evaluate(demo_rules, G, beacons=beacons, profiles=demo_profiles)
    corridors = check_corridors(demo_corridors, observed_paths(spans))
    return find_incidents(
        beacons, demo_profiles, G, rules=rules, corridors=corridors, load_report=demo_load.report
    )


def found(table: pd.DataFrame, kind: str, *sites: str) -> pd.DataFrame:
    rows = table[table["kind"] == kind]
    return rows[rows["sites"].map(lambda names: all(s in names for s in sites))]


def test_columns_and_order(otlp_incidents: pd.DataFrame) -> None:
    table = otlp_incidents
    assert tuple(table.columns) == INCIDENT_COLUMNS
    assert set(table["kind"]) <= set(INCIDENT_KINDS)
    assert set(table["severity"]) <= {"critical", "warning", "info"}
    starts = table["start"].dropna()
    assert starts.is_monotonic_increasing
    # Unknown starts come last.
    assert table["start"].isna().to_numpy().tolist() == sorted(table["start"].isna().tolist())
    assert str(table["start"].dtype) == "datetime64[ns, UTC]"


def test_every_injected_incident_is_found(
    otlp_incidents: pd.DataFrame, demo_truth: dict[str, Any], incident_kind: dict[str, str]
) -> None:
    table, truth = otlp_incidents, demo_truth
    for incident in truth["incidents"]:
        if incident["type"] == "malformed_burst":
            rows = table[table["kind"] == "quarantined_records"]
            assert rows["summary"].str.contains(incident["details"]["file"], regex=False).any()
            continue
        rows = found(table, incident_kind[incident["type"]], *incident["services"])
        assert len(rows) >= 1, incident["id"]
        if incident["type"] in ("crash", "planned_stop", "restart_storm"):
            # The detected span is within a few periods of the injected one.
            start = pd.Timestamp(incident["start"])
            assert abs((rows["start"].iloc[0] - start).total_seconds()) < 300, incident["id"]


def test_outage_names_its_impact(
    otlp_incidents: pd.DataFrame,
    demo_incidents: dict[str, dict[str, Any]],
) -> None:
    table = otlp_incidents
    crash = demo_incidents["crash"]
    [row] = found(table, "outage", *crash["services"]).to_dict("records")
    assert row["severity"] == "critical"
    assert set(crash["details"]["affected_callers"]) <= set(row["impacted"])
    assert "without a shutdown beacon" in row["summary"]
    assert row["duration_s"] == pytest.approx(
        (pd.Timestamp(crash["end"]) - pd.Timestamp(crash["start"])).total_seconds(), abs=120
    )


def test_storm_absorbs_its_silences_and_cadence_absorbs_its_gaps(
    otlp_incidents: pd.DataFrame,
    demo_incidents: dict[str, dict[str, Any]],
) -> None:
    table = otlp_incidents
    storm = demo_incidents["restart_storm"]
    site = storm["services"][0]
    assert found(table, "outage", site).empty
    assert found(table, "intermittent", site).empty
    assert (
        f"restarted {storm['details']['restarts']} times"
        in found(table, "restart_storm", site)["summary"].iloc[0]
    )
    slow = demo_incidents["cadence_slowdown"]
    assert found(table, "intermittent", slow["services"][0]).empty
    # Deploys (short planned stops) are not incidents.
    planned = table[table["kind"] == "planned_stop"]
    assert planned["sites"].map(tuple).tolist() == [("report-worker",)]


def test_collector_gap_is_one_incident_and_the_lingering_service_an_outage(
    otlp_incidents: pd.DataFrame,
    demo_incidents: dict[str, dict[str, Any]],
    demo_truth: dict[str, Any],
) -> None:
    table, gap = otlp_incidents, demo_incidents["collector_gap"]
    period = {s["name"]: s["period_s"] for s in demo_truth["services"]}
    longest = max(period[s] for s in gap["services"])
    [row] = table[table["kind"] == "collector_gap"].to_dict("records")
    assert row["severity"] == "warning"
    assert row["sites"] == sorted(gap["services"])
    start, end = pd.Timestamp(gap["start"]), pd.Timestamp(gap["end"])
    # Start: the members' earliest last beacon; end: the latest first beacon back.
    assert start - pd.Timedelta(seconds=longest) <= row["start"] < start
    # Within one period and its jitter (the demo's beacons are up to 4 % and 8 s late).
    assert end <= row["end"] <= end + pd.Timedelta(seconds=1.04 * longest + 8)
    assert row["start"] == min(map(pd.Timestamp, gap["details"]["last_beacons"].values()))
    assert row["end"] == max(map(pd.Timestamp, gap["details"]["first_beacons_after"].values()))
    assert gap["details"]["file"] in row["summary"]
    assert f"{len(gap['services'])} of {len(gap['services']) + 1} services" in row["summary"]
    # No member gets an outage or an intermittent incident for the gap.
    near = table[(table["start"] < row["end"]) & (table["end"].fillna(row["end"]) > row["start"])]
    for kind in ("outage", "intermittent", "restart_storm", "cadence_change"):
        hit = near[near["kind"] == kind]["sites"].map(lambda names: set(names) & set(row["sites"]))
        assert not hit.map(bool).any(), kind
    # The service that came back late is an outage from its own last beacon.
    crash = demo_incidents["gap_crash"]
    (site,) = crash["services"]
    [outage] = found(table, "outage", site).to_dict("records")
    last = pd.Timestamp(crash["details"]["last_beacon"])
    # It starts when its first missed heartbeat was due.
    assert outage["start"] == last + pd.Timedelta(seconds=period[site])
    assert outage["start"] < row["end"]
    assert outage["end"] == pd.Timestamp(crash["end"])
    assert f"after {last:%Y-%m-%d %H:%M:%S} UTC" in outage["summary"]


def test_quarantine_accounts_for_every_reject(
    otlp_incidents: pd.DataFrame, demo_load: BeaconLoad
) -> None:
    table, load = otlp_incidents, demo_load
    rows = table[table["kind"] == "quarantined_records"]
    counted = rows["summary"].str.extract(r"^(\d+) record")[0].astype(int).sum()
    assert counted == load.report.rejected


def _beat(site: str, session: str, event: str, minute: float) -> dict[str, str]:
    seconds = int(minute * 60)
    ts = pd.Timestamp("2026-01-19T10:00:00Z") + pd.Timedelta(seconds=seconds)
    return {"site": site, "session": session, "event": event,
            "ts": ts.isoformat().replace("+00:00", "Z")}  # fmt: skip


def test_intermittent_service() -> None:
    # Heartbeats every 30 s with four 3-minute holes, same session: no restart, no cadence change.
    minutes = [m / 2 for m in range(120)]
    holes = [(10, 13), (20, 23), (30, 33), (40, 43)]
    kept = [m for m in minutes if not any(a < m < b for a, b in holes)]
    beacons = beacon_table(_beat("api", "s1", "heartbeat", m) for m in kept)
    table = find_incidents(beacons, min_outage_s=600)
    assert table["kind"].tolist() == ["intermittent"]
    assert "went silent 4 times" in table["summary"].iloc[0]


def test_thresholds() -> None:
    minutes = [m / 2 for m in range(60)] + [m / 2 for m in range(80, 120)]
    beacons = beacon_table(_beat("api", "s1", "heartbeat", m) for m in minutes)
    assert find_incidents(beacons)["kind"].tolist() == ["outage"]
    assert find_incidents(beacons, min_outage_s=3600).empty
    with pytest.raises(InputError, match="min_outage_s must be positive"):
        find_incidents(beacons, min_outage_s=0)
    with pytest.raises(InputError, match="flapping_restarts"):
        find_incidents(beacons, flapping_restarts=1)


def test_nothing_given_and_empty_inputs() -> None:
    table = find_incidents()
    assert table.empty
    assert tuple(table.columns) == INCIDENT_COLUMNS
    assert find_incidents(G=nx.DiGraph()).empty


def test_collector_gap_row_and_the_outage_of_the_service_that_stayed_down() -> None:
    # Five services beacon every 30 s; their collector loses minutes [10, 30); "db" crashed
    # in the gap and is back at minute 50 only.
    def kept(minute: float, back: float) -> bool:
        return not 10 <= minute < back

    minutes = [m / 2 for m in range(120)]
    records = [
        _beat(site, "s1", "heartbeat", m)
        for site in ("api", "web", "queue", "cache")
        for m in minutes
        if kept(m, 30)
    ]
    records += [_beat("db", "s1", "heartbeat", m) for m in minutes if m < 10]
    records += [_beat("db", "s2", "startup", 50)]
    records += [_beat("db", "s2", "heartbeat", m) for m in minutes if m > 50]
    table = find_incidents(beacon_table(records))
    assert table["kind"].tolist() == ["collector_gap", "outage"]
    gap, outage = table.to_dict("records")
    assert gap["sites"] == ["api", "cache", "queue", "web"]
    assert (gap["start"], gap["end"]) == (pd.Timestamp("2026-01-19T10:09:30Z"),
                                          pd.Timestamp("2026-01-19T10:30:00Z"))  # fmt: skip
    assert gap["summary"].startswith("4 of 5 services of collector file <records> went silent")
    assert outage["sites"] == ["db"]
    # From its own last beacon (09:30 past) plus one period, to its return.
    assert outage["start"] == pd.Timestamp("2026-01-19T10:10:00Z")
    assert outage["end"] == pd.Timestamp("2026-01-19T10:50:00Z")
