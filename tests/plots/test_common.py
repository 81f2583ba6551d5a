"""What every plot shares: palette, plain text, given axes, no global state, lazy matplotlib."""

from __future__ import annotations

import itertools
import subprocess
import sys
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import networkx as nx
import pandas as pd
import pytest

from rtt_topology.analysis.coherence import Coherence
from rtt_topology.analysis.liveness import STATES
from rtt_topology.plots import (
    INCIDENT_COLORS,
    NEUTRAL_COLOR,
    PALETTE,
    STATE_COLORS,
    plain_text,
    plot_cadence_histogram,
    plot_coherence,
    plot_drift,
    plot_drift_heatmap,
    plot_heartbeat_frequency,
    plot_swimlane,
    plot_topology,
    plot_triad_census,
)
from tests.builders import beacon_table
from tests.plots.artists import rendered

ODD_NAMES = ["<script>alert(1)</script>", 'a$b&"q"', "a$b$c", "_hidden", r"x\$y$"]


def heartbeats(sites: list[str], minutes: int = 10) -> pd.DataFrame:
    """A beacon table with one heartbeat a minute per site."""
    return beacon_table(
        {"site": site, "session": "s", "event": "heartbeat", "ts": f"2026-01-19T15:{m:02d}:00Z"}
        for site in sites
        for m in range(minutes)
    )


# --- constants and text -------------------------------------------------------------------------


def test_palette_and_state_colours() -> None:
    assert dict(PALETTE) == {
        "stable": "#0d47a1",
        "transitional": "#ffb300",
        "paradox": "#c62828",
        "interference": "#8e24aa",
        "coherence": "#2e7d32",
    }
    assert tuple(STATE_COLORS) == STATES
    assert STATE_COLORS["up"] == PALETTE["coherence"]
    assert STATE_COLORS["late"] == PALETTE["transitional"]
    assert STATE_COLORS["down"] == PALETTE["paradox"]
    assert STATE_COLORS["flapping"] == PALETTE["interference"]
    assert INCIDENT_COLORS["crash"] == PALETTE["paradox"]
    assert NEUTRAL_COLOR not in STATE_COLORS.values()


@pytest.mark.parametrize("name", ODD_NAMES)
def test_plain_text_draws_literally(name: str) -> None:
    fig, ax = plt.subplots()
    title = ax.set_title(plain_text(name))
    fig.canvas.draw()
    assert rendered(title) == (name, False)


def test_plain_text_escapes_dollars_only() -> None:
    assert plain_text("a$b$c") == r"a\$b\$c"
    assert plain_text("<script>alert(1)</script>") == "<script>alert(1)</script>"
    assert plain_text(42) == "42"


# --- every plot: literal names, given axes, no global state -------------------------------------


def test_odd_names_draw_as_literal_text() -> None:
    from rtt_topology.analysis.drift import drift
    from rtt_topology.analysis.liveness import timeline

    G = nx.DiGraph(list(itertools.pairwise(ODD_NAMES)))
    _, ax = plot_topology(G, states=dict.fromkeys(ODD_NAMES, "up"))
    ax.figure.canvas.draw()
    assert sorted(rendered(t) for t in ax.texts) == sorted((n, False) for n in ODD_NAMES)

    beacons = heartbeats(ODD_NAMES)
    _, lanes = plot_swimlane(timeline(beacons))
    lanes.figure.canvas.draw()
    shown = [rendered(t) for t in lanes.get_yticklabels()]
    assert sorted(shown) == sorted((n, False) for n in ODD_NAMES)

    _, ax = plot_heartbeat_frequency(beacons, services=ODD_NAMES)
    ax.figure.canvas.draw()
    legend = ax.get_legend()
    assert legend is not None
    assert [rendered(t)[0] for t in legend.get_texts()][1:] == [
        f"{n} (right axis)" for n in ODD_NAMES
    ]
    assert not any(rendered(t)[1] for t in legend.get_texts())

    table = drift(beacons).assign(drift=0.5)
    _, ax = plot_drift(table)
    assert sorted(line.get_label() for line in ax.get_lines()) == sorted(ODD_NAMES)
    _, heat = plot_drift_heatmap(table)
    assert sorted(rendered(t)[0] for t in heat.get_yticklabels()) == sorted(ODD_NAMES)


def test_tex_is_off_even_when_asked_globally(demo_timeline: pd.DataFrame) -> None:
    with matplotlib.rc_context({"text.usetex": True}):
        _, ax = plot_swimlane(demo_timeline, services=["auth-service"])
    assert not ax.title.get_usetex()
    assert not any(t.get_usetex() for t in ax.get_yticklabels())
    assert not any(t.get_usetex() for t in ax.get_legend().get_texts())


def test_plots_draw_on_the_given_axes_without_global_changes(
    demo_analyses: dict[str, Any],
    demo_timeline: pd.DataFrame,
    demo_coherence: Coherence,
    demo_beacons: pd.DataFrame,
    demo_graph: nx.DiGraph[str],
) -> None:
    before = dict(matplotlib.rcParams)
    calls = [
        lambda ax: plot_drift(demo_analyses["drift"], ax=ax),
        lambda ax: plot_drift_heatmap(demo_analyses["drift"], ax=ax),
        lambda ax: plot_swimlane(demo_timeline, ax=ax),
        lambda ax: plot_coherence(demo_coherence, ax=ax),
        lambda ax: plot_heartbeat_frequency(demo_beacons, ax=ax),
        lambda ax: plot_cadence_histogram(demo_analyses["intervals"], ax=ax),
        lambda ax: plot_triad_census(demo_analyses["census"], ax=ax),
        lambda ax: plot_topology(demo_graph, ax=ax),
    ]
    from matplotlib.figure import Figure

    for call in calls:
        figures = plt.get_fignums()
        fig = Figure()
        ax = fig.add_subplot()
        assert call(ax) == (fig, ax)
        assert ax.get_title()
        assert plt.get_fignums() == figures
    assert dict(matplotlib.rcParams) == before


def test_new_figures_come_from_pyplot(demo_analyses: dict[str, Any]) -> None:
    _, ax = plot_triad_census(demo_analyses["census"])
    assert plt.get_fignums() == [ax.figure.number]


def test_importing_the_plots_loads_no_matplotlib() -> None:
    # matplotlib is imported when a plot is drawn, so the CLI and the library start fast.
    code = (
        "import importlib, pkgutil, sys, rtt_topology.plots as p\n"
        "for m in pkgutil.iter_modules(p.__path__, 'rtt_topology.plots.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
