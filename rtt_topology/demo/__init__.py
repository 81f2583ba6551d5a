"""Generate a realistic demo datacenter: beacons, logs, profiles, traces and ground truth.

The scenario is deterministic for a seed: the same parameters give
byte-identical files. See :func:`generate_demo` for the output layout and
:class:`~rtt_topology.demo.truth.GroundTruth` for what ``ground_truth.json`` records.
"""

from rtt_topology.demo.accuracy import AccuracyScore, format_score, score_incidents
from rtt_topology.demo.build import DemoScenario, build_scenario, generate_demo
from rtt_topology.demo.noisy import NoisyHistory, read_truth, write_noisy_history
from rtt_topology.demo.scaled import write_scaled_beacons, write_scaled_store
from rtt_topology.demo.truth import DemoManifest, GroundTruth

__all__ = [
    "AccuracyScore",
    "DemoManifest",
    "DemoScenario",
    "GroundTruth",
    "NoisyHistory",
    "build_scenario",
    "format_score",
    "generate_demo",
    "read_truth",
    "score_incidents",
    "write_noisy_history",
    "write_scaled_beacons",
    "write_scaled_store",
]
