"""plot_drift, plot_drift_heatmap and plot_coherence."""

from __future__ import annotations

from typing import Any

import matplotlib
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.dates import ConciseDateFormatter, date2num
from matplotlib.image import AxesImage

from rtt_topology.analysis.coherence import Coherence
from rtt_topology.errors import InputError
from rtt_topology.plots import (
    INCIDENT_COLORS,
    PALETTE,
    plot_coherence,
    plot_drift,
    plot_drift_heatmap,
)
from tests.plots.artists import gids, legend_labels, notes

# --- drift --------------------------------------------------------------------------------------


def test_drift_demo(demo_analyses: dict[str, Any], demo_downtime: pd.DataFrame) -> None:
    _, ax = plot_drift(
        demo_analyses["drift"],
        change_points=demo_analyses["changes"],
        incidents=demo_downtime,
    )
    assert isinstance(ax, Axes)
    # Only the web site drifts in the demo.
    assert [line.get_label() for line in ax.get_lines() if not line.get_gid()] == [
        "shop.example.com"
    ]
    assert len(demo_analyses["changes"]) == 1
    assert gids(ax, "change-point") == 2  # a dotted vertical line and a ring on the line
    assert legend_labels(ax)[:2] == ["shop.example.com", "change point"]
    assert ax.get_ylabel() == "drift (0-1)"
    assert ax.get_xlabel() == "time (UTC)"
    assert isinstance(ax.xaxis.get_major_formatter(), ConciseDateFormatter)
    lo, hi = ax.get_ylim()
    assert lo == 0
    assert hi <= 1
    assert ax.get_title() == "structural drift per service"


def test_drift_named_services_and_incidents(
    demo_analyses: dict[str, Any], demo_downtime: pd.DataFrame
) -> None:
    down = demo_downtime
    shown = ["shop.example.com", "inventory-api", "nope"]
    _, ax = plot_drift(demo_analyses["drift"], services=shown, incidents=down)
    assert [line.get_label() for line in ax.get_lines()] == ["shop.example.com", "inventory-api"]
    expected = int(down["site"].astype(str).isin(shown).sum())
    assert expected > 0
    assert gids(ax, "incident") == expected
    assert "incident: crash" in legend_labels(ax)


def test_drift_incidents_of_no_service_are_always_shaded(demo_analyses: dict[str, Any]) -> None:
    spans = pd.DataFrame(
        {
            "start": pd.to_datetime(["2026-01-19T01:00Z"]),
            "end": pd.to_datetime([pd.NaT], utc=True),
            "label": ["deploy freeze"],
        }
    )
    _, ax = plot_drift(demo_analyses["drift"], incidents=spans)
    assert gids(ax, "incident") == 1
    assert "incident: deploy freeze" in legend_labels(ax)


def test_drift_incidents_listing_several_services(demo_analyses: dict[str, Any]) -> None:
    # The shape of rtt_topology.incidents.find_incidents: a list of sites per incident.
    spans = pd.DataFrame(
        {
            "kind": ["outage", "restart_storm"],
            "sites": [["shop.example.com", "inventory-api"], ["auth-service"]],
            "start": pd.to_datetime(["2026-01-19T01:00Z", "2026-01-19T03:00Z"]),
            "end": pd.to_datetime(["2026-01-19T02:00Z", "2026-01-19T03:30Z"]),
        }
    )
    _, ax = plot_drift(demo_analyses["drift"], incidents=spans)
    assert gids(ax, "incident") == 1  # only the drawn service's
    assert legend_labels(ax)[-1] == "incident: outage"
    (patch,) = [p for p in ax.patches if p.get_gid() == "incident"]
    assert matplotlib.colors.to_hex(patch.get_facecolor()) == INCIDENT_COLORS["outage"]


def test_drift_selects_top_services_by_drift() -> None:
    buckets = pd.date_range("2026-01-19T00:00Z", periods=4, freq="5min")
    sites = ["a", "b", "c", "quiet"]
    table = pd.DataFrame(
        {
            "site": np.repeat(sites, 4),
            "bucket": np.tile(buckets, 4),
            "drift": [0, 0.1, 0.1, 0] + [0, 0.5, 0, 0] + [0.3, 0.3, 0, 0] + [0.0] * 4,
        }
    )
    _, ax = plot_drift(table, max_services=2)
    assert [line.get_label() for line in ax.get_lines()] == ["b", "c"]
    assert "top 2 of 3 drifting services" in ax.get_title()


