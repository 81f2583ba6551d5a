"""Build the JSON of Grafana panels: queries, field defaults, thresholds, value mappings, rows."""

from __future__ import annotations

from typing import Any

__all__ = [
    "field_defaults",
    "panel",
    "row",
    "stat",
    "table",
    "target",
    "thresholds",
    "timeseries",
    "value_mappings",
]


def target(expr: str, legend: str = "", *, ref: str = "A", table: bool = False) -> dict[str, Any]:
    """Return a Prometheus query: a range query, or with ``table`` an instant one as a table."""
    query: dict[str, Any] = {"expr": expr, "legendFormat": legend, "refId": ref}
    if table:
        query.update({"format": "table", "instant": True, "range": False})
    else:
        query.update({"format": "time_series", "instant": False, "range": True})
    return query


def field_defaults(
    unit: str, *, lo: float | None = None, hi: float | None = None, **extra: Any
) -> dict[str, Any]:
    """Return a panel's field defaults: the unit, ``min`` and ``max`` when given, then ``extra``."""
    defaults: dict[str, Any] = {"unit": unit}
    if lo is not None:
        defaults["min"] = lo
    if hi is not None:
        defaults["max"] = hi
    defaults.update(extra)
    return defaults


def thresholds(*steps: tuple[str, float | None]) -> dict[str, Any]:
    """Return absolute thresholds from ``(colour, lower bound)`` steps, the first bound ``None``."""
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]}


def value_mappings(values: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    """Return one value mapping: value -> (text, colour)."""
    options = {
        value: {"text": text, "color": color, "index": i}
        for i, (value, (text, color)) in enumerate(values.items())
    }
    return [{"type": "value", "options": options}]


def panel(
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
    """Return a panel of plugin ``kind``; ``gridPos`` holds only its size until the layout."""
    built: dict[str, Any] = {
        "type": kind,
        "title": title,
        "description": description,
        "gridPos": {"h": h, "w": w},
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": options or {},
    }
    if transformations:
        built["transformations"] = transformations
    return built


def timeseries(
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
    """Return a time series panel of lines, its legend below, its tooltip listing every series."""
    custom = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 0, "axisLabel": axis}
    return panel(
        "timeseries",
        title,
        description,
        targets,
        field_defaults(unit, lo=lo, hi=hi, custom=custom),
        w=w,
        options={
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    )


def stat(
    title: str,
    description: str,
    targets: list[dict[str, Any]],
    defaults: dict[str, Any],
    *,
    w: int,
    h: int = 5,
) -> dict[str, Any]:
    """Return a stat panel showing the last value of each series with its name."""
    options = {
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "colorMode": "value",
        "graphMode": "none",
        "textMode": "value_and_name",
        "orientation": "auto",
        "justifyMode": "auto",
    }
    return panel("stat", title, description, targets, defaults, w=w, h=h, options=options)


def table(
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
    return panel(
        "table",
        title,
        description,
        [target(expr, table=True)],
        field_defaults("none", custom={"align": "auto", "filterable": True}),
        w=w,
        h=10,
        options={"showHeader": True, "sortBy": [{"displayName": columns[0], "desc": False}]},
        overrides=[
            {
                "matcher": {"id": "byName", "options": colored},
                "properties": [
                    {"id": "mappings", "value": value_mappings(mappings)},
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


def row(title: str) -> dict[str, Any]:
    """Return an expanded row: a full-width title above the panels that follow it."""
    return {"type": "row", "title": title, "collapsed": False, "panels": [], "gridPos": {"h": 1}}
