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

from rtt_topology.export.grafana.board import (
    SCHEMA_VERSION,
    dashboard,
    dashboard_json,
    write_dashboard,
)

__all__ = ["SCHEMA_VERSION", "dashboard", "dashboard_json", "write_dashboard"]