def test_drift_time_axis_is_utc() -> None:
    buckets = pd.date_range("2026-01-19T01:00Z", periods=3, freq="1h")
    table = pd.DataFrame({"site": ["a"] * 3, "bucket": buckets, "drift": [0.0, 0.2, 0.2]})
    with matplotlib.rc_context({"timezone": "America/New_York"}):
        _, ax = plot_drift(table)
    formatter = ax.xaxis.get_major_formatter()
    assert isinstance(formatter, ConciseDateFormatter)
    ticks = date2num(buckets.tz_localize(None).to_numpy())
    assert formatter.format_ticks(ticks)[1:] == ["02:00", "03:00"]


def test_drift_empty_and_flat() -> None:
    empty = pd.DataFrame({"site": [], "bucket": pd.to_datetime([], utc=True), "drift": []})
    assert "no data" in notes(plot_drift(empty)[1])
    buckets = pd.date_range("2026-01-19T00:00Z", periods=3, freq="5min")
    flat = pd.DataFrame({"site": ["a"] * 3, "bucket": buckets, "drift": [0.0] * 3})
    _, ax = plot_drift(flat)
    assert "no service drifted" in notes(ax)
    assert ax.get_lines() == []


def test_drift_bad_input() -> None:
    with pytest.raises(InputError, match="lacks column"):
        plot_drift(pd.DataFrame({"site": ["a"]}))
    buckets = pd.date_range("2026-01-19T00:00Z", periods=2, freq="5min")
    table = pd.DataFrame({"site": ["a"] * 2, "bucket": buckets, "drift": [0.0, 0.2]})
    naive = pd.DataFrame({"start": [pd.Timestamp("2026-01-19")], "end": [pd.NaT]})
    with pytest.raises(InputError, match="timezone-aware"):
        plot_drift(table, incidents=naive)
    with pytest.raises(InputError, match="start, end"):
        plot_drift(table, incidents=pd.DataFrame({"site": ["a"]}))


def test_drift_heatmap_demo(demo_analyses: dict[str, Any]) -> None:
    table = demo_analyses["drift"]
    _, ax = plot_drift_heatmap(table)
    (image,) = ax.images
    assert isinstance(image, AxesImage)
    names = sorted(table["site"].astype(str).unique())
    assert [t.get_text() for t in ax.get_yticklabels()] == names
    assert image.get_array().shape[0] == len(names)
    assert image.colorbar is not None
    assert image.colorbar.ax.get_ylabel() == "drift (0-1)"
    assert ax.get_xlabel() == "time (UTC)"


def test_drift_heatmap_top_and_groups(
    demo_analyses: dict[str, Any], demo_graph: nx.DiGraph[str]
) -> None:
    table = demo_analyses["drift"]
    total = table["site"].nunique()
    _, ax = plot_drift_heatmap(table, max_services=10)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 10
    assert "shop.example.com" in labels
    assert f"top 10 of {total} services" in ax.get_title()
    groups = {n: g for n, g in demo_graph.nodes(data="group") if g}
    _, ax = plot_drift_heatmap(table, groups=groups)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["(no group)", "dc-east", "dc-west"]
    row = ax.images[0].get_array()[1]
    assert np.nanmax(row) == pytest.approx(table["drift"].max())
    assert "largest per group" in ax.get_title()


def test_drift_heatmap_empty() -> None:
    empty = pd.DataFrame({"site": [], "bucket": pd.to_datetime([], utc=True), "drift": []})
    _, ax = plot_drift_heatmap(empty)
    assert "no data" in notes(ax)


# --- coherence ----------------------------------------------------------------------------------


def test_coherence_demo(demo_coherence: Coherence) -> None:
    result = demo_coherence
    _, ax = plot_coherence(result)
    worst = result.services.sort_values("coherence")["site"].astype(str).head(3).tolist()
    assert [line.get_label() for line in ax.get_lines()] == ["system", *worst]
    (system,) = [line for line in ax.get_lines() if line.get_label() == "system"]
    assert system.get_linewidth() > max(line.get_linewidth() for line in ax.get_lines()[1:])
    assert system.get_color() == PALETTE["stable"]
    assert ax.get_ylim() == (0.0, 1.02)
    assert legend_labels(ax)[0] == f"system (overall {result.overall:.3f})"


def test_coherence_services_and_components(demo_coherence: Coherence) -> None:
    _, ax = plot_coherence(demo_coherence, services="auth-service", components=True)
    assert [line.get_label() for line in ax.get_lines()] == [
        "system",
        "system adherence",
        "system liveness",
        "system stability",
        "system declaration",
        "auth-service",
    ]


def test_coherence_empty_and_bad_input(demo_coherence: Coherence) -> None:
    from rtt_topology.analysis.coherence import Coherence

    result = demo_coherence
    empty = Coherence(
        result.by_bucket.iloc[:0], result.services.iloc[:0], result.system.iloc[:0], None
    )
    assert "no data" in notes(plot_coherence(empty)[1])
    with pytest.raises(InputError, match="coherence"):
        plot_coherence(result.system)  # type: ignore[arg-type]
