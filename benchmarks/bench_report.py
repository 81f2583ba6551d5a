"""Benchmark: the offline report on a large datacenter, against loading its inputs.

Generates the demo datacenter at ``--services`` services (once; kept under
``benchmarks/data/``), then, in a fresh process:

- loads the beacons, profiles and traces with the library's readers (the
  baseline);
- builds the report from those tables with :func:`rtt_topology.build_report`
  (every analysis, every figure);
- renders it as HTML and writes the file.

It prints each step's time, the report (build + render) as a ratio to the load,
the end-to-end time of what ``rtt-topology report`` does, the size of the
HTML file and the process's peak memory (VmHWM).

Usage::

    python benchmarks/bench_report.py --services 5000
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
from pathlib import Path
from rtt_topology import build_report, read_beacons, read_profiles, read_traces

root = Path(sys.argv[1])
out = Path(sys.argv[2])
times = {}
start = time.perf_counter()
beacons = read_beacons(root / "beacons")
profiles = read_profiles(root / "profiles")
traces = read_traces(root / "traces")
times["load"] = time.perf_counter() - start

started = time.perf_counter()
report = build_report(
    beacons, profiles, traces,
    rules=root / "rules.yaml", corridors=root / "corridors.yaml",
)
times["build_report"] = time.perf_counter() - started
started = time.perf_counter()
html = report.to_html()
out.write_text(html, encoding="utf-8")
times["render + write HTML"] = time.perf_counter() - started
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
print(json.dumps({
    "times": times, "peak_bytes": peak, "rows": len(beacons.beacons),
    "services": report.analysis.G.number_of_nodes(), "html_bytes": out.stat().st_size,
    "tables": [len(block.rows) for section in report.sections for block in section.blocks
               if hasattr(block, "rows")],
}))
"""


def _dataset(services: int, hours: float) -> Path:
    from rtt_topology.demo import generate_demo

    root = DATA / f"demo-{services}-{hours:g}h"
    if not (root / "ground_truth.json").exists():
        generate_demo(root, services=services, hours=hours, seed=7)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=5_000)
    parser.add_argument("--hours", type=float, default=6.0)
    args = parser.parse_args()
    root = _dataset(args.services, args.hours)
    out = root.with_suffix(".report.html")
    completed = subprocess.run(
        [sys.executable, "-c", _RUN, str(root), str(out)], capture_output=True, text=True
    )
    if completed.returncode != 0:
        sys.exit(completed.stderr)
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    times = result["times"]
    load = times["load"]
    report = times["build_report"] + times["render + write HTML"]
    print(
        f"{result['services']} services, {result['rows']} beacons, {args.hours:g} h of data "
        f"({root.name})"
    )
    for name, seconds in times.items():
        print(f"{name:<24} {seconds:7.2f} s")
    print(f"{'report total':<24} {report:7.2f} s   {report / load:4.2f} x load")
    print(f"{'end to end':<24} {load + report:7.2f} s   (limit 60 s)")
    largest = max(result["tables"], default=0)
    print(
        f"HTML {result['html_bytes'] / 1e6:.1f} MB; largest table {largest} rows; "
        f"peak memory {result['peak_bytes'] / 1e9:.2f} GB"
    )


if __name__ == "__main__":
    main()
