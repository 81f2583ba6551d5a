"""Build a Grafana dashboard over the Prometheus metrics of :mod:`rtt_topology.export.metrics`.

:func:`dashboard` returns the dashboard as a dict in Grafana's import format
(the "classic" JSON model, ``schemaVersion`` 39: Grafana 10.4 and later import
it): a ``__inputs`` entry asks for the Prometheus data source at import time
(``${DS_PROMETHEUS}``), ``__requires`` lists the plugins used, and a ``service``
variable (``label_values(rtt_beacons_total, service)``, multi-valued, "All"
matching every non-empty service) filters the panels. :func:`write_dashboard`
writes it as JSON, the same bytes for the same arguments.

Panels, by row (the names upstream gave Grafana panels in quotes):

============  ================================  ==============  =============================
row           panel                             type            unit
============  ================================  ==============  =============================
Overview      Services by state                 stat            count
              System coherence score            stat            0 to 1 as a percentage
              Corridors aligned                 stat            0 to 1 as a percentage
              Data age                          stat            seconds
Heartbeats    "Heartbeat frequency"             timeseries      beacons per minute
              Median heartbeat interval         timeseries      seconds
              Seconds since last beacon         timeseries      seconds
Liveness      Service states                    state-timeline  state (value mappings)
              Current service states            table           state
              Uptime ratio                      timeseries      0 to 1 as a percentage
Drift         "Drift trends"                    timeseries      drift events per hour
              "Drift indicators" per cluster    stat            drift events in the last hour
Coherence     "Coherence score over time"       timeseries      0 to 1 as a percentage
              Coherence components              timeseries      0 to 1 as a percentage
Dependencies  Edge call rate                    timeseries      calls per second
              Edge error ratio                  timeseries      0 to 1 as a percentage
Corridors     "Corridor alignment"              table           status
              Corridor p95 latency and bound    timeseries      seconds
              Corridor traffic                  timeseries      traces per second
============  ================================  ==============  =============================

Every PromQL expression names only metrics listed in
:data:`rtt_topology.export.metrics.METRICS` (checked when the dashboard is built, and
by the tests). Families that mix a ``service`` and a ``cluster`` label are
always selected by one of them (``{service=~"$service"}``, ``{cluster!=""}``).
Rates use 5-minute windows, drift increases 1 hour, as the values change only
when the exporter rewrites its file.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from rtt_topology.export.metrics import METRICS

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
_NAMES = frozenset(spec.name for spec in METRICS)
#: Colours of the liveness states (Grafana named colours).
_STATE_COLORS: dict[str, str] = {
    "up": "green",
    "late": "yellow",
    "flapping": "orange",
    "down": "red",
    "stopped": "blue",
    "missing": "purple",
}
#: Colours of the corridor statuses.
_CORRIDOR_COLORS: dict[str, str] = {
    "aligned": "green",
    "unused": "blue",
    "too_slow": "orange",
    "off_corridor": "red",
}
_SERVICE = 'service=~"$service"'
_CALLER = 'caller=~"$service"'


def _m(name: str) -> str:
    """Return a metric name after checking that the exporter writes it."""
    if name not in _NAMES:
        raise KeyError(f"{name} is not a metric of rtt_topology.export.metrics")
    return name


def _target(expr: str, legend: str = "", *, ref: str = "A", table: bool = False) -> dict[str, Any]:
    target: dict[str, Any] = {"expr": expr, "legendFormat": legend, "refId": ref}
    if table:
        target.update({"format": "table", "instant": True, "range": False})
    else:
        target.update({"format": "time_series", "instant": False, "range": True})
    return target


def _defaults(
    unit: str, *, lo: float | None = None, hi: float | None = None, **extra: Any
) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": unit}
    if lo is not None:
        defaults["min"] = lo
    if hi is not None:
        defaults["max"] = hi
    defaults.update(extra)
    return defaults


def _thresholds(*steps: tuple[str, float | None]) -> dict[str, Any]:
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]}


def _value_mappings(values: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    """One value mapping: value -> (text, colour)."""
    options = {
        value: {"text": text, "color": color, "index": i}
        for i, (value, (text, color)) in enumerate(values.items())
    }
    return [{"type": "value", "options": options}]


def _panel(
    kind: str,
    title: str,
    description: str,
    targets: list[dict[str, Any]],
    defaults: dict[str, Any],
    *,
    w: int,
    h: int = 8,
    options: dict[str, Any] | None = None,
    overrides: list[dict[str, Any]] | None = None,
    transformations: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    panel: dict[str, Any] = {
        "type": kind,
        "title": title,
        "description": description,
        "gridPos": {"h": h, "w": w},
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": options or {},
    }
    if transformations:
        panel["transformations"] = transformations
    return panel


def _timeseries(
    title: str,
    description: str,
    targets: list[dict[str, Any]],
    unit: str,
    *,
    w: int = 12,
    lo: float | None = None,
    hi: float | None = None,
    axis: str = "",
) -> dict[str, Any]:
    custom = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 0, "axisLabel": axis}
    return _panel(
        "timeseries",
        title,
        description,
        targets,
        _defaults(unit, lo=lo, hi=hi, custom=custom),
        w=w,
        options={
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    )


def _stat(
    title: str,
    description: str,
    targets: list[dict[str, Any]],
    defaults: dict[str, Any],
    *,
    w: int,
    h: int = 5,
) -> dict[str, Any]:
    options = {
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "colorMode": "value",
        "graphMode": "none",
        "textMode": "value_and_name",
        "orientation": "auto",
        "justifyMode": "auto",
    }
    return _panel("stat", title, description, targets, defaults, w=w, h=h, options=options)


def _table(
    title: str,
    description: str,
    expr: str,
    columns: list[str],
    mappings: dict[str, tuple[str, str]],
    *,
    w: int = 12,
) -> dict[str, Any]:
    """Return a table of the samples equal to 1 of an enum metric: its label columns only."""
    hidden = {"Time": True, "Value": True, "__name__": True, "instance": True, "job": True}
    colored = columns[-1]
    return _panel(
        "table",
        title,
        description,
        [_target(expr, table=True)],
        _defaults("none", custom={"align": "auto", "filterable": True}),
        w=w,
        h=10,
        options={"showHeader": True, "sortBy": [{"displayName": columns[0], "desc": False}]},
        overrides=[
            {
                "matcher": {"id": "byName", "options": colored},
                "properties": [
                    {"id": "mappings", "value": _value_mappings(mappings)},
                    {"id": "custom.cellOptions", "value": {"type": "color-background"}},
                ],
            }
        ],
        transformations=[
            {
                "id": "organize",
                "options": {
                    "excludeByName": hidden,
                    "indexByName": {c: i for i, c in enumerate(columns)},
                },
            }
        ],
    )


def _row(title: str) -> dict[str, Any]:
    return {"type": "row", "title": title, "collapsed": False, "panels": [], "gridPos": {"h": 1}}


def _overview() -> list[dict[str, Any]]:
    state = _m("rtt_service_state")
    return [
        _row("Overview"),
        _stat(
            "Services by state",
            "How many of the selected services are in each liveness state now.",
            [_target(f"sum by (state) ({state}{{{_SERVICE}}})", "{{state}}")],
            _defaults("none", color={"mode": "thresholds"}, thresholds=_thresholds(("text", None))),
            w=12,
        ),
        _stat(
            "System coherence score",
            "Coherence of the whole system (rtt-topology's score, 0 to 1).",
            [_target(_m("rtt_system_coherence_score"), "system")],
            _defaults(
                "percentunit",
                lo=0,
                hi=1,
                decimals=1,
                color={"mode": "thresholds"},
                thresholds=_thresholds(("red", None), ("yellow", 0.6), ("green", 0.8)),
            ),
            w=4,
        ),
        _stat(
            "Corridors aligned",
            "Share of declared corridors that no observed flow leaves and none is too slow on.",
            [
                _target(
                    f"sum({_m('rtt_corridor_aligned')}) / count({_m('rtt_corridor_aligned')})",
                    "aligned",
                )
            ],
            _defaults(
                "percentunit",
                lo=0,
                hi=1,
                color={"mode": "thresholds"},
                thresholds=_thresholds(("red", None), ("green", 1)),
            ),
            w=4,
        ),
        _stat(
            "Data age",
            "Time since the moment the exported values describe (the last beacon analysed).",
            [_target(f"time() - {_m('rtt_snapshot_timestamp_seconds')}", "age")],
            _defaults(
                "s",
                color={"mode": "thresholds"},
                thresholds=_thresholds(("green", None), ("yellow", 300), ("red", 3600)),
            ),
            w=4,
        ),
    ]


def _heartbeats() -> list[dict[str, Any]]:
    beacons = _m("rtt_beacons_total")
    interval = _m("rtt_heartbeat_interval_seconds")
    return [
        _row("Heartbeats"),
        _timeseries(
            "Heartbeat frequency",
            "Beacons received per minute, per service and per cluster.",
            [
                _target(
                    f"60 * sum by (service) (rate({beacons}{{{_SERVICE}}}[5m]))", "{{service}}"
                ),
                _target(
                    f'60 * sum by (cluster) (rate({beacons}{{cluster!=""}}[5m]))',
                    "cluster {{cluster}}",
                    ref="B",
                ),
            ],
            "short",
            w=8,
            lo=0,
            axis="beacons per minute",
        ),
        _timeseries(
            "Median heartbeat interval",
            "Median seconds between consecutive beacons.",
            [
                _target(f"{interval}{{{_SERVICE}}}", "{{service}}"),
                _target(f'{interval}{{cluster!=""}}', "cluster {{cluster}}", ref="B"),
            ],
            "s",
            w=8,
            lo=0,
        ),
        _timeseries(
            "Seconds since last beacon",
            "Age of each service's last beacon at the moment described.",
            [_target(f"{_m('rtt_seconds_since_last_beacon')}{{{_SERVICE}}}", "{{service}}")],
            "s",
            w=8,
            lo=0,
        ),
    ]


def _liveness(states: tuple[str, ...]) -> list[dict[str, Any]]:
    state = _m("rtt_service_state")
    # One number per state (its position in STATES), so the timeline can colour it.
    code = " + ".join(
        f'{i} * sum by (service) ({state}{{{_SERVICE},state="{name}"}})'
        for i, name in enumerate(states)
        if i
    )
    mappings = {str(i): (name, _STATE_COLORS[name]) for i, name in enumerate(states)}
    timeline = _panel(
        "state-timeline",
        "Service states",
        "Liveness state of each service over time (up, late, flapping, down, stopped, "
        "missing; rtt-topology's definitions).",
        [_target(code, "{{service}}")],
        _defaults(
            "none",
            mappings=_value_mappings(mappings),
            color={"mode": "thresholds"},
            thresholds=_thresholds(("text", None)),
            custom={"fillOpacity": 80, "lineWidth": 0},
        ),
        w=24,
        h=12,
        options={
            "mergeValues": True,
            "showValue": "never",
            "rowHeight": 0.9,
            "alignValue": "left",
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "single", "sort": "none"},
        },
    )
    return [
        _row("Liveness"),
        timeline,
        _table(
            "Current service states",
            "The state of each selected service now.",
            f"{state}{{{_SERVICE}}} == 1",
            ["service", "state"],
            {name: (name, _STATE_COLORS[name]) for name in states},
        ),
        _timeseries(
            "Uptime ratio",
            "Share of observed time each service was up, late or flapping "
            "(planned stops excluded).",
            [_target(f"{_m('rtt_uptime_ratio')}{{{_SERVICE}}}", "{{service}}")],
            "percentunit",
            lo=0,
            hi=1,
        ),
    ]


def _drift() -> list[dict[str, Any]]:
    events = _m("rtt_drift_events_total")
    return [
        _row("Drift"),
        _timeseries(
            "Drift trends",
            "Structural changes seen in beacons per service, over the last hour.",
            [_target(f"sum by (service) (increase({events}{{{_SERVICE}}}[1h]))", "{{service}}")],
            "short",
            lo=0,
            axis="drift events per hour",
        ),
        _stat(
            "Drift indicators",
            "Structural changes of each cluster's services over the last hour.",
            [_target(f'sum by (cluster) (increase({events}{{cluster!=""}}[1h]))', "{{cluster}}")],
            _defaults(
                "short",
                lo=0,
                decimals=0,
                color={"mode": "thresholds"},
                thresholds=_thresholds(("green", None), ("yellow", 1), ("red", 5)),
            ),
            w=12,
            h=8,
        ),
    ]


def _coherence() -> list[dict[str, Any]]:
    return [
        _row("Coherence"),
        _timeseries(
            "Coherence score over time",
            "Coherence score per service and of the whole system (0 to 1).",
            [
                _target(f"{_m('rtt_coherence_score')}{{{_SERVICE}}}", "{{service}}"),
                _target(_m("rtt_system_coherence_score"), "system", ref="B"),
            ],
            "percentunit",
            lo=0,
            hi=1,
        ),
        _timeseries(
            "Coherence components",
            "Mean of each component of the score over the selected services.",
            [
                _target(
                    f"avg by (component) ({_m('rtt_coherence_component')}{{{_SERVICE}}})",
                    "{{component}}",
                )
            ],
            "percentunit",
            lo=0,
            hi=1,
        ),
    ]


def _dependencies() -> list[dict[str, Any]]:
    calls = _m("rtt_edge_calls_total")
    errors = _m("rtt_edge_errors_total")
    per_edge = "sum by (caller, callee)"
    return [
        _row("Dependencies"),
        _timeseries(
            "Edge call rate",
            "Traced calls per second from the selected services to their callees.",
            [_target(f"{per_edge} (rate({calls}{{{_CALLER}}}[5m]))", "{{caller}} -> {{callee}}")],
            "reqps",
            lo=0,
        ),
        _timeseries(
            "Edge error ratio",
            "Share of the traced calls from the selected services that failed.",
            [
                _target(
                    f"{per_edge} (rate({errors}{{{_CALLER}}}[5m])) / "
                    f"{per_edge} (rate({calls}{{{_CALLER}}}[5m]))",
                    "{{caller}} -> {{callee}}",
                )
            ],
            "percentunit",
            lo=0,
            hi=1,
        ),
    ]


def _corridors(statuses: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        _row("Corridors"),
        _table(
            "Corridor alignment",
            "Status of each declared corridor: aligned, unused, too slow or off corridor.",
            f"{_m('rtt_corridor_status')} == 1",
            ["corridor", "status"],
            {name: (name.replace("_", " "), _CORRIDOR_COLORS[name]) for name in statuses},
            w=8,
        ),
        _timeseries(
            "Corridor p95 latency and bound",
            "95th percentile end-to-end latency of the flows that follow each corridor, "
            "and its declared bound.",
            [
                _target(_m("rtt_corridor_latency_p95_seconds"), "{{corridor}} p95"),
                _target(_m("rtt_corridor_max_latency_seconds"), "{{corridor}} bound", ref="B"),
            ],
            "s",
            w=8,
            lo=0,
        ),
        _timeseries(
            "Corridor traffic",
            "Traces per second that follow each corridor.",
            [
                _target(
                    f"sum by (corridor) (rate({_m('rtt_corridor_calls_total')}[5m]))",
                    "{{corridor}}",
                )
            ],
            "reqps",
            w=8,
            lo=0,
        ),
    ]


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
        None), the panels listed in the module documentation.

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
    from rtt_topology.analysis.liveness import STATES
    from rtt_topology.diagnostics.corridors import CORRIDOR_STATUSES

    source = {"type": "prometheus", "uid": datasource}
    panels = [
        *_overview(),
        *_heartbeats(),
        *_liveness(STATES),
        *_drift(),
        *_coherence(),
        *_dependencies(),
        *_corridors(CORRIDOR_STATUSES),
    ]
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
    variable_query = f"label_values({_m('rtt_beacons_total')}, service)"
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
