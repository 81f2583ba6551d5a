from __future__ import annotations

import os
import re
from pathlib import Path

import networkx as nx
import pandas as pd
import prometheus_client
import prometheus_client.exposition
import pytest
from prometheus_client.parser import text_string_to_metric_families

from rtt_topology._version import __version__
from rtt_topology.aggregate.history import cluster_sites, service_summary
from rtt_topology.analysis.coherence import COMPONENTS, coherence
from rtt_topology.analysis.drift import drift_event_counts
from rtt_topology.analysis.liveness import STATES, states, uptime
from rtt_topology.columns import empty_beacon_frame
from rtt_topology.diagnostics.corridors import (
    CORRIDOR_STATUSES,
    CorridorResults,
    CorridorSet,
    check_corridors,
)
from rtt_topology.errors import InputError
from rtt_topology.export import metrics
from rtt_topology.export.metrics import (
    METRICS,
    RttCollector,
    exposition,
    metrics_registry,
    write_textfile,
)
from rtt_topology.graph.build import build_graph
from rtt_topology.schemas import Profile
from tests.builders import beacon_table

SPECS = {spec.name: spec for spec in METRICS}


@pytest.fixture(scope="module")
def demo_corridor_results(demo_corridors: CorridorSet, demo_paths: pd.DataFrame) -> CorridorResults:
    return check_corridors(demo_corridors, demo_paths)


@pytest.fixture(scope="module")
def demo_exposition(
    demo_beacons: pd.DataFrame,
    demo_profiles: dict[str, Profile],
    demo_graph: nx.DiGraph[str],
    demo_corridor_results: CorridorResults,
) -> str:
    return exposition(demo_beacons, demo_profiles, demo_graph, corridors=demo_corridor_results)


