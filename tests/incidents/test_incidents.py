from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest

from rtt_topology.diagnostics.corridors import check_corridors, load_corridors, observed_paths
from rtt_topology.diagnostics.rules.ruleset import evaluate, load_rules
from rtt_topology.errors import InputError
from rtt_topology.graph.build import build_graph
from rtt_topology.incidents.find import INCIDENT_COLUMNS, INCIDENT_KINDS, find_incidents
from rtt_topology.load import read_beacons, read_profiles, read_traces
from tests import DEMO


@pytest.fixture(scope="module")
def demo():
    load = read_beacons(DEMO / "beacons")
    profiles = read_profiles(DEMO / "profiles").profiles
    spans = read_traces(DEMO / "traces" / "otlp.jsonl").spans
    G = build_graph(load.beacons, profiles, spans=spans)
    rules = evaluate(load_rules(DEMO / "rules.yaml"), G, beacons=load.beacons, profiles=profiles)
    corridors = check_corridors(load_corridors(DEMO / "corridors.yaml"), observed_paths(spans))
    table = find_incidents(
        load.beacons, profiles, G, rules=rules, corridors=corridors, load_report=load.report
    )
    truth = json.loads((DEMO / "ground_truth.json").read_text())
    return table, truth, load


def found(table: pd.DataFrame, kind: str, *sites: str) -> pd.DataFrame:
    rows = table[table["kind"] == kind]
    return rows[rows["sites"].map(lambda names: all(s in names for s in sites))]


def test_columns_and_order(demo) -> None:
    table, _, _ = demo
    assert tuple(table.columns) == INCIDENT_COLUMNS
    assert set(table["kind"]) <= set(INCIDENT_KINDS)
    assert set(table["severity"]) <= {"critical", "warning", "info"}
    starts = table["start"].dropna()
    assert starts.is_monotonic_increasing
    # Unknown starts come last.
    assert table["start"].isna().to_numpy().tolist() == sorted(table["start"].isna().tolist())
    assert str(table["start"].dtype) == "datetime64[ns, UTC]"


def test_every_injected_incident_is_found(demo, incident_kind: dict[str, str]) -> None:
    table, truth, _ = demo
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


def test_outage_names_its_impact(demo) -> None:
    table, truth, _ = demo
    crash = next(i for i in truth["incidents"] if i["type"] == "crash")
    [row] = found(table, "outage", *crash["services"]).to_dict("records")
    assert row["severity"] == "critical"
    assert set(crash["details"]["affected_callers"]) <= set(row["impacted"])
    assert "without a shutdown beacon" in row["summary"]
    assert row["duration_s"] == pytest.approx(
        (pd.Timestamp(crash["end"]) - pd.Timestamp(crash["start"])).total_seconds(), abs=120
    )


def test_storm_absorbs_its_silences_and_cadence_absorbs_its_gaps(demo) -> None:
    table, truth, _ = demo
    storm = next(i for i in truth["incidents"] if i["type"] == "restart_storm")
    site = storm["services"][0]
    assert found(table, "outage", site).empty
    assert found(table, "intermittent", site).empty
    assert (
        f"restarted {storm['details']['restarts']} times"
        in found(table, "restart_storm", site)["summary"].iloc[0]
    )
    slow = next(i for i in truth["incidents"] if i["type"] == "cadence_slowdown")
    assert found(table, "intermittent", slow["services"][0]).empty
    # Deploys (short planned stops) are not incidents.
    planned = table[table["kind"] == "planned_stop"]
    assert planned["sites"].map(tuple).tolist() == [("report-worker",)]


def test_quarantine_accounts_for_every_reject(demo) -> None:
    table, _, load = demo
    rows = table[table["kind"] == "quarantined_records"]
    counted = rows["summary"].str.extract(r"^(\d+) record")[0].astype(int).sum()
    assert counted == load.report.rejected


def _beacons(tmp_path: Path, lines: list[str]) -> pd.DataFrame:
    path = tmp_path / "b.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return read_beacons(path).beacons


def _beat(site: str, session: str, event: str, minute: float) -> str:
    seconds = int(minute * 60)
    ts = pd.Timestamp("2026-01-19T10:00:00Z") + pd.Timedelta(seconds=seconds)
    return json.dumps({"site": site, "session": session, "event": event,
                       "ts": ts.isoformat().replace("+00:00", "Z")})  # fmt: skip


def test_intermittent_service(tmp_path: Path) -> None:
    # Heartbeats every 30 s with four 3-minute holes, same session: no restart, no cadence change.
    minutes = [m / 2 for m in range(120)]
    holes = [(10, 13), (20, 23), (30, 33), (40, 43)]
    kept = [m for m in minutes if not any(a < m < b for a, b in holes)]
    beacons = _beacons(tmp_path, [_beat("api", "s1", "heartbeat", m) for m in kept])
    table = find_incidents(beacons, min_outage_s=600)
    assert table["kind"].tolist() == ["intermittent"]
    assert "went silent 4 times" in table["summary"].iloc[0]


def test_thresholds(tmp_path: Path) -> None:
    minutes = [m / 2 for m in range(60)] + [m / 2 for m in range(80, 120)]
    beacons = _beacons(tmp_path, [_beat("api", "s1", "heartbeat", m) for m in minutes])
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
