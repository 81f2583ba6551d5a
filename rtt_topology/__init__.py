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
    from rtt_topology.columns import BEACON_COLUMNS, empty_beacon_frame, validate_beacon_frame
    from rtt_topology.demo import generate_demo, write_scaled_beacons
    from rtt_topology.errors import (
        FormatError,
        InputError,
        LoadError,
        RecordError,
        RttTopologyError,
        SourceNotFoundError,
        StrictLoadError,
    )
    from rtt_topology.history import event_counts, intervals, service_summary
    from rtt_topology.load import (
        BeaconLoad,
        LoadReport,
        ProfileLoad,
        Reject,
        profiles_frame,
        read_beacons,
        read_profiles,
    )
    from rtt_topology.schemas import Beacon, Profile, Structure
    from rtt_topology.sdk import (
        build_beacon_payload,
        create_profile,
        create_session_id,
        validate_profile,
    )

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
    "event_counts": "rtt_topology.history",
    "intervals": "rtt_topology.history",
    "service_summary": "rtt_topology.history",
    "BeaconLoad": "rtt_topology.load",
    "LoadReport": "rtt_topology.load",
    "ProfileLoad": "rtt_topology.load",
    "Reject": "rtt_topology.load",
    "profiles_frame": "rtt_topology.load",
    "read_beacons": "rtt_topology.load",
    "read_profiles": "rtt_topology.load",
    "Beacon": "rtt_topology.schemas",
    "Profile": "rtt_topology.schemas",
    "Structure": "rtt_topology.schemas",
    "build_beacon_payload": "rtt_topology.sdk",
    "create_profile": "rtt_topology.sdk",
    "create_session_id": "rtt_topology.sdk",
    "validate_profile": "rtt_topology.sdk",
}

__all__ = [
    "BEACON_COLUMNS",
    "Beacon",
    "BeaconLoad",
    "FormatError",
    "InputError",
    "LoadError",
    "LoadReport",
    "Profile",
    "ProfileLoad",
    "RecordError",
    "Reject",
    "RttTopologyError",
    "SourceNotFoundError",
    "StrictLoadError",
    "Structure",
    "__version__",
    "build_beacon_payload",
    "create_profile",
    "create_session_id",
    "empty_beacon_frame",
    "event_counts",
    "generate_demo",
    "intervals",
    "profiles_frame",
    "read_beacons",
    "read_profiles",
    "service_summary",
    "validate_beacon_frame",
    "validate_profile",
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
