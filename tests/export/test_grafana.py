from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from rtt_topology.analysis.liveness import STATES
from rtt_topology.diagnostics.corridors import CORRIDOR_STATUSES
from rtt_topology.export.grafana import (
    SCHEMA_VERSION,
    dashboard,
    dashboard_json,
    rows,
    write_dashboard,
)
from rtt_topology.export.metrics import METRICS

EXPORTED = {spec.name: spec for spec in METRICS}
PANEL_TYPES = {"timeseries", "stat", "table", "state-timeline"}
SOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
KEYWORDS = {"and", "or", "unless", "bool", "offset"}


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def panels(board: dict) -> list[dict]:
    return [p for p in board["panels"] if p["type"] != "row"]


def expressions(board: dict) -> list[str]:
    return [t["expr"] for p in panels(board) for t in p["targets"]]


def metric_names(expr: str) -> set[str]:
    """The metric names of a PromQL expression: identifiers that are not functions,
    keywords, labels or grouping clauses."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = re.findall(r"(?<![\w$.])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()", text)
    return {n for n in names if n not in KEYWORDS}


def matchers(expr: str) -> list[tuple[str, set[str]]]:
    """(metric, label names) of every selector with label matchers."""
    found = []
    for name, body in re.findall(r"([A-Za-z_:][\w:]*)\{([^}]*)\}", expr):
        found.append((name, set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", body))))
    return found


def test_the_expression_parser() -> None:
    expr = (
        '60 * sum by (service) (rate(rtt_beacons_total{service=~"$service"}[5m])) / '
        "count(rtt_x) or on (a) vector(1) + time() - rtt_y offset 5m"
    )
    assert metric_names(expr) == {"rtt_beacons_total", "rtt_x", "rtt_y"}
    assert matchers(expr) == [("rtt_beacons_total", {"service"})]


# -- an importable dashboard -----------------------------------------------------------------


def test_top_level_keys() -> None:
    board = dashboard()
    for key in (
        "__inputs", "__requires", "annotations", "editable", "id", "panels", "refresh",
        "schemaVersion", "tags", "templating", "time", "timezone", "title", "uid", "version",
    ):  # fmt: skip
        assert key in board, key
    assert board["schemaVersion"] == SCHEMA_VERSION == 39
    assert board["id"] is None
    assert board["uid"] == "rtt-inside"
    assert board["title"] == "RTT-Inside"
    assert isinstance(board["version"], int)
    assert board["time"] == {"from": "now-24h", "to": "now"}
    # Plain JSON types only: a round trip changes nothing.
    assert json.loads(json.dumps(board)) == board


def test_inputs_and_requires() -> None:
    board = dashboard()
    assert board["__inputs"] == [
        {
            "name": "DS_PROMETHEUS",
            "label": "Prometheus",
            "description": "The Prometheus that scrapes the rtt-topology metrics",
            "type": "datasource",
            "pluginId": "prometheus",
            "pluginName": "Prometheus",
        }
    ]
    requires = {(r["type"], r["id"]) for r in board["__requires"]}
    assert ("grafana", "grafana") in requires
    assert ("datasource", "prometheus") in requires
    used = {p["type"] for p in panels(board)}
    assert used == PANEL_TYPES
    assert {i for t, i in requires if t == "panel"} == used


def test_datasource_references_the_input() -> None:
    board = dashboard()
    for panel in panels(board):
        assert panel["datasource"] == SOURCE, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == SOURCE
    assert board["templating"]["list"][0]["datasource"] == SOURCE


def test_another_input_name_or_a_fixed_uid() -> None:
    board = dashboard(datasource="${DS_PROM}")
    assert board["__inputs"][0]["name"] == "DS_PROM"
    fixed = dashboard(datasource="P1809F7CD0C75ACF3")
    assert "__inputs" not in fixed
    for panel in panels(fixed):
        assert panel["datasource"] == {"type": "prometheus", "uid": "P1809F7CD0C75ACF3"}


def test_service_variable() -> None:
    (variable,) = dashboard()["templating"]["list"]
    assert variable["name"] == "service"
    assert variable["type"] == "query"
    assert variable["definition"] == "label_values(rtt_beacons_total, service)"
    assert variable["query"]["query"] == variable["definition"]
    assert variable["multi"]
    assert variable["includeAll"]
    # ".*" would match the cluster samples, which have no service label.
    assert variable["allValue"] == ".+"
    metric = re.fullmatch(r"label_values\((\w+), (\w+)\)", variable["definition"])
    assert metric is not None
    assert metric[1] in EXPORTED
    assert (metric[2],) in EXPORTED[metric[1]].label_sets


def test_panels_ids_and_grid() -> None:
    board = dashboard()
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert set(grid) == {"h", "w", "x", "y"}
        assert all(isinstance(v, int) for v in grid.values())
        assert grid["h"] > 0
        assert grid["w"] > 0
        assert grid["x"] >= 0
        assert grid["x"] + grid["w"] <= 24
        if panel["type"] == "row":
            assert grid == {"h": 1, "w": 24, "x": 0, "y": grid["y"]}
            assert panel["panels"] == []
            assert panel["collapsed"] is False
        mine = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & mine, f"{panel['title']} overlaps another panel"
        cells |= mine
    # Panels come in reading order.
    positions = [(p["gridPos"]["y"], p["gridPos"]["x"]) for p in board["panels"]]
    assert positions == sorted(positions)


def test_every_panel_is_complete() -> None:
    for panel in panels(dashboard()):
        assert panel["type"] in PANEL_TYPES
        assert panel["title"]
        assert panel["description"]
        assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert refs
        assert len(refs) == len(set(refs))
        for target in panel["targets"]:
            assert target["expr"].strip()
            assert target["format"] in ("time_series", "table")
        if panel["type"] == "table":
            assert all(t["instant"] and t["format"] == "table" for t in panel["targets"])


def test_upstream_panel_names_are_there() -> None:
    titles = {p["title"] for p in panels(dashboard())}
    for name in (
        "Heartbeat frequency",
        "Drift indicators",
        "Drift trends",
        "Corridor alignment",
        "Coherence score over time",
    ):
        assert name in titles


# -- one source of truth for metric names ----------------------------------------------------


def test_expressions_use_only_exported_metrics() -> None:
    used: set[str] = set()
    for expr in expressions(dashboard()):
        names = metric_names(expr)
        assert names, expr
        assert names <= set(EXPORTED), (expr, names - set(EXPORTED))
        used |= names
        for metric, labels in matchers(expr):
            allowed = set().union(*EXPORTED[metric].label_sets)
            assert labels <= allowed, (expr, labels - allowed)
    # Every exported metric is on the dashboard, except the build info.
    assert set(EXPORTED) - used == {"rtt_topology_build_info"}


def test_mixed_families_are_always_selected_by_one_label() -> None:
    mixed = {name for name, spec in EXPORTED.items() if len(spec.label_sets) > 1}
    assert mixed == {
        "rtt_beacons_total",
        "rtt_drift_events_total",
        "rtt_heartbeat_interval_seconds",
    }
    for expr in expressions(dashboard()):
        for metric in metric_names(expr) & mixed:
            selected = [labels for name, labels in matchers(expr) if name == metric]
            assert selected, expr
            assert all(labels & {"service", "cluster"} for labels in selected), expr


def test_unknown_metric_is_refused() -> None:
    with pytest.raises(KeyError, match="not a metric"):
        rows.metric("rtt_nope_total")


def test_state_mappings_follow_the_enums() -> None:
    board = dashboard()
    assert set(rows.STATE_COLORS) == set(STATES)
    assert set(rows.CORRIDOR_COLORS) == set(CORRIDOR_STATUSES)
    timeline = next(p for p in panels(board) if p["type"] == "state-timeline")
    (mapping,) = timeline["fieldConfig"]["defaults"]["mappings"]
    assert {k: v["text"] for k, v in mapping["options"].items()} == {
        str(i): s for i, s in enumerate(STATES)
    }
    expr = timeline["targets"][0]["expr"]
    codes = dict(
        re.findall(r'(\d+) \* sum by \(service\) \(rtt_service_state\{[^}]*state="(\w+)"', expr)
    )
    assert {s: int(i) for i, s in codes.items()} == {s: i for i, s in enumerate(STATES) if i}


# -- files -----------------------------------------------------------------------------------


def test_deterministic(tmp_path: Path) -> None:
    assert dashboard() == dashboard()
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    write_dashboard(first)
    write_dashboard(second)
    assert first.read_bytes() == second.read_bytes()
    text = first.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert json.loads(text) == dashboard()
    assert text == dashboard_json()
    assert listing(tmp_path) == ["a.json", "b.json"]


def test_title_and_uid(tmp_path: Path) -> None:
    board = dashboard(title="RTT Inside / prod!")
    assert board["title"] == "RTT Inside / prod!"
    assert board["uid"] == "rtt-inside-prod"
    assert len(dashboard(title="x" * 80)["uid"]) <= 40
    assert dashboard(title="!!!")["uid"] == "rtt-inside"
    target = tmp_path / "d.json"
    write_dashboard(target, title="Ünï", datasource="abc")
    loaded = json.loads(target.read_text(encoding="utf-8"))
    assert loaded["title"] == "Ünï"
    assert "Ünï" in target.read_text(encoding="utf-8")


def test_written_file_is_readable_by_others(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_dashboard(tmp_path / "d.json")
    finally:
        os.umask(old)
    assert (tmp_path / "d.json").stat().st_mode & 0o777 == 0o644


def test_failed_write_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "d.json"
    target.write_text("previous\n", encoding="utf-8")

    def broken(self, other):
        raise OSError("rename failed")

    monkeypatch.setattr(Path, "replace", broken)
    with pytest.raises(OSError, match="rename failed"):
        write_dashboard(target)
    assert target.read_text(encoding="utf-8") == "previous\n"
    assert listing(tmp_path) == ["d.json"]
