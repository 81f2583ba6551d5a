from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from rtt_topology import __version__
from tests import DATA, DEMO, ROOT
from tests.cli.runner import run


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert out.strip() == f"rtt-topology, version {__version__}"


def test_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert "demo" in out
    assert "summary" in out


def test_summary_table(demo_truth: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "summary", str(DEMO / "beacons"), "--profiles", str(DEMO / "profiles")
    )
    assert code == 0, err
    truth = demo_truth
    assert "auth-service" in out
    assert f"declared in a profile but never seen: {truth['declared_silent']}" in out
    malformed, duplicates = len(truth["malformed_lines"]), len(truth["duplicate_lines"])
    assert f"{malformed} rejected, {duplicates} duplicates collapsed" in out
    # Nothing is printed on stderr when it is not a terminal (no progress bar).
    assert err == ""


def test_summary_json_and_rejects(
    demo_truth: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rejects = tmp_path / "rejects.jsonl"
    code, out, _ = run(
        capsys,
        "summary",
        str(DEMO / "beacons"),
        "--profiles",
        str(DEMO / "profiles"),
        "--json",
        "--rejects",
        str(rejects),
    )
    assert code == 0
    data = json.loads(out)
    load = data["load"]
    assert load["accepted"] + load["rejected"] == load["read"]
    truth = demo_truth
    assert load["rejected"] == len(truth["malformed_lines"])
    assert load["duplicates"] == len(truth["duplicate_lines"])
    assert data["declared_not_seen"] == [truth["declared_silent"]]
    services = {s["site"]: s for s in data["services"]}
    assert set(truth["undeclared_services"]) <= {
        s for s, v in services.items() if not v["declared"]
    }
    lines = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert len(lines) == len(truth["malformed_lines"])
    # Every reject points at a malformed line the generator recorded, and only those.
    assert {(Path(r["source"]).name, r["line"]) for r in lines} == {
        (Path(m["file"]).name, m["line"]) for m in truth["malformed_lines"]
    }


def test_strict_fails_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run(capsys, "summary", str(DEMO / "beacons"), "--strict")
    assert code == 1
    assert err.startswith("error: ")
    assert "strict load refused" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["summary", "does/not/exist.jsonl"], 1, "error: does/not/exist.jsonl: no such file"),
        (["summary"], 2, "give beacon SOURCES or --store DIR"),
        (["summary", "x.jsonl", "--format", "xml"], 2, "Invalid value for '--format'"),
        (["nope"], 2, "No such command"),
    ],
)
def test_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], code: int, message: str
) -> None:
    got, _, err = run(capsys, *args)
    assert got == code
    assert message in err


NAIVE = "start: '2026-01-19T01:00:00' has no UTC offset; add one, such as Z or +02:00"


@pytest.mark.parametrize("command", ["report", "graph", "payload"])
@pytest.mark.parametrize(
    ("window", "message"),
    [
        (["--from", "2026-01-19T01:00:00"], NAIVE),
        (["--from", "yesterday"], "start: 'yesterday': not an ISO 8601 timestamp"),
        (
            ["--from", "2026-01-19T03:00:00Z", "--to", "2026-01-19T01:00:00Z"],
            "empty window: start 2026-01-19 03:00:00+00:00 is not before end",
        ),
    ],
)
def test_bad_windows_are_one_line_errors(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    command: str,
    window: list[str],
    message: str,
) -> None:
    head = ["payload", "topology"] if command == "payload" else [command]
    args = [
        *head,
        "--beacons",
        str(DEMO / "beacons"),
        *window,
        "-o",
        str(tmp_path / ("out.html" if command == "report" else "out.json")),
    ]
    got, _, err = run(capsys, *args)
    assert got == 1, err
    assert err.startswith("error: ")
    assert message in err
    assert "Traceback" not in err


