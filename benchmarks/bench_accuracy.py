"""Benchmark: how many injected incidents ``find_incidents`` finds in a noisy history, and when.

Writes a noisy beacon history with known truth
(:func:`rtt_topology.demo.noisy.write_noisy_history`: cadences of 30-60 s with
+-15 % jitter, collector files only roughly in time order, 0.5 % duplicate
retries, a few malformed lines, a clock 90 s ahead, a service that declares a
300 s period, healthy callers of a crashed service, deploys, a collector gap and
one incident of every kind), loads it through the public API
(:func:`rtt_topology.read_beacons`, :func:`rtt_topology.read_profiles`), builds
the graph of the profiles' ``depends_on`` (the callers), runs
:func:`rtt_topology.incidents.find_incidents` at its default thresholds, and
scores the result against the truth
(:func:`rtt_topology.demo.accuracy.score_incidents`: same kind, same service(s),
start within one heartbeat interval). It prints precision, recall and the start
error per kind, then every false alarm and every miss, and exits with status 1
if there is any.

Usage::

    python benchmarks/bench_accuracy.py --services 60 --hours 24 --seed 0
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=60)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", type=Path, default=None, help="write the history here (default: a temporary dir)"
    )
    args = parser.parse_args()

    from rtt_topology import read_beacons, read_profiles
    from rtt_topology.demo.accuracy import format_score, score_incidents
    from rtt_topology.demo.noisy import write_noisy_history
    from rtt_topology.graph import build_graph
    from rtt_topology.incidents import find_incidents

    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        times = {}
        started = time.perf_counter()
        history = write_noisy_history(out, services=args.services, hours=args.hours, seed=args.seed)
        times["generate"] = time.perf_counter() - started
        started = time.perf_counter()
        beacons, report = read_beacons(history.beacon_files)
        profiles = read_profiles(history.profiles_file).profiles
        times["load"] = time.perf_counter() - started
        started = time.perf_counter()
        G = build_graph(beacons, profiles)
        incidents = find_incidents(beacons, profiles, G, load_report=report)
        times["find_incidents"] = time.perf_counter() - started
        score = score_incidents(incidents, history.truth)

    print(
        f"{args.services} services, {args.hours:g} h, seed {args.seed}: {history.beacons} beacon "
        f"lines in {len(history.beacon_files)} files ({history.duplicates} retried, "
        f"{history.malformed} malformed)"
    )
    print(
        f"loaded: read {report.read}, accepted {report.accepted}, rejected {report.rejected}, "
        f"duplicates collapsed {report.duplicates}, rows {len(beacons)}"
    )
    print("  ".join(f"{name} {seconds:.2f} s" for name, seconds in times.items()))
    print(f"{len(incidents)} incidents found, {len(history.truth)} injected")
    print()
    print(format_score(score))
    return 0 if score.false_alarms.empty and score.misses.empty else 1


if __name__ == "__main__":
    sys.exit(main())
