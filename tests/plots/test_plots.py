from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import matplotlib

from tests import DEMO

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.dates import ConciseDateFormatter, date2num
from matplotlib.image import AxesImage
from matplotlib.patches import FancyArrowPatch, StepPatch
from matplotlib.text import Text

from rtt_topology.analysis.liveness import STATES
from rtt_topology.columns import empty_beacon_frame
from rtt_topology.diagnostics.triads.decomposition import TRIAD_TYPES
from rtt_topology.errors import InputError
from rtt_topology.plots.figures import (
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

ODD_NAMES = ["<script>alert(1)</script>", 'a$b&"q"', "a$b$c", "_hidden", r"x\$y$"]


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def demo() -> dict[str, Any]:
    from rtt_topology.aggregate.history import intervals
    from rtt_topology.analysis.cadence import cadence
    from rtt_topology.analysis.changepoints import detect_changes
    from rtt_topology.analysis.coherence import coherence
    from rtt_topology.analysis.drift import drift
    from rtt_topology.analysis.liveness import downtime, states, timeline
    from rtt_topology.diagnostics.rules.ruleset import evaluate, load_rules
    from rtt_topology.diagnostics.triads.decomposition import census
    from rtt_topology.graph.build import build_graph
    from rtt_topology.load import read_beacons, read_profiles, read_traces

    beacons, _ = read_beacons(DEMO / "beacons")
    profiles = read_profiles(DEMO / "profiles").profiles
    G = build_graph(beacons, profiles, spans=read_traces(DEMO / "traces").spans)
    drift_table = drift(beacons)
    return {
        "beacons": beacons,
        "profiles": profiles,
        "G": G,
        "timeline": timeline(beacons, profiles),
        "states": states(beacons, profiles),
        "downtime": downtime(beacons, profiles),
        "drift": drift_table,
        "changes": detect_changes(drift_table, "drift"),
        "coherence": coherence(beacons, profiles, G),
        "cadence": cadence(beacons, profiles),
        "intervals": intervals(beacons),
        "census": census(G),
        "rules": evaluate(load_rules(DEMO / "rules.yaml"), G, beacons=beacons, profiles=profiles),
        "truth": json.loads((DEMO / "ground_truth.json").read_text()),
    }


def beacon_file(tmp_path: Path, sites: list[str], minutes: int = 10) -> pd.DataFrame:
    """A beacon table with one heartbeat a minute per site, read by the loader."""
    from rtt_topology.load import read_beacons

    path = tmp_path / "b.jsonl"
    lines = [
        json.dumps(
            {"site": site, "session": "s", "event": "heartbeat", "ts": f"2026-01-19T15:{m:02d}:00Z"}
        )
        for site in sites
        for m in range(minutes)
    ]
    path.write_text("\n".join(lines) + "\n")
    return read_beacons(path)[0]


def rendered(text: Text) -> tuple[str, bool]:
    """What matplotlib will draw for a text: the string and whether it is mathtext."""
    shown: tuple[str, bool] = text._preprocess_math(text.get_text())
    return shown


def notes(ax: Axes) -> list[str]:
    return [t.get_text() for t in ax.texts]


def legend_labels(ax: Axes) -> list[str]:
    found = ax.get_legend()
    assert found is not None
    return [t.get_text() for t in found.get_texts()]


def arrows(ax: Axes) -> list[FancyArrowPatch]:
    return [p for p in ax.patches if isinstance(p, FancyArrowPatch)]


def gids(ax: Axes, prefix: str) -> int:
    return sum(
        1 for a in [*ax.lines, *ax.patches] if a.get_gid() and a.get_gid().startswith(prefix)
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


# --- drift --------------------------------------------------------------------------------------


def test_drift_demo(demo: dict[str, Any]) -> None:
    _, ax = plot_drift(demo["drift"], change_points=demo["changes"], incidents=demo["downtime"])
    assert isinstance(ax, Axes)
    # Only the web site drifts in the demo.
    assert [line.get_label() for line in ax.get_lines() if not line.get_gid()] == [
        "shop.example.com"
    ]
    assert len(demo["changes"]) == 1
    assert gids(ax, "change-point") == 2  # a dotted vertical line and a ring on the line
    assert legend_labels(ax)[:2] == ["shop.example.com", "change point"]
    assert ax.get_ylabel() == "drift (0-1)"
    assert ax.get_xlabel() == "time (UTC)"
    assert isinstance(ax.xaxis.get_major_formatter(), ConciseDateFormatter)
    lo, hi = ax.get_ylim()
    assert lo == 0
    assert hi <= 1
    assert ax.get_title() == "structural drift per service"


def test_drift_named_services_and_incidents(demo: dict[str, Any]) -> None:
    down = demo["downtime"]
    shown = ["shop.example.com", "inventory-api", "nope"]
    _, ax = plot_drift(demo["drift"], services=shown, incidents=down)
    assert [line.get_label() for line in ax.get_lines()] == ["shop.example.com", "inventory-api"]
    expected = int(down["site"].astype(str).isin(shown).sum())
    assert expected > 0
    assert gids(ax, "incident") == expected
    assert "incident: crash" in legend_labels(ax)


def test_drift_incidents_of_no_service_are_always_shaded(demo: dict[str, Any]) -> None:
    spans = pd.DataFrame(
        {
            "start": pd.to_datetime(["2026-01-19T01:00Z"]),
            "end": pd.to_datetime([pd.NaT], utc=True),
            "label": ["deploy freeze"],
        }
    )
    _, ax = plot_drift(demo["drift"], incidents=spans)
    assert gids(ax, "incident") == 1
    assert "incident: deploy freeze" in legend_labels(ax)


def test_drift_incidents_listing_several_services(demo: dict[str, Any]) -> None:
    # The shape of rtt_topology.incidents.find_incidents: a list of sites per incident.
    spans = pd.DataFrame(
        {
            "kind": ["outage", "restart_storm"],
            "sites": [["shop.example.com", "inventory-api"], ["auth-service"]],
            "start": pd.to_datetime(["2026-01-19T01:00Z", "2026-01-19T03:00Z"]),
            "end": pd.to_datetime(["2026-01-19T02:00Z", "2026-01-19T03:30Z"]),
        }
    )
    _, ax = plot_drift(demo["drift"], incidents=spans)
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


def test_drift_heatmap_demo(demo: dict[str, Any]) -> None:
    table = demo["drift"]
    _, ax = plot_drift_heatmap(table)
    (image,) = ax.images
    assert isinstance(image, AxesImage)
    names = sorted(table["site"].astype(str).unique())
    assert [t.get_text() for t in ax.get_yticklabels()] == names
    assert image.get_array().shape[0] == len(names)
    assert image.colorbar is not None
    assert image.colorbar.ax.get_ylabel() == "drift (0-1)"
    assert ax.get_xlabel() == "time (UTC)"


def test_drift_heatmap_top_and_groups(demo: dict[str, Any]) -> None:
    table = demo["drift"]
    total = table["site"].nunique()
    _, ax = plot_drift_heatmap(table, max_services=10)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 10
    assert "shop.example.com" in labels
    assert f"top 10 of {total} services" in ax.get_title()
    groups = {n: g for n, g in demo["G"].nodes(data="group") if g}
    _, ax = plot_drift_heatmap(table, groups=groups)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["(no group)", "dc-east", "dc-west"]
    row = ax.images[0].get_array()[1]
    assert np.nanmax(row) == pytest.approx(table["drift"].max())
    assert "largest per group" in ax.get_title()


def test_drift_heatmap_empty() -> None:
    empty = pd.DataFrame({"site": [], "bucket": pd.to_datetime([], utc=True), "drift": []})
    _, ax = plot_drift_heatmap(empty)
    assert "no data" in notes(ax)


# --- liveness -----------------------------------------------------------------------------------


def test_swimlane_demo(demo: dict[str, Any]) -> None:
    table = demo["timeline"]
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


def test_swimlane_keeps_the_least_healthy(demo: dict[str, Any]) -> None:
    truth = demo["truth"]
    crash = next(i for i in truth["incidents"] if i["type"] == "crash")["services"][0]
    _, ax = plot_swimlane(demo["timeline"], max_services=5)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 5
    assert labels == sorted(labels)
    assert crash in labels
    assert truth["declared_silent"] in labels  # missing over the whole window
    assert "5 of 40 services" in ax.get_title()


def test_swimlane_chosen_services_and_empty(demo: dict[str, Any]) -> None:
    _, ax = plot_swimlane(demo["timeline"], services=["users-db", "api-gateway"])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["users-db", "api-gateway"]
    empty = demo["timeline"].iloc[:0]
    assert "no data" in notes(plot_swimlane(empty)[1])


# --- coherence ----------------------------------------------------------------------------------


def test_coherence_demo(demo: dict[str, Any]) -> None:
    result = demo["coherence"]
    _, ax = plot_coherence(result)
    worst = result.services.sort_values("coherence")["site"].astype(str).head(3).tolist()
    assert [line.get_label() for line in ax.get_lines()] == ["system", *worst]
    (system,) = [line for line in ax.get_lines() if line.get_label() == "system"]
    assert system.get_linewidth() > max(line.get_linewidth() for line in ax.get_lines()[1:])
    assert system.get_color() == PALETTE["stable"]
    assert ax.get_ylim() == (0.0, 1.02)
    assert legend_labels(ax)[0] == f"system (overall {result.overall:.3f})"


def test_coherence_services_and_components(demo: dict[str, Any]) -> None:
    _, ax = plot_coherence(demo["coherence"], services="auth-service", components=True)
    assert [line.get_label() for line in ax.get_lines()] == [
        "system",
        "system adherence",
        "system liveness",
        "system stability",
        "system declaration",
        "auth-service",
    ]


def test_coherence_empty_and_bad_input(demo: dict[str, Any]) -> None:
    from rtt_topology.analysis.coherence import Coherence

    result = demo["coherence"]
    empty = Coherence(
        result.by_bucket.iloc[:0], result.services.iloc[:0], result.system.iloc[:0], None
    )
    assert "no data" in notes(plot_coherence(empty)[1])
    with pytest.raises(InputError, match="coherence"):
        plot_coherence(result.system)  # type: ignore[arg-type]


# --- cadence ------------------------------------------------------------------------------------


def test_heartbeat_frequency_from_beacons(demo: dict[str, Any]) -> None:
    beacons = demo["beacons"]
    _, ax = plot_heartbeat_frequency(beacons)
    (total,) = [p for p in ax.patches if isinstance(p, StepPatch)]
    assert total.get_data().values.sum() == len(beacons)
    assert ax.get_ylabel() == "beacons per 5min"
    assert ax.get_xlabel() == "time (UTC)"
    assert legend_labels(ax) == ["all beacons"]


def test_heartbeat_frequency_services_on_their_own_axis(demo: dict[str, Any]) -> None:
    beacons = demo["beacons"]
    _, ax = plot_heartbeat_frequency(beacons, bucket="1h", services=["auth-service", "nope"])
    (total,) = [p for p in ax.patches if isinstance(p, StepPatch)]
    assert len(total.get_data().values) == 6  # the demo covers six hours
    (right,) = [other for other in ax.figure.axes if other is not ax]
    (service,) = [p for p in right.patches if isinstance(p, StepPatch)]
    assert service.get_data().values.sum() == (beacons["site"] == "auth-service").sum()
    assert legend_labels(ax) == ["all beacons", "auth-service (right axis)"]


def test_heartbeat_frequency_from_cadence(demo: dict[str, Any]) -> None:
    table = demo["cadence"]
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


def test_cadence_histogram_from_beacons(demo: dict[str, Any]) -> None:
    values = demo["intervals"]["interval_s"].dropna()
    declared = {n: p.heartbeat_interval_s for n, p in demo["profiles"].items()}
    _, ax = plot_cadence_histogram(demo["beacons"], declared_period_s=declared)
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


def test_cadence_histogram_services(demo: dict[str, Any]) -> None:
    shown = ["auth-service", "search-api"]
    declared = {n: p.heartbeat_interval_s for n, p in demo["profiles"].items()}
    _, ax = plot_cadence_histogram(demo["intervals"], services=shown, declared_period_s=declared)
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


# --- triads -------------------------------------------------------------------------------------


def test_triad_census_demo(demo: dict[str, Any]) -> None:
    census = demo["census"]
    _, ax = plot_triad_census(census)
    assert [t.get_text() for t in ax.get_xticklabels()] == list(TRIAD_TYPES)
    heights = [p.get_height() for p in ax.patches]
    assert heights == [census.counts[t] for t in TRIAD_TYPES]
    assert [t.get_text() for t in ax.texts] == [f"{census.counts[t]:,}" for t in TRIAD_TYPES]
    assert ax.get_yscale() == "log"
    assert ax.get_title() == "triad census (40 services, 63 edges)"
    assert legend_labels(ax)[0] == "not connected"


def test_triad_census_from_networkx_dict() -> None:
    G = nx.DiGraph([(1, 2), (2, 3), (3, 1)])
    _, ax = plot_triad_census(nx.triadic_census(G), log=False)
    heights = dict(zip(TRIAD_TYPES, (p.get_height() for p in ax.patches), strict=True))
    assert heights["030C"] == 1
    assert sum(heights.values()) == 1
    assert ax.get_yscale() == "linear"
    with pytest.raises(InputError, match="unknown triad type"):
        plot_triad_census({"999": 1})
    _, empty = plot_triad_census(nx.triadic_census(nx.DiGraph([(1, 2)])))
    assert "no triads (fewer than three services)" in notes(empty)
    assert empty.get_yscale() == "linear"


# --- the service graph --------------------------------------------------------------------------


def test_topology_demo(demo: dict[str, Any]) -> None:
    G = demo["G"]
    _, ax = plot_topology(G, states=demo["states"], violations=demo["rules"])
    drawn = arrows(ax)
    assert len(drawn) == G.number_of_edges()
    provenance = [p for *_, p in G.edges(data="provenance")]
    assert sum(a.get_linestyle() == "--" for a in drawn) == provenance.count("traced")
    assert sum(a.get_linestyle() == ":" for a in drawn) == provenance.count("declared")
    broken = {
        (v.caller, v.callee)
        for r in demo["rules"].rules
        for v in r.violations
        if v.caller and (v.caller, v.callee) in G.edges
    }
    assert len(broken) == 3
    assert sum(a.get_gid().endswith(":broken") for a in drawn) == len(broken)
    labels = {t.get_text() for t in ax.texts}
    assert labels == set(G.nodes)
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"D{i}" for i in range(8)]
    legend = legend_labels(ax)
    assert {"up", "late", "missing", "traced, not declared", "call breaks a rule"} <= set(legend)
    assert ax.get_title() == "service graph: 40 services, 63 edges, layers D0-D7"


def test_topology_layers_follow_calls(demo: dict[str, Any]) -> None:
    from rtt_topology.diagnostics.triads.decomposition import layers

    G = demo["G"]
    _, ax = plot_topology(G)
    position = {t.get_text(): t.xy for t in ax.texts}
    for node, layer in layers(G).items():
        assert position[node][0] == int(layer[1:])
    # Without states every node is neutral.
    (nodes,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert {tuple(c) for c in nodes.get_facecolors()} == {matplotlib.colors.to_rgba(NEUTRAL_COLOR)}


def test_topology_states_from_a_mapping_or_node_attribute() -> None:
    G = nx.DiGraph([("web", "api"), ("api", "db")])
    _, ax = plot_topology(G, states={"web": "up", "api": "down"})
    (nodes,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    colors = [matplotlib.colors.to_hex(c) for c in nodes.get_facecolors()]
    assert colors == [STATE_COLORS["up"], STATE_COLORS["down"], NEUTRAL_COLOR]
    nx.set_node_attributes(G, {"db": "late"}, "state")
    (nodes,) = [c for c in plot_topology(G)[1].collections if isinstance(c, PathCollection)]
    assert matplotlib.colors.to_hex(nodes.get_facecolors()[-1]) == STATE_COLORS["late"]


def test_topology_violations_as_pairs_cycles_and_nodes() -> None:
    from rtt_topology.diagnostics.rules.kinds import Violation

    G = nx.DiGraph([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")])
    cycle = Violation(key="a -> b -> c -> a", message="cycle", cycle=["a", "b", "c"])
    node = Violation(key="d", message="slow", node="d")
    _, ax = plot_topology(G, violations=[cycle, node, ("c", "d")])
    assert sum(a.get_gid().endswith(":broken") for a in arrows(ax)) == 4
    assert "service breaks a rule" in legend_labels(ax)
    with pytest.raises(InputError, match="violation"):
        plot_topology(G, violations=[42])


def test_topology_folds_tall_columns() -> None:
    # One strongly connected component: every service shares a layer.
    G = nx.DiGraph(nx.cycle_graph(70, create_using=nx.DiGraph))
    _, ax = plot_topology(G, aggregate=False)
    xs = {round(t.xy[0], 3) for t in ax.texts}
    ys = {t.xy[1] for t in ax.texts}
    assert len(xs) == 3  # 70 services in three sub-columns of at most 30 rows
    assert len(ys) <= 30
    assert [t.get_text() for t in ax.get_xticklabels()] == ["D0"]


def test_topology_nodes_without_layer() -> None:
    G = nx.DiGraph([("web", "api")])
    G.add_node("lonely")
    _, ax = plot_topology(G, layers={"web": "D0", "api": "D1"})
    assert [t.get_text() for t in ax.get_xticklabels()] == ["D0", "D1", "no layer"]


@pytest.mark.parametrize(
    ("graph", "message"),
    [
        (nx.DiGraph(), "no services"),
        (nx.DiGraph([("only", "only")]), "(no calls); 1 self-call not drawn"),
    ],
)
def test_topology_edge_cases(graph: nx.DiGraph[str], message: str) -> None:
    _, ax = plot_topology(graph)
    assert message in " ".join([*notes(ax), ax.get_title()])


def test_topology_one_node_and_no_edges() -> None:
    G = nx.DiGraph()
    G.add_nodes_from(["a", "b", "c"])
    _, ax = plot_topology(G)
    assert arrows(ax) == []
    assert {t.get_text() for t in ax.texts} == {"a", "b", "c"}
    assert ax.get_title() == "service graph: 3 services, 0 edges, layers D0 (no calls)"
    _, single = plot_topology(nx.DiGraph([("x", "x")]).subgraph(["x"]).copy())
    assert [t.get_text() for t in single.texts] == ["x"]


def synthetic(services: int, groups: int, seed: int = 3) -> nx.DiGraph[str]:
    G = nx.gnm_random_graph(services, services * 3, seed=seed, directed=True)
    G = nx.relabel_nodes(G, {i: f"svc-{i:04d}" for i in G})
    for i, n in enumerate(sorted(G)):
        G.nodes[n]["group"] = f"group-{i % groups:02d}"
    for k, (u, v) in enumerate(G.edges):
        G.edges[u, v]["provenance"] = ("both", "traced", "declared")[k % 3]
        G.edges[u, v]["calls"] = 0 if k % 3 == 2 else 10 + k
    return G


def test_topology_aggregates_large_graphs() -> None:
    G = synthetic(600, 12)
    down = {n: "down" for n in G if G.nodes[n]["group"] == "group-03"}
    _, ax = plot_topology(G, states=down)
    assert ax.get_title().startswith("service graph aggregated by group: 600 services in 12 groups")
    labels = sorted(t.get_text() for t in ax.texts)
    assert labels[0] == "group-00\n(50 services)"
    assert len(labels) == 12
    (nodes,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert sorted(nodes.get_array().tolist()) == [0.0] * 11 + [1.0]  # group-03 is down
    assert len(arrows(ax)) <= 12 * 11
    assert nodes.colorbar is not None
    assert nodes.colorbar.ax.get_ylabel() == "share of services down"


def test_topology_aggregate_switch() -> None:
    G = synthetic(60, 4)
    assert "aggregated" not in plot_topology(G)[1].get_title()
    assert "aggregated by group" in plot_topology(G, aggregate=True)[1].get_title()
    assert "aggregated" in plot_topology(G, max_nodes=10)[1].get_title()
    assert "aggregated" not in plot_topology(G, aggregate=False, max_nodes=10)[1].get_title()
    nx.set_node_attributes(G, None, "group")
    assert "aggregated by layer" in plot_topology(G, aggregate=True)[1].get_title()
    with pytest.raises(InputError, match="aggregate"):
        plot_topology(G, aggregate="yes")  # type: ignore[arg-type]


def test_topology_splits_few_groups_by_layer() -> None:
    G = nx.DiGraph([("web", "api"), ("api", "db"), ("web", "cache"), ("batch", "db")])
    nx.set_node_attributes(G, dict.fromkeys(G, "dc-east") | {"batch": "dc-west"}, "group")
    _, ax = plot_topology(G, aggregate=True)
    assert ax.get_title().startswith("service graph aggregated by group and layer: 5 services")
    labels = sorted(t.get_text() for t in ax.texts)
    assert labels == [
        "dc-east · D0\n(1 service)",
        "dc-east · D1\n(2 services)",
        "dc-east · D2\n(1 service)",
        "dc-west · D0\n(1 service)",
    ]
    _, ax = plot_topology(G, aggregate=True, max_nodes=1)  # more groups than max_nodes
    assert "aggregated by layer" in ax.get_title()


def test_topology_rejects_other_graphs() -> None:
    with pytest.raises(InputError, match="DiGraph"):
        plot_topology(nx.Graph([(1, 2)]))  # type: ignore[arg-type]


# --- every plot: literal names, given axes, no global state -------------------------------------


def test_odd_names_draw_as_literal_text(tmp_path: Path) -> None:
    from rtt_topology.analysis.drift import drift
    from rtt_topology.analysis.liveness import timeline

    G = nx.DiGraph(list(itertools.pairwise(ODD_NAMES)))
    _, ax = plot_topology(G, states=dict.fromkeys(ODD_NAMES, "up"))
    ax.figure.canvas.draw()
    assert sorted(rendered(t) for t in ax.texts) == sorted((n, False) for n in ODD_NAMES)

    beacons = beacon_file(tmp_path, ODD_NAMES)
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


def test_tex_is_off_even_when_asked_globally(demo: dict[str, Any]) -> None:
    with matplotlib.rc_context({"text.usetex": True}):
        _, ax = plot_swimlane(demo["timeline"], services=["auth-service"])
    assert not ax.title.get_usetex()
    assert not any(t.get_usetex() for t in ax.get_yticklabels())
    assert not any(t.get_usetex() for t in ax.get_legend().get_texts())


def test_plots_draw_on_the_given_axes_without_global_changes(demo: dict[str, Any]) -> None:
    before = dict(matplotlib.rcParams)
    calls = [
        lambda ax: plot_drift(demo["drift"], ax=ax),
        lambda ax: plot_drift_heatmap(demo["drift"], ax=ax),
        lambda ax: plot_swimlane(demo["timeline"], ax=ax),
        lambda ax: plot_coherence(demo["coherence"], ax=ax),
        lambda ax: plot_heartbeat_frequency(demo["beacons"], ax=ax),
        lambda ax: plot_cadence_histogram(demo["intervals"], ax=ax),
        lambda ax: plot_triad_census(demo["census"], ax=ax),
        lambda ax: plot_topology(demo["G"], ax=ax),
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


def test_new_figures_come_from_pyplot(demo: dict[str, Any]) -> None:
    _, ax = plot_triad_census(demo["census"])
    assert plt.get_fignums() == [ax.figure.number]
