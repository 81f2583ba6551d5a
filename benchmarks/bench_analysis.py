"""Benchmark: liveness, drift and coherence on a large history, against loading it.

Writes a beacon history of ``--beacons`` beacons over ``--services`` services (once;
kept under ``benchmarks/data/``), then, in a fresh process, loads it with
:func:`rtt_topology.read_beacons` (the baseline) and runs the analysis on the table:

- liveness: :func:`~rtt_topology.analysis.liveness.states` at the end of the data and
  :func:`~rtt_topology.analysis.liveness.time_in_states` per 5-minute bucket;
- cadence: :func:`~rtt_topology.analysis.cadence.cadence` per bucket;
- drift: :func:`~rtt_topology.analysis.drift.drift` per bucket and
  :func:`~rtt_topology.analysis.drift.drift_events`;
- coherence: :func:`~rtt_topology.analysis.coherence.coherence`, reusing the tables above.

It prints each step's time, the analysis total as a ratio to the load, and the
process's peak memory (VmHWM).

Usage::

    python benchmarks/bench_analysis.py --beacons 10000000 --services 5000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).parent / "data"

_RUN = """
import json, sys, time
from rtt_topology import read_beacons
from rtt_topology.analysis.cadence import cadence
from rtt_topology.analysis.coherence import coherence
from rtt_topology.analysis.drift import drift, drift_events
from rtt_topology.analysis.liveness import states, time_in_states

times = {}
start = time.perf_counter()
beacons, report = read_beacons(sys.argv[1])
times["load"] = time.perf_counter() - start

def step(name, function):
    started = time.perf_counter()
    result = function()
    times[name] = time.perf_counter() - started
    return result

step("liveness: states", lambda: states(beacons))
state_times = step("liveness: time_in_states", lambda: time_in_states(beacons))
pace = step("cadence", lambda: cadence(beacons))
scores = step("drift", lambda: drift(beacons))
step("drift: events", lambda: drift_events(beacons))
result = step(
    "coherence",
    lambda: coherence(beacons, cadence_table=pace, drift_table=scores, state_times=state_times),
)
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
print(json.dumps({"times": times, "peak_bytes": peak, "rows": len(beacons),
                  "overall": result.overall}))
"""


def _dataset(beacons: int, services: int) -> Path:
    from rtt_topology.demo import write_scaled_beacons

    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"beacons-{beacons}-{services}.jsonl"
    if not path.exists():
        partial = path.with_suffix(".partial")
        write_scaled_beacons(partial, beacons=beacons, services=services, seed=0)
        partial.rename(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beacons", type=int, default=10_000_000)
    parser.add_argument("--services", type=int, default=5_000)
    args = parser.parse_args()
    path = _dataset(args.beacons, args.services)
    out = subprocess.run(
        [sys.executable, "-c", _RUN, str(path)], capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    times = result["times"]
    load = times.pop("load")
    analysis = sum(times.values())
    print(
        f"{result['rows']} beacons, {args.services} services ({path.stat().st_size / 1e9:.2f} GB)"
    )
    print(f"{'load (read_beacons)':<28} {load:7.2f} s")
    for name, seconds in times.items():
        print(f"{name:<28} {seconds:7.2f} s")
    print(f"{'analysis total':<28} {analysis:7.2f} s   {analysis / load:4.2f} x load")
    print(
        f"peak memory {result['peak_bytes'] / 1e9:.2f} GB; system coherence {result['overall']:.3f}"
    )


if __name__ == "__main__":
    main()
