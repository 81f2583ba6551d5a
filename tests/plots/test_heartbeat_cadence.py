"""plot_heartbeat_frequency and plot_cadence_histogram."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.patches import StepPatch

from rtt_topology.columns import empty_beacon_frame
from rtt_topology.errors import InputError
from rtt_topology.plots import (
    plot_cadence_histogram,
    plot_heartbeat_frequency,
)
from rtt_topology.schemas import Profile
from tests.plots.artists import gids, legend_labels, notes

# --- cadence ------------------------------------------------------------------------------------


def test_heartbeat_frequency_from_beacons(demo_beacons: pd.DataFrame) -> None:
    beacons = demo_beacons
    _, ax = plot_heartbeat_frequency(beacons)
    (total,) = [p for p in ax.patches if isinstance(p, StepPatch)]
    assert total.get_data().values.sum() == len(beacons)
    assert ax.get_ylabel() == "beacons per 5min"
    assert ax.get_xlabel() == "time (UTC)"
    assert legend_labels(ax) == ["all beacons"]


def test_heartbeat_frequency_services_on_their_own_axis(demo_beacons: pd.DataFrame) -> None:
    beacons = demo_beacons
    _, ax = plot_heartbeat_frequency(beacons, bucket="1h", services=["auth-service", "nope"])
    (total,) = [p for p in ax.patches if isinstance(p, StepPatch)]
    assert len(total.get_data().values) == 6  # the demo covers six hours
    (right,) = [other for other in ax.figure.axes if other is not ax]
    (service,) = [p for p in right.patches if isinstance(p, StepPatch)]
    assert service.get_data().values.sum() == (beacons["site"] == "auth-service").sum()
    assert legend_labels(ax) == ["all beacons", "auth-service (right axis)"]


def test_heartbeat_frequency_from_cadence(demo_analyses: dict[str, Any]) -> None:
    table = demo_analyses["cadence"]
    _, ax = plot_heartbeat_frequency(table, bucket="30min")
    (total,) = [p for p in ax.patches if isinstance(p, StepPatch)]
    assert total.get_data().values.sum() == table["beacons"].sum()
    assert len(total.get_data().values) == 12


def test_heartbeat_frequency_empty_and_bad_input() -> None:
    assert "no data" in notes(plot_heartbeat_frequency(empty_beacon_frame())[1])
    with pytest.raises(InputError, match="beacon table"):
        plot_heartbeat_frequency(pd.DataFrame({"x": [1]}))
    with pytest.raises(InputError, match="positive"):
        plot_heartbeat_frequency(empty_beacon_frame(), bucket="0s")


def test_cadence_histogram_from_beacons(
    demo_analyses: dict[str, Any], demo_profiles: dict[str, Profile], demo_beacons: pd.DataFrame
) -> None:
    values = demo_analyses["intervals"]["interval_s"].dropna()
    declared = {n: p.heartbeat_interval_s for n, p in demo_profiles.items()}
    _, ax = plot_cadence_histogram(demo_beacons, declared_period_s=declared)
    (histogram,) = [p for p in ax.patches if isinstance(p, StepPatch)]
    assert histogram.get_data().values.sum() == (values > 0).sum()
    assert ax.get_xscale() == "log"
    assert ax.get_yscale() == "log"
    labels = legend_labels(ax)
    assert labels[0] == "upstream cadence 30-60 s"
    distinct = len({v for v in declared.values() if v})
    assert f"declared periods ({distinct} values)" in labels
    assert gids(ax, "cadence-band") == 1
    assert gids(ax, "declared-period") == 1  # many periods: one row of ticks


def test_cadence_histogram_services(
    demo_profiles: dict[str, Profile], demo_analyses: dict[str, Any]
) -> None:
    shown = ["auth-service", "search-api"]
    declared = {n: p.heartbeat_interval_s for n, p in demo_profiles.items()}
    _, ax = plot_cadence_histogram(
        demo_analyses["intervals"], services=shown, declared_period_s=declared
    )
    steps = [p for p in ax.patches if isinstance(p, StepPatch)]
    assert len(steps) == 2
    periods = {declared[s] for s in shown}
    assert gids(ax, "declared-period") == len(periods)
    assert legend_labels(ax)[1].startswith("auth-service (")


def test_cadence_histogram_values_and_errors() -> None:
    _, ax = plot_cadence_histogram(
        np.array([30.0, 40.0, 0.0, np.nan]), bins=[1, 10, 100], log=False
    )
    (histogram,) = [p for p in ax.patches if isinstance(p, StepPatch)]
    assert histogram.get_data().values.tolist() == [0, 2]
    assert "1 of 0 s not shown" in ax.get_title()
    assert "no data" in notes(plot_cadence_histogram([])[1])
    with pytest.raises(InputError, match="services"):
        plot_cadence_histogram([1.0], services=["a"])
    with pytest.raises(InputError, match="increasing"):
        plot_cadence_histogram([1.0, 2.0], bins=[10, 1])
    with pytest.raises(InputError, match="intervals"):
        plot_cadence_histogram(pd.DataFrame({"x": [1]}))
