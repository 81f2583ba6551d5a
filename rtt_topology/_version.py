"""The version of rtt-topology."""

__version__ = "0.1.0"
