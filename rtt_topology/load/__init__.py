"""Read beacon histories and profiles from files into validated tables.

:func:`read_beacons` and :func:`read_profiles` are the only entry points; both
return their result with a :class:`LoadReport` that accounts for every record.
"""

from rtt_topology.load.beacons import BEACON_FORMATS, BeaconLoad, read_beacons
from rtt_topology.load.profiles import ProfileLoad, profiles_frame, read_profiles
from rtt_topology.load.report import FileFailure, FileStats, LoadReport, Reject

__all__ = [
    "BEACON_FORMATS",
    "BeaconLoad",
    "FileFailure",
    "FileStats",
    "LoadReport",
    "ProfileLoad",
    "Reject",
    "profiles_frame",
    "read_beacons",
    "read_profiles",
]
