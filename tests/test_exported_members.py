"""Pin the public API: adding or removing a name is a decision, not an accident."""

from __future__ import annotations

import importlib

import pytest

import rtt_topology

PUBLIC = [
    "BEACON_COLUMNS", "Beacon", "BeaconLoad", "FormatError", "InputError", "LoadError",
    "LoadReport", "Profile", "ProfileLoad", "RecordError", "Reject", "RttTopologyError",
    "SourceNotFoundError", "StoreError", "StrictLoadError", "Structure", "__version__",
    "build_beacon_payload",
    "collector_gaps", "create_profile", "create_session_id", "empty_beacon_frame",
    "event_counts", "generate_demo", "write_noisy_history",
    "intervals", "profiles_frame", "read_beacons", "beacons_from_records", "read_profiles",
    "service_summary", "clock_skew", "History", "site_sources", "ingest", "IngestResult",
    "read_rejects", "store_info", "StoreInfo", "write_scaled_store",
    "validate_beacon_frame", "validate_profile", "write_scaled_beacons", "build_graph",
    "validate_graph", "GraphDiff", "Reconciliation", "diff_graphs", "reconcile",
    "from_node_link", "graph_from_frames", "graph_to_frames", "read_node_link", "to_dot",
    "to_node_link", "write_dot", "write_graphml", "write_node_link", "TraceLoad", "TraceReport",
    "edges_from_spans", "read_traces", "STATES", "downtime", "flips", "states", "time_in_states",
    "timeline", "uptime", "root_causes", "readiness_summary", "cadence_changes",
    "drift_event_counts", "drift_events", "drift_kinds", "change_points", "detect_changes",
    "periods", "restarts", "Decomposition", "decompose", "node_census", "triad_chunks",
    "triadic_census", "load_rules", "load_baseline", "write_baseline", "load_corridors",
    "observed_paths", "check_corridors", "validate_payload", "corridor_payload",
    "topology_payload", "parse_payload", "diagnose", "build_validate_payload",
    "build_corridor_payload", "build_topology_payload", "find_incidents", "Report",
    "build_report", "plot_cadence_histogram", "plot_coherence", "plot_drift",
    "plot_drift_heatmap", "plot_heartbeat_frequency", "plot_swimlane", "plot_topology",
    "plot_triad_census", "RTTClient", "AsyncRTTClient", "HeartbeatEmitter", "ApiError",
    "BadResponseError", "ClientError", "ConnectionFailedError", "RequestTimeoutError",
]  # fmt: skip


def test_package_exports() -> None:
    assert sorted(rtt_topology.__all__) == sorted(PUBLIC)
    assert sorted(rtt_topology._EXPORTS) == sorted(n for n in PUBLIC if n != "__version__")


@pytest.mark.parametrize("name", [n for n in PUBLIC if n != "__version__"])
def test_every_export_resolves(name: str) -> None:
    assert getattr(rtt_topology, name) is not None


def test_unknown_attribute() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        rtt_topology.nope  # noqa: B018


def _all_modules() -> list[str]:
    import pkgutil

    found = pkgutil.walk_packages(rtt_topology.__path__, "rtt_topology.")
    return sorted(m.name for m in found if not m.name.endswith("__main__"))


@pytest.mark.parametrize("module", _all_modules())
def test_modules_declare_all(module: str) -> None:
    mod = importlib.import_module(module)
    assert mod.__all__
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.{name}"


@pytest.mark.parametrize("name", [n for n in PUBLIC if n != "__version__"])
def test_every_export_is_importable_from_its_subpackage(name: str) -> None:
    home = rtt_topology._EXPORTS[name]
    # The root points at a foundation module or at a stage's package, never inside one.
    assert home.count(".") == 1, home
    module = importlib.import_module(home)
    assert name in module.__all__
    assert getattr(module, name) is getattr(rtt_topology, name)


def test_import_is_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, rtt_topology; "
        "print(sorted(m for m in ('pandas', 'pyarrow', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_public_name_is_shadowed_by_a_submodule() -> None:
    """Importing a submodule sets it on the package: it must not hide a public name."""
    import pkgutil
    import subprocess
    import sys

    # Only direct submodules are set on the package (rtt_topology.demo.timeline is not).
    modules = [m.name for m in pkgutil.iter_modules(rtt_topology.__path__, "rtt_topology.")]
    shadowed = sorted(set(PUBLIC) & {name.rsplit(".", 1)[-1] for name in modules})
    assert shadowed == []
    # And in a fresh interpreter, after importing everything, names still resolve to objects.
    code = (
        "import importlib, inspect, pkgutil, rtt_topology as r\n"
        "for m in pkgutil.walk_packages(r.__path__, 'rtt_topology.'):\n"
        "    if not m.name.endswith('__main__'): importlib.import_module(m.name)\n"
        "print([n for n in r.__all__ if inspect.ismodule(getattr(r, n))])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
