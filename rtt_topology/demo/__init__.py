"""Generate a realistic demo datacenter: beacons, logs, profiles, traces and ground truth.

The scenario is deterministic for a seed: the same parameters give
byte-identical files. See :func:`generate_demo` for the output layout and
:class:`~rtt_topology.demo.truth.GroundTruth` for what ``ground_truth.json`` records.
"""

from rtt_topology.demo.build import DemoScenario, build_scenario, generate_demo
from rtt_topology.demo.scaled import write_scaled_beacons
from rtt_topology.demo.truth import DemoManifest, GroundTruth

__all__ = [
    "DemoManifest",
    "DemoScenario",
    "GroundTruth",
    "build_scenario",
    "generate_demo",
    "write_scaled_beacons",
]
