"""Read beacon histories and profiles from files into validated tables.

:func:`read_beacons`, :func:`read_profiles` and :func:`read_traces` are the entry
points; each returns its result with a :class:`LoadReport` (for traces a
:class:`TraceReport`) that accounts for every record.
"""

from rtt_topology.load.beacons import (
    BEACON_FORMATS,
    BeaconLoad,
    beacons_from_records,
    read_beacons,
)
from rtt_topology.load.profiles import ProfileLoad, profiles_frame, read_profiles
from rtt_topology.load.report import FileFailure, FileStats, LoadReport, Reject
from rtt_topology.load.traces import (
    EDGE_COLUMNS,
    SPAN_COLUMNS,
    PairingStats,
    TraceLoad,
    TraceReport,
    edges_from_spans,
    read_traces,
)
from rtt_topology.load.wire import RECEIVED_AT, beacon_line, check_beacon, format_received_at
from rtt_topology.load.wire_batch import BatchCheck, check_beacon_items, check_beacon_lines

__all__ = [
    "BEACON_FORMATS",
    "EDGE_COLUMNS",
    "RECEIVED_AT",
    "SPAN_COLUMNS",
    "BatchCheck",
    "BeaconLoad",
    "FileFailure",
    "FileStats",
    "LoadReport",
    "PairingStats",
    "ProfileLoad",
    "Reject",
    "TraceLoad",
    "TraceReport",
    "beacon_line",
    "beacons_from_records",
    "check_beacon",
    "check_beacon_items",
    "check_beacon_lines",
    "edges_from_spans",
    "format_received_at",
    "profiles_frame",
    "read_beacons",
    "read_profiles",
    "read_traces",
]
