"""rtt-topology: offline analysis of RTT-Inside heartbeats, profiles and traces."""

from rtt_topology._version import __version__

__all__ = ["__version__"]
