"""Lay out the Grafana dashboard, give it its data source, inputs and variable; write it as JSON."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from rtt_topology.export.grafana.rows import dashboard_panels, metric

__all__ = ["SCHEMA_VERSION", "dashboard", "dashboard_json", "write_dashboard"]

#: The Grafana dashboard schema version written (Grafana 10.4 / 11.0).
SCHEMA_VERSION = 39
_GRAFANA_VERSION = "10.4.0"
_WIDTH = 24
_PANEL_NAMES = {
    "stat": "Stat",
    "state-timeline": "State timeline",
    "table": "Table",
    "timeseries": "Time series",
}
_INPUT = re.compile(r"^\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)\}$")


def _layout(panels: list[dict[str, Any]]) -> None:
    """Give each panel an id and a position: rows full width, panels left to right."""
    x = y = height = 0
    for number, panel in enumerate(panels, start=1):
        panel["id"] = number
        grid = panel["gridPos"]
        w = grid.get("w", _WIDTH)
        if panel["type"] == "row" or x + w > _WIDTH:
            x, y, height = 0, y + height, 0
        grid.update({"h": grid["h"], "w": w, "x": x, "y": y})
        if panel["type"] == "row":
            y += grid["h"]
        else:
            x += w
            height = max(height, grid["h"])


def _slug(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return slug[:40].rstrip("-") or "rtt-inside"


def dashboard(*, title: str = "RTT-Inside", datasource: str = "${DS_PROMETHEUS}") -> dict[str, Any]:
    """Return a Grafana dashboard over the rtt-topology metrics, ready to import.

    Parameters
    ----------
    title
        The dashboard title; its uid is the title in lower case with dashes
        (``rtt-inside``).
    datasource
        The Prometheus data source every panel queries. ``${NAME}`` (default
        ``${DS_PROMETHEUS}``) is an import input: ``__inputs`` declares it and
        Grafana asks for the data source on import. Anything else is a data
        source uid, for provisioning: then there is no ``__inputs``.

    Returns
    -------
    dict
        The dashboard JSON model (plain dicts, lists, str, int, float, bool,
        None), the panels listed in the documentation of :mod:`rtt_topology.export.grafana`.

    Examples
    --------
    >>> board = dashboard()
    >>> board["title"], board["uid"], board["schemaVersion"]
    ('RTT-Inside', 'rtt-inside', 39)
    >>> board["__inputs"][0]["name"], board["templating"]["list"][0]["definition"]
    ('DS_PROMETHEUS', 'label_values(rtt_beacons_total, service)')
    >>> [p["title"] for p in board["panels"] if p["type"] == "row"]
    ['Overview', 'Heartbeats', 'Liveness', 'Drift', 'Coherence', 'Dependencies', 'Corridors']
    >>> "__inputs" in dashboard(datasource="P1809F7CD0C75ACF3")
    False
    """
    source = {"type": "prometheus", "uid": datasource}
    panels = dashboard_panels()
    _layout(panels)
    for panel in panels:
        if panel["type"] != "row":
            panel["datasource"] = dict(source)
            for target in panel["targets"]:
                target["datasource"] = dict(source)
    kinds = sorted({p["type"] for p in panels} - {"row"})
    requires: list[dict[str, Any]] = [
        {"type": "grafana", "id": "grafana", "name": "Grafana", "version": _GRAFANA_VERSION},
        {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
        *({"type": "panel", "id": k, "name": _PANEL_NAMES[k], "version": ""} for k in kinds),
    ]
    variable_query = f"label_values({metric('rtt_beacons_total')}, service)"
    board: dict[str, Any] = {}
    found = _INPUT.match(datasource)
    if found:
        board["__inputs"] = [
            {
                "name": found["name"],
                "label": "Prometheus",
                "description": "The Prometheus that scrapes the rtt-topology metrics",
                "type": "datasource",
                "pluginId": "prometheus",
                "pluginName": "Prometheus",
            }
        ]
    board.update(
        {
            "__elements": {},
            "__requires": requires,
            "annotations": {
                "list": [
                    {
                        "builtIn": 1,
                        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                        "enable": True,
                        "hide": True,
                        "iconColor": "rgba(0, 211, 255, 1)",
                        "name": "Annotations & Alerts",
                        "type": "dashboard",
                    }
                ]
            },
            "description": "RTT-Inside beacons, liveness, drift, coherence, dependencies and "
            "corridors, from the metrics rtt-topology exports.",
            "editable": True,
            "fiscalYearStartMonth": 0,
            "graphTooltip": 1,
            "id": None,
            "links": [],
            "panels": panels,
            "refresh": "1m",
            "schemaVersion": SCHEMA_VERSION,
            "tags": ["rtt", "rtt-inside", "rtt-topology"],
            "templating": {
                "list": [
                    {
                        "name": "service",
                        "label": "Service",
                        "type": "query",
                        "datasource": dict(source),
                        "definition": variable_query,
                        "query": {
                            "query": variable_query,
                            "refId": "PrometheusVariableQueryEditor-VariableQuery",
                        },
                        "refresh": 2,
                        "includeAll": True,
                        "multi": True,
                        # Not ".*": that would also match the cluster samples (no service).
                        "allValue": ".+",
                        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
                        "options": [],
                        "regex": "",
                        "sort": 1,
                        "hide": 0,
                    }
                ]
            },
            "time": {"from": "now-24h", "to": "now"},
            "timepicker": {},
            "timezone": "utc",
            "title": title,
            "uid": _slug(title),
            "version": 1,
            "weekStart": "",
        }
    )
    return board


def dashboard_json(*, title: str = "RTT-Inside", datasource: str = "${DS_PROMETHEUS}") -> str:
    r"""Return :func:`dashboard` as JSON text: two-space indent, UTF-8 kept, a final newline.

    Parameters
    ----------
    title, datasource
        As in :func:`dashboard`.

    Returns
    -------
    str
        What :func:`write_dashboard` writes; the same arguments give the same text.

    Examples
    --------
    >>> text = dashboard_json(title="RTT-Inside / prod")
    >>> text.endswith("}\n"), '"uid": "rtt-inside-prod"' in text
    (True, True)
    """
    board = dashboard(title=title, datasource=datasource)
    return json.dumps(board, indent=2, ensure_ascii=False) + "\n"


def write_dashboard(
    path: str | os.PathLike[str],
    *,
    title: str = "RTT-Inside",
    datasource: str = "${DS_PROMETHEUS}",
) -> None:
    """Write :func:`dashboard_json` to a file, atomically.

    The same arguments give the same bytes. The file is written next to ``path``
    under a temporary name, then renamed over it, so a provisioning Grafana that
    watches the directory never reads half a dashboard.

    Parameters
    ----------
    path
        The file to write (its directory must exist).
    title, datasource
        As in :func:`dashboard`.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "rtt-inside.json"
    >>> write_dashboard(target)
    >>> json.loads(target.read_text(encoding="utf-8"))["uid"]
    'rtt-inside'
    """
    text = dashboard_json(title=title, datasource=datasource)
    target = Path(path)
    # A name of our own, not mkstemp: the file keeps the umask's permissions (mkstemp: 0600).
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8", newline="\n")
        temporary.replace(target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
