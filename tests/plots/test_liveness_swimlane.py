"""plot_swimlane."""

from __future__ import annotations

from typing import Any

import pandas as pd
from matplotlib.collections import PolyCollection

from rtt_topology.analysis.liveness import STATES
from rtt_topology.plots import (
    plot_swimlane,
)
from tests.plots.artists import legend_labels, notes

# --- liveness -----------------------------------------------------------------------------------


def test_swimlane_demo(demo_timeline: pd.DataFrame) -> None:
    table = demo_timeline
    _, ax = plot_swimlane(table)
    names = sorted(table["site"].astype(str).unique())
    assert [t.get_text() for t in ax.get_yticklabels()] == names
    pairs = table.assign(site=table["site"].astype(str), state=table["state"].astype(str))
    pairs = pairs[["site", "state"]].drop_duplicates()
    bars = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bars) == len(pairs)
    present = set(pairs["state"])
    assert legend_labels(ax) == [s for s in STATES if s in present]
    assert ax.get_xlabel() == "time (UTC)"


def test_swimlane_keeps_the_least_healthy(
    demo_truth: dict[str, Any],
    demo_incidents: dict[str, dict[str, Any]],
    demo_timeline: pd.DataFrame,
) -> None:
    truth = demo_truth
    crash = demo_incidents["crash"]["services"][0]
    _, ax = plot_swimlane(demo_timeline, max_services=5)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 5
    assert labels == sorted(labels)
    assert crash in labels
    assert truth["declared_silent"] in labels  # missing over the whole window
    assert "5 of 40 services" in ax.get_title()


def test_swimlane_chosen_services_and_empty(demo_timeline: pd.DataFrame) -> None:
    _, ax = plot_swimlane(demo_timeline, services=["users-db", "api-gateway"])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["users-db", "api-gateway"]
    empty = demo_timeline.iloc[:0]
    assert "no data" in notes(plot_swimlane(empty)[1])
