"""rtt-topology: offline analysis of RTT-Inside heartbeats, profiles and traces.

The public API is importable from the package root; submodules are imported on
first use, so ``import rtt_topology`` stays fast.

>>> import rtt_topology as rtt
>>> rtt.create_profile(supports=["drift"])["rtt_version"]
'1.0'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from rtt_topology._version import __version__

if TYPE_CHECKING:
    from rtt_topology.cadence import cadence_changes
    from rtt_topology.changepoints import change_points, detect_changes
    from rtt_topology.client import AsyncRTTClient, RTTClient
    from rtt_topology.columns import BEACON_COLUMNS, empty_beacon_frame, validate_beacon_frame
    from rtt_topology.corridors import check_corridors, load_corridors, observed_paths
    from rtt_topology.demo import generate_demo, write_scaled_beacons
    from rtt_topology.drift import drift_event_counts, drift_events, drift_kinds
    from rtt_topology.emitter import HeartbeatEmitter
    from rtt_topology.errors import (
        ApiError,
        BadResponseError,
        ClientError,
        ConnectionFailedError,
        FormatError,
        InputError,
        LoadError,
        RecordError,
        RequestTimeoutError,
        RttTopologyError,
        SourceNotFoundError,
        StrictLoadError,
    )
    from rtt_topology.graph import build_graph, validate_graph
    from rtt_topology.history import event_counts, intervals, periods, restarts, service_summary
    from rtt_topology.impact import root_causes
    from rtt_topology.incidents import find_incidents
    from rtt_topology.io import (
        from_node_link,
        graph_from_frames,
        graph_to_frames,
        read_node_link,
        to_dot,
        to_node_link,
        write_dot,
        write_graphml,
        write_node_link,
    )
    from rtt_topology.liveness import (
        STATES,
        downtime,
        flips,
        states,
        time_in_states,
        timeline,
        uptime,
    )
    from rtt_topology.load import (
        BeaconLoad,
        LoadReport,
        ProfileLoad,
        Reject,
        TraceLoad,
        TraceReport,
        beacons_from_records,
        edges_from_spans,
        profiles_frame,
        read_beacons,
        read_profiles,
        read_traces,
    )
    from rtt_topology.payloads import (
        corridor_payload,
        parse_payload,
        topology_payload,
        validate_payload,
    )
    from rtt_topology.plots import (
        plot_cadence_histogram,
        plot_coherence,
        plot_drift,
        plot_drift_heatmap,
        plot_heartbeat_frequency,
        plot_swimlane,
        plot_topology,
        plot_triad_census,
    )
    from rtt_topology.readiness import readiness_summary
    from rtt_topology.reconciliation import GraphDiff, Reconciliation, diff_graphs, reconcile
    from rtt_topology.report import Report, build_report
    from rtt_topology.rules import load_baseline, load_rules, write_baseline
    from rtt_topology.schemas import Beacon, Profile, Structure
    from rtt_topology.sdk import (
        build_beacon_payload,
        build_corridor_payload,
        build_topology_payload,
        build_validate_payload,
        create_profile,
        create_session_id,
        validate_profile,
    )
    from rtt_topology.triads import (
        Decomposition,
        decompose,
        node_census,
        triad_chunks,
        triadic_census,
    )
    from rtt_topology.validator import diagnose

#: Public name -> the module that defines it.
_EXPORTS: dict[str, str] = {
    "BEACON_COLUMNS": "rtt_topology.columns",
    "empty_beacon_frame": "rtt_topology.columns",
    "validate_beacon_frame": "rtt_topology.columns",
    "generate_demo": "rtt_topology.demo",
    "write_scaled_beacons": "rtt_topology.demo",
    "FormatError": "rtt_topology.errors",
    "InputError": "rtt_topology.errors",
    "LoadError": "rtt_topology.errors",
    "RecordError": "rtt_topology.errors",
    "RttTopologyError": "rtt_topology.errors",
    "SourceNotFoundError": "rtt_topology.errors",
    "StrictLoadError": "rtt_topology.errors",
    "build_graph": "rtt_topology.graph",
    "validate_graph": "rtt_topology.graph",
    "GraphDiff": "rtt_topology.reconciliation",
    "Reconciliation": "rtt_topology.reconciliation",
    "diff_graphs": "rtt_topology.reconciliation",
    "reconcile": "rtt_topology.reconciliation",
    "from_node_link": "rtt_topology.io",
    "graph_from_frames": "rtt_topology.io",
    "graph_to_frames": "rtt_topology.io",
    "read_node_link": "rtt_topology.io",
    "to_dot": "rtt_topology.io",
    "to_node_link": "rtt_topology.io",
    "write_dot": "rtt_topology.io",
    "write_graphml": "rtt_topology.io",
    "write_node_link": "rtt_topology.io",
    "STATES": "rtt_topology.liveness",
    "downtime": "rtt_topology.liveness",
    "flips": "rtt_topology.liveness",
    "states": "rtt_topology.liveness",
    "time_in_states": "rtt_topology.liveness",
    "timeline": "rtt_topology.liveness",
    "uptime": "rtt_topology.liveness",
    "root_causes": "rtt_topology.impact",
    "readiness_summary": "rtt_topology.readiness",
    "cadence_changes": "rtt_topology.cadence",
    "drift_event_counts": "rtt_topology.drift",
    "drift_events": "rtt_topology.drift",
    "drift_kinds": "rtt_topology.drift",
    "change_points": "rtt_topology.changepoints",
    "detect_changes": "rtt_topology.changepoints",
    "periods": "rtt_topology.history",
    "restarts": "rtt_topology.history",
    "Decomposition": "rtt_topology.triads",
    "decompose": "rtt_topology.triads",
    "node_census": "rtt_topology.triads",
    "triad_chunks": "rtt_topology.triads",
    "triadic_census": "rtt_topology.triads",
    "load_rules": "rtt_topology.rules",
    "load_baseline": "rtt_topology.rules",
    "write_baseline": "rtt_topology.rules",
    "load_corridors": "rtt_topology.corridors",
    "observed_paths": "rtt_topology.corridors",
    "check_corridors": "rtt_topology.corridors",
    "validate_payload": "rtt_topology.payloads",
    "corridor_payload": "rtt_topology.payloads",
    "topology_payload": "rtt_topology.payloads",
    "parse_payload": "rtt_topology.payloads",
    "diagnose": "rtt_topology.validator",
    "build_validate_payload": "rtt_topology.sdk",
    "build_corridor_payload": "rtt_topology.sdk",
    "build_topology_payload": "rtt_topology.sdk",
    "event_counts": "rtt_topology.history",
    "intervals": "rtt_topology.history",
    "service_summary": "rtt_topology.history",
    "BeaconLoad": "rtt_topology.load",
    "LoadReport": "rtt_topology.load",
    "ProfileLoad": "rtt_topology.load",
    "Reject": "rtt_topology.load",
    "profiles_frame": "rtt_topology.load",
    "read_beacons": "rtt_topology.load",
    "beacons_from_records": "rtt_topology.load",
    "read_profiles": "rtt_topology.load",
    "read_traces": "rtt_topology.load",
    "edges_from_spans": "rtt_topology.load",
    "TraceLoad": "rtt_topology.load",
    "TraceReport": "rtt_topology.load",
    "Beacon": "rtt_topology.schemas",
    "Profile": "rtt_topology.schemas",
    "Structure": "rtt_topology.schemas",
    "build_beacon_payload": "rtt_topology.sdk",
    "create_profile": "rtt_topology.sdk",
    "create_session_id": "rtt_topology.sdk",
    "validate_profile": "rtt_topology.sdk",
    "RTTClient": "rtt_topology.client",
    "AsyncRTTClient": "rtt_topology.client",
    "HeartbeatEmitter": "rtt_topology.emitter",
    "ApiError": "rtt_topology.errors",
    "BadResponseError": "rtt_topology.errors",
    "ClientError": "rtt_topology.errors",
    "ConnectionFailedError": "rtt_topology.errors",
    "RequestTimeoutError": "rtt_topology.errors",
    "find_incidents": "rtt_topology.incidents",
    "Report": "rtt_topology.report",
    "build_report": "rtt_topology.report",
    "plot_cadence_histogram": "rtt_topology.plots",
    "plot_coherence": "rtt_topology.plots",
    "plot_drift": "rtt_topology.plots",
    "plot_drift_heatmap": "rtt_topology.plots",
    "plot_heartbeat_frequency": "rtt_topology.plots",
    "plot_swimlane": "rtt_topology.plots",
    "plot_topology": "rtt_topology.plots",
    "plot_triad_census": "rtt_topology.plots",
}

__all__ = [
    "BEACON_COLUMNS",
    "STATES",
    "ApiError",
    "AsyncRTTClient",
    "BadResponseError",
    "Beacon",
    "BeaconLoad",
    "ClientError",
    "ConnectionFailedError",
    "Decomposition",
    "FormatError",
    "GraphDiff",
    "HeartbeatEmitter",
    "InputError",
    "LoadError",
    "LoadReport",
    "Profile",
    "ProfileLoad",
    "RTTClient",
    "Reconciliation",
    "RecordError",
    "Reject",
    "Report",
    "RequestTimeoutError",
    "RttTopologyError",
    "SourceNotFoundError",
    "StrictLoadError",
    "Structure",
    "TraceLoad",
    "TraceReport",
    "__version__",
    "beacons_from_records",
    "build_beacon_payload",
    "build_corridor_payload",
    "build_graph",
    "build_report",
    "build_topology_payload",
    "build_validate_payload",
    "cadence_changes",
    "change_points",
    "check_corridors",
    "corridor_payload",
    "create_profile",
    "create_session_id",
    "decompose",
    "detect_changes",
    "diagnose",
    "diff_graphs",
    "downtime",
    "drift_event_counts",
    "drift_events",
    "drift_kinds",
    "edges_from_spans",
    "empty_beacon_frame",
    "event_counts",
    "find_incidents",
    "flips",
    "from_node_link",
    "generate_demo",
    "graph_from_frames",
    "graph_to_frames",
    "intervals",
    "load_baseline",
    "load_corridors",
    "load_rules",
    "node_census",
    "observed_paths",
    "parse_payload",
    "periods",
    "plot_cadence_histogram",
    "plot_coherence",
    "plot_drift",
    "plot_drift_heatmap",
    "plot_heartbeat_frequency",
    "plot_swimlane",
    "plot_topology",
    "plot_triad_census",
    "profiles_frame",
    "read_beacons",
    "read_node_link",
    "read_profiles",
    "read_traces",
    "readiness_summary",
    "reconcile",
    "restarts",
    "root_causes",
    "service_summary",
    "states",
    "time_in_states",
    "timeline",
    "to_dot",
    "to_node_link",
    "topology_payload",
    "triad_chunks",
    "triadic_census",
    "uptime",
    "validate_beacon_frame",
    "validate_graph",
    "validate_payload",
    "validate_profile",
    "write_baseline",
    "write_dot",
    "write_graphml",
    "write_node_link",
    "write_scaled_beacons",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rtt_topology' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
