"""Benchmark: ingest a JSON Lines beacon history into a history store, against DuckDB's COPY.

For each size, the script writes a beacon history (once; kept under
``benchmarks/data/``, shared with ``bench_load_jsonl.py``), then runs each side in a
fresh process, best of ``--repeat`` runs, and prints wall time and peak memory
(VmHWM) with the ratio against DuckDB. CPU time (user + system, all threads) is
printed too: on a busy machine it varies less than wall time.

- ``duckdb-copy``: ``COPY (SELECT ... FROM read_ndjson(...)) TO ... (FORMAT parquet)``
  with the store's content columns (site, session, event, ts as a UTC timestamp,
  the structure's url, title and counts, the file name as source): no validation,
  no rejects, no sort, no deduplication, one file;
- ``rtt-ingest``: :func:`rtt_topology.store.ingest` into a new store: the rules of
  ``read_beacons`` (every value checked, rejects kept), content hash, duplicates
  collapsed, rows sorted by site and ts, one Parquet file per day, atomic publish.

Usage::

    python benchmarks/bench_ingest.py --sizes 5000000
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DATA = Path(__file__).parent / "data"

# Each side: imports and setup (not timed), then the work (timed).
_RUNNERS = {
    "duckdb-copy": """
import duckdb
columns = ("{site: 'VARCHAR', session: 'VARCHAR', event: 'VARCHAR', ts: 'VARCHAR', "
           "structure: 'STRUCT(url VARCHAR, title VARCHAR, nav_count BIGINT, main_count BIGINT, "
           "form_count BIGINT, button_count BIGINT, dom_nodes BIGINT)'}")
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
#---
con.execute(
    "COPY (SELECT site, session, event, CAST(ts AS TIMESTAMPTZ) AS ts, structure.url AS url, "
    "structure.title AS title, structure.nav_count AS nav_count, "
    "structure.main_count AS main_count, structure.form_count AS form_count, "
    "structure.button_count AS button_count, structure.dom_nodes AS dom_nodes, "
    f"filename AS source FROM read_ndjson('{PATH}', columns={columns}, filename=true)) "
    f"TO '{OUT}/copy.parquet' (FORMAT parquet)"
)
rows = con.sql(f"SELECT count(*) FROM '{OUT}/copy.parquet'").fetchall()[0][0]
""",
    "rtt-ingest": """
from rtt_topology.store import ingest
#---
result = ingest(PATH, OUT + "/store")
rows = result.rows
""",
}

# Peak memory is the process's VmHWM (reset by exec, unlike ru_maxrss, which a child
# inherits from its parent).
_HARNESS = """
import json, resource, sys, time
PATH, OUT = sys.argv[1], sys.argv[2]
{setup}
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
start, start_cpu = time.perf_counter(), cpu()
{run}
elapsed, used = time.perf_counter() - start, cpu() - start_cpu
with open("/proc/self/status") as status:
    peak = next(int(l.split()[1]) * 1024 for l in status if l.startswith("VmHWM:"))
print(json.dumps({{"seconds": elapsed, "cpu_seconds": used, "peak_bytes": peak, "rows": rows}}))
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


def _measure(name: str, path: Path, repeat: int) -> dict[str, float]:
    setup, run = _RUNNERS[name].split("#---")
    code = _HARNESS.format(setup=setup, run=run)
    best: dict[str, float] | None = None
    for _ in range(repeat):
        out_dir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
        try:
            out = subprocess.run(
                [sys.executable, "-c", code, str(path), str(out_dir)],
                capture_output=True,
                text=True,
                check=True,
            )
        finally:
            shutil.rmtree(out_dir, ignore_errors=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        if best is None or result["seconds"] < best["seconds"]:
            best = result
    assert best is not None
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5_000_000])
    parser.add_argument("--services", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    print(
        f"{'beacons':>9} {'side':<12} {'seconds':>8} {'cpu s':>7} {'peak GB':>8} "
        f"{'time x':>7} {'cpu x':>6} {'mem x':>6}"
    )
    for size in args.sizes:
        path = _dataset(size, args.services)
        results = {name: _measure(name, path, args.repeat) for name in _RUNNERS}
        base = results["duckdb-copy"]
        for name, result in results.items():
            print(
                f"{size:>9} {name:<12} {result['seconds']:>8.2f} {result['cpu_seconds']:>7.2f} "
                f"{result['peak_bytes'] / 1e9:>8.2f} "
                f"{result['seconds'] / base['seconds']:>7.2f} "
                f"{result['cpu_seconds'] / base['cpu_seconds']:>6.2f} "
                f"{result['peak_bytes'] / base['peak_bytes']:>6.2f}"
            )
        mb = path.stat().st_size / 1e6
        rows = results["rtt-ingest"]["rows"]
        print(f"{'':>9} ({mb:.0f} MB file; rows stored by rtt-ingest: {rows:.0f})")


if __name__ == "__main__":
    main()
