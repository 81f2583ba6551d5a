"""``rtt-topology demo --replay``: the demo's history replayed into the real server."""

from __future__ import annotations

import signal
from pathlib import Path

import pandas as pd
import pytest

from rtt_topology.cli import main
from rtt_topology.diagnostics.rules.ruleset import evaluate, load_rules
from rtt_topology.graph.build import build_graph
from rtt_topology.incidents import find_incidents
from rtt_topology.load import read_beacons, read_profiles, read_traces
from rtt_topology.remote.replay import replay_history
from tests.remote.server.serve_process import GRACEFUL_EXIT, ServeProcess

pytestmark = pytest.mark.slow

TOKEN = "replay-token-0123456789abcdef"


def incidents(beacons: Path, profiles: Path, demo: Path) -> pd.DataFrame:
    """The report's incidents of these beacons and profiles, with the demo's traces and rules."""
    load = read_beacons(beacons)
    found = read_profiles(profiles).profiles
    G = build_graph(load.beacons, found, spans=read_traces(demo / "traces").spans)
    rules = evaluate(load_rules(demo / "rules.yaml"), G, beacons=load.beacons, profiles=found)
    table = find_incidents(load.beacons, found, G, rules=rules, load_report=load.report)
    return table.reset_index(drop=True)


def test_the_replayed_demo_gives_the_same_incidents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "token").write_text(TOKEN)
    data, demo = tmp_path / "data", tmp_path / "demo"
    data.mkdir()
    with ServeProcess(data, "--token-file", str(tmp_path / "token")) as server:
        code = main([
            "demo", "--out", str(demo), "--hours", "2", "--services", "8", "--no-report",
            "--quiet", "--replay", server.base_url, "--token-file", str(tmp_path / "token"),
        ])  # fmt: skip
        out, err = capsys.readouterr()
        assert code == 0, err
        files = read_beacons(demo / "beacons")
        sent = files.report.rows
        assert f"{sent} of {sent} beacons accepted" in out
        assert f"{files.report.rejected} quarantined records" in out
        # Replaying again changes nothing: exact duplicates collapse, profiles are the same.
        again = replay_history(demo / "beacons", server.base_url, profiles=demo / "profiles",
                               token=TOKEN)  # fmt: skip
        assert (again.accepted, again.rejected) == (sent, 0)
        assert server.terminate() in GRACEFUL_EXIT[signal.SIGTERM]

    stored = read_beacons(data)
    assert stored.report.ok
    assert stored.report.rows == sent
    assert stored.beacons["received_at"].notna().all()
    on_files = incidents(demo / "beacons", demo / "profiles", demo)
    on_server = incidents(data, data / "profiles.yaml", demo)
    # Quarantined records are incidents of the files: the replay does not send them.
    quarantined = on_files["kind"] == "quarantined_records"
    assert quarantined.any()
    assert not (on_server["kind"] == "quarantined_records").any()
    pd.testing.assert_frame_equal(on_server, on_files[~quarantined].reset_index(drop=True))
    assert {"outage", "restart_storm", "rule_violation"} <= set(on_server["kind"])