def parsed(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Sample name -> {sorted label items: value}."""
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = tuple(sorted(sample.labels.items()))
            assert key not in out.setdefault(sample.name, {}), (sample.name, key)
            out[sample.name][key] = sample.value
    return out


def by(samples: dict, label: str) -> dict[str, float]:
    """The samples that carry exactly this one label, keyed by its value."""
    return {dict(k)[label]: v for k, v in samples.items() if [n for n, _ in k] == [label]}


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# -- the documented list ---------------------------------------------------------------------


def test_docstring_table_matches_metrics() -> None:
    doc = metrics.__doc__
    assert doc is not None
    rows = []
    for line in doc.splitlines():
        found = re.match(r"^(rtt_\w+)\s+(counter|gauge)\s+(.+?)\s{2,}(upstream|ours)\s", line)
        if found:
            rows.append(found.groups())
    expected = []
    for spec in METRICS:
        labels = " | ".join(", ".join(s) for s in spec.label_sets) or "(none)"
        expected.append((spec.name, spec.type, labels, spec.origin))
    assert rows == expected


def test_names_follow_conventions() -> None:
    names = [spec.name for spec in METRICS]
    assert len(names) == len(set(names))
    for spec in METRICS:
        assert spec.name.startswith("rtt_")
        assert spec.name.endswith("_total") == (spec.type == "counter"), spec.name
        assert spec.help
        assert "\n" not in spec.help
    upstream = {s.name for s in METRICS if s.origin == "upstream"}
    assert upstream == {"rtt_beacons_total", "rtt_drift_events_total"}
    assert SPECS["rtt_beacons_total"].label_sets == (("service",), ("cluster",))


# -- the exposition of the demo --------------------------------------------------------------


def test_families_types_help_and_labels(demo_exposition: str) -> None:
    text = demo_exposition
    families = list(text_string_to_metric_families(text))
    exposed = [f.samples[0].name for f in families]
    # Every metric has samples on the demo, in METRICS order.
    assert exposed == [spec.name for spec in METRICS]
    for family in families:
        spec = SPECS[family.samples[0].name]
        assert family.type == spec.type
        assert family.documentation == spec.help
        assert f"# HELP {spec.name} {spec.help}\n" in text
        assert f"# TYPE {spec.name} {spec.type}\n" in text
        for sample in family.samples:
            assert sample.name == spec.name
            assert sample.timestamp is None
            assert tuple(sorted(sample.labels)) in {tuple(sorted(s)) for s in spec.label_sets}
    assert "_total_total" not in text
    assert text.count("# TYPE ") == len(METRICS)


def test_beacons_and_intervals_round_trip(
    demo_beacons: pd.DataFrame, demo_profiles: dict[str, Profile], demo_exposition: str
) -> None:
    beacons, profiles, text = demo_beacons, demo_profiles, demo_exposition
    samples = parsed(text)
    summary = service_summary(beacons).set_index("site")
    clusters = cluster_sites(beacons)
    assert clusters == ["dc-east", "dc-west"]
    counted = by(samples["rtt_beacons_total"], "service")
    cluster_counts = by(samples["rtt_beacons_total"], "cluster")
    assert cluster_counts == {c: summary.loc[c, "beacons"] for c in clusters}
    seen = [s for s in summary.index if s not in clusters]
    for site in seen:
        assert counted[site] == summary.loc[site, "beacons"]
    # Declared services that never sent a beacon count 0.
    silent = set(profiles) - set(summary.index)
    assert silent
    assert {s: counted[s] for s in silent} == dict.fromkeys(silent, 0.0)
    assert set(counted) == set(seen) | silent
    intervals = samples["rtt_heartbeat_interval_seconds"]
    for site in seen:
        assert by(intervals, "service")[site] == pytest.approx(
            summary.loc[site, "median_interval_s"]
        )
    for cluster in clusters:
        assert by(intervals, "cluster")[cluster] == pytest.approx(
            summary.loc[cluster, "median_interval_s"]
        )


def test_drift_round_trip(
    demo_beacons: pd.DataFrame,
    demo_profiles: dict[str, Profile],
    demo_graph: nx.DiGraph[str],
    demo_exposition: str,
) -> None:
    beacons, profiles, G, text = demo_beacons, demo_profiles, demo_graph, demo_exposition
    samples = parsed(text)["rtt_drift_events_total"]
    counts = drift_event_counts(beacons).set_index("site")["drift_events"]
    per_service = by(samples, "service")
    for site, value in per_service.items():
        assert value == counts.get(site, 0)
    assert "dc-east" not in per_service
    assert sum(per_service.values()) == counts.sum() > 0
    expected: dict[str, int] = {"dc-east": 0, "dc-west": 0}
    for site, value in per_service.items():
        group = G.nodes[site]["group"]
        expected[group] = expected.get(group, 0) + int(value)
    assert by(samples, "cluster") == expected
    # Without a graph the clusters of the services are unknown: no cluster sample.
    alone = parsed(exposition(beacons, profiles))["rtt_drift_events_total"]
    assert by(alone, "cluster") == {}
    assert by(alone, "service") == per_service


def test_liveness_round_trip(
    demo_beacons: pd.DataFrame, demo_profiles: dict[str, Profile], demo_exposition: str
) -> None:
    beacons, profiles, text = demo_beacons, demo_profiles, demo_exposition
    samples = parsed(text)
    table = states(beacons, profiles).set_index("site")
    state = samples["rtt_service_state"]
    assert len(state) == len(table) * len(STATES)
    for site, row in table.iterrows():
        values = {name: state[(("service", site), ("state", name))] for name in STATES}
        assert values == {name: float(name == row["state"]) for name in STATES}
    ages = by(samples["rtt_seconds_since_last_beacon"], "service")
    assert set(ages) == set(table.index[table["age_s"].notna()])
    assert "missing" in set(table["state"])  # the declared, silent service has no age
    for site, age in ages.items():
        assert age == pytest.approx(table.loc[site, "age_s"])
    ratios = by(samples["rtt_uptime_ratio"], "service")
    expected = uptime(beacons, profiles).set_index("site")["uptime_pct"].dropna() / 100
    assert ratios == pytest.approx(expected.to_dict())
    assert all(0 <= v <= 1 for v in ratios.values())


def test_coherence_round_trip(
    demo_beacons: pd.DataFrame,
    demo_profiles: dict[str, Profile],
    demo_graph: nx.DiGraph[str],
    demo_exposition: str,
) -> None:
    beacons, profiles, G, text = demo_beacons, demo_profiles, demo_graph, demo_exposition
    samples = parsed(text)
    result = coherence(beacons, profiles, G)
    services = result.services.set_index("site")
    scores = by(samples["rtt_coherence_score"], "service")
    assert scores == pytest.approx(services["coherence"].to_dict())
    components = samples["rtt_coherence_component"]
    for site, row in services.iterrows():
        for name in COMPONENTS:
            key = (("component", name), ("service", site))
            if pd.isna(row[name]):
                assert key not in components
            else:
                assert components[key] == pytest.approx(row[name])
    assert samples["rtt_system_coherence_score"][()] == pytest.approx(result.overall)


def test_edges_round_trip(demo_graph: nx.DiGraph[str], demo_exposition: str) -> None:
    G, text = demo_graph, demo_exposition
    samples = parsed(text)
    calls, errors = samples["rtt_edge_calls_total"], samples["rtt_edge_errors_total"]
    traced = {(u, v): a for u, v, a in G.edges(data=True) if a["provenance"] in ("traced", "both")}
    assert len(traced) < G.number_of_edges()  # declared-only edges are not exported
    assert len(calls) == len(errors) == len(traced)
    for (u, v), attrs in traced.items():
        key = (("callee", v), ("caller", u), ("kind", attrs["kind"]))
        assert calls[key] == attrs["calls"]
        assert errors[key] == attrs["errors"]
    assert sum(errors.values()) > 0


def test_corridors_round_trip(
    demo_corridor_results: CorridorResults,
    demo_exposition: str,
    demo_beacons: pd.DataFrame,
    demo_profiles: dict[str, Profile],
    demo_graph: nx.DiGraph[str],
) -> None:
    results, text = demo_corridor_results, demo_exposition
    samples = parsed(text)
    status = samples["rtt_corridor_status"]
    assert len(status) == len(results.corridors) * len(CORRIDOR_STATUSES)
    aligned = by(samples["rtt_corridor_aligned"], "corridor")
    calls = by(samples["rtt_corridor_calls_total"], "corridor")
    p95 = by(samples["rtt_corridor_latency_p95_seconds"], "corridor")
    bound = by(samples["rtt_corridor_max_latency_seconds"], "corridor")
    for c in results.corridors:
        for name in CORRIDOR_STATUSES:
            assert status[(("corridor", c.name), ("status", name))] == float(c.status == name)
        assert aligned[c.name] == float(c.status in ("aligned", "unused"))
        assert calls[c.name] == c.calls
        if c.latency_p95_ms is None:
            assert c.name not in p95
        else:
            assert p95[c.name] == pytest.approx(c.latency_p95_ms / 1000)
        if c.max_latency_ms is not None:
            assert bound[c.name] == pytest.approx(c.max_latency_ms / 1000)
    assert {c.status for c in results.corridors} == set(CORRIDOR_STATUSES)
    # Without corridor results there is no corridor metric.
    beacons, profiles, G = demo_beacons, demo_profiles, demo_graph
    assert "rtt_corridor" not in exposition(beacons, profiles, G)


def test_snapshot_and_build_info(demo_beacons: pd.DataFrame, demo_exposition: str) -> None:
    beacons, text = demo_beacons, demo_exposition
    samples = parsed(text)
    last = beacons["ts"].max()
    assert samples["rtt_snapshot_timestamp_seconds"][()] == pytest.approx(last.timestamp())
    assert samples["rtt_topology_build_info"] == {(("version", __version__),): 1.0}


# -- the moment ------------------------------------------------------------------------------


def test_at_restricts_to_beacons_until_then(
    demo_beacons: pd.DataFrame, demo_profiles: dict[str, Profile], demo_graph: nx.DiGraph[str]
) -> None:
    beacons, profiles, G = demo_beacons, demo_profiles, demo_graph
    at = "2026-01-19T03:00:00Z"
    samples = parsed(exposition(beacons, profiles, G, at=at))
    moment = pd.Timestamp(at)
    kept = beacons[beacons["ts"] <= moment]
    summary = service_summary(kept).set_index("site")
    counted = by(samples["rtt_beacons_total"], "service")
    for site in summary.index:
        if site not in ("dc-east", "dc-west"):
            assert counted[site] == summary.loc[site, "beacons"]
    assert sum(counted.values()) < len(beacons)
    table = states(beacons, profiles, at=at).set_index("site")
    state = samples["rtt_service_state"]
    current = {dict(k)["service"]: dict(k)["state"] for k, v in state.items() if v == 1}
    assert current == table["state"].astype(str).to_dict()
    assert samples["rtt_snapshot_timestamp_seconds"][()] == moment.timestamp()
    # A datetime works as well as text.
    assert exposition(beacons, profiles, G, at=moment.to_pydatetime()) == exposition(
        beacons, profiles, G, at=at
    )


def test_at_after_the_data_counts_the_silence(
    demo_beacons: pd.DataFrame, demo_profiles: dict[str, Profile]
) -> None:
    beacons, profiles = demo_beacons, demo_profiles
    samples = parsed(exposition(beacons, profiles, at="2026-01-19T08:00:00Z"))
    state = samples["rtt_service_state"]
    current = {dict(k)["state"] for k, v in state.items() if v == 1}
    assert current <= {"down", "missing", "stopped"}
    ages = by(samples["rtt_seconds_since_last_beacon"], "service")
    assert min(ages.values()) > 7000


def test_naive_at_is_rejected(demo_beacons: pd.DataFrame) -> None:
    beacons = demo_beacons
    with pytest.raises(InputError):
        exposition(beacons, at="2026-01-19T03:00:00")


def test_not_a_beacon_table() -> None:
    with pytest.raises(InputError, match="not a beacon table"):
        exposition(pd.DataFrame({"site": ["a"]}))


# -- edge cases ------------------------------------------------------------------------------


@pytest.mark.parametrize("beacons", [None, empty_beacon_frame()], ids=["none", "empty"])
def test_empty_input_gives_only_build_info(beacons) -> None:
    text = exposition(beacons)
    families = list(text_string_to_metric_families(text))
    assert [f.name for f in families] == ["rtt_topology_build_info"]
    assert text == (
        "# HELP rtt_topology_build_info "
        + SPECS["rtt_topology_build_info"].help
        + "\n# TYPE rtt_topology_build_info gauge\n"
        + f'rtt_topology_build_info{{version="{__version__}"}} 1.0\n'
    )
    # An empty graph and no corridors change nothing.
    assert exposition(beacons, None, nx.DiGraph()) == text


def test_empty_beacons_with_a_moment_and_profiles() -> None:
    declared = {"api": Profile(rtt_version="1.0", supports=[])}
    samples = parsed(exposition(None, declared, at="2026-01-19T15:00:00Z"))
    assert samples["rtt_beacons_total"] == {(("service", "api"),): 0.0}
    assert samples["rtt_service_state"][(("service", "api"), ("state", "missing"))] == 1.0
    assert "rtt_seconds_since_last_beacon" not in samples
    assert "rtt_uptime_ratio" not in samples
    assert (
        samples["rtt_snapshot_timestamp_seconds"][()]
        == pd.Timestamp("2026-01-19T15:00:00Z").timestamp()
    )


NASTY = [
    'quo"te',
    "back\\slash",
    "new\nline",
    "<script>alert(1)</script>",
    "ünïcødé-服务",
    "a b{c}=,",
    "trailing\\",
]


def test_label_values_are_escaped() -> None:
    rows = [
        {"site": name, "session": "s", "event": "heartbeat", "ts": f"2026-01-19T15:00:0{i}Z"}
        for i, name in enumerate(NASTY)
    ]
    text = exposition(beacon_table(rows))
    for line in text.splitlines():
        assert line.startswith(("# HELP ", "# TYPE ", "rtt_"))
    assert 'service="quo\\"te"' in text
    assert 'service="back\\\\slash"' in text
    assert 'service="new\\nline"' in text
    assert 'service="trailing\\\\"' in text
    assert 'service="<script>alert(1)</script>"' in text
    assert 'service="ünïcødé-服务"' in text
    counted = by(parsed(text)["rtt_beacons_total"], "service")
    assert counted == dict.fromkeys(NASTY, 1.0)


def test_edge_and_corridor_labels_are_escaped() -> None:
    G = build_graph(
        edges=pd.DataFrame(
            {
                "caller": ['we"b'],
                "callee": ["d\nb"],
                "kind": ["rpc"],
                "calls": [3],
                "errors": [1],
            }
        )
    )
    samples = parsed(exposition(None, None, G))
    key = (("callee", "d\nb"), ("caller", 'we"b'), ("kind", "rpc"))
    assert samples["rtt_edge_calls_total"] == {key: 3.0}
    assert samples["rtt_edge_errors_total"] == {key: 1.0}


# -- order and registry ----------------------------------------------------------------------


def test_output_is_deterministic(
    demo_beacons: pd.DataFrame,
    demo_profiles: dict[str, Profile],
    demo_graph: nx.DiGraph[str],
    demo_corridor_results: CorridorResults,
    demo_exposition: str,
) -> None:
    beacons, profiles, G, results, text = (
        demo_beacons,
        demo_profiles,
        demo_graph,
        demo_corridor_results,
        demo_exposition,
    )
    assert exposition(beacons, profiles, G, corridors=results) == text
    # The same graph built in another order gives the same text.
    H = nx.DiGraph()
    H.graph.update(G.graph)
    H.add_nodes_from(reversed(list(G.nodes(data=True))))
    H.add_edges_from(reversed(list(G.edges(data=True))))
    assert exposition(beacons, profiles, H, corridors=results) == text


def test_samples_are_sorted(demo_exposition: str) -> None:
    text = demo_exposition
    for family in text_string_to_metric_families(text):
        spec = SPECS[family.samples[0].name]
        sets = [tuple(sorted(names)) for names in spec.label_sets]
        keys = []
        for sample in family.samples:
            i = sets.index(tuple(sorted(sample.labels)))
            keys.append((i, tuple(sample.labels[n] for n in spec.label_sets[i])))
        assert keys == sorted(keys)


def test_registry_is_new_and_custom(demo_beacons: pd.DataFrame) -> None:
    beacons = demo_beacons
    one, two = metrics_registry(beacons), metrics_registry(beacons)
    assert isinstance(one, prometheus_client.CollectorRegistry)
    assert one is not two
    assert one is not prometheus_client.REGISTRY
    assert prometheus_client.REGISTRY.get_sample_value("rtt_topology_build_info") is None
    assert one.get_sample_value("rtt_beacons_total", {"cluster": "dc-east"}) == 725.0
    # describe() names every metric: the same metrics twice in one registry are refused.
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        one.register(RttCollector(beacons))


def test_collector_values_are_fixed_at_creation() -> None:
    rows = [{"site": "api", "session": "s", "event": "heartbeat", "ts": "2026-01-19T15:00:00Z"}]
    beacons = beacon_table(rows)
    registry = metrics_registry(beacons)
    first = prometheus_client.generate_latest(registry)
    assert prometheus_client.generate_latest(registry) == first


# -- the textfile ----------------------------------------------------------------------------


def test_textfile_is_the_exposition(
    demo_beacons: pd.DataFrame,
    demo_profiles: dict[str, Profile],
    demo_graph: nx.DiGraph[str],
    demo_corridor_results: CorridorResults,
    demo_exposition: str,
    tmp_path: Path,
) -> None:
    beacons, profiles, G, results, text = (
        demo_beacons,
        demo_profiles,
        demo_graph,
        demo_corridor_results,
        demo_exposition,
    )
    target = tmp_path / "rtt.prom"
    write_textfile(target, beacons, profiles, G, corridors=results)
    assert target.read_text(encoding="utf-8") == text
    assert listing(tmp_path) == ["rtt.prom"]
    write_textfile(str(target), None)
    assert target.read_text(encoding="utf-8") == exposition(None)
    assert listing(tmp_path) == ["rtt.prom"]


def test_textfile_is_never_seen_half_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "rtt.prom"
    target.write_text("old\n", encoding="utf-8")
    original = prometheus_client.exposition.generate_latest
    seen: list[tuple[str, list[str]]] = []

    def spy(*args, **kwargs):
        # While the new text is produced, the target still holds the old one, and the
        # new text goes to another file of the same directory.
        seen.append((target.read_text(encoding="utf-8"), listing(tmp_path)))
        return original(*args, **kwargs)

    monkeypatch.setattr(prometheus_client.exposition, "generate_latest", spy)
    write_textfile(target, None)
    assert seen[0][0] == "old\n"
    assert len(seen[0][1]) == 2
    assert next(n for n in seen[0][1] if n != "rtt.prom").startswith("rtt.prom.")
    assert target.read_text(encoding="utf-8") == exposition(None)


def test_failed_textfile_write_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "rtt.prom"
    write_textfile(target, None)
    before = target.read_bytes()

    def broken(self):
        yield from list(RttCollector.describe(self))[:1]
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(RttCollector, "collect", broken)
        with pytest.raises(OSError, match="disk full"):
            write_textfile(target, None)
    assert target.read_bytes() == before
    assert listing(tmp_path) == ["rtt.prom"]

    def no_rename(*args, **kwargs):
        raise OSError("rename failed")

    with monkeypatch.context() as patch:
        patch.setattr(os, "rename", no_rename)
        patch.setattr(os, "replace", no_rename)
        with pytest.raises(OSError, match="rename failed"):
            write_textfile(target, None, at="2026-01-19T15:00:00Z")
    assert target.read_bytes() == before
    assert listing(tmp_path) == ["rtt.prom"]


def test_textfile_needs_its_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_textfile(tmp_path / "missing" / "rtt.prom", None)