def test_unreadable_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "east.jsonl"
    path.write_bytes(b"\x00\x01binary")
    code, _, err = run(capsys, "summary", str(path))
    assert code == 1
    assert err.strip() == f"error: {path}: binary data, not jsonl"
    # A directory whose every file is unreadable is an error too.
    code, _, err = run(capsys, "summary", str(tmp_path))
    assert code == 1
    assert err.strip() == f"error: {path}: no file could be read (binary data, not jsonl)"


def test_demo_is_the_main_job(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_dir = tmp_path / "demo-output"
    code, out, err = run(capsys, "demo", "--out", str(out_dir), "--hours", "2")
    assert code == 0, err
    assert f"demo datacenter written to {out_dir}" in out
    assert (out_dir / "ground_truth.json").is_file()
    assert "declared in a profile but never seen" in out
    truth = json.loads((out_dir / "ground_truth.json").read_text())
    assert f"{len(truth['malformed_lines'])} rejected" in out


def test_readme_main_job_command(tmp_path: Path) -> None:
    """The README's first command runs the demo; run its last step as installed."""
    readme = (ROOT / "README.md").read_text()
    command = next(line for line in readme.splitlines() if "rtt-topology demo" in line)
    assert command.startswith("python3 -m venv .venv && .venv/bin/pip install -e . && ")
    step = command.split(" && ")[-1].replace(".venv/bin/rtt-topology", "").split()
    assert step[:3] == ["demo", "--out", "demo-output"]
    result = subprocess.run(
        [sys.executable, "-m", "rtt_topology", *step, "--hours", "2", "--quiet"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "demo datacenter written to demo-output" in result.stdout
    assert (tmp_path / "demo-output" / "beacons" / "dc-east.jsonl").is_file()
    # ... and ends with the report, saying where it is.
    assert "report: demo-output/report.html" in result.stdout.replace("\\", "/")
    assert (tmp_path / "demo-output" / "report.html").read_text().startswith("<!DOCTYPE html>")


def test_console_script_is_installed() -> None:
    script = shutil.which("rtt-topology", path=str(Path(sys.executable).parent))
    assert script is not None
    result = subprocess.run([script, "--version"], capture_output=True, text=True, check=True)
    assert __version__ in result.stdout


def test_graph_command_formats(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from rtt_topology.graph.build import validate_graph
    from rtt_topology.graph.io.convert import read_node_link

    inputs = ["--beacons", str(DEMO / "beacons"), "--profiles", str(DEMO / "profiles"),
              "--traces", str(DEMO / "traces" / "otlp.jsonl")]  # fmt: skip
    for name in ("g.json", "g.graphml", "g.dot"):
        code, out, err = run(capsys, "graph", *inputs, "-o", str(tmp_path / name))
        assert code == 0, err
        assert out.startswith(f"wrote {tmp_path / name}")
    G = read_node_link(tmp_path / "g.json")
    validate_graph(G)
    assert G.graph["inputs"] == ["beacons", "traces", "profiles"]
    assert (tmp_path / "g.dot").read_text().startswith("digraph")
    code, _, err = run(capsys, "graph", *inputs, "-o", str(tmp_path / "g.txt"))
    assert code == 2
    assert "pass --format" in err
    code, _, err = run(capsys, "graph", "-o", str(tmp_path / "g.json"))
    assert code == 2
    assert "at least one of" in err


def test_reconcile_command(demo_truth: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    truth = demo_truth
    inputs = ["--beacons", str(DEMO / "beacons"), "--profiles", str(DEMO / "profiles"),
              "--traces", str(DEMO / "traces")]  # fmt: skip
    code, out, err = run(capsys, "reconcile", *inputs, "--json")
    assert code == 0, err
    data = json.loads(out)
    nodes = {n["name"]: n["status"] for n in data["nodes"]}
    edges = {(e["caller"], e["callee"]): e["status"] for e in data["edges"]}
    assert nodes[truth["declared_silent"]] == "missing"
    undeclared = truth["undeclared_edge"]
    assert edges[undeclared["caller"], undeclared["callee"]] == "undeclared"
    violation = truth["layering_violation"]
    assert edges[violation["caller"], violation["callee"]] == "undeclared"
    # Every other traced edge is declared (directly or through a queue).
    traced_undeclared = {k for k, v in edges.items() if v == "undeclared"}
    assert traced_undeclared == {
        (undeclared["caller"], undeclared["callee"]),
        (violation["caller"], violation["callee"]),
    }
    code, out, _ = run(capsys, "reconcile", *inputs, "--from", "2026-01-19T03:00:00Z")
    assert code == 0
    assert "coverage:" in out


def test_status_command(
    demo_truth: dict[str, Any],
    demo_incidents: dict[str, dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    truth = demo_truth
    crash = demo_incidents["crash"]
    args = [str(DEMO / "beacons"), "-p", str(DEMO / "profiles"),
            "-t", str(DEMO / "traces"), "--at", "2026-01-19T03:00:00Z"]  # fmt: skip
    code, out, err = run(capsys, "status", *args, "--json")
    assert code == 0, err
    data = json.loads(out)
    states = {row["site"]: row["state"] for row in data["states"]}
    assert states[crash["services"][0]] == "down"
    assert states[truth["declared_silent"]] == "missing"
    causes = {row["site"]: row["verdict"] for row in data["root_causes"]}
    assert causes == {crash["services"][0]: "root cause"}
    assert {row["site"] for row in data["readiness"]} == set(states)
    code, out, _ = run(capsys, "status", *args)
    assert code == 0
    assert "root cause" in out
    assert "states: up" in out


def test_status_inside_the_collector_gap(
    demo_incidents: dict[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    gap, crash = demo_incidents["collector_gap"], demo_incidents["gap_crash"]
    middle = (
        pd.Timestamp(gap["start"]) + (pd.Timestamp(gap["end"]) - pd.Timestamp(gap["start"])) / 2
    )
    args = [str(DEMO / "beacons"), "-p", str(DEMO / "profiles"), "--at", middle.isoformat()]
    code, out, err = run(capsys, "status", *args, "--json")
    assert code == 0, err
    data = json.loads(out)
    states = {row["site"]: row["state"] for row in data["states"]}
    assert {states[s] for s in gap["services"]} == {"unknown"}
    assert states[crash["services"][0]] == "down"
    # Unknown services are no root cause and no impact: only the one that stayed down.
    assert {row["site"] for row in data["root_causes"]} == set(crash["services"])


def test_drift_command(
    demo_incidents: dict[str, dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    drifted = demo_incidents["structural_drift"]
    slowed = demo_incidents["cadence_slowdown"]
    args = [str(DEMO / "beacons"), "-p", str(DEMO / "profiles")]
    code, out, err = run(capsys, "drift", *args, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert {e["site"] for e in data["drift_events"]} == {drifted["services"][0]}
    assert [c["site"] for c in data["cadence_changes"]] == [slowed["services"][0]]
    assert {(p["site"], p["series"]) for p in data["change_points"]} == {
        (drifted["services"][0], "drift"), (slowed["services"][0], "cadence"),
    }  # fmt: skip
    code, out, _ = run(capsys, "drift", *args, "--bucket", "10min")
    assert code == 0
    assert "cadence changes" in out


def test_payload_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import jsonschema

    from rtt_topology.diagnostics.payloads import payload_schemas

    inputs = ["-b", str(DEMO / "beacons"), "-p", str(DEMO / "profiles"),
              "-t", str(DEMO / "traces")]  # fmt: skip
    for endpoint, extra in (
        ("validate", ["--rules", str(DEMO / "rules.yaml")]),
        ("corridor", ["--corridors", str(DEMO / "corridors.yaml")]),
        ("topology", []),
    ):
        out_file = tmp_path / f"{endpoint}.json"
        code, _, err = run(capsys, "payload", endpoint, *inputs, *extra, "-o", str(out_file))
        assert code == 0, err
        body = json.loads(out_file.read_text())
        jsonschema.validate(body, payload_schemas()[endpoint])
        # The golden payloads are built the same way.
        golden = json.loads((DATA / "golden" / f"{endpoint}.json")
                            .read_text())  # fmt: skip
        if endpoint != "topology":
            assert body == golden
    code, out, _ = run(capsys, "payload", "topology", *inputs, "--strict")
    assert code == 0
    assert set(json.loads(out)) == {"graph"}
    code, _, err = run(capsys, "payload", "corridor", *inputs[:4])
    assert code == 2
    assert "needs --traces or --corridors" in err


def test_check_command_exit_codes(
    demo_truth: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    inputs = ["-b", str(DEMO / "beacons"), "-p", str(DEMO / "profiles"),
              "-t", str(DEMO / "traces")]  # fmt: skip
    truth = demo_truth
    violation = truth["layering_violation"]
    code, out, _ = run(capsys, "check", "--rules", str(DEMO / "rules.yaml"), *inputs, "--json")
    assert code == 1
    data = json.loads(out)
    assert data["failing"] == ["no-upward-calls"]
    broken = next(r for r in data["rules"] if r["id"] == "no-upward-calls")
    assert broken["violations"][0]["key"] == f"{violation['caller']} -> {violation['callee']}"
    # Freeze the known violations: the same check then passes.
    baseline = tmp_path / "baseline.json"
    code, _, _ = run(capsys, "check", "-r", str(DEMO / "rules.yaml"), *inputs,
                     "--write-baseline", str(baseline))  # fmt: skip
    assert code == 1
    code, out, _ = run(capsys, "check", "-r", str(DEMO / "rules.yaml"), *inputs,
                       "--baseline", str(baseline))  # fmt: skip
    assert code == 0
    assert "broken: none" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nrules:\n  - {id: x, kind: layers, order: edge}\n")
    code, _, err = run(capsys, "check", "-r", str(bad), *inputs)
    assert code == 2
    assert "rules[0] (x): order" in err
    code, _, _ = run(capsys, "check", *inputs)
    assert code == 2


def test_diagnose_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    golden = DATA / "golden"
    code, out, _ = run(capsys, "diagnose", str(golden / "validate.json"))
    assert code == 1
    assert out.startswith("/validate: violations")
    code, out, _ = run(capsys, "diagnose", str(golden / "topology.json"), "--json")
    assert code == 0
    assert json.loads(out)["endpoint"] == "topology"
    bad = tmp_path / "bad.json"
    bad.write_text('{"graph": {"a": ["b"]}}')
    code, _, err = run(capsys, "diagnose", str(bad))
    assert code == 2
    assert "not a key" in err


def test_metrics_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    out = tmp_path / "rtt.prom"
    code, _, err = run(
        capsys, "metrics", str(DEMO / "beacons"), "-p", str(DEMO / "profiles"),
        "-t", str(DEMO / "traces" / "otlp.jsonl"), "-c", str(DEMO / "corridors.yaml"),
        "-o", str(out),
    )  # fmt: skip
    assert code == 0, err
    text = out.read_text()
    assert 'rtt_beacons_total{cluster="dc-east"}' in text
    names = {f.name for f in text_string_to_metric_families(text)}
    assert {"rtt_beacons", "rtt_drift_events", "rtt_service_state"} <= names
    code, _, err = run(capsys, "metrics", str(DEMO / "beacons"), "--at", "2026-01-19T03:00:00")
    assert code == 2, err


def test_grafana_dashboard_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "d.json"
    code, _, err = run(capsys, "grafana-dashboard", "-o", str(target))
    assert code == 0, err
    code, out, _ = run(capsys, "grafana-dashboard")
    assert code == 0
    assert out == target.read_text()
    assert json.loads(out)["panels"]
