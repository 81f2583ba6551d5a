"""Benchmark: load a JSON Lines beacon history into pandas, ours against the fast baselines.

For each size, the script writes a beacon history (once; kept under
``benchmarks/data/``), then runs each reader in a fresh process, best of
``--repeat`` runs, and prints wall time and peak memory (max RSS) with the ratio
against pyarrow's own JSON reader:

- ``pyarrow``: ``pyarrow.json.read_json`` with the same explicit schema, flattened
  and converted to pandas (no validation, no sort, no deduplication);
- ``duckdb``: ``read_ndjson`` with explicit columns, handed to pandas through Arrow
  (skipped when DuckDB is not installed);
- ``rtt-topology``: :func:`rtt_topology.read_beacons`, which also validates every
  value, parses timestamps to UTC, sorts by site and time, and collapses duplicates.

Usage::

    python benchmarks/bench_load_jsonl.py --sizes 1000000 5000000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).parent / "data"

# Each reader: imports and setup (not timed), then the load (timed).
_RUNNERS = {
    "pyarrow": """
import pandas, pyarrow as pa, pyarrow.json as pj
struct = pa.struct([("url", pa.string()), ("title", pa.string())]
                   + [(c, pa.int64()) for c in
                      ("nav_count", "main_count", "form_count", "button_count", "dom_nodes")])
schema = pa.schema([("site", pa.string()), ("session", pa.string()), ("event", pa.string()),
                    ("ts", pa.string()), ("structure", struct)])
#---
table = pj.read_json(PATH, parse_options=pj.ParseOptions(explicit_schema=schema))
frame = table.flatten().to_pandas()
rows = len(frame)
""",
    "duckdb": """
import duckdb, pandas, pyarrow
columns = ("{site: 'VARCHAR', session: 'VARCHAR', event: 'VARCHAR', ts: 'VARCHAR', "
           "structure: 'STRUCT(url VARCHAR, title VARCHAR, nav_count BIGINT, main_count BIGINT, "
           "form_count BIGINT, button_count BIGINT, dom_nodes BIGINT)'}")
#---
relation = duckdb.connect().sql(f"SELECT * FROM read_ndjson('{PATH}', columns={columns})")
table = relation.to_arrow_table() if hasattr(relation, "to_arrow_table") else relation.arrow()
frame = table.flatten().to_pandas()
rows = len(frame)
""",
    "rtt-topology": """
from rtt_topology import read_beacons
#---
frame, report = read_beacons(PATH)
rows = len(frame)
""",
}

# Peak memory is the process's VmHWM (reset by exec, unlike ru_maxrss, which a child
# inherits from its parent).
_HARNESS = """
import json, sys, time
PATH = sys.argv[1]
{setup}
start = time.perf_counter()
{run}
elapsed = time.perf_counter() - start
with open("/proc/self/status") as status:
    peak = next(int(l.split()[1]) * 1024 for l in status if l.startswith("VmHWM:"))
print(json.dumps({{"seconds": elapsed, "peak_bytes": peak, "rows": rows}}))
"""


def _have_duckdb() -> bool:
    try:
        import duckdb  # noqa: F401
    except ImportError:
        return False
    return True


def _dataset(beacons: int, services: int) -> Path:
    from rtt_topology.demo import write_scaled_beacons

    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"beacons-{beacons}-{services}.jsonl"
    if not path.exists():
        partial = path.with_suffix(".partial")
        write_scaled_beacons(partial, beacons=beacons, services=services, seed=0)
        partial.rename(path)
    return path


def _measure(name: str, path: Path, repeat: int) -> dict[str, float]:
    setup, run = _RUNNERS[name].split("#---")
    code = _HARNESS.format(setup=setup, run=run)
    best: dict[str, float] | None = None
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        if best is None or result["seconds"] < best["seconds"]:
            best = result
    assert best is not None
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--services", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    readers = (
        ["pyarrow", "duckdb", "rtt-topology"] if _have_duckdb() else ["pyarrow", "rtt-topology"]
    )
    print(f"{'beacons':>9} {'reader':<13} {'seconds':>8} {'peak GB':>8} {'time x':>7} {'mem x':>6}")
    for size in args.sizes:
        path = _dataset(size, args.services)
        results = {name: _measure(name, path, args.repeat) for name in readers}
        base = results["pyarrow"]
        for name, result in results.items():
            print(
                f"{size:>9} {name:<13} {result['seconds']:>8.2f} "
                f"{result['peak_bytes'] / 1e9:>8.2f} "
                f"{result['seconds'] / base['seconds']:>7.2f} "
                f"{result['peak_bytes'] / base['peak_bytes']:>6.2f}"
            )
        mb = path.stat().st_size / 1e6
        rows = results["rtt-topology"]["rows"]
        print(f"{'':>9} ({mb:.0f} MB file; rows kept by rtt-topology: {rows:.0f})")


if __name__ == "__main__":
    main()
