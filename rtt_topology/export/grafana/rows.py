"""The rows of the RTT-Inside dashboard: each panel's title, unit and PromQL over our metrics."""

from __future__ import annotations

from typing import Any

from rtt_topology.export.grafana.panels import (
    field_defaults,
    panel,
    row,
    stat,
    table,
    target,
    thresholds,
    timeseries,
    value_mappings,
)
from rtt_topology.export.metrics.catalogue import SPECS

__all__ = ["CORRIDOR_COLORS", "STATE_COLORS", "dashboard_panels", "metric"]

#: Colours of the liveness states (Grafana named colours).
STATE_COLORS: dict[str, str] = {
    "up": "green",
    "late": "yellow",
    "flapping": "orange",
    "down": "red",
    "unknown": "text",
    "stopped": "blue",
    "missing": "purple",
}
#: Colours of the corridor statuses.
CORRIDOR_COLORS: dict[str, str] = {
    "aligned": "green",
    "unused": "blue",
    "too_slow": "orange",
    "off_corridor": "red",
}
_SERVICE = 'service=~"$service"'
_CALLER = 'caller=~"$service"'


def metric(name: str) -> str:
    """Return a metric name after checking that the exporter writes it."""
    if name not in SPECS:
        raise KeyError(f"{name} is not a metric of rtt_topology.export.metrics")
    return name


def _overview() -> list[dict[str, Any]]:
    state = metric("rtt_service_state")
    aligned = metric("rtt_corridor_aligned")
    return [
        row("Overview"),
        stat(
            "Services by state",
            "How many of the selected services are in each liveness state now.",
            [target(f"sum by (state) ({state}{{{_SERVICE}}})", "{{state}}")],
            field_defaults(
                "none", color={"mode": "thresholds"}, thresholds=thresholds(("text", None))
            ),
            w=12,
        ),
        stat(
            "System coherence score",
            "Coherence of the whole system (rtt-topology's score, 0 to 1).",
            [target(metric("rtt_system_coherence_score"), "system")],
            field_defaults(
                "percentunit",
                lo=0,
                hi=1,
                decimals=1,
                color={"mode": "thresholds"},
                thresholds=thresholds(("red", None), ("yellow", 0.6), ("green", 0.8)),
            ),
            w=4,
        ),
        stat(
            "Corridors aligned",
            "Share of declared corridors that no observed flow leaves and none is too slow on.",
            [target(f"sum({aligned}) / count({aligned})", "aligned")],
            field_defaults(
                "percentunit",
                lo=0,
                hi=1,
                color={"mode": "thresholds"},
                thresholds=thresholds(("red", None), ("green", 1)),
            ),
            w=4,
        ),
        stat(
            "Data age",
            "Time since the moment the exported values describe (the last beacon analysed).",
            [target(f"time() - {metric('rtt_snapshot_timestamp_seconds')}", "age")],
            field_defaults(
                "s",
                color={"mode": "thresholds"},
                thresholds=thresholds(("green", None), ("yellow", 300), ("red", 3600)),
            ),
            w=4,
        ),
    ]


