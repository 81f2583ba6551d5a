"""Run the command line: ``python -m rtt_topology``."""

from rtt_topology.cli import main

raise SystemExit(main())
