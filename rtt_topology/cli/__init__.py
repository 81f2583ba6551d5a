"""The ``rtt-topology`` command."""

from rtt_topology.cli.app import (
    cli,
    main,
)

__all__ = [
    "cli",
    "main",
]