def _heartbeats() -> list[dict[str, Any]]:
    beacons = metric("rtt_beacons_total")
    interval = metric("rtt_heartbeat_interval_seconds")
    return [
        row("Heartbeats"),
        timeseries(
            "Heartbeat frequency",
            "Beacons received per minute, per service and per cluster.",
            [
                target(f"60 * sum by (service) (rate({beacons}{{{_SERVICE}}}[5m]))", "{{service}}"),
                target(
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
        timeseries(
            "Median heartbeat interval",
            "Median seconds between consecutive beacons.",
            [
                target(f"{interval}{{{_SERVICE}}}", "{{service}}"),
                target(f'{interval}{{cluster!=""}}', "cluster {{cluster}}", ref="B"),
            ],
            "s",
            w=8,
            lo=0,
        ),
        timeseries(
            "Seconds since last beacon",
            "Age of each service's last beacon at the moment described.",
            [target(f"{metric('rtt_seconds_since_last_beacon')}{{{_SERVICE}}}", "{{service}}")],
            "s",
            w=8,
            lo=0,
        ),
    ]


def _liveness(states: tuple[str, ...]) -> list[dict[str, Any]]:
    state = metric("rtt_service_state")
    # One number per state (its position in STATES), so the timeline can colour it.
    code = " + ".join(
        f'{i} * sum by (service) ({state}{{{_SERVICE},state="{name}"}})'
        for i, name in enumerate(states)
        if i
    )
    mappings = {str(i): (name, STATE_COLORS[name]) for i, name in enumerate(states)}
    timeline = panel(
        "state-timeline",
        "Service states",
        "Liveness state of each service over time (up, late, flapping, down, unknown "
        "during a collector gap, stopped, missing; rtt-topology's definitions).",
        [target(code, "{{service}}")],
        field_defaults(
            "none",
            mappings=value_mappings(mappings),
            color={"mode": "thresholds"},
            thresholds=thresholds(("text", None)),
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
        row("Liveness"),
        timeline,
        table(
            "Current service states",
            "The state of each selected service now.",
            f"{state}{{{_SERVICE}}} == 1",
            ["service", "state"],
            {name: (name, STATE_COLORS[name]) for name in states},
        ),
        timeseries(
            "Uptime ratio",
            "Share of observed time each service was up, late or flapping "
            "(planned stops excluded).",
            [target(f"{metric('rtt_uptime_ratio')}{{{_SERVICE}}}", "{{service}}")],
            "percentunit",
            lo=0,
            hi=1,
        ),
    ]


def _drift() -> list[dict[str, Any]]:
    events = metric("rtt_drift_events_total")
    return [
        row("Drift"),
        timeseries(
            "Drift trends",
            "Structural changes seen in beacons per service, over the last hour.",
            [target(f"sum by (service) (increase({events}{{{_SERVICE}}}[1h]))", "{{service}}")],
            "short",
            lo=0,
            axis="drift events per hour",
        ),
        stat(
            "Drift indicators",
            "Structural changes of each cluster's services over the last hour.",
            [target(f'sum by (cluster) (increase({events}{{cluster!=""}}[1h]))', "{{cluster}}")],
            field_defaults(
                "short",
                lo=0,
                decimals=0,
                color={"mode": "thresholds"},
                thresholds=thresholds(("green", None), ("yellow", 1), ("red", 5)),
            ),
            w=12,
            h=8,
        ),
    ]


def _coherence() -> list[dict[str, Any]]:
    return [
        row("Coherence"),
        timeseries(
            "Coherence score over time",
            "Coherence score per service and of the whole system (0 to 1).",
            [
                target(f"{metric('rtt_coherence_score')}{{{_SERVICE}}}", "{{service}}"),
                target(metric("rtt_system_coherence_score"), "system", ref="B"),
            ],
            "percentunit",
            lo=0,
            hi=1,
        ),
        timeseries(
            "Coherence components",
            "Mean of each component of the score over the selected services.",
            [
                target(
                    f"avg by (component) ({metric('rtt_coherence_component')}{{{_SERVICE}}})",
                    "{{component}}",
                )
            ],
            "percentunit",
            lo=0,
            hi=1,
        ),
    ]


def _dependencies() -> list[dict[str, Any]]:
    calls = metric("rtt_edge_calls_total")
    errors = metric("rtt_edge_errors_total")
    per_edge = "sum by (caller, callee)"
    return [
        row("Dependencies"),
        timeseries(
            "Edge call rate",
            "Traced calls per second from the selected services to their callees.",
            [target(f"{per_edge} (rate({calls}{{{_CALLER}}}[5m]))", "{{caller}} -> {{callee}}")],
            "reqps",
            lo=0,
        ),
        timeseries(
            "Edge error ratio",
            "Share of the traced calls from the selected services that failed.",
            [
                target(
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
        row("Corridors"),
        table(
            "Corridor alignment",
            "Status of each declared corridor: aligned, unused, too slow or off corridor.",
            f"{metric('rtt_corridor_status')} == 1",
            ["corridor", "status"],
            {name: (name.replace("_", " "), CORRIDOR_COLORS[name]) for name in statuses},
            w=8,
        ),
        timeseries(
            "Corridor p95 latency and bound",
            "95th percentile end-to-end latency of the flows that follow each corridor, "
            "and its declared bound.",
            [
                target(metric("rtt_corridor_latency_p95_seconds"), "{{corridor}} p95"),
                target(metric("rtt_corridor_max_latency_seconds"), "{{corridor}} bound", ref="B"),
            ],
            "s",
            w=8,
            lo=0,
        ),
        timeseries(
            "Corridor traffic",
            "Traces per second that follow each corridor.",
            [
                target(
                    f"sum by (corridor) (rate({metric('rtt_corridor_calls_total')}[5m]))",
                    "{{corridor}}",
                )
            ],
            "reqps",
            w=8,
            lo=0,
        ),
    ]


def dashboard_panels() -> list[dict[str, Any]]:
    """Return the rows and panels of the dashboard in reading order, without ids or positions.

    Returns
    -------
    list of dict
        Row panels (``"type": "row"``), each followed by its panels; ``gridPos``
        holds only the size, and no panel has a data source yet.
    """
    from rtt_topology.analysis.liveness import STATES
    from rtt_topology.diagnostics.corridors import CORRIDOR_STATUSES

    return [
        *_overview(),
        *_heartbeats(),
        *_liveness(STATES),
        *_drift(),
        *_coherence(),
        *_dependencies(),
        *_corridors(CORRIDOR_STATUSES),
    ]
