"""Exports for monitoring stacks: Prometheus metrics and the Grafana dashboard."""

from rtt_topology.export.grafana import (
    SCHEMA_VERSION,
    dashboard,
    dashboard_json,
    write_dashboard,
)
from rtt_topology.export.metrics import (
    METRICS,
    MetricSpec,
    RttCollector,
    exposition,
    metrics_registry,
    write_textfile,
)

__all__ = [
    "METRICS",
    "SCHEMA_VERSION",
    "MetricSpec",
    "RttCollector",
    "dashboard",
    "dashboard_json",
    "exposition",
    "metrics_registry",
    "write_dashboard",
    "write_textfile",
]
